"""Mass assignment over every write route of the URL map: each valid
submission of ``routes_support.STEPS`` is posted once clean and once with
extra fields naming columns and privileges (state, role, organization_id,
counts, created_at, fingerprint…), in two identical worlds. Every row each
post adds or changes must be the same both times: no extra field reaches the
database. A new state-changing route without a submission fails the test."""

from __future__ import annotations

import re
from dataclasses import dataclass

import pytest
from flask import Flask

from campaigns.extensions import db

from .routes_support import (
    STEPS,
    Diff,
    Step,
    World,
    actor_clients,
    comparable,
    csrf_token,
    diff,
    logged_in_user,
    make_world,
    quick_delivery_document,
    reset_world,
    snapshot,
    state_changing_routes,
    submit,
)

OLD_DATE = "2001-02-03T04:05:06"
_UUID = re.compile(r"[0-9a-f]{8}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{12}")
# A signer's manage link names their signature (a signed UUID, new in each world).
_MANAGE_TOKEN = re.compile(r"/manage/[^/?#]+")


def extra_fields(world: World) -> dict[str, str]:
    """Names of columns and privileges, with the values an attacker would want."""
    other = world.console.other_campaign
    return {
        "id": "999999",
        "uuid": "00000000-0000-4000-8000-000000000001",
        "state": "validated",
        "status": "open",
        "campaign_id": str(other.id),
        "campaign": other.slug,
        "role": "admin",
        "is_admin": "1",
        "admin": "1",
        "organization_id": str(other.organization_id),
        "organization": str(other.organization_id),
        "count": "1000000",
        "signature_count": "1000000",
        "signers": "1000000",
        "total": "1000000",
        "validated": "1",
        "validated_at": OLD_DATE,
        "fraud": "1",
        "fraud_reason": "blocked_domain",
        "flag_reason": "trending_ip",
        "source": "paper",
        "created_at": OLD_DATE,
        "checked_at": OLD_DATE,
        "fingerprint": "00" * 32,
        "counted": "1",
        "user_id": str(world.console.admin.id),
        "created_by": str(world.console.admin.id),
        "totp_enabled": "1",
        "session_version": "99",
        "active": "0",
        "signing_paused": "1",
        "paused": "1",
        "kind": "pledge",
        "goal": "1",
    }


def extra_variants(world: World) -> list[dict[str, str]]:
    """The extra fields, then (for the long run) other values and spellings
    of them: other states and roles, other truthy words, nested names."""
    first = extra_fields(world)
    other = {
        **first,
        "state": "fraudulent",
        "status": "archived",
        "role": "partner",
        "source": "demo",
        "is_admin": "true",
        "validated": "y",
        "active": "",
        "counted": "true",
        "signing_paused": "on",
        "paused": "on",
        "kind": "petition",
        "campaign_id": str(world.pledge.id),
        "organization_id": str(world.console.partner.organization_id),
    }
    nested = {
        f"{prefix}{name}{suffix}": value
        for name, value in first.items()
        for prefix, suffix in (("signature[", "]"), ("user.", ""))
    }
    return [first, other, nested]


@dataclass
class Outcome:
    step: Step
    status: int
    location: str
    changed: Diff
    user: str | None


def _run(app: Flask, variant: int | None) -> tuple[list[Outcome], int]:
    """Every step on a new world, in order, with the extra fields of
    ``variant`` (None: a clean run); returns the outcomes and how many extra
    fields were sent in all."""
    world = make_world(app)
    clients = actor_clients(app, world)
    extras = extra_variants(world)[variant] if variant is not None else {}
    outcomes = []
    sent = 0
    before = snapshot(comparable)
    with quick_delivery_document():
        for step in STEPS:
            extra = None
            if variant is not None:
                extra = {k: v for k, v in extras.items() if k not in step.fields}
                sent += len(extra)
            client = clients[step.actor]
            response = submit(app, world, client, step, token=csrf_token(client), extra=extra)
            after = snapshot(comparable)
            location = _UUID.sub("<uuid>", response.headers.get("Location", ""))
            location = _MANAGE_TOKEN.sub("/manage/<token>", location)
            changed = diff(before, after)
            outcomes.append(
                Outcome(step, response.status_code, location, changed, logged_in_user(client))
            )
            before = after
    return outcomes, sent


# How many sets of extra fields are tried: the first in `make test`, all of
# them (each on a world of its own) in `make chaos`.
SHORT, LONG = 1, 3


@pytest.mark.parametrize(
    "variants",
    [pytest.param(SHORT, id="short"), pytest.param(LONG, id="long", marks=pytest.mark.chaos)],
)
def test_extra_fields_change_nothing_on_any_write_route(app: Flask, variants: int) -> None:
    app.config["WTF_CSRF_ENABLED"] = True  # as deployed: each post carries its token
    routes = state_changing_routes(app)
    covered = {(step.endpoint, step.method) for step in STEPS}
    assert routes <= covered, f"write routes with no submission in STEPS: {routes - covered}"

    clean, _ = _run(app, None)
    failures: list[str] = []
    sent = 0
    for plain in clean:
        where = f"{plain.step.endpoint} ({plain.step.name})"
        # The clean post must do something, or the comparisons prove nothing.
        if plain.status >= 400:
            failures.append(f"{where}: the clean post answered {plain.status}")
        elif plain.step.reads_only and plain.changed:
            failures.append(f"{where}: a read-only post changed rows")
        elif plain.step.changes_rows and not plain.step.reads_only and not plain.changed:
            failures.append(f"{where}: the clean post changed no row")
    for variant in range(variants):
        reset_world(app)
        dirty, count = _run(app, variant)
        sent += count
        failures += _compare(clean, dirty, variant)
    endpoints = {o.step.endpoint for o in clean}
    print(
        f"\nmass assignment [{db.engine.dialect.name}]: {len(endpoints)} write routes checked "
        f"({len(clean)} submissions x {variants} sets of extra fields, {sent} extra fields "
        f"sent), {len(failures)} failures"
    )
    # Worlds run in lockstep: after a first difference, later steps may differ
    # only because of it.
    assert failures == [], "the first failure is the cause:\n" + "\n".join(failures)


def _compare(clean: list[Outcome], dirty: list[Outcome], variant: int) -> list[str]:
    failures = []
    for plain, tampered in zip(clean, dirty, strict=True):
        step = plain.step
        where = f"{step.endpoint} ({step.name}), extra fields #{variant}"
        if (tampered.status, tampered.location) != (plain.status, plain.location):
            failures.append(
                f"{where}: {tampered.status} {tampered.location!r} with extra fields, "
                f"{plain.status} {plain.location!r} without"
            )
        if tampered.changed != plain.changed:
            failures.append(
                f"{where}: extra fields changed what the post did\n"
                f" clean:\n{plain.changed.describe()}\n with extra fields:\n"
                f"{tampered.changed.describe()}"
            )
        if tampered.user != plain.user:
            failures.append(f"{where}: logged in as {tampered.user}, not {plain.user}")
    return failures
