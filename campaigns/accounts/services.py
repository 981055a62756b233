"""Accounts: creating users, logging in with throttling, roles and access."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select, update

from ..extensions import db
from ..models import Campaign, Organization, Role, User, campaign_partners
from ..models.types import utcnow
from .passwords import DUMMY_HASH, MIN_LENGTH, hash_password, needs_rehash, verify_password
from .throttle import MAX_FAILURES, count_failure, forget, login_keys, wait_left
from .totp import accept_code, consume_step, matching_step, pending_secret, seal_secret, user_secret

__all__ = ["MAX_FAILURES"]

# Roles that see signers' names (filters, documents): a second factor before anything.
SECOND_FACTOR_REQUIRED = (Role.admin, Role.organizer)


class LoginRefused(Exception):
    """Wrong email, password or code — deliberately not saying which."""


class LoginThrottled(Exception):
    """Too many failures on this account, address or device: wait ``wait``."""

    def __init__(self, wait: timedelta) -> None:
        super().__init__(wait)
        self.wait = wait


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


def authenticate(
    email: str, password: str, code: str, client_ip: str | None, device: str | None = None
) -> User:
    """The user these credentials open, or LoginRefused / LoginThrottled.

    ``device`` is the id of this browser's device cookie when it was issued
    for this email (console/devices.py): such attempts are throttled per
    device only (accounts/throttle.py). The same work and the same answer
    whether the email is known or not."""
    keys, forgettable = login_keys(email, client_ip, device)
    wait = wait_left(keys)
    if wait > timedelta(0):
        raise LoginThrottled(wait)
    user = db.session.execute(
        select(User).where(User.email == email.strip().lower())
    ).scalar_one_or_none()
    password_ok = verify_password(user.password_hash if user else DUMMY_HASH, password)
    secret = user_secret(user) if user and user.totp_enabled else None
    # The code's step is used up only when all else was right: a wrong
    # password never spends the real user's current code.
    opened = user is not None and user.active and password_ok
    if user is None or not opened or (secret is not None and not accept_code(user, secret, code)):
        count_failure(keys)
        raise LoginRefused
    forget(forgettable)
    if needs_rehash(user.password_hash):
        user.password_hash = hash_password(password)
    user.last_login_at = utcnow()
    return user


def end_sessions(user: User) -> None:
    """Every session cookie issued to the user stops working (load_user
    compares the version), the copy of one included."""
    db.session.execute(
        update(User)
        .where(User.id == user.id)
        .values(session_version=User.session_version + 1)
        .execution_options(synchronize_session=False)
    )
    db.session.refresh(user, ["session_version"])


class WrongCurrentFactor(Exception):
    """Re-enrolment without the right password and current code."""


class WrongNewCode(Exception):
    """The code does not prove the new secret (or none was started)."""


def _reenrol_key(user: User) -> list[str]:
    return [f"reenrol:{user.id}"]


def enrol_second_factor(user: User, code: str, password: str = "", current_code: str = "") -> None:
    """Turn on the second factor with the pending secret, proved by ``code``.

    An enrolled user replaces it only with the password and a code of the
    current secret: a stolen session alone cannot move the second factor to
    the thief's phone. Wrong attempts at those wait like logins
    (LoginThrottled). The codes' steps are used up as at login; nothing
    changes on a refusal but the failure count."""
    pending = pending_secret(user)
    current_step = None
    if user.totp_enabled:
        wait = wait_left(_reenrol_key(user))
        if wait > timedelta(0):
            raise LoginThrottled(wait)
        current = user_secret(user)
        password_ok = verify_password(user.password_hash, password)
        current_step = matching_step(current, current_code) if current else None
        last = user.totp_last_step
        if not password_ok or current_step is None or (last is not None and current_step <= last):
            count_failure(_reenrol_key(user))
            raise WrongCurrentFactor
    new_step = matching_step(pending, code) if pending else None
    if pending is None or new_step is None:
        raise WrongNewCode
    if current_step is None:
        if not consume_step(user, new_step):
            raise WrongNewCode
    else:
        if not consume_step(user, current_step):
            raise WrongCurrentFactor
        # The new secret's codes up to both steps seen here count as used.
        user.totp_last_step = max(current_step, new_step)
        forget(_reenrol_key(user))
    user.totp_secret = seal_secret(pending)
    user.totp_pending = None
    user.totp_enabled = True


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
    """Admins and organizers must use a second factor before they can do
    anything; partners may choose to (and once on, it is required)."""
    return user.role in SECOND_FACTOR_REQUIRED and not user.totp_enabled


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

