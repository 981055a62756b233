"""Thresholds, deliveries and responses: organizers record them (flush
only; the request commits), the public reads them (a per-process copy of the
last few seconds, like the campaign itself), and the signers who agreed to
hear from the union are told through an update (``updates``: the same
emails, the same outbox task, the same unsubscribe link)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date
from typing import TypeVar

from flask import current_app
from flask_babel import force_locale, format_date, gettext
from sqlalchemy import delete, select

from ..accounts.audit import record
from ..cache import memo
from ..extensions import db
from ..i18n import DEFAULT_LANGUAGE
from ..ledger.services import head_by_number
from ..media.images import Variant
from ..models import (
    Campaign,
    CampaignDelivery,
    CampaignResponse,
    CampaignThreshold,
    DeliveryMethod,
    LedgerHead,
    User,
)
from ..updates.services import create_update, queue_sending, start_sending

_PREFIX = "outcomes:"
PHOTO_WIDTH = 720
T = TypeVar("T")


@dataclass(frozen=True)
class PublicThreshold:
    count: int
    texts: dict[str, str]

    def text(self, lang: str) -> tuple[str, str]:
        """(language, commitment): in ``lang`` where written, else Arabic."""
        return _in(self.texts, lang)


@dataclass(frozen=True)
class PublicResponse:
    public_id: str
    responded_on: date
    texts: dict[str, dict[str, str]]
    pdf_size: int | None

    def text(self, lang: str) -> tuple[str, dict[str, str]]:
        return _in(self.texts, lang)


@dataclass(frozen=True)
class PublicDelivery:
    delivered_on: date
    method: DeliveryMethod
    texts: dict[str, dict[str, str]]
    chain_head: str | None
    photo_name: str | None = None
    photo_width: int | None = None
    photo_height: int | None = None
    ledger_head: LedgerMark | None = None

    def text(self, lang: str) -> tuple[str, dict[str, str]]:
        return _in(self.texts, lang)


@dataclass(frozen=True)
class LedgerMark:
    """The signed ledger head a delivery was made with: its number and the
    count it adds up to (signers; for a pledge, the total pledged too)."""

    number: int
    signers: int
    total: int


class UnknownLedgerHead(ValueError):
    """The campaign has no signed ledger head of that number."""


@dataclass(frozen=True)
class Outcomes:
    thresholds: list[PublicThreshold]
    responses: list[PublicResponse]
    deliveries: list[PublicDelivery]

    def next_threshold(self, total: int) -> PublicThreshold | None:
        """The first commitment not reached yet (None: all reached, or none)."""
        return next((t for t in self.thresholds if t.count > total), None)

    def reached(self, total: int) -> list[PublicThreshold]:
        return [t for t in self.thresholds if t.count <= total]


def _in(texts: dict[str, T], lang: str) -> tuple[str, T]:
    if lang in texts:
        return lang, texts[lang]
    return DEFAULT_LANGUAGE, texts[DEFAULT_LANGUAGE]


def _load(campaign_id: int) -> Outcomes:
    thresholds = db.session.execute(
        # Labelled: a row's .count is the tuple's method.
        select(CampaignThreshold.count.label("at"), CampaignThreshold.texts)
        .where(CampaignThreshold.campaign_id == campaign_id)
        .order_by(CampaignThreshold.count)
    ).all()
    responses = db.session.execute(
        select(
            CampaignResponse.public_id,
            CampaignResponse.responded_on,
            CampaignResponse.texts,
            CampaignResponse.pdf_size,
        )
        .where(CampaignResponse.campaign_id == campaign_id)
        .order_by(CampaignResponse.responded_on.desc(), CampaignResponse.id.desc())
    ).all()
    deliveries = db.session.execute(
        select(
            CampaignDelivery.delivered_on,
            CampaignDelivery.method,
            CampaignDelivery.texts,
            CampaignDelivery.chain_head,
            CampaignDelivery.photo_name,
            CampaignDelivery.photo_width,
            CampaignDelivery.photo_height,
            CampaignDelivery.ledger_head,
            LedgerHead.signers,
            LedgerHead.total,
        )
        .outerjoin(
            LedgerHead,
            (LedgerHead.campaign_id == CampaignDelivery.campaign_id)
            & (LedgerHead.number == CampaignDelivery.ledger_head),
        )
        .where(CampaignDelivery.campaign_id == campaign_id)
        .order_by(CampaignDelivery.delivered_on.desc(), CampaignDelivery.id.desc())
    ).all()
    return Outcomes(
        thresholds=[PublicThreshold(r.at, dict(r.texts)) for r in thresholds],
        responses=[
            PublicResponse(r.public_id, r.responded_on, dict(r.texts), r.pdf_size)
            for r in responses
        ],
        deliveries=[
            PublicDelivery(
                r.delivered_on,
                r.method,
                dict(r.texts),
                r.chain_head,
                r.photo_name,
                r.photo_width,
                r.photo_height,
                LedgerMark(r.ledger_head, r.signers, r.total)
                if r.ledger_head is not None and r.signers is not None
                else None,
            )
            for r in deliveries
        ],
    )


def campaign_outcomes(campaign_id: int) -> Outcomes:
    """The campaign's thresholds (smallest first), responses and deliveries
    (newest first), from this process's copy of the last few seconds."""
    ttl = current_app.config["CAMPAIGN_CACHE_SECONDS"]
    if ttl <= 0:
        return _load(campaign_id)
    outcomes: Outcomes = memo().get_or_compute(
        f"{_PREFIX}{campaign_id}", ttl, lambda: _load(campaign_id)
    )
    return outcomes


def _forget(campaign_id: int) -> None:
    if "zaytoun_memo" in current_app.extensions:
        memo().forget(f"{_PREFIX}{campaign_id}")


def add_threshold(campaign: Campaign, count: int, texts: dict[str, str]) -> CampaignThreshold:
    """A commitment at ``count`` (flush only). ValueError if the campaign has
    one at that count already, or without Arabic."""
    if DEFAULT_LANGUAGE not in texts:
        raise ValueError("the Arabic text is required")
    taken = db.session.execute(
        select(CampaignThreshold.id).where(
            CampaignThreshold.campaign_id == campaign.id, CampaignThreshold.count == count
        )
    ).scalar()
    if taken is not None:
        raise ValueError("a threshold at this count exists")
    item = CampaignThreshold(campaign_id=campaign.id, count=count, texts=texts)
    db.session.add(item)
    db.session.flush()
    record("threshold_added", "campaign", campaign.id, count=count)
    _forget(campaign.id)
    return item


def remove_threshold(campaign: Campaign, threshold_id: int, count: str) -> bool | None:
    """Remove one of the campaign's thresholds if it is at ``count`` (as the
    organizer's page showed it); flush only. None: no such threshold; False:
    it is at another count now."""
    found = db.session.execute(
        select(CampaignThreshold).where(
            CampaignThreshold.id == threshold_id, CampaignThreshold.campaign_id == campaign.id
        )
    ).scalar_one_or_none()
    if found is None:
        return None
    if str(found.count) != count.strip():
        return False
    db.session.execute(delete(CampaignThreshold).where(CampaignThreshold.id == found.id))
    record("threshold_removed", "campaign", campaign.id, count=found.count)
    _forget(campaign.id)
    return True


def _tell_signers(campaign: Campaign, texts: dict[str, dict[str, str]], author: User) -> int:
    """Send ``texts`` ({lang: {subject, body}}) to the signers who agreed to
    hear from the union, as an update (its task joins the caller's
    transaction); returns the update's id."""
    update = create_update(campaign, texts, author)
    start_sending(update)
    queue_sending(update.id)
    return update.id


def publish_response(
    campaign: Campaign,
    responded_on: date,
    texts: dict[str, dict[str, str]],
    pdf: bytes | None,
    author: User,
) -> CampaignResponse:
    """Publish the addressee's response ({lang: {by, text}}, Arabic required;
    ``pdf`` already checked) and tell the signers (flush only)."""
    if DEFAULT_LANGUAGE not in texts:
        raise ValueError("the Arabic text is required")
    emails = {}
    for lang, text in texts.items():
        with force_locale(lang):
            subject = gettext("A response to the campaign from %(by)s", by=text["by"])
            intro = gettext(
                "%(by)s answered the campaign on %(date)s:",
                by=text["by"],
                date=_long_date(responded_on),
            )
            after = gettext("The response is on the campaign's page.")
        emails[lang] = {"subject": subject, "body": f"{intro}\n\n{text['text']}\n\n{after}"}
    item = CampaignResponse(
        public_id=uuid.uuid4().hex,
        campaign_id=campaign.id,
        responded_on=responded_on,
        texts=texts,
        pdf=pdf,
        pdf_size=len(pdf) if pdf else None,
        created_by=author.id,
    )
    db.session.add(item)
    db.session.flush()
    item.update_id = _tell_signers(campaign, emails, author)
    record("response_published", "campaign", campaign.id, pdf=bool(pdf))
    _forget(campaign.id)
    return item


def record_delivery(
    campaign: Campaign,
    delivered_on: date,
    method: DeliveryMethod,
    texts: dict[str, dict[str, str]],
    chain_head: str | None,
    author: User,
    photo: Variant | None = None,
    ledger_head: int | None = None,
) -> CampaignDelivery:
    """Record a delivery ({lang: {recipient, place}}, Arabic required; the
    photo already re-encoded; ``ledger_head`` the number of one of the
    campaign's signed heads, else ``UnknownLedgerHead``) and tell the
    signers (flush only)."""
    if DEFAULT_LANGUAGE not in texts:
        raise ValueError("the Arabic text is required")
    if ledger_head is not None and head_by_number(campaign.id, ledger_head) is None:
        raise UnknownLedgerHead(ledger_head)
    emails = {}
    for lang, text in texts.items():
        with force_locale(lang):
            subject = gettext(
                "The campaign was delivered to %(recipient)s", recipient=text["recipient"]
            )
            body = gettext(
                "On %(date)s the campaign was delivered to %(recipient)s in %(place)s (%(how)s).",
                date=_long_date(delivered_on),
                recipient=text["recipient"],
                place=text["place"],
                how=method.title,
            )
            thanks = gettext("Thank you for signing. We will tell you of any response.")
        emails[lang] = {"subject": subject, "body": f"{body}\n\n{thanks}"}
    item = CampaignDelivery(
        campaign_id=campaign.id,
        delivered_on=delivered_on,
        method=method,
        texts=texts,
        chain_head=chain_head,
        ledger_head=ledger_head,
        created_by=author.id,
    )
    if photo is not None:
        item.photo, item.photo_name = photo.data, photo.name
        item.photo_width, item.photo_height = photo.width, photo.height
    db.session.add(item)
    db.session.flush()
    item.update_id = _tell_signers(campaign, emails, author)
    record(
        "delivery_recorded",
        "campaign",
        campaign.id,
        method=method.value,
        photo=photo is not None,
        ledger_head=ledger_head,
    )
    _forget(campaign.id)
    return item


def delivery_photo(variants: list[Variant]) -> Variant:
    """The one variant a delivery keeps: the WebP at most 720 px wide (the
    widest there is below that, for a small photo)."""
    webp = sorted((v for v in variants if v.media_type == "image/webp"), key=lambda v: v.width)
    fitting = [v for v in webp if v.width <= PHOTO_WIDTH]
    return (fitting or webp)[-1]


def _long_date(day: date) -> str:
    return str(format_date(day, "long"))
