"""Test data: campaigns and signatures made the way the app makes them."""

from __future__ import annotations

import itertools
import time
from datetime import datetime
from typing import Any

import pyotp
from sqlalchemy import select

from campaigns.accounts.services import SECOND_FACTOR_REQUIRED
from campaigns.accounts.totp import SKEW_STEPS, new_secret, seal_secret
from campaigns.extensions import db
from campaigns.models import (
    Campaign,
    CampaignKind,
    CampaignStatus,
    CampaignText,
    Organization,
    OrganizationKind,
    Signature,
    SignatureState,
    User,
)
from campaigns.models.types import utcnow
from campaigns.privacy.crypto import hash_ip
from campaigns.privacy.personal import PersonalData, seal_personal_data
from campaigns.signing.services import email_fingerprint

_seq = itertools.count(1)


def create_organization(
    slug: str | None = None, kind: OrganizationKind = OrganizationKind.union
) -> Organization:
    n = next(_seq)
    org = Organization(
        slug=slug or f"org-{n}", kind=kind, names={"ar": f"منظمة {n}", "en": f"Org {n}"}
    )
    db.session.add(org)
    db.session.flush()
    return org


def create_campaign(
    slug: str | None = None,
    kind: CampaignKind = CampaignKind.petition,
    status: CampaignStatus = CampaignStatus.open,
    goal: int | None = 1000,
    **fields: Any,
) -> Campaign:
    n = next(_seq)
    campaign = Campaign(
        slug=slug or f"campaign-{n}",
        kind=kind,
        status=status,
        goal=goal,
        unit="trees" if kind is CampaignKind.pledge else "signatures",
        organization=fields.pop("organization", None) or create_organization(),
        **fields,
    )
    campaign.texts["ar"] = CampaignText(
        locale="ar", title=f"حملة {n}", summary="ملخص", body="نص", unit_label="توقيع"
    )
    campaign.texts["en"] = CampaignText(
        locale="en", title=f"Campaign {n}", summary="Summary", body="Body", unit_label="signatures"
    )
    db.session.add(campaign)
    db.session.commit()
    return campaign


def create_signature(
    campaign: Campaign,
    state: SignatureState = SignatureState.pending,
    email: str | None = None,
    name: str = "Test Signer",
    country: str = "SY",
    amount: int | None = None,
    ip: str | None = "127.0.0.1",
    checked: bool | None = None,
    created_at: datetime | None = None,
    **fields: Any,
) -> Signature:
    n = next(_seq)
    email = email or f"signer{n}@example.org"
    now = created_at or utcnow()
    if checked is None:
        checked = state is not SignatureState.pending
    region = fields.pop("region", "Aleppo")
    signature = Signature(
        campaign_id=campaign.id,
        state=state,
        fingerprint=email_fingerprint(email),
        personal_data=seal_personal_data(
            PersonalData(name=name, email=email, phone=None, region=region)
        ),
        country=country,
        amount=amount if amount is not None else (2 if campaign.is_pledge else None),
        locale=fields.pop("locale", "en"),
        ip_hash=hash_ip(ip) if ip else None,
        created_at=now,
        checked_at=now if checked else None,
        validated_at=now if state is SignatureState.validated else None,
        **fields,
    )
    db.session.add(signature)
    db.session.commit()
    return signature


# The secrets of the accounts given a second factor here, by email.
_secrets: dict[str, str] = {}


def give_second_factor(user: User, *, required_only: bool = True) -> str | None:
    """Turn on a second factor for an account that must have one (admins and
    organizers; any account with ``required_only=False``): its secret, also
    kept for ``code_for``. The caller commits."""
    if required_only and user.role not in SECOND_FACTOR_REQUIRED:
        return None
    secret = new_secret()
    user.totp_secret, user.totp_enabled = seal_secret(secret), True
    _secrets[user.email] = secret
    return secret


def code_for(user: User) -> str:
    """The code that logs ``user`` in now: "" without a second factor."""
    secret = _secrets.get(user.email)
    return unused_code(user.id, secret) if user.totp_enabled and secret else ""


def unused_code(user_id: int, secret: str) -> str:
    """A right code this account has not used yet. The console takes each
    30-second step once per account, within one step of now: the earliest
    unused step from now on, after waiting for the next step if an account
    logged in more than twice within one (rare in tests)."""
    db.session.commit()
    last = db.session.execute(select(User.totp_last_step).where(User.id == user_id)).scalar_one()
    totp = pyotp.TOTP(secret)
    while True:
        now = totp.timecode(time.time())
        step = max(now, (last or 0) + 1)
        if step <= now + SKEW_STEPS:
            return totp.generate_otp(step)
        time.sleep(totp.interval - time.time() % totp.interval + 0.01)


def secret_on_page(page: str) -> str:
    """The key to type into an authenticator app, as the setup page shows it."""
    start = page.index('<code dir="ltr">') + len('<code dir="ltr">')
    return page[start : page.index("</code>", start)]
