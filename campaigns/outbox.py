"""The transactional outbox, the one way work reaches the workers: a task is
written in the same transaction as the change it follows (``enqueue``), and
only the relay (``relay_outbox``) publishes it, once that transaction has
committed. A publish that fails leaves its rows for the relay's next run.

Without a broker (the embedded default, and the tests), tasks run in-process:
the kinds someone waits for (``OutboxKind.after_commit``) right after the
commit that wrote them, the others when the periodic relay comes by."""

from __future__ import annotations

import logging
import time
from collections import defaultdict
from collections.abc import Collection, Iterator
from typing import Any

from celery import current_app as current_celery
from flask import current_app, has_app_context
from sqlalchemy import ColumnElement, Select, String, delete, event, exists, insert, literal, select
from sqlalchemy.orm import InstrumentedAttribute, Session, SessionTransaction

from .extensions import db
from .jobs import OUTBOX_KINDS, OutboxKind
from .models import OutboxMessage

log = logging.getLogger(__name__)

# Ids per task message, for the kinds whose task takes a list.
CHUNK = 50
# The session's note of the kinds written in its transaction that want running
# right after the commit (in-process mode).
_AFTER_COMMIT = "outbox_after_commit"


def enqueue(task: str, object_id: int) -> None:
    """Add a task to the current transaction's outbox (flush only)."""
    enqueue_all(task, [object_id])


def enqueue_all(task: str, object_ids: list[int]) -> None:
    """Add a task for each of ``object_ids``, in one statement (flush only)."""
    kind = OUTBOX_KINDS.get(task)
    if kind is None:
        raise ValueError(f"unknown outbox task {task!r}")
    if not object_ids:
        return
    db.session.execute(
        insert(OutboxMessage), [{"task": task, "object_id": oid} for oid in object_ids]
    )
    if kind.after_commit:
        db.session.info.setdefault(_AFTER_COMMIT, set()).add(task)


def enqueue_selected(task: str, object_ids: Select[Any]) -> None:
    """Add a task for each id ``object_ids`` selects, in one ``INSERT …
    SELECT`` (flush only): the same single statement whether it finds none or
    some, so that nothing in the caller's timing tells which."""
    kind = OUTBOX_KINDS.get(task)
    if kind is None:
        raise ValueError(f"unknown outbox task {task!r}")
    found = object_ids.subquery()
    db.session.execute(
        insert(OutboxMessage).from_select(
            ["task", "object_id"], select(literal(task, String), *found.c)
        )
    )
    if kind.after_commit:
        db.session.info.setdefault(_AFTER_COMMIT, set()).add(task)


def waiting(task: str, object_id: InstrumentedAttribute[int]) -> ColumnElement[bool]:
    """SQL: an outbox row of ``task`` for ``object_id`` waits to be relayed
    (a sweep hands back only what is not already on its way)."""
    return exists().where(OutboxMessage.task == task, OutboxMessage.object_id == object_id)


def _messages(kind: OutboxKind, rows: list[Any]) -> Iterator[tuple[list[Any], list[int]]]:
    """The task messages for one kind's rows: (args, the rows they carry)."""
    if not kind.batch:
        for row in rows:
            yield [row.object_id], [row.id]
        return
    for start in range(0, len(rows), CHUNK):
        chunk = rows[start : start + CHUNK]
        yield [[row.object_id for row in chunk]], [row.id for row in chunk]


def relay_outbox(limit: int = 2000, tasks: Collection[str] | None = None) -> int:
    """Publish up to ``limit`` outbox rows (of ``tasks`` only, if given) and
    delete them; returns how many were published.

    Publishing happens before the delete commits, so a crash in between
    publishes again (the tasks are idempotent) rather than losing anything. A
    kind whose publish fails keeps its rows for the next run. In-process mode
    runs the tasks after the commit instead.
    """
    query = select(OutboxMessage.id, OutboxMessage.task, OutboxMessage.object_id)
    if tasks is not None:
        query = query.where(OutboxMessage.task.in_(list(tasks)))
    rows = db.session.execute(
        query.order_by(OutboxMessage.id).limit(limit).with_for_update(skip_locked=True)
    ).all()
    if not rows:
        db.session.rollback()
        return 0
    by_task: dict[str, list[Any]] = defaultdict(list)
    for row in rows:
        by_task[row.task].append(row)
    eager = current_app.config["TASKS_EAGER"]
    deferred: list[tuple[Any, list[Any]]] = []
    relayed: list[int] = []
    for task, task_rows in by_task.items():
        try:
            kind = OUTBOX_KINDS[task]
            celery_task = current_celery.tasks[kind.task]
            for args, row_ids in _messages(kind, task_rows):
                if eager:
                    deferred.append((celery_task, args))
                else:
                    celery_task.apply_async(args=args, queue=kind.queue)
                relayed.extend(row_ids)
        except Exception:
            log.exception("outbox task %s not published; its rows stay for the next run", task)
    if relayed:
        db.session.execute(delete(OutboxMessage).where(OutboxMessage.id.in_(relayed)))
    db.session.commit()
    for celery_task, args in deferred:
        celery_task.apply(args=args)
    return len(relayed)


def drain_outbox(seconds: float = 2.0) -> int:
    """Periodic job: relay until the outbox is empty, for at most about
    ``seconds``; returns how many rows were published."""
    total = 0
    deadline = time.monotonic() + seconds
    while (n := relay_outbox()) > 0:
        total += n
        if time.monotonic() >= deadline:
            break
    return total


@event.listens_for(db.session, "after_commit")
def _relay_after_commit(session: Session) -> None:
    """In-process mode: run the kinds someone waits for as soon as the
    transaction that wrote them has committed, in a fresh app context (so a
    session of its own). A failure is logged; the sweeps recover the work."""
    written = session.info.pop(_AFTER_COMMIT, None)
    if not written or not has_app_context() or not current_app.config["TASKS_EAGER"]:
        return
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    with app.app_context():
        try:
            relay_outbox(tasks=written)
        except Exception:
            log.exception("in-process outbox tasks failed")
            db.session.rollback()


@event.listens_for(db.session, "after_transaction_end")
def _forget_after_rollback(session: Session, transaction: SessionTransaction) -> None:
    # A rolled-back transaction's rows are gone: nothing to run after it.
    if transaction.parent is None:
        session.info.pop(_AFTER_COMMIT, None)
