"""Who may do what in the console, checked in one place.

Every console view is decorated with ``require(...)``: anonymous users go to
the login page, admins without a second factor go to its setup, and a role
outside the list gets 403. Campaigns are loaded with ``managed_campaign`` or
``viewable_campaign``: one the user may not see is a 404 (its existence is
not revealed), one they may see but not manage is a 403.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any, TypeVar, cast

from flask import abort, redirect, request, url_for
from flask_login import current_user
from sqlalchemy import select

from ..accounts.services import can_manage, can_view, needs_totp_setup
from ..extensions import db
from ..models import Campaign, Role, User

F = TypeVar("F", bound=Callable[..., Any])

EVERYONE = (Role.admin, Role.organizer, Role.partner)
MANAGERS = (Role.admin, Role.organizer)
ADMINS = (Role.admin,)


def user() -> User:
    return cast(User, current_user._get_current_object())  # type: ignore[attr-defined]


def require(*roles: Role) -> Callable[[F], F]:
    def decorator(view: F) -> F:
        @wraps(view)
        def wrapped(*args: Any, **kwargs: Any) -> Any:
            if not current_user.is_authenticated:
                return redirect(url_for("console_auth.login", next=request.full_path))
            if needs_totp_setup(user()):
                return redirect(url_for("console_auth.totp_setup"))
            if user().role not in roles:
                abort(403)
            return view(*args, **kwargs)

        return cast(F, wrapped)

    return decorator


def _campaign(slug: str) -> Campaign:
    campaign = db.session.execute(
        select(Campaign).where(Campaign.slug == slug)
    ).scalar_one_or_none()
    if campaign is None:
        abort(404)
    return campaign


def viewable_campaign(slug: str) -> Campaign:
    campaign = _campaign(slug)
    if not can_view(user(), campaign):
        abort(404)
    return campaign


def managed_campaign(slug: str) -> Campaign:
    campaign = viewable_campaign(slug)
    if not can_manage(user(), campaign):
        abort(403)
    return campaign
