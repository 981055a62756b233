"""A production deployment on loopback for the fault tests, built from the
benchmark harness's pieces (``benchmarks/harness/stack.py``): a fresh
PostgreSQL database (migrated and seeded with the app's own commands, dropped
at the end), a Redis database given by URL (flushed before and after),
gunicorn with ``deploy/gunicorn.conf.py``, Celery beat, Celery workers that a
test may SIGKILL and restart, and an SMTP server whose behaviour a test
switches at run time.

    with Deployment(tmp_path, redis_url="redis://127.0.0.1:6379/8") as site:
        site.smtp.refuse(451)            # or .accept(), .down(), .refuse(550)
        worker = site.workers[0]
        site.kill_worker(worker)         # SIGKILL: main process and pool
        site.restart_worker(worker)
        site.smtp.received(["a@x.org"])  # messages accepted per recipient

Nothing here is mocked: the web, the workers and beat are the production
commands, reading only the environment built here.
"""

from __future__ import annotations

import asyncio
import contextlib
import email.parser
import multiprocessing
import multiprocessing.connection
import os
import signal
import threading
import time
import uuid
from collections import Counter
from collections.abc import Coroutine
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import Any, TypeVar

import psycopg
import redis
from flask import Flask
from flask_migrate import upgrade

from benchmarks.harness.http import Connection, LoadResult, build, run_load
from benchmarks.harness.scenarios import Signing, csrf_token, session_cookie
from benchmarks.harness.stack import (
    HOST,
    REPO,
    Child,
    WebSettings,
    base_environment,
    celery_beat,
    celery_worker,
    free_port,
    gunicorn,
    wait_for_port,
)
from campaigns import create_app
from campaigns.extensions import db
from campaigns.privacy.keys import generate_key
from campaigns.seed import seed

READY_TIMEOUT = 90

# Sweeps made short enough for a test to watch them act (the app's defaults:
# emails swept every 15 s, leased 5 min, retried after 30 s doubling; unchecked
# signatures re-enqueued after 5 min, swept every minute). Each is an
# environment variable the app reads (campaigns/config.py).
FAST_SWEEPS = {
    "MAIL_DELIVER_SECONDS": "1",
    "MAIL_LEASE_SECONDS": "10",
    "MAIL_RETRY_SECONDS": "1",
    "REQUEUE_INTERVAL_SECONDS": "2",
    "REQUEUE_STALE_SECONDS": "10",
}
T = TypeVar("T")


def run_async(coro: Coroutine[Any, Any, T]) -> T:
    """``asyncio.run(coro)`` in a thread of its own: the browser tests' Playwright
    (its sync API) keeps an event loop running in the main thread for the rest
    of the session, and ``asyncio.run`` refuses to start under a running loop."""
    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(asyncio.run, coro).result()



# -- PostgreSQL


@dataclass
class PostgresDatabase:
    """A database of its own on a PostgreSQL server on loopback (by default the
    machine's, on 5432; a test that restarts its own server passes its port)."""

    name: str
    port: int = 5432

    @property
    def url(self) -> str:
        """As an operator writes DATABASE_URL."""
        return f"postgresql://postgres@{HOST}:{self.port}/{self.name}"

    @property
    def admin_url(self) -> str:
        return f"postgresql://postgres@{HOST}:{self.port}/postgres"

    @classmethod
    def create(cls, port: int = 5432) -> PostgresDatabase:
        database = cls(f"zaytoun_chaos_{uuid.uuid4().hex[:10]}", port)
        with psycopg.connect(database.admin_url, autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{database.name}"')
        return database

    def drop(self) -> None:
        with psycopg.connect(self.admin_url, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{self.name}" WITH (FORCE)')

    def connect(self) -> psycopg.Connection[tuple[Any, ...]]:
        return psycopg.connect(self.url, autocommit=True)


# -- SMTP


class SmtpMode:
    ACCEPT = "accept"
    REFUSE = "refuse"  # every RCPT TO (or DATA) answered with a code
    DOWN = "down"  # nothing listens on the port


class _Handler:
    """aiosmtpd hooks: every RCPT TO is an attempt; a message accepted counts
    once per recipient (and per Subject, to tell kinds of email apart)."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.mode = SmtpMode.ACCEPT
        self.code = 451
        self.at = "rcpt"
        self.attempts: Counter[str] = Counter()
        self.last_attempt: dict[str, float] = {}  # time.time() of the latest RCPT TO
        self.refused: Counter[str] = Counter()
        self.accepted: Counter[str] = Counter()
        self.subjects: dict[str, Counter[str]] = {}
        self.message_ids: dict[str, Counter[str]] = {}
        self.messages = 0
        self.parser = email.parser.BytesHeaderParser()

    def answer(self) -> str:
        if self.mode == SmtpMode.DOWN:
            return "421 Service not available"
        text = "Try again later" if self.code < 500 else "Mailbox unavailable"
        return f"{self.code} {text}"

    async def handle_RCPT(  # noqa: N802 (aiosmtpd's hook name)
        self, server: Any, session: Any, envelope: Any, address: str, rcpt_options: list[str]
    ) -> str:
        address = address.lower()
        with self.lock:
            self.attempts[address] += 1
            self.last_attempt[address] = time.time()
            if self.mode == SmtpMode.DOWN or (self.mode == SmtpMode.REFUSE and self.at == "rcpt"):
                # (DOWN: a session opened before the port closed)
                self.refused[address] += 1
                return self.answer()
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802
        with self.lock:
            # Also when the mode changed since this session's RCPT TO: from
            # the moment a test switches, nothing is accepted.
            if self.mode != SmtpMode.ACCEPT:
                for address in envelope.rcpt_tos:
                    self.refused[address] += 1
                return self.answer()
            headers = self.parser.parsebytes(bytes(envelope.content))
            subject = str(headers.get("Subject", ""))
            message_id = str(headers.get("Message-ID", ""))
            for address in envelope.rcpt_tos:
                self.accepted[address] += 1
                self.subjects.setdefault(address, Counter())[subject] += 1
                self.message_ids.setdefault(address, Counter())[message_id] += 1
            self.messages += 1
        return "250 Message accepted for delivery"


def _serve_smtp(port: int, conn: multiprocessing.connection.Connection) -> None:
    from aiosmtpd.controller import Controller

    handler = _Handler()
    controller: Controller | None = None

    def listen() -> None:
        nonlocal controller
        if controller is None:
            controller = Controller(handler, hostname=HOST, port=port)
            controller.start()

    def close() -> None:
        nonlocal controller
        if controller is not None:
            controller.stop()
            controller = None

    listen()
    conn.send("ready")
    try:
        while True:
            command, argument = conn.recv()
            if command == "stop":
                break
            if command == "mode":
                mode, code, at = argument
                with handler.lock:
                    handler.mode, handler.code, handler.at = mode, code, at
                if mode == SmtpMode.DOWN:
                    close()
                else:
                    listen()
                conn.send(mode)
                continue
            with handler.lock:
                if command == "stats":
                    conn.send(
                        {
                            "messages": handler.messages,
                            "recipients": len(handler.accepted),
                            "deliveries": sum(handler.accepted.values()),
                            "recipients_more_than_once": sum(
                                1 for n in handler.accepted.values() if n > 1
                            ),
                            "attempts": sum(handler.attempts.values()),
                            "refused": sum(handler.refused.values()),
                        }
                    )
                elif command == "received":
                    conn.send(dict(handler.accepted))
                elif command == "attempts":
                    conn.send(dict(handler.attempts))
                elif command == "last_attempt":
                    conn.send(dict(handler.last_attempt))
                elif command == "refused":
                    conn.send(dict(handler.refused))
                elif command == "subjects":
                    conn.send({a: dict(c) for a, c in handler.subjects.items()})
                elif command == "message_ids":
                    conn.send({a: dict(c) for a, c in handler.message_ids.items()})
                else:
                    conn.send(None)
    except EOFError:
        pass
    finally:
        close()


class FaultySmtp:
    """An SMTP server in a process of its own (the test's interpreter is busy
    with the load), switched at run time between accepting, refusing with a
    code, and being down (its port closed). It counts, per recipient, the
    attempts (RCPT TO), the refusals and the messages accepted."""

    def __init__(self, port: int | None = None) -> None:
        self.port = port or free_port()
        context = multiprocessing.get_context("spawn")
        self._conn, child = context.Pipe()
        self._lock = threading.Lock()
        self.process = context.Process(
            target=_serve_smtp, args=(self.port, child), name="chaos-smtp", daemon=True
        )

    def start(self, timeout: float = 120) -> FaultySmtp:
        self.process.start()
        if not self._conn.poll(timeout):
            raise RuntimeError("the SMTP server did not start")
        self._conn.recv()
        return self

    def _ask(self, command: str, argument: Any = None) -> Any:
        with self._lock:
            self._conn.send((command, argument))
            if not self._conn.poll(30):
                raise RuntimeError("the SMTP server does not answer")
            return self._conn.recv()

    # -- behaviour

    def accept(self) -> None:
        self._ask("mode", (SmtpMode.ACCEPT, 250, "rcpt"))

    def refuse(self, code: int, at: str = "rcpt") -> None:
        """Answer every RCPT TO (``at="rcpt"``) or every DATA (``at="data"``) with ``code``."""
        if at not in ("rcpt", "data"):
            raise ValueError(at)
        self._ask("mode", (SmtpMode.REFUSE, code, at))

    def down(self) -> None:
        """Close the port: connections are refused until accept() or refuse()."""
        self._ask("mode", (SmtpMode.DOWN, 0, "rcpt"))

    # -- what it saw (addresses in lower case)

    def stats(self) -> dict[str, int]:
        result: dict[str, int] = self._ask("stats")
        return result

    @property
    def messages(self) -> int:
        return self.stats()["messages"]

    def received(self, addresses: list[str] | None = None) -> dict[str, int]:
        """Messages accepted per recipient (all recipients, or these, 0 when none)."""
        every: dict[str, int] = self._ask("received")
        if addresses is None:
            return every
        return {a.lower(): every.get(a.lower(), 0) for a in addresses}

    def attempts(self, addresses: list[str] | None = None) -> dict[str, int]:
        """RCPT TO commands per recipient, whatever the answer."""
        every: dict[str, int] = self._ask("attempts")
        if addresses is None:
            return every
        return {a.lower(): every.get(a.lower(), 0) for a in addresses}

    def last_attempt(self) -> dict[str, float]:
        """When (``time.time()``) each recipient was last tried."""
        result: dict[str, float] = self._ask("last_attempt")
        return result

    def refused(self) -> dict[str, int]:
        result: dict[str, int] = self._ask("refused")
        return result

    def subjects(self) -> dict[str, dict[str, int]]:
        """Per recipient, how many accepted messages had each Subject."""
        result: dict[str, dict[str, int]] = self._ask("subjects")
        return result

    def message_ids(self) -> dict[str, dict[str, int]]:
        """Per recipient, how many accepted messages had each Message-ID."""
        result: dict[str, dict[str, int]] = self._ask("message_ids")
        return result

    def stop(self) -> None:
        if self.process.is_alive():
            with contextlib.suppress(OSError), self._lock:
                self._conn.send(("stop", None))
            self.process.join(10)
        if self.process.is_alive():
            self.process.kill()
            self.process.join(5)


# -- The deployment


@dataclass
class Deployment:
    """Start with :meth:`start` (or ``with``); :meth:`stop` stops and removes
    everything, whatever state the run left it in.

    ``settings`` are extra environment variables for every node (for example
    :data:`FAST_SWEEPS`); ``postgres_port`` names another PostgreSQL server on
    loopback than the machine's."""

    workdir: Path
    redis_url: str
    settings: dict[str, str] = field(default_factory=dict)
    worker_count: int = 1
    worker_concurrency: int = 2
    worker_queues: str = "zaytoun,periodic"
    web: WebSettings = field(default_factory=lambda: WebSettings(workers=2, threads=4))
    postgres_port: int = 5432

    database: PostgresDatabase | None = None
    smtp: FaultySmtp = field(init=False)
    gunicorn: Child | None = None
    beat: Child | None = None
    workers: list[Child] = field(default_factory=list)
    env: dict[str, str] = field(default_factory=dict)
    port: int = 0
    app: Flask | None = None
    kills: int = 0
    _children: list[Child] = field(default_factory=list)
    _worker_serial: int = 0

    def __post_init__(self) -> None:
        self.logs = self.workdir / "logs"
        self.smtp = FaultySmtp()

    # -- lifecycle

    def __enter__(self) -> Deployment:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    @property
    def url(self) -> str:
        return f"http://{HOST}:{self.port}"

    def start(self) -> Deployment:
        try:
            self._start()
        except BaseException:
            self.stop()
            raise
        return self

    def _start(self) -> None:
        self.logs.mkdir(parents=True, exist_ok=True)
        self.flush_redis()
        self.smtp.start()
        self.database = PostgresDatabase.create(self.postgres_port)
        self.port = free_port()
        self.env = {
            **base_environment(),
            "DATABASE_URL": self.database.url,
            "REDIS_URL": self.redis_url,
            "SECRET_KEY": generate_key(),
            "PERSONAL_DATA_KEY": generate_key(),
            "LEDGER_SIGNING_KEY": generate_key(),
            "MAIL_SERVER": HOST,
            "MAIL_PORT": str(self.smtp.port),
            "MAIL_TIMEOUT": "5",
            "SITE_URL": self.url,
            # One proxy in front: X-Forwarded-For is the client's address, so
            # that many signers from loopback are not one rate-limited client.
            "TRUSTED_PROXIES": "1",
            "ZAYTOUN_INSTANCE": str(self.workdir / "instance"),
            "PYTHONPATH": os.pathsep.join(filter(None, [str(REPO), os.environ.get("PYTHONPATH")])),
            **self.settings,
        }
        self.app = self._reader_app()
        # Migrated and seeded with the app's own code, in this process: an
        # operator's two `flask` commands would cost two interpreter starts.
        with self.app.app_context():
            upgrade()
            seed()
            db.session.commit()
            db.session.remove()
        self.gunicorn = self._start_child(
            gunicorn("web", "campaigns:create_app()", self.port, self.web, self.env, self.logs)
        )
        self.beat = self._start_child(celery_beat(self.env, self.logs))
        for _ in range(self.worker_count):
            self.add_worker()
        wait_for_port(self.port, READY_TIMEOUT, self.gunicorn.process)
        for worker in self.workers:
            worker.wait_for_log(" ready.", READY_TIMEOUT)

    def _reader_app(self) -> Flask:
        """The app in the test's process, on the same database and keys, with no
        broker: for reading state and making confirmation tokens."""
        assert self.database is not None
        return create_app(
            {
                "SQLALCHEMY_DATABASE_URI": "postgresql+psycopg://"
                + self.database.url.split("://", 1)[1],
                "SECRET_KEY": self.env["SECRET_KEY"],
                "PERSONAL_DATA_KEY": self.env["PERSONAL_DATA_KEY"],
                "SITE_URL": self.url,
                "REDIS_URL": "",
                "TASKS_EAGER": True,
                "EMBEDDED_SCHEDULER": False,
                "INSTANCE_PATH": str(self.workdir / "reader-instance"),
                "MAIL_SERVER": "",
            }
        )

    def _start_child(self, child: Child) -> Child:
        self._children.append(child)
        return child.start()

    def stop(self) -> None:
        """Stop every child (all asked at once, then waited for), the SMTP
        server; flush Redis; drop the database."""
        for child in self._children:
            with contextlib.suppress(Exception):
                child.terminate()
        for child in reversed(self._children):
            with contextlib.suppress(Exception):
                child.stop()
        self._children.clear()
        with contextlib.suppress(Exception):
            self.smtp.stop()
        if self.app is not None:
            with contextlib.suppress(Exception), self.app.app_context():
                db.session.remove()
                db.engine.dispose()
            self.app = None
        with contextlib.suppress(Exception):
            self.flush_redis()
        if self.database is not None:
            self.database.drop()
            self.database = None

    def flush_redis(self) -> None:
        client = redis.Redis.from_url(self.redis_url)
        try:
            client.flushdb()
        finally:
            client.close()

    # -- Celery workers

    def add_worker(self) -> Child:
        """One more ``celery -A workers worker`` (not waited for)."""
        self._worker_serial += 1
        worker = celery_worker(
            f"worker{self._worker_serial}",
            self.worker_queues,
            self.worker_concurrency,
            self.env,
            self.logs,
        )
        self.workers.append(worker)
        return self._start_child(worker)

    def kill_worker(self, worker: Child) -> None:
        """SIGKILL the worker's whole process group (main process and pool), as
        the kernel's OOM killer or a lost machine would, and reap it."""
        process = worker.process
        if process is None or process.poll() is not None:
            raise RuntimeError(f"{worker.name} is not running")
        os.killpg(process.pid, signal.SIGKILL)
        process.wait(15)
        # The pool processes were in the same group; wait until none is left.
        deadline = time.monotonic() + 10
        while _group_alive(process.pid) and time.monotonic() < deadline:
            time.sleep(0.05)
        worker.stop(timeout=1)  # closes its log; the group is already gone
        self.kills += 1

    def restart_worker(self, worker: Child, wait: bool = True) -> Child:
        """Start the same worker command again (same log file, appended)."""
        marker = len(worker.log_text())
        worker.start()
        if wait:
            deadline = time.monotonic() + READY_TIMEOUT
            while " ready." not in worker.log_text()[marker:]:
                if worker.process is not None and worker.process.poll() is not None:
                    raise RuntimeError(f"{worker.name} exited\n{worker.log_tail()}")
                if time.monotonic() > deadline:
                    raise RuntimeError(f"{worker.name} not ready\n{worker.log_tail()}")
                time.sleep(0.1)
        return worker

    def logs_tail(self, lines: int = 40) -> str:
        """The end of every child's log, for a failure message."""
        children = [c for c in (self.gunicorn, self.beat, *self.workers) if c is not None]
        return "\n".join(f"--- {c.name} ---\n{c.log_tail(lines)}" for c in children)


def _group_alive(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


# -- Reading the pipeline's state


def campaign_state(site: Deployment, slug: str) -> dict[str, int]:
    """How far the pipeline got with a campaign's web signatures, and what the
    count tables and the outbox say (one snapshot, read with plain SQL)."""
    assert site.database is not None
    with site.database.connect() as conn:
        row = conn.execute(
            """
            SELECT count(*),
                   count(s.checked_at),
                   count(*) FILTER (WHERE s.state = 'fraudulent'),
                   count(*) FILTER (WHERE s.state = 'validated'),
                   count(*) FILTER (WHERE s.state = 'pending' AND s.checked_at IS NOT NULL),
                   count(*) FILTER (WHERE s.counted IS DISTINCT FROM (s.state = 'validated')),
                   c.id
            FROM campaigns c LEFT JOIN signatures s
              ON s.campaign_id = c.id AND s.source = 'web'
            WHERE c.slug = %s
            GROUP BY c.id
            """,
            (slug,),
        ).fetchone()
        assert row is not None, f"no campaign {slug}"
        cid = row[6]
        emails = conn.execute(
            """
            SELECT count(*),
                   count(*) FILTER (WHERE status = 'sent'),
                   count(*) FILTER (WHERE status = 'failed'),
                   count(DISTINCT signature_id)
            FROM email_log e JOIN signatures s ON s.id = e.signature_id
            WHERE s.campaign_id = %s AND e.kind = 'confirm'
            """,
            (cid,),
        ).fetchone()
        assert emails is not None

        def one(sql: str) -> int:
            found = conn.execute(sql, (cid,)).fetchone()
            return int(found[0] or 0) if found else 0

        return {
            "stored": row[0],
            "checked": row[1],
            "fraudulent": row[2],
            "validated": row[3],
            "awaiting_confirmation": row[4],
            "count_flag_behind": row[5],
            "confirm_emails": emails[0],
            "confirm_emails_sent": emails[1],
            "confirm_emails_failed": emails[2],
            "signatures_emailed": emails[3],
            "outbox": one("SELECT count(*) FROM outbox WHERE %s IS NOT NULL"),
            "campaign_counts": one("SELECT signers FROM campaign_counts WHERE campaign_id = %s"),
            "country_counts": one("SELECT sum(signers) FROM country_counts WHERE campaign_id = %s"),
            "daily_counts": one("SELECT sum(signers) FROM daily_counts WHERE campaign_id = %s"),
            "region_counts": one("SELECT sum(signers) FROM region_counts WHERE campaign_id = %s"),
        }


def email_rows(site: Deployment, signature_ids: list[int]) -> list[dict[str, Any]]:
    """The email log rows of these signatures (no address: the log holds none)."""
    assert site.database is not None
    with site.database.connect() as conn:
        rows = conn.execute(
            """
            SELECT id, signature_id, kind, status, attempts, last_error, created_at, sent_at,
                   next_attempt_at
            FROM email_log WHERE signature_id = ANY(%s) ORDER BY id
            """,
            (signature_ids,),
        ).fetchall()
    names = (
        "id", "signature_id", "kind", "status", "attempts", "last_error", "created", "sent",
        "next_attempt_at",
    )
    return [dict(zip(names, row, strict=True)) for row in rows]


def signer_emails(site: Deployment, slug: str) -> dict[int, str]:
    """Signature id → the signer's email address, decrypted with the app's code."""
    from sqlalchemy import select

    from campaigns.models import Campaign, Signature, SignatureSource
    from campaigns.privacy.personal import read_personal_data

    assert site.app is not None
    with site.app.app_context():
        rows = db.session.execute(
            select(Signature)
            .join(Campaign, Campaign.id == Signature.campaign_id)
            .where(Campaign.slug == slug, Signature.source == SignatureSource.web)
        ).scalars()
        found = {s.id: (read_personal_data(s)["email"] or "").lower() for s in rows}
        db.session.remove()
    return found


def count_shown(site: Deployment, slug: str) -> int:
    """The signers the public count JSON shows."""
    import json
    import urllib.request

    url = f"{site.url}/api/v1/campaigns/{slug}/count"
    with urllib.request.urlopen(url, timeout=10) as answer:  # noqa: S310 (loopback)
        return int(json.loads(answer.read())["signers"])


def wait_until(check: Any, timeout: float, interval: float = 0.5) -> tuple[bool, float]:
    """Poll ``check()`` until true or ``timeout``; returns (done, seconds waited)."""
    started = time.monotonic()
    while True:
        if check():
            return True, time.monotonic() - started
        if time.monotonic() - started > timeout:
            return False, time.monotonic() - started
        time.sleep(interval)


# -- The workload: signers sign over HTTP and press their confirmation buttons


@dataclass
class Workload:
    """``signers`` new signers sign ``slug`` over HTTP (the form with its CSRF
    token, each from its own client address: the harness's :class:`Signing`),
    and each signature the workers have checked is confirmed as its signer's
    browser would: a POST of the confirmation link with the CSRF token of the
    session (the link's token made with the app's own code from the
    signature's UUID, as the email carries it). :attr:`progress` goes from 0
    to 1 as signatures are answered and confirmed; :meth:`run` returns once
    every stored signature is validated (or fraudulent), or at ``timeout``."""

    site: Deployment
    slug: str
    signers: int
    sign_concurrency: int = 8
    confirm_concurrency: int = 4
    tag: str = field(default_factory=lambda: uuid.uuid4().hex[:8])
    signing: Signing = field(init=False)
    sign_result: LoadResult | None = None
    confirmed: int = 0
    confirm_statuses: Counter[int] = field(default_factory=Counter)
    confirm_errors: Counter[str] = field(default_factory=Counter)
    signing_done: bool = False
    finished: bool = False  # every stored signature validated (or fraudulent)
    done: bool = False  # run() returned, finished or not
    last_state: dict[str, int] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.signing = Signing(self.site.port, self.slug, self.tag)

    @property
    def progress(self) -> float:
        return (self.signing.answered_303 + self.confirmed) / (2 * self.signers)

    async def run(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        try:
            await asyncio.gather(self._sign(timeout), self._confirm(deadline))
        finally:
            self.done = True

    async def _sign(self, timeout: float) -> None:
        try:
            self.sign_result = await run_load(
                "sign",
                self.site.port,
                self.signing.request,
                concurrency=self.sign_concurrency,
                duration=timeout,
                max_requests=self.signers,
                expect=frozenset({303}),
                prepare=self.signing.prepare,
                on_answer=self.signing.count_answer,
            )
        finally:
            self.signing_done = True

    def _checked(self, skip: set[int]) -> list[tuple[int, str]]:
        """Signatures checked by a worker and still pending: (id, confirm path)."""
        from campaigns.signing.tokens import make_confirm_token

        assert self.site.database is not None and self.site.app is not None
        with self.site.database.connect() as conn:
            rows = conn.execute(
                """
                SELECT s.id, s.uuid, s.locale FROM signatures s
                JOIN campaigns c ON c.id = s.campaign_id
                WHERE c.slug = %s AND s.state = 'pending' AND s.checked_at IS NOT NULL
                ORDER BY s.id LIMIT 1000
                """,
                (self.slug,),
            ).fetchall()
        with self.site.app.app_context():
            return [
                (sid, f"/{locale}/confirm/{make_confirm_token(sig_uuid)}")
                for sid, sig_uuid, locale in rows
                if sid not in skip
            ]

    def _all_settled(self) -> bool:
        state = campaign_state(self.site, self.slug)
        self.last_state = state
        return (
            state["stored"] >= self.signing.answered_303
            and state["validated"] + state["fraudulent"] == state["stored"]
        )

    async def _confirm(self, deadline: float) -> None:
        queue: asyncio.Queue[tuple[int, str]] = asyncio.Queue()
        in_flight: set[int] = set()
        stop = asyncio.Event()

        async def press(user_index: int) -> None:
            conn: Connection | None = None
            cookie = token = ""
            while not stop.is_set():
                try:
                    sid, path = await asyncio.wait_for(queue.get(), 0.2)
                except TimeoutError:
                    continue
                try:
                    if conn is None or conn.closed:
                        conn = await Connection.open(HOST, self.site.port)
                        page = await asyncio.wait_for(
                            conn.request(build("GET", self.signing.page, self.site.port)), 30
                        )
                        cookie, token = session_cookie(page), csrf_token(page)
                    answer = await asyncio.wait_for(
                        conn.request(
                            build(
                                "POST",
                                path,
                                self.site.port,
                                body=f"csrf_token={token}".encode(),
                                headers={"Cookie": cookie},
                            )
                        ),
                        30,
                    )
                    self.confirm_statuses[answer.status] += 1
                    if answer.status == 303:
                        self.confirmed += 1
                except Exception as exc:  # counted; this browser carries on
                    self.confirm_errors[type(exc).__name__] += 1
                    if conn is not None:
                        conn.abort()
                    conn = None
                finally:
                    # Not confirmed (an error page, a lost connection): it comes
                    # back with the next poll, still pending.
                    in_flight.discard(sid)

        users = [asyncio.create_task(press(i)) for i in range(self.confirm_concurrency)]
        try:
            while time.monotonic() < deadline:
                idle = queue.empty() and not in_flight and self.signing_done
                if idle and await asyncio.to_thread(self._all_settled):
                    self.finished = True
                    break
                for sid, path in await asyncio.to_thread(self._checked, set(in_flight)):
                    in_flight.add(sid)
                    queue.put_nowait((sid, path))
                await asyncio.sleep(0.2)
        finally:
            stop.set()
            await asyncio.gather(*users, return_exceptions=True)


# -- A Redis proxy that delivers every task message twice


def _serve_doubling_proxy(
    port: int, redis_host: str, redis_port: int, redis_db: int, conn: Any
) -> None:
    import json as json_module

    import redis.asyncio as aioredis

    doubled: Counter[str] = Counter()
    failures: Counter[str] = Counter()

    def commands(buffer: bytearray) -> list[tuple[list[bytes], bytes]]:
        """Complete RESP commands at the head of ``buffer`` (removed from it):
        each as its arguments and its raw bytes."""
        found = []
        while buffer:
            if buffer[:1] != b"*":  # an inline command: pass it on whole
                end = buffer.find(b"\r\n")
                if end < 0:
                    break
                raw = bytes(buffer[: end + 2])
                del buffer[: end + 2]
                found.append(([], raw))
                continue
            at = buffer.find(b"\r\n")
            if at < 0:
                break
            count, pos, args = int(buffer[1:at]), at + 2, []
            for _ in range(count):
                end = buffer.find(b"\r\n", pos)
                if end < 0:
                    return found
                length = int(buffer[pos + 1 : end])
                if len(buffer) < end + 2 + length + 2:
                    return found
                args.append(bytes(buffer[end + 2 : end + 2 + length]))
                pos = end + 2 + length + 2
            found.append((args, bytes(buffer[:pos])))
            del buffer[:pos]
        return found

    async def run() -> None:
        side = aioredis.Redis(host=redis_host, port=redis_port, db=redis_db)

        async def duplicate(key: bytes, payloads: list[bytes]) -> None:
            for payload in payloads:
                try:
                    message = json_module.loads(payload)
                    # A delivery of its own (a new tag), the same task message.
                    message["properties"]["delivery_tag"] = str(uuid.uuid4())
                    await side.lpush(key, json_module.dumps(message))
                    doubled[str(message.get("headers", {}).get("task", "?"))] += 1
                except Exception as exc:  # counted, and the test fails on it
                    failures[type(exc).__name__] += 1

        async def pipe_down(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            with contextlib.suppress(OSError, ConnectionError, asyncio.CancelledError):
                while data := await reader.read(65536):
                    writer.write(data)
                    await writer.drain()
            writer.close()

        async def client(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            up_reader, up_writer = await asyncio.open_connection(redis_host, redis_port)
            down = asyncio.create_task(pipe_down(up_reader, writer))
            buffer = bytearray()
            try:
                while data := await reader.read(65536):
                    buffer += data
                    pushes = []
                    for args, raw in commands(buffer):
                        up_writer.write(raw)
                        # Task messages: LPUSH onto a queue's list (not kombu's own keys).
                        if args and args[0].upper() == b"LPUSH" and not args[1].startswith(b"_"):
                            pushes.append((args[1], args[2:]))
                    await up_writer.drain()
                    for key, payloads in pushes:
                        await duplicate(key, payloads)
            except (OSError, ConnectionError, asyncio.CancelledError):
                pass  # the client left, or the proxy is stopping
            finally:
                up_writer.close()
                down.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await down

        server = await asyncio.start_server(client, HOST, port)
        loop = asyncio.get_running_loop()
        conn.send("ready")
        async with server:
            while True:
                command = await loop.run_in_executor(None, conn.recv)
                if command == "stop":
                    break
                conn.send({"doubled": dict(doubled), "failures": dict(failures)})
        await side.aclose()

    with contextlib.suppress(EOFError):
        run_async(run())


class DoublingRedisProxy:
    """A TCP proxy in front of Redis, in a process of its own: every command
    passes through unchanged, and every task message pushed onto a queue
    (``LPUSH``) is pushed a second time, as a broker that delivers twice
    would. The nodes use :attr:`url` as their ``REDIS_URL``."""

    def __init__(self, redis_url: str) -> None:
        from urllib.parse import urlsplit

        target = urlsplit(redis_url)
        self.db = int((target.path or "/0").lstrip("/") or 0)
        self.port = free_port()
        context = multiprocessing.get_context("spawn")
        self._conn, child = context.Pipe()
        self.process = context.Process(
            target=_serve_doubling_proxy,
            args=(self.port, target.hostname, target.port or 6379, self.db, child),
            name="chaos-redis-doubler",
            daemon=True,
        )

    @property
    def url(self) -> str:
        return f"redis://{HOST}:{self.port}/{self.db}"

    def start(self, timeout: float = 120) -> DoublingRedisProxy:
        self.process.start()
        if not self._conn.poll(timeout):
            raise RuntimeError("the Redis proxy did not start")
        self._conn.recv()
        return self

    def stats(self) -> dict[str, dict[str, int]]:
        """Task messages pushed twice, per task name; failures to do so."""
        self._conn.send("stats")
        if not self._conn.poll(30):
            raise RuntimeError("the Redis proxy does not answer")
        result: dict[str, dict[str, int]] = self._conn.recv()
        return result

    def stop(self) -> None:
        if self.process.is_alive():
            with contextlib.suppress(OSError):
                self._conn.send("stop")
            self.process.join(10)
        if self.process.is_alive():
            self.process.kill()
            self.process.join(5)
