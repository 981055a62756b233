"""The disclosure rule, checked on generated count tables: no published
figure, and no figure derivable from the published ones, holds 1 to 4
signers; the published figures add up; and nothing is hidden beyond what
secondary suppression needs."""

from __future__ import annotations

from datetime import date, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from campaigns.counting.disclosure import (
    CHANNELS,
    K_MIN,
    Cell,
    publish_beside_names,
    publish_breakdowns,
    publish_channels,
    publish_level,
    publish_series,
)
from campaigns.kernel.regions import OTHER

# Many small cells and zeros, some mid-sized, now and then one large one.
signers = st.one_of(
    st.integers(0, K_MIN - 1),
    st.integers(0, K_MIN - 1),
    st.integers(0, 3 * K_MIN),
    st.just(1000),
)


@st.composite
def cell(draw: st.DrawFn, key: str) -> Cell:
    n = draw(signers)
    # Units (trees) per signer vary: at least one each.
    return Cell(key, n, n * draw(st.integers(1, 3)) + (draw(st.integers(0, 50)) if n else 0))


@st.composite
def count_tables(draw: st.DrawFn) -> tuple[Cell, list[Cell], dict[str, list[Cell]]]:
    """A campaign's count tables: countries, and for SY and TR their regions
    (an unmatched "other" among them); the country is the sum of its regions."""
    regions: dict[str, list[Cell]] = {}
    for country in ("SY", "TR"):
        if draw(st.booleans()):
            keys = draw(st.lists(st.sampled_from([f"{country}-{i}" for i in range(6)] + [OTHER]),
                                 unique=True, max_size=7))
            regions[country] = [draw(cell(k)) for k in keys]
        else:
            regions[country] = []
    countries = [
        Cell(c, sum(r.signers for r in rs), sum(r.total for r in rs)) for c, rs in regions.items()
    ]
    others = draw(st.lists(st.sampled_from(["DE", "LB", "JO", "IQ", "FR", "NL", "SE"]),
                           unique=True, max_size=7))
    countries += [draw(cell(c)) for c in others]
    total = Cell("", sum(c.signers for c in countries), sum(c.total for c in countries))
    return total, countries, regions


def safe(n: int) -> bool:
    return n == 0 or n >= K_MIN


def check_level(margin: Cell, published: list[Cell], raw: list[Cell]) -> None:
    """One level: safe cells that add up, and the least suppression needed."""
    named = [c for c in published if c.key != OTHER]
    candidates = [c for c in raw if c.key != OTHER and c.signers >= K_MIN]
    primary_other = margin.signers - sum(c.signers for c in candidates)
    if not published:
        # Publishing nothing is allowed only when nothing could be named safely.
        assert not candidates or (len(candidates) == 1 and not safe(primary_other))
        return
    assert named, "a level is never 'other' alone"
    assert all(c.signers >= K_MIN for c in published)
    assert [c for c in published if c.key == OTHER] in ([], [published[-1]])
    # Published cells plus "other" add up to the margin, signers and units.
    assert sum(c.signers for c in published) == margin.signers
    assert sum(c.total for c in published) == margin.total
    # What can be derived: the margin minus the named cells.
    assert safe(margin.signers - sum(c.signers for c in named))
    # Named cells are the raw cells, unchanged.
    by_key = {c.key: c for c in raw}
    assert all(by_key[c.key] == c for c in named)
    # Nothing of 5 or more is hidden except the one cell secondary
    # suppression moves, and only the smallest.
    hidden = [c for c in candidates if c not in named]
    if safe(primary_other):
        assert hidden == []
    else:
        assert len(hidden) == 1
        assert hidden[0].signers == min(c.signers for c in candidates)


@settings(max_examples=600, deadline=None)
@given(count_tables())
def test_no_published_or_derivable_figure_holds_one_to_four(
    tables: tuple[Cell, list[Cell], dict[str, list[Cell]]],
) -> None:
    total, countries, regions = tables

    published = publish_breakdowns(total, countries, regions)

    check_level(total, published.by_country, [c for c in countries if c.signers])
    shown = {c.key: c for c in published.by_country if c.key != OTHER}
    for country, cells in regions.items():
        rows = published.by_region[country]
        if country not in shown:
            # A country merged into "other" gets no region level at all.
            assert rows == []
        else:
            check_level(shown[country], rows, cells)


@settings(max_examples=300, deadline=None)
@given(st.lists(st.tuples(st.sampled_from(["SY", "TR", "DE", "LB"]), signers, signers),
                unique_by=lambda t: t[0]))
def test_beside_a_list_of_names_the_unnamed_are_never_derivable(
    rows: list[tuple[str, int, int]],
) -> None:
    # Per country: signers named in the document, and signers not named.
    everyone = [Cell(c, named + unnamed, 2 * (named + unnamed)) for c, named, unnamed in rows]
    unnamed = [Cell(c, n, 2 * n) for c, _named, n in rows]
    named = {c: n for c, n, _unnamed in rows}

    by_country, unnamed_by_country = publish_beside_names(everyone, unnamed)

    for published in (by_country, unnamed_by_country):
        assert all(c.signers >= K_MIN for c in published)
    hidden = {c.key: c.signers for c in unnamed_by_country}
    for c in by_country:
        if c.key == OTHER:
            continue
        # The country's figure minus the names anyone can count: shown as is.
        assert c.signers - named[c.key] == hidden[c.key]
    if by_country and by_country[-1].key == OTHER:
        names_in_other = sum(named.values()) - sum(
            named[c.key] for c in by_country if c.key != OTHER
        )
        assert safe(by_country[-1].signers - names_in_other)


@settings(max_examples=300, deadline=None)
@given(st.lists(signers, max_size=40))
def test_days_are_pooled_until_they_hold_five(per_day: list[int]) -> None:
    start = date(2026, 3, 15)
    days = [(start + timedelta(days=i), n, 3 * n) for i, n in enumerate(per_day)]

    series = publish_series(days)

    assert all(n >= K_MIN and t == 3 * n for _, n, t in series)
    # Each published day carries exactly what was signed since the one before,
    # so the running total read off the series is the true one on that day.
    running = {day: sum(n for d, n, _ in days if d <= day) for day, _, _ in days}
    cumulative = 0
    for day, n, _ in series:
        cumulative += n
        assert cumulative == running[day]
    # Only the newest signers, fewer than 5, wait for the next published day.
    assert 0 <= sum(per_day) - cumulative < K_MIN


def test_syria_with_one_unmatched_signer_shows_no_region() -> None:
    # The finding: "Syria → other regions: 1". Aleppo's 6 beside Syria's 7
    # would give the one away by subtraction.
    syria = Cell("SY", 7, 7)
    assert publish_level(syria, [Cell("SY-HL", 6, 6), Cell(OTHER, 1, 1)]) == []


def test_the_smallest_region_joins_a_small_other() -> None:
    # Raqqa's 2 alone would be "other: 2": Idlib (5), the smallest, joins it.
    syria = Cell("SY", 22, 44)
    cells = [Cell("SY-HL", 9, 18), Cell("SY-ID", 5, 10), Cell("SY-DI", 6, 12), Cell("SY-RA", 2, 4)]
    assert publish_level(syria, cells) == [cells[0], cells[2], Cell(OTHER, 7, 14)]


# --- channels (online, on paper, in person) under the total --------------------


@settings(max_examples=400)
@given(online=signers, paper=signers, in_person=signers)
def test_no_channel_or_difference_holds_one_to_four(
    online: int, paper: int, in_person: int
) -> None:
    total = online + paper + in_person
    rows = publish_channels(total, paper, in_person)
    truth = dict(zip(CHANNELS, (online, paper, in_person), strict=True))
    shown = {r["channel"]: r["signers"] for r in rows}
    for key, n in shown.items():
        assert n == 0 or n >= K_MIN, rows
        if key != OTHER:
            assert n == truth[key], rows
    if rows:
        # The shown figures add up to the total: nothing is left to subtract.
        assert sum(shown.values()) == total
        # What "other" holds is made only of channels that are not named.
        assert shown.get(OTHER, 0) == sum(n for k, n in truth.items() if k not in shown)
    # Everything is named when every channel may be.
    if all(n == 0 or n >= K_MIN for n in truth.values()) and total:
        assert shown == {k: n for k, n in truth.items()}


def test_a_small_channel_pulls_the_next_smallest_into_other_ways() -> None:
    # 3 on paper alone would be the total minus the other two.
    assert publish_channels(100 + 3 + 12, 3, 12) == [
        {"channel": "online", "signers": 100},
        {"channel": OTHER, "signers": 15},
    ]
    # Two small channels together make a figure that may be shown.
    assert publish_channels(100 + 3 + 2, 3, 2) == [
        {"channel": "online", "signers": 100},
        {"channel": OTHER, "signers": 5},
    ]
    # Nothing beside it can hide 3: only the total is shown.
    assert publish_channels(100 + 3, 3, 0) == []
    assert publish_channels(100, 0, 0) == [
        {"channel": "online", "signers": 100},
        {"channel": "paper", "signers": 0},
        {"channel": "in_person", "signers": 0},
    ]
    assert publish_channels(4, 0, 0) == []
    # Figures read while the count job ran (paper counted, total not yet).
    assert publish_channels(5, 7, 0) == []
