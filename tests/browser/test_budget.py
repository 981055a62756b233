"""What a first visit costs a person on a slow, expensive connection, measured by
the browser's own network stack (compressed bodies and headers, as Chromium
received them); static files fingerprinted and cached for a year; compressed
HTML; JavaScript only for the live counts and the campaign page's helpers.
(Every page, in every language, is checked for requests to other origins in
test_languages.py.)"""

from __future__ import annotations

import hashlib
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest
from playwright.sync_api import expect

from campaigns.assets import YEAR

from .conftest import SCREENSHOTS, SLUG, Contexts, LiveServer
from .reach_support import PAGE_NAMES, PHONE, NetworkLog, page_paths

# Issue 6: bytes on the wire for a first visit, everything included.
BUDGETS = {"campaign": 30_000, "results": 60_000}
COMPRESSED = {"br", "gzip"}
# Static files stream through Flask-Compress, which also offers zstd.
STATIC_ENCODINGS = {*COMPRESSED, "zstd"}
# The only scripts any page loads: the live count, and the campaign page's
# helpers (copying the link, focus and direction of the form's boxes).
SCRIPTS = {"/static/js/live-count.js", "/static/js/campaign.js"}
STATIC_DIR = Path(__file__).resolve().parents[2] / "campaigns" / "static"
# Each page's bytes per resource, kept next to the screenshots.
TRANSFERS = SCREENSHOTS.parent / "transfers"


def first_visits(contexts: Contexts, server: LiveServer, lang: str) -> dict[str, NetworkLog]:
    """Every page, each opened by a new browser profile (empty cache) on a phone."""
    logs = {}
    for name, path in page_paths(server, lang).items():
        context = contexts.new_context(**PHONE)
        page = context.new_page()
        log = NetworkLog.attach(context, page)
        response = page.goto(server.url + path)
        assert response is not None and response.status == 200, name
        # Fonts start once text is laid out, the icon after load: wait for quiet,
        # then stop counting (the live count's first poll is 5 s later).
        page.wait_for_load_state("networkidle")
        log.cdp.detach()
        logs[name] = log
        context.close()
    return logs


def problems(name: str, log: NetworkLog) -> list[str]:
    """What is wrong with one page's first visit; empty when nothing is."""
    found = []
    budget = BUDGETS.get(name)
    if budget is not None and log.total() > budget:
        found.append(f"{name}: {log.total()} bytes, over its budget of {budget}")
    transfers = list(log.transfers.values())
    found += [f"{name}: {t.url} answered {t.status}" for t in transfers if t.status != 200]
    found += [f"{name}: a request failed: {error}" for error in log.failed]
    encodings = [t.headers.get("content-encoding") for t in transfers if t.type == "Document"]
    if len(encodings) != 1 or encodings[0] not in COMPRESSED:
        found.append(f"{name}: HTML sent with content-encoding {encodings}")
    scripts = {urlsplit(t.url).path for t in transfers if t.type == "Script"}
    if not scripts <= SCRIPTS:
        found.append(f"{name}: scripts besides ours: {sorted(scripts - SCRIPTS)}")
    static = [t for t in transfers if urlsplit(t.url).path.startswith("/static/")]
    if "Stylesheet" not in {t.type for t in static}:
        found.append(f"{name}: no style sheet")
    for t in static:
        url = urlsplit(t.url)
        filename = url.path.removeprefix("/static/")
        cache_control = t.headers.get("cache-control", "")
        if f"max-age={YEAR}" not in cache_control or "immutable" not in cache_control:
            found.append(f"{name}: {url.path} not cached for a year: {cache_control!r}")
        # A changed file gets a new URL: its version is the hash of its content,
        # or, for fonts (named from the style sheet), part of the file name.
        if filename.startswith("fonts/"):
            versioned = filename.rsplit(".", 1)[0][-1].isdigit()
        elif (STATIC_DIR / filename).is_file():
            digest = hashlib.sha256((STATIC_DIR / filename).read_bytes()).hexdigest()[:12]
            versioned = parse_qs(url.query).get("v") == [digest]
        else:
            versioned = False
        if not versioned:
            found.append(f"{name}: {t.url} does not carry its content's version")
        encoding = t.headers.get("content-encoding")
        if (
            t.type in ("Stylesheet", "Script")
            and t.bytes > 1000
            and encoding not in STATIC_ENCODINGS
        ):
            found.append(f"{name}: {url.path} sent with content-encoding {encoding}")
    return found


@pytest.mark.parametrize("lang", ["ar", "en"])
def test_first_visit(lang: str, live_server: LiveServer, contexts: Contexts) -> None:
    """Within budget, compressed, fingerprinted and cached for a year, with no
    script but the live count and the campaign page's helpers. Each page's
    bytes are printed and kept."""
    logs = first_visits(contexts, live_server, lang)
    TRANSFERS.mkdir(parents=True, exist_ok=True)
    found = []
    for name in PAGE_NAMES:
        log = logs[name]
        report = f"{log.report(f'{name} ({lang})')}\n    by type: {log.by_type()}\n"
        print("\n" + report)
        (TRANSFERS / f"{name}-{lang}.txt").write_text(report, encoding="utf-8")
        found += problems(name, log)
    assert found == [], "\n".join(found)


def test_next_page_takes_static_files_from_the_cache(
    live_server: LiveServer, contexts: Contexts
) -> None:
    context = contexts.new_context(**PHONE)
    page = context.new_page()
    page.goto(f"{live_server.url}/ar/campaigns/{SLUG}")
    page.wait_for_load_state("networkidle")
    log = NetworkLog.attach(context, page)
    page.locator("article.campaign a[href$='/results']").click()
    expect(page).to_have_url(f"{live_server.url}/ar/campaigns/{SLUG}/results")
    page.wait_for_load_state("networkidle")
    print(f"\n{log.report('results (ar) after the campaign page')}")
    documents = [t for t in log.transfers.values() if t.type == "Document"]
    assert len(documents) == 1 and documents[0].bytes > 0
    # What the page itself needs (not a live-count poll of the page before).
    others = [t for t in log.transfers.values() if t.type not in ("Document", "Fetch", "XHR")]
    paths = {urlsplit(t.url).path for t in others}
    assert "/static/css/site.css" in paths
    assert any(path.startswith("/static/fonts/") for path in paths), paths
    # Cached for a year: the style sheet and the font do not cross the network again.
    assert sum(t.bytes for t in others) == 0, log.report("second page")


def test_a_request_to_another_origin_is_caught(
    live_server: LiveServer, contexts: Contexts, partner_site: str
) -> None:
    """The recorder behind the no-third-party rule sees every request of a page."""
    recorder = Contexts(browser=contexts.browser, origin=live_server.url)
    try:
        page = recorder.new_page()
        page.goto(f"{live_server.url}/en/")
        # What a page embedding another site's image would do (the CSP refuses
        # it, but the page asked, and that is what the rule is about).
        with page.expect_request(f"{partner_site}/pixel.png"):
            page.evaluate(
                "url => { const img = new Image(); img.src = url; document.body.append(img); }",
                f"{partner_site}/pixel.png",
            )
        assert recorder.foreign_requests() == [f"{partner_site}/pixel.png"]
    finally:
        for context in recorder.opened:
            context.close()
