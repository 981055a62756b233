"""Signing at a stand: a collector's kiosk stores each person once, whatever
its device resends; closed kiosks and campaigns refuse; bad entries get a
translated reason and change nothing; only the kiosk's collector uses it."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select

from campaigns.counting.services import update_signature_counts
from campaigns.extensions import db
from campaigns.kiosk.services import open_kiosk
from campaigns.models import (
    CampaignCount,
    CampaignStatus,
    Invalidation,
    Kiosk,
    Signature,
    SignatureSource,
    SignatureState,
)
from campaigns.moderation.invalidation import run_invalidation
from campaigns.privacy.personal import read_personal_data
from tests.moderation.support import Console, logged_in, make_console


@pytest.fixture
def console(app: Flask) -> Console:
    return make_console()


def _kiosk(console: Console, stand: str = "Azaz market, Friday") -> Kiosk:
    kiosk = open_kiosk(console.campaign, console.organizer, stand)
    db.session.commit()
    return kiosk


def person(n: int, **fields: Any) -> dict[str, Any]:
    return {"full_name": f"سعاد الحلبية {n}", "country": "SY", "region": "أعزاز", **fields}


def send(client: FlaskClient, kiosk: Kiosk, entries: list[dict[str, Any]]) -> Any:
    return client.post(f"/console/kiosks/{kiosk.uuid}/entries", json={"entries": entries})


def in_person(campaign_id: int) -> list[Signature]:
    db.session.rollback()
    return list(
        db.session.execute(
            select(Signature).where(
                Signature.campaign_id == campaign_id,
                Signature.source == SignatureSource.in_person,
            )
        ).scalars()
    )


def test_a_batch_sent_twice_is_stored_once_and_counted_in_person(
    app: Flask, console: Console
) -> None:
    kiosk = _kiosk(console)
    client = logged_in(app, console.organizer)
    entries = [
        {"key": str(uuid.uuid4()), "fields": person(n, phone="0944 123 45" + str(n))}
        for n in range(5)
    ]
    first = send(client, kiosk, entries)
    assert first.status_code == 200, first.get_data(as_text=True)
    assert sorted(first.json["accepted"]) == sorted(e["key"] for e in entries)
    again = send(client, kiosk, entries)
    assert again.status_code == 200
    assert sorted(again.json["accepted"]) == sorted(e["key"] for e in entries)
    stored = in_person(console.campaign.id)
    assert len(stored) == 5
    assert {s.state for s in stored} == {SignatureState.validated}
    assert {s.kiosk_id for s in stored} == {kiosk.id}
    data = read_personal_data(stored[0])
    assert data["email"] is None and data["phone"] and data["phone"].startswith("+963")
    update_signature_counts()
    count = db.session.get(CampaignCount, console.campaign.id)
    assert count is not None
    assert (count.signers, count.in_person_signers) == (5, 5)


def test_the_same_person_at_a_stand_again_is_one_signature(app: Flask, console: Console) -> None:
    kiosk = _kiosk(console)
    client = logged_in(app, console.organizer)
    # The same name written with other Arabic letter forms and spacing.
    again = person(1, full_name="سعاد  الحلبيه 1")
    answer = send(
        client,
        kiosk,
        [
            {"key": str(uuid.uuid4()), "fields": person(1)},
            {"key": str(uuid.uuid4()), "fields": again},
        ],
    )
    assert len(answer.json["accepted"]) == 2
    assert len(in_person(console.campaign.id)) == 1


def test_without_javascript_one_person_per_post(app: Flask, console: Console) -> None:
    kiosk = _kiosk(console)
    client = logged_in(app, console.organizer)
    client.set_cookie("lang", "en")
    page = client.get(f"/console/kiosks/{kiosk.uuid}")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert 'autocomplete="off"' in html and "kiosk.js" in html
    key = html.split('name="entry_key" type="hidden" value="')[1].split('"')[0]
    form = person(7, entry_key=key)
    answer = client.post(f"/console/kiosks/{kiosk.uuid}", data=form)
    assert answer.status_code == 303
    # A double tap: the same page's key again.
    client.post(f"/console/kiosks/{kiosk.uuid}", data=form)
    assert len(in_person(console.campaign.id)) == 1
    empty = client.get(answer.headers["Location"]).get_data(as_text=True)
    assert "سعاد" not in empty
    assert "Signed. The form is empty for the next person." in empty


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"full_name": ""}, "يُرجى إدخال اسمك."),
        ({"country": "XX"}, "يُرجى اختيار بلدك."),
        ({"phone": "12"}, "يُرجى إدخال رقم هاتف صحيح"),
        ({"region": "x" * 200}, "يجب ألّا يزيد اسم المدينة"),
        ({"full_name": "a\x00b"}, "يُرجى إزالة"),
    ],
)
def test_a_bad_entry_is_refused_with_a_translated_reason(
    app: Flask, console: Console, fields: dict[str, str], message: str
) -> None:
    kiosk = _kiosk(console)
    client = logged_in(app, console.organizer)
    client.set_cookie("lang", "ar")
    good, bad = str(uuid.uuid4()), str(uuid.uuid4())
    answer = send(
        client,
        kiosk,
        [
            {"key": good, "fields": person(1)},
            {"key": bad, "fields": person(2, **fields)},
        ],
    )
    assert answer.status_code == 200
    assert answer.json["accepted"] == [good]
    assert any(message in reason for reason in answer.json["refused"][bad]), answer.json
    assert len(in_person(console.campaign.id)) == 1


@pytest.mark.parametrize(
    "body",
    [
        None,
        [],
        {"entries": []},
        {"entries": "x"},
        {"entries": [1, None]},
        {"entries": [{"key": "not-a-uuid", "fields": {"full_name": "x"}}]},
        {"entries": [{"key": str(uuid.uuid4()), "fields": person(1)}] * 51},
    ],
)
def test_malformed_batches_change_nothing(app: Flask, console: Console, body: Any) -> None:
    kiosk = _kiosk(console)
    client = logged_in(app, console.organizer)
    answer = client.post(f"/console/kiosks/{kiosk.uuid}/entries", json=body)
    assert answer.status_code in (200, 400)
    assert answer.is_json
    assert in_person(console.campaign.id) == []


def test_a_closed_kiosk_or_campaign_refuses(app: Flask, console: Console) -> None:
    kiosk = _kiosk(console)
    client = logged_in(app, console.organizer)
    closed = client.post(f"/console/campaigns/{console.campaign.slug}/kiosks/{kiosk.uuid}/close")
    assert closed.status_code == 303
    answer = send(client, kiosk, [{"key": str(uuid.uuid4()), "fields": person(1)}])
    assert answer.status_code == 409 and answer.json["error"]
    other = _kiosk(console, "Afrin")
    console.campaign.status = CampaignStatus.closed
    db.session.commit()
    answer = send(client, other, [{"key": str(uuid.uuid4()), "fields": person(1)}])
    assert answer.status_code == 409
    assert in_person(console.campaign.id) == []


def test_an_unknown_kiosk_and_another_collectors_kiosk_are_not_found(
    app: Flask, console: Console
) -> None:
    kiosk = _kiosk(console)
    entry = [{"key": str(uuid.uuid4()), "fields": person(1)}]
    admin = logged_in(app, console.admin)
    assert admin.get(f"/console/kiosks/{uuid.uuid4()}").status_code == 404
    # The device is its collector's: an admin does not sign on it.
    assert admin.get(f"/console/kiosks/{kiosk.uuid}").status_code == 404
    assert send(admin, kiosk, entry).status_code == 404
    assert logged_in(app, console.partner).get(f"/console/kiosks/{kiosk.uuid}").status_code == 403
    other = logged_in(app, console.other_organizer)
    assert send(other, kiosk, entry).status_code == 404
    assert in_person(console.campaign.id) == []


def test_stands_are_reviewed_and_invalidated_by_stand_or_collector(
    app: Flask, console: Console
) -> None:
    market, school = _kiosk(console, "Market"), _kiosk(console, "School")
    client = logged_in(app, console.organizer)
    for kiosk, first in ((market, 0), (school, 10)):
        send(
            client,
            kiosk,
            [{"key": str(uuid.uuid4()), "fields": person(first + n)} for n in range(6)],
        )
    page = client.get(f"/console/campaigns/{console.campaign.slug}/kiosks")
    assert page.status_code == 200
    assert "Market" in page.get_data(as_text=True)
    answer = client.post(
        f"/console/campaigns/{console.campaign.slug}/kiosks/{market.uuid}/invalidate",
        data={"reason": "Signed by one hand"},
    )
    assert answer.status_code == 303
    invalidation = db.session.execute(select(Invalidation)).scalar_one()
    run_invalidation(invalidation.id)
    states = {(s.kiosk_id, s.state) for s in in_person(console.campaign.id)}
    assert states == {
        (market.id, SignatureState.invalidated),
        (school.id, SignatureState.validated),
    }
    by_collector = client.post(
        f"/console/campaigns/{console.campaign.slug}/collectors/{console.organizer.id}/invalidate",
        data={"reason": "Collector unknown to us"},
    )
    assert by_collector.status_code == 303
    last = (
        db.session.execute(select(Invalidation).order_by(Invalidation.id.desc())).scalars().first()
    )
    assert last is not None
    run_invalidation(last.id)
    assert {s.state for s in in_person(console.campaign.id)} == {SignatureState.invalidated}
    update_signature_counts()
    db.session.expire_all()
    count = db.session.get(CampaignCount, console.campaign.id)
    assert count is not None and count.in_person_signers == 0
    # No reason: nothing starts.
    refused = client.post(
        f"/console/campaigns/{console.campaign.slug}/collectors/{console.organizer.id}/invalidate",
        data={"reason": ""},
    )
    assert refused.status_code == 422
    assert db.session.execute(select(func.count()).select_from(Invalidation)).scalar() == 2
