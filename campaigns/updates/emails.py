"""The emails of updates (to a signer, in their language) and notices (to an
organizer, in Arabic and English in one message), registered with ``mail``,
which delivers them; the address is read at send time and never stored."""

from __future__ import annotations

from typing import TypedDict

from flask import current_app, render_template
from flask_babel import force_locale, format_decimal, format_percent, gettext, ngettext

from ..counting.services import campaign_count
from ..extensions import db
from ..i18n import DEFAULT_LANGUAGE
from ..mail.composers import Composers, Draft, isolate, signer
from ..mail.transport import PermanentFailure
from ..models import (
    Campaign,
    CampaignNotice,
    CampaignUpdate,
    EmailKind,
    EmailLog,
    Signature,
    SignatureState,
    User,
)
from ..privacy.personal import read_personal_data
from .unsubscribe import unsubscribe_url

# Organizers have no language setting: notices carry both.
NOTICE_LANGUAGES = ("ar", "en")


class NoticeSection(TypedDict):
    lang: str
    subject: str
    greeting: str
    lines: list[str]
    link_label: str
    signature: str


def update_text(item: CampaignUpdate, locale: str) -> tuple[str, dict[str, str]]:
    """The update's language for a signer and its subject and body: the
    signer's language if the organizer wrote it, else Arabic."""
    if locale in item.texts:
        return locale, item.texts[locale]
    return DEFAULT_LANGUAGE, item.texts[DEFAULT_LANGUAGE]


def render_update(
    item: CampaignUpdate, campaign: Campaign, locale: str, name: str, unsubscribe_link: str
) -> tuple[str, str, str, str]:
    """An update as a reader of ``locale`` gets it: (language, subject, plain
    text, HTML). The console's preview shows the same. A sensitive campaign's
    has a neutral subject and neither names nor links the campaign: only the
    organizer's own text is left to say what it is about."""
    lang, text = update_text(item, locale)
    site = current_app.config["SITE_URL"]
    with force_locale(lang):
        subject = gettext("A new message") if campaign.sensitive else text["subject"]
        context = {
            "lang": lang,
            "neutral": campaign.sensitive,
            "name": isolate(name),
            "title": campaign.text(lang).title,
            "is_pledge": campaign.is_pledge,
            "subject": text["subject"],
            "body": text["body"],
            "paragraphs": [p.strip() for p in text["body"].split("\n\n") if p.strip()],
            "unsubscribe_url": unsubscribe_link,
            "campaign_url": f"{site}/{lang}/campaigns/{campaign.slug}",
        }
        plain = render_template("email/update.txt", **context)
        html = render_template("email/update.html", **context)
    return lang, subject, plain, html


def compose_update(email: EmailLog, signature: Signature | None) -> Draft:
    """One signer's copy of an update, in their language (else Arabic), with a
    one-click unsubscribe link (RFC 8058)."""
    signature = signer(signature)
    if signature.state is not SignatureState.validated or not signature.contact_ok:
        raise PermanentFailure("no longer a recipient")
    item = db.session.get(CampaignUpdate, email.update_id) if email.update_id else None
    if item is None:
        raise PermanentFailure("no such update")
    personal = read_personal_data(signature)
    if not personal["email"]:
        raise PermanentFailure("no email address")
    link = unsubscribe_url(signature)
    lang, subject, plain, html = render_update(
        item, signature.campaign, signature.locale, personal["name"], link
    )
    return Draft(
        to=personal["email"],
        subject=subject,
        plain=plain,
        html=html,
        lang=lang,
        headers=(
            ("List-Unsubscribe", f"<{link}>"),
            ("List-Unsubscribe-Post", "List-Unsubscribe=One-Click"),
            ("Precedence", "bulk"),
        ),
        neutral=signature.campaign.sensitive,
    )


def _notice_section(
    notice: CampaignNotice, campaign: Campaign, user: User, lang: str
) -> NoticeSection:
    """One language's words of a notice (called under ``force_locale(lang)``)."""
    if campaign.sensitive:
        return _neutral_notice_section(notice, user, lang)
    text = campaign.text(lang)
    count = campaign_count(campaign.id)
    figures = {
        "title": text.title,
        "total": format_decimal(count.total),
        "signers": format_decimal(count.signers),
        "goal": format_decimal(campaign.goal or 0),
        "unit": text.unit_label or campaign.unit,
    }
    if notice.kind == "closed":
        days = current_app.config["RETENTION_DAYS"]
        subject = gettext("“%(title)s” is closed", **figures)
        lines = [
            ngettext(
                "The campaign “%(title)s” is closed. Final figures: %(total)s %(unit)s from "
                "%(people)s person.",
                "The campaign “%(title)s” is closed. Final figures: %(total)s %(unit)s from "
                "%(people)s people.",
                count.signers,
                people=figures["signers"],
                **figures,
            ),
            gettext(
                "The personal data of its signers will be erased %(days)s days after the "
                "closing; the figures stay.",
                days=format_decimal(days),
            ),
        ]
    else:
        percent = format_percent(int(notice.kind.rpartition("-")[2]) / 100)
        subject = gettext(
            "“%(title)s” has reached %(percent)s of its goal", percent=percent, **figures
        )
        lines = [
            gettext(
                "The campaign “%(title)s” has reached %(percent)s of its goal: %(total)s of "
                "%(goal)s %(unit)s.",
                percent=percent,
                **figures,
            )
        ]
    return NoticeSection(
        lang=lang,
        subject=subject,
        greeting=gettext("Hello %(name)s,", name=isolate(user.name)),
        lines=lines,
        link_label=gettext("Open the campaign in the console:"),
        signature=gettext("Aleppo Revolutionaries Union"),
    )


def _neutral_notice_section(notice: CampaignNotice, user: User, lang: str) -> NoticeSection:
    """A sensitive campaign's notice: neither its title, nor its unit, nor the
    union; the figures are in the console, behind the organizer's login."""
    if notice.kind == "closed":
        lines = [
            gettext("A campaign you follow is closed. Its final figures are in the console."),
            gettext(
                "The personal data of its signers will be erased %(days)s days after the "
                "closing; the figures stay.",
                days=format_decimal(current_app.config["RETENTION_DAYS"]),
            ),
        ]
    else:
        percent = format_percent(int(notice.kind.rpartition("-")[2]) / 100)
        lines = [
            gettext(
                "A campaign you follow has reached %(percent)s of its goal.", percent=percent
            )
        ]
    return NoticeSection(
        lang=lang,
        subject=gettext("A new notice"),
        greeting=gettext("Hello %(name)s,", name=isolate(user.name)),
        lines=lines,
        link_label=gettext("Open the console:"),
        signature="",
    )


def compose_notice(email: EmailLog, signature: Signature | None) -> Draft:
    """A milestone or closing notice to one organizer, in Arabic and English
    (the row names no signature)."""
    user = db.session.get(User, email.user_id) if email.user_id else None
    if user is None or not user.active:
        raise PermanentFailure("no active account")
    notice = db.session.get(CampaignNotice, email.notice_id) if email.notice_id else None
    if notice is None:
        raise PermanentFailure("no such notice")
    campaign = db.session.get(Campaign, notice.campaign_id)
    if campaign is None:
        raise PermanentFailure("no such campaign")
    sections = []
    for lang in NOTICE_LANGUAGES:
        with force_locale(lang):
            sections.append(_notice_section(notice, campaign, user, lang))
    site = current_app.config["SITE_URL"]
    # A sensitive campaign's slug is not written into the email either.
    link = f"{site}/console/" if campaign.sensitive else f"{site}/console/campaigns/{campaign.slug}"
    context = {"sections": sections, "link": link, "lang": NOTICE_LANGUAGES[0]}
    plain = render_template("email/notice.txt", **context)
    html = render_template("email/notice.html", **context)
    subject = " | ".join(section["subject"] for section in sections)
    return Draft(
        to=user.email,
        subject=subject,
        plain=plain,
        html=html,
        lang=", ".join(NOTICE_LANGUAGES),
        headers=(("Auto-Submitted", "auto-generated"),),
        neutral=campaign.sensitive,
    )


def register_emails(composers: Composers) -> None:
    composers.register(EmailKind.update, compose_update)
    composers.register(EmailKind.notice, compose_notice)
