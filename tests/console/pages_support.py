"""Every console page, from the URL map: the GET routes of the ``console…``
blueprints with their URL parameters filled from seeded objects. Pages added
later are found the same way; a route with a parameter no test seeds an
object for fails the tests that walk the console, naming it."""

from __future__ import annotations

from typing import Any

from flask import Flask, url_for

# Besides each route as filled: the same page in another state worth its own
# look (the review list with names and addresses shown to an admin).
VARIANTS: dict[str, dict[str, str]] = {
    "console_moderation.index": {"personal": "1"},
    "console_moderation.campaign_queue": {"personal": "1"},
}


def console_get_routes(app: Flask) -> list[tuple[str, list[str]]]:
    """(endpoint, URL parameters) of every GET route of a console blueprint."""
    routes = []
    for rule in app.url_map.iter_rules():
        blueprint = rule.endpoint.rpartition(".")[0]
        if blueprint.startswith("console") and "GET" in (rule.methods or set()):
            routes.append((rule.endpoint, sorted(rule.arguments)))
    return sorted(routes)


def console_pages(app: Flask, objects: dict[str, Any], where: str) -> list[tuple[str, str]]:
    """(page name, path) of every console page and its variants. ``where``
    names the place to seed an object for a parameter nobody fills yet."""
    routes = console_get_routes(app)
    unfilled = [
        f"{endpoint} needs {', '.join(a for a in args if a not in objects)}"
        for endpoint, args in routes
        if any(a not in objects for a in args)
    ]
    assert not unfilled, (
        f"console GET routes the page walker cannot fill (seed the objects in {where}): {unfilled}"
    )
    pages = []
    base_url = app.config.get("SITE_URL") or "http://localhost"
    with app.test_request_context(base_url=base_url):
        for endpoint, args in routes:
            values: dict[str, Any] = {name: objects[name] for name in args}
            name = endpoint.removeprefix("console_").replace(".", "-").replace("_", "-")
            pages.append((name, url_for(endpoint, **values)))
            if endpoint in VARIANTS:
                pages.append(
                    (f"{name}-personal", url_for(endpoint, **{**values, **VARIANTS[endpoint]}))
                )
    return pages
