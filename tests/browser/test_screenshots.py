"""Every public page at a phone's and a desktop's size, in the four languages,
saved as a screenshot to compare a change with what was there before; and no
page scrolls sideways at either size.

The screenshots go to test-artifacts/screenshots/<phase>/<lang>/<size>/, where
the phase comes from SCREENSHOT_PHASE (default "after"): run it once with
SCREENSHOT_PHASE=before on the code as it was, then again after the change."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from campaigns.counting.services import update_signature_counts
from campaigns.extensions import db
from campaigns.seed import CAMPAIGNS

from .conftest import SCREENSHOTS, Contexts, LiveServer
from .layout_support import SIZES
from .reach_support import LANGS, confirm_token

PHASE = os.environ.get("SCREENSHOT_PHASE", "after")
SLUGS = [spec["slug"] for spec in CAMPAIGNS]


def _visit(page: Page, url: str, status: int = 200) -> None:
    response = page.goto(url)
    assert response is not None and response.status == status, url


def _sign_form_errors(page: Page, url: str) -> None:
    _visit(page, url)
    page.locator("section.sign form button[type=submit]").click()
    expect(page.locator(".error-summary")).to_be_visible()


def _confirmation(server: LiveServer, slug: str) -> Callable[[Page, str], None]:
    """The landing page of a fresh signature's link, then its button pressed."""

    def run(page: Page, lang: str) -> None:
        _visit(page, f"{server.url}/{lang}/confirm/{confirm_token(server, slug)}")
        page.locator("main form button[type=submit]").click()
        page.wait_for_load_state("load")

    return run


def walk(server: LiveServer, lang: str) -> list[tuple[str, Callable[[Page], None]]]:
    """(name, how to reach it) for every public page in ``lang``."""
    base = f"{server.url}/{lang}"
    steps: list[tuple[str, Callable[[Page], None]]] = [
        ("home", lambda p: _visit(p, f"{base}/")),
    ]
    for slug in SLUGS:
        steps += [
            (f"campaign-{slug}", lambda p, s=slug: _visit(p, f"{base}/campaigns/{s}")),
            (f"results-{slug}", lambda p, s=slug: _visit(p, f"{base}/campaigns/{s}/results")),
            (f"embed-{slug}", lambda p, s=slug: _visit(p, f"{server.url}/embed/{s}?lang={lang}")),
            (
                f"embed-compact-{slug}",
                lambda p, s=slug: _visit(p, f"{server.url}/embed/{s}?lang={lang}&size=compact"),
            ),
        ]
    slug = SLUGS[-1]
    confirm = _confirmation(server, slug)
    steps += [
        ("sign-errors", lambda p: _sign_form_errors(p, f"{base}/campaigns/{slug}")),
        ("thanks", lambda p: _visit(p, f"{base}/campaigns/{slug}/thanks")),
        (
            "confirm",
            lambda p: _visit(p, f"{base}/confirm/{confirm_token(server, slug)}"),
        ),
        ("confirmed", lambda p: confirm(p, lang)),
        ("privacy", lambda p: _visit(p, f"{base}/privacy")),
        ("error", lambda p: _visit(p, f"{base}/campaigns/no-such-campaign", 404)),
    ]
    return steps


@pytest.mark.parametrize("size", list(SIZES))
@pytest.mark.parametrize("lang", LANGS)
def test_every_page_is_saved_and_none_scrolls_sideways(
    lang: str, size: str, live_server: LiveServer, contexts: Contexts
) -> None:
    folder = SCREENSHOTS / PHASE / lang / size
    folder.mkdir(parents=True, exist_ok=True)
    # A new browser profile: no cookie from another test's signing.
    page = contexts.new_page(**SIZES[size])
    sideways: list[str] = []
    for name, reach in walk(live_server, lang):
        reach(page)
        page.evaluate("document.fonts.ready.then(() => true)")
        path: Path = folder / f"{name}.png"
        page.screenshot(path=str(path), full_page=True)
        scroll, client = page.evaluate(
            "[document.documentElement.scrollWidth, document.documentElement.clientWidth]"
        )
        if scroll > client:
            sideways.append(f"{name}: {scroll} px wide in a {client} px window")
    # Count the confirmation made above, as the count job would, for the tests after.
    with live_server.app.app_context():
        update_signature_counts()
        db.session.remove()
    assert sideways == [], f"{lang} {size}: pages that scroll sideways:\n" + "\n".join(sideways)
