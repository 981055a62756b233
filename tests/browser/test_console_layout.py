"""The console never scrolls sideways: every console page an admin, an
organizer and a partner can open, in Arabic and English, on a phone (360×740)
and a desktop (1280×800), is no wider than its window. The pages come from
the URL map (every GET route of a ``console`` blueprint), so a page added
later is walked too; a route whose URL the walker cannot fill fails the test
until its parameter is added to ``objects`` below. Each page is saved under
test-artifacts/screenshots/console/ for a person to look at, and the widths
measured on the phone go to test-artifacts/console-widths.json."""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import pytest
from playwright.sync_api import BrowserContext, Page, expect
from sqlalchemy import select

from campaigns.accounts.services import create_user
from campaigns.counting.services import update_signature_counts
from campaigns.extensions import db
from campaigns.kiosk.services import Entry, record_entries
from campaigns.models import (
    AuditEntry,
    Campaign,
    CampaignResponse,
    CampaignUpdate,
    Invalidation,
    JobState,
    Kiosk,
    OutboxMessage,
    Role,
    SignatureState,
    SourceCode,
    TrendingFlag,
    User,
)
from campaigns.models.types import utcnow
from campaigns.moderation.held import group_label
from campaigns.paper.services import import_paper_signatures
from campaigns.reach.codes import ensure_partner_codes
from tests.console.pages_support import console_pages
from tests.factories import give_second_factor, unused_code
from tests.moderation.support import signature
from tests.outcomes.support import make_pdf
from tests.paper.sheets_support import issue_sheet

from .conftest import REPO, SCREENSHOTS, Contexts, LiveServer
from .reach_support import LANGS as ALL_LANGS
from .reach_support import SERIOUS, describe_violations, run_axe, translate

PASSWORD = "olive-trees-of-afrin-2026"
SLUG = "olive-trees-afrin"
ROLES = (Role.admin, Role.organizer, Role.partner)
LANGS = ("ar", "en")
WIDTHS: dict[int, dict[str, Any]] = {
    360: {"viewport": {"width": 360, "height": 740}, "is_mobile": True, "has_touch": True},
    1280: {"viewport": {"width": 1280, "height": 800}},
}
SHOTS = SCREENSHOTS / "console"
WIDTHS_FILE = REPO / "test-artifacts" / "console-widths.json"
# The long things the console must wrap or scroll inside a box: an address
# without a place to break, a name, a hash.
LONG_EMAIL = "abdulrahman.al-halabi.revolution.2011.committee@very-long-domain-name.example.org"
LONG_NAME = "عبد الرحمن محمد الحلبي ابن مدينة حلب الشهباء"


@dataclass
class Accounts:
    """One account per role and screen width: each logs in once, with a
    second-factor code its account never used."""

    emails: dict[tuple[Role, int], str]
    secrets: dict[tuple[Role, int], str | None]
    ids: dict[tuple[Role, int], int]


@dataclass
class World:
    objects: dict[str, Any]
    accounts: Accounts


def _seed(campaign: Campaign, admin: User) -> dict[str, Any]:
    """What the console's pages show: an update, a paper import with
    rejected rows, invalidations (one still running, with a hash), held
    signatures with long addresses and names, a burst, audit entries."""
    tag = uuid.uuid4().hex[:8]
    update = CampaignUpdate(
        campaign_id=campaign.id,
        texts={
            "ar": {
                "subject": "زرعنا أول مئة شجرة زيتون في عفرين",
                "body": "شكراً لكم جميعاً.\nزرعنا اليوم أول مئة شجرة، وسنرسل الصور قريباً "
                "إلى كل من تعهّد بشجرة في هذه الحملة الطويلة جداً.",
            },
            "en": {"subject": "We planted the first hundred olive trees", "body": "Thank you."},
        },
    )
    rows = (
        "full_name,email,country,region,amount,show_name,deliver_name\n"
        f"Leyla Ahmed,{LONG_EMAIL},SY,حلب,3,yes,no\n"
        "Omar Said,,TR,Gaziantep,2,no,yes\n"
        "No Country,,,Berlin,1,no,no\n"
        "Bad Amount,,SY,حلب,lots,no,no\n"
    ).encode()
    paper = import_paper_signatures(
        campaign, rows, f"paper-signatures-from-aleppo-{tag}-collected.csv", user_id=admin.id
    )
    ip_hash = uuid.uuid4().hex * 2
    running = Invalidation(
        campaign_id=campaign.id,
        conditions={"ip_hash": ip_hash, "country": "SY"},
        reason="هجوم من عنوان واحد خلال ساعة",
        state=JobState.running,
        created_by=admin.id,
        started_at=utcnow(),
    )
    done = Invalidation(
        campaign_id=None,
        conditions={"country": "TR"},
        reason="test",
        state=JobState.completed,
        matched=12,
        invalidated=12,
        created_by=admin.id,
        finished_at=utcnow(),
    )
    db.session.add_all([update, running, done])
    db.session.add(
        TrendingFlag(
            campaign_id=campaign.id,
            kind="domain",
            key_hash=ip_hash,
            window_start=utcnow().replace(minute=0, second=0, microsecond=0),
            count=20,
        )
    )
    db.session.add(
        AuditEntry(
            user_id=admin.id,
            action="invalidation_created",
            target_type="campaign",
            target_id=str(campaign.id),
            details={"conditions": {"ip_hash": ip_hash, "country": "SY"}, "reason": "هجوم"},
        )
    )
    db.session.commit()
    held = None
    for i, (name, email) in enumerate(
        [
            (LONG_NAME, LONG_EMAIL.replace("@", f"-{tag}@")),
            ("Hanna Schmidt", f"hanna-{tag}@example.org"),
            ("أحمد خليل", f"ahmad-{tag}@example.org"),
            ("Mehmet Yılmaz", f"mehmet-{tag}@example.org"),
        ]
    ):
        held = signature(
            campaign,
            state=SignatureState.fraudulent,
            fraud_reason="rate_burst" if i % 2 else "disposable_domain",
            name=name,
            email=email,
            country="SY" if i % 2 else "TR",
            created_at=utcnow() - timedelta(minutes=i),
        )
    assert held is not None
    # Held for review behind one address: the held groups' table and decision page.
    held_group = signature(
        campaign,
        state=SignatureState.held,
        hold_reason="rate_burst",
        name="Rojda Hesen",
        email="rojda@example.org",
        ip="198.51.100.23",
    )
    # A target's response with its letter (a PDF: walked, not read as a page).
    letter = CampaignResponse(
        public_id=uuid.uuid4().hex,
        campaign_id=campaign.id,
        responded_on=utcnow().date(),
        # In every language: the live server is shared, and a later test reads
        # the public pages in Latin script for the Arabic font they must not load.
        texts={
            "ar": {"by": "البعثة", "text": "تلقينا العريضة"},
            "en": {"by": "The mission", "text": "We received the petition"},
            "ku": {"by": "Nûnerî", "text": "Me daxwazname wergirt"},
            "tr": {"by": "Daimi temsilcilik", "text": "Dilekçeyi aldık"},
        },
        pdf=make_pdf(),
        pdf_size=len(make_pdf()),
    )
    # A stand the admin signs people at (its kiosk page is theirs alone).
    kiosk = Kiosk(campaign_id=campaign.id, collector_id=admin.id, stand="سوق أعزاز، الجمعة")
    db.session.add(kiosk)
    db.session.flush()
    record_entries(
        kiosk,
        [
            Entry(key=uuid.uuid4(), full_name=name, country="SY", region="أعزاز", amount=2)
            for name in ("سعاد الحلبية", "رامي الحلبي")
        ],
        locale="ar",
    )
    db.session.add(letter)
    db.session.commit()
    # Signers through the first partner's code (made when it was seeded as a
    # co-host), so that its home shows figures and tables, and a channel of
    # the union's own with a long label.
    ensure_partner_codes(campaign)
    partner_code = db.session.execute(
        select(SourceCode).where(
            SourceCode.campaign_id == campaign.id,
            SourceCode.organization_id == campaign.partners[0].id,
        )
    ).scalars().first()
    assert partner_code is not None
    db.session.add(
        SourceCode(
            campaign_id=campaign.id,
            organization_id=campaign.organization_id,
            code=tag + "abc",
            label="قناة الاتحاد على تلغرام للمتطوعين في حلب وإدلب",
        )
    )
    for n in range(6):
        signature(
            campaign,
            state=SignatureState.validated,
            email=f"reach-{tag}-{n}@example.org",
            country="TR" if n % 2 else "SY",
            source_code_id=partner_code.id,
        )
    update_signature_counts()
    db.session.commit()
    # Printed sheets issued to a collector: their list and PDFs.
    sheet = issue_sheet(campaign, count=3, name="نور حسن")[0]
    # A stalled outbox (no relay runs here): the admin's dashboard always
    # shows its warnings on this walk, not only when the suite ran long.
    db.session.add(
        OutboxMessage(
            task="validate_signature", object_id=0, created_at=utcnow() - timedelta(minutes=15)
        )
    )
    db.session.commit()
    return {
        "number": sheet.number,
        "batch": sheet.batch,
        "slug": campaign.slug,
        "kind": "network",
        "group": group_label(held_group.ip_hash),
        "public_id": letter.public_id,
        "update_id": update.id,
        "import_id": paper.id,
        "invalidation_id": running.id,
        "signature_uuid": held.uuid,
        # The confirmation of a decision on every signature a filter shows.
        "decision": "reject",
        "user_id": admin.id,
        # The image preview is a download, not a page: any name fills its URL.
        "kiosk_uuid": kiosk.uuid,
        "collector_id": kiosk.collector_id,
        "variant": campaign.images[0].name if campaign.images else "absent-360.webp",
    }


@pytest.fixture(scope="module")
def world(live_server: LiveServer) -> World:
    tag = uuid.uuid4().hex[:8]
    emails: dict[tuple[Role, int], str] = {}
    secrets: dict[tuple[Role, int], str | None] = {}
    ids: dict[tuple[Role, int], int] = {}
    with live_server.app.app_context():
        campaign = db.session.execute(select(Campaign).where(Campaign.slug == SLUG)).scalar_one()
        for role in ROLES:
            for width in WIDTHS:
                email = f"{role.value}-{width}-{tag}@zaytoun.test"
                organization = (
                    campaign.partners[0] if role is Role.partner else campaign.organization
                )
                name = "رنا الحلبية" if role is Role.admin else f"{role.value} {width}"
                user = create_user(email, name, PASSWORD, role, organization)
                secrets[(role, width)] = give_second_factor(user)
                db.session.commit()
                emails[(role, width)], ids[(role, width)] = email, user.id
        admin = db.session.get(User, ids[(Role.admin, 360)])
        assert admin is not None
        objects = _seed(campaign, admin)
        db.session.remove()
    return World(objects, Accounts(emails, secrets, ids))


def log_in(
    context: BrowserContext, server: LiveServer, world: World, role: Role, width: int
) -> None:
    key = (role, width)
    secret = world.accounts.secrets[key]
    code = ""
    if secret is not None:
        with server.app.app_context():
            code = unused_code(world.accounts.ids[key], secret)
            db.session.remove()
    page = context.new_page()
    page.goto(server.url + "/console/login")
    page.fill("#email", world.accounts.emails[key])
    page.fill("#password", PASSWORD)
    page.fill("#code", code)
    page.locator("main form button[type=submit]").click()
    page.wait_for_url(f"{server.url}/console/")
    page.close()


def _check_the_menu(page: Page, server: LiveServer, width: int) -> list[str]:
    """On a phone the console menu is one line, so that the page's own work
    is in the first screen, and opens with a tap; on a wide screen it is open
    without one. In every language; the screenshots show it open."""
    too_wide = []
    for lang in ALL_LANGS:
        page.context.add_cookies([{"name": "lang", "value": lang, "url": server.url}])
        page.goto(server.url + "/console/")
        summary = page.locator(".console-menu > summary")
        links = page.locator(".console-menu-items a")
        if width == 360:
            expect(summary).to_have_text(translate(server.app, lang, "Console menu"))
            expect(links.first).to_be_hidden()
            heading = page.locator("main h1").bounding_box()
            assert heading is not None and heading["y"] < 200, (lang, heading)
            summary.click()
        else:
            expect(summary).to_be_hidden()
        expect(links.first).to_be_visible()
        expect(links.last).to_be_visible()
        log_out = translate(server.app, lang, "Log out")
        expect(page.get_by_role("button", name=log_out)).to_be_visible()
        page.screenshot(path=str(SHOTS / f"menu-open-{lang}-{width}.png"))
        scroll = page.evaluate("document.scrollingElement.scrollWidth")
        if scroll > width:
            too_wide.append(f"the open menu ({lang}): {scroll}px in a {width}px window")
    return too_wide


# The outermost elements that reach past the window's edge, named for the
# failure message.
WIDEST = """() => {
  const out = [];
  for (const e of document.body.querySelectorAll('*')) {
    const box = e.getBoundingClientRect();
    if (e.parentElement.closest('.table-scroll')) continue;
    if (box.left < -1 || box.right > window.innerWidth + 1) {
      if (!out.some(o => o.contains(e))) out.push(e);
    }
  }
  return out.slice(0, 5).map(e => {
    const box = e.getBoundingClientRect();
    const name = e.tagName.toLowerCase() + (e.className ? '.' + e.className : '');
    return name + ' ' + Math.round(box.left) + '..' + Math.round(box.right);
  });
}"""
SPILLING = """() => [...document.querySelectorAll('main table, main pre, main img, .table-scroll')]
  .filter(e => {
    // A table in a scroll box may be wider than the box: it scrolls in it.
    if (e.parentElement.closest('.table-scroll')) return false;
    const outer = document.querySelector('main').getBoundingClientRect();
    const box = e.getBoundingClientRect();
    return box.left < outer.left - 1 || box.right > outer.right + 1;
  })
  .slice(0, 3)
  .map(e => e.tagName.toLowerCase() + ' ' + Math.round(e.getBoundingClientRect().width) + 'px')"""
MEASURED: dict[str, int] = {}


def _write_widths() -> None:
    """The widths on the phone: each page's widest (any role, any language)
    and every measurement by role and language."""
    pages: dict[str, int] = {}
    for key, width in MEASURED.items():
        _role, page_lang = key.split(":", 1)
        page = page_lang.rsplit(":", 1)[0]
        pages[page] = max(pages.get(page, 0), width)
    WIDTHS_FILE.parent.mkdir(parents=True, exist_ok=True)
    WIDTHS_FILE.write_text(
        json.dumps(
            {
                "window": 360,
                "pages": dict(sorted(pages.items())),
                "measured": dict(sorted(MEASURED.items())),
            },
            indent=2,
            ensure_ascii=False,
        )
    )


@pytest.mark.parametrize("width", WIDTHS)
@pytest.mark.parametrize("role", ROLES, ids=lambda r: r.value)
def test_no_console_page_scrolls_sideways(
    role: Role, width: int, live_server: LiveServer, world: World, contexts: Contexts
) -> None:
    """Every console page each role reaches, in Arabic and English: nothing
    wider than the window; on the phone, axe-core finds no serious or
    critical violation either."""
    SHOTS.mkdir(parents=True, exist_ok=True)
    first = contexts.new_page(**WIDTHS[width])
    context = first.context
    log_in(context, live_server, world, role, width)
    too_wide, inaccessible, walked = [], [], 0
    for name, path in console_pages(live_server.app, world.objects, f"_seed in {__file__}"):
        answer = context.request.get(live_server.url + path, max_redirects=0)
        kind = answer.headers.get("content-type", "")
        # Pages of other roles, ways elsewhere (the login page once logged in)
        # and the downloads (CSV, images), are not walked.
        if answer.status in (302, 303, 403, 404) or not kind.startswith("text/html"):
            continue
        for lang in LANGS:
            context.add_cookies([{"name": "lang", "value": lang, "url": live_server.url}])
            page = first
            response = page.goto(live_server.url + path)
            assert response is not None and response.status < 400, (
                name,
                response and response.status,
            )
            assert page.locator("html").get_attribute("lang") == lang, (name, lang)
            scroll, inner = page.evaluate(
                "[document.scrollingElement.scrollWidth, window.innerWidth]"
            )
            walked += 1
            page.screenshot(
                path=str(SHOTS / f"{role.value}-{name}-{lang}-{width}.png"), full_page=True
            )
            if width == 360:
                MEASURED[f"{role.value}:{name}:{lang}"] = scroll
                serious = [v for v in run_axe(page) if v["impact"] in SERIOUS]
                if serious:
                    inaccessible.append(f"{name} ({lang}):\n{describe_violations(serious)}")
            # No table, preformatted text or image reaches out of the page's
            # column (on a wide screen it would not widen the window, but its
            # last cells slid over whatever is beside the column).
            spilling = page.evaluate(SPILLING)
            if spilling:
                too_wide.append(f"{name} ({lang}): wider than its column: {spilling}")
            if scroll > min(inner, width):
                culprits = page.evaluate(WIDEST)
                too_wide.append(f"{name} ({lang}): {scroll}px in a {width}px window {culprits}")
    if width == 360:
        _write_widths()
    if role is Role.admin:  # the longest menu
        too_wide += _check_the_menu(first, live_server, width)
    assert walked >= 2, f"the {role.value} reached no console page"
    assert not too_wide, f"{role.value}: pages wider than the window: {too_wide}"
    assert not inaccessible, f"{role.value}: axe-core's serious violations:\n" + "\n".join(
        inaccessible
    )
