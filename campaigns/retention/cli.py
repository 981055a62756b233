"""``flask retention erase <slug>``: erase a campaign's signers' personal data now."""

from __future__ import annotations

import click
from flask.cli import AppGroup
from sqlalchemy import select

from ..extensions import db
from ..models import Campaign
from .services import CampaignStillOpen, check_erasable, erase_campaign, remaining

retention_cli = AppGroup("retention", help="Erasing signers' personal data.")


@retention_cli.command("erase")
@click.argument("slug")
@click.option("--force", is_flag=True, help="Also erase while the campaign is still open.")
def erase_command(slug: str, force: bool) -> None:
    """Erase the personal data of every signature of a campaign (counts stay)."""
    campaign = db.session.execute(
        select(Campaign).where(Campaign.slug == slug)
    ).scalar_one_or_none()
    if campaign is None:
        raise click.ClickException(f"no campaign {slug!r}")
    try:
        check_erasable(campaign, force=force)
    except CampaignStillOpen as exc:
        raise click.ClickException(
            f"{slug} is open: close it first, or pass --force to erase anyway"
        ) from exc
    with click.progressbar(length=remaining(campaign), label=f"erasing {slug}") as bar:
        erased, _done = erase_campaign(campaign, force=force, via="cli", progress=bar.update)
    click.echo(f"erased the personal data of {erased} signatures of {slug}")
