"""The machine's real services for tests: PostgreSQL and Redis on loopback.

A missing service skips its tests with a visible reason on a developer's
machine, and fails them with a clear message when CI=true."""

from __future__ import annotations

import os
import socket

import pytest

POSTGRES_ADMIN_URL = os.environ.get(
    "TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
)
REDIS_HOST = os.environ.get("TEST_REDIS_HOST", "127.0.0.1")
REDIS_PORT = int(os.environ.get("TEST_REDIS_PORT", "6379"))


def _reachable(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=1):
            return True
    except OSError:
        return False


def require_service(name: str, host: str, port: int) -> None:
    if _reachable(host, port):
        return
    message = f"{name} is not reachable on {host}:{port}; start it (see README, 'Testing')"
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(f"CI=true and {message}", pytrace=False)
    pytest.skip(message)


def require_postgres() -> None:
    require_service("PostgreSQL", "127.0.0.1", 5432)


def require_redis() -> None:
    require_service("Redis", REDIS_HOST, REDIS_PORT)
