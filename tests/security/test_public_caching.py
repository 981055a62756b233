"""No response that a shared cache may keep sets a cookie: a cache would hand
one person's session (a console login, a CSRF token) to everyone who asks for
the same URL. Every public GET route is requested in every language, by an
anonymous visitor, by one whose session already holds a CSRF token, and by
each console role."""

from __future__ import annotations

from flask import Flask

from .rendered_support import get_every_page, role_clients
from .routes_support import make_world

# The responses that are publicly cacheable today: the test fails if one of
# them stops being requested (or cached), so it cannot pass by seeing none.
CACHED = {
    "results.share_png",
    "embed.widget",
    "api.list_campaigns",
    "api.campaign_detail",
    "api.campaign_count_json",
    "api.openapi",
    "static",
    "site.favicon",
    "site.today",
}


def test_no_publicly_cached_response_sets_a_cookie(app: Flask) -> None:
    app.config["WTF_CSRF_ENABLED"] = True
    world = make_world(app)
    clients = role_clients(app, world)
    # A visitor who has seen a sign form: a CSRF token is in the session.
    reader = clients["reader"] = app.test_client()
    assert reader.get(world.url(app, "signing.campaign_page")).headers.get("Set-Cookie")
    public: set[str] = set()
    leaks: set[str] = set()
    for answer in get_every_page(app, world, clients, console=False):
        response = answer.response
        if not response.cache_control.public:
            continue
        public.add(answer.endpoint)
        if response.headers.getlist("Set-Cookie"):
            leaks.add(f"{answer.endpoint} ({answer.role}): {response.headers['Set-Cookie']}")
    print(f"\npublicly cached routes: {sorted(public)}")
    assert not leaks, "cacheable responses that set a cookie:\n" + "\n".join(sorted(leaks))
    assert not CACHED - public, f"no longer cached or requested: {CACHED - public}"
