"""Reading an uploaded CSV of paper signatures, and checking each row the way
the web sign form checks a signature (same normalization, same limits)."""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field

from ..kernel.countries import country_codes
from ..kernel.normalize import (
    InvalidEmail,
    InvalidPhone,
    canonical_email,
    canonical_phone,
    clean_text,
    display_email,
)
from ..models import Campaign
from ..signing import limits

# The columns printed on a collection sheet, in its order ...
SHEET_COLUMNS = (
    "full_name", "email", "phone", "country", "region", "amount", "show_name", "deliver_name",
    "contact_ok",
)
# ... and the sheet's serial (``OLI-0042``) and the row's line number on it
# (1 to 12, printed), typed beside each row (both optional). The line names the
# receipt its signer tore off the sheet.
SHEET = "sheet"
LINE = "line"
COLUMNS = (*SHEET_COLUMNS, SHEET, LINE)
REQUIRED_COLUMNS = ("full_name", "country", "region")
MAX_BYTES = 5 * 1024 * 1024
MAX_ROWS = 20_000
# Answers to the yes/no columns, as organizers type them in the languages we serve.
YES = frozenset({"1", "yes", "y", "true", "x", "✓", "نعم", "evet", "erê", "belê"})
NO = frozenset({"", "0", "no", "n", "false", "لا", "hayır", "hayir", "na", "nexêr"})
# The example row of the downloadable template: imported by mistake, it is refused.
EXAMPLE_EMAIL = "ahmad.example@example.org"
_FORMULA_GUARD = ("'=", "'+", "'-", "'@")


class FileRefused(Exception):
    """The whole file cannot be imported; ``reason`` names why (see report.py)."""

    def __init__(self, reason: str, **params: object) -> None:
        super().__init__(reason)
        self.reason = reason
        self.params = params


@dataclass
class RowRejected(Exception):
    """The row cannot be imported; ``reasons`` are codes (see report.py)."""

    reasons: list[str]
    params: dict[str, object] = field(default_factory=dict)


@dataclass(frozen=True)
class PaperRow:
    """One checked row, in the forms the web signing path stores."""

    number: int
    name: str
    email: str | None  # as the person can receive mail at it
    canonical_email: str | None
    phone: str | None  # E.164
    country: str
    region: str
    amount: int | None
    show_name: bool
    deliver_name: bool
    contact_ok: bool


@dataclass(frozen=True)
class RawRow:
    number: int  # as a spreadsheet numbers it: the header is row 1
    cells: dict[str, str]
    extra_cells: bool


def _header_name(value: str) -> str:
    name = clean_text(value).casefold().replace(" ", "_").replace("-", "_")
    return "full_name" if name == "name" else name


def read_rows(data: bytes) -> list[RawRow]:
    """The data rows of an uploaded file, blank rows skipped; FileRefused if the
    file is too large, not UTF-8 text, or lacks the required columns."""
    if len(data) > MAX_BYTES:
        raise FileRefused("too_large", megabytes=MAX_BYTES // (1024 * 1024))
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        raise FileRefused("not_utf8")
    try:
        text = data.decode("utf-8-sig")  # Excel's "CSV UTF-8" starts with a BOM
    except UnicodeDecodeError:
        raise FileRefused("not_utf8") from None
    first_line = text.split("\n", 1)[0]
    # Spreadsheets in some locales save with semicolons or tabs.
    delimiter = ","
    if "," not in first_line:
        delimiter = ";" if ";" in first_line else ("\t" if "\t" in first_line else ",")
    # Strict: a quote left open must not silently swallow the rows after it.
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, strict=True)
    try:
        header = next(reader, None)
        if header is None:
            raise FileRefused("empty")
        columns = [_header_name(cell) for cell in header]
        unknown = [c for c in columns if c and c not in COLUMNS]
        if unknown:
            raise FileRefused("unknown_columns", columns=", ".join(unknown[:5]))
        if len(set(filter(None, columns))) != len(list(filter(None, columns))):
            raise FileRefused("repeated_columns")
        missing = [c for c in REQUIRED_COLUMNS if c not in columns]
        if missing:
            raise FileRefused("missing_columns", columns=", ".join(missing))
        rows: list[RawRow] = []
        for number, record in enumerate(reader, start=2):
            if not any(cell.strip() for cell in record):
                continue
            if len(rows) >= MAX_ROWS:
                raise FileRefused("too_many_rows", rows=MAX_ROWS)
            cells = {c: v for c, v in zip(columns, record, strict=False) if c}
            extra = any(v.strip() for v in record[len(columns) :])
            rows.append(RawRow(number=number, cells=cells, extra_cells=extra))
    except csv.Error:
        raise FileRefused("unreadable", line=reader.line_num) from None
    if not rows:
        raise FileRefused("empty")
    return rows


def _cell(raw: RawRow, column: str) -> str:
    value = raw.cells.get(column, "")
    # Our own exports guard formula-like cells with an apostrophe: undo it.
    if value.startswith(_FORMULA_GUARD):
        value = value[1:]
    return clean_text(value)


def _yes_no(value: str) -> bool | None:
    folded = value.casefold()
    if folded in YES:
        return True
    if folded in NO:
        return False
    return None


def _text(raw: RawRow, column: str, limit: int, code: str, reasons: list[str]) -> str:
    """A required text cell, cleaned; ``<code>_missing`` or ``<code>_too_long``
    added to ``reasons`` when it is empty or longer than ``limit``."""
    value = _cell(raw, column)
    refused = limits.text_refusal(value, limit)
    if refused:
        reasons.append(f"{code}_{refused}")
    return value


def check_row(campaign: Campaign, raw: RawRow) -> PaperRow:
    """The row normalized like a web signature, or RowRejected with every reason."""
    reasons: list[str] = []
    params: dict[str, object] = {}
    if raw.extra_cells:
        reasons.append("extra_cells")

    name = _text(raw, "full_name", limits.MAX_NAME, "name", reasons)

    country = _cell(raw, "country").upper()
    if not country:
        reasons.append("country_missing")
    elif country not in country_codes():
        reasons.append("country_unknown")

    region = _text(raw, "region", limits.MAX_REGION, "region", reasons)

    email = canonical = None
    typed_email = _cell(raw, "email")
    if len(typed_email) > limits.MAX_EMAIL:
        reasons.append("email_too_long")
    elif typed_email:
        try:
            email, canonical = display_email(typed_email), canonical_email(typed_email)
        except InvalidEmail:
            reasons.append("email_invalid")
        else:
            if canonical == EXAMPLE_EMAIL:
                reasons.append("example_row")

    phone = None
    typed_phone = _cell(raw, "phone")
    if len(typed_phone) > limits.MAX_PHONE:
        reasons.append("phone_too_long")
    elif typed_phone and "country_unknown" not in reasons:
        try:
            phone = canonical_phone(typed_phone, country or None)
        except InvalidPhone:
            reasons.append("phone_invalid")

    amount = None
    if campaign.is_pledge:
        cap = limits.pledge_cap(campaign)
        try:
            amount = limits.parse_amount(_cell(raw, "amount"), cap)
        except limits.AmountRefused as refused:
            reasons.append(f"amount_{refused.reason}")
            if refused.reason == "range":
                params["cap"] = cap

    show_name = _yes_no(_cell(raw, "show_name"))
    if show_name is None:
        reasons.append("show_name_invalid")
    # Optional column (files made before it existed): absent or blank is "no",
    # so nobody is printed in the delivered petition without a yes.
    deliver_name = _yes_no(_cell(raw, "deliver_name"))
    if deliver_name is None:
        reasons.append("deliver_name_invalid")
    contact_ok = _yes_no(_cell(raw, "contact_ok"))
    if contact_ok is None:
        reasons.append("contact_ok_invalid")

    if reasons:
        raise RowRejected(reasons, params)
    return PaperRow(
        number=raw.number,
        name=name,
        email=email,
        canonical_email=canonical,
        phone=phone,
        country=country,
        region=region,
        amount=amount,
        show_name=bool(show_name),
        deliver_name=bool(deliver_name),
        contact_ok=bool(contact_ok),
    )
