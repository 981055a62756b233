"""The one outbox: the relay is the only publisher, a failed publish keeps its
rows, in-process mode runs what someone waits for right after the commit, and
every task name is declared once, in the registry (``campaigns/jobs.py``)."""

from __future__ import annotations

import ast
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from kombu.exceptions import OperationalError as BrokerError
from sqlalchemy import select

from campaigns.extensions import db
from campaigns.jobs import (
    INVALIDATE_SIGNATURES,
    OUTBOX_KINDS,
    PERIODIC_JOBS,
    SEND_UPDATE,
    TASK_PREFIX,
    VALIDATE_SIGNATURE,
)
from campaigns.models import OutboxMessage
from campaigns.outbox import drain_outbox, enqueue, enqueue_all, relay_outbox
from tests.conftest import _app_on_emptied_database, base_config

ROOT = Path(__file__).resolve().parents[2]
TASK_NAMES = {kind.task for kind in OUTBOX_KINDS.values()} | {job.task for job in PERIODIC_JOBS}


def outbox_rows() -> list[tuple[str, int]]:
    rows = db.session.execute(
        select(OutboxMessage.task, OutboxMessage.object_id).order_by(OutboxMessage.id)
    ).all()
    return [(task, object_id) for task, object_id in rows]


@pytest.fixture
def brokered(
    engine_name: str, database_url: Callable[[str], str], tmp_path: Path
) -> Iterator[Flask]:
    """The app as deployed with a broker: the relay publishes, nothing runs here."""
    settings = {**base_config(tmp_path, database_url(engine_name)), "TASKS_EAGER": False}
    with _app_on_emptied_database(settings) as application:
        yield application


def test_a_failed_publish_keeps_its_rows_for_the_next_run(
    brokered: Flask, monkeypatch: pytest.MonkeyPatch
) -> None:
    tasks = brokered.extensions["celery"].tasks
    published: list[tuple[str, list[Any]]] = []

    def publish(args: list[Any], queue: str) -> None:
        published.append((queue, args))

    def refuse(args: list[Any], queue: str) -> None:
        raise BrokerError("broker unreachable")

    monkeypatch.setattr(tasks[VALIDATE_SIGNATURE.task], "apply_async", publish)
    monkeypatch.setattr(tasks[INVALIDATE_SIGNATURES.task], "apply_async", refuse)
    enqueue_all(VALIDATE_SIGNATURE.name, [1, 2])
    enqueue(INVALIDATE_SIGNATURES.name, 7)
    db.session.commit()
    # With a broker, nothing is published by the commit itself.
    assert published == [] and len(outbox_rows()) == 3

    assert relay_outbox() == 2
    assert published == [("zaytoun", [[1, 2]])]
    assert outbox_rows() == [(INVALIDATE_SIGNATURES.name, 7)]

    # The broker is back: the next run publishes what was left, one id a message.
    monkeypatch.setattr(tasks[INVALIDATE_SIGNATURES.task], "apply_async", publish)
    assert relay_outbox() == 1
    assert published[-1] == ("zaytoun", [7])
    assert outbox_rows() == []


def test_drain_counts_every_batch_it_published_even_the_one_at_its_deadline(
    brokered: Flask, monkeypatch: pytest.MonkeyPatch
) -> None:
    tasks = brokered.extensions["celery"].tasks
    published: list[int] = []
    monkeypatch.setattr(
        tasks[VALIDATE_SIGNATURE.task],
        "apply_async",
        lambda args, queue: published.extend(args[0]),
    )
    enqueue_all(VALIDATE_SIGNATURE.name, list(range(1, 2501)))
    db.session.commit()
    # Out of time after the first batch (2,000 rows): that batch still counts.
    assert drain_outbox(seconds=0) == 2000 == len(published)
    assert drain_outbox(seconds=5) == 500
    assert sorted(published) == list(range(1, 2501)) and outbox_rows() == []


def test_in_process_what_someone_waits_for_runs_right_after_the_commit(
    app: Flask, monkeypatch: pytest.MonkeyPatch
) -> None:
    tasks = app.extensions["celery"].tasks
    ran: list[list[Any]] = []
    monkeypatch.setattr(tasks[SEND_UPDATE.task], "apply", lambda args: ran.append(args))
    enqueue(SEND_UPDATE.name, 5)
    enqueue(VALIDATE_SIGNATURE.name, 6)
    assert ran == []  # not before the commit
    db.session.commit()
    assert ran == [[[5]]]
    # A new signature's checks wait for the periodic relay, which batches them.
    assert outbox_rows() == [(VALIDATE_SIGNATURE.name, 6)]

    # Rolled back, the work is gone with its change: nothing runs later.
    enqueue(SEND_UPDATE.name, 8)
    db.session.rollback()
    enqueue(VALIDATE_SIGNATURE.name, 9)
    db.session.commit()
    assert ran == [[[5]]]
    assert outbox_rows() == [(VALIDATE_SIGNATURE.name, 6), (VALIDATE_SIGNATURE.name, 9)]


def test_every_task_of_ours_is_declared_in_the_registry(app: Flask) -> None:
    registered = {name for name in app.extensions["celery"].tasks if name.startswith("zaytoun.")}
    assert registered == TASK_NAMES
    assert len(TASK_NAMES) == len(OUTBOX_KINDS) + len(PERIODIC_JOBS)


def _modules_where(predicate: Callable[[ast.AST], bool], *folders: str) -> set[str]:
    """The modules under ``folders`` with a node for which ``predicate`` holds."""
    found = set()
    for folder in folders:
        for path in sorted((ROOT / folder).rglob("*.py")):
            tree = ast.parse(path.read_text(), str(path))
            if any(predicate(node) for node in ast.walk(tree)):
                found.add(str(path.relative_to(ROOT)))
    return found


def _imports_workers(node: ast.AST) -> bool:
    if isinstance(node, ast.Import):
        names = [alias.name for alias in node.names]
    elif isinstance(node, ast.ImportFrom) and node.level == 0:
        names = [node.module or ""]
    else:
        return False
    return any(name == "workers" or name.startswith("workers.") for name in names)


def _publishes(node: ast.AST) -> bool:
    return (
        isinstance(node, ast.Call)
        and isinstance(node.func, ast.Attribute)
        and node.func.attr in {"apply_async", "apply", "delay", "send_task"}
    )


def _names_a_task(node: ast.AST) -> bool:
    return isinstance(node, ast.Constant) and node.value in TASK_NAMES | set(OUTBOX_KINDS)


def test_only_the_composition_root_imports_the_workers() -> None:
    assert _modules_where(_imports_workers, "campaigns") == {"campaigns/__init__.py"}


def test_only_the_relay_publishes_to_the_broker() -> None:
    assert _modules_where(_publishes, "campaigns", "workers") == {"campaigns/outbox.py"}


def test_task_names_are_written_only_in_the_registry() -> None:
    # The registry spells the Celery names zaytoun.<job>: nobody spells them out.
    assert _modules_where(_names_a_task, "campaigns", "workers") == {"campaigns/jobs.py"}
    assert all(name.startswith(TASK_PREFIX) for name in TASK_NAMES)
