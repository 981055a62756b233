"""The ledger benchmark's code path at a small size: it completes, its own
checks hold (the frontier, the proofs and the verifier agree with the tree)
and the proofs are logarithmic. Never a time: those are in its report."""

from __future__ import annotations

import math

from benchmarks.ledger import measure


def test_the_ledger_benchmark_runs_and_its_proofs_are_logarithmic() -> None:
    report = measure(5000, budget=120)
    assert report["entries"] == 5000
    bound = math.ceil(math.log2(5000))
    assert 0 < report["inclusion_proof_hashes"] <= bound
    assert 0 < report["consistency_proof_hashes"] <= bound + 1
    assert report["inclusion_proof_bytes"] == 32 * report["inclusion_proof_hashes"]
    assert report["jsonl_bytes_per_entry"] > 100
