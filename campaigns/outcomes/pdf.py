"""A response's PDF, checked before it is kept: the magic bytes, a version,
and the trailer a reader starts from (``startxref`` pointing at a cross-
reference table or stream, then ``%%EOF``); no script or launch action in
its uncompressed parts. It is never opened on the server beyond this, and it
is served as a download (``Content-Disposition: attachment``, ``nosniff``)."""

from __future__ import annotations

import re

MAX_PDF_BYTES = 5 * 1024 * 1024
_HEADER = re.compile(rb"%PDF-[12]\.[0-9]")
# The startxref at the very end (an updated PDF has one per revision: the
# last one counts).
_STARTXREF = re.compile(rb"startxref\s+(\d{1,10})\s+%%EOF\s*$")
_XREF_AT = re.compile(rb"\s*(?:xref|\d{1,10}\s+\d{1,5}\s+obj)")
_NAME_ESCAPE = re.compile(rb"#([0-9A-Fa-f]{2})")
# Actions that run something when the file is opened in a reader.
_ACTIVE = re.compile(rb"/(?:JavaScript|JS|Launch)(?![A-Za-z0-9])")
# Room after %%EOF for what some scanners append (line ends, padding).
_TAIL = 4096


class PdfRefused(Exception):
    """Not a PDF we keep; ``reason`` names why (a key of the form's messages)."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def check_pdf(data: bytes) -> None:
    """Raise PdfRefused unless ``data`` is a PDF of at most MAX_PDF_BYTES
    with a readable trailer and no active content."""
    if len(data) > MAX_PDF_BYTES:
        raise PdfRefused("too_large")
    if not _HEADER.match(data):
        raise PdfRefused("not_a_pdf")
    tail = data[-_TAIL:]
    found = _STARTXREF.search(tail)
    if found is None:
        raise PdfRefused("damaged")
    offset = int(found.group(1))
    if not 0 < offset < len(data) or not _XREF_AT.match(data, offset):
        raise PdfRefused("damaged")
    # A name may spell its letters as #xx (/J#61vaScript): read it as a reader would.
    plain = _NAME_ESCAPE.sub(lambda m: bytes([int(m.group(1), 16)]), data)
    if _ACTIVE.search(plain):
        raise PdfRefused("active")
