"""Periodic jobs: Celery beat in production and the embedded scheduler on the
default run the same tasks, each at the interval its setting gives."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from flask import Flask

from campaigns import create_app
from campaigns.jobs import PERIODIC_QUEUE
from campaigns.scheduler import embedded_jobs
from tests.conftest import base_config

# Each interval setting, and a value unlike every default and every other one:
# a job run at a hard-coded or another job's interval shows.
INTERVALS = {
    "RELAY_INTERVAL_SECONDS": 1.25,
    "COUNT_INTERVAL_SECONDS": 0.75,
    "MAIL_DELIVER_SECONDS": 17.0,
    "REQUEUE_INTERVAL_SECONDS": 61.0,
    "TRENDING_INTERVAL_SECONDS": 62.0,
    "CLOSING_INTERVAL_SECONDS": 64.0,
    "NOTICES_INTERVAL_SECONDS": 65.0,
    "RETENTION_INTERVAL_SECONDS": 301.0,
    "LEDGER_INTERVAL_SECONDS": 602.0,
}
EXPECTED = {
    "zaytoun.relay_outbox": 1.25,
    "zaytoun.update_signature_counts": 0.75,
    "zaytoun.deliver_due_emails": 17.0,
    "zaytoun.requeue_stale_work": 61.0,
    "zaytoun.detect_trending_signatures": 62.0,
    "zaytoun.close_due_campaigns": 64.0,
    "zaytoun.notify_campaign_notices": 65.0,
    "zaytoun.erase_expired_personal_data": 301.0,
    "zaytoun.publish_ledger": 602.0,
}


@pytest.fixture
def configured(tmp_path: Path) -> Iterator[Flask]:
    yield create_app({**base_config(tmp_path, "sqlite://"), **INTERVALS})


def test_beat_runs_every_periodic_job_at_its_configured_interval(configured: Flask) -> None:
    schedule = configured.extensions["celery"].conf.beat_schedule
    assert {entry["task"]: entry["schedule"] for entry in schedule.values()} == EXPECTED
    assert all(entry["options"]["queue"] == PERIODIC_QUEUE for entry in schedule.values())


def test_the_embedded_scheduler_runs_what_beat_runs(configured: Flask) -> None:
    schedule = configured.extensions["celery"].conf.beat_schedule
    beat = sorted((entry["task"], entry["schedule"]) for entry in schedule.values())
    embedded = sorted((task.name, seconds) for seconds, task in embedded_jobs(configured))
    assert embedded == beat
    assert dict(embedded) == EXPECTED


def test_periodic_tasks_are_routed_to_the_periodic_queue(configured: Flask) -> None:
    routes = configured.extensions["celery"].conf.task_routes
    assert routes == {task: {"queue": PERIODIC_QUEUE} for task in EXPECTED}
    tasks = configured.extensions["celery"].tasks
    assert set(EXPECTED) <= set(tasks)


def test_the_defaults_keep_the_intervals_documented(tmp_path: Path) -> None:
    app = create_app(base_config(tmp_path, "sqlite://"))
    intervals = {task.name: seconds for seconds, task in embedded_jobs(app)}
    assert intervals["zaytoun.relay_outbox"] == 1.0
    assert intervals["zaytoun.update_signature_counts"] == 0.5
    assert intervals["zaytoun.erase_expired_personal_data"] == 300.0
    assert intervals["zaytoun.publish_ledger"] == 600.0


def test_the_embedded_scheduler_can_run_each_job_as_a_plain_call(app: Flask) -> None:
    # What its thread does each period: no broker, no argument, a count back.
    results = {task.name: task() for _, task in embedded_jobs(app)}
    assert set(results) == set(EXPECTED)
    assert all(isinstance(result, int) for result in results.values())
