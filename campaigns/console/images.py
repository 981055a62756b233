"""The campaign image on the campaign form: the upload, removing it, its
description per language (required with an image), and a preview for those
who manage the campaign (a draft's image is not public)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from flask import Blueprint, request
from flask.typing import ResponseReturnValue
from flask_babel import lazy_gettext as _l
from werkzeug.datastructures import FileStorage
from werkzeug.exceptions import RequestEntityTooLarge
from wtforms import BooleanField, FileField, StringField
from wtforms.validators import Length, Optional

from ..accounts.audit import record
from ..forms import check_csrf_now
from ..media.images import MAX_BYTES, MAX_PIXELS, MIN_WIDTH, ImageRefused, Variant, process_image
from ..media.services import remove_campaign_image, set_campaign_image
from ..media.views import variant_response
from ..models import Campaign
from .access import EVERYONE, require, viewable_campaign

bp = Blueprint("console_images", __name__, url_prefix="/console")

# The largest image plus the multipart envelope around it.
UPLOAD_LIMIT = MAX_BYTES + 64 * 1024
REASONS = {
    "not_an_image": _l("This file is not a JPEG, PNG or WebP image."),
    "damaged": _l("This image file is damaged or incomplete. Please export it again."),
    "too_large": _l("The image file is larger than %(megabytes)s MB.", megabytes=MAX_BYTES >> 20),
    "too_many_pixels": _l(
        "The image has more than %(megapixels)s million pixels.",
        megapixels=MAX_PIXELS // 1_000_000,
    ),
    "too_small": _l("The image must be at least %(pixels)s pixels wide.", pixels=MIN_WIDTH),
    "bad_shape": _l(
        "The image is too wide or too tall: at most four times as wide as it is high, "
        "or twice as high as it is wide."
    ),
}
ALT_REQUIRED = _l("Please describe the image in this language.")
IMAGE_HINT = _l(
    "A JPEG, PNG or WebP photo, at least %(pixels)s pixels wide, up to %(megabytes)s MB. "
    "It is made smaller for phones, and everything in the file but the picture is removed, "
    "such as where and when it was taken. Describe it in each language below.",
    pixels=MIN_WIDTH,
    megabytes=MAX_BYTES >> 20,
)


class UploadTooLarge(Exception):
    """The request's body is past the campaign form's limit: nothing was read."""


def add_image_fields(form_class: type, languages: Iterable[str]) -> None:
    """The image, its removal, and its description in each language."""
    setattr(form_class, "image", FileField(_l("Campaign image"), description=IMAGE_HINT))  # noqa: B010
    setattr(form_class, "remove_image", BooleanField(_l("Remove the image")))  # noqa: B010
    for lang in languages:
        alt = StringField(_l("Description of the image"), [Optional(), Length(max=300)])
        setattr(form_class, f"image_alt_{lang}", alt)


def read_upload() -> FileStorage | None:
    """On a POST, the CSRF check, then the uploaded image if one was chosen.
    The campaign views are exempt from the global check so that a body past
    their limit, read here after the access check, is an error on the form
    rather than a bare 413; and nobody's large body is read before their
    access is checked."""
    if request.method != "POST":
        return None
    try:
        check_csrf_now()
        upload = request.files.get("image")
    except RequestEntityTooLarge as error:
        if request.mimetype != "multipart/form-data":
            raise  # no file: texts past their limit, the site's own answer
        raise UploadTooLarge from error
    return upload if upload is not None and upload.filename else None


def refuse_too_large(form: Any) -> None:
    form.image.errors = [REASONS["too_large"]]


@dataclass(frozen=True)
class ImageChange:
    """What saving the form does to the image: replace it, remove it, or
    (neither) keep it as it is."""

    variants: list[Variant] | None = None
    remove: bool = False


def image_change(
    form: Any, upload: FileStorage | None, campaign: Campaign | None
) -> ImageChange | None:
    """The change the submitted form asks for, or None with the reasons on
    the form: an unusable file, or an image without its description in a
    language the campaign is written in. Call after the form's validation
    (which clears every field's errors)."""
    variants = None
    refused = False
    if upload is not None:
        try:
            variants = process_image(upload.read(MAX_BYTES + 1))
        except ImageRefused as error:
            form.image.errors = [REASONS[error.reason]]
            refused = True
    remove = variants is None and bool(form.remove_image.data)
    kept = campaign is not None and bool(campaign.images) and not remove
    has_image = variants is not None or kept
    missing = [
        name
        for name in form._fields
        if name.startswith("image_alt_")
        and has_image
        and (form[f"title_{name.removeprefix('image_alt_')}"].data or "").strip()
        and not (form[name].data or "").strip()
    ]
    for name in missing:
        form[name].errors = [*form[name].errors, ALT_REQUIRED]
    return None if missing or refused else ImageChange(variants, remove)


def apply_image_change(campaign: Campaign, change: ImageChange) -> None:
    """Replace or remove the campaign's image (flush), with an audit entry."""
    if change.variants is not None:
        set_campaign_image(campaign, change.variants)
        record(
            "campaign_image_set",
            "campaign",
            campaign.id,
            widths=sorted({v.width for v in change.variants}),
            bytes=sum(len(v.data) for v in change.variants),
        )
    elif change.remove and campaign.images:
        remove_campaign_image(campaign)
        record("campaign_image_removed", "campaign", campaign.id)


@bp.get("/campaigns/<slug>/image/<variant>")
@require(*EVERYONE)
def preview(slug: str, variant: str) -> ResponseReturnValue:
    """A variant of the campaign's image, public or not, for its form and for
    the preview of its page (which co-hosting partners see too)."""
    campaign = viewable_campaign(slug)
    return variant_response(campaign.slug, variant, public=False)
