"""Where things are on the screen: the two window sizes every public page is
checked at, and the first view (what shows before any scrolling)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from playwright.sync_api import Page

from .conftest import SCREENSHOTS
from .reach_support import PHONE

SIZES: dict[str, dict[str, Any]] = {
    "phone": PHONE,
    "desktop": {"viewport": {"width": 1280, "height": 800}},
}
# The measured positions, kept next to the screenshots for the report.
POSITIONS = SCREENSHOTS.parent / "positions"


def box(page: Page, selector: str) -> dict[str, float]:
    """The first match's box on the page as loaded (before any scrolling)."""
    found = page.locator(selector).first.evaluate(
        """e => { const r = e.getBoundingClientRect();
                  return {x: r.x + scrollX, y: r.y + scrollY,
                          width: r.width, height: r.height}; }"""
    )
    return {k: float(v) for k, v in found.items()}


def in_first_view(page: Page, selector: str) -> bool:
    """Wholly inside the window as it is now, before the person scrolls (the
    browser may have scrolled by itself, to a fragment or a focused element)."""
    where = page.locator(selector).first.evaluate(
        """e => { const r = e.getBoundingClientRect();
                  return [r.x, r.y, r.width, r.height]; }"""
    )
    x, y, width, height = where
    size = page.viewport_size
    assert size is not None
    return bool(
        height > 0 and y >= 0 and y + height <= size["height"] and x >= 0
        and x + width <= size["width"]
    )


def record_position(kind: str, key: str, figures: dict[str, float]) -> None:
    """Add ``figures`` under ``key`` to test-artifacts/positions/<kind>.json."""
    POSITIONS.mkdir(parents=True, exist_ok=True)
    path: Path = POSITIONS / f"{kind}.json"
    data = json.loads(path.read_text(encoding="utf-8")) if path.exists() else {}
    data[key] = {name: round(value) for name, value in figures.items()}
    path.write_text(json.dumps(data, indent=1, sort_keys=True), encoding="utf-8")
