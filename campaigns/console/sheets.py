"""Printed collection sheets: managers of a campaign (its organization's
organizers and admins) issue numbered sheets to a collector, download their
PDFs, mark them returned, and see which are outstanding, returned or imported
with the rows each brought. The collector's name and phone are shown only on
asking (a POST), to the same managers, and each showing is audited."""

from __future__ import annotations

from flask import Blueprint, Response, abort, redirect, render_template, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext
from flask_babel import lazy_gettext as _l
from wtforms import IntegerField, SelectField, StringField
from wtforms.validators import DataRequired, Length, NumberRange, Optional, ValidationError

from ..accounts.audit import record
from ..extensions import db
from ..forms import Form, accepts_form
from ..i18n import language_name, languages
from ..kernel.normalize import InvalidPhone, canonical_phone, clean_text
from ..models import Campaign, PaperSheet
from ..paper.rows import SHEET
from ..paper.sheet_pdf import sheets_pdf
from ..paper.sheets import (
    MAX_PER_BATCH,
    SheetRefused,
    batch_sheets,
    campaign_sheets,
    find_sheet,
    issue_sheets,
    mark_returned,
    read_collector,
    serial,
    state_counts,
)
from ..signing.limits import MAX_NAME, MAX_PHONE
from . import notices
from .access import MANAGERS, managed_campaign, require, user
from .paper import campaign_figures

bp = Blueprint("console_sheets", __name__, url_prefix="/console")

# A collector's phone is read in this plan when typed without a country code.
PHONE_COUNTRY = "SY"


class IssueForm(Form):
    count = IntegerField(
        _l("How many sheets"),
        validators=[
            DataRequired(message=_l("Please enter a number from 1 to %(max)s.", max=MAX_PER_BATCH)),
            NumberRange(
                1,
                MAX_PER_BATCH,
                message=_l("Please enter a number from 1 to %(max)s.", max=MAX_PER_BATCH),
            ),
        ],
    )
    language = SelectField(_l("Language of the sheets"), choices=[], validate_choice=False)
    collector_name = StringField(
        _l("Collector's name"),
        validators=[
            DataRequired(message=_l("Please enter the collector's name.")),
            Length(
                max=MAX_NAME,
                message=_l("The name must be at most %(max)s characters.", max=MAX_NAME),
            ),
        ],
    )
    collector_phone = StringField(
        _l("Collector's phone (optional)"),
        validators=[Optional(), Length(max=MAX_PHONE)],
        description=_l("With the country code if it is not a Syrian number."),
    )

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)
        self.language.choices = [(lang, language_name(lang)) for lang in languages()]

    def validate_language(self, field: SelectField) -> None:
        if field.data not in languages():
            raise ValidationError(_l("Please choose a language from the list."))

    def validate_collector_name(self, field: StringField) -> None:
        if not clean_text(field.data or ""):
            raise ValidationError(_l("Please enter the collector's name."))

    def validate_collector_phone(self, field: StringField) -> None:
        if field.data and field.data.strip():
            try:
                canonical_phone(field.data, PHONE_COUNTRY)
            except InvalidPhone:
                raise ValidationError(
                    _l("Please enter a valid phone number, with the country code if it is abroad.")
                ) from None


def _isolated(serial_text: str) -> str:
    """A serial inside a sentence: left to right on its own, whatever the
    sentence's direction (the messages are plain text)."""
    return f"\u2066{serial_text}\u2069"


def _page(campaign: Campaign, form: IssueForm, status: int = 200) -> ResponseReturnValue:
    sheets = campaign_sheets(campaign)
    return render_template(
        "console/sheets/index.html",
        campaign=campaign,
        form=form,
        sheets=sheets,
        counts=state_counts(sheets),
        serial=lambda sheet: serial(campaign, sheet.number),
        figures=campaign_figures(campaign),
        sheet_column=SHEET,
    ), status


@bp.get("/campaigns/<slug>/sheets")
@require(*MANAGERS)
def index(slug: str) -> ResponseReturnValue:
    return _page(managed_campaign(slug), IssueForm(formdata=None))


@bp.post("/campaigns/<slug>/sheets")
@accepts_form(lambda: IssueForm)
@require(*MANAGERS)
def issue(slug: str) -> ResponseReturnValue:
    """Issue sheets to a collector; the page then offers the batch's PDF."""
    campaign = managed_campaign(slug)
    form = IssueForm()
    if not form.validate_on_submit():
        return _page(campaign, form, 422)
    phone = (form.collector_phone.data or "").strip()
    sheets = issue_sheets(
        campaign,
        count=form.count.data,
        language=form.language.data,
        collector={
            "name": clean_text(form.collector_name.data),
            "phone": canonical_phone(phone, PHONE_COUNTRY) if phone else None,
        },
        user_id=user().id,
    )
    record(
        "sheets_issued",
        "campaign",
        campaign.id,
        count=len(sheets),
        batch=sheets[0].batch,
        first=sheets[0].number,
        last=sheets[-1].number,
    )
    notices.done(
        gettext(
            "Sheets issued: %(first)s to %(last)s.",
            first=_isolated(serial(campaign, sheets[0].number)),
            last=_isolated(serial(campaign, sheets[-1].number)),
        )
    )
    db.session.commit()
    return redirect(url_for(".index", slug=campaign.slug, _anchor=f"batch-{sheets[0].batch}"), 303)


def _sheet(campaign: Campaign, number: int) -> PaperSheet:
    sheet = find_sheet(campaign, number)
    if sheet is None:
        abort(404)
    return sheet


def _pdf(campaign: Campaign, sheets: list[PaperSheet], filename: str) -> Response:
    response = Response(sheets_pdf(campaign, sheets), mimetype="application/pdf")
    response.headers["Content-Disposition"] = f'attachment; filename="{filename}"'
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.get("/campaigns/<slug>/sheets/<int:number>.pdf")
@require(*MANAGERS)
def sheet_pdf(slug: str, number: int) -> ResponseReturnValue:
    campaign = managed_campaign(slug)
    sheet = _sheet(campaign, number)
    return _pdf(campaign, [sheet], f"{serial(campaign, sheet.number)}.pdf")


@bp.get("/campaigns/<slug>/sheets/batches/<int:batch>.pdf")
@require(*MANAGERS)
def batch_pdf(slug: str, batch: int) -> ResponseReturnValue:
    campaign = managed_campaign(slug)
    sheets = batch_sheets(campaign, batch)
    if not sheets:
        abort(404)
    first, last = serial(campaign, sheets[0].number), serial(campaign, sheets[-1].number)
    return _pdf(campaign, sheets, f"{first}-{last}.pdf")


@bp.post("/campaigns/<slug>/sheets/<int:number>/returned")
@require(*MANAGERS)
def returned(slug: str, number: int) -> ResponseReturnValue:
    campaign = managed_campaign(slug)
    sheet = _sheet(campaign, number)
    name = _isolated(serial(campaign, sheet.number))
    try:
        mark_returned(sheet)
    except SheetRefused:
        db.session.rollback()
        notices.failed(gettext("The sheet %(serial)s was already back.", serial=name))
    else:
        record("sheet_returned", "campaign", campaign.id, sheet=sheet.number)
        notices.done(gettext("The sheet %(serial)s is marked as returned.", serial=name))
        db.session.commit()
    return redirect(url_for(".index", slug=campaign.slug), 303)


@bp.post("/campaigns/<slug>/sheets/<int:number>/collector")
@require(*MANAGERS)
def collector(slug: str, number: int) -> ResponseReturnValue:
    """Show who holds the sheet (asked for with a POST; each showing is
    audited: which sheet, never the name)."""
    campaign = managed_campaign(slug)
    sheet = _sheet(campaign, number)
    shown = read_collector(sheet)
    if shown is not None:
        record("sheet_collector_viewed", "campaign", campaign.id, sheet=sheet.number)
        db.session.commit()
    return render_template(
        "console/sheets/collector.html",
        campaign=campaign,
        sheet=sheet,
        serial=serial(campaign, sheet.number),
        collector=shown,
    )
