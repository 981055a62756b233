"""Figures for partners as CSV: totals per country, per region and per day,
read from the count tables only (never from signatures), small buckets merged
as on the public results."""

from __future__ import annotations

from flask_babel import gettext
from sqlalchemy import select

from ..counting.services import campaign_count, country_breakdown
from ..extensions import db
from ..models import Campaign, DailyCount
from ..results.services import region_breakdown
from ..signing.countries import country_name
from ..signing.regions import OTHER, region_name
from .spreadsheet import Cell


def aggregate_rows(campaign: Campaign, lang: str) -> list[list[Cell]]:
    """One row per figure: what it is, its codes, its name in ``lang``, signers, total."""
    rows: list[list[Cell]] = [
        [
            gettext("Breakdown"), gettext("Country"), gettext("Region"), gettext("Day"),
            gettext("Name"), gettext("Signers"), gettext("Total"),
        ]
    ]
    count = campaign_count(campaign.id)
    rows.append([gettext("All"), "", "", "", "", count.signers, count.total])
    for bucket in country_breakdown(campaign.id):
        code = str(bucket["country"])
        name = gettext("Other countries") if code == OTHER else country_name(code, lang)
        rows.append([gettext("Country"), code, "", "", name, bucket["signers"], bucket["total"]])
    for country, regions in region_breakdown(campaign.id).items():
        for bucket in regions:
            code = str(bucket["region"])
            name = gettext("Other regions") if code == OTHER else region_name(code, lang)
            rows.append(
                [gettext("Region"), country, code, "", name, bucket["signers"], bucket["total"]]
            )
    for day, signers, total in db.session.execute(
        select(DailyCount.day, DailyCount.signers, DailyCount.total)
        .where(DailyCount.campaign_id == campaign.id, DailyCount.signers != 0)
        .order_by(DailyCount.day)
    ):
        rows.append([gettext("Day"), "", "", day.isoformat(), "", signers, total])
    return rows
