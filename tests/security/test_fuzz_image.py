"""The campaign image upload fuzzed through the console's campaign form, with
CSRF on (the site and helpers of test_fuzz.py): a valid photo, PNG or WebP
sets the image (its variants, and nothing else than the edit's audit
entries); a file cut short, a bomb's header, another format, junk, an empty
file, a file over the limit, a missing description or a broken token is
refused and changes nothing; bytes flipped inside a photo may still decode,
and then count as a valid upload. No answer is a server error."""

from __future__ import annotations

import io
import time
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy import select
from werkzeug.datastructures import MultiDict

from campaigns.extensions import db
from campaigns.media.images import MAX_BYTES
from campaigns.models import Campaign, CampaignImage
from tests.media.support import encode, phone_exif, photo, png_header_only

from . import test_fuzz as fuzz
from .fuzz_support import CSRF_MODES, PETITION, Site, broken_token, changes, csrf_token

# The module-scoped site and the error log of test_fuzz.py, here too.
sites = fuzz.sites
errors = fuzz.errors

# Cases per fault. Each image costs a few tenths of a second to re-encode:
# fewer cases than the forms.
RUNS = [
    pytest.param("sqlite", 4, id="sqlite-short"),
    pytest.param("postgresql", 40, id="postgresql-long", marks=pytest.mark.chaos),
]
FAULTS = (
    "none", "truncated", "flipped", "header_only", "other_format", "junk",
    "empty", "no_filename", "too_large", "no_alt", "csrf",
)
# Rows each valid upload leaves: every base is 400 to 640 pixels wide, so
# two widths (360 and its own) in two formats.
VARIANTS = 4


@cache
def bases() -> list[tuple[bytes, str]]:
    """Valid uploads: a phone's JPEG (EXIF and GPS, one held upright), a PNG
    with transparency, a WebP."""
    upright = encode(photo(640, 480, seed=2), "JPEG", quality=90, exif=phone_exif(6))
    logo = photo(500, 400, seed=3).convert("RGBA")
    logo.putalpha(200)
    return [
        (encode(photo(640, 480), "JPEG", quality=90, exif=phone_exif()), "olives.jpg"),
        (upright, "صورة.jpeg"),
        (encode(logo, "PNG"), "logo.png"),
        (encode(photo(400, 300, seed=4), "WEBP", quality=80), "grove.webp"),
    ]


@dataclass
class ImageCase:
    base: int
    fault: str
    position: int
    junk: bytes
    csrf: str
    other_format: str
    alt_lang: str

    def upload(self) -> tuple[bytes, str]:
        data, name = bases()[self.base]
        at = self.position % max(1, len(data))
        if self.fault == "truncated":
            # At least a quarter gone: no decoder can make a whole picture of it.
            return data[: at * 3 // 4], name
        if self.fault == "flipped":
            flipped = bytearray(data)
            for n, byte in enumerate(self.junk or b"\xff"):
                flipped[(at + 97 * n) % len(data)] ^= byte or 0xFF
            return bytes(flipped), name
        if self.fault == "header_only":
            return png_header_only(9_000 + at, 9_000), name
        if self.fault == "other_format":
            return encode(photo(400, 300), self.other_format), name
        if self.fault == "junk":
            return self.junk, name
        if self.fault == "empty":
            return b"", name
        if self.fault == "no_filename":
            return data, ""
        if self.fault == "too_large":
            return data + bytes(MAX_BYTES - len(data) + 1 + at), name
        return data, name

    @property
    def statuses(self) -> set[int]:
        if self.fault == "csrf":
            return {400}
        if self.fault in {"none", "no_filename"}:
            return {303}
        if self.fault == "flipped":
            return {303, 422}
        return {413, 422} if self.fault == "too_large" else {422}


@st.composite
def image_cases(draw: st.DrawFn, fault: str) -> ImageCase:
    return ImageCase(
        base=draw(st.integers(0, len(bases()) - 1)),
        fault=fault,
        position=draw(st.integers(0, 10**6)),
        junk=draw(st.binary(max_size=64)),
        csrf=draw(st.sampled_from(CSRF_MODES)),
        other_format=draw(st.sampled_from(("GIF", "BMP", "TIFF", "ICO", "AVIF", "PDF"))),
        alt_lang=draw(st.sampled_from(("ar", "en", "ku", "tr"))),
    )


def _campaign_form(site: Site) -> dict[str, Any]:
    """The petition's edit form as it stands, with a description in each language."""
    with site.context():
        campaign = db.session.execute(
            select(Campaign).where(Campaign.slug == PETITION)
        ).scalar_one()
        form: dict[str, Any] = {
            "slug": campaign.slug,
            "kind": campaign.kind.value,
            "goal": str(campaign.goal or ""),
            "unit": campaign.unit,
        }
        for lang, text in campaign.texts.items():
            for name in ("title", "summary", "body", "unit_label"):
                form[f"{name}_{lang}"] = getattr(text, name)
            form[f"image_alt_{lang}"] = f"Olive trees ({lang})"
    return form


def _variants(site: Site) -> list[tuple[str, int]]:
    with site.context():
        rows = db.session.execute(select(CampaignImage.media_type, CampaignImage.width)).all()
    return sorted((media_type, width) for media_type, width in rows)


@pytest.mark.parametrize(("engine", "examples"), RUNS)
def test_image_upload_sets_exactly_a_valid_image_and_refuses_the_rest(
    sites: Callable[[str], Site], errors: fuzz.ErrorLog, engine: str, examples: int
) -> None:
    site = sites(engine)
    client = fuzz.console_client(site)
    path = f"/console/campaigns/{PETITION}/edit"
    good = csrf_token(client, path)
    other = csrf_token(site.client(), "/console/login")
    form = _campaign_form(site)
    figures: dict[str, int] = {}
    started = time.monotonic()

    def check(case: ImageCase) -> None:
        data, filename = case.upload()
        fields = MultiDict(form)
        if case.fault == "no_alt":
            fields[f"image_alt_{case.alt_lang}"] = " "
        tokens = (
            broken_token(case.csrf, good, other, "junk")
            if case.fault == "csrf"
            else [("csrf_token", good)]
        )
        for name, value in tokens:
            fields.add(name, value)
        fields["image"] = (io.BytesIO(data), filename)
        before, variants_before = site.counts(), _variants(site)
        response = client.post(path, data=fields, content_type="multipart/form-data")
        after = site.counts()
        what = f"{case} -> {response.status_code}"
        fuzz.no_server_error(response, errors, what)
        assert response.status_code in case.statuses, what
        outcome = f"{case.fault} {response.status_code}"
        figures[outcome] = figures.get(outcome, 0) + 1
        if response.status_code != 303:
            assert changes(before, after) == {}, what
        elif filename:
            # Replaced: the variants of this upload, and the edit's two audit entries
            # (flipped bytes may have changed the picture's size, so its widths).
            variants = _variants(site)
            if case.fault == "flipped":
                assert variants and len(variants) % 2 == 0, what
            else:
                assert len(variants) == VARIANTS, what
            assert {k: v for k, v in changes(before, after).items() if k != "campaign_images"} == {
                "audit_log": 2
            }, what
        else:
            # No file chosen: the image stays as it was.
            assert _variants(site) == variants_before, what
            assert changes(before, after) == {"audit_log": 1}, what

    for fault in FAULTS:
        # Every fault, each with its own cases (drawn alike, one would be rare).
        run = given(case=image_cases(fault))(lambda case: check(case))
        fuzz.fuzz_settings(examples)(run)()
    fuzz.report(f"campaign image upload ({engine})", sum(figures.values()), started)
    print(f"  {dict(sorted(figures.items()))}")
    assert figures.get("none 303", 0) == examples
