"""What the leak tests share: the production stack on loopback, recorded while
it runs, an HTTP client that picks its source address, canary values, and the
search for them in every spelling code might have written them.

The stack is the benchmark harness's (``benchmarks/harness/stack.py``):
gunicorn with ``deploy/gunicorn.conf.py``, a Celery worker and a separate beat,
all reading the production environment (no TESTING), on a fresh PostgreSQL
database and Redis database 14. An aiosmtpd mailbox keeps every message, and
a Redis MONITOR connection keeps every command sent to database 14 for the
whole run (task messages, cache writes)."""

from __future__ import annotations

import base64
import binascii
import contextlib
import http.client
import json
import os
import re
import secrets
import select
import socket
import subprocess
import threading
import time
import urllib.parse
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from email.message import EmailMessage, Message
from pathlib import Path
from typing import Any

import psycopg
import redis
from aiosmtpd.controller import Controller
from flask import Flask
from flask_migrate import upgrade

from benchmarks.harness import stack as harness
from campaigns import create_app
from campaigns.extensions import db
from campaigns.privacy.keys import generate_key
from campaigns.seed import seed
from tests.conftest import base_config
from tests.integration.browser import Response
from tests.integration.stack import Mailbox, wait_until
from tests.services import require_postgres, require_redis

HOST = "127.0.0.1"
REDIS_DB = 14
REDIS_URL = f"redis://{HOST}:6379/{REDIS_DB}"
START_TIMEOUT = 90
HTTP_TIMEOUT = 30
EMAIL_TIMEOUT = 90


# -- The stack


@dataclass
class Stack:
    url: str
    port: int
    env: dict[str, str]
    database: harness.Database
    mailbox: Mailbox
    monitor: RedisMonitor
    app: Flask  # the test's own view of the database, with the stack's keys
    children: dict[str, harness.Child]

    def logs(self) -> dict[str, str]:
        """What each process has written so far (stdout and stderr)."""
        return {name: child.log_text() for name, child in self.children.items()}

    def log_tail(self) -> str:
        return "\n".join(
            f"--- {name} (tail) ---\n{child.log_tail(30)}" for name, child in self.children.items()
        )

    def flask(self, *args: str) -> str:
        """``flask --app campaigns …`` as an operator runs it on a production node."""
        return harness.flask_command(list(args), self.env)


@contextlib.contextmanager
def production_stack(tmp: Path, **settings: str) -> Iterator[Stack]:
    """Start the whole deployment; ``settings`` are extra environment variables."""
    require_postgres()
    require_redis()
    database = harness.Database.create()
    children: dict[str, harness.Child] = {}
    controller: Controller | None = None
    monitor: RedisMonitor | None = None
    app: Flask | None = None
    client = redis.Redis.from_url(REDIS_URL)
    try:
        secret_key, data_key, ledger_key = generate_key(), generate_key(), generate_key()
        sqlalchemy_url = "postgresql+psycopg://" + database.url.split("://", 1)[1]
        app = create_app(
            {
                **base_config(tmp, sqlalchemy_url),
                "SECRET_KEY": secret_key,
                "PERSONAL_DATA_KEY": data_key,
                "LEDGER_SIGNING_KEY": ledger_key,
            }
        )
        with app.app_context():
            upgrade()
            seed()
            db.session.commit()
            db.session.remove()
        client.flushdb()
        monitor = RedisMonitor(HOST, 6379, REDIS_DB)
        monitor.start()
        mailbox = Mailbox()
        smtp_port = harness.free_port()
        controller = Controller(mailbox, hostname=HOST, port=smtp_port)
        controller.start()
        web_port = harness.free_port()
        site_url = f"http://{HOST}:{web_port}"
        env = {
            **harness.base_environment(),
            "DATABASE_URL": database.url,
            "REDIS_URL": REDIS_URL,
            "SECRET_KEY": secret_key,
            "PERSONAL_DATA_KEY": data_key,
            "LEDGER_SIGNING_KEY": ledger_key,
            "MAIL_SERVER": HOST,
            "MAIL_PORT": str(smtp_port),
            "SITE_URL": site_url,
            "ZAYTOUN_INSTANCE": str(tmp / "instance"),
            # The code next to these tests, whatever is installed.
            "PYTHONPATH": os.pathsep.join(
                filter(None, [str(harness.REPO), os.environ.get("PYTHONPATH")])
            ),
            **settings,
        }
        env.pop("TESTING", None)
        logs = tmp / "logs"
        logs.mkdir(exist_ok=True)
        children["worker"] = harness.celery_worker("worker", "zaytoun,periodic", 2, env, logs)
        children["beat"] = harness.celery_beat(env, logs)
        children["web"] = harness.gunicorn(
            "web", "campaigns:create_app()", web_port, harness.WebSettings(2, 2), env, logs
        )
        for child in children.values():
            child.start()
        harness.wait_for_port(web_port, START_TIMEOUT, children["web"].process)
        children["worker"].wait_for_log(" ready.", START_TIMEOUT)
        children["beat"].wait_for_log("beat: Starting", START_TIMEOUT)
        yield Stack(
            url=site_url,
            port=web_port,
            env=env,
            database=database,
            mailbox=mailbox,
            monitor=monitor,
            app=app,
            children=children,
        )
    finally:
        for child in children.values():
            child.stop()
        if monitor is not None:
            monitor.stop()
        if controller is not None:
            controller.stop()
        if app is not None:
            with app.app_context():
                db.engine.dispose()
        client.flushdb()
        client.close()
        database.drop()


# -- Redis MONITOR


class RedisMonitor:
    """Every command sent to one Redis database, kept from start to stop.

    MONITOR reports all databases; only lines of ours are kept. Each line is
    ``+<time> [<db> <client>] "CMD" "arg" …`` with arguments escaped the way
    redis-cli shows them (``\\xNN``, ``\\"``, ``\\n`` …)."""

    def __init__(self, host: str, port: int, db_number: int) -> None:
        self.address = (host, port)
        self.tag = f" [{db_number} ".encode()
        self.lines: list[bytes] = []
        self.seen = 0  # lines of every database, for the report
        self._stop = threading.Event()
        self._sock: socket.socket | None = None
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        sock = self._sock = socket.create_connection(self.address, timeout=5)
        sock.sendall(b"MONITOR\r\n")
        answer = b""
        while not answer.endswith(b"\r\n"):
            answer += sock.recv(1)
        if answer != b"+OK\r\n":
            raise RuntimeError(f"MONITOR refused: {answer!r}")
        self._thread = threading.Thread(target=self._read, name="redis-monitor", daemon=True)
        self._thread.start()

    def _read(self) -> None:
        assert self._sock is not None
        pending = b""
        while not self._stop.is_set():
            ready, _, _ = select.select([self._sock], [], [], 0.2)
            if not ready:
                continue
            chunk = self._sock.recv(1 << 16)
            if not chunk:
                break
            pending += chunk
            *complete, pending = pending.split(b"\r\n")
            for line in complete:
                self.seen += 1
                if self.tag in line[:48]:
                    self.lines.append(line)

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(5)
        if self._sock is not None:
            with contextlib.suppress(OSError):
                self._sock.close()

    def commands(self) -> list[list[bytes]]:
        """Each command kept so far, as its arguments (the name first)."""
        return [parse_monitor_line(line) for line in list(self.lines)]


_ESCAPES = {ord("n"): b"\n", ord("r"): b"\r", ord("t"): b"\t", ord("a"): b"\a", ord("b"): b"\b"}


def parse_monitor_line(line: bytes) -> list[bytes]:
    """The arguments of one MONITOR line, unescaped to their bytes."""
    start = line.find(b'] "')
    if start < 0:
        return []
    args: list[bytes] = []
    i, n = start + 2, len(line)
    while i < n:
        if line[i] != ord('"'):
            i += 1
            continue
        i += 1
        value = bytearray()
        while i < n and line[i] != ord('"'):
            if line[i] == ord("\\") and i + 1 < n:
                nxt = line[i + 1]
                if nxt == ord("x") and i + 3 < n:
                    value.append(int(line[i + 2 : i + 4], 16))
                    i += 4
                    continue
                value += _ESCAPES.get(nxt, bytes([nxt]))
                i += 2
                continue
            value.append(line[i])
            i += 1
        args.append(bytes(value))
        i += 1
    return args


def redis_keyspace() -> list[tuple[str, bytes]]:
    """(key, value) for every key of our database, every type read whole."""
    client = redis.Redis.from_url(REDIS_URL)
    found: list[tuple[str, bytes]] = []
    try:
        for key in client.scan_iter(count=1000):
            kind = client.type(key).decode()
            parts: list[bytes] = [key]
            if kind == "string":
                parts.append(client.get(key) or b"")
            elif kind == "list":
                parts += client.lrange(key, 0, -1)
            elif kind == "hash":
                for k, v in client.hgetall(key).items():
                    parts += [k, v]
            elif kind == "set":
                parts += sorted(client.smembers(key))
            elif kind == "zset":
                parts += [m for m, _ in client.zrange(key, 0, -1, withscores=True)]
            elif kind == "stream":
                for _id, entry in client.xrange(key):
                    for k, v in entry.items():
                        parts += [k, v]
            found.append((f"redis {kind} {key.decode(errors='replace')}", b"\n".join(parts)))
    finally:
        client.close()
    return found


# -- HTTP from a chosen loopback address


class Client:
    """One visitor over real HTTP: its own cookies, its own source address (so
    that REMOTE_ADDR is known), optional X-Forwarded-For, no redirects followed.
    Every request is remembered for the access-log checks."""

    def __init__(self, stack: Stack, source: str = HOST, forwarded_for: str | None = None):
        if not re.fullmatch(r"127\.\d+\.\d+\.\d+", source):
            raise ValueError(f"loopback only: {source}")
        self.stack = stack
        self.source = source
        self.forwarded_for = forwarded_for
        self.cookies: dict[str, str] = {}
        self.sent: list[tuple[str, str, int]] = []  # method, path (no query), status

    def request(self, method: str, url: str, data: dict[str, str] | None = None) -> Response:
        parts = urllib.parse.urlsplit(url)
        if parts.hostname != HOST or parts.port != self.stack.port:
            raise ValueError(f"only the stack's own site: {url}")
        path = parts.path + (f"?{parts.query}" if parts.query else "")
        headers = {"Accept-Language": "en"}
        if self.cookies:
            headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        if self.forwarded_for:
            headers["X-Forwarded-For"] = self.forwarded_for
        body = None
        if data is not None:
            body = urllib.parse.urlencode(data).encode()
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        conn = http.client.HTTPConnection(
            HOST, self.stack.port, timeout=HTTP_TIMEOUT, source_address=(self.source, 0)
        )
        try:
            conn.request(method, path, body=body, headers=headers)
            answer = conn.getresponse()
            payload = answer.read()
            message: Message = answer.msg
        finally:
            conn.close()
        for cookie in message.get_all("Set-Cookie") or []:
            name, _, rest = cookie.partition("=")
            self.cookies[name.strip()] = rest.split(";", 1)[0]
        self.sent.append((method, parts.path, answer.status))
        return Response(url, answer.status, message, payload)

    def get(self, url: str) -> Response:
        return self.request("GET", url)

    def post(self, url: str, data: dict[str, str]) -> Response:
        return self.request("POST", url, data)


def submit(client: Client, page: Response, action_suffix: str, fields: dict[str, str]) -> Response:
    """Send the page's form whose action ends with ``action_suffix``, with its CSRF token."""
    (form,) = [
        f for f in page.forms() if urllib.parse.urlsplit(f.action).path.endswith(action_suffix)
    ]
    token = form.fields.get("csrf_token")
    assert token, f"the form {form.action} carries no CSRF token"
    return client.post(form.action.split("#")[0], {"csrf_token": token, **fields})


# -- Canaries


def _digits(n: int) -> str:
    return "".join(secrets.choice("0123456789") for _ in range(n))


@dataclass
class Canary:
    """One signer whose every field is a unique marker."""

    full_name: str
    email: str
    phone: str
    country: str
    region: str
    forwarded_for: str
    amount: str = "3"
    # Filled in by the app's own functions once the app is at hand.
    derived: dict[str, str] = field(default_factory=dict)

    @classmethod
    def make(cls, index: int, country: str, forwarded_for: str, gmail: bool) -> Canary:
        tag = secrets.token_hex(8)
        digits = _digits(8)
        if gmail:
            # Dots, a +tag and the googlemail alias: the canonical form differs.
            email = f"Canary.{tag[:8]}.{tag[8:]}+zaytoun@GoogleMail.com"
        else:
            email = f"canary.{tag}@canary-{secrets.token_hex(5)}.example.org"
        if country == "TR":
            phone = f"0532 {_digits(3)} {_digits(2)} {_digits(2)}"
        else:
            phone = f"0944 {_digits(3)} {_digits(3)}"
        return cls(
            full_name=f"Canary{tag} كناري{digits}",
            email=email,
            phone=phone,
            country=country,
            region=f"Canaryville{secrets.token_hex(6)} قرية{_digits(8)}",
            forwarded_for=forwarded_for,
            amount=str(index % 7 + 1),
        )

    def derive(self) -> None:
        """The forms the app stores or sends: display and canonical email, E.164 phone."""
        from campaigns.kernel.normalize import canonical_email, canonical_phone, display_email

        self.derived = {
            "display_email": display_email(self.email),
            "canonical_email": canonical_email(self.email),
            "phone_e164": canonical_phone(self.phone, self.country),
        }

    @property
    def unique_domain(self) -> str | None:
        domain = self.derived["canonical_email"].rpartition("@")[2]
        return domain if domain.startswith("canary-") else None

    def personal(self) -> dict[str, str]:
        """Every string that would identify this person: label -> value."""
        name_latin, name_arabic = self.full_name.split(" ")
        values = {
            "name": self.full_name,
            "name (Latin part)": name_latin,
            "name (Arabic part)": name_arabic,
            "email as typed": self.email,
            "email local part": self.email.split("@")[0],
            "email (display)": self.derived["display_email"],
            "email (canonical)": self.derived["canonical_email"],
            "email (canonical local part)": self.derived["canonical_email"].split("@")[0],
            "phone as typed": self.phone,
            "phone (E.164)": self.derived["phone_e164"],
            "phone (digits)": self.derived["phone_e164"].lstrip("+"),
            "phone (national digits)": self.phone.replace(" ", ""),
            "client address": self.forwarded_for,
        }
        if self.unique_domain:
            values["email domain"] = self.unique_domain
        values.update(self.region_values())
        return values

    def region_values(self) -> dict[str, str]:
        region_latin, region_arabic = self.region.split(" ")
        return {
            "region": self.region,
            "region (Latin part)": region_latin,
            "region (Arabic part)": region_arabic,
        }

    def form(self) -> dict[str, str]:
        return {
            "full_name": self.full_name,
            "email": self.email,
            "phone": self.phone,
            "country": self.country,
            "region": self.region,
            "amount": self.amount,
            # No consent to show the name: it must appear nowhere public.
            "contact_ok": "y",
        }


# -- Spellings and search


def _base64_forms(raw: bytes) -> set[str]:
    """How ``raw`` reads inside any base64 text, whatever its offset there:
    for each of the three alignments, the characters that depend on it alone."""
    forms = set()
    for offset in range(3):
        encoded = base64.b64encode(b"\0" * offset + raw).decode().rstrip("=")
        start = (0, 2, 3)[offset]
        end = (8 * (offset + len(raw))) // 6
        piece = encoded[start:end]
        forms.add(piece)
        forms.add(piece.translate(str.maketrans("+/", "-_")))
    return forms


def text_spellings(value: str) -> set[str]:
    """Plain, lowercased, casefolded, uppercased; each as is, as UTF-8 hex and
    base64, JSON-escaped (``\\uXXXX``) and URL-encoded."""
    found = set()
    for form in {value, value.lower(), value.casefold(), value.upper()}:
        raw = form.encode()
        found |= {form, raw.hex(), json.dumps(form)[1:-1]}
        found |= {urllib.parse.quote(form, safe=""), urllib.parse.quote_plus(form)}
        found |= _base64_forms(raw)
    return {s for s in found if len(s) >= 6}


def byte_spellings(value: bytes) -> set[str]:
    """How bytes (a hash, a ciphertext) read in text: hex and base64."""
    return {value.hex(), *_base64_forms(value)}


@dataclass(frozen=True)
class Needle:
    owner: str  # whose (a canary's index) and what ("name", "fingerprint" …)
    label: str
    spellings: frozenset[str]


def needles_for(owner: str, values: dict[str, str]) -> list[Needle]:
    return [
        Needle(owner, label, frozenset(s.casefold() for s in text_spellings(v)))
        for label, v in values.items()
    ]


def byte_needles(owner: str, values: dict[str, bytes]) -> list[Needle]:
    return [
        Needle(owner, label, frozenset(s.casefold() for s in byte_spellings(v)))
        for label, v in values.items()
    ]


_BASE64_RUN = re.compile(r"[A-Za-z0-9+/_-]{16,}={0,2}")


def unwrap(text: str, depth: int = 3) -> str:
    """The text followed by what it wraps: JSON strings unescaped, and every
    base64 run that decodes to text (kombu message bodies are base64 JSON),
    decoded again in turn."""
    parts = [text]
    stripped = text.strip()
    if stripped[:1] in "{[":
        with contextlib.suppress(ValueError):
            parts.append(json.dumps(json.loads(stripped), ensure_ascii=False))
    if depth > 0:
        for run in set(_BASE64_RUN.findall(text)):
            for decode in (base64.b64decode, base64.urlsafe_b64decode):
                try:
                    raw = decode(run + "=" * (-len(run) % 4))
                    decoded = raw.decode("utf-8")
                except (binascii.Error, ValueError):
                    continue
                if decoded.isprintable() or "{" in decoded or "[" in decoded:
                    parts.append(unwrap(decoded, depth - 1))
                    break
    return "\n".join(parts)


def as_text(value: Any) -> str:
    """A stored value as text a search can read: bytes both as hex and as
    UTF-8, JSON as JSON, the rest as str()."""
    if isinstance(value, memoryview):
        value = bytes(value)
    if isinstance(value, (bytes, bytearray)):
        return bytes(value).hex() + "\n" + bytes(value).decode("utf-8", errors="replace")
    if isinstance(value, (dict, list)):
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, (datetime, date, Decimal)):
        return str(value)
    return str(value)


@dataclass(frozen=True)
class Hit:
    where: str
    owner: str
    label: str
    spelling: str

    def __str__(self) -> str:
        return f"{self.owner} {self.label} ({self.spelling!r}) in {self.where}"


def search(records: Iterable[tuple[str, str]], needles: list[Needle]) -> list[Hit]:
    """Every (record, needle) where a spelling of the needle appears, casefolded.

    The records are searched joined first; only a needle found there is
    looked for record by record, to say where."""
    folded = [(where, text.casefold()) for where, text in records]
    whole = "\x00".join(text for _, text in folded)
    hits = []
    for needle in needles:
        present = [s for s in needle.spellings if s in whole]
        if not present:
            continue
        for where, text in folded:
            for spelling in present:
                if spelling in text:
                    hits.append(Hit(where, needle.owner, needle.label, spelling))
                    break
    return hits


# -- Where to look


def database_rows(stack: Stack) -> list[tuple[str, str]]:
    """("table.column", value) for every value of every column of every table."""
    records = []
    with psycopg.connect(stack.database.url) as conn:
        tables = [
            row[0]
            for row in conn.execute(
                "SELECT tablename FROM pg_tables WHERE schemaname = 'public' ORDER BY tablename"
            )
        ]
        for table in tables:
            cursor = conn.execute(f'SELECT * FROM "{table}"')
            columns = [c.name for c in cursor.description or []]
            for row in cursor:
                for column, value in zip(columns, row, strict=True):
                    if value is not None:
                        records.append((f"{table}.{column}", as_text(value)))
    return records


def pg_dump(stack: Stack) -> list[tuple[str, str]]:
    """``pg_dump --data-only``, one record per table's COPY block."""
    dump = subprocess.run(
        ["pg_dump", "--data-only", "--no-owner", "-h", HOST, "-U", "postgres", stack.database.name],
        check=True,
        capture_output=True,
        text=True,
        timeout=120,
    ).stdout
    records = []
    for block in re.split(r"\n(?=COPY )", dump):
        head = block.split("\n", 1)[0]
        table = head.split(" ")[1] if head.startswith("COPY ") else "preamble"
        records.append((f"pg_dump {table}", unwrap(block, depth=0)))
    return records


def monitor_records(stack: Stack) -> tuple[list[tuple[str, str]], int]:
    """Each command MONITOR saw, its arguments decoded (base64 bodies of task
    messages included); and how many carried a task message."""
    records = []
    messages = 0
    for n, args in enumerate(stack.monitor.commands()):
        text = "\n".join(a.decode("utf-8", errors="replace") for a in args)
        if '"body"' in text and "content-type" in text:
            messages += 1
        name = args[0].decode(errors="replace") if args else "?"
        records.append((f"MONITOR #{n} {name}", unwrap(text)))
    return records, messages


def task_messages(stack: Stack) -> list[dict[str, Any]]:
    """Every kombu envelope pushed to a queue, with its body decoded."""
    found = []
    for args in stack.monitor.commands():
        if not args or args[0].upper() not in (b"LPUSH", b"RPUSH"):
            continue
        for arg in args[2:]:
            try:
                envelope = json.loads(arg)
                body = json.loads(base64.b64decode(envelope["body"]))
            except (ValueError, KeyError, TypeError):
                continue
            found.append({"envelope": envelope, "body": body})
    return found


def keyspace_records() -> list[tuple[str, str]]:
    return [(where, unwrap(as_text(value))) for where, value in redis_keyspace()]


def log_records(stack: Stack) -> list[tuple[str, str]]:
    records = []
    for name, text in stack.logs().items():
        for n, line in enumerate(text.splitlines(), 1):
            records.append((f"{name} log line {n}", line))
    return records


def confirm_link(stack: Stack, address: str, lang: str) -> str:
    """The link of the confirmation email sent to ``address`` (waiting for it)."""
    (message,) = stack.mailbox.wait_for_messages_to(address, 1, EMAIL_TIMEOUT, stack.log_tail)
    plain = message.get_body(("plain",))
    assert plain is not None
    prefix = re.escape(f"{stack.url}/{lang}/confirm/")
    links = re.findall(prefix + r"[A-Za-z0-9_.\-]+", plain.get_content())
    assert len(links) == 1, plain.get_content()
    return str(links[0])


def confirm_code_in_mail(stack: Stack, address: str) -> str:
    """The code of the confirmation email sent to ``address``, as printed
    (two groups of four digits)."""
    (message,) = stack.mailbox.wait_for_messages_to(address, 1, EMAIL_TIMEOUT, stack.log_tail)
    plain = message.get_body(("plain",))
    assert plain is not None
    codes = re.findall(r"^\u2066?(\d{4} \d{4})\u2069?$", plain.get_content(), re.MULTILINE)
    assert len(codes) == 1, plain.get_content()
    return str(codes[0])


def mail_text(message: EmailMessage) -> str:
    """A message as sent and with every part decoded."""
    parts = [message.as_string()]
    for part in message.walk():
        if part.get_content_maintype() == "text":
            parts.append(str(part.get_content()))
    return "\n".join(parts)


def wait_for(check: Any, timeout: float, what: str, stack: Stack) -> Any:
    return wait_until(check, timeout, what, interval=0.1, on_timeout=stack.log_tail)


def elapsed(since: float) -> float:
    return round(time.monotonic() - since, 1)
