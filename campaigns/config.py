"""Configuration: everything comes from the environment; with nothing set the
app runs on its embedded default (SQLite in ``instance/``, tasks in-process,
mail written to a local outbox folder)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, ClassVar
from urllib.parse import urlsplit

ROOT = Path(__file__).resolve().parent.parent
INSTANCE = Path(os.environ.get("ZAYTOUN_INSTANCE", ROOT / "instance"))


def _bool(name: str, default: bool = False) -> bool:
    value = os.environ.get(name)
    if value is None:
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def _int(name: str, default: int) -> int:
    value = os.environ.get(name)
    return int(value) if value else default


def _float(name: str, default: float) -> float:
    value = os.environ.get(name)
    return float(value) if value else default


def _database_url(url: str) -> str:
    # psycopg 3 is the driver; accept the plain postgres:// URLs hosts hand out.
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    return url


def _list(name: str) -> list[str]:
    return [item.strip() for item in os.environ.get(name, "").split(",") if item.strip()]


# Big webmail providers: hundreds of signers a quarter hour from gmail.com is a
# popular campaign, not an attack (trending detection leaves them out).
COMMON_DOMAINS = (
    "gmail.com",
    "hotmail.com",
    "outlook.com",
    "live.com",
    "yahoo.com",
    "icloud.com",
    "me.com",
    "aol.com",
    "proton.me",
    "protonmail.com",
    "gmx.de",
    "web.de",
    "mail.ru",
    "yandex.ru",
    "yandex.com",
)

LOOPBACK_HOSTS = ("127.0.0.1", "localhost")


def trusted_hosts(site_url: str, extra: list[str]) -> list[str]:
    """The Host names a request may carry: SITE_URL's, and the extra ones
    (other names of the site, a load balancer's health check). A site on
    loopback (the embedded default) answers to both loopback names."""
    host = (urlsplit(site_url).hostname or "").lower()
    hosts = [*LOOPBACK_HOSTS] if host in LOOPBACK_HOSTS else [host]
    return list(dict.fromkeys([*hosts, *(h.lower() for h in extra)]))


def from_environment() -> dict[str, Any]:
    """Build the configuration mapping from environment variables."""
    instance = Path(os.environ.get("ZAYTOUN_INSTANCE", INSTANCE))
    database_url = os.environ.get("DATABASE_URL") or f"sqlite:///{instance / 'zaytoun.sqlite3'}"
    redis_url = os.environ.get("REDIS_URL", "")
    config: dict[str, Any] = {
        "INSTANCE_PATH": str(instance),
        "SECRET_KEY": os.environ.get("SECRET_KEY", ""),
        "PERSONAL_DATA_KEY": os.environ.get("PERSONAL_DATA_KEY", ""),
        # The Ed25519 seed (url-safe base64, 32 bytes) that signs the ledger's tree heads.
        "LEDGER_SIGNING_KEY": os.environ.get("LEDGER_SIGNING_KEY", ""),
        "SQLALCHEMY_DATABASE_URI": _database_url(database_url),
        "REDIS_URL": redis_url,
        # Without a broker the tasks run in-process, right after the commit.
        "TASKS_EAGER": not redis_url,
        "EMBEDDED_SCHEDULER": not redis_url,
        "MAIL_SERVER": os.environ.get("MAIL_SERVER", ""),
        "MAIL_PORT": _int("MAIL_PORT", 25),
        "MAIL_USERNAME": os.environ.get("MAIL_USERNAME", ""),
        "MAIL_PASSWORD": os.environ.get("MAIL_PASSWORD", ""),
        "MAIL_USE_TLS": _bool("MAIL_USE_TLS"),
        "MAIL_USE_SSL": _bool("MAIL_USE_SSL"),
        "MAIL_TIMEOUT": _int("MAIL_TIMEOUT", 10),
        "MAIL_DEFAULT_SENDER": os.environ.get(
            "MAIL_DEFAULT_SENDER", "Zaytoun <no-reply@zaytoun.localhost>"
        ),
        # The sender's display name on every email about a sensitive campaign
        # (the address stays MAIL_DEFAULT_SENDER's): it must name neither the
        # union nor the site.
        "MAIL_NEUTRAL_SENDER_NAME": os.environ.get("MAIL_NEUTRAL_SENDER_NAME", "Notifications"),
        "MAIL_OUTBOX_DIR": os.environ.get("MAIL_OUTBOX_DIR", str(instance / "mail")),
        "MAIL_ECHO": _bool("MAIL_ECHO", default=not os.environ.get("MAIL_SERVER")),
        # Where the privacy page tells signers to ask for their data to be deleted.
        "PRIVACY_CONTACT": os.environ.get("PRIVACY_CONTACT", "privacy@zaytoun.localhost"),
        # Links in emails: the public origin of the site.
        "SITE_URL": os.environ.get("SITE_URL", "http://127.0.0.1:5000").rstrip("/"),
        # Host names answered besides SITE_URL's (create_app adds that one):
        # any other Host gets a 400, so no redirect or link reflects it.
        "TRUSTED_HOSTS": _list("TRUSTED_HOSTS"),
        "LANGUAGES": os.environ.get("LANGUAGES", "ar,ku,tr,en").split(","),
        "SESSION_COOKIE_SECURE": _bool("SESSION_COOKIE_SECURE"),
        "TRUSTED_PROXIES": _int("TRUSTED_PROXIES", 0),
        "BLOCKED_EMAIL_DOMAINS": [
            d.strip().lower() for d in os.environ.get("BLOCKED_EMAIL_DOMAINS", "").split(",") if d
        ],
        # Rate rules per client (keyed IP hash) and campaign.
        "RATE_BURST_LIMIT": _int("RATE_BURST_LIMIT", 10),
        "RATE_BURST_SECONDS": _int("RATE_BURST_SECONDS", 60),
        "RATE_SUSTAINED_LIMIT": _int("RATE_SUSTAINED_LIMIT", 50),
        "RATE_SUSTAINED_SECONDS": _int("RATE_SUSTAINED_SECONDS", 3600),
        # Over these a signature is held for review, not lost (docs/review.md).
        # A wave of this many from one address within RATE_BURST_SECONDS is
        # plainly automated: marked fraudulent silently, whatever the network.
        "RATE_WAVE_LIMIT": _int("RATE_WAVE_LIMIT", 300),
        # Limits the Tor exit list gets when it is first imported (editable after).
        "TOR_BURST_LIMIT": _int("TOR_BURST_LIMIT", 30),
        "TOR_SUSTAINED_LIMIT": _int("TOR_SUSTAINED_LIMIT", 300),
        # Each process keeps the trusted networks this long (signing matches them).
        "NETWORKS_CACHE_SECONDS": _float("NETWORKS_CACHE_SECONDS", 10),
        # Each process keeps the live source codes this long (signing looks them up).
        "SOURCES_CACHE_SECONDS": _float("SOURCES_CACHE_SECONDS", 5),
        "CONFIRM_TOKEN_MAX_AGE": _int("CONFIRM_TOKEN_MAX_AGE", 60 * 60 * 24 * 30),
        # The code in the confirmation email, counted from signing (signing/codes.py).
        "CONFIRM_CODE_MAX_AGE": _int("CONFIRM_CODE_MAX_AGE", 60 * 60 * 24 * 30),
        # The link to manage (change, withdraw) a signature: dated, so that an
        # old mailbox opened years later cannot act; a new one is a form away.
        "MANAGE_TOKEN_MAX_AGE": _int("MANAGE_TOKEN_MAX_AGE", 60 * 60 * 24 * 180),
        "COUNT_INTERVAL_SECONDS": _float("COUNT_INTERVAL_SECONDS", 0.5),
        "RELAY_INTERVAL_SECONDS": _float("RELAY_INTERVAL_SECONDS", 1),
        # The sweeps that recover lost work, and the email retry schedule (the
        # fault tests shorten them; 0 keeps the built-in lease and staleness).
        "MAIL_DELIVER_SECONDS": _float("MAIL_DELIVER_SECONDS", 15),
        "MAIL_RETRY_SECONDS": _float("MAIL_RETRY_SECONDS", 30),
        "MAIL_LEASE_SECONDS": _float("MAIL_LEASE_SECONDS", 0),
        "REQUEUE_INTERVAL_SECONDS": _float("REQUEUE_INTERVAL_SECONDS", 60),
        "REQUEUE_STALE_SECONDS": _float("REQUEUE_STALE_SECONDS", 0),
        # How often the other periodic jobs run (campaigns/jobs.py).
        "TRENDING_INTERVAL_SECONDS": _float("TRENDING_INTERVAL_SECONDS", 60),
        "CLOSING_INTERVAL_SECONDS": _float("CLOSING_INTERVAL_SECONDS", 60),
        "NOTICES_INTERVAL_SECONDS": _float("NOTICES_INTERVAL_SECONDS", 60),
        "RETENTION_INTERVAL_SECONDS": _float("RETENTION_INTERVAL_SECONDS", 300),
        # How often the ledger appends its batch of count changes and signs a
        # head: the longer, the more confirmations each entry hides among.
        "LEDGER_INTERVAL_SECONDS": _float("LEDGER_INTERVAL_SECONDS", 600),
        # Signers' personal data is erased this many days after their campaign closes.
        "RETENTION_DAYS": _int("RETENTION_DAYS", 180),
        # Two people to open personal data: exporting signatures, showing names
        # in moderation and the delivery document with full names each need a
        # second admin's approval (off only for a union with a single admin),
        # then a one-time grant valid this many seconds.
        "TWO_PERSON_DISCLOSURE": _bool("TWO_PERSON_DISCLOSURE", default=True),
        "DISCLOSURE_USE_SECONDS": _int("DISCLOSURE_USE_SECONDS", 900),
        "DISCLOSURE_COLLECT_SECONDS": _int("DISCLOSURE_COLLECT_SECONDS", 86400),
        # Bulk invalidation: rows per batch; a name-pattern preview decrypts at
        # most this many names, past it, it counts the candidates.
        "INVALIDATION_BATCH_SIZE": _int("INVALIDATION_BATCH_SIZE", 1000),
        "INVALIDATION_PREVIEW_NAME_LIMIT": _int("INVALIDATION_PREVIEW_NAME_LIMIT", 5000),
        # Trending detection: signatures per fixed window from one client or one
        # email domain that flag a burst, over the last lookback.
        "TRENDING_IP_THRESHOLD": _int("TRENDING_IP_THRESHOLD", 20),
        "TRENDING_DOMAIN_THRESHOLD": _int("TRENDING_DOMAIN_THRESHOLD", 200),
        "TRENDING_WINDOW_SECONDS": _int("TRENDING_WINDOW_SECONDS", 600),
        "TRENDING_LOOKBACK_SECONDS": _int("TRENDING_LOOKBACK_SECONDS", 3600),
        "TRENDING_COMMON_DOMAINS": _list("TRENDING_COMMON_DOMAINS") or list(COMMON_DOMAINS),
        # Connections each process keeps to PostgreSQL.
        "DATABASE_POOL_SIZE": _int("DATABASE_POOL_SIZE", 10),
        # Aggregates are shared between requests for this long (0 turns caching off).
        "COUNT_CACHE_SECONDS": _float("COUNT_CACHE_SECONDS", 0.5),
        "RESULTS_CACHE_SECONDS": _float("RESULTS_CACHE_SECONDS", 2),
        # Each process keeps the campaign rows it reads this long (see campaign_cache).
        "CAMPAIGN_CACHE_SECONDS": _float("CAMPAIGN_CACHE_SECONDS", 2),
    }
    return config


class Defaults:
    """Settings that are not environment-dependent."""

    # No pre-ping: it is a round trip on every checkout, as many as a count
    # JSON request needs in all. A connection broken by a database restart
    # fails once (a 503 "try again" page, a task retry) and SQLAlchemy then
    # invalidates the whole pool; recycling keeps idle connections fresh.
    SQLALCHEMY_ENGINE_OPTIONS: ClassVar[dict[str, Any]] = {"pool_recycle": 300}
    SQLALCHEMY_TRACK_MODIFICATIONS = False
    # A signature form is a few hundred bytes; anything near this is an attack.
    MAX_CONTENT_LENGTH = 64 * 1024
    MAX_FORM_MEMORY_SIZE = 64 * 1024
    MAX_FORM_PARTS = 100
    SESSION_COOKIE_HTTPONLY = True
    SESSION_COOKIE_SAMESITE = "Lax"
    SESSION_COOKIE_NAME = "zaytoun"
    WTF_CSRF_TIME_LIMIT = None
    # Pages send "Referrer-Policy: no-referrer" (tokens in paths stay out of
    # logs), so browsers post forms with no Referer: Flask-WTF's HTTPS Referer
    # check would refuse them all. The session-bound token is the protection.
    WTF_CSRF_SSL_STRICT = False
    BABEL_DEFAULT_LOCALE = "ar"
    BABEL_DEFAULT_TIMEZONE = "UTC"
    TESTING = False
