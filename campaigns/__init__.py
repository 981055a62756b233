"""Zaytoun: the petition and campaign platform of the Aleppo Revolutionaries Union."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from flask import Flask
from sqlalchemy import event
from sqlalchemy.engine import Engine

# The composition root: the worker modules bind the task names of the registry
# (jobs.py) to the plain functions they run. Importing them here registers
# those tasks on every Celery app create_app builds; nothing else in campaigns/
# imports workers.
import workers.exports
import workers.ledger
import workers.moderation
import workers.tasks
import workers.updates  # noqa: F401

from . import assets, forms, i18n, security
from .config import ROOT, Defaults, from_environment, trusted_hosts
from .extensions import babel, csrf, db, login_manager, migrate
from .mail.composers import init_composers
from .signing.emails import register_emails as register_signing_emails
from .updates.emails import register_emails as register_update_emails


def create_app(config: dict[str, Any] | None = None) -> Flask:
    """Build the application. ``config`` overrides the environment (tests)."""
    settings = from_environment()
    settings.update(config or {})
    # Derived from REDIS_URL unless the caller says otherwise.
    for key in ("TASKS_EAGER", "EMBEDDED_SCHEDULER"):
        if key not in (config or {}):
            settings[key] = not settings["REDIS_URL"]
    app = Flask(
        __name__,
        instance_path=settings["INSTANCE_PATH"],
        template_folder=str(ROOT / "templates"),
        static_folder="static",
    )
    app.config.from_object(Defaults)
    app.config.update(settings)
    app.config["TRUSTED_HOSTS"] = trusted_hosts(app.config["SITE_URL"], settings["TRUSTED_HOSTS"])
    # Body limits per view (see forms.accepts_form).
    app.request_class = forms.Request
    from .privacy.files import private_directory, private_sqlite_database
    from .privacy.keys import ensure_keys

    private_directory(Path(app.instance_path))
    ensure_keys(app)
    uri = app.config["SQLALCHEMY_DATABASE_URI"]
    private_sqlite_database(uri, Path(app.instance_path))
    options = dict(app.config["SQLALCHEMY_ENGINE_OPTIONS"])
    if uri.startswith("sqlite"):
        options["connect_args"] = {"timeout": 30}
    elif uri.startswith("postgresql"):
        # Dates of the count tables are UTC days whatever the server's zone.
        options["connect_args"] = {"options": "-c timezone=UTC"}
        options.setdefault("pool_size", app.config["DATABASE_POOL_SIZE"])
    app.config["SQLALCHEMY_ENGINE_OPTIONS"] = options

    db.init_app(app)
    migrate.init_app(app, directory=str(ROOT / "migrations"))
    csrf.init_app(app)
    babel.init_app(
        app,
        locale_selector=i18n.select_locale,
        timezone_selector=i18n.select_timezone,
        default_translation_directories=str(Path(__file__).parent / "translations"),
    )
    i18n.init_app(app)
    security.init_app(app)
    assets.init_app(app)

    # Each domain composes its own emails; mail only delivers them.
    init_composers(app, register_signing_emails, register_update_emails)

    from .tasks import init_celery

    init_celery(app)

    from .cache import init_cache

    init_cache(app)

    from .api.views import bp as api_bp
    from .ledger.views import bp as ledger_bp
    from .outcomes.views import bp as outcomes_bp
    from .results.views import bp as results_bp
    from .results.views import embed_bp
    from .signing.manage.views import bp as manage_bp
    from .signing.views import bp as signing_bp
    from .site.views import bp as site_bp
    from .updates.views import bp as updates_bp

    blueprints = (
        site_bp,
        signing_bp,
        manage_bp,
        results_bp,
        embed_bp,
        api_bp,
        updates_bp,
        outcomes_bp,
        ledger_bp,
    )
    for blueprint in blueprints:
        app.register_blueprint(blueprint)

    from .media.views import init_app as init_media

    init_media(app)

    from .accounts.services import load_user
    from .console import register as register_console

    login_manager.init_app(app)
    login_manager.user_loader(load_user)
    login_manager.session_protection = "strong"
    register_console(app)

    from .cli import register_commands

    register_commands(app)

    from .scheduler import init_scheduler

    init_scheduler(app)
    return app


@event.listens_for(Engine, "connect")
def _sqlite_pragmas(dbapi_connection: Any, connection_record: Any) -> None:
    # WAL lets the page readers and the in-process jobs work side by side.
    if type(dbapi_connection).__module__.startswith("sqlite3"):
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        # Erased personal data is overwritten, not left in free pages.
        cursor.execute("PRAGMA secure_delete=ON")
        cursor.close()
