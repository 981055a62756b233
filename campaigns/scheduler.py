"""Periodic jobs on the embedded default: a daemon thread in the web process
runs what Celery beat runs in production, from the same registry
(``jobs.py``) at the same configured intervals."""

from __future__ import annotations

import logging
import threading
import time

from celery import Task
from flask import Flask

from .extensions import db
from .jobs import PERIODIC_JOBS

log = logging.getLogger(__name__)
_started = False
_lock = threading.Lock()


def embedded_jobs(app: Flask) -> list[tuple[float, Task]]:
    """The periodic jobs beat runs in production, each with its interval."""
    tasks = app.extensions["celery"].tasks
    return [(job.interval(app.config), tasks[job.task]) for job in PERIODIC_JOBS]


def _loop(app: Flask) -> None:
    jobs = embedded_jobs(app)
    last = [0.0] * len(jobs)
    while True:
        now = time.monotonic()
        for i, (period, task) in enumerate(jobs):
            job_id = task.name  # a Celery task name such as zaytoun.relay_outbox
            if now - last[i] < period:
                continue
            last[i] = now
            with app.app_context():
                try:
                    task()  # in this thread, as a plain call: no broker, no retry loop
                except Exception:
                    log.exception("periodic job %s failed", job_id)
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
