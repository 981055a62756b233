"""Moderation in the console: the review queue of flagged and fraudulent
signatures, held signatures decided a network or an email domain at a time, bulk invalidations,
and trending bursts. Admins and the organizers
of a campaign's organization; partners never."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

from flask import Blueprint, abort, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_babel import ngettext
from sqlalchemy import select
from wtforms import (
    BooleanField,
    DateTimeLocalField,
    HiddenField,
    RadioField,
    SelectField,
    StringField,
    TextAreaField,
)
from wtforms.validators import (
    AnyOf,
    DataRequired,
    InputRequired,
    Length,
    Optional,
    Regexp,
    ValidationError,
)

from ..accounts.disclosure import two_person_rule
from ..accounts.services import visible_campaigns
from ..extensions import db
from ..forms import Form
from ..i18n import count_text, current_language, format_number
from ..kernel.countries import country_choices
from ..kernel.normalize import InvalidEmail, email_domain
from ..models import Campaign, Invalidation, Role, Signature
from ..moderation.held import KINDS, GroupChanged, decide_group, held_group, held_groups
from ..moderation.invalidation import (
    PERSONAL_CONDITIONS,
    SMALL_COUNT,
    ConditionNotAllowed,
    NoConditions,
    Preview,
    audited_preview,
    cancel_invalidation,
    create_invalidation,
    describe_conditions,
    organizer_conditions,
    start_invalidation,
)
from ..moderation.services import (
    PAGE_SIZE,
    QUEUE_PARTS,
    QUEUE_REASONS,
    NotReviewable,
    QueueChanged,
    QueueFilter,
    accept_signature,
    awaiting_review,
    decide_shown,
    queue_confirmation,
    queue_size,
    reject_signature,
    reveal_personal_data,
    review_queue,
)
from ..moderation.trending import DOMAIN, IP, recent_flags, sample_domain, window_end
from ..privacy.crypto import hash_email_domain
from ..signing.lifecycle import REASON_LABELS
from . import notices
from .access import MANAGERS, managed_campaign, require, user
from .confirm import Confirmation, ask, confirmed

bp = Blueprint("console_moderation", __name__, url_prefix="/console")

CONDITION_LABELS = {
    "since": _l("Signed from (UTC)"),
    "until": _l("Signed before (UTC)"),
    "email_domain_hash": _l("Email domain (hash)"),
    "email_domain": _l("Email domain"),
    "ip_hash": _l("Address hash"),
    "country": _l("Country"),
    "name_pattern": _l("Name"),
    "kiosk": _l("Stand (kiosk)"),
    "collector": _l("Collector (account number)"),
}
REFUSED_CONDITIONS = {
    "personal": _l("Only an administrator may choose signatures by name or email domain."),
    "hash": _l("Use a hash from the trending page of this campaign."),
}
PART_LABELS = {
    "all": _l("All"),
    "flagged": _l("In a burst"),
    "fraudulent": _l("Stopped by the fraud rules"),
}
DATETIME_FORMATS = ["%Y-%m-%dT%H:%M", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d %H:%M", "%Y-%m-%d %H:%M:%S"]
HASH = r"^\s*[0-9a-fA-F]{32}\s*$"


class InvalidationForm(Form):
    campaign = SelectField(_l("Campaign"), choices=[], default="")
    since = DateTimeLocalField(
        _l("Signed from (UTC)"), [Optional()], format=DATETIME_FORMATS, tz=UTC
    )
    until = DateTimeLocalField(
        _l("Signed before (UTC)"), [Optional()], format=DATETIME_FORMATS, tz=UTC
    )
    email_domain = StringField(_l("Email domain"), [Optional(), Length(max=253)])
    email_domain_hash = StringField(
        _l("Email domain hash (from trending)"),
        [Optional(), Regexp(HASH, message=_l("A hash has 32 characters 0-9 and a-f."))],
    )
    ip_hash = StringField(
        _l("Address hash (from trending)"),
        [Optional(), Regexp(HASH, message=_l("A hash has 32 characters 0-9 and a-f."))],
    )
    country = SelectField(_l("Country"), choices=[], default="")
    name_pattern = StringField(
        _l("Name contains (or matches a pattern with * and ?)"), [Optional(), Length(max=100)]
    )
    reason = TextAreaField(_l("Reason"), [Optional(), Length(max=500)])

    def validate_until(self, field: DateTimeLocalField) -> None:
        if field.data and self.since.data and field.data <= self.since.data:
            raise ValidationError(_l("The end must come after the start."))

    def validate_email_domain(self, field: StringField) -> None:
        if not field.data:
            return
        if self.email_domain_hash.data:
            raise ValidationError(_l("Give the domain or its hash, not both."))
        try:
            # The form signing uses for the stored hash (lowercase, Gmail aliases).
            field.data = email_domain("x@" + field.data.strip().lstrip("@"))
        except InvalidEmail:
            raise ValidationError(_l("Enter a domain such as example.org.")) from None

    def conditions(self) -> dict[str, str]:
        """The conditions filled in, as an invalidation stores them."""
        found: dict[str, str] = {}
        if self.since.data:
            found["since"] = self.since.data.isoformat()
        if self.until.data:
            found["until"] = self.until.data.isoformat()
        if self.email_domain.data:
            found["email_domain_hash"] = hash_email_domain(self.email_domain.data).hex()
        elif self.email_domain_hash.data:
            found["email_domain_hash"] = self.email_domain_hash.data.strip().lower()
        if self.ip_hash.data:
            found["ip_hash"] = self.ip_hash.data.strip().lower()
        if self.country.data:
            found["country"] = self.country.data
        if self.name_pattern.data and self.name_pattern.data.strip():
            found["name_pattern"] = self.name_pattern.data.strip()
        return found


class HeldGroupForm(Form):
    """One decision on a whole group of held signatures."""

    decision = RadioField(
        _l("Decision"),
        choices=[
            ("release", _l("Release: count them")),
            ("reject", _l("Reject: invalidate them")),
        ],
        validators=[InputRequired(message=_l("Choose to release or to reject the group."))],
    )
    # The number the person saw: a group that grew or shrank meanwhile asks again.
    count = HiddenField(validators=[Regexp(r"^\d{1,9}$")])
    confirmed = BooleanField(
        _l("I have looked at this group and take this decision for all of its signatures."),
        validators=[DataRequired(message=_l("Please confirm the number of signatures."))],
    )


def _is_admin() -> bool:
    return user().role is Role.admin


def _managed_ids() -> list[int] | None:
    """The campaigns the user moderates; None for admins (every campaign)."""
    return None if _is_admin() else [c.id for c in visible_campaigns(user())]


def _page() -> int:
    return max(1, request.args.get("page", 1, type=int) or 1)


def _filter_args() -> tuple[str, str]:
    """The queue's part and reason asked for; what no filter offers shows all."""
    part = request.args.get("show", "all")
    reason = request.args.get("reason", "")
    return (
        part if part in QUEUE_PARTS else "all",
        reason if reason in QUEUE_REASONS else "",
    )


def _shown(campaign: Campaign | None, part: str, reason: str = "") -> QueueFilter:
    ids = [campaign.id] if campaign else _managed_ids()
    return QueueFilter(None if ids is None else tuple(ids), part, reason)


def _queue(campaign: Campaign | None) -> ResponseReturnValue:
    page = _page()
    part, reason = _filter_args()
    # Under the two-person rule names are shown only through an approved request.
    reveal = request.args.get("personal") == "1" and _is_admin() and not two_person_rule()
    return queue_page(campaign, page, part, reveal, reason)


def queue_page(
    campaign: Campaign | None,
    page: int,
    part: str,
    reveal: bool,
    reason: str = "",
    **audit: object,
) -> ResponseReturnValue:
    """The review queue; with ``reveal``, names and email addresses too (each
    one shown is audited, and committed)."""
    shown = _shown(campaign, part if part in QUEUE_PARTS else "all", reason)
    signatures = review_queue(shown, page)
    personal = {}
    if reveal:
        personal = reveal_personal_data(signatures, **audit)
        db.session.commit()
    return render_template(
        "console/moderation/queue.html",
        held={kind: held_groups(shown.campaign_ids, kind) for kind in KINDS},
        campaigns_by_id=_campaigns_by_id(),
        campaign=campaign,
        campaigns=visible_campaigns(user()),
        signatures=signatures,
        personal=personal,
        reasons=REASON_LABELS,
        parts=PART_LABELS,
        page=page,
        part=shown.part,
        reason=shown.reason,
        size=queue_size(shown),
        more=len(signatures) == PAGE_SIZE,
        can_reveal=_is_admin(),
        two_person=two_person_rule(),
    )


@bp.get("/moderation")
@require(*MANAGERS)
def index() -> ResponseReturnValue:
    slug = request.args.get("campaign", "")
    if slug:
        # The filter form names the campaign; its queue has its own address.
        part, reason = _filter_args()
        found = managed_campaign(slug)
        return redirect(
            url_for(".campaign_queue", slug=found.slug, show=part, reason=reason or None), 303
        )
    return _queue(None)


@bp.get("/moderation/campaigns/<slug>")
@require(*MANAGERS)
def campaign_queue(slug: str) -> ResponseReturnValue:
    return _queue(managed_campaign(slug))


def _signature(signature_uuid: uuid.UUID) -> Signature:
    signature = db.session.execute(
        select(Signature).where(Signature.uuid == signature_uuid)
    ).scalar_one_or_none()
    if signature is None:
        abort(404)
    managed_campaign(signature.campaign.slug)
    return signature


def _back(signature: Signature) -> ResponseReturnValue:
    if request.form.get("back") == "campaign":
        return redirect(url_for(".campaign_queue", slug=signature.campaign.slug), 303)
    return redirect(url_for(".index"), 303)


@bp.post("/moderation/signatures/<uuid:signature_uuid>/accept")
@require(*MANAGERS)
def accept(signature_uuid: uuid.UUID) -> ResponseReturnValue:
    signature = _signature(signature_uuid)
    try:
        queue_confirmation(accept_signature(signature))
    except NotReviewable:
        abort(409)
    db.session.commit()
    notices.done(accepted_message(1))
    return _back(signature)


@bp.route("/moderation/signatures/<uuid:signature_uuid>/reject", methods=["GET", "POST"])
@require(*MANAGERS)
def reject(signature_uuid: uuid.UUID) -> ResponseReturnValue:
    """GET asks to confirm (what is rejected, nothing personal); the POST
    of its form rejects."""
    signature = _signature(signature_uuid)
    if request.method == "GET":
        waiting = db.session.execute(
            select(Signature.id).where(Signature.id == signature.id, awaiting_review())
        ).first()
        return render_template(
            "console/moderation/reject.html",
            signature=signature,
            waiting=waiting is not None,
            reasons=REASON_LABELS,
            back="campaign" if request.args.get("back") == "campaign" else "",
        )
    try:
        reject_signature(signature)
    except NotReviewable:
        abort(409)
    db.session.commit()
    notices.done(rejected_message(1))
    return _back(signature)


def accepted_message(count: int) -> str:
    return ngettext(
        "%(count)s signature accepted. A signature the fraud rules stopped is sent its "
        "confirmation email and counted once its signer confirms.",
        "%(count)s signatures accepted. Signatures the fraud rules stopped are sent their "
        "confirmation email and counted once their signers confirm.",
        count,
        count=format_number(count),
    )


def rejected_message(count: int) -> str:
    return ngettext(
        "%(count)s signature rejected: it is not counted, and leaves the figures within a "
        "minute if it was.",
        "%(count)s signatures rejected: they are not counted, and those that were leave the "
        "figures within a minute.",
        count,
        count=format_number(count),
    )


class BulkForm(Form):
    """Every signature a filter shows, accepted or rejected at once: the
    filter and the number the person saw travel with the confirming POST."""

    show = HiddenField(validators=[AnyOf(QUEUE_PARTS)])
    reason = HiddenField(validators=[AnyOf(("", *QUEUE_REASONS))])
    count = HiddenField(validators=[Regexp(r"^\d{1,9}$")])


@bp.route(
    "/moderation/campaigns/<slug>/bulk/<any(accept, reject):decision>", methods=["GET", "POST"]
)
@require(*MANAGERS)
def bulk(slug: str, decision: str) -> ResponseReturnValue:
    """The confirmation of a decision on every signature a filter shows (GET,
    changes nothing), and the decision (its POST)."""
    campaign = managed_campaign(slug)
    form = BulkForm()
    status = 200
    changed: int | None = None
    if request.method == "POST":
        if not form.validate_on_submit():
            notices.failed(_("The form was out of date. Please look at the signatures again."))
            return redirect(url_for(".campaign_queue", slug=campaign.slug), 303)
        shown = _shown(campaign, form.show.data or "all", form.reason.data or "")
        try:
            decided, email_ids = decide_shown(campaign, shown, decision, int(form.count.data))
        except QueueChanged as queue:
            db.session.rollback()
            changed, status = queue.size, 409
        else:
            queue_confirmation(email_ids)
            db.session.commit()
            message = accepted_message if decision == "accept" else rejected_message
            notices.done(message(decided))
            return redirect(
                url_for(
                    ".campaign_queue",
                    slug=campaign.slug,
                    show=shown.part,
                    reason=shown.reason or None,
                ),
                303,
            )
    else:
        part, reason = _filter_args()
        shown = _shown(campaign, part, reason)
    size = queue_size(shown)
    form.show.data, form.reason.data, form.count.data = shown.part, shown.reason, str(size)
    return render_template(
        "console/moderation/bulk.html",
        campaign=campaign,
        decision=decision,
        form=form,
        shown=shown,
        size=size,
        changed=changed,
        parts=PART_LABELS,
        reasons=REASON_LABELS,
    ), status


def _campaigns_by_id() -> dict[int, Campaign]:
    return {c.id: c for c in visible_campaigns(user())}


@bp.route(
    "/moderation/campaigns/<slug>/held/<any(network, domain):kind>/<group>",
    methods=["GET", "POST"],
)
@require(*MANAGERS)
def held(slug: str, kind: str, group: str) -> ResponseReturnValue:
    """One network's (or email domain's) held signatures and the one decision
    on all of them."""
    campaign = managed_campaign(slug)
    found = held_group(campaign, group, kind)
    form = HeldGroupForm()
    status = 200
    if request.method == "POST" and form.validate_on_submit():
        try:
            moved = decide_group(
                campaign, group, form.decision.data, int(form.count.data), kind
            )
        except GroupChanged as changed:
            db.session.rollback()
            form.confirmed.errors.append(
                _l(
                    "The group changed meanwhile: it now holds %(num)s signatures. "
                    "Please confirm again.",
                    num=changed.size,
                )
            )
            found = held_group(campaign, group, kind)
        else:
            db.session.commit()
            # Decided now or before (twice, or by someone else): the same page.
            if not moved:
                notices.done(_("This group was decided already: nothing changed."))
            elif form.decision.data == "release":
                notices.done(
                    ngettext(
                        "%(count)s held signature released; it will be counted within a minute.",
                        "%(count)s held signatures released; they will be counted within a minute.",
                        moved,
                        count=format_number(moved),
                    )
                )
            else:
                notices.done(
                    ngettext(
                        "%(count)s held signature rejected; it will not be counted.",
                        "%(count)s held signatures rejected; they will not be counted.",
                        moved,
                        count=format_number(moved),
                    )
                )
            return redirect(url_for(".campaign_queue", slug=campaign.slug), 303)
    if request.method == "POST":
        status = 422
    elif found is None:
        status = 404
    if found is not None:
        form.count.data = str(found.size)
    return render_template(
        "console/moderation/held.html",
        campaign=campaign,
        group=found,
        kind=kind,
        label=group,
        form=form,
    ), status


@bp.get("/moderation/invalidations")
@require(*MANAGERS)
def invalidations() -> ResponseReturnValue:
    query = select(Invalidation).order_by(Invalidation.id.desc()).limit(100)
    ids = _managed_ids()
    if ids is not None:
        query = query.where(Invalidation.campaign_id.in_(ids))
    return render_template(
        "console/moderation/invalidations.html",
        invalidations=db.session.execute(query).scalars().all(),
        campaigns=_campaigns_by_id(),
        labels=CONDITION_LABELS,
        describe=_described,
        hide_small=not _is_admin(),
        small=SMALL_COUNT,
    )


def _form(formdata: Any = None, **kwargs: Any) -> InvalidationForm:
    """The form with this user's campaigns; ``formdata`` None reads the POST."""
    if formdata is not None:
        kwargs["formdata"] = formdata
    form = InvalidationForm(**kwargs)
    lang = current_language()
    blank = _l("All campaigns") if _is_admin() else _l("Choose a campaign")
    form.campaign.choices = [("", blank)] + [
        (c.slug, c.text(lang).title) for c in visible_campaigns(user())
    ]
    form.country.choices = [("", _l("Any country")), *country_choices(lang)]
    return form


def _organizer_conditions(
    form: InvalidationForm, campaign: Campaign, conditions: dict[str, str]
) -> dict[str, str] | None:
    """The conditions an organizer may use, the window snapped to whole hours
    and shown so on the form; None (and a field error) when one is refused."""
    asked = dict(conditions)
    if form.email_domain.data:
        asked["email_domain"] = form.email_domain.data  # hashed by form.conditions()
    try:
        allowed = organizer_conditions(campaign.id, asked)
    except ConditionNotAllowed as refused:
        form[refused.condition].errors.append(REFUSED_CONDITIONS[refused.reason])
        return None
    for name in ("since", "until"):
        if name in allowed:
            form[name].data = datetime.fromisoformat(allowed[name])
            form[name].raw_data = None  # shown from ``data``, as snapped
    return allowed


@bp.route("/moderation/invalidations/new", methods=["GET", "POST"])
@require(*MANAGERS)
def new_invalidation() -> ResponseReturnValue:
    slug = (request.values.get("campaign") or "").strip()
    campaign = managed_campaign(slug) if slug else None
    admin = _is_admin()
    if request.method == "GET":
        # Pre-filled from a trending burst, with a CSRF token: the person
        # previews it with the form's button (a GET changes nothing, audit included).
        return render_template(
            "console/moderation/invalidation_form.html", form=_form(request.args), admin=admin
        )
    preview = None
    status = 200
    form = _form()
    if form.validate_on_submit():
        conditions: dict[str, str] | None = form.conditions()
        if campaign is None and not admin:
            form.campaign.errors.append(_l("Choose one of your campaigns."))
        if not conditions:
            form.form_errors.append(
                _l(
                    "Choose at least one condition besides the campaign: "
                    "without one every signature would be invalidated."
                )
            )
        elif campaign is not None and not admin:
            conditions = _organizer_conditions(form, campaign, conditions)
        running = request.form.get("action") == "run"
        if running and not (form.reason.data or "").strip():
            form.reason.errors.append(_l("Please give a reason."))
        if not form.errors and conditions:
            campaign_id = campaign.id if campaign else None
            # Counted (and audited) again for the confirmation page and when
            # it is confirmed: a figure that changed since asks again.
            preview = audited_preview(campaign_id, conditions, admin=admin)
            if not running:
                db.session.commit()
            elif not confirmed(preview.count):
                db.session.commit()
                return ask(_invalidation_confirmation(preview, campaign))
            else:
                try:
                    item = create_invalidation(campaign_id, conditions, form.reason.data, user())
                except NoConditions:
                    abort(400)
                item_id = item.id
                start_invalidation(item_id)
                db.session.commit()
                notices.done(
                    _("The invalidation has started: this page shows its progress.")
                )
                return redirect(url_for(".invalidation", invalidation_id=item_id), 303)
    if form.errors:
        status = 422
    return render_template(
        "console/moderation/invalidation_form.html", form=form, preview=preview, admin=admin
    ), status


def _invalidation_confirmation(preview: Preview, campaign: Campaign | None) -> Confirmation:
    if preview.fewer_than:
        effect = _(
            "This will invalidate fewer than %(num)s signatures.",
            num=format_number(preview.count),
        )
    elif preview.exact:
        effect = count_text(
            "This will invalidate %(num)s signature.",
            "This will invalidate %(num)s signatures.",
            preview.count,
        )
    else:
        effect = count_text(
            "This will invalidate at most %(num)s signature: the name is matched as it runs.",
            "This will invalidate at most %(num)s signatures: the name is matched as it runs.",
            preview.count,
        )
    where = (
        _("On “%(title)s”.", title=campaign.text(current_language()).title)
        if campaign
        else _("On every campaign.")
    )
    return Confirmation(
        title=_("Invalidate these signatures?"),
        effect=effect,
        details=(
            where,
            _("They are taken out of the figures. You can cancel it while it runs."),
        ),
        button=_("Invalidate these signatures"),
        cancel=url_for(".new_invalidation"),
        figure=preview.count,
    )


def _described(conditions: dict[str, Any]) -> list[tuple[str, str]]:
    """The conditions for display; below admin, a name or domain an admin
    chose is not shown (it may be a signer's)."""
    hidden = () if _is_admin() else PERSONAL_CONDITIONS
    return [
        (key, "…" if key in hidden else value) for key, value in describe_conditions(conditions)
    ]


def _invalidation(invalidation_id: int) -> Invalidation:
    item = db.session.get(Invalidation, invalidation_id)
    if item is None:
        abort(404)
    if item.campaign_id is None:
        if not _is_admin():
            abort(404)  # across campaigns: admins only
    else:
        campaign = db.session.get(Campaign, item.campaign_id)
        managed_campaign(campaign.slug if campaign else "")
    return item


@bp.get("/moderation/invalidations/<int:invalidation_id>")
@require(*MANAGERS)
def invalidation(invalidation_id: int) -> ResponseReturnValue:
    item = _invalidation(invalidation_id)
    return render_template(
        "console/moderation/invalidation.html",
        item=item,
        campaign=db.session.get(Campaign, item.campaign_id) if item.campaign_id else None,
        labels=CONDITION_LABELS,
        conditions=_described(item.conditions),
        hide_small=not _is_admin(),
        small=SMALL_COUNT,
    )


@bp.post("/moderation/invalidations/<int:invalidation_id>/cancel")
@require(*MANAGERS)
def cancel(invalidation_id: int) -> ResponseReturnValue:
    item = _invalidation(invalidation_id)
    if cancel_invalidation(item):
        db.session.commit()
        notices.done(_("The invalidation is cancelled: it stops before its next batch."))
    else:
        notices.failed(_("This invalidation had already finished: there was nothing to cancel."))
    return redirect(url_for(".invalidation", invalidation_id=invalidation_id), 303)


@bp.get("/moderation/trending")
@require(*MANAGERS)
def trending() -> ResponseReturnValue:
    campaigns = _campaigns_by_id()
    flags = recent_flags(_managed_ids())
    rows = []
    for flag in flags:
        campaign = campaigns.get(flag.campaign_id)
        if campaign is None:
            continue
        end = window_end(flag)
        condition = "ip_hash" if flag.kind == IP else "email_domain_hash"
        values: dict[str, Any] = {
            "campaign": campaign.slug,
            "since": flag.window_start.strftime("%Y-%m-%dT%H:%M"),
            "until": end.strftime("%Y-%m-%dT%H:%M"),
            condition: flag.key_hash,
        }
        prefill = url_for(".new_invalidation", **values)
        domain = sample_domain(flag) if flag.kind == DOMAIN and _is_admin() else None
        rows.append((flag, campaign, end, prefill, domain))
    return render_template("console/moderation/trending.html", rows=rows)
