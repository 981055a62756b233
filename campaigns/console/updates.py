"""Console: updates (in progress)."""

from __future__ import annotations

from flask import Blueprint

bp = Blueprint("console_updates", __name__, url_prefix="/console")
