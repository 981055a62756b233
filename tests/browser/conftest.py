"""Real-browser fixtures: the app served over HTTP on 127.0.0.1 from a migrated,
seeded SQLite database, a partner's site on another loopback port to frame the
embed, and a headless Chromium whose pages may talk to those servers only."""

from __future__ import annotations

import json
import logging
import os
import threading
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import timedelta
from html import escape
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from babel.numbers import format_decimal
from flask import Flask
from flask_migrate import upgrade
from playwright.sync_api import Browser, BrowserContext, Page, sync_playwright
from sqlalchemy import select
from werkzeug.serving import make_server

from campaigns import create_app
from campaigns.counting.services import update_signature_counts
from campaigns.extensions import db
from campaigns.models import Campaign, SignatureState
from campaigns.models.types import utcnow
from campaigns.seed import seed
from tests.conftest import base_config
from tests.factories import create_signature

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
REPO = Path(__file__).resolve().parents[2]
SCREENSHOTS = REPO / "test-artifacts" / "screenshots"
SLUG = "olive-trees-afrin"
# Every wait is bounded; nothing in these pages should take longer on loopback.
TIMEOUT_MS = 10_000

# (country, region_code, city typed by the signer, trees pledged), one per signer.
# Buckets of fewer than five signers are merged into "other" by the app
# (campaigns/counting/disclosure.py), so the seed has both kinds: SY-HL, SY-ID,
# SY-DI, TR-27 and DE are shown; FR and NL make "other countries" (5), and
# TR-31 (1) with TR-34 (5, which then goes with it) make Turkey's "other regions".
SIGNERS: list[tuple[str, str | None, str, int]] = [
    *[("SY", "SY-HL", "حلب", n) for n in (3, 5, 2, 10, 1, 4, 6)],
    *[("SY", "SY-ID", "إدلب", n) for n in (2, 2, 8, 3, 5)],
    *[("SY", "SY-DI", "دمشق", n) for n in (1, 2, 3, 1, 2)],
    *[("TR", "TR-27", "Gaziantep", n) for n in (4, 4, 4, 2, 1)],
    *[("TR", "TR-34", "İstanbul", n) for n in (10, 3, 1, 2, 2)],
    ("TR", "TR-31", "Antakya", 5),
    *[("DE", None, "Berlin", n) for n in (1, 2, 3, 4, 5, 6, 2)],
    *[("FR", None, "Paris", 2) for _ in range(4)],
    ("NL", None, "Amsterdam", 20),
]
# Days ago each signature was confirmed: five on each day (a day under five
# would be pooled into the next), so the oldest and the newest day of the
# four-week chart both get a bar.
DAYS_AGO = (27, 20, 14, 9, 5, 2, 1, 0)
PUBLIC_NAMES = ("أحمد خليل", "Rojda Hesen", "Mehmet Yılmaz", "Hanna Schmidt", "سلمى الحلبي")


def format_number(value: int, lang: str) -> str:
    """A number as the app formats it for ``lang`` (Babel, the app's formatter)."""
    return str(format_decimal(value, locale=lang))


@dataclass
class LiveServer:
    app: Flask
    url: str

    def get_json(self, path: str) -> dict[str, Any]:
        with urllib.request.urlopen(self.url + path, timeout=5) as response:  # noqa: S310
            data: dict[str, Any] = json.load(response)
        return data

    def campaign_json(self, slug: str = SLUG) -> dict[str, Any]:
        return self.get_json(f"/api/v1/campaigns/{slug}")

    def add_validated_signature(
        self, amount: int, country: str = "SY", region_code: str | None = "SY-HL"
    ) -> None:
        """A confirmed pledge folded into the counts, as the count job does it."""
        with self.app.app_context():
            campaign = db.session.execute(
                select(Campaign).where(Campaign.slug == SLUG)
            ).scalar_one()
            create_signature(
                campaign,
                state=SignatureState.validated,
                country=country,
                region_code=region_code,
                amount=amount,
            )
            update_signature_counts()
            db.session.remove()


def _seed_signatures() -> None:
    campaign = db.session.execute(select(Campaign).where(Campaign.slug == SLUG)).scalar_one()
    now = utcnow()
    for i, (country, region_code, city, amount) in enumerate(SIGNERS):
        public = i % 6 == 0
        create_signature(
            campaign,
            state=SignatureState.validated,
            name=PUBLIC_NAMES[i % len(PUBLIC_NAMES)] if public else f"Signer {i}",
            country=country,
            region=city,
            region_code=region_code,
            amount=amount,
            created_at=now - timedelta(days=DAYS_AGO[i % len(DAYS_AGO)]),
            show_name=public,
            locale="ar" if i % 2 else "en",
        )
    update_signature_counts()


@pytest.fixture(scope="session")
def live_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    """The app over real HTTP on 127.0.0.1, on its own migrated SQLite file."""
    tmp = tmp_path_factory.mktemp("browser")
    app = create_app(base_config(tmp, f"sqlite:///{tmp / 'browser.sqlite3'}"))
    with app.app_context():
        upgrade()
        seed()
        db.session.commit()
        _seed_signatures()
        db.session.remove()
    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    server = make_server("127.0.0.1", 0, app, threaded=True)
    url = f"http://127.0.0.1:{server.server_port}"
    # Links the app builds (embed sign link, share links) point at this server.
    app.config["SITE_URL"] = url
    app.config["TRUSTED_HOSTS"] = ["127.0.0.1"]
    thread = threading.Thread(target=server.serve_forever, name="live-server", daemon=True)
    thread.start()
    try:
        yield LiveServer(app=app, url=url)
    finally:
        server.shutdown()
        thread.join(timeout=5)
        server.server_close()
        with app.app_context():
            db.engine.dispose()


class _PartnerPage(BaseHTTPRequestHandler):
    """``/?src=URL``: a page of another site holding the URL in an iframe."""

    def do_GET(self) -> None:
        src = parse_qs(urlsplit(self.path).query).get("src", [""])[0]
        body = (
            "<!doctype html><title>Partner</title>"
            f'<iframe src="{escape(src)}" width="320" height="200"></iframe>'
        ).encode()
        self.send_response(200)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:
        pass


@pytest.fixture(scope="session")
def partner_site() -> Iterator[str]:
    """The origin of a partner's site: 127.0.0.1 on another port than the app,
    so another origin, as a partner's own domain would be."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), _PartnerPage)
    thread = threading.Thread(target=server.serve_forever, name="partner-site", daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        thread.join(timeout=5)
        server.server_close()


@pytest.fixture(scope="session")
def browser() -> Iterator[Browser]:
    if not CHROMIUM.exists():
        reason = f"Chromium is not installed at {CHROMIUM} (Debian package 'chromium')"
        if os.environ.get("CI") == "true":
            pytest.fail(f"{reason}: the browser tests must run in CI", pytrace=False)
        pytest.skip(reason)
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(
            executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS
        )
        try:
            yield chromium
        finally:
            chromium.close()


@dataclass
class Contexts:
    """Opens browser contexts and records every request their pages make."""

    browser: Browser
    origin: str
    requests: list[str] = field(default_factory=list)
    allowed: set[str] = field(default_factory=set)
    opened: list[BrowserContext] = field(default_factory=list)

    def new_context(self, **options: Any) -> BrowserContext:
        options.setdefault("viewport", {"width": 1024, "height": 800})
        context = self.browser.new_context(**options)
        context.set_default_timeout(TIMEOUT_MS)
        # The context's event covers every page and frame opened in it.
        context.on("request", lambda request: self.requests.append(request.url))
        self.opened.append(context)
        return context

    def new_page(self, **options: Any) -> Page:
        return self.new_context(**options).new_page()

    def allow(self, origin: str) -> None:
        """Also accept requests to ``origin`` (a host page the test itself serves)."""
        self.allowed.add(origin)

    def foreign_requests(self) -> list[str]:
        """Requests to anything but the live server (data: URLs stay in the page)."""
        origins = {self.origin, *self.allowed}
        return [
            url
            for url in self.requests
            if urlsplit(url).scheme not in {"data", "blob", "about"}
            and f"{urlsplit(url).scheme}://{urlsplit(url).netloc}" not in origins
        ]


@pytest.fixture
def contexts(browser: Browser, live_server: LiveServer) -> Iterator[Contexts]:
    """Browser contexts for one test; the test fails if any of its pages
    requested another origin than the live server (no third-party requests)."""
    recorder = Contexts(browser=browser, origin=live_server.url)
    yield recorder
    for context in recorder.opened:
        context.close()
    foreign = recorder.foreign_requests()
    if foreign:
        pytest.fail(f"the page requested other origins than {live_server.url}: {foreign}")


@dataclass
class SharedContexts:
    """Browser contexts kept for a whole module (each costs half a second to
    open): every test gets its own tabs and, as with the ``contexts`` fixture,
    fails if they asked another origin for anything."""

    recorder: Contexts
    kept: dict[str, BrowserContext] = field(default_factory=dict)
    pages: list[Page] = field(default_factory=list)
    checked: int = 0

    def new_page(self, **options: Any) -> Page:
        key = repr(sorted(options.items()))
        if key not in self.kept:
            self.kept[key] = self.recorder.new_context(**options)
        page = self.kept[key].new_page()
        self.pages.append(page)
        return page

    def end_test(self) -> list[str]:
        """Close the test's tabs; returns the other origins they requested."""
        for page in self.pages:
            page.close()
        self.pages.clear()
        foreign = self.recorder.foreign_requests()
        new, self.checked = foreign[self.checked :], len(foreign)
        return new

    def close(self) -> None:
        for context in self.recorder.opened:
            context.close()


@pytest.fixture(scope="module")
def shared(browser: Browser, live_server: LiveServer) -> Iterator[SharedContexts]:
    contexts = SharedContexts(Contexts(browser=browser, origin=live_server.url))
    try:
        yield contexts
    finally:
        contexts.close()


@pytest.fixture
def tabs(shared: SharedContexts, live_server: LiveServer) -> Iterator[SharedContexts]:
    """Pages in the module's browser contexts; no request to another origin."""
    yield shared
    foreign = shared.end_test()
    if foreign:
        pytest.fail(f"the page requested other origins than {live_server.url}: {foreign}")


@pytest.fixture(scope="session")
def screenshot() -> Callable[[Page, str], Path]:
    """Saves a full-page screenshot under test-artifacts/screenshots/."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)

    def save(page: Page, name: str) -> Path:
        path = SCREENSHOTS / f"{name}.png"
        page.screenshot(path=str(path), full_page=True)
        return path

    return save
