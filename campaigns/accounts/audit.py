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
    _add(user_id, action, target_type, target_id, details)


def record_by_signer(
    action: str, target_type: str, target_id: object = None, **details: Any
) -> None:
    """``record`` for what a signer did through their own link: no user is
    the actor, even when the browser is also logged in to the console."""
    _add(None, action, target_type, target_id, details)


def _add(
    user_id: int | None,
    action: str,
    target_type: str,
    target_id: object,
    details: dict[str, Any],
) -> None:
    db.session.add(
        AuditEntry(
            user_id=user_id,
            action=action,
            target_type=target_type,
            target_id=None if target_id is None else str(target_id),
            details=details,
        )
    )
