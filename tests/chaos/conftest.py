"""Fixtures of the fault tests: a Redis database of their own and a way to
start the whole deployment (``deployment.py``) that is always taken down."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.services import REDIS_HOST, REDIS_PORT, require_postgres, require_redis

from .deployment import Deployment

# Redis database 15 is tests/integration's, 9-13 the benchmark's.
REDIS_DB = 8


@pytest.fixture
def chaos_redis_url() -> str:
    require_redis()
    return f"redis://{REDIS_HOST}:{REDIS_PORT}/{REDIS_DB}"


@pytest.fixture
def deploy(
    request: pytest.FixtureRequest, tmp_path: Path, chaos_redis_url: str
) -> Iterator[Callable[..., Deployment]]:
    """``deploy(**options)`` starts a :class:`Deployment` on Redis database 8
    (flushed before and after) and a fresh PostgreSQL database (dropped at
    the end); every child is stopped at teardown, and their logs' tails are
    printed when the test failed."""
    require_postgres()
    started: list[Deployment] = []

    def start(**options: Any) -> Deployment:
        # A test may put something of its own (a proxy) between the nodes and Redis.
        redis_url = options.pop("redis_url", chaos_redis_url)
        site = Deployment(tmp_path / f"site{len(started)}", redis_url, **options)
        started.append(site)
        return site.start()

    yield start
    failed = request.node.rep_call.failed if hasattr(request.node, "rep_call") else True
    for site in started:
        if failed:
            print(f"\n--- logs of the deployment in {site.workdir} ---\n{site.logs_tail(60)}")
        site.stop()


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Any:
    # Lets the fixture above know whether the test itself failed.
    report = yield
    setattr(item, f"rep_{report.when}", report)
    return report
