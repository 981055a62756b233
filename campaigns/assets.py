"""Static files: fingerprinted URLs cached for a year, and compressed
responses (brotli or gzip) for pages, JSON, styles and scripts."""

from __future__ import annotations

import gzip
import hashlib
from functools import cache
from pathlib import Path
from typing import Any

import brotli
from flask import Flask, Response, current_app, request
from flask_compress import Compress

compress = Compress()
YEAR = 365 * 24 * 3600


@cache
def _fingerprint(folder: str, filename: str) -> str:
    path = Path(folder) / filename
    try:
        return hashlib.sha256(path.read_bytes()).hexdigest()[:12]
    except OSError:
        return ""


def add_fingerprint(endpoint: str, values: dict[str, Any]) -> None:
    """url_for('static', filename=…) gains ?v=<content hash>: a new file, a new URL."""
    if endpoint != "static" or "v" in values or "filename" not in values:
        return
    folder = current_app.static_folder or ""
    version = _fingerprint(folder, values["filename"])
    if version:
        values["v"] = version


def cache_static(response: Response) -> Response:
    if request.endpoint == "static" and response.status_code == 200:
        folder = current_app.static_folder or ""
        filename = (request.view_args or {}).get("filename", "")
        # Fonts carry their version in their name; the rest in ?v=.
        versioned = filename.startswith("fonts/") or (
            request.args.get("v") == _fingerprint(folder, filename)
        )
        if versioned:
            response.headers["Cache-Control"] = f"public, max-age={YEAR}, immutable"
        else:
            response.headers["Cache-Control"] = "public, max-age=300"
    return response


def init_app(app: Flask) -> None:
    app.config.setdefault("COMPRESS_ALGORITHM", ["br", "gzip"])
    # Static files are streamed; Flask-Compress cannot stream gzip, deflate is
    # what a gzip-only client then gets.
    app.config.setdefault("COMPRESS_ALGORITHM_STREAMING", ["br", "deflate"])
    app.config.setdefault("COMPRESS_BR_LEVEL", 5)
    app.config.setdefault("COMPRESS_MIN_SIZE", 500)
    app.config.setdefault(
        "COMPRESS_MIMETYPES",
        [
            "text/html",
            "text/css",
            "text/plain",
            "application/json",
            "application/javascript",
            "text/javascript",
            "image/svg+xml",
        ],
    )
    compress.init_app(app)
    app.url_defaults(add_fingerprint)
    app.after_request(cache_static)


class RenderedPage:
    """An HTML page kept for reuse, with its compressed forms made once each
    on first demand: a page served thousands of times a second is compressed
    once per process and time to live, not once per request (Flask-Compress
    leaves a response that already has a Content-Encoding alone)."""

    def __init__(self, html: str) -> None:
        self.body = html.encode()
        self._encoded: dict[str, bytes] = {}

    def _encode(self, encoding: str) -> bytes:
        if encoding not in self._encoded:
            if encoding == "br":
                level = current_app.config["COMPRESS_BR_LEVEL"]
                self._encoded[encoding] = brotli.compress(self.body, quality=level)
            else:
                self._encoded[encoding] = gzip.compress(self.body, mtime=0)
        return self._encoded[encoding]

    def response(self) -> Response:
        accepted = request.accept_encodings
        encoding = next((e for e in ("br", "gzip") if accepted.quality(e) > 0), None)
        body = self._encode(encoding) if encoding else self.body
        response = Response(body, mimetype="text/html")
        if encoding:
            response.headers["Content-Encoding"] = encoding
        response.vary.add("Accept-Encoding")
        return response
