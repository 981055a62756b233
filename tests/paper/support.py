"""What the paper and exports tests share: console accounts logged in through
the real login form, and CSV helpers."""

from __future__ import annotations

import csv
import io
import itertools
from dataclasses import dataclass

from flask.testing import FlaskClient
from sqlalchemy import select

from campaigns.accounts.services import create_user
from campaigns.extensions import db
from campaigns.models import AuditEntry, Campaign, Organization, OrganizationKind, Role, Signature
from tests.factories import create_organization, give_second_factor, unused_code

PASSWORD = "olive-trees-in-afrin-2026"
_seq = itertools.count(1)


@dataclass
class Account:
    id: int
    email: str
    secret: str | None


def make_account(role: Role, organization: Organization) -> Account:
    """A console user; admins and organizers get a second factor, as the console requires."""
    email = f"{role.value}{next(_seq)}@union.test"
    user = create_user(email, f"{role.value} user", PASSWORD, role, organization)
    secret = give_second_factor(user)
    db.session.commit()
    return Account(id=user.id, email=email, secret=secret)


def log_in(client: FlaskClient, account: Account) -> None:
    code = unused_code(account.id, account.secret) if account.secret else ""
    response = client.post(
        "/console/login", data={"email": account.email, "password": PASSWORD, "code": code}
    )
    assert response.status_code == 303, response.status_code


def logged_in(client: FlaskClient, role: Role, campaign: Campaign) -> Account:
    """Log ``client`` in as an admin, an organizer of the campaign's
    organization, or a partner co-hosting the campaign."""
    if role is Role.partner:
        partner = create_organization(kind=OrganizationKind.partner)
        campaign.partners.append(partner)
        db.session.commit()
        account = make_account(role, partner)
    else:
        account = make_account(role, campaign.organization)
    log_in(client, account)
    return account


def stranger(client: FlaskClient, role: Role) -> Account:
    """An organizer or partner of an organization unrelated to any campaign."""
    kind = OrganizationKind.partner if role is Role.partner else OrganizationKind.union
    account = make_account(role, create_organization(kind=kind))
    log_in(client, account)
    return account


def audit_entries(action: str) -> list[AuditEntry]:
    db.session.rollback()
    return list(
        db.session.execute(
            select(AuditEntry).where(AuditEntry.action == action).order_by(AuditEntry.id)
        ).scalars()
    )


def signatures_of(campaign: Campaign) -> list[Signature]:
    db.session.rollback()
    db.session.expire_all()
    return list(
        db.session.execute(
            select(Signature).where(Signature.campaign_id == campaign.id).order_by(Signature.id)
        ).scalars()
    )


def csv_bytes(rows: list[list[str]], bom: bool = True) -> bytes:
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\r\n").writerows(rows)
    return (("\ufeff" if bom else "") + buffer.getvalue()).encode()


def read_csv(body: bytes) -> list[list[str]]:
    text = body.decode("utf-8")
    assert text.startswith("\ufeff"), "UTF-8 with a BOM, so that Excel reads Arabic"
    return list(csv.reader(io.StringIO(text[1:], newline="")))
