"""INSERT … ON CONFLICT for the two engines we run on."""

from __future__ import annotations

from typing import Any

from sqlalchemy.dialects import postgresql, sqlite

from .extensions import db


def _insert(model: Any) -> Any:
    dialect = db.session.get_bind().dialect.name
    if dialect == "postgresql":
        return postgresql.insert(model)
    if dialect == "sqlite":
        return sqlite.insert(model)
    raise RuntimeError(f"unsupported database {dialect}")


def insert_ignore(model: Any, conflict_columns: list[str] | None) -> Any:
    """INSERT that does nothing when a unique key already exists: the key of
    ``conflict_columns``, or any unique key with None."""
    return _insert(model).on_conflict_do_nothing(index_elements=conflict_columns)


def insert_add(
    model: Any,
    conflict_columns: list[str],
    add_columns: list[str],
    replace_columns: tuple[str, ...] = (),
) -> Any:
    """INSERT that, on conflict, adds the new values of ``add_columns`` to the
    existing ones and overwrites ``replace_columns``."""
    stmt = _insert(model)
    table = model.__table__
    set_ = {name: table.c[name] + stmt.excluded[name] for name in add_columns}
    set_.update({name: stmt.excluded[name] for name in replace_columns})
    return stmt.on_conflict_do_update(index_elements=conflict_columns, set_=set_)
