"""Every console action ends with a translated message (console/notices.py):
each valid submission of ``routes_support.STEPS`` to a console route is
posted in order, as deployed (with its CSRF token), and the page it lands on
must say what happened in a ``role="status"`` line, in Arabic. A console
write route that does not redirect to a page with a message must be listed
in ``WITHOUT_MESSAGE`` with its reason; a new route without either fails."""

from __future__ import annotations

import re

from flask import Flask

from tests.security.routes_support import (
    STEPS,
    actor_clients,
    csrf_token,
    make_world,
    quick_delivery_document,
    state_changing_routes,
    submit,
)

# Step name -> why its answer is not followed by a message.
WITHOUT_MESSAGE = {
    "log in": "logging in opens the dashboard (or the second factor's setup)",
    "show a key to scan": "the answer is the page with the key to scan, which says what to do",
    "make the delivery document": "a download: the file is the answer",
    "export signatures": "a download (or the page asking for a second admin's approval)",
    "collect a one-time grant": "the answer is the page showing the one-time link, once",
    "use a one-time grant": "a download or the revealed queue: the data asked for is the answer",
    "send a kiosk's queue": "the kiosk's script reads the JSON answer and says what was stored",
    "show a sheet's collector": "the answer is the page showing the collector, once",
}
NOTICE = re.compile(r'<p class="notice notice-done" role="status">([^<]+)</p>')


def test_every_console_action_says_what_it_did(app: Flask) -> None:
    app.config["WTF_CSRF_ENABLED"] = True
    console_routes = {r for r in state_changing_routes(app) if r[0].startswith("console_")}
    stepped = {(s.endpoint, s.method) for s in STEPS if s.endpoint.startswith("console_")}
    assert console_routes <= stepped, console_routes - stepped
    assert set(WITHOUT_MESSAGE) <= {s.name for s in STEPS}, "a listed step no longer exists"

    world = make_world(app)
    clients = actor_clients(app, world)
    checked, silent = [], []
    with quick_delivery_document():
        for step in STEPS:
            client = clients[step.actor]
            client.set_cookie("lang", "ar")
            response = submit(app, world, client, step, token=csrf_token(client))
            if not step.endpoint.startswith("console_") or step.name in WITHOUT_MESSAGE:
                continue
            location = response.headers.get("Location")
            page = client.get(location).get_data(as_text=True) if location else ""
            found = NOTICE.search(page)
            # A message in Arabic letters: translated, not the English text.
            if response.status_code == 303 and found and re.search(r"[\u0600-\u06FF]", found[1]):
                checked.append(step.name)
            else:
                silent.append(f"{step.name} ({step.endpoint}): {response.status_code} {location}")
    assert silent == [], "console actions without a message:\n" + "\n".join(silent)
    # Every message-bearing step was seen (the loop did run).
    expected = {
        s.name for s in STEPS if s.endpoint.startswith("console_") and s.name not in WITHOUT_MESSAGE
    }
    assert set(checked) == expected
