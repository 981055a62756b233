"""Demo signatures for the embedded default, so that the results pages have
something to show. They are marked ``source = demo`` (the results page says
so) and refused outside the embedded default."""

from __future__ import annotations

import random
import uuid
from datetime import timedelta

from flask import current_app
from sqlalchemy import func, insert, select

from .extensions import db
from .models import Campaign, Signature, SignatureSource
from .models.types import utcnow
from .privacy.crypto import fingerprint, keyring
from .privacy.personal import PersonalData
from .signing.lifecycle import Choices, signature_row

FIRST_NAMES = (
    "أحمد", "محمد", "فاطمة", "مريم", "خالد", "رنا", "عمر", "هبة", "يوسف", "سلمى",
    "Rojda", "Azad", "Zozan", "Dilovan", "Ahmad", "Lina", "Sami", "Nour", "Hevin", "Karwan",
)
FAMILY_NAMES = ("الحلبي", "العلي", "الخطيب", "Xelîl", "Mustafa", "Haddad", "الأحمد", "Osman")
PLACES = (
    ("SY", "عفرين", 14), ("SY", "حلب", 10), ("SY", "إدلب", 12), ("SY", "Azaz", 6),
    ("SY", "الحسكة", 4), ("SY", "Qamişlo", 4), ("SY", "دمشق", 2), ("SY", "Manbij", 3),
    ("TR", "Gaziantep", 12), ("TR", "İstanbul", 10), ("TR", "أورفة", 5), ("TR", "Kilis", 4),
    ("TR", "Hatay", 5), ("DE", "Berlin", 4), ("DE", "Hamburg", 2), ("LB", "بيروت", 2),
    ("JO", "عمّان", 1), ("SE", "Malmö", 2), ("NL", "Utrecht", 1), ("FR", "Paris", 1),
)


class DemoRefused(Exception):
    """Demo data is only for the embedded default."""


def seed_demo_signatures(campaign: Campaign, count: int, seed: int = 2013) -> int:
    """Add ``count`` validated demo signatures over the last three weeks, unless
    the campaign has some already; returns how many were added (flush only)."""
    if current_app.config["REDIS_URL"]:
        raise DemoRefused("demo signatures are never made in production")
    existing = db.session.execute(
        select(func.count())
        .select_from(Signature)
        .where(Signature.campaign_id == campaign.id, Signature.source == SignatureSource.demo)
    ).scalar_one()
    if existing:
        return 0
    rng = random.Random(f"{seed}:{campaign.slug}")  # noqa: S311 (made-up data, reproducible)
    ring = keyring()
    now = utcnow()
    places = [p for p in PLACES for _ in range(p[2])]
    rows = []
    for _ in range(count):
        country, city, _weight = rng.choice(places)
        # More signatures in the last days, as a campaign picks up.
        when = now - timedelta(minutes=int(21 * 24 * 60 * rng.random() ** 1.6))
        name = f"{rng.choice(FIRST_NAMES)} {rng.choice(FAMILY_NAMES)}"
        # Drawn in this order, so that a seed makes the same signatures.
        signature_uuid = uuid.UUID(int=rng.getrandbits(128))
        digest = fingerprint("demo", str(uuid.UUID(int=rng.getrandbits(128))))
        answers = Choices(
            country=country,
            amount=rng.choice((1, 1, 1, 2, 3, 5)) if campaign.is_pledge else None,
            show_name=rng.random() < 0.5,
            deliver_name=rng.random() < 0.4,
        )
        rows.append(
            signature_row(
                campaign,
                answers,
                source=SignatureSource.demo,
                personal=PersonalData(name=name, email=None, phone=None, region=city),
                fingerprint=digest,
                locale=rng.choice(("ar", "ar", "en")),
                ring=ring,
                signature_uuid=signature_uuid,
                created_at=when - timedelta(minutes=3),
                checked_at=when - timedelta(minutes=2),
                validated_at=when,
            )
        )
    db.session.execute(insert(Signature), rows)
    return count
