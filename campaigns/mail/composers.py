"""Who writes each kind of email. The domains compose their own messages (a
composer per ``EmailKind``: signing's confirmation, updates' news and
notices, …); this package only delivers what it is handed. The application
factory registers every domain's composers and refuses to start while a kind
has none, so mail never imports a domain package."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from email.message import Message

from flask import Flask, current_app

from ..models import EmailKind, EmailLog, Signature
from .transport import PermanentFailure, build_message

EXTENSION = "mail_composers"


@dataclass(frozen=True)
class Draft:
    """A composed email: what its domain says, before the transport's envelope
    (sender, Message-ID). The address is read at send time, never stored."""

    to: str
    subject: str
    plain: str
    html: str
    lang: str
    headers: tuple[tuple[str, str], ...] = ()
    # Low-trace: sent under MAIL_NEUTRAL_SENDER_NAME. The domain has already
    # made the subject, the headers and the body's opening neutral.
    neutral: bool = False


# A composer turns an email log row (and its signature, loaded with its
# campaign and texts when the row has one) into a draft. It raises
# PermanentFailure when the email must never be sent (no longer a recipient).
Composer = Callable[[EmailLog, Signature | None], Draft]


class UnknownEmailKind(Exception):
    """An email kind no domain composes: a new kind was added to ``EmailKind``
    without registering its composer."""

    def __init__(self, kind: EmailKind) -> None:
        super().__init__(f"no composer is registered for emails of kind {kind.value!r}")
        self.kind = kind


class Composers:
    """The registry: one composer per email kind."""

    def __init__(self) -> None:
        self._by_kind: dict[EmailKind, Composer] = {}

    def register(self, kind: EmailKind, composer: Composer) -> None:
        if kind in self._by_kind:
            raise ValueError(f"emails of kind {kind.value!r} already have a composer")
        self._by_kind[kind] = composer

    def composer(self, kind: EmailKind) -> Composer:
        try:
            return self._by_kind[kind]
        except KeyError:
            raise UnknownEmailKind(kind) from None

    def missing(self) -> list[EmailKind]:
        return [kind for kind in EmailKind if kind not in self._by_kind]


# Each domain's ``register_emails``: adds its composers to the registry.
Registrar = Callable[[Composers], None]


def init_composers(app: Flask, *registrars: Registrar) -> Composers:
    """Collect the domains' composers for this app; every kind must have one."""
    composers = Composers()
    for register in registrars:
        register(composers)
    missing = composers.missing()
    if missing:
        raise UnknownEmailKind(missing[0])
    app.extensions[EXTENSION] = composers
    return composers


def compose(email: EmailLog, signature: Signature | None) -> Message:
    """The message for one email log row, composed by its kind's domain."""
    composers: Composers = current_app.extensions[EXTENSION]
    draft = composers.composer(email.kind)(email, signature)
    return build_message(
        subject=draft.subject,
        to=draft.to,
        plain=draft.plain,
        html=draft.html,
        lang=draft.lang,
        email_id=email.id,
        headers=draft.headers,
        sender_name=current_app.config["MAIL_NEUTRAL_SENDER_NAME"] if draft.neutral else None,
    )


def signer(signature: Signature | None) -> Signature:
    """The signature an email to its signer goes to, while its personal data
    is kept; erased, the email is never sent."""
    if signature is None or signature.personal_data is None:
        raise PermanentFailure("signer data erased")
    return signature


def isolate(text: str) -> str:
    """First-strong isolates: a Latin name cannot scramble an Arabic line."""
    return f"\u2068{text}\u2069"
