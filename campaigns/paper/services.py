"""Importing paper signatures. Plain functions: they flush, never commit."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from typing import Any

from sqlalchemy import select

from ..extensions import db
from ..i18n import DEFAULT_LANGUAGE
from ..kernel.normalize import ascii_digits, clean_text, match_name
from ..ledger.receipts import receipt_hash, sheet_receipt
from ..models import Campaign, CampaignStatus, PaperImport, Signature, SignatureSource
from ..models.types import utcnow
from ..privacy.crypto import Keyring, fingerprint, keyring
from ..privacy.personal import PersonalData
from ..signing.lifecycle import signature_row
from ..signing.services import record_signatures
from ..upsert import insert_ignore
from .rows import LINE, SHEET, FileRefused, PaperRow, RawRow, RowRejected, check_row, read_rows
from .sheets import SHEET_ROWS, parse_serial, record_import, serial, sheet_seeds

# Rows per INSERT: far below SQLite's and PostgreSQL's limits on parameters.
INSERT_BATCH = 500

ACCEPTED, DUPLICATE, REJECTED = "accepted", "duplicate", "rejected"


def paper_fingerprint(row: PaperRow, scope: bytes, ring: Keyring | None = None) -> bytes:
    """The same key as a web signature when there is an email, so that a paper
    signer who also signed online is one person; otherwise the person's key
    within ``scope`` (``entry_scope`` of who imports)."""
    if row.canonical_email:
        return fingerprint("email", row.canonical_email, ring=ring)
    return person_fingerprint(row.name, row.region, row.phone, scope, ring)


def entry_scope(user_id: int | None) -> bytes:
    """Whose entries a person without an email is matched against: the
    account that typed them in (the importing organizer, the kiosk's
    collector), or the command line's (an admin on the server) for None."""
    return b"command line" if user_id is None else f"account {user_id}".encode()


def person_fingerprint(
    name: str, region: str, phone: str | None, scope: bytes, ring: Keyring | None = None
) -> bytes:
    """Who signed in front of a collector without an email (on paper or at a
    kiosk): name, region and phone in their matching forms, within ``scope``
    (``entry_scope``: the account that entered them).

    The scope keeps the unique index from being an oracle. Without an email
    nobody confirms, so such a row counts at once; were the key the same for
    every account, an organizer could type a person's name, region and phone
    and read from the count whether someone else (another organizer's
    import, a collector at a stand) had entered that person. Within one
    account a repeat tells the account only what it typed itself, and the
    same file imported twice, or one person at two stands of one collector,
    still counts once. The price: one person entered by two accounts counts
    twice (docs/threat-model.md, 2b)."""
    return fingerprint(
        "paper", scope.hex(), match_name(name), match_name(region), phone or "", ring=ring
    )


def _values(campaign: Campaign, row: PaperRow, digest: bytes, ring: Keyring) -> dict[str, Any]:
    """A paper row as a signature: pending with an email (its owner confirms
    it, as online), validated without one (signed in front of a collector)."""
    now = utcnow()
    return signature_row(
        campaign,
        row,
        source=SignatureSource.paper,
        personal=PersonalData(name=row.name, email=row.email, phone=row.phone, region=row.region),
        fingerprint=digest,
        locale=DEFAULT_LANGUAGE,
        ring=ring,
        canonical_email=row.canonical_email,
        created_at=now,
        validated_at=None if row.canonical_email else now,
    )


Stored = tuple[PaperRow, bytes, bytes | None]  # the row, its fingerprint, its receipt's hash


def _store(campaign: Campaign, batch: list[Stored], ring: Keyring) -> None:
    """Insert a batch. Rows with an email go the way of a web signature (the
    owner of the address confirms, or is told they had signed, and is shown
    a receipt on confirming); rows without one are validated under the
    receipt printed on their sheet's line, if the file names it, and absorbed
    by the unique index when the same account entered that person before.
    Nothing here tells the caller which rows were new."""
    with_email = [_values(campaign, r, d, ring) for r, d, _ in batch if r.canonical_email]
    without = [
        _values(campaign, r, d, ring) | {"receipt_hash": receipt}
        for r, d, receipt in batch
        if not r.canonical_email
    ]
    if with_email:
        record_signatures(campaign.id, with_email)
    if without:
        # One statement run for many rows ("insertmanyvalues"): compiled once.
        db.session.execute(insert_ignore(Signature, ["campaign_id", "fingerprint"]), without)


def _sheet_of(campaign: Campaign, raw: RawRow, known: dict[int, bytes]) -> int | None:
    """The number of the sheet a row names; RowRejected when it names one
    that is not the campaign's. None: the row names no sheet."""
    typed = raw.cells.get(SHEET, "").strip()
    if not typed:
        return None
    number = parse_serial(campaign, typed)
    if number is None or number not in known:
        raise RowRejected(["sheet_unknown"], {"example": serial(campaign, 1)})
    return number


def _line_of(raw: RawRow) -> int | None:
    """The sheet line a row names (1 to ``SHEET_ROWS``, digits of any script);
    RowRejected when it is not one, or when the row types no sheet beside it
    (an unknown sheet is rejected by ``_sheet_of``)."""
    typed = ascii_digits(clean_text(raw.cells.get(LINE, "")))
    if not typed:
        return None
    if not (typed.isascii() and typed.isdigit() and len(typed) <= 3) or not (
        1 <= int(typed) <= SHEET_ROWS
    ):
        raise RowRejected(["line_invalid"], {"rows": SHEET_ROWS})
    if not raw.cells.get(SHEET, "").strip():
        raise RowRejected(["line_without_sheet"])
    return int(typed)


def import_paper_signatures(
    campaign: Campaign,
    data: bytes,
    filename: str,
    *,
    user_id: int | None,
    progress: Callable[[int], None] | None = None,
) -> PaperImport:
    """Import a CSV of paper signatures into ``campaign`` and return its report.

    Each row is checked and normalized like a web signature. A valid row with
    an email is stored pending and confirmed by the owner of the address (who
    is told instead if they had signed); one without is stored validated. A
    person repeated in the file is a duplicate, and invalid rows are rejected
    with their reasons. A row may name the printed sheet it was copied from
    (its serial, column ``sheet``): its outcome is counted for that sheet,
    which becomes imported; a serial that is not one of the campaign's
    sheets rejects the row. The report depends on the file only, never on who
    signed before: it holds row numbers, outcomes, reason codes and sheet
    numbers. Raises
    ``FileRefused`` for a file that cannot be read at all. Counts follow with
    ``update_signature_counts``."""
    if campaign.status is CampaignStatus.archived:
        raise FileRefused("archived")
    rows = read_rows(data)
    known = sheet_seeds(campaign)
    per_sheet: dict[int, Counter[str]] = {}
    ring = keyring()
    # Rows without an email are matched only against this account's own.
    scope = entry_scope(user_id)
    report: list[dict[str, Any]] = []
    first_row: dict[bytes, int] = {}
    # A printed line's receipt is one person's: the row that named it first.
    line_row: dict[tuple[int, int], int] = {}
    batch: list[Stored] = []

    def flush_batch() -> None:
        _store(campaign, batch, ring)
        if progress:
            progress(len(batch))
        batch.clear()

    def add(entry: dict[str, Any], sheet: int | None) -> None:
        if sheet is not None:
            entry["sheet"] = sheet
            per_sheet.setdefault(sheet, Counter())[entry["outcome"]] += 1
        report.append(entry)

    for raw in rows:
        sheet: int | None = None
        line: int | None = None
        reasons: list[str] = []
        params: dict[str, object] = {}
        try:
            sheet = _sheet_of(campaign, raw, known)
        except RowRejected as unknown:
            reasons, params = unknown.reasons, unknown.params
        try:
            line = _line_of(raw)
        except RowRejected as bad:
            reasons, params = reasons + bad.reasons, params | bad.params
        if sheet is not None and line is not None:
            first = line_row.setdefault((sheet, line), raw.number)
            if first != raw.number:
                reasons, params = [*reasons, "line_repeated"], params | {"first_row": first}
        try:
            row = check_row(campaign, raw)
        except RowRejected as rejected:
            reasons, params = rejected.reasons + reasons, rejected.params | params
        if reasons:
            add({"row": raw.number, "outcome": REJECTED, "reasons": reasons} | params, sheet)
            if progress:
                progress(1)
            continue
        digest = paper_fingerprint(row, scope, ring)
        if digest in first_row:
            add(
                {
                    "row": raw.number,
                    "outcome": DUPLICATE,
                    "reason": "in_file",
                    "first_row": first_row[digest],
                },
                sheet,
            )
            if progress:
                progress(1)
            continue
        first_row[digest] = raw.number
        accepted: dict[str, Any] = {"row": raw.number, "outcome": ACCEPTED}
        if row.canonical_email:
            accepted["confirm"] = True
        add(accepted, sheet)
        receipt = None
        if sheet is not None and line is not None and not row.canonical_email:
            receipt = receipt_hash(sheet_receipt(known[sheet], line))
        batch.append((row, digest, receipt))
        if len(batch) >= INSERT_BATCH:
            flush_batch()
    if batch:
        flush_batch()
    record_import(campaign, per_sheet)
    report.sort(key=lambda entry: int(entry["row"]))
    outcomes = [entry["outcome"] for entry in report]
    paper_import = PaperImport(
        campaign_id=campaign.id,
        created_by=user_id,
        filename=clean_text(filename)[:200],
        accepted=outcomes.count(ACCEPTED),
        duplicates=outcomes.count(DUPLICATE),
        rejected=outcomes.count(REJECTED),
        report=report,
        created_at=utcnow(),
    )
    db.session.add(paper_import)
    db.session.flush()
    return paper_import


def awaiting_confirmation(paper_import: PaperImport) -> int:
    """Rows of the import accepted with an email: they count once their
    owner confirms (a figure of the file, not of who signed)."""
    return sum(1 for entry in paper_import.report if entry.get("confirm"))


def campaign_imports(campaign: Campaign, limit: int = 50) -> list[PaperImport]:
    """The campaign's latest imports, newest first."""
    return list(
        db.session.execute(
            select(PaperImport)
            .where(PaperImport.campaign_id == campaign.id)
            .order_by(PaperImport.id.desc())
            .limit(limit)
        ).scalars()
    )


def find_import(campaign: Campaign, import_id: int) -> PaperImport | None:
    return db.session.execute(
        select(PaperImport).where(
            PaperImport.id == import_id, PaperImport.campaign_id == campaign.id
        )
    ).scalar_one_or_none()
