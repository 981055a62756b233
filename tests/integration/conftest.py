"""Real services for the end-to-end tests, all on loopback: a fresh PostgreSQL
database migrated with Alembic and seeded, Redis database 15, an SMTP server
(aiosmtpd), a Celery worker process with beat, and the web app served over HTTP
in production mode (CSRF on, tasks through the broker)."""

from __future__ import annotations

import os
import threading
import uuid
from collections.abc import Iterator

import pytest
import redis
from aiosmtpd.controller import Controller
from flask_migrate import upgrade
from werkzeug.serving import BaseWSGIServer, make_server

from campaigns import create_app
from campaigns.config import from_environment
from campaigns.extensions import db
from campaigns.privacy.keys import generate_key
from campaigns.seed import seed
from tests.conftest import _create_postgres_database, _drop_postgres_database, base_config
from tests.services import REDIS_HOST, REDIS_PORT, require_postgres, require_redis

from .stack import HOST, REPO, Database, Mailbox, Site, Worker, free_port

# A Redis database of its own, emptied before and after.
REDIS_DB = 15
WORKER_READY_TIMEOUT = 60
# Environment variables the app reads (its settings are named after them).
APP_VARIABLES = frozenset(from_environment()) | {"DATABASE_URL", "ZAYTOUN_INSTANCE"}


# -- SMTP


@pytest.fixture(scope="module")
def mailbox() -> Iterator[tuple[Mailbox, int]]:
    handler = Mailbox()
    port = free_port()
    controller = Controller(handler, hostname=HOST, port=port)
    controller.start()
    try:
        yield handler, port
    finally:
        controller.stop()


# -- PostgreSQL and Redis


@pytest.fixture(scope="module")
def database(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Database]:
    """A fresh database, migrated to the Alembic head and seeded; dropped at the end."""
    require_postgres()
    name = f"zaytoun_e2e_{os.getpid()}_{uuid.uuid4().hex[:6]}"
    sqlalchemy_url = _create_postgres_database(name)
    try:
        tmp = tmp_path_factory.mktemp("migrate")
        app = create_app(base_config(tmp, sqlalchemy_url))
        with app.app_context():
            upgrade()
            seed()
            db.session.commit()
            db.session.remove()
            db.engine.dispose()
        yield Database(name=name, url=f"postgresql://postgres@{HOST}:5432/{name}")
    finally:
        _drop_postgres_database(name)


@pytest.fixture(scope="module")
def redis_url() -> Iterator[str]:
    require_redis()
    url = f"redis://{REDIS_HOST}:{REDIS_PORT}/{REDIS_DB}"
    client = redis.Redis.from_url(url)
    client.flushdb()
    try:
        yield url
    finally:
        client.flushdb()
        client.close()


# -- The site


@pytest.fixture(scope="module")
def site(
    request: pytest.FixtureRequest,
    tmp_path_factory: pytest.TempPathFactory,
    database: Database,
    redis_url: str,
    mailbox: tuple[Mailbox, int],
) -> Iterator[Site]:
    """The whole deployment: web over HTTP and a worker, sharing one environment."""
    handler, smtp_port = mailbox
    tmp = tmp_path_factory.mktemp("site")
    web_port = free_port()
    site_url = f"http://{HOST}:{web_port}"
    env = {
        "DATABASE_URL": database.url,
        "REDIS_URL": redis_url,
        "MAIL_SERVER": HOST,
        "MAIL_PORT": str(smtp_port),
        "SECRET_KEY": generate_key(),
        "PERSONAL_DATA_KEY": generate_key(),
        "LEDGER_SIGNING_KEY": generate_key(),
        # The ledger's batch every two seconds, not ten minutes: tests wait for it.
        "LEDGER_INTERVAL_SECONDS": "2",
        "SITE_URL": site_url,
        "ZAYTOUN_INSTANCE": str(tmp / "instance"),
    }

    # Both read exactly this environment, as production nodes would: any app
    # setting of the developer's shell (MAIL_USE_TLS, RATE_*, ...) is left out.
    inherited = {k: v for k, v in os.environ.items() if k not in APP_VARIABLES}
    with pytest.MonkeyPatch.context() as patch:
        for name in APP_VARIABLES:
            patch.delenv(name, raising=False)
        for name, value in env.items():
            patch.setenv(name, value)
        app = create_app()
    assert app.config["TESTING"] is False
    assert app.config["TASKS_EAGER"] is False
    assert app.config["EMBEDDED_SCHEDULER"] is False
    assert app.config.get("WTF_CSRF_ENABLED", True) is True

    failed_before = request.session.testsfailed
    # PYTHONPATH: the worker runs the code next to these tests, whatever is installed.
    python_path = os.pathsep.join(filter(None, [str(REPO), os.environ.get("PYTHONPATH")]))
    worker = Worker({**inherited, **env, "PYTHONUNBUFFERED": "1", "PYTHONPATH": python_path}, tmp)
    server: BaseWSGIServer | None = None
    thread: threading.Thread | None = None
    try:
        server = make_server(HOST, web_port, app, threaded=True)
        thread = threading.Thread(target=server.serve_forever, name="web", daemon=True)
        thread.start()
        worker.wait_ready(WORKER_READY_TIMEOUT)
        yield Site(
            url=site_url, app=app, env=env, mailbox=handler, worker=worker, database=database
        )
    finally:
        if server is not None:
            server.shutdown()
            server.server_close()
        if thread is not None:
            thread.join(5)
        worker.stop()
        with app.app_context():
            db.engine.dispose()
        if request.session.testsfailed > failed_before:
            print(f"\n--- celery worker log ---\n{worker.log}")
