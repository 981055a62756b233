"""The one registry of periodic jobs. A worker module declares each job once,
with ``periodic_task`` on its task; Celery beat (schedule and routes) and the
embedded scheduler both read this registry, so they run the same tasks at the
intervals the configuration gives."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from celery import shared_task

# Periodic jobs go to their own queue so a backlog of signatures never delays
# the counts or the outbox relay.
PERIODIC_QUEUE = "periodic"


@dataclass(frozen=True)
class PeriodicJob:
    name: str  # the beat entry
    task: str  # the Celery task it runs
    every: str  # the setting that holds the seconds between runs
    queue: str = PERIODIC_QUEUE

    def interval(self, config: Mapping[str, Any]) -> float:
        return float(config[self.every])


_JOBS: dict[str, PeriodicJob] = {}


def periodic_task(
    name: str, *, task: str, every: str, **options: Any
) -> Callable[[Callable[..., Any]], Any]:
    """Declare a Celery task named ``task`` that runs every ``config[every]``
    seconds, as the beat entry ``name``."""
    job = PeriodicJob(name=name, task=task, every=every)
    if _JOBS.setdefault(name, job) != job:
        raise ValueError(f"periodic job {name!r} is declared twice")
    return shared_task(name=task, **options)  # type: ignore[no-any-return]


def periodic_jobs() -> list[PeriodicJob]:
    """Every periodic job, declared by the worker modules as they load."""
    load_task_modules()
    return list(_JOBS.values())


def load_task_modules() -> None:
    """Register the tasks (and their periodic jobs) on the current Celery app."""
    import workers.exports
    import workers.moderation
    import workers.tasks
    import workers.updates  # noqa: F401
