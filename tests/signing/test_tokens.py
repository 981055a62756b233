"""Confirmation tokens: only our key makes them, they name one signature, and
they expire."""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator

import pytest
from flask import Flask
from itsdangerous import TimestampSigner, URLSafeTimedSerializer

from campaigns.privacy.keys import generate_key
from campaigns.signing.tokens import (
    ExpiredToken,
    InvalidToken,
    make_confirm_token,
    read_confirm_token,
)

MAX_AGE = 30 * 24 * 3600
BASE64URL = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"


def _tamper(token: str, index: int) -> str:
    """Change one character so that the bytes it encodes change too: flipping the
    top bit of its 6-bit group (the low bits of a last character may be unused)."""
    char = token[index]
    replacement = BASE64URL[BASE64URL.index(char) ^ 32] if char in BASE64URL else "A"
    return token[:index] + replacement + token[index + 1 :]


def _app(key: str | None = None) -> Flask:
    app = Flask(__name__)
    app.config.update(PERSONAL_DATA_KEY=key or generate_key(), CONFIRM_TOKEN_MAX_AGE=MAX_AGE)
    return app


@pytest.fixture
def token_app() -> Iterator[Flask]:
    app = _app()
    with app.app_context():
        yield app


def _made_seconds_ago(monkeypatch: pytest.MonkeyPatch, signature_uuid: uuid.UUID, age: int) -> str:
    """A token as it was made ``age`` seconds ago."""
    made_at = int(time.time()) - age
    with monkeypatch.context() as patch:
        patch.setattr(TimestampSigner, "get_timestamp", lambda self: made_at)
        return make_confirm_token(signature_uuid)


@pytest.mark.usefixtures("token_app")
def test_token_round_trips_to_the_signature_uuid() -> None:
    signature_uuid = uuid.uuid4()
    token = make_confirm_token(signature_uuid)
    assert read_confirm_token(token) == signature_uuid


@pytest.mark.usefixtures("token_app")
def test_token_is_url_safe_and_opaque() -> None:
    signature_uuid = uuid.uuid4()
    token = make_confirm_token(signature_uuid)
    assert token.isascii()
    assert not set(token) - set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.")
    assert len(token) <= 200
    assert make_confirm_token(uuid.uuid4()) != token


@pytest.mark.usefixtures("token_app")
def test_every_single_character_change_is_rejected() -> None:
    token = make_confirm_token(uuid.uuid4())
    for index in range(len(token)):
        with pytest.raises(InvalidToken):
            read_confirm_token(_tamper(token, index))


@pytest.mark.usefixtures("token_app")
@pytest.mark.parametrize("token", ["", "x", "not.a.token", "....", "a" * 200])
def test_garbage_is_an_invalid_token(token: str) -> None:
    with pytest.raises(InvalidToken):
        read_confirm_token(token)


@pytest.mark.usefixtures("token_app")
def test_a_token_for_another_signature_cannot_be_forged_by_swapping_the_payload() -> None:
    mine = make_confirm_token(uuid.uuid4())
    theirs = make_confirm_token(uuid.uuid4())
    payload_of_theirs = theirs.split(".")[0]
    forged = ".".join([payload_of_theirs, *mine.split(".")[1:]])
    with pytest.raises(InvalidToken):
        read_confirm_token(forged)


def test_a_token_made_with_another_key_is_invalid() -> None:
    with _app().app_context():
        token = make_confirm_token(uuid.uuid4())
    with _app().app_context(), pytest.raises(InvalidToken):
        read_confirm_token(token)


@pytest.mark.usefixtures("token_app")
def test_a_token_signed_for_another_purpose_is_invalid() -> None:
    from campaigns.privacy.crypto import keyring

    other_purpose = URLSafeTimedSerializer(keyring().token, salt="unsubscribe")
    token = str(other_purpose.dumps(uuid.uuid4().hex))
    with pytest.raises(InvalidToken):
        read_confirm_token(token)


@pytest.mark.usefixtures("token_app")
def test_a_token_that_names_no_uuid_is_invalid() -> None:
    from campaigns.privacy.crypto import keyring

    serializer = URLSafeTimedSerializer(keyring().token, salt="confirm-signature")
    with pytest.raises(InvalidToken):
        read_confirm_token(str(serializer.dumps("not-a-uuid")))


@pytest.mark.usefixtures("token_app")
def test_an_expired_token_is_expired(monkeypatch: pytest.MonkeyPatch) -> None:
    token = _made_seconds_ago(monkeypatch, uuid.uuid4(), MAX_AGE + 60)
    with pytest.raises(ExpiredToken) as caught:
        read_confirm_token(token)
    # The page tells the person "expired, sign again", not "broken link".
    assert not isinstance(caught.value, InvalidToken)


@pytest.mark.usefixtures("token_app")
def test_a_token_within_its_max_age_still_works(monkeypatch: pytest.MonkeyPatch) -> None:
    signature_uuid = uuid.uuid4()
    token = _made_seconds_ago(monkeypatch, signature_uuid, MAX_AGE - 60)
    assert read_confirm_token(token) == signature_uuid


def test_the_max_age_comes_from_the_configuration(monkeypatch: pytest.MonkeyPatch) -> None:
    app = _app()
    app.config["CONFIRM_TOKEN_MAX_AGE"] = 3600
    with app.app_context():
        token = _made_seconds_ago(monkeypatch, uuid.uuid4(), 2 * 3600)
        with pytest.raises(ExpiredToken):
            read_confirm_token(token)


@pytest.mark.usefixtures("token_app")
def test_a_tampered_expired_token_is_invalid(monkeypatch: pytest.MonkeyPatch) -> None:
    token = _made_seconds_ago(monkeypatch, uuid.uuid4(), MAX_AGE + 60)
    tampered = _tamper(token, len(token) - 1)
    with pytest.raises(InvalidToken):
        read_confirm_token(tampered)


@pytest.mark.usefixtures("token_app")
@pytest.mark.parametrize("length", [201, 1_000, 100_000])
def test_an_overly_long_token_is_rejected(length: int) -> None:
    with pytest.raises(InvalidToken):
        read_confirm_token("a" * length)


@pytest.mark.usefixtures("token_app")
def test_a_valid_token_with_padding_appended_is_rejected() -> None:
    token = make_confirm_token(uuid.uuid4())
    with pytest.raises(InvalidToken):
        read_confirm_token(token + "A" * (201 - len(token)))
