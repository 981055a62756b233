"""``make bench``: start the production stack on loopback, measure it against
the bare-Flask ceiling, write a JSON report under ``benchmarks/results/`` and
print the table. ``--smoke`` runs the same code with tiny counts (CI).

Every phase is bounded in time and in requests; the stack is stopped, the
Redis database flushed and the PostgreSQL database dropped whatever happens
(failure, Ctrl-C, SIGTERM).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import signal
import subprocess
import sys
import tempfile
from dataclasses import asdict, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from .harness import report
from .harness.bench import PERIODIC_CONCURRENCY, Bench, Plan, log
from .harness.report import Figure, fmt, ratio, verdict
from .harness.stack import REPO, WebSettings, machine

RESULTS = REPO / "benchmarks" / "results"

# The machine has 2 cores shared by everything: web, workers, PostgreSQL,
# Redis, the SMTP sink and the load generator. gunicorn: one gthread worker
# per core (more processes only fight over the same cores), 8 threads each to
# overlap the PostgreSQL and Redis round trips of a request. Celery: 4
# processes, each busy about a third of the time, the rest waiting on
# PostgreSQL and SMTP. The README has the measurements behind the choice.
FULL = Plan(
    mode="full",
    concurrency=64,
    warmup=2,
    bare_seconds=8,
    read_seconds=10,
    storm_seconds=60,
    storm_read_seconds=12,
    max_requests=1_000_000,
    max_sign_requests=200_000,
    probes=40,
    probe_timeout=10,
    burst=20_000,
    scale_small=1_000,
    scale_large=1_000_000,
    burst_timeout=320,
    export_timeout=300,
    web=WebSettings(workers=2, threads=8),
    celery_concurrency=4,
)
# The same path in seconds, for CI: tiny counts, no goal is judged on them.
SMOKE = replace(
    FULL,
    mode="smoke",
    concurrency=4,
    warmup=0,
    bare_seconds=0.4,
    read_seconds=0.4,
    storm_seconds=1,
    storm_read_seconds=0.4,
    max_requests=600,
    max_sign_requests=100,
    probes=2,
    probe_timeout=10,
    burst=100,
    scale_small=100,
    scale_large=1_000,
    burst_timeout=60,
    export_timeout=60,
    web=WebSettings(workers=1, threads=4),
    celery_concurrency=1,
)


def _p99(values: list[int]) -> int | None:
    if not values:
        return None
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(0.99 * len(ordered) + 0.5) - 1))]


def figures(plan: Plan, r: dict[str, Any]) -> list[Figure]:
    """Issue 5's figures, each against its goal."""
    ceiling_get = r["bare_get"]["requests_per_second"]
    ceiling_post = r["bare_post"]["requests_per_second"]

    def rps(summary: dict[str, Any]) -> str:
        return fmt(summary["requests_per_second"], 0, " req/s")

    def times(value: float | None) -> str:
        return fmt(value, 2, "×")

    storm = r["storm"]
    sign_ratio = ratio(storm["requests_per_second"], ceiling_post)
    p99 = storm["latency_ms"]["p99"]
    lost = r["nothing_lost"]
    end_lost = lost["after_drain"]
    confirm = r["confirmation_to_count"]
    delays = confirm["delays_ms"]
    confirm_p99 = _p99(delays)
    confirm_ok = (
        None
        if confirm_p99 is None
        else confirm_p99 <= 2000 and confirm["timeouts"] == 0 and not confirm["errors"]
    )
    burst = r["burst"]
    memory = r["memory_after_storm"]
    scale = r["scale"]
    small, large = scale[str(plan.scale_small)], scale[str(plan.scale_large)]
    count_scale = ratio(large["count_json_rps"], small["count_json_rps"])
    page_scale = ratio(large["results_page_rps"], small["results_page_rps"])
    export = r["export"]
    web_mb, celery_mb = memory["web_worker_max_mb"], memory["celery_process_max_mb"]

    rows = [
        Figure("bare_get", "bare Flask GET (ceiling)", rps(r["bare_get"]), data=r["bare_get"]),
        Figure(
            "bare_post",
            "bare Flask POST, small form (ceiling)",
            rps(r["bare_post"]),
            data=r["bare_post"],
        ),
        Figure(
            "signing_throughput",
            f"signing, {plan.concurrency} concurrent, {plan.storm_seconds:g} s",
            f"{rps(storm)} = {times(sign_ratio)} bare POST",
            "≥ 0.50× bare POST",
            verdict(sign_ratio is not None and sign_ratio >= 0.5),
            storm,
        ),
        Figure(
            "signing_p99",
            "signing p99 latency",
            fmt(p99, 1, " ms"),
            "≤ 100 ms",
            verdict(p99 is not None and p99 <= 100),
        ),
        Figure(
            "signing_errors",
            "signing errors",
            str(storm["errors"]),
            "0",
            verdict(storm["errors"] == 0),
        ),
        Figure(
            "nothing_lost",
            "nothing lost (303s = rows; checked, emailed once)",
            f"{end_lost['sign_answers_303']:,} 303s = {end_lost['rows_stored_from_http']:,} rows;"
            f" {end_lost['sink_messages']:,} mails for {end_lost['rows_stored']:,} rows"
            + ("" if lost["drained"] else " (burst not drained: invariants only)"),
            "exact equality",
            ("pass" if lost["drained"] else "partial") if lost["all_hold"] else "FAIL",
            lost,
        ),
        Figure(
            "pipeline_drain",
            f"pipeline drain: burst of {burst['signatures']:,}"
            + (
                f" + {burst['storm_backlog']:,} left by the storm" if burst["storm_backlog"] else ""
            ),
            f"{fmt(burst['per_second'], 0, ' signatures/s')} ({burst['seconds']:.1f} s"
            + ("" if burst["drained"] else f"; {burst['processed']:,} done within the bound")
            + ")",
            "≥ 1,000 signatures/s",
            verdict(burst["drained"] and burst["per_second"] >= 1000),
            burst,
        ),
        Figure(
            "confirmation_to_count",
            "confirmation → count JSON p99, under signing",
            f"{fmt(confirm_p99, 0, ' ms')} (n={len(delays)}, "
            f"max {fmt(max(delays) if delays else None, 0, ' ms')})",
            "≤ 2,000 ms",
            verdict(confirm_ok),
            confirm,
        ),
    ]
    for key, name, summary, goal in (
        ("count_json_rest", "count JSON at rest", r["count_rest"], 0.8),
        ("results_page_rest", "results page at rest", r["results_rest"], 0.5),
        ("count_json_storm", "count JSON during signing", r["count_storm"], None),
        ("results_page_storm", "results page during signing", r["results_storm"], None),
    ):
        value = ratio(summary["requests_per_second"], ceiling_get)
        rows.append(
            Figure(
                key,
                f"{name}, {plan.concurrency} concurrent",
                f"{rps(summary)} = {times(value)} bare GET",
                f"≥ {goal:.2f}× bare GET" if goal else "(info: shares the CPU)",
                (verdict(value is not None and value >= goal) if goal else "info"),
                summary,
            )
        )
    rows += [
        Figure(
            "scale_count_json",
            f"scale: count JSON, {plan.scale_large:,} vs {plan.scale_small:,}",
            f"{times(count_scale)} ({fmt(large['count_json_rps'])} vs "
            f"{fmt(small['count_json_rps'])} req/s)",
            "≥ 0.90×",
            verdict(count_scale is not None and count_scale >= 0.9),
            scale,
        ),
        Figure(
            "scale_results_page",
            f"scale: results page, {plan.scale_large:,} vs {plan.scale_small:,}",
            f"{times(page_scale)} ({fmt(large['results_page_rps'])} vs "
            f"{fmt(small['results_page_rps'])} req/s)",
            "≥ 0.90×",
            verdict(page_scale is not None and page_scale >= 0.9),
        ),
        Figure(
            "export",
            f"CSV export of {export['expected_rows']:,} signatures (flask exports signatures)",
            f"{fmt(export['seconds'], 1, ' s')}, peak RSS {fmt(export['peak_rss_mb'], 0, ' MB')}"
            f", {export['rows']:,} rows",
            "≤ 60 s, peak RSS ≤ 200 MB",
            verdict(
                export["complete"]
                and export["exit_status"] == 0
                and export["seconds"] <= 60
                and export["peak_rss_mb"] <= 200
            ),
            export,
        ),
        Figure(
            "memory_web",
            "peak RSS per web worker, after the storm",
            fmt(web_mb, 0, " MB"),
            "≤ 150 MB",
            verdict(web_mb is not None and web_mb <= 150),
            memory,
        ),
        Figure(
            "memory_celery",
            "peak RSS per Celery process, after the storm",
            fmt(celery_mb, 0, " MB"),
            "≤ 150 MB",
            verdict(celery_mb is not None and celery_mb <= 150),
        ),
    ]
    return rows


def revision() -> str:
    """The commit measured (``BENCH_REVISION`` for a tree without .git)."""
    if os.environ.get("BENCH_REVISION"):
        return os.environ["BENCH_REVISION"]
    try:
        head = subprocess.run(  # noqa: S603 (git, no shell)
            ["git", "-C", str(REPO), "rev-parse", "--short", "HEAD"],  # noqa: S607
            capture_output=True,
            text=True,
            check=True,
            timeout=10,
        ).stdout.strip()
        dirty = subprocess.run(  # noqa: S603
            ["git", "-C", str(REPO), "status", "--porcelain", "--untracked-files=no"],  # noqa: S607
            capture_output=True,
            text=True,
            check=True,
            timeout=10,
        ).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return "unknown"
    return head + (" (with uncommitted changes)" if dirty else "")


def parse(argv: list[str] | None) -> tuple[argparse.Namespace, Plan]:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.run", description=__doc__)
    parser.add_argument("--smoke", action="store_true", help="seconds and tiny counts (CI)")
    parser.add_argument("--results-dir", type=Path, default=RESULTS, help="where the report goes")
    parser.add_argument("--web-workers", type=int, help="gunicorn workers")
    parser.add_argument("--web-threads", type=int, help="gunicorn threads per worker")
    parser.add_argument("--celery-concurrency", type=int, help="Celery processes (zaytoun queue)")
    parser.add_argument(
        "--profile", action="store_true", help="py-spy the web workers and the Celery pool"
    )
    parser.add_argument("--keep-logs", action="store_true", help="keep the stack's logs")
    parser.add_argument("--strict", action="store_true", help="exit 1 when a goal is missed")
    args = parser.parse_args(argv)
    plan = SMOKE if args.smoke else FULL
    web = WebSettings(args.web_workers or plan.web.workers, args.web_threads or plan.web.threads)
    plan = replace(
        plan, web=web, celery_concurrency=args.celery_concurrency or plan.celery_concurrency
    )
    return args, plan


def main(argv: list[str] | None = None) -> int:
    args, plan = parse(argv)

    # SIGTERM (CI, a parent timing out) stops the run like Ctrl-C: through the finally.
    def interrupted(signum: int, frame: Any) -> None:
        raise KeyboardInterrupt(f"signal {signum}")

    previous = signal.signal(signal.SIGTERM, interrupted)
    started_at = datetime.now(UTC)
    stamp = started_at.strftime("%Y%m%dT%H%M%SZ")
    workdir = Path(tempfile.mkdtemp(prefix="zaytoun-bench-"))
    profile_dir = args.results_dir / f"profile-{stamp}" if args.profile else None
    bench = Bench(plan, workdir, profile_dir)
    failed = True
    try:
        log(f"{plan.mode} run; the stack's logs are in {bench.logs}")
        results = asyncio.run(bench.run())
        failed = False
    finally:
        bench.teardown()
        signal.signal(signal.SIGTERM, previous)
        if failed:
            for child_log in sorted(bench.logs.glob("*.log")):
                tail = "\n".join(child_log.read_text(errors="replace").splitlines()[-30:])
                print(f"--- {child_log.name} (tail) ---\n{tail}", file=sys.stderr)
        if args.keep_logs or failed:
            log(f"logs kept in {bench.logs}")
        else:
            shutil.rmtree(workdir, ignore_errors=True)

    rows = figures(plan, results)
    document = {
        "issue": 5,
        "mode": plan.mode,
        "command": "python -m benchmarks.run " + " ".join(sys.argv[1:] if argv is None else argv),
        "started_at": started_at.isoformat(timespec="seconds"),
        "revision": revision(),
        "wall_seconds": results["wall_seconds"],
        "machine": {**machine(), "load_average_at_start": results["load_average_at_start"]},
        "plan": asdict(plan),
        "stack": {
            "gunicorn": {
                "config": "deploy/gunicorn.conf.py (WEB_CONCURRENCY, WEB_THREADS, BIND)",
                "worker_class": plan.web.worker_class,
                "workers": plan.web.workers,
                "threads": plan.web.threads,
            },
            "celery": {
                "zaytoun_queue": f"prefork, concurrency {plan.celery_concurrency}",
                "periodic_queue": f"prefork, concurrency {PERIODIC_CONCURRENCY}",
                "beat": "its own process",
            },
            "postgresql": "the machine's; a fresh zaytoun_bench_* database, dropped at the end",
            "redis": f"{results['redis_url']} (claimed, emptied before, flushed after)",
            "smtp_sink": "aiosmtpd in its own process, counting messages per recipient",
            "load_generator": "asyncio HTTP/1.1 keep-alive client (standard library), "
            "one connection per virtual user, in the harness process",
        },
        "phases": bench.phases,
        "cpu_cores_per_phase": bench.cpu,
        "profiles": bench.profiles,
        "results": results,
    }
    others = [
        phase["everything else on the machine (cores)"]
        for phase in bench.cpu.values()
        if "everything else on the machine (cores)" in phase
    ]
    document["other_load_cores_mean"] = round(sum(others) / len(others), 2) if others else None
    path = args.results_dir / f"bench-{plan.mode}-{stamp}.json"
    report.write(document, rows, path)
    print()
    print(report.table(rows))
    if others and sum(others) / len(others) > 0.25:
        print(
            f"\nWARNING: other processes used {sum(others) / len(others):.2f} of the "
            f"{machine()['nproc']} cores on average during the phases; the figures are "
            "lower than this machine gives when quiet."
        )
    print(f"\nreport: {path}")
    if not results["nothing_lost"]["all_hold"]:
        print("the nothing-lost equalities do NOT hold", file=sys.stderr)
        return 1
    if args.strict and any(f.verdict == "FAIL" for f in rows):
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
