"""Exports and delivery: figures as CSV for anyone who may view a campaign
(partners included), the delivery document (PDF) for those who manage it,
and the CSV of validated signatures with personal data for admins only.
Also ``flask exports signatures|delivery``."""

from __future__ import annotations

import itertools
import os
from pathlib import Path

import click
from flask import Blueprint, Flask, Response, render_template, request, stream_with_context
from flask.cli import AppGroup
from flask.typing import ResponseReturnValue
from flask_babel import get_locale, gettext
from sqlalchemy import select

from ..accounts.audit import record
from ..accounts.disclosure import two_person_rule
from ..accounts.services import can_manage
from ..exports.aggregates import aggregate_rows
from ..exports.delivery import Delivery, collect_delivery, delivery_pdf
from ..exports.signatures import HEADER, signature_batches, validated_count
from ..exports.spreadsheet import BOM, csv_chunks, csv_download, csv_text
from ..extensions import db
from ..i18n import language_name, languages
from ..models import Campaign, Role
from ..models.types import utcnow
from .access import ADMINS, EVERYONE, MANAGERS, managed_campaign, require, user, viewable_campaign

bp = Blueprint("console_exports", __name__, url_prefix="/console")

# WeasyPrint lays out about 250 named signers a second: past this many the
# document is made on the server with `flask exports delivery`, not in a request.
WEB_DELIVERY_LIMIT = 3000


def _delivery_command(campaign: Campaign) -> str:
    return f"flask exports delivery {campaign.slug} {campaign.slug}.pdf"


def _too_many(campaign: Campaign) -> str:
    command = _delivery_command(campaign)
    return gettext(
        "This campaign has too many named signers to make the document here. "
        "Please ask an operator to run: %(command)s",
        command=command,
    )


def _page(campaign: Campaign, error: str | None = None, status: int = 200) -> ResponseReturnValue:
    manages = can_manage(user(), campaign)
    named = validated_count(campaign.id, named_only=True) if manages else 0
    return render_template(
        "console/exports/index.html",
        campaign=campaign,
        manages=manages,
        is_admin=user().role is Role.admin,
        two_person=two_person_rule(),
        named=named,
        too_many=_too_many(campaign) if named > WEB_DELIVERY_LIMIT else None,
        document_languages=[(code, language_name(code)) for code in languages()],
        error=error,
    ), status


@bp.get("/campaigns/<slug>/exports")
@require(*EVERYONE)
def index(slug: str) -> ResponseReturnValue:
    return _page(viewable_campaign(slug))


@bp.get("/campaigns/<slug>/exports/figures.csv")
@require(*EVERYONE)
def figures(slug: str) -> ResponseReturnValue:
    """Totals per country, region and day: no personal data, for partners too."""
    campaign = viewable_campaign(slug)
    body = BOM + csv_text(aggregate_rows(campaign, _interface_language()))
    return csv_download(body, f"{campaign.slug}-figures.csv")


def _interface_language() -> str:
    # The console has no language in its URLs: names follow the interface's language.
    locale = get_locale()
    return locale.language if locale else "ar"


def _today() -> str:
    return utcnow().strftime("%Y-%m-%d")


def _needs_approval(campaign: Campaign) -> ResponseReturnValue:
    message = gettext(
        "Opening personal data needs a second admin's approval: ask for it below, with your reason."
    )
    return _page(campaign, message, 403)


@bp.post("/campaigns/<slug>/exports/signatures.csv")
@require(*ADMINS)
def signatures(slug: str) -> ResponseReturnValue:
    """Every validated signature with personal data, streamed batch by batch;
    under the two-person rule, only through an approved request."""
    campaign = viewable_campaign(slug)
    if two_person_rule():
        return _needs_approval(campaign)
    return signatures_download(campaign)


def signatures_download(campaign: Campaign, **audit: object) -> ResponseReturnValue:
    """The CSV of validated signatures with personal data; commits its audit entry."""
    record(
        "export_signatures",
        "campaign",
        campaign.id,
        signatures=validated_count(campaign.id),
        **audit,
    )
    db.session.commit()
    batches = itertools.chain([[HEADER]], signature_batches(campaign.id))
    body = stream_with_context(csv_chunks(batches))
    return csv_download(body, f"{campaign.slug}-signatures-{_today()}.csv")


def _audit_delivery(campaign: Campaign, delivery: Delivery, **extra: object) -> None:
    record(
        "delivery_document",
        "campaign",
        campaign.id,
        signers=delivery.signers,
        named=len(delivery.named),
        final_hash=delivery.final,
        lang=delivery.lang,
        **extra,
    )


def delivery_language() -> str:
    lang = request.form.get("lang", "ar")
    return lang if lang in languages() else "ar"


def too_many_named(campaign: Campaign) -> bool:
    return validated_count(campaign.id, named_only=True) > WEB_DELIVERY_LIMIT


@bp.post("/campaigns/<slug>/exports/delivery.pdf")
@require(*MANAGERS)
def delivery(slug: str) -> ResponseReturnValue:
    """The delivery document; its final chain value is kept in the audit log.
    Under the two-person rule, only through an approved request."""
    campaign = managed_campaign(slug)
    if two_person_rule():
        return _needs_approval(campaign)
    if too_many_named(campaign):
        return _page(campaign, _too_many(campaign), 422)
    return delivery_download(campaign, delivery_language(), request.form.get("english") == "1")


def delivery_download(
    campaign: Campaign, lang: str, english: bool, **audit: object
) -> ResponseReturnValue:
    """The delivery document as a download; commits its audit entry."""
    document = collect_delivery(campaign, lang=lang, english=english)
    pdf = delivery_pdf(document)
    _audit_delivery(campaign, document, **audit)
    db.session.commit()
    response = Response(pdf, mimetype="application/pdf")
    filename = f"{campaign.slug}-delivery-{_today()}.pdf"
    response.headers["Content-Disposition"] = f'attachment; filename="{filename}"'
    response.headers["Cache-Control"] = "no-store"
    return response


exports_cli = AppGroup("exports", help="Exports and the delivery document.")


def _campaign(slug: str) -> Campaign:
    campaign = db.session.execute(select(Campaign).where(Campaign.slug == slug)).scalar()
    if campaign is None:
        raise click.ClickException(f"no campaign {slug!r}")
    return campaign


def _private_fd(path: Path) -> int:
    """A file only its owner may read (it may hold personal data), opened for writing."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    os.fchmod(fd, 0o600)  # an existing file would keep its mode otherwise
    return fd


@exports_cli.command("signatures")
@click.argument("slug")
@click.argument("path", type=click.Path(dir_okay=False, path_type=Path))
def signatures_command(slug: str, path: Path) -> None:
    """Write every validated signature, with personal data, to a CSV file.

    Run on the server, this does not ask for a second admin: whoever can run
    it can read the database and its key anyway (docs/threat-model.md)."""
    campaign = _campaign(slug)
    total = validated_count(campaign.id)
    record("export_signatures", "campaign", campaign.id, signatures=total, via="cli")
    db.session.commit()
    with (
        os.fdopen(_private_fd(path), "w", encoding="utf-8", newline="") as out,
        click.progressbar(length=total, label="Exporting") as bar,
    ):
        out.write(BOM + csv_text([HEADER]))
        for batch in signature_batches(campaign.id):
            out.write(csv_text(batch))
            bar.update(len(batch))
    click.echo(f"{total} signatures written to {path} (readable by its owner only)")


@exports_cli.command("delivery")
@click.argument("slug")
@click.argument("path", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--lang", default="ar", show_default=True, help="Language of the document.")
@click.option("--english/--no-english", default=False, help="Add the English text.")
def delivery_command(slug: str, path: Path, lang: str, english: bool) -> None:
    """Make the delivery document (PDF) of a campaign, of any size (without
    the console's two-person rule, like ``exports signatures``)."""
    if lang not in languages():
        raise click.ClickException(f"--lang must be one of {', '.join(languages())}")
    campaign = _campaign(slug)
    click.echo("Reading signatures…")
    document = collect_delivery(campaign, lang=lang, english=english)
    click.echo(f"Laying out {len(document.named)} named signers (about 250 a second)…")
    pdf = delivery_pdf(document)
    with os.fdopen(_private_fd(path), "wb") as out:
        out.write(pdf)
    _audit_delivery(campaign, document, via="cli")
    db.session.commit()
    click.echo(
        f"{path}: {document.signers} signers, {len(document.named)} named; "
        f"final chain value {document.final}"
    )


def register_cli(app: Flask) -> None:
    app.cli.add_command(exports_cli)
