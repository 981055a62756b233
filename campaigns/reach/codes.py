"""Source codes: made, revoked and looked up. A code is random (not derived
from anything), short and URL-safe; the sign path finds it in the process's
copy of every live code (no query per signature), and anything it does not
find there (unknown, revoked, malformed, another campaign's) is ignored."""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass

from flask import current_app
from sqlalchemy import select, update

from ..accounts.audit import record
from ..cache import memo
from ..extensions import db
from ..kernel.normalize import clean_text
from ..models import SOURCE_LABEL_MAX, Campaign, Organization, SourceCode, User
from ..models.types import utcnow

_KEY = "source-codes"
# 8 random bytes: 11 URL-safe characters, 2^64 codes (guessing one is hopeless).
CODE_BYTES = 8
CODE_PATTERN = re.compile(r"[A-Za-z0-9_-]{11}")


class SourceRefused(ValueError):
    """Input that makes no code; ``reason`` is ``organization`` (neither the
    campaign's organization nor a partner of it) or ``label`` (too long)."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True)
class LiveCodes:
    """Every code not revoked: code → (its id, its campaign's id)."""

    by_code: dict[str, tuple[int, int]]


def well_formed(text: str | None) -> str | None:
    """``text`` when it has a code's shape, else None (never an error)."""
    if text and CODE_PATTERN.fullmatch(text):
        return text
    return None


def load_live_codes() -> LiveCodes:
    rows = db.session.execute(
        select(SourceCode.code, SourceCode.id, SourceCode.campaign_id).where(
            SourceCode.revoked_at.is_(None)
        )
    )
    return LiveCodes({code: (code_id, campaign_id) for code, code_id, campaign_id in rows})


def live_codes() -> LiveCodes:
    """The live codes, kept per process for ``SOURCES_CACHE_SECONDS``: a change
    shows in this process at once, in the others within that time."""
    ttl = current_app.config["SOURCES_CACHE_SECONDS"]
    if ttl <= 0:
        return load_live_codes()
    codes: LiveCodes = memo().get_or_compute(_KEY, ttl, load_live_codes)
    return codes


def forget_codes() -> None:
    memo().forget(_KEY)


def source_code_id(campaign_id: int, text: str | None) -> int | None:
    """Signing: the id of the live code ``text`` of this campaign, or None for
    anything else (no code, malformed, unknown, revoked, another campaign's)."""
    code = well_formed(text)
    if code is None:
        return None
    found = live_codes().by_code.get(code)
    if found is None or found[1] != campaign_id:
        return None
    return found[0]


def campaign_codes(campaign_id: int, organization_id: int | None = None) -> list[SourceCode]:
    """A campaign's codes (revoked ones too), of one organization when given."""
    query = select(SourceCode).where(SourceCode.campaign_id == campaign_id)
    if organization_id is not None:
        query = query.where(SourceCode.organization_id == organization_id)
    return list(db.session.execute(query.order_by(SourceCode.id)).scalars())


def code_organizations(campaign: Campaign) -> list[Organization]:
    """Who may hold codes for a campaign: its organization, then its partners."""
    return [campaign.organization, *campaign.partners]


def _new_code(
    campaign: Campaign, organization: Organization, label: str, user: User | None
) -> SourceCode:
    row = SourceCode(
        campaign_id=campaign.id,
        organization_id=organization.id,
        code=secrets.token_urlsafe(CODE_BYTES),
        label=label,
        created_by=user.id if user else None,
    )
    db.session.add(row)
    db.session.flush()
    if user is not None:  # seeding has no actor to audit
        record("source_code_added", "campaign", campaign.id, organization=organization.slug)
    forget_codes()
    return row


def add_source_code(campaign: Campaign, organization_id: int, label: str, user: User) -> SourceCode:
    """A new code of ``organization_id`` (the campaign's organization or a
    partner of it) for ``label``'s channel; audited. SourceRefused for bad
    input (nothing changes)."""
    organization = next((o for o in code_organizations(campaign) if o.id == organization_id), None)
    if organization is None:
        raise SourceRefused("organization")
    label = " ".join(clean_text(label or "").split())
    if len(label) > SOURCE_LABEL_MAX:
        raise SourceRefused("label")
    return _new_code(campaign, organization, label, user)


def ensure_partner_codes(campaign: Campaign, user: User | None = None) -> list[SourceCode]:
    """A first code for each partner of the campaign that has none yet (a
    partner whose codes were all revoked gets none back); returns the new ones.
    Audited when ``user`` made the change."""
    db.session.flush()
    holders = set(
        db.session.execute(
            select(SourceCode.organization_id).where(SourceCode.campaign_id == campaign.id)
        ).scalars()
    )
    return [
        _new_code(campaign, partner, "", user)
        for partner in campaign.partners
        if partner.id not in holders
    ]


def revoke_source_code(campaign: Campaign, code: str) -> bool | None:
    """Revoke one of the campaign's codes (guarded: once); audited. True when
    revoked now, False when it was already, None when it names no code of the
    campaign. Its signatures keep it."""
    revoked = db.session.execute(
        update(SourceCode)
        .where(
            SourceCode.campaign_id == campaign.id,
            SourceCode.code == code,
            SourceCode.revoked_at.is_(None),
        )
        .values(revoked_at=utcnow())
        .returning(SourceCode.id)
        .execution_options(synchronize_session=False)
    ).scalar()
    if revoked is None:
        exists = db.session.execute(
            select(SourceCode.id).where(
                SourceCode.campaign_id == campaign.id, SourceCode.code == code
            )
        ).scalar()
        return False if exists is not None else None
    record("source_code_revoked", "campaign", campaign.id, source_code=revoked)
    forget_codes()
    return True
