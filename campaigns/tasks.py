"""Celery, set up the Flask way: one Celery app per Flask app, every task run
inside an app context. Without ``REDIS_URL`` tasks run in-process (eager)."""

from __future__ import annotations

from typing import Any

from celery import Celery, Task
from flask import Flask

# Periodic jobs go to their own queue so a backlog of signatures never delays
# the counts or the outbox relay.
PERIODIC_QUEUE = "periodic"
DEFAULT_QUEUE = "zaytoun"


def beat_schedule(app: Flask) -> dict[str, dict[str, Any]]:
    def every(seconds: float, task: str) -> dict[str, Any]:
        # A periodic run that waited longer than its period is useless: expire it.
        return {
            "task": task,
            "schedule": seconds,
            "options": {"queue": PERIODIC_QUEUE, "expires": max(seconds * 5, 5)},
        }

    schedule = {
        "relay-outbox": every(app.config["RELAY_INTERVAL_SECONDS"], "zaytoun.relay_outbox"),
        "update-signature-counts": every(
            app.config["COUNT_INTERVAL_SECONDS"], "zaytoun.update_signature_counts"
        ),
        "deliver-due-emails": every(
            app.config.get("MAIL_DELIVER_SECONDS", 15), "zaytoun.deliver_due_emails"
        ),
        "requeue-stale-signatures": every(
            app.config.get("REQUEUE_INTERVAL_SECONDS", 60), "zaytoun.requeue_stale_signatures"
        ),
    }
    for name, (seconds, task) in feature_periodic_jobs().items():
        schedule[name] = every(seconds, task)
    return schedule


# Worker modules besides workers.tasks; each may declare PERIODIC jobs.
TASK_MODULES = ("workers.tasks", "workers.moderation", "workers.exports", "workers.updates")


def feature_periodic_jobs() -> dict[str, tuple[float, str]]:
    import importlib

    jobs: dict[str, tuple[float, str]] = {}
    for module in TASK_MODULES[1:]:
        jobs.update(getattr(importlib.import_module(module), "PERIODIC", {}))
    return jobs


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
        task_routes={
            "zaytoun.relay_outbox": {"queue": PERIODIC_QUEUE},
            "zaytoun.update_signature_counts": {"queue": PERIODIC_QUEUE},
            "zaytoun.deliver_due_emails": {"queue": PERIODIC_QUEUE},
            "zaytoun.requeue_stale_signatures": {"queue": PERIODIC_QUEUE},
            **{task: {"queue": PERIODIC_QUEUE} for _, task in feature_periodic_jobs().values()},
        },
    )
    celery.set_default()
    app.extensions["celery"] = celery

    import importlib

    for module in TASK_MODULES:  # registers the tasks on this app
        importlib.import_module(module)

    return celery
