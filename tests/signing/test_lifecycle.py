"""The signature's lifecycle: each move acts only from the states it allows,
and only once; nothing outside the lifecycle module moves a state."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from flask import Flask

from campaigns.extensions import db
from campaigns.models import Invalidation, Signature, SignatureSource, SignatureState
from campaigns.models.types import utcnow
from campaigns.privacy.crypto import keyring
from campaigns.privacy.personal import PersonalData
from campaigns.signing import lifecycle
from campaigns.signing.lifecycle import (
    HOLD_LABELS,
    REASON_LABELS,
    ROW_COLUMNS,
    Choices,
    FlagReason,
    FraudReason,
    HoldReason,
)
from tests.factories import create_campaign, create_signature

ROOT = Path(__file__).resolve().parents[2]
PENDING, VALIDATED, FRAUDULENT, INVALIDATED, HELD = (
    SignatureState.pending,
    SignatureState.validated,
    SignatureState.fraudulent,
    SignatureState.invalidated,
    SignatureState.held,
)


@dataclass(frozen=True)
class Move:
    """A move applied to one signature; True when it changed it."""

    apply: Callable[[Signature], bool]
    sources: frozenset[SignatureState]
    target: dict[str, Any]
    # How the signatures are made before the move (beyond their state).
    given: dict[str, Any] = field(default_factory=dict)


def _invalidation(signature: Signature) -> int:
    item = Invalidation(campaign_id=signature.campaign_id, conditions={"country": "SY"}, reason="")
    db.session.add(item)
    db.session.flush()
    return item.id


MOVES = {
    "mark_checked": Move(
        lambda s: bool(lifecycle.mark_checked([s.id], utcnow())),
        frozenset({PENDING}),
        {"state": PENDING},
        {"checked": False},
    ),
    "mark_checked_held": Move(
        lambda s: bool(lifecycle.mark_checked([s.id], utcnow(), hold=HoldReason.rate_burst)),
        frozenset({PENDING}),
        {"state": PENDING, "hold_reason": "rate_burst", "fraud_reason": None},
        {"checked": False},
    ),
    "mark_fraudulent": Move(
        lambda s: bool(lifecycle.mark_fraudulent([s.id], FraudReason.rate_burst, utcnow())),
        frozenset({PENDING}),
        {"state": FRAUDULENT, "fraud_reason": "rate_burst"},
        {"checked": False},
    ),
    "confirm": Move(
        lambda s: lifecycle.confirm(s.id, s.campaign_id, utcnow()),
        frozenset({PENDING}),
        {"state": VALIDATED},
        {"checked": True},
    ),
    # Over its network's limits: confirmed by its signer, held for review.
    "confirm_held": Move(
        lambda s: lifecycle.confirm(s.id, s.campaign_id, utcnow()),
        frozenset({PENDING}),
        {"state": HELD, "validated_at": None},
        {"checked": True, "hold_reason": "rate_sustained"},
    ),
    "release_held": Move(
        lambda s: bool(lifecycle.release_held([s.id], s.campaign_id, utcnow())),
        frozenset({HELD}),
        {"state": VALIDATED, "hold_reason": "rate_burst"},
        {"hold_reason": "rate_burst"},
    ),
    "reject_held": Move(
        lambda s: bool(lifecycle.reject_held([s.id], s.campaign_id, utcnow())),
        frozenset({HELD}),
        {"state": INVALIDATED},
        {"hold_reason": "rate_burst"},
    ),
    "reinstate": Move(
        lambda s: bool(lifecycle.reinstate([s.id], utcnow())),
        frozenset({FRAUDULENT}),
        {"state": PENDING, "fraud_reason": None},
        {"fraud_reason": "rate_burst"},
    ),
    "reject": Move(
        lambda s: bool(lifecycle.reject([s.id], utcnow())),
        frozenset({FRAUDULENT}),
        {"state": INVALIDATED},
    ),
    "reject_flagged": Move(
        lambda s: bool(lifecycle.reject([s.id], utcnow())),
        frozenset({PENDING, VALIDATED, FRAUDULENT}),
        {"state": INVALIDATED},
        {"flag_reason": "trending_ip"},
    ),
    "invalidate": Move(
        lambda s: bool(lifecycle.invalidate([s.id], _invalidation(s), utcnow())),
        frozenset({PENDING, VALIDATED}),
        {"state": INVALIDATED},
    ),
    "withdraw": Move(
        lambda s: lifecycle.withdraw(s.id),
        frozenset({PENDING, VALIDATED, SignatureState.held}),
        {"state": SignatureState.withdrawn},
    ),
    "flag": Move(
        lambda s: bool(lifecycle.flag([Signature.id == s.id], FlagReason.trending_domain)),
        frozenset({PENDING, VALIDATED}),
        {"flag_reason": "trending_domain"},
    ),
    "clear_flag": Move(
        lambda s: bool(lifecycle.clear_flag([s.id])),
        frozenset({PENDING, VALIDATED}),
        {"flag_reason": None},
        {"flag_reason": "trending_ip"},
    ),
}


@pytest.mark.parametrize("name", MOVES)
def test_each_move_acts_from_its_sources_only_and_once(app: Flask, name: str) -> None:
    move = MOVES[name]
    campaign = create_campaign()
    signatures = {
        state: create_signature(campaign, state=state, **move.given) for state in SignatureState
    }
    before = {state: s.state for state, s in signatures.items()}

    changed = {state for state, s in signatures.items() if move.apply(s)}
    again = {state for state, s in signatures.items() if move.apply(s)}
    db.session.commit()

    assert changed == move.sources
    # Made twice (a redelivered task, a double click), a move changes nothing.
    assert again == set()
    for state, signature in signatures.items():
        db.session.refresh(signature)
        if state in move.sources:
            for column, value in move.target.items():
                assert getattr(signature, column) == value, (state, column)
        else:
            assert signature.state is before[state]


def test_a_new_row_holds_every_column_and_only_those(app: Flask) -> None:
    campaign = create_campaign()
    row = lifecycle.signature_row(
        campaign,
        Choices(country="SY", amount=3, show_name=True),
        source=SignatureSource.web,
        personal=PersonalData(name="Rojda", email="r@example.org", phone=None, region="Afrin"),
        fingerprint=b"\x00" * 32,
        locale="ku",
        ring=keyring(),
        canonical_email="r@example.org",
    )

    assert tuple(row) == ROW_COLUMNS
    assert set(ROW_COLUMNS) <= set(Signature.__table__.columns.keys())
    assert row["state"] is PENDING and row["checked_at"] is None
    assert row["amount"] is None  # a petition counts signatures, not units
    assert row["region_code"] is not None and row["email_domain_hash"] is not None


def test_a_released_signature_is_validated_then_and_another_campaigns_id_moves_nothing(
    app: Flask,
) -> None:
    campaign, other = create_campaign(), create_campaign()
    signature = create_signature(campaign, state=HELD, hold_reason="rate_burst")
    assert lifecycle.release_held([signature.id], other.id, utcnow()) == []
    assert lifecycle.reject_held([signature.id], other.id, utcnow()) == []
    assert lifecycle.release_held([signature.id], campaign.id, utcnow()) == [signature.id]
    db.session.commit()
    db.session.refresh(signature)
    assert signature.state is VALIDATED and signature.validated_at is not None


def test_every_hold_reason_has_a_label_and_fits_its_column() -> None:
    assert set(HOLD_LABELS) == set(HoldReason)
    for reason in HoldReason:
        assert len(reason.value) <= 32 and reason.label


def test_every_reason_has_a_label_and_fits_its_column() -> None:
    reasons = [*FraudReason, *FlagReason]
    assert set(REASON_LABELS) == set(reasons)
    for reason in reasons:
        assert len(reason.value) <= 32
    assert REASON_LABELS["rate_burst"] is REASON_LABELS[FraudReason.rate_burst]


def _sources() -> dict[str, str]:
    return {
        str(path.relative_to(ROOT)): path.read_text(encoding="utf-8")
        for folder in ("campaigns", "workers")
        for path in sorted((ROOT / folder).rglob("*.py"))
    }


def test_only_the_lifecycle_moves_a_state() -> None:
    writes_state = re.compile(r"""["']?\bstate["']?\s*[:=]\s*SignatureState\.""")
    updates = re.compile(r"\bupdate\(Signature\)")
    sources = _sources()

    moving = {path for path, text in sources.items() if writes_state.search(text)}
    updating = {path for path, text in sources.items() if updates.search(text)}

    assert moving == {"campaigns/signing/lifecycle.py"}
    # What else updates signatures changes no state: the count job's flag,
    # erasure, the consent to updates, and the signer's own changes (their
    # choices and the spelling of their name).
    assert updating == {
        "campaigns/signing/lifecycle.py",
        "campaigns/counting/services.py",
        "campaigns/retention/services.py",
        "campaigns/updates/unsubscribe.py",
        "campaigns/signing/manage/services.py",
    }
