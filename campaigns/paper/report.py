"""What an import's outcomes and reasons say, in the reader's language, and
the two CSV files organizers download: the template and an import's report."""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from typing import Any

from flask_babel import gettext
from flask_babel import lazy_gettext as _l

from ..exports.spreadsheet import BOM, Cell, csv_text
from ..models import Campaign, PaperImport
from ..signing.limits import MAX_NAME, MAX_REGION
from .rows import COLUMNS, EXAMPLE_EMAIL
from .sheets import SHEET_ROWS

REASONS = {
    "extra_cells": _l(
        "The row has more cells than there are columns (a comma inside a cell needs quotes)."
    ),
    "name_missing": _l("The name is missing."),
    "name_too_long": _l("The name is longer than %(max)s characters.", max=MAX_NAME),
    "country_missing": _l("The country is missing."),
    "country_unknown": _l("The country is not a two-letter code such as SY or TR."),
    "region_missing": _l("The city or region is missing."),
    "region_too_long": _l(
        "The city or region is longer than %(max)s characters.", max=MAX_REGION
    ),
    "email_invalid": _l("The email address is not valid."),
    "email_too_long": _l("The email address is too long."),
    "example_row": _l("This is the example row of the template: delete it."),
    "phone_invalid": _l("The phone number is not valid for the country."),
    "phone_too_long": _l("The phone number is too long."),
    "amount_missing": _l("The amount pledged is missing."),
    "amount_invalid": _l("The amount pledged is not a whole number."),
    "amount_range": _l("The amount pledged must be from 1 to %(cap)s."),
    "show_name_invalid": _l("show_name must be yes or no."),
    "deliver_name_invalid": _l("deliver_name must be yes or no."),
    "contact_ok_invalid": _l("contact_ok must be yes or no."),
    "sheet_unknown": _l(
        "The sheet is not one of this campaign's sheets: type its serial as printed, such as "
        "%(example)s."
    ),
    "line_invalid": _l(
        "The line is not a line of a sheet: type its number as printed, 1 to %(rows)s."
    ),
    "line_without_sheet": _l("A line number needs the sheet's serial beside it."),
    "line_repeated": _l("The same line of the same sheet is on row %(first_row)s too."),
    # Duplicates ("signed" is in the reports of imports made before rows were
    # confirmed by email; no import says it now: it told who had signed.)
    "signed": _l("This person has already signed this campaign (online or on paper)."),
    "in_file": _l("The same person as row %(first_row)s."),
}

FILE_REASONS = {
    "no_file": _l("Please choose a CSV file."),
    "too_large": _l(
        "The file is larger than %(megabytes)s MB. Please split it into smaller files."
    ),
    "too_many_rows": _l(
        "The file has more than %(rows)s signatures. Please split it into smaller files."
    ),
    "not_utf8": _l(
        "The file is not UTF-8 text. In your spreadsheet, save it as “CSV UTF-8” and try again."
    ),
    "unreadable": _l("The file could not be read as CSV (near line %(line)s): is a quote missing?"),
    "empty": _l("The file holds no signatures."),
    "unknown_columns": _l(
        "Unknown columns: %(columns)s. Please use the column names of the template."
    ),
    "repeated_columns": _l("A column appears twice in the first row."),
    "missing_columns": _l("Required columns are missing: %(columns)s."),
    "archived": _l("This campaign is archived: it takes no more signatures."),
}

# What to write in each column, for the upload page.
COLUMN_HELP = {
    "full_name": _l(
        "Full name as the person wrote it (required, at most %(max)s characters).", max=MAX_NAME
    ),
    "email": _l(
        "Email address (optional). With an email, the person is asked to confirm by email "
        "and counts once, online and on paper; without one, the signature counts at once."
    ),
    "phone": _l(
        "Phone (optional), valid for the country; a local number is read in that country's plan."
    ),
    "country": _l("Country where the person lives, as a two-letter code such as SY, TR or DE."),
    "region": _l("City or region (required, at most %(max)s characters).", max=MAX_REGION),
    "amount": _l("How many the person pledges (pledges only: a whole number up to the cap)."),
    "show_name": _l(
        "yes if the person agreed to show their first name and city on this campaign's public "
        "list of signers; otherwise no."
    ),
    "deliver_name": _l(
        "yes if the person agreed to have their full name printed in the petition delivered to "
        "the people the campaign is addressed to; otherwise no or empty (optional column)."
    ),
    "contact_ok": _l("yes if the union may contact the person about this campaign; otherwise no."),
    "sheet": _l(
        "The serial of the printed sheet the row comes from, as printed on it (optional): the "
        "row is counted for that sheet."
    ),
    "line": _l(
        "The row's line number on that sheet, 1 to %(rows)s (optional, needs the sheet): a row "
        "without an email is counted under the receipt printed on that line, which its signer "
        "tore off and kept.",
        rows=SHEET_ROWS,
    ),
}

OUTCOMES = {
    "accepted": _l("Accepted"),
    "confirm": _l("Accepted, waiting for the person's confirmation by email"),
    "duplicate": _l("Duplicate"),
    "rejected": _l("Rejected"),
}


def _say(message: Any, params: Mapping[str, object]) -> str:
    text = str(message)
    return text % dict(params) if "%(" in text else text


def file_reason(reason: str, params: Mapping[str, object]) -> str:
    return _say(FILE_REASONS[reason], params)


def outcome_title(entry: Mapping[str, Any]) -> str:
    return str(OUTCOMES["confirm" if entry.get("confirm") else entry["outcome"]])


def entry_reason(entry: Mapping[str, Any]) -> str:
    """Why a row was not accepted, in the current language ("" if it was)."""
    codes = entry.get("reasons") or ([entry["reason"]] if entry.get("reason") else [])
    return " ".join(_say(REASONS[code], entry) for code in codes if code in REASONS)


def rows_by_sheet(paper_import: PaperImport) -> list[tuple[int, Counter[str]]]:
    """The import's rows per sheet named, by outcome, in sheet order."""
    found: dict[int, Counter[str]] = {}
    for entry in paper_import.report:
        sheet = entry.get("sheet")
        if isinstance(sheet, int):
            found.setdefault(sheet, Counter())[str(entry["outcome"])] += 1
    return sorted(found.items())


def report_csv(paper_import: PaperImport) -> str:
    """The report as CSV (with BOM): row number, outcome, reason — no personal data."""
    rows: list[list[Cell]] = [[gettext("Row"), gettext("Outcome"), gettext("Reason")]]
    rows.extend(
        [str(entry["row"]), outcome_title(entry), entry_reason(entry)]
        for entry in paper_import.report
    )
    return BOM + csv_text(rows)


def template_csv(campaign: Campaign) -> str:
    """The CSV to fill in: the column names and one made-up example row."""
    example: list[Cell] = [
        "أحمد محمد الحلبي",
        EXAMPLE_EMAIL,
        "0944 123 456",
        "SY",
        "عفرين، حلب",
        "3" if campaign.is_pledge else "",
        "نعم",
        "لا",
        "لا",
        "",
        "",
    ]
    return BOM + csv_text([list(COLUMNS), example])
