"""Re-encoding an uploaded campaign image with Pillow.

The upload is decoded once, checked (type, size in bytes and in pixels, a
complete file), turned upright by its EXIF orientation, converted to sRGB,
and encoded anew as AVIF and WebP at a few widths, never larger than it came.
Nothing of the file but its pixels survives: no EXIF (a phone's GPS position
among it), no XMP, no colour profile, no comment. The upload itself is not
kept."""

from __future__ import annotations

import hashlib
import io
import warnings
from dataclasses import dataclass

from PIL import Image, ImageCms, ImageOps, UnidentifiedImageError

# Formats an organizer may upload (Pillow's names): photos and graphics.
ACCEPTED_FORMATS = ("JPEG", "PNG", "WEBP")
MAX_BYTES = 10 * 1024 * 1024  # a phone's photo, with room to spare
# 50 megapixels: what a phone camera takes at most; decoded, 150 MB of RGB.
MAX_PIXELS = 50_000_000
MIN_WIDTH = 320
# Neither a banner thinner than 4:1 nor a portrait taller than 1:2.
MAX_ASPECT = 4.0
MIN_ASPECT = 0.5
WIDTHS = (360, 720, 1080)
# Bytes each width may take: 40 KB for a phone's screen, more for wider ones
# (pure noise at 1080 px stays above 200 KB even at the lowest quality).
BUDGETS = {360: 40_000, 720: 100_000, 1080: 200_000}
# First quality tried, then lower ones until the variant fits its budget.
QUALITIES = {"image/avif": (50, 40, 30, 20, 10), "image/webp": (75, 65, 50, 35, 20, 10)}
EXTENSIONS = {"image/avif": "avif", "image/webp": "webp"}
_PIL_FORMATS = {"image/avif": "AVIF", "image/webp": "WEBP"}
_SRGB = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB"))


class _Upload(io.BytesIO):
    """The uploaded bytes, noting whether a decoder asked for more after the
    last one: a file cut short. Pillow refuses such a file by itself only
    while ``ImageFile.LOAD_TRUNCATED_IMAGES`` is off, and WeasyPrint turns
    it on for the whole process when it is imported."""

    cut_short = False

    def read(self, size: int | None = -1) -> bytes:
        data = super().read(size)
        if not data and size != 0:
            self.cut_short = True
        return data


class ImageRefused(Exception):
    """The upload cannot be used; ``reason`` names why (see console/images.py)."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True)
class Variant:
    """One encoded image: its type, size in pixels and bytes, and a name that
    holds the hash of those bytes."""

    media_type: str
    width: int
    height: int
    data: bytes

    @property
    def name(self) -> str:
        digest = hashlib.sha256(self.data).hexdigest()[:24]
        return f"{digest}-{self.width}.{EXTENSIONS[self.media_type]}"


def _open(data: bytes) -> Image.Image:
    """The first frame of the upload, decoded, or ImageRefused."""
    if len(data) > MAX_BYTES:
        raise ImageRefused("too_large")
    try:
        with warnings.catch_warnings():
            # Pillow warns (and past twice its limit refuses) on huge images:
            # our own limit is lower, checked before any pixel is decoded.
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            probe = Image.open(io.BytesIO(data), formats=ACCEPTED_FORMATS)
            if probe.width * probe.height > MAX_PIXELS:
                raise ImageRefused("too_many_pixels")
            probe.verify()
            upload = _Upload(data)
            image = Image.open(upload, formats=ACCEPTED_FORMATS)
            # JPEG may decode at a half, quarter or eighth: never below 2160 px.
            image.draft("RGB", (2 * WIDTHS[-1], 2 * WIDTHS[-1]))
            image.load()
            if upload.cut_short:
                raise ImageRefused("damaged")
    except ImageRefused:
        raise
    except UnidentifiedImageError as error:
        raise ImageRefused("not_an_image") from error
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as error:
        raise ImageRefused("too_many_pixels") from error
    except (OSError, SyntaxError, ValueError, EOFError, MemoryError) as error:
        # Truncated or corrupt data: each decoder says it its own way.
        raise ImageRefused("damaged") from error
    return image


def _upright_srgb(image: Image.Image) -> Image.Image:
    """Turned by its EXIF orientation, in sRGB, RGB or RGBA, with no metadata."""
    icc = image.info.get("icc_profile")
    image = ImageOps.exif_transpose(image)
    has_alpha = image.mode in ("RGBA", "LA", "PA") or (
        image.mode == "P" and "transparency" in image.info
    )
    mode = "RGBA" if has_alpha else "RGB"
    if icc and image.mode in ("RGB", "RGBA", "CMYK", "L"):
        try:
            profile = ImageCms.ImageCmsProfile(io.BytesIO(icc))
            image = ImageCms.profileToProfile(image, profile, _SRGB, outputMode=mode) or image
        except (ImageCms.PyCMSError, OSError, ValueError):
            pass  # a broken profile: the pixels are taken as sRGB
    image = image.convert(mode)
    # Only the pixels: info (exif, icc_profile, xmp, comments) stays behind.
    return Image.frombytes(image.mode, image.size, image.tobytes())


def _widths(width: int) -> list[int]:
    """The widths to make: the standard ones up to the image's own, never more."""
    return sorted({min(w, width) for w in WIDTHS})


def _encode(image: Image.Image, media_type: str, budget: int) -> bytes:
    """The image at the first quality whose bytes fit ``budget`` (or the lowest)."""
    data = b""
    for quality in QUALITIES[media_type]:
        buffer = io.BytesIO()
        options = {"method": 6} if media_type == "image/webp" else {}
        image.save(buffer, _PIL_FORMATS[media_type], quality=quality, exif=b"", **options)
        data = buffer.getvalue()
        if len(data) <= budget:
            break
    return data


def process_image(data: bytes) -> list[Variant]:
    """Every variant of an uploaded image (AVIF and WebP at each width), or
    ImageRefused with its reason: not_an_image, too_large, too_many_pixels,
    damaged, too_small, bad_shape."""
    opened = _open(data)
    try:
        image = _upright_srgb(opened)
    except (OSError, SyntaxError, ValueError, EOFError) as error:
        raise ImageRefused("damaged") from error  # unreadable EXIF or colour data
    width, height = image.size
    if width < MIN_WIDTH:
        raise ImageRefused("too_small")
    if not MIN_ASPECT <= width / height <= MAX_ASPECT:
        raise ImageRefused("bad_shape")
    variants = []
    for target in _widths(width):
        size = (target, max(1, round(height * target / width)))
        resized = image if size == image.size else image.resize(size, Image.Resampling.LANCZOS)
        # A width between the standard ones has the budget of the next one up.
        budget = next(BUDGETS[w] for w in WIDTHS if w >= target)
        for media_type in QUALITIES:
            encoded = _encode(resized, media_type, budget)
            variants.append(Variant(media_type, size[0], size[1], encoded))
    return variants
