"""Images to upload: a photo-like scene (sky, hills, olive trees of a
thousand leaves, sensor grain) rather than a flat colour, which any encoder
makes tiny; with the EXIF a phone writes (its position among it)."""

from __future__ import annotations

import io
import random
import zlib
from functools import cache

from PIL import Image, ImageChops, ImageDraw, ImageFilter

from campaigns.extensions import db
from campaigns.media.images import process_image
from campaigns.media.services import set_campaign_image
from campaigns.models import Campaign

# Where a phone says the photo was taken (Afrin): what must never be published.
GPS = {1: "N", 2: (36.0, 30.0, 45.0), 3: "E", 4: (36.0, 52.0, 12.0)}
CAMERA = "Zaytoun Test Phone"


@cache
def _scene(width: int, height: int, seed: int) -> Image.Image:
    rnd = random.Random(seed)
    sky = Image.linear_gradient("L").resize((width, height))
    image = Image.merge(
        "RGB",
        (
            sky.point(lambda v: 110 + v // 3),
            sky.point(lambda v: 150 + v // 4),
            sky.point(lambda v: 230 - v // 5),
        ),
    )
    draw = ImageDraw.Draw(image)
    horizon = height * 2 // 5
    for i in range(3):
        top = horizon + i * height // 10
        ridge = [(x, top + 30 * ((x * (i + 3)) % 97) // 97) for x in range(0, width + 50, 50)]
        draw.polygon([(0, height), *ridge, (width, height)], fill=(120 - 20 * i, 110 - 10 * i, 60))
    for _ in range(14):
        cx, cy = rnd.randrange(width), rnd.randrange(horizon, height)
        r = rnd.randrange(width // 20, width // 7)
        draw.rectangle((cx - r // 10, cy, cx + r // 10, cy + r), fill=(70, 55, 40))
        for _ in range(1600):
            x = cx + int(rnd.gauss(0, r / 1.7))
            y = cy - r // 2 + int(rnd.gauss(0, r / 2.5))
            s = rnd.randrange(2, max(3, r // 10))
            green = rnd.randrange(70, 150)
            leaf = (green // 2 + rnd.randrange(30), green, rnd.randrange(20, 70))
            draw.ellipse((x, y, x + s, y + s // 2), fill=leaf)
    image = image.filter(ImageFilter.GaussianBlur(0.8))
    grain = Image.effect_noise((width, height), 12).convert("RGB")
    return ImageChops.add(image, grain, scale=1.0, offset=-128)


def photo(width: int = 2400, height: int = 1600, seed: int = 1) -> Image.Image:
    """A photo-like RGB image (a copy: callers may change it)."""
    return _scene(width, height, seed).copy()


def phone_exif(orientation: int = 1) -> Image.Exif:
    """EXIF as a phone writes it: camera, time, orientation and GPS position."""
    exif = Image.Exif()
    exif[0x010F] = "Zaytoun"  # Make
    exif[0x0110] = CAMERA  # Model
    exif[0x0132] = "2026:03:15 10:20:30"  # DateTime
    exif[0x0112] = orientation
    exif[0x8825] = GPS  # GPSInfo
    return exif


def encode(image: Image.Image, fmt: str = "JPEG", **options: object) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, fmt, **options)
    return buffer.getvalue()


def phone_jpeg(width: int = 2400, height: int = 1600, orientation: int = 1) -> bytes:
    """A JPEG as a phone would upload it, EXIF and GPS included."""
    return encode(photo(width, height), "JPEG", quality=92, exif=phone_exif(orientation))


def give_image(campaign: Campaign, width: int = 720, height: int = 480) -> None:
    """The campaign gets an image (processed as an upload would be) and an
    alt text in each of its languages; committed."""
    set_campaign_image(campaign, process_image(phone_jpeg(width, height)))
    for lang, text in campaign.texts.items():
        text.image_alt = f"Olive trees on a hill ({lang})"
    db.session.commit()


def png_header_only(width: int, height: int) -> bytes:
    """A PNG whose header promises ``width`` × ``height`` pixels (a
    decompression bomb's first bytes), with one small compressed block."""

    def chunk(kind: bytes, body: bytes) -> bytes:
        crc = zlib.crc32(kind + body).to_bytes(4, "big")
        return len(body).to_bytes(4, "big") + kind + body + crc

    header = width.to_bytes(4, "big") + height.to_bytes(4, "big") + bytes([8, 2, 0, 0, 0])
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(bytes(1024)))
        + chunk(b"IEND", b"")
    )
