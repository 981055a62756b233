from __future__ import annotations

import pytest
from flask import Flask

from tests.updates.support import register_unsubscribe_routes


@pytest.fixture(autouse=True)
def _unsubscribe_routes(app: Flask) -> None:
    register_unsubscribe_routes(app)
