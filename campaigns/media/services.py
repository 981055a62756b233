"""A campaign's image: replaced or removed as a whole (flush, never commit),
and what a page needs to show it."""

from __future__ import annotations

from dataclasses import dataclass

from flask import url_for

from ..extensions import db
from ..models import Campaign, CampaignImage
from .images import Variant


def set_campaign_image(campaign: Campaign, variants: list[Variant]) -> None:
    """Replace the campaign's image by these variants."""
    remove_campaign_image(campaign)
    for variant in variants:
        campaign.images.append(
            CampaignImage(
                name=variant.name,
                media_type=variant.media_type,
                width=variant.width,
                height=variant.height,
                size=len(variant.data),
                data=variant.data,
            )
        )
    db.session.flush()


def remove_campaign_image(campaign: Campaign) -> None:
    """Delete every variant of the campaign's image (the same picture sent
    again has the same names: the old rows go first)."""
    campaign.images.clear()
    db.session.flush()


@dataclass(frozen=True)
class Picture:
    """A ``<picture>``: a srcset per type (best first), the fallback image,
    and the size that reserves its place on the page."""

    sources: list[tuple[str, str]]
    fallback: str
    width: int
    height: int


def campaign_picture(campaign: Campaign, endpoint: str = "media.campaign_image") -> Picture | None:
    """The campaign's image for a page (None without one); ``endpoint`` is
    the route serving the variants (the console previews a draft's)."""
    by_type: dict[str, list[CampaignImage]] = {}
    for image in campaign.images:
        by_type.setdefault(image.media_type, []).append(image)
    if not by_type:
        return None

    def url(image: CampaignImage) -> str:
        return url_for(endpoint, slug=campaign.slug, variant=image.name)

    sources = [
        (media_type, ", ".join(f"{url(i)} {i.width}w" for i in sorted(images, key=_width)))
        for media_type, images in sorted(by_type.items())
    ]
    widest = max(campaign.images, key=_width)
    webp = sorted(by_type.get("image/webp", campaign.images), key=_width)
    return Picture(sources, url(webp[0]), widest.width, widest.height)


def _width(image: CampaignImage) -> int:
    return image.width
