"""The Alembic history and the models agree, on both engines, and the history
can be walked down to nothing and up again."""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.config import Config
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from flask import Flask, current_app
from flask_migrate import downgrade, upgrade
from sqlalchemy.engine import Connection
from sqlalchemy.exc import IntegrityError

from campaigns import create_app
from campaigns.extensions import db
from campaigns.models import SignatureState
from campaigns.models.types import StrEnumType
from campaigns.signing.validation import validate_signatures
from tests.conftest import ENGINES, _create_postgres_database, _drop_postgres_database, base_config
from tests.factories import create_signature
from tests.models.support import create_campaign
from tests.services import require_postgres


def alembic_config() -> Config:
    config: Config = current_app.extensions["migrate"].migrate.get_config()
    return config


def schema_diff(connection: Connection, metadata: sa.MetaData | None = None) -> list[Any]:
    context = MigrationContext.configure(
        connection, opts={"compare_type": True, "compare_server_default": True}
    )
    return list(compare_metadata(context, metadata if metadata is not None else db.metadata))


def applied_heads() -> set[str]:
    with db.engine.connect() as connection:
        return set(MigrationContext.configure(connection).get_current_heads())


def table_names() -> set[str]:
    return set(sa.inspect(db.engine).get_table_names())


def model_tables() -> set[str]:
    return set(db.metadata.tables)


def check_constraint_names(inspector: sa.Inspector, table: str) -> set[str]:
    return {str(c["name"]) for c in inspector.get_check_constraints(table)}


def assert_schema_matches_models() -> None:
    with db.engine.connect() as connection:
        assert schema_diff(connection) == []
    inspector = sa.inspect(db.engine)
    dialect = db.engine.dialect.name
    for table in db.metadata.sorted_tables:
        # Alembic does not compare check constraints or partial-index
        # predicates: the invariants the database keeps. Compare them here.
        expected_checks = {
            str(c.name) for c in table.constraints if isinstance(c, sa.CheckConstraint)
        }
        assert check_constraint_names(inspector, table.name) == expected_checks, table.name
        reflected = {i["name"]: i for i in inspector.get_indexes(table.name)}
        for index in table.indexes:
            assert index.name in reflected, f"{table.name}.{index.name} missing"
            found = reflected[index.name]
            assert list(found["column_names"]) == [c.name for c in index.columns], index.name
            assert bool(found["unique"]) == bool(index.unique), index.name
            partial = index.dialect_options[dialect]._non_defaults.get("where") is not None
            is_partial = found.get("dialect_options", {}).get(f"{dialect}_where") is not None
            assert is_partial == partial, f"{index.name}: partial index predicate differs"


# --- the session's migrated databases (both engines) -------------------------


def test_one_linear_history_applied_to_head(app: Flask) -> None:
    script = ScriptDirectory.from_config(alembic_config())
    heads = script.get_heads()
    assert len(heads) == 1, f"several heads: {heads}; merge them"
    assert applied_heads() == set(heads)
    # Every revision but the first has a parent: one walkable chain.
    revisions = list(script.walk_revisions())
    assert [r.down_revision for r in revisions].count(None) == 1


def test_models_and_alembic_head_agree(app: Flask) -> None:
    assert table_names() == model_tables() | {"alembic_version"}
    assert_schema_matches_models()


def test_the_comparison_notices_drift(app: Flask) -> None:
    """Guards the test above: a model change without a migration is seen."""
    drifted = sa.MetaData(naming_convention=db.metadata.naming_convention)
    for table in db.metadata.sorted_tables:
        table.to_metadata(drifted)
    drifted.tables["signatures"].append_column(sa.Column("nickname", sa.String(40)))
    sa.Index("ix_outbox_created_at", drifted.tables["outbox"].c.created_at)
    sa.Table("surprise", drifted, sa.Column("id", sa.Integer, primary_key=True))

    with db.engine.connect() as connection:
        diff = schema_diff(connection, drifted)

    kinds = {(entry[0], _subject(entry)) for entry in diff}
    assert ("add_column", "nickname") in kinds
    assert ("add_index", "ix_outbox_created_at") in kinds
    assert ("add_table", "surprise") in kinds


def _subject(entry: Any) -> str:
    kind = entry[0]
    if kind == "add_column":
        return str(entry[3].name)
    return str(entry[1].name)


def test_enum_values_fit_their_columns(app: Flask) -> None:
    for table in db.metadata.sorted_tables:
        for column in table.columns:
            if isinstance(column.type, StrEnumType):
                length = column.type.impl_instance.length  # type: ignore[attr-defined]
                for member in column.type.enum_class:
                    assert len(member.value) <= length, f"{table.name}.{column.name}"


def test_the_migrated_database_enforces_the_states(app: Flask) -> None:
    campaign = create_campaign()
    signature = create_signature(campaign, state=SignatureState.pending)
    with pytest.raises(IntegrityError):
        db.session.execute(
            sa.text("UPDATE signatures SET state = 'approved' WHERE id = :id"),
            {"id": signature.id},
        )
        db.session.flush()
    db.session.rollback()


# --- down to nothing and up again on a fresh database -------------------------


@pytest.fixture(params=ENGINES)
def fresh_app(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Flask]:
    """An app on a new, empty database (not the session's migrated one)."""
    engine = str(request.param)
    name = ""
    if engine == "postgresql":
        require_postgres()
        name = f"zaytoun_migrations_{os.getpid()}_{uuid.uuid4().hex[:6]}"
        url = _create_postgres_database(name)
    else:
        url = f"sqlite:///{tmp_path / 'fresh.sqlite3'}"
    application = create_app(base_config(tmp_path, url))
    try:
        with application.app_context():
            try:
                yield application
            finally:
                db.session.remove()
                db.engine.dispose()
    finally:
        if name:
            _drop_postgres_database(name)


def test_downgrade_to_base_then_upgrade_again(fresh_app: Flask) -> None:
    assert table_names() == set()

    upgrade()
    assert table_names() == model_tables() | {"alembic_version"}
    assert_schema_matches_models()
    campaign = create_campaign()
    create_signature(campaign)
    db.session.remove()

    downgrade(revision="base")
    assert table_names() <= {"alembic_version"}
    assert applied_heads() == set()

    upgrade()
    assert applied_heads() == {ScriptDirectory.from_config(alembic_config()).get_current_head()}
    assert_schema_matches_models()
    # The rebuilt schema works, and starts empty.
    campaign = create_campaign(slug="after-round-trip")
    signature = create_signature(campaign)
    assert signature.id is not None
    assert db.session.scalar(sa.select(sa.func.count()).select_from(sa.table("signatures"))) == 1

    # And the walk can be repeated.
    db.session.remove()
    downgrade(revision="base")
    assert table_names() <= {"alembic_version"}
    upgrade()
    assert_schema_matches_models()


def test_every_step_downgrades_and_upgrades(fresh_app: Flask) -> None:
    script = ScriptDirectory.from_config(alembic_config())
    revisions = [r.revision for r in reversed(list(script.walk_revisions()))]
    for revision in revisions:
        upgrade(revision=revision)
        assert applied_heads() == {revision}
    for revision in reversed(revisions):
        downgrade(revision="-1")
        assert revision not in applied_heads()
    assert applied_heads() == set()
    upgrade()
    assert_schema_matches_models()


def test_running_migrations_leaves_the_app_logs_on(
    app: Flask, caplog: pytest.LogCaptureFixture
) -> None:
    """The ``app`` fixture's database was migrated in this process (Flask-Migrate
    runs migrations/env.py, whose fileConfig() would by default disable every
    logger that already exists, such as the fraud log)."""
    campaign = create_campaign()
    signature = create_signature(campaign, email="bot@mailinator.com")

    with caplog.at_level(logging.INFO, logger="campaigns"):
        validate_signatures([signature.id])

    assert f"signature {signature.id} marked fraudulent" in caplog.text


# --- 0005: the typed region moves into the encrypted blob ----------------------


def _old_signatures_table() -> sa.Table:
    """``signatures`` as revision 0003 left it: today's columns but the new
    consents, plus the clear ``region``."""
    from campaigns.models import Signature

    columns = [
        sa.Column(c.name, c.type)
        for c in Signature.__table__.columns
        if c.name not in {"deliver_name", "consent_version"}
    ]
    return sa.Table("signatures", sa.MetaData(), *columns, sa.Column("region", sa.String(80)))


def _old_row(campaign_id: int, n: int, region: str, blob: bytes | None) -> dict[str, Any]:
    from campaigns.models.types import utcnow

    return {
        "uuid": uuid.uuid4(),
        "campaign_id": campaign_id,
        "state": "validated",
        "source": "web",
        "fingerprint": bytes([n]) * 32,
        "personal_data": blob,
        "country": "SY",
        "region": region,
        "region_code": "SY-HL",
        "show_name": True,
        "contact_ok": False,
        "locale": "ar",
        "created_at": utcnow(),
        "counted": False,
    }


def test_0005_seals_each_region_and_the_downgrade_brings_it_back(fresh_app: Flask) -> None:
    from campaigns.models import PERSONAL_DATA_PURPOSE
    from campaigns.privacy.crypto import decrypt_json, encrypt_json

    upgrade(revision="0003")
    campaign = create_campaign(slug="before-0005")
    old = _old_signatures_table()
    people = [("رنا الحلبي", "عفرين"), ("Azad Xelîl", "Qamişlo"), ("Ahmad", "")]
    blobs = [
        encrypt_json({"name": name, "email": f"p{n}@example.org", "phone": None},
                     PERSONAL_DATA_PURPOSE)
        for n, (name, _region) in enumerate(people)
    ]
    rows = [_old_row(campaign.id, n, region, blobs[n]) for n, (_, region) in enumerate(people)]
    rows.append(_old_row(campaign.id, 9, "", None))  # erased by retention
    db.session.execute(sa.insert(old), rows)
    db.session.commit()
    db.session.remove()

    upgrade(revision="0005")
    columns = {c["name"] for c in sa.inspect(db.engine).get_columns("signatures")}
    assert "region" not in columns
    found = db.session.execute(
        sa.text(
            "SELECT personal_data, deliver_name, consent_version, show_name FROM signatures"
            " ORDER BY id"
        )
    ).all()
    opened = [
        decrypt_json(bytes(row.personal_data), PERSONAL_DATA_PURPOSE) if row.personal_data else None
        for row in found
    ]
    assert [(d["name"], d["region"]) if d else None for d in opened] == [*people, None]
    assert opened[0] is not None and opened[0]["email"] == "p0@example.org"
    # Old rows keep only what their wording covered.
    assert {(bool(r.deliver_name), r.consent_version, bool(r.show_name)) for r in found} == {
        (False, 1, True)
    }
    # The database refuses a consent version nobody was asked.
    with pytest.raises(IntegrityError):
        db.session.execute(sa.text("UPDATE signatures SET consent_version = 7"))
    db.session.rollback()
    db.session.remove()

    downgrade(revision="0003")
    back = db.session.execute(
        sa.text("SELECT personal_data, region FROM signatures ORDER BY id")
    ).all()
    assert [r.region for r in back] == [region for _, region in people] + [""]
    for row in back[:3]:
        assert "region" not in decrypt_json(bytes(row.personal_data), PERSONAL_DATA_PURPOSE)
    db.session.remove()


def test_0019_fills_the_paper_signers_the_count_holds(fresh_app: Flask) -> None:
    from campaigns.counting.services import update_signature_counts
    from campaigns.models import SignatureSource

    upgrade()
    campaign = create_campaign(slug="before-0019")
    other = create_campaign(slug="other-0019")
    for source in (SignatureSource.paper,) * 3 + (SignatureSource.web,) * 2:
        create_signature(campaign, state=SignatureState.validated, source=source)
    create_signature(other, state=SignatureState.validated, source=SignatureSource.paper)
    update_signature_counts()
    # Validated but not yet counted: the count does not hold it yet.
    create_signature(campaign, state=SignatureState.validated, source=SignatureSource.paper)
    db.session.commit()
    ids = campaign.id, other.id
    db.session.remove()

    downgrade(revision="0015_sheets")
    columns = {c["name"] for c in sa.inspect(db.engine).get_columns("campaign_counts")}
    assert "paper_signers" not in columns
    upgrade()
    found = dict(
        db.session.execute(
            sa.text("SELECT campaign_id, paper_signers FROM campaign_counts")
        ).all()
    )
    assert found == {ids[0]: 3, ids[1]: 1}
    db.session.remove()
    # The next run adds the uncounted one to the filled figure.
    update_signature_counts()
    found = dict(
        db.session.execute(
            sa.text("SELECT campaign_id, paper_signers FROM campaign_counts")
        ).all()
    )
    assert found == {ids[0]: 4, ids[1]: 1}


def test_0022_gives_each_sheet_issued_before_it_a_seed_of_its_own(fresh_app: Flask) -> None:
    from campaigns.models import PaperSheet
    from tests.paper.sheets_support import issue_sheet

    upgrade()
    campaign = create_campaign(slug="before-0022")
    issue_sheet(campaign, count=3)
    db.session.remove()
    downgrade(revision="0021_ledger_nodes")
    columns = {c["name"] for c in sa.inspect(db.engine).get_columns("paper_sheets")}
    assert "receipt_seed" not in columns
    upgrade()
    seeds = db.session.execute(sa.select(PaperSheet.receipt_seed)).scalars().all()
    assert len(seeds) == 3 and len(set(seeds)) == 3
    assert all(isinstance(seed, bytes) and len(seed) == 32 for seed in seeds)


# Flask-Migrate is loaded where something migrates, and nowhere else.

MIGRATION_PACKAGES = ("alembic", "flask_migrate", "mako", "pygments")

# Run in a fresh interpreter: this test process has loaded them already.
_FRESH_PROCESS = """
import json, sys

from campaigns import create_app

packages = set(sys.argv[3:])
app = create_app(json.loads(sys.argv[2]))
before = sorted({name.split(".")[0] for name in sys.modules} & packages)
with app.app_context():
    from flask_migrate import upgrade
    from sqlalchemy import inspect
    from campaigns.extensions import db

    upgrade()
    tables = inspect(db.engine).get_table_names()
print(json.dumps({"before": before, "tables": len(tables)}))
"""


def test_building_the_app_loads_no_migration_code_and_upgrade_still_works(
    tmp_path: Path,
) -> None:
    """Alembic, Mako and Pygments are about 12 MB in every web worker and
    Celery process; they load only when something migrates. (The tests'
    conftest imports ``flask_migrate``: the script builds its app alone.)"""
    config = json.dumps(base_config(tmp_path, f"sqlite:///{tmp_path / 'fresh.db'}"))
    done = subprocess.run(
        [sys.executable, "-c", _FRESH_PROCESS, str(tmp_path), config, *MIGRATION_PACKAGES],
        cwd=Path(__file__).resolve().parents[2],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    report = json.loads(done.stdout.strip().splitlines()[-1])
    assert report["before"] == []
    assert report["tables"] == len(db.metadata.tables) + 1  # and alembic_version


def test_flask_db_runs_flask_migrate_commands(tmp_path: Path) -> None:
    app = create_app(base_config(tmp_path, f"sqlite:///{tmp_path / 'cli.db'}"))
    runner = app.test_cli_runner()

    listed = runner.invoke(args=["--help"])
    assert "Perform database migrations." in listed.output
    upgraded = runner.invoke(args=["db", "upgrade"])
    assert upgraded.exit_code == 0, upgraded.output
    with app.app_context():
        head = ScriptDirectory.from_config(alembic_config()).get_current_head()
        assert applied_heads() == {head}
    current = runner.invoke(args=["db", "current"])
    assert current.exit_code == 0, current.output
