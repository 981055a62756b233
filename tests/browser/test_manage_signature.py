"""Changing one's mind, as a person does it in Chromium: a signer asks for the
link on the campaign's "manage" page, opens the emailed link, withdraws
(a confirmation step first), and once the count job has run the public count
has fallen by their pledge, on the count JSON and on the campaign page."""

from __future__ import annotations

import re
import uuid
from urllib.parse import urlsplit

import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from campaigns.counting.services import update_signature_counts
from campaigns.extensions import db
from campaigns.models import Campaign, Signature, SignatureState
from campaigns.outbox import relay_outbox
from tests.factories import create_signature

from .conftest import SLUG, Contexts, LiveServer, format_number
from .layout_support import SIZES
from .reach_support import SERIOUS, describe_violations, email_to, run_axe, translate

PLEDGED = 4
MANAGE_LINK = re.compile(r"https?://[^\s<>\"]+/manage/[A-Za-z0-9._-]+")


def _validated_signer(server: LiveServer, address: str, name: str, lang: str) -> int:
    """A confirmed pledge, folded into the counts as the count job does it."""
    with server.app.app_context():
        campaign = db.session.execute(select(Campaign).where(Campaign.slug == SLUG)).scalar_one()
        signature = create_signature(
            campaign,
            state=SignatureState.validated,
            email=address,
            name=name,
            ip=None,
            amount=PLEDGED,
            region_code="SY-HL",
            locale=lang,
        )
        update_signature_counts()
        signature_id = signature.id
        db.session.remove()
    return signature_id


def _run(server: LiveServer, job: object) -> None:
    with server.app.app_context():
        job()  # type: ignore[operator]
        db.session.remove()


@pytest.mark.parametrize(("lang", "js"), [("ar", True), ("en", False)], ids=["ar-js", "en-no-js"])
def test_a_signer_withdraws_from_the_emailed_link_and_the_count_falls(
    lang: str, js: bool, live_server: LiveServer, contexts: Contexts, screenshot
) -> None:
    app = live_server.app

    def t(message: str, **params: object) -> str:
        return translate(app, lang, message, **params)

    address = f"withdraw-{lang}-{uuid.uuid4().hex[:10]}@example.org"
    name = f"Canary {uuid.uuid4().hex[:6]}"
    signature_id = _validated_signer(live_server, address, name, lang)
    before = live_server.get_json(f"/api/v1/campaigns/{SLUG}/count")

    page = contexts.new_page(**SIZES["phone"], java_script_enabled=js)
    page.goto(f"{live_server.url}/{lang}/campaigns/{SLUG}")
    page.get_by_role("link", name=t("Manage my pledge"), exact=True).click()
    expect(page).to_have_url(f"{live_server.url}/{lang}/campaigns/{SLUG}/manage")
    page.get_by_label(t("Email address"), exact=True).fill(address.upper())
    page.get_by_role("button", name=t("Send me the link")).click()
    expect(page.get_by_role("heading", level=1)).to_have_text(t("Check your email"))

    # The relay hands the request to the worker, which writes the email.
    _run(live_server, relay_outbox)
    [message] = email_to(app, address)
    body = message.get_body(("plain",))
    assert body is not None
    links = MANAGE_LINK.findall(body.get_content())
    assert len(links) == 1, body.get_content()
    link = f"{live_server.url}{urlsplit(links[0]).path}"

    page.goto(link)
    expect(page.get_by_role("heading", level=1)).to_have_text(t("Manage your pledge"))
    expect(page.get_by_label(t("Full name"), exact=True)).to_have_value(name)
    screenshot(page, f"manage-{lang}")
    if js:  # axe-core is a script: it cannot run in a page without them
        serious = [v for v in run_axe(page) if v["impact"] in SERIOUS]
        assert serious == [], describe_violations(serious)
    page.get_by_role("link", name=t("Withdraw my pledge…")).click()
    expect(page.get_by_role("heading", level=1)).to_have_text(t("Withdraw your pledge?"))
    page.get_by_role("button", name=t("Withdraw my pledge"), exact=True).click()
    expect(page.get_by_role("heading", level=1)).to_have_text(t("Your pledge is withdrawn"))
    screenshot(page, f"manage-withdrawn-{lang}")

    with app.app_context():
        stored = db.session.get(Signature, signature_id)
        assert stored is not None
        assert stored.state is SignatureState.withdrawn and stored.personal_data is None
        db.session.remove()
    # Not out of the count until the count job runs …
    assert live_server.get_json(f"/api/v1/campaigns/{SLUG}/count") == before
    _run(live_server, update_signature_counts)
    after = live_server.get_json(f"/api/v1/campaigns/{SLUG}/count")
    assert after["signers"] == before["signers"] - 1
    assert after["total"] == before["total"] - PLEDGED

    # … and the public page shows the new count.
    page.goto(f"{live_server.url}/{lang}/campaigns/{SLUG}")
    expect(page.locator("[data-live-count]")).to_have_text(format_number(after["total"], lang))
    expect(page.locator("[data-live-signers]")).to_have_text(format_number(after["signers"], lang))

    # The same link again says it is done, and the button changes nothing more.
    page.goto(link)
    expect(page.get_by_role("heading", level=1)).to_have_text(t("Your pledge is withdrawn"))
