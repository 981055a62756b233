"""Languages: every page lives under ``/<lang>/``; ``/`` picks one from
Accept-Language. Arabic is the default and the fallback for content."""

from __future__ import annotations

from contextlib import suppress
from datetime import UTC, date, datetime
from functools import cache
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from babel import Locale
from babel.dates import get_datetime_format, get_timezone_location
from babel.numbers import get_group_symbol
from flask import Flask, Response, abort, current_app, g, has_request_context, request, url_for
from flask_babel import (
    format_date,
    format_datetime,
    format_decimal,
    format_percent,
    format_time,
    get_domain,
    get_locale,
    get_timezone,
)
from flask_login import current_user
from markupsafe import Markup
from werkzeug.routing import BuildError

from .kernel.countries import country_name

DEFAULT_LANGUAGE = "ar"


def languages() -> list[str]:
    return list(current_app.config["LANGUAGES"])


def current_language() -> str:
    """The page's language: from its URL, else (console, error pages) the
    visitor's choice, else Arabic."""
    if g.get("lang"):
        return str(g.lang)
    return best_language() if has_request_context() else DEFAULT_LANGUAGE


@cache
def text_direction(lang: str) -> str:
    """``rtl`` or ``ltr`` from the CLDR data of the language."""
    return "rtl" if Locale.parse(lang).character_order == "right-to-left" else "ltr"


LANGUAGE_COOKIE = "lang"


def best_language() -> str:
    """The language the visitor chose last time, else their Accept-Language
    choice among ours, else Arabic."""
    remembered = request.cookies.get(LANGUAGE_COOKIE)
    if remembered in languages():
        return str(remembered)
    return request.accept_languages.best_match(languages(), default=DEFAULT_LANGUAGE)


def remember_language(response: Response) -> Response:
    """A page read in a language makes it the visitor's choice for ``/``."""
    lang = g.get("lang")
    if request.method != "GET" or not g.get("lang_from_url"):
        return response
    if lang and request.cookies.get(LANGUAGE_COOKIE) != lang:
        response.set_cookie(
            LANGUAGE_COOKIE,
            lang,
            max_age=365 * 24 * 3600,
            httponly=True,
            samesite="Lax",
            secure=request.is_secure,
        )
    return response


def select_locale() -> str:
    return str(g.get("lang") or best_language())


def language_name(lang: str) -> str:
    return str(Locale.parse(lang).get_display_name(lang) or lang)


def pull_lang(endpoint: str | None, values: dict[str, Any] | None) -> None:
    """url_value_preprocessor: move ``lang`` from the URL into ``g``."""
    if values is None or "lang" not in values:
        return
    lang = values.pop("lang")
    if lang not in languages():
        abort(404)
    g.lang = lang
    g.lang_from_url = True


def push_lang(endpoint: str, values: dict[str, Any]) -> None:
    """url_defaults: links stay in the current language unless told otherwise."""
    if "lang" in values or not g.get("lang"):
        return
    if current_app.url_map.is_endpoint_expecting(endpoint, "lang"):
        values["lang"] = g.lang


def _answers_get(endpoint: str) -> bool:
    return any("GET" in (rule.methods or ()) for rule in current_app.url_map.iter_rules(endpoint))


# Pages whose URL has no language (the console) take it as ``?lang=``.
QUERY_LANGUAGE_BLUEPRINTS = ("console",)


def _query_language(blueprint: str | None) -> bool:
    return bool(blueprint) and str(blueprint).startswith(QUERY_LANGUAGE_BLUEPRINTS)


def pull_query_lang() -> None:
    """before_request: a console page asked for in another language
    (``?lang=``) is shown in it, and the choice is remembered like a URL's."""
    lang = request.args.get("lang")
    if _query_language(request.blueprint) and lang in languages():
        g.lang = lang
        g.lang_from_url = True


def switch_language_url(lang: str) -> str:
    """The current page in another language: the page a view named with
    ``g.language_switch`` (a form's POST answer names the page that shows the
    form), else this endpoint when a link can open it (GET), else the home
    page. A console page stays in the console: the same page with ``?lang=``."""
    endpoint, args = g.get("language_switch") or (request.endpoint, request.view_args or {})
    if endpoint and _answers_get(endpoint):
        if current_app.url_map.is_endpoint_expecting(endpoint, "lang"):
            with suppress(BuildError):
                return url_for(endpoint, **dict(args, lang=lang))
        elif _query_language(request.blueprint):
            query = {k: v for k, v in request.args.items() if k != "lang"}
            with suppress(BuildError):
                return url_for(endpoint, **dict(query, **args, lang=lang))
    return url_for("site.home", lang=lang)


def format_number(value: int | float) -> str:
    return str(format_decimal(value))


def count_text(singular: str, plural: str, count: int, **variables: Any) -> str:
    """``ngettext`` whose ``%(num)s`` is ``count`` as the reader's language
    writes numbers (Flask-Babel's writes 1234 where English wants 1,234)."""
    text = get_domain().get_translations().ungettext(singular, plural, count)
    return str(text % {**variables, "num": format_number(count)})


def number_grouping() -> dict[str, str]:
    """How ``format_number`` groups a whole number's digits in the current
    language (Babel's group symbol and group sizes), handed to the live-count
    script so that it writes numbers as the server does, from one definition."""
    locale = get_locale() or Locale.parse(DEFAULT_LANGUAGE)
    primary, secondary = locale.decimal_formats[None].grouping
    return {"symbol": get_group_symbol(locale), "sizes": f"{primary} {secondary}"}


def _format_date(value: date, format: str = "medium") -> str:
    return str(format_date(value, format))


# The zones a console reader may choose: where the union's organizers and
# partners work, and the diaspora's main countries; UTC last.
TIME_ZONES = (
    "Asia/Damascus",
    "Europe/Istanbul",
    "Asia/Beirut",
    "Asia/Amman",
    "Asia/Baghdad",
    "Africa/Cairo",
    "Asia/Riyadh",
    "Asia/Dubai",
    "Europe/Berlin",
    "Europe/Paris",
    "Europe/Amsterdam",
    "Europe/Stockholm",
    "Europe/London",
    "America/Toronto",
    "America/New_York",
    "UTC",
)


def time_zone(name: str | None) -> ZoneInfo:
    """The zone of that name; UTC for an empty or unknown one (a row written
    before a zone was withdrawn from the list still shows every page)."""
    try:
        return ZoneInfo(name or "UTC")
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo("UTC")


def select_timezone() -> str:
    """Flask-Babel's time zone: on a console page, the zone its reader chose;
    elsewhere UTC (public pages are the same for everyone)."""
    if has_request_context() and _query_language(request.blueprint):
        chosen = getattr(current_user, "time_zone", None)
        if chosen in TIME_ZONES:
            return str(chosen)
    return "UTC"


def time_zone_name(name: str) -> str:
    """A zone as the reader's language names it ("Syria Time", "توقيت سوريا")."""
    if name == "UTC":
        return "UTC"
    return str(get_timezone_location(time_zone(name), locale=get_locale(), return_city=True))


def time_zone_choices() -> list[tuple[str, str]]:
    return [(name, time_zone_name(name)) for name in TIME_ZONES]


def reader_time_zone() -> str:
    """The name of the zone this page's times are shown in."""
    # Flask-Babel hands back a pytz zone, whose str() is its name.
    return str(get_timezone() or "UTC")


def _aware(value: datetime) -> datetime:
    """Stored times are UTC; one read without its zone (SQLite) is too."""
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def moment_text(value: datetime, seconds: bool = True) -> str:
    """A stored (UTC) moment as text in the reader's language and time zone.
    Without ``seconds``, the time is to the minute and the date stays as
    unambiguous ("Mar 5, 2026", never "3/5/26")."""
    moment = _aware(value)
    if seconds:
        return str(format_datetime(moment, "medium"))
    pattern = str(get_datetime_format("medium", locale=get_locale() or DEFAULT_LANGUAGE))
    date_text, time_text = str(format_date(moment, "medium")), str(format_time(moment, "short"))
    return pattern.replace("{1}", date_text).replace("{0}", time_text)


def when(value: datetime | None, seconds: bool = True) -> Markup:
    """``moment_text`` as one isolated piece that never runs into the next
    cell (``.when``), with the UTC moment for machines."""
    if value is None:
        return Markup("")
    return Markup('<time class="when" datetime="{}">{}</time>').format(
        _aware(value).astimezone(UTC).isoformat(timespec="seconds"), moment_text(value, seconds)
    )


def _country_name(code: str) -> str:
    return country_name(code, current_language())


def init_app(app: Flask) -> None:
    app.jinja_env.filters.update(
        format_number=format_number,
        format_date=_format_date,
        when=when,
        format_percent=lambda value: str(format_percent(value)),
        parse_date=date.fromisoformat,
        country_name=_country_name,
    )
    app.jinja_env.globals["zip"] = zip
    app.before_request(pull_query_lang)
    app.after_request(remember_language)
    app.jinja_env.globals.update(
        switch_language_url=switch_language_url,
        current_language=current_language,
        text_direction=text_direction,
        language_name=language_name,
        languages=languages,
        number_grouping=number_grouping,
        reader_time_zone=reader_time_zone,
        time_zone_name=time_zone_name,
    )
