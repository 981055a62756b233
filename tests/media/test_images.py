"""Re-encoding an upload: nothing but the pixels survives (no EXIF, no GPS
position, no profile), the picture stands upright, the widths a page needs
and never more than the upload's, the phone's variant within 40 KB, and
files that are not what they claim, or too big to decode, refused."""

from __future__ import annotations

import io
from collections.abc import Callable

import pytest
from PIL import Image, ImageCms, ImageFile

from campaigns.media.images import (
    BUDGETS,
    MAX_BYTES,
    ImageRefused,
    Variant,
    process_image,
)

from .support import CAMERA, encode, phone_exif, phone_jpeg, photo, png_header_only


def _opened(variant: Variant) -> Image.Image:
    image = Image.open(io.BytesIO(variant.data))
    image.load()
    return image


@pytest.fixture(scope="module")
def phone_variants() -> list[Variant]:
    """A 2400 × 1600 phone photo with its EXIF (GPS included), XMP and a colour profile."""
    srgb = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
    xmp = b'<x:xmpmeta xmlns:x="adobe:ns:meta/">Zaytoun Test Phone</x:xmpmeta>'
    data = encode(
        photo(), "JPEG", quality=92, exif=phone_exif(), icc_profile=srgb, xmp=xmp, comment=CAMERA
    )
    source = Image.open(io.BytesIO(data))
    assert source.getexif().get_ifd(0x8825), "the upload carries a GPS position"
    assert "icc_profile" in source.info and "xmp" in source.info
    return process_image(data)


def test_no_metadata_survives(phone_variants: list[Variant]) -> None:
    for variant in phone_variants:
        image = _opened(variant)
        assert not image.getexif(), variant.name
        assert not {"exif", "xmp", "icc_profile", "comment"} & set(image.info), image.info
        for marker in (b"Exif", b"GPS", CAMERA.encode(), b"xmpmeta", b"2026:03:15"):
            assert marker not in variant.data, (variant.name, marker)


def test_the_widths_a_page_needs_in_avif_and_webp(phone_variants: list[Variant]) -> None:
    made = sorted((v.media_type, v.width, v.height) for v in phone_variants)
    assert made == [
        (media_type, width, width * 2 // 3)
        for media_type in ("image/avif", "image/webp")
        for width in (360, 720, 1080)
    ]
    for variant in phone_variants:
        image = _opened(variant)
        assert image.format == {"image/avif": "AVIF", "image/webp": "WEBP"}[variant.media_type]
        assert image.size == (variant.width, variant.height)
        assert len(variant.data) <= BUDGETS[variant.width], variant.name
    sizes = {(v.media_type, v.width): len(v.data) for v in phone_variants}
    print(f"\nvariants of a 2400 × 1600 photo (bytes): {sizes}")
    assert sizes[("image/avif", 360)] <= 40_000 and sizes[("image/webp", 360)] <= 40_000


def test_names_hold_the_hash_of_the_bytes(phone_variants: list[Variant]) -> None:
    names = [v.name for v in phone_variants]
    assert len(set(names)) == len(names)
    for variant in phone_variants:
        extension = variant.media_type.removeprefix("image/")
        assert variant.name.endswith(f"-{variant.width}.{extension}")
    # The same upload gives the same bytes, so the same URLs.
    again = process_image(phone_jpeg(800, 600))
    assert [v.name for v in again] == [v.name for v in process_image(phone_jpeg(800, 600))]


def test_the_phone_variant_stays_within_40_kb_even_for_noise() -> None:
    """Pure noise is the worst case for any encoder: quality gives way to the
    phone's budget (the wider variants go as low as quality allows)."""
    noise = Image.merge("RGB", [Image.effect_noise((1200, 800), 100) for _ in range(3)])
    variants = process_image(encode(noise, "PNG"))
    sizes = {(v.media_type, v.width): len(v.data) for v in variants}
    print(f"\nvariants of 1200 × 800 pixels of noise (bytes): {sizes}")
    assert sizes[("image/avif", 360)] <= 40_000 and sizes[("image/webp", 360)] <= 40_000


@pytest.mark.parametrize(
    ("width", "widths"),
    [(2000, [360, 720, 1080]), (1080, [360, 720, 1080]), (500, [360, 500]), (330, [330])],
)
def test_never_upscaled(width: int, widths: list[int]) -> None:
    variants = process_image(encode(photo(width, width * 3 // 4), "PNG"))
    for media_type in ("image/avif", "image/webp"):
        assert sorted(v.width for v in variants if v.media_type == media_type) == widths


def test_the_exif_orientation_is_applied() -> None:
    """A phone held upright stores a landscape picture and says "turn it"."""
    variants = process_image(phone_jpeg(1200, 800, orientation=6))
    for variant in variants:
        assert variant.height > variant.width, variant.name
        assert (variant.width, variant.height) in {(360, 540), (720, 1080), (800, 1200)}
        assert not _opened(variant).getexif()


def test_transparency_is_kept() -> None:
    logo = photo(600, 400).convert("RGBA")
    logo.putalpha(Image.linear_gradient("L").resize((600, 400)))
    for variant in process_image(encode(logo, "PNG")):
        assert _opened(variant).mode == "RGBA", variant.name


@pytest.mark.parametrize("mode", ["L", "P", "CMYK", "I;16", "LA"])
def test_other_pixel_modes_become_rgb(mode: str) -> None:
    image = photo(480, 320).convert(mode) if mode != "I;16" else photo(480, 320).convert("I;16")
    fmt = "JPEG" if mode == "CMYK" else "PNG"
    variants = process_image(encode(image, fmt))
    assert {_opened(v).mode for v in variants} <= {"RGB", "RGBA"}


# Each reason, with files made when the case runs.
REFUSED: dict[str, list[Callable[[], bytes]]] = {
    "not_an_image": [
        lambda: b"",
        lambda: b"hello",
        lambda: b"%PDF-1.7\n",
        lambda: b"\x89PNG\r\n\x1a\n" + bytes(40),
    ],
    "damaged": [
        lambda: phone_jpeg(800, 600)[:5000],
        lambda: encode(photo(800, 600), "PNG")[:-2000],
    ],
    "too_many_pixels": [
        lambda: png_header_only(10_000, 6_000),
        lambda: png_header_only(65_000, 65_000),
    ],
    "too_large": [lambda: b"\xff\xd8\xff" + bytes(MAX_BYTES)],
    "too_small": [lambda: encode(photo(319, 240), "PNG")],
    "bad_shape": [lambda: encode(photo(1700, 400), "PNG"), lambda: encode(photo(400, 900), "PNG")],
}


@pytest.mark.parametrize(
    ("reason", "make"),
    [
        pytest.param(reason, make, id=f"{reason}-{n}")
        for reason, cases in REFUSED.items()
        for n, make in enumerate(cases)
    ],
)
def test_unusable_files_are_refused_with_their_reason(
    reason: str, make: Callable[[], bytes]
) -> None:
    with pytest.raises(ImageRefused) as refused:
        process_image(make())
    assert refused.value.reason == reason


@pytest.mark.parametrize("fmt", ["JPEG", "PNG", "WEBP"])
def test_a_file_cut_short_is_refused_even_where_pillow_would_take_it(
    monkeypatch: pytest.MonkeyPatch, fmt: str
) -> None:
    """WeasyPrint, imported by the same processes for the delivery PDF, turns
    on Pillow's LOAD_TRUNCATED_IMAGES, which fills a missing end with grey."""
    monkeypatch.setattr(ImageFile, "LOAD_TRUNCATED_IMAGES", True)
    data = encode(photo(800, 600), fmt)
    for keep in (0.5, 0.9, 0.99):
        with pytest.raises(ImageRefused):
            process_image(data[: int(len(data) * keep)])
    # A whole file goes through, with what some cameras write after its end too.
    assert process_image(data)
    assert process_image(data + b"\x00" * 512 + b"trailer")


@pytest.mark.parametrize("fmt", ["GIF", "BMP", "TIFF", "ICO", "AVIF"])
def test_only_jpeg_png_and_webp_are_taken(fmt: str) -> None:
    with pytest.raises(ImageRefused) as refused:
        process_image(encode(photo(400, 300), fmt))
    assert refused.value.reason == "not_an_image"


def test_webp_uploads_are_taken() -> None:
    variants = process_image(encode(photo(900, 600), "WEBP", quality=90))
    assert {v.width for v in variants} == {360, 720, 900}
