"""Held signatures reviewed a network or an email domain at a time: the
groups an organizer sees (a short label, never the address, the domain nor
their hashes), and the one decision that
releases or rejects exactly one group, idempotent, safe when two people
decide at once, and audited without anything about a signer."""

from __future__ import annotations

import itertools
import threading

import pytest
from flask import Flask
from sqlalchemy import select

from campaigns.counting.services import campaign_count, update_signature_counts
from campaigns.extensions import db
from campaigns.models import AuditEntry, Signature, SignatureState
from campaigns.moderation.held import (
    DOMAIN,
    GroupChanged,
    decide_group,
    domain_label,
    group_label,
    held_groups,
)
from campaigns.privacy.crypto import hash_email_domain, hash_ip

from .support import audit, logged_in, make_console, signature

CAMP = "198.51.100.23"
CAFE = "2001:db8:cafe::17"
_serial = itertools.count()


def held(campaign, ip: str, n: int, domain: str = "example.org", mixed: bool = True) -> list[Signature]:  # type: ignore[no-untyped-def]  # noqa: E501
    """Held signatures from ``ip``: every other one of ``domain`` (all when
    not ``mixed``), the rest each of its own domain."""
    return [
        signature(
            campaign,
            state=SignatureState.held,
            hold_reason="rate_burst",
            ip=ip,
            email=f"held.{next(_serial)}@{domain if i % 2 or not mixed else f'mail-{i}.org'}",
        )
        for i in range(n)
    ]


def states(ids: list[int]) -> set[SignatureState]:
    db.session.rollback()
    db.session.expire_all()
    return set(
        db.session.execute(select(Signature.state).where(Signature.id.in_(ids))).scalars()
    )


def decide(client, slug: str, label: str, decision: str, count: int, confirmed: bool = True, kind: str = "network"):  # type: ignore[no-untyped-def]  # noqa: E501
    data = {"decision": decision, "count": str(count)}
    if confirmed:
        data["confirmed"] = "y"
    return client.post(f"/console/moderation/campaigns/{slug}/held/{kind}/{label}", data=data)


def test_the_queue_groups_held_signatures_by_network_without_addresses(app: Flask) -> None:
    console = make_console()
    camp = held(console.campaign, CAMP, 6)
    held(console.campaign, CAFE, 2)
    held(console.other_campaign, CAMP, 3)
    signature(console.campaign, state=SignatureState.validated, ip=CAMP)
    page = (
        logged_in(app, console.organizer)
        .get(f"/console/moderation/campaigns/{console.campaign.slug}")
        .get_data(as_text=True)
    )
    label = group_label(hash_ip(CAMP))
    assert label in page and group_label(hash_ip(CAFE)) in page
    # Neither the address nor its keyed hash is on the page.
    for secret in (CAMP, CAFE, hash_ip(CAMP).hex(), hash_ip(CAFE).hex()):
        assert secret not in page
    groups = {g.label: g for g in held_groups([console.campaign.id])}
    assert (groups[label].size, groups[label].spread) == (6, 4)  # mail-0, -2, -4 and example.org
    assert groups[label].first == min(s.created_at for s in camp)
    # The other organization's group is not shown to this organizer.
    assert len(held_groups([console.other_campaign.id])) == 1
    everything = logged_in(app, console.organizer).get("/console/moderation").get_data(
        as_text=True
    )
    # Its two groups by network, and by email domain example.org, mail-0, -2 and -4.
    assert everything.count("/held/network/") == 2
    assert everything.count("/held/domain/") == 4


def test_one_decision_releases_exactly_the_group_and_the_count_follows(app: Flask) -> None:
    console = make_console()
    camp = [s.id for s in held(console.campaign, CAMP, 7)]
    cafe = [s.id for s in held(console.campaign, CAFE, 3)]
    elsewhere = [s.id for s in held(console.other_campaign, CAMP, 2)]
    client = logged_in(app, console.organizer)
    label = group_label(hash_ip(CAMP))
    page = client.get(f"/console/moderation/campaigns/{console.campaign.slug}/held/network/{label}")
    assert page.status_code == 200
    text = page.get_data(as_text=True)
    assert 'name="count" type="hidden" value="7"' in text or 'value="7"' in text
    response = decide(client, console.campaign.slug, label, "release", 7)
    assert response.status_code == 303
    assert states(camp) == {SignatureState.validated}
    assert states(cafe) == {SignatureState.held}
    assert states(elsewhere) == {SignatureState.held}
    update_signature_counts()
    assert campaign_count(console.campaign.id).signers == 7
    # Idempotent: the same post again (a double click, a second tab) changes nothing.
    again = decide(client, console.campaign.slug, label, "release", 7)
    assert again.status_code == 303
    [entry] = audit("held_group_released")
    assert entry.user_id == console.organizer.id
    assert entry.target_type == "campaign" and entry.target_id == str(console.campaign.id)
    assert entry.details == {"group": label, "count": 7}
    # Nothing about a signer or the address in the audit log.
    for secret in (CAMP, hash_ip(CAMP).hex(), "held."):
        assert secret not in str(entry.details)


def test_rejecting_a_group_invalidates_it_only(app: Flask) -> None:
    console = make_console()
    camp = [s.id for s in held(console.campaign, CAMP, 5)]
    cafe = [s.id for s in held(console.campaign, CAFE, 5)]
    client = logged_in(app, console.admin, console)
    label = group_label(hash_ip(CAFE))
    assert decide(client, console.campaign.slug, label, "reject", 5).status_code == 303
    assert states(cafe) == {SignatureState.invalidated}
    assert states(camp) == {SignatureState.held}
    [entry] = audit("held_group_rejected")
    assert entry.details == {"group": label, "count": 5}
    # A rejected group cannot be released afterwards.
    assert decide(client, console.campaign.slug, label, "release", 5).status_code == 303
    assert states(cafe) == {SignatureState.invalidated}
    assert audit("held_group_released") == []


def test_a_decision_needs_its_number_confirmed_and_a_changed_group_asks_again(
    app: Flask,
) -> None:
    console = make_console()
    camp = [s.id for s in held(console.campaign, CAMP, 4)]
    client = logged_in(app, console.organizer)
    slug, label = console.campaign.slug, group_label(hash_ip(CAMP))
    unconfirmed = decide(client, slug, label, "release", 4, confirmed=False)
    assert unconfirmed.status_code == 422
    assert "يُرجى تأكيد عدد التواقيع" in unconfirmed.get_data(as_text=True)
    no_choice = client.post(
        f"/console/moderation/campaigns/{slug}/held/network/{label}",
        data={"count": "4", "confirmed": "y"},
    )
    assert no_choice.status_code == 422
    junk = decide(client, slug, label, "delete-everything", 4)
    assert junk.status_code == 422
    # One more signature was held since the page was shown: the decision waits.
    camp += [s.id for s in held(console.campaign, CAMP, 1)]
    changed = decide(client, slug, label, "release", 4)
    assert changed.status_code == 422
    assert 'value="5"' in changed.get_data(as_text=True)
    assert states(camp) == {SignatureState.held}
    assert audit("held_group_released") == []


@pytest.mark.parametrize("label", ["0123456789", "not-a-label", "ZZZZZZZZZZ", "a" * 300])
def test_an_unknown_group_is_a_not_found_page(app: Flask, label: str) -> None:
    console = make_console()
    held(console.campaign, CAMP, 2)
    client = logged_in(app, console.organizer)
    page = client.get(f"/console/moderation/campaigns/{console.campaign.slug}/held/network/{label}")
    assert page.status_code == 404
    assert decide(client, console.campaign.slug, label, "release", 2).status_code == 303
    assert len(held_groups([console.campaign.id])) == 1


def test_another_organization_cannot_decide_the_group(app: Flask) -> None:
    console = make_console()
    ids = [s.id for s in held(console.campaign, CAMP, 3)]
    label = group_label(hash_ip(CAMP))
    other = logged_in(app, console.other_organizer)
    assert decide(other, console.campaign.slug, label, "release", 3).status_code == 404
    partner = logged_in(app, console.partner)
    assert decide(partner, console.campaign.slug, label, "release", 3).status_code == 403
    assert states(ids) == {SignatureState.held}


def test_two_people_deciding_at_once_move_the_group_once(app: Flask) -> None:
    """Two requests race on the same group: the guarded UPDATE lets one of
    them move it; the other moves nothing and records nothing."""
    if db.engine.dialect.name != "postgresql":
        pytest.skip("concurrency is tested on PostgreSQL, the production database")
    console = make_console()
    ids = [s.id for s in held(console.campaign, CAMP, 9)]
    campaign_id, label = console.campaign.id, group_label(hash_ip(CAMP))
    barrier = threading.Barrier(2)
    moved: list[int] = []
    failures: list[BaseException] = []

    def one(decision: str) -> None:
        try:
            with app.test_request_context():
                from campaigns.models import Campaign

                campaign = db.session.get(Campaign, campaign_id)
                assert campaign is not None
                barrier.wait(5)
                moved.append(decide_group(campaign, label, decision, 9))
                db.session.commit()
                db.session.remove()
        except BaseException as exc:
            failures.append(exc)

    db.session.commit()
    threads = [threading.Thread(target=one, args=(d,)) for d in ("release", "reject")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(20)
    assert failures == []
    assert sorted(moved) == [0, 9]
    final = states(ids)
    assert len(final) == 1 and final <= {SignatureState.validated, SignatureState.invalidated}
    db.session.rollback()
    entries = db.session.execute(
        select(AuditEntry).where(AuditEntry.action.like("held_group_%"))
    ).scalars().all()
    assert len(entries) == 1


def test_the_service_refuses_a_number_that_is_not_the_groups(app: Flask) -> None:
    console = make_console()
    held(console.campaign, CAMP, 3)
    with pytest.raises(GroupChanged) as raised:
        decide_group(console.campaign, group_label(hash_ip(CAMP)), "release", 30)
    assert raised.value.size == 3


FAR = "203.0.113.9"


def same_domain(campaign, ip: str, n: int, domain: str) -> list[int]:  # type: ignore[no-untyped-def]
    return [s.id for s in held(campaign, ip, n, domain, mixed=False)]


def test_held_signatures_are_grouped_by_email_domain_too(app: Flask) -> None:
    console = make_console()
    spam = same_domain(console.campaign, CAMP, 3, "spam.example")
    spam += same_domain(console.campaign, CAFE, 2, "spam.example")
    same_domain(console.campaign, FAR, 1, "mail.example")
    same_domain(console.other_campaign, CAMP, 4, "spam.example")
    groups = {g.label: g for g in held_groups([console.campaign.id], DOMAIN)}
    label = domain_label(console.campaign.id, hash_email_domain("spam.example"))
    assert sorted(g.size for g in groups.values()) == [1, 5]
    assert (groups[label].size, groups[label].spread, groups[label].kind) == (5, 2, DOMAIN)
    # Labels of the two kinds never match, nor the same domain's on two campaigns.
    networks = {g.label for g in held_groups([console.campaign.id])}
    assert networks.isdisjoint(groups)
    assert label != domain_label(console.other_campaign.id, hash_email_domain("spam.example"))
    [elsewhere] = held_groups([console.other_campaign.id], DOMAIN)
    assert elsewhere.label not in groups
    client = logged_in(app, console.organizer)
    queue = client.get(f"/console/moderation/campaigns/{console.campaign.slug}")
    page = client.get(f"/console/moderation/campaigns/{console.campaign.slug}/held/domain/{label}")
    assert page.status_code == 200
    texts = queue.get_data(as_text=True) + page.get_data(as_text=True)
    assert label in texts and f"/held/domain/{label}" in texts
    # No domain in clear nor its keyed hash, for an admin either.
    admin = logged_in(app, console.admin, console)
    texts += admin.get(f"/console/moderation/campaigns/{console.campaign.slug}").get_data(
        as_text=True
    ) + admin.get(f"/console/moderation/campaigns/{console.campaign.slug}/held/domain/{label}"
    ).get_data(as_text=True)
    for secret in ("spam.example", "mail.example", hash_email_domain("spam.example").hex()):
        assert secret not in texts
    # A network's label is no domain group's, and the other campaign's is not here.
    base = f"/console/moderation/campaigns/{console.campaign.slug}/held"
    for path in (
        f"domain/{group_label(hash_ip(CAMP))}",
        f"domain/{elsewhere.label}",
        f"other/{label}",
    ):
        assert client.get(f"{base}/{path}").status_code == 404


def test_one_decision_releases_exactly_a_domain_group(app: Flask) -> None:
    console = make_console()
    spam = same_domain(console.campaign, CAMP, 3, "spam.example")
    spam += same_domain(console.campaign, CAFE, 2, "spam.example")
    other = same_domain(console.campaign, CAMP, 2, "mail.example")
    elsewhere = same_domain(console.other_campaign, CAMP, 2, "spam.example")
    client = logged_in(app, console.organizer)
    label = domain_label(console.campaign.id, hash_email_domain("spam.example"))
    response = decide(client, console.campaign.slug, label, "release", 5, kind="domain")
    assert response.status_code == 303
    assert states(spam) == {SignatureState.validated}
    assert states(other) == {SignatureState.held}
    assert states(elsewhere) == {SignatureState.held}
    [entry] = audit("held_domain_released")
    assert entry.details == {"group": label, "count": 5}
    assert audit("held_group_released") == []
    # Decided already: nothing changes, nothing more in the audit log.
    again = decide(client, console.campaign.slug, label, "release", 5, kind="domain")
    assert again.status_code == 303
    assert len(audit("held_domain_released")) == 1


def test_rejecting_a_domain_group_needs_its_current_size(app: Flask) -> None:
    console = make_console()
    spam = same_domain(console.campaign, CAMP, 3, "spam.example")
    other = same_domain(console.campaign, CAMP, 2, "mail.example")
    client = logged_in(app, console.admin, console)
    label = domain_label(console.campaign.id, hash_email_domain("spam.example"))
    # One more held since the page was shown: refused, and the new number asked.
    spam += same_domain(console.campaign, FAR, 1, "spam.example")
    stale = decide(client, console.campaign.slug, label, "reject", 3, kind="domain")
    assert stale.status_code == 422
    assert "4" in stale.get_data(as_text=True)
    assert states(spam) == {SignatureState.held}
    fresh = decide(client, console.campaign.slug, label, "reject", 4, kind="domain")
    assert fresh.status_code == 303
    assert states(spam) == {SignatureState.invalidated}
    assert states(other) == {SignatureState.held}
    [entry] = audit("held_domain_rejected")
    assert entry.details == {"group": label, "count": 4}
    mail = domain_label(console.campaign.id, hash_email_domain("mail.example"))
    with pytest.raises(GroupChanged) as raised:
        decide_group(console.campaign, mail, "release", 9, DOMAIN)
    assert raised.value.size == 2
