"""The printed collection sheet: an A4 PDF (WeasyPrint, like the delivery
document) in the sheet's language, right to left where the language is, with
the campaign's text and addressee, a privacy notice, the import template's
columns, the serial and a QR code to the campaign's page with the sheet's
code. The collector is never printed: a sheet lost or seized in the field
names nobody but those who signed it. Each line ends with its receipt, on a
stub at the page's edge that the signer tears off and keeps: the code they
can find their entry in the public ledger with, once the sheet is imported."""

from __future__ import annotations

from dataclasses import dataclass

import segno
from flask import current_app, render_template, url_for
from flask_babel import force_locale

from ..exports.pdf import font_faces, html_pdf
from ..ledger.receipts import sheet_receipt
from ..models import Campaign, PaperSheet
from .rows import SHEET_COLUMNS
from .sheets import SHEET_ROWS, serial


def sheet_url(campaign: Campaign, sheet: PaperSheet) -> str:
    """The campaign's page in the sheet's language, with the sheet's code
    (the page ignores it: visiting it changes nothing)."""
    site = str(current_app.config["SITE_URL"])
    return site + url_for(
        "signing.campaign_page", lang=sheet.language, slug=campaign.slug, sheet=sheet.code
    )


QR_BORDER = 4  # modules of quiet zone around the code, as the standard asks


@dataclass(frozen=True)
class QRCode:
    """A QR code as the sheet's template draws it: an SVG of ``size`` units
    square and one path of its dark modules (digits and letters only)."""

    size: int
    path: str


def qr_code(url: str) -> QRCode:
    """The QR code of ``url`` (segno), for the template to draw."""
    matrix = segno.make(url, error="m").matrix
    path = "".join(
        f"M{x + QR_BORDER} {y + QR_BORDER}h1v1h-1z"
        for y, row in enumerate(matrix)
        for x, dark in enumerate(row)
        if dark
    )
    return QRCode(len(matrix) + 2 * QR_BORDER, path)


def sheets_html(campaign: Campaign, sheets: list[PaperSheet]) -> str:
    """The sheets as one HTML document, one page each, in the first sheet's
    language (a batch has one)."""
    language = sheets[0].language
    with force_locale(language):
        pages = [
            {
                "serial": serial(campaign, sheet.number),
                "qr": qr_code(sheet_url(campaign, sheet)),
                "url": sheet_url(campaign, sheet),
                # Each line's receipt, two groups of four per printed line.
                "receipts": [
                    sheet_receipt(sheet.receipt_seed, line).split("-")
                    for line in range(1, SHEET_ROWS + 1)
                ],
            }
            for sheet in sheets
        ]
        return render_template(
            "sheets/sheet.html",
            campaign=campaign,
            text=campaign.text(language),
            lang=language,
            pages=pages,
            font_faces=font_faces(),
            columns=[c for c in SHEET_COLUMNS if c != "amount" or campaign.is_pledge],
            rows=SHEET_ROWS,
            retention_days=int(current_app.config["RETENTION_DAYS"]),
            privacy_url=str(current_app.config["SITE_URL"])
            + url_for("site.privacy", lang=language),
            ledger_url=str(current_app.config["SITE_URL"])
            + url_for("ledger.ledger_page", lang=language, slug=campaign.slug),
        )


def sheets_pdf(campaign: Campaign, sheets: list[PaperSheet]) -> bytes:
    """The sheets as one PDF, one A4 page each."""
    return html_pdf(sheets_html(campaign, sheets))
