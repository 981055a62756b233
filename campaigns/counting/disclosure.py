"""Disclosure control: the one rule every published breakdown goes through.

A breakdown level splits a published margin (the campaign's total, or a
published country's total) into cells. The rule, decided on signers:

1. Primary suppression: a cell of 1 to K_MIN - 1 signers is never published;
   it goes into "other" (so does a cell that is "other" by nature, such as a
   region nobody could match).
2. Secondary suppression: "other" is the margin minus the published cells, so
   it can be read off even when it is not shown. If it would hold 1 to
   K_MIN - 1 signers, the smallest published cell moves into it (one is always
   enough: every published cell holds at least K_MIN). With no cell left to
   move, the level publishes nothing.

A level whose only figure would be "other" publishes nothing: "other" would
then be the margin itself. Units (trees pledged) travel with their cell: a
suppressed cell's units are suppressed with it.

The daily series is a series of the public total; days are pooled forward
until they hold K_MIN signers (see ``publish_series``)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

from ..kernel.regions import OTHER

# Fewer signers than this in a published figure could point at a person.
K_MIN = 5


@dataclass(frozen=True)
class Cell:
    """Signers and units (signatures, or trees pledged) of one bucket."""

    key: str
    signers: int
    total: int


def is_safe(signers: int) -> bool:
    """Whether a published (or derivable) figure of ``signers`` is allowed."""
    return signers == 0 or signers >= K_MIN


def publish_figure(signers: int) -> int | None:
    """A figure published on its own, beside no margin it could be taken from
    (the results page's held and invalidated signatures): itself when allowed,
    None (shown as "fewer than K_MIN") when it holds 1 to K_MIN - 1 signers."""
    return signers if is_safe(signers) else None


def publish_level(margin: Cell, cells: Iterable[Cell]) -> list[Cell]:
    """The published cells of one level under ``margin``, largest first, and
    "other" (margin minus the published cells) last when it is not empty. A
    cell keyed OTHER (a region nobody could match) is never named."""
    candidates = sorted(
        (c for c in cells if c.key != OTHER and c.signers >= K_MIN),
        key=lambda c: (-c.signers, c.key),
    )

    def other_of(published: Sequence[Cell]) -> Cell:
        return Cell(
            OTHER,
            margin.signers - sum(c.signers for c in published),
            margin.total - sum(c.total for c in published),
        )

    other = other_of(candidates)
    while not is_safe(other.signers) and candidates:
        candidates.pop()  # the smallest published cell
        other = other_of(candidates)
    if not candidates or other.signers < 0 or (other.signers == 0 and other.total != 0):
        # Nothing to name, or figures that do not add up (counts read while
        # the count job ran): publish nothing rather than a wrong remainder.
        return []
    return [*candidates, other] if other.signers else candidates


@dataclass(frozen=True)
class Breakdowns:
    """What may be published under a campaign's total."""

    by_country: list[Cell]
    by_region: dict[str, list[Cell]]


def publish_breakdowns(
    total: Cell,
    countries: Iterable[Cell],
    regions: dict[str, list[Cell]],
) -> Breakdowns:
    """Countries under the campaign total, then regions under each country
    that is itself published (its "other regions" derived from the country's
    published figure, so that nothing can be subtracted below K_MIN)."""
    by_country = publish_level(total, countries)
    published = {c.key: c for c in by_country if c.key != OTHER}
    by_region = {
        country: publish_level(published[country], cells) if country in published else []
        for country, cells in regions.items()
    }
    return Breakdowns(by_country, by_region)


def publish_beside_names(
    everyone: Iterable[Cell], unnamed: Iterable[Cell]
) -> tuple[list[Cell], list[Cell]]:
    """Countries of a document that also lists, with their country, the
    signers who agreed to be named: anyone can count those, so a country's
    figure minus its names gives its unnamed signers. The decision is made
    on the unnamed signers, and a country is shown for everyone only if its
    unnamed figure is shown (it then holds at least K_MIN unnamed signers,
    and its units are never those of named signers alone). Returns the
    countries of everyone and those of the unnamed signers."""
    everyone, unnamed = list(everyone), list(unnamed)
    hidden = publish_level(_sum(unnamed), unnamed)
    shown = {c.key for c in hidden if c.key != OTHER}
    return publish_level(_sum(everyone), [c for c in everyone if c.key in shown]), hidden


def _sum(cells: Sequence[Cell]) -> Cell:
    return Cell("", sum(c.signers for c in cells), sum(c.total for c in cells))


def as_rows(cells: Iterable[Cell], key: str) -> list[dict[str, Any]]:
    """Cells as the JSON, page and export rows: ``{key: …, signers, total}``."""
    return [{key: c.key, "signers": c.signers, "total": c.total} for c in cells]


# How a signature was given: signed on the site (demo data included), on a
# paper sheet, or in person on a kiosk at a stand.
CHANNELS = ("online", "paper", "in_person")


def publish_channels(signers: int, paper: int, in_person: int) -> list[dict[str, Any]]:
    """The campaign's signers by channel (``CHANNELS``) under its total, as
    ``{"channel": …, "signers": …}`` rows in that order: the rule of
    ``publish_level`` with the total as margin, so that a channel of 1 to
    K_MIN - 1 signers is merged into "other" (other ways), and no channel can
    be worked out as the total minus the shown ones. A channel nobody used is
    shown as 0 beside the others; nothing at all when nothing may be shown.
    Signers only: a pledge's units are not split by channel."""
    figures = dict(zip(CHANNELS, (signers - paper - in_person, paper, in_person), strict=True))
    if min(figures.values()) < 0:
        return []  # counts read while the count job ran
    published = publish_level(
        Cell("", signers, signers), (Cell(k, n, n) for k, n in figures.items())
    )
    if not published:
        return []
    shown = {c.key: c.signers for c in published}
    keys = [k for k in CHANNELS if k in shown or figures[k] == 0]
    if OTHER in shown:
        keys.append(OTHER)
    return [{"channel": k, "signers": shown.get(k, 0)} for k in keys]


def publish_series(days: Iterable[tuple[date, int, int]]) -> list[tuple[date, int, int]]:
    """The daily series of the public total, oldest first: a day holding fewer
    than K_MIN signers is pooled into the next days until the pool holds
    K_MIN, and shown on the day it does. The pool still open (the latest
    signers) is in the live total only, which anyone polling it sees move."""
    series: list[tuple[date, int, int]] = []
    signers = total = 0
    for day, n, t in sorted(days):
        signers += n
        total += t
        if signers >= K_MIN:
            series.append((day, signers, total))
            signers = total = 0
    return series
