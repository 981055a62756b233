"""The count the person who has just confirmed sees: never one that leaves
them out. The count job folds confirmations into the count tables every half
second; until it has folded theirs, their own signature (and what they
pledged) is added. The count and their signature's ``counted`` flag are read
in one statement, one snapshot: the job flips the flag and adds to the count
in the same transaction, so they are never added twice nor left out.

Between the confirmation (a POST) and the page it leads to, the signature's
public id waits in the session, for this campaign only, and is dropped as
soon as the count holds it."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from flask import session
from sqlalchemy import select

from ..extensions import db
from ..models import Campaign, CampaignCount, Signature, SignatureState

_KEY = "just_confirmed"
# A fraudulent signature answers like a confirmed one (bots learn nothing), so
# its page shows it added like any other not yet counted; so does a held one
# (confirmed, and counted once an organizer releases its network's group).
_SHOWN_AS_CONFIRMED = (SignatureState.validated, SignatureState.fraudulent, SignatureState.held)


@dataclass(frozen=True)
class Figures:
    total: int
    signers: int


def remember_confirmation(campaign: Campaign, signature: Signature) -> None:
    """Keep the signature's public id for the page the confirmation leads to."""
    session[_KEY] = {"campaign": campaign.slug, "signature": str(signature.uuid)}


def count_including_confirmation(campaign: Campaign) -> Figures | None:
    """The campaign's figures including the signature this browser has just
    confirmed, or None if it confirmed none here (the page then shows the
    count as it is)."""
    kept = session.get(_KEY)
    if not isinstance(kept, dict) or kept.get("campaign") != campaign.slug:
        return None
    try:
        signature_uuid = uuid.UUID(str(kept.get("signature")))
    except ValueError:
        session.pop(_KEY, None)
        return None
    row = db.session.execute(
        select(
            Signature.state,
            Signature.counted,
            Signature.amount,
            CampaignCount.total,
            CampaignCount.signers,
        )
        .select_from(Signature)
        .outerjoin(CampaignCount, CampaignCount.campaign_id == Signature.campaign_id)
        .where(Signature.uuid == signature_uuid, Signature.campaign_id == campaign.id)
    ).one_or_none()
    if row is None:
        session.pop(_KEY, None)
        return None
    total, signers = row.total or 0, row.signers or 0
    pending_count = not row.counted and row.state in _SHOWN_AS_CONFIRMED
    if pending_count:
        total += row.amount if row.amount is not None else 1
        signers += 1
    if not (pending_count and row.state is SignatureState.validated):
        # Counted now (or never to be): the count alone tells the truth from here.
        session.pop(_KEY, None)
    return Figures(total=total, signers=signers)
