"""Confirmations before broadcast and destructive console actions
(console/confirm.py): a post without the confirmation changes nothing and
shows the effect in numbers; the confirming post acts and says so; a
confirmation of a figure that has changed since is refused with the new one.
Also the signing switch on a draft, and times in the reader's time zone."""

from __future__ import annotations

import re
from datetime import UTC, datetime

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select

from campaigns.extensions import db
from campaigns.models import (
    AuditEntry,
    Campaign,
    CampaignStatus,
    CampaignUpdate,
    Invalidation,
    SignatureState,
    UpdateState,
)
from campaigns.site_settings import signing_paused
from tests.console.confirming import confirmation_fields, post_confirmed
from tests.factories import create_campaign
from tests.moderation.support import logged_in, make_console, signature

ENGLISH = {"Accept-Language": "en"}


def _actions(action: str) -> int:
    return db.session.execute(
        select(func.count()).select_from(AuditEntry).where(AuditEntry.action == action)
    ).scalar_one()


def _page(response: object) -> str:
    return response.get_data(as_text=True)  # type: ignore[attr-defined]


def _status_message(client: FlaskClient, response: object) -> str:
    location = response.headers["Location"]  # type: ignore[attr-defined]
    page = client.get(location).get_data(as_text=True)
    found = re.search(r'role="status">([^<]+)<', page)
    assert found is not None, "no message after the action"
    return found.group(1)


def _english(client: FlaskClient) -> FlaskClient:
    client.environ_base["HTTP_ACCEPT_LANGUAGE"] = "en"
    return client


# -- Pausing signing everywhere


def test_pausing_everywhere_asks_first_with_the_number_of_open_campaigns(app: Flask) -> None:
    console = make_console()
    create_campaign("a-draft", organization=console.campaign.organization,
                    status=CampaignStatus.draft)  # fmt: skip
    admin = _english(logged_in(app, console.admin, console))
    asked = admin.post("/console/settings", data={"signing_paused": "1"})
    assert asked.status_code == 200
    page = _page(asked)
    # Two open campaigns (the draft does not count), a danger button, a way back.
    assert "Signing stops on all 2 open campaigns." in page
    assert 'class="danger"' in page and 'href="/console/settings"' in page
    assert not signing_paused() and _actions("site_paused") == 0
    _action, fields = confirmation_fields(page)
    assert ("confirm", "1") in fields and ("figure", "2") in fields

    # A third campaign opened meanwhile: the confirmation of "2" is stale.
    create_campaign("third", organization=console.campaign.organization)
    stale = admin.post("/console/settings", data=dict(fields))
    assert stale.status_code == 409
    assert "Signing stops on all 3 open campaigns." in _page(stale)
    assert 'role="alert"' in _page(stale)
    assert not signing_paused() and _actions("site_paused") == 0

    done = admin.post("/console/settings", data={**dict(fields), "figure": "3"})
    assert done.status_code == 303
    assert signing_paused() and _actions("site_paused") == 1
    assert _status_message(admin, done) == "Signing is paused on every campaign."
    # Resuming stops nobody: no confirmation.
    resumed = admin.post("/console/settings", data={"signing_paused": "0"})
    assert resumed.status_code == 303 and not signing_paused()


def test_the_pause_confirmation_is_in_arabic_with_arabic_plurals(app: Flask) -> None:
    console = make_console()
    admin = logged_in(app, console.admin, console)
    admin.set_cookie("lang", "ar")
    page = _page(admin.post("/console/settings", data={"signing_paused": "1"}))
    assert "سيتوقف التوقيع في الحملتين المفتوحتين." in page  # the dual form: two campaigns
    assert "Signing stops" not in page


# -- Closing a campaign


def test_closing_a_campaign_asks_first_and_opening_does_not(app: Flask) -> None:
    console = make_console()
    for _ in range(3):
        signature(console.campaign, state=SignatureState.validated, contact_ok=True)
    organizer = _english(logged_in(app, console.organizer))
    url = f"/console/campaigns/{console.campaign.slug}/status"
    asked = organizer.post(url, data={"status": "closed"})
    assert asked.status_code == 200
    db.session.refresh(console.campaign)
    assert console.campaign.status is CampaignStatus.open
    assert "3 signers who asked for news will be emailed that it closed." in _page(asked)
    done = post_confirmed(organizer, url, {"status": "closed"})
    assert done.status_code == 303
    db.session.refresh(console.campaign)
    assert console.campaign.status is CampaignStatus.closed
    assert _status_message(organizer, done) == "Status changed to: Closed."
    # Opening again starts nothing irreversible: it acts at once.
    assert organizer.post(url, data={"status": "open"}).status_code == 303
    db.session.refresh(console.campaign)
    assert console.campaign.status is CampaignStatus.open


def test_a_change_of_status_no_longer_allowed_is_a_message_not_an_error(app: Flask) -> None:
    console = make_console()
    organizer = _english(logged_in(app, console.organizer))
    refused = organizer.post(
        f"/console/campaigns/{console.campaign.slug}/status", data={"status": "archived"}
    )
    assert refused.status_code == 303
    page = organizer.get(refused.headers["Location"]).get_data(as_text=True)
    assert 'role="alert"' in page and "cannot change to Archived" in page
    db.session.refresh(console.campaign)
    assert console.campaign.status is CampaignStatus.open


# -- Pausing one campaign


def test_a_draft_is_not_offered_the_signing_switch_and_cannot_be_paused(app: Flask) -> None:
    console = make_console()
    draft = create_campaign("a-draft", organization=console.campaign.organization,
                            status=CampaignStatus.draft)  # fmt: skip
    organizer = _english(logged_in(app, console.organizer))
    assert "/pause" not in organizer.get("/console/campaigns/a-draft").get_data(as_text=True)
    assert "/pause" in organizer.get(f"/console/campaigns/{console.campaign.slug}").get_data(
        as_text=True
    )
    refused = organizer.post("/console/campaigns/a-draft/pause", data={"paused": "1"})
    assert refused.status_code == 303
    page = organizer.get(refused.headers["Location"]).get_data(as_text=True)
    assert "Only an open campaign can be paused." in page and 'role="alert"' in page
    db.session.refresh(draft)
    assert draft.signing_paused is False


# -- Sending an update


def _draft_update(campaign: Campaign) -> CampaignUpdate:
    item = CampaignUpdate(
        campaign_id=campaign.id,
        texts={"ar": {"subject": "أخبار", "body": "نص"}, "en": {"subject": "News", "body": "Text"}},
    )
    db.session.add(item)
    db.session.commit()
    return item


def test_sending_an_update_asks_with_signers_and_languages(app: Flask) -> None:
    console = make_console()
    for lang in ("ar", "ar", "en", "tr"):
        signature(console.campaign, state=SignatureState.validated, contact_ok=True, locale=lang)
    item = _draft_update(console.campaign)
    organizer = _english(logged_in(app, console.organizer))
    url = f"/console/campaigns/{console.campaign.slug}/updates/{item.id}/send"
    asked = organizer.post(url)
    assert asked.status_code == 200
    assert "This will email 4 signers in 3 languages." in _page(asked)
    db.session.refresh(item)
    assert item.state is UpdateState.draft and _actions("update_send") == 0

    # One more signer since the page was shown: the confirmation of 4 is stale.
    _action, fields = confirmation_fields(_page(asked))
    signature(console.campaign, state=SignatureState.validated, contact_ok=True, locale="en")
    stale = organizer.post(url, data=dict(fields))
    assert stale.status_code == 409
    assert "This will email 5 signers in 3 languages." in _page(stale)
    db.session.refresh(item)
    assert item.state is UpdateState.draft and _actions("update_send") == 0

    _action, fields = confirmation_fields(_page(stale))
    done = organizer.post(url, data=dict(fields))
    assert done.status_code == 303
    db.session.refresh(item)
    assert item.state is not UpdateState.draft and _actions("update_send") == 1
    assert _status_message(organizer, done) == "The update is being sent to 5 signers."


def test_the_send_confirmation_formats_numbers_for_the_reader(app: Flask) -> None:
    """1,234 in English, 1.234 in Turkish and Kurdish: the figure is the
    locale's number, not Python's."""
    console = make_console()
    item = _draft_update(console.campaign)
    organizer = logged_in(app, console.organizer)
    url = f"/console/campaigns/{console.campaign.slug}/updates/{item.id}/send"
    recipients = {"en": 1000, "tr": 234}
    from campaigns.console import updates as console_updates

    original = console_updates.recipients_by_language
    console_updates.recipients_by_language = lambda campaign: recipients  # type: ignore[assignment]
    try:
        for lang, figure in (("en", "1,234"), ("tr", "1.234")):
            organizer.set_cookie("lang", lang)
            page = _page(organizer.post(url))
            assert figure in page, lang
    finally:
        console_updates.recipients_by_language = original  # type: ignore[assignment]


# -- Starting a bulk invalidation


NEW = "/console/moderation/invalidations/new"


def test_an_invalidation_runs_only_once_its_count_is_confirmed(app: Flask) -> None:
    console = make_console()
    for _ in range(6):
        signature(console.campaign, state=SignatureState.validated, country="IQ")
    organizer = _english(logged_in(app, console.organizer))
    form = {"campaign": console.campaign.slug, "country": "IQ", "reason": "bots",
            "action": "run"}  # fmt: skip
    asked = organizer.post(NEW, data=form)
    assert asked.status_code == 200
    assert "This will invalidate 6 signatures." in _page(asked)
    assert db.session.execute(select(Invalidation)).first() is None

    _action, fields = confirmation_fields(_page(asked))
    signature(console.campaign, state=SignatureState.validated, country="IQ")
    stale = organizer.post(NEW, data=dict(fields))
    assert stale.status_code == 409 and "This will invalidate 7 signatures." in _page(stale)
    assert db.session.execute(select(Invalidation)).first() is None

    _action, fields = confirmation_fields(_page(stale))
    done = organizer.post(NEW, data=dict(fields))
    assert done.status_code == 303
    [item] = db.session.execute(select(Invalidation)).scalars().all()
    assert item.conditions == {"country": "IQ"} and item.reason == "bots"
    assert "The invalidation has started" in _status_message(organizer, done)


def test_a_small_count_stays_hidden_on_the_confirmation_page(app: Flask) -> None:
    """Below admin, 1 to 4 is "fewer than 5" on the confirmation page too."""
    console = make_console()
    signature(console.campaign, state=SignatureState.validated, country="IQ")
    organizer = _english(logged_in(app, console.organizer))
    form = {"campaign": console.campaign.slug, "country": "IQ", "reason": "x", "action": "run"}
    page = _page(organizer.post(NEW, data=form))
    assert "fewer than 5 signatures" in page
    _action, fields = confirmation_fields(page)
    assert ("figure", "5") in fields


# -- Times in the reader's zone


@pytest.mark.parametrize(
    ("lang", "shown"),
    [("en", "5:26:53\u202fPM"), ("ar", "5:26:53 م")],
)
def test_a_utc_time_is_shown_in_the_readers_zone(app: Flask, lang: str, shown: str) -> None:
    console = make_console()
    console.admin.time_zone = "Asia/Damascus"
    db.session.add(
        AuditEntry(action="site_paused", target_type="site",
                   created_at=datetime(2026, 3, 5, 14, 26, 53, tzinfo=UTC))
    )  # fmt: skip
    db.session.commit()
    admin = logged_in(app, console.admin, console)
    admin.set_cookie("lang", lang)
    page = admin.get("/console/audit").get_data(as_text=True)
    # 14:26:53 UTC is 17:26:53 in Damascus (UTC+3), in one isolated element.
    assert '<time class="when" datetime="2026-03-05T14:26:53+00:00">' in page
    assert shown in page
    # The same moment read in UTC.
    console.admin.time_zone = "UTC"
    db.session.commit()
    page = admin.get("/console/audit").get_data(as_text=True)
    assert shown.replace("5:26", "2:26") in page


def test_the_reader_chooses_the_zone_and_the_campaign_form_reads_it(app: Flask) -> None:
    console = make_console()
    organizer = _english(logged_in(app, console.organizer))
    assert organizer.get("/console/account").status_code == 200
    chosen = organizer.post("/console/account", data={"time_zone": "Europe/Berlin"})
    assert chosen.status_code == 303
    assert "Berlin" in _status_message(organizer, chosen)
    db.session.refresh(console.organizer)
    assert console.organizer.time_zone == "Europe/Berlin"
    # Not a zone of the list: refused, nothing changed.
    assert organizer.post("/console/account", data={"time_zone": "Mars/Base"}).status_code == 422
    db.session.refresh(console.organizer)
    assert console.organizer.time_zone == "Europe/Berlin"

    # 2026-07-01 09:30 in Berlin (summer, UTC+2) is 07:30 UTC; typed in
    # Arabic-Indic digits as a phone's Arabic keyboard types them.
    slug = console.campaign.slug
    form = _campaign_form(slug, opens_on="٢٠٢٦-٠٧-٠١", opens_time="09:30",
                          closes_on="2026-07-02")  # fmt: skip
    assert organizer.post(f"/console/campaigns/{slug}/edit", data=form).status_code == 303
    db.session.refresh(console.campaign)
    assert console.campaign.opens_at == datetime(2026, 7, 1, 7, 30, tzinfo=UTC)
    assert console.campaign.closes_at == datetime(2026, 7, 1, 22, 0, tzinfo=UTC)
    edit = organizer.get(f"/console/campaigns/{slug}/edit").get_data(as_text=True)
    assert 'value="2026-07-01"' in edit and 'value="09:30"' in edit
    assert 'type="date"' not in edit and 'type="datetime-local"' not in edit


def test_bad_dates_and_times_are_clear_errors(app: Flask) -> None:
    console = make_console()
    organizer = _english(logged_in(app, console.organizer))
    slug = console.campaign.slug
    for fields, message in (
        ({"opens_on": "07/01/2026"}, "Enter a date as year-month-day"),
        ({"opens_on": "2026-07-01", "opens_time": "9.30pm"}, "Enter a time as hours:minutes"),
        ({"opens_time": "09:30"}, "Give the date too"),
        ({"opens_on": "2026-07-02", "closes_on": "2026-07-01"}, "must close after it opens"),
    ):
        response = organizer.post(f"/console/campaigns/{slug}/edit",
                                  data=_campaign_form(slug, **fields))  # fmt: skip
        assert response.status_code == 422, fields
        assert message in _page(response), fields
    db.session.refresh(console.campaign)
    assert console.campaign.opens_at is None


def _campaign_form(slug: str, **fields: str) -> dict[str, str]:
    return {"slug": slug, "kind": "petition", "title_ar": "حملة", "summary_ar": "ملخص",
            "body_ar": "نص", **fields}  # fmt: skip


