"""Celery workers: ``celery -A workers worker`` (and ``beat``).

The Celery app is built from the Flask app on first access, not at import:
``celery -A workers`` reads ``workers.app``, which builds it then.
"""

from __future__ import annotations

from functools import cache
from typing import Any


@cache
def _celery() -> Any:
    from campaigns import create_app

    return create_app().extensions["celery"]


def __getattr__(name: str) -> Any:
    if name in {"app", "celery"}:
        return _celery()
    raise AttributeError(name)
