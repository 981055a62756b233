"""Micro-benchmark of the source code on the sign path (``reach.codes``):

1. the lookup itself, with the live codes already in the process's memo, for
   0 to 10,000 codes (µs a call);
2. the sign request through the app (Flask's test client, one thread) on
   PostgreSQL, with no ``src`` and with a live code, in alternating rounds:
   the ratio of the medians is what a code adds to a signature (no query:
   the codes are read once per ``SOURCES_CACHE_SECONDS``).

Run: ``.venv/bin/python -m benchmarks.sources`` (PostgreSQL on 127.0.0.1:5432,
user ``postgres``, trust; a database of its own, dropped at the end)."""

from __future__ import annotations

import secrets
import statistics
import tempfile
import time
import uuid
from pathlib import Path

from flask_migrate import upgrade
from sqlalchemy import create_engine, event, select, text

from campaigns import create_app
from campaigns.cache import memo
from campaigns.extensions import db
from campaigns.models import Campaign, SourceCode
from campaigns.privacy.keys import generate_key
from campaigns.reach.codes import LiveCodes, source_code_id
from campaigns.seed import seed

ADMIN_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
SLUG = "no-russia-on-hrc"
ROUNDS = 6
PER_ROUND = 150
CALLS = 200_000


def lookup_cost(count: int) -> float:
    """``source_code_id`` per call, the codes in the memo (half known, half not)."""
    codes = {secrets.token_urlsafe(8): (n, 1) for n in range(count)}
    known = list(codes) + [secrets.token_urlsafe(8) for _ in range(max(count, 1))]
    texts = (known * (CALLS // len(known) + 1))[:CALLS]
    with tempfile.TemporaryDirectory() as tmp:
        app = create_app(
            {
                "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp}/unused.sqlite3",
                "INSTANCE_PATH": str(Path(tmp) / "instance"),
                "SECRET_KEY": "bench",
                "PERSONAL_DATA_KEY": generate_key(),
                "REDIS_URL": "",
                "EMBEDDED_SCHEDULER": False,
                "SOURCES_CACHE_SECONDS": 3600,
            }
        )
        with app.app_context():
            memo().set("source-codes", LiveCodes(codes), 3600)
            started = time.perf_counter()
            for code in texts:
                source_code_id(1, code)
            return (time.perf_counter() - started) / CALLS * 1e6


def _form(n: int, tag: str, src: str | None) -> dict[str, str]:
    form = {
        "full_name": "رامي الحلبي",
        "email": f"bench-{tag}-{n}@example.org",
        "country": "SY",
        "region": "حلب",
    }
    if src:
        form["src"] = src
    return form


def sign_ratio() -> tuple[float, float, int, int, int]:
    name = f"zaytoun_srcbench_{uuid.uuid4().hex[:8]}"
    admin = create_engine(ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        with tempfile.TemporaryDirectory() as tmp:
            app = create_app(
                {
                    "SQLALCHEMY_DATABASE_URI": ADMIN_URL.rsplit("/", 1)[0] + f"/{name}",
                    "INSTANCE_PATH": str(Path(tmp) / "instance"),
                    "SECRET_KEY": "bench",
                    "PERSONAL_DATA_KEY": generate_key(),
                    "REDIS_URL": "",
                    "TASKS_EAGER": False,
                    "EMBEDDED_SCHEDULER": False,
                    "MAIL_SERVER": "",
                    "WTF_CSRF_ENABLED": False,
                    "SITE_URL": "http://zaytoun.test",
                    "TRUSTED_HOSTS": ["localhost"],
                }
            )
            with app.app_context():
                upgrade()
                seed()
                campaign = db.session.execute(
                    select(Campaign).where(Campaign.slug == SLUG)
                ).scalar_one()
                code = SourceCode(
                    campaign_id=campaign.id,
                    organization_id=campaign.organization_id,
                    code=secrets.token_urlsafe(8),
                )
                db.session.add(code)
                db.session.commit()
                live = code.code
                # A code must cost no query: count the statements of signing.
                statements: list[str] = []
                event.listen(db.engine, "before_cursor_execute", lambda *a: statements.append(a[2]))
                client = app.test_client()
                tag = uuid.uuid4().hex[:6]
                url = f"/ar/campaigns/{SLUG}/sign"
                # Warm up: the campaign, switches, networks and codes in the memo.
                for n in range(20):
                    client.post(url, data=_form(n, tag + "w", live if n % 2 else None))
                timings: dict[bool, list[float]] = {False: [], True: []}
                # Statements per request; a request now and then also reloads
                # an expired memo entry (campaign, switches, networks, codes).
                per_request: dict[bool, list[int]] = {False: [], True: []}
                reloads = 0
                for round_ in range(ROUNDS):
                    for with_code in (round_ % 2 == 0, round_ % 2 == 1):
                        started = time.perf_counter()
                        for n in range(PER_ROUND):
                            before = len(statements)
                            answer = client.post(
                                url,
                                data=_form(
                                    n, f"{tag}-{round_}-{with_code}", live if with_code else None
                                ),
                            )
                            if answer.status_code != 303:
                                raise SystemExit(f"sign answered {answer.status_code}")
                            per_request[with_code].append(len(statements) - before)
                            reloads += sum("FROM source_codes" in q for q in statements[before:])
                        timings[with_code].append((time.perf_counter() - started) / PER_ROUND)
                usual = {k: statistics.mode(v) for k, v in per_request.items()}
                if usual[True] != usual[False]:
                    raise SystemExit(f"a code changed the statements signing runs: {usual}")
                attributed = db.session.execute(
                    text("SELECT count(*) FROM signatures WHERE source_code_id = :id"),
                    {"id": code.id},
                ).scalar_one()
                db.session.remove()
                db.engine.dispose()
        plain = statistics.median(timings[False]) * 1e3
        coded = statistics.median(timings[True]) * 1e3
        return plain, coded, int(attributed), reloads, usual[False]
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def main() -> None:
    print(f"source code lookup, {CALLS} calls")
    for count in (0, 10, 1_000, 10_000):
        print(f"  {count:>6} live codes: {lookup_cost(count):.3f} µs a call")
    plain, coded, attributed, reloads, usual = sign_ratio()
    print(
        f"sign request (test client, PostgreSQL), {ROUNDS} rounds x {PER_ROUND}: "
        f"no code {plain:.2f} ms, live code {coded:.2f} ms, ratio {coded / plain:.3f}; "
        f"{attributed} signatures attributed, {usual} statement(s) per signature either way, "
        f"and {reloads} reads of the live codes in all (one per SOURCES_CACHE_SECONDS)"
    )


if __name__ == "__main__":
    main()
