"""The printed collection sheet: an A4 PDF (WeasyPrint, like the delivery
document) in the sheet's language, right to left where the language is, with
the campaign's text and addressee, a privacy notice, the import template's
columns, the serial and a QR code to the campaign's page with the sheet's
code. The collector is never printed: a sheet lost or seized in the field
names nobody but those who signed it."""

from __future__ import annotations

import io

import segno
from flask import current_app, render_template, url_for
from flask_babel import force_locale
from markupsafe import Markup

from ..exports.pdf import font_face_css, html_pdf
from ..models import Campaign, PaperSheet
from .rows import SHEET_COLUMNS
from .sheets import serial

# Rows to fill in on one sheet (one A4 page, landscape).
SHEET_ROWS = 12


def sheet_url(campaign: Campaign, sheet: PaperSheet) -> str:
    """The campaign's page in the sheet's language, with the sheet's code
    (the page ignores it: visiting it changes nothing)."""
    site = str(current_app.config["SITE_URL"])
    return site + url_for(
        "signing.campaign_page", lang=sheet.language, slug=campaign.slug, sheet=sheet.code
    )


def qr_svg(url: str) -> Markup:
    """The QR code of ``url`` as inline SVG, sized by the sheet's CSS."""
    out = io.BytesIO()
    segno.make(url, error="m").save(
        out, kind="svg", xmldecl=False, svgns=True, omitsize=True, nl=False, border=4
    )
    return Markup(out.getvalue().decode())  # noqa: S704 -- segno's own markup, no input text


def sheets_html(campaign: Campaign, sheets: list[PaperSheet]) -> str:
    """The sheets as one HTML document, one page each, in the first sheet's
    language (a batch has one)."""
    language = sheets[0].language
    with force_locale(language):
        pages = [
            {
                "serial": serial(campaign, sheet.number),
                "qr": qr_svg(sheet_url(campaign, sheet)),
                "url": sheet_url(campaign, sheet),
            }
            for sheet in sheets
        ]
        return render_template(
            "sheets/sheet.html",
            campaign=campaign,
            text=campaign.text(language),
            lang=language,
            pages=pages,
            font_css=font_face_css(),
            columns=[c for c in SHEET_COLUMNS if c != "amount" or campaign.is_pledge],
            rows=SHEET_ROWS,
            retention_days=int(current_app.config["RETENTION_DAYS"]),
            privacy_url=str(current_app.config["SITE_URL"])
            + url_for("site.privacy", lang=language),
        )


def sheets_pdf(campaign: Campaign, sheets: list[PaperSheet]) -> bytes:
    """The sheets as one PDF, one A4 page each."""
    return html_pdf(sheets_html(campaign, sheets))
