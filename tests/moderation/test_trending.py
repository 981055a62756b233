"""Trending detection: bursts from one address or one email domain are
recorded once per window and their signatures flagged for review; ordinary
traffic and big webmail providers are left alone."""

from __future__ import annotations

from datetime import datetime, timedelta
from urllib.parse import parse_qsl, urlsplit

from flask import Flask
from sqlalchemy import select

from campaigns.extensions import db
from campaigns.models import Campaign, Signature, SignatureState, TrendingFlag
from campaigns.models.types import utcnow
from campaigns.moderation.services import accept_signature
from campaigns.moderation.trending import _window_start, detect_trending_signatures
from campaigns.privacy.crypto import hash_email_domain, hash_ip
from campaigns.tasks import beat_schedule

from .support import fresh, logged_in, make_console, signature

BOT_IP = "192.0.2.50"


def traffic(campaign: Campaign, start: datetime) -> dict[str, list[Signature]]:
    """A burst from one address, a burst from one small domain, and ordinary
    signing (a busy household, gmail.com, scattered domains) in one window."""
    seq = iter(range(10_000))

    def sign(ip: str, domain: str | None = None, **fields: object) -> Signature:
        n = next(seq)
        return signature(
            campaign,
            state=fields.pop("state", SignatureState.validated),
            ip=ip,
            email=f"s{n}@{domain or f'd{n}.example'}",
            created_at=fields.pop("created_at", start + timedelta(seconds=n)),
            **fields,
        )

    return {
        "ip_burst": [sign(BOT_IP, state=SignatureState.pending) for _ in range(25)],
        "domain_burst": [sign(f"10.1.0.{i}", "spam.example") for i in range(8)],
        "household": [sign("10.2.0.1") for _ in range(10)],
        "gmail": [sign(f"10.3.0.{i}", "gmail.com") for i in range(10)],
        "scattered": [sign(f"10.4.0.{i}") for i in range(5)],
        "last_year": [
            sign(BOT_IP, created_at=start - timedelta(hours=2, seconds=-i)) for i in range(25)
        ],
    }


def flags() -> list[TrendingFlag]:
    db.session.rollback()
    return list(db.session.execute(select(TrendingFlag).order_by(TrendingFlag.kind)).scalars())


def reasons(signatures: list[Signature]) -> set[str | None]:
    return {fresh(Signature, s.id).flag_reason for s in signatures}


def test_bursts_are_flagged_and_ordinary_traffic_is_not(app: Flask) -> None:
    app.config["TRENDING_DOMAIN_THRESHOLD"] = 8
    console = make_console()
    now = utcnow()
    start = _window_start(now - timedelta(minutes=30), 600)
    groups = traffic(console.campaign, start)
    assert detect_trending_signatures(now) == 33
    domain, ip = flags()
    assert (ip.kind, ip.key_hash, ip.count, ip.window_start) == (
        "ip",
        hash_ip(BOT_IP).hex(),
        25,
        start,
    )
    assert (domain.kind, domain.key_hash, domain.count) == (
        "domain",
        hash_email_domain("spam.example").hex(),
        8,
    )
    assert {ip.campaign_id, domain.campaign_id} == {console.campaign.id}
    assert reasons(groups["ip_burst"]) == {"trending_ip"}
    assert reasons(groups["domain_burst"]) == {"trending_domain"}
    for ordinary in ("household", "gmail", "scattered", "last_year"):
        assert reasons(groups[ordinary]) == {None}, ordinary
    # Nothing was invalidated: organizers decide.
    assert {fresh(Signature, s.id).state for s in groups["ip_burst"]} == {SignatureState.pending}


def test_running_again_flags_only_what_is_new(app: Flask) -> None:
    console = make_console()
    now = utcnow()
    start = _window_start(now - timedelta(minutes=30), 600)
    burst = traffic(console.campaign, start)["ip_burst"]
    assert detect_trending_signatures(now) == 25
    assert detect_trending_signatures(now) == 0
    [flag] = flags()
    assert flag.count == 25
    # An organizer looked at one and accepted it: it is not flagged again.
    with app.test_request_context():
        accept_signature(fresh(Signature, burst[0].id))
        db.session.commit()
    assert detect_trending_signatures(now) == 0
    assert fresh(Signature, burst[0].id).flag_reason is None
    # The burst goes on in the same window: the flag grows, the new ones are flagged.
    more = [
        signature(
            console.campaign,
            state=SignatureState.pending,
            ip=BOT_IP,
            email=f"late{i}@late{i}.example",
            created_at=start + timedelta(minutes=5, seconds=i),
        )
        for i in range(3)
    ]
    assert detect_trending_signatures(now) == 3
    [flag] = flags()
    assert flag.count == 28
    assert reasons(more) == {"trending_ip"}
    assert fresh(Signature, burst[0].id).flag_reason is None


def test_the_trending_page_shows_bursts_and_prefills_an_invalidation(app: Flask) -> None:
    app.config["TRENDING_DOMAIN_THRESHOLD"] = 8
    console = make_console()
    now = utcnow()
    start = _window_start(now - timedelta(minutes=30), 600)
    traffic(console.campaign, start)
    detect_trending_signatures(now)
    ip_hash = hash_ip(BOT_IP).hex()

    organizer = logged_in(app, console.organizer)
    page = organizer.get("/console/moderation/trending").get_data(as_text=True)
    assert ip_hash[:12] in page and ip_hash not in page.replace(f"ip_hash={ip_hash}", "")
    assert "spam.example" not in page  # the domain is for admins only
    link = f"ip_hash={ip_hash}"
    assert link in page
    href = next(part for part in page.split('"') if link in part).replace("&amp;", "&")
    prefilled = organizer.get(href, headers={"Accept-Language": "en"})
    assert prefilled.status_code == 200
    assert f'value="{ip_hash}"' in prefilled.get_data(as_text=True)
    # Its Preview button: the burst's hash is one an organizer may use.
    fields = dict(parse_qsl(urlsplit(href).query))
    preview = organizer.post(
        urlsplit(href).path, data={**fields, "action": "preview"}, headers={"Accept-Language": "en"}
    )
    assert "25 signatures meet these conditions now." in preview.get_data(as_text=True)

    admin = logged_in(app, console.admin, console)
    assert "spam.example" in admin.get("/console/moderation/trending").get_data(as_text=True)
    other = logged_in(app, console.other_organizer).get("/console/moderation/trending")
    assert ip_hash[:12] not in other.get_data(as_text=True)
    # The flagged signatures wait in the review list.
    queue = organizer.get("/console/moderation").get_data(as_text=True)
    assert queue.count("/accept") == 33


def test_detection_runs_every_minute_in_the_beat_schedule(app: Flask) -> None:
    schedule = beat_schedule(app)["detect-trending-signatures"]
    assert schedule["task"] == "zaytoun.detect_trending_signatures"
    assert schedule["schedule"] == 60.0
    assert schedule["task"] in app.extensions["celery"].tasks
    # Invalidations whose task was lost are handed back by the one stale-work sweep.
    assert "zaytoun.requeue_stale_work" in app.extensions["celery"].tasks
