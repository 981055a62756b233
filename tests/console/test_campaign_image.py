"""The campaign image on the console's campaign form: uploading it, its
description per language (required with an image), removing it, who may do
it, and uploads that cannot be used: each answered by an error on the form
that changes nothing."""

from __future__ import annotations

import io
from collections.abc import Callable
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from PIL import Image
from sqlalchemy import func, select

from campaigns.extensions import db
from campaigns.media.images import MAX_BYTES
from campaigns.models import AuditEntry, Campaign, CampaignImage, CampaignStatus
from tests.media.support import encode, phone_jpeg, photo, png_header_only
from tests.moderation.support import Console, logged_in, make_console
from tests.security.routes_support import Snapshot, diff, one_password_hash, snapshot


def _form(slug: str, **overrides: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "slug": slug,
        "kind": "petition",
        "goal": "1000",
        "unit": "signatures",
        "title_ar": "أشجار الزيتون",
        "summary_ar": "ملخص",
        "body_ar": "نص الحملة",
        "title_en": "Olive trees",
        "summary_en": "Summary",
        "body_en": "Text",
        "image_alt_ar": "أشجار زيتون على تلة في عفرين",
        "image_alt_en": "Olive trees on a hill in Afrin",
    }
    data.update(overrides)
    return data


def _upload(data: bytes, name: str = "olives.jpg") -> tuple[io.BytesIO, str]:
    return (io.BytesIO(data), name)


# The console in English (its default is Arabic), to read its messages.
ENGLISH = {"Accept-Language": "en"}


def _post(client: FlaskClient, slug: str, **fields: Any) -> Any:
    return client.post(
        f"/console/campaigns/{slug}/edit",
        data=_form(slug, **fields),
        content_type="multipart/form-data",
        headers=ENGLISH,
    )


def _variants(campaign: Campaign) -> list[CampaignImage]:
    db.session.rollback()
    return list(
        db.session.execute(
            select(CampaignImage).where(CampaignImage.campaign_id == campaign.id)
        ).scalars()
    )


def _actions() -> list[str]:
    db.session.rollback()
    return [e.action for e in db.session.execute(select(AuditEntry)).scalars()]


@pytest.fixture
def console(app: Flask) -> Console:
    with one_password_hash():
        return make_console()


def test_an_organizer_uploads_an_image_shown_on_the_public_page(
    app: Flask, console: Console
) -> None:
    client = logged_in(app, console.organizer)
    slug = console.campaign.slug
    assert 'enctype="multipart/form-data"' in client.get(f"/console/campaigns/{slug}/edit").text
    response = _post(client, slug, image=_upload(phone_jpeg(1600, 1200)))
    assert response.status_code == 303, response.text[:2000]

    variants = _variants(console.campaign)
    assert sorted((v.media_type, v.width, v.height) for v in variants) == [
        ("image/avif", 360, 270),
        ("image/avif", 720, 540),
        ("image/avif", 1080, 810),
        ("image/webp", 360, 270),
        ("image/webp", 720, 540),
        ("image/webp", 1080, 810),
    ]
    assert "campaign_image_set" in _actions()
    texts = db.session.get(Campaign, console.campaign.id).texts  # type: ignore[union-attr]
    assert texts["en"].image_alt == "Olive trees on a hill in Afrin"

    # The public page, in each language, with that language's description.
    visitor = app.test_client()
    for lang in ("ar", "en"):
        alt = _form(slug)[f"image_alt_{lang}"]
        page = visitor.get(f"/{lang}/campaigns/{slug}").text
        assert '<source type="image/avif"' in page and '<source type="image/webp"' in page
        assert f'alt="{alt}"' in page
        assert 'loading="lazy"' in page and 'decoding="async"' in page
        assert 'width="1080" height="810"' in page
    # The organizer's form previews it, with the box that removes it.
    form = client.get(f"/console/campaigns/{slug}/edit").text
    assert f"/console/campaigns/{slug}/image/" in form and 'name="remove_image"' in form


def test_an_image_is_set_when_a_campaign_is_created(app: Flask, console: Console) -> None:
    client = logged_in(app, console.organizer)
    response = client.post(
        "/console/campaigns/new",
        data=_form("pictured", image=_upload(phone_jpeg(800, 600))),
        content_type="multipart/form-data",
    )
    assert response.status_code == 303
    campaign = db.session.execute(select(Campaign).where(Campaign.slug == "pictured")).scalar_one()
    assert {v.width for v in _variants(campaign)} == {360, 720, 800}
    # A draft's image is not public; those who manage it see it on its form.
    name = _variants(campaign)[0].name
    assert app.test_client().get(f"/media/pictured/{name}").status_code == 404
    preview = client.get(f"/console/campaigns/pictured/image/{name}")
    assert preview.status_code == 200 and preview.mimetype.startswith("image/")
    assert "no-store" in preview.headers["Cache-Control"]


@pytest.mark.parametrize("missing", ["image_alt_ar", "image_alt_en"])
def test_the_description_is_required_in_each_language_with_an_image(
    app: Flask, console: Console, missing: str
) -> None:
    client = logged_in(app, console.organizer)
    slug = console.campaign.slug
    before = snapshot()
    response = _post(client, slug, image=_upload(phone_jpeg(800, 600)), **{missing: " "})
    assert response.status_code == 422
    assert "Please describe the image in this language." in response.text
    assert f'href="#{missing}"' in response.text  # in the error summary
    assert not diff(before, snapshot())
    # A language the campaign is not written in needs none.
    response = _post(
        client, slug, image=_upload(phone_jpeg(800, 600)), title_en="", image_alt_en=""
    )
    assert response.status_code == 303


def test_an_image_kept_still_needs_its_description(app: Flask, console: Console) -> None:
    client = logged_in(app, console.organizer)
    slug = console.campaign.slug
    assert _post(client, slug, image=_upload(phone_jpeg(800, 600))).status_code == 303
    assert _post(client, slug, image_alt_ar="").status_code == 422
    # Without an image, none is asked for.
    assert _post(client, slug, image_alt_ar="", remove_image="y").status_code == 303
    assert _variants(console.campaign) == []


def test_removing_the_image(app: Flask, console: Console) -> None:
    client = logged_in(app, console.organizer)
    slug = console.campaign.slug
    assert _post(client, slug, image=_upload(phone_jpeg(800, 600))).status_code == 303
    names = [v.name for v in _variants(console.campaign)]
    assert app.test_client().get(f"/media/{slug}/{names[0]}").status_code == 200

    assert _post(client, slug, remove_image="y").status_code == 303
    assert _variants(console.campaign) == []
    assert "campaign_image_removed" in _actions()
    visitor = app.test_client()
    assert "<picture>" not in visitor.get(f"/ar/campaigns/{slug}").text
    for name in names:
        assert visitor.get(f"/media/{slug}/{name}").status_code == 404
    # Removing what is not there records nothing.
    count = len(_actions())
    assert _post(client, slug, remove_image="y").status_code == 303
    assert _actions().count("campaign_image_removed") == 1 and len(_actions()) == count + 1


def test_the_same_picture_sent_again_replaces_itself(app: Flask, console: Console) -> None:
    client = logged_in(app, console.organizer)
    slug = console.campaign.slug
    data = phone_jpeg(800, 600)
    assert _post(client, slug, image=_upload(data)).status_code == 303
    first = sorted(v.name for v in _variants(console.campaign))
    assert _post(client, slug, image=_upload(data)).status_code == 303
    assert sorted(v.name for v in _variants(console.campaign)) == first


@pytest.mark.parametrize("who", ["other_organizer", "partner"])
def test_only_those_who_manage_the_campaign_may_change_its_image(
    app: Flask, console: Console, who: str
) -> None:
    slug = console.campaign.slug
    owner = logged_in(app, console.organizer)
    assert _post(owner, slug, image=_upload(phone_jpeg(800, 600))).status_code == 303
    name = _variants(console.campaign)[0].name
    client = logged_in(app, getattr(console, who))
    before = snapshot()
    other = {"other_organizer": 404, "partner": 403}[who]
    assert _post(client, slug, image=_upload(phone_jpeg(640, 480))).status_code == other
    assert _post(client, slug, remove_image="y").status_code == other
    # Seeing it is for those who see the campaign (a co-hosting partner too,
    # tests/console/test_preview.py); the owner's form, saved without
    # partners, made this partner a stranger to it.
    assert client.get(f"/console/campaigns/{slug}/image/{name}").status_code == 404
    assert not diff(before, snapshot())


def test_an_admin_may_change_any_campaigns_image(app: Flask, console: Console) -> None:
    admin = logged_in(app, console.admin, console)
    slug = console.other_campaign.slug
    assert _post(admin, slug, image=_upload(phone_jpeg(800, 600))).status_code == 303
    assert len(_variants(console.other_campaign)) == 6  # 360, 720 and 800, two formats


NOT_AN_IMAGE = "This file is not a JPEG, PNG or WebP image."
# What is sent (made when the case runs), its file name, and what the form says.
BAD_UPLOADS: dict[str, tuple[Callable[[], bytes], str, str]] = {
    "text": (lambda: b"full_name,email\nx,y\n", "olives.jpg", NOT_AN_IMAGE),
    "gif": (lambda: encode(photo(400, 300), "GIF"), "olives.gif", NOT_AN_IMAGE),
    "truncated": (lambda: phone_jpeg(800, 600)[:20_000], "olives.jpg", "image file is damaged"),
    "bomb": (lambda: png_header_only(20_000, 20_000), "bomb.png", "more than 50 million pixels"),
    "too small": (lambda: encode(photo(300, 200), "PNG"), "small.png", "at least 320 pixels"),
    "too narrow": (lambda: encode(photo(2000, 400), "PNG"), "banner.png", "too wide or too tall"),
    "too large": (lambda: b"\xff\xd8" + bytes(MAX_BYTES + 10), "huge.jpg", "larger than 10 MB"),
}


@pytest.mark.parametrize("case", list(BAD_UPLOADS))
def test_an_unusable_upload_is_an_error_on_the_form_that_changes_nothing(
    app: Flask, console: Console, case: str
) -> None:
    client = logged_in(app, console.organizer)
    slug = console.campaign.slug
    make, name, message = BAD_UPLOADS[case]
    before: Snapshot = snapshot()
    response = _post(client, slug, image=_upload(make(), name), title_en="Changed title")
    assert response.status_code == 422, (case, response.status_code)
    assert message in response.text
    assert 'href="#image"' in response.text and 'aria-invalid="true"' in response.text
    assert not diff(before, snapshot())


def test_a_body_past_the_forms_limit_is_an_error_on_the_form(
    app: Flask, console: Console
) -> None:
    client = logged_in(app, console.organizer)
    slug = console.campaign.slug
    before = snapshot()
    huge = b"\xff\xd8" + b"\x00" * (MAX_BYTES + 3 * 1024 * 1024)
    response = _post(client, slug, image=_upload(huge, "huge.jpg"))
    assert response.status_code == 413
    assert "larger than 10 MB" in response.text
    # The form shows the campaign as it is, ready to send again.
    assert 'value="honest-campaign"' in response.text
    assert not diff(before, snapshot())
    created = client.post(
        "/console/campaigns/new",
        data=_form("too-big", image=_upload(huge, "huge.jpg")),
        content_type="multipart/form-data",
        headers=ENGLISH,
    )
    assert created.status_code == 413 and "larger than 10 MB" in created.text
    assert not diff(before, snapshot())


def test_deleting_a_campaign_deletes_its_image(app: Flask, console: Console) -> None:
    client = logged_in(app, console.organizer)
    slug = console.campaign.slug
    assert _post(client, slug, image=_upload(phone_jpeg(800, 600))).status_code == 303
    campaign = db.session.get(Campaign, console.campaign.id)
    assert campaign is not None and campaign.status is CampaignStatus.open
    db.session.execute(
        Campaign.__table__.delete().where(Campaign.id == campaign.id)  # type: ignore[attr-defined]
    )
    db.session.commit()
    count = db.session.execute(select(func.count()).select_from(CampaignImage)).scalar_one()
    assert count == 0


def test_the_uploaded_bytes_are_never_served(app: Flask, console: Console) -> None:
    client = logged_in(app, console.organizer)
    slug = console.campaign.slug
    upload = phone_jpeg(800, 600)
    assert _post(client, slug, image=_upload(upload)).status_code == 303
    visitor = app.test_client()
    for variant in _variants(console.campaign):
        served = visitor.get(f"/media/{slug}/{variant.name}")
        assert served.data != upload and served.data[:3] != b"\xff\xd8\xff"
        assert Image.open(io.BytesIO(served.data)).format in {"AVIF", "WEBP"}
