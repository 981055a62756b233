"""Going through a console confirmation page as a person does: the action's
own form, then the confirmation page's form (console/confirm.py)."""

from __future__ import annotations

import html
import re
from typing import Any

from flask.testing import FlaskClient
from werkzeug.test import TestResponse

CONFIRM_FORM = re.compile(
    r'<form method="post" action="([^"]+)" class="actions">(.*?)</form>', re.S
)
HIDDEN = re.compile(r'<input type="hidden" name="([^"]*)" value="([^"]*)">')


def confirmation_fields(page: str) -> tuple[str, list[tuple[str, str]]]:
    """The confirmation form's action and hidden fields (the action's own
    fields, ``confirm`` and the figure shown)."""
    found = CONFIRM_FORM.search(page)
    assert found is not None, "no confirmation form on the page"
    fields = [(html.unescape(n), html.unescape(v)) for n, v in HIDDEN.findall(found.group(2))]
    return html.unescape(found.group(1)), fields


def post_confirmed(
    client: FlaskClient, url: str, data: dict[str, Any] | None = None
) -> TestResponse:
    """Post ``data`` to ``url``, which must answer with its confirmation page,
    then confirm it; the answer to the confirming post."""
    first = client.post(url, data=data or {})
    assert first.status_code == 200, first.status_code
    action, fields = confirmation_fields(first.get_data(as_text=True))
    form: dict[str, list[str]] = {}
    for name, value in fields:
        form.setdefault(name, []).append(value)
    return client.post(action, data=form)
