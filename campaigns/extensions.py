"""Unbound extensions; ``create_app`` binds them."""

from typing import Any

from flask_babel import Babel
from flask_login import LoginManager
from flask_migrate import Migrate
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


db = SQLAlchemy(model_class=Base)
migrate = Migrate()
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
