"""Where the secrets come from.

Production passes ``SECRET_KEY``, ``PERSONAL_DATA_KEY`` and
``LEDGER_SIGNING_KEY`` (the Ed25519 seed of the ledger's tree heads) in the
environment.
The embedded default generates both once and keeps them in ``instance/``
(mode 0600), so a restart can still read the data it wrote.
"""

from __future__ import annotations

import base64
import binascii
import os
import secrets
from pathlib import Path

from flask import Flask


class KeyConfigError(RuntimeError):
    """The personal data key is missing or malformed."""


def _load_or_create(path: Path, nbytes: int) -> str:
    if path.exists():
        return path.read_text().strip()
    path.parent.mkdir(parents=True, exist_ok=True)
    value = base64.urlsafe_b64encode(secrets.token_bytes(nbytes)).decode()
    # Written whole to a private temporary file, then linked into place: of two
    # processes starting at once, one wins and both read the winner's key.
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(value + "\n")
    try:
        os.link(tmp, path)
    except FileExistsError:
        pass
    finally:
        tmp.unlink()
    return path.read_text().strip()


def decode_key(value: str) -> bytes:
    """Decode a url-safe base64 key of at least 32 bytes."""
    try:
        padded = value.strip().encode() + b"=" * (-len(value.strip()) % 4)
        raw = base64.b64decode(padded, altchars=b"-_", validate=True)
    except (ValueError, TypeError, binascii.Error) as exc:
        raise KeyConfigError("PERSONAL_DATA_KEY is not url-safe base64") from exc
    if len(raw) < 32:
        raise KeyConfigError("PERSONAL_DATA_KEY must hold at least 32 bytes")
    return raw


def ensure_keys(app: Flask) -> None:
    """Fill in missing keys: generated and kept in ``instance/`` unless in production."""
    instance = Path(app.config["INSTANCE_PATH"])
    production = bool(app.config.get("REDIS_URL")) and not app.config.get("TESTING")
    for name, filename in (
        ("SECRET_KEY", "secret_key"),
        ("PERSONAL_DATA_KEY", "data_key"),
        ("LEDGER_SIGNING_KEY", "ledger_key"),
    ):
        if app.config.get(name):
            continue
        if production:
            raise KeyConfigError(f"{name} must be set in the environment in production")
        app.config[name] = _load_or_create(instance / filename, 32)
    decode_key(app.config["PERSONAL_DATA_KEY"])
    if len(decode_key(app.config["LEDGER_SIGNING_KEY"])) != 32:
        raise KeyConfigError("LEDGER_SIGNING_KEY must hold exactly 32 bytes")


def generate_key() -> str:
    """A fresh key, for operators: ``flask keys generate``."""
    return base64.urlsafe_b64encode(secrets.token_bytes(32)).decode()
