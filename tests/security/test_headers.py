"""Security headers over every route of the URL map. Each rule is requested
with GET (in every language, over HTTP and HTTPS, as the role that may see
it), plus the POST answers that show what a person typed or a personal
link. Every response is nosniff and carries HSTS exactly when it came over
HTTPS; every HTML response has a strict Content-Security-Policy, refuses
framing (but for the embed widget) and a Referrer-Policy; pages with personal
data are never stored by caches. A new route of the map that is neither
checked nor exempted below fails the test."""

from __future__ import annotations

from collections import Counter, defaultdict
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient
from werkzeug.test import TestResponse

from campaigns import create_app
from campaigns.extensions import db
from tests.conftest import base_config
from tests.console.test_authorization_matrix import POLICY
from tests.factories import code_for
from tests.signing.support import valid_form

from .routes_support import World, log_in, make_world, url_takes_get

SCHEMES = {"http": "http://localhost", "https": "https://localhost"}
# Routes not requested here, each with the reason (none today: every rule of
# the map can be built from the world in routes_support).
EXEMPT: dict[str, str] = {}
# The only page partner sites may frame.
FRAMEABLE = {"embed.widget"}
# Pages that show what a signer typed or carry a personal link (confirm and
# unsubscribe tokens); every /console page is personal too.
PERSONAL = {"signing.thanks", "signing.confirm", "updates.unsubscribe_page"}
# Console pages open to anyone (the way in), and the one for a logged-in user
# without a second factor yet; the others follow the authorization matrix.
CONSOLE_ACTORS = {
    "console_auth.login": "visitor",
    "console_auth.logout": "organizer",
    "console_auth.totp_setup": "organizer",
}
# Never the path (which may hold a token) to another site.
STRICT_REFERRERS = {
    "no-referrer",
    "same-origin",
    "strict-origin",
    "strict-origin-when-cross-origin",
}
HSTS_MIN_AGE = 31_536_000  # a year


def _actor(endpoint: str) -> str:
    """The role that may see the route: anonymous for public pages, the least
    privileged console role its policy allows."""
    if not endpoint.startswith("console_"):
        return "visitor"
    if endpoint in CONSOLE_ACTORS:
        return CONSOLE_ACTORS[endpoint]
    allowed = POLICY[endpoint]  # KeyError: a console route with no policy
    return "organizer" if "organizer" in allowed else "admin"


def _csp(value: str) -> dict[str, list[str]]:
    directives: dict[str, list[str]] = {}
    for part in value.split(";"):
        words = part.split()
        if words:
            directives[words[0].lower()] = words[1:]
    return directives


class Checker:
    """Checks responses and counts, per rule, the routes and responses it held for."""

    def __init__(self) -> None:
        self.routes: dict[str, set[str]] = defaultdict(set)
        self.responses: Counter[str] = Counter()
        self.failures: list[str] = []

    def _rule(self, rule: str, endpoint: str, ok: bool, where: str, detail: str = "") -> None:
        self.routes[rule].add(endpoint)
        self.responses[rule] += 1
        if not ok:
            self.failures.append(f"{where}: {rule} {detail}".rstrip())

    def check(
        self, response: TestResponse, endpoint: str, scheme: str, where: str, personal: bool
    ) -> None:
        headers = response.headers
        where = f"{where} [{scheme} {response.status_code}]"
        nosniff = headers.get("X-Content-Type-Options", "").lower() == "nosniff"
        self._rule("nosniff", endpoint, nosniff, where)
        hsts = headers.get("Strict-Transport-Security")
        if scheme == "https":
            max_age = 0
            for part in (hsts or "").split(";"):
                name, _, value = part.strip().partition("=")
                if name.lower() == "max-age" and value.isdigit():
                    max_age = int(value)
            self._rule("HSTS over HTTPS", endpoint, max_age >= HSTS_MIN_AGE, where, repr(hsts))
        else:
            self._rule("no HSTS over HTTP", endpoint, hsts is None, where, repr(hsts))
        if personal:
            cache = {d.strip().lower() for d in headers.get("Cache-Control", "").split(",")}
            self._rule("no-store", endpoint, "no-store" in cache, where, repr(cache))
        if response.mimetype == "text/html":
            self._check_html(headers.get("Content-Security-Policy"), response, endpoint, where)

    def _check_html(
        self, policy: str | None, response: TestResponse, endpoint: str, where: str
    ) -> None:
        csp = _csp(policy or "")
        self._rule("CSP present", endpoint, bool(policy), where)
        for directive in ("script-src", "style-src"):
            sources = csp.get(directive, csp.get("default-src"))
            strict = sources is not None and not {"'unsafe-inline'", "'unsafe-eval'"} & {
                s.lower() for s in sources
            }
            self._rule(f"{directive} without unsafe-inline", endpoint, strict, where, repr(sources))
        self._rule(
            "object-src 'none'",
            endpoint,
            csp.get("object-src") == ["'none'"],
            where,
            repr(csp.get("object-src")),
        )
        base = csp.get("base-uri")
        self._rule("base-uri 'none'", endpoint, base in (["'none'"], ["'self'"]), where, repr(base))
        framing = csp.get("frame-ancestors")
        frame_options = response.headers.get("X-Frame-Options")
        if endpoint in FRAMEABLE:
            self._rule(
                "embed frameable (no frame-ancestors, no X-Frame-Options)",
                endpoint,
                framing is None and frame_options is None,
                where,
                f"{framing!r} {frame_options!r}",
            )
        else:
            self._rule(
                "frame-ancestors 'none'", endpoint, framing == ["'none'"], where, repr(framing)
            )
        referrer = response.headers.get("Referrer-Policy", "").strip().lower()
        self._rule("Referrer-Policy", endpoint, referrer in STRICT_REFERRERS, where, repr(referrer))

    def report(self, engine: str) -> str:
        lines = [f"\nheaders [{engine}]: routes checked (responses) per rule"]
        for rule in sorted(self.routes):
            lines.append(f"  {rule}: {len(self.routes[rule])} ({self.responses[rule]})")
        return "\n".join(lines)


def _clients(
    app: Flask, world: World, actors: tuple[str, ...]
) -> dict[str, dict[str, FlaskClient]]:
    """Per scheme, a client per actor, each logged in over that scheme (the
    visitor stays anonymous)."""
    clients: dict[str, dict[str, FlaskClient]] = {}
    for scheme, base_url in SCHEMES.items():
        people = {name: app.test_client() for name in actors}
        for name, client in people.items():
            if name == "visitor":
                continue
            who = getattr(world.console, name)
            log_in(client, who.email, code_for(who), base_url=base_url)
        clients[scheme] = people
    return clients


def _languages(app: Flask, arguments: set[str]) -> list[str]:
    return list(app.config["LANGUAGES"]) if "lang" in arguments else ["ar"]


# Who requests each route: in `make test`, the role that may use it (and the
# visitor for the personal POSTs); in `make chaos`, every role and anonymous
# visitors too, so that redirects, 403 and 404 answers are checked as well.
SHORT = ("visitor", "organizer", "admin")
LONG = ("visitor", "partner", "other_organizer", "organizer", "admin")


@pytest.mark.parametrize(
    "actors",
    [pytest.param(SHORT, id="short"), pytest.param(LONG, id="long", marks=pytest.mark.chaos)],
)
def test_every_route_has_the_security_headers(app: Flask, actors: tuple[str, ...]) -> None:
    world = make_world(app)
    clients = _clients(app, world, actors)
    everyone = actors == LONG
    checker = Checker()
    checked: set[str] = set()
    unexpected: list[str] = []
    for rule in sorted(app.url_map.iter_rules(), key=lambda r: (r.rule, r.endpoint)):
        endpoint = rule.endpoint
        if endpoint in EXEMPT:
            continue
        personal = endpoint in PERSONAL or rule.rule.startswith("/console")
        for lang in _languages(app, set(rule.arguments)):
            url = world.url(app, endpoint, lang)
            for scheme, base_url in SCHEMES.items():
                actor = _actor(endpoint)
                response = clients[scheme][actor].get(url, base_url=base_url)
                if "GET" in (rule.methods or set()):
                    ok = response.status_code < 400  # the page itself, not an error page
                else:
                    ok = response.status_code == 405 or url_takes_get(app, url)
                if not ok:
                    unexpected.append(f"GET {url} as {actor}: {response.status_code}")
                checker.check(response, endpoint, scheme, f"GET {url} as {actor}", personal)
                for other in actors if everyone else ():
                    if other != actor:
                        response = clients[scheme][other].get(url, base_url=base_url)
                        where = f"GET {url} as {other}"
                        checker.check(response, endpoint, scheme, where, personal)
        checked.add(endpoint)

    # What a signer typed, shown again: the sign form with an error, a wrong
    # console login; and the answers to the personal links' buttons.
    campaign = world.url(app, "signing.sign")
    for scheme, base_url in SCHEMES.items():
        visitor = clients[scheme]["visitor"]
        answers = visitor.post(campaign, data=valid_form(region=""), base_url=base_url)
        assert answers.status_code == 422
        assert "Rami.Halabi@gmail.com" in answers.get_data(as_text=True)
        checker.check(answers, "signing.sign", scheme, f"POST {campaign} (answers)", True)
        wrong = {"email": world.console.organizer.email, "password": "not the password"}
        login = visitor.post("/console/login", data=wrong, base_url=base_url)
        assert login.status_code == 401
        checker.check(login, "console_auth.login", scheme, "POST /console/login (refused)", True)
        for endpoint in ("signing.confirm", "updates.unsubscribe_page"):
            url = world.url(app, endpoint)
            answer = visitor.post(url, base_url=base_url)
            assert answer.status_code in (200, 303), (url, answer.status_code)
            checker.check(answer, endpoint, scheme, f"POST {url}", True)
        # A code refused: the thanks page again, with the error.
        url = world.url(app, "signing.confirm_code")
        refused = visitor.post(url, data={"code": "0000 0000"}, base_url=base_url)
        assert refused.status_code == 422, (url, refused.status_code)
        checker.check(refused, "signing.confirm_code", scheme, f"POST {url} (refused)", True)

    # An error page is a page too.
    for scheme, base_url in SCHEMES.items():
        gone = clients[scheme]["visitor"].get("/ar/campaigns/no-such-campaign", base_url=base_url)
        assert gone.status_code == 404
        checker.check(gone, "signing.campaign_page", scheme, "GET (404 page)", False)

    endpoints = {rule.endpoint for rule in app.url_map.iter_rules()}
    print(
        checker.report(db.engine.dialect.name)
        + f"\n  routes of the map: {len(endpoints)}, checked {len(checked)}, exempt {len(EXEMPT)}"
    )
    exempt = set(EXEMPT)
    assert endpoints == checked | exempt, f"unchecked routes: {endpoints - checked - exempt}"
    assert not exempt - endpoints, f"exemptions for routes that are gone: {exempt - endpoints}"
    assert unexpected == [], "\n".join(unexpected)
    assert checker.failures == [], "\n".join(checker.failures)


def test_hsts_follows_only_the_scheme_a_trusted_proxy_reports(app: Flask, tmp_path: Path) -> None:
    """With no trusted proxy, a client's X-Forwarded-Proto is ignored; behind
    one, the scheme it reports decides."""
    spoofed = {"X-Forwarded-Proto": "https"}
    direct = app.test_client().get("/ar/", headers=spoofed)
    assert direct.status_code == 200
    assert "Strict-Transport-Security" not in direct.headers

    settings = base_config(tmp_path, app.config["SQLALCHEMY_DATABASE_URI"])
    proxied = create_app({**settings, "TRUSTED_PROXIES": 1})
    try:
        client = proxied.test_client()
        assert "Strict-Transport-Security" in client.get("/ar/", headers=spoofed).headers
        assert "Strict-Transport-Security" not in client.get("/ar/").headers
    finally:
        with proxied.app_context():
            db.engine.dispose()
