"""The campaign page: the live count moves with JavaScript on, and the page
keeps its count and sign form with JavaScript off."""

from __future__ import annotations

from urllib.parse import urlsplit

import pytest
from playwright.sync_api import ConsoleMessage, expect

from .conftest import SLUG, Contexts, LiveServer, format_number

LANGS = ["ar", "en"]
# live-count.js polls every 5 s.
LIVE_COUNT_WAIT_MS = 12_000


@pytest.mark.parametrize("lang", LANGS)
def test_live_count_follows_new_signatures(
    lang: str, live_server: LiveServer, contexts: Contexts, screenshot
) -> None:
    page = contexts.new_page()
    errors: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if _is_error(m) else None)
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.goto(f"{live_server.url}/{lang}/campaigns/{SLUG}")
    count = page.locator("[data-count-url] [data-live-count]")
    progress = page.locator("[data-count-url] progress")
    before = live_server.campaign_json()
    expect(count).to_have_text(format_number(before["total"], lang))

    live_server.add_validated_signature(amount=7)
    after = live_server.campaign_json()
    assert after["total"] == before["total"] + 7

    expect(count).to_have_text(format_number(after["total"], lang), timeout=LIVE_COUNT_WAIT_MS)
    expect(progress).to_have_js_property("value", min(after["total"], after["goal"]))
    # CSP violations and script errors show up in the console.
    assert errors == []
    screenshot(page, f"campaign-{lang}")


def _is_error(message: ConsoleMessage) -> bool:
    # The browser asks for /favicon.ico by itself; the app has none (see the report).
    favicon = urlsplit(message.location.get("url", "")).path.startswith("/favicon.ico")
    return message.type == "error" and not favicon


@pytest.mark.parametrize("lang", LANGS)
def test_page_works_without_javascript(
    lang: str, live_server: LiveServer, contexts: Contexts, screenshot
) -> None:
    page = contexts.new_page(java_script_enabled=False)
    response = page.goto(f"{live_server.url}/{lang}/campaigns/{SLUG}")
    assert response is not None and response.status == 200
    data = live_server.campaign_json()

    expect(page.locator("[data-live-count]")).to_have_text(format_number(data["total"], lang))
    expect(page.locator(".progress progress")).to_be_visible()
    form = page.locator("section.sign form")
    expect(form).to_be_visible()
    expect(form).to_have_attribute("method", "post")
    expect(form).to_have_attribute("action", f"/{lang}/campaigns/{SLUG}/sign#sign-heading")
    for name in ("full_name", "email", "phone", "country", "region", "amount"):
        expect(form.locator(f"[name={name}]")).to_be_visible()
    expect(form.locator("[name=show_name]")).to_be_visible()
    expect(form.locator("button[type=submit]")).to_be_visible()
    screenshot(page, f"campaign-{lang}-no-js")
