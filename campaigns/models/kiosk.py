"""A kiosk: a collector's tablet or phone signing people in person at a stand."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import ForeignKey, String, Uuid
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..extensions import db
from .accounts import User
from .campaign import Campaign
from .types import BigId, UTCDateTime, utcnow


class Kiosk(db.Model):  # type: ignore[name-defined,misc]
    """One stand opened by one collector for one campaign. Its signatures
    carry its id: they are reviewed and invalidated by stand or by collector.
    Closed, it takes no more entries."""

    __tablename__ = "kiosks"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    # In the kiosk's URL and its device's queue: the integer id stays internal.
    uuid: Mapped[uuid.UUID] = mapped_column(Uuid, unique=True, default=uuid.uuid4)
    campaign_id: Mapped[int] = mapped_column(ForeignKey("campaigns.id"), index=True)
    collector_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    stand: Mapped[str] = mapped_column(String(120))
    opened_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    campaign: Mapped[Campaign] = relationship()
    collector: Mapped[User] = relationship()

    @property
    def is_open(self) -> bool:
        return self.closed_at is None
