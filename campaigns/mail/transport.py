"""How a message leaves: SMTP in production, a local outbox folder (and the
console) on the embedded default. Both accept many messages per connection."""

from __future__ import annotations

import re
import smtplib
import ssl
import sys
from abc import abstractmethod
from contextlib import AbstractContextManager, suppress
from email import policy as email_policy
from email.header import Header, decode_header, make_header
from email.message import Message
from email.mime.multipart import MIMEMultipart
from email.mime.text import MIMEText
from email.utils import formataddr, parseaddr
from pathlib import Path
from types import TracebackType

from flask import Flask, current_app

from ..privacy.crypto import fingerprint
from ..privacy.files import private_directory, write_private

_LINK = re.compile(r"https?://[^\s<>\"']+")


class TemporaryFailure(Exception):
    """Try again later (connection refused, 4xx answer, timeout)."""


class PermanentFailure(Exception):
    """Never try again (5xx answer for this recipient or message)."""


# Messages are built with the email package's compat32 classes: plain strings
# for headers, encoded as RFC 2047 words when they are not ASCII. The newer
# EmailMessage API parses every header into objects and refolds them when the
# message is written, five times the cost of a confirmation email; it also
# folds long Arabic subjects so that readers lose the space between words.
# Non-ASCII headers are encoded (and folded) as they are set; the others stay on
# one line: a folded List-Unsubscribe URL is one that some providers misread.
WIRE = email_policy.compat32.clone(linesep="\r\n", max_line_length=998)
# An address that is not ASCII (email-validator accepts them) travels as UTF-8
# with SMTPUTF8 (RFC 6531): it cannot be an encoded word.
WIRE_UTF8 = email_policy.SMTPUTF8


def build_message(
    *,
    subject: str,
    to: str,
    plain: str,
    html: str,
    lang: str,
    email_id: int,
    headers: tuple[tuple[str, str], ...] = (),
    sender_name: str | None = None,
) -> Message:
    """A text and an HTML alternative of one message, UTF-8, to one address;
    ``sender_name`` replaces the display name of MAIL_DEFAULT_SENDER."""
    message = MIMEMultipart("alternative")
    message["Subject"] = subject if subject.isascii() else Header(subject, "utf-8").encode()
    name, sender = parseaddr(current_app.config["MAIL_DEFAULT_SENDER"])
    if sender_name is not None:
        name = sender_name
    message["From"] = formataddr((name, sender), charset="utf-8")
    message["To"] = to
    message["Message-ID"] = message_id(email_id)
    message["Content-Language"] = lang
    for header, value in headers:
        message[header] = value
    message.attach(MIMEText(plain, "plain", "utf-8"))
    message.attach(MIMEText(html, "html", "utf-8"))
    return message


def international(message: Message) -> bool:
    return not (str(message["From"]) + str(message["To"])).isascii()


def wire_bytes(message: Message, linesep: str = "\r\n") -> bytes:
    """The message as it is sent; a file keeps it with "\n" line ends."""
    policy = WIRE_UTF8 if international(message) else WIRE
    return message.as_bytes(policy=policy.clone(linesep=linesep))


def decoded_subject(message: Message) -> str:
    return str(make_header(decode_header(str(message["Subject"] or ""))))


def plain_text(message: Message) -> str:
    for part in message.walk():
        if part.get_content_type() == "text/plain":
            payload = part.get_payload(decode=True)
            return payload.decode() if isinstance(payload, bytes) else ""
    return ""


class Transport(AbstractContextManager["Transport"]):
    """Sends the messages of a batch; closed (as a context manager, on exit)
    when the batch is done."""

    @abstractmethod
    def send(self, message: Message) -> None: ...

    def close(self) -> None:
        return None

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()


class FolderTransport(Transport):
    """Writes each message as an .eml file; the person running the site reads them."""

    def __init__(self, folder: Path, echo: bool) -> None:
        self.folder = folder
        self.echo = echo

    def send(self, message: Message) -> None:
        private_directory(self.folder)
        msgid = str(message["Message-ID"]).strip("<>").split("@")[0]
        path = self.folder / f"{msgid}.eml"
        write_private(path, wire_bytes(message, linesep="\n"))
        if self.echo:
            # What a developer needs to follow the flow, and no personal data:
            # the body greets the signer by name, the header holds the address.
            links = _LINK.findall(plain_text(message))
            print(f"--- email written to {path} ---", file=sys.stderr)
            print(f"Subject: {decoded_subject(message)}", file=sys.stderr)
            for link in dict.fromkeys(links):
                print(f"Link: {link}", file=sys.stderr)


class SMTPTransport(Transport):
    """One SMTP connection, opened on first use and reused for a batch."""

    def __init__(self, app: Flask) -> None:
        self.config = app.config
        self.connection: smtplib.SMTP | None = None

    def _connect(self) -> smtplib.SMTP:
        c = self.config
        try:
            if c["MAIL_USE_SSL"]:
                smtp: smtplib.SMTP = smtplib.SMTP_SSL(
                    c["MAIL_SERVER"], c["MAIL_PORT"], timeout=c["MAIL_TIMEOUT"],
                    context=ssl.create_default_context(),
                )
            else:
                smtp = smtplib.SMTP(c["MAIL_SERVER"], c["MAIL_PORT"], timeout=c["MAIL_TIMEOUT"])
                if c["MAIL_USE_TLS"]:
                    smtp.starttls(context=ssl.create_default_context())
            if c["MAIL_USERNAME"]:
                smtp.login(c["MAIL_USERNAME"], c["MAIL_PASSWORD"])
        except (OSError, smtplib.SMTPException) as exc:
            raise TemporaryFailure(f"connect: {type(exc).__name__}") from exc
        return smtp

    def send(self, message: Message) -> None:
        if self.connection is None:
            self.connection = self._connect()
        sender, to = parseaddr(str(message["From"]))[1], str(message["To"])
        options = ["SMTPUTF8", "BODY=8BITMIME"] if international(message) else []
        try:
            refused = self.connection.sendmail(sender, [to], wire_bytes(message), options)
        except smtplib.SMTPRecipientsRefused as exc:
            codes = [code for code, _ in exc.recipients.values()]
            raise _classify(min(codes), "recipient refused") from exc
        except smtplib.SMTPResponseException as exc:
            self.close()
            raise _classify(exc.smtp_code, "refused") from exc
        except (OSError, smtplib.SMTPException) as exc:
            self.close()
            raise TemporaryFailure(f"send: {type(exc).__name__}") from exc
        if refused:
            raise PermanentFailure("recipient refused")

    def close(self) -> None:
        if self.connection is not None:
            with suppress(OSError, smtplib.SMTPException):
                self.connection.quit()
            self.connection = None


def _classify(code: int, what: str) -> Exception:
    if 500 <= code < 600:
        return PermanentFailure(f"{what} {code}")
    return TemporaryFailure(f"{what} {code}")


def open_transport() -> Transport:
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    if app.config["MAIL_SERVER"]:
        return SMTPTransport(app)
    return FolderTransport(Path(app.config["MAIL_OUTBOX_DIR"]), app.config["MAIL_ECHO"])


def message_id(email_id: int) -> str:
    """The Message-ID of an email log row: the same for every attempt, so a
    message sent again (a worker killed after the server took it, before the
    outcome was recorded) is recognisably the same message to mail servers
    and clients, which drop the repeat. Keyed, so it reveals no row count."""
    token = fingerprint("message-id", str(email_id)).hex()[:32]
    return f"<{token}@zaytoun.localhost>"
