"""Every console page an admin, an organizer and a partner can open, read in
Arabic, is in Arabic: no English word left in the visible text (a string
that skipped gettext, an English default, a raw enum value or code). Latin
script is allowed only for what the people and the data are called: names,
slugs, email addresses, file names, hashes and numbers of the seeded data,
the technical abbreviations below, and text marked as another language
(``lang="…"``, as the language switcher's names are)."""

from __future__ import annotations

import re
import uuid
from html.parser import HTMLParser
from typing import Any

from flask import Flask
from sqlalchemy import select

from campaigns.counting.services import update_signature_counts
from campaigns.extensions import db
from campaigns.kiosk.services import Entry, record_entries
from campaigns.models import (
    AuditEntry,
    CampaignResponse,
    CampaignUpdate,
    Invalidation,
    JobState,
    Kiosk,
    Organization,
    SignatureState,
    SourceCode,
    User,
)
from campaigns.models.types import utcnow
from campaigns.moderation.held import group_label
from campaigns.paper.services import import_paper_signatures
from campaigns.paper.sheets import serial
from campaigns.reach.codes import ensure_partner_codes
from tests.console.pages_support import console_pages
from tests.media.support import give_image
from tests.moderation.support import Console, logged_in, make_console, signature, trending_flag
from tests.outcomes.support import make_pdf
from tests.paper.sheets_support import issue_sheet

# Names of formats, protocols and programs, written so in Arabic too.
ABBREVIATIONS = {"CSV", "UTF", "PDF", "UTC", "MB", "TOTP", "IP", "JPEG", "PNG", "WebP", "beat"}
ABBREVIATIONS |= {"QR"}  # the code on a printed sheet
# Names of networks and their notation: Tor, CIDR ranges, IPv4 and IPv6, and
# the documentation prefix 2001:db8:: in an example.
ABBREVIATIONS |= {"Tor", "CIDR", "IPv", "db"}
# A setting an admin sets by its name (``TWO_PERSON_DISCLOSURE``): a code.
SETTING = re.compile(r"\b[A-Z][A-Z0-9]*(?:_[A-Z0-9]+)+\b")
# What a page documents that people type in Latin letters whatever their
# language: the paper template's values (yes, no, country codes such as
# SY), a campaign's URL name (slug) and unit codes.
TYPED: dict[str, set[str]] = {
    "paper-index": {"yes", "no", "SY", "TR", "DE"},
    "campaigns-create": {"slug", "signatures", "units"},
    "campaigns-edit": {"slug", "signatures", "units"},
}
LETTER = "A-Za-z\u00c0-\u00d6\u00d8-\u00f6\u00f8-\u024f"  # Latin letters, not × or ÷
LATIN_WORD = re.compile(rf"[{LETTER}][{LETTER}'’.-]*")
URL = re.compile(r"https?://\S+")
# Not read as text on the page, or codes by their nature (column names, keys).
HIDDEN = {"script", "style", "template", "noscript", "svg", "textarea", "code"}
VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source",
        "track", "wbr"}  # fmt: skip
IP_HASH = "9f86d081884c7d659a2feaa0c55ad015"
NAMES = ("Leyla Ahmed", "Hanna Schmidt", "Mehmet Yılmaz")


class VisibleText(HTMLParser):
    """The text a reader sees: no tags, attributes, scripts or styles, and
    nothing inside an element marked as another language than Arabic."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.stack: list[tuple[str, bool]] = []
        self.parts: list[str] = []

    def _skipping(self) -> bool:
        return any(skip for _, skip in self.stack)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in VOID:
            return
        lang = dict(attrs).get("lang")
        other_language = lang is not None and not (lang or "").startswith("ar")
        self.stack.append((tag, tag in HIDDEN or other_language))

    def handle_endtag(self, tag: str) -> None:
        for i in range(len(self.stack) - 1, -1, -1):
            if self.stack[i][0] == tag:
                del self.stack[i:]
                return

    def handle_data(self, data: str) -> None:
        if not self._skipping():
            self.parts.append(data)


def visible_text(html: str) -> str:
    parser = VisibleText()
    parser.feed(html)
    return " ".join(" ".join(parser.parts).split())


def latin_words(text: str) -> set[str]:
    """The words in Latin script, web addresses left out (they are data)."""
    text = SETTING.sub(" ", URL.sub(" ", text))
    return {word.strip("'’.-") for word in LATIN_WORD.findall(text)} - {""}


def _seed(console: Console) -> dict[str, Any]:
    """Something on every page: an update (with an English text), a paper
    import with rejected rows, a finished and a running invalidation, held
    and flagged signatures with Latin names and addresses, a burst, an audit
    entry with conditions, a campaign image."""
    campaign = console.campaign
    update = CampaignUpdate(
        campaign_id=campaign.id,
        texts={
            "ar": {"subject": "زرعنا أول مئة شجرة", "body": "شكراً لكم جميعاً."},
            "en": {"subject": "We planted the first trees", "body": "Thank you all."},
        },
    )
    rows = (
        "full_name,email,country,region,amount,show_name,deliver_name\n"
        "Leyla Ahmed,leyla@example.org,SY,حلب,3,yes,no\n"
        "Omar Said,,TR,Gaziantep,2,no,yes\n"
        "No Country,,,Berlin,1,no,no\n"
        "Bad Amount,,SY,حلب,lots,no,no\n"
    ).encode()
    paper = import_paper_signatures(campaign, rows, "paper-aleppo.csv", user_id=console.admin.id)
    running = Invalidation(
        campaign_id=campaign.id,
        conditions={"ip_hash": IP_HASH, "country": "SY"},
        reason="هجوم من عنوان واحد",
        state=JobState.running,
        created_by=console.admin.id,
        started_at=utcnow(),
    )
    done = Invalidation(
        campaign_id=None,
        conditions={"country": "TR"},
        reason="هجوم",
        state=JobState.completed,
        matched=12,
        invalidated=12,
    )
    db.session.add_all([update, running, done])
    db.session.add(
        AuditEntry(
            user_id=console.admin.id,
            action="invalidation_created",
            target_type="campaign",
            target_id=str(campaign.id),
            details={"conditions": {"ip_hash": IP_HASH, "country": "SY"}, "reason": "هجوم"},
        )
    )
    db.session.commit()
    held = signature(
        campaign,
        state=SignatureState.fraudulent,
        fraud_reason="rate_burst",
        name=NAMES[1],
        email="hanna@example.org",
        country="DE",
    )
    signature(
        campaign,
        state=SignatureState.pending,
        flag_reason="trending_domain",
        name=NAMES[2],
        email="mehmet@example.org",
        country="TR",
    )
    trending_flag(campaign, "domain", IP_HASH)
    give_image(campaign)
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
        texts={"ar": {"by": "البعثة", "text": "تلقينا العريضة"}},
        pdf=make_pdf(),
        pdf_size=len(make_pdf()),
    )
    # A stand the admin signs people at (its kiosk page is theirs alone).
    kiosk = Kiosk(campaign_id=campaign.id, collector_id=console.admin.id, stand="سوق أعزاز، الجمعة")
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
    # The partner's code and the union's own channel, with signers through
    # the partner's (its home shows its figures from five on).
    (partner_code,) = ensure_partner_codes(campaign)
    db.session.add(
        SourceCode(
            campaign_id=campaign.id,
            organization_id=campaign.organization_id,
            code="unionChan01",
            label="تلغرام",
        )
    )
    db.session.commit()
    for n in range(6):
        signature(
            campaign,
            state=SignatureState.validated,
            email=f"reach{n}@example.org",
            source_code_id=partner_code.id,
        )
    update_signature_counts()
    db.session.commit()
    # Printed sheets issued to a collector (their list, and the PDFs: walked, not read).
    sheet = issue_sheet(campaign, count=2, name="نور حسن")[0]
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
        "user_id": console.partner.id,
        "kiosk_uuid": kiosk.uuid,
        "collector_id": kiosk.collector_id,
        "variant": campaign.images[0].name,
    }


def _allowed(console: Console, objects: dict[str, Any]) -> set[str]:
    """The Latin words the seeded data itself holds: what people, places,
    organizations, campaigns and files are called."""
    texts: list[str] = [*NAMES, "paper-aleppo.csv", IP_HASH, objects["variant"], "Omar Said"]
    texts += ["Rojda Hesen", "rojda@example.org", objects["group"]]
    for user in db.session.query(User).all():
        texts += [user.name, user.email]
    for organization in db.session.query(Organization).all():
        # Its Arabic name only: an English name on an Arabic page is a fault.
        texts += [organization.slug, (organization.names or {}).get("ar", "")]
    for campaign in (console.campaign, console.other_campaign):
        texts += [campaign.slug, campaign.unit or ""]
    # Source codes are random data, like a hash.
    texts += list(db.session.execute(select(SourceCode.code)).scalars())
    # A sheet's serial is printed on the paper in Latin letters, whatever its language.
    texts += [serial(console.campaign, 1)]
    texts += ["leyla@example.org", "hanna@example.org", "mehmet@example.org", "example.org"]
    allowed = set(ABBREVIATIONS)
    for text in texts:
        allowed |= latin_words(text)
        allowed |= {part for word in latin_words(text) for part in re.split(r"[.@-]", word)}
    return allowed


def test_every_console_page_in_arabic_has_no_english_words(app: Flask) -> None:
    console = make_console()
    objects = _seed(console)
    allowed = _allowed(console, objects)
    # The neutral sender name of sensitive campaigns' emails, as configured.
    allowed |= latin_words(app.config["MAIL_NEUTRAL_SENDER_NAME"])
    found: dict[str, set[str]] = {}
    read = 0
    for role in ("admin", "organizer", "partner"):
        client = logged_in(app, getattr(console, role), console)
        client.set_cookie("lang", "ar")
        for name, path in console_pages(app, objects, f"_seed in {__file__}"):
            response = client.get(path)
            if response.status_code in (302, 303, 403, 404):
                continue
            if not response.content_type.startswith("text/html"):
                continue
            assert response.status_code == 200, (role, name, response.status_code)
            html = response.get_data(as_text=True)
            assert '<html lang="ar"' in html, (role, name)
            read += 1
            words = latin_words(visible_text(html)) - allowed - TYPED.get(name, set())
            if words:
                text = visible_text(html)
                found[f"{role} {name}"] = {
                    f"{w} «{text[max(0, text.find(w) - 40) : text.find(w) + 40]}»" for w in words
                }
    assert read >= 20, f"only {read} console pages were read"
    assert not found, "English words on Arabic console pages:\n" + "\n".join(
        f"  {page}: {sorted(words)}" for page, words in sorted(found.items())
    )
