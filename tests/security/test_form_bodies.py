"""Every form of the site reads posted form fields only: a file part where
text is expected, or a JSON body, is a bad submission (4xx), never a 500."""

from __future__ import annotations

import io

from flask import Flask
from sqlalchemy import func, select

from campaigns.extensions import db
from campaigns.models import Signature
from campaigns.seed import seed

SIGN = "/ar/campaigns/no-russia-on-hrc/sign"
LOGIN = "/console/login"
FIELDS = {
    "full_name": "سلمى الحلبي",
    "email": "salma@example.org",
    "country": "SY",
    "region": "حلب",
}


def signatures() -> int:
    return db.session.execute(select(func.count()).select_from(Signature)).scalar_one()


def test_file_parts_and_json_bodies_are_bad_submissions(app: Flask) -> None:
    with app.app_context():
        seed()
        db.session.commit()
    client = app.test_client()
    for url, fields in ((SIGN, FIELDS), (LOGIN, {"email": "a@example.org", "password": "x" * 12})):
        for name in fields:
            # One field sent as an uploaded file, the others as text.
            data: dict[str, object] = {k: v for k, v in fields.items() if k != name}
            data[name] = (io.BytesIO(b"<script>"), "x.txt")
            answer = client.post(url, data=data, content_type="multipart/form-data")
            assert 400 <= answer.status_code < 500, (url, name, answer.status_code)
        for body in ([1, 2], {k: 7 for k in fields}, {k: [v] for k, v in fields.items()}, "x"):
            answer = client.post(url, json=body)
            assert 400 <= answer.status_code < 500, (url, body, answer.status_code)
    with app.app_context():
        assert signatures() == 0
