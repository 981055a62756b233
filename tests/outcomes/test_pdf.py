"""A response's PDF is kept only if it is one: magic bytes, a trailer that
points at a cross-reference, within 5 MB, and nothing that runs on opening."""

from __future__ import annotations

import pytest

from campaigns.outcomes.pdf import MAX_PDF_BYTES, PdfRefused, check_pdf

from .support import make_pdf

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64


def _reason(data: bytes) -> str | None:
    try:
        check_pdf(data)
    except PdfRefused as error:
        return error.reason
    return None


def test_a_pdf_passes() -> None:
    assert _reason(make_pdf()) is None
    # Line ends that some scanners add after %%EOF.
    assert _reason(make_pdf() + b"\r\n\r\n") is None


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        (PNG, "not_a_pdf"),
        (b"", "not_a_pdf"),
        (b"<html><script>alert(1)</script></html>", "not_a_pdf"),
        # Text before the header: a polyglot, not a PDF.
        (b"GIF89a" + make_pdf(), "not_a_pdf"),
        (make_pdf()[:-60], "damaged"),
        (make_pdf().replace(b"startxref\n", b"startxref\n9"), "damaged"),
        (make_pdf().replace(b"%%EOF", b"%%EOX"), "damaged"),
        (make_pdf(b"/OpenAction << /S /JavaScript /JS (app.alert(1)) >> "), "active"),
        (make_pdf(b"/OpenAction << /S /J#61vaScript /J#53 (x) >> "), "active"),
        (make_pdf(b"/OpenAction << /S /Launch /F (cmd.exe) >> "), "active"),
        (make_pdf(padding=MAX_PDF_BYTES), "too_large"),
    ],
    ids=[
        "png",
        "empty",
        "html",
        "polyglot",
        "truncated",
        "bad-offset",
        "no-eof",
        "javascript",
        "escaped-javascript",
        "launch",
        "too-large",
    ],
)
def test_what_is_refused(data: bytes, reason: str) -> None:
    assert _reason(data) == reason


def test_just_under_the_limit_passes() -> None:
    padding = MAX_PDF_BYTES - len(make_pdf()) - 2
    data = make_pdf(padding=padding)
    # Longer offsets have more digits.
    data = make_pdf(padding=padding - (len(data) - MAX_PDF_BYTES))
    assert len(data) == MAX_PDF_BYTES
    assert _reason(data) is None
