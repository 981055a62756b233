"""The benchmark harness in smoke mode: the code path of ``make bench`` in
seconds, with tiny counts, so that the harness never rots. It asserts that
the run completes, that nothing is lost and that it cleans up after itself;
never a time (timings belong to ``make bench`` and its report)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import psycopg
import pytest
import redis

from benchmarks.harness.stack import CLAIM_KEY, POSTGRES_ADMIN
from tests.services import require_postgres, require_redis

pytestmark = pytest.mark.integration

REPO = Path(__file__).resolve().parents[2]
# A bound so that a hung stack fails the test instead of hanging CI; not a goal.
RUN_TIMEOUT = 300
FIGURES = {
    "bare_get",
    "bare_post",
    "signing_throughput",
    "signing_p99",
    "signing_errors",
    "nothing_lost",
    "pipeline_drain",
    "confirmation_to_count",
    "count_json_rest",
    "results_page_rest",
    "count_json_storm",
    "results_page_storm",
    "scale_count_json",
    "scale_results_page",
    "export",
    "memory_web",
    "memory_celery",
}


@pytest.fixture(scope="module")
def smoke_report(tmp_path_factory: pytest.TempPathFactory) -> dict:
    require_postgres()
    require_redis()
    results = tmp_path_factory.mktemp("bench-results")
    done = subprocess.run(
        [sys.executable, "-m", "benchmarks.run", "--smoke", "--results-dir", str(results)],
        cwd=REPO,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
        capture_output=True,
        text=True,
        timeout=RUN_TIMEOUT,
        check=False,
    )
    output = f"--- stdout ---\n{done.stdout[-6000:]}\n--- stderr ---\n{done.stderr[-6000:]}"
    assert done.returncode == 0, output
    (path,) = results.glob("bench-smoke-*.json")
    report: dict = json.loads(path.read_text())
    return report


def test_every_figure_is_reported(smoke_report: dict) -> None:
    figures = {f["key"]: f for f in smoke_report["figures"]}
    assert set(figures) == FIGURES
    export = smoke_report["results"]["export"]
    assert export["exit_status"] == 0, export
    assert export["rows"] == export["expected_rows"] == smoke_report["plan"]["scale_large"]
    # The load really ran: every phase got answers, none of them errors.
    for name, phase in smoke_report["phases"].items():
        assert phase["ok"] > 0, name
        assert phase["errors"] == 0, (name, phase["error_kinds"])


def test_nothing_is_lost(smoke_report: dict) -> None:
    lost = smoke_report["results"]["nothing_lost"]
    assert lost["all_hold"] is True
    assert lost["drained"] is True
    counts = lost["after_drain"]
    assert counts["checks"] == dict.fromkeys(counts["checks"], True), counts
    assert counts["sign_answers_303"] > 0
    assert counts["rows_stored_from_http"] == counts["sign_answers_303"]
    assert (
        counts["rows_stored"]
        == counts["rows_checked"]
        == counts["confirm_emails_sent"]
        == counts["sink_messages"]
        == counts["sink_recipients"]
    )
    assert counts["sink_recipients_more_than_once"] == 0
    assert counts["outbox_left"] == 0
    assert counts["burst_rows"] == smoke_report["plan"]["burst"]
    assert smoke_report["results"]["burst"]["drained"] is True


def test_confirmations_reach_the_count(smoke_report: dict) -> None:
    confirmation = smoke_report["results"]["confirmation_to_count"]
    assert confirmation["probes"] >= 1
    assert confirmation["timeouts"] == 0
    assert confirmation["errors"] == []
    # The bulk-loaded scale campaign shows every signature it holds.
    for size in smoke_report["results"]["scale"].values():
        assert size["signers_shown"] == size["signatures"]


def test_the_run_cleans_up(smoke_report: dict) -> None:
    name = smoke_report["results"]["database"]
    with psycopg.connect(POSTGRES_ADMIN) as conn:
        left = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone()
    assert left is None, f"database {name} was not dropped"
    # Flushed at the end, its claim included (another run may use it since).
    client = redis.Redis.from_url(smoke_report["results"]["redis_url"])
    try:
        assert client.get(CLAIM_KEY) != smoke_report["results"]["run_id"].encode()
    finally:
        client.close()
