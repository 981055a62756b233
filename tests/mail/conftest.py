"""A real SMTP server on loopback (aiosmtpd) for the delivery tests.

The server can answer like a sick or strict mail host: ``reply_at`` makes a
stage of the SMTP dialogue (``RCPT`` or ``DATA``) answer with a given line,
for example ``"451 try later"`` or ``"550 no such user"``."""

from __future__ import annotations

import asyncio
import email
import email.policy
import socket
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from email.message import EmailMessage
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from flask import Flask

HOST = "127.0.0.1"


def free_port() -> int:
    """A loopback port nothing listens on (the OS picks it; we close it again)."""
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        return int(sock.getsockname()[1])


@dataclass
class Delivered:
    peer: Any
    mail_from: str
    recipients: list[str]
    message: EmailMessage


@dataclass
class Mailbox:
    """aiosmtpd handler that keeps what it accepts and can refuse on demand."""

    delivered: list[Delivered] = field(default_factory=list)
    reply_at: dict[str, str] = field(default_factory=dict)
    # Recipient address → the line RCPT TO answers for it.
    reply_to_rcpt: dict[str, str] = field(default_factory=dict)
    # Seconds to hold each DATA answer, so that concurrent senders overlap.
    data_delay: float = 0.0
    lock: threading.Lock = field(default_factory=threading.Lock)

    async def handle_RCPT(  # noqa: N802 (aiosmtpd's hook name)
        self, server: Any, session: Any, envelope: Any, address: str, rcpt_options: list[str]
    ) -> str:
        if "RCPT" in self.reply_at:
            return self.reply_at["RCPT"]
        if address in self.reply_to_rcpt:
            return self.reply_to_rcpt[address]
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802
        if self.data_delay:
            await asyncio.sleep(self.data_delay)
        if "DATA" in self.reply_at:
            return self.reply_at["DATA"]
        message = email.message_from_bytes(envelope.content, policy=email.policy.default)
        with self.lock:
            self.delivered.append(
                Delivered(session.peer, envelope.mail_from, list(envelope.rcpt_tos), message)
            )
        return "250 Message accepted for delivery"


class SMTPServer:
    """One aiosmtpd server on a fixed loopback port, started and stopped at will."""

    def __init__(self, port: int, smtputf8: bool = False) -> None:
        self.port = port
        self.smtputf8 = smtputf8
        self.mailbox = Mailbox()
        self._controller: Controller | None = None

    def start(self) -> None:
        assert self._controller is None
        self._controller = Controller(
            self.mailbox,
            hostname=HOST,
            port=self.port,
            ready_timeout=10,
            enable_SMTPUTF8=self.smtputf8,
        )
        self._controller.start()

    def stop(self) -> None:
        if self._controller is not None:
            self._controller.stop()
            self._controller = None

    @property
    def delivered(self) -> list[Delivered]:
        with self.mailbox.lock:
            return list(self.mailbox.delivered)


@pytest.fixture
def smtp_down(app: Flask) -> Iterator[SMTPServer]:
    """The app sends to a loopback port where nothing listens (yet): call
    ``start()`` to bring the server up."""
    server = SMTPServer(free_port())
    app.config.update(MAIL_SERVER=HOST, MAIL_PORT=server.port, MAIL_TIMEOUT=5)
    yield server
    server.stop()


@pytest.fixture
def smtp(smtp_down: SMTPServer) -> SMTPServer:
    """The app sends to a running SMTP server on loopback."""
    smtp_down.start()
    return smtp_down
