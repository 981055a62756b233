"""What production writes to its logs: a signing session against gunicorn
started with deploy/gunicorn.conf.py and the production environment (no
TESTING; TRUSTED_PROXIES=1), a Celery worker and beat, their output captured.

No client address (neither the one X-Forwarded-For names nor the connection's
own), no name, email, phone or region, no query string and no confirmation
token (it grants the action) may appear; every access-log line has the
documented format: "METHOD /path-without-query" status size durationms."""

from __future__ import annotations

import re
import secrets
import time
from collections import Counter
from collections.abc import Iterator

import pytest
from sqlalchemy import select

from campaigns.accounts.services import create_user
from campaigns.extensions import db
from campaigns.models import Organization, Role

from .leak_support import (
    EMAIL_TIMEOUT,
    Canary,
    Client,
    Stack,
    confirm_link,
    elapsed,
    log_records,
    needles_for,
    production_stack,
    search,
    submit,
)

pytestmark = pytest.mark.integration

SHORT = 3
LONG = 100
SIZES = [pytest.param(SHORT, id="short"), pytest.param(LONG, id="long", marks=pytest.mark.chaos)]

SLUG = "olive-trees-afrin"  # the seeded pledge
# The connection's own address (REMOTE_ADDR): a loopback address nothing else uses.
REMOTE_ADDR = "127.0.0.61"
ACCESS_LINE = re.compile(r'"(GET|POST|HEAD) (/[^\s"?]*)" (\d{3}) (\d+) (\d+)ms')
GUNICORN_LINE = re.compile(r"\[\d{4}-\d\d-\d\d \d\d:\d\d:\d\d [+-]\d{4}\] \[\d+\] \[[A-Z]+\] ")
TOKEN_SEGMENT = re.compile(r"(/(?:confirm|unsubscribe|manage)/)[^/]+")


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    with production_stack(tmp_path_factory.mktemp("logs"), TRUSTED_PROXIES="1") as running:
        yield running


def forwarded(n: int) -> str:
    """A distinct client address per signer, as the proxy would name it."""
    return f"127.0.{n // 200 % 250 + 1}.{n % 200 + 23}"


@pytest.mark.parametrize("size", SIZES)
def test_production_logs_hold_no_personal_data(stack: Stack, size: int) -> None:
    started = time.monotonic()
    before = {name: len(text.splitlines()) for name, text in stack.logs().items()}
    clients: list[Client] = []

    def visitor(address: str) -> Client:
        client = Client(stack, source=REMOTE_ADDR, forwarded_for=address)
        clients.append(client)
        return client

    offset = secrets.randbelow(10_000) * 64
    signers = [
        Canary.make(i, "TR" if i % 3 == 2 else "SY", forwarded(offset + i), i % 2 == 0)
        for i in range(size)
    ]
    refused = Canary.make(0, "SY", forwarded(offset + size), False)
    for canary in [*signers, refused]:
        canary.derive()
    refused.email = "not-an-address-" + secrets.token_hex(6)

    secret_query = f"token={secrets.token_hex(12)}"
    for i, canary in enumerate(signers):
        lang = ("ar", "en")[i % 2]
        client = visitor(canary.forwarded_for)
        # A query string the log must not keep (a token a link might carry).
        page = client.get(f"{stack.url}/{lang}/campaigns/{SLUG}?ref=newsletter&{secret_query}")
        assert page.status == 200
        answer = submit(client, page, f"/{lang}/campaigns/{SLUG}/sign", canary.form())
        assert answer.status == 303, answer.text[:2000]
    client = visitor(refused.forwarded_for)
    page = client.get(f"{stack.url}/en/campaigns/{SLUG}")
    answer = submit(client, page, f"/en/campaigns/{SLUG}/sign", refused.form())
    assert answer.status == 422

    # Confirm: the landing page (a GET with the token in the path) and the button.
    tokens = []
    for i, canary in enumerate(signers):
        lang = ("ar", "en")[i % 2]
        link = confirm_link(stack, canary.derived["display_email"], lang)
        tokens.append(link.rsplit("/", 1)[1])
        client = visitor(canary.forwarded_for)
        landing = client.get(link)
        assert landing.status == 200
        assert submit(client, landing, link.split(stack.url)[1], {}).status == 303

    # A reader of the API straight from its own address (no proxy header).
    reader = Client(stack, source=REMOTE_ADDR)
    clients.append(reader)
    assert reader.get(f"{stack.url}/api/v1/campaigns/{SLUG}/count").status == 200

    # A console login with a wrong password, after a redirect with ?next=.
    with stack.app.app_context():
        partner = db.session.execute(
            select(Organization).where(Organization.slug == "syrian-national-coalition")
        ).scalar_one()
        account = f"viewer-{secrets.token_hex(4)}@coalition.test"
        password = f"right-password-{secrets.token_hex(4)}"
        create_user(account, "Coalition Viewer", password, Role.partner, partner)
        db.session.commit()
        db.session.remove()
    console = visitor(forwarded(offset + size + 1))
    assert console.get(f"{stack.url}/console/").status == 302
    login = console.get(f"{stack.url}/console/login?next=%2Fconsole%2F")
    wrong = f"wrong-password-{secrets.token_hex(4)}"
    refused_login = submit(console, login, "/console/login", {"email": account, "password": wrong})
    assert refused_login.status == 401

    # Everything the pipeline does for them is done (the worker's lines are in).
    for canary in signers:
        stack.mailbox.wait_for_messages_to(
            canary.derived["display_email"], 1, EMAIL_TIMEOUT, stack.log_tail
        )
    time.sleep(1.5)
    sent = [request for client in clients for request in client.sent]

    lines = {name: text.splitlines()[before[name] :] for name, text in stack.logs().items()}
    records = [
        (f"{name} log line {before[name] + n}", line)
        for name, session in lines.items()
        for n, line in enumerate(session, 1)
    ]
    assert len(records) == sum(len(v) for v in lines.values())
    assert log_records(stack)  # the whole logs, start-up included, are read below too

    # No personal data, no client address, no token, no query string.
    needles = []
    for i, canary in enumerate([*signers, refused]):
        needles += needles_for(f"signer #{i}", canary.personal())
    needles += needles_for(
        "console",
        {"account": account, "wrong password": wrong, "password": password},
    )
    needles += needles_for(
        "client", {"REMOTE_ADDR": REMOTE_ADDR, "X-Forwarded-For": forwarded(offset + size + 1)}
    )
    needles += needles_for(
        "links",
        {"query string": secret_query, **{f"token #{i}": t for i, t in enumerate(tokens)}},
    )
    leaks = search(log_records(stack), needles)
    assert not leaks, "in the logs:\n" + "\n".join(str(h) for h in leaks[:40])
    # 127.0.0.1 is the servers' own address (gunicorn's bind, Redis, SMTP): it
    # may appear only with one of their ports, never as a client.
    ports = {str(stack.port), "6379", stack.env["MAIL_PORT"], "5432"}
    loopback = [
        (where, line)
        for where, line in log_records(stack)
        for port in re.findall(r"127\.0\.0\.1(?::(\d+))?", line)
        if port not in ports
    ]
    assert not loopback, f"a client address in the logs: {loopback[:10]}"

    # The access log: one line per request, in the documented format.
    web = lines["web"]
    access = [line for line in web if line.startswith('"')]
    other = [line for line in web if not line.startswith('"')]
    malformed = [line for line in access if not ACCESS_LINE.fullmatch(line)]
    assert not malformed, malformed[:10]
    assert all(GUNICORN_LINE.match(line) for line in other), other[:20]

    def shape(method: str, path: str, status: int | str) -> tuple[str, str, str]:
        return method, TOKEN_SEGMENT.sub(r"\1*", path), str(status)

    logged = Counter(
        shape(*ACCESS_LINE.fullmatch(line).groups()[:3])  # type: ignore[union-attr]
        for line in access
    )
    expected = Counter(shape(*request) for request in sent)
    assert logged == expected, (logged - expected, expected - logged)
    sizes = [int(ACCESS_LINE.fullmatch(line).group(4)) for line in access]  # type: ignore[union-attr]
    assert any(sizes), "every logged response size is 0"

    worker = lines["worker"]
    assert any("zaytoun.validate_signatures[" in line for line in worker), worker[-20:]
    shapes = Counter(
        re.sub(r"\d+", "N", re.sub(r"\[[0-9a-f-]{36}\]", "[id]", line))[:90]
        for session in lines.values()
        for line in session
    )
    print(
        f"\n[logs {size} signers] {len(sent)} requests, {len(access)} access lines "
        f"(all in format), other web lines {len(other)}, worker lines {len(worker)}, "
        f"beat lines {len(lines['beat'])}; {len(needles)} needles, whole logs "
        f"{len(log_records(stack))} lines searched; {elapsed(started)} s\n"
        "most frequent line shapes:\n  "
        + "\n  ".join(f"{n}× {s}" for s, n in shapes.most_common(12))
    )
