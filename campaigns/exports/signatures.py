"""The export of a campaign's validated signatures, personal data included
(admins only): read in keyset-paginated batches and decrypted as they go, so
that memory stays at one batch whatever the campaign's size."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Row, func, select

from ..extensions import db
from ..models import Signature, SignatureState
from ..privacy.crypto import DecryptionError, Keyring, keyring
from ..privacy.personal import PersonalData, open_personal_data
from .spreadsheet import Cell

BATCH = 2000
# Machine names, the same as the paper import's columns where they overlap.
HEADER: list[Cell] = [
    "created_at", "validated_at", "source", "full_name", "email", "phone",
    "country", "region", "amount", "show_name", "deliver_name", "contact_ok", "consent_version",
]


def validated_count(campaign_id: int, *, named_only: bool = False) -> int:
    """How many validated signatures the export holds; with ``named_only``,
    how many signers agreed to have their full name printed in the delivery
    document (``deliver_name``)."""
    query = (
        select(func.count())
        .select_from(Signature)
        .where(Signature.campaign_id == campaign_id, Signature.state == SignatureState.validated)
    )
    if named_only:
        query = query.where(Signature.deliver_name.is_(True))
    return int(db.session.execute(query).scalar_one())


def _time(value: datetime | None) -> str:
    # As strftime("%Y-%m-%dT%H:%M:%SZ") writes it (times are UTC), in a tenth of the time.
    return value.replace(tzinfo=None).isoformat(timespec="seconds") + "Z" if value else ""


def personal_data_of(blob: bytes | None, ring: Keyring | None = None) -> PersonalData:
    """A selected ``personal_data`` column opened; empty when erased (retention)
    or unreadable, so that the signature still counts."""
    empty = PersonalData(name="", email=None, phone=None, region="")
    if blob is None:
        return empty
    try:
        return open_personal_data(blob, ring)
    except (LookupError, DecryptionError):
        return empty


def validated_batches(
    campaign_id: int, *columns: Any, batch: int = BATCH, end_reads: bool = False
) -> Iterator[Sequence[Row[Any]]]:
    """The campaign's validated signatures in id order, keyset-paginated: the
    id and ``columns`` of each, one list of rows per batch. With
    ``end_reads``, each read's transaction ends as soon as it is read."""
    last_id = 0
    while True:
        rows = db.session.execute(
            select(Signature.id, *columns)
            .where(
                Signature.campaign_id == campaign_id,
                Signature.state == SignatureState.validated,
                Signature.id > last_id,
            )
            .order_by(Signature.id)
            .limit(batch)
        ).all()
        if end_reads:
            db.session.rollback()
        if not rows:
            return
        yield rows
        if len(rows) < batch:
            return
        last_id = rows[-1].id


def signature_batches(campaign_id: int, batch: int = BATCH) -> Iterator[list[list[Cell]]]:
    """The campaign's validated signatures in id order (rows under HEADER), one
    list of rows per batch. Each batch ends its read transaction, so a slow
    download never holds one open."""
    for rows in validated_batches(
        campaign_id,
        Signature.created_at,
        Signature.validated_at,
        Signature.source,
        Signature.personal_data,
        Signature.country,
        Signature.amount,
        Signature.show_name,
        Signature.deliver_name,
        Signature.contact_ok,
        Signature.consent_version,
        batch=batch,
        end_reads=True,
    ):
        ring = keyring()
        out: list[list[Cell]] = []
        for row in rows:
            person = personal_data_of(row.personal_data, ring)
            out.append(
                [
                    _time(row.created_at),
                    _time(row.validated_at),
                    row.source.value,
                    person["name"],
                    person["email"],
                    person["phone"],
                    row.country,
                    person["region"],
                    row.amount,
                    "yes" if row.show_name else "no",
                    "yes" if row.deliver_name else "no",
                    "yes" if row.contact_ok else "no",
                    row.consent_version,
                ]
            )
        yield out
