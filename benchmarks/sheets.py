"""Benchmark of the printed collection sheet (``paper.sheet_pdf``): its PDF's
size and render time, against two baselines measured in the same run on the
same fonts: a blank A4 page made by WeasyPrint, and the delivery document of
the same campaign (no signers yet). Run: ``.venv/bin/python -m benchmarks.sheets``.

It builds the app on a throwaway SQLite database, seeds the two real
campaigns, issues sheets of "We are the olive trees" in Arabic and English,
warms WeasyPrint up once (fonts loaded), then times each document ROUNDS
times and reports the median, and the ratios of the medians."""

from __future__ import annotations

import json
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from sqlalchemy import select

from campaigns import create_app
from campaigns.exports.delivery import collect_delivery, delivery_pdf
from campaigns.exports.pdf import html_pdf
from campaigns.extensions import db
from campaigns.models import Campaign
from campaigns.paper.sheet_pdf import sheets_pdf
from campaigns.paper.sheets import issue_sheets
from campaigns.privacy.keys import generate_key
from campaigns.seed import seed

ROUNDS = 7
BATCH = 10
BLANK = (
    "<!doctype html><html><head><style>@page { size: A4 }</style></head><body><p></p></body></html>"
)


def _timed(make: Callable[[], bytes]) -> dict[str, float]:
    make()  # warm-up: fonts and layout caches
    times, size = [], 0
    for _ in range(ROUNDS):
        started = time.perf_counter()
        size = len(make())
        times.append(time.perf_counter() - started)
    return {"bytes": size, "median_ms": round(statistics.median(times) * 1000, 1)}


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        app = create_app(
            {
                "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp}/bench.sqlite3",
                "INSTANCE_PATH": str(Path(tmp) / "instance"),
                "SECRET_KEY": "bench",
                "PERSONAL_DATA_KEY": generate_key(),
                "REDIS_URL": "",
                "TASKS_EAGER": True,
                "EMBEDDED_SCHEDULER": False,
                "MAIL_SERVER": "",
                "SITE_URL": "https://zaytoun.example",
            }
        )
        with app.test_request_context(base_url="https://zaytoun.example"):
            db.create_all()
            seed()
            db.session.commit()
            campaign = db.session.execute(
                select(Campaign).where(Campaign.slug == "olive-trees-afrin")
            ).scalar_one()
            collector = {"name": "Bench Collector", "phone": None}
            ar = issue_sheets(campaign, count=1, language="ar", collector=collector, user_id=None)
            en = issue_sheets(campaign, count=1, language="en", collector=collector, user_id=None)
            batch = issue_sheets(
                campaign, count=BATCH, language="ar", collector=collector, user_id=None
            )
            db.session.commit()
            figures = {
                "blank A4 page": _timed(lambda: html_pdf(BLANK)),
                "delivery document (no signers)": _timed(
                    lambda: delivery_pdf(collect_delivery(campaign, lang="ar"))
                ),
                "sheet, Arabic": _timed(lambda: sheets_pdf(campaign, ar)),
                "sheet, English": _timed(lambda: sheets_pdf(campaign, en)),
                f"batch of {BATCH} sheets, Arabic": _timed(lambda: sheets_pdf(campaign, batch)),
            }
    blank = figures["blank A4 page"]["median_ms"]
    delivery = figures["delivery document (no signers)"]["median_ms"]
    print(f"{'document':34} {'bytes':>8} {'median ms':>10} {'× blank':>8} {'× delivery':>11}")
    for name, found in figures.items():
        ms = found["median_ms"]
        print(f"{name:34} {found['bytes']:>8} {ms:>10} {ms / blank:>8.1f} {ms / delivery:>11.2f}")
    if "--json" in sys.argv:
        print(json.dumps(figures))


if __name__ == "__main__":
    main()
