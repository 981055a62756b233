"""Periodic jobs on the embedded default: a daemon thread in the web process
runs what Celery beat runs in production (outbox relay, counts, email sweep)."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable

from flask import Flask

log = logging.getLogger(__name__)
_started = False
_lock = threading.Lock()


def _jobs() -> list[tuple[float, Callable[[], object]]]:
    from celery import current_app as current_celery

    from .counting.services import update_signature_counts
    from .mail.services import deliver_due_emails
    from .outbox import relay_outbox
    from .signing.validation import requeue_stale_signatures
    from .tasks import feature_periodic_jobs

    jobs: list[tuple[float, Callable[[], object]]] = [
        (0.5, relay_outbox),
        (1.0, update_signature_counts),
        (15.0, deliver_due_emails),
        (60.0, requeue_stale_signatures),
    ]
    for seconds, task in feature_periodic_jobs().values():
        jobs.append((seconds, current_celery.tasks[task].apply))
    return jobs


def _loop(app: Flask) -> None:
    from .extensions import db

    jobs = _jobs()
    last = [0.0] * len(jobs)
    while True:
        now = time.monotonic()
        for i, (period, job) in enumerate(jobs):
            if now - last[i] < period:
                continue
            last[i] = now
            with app.app_context():
                try:
                    job()
                except Exception:
                    log.exception("periodic job %s failed", job.__name__)
                    db.session.rollback()
        time.sleep(0.25)


def start_scheduler(app: Flask) -> None:
    global _started
    with _lock:
        if _started:
            return
        _started = True
    threading.Thread(target=_loop, args=(app,), name="zaytoun-jobs", daemon=True).start()


def init_scheduler(app: Flask) -> None:
    """Start the thread on the first request (not at import, not in CLI commands)."""
    if not app.config["EMBEDDED_SCHEDULER"] or app.config["TESTING"]:
        return

    @app.before_request
    def _ensure_scheduler() -> None:
        if not _started:
            start_scheduler(app)
