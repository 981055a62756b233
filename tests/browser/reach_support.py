"""Helpers for the reach tests (issue 6): the pages every visitor can reach, a
phone-sized browser, the bytes a first visit transfers as the browser counts
them, axe-core, the confirmation email, and the app's own translations."""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass, field, replace
from email import policy
from email.message import EmailMessage
from email.parser import BytesParser
from pathlib import Path
from typing import Any, Protocol
from urllib.parse import urlsplit

from flask import Flask
from flask_babel import force_locale, gettext
from playwright.sync_api import BrowserContext, CDPSession, Page
from sqlalchemy import select

from campaigns.accounts.services import create_user
from campaigns.extensions import db
from campaigns.models import Campaign, Role, SignatureState
from campaigns.signing.tokens import make_confirm_token
from tests.factories import create_signature, give_second_factor, unused_code

from .conftest import SLUG, Contexts, LiveServer

LANGS = ("ar", "ku", "tr", "en")
DIRECTIONS = {"ar": "rtl", "ku": "ltr", "tr": "ltr", "en": "ltr"}
PHONE: dict[str, Any] = {
    "viewport": {"width": 360, "height": 740},
    "is_mobile": True,
    "has_touch": True,
}
AXE_SOURCE = (Path(__file__).parent / "vendor" / "axe-4.14.1.min.js").read_text(encoding="utf-8")
# Everything the app shows a visitor, by name (the embed is what partners frame).
PAGE_NAMES = ("home", "campaign", "thanks", "confirm", "results", "embed", "privacy")


def translate(app: Flask, lang: str, message: str, **params: Any) -> str:
    """``message`` as the app shows it in ``lang`` (its own catalogs)."""
    with app.test_request_context(), force_locale(lang):
        return str(gettext(message, **params))


def unit_label(app: Flask, lang: str, slug: str = SLUG) -> str:
    with app.app_context():
        campaign = db.session.execute(select(Campaign).where(Campaign.slug == slug)).scalar_one()
        label = campaign.text(lang).unit_label
        db.session.remove()
    return str(label)


def confirm_token(server: LiveServer, slug: str = SLUG, amount: int | None = None) -> str:
    """A token for a fresh pending signature, as the confirmation email carries.
    No client address: it must not count against the browser signers' rate rule."""
    with server.app.app_context():
        campaign = db.session.execute(select(Campaign).where(Campaign.slug == slug)).scalar_one()
        signature = create_signature(
            campaign,
            state=SignatureState.pending,
            email=f"page-{uuid.uuid4().hex[:12]}@example.org",
            ip=None,
            checked=True,
            amount=amount,
        )
        token = make_confirm_token(signature.uuid)
        db.session.remove()
    return token


def page_paths(server: LiveServer, lang: str) -> dict[str, str]:
    """Path of every public page in ``lang``."""
    return {
        "home": f"/{lang}/",
        "campaign": f"/{lang}/campaigns/{SLUG}",
        "thanks": f"/{lang}/campaigns/{SLUG}/thanks",
        "confirm": f"/{lang}/confirm/{confirm_token(server)}",
        "results": f"/{lang}/campaigns/{SLUG}/results",
        "embed": f"/embed/{SLUG}?lang={lang}",
        "privacy": f"/{lang}/privacy",
    }


class OpensPages(Protocol):
    def new_page(self, **options: Any) -> Page: ...


def phone_page(contexts: OpensPages, **options: Any) -> Page:
    return contexts.new_page(**{**PHONE, **options})


# --- transferred bytes, as Chromium's network stack counts them -----------------


@dataclass
class Transfer:
    url: str
    type: str
    status: int
    headers: dict[str, str]
    bytes: int = 0
    from_cache: bool = False


@dataclass
class NetworkLog:
    """Every response of one page, with the bytes that crossed the wire
    (``Network.loadingFinished.encodedDataLength``: compressed body + headers)."""

    cdp: CDPSession
    transfers: dict[str, Transfer] = field(default_factory=dict)
    failed: list[str] = field(default_factory=list)

    @classmethod
    def attach(cls, context: BrowserContext, page: Page) -> NetworkLog:
        log = cls(context.new_cdp_session(page))
        log.cdp.on("Network.responseReceived", log._response)
        log.cdp.on("Network.requestServedFromCache", log._cached)
        log.cdp.on("Network.loadingFinished", log._finished)
        log.cdp.on("Network.loadingFailed", lambda e: log.failed.append(e.get("errorText", "")))
        log.cdp.send("Network.enable")
        return log

    def _response(self, event: dict[str, Any]) -> None:
        response = event["response"]
        self.transfers[event["requestId"]] = Transfer(
            url=response["url"],
            type=event.get("type", "Other"),
            status=response["status"],
            headers={k.lower(): v for k, v in response.get("headers", {}).items()},
            from_cache=bool(response.get("fromDiskCache") or response.get("fromPrefetchCache")),
        )

    def _cached(self, event: dict[str, Any]) -> None:
        if event["requestId"] in self.transfers:
            self.transfers[event["requestId"]].from_cache = True

    def _finished(self, event: dict[str, Any]) -> None:
        transfer = self.transfers.get(event["requestId"])
        if transfer is not None:
            transfer.bytes = int(event["encodedDataLength"])

    def total(self) -> int:
        return sum(t.bytes for t in self.transfers.values())

    def by_type(self) -> dict[str, int]:
        sizes: dict[str, int] = {}
        for t in self.transfers.values():
            sizes[t.type] = sizes.get(t.type, 0) + t.bytes
        return sizes

    def report(self, name: str) -> str:
        lines = [f"{name}: {self.total()} bytes transferred"]
        for t in sorted(self.transfers.values(), key=lambda t: -t.bytes):
            encoding = t.headers.get("content-encoding", "identity")
            cached = " (from cache)" if t.from_cache else ""
            lines.append(
                f"    {t.type:<10} {t.bytes:>6}  {encoding:<8} {urlsplit(t.url).path}{cached}"
            )
        return "\n".join(lines)


# --- axe-core ------------------------------------------------------------------

SERIOUS = {"serious", "critical"}


def run_axe(page: Page) -> list[dict[str, Any]]:
    """axe-core's violations on the page as it is now (WCAG 2.x A/AA and best practices)."""
    if not page.evaluate("() => typeof window.axe === 'object'"):
        # Evaluated through the DevTools protocol: the page's CSP does not apply.
        page.evaluate(AXE_SOURCE)
    violations: list[dict[str, Any]] = page.evaluate(
        """async () => {
            const result = await axe.run(document, {resultTypes: ['violations']});
            return result.violations.map(v => ({
                id: v.id, impact: v.impact, help: v.help,
                targets: v.nodes.map(n => n.target.join(' ')),
            }));
        }"""
    )
    return violations


def describe_violations(violations: list[dict[str, Any]]) -> str:
    return "\n".join(
        f"  [{v['impact']}] {v['id']}: {v['help']} -> {', '.join(v['targets'])}" for v in violations
    )


# --- signing like a person ------------------------------------------------------


@dataclass(frozen=True)
class Signer:
    name: str
    country: str
    region: str
    amount: int
    phone: str = ""
    email: str = ""


SIGNERS = {
    "ar": Signer("سلمى الحلبي", "SY", "حلب", 3, phone="+963 944 123 456"),
    "ku": Signer("Rojda Hesen", "SY", "Efrîn", 2),
    "tr": Signer("Mehmet Yılmaz", "TR", "Gaziantep", 4, phone="0532 123 45 67"),
    "en": Signer("Hanna Schmidt", "DE", "Berlin", 1),
}


def signer_for(lang: str, js: bool) -> Signer:
    """A different person per language, with a new address on every run."""
    tag = f"{lang}-{'js' if js else 'nojs'}-{uuid.uuid4().hex[:10]}"
    return replace(SIGNERS[lang], email=f"{tag}@example.org")


def fill_sign_form(page: Page, app: Flask, lang: str, signer: Signer) -> None:
    """Fill the pledge form through its visible labels, in the page's language."""

    def label(message: str, **params: Any) -> str:
        return translate(app, lang, message, **params)

    form = page.locator("section.sign form")
    form.get_by_label(label("Full name"), exact=True).fill(signer.name)
    form.get_by_label(label("Email address"), exact=True).fill(signer.email)
    if signer.phone:
        form.get_by_label(label("Phone (optional)"), exact=True).fill(signer.phone)
    form.get_by_label(label("Country where you live"), exact=True).select_option(signer.country)
    form.get_by_label(label("City or region"), exact=True).fill(signer.region)
    unit = unit_label(app, lang)
    form.get_by_label(label("How many %(unit)s do you pledge?", unit=unit), exact=True).fill(
        str(signer.amount)
    )
    form.get_by_label(
        label("Show my first name and city on this campaign's public list of signers"), exact=True
    ).check()
    form.get_by_label(label("The union may contact me about this campaign"), exact=True).check()


# --- the confirmation email -----------------------------------------------------

CONFIRM_LINK = re.compile(r"https?://[^\s<>\"]+/confirm/[A-Za-z0-9._-]+")


def read_outbox(app: Flask) -> list[EmailMessage]:
    folder = Path(app.config["MAIL_OUTBOX_DIR"])
    parser = BytesParser(policy=policy.default)
    messages = []
    for path in sorted(folder.glob("*.eml")) if folder.exists() else []:
        with path.open("rb") as fh:
            message = parser.parse(fh)
        assert isinstance(message, EmailMessage)
        messages.append(message)
    return messages


def email_to(app: Flask, address: str) -> list[EmailMessage]:
    return [m for m in read_outbox(app) if address in str(m["To"])]


def confirm_link(message: EmailMessage, server: LiveServer) -> str:
    """The link in the email, on the live server's origin (SITE_URL may differ)."""
    body = message.get_body(("plain",))
    assert body is not None
    content = body.get_content()
    links = CONFIRM_LINK.findall(content)
    assert len(links) == 1, content
    parts = urlsplit(links[0])
    return f"{server.url}{parts.path}"


CONSOLE_PASSWORD = "olive-trees-of-afrin-2026"


def console_admin_page(
    server: LiveServer, contexts: Contexts, lang: str, **options: Any
) -> Page:
    """A new admin of the union, logged in through the login form in a
    browser without JavaScript (``options`` go to the new page)."""
    with server.app.app_context():
        campaign = db.session.execute(select(Campaign).where(Campaign.slug == SLUG)).scalar_one()
        email = f"admin-{uuid.uuid4().hex[:10]}@zaytoun.test"
        user = create_user(email, email[:16], CONSOLE_PASSWORD, Role.admin, campaign.organization)
        secret = give_second_factor(user)
        db.session.commit()
        assert secret is not None
        code = unused_code(user.id, secret)
        db.session.remove()
    page = contexts.new_page(locale=lang, java_script_enabled=False, **options)
    page.goto(server.url + "/console/login")
    page.fill("#email", email)
    page.fill("#password", CONSOLE_PASSWORD)
    page.fill("#code", code)
    page.locator("main form button[type=submit]").click()
    page.wait_for_url(re.compile(r"/console/$"))
    return page
