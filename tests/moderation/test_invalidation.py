"""Bulk invalidation: conditions and their preview, the run in batches with
its progress, cancelling, resuming from the cursor, and the figures after."""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest
from flask import Flask
from sqlalchemy import update

from campaigns.counting.services import campaign_count, update_signature_counts
from campaigns.extensions import db
from campaigns.models import Invalidation, JobState, Signature, SignatureState
from campaigns.models.types import utcnow
from campaigns.moderation.invalidation import (
    NoConditions,
    create_invalidation,
    invalidate_batch,
    name_matcher,
    preview_invalidation,
    requeue_pending_invalidations,
    run_invalidation,
)
from campaigns.privacy.crypto import hash_email_domain, hash_ip
from tests.console.confirming import post_confirmed
from workers.moderation import invalidate_signatures

from .support import (
    Console,
    audit,
    fresh,
    invalidations,
    logged_in,
    make_console,
    signature,
    states,
    trending_flag,
)

NEW = "/console/moderation/invalidations/new"
IP = "203.0.113.7"
ENGLISH = {"Accept-Language": "en"}


def attack(console: Console, n: int = 5) -> list[Signature]:
    """``n`` validated signatures from one address, among honest ones."""
    bots = [
        signature(console.campaign, state=SignatureState.validated, ip=IP, name=f"Bot {i}")
        for i in range(n)
    ]
    for i in range(3):
        signature(console.campaign, state=SignatureState.validated, ip=f"198.51.100.{i}")
    # The same address on another organization's campaign is not theirs to touch.
    signature(console.other_campaign, state=SignatureState.validated, ip=IP)
    update_signature_counts()
    # The burst is on the trending page: its hash is one organizers may use.
    trending_flag(console.campaign, "ip", hash_ip(IP).hex())
    return bots


def _new(app: Flask, console: Console, conditions: dict[str, str]) -> Invalidation:
    with app.test_request_context():
        item = create_invalidation(console.campaign.id, conditions, "bots", console.organizer)
        db.session.commit()
    return item


def test_an_invalidation_without_conditions_is_refused(app: Flask) -> None:
    console = make_console()
    signature(console.campaign, state=SignatureState.validated)
    admin = logged_in(app, console.admin, console)
    for form in ({}, {"campaign": console.campaign.slug}):
        response = admin.post(NEW, data={**form, "reason": "x", "action": "run"}, headers=ENGLISH)
        assert response.status_code == 422
        assert "at least one condition besides the campaign" in response.get_data(as_text=True)
    assert invalidations() == []
    with pytest.raises(NoConditions):
        preview_invalidation(None, {"country": ""})


def test_an_organizer_must_name_one_of_their_campaigns(app: Flask) -> None:
    console = make_console()
    organizer = logged_in(app, console.organizer)
    response = organizer.post(NEW, data={"country": "SY", "reason": "x", "action": "run"})
    assert response.status_code == 422
    response = organizer.post(
        NEW,
        data={
            "campaign": console.other_campaign.slug,
            "country": "SY",
            "reason": "x",
            "action": "run",
        },
    )
    assert response.status_code == 404
    assert invalidations() == []


def test_running_needs_a_reason(app: Flask) -> None:
    console = make_console()
    organizer = logged_in(app, console.organizer)
    response = organizer.post(
        NEW, data={"campaign": console.campaign.slug, "country": "SY", "action": "run"}
    )
    assert response.status_code == 422
    assert invalidations() == []


def test_the_preview_counts_what_each_condition_takes(app: Flask) -> None:
    console = make_console()
    now = utcnow()
    bots = attack(console, 4)
    signature(console.campaign, state=SignatureState.pending, ip=IP)  # pending counts too
    signature(console.campaign, state=SignatureState.fraudulent, ip=IP)  # already out
    signature(
        console.campaign,
        state=SignatureState.validated,
        email="a@spam.example",
        country="TR",
        created_at=now - timedelta(hours=3),
    )
    signature(
        console.campaign,
        state=SignatureState.validated,
        email="b@spam.example",
        country="TR",
        name="Ali Spammer",
    )
    cid = console.campaign.id
    ip_hash = hash_ip(IP).hex()
    assert preview_invalidation(cid, {"ip_hash": ip_hash}).count == 5
    assert preview_invalidation(None, {"ip_hash": ip_hash}).count == 6
    assert preview_invalidation(cid, {"country": "TR"}).count == 2
    domain = hash_email_domain("spam.example").hex()
    assert preview_invalidation(cid, {"email_domain_hash": domain}).count == 2
    assert preview_invalidation(cid, {"email_domain": "SPAM.example"}).count == 2
    since = (now - timedelta(hours=1)).isoformat()
    assert preview_invalidation(cid, {"email_domain_hash": domain, "since": since}).count == 1
    until = (now - timedelta(hours=1)).isoformat()
    assert preview_invalidation(cid, {"country": "TR", "until": until}).count == 1
    assert preview_invalidation(cid, {"ip_hash": ip_hash, "name_pattern": "bot"}).count == 4
    assert preview_invalidation(cid, {"name_pattern": "BOT ?"}).count == 4
    assert bots  # the rest are honest
    # Too many names to decrypt in a request: the candidates, said to be so.
    app.config["INVALIDATION_PREVIEW_NAME_LIMIT"] = 3
    preview = preview_invalidation(cid, {"ip_hash": ip_hash, "name_pattern": "Bot 1"})
    assert (preview.count, preview.exact) == (5, False)


def test_the_form_previews_before_running(app: Flask) -> None:
    console = make_console()
    attack(console, 3)
    organizer = logged_in(app, console.organizer)
    form = {"campaign": console.campaign.slug, "ip_hash": hash_ip(IP).hex(), "action": "preview"}
    response = organizer.post(NEW, data=form, headers=ENGLISH)
    assert response.status_code == 200
    # Below admin, 1 to 4 is "fewer than 5"; an admin reads the count.
    assert "Fewer than 5 signatures meet these conditions now." in response.get_data(as_text=True)
    admin = logged_in(app, console.admin, console)
    exact = admin.post(NEW, data=form, headers=ENGLISH).get_data(as_text=True)
    assert "3 signatures meet these conditions now." in exact
    assert invalidations() == []
    # Both previews are in the audit log, with their conditions.
    entries = audit("invalidation_previewed")
    assert [e.user_id for e in entries] == [console.organizer.id, console.admin.id]
    assert entries[0].details["conditions"] == {"ip_hash": hash_ip(IP).hex()}
    assert entries[0].details["count"] == 3
    prefilled = organizer.get(NEW, query_string={k: v for k, v in form.items() if k != "action"})
    assert prefilled.status_code == 200
    assert hash_ip(IP).hex() in prefilled.get_data(as_text=True)
    assert len(audit("invalidation_previewed")) == 2  # a GET previews nothing
    bad = organizer.post(NEW, data={**form, "ip_hash": "not-a-hash"})
    assert bad.status_code == 422


def test_name_patterns_ignore_case_and_arabic_spelling_variants() -> None:
    assert name_matcher("bot")("Ro BOT ic")
    assert name_matcher("أحمد")("احمد الحلبي")
    assert name_matcher("test*")("Test Signer")
    assert not name_matcher("test*")("A Test Signer")
    assert name_matcher("[ab]* x")("Bob X")


def test_running_invalidates_the_matches_and_corrects_the_figures(app: Flask) -> None:
    console = make_console()
    bots = attack(console, 5)
    fraudulent = signature(console.campaign, state=SignatureState.fraudulent, ip=IP)
    assert campaign_count(console.campaign.id).signers == 8
    app.config["INVALIDATION_BATCH_SIZE"] = 2
    organizer = logged_in(app, console.organizer)
    response = post_confirmed(
        organizer,
        NEW,
        {
            "campaign": console.campaign.slug,
            "ip_hash": hash_ip(IP).hex(),
            "reason": "One address, many names",
            "action": "run",
        },
    )
    assert response.status_code == 303
    [item] = invalidations()
    assert response.headers["Location"].endswith(f"/console/moderation/invalidations/{item.id}")
    assert (item.state, item.matched, item.invalidated) == (JobState.completed, 5, 5)
    assert item.cursor == bots[-1].id and item.created_by == console.organizer.id
    assert item.started_at and item.finished_at
    for bot in bots:
        stored = fresh(Signature, bot.id)
        assert stored.state is SignatureState.invalidated
        assert stored.invalidation_id == item.id and stored.invalidated_at is not None
    assert fresh(Signature, fraudulent.id).state is SignatureState.fraudulent
    # The figures were corrected at the end of the run.
    db.session.expire_all()
    assert campaign_count(console.campaign.id).signers == 3
    assert campaign_count(console.other_campaign.id).signers == 1
    [entry] = audit("invalidation_created")
    assert entry.details == {
        "campaign_id": console.campaign.id,
        "conditions": {"ip_hash": hash_ip(IP).hex()},
        "reason": "One address, many names",
    }
    page = organizer.get(f"/console/moderation/invalidations/{item.id}").get_data(as_text=True)
    assert 'data-state="completed"' in page and "data-invalidated>5<" in page
    listing = organizer.get("/console/moderation/invalidations").get_data(as_text=True)
    assert f"/invalidations/{item.id}" in listing and "One address, many names" in listing
    # Another organization does not see it in its list.
    other = logged_in(app, console.other_organizer).get("/console/moderation/invalidations")
    assert f"/invalidations/{item.id}" not in other.get_data(as_text=True)


def test_it_runs_in_batches_and_stops_when_cancelled(app: Flask) -> None:
    console = make_console()
    bots = attack(console, 5)
    item = _new(app, console, {"ip_hash": hash_ip(IP).hex()})
    assert invalidate_batch(item.id, 2) is True
    running = fresh(Invalidation, item.id)
    assert (running.state, running.matched, running.invalidated) == (JobState.running, 2, 2)
    assert running.cursor == bots[1].id
    page = logged_in(app, console.organizer).get(f"/console/moderation/invalidations/{item.id}")
    assert 'data-state="running"' in page.get_data(as_text=True)

    organizer = logged_in(app, console.organizer)
    response = organizer.post(f"/console/moderation/invalidations/{item.id}/cancel")
    assert response.status_code == 303
    assert run_invalidation(item.id, 2) is JobState.cancelled
    cancelled = fresh(Invalidation, item.id)
    assert (cancelled.invalidated, cancelled.cursor) == (2, bots[1].id)
    assert states(*bots) == [SignatureState.invalidated] * 2 + [SignatureState.validated] * 3
    db.session.expire_all()
    assert campaign_count(console.campaign.id).signers == 6
    assert [e.target_id for e in audit("invalidation_cancelled")] == [str(item.id)]
    # A finished invalidation cannot be cancelled again.
    again = organizer.post(f"/console/moderation/invalidations/{item.id}/cancel")
    assert again.status_code == 303
    assert 'role="alert"' in organizer.get(again.headers["Location"]).get_data(as_text=True)
    assert [e.target_id for e in audit("invalidation_cancelled")] == [str(item.id)]


def test_a_restarted_run_resumes_from_its_cursor_and_a_second_run_changes_nothing(
    app: Flask,
) -> None:
    console = make_console()
    bots = attack(console, 5)
    item = _new(app, console, {"ip_hash": hash_ip(IP).hex()})
    # As if a worker died after two batches of one: running, cursor on the 2nd.
    db.session.execute(
        update(Invalidation)
        .where(Invalidation.id == item.id)
        .values(state=JobState.running, cursor=bots[1].id, matched=2, invalidated=2)
    )
    db.session.commit()
    assert invalidate_signatures.apply(args=[item.id]).get() == "completed"
    done = fresh(Invalidation, item.id)
    assert (done.matched, done.invalidated, done.cursor) == (5, 5, bots[-1].id)
    # The two before the cursor were left alone: the run went on from there.
    assert states(*bots) == [SignatureState.validated] * 2 + [SignatureState.invalidated] * 3
    db.session.expire_all()
    signers = campaign_count(console.campaign.id).signers
    assert signers == 5
    # Delivered twice: nothing more happens.
    assert run_invalidation(item.id) is JobState.completed
    again = fresh(Invalidation, item.id)
    assert (again.matched, again.invalidated, again.finished_at) == (5, 5, done.finished_at)
    db.session.expire_all()
    assert campaign_count(console.campaign.id).signers == signers


def test_a_name_pattern_is_matched_on_the_decrypted_names(app: Flask) -> None:
    console = make_console()
    bots = attack(console, 3)
    human = signature(console.campaign, state=SignatureState.validated, ip=IP, name="Leila")
    item = _new(app, console, {"ip_hash": hash_ip(IP).hex(), "name_pattern": "bot *"})
    assert run_invalidation(item.id, 2) is JobState.completed
    done = fresh(Invalidation, item.id)
    assert (done.matched, done.invalidated) == (3, 3)
    assert done.cursor == human.id  # every candidate was examined
    assert states(*bots, human) == [SignatureState.invalidated] * 3 + [SignatureState.validated]


def test_a_lost_task_message_is_published_again(app: Flask) -> None:
    console = make_console()
    bots = attack(console, 2)
    item = _new(app, console, {"ip_hash": hash_ip(IP).hex()})
    assert requeue_pending_invalidations() == 0  # too recent: its task may be on its way
    db.session.execute(
        update(Invalidation)
        .where(Invalidation.id == item.id)
        .values(created_at=utcnow() - timedelta(minutes=10))
    )
    db.session.commit()
    assert requeue_pending_invalidations() == 1
    assert fresh(Invalidation, item.id).state is JobState.completed
    assert states(*bots) == [SignatureState.invalidated] * 2
    assert requeue_pending_invalidations() == 0


def test_two_runs_at_once_take_turns_batch_by_batch(app: Flask, engine_name: str) -> None:
    """A task delivered twice (a redelivery while the first still runs): the
    row lock serializes their batches, so nothing is counted twice."""
    if engine_name != "postgresql":
        pytest.skip("row locks: PostgreSQL, the production database")
    console = make_console()
    bots = attack(console, 8)
    item_id = _new(app, console, {"ip_hash": hash_ip(IP).hex()}).id
    failures: list[BaseException] = []

    def run() -> None:
        with app.app_context():
            try:
                run_invalidation(item_id, 1)
            except BaseException as exc:  # reported below, in the test's thread
                failures.append(exc)

    threads = [threading.Thread(target=run) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert failures == []
    done = fresh(Invalidation, item_id)
    assert (done.state, done.matched, done.invalidated) == (JobState.completed, 8, 8)
    assert states(*bots) == [SignatureState.invalidated] * 8
    db.session.expire_all()
    assert campaign_count(console.campaign.id).signers == 3


def test_conditions_on_personal_data_are_for_admins_only(app: Flask) -> None:
    console = make_console()
    attack(console, 5)
    organizer = logged_in(app, console.organizer)
    base = {"campaign": console.campaign.slug, "reason": "x"}
    refused = {
        "name_pattern": ({"name_pattern": "bot"}, "Only an administrator may choose"),
        "email_domain": ({"email_domain": "example.org"}, "Only an administrator may choose"),
        # A hash that is no burst of the campaign: an address or domain typed in.
        "ip_hash": ({"ip_hash": hash_ip("192.0.2.1").hex()}, "Use a hash from the trending"),
        "domain hash": (
            {"email_domain_hash": hash_email_domain("example.org").hex()},
            "Use a hash from the trending",
        ),
    }
    for condition, (fields, message) in refused.items():
        for action in ("preview", "run"):
            response = organizer.post(
                NEW, data={**base, **fields, "action": action}, headers=ENGLISH
            )
            assert response.status_code == 422, condition
            html = response.get_data(as_text=True)
            assert message in html and "meet these conditions" not in html, condition
    assert invalidations() == [] and audit("invalidation_previewed") == []
    # An admin may, and the question is recorded with its value.
    admin = logged_in(app, console.admin, console)
    response = admin.post(NEW, data={**base, "name_pattern": "bot", "action": "preview"})
    assert response.status_code == 200
    [entry] = audit("invalidation_previewed")
    assert entry.user_id == console.admin.id
    assert entry.details["conditions"] == {"name_pattern": "bot"}


def test_organizers_see_neither_an_admins_name_pattern_nor_a_small_count(app: Flask) -> None:
    console = make_console()
    signature(console.campaign, state=SignatureState.validated, name="Candace Nasser")
    item = _new(app, console, {"name_pattern": "candace"})
    run_invalidation(item.id)
    admin = logged_in(app, console.admin, console)
    shown = admin.get(f"/console/moderation/invalidations/{item.id}").get_data(as_text=True)
    assert "candace" in shown and "data-invalidated>1<" in shown
    organizer = logged_in(app, console.organizer)
    for path in (
        f"/console/moderation/invalidations/{item.id}",
        "/console/moderation/invalidations",
    ):
        page = organizer.get(path, headers=ENGLISH).get_data(as_text=True)
        assert "candace" not in page.lower()
        assert "fewer than 5" in page and ">1<" not in page
