from __future__ import annotations

import contextlib
import logging

from flask import (
    Blueprint,
    current_app,
    g,
    jsonify,
    make_response,
    redirect,
    render_template,
    request,
    send_from_directory,
    url_for,
)
from flask.blueprints import BlueprintSetupState
from flask.typing import ResponseReturnValue
from flask_login import AnonymousUserMixin
from flask_wtf.csrf import CSRFError
from sqlalchemy import select
from sqlalchemy.exc import DBAPIError, OperationalError
from werkzeug.exceptions import HTTPException

from ..counting.services import campaign_count
from ..extensions import db
from ..i18n import best_language, current_language, pull_lang, push_lang
from ..models import VISIBLE, Campaign, CampaignStatus
from ..models.types import utcnow
from ..retention.services import retention_days
from ..signing.marker import MAX_AGE as SIGNED_NOTE_AGE

log = logging.getLogger(__name__)

bp = Blueprint("site", __name__)
bp.url_value_preprocessor(pull_lang)
bp.url_defaults(push_lang)


@bp.get("/")
def root() -> ResponseReturnValue:
    response = redirect(url_for(".home", lang=best_language()), 302)
    response.headers["Vary"] = "Accept-Language"
    return response


@bp.get("/favicon.ico")
def favicon() -> ResponseReturnValue:
    response = send_from_directory(current_app.static_folder or "", "favicon.ico")
    response.headers["Cache-Control"] = "public, max-age=604800"
    return response


@bp.get("/<lang>/")
def home() -> ResponseReturnValue:
    campaigns = db.session.execute(
        select(Campaign)
        .where(Campaign.status.in_(VISIBLE))
        .order_by(Campaign.status != CampaignStatus.open, Campaign.created_at.desc())
    ).scalars().all()
    lang = current_language()
    items = [(c, c.text(lang), campaign_count(c.id)) for c in campaigns]
    return render_template("site/home.html", items=items)


@bp.get("/<lang>/privacy")
def privacy() -> ResponseReturnValue:
    """What is kept about a signer, who sees it, what becomes public, when it
    is erased: read from the configuration the app runs with, not written twice."""
    return render_template(
        "site/privacy.html",
        retention_days=retention_days(),
        signed_note_days=SIGNED_NOTE_AGE.days,
        contact=current_app.config["PRIVACY_CONTACT"],
    )


@bp.get("/<lang>/today")
def today() -> ResponseReturnValue:
    """Where "Leave quickly" goes from a sensitive campaign's page: today's
    date and nothing else, no name, logo, icon, link or stylesheet of ours, so
    that a glance at the screen (or at the history, its title) shows nothing."""
    response = make_response(render_template("site/today.html", today=utcnow().date()))
    # The same for everyone all day long, and no cookie either.
    response.headers["Cache-Control"] = "public, max-age=300"
    return response


def _error_page(status: int, kind: str) -> ResponseReturnValue:
    return render_template("site/error.html", status=status, kind=kind), status


@bp.app_errorhandler(CSRFError)
def csrf_error(error: CSRFError) -> ResponseReturnValue:
    return _error_page(400, "csrf")


@bp.app_errorhandler(HTTPException)
def http_error(error: HTTPException) -> ResponseReturnValue:
    status = error.code or 500
    if request.path.startswith("/api/"):
        # API clients get JSON, and the CORS header that lets them read it.
        response = jsonify({"error": error.name.lower().replace(" ", "_")})
        response.status_code = status
        response.headers["Access-Control-Allow-Origin"] = "*"
        return response
    kind = {404: "not_found", 405: "method", 413: "too_large"}.get(status, "bad_request")
    if status >= 500:
        kind = "server"
    return _error_page(status, kind)


@bp.app_errorhandler(OperationalError)
@bp.app_errorhandler(DBAPIError)
def database_unavailable(error: Exception) -> ResponseReturnValue:
    # The database is restarting or unreachable: ask the person to try again.
    log.warning("database unavailable: %s", type(error).__name__)
    # A connection the database closed under the request (a restart while
    # the session held it) cannot even roll back: let it go unused.
    try:
        db.session.rollback()
    except DBAPIError:
        with contextlib.suppress(DBAPIError):
            db.session().invalidate()
    # The page must not ask the database who is logged in (Flask-Login's
    # template context would load the console user, and fail again).
    g._login_user = AnonymousUserMixin()
    if request.path.startswith("/api/"):
        # API clients get JSON, as for any other error.
        body = jsonify({"error": "unavailable"})
        return body, 503, {"Retry-After": "10", "Access-Control-Allow-Origin": "*"}
    response = render_template("site/error.html", status=503, kind="unavailable")
    return response, 503, {"Retry-After": "10"}


def end_session(error: BaseException | None) -> None:
    """End the request's session before Flask-SQLAlchemy would: a connection
    the database closed under it (a restart) cannot even roll back, and that
    error would turn the answer already made (a 303 after a signature was
    stored) into a bare 500."""
    try:
        db.session.remove()
    except DBAPIError:
        log.warning("database connection lost at the end of a request")
        with contextlib.suppress(DBAPIError):
            db.session().invalidate()
        db.session.registry.clear()


@bp.record_once
def _end_session_first(state: BlueprintSetupState) -> None:
    # Registered after Flask-SQLAlchemy's own teardown, so run before it.
    state.app.teardown_appcontext(end_session)


@bp.app_errorhandler(Exception)
def unexpected_error(error: Exception) -> ResponseReturnValue:
    log.exception("unhandled error on %s %s", request.method, request.path)
    return _error_page(500, "server")
