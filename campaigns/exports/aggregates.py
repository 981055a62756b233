"""Figures for partners as CSV: totals per country, per region and per day,
read from the count tables only (never from signatures), through the same
disclosure rule as the public results."""

from __future__ import annotations

from flask_babel import gettext

from ..counting.services import campaign_count, published_breakdowns, published_days
from ..kernel.countries import country_name
from ..kernel.regions import OTHER, region_name
from ..models import Campaign
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
    breakdowns = published_breakdowns(campaign.id, count)
    for bucket in breakdowns.by_country:
        name = gettext("Other countries") if bucket.key == OTHER else country_name(bucket.key, lang)
        rows.append(
            [gettext("Country"), bucket.key, "", "", name, bucket.signers, bucket.total]
        )
    for country, regions in breakdowns.by_region.items():
        for bucket in regions:
            other = bucket.key == OTHER
            name = gettext("Other regions") if other else region_name(bucket.key, lang)
            rows.append(
                [gettext("Region"), country, bucket.key, "", name, bucket.signers, bucket.total]
            )
    for day, signers, total in published_days(campaign.id):
        rows.append([gettext("Day"), "", "", day.isoformat(), "", signers, total])
    return rows
