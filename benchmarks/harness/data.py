"""Data the harness writes straight into the benchmark database, with the
app's own code for everything that is not plain SQL (sealing personal data,
fingerprints, client-address hashes, the counts of bulk-loaded rows)."""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from flask import Flask
from sqlalchemy import func, insert, select, text

from campaigns import create_app
from campaigns.extensions import db
from campaigns.kernel.regions import OTHER, REGION_COUNTRIES, match_region
from campaigns.models import (
    CURRENT_CONSENT,
    Campaign,
    EmailKind,
    EmailLog,
    EmailStatus,
    OutboxMessage,
    Signature,
    SignatureSource,
    SignatureState,
)
from campaigns.models.types import utcnow
from campaigns.privacy.crypto import hash_ip, keyring
from campaigns.privacy.personal import PersonalData, seal_personal_data
from campaigns.signing.lifecycle import ROW_COLUMNS, Choices, signature_row
from campaigns.signing.services import email_fingerprint

# Where the bulk-loaded signers live: every bucket holds at least 5 in 1,000
# signatures, so the 1,000 and the 1,000,000 campaigns show the same breakdowns.
PLACES = [
    ("SY", "Aleppo"),
    ("SY", "Idlib"),
    ("SY", "Damascus"),
    ("SY", "Homs"),
    ("TR", "Gaziantep"),
    ("TR", "Istanbul"),
    ("TR", "Hatay"),
    ("DE", "Berlin"),
    ("FR", "Paris"),
    ("GB", "London"),
]
BLOB_POOL = 100


def harness_app(database_url: str, secret_key: str, data_key: str, instance: Path) -> Flask:
    """The app, in the harness's process, on the benchmark database (no broker)."""
    return create_app(
        {
            "SQLALCHEMY_DATABASE_URI": "postgresql+psycopg://" + database_url.split("://", 1)[1],
            "SECRET_KEY": secret_key,
            "PERSONAL_DATA_KEY": data_key,
            "REDIS_URL": "",
            "TASKS_EAGER": True,
            "EMBEDDED_SCHEDULER": False,
            "INSTANCE_PATH": str(instance),
            "MAIL_SERVER": "",
        }
    )


def campaign_id(slug: str) -> int:
    return int(db.session.execute(select(Campaign.id).where(Campaign.slug == slug)).scalar_one())


def client_address(n: int) -> str:
    """A distinct client address per signer, in the IPv6 documentation prefix
    (a header value only: nothing is ever sent there)."""
    return f"2001:db8::{n >> 16:x}:{n & 0xFFFF:x}"


@dataclass(frozen=True)
class Burst:
    first_id: int
    last_id: int
    count: int
    committed_at: float  # time.monotonic()


def insert_pending_burst(slug: str, count: int, tag: str) -> Burst:
    """``count`` new pending signatures and their outbox rows, committed at
    once: what the signing path leaves behind, written in one transaction."""
    campaign = db.session.execute(select(Campaign).where(Campaign.slug == slug)).scalar_one()
    ring = keyring()
    now = utcnow()
    rows: list[dict[str, Any]] = []
    for n in range(count):
        email = f"burst-{tag}-{n}@zaytoun-bench.org"
        rows.append(
            signature_row(
                campaign,
                Choices(country="SY"),
                source=SignatureSource.web,
                personal=PersonalData(
                    name=f"Burst Signer {n}", email=email, phone=None, region="Aleppo"
                ),
                fingerprint=email_fingerprint(email),
                locale="ar",
                ring=ring,
                # No domain hash, as before: with one, trending detection could
                # flag the whole burst in one UPDATE during the measurement.
                canonical_email=None,
                ip_hash=hash_ip(client_address(10_000_000 + n), ring),
                created_at=now,
            )
        )
    ids = db.session.execute(insert(Signature).returning(Signature.id), rows).scalars().all()
    db.session.execute(
        insert(OutboxMessage),
        [{"task": "validate_signature", "object_id": i, "created_at": now} for i in ids],
    )
    db.session.commit()
    committed = time.monotonic()
    return Burst(min(ids), max(ids), len(ids), committed)


def checked_between(slug: str, first_id: int, last_id: int) -> int:
    cid = campaign_id(slug)
    n = db.session.execute(
        select(func.count())
        .select_from(Signature)
        .where(
            Signature.campaign_id == cid,
            Signature.id.between(first_id, last_id),
            Signature.checked_at.is_not(None),
        )
    ).scalar_one()
    db.session.rollback()
    return int(n)


def bulk_load_validated(slug: str, start: int, stop: int) -> None:
    """Signatures ``start`` … ``stop - 1`` of a campaign, validated and counted,
    generated in the database. Their uuid, fingerprint and address hash are
    unique but ordered, unlike real ones: random keys cost a minute of index
    page splits per million rows, and no page measured here reads them."""
    campaign = db.session.execute(select(Campaign).where(Campaign.slug == slug)).scalar_one()
    blobs = [
        seal_personal_data(
            PersonalData(
                name=f"Signer{n} Bulk",
                email=f"bulk-{n}@zaytoun-bench.org",
                phone=None,
                region=PLACES[n % len(PLACES)][1],
            )
        )
        for n in range(BLOB_POOL)
    ]
    countries = [c for c, _ in PLACES]
    codes = [match_region(c, r) for c, r in PLACES]
    # One expression per column a new signature gets (lifecycle.ROW_COLUMNS):
    # a column added there and not here fails the load instead of going unset.
    expressions = {
        "uuid": "CAST(CAST(:key_prefix AS text) || lpad(to_hex(g), 16, '0') AS uuid)",
        "campaign_id": ":cid",
        "state": "'validated'",
        "source": "'web'",
        "fingerprint": "decode(CAST(:key_prefix AS text) || repeat('0', 32)"
        " || lpad(to_hex(g), 16, '0'), 'hex')",
        "personal_data": "(CAST(:blobs AS bytea[]))[1 + g % :nblobs]",
        "country": "(CAST(:countries AS text[]))[1 + g % :nplaces]",
        "region_code": "(CAST(:codes AS text[]))[1 + g % :nplaces]",
        "amount": "CASE WHEN CAST(:pledge AS boolean) THEN 1 + g % 5 END",
        "show_name": "g % 4 = 0",
        "deliver_name": "g % 8 = 0",
        "consent_version": ":consent",
        "contact_ok": "g % 2 = 0",
        "locale": "'ar'",
        "ip_hash": "decode(lpad(to_hex(g), 32, '0'), 'hex')",
        "email_domain_hash": "NULL",
        "created_at": "now() - make_interval(days => (g % 20)::int, mins => 5)",
        "checked_at": "now() - make_interval(days => (g % 20)::int, mins => 4)",
        "validated_at": "now() - make_interval(days => (g % 20)::int, mins => 3)",
        "counted": "true",
        "network_id": "NULL",
        "source_code_id": "NULL",
    }
    db.session.execute(
        text(
            f"""
            INSERT INTO signatures ({", ".join(ROW_COLUMNS)})
            SELECT {", ".join(expressions[column] for column in ROW_COLUMNS)}
            FROM generate_series(CAST(:start AS bigint), CAST(:stop AS bigint) - 1) AS g
            """  # noqa: S608 (our column names and expressions)
        ),
        {
            "cid": campaign.id,
            # Keys grow with g: the indexes take them in order, a million in
            # seconds instead of a minute of random page splits.
            "key_prefix": uuid.uuid4().hex[:16],
            "blobs": blobs,
            "nblobs": len(blobs),
            "countries": countries,
            "codes": codes,
            "nplaces": len(PLACES),
            "pledge": campaign.is_pledge,
            "consent": CURRENT_CONSENT,
            "start": start,
            "stop": stop,
        },
    )
    db.session.commit()


def count_loaded(slug: str) -> None:
    """Rebuild a campaign's count tables from its validated signatures, as
    ``recount_signatures`` sums them. The app's recount first rewrites every
    row to reset its ``counted`` flag (over a minute for a million rows here);
    the bulk-loaded rows are written counted already, so only the sums are
    needed. Nothing else signs on this campaign during the run."""
    cid = campaign_id(slug)
    validated = "campaign_id = :cid AND state = 'validated' AND counted"
    units = "COALESCE(amount, 1)"
    statements = [
        *(
            f"DELETE FROM {table} WHERE campaign_id = :cid"  # noqa: S608 (our table names)
            for table in ("campaign_counts", "country_counts", "region_counts", "daily_counts")
        ),
        f"""INSERT INTO campaign_counts (campaign_id, signers, total, demo_signers, updated_at)
            SELECT :cid, count(*), COALESCE(sum({units}), 0),
                   count(*) FILTER (WHERE source = 'demo'), now()
            FROM signatures WHERE {validated}""",  # noqa: S608 (no user input)
        f"""INSERT INTO country_counts (campaign_id, country, signers, total)
            SELECT :cid, country, count(*), sum({units})
            FROM signatures WHERE {validated} GROUP BY country""",  # noqa: S608
        f"""INSERT INTO region_counts (campaign_id, country, region, signers, total)
            SELECT :cid, country, COALESCE(region_code, :other), count(*), sum({units})
            FROM signatures WHERE {validated} AND country = ANY(:region_countries)
            GROUP BY country, COALESCE(region_code, :other)""",  # noqa: S608
        f"""INSERT INTO daily_counts (campaign_id, day, signers, total)
            SELECT :cid, date(validated_at), count(*), sum({units})
            FROM signatures WHERE {validated} GROUP BY date(validated_at)""",  # noqa: S608
    ]
    params = {"cid": cid, "other": OTHER, "region_countries": list(REGION_COUNTRIES)}
    for statement in statements:
        db.session.execute(text(statement), params)
    db.session.commit()


def vacuum_analyze() -> None:
    """What autovacuum would do after a bulk load, done now rather than in the
    middle of a later measurement."""
    db.session.commit()
    with db.engine.connect() as conn:
        conn.execution_options(isolation_level="AUTOCOMMIT").execute(
            text("VACUUM (ANALYZE) signatures")
        )


def signature_count(slug: str) -> int:
    cid = campaign_id(slug)
    n = db.session.execute(
        select(func.count()).select_from(Signature).where(Signature.campaign_id == cid)
    ).scalar_one()
    db.session.rollback()
    return int(n)


def validated_count(slug: str) -> int:
    cid = campaign_id(slug)
    n = db.session.execute(
        select(func.count())
        .select_from(Signature)
        .where(Signature.campaign_id == cid, Signature.state == SignatureState.validated)
    ).scalar_one()
    db.session.rollback()
    return int(n)


def pipeline_state(slug: str, exclude: tuple[int, int] | None = None) -> dict[str, int]:
    """How far the pipeline got with a campaign's web signatures."""
    cid = campaign_id(slug)
    where = [Signature.campaign_id == cid, Signature.source == SignatureSource.web]
    if exclude is not None:
        where.append(~Signature.id.between(*exclude))
    rows = db.session.execute(
        select(
            func.count(),
            func.count(Signature.checked_at),
            func.count().filter(Signature.state == SignatureState.fraudulent),
            func.count().filter(Signature.state == SignatureState.validated),
        ).where(*where)
    ).one()
    emails = db.session.execute(
        select(
            func.count(),
            func.count().filter(EmailLog.status == EmailStatus.sent),
            func.count(func.distinct(EmailLog.signature_id)),
        )
        .select_from(EmailLog)
        .join(Signature, Signature.id == EmailLog.signature_id)
        .where(*where, EmailLog.kind == EmailKind.confirm)
    ).one()
    outbox = db.session.execute(select(func.count()).select_from(OutboxMessage)).scalar_one()
    db.session.rollback()
    return {
        "stored": int(rows[0]),
        "checked": int(rows[1]),
        "fraudulent": int(rows[2]),
        "validated": int(rows[3]),
        "confirm_emails": int(emails[0]),
        "confirm_emails_sent": int(emails[1]),
        "signatures_emailed": int(emails[2]),
        "outbox": int(outbox),
    }
