"""The message after every console action: one translated line, shown once on
the page the action redirects to (Flask's message flashing, in the signed
session cookie). Every POST view of the console that changes something calls
``done`` or ``failed`` before it redirects; the console's base template shows
the messages (``role="status"``, or ``role="alert"`` for a failure)."""

from __future__ import annotations

from flask import flash


def done(message: str) -> None:
    """The action worked: say what it changed, in the reader's language."""
    flash(str(message), "done")


def failed(message: str) -> None:
    """The action did not happen: say why, and what to do."""
    flash(str(message), "failed")
