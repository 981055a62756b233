"""A response's PDF, from our own route: always a download (never shown in
the site's origin), its type fixed, for a public campaign only; and a
delivery's photo."""

from __future__ import annotations

from flask import Blueprint, Response, abort, request
from flask.typing import ResponseReturnValue
from sqlalchemy import select

from ..assets import YEAR
from ..extensions import db
from ..models import VISIBLE, Campaign, CampaignDelivery, CampaignResponse

bp = Blueprint("outcomes", __name__)


def pdf_response(found: CampaignResponse | None) -> Response:
    """The response's PDF as a download (404 when it has none)."""
    if found is None or found.pdf is None:
        abort(404)
    response = Response(bytes(found.pdf), mimetype="application/pdf")
    name = f"response-{found.responded_on.isoformat()}.pdf"
    response.headers["Content-Disposition"] = f'attachment; filename="{name}"'
    # X-Content-Type-Options: nosniff is on every answer (security.py).
    # Opened in the site's origin after all, it could do nothing.
    response.headers["Content-Security-Policy"] = "sandbox; default-src 'none'"
    response.headers["Cache-Control"] = "public, max-age=3600"
    return response


@bp.get("/responses/<public_id>.pdf")
def response_pdf(public_id: str) -> ResponseReturnValue:
    found = db.session.execute(
        select(CampaignResponse)
        .join(Campaign, Campaign.id == CampaignResponse.campaign_id)
        .where(CampaignResponse.public_id == public_id, Campaign.status.in_(VISIBLE))
    ).scalar_one_or_none()
    return pdf_response(found)


@bp.get("/deliveries/<name>")
def delivery_photo(name: str) -> ResponseReturnValue:
    """A delivery's photo (a public campaign's): its name holds its hash, so
    it is cached for a year."""
    found = db.session.execute(
        select(CampaignDelivery.photo)
        .join(Campaign, Campaign.id == CampaignDelivery.campaign_id)
        .where(CampaignDelivery.photo_name == name, Campaign.status.in_(VISIBLE))
    ).scalar_one_or_none()
    if found is None:
        abort(404)
    response = Response(bytes(found), mimetype="image/webp")
    response.set_etag(name)
    response.headers["Cache-Control"] = f"public, max-age={YEAR}, immutable"
    response.make_conditional(request)
    return response
