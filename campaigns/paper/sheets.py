"""The registry of printed collection sheets. Plain functions: they flush,
never commit.

A sheet is issued to a collector (whose name and phone are sealed like a
signer's data, under their own purpose), comes back (returned) and its rows
are typed into an import file that names it (imported). Its serial is the
campaign's prefix and the sheet's number (``OLI-0042``), printed on the
sheet; its code, random and unguessable, is only in the QR code's link."""

from __future__ import annotations

import re
import secrets
from collections import Counter

from sqlalchemy import func, select, update

from ..extensions import db
from ..kernel.normalize import ascii_digits, clean_text
from ..models import OUTSTANDING, Campaign, PaperSheet, SheetState
from ..models.types import utcnow
from ..privacy.personal import Collector, open_collector, seal_collector

# Sheets one form may issue at once: a collector's bundle, not a print run.
MAX_PER_BATCH = 50
# Lines to fill in on one sheet (one A4 page, landscape), each with its receipt.
SHEET_ROWS = 12
SERIAL_DIGITS = 4
_SERIAL = re.compile(r"^(?:([A-Z]{1,8})\s*[-‐–—]?\s*)?0*(\d{1,9})$")


class SheetRefused(Exception):
    """A sheet cannot move as asked (``reason``: ``not_issued``)."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def serial_prefix(campaign: Campaign) -> str:
    """Three letters of the campaign's address, in capitals (``OLI``)."""
    letters = re.sub(r"[^a-z]", "", campaign.slug.lower())
    return (letters[:3] or "ZYT").upper()


def serial(campaign: Campaign, number: int) -> str:
    return f"{serial_prefix(campaign)}-{number:0{SERIAL_DIGITS}d}"


def parse_serial(campaign: Campaign, typed: str) -> int | None:
    """The sheet number a typed serial names (``OLI-0042``, ``oli 42``, ``42``,
    Arabic-Indic digits too), or None when it is not one of this campaign's."""
    text = ascii_digits(clean_text(typed)).upper()
    found = _SERIAL.match(text)
    if found is None:
        return None
    prefix, digits = found.groups()
    if prefix is not None and prefix != serial_prefix(campaign):
        return None
    number = int(digits)
    return number if number > 0 else None


def issue_sheets(
    campaign: Campaign,
    *,
    count: int,
    language: str,
    collector: Collector,
    user_id: int | None,
) -> list[PaperSheet]:
    """Issue ``count`` new sheets in ``language`` to one collector, numbered
    after the campaign's last sheet, as one batch. The unique (campaign,
    number) index refuses a number taken by a concurrent issue: the caller's
    commit fails and nothing is issued."""
    if not 1 <= count <= MAX_PER_BATCH:
        raise ValueError("count out of range")
    last_number, last_batch = db.session.execute(
        select(
            func.coalesce(func.max(PaperSheet.number), 0),
            func.coalesce(func.max(PaperSheet.batch), 0),
        ).where(PaperSheet.campaign_id == campaign.id)
    ).one()
    now = utcnow()
    sheets = [
        PaperSheet(
            campaign_id=campaign.id,
            number=last_number + offset,
            code=secrets.token_urlsafe(16),
            receipt_seed=secrets.token_bytes(32),
            language=language,
            batch=last_batch + 1,
            state=SheetState.issued,
            # Sealed once per sheet: each blob has its own nonce.
            collector_data=seal_collector(collector),
            issued_by=user_id,
            issued_at=now,
        )
        for offset in range(1, count + 1)
    ]
    db.session.add_all(sheets)
    db.session.flush()
    return sheets


def campaign_sheets(campaign: Campaign) -> list[PaperSheet]:
    """Every sheet of the campaign, newest first."""
    return list(
        db.session.execute(
            select(PaperSheet)
            .where(PaperSheet.campaign_id == campaign.id)
            .order_by(PaperSheet.number.desc())
        ).scalars()
    )


def find_sheet(campaign: Campaign, number: int) -> PaperSheet | None:
    return db.session.execute(
        select(PaperSheet).where(PaperSheet.campaign_id == campaign.id, PaperSheet.number == number)
    ).scalar_one_or_none()


def batch_sheets(campaign: Campaign, batch: int) -> list[PaperSheet]:
    return list(
        db.session.execute(
            select(PaperSheet)
            .where(PaperSheet.campaign_id == campaign.id, PaperSheet.batch == batch)
            .order_by(PaperSheet.number)
        ).scalars()
    )


def mark_returned(sheet: PaperSheet) -> None:
    """issued → returned, one guarded UPDATE; SheetRefused("not_issued") if
    the sheet was already returned or imported."""
    moved = db.session.execute(
        update(PaperSheet)
        .where(PaperSheet.id == sheet.id, PaperSheet.state.in_(OUTSTANDING))
        .values(state=SheetState.returned, returned_at=utcnow())
        .execution_options(synchronize_session=False)
    )
    if not moved.rowcount:  # type: ignore[attr-defined]
        raise SheetRefused("not_issued")
    db.session.refresh(sheet)


def record_import(campaign: Campaign, rows: dict[int, Counter[str]]) -> None:
    """Add an import's rows to the sheets they named (by number), and mark
    those sheets imported (from issued or returned; an imported sheet may
    take another file's rows)."""
    now = utcnow()
    for number, outcomes in rows.items():
        db.session.execute(
            update(PaperSheet)
            .where(PaperSheet.campaign_id == campaign.id, PaperSheet.number == number)
            .values(
                state=SheetState.imported,
                imported_at=func.coalesce(PaperSheet.imported_at, now),
                returned_at=func.coalesce(PaperSheet.returned_at, now),
                rows_accepted=PaperSheet.rows_accepted + outcomes["accepted"],
                rows_duplicate=PaperSheet.rows_duplicate + outcomes["duplicate"],
                rows_rejected=PaperSheet.rows_rejected + outcomes["rejected"],
            )
            .execution_options(synchronize_session=False)
        )


def sheet_seeds(campaign: Campaign) -> dict[int, bytes]:
    """The campaign's sheets an import may name, by number, with the seed
    their lines' receipts are derived from."""
    rows = db.session.execute(
        select(PaperSheet.number, PaperSheet.receipt_seed).where(
            PaperSheet.campaign_id == campaign.id
        )
    )
    return {number: seed for number, seed in rows}


def state_counts(sheets: list[PaperSheet]) -> dict[str, int]:
    counts = Counter(sheet.state.value for sheet in sheets)
    return {state.value: counts.get(state.value, 0) for state in SheetState}


def read_collector(sheet: PaperSheet) -> Collector | None:
    """The collector's name and phone, or None once erased."""
    if sheet.collector_data is None:
        return None
    return open_collector(sheet.collector_data)
