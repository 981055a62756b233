"""The draft preview: the public campaign page of any campaign, a draft
included, for those who may see the campaign in the console; marked as a
preview, never cached or indexed, its form sending nothing, its language
switch kept in the console, and nothing of it public."""

from __future__ import annotations

import re

import pytest
from flask import Flask

from campaigns.extensions import db
from campaigns.models import CampaignStatus
from tests.media.support import give_image
from tests.moderation.support import logged_in, make_console


def _draft(console) -> str:  # type: ignore[no-untyped-def]
    campaign = console.campaign
    campaign.status = CampaignStatus.draft
    campaign.text("en").title = "Olive saplings for Afrin (draft)"
    campaign.text("en").body = "Not yet published: the story of the saplings."
    db.session.commit()
    give_image(campaign)
    return str(campaign.slug)


@pytest.mark.parametrize("actor", ["admin", "organizer", "partner"])
def test_those_who_see_the_campaign_preview_its_draft(app: Flask, actor: str) -> None:
    console = make_console()
    slug = _draft(console)
    client = logged_in(app, getattr(console, actor), console)
    response = client.get(f"/console/campaigns/{slug}/preview?lang=en")
    assert response.status_code == 200
    assert response.headers["Cache-Control"] == "no-store"
    assert "noindex" in response.headers["X-Robots-Tag"]
    page = response.get_data(as_text=True)
    assert '<html lang="en"' in page
    assert "Olive saplings for Afrin (draft)" in page
    assert "the story of the saplings" in page
    assert "Preview — not public" in page
    # The form is shown as it will be, and sends nothing.
    assert 'id="full_name"' in page
    assert f"/campaigns/{slug}/sign" not in page
    assert re.search(r"<button type=\"submit\" disabled>", page)
    # The language switch stays in the console.
    switch = re.search(r'<nav class="languages".*?</nav>', page, re.S)
    assert switch is not None
    assert f'href="/console/campaigns/{slug}/preview?lang=ar"' in switch.group(0)
    assert "/ar/campaigns/" not in switch.group(0)
    # A draft's image comes from the console, which lets this reader see it.
    images = re.findall(r'<img src="([^"]+)"', page)
    assert images and all(i.startswith(f"/console/campaigns/{slug}/image/") for i in images)
    assert client.get(images[0]).status_code == 200
    # And in Arabic, from the same place.
    arabic = client.get(f"/console/campaigns/{slug}/preview?lang=ar").get_data(as_text=True)
    assert '<html lang="ar"' in arabic and console.campaign.text("ar").title in arabic


@pytest.mark.parametrize("actor", ["other_organizer", "anonymous"])
def test_nobody_else_sees_a_preview(app: Flask, actor: str) -> None:
    console = make_console()
    slug = _draft(console)
    who = None if actor == "anonymous" else getattr(console, actor)
    response = logged_in(app, who, console).get(f"/console/campaigns/{slug}/preview?lang=en")
    if who is None:
        assert response.status_code == 302 and "/console/login" in response.headers["Location"]
    else:
        assert response.status_code == 404
    assert "Olive saplings" not in response.get_data(as_text=True)


def test_a_draft_stays_off_the_public_site(app: Flask) -> None:
    console = make_console()
    slug = _draft(console)
    client = app.test_client()
    for path in (f"/en/campaigns/{slug}", f"/en/campaigns/{slug}/results"):
        response = client.get(path)
        assert response.status_code == 404, path
        assert "Olive saplings" not in response.get_data(as_text=True)


def test_the_console_campaign_page_links_to_its_preview(app: Flask) -> None:
    console = make_console()
    slug = _draft(console)
    page = logged_in(app, console.organizer).get(f"/console/campaigns/{slug}")
    assert f'href="/console/campaigns/{slug}/preview"' in page.get_data(as_text=True)
