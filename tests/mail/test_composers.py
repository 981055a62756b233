"""The composer registry: every email kind is composed by its domain, mail
imports no domain, and an email of a kind nobody composes is kept, not lost."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest
from flask import Flask

from campaigns.extensions import db
from campaigns.mail.composers import (
    EXTENSION,
    Composers,
    Draft,
    UnknownEmailKind,
    init_composers,
)
from campaigns.mail.services import deliver_emails, queue_email
from campaigns.models import EmailKind, EmailLog, EmailStatus, Signature
from campaigns.signing.emails import register_emails as register_signing_emails
from campaigns.updates.emails import register_emails as register_update_emails
from tests.factories import create_campaign, create_signature

MAIL = Path(__file__).resolve().parents[2] / "campaigns" / "mail"
# What mail may build on: the data model and the plumbing, never a domain.
ALLOWED = {
    "campaigns.config",
    "campaigns.extensions",
    "campaigns.i18n",
    "campaigns.kernel",
    "campaigns.mail",
    "campaigns.models",
    "campaigns.privacy.crypto",
    "campaigns.privacy.files",
    "campaigns.upsert",
}


def _draft(email: EmailLog, signature: Signature | None) -> Draft:
    return Draft(to="a@example.org", subject="s", plain="p", html="<p>p</p>", lang="en")


def test_an_unknown_kind_is_a_clear_error() -> None:
    composers = Composers()
    composers.register(EmailKind.update, _draft)
    message = "no composer is registered for emails of kind 'notice'"
    with pytest.raises(UnknownEmailKind, match=message):
        composers.composer(EmailKind.notice)
    assert composers.composer(EmailKind.update) is _draft


def test_a_kind_has_one_composer() -> None:
    composers = Composers()
    composers.register(EmailKind.update, _draft)
    with pytest.raises(ValueError, match="'update' already have a composer"):
        composers.register(EmailKind.update, _draft)


def test_the_app_does_not_start_while_a_kind_has_no_composer() -> None:
    with pytest.raises(UnknownEmailKind, match="'update'"):
        init_composers(Flask(__name__), register_signing_emails)
    composers = init_composers(
        Flask(__name__), register_signing_emails, register_update_emails
    )
    assert composers.missing() == []


def test_an_email_nobody_composes_is_kept_for_a_retry(app: Flask) -> None:
    signature = create_signature(create_campaign())
    email_id = queue_email(EmailKind.confirm, signature.id, f"confirm:{signature.id}")
    assert email_id is not None
    db.session.commit()
    composers = Composers()
    composers.register(EmailKind.already_signed, _draft)
    app.extensions[EXTENSION] = composers

    assert deliver_emails([email_id]) == 0

    db.session.expire_all()
    row = db.session.get(EmailLog, email_id)
    assert row is not None
    assert row.status is EmailStatus.queued
    assert row.last_error == "error: UnknownEmailKind"


def _imported(path: Path) -> set[str]:
    """The campaigns modules a file of campaigns/mail imports."""
    names = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            # Relative to campaigns.mail: one dot is mail, two are campaigns.
            package = ["campaigns", "mail"][: 3 - node.level] if node.level else []
            names.add(".".join([*package, *([node.module] if node.module else [])]))
    return {name for name in names if name.split(".")[0] == "campaigns"}


def test_mail_imports_no_domain() -> None:
    imported = {name for path in MAIL.glob("*.py") for name in _imported(path)}
    assert imported, "the check reads nothing"
    outside = sorted(
        name for name in imported if not any(name == a or name.startswith(a + ".") for a in ALLOWED)
    )
    assert outside == []
