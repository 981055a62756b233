"""The client address the rate rules and the login throttle key on cannot be
chosen by the client. With TRUSTED_PROXIES=0 every forwarding header is
ignored (the TCP peer counts); with TRUSTED_PROXIES=1 only the entry our proxy
appended (the rightmost of X-Forwarded-For) counts, whatever the client put
to its left."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest
from flask import Flask
from sqlalchemy import select

from campaigns.accounts.services import MAX_FAILURES, create_user
from campaigns.extensions import db
from campaigns.models import Role, Signature, SignatureState
from campaigns.privacy.crypto import hash_ip
from tests.factories import create_campaign, create_organization

from .hostile_support import (
    app_with,
    client_at,
    run_tasks,
    sent_mail,
    sign_form,
    use_cheap_passwords,
)

ATTACKER = "203.0.113.77"
PROXY = "10.0.0.2"
PASSWORD = "olive-presses-of-idlib-2026"


def forged_headers(n: int) -> dict[str, str]:
    """A different made-up origin in every header a client might hope we read."""
    fake = f"100.64.{n // 250}.{n % 250 + 1}"
    return {
        "X-Forwarded-For": f"{fake}, 192.0.2.{n % 250 + 1}",
        "X-Real-IP": fake,
        "Forwarded": f"for={fake};proto=https",
        "True-Client-IP": fake,
        "CF-Connecting-IP": fake,
        "Client-IP": fake,
        "X-Client-IP": fake,
    }


def forged_addresses(n: int) -> set[str]:
    return {f"100.64.{n // 250}.{n % 250 + 1}", f"192.0.2.{n % 250 + 1}"}


def appended_by_proxy(n: int) -> dict[str, str]:
    """What the client sent, then what our proxy appended: the client's address."""
    return {"X-Forwarded-For": f"{forged_headers(n)['X-Forwarded-For']}, {ATTACKER}"}


@dataclass(frozen=True)
class Arrival:
    """How the attacker's requests reach the app: the TCP peer and the
    forwarding headers of the n-th request; then the attacker once more and
    another person, each as (peer, headers)."""

    trusted_proxies: int
    peer: str
    headers: Callable[[int], dict[str, str]]
    attacker_again: tuple[str, dict[str, str]]
    someone_else: tuple[str, dict[str, str]]


# Straight to the app (TRUSTED_PROXIES=0), every forwarding header forged.
DIRECT = Arrival(0, ATTACKER, forged_headers, (ATTACKER, forged_headers(999)), ("198.51.100.9", {}))
# Through our one proxy (TRUSTED_PROXIES=1); the other person is behind it too.
BEHIND_PROXY = Arrival(
    1,
    PROXY,
    appended_by_proxy,
    (PROXY, {"X-Forwarded-For": f"198.51.100.9, {ATTACKER}"}),
    (PROXY, {"X-Forwarded-For": f"{ATTACKER}, 198.51.100.9"}),
)


@dataclass(frozen=True)
class Rule:
    """A rate rule and how many signatures to push through it."""

    name: str
    settings: dict[str, int]
    limit: int
    pushed: int


SHORT_RULES = [
    Rule("rate_burst", {"RATE_BURST_LIMIT": 3}, 3, 8),
    Rule("rate_sustained", {"RATE_BURST_LIMIT": 10_000, "RATE_SUSTAINED_LIMIT": 4}, 4, 8),
]
# The production limits (10 a minute, 50 an hour).
LONG_RULES = [
    Rule("rate_burst", {}, 10, 60),
    Rule("rate_sustained", {"RATE_BURST_LIMIT": 10_000}, 50, 60),
]


def rule_params() -> list[object]:
    return [
        *(pytest.param(rule, id=f"short-{rule.name}") for rule in SHORT_RULES),
        *(
            pytest.param(rule, id=f"long-{rule.name}", marks=pytest.mark.chaos)
            for rule in LONG_RULES
        ),
    ]


def signatures_of(campaign_id: int) -> list[Signature]:
    db.session.rollback()
    db.session.expire_all()
    return list(
        db.session.execute(
            select(Signature).where(Signature.campaign_id == campaign_id).order_by(Signature.id)
        ).scalars()
    )


def assert_rule_tripped(app: Flask, campaign_id: int, rule: Rule, address: str) -> None:
    """Every signature keyed on ``address``; the first ``limit`` checked, the
    rest held for review for ``rule`` (each one still mailed: held, not lost)."""
    signatures = signatures_of(campaign_id)
    assert len(signatures) == rule.pushed
    assert {s.ip_hash for s in signatures} == {hash_ip(address)}
    states = [(s.state, s.fraud_reason, s.hold_reason) for s in signatures]
    expected = [(SignatureState.pending, None, None)] * rule.limit + [
        (SignatureState.pending, None, rule.name)
    ] * (rule.pushed - rule.limit)
    assert states == expected
    mailed = {str(m["To"]) for m in sent_mail(app)}
    assert len(mailed) == rule.pushed, "every signature gets its one email"


def push_signatures(app: Flask, slug: str, rule: Rule, arrival: Arrival) -> None:
    """``rule.pushed`` signatures by one attacker, each with a new email address."""
    for n in range(rule.pushed):
        response = client_at(app, arrival.peer).post(
            f"/ar/campaigns/{slug}/sign",
            data=sign_form("Bot", f"bot{n}@example.org"),
            headers=arrival.headers(n),
        )
        assert response.status_code == 303


@pytest.mark.parametrize("rule", rule_params())
def test_forged_forwarding_headers_do_not_dodge_the_rate_rules(
    engine_name: str, database_url: Callable[[str], str], tmp_path: Path, rule: Rule
) -> None:
    with app_with(tmp_path, database_url, engine_name, TRUSTED_PROXIES=0, **rule.settings) as app:
        campaign = create_campaign()
        push_signatures(app, campaign.slug, rule, DIRECT)
        forged = set().union(*(forged_addresses(n) for n in range(rule.pushed)))
        run_tasks()
        assert_rule_tripped(app, campaign.id, rule, ATTACKER)
        assert not {hash_ip(a) for a in forged} & {s.ip_hash for s in signatures_of(campaign.id)}


@pytest.mark.parametrize("rule", rule_params())
def test_behind_one_proxy_only_the_address_it_appended_counts(
    engine_name: str, database_url: Callable[[str], str], tmp_path: Path, rule: Rule
) -> None:
    with app_with(tmp_path, database_url, engine_name, TRUSTED_PROXIES=1, **rule.settings) as app:
        campaign = create_campaign()
        other = create_campaign()
        push_signatures(app, campaign.slug, rule, BEHIND_PROXY)
        # Two honest people behind the same proxy, on another campaign.
        for n, person in enumerate(("198.51.100.20", "198.51.100.21")):
            client_at(app, PROXY).post(
                f"/ar/campaigns/{other.slug}/sign",
                data=sign_form("Person", f"person{n}@example.org"),
                headers={"X-Forwarded-For": f"{ATTACKER}, {person}"},
            )
        run_tasks()
        assert_rule_tripped_behind_proxy(app, campaign.id, other.id, rule)


def assert_rule_tripped_behind_proxy(
    app: Flask, campaign_id: int, other_id: int, rule: Rule
) -> None:
    signatures = signatures_of(campaign_id)
    assert {s.ip_hash for s in signatures} == {hash_ip(ATTACKER)}, "not the appended address"
    held = [s for s in signatures if s.hold_reason is not None]
    assert len(held) == rule.pushed - rule.limit
    assert {s.hold_reason for s in held} == {rule.name}
    honest = signatures_of(other_id)
    assert [s.ip_hash for s in honest] == [hash_ip("198.51.100.20"), hash_ip("198.51.100.21")]
    assert [s.state for s in honest] == [SignatureState.pending] * 2
    assert hash_ip(PROXY) not in {s.ip_hash for s in signatures + honest}


# -- the login throttle


def log_in(
    app: Flask, peer: str, email_address: str, password: str, headers: dict[str, str]
) -> int:
    response = client_at(app, peer).post(
        "/console/login",
        data={"email": email_address, "password": password, "code": ""},
        headers=headers,
    )
    return response.status_code


@pytest.mark.parametrize(
    "arrival", [pytest.param(DIRECT, id="direct"), pytest.param(BEHIND_PROXY, id="behind-proxy")]
)
@pytest.mark.parametrize(
    "attempts",
    [
        pytest.param(MAX_FAILURES + 3, id="short"),
        pytest.param(60, id="long", marks=pytest.mark.chaos),
    ],
)
def test_forged_forwarding_headers_do_not_dodge_the_login_throttle(
    engine_name: str,
    database_url: Callable[[str], str],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    attempts: int,
    arrival: Arrival,
) -> None:
    use_cheap_passwords(monkeypatch)
    proxies = arrival.trusted_proxies
    with app_with(tmp_path, database_url, engine_name, TRUSTED_PROXIES=proxies) as app:
        create_user(
            "victim@zaytoun.test", "Victim", PASSWORD, Role.organizer, create_organization()
        )
        db.session.commit()
        # Password guessing across accounts, each try from a "new" address.
        statuses = [
            log_in(app, arrival.peer, f"guess{n}@zaytoun.test", "guess-guess-1", arrival.headers(n))
            for n in range(attempts)
        ]
        assert statuses == [401] * MAX_FAILURES + [429] * (attempts - MAX_FAILURES)
        # Even the right password is held back for the attacker; another person is not.
        peer, headers = arrival.attacker_again
        assert log_in(app, peer, "victim@zaytoun.test", PASSWORD, headers) == 429
        peer, headers = arrival.someone_else
        assert log_in(app, peer, "victim@zaytoun.test", PASSWORD, headers) == 303
