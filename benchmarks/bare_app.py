"""The framework ceiling: a bare Flask app served by the same gunicorn
configuration as Zaytoun. Every figure of the benchmark is divided by what
this app does on the same machine in the same run.

``gunicorn -c deploy/gunicorn.conf.py 'benchmarks.bare_app:create_app()'``
"""

from __future__ import annotations

from flask import Flask, redirect, request
from flask.typing import ResponseReturnValue


def create_app() -> Flask:
    app = Flask(__name__)

    @app.get("/")
    def hello() -> ResponseReturnValue:
        return "ok"

    @app.post("/form")
    def post_form() -> ResponseReturnValue:
        # Parse a small form, as the sign view does, and answer 303 as it does.
        fields = request.form
        if not fields.get("email"):
            return "missing email", 422
        return redirect("/thanks", 303)

    return app
