# ruff: noqa
# Fixture for semgrep's test mode (make audit): `ruleid:` lines must be found, `ok:` lines not.
from flask import Blueprint

from campaigns.extensions import csrf

bp = Blueprint("console", __name__)
# ruleid: csrf-exempt
csrf.exempt(bp)


# ruleid: csrf-exempt
@csrf.exempt
@bp.post("/campaigns/<slug>/close")
def close(slug):
    return ""


@bp.post("/campaigns/<slug>/open")
# ruleid: csrf-exempt
@csrf.exempt
def reopen(slug):
    return ""


# ok: csrf-exempt
@bp.route("/unsubscribe/<token>", methods=["GET", "POST"])
@csrf.exempt
def unsubscribe_page(token):
    return ""


# ok: csrf-exempt
@bp.post("/campaigns/<slug>/sign")
def sign(slug):
    return ""
