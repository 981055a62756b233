"""Admins only: accounts and roles, the site-wide signing switch, the audit log."""

from __future__ import annotations

from flask import Blueprint, abort, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select
from wtforms import PasswordField, SelectField, StringField
from wtforms.validators import DataRequired, Email, Length

from ..accounts.audit import record
from ..accounts.passwords import MIN_LENGTH
from ..accounts.services import create_user
from ..extensions import db
from ..forms import Form
from ..i18n import count_text, current_language
from ..models import AuditEntry, Campaign, CampaignStatus, Organization, Role, User
from ..site_settings import SIGNING_PAUSED, set_setting, signing_paused
from . import notices
from .access import ADMINS, require, user
from .audit_text import audit_lines
from .confirm import Confirmation, ask, confirmed

bp = Blueprint("console_admin", __name__, url_prefix="/console")



def role_choices() -> list[tuple[str, str]]:
    """The roles in the reader's language (built per request: a list made at
    import would hold the English titles)."""
    return [(r.value, r.title) for r in Role]


class UserForm(Form):
    email = StringField(
        _l("Email address"),
        validators=[
            DataRequired(message=_l("Please enter an email address.")),
            Email(message=_l("Please enter a valid email address."), check_deliverability=False),
            Length(max=254),
        ],
    )
    name = StringField(
        _l("Name"), validators=[DataRequired(message=_l("Please enter a name.")), Length(max=100)]
    )
    password = PasswordField(
        _l("Password (at least 12 characters)"),
        validators=[
            DataRequired(message=_l("Please enter a password.")),
            Length(min=MIN_LENGTH, max=200, message=_l("At least 12 characters, please.")),
        ],
    )
    role = SelectField(_l("Role"), choices=role_choices)
    organization = SelectField(_l("Organization"), coerce=int)


def _organizations() -> list[tuple[int, str]]:
    lang = current_language()
    return [(o.id, o.name(lang)) for o in db.session.execute(select(Organization)).scalars()]


@bp.route("/users", methods=["GET", "POST"])
@require(*ADMINS)
def users() -> ResponseReturnValue:
    form = UserForm()
    form.organization.choices = _organizations()
    if form.validate_on_submit():
        email = form.email.data.strip().lower()
        if db.session.execute(select(User.id).where(User.email == email)).scalar():
            form.email.errors.append(_l("An account with this email exists."))
        else:
            organization = db.session.get(Organization, form.organization.data)
            if organization is None:
                abort(400)
            account = create_user(
                email, form.name.data, form.password.data, Role(form.role.data), organization
            )
            record("user_created", "user", account.id, role=account.role.value)
            db.session.commit()
            notices.done(_("The account was created. Give its owner the password in person."))
            return redirect(url_for(".users"), 303)
    accounts = db.session.execute(select(User).order_by(User.email)).scalars().all()
    status = 422 if request.method == "POST" else 200
    return render_template(
        "console/users.html", form=form, accounts=accounts, roles=role_choices()
    ), status


@bp.post("/users/<int:user_id>/role")
@require(*ADMINS)
def change_role(user_id: int) -> ResponseReturnValue:
    account = db.get_or_404(User, user_id)
    try:
        role = Role(request.form.get("role", ""))
    except ValueError:
        abort(400)
    if account.id == user().id:
        # An admin cannot demote themselves into a locked-out site.
        notices.failed(_("You cannot change your own role: ask another admin."))
        return redirect(url_for(".users"), 303)
    before = account.role
    account.role = role
    account.session_version += 1
    record("role_changed", "user", account.id, before=before.value, after=role.value)
    db.session.commit()
    notices.done(
        _("The role was changed to %(role)s; their other sessions have ended.", role=role.title)
    )
    return redirect(url_for(".users"), 303)


@bp.post("/users/<int:user_id>/active")
@require(*ADMINS)
def toggle_active(user_id: int) -> ResponseReturnValue:
    account = db.get_or_404(User, user_id)
    if account.id == user().id:
        notices.failed(_("You cannot disable your own account: ask another admin."))
        return redirect(url_for(".users"), 303)
    account.active = request.form.get("active") == "1"
    account.session_version += 1
    record("user_active" if account.active else "user_disabled", "user", account.id)
    db.session.commit()
    if account.active:
        notices.done(_("The account can log in again."))
    else:
        notices.done(_("The account is disabled: it cannot log in, and its sessions have ended."))
    return redirect(url_for(".users"), 303)


@bp.route("/settings", methods=["GET", "POST"])
@require(*ADMINS)
def settings() -> ResponseReturnValue:
    if request.method == "POST":
        paused = request.form.get("signing_paused") == "1"
        if paused:
            open_campaigns = _open_campaigns()
            if not confirmed(open_campaigns):
                return ask(_pause_confirmation(open_campaigns))
        set_setting(SIGNING_PAUSED, "1" if paused else "")
        record("site_paused" if paused else "site_resumed", "site", None)
        db.session.commit()
        if paused:
            notices.done(_("Signing is paused on every campaign."))
        else:
            notices.done(_("Signing is open again on every open campaign."))
        return redirect(url_for(".settings"), 303)
    return render_template(
        "console/settings.html", paused=signing_paused(), open_campaigns=_open_campaigns()
    )


def _open_campaigns() -> int:
    return int(
        db.session.execute(
            select(func.count(Campaign.id)).where(Campaign.status == CampaignStatus.open)
        ).scalar_one()
    )


def _pause_confirmation(open_campaigns: int) -> Confirmation:
    return Confirmation(
        title=_("Pause signing everywhere?"),
        effect=count_text(
            "Signing stops on the %(num)s open campaign.",
            "Signing stops on all %(num)s open campaigns.",
            open_campaigns,
        ),
        details=(
            _(
                "Campaign pages stay visible with their figures; nobody can sign "
                "until you resume signing here."
            ),
        ),
        button=_("Pause signing everywhere"),
        cancel=url_for(".settings"),
        figure=open_campaigns,
    )


@bp.get("/audit")
@require(*ADMINS)
def audit() -> ResponseReturnValue:
    page = max(1, request.args.get("page", 1, type=int) or 1)
    entries = db.session.execute(
        select(AuditEntry).order_by(AuditEntry.id.desc()).limit(100).offset((page - 1) * 100)
    ).scalars().all()
    return render_template(
        "console/audit.html", lines=audit_lines(entries), more=len(entries) == 100, page=page
    )
