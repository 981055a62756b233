"""Signing and confirming: plain functions the views call. They flush, never
commit; the request commits once."""

from __future__ import annotations

import uuid
from contextlib import suppress
from dataclasses import dataclass
from datetime import timedelta
from functools import cache
from typing import Any

from sqlalchemy import Insert, String, bindparam, insert, literal, select
from sqlalchemy.dialects import postgresql

from ..accounts.throttle import take_attempt
from ..extensions import db, execute_alone
from ..jobs import NOTIFY_DUPLICATE_SIGNATURE, VALIDATE_SIGNATURE
from ..kernel.normalize import (
    canonical_email,
    canonical_of_display,
    canonical_phone,
    clean_text,
    display_email,
)
from ..models import Campaign, OutboxMessage, Signature, SignatureSource, SignatureState
from ..models.types import utcnow
from ..outbox import enqueue_all
from ..privacy.crypto import fingerprint, hash_ip, keyring
from ..privacy.personal import PersonalData
from ..reach.codes import source_code_id
from ..site_settings import signing_paused
from ..upsert import insert_ignore
from .codes import (
    ADDRESS_WINDOW,
    ATTEMPTS_PER_ADDRESS,
    ATTEMPTS_PER_SIGNATURE,
    address_key,
    code_matches,
    max_age,
    read_reference,
    signature_key,
)
from .lifecycle import ROW_COLUMNS, confirm, signature_row
from .networks import network_id_for
from .tokens import ExpiredToken, InvalidToken, read_confirm_token


class SigningClosed(Exception):
    """The campaign does not take signatures now (closed, paused, not open yet)."""


class AlreadyConfirmed(Exception):
    """The signature was confirmed before; nothing to do."""


class NotConfirmable(Exception):
    """The token is good but the signature cannot be confirmed (removed)."""


class ConfirmationClosed(Exception):
    """The campaign closed before the signature was confirmed: its count is final."""


@dataclass(frozen=True)
class SignatureInput:
    """What a signer submits, already checked by the form."""

    full_name: str
    email: str
    country: str
    region: str
    phone: str = ""
    amount: int | None = None
    show_name: bool = False
    deliver_name: bool = False
    contact_ok: bool = False


def email_fingerprint(email: str) -> bytes:
    return fingerprint("email", canonical_email(email))


def sign_campaign(
    campaign: Campaign,
    data: SignatureInput,
    *,
    locale: str,
    client_ip: str | None,
    source: str | None = None,
) -> uuid.UUID | None:
    """Record a signature. A second signature by the same person is absorbed by
    the unique index and answered exactly like a first one: the caller cannot
    tell them apart; the person gets an "already signed" email instead.

    Returns the new signature's public UUID, or None when no row was written
    (a duplicate): only for the code reference, which hides which it was.
    ``source`` is the share link's source code as given: kept when it is a
    live code of this campaign, ignored otherwise (from the process's copy of
    the codes, no query)."""
    if not campaign.is_signable() or signing_paused():
        raise SigningClosed(campaign.slug)
    ring = keyring()
    address = display_email(data.email)
    canonical = canonical_of_display(address)
    digest = fingerprint("email", canonical, ring=ring)
    values = signature_row(
        campaign,
        data,
        source=SignatureSource.web,
        personal=PersonalData(
            name=clean_text(data.full_name),
            email=address,
            phone=canonical_phone(data.phone, data.country) if data.phone else None,
            region=clean_text(data.region),
        ),
        fingerprint=digest,
        locale=locale,
        ring=ring,
        canonical_email=canonical,
        ip_hash=hash_ip(client_ip, ring) if client_ip else None,
        # Decided now, while the address is at hand; only the id is kept.
        network_id=network_id_for(client_ip),
        source_code_id=source_code_id(campaign.id, source),
    )
    if db.session.get_bind().dialect.name == "postgresql":
        # The signature and its outbox row in one statement: one round trip.
        # It returns the new row's id only when the INSERT wrote one.
        new_id = execute_alone(_pg_sign_statement(), values)
        if new_id is None:
            _notify_signed_before(campaign.id, [digest])
            return None
        return values["uuid"]
    written = record_signatures(campaign.id, [values])
    return values["uuid"] if digest in written else None


def record_signatures(campaign_id: int, rows: list[dict[str, Any]]) -> set[bytes]:
    """Insert pending signatures of one campaign with their validation tasks
    (flush only). A row whose person already signed is absorbed by the unique
    index and the existing signature gets the "already signed" email task
    instead: nothing the caller sees tells the two apart. Web signing and
    paper rows with an email both come through here. Returns the fingerprints
    of the rows written."""
    inserted: dict[bytes, int] = {
        digest: new_id
        for digest, new_id in db.session.execute(
            insert_ignore(Signature, ["campaign_id", "fingerprint"]).returning(
                Signature.fingerprint, Signature.id
            ),
            rows,
        )
    }
    enqueue_all(VALIDATE_SIGNATURE.name, list(inserted.values()))
    repeated = [row["fingerprint"] for row in rows if row["fingerprint"] not in inserted]
    if repeated:
        _notify_signed_before(campaign_id, repeated)
    return set(inserted)


def _notify_signed_before(campaign_id: int, fingerprints: list[bytes]) -> None:
    """The "already signed" email task for the signatures these people gave before."""
    existing = db.session.execute(
        select(Signature.id).where(
            Signature.campaign_id == campaign_id, Signature.fingerprint.in_(fingerprints)
        )
    ).scalars()
    enqueue_all(NOTIFY_DUPLICATE_SIGNATURE.name, list(existing))


@cache
def _pg_sign_statement() -> Insert:
    """``WITH s AS (INSERT INTO signatures … ON CONFLICT DO NOTHING RETURNING id)
    INSERT INTO outbox … SELECT … FROM s RETURNING object_id``, built once: a
    Core statement of bound parameters, so no ORM work and a cheap cache key on
    the hot path. Nothing is inserted in the outbox when the signature existed."""
    table = Signature.__table__
    signature = (
        postgresql.insert(table)
        .values({name: bindparam(name, type_=table.c[name].type) for name in ROW_COLUMNS})
        .on_conflict_do_nothing(index_elements=["campaign_id", "fingerprint"])
        .returning(table.c.id)
        .cte("new_signature")
    )
    outbox = OutboxMessage.__table__
    return (
        insert(outbox)
        .from_select(
            ["task", "object_id", "created_at"],
            select(
                literal(VALIDATE_SIGNATURE.name, String),
                signature.c.id,
                bindparam("created_at", type_=outbox.c.created_at.type),
            ),
        )
        .returning(outbox.c.object_id)
    )


def confirm_signature(token: str, receipt_hash: bytes | None = None) -> Campaign:
    """Validate the signature a confirmation token names; returns its campaign.

    Guarded on state: only a pending signature that passed the checks becomes
    validated (or held, when the checks gave it a hold reason), and only once;
    then it keeps ``receipt_hash`` (the hash of the receipt code shown)."""
    signature_uuid: uuid.UUID = read_confirm_token(token)
    signature = db.session.execute(
        select(Signature).where(Signature.uuid == signature_uuid)
    ).scalar_one_or_none()
    if signature is None:
        raise NotConfirmable
    _confirm(signature, receipt_hash)
    return signature.campaign


def _confirm(signature: Signature, receipt_hash: bytes | None) -> None:
    """The guarded move, and why it did not happen as a named exception: the
    link and the code confirm through here alike."""
    now = utcnow()
    if confirm(signature.id, signature.campaign_id, now, receipt_hash):
        return
    if signature.validated_at is not None and signature.state is SignatureState.validated:
        raise AlreadyConfirmed
    # Before the fraud answer: a closed campaign answers alike for both.
    if not signature.campaign.takes_confirmations(now):
        raise ConfirmationClosed
    # Fraudulent signatures answer like confirmed ones: bots learn nothing.
    # A held one was confirmed (it waits for review).
    if signature.state in (SignatureState.fraudulent, SignatureState.held):
        raise AlreadyConfirmed
    raise NotConfirmable


class CodeRefused(Exception):
    """A typed code was not taken; ``reason`` is ``missing`` (this browser
    holds no reference), ``expired``, ``wrong`` or ``locked`` (past the tries
    for the signature or the client address)."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def confirm_by_code(
    campaign: Campaign,
    reference: str | None,
    code: str,
    *,
    client_ip: str | None,
    receipt_hash: bytes | None = None,
) -> Signature:
    """Validate the signature this browser's reference names, if ``code``
    (already read by ``typed_code``) is its code; returns it. Confirms exactly
    like the link (ConfirmationClosed, NotConfirmable); a second time, or a
    fraudulent signature, is answered like a confirmation.

    Every try is counted, per client address and per reference, before the
    code is compared: a duplicate's or a bot's reference names no signature
    and is counted and refused alike. The counts stay when the caller commits
    a refusal, which it must."""
    if reference is None:
        raise CodeRefused("missing")
    try:
        signature_uuid = read_reference(reference)
    except ExpiredToken as exc:
        raise CodeRefused("expired") from exc
    except InvalidToken as exc:
        raise CodeRefused("missing") from exc
    if client_ip and not take_attempt(address_key(client_ip), ATTEMPTS_PER_ADDRESS, ADDRESS_WINDOW):
        raise CodeRefused("locked")
    if not take_attempt(
        signature_key(signature_uuid), ATTEMPTS_PER_SIGNATURE, timedelta(seconds=max_age())
    ):
        raise CodeRefused("locked")
    signature = db.session.execute(
        select(Signature).where(
            Signature.uuid == signature_uuid, Signature.campaign_id == campaign.id
        )
    ).scalar_one_or_none()
    if signature is None or not code_matches(signature_uuid, code):
        raise CodeRefused("wrong")
    # Confirmed before, or fraudulent (which answers alike): the same answer.
    with suppress(AlreadyConfirmed):
        _confirm(signature, receipt_hash)
    return signature


def signature_for_token(token: str) -> Signature | None:
    """The signature a token names, for the landing page (no state change)."""
    signature_uuid = read_confirm_token(token)
    return db.session.execute(
        select(Signature).where(Signature.uuid == signature_uuid)
    ).scalar_one_or_none()
