"""Trusted networks: address ranges where many people honestly sign from one
address (camps, union offices, internet cafés), and the Tor exit list. Rate
rules use their own limits for signatures from them. Only an admin declares
them; signing keeps the id of the network an address was in, never the address."""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import CheckConstraint, ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from ..extensions import db
from .types import BigId, StrEnumType, UTCDateTime, enum_check, utcnow


class NetworkKind(enum.Enum):
    # A CIDR range an admin typed (IPv4 or IPv6).
    range = "range"
    # The Tor exit list, imported as a whole: one row, its addresses apart.
    tor = "tor"


class TrustedNetwork(db.Model):  # type: ignore[name-defined,misc]
    __tablename__ = "trusted_networks"
    __table_args__ = (
        CheckConstraint(enum_check("kind", NetworkKind), name="kind"),
        CheckConstraint("burst_limit > 0 AND sustained_limit > 0", name="limits_positive"),
        # A range has its CIDR; the Tor row has none (its addresses are in tor_exits).
        CheckConstraint("(kind = 'tor') = (cidr IS NULL)", name="cidr_for_ranges"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    kind: Mapped[NetworkKind] = mapped_column(StrEnumType(NetworkKind))
    # Normalized (``ipaddress.ip_network(...).with_prefixlen``), unique.
    cidr: Mapped[str | None] = mapped_column(String(64), unique=True)
    label: Mapped[str] = mapped_column(String(100))
    # Signatures from one address within RATE_BURST_SECONDS / RATE_SUSTAINED_SECONDS.
    burst_limit: Mapped[int] = mapped_column(Integer)
    sustained_limit: Mapped[int] = mapped_column(Integer)
    created_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class TorExit(db.Model):  # type: ignore[name-defined,misc]
    """One address of the imported Tor exit list (public, not a signer's)."""

    __tablename__ = "tor_exits"

    address: Mapped[str] = mapped_column(String(45), primary_key=True)
