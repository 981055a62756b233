"""Campaigns in the console: the dashboard, a campaign's figures, creating and
editing campaigns, their lifecycle and the signing switch."""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any

from flask import Blueprint, abort, current_app, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import select
from wtforms import (
    BooleanField,
    IntegerField,
    SelectField,
    SelectMultipleField,
    StringField,
    TextAreaField,
)
from wtforms.validators import DataRequired, Length, NumberRange, Optional, ValidationError

from ..accounts.audit import record
from ..accounts.disclosure import two_person_rule
from ..accounts.services import can_manage, visible_campaigns
from ..counting.services import campaign_count
from ..extensions import csrf, db
from ..forms import Form, accepts_form
from ..i18n import count_text, current_language
from ..models import (
    Campaign,
    CampaignKind,
    CampaignStatus,
    CampaignText,
    Organization,
    OrganizationKind,
    Role,
)
from ..models.campaign import TARGET_MAX
from ..reach.codes import ensure_partner_codes
from ..reach.figures import union_sources
from ..signing.limits import MAX_AMOUNT_DIGITS
from ..updates.services import recipients_by_language
from . import notices
from .access import EVERYONE, MANAGERS, managed_campaign, require, user, viewable_campaign
from .confirm import Confirmation, ask, confirmed
from .dashboard import campaign_figures, pipeline_health, source_counts
from .forms import BAD_CLOCK, BAD_DATE, parse_clock, parse_day, reader_day_and_clock, reader_moment
from .images import (
    UPLOAD_LIMIT,
    UploadTooLarge,
    add_image_fields,
    apply_image_change,
    image_change,
    read_upload,
    refuse_too_large,
)
from .reach import home_items

bp = Blueprint("console_campaigns", __name__, url_prefix="/console")

CONTENT_LANGUAGES = ("ar", "en", "ku", "tr")
# The lifecycle: which status may follow which.
TRANSITIONS = {
    CampaignStatus.draft: (CampaignStatus.open,),
    CampaignStatus.open: (CampaignStatus.closed,),
    CampaignStatus.closed: (CampaignStatus.archived, CampaignStatus.open),
    CampaignStatus.archived: (),
}
SLUG = re.compile(r"[a-z0-9]+(?:-[a-z0-9]+)*")
# Bidi embeddings, overrides and isolates (marks stay): an unbalanced one in a
# title would reorder the sentence that quotes it (thanks page, emails).
_BIDI_CONTROLS = dict.fromkeys([*range(0x202A, 0x202F), *range(0x2066, 0x206A)])


def reserved_slugs() -> frozenset[str]:
    """Every literal segment of the URL map: a campaign named like one would
    be hidden behind that page (``/console/campaigns/new``), here or under a
    route added later."""
    return frozenset(
        part
        for rule in current_app.url_map.iter_rules()
        for part in rule.rule.split("/")
        if part and "<" not in part
    )


def _plain(value: str | None) -> str:
    return (value or "").translate(_BIDI_CONTROLS).strip()


def campaign_form_class() -> type[Form]:
    """The edit form: common fields, then title/summary/body/unit per language."""

    class CampaignForm(Form):
        slug = StringField(
            _l("Address (slug)"),
            validators=[DataRequired(message=_l("Please enter an address.")), Length(max=80)],
        )
        kind = SelectField(
            _l("Kind"),
            choices=[("petition", _l("Petition")), ("pledge", _l("Pledge"))],
        )
        goal = IntegerField(_l("Goal"), validators=[Optional(), NumberRange(min=1, max=10**9)])
        # A code for the API ("signatures", "trees"); each language names the
        # unit in its own words below. Empty: "signatures" or "units".
        unit = StringField(
            _l("Unit code for the API, in Latin letters (empty: signatures or units)"),
            validators=[Length(max=32)],
            default="",
        )
        max_amount_per_signer = IntegerField(
            _l("Maximum pledge per person"),
            validators=[Optional(), NumberRange(1, 10**MAX_AMOUNT_DIGITS - 1)],
        )
        # Each moment as a date and a time, typed in the reader's time zone.
        opens_on = StringField(_l("Opens on"), [Length(max=20)])
        opens_time = StringField(_l("Opening time"), [Length(max=10)])
        closes_on = StringField(_l("Closes on"), [Length(max=20)])
        closes_time = StringField(_l("Closing time"), [Length(max=10)])
        partners = SelectMultipleField(_l("Partner organizations"), coerce=int)
        sensitive = BooleanField(_l("Sensitive campaign: low-trace emails"))

        def validate_slug(self, field: StringField) -> None:
            # The whole value: "$" would also match before a final line break.
            if not SLUG.fullmatch(field.data or ""):
                raise ValidationError(_l("Use lowercase Latin letters, digits and dashes."))
            if field.data in reserved_slugs():
                raise ValidationError(
                    _l("This address is the name of a page of the site: please choose another.")
                )

        def moment(self, name: str) -> datetime | None:
            """The opening or closing moment in UTC; None when not given
            (read after validation)."""
            day = parse_day(self[f"{name}_on"].data)
            return reader_moment(day, parse_clock(self[f"{name}_time"].data)) if day else None

        def validate(self, extra_validators: Any = None) -> bool:
            ok = bool(super().validate(extra_validators))
            for name in ("opens", "closes"):
                day, clock = self[f"{name}_on"], self[f"{name}_time"]
                if (day.data or "").strip() and parse_day(day.data) is None:
                    day.errors.append(BAD_DATE)
                    ok = False
                if (clock.data or "").strip():
                    if parse_clock(clock.data) is None:
                        clock.errors.append(BAD_CLOCK)
                        ok = False
                    elif not (day.data or "").strip():
                        day.errors.append(_l("Give the date too, or leave the time empty."))
                        ok = False
            if ok:
                opens, closes = self.moment("opens"), self.moment("closes")
                if opens and closes and closes <= opens:
                    self.closes_on.errors.append(_l("The campaign must close after it opens."))
                    ok = False
            return ok

        def validate_max_amount_per_signer(self, field: IntegerField) -> None:
            if field.data and self.kind.data != "pledge":
                raise ValidationError(_l("Only pledges have a cap per person."))

    for lang in CONTENT_LANGUAGES:
        required = lang == "ar"
        rules: list[Any] = (
            [DataRequired(message=_l("The Arabic text is required."))] if required else [Optional()]
        )
        setattr(CampaignForm, f"title_{lang}", StringField(_l("Title"), [*rules, Length(max=200)]))
        setattr(
            CampaignForm, f"summary_{lang}", TextAreaField(_l("Summary"), [*rules, Length(max=500)])
        )
        body = TextAreaField(_l("Text"), [*rules, Length(max=20000)])
        setattr(CampaignForm, f"body_{lang}", body)
        setattr(
            CampaignForm,
            f"unit_label_{lang}",
            StringField(_l("Name of the unit"), [Optional(), Length(max=64)]),
        )
        setattr(
            CampaignForm,
            f"target_{lang}",
            StringField(
                _l("Addressed to (who the campaign asks)"),
                [Optional(), Length(max=TARGET_MAX)],
            ),
        )
    add_image_fields(CampaignForm, CONTENT_LANGUAGES)
    return CampaignForm


def _partner_choices() -> list[tuple[int, str]]:
    partners = db.session.execute(
        select(Organization).where(Organization.kind == OrganizationKind.partner)
    ).scalars()
    return [(p.id, p.name("ar")) for p in partners]


@bp.get("/")
@require(*EVERYONE)
def dashboard() -> ResponseReturnValue:
    reader = user()
    figures = [campaign_figures(c, can_manage(reader, c)) for c in visible_campaigns(reader)]
    health = pipeline_health() if reader.role is Role.admin else []
    # A union with a single admin may turn the two-person rule off: everyone
    # who could open personal data is told that one person now can.
    one_person = not two_person_rule() and reader.role in MANAGERS
    # A partner's home: its links and the figures they brought, first.
    reach = home_items(reader) if reader.role is Role.partner else []
    return render_template(
        "console/dashboard.html",
        figures=figures,
        health=health,
        one_person=one_person,
        reach=reach,
    )


@bp.get("/campaigns/<slug>")
@require(*EVERYONE)
def campaign(slug: str) -> ResponseReturnValue:
    item = viewable_campaign(slug)
    manages = can_manage(user(), item)
    return render_template(
        "console/campaign.html",
        campaign=item,
        count=campaign_count(item.id),
        sources=source_counts(item) if manages else None,
        # Where its signatures came from, side by side: the union's view.
        reach=union_sources(item.id) if manages else None,
        manages=manages,
        transitions=TRANSITIONS[item.status] if manages else (),
        pausable=manages and offers_pause(item),
    )


def _fill(campaign: Campaign, form: Any) -> None:
    campaign.slug = form.slug.data
    campaign.kind = CampaignKind(form.kind.data)
    campaign.goal = form.goal.data
    campaign.unit = form.unit.data or ("signatures" if form.kind.data == "petition" else "units")
    campaign.max_amount_per_signer = (
        form.max_amount_per_signer.data if form.kind.data == "pledge" else None
    )
    campaign.opens_at = form.moment("opens")
    campaign.closes_at = form.moment("closes")
    campaign.partners = [
        org for org in (db.session.get(Organization, i) for i in form.partners.data or []) if org
    ]
    campaign.sensitive = bool(form.sensitive.data)
    for lang in CONTENT_LANGUAGES:
        # One line: the title is an email subject, where a line break fails every email.
        title = " ".join(_plain(form[f"title_{lang}"].data).split())
        if not title:
            campaign.texts.pop(lang, None)
            continue
        text = campaign.texts.get(lang) or CampaignText(locale=lang)
        text.title = title
        text.summary = _plain(form[f"summary_{lang}"].data)
        text.body = _plain(form[f"body_{lang}"].data)
        text.unit_label = _plain(form[f"unit_label_{lang}"].data)
        text.image_alt = " ".join(_plain(form[f"image_alt_{lang}"].data).split()) or None
        # One line, like the title: it is printed after "Addressed to:".
        text.target = " ".join(_plain(form[f"target_{lang}"].data).split()) or None
        campaign.texts[lang] = text


def _record_sensitive(campaign: Campaign, before: bool) -> None:
    """Audit marking a campaign sensitive or not: it changes what every
    signer's inbox shows (flush only)."""
    if campaign.sensitive != before:
        action = "campaign_sensitive_on" if campaign.sensitive else "campaign_sensitive_off"
        record(action, "campaign", campaign.id)


def _slug_taken(slug: str, campaign_id: int | None) -> bool:
    other = db.session.execute(select(Campaign.id).where(Campaign.slug == slug)).scalar()
    return other is not None and other != campaign_id


def _form_page(form: Any, item: Campaign | None, status: int | None = None) -> ResponseReturnValue:
    form.partners.choices = _partner_choices()
    status = status or (422 if request.method == "POST" else 200)
    return render_template("console/campaign_form.html", form=form, item=item), status


# Exempt from the global CSRF check, done by read_upload once access is checked.
@bp.route("/campaigns/new", methods=["GET", "POST"])
@csrf.exempt  # nosemgrep: csrf-exempt -- checked in read_upload, after the access check
@accepts_form(campaign_form_class, files=UPLOAD_LIMIT)
@require(*MANAGERS)
def create() -> ResponseReturnValue:
    try:
        upload = read_upload()
    except UploadTooLarge:
        form = campaign_form_class()(formdata=None)
        refuse_too_large(form)
        return _form_page(form, None, 413)
    form = campaign_form_class()()
    form.partners.choices = _partner_choices()
    valid = form.validate_on_submit()
    change = image_change(form, upload, None) if form.is_submitted() else None
    if valid and change is not None:
        if _slug_taken(form.slug.data, None):
            form.slug.errors.append(_l("This address is taken."))
        else:
            item = Campaign(organization_id=user().organization_id, status=CampaignStatus.draft)
            _fill(item, form)
            db.session.add(item)
            db.session.flush()
            record("campaign_created", "campaign", item.id, slug=item.slug)
            ensure_partner_codes(item, user())
            _record_sensitive(item, before=False)
            apply_image_change(item, change)
            db.session.commit()
            notices.done(_("The campaign was created as a draft."))
            return redirect(url_for(".campaign", slug=item.slug), 303)
    return _form_page(form, None)


@bp.route("/campaigns/<slug>/edit", methods=["GET", "POST"])
@csrf.exempt  # nosemgrep: csrf-exempt -- checked in read_upload, after the access check
@accepts_form(campaign_form_class, files=UPLOAD_LIMIT)
@require(*MANAGERS)
def edit(slug: str) -> ResponseReturnValue:
    item = managed_campaign(slug)
    try:
        upload = read_upload()
    except UploadTooLarge:
        form = campaign_form_class()(formdata=None, obj=_as_form_data(item))
        refuse_too_large(form)
        return _form_page(form, item, 413)
    form = campaign_form_class()(obj=None if request.method == "POST" else _as_form_data(item))
    form.partners.choices = _partner_choices()
    valid = form.validate_on_submit()
    change = image_change(form, upload, item) if form.is_submitted() else None
    if valid and change is not None:
        if _slug_taken(form.slug.data, item.id):
            form.slug.errors.append(_l("This address is taken."))
        else:
            was_sensitive = item.sensitive
            _fill(item, form)
            apply_image_change(item, change)
            record("campaign_edited", "campaign", item.id, slug=item.slug)
            ensure_partner_codes(item, user())
            _record_sensitive(item, before=was_sensitive)
            db.session.commit()
            notices.done(_("The campaign was saved."))
            return redirect(url_for(".campaign", slug=item.slug), 303)
    return _form_page(form, item)


class _FormData:
    """An object whose attributes pre-fill the edit form."""

    def __init__(self, **values: Any) -> None:
        self.__dict__.update(values)


def _as_form_data(item: Campaign) -> _FormData:
    values: dict[str, Any] = {
        "slug": item.slug,
        "kind": item.kind.value,
        "goal": item.goal,
        "unit": item.unit,
        "max_amount_per_signer": item.max_amount_per_signer,
        "opens_on": reader_day_and_clock(item.opens_at)[0],
        "opens_time": reader_day_and_clock(item.opens_at)[1],
        "closes_on": reader_day_and_clock(item.closes_at)[0],
        "closes_time": reader_day_and_clock(item.closes_at)[1],
        "partners": [p.id for p in item.partners],
        "sensitive": item.sensitive,
    }
    for lang in CONTENT_LANGUAGES:
        text = item.texts.get(lang)
        for name in ("title", "summary", "body", "unit_label", "image_alt", "target"):
            values[f"{name}_{lang}"] = getattr(text, name) if text else ""
    return _FormData(**values)


# Status changes that end signing: asked for on a confirmation page first.
CONFIRMED_STATUSES = (CampaignStatus.closed,)


def offers_pause(item: Campaign) -> bool:
    """Whether the signing switch is shown: pausing means something only on
    an open campaign (a draft is not signable yet); resuming, always."""
    return item.status is CampaignStatus.open or item.signing_paused


@bp.post("/campaigns/<slug>/status")
@require(*MANAGERS)
def change_status(slug: str) -> ResponseReturnValue:
    item = managed_campaign(slug)
    try:
        target = CampaignStatus(request.form.get("status", ""))
    except ValueError:
        abort(400)
    if target not in TRANSITIONS[item.status]:
        # Another tab or person changed it meanwhile: say so on the campaign's page.
        notices.failed(
            _(
                "The status is %(status)s now, so it cannot change to %(target)s. "
                "Nothing was changed.",
                status=item.status.title,
                target=target.title,
            )
        )
        return redirect(url_for(".campaign", slug=item.slug), 303)
    if target in CONFIRMED_STATUSES and not confirmed(None):
        return ask(_close_confirmation(item))
    before = item.status
    item.status = target
    record("campaign_status", "campaign", item.id, before=before.value, after=target.value)
    db.session.commit()
    notices.done(_("Status changed to: %(status)s.", status=target.title))
    return redirect(url_for(".campaign", slug=item.slug), 303)


def _close_confirmation(item: Campaign) -> Confirmation:
    signers = campaign_count(item.id).signers
    told = sum(recipients_by_language(item).values())
    return Confirmation(
        title=_("Close “%(title)s”?", title=item.text(current_language()).title),
        effect=count_text(
            "Signing stops on this campaign: its %(num)s signer becomes its final figure.",
            "Signing stops on this campaign: its %(num)s signers become its final figure.",
            signers,
        ),
        details=(
            count_text(
                "%(num)s signer who asked for news will be emailed that it closed.",
                "%(num)s signers who asked for news will be emailed that it closed.",
                told,
            ),
            _("You can open it again later."),
        ),
        button=_("Close the campaign"),
        cancel=url_for(".campaign", slug=item.slug),
    )


@bp.post("/campaigns/<slug>/pause")
@require(*MANAGERS)
def toggle_pause(slug: str) -> ResponseReturnValue:
    item = managed_campaign(slug)
    pausing = request.form.get("paused") == "1"
    if pausing and item.status is not CampaignStatus.open:
        notices.failed(_("Only an open campaign can be paused. Nothing was changed."))
        return redirect(url_for(".campaign", slug=item.slug), 303)
    item.signing_paused = pausing
    record("campaign_paused" if item.signing_paused else "campaign_resumed", "campaign", item.id)
    db.session.commit()
    if item.signing_paused:
        notices.done(_("Signing is paused on this campaign."))
    else:
        notices.done(_("Signing is open again on this campaign."))
    return redirect(url_for(".campaign", slug=item.slug), 303)
