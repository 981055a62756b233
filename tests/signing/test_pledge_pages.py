"""The signer's pages speak of a pledge for a pledge campaign and of a
signature for a petition (issue 14): the confirm page's heading, sentence and
button, and the thanks page after signing."""

from __future__ import annotations

import pytest
from flask.testing import FlaskClient
from flask_babel import force_locale, gettext

from campaigns.models import CampaignKind
from campaigns.signing.tokens import make_confirm_token
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
