"""The ledger benchmark's code path at a small size: it completes, its own
checks hold (the frontier, the proofs from every leaf and from the stored
subtrees, and the verifier agree with the tree) and the proofs are
logarithmic, in hashes and in reads. Never a time: those are in its report."""

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
    # The leaf's block of 256, the last one, and per stored level at most a
    # sibling and a piece of the right edge.
    reads = 2 + 2 * (bound - 8)
    assert 0 < report["inclusion_proof_reads"] <= reads
    assert 0 < report["consistency_proof_reads"] <= reads + 1
    # 19 blocks of 256 leaves, 9 of 512, 4 of 1024, 2 of 2048, 1 of 4096.
    assert report["stored_nodes"] == 35
