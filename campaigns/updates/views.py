"""The public unsubscribe page: ``/<lang>/unsubscribe/<token>``.

GET (and HEAD) only show a button, because mail scanners open links; a POST
unsubscribes. The RFC 8058 one-click POST that mail providers send
(``List-Unsubscribe=One-Click``) carries no CSRF token, so the view is exempt:
the signed token in the URL is the only authority, and whoever holds it may
unsubscribe anyway."""

from __future__ import annotations

from flask import Blueprint, make_response, render_template, request
from flask.typing import ResponseReturnValue

from ..extensions import csrf, db
from ..i18n import current_language, pull_lang, push_lang
from ..tokens import InvalidToken
from .unsubscribe import signature_for_unsubscribe, unsubscribe

bp = Blueprint("updates", __name__, url_prefix="/<lang>")
bp.url_value_preprocessor(pull_lang)
bp.url_defaults(push_lang)


@bp.route("/unsubscribe/<token>", methods=["GET", "POST"])
@csrf.exempt
def unsubscribe_page(token: str) -> ResponseReturnValue:
    try:
        signature = signature_for_unsubscribe(token)
    except InvalidToken:
        signature = None
    if signature is None:
        # Unknown, tampered with, or its signer's data already erased.
        response = make_response(render_template("signing/unsubscribe_failed.html"), 404)
    else:
        text = signature.campaign.text(current_language())
        if request.method == "POST":
            unsubscribe(signature)
            db.session.commit()
            is_pledge = signature.campaign.is_pledge
            response = make_response(
                render_template("signing/unsubscribe_done.html", text=text, is_pledge=is_pledge)
            )
        else:
            response = make_response(
                render_template(
                    "signing/unsubscribe.html",
                    text=text,
                    token=token,
                    is_pledge=signature.campaign.is_pledge,
                )
            )
    # The page holds a personal link.
    response.headers["Cache-Control"] = "no-store"
    return response
