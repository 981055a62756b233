"""Paper signatures: organizers of a campaign (and admins) upload a CSV of
signatures collected in the field, read each import's report, and compare
paper and online figures. Also ``flask paper import <slug> <file.csv>``."""

from __future__ import annotations

from pathlib import Path

import click
from flask import Blueprint, Flask, abort, redirect, render_template, request, url_for
from flask.cli import AppGroup
from flask.typing import ResponseReturnValue
from flask_babel import force_locale
from sqlalchemy import select
from werkzeug.exceptions import RequestEntityTooLarge

from ..accounts.audit import record
from ..counting.services import update_signature_counts
from ..exports.spreadsheet import csv_download
from ..extensions import csrf, db
from ..forms import check_csrf_now
from ..i18n import count_text
from ..models import Campaign, PaperImport
from ..paper.report import (
    COLUMN_HELP,
    entry_reason,
    file_reason,
    outcome_title,
    report_csv,
    rows_by_sheet,
    template_csv,
)
from ..paper.rows import COLUMNS, MAX_BYTES, MAX_ROWS, FileRefused, read_rows
from ..paper.services import (
    ACCEPTED,
    awaiting_confirmation,
    campaign_imports,
    find_import,
    import_paper_signatures,
)
from ..paper.sheets import serial
from . import notices
from .access import MANAGERS, managed_campaign, require, user
from .dashboard import source_counts

bp = Blueprint("console_paper", __name__, url_prefix="/console")

# Room for the multipart envelope and the CSRF field around the file.
UPLOAD_LIMIT = MAX_BYTES + 64 * 1024
# Rows listed on the report page; the CSV has them all.
REPORT_PAGE_ROWS = 1000


def campaign_figures(campaign: Campaign) -> dict[str, int]:
    """Validated signers online, on paper, and together (read live)."""
    sources = source_counts(campaign)
    return {"web": sources["web"], "paper": sources["paper"], "all": sum(sources.values())}


def _page(campaign: Campaign, error: str | None = None, status: int = 200) -> ResponseReturnValue:
    return render_template(
        "console/paper/index.html",
        campaign=campaign,
        figures=campaign_figures(campaign),
        imports=campaign_imports(campaign),
        error=error,
        columns=[(column, COLUMN_HELP[column]) for column in COLUMNS],
        max_megabytes=MAX_BYTES // (1024 * 1024),
        max_rows=MAX_ROWS,
    ), status


@bp.get("/campaigns/<slug>/paper")
@require(*MANAGERS)
def index(slug: str) -> ResponseReturnValue:
    return _page(managed_campaign(slug))


@bp.post("/campaigns/<slug>/paper")
@csrf.exempt  # nosemgrep: csrf-exempt -- checked below, once the larger body limit is set
@require(*MANAGERS)
def upload(slug: str) -> ResponseReturnValue:
    """Import an uploaded CSV, then show its report."""
    campaign = managed_campaign(slug)
    request.max_content_length = UPLOAD_LIMIT
    # Werkzeug holds this to the multipart parser's buffer too (a 64 KiB read
    # plus what is left over), not only to text fields: the site's 64 KiB
    # would refuse any file larger than that.
    request.max_form_memory_size = 1024 * 1024
    try:
        check_csrf_now()
        upload = request.files.get("file")
    except RequestEntityTooLarge:
        reason = file_reason("too_large", {"megabytes": MAX_BYTES // (1024 * 1024)})
        return _page(campaign, reason, 413)
    if upload is None or not upload.filename:
        return _page(campaign, file_reason("no_file", {}), 422)
    try:
        paper_import = import_paper_signatures(
            campaign, upload.read(MAX_BYTES + 1), upload.filename, user_id=user().id
        )
    except FileRefused as refused:
        db.session.rollback()
        status = 413 if refused.reason in {"too_large", "too_many_rows"} else 422
        return _page(campaign, file_reason(refused.reason, refused.params), status)
    _audit(campaign, paper_import)
    db.session.commit()
    update_signature_counts()
    notices.done(
        count_text(
            "The file was imported: %(num)s signature was added. The report lists every row.",
            "The file was imported: %(num)s signatures were added. The report lists every row.",
            paper_import.accepted,
        )
    )
    return redirect(url_for(".report", slug=campaign.slug, import_id=paper_import.id), 303)


def _audit(campaign: Campaign, paper_import: PaperImport) -> None:
    record(
        "paper_import",
        "campaign",
        campaign.id,
        paper_import=paper_import.id,
        accepted=paper_import.accepted,
        duplicates=paper_import.duplicates,
        rejected=paper_import.rejected,
    )


@bp.get("/campaigns/<slug>/paper/template.csv")
@require(*MANAGERS)
def template(slug: str) -> ResponseReturnValue:
    """The CSV to fill in, with the columns and one example row."""
    campaign = managed_campaign(slug)
    return csv_download(template_csv(campaign), f"{campaign.slug}-paper-template.csv")


def _load_import(slug: str, import_id: int) -> tuple[Campaign, PaperImport]:
    campaign = managed_campaign(slug)
    paper_import = find_import(campaign, import_id)
    if paper_import is None:
        abort(404)
    return campaign, paper_import


@bp.get("/campaigns/<slug>/paper/<int:import_id>")
@require(*MANAGERS)
def report(slug: str, import_id: int) -> ResponseReturnValue:
    campaign, paper_import = _load_import(slug, import_id)
    problems = [entry for entry in paper_import.report if entry["outcome"] != ACCEPTED]
    return render_template(
        "console/paper/report.html",
        campaign=campaign,
        paper_import=paper_import,
        problems=problems[:REPORT_PAGE_ROWS],
        more_problems=max(0, len(problems) - REPORT_PAGE_ROWS),
        figures=campaign_figures(campaign),
        awaiting=awaiting_confirmation(paper_import),
        outcome_title=outcome_title,
        entry_reason=entry_reason,
        by_sheet=rows_by_sheet(paper_import),
        serial=lambda number: serial(campaign, number),
    )


@bp.get("/campaigns/<slug>/paper/<int:import_id>/report.csv")
@require(*MANAGERS)
def report_download(slug: str, import_id: int) -> ResponseReturnValue:
    campaign, paper_import = _load_import(slug, import_id)
    return csv_download(
        report_csv(paper_import), f"{campaign.slug}-paper-import-{paper_import.id}-report.csv"
    )


paper_cli = AppGroup("paper", help="Paper signatures.")


@paper_cli.command("import")
@click.argument("slug")
@click.argument("path", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option(
    "--report",
    "report_path",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Also write the per-row report (CSV) to this file.",
)
@click.option("--lang", default="en", show_default=True, help="Language of the reasons.")
def import_command(slug: str, path: Path, report_path: Path | None, lang: str) -> None:
    """Import a CSV of paper signatures (the columns of the console's template)."""
    campaign = db.session.execute(select(Campaign).where(Campaign.slug == slug)).scalar()
    if campaign is None:
        raise click.ClickException(f"no campaign {slug!r}")
    with path.open("rb") as handle:
        data = handle.read(MAX_BYTES + 1)
    with force_locale(lang):
        try:
            rows = len(read_rows(data))
            with click.progressbar(length=rows, label="Importing") as bar:
                paper_import = import_paper_signatures(
                    campaign, data, path.name, user_id=None, progress=bar.update
                )
        except FileRefused as refused:
            raise click.ClickException(file_reason(refused.reason, refused.params)) from None
        _audit(campaign, paper_import)
        db.session.commit()
        update_signature_counts()
        click.echo(
            f"accepted: {paper_import.accepted} "
            f"(waiting for confirmation by email: {awaiting_confirmation(paper_import)}), "
            f"duplicates: {paper_import.duplicates}, rejected: {paper_import.rejected}"
        )
        problems = [e for e in paper_import.report if e["outcome"] != ACCEPTED]
        for entry in problems[:20]:
            click.echo(f"row {entry['row']}: {outcome_title(entry)}: {entry_reason(entry)}")
        if len(problems) > 20:
            click.echo(f"… and {len(problems) - 20} more rows not accepted (see --report)")
        if report_path:
            report_path.write_text(report_csv(paper_import), encoding="utf-8")
            click.echo(f"report written to {report_path}")


def register_cli(app: Flask) -> None:
    app.cli.add_command(paper_cli)
