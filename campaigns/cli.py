"""Operator commands on the Flask CLI: ``flask campaigns …``, ``flask keys …``."""

from __future__ import annotations

import click
from flask import Flask
from flask.cli import AppGroup
from sqlalchemy import select

from .extensions import db
from .retention.cli import retention_cli

campaigns_cli = AppGroup("campaigns", help="Campaigns and their counts.")
users_cli = AppGroup("users", help="Console accounts.")
keys_cli = AppGroup("keys", help="Secrets.")
jobs_cli = AppGroup("jobs", help="Run the periodic jobs once, by hand.")


DEMO_COUNTS = {"no-russia-on-hrc": 1500, "olive-trees-afrin": 140}


@campaigns_cli.command("seed")
@click.option(
    "--demo",
    is_flag=True,
    help="Also add demo signatures (marked as such; refused in production).",
)
def seed_command(demo: bool) -> None:
    """Create the union, its partners and its campaigns (idempotent)."""
    from .counting.services import update_signature_counts
    from .demo import DemoRefused, seed_demo_signatures
    from .models import Campaign
    from .seed import seed

    created = seed()
    db.session.commit()
    click.echo(f"created: {', '.join(created)}" if created else "nothing to create")
    if not demo:
        return
    for slug, count in DEMO_COUNTS.items():
        campaign = db.session.execute(select(Campaign).where(Campaign.slug == slug)).scalar_one()
        try:
            added = seed_demo_signatures(campaign, count)
        except DemoRefused as exc:
            raise click.ClickException(str(exc)) from exc
        db.session.commit()
        click.echo(f"{slug}: {added} demo signatures added")
    while update_signature_counts(budget_seconds=5):
        pass


@campaigns_cli.command("recount")
@click.argument("slug")
def recount_command(slug: str) -> None:
    """Rebuild a campaign's count tables from its signatures."""
    from .counting.services import recount_signatures
    from .models import Campaign

    campaign = db.session.execute(select(Campaign).where(Campaign.slug == slug)).scalar_one()
    recount_signatures(campaign)
    click.echo(f"recounted {slug}")


def _long_enough(ctx: click.Context, param: click.Parameter, value: str) -> str:
    """A password too short is refused where it is typed: Click asks again
    for a prompted one, and fails a ``--password`` given on the command line."""
    from .accounts.passwords import MIN_LENGTH

    if len(value) < MIN_LENGTH:
        raise click.BadParameter(f"the password needs at least {MIN_LENGTH} characters")
    return value


@users_cli.command("create-admin")
@click.option("--email", prompt=True)
@click.option("--name", prompt=True)
@click.password_option(
    help="At least 12 characters; prompted (twice) when not given.", callback=_long_enough
)
def create_admin_command(email: str, name: str, password: str) -> None:
    """Create an admin of the union. There is no default password: you choose it,
    and the admin must set up a second factor at the first login."""
    from .accounts.passwords import MIN_LENGTH
    from .accounts.services import WeakPassword, create_user
    from .models import Organization, OrganizationKind, Role, User

    if db.session.execute(select(User.id).where(User.email == email.strip().lower())).scalar():
        raise click.ClickException("an account with this email exists")
    union = db.session.execute(
        select(Organization).where(Organization.kind == OrganizationKind.union)
    ).scalar()
    if union is None:
        raise click.ClickException("no union organization: run `flask campaigns seed` first")
    try:
        create_user(email, name, password, Role.admin, union)
    except WeakPassword as exc:
        raise click.ClickException(f"the password needs at least {MIN_LENGTH} characters") from exc
    db.session.commit()
    click.echo(f"admin {email} created; set up the second factor at the first login")


@keys_cli.command("generate")
def generate_command() -> None:
    """Print a new random key for SECRET_KEY, PERSONAL_DATA_KEY or LEDGER_SIGNING_KEY."""
    from .privacy.keys import generate_key

    click.echo(generate_key())


@jobs_cli.command("run")
def run_jobs_command() -> None:
    """Relay the outbox, fold counts and send due emails once."""
    from .counting.services import update_signature_counts
    from .mail.services import deliver_due_emails
    from .outbox import relay_outbox

    click.echo(f"relayed {relay_outbox()}")
    click.echo(f"counted {update_signature_counts()}")
    click.echo(f"emailed {deliver_due_emails()}")


def register_commands(app: Flask) -> None:
    # Retention's operator command lives with the feature that schedules it.
    for group in (campaigns_cli, users_cli, keys_cli, jobs_cli, retention_cli):
        app.cli.add_command(group)
