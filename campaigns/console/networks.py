"""Admins only: trusted networks (address ranges with their own rate limits)
and the Tor exit list, every change audited. Also
``flask networks import-tor FILE``."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click
from flask import Blueprint, Flask, abort, current_app, redirect, render_template, request, url_for
from flask.cli import AppGroup
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_babel import ngettext
from wtforms import FileField, IntegerField, StringField
from wtforms.validators import DataRequired, InputRequired, Length, NumberRange

from ..extensions import db
from ..forms import Form, accepts_form
from ..i18n import count_text
from ..signing.networks import (
    MAX_TOR_BYTES,
    NetworkRefused,
    add_network,
    list_networks,
    parse_tor_list,
    remove_network,
    replace_tor_exits,
    tor_exit_count,
)
from . import notices
from .access import ADMINS, require, user

bp = Blueprint("console_networks", __name__, url_prefix="/console")

MAX_LIMIT = 1_000_000

REFUSALS = {
    "cidr": _l("Enter a range such as 192.0.2.0/24 or 2001:db8::/48."),
    "too_wide": _l("This range is too wide: at most /8 for IPv4 and /32 for IPv6."),
    "exists": _l("This range is declared already."),
    "limits": _l("The limit per hour must be at least the limit per minute."),
    "wave": _l(
        "The limit per minute must stay below the wave limit, over which "
        "signatures are marked fraudulent."
    ),
    "label": _l("Please give the network a name."),
    "empty": _l("The file holds no address."),
    "too_large": _l("The file is too large."),
    "no_file": _l("Please choose a file."),
}


class WholeNumberField(IntegerField):
    """An integer field whose refusal says what to type, in the site's words."""

    def process_formdata(self, valuelist: list[Any]) -> None:
        try:
            super().process_formdata(valuelist)
        except ValueError:
            raise ValueError(str(WHOLE_NUMBER)) from None


WHOLE_NUMBER = _l("Enter a whole number.")


class NetworkForm(Form):
    cidr = StringField(
        _l("Address range (CIDR)"),
        [DataRequired(message=REFUSALS["cidr"]), Length(max=64, message=REFUSALS["cidr"])],
    )
    label = StringField(
        _l("Name (for example: the union office in Gaziantep)"),
        [DataRequired(message=REFUSALS["label"]), Length(max=100)],
    )
    burst_limit = WholeNumberField(
        _l("Signatures from one address per minute"),
        [
            InputRequired(message=WHOLE_NUMBER),
            NumberRange(min=1, max=MAX_LIMIT, message=_l("Enter a whole number from 1.")),
        ],
    )
    sustained_limit = WholeNumberField(
        _l("Signatures from one address per hour"),
        [
            InputRequired(message=WHOLE_NUMBER),
            NumberRange(min=1, max=MAX_LIMIT, message=_l("Enter a whole number from 1.")),
        ],
    )


class TorListForm(Form):
    file = FileField(_l("Tor exit list (one address a line)"))


def _page(
    form: NetworkForm | None = None, tor_error: str | None = None, status: int = 200
) -> ResponseReturnValue:
    return render_template(
        "console/networks.html",
        networks=list_networks(),
        form=form or NetworkForm(formdata=None),
        tor_form=TorListForm(formdata=None),
        tor_error=tor_error,
        tor_count=tor_exit_count(),
        max_megabytes=MAX_TOR_BYTES // (1024 * 1024),
    ), status


@bp.route("/networks", methods=["GET", "POST"])
@require(*ADMINS)
def index() -> ResponseReturnValue:
    if request.method == "GET":
        return _page()
    form = NetworkForm()
    if form.validate_on_submit():
        try:
            add_network(
                form.cidr.data, form.label.data, form.burst_limit.data,
                form.sustained_limit.data, user(),
            )  # fmt: skip
        except NetworkRefused as refused:
            db.session.rollback()
            field = {"label": form.label, "limits": form.sustained_limit, "wave": form.burst_limit}
            field.get(refused.reason, form.cidr).errors.append(REFUSALS[refused.reason])
        else:
            db.session.commit()
            notices.done(_("The trusted network was added."))
            return redirect(url_for(".index"), 303)
    return _page(form, status=422)


@bp.post("/networks/<int:network_id>/remove")
@require(*ADMINS)
def remove(network_id: int) -> ResponseReturnValue:
    if not remove_network(network_id):
        abort(404)
    db.session.commit()
    notices.done(_("The trusted network was removed: its signatures are checked as usual again."))
    return redirect(url_for(".index"), 303)


def tor_refusal(refused: NetworkRefused) -> str:
    if refused.reason == "lines":
        lines = ", ".join(str(n) for n in refused.lines)
        return ngettext(
            "Line %(lines)s is not an address. Nothing was changed.",
            "Lines %(lines)s are not addresses. Nothing was changed.",
            len(refused.lines),
            lines=lines,
        )
    return str(REFUSALS[refused.reason])


@bp.post("/networks/tor")
@accepts_form(lambda: TorListForm, files=MAX_TOR_BYTES)
@require(*ADMINS)
def tor() -> ResponseReturnValue:
    """Replace the Tor exit list with an uploaded one, whole or not at all."""
    upload = request.files.get("file")
    if upload is None or not upload.filename:
        return _page(tor_error=str(REFUSALS["no_file"]), status=422)
    try:
        addresses = parse_tor_list(upload.read(MAX_TOR_BYTES + 1))
    except NetworkRefused as refused:
        return _page(tor_error=tor_refusal(refused), status=422)
    replace_tor_exits(addresses)
    db.session.commit()
    notices.done(
        count_text(
            "The Tor exit list was replaced: it holds %(num)s address.",
            "The Tor exit list was replaced: it holds %(num)s addresses.",
            len(addresses),
        )
    )
    return redirect(url_for(".index"), 303)


networks_cli = AppGroup("networks", help="Trusted networks.")


@networks_cli.command("import-tor")
@click.argument("path", type=click.Path(exists=True, dir_okay=False, path_type=Path))
def import_tor_command(path: Path) -> None:
    """Replace the Tor exit list with FILE (one address a line, # comments)."""
    with path.open("rb") as handle:
        data = handle.read(MAX_TOR_BYTES + 1)
    # An audit entry reads the request's user: here there is none.
    with current_app.test_request_context():
        try:
            addresses = parse_tor_list(data)
        except NetworkRefused as refused:
            raise click.ClickException(tor_refusal(refused)) from None
        before, after = replace_tor_exits(addresses)
        db.session.commit()
    click.echo(f"Tor exit list replaced: {before} addresses before, {after} now")


def register_cli(app: Flask) -> None:
    app.cli.add_command(networks_cli)
