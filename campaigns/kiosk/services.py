"""Kiosks and their entries. Plain functions: they flush, never commit."""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from dataclasses import dataclass

from sqlalchemy import func, select, update

from ..accounts.audit import record
from ..extensions import db
from ..kernel.normalize import canonical_phone, clean_text
from ..models import Campaign, Kiosk, Signature, SignatureSource, SignatureState, User
from ..models.types import utcnow
from ..paper.services import entry_scope, person_fingerprint
from ..privacy.crypto import keyring
from ..privacy.personal import PersonalData
from ..signing.lifecycle import signature_row
from ..signing.services import SigningClosed
from ..site_settings import signing_paused
from ..upsert import insert_ignore

# A stand's name as collectors write it ("Azaz market, Friday").
MAX_STAND = 120


class KioskClosed(Exception):
    """The kiosk was closed: it takes no more entries."""


@dataclass(frozen=True)
class Entry:
    """One person signed at a kiosk, as its form checked them."""

    key: uuid.UUID
    full_name: str
    country: str
    region: str
    phone: str = ""
    amount: int | None = None
    show_name: bool = False
    deliver_name: bool = False
    contact_ok: bool = False  # never asked at a kiosk: nobody gave an address


def open_kiosk(campaign: Campaign, collector: User, stand: str) -> Kiosk:
    """Open a kiosk for ``campaign`` at ``stand``, its signatures attributed
    to ``collector``; recorded in the audit log."""
    kiosk = Kiosk(
        campaign_id=campaign.id,
        collector_id=collector.id,
        stand=clean_text(stand)[:MAX_STAND],
        opened_at=utcnow(),
    )
    db.session.add(kiosk)
    db.session.flush()
    record("kiosk_opened", "campaign", campaign.id, kiosk=str(kiosk.uuid), stand=kiosk.stand)
    return kiosk


def close_kiosk(kiosk: Kiosk) -> bool:
    """Close a kiosk (guarded: False if it was closed already)."""
    closed = db.session.execute(
        update(Kiosk)
        .where(Kiosk.id == kiosk.id, Kiosk.closed_at.is_(None))
        .values(closed_at=utcnow())
        .returning(Kiosk.id)
        .execution_options(synchronize_session=False)
    ).scalar()
    if closed is None:
        return False
    record("kiosk_closed", "campaign", kiosk.campaign_id, kiosk=str(kiosk.uuid), stand=kiosk.stand)
    return True


def find_kiosk(kiosk_uuid: uuid.UUID) -> Kiosk | None:
    return db.session.execute(select(Kiosk).where(Kiosk.uuid == kiosk_uuid)).scalar_one_or_none()


def record_entries(kiosk: Kiosk, entries: Iterable[Entry], *, locale: str) -> set[uuid.UUID]:
    """Store a kiosk's entries as in-person signatures, validated at once (the
    collector saw each person sign). An entry whose key the kiosk sent before
    is absorbed by its unique index, and so is a person its collector entered
    before, at a stand or on paper (the same name, region and phone; never
    another account's entries, see ``person_fingerprint``): nothing tells
    the caller which. Returns the keys stored or absorbed, so that the device may
    forget them. Raises KioskClosed or SigningClosed."""
    campaign = kiosk.campaign
    if not kiosk.is_open:
        raise KioskClosed(str(kiosk.uuid))
    if not campaign.is_signable() or signing_paused():
        raise SigningClosed(campaign.slug)
    ring = keyring()
    scope = entry_scope(kiosk.collector_id)
    now = utcnow()
    rows = []
    for entry in entries:
        name, region = clean_text(entry.full_name), clean_text(entry.region)
        phone = canonical_phone(entry.phone, entry.country) if entry.phone else None
        values = signature_row(
            campaign,
            entry,
            source=SignatureSource.in_person,
            personal=PersonalData(name=name, email=None, phone=phone, region=region),
            fingerprint=person_fingerprint(name, region, phone, scope, ring),
            locale=locale,
            ring=ring,
            created_at=now,
            validated_at=now,
        )
        rows.append(values | {"kiosk_id": kiosk.id, "entry_key": entry.key})
    if rows:
        # Either unique key absorbs the row: the entry's (a resend), or the
        # person's (signed before).
        db.session.execute(insert_ignore(Signature, None), rows)
    return {row["entry_key"] for row in rows}


@dataclass(frozen=True)
class StandFigures:
    """A kiosk and how many of its signatures are counted, and invalidated."""

    kiosk: Kiosk
    validated: int
    invalidated: int


def stand_figures(campaign: Campaign) -> list[StandFigures]:
    """Every kiosk of the campaign, newest first, with its signatures' figures
    (for its managers: the collectors saw each of these people)."""
    kiosks = list(
        db.session.execute(
            select(Kiosk).where(Kiosk.campaign_id == campaign.id).order_by(Kiosk.id.desc())
        ).scalars()
    )
    counts: dict[tuple[int | None, SignatureState], int] = {
        (kiosk_id, state): n
        for kiosk_id, state, n in db.session.execute(
            select(Signature.kiosk_id, Signature.state, func.count())
            .where(Signature.kiosk_id.in_([k.id for k in kiosks]))
            .group_by(Signature.kiosk_id, Signature.state)
        )
    }
    return [
        StandFigures(
            kiosk,
            counts.get((kiosk.id, SignatureState.validated), 0),
            counts.get((kiosk.id, SignatureState.invalidated), 0),
        )
        for kiosk in kiosks
    ]
