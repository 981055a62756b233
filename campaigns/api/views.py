"""The public JSON API: aggregates only, never personal data. Responses are
cacheable (ETag, Cache-Control with stale-while-revalidate) and readable from
any origin."""

from __future__ import annotations

import hashlib
import json
from typing import Any

from flask import Blueprint, Response, abort, request
from flask.typing import ResponseReturnValue
from sqlalchemy import select

from ..campaign_cache import cached_campaign
from ..counting.services import campaign_count
from ..extensions import csrf, db
from ..models import VISIBLE, Campaign
from ..results.services import campaign_results, count_figures
from .openapi import openapi_document

bp = Blueprint("api", __name__, url_prefix="/api/v1")
csrf.exempt(bp)


def _campaign(slug: str) -> Campaign:
    campaign = cached_campaign(slug)
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


def json_response(data: Any, max_age: int) -> ResponseReturnValue:
    """JSON with a strong ETag; answers 304 to a matching If-None-Match."""
    body = json.dumps(data, ensure_ascii=False, separators=(",", ":"), sort_keys=True).encode()
    response = Response(body, mimetype="application/json")
    response.set_etag(hashlib.sha256(body).hexdigest()[:32])
    response.headers["Cache-Control"] = (
        f"public, max-age={max_age}, stale-while-revalidate={max_age * 10}"
    )
    response.vary.add("Origin")
    return response.make_conditional(request)


@bp.errorhandler(404)
def not_found(error: Exception) -> ResponseReturnValue:
    return {"error": "not_found"}, 404


@bp.after_request
def allow_any_origin(response: Response) -> Response:
    response.headers["Access-Control-Allow-Origin"] = "*"
    response.headers["Access-Control-Allow-Methods"] = "GET, HEAD, OPTIONS"
    response.headers["Access-Control-Max-Age"] = "86400"
    return response


@bp.get("/campaigns")
def list_campaigns() -> ResponseReturnValue:
    campaigns = db.session.execute(
        select(Campaign).where(Campaign.status.in_(VISIBLE)).order_by(Campaign.id)
    ).scalars()
    return json_response({"campaigns": [_summary(c) for c in campaigns]}, max_age=5)


@bp.get("/campaigns/<slug>")
def campaign_detail(slug: str) -> ResponseReturnValue:
    campaign = _campaign(slug)
    figures = campaign_results(campaign)
    data = {
        "slug": campaign.slug,
        "kind": campaign.kind.value,
        "status": campaign.status.value,
        "goal": campaign.goal,
        "unit": campaign.unit,
        "total": figures["total"],
        "signers": figures["signers"],
        "updated_at": figures["updated_at"],
        "by_country": figures["by_country"],
        "by_region": figures["by_region"],
        "daily": figures["daily"],
        "milestones": figures["milestones"],
    }
    return json_response(data, max_age=2)


@bp.get("/campaigns/<slug>/count")
def campaign_count_json(slug: str) -> ResponseReturnValue:
    return json_response(count_figures(_campaign(slug)), max_age=1)


@bp.get("/openapi.json")
def openapi() -> ResponseReturnValue:
    return json_response(openapi_document(), max_age=3600)
