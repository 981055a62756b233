# ruff: noqa
# Fixture for semgrep's test mode (make audit): `ruleid:` lines must be found, `ok:` lines not.
from flask import Blueprint, current_app, request, send_file, send_from_directory

bp = Blueprint("files", __name__)


@bp.get("/download")
def download():
    name = request.args.get("name", "")
    # ruleid: send-file-request-data
    return send_file("exports/" + name)


@bp.get("/files/<path:filename>")
def files(filename):
    # ruleid: send-file-request-data
    return send_from_directory(current_app.instance_path, filename)


@bp.get("/favicon.ico")
def favicon():
    # ok: send-file-request-data
    return send_from_directory(current_app.static_folder, "favicon.ico")
