"""Results page, share image and the embeddable widget."""

from __future__ import annotations

from datetime import date
from urllib.parse import quote

from flask import Blueprint, Response, current_app, g, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_babel import format_date, gettext

from ..assets import RenderedPage
from ..cache import memo
from ..campaign_cache import load_campaign
from ..i18n import current_language, languages, pull_lang, push_lang, text_direction
from ..kernel.countries import country_name
from ..kernel.regions import OTHER, region_name
from ..models import Campaign
from .charts import column_chart, row_chart
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


def share_links(campaign: Campaign, title: str) -> list[tuple[str, str]]:
    """Plain links to share the campaign page: no third-party script is loaded."""
    page = current_app.config["SITE_URL"] + url_for(
        "signing.campaign_page", slug=campaign.slug
    )
    u, t = quote(page, safe=""), quote(title, safe="")
    return [
        ("WhatsApp", f"https://wa.me/?text={quote(title + ' ' + page, safe='')}"),
        ("Telegram", f"https://t.me/share/url?url={u}&text={t}"),
        ("Facebook", f"https://www.facebook.com/sharer/sharer.php?u={u}"),
        ("X", f"https://x.com/intent/post?url={u}&text={t}"),
        (gettext("Email"), f"mailto:?subject={t}&body={quote(title + chr(10) + page, safe='')}"),
    ]


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


def _render_results(campaign: Campaign, lang: str) -> str:
    rtl = text_direction(lang) == "rtl"
    figures = campaign_results(campaign)
    text = campaign.text(lang)
    metric = "total" if campaign.is_pledge else "signers"
    daily = column_chart(
        [
            (format_date(date.fromisoformat(d["day"]), "d MMM"), d[metric])
            for d in figures["daily"]
        ],
        rtl=rtl,
    )
    countries = row_chart(
        [(_country_label(c["country"], lang), c[metric]) for c in figures["by_country"]],
        rtl=rtl,
    )
    regions = {
        country: row_chart(
            [(_region_label(r["region"], lang), r[metric]) for r in rows], rtl=rtl
        )
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
        regions=regions,
        metric=metric,
        share=share_links(campaign, text.title),
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
            + url_for("signing.campaign_page", slug=campaign.slug, lang=g.lang),
        )
    )
    response.headers["Cache-Control"] = "public, max-age=5, stale-while-revalidate=30"
    return response
