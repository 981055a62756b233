"""The delivery document of a pledge speaks of pledges and of the people who
pledged, never of signatures or of signing (issue 14); a petition's keeps its
words."""

from __future__ import annotations

import re

import pytest
from flask import Flask

from campaigns.exports.delivery import collect_delivery, delivery_html
from campaigns.models import CampaignKind, SignatureState
from tests.factories import create_campaign, create_signature


def document_words(kind: CampaignKind, lang: str) -> str:
    campaign = create_campaign(kind=kind)
    for i in range(7):
        create_signature(
            campaign,
            state=SignatureState.validated,
            name=f"Person {i}",
            country="SY",
            amount=2 if kind is CampaignKind.pledge else None,
            deliver_name=i == 0,
        )
    html = delivery_html(collect_delivery(campaign, lang=lang))
    # The words of the document, without its markup, style sheet and code.
    body = html.split("<body>", 1)[1].split("<pre>", 1)[0]
    return re.sub(r"<[^>]+>", " ", body).lower()


@pytest.mark.parametrize("lang", ["en", "ar"])
def test_a_pledges_document_speaks_of_pledges(app: Flask, lang: str) -> None:
    words = document_words(CampaignKind.pledge, lang)
    if lang == "en":
        assert "pledge delivery document" in words
        assert "people who pledged" in words and "who pledged without their" in words
        # The part that explains the hash chain keeps its technical words.
        explained = words.split("how to verify the list", 1)[0]
        assert not re.search(r"\bsign(er|ers|ed|ature|atures)?\b", explained), explained
        assert "petition" not in explained
    else:
        assert "وثيقة تسليم التعهّدات" in words and "المتعهّدون" in words
        explained = words.split("كيف", 1)[0]
        assert "الموقّع" not in explained and "العريضة" not in explained


def test_a_petitions_document_keeps_its_words(app: Flask) -> None:
    words = document_words(CampaignKind.petition, "en")
    assert "petition delivery document" in words and "signers by country" in words
    assert "pledge" not in words
