from __future__ import annotations

from typing import Any

from flask import Blueprint, abort, jsonify
from flask.typing import ResponseReturnValue
from sqlalchemy import select

from ..counting.services import campaign_count, country_breakdown
from ..extensions import csrf, db
from ..models import VISIBLE, Campaign

bp = Blueprint("api", __name__, url_prefix="/api/v1")
csrf.exempt(bp)


def _campaign(slug: str) -> Campaign:
    campaign = db.session.execute(
        select(Campaign).where(Campaign.slug == slug)
    ).scalar_one_or_none()
    if campaign is None or campaign.status not in VISIBLE:
        abort(404)
    return campaign


def _summary(campaign: Campaign) -> dict[str, Any]:
    count = campaign_count(campaign.id)
    return {
        "slug": campaign.slug,
        "kind": campaign.kind.value,
        "status": campaign.status.value,
        "goal": campaign.goal,
        "unit": campaign.unit,
        "total": count.total,
        "signers": count.signers,
        "updated_at": count.updated_at.isoformat() if count.updated_at else None,
    }


@bp.get("/campaigns")
def list_campaigns() -> ResponseReturnValue:
    campaigns = db.session.execute(
        select(Campaign).where(Campaign.status.in_(VISIBLE)).order_by(Campaign.id)
    ).scalars()
    return jsonify({"campaigns": [_summary(c) for c in campaigns]})


@bp.get("/campaigns/<slug>")
def campaign_detail(slug: str) -> ResponseReturnValue:
    campaign = _campaign(slug)
    data = _summary(campaign)
    data["by_country"] = country_breakdown(campaign.id)
    return jsonify(data)


@bp.get("/campaigns/<slug>/count")
def campaign_count_json(slug: str) -> ResponseReturnValue:
    campaign = _campaign(slug)
    count = campaign_count(campaign.id)
    response = jsonify({"total": count.total, "signers": count.signers, "goal": campaign.goal})
    response.headers["Cache-Control"] = "public, max-age=1"
    return response
