"""Deciding at scale: the queue filtered by real form controls, every
signature a filter shows accepted or rejected through a confirmation that
states the number, a queue changed meanwhile refused with its new number,
one audit entry, and the figures following as for one decision; a single
rejection confirmed first; a message after every decision."""

from __future__ import annotations

import re

from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from campaigns.counting.services import campaign_count, update_signature_counts
from campaigns.extensions import db
from campaigns.models import EmailKind, EmailLog, Signature, SignatureState

from .support import audit, fresh, logged_in, make_console, signature, states


def _count_on(page: str) -> str:
    found = re.search(r'name="count"[^>]*value="(\d+)"', page) or re.search(
        r'value="(\d+)"[^>]*name="count"', page
    )
    assert found, "no count in the confirmation"
    return found.group(1)


def _notice(client: FlaskClient, path: str) -> str:
    page = client.get(path).get_data(as_text=True)
    found = re.search(r'<p class="notice notice-(?:done|failed)"[^>]*>(.*?)</p>', page, re.S)
    assert found, "no message after the action"
    return found.group(1)


def test_the_filter_shows_its_number_and_only_its_rows(app: Flask) -> None:
    console = make_console()
    disposable = [
        signature(
            console.campaign, state=SignatureState.fraudulent, fraud_reason="disposable_domain"
        )
        for _ in range(3)
    ]
    burst = signature(console.campaign, state=SignatureState.fraudulent, fraud_reason="rate_wave")
    flagged = signature(console.campaign, state=SignatureState.validated, flag_reason="trending_ip")
    client = logged_in(app, console.organizer)
    slug = console.campaign.slug
    page = client.get(
        f"/console/moderation/campaigns/{slug}?show=fraudulent&reason=disposable_domain"
    ).get_data(as_text=True)
    assert "3" in re.search(r'class="queue-size">(.*?)</p>', page, re.S).group(1)  # type: ignore[union-attr]
    for item in disposable:
        assert str(item.uuid) in page
    assert str(burst.uuid) not in page and str(flagged.uuid) not in page
    # Real form controls, with the choices made selected.
    assert '<select id="filter-show" name="show">' in page
    assert '<option value="disposable_domain" selected>' in page
    assert "/bulk/reject?show=fraudulent&amp;reason=disposable_domain" in page
    # The filter form names a campaign: its own queue's address.
    moved = client.get(f"/console/moderation?campaign={slug}&show=flagged&reason=trending_ip")
    assert moved.status_code == 303
    assert moved.headers["Location"].endswith(
        f"/console/moderation/campaigns/{slug}?show=flagged&reason=trending_ip"
    )
    # A reason no filter offers (free text, a hash) shows the whole queue.
    whole = client.get(f"/console/moderation/campaigns/{slug}?reason=someone@example.org")
    assert str(burst.uuid) in whole.get_data(as_text=True)
    # Another organization's campaign: not even its filter.
    other = client.get(f"/console/moderation?campaign={console.other_campaign.slug}")
    assert other.status_code == 404


def test_bulk_reject_confirms_the_number_then_rejects_only_the_filtered(app: Flask) -> None:
    console = make_console()
    chosen = [
        signature(console.campaign, state=SignatureState.validated, flag_reason="trending_domain")
        for _ in range(4)
    ]
    other_reason = signature(
        console.campaign, state=SignatureState.validated, flag_reason="trending_ip"
    )
    stopped = signature(
        console.campaign, state=SignatureState.fraudulent, fraud_reason="disposable_domain"
    )
    elsewhere = signature(
        console.other_campaign, state=SignatureState.validated, flag_reason="trending_domain"
    )
    plain = signature(console.campaign, state=SignatureState.validated)
    update_signature_counts()
    assert campaign_count(console.campaign.id).signers == 6
    client = logged_in(app, console.organizer)
    client.set_cookie("lang", "en")
    url = f"/console/moderation/campaigns/{console.campaign.slug}/bulk/reject"
    confirm = client.get(url + "?show=flagged&reason=trending_domain")
    assert confirm.status_code == 200
    page = confirm.get_data(as_text=True)
    assert _count_on(page) == "4"
    assert 'class="bulk-count">4<' in page
    # The filter in words, and a GET changes nothing.
    assert "<dd>Burst from one email domain</dd>" in page and "<dd>In a burst</dd>" in page
    assert states(*chosen) == [SignatureState.validated] * 4
    response = client.post(
        url, data={"show": "flagged", "reason": "trending_domain", "count": "4"}
    )
    assert response.status_code == 303
    assert "reason=trending_domain" in response.headers["Location"]
    assert states(*chosen) == [SignatureState.invalidated] * 4
    assert states(other_reason, plain, elsewhere) == [SignatureState.validated] * 3
    assert states(stopped) == [SignatureState.fraudulent]
    [entry] = audit("signatures_rejected_in_bulk")
    assert entry.user_id == console.organizer.id
    assert entry.target_id == str(console.campaign.id)
    assert entry.details == {"count": 4, "part": "flagged", "reason": "trending_domain"}
    assert audit("signature_rejected") == []  # one entry, not one a signature
    notice = _notice(client, f"/console/moderation/campaigns/{console.campaign.slug}")
    assert notice.startswith("4 signatures rejected")
    # The count job takes them out, as after single rejections.
    update_signature_counts()
    assert campaign_count(console.campaign.id).signers == 2


def test_a_queue_changed_since_is_refused_with_its_new_number(app: Flask) -> None:
    console = make_console()
    for _ in range(3):
        signature(console.campaign, state=SignatureState.fraudulent, fraud_reason="rate_wave")
    client = logged_in(app, console.organizer)
    url = f"/console/moderation/campaigns/{console.campaign.slug}/bulk/reject"
    assert _count_on(client.get(url + "?show=fraudulent").get_data(as_text=True)) == "3"
    # Meanwhile one more is stopped.
    late = signature(console.campaign, state=SignatureState.fraudulent, fraud_reason="rate_wave")
    refused = client.post(url, data={"show": "fraudulent", "reason": "", "count": "3"})
    assert refused.status_code == 409
    page = refused.get_data(as_text=True)
    assert _count_on(page) == "4"
    assert 'role="alert"' in page and "4" in re.search(  # type: ignore[union-attr]
        r'<div class="error-summary".*?</div>', page, re.S
    ).group(0)
    assert states(late) == [SignatureState.fraudulent]
    assert audit("signatures_rejected_in_bulk") == []
    # Confirmed again with the new number, it goes through.
    done = client.post(url, data={"show": "fraudulent", "reason": "", "count": "4"})
    assert done.status_code == 303 and states(late) == [SignatureState.invalidated]
    # A tampered filter or number changes nothing and says why.
    for data in (
        {"show": "everything", "reason": "", "count": "0"},
        {"show": "all", "reason": "x@example.org", "count": "0"},
        {"show": "all", "reason": "", "count": "many"},
    ):
        bad = client.post(url, data=data)
        assert bad.status_code == 303
        assert "notice-failed" in client.get(bad.headers["Location"]).get_data(as_text=True)


def test_bulk_accept_sends_confirmations_and_clears_flags(app: Flask) -> None:
    console = make_console()
    stopped = [
        signature(
            console.campaign,
            state=SignatureState.fraudulent,
            fraud_reason="disposable_domain",
            email=f"stopped{n}@example.org",
            checked=False,
        )
        for n in range(2)
    ]
    flagged = signature(console.campaign, state=SignatureState.validated, flag_reason="trending_ip")
    client = logged_in(app, console.admin, console)
    url = f"/console/moderation/campaigns/{console.campaign.slug}/bulk/accept"
    assert _count_on(client.get(url).get_data(as_text=True)) == "3"
    response = client.post(url, data={"show": "all", "reason": "", "count": "3"})
    assert response.status_code == 303
    assert states(*stopped) == [SignatureState.pending] * 2
    assert fresh(Signature, flagged.id).flag_reason is None
    keys = sorted(db.session.execute(select(EmailLog.dedupe_key, EmailLog.kind)).all())
    assert keys == sorted((f"confirm:{s.id}", EmailKind.confirm) for s in stopped)
    [entry] = audit("signatures_accepted_in_bulk")
    assert entry.details["count"] == 3
    # Twice (a second tab): nothing more is shown, nothing more happens.
    again = client.post(url, data={"show": "all", "reason": "", "count": "3"})
    assert again.status_code == 409
    assert len(audit("signatures_accepted_in_bulk")) == 1


def test_bulk_is_for_those_who_manage_the_campaign(app: Flask) -> None:
    console = make_console()
    item = signature(console.campaign, state=SignatureState.fraudulent, fraud_reason="rate_wave")
    url = f"/console/moderation/campaigns/{console.campaign.slug}/bulk/reject"
    data = {"show": "all", "reason": "", "count": "1"}
    assert logged_in(app, console.other_organizer).post(url, data=data).status_code == 404
    assert logged_in(app, console.partner).post(url, data=data).status_code == 403
    assert logged_in(app, console.other_organizer).get(url).status_code == 404
    assert states(item) == [SignatureState.fraudulent]
    # No decision but accept or reject.
    assert logged_in(app, console.organizer).get(url.replace("reject", "erase")).status_code == 404


def test_rejecting_one_signature_asks_first_and_says_what_happened(app: Flask) -> None:
    console = make_console()
    item = signature(
        console.campaign,
        state=SignatureState.fraudulent,
        fraud_reason="disposable_domain",
        name="Canary Person",
        email="canary.person@example.org",
    )
    client = logged_in(app, console.organizer)
    client.set_cookie("lang", "en")
    queue = client.get(f"/console/moderation/campaigns/{console.campaign.slug}").get_data(
        as_text=True
    )
    # The queue's Reject is a link to the confirmation, not a form that acts.
    link = f"/console/moderation/signatures/{item.uuid}/reject?back=campaign"
    assert f'href="{link}"' in queue
    confirm = client.get(link)
    assert confirm.status_code == 200
    page = confirm.get_data(as_text=True)
    assert 'class="danger"' in page and 'name="back" value="campaign"' in page
    assert "Canary" not in page and "canary.person" not in page
    assert states(item) == [SignatureState.fraudulent]
    done = client.post(link.split("?")[0], data={"back": "campaign"})
    assert done.status_code == 303 and states(item) == [SignatureState.invalidated]
    assert _notice(client, done.headers["Location"])
    # Decided: its confirmation says so and offers nothing.
    after = client.get(link).get_data(as_text=True)
    assert f'action="/console/moderation/signatures/{item.uuid}/reject"' not in after
    assert "it was decided already" in after


def test_accepting_one_signature_says_what_happened(app: Flask) -> None:
    console = make_console()
    item = signature(console.campaign, state=SignatureState.validated, flag_reason="trending_ip")
    client = logged_in(app, console.organizer)
    client.set_cookie("lang", "en")
    done = client.post(f"/console/moderation/signatures/{item.uuid}/accept")
    assert done.status_code == 303
    assert "1 signature accepted" in _notice(client, done.headers["Location"])
