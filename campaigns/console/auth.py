"""Login, logout and the second factor."""

from __future__ import annotations

from urllib.parse import urlsplit

from flask import Blueprint, redirect, render_template, request, session, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext
from flask_login import current_user, login_user, logout_user

from ..accounts.audit import record
from ..accounts.services import LoginRefused, LoginThrottled, authenticate
from ..accounts.totp import new_secret, provisioning_uri, qr_svg, seal_secret, verify_code
from ..extensions import db
from .access import user
from .forms import LoginForm, TotpSetupForm

bp = Blueprint("console_auth", __name__, url_prefix="/console")


def _safe_next(target: str | None) -> str:
    # Only paths on this site: never an open redirect.
    if target and target.startswith("/") and not target.startswith("//"):
        parts = urlsplit(target)
        if not parts.netloc and not parts.scheme:
            return target
    return url_for("console_campaigns.dashboard")


@bp.route("/login", methods=["GET", "POST"])
def login() -> ResponseReturnValue:
    form = LoginForm()
    error = None
    status = 200
    if form.validate_on_submit():
        try:
            account = authenticate(
                form.email.data, form.password.data, form.code.data or "", request.remote_addr
            )
        except LoginThrottled:
            db.session.commit()
            error, status = gettext("Too many attempts. Please wait a quarter of an hour."), 429
        except LoginRefused:
            db.session.commit()
            error, status = gettext("The email, password or code is not right."), 401
        else:
            session.clear()
            login_user(account)
            record("login", "user", account.id)
            db.session.commit()
            return redirect(_safe_next(request.args.get("next")), 303)
    elif request.method == "POST":
        status = 422
    return render_template("console/login.html", form=form, error=error), status


@bp.post("/logout")
def logout() -> ResponseReturnValue:
    logout_user()
    session.clear()
    return redirect(url_for(".login"), 303)


@bp.route("/totp", methods=["GET", "POST"])
def totp_setup() -> ResponseReturnValue:
    """Set up the second factor (required for admins before anything else)."""
    if not current_user.is_authenticated:
        return redirect(url_for(".login"))
    account = user()
    form = TotpSetupForm()
    secret = session.get("totp_pending") or new_secret()
    session["totp_pending"] = secret
    error = None
    if form.validate_on_submit():
        if verify_code(secret, form.code.data):
            account.totp_secret = seal_secret(secret)
            account.totp_enabled = True
            account.session_version += 1
            session.pop("totp_pending", None)
            record("totp_enabled", "user", account.id)
            db.session.commit()
            login_user(account)
            return redirect(url_for("console_campaigns.dashboard"), 303)
        error = gettext("That code is not right. Codes change every 30 seconds: try the new one.")
    uri = provisioning_uri(secret, account.email)
    return render_template(
        "console/totp.html", form=form, secret=secret, qr=qr_svg(uri), error=error
    ), (422 if error or form.errors else 200)
