"""An SMTP sink on loopback that counts what it receives, in a process of its
own so that it never shares the load generator's interpreter.

The count of messages is a shared integer the harness polls cheaply; the rest
(per-recipient counts, the few messages kept for the confirmation probes)
comes back over a pipe on request. Messages are not parsed: the sink costs
as little CPU as an SMTP server can.
"""

from __future__ import annotations

import multiprocessing
import multiprocessing.connection
import multiprocessing.sharedctypes
import threading
import time
from collections import Counter
from typing import Any

HOST = "127.0.0.1"


class _Handler:
    def __init__(self, counter: Any, keep_prefix: str) -> None:
        self.counter = counter
        self.keep_prefix = keep_prefix
        self.per_recipient: Counter[str] = Counter()
        self.kept: dict[str, bytes] = {}
        self.lock = threading.Lock()

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802
        with self.lock:
            for rcpt in envelope.rcpt_tos:
                address = rcpt.lower()
                self.per_recipient[address] += 1
                if address.startswith(self.keep_prefix):
                    self.kept[address] = bytes(envelope.content)
            self.counter.value += 1
        return "250 Message accepted for delivery"


def _serve(
    port: int,
    counter: Any,
    keep_prefix: str,
    conn: multiprocessing.connection.Connection,
) -> None:
    from aiosmtpd.controller import Controller

    handler = _Handler(counter, keep_prefix)
    controller = Controller(handler, hostname=HOST, port=port)
    controller.start()
    conn.send("ready")
    try:
        while True:
            command, argument = conn.recv()
            if command == "stop":
                break
            with handler.lock:
                if command == "stats":
                    counts = handler.per_recipient
                    conn.send(
                        {
                            "messages": counter.value,
                            "recipients": len(counts),
                            "deliveries": sum(counts.values()),
                            "recipients_more_than_once": sum(1 for n in counts.values() if n > 1),
                        }
                    )
                elif command == "kept":
                    conn.send(handler.kept.get(argument))
                elif command == "received":
                    conn.send({a: handler.per_recipient.get(a, 0) for a in argument})
                else:
                    conn.send(None)
    except EOFError:
        pass
    finally:
        controller.stop()


class Sink:
    """Start with :meth:`start`; :attr:`messages` is the live count."""

    def __init__(self, port: int, keep_prefix: str = "probe-") -> None:
        self.port = port
        context = multiprocessing.get_context("spawn")
        self._counter: Any = context.Value("q", 0, lock=False)
        self._conn, child = context.Pipe()
        self._lock = threading.Lock()
        self.process = context.Process(
            target=_serve,
            args=(port, self._counter, keep_prefix, child),
            name="smtp-sink",
            daemon=True,
        )

    def start(self, timeout: float = 20) -> None:
        self.process.start()
        if not self._conn.poll(timeout):
            raise RuntimeError("the SMTP sink did not start")
        self._conn.recv()

    @property
    def pid(self) -> int | None:
        return self.process.pid

    @property
    def messages(self) -> int:
        return int(self._counter.value)

    def _ask(self, command: str, argument: Any = None) -> Any:
        with self._lock:
            self._conn.send((command, argument))
            if not self._conn.poll(30):
                raise RuntimeError("the SMTP sink does not answer")
            return self._conn.recv()

    def stats(self) -> dict[str, int]:
        result: dict[str, int] = self._ask("stats")
        return result

    def kept(self, address: str) -> bytes | None:
        """The raw message sent to ``address`` (kept for addresses with the prefix)."""
        result: bytes | None = self._ask("kept", address.lower())
        return result

    def received(self, addresses: list[str]) -> dict[str, int]:
        result: dict[str, int] = self._ask("received", [a.lower() for a in addresses])
        return result

    def wait_for(self, count: int, timeout: float) -> bool:
        deadline = time.monotonic() + timeout
        while self.messages < count:
            if time.monotonic() > deadline:
                return False
            time.sleep(0.05)
        return True

    def stop(self) -> None:
        if self.process.is_alive():
            try:
                with self._lock:
                    self._conn.send(("stop", None))
            except OSError:
                pass
            self.process.join(10)
        if self.process.is_alive():
            self.process.kill()
            self.process.join(5)
