"""Login, logout and the second factor."""

from __future__ import annotations

import math
import unicodedata
from datetime import timedelta
from urllib.parse import urlsplit

from flask import Blueprint, redirect, render_template, request, session, url_for
from flask.typing import ResponseReturnValue
from flask_babel import format_timedelta, gettext
from flask_login import current_user, login_user, logout_user

from ..accounts.audit import record
from ..accounts.services import (
    LoginRefused,
    LoginThrottled,
    WrongCurrentFactor,
    WrongNewCode,
    authenticate,
    end_sessions,
    enrol_second_factor,
    needs_totp_setup,
)
from ..accounts.totp import pending_secret, provisioning_uri, qr_svg, start_enrolment
from ..extensions import db
from ..i18n import time_zone_choices, time_zone_name
from . import notices
from .access import EVERYONE, require, user
from .devices import device_for, remember_device
from .forms import LoginForm, TimeZoneForm, TotpChangeForm, TotpSetupForm, TotpStartForm

bp = Blueprint("console_auth", __name__, url_prefix="/console")

MAX_NEXT = 2000


def _plain_local_path(target: str) -> bool:
    # A control, format or space character (a CR/LF would even break the
    # Location header) or a backslash (browsers read it as "/") never belongs.
    return (
        len(target) <= MAX_NEXT
        and target.startswith("/")
        and not target.startswith("//")
        and not any(ch == "\\" or unicodedata.category(ch)[0] in "CZ" for ch in target)
    )


def _safe_next(target: str | None) -> str:
    # Only plain paths on this site: never an open redirect, never a 500.
    if target and _plain_local_path(target):
        parts = urlsplit(target)
        if not parts.netloc and not parts.scheme:
            return target
    return url_for("console_campaigns.dashboard")


def _wait_message(wait: timedelta) -> str:
    # Whole minutes, rounded up: the page is the same for every attempt on
    # the same delay, whatever the second it arrives at (Retry-After is exact).
    minutes = timedelta(minutes=max(1, math.ceil(wait.total_seconds() / 60)))
    return gettext(
        "Too many attempts. Please wait %(wait)s, then try again.",
        wait=format_timedelta(minutes, granularity="minute", threshold=1000, add_direction=False),
    )


def _throttled(wait: timedelta) -> dict[str, str]:
    return {"Retry-After": str(max(1, math.ceil(wait.total_seconds())))}


@bp.route("/login", methods=["GET", "POST"])
def login() -> ResponseReturnValue:
    form = LoginForm()
    error = None
    status = 200
    headers: dict[str, str] = {}
    if form.validate_on_submit():
        email = form.email.data
        try:
            account = authenticate(
                email, form.password.data, form.code.data or "", request.remote_addr,
                device_for(email),
            )
        except LoginThrottled as throttled:
            db.session.commit()
            error, status = _wait_message(throttled.wait), 429
            headers = _throttled(throttled.wait)
        except LoginRefused:
            db.session.commit()
            error, status = gettext("The email, password or code is not right."), 401
        else:
            session.clear()
            login_user(account)
            if needs_totp_setup(account) and account.totp_pending is None:
                start_enrolment(account)  # the key to scan waits on the next page
            record("login", "user", account.id)
            db.session.commit()
            response = redirect(_safe_next(request.args.get("next")), 303)
            remember_device(response, email)
            return response
    elif request.method == "POST":
        status = 422
    return render_template("console/login.html", form=form, error=error), status, headers


@bp.post("/logout")
def logout() -> ResponseReturnValue:
    if current_user.is_authenticated:
        # Ended on the server: a copy of the session cookie stops working too.
        account = user()
        end_sessions(account)
        record("logout", "user", account.id)
        db.session.commit()
    logout_user()
    session.clear()
    notices.done(gettext("You are logged out."))
    return redirect(url_for(".login"), 303)


@bp.route("/totp", methods=["GET", "POST"])
def totp_setup() -> ResponseReturnValue:
    """Set up or replace the second factor (required for admins and
    organizers before anything else; partners may choose it)."""
    if not current_user.is_authenticated:
        return redirect(url_for(".login"))
    account = user()
    starting = request.method == "POST" and "start" in request.form
    if starting and TotpStartForm().validate_on_submit():
        start_enrolment(account)
        db.session.commit()
        return redirect(url_for(".totp_setup"), 303)
    secret = pending_secret(account)
    form = TotpChangeForm() if account.totp_enabled else TotpSetupForm()
    error, status, headers = None, 200, {}
    if secret is not None and form.validate_on_submit():
        change = isinstance(form, TotpChangeForm)
        try:
            enrol_second_factor(
                account,
                form.code.data,
                form.password.data if change else "",
                form.current_code.data if change else "",
            )
        except LoginThrottled as throttled:
            db.session.commit()
            error, status, headers = _wait_message(throttled.wait), 429, _throttled(throttled.wait)
        except WrongCurrentFactor:
            db.session.commit()  # the failure counts; nothing else changed
            error = gettext("Your password or the code from your current app is not right.")
            status = 422
        except WrongNewCode:
            db.session.rollback()
            error, status = gettext(
                "That code is not right. Codes change every 30 seconds: try the new one."
            ), 422
        else:
            record("totp_enabled", "user", account.id)
            end_sessions(account)  # other sessions end; this one is renewed below
            db.session.commit()
            login_user(account)
            notices.done(gettext("Your second factor is on: each login now asks for a code."))
            return redirect(url_for("console_campaigns.dashboard"), 303)
    elif request.method == "POST":
        status = 422
    start = TotpStartForm()
    qr = qr_svg(provisioning_uri(secret, account.email)) if secret else None
    return render_template(
        "console/totp.html", form=form, start=start, secret=secret, qr=qr, error=error,
        enrolled=account.totp_enabled,
    ), status, headers


@bp.route("/account", methods=["GET", "POST"])
@require(*EVERYONE)
def account() -> ResponseReturnValue:
    """The reader's own settings: the time zone the console shows times in."""
    me = user()
    form = TimeZoneForm(data=None if request.method == "POST" else {"time_zone": me.time_zone})
    form.time_zone.choices = time_zone_choices()
    if form.validate_on_submit():
        me.time_zone = form.time_zone.data
        db.session.commit()
        notices.done(
            gettext(
                "Dates and times are now shown in the time of %(zone)s.",
                zone=time_zone_name(me.time_zone),
            )
        )
        return redirect(url_for(".account"), 303)
    status = 422 if request.method == "POST" else 200
    return render_template("console/account.html", form=form), status
