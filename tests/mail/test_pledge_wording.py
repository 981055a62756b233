"""What a signer's email says (issue 14): a pledge is called a pledge, never a
signature, and the HTML version is made for phones, with a real button."""

from __future__ import annotations

import re
from email.message import EmailMessage

import pytest
from flask import Flask, render_template
from flask_babel import force_locale, gettext

from campaigns.extensions import db
from campaigns.mail.services import deliver_emails, queue_email
from campaigns.models import Campaign, CampaignKind, EmailKind, SignatureState
from tests.factories import create_campaign, create_signature

from .conftest import SMTPServer

# Words for a signature, in each language's own wording of these emails.
SIGNATURE_WORDS = {"en": ("signature", "sign "), "ar": ("توقيع", "وقّع")}
PLEDGE_WORDS = {"en": "pledge", "ar": "تعهّد"}


def send(
    campaign: Campaign, kind: EmailKind, locale: str, smtp: SMTPServer, **fields: object
) -> EmailMessage:
    """The email of ``kind`` as the signer receives it over SMTP."""
    signature = create_signature(
        campaign,
        state=fields.pop("state", SignatureState.pending),  # type: ignore[arg-type]
        checked=True,
        locale=locale,
        email="nour@example.org",
        name="Nour",
        **fields,
    )
    email_id = queue_email(kind, signature.id, f"{kind.value}:{signature.id}")
    assert email_id is not None
    db.session.commit()
    assert deliver_emails([email_id]) == 1
    (delivered,) = smtp.delivered
    return delivered.message


def bodies(message: EmailMessage) -> tuple[str, str]:
    plain, html = message.get_body(("plain",)), message.get_body(("html",))
    assert plain is not None and html is not None
    return plain.get_content(), html.get_content()


def words(markup: str) -> str:
    """The text of an HTML body, without its tags and link addresses."""
    return re.sub(r"<[^>]+>|https?://\S+", " ", markup)


@pytest.mark.parametrize("locale", ["en", "ar"])
@pytest.mark.parametrize("kind", [EmailKind.confirm, EmailKind.already_signed])
def test_a_pledge_is_never_called_a_signature(
    app: Flask, smtp: SMTPServer, locale: str, kind: EmailKind
) -> None:
    campaign = create_campaign(kind=CampaignKind.pledge)
    plain, html = bodies(send(campaign, kind, locale, smtp, amount=3))
    for body in (plain, words(html)):
        assert PLEDGE_WORDS[locale] in body.lower()
        for word in SIGNATURE_WORDS[locale]:
            assert word not in body.lower(), (word, body)


@pytest.mark.parametrize("locale", ["en", "ar"])
def test_a_petition_keeps_its_wording(app: Flask, smtp: SMTPServer, locale: str) -> None:
    campaign = create_campaign(kind=CampaignKind.petition)
    plain, html = bodies(send(campaign, EmailKind.confirm, locale, smtp))
    for body in (plain, words(html)):
        assert SIGNATURE_WORDS[locale][0] in body.lower()
        assert PLEDGE_WORDS[locale] not in body.lower()


@pytest.mark.parametrize(("locale", "direction"), [("en", "ltr"), ("ar", "rtl")])
def test_the_html_email_has_a_viewport_and_a_button(
    app: Flask, smtp: SMTPServer, locale: str, direction: str
) -> None:
    campaign = create_campaign(kind=CampaignKind.pledge)
    plain, html = bodies(send(campaign, EmailKind.confirm, locale, smtp, amount=3))
    (link,) = re.findall(r"https?://\S+/confirm/\S+", plain)
    assert '<meta name="viewport" content="width=device-width, initial-scale=1">' in html
    assert f'<body dir="{direction}"' in html
    # A table-based button: the coloured cell holds the link, styled inline,
    # in the reading direction; the address follows as text for clients
    # that show no button.
    button = re.search(
        r'<table role="presentation" dir="(\w+)"[^>]*>\s*<tr>\s*<td [^>]*bgcolor="#4d5b23"[^>]*>\s*'
        r'<a href="([^"]+)"[^>]* style="([^"]+)">([^<]+)</a>',
        html,
    )
    assert button is not None, html
    table_direction, href, style, label = button.groups()
    assert table_direction == direction
    assert href == link
    assert "display: inline-block" in style and "background-color: #4d5b23" in style
    with app.test_request_context(), force_locale(locale):
        assert label == gettext("Confirm my pledge")
    assert html.count(link) == 2


@pytest.mark.parametrize("locale", ["en", "ar"])
def test_the_subject_says_pledge_for_a_pledge(app: Flask, locale: str) -> None:
    """The subjects, from ``email/subject.txt`` (what the composer of a
    signer's email renders for its subject)."""
    pledge = create_campaign(kind=CampaignKind.pledge)
    petition = create_campaign(kind=CampaignKind.petition)

    def subject(campaign: Campaign, kind: str) -> str:
        with app.test_request_context(), force_locale(locale):
            title = campaign.text(locale).title
            return render_template("email/subject.txt", kind=kind, campaign=campaign, title=title)

    for kind in ("confirm", "already_signed"):
        pledged, signed = subject(pledge, kind), subject(petition, kind)
        assert pledge.text(locale).title in pledged and "\n" not in pledged
        assert PLEDGE_WORDS[locale] in pledged.lower()
        assert not any(word in pledged.lower() for word in SIGNATURE_WORDS[locale])
        assert PLEDGE_WORDS[locale] not in signed.lower()
    if locale == "en":
        pledged_title, signed_title = pledge.text("en").title, petition.text("en").title
        assert subject(pledge, "confirm") == f"Please confirm your pledge: {pledged_title}"
        assert subject(petition, "confirm") == f"Please confirm your signature: {signed_title}"
        assert subject(pledge, "already_signed") == f"You have already pledged: {pledged_title}"
