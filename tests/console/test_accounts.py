"""Logging in: argon2 passwords, the second factor (required for admins and organizers),
throttling, answers that say nothing about which part was wrong, and the
command that creates the first admin."""

from __future__ import annotations

import pyotp
import pytest
from flask import Flask
from sqlalchemy import select

from campaigns.accounts.passwords import DUMMY_HASH, hash_password, needs_rehash, verify_password
from campaigns.accounts.services import MAX_FAILURES, create_user
from campaigns.accounts.totp import new_secret, seal_secret
from campaigns.extensions import db
from campaigns.models import AuditEntry, Role, User
from campaigns.seed import seed
from tests.factories import code_for, create_organization, give_second_factor, secret_on_page

PASSWORD = "olive-trees-of-afrin-2026"


def _login(client, email: str, password: str = PASSWORD, code: str = ""):  # type: ignore[no-untyped-def]
    return client.post(
        "/console/login", data={"email": email, "password": password, "code": code}
    )


def test_passwords_are_stored_as_argon2_hashes(app: Flask) -> None:
    user = create_user("a@zaytoun.test", "A", PASSWORD, Role.organizer, create_organization())
    db.session.commit()
    assert user.password_hash.startswith("$argon2id$")
    assert PASSWORD not in user.password_hash
    assert verify_password(user.password_hash, PASSWORD)


def test_a_failed_login_does_not_say_what_was_wrong(app: Flask) -> None:
    create_user("a@zaytoun.test", "A", PASSWORD, Role.organizer, create_organization())
    db.session.commit()
    client = app.test_client()
    unknown = _login(client, "nobody@zaytoun.test")
    wrong = _login(client, "a@zaytoun.test", "wrong password 123")
    assert unknown.status_code == wrong.status_code == 401
    # The same page, but for the address typed back into the form.
    assert unknown.get_data(as_text=True).replace("nobody@zaytoun.test", "@") == (
        wrong.get_data(as_text=True).replace("a@zaytoun.test", "@")
    )


def test_login_is_throttled_per_account(app: Flask) -> None:
    create_user("a@zaytoun.test", "A", PASSWORD, Role.organizer, create_organization())
    db.session.commit()
    for n in range(MAX_FAILURES):
        # Each attempt from its own address: the account's own limit stops it.
        client = app.test_client()
        client.environ_base["REMOTE_ADDR"] = f"10.0.0.{n + 1}"
        assert _login(client, "a@zaytoun.test", "wrong password 123").status_code == 401
    client = app.test_client()
    client.environ_base["REMOTE_ADDR"] = "10.0.1.1"
    # Even the right password is refused while throttled.
    assert _login(client, "a@zaytoun.test").status_code == 429


def test_login_is_throttled_per_address(app: Flask) -> None:
    org = create_organization()
    create_user("victim@zaytoun.test", "V", PASSWORD, Role.organizer, org)
    db.session.commit()
    client = app.test_client()
    client.environ_base["REMOTE_ADDR"] = "10.1.1.1"
    for n in range(MAX_FAILURES):
        _login(client, f"guess{n}@zaytoun.test", "wrong password 123")
    assert _login(client, "victim@zaytoun.test").status_code == 429
    other = app.test_client()
    other.environ_base["REMOTE_ADDR"] = "10.2.2.2"
    assert _login(other, "victim@zaytoun.test").status_code == 303


@pytest.mark.parametrize("role", [Role.admin, Role.organizer])
def test_admins_and_organizers_must_set_up_a_second_factor_first(app: Flask, role: Role) -> None:
    create_user("boss@zaytoun.test", "Boss", PASSWORD, role, create_organization())
    db.session.commit()
    client = app.test_client()
    assert _login(client, "boss@zaytoun.test").status_code == 303
    response = client.get("/console/")
    assert response.status_code == 302
    assert response.headers["Location"].endswith("/console/totp")
    page = client.get("/console/totp")
    assert page.status_code == 200 and "<svg" in page.get_data(as_text=True)
    secret = secret_on_page(page.get_data(as_text=True))
    # The key waits sealed on the account, not in the (signed, readable) cookie.
    with client.session_transaction() as session:
        assert secret not in repr(dict(session))
    user = db.session.execute(select(User).where(User.email == "boss@zaytoun.test")).scalar_one()
    assert user.totp_pending and secret.encode() not in user.totp_pending
    assert client.post("/console/totp", data={"code": "000000"}).status_code == 422
    done = client.post("/console/totp", data={"code": pyotp.TOTP(secret).now()})
    assert done.status_code == 303
    db.session.refresh(user)
    assert user.totp_enabled and user.totp_secret and secret.encode() not in user.totp_secret
    assert user.totp_pending is None
    # Enabling the factor ended other sessions; this one was renewed.
    assert client.get("/console/").status_code == 200


def test_with_a_second_factor_the_code_is_required(app: Flask) -> None:
    user = create_user("t@zaytoun.test", "T", PASSWORD, Role.organizer, create_organization())
    secret = new_secret()
    user.totp_secret, user.totp_enabled = seal_secret(secret), True
    db.session.commit()
    assert _login(app.test_client(), "t@zaytoun.test").status_code == 401
    ok = _login(app.test_client(), "t@zaytoun.test", code=pyotp.TOTP(secret).now())
    assert ok.status_code == 303


def test_changing_a_role_ends_the_users_sessions(app: Flask) -> None:
    org = create_organization()
    user = create_user("o@zaytoun.test", "O", PASSWORD, Role.organizer, org)
    give_second_factor(user)
    db.session.commit()
    client = app.test_client()
    _login(client, "o@zaytoun.test", code=code_for(user))
    assert client.get("/console/").status_code == 200
    user.role = Role.partner
    user.session_version += 1
    db.session.commit()
    assert client.get("/console/").status_code == 302


def test_login_redirects_only_within_the_site(app: Flask) -> None:
    create_user("a@zaytoun.test", "A", PASSWORD, Role.organizer, create_organization())
    db.session.commit()
    client = app.test_client()
    response = client.post(
        "/console/login?next=//evil.example/x",
        data={"email": "a@zaytoun.test", "password": PASSWORD, "code": ""},
    )
    assert response.status_code == 303
    assert response.headers["Location"] == "/console/"


def test_create_admin_command(app: Flask) -> None:
    seed()
    db.session.commit()
    runner = app.test_cli_runner()
    short = runner.invoke(
        args=["users", "create-admin", "--email", "x@zaytoun.test", "--name", "X",
              "--password", "short"]
    )
    assert short.exit_code != 0 and "12" in short.output
    result = runner.invoke(
        args=["users", "create-admin", "--email", "Boss@Zaytoun.test", "--name", "Boss",
              "--password", PASSWORD]
    )
    assert result.exit_code == 0, result.output
    user = db.session.execute(select(User).where(User.email == "boss@zaytoun.test")).scalar_one()
    assert user.role is Role.admin and not user.totp_enabled
    again = runner.invoke(
        args=["users", "create-admin", "--email", "boss@zaytoun.test", "--name", "B",
              "--password", PASSWORD]
    )
    assert again.exit_code != 0


def test_create_admin_asks_again_for_a_short_password(app: Flask) -> None:
    seed()
    db.session.commit()
    runner = app.test_cli_runner()
    # Typed at the prompts: a short password (twice), then a long one (twice).
    result = runner.invoke(
        args=["users", "create-admin", "--email", "rana@zaytoun.test", "--name", "Rana"],
        input=f"short\nshort\n{PASSWORD}\n{PASSWORD}\n",
    )
    assert result.exit_code == 0, result.output
    assert "at least 12 characters" in result.output
    user = db.session.execute(select(User).where(User.email == "rana@zaytoun.test")).scalar_one()
    assert user.role is Role.admin


def test_logins_are_audited(app: Flask) -> None:
    user = create_user("a@zaytoun.test", "A", PASSWORD, Role.organizer, create_organization())
    db.session.commit()
    _login(app.test_client(), "a@zaytoun.test")
    entries = db.session.execute(select(AuditEntry).where(AuditEntry.action == "login")).scalars()
    assert [e.user_id for e in entries] == [user.id]


def test_the_dummy_hash_costs_what_a_real_hash_costs() -> None:
    # Unknown accounts are verified against DUMMY_HASH so that they take as
    # long as known ones: it must carry the hasher's current parameters.
    assert not needs_rehash(DUMMY_HASH)
    assert DUMMY_HASH.split("$")[:4] == hash_password("any password at all").split("$")[:4]
