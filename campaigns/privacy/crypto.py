"""Authenticated encryption of personal data and keyed hashes for matching.

One master key (``PERSONAL_DATA_KEY``) is expanded with HKDF into independent
subkeys, so that the fingerprint key can never decrypt and the encryption key
never appears in an index. Ciphertexts are ``version || nonce || AES-256-GCM``,
bound to their purpose (associated data) so a blob cannot be moved to another
column or row kind.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
from dataclasses import dataclass
from functools import cache

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from flask import current_app

from .keys import decode_key

VERSION = b"\x01"
NONCE_BYTES = 12
IP_HASH_BYTES = 16


class DecryptionError(ValueError):
    """A ciphertext was tampered with, truncated, or made with another key."""


@dataclass(frozen=True)
class Keyring:
    encryption: AESGCM
    fingerprint: bytes
    ip: bytes
    token: bytes
    kiosk: bytes

    @classmethod
    def from_master(cls, master: bytes) -> Keyring:
        def derive(info: bytes) -> bytes:
            return HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=info).derive(master)

        return cls(
            encryption=AESGCM(derive(b"zaytoun personal data v1")),
            fingerprint=derive(b"zaytoun fingerprint v1"),
            ip=derive(b"zaytoun client ip v1"),
            token=derive(b"zaytoun tokens v1"),
            kiosk=derive(b"zaytoun kiosk queue v1"),
        )


@cache
def _keyring_for(master_b64: str) -> Keyring:
    return Keyring.from_master(decode_key(master_b64))


def keyring() -> Keyring:
    """The keyring of the current app (derived once per key)."""
    return _keyring_for(current_app.config["PERSONAL_DATA_KEY"])


def encrypt(plaintext: bytes, purpose: bytes, ring: Keyring | None = None) -> bytes:
    ring = ring or keyring()
    nonce = os.urandom(NONCE_BYTES)
    return VERSION + nonce + ring.encryption.encrypt(nonce, plaintext, purpose)


def decrypt(blob: bytes, purpose: bytes, ring: Keyring | None = None) -> bytes:
    ring = ring or keyring()
    if len(blob) < 1 + NONCE_BYTES + 16 or blob[:1] != VERSION:
        raise DecryptionError("unknown ciphertext format")
    nonce, body = blob[1 : 1 + NONCE_BYTES], blob[1 + NONCE_BYTES :]
    try:
        return ring.encryption.decrypt(nonce, body, purpose)
    except InvalidTag as exc:
        raise DecryptionError("ciphertext failed authentication") from exc


def encrypt_json(data: dict[str, str | None], purpose: bytes, ring: Keyring | None = None) -> bytes:
    payload = json.dumps(data, ensure_ascii=False, separators=(",", ":")).encode()
    return encrypt(payload, purpose, ring)


def decrypt_json(blob: bytes, purpose: bytes, ring: Keyring | None = None) -> dict[str, str | None]:
    data: dict[str, str | None] = json.loads(decrypt(blob, purpose, ring))
    return data


def fingerprint(*parts: str, ring: Keyring | None = None) -> bytes:
    """Keyed HMAC-SHA256 of canonical identity parts; equal people, equal bytes."""
    ring = ring or keyring()
    message = "\x1f".join(parts).encode()
    return hmac.new(ring.fingerprint, message, hashlib.sha256).digest()


def hash_email_domain(domain: str, ring: Keyring | None = None) -> bytes:
    """A keyed, truncated hash of an email domain: groups signatures by domain
    (bulk invalidation, trending) without storing the domain."""
    return fingerprint("domain", domain.lower(), ring=ring)[:IP_HASH_BYTES]


def hash_ip(address: str, ring: Keyring | None = None) -> bytes:
    """A keyed, truncated hash of a client address: enough for rate rules, not reversible
    by brute force over the IPv4 space without the key."""
    ring = ring or keyring()
    return hmac.new(ring.ip, address.encode(), hashlib.sha256).digest()[:IP_HASH_BYTES]


def kiosk_queue_key(kiosk_uuid: bytes, ring: Keyring | None = None) -> bytes:
    """The AES-256 key a kiosk's device seals its queue of entries with: one
    per kiosk, derived when its page is served to its logged-in collector,
    stored nowhere (the device holds it in memory only)."""
    ring = ring or keyring()
    return hmac.new(ring.kiosk, b"kiosk queue\x1f" + kiosk_uuid, hashlib.sha256).digest()
