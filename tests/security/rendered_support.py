"""Every GET page of the URL map, as each role sees it: for the tests that
read what the pages carry (forms, cookies)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from flask import Flask
from flask.testing import FlaskClient
from werkzeug.test import TestResponse

from tests.factories import code_for

from .routes_support import World, log_in

# Anonymous, then each console role from the least privileged up.
ROLES = ("visitor", "partner", "other_organizer", "organizer", "admin")


def role_clients(app: Flask, world: World) -> dict[str, FlaskClient]:
    """A client per role, logged in through the login form (the visitor stays
    anonymous)."""
    clients = {role: app.test_client() for role in ROLES}
    for role, client in clients.items():
        if role == "visitor":
            continue
        account = getattr(world.console, role)
        log_in(client, account.email, code_for(account))
    return clients


@dataclass(frozen=True)
class Answer:
    endpoint: str
    url: str
    role: str
    response: TestResponse


def get_every_page(
    app: Flask, world: World, clients: dict[str, FlaskClient], console: bool = True
) -> Iterator[Answer]:
    """GET every rule of the map that takes GET, in every language, as every
    role (the console's rules only when ``console``)."""
    for rule in sorted(app.url_map.iter_rules(), key=lambda r: (r.rule, r.endpoint)):
        if "GET" not in (rule.methods or set()):
            continue
        if rule.rule.startswith("/console") and not console:
            continue
        languages = app.config["LANGUAGES"] if "lang" in rule.arguments else ["ar"]
        for lang in languages:
            url = world.url(app, rule.endpoint, lang)
            for role, client in clients.items():
                yield Answer(rule.endpoint, url, role, client.get(url))
