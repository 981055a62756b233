"""From signatures to change, in the console: the commitments made at
thresholds, the deliveries of the petition and the addressee's responses.
Admins and the organizers of the owning organization only (404 for a
campaign they cannot see, 403 for one they see but do not manage).
Recording a delivery or a response tells the consenting signers (an update)."""

from __future__ import annotations

import re
from datetime import date
from typing import Any

from flask import Blueprint, abort, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_babel import format_number
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import select
from werkzeug.exceptions import RequestEntityTooLarge
from wtforms import FileField, IntegerField, SelectField, StringField, TextAreaField
from wtforms.validators import DataRequired, Length, NumberRange, Optional, ValidationError

from ..extensions import csrf, db
from ..forms import Form, accepts_form, check_csrf_now
from ..i18n import DEFAULT_LANGUAGE, moment_text
from ..ledger.services import heads, latest_head
from ..media.images import MAX_BYTES as IMAGE_MAX_BYTES
from ..media.images import ImageRefused, process_image
from ..models import AuditEntry, Campaign, CampaignResponse, CampaignThreshold, DeliveryMethod
from ..models.types import utcnow
from ..outcomes.pdf import MAX_PDF_BYTES, PdfRefused, check_pdf
from ..outcomes.services import (
    UnknownLedgerHead,
    add_threshold,
    campaign_outcomes,
    delivery_photo,
    publish_response,
    record_delivery,
    remove_threshold,
)
from ..outcomes.views import pdf_response
from ..updates.services import recipients_by_language
from . import notices
from .access import MANAGERS, managed_campaign, require, user
from .campaigns import CONTENT_LANGUAGES, _plain
from .forms import BAD_DATE, parse_day
from .images import REASONS as IMAGE_REASONS

bp = Blueprint("console_outcomes", __name__, url_prefix="/console")

# The largest PDF plus the multipart envelope around it.
PDF_UPLOAD_LIMIT = MAX_PDF_BYTES + 64 * 1024
PDF_REASONS = {
    "not_a_pdf": _l("This file is not a PDF."),
    "damaged": _l("This PDF is damaged or incomplete. Please save it again."),
    "too_large": _l("The PDF is larger than %(megabytes)s MB.", megabytes=MAX_PDF_BYTES >> 20),
    "active": _l(
        "This PDF holds a script or an action that runs on opening: please print it to a new PDF."
    ),
}
PHOTO_UPLOAD_LIMIT = IMAGE_MAX_BYTES + 64 * 1024
PHOTO_HINT = _l(
    "A JPEG, PNG or WebP photo, up to %(megabytes)s MB. It is made smaller, and everything "
    "in the file but the picture is removed, such as where and when it was taken.",
    megabytes=IMAGE_MAX_BYTES >> 20,
)
HEX64 = re.compile(r"[0-9a-f]{64}")
FUTURE_DATE = _l("The date cannot be in the future.")
BOTH_OR_NEITHER = _l("Fill in both fields of this language, or neither.")


class _DatedForm(Form):
    """A form with a past date, typed year-month-day (forms.parse_day)."""

    day = StringField(_l("Date"), [DataRequired(message=BAD_DATE), Length(max=10)])

    def validate_day(self, field: StringField) -> None:
        day = parse_day(field.data)
        if day is None:
            raise ValidationError(BAD_DATE)
        if day > utcnow().date():
            raise ValidationError(FUTURE_DATE)

    @property
    def parsed_day(self) -> date:
        day = parse_day(self.day.data)
        if day is None:  # only read after validation
            raise ValueError("not a valid date")
        return day


def _pairs_checked(form: Any, first: str, second: str) -> bool:
    """Other languages than Arabic: both fields or neither."""
    ok = True
    for lang in CONTENT_LANGUAGES[1:]:
        a, b = form[f"{first}_{lang}"], form[f"{second}_{lang}"]
        if bool(_plain(a.data)) != bool(_plain(b.data)):
            (b if _plain(a.data) else a).errors.append(BOTH_OR_NEITHER)
            ok = False
    return ok


def _one_line(value: str | None) -> str:
    return " ".join(_plain(value).split())


def _required(lang: str) -> list[Any]:
    if lang == DEFAULT_LANGUAGE:
        return [DataRequired(message=_l("The Arabic text is required."))]
    return [Optional()]


def response_form_class() -> type[Form]:
    class ResponseForm(_DatedForm):
        pdf = FileField(
            _l("The response as a PDF (optional)"),
            description=_l("Up to %(megabytes)s MB.", megabytes=MAX_PDF_BYTES >> 20),
        )

        def validate(self, extra_validators: Any = None) -> bool:
            ok = bool(super().validate(extra_validators))
            return _pairs_checked(self, "by", "text") and ok

    for lang in CONTENT_LANGUAGES:
        by = StringField(_l("Who answered"), [*_required(lang), Length(max=200)])
        setattr(ResponseForm, f"by_{lang}", by)
        text = TextAreaField(_l("The response"), [*_required(lang), Length(max=20000)])
        setattr(ResponseForm, f"text_{lang}", text)
    return ResponseForm


def threshold_form_class() -> type[Form]:
    class ThresholdForm(Form):
        count = IntegerField(
            _l("At this many"),
            validators=[
                DataRequired(message=_l("Please enter a number from 1 to 1,000,000,000.")),
                NumberRange(1, 10**9, message=_l("Please enter a number from 1 to 1,000,000,000.")),
            ],
        )

    for lang in CONTENT_LANGUAGES:
        commitment = StringField(_l("We commit to"), [*_required(lang), Length(max=300)])
        setattr(ThresholdForm, f"commitment_{lang}", commitment)
    return ThresholdForm


def delivery_form_class() -> type[Form]:
    class DeliveryForm(_DatedForm):
        method = SelectField(
            _l("How"),
            choices=[(m.value, m.label) for m in DeliveryMethod],
            validate_choice=False,
        )
        document = SelectField(
            _l("Delivery document handed over"), choices=[], validate_choice=False
        )
        ledger_head = SelectField(
            _l("Signed ledger head handed over"),
            choices=[],
            validate_choice=False,
            description=_l("The count as the public ledger sealed it, for anyone to check."),
        )
        photo = FileField(_l("Photo of the delivery (optional)"), description=PHOTO_HINT)
        chain_head = StringField(
            _l("Or paste its final chain value"),
            [Optional(), Length(max=80)],
            description=_l("64 hexadecimal digits, as printed in the document."),
        )

        def validate_method(self, field: SelectField) -> None:
            if field.data not in {m.value for m in DeliveryMethod}:
                raise ValidationError(_l("Please choose how it was delivered."))

        def validate_document(self, field: SelectField) -> None:
            if field.data and field.data not in {value for value, _label in field.choices}:
                raise ValidationError(_l("Please choose a document from the list."))

        def validate_ledger_head(self, field: SelectField) -> None:
            if field.data and field.data not in {value for value, _label in field.choices}:
                raise ValidationError(_l("Please choose a ledger head from the list."))

        def validate_chain_head(self, field: StringField) -> None:
            value = "".join((field.data or "").split()).lower()
            if value and not HEX64.fullmatch(value):
                raise ValidationError(_l("A chain value is 64 hexadecimal digits (0-9, a-f)."))

        def validate(self, extra_validators: Any = None) -> bool:
            ok = bool(super().validate(extra_validators))
            return _pairs_checked(self, "recipient", "place") and ok

    for lang in CONTENT_LANGUAGES:
        recipient = StringField(_l("Delivered to"), [*_required(lang), Length(max=200)])
        setattr(DeliveryForm, f"recipient_{lang}", recipient)
        place = StringField(_l("Where"), [*_required(lang), Length(max=200)])
        setattr(DeliveryForm, f"place_{lang}", place)
    return DeliveryForm


@bp.get("/campaigns/<slug>/outcomes")
@require(*MANAGERS)
def index(slug: str) -> ResponseReturnValue:
    campaign = managed_campaign(slug)
    return _index_page(campaign, threshold_form_class()(formdata=None))


def _index_page(campaign: Campaign, form: Form, status: int = 200) -> ResponseReturnValue:
    thresholds = (
        db.session.execute(
            select(CampaignThreshold)
            .where(CampaignThreshold.campaign_id == campaign.id)
            .order_by(CampaignThreshold.count)
        )
        .scalars()
        .all()
    )
    return render_template(
        "console/outcomes/index.html",
        campaign=campaign,
        outcomes=campaign_outcomes(campaign.id),
        thresholds=thresholds,
        form=form,
        recipients=sum(recipients_by_language(campaign).values()),
    ), status


@bp.post("/campaigns/<slug>/thresholds")
@accepts_form(threshold_form_class)
@require(*MANAGERS)
def create_threshold(slug: str) -> ResponseReturnValue:
    campaign = managed_campaign(slug)
    form = threshold_form_class()()
    if form.validate_on_submit():
        texts = {
            lang: text
            for lang in CONTENT_LANGUAGES
            if (text := _one_line(form[f"commitment_{lang}"].data))
        }
        try:
            add_threshold(campaign, form.count.data, texts)
        except ValueError:
            db.session.rollback()
            form.count.errors.append(_l("There is a commitment at this number already."))
        else:
            db.session.commit()
            notices.done(_("The commitment was added."))
            return redirect(url_for(".index", slug=campaign.slug), 303)
    return _index_page(campaign, form, 422)


@bp.post("/campaigns/<slug>/thresholds/<int:threshold_id>/delete")
@require(*MANAGERS)
def delete_threshold(slug: str, threshold_id: int) -> ResponseReturnValue:
    campaign = managed_campaign(slug)
    # The form names the number it shows: a page older than a change made
    # since removes nothing it did not show.
    removed = remove_threshold(campaign, threshold_id, request.form.get("count", ""))
    if removed is None:
        abort(404)
    if not removed:
        notices.failed(
            _("This commitment changed since your page was shown: nothing was removed.")
        )
    else:
        db.session.commit()
        notices.done(_("The commitment was removed."))
    return redirect(url_for(".index", slug=campaign.slug), 303)


class _PdfTooLarge(Exception):
    pass


def _read_pdf() -> bytes | None:
    """On a POST, the CSRF check, then the chosen PDF's bytes (at most one
    past the limit), after the access check (see console/images.py)."""
    if request.method != "POST":
        return None
    try:
        check_csrf_now()
        upload = request.files.get("pdf")
    except RequestEntityTooLarge as error:
        if request.mimetype != "multipart/form-data":
            raise
        raise _PdfTooLarge from error
    if upload is None or not upload.filename:
        return None
    return upload.read(MAX_PDF_BYTES + 1)


@bp.route("/campaigns/<slug>/responses/new", methods=["GET", "POST"])
@csrf.exempt  # nosemgrep: csrf-exempt -- checked in _read_pdf, after the access check
@accepts_form(response_form_class, files=PDF_UPLOAD_LIMIT)
@require(*MANAGERS)
def create_response(slug: str) -> ResponseReturnValue:
    campaign = managed_campaign(slug)
    try:
        data = _read_pdf()
    except _PdfTooLarge:
        form = response_form_class()(formdata=None)
        form.pdf.errors = [PDF_REASONS["too_large"]]
        return _response_page(campaign, form, 413)
    form = response_form_class()()
    valid = form.validate_on_submit()
    pdf_ok = True
    if data is not None:
        try:
            check_pdf(data)
        except PdfRefused as error:
            form.pdf.errors = [PDF_REASONS[error.reason]]
            pdf_ok = False
    if valid and pdf_ok:
        texts = {
            lang: {"by": _one_line(form[f"by_{lang}"].data), "text": text}
            for lang in CONTENT_LANGUAGES
            if (text := _plain(form[f"text_{lang}"].data).replace("\r\n", "\n"))
        }
        publish_response(campaign, form.parsed_day, texts, data or None, user())
        db.session.commit()
        notices.done(
            _("The response was published; signers who asked for news are being emailed.")
        )
        return redirect(url_for(".index", slug=campaign.slug), 303)
    return _response_page(campaign, form)


def _response_page(
    campaign: Campaign, form: Form, status: int | None = None
) -> ResponseReturnValue:
    status = status or (422 if request.method == "POST" else 200)
    return render_template(
        "console/outcomes/response_form.html", campaign=campaign, form=form
    ), status


@bp.get("/campaigns/<slug>/responses/<public_id>.pdf")
@require(*MANAGERS)
def response_pdf(slug: str, public_id: str) -> ResponseReturnValue:
    """A response's PDF, for those who manage the campaign (public or not)."""
    campaign = managed_campaign(slug)
    found = db.session.execute(
        select(CampaignResponse).where(
            CampaignResponse.public_id == public_id, CampaignResponse.campaign_id == campaign.id
        )
    ).scalar_one_or_none()
    return pdf_response(found)


def _documents(campaign: Campaign) -> list[tuple[str, str]]:
    """The delivery documents produced for the campaign (from the audit
    log), newest first, as (final chain value, label)."""
    entries = db.session.execute(
        select(AuditEntry.created_at, AuditEntry.details)
        .where(
            AuditEntry.action == "delivery_document",
            AuditEntry.target_type == "campaign",
            AuditEntry.target_id == str(campaign.id),
        )
        .order_by(AuditEntry.id.desc())
        .limit(50)
    ).all()
    found: dict[str, str] = {}
    for entry in entries:
        final = str((entry.details or {}).get("final_hash", ""))
        if HEX64.fullmatch(final) and final not in found:
            signers = (entry.details or {}).get("signers", 0)
            found[final] = _l(
                "%(date)s, %(signers)s signers, %(hash)s…",
                date=moment_text(entry.created_at, seconds=False),
                signers=signers,
                hash=final[:12],
            )
    return list(found.items())


HEADS_OFFERED = 50


def _ledger_heads(campaign: Campaign) -> list[tuple[str, str]]:
    """The campaign's last signed ledger heads, newest first, as (number,
    words), after a "none" choice."""
    latest = latest_head(campaign.id)
    after = max(0, (latest.number if latest else 0) - HEADS_OFFERED)
    found = [("", _("None"))]
    for head in reversed(heads(campaign.id, after=after, limit=HEADS_OFFERED)):
        if campaign.is_pledge:
            count = _(
                "%(total)s pledged by %(signers)s people",
                total=format_number(head.total),
                signers=format_number(head.signers),
            )
        else:
            count = _("%(signers)s signatures", signers=format_number(head.signers))
        words = _(
            "Head #%(number)s, signed %(moment)s (UTC): %(count)s",
            number=format_number(head.number),
            moment=moment_text(head.signed_at, seconds=False),
            count=count,
        )
        found.append((str(head.number), words))
    return found


def _read_photo() -> bytes | None:
    """On a POST, the CSRF check, then the chosen photo's bytes (at most one
    past the limit), after the access check (see console/images.py)."""
    if request.method != "POST":
        return None
    try:
        check_csrf_now()
        upload = request.files.get("photo")
    except RequestEntityTooLarge as error:
        if request.mimetype != "multipart/form-data":
            raise
        raise _PhotoTooLarge from error
    if upload is None or not upload.filename:
        return None
    return upload.read(IMAGE_MAX_BYTES + 1)


class _PhotoTooLarge(Exception):
    pass


@bp.route("/campaigns/<slug>/deliveries/new", methods=["GET", "POST"])
@csrf.exempt  # nosemgrep: csrf-exempt -- checked in _read_photo, after the access check
@accepts_form(delivery_form_class, files=PHOTO_UPLOAD_LIMIT)
@require(*MANAGERS)
def create_delivery(slug: str) -> ResponseReturnValue:
    campaign = managed_campaign(slug)
    choices = [("", _l("None, or pasted below")), *_documents(campaign)]
    head_choices = _ledger_heads(campaign)
    try:
        data = _read_photo()
    except _PhotoTooLarge:
        form = delivery_form_class()(formdata=None)
        form.document.choices = choices
        form.ledger_head.choices = head_choices
        form.photo.errors = [IMAGE_REASONS["too_large"]]
        return _delivery_page(campaign, form, 413)
    form = delivery_form_class()()
    form.document.choices = choices
    form.ledger_head.choices = head_choices
    if not form.is_submitted():
        # The latest head, if there is one.
        form.ledger_head.data = head_choices[-1 if len(head_choices) == 1 else 1][0]
    valid = form.validate_on_submit()
    photo = None
    if data is not None:
        try:
            photo = delivery_photo(process_image(data))
        except ImageRefused as error:
            form.photo.errors = [IMAGE_REASONS[error.reason]]
            valid = False
    if valid:
        pasted = "".join((form.chain_head.data or "").split()).lower()
        texts = {
            lang: {"recipient": recipient, "place": _one_line(form[f"place_{lang}"].data)}
            for lang in CONTENT_LANGUAGES
            if (recipient := _one_line(form[f"recipient_{lang}"].data))
        }
        try:
            record_delivery(
                campaign,
                form.parsed_day,
                DeliveryMethod(form.method.data),
                texts,
                form.document.data or pasted or None,
                user(),
                photo,
                ledger_head=int(form.ledger_head.data) if form.ledger_head.data else None,
            )
        except UnknownLedgerHead:
            # Not the campaign's (checked before anything is written).
            form.ledger_head.errors = [_("Please choose a ledger head from the list.")]
            return _delivery_page(campaign, form)
        db.session.commit()
        notices.done(
            _("The delivery was recorded; signers who asked for news are being emailed.")
        )
        return redirect(url_for(".index", slug=campaign.slug), 303)
    return _delivery_page(campaign, form)


def _delivery_page(
    campaign: Campaign, form: Form, status: int | None = None
) -> ResponseReturnValue:
    status = status or (422 if request.method == "POST" else 200)
    return render_template(
        "console/outcomes/delivery_form.html", campaign=campaign, form=form
    ), status
