"""The figures are shared between requests for a few seconds: in the process,
or in Redis for all web nodes; a cache that fails never fails a page."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import redis
from flask import Flask

from campaigns import create_app
from campaigns.cache import RedisCache
from campaigns.extensions import db
from campaigns.models import SignatureState
from tests.conftest import base_config
from tests.factories import create_signature
from tests.services import REDIS_HOST, REDIS_PORT, require_redis

from .support import SIGNERS, Sample, count_now, make_sample, sql_log, touches_figures

REDIS_DB = 14
TTL = 30.0


@pytest.fixture
def sample(app: Flask) -> Sample:
    return make_sample()


@pytest.fixture
def make_app(app: Flask, tmp_path: Path) -> Iterator[Any]:
    """Builds more apps on the test's database (same keys), with caching on;
    each is a separate "web node" with its own engine."""
    built: list[Flask] = []

    def make(**config: Any) -> Flask:
        settings = base_config(
            tmp_path / f"node{len(built)}", app.config["SQLALCHEMY_DATABASE_URI"]
        )
        settings.update(
            PERSONAL_DATA_KEY=app.config["PERSONAL_DATA_KEY"],
            RESULTS_CACHE_SECONDS=TTL,
            COUNT_CACHE_SECONDS=TTL,
        )
        settings.update(config)
        node = create_app(settings)
        built.append(node)
        return node

    yield make
    for node in built:
        with node.app_context():
            db.session.remove()
            db.engine.dispose()


@pytest.fixture
def redis_url() -> Iterator[str]:
    require_redis()
    url = f"redis://{REDIS_HOST}:{REDIS_PORT}/{REDIS_DB}"
    client = redis.Redis.from_url(url)
    client.flushdb()
    yield url
    client.flushdb()
    client.close()


URLS = [
    "/ar/campaigns/{slug}/results",
    "/api/v1/campaigns/{slug}",
    "/api/v1/campaigns/{slug}/count",
]


def fetch(node: Flask, url: str) -> tuple[bytes, list[str]]:
    """The body of a GET on ``node`` and the SQL statements it issued."""
    with node.app_context():
        engine = db.engine
    with sql_log(engine) as statements:
        response = node.test_client().get(url)
    assert response.status_code == 200, (url, response.status_code)
    return response.data, list(statements)


def add_signers(sample: Sample, n: int) -> None:
    for _ in range(n):
        create_signature(sample.campaign, state=SignatureState.validated, country="DE")
    count_now()


@pytest.mark.parametrize("url", URLS)
def test_second_request_within_the_ttl_reads_no_figures(
    make_app: Any, sample: Sample, url: str
) -> None:
    node = make_app()
    assert node.extensions["zaytoun_cache"] is None  # no Redis: the process's memo
    url = url.format(slug=sample.campaign.slug)
    first, statements = fetch(node, url)
    assert touches_figures(statements)
    second, statements = fetch(node, url)
    assert touches_figures(statements) == []
    assert second == first


def test_cached_figures_are_reused_until_the_ttl_ends(make_app: Any, sample: Sample) -> None:
    node = make_app(RESULTS_CACHE_SECONDS=1.0, COUNT_CACHE_SECONDS=1.0)
    count_url = f"/api/v1/campaigns/{sample.campaign.slug}/count"
    body, _ = fetch(node, count_url)
    assert f'"total":{SIGNERS}'.encode() in body
    add_signers(sample, 2)
    body, _ = fetch(node, count_url)
    assert f'"total":{SIGNERS}'.encode() in body  # still the cached figures
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        time.sleep(0.25)
        body, statements = fetch(node, count_url)
        if f'"total":{SIGNERS + 2}'.encode() in body:
            assert touches_figures(statements)
            break
    else:
        pytest.fail("the cached count never expired")


def test_redis_cache_is_shared_between_web_nodes(
    make_app: Any, sample: Sample, redis_url: str
) -> None:
    first, second = make_app(REDIS_URL=redis_url), make_app(REDIS_URL=redis_url)
    assert isinstance(first.extensions["zaytoun_cache"], RedisCache)
    assert isinstance(second.extensions["zaytoun_cache"], RedisCache)
    client = redis.Redis.from_url(redis_url)
    slug = sample.campaign.slug
    campaign_url = URLS[1].format(slug=slug)
    try:
        # The results page and the campaign JSON share one entry.
        page, statements = fetch(first, URLS[0].format(slug=slug))
        assert touches_figures(statements)
        # The other node answers from Redis: no figures read from the database.
        for url in URLS[:2]:
            body, statements = fetch(second, url.format(slug=slug))
            assert touches_figures(statements) == [], url
        assert fetch(second, URLS[0].format(slug=slug))[0] == page
        cid = sample.campaign.id
        keys = sorted(k.decode() for k in client.keys("zaytoun:cache:*"))
        assert keys == [f"zaytoun:cache:results:{cid}"]
        assert 0 < client.pttl(f"zaytoun:cache:results:{cid}") <= TTL * 1000
        # New signatures are not seen by either node until the entry expires…
        add_signers(sample, 3)
        body, _ = fetch(second, campaign_url)
        assert f'"total":{SIGNERS}'.encode() in body
        # …or is dropped, and then both see the new figures.
        first.extensions["zaytoun_cache"].clear()
        assert client.keys("zaytoun:cache:*") == []
        body, _ = fetch(second, campaign_url)
        assert f'"total":{SIGNERS + 3}'.encode() in body
        body, statements = fetch(first, campaign_url)
        assert f'"total":{SIGNERS + 3}'.encode() in body and not touches_figures(statements)
    finally:
        client.close()


def test_count_json_is_kept_by_each_process_without_redis(
    make_app: Any, sample: Sample, redis_url: str
) -> None:
    """The count is one row by primary key: each process reads it once per
    ttl and keeps the encoded answer; Redis is never asked for it."""
    first, second = make_app(REDIS_URL=redis_url), make_app(REDIS_URL=redis_url)
    client = redis.Redis.from_url(redis_url)
    url = URLS[2].format(slug=sample.campaign.slug)
    try:
        for node in (first, second):
            body, statements = fetch(node, url)
            assert touches_figures(statements) and f'"total":{SIGNERS}'.encode() in body
            assert fetch(node, url)[0] == body
        assert client.keys("zaytoun:cache:*") == []
        add_signers(sample, 3)
        # Kept until this process forgets it, then read again.
        assert f'"total":{SIGNERS}'.encode() in fetch(first, url)[0]
        first.extensions["zaytoun_memo"].forget("")
        body, statements = fetch(first, url)
        assert touches_figures(statements) and f'"total":{SIGNERS + 3}'.encode() in body
        assert f'"total":{SIGNERS}'.encode() in fetch(second, url)[0]
    finally:
        client.close()


@pytest.mark.parametrize(
    "url", [*URLS[:2], "/embed/{slug}?lang=ar", "/en/campaigns/{slug}/share.png"]
)
def test_pages_render_when_redis_is_unreachable(
    make_app: Any, sample: Sample, url: str, caplog: pytest.LogCaptureFixture
) -> None:
    # Nothing listens on port 1: every cache call fails at once.
    node = make_app(REDIS_URL="redis://127.0.0.1:1/0")
    assert isinstance(node.extensions["zaytoun_cache"], RedisCache)
    url = url.format(slug=sample.campaign.slug)
    for _ in range(2):
        # Not from this process's copy of the page: from Redis, which fails.
        node.extensions["zaytoun_memo"].forget("")
        body, statements = fetch(node, url)
        assert touches_figures(statements)  # computed each time
    if "share.png" not in url:
        assert str(SIGNERS).encode() in body
    assert "cache unavailable" in caplog.text
