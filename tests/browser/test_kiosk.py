"""Signing at a stand in Chromium: a collector opens a kiosk on a phone, 20
people sign one after another with the form empty between each (fields,
history, storage), 20 more while the network is cut; after reconnection the
count job counts exactly 40 in-person signatures, and the kiosk's batches
sent a second time are still counted once."""

from __future__ import annotations

import json
import re
import uuid
from typing import Any

import pytest
from playwright.sync_api import BrowserContext, Page, Request
from sqlalchemy import func, select

from campaigns.accounts.services import create_user
from campaigns.counting.services import update_signature_counts
from campaigns.extensions import db
from campaigns.models import Campaign, CampaignCount, Kiosk, Role, Signature, SignatureSource
from tests.factories import give_second_factor, unused_code

from .conftest import Contexts, LiveServer

PASSWORD = "olive-trees-of-afrin-2026"
PHONE = {"width": 360, "height": 740}
# A petition in English, a pledge (with its amount) in Arabic.
CAMPAIGN = {"en": "no-russia-on-hrc", "ar": "olive-trees-afrin"}
# The device's queue is empty: every entry was answered.
SENT = "() => !Object.keys(localStorage).some(k => k.startsWith('zaytoun-kiosk-'))"
STAND = {"en": "Azaz market, Friday", "ar": "سوق أعزاز، الجمعة"}


def _collector(server: LiveServer, contexts: Contexts, lang: str) -> tuple[BrowserContext, Page]:
    """An organizer of the union, logged in on a phone-sized screen."""
    with server.app.app_context():
        campaign = db.session.execute(
            select(Campaign).where(Campaign.slug == CAMPAIGN[lang])
        ).scalar_one()
        email = f"collector-{uuid.uuid4().hex[:10]}@zaytoun.test"
        user = create_user(email, "Rana", PASSWORD, Role.organizer, campaign.organization)
        secret = give_second_factor(user)
        db.session.commit()
        assert secret is not None
        code = unused_code(user.id, secret)
        db.session.remove()
    context = contexts.new_context(locale=lang, viewport=PHONE)
    page = context.new_page()
    page.goto(server.url + "/console/login")
    page.fill("#email", email)
    page.fill("#password", PASSWORD)
    page.fill("#code", code)
    page.locator("main form button[type=submit]").click()
    page.wait_for_url(re.compile(r"/console/$"))
    return context, page


def _queue(page: Page) -> list[dict[str, str]]:
    raw = page.evaluate(
        "() => Object.keys(localStorage).filter(k => k.startsWith('zaytoun-kiosk-'))"
        ".map(k => localStorage.getItem(k)).join('')"
    )
    return json.loads(raw) if raw else []


def _storage_text(page: Page) -> str:
    """Everything the page's origin keeps in the browser: localStorage,
    sessionStorage and the names of IndexedDB databases."""
    return str(
        page.evaluate(
            """async () => JSON.stringify({
                local: Object.entries(localStorage),
                session: Object.entries(sessionStorage),
                indexed: (await indexedDB.databases()).map(d => d.name),
            })"""
        )
    )


def _assert_empty(page: Page, names: list[str], history: int) -> None:
    values = page.evaluate(
        """() => Array.from(document.querySelectorAll(
                'form[data-kiosk] input:not([type=hidden]), form[data-kiosk] select'))
            .map(i => i.type === 'checkbox' ? (i.checked ? 'on' : '') : i.value)"""
    )
    assert values and all(value == "" for value in values), values
    assert page.evaluate("() => window.history.length") == history
    html, stored = page.content(), _storage_text(page)
    for name in names:
        assert name not in html
        assert name not in stored


def _sign(page: Page, name: str, lang: str, n: int) -> None:
    page.fill("#full_name", name)
    if n % 3 == 0:
        page.fill("#phone", f"0944 12{n:04d}")
    page.select_option("#country", "SY")
    page.fill("#region", "أعزاز" if n % 2 else "Azaz")
    if lang == "ar":
        page.fill("#amount", str(1 + n % 3))
    if n % 4 == 0:
        page.check("#show_name")
    page.locator("form[data-kiosk] button[type=submit]").click()
    page.wait_for_function(
        "() => document.getElementById('full_name').value === ''"
        " && !document.getElementById('kiosk-status').hidden"
    )


def _in_person(server: LiveServer, lang: str, kiosk_uuid: str) -> tuple[int, int]:
    """(the count job's in-person signers of the campaign, the kiosk's rows)."""
    with server.app.app_context():
        update_signature_counts()
        campaign = db.session.execute(
            select(Campaign).where(Campaign.slug == CAMPAIGN[lang])
        ).scalar_one()
        count = db.session.get(CampaignCount, campaign.id)
        rows = db.session.execute(
            select(func.count())
            .select_from(Signature)
            .join(Kiosk, Kiosk.id == Signature.kiosk_id)
            .where(
                Kiosk.uuid == uuid.UUID(kiosk_uuid),
                Signature.source == SignatureSource.in_person,
            )
        ).scalar_one()
        db.session.remove()
        return (count.in_person_signers if count else 0), rows


@pytest.mark.parametrize("lang", ["en", "ar"])
def test_forty_people_at_a_stand_through_a_cut_connection(
    lang: str, live_server: LiveServer, contexts: Contexts, screenshot: Any
) -> None:
    context, page = _collector(live_server, contexts, lang)
    before, _ = _in_person(live_server, lang, str(uuid.uuid4()))
    page.goto(f"{live_server.url}/console/campaigns/{CAMPAIGN[lang]}/kiosks")
    page.fill("#stand", STAND[lang])
    page.locator("form[action$='/kiosks'] button[type=submit]").click()
    page.wait_for_url(re.compile(r"/console/kiosks/[0-9a-f-]+$"))
    kiosk_uuid = page.url.rsplit("/", 1)[1]
    assert page.get_attribute("form[data-kiosk]", "data-queue-key") is None  # taken by the script
    screenshot(page, f"kiosk-{lang}")
    history = page.evaluate("() => window.history.length")
    sent: list[str] = []

    def keep(request: Request) -> None:
        if request.method == "POST" and request.url.endswith("/entries") and request.post_data:
            sent.append(request.post_data)

    page.on("requestfinished", keep)
    tag = uuid.uuid4().hex[:6]
    names = [f"Signer {tag} {n:02d}" if lang == "en" else f"موقّع {tag} {n:02d}" for n in range(40)]

    for n in range(20):
        _sign(page, names[n], lang, n)
        _assert_empty(page, names[: n + 1], history)
    page.wait_for_function(SENT)

    context.set_offline(True)
    for n in range(20, 40):
        _sign(page, names[n], lang, n)
        _assert_empty(page, names[: n + 1], history)
        assert len(_queue(page)) == n - 19
    screenshot(page, f"kiosk-offline-{lang}")
    # Nothing of the 20 waiting people reached the server.
    assert _in_person(live_server, lang, kiosk_uuid)[1] == 20

    context.set_offline(False)
    page.wait_for_function(SENT, timeout=20_000)
    _assert_empty(page, names, history)
    counted, rows = _in_person(live_server, lang, kiosk_uuid)
    assert (counted - before, rows) == (40, 40)

    # Every batch the kiosk sent, sent again: absorbed, still 40.
    page.remove_listener("requestfinished", keep)
    assert sum(len(json.loads(body)["entries"]) for body in sent) == 40
    answers = page.evaluate(
        """async (bodies) => {
            const token = document.querySelector('input[name=csrf_token]');
            const csrf = token ? token.value : '';
            const url = document.querySelector('form[data-kiosk]').getAttribute('data-entries');
            const out = [];
            for (const body of bodies) {
                const r = await fetch(url, {method: 'POST', body, headers: {
                    'Content-Type': 'application/json', 'X-CSRFToken': csrf}});
                out.push([r.status, (await r.json()).accepted.length]);
            }
            return out;
        }""",
        sent,
    )
    assert [status for status, _ in answers] == [200] * len(sent)
    assert sum(accepted for _, accepted in answers) == 40
    counted, rows = _in_person(live_server, lang, kiosk_uuid)
    assert (counted - before, rows) == (40, 40)

    page.goto(f"{live_server.url}/console/campaigns/{CAMPAIGN[lang]}/kiosks")
    screenshot(page, f"kiosk-stands-{lang}")
