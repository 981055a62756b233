"""Console: moderation (in progress)."""

from __future__ import annotations

from flask import Blueprint, render_template
from flask.typing import ResponseReturnValue

from .access import MANAGERS, require

bp = Blueprint("console_moderation", __name__, url_prefix="/console")


@bp.get("/moderation")
@require(*MANAGERS)
def index() -> ResponseReturnValue:
    return render_template("console/base.html")
