"""The transactional outbox: tasks are written in the same transaction as the
data they act on, and published only once that transaction has committed."""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from celery import current_app as current_celery
from flask import current_app
from sqlalchemy import delete, insert, select

from .extensions import db
from .models import OutboxMessage

# Outbox task name → Celery task taking a list of ids.
TASKS = {
    "validate_signature": "zaytoun.validate_signatures",
    "notify_duplicate_signature": "zaytoun.notify_duplicate_signatures",
}
CHUNK = 50


def enqueue(task: str, object_id: int) -> None:
    """Add a task to the current transaction's outbox (flush only)."""
    enqueue_all(task, [object_id])


def enqueue_all(task: str, object_ids: list[int]) -> None:
    """Add a task for each of ``object_ids``, in one statement (flush only)."""
    if task not in TASKS:
        raise ValueError(f"unknown outbox task {task!r}")
    if object_ids:
        db.session.execute(
            insert(OutboxMessage), [{"task": task, "object_id": oid} for oid in object_ids]
        )


def relay_outbox(limit: int = 2000) -> int:
    """Publish up to ``limit`` outbox rows in chunks and delete them; returns how many.

    Publishing happens before the delete commits, so a crash in between publishes
    again (the tasks are idempotent) rather than losing anything. In-process mode
    runs the tasks after the commit instead.
    """
    rows = db.session.execute(
        select(OutboxMessage.id, OutboxMessage.task, OutboxMessage.object_id)
        .order_by(OutboxMessage.id)
        .limit(limit)
        .with_for_update(skip_locked=True)
    ).all()
    if not rows:
        db.session.rollback()
        return 0
    by_task: dict[str, list[int]] = defaultdict(list)
    for row in rows:
        by_task[row.task].append(row.object_id)
    deferred: list[tuple[Any, list[int]]] = []
    eager = current_app.config["TASKS_EAGER"]
    for task, object_ids in by_task.items():
        celery_task = current_celery.tasks[TASKS[task]]
        for start in range(0, len(object_ids), CHUNK):
            chunk = object_ids[start : start + CHUNK]
            if eager:
                deferred.append((celery_task, chunk))
            else:
                celery_task.apply_async(args=[chunk])
    db.session.execute(delete(OutboxMessage).where(OutboxMessage.id.in_([r.id for r in rows])))
    db.session.commit()
    for celery_task, chunk in deferred:
        celery_task.apply(args=[chunk])
    return len(rows)
