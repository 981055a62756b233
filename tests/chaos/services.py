"""Redis and PostgreSQL servers of the fault tests' own, on loopback, that a
test may kill and restart (the machine's own services are never touched), and
what the Redis and PostgreSQL fault tests share: the signing load with its
faults, the confirmation of every signature, and the checks of what the
database and the SMTP server hold afterwards.

The deployment around them (gunicorn, Celery workers and beat, the SMTP
server) is ``tests/chaos/deployment.py``; the HTTP load generator and the sign
requests are the benchmark harness's (``benchmarks/harness``)."""

from __future__ import annotations

import asyncio
import contextlib
import http.client
import json
import os
import pwd
import re
import shutil
import signal
import subprocess
import tempfile
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psycopg
import pytest
import redis
from babel.support import Translations
from sqlalchemy import func, select

from benchmarks.harness import data
from benchmarks.harness.http import LoadResult, Response, VirtualUser, build, form, run_load
from benchmarks.harness.scenarios import LANG, Signing
from benchmarks.harness.stack import HOST, REPO, free_port
from campaigns.extensions import db
from campaigns.models import CampaignCount, EmailKind, EmailLog, Signature
from campaigns.signing.services import email_fingerprint
from campaigns.signing.tokens import make_confirm_token
from tests.chaos.deployment import Deployment, run_async

SLUG = "no-russia-on-hrc"
# What the recovery sweeps wait for, shortened so that a test sees them act
# within its time (the code path is the same; the app's defaults are minutes).
SWEEPS = {
    "MAIL_DELIVER_SECONDS": "2",
    "MAIL_RETRY_SECONDS": "2",
    "MAIL_LEASE_SECONDS": "30",
    "REQUEUE_INTERVAL_SECONDS": "5",
    "REQUEUE_STALE_SECONDS": "45",
}
TRANSLATIONS = REPO / "campaigns" / "translations"
HTML_LANG = re.compile(r'<html[^>]*\blang="([^"]+)"')
ROUTES = (
    f"/{LANG}/",
    f"/{LANG}/campaigns/{SLUG}",
    f"/{LANG}/campaigns/{SLUG}/results",
    f"/{LANG}/campaigns/{SLUG}/share.png",
    f"/embed/{SLUG}?lang={LANG}",
    "/api/v1/campaigns",
    f"/api/v1/campaigns/{SLUG}",
    f"/api/v1/campaigns/{SLUG}/count",
)


def require_binary(name: str) -> str:
    """The executable's path; skips (fails when CI=true) when it is not installed."""
    found = shutil.which(name)
    if found:
        return found
    message = f"{name} is not installed; the fault tests start a server of their own"
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(f"CI=true and {message}", pytrace=False)
    pytest.skip(message)


# -- Redis


class RedisServer:
    """A redis-server of our own, set up as docs/production.md says production
    runs it, killed with SIGKILL and restarted on the same port and directory."""

    def __init__(self, directory: Path) -> None:
        self.binary = require_binary("redis-server")
        self.directory = directory
        self.directory.mkdir(parents=True, exist_ok=True)
        self.port = free_port()
        self.process: subprocess.Popen[bytes] | None = None
        self.kills = 0
        self.restarts = 0

    @property
    def url(self) -> str:
        return f"redis://{HOST}:{self.port}/0"

    def start(self, timeout: float = 20) -> None:
        with open(self.directory / "redis.log", "ab") as log:
            self.process = subprocess.Popen(
                [
                    self.binary,
                    "--bind", HOST,
                    "--port", str(self.port),
                    "--dir", str(self.directory),
                    "--appendonly", "yes",
                    "--appendfsync", "everysec",
                    "--maxmemory-policy", "noeviction",
                    "--save", "",
                    "--daemonize", "no",
                ],
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        deadline = time.monotonic() + timeout
        while not self.ping():
            if self.process.poll() is not None:
                raise RuntimeError(f"redis-server exited with {self.process.returncode}")
            if time.monotonic() > deadline:
                raise RuntimeError(f"redis-server does not answer after {timeout} s")
            time.sleep(0.05)

    def ping(self) -> bool:
        client = redis.Redis(host=HOST, port=self.port, socket_timeout=0.5)
        try:
            return bool(client.ping())
        except redis.RedisError:
            return False
        finally:
            client.close()

    def kill(self) -> None:
        """SIGKILL: no shutdown, no last write, as a crash or the OOM killer."""
        if self.process is None or self.process.poll() is not None:
            raise RuntimeError("redis-server is not running")
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(10)
        self.kills += 1

    def restart(self) -> None:
        self.start()
        self.restarts += 1

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL)
            self.process.wait(10)


# -- PostgreSQL


def postgres_bin() -> Path:
    """The newest installed PostgreSQL's binaries."""
    found = sorted(
        Path("/usr/lib/postgresql").glob("*/bin/initdb"),
        key=lambda p: int(p.parent.parent.name) if p.parent.parent.name.isdigit() else 0,
    )
    if not found:
        require_binary("initdb")
    return found[-1].parent if found else Path(require_binary("initdb")).parent


class PostgresCluster:
    """A PostgreSQL cluster of our own: initdb in a temporary directory, trust
    auth, a free loopback port. As root it runs as the ``postgres`` user, which
    owns its directory."""

    def __init__(self) -> None:
        self.bin = postgres_bin()
        self.port = free_port()
        self.as_root = os.geteuid() == 0
        self.directory = Path(tempfile.mkdtemp(prefix="zaytoun-chaos-pg-"))
        self.data = self.directory / "data"
        self.log = self.directory / "postgres.log"
        if self.as_root:
            owner = pwd.getpwnam("postgres")
            os.chown(self.directory, owner.pw_uid, owner.pw_gid)

    def _run(self, *args: str, timeout: float = 120) -> str:
        command = [str(self.bin / args[0]), *args[1:]]
        if self.as_root:
            command = ["runuser", "-u", "postgres", "--", *command]
        done = subprocess.run(
            command,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
            stdin=subprocess.DEVNULL,
            cwd=self.directory,
        )
        if done.returncode != 0:
            raise RuntimeError(f"{' '.join(args)} failed:\n{done.stdout}\n{done.stderr}")
        return done.stdout

    def init(self) -> None:
        self._run(
            "initdb", "-D", str(self.data), "-A", "trust", "-U", "postgres",
            "-E", "UTF8", "--locale=C.UTF-8", "--no-sync",
        )
        with open(self.data / "postgresql.conf", "a") as conf:
            conf.write(
                f"\nport = {self.port}\nlisten_addresses = '{HOST}'\n"
                f"unix_socket_directories = '{self.directory}'\n"
                "max_connections = 200\nshared_buffers = 32MB\n"
            )

    def start(self) -> None:
        self._run("pg_ctl", "-D", str(self.data), "-l", str(self.log), "-w", "-t", "60", "start")

    def stop(self, mode: str = "fast") -> None:
        self._run("pg_ctl", "-D", str(self.data), "-m", mode, "-w", "-t", "60", "stop")

    def accepts(self) -> bool:
        try:
            with psycopg.connect(self.url(), connect_timeout=2) as conn:
                conn.execute("SELECT 1")
            return True
        except psycopg.Error:
            return False

    def url(self, database: str = "postgres") -> str:
        return f"postgresql://postgres@{HOST}:{self.port}/{database}"

    def destroy(self) -> None:
        with contextlib.suppress(Exception):
            self.stop("immediate")
        shutil.rmtree(self.directory, ignore_errors=True)

    def log_tail(self, lines: int = 30) -> str:
        try:
            return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""


# -- the signing load and its faults


class _Serial:
    """The signer numbers handed out, the last one readable."""

    def __init__(self) -> None:
        self.last = -1

    def __iter__(self) -> _Serial:
        return self

    def __next__(self) -> int:
        self.last += 1
        return self.last


@dataclass
class Fault:
    """One outage: when it began and ended (time.monotonic()), and what the
    sign POSTs sent and answered within it got."""

    number: int
    began: float = 0.0
    ended: float = 0.0  # the service answers again
    answers: Counter[int] = field(default_factory=Counter)
    recovered_after: float | None = None  # from ``ended`` to the next 303

    def summary(self) -> dict[str, Any]:
        return {
            "down_seconds": round(self.ended - self.began, 2),
            "answers_while_down": dict(sorted(self.answers.items())),
            "first_303_after_back_s": None
            if self.recovered_after is None
            else round(self.recovered_after, 2),
        }


@dataclass
class SigningLoad:
    """Sign POSTs on the deployment, each from a new signer, while a fault is
    injected at set points; remembers which signer got which answer."""

    site: Deployment
    tag: str
    check_answer: Callable[[Response], None] | None = None
    signing: Signing = field(init=False)
    serial: _Serial = field(default_factory=_Serial)
    accepted: set[int] = field(default_factory=set)  # signers answered 303
    answered: dict[int, int] = field(default_factory=dict)  # signer → status
    faults: list[Fault] = field(default_factory=list)
    current: Fault | None = None
    problems: list[str] = field(default_factory=list)
    # Each virtual user's cookie and CSRF token, kept for later runs: a page
    # fetched right after a fault may itself answer 503.
    credentials: list[dict[str, Any]] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.signing = Signing(self.site.port, SLUG, self.tag)
        self.signing.serial = self.serial  # type: ignore[assignment]

    def email(self, n: int) -> str:
        return self.signing.email(n)

    async def prepare(self, user: VirtualUser) -> None:
        if user.index < len(self.credentials):
            user.state.update(self.credentials[user.index])
            return
        await self.signing.prepare(user)
        self.credentials.append({k: user.state[k] for k in ("cookie", "token")})

    def request(self, user: VirtualUser, ticket: int) -> bytes:
        body = self.signing.request(user, ticket)
        user.state["n"] = self.serial.last
        user.state["fault"] = self.current
        return body

    def answer(self, user: VirtualUser, response: Response) -> None:
        n = user.state["n"]
        self.answered[n] = response.status
        fault = user.state["fault"]
        if fault is not None and fault is self.current:
            fault.answers[response.status] += 1
        if response.status == 303:
            self.accepted.add(n)
            last = self.faults[-1] if self.faults else None
            if last is not None and last.ended and last.recovered_after is None:
                last.recovered_after = time.monotonic() - last.ended
        if self.check_answer is not None:
            try:
                self.check_answer(response)
            except AssertionError as exc:
                self.problems.append(str(exc))

    def outage(self, take_down: Callable[[], None], bring_back: Callable[[], None]) -> Fault:
        """Take the service down, wait, bring it back (blocking: run in a thread)."""
        fault = Fault(len(self.faults) + 1, began=time.monotonic())
        self.faults.append(fault)
        self.current = fault
        try:
            take_down()
        finally:
            self.current = None
            bring_back()
            fault.ended = time.monotonic()
        return fault

    async def run(
        self,
        count: int,
        strike_at: list[int],
        strike: Callable[[], None],
        expect: frozenset[int],
        concurrency: int = 12,
        bound: float = 900,
        after: int = 0,
        pause_after: Callable[[Response], float] | None = None,
    ) -> list[LoadResult]:
        """``count`` sign POSTs; when ``strike_at[i]`` of them are answered,
        ``strike()`` runs in a thread (the load goes on meanwhile). Then
        ``after`` more, once the last fault is over."""

        def sign(requests: int) -> Any:
            return run_load(
                "sign",
                self.site.port,
                self.request,
                concurrency=concurrency,
                duration=bound,
                max_requests=requests,
                expect=expect,
                prepare=self.prepare,
                on_answer=self.answer,
                pause_after=pause_after,
            )

        load = asyncio.create_task(sign(count))
        for threshold in strike_at:
            while len(self.answered) < threshold and not load.done():
                await asyncio.sleep(0.02)
            if load.done():
                break
            await asyncio.to_thread(strike)
        results = [await load]
        if after:
            results.append(await sign(after))
        return results


async def confirm_all(site: Deployment, paths: list[str], concurrency: int = 8) -> LoadResult:
    """Press every confirmation button (POST, with a page's CSRF token), as
    the signers would from their emails."""
    signing = Signing(site.port, SLUG, "confirm")

    def request(user: VirtualUser, ticket: int) -> bytes:
        return build(
            "POST",
            paths[ticket],
            site.port,
            body=f"csrf_token={user.state['token']}".encode(),
            headers={"Cookie": user.state["cookie"]},
        )

    return await run_load(
        "confirm",
        site.port,
        request,
        concurrency=concurrency,
        duration=900,
        max_requests=len(paths),
        expect=frozenset({303}),
        prepare=signing.prepare,
    )


# -- what the database and the SMTP server hold


def pipeline_state(site: Deployment) -> dict[str, int]:
    """How far the pipeline got with the campaign's web signatures, and its count."""
    assert site.app is not None
    with site.app.app_context():
        state = data.pipeline_state(SLUG)
        cid = data.campaign_id(SLUG)
        counted = db.session.execute(
            select(CampaignCount.signers).where(CampaignCount.campaign_id == cid)
        ).scalar()
        other_emails = db.session.execute(
            select(func.count())
            .select_from(EmailLog)
            .join(Signature, Signature.id == EmailLog.signature_id)
            .where(Signature.campaign_id == cid, EmailLog.kind != EmailKind.confirm)
        ).scalar_one()
        db.session.rollback()
    return {**state, "counted_signers": int(counted or 0), "other_emails": int(other_emails)}


def wait_for_drain(site: Deployment, timeout: float) -> tuple[dict[str, int], float]:
    """Until every stored signature is checked, its confirmation sent and
    accepted by the SMTP server, and the outbox empty."""
    started = time.monotonic()
    while True:
        state = pipeline_state(site)
        if (
            state["checked"] == state["stored"]
            and state["confirm_emails_sent"] == state["stored"] - state["fraudulent"]
            and state["outbox"] == 0
            and site.smtp.messages >= state["confirm_emails_sent"]
        ):
            return state, time.monotonic() - started
        if time.monotonic() - started > timeout:
            pytest.fail(
                f"the pipeline did not drain in {timeout} s: {state}, SMTP accepted "
                f"{site.smtp.messages}\n{site.logs_tail()}",
                pytrace=False,
            )
        time.sleep(0.5)


def wait_for_counts(site: Deployment, validated: int, timeout: float) -> dict[str, int]:
    """Until the campaign's count shows every validated signature."""
    started = time.monotonic()
    while True:
        state = pipeline_state(site)
        if state["validated"] == validated and state["counted_signers"] == validated:
            return state
        if time.monotonic() - started > timeout:
            pytest.fail(f"counts did not reach {validated} in {timeout} s: {state}", pytrace=False)
        time.sleep(0.5)


def stored_signers(site: Deployment, load: SigningLoad) -> set[int]:
    """Which of the load's signers have a signature row (by keyed fingerprint)."""
    assert site.app is not None
    with site.app.app_context():
        cid = data.campaign_id(SLUG)
        stored = set(
            db.session.execute(
                select(Signature.fingerprint).where(Signature.campaign_id == cid)
            ).scalars()
        )
        db.session.rollback()
        return {n for n in load.answered if email_fingerprint(load.email(n)) in stored}


def confirmation_paths(site: Deployment) -> list[str]:
    """The link of each stored signature's confirmation email (the token is
    made with the deployment's key from the signature's UUID, as the email's is)."""
    assert site.app is not None
    with site.app.app_context():
        cid = data.campaign_id(SLUG)
        uuids = db.session.execute(
            select(Signature.uuid).where(Signature.campaign_id == cid)
        ).scalars().all()
        db.session.rollback()
        return [f"/{LANG}/confirm/{make_confirm_token(u)}" for u in uuids]


def check_emails(site: Deployment, load: SigningLoad, stored: set[int]) -> dict[str, int]:
    """Exactly one message per stored signer at the SMTP server, none to
    anyone else; returns the SMTP server's figures."""
    received = site.smtp.received([load.email(n) for n in load.answered])
    missing = sorted(n for n in stored if received[load.email(n)] == 0)
    doubled = sorted(n for n in stored if received[load.email(n)] > 1)
    unexpected = sorted(
        n for n in load.answered if n not in stored and received[load.email(n)] > 0
    )
    assert not missing, f"{len(missing)} stored signers got no email, e.g. {missing[:5]}"
    assert not doubled, f"{len(doubled)} signers got more than one email, e.g. {doubled[:5]}"
    assert not unexpected, f"{len(unexpected)} signers without a row got email: {unexpected[:5]}"
    return site.smtp.stats()


# -- the Redis and PostgreSQL fault tests' frame


@dataclass(frozen=True)
class Plan:
    """How hard a fault test pushes: sign POSTs, outages (restarts or kills),
    how long each lasts, and how long the pipeline may take to drain after."""

    signings: int
    faults: int
    down_seconds: float
    drain_timeout: float


def short_and_long(short: Plan, long: Plan) -> pytest.MarkDecorator:
    """The short version runs in ``make test``, the long one in ``make chaos``."""
    return pytest.mark.parametrize(
        "plan",
        [pytest.param(short, id="short"), pytest.param(long, id="long", marks=pytest.mark.chaos)],
    )


def run_with_faults(
    name: str,
    plan: Plan,
    workdir: Path,
    sign_through: Callable[[Deployment, RedisServer], dict[str, object]],
    **options: Any,
) -> None:
    """Start the whole deployment (sweeps shortened) on a redis-server of the
    test's own, which ``sign_through`` may kill; print the figures it returns."""
    broker = RedisServer(workdir / "redis")
    broker.start()
    try:
        with Deployment(
            workdir / "site", redis_url=broker.url, settings=SWEEPS, **options
        ) as site:
            figures = sign_through(site, broker)
    finally:
        broker.stop()
    print(f"\n{name} faults ({plan.signings} signings): {json.dumps(figures, indent=1)}")


def check_drained_and_counted(
    site: Deployment, load: SigningLoad, stored: set[int], timeout: float
) -> tuple[dict[str, int], dict[str, object]]:
    """Once the service is back: every stored signature checked and emailed
    exactly once, the outbox empty; then every signer presses the button in
    their email and all are validated and counted, with no "already signed"
    email (a doubled signature). Returns the SMTP server's figures and the
    report's."""
    state, drain_seconds = wait_for_drain(site, timeout)
    assert state["stored"] == len(stored), f"rows other than the stored signers': {state}"
    assert state["fraudulent"] == 0, state
    smtp = check_emails(site, load, stored)
    assert smtp["messages"] == state["stored"], smtp
    assert smtp["recipients_more_than_once"] == 0, smtp

    confirmed = run_async(confirm_all(site, confirmation_paths(site)))
    assert not confirmed.errors, dict(confirmed.errors)
    final = wait_for_counts(site, len(stored), timeout)
    assert final["confirm_emails"] == final["signatures_emailed"] == final["stored"], final
    assert final["other_emails"] == 0, f"'already signed' emails: a signature doubled: {final}"
    assert final["outbox"] == 0, final
    return smtp, {
        "drain_seconds_after_load": round(drain_seconds, 1),
        "stored": state["stored"],
        "emails_accepted_by_smtp": smtp["messages"],
        "recipients_emailed_twice": smtp["recipients_more_than_once"],
        "confirmed_303": confirmed.ok,
        "validated": final["validated"],
        "counted_signers": final["counted_signers"],
        "duplicate_notices": final["other_emails"],
        "outbox_left": final["outbox"],
        "pipeline": pipeline_state(site),
    }


@dataclass
class Answer:
    status: int
    headers: dict[str, str]
    body: bytes


def _request(port: int, method: str, path: str, body: bytes, headers: dict[str, str]) -> Answer:
    conn = http.client.HTTPConnection(HOST, port, timeout=30)
    try:
        conn.request(method, path, body=body or None, headers=headers)
        response = conn.getresponse()
        found: dict[str, str] = {}
        for name, value in response.getheaders():
            name = name.lower()
            found[name] = f"{found[name]}\n{value}" if name in found else value
        return Answer(response.status, found, response.read())
    finally:
        conn.close()


def get(port: int, path: str, headers: dict[str, str] | None = None) -> Answer:
    """One GET on a fresh connection, redirects not followed (blocking)."""
    return _request(port, "GET", path, b"", headers or {})


def post(port: int, path: str, fields: dict[str, str], cookie: str) -> Answer:
    """One form POST on a fresh connection, redirects not followed (blocking)."""
    headers = {"Content-Type": "application/x-www-form-urlencoded", "Cookie": cookie}
    return _request(port, "POST", path, form(fields), headers)


def cookie_of(answer: Answer) -> str:
    """The Cookie header a browser sends back after this answer."""
    cookies = [v.split(";", 1)[0] for v in answer.headers.get("set-cookie", "").split("\n") if v]
    assert cookies, f"no cookie set (status {answer.status})"
    return "; ".join(cookies)


def try_again_title(lang: str) -> str:
    """The translated title of the "try again" page."""
    return str(Translations.load(str(TRANSLATIONS), [lang]).gettext("Please try again in a moment"))


def check_unavailable(answer: Answer | Response, what: str) -> None:
    """A 503 is the clear "try again" answer: Retry-After, and the translated
    page (JSON for the API: ``what`` names the path), never a stack trace."""
    if isinstance(answer, Response):
        headers = {n: (answer.header(n) or [""])[0] for n in ("retry-after", "content-type")}
        answer = Answer(answer.status, headers, answer.body)
    assert answer.status == 503, f"{what}: {answer.status}"
    retry_after = answer.headers.get("retry-after", "")
    assert retry_after.isdigit(), f"{what}: 503 without Retry-After"
    body = answer.body.decode("utf-8", "replace")
    assert "Traceback" not in body and "sqlalchemy" not in body.lower(), f"{what}: {body[:300]}"
    if "/api/" in what:
        # API clients get JSON, as for any other error of the API.
        assert answer.headers.get("content-type", "").startswith("application/json"), what
        assert json.loads(body) == {"error": "unavailable"}, f"{what}: {body[:300]}"
        return
    found = HTML_LANG.search(body)
    assert found is not None, f"{what}: 503 is not the site's page: {body[:300]}"
    title = try_again_title(found.group(1))
    assert title in body, f"{what}: 503 page without {title!r}: {body[:300]}"
    if found.group(1) != "en":
        assert title != "Please try again in a moment", f"{what}: untranslated 503 page"
