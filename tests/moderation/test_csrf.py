"""Every moderation POST needs the CSRF token of the page (the app as
deployed, on SQLite)."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

from flask import Flask
from flask.testing import FlaskClient

from campaigns.extensions import db
from campaigns.models import Invalidation, JobState, Signature, SignatureState, User
from campaigns.moderation.invalidation import create_invalidation
from campaigns.privacy.crypto import hash_ip
from tests.factories import code_for
from tests.signing.support import csrf_app

from .support import (
    PASSWORD,
    fresh,
    fresh_globals_per_request,
    invalidations,
    make_console,
    signature,
    trending_flag,
)


def _token(client: FlaskClient, path: str) -> str:
    found = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', client.get(path).get_data(True))
    assert found, path
    return found.group(1)


def _organizer_client(app: Flask, organizer: User) -> FlaskClient:
    """A client logged in as ``organizer`` through the login form, token and code included."""
    client = app.test_client()
    login = {"email": organizer.email, "password": PASSWORD, "code": code_for(organizer)}
    token = _token(client, "/console/login")
    assert client.post("/console/login", data={**login, "csrf_token": token}).status_code == 303
    return client


def test_moderation_posts_without_the_token_are_refused(
    tmp_path: Path, database_url: Callable[[str], str]
) -> None:
    with csrf_app(tmp_path, database_url) as app:
        fresh_globals_per_request(app)
        console = make_console()
        item = signature(
            console.campaign, state=SignatureState.fraudulent, fraud_reason="rate_burst"
        )
        with app.test_request_context():
            job = create_invalidation(console.campaign.id, {"country": "SY"}, "x", console.admin)
            db.session.commit()
        client = _organizer_client(app, console.organizer)

        accept = f"/console/moderation/signatures/{item.uuid}/accept"
        cancel = f"/console/moderation/invalidations/{job.id}/cancel"
        new = "/console/moderation/invalidations/new"
        run = {"campaign": console.campaign.slug, "country": "SY", "reason": "x", "action": "run"}
        assert client.post(accept).status_code == 400
        assert client.post(f"/console/moderation/signatures/{item.uuid}/reject").status_code == 400
        assert client.post(cancel).status_code == 400
        assert client.post(new, data=run).status_code == 400
        assert fresh(Signature, item.id).state is SignatureState.fraudulent
        assert fresh(Invalidation, job.id).state is JobState.pending
        assert len(invalidations()) == 1

        token = _token(client, "/console/moderation")
        assert client.post(accept, data={"csrf_token": token}).status_code == 303
        assert fresh(Signature, item.id).state is SignatureState.pending


def _form_as_rendered(html: str) -> dict[str, str]:
    """What a browser sends for the invalidation form as rendered: its inputs
    (the hidden token included) and the selected option of each select."""
    form = html[html.index('<form method="post" action="/console/moderation/invalidations/new"') :]
    form = form[: form.index("</form>")]
    data = {}
    for tag in re.findall(r"<input[^>]*>", form):
        name = re.search(r'name="([^"]+)"', tag)
        value = re.search(r'value="([^"]*)"', tag)
        if name:
            data[name.group(1)] = value.group(1) if value else ""
    for name, options in re.findall(r'<select[^>]*name="([^"]+)"[^>]*>(.*?)</select>', form, re.S):
        selected = re.search(r'<option selected value="([^"]*)"', options)
        data[name] = selected.group(1) if selected else ""
    return data


def test_the_form_prefilled_from_trending_submits_as_rendered(
    tmp_path: Path, database_url: Callable[[str], str]
) -> None:
    """The trending page links to a pre-filled form (a GET): it carries a
    token, so its first submission previews instead of failing."""
    with csrf_app(tmp_path, database_url) as app:
        fresh_globals_per_request(app)
        console = make_console()
        burst = hash_ip("203.0.113.7").hex()
        for _ in range(6):
            signature(console.campaign, state=SignatureState.validated, ip="203.0.113.7")
        trending_flag(console.campaign, "ip", burst)
        client = _organizer_client(app, console.organizer)

        page = client.get(
            "/console/moderation/invalidations/new",
            query_string={"campaign": console.campaign.slug, "ip_hash": burst},
            headers={"Accept-Language": "en"},
        ).get_data(as_text=True)
        data = _form_as_rendered(page)
        assert data["csrf_token"] and data["ip_hash"] == burst
        assert data["campaign"] == console.campaign.slug
        response = client.post(
            "/console/moderation/invalidations/new",
            data={**data, "action": "preview"},
            headers={"Accept-Language": "en"},
        )
        assert response.status_code == 200
        assert "6 signatures meet these conditions now." in response.get_data(as_text=True)
