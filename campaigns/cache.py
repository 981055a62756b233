"""A small cache for aggregates: Redis when ``REDIS_URL`` is set (shared by all
web nodes), else a dict in the process. A cache failure never fails a page:
the value is computed instead."""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Callable
from typing import Any

import redis
from flask import Flask, current_app

log = logging.getLogger(__name__)


class LocalCache:
    def __init__(self) -> None:
        self._data: dict[str, tuple[float, bytes]] = {}
        self._lock = threading.Lock()

    def get(self, key: str) -> bytes | None:
        item = self._data.get(key)
        if item is None or item[0] < time.monotonic():
            return None
        return item[1]

    def set(self, key: str, value: bytes, ttl: float) -> None:
        with self._lock:
            if len(self._data) > 10_000:
                self._data.clear()
            self._data[key] = (time.monotonic() + ttl, value)

    def clear(self) -> None:
        self._data.clear()


class RedisCache:
    def __init__(self, url: str) -> None:
        self._client = redis.Redis.from_url(url, socket_timeout=0.5, socket_connect_timeout=0.5)

    def get(self, key: str) -> bytes | None:
        value = self._client.get(f"zaytoun:cache:{key}")
        return value if isinstance(value, bytes) else None

    def set(self, key: str, value: bytes, ttl: float) -> None:
        self._client.set(f"zaytoun:cache:{key}", value, px=int(ttl * 1000))

    def clear(self) -> None:
        for key in self._client.scan_iter("zaytoun:cache:*"):
            self._client.delete(key)


def init_cache(app: Flask) -> None:
    url = app.config.get("REDIS_URL")
    app.extensions["zaytoun_cache"] = RedisCache(url) if url else LocalCache()


def cache() -> LocalCache | RedisCache:
    backend: LocalCache | RedisCache = current_app.extensions["zaytoun_cache"]
    return backend


def cached_json(key: str, ttl: float, compute: Callable[[], Any]) -> Any:
    """``compute()``'s JSON-able result, shared for ``ttl`` seconds."""
    if ttl <= 0:
        return compute()
    backend = cache()
    try:
        hit = backend.get(key)
    except redis.RedisError as exc:
        log.warning("cache unavailable: %s", type(exc).__name__)
        return compute()
    if hit is not None:
        return json.loads(hit)
    value = compute()
    try:
        backend.set(key, json.dumps(value, separators=(",", ":")).encode(), ttl)
    except redis.RedisError as exc:
        log.warning("cache unavailable: %s", type(exc).__name__)
    return value
