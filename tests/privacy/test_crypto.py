"""Encryption of personal data, keyed hashes, and where the keys come from."""

from __future__ import annotations

import base64
import stat
from pathlib import Path
from typing import Any

import pytest
from flask import Flask

from campaigns import create_app
from campaigns.models import PERSONAL_DATA_PURPOSE
from campaigns.privacy import keys as keys_module
from campaigns.privacy.crypto import (
    IP_HASH_BYTES,
    DecryptionError,
    Keyring,
    decrypt,
    decrypt_json,
    encrypt,
    encrypt_json,
    fingerprint,
    hash_ip,
)
from campaigns.privacy.keys import KeyConfigError, decode_key, ensure_keys, generate_key

NAME = "محمد عبد الرحمن الحلبي"
PURPOSE = PERSONAL_DATA_PURPOSE


@pytest.fixture
def ring() -> Keyring:
    return Keyring.from_master(decode_key(generate_key()))


@pytest.fixture
def other_ring() -> Keyring:
    return Keyring.from_master(decode_key(generate_key()))


# encrypt / decrypt ---------------------------------------------------------


def test_arabic_text_round_trips(ring: Keyring) -> None:
    blob = encrypt(NAME.encode(), PURPOSE, ring)
    assert decrypt(blob, PURPOSE, ring).decode() == NAME


def test_json_round_trips_with_arabic_and_missing_values(ring: Keyring) -> None:
    data: dict[str, str | None] = {"name": NAME, "email": "رامي@مثال.com", "phone": None}
    assert decrypt_json(encrypt_json(data, PURPOSE, ring), PURPOSE, ring) == data


def test_ciphertext_does_not_contain_the_plaintext(ring: Keyring) -> None:
    data: dict[str, str | None] = {"name": NAME, "email": "rami@example.org", "phone": None}
    blob = encrypt_json(data, PURPOSE, ring)
    assert NAME.encode() not in blob
    assert b"rami@example.org" not in blob
    assert b"rami" not in blob


def test_empty_plaintext_round_trips(ring: Keyring) -> None:
    assert decrypt(encrypt(b"", PURPOSE, ring), PURPOSE, ring) == b""


def test_tampering_with_any_byte_is_detected(ring: Keyring) -> None:
    blob = encrypt(NAME.encode(), PURPOSE, ring)
    for index in range(len(blob)):
        tampered = bytearray(blob)
        tampered[index] ^= 0x01
        with pytest.raises(DecryptionError):
            decrypt(bytes(tampered), PURPOSE, ring)


@pytest.mark.parametrize("cut", [1, 16, 17])
def test_truncated_ciphertext_is_detected(ring: Keyring, cut: int) -> None:
    blob = encrypt(NAME.encode(), PURPOSE, ring)
    with pytest.raises(DecryptionError):
        decrypt(blob[:-cut], PURPOSE, ring)


def test_appended_bytes_are_detected(ring: Keyring) -> None:
    blob = encrypt(NAME.encode(), PURPOSE, ring)
    with pytest.raises(DecryptionError):
        decrypt(blob + b"\x00", PURPOSE, ring)


@pytest.mark.parametrize("blob", [b"", b"\x01", b"\x01" + b"\x00" * 28, b"\x02" + b"\x00" * 60])
def test_garbage_is_a_decryption_error(ring: Keyring, blob: bytes) -> None:
    with pytest.raises(DecryptionError):
        decrypt(blob, PURPOSE, ring)


def test_tampered_json_is_a_decryption_error(ring: Keyring) -> None:
    blob = bytearray(encrypt_json({"name": NAME}, PURPOSE, ring))
    blob[-1] ^= 0x80
    with pytest.raises(DecryptionError):
        decrypt_json(bytes(blob), PURPOSE, ring)


def test_a_blob_cannot_be_opened_for_another_purpose(ring: Keyring) -> None:
    blob = encrypt(NAME.encode(), PURPOSE, ring)
    with pytest.raises(DecryptionError):
        decrypt(blob, b"organizer.note", ring)
    with pytest.raises(DecryptionError):
        decrypt(blob, b"", ring)


def test_another_key_cannot_decrypt(ring: Keyring, other_ring: Keyring) -> None:
    blob = encrypt(NAME.encode(), PURPOSE, ring)
    with pytest.raises(DecryptionError):
        decrypt(blob, PURPOSE, other_ring)


def test_two_encryptions_of_the_same_text_differ(ring: Keyring) -> None:
    first = encrypt(NAME.encode(), PURPOSE, ring)
    second = encrypt(NAME.encode(), PURPOSE, ring)
    assert first != second
    nonce = slice(1, 13)
    assert first[nonce] != second[nonce]
    assert decrypt(first, PURPOSE, ring) == decrypt(second, PURPOSE, ring)


def test_nonces_do_not_repeat(ring: Keyring) -> None:
    nonces = {encrypt(b"x", PURPOSE, ring)[1:13] for _ in range(500)}
    assert len(nonces) == 500


def test_keyring_derivation_is_stable_for_one_master_key() -> None:
    master = decode_key(generate_key())
    blob = encrypt(NAME.encode(), PURPOSE, Keyring.from_master(master))
    # A restart derives the keys again from the same master key and reads old data.
    assert decrypt(blob, PURPOSE, Keyring.from_master(master)).decode() == NAME


def test_subkeys_are_independent(ring: Keyring) -> None:
    assert len({ring.fingerprint, ring.ip, ring.token}) == 3


# fingerprint / hash_ip --------------------------------------------------------


def test_fingerprint_is_deterministic(ring: Keyring) -> None:
    assert fingerprint("email", "rami@example.org", ring=ring) == fingerprint(
        "email", "rami@example.org", ring=ring
    )
    assert len(fingerprint("email", "rami@example.org", ring=ring)) == 32


def test_fingerprint_is_keyed(ring: Keyring, other_ring: Keyring) -> None:
    assert fingerprint("email", "rami@example.org", ring=ring) != fingerprint(
        "email", "rami@example.org", ring=other_ring
    )


def test_fingerprint_differs_per_person_and_per_kind(ring: Keyring) -> None:
    digests = {
        fingerprint("email", "rami@example.org", ring=ring),
        fingerprint("email", "sami@example.org", ring=ring),
        fingerprint("phone", "rami@example.org", ring=ring),
    }
    assert len(digests) == 3


def test_fingerprint_is_not_a_plain_hash(ring: Keyring) -> None:
    import hashlib

    value = "rami@example.org"
    digest = fingerprint("email", value, ring=ring)
    assert digest not in {
        hashlib.sha256(value.encode()).digest(),
        hashlib.sha256(f"email\x1f{value}".encode()).digest(),
    }


def test_hash_ip_is_truncated_deterministic_and_keyed(ring: Keyring, other_ring: Keyring) -> None:
    digest = hash_ip("203.0.113.7", ring)
    assert len(digest) == IP_HASH_BYTES == 16
    assert hash_ip("203.0.113.7", ring) == digest
    assert hash_ip("203.0.113.8", ring) != digest
    assert hash_ip("203.0.113.7", other_ring) != digest
    assert b"203.0.113.7" not in digest


def test_hash_ip_and_fingerprint_use_different_keys(ring: Keyring) -> None:
    assert hash_ip("203.0.113.7", ring) != fingerprint("203.0.113.7", ring=ring)[:16]


def test_functions_use_the_current_apps_key() -> None:
    app = Flask(__name__)
    app.config["PERSONAL_DATA_KEY"] = generate_key()
    other = Flask(__name__)
    other.config["PERSONAL_DATA_KEY"] = generate_key()
    with app.app_context():
        blob = encrypt(NAME.encode(), PURPOSE)
        digest = fingerprint("email", "rami@example.org")
        assert decrypt(blob, PURPOSE) == NAME.encode()
    with other.app_context():
        with pytest.raises(DecryptionError):
            decrypt(blob, PURPOSE)
        assert fingerprint("email", "rami@example.org") != digest


# keys ----------------------------------------------------------------------


def test_decode_key_accepts_generated_keys_with_or_without_padding() -> None:
    key = generate_key()
    assert len(decode_key(key)) == 32
    assert decode_key(key.rstrip("=")) == decode_key(key)


def test_generated_keys_differ() -> None:
    assert generate_key() != generate_key()


@pytest.mark.parametrize(
    "value",
    [
        "",
        "changeme",
        base64.urlsafe_b64encode(b"k" * 16).decode(),
        base64.urlsafe_b64encode(b"k" * 31).decode(),
        "a" * 45,
        "a" * 43 + "é",
    ],
    ids=["empty", "word", "16-bytes", "31-bytes", "bad-length", "non-ascii"],
)
def test_decode_key_rejects_short_or_invalid_keys(value: str) -> None:
    with pytest.raises(KeyConfigError):
        decode_key(value)


def _bare_app(instance: Path, **config: Any) -> Flask:
    app = Flask(__name__, instance_path=str(instance))
    app.config.update({"INSTANCE_PATH": str(instance), "TESTING": True, "REDIS_URL": "", **config})
    return app


def test_ensure_keys_generates_keys_in_the_instance_folder(tmp_path: Path) -> None:
    instance = tmp_path / "instance"
    app = _bare_app(instance)
    ensure_keys(app)
    assert len(decode_key(app.config["PERSONAL_DATA_KEY"])) >= 32
    assert app.config["SECRET_KEY"]
    assert app.config["SECRET_KEY"] != app.config["PERSONAL_DATA_KEY"]
    files = {path.name: path for path in instance.iterdir()}
    assert set(files) == {"secret_key", "data_key", "ledger_key"}
    assert files["data_key"].read_text().strip() == app.config["PERSONAL_DATA_KEY"]
    assert files["ledger_key"].read_text().strip() == app.config["LEDGER_SIGNING_KEY"]
    assert len(decode_key(app.config["LEDGER_SIGNING_KEY"])) == 32
    assert files["secret_key"].read_text().strip() == app.config["SECRET_KEY"]
    for path in files.values():
        assert stat.S_IMODE(path.stat().st_mode) == 0o600, path.name


def test_ensure_keys_reuses_the_kept_keys(tmp_path: Path) -> None:
    instance = tmp_path / "instance"
    first = _bare_app(instance)
    ensure_keys(first)
    second = _bare_app(instance)
    ensure_keys(second)
    assert second.config["PERSONAL_DATA_KEY"] == first.config["PERSONAL_DATA_KEY"]
    assert second.config["SECRET_KEY"] == first.config["SECRET_KEY"]
    # Data written before the restart can be read after it.
    with first.app_context():
        blob = encrypt(NAME.encode(), PURPOSE)
    with second.app_context():
        assert decrypt(blob, PURPOSE).decode() == NAME


def test_ensure_keys_keeps_configured_keys_and_writes_nothing(tmp_path: Path) -> None:
    instance = tmp_path / "instance"
    key = generate_key()
    ledger_key = generate_key()
    app = _bare_app(
        instance, SECRET_KEY="configured", PERSONAL_DATA_KEY=key, LEDGER_SIGNING_KEY=ledger_key
    )
    ensure_keys(app)
    assert app.config["LEDGER_SIGNING_KEY"] == ledger_key
    assert app.config["PERSONAL_DATA_KEY"] == key
    assert app.config["SECRET_KEY"] == "configured"
    assert not instance.exists() or not any(instance.iterdir())


def test_ensure_keys_rejects_a_malformed_configured_key(tmp_path: Path) -> None:
    app = _bare_app(tmp_path / "instance", SECRET_KEY="s", PERSONAL_DATA_KEY="too-short")
    with pytest.raises(KeyConfigError):
        ensure_keys(app)


def test_ensure_keys_refuses_to_invent_keys_in_production(tmp_path: Path) -> None:
    instance = tmp_path / "instance"
    app = _bare_app(instance, TESTING=False, REDIS_URL="redis://127.0.0.1:6379/0")
    with pytest.raises(KeyConfigError):
        ensure_keys(app)
    assert not instance.exists() or not any(instance.iterdir())


def test_production_needs_the_ledger_signing_key_and_a_seed_of_32_bytes(tmp_path: Path) -> None:
    instance = tmp_path / "instance"
    production = {"TESTING": False, "REDIS_URL": "redis://127.0.0.1:6379/0"}
    app = _bare_app(instance, SECRET_KEY="s", PERSONAL_DATA_KEY=generate_key(), **production)
    with pytest.raises(KeyConfigError, match="LEDGER_SIGNING_KEY"):
        ensure_keys(app)
    too_long = base64.urlsafe_b64encode(bytes(64)).decode()
    app = _bare_app(
        instance, SECRET_KEY="s", PERSONAL_DATA_KEY=generate_key(), LEDGER_SIGNING_KEY=too_long
    )
    with pytest.raises(KeyConfigError, match="LEDGER_SIGNING_KEY"):
        ensure_keys(app)
    assert not instance.exists() or not any(instance.iterdir())


def test_ensure_keys_survives_two_processes_creating_the_keys_at_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    instance = tmp_path / "instance"
    winner = _bare_app(instance)
    ensure_keys(winner)
    # The loser checked before the winner's files existed, and creates after.
    real_exists = Path.exists
    monkeypatch.setattr(
        Path, "exists", lambda self: False if self.parent == instance else real_exists(self)
    )
    loser = _bare_app(instance)
    ensure_keys(loser)
    assert loser.config["PERSONAL_DATA_KEY"] == winner.config["PERSONAL_DATA_KEY"]
    assert loser.config["SECRET_KEY"] == winner.config["SECRET_KEY"]


def test_create_app_generates_then_reuses_keys(tmp_path: Path) -> None:
    instance = tmp_path / "instance"
    config = {
        "TESTING": True,
        "INSTANCE_PATH": str(instance),
        "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path / 'keys.sqlite3'}",
        "SECRET_KEY": "",
        "PERSONAL_DATA_KEY": "",
        "REDIS_URL": "",
        "TASKS_EAGER": True,
        "EMBEDDED_SCHEDULER": False,
        "MAIL_OUTBOX_DIR": str(tmp_path / "mail"),
    }
    first = create_app(dict(config))
    second = create_app(dict(config))
    assert first.config["PERSONAL_DATA_KEY"]
    assert second.config["PERSONAL_DATA_KEY"] == first.config["PERSONAL_DATA_KEY"]
    assert second.config["SECRET_KEY"] == first.config["SECRET_KEY"]
    data_key = instance / "data_key"
    assert stat.S_IMODE(data_key.stat().st_mode) == 0o600
    assert keys_module.decode_key(data_key.read_text().strip())
