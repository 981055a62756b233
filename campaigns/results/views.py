"""Results page, share image and the embeddable widget."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime
from typing import Any

from babel.dates import format_skeleton
from flask import Blueprint, Response, current_app, g, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_babel import format_date, format_time, get_locale, gettext

from ..assets import RenderedPage
from ..cache import memo
from ..campaign_cache import load_campaign
from ..i18n import (
    current_language,
    format_number,
    languages,
    pull_lang,
    push_lang,
    text_direction,
)
from ..kernel.countries import country_name
from ..kernel.regions import OTHER, region_name
from ..ledger.services import latest_head
from ..models import Campaign, CampaignText
from ..outcomes.services import campaign_outcomes
from ..reach.codes import well_formed
from ..sharing import share_links
from .charts import Chart, column_chart, row_chart
from .services import campaign_results
from .share import share_image

bp = Blueprint("results", __name__, url_prefix="/<lang>")
bp.url_value_preprocessor(pull_lang)
bp.url_defaults(push_lang)

embed_bp = Blueprint("embed", __name__)


def _country_label(code: str, lang: str) -> str:
    return gettext("Other countries") if code == OTHER else country_name(code, lang)


def _region_label(code: str, lang: str) -> str:
    return gettext("Other regions") if code == OTHER else region_name(code, lang)


@bp.get("/campaigns/<slug>/results")
def results_page(slug: str) -> ResponseReturnValue:
    campaign = load_campaign(slug)
    lang = current_language()
    ttl = current_app.config["RESULTS_CACHE_SECONDS"]
    if ttl <= 0:
        return _render_results(campaign, lang)
    # The page is the same for everyone: each process renders (and compresses)
    # it once per language for as long as its figures are cached.
    page: RenderedPage = memo().get_or_compute(
        f"results-page:{slug}:{lang}", ttl, lambda: RenderedPage(_render_results(campaign, lang))
    )
    return page.response()


def by_value(rows: list[dict[str, Any]], key: str, metric: str) -> list[dict[str, Any]]:
    """Rows largest first by the figure their bars show; "other" stays last."""
    return sorted(rows, key=lambda row: (row[key] == OTHER, -row[metric]))


def units(campaign: Campaign, text: CampaignText) -> dict[str, str]:
    """What each chart and table column counts, in words: the campaign's unit
    (trees pledged, or signatures), and the people behind it."""
    if campaign.is_pledge:
        return {
            "people": gettext("People who pledged"),
            "unit": gettext("%(unit)s pledged", unit=text.unit_label),
            "daily": gettext("Bars: %(unit)s pledged per day", unit=text.unit_label),
            "countries": gettext("Bars: %(unit)s pledged per country", unit=text.unit_label),
            "regions": gettext("Bars: %(unit)s pledged per region", unit=text.unit_label),
        }
    return {
        "people": gettext("Signers"),
        "unit": text.unit_label,
        "daily": gettext("Bars: %(unit)s per day", unit=text.unit_label),
        "countries": gettext("Bars: %(unit)s per country", unit=text.unit_label),
        "regions": gettext("Bars: %(unit)s per region", unit=text.unit_label),
    }


def day_label(day: str) -> str:
    """A day on the time axis: day and short month, in the locale's order."""
    return str(format_skeleton("MMMd", date.fromisoformat(day), locale=get_locale()))


def counted_at(updated_at: str | None) -> dict[str, str] | None:
    """When the count tables last changed, for "last counted", in UTC."""
    if not updated_at:
        return None
    when = datetime.fromisoformat(updated_at)
    return {
        "iso": when.strftime("%Y-%m-%dT%H:%MZ"),
        "date": format_date(when, "long"),
        "time": format_time(when, "short"),
    }


def _row_chart(
    rows: list[dict[str, Any]], key: str, label: Callable[[str], str], metric: str, rtl: bool
) -> Chart:
    return row_chart(
        [(label(row[key]), row[metric]) for row in rows],
        value_labels=[format_number(row[metric]) for row in rows],
        rtl=rtl,
    )


def _render_results(campaign: Campaign, lang: str) -> str:
    rtl = text_direction(lang) == "rtl"
    figures = campaign_results(campaign)
    text = campaign.text(lang)
    metric = "total" if campaign.is_pledge else "signers"
    daily = column_chart([(day_label(d["day"]), d[metric]) for d in figures["daily"]], rtl=rtl)
    countries = by_value(figures["by_country"], "country", metric)
    regions = {
        country: by_value(rows, "region", metric)
        for country, rows in figures["by_region"].items()
        if rows
    }
    return render_template(
        "results/results.html",
        campaign=campaign,
        text=text,
        figures=figures,
        daily=daily,
        countries=countries,
        countries_chart=_row_chart(
            countries, "country", lambda code: _country_label(code, lang), metric, rtl
        ),
        regions=regions,
        region_charts={
            country: _row_chart(rows, "region", lambda code: _region_label(code, lang), metric, rtl)
            for country, rows in regions.items()
        },
        metric=metric,
        units=units(campaign, text),
        counted=counted_at(figures["updated_at"]),
        ledger_head=latest_head(campaign.id),
        counted_at=counted_at,
        share=share_links(campaign, text.title),
        outcomes=campaign_outcomes(campaign.id),
        image_url=current_app.config["SITE_URL"]
        + url_for("results.share_png", slug=campaign.slug, v=figures["total"]),
        page_url=current_app.config["SITE_URL"] + request.path,
    )


@bp.get("/campaigns/<slug>/share.png")
def share_png(slug: str) -> ResponseReturnValue:
    campaign = load_campaign(slug)
    lang = current_language()
    figures = campaign_results(campaign)
    png = share_image(campaign, lang, figures["total"], figures["signers"])
    response = Response(png, mimetype="image/png")
    response.headers["Cache-Control"] = "public, max-age=300"
    return response


@embed_bp.get("/embed/<slug>")
def widget(slug: str) -> ResponseReturnValue:
    lang = request.args.get("lang", "ar")
    g.lang = lang if lang in languages() else "ar"
    campaign = load_campaign(slug)
    figures = campaign_results(campaign)
    compact = request.args.get("size") == "compact"
    response = Response(
        render_template(
            "results/embed.html",
            campaign=campaign,
            text=campaign.text(g.lang),
            figures=figures,
            compact=compact,
            sign_url=current_app.config["SITE_URL"]
            + url_for(
                "signing.campaign_page",
                slug=campaign.slug,
                lang=g.lang,
                # A partner's embed carries its source code to the sign form.
                src=well_formed(request.args.get("src")),
            ),
        )
    )
    response.headers["Cache-Control"] = "public, max-age=5, stale-while-revalidate=30"
    return response
