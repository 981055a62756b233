"""Unbound extensions; ``create_app`` binds them."""

from typing import Any

import click
from flask import Flask
from flask_babel import Babel
from flask_login import LoginManager
from flask_sqlalchemy import SQLAlchemy
from flask_wtf import CSRFProtect
from sqlalchemy import Executable, MetaData
from sqlalchemy.orm import DeclarativeBase

# Stable constraint names so that Alembic migrations match on SQLite and PostgreSQL.
NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


class _PendingMigrate:
    """What ``app.extensions["migrate"]`` holds until something migrates: the
    first attribute read (``flask_migrate.upgrade()``, ``migrations/env.py``)
    loads Flask-Migrate, which puts its own configuration in this one's place."""

    def __init__(self, app: Flask, directory: str) -> None:
        self._app, self._directory = app, directory

    def __getattr__(self, name: str) -> Any:
        if name.startswith("_"):
            raise AttributeError(name)
        from flask_migrate import Migrate

        Migrate(directory=self._directory).init_app(self._app, db)
        return getattr(self._app.extensions["migrate"], name)


class _MigrateCommands(click.Group):
    """``flask db …``: stands in the command list with Flask-Migrate's help
    line, and hands the command line to Flask-Migrate's own group when used."""

    def __init__(self) -> None:
        super().__init__("db", help="Perform database migrations.")

    def make_context(
        self,
        info_name: str | None,
        args: list[str],
        parent: click.Context | None = None,
        **extra: Any,
    ) -> click.Context:
        from flask_migrate.cli import db as commands

        return commands.make_context(info_name, args, parent=parent, **extra)


class LazyMigrate:
    """Flask-Migrate, loaded only where something migrates. Importing it loads
    Alembic, Mako and Pygments: about 12 MB in every web worker and Celery
    process, which never migrate. ``flask db …``, ``flask_migrate.upgrade()``
    and ``migrations/env.py`` find it where Flask-Migrate puts it."""

    def init_app(self, app: Flask, directory: str) -> None:
        app.extensions["migrate"] = _PendingMigrate(app, directory)
        app.cli.add_command(_MigrateCommands())


db = SQLAlchemy(model_class=Base)
migrate = LazyMigrate()
csrf = CSRFProtect()
babel = Babel()
login_manager = LoginManager()


def execute_alone(statement: Executable, params: dict[str, Any] | None = None) -> Any:
    """Run one statement that is atomic by itself on an autocommit connection,
    outside the request's session: one round trip (no BEGIN, no COMMIT), and
    committed when this returns. Returns the first column of the first row it
    returns, or None."""
    with db.engine.connect() as connection:
        connection.execution_options(isolation_level="AUTOCOMMIT")
        result = connection.execute(statement, params)
        return result.scalar() if result.returns_rows else None
