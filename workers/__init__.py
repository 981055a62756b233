"""Celery workers: ``celery -A workers worker`` (and ``beat``).

The Celery app is built from the Flask app on first access, not at import:
``celery -A workers`` reads ``workers.app``, which builds it then.

The modules here bind each task name of the registry (``campaigns/jobs.py``)
to the plain function of ``campaigns`` it runs, which the tests call
directly: a task takes ids (or nothing, for a periodic job), runs in the app
context (``campaigns.tasks.FlaskTask``), and is idempotent.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import cache
from typing import Any

from celery import shared_task
from sqlalchemy.exc import OperationalError

# A database hiccup is worth retrying; anything else is a bug to see in the logs.
RETRY = {
    "autoretry_for": (OperationalError,),
    "retry_backoff": 2,
    "retry_backoff_max": 120,
    "max_retries": 8,
}


def task(name: str, function: Callable[..., Any], *, retry: bool = False) -> Any:
    """Register ``function`` as the Celery task ``name`` (retried on database
    errors with ``retry``); its docstring is the task's."""
    return shared_task(name=name, **(RETRY if retry else {}))(function)


@cache
def _celery() -> Any:
    from campaigns import create_app

    return create_app().extensions["celery"]


def __getattr__(name: str) -> Any:
    if name in {"app", "celery"}:
        return _celery()
    raise AttributeError(name)
