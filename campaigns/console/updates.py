"""Updates to signers in the console: write (per language, Arabic required),
preview, send. Admins and the organizers of the owning organization only;
sending hands the update to the workers, which send it in batches."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, abort, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext
from flask_babel import lazy_gettext as _l
from sqlalchemy import select
from wtforms import StringField, TextAreaField
from wtforms.validators import DataRequired, Length, Optional

from ..extensions import db
from ..forms import Form, accepts_form
from ..i18n import DEFAULT_LANGUAGE, count_text, current_language
from ..models import Campaign, CampaignUpdate, UpdateState
from ..updates.emails import render_update
from ..updates.services import (
    UpdateNotDraft,
    create_update,
    edit_update,
    queue_sending,
    recipients_by_language,
    start_sending,
)
from . import notices
from .access import MANAGERS, managed_campaign, require, user
from .campaigns import CONTENT_LANGUAGES
from .confirm import Confirmation, ask, confirmed

bp = Blueprint("console_updates", __name__, url_prefix="/console")


def update_form_class() -> type[Form]:
    """Subject and text per language; Arabic required, others all or nothing."""

    class UpdateForm(Form):
        def validate(self, extra_validators: Any = None) -> bool:
            ok = bool(super().validate(extra_validators))
            for lang in CONTENT_LANGUAGES[1:]:
                subject, body = self[f"subject_{lang}"], self[f"body_{lang}"]
                if bool((subject.data or "").strip()) != bool((body.data or "").strip()):
                    message = _l("Write both the subject and the text, or neither.")
                    (body if subject.data else subject).errors.append(message)
                    ok = False
            return ok

    for lang in CONTENT_LANGUAGES:
        rules: list[Any] = (
            [DataRequired(message=_l("The Arabic text is required."))]
            if lang == DEFAULT_LANGUAGE
            else [Optional()]
        )
        subject = StringField(_l("Subject"), [*rules, Length(max=200)])
        setattr(UpdateForm, f"subject_{lang}", subject)
        setattr(UpdateForm, f"body_{lang}", TextAreaField(_l("Text"), [*rules, Length(max=20000)]))
    return UpdateForm


def _texts(form: Any) -> dict[str, dict[str, str]]:
    texts = {}
    for lang in CONTENT_LANGUAGES:
        # One line: a line break in an email subject fails every email.
        subject = " ".join((form[f"subject_{lang}"].data or "").split())
        body = (form[f"body_{lang}"].data or "").strip().replace("\r\n", "\n")
        if subject and body:
            texts[lang] = {"subject": subject, "body": body}
    return texts


def _form_data(item: CampaignUpdate) -> dict[str, str]:
    values = {}
    for lang in CONTENT_LANGUAGES:
        text = item.texts.get(lang, {})
        values[f"subject_{lang}"] = text.get("subject", "")
        values[f"body_{lang}"] = text.get("body", "")
    return values


def _update(campaign: Campaign, update_id: int) -> CampaignUpdate:
    item = db.session.get(CampaignUpdate, update_id)
    if item is None or item.campaign_id != campaign.id:
        abort(404)
    return item


@bp.get("/campaigns/<slug>/updates")
@require(*MANAGERS)
def index(slug: str) -> ResponseReturnValue:
    campaign = managed_campaign(slug)
    items = db.session.execute(
        select(CampaignUpdate)
        .where(CampaignUpdate.campaign_id == campaign.id)
        .order_by(CampaignUpdate.id.desc())
    ).scalars().all()
    return render_template(
        "console/updates/index.html",
        campaign=campaign,
        items=items,
        recipients=sum(recipients_by_language(campaign).values()),
    )


@bp.route("/campaigns/<slug>/updates/new", methods=["GET", "POST"])
@accepts_form(update_form_class)
@require(*MANAGERS)
def create(slug: str) -> ResponseReturnValue:
    campaign = managed_campaign(slug)
    form = update_form_class()()
    if form.validate_on_submit():
        item = create_update(campaign, _texts(form), user())
        return _saved(campaign, item)
    return _form_page(campaign, form, None)


@bp.route("/campaigns/<slug>/updates/<int:update_id>/edit", methods=["GET", "POST"])
@accepts_form(update_form_class)
@require(*MANAGERS)
def edit(slug: str, update_id: int) -> ResponseReturnValue:
    campaign = managed_campaign(slug)
    item = _update(campaign, update_id)
    if item.state is not UpdateState.draft:
        return _not_draft(campaign, item)
    form = update_form_class()(data=None if request.method == "POST" else _form_data(item))
    if form.validate_on_submit():
        try:
            edit_update(item, _texts(form))
        except UpdateNotDraft:
            db.session.rollback()
            return _not_draft(campaign, item)
        return _saved(campaign, item)
    return _form_page(campaign, form, item)


def _saved(campaign: Campaign, item: CampaignUpdate) -> ResponseReturnValue:
    """Commit a written draft and show its preview."""
    item_id = item.id
    db.session.commit()
    notices.done(gettext("The update was saved as a draft. Check the preview before sending it."))
    return redirect(url_for(".preview", slug=campaign.slug, update_id=item_id), 303)


def _form_page(campaign: Campaign, form: Form, item: CampaignUpdate | None) -> ResponseReturnValue:
    """The form to write (``item`` None) or edit a draft; 422 when a POST failed."""
    status = 422 if request.method == "POST" else 200
    return render_template(
        "console/updates/form.html", campaign=campaign, form=form, item=item
    ), status


def _preview(item: CampaignUpdate, campaign: Campaign, lang: str) -> dict[str, str]:
    """What a signer who signed in ``lang`` receives (placeholders for them)."""
    text_lang, subject, plain, _html = render_update(
        item,
        campaign,
        lang,
        gettext("(the signer's name)"),
        gettext("(their own link to stop updates)"),
    )
    return {"lang": lang, "text_lang": text_lang, "subject": subject, "body": plain}


@bp.get("/campaigns/<slug>/updates/<int:update_id>")
@require(*MANAGERS)
def preview(slug: str, update_id: int) -> ResponseReturnValue:
    campaign = managed_campaign(slug)
    item = _update(campaign, update_id)
    recipients = recipients_by_language(campaign)
    languages = sorted(set(item.texts) | set(recipients), key=_language_order)
    return render_template(
        "console/updates/preview.html",
        campaign=campaign,
        item=item,
        previews=[_preview(item, campaign, lang) for lang in languages],
        recipients=recipients,
        total=sum(recipients.values()),
    )


def _language_order(lang: str) -> tuple[int, str]:
    order = list(CONTENT_LANGUAGES)
    return (order.index(lang) if lang in order else len(order), lang)


def _not_draft(campaign: Campaign, item: CampaignUpdate) -> ResponseReturnValue:
    notices.failed(gettext("This update has been sent already: it can no longer change."))
    return redirect(url_for(".preview", slug=campaign.slug, update_id=item.id), 303)


@bp.post("/campaigns/<slug>/updates/<int:update_id>/send")
@require(*MANAGERS)
def send(slug: str, update_id: int) -> ResponseReturnValue:
    campaign = managed_campaign(slug)
    item = _update(campaign, update_id)
    if item.state is not UpdateState.draft:
        return _not_draft(campaign, item)
    recipients = recipients_by_language(campaign)
    total = sum(recipients.values())
    if not confirmed(total):
        return ask(_send_confirmation(campaign, item, recipients))
    try:
        start_sending(item)
    except UpdateNotDraft:
        db.session.rollback()
        return _not_draft(campaign, item)
    queue_sending(item.id)
    db.session.commit()
    notices.done(
        count_text(
            "The update is being sent to %(num)s signer.",
            "The update is being sent to %(num)s signers.",
            total,
        )
    )
    return redirect(url_for(".preview", slug=campaign.slug, update_id=item.id), 303)


def _send_confirmation(
    campaign: Campaign, item: CampaignUpdate, recipients: dict[str, int]
) -> Confirmation:
    total = sum(recipients.values())
    languages = len(recipients)
    signers = count_text("%(num)s signer", "%(num)s signers", total)
    effect = count_text(
        "This will email %(signers)s in %(num)s language.",
        "This will email %(signers)s in %(num)s languages.",
        languages,
        signers=signers,
    )
    return Confirmation(
        title=gettext(
            "Send the update of “%(title)s”?", title=campaign.text(current_language()).title
        ),
        effect=effect,
        details=(gettext("An email cannot be taken back once it is sent."),),
        button=count_text("Send to %(num)s signer", "Send to %(num)s signers", total),
        cancel=url_for(".preview", slug=campaign.slug, update_id=item.id),
        figure=total,
    )
