"""Moderation at scale and the draft preview in a real browser without
JavaScript, on a 360 px phone and a 1280 px screen, in Arabic and English:
an admin filters a campaign's review queue with its form, rejects every
signature the filter shows through the confirmation that states the number,
reads the message, sees a changed queue refused with its new number, and
previews the draft's public page. No page scrolls sideways; Accept and
Reject look different and never cover a name or an address; dates stay in
their cells. Screenshots: test-artifacts/console-moderation-*.png and
console-preview-*.png."""

from __future__ import annotations

import re
import uuid
from datetime import timedelta
from typing import Any

import pytest
from flask_babel import force_locale, ngettext
from playwright.sync_api import Page, expect
from sqlalchemy import select

from campaigns.accounts.services import create_user
from campaigns.extensions import db
from campaigns.i18n import format_number as app_format_number
from campaigns.models import Campaign, CampaignStatus, Role, Signature, SignatureState
from campaigns.models.types import utcnow
from tests.factories import create_campaign, give_second_factor, unused_code
from tests.moderation.support import signature

from .conftest import REPO, SLUG, Contexts, LiveServer
from .reach_support import translate

PASSWORD = "olive-trees-of-afrin-2026"
ARTIFACTS = REPO / "test-artifacts"
WIDTHS: dict[int, dict[str, Any]] = {
    360: {"viewport": {"width": 360, "height": 740}, "device_scale_factor": 2},
    1280: {"viewport": {"width": 1280, "height": 800}},
}
LONG_EMAIL = "abdulrahman.al-halabi.revolution.2011.committee@very-long-domain-name.example.org"
NAMES = ("عبد الرحمن محمد الحلبي ابن مدينة حلب الشهباء", "Hanna Schmidt-Obermüller", "أحمد خليل")
STOPPED = 5

SCROLL = "[document.scrollingElement.scrollWidth, window.innerWidth]"
# Two boxes of the page that overlap (buttons over a name or an address, a
# date over the next cell), by their selectors, for the failure message.
OVERLAPS = """() => {
  const hit = (a, b) => a.left < b.right - 1 && b.left < a.right - 1
                     && a.top < b.bottom - 1 && b.top < a.bottom - 1;
  const out = [];
  for (const row of document.querySelectorAll('main tbody tr')) {
    const buttons = [...row.querySelectorAll('.actions button, .actions .button')];
    const personal = [...row.querySelectorAll('bdi, .address, .when')];
    for (const b of buttons) for (const p of personal) {
      if (hit(b.getBoundingClientRect(), p.getBoundingClientRect()))
        out.push(b.textContent + ' / ' + p.textContent);
    }
    for (const when of row.querySelectorAll('.when')) {
      const cell = when.closest('td').getBoundingClientRect();
      const box = when.getBoundingClientRect();
      if (box.left < cell.left - 1 || box.right > cell.right + 1)
        out.push('date ' + when.textContent);
    }
  }
  return out;
}"""


def _world(server: LiveServer, tag: str) -> tuple[str, str, str, list[int], list[int]]:
    """A draft campaign of the union with stopped and bursting signatures,
    and an admin of the union with a second factor: (slug, email, code,
    the stopped ids, the bursting ids)."""
    with server.app.app_context():
        union = db.session.execute(select(Campaign).where(Campaign.slug == SLUG)).scalar_one()
        campaign = create_campaign(
            f"olive-saplings-{tag}", status=CampaignStatus.draft, organization=union.organization
        )
        campaign.text("ar").title = "شتلات زيتون لعفرين"
        campaign.text("en").title = "Olive saplings for Afrin"
        campaign.text("ar").body = "نزرع معًا خمسمئة شتلة زيتون."
        campaign.text("en").body = "Together we plant five hundred olive saplings."
        db.session.commit()
        stopped = [
            signature(
                campaign,
                state=SignatureState.fraudulent,
                fraud_reason="disposable_domain",
                name=NAMES[i % len(NAMES)],
                email=LONG_EMAIL.replace("@", f"-{i}@"),
                country="SY" if i % 2 else "TR",
                created_at=utcnow() - timedelta(minutes=i),
            ).id
            for i in range(STOPPED)
        ]
        bursting = [
            signature(
                campaign,
                state=SignatureState.validated,
                flag_reason="trending_ip",
                name=NAMES[i],
                email=f"burst-{i}@example.org",
            ).id
            for i in range(2)
        ]
        email = f"moderator-{tag}@zaytoun.test"
        user = create_user(email, "رنا الحلبية", PASSWORD, Role.admin, union.organization)
        secret = give_second_factor(user)
        db.session.commit()
        assert secret is not None
        code = unused_code(user.id, secret)
        slug = campaign.slug
        db.session.remove()
    return slug, email, code, stopped, bursting


def _log_in(page: Page, server: LiveServer, email: str, code: str) -> None:
    page.goto(server.url + "/console/login")
    page.fill("#email", email)
    page.fill("#password", PASSWORD)
    page.fill("#code", code)
    page.locator("main form button[type=submit]").click()
    page.wait_for_url(re.compile(r"/console/$"))


def _no_sideways_scroll(page: Page, width: int, what: str) -> None:
    scroll, inner = page.evaluate(SCROLL)
    assert scroll <= min(inner, width), f"{what}: {scroll}px in a {width}px window"


def _states(server: LiveServer, ids: list[int]) -> list[SignatureState]:
    with server.app.app_context():
        found = [db.session.get(Signature, i).state for i in ids]  # type: ignore[union-attr]
        db.session.remove()
    return found


def _message(server: LiveServer, lang: str, singular: str, plural: str, count: int) -> str:
    with server.app.test_request_context(), force_locale(lang):
        return str(ngettext(singular, plural, count, count=app_format_number(count)))


@pytest.mark.parametrize("width", WIDTHS)
@pytest.mark.parametrize("lang", ["ar", "en"])
def test_bulk_reject_through_its_confirmation_and_the_draft_preview(
    lang: str, width: int, live_server: LiveServer, contexts: Contexts
) -> None:
    server, app = live_server, live_server.app
    tag = f"{lang}-{width}-{uuid.uuid4().hex[:6]}"
    slug, email, code, stopped, bursting = _world(server, tag)
    page = contexts.new_page(locale=lang, java_script_enabled=False, **WIDTHS[width])
    _log_in(page, server, email, code)
    page.context.add_cookies([{"name": "lang", "value": lang, "url": server.url}])
    shot = f"{lang}-{width}"
    ARTIFACTS.mkdir(parents=True, exist_ok=True)

    # The queue with names and addresses shown.
    page.goto(f"{server.url}/console/moderation/campaigns/{slug}?personal=1")
    assert page.locator("html").get_attribute("lang") == lang
    expect(page.locator("main tbody .address").last).to_contain_text("very-long-domain-name")
    _no_sideways_scroll(page, width, "the queue with names")
    assert page.evaluate(OVERLAPS) == []
    accept = page.locator("main tbody .actions button").first
    reject = page.locator("main tbody .actions a.danger").first
    colours = [b.evaluate("e => getComputedStyle(e).backgroundColor") for b in (accept, reject)]
    assert colours[0] != colours[1]
    gap = page.locator("main tbody .actions").first.evaluate("e => getComputedStyle(e).columnGap")
    assert gap not in ("normal", "0px")
    # At the row's end, in the page's direction.
    row = reject.locator("xpath=ancestor::tr").bounding_box()
    box = reject.bounding_box()
    assert row is not None and box is not None
    end = box["x"] if lang == "ar" else box["x"] + box["width"]
    edge = row["x"] if lang == "ar" else row["x"] + row["width"]
    assert abs(end - edge) < 40, (end, edge)
    page.screenshot(path=str(ARTIFACTS / f"console-moderation-queue-{shot}.png"), full_page=True)

    # The filter, with its form: the stopped ones with a disposable address.
    page.locator("#filter-show").select_option("fraudulent")
    page.locator("#filter-reason").select_option("disposable_domain")
    page.locator("form.filters button[type=submit]").click()
    page.wait_for_url(re.compile(r"show=fraudulent&reason=disposable_domain"))
    five = app_format_number_in(app, STOPPED, lang)
    expect(page.locator(".queue-size")).to_contain_text(five)
    page.locator(".bulk-actions a.danger").click()
    page.wait_for_url(re.compile(r"/bulk/reject\?"))

    # The confirmation states the number and the filter in words.
    expect(page.locator(".bulk-count")).to_have_text(five)
    expect(page.locator("dl.summary")).to_contain_text(
        translate(app, lang, "Disposable email address")
    )
    _no_sideways_scroll(page, width, "the confirmation")
    page.screenshot(path=str(ARTIFACTS / f"console-moderation-confirm-{shot}.png"), full_page=True)
    assert _states(server, stopped) == [SignatureState.fraudulent] * STOPPED
    page.locator("main form button.danger").click()
    page.wait_for_url(re.compile(rf"/console/moderation/campaigns/{slug}\?"))
    expected = _message(
        server,
        lang,
        "%(count)s signature rejected: it is not counted, and leaves the figures within a "
        "minute if it was.",
        "%(count)s signatures rejected: they are not counted, and those that were leave the "
        "figures within a minute.",
        STOPPED,
    )
    expect(page.locator("p.notice-done")).to_have_text(expected)
    assert _states(server, stopped) == [SignatureState.invalidated] * STOPPED
    assert _states(server, bursting) == [SignatureState.validated] * 2
    _no_sideways_scroll(page, width, "the queue after the decision")
    page.screenshot(path=str(ARTIFACTS / f"console-moderation-done-{shot}.png"), full_page=True)

    # A queue that changed since the confirmation was shown is refused.
    page.goto(f"{server.url}/console/moderation/campaigns/{slug}/bulk/reject?show=flagged")
    expect(page.locator(".bulk-count")).to_have_text(app_format_number_in(app, 2, lang))
    with app.app_context():
        campaign = db.session.execute(select(Campaign).where(Campaign.slug == slug)).scalar_one()
        late = signature(campaign, state=SignatureState.validated, flag_reason="trending_ip").id
        db.session.remove()
    page.locator("main form button.danger").click()
    expect(page.locator(".error-summary")).to_contain_text(app_format_number_in(app, 3, lang))
    expect(page.locator(".bulk-count")).to_have_text(app_format_number_in(app, 3, lang))
    assert _states(server, [*bursting, late]) == [SignatureState.validated] * 3
    _no_sideways_scroll(page, width, "the refused confirmation")
    page.screenshot(path=str(ARTIFACTS / f"console-moderation-stale-{shot}.png"), full_page=True)

    # The draft's page as the public will see it, from the console.
    page.goto(f"{server.url}/console/campaigns/{slug}")
    page.get_by_role("link", name=translate(app, lang, "Preview"), exact=True).click()
    page.wait_for_url(re.compile(rf"/console/campaigns/{slug}/preview"))
    expect(page.locator(".preview-banner")).to_contain_text(
        translate(app, lang, "Preview — not public.")
    )
    expect(page.locator("h1")).to_have_text(
        "شتلات زيتون لعفرين" if lang == "ar" else "Olive saplings for Afrin"
    )
    expect(page.locator("section.sign button[type=submit]")).to_be_disabled()
    assert page.locator("section.sign form").get_attribute("action") is None
    _no_sideways_scroll(page, width, "the preview")
    page.screenshot(path=str(ARTIFACTS / f"console-preview-{shot}.png"), full_page=True)
    # Its language switch stays in the console.
    other = "en" if lang == "ar" else "ar"
    page.locator(f'nav.languages a[hreflang="{other}"]').click()
    page.wait_for_url(re.compile(rf"/console/campaigns/{slug}/preview\?lang={other}$"))
    assert page.locator("html").get_attribute("lang") == other


def app_format_number_in(app: Any, value: int, lang: str) -> str:
    with app.test_request_context(), force_locale(lang):
        return app_format_number(value)
