"""Two people to open personal data, in a real browser without JavaScript:
one admin asks from the exports page, a second approves, the first collects
the one-time link and downloads once; a second click is refused, in the
console's language."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from playwright.sync_api import Page, expect

from .conftest import Contexts, LiveServer
from .reach_support import console_admin_page, translate

SLUG = "olive-trees-afrin"


@pytest.fixture
def rule_on(live_server: LiveServer) -> Iterator[LiveServer]:
    live_server.app.config["TWO_PERSON_DISCLOSURE"] = True
    try:
        yield live_server
    finally:
        live_server.app.config["TWO_PERSON_DISCLOSURE"] = False


def _admin_page(server: LiveServer, contexts: Contexts, lang: str) -> Page:
    return console_admin_page(server, contexts, lang, accept_downloads=True)


@pytest.mark.parametrize("lang", ["ar", "tr"])
def test_two_admins_open_the_signatures_once_without_javascript(
    lang: str, rule_on: LiveServer, contexts: Contexts
) -> None:
    server = rule_on
    app = server.app
    asker = _admin_page(server, contexts, lang)
    approver = _admin_page(server, contexts, lang)

    asker.goto(f"{server.url}/console/campaigns/{SLUG}/exports")
    export = asker.locator("main form:has(input[name=kind][value=export_personal])")
    export.get_by_label(translate(app, lang, "Why you need it")).fill("Delivery to the council")
    export.get_by_role("button", name=translate(app, lang, "Ask a second admin")).click()
    asker.wait_for_url(re.compile(r"/console/disclosures$"))

    # The asker is offered no decision on their own request; the second admin is.
    approve = translate(app, lang, "Approve")
    expect(asker.get_by_role("button", name=approve, exact=True)).to_have_count(0)
    approver.goto(f"{server.url}/console/disclosures")
    approver.get_by_role("button", name=approve, exact=True).last.click()
    approver.wait_for_url(re.compile(r"/console/disclosures$"))

    asker.goto(f"{server.url}/console/disclosures")
    asker.get_by_role("button", name=translate(app, lang, "Get my one-time link")).first.click()
    expect(asker.locator("h1")).to_have_text(translate(app, lang, "Your one-time link"))
    download_button = asker.get_by_role(
        "button", name=translate(app, lang, "Download the signatures (CSV)")
    )
    with asker.expect_download() as download:
        download_button.click()
    content = download.value.path().read_text(encoding="utf-8-sig")
    assert content.startswith("created_at,validated_at,source,full_name,email")
    assert len(content.splitlines()) > 1

    with asker.expect_response(re.compile(r"/use$")) as answer:
        download_button.click()
    assert answer.value.status == 410
    message = translate(app, lang, "This one-time link has already been used. Please ask again.")
    expect(asker.get_by_role("alert")).to_contain_text(message)
