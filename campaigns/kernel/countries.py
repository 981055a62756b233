"""Countries (ISO 3166-1 alpha-2) named in the reader's language by Babel."""

from __future__ import annotations

from functools import cache

from babel import Locale

# Babel also names regions, groupings and codes that are not assigned countries.
_NOT_COUNTRIES = frozenset(
    {"EU", "EZ", "UN", "QO", "XA", "XB", "XK", "ZZ", "AC", "CP", "CQ", "DG", "EA", "IC", "TA"}
)
# Where most signers live: listed first.
FIRST = ("SY", "TR", "DE", "LB", "JO", "IQ")


@cache
def country_codes() -> frozenset[str]:
    territories = Locale.parse("en").territories
    return frozenset(
        code
        for code in map(str, territories)
        if len(code) == 2 and code.isalpha() and code not in _NOT_COUNTRIES
    )


@cache
def country_choices(lang: str) -> list[tuple[str, str]]:
    """(code, name) pairs: the usual countries first, then the rest by name."""
    names = Locale.parse(lang).territories
    codes = country_codes()
    rest = sorted((c for c in codes if c not in FIRST), key=lambda c: names.get(c, c))
    return [(code, names.get(code, code)) for code in (*FIRST, *rest)]


def country_name(code: str, lang: str) -> str:
    return str(Locale.parse(lang).territories.get(code, code))
