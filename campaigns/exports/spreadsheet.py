"""CSV that spreadsheets open safely: UTF-8 with a byte order mark (so that
Excel reads Arabic), and no cell that a spreadsheet would run as a formula."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Iterator

from flask import Response

BOM = "\ufeff"
# A cell starting with one of these is read as a formula (or a DDE call) by
# Excel, LibreOffice and Google Sheets: "=HYPERLINK(...)", "+1", "-1", "@SUM".
_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")

Cell = str | int | None


def safe_cell(value: Cell) -> str:
    """The cell as text, with a leading apostrophe if it could run as a formula."""
    if value is None:
        return ""
    text = str(value)
    if isinstance(value, str) and text.startswith(_FORMULA_STARTS):
        return "'" + text
    return text


def csv_text(rows: Iterable[Iterable[Cell]]) -> str:
    """Rows as CSV text (no BOM), every cell made safe."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    for row in rows:
        writer.writerow([safe_cell(cell) for cell in row])
    return buffer.getvalue()


def csv_chunks(batches: Iterable[Iterable[Iterable[Cell]]]) -> Iterator[str]:
    """The BOM, then one CSV chunk per batch of rows: memory stays at one batch."""
    yield BOM
    for batch in batches:
        yield csv_text(batch)


def csv_download(body: str | Iterable[str], filename: str) -> Response:
    """A CSV attachment that is never cached (it may be read by the wrong person)."""
    response = Response(body, mimetype="text/csv")  # charset=utf-8 is added for text/*
    response.headers["Content-Disposition"] = f'attachment; filename="{filename}"'
    response.headers["Cache-Control"] = "no-store"
    return response
