"""The public pages and the JSON read the count tables only: the number of
SQL statements per request is the same for a campaign with 10 signatures as
for one with 200,000."""

from __future__ import annotations

import os
import time
import uuid
from datetime import timedelta
from typing import Any

import pytest
from flask import Flask, current_app
from flask.testing import FlaskClient
from sqlalchemy import insert

from campaigns.counting.services import recount_signatures
from campaigns.extensions import db
from campaigns.models import Campaign, Signature, SignatureSource, SignatureState
from campaigns.models.types import utcnow
from campaigns.privacy.personal import PersonalData, seal_personal_data
from tests.factories import create_campaign, create_signature

from .support import count_now, sql_log, touches_figures

PLACES = [
    ("SY", "SY-HL", "Afrin"),
    ("SY", "SY-ID", "Idlib"),
    ("SY", "SY-HA", "Qamişlo"),
    ("SY", None, "?"),
    ("TR", "TR-27", "Gaziantep"),
    ("TR", "TR-34", "İstanbul"),
    ("TR", "TR-63", "Urfa"),
    ("DE", None, "Berlin"),
    ("LB", None, "Beirut"),
    ("JO", None, "Amman"),
    ("SE", None, "Malmö"),
    ("IQ", None, "Erbil"),
    ("FR", None, "Paris"),
]


def add_signatures(campaign: Campaign, n: int) -> None:
    """``n`` validated signatures in one multi-row INSERT, spread over places
    and the last four weeks; every tenth signer shows their name."""
    blobs = {
        region: seal_personal_data(
            PersonalData(name="Bulk Signer", email=None, phone=None, region=region)
        )
        for _country, _code, region in PLACES
    }
    now = utcnow()
    rows: list[dict[str, Any]] = []
    for i in range(n):
        country, code, region = PLACES[i % len(PLACES)]
        when = now - timedelta(minutes=(i * 7) % (27 * 24 * 60))
        rows.append(
            {
                "uuid": uuid.uuid4(),
                "campaign_id": campaign.id,
                "state": SignatureState.validated,
                "source": SignatureSource.web,
                "fingerprint": os.urandom(32),
                "personal_data": blobs[region],
                "country": country,
                "region_code": code,
                "show_name": i % 10 == 0,
                "contact_ok": False,
                "locale": "ar",
                "created_at": when,
                "checked_at": when,
                "validated_at": when,
                "counted": False,
            }
        )
    db.session.execute(insert(Signature), rows)
    db.session.commit()


def small_campaign() -> Campaign:
    campaign = create_campaign(slug="small")
    for i in range(10):
        create_signature(
            campaign,
            state=SignatureState.validated,
            country="SY" if i % 2 else "TR",
            region_code="SY-HL" if i % 2 else "TR-27",
            show_name=i % 3 == 0,
        )
    count_now()
    return campaign


URLS = {
    "results page": "/ar/campaigns/{slug}/results",
    "count JSON": "/api/v1/campaigns/{slug}/count",
    "campaign JSON": "/api/v1/campaigns/{slug}",
}


def queries_per_request(client: FlaskClient, slug: str) -> dict[str, int]:
    """SQL statements each request issues, each request on a fresh session
    (as on a server, where every request has its own) and with the process's
    copy of the campaign expired (the worst case, once every two seconds)."""
    counts: dict[str, int] = {}
    for name, url in URLS.items():
        seen = set()
        for _ in range(2):
            db.session.remove()
            current_app.extensions["zaytoun_memo"].forget("")
            with sql_log(db.engine) as statements:
                response = client.get(url.format(slug=slug))
            assert response.status_code == 200, (url, response.status_code)
            assert touches_figures(statements), "the figures were not read from the database"
            seen.add(len(statements))
        assert len(seen) == 1, f"{name}: {seen} statements on two identical requests"
        counts[name] = seen.pop()
    return counts


def compare(client: FlaskClient, small: str, big: str, size: int) -> None:
    """Statements per request for the campaigns with slugs ``small`` and ``big``."""
    small_counts = queries_per_request(client, small)
    big_counts = queries_per_request(client, big)
    print(f"\nSQL statements per request on {db.engine.dialect.name}: ")
    for name in URLS:
        print(
            f"  {name:14} 10 signatures: {small_counts[name]:2}   "
            f"{size:,} signatures: {big_counts[name]:2}"
        )
    assert big_counts == small_counts
    # The figures are right, so the big campaign really was read.
    assert client.get(f"/api/v1/campaigns/{big}/count").get_json()["signers"] == size


def test_query_count_does_not_grow_with_signatures(client: FlaskClient, app: Flask) -> None:
    small = small_campaign()
    big = create_campaign(slug="bigger")
    add_signatures(big, 1_000)
    count_now()
    compare(client, small.slug, big.slug, 1_000)


def test_query_count_for_200_000_signatures(
    client: FlaskClient, app: Flask, engine_name: str
) -> None:
    if engine_name != "postgresql":
        pytest.skip("200,000 signatures: PostgreSQL only")
    started = time.monotonic()
    small = small_campaign()
    big = create_campaign(slug="big")
    add_signatures(big, 200_000)
    inserted = time.monotonic()
    recount_signatures(big)
    db.session.expire_all()
    counted = time.monotonic()
    print(f"\ninsert {inserted - started:.1f} s, recount {counted - inserted:.1f} s")
    compare(client, small.slug, big.slug, 200_000)
