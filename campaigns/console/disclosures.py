"""Two people to open personal data: requests, a second admin's decision,
and the requester's one-time grant (campaigns/accounts/disclosure.py).

GET pages only show; asking, deciding, collecting the grant and using it are
POSTs with the CSRF token. The grant travels in a form field, never in a URL
(addresses end up in logs)."""

from __future__ import annotations

from flask import Blueprint, abort, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import select
from wtforms import SelectField, TextAreaField
from wtforms.validators import Length, ValidationError

from ..accounts.disclosure import (
    DisclosureError,
    decide_disclosure,
    issue_grant,
    may_request,
    recent_requests,
    request_disclosure,
    requests_of,
    shown_state,
    two_person_rule,
    use_grant,
    waiting_for,
)
from ..accounts.services import visible_campaigns
from ..extensions import db
from ..forms import Form
from ..i18n import current_language, language_name, languages
from ..kernel.normalize import clean_text
from ..models import Campaign, DisclosureKind, DisclosureRequest, Role, User
from ..models.disclosure import REASON_MAX
from . import notices
from .access import MANAGERS, require, user, viewable_campaign
from .exports import (
    delivery_download,
    delivery_language,
    signatures_download,
    too_many_named,
)
from .moderation import queue_page

bp = Blueprint("console_disclosures", __name__, url_prefix="/console")

MESSAGES = {
    "not_allowed": _l("You may not ask for this."),
    "no_reason": _l("Please give a reason."),
    "long_reason": _l("Please keep the reason under 500 characters."),
    "not_admin": _l("Only an admin may approve or refuse a request."),
    "own_request": _l("You cannot approve or refuse your own request: another admin must decide."),
    "not_waiting": _l("This request has already been decided."),
    "not_yours": _l("Only the person who asked may use this request."),
    "already_issued": _l(
        "The one-time link of this request was already shown. If you lost it, please ask again."
    ),
    "not_approved": _l("This request is not approved."),
    "used": _l("This one-time link has already been used. Please ask again."),
    "expired": _l("This one-time link has expired. Please ask again."),
    "approval_expired": _l(
        "This approval has lapsed: its one-time link was not taken in time. Please ask again."
    ),
    "wrong_token": _l("This one-time link is not valid."),
    "too_many": _l(
        "This campaign has too many named signers to make the document here: "
        "an operator makes it on the server."
    ),
}
STATUS = {
    "own_request": 403,
    "not_admin": 403,
    "not_yours": 403,
    "not_approved": 403,
    "wrong_token": 403,
    "not_waiting": 409,
    "already_issued": 409,
    "used": 410,
    "expired": 410,
    "approval_expired": 410,
    "too_many": 422,
}


class DisclosureForm(Form):
    kind = SelectField(_l("What you need"), choices=[])
    campaign = SelectField(_l("Campaign"), choices=[], default="")
    reason = TextAreaField(
        _l("Why you need it"),
        [Length(max=REASON_MAX, message=_l("Please keep the reason under 500 characters."))],
    )

    def validate_reason(self, field: TextAreaField) -> None:
        if not clean_text(field.data or ""):
            raise ValidationError(MESSAGES["no_reason"])


def _form(formdata: object = None) -> DisclosureForm:
    kwargs = {} if formdata is None else {"formdata": formdata}
    form = DisclosureForm(**kwargs)
    me = user()
    kinds = list(DisclosureKind) if me.role is Role.admin else [DisclosureKind.delivery_names]
    form.kind.choices = [(k.value, k.title) for k in kinds]
    lang = current_language()
    blank = [("", _l("All campaigns (moderation only)"))] if me.role is Role.admin else []
    form.campaign.choices = blank + [(c.slug, c.text(lang).title) for c in visible_campaigns(me)]
    return form


def _message(reason: str, status: int | None = None) -> ResponseReturnValue:
    return render_template(
        "console/disclosures/message.html", message=MESSAGES[reason]
    ), status or STATUS.get(reason, 400)


def _campaigns(items: list[DisclosureRequest]) -> dict[int, Campaign]:
    ids = {i.campaign_id for i in items if i.campaign_id is not None}
    if not ids:
        return {}
    found = db.session.execute(select(Campaign).where(Campaign.id.in_(ids))).scalars()
    return {c.id: c for c in found}


def _people(items: list[DisclosureRequest]) -> dict[int, User]:
    ids = {i.requester_id for i in items} | {i.decided_by_id for i in items if i.decided_by_id}
    if not ids:
        return {}
    return {u.id: u for u in db.session.execute(select(User).where(User.id.in_(ids))).scalars()}


@bp.get("/disclosures")
@require(*MANAGERS)
def index() -> ResponseReturnValue:
    me = user()
    waiting = waiting_for(me)
    mine = requests_of(me)
    recent = recent_requests() if me.role is Role.admin else []
    everything = waiting + mine + recent
    return render_template(
        "console/disclosures/index.html",
        waiting=waiting,
        mine=mine,
        recent=recent,
        campaigns=_campaigns(everything),
        people=_people(everything),
        shown_state=shown_state,
        two_person=two_person_rule(),
    )


@bp.route("/disclosures/new", methods=["GET", "POST"])
@require(*MANAGERS)
def new() -> ResponseReturnValue:
    if request.method == "GET":
        # Pre-filled from the exports or moderation page; asking is the POST.
        form = _form(request.args)
        form.reason.data = ""
        return render_template("console/disclosures/new.html", form=form)
    form = _form()
    status = 422
    if form.validate_on_submit():
        kind = DisclosureKind(form.kind.data)
        slug = form.campaign.data
        campaign = viewable_campaign(slug) if slug else None
        try:
            request_disclosure(kind, campaign, user(), form.reason.data)
        except DisclosureError as refused:
            form.form_errors.append(MESSAGES[refused.reason])
            status = 403 if refused.reason == "not_allowed" else 422
        else:
            db.session.commit()
            notices.done(_("Your request was sent: another admin decides on it."))
            return redirect(url_for(".index"), 303)
    return render_template("console/disclosures/new.html", form=form), status


def _disclosure(disclosure_id: int) -> DisclosureRequest:
    """A request its viewer may see: admins all, others their own (404 otherwise)."""
    item = db.session.get(DisclosureRequest, disclosure_id)
    me = user()
    if item is None or (me.role is not Role.admin and item.requester_id != me.id):
        abort(404)
    return item


def _decide(disclosure_id: int, approve: bool) -> ResponseReturnValue:
    item = _disclosure(disclosure_id)
    try:
        decide_disclosure(item, user(), approve)
    except DisclosureError as refused:
        return _message(refused.reason)
    db.session.commit()
    if approve:
        notices.done(_("You approved the request: its author can now collect the one-time link."))
    else:
        notices.done(_("You refused the request."))
    return redirect(url_for(".index"), 303)


@bp.post("/disclosures/<int:disclosure_id>/approve")
@require(Role.admin)
def approve(disclosure_id: int) -> ResponseReturnValue:
    return _decide(disclosure_id, True)


@bp.post("/disclosures/<int:disclosure_id>/refuse")
@require(Role.admin)
def refuse(disclosure_id: int) -> ResponseReturnValue:
    return _decide(disclosure_id, False)


def _campaign_of(item: DisclosureRequest) -> Campaign | None:
    return db.session.get(Campaign, item.campaign_id) if item.campaign_id else None


@bp.post("/disclosures/<int:disclosure_id>/grant")
@require(*MANAGERS)
def grant(disclosure_id: int) -> ResponseReturnValue:
    """The one-time grant, shown in this answer only."""
    item = _disclosure(disclosure_id)
    try:
        token = issue_grant(item, user())
    except DisclosureError as refused:
        return _message(refused.reason)
    db.session.commit()
    campaign = _campaign_of(item)
    response = render_template(
        "console/disclosures/grant.html",
        item=item,
        campaign=campaign,
        token=token,
        document_languages=[(code, language_name(code)) for code in languages()],
    )
    return response, 200, {"Cache-Control": "no-store"}


@bp.post("/disclosures/<int:disclosure_id>/use")
@require(*MANAGERS)
def use(disclosure_id: int) -> ResponseReturnValue:
    """Take the grant once, and open what it was asked for."""
    item = _disclosure(disclosure_id)
    me = user()
    if item.requester_id != me.id:
        return _message("not_yours")
    campaign = _campaign_of(item)
    # Still allowed to see it (a role may have changed since the request).
    if not may_request(me, item.kind, campaign):
        return _message("not_allowed", 403)
    if campaign is not None:
        viewable_campaign(campaign.slug)
    if item.kind is DisclosureKind.delivery_names and campaign and too_many_named(campaign):
        return _message("too_many")
    try:
        use_grant(item, me, request.form.get("token"))
    except DisclosureError as refused:
        db.session.commit()  # the refusal is audited
        return _message(refused.reason)
    if item.kind is DisclosureKind.reveal_names:
        return queue_page(campaign, 1, "all", True, disclosure=item.id)
    if campaign is None:  # only a moderation request may span every campaign
        abort(404)
    if item.kind is DisclosureKind.export_personal:
        return signatures_download(campaign, disclosure=item.id)
    english = request.form.get("english") == "1"
    return delivery_download(campaign, delivery_language(), english, disclosure=item.id)
