"""PostgreSQL restarted (``pg_ctl stop -m fast``, a few seconds down, start)
under the site, on a cluster of the tests' own (docs/production.md,
"PostgreSQL").

While it is down every answer is the normal one or the translated 503 "try
again" page with Retry-After (JSON for the API), on the public pages, the
console and the API, never a stack trace or a bare 500; once it is back the
site recovers by itself (the same gunicorn and Celery processes), every
signature answered 303 is stored, emailed once, confirmed and counted, and
nothing is doubled. The short version runs in ``make test``, the long one in
``make chaos``."""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pyotp
import pytest
from flask import Flask
from flask_migrate import upgrade
from sqlalchemy import event, func, select

from benchmarks.harness.http import Response
from benchmarks.harness.scenarios import CSRF, LANG
from campaigns import create_app
from campaigns.accounts.services import create_user
from campaigns.extensions import db
from campaigns.models import Organization, Role, Signature
from campaigns.seed import seed
from tests.chaos.deployment import Deployment, PostgresDatabase, run_async
from tests.chaos.services import (
    ROUTES,
    SLUG,
    Answer,
    Plan,
    PostgresCluster,
    SigningLoad,
    check_drained_and_counted,
    check_unavailable,
    cookie_of,
    get,
    post,
    run_with_faults,
    short_and_long,
    stored_signers,
)
from tests.conftest import base_config
from tests.factories import give_second_factor

CONSOLE_EMAIL = "organizer@zaytoun-chaos.org"
CONSOLE_PASSWORD = "a long console password 1"
NORMAL = frozenset({200, 302, 303, 304})

SHORT = Plan(signings=200, faults=1, down_seconds=3, drain_timeout=180)
LONG = Plan(signings=3_000, faults=3, down_seconds=4, drain_timeout=900)


@pytest.fixture(scope="module")
def cluster() -> Iterator[PostgresCluster]:
    server = PostgresCluster()
    try:
        server.init()
        server.start()
        yield server
    finally:
        server.destroy()


# -- where psycopg raises: at pool checkout, at commit


@pytest.fixture
def app_on_cluster(cluster: PostgresCluster, tmp_path: Path) -> Iterator[Flask]:
    """The app in this process (CSRF off, tasks in-process) on a migrated,
    seeded database of the cluster."""
    database = PostgresDatabase.create(cluster.port)
    url = "postgresql+psycopg://" + database.url.split("://", 1)[1]
    app = create_app(base_config(tmp_path, url))
    try:
        with app.app_context():
            upgrade()
            seed()
            db.session.commit()
            db.session.remove()
            db.engine.dispose()
        yield app
    finally:
        if not cluster.accepts():
            cluster.start()
        with app.app_context():
            db.engine.dispose()
        database.drop()


def _sign_form(email: str) -> dict[str, str]:
    return {"full_name": "Chaos Signer", "email": email, "country": "SY", "region": "Aleppo"}


@pytest.mark.integration
def test_database_gone_at_checkout_or_at_write_answers_503(
    app_on_cluster: Flask, cluster: PostgresCluster
) -> None:
    client = app_on_cluster.test_client()
    assert client.get(f"/{LANG}/campaigns/{SLUG}").status_code == 200

    # At the write: the server goes away as the sign POST sends its one
    # statement (signature and outbox row, committed by itself), after the
    # campaign was read and the form checked.
    stopped: list[bool] = []

    def stop_before_signing(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        if not stopped and "INSERT INTO signatures" in statement:
            stopped.append(True)
            cluster.stop("fast")

    with app_on_cluster.app_context():
        engine = db.engine
    event.listen(engine, "before_cursor_execute", stop_before_signing)
    try:
        answer = client.post(
            f"/{LANG}/campaigns/{SLUG}/sign", data=_sign_form("commit@zaytoun-chaos.org")
        )
    finally:
        event.remove(engine, "before_cursor_execute", stop_before_signing)
    assert not cluster.accepts(), "the hook did not stop the server"
    check_unavailable(_answer(answer), "sign POST failing at its write")

    # At checkout: the server is down when the request asks for a connection.
    # A fresh app, so that nothing is cached in the process.
    fresh = create_app(dict(app_on_cluster.config))
    fresh_client = fresh.test_client()
    for method, path, data in [
        ("POST", f"/{LANG}/campaigns/{SLUG}/sign", _sign_form("checkout@zaytoun-chaos.org")),
        ("GET", f"/{LANG}/campaigns/{SLUG}", None),
        ("GET", f"/{LANG}/campaigns/{SLUG}/results", None),
        ("GET", f"/api/v1/campaigns/{SLUG}/count", None),
        ("GET", "/api/v1/campaigns", None),
        ("POST", "/console/login", {"email": CONSOLE_EMAIL, "password": CONSOLE_PASSWORD}),
    ]:
        answer = fresh_client.open(path, method=method, data=data)
        check_unavailable(_answer(answer), f"{method} {path} with the database down")

    cluster.start()
    with app_on_cluster.app_context():
        db.engine.dispose()
        stored = db.session.execute(select(func.count()).select_from(Signature)).scalar_one()
    assert stored == 0, "a signature answered 503 was kept"
    with fresh.app_context():
        db.engine.dispose()
    # Back: the same processes' apps answer normally again.
    assert client.get(f"/{LANG}/campaigns/{SLUG}").status_code == 200
    again = fresh_client.post(
        f"/{LANG}/campaigns/{SLUG}/sign", data=_sign_form("after@zaytoun-chaos.org")
    )
    assert again.status_code == 303, again.status_code


def _answer(response: Any) -> Answer:
    headers = {k.lower(): v for k, v in response.headers.items()}
    return Answer(response.status_code, headers, response.get_data())


# -- restarts during a signing load


@pytest.mark.integration
@short_and_long(SHORT, LONG)
def test_signatures_survive_postgres_restarts(
    plan: Plan, cluster: PostgresCluster, tmp_path: Path
) -> None:
    run_with_faults(
        "postgres",
        plan,
        tmp_path,
        lambda site, _broker: _sign_through_restarts(site, cluster, plan),
        postgres_port=cluster.port,
    )


def _console_cookie(site: Deployment) -> str:
    """An organizer logged in to the console (no second factor for organizers)."""
    assert site.app is not None
    with site.app.app_context():
        union = db.session.execute(
            select(Organization).where(Organization.slug == "aleppo-revolutionaries-union")
        ).scalar_one()
        organizer = create_user(
            CONSOLE_EMAIL, "Chaos Organizer", CONSOLE_PASSWORD, Role.organizer, union
        )
        secret = give_second_factor(organizer)  # organizers must have one
        assert secret is not None
        db.session.commit()
    page = get(site.port, "/console/login")
    token = CSRF.search(page.body.decode())
    assert page.status == 200 and token is not None, page.status
    answer = post(
        site.port,
        "/console/login",
        {
            "csrf_token": token.group(1),
            "email": CONSOLE_EMAIL,
            "password": CONSOLE_PASSWORD,
            "code": pyotp.TOTP(secret).now(),
        },
        cookie_of(page),
    )
    assert answer.status == 303, f"console login answered {answer.status}"
    logged_in = cookie_of(answer)
    assert get(site.port, "/console/", {"Cookie": logged_in}).status == 200
    return logged_in


def _check_sign_answer(response: Response) -> None:
    if response.status == 503:
        check_unavailable(response, "sign POST")
    else:
        assert response.status == 303, response.status
        assert response.header("Location")[0].endswith(f"/campaigns/{SLUG}/thanks")


def _sign_through_restarts(
    site: Deployment, cluster: PostgresCluster, plan: Plan
) -> dict[str, object]:
    cookie = _console_cookie(site)
    routes = {path: {} for path in ROUTES} | {"/console/": {"Cookie": cookie}}
    load = SigningLoad(site, uuid.uuid4().hex[:8], check_answer=_check_sign_answer)
    pages_while_down: dict[str, dict[int, int]] = {path: {} for path in routes}
    problems: list[str] = []
    processes = {c.name: c.pid for c in (site.gunicorn, site.beat, *site.workers) if c}

    def strike() -> None:
        def take_down() -> None:
            cluster.stop("fast")
            went_down = time.monotonic()
            for path, headers in routes.items():
                answer = get(site.port, path, headers)
                seen = pages_while_down[path]
                seen[answer.status] = seen.get(answer.status, 0) + 1
                try:
                    if answer.status not in NORMAL:
                        check_unavailable(answer, f"GET {path} with the database down")
                except AssertionError as exc:
                    problems.append(str(exc))
            time.sleep(max(0.0, plan.down_seconds - (time.monotonic() - went_down)))

        def bring_back() -> None:
            cluster.start()
            assert site.app is not None
            with site.app.app_context():
                db.engine.dispose()  # the test's own reader, not the site's

        load.outage(take_down, bring_back)

    # Restarts spread so that signing goes on after the last one (503s are
    # quick and use up the load): the recovery must show.
    strike_at = [plan.signings * (i + 1) // (plan.faults + 2) for i in range(plan.faults)]
    started = time.monotonic()
    # And a tenth more after the last restart, to see the site recover (the
    # first requests on connections opened before the restart may fail once).
    results = run_async(
        load.run(
            plan.signings,
            strike_at,
            strike,
            expect=frozenset({303, 503}),
            after=plan.signings // 10,
            # A signer told "try again in a moment" waits before pressing
            # again: the 503s are answered at once and would otherwise spend
            # the whole budget before the last restart.
            pause_after=lambda response: 0.25 if response.status == 503 else 0.0,
        )
    )
    signing_seconds = time.monotonic() - started
    assert len(load.faults) == plan.faults, "the load ended before every restart"
    # Every signer thanked with a 303 has a row, whatever happened around it.
    stored = stored_signers(site, load)
    lost = load.accepted - stored
    assert not lost, f"{len(lost)} signatures answered 303 were not stored: {sorted(lost)[:10]}"
    assert not problems and not load.problems, (problems + load.problems)[:5]
    errors = [dict(r.errors) for r in results if r.errors]
    assert not errors, f"answers other than 303 and 503: {errors}"
    for fault in load.faults:
        assert fault.answers[503] > 0, f"restart {fault.number}: no sign POST saw it"
        assert fault.recovered_after is not None, f"no 303 after restart {fault.number}"
    # The console and the API needed the database: they said "try again".
    assert pages_while_down["/console/"].get(503), pages_while_down["/console/"]
    assert pages_while_down["/api/v1/campaigns"].get(503), pages_while_down["/api/v1/campaigns"]

    # Recovered by itself: the same processes, every page answers.
    for child in (site.gunicorn, site.beat, *site.workers):
        assert child is not None and child.process is not None
        assert child.process.poll() is None, f"{child.name} exited"
        assert processes[child.name] == child.pid
    for path, headers in routes.items():
        assert get(site.port, path, headers).status == 200, path

    _, drained = check_drained_and_counted(site, load, stored, plan.drain_timeout)
    statuses: dict[int, int] = {}
    for status in load.answered.values():
        statuses[status] = statuses.get(status, 0) + 1
    return {
        "signatures_pushed": len(load.answered),
        "answers": statuses,
        "restarts": len(load.faults),
        "outages": [f.summary() for f in load.faults],
        "pages_while_down": pages_while_down,
        "signing_seconds": round(signing_seconds, 1),
        "stored_though_answered_503": len(stored - load.accepted),
        "lost": len(lost),
        **drained,
    }
