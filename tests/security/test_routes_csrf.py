"""CSRF over every state-changing route of the URL map, with protection on as
deployed: a POST without a token, a POST with a token from another session,
and a GET to a POST-only route are refused and change nothing, while the same
post with the session's own token goes through. A new state-changing route
without a valid submission in ``routes_support.STEPS`` fails the test."""

from __future__ import annotations

from collections import Counter

import pytest
from flask import Flask
from flask.testing import FlaskClient

from campaigns.extensions import db
from campaigns.models import Signature
from tests.factories import code_for
from tests.moderation.support import PASSWORD, make_console
from tests.signing.support import valid_form

from .routes_support import (
    CSRF_FIELD,
    STEPS,
    Step,
    World,
    actor_clients,
    csrf_token,
    diff,
    logged_in_user,
    make_world,
    one_password_hash,
    quick_delivery_document,
    refused_for_csrf,
    rendered_templates,
    snapshot,
    state_changing_routes,
    steps_by_route,
    submit,
    url_takes_get,
)

# Routes deliberately without a CSRF token, each safe for another reason
# (checked in its own test below):
EXEMPT = {
    # RFC 8058 one-click unsubscribe: mail providers POST
    # "List-Unsubscribe=One-Click" with no token and no cookie. The signed,
    # unguessable token in the URL is the only authority, its holder could
    # unsubscribe anyway, and the POST only ever turns contact_ok off.
    ("updates.unsubscribe_page", "POST"),
}
REFUSED = {400, 403, 405}


def _protected(app: Flask) -> None:
    # The tests' base configuration turns protection off; deployed, it is on.
    app.config["WTF_CSRF_ENABLED"] = True


def _forgeries(
    app: Flask, clients: dict[str, FlaskClient], step: Step, count: int
) -> list[tuple[str, str | None]]:
    """The first ``count`` of: no token, a token from another (anonymous)
    session, one from another logged-in user's session, a token with a
    forged signature, an empty token."""
    stolen = csrf_token(app.test_client())
    assert stolen, "the login page of another session carries no CSRF token"
    forgeries: list[tuple[str, str | None]] = [
        ("no token", None),
        ("another session's token", stolen),
    ]
    if count > len(forgeries):
        colleague = clients["admin" if step.actor != "admin" else "organizer"]
        forged = stolen[:-4] + ("AAAA" if not stolen.endswith("AAAA") else "BBBB")
        forgeries += [
            ("another user's token", csrf_token(colleague)),
            ("a forged token", forged),
            ("an empty token", ""),
        ]
    return forgeries[:count]


def _check_refused(
    app: Flask,
    world: World,
    clients: dict[str, FlaskClient],
    step: Step,
    forgeries: int,
    counts: Counter[str],
) -> list[str]:
    """(a) no token, (b) another session's token (and more forgeries in the
    long run), (c) GET to a POST-only route; the snapshot after each attempt
    is compared with the one before it."""
    failures: list[str] = []
    client = clients[step.actor]
    attempts = _forgeries(app, clients, step, forgeries)
    user_before = logged_in_user(client)
    before = snapshot()
    for label, token in attempts:
        with rendered_templates(app) as seen:
            response = submit(app, world, client, step, token=token)
        after = snapshot()
        changed = diff(before, after)
        before = after
        counts[label] += 1
        where = f"{step.endpoint} ({step.name}), {label}"
        if response.status_code not in REFUSED:
            failures.append(f"{where}: answered {response.status_code}")
        elif not refused_for_csrf(seen):
            failures.append(f"{where}: {response.status_code} but not the CSRF refusal")
        if changed:
            failures.append(f"{where}: changed rows\n{changed.describe()}")
        if logged_in_user(client) != user_before:
            failures.append(f"{where}: changed who is logged in")
    # (c) A GET changes nothing, and where no rule of this URL takes GET, is a 405.
    url = step.url(app, world)
    response = client.get(url)
    if not url_takes_get(app, url):
        counts["GET to a POST-only URL"] += 1
        if response.status_code != 405:
            failures.append(f"{step.endpoint}: GET answered {response.status_code}, not 405")
    counts["GET changing nothing"] += 1
    changed = diff(before, snapshot())
    if changed:
        failures.append(f"{step.endpoint}: GET changed rows\n{changed.describe()}")
    return failures


def _check_goes_through(
    app: Flask, world: World, clients: dict[str, FlaskClient], step: Step
) -> list[str]:
    """The same post with the session's own token is not refused, and changes
    what it exists to change: the refusals above were the only guard."""
    client = clients[step.actor]
    user_before = logged_in_user(client)
    before = snapshot()
    with rendered_templates(app) as seen:
        response = submit(app, world, client, step, token=csrf_token(client))
    changed = diff(before, snapshot())
    where = f"{step.endpoint} ({step.name}) with its own token"
    if refused_for_csrf(seen) or response.status_code not in {200, 302, 303}:
        return [f"{where}: answered {response.status_code}"]
    if step.reads_only:
        return [f"{where}: changed rows\n{changed.describe()}"] if changed else []
    if step.changes_rows and not changed:
        return [f"{where}: changed nothing, so its refusals prove nothing"]
    if not step.changes_rows and logged_in_user(client) == user_before:
        return [f"{where}: the session did not change"]
    return []


# Forged submissions per route: the two the issue names in `make test`, all
# five in `make chaos`.
SHORT, LONG = 2, 5


@pytest.mark.parametrize(
    "forgeries",
    [pytest.param(SHORT, id="short"), pytest.param(LONG, id="long", marks=pytest.mark.chaos)],
)
def test_every_state_changing_route_is_refused_without_its_token(
    app: Flask, forgeries: int
) -> None:
    _protected(app)
    world = make_world(app)
    clients = actor_clients(app, world)
    routes = state_changing_routes(app)
    steps = steps_by_route()
    unchecked = sorted(routes - EXEMPT - set(steps))
    assert not unchecked, f"state-changing routes with no submission in STEPS: {unchecked}"
    assert not (EXEMPT - routes), f"exemptions for routes that are gone: {EXEMPT - routes}"

    failures: list[str] = []
    checked: set[tuple[str, str]] = set()
    counts: Counter[str] = Counter()
    for route in sorted(routes - EXEMPT):
        for step in steps[route]:
            failures += _check_refused(app, world, clients, step, forgeries, counts)
        checked.add(route)
    # Then each submission with its own token, in the order where each changes something.
    with quick_delivery_document():
        for step in STEPS:
            if (step.endpoint, step.method) in checked:
                failures += _check_goes_through(app, world, clients, step)
                counts["own token goes through"] += 1
    assert checked == routes - EXEMPT
    print(
        f"\nCSRF [{db.engine.dialect.name}]: {len(checked)} state-changing routes checked, "
        f"{len(EXEMPT)} exempt; requests: {dict(counts)}; {len(failures)} failures"
    )
    assert failures == [], "\n".join(failures)


def test_one_click_unsubscribe_is_safe_without_a_token(app: Flask) -> None:
    """The exempt route: with no token it acts only on the signature its signed
    URL names, only turning contact_ok off; a forged URL or a GET changes nothing."""
    _protected(app)
    world = make_world(app)
    client = app.test_client()
    url = world.url(app, "updates.unsubscribe_page")
    one_click = {
        "data": "List-Unsubscribe=One-Click",
        "content_type": "application/x-www-form-urlencoded",
    }

    before = snapshot()
    assert client.get(url).status_code == 200
    tampered = url[:-3] + ("AAA" if not url.endswith("AAA") else "BBB")
    assert client.post(tampered, **one_click).status_code == 404
    assert client.post(url.rsplit("/", 1)[0] + "/nonsense", **one_click).status_code == 404
    assert not diff(before, snapshot()), "a GET or a forged link changed rows"

    response = client.post(url, **one_click)
    assert response.status_code == 200
    changed = diff(before, snapshot())
    assert set(changed.added) == {"signatures"} == set(changed.removed), changed.describe()
    (old,) = changed.removed["signatures"]
    (new,) = changed.added["signatures"]
    columns = [c.name for c in Signature.__table__.columns]
    differing = {columns[i] for i, (a, b) in enumerate(zip(old, new, strict=True)) if a != b}
    assert differing == {"contact_ok"}, differing
    assert new[columns.index("contact_ok")] is False
    print(f"\nCSRF [{db.engine.dialect.name}]: 1 exempt route checked (one-click unsubscribe)")


def _referer_for(policy: str, page_url: str) -> str | None:
    """The Referer a browser sends with a form that ``page_url`` posts to its
    own origin, under the page's Referrer-Policy (the last token it knows)."""
    last = policy.split(",")[-1].strip().lower()
    if last == "no-referrer":
        return None
    if last in {"origin", "strict-origin"}:
        scheme, rest = page_url.split("://", 1)
        return f"{scheme}://{rest.split('/', 1)[0]}/"
    return page_url  # every other policy sends a same-origin request its full URL


def test_forms_go_through_over_https_as_browsers_send_them(app: Flask) -> None:
    """Over HTTPS a browser posts the site's forms with the Referer that the
    site's own Referrer-Policy allows (none for no-referrer): the sign form
    and the console login, with their session's token, must go through."""
    _protected(app)
    with one_password_hash():
        console = make_console()
    base = "https://localhost"
    client = app.test_client()
    forms = [
        (
            f"/en/campaigns/{console.campaign.slug}",
            f"/en/campaigns/{console.campaign.slug}/sign",
            valid_form(email="https.signer@example.org", amount=None),
        ),
        (
            "/console/login",
            "/console/login",
            {
                "email": console.organizer.email,
                "password": PASSWORD,
                "code": code_for(console.organizer),
            },
        ),
    ]
    for page_path, action, data in forms:
        page = client.get(page_path, base_url=base)
        token = CSRF_FIELD.search(page.get_data(as_text=True))
        assert token is not None, page_path
        referer = _referer_for(page.headers.get("Referrer-Policy", ""), base + page_path)
        with rendered_templates(app) as seen:
            response = client.post(
                action,
                data={**data, "csrf_token": token.group(1)},
                base_url=base,
                headers={"Referer": referer} if referer else {},
            )
        assert not refused_for_csrf(seen), f"{action} over HTTPS, Referer {referer!r}: refused"
        assert response.status_code == 303, (action, response.status_code)
    print(f"\nCSRF [{db.engine.dialect.name}]: 2 forms posted over HTTPS as a browser sends them")
