"""The sign-cost comparison at a tiny size, against this very revision: it
completes, measures both sides in the same number of process pairs, reads
its ratio from their CPU time, and leaves no database and no worktree
behind. Never a time: the figures are ``benchmarks.sign_cost``'s to report."""

from __future__ import annotations

import subprocess

import psycopg
import pytest

from benchmarks import sign_cost
from benchmarks.harness.stack import POSTGRES_ADMIN
from tests.services import require_postgres

pytestmark = pytest.mark.integration


def _databases() -> set[str]:
    with psycopg.connect(POSTGRES_ADMIN, autocommit=True) as connection:
        rows = connection.execute(
            "SELECT datname FROM pg_database WHERE datname LIKE 'zaytoun_signcost_%'"
        ).fetchall()
    return {row[0] for row in rows}


def _worktrees() -> str:
    return subprocess.run(
        ["git", "worktree", "list"], cwd=sign_cost.ROOT, capture_output=True, text=True, check=True
    ).stdout


def test_the_comparison_runs_and_cleans_up() -> None:
    require_postgres()
    before_databases, before_worktrees = _databases(), _worktrees()

    report = sign_cost.compare("HEAD", pairs=2, slices=3, per_slice=4, warm_up=3)

    assert report["other_revision"] == report["this_revision"]
    assert len(report["ratio_cpu_per_pair"]) == 2
    assert report["cpu_ms_this"] > 0 and report["cpu_ms_other"] > 0
    ratio = report["cpu_ms_this"] / report["cpu_ms_other"]
    assert report["ratio_cpu_this_over_other"] == pytest.approx(ratio, rel=0.01)
    assert min(report["ratio_cpu_per_pair"]) <= ratio <= max(report["ratio_cpu_per_pair"])
    assert _databases() == before_databases
    assert _worktrees() == before_worktrees


def test_an_unknown_revision_is_refused_before_anything_is_made() -> None:
    require_postgres()
    before = _databases()
    with pytest.raises(SystemExit, match="git rev-parse"):
        sign_cost.compare("no-such-revision-zz", pairs=1, slices=1, per_slice=1, warm_up=0)
    assert _databases() == before
