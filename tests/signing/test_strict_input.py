"""The sign form at its edges: control characters refused with a clear
message in the signer's language (never stored, never a 500), and the small
body limit of the hot path, which a valid submission always fits."""

from __future__ import annotations

from urllib.parse import urlencode

import pytest
from flask.testing import FlaskClient

from campaigns.config import Defaults
from campaigns.privacy.personal import read_personal_data
from tests.factories import create_campaign

from .support import sign_url, stored_outbox, stored_signatures, valid_form

LINE_ERROR = {
    "en": "Please remove the line breaks and control characters from this field.",
    "ar": "يُرجى إزالة فواصل الأسطر ومحارف التحكم من هذا الحقل.",
}
CONTROLS = ["\x00", "\x01", "\x07", "\x08", "\x0b", "\x1b", "\x7f", "\x85", "\x9f", "\n", "\r"]


@pytest.mark.parametrize("field", ["full_name", "region", "email", "phone"])
def test_a_control_character_is_refused_and_nothing_is_kept(
    client: FlaskClient, field: str
) -> None:
    campaign = create_campaign()
    for lang in ("ar", "en"):
        for control in CONTROLS:
            value = valid_form()[field]
            data = valid_form(**{field: value[:3] + control + value[3:]})
            response = client.post(sign_url(campaign, lang), data=data)
            assert response.status_code == 422, (field, repr(control))
            assert LINE_ERROR[lang] in response.get_data(as_text=True), (field, repr(control))
    assert stored_signatures() == [] and stored_outbox() == []


def test_a_tab_is_still_a_space_and_the_honeypot_still_answers_like_anyone(
    client: FlaskClient,
) -> None:
    campaign = create_campaign()
    trapped = client.post(sign_url(campaign), data=valid_form(website="bot\x00\n"))
    assert trapped.status_code == 303
    assert stored_signatures() == []
    signed = client.post(sign_url(campaign), data=valid_form(full_name="رامي\tالحلبي"))
    assert signed.status_code == 303
    [signature] = stored_signatures()
    assert read_personal_data(signature)["name"] == "رامي الحلبي"


def _padded(size: int) -> bytes:
    """A valid submission, padded with an unknown field to exactly ``size`` bytes."""
    body = urlencode(valid_form() | {"x": ""}).encode()
    return body + b"a" * (size - len(body))


def test_the_sign_form_keeps_its_small_body_limit(client: FlaskClient) -> None:
    campaign = create_campaign()
    # Every field at its maximum, in the widest characters: far below the limit.
    wide = "\U00013000"
    largest = urlencode(valid_form(full_name=wide * 100, region=wide * 80)).encode()
    assert len(largest) < Defaults.MAX_CONTENT_LENGTH // 8
    limit = Defaults.MAX_CONTENT_LENGTH
    form = "application/x-www-form-urlencoded"
    at_limit = client.post(sign_url(campaign), data=_padded(limit), content_type=form)
    assert at_limit.status_code == 303
    over = client.post(sign_url(campaign, "en"), data=_padded(limit + 1), content_type=form)
    assert over.status_code == 413
    assert len(stored_signatures()) == 1
