"""Console: exports (in progress)."""

from __future__ import annotations

from flask import Blueprint

bp = Blueprint("console_exports", __name__, url_prefix="/console")
