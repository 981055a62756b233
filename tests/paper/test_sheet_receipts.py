"""The receipt printed on each line of a collection sheet: the same on every
print of the sheet, never stored, and, once a line without an email is
imported with its sheet and line number, the receipt its signer finds their
entry in the public ledger with. Bad line numbers are refused row by row."""

from __future__ import annotations

import io
import unicodedata

import pypdfium2
import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select, text

from campaigns.counting.services import update_signature_counts
from campaigns.extensions import db
from campaigns.ledger.receipts import is_well_formed, receipt_hash, sheet_receipt
from campaigns.ledger.services import publish_ledger, receipt_inclusions
from campaigns.models import Role, Signature
from campaigns.paper.sheets import SHEET_ROWS
from tests.factories import create_campaign

from .sheets_support import issue_sheet
from .support import csv_bytes, logged_in, read_csv

HEADER = ["full_name", "email", "phone", "country", "region", "amount", "show_name",
          "deliver_name", "contact_ok", "sheet", "line"]  # fmt: skip


def _plain(found: str) -> str:
    return "".join(unicodedata.normalize("NFKC", found).split())


def _printed(client: FlaskClient, slug: str, number: int) -> str:
    response = client.get(f"/console/campaigns/{slug}/sheets/{number}.pdf")
    assert response.status_code == 200
    document = pypdfium2.PdfDocument(response.data)
    try:
        assert len(document) == 1, "the receipts fit on the sheet's one page"
        return _plain(document[0].get_textpage().get_text_range())
    finally:
        document.close()


def _import(client: FlaskClient, slug: str, rows: list[list[str]]) -> list[list[str]]:
    response = client.post(
        f"/console/campaigns/{slug}/paper",
        data={"file": (io.BytesIO(csv_bytes([HEADER, *rows])), "sheets.csv")},
        content_type="multipart/form-data",
    )
    assert response.status_code == 303
    report = client.get(
        response.headers["Location"] + "/report.csv", headers={"Accept-Language": "en"}
    )
    return read_csv(report.data)[1:]


@pytest.mark.parametrize("lang", ["ar", "ku", "tr", "en"])
def test_every_print_of_a_sheet_carries_the_same_receipt_on_each_line(
    app: Flask, client: FlaskClient, lang: str
) -> None:
    campaign = create_campaign("olive-trees-afrin")
    first, second = issue_sheet(campaign, count=2, language=lang)
    logged_in(client, Role.organizer, campaign)

    codes = [sheet_receipt(first.receipt_seed, line) for line in range(1, SHEET_ROWS + 1)]
    printed = _printed(client, campaign.slug, first.number)

    assert len(set(codes)) == SHEET_ROWS and all(is_well_formed(code) for code in codes)
    for code in codes:  # printed in two halves, one under the other
        groups = code.split("-")
        assert "-".join(groups[:4]) in printed and "-".join(groups[4:]) in printed
    assert _printed(client, campaign.slug, first.number) == printed
    other = _printed(client, campaign.slug, second.number)
    assert not any(code.split("-")[0] + "-" + code.split("-")[1] in other for code in codes)
    # The page says where a receipt is checked: the campaign's ledger page
    # (its address read back in pieces in a right-to-left page).
    assert "afrin" in printed and "ledger" in printed


def test_no_receipt_code_is_stored(app: Flask, client: FlaskClient) -> None:
    campaign = create_campaign("olive-trees-afrin")
    sheet = issue_sheet(campaign)[0]
    codes = [sheet_receipt(sheet.receipt_seed, line) for line in range(1, SHEET_ROWS + 1)]
    logged_in(client, Role.organizer, campaign)
    _import(client, campaign.slug, [["Hasan", "", "", "SY", "Azaz", "", "no", "no", "no",
                                     "OLI-0001", "1"]])  # fmt: skip

    stored = []
    for table in db.metadata.sorted_tables:
        for row in db.session.execute(select(table)):
            stored.extend(str(value) for value in row)
    dump = "\n".join(stored).upper()
    for code in codes:
        assert code not in dump and code.replace("-", "") not in dump


def test_a_line_without_an_email_is_in_the_ledger_under_its_printed_receipt(
    app: Flask, client: FlaskClient
) -> None:
    campaign = create_campaign("olive-trees-afrin")
    sheet = issue_sheet(campaign)[0]
    logged_in(client, Role.organizer, campaign)

    report = _import(
        client,
        campaign.slug,
        [
            ["سعاد الحلبية", "", "", "SY", "حلب", "", "نعم", "لا", "لا", "OLI-0001", "٣"],
            ["Yusuf Demir", "", "", "TR", "Gaziantep", "", "no", "no", "no", "OLI-0001", ""],
            ["Rojda", "rojda@example.org", "", "SY", "Qamişlo", "", "no", "no", "no",
             "OLI-0001", "5"],
        ],
    )  # fmt: skip
    assert [row[1] for row in report] == [
        "Accepted",
        "Accepted",
        "Accepted, waiting for the person's confirmation by email",
    ]
    update_signature_counts()
    publish_ledger()
    db.session.commit()

    line_three = sheet_receipt(sheet.receipt_seed, 3)
    found = receipt_inclusions(campaign.id, receipt_hash(line_three))
    assert [item.entry.change.value for item in found] == ["counted"]
    # The line with no receipt named, and the line with an email (its owner
    # is shown a receipt on confirming), are under no printed receipt.
    printed = {receipt_hash(sheet_receipt(sheet.receipt_seed, n)) for n in range(1, 13)}
    hashes = db.session.execute(
        select(Signature.receipt_hash).where(Signature.campaign_id == campaign.id)
    ).scalars()
    assert sum(1 for value in hashes if value in printed) == 1

    # The signer types the code from their stub on the public page.
    page = client.post(
        f"/en/campaigns/{campaign.slug}/ledger/receipt",
        data={"receipt": line_three.lower().replace("-", " ")},
    )
    assert page.status_code == 200
    assert "Your receipt is in the ledger" in page.get_data(as_text=True)


def test_bad_line_numbers_are_refused_row_by_row_and_store_nothing(
    app: Flask, client: FlaskClient
) -> None:
    campaign = create_campaign("olive-trees-afrin")
    issue_sheet(campaign)
    logged_in(client, Role.organizer, campaign)
    before = db.session.execute(text("SELECT count(*) FROM signatures")).scalar_one()

    report = _import(
        client,
        campaign.slug,
        [
            ["Azad", "", "", "SY", "Kobanî", "", "no", "no", "no", "OLI-0001", "13"],
            ["Lina", "", "", "SY", "Azaz", "", "no", "no", "no", "OLI-0001", "two"],
            ["Omar", "", "", "SY", "Idlib", "", "no", "no", "no", "", "4"],
            ["Nour", "", "", "SY", "Afrin", "", "no", "no", "no", "OLI-0001", "6"],
            ["Hevi", "", "", "SY", "Afrin", "", "no", "no", "no", "oli 1", "06"],
            ["Ali", "", "", "SY", "Afrin", "", "no", "no", "no", "OLI-0099", "6"],
            ["Sara", "", "", "SY", "Afrin", "", "no", "no", "no", "OLI-0001", "-1"],
            ["Mona", "", "", "SY", "Afrin", "", "no", "no", "no", "OLI-0001", "9" * 5000],
        ],
    )

    assert report == [
        ["2", "Rejected", "The line is not a line of a sheet: type its number as printed, "
                          "1 to 12."],
        ["3", "Rejected", "The line is not a line of a sheet: type its number as printed, "
                          "1 to 12."],
        ["4", "Rejected", "A line number needs the sheet's serial beside it."],
        ["5", "Accepted", ""],
        ["6", "Rejected", "The same line of the same sheet is on row 5 too."],
        ["7", "Rejected", "The sheet is not one of this campaign's sheets: type its serial as "
                          "printed, such as OLI-0001."],
        ["8", "Rejected", "The line is not a line of a sheet: type its number as printed, "
                          "1 to 12."],
        ["9", "Rejected", "The line is not a line of a sheet: type its number as printed, "
                          "1 to 12."],
    ]  # fmt: skip
    after = db.session.execute(text("SELECT count(*) FROM signatures")).scalar_one()
    assert after == before + 1


def test_the_reasons_are_translated(app: Flask, client: FlaskClient) -> None:
    campaign = create_campaign("olive-trees-afrin")
    issue_sheet(campaign)
    logged_in(client, Role.organizer, campaign)
    response = client.post(
        f"/console/campaigns/{campaign.slug}/paper",
        data={
            "file": (
                io.BytesIO(
                    csv_bytes(
                        [HEADER, ["Azad", "", "", "SY", "Kobanî", "", "no", "no", "no", "", "4"]]
                    )
                ),
                "sheets.csv",
            )
        },
        content_type="multipart/form-data",
    )
    location = response.headers["Location"]
    english = "A line number needs the sheet's serial beside it."
    for lang in ("ar", "ku", "tr"):
        report = read_csv(
            client.get(location + "/report.csv", headers={"Accept-Language": lang}).data
        )
        assert report[1][2] and report[1][2] != english, lang
