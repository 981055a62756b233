"""Celery, set up the Flask way: one Celery app per Flask app, every task run
inside an app context. Without ``REDIS_URL`` tasks run in-process (eager).
The beat schedule and the routes come from the registry (``jobs.py``); the
tasks themselves are the worker modules', which ``create_app``'s package
imports."""

from __future__ import annotations

from typing import Any

from celery import Celery, Task
from flask import Flask

from .jobs import DEFAULT_QUEUE, PERIODIC_JOBS


def beat_schedule(app: Flask) -> dict[str, dict[str, Any]]:
    """Celery beat's schedule: every periodic job at its configured interval."""
    schedule = {}
    for job in PERIODIC_JOBS:
        seconds = job.interval(app.config)
        schedule[job.beat_entry] = {
            "task": job.task,
            "schedule": seconds,
            # A periodic run that waited longer than its period is useless: expire it.
            "options": {"queue": job.queue, "expires": max(seconds * 5, 5)},
        }
    return schedule


def init_celery(app: Flask) -> Celery:
    class FlaskTask(Task):  # type: ignore[misc]
        def __call__(self, *args: Any, **kwargs: Any) -> Any:
            with app.app_context():
                return self.run(*args, **kwargs)

    celery = Celery(app.import_name, task_cls=FlaskTask)
    celery.conf.update(
        broker_url=app.config["REDIS_URL"] or "memory://",
        task_always_eager=app.config["TASKS_EAGER"],
        task_eager_propagates=True,
        task_ignore_result=True,
        # A task is acknowledged only once done; a killed worker's task comes back.
        task_acks_late=True,
        task_reject_on_worker_lost=True,
        worker_prefetch_multiplier=1,
        task_default_queue=DEFAULT_QUEUE,
        task_serializer="json",
        accept_content=["json"],
        broker_connection_retry_on_startup=True,
        broker_transport_options={"visibility_timeout": 900},
        # The web never waits on the broker: a failed publish leaves the outbox row.
        task_publish_retry=False,
        worker_hijack_root_logger=False,
        beat_schedule=beat_schedule(app),
        task_routes={job.task: {"queue": job.queue} for job in PERIODIC_JOBS},
    )
    celery.set_default()
    app.extensions["celery"] = celery
    return celery
