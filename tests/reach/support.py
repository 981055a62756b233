"""Source codes and signatures through them, for the reach tests."""

from __future__ import annotations

from datetime import datetime

from campaigns.counting.services import update_signature_counts
from campaigns.extensions import db
from campaigns.models import Campaign, Organization, SignatureState, SourceCode
from campaigns.models.types import utcnow
from tests.factories import create_signature


def give_code(
    campaign: Campaign, organization: Organization, code: str, label: str = ""
) -> SourceCode:
    """A live code of ``organization`` on ``campaign`` (a fixed value, for the test)."""
    row = SourceCode(
        campaign_id=campaign.id, organization_id=organization.id, code=code, label=label
    )
    db.session.add(row)
    db.session.commit()
    return row


def validated_through(
    campaign: Campaign,
    code: SourceCode | None,
    count: int,
    country: str = "SY",
    when: datetime | None = None,
) -> None:
    """``count`` validated signatures through ``code`` (None: no code),
    validated at ``when`` (now by default), counted."""
    for _ in range(count):
        create_signature(
            campaign,
            state=SignatureState.validated,
            country=country,
            source_code_id=code.id if code else None,
            created_at=when or utcnow(),
        )
    update_signature_counts()
    db.session.commit()
