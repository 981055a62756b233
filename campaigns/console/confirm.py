"""A confirmation page before a broadcast or destructive console action, with
no JavaScript: the first POST of the action's own form (or a direct POST)
shows what it would do, in numbers; only a POST of that page's form, which
repeats the action's fields with ``confirm=1`` and the figure shown, acts.
When the figure has changed since (more signers, another open campaign), the
confirmation is stale: the page is shown again with the new figure."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from flask import render_template, request
from flask.typing import ResponseReturnValue

CONFIRM, FIGURE = "confirm", "figure"
# Not repeated on the confirmation page: its own fields carry these.
_OWN_FIELDS = frozenset({"csrf_token", CONFIRM, FIGURE})


@dataclass(frozen=True)
class Confirmation:
    """What the page says: the question, the effect in numbers, the words of
    the (danger) button and where cancelling goes back to."""

    title: str
    effect: str
    button: str
    cancel: str
    # The number the effect is about; None when nothing can go stale.
    figure: int | None = None
    details: Sequence[str] = field(default_factory=tuple)


def confirmed(figure: int | None) -> bool:
    """Whether this POST confirms the action as it stands now: ``confirm=1``
    and, when the action has a figure, the same figure the page showed."""
    if request.form.get(CONFIRM) != "1":
        return False
    return figure is None or request.form.get(FIGURE, "").strip() == str(figure)


def ask(confirmation: Confirmation) -> ResponseReturnValue:
    """The confirmation page (200), or, for a confirmation of a figure that
    has changed since, the same page with the new figure and a warning (409)."""
    stale = request.form.get(CONFIRM) == "1"
    repeated = [
        (name, value)
        for name, value in request.form.items(multi=True)
        if name not in _OWN_FIELDS
    ]
    page = render_template(
        "console/confirm.html", confirmation=confirmation, repeated=repeated, stale=stale
    )
    return page, 409 if stale else 200
