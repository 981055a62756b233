"""The campaign image's variants, each at a URL that names its bytes' hash:
cached by browsers and proxies for a year, never changed, never hot-linked
from elsewhere. Only the re-encoded variants exist to be served."""

from __future__ import annotations

from flask import Blueprint, Flask, Response, abort, request
from flask.typing import ResponseReturnValue
from sqlalchemy import select

from ..assets import YEAR
from ..extensions import db
from ..models import VISIBLE, Campaign, CampaignImage
from .services import campaign_picture

bp = Blueprint("media", __name__)


def variant_response(slug: str, variant: str, public: bool) -> Response:
    """The variant named ``variant`` of the campaign ``slug``'s image (404 if
    none; for ``public``, also if the campaign is not public)."""
    query = (
        select(CampaignImage.data, CampaignImage.media_type)
        .join(Campaign, Campaign.id == CampaignImage.campaign_id)
        .where(CampaignImage.name == variant, Campaign.slug == slug)
    )
    if public:
        query = query.where(Campaign.status.in_(VISIBLE))
    found = db.session.execute(query).one_or_none()
    if found is None:
        abort(404)
    response = Response(bytes(found.data), mimetype=found.media_type)
    response.set_etag(variant)
    if public:
        response.headers["Cache-Control"] = f"public, max-age={YEAR}, immutable"
    response.make_conditional(request)
    return response


@bp.get("/media/<slug>/<variant>")
def campaign_image(slug: str, variant: str) -> ResponseReturnValue:
    return variant_response(slug, variant, public=True)


def init_app(app: Flask) -> None:
    app.register_blueprint(bp)
    app.add_template_global(campaign_picture)
