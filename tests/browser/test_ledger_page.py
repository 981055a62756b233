"""The public ledger's page in a real browser, without JavaScript doing any
of the work: a signer types their receipt into the form and reads that it
is counted, in Arabic and English, on a phone that never scrolls sideways."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect
from sqlalchemy import select

from campaigns.counting.services import update_signature_counts
from campaigns.extensions import db
from campaigns.ledger.receipts import new_receipt
from campaigns.ledger.services import publish_ledger
from campaigns.models import Campaign, SignatureState
from tests.factories import create_signature

from .conftest import SLUG, Contexts, LiveServer
from .test_results_page import translate

PHONE = {"width": 360, "height": 740}


@pytest.fixture(scope="module")
def receipt(live_server: LiveServer) -> str:
    with live_server.app.app_context():
        campaign = db.session.execute(select(Campaign).where(Campaign.slug == SLUG)).scalar_one()
        code, hashed = new_receipt()
        create_signature(campaign, state=SignatureState.validated, receipt_hash=hashed, amount=3)
        update_signature_counts()
        publish_ledger()
        db.session.remove()
    return code


@pytest.mark.parametrize("lang", ["ar", "en"])
def test_a_signer_finds_their_receipt_on_a_phone(
    lang: str,
    receipt: str,
    live_server: LiveServer,
    contexts: Contexts,
    screenshot: Callable[[Page, str], Path],
) -> None:
    page = contexts.new_page(viewport=PHONE, java_script_enabled=False)
    response = page.goto(f"{live_server.url}/{lang}/campaigns/{SLUG}/ledger")
    assert response is not None and response.status == 200
    label = translate(live_server.app, lang, "Receipt code")
    page.get_by_label(label).fill(receipt)
    page.get_by_role("button", name=translate(live_server.app, lang, "Check")).first.click()
    expect(page.get_by_text(translate(live_server.app, lang, "Your receipt is in the ledger:")))
    expect(page.locator(".notice").first).to_contain_text(
        translate(live_server.app, lang, "Counted")
    )
    # The receipt went in the body of a POST, never in the address.
    assert receipt not in page.url
    wide, window = page.evaluate("[document.scrollingElement.scrollWidth, window.innerWidth]")
    assert wide <= window, f"the page is {wide} px wide on a {window} px phone"
    screenshot(page, f"ledger-receipt-{lang}-360")

    results = contexts.new_page(viewport=PHONE)
    results.goto(f"{live_server.url}/{lang}/campaigns/{SLUG}/results")
    expect(results.locator(".ledger-head")).to_be_visible()
    screenshot(results, f"results-ledger-head-{lang}-360")
