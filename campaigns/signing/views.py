"""Thin views: parse, load, act through services, commit once, render or redirect."""

from __future__ import annotations

import uuid

from flask import Blueprint, g, make_response, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_babel import lazy_gettext as _l

from ..campaign_cache import load_campaign
from ..counting.services import campaign_count
from ..extensions import db
from ..i18n import current_language, pull_lang, push_lang
from ..ledger.receipts import new_receipt, remember_receipt, take_receipt
from ..models import VISIBLE, Campaign, Signature, SignatureState
from ..models.types import utcnow
from ..outcomes.services import campaign_outcomes
from ..reach.codes import well_formed
from ..sharing import campaign_url, share_links
from ..site_settings import signing_paused
from .codes import reference_here, remember_reference
from .confirmed import count_including_confirmation, remember_confirmation
from .forms import CodeForm, SignForm
from .manage.links import remember_manage_link, take_manage_link
from .marker import CONFIRMED, SIGNED, remember_signing, signed_here
from .services import (
    AlreadyConfirmed,
    CodeRefused,
    ConfirmationClosed,
    NotConfirmable,
    SignatureInput,
    SigningClosed,
    confirm_by_code,
    confirm_signature,
    sign_campaign,
    signature_for_token,
)
from .tokens import ExpiredToken, InvalidToken

bp = Blueprint("signing", __name__, url_prefix="/<lang>")
bp.url_value_preprocessor(pull_lang)
bp.url_defaults(push_lang)


def render_campaign(
    campaign: Campaign,
    form: SignForm,
    status: int = 200,
    signed: str | None = None,
    preview: bool = False,
) -> ResponseReturnValue:
    """The campaign page: with the sign form, or, for a browser that signed
    here (``signed``), what it did, and after confirming the count with it.
    A ``preview`` (the console's, of any status) is marked so and its form
    sends nothing."""
    text = campaign.text(current_language())
    confirmed = signed == CONFIRMED and request.args.get("confirmed") == "1"
    count = count_including_confirmation(campaign) if confirmed else None
    closes_at = campaign.closes_at
    return (
        render_template(
            "signing/campaign.html",
            campaign=campaign,
            text=text,
            count=count or campaign_count(campaign.id),
            form=form,
            signed=signed,
            confirmed=confirmed,
            share=share_links(campaign, text.title) if confirmed else [],
            page_url=campaign_url(campaign),
            deadline=closes_at if closes_at and closes_at > utcnow() else None,
            site_paused=signing_paused(),
            manage_link=take_manage_link(campaign) if confirmed else None,
            receipt=take_receipt(campaign.slug) if confirmed else None,
            outcomes=campaign_outcomes(campaign.id),
            preview=preview,
        ),
        status,
    )


@bp.get("/campaigns/<slug>")
def campaign_page(slug: str) -> ResponseReturnValue:
    campaign = load_campaign(slug)
    # A shared device: the next person asks for the form ("sign as someone else").
    signed = None if request.args.get("someone_else") == "1" else signed_here(campaign)
    form = SignForm(campaign, current_language(), formdata=None)
    # The share link's source code rides in the form (no script needed).
    form.src.data = well_formed(request.args.get("src"))
    response = make_response(render_campaign(campaign, form, signed=signed))
    # Each browser's own page (its CSRF token, whether it signed here): a
    # shared cache must never hand it to another.
    response.headers["Cache-Control"] = "private, no-cache"
    return response


def _signed(campaign: Campaign, signature_uuid: uuid.UUID | None = None) -> ResponseReturnValue:
    """The answer to a signature, new, duplicate or a bot's alike: the code
    reference names the new signature (``signature_uuid``) or nothing, and
    looks the same either way."""
    response = redirect(url_for(".thanks", slug=campaign.slug), 303)
    remember_signing(response, campaign, SIGNED)
    remember_reference(response, campaign, signature_uuid)
    return response


@bp.post("/campaigns/<slug>/sign")
def sign(slug: str) -> ResponseReturnValue:
    campaign = load_campaign(slug)
    lang = current_language()
    # A refused form's language links open the campaign page (the sign URL is POST only).
    g.language_switch = ("signing.campaign_page", {"slug": slug})
    # The form's fields are text: a file part under a field's name is not read.
    form = SignForm(campaign, lang, formdata=request.form)
    form.src.data = well_formed(form.src.data)
    if not campaign.is_signable():
        return render_campaign(campaign, form, 409)
    if not form.validate():
        return render_campaign(campaign, form, 422)
    if form.website.data:
        # A bot filled the honeypot: answer as for anyone, keep nothing.
        return _signed(campaign)
    data = SignatureInput(
        full_name=form.full_name.data,
        email=form.email.data,
        phone=form.phone.data or "",
        country=form.country.data,
        region=form.region.data,
        amount=form.parsed_amount,
        show_name=bool(form.show_name.data),
        deliver_name=bool(form.deliver_name.data),
        contact_ok=bool(form.contact_ok.data),
    )
    try:
        signature_uuid = sign_campaign(
            campaign, data, locale=lang, client_ip=request.remote_addr, source=form.src.data
        )
    except SigningClosed:
        db.session.rollback()
        return render_campaign(campaign, form, 409)
    db.session.commit()
    return _signed(campaign, signature_uuid)


def _thanks_page(campaign: Campaign, form: CodeForm, status: int = 200) -> ResponseReturnValue:
    """The thanks page with its code form: the same for a new signature, a
    duplicate and a bot (it shows nothing of the reference). Never stored by
    a cache (security.NO_STORE_ENDPOINTS; every POST answer too)."""
    page = render_template(
        "signing/thanks.html",
        campaign=campaign,
        text=campaign.text(current_language()),
        form=form,
    )
    return page, status


@bp.get("/campaigns/<slug>/thanks")
def thanks(slug: str) -> ResponseReturnValue:
    campaign = load_campaign(slug)
    return _thanks_page(campaign, CodeForm(formdata=None))


# Why a code was refused, and the answer's status; a pledge is never called a signature.
_CODE_REFUSALS = {
    "missing": (
        _l("This browser cannot check the code. Please open the link in the email instead."),
        422,
    ),
    "expired": (_l("This code has expired. Please sign the campaign again to get a new one."), 410),
    "expired-pledge": (_l("This code has expired. Please pledge again to get a new one."), 410),
    "wrong": (_l("This code is not right. Please check the digits in the email."), 422),
    "locked": (
        _l("Too many codes were tried here. Please open the link in the email to confirm."),
        429,
    ),
}


@bp.post("/campaigns/<slug>/code")
def confirm_code(slug: str) -> ResponseReturnValue:
    """The code from the confirmation email, typed on the thanks page: a
    right one confirms exactly like the link's button."""
    campaign = load_campaign(slug)
    # A refused code's language links open the thanks page (this URL is POST only).
    g.language_switch = ("signing.thanks", {"slug": slug})
    form = CodeForm()
    if not form.validate():
        return _thanks_page(campaign, form, 422)
    receipt, hashed = new_receipt()
    try:
        signature = confirm_by_code(
            campaign,
            reference_here(campaign),
            form.typed,
            client_ip=request.remote_addr,
            receipt_hash=hashed,
        )
    except CodeRefused as refused:
        db.session.commit()  # the try counts
        pledge = refused.reason == "expired" and campaign.is_pledge
        message, status = _CODE_REFUSALS[f"{refused.reason}-pledge" if pledge else refused.reason]
        form.code.errors = [message]
        return _thanks_page(campaign, form, status)
    except ConfirmationClosed:
        db.session.commit()
        return _confirmation_closed(campaign)
    except NotConfirmable:
        db.session.commit()
        return render_template("signing/confirm_failed.html", reason="invalid"), 404
    db.session.commit()
    return _confirmed(campaign, signature, receipt)


def _confirmation_closed(campaign: Campaign) -> ResponseReturnValue:
    """The campaign closed before this signature was confirmed (the count is
    final at closing): said kindly, for pending and fraudulent ones alike."""
    text = campaign.text(current_language())
    results = campaign.status in VISIBLE  # an archived campaign has no public page
    page = render_template(
        "signing/confirm_closed.html", campaign=campaign, text=text, results=results
    )
    return page, 410


@bp.route("/confirm/<token>", methods=["GET", "POST"])
def confirm(token: str) -> ResponseReturnValue:
    """GET shows a button (mail scanners follow links); only the POST confirms."""
    try:
        signature = signature_for_token(token)
    except ExpiredToken:
        return render_template("signing/confirm_failed.html", reason="expired"), 410
    except InvalidToken:
        return render_template("signing/confirm_failed.html", reason="invalid"), 404
    if signature is None:
        return render_template("signing/confirm_failed.html", reason="invalid"), 404
    campaign = signature.campaign
    if signature.state not in (SignatureState.validated, SignatureState.held) and not (
        campaign.takes_confirmations()
    ):
        return _confirmation_closed(campaign)
    # GET and HEAD (link checkers, mail scanners) only ever see the button.
    if request.method != "POST":
        return render_template(
            "signing/confirm.html",
            campaign=campaign,
            text=campaign.text(current_language()),
            token=token,
        )
    receipt, hashed = new_receipt()
    try:
        confirm_signature(token, hashed)
    except AlreadyConfirmed:
        db.session.rollback()
    except ConfirmationClosed:
        db.session.rollback()
        return _confirmation_closed(campaign)
    except (NotConfirmable, InvalidToken, ExpiredToken):
        db.session.rollback()
        return render_template("signing/confirm_failed.html", reason="invalid"), 404
    else:
        db.session.commit()
    # The same answer for a fraudulent signature: bots learn nothing.
    return _confirmed(campaign, signature, receipt)


def _confirmed(campaign: Campaign, signature: Signature, receipt: str) -> ResponseReturnValue:
    """The answer to a confirmation, by link or code: the campaign page with
    the honest count, the receipt code and the share links."""
    remember_confirmation(campaign, signature)
    remember_receipt(campaign.slug, receipt)
    remember_manage_link(campaign, signature)
    response = redirect(url_for(".campaign_page", slug=campaign.slug, confirmed=1), 303)
    remember_signing(response, campaign, CONFIRMED)
    return response
