"""The embedded default (``make run``) keeps its files to the account that
runs it: instance/ and the mail folder 0700; the database, its WAL files, the
keys and every email 0600, whatever the umask. And its console shows a
developer the subject and the link of each email, never the signer's name or
address."""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest
from flask_migrate import upgrade

from campaigns import create_app
from campaigns.extensions import db
from tests.factories import create_campaign
from tests.security.hostile_support import run_tasks
from tests.signing.support import sign_url, valid_form

NAME, EMAIL = "رامي الحلبي", "Rami.Halabi@gmail.com"


@pytest.fixture
def lax_umask() -> Iterator[None]:
    """The most common umask: files readable by everyone unless made private."""
    previous = os.umask(0o022)
    try:
        yield
    finally:
        os.umask(previous)


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_the_embedded_default_keeps_its_files_private_and_its_console_quiet(
    tmp_path: Path, lax_umask: None, capfd: pytest.CaptureFixture[str]
) -> None:
    instance = tmp_path / "instance"
    # As `make run` starts: no keys, no database URL, no mail server (echo on).
    app = create_app(
        {
            "INSTANCE_PATH": str(instance),
            "SQLALCHEMY_DATABASE_URI": f"sqlite:///{instance / 'zaytoun.sqlite3'}",
            "SECRET_KEY": "",
            "PERSONAL_DATA_KEY": "",
            "REDIS_URL": "",
            "MAIL_SERVER": "",
            "MAIL_OUTBOX_DIR": str(instance / "mail"),
            "MAIL_ECHO": True,
            "WTF_CSRF_ENABLED": False,
            "SITE_URL": "http://127.0.0.1:5000",
        }
    )
    with app.app_context():
        upgrade()
        campaign = create_campaign()
        db.session.commit()
        response = app.test_client().post(sign_url(campaign), data=valid_form())
        assert response.status_code == 303
        run_tasks()
        db.session.remove()
        db.engine.dispose()

    mails = sorted((instance / "mail").glob("*.eml"))
    assert mails, "no email was written"
    private_dirs = [instance, instance / "mail"]
    private_files = [
        instance / "zaytoun.sqlite3",
        instance / "secret_key",
        instance / "data_key",
        *mails,
        *instance.glob("zaytoun.sqlite3-*"),
    ]
    assert {str(p): oct(_mode(p)) for p in private_dirs} == {str(p): "0o700" for p in private_dirs}
    assert {str(p): oct(_mode(p)) for p in private_files} == {
        str(p): "0o600" for p in private_files
    }

    console = capfd.readouterr().err
    assert "Subject:" in console
    assert "http://127.0.0.1:5000/ar/confirm/" in console
    for personal in (NAME, "رامي", EMAIL, EMAIL.lower(), "Rami.Halabi"):
        assert personal not in console, personal


def test_an_existing_instance_folder_is_made_private(tmp_path: Path, lax_umask: None) -> None:
    instance = tmp_path / "instance"
    instance.mkdir(mode=0o755)
    database = instance / "zaytoun.sqlite3"
    database.touch(mode=0o644)
    create_app(
        {
            "INSTANCE_PATH": str(instance),
            "SQLALCHEMY_DATABASE_URI": f"sqlite:///{database}",
            "REDIS_URL": "",
        }
    )
    assert oct(_mode(instance)) == "0o700"
    assert oct(_mode(database)) == "0o600"
