"""Fixtures: an app per database engine, each migrated with Alembic once per
session and emptied between tests."""

from __future__ import annotations

import os
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from flask import Flask, g, request_started
from flask.testing import FlaskClient
from flask_migrate import upgrade
from sqlalchemy import create_engine, text

from campaigns import create_app
from campaigns.extensions import db
from campaigns.privacy.keys import generate_key

from .services import POSTGRES_ADMIN_URL, require_postgres

ENGINES = ["sqlite", "postgresql"]


def _create_postgres_database(name: str) -> str:
    admin = create_engine(POSTGRES_ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}"'))
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    return POSTGRES_ADMIN_URL.rsplit("/", 1)[0] + f"/{name}"


def _drop_postgres_database(name: str) -> None:
    admin = create_engine(POSTGRES_ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


def base_config(tmp: Path, database_url: str) -> dict[str, Any]:
    return {
        "TESTING": True,
        "INSTANCE_PATH": str(tmp / "instance"),
        "SQLALCHEMY_DATABASE_URI": database_url,
        "SECRET_KEY": "test-secret-key",
        "PERSONAL_DATA_KEY": generate_key(),
        "REDIS_URL": "",
        "TASKS_EAGER": True,
        "EMBEDDED_SCHEDULER": False,
        "MAIL_SERVER": "",
        "MAIL_OUTBOX_DIR": str(tmp / "mail"),
        "MAIL_ECHO": False,
        "WTF_CSRF_ENABLED": False,
        "SITE_URL": "http://zaytoun.test",
        # The test client's default host (create_app adds SITE_URL's).
        "TRUSTED_HOSTS": ["localhost"],
        # Tests read figures right after changing them; caching has tests of its own.
        "COUNT_CACHE_SECONDS": 0,
        "RESULTS_CACHE_SECONDS": 0,
        # Tests of exports and moderation open personal data directly; the
        # two-person rule has its own tests (tests/console/test_disclosure.py).
        "TWO_PERSON_DISCLOSURE": False,
    }


def _migrated_database(engine: str, tmp: Path, prefix: str) -> tuple[str, str | None]:
    """A new database for ``engine`` (SQLite in ``tmp``), migrated to the
    Alembic head: its URL, and the PostgreSQL database's name for the caller
    to drop (None for SQLite). One that fails to migrate is dropped here."""
    name = None
    if engine == "sqlite":
        url = f"sqlite:///{tmp / f'{prefix}.sqlite3'}"
    else:
        require_postgres()
        name = f"{prefix}_{os.getpid()}_{uuid.uuid4().hex[:6]}"
        url = _create_postgres_database(name)
    try:
        app = create_app(base_config(tmp, url))
        with app.app_context():
            upgrade()
            db.engine.dispose()
    except BaseException:
        if name is not None:
            _drop_postgres_database(name)
        raise
    return url, name


@pytest.fixture(scope="session")
def database_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Callable[[str], str]]:
    """Returns the URL of a migrated database for an engine, made on first use
    and kept for the session (PostgreSQL ones are dropped at the end)."""
    urls: dict[str, str] = {}
    created: list[str] = []
    tmp = tmp_path_factory.mktemp("db")

    def get(engine: str) -> str:
        if engine in urls:
            return urls[engine]
        url, name = _migrated_database(engine, tmp, "zaytoun_test")
        if name is not None:
            created.append(name)
        urls[engine] = url
        return url

    yield get
    for name in created:
        _drop_postgres_database(name)


def _forget_globals(sender: Flask, **extra: Any) -> None:
    for name in list(g):
        g.pop(name)


def _empty_all_tables() -> None:
    tables = [t.name for t in reversed(db.metadata.sorted_tables)]
    if db.engine.dialect.name == "postgresql":
        db.session.execute(text(f"TRUNCATE {', '.join(tables)} RESTART IDENTITY CASCADE"))
    else:
        for name in tables:
            db.session.execute(text(f"DELETE FROM {name}"))
    db.session.commit()


@pytest.fixture(params=ENGINES)
def engine_name(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@contextmanager
def _app_on_emptied_database(settings: dict[str, Any]) -> Iterator[Flask]:
    """The app made from ``settings``, in an app context, its database emptied."""
    application = create_app(settings)
    # The test's app context outlives each request, and with it ``g`` (where
    # Flask-Login keeps the user and Flask-WTF the CSRF token): empty it at
    # every request, as a deployed request's own app context would be.
    request_started.connect(_forget_globals, application)
    with application.app_context():
        _empty_all_tables()
        yield application
        db.session.remove()
        db.engine.dispose()


@pytest.fixture
def app(engine_name: str, database_url: Callable[[str], str], tmp_path: Path) -> Iterator[Flask]:
    """The app on a migrated, empty database: SQLite and PostgreSQL in turn."""
    with _app_on_emptied_database(base_config(tmp_path, database_url(engine_name))) as application:
        yield application


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()
