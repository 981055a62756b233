"""Printed collection sheets: the registry, the PDF (its QR code read back by
a real decoder from the rendered page), the import that counts rows per
sheet, and who sees the collector."""

from __future__ import annotations

import io
import unicodedata
from pathlib import Path

import pypdfium2
import pytest
import zxingcpp
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from campaigns.extensions import db
from campaigns.models import CampaignKind, PaperSheet, Role, SheetState
from campaigns.paper.sheets import parse_serial, read_collector, serial
from campaigns.retention.services import erase_campaign
from tests.factories import create_campaign

from .sheets_support import COLLECTOR_NAME, COLLECTOR_PHONE, issue_sheet
from .support import audit_entries, csv_bytes, logged_in, read_csv, stranger

ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"
HEADER = ["full_name", "email", "phone", "country", "region", "amount", "show_name",
          "deliver_name", "contact_ok", "sheet"]  # fmt: skip


def _fresh(sheet_id: int) -> PaperSheet:
    db.session.rollback()
    db.session.expire_all()
    return db.session.get(PaperSheet, sheet_id)


def _pdf_pages(pdf: bytes) -> pypdfium2.PdfDocument:
    assert pdf.startswith(b"%PDF-")
    return pypdfium2.PdfDocument(pdf)


def _decoded_qr(page: pypdfium2.PdfPage) -> list[str]:
    """Every QR code a real decoder (zxing-cpp) reads on the page rendered at 200 dpi."""
    image = page.render(scale=200 / 72).to_pil().convert("L")
    return [
        found.text for found in zxingcpp.read_barcodes(image, formats=zxingcpp.BarcodeFormat.QRCode)
    ]


def _unisolated(text: str) -> str:
    """A page's text without the isolates around serials in messages."""
    return text.replace("\u2066", "").replace("\u2069", "")


def _plain(text: str) -> str:
    """Text compared without its shaping: presentation forms folded, no spaces."""
    return "".join(unicodedata.normalize("NFKC", text).split())


def test_sheets_are_numbered_per_campaign_with_unguessable_codes_and_a_sealed_collector(
    app: Flask,
) -> None:
    campaign = create_campaign("olive-trees-afrin")
    other = create_campaign("no-russia-on-hrc")
    first = issue_sheet(campaign, count=3)
    second = issue_sheet(campaign, count=2, language="en", name="Rojda", phone=None)
    elsewhere = issue_sheet(other)

    assert [s.number for s in first + second] == [1, 2, 3, 4, 5]
    assert {s.batch for s in first} == {1} and {s.batch for s in second} == {2}
    assert elsewhere[0].number == 1 and elsewhere[0].batch == 1
    assert serial(campaign, 4) == "OLI-0004" and serial(other, 1) == "NOR-0001"
    codes = {s.code for s in first + second + elsewhere}
    assert len(codes) == 6 and all(len(code) >= 20 for code in codes)
    for sheet in first:
        assert sheet.state is SheetState.issued
        assert COLLECTOR_NAME.encode() not in sheet.collector_data
        assert COLLECTOR_PHONE.encode() not in sheet.collector_data
        assert read_collector(sheet) == {"name": COLLECTOR_NAME, "phone": COLLECTOR_PHONE}
    assert read_collector(second[0]) == {"name": "Rojda", "phone": None}


@pytest.mark.parametrize(
    ("typed", "number"),
    [("OLI-0042", 42), ("oli 42", 42), ("42", 42), ("٤٢", 42), ("OLI0042", 42),
     ("NOR-0042", None), ("0", None), ("OLI-", None), ("x42", None), ("", None)],
)  # fmt: skip
def test_a_typed_serial_names_a_sheet_of_this_campaign_only(
    app: Flask, typed: str, number: int | None
) -> None:
    campaign = create_campaign("olive-trees-afrin")
    assert parse_serial(campaign, typed) == number


@pytest.mark.parametrize("lang", ["ar", "en"])
def test_a_printed_sheets_qr_code_decodes_to_the_campaign_page_with_its_code(
    app: Flask, client: FlaskClient, lang: str
) -> None:
    campaign = create_campaign("olive-trees-afrin", kind=CampaignKind.pledge)
    campaign.texts["ar"].title = "نحن أشجار الزيتون"
    campaign.texts["ar"].target = "الأمين العام للأمم المتحدة"
    campaign.texts["en"].title = "We are the olive trees"
    campaign.texts["en"].target = "The UN Secretary-General"
    db.session.commit()
    sheet = issue_sheet(campaign, language=lang)[0]
    logged_in(client, Role.organizer, campaign)

    response = client.get(f"/console/campaigns/{campaign.slug}/sheets/{sheet.number}.pdf")

    assert response.status_code == 200
    assert response.mimetype == "application/pdf"
    assert response.headers["Cache-Control"] == "no-store"
    assert 'filename="OLI-0001.pdf"' in response.headers["Content-Disposition"]
    document = _pdf_pages(response.data)
    assert len(document) == 1, "one A4 page per sheet"
    page = document[0]
    width, height = page.get_size()
    assert sorted((round(width), round(height))) == [595, 842], "A4"
    expected = f"http://zaytoun.test/{lang}/campaigns/olive-trees-afrin?sheet={sheet.code}"
    assert _decoded_qr(page) == [expected]
    text = _plain(page.get_textpage().get_text_range())
    title = campaign.texts[lang].title
    assert _plain(title) in text or _plain(title)[::-1] in text
    assert "OLI-0001" in text
    if lang == "ar":
        # The Arabic interface words, shaped and read back (a header with no
        # lam-alef ligature, which text extraction writes back letter-swapped).
        assert _plain("المدينة أو المنطقة") in text
    ARTIFACTS.mkdir(exist_ok=True)
    page.render(scale=1.5).to_pil().save(ARTIFACTS / f"sheet-{lang}.png")


def test_a_batch_downloads_as_one_pdf_of_one_page_per_sheet_each_with_its_own_code(
    app: Flask, client: FlaskClient
) -> None:
    campaign = create_campaign("olive-trees-afrin")
    sheets = issue_sheet(campaign, count=3, language="en")
    logged_in(client, Role.organizer, campaign)

    response = client.get(f"/console/campaigns/{campaign.slug}/sheets/batches/1.pdf")

    document = _pdf_pages(response.data)
    assert len(document) == 3
    decoded = [_decoded_qr(document[i]) for i in range(3)]
    assert [codes[0].rsplit("=", 1)[1] for codes in decoded] == [s.code for s in sheets]
    assert client.get(f"/console/campaigns/{campaign.slug}/sheets/batches/9.pdf").status_code == 404
    assert client.get(f"/console/campaigns/{campaign.slug}/sheets/9.pdf").status_code == 404


def test_the_sheet_code_in_the_link_changes_nothing_on_the_campaign_page(
    app: Flask, client: FlaskClient
) -> None:
    campaign = create_campaign("olive-trees-afrin")
    sheet = issue_sheet(campaign)[0]
    plain = client.get(f"/ar/campaigns/{campaign.slug}")
    with_code = client.get(f"/ar/campaigns/{campaign.slug}?sheet={sheet.code}")
    unknown = client.get(f"/ar/campaigns/{campaign.slug}?sheet=%00%27<x>")
    assert plain.status_code == with_code.status_code == unknown.status_code == 200
    assert sheet.code not in with_code.get_data(as_text=True)
    assert _fresh(sheet.id).state is SheetState.issued


def _issue_form(**fields: str) -> dict[str, str]:
    return {"count": "3", "language": "ar", "collector_name": "Nour Hassan",
            "collector_phone": "0944 123 456"} | fields  # fmt: skip


def test_issuing_from_the_console_seals_the_collector_and_audits_no_name(
    app: Flask, client: FlaskClient
) -> None:
    campaign = create_campaign("olive-trees-afrin")
    logged_in(client, Role.organizer, campaign)

    response = client.post(
        f"/console/campaigns/{campaign.slug}/sheets",
        data=_issue_form(),
        headers={"Accept-Language": "en"},
    )

    assert response.status_code == 303
    page = client.get(response.headers["Location"], headers={"Accept-Language": "en"})
    body = _unisolated(page.get_data(as_text=True))
    assert "Sheets issued: OLI-0001 to OLI-0003." in body
    assert "Nour Hassan" not in body and "+963944123456" not in body
    sheets = db.session.execute(select(PaperSheet).order_by(PaperSheet.number)).scalars().all()
    assert [s.number for s in sheets] == [1, 2, 3]
    assert read_collector(sheets[0]) == {"name": "Nour Hassan", "phone": "+963944123456"}
    (entry,) = audit_entries("sheets_issued")
    assert entry.details == {"count": 3, "batch": 1, "first": 1, "last": 3}
    assert "Nour" not in str(entry.details)


@pytest.mark.parametrize(
    "fields",
    [{"count": "0"}, {"count": "51"}, {"count": "three"}, {"collector_name": " "},
     {"collector_name": "x" * 101}, {"collector_phone": "12"}, {"language": "fr"},
     {"collector_phone": "0944\x00123"}],
)  # fmt: skip
def test_a_bad_issue_form_is_a_translated_error_and_issues_nothing(
    app: Flask, client: FlaskClient, fields: dict[str, str]
) -> None:
    campaign = create_campaign("olive-trees-afrin")
    logged_in(client, Role.organizer, campaign)
    response = client.post(
        f"/console/campaigns/{campaign.slug}/sheets",
        data=_issue_form(**fields),
        headers={"Accept-Language": "ar"},
    )
    assert response.status_code == 422
    assert "error-summary" in response.get_data(as_text=True)
    assert db.session.execute(select(PaperSheet)).first() is None


def test_a_sheet_is_marked_returned_once(app: Flask, client: FlaskClient) -> None:
    campaign = create_campaign("olive-trees-afrin")
    sheet = issue_sheet(campaign)[0]
    logged_in(client, Role.organizer, campaign)
    url = f"/console/campaigns/{campaign.slug}/sheets/1/returned"

    english = {"Accept-Language": "en"}
    first = client.post(url, headers=english)
    page = client.get(first.headers["Location"], headers={"Accept-Language": "en"})
    assert "The sheet OLI-0001 is marked as returned." in _unisolated(page.get_data(as_text=True))
    returned_at = _fresh(sheet.id).returned_at
    assert _fresh(sheet.id).state is SheetState.returned and returned_at is not None

    second = client.post(url, headers=english)
    page = client.get(second.headers["Location"], headers={"Accept-Language": "en"})
    assert "The sheet OLI-0001 was already back." in _unisolated(page.get_data(as_text=True))
    assert _fresh(sheet.id).returned_at == returned_at
    assert len(audit_entries("sheet_returned")) == 1
    assert client.post(f"/console/campaigns/{campaign.slug}/sheets/7/returned").status_code == 404


def test_an_import_assigns_rows_to_their_sheets_and_reconciles_them(
    app: Flask, client: FlaskClient
) -> None:
    campaign = create_campaign("olive-trees-afrin")
    one, two, _unused = issue_sheet(campaign, count=3)
    logged_in(client, Role.organizer, campaign)
    rows = [
        HEADER,
        ["سعاد الحلبية", "", "", "SY", "حلب", "", "نعم", "لا", "لا", "OLI-0001"],
        ["Yusuf Demir", "", "", "TR", "Gaziantep", "", "no", "no", "no", "oli 1"],
        ["", "", "", "SY", "حلب", "", "no", "no", "no", "OLI-0001"],  # no name
        ["Rojda Xelîl", "", "", "SY", "Qamişlo", "", "no", "no", "no", "٢"],
        ["Rojda Xelîl", "", "", "SY", "Qamişlo", "", "no", "no", "no", "OLI-0002"],  # again
        ["Azad Osman", "", "", "SY", "Kobanî", "", "no", "no", "no", "OLI-0099"],  # unknown
        ["Lina Haddad", "", "", "SY", "Azaz", "", "no", "no", "no", ""],  # no sheet
    ]
    response = client.post(
        f"/console/campaigns/{campaign.slug}/paper",
        data={"file": (io.BytesIO(csv_bytes(rows)), "sheets.csv")},
        content_type="multipart/form-data",
    )
    assert response.status_code == 303
    location = response.headers["Location"]

    report = read_csv(client.get(location + "/report.csv", headers={"Accept-Language": "en"}).data)
    assert report[1:] == [
        ["2", "Accepted", ""],
        ["3", "Accepted", ""],
        ["4", "Rejected", "The name is missing."],
        ["5", "Accepted", ""],
        ["6", "Duplicate", "The same person as row 5."],
        ["7", "Rejected", "The sheet is not one of this campaign's sheets: type its serial as "
                          "printed, such as OLI-0001."],
        ["8", "Accepted", ""],
    ]  # fmt: skip
    first, second, third = (_fresh(s.id) for s in (one, two, _unused))
    assert (first.state, first.rows_accepted, first.rows_duplicate, first.rows_rejected) == (
        SheetState.imported,
        2,
        0,
        1,
    )
    assert (second.state, second.rows_accepted, second.rows_duplicate, second.rows_rejected) == (
        SheetState.imported,
        1,
        1,
        0,
    )
    assert first.imported_at is not None and first.returned_at is not None
    assert third.state is SheetState.issued and third.rows_accepted == 0

    page = client.get(location, headers={"Accept-Language": "en"}).get_data(as_text=True)
    by_sheet = page.split("data-by-sheet", 1)[1].split("</table>", 1)[0]
    assert [cells for cells in _rows(by_sheet)] == [["OLI-0001", "2", "0", "1"],
                                                     ["OLI-0002", "1", "1", "0"]]  # fmt: skip
    listing = client.get(f"/console/campaigns/{campaign.slug}/sheets").get_data(as_text=True)
    assert "data-outstanding>1<" in listing and "data-imported>2<" in listing
    assert "data-returned>0<" in listing


def _rows(html: str) -> list[list[str]]:
    import re

    found = []
    for row in re.findall(r"<tr>(.*?)</tr>", html, re.S):
        cells = re.findall(r"<td>(.*?)</td>", row, re.S)
        if cells:
            found.append([re.sub(r"<[^>]+>", "", c).strip() for c in cells])
    return found


def test_the_collectors_data_is_erased_with_the_signers(app: Flask) -> None:
    campaign = create_campaign("olive-trees-afrin")
    sheet = issue_sheet(campaign)[0]
    erase_campaign(campaign, force=True)
    erased = _fresh(sheet.id)
    assert erased.collector_data is None and read_collector(erased) is None
    assert erased.number == 1 and erased.state is SheetState.issued


def test_showing_the_collector_is_audited_without_the_name(app: Flask, client: FlaskClient) -> None:
    campaign = create_campaign("olive-trees-afrin")
    issue_sheet(campaign)
    logged_in(client, Role.organizer, campaign)

    shown = client.post(f"/console/campaigns/{campaign.slug}/sheets/1/collector")

    assert shown.status_code == 200
    assert COLLECTOR_NAME in shown.get_data(as_text=True)
    assert shown.headers["Cache-Control"] == "no-store"
    (entry,) = audit_entries("sheet_collector_viewed")
    assert entry.details == {"sheet": 1}
    assert client.get(f"/console/campaigns/{campaign.slug}/sheets/1/collector").status_code == 405


def test_a_stranger_organizer_learns_nothing_of_anothers_sheets(
    app: Flask, client: FlaskClient
) -> None:
    campaign = create_campaign("olive-trees-afrin")
    issue_sheet(campaign)
    stranger(client, Role.organizer)
    for response in (
        client.get(f"/console/campaigns/{campaign.slug}/sheets"),
        client.get(f"/console/campaigns/{campaign.slug}/sheets/1.pdf"),
        client.post(f"/console/campaigns/{campaign.slug}/sheets/1/collector"),
        client.post(f"/console/campaigns/{campaign.slug}/sheets", data=_issue_form()),
    ):
        assert response.status_code == 404
    assert audit_entries("sheet_collector_viewed") == []
