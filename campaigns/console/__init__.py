"""The organizer console (``/console``): one blueprint per feature, all behind
login; see ``access.py`` for who may do what."""

from __future__ import annotations

import importlib

from flask import Flask

# Each module holds a blueprint ``bp`` and may define ``register_cli(app)``.
FEATURES = (
    "campaigns.console.auth",
    "campaigns.console.campaigns",
    "campaigns.console.images",
    "campaigns.console.admin",
    "campaigns.console.moderation",
    "campaigns.console.networks",
    "campaigns.console.paper",
    "campaigns.console.kiosk",
    "campaigns.console.sheets",
    "campaigns.console.exports",
    "campaigns.console.disclosures",
    "campaigns.console.updates",
    "campaigns.console.outcomes",
    "campaigns.console.preview",
    "campaigns.console.reach",
)


def register(app: Flask) -> None:
    for name in FEATURES:
        module = importlib.import_module(name)
        app.register_blueprint(module.bp)
        if hasattr(module, "register_cli"):
            module.register_cli(app)
