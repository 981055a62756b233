"""The campaign image on the public page and at its own URLs: a <picture>
that reserves its place and loads lazily, the description in the page's
language, variants cached for a year under names that hold their hash, with
their own type and nosniff, and nothing for a campaign that is not public."""

from __future__ import annotations

import re

import pytest
from flask import Flask
from flask.testing import FlaskClient

from campaigns.assets import YEAR
from campaigns.extensions import db
from campaigns.models import Campaign, CampaignStatus
from tests.factories import create_campaign

from .support import give_image

SOURCE = re.compile(r'<source type="(image/[a-z]+)" srcset="([^"]+)" sizes="([^"]+)">')


@pytest.fixture
def pictured(app: Flask) -> Campaign:
    campaign = create_campaign("pictured")
    give_image(campaign, 1600, 1000)
    return campaign


def _names(campaign: Campaign) -> dict[tuple[str, int], str]:
    return {(i.media_type, i.width): i.name for i in campaign.images}


def test_the_page_shows_a_lazy_picture_that_keeps_its_place(
    client: FlaskClient, pictured: Campaign
) -> None:
    page = client.get("/en/campaigns/pictured").text
    sources = SOURCE.findall(page)
    assert [media_type for media_type, _, _ in sources] == ["image/avif", "image/webp"]
    names = _names(pictured)
    for media_type, srcset, sizes in sources:
        assert srcset == ", ".join(
            f"/media/pictured/{names[(media_type, w)]} {w}w" for w in (360, 720, 1080)
        )
        assert sizes == "(min-width: 42rem) 40rem, calc(100vw - 2rem)"
    img = re.search(r"<img [^>]+>", page.split("<picture>", 1)[1])
    assert img is not None
    tag = img.group(0)
    assert f'src="/media/pictured/{names[("image/webp", 360)]}"' in tag
    assert 'width="1080" height="675"' in tag
    assert 'loading="lazy"' in tag and 'decoding="async"' in tag
    assert 'alt="Olive trees on a hill (en)"' in tag


def test_the_description_follows_the_page_language(
    client: FlaskClient, pictured: Campaign
) -> None:
    assert 'alt="Olive trees on a hill (ar)"' in client.get("/ar/campaigns/pictured").text
    # No Kurdish text: the Arabic one is shown, and said to be Arabic.
    page = client.get("/ku/campaigns/pictured").text
    assert '<figure class="campaign-image" lang="ar" dir="rtl">' in page
    assert 'alt="Olive trees on a hill (ar)"' in page


def test_a_page_without_an_image_has_no_picture(client: FlaskClient, app: Flask) -> None:
    create_campaign("plain")
    assert "<picture>" not in client.get("/ar/campaigns/plain").text


def test_variants_are_cached_for_a_year_with_their_own_type(
    client: FlaskClient, pictured: Campaign
) -> None:
    for (media_type, _width), name in _names(pictured).items():
        response = client.get(f"/media/pictured/{name}")
        assert response.status_code == 200
        assert response.mimetype == media_type
        assert response.headers["X-Content-Type-Options"] == "nosniff"
        assert response.headers["Cache-Control"] == f"public, max-age={YEAR}, immutable"
        assert "Set-Cookie" not in response.headers
        etag = response.headers["ETag"]
        again = client.get(f"/media/pictured/{name}", headers={"If-None-Match": etag})
        assert again.status_code == 304 and again.data == b""


def test_only_a_public_campaigns_own_variants_are_served(
    client: FlaskClient, pictured: Campaign
) -> None:
    name = next(iter(_names(pictured).values()))
    other = create_campaign("other")
    assert client.get(f"/media/other/{name}").status_code == 404
    assert client.get("/media/pictured/0000-360.webp").status_code == 404
    assert client.get(f"/media/no-such-campaign/{name}").status_code == 404
    for status in (CampaignStatus.draft, CampaignStatus.archived):
        pictured.status = status
        db.session.commit()
        assert client.get(f"/media/pictured/{name}").status_code == 404, status
    pictured.status = CampaignStatus.closed
    db.session.commit()
    assert client.get(f"/media/pictured/{name}").status_code == 200
    assert other.images == []
