"""Accounts: creating users, logging in with throttling, roles and access."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import delete, select

from ..extensions import db
from ..models import Campaign, LoginThrottle, Organization, Role, User, campaign_partners
from ..models.types import utcnow
from ..privacy.crypto import hash_ip
from .passwords import DUMMY_HASH, MIN_LENGTH, hash_password, needs_rehash, verify_password
from .totp import user_secret, verify_code

# Failed logins allowed per account and per client address in a window.
MAX_FAILURES = 5
WINDOW = timedelta(minutes=15)


class LoginRefused(Exception):
    """Wrong email, password or code — deliberately not saying which."""


class LoginThrottled(Exception):
    """Too many failures for this account or address: wait."""


class WeakPassword(ValueError):
    """The password is too short."""


def create_user(
    email: str, name: str, password: str, role: Role, organization: Organization
) -> User:
    if len(password) < MIN_LENGTH:
        raise WeakPassword(MIN_LENGTH)
    user = User(
        email=email.strip().lower(),
        name=name.strip(),
        password_hash=hash_password(password),
        role=role,
        organization_id=organization.id,
    )
    db.session.add(user)
    db.session.flush()
    return user


def _throttle_keys(email: str, client_ip: str | None) -> list[str]:
    keys = [f"account:{email.strip().lower()[:60]}"]
    if client_ip:
        keys.append(f"ip:{hash_ip(client_ip).hex()}")
    return keys


def _is_throttled(keys: list[str]) -> bool:
    since = utcnow() - WINDOW
    rows = db.session.execute(
        select(LoginThrottle).where(LoginThrottle.key.in_(keys))
    ).scalars()
    return any(row.window_start > since and row.failures >= MAX_FAILURES for row in rows)


def _count_failure(keys: list[str]) -> None:
    now = utcnow()
    for key in keys:
        row = db.session.get(LoginThrottle, key)
        if row is None:
            db.session.add(LoginThrottle(key=key, failures=1, window_start=now))
        elif row.window_start <= now - WINDOW:
            row.failures, row.window_start = 1, now
        else:
            row.failures += 1


def authenticate(email: str, password: str, code: str, client_ip: str | None) -> User:
    """The user these credentials open, or LoginRefused / LoginThrottled.

    The same work and the same answer whether the email is known or not."""
    keys = _throttle_keys(email, client_ip)
    if _is_throttled(keys):
        raise LoginThrottled
    user = db.session.execute(
        select(User).where(User.email == email.strip().lower())
    ).scalar_one_or_none()
    password_ok = verify_password(user.password_hash if user else DUMMY_HASH, password)
    secret = user_secret(user) if user and user.totp_enabled else None
    code_ok = secret is None or verify_code(secret, code)
    if user is None or not user.active or not password_ok or not code_ok:
        _count_failure(keys)
        raise LoginRefused
    db.session.execute(delete(LoginThrottle).where(LoginThrottle.key == keys[0]))
    if needs_rehash(user.password_hash):
        user.password_hash = hash_password(password)
    user.last_login_at = utcnow()
    return user


def load_user(user_id: str) -> User | None:
    """Flask-Login's loader: ``id:session_version``; a bumped version logs out."""
    try:
        raw_id, version = user_id.split(":")
        user = db.session.get(User, int(raw_id))
    except (ValueError, TypeError):
        return None
    if user is None or not user.active or str(user.session_version) != version:
        return None
    return user


def needs_totp_setup(user: User) -> bool:
    """Admins must use a second factor before they can do anything."""
    return user.role is Role.admin and not user.totp_enabled


def can_manage(user: User, campaign: Campaign) -> bool:
    """Edit, moderate, import, update: admins, and organizers of the owning organization."""
    if user.role is Role.admin:
        return True
    return user.role is Role.organizer and campaign.organization_id == user.organization_id


def can_view(user: User, campaign: Campaign) -> bool:
    """See aggregates: those who manage it, and partners who co-host it."""
    if can_manage(user, campaign):
        return True
    return user.role is Role.partner and any(
        p.id == user.organization_id for p in campaign.partners
    )


def visible_campaigns(user: User) -> list[Campaign]:
    query = select(Campaign).order_by(Campaign.created_at.desc())
    if user.role is Role.organizer:
        query = query.where(Campaign.organization_id == user.organization_id)
    elif user.role is Role.partner:
        query = query.where(
            Campaign.id.in_(
                select(campaign_partners.c.campaign_id).where(
                    campaign_partners.c.organization_id == user.organization_id
                )
            )
        )
    return list(db.session.execute(query).scalars())

