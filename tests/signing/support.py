"""What the signing tests share: a valid submission, what the database holds
afterwards, and an app with CSRF protection on."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from flask import Flask
from sqlalchemy import select

from campaigns import create_app
from campaigns.extensions import db
from campaigns.models import Campaign, OutboxMessage, Signature
from tests.conftest import _empty_all_tables, base_config


def valid_form(**overrides: str) -> dict[str, str]:
    form = {
        "full_name": "رامي الحلبي",
        "email": "Rami.Halabi@gmail.com",
        "phone": "0944 123 456",
        "country": "SY",
        "region": "حلب",
        "amount": "3",
        "show_name": "y",
    }
    form.update(overrides)
    return {k: v for k, v in form.items() if v is not None}


def sign_url(campaign: Campaign | str, lang: str = "ar") -> str:
    slug = campaign if isinstance(campaign, str) else campaign.slug
    return f"/{lang}/campaigns/{slug}/sign"


def stored_signatures() -> list[Signature]:
    """Every signature row, read fresh from the database."""
    db.session.rollback()
    db.session.expire_all()
    return list(db.session.execute(select(Signature).order_by(Signature.id)).scalars())


def stored_outbox() -> list[tuple[str, int]]:
    db.session.rollback()
    rows = db.session.execute(
        select(OutboxMessage.task, OutboxMessage.object_id).order_by(OutboxMessage.id)
    ).all()
    return [(row.task, row.object_id) for row in rows]


@contextmanager
def csrf_app(tmp_path: Path, database_url: Callable[[str], str], **config: Any) -> Iterator[Flask]:
    """The app as deployed: CSRF protection on (SQLite is enough for that)."""
    settings = dict(base_config(tmp_path, database_url("sqlite")), WTF_CSRF_ENABLED=True)
    settings.update(config)
    application = create_app(settings)
    with application.app_context():
        _empty_all_tables()
        yield application
        db.session.remove()
        db.engine.dispose()
