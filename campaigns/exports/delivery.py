"""The delivery document: the petition as handed to its addressee, a PDF made
with WeasyPrint from ``templates/delivery/petition.html``.

It holds the petition's text, the totals, the signers who agreed to have their
full name printed in it (``deliver_name``: name and country), counts by country
for everyone else, and a SHA-256 hash
chain over the named list so that the list can be checked later:

    text   = the Arabic title, a line feed, the Arabic body (NFC, LF line ends, trimmed)
    h0     = SHA-256(UTF-8(slug + LF + text))
    line_i = i + TAB + name + TAB + country code          (i counts from 1)
    h_i    = SHA-256(UTF-8(hex(h_{i-1}) + LF + line_i))   (lowercase hex)

The final value is printed in full; the lines are attached to the PDF as a
UTF-8 text file (one per line) so that anyone can recompute the chain.
"""

from __future__ import annotations

import hashlib
import unicodedata
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from flask import current_app, render_template
from flask_babel import force_locale, gettext

from ..counting.disclosure import K_MIN, Cell, as_rows, publish_beside_names
from ..kernel.countries import country_name
from ..ledger.services import latest_head
from ..models import Campaign, CampaignText, LedgerHead, Signature
from ..models.types import utcnow
from .pdf import font_faces, fonts_only_fetcher, html_pdf
from .signatures import personal_data_of, validated_batches

SHORT = 12  # hex digits of each line's chain value printed beside it
LINES_FILENAME = "signers.txt"
# Printed in the document (it is code, not prose: not translated).
VERIFY_SNIPPET = """import hashlib

def sha(text):
    return hashlib.sha256(text.encode("utf-8")).hexdigest()

h = sha(slug + "\\n" + text)
for line in open("signers.txt", encoding="utf-8").read().splitlines():
    h = sha(h + "\\n" + line)
print(h)  # the final value printed in this document"""


def petition_text(text: CampaignText) -> str:
    """The petition text the chain starts from: title, line feed, body."""
    raw = f"{text.title}\n{text.body}".replace("\r\n", "\n").replace("\r", "\n")
    return unicodedata.normalize("NFC", raw).strip()


def chain_start(slug: str, text: str) -> str:
    return hashlib.sha256(f"{slug}\n{text}".encode()).hexdigest()


def chain_step(previous: str, line: str) -> str:
    return hashlib.sha256(f"{previous}\n{line}".encode()).hexdigest()


def canonical_line(number: int, name: str, country: str) -> str:
    return f"{number}\t{unicodedata.normalize('NFC', name)}\t{country}"


def verify_chain(slug: str, text: str, lines: Iterable[str]) -> str:
    """The final chain value over ``lines``: compare it with the printed one."""
    value = chain_start(slug, text)
    for line in lines:
        value = chain_step(value, line)
    return value


@dataclass(frozen=True)
class NamedSigner:
    number: int
    name: str
    country: str
    line: str
    chain: str

    @property
    def short(self) -> str:
        return self.chain[:SHORT]


@dataclass
class Delivery:
    """Everything the document shows, gathered in one pass over the signatures."""

    campaign: Campaign
    lang: str
    text: CampaignText
    english: CampaignText | None
    generated_at: datetime
    start: str
    named: list[NamedSigner] = field(default_factory=list)
    signers: int = 0
    units: int = 0
    by_country: list[dict[str, Any]] = field(default_factory=list)
    unnamed_by_country: list[dict[str, Any]] = field(default_factory=list)
    # The ledger's latest signed head when the document was made: the count
    # anyone can recompute from the public ledger (ledger/).
    ledger_head: LedgerHead | None = None

    @property
    def targets(self) -> list[tuple[str, str]]:
        """Who the document is addressed to, as (language, text): in Arabic,
        in the document's language and in English (when English is asked
        for), where written."""
        texts = self.campaign.texts
        wanted = ["ar", self.lang, *(["en"] if self.english else [])]
        found: list[tuple[str, str]] = []
        for locale in dict.fromkeys(wanted):
            target = texts[locale].target if locale in texts else None
            if target:
                found.append((locale, target))
        return found

    @property
    def final(self) -> str:
        return self.named[-1].chain if self.named else self.start

    @property
    def unnamed(self) -> int:
        return self.signers - len(self.named)

    def lines_text(self) -> str:
        return "".join(signer.line + "\n" for signer in self.named)


def _published(
    counts: dict[str, list[int]], unnamed: dict[str, list[int]]
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Per country, for everyone and for the unnamed, through the disclosure
    rule (the named list beside them is counted in)."""
    everyone, hidden = publish_beside_names(
        [Cell(country, n, t) for country, (n, t) in counts.items()],
        [Cell(country, n, t) for country, (n, t) in unnamed.items()],
    )
    return as_rows(everyone, "country"), as_rows(hidden, "country")


def collect_delivery(campaign: Campaign, *, lang: str = "ar", english: bool = False) -> Delivery:
    """Read the campaign's validated signatures once, in id order and in
    batches: totals and counts by country for all, names for those who agreed."""
    text = campaign.texts["ar"]
    delivery = Delivery(
        campaign=campaign,
        lang=lang,
        text=text,
        english=campaign.texts.get("en") if english else None,
        generated_at=utcnow(),
        start=chain_start(campaign.slug, petition_text(text)),
        ledger_head=latest_head(campaign.id),
    )
    counts: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    unnamed: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    chain = delivery.start
    for rows in validated_batches(
        campaign.id,
        Signature.country,
        Signature.amount,
        Signature.deliver_name,
        Signature.personal_data,
    ):
        for row in rows:
            units = row.amount if row.amount is not None else 1
            delivery.signers += 1
            delivery.units += units
            counts[row.country][0] += 1
            counts[row.country][1] += units
            # Only a signer who agreed to this document is named in it (never
            # one who only agreed to the public list); erased or unreadable
            # personal data: counted, not named.
            name = personal_data_of(row.personal_data)["name"] if row.deliver_name else ""
            if not name:
                unnamed[row.country][0] += 1
                unnamed[row.country][1] += units
                continue
            number = len(delivery.named) + 1
            line = canonical_line(number, name, row.country)
            chain = chain_step(chain, line)
            delivery.named.append(NamedSigner(number, name, row.country, line, chain))
    delivery.by_country, delivery.unnamed_by_country = _published(counts, unnamed)
    return delivery


def delivery_html(delivery: Delivery) -> str:
    """The document as HTML, its interface in the delivery's language."""

    def country(code: str) -> str:
        if code == "other":
            return gettext("Other countries")
        return country_name(code, delivery.lang)

    with force_locale(delivery.lang):
        return render_template(
            "delivery/petition.html",
            d=delivery,
            font_faces=font_faces(),
            country=country,
            min_bucket=K_MIN,
            short_digits=SHORT,
            snippet=VERIFY_SNIPPET,
            lines_filename=LINES_FILENAME,
            verify_command=(
                f"python3 tools/verify_ledger.py {current_app.config['SITE_URL']} "
                f"{delivery.campaign.slug} --head {delivery.ledger_head.number}"
                if delivery.ledger_head
                else ""
            ),
        )


def delivery_pdf(delivery: Delivery) -> bytes:
    """The PDF (PDF/A-3b, with the named lines attached as ``signers.txt``)."""
    from weasyprint import Attachment

    fetcher = fonts_only_fetcher()
    attachment = Attachment(
        string=delivery.lines_text().encode(),
        name=LINES_FILENAME,
        description="signers named in the hash chain, one canonical line each",
        url_fetcher=fetcher,
        relationship="Data",
    )
    return html_pdf(
        delivery_html(delivery), fetcher, attachments=[attachment], pdf_variant="pdf/a-3b"
    )
