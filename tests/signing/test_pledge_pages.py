"""The signer's pages speak of a pledge for a pledge campaign and of a
signature for a petition (issue 14): the confirm page's heading, sentence and
button, the unsubscribe pages and the update email's footer."""

from __future__ import annotations

import pytest
from flask import Flask
from flask.testing import FlaskClient
from flask_babel import force_locale, gettext

from campaigns.models import CampaignKind, CampaignUpdate, SignatureState
from campaigns.signing.tokens import make_confirm_token
from campaigns.updates.emails import render_update
from campaigns.updates.unsubscribe import make_unsubscribe_token
from tests.factories import create_campaign, create_signature

PLEDGE = ("Confirm your pledge", "Confirm my pledge")
SIGNATURE = ("Confirm your signature", "Confirm my signature")


@pytest.mark.parametrize("lang", ["ar", "ku", "tr", "en"])
@pytest.mark.parametrize(
    ("kind", "words", "other"),
    [(CampaignKind.pledge, PLEDGE, SIGNATURE), (CampaignKind.petition, SIGNATURE, PLEDGE)],
)
def test_the_confirm_page_names_what_is_confirmed(
    client: FlaskClient,
    lang: str,
    kind: CampaignKind,
    words: tuple[str, str],
    other: tuple[str, str],
) -> None:
    campaign = create_campaign(kind=kind)
    signature = create_signature(campaign, checked=True)

    page = client.get(f"/{lang}/confirm/{make_confirm_token(signature.uuid)}")

    assert page.status_code == 200
    html = page.get_data(as_text=True)
    with force_locale(lang):
        for text in words:
            assert gettext(text) in html
        for text in other:
            assert gettext(text) not in html


@pytest.mark.parametrize("lang", ["ar", "en"])
@pytest.mark.parametrize(
    ("kind", "word", "other"),
    [(CampaignKind.pledge, "pledge", "signature"), (CampaignKind.petition, "signature", "pledge")],
)
def test_the_unsubscribe_pages_name_what_stays_counted(
    client: FlaskClient, lang: str, kind: CampaignKind, word: str, other: str
) -> None:
    campaign = create_campaign(kind=kind)
    signature = create_signature(campaign, state=SignatureState.validated, email="u@example.org")
    path = f"/{lang}/unsubscribe/{make_unsubscribe_token(signature.uuid)}"
    shown = client.get(path).get_data(as_text=True)
    done = client.post(path).get_data(as_text=True)
    with force_locale(lang):
        asked = gettext(
            f"Press the button to stop receiving updates about “%(title)s”. "
            f"Your {word} stays counted.",
            title="",
        ).split(". ")[-1]
        told = gettext(
            f"We will not write to you again about “%(title)s”. Your {word} stays counted.",
            title="",
        ).split(". ")[-1]
        wrong = gettext(
            f"We will not write to you again about “%(title)s”. Your {other} stays counted.",
            title="",
        ).split(". ")[-1]
    assert asked in shown
    assert told in done and wrong not in done


@pytest.mark.parametrize(
    ("kind", "footer"),
    [
        (CampaignKind.pledge, "because you pledged to"),
        (CampaignKind.petition, "because you signed"),
    ],
)
def test_an_update_email_names_what_the_reader_did(
    app: Flask, kind: CampaignKind, footer: str
) -> None:
    campaign = create_campaign(kind=kind)
    texts = {"en": {"subject": "News", "body": "Trees."}}
    item = CampaignUpdate(campaign_id=campaign.id, texts=texts)
    _, _, plain, html = render_update(item, campaign, "en", "Rana", "http://x.test/u")
    assert footer in plain and footer in html
