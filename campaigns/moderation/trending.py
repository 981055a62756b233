"""Trending detection: unusual bursts of signatures from one client (keyed IP
hash) or one email domain (keyed domain hash) on a campaign, counted in fixed
windows over the last hour. Each burst is recorded once per window and its
signatures are flagged for organizers to review; nothing is invalidated here
and the signer notices nothing. Domain names are never stored."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from flask import current_app
from sqlalchemy import Integer, cast, extract, func, literal_column, select

from ..counting.services import single_flight
from ..extensions import db
from ..kernel.normalize import InvalidEmail, email_domain
from ..models import Signature, TrendingFlag
from ..models.types import utcnow
from ..privacy.crypto import DecryptionError, hash_email_domain
from ..privacy.personal import read_personal_data
from ..signing.lifecycle import FlagReason, flag
from ..upsert import insert_add

IP, DOMAIN = "ip", "domain"
FLAG_REASONS = {IP: FlagReason.trending_ip, DOMAIN: FlagReason.trending_domain}


def setting(name: str) -> Any:
    return current_app.config[name]


def _key_column(kind: str) -> Any:
    return Signature.ip_hash if kind == IP else Signature.email_domain_hash


def _window_number(window_seconds: int) -> Any:
    """The number of the fixed window a signature's time falls in (epoch / window)."""
    # A literal, not a parameter: PostgreSQL must see the same expression in GROUP BY.
    seconds: Any = literal_column(str(int(window_seconds)))
    if db.session.get_bind().dialect.name == "postgresql":
        return func.floor(extract("epoch", Signature.created_at).op("/")(seconds))
    # Integer division: SQLAlchemy's "/" would make it a true division.
    return cast(func.strftime("%s", Signature.created_at), Integer).op("/")(seconds)


def _window_start(now: datetime, window_seconds: int) -> datetime:
    epoch = int(now.timestamp())
    return datetime.fromtimestamp(epoch - epoch % window_seconds, UTC)


def _bursts(kind: str, since: datetime, window: int, threshold: int) -> list[Any]:
    key = _key_column(kind)
    number = _window_number(window)
    query = (
        select(Signature.campaign_id, key.label("key"), number.label("window"), func.count())
        .where(Signature.created_at >= since, key.is_not(None))
        .group_by(Signature.campaign_id, key, number)
        .having(func.count() >= threshold)
    )
    if kind == DOMAIN:
        common = [hash_email_domain(d) for d in setting("TRENDING_COMMON_DOMAINS")]
        query = query.where(key.not_in(common))
    return list(db.session.execute(query).all())


def _flag_signatures(
    kind: str, campaign_id: int, key: bytes, start: datetime, end: datetime, already: int
) -> int:
    """Flag the burst's signatures beyond the ``already`` seen by an earlier
    run: one an organizer accepted (flag cleared) is not flagged again."""
    in_window = (
        Signature.campaign_id == campaign_id,
        _key_column(kind) == key,
        Signature.created_at >= start,
        Signature.created_at < end,
    )
    first_new = db.session.execute(
        select(Signature.id).where(*in_window).order_by(Signature.id).offset(already).limit(1)
    ).scalar()
    if first_new is None:
        return 0
    return len(flag((*in_window, Signature.id >= first_new), FLAG_REASONS[kind]))


def detect_trending_signatures(now: datetime | None = None) -> int:
    """Periodic job: record bursts over the thresholds in the last hour and
    flag their signatures; returns how many signatures were flagged. Single
    flight; running it again over the same data changes nothing."""
    now = now or utcnow()
    window = int(setting("TRENDING_WINDOW_SECONDS"))
    lookback = timedelta(seconds=int(setting("TRENDING_LOOKBACK_SECONDS")))
    since = _window_start(now - lookback, window)
    flagged = 0
    with single_flight("detect_trending_signatures") as held:
        if not held:
            return 0
        seen = {
            (f.campaign_id, f.kind, f.key_hash, f.window_start): f.count
            for f in db.session.execute(
                select(TrendingFlag).where(TrendingFlag.window_start >= since)
            ).scalars()
        }
        for kind, threshold in (
            (IP, setting("TRENDING_IP_THRESHOLD")),
            (DOMAIN, setting("TRENDING_DOMAIN_THRESHOLD")),
        ):
            for campaign_id, key, number, count in _bursts(kind, since, window, threshold):
                start = datetime.fromtimestamp(int(number) * window, UTC)
                already = seen.get((campaign_id, kind, key.hex(), start), 0)
                if count <= already:
                    continue
                db.session.execute(
                    insert_add(
                        TrendingFlag,
                        ["campaign_id", "kind", "key_hash", "window_start"],
                        [],
                        ("count",),
                    ).values(
                        campaign_id=campaign_id,
                        kind=kind,
                        key_hash=key.hex(),
                        window_start=start,
                        count=count,
                        created_at=now,
                    )
                )
                end = start + timedelta(seconds=window)
                flagged += _flag_signatures(kind, campaign_id, key, start, end, already)
        db.session.commit()
    return flagged


def recent_flags(campaign_ids: list[int] | None, limit: int = 100) -> list[TrendingFlag]:
    """The latest bursts, newest window first; ``campaign_ids`` None is every campaign."""
    query = select(TrendingFlag)
    if campaign_ids is not None:
        query = query.where(TrendingFlag.campaign_id.in_(campaign_ids))
    query = query.order_by(TrendingFlag.window_start.desc(), TrendingFlag.count.desc())
    return list(db.session.execute(query.limit(limit)).scalars())


def window_end(flag: TrendingFlag) -> datetime:
    return flag.window_start + timedelta(seconds=int(setting("TRENDING_WINDOW_SECONDS")))


def sample_domain(flag: TrendingFlag) -> str | None:
    """For admins: the domain of a burst, read from one of its signatures
    (the domain part only)."""
    if flag.kind != DOMAIN:
        return None
    sample = db.session.execute(
        select(Signature)
        .where(
            Signature.campaign_id == flag.campaign_id,
            Signature.email_domain_hash == bytes.fromhex(flag.key_hash),
            Signature.personal_data.is_not(None),
        )
        .limit(1)
    ).scalar()
    if sample is None:
        return None
    try:
        return email_domain(read_personal_data(sample)["email"] or "")
    except (LookupError, DecryptionError, InvalidEmail):
        return None
