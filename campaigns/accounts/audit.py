"""The audit log: every sensitive action is recorded with who did it."""

from __future__ import annotations

from typing import Any

from flask_login import current_user

from ..extensions import db
from ..models import AuditEntry


def record(action: str, target_type: str, target_id: object = None, **details: Any) -> None:
    """Add an audit entry to the current transaction (flush only). ``details``
    must never hold a signer's personal data."""
    user_id = current_user.id if getattr(current_user, "is_authenticated", False) else None
    db.session.add(
        AuditEntry(
            user_id=user_id,
            action=action,
            target_type=target_type,
            target_id=None if target_id is None else str(target_id),
            details=details,
        )
    )
