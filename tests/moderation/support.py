"""What the moderation tests share: the people of the console, logged in
through the login form, and signatures with the hashes signing stores."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from flask import Flask, g, request_started
from flask.testing import FlaskClient
from sqlalchemy import select

from campaigns.accounts.services import create_user
from campaigns.extensions import db
from campaigns.models import (
    AuditEntry,
    Campaign,
    Invalidation,
    OrganizationKind,
    Role,
    Signature,
    SignatureState,
    TrendingFlag,
    User,
)
from campaigns.models.types import utcnow
from campaigns.privacy.crypto import hash_email_domain
from tests.factories import (
    code_for,
    create_campaign,
    create_organization,
    create_signature,
    give_second_factor,
)

PASSWORD = "olive-trees-of-afrin-2026"


@dataclass
class Console:
    """An admin, an organizer of the union that owns ``campaign``, an
    organizer of another organization (owning ``other_campaign``), all three
    with the second factor they must have, and a partner (without one) that
    co-hosts ``campaign``."""

    admin: User
    admin_secret: str
    organizer: User
    other_organizer: User
    partner: User
    campaign: Campaign
    other_campaign: Campaign


def make_console() -> Console:
    union = create_organization("union")
    other = create_organization("other-union")
    partner_org = create_organization("partner", kind=OrganizationKind.partner)
    admin = create_user("admin@zaytoun.test", "Admin", PASSWORD, Role.admin, union)
    organizer = create_user("org@zaytoun.test", "Organizer", PASSWORD, Role.organizer, union)
    other_organizer = create_user(
        "other@zaytoun.test", "Other organizer", PASSWORD, Role.organizer, other
    )
    partner = create_user("partner@zaytoun.test", "Partner", PASSWORD, Role.partner, partner_org)
    secret = give_second_factor(admin)
    assert secret is not None
    give_second_factor(organizer)
    give_second_factor(other_organizer)
    db.session.commit()
    campaign = create_campaign("honest-campaign", organization=union, partners=[partner_org])
    other_campaign = create_campaign("other-campaign", organization=other)
    return Console(admin, secret, organizer, other_organizer, partner, campaign, other_campaign)


def _forget_globals(sender: Flask, **extra: Any) -> None:
    for name in list(g):
        g.pop(name)


def fresh_globals_per_request(app: Flask) -> None:
    """The ``app`` fixture's app context outlives the requests, and with it
    ``g``, where Flask-Login keeps the current user and Flask-WTF the CSRF
    token: empty it at each request, as the new app context of a deployed
    request would be. (Otherwise one client acts as whoever logged in last.)"""
    request_started.connect(_forget_globals, app)


def logged_in(app: Flask, who: User | None, console: Console | None = None) -> FlaskClient:
    """A client logged in as ``who`` through the login form (None: anonymous)."""
    fresh_globals_per_request(app)
    client = app.test_client()
    if who is None:
        return client
    response = client.post(
        "/console/login", data={"email": who.email, "password": PASSWORD, "code": code_for(who)}
    )
    assert response.status_code == 303, response.status_code
    return client


def signature(campaign: Campaign, **fields: Any) -> Signature:
    """A signature as signing stores it, with its email domain hash."""
    email = fields.pop("email", None)
    if email is not None:
        fields["email"] = email
        fields.setdefault("email_domain_hash", hash_email_domain(email.rpartition("@")[2]))
    else:
        fields.setdefault("email_domain_hash", hash_email_domain("example.org"))
    return create_signature(campaign, **fields)


def fresh(model: Any, object_id: int) -> Any:
    """A row read again from the database."""
    db.session.rollback()
    db.session.expire_all()
    return db.session.get(model, object_id)


def audit(action: str) -> list[AuditEntry]:
    db.session.rollback()
    return list(
        db.session.execute(
            select(AuditEntry).where(AuditEntry.action == action).order_by(AuditEntry.id)
        ).scalars()
    )


def states(*signatures: Signature) -> list[SignatureState]:
    return [fresh(Signature, s.id).state for s in signatures]


def invalidations() -> list[Invalidation]:
    db.session.rollback()
    return list(db.session.execute(select(Invalidation).order_by(Invalidation.id)).scalars())


def trending_flag(campaign: Campaign, kind: str, key_hash: str) -> TrendingFlag:
    """A burst of ``campaign`` as trending detection records it: the hashes an
    organizer may invalidate by."""
    flag = TrendingFlag(
        campaign_id=campaign.id,
        kind=kind,
        key_hash=key_hash,
        window_start=utcnow().replace(minute=0, second=0, microsecond=0),
        count=20,
    )
    db.session.add(flag)
    db.session.commit()
    return flag
