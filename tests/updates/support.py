"""What the updates and retention tests share: console accounts and logging
in, the public unsubscribe routes, and reading the mail the app sent."""

from __future__ import annotations

import email
import email.policy
from dataclasses import dataclass
from email.message import EmailMessage
from pathlib import Path

from flask import Flask
from flask.testing import FlaskClient

from campaigns.accounts.services import create_user
from campaigns.extensions import db
from campaigns.models import Organization, Role, User
from tests.factories import give_second_factor, unused_code

PASSWORD = "olive-trees-in-afrin-2026"


def register_unsubscribe_routes(app: Flask) -> None:
    """The public unsubscribe blueprint, until ``create_app`` registers it."""
    if "updates.unsubscribe_page" not in app.view_functions:
        from campaigns.updates.views import bp

        app.register_blueprint(bp)


@dataclass
class Account:
    user: User
    secret: str | None = None

    def code(self) -> str:
        return unused_code(self.user.id, self.secret) if self.secret else ""


def make_account(email_address: str, role: Role, organization: Organization) -> Account:
    """A console account; admins and organizers get a second factor, as they must."""
    user = create_user(email_address, email_address.split("@")[0], PASSWORD, role, organization)
    secret = give_second_factor(user)
    db.session.commit()
    return Account(user, secret)


def log_in(client: FlaskClient, account: Account) -> None:
    response = client.post(
        "/console/login",
        data={"email": account.user.email, "password": PASSWORD, "code": account.code()},
    )
    assert response.status_code == 303, response.status_code


def sent_mail(app: Flask) -> list[EmailMessage]:
    """Every message written to the outbox folder, oldest first."""
    folder = Path(app.config["MAIL_OUTBOX_DIR"])
    if not folder.exists():
        return []
    paths = sorted(folder.glob("*.eml"), key=lambda p: p.stat().st_mtime_ns)
    return [
        email.message_from_bytes(p.read_bytes(), policy=email.policy.default)  # type: ignore[misc]
        for p in paths
    ]


def recipients(messages: list[EmailMessage]) -> list[str]:
    return sorted(str(m["To"]) for m in messages)


def plain_body(message: EmailMessage) -> str:
    part = message.get_body(("plain",))
    assert part is not None
    return str(part.get_content())  # type: ignore[attr-defined]
