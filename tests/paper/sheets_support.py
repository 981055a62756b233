"""Collection sheets for the tests that need one: the route walkers, the
authorization matrix and the sheets' own tests."""

from __future__ import annotations

from campaigns.extensions import db
from campaigns.models import Campaign, PaperSheet
from campaigns.paper.sheets import issue_sheets

# Canaries: a collector's name and phone must never reach a log, an export,
# a task message, or a page for anyone but the campaign's managers.
COLLECTOR_NAME = "Canary Collector Nour"
COLLECTOR_PHONE = "+963944555666"


def issue_sheet(
    campaign: Campaign,
    count: int = 1,
    language: str = "ar",
    name: str = COLLECTOR_NAME,
    phone: str | None = COLLECTOR_PHONE,
) -> list[PaperSheet]:
    """Sheets issued to a collector, committed."""
    sheets = issue_sheets(
        campaign,
        count=count,
        language=language,
        collector={"name": name, "phone": phone},
        user_id=None,
    )
    db.session.commit()
    return sheets
