"""The partner view's disclosure rule on generated figures (hypothesis): no
figure a partner sees, or can derive from it and the public figures, holds
1 to 4 signers."""

from __future__ import annotations

from datetime import date, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from campaigns.counting.disclosure import K_MIN, is_safe
from campaigns.reach.figures import publish_partner_view

COUNTRIES = ("SY", "TR", "DE", "FR", "IQ")
START = date(2026, 11, 1)

rows_strategy = st.lists(
    st.tuples(
        st.sampled_from((1, 2, 3)),
        st.integers(0, 20).map(lambda n: START + timedelta(days=n)),
        st.sampled_from(COUNTRIES),
        st.integers(1, 9),
    ),
    max_size=40,
)


@settings(max_examples=400, deadline=None)
@given(rows=rows_strategy, others=st.dictionaries(st.sampled_from(COUNTRIES), st.integers(0, 9)))
def test_nothing_a_partner_sees_or_derives_holds_one_to_four(
    rows: list[tuple[int, date, str, int]], others: dict[str, int]
) -> None:
    # Merge repeated keys as the count table would hold them; units = 2 a signer.
    table: dict[tuple[int, date, str], int] = {}
    for code, day, country, n in rows:
        table[(code, day, country)] = table.get((code, day, country), 0) + n
    partner = [(code, day, country, n, 2 * n) for (code, day, country), n in table.items()]
    mine = {c: sum(n for _, _, country, n, _ in partner if country == c) for c in COUNTRIES}
    everyone = {c: mine[c] + others.get(c, 0) for c in COUNTRIES}
    view = publish_partner_view(partner, everyone, {1: "a", 2: "b", 3: "c"})
    total = sum(mine.values())
    if 0 < total < K_MIN:
        assert view.signers is None and not view.by_country and not view.by_day
        return
    assert view.signers == total
    for level in (view.by_country, view.by_code):
        if level:
            # Every cell, "other" included, holds 0 or >= K_MIN; they add up.
            assert all(cell.signers >= K_MIN for cell in level)
            assert sum(cell.signers for cell in level) == total
            assert sum(cell.total for cell in level) == 2 * total
    for cell in view.by_country:
        if cell.key != "other":
            # The public figure for the country minus the partner's is safe too.
            assert cell.signers == mine[cell.key]
            assert is_safe(everyone[cell.key] - cell.signers)
    assert all(n >= K_MIN for _, n, _ in view.by_day)
    assert sum(n for _, n, _ in view.by_day) <= total
