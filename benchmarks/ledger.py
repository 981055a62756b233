"""The public ledger at scale: sizes and times at a million entries.
Run: ``.venv/bin/python -m benchmarks.ledger`` (``--entries N`` for another
size, ``--budget S`` to stop early; a million takes about a minute).

Times are reported as ratios against a baseline measured in the same run on
the same machine: hashing every entry once with ``hashlib`` (what any
recount must at least do). Figures:

- ledger size: bytes an entry takes in the JSON Lines download and in the
  table (receipt hash, leaf hash, change, reason, units, day);
- a head from scratch (``merkle.root_of`` over every leaf), a head after a
  batch of 1,000 (``append_to_frontier``, what ``publish_ledger`` does), an
  inclusion proof and a consistency proof at that size, and the independent
  verifier's pass over every entry (leaf bytes, hashing, tree);
- the proofs two ways: from every leaf (the RFC's recursion over all of
  them), and as the server makes them, from the stored subtrees of 256
  leaves and up (``merkle.StoredSubtrees`` over a dict here, over
  ``ledger_nodes`` there), with the number of reads (rows or blocks of 256
  leaf hashes) each needs;
- proof sizes in hashes and bytes (log2 of the size, at most)."""

from __future__ import annotations

import argparse
import hashlib
import json
import math
import secrets
import sys
import time
from collections.abc import Callable
from datetime import date
from typing import Any

from campaigns.ledger import merkle
from campaigns.ledger.entries import entry_bytes
from tools import verify_ledger as v

BATCH = 1_000


def _check(holds: bool, what: str) -> None:
    if not holds:
        raise SystemExit(f"wrong: {what}")


def _change(i: int) -> str:
    return "counted" if i % 10 else "withdrawn"


def _timed(run: Callable[[], Any]) -> tuple[float, Any]:
    started = time.perf_counter()
    result = run()
    return time.perf_counter() - started, result


def measure(entries: int, budget: float) -> dict[str, Any]:
    deadline = time.monotonic() + budget
    day = date(2026, 12, 5)
    receipts = [secrets.token_bytes(32) for _ in range(entries)]
    data = [
        entry_bytes(r, _change(i), None, 1, day)
        for i, r in enumerate(receipts)
    ]
    baseline, _ = _timed(lambda: [hashlib.sha256(d).digest() for d in data])
    leaf_time, leaves = _timed(lambda: [merkle.leaf_hash(d) for d in data])
    root_time, root = _timed(lambda: merkle.root_of(leaves))

    frontier: list[bytes] = []
    completed: list[tuple[int, int, bytes]] = []
    for size, leaf in enumerate(leaves[:-BATCH]):
        merkle.append_to_frontier(frontier, size, leaf, completed)

    def append_batch() -> bytes:
        f = list(frontier)
        for size, leaf in enumerate(leaves[-BATCH:], start=entries - BATCH):
            merkle.append_to_frontier(f, size, leaf, completed)
        return merkle.root_of_frontier(f)

    batch_time, batch_root = _timed(append_batch)
    _check(batch_root == root, "the frontier disagrees with the tree")
    stored = {(level, index): digest for level, index, digest in completed}
    if time.monotonic() > deadline:
        raise SystemExit("over the time budget before the proofs")

    index = entries // 3
    inclusion_time, inclusion = _timed(lambda: merkle.inclusion_proof(leaves, index))
    _check(
        merkle.verify_inclusion(leaves[index], index, entries, inclusion, root), "inclusion"
    )
    first = entries // 2 + 1
    consistency_time, consistency = _timed(lambda: merkle.consistency_proof(leaves, first))
    first_root = merkle.root_of(leaves[:first])
    _check(
        merkle.verify_consistency(first, entries, first_root, root, consistency), "consistency"
    )

    def from_stored() -> merkle.StoredSubtrees:
        return merkle.StoredSubtrees(entries, lambda *at: stored.get(at), lambda a, b: leaves[a:b])

    inclusion_tree = from_stored()
    stored_inclusion_time, stored_inclusion = _timed(
        lambda: merkle.inclusion_path(inclusion_tree.root, entries, index)
    )
    _check(stored_inclusion == inclusion, "the stored subtrees' inclusion proof differs")
    consistency_tree = from_stored()
    stored_consistency_time, stored_consistency = _timed(
        lambda: merkle.consistency_path(consistency_tree.root, entries, first)
    )
    _check(stored_consistency == consistency, "the stored subtrees' consistency proof differs")

    rows = [
        {
            "position": i,
            "receipt_hash": r.hex(),
            "change": _change(i),
            "reason": None,
            "units": 1,
            "day": day.isoformat(),
        }
        for i, r in enumerate(receipts)
    ]
    jsonl = sum(len(json.dumps(r, separators=(",", ":"), sort_keys=True)) + 1 for r in rows)

    def verifier_pass() -> bytes:
        tree = v.Tree()
        for row in rows:
            tree.append(v.entry_leaf(row))
        return tree.root()

    verifier_time, verifier_root = _timed(verifier_pass)
    _check(verifier_root == root, "the verifier's root differs from the server's")
    # Table row: two hashes, change and reason (short text), units, day, keys.
    table_bytes = 32 + 32 + 16 + 4 + 4 + 8 + 8
    return {
        "entries": entries,
        "baseline_sha256_every_entry_s": round(baseline, 3),
        "ratio_leaf_hashes": round(leaf_time / baseline, 2),
        "ratio_head_from_scratch": round(root_time / baseline, 2),
        "ratio_head_after_batch_of_1000": round(batch_time / baseline, 5),
        "ratio_inclusion_proof_from_every_leaf": round(inclusion_time / baseline, 2),
        "ratio_consistency_proof_from_every_leaf": round(consistency_time / baseline, 2),
        "ratio_inclusion_proof_from_stored_nodes": round(stored_inclusion_time / baseline, 6),
        "ratio_consistency_proof_from_stored_nodes": round(stored_consistency_time / baseline, 6),
        "inclusion_proof_reads": inclusion_tree.reads,
        "consistency_proof_reads": consistency_tree.reads,
        "stored_nodes": len(stored),
        "stored_nodes_bytes_approx": len(stored) * (32 + 8 + 2 + 8),
        "ratio_verifier_pass": round(verifier_time / baseline, 2),
        "inclusion_proof_hashes": len(inclusion),
        "inclusion_proof_bytes": 32 * len(inclusion),
        "consistency_proof_hashes": len(consistency),
        "consistency_proof_bytes": 32 * len(consistency),
        "log2_entries": math.ceil(math.log2(entries)),
        "jsonl_bytes_per_entry": round(jsonl / entries, 1),
        "jsonl_total_mb": round(jsonl / 1e6, 1),
        "table_bytes_per_entry_approx": table_bytes,
        "leaf_hashes_read_for_a_proof_from_every_leaf_mb": round(32 * entries / 1e6, 1),
        "seconds": {
            "head_from_scratch": round(root_time, 3),
            "head_after_batch": round(batch_time, 5),
            "inclusion_proof_from_every_leaf": round(inclusion_time, 3),
            "consistency_proof_from_every_leaf": round(consistency_time, 3),
            "inclusion_proof_from_stored_nodes": round(stored_inclusion_time, 5),
            "consistency_proof_from_stored_nodes": round(stored_consistency_time, 5),
            "verifier_pass": round(verifier_time, 3),
        },
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--entries", type=int, default=1_000_000)
    parser.add_argument("--budget", type=float, default=300.0, help="seconds before giving up")
    args = parser.parse_args(argv)
    if args.entries <= BATCH:
        parser.error(f"--entries must be above {BATCH}")
    print(json.dumps(measure(args.entries, args.budget), indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
