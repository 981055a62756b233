"""Test data: campaigns and signatures made the way the app makes them."""

from __future__ import annotations

import itertools
from datetime import datetime
from typing import Any

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
)
from campaigns.models.types import utcnow
from campaigns.privacy.crypto import hash_ip
from campaigns.signing.personal import PersonalData, seal_personal_data
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
