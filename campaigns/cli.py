"""Operator commands on the Flask CLI: ``flask campaigns …``, ``flask keys …``."""

from __future__ import annotations

import click
from flask import Flask
from flask.cli import AppGroup
from sqlalchemy import select

from .extensions import db

campaigns_cli = AppGroup("campaigns", help="Campaigns and their counts.")
keys_cli = AppGroup("keys", help="Secrets.")
jobs_cli = AppGroup("jobs", help="Run the periodic jobs once, by hand.")


@campaigns_cli.command("seed")
def seed_command() -> None:
    """Create the union, its partners and its campaigns (idempotent)."""
    from .seed import seed

    created = seed()
    db.session.commit()
    click.echo(f"created: {', '.join(created)}" if created else "nothing to create")


@campaigns_cli.command("recount")
@click.argument("slug")
def recount_command(slug: str) -> None:
    """Rebuild a campaign's count tables from its signatures."""
    from .counting.services import recount_signatures
    from .models import Campaign

    campaign = db.session.execute(select(Campaign).where(Campaign.slug == slug)).scalar_one()
    recount_signatures(campaign)
    click.echo(f"recounted {slug}")


@keys_cli.command("generate")
def generate_command() -> None:
    """Print a new random key for SECRET_KEY or PERSONAL_DATA_KEY."""
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
    for group in (campaigns_cli, keys_cli, jobs_cli):
        app.cli.add_command(group)
