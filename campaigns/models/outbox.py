from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from ..extensions import db
from .types import BigId, UTCDateTime, utcnow


class OutboxMessage(db.Model):  # type: ignore[name-defined,misc]
    """A task to publish once the transaction that wrote it has committed.

    Holds a task name and one internal id, never personal data. The relay
    publishes and deletes rows; a crash between the two re-publishes, which
    the idempotent tasks absorb.
    """

    __tablename__ = "outbox"
    __table_args__ = (Index("ix_outbox_task_object", "task", "object_id"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    task: Mapped[str] = mapped_column(String(64))
    object_id: Mapped[int] = mapped_column(BigInteger)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class JobLock(db.Model):  # type: ignore[name-defined,misc]
    """A row per single-flight job; holding its row lock is holding the job."""

    __tablename__ = "job_locks"

    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    last_run_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
