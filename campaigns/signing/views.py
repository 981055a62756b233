"""Thin views: parse, load, act through services, commit once, render or redirect."""

from __future__ import annotations

from flask import Blueprint, g, make_response, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue

from ..campaign_cache import load_campaign
from ..counting.services import campaign_count
from ..extensions import db
from ..i18n import current_language, pull_lang, push_lang
from ..models import VISIBLE, Campaign, SignatureState
from ..models.types import utcnow
from ..outcomes.services import campaign_outcomes
from ..sharing import campaign_url, share_links
from ..site_settings import signing_paused
from .confirmed import count_including_confirmation, remember_confirmation
from .forms import SignForm
from .marker import CONFIRMED, SIGNED, remember_signing, signed_here
from .services import (
    AlreadyConfirmed,
    ConfirmationClosed,
    NotConfirmable,
    SignatureInput,
    SigningClosed,
    confirm_signature,
    sign_campaign,
    signature_for_token,
)
from .tokens import ExpiredToken, InvalidToken

bp = Blueprint("signing", __name__, url_prefix="/<lang>")
bp.url_value_preprocessor(pull_lang)
bp.url_defaults(push_lang)


def render_campaign(
    campaign: Campaign, form: SignForm, status: int = 200, signed: str | None = None
) -> ResponseReturnValue:
    """The campaign page: with the sign form, or, for a browser that signed
    here (``signed``), what it did, and after confirming the count with it."""
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
            outcomes=campaign_outcomes(campaign.id),
        ),
        status,
    )


@bp.get("/campaigns/<slug>")
def campaign_page(slug: str) -> ResponseReturnValue:
    campaign = load_campaign(slug)
    # A shared device: the next person asks for the form ("sign as someone else").
    signed = None if request.args.get("someone_else") == "1" else signed_here(campaign)
    form = SignForm(campaign, current_language(), formdata=None)
    response = make_response(render_campaign(campaign, form, signed=signed))
    # Each browser's own page (its CSRF token, whether it signed here): a
    # shared cache must never hand it to another.
    response.headers["Cache-Control"] = "private, no-cache"
    return response


def _signed(campaign: Campaign) -> ResponseReturnValue:
    """The answer to a signature, new, duplicate or a bot's alike."""
    response = redirect(url_for(".thanks", slug=campaign.slug), 303)
    remember_signing(response, campaign, SIGNED)
    return response


@bp.post("/campaigns/<slug>/sign")
def sign(slug: str) -> ResponseReturnValue:
    campaign = load_campaign(slug)
    lang = current_language()
    # A refused form's language links open the campaign page (the sign URL is POST only).
    g.language_switch = ("signing.campaign_page", {"slug": slug})
    # The form's fields are text: a file part under a field's name is not read.
    form = SignForm(campaign, lang, formdata=request.form)
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
        sign_campaign(campaign, data, locale=lang, client_ip=request.remote_addr)
    except SigningClosed:
        db.session.rollback()
        return render_campaign(campaign, form, 409)
    db.session.commit()
    return _signed(campaign)


@bp.get("/campaigns/<slug>/thanks")
def thanks(slug: str) -> ResponseReturnValue:
    campaign = load_campaign(slug)
    return render_template(
        "signing/thanks.html", campaign=campaign, text=campaign.text(current_language())
    )


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
    if signature.state is not SignatureState.validated and not campaign.takes_confirmations():
        return _confirmation_closed(campaign)
    # GET and HEAD (link checkers, mail scanners) only ever see the button.
    if request.method != "POST":
        return render_template(
            "signing/confirm.html",
            campaign=campaign,
            text=campaign.text(current_language()),
            token=token,
        )
    try:
        confirm_signature(token)
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
    remember_confirmation(campaign, signature)
    response = redirect(url_for(".campaign_page", slug=campaign.slug, confirmed=1), 303)
    remember_signing(response, campaign, CONFIRMED)
    return response
