"""The public campaign page of any campaign, a draft included, as the public
would see it, for those who may see the campaign in the console (its
managers and co-hosting partners): the same rendering as the public page,
marked as a preview, never cached or indexed, and its sign form disabled.
The language switch keeps it here (``?lang=``)."""

from __future__ import annotations

from flask import Blueprint, g, make_response
from flask.typing import ResponseReturnValue

from ..i18n import current_language
from ..signing.forms import SignForm
from ..signing.views import render_campaign
from .access import EVERYONE, require, viewable_campaign

bp = Blueprint("console_preview", __name__, url_prefix="/console")


@bp.get("/campaigns/<slug>/preview")
@require(*EVERYONE)
def campaign_page(slug: str) -> ResponseReturnValue:
    campaign = viewable_campaign(slug)
    # The public page's links carry a language: the console's, or ``?lang=``.
    g.lang = current_language()
    form = SignForm(campaign, g.lang, formdata=None)
    response = make_response(render_campaign(campaign, form, preview=True))
    response.headers["Cache-Control"] = "no-store"
    response.headers["X-Robots-Tag"] = "noindex, nofollow"
    return response
