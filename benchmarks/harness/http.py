"""A small HTTP/1.1 load generator on the standard library's asyncio.

Why not wrk: wrk stops a run by dropping the requests in flight, so the server
may store signatures whose answers were never counted; the "nothing lost"
figure needs every request sent to be answered and counted. Here a run stops
issuing new requests at its deadline (or its request budget) and waits for the
ones in flight, with a watchdog for stuck ones. The client is a raw
keep-alive connection per virtual user (``asyncio.Protocol``, requests built as
bytes, only the status line and the framing headers parsed), so it costs a few
tens of microseconds of CPU per request; each run reports the CPU it used so
the reader sees how much it took from the server.
"""

from __future__ import annotations

import asyncio
import contextlib
import re
import time
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, cast
from urllib.parse import quote_plus

HOST = "127.0.0.1"
_LOOPBACK = re.compile(r"^(127\.\d+\.\d+\.\d+|localhost|::1)$")


class ProtocolError(Exception):
    """The server answered something this client does not read."""


@dataclass
class Response:
    status: int
    head: bytes
    body: bytes

    def header(self, name: str) -> list[str]:
        """Every value of a header (case-insensitive)."""
        prefix = name.lower().encode() + b":"
        values = []
        for line in self.head.split(b"\r\n")[1:]:
            if line.lower().startswith(prefix):
                values.append(line[len(prefix) :].strip().decode("latin-1"))
        return values

    @property
    def text(self) -> str:
        return self.body.decode("utf-8")


class Connection(asyncio.Protocol):
    """One keep-alive connection; one request at a time."""

    def __init__(self) -> None:
        self.transport: asyncio.Transport | None = None
        self.buffer = bytearray()
        self.waiter: asyncio.Future[Response] | None = None
        self.closed = False
        self.started = 0.0  # when the request in flight was sent (for the watchdog)
        self._need = -1  # total bytes of the response being read, once the head is in
        self._head = b""
        self._status = 0
        self._close_after = False

    @classmethod
    async def open(cls, host: str, port: int) -> Connection:
        if not _LOOPBACK.match(host):
            raise ValueError(f"the benchmark only ever targets loopback, not {host!r}")
        loop = asyncio.get_running_loop()
        _, protocol = await loop.create_connection(cls, host, port)
        return protocol

    # -- asyncio.Protocol

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.Transport, transport)

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        self._parse()

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        if self.waiter is not None and not self.waiter.done():
            self.waiter.set_exception(ConnectionError("connection closed by the server"))

    # -- requests

    def abort(self) -> None:
        self.closed = True
        if self.transport is not None:
            self.transport.abort()

    def request(self, data: bytes) -> asyncio.Future[Response]:
        """Send one request (bytes as built by :func:`build`); the future is its answer."""
        if self.closed or self.transport is None:
            raise ConnectionError("connection is closed")
        self.waiter = asyncio.get_running_loop().create_future()
        self.started = time.monotonic()
        self.transport.write(data)
        return self.waiter

    def _parse(self) -> None:
        buffer = self.buffer
        if self._need < 0:
            end = buffer.find(b"\r\n\r\n")
            if end < 0:
                return
            head = bytes(buffer[:end])
            lower = head.lower()
            self._status = int(head[9:12])
            at = lower.find(b"\r\ncontent-length:")
            if at >= 0:
                stop = lower.find(b"\r\n", at + 2)
                length = int(head[at + 17 : stop if stop >= 0 else len(head)])
            elif self._status in (204, 304) or self._status < 200:
                length = 0
            else:
                self.fail(ProtocolError("response without Content-Length"))
                return
            self._close_after = b"\r\nconnection: close" in lower
            self._head = head
            self._need = end + 4 + length
        if len(buffer) < self._need:
            return
        body = bytes(buffer[len(self._head) + 4 : self._need])
        del buffer[: self._need]
        self._need = -1
        response = Response(self._status, self._head, body)
        if self._close_after:
            self.abort()
        waiter, self.waiter = self.waiter, None
        if waiter is not None and not waiter.done():
            waiter.set_result(response)

    def fail(self, exc: Exception) -> None:
        if self.waiter is not None and not self.waiter.done():
            self.waiter.set_exception(exc)
        self.abort()


def build(
    method: str,
    path: str,
    port: int,
    *,
    body: bytes = b"",
    headers: dict[str, str] | None = None,
) -> bytes:
    """An HTTP/1.1 request as bytes (keep-alive)."""
    lines = [f"{method} {path} HTTP/1.1", f"Host: {HOST}:{port}"]
    for name, value in (headers or {}).items():
        lines.append(f"{name}: {value}")
    if body or method == "POST":
        lines.append("Content-Type: application/x-www-form-urlencoded")
        lines.append(f"Content-Length: {len(body)}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + body


def form(fields: dict[str, str]) -> bytes:
    return "&".join(f"{k}={quote_plus(v)}" for k, v in fields.items()).encode()


async def fetch(
    port: int,
    method: str,
    path: str,
    *,
    body: bytes = b"",
    headers: dict[str, str] | None = None,
    timeout: float = 30,
) -> Response:
    """One request on a fresh connection (set-up steps, probes)."""
    conn = await Connection.open(HOST, port)
    try:
        return await asyncio.wait_for(
            conn.request(build(method, path, port, body=body, headers=headers)), timeout
        )
    finally:
        conn.abort()


# -- load runs


@dataclass
class VirtualUser:
    """One simulated client: its connection and whatever it carries (cookie, token)."""

    index: int
    conn: Connection | None = None
    state: dict[str, Any] = field(default_factory=dict)


@dataclass
class LoadResult:
    name: str
    concurrency: int
    duration_s: float  # measured window (after warm-up)
    sent: int = 0  # requests sent in the whole run, warm-up included
    ok: int = 0  # answered with an expected status, whole run
    errors: Counter[str] = field(default_factory=Counter)
    statuses: Counter[int] = field(default_factory=Counter)
    latencies: list[float] = field(default_factory=list)  # seconds, measured window
    measured_ok: int = 0
    client_cpu_s: float = 0.0
    wall_s: float = 0.0

    @property
    def rps(self) -> float:
        return self.measured_ok / self.duration_s if self.duration_s > 0 else 0.0

    def percentile(self, q: float) -> float | None:
        if not self.latencies:
            return None
        ordered = sorted(self.latencies)
        index = min(len(ordered) - 1, max(0, round(q / 100 * len(ordered) + 0.5) - 1))
        return ordered[index]

    def summary(self) -> dict[str, Any]:
        def ms(v: float | None) -> float | None:
            return None if v is None else round(v * 1000, 2)

        return {
            "name": self.name,
            "concurrency": self.concurrency,
            "measured_seconds": round(self.duration_s, 2),
            "requests_per_second": round(self.rps, 1),
            "sent": self.sent,
            "ok": self.ok,
            "errors": sum(self.errors.values()),
            "error_kinds": dict(self.errors),
            "statuses": {str(k): v for k, v in sorted(self.statuses.items())},
            "latency_ms": {
                "p50": ms(self.percentile(50)),
                "p90": ms(self.percentile(90)),
                "p99": ms(self.percentile(99)),
                "max": ms(max(self.latencies) if self.latencies else None),
            },
            "client_cpu_seconds": round(self.client_cpu_s, 2),
            "client_cpu_share_of_one_core": round(self.client_cpu_s / self.wall_s, 3)
            if self.wall_s
            else None,
            "client_cpu_us_per_request": round(self.client_cpu_s / self.sent * 1e6, 1)
            if self.sent
            else None,
        }


RequestMaker = Callable[[VirtualUser, int], bytes]
Prepare = Callable[[VirtualUser], Awaitable[None]]


async def run_load(
    name: str,
    port: int,
    make_request: RequestMaker,
    *,
    concurrency: int,
    duration: float,
    max_requests: int,
    expect: frozenset[int],
    warmup: float = 0.0,
    prepare: Prepare | None = None,
    request_timeout: float = 30.0,
    on_answer: Callable[[VirtualUser, Response], None] | None = None,
    reconnect_every: int = 100,
    pause_after: Callable[[Response], float] | None = None,
) -> LoadResult:
    """``concurrency`` virtual users send requests back to back for ``warmup +
    duration`` seconds or ``max_requests`` requests, whichever comes first;
    then the requests in flight are awaited (at most ``request_timeout``).
    Each user opens a new connection every ``reconnect_every`` requests: the
    gunicorn workers race to accept connections, and 64 connections kept for
    a whole phase can land unevenly on them and leave a core idle.

    Throughput and latencies count the requests answered after the warm-up and
    before the deadline; ``ok`` counts every expected answer of the run.
    ``pause_after(response)`` gives the seconds a user waits before its next
    request (a person told "try again in a moment" does not press at once)."""
    result = LoadResult(name=name, concurrency=concurrency, duration_s=duration)
    users = [VirtualUser(i) for i in range(concurrency)]
    for user in users:
        user.conn = await Connection.open(HOST, port)
        if prepare is not None:
            await prepare(user)
    tickets = iter(range(max_requests))
    cpu0, wall0 = time.process_time(), time.monotonic()
    measure_from = wall0 + warmup
    deadline = measure_from + duration

    async def user_loop(user: VirtualUser) -> None:
        latencies = result.latencies
        sent_here = 0
        for ticket in tickets:
            if time.monotonic() >= deadline:
                break
            sent_here += 1
            if user.conn is not None and sent_here % reconnect_every == 0:
                user.conn.abort()
            if user.conn is None or user.conn.closed:
                user.conn = await Connection.open(HOST, port)
            data = make_request(user, ticket)
            started = time.monotonic()
            result.sent += 1
            try:
                response = await user.conn.request(data)
            except (ConnectionError, ProtocolError, OSError) as exc:
                result.errors[type(exc).__name__] += 1
                user.conn.abort()
                continue
            finished = time.monotonic()
            result.statuses[response.status] += 1
            if response.status in expect:
                result.ok += 1
                if measure_from <= started and finished <= deadline:
                    result.measured_ok += 1
                    latencies.append(finished - started)
                if on_answer is not None:
                    on_answer(user, response)
            else:
                result.errors[f"status {response.status}"] += 1
            if pause_after is not None and (pause := pause_after(response)) > 0:
                await asyncio.sleep(pause)

    async def watchdog() -> None:
        # One timer for all connections rather than one per request.
        while True:
            await asyncio.sleep(0.5)
            now = time.monotonic()
            for user in users:
                conn = user.conn
                waiting = conn is not None and conn.waiter is not None and not conn.waiter.done()
                if conn is not None and waiting and now - conn.started > request_timeout:
                    conn.fail(TimeoutError("request timed out"))

    guard = asyncio.create_task(watchdog())
    try:
        await asyncio.gather(*(user_loop(u) for u in users))
    finally:
        guard.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await guard
        for user in users:
            if user.conn is not None:
                user.conn.abort()
    result.wall_s = time.monotonic() - wall0
    result.client_cpu_s = time.process_time() - cpu0
    # Stopped early by the request budget: the measured window is shorter.
    result.duration_s = max(0.001, min(deadline, time.monotonic()) - measure_from)
    return result
