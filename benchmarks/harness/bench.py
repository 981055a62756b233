"""The run, phase by phase. ``Bench.run`` starts everything, measures, and
returns the figures' raw numbers; ``Bench.teardown`` stops everything."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import subprocess
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import redis
from flask import Flask

from campaigns.extensions import db
from campaigns.privacy.keys import generate_key

from . import data
from .http import LoadResult, build, fetch, run_load
from .profile import Recording
from .scenarios import (
    LANG,
    MAIL_DOMAIN,
    Probe,
    Signing,
    confirm_and_watch,
    confirm_path,
    get_request,
    sign_once,
    signers_shown,
)
from .sink import Sink
from .stack import (
    BIN,
    HOST,
    REPO,
    Child,
    Database,
    RedisDatabase,
    WebSettings,
    base_environment,
    celery_beat,
    celery_worker,
    children_of,
    cpu_seconds,
    flask_command,
    free_port,
    gunicorn,
    load_average,
    machine_busy_seconds,
    pids_named,
    rss_mb,
    wait_for_port,
)

SIGN_SLUG = "no-russia-on-hrc"  # the signing storm, the probes, the burst
SCALE_SLUG = "olive-trees-afrin"  # 1,000 then 1,000,000 bulk-loaded signatures
# Two processes on the periodic queue, as docs/production.md runs it: the
# outbox relay (up to 2 s a run while signatures pour in) and the count job
# must not wait for each other, or confirmations reach the count late.
PERIODIC_CONCURRENCY = 2
BARE_FORM = b"full_name=Bench+Signer&email=bench%40zaytoun-bench.org&country=SY&region=Aleppo"


@dataclass(frozen=True)
class Plan:
    """Sizes and bounds of one run: every phase is bounded in time and in requests."""

    mode: str
    concurrency: int
    warmup: float  # seconds before each measured window
    bare_seconds: float
    read_seconds: float  # count JSON / results page, each
    storm_seconds: float  # the pure signing storm
    storm_read_seconds: float  # signing storm plus reads, each
    max_requests: int  # per read phase, whatever its time
    max_sign_requests: int  # per signing phase, whatever its time
    probes: int
    probe_timeout: float
    burst: int
    scale_small: int
    scale_large: int
    export_timeout: float
    burst_timeout: float  # the pipeline drain (the storm's backlog and the burst)
    web: WebSettings
    celery_concurrency: int


T = TypeVar("T")


def need(value: T | None, what: str) -> T:
    if value is None:
        raise RuntimeError(f"{what} is not started")
    return value


def log(message: str) -> None:
    print(f"[bench {time.strftime('%H:%M:%S')}] {message}", flush=True)


class Bench:
    def __init__(self, plan: Plan, workdir: Path, profile_dir: Path | None = None) -> None:
        self.plan = plan
        self.workdir = workdir
        self.logs = workdir / "logs"
        self.profile_dir = profile_dir
        self.children: list[Child] = []
        self.sink: Sink | None = None
        self.database: Database | None = None
        self.redis: RedisDatabase | None = None
        self.env: dict[str, str] = {}
        self.app: Flask | None = None
        self.web: Child | None = None
        self.workers: list[Child] = []
        self.tag = uuid.uuid4().hex[:8]
        self.secret_key = generate_key()
        self.data_key = generate_key()
        self.ledger_key = generate_key()
        # What the report is made of.
        self.phases: dict[str, dict[str, Any]] = {}
        self.cpu: dict[str, dict[str, float]] = {}
        self.results: dict[str, Any] = {}
        self.profiles: dict[str, Any] = {}

    # -- the stack

    def environment(self, site_url: str, smtp_port: int) -> dict[str, str]:
        """What every node of the stack reads, as an operator would set it."""
        database = need(self.database, "the database")
        python_path = [str(REPO), os.environ.get("PYTHONPATH", "")]
        return {
            **base_environment(),
            "DATABASE_URL": database.url,
            "REDIS_URL": need(self.redis, "Redis").url,
            "SECRET_KEY": self.secret_key,
            "PERSONAL_DATA_KEY": self.data_key,
            "LEDGER_SIGNING_KEY": self.ledger_key,
            "MAIL_SERVER": HOST,
            "MAIL_PORT": str(smtp_port),
            "SITE_URL": site_url,
            # One proxy in front: X-Forwarded-For is the client's address.
            "TRUSTED_PROXIES": "1",
            "ZAYTOUN_INSTANCE": str(self.workdir / "instance"),
            "PYTHONPATH": os.pathsep.join(filter(None, python_path)),
        }

    def start(self, child: Child) -> Child:
        self.children.append(child)
        return child.start()

    def teardown(self) -> None:
        """Stop every child (all asked at once, then waited for), flush Redis,
        drop the database. Safe to call at any point of a run."""
        for child in self.children:
            with contextlib.suppress(Exception):
                child.terminate()
        for child in reversed(self.children):
            with contextlib.suppress(Exception):
                child.stop()
        self.children.clear()
        if self.sink is not None:
            with contextlib.suppress(Exception):
                self.sink.stop()
        if self.app is not None:
            with contextlib.suppress(Exception), self.app.app_context():
                db.session.remove()
                db.engine.dispose()
        if self.redis is not None:
            with contextlib.suppress(Exception):
                self.redis.flush()
        if self.database is not None:
            try:
                self.database.drop()
                log(f"dropped database {self.database.name}")
            except Exception as exc:  # say so, never hide a leftover
                log(f"could NOT drop database {self.database.name}: {exc}")

    # -- measuring helpers

    def groups(self) -> dict[str, list[int]]:
        groups: dict[str, list[int]] = {
            "postgres": pids_named("postgres"),
            "redis": pids_named("redis-server"),
            "harness (load generator)": [os.getpid()],
        }
        if self.web is not None and self.web.process is not None:
            groups["gunicorn"] = [self.web.pid, *children_of(self.web.pid)]
        celery: list[int] = []
        for worker in self.workers:
            if worker.process is not None:
                celery += [worker.pid, *children_of(worker.pid)]
        if celery:
            groups["celery"] = celery
        if self.sink is not None and self.sink.pid:
            groups["smtp sink"] = [self.sink.pid]
        return groups

    @contextlib.contextmanager
    def phase_cpu(
        self, name: str, extra_pids: dict[str, list[int]] | None = None
    ) -> Iterator[None]:
        """Cores used by each part of the stack during a phase, and by the
        rest of the machine (anything else running there skews the figures)."""
        groups = {**self.groups(), **(extra_pids or {})}
        before = {k: cpu_seconds(v) for k, v in groups.items()}
        machine_before = machine_busy_seconds()
        started = time.monotonic()
        yield
        wall = max(time.monotonic() - started, 1e-3)
        groups = {**self.groups(), **(extra_pids or {})}
        # Per process: one that started meanwhile counts from zero; one that
        # ended meanwhile (a PostgreSQL backend) is left out of its group.
        used = {
            k: sum(
                max(0.0, seconds - before.get(k, {}).get(pid, 0.0))
                for pid, seconds in cpu_seconds(v).items()
            )
            for k, v in groups.items()
        }
        machine = machine_busy_seconds() - machine_before
        self.cpu[name] = {
            "wall_seconds": round(wall, 2),
            **{f"{k} (cores)": round(v / wall, 2) for k, v in used.items()},
            "everything else on the machine (cores)": round(
                max(0.0, machine - sum(used.values())) / wall, 2
            ),
            "machine busy (cores)": round(machine / wall, 2),
        }

    def keep(self, result: LoadResult) -> dict[str, Any]:
        summary = result.summary()
        self.phases[result.name] = summary
        log(
            f"{result.name}: {summary['requests_per_second']:,.0f} req/s, "
            f"p99 {summary['latency_ms']['p99']} ms, {summary['errors']} errors "
            f"(load generator: {summary['client_cpu_share_of_one_core']} core)"
        )
        return summary

    async def reads(self, name: str, port: int, path: str, seconds: float) -> dict[str, Any]:
        plan = self.plan
        result = await run_load(
            name,
            port,
            get_request(port, path),
            concurrency=plan.concurrency,
            duration=seconds,
            warmup=plan.warmup,
            max_requests=plan.max_requests,
            expect=frozenset({200}),
        )
        return self.keep(result)

    async def sign(self, name: str, signing: Signing, seconds: float) -> dict[str, Any]:
        plan = self.plan
        result = await run_load(
            name,
            signing.port,
            signing.request,
            concurrency=plan.concurrency,
            duration=seconds,
            warmup=plan.warmup,
            expect=frozenset({303}),
            prepare=signing.prepare,
            max_requests=plan.max_sign_requests,
            on_answer=signing.count_answer,
        )
        return self.keep(result)

    def record(self, name: str, pids: list[int], seconds: float) -> Recording | None:
        if self.profile_dir is None:
            return None
        return Recording(self.profile_dir, name, pids, seconds)

    def pool_pids(self) -> list[int]:
        return [pid for worker in self.workers[:1] for pid in children_of(worker.pid)]

    def web_pids(self) -> list[int]:
        return children_of(need(self.web, "gunicorn").pid)

    def memory(self) -> dict[str, Any]:
        """Peak resident memory (VmHWM) of each web worker and Celery process,
        and their current one (VmRSS) for comparison."""
        web = self.web_pids()
        celery = [pid for w in self.workers for pid in [w.pid, *children_of(w.pid)]]

        def sizes(pids: list[int], field: str) -> dict[str, float]:
            found = {pid: rss_mb(pid, field) for pid in pids}
            return {str(pid): round(mb, 1) for pid, mb in found.items() if mb is not None}

        peaks = {"web": sizes(web, "VmHWM"), "celery": sizes(celery, "VmHWM")}
        return {
            "web_workers_peak_mb": peaks["web"],
            "web_workers_current_mb": sizes(web, "VmRSS"),
            "celery_processes_peak_mb": peaks["celery"],
            "celery_processes_current_mb": sizes(celery, "VmRSS"),
            "web_worker_max_mb": max(peaks["web"].values(), default=None),
            "celery_process_max_mb": max(peaks["celery"].values(), default=None),
        }

    def wait_for_pipeline(self, expected_mail: int, timeout: float) -> tuple[bool, float]:
        """Until every web signature of the signing campaign is checked, its
        confirmation sent and received by the sink, and the outbox empty."""
        sink = need(self.sink, "the SMTP sink")
        started = time.monotonic()
        while True:
            state = data.pipeline_state(SIGN_SLUG)
            if (
                state["checked"] == state["stored"]
                and state["confirm_emails_sent"] == state["stored"] - state["fraudulent"]
                and state["outbox"] == 0
                and sink.messages >= expected_mail
            ):
                return True, time.monotonic() - started
            if time.monotonic() - started > timeout:
                log(f"pipeline not drained after {timeout} s: {state}, sink {sink.messages}")
                return False, time.monotonic() - started
            time.sleep(0.2)

    # -- the run

    async def run(self) -> dict[str, Any]:
        started = time.monotonic()
        self.results["load_average_at_start"] = load_average()
        web_port = await self.start_stack()
        await self.measure_reads_at_rest(web_port)
        # Also at rest, before any signing: the pipeline is idle.
        await self.scale_independence(web_port)
        self.export()
        signing = Signing(web_port, SIGN_SLUG, self.tag)
        probes = await self.prepare_probes(signing)
        await self.signing_storm(signing, probes)
        await self.reads_during_storm(signing, web_port)
        self.results["memory_after_storm"] = self.memory()
        # Last, so that a pipeline slower than its bound delays nothing else.
        self.pipeline_drain(signing)
        self.results["memory_at_end"] = self.memory()
        await self.measure_ceiling("end")
        self.results["wall_seconds"] = round(time.monotonic() - started, 1)
        return self.results

    async def start_stack(self) -> int:
        plan = self.plan
        self.logs.mkdir(parents=True, exist_ok=True)
        self.results["run_id"] = self.tag
        self.redis = RedisDatabase.claim(self.tag)
        self.results["redis_url"] = self.redis.url
        self.database = Database.create()
        self.results["database"] = self.database.name
        log(f"created database {self.database.name}; claimed and emptied Redis {self.redis.url}")
        smtp_port, web_port = free_port(), free_port()
        env = self.environment(f"http://{HOST}:{web_port}", smtp_port)
        flask_command(["db", "upgrade"], env)
        flask_command(["campaigns", "seed"], env)
        log("migrated (flask db upgrade) and seeded (flask campaigns seed)")
        self.sink = Sink(smtp_port)
        self.sink.start()

        self.env = env
        # The ceiling first, alone on the machine (and again at the end).
        await self.measure_ceiling("start")

        self.workers = [
            self.start(
                celery_worker("celery-zaytoun", "zaytoun", plan.celery_concurrency, env, self.logs)
            ),
            self.start(
                celery_worker("celery-periodic", "periodic", PERIODIC_CONCURRENCY, env, self.logs)
            ),
        ]
        beat = self.start(celery_beat(env, self.logs))
        self.web = self.start(
            gunicorn(
                "gunicorn-zaytoun", "campaigns:create_app()", web_port, plan.web, env, self.logs
            )
        )
        for worker in self.workers:
            worker.wait_for_log(" ready.", 90)
        beat.wait_for_log("beat: Starting", 60)
        wait_for_port(web_port, 60, self.web.process)
        for path in (f"/api/v1/campaigns/{SIGN_SLUG}/count", f"/{LANG}/campaigns/{SIGN_SLUG}"):
            answer = await fetch(web_port, "GET", path)
            if answer.status != 200:
                raise RuntimeError(f"{path} answered {answer.status}")
        log(
            f"stack up: gunicorn {plan.web.workers} {plan.web.worker_class} workers × "
            f"{plan.web.threads} threads; Celery {plan.celery_concurrency} + "
            f"{PERIODIC_CONCURRENCY} (periodic) "
            f"and beat; SMTP sink on :{smtp_port}"
        )
        self.app = data.harness_app(
            self.database.url, self.secret_key, self.data_key, self.workdir / "harness-instance"
        )
        self.app.app_context().push()
        return web_port

    async def measure_ceiling(self, when: str) -> None:
        """Bare Flask on the same gunicorn settings, GET and POST. Measured at
        the start and at the end of the run; the higher of the two is the
        ceiling (the framework's best on this machine), both are reported."""
        plan = self.plan
        port = free_port()
        bare = self.start(
            gunicorn(
                f"gunicorn-bare-{when}",
                "benchmarks.bare_app:create_app()",
                port,
                plan.web,
                self.env,
                self.logs,
            )
        )
        wait_for_port(port, 30, bare.process)
        await fetch(port, "GET", "/")
        pids = {"gunicorn (bare)": [bare.pid, *children_of(bare.pid)]}
        with self.phase_cpu(f"bare_get_{when}", pids):
            get = await self.reads(f"bare_get_{when}", port, "/", plan.bare_seconds)
        with self.phase_cpu(f"bare_post_{when}", pids):
            result = await run_load(
                f"bare_post_{when}",
                port,
                lambda user, ticket: build("POST", "/form", port, body=BARE_FORM),
                concurrency=plan.concurrency,
                duration=plan.bare_seconds,
                warmup=plan.warmup,
                max_requests=plan.max_requests,
                expect=frozenset({303}),
            )
            post = self.keep(result)
        bare.terminate()  # waited for at teardown
        for key, summary in (("bare_get", get), ("bare_post", post)):
            best = self.results.get(key)
            if best is None or summary["requests_per_second"] > best["requests_per_second"]:
                self.results[key] = summary

    async def measure_reads_at_rest(self, port: int) -> None:
        plan = self.plan
        for key, name, path in (
            ("count_rest", "count_json_rest", f"/api/v1/campaigns/{SIGN_SLUG}/count"),
            ("results_rest", "results_page_rest", f"/{LANG}/campaigns/{SIGN_SLUG}/results"),
        ):
            recording = self.record(f"{name}-gunicorn", self.web_pids(), plan.read_seconds)
            with self.phase_cpu(name):
                self.results[key] = await self.reads(name, port, path, plan.read_seconds)
            if recording is not None:
                self.profiles[f"{name}_gunicorn_workers"] = recording.finish()

    async def prepare_probes(self, signing: Signing) -> list[Probe]:
        """Signers whose confirmation the storm will time: they sign now and
        their confirmation links are read from the emails the sink received."""
        sink = need(self.sink, "the SMTP sink")
        probes = [Probe(f"probe-{self.tag}-{n}@{MAIL_DOMAIN}") for n in range(self.plan.probes)]
        for n, probe in enumerate(probes):
            await sign_once(signing, probe.email, n)
        deadline = time.monotonic() + 60
        for probe in probes:
            while (raw := sink.kept(probe.email)) is None:
                if time.monotonic() > deadline:
                    raise RuntimeError("the probes' confirmation emails did not arrive in 60 s")
                await asyncio.sleep(0.1)
            probe.confirm_path = confirm_path(raw)
        log(f"{len(probes)} probe signers have their confirmation links")
        return probes

    async def signing_storm(self, signing: Signing, probes: list[Probe]) -> None:
        plan = self.plan
        stop_at = time.monotonic() + plan.warmup + plan.storm_seconds
        recording = self.record("signing-storm-gunicorn", self.web_pids(), plan.storm_seconds)
        with self.phase_cpu("signing_storm"):
            storm, confirmations = await asyncio.gather(
                self.sign("signing_storm", signing, plan.storm_seconds),
                confirm_and_watch(signing.port, SIGN_SLUG, probes, stop_at, plan.probe_timeout),
            )
        if recording is not None:
            self.profiles["signing_storm_gunicorn_workers"] = recording.finish()
        self.results["storm"] = storm
        self.results["confirmation_to_count"] = {
            "probes": len(confirmations.delays),
            "timeouts": confirmations.timeouts,
            "errors": confirmations.errors,
            "delays_ms": [round(d * 1000) for d in confirmations.delays],
        }
        log(f"confirmation → count (s): {sorted(round(d, 2) for d in confirmations.delays)}")

    async def reads_during_storm(self, signing: Signing, port: int) -> None:
        plan = self.plan
        for key, path in (
            ("count_storm", f"/api/v1/campaigns/{SIGN_SLUG}/count"),
            ("results_storm", f"/{LANG}/campaigns/{SIGN_SLUG}/results"),
        ):
            name = {"count_storm": "count_json_storm", "results_storm": "results_page_storm"}[key]
            with self.phase_cpu(name):
                _, self.results[key] = await asyncio.gather(
                    self.sign(f"signing_during_{name}", signing, plan.storm_read_seconds),
                    self.reads(name, port, path, plan.storm_read_seconds),
                )

    def pipeline_drain(self, signing: Signing) -> None:
        """A burst of pending signatures committed at once, as the signing path
        writes them (row + outbox row), on top of whatever the storm left
        unchecked: the time until every pending signature is checked and its
        confirmation email is in the sink."""
        sink = need(self.sink, "the SMTP sink")
        plan = self.plan
        before = data.pipeline_state(SIGN_SLUG)
        backlog = before["stored"] - before["checked"]
        burst = data.insert_pending_burst(SIGN_SLUG, plan.burst, self.tag)
        pending = backlog + burst.count
        mail_target = signing.answered_303 + burst.count
        log(
            f"burst of {burst.count:,} pending signatures committed on top of the storm's "
            f"{backlog:,} unchecked; timing the pipeline"
        )
        recording = self.record("burst-celery-pool", self.pool_pids(), min(20, plan.burst_timeout))
        deadline = burst.committed_at + plan.burst_timeout

        def remaining() -> int:
            state = data.pipeline_state(SIGN_SLUG)
            return max(state["stored"] - state["checked"], mail_target - sink.messages)

        with self.phase_cpu("pipeline_drain"):
            left = remaining()
            while left > 0 and time.monotonic() < deadline:
                sink.wait_for(mail_target, min(0.5, max(0.0, deadline - time.monotonic())))
                left = remaining()
            seconds = time.monotonic() - burst.committed_at
        if recording is not None:
            self.profiles["pipeline_drain_celery_pool"] = recording.finish()
        done = left == 0
        processed = pending - left
        rate = processed / seconds
        self.results["burst"] = {
            "signatures": burst.count,
            "storm_backlog": backlog,
            "pending": pending,
            "drained": done,
            "processed": processed,
            "seconds": round(seconds, 2),
            "per_second": round(rate, 1),
            "bound_seconds": plan.burst_timeout,
        }
        log(f"drain: {processed:,} of {pending:,} through in {seconds:.1f} s: {rate:,.0f}/s")
        drained = done and self.wait_for_pipeline(mail_target, 30)[0]
        self.nothing_lost(signing, "after_drain", burst_rows=burst.count, drained=drained)

    def nothing_lost(self, signing: Signing, stage: str, *, burst_rows: int, drained: bool) -> None:
        """Exact equalities once the pipeline has drained, over every web
        signature of the signing campaign (storm, probes and burst so far)."""
        sink = need(self.sink, "the SMTP sink")
        burst = burst_rows
        state = data.pipeline_state(SIGN_SLUG)
        received = sink.stats()
        answered = signing.answered_303
        from_http = state["stored"] - burst
        if drained:
            checks = {
                "rows stored == 303 answers": from_http == answered,
                "every row checked": state["checked"] == state["stored"],
                "no row marked fraudulent": state["fraudulent"] == 0,
                "one confirmation email logged and sent per row": state["confirm_emails_sent"]
                == state["confirm_emails"]
                == state["signatures_emailed"]
                == state["stored"],
                "sink received one message per row": received["messages"] == state["stored"],
                "each signer emailed exactly once": received["recipients"] == state["stored"]
                and received["recipients_more_than_once"] == 0,
                "outbox empty": state["outbox"] == 0,
            }
        else:
            # Still draining at the bound: equality cannot be judged yet, but
            # what must hold at any moment is checked.
            checks = {
                "rows stored == 303 answers": from_http == answered,
                "no row marked fraudulent": state["fraudulent"] == 0,
                "no email without a checked row": state["confirm_emails_sent"]
                <= state["checked"]
                <= state["stored"],
                "no signer emailed twice": received["recipients_more_than_once"] == 0
                and received["messages"] == received["recipients"] <= state["stored"],
            }
        lost = self.results.setdefault("nothing_lost", {"all_hold": True})
        lost[stage] = {
            "sign_answers_303": answered,
            "rows_stored_from_http": from_http,
            "burst_rows": burst,
            "rows_stored": state["stored"],
            "rows_checked": state["checked"],
            "rows_fraudulent": state["fraudulent"],
            "rows_validated_by_probes": state["validated"],
            "confirm_emails_logged": state["confirm_emails"],
            "confirm_emails_sent": state["confirm_emails_sent"],
            "signatures_emailed": state["signatures_emailed"],
            "sink_messages": received["messages"],
            "sink_recipients": received["recipients"],
            "sink_recipients_more_than_once": received["recipients_more_than_once"],
            "outbox_left": state["outbox"],
            "drained": drained,
            "checks": checks,
            "all_hold": all(checks.values()),
        }
        lost["all_hold"] = lost["all_hold"] and all(checks.values())
        lost["drained"] = lost.get("drained", True) and drained
        failed = [name for name, ok in checks.items() if not ok]
        verdict = "all hold" if not failed else f"FAILED: {failed}"
        log(f"nothing lost ({stage}{'' if drained else ', not drained'}): {verdict}")

    async def scale_independence(self, port: int) -> None:
        """The count JSON and the results page on the same campaign holding
        1,000, then 1,000,000 bulk-loaded validated signatures."""
        plan = self.plan
        scale: dict[str, dict[str, Any]] = {}
        loaded = 0
        count_path = f"/api/v1/campaigns/{SCALE_SLUG}/count"
        page_path = f"/{LANG}/campaigns/{SCALE_SLUG}/results"
        for size in (plan.scale_small, plan.scale_large):
            t0 = time.monotonic()
            data.bulk_load_validated(SCALE_SLUG, loaded, size)
            data.count_loaded(SCALE_SLUG)
            data.vacuum_analyze()
            loaded = size
            load_seconds = time.monotonic() - t0
            clear_cached_figures(need(self.redis, "Redis").url)
            shown = await signers_shown(port, SCALE_SLUG)
            stored = data.signature_count(SCALE_SLUG)
            log(f"{SCALE_SLUG}: {stored:,} signatures, loaded in {load_seconds:.1f} s")
            with self.phase_cpu(f"scale_{size}"):
                count = await self.reads(f"count_json_{size}", port, count_path, plan.read_seconds)
                page = await self.reads(f"results_page_{size}", port, page_path, plan.read_seconds)
            scale[str(size)] = {
                "signatures": stored,
                "signers_shown": shown,
                "load_seconds": round(load_seconds, 1),
                "count_json_rps": count["requests_per_second"],
                "results_page_rps": page["requests_per_second"],
            }
        self.results["scale"] = scale

    def export(self) -> None:
        """``flask exports signatures`` (the CLI an admin runs; the console's
        download streams the same batches) on the campaign holding the
        bulk-loaded million: its time, the file's rows, and the process's peak
        RSS from the kernel's accounting of the finished child."""
        path = self.workdir / "export.csv"
        command = [str(BIN / "flask"), "--app", "campaigns", "exports", "signatures"]
        started = time.monotonic()
        with open(self.logs / "export.log", "wb") as output:
            child = subprocess.Popen(  # noqa: S603 (our own executable, no shell)
                [*command, SCALE_SLUG, str(path)],
                cwd=REPO,
                env=self.env,
                stdout=output,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
            status, usage = wait_with_usage(child, self.plan.export_timeout)
        seconds = time.monotonic() - started
        rows = 0
        if path.exists():
            with path.open("rb") as exported:
                rows = sum(1 for _ in exported) - 1  # the header
            size = path.stat().st_size
            path.unlink()
        else:
            size = 0
        expected = data.validated_count(SCALE_SLUG)
        self.results["export"] = {
            "seconds": round(seconds, 1),
            "rows": rows,
            "expected_rows": expected,
            "complete": rows == expected,
            "bytes": size,
            "peak_rss_mb": round(usage.ru_maxrss / 1024, 1),
            "exit_status": status,
            "timeout": self.plan.export_timeout,
        }
        log(f"export: {rows:,} rows of {expected:,} in {seconds:.1f} s")


def wait_with_usage(child: subprocess.Popen[bytes], timeout: float) -> tuple[int, Any]:
    """Wait for ``child`` (killed with its group after ``timeout`` seconds);
    its exit status and its own resource usage (``os.wait4``: ``Popen.wait``
    would reap it and lose the peak RSS)."""
    deadline = time.monotonic() + timeout
    while True:
        pid, status, usage = os.wait4(child.pid, os.WNOHANG)
        if pid:
            break
        if time.monotonic() > deadline:
            os.killpg(child.pid, signal.SIGKILL)
            _pid, status, usage = os.wait4(child.pid, 0)
            break
        time.sleep(0.1)
    child.returncode = os.waitstatus_to_exitcode(status)
    return child.returncode, usage


def clear_cached_figures(url: str) -> None:
    """Drop the app's cached aggregates (its own keys only, never the broker's)."""
    client = redis.Redis.from_url(url)
    try:
        for key in client.scan_iter("zaytoun:cache:*"):
            client.delete(key)
    finally:
        client.close()
