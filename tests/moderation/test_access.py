"""Who may use the moderation pages: managers of a campaign and admins;
partners never; organizers of another organization cannot even tell that a
campaign of someone else exists."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from flask import Flask

from campaigns.extensions import db
from campaigns.models import Invalidation, SignatureState, User
from campaigns.moderation.invalidation import create_invalidation

from .support import Console, logged_in, make_console, signature

# (method, path, form) made from the console's data.
Route = tuple[str, str, dict[str, str] | None]


def _pending_invalidation(app: Flask, console: Console) -> Invalidation:
    with app.test_request_context():
        item = create_invalidation(
            console.campaign.id, {"country": "SY"}, "test", console.organizer
        )
        db.session.commit()
    return item


def campaign_routes(app: Flask, console: Console) -> list[Route]:
    """Routes about ``console.campaign``: each call gets fresh objects."""
    slug = console.campaign.slug
    fraudulent = signature(
        console.campaign, state=SignatureState.fraudulent, fraud_reason="rate_burst"
    )
    flagged = signature(console.campaign, state=SignatureState.validated, flag_reason="trending_ip")
    first = _pending_invalidation(app, console)
    second = _pending_invalidation(app, console)
    base = "/console/moderation"
    return [
        ("GET", f"{base}/campaigns/{slug}", None),
        ("POST", f"{base}/signatures/{fraudulent.uuid}/accept", {}),
        ("POST", f"{base}/signatures/{flagged.uuid}/reject", {}),
        ("GET", f"{base}/invalidations/{first.id}", None),
        ("POST", f"{base}/invalidations/{second.id}/cancel", {}),
        ("GET", f"{base}/invalidations/new?campaign={slug}&country=SY", None),
        (
            "POST",
            f"{base}/invalidations/new",
            {"campaign": slug, "country": "SY", "action": "preview"},
        ),
    ]


GENERAL_ROUTES: list[Route] = [
    ("GET", "/console/moderation", None),
    ("GET", "/console/moderation/invalidations", None),
    ("GET", "/console/moderation/invalidations/new", None),
    ("GET", "/console/moderation/trending", None),
]


def _statuses(app: Flask, who: User | None, console: Console, routes: list[Route]) -> list[int]:
    client = logged_in(app, who, console)
    found = []
    for method, path, form in routes:
        response = client.open(path, method=method, data=form)
        if who is None:
            assert response.status_code == 302
            assert response.headers["Location"].startswith("/console/login")
        found.append(response.status_code)
    return found


def _expect(app: Flask, pick: Callable[[Console], User | None], scoped: list[int], general: int):
    console = make_console()
    who = pick(console)
    assert _statuses(app, who, console, campaign_routes(app, console)) == scoped
    assert _statuses(app, who, console, GENERAL_ROUTES) == [general] * len(GENERAL_ROUTES)


def test_anonymous_visitors_are_sent_to_the_login_page(app: Flask) -> None:
    _expect(app, lambda c: None, [302] * 7, 302)


def test_partners_are_refused_even_on_campaigns_they_cohost(app: Flask) -> None:
    _expect(app, lambda c: c.partner, [403] * 7, 403)


def test_organizers_of_another_organization_do_not_see_the_campaign(app: Flask) -> None:
    _expect(app, lambda c: c.other_organizer, [404] * 7, 200)


@pytest.mark.parametrize("role", ["organizer", "admin"])
def test_managers_use_every_page(app: Flask, role: str) -> None:
    _expect(app, lambda c: getattr(c, role), [200, 303, 303, 200, 303, 200, 200], 200)


def test_an_invalidation_across_campaigns_is_for_admins_only(app: Flask) -> None:
    console = make_console()
    with app.test_request_context():
        item = create_invalidation(None, {"country": "TR"}, "spam", console.admin)
        db.session.commit()
    organizer = logged_in(app, console.organizer)
    assert organizer.get(f"/console/moderation/invalidations/{item.id}").status_code == 404
    assert organizer.post(f"/console/moderation/invalidations/{item.id}/cancel").status_code == 404
    admin = logged_in(app, console.admin, console)
    assert admin.get(f"/console/moderation/invalidations/{item.id}").status_code == 200
