"""Low-trace mail (issue 15, item 4): every email about a sensitive campaign
has a neutral sender name and subject, and no header names the campaign (its
title in any language, its slug) or the union; the body's opening does not
either. A campaign that is not sensitive keeps its usual emails."""

from __future__ import annotations

from email import message_from_bytes
from email import policy as email_policy
from email.message import EmailMessage
from email.utils import parseaddr

import pytest
from flask import Flask
from flask_babel import force_locale, gettext

from campaigns.accounts.services import create_user
from campaigns.extensions import db
from campaigns.mail.composers import compose
from campaigns.mail.services import deliver_emails, queue_email
from campaigns.models import (
    Campaign,
    CampaignKind,
    CampaignNotice,
    CampaignText,
    CampaignUpdate,
    EmailKind,
    EmailLog,
    Role,
    Signature,
    SignatureState,
)
from tests.factories import create_campaign, create_signature

from .conftest import SMTPServer

SIGNER_LANGUAGES = ("ar", "ku", "tr", "en")
SLUG = "vigil-for-the-detained"
TITLES = {
    "ar": "وقفة من أجل المعتقلين",
    "en": "Vigil for the detained",
    "ku": "Nobedariya ji bo girtiyan",
    "tr": "Tutuklular için nöbet",
}
# What a neutral subject is, in each language (as the catalogue says it).
NEUTRAL_SUBJECTS = {
    EmailKind.confirm: "Your confirmation code",
    EmailKind.already_signed: "About your request",
    EmailKind.update: "A new message",
    EmailKind.notice: "A new notice",
}
UPDATE_TEXTS = {
    lang: {"subject": f"{TITLES[lang]}: news", "body": "The vigil went well.\n\nThank you."}
    for lang in ("ar", "en")
}


def translated(text: str, lang: str) -> str:
    with force_locale(lang):
        return gettext(text)


def telltales(campaign: Campaign) -> set[str]:
    """Whatever would tell a reader which campaign or who sent it."""
    words = {SLUG, *TITLES.values(), *campaign.organization.names.values()}
    for lang in (*SIGNER_LANGUAGES, "en"):
        words.add(translated("Aleppo Revolutionaries Union", lang))
        words.add(translated("Zaytoun", lang))
    return {w for w in words if w}


def make_campaign(sensitive: bool, kind: CampaignKind = CampaignKind.petition) -> Campaign:
    campaign = create_campaign(slug=SLUG, kind=kind, sensitive=sensitive)
    for lang, title in TITLES.items():
        text = campaign.texts.get(lang) or CampaignText(
            locale=lang, summary="…", body="…", unit_label="…"
        )
        text.title = title
        campaign.texts[lang] = text
    db.session.commit()
    return campaign


def parsed(message: object) -> EmailMessage:
    result = message_from_bytes(bytes(message), policy=email_policy.default)  # type: ignore[call-overload]
    assert isinstance(result, EmailMessage)
    return result


def signer_email(campaign: Campaign, kind: EmailKind, lang: str, **fields: object) -> EmailMessage:
    state = fields.pop("state", SignatureState.pending)
    signature = create_signature(
        campaign, state=state, locale=lang, contact_ok=True, checked=True  # type: ignore[arg-type]
    )
    key = f"{kind.value}:{signature.id}"
    email = EmailLog(kind=kind, signature_id=signature.id, dedupe_key=key)
    if kind is EmailKind.update:
        item = CampaignUpdate(campaign_id=campaign.id, texts=UPDATE_TEXTS)
        db.session.add(item)
        db.session.commit()
        email.update_id = item.id
    return parsed(compose(email, db.session.get(Signature, signature.id)))


def notice_email(campaign: Campaign, kind: str = "closed") -> EmailMessage:
    user = create_user(
        f"organizer-{kind}@example.org", "Rana", "olive-trees-in-afrin-2026",
        Role.organizer, campaign.organization,
    )
    notice = CampaignNotice(campaign_id=campaign.id, kind=kind)
    db.session.add(notice)
    db.session.commit()
    email = EmailLog(
        kind=EmailKind.notice, user_id=user.id, notice_id=notice.id, dedupe_key=f"n:{notice.id}"
    )
    return parsed(compose(email, None))


def header_text(app: Flask, message: EmailMessage) -> dict[str, str]:
    """Every header as a reader's mail program shows it (decoded); of From,
    only the display name, and of a link only its path: the site's domain
    (the sender's address, the links, the Message-ID) is documented as seen."""
    site = app.config["SITE_URL"]
    found = {}
    for name, value in message.items():
        if name.lower() == "message-id":
            continue
        if name.lower() == "from":
            found[name] = parseaddr(str(value))[0]
        else:
            found[name] = str(value).replace(site, "")
    return found


def bodies(message: EmailMessage) -> tuple[str, str]:
    plain, html = message.get_body(("plain",)), message.get_body(("html",))
    assert plain is not None and html is not None
    return plain.get_content(), html.get_content()  # type: ignore[attr-defined]


def assert_low_trace(app: Flask, message: EmailMessage, campaign: Campaign, subject: str) -> None:
    headers = header_text(app, message)
    for name, value in headers.items():
        for word in telltales(campaign):
            assert word.lower() not in value.lower(), (name, value, word)
    assert headers["From"] == app.config["MAIL_NEUTRAL_SENDER_NAME"] == "Notifications"
    assert parseaddr(str(message["From"]))[1] == "no-reply@zaytoun.localhost"
    assert str(message["Subject"]).strip() == subject
    assert "List-Id" not in message
    # The body names neither the campaign nor the union (an update's own text
    # is the organizer's, here free of them too).
    for body in bodies(message):
        for word in telltales(campaign):
            assert word not in body, word


@pytest.mark.parametrize("lang", SIGNER_LANGUAGES)
@pytest.mark.parametrize("kind", [EmailKind.confirm, EmailKind.already_signed, EmailKind.update])
@pytest.mark.parametrize("campaign_kind", list(CampaignKind))
def test_a_sensitive_campaigns_signer_emails_name_nothing(
    app: Flask, lang: str, kind: EmailKind, campaign_kind: CampaignKind
) -> None:
    campaign = make_campaign(sensitive=True, kind=campaign_kind)
    state = SignatureState.validated if kind is EmailKind.update else SignatureState.pending
    message = signer_email(campaign, kind, lang, state=state)
    # An update in Kurdish or Turkish is read in Arabic, the organizer's language.
    mail_lang = lang if kind is not EmailKind.update or lang in UPDATE_TEXTS else "ar"
    assert_low_trace(app, message, campaign, translated(NEUTRAL_SUBJECTS[kind], mail_lang))
    plain, html = bodies(message)
    if kind is EmailKind.update:
        # The way out still works, and its address names nothing either.
        unsubscribe = str(message["List-Unsubscribe"]).strip()
        assert "/unsubscribe/" in unsubscribe and unsubscribe.strip("<>") in plain
    else:
        # The link that confirms is there, in both versions.
        link = next(line for line in plain.splitlines() if "/confirm/" in line)
        assert link.strip() in html


def test_the_already_signed_notice_of_a_confirmed_signer_is_neutral_too(app: Flask) -> None:
    campaign = make_campaign(sensitive=True)
    message = signer_email(campaign, EmailKind.already_signed, "ar", state=SignatureState.validated)
    assert_low_trace(app, message, campaign, translated("About your request", "ar"))


@pytest.mark.parametrize("notice", ["closed", "milestone-50"])
def test_a_sensitive_campaigns_notice_to_organizers_names_nothing(app: Flask, notice: str) -> None:
    campaign = make_campaign(sensitive=True)
    message = notice_email(campaign, notice)
    subject = " | ".join(translated("A new notice", lang) for lang in ("ar", "en"))
    assert_low_trace(app, message, campaign, subject)
    plain, _html = bodies(message)
    assert f"{app.config['SITE_URL']}/console/\n" in plain


def test_the_neutral_sender_name_is_a_setting(app: Flask) -> None:
    app.config["MAIL_NEUTRAL_SENDER_NAME"] = "Rappels"
    campaign = make_campaign(sensitive=True)
    message = signer_email(campaign, EmailKind.confirm, "en")
    assert parseaddr(str(message["From"])) == ("Rappels", "no-reply@zaytoun.localhost")


@pytest.mark.parametrize("lang", SIGNER_LANGUAGES)
def test_a_campaign_that_is_not_sensitive_keeps_its_emails(app: Flask, lang: str) -> None:
    campaign = make_campaign(sensitive=False)
    title = campaign.text(lang).title
    union = translated("Aleppo Revolutionaries Union", lang)
    confirm = signer_email(campaign, EmailKind.confirm, lang)
    assert str(confirm["From"]) == app.config["MAIL_DEFAULT_SENDER"]
    wording = translated("Please confirm your signature: %(title)s", lang)
    assert str(confirm["Subject"]).strip() == wording % {"title": title}
    plain, html = bodies(confirm)
    assert title in plain and title in html and plain.rstrip().endswith(union)
    already = signer_email(campaign, EmailKind.already_signed, lang)
    assert title in already["Subject"] and title in bodies(already)[0]
    update = signer_email(campaign, EmailKind.update, lang, state=SignatureState.validated)
    update_lang = lang if lang in UPDATE_TEXTS else "ar"
    assert str(update["Subject"]).strip() == UPDATE_TEXTS[update_lang]["subject"]
    assert f"/{update_lang}/campaigns/{SLUG}" in bodies(update)[0]
    notice = notice_email(campaign)
    assert TITLES["ar"] in notice["Subject"] and TITLES["en"] in notice["Subject"]
    assert str(notice["From"]) == app.config["MAIL_DEFAULT_SENDER"]
    assert f"/console/campaigns/{SLUG}" in bodies(notice)[0]


def test_a_sensitive_confirmation_over_smtp(app: Flask, smtp: SMTPServer) -> None:
    """As the signer's mail server receives it: the envelope sender is the
    usual address; the headers it stores name nothing."""
    campaign = make_campaign(sensitive=True)
    signature = create_signature(campaign, locale="ar", checked=True, email="nour@example.org")
    email_id = queue_email(EmailKind.confirm, signature.id, f"confirm:{signature.id}")
    assert email_id is not None
    db.session.commit()
    assert deliver_emails([email_id]) == 1
    (delivered,) = smtp.delivered
    assert delivered.mail_from == "no-reply@zaytoun.localhost"
    assert_low_trace(app, delivered.message, campaign, translated("Your confirmation code", "ar"))
