"""The pieces of a real deployment for the end-to-end tests, all on loopback:
an SMTP server's mailbox, a Celery worker process, and the site they make up."""

from __future__ import annotations

import contextlib
import email
import os
import signal
import socket
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from email import policy
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import pytest
from flask import Flask

REPO = Path(__file__).resolve().parents[2]
HOST = "127.0.0.1"
WORKER_STOP_TIMEOUT = 15


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        return int(sock.getsockname()[1])


def wait_until(
    check: Callable[[], Any],
    timeout: float,
    what: str,
    interval: float = 0.05,
    on_timeout: Callable[[], str] | None = None,
) -> Any:
    """Poll ``check`` until it returns something truthy; fail after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        result = check()
        if result:
            return result
        if time.monotonic() > deadline:
            detail = on_timeout() if on_timeout else ""
            pytest.fail(f"timed out after {timeout} s waiting for {what}\n{detail}", pytrace=False)
        time.sleep(interval)


# -- SMTP


@dataclass
class Received:
    recipients: list[str]
    message: EmailMessage


@dataclass
class Mailbox:
    """aiosmtpd handler that keeps every message, parsed with the default policy."""

    received: list[Received] = field(default_factory=list)
    _changed: threading.Condition = field(default_factory=threading.Condition)

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802
        message = email.message_from_bytes(envelope.content, policy=policy.default)
        assert isinstance(message, EmailMessage)
        with self._changed:
            self.received.append(Received(list(envelope.rcpt_tos), message))
            self._changed.notify_all()
        return "250 Message accepted for delivery"

    def messages_to(self, address: str) -> list[EmailMessage]:
        with self._changed:
            return [r.message for r in self.received if address in r.recipients]

    def wait_for_messages_to(
        self, address: str, count: int, timeout: float, log: Callable[[], str] | None = None
    ) -> list[EmailMessage]:
        """The first ``count`` messages sent to ``address``, waiting for them."""
        deadline = time.monotonic() + timeout
        with self._changed:
            while True:
                found = [r.message for r in self.received if address in r.recipients]
                if len(found) >= count:
                    return found[:count]
                left = deadline - time.monotonic()
                if left <= 0:
                    break
                self._changed.wait(left)
        pytest.fail(
            f"timed out after {timeout} s waiting for email #{count} to {address}; "
            f"received: {[(r.recipients, r.message['Subject']) for r in self.received]}\n"
            + (log() if log else ""),
            pytrace=False,
        )


# -- Celery worker


class Worker:
    """``celery -A workers worker --beat`` as a child process, its output kept."""

    def __init__(self, env: dict[str, str], tmp: Path) -> None:
        celery = Path(sys.executable).parent / "celery"
        self.lines: list[str] = []
        self.ready = threading.Event()
        self.process = subprocess.Popen(
            [
                str(celery),
                "-A",
                "workers",
                "worker",
                "--beat",
                "--queues",
                "zaytoun,periodic",
                "--concurrency",
                "2",
                "--loglevel",
                "INFO",
                "--schedule",
                str(tmp / "celerybeat-schedule"),
                "--hostname",
                f"zaytoun-e2e-{uuid.uuid4().hex[:6]}@%h",
            ],
            cwd=REPO,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            # Its own process group, so that its pool children are stopped with it.
            start_new_session=True,
        )
        self._reader = threading.Thread(target=self._read, name="worker-log", daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self.lines.append(line)
            if " ready." in line:
                self.ready.set()

    @property
    def log(self) -> str:
        return "".join(self.lines)

    def log_tail(self, n: int = 60) -> str:
        return "--- celery worker log (tail) ---\n" + "".join(self.lines[-n:])

    def wait_ready(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while not self.ready.wait(0.1):
            if self.process.poll() is not None:
                pytest.fail(
                    f"the Celery worker exited with {self.process.returncode}\n{self.log}",
                    pytrace=False,
                )
            if time.monotonic() > deadline:
                pytest.fail(
                    f"the Celery worker was not ready after {timeout} s\n{self.log}",
                    pytrace=False,
                )

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)  # warm shutdown
            with contextlib.suppress(subprocess.TimeoutExpired):
                self.process.wait(WORKER_STOP_TIMEOUT)
        # Whatever is left of its group (pool children, embedded beat).
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait(WORKER_STOP_TIMEOUT)
        self._reader.join(5)


# -- The site


@dataclass(frozen=True)
class Database:
    name: str
    url: str  # as an operator writes DATABASE_URL


@dataclass
class Site:
    url: str
    app: Flask
    env: dict[str, str]
    mailbox: Mailbox
    worker: Worker
    database: Database
