"""Every form that posts carries its CSRF token as the page renders it: with
protection on, every GET page of the map (public and console, as every role)
is read, and each <form method="post"> in it must hold a csrf_token input.
A form without one fails for everybody who submits it (a 400), or worse,
shows that the route does not check the token."""

from __future__ import annotations

from html.parser import HTMLParser

from flask import Flask

from .rendered_support import get_every_page, role_clients
from .routes_support import make_world


class _Forms(HTMLParser):
    """The post forms of a page, each with whether it holds a csrf_token input."""

    def __init__(self) -> None:
        super().__init__()
        self.forms: list[tuple[str, bool]] = []
        self._open: list[list[object]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = dict(attrs)
        if tag == "form":
            method = (values.get("method") or "get").lower()
            self._open.append([method, values.get("action") or "", False])
        elif tag == "input" and values.get("name") == "csrf_token" and self._open:
            self._open[-1][2] = bool(values.get("value"))

    def handle_endtag(self, tag: str) -> None:
        if tag == "form" and self._open:
            method, action, has_token = self._open.pop()
            if method == "post":
                self.forms.append((str(action), bool(has_token)))


def test_every_post_form_as_rendered_holds_a_csrf_token(app: Flask) -> None:
    app.config["WTF_CSRF_ENABLED"] = True
    world = make_world(app)
    clients = role_clients(app, world)
    missing: set[str] = set()
    forms = pages = 0
    for answer in get_every_page(app, world, clients):
        if answer.response.mimetype != "text/html" or answer.response.status_code >= 400:
            continue
        pages += 1
        parser = _Forms()
        parser.feed(answer.response.get_data(as_text=True))
        for action, has_token in parser.forms:
            forms += 1
            if not has_token:
                missing.add(f"{answer.endpoint} ({answer.role}): form posting to {action!r}")
    print(f"\nrendered pages: {pages}, post forms: {forms}")
    # The test can see forms at all: the login page and the campaign page have one.
    assert pages > 50 and forms > 50, (pages, forms)
    assert not missing, "post forms without a CSRF token:\n" + "\n".join(sorted(missing))
