"""The public JSON API as partners and embeds use it: shapes from
docs/ARCHITECTURE and the OpenAPI document, aggregates only, cacheable
(ETag, Cache-Control), readable from any origin."""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from jsonschema_rs import Draft202012Validator
from werkzeug.test import TestResponse

from campaigns.api.openapi import openapi_document
from campaigns.models import CampaignKind, CampaignStatus, SignatureState
from tests.factories import create_campaign, create_signature
from tests.results.support import (
    BY_COUNTRY,
    BY_REGION,
    GOAL,
    PER_DAY,
    SIGNERS,
    Sample,
    count_now,
    make_sample,
)

SUMMARY_KEYS = {
    "slug", "kind", "status", "goal", "unit", "target", "total", "signers", "channels",
    "updated_at",
}
DETAIL_KEYS = SUMMARY_KEYS | {
    "by_country", "by_region", "daily", "milestones", "thresholds", "responses", "deliveries"
}
COUNT_KEYS = {"total", "signers", "goal"}
# Anything that could name, reach or identify a signer.
PERSONAL_KEYS = {
    "name",
    "first_name",
    "full_name",
    "email",
    "phone",
    "city",
    "latest",
    "personal_data",
    "fingerprint",
    "ip",
    "ip_hash",
    "uuid",
    "id",
    "locale",
    "show_name",
    "contact_ok",
}


@pytest.fixture
def sample(app: Flask) -> Sample:
    return make_sample()


def response_schema(path: str, status: str = "200") -> Draft202012Validator:
    operation = openapi_document()["paths"][path]["get"]
    schema = operation["responses"][status]["content"]["application/json"]["schema"]
    return Draft202012Validator(schema, validate_formats=True)


def get_json(client: FlaskClient, url: str, status: int = 200) -> Any:
    response = client.get(url)
    assert response.status_code == status, (url, response.status_code)
    assert response.mimetype == "application/json"
    return response.get_json()


def all_keys(value: Any) -> set[str]:
    if isinstance(value, dict):
        return set(value) | {k for v in value.values() for k in all_keys(v)}
    if isinstance(value, list):
        return {k for v in value for k in all_keys(v)}
    return set()


def is_utc_timestamp(value: str) -> bool:
    parsed = datetime.fromisoformat(value)
    return parsed.utcoffset() == timedelta(0)


# --- Shapes ------------------------------------------------------------------


def test_campaign_list(client: FlaskClient, sample: Sample) -> None:
    closed = create_campaign(status=CampaignStatus.closed, kind=CampaignKind.pledge, goal=None)
    create_campaign(status=CampaignStatus.draft)
    data = get_json(client, "/api/v1/campaigns")
    response_schema("/api/v1/campaigns").validate(data)
    assert set(data) == {"campaigns"}
    by_slug = {c["slug"]: c for c in data["campaigns"]}
    assert set(by_slug) == {sample.campaign.slug, closed.slug}
    for summary in data["campaigns"]:
        assert set(summary) == SUMMARY_KEYS
    assert by_slug[sample.campaign.slug] | {"updated_at": None} == {
        "slug": sample.campaign.slug,
        "kind": "petition",
        "status": "open",
        "goal": GOAL,
        "unit": "signatures",
        "target": {},
        "total": SIGNERS,
        "signers": SIGNERS,
        "channels": [
            {"channel": "online", "signers": SIGNERS},
            {"channel": "paper", "signers": 0},
            {"channel": "in_person", "signers": 0},
        ],
        "updated_at": None,
    }
    assert is_utc_timestamp(by_slug[sample.campaign.slug]["updated_at"])
    assert by_slug[closed.slug] == {
        "slug": closed.slug,
        "kind": "pledge",
        "status": "closed",
        "goal": None,
        "unit": "trees",
        "target": {},
        "total": 0,
        "signers": 0,
        "channels": [],
        "updated_at": None,
    }


def test_campaign_detail(client: FlaskClient, sample: Sample) -> None:
    data = get_json(client, f"/api/v1/campaigns/{sample.campaign.slug}")
    response_schema("/api/v1/campaigns/{slug}").validate(data)
    assert set(data) == DETAIL_KEYS
    assert (data["slug"], data["kind"], data["status"], data["unit"]) == (
        sample.campaign.slug,
        "petition",
        "open",
        "signatures",
    )
    assert (data["goal"], data["total"], data["signers"]) == (GOAL, SIGNERS, SIGNERS)
    assert is_utc_timestamp(data["updated_at"])
    assert data["by_country"] == [
        {"country": code, "signers": n, "total": n} for code, n in BY_COUNTRY
    ]
    assert data["by_region"] == {
        code: [{"region": r, "signers": n, "total": n} for r, n in rows]
        for code, rows in BY_REGION.items()
    }
    # The last 28 days, oldest first, zero-filled.
    days = [sample.today - timedelta(days=n) for n in range(27, -1, -1)]
    assert data["daily"] == [
        {
            "day": day.isoformat(),
            "signers": PER_DAY.get((sample.today - day).days, 0),
            "total": PER_DAY.get((sample.today - day).days, 0),
        }
        for day in days
    ]
    assert data["milestones"] == [
        {"percent": percent, "day": day.isoformat()} for percent, day in sample.milestones.items()
    ]


def test_pledge_detail_counts_units_and_signers(client: FlaskClient, app: Flask) -> None:
    campaign = create_campaign(kind=CampaignKind.pledge, goal=500)
    for amount in (5, 5, 10, 20, 40, 1):
        create_signature(
            campaign,
            state=SignatureState.validated,
            amount=amount,
            country="TR",
            region="Gaziantep",
            region_code="TR-27",
        )
    count_now()
    data = get_json(client, f"/api/v1/campaigns/{campaign.slug}")
    response_schema("/api/v1/campaigns/{slug}").validate(data)
    assert (data["kind"], data["unit"], data["total"], data["signers"]) == (
        "pledge",
        "trees",
        81,
        6,
    )
    assert data["by_country"] == [{"country": "TR", "signers": 6, "total": 81}]
    assert data["by_region"]["TR"] == [{"region": "TR-27", "signers": 6, "total": 81}]
    assert data["milestones"] == []
    assert get_json(client, f"/api/v1/campaigns/{campaign.slug}/count") == {
        "total": 81,
        "signers": 6,
        "goal": 500,
    }


def test_count(client: FlaskClient, sample: Sample) -> None:
    data = get_json(client, f"/api/v1/campaigns/{sample.campaign.slug}/count")
    response_schema("/api/v1/campaigns/{slug}/count").validate(data)
    assert data == {"total": SIGNERS, "signers": SIGNERS, "goal": GOAL}


def test_a_campaign_before_its_first_count(client: FlaskClient, app: Flask) -> None:
    campaign = create_campaign(goal=None)
    create_signature(campaign, state=SignatureState.pending)
    detail = get_json(client, f"/api/v1/campaigns/{campaign.slug}")
    response_schema("/api/v1/campaigns/{slug}").validate(detail)
    assert (detail["total"], detail["signers"], detail["updated_at"]) == (0, 0, None)
    assert detail["by_country"] == [] and detail["milestones"] == []
    assert get_json(client, f"/api/v1/campaigns/{campaign.slug}/count") == {
        "total": 0,
        "signers": 0,
        "goal": None,
    }


def test_openapi_document_describes_the_api(client: FlaskClient, app: Flask) -> None:
    data = get_json(client, "/api/v1/openapi.json")
    assert data["openapi"].startswith("3.1")
    assert set(data["paths"]) == {
        "/api/v1/campaigns",
        "/api/v1/campaigns/{slug}",
        "/api/v1/campaigns/{slug}/count",
        "/api/v1/ledger/key",
        "/api/v1/campaigns/{slug}/ledger",
        "/api/v1/campaigns/{slug}/ledger/heads",
        "/api/v1/campaigns/{slug}/ledger/entries",
        "/api/v1/campaigns/{slug}/ledger/consistency",
        "/api/v1/campaigns/{slug}/ledger/inclusion",
    }
    # Every route of the API blueprint (but the document itself) is described.
    routes = {
        re.sub(r"<(?:\w+:)?(\w+)>", r"{\1}", rule.rule)
        for rule in app.url_map.iter_rules()
        if rule.endpoint.startswith("api.") and rule.endpoint != "api.openapi"
    }
    assert routes == set(data["paths"])


# --- Privacy -----------------------------------------------------------------


def test_no_personal_data_in_any_response(client: FlaskClient, sample: Sample) -> None:
    slug = sample.campaign.slug
    bodies = []
    for url in (
        "/api/v1/campaigns",
        f"/api/v1/campaigns/{slug}",
        f"/api/v1/campaigns/{slug}/count",
    ):
        response = client.get(url)
        assert response.status_code == 200
        keys = all_keys(response.get_json())
        assert not keys & PERSONAL_KEYS, (url, keys & PERSONAL_KEYS)
        bodies.append(response.get_data(as_text=True))
    text = "\n".join(bodies)
    for person in sample.public + sample.private:
        for value in (person.first_name, person.family_name, person.email, person.city):
            assert value not in text, value
    for typed in ("Afrin", "Hidden", "Berlin", "Gaziantep", "example.org"):
        assert typed not in text


# --- Caching headers ---------------------------------------------------------


def cache_control(response: TestResponse) -> dict[str, str]:
    directives = {}
    for part in response.headers["Cache-Control"].split(","):
        key, _, value = part.strip().partition("=")
        directives[key] = value
    return directives


@pytest.mark.parametrize("path", ["", "/{slug}", "/{slug}/count"])
def test_etag_and_conditional_get(client: FlaskClient, sample: Sample, path: str) -> None:
    url = "/api/v1/campaigns" + path.format(slug=sample.campaign.slug)
    first = client.get(url)
    etag = first.headers.get("ETag")
    assert first.status_code == 200 and etag and etag.startswith('"')
    # Same figures, same tag.
    assert client.get(url).headers["ETag"] == etag
    again = client.get(url, headers={"If-None-Match": etag})
    assert again.status_code == 304
    assert again.data == b""
    assert again.headers["ETag"] == etag
    assert again.headers["Access-Control-Allow-Origin"] == "*"
    other = client.get(url, headers={"If-None-Match": '"something-else"'})
    assert other.status_code == 200 and other.data == first.data


@pytest.mark.parametrize(("path", "max_age"), [("", 5), ("/{slug}", 2), ("/{slug}/count", 1)])
def test_cache_control_allows_shared_caches_to_serve_stale(
    client: FlaskClient, sample: Sample, path: str, max_age: int
) -> None:
    response = client.get("/api/v1/campaigns" + path.format(slug=sample.campaign.slug))
    directives = cache_control(response)
    assert "public" in directives
    assert int(directives["max-age"]) == max_age
    assert int(directives["stale-while-revalidate"]) > int(directives["max-age"])
    assert "no-store" not in directives and "private" not in directives


def test_openapi_document_is_cacheable(client: FlaskClient, app: Flask) -> None:
    response = client.get("/api/v1/openapi.json")
    directives = cache_control(response)
    assert int(directives["max-age"]) >= 60 and "stale-while-revalidate" in directives
    assert response.headers.get("ETag")


@pytest.mark.parametrize(
    "path", ["", "/{slug}", "/{slug}/count", "/openapi.json", "/no-such-campaign"]
)
def test_any_origin_may_read(client: FlaskClient, sample: Sample, path: str) -> None:
    url = "/api/v1" + ("/campaigns" + path if path != "/openapi.json" else path)
    response = client.get(
        url.format(slug=sample.campaign.slug), headers={"Origin": "https://partner.example"}
    )
    assert response.headers["Access-Control-Allow-Origin"] == "*"
    # Never with credentials: the API holds nothing private.
    assert "Access-Control-Allow-Credentials" not in response.headers


# --- Errors ------------------------------------------------------------------


@pytest.mark.parametrize("path", ["/no-such-campaign", "/no-such-campaign/count"])
def test_unknown_slug_is_a_json_404(client: FlaskClient, sample: Sample, path: str) -> None:
    data = get_json(client, "/api/v1/campaigns" + path, status=404)
    response_schema("/api/v1/campaigns/{slug}", "404").validate(data)
    assert data == {"error": "not_found"}


@pytest.mark.parametrize(
    "path", ["/api/v1/campaigns/a%2Fb", "/api/v1/campaigns/a%2Fb/count", "/api/v1/campaign"]
)
def test_any_unknown_api_path_is_a_json_404(client: FlaskClient, app: Flask, path: str) -> None:
    response = client.get(path)
    assert response.status_code == 404
    assert response.headers.get("Access-Control-Allow-Origin") == "*"
    assert response.mimetype == "application/json"
    assert response.get_json() == {"error": "not_found"}


def test_draft_campaign_is_a_json_404(client: FlaskClient, app: Flask) -> None:
    draft = create_campaign(status=CampaignStatus.draft)
    create_signature(draft, state=SignatureState.validated)
    count_now()
    for path in ("", "/count"):
        assert get_json(client, f"/api/v1/campaigns/{draft.slug}{path}", 404) == {
            "error": "not_found"
        }


# --- Freshness ---------------------------------------------------------------


def test_count_follows_the_count_job(client: FlaskClient, sample: Sample) -> None:
    url = f"/api/v1/campaigns/{sample.campaign.slug}/count"
    before = client.get(url)
    etag = before.headers["ETag"]
    assert before.get_json()["total"] == SIGNERS
    for _ in range(3):
        create_signature(sample.campaign, state=SignatureState.validated, country="SY")
    # Validated but not yet folded in: the public count is the count tables'.
    assert client.get(url).get_json()["total"] == SIGNERS
    count_now()
    after = client.get(url, headers={"If-None-Match": etag})
    assert after.status_code == 200
    assert after.get_json() == {"total": SIGNERS + 3, "signers": SIGNERS + 3, "goal": GOAL}
    assert after.headers["ETag"] != etag
    detail = get_json(client, f"/api/v1/campaigns/{sample.campaign.slug}")
    assert detail["total"] == SIGNERS + 3
    assert detail["by_country"][0] == {"country": "SY", "signers": 19, "total": 19}
