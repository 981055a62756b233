"""A small cache for aggregates: Redis when ``REDIS_URL`` is set (shared by all
web nodes), else the process's own memo. A cache failure never fails a page:
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


class RedisCache:
    def __init__(self, url: str) -> None:
        self._client = redis.Redis.from_url(url, socket_timeout=0.5, socket_connect_timeout=0.5)

    # Redis down or restarting is a miss, and a set that did not happen:
    # whoever reads through the cache computes the value instead.
    def get(self, key: str) -> bytes | None:
        try:
            value = self._client.get(f"zaytoun:cache:{key}")
        except redis.RedisError as exc:
            log.warning("cache unavailable: %s", type(exc).__name__)
            return None
        return value if isinstance(value, bytes) else None

    def set(self, key: str, value: bytes, ttl: float) -> None:
        try:
            self._client.set(f"zaytoun:cache:{key}", value, px=int(ttl * 1000))
        except redis.RedisError as exc:
            log.warning("cache unavailable: %s", type(exc).__name__)

    def clear(self) -> None:
        for key in self._client.scan_iter("zaytoun:cache:*"):
            self._client.delete(key)


class ProcessMemo:
    """Objects kept in this process for a second or two: what every hot
    request would otherwise fetch from PostgreSQL or Redis (the campaign row,
    the site-wide switches, rendered results pages). Each web process has its
    own; a change made elsewhere shows within the entry's time to live."""

    MISSING: Any = object()

    def __init__(self) -> None:
        self._data: dict[str, tuple[float, Any]] = {}
        self._computing: dict[str, threading.Lock] = {}
        self._lock = threading.Lock()

    def get(self, key: str) -> Any:
        item = self._data.get(key)
        if item is None or item[0] < time.monotonic():
            return self.MISSING
        return item[1]

    def set(self, key: str, value: Any, ttl: float) -> None:
        with self._lock:
            if len(self._data) > 1_000:
                self._data.clear()
                self._computing.clear()
            self._data[key] = (time.monotonic() + ttl, value)

    def get_or_compute(self, key: str, ttl: float, compute: Callable[[], Any]) -> Any:
        """The entry, computed by one thread at a time when it is missing: the
        threads that miss together wait for it instead of all computing it."""
        value = self.get(key)
        if value is not self.MISSING:
            return value
        with self._lock:
            key_lock = self._computing.setdefault(key, threading.Lock())
        with key_lock:
            value = self.get(key)
            if value is self.MISSING:
                value = compute()
                self.set(key, value, ttl)
        return value

    def forget(self, prefix: str) -> None:
        with self._lock:
            for key in [k for k in self._data if k.startswith(prefix)]:
                del self._data[key]


def init_cache(app: Flask) -> None:
    url = app.config["REDIS_URL"]
    app.extensions["zaytoun_cache"] = RedisCache(url) if url else None
    app.extensions["zaytoun_memo"] = ProcessMemo()


def memo() -> ProcessMemo:
    store: ProcessMemo = current_app.extensions["zaytoun_memo"]
    return store


def cache() -> RedisCache | None:
    backend: RedisCache | None = current_app.extensions["zaytoun_cache"]
    return backend


def cached_json(key: str, ttl: float, compute: Callable[[], Any]) -> Any:
    """``compute()``'s JSON-able result, shared for ``ttl`` seconds."""
    if ttl <= 0:
        return compute()
    backend = cache()
    if backend is None:
        # Kept encoded, so that every caller gets its own copy to read.
        encoded = memo().get_or_compute(
            f"json:{key}", ttl, lambda: json.dumps(compute(), separators=(",", ":")).encode()
        )
        return json.loads(encoded)
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
