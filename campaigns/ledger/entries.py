"""What an entry and a tree head are, byte for byte: the leaf an entry is
hashed from and the message a head's signature covers. The verifier
(``tools/verify_ledger.py``) writes the same bytes from the published JSON;
change one and the other together (``ENTRY_VERSION``, ``HEAD_VERSION``)."""

from __future__ import annotations

import base64
import hashlib
from datetime import UTC, date, datetime

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

ENTRY_VERSION = "zaytoun-ledger-entry-v1"
HEAD_VERSION = "zaytoun-ledger-head-v1"


def entry_bytes(
    receipt_hash: bytes, change: str, reason: str | None, units: int, day: date
) -> bytes:
    """The leaf data of one entry: one field a line, nothing else."""
    fields = [ENTRY_VERSION, receipt_hash.hex(), change, reason or "", str(units), day.isoformat()]
    return "\n".join(fields).encode("ascii")


def head_time(at: datetime) -> str:
    """A head's time as it is signed and published: UTC to the second."""
    return at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def head_message(
    slug: str, number: int, tree_size: int, root_hash: bytes, signers: int, total: int, at: datetime
) -> bytes:
    """What a head's Ed25519 signature covers: the campaign, the head's number,
    the tree (size, root), the counts it adds up to, and its time."""
    fields = [
        HEAD_VERSION,
        slug,
        str(number),
        str(tree_size),
        root_hash.hex(),
        str(signers),
        str(total),
        head_time(at),
    ]
    return "\n".join(fields).encode("utf-8")


def signing_key(seed: str) -> Ed25519PrivateKey:
    """The key from ``LEDGER_SIGNING_KEY`` (url-safe base64 of a 32-byte seed,
    checked at start by ``privacy.keys.ensure_keys``)."""
    raw = base64.urlsafe_b64decode(seed.strip() + "=" * (-len(seed.strip()) % 4))
    return Ed25519PrivateKey.from_private_bytes(raw)


def public_key_bytes(key: Ed25519PrivateKey) -> bytes:
    return key.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)


def key_id(public_key: bytes) -> str:
    """A short name for a public key: the first 8 bytes of its SHA-256, in hex."""
    return hashlib.sha256(public_key).hexdigest()[:16]
