"""Retention: after a campaign has been closed for RETENTION_DAYS, nothing in
the database can lead back to its signers, and its figures are unchanged."""

from __future__ import annotations

import base64
import json
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import inspect, select, text, update

import campaigns.retention.services as retention
from campaigns.accounts.services import create_user
from campaigns.counting.services import recount_signatures, update_signature_counts
from campaigns.extensions import db
from campaigns.models import (
    AuditEntry,
    Campaign,
    CampaignCount,
    CampaignStatus,
    CampaignUpdate,
    CountryCount,
    DailyCount,
    EmailLog,
    Invalidation,
    JobState,
    RegionCount,
    Role,
    Signature,
    SignatureState,
    TrendingFlag,
)
from campaigns.models.types import utcnow
from campaigns.moderation.invalidation import audited_preview, create_invalidation
from campaigns.outbox import relay_outbox
from campaigns.privacy.personal import read_personal_data
from campaigns.updates.closing import close_due_campaigns
from campaigns.updates.notices import notify_campaign_notices
from campaigns.updates.services import send_update, start_sending
from campaigns.updates.unsubscribe import make_unsubscribe_token
from tests.factories import create_campaign, create_signature
from tests.updates.support import plain_body, sent_mail

NAME = "Zaynab Haddad-Testperson"
EMAIL = "zaynab.haddad@olive-grove-family.org"
PHONE = "0944 123 456"
REGION = "Kafranbel Olive Lane, Idlib"
CLIENT_IP = "10.9.8.7"


# The whole database, as a dump would show it ---------------------------------------


def database_dump() -> list[tuple[str, str, Any]]:
    """(table, column, value) for every value of every column of every table."""
    db.session.rollback()
    values = []
    for table in inspect(db.engine).get_table_names():
        result = db.session.execute(text(f'SELECT * FROM "{table}"'))
        columns = list(result.keys())
        for row in result:
            values += [(table, column, value) for column, value in zip(columns, row, strict=True)]
    db.session.rollback()
    return values


def _as_text(value: Any) -> str:
    if isinstance(value, (dict, list)):
        return json.dumps(value, ensure_ascii=False)
    return str(value)


def _blob_spellings(blob: bytes) -> list[str]:
    """How code might have written bytes into a text column."""
    return [
        blob.hex(),
        base64.b64encode(blob).decode().rstrip("="),
        base64.urlsafe_b64encode(blob).decode().rstrip("="),
    ]


def find_traces(texts: list[str], blobs: list[bytes]) -> set[tuple[str, str]]:
    """Where in the database any of these strings or byte strings appear."""
    found = set()
    spellings = [t.lower() for t in texts] + [s.lower() for b in blobs for s in _blob_spellings(b)]
    for table, column, value in database_dump():
        if value is None:
            continue
        if isinstance(value, memoryview):
            value = bytes(value)
        if isinstance(value, bytes):
            hit = any(b in value for b in blobs) or any(
                t.encode() in value.lower() for t in spellings
            )
        else:
            hit = any(t in _as_text(value).lower() for t in spellings)
        if hit:
            found.add((table, column))
    return found


def figures(campaign_id: int) -> dict[str, list[tuple[Any, ...]]]:
    db.session.rollback()
    tables = {
        "campaign": (CampaignCount, ("signers", "total", "demo_signers")),
        "country": (CountryCount, ("country", "signers", "total")),
        "region": (RegionCount, ("country", "region", "signers", "total")),
        "daily": (DailyCount, ("day", "signers", "total")),
    }
    result = {}
    for name, (model, columns) in tables.items():
        rows = db.session.execute(
            select(*[getattr(model, c) for c in columns]).where(model.campaign_id == campaign_id)
        ).all()
        result[name] = sorted(tuple(row) for row in rows)
    return result


def later(monkeypatch: pytest.MonkeyPatch, days: int) -> datetime:
    """The retention job's clock, ``days`` from now."""
    moment = utcnow() + timedelta(days=days)
    monkeypatch.setattr(retention, "utcnow", lambda: moment)
    return moment


# The whole life of one signature ---------------------------------------------------


def test_after_retention_nothing_leads_back_to_the_signer_and_the_figures_stay(
    app: Flask, client: FlaskClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    campaign = create_campaign(slug="olive-trees")
    for n in range(3):
        create_signature(campaign, state=SignatureState.validated, email=f"other{n}@example.org")
    # Signing the way a person does: the form, the email, the button.
    response = client.post(
        "/en/campaigns/olive-trees/sign",
        data={
            "full_name": NAME,
            "email": EMAIL,
            "phone": PHONE,
            "country": "SY",
            "region": REGION,
            "show_name": "y",
            "contact_ok": "y",
        },
        environ_base={"REMOTE_ADDR": CLIENT_IP},
    )
    assert response.status_code == 303
    relay_outbox()
    [confirmation] = [m for m in sent_mail(app) if m["To"] == EMAIL]
    confirm_path = urlsplit(
        next(w for w in plain_body(confirmation).split() if "/confirm/" in w)
    ).path
    assert client.post(confirm_path).status_code == 303
    update_signature_counts()

    signature = db.session.execute(
        select(Signature).where(Signature.locale == "en", Signature.contact_ok.is_(True))
    ).scalar_one()
    assert signature.state is SignatureState.validated
    old_uuid = signature.uuid
    blobs = [
        signature.fingerprint,
        signature.ip_hash,
        signature.email_domain_hash,
        signature.personal_data,
        old_uuid.bytes,
    ]
    assert all(blobs)
    texts = [NAME, "Zaynab Haddad", EMAIL, "olive-grove-family", "944123456", "Kafranbel",
             old_uuid.hex, str(old_uuid)]

    # An update, and moderation records that name the signer's client.
    item = CampaignUpdate(
        campaign_id=campaign.id, texts={"ar": {"subject": "أخبار", "body": "نص"}}
    )
    db.session.add(item)
    db.session.flush()
    start_sending(item)
    db.session.add(TrendingFlag(
        campaign_id=campaign.id, kind="ip", key_hash=signature.ip_hash.hex(),
        window_start=utcnow(), count=12,
    ))
    conditions = {
        "ip_hash": signature.ip_hash.hex(),
        "email_domain_hash": signature.email_domain_hash.hex(),
        "name_pattern": "Zaynab Haddad",
        "country": "SY",
    }
    # An admin previewed, then ran it: the audit log holds both questions.
    admin = create_user(
        "admin@union.test", "Admin", "olive-trees-of-idlib-2026", Role.admin, campaign.organization
    )
    with app.test_request_context():
        audited_preview(campaign.id, conditions, admin=True)
        invalidation_id = create_invalidation(campaign.id, conditions, "burst", admin).id
        db.session.commit()
    db.session.execute(
        update(Invalidation)
        .where(Invalidation.id == invalidation_id)
        .values(state=JobState.completed)
    )
    db.session.commit()
    send_update(item.id)
    [news] = [m for m in sent_mail(app) if m["To"] == EMAIL and m["List-Unsubscribe"]]
    unsubscribe_path = urlsplit(str(news["List-Unsubscribe"]).strip("<>")).path

    # The test can fail: before erasure the traces are there.
    before = find_traces(texts, blobs)
    assert {("signatures", "fingerprint"), ("signatures", "personal_data"),
            ("trending_flags", "key_hash"), ("invalidations", "conditions"),
            ("audit_log", "details")} <= before
    # The typed region is sealed in the blob: no column holds it in clear.
    assert find_traces([REGION, "Kafranbel"], []) == set()
    assert read_personal_data(signature)["region"] == REGION
    counted = figures(campaign.id)
    assert counted["campaign"] == [(4, 4, 0)]
    assert counted["region"] == [("SY", "SY-ID", 1, 1), ("SY", "other", 3, 3)]

    # Closed on schedule; not erased until the retention time has passed.
    campaign.closes_at = utcnow() - timedelta(minutes=1)
    db.session.commit()
    assert close_due_campaigns() == ["olive-trees"]
    notify_campaign_notices()
    assert retention.erase_expired_personal_data() == 0
    later(monkeypatch, 179)
    assert retention.erase_expired_personal_data() == 0
    later(monkeypatch, 181)
    assert retention.erase_expired_personal_data() == 4

    assert find_traces(texts, blobs) == set()
    erased = db.session.get(Signature, signature.id)
    assert erased is not None and erased.erased_at is not None
    assert (erased.personal_data, erased.fingerprint, erased.ip_hash, erased.email_domain_hash) == (
        None, None, None, None
    )
    assert erased.region_code == "SY-ID" and erased.country == "SY"
    assert (erased.show_name, erased.deliver_name, erased.contact_ok) == (False, False, False)
    assert erased.state is SignatureState.validated and erased.counted
    assert db.session.execute(select(TrendingFlag)).first() is None
    invalidation = db.session.execute(select(Invalidation)).scalar_one()
    assert invalidation.conditions == {
        "ip_hash": "", "email_domain_hash": "", "name_pattern": "", "country": "SY"
    }
    previewed = db.session.execute(
        select(AuditEntry).where(AuditEntry.action == "invalidation_previewed")
    ).scalar_one()
    assert previewed.details["conditions"] == invalidation.conditions
    # The email log keeps its rows (which email went out, never to whom).
    assert db.session.execute(
        select(EmailLog.id).where(EmailLog.signature_id == signature.id)
    ).all()

    # The figures are exactly as they were, and a recount agrees.
    assert figures(campaign.id) == counted
    assert update_signature_counts() == 0
    recount_signatures(db.session.get(Campaign, campaign.id))
    assert figures(campaign.id) == counted

    # Links in old emails lead nowhere now.
    assert client.post(confirm_path).status_code == 404
    assert client.get(unsubscribe_path).status_code == 404
    assert client.post(unsubscribe_path).status_code == 404

    [entry] = db.session.execute(
        select(AuditEntry).where(AuditEntry.action == "personal_data_erased")
    ).scalars().all()
    assert entry.user_id is None and entry.target_id == str(campaign.id)
    assert entry.details == {"signatures": 4, "complete": True, "via": "schedule"}
    # Done is done: the next runs find nothing to do.
    assert retention.erase_expired_personal_data() == 0
    assert len(db.session.execute(
        select(AuditEntry).where(AuditEntry.action == "personal_data_erased")
    ).all()) == 1


# Scheduling and batches -----------------------------------------------------------------


def _audit_closing(campaign: Campaign, when: datetime) -> None:
    db.session.add(AuditEntry(
        user_id=None, action="campaign_status", target_type="campaign",
        target_id=str(campaign.id), details={"before": "open", "after": "closed"}, created_at=when,
    ))
    db.session.commit()


def _unerased(campaign: Campaign) -> int:
    db.session.rollback()
    return len(db.session.execute(
        select(Signature.id).where(
            Signature.campaign_id == campaign.id, Signature.erased_at.is_(None)
        )
    ).all())


def test_retention_days_come_from_the_configuration(app: Flask) -> None:
    campaign = create_campaign(status=CampaignStatus.closed)
    create_signature(campaign, state=SignatureState.validated)
    _audit_closing(campaign, utcnow() - timedelta(days=31))
    assert retention.erase_expired_personal_data() == 0
    app.config["RETENTION_DAYS"] = 30
    assert retention.erase_expired_personal_data() == 1
    assert _unerased(campaign) == 0


def test_open_and_recently_reopened_campaigns_keep_their_data(app: Flask) -> None:
    long_ago = utcnow() - timedelta(days=400)
    still_open = create_campaign(closes_at=long_ago + timedelta(days=1))
    create_signature(still_open, state=SignatureState.validated)
    reopened = create_campaign(status=CampaignStatus.closed)
    create_signature(reopened, state=SignatureState.validated)
    _audit_closing(reopened, long_ago)
    _audit_closing(reopened, utcnow() - timedelta(days=3))  # closed again lately
    db.session.commit()
    assert retention.erase_expired_personal_data() == 0
    assert _unerased(still_open) == 1 and _unerased(reopened) == 1


def test_a_campaign_closed_again_after_erasure_is_erased_again(
    app: Flask, monkeypatch: pytest.MonkeyPatch
) -> None:
    campaign = create_campaign(status=CampaignStatus.closed)
    create_signature(campaign, state=SignatureState.validated)
    _audit_closing(campaign, utcnow() - timedelta(days=200))
    assert retention.erase_expired_personal_data() == 1
    # Reopened, signed, closed again: erased 180 days after the new closing.
    create_signature(campaign, state=SignatureState.validated)
    _audit_closing(campaign, utcnow())
    assert retention.erase_expired_personal_data() == 0
    later(monkeypatch, 181)
    assert retention.erase_expired_personal_data() == 1
    assert _unerased(campaign) == 0


def test_erasure_goes_in_batches_and_resumes(app: Flask, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(retention, "BATCH", 2)
    campaign = create_campaign(status=CampaignStatus.closed)
    for _ in range(5):
        create_signature(campaign, state=SignatureState.pending)
    progress: list[int] = []
    erased, done = retention.erase_campaign(campaign, budget_seconds=0, progress=progress.append)
    assert (erased, done, progress) == (2, False, [2])
    assert _unerased(campaign) == 3
    erased, done = retention.erase_campaign(campaign, progress=progress.append)
    assert (erased, done, progress) == (3, True, [2, 2, 1])
    assert _unerased(campaign) == 0


# The command -----------------------------------------------------------------------------


def test_the_command_erases_on_demand_and_refuses_an_open_campaign(app: Flask) -> None:
    campaign = create_campaign(slug="olive-trees")
    for _ in range(3):
        create_signature(campaign, state=SignatureState.validated)
    before = figures(campaign.id)
    runner = app.test_cli_runner()

    refused = runner.invoke(args=["retention", "erase", "olive-trees"])
    assert refused.exit_code == 1
    assert "olive-trees is open" in refused.output
    assert _unerased(campaign) == 3

    unknown = runner.invoke(args=["retention", "erase", "no-such-campaign"])
    assert unknown.exit_code == 1 and "no campaign" in unknown.output

    forced = runner.invoke(args=["retention", "erase", "olive-trees", "--force"])
    assert forced.exit_code == 0, forced.output
    assert "erased the personal data of 3 signatures of olive-trees" in forced.output
    assert _unerased(campaign) == 0
    assert figures(campaign.id) == before
    [entry] = db.session.execute(
        select(AuditEntry).where(AuditEntry.action == "personal_data_erased")
    ).scalars().all()
    assert entry.user_id is None
    assert entry.details == {"signatures": 3, "complete": True, "via": "cli"}

    closed = create_campaign(slug="closed-one", status=CampaignStatus.closed)
    create_signature(closed, state=SignatureState.validated)
    result = runner.invoke(args=["retention", "erase", "closed-one"])
    assert result.exit_code == 0 and "erased the personal data of 1 signatures" in result.output
    assert _unerased(closed) == 0


def test_an_erased_signature_can_no_longer_be_unsubscribed(
    app: Flask, client: FlaskClient
) -> None:
    campaign = create_campaign(status=CampaignStatus.closed)
    signature = create_signature(campaign, state=SignatureState.validated, contact_ok=True)
    path = f"/en/unsubscribe/{make_unsubscribe_token(signature.uuid)}"
    assert client.get(path).status_code == 200
    retention.erase_campaign(campaign)
    assert client.get(path).status_code == 404
