"""Printed collection sheets: the paper that goes to the field, issued to a
collector, returned with signatures, and imported."""

from __future__ import annotations

import enum
from datetime import datetime

from flask_babel import lazy_gettext as _l
from sqlalchemy import CheckConstraint, ForeignKey, Integer, LargeBinary, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from ..extensions import db
from .types import BigId, StrEnumType, UTCDateTime, enum_check, utcnow

# What the sealed collector blob is bound to: never opened as a signer's data.
COLLECTOR_PURPOSE = b"paper_sheet.collector"


class SheetState(enum.Enum):
    issued = "issued"
    returned = "returned"
    imported = "imported"

    @property
    def title(self) -> str:
        titles = {
            "issued": _l("Issued"),
            "returned": _l("Returned"),
            "imported": _l("Imported"),
        }
        return str(titles[self.value])


# Still in the field: printed and handed out, not back yet.
OUTSTANDING = frozenset({SheetState.issued})
# What an import may attribute rows to (a sheet imported before takes more rows).
IMPORTABLE = frozenset(SheetState)


class PaperSheet(db.Model):  # type: ignore[name-defined,misc]
    """One printed sheet of a campaign. ``number`` is its serial within the
    campaign (printed as ``OLI-0042``); ``code`` is the random, unguessable
    part of the QR code's link. The collector's name and phone live only in
    ``collector_data``, encrypted, and are erased with the signers' data."""

    __tablename__ = "paper_sheets"
    __table_args__ = (
        CheckConstraint(enum_check("state", SheetState), name="state"),
        CheckConstraint("number > 0", name="number_positive"),
        UniqueConstraint("campaign_id", "number"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    campaign_id: Mapped[int] = mapped_column(ForeignKey("campaigns.id", ondelete="CASCADE"))
    number: Mapped[int] = mapped_column(Integer)
    code: Mapped[str] = mapped_column(String(32), unique=True)
    language: Mapped[str] = mapped_column(String(8))
    # Sheets issued together (one form, one collector) share a batch number.
    batch: Mapped[int] = mapped_column(Integer)
    state: Mapped[SheetState] = mapped_column(StrEnumType(SheetState), default=SheetState.issued)
    collector_data: Mapped[bytes | None] = mapped_column(LargeBinary)
    # Random; each line's receipt code is derived from it (ledger/receipts.py),
    # the same on every print of the sheet.
    receipt_seed: Mapped[bytes] = mapped_column(LargeBinary(32))
    issued_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    issued_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    returned_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    imported_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # Rows of imported files that named this sheet, by outcome (figures of the
    # files, never of the signatures they became: see docs/threat-model.md).
    rows_accepted: Mapped[int] = mapped_column(Integer, default=0)
    rows_duplicate: Mapped[int] = mapped_column(Integer, default=0)
    rows_rejected: Mapped[int] = mapped_column(Integer, default=0)
