"""The results page says how many signatures are held for review, were
invalidated, or were stopped by the checks, and why: categories only, each
figure published through the K_MIN rule (a figure of 1 to 4 is "fewer than
5"), and none of it in the JSON API."""

from __future__ import annotations

import json
import re

import pytest
from flask import Flask
from flask.testing import FlaskClient

from campaigns.counting.disclosure import K_MIN, publish_figure
from campaigns.models import SignatureState
from campaigns.results.services import review_figures
from tests.factories import create_campaign, create_signature


def figures_on_page(client: FlaskClient, slug: str, lang: str = "en") -> dict[str, str]:
    page = client.get(f"/{lang}/campaigns/{slug}/results")
    assert page.status_code == 200
    section = page.get_data(as_text=True).split('id="review-heading"', 1)[1].split("</section>")[0]
    return dict(re.findall(r"<dt>([^<]+)</dt>\s*<dd>([^<]+)</dd>", section))


def test_publish_figure_keeps_zero_and_five_and_hides_one_to_four() -> None:
    assert [publish_figure(n) for n in range(7)] == [0, None, None, None, None, 5, 6]
    assert K_MIN == 5


@pytest.mark.parametrize(("held", "shown"), [(0, "0"), (3, "fewer than 5"), (5, "5"), (12, "12")])
def test_held_signatures_are_published_at_five_or_more(
    app: Flask, client: FlaskClient, held: int, shown: str
) -> None:
    campaign = create_campaign()
    for _ in range(held):
        create_signature(campaign, state=SignatureState.held, hold_reason="rate_burst")
    create_signature(campaign, state=SignatureState.validated)
    figures = figures_on_page(client, campaign.slug)
    assert figures["Held, awaiting review"] == shown


def test_each_category_is_counted_and_suppressed_on_its_own(
    app: Flask, client: FlaskClient
) -> None:
    campaign = create_campaign()
    other = create_campaign()
    made = {
        (SignatureState.invalidated, None): 6,
        (SignatureState.fraudulent, "disposable_domain"): 3,
        (SignatureState.fraudulent, "blocked_domain"): 3,
        (SignatureState.fraudulent, "rate_wave"): 2,
        (SignatureState.fraudulent, "rate_burst"): 1,  # from before held signatures
        (SignatureState.fraudulent, "unreadable"): 1,
        (SignatureState.held, None): 4,
    }
    for (state, reason), n in made.items():
        for _ in range(n):
            create_signature(
                campaign,
                state=state,
                fraud_reason=reason if state is SignatureState.fraudulent else None,
                hold_reason="rate_sustained" if state is SignatureState.held else None,
            )
    for _ in range(9):
        create_signature(other, state=SignatureState.held, hold_reason="rate_burst")
    assert review_figures(campaign.id) == {
        "held": None,
        "invalidated": 6,
        "automated_domain": 6,
        "automated_wave": None,
        "unreadable": None,
    }
    figures = figures_on_page(client, campaign.slug)
    assert figures == {
        "Held, awaiting review": "fewer than 5",
        "Invalidated by the organizers": "6",
        "Stopped: disposable or blocked email address": "6",
        "Stopped: automated wave from one address": "fewer than 5",
        "Stopped: unreadable data": "fewer than 5",
    }
    arabic = figures_on_page(client, campaign.slug, "ar")
    assert arabic["محجوزة بانتظار المراجعة"].startswith("أقل من ")
    assert arabic["أبطلها المنظِّمون"] in ("6", "٦")
    # Not part of the public JSON contract.
    data = json.loads(client.get(f"/api/v1/campaigns/{campaign.slug}").get_data(as_text=True))
    assert "review" not in data and "held" not in json.dumps(data)
