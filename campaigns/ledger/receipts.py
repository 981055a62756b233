"""Receipt codes: 160 random bits shown to a signer once, on confirming.
The server keeps only their SHA-256 (the entry's ``receipt_hash``), so only
the signer can later point at their entries in the public ledger.

Every confirmation answers with a code, also one that did not confirm
anything (a second click, a fraudulent signature, which must look confirmed):
that one is random and stored nowhere, so it is in no ledger."""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
import secrets

from flask import session

RECEIPT_BYTES = 20  # 160 bits: 32 base32 characters
_GROUP = 4
_CLEAN = re.compile(r"[\s\-]+")
_BASE32 = re.compile(r"^[A-Z2-7]{32}$")


def receipt_hash(code: str) -> bytes:
    """The hash of a code as typed (spaces, hyphens and case ignored)."""
    return hashlib.sha256(normalize(code).encode("ascii")).digest()


def normalize(code: str) -> str:
    return _CLEAN.sub("", code).upper()


def is_well_formed(code: str) -> bool:
    return bool(_BASE32.match(normalize(code)))


def _grouped(raw: bytes) -> str:
    text = base64.b32encode(raw).decode("ascii")
    return "-".join(text[i : i + _GROUP] for i in range(0, len(text), _GROUP))


def new_receipt() -> tuple[str, bytes]:
    """A fresh code, grouped for reading aloud and copying by hand, and its hash."""
    code = _grouped(secrets.token_bytes(RECEIPT_BYTES))
    return code, receipt_hash(code)


def sheet_receipt(seed: bytes, line: int) -> str:
    """The receipt code printed on ``line`` of a collection sheet: 160 bits of
    HMAC-SHA256 under the sheet's random seed, so that every print of the
    sheet carries the same codes and its import stores their hashes. Whoever
    holds the sheet sees its codes; a code proves its holder's entry is in
    the ledger and says nothing else."""
    digest = hmac.new(seed, f"zaytoun sheet receipt {line}".encode("ascii"), hashlib.sha256)
    return _grouped(digest.digest()[:RECEIPT_BYTES])


_KEY = "receipt"


def remember_receipt(campaign_slug: str, code: str) -> None:
    """Keep the code for the one page the confirmation leads to (the session
    is the signer's own cookie; the server keeps only the hash)."""
    session[_KEY] = {"campaign": campaign_slug, "code": code}


def take_receipt(campaign_slug: str) -> str | None:
    """The code just given on this campaign's confirmation, once."""
    kept = session.get(_KEY)
    if not isinstance(kept, dict) or kept.get("campaign") != campaign_slug:
        return None
    session.pop(_KEY, None)
    code = kept.get("code")
    return code if isinstance(code, str) and is_well_formed(code) else None
