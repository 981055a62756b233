"""The figures per source, and who may see which.

- A partner sees only its own codes of a campaign, through the disclosure
  rule (``counting.disclosure``): its total when it holds at least K_MIN
  signers, its countries as a level under that total, each country named
  only when the campaign's other signers of that country are none or at
  least K_MIN as well (so the public figure minus the partner's cannot
  single out a few), its channels (when it has more than one code) as a
  level under the same total, and its days pooled forward like the public
  series.
- The union (those who manage the campaign) sees every source side by side,
  exact: each code, online without a code, on paper.
- The public sees nothing of sources."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date

from sqlalchemy import func, select

from ..counting.disclosure import (
    Cell,
    is_safe,
    publish_figure,
    publish_level,
    publish_series,
)
from ..extensions import db
from ..models import (
    CountryCount,
    Signature,
    SignatureSource,
    SignatureState,
    SourceCode,
    SourceCount,
)


@dataclass(frozen=True)
class PartnerFigures:
    """What one organization may see of its own codes on one campaign.
    ``signers`` and ``total`` are None when fewer than K_MIN signed through
    them (and then nothing else is shown)."""

    signers: int | None
    total: int | None
    by_country: list[Cell] = field(default_factory=list)
    by_code: list[Cell] = field(default_factory=list)
    by_day: list[tuple[date, int, int]] = field(default_factory=list)


def _rows(campaign_id: int, code_ids: Iterable[int]) -> list[tuple[int, date, str, int, int]]:
    ids = list(code_ids)
    if not ids:
        return []
    return [
        (code_id, day, country, signers, total)
        for code_id, day, country, signers, total in db.session.execute(
            select(
                SourceCount.source_code_id,
                SourceCount.day,
                SourceCount.country,
                SourceCount.signers,
                SourceCount.total,
            ).where(SourceCount.campaign_id == campaign_id, SourceCount.source_code_id.in_(ids))
        )
    ]


def _sum_by(rows: Iterable[tuple[object, int, int]]) -> dict[object, list[int]]:
    sums: dict[object, list[int]] = defaultdict(lambda: [0, 0])
    for key, signers, total in rows:
        sums[key][0] += signers
        sums[key][1] += total
    return sums


def partner_figures(campaign_id: int, codes: list[SourceCode]) -> PartnerFigures:
    """The figures of ``codes`` (one organization's codes of the campaign) as
    that organization may see them."""
    rows = _rows(campaign_id, (c.id for c in codes))
    everyone: dict[str, int] = {
        country: int(n)
        for country, n in db.session.execute(
            select(CountryCount.country, CountryCount.signers).where(
                CountryCount.campaign_id == campaign_id
            )
        )
    }
    return publish_partner_view(rows, everyone, {c.id: c.code for c in codes})


def publish_partner_view(
    rows: list[tuple[int, date, str, int, int]],
    everyone: dict[str, int],
    names: dict[int, str],
) -> PartnerFigures:
    """The disclosure rule for one organization's view: ``rows`` are its
    (code id, day, country, signers, units), ``everyone`` the campaign's
    signers per country, ``names`` its codes' names by id."""
    margin = Cell("", sum(r[3] for r in rows), sum(r[4] for r in rows))
    if publish_figure(margin.signers) is None:
        return PartnerFigures(None, None)
    countries = _sum_by((country, n, t) for _, _, country, n, t in rows)
    # Named only when the rest of the country is 0 or >= K_MIN too.
    nameable = [
        Cell(str(country), n, t)
        for country, (n, t) in countries.items()
        if is_safe(everyone.get(str(country), 0) - n)
    ]
    by_code: list[Cell] = []
    if len(names) > 1:
        per_code = _sum_by((names[code_id], n, t) for code_id, _, _, n, t in rows)
        by_code = publish_level(margin, [Cell(str(k), n, t) for k, (n, t) in per_code.items()])
    days = _sum_by((day, n, t) for _, day, _, n, t in rows)
    return PartnerFigures(
        margin.signers,
        margin.total,
        by_country=publish_level(margin, nameable),
        by_code=by_code,
        by_day=publish_series((d, n, t) for d, (n, t) in days.items()),  # type: ignore[misc]
    )


@dataclass(frozen=True)
class SourceRow:
    """One source of a campaign as the union sees it: a code (with its
    organization and label), or online without a code (``code`` None,
    ``paper`` False), or on paper."""

    code: SourceCode | None
    signers: int
    total: int
    paper: bool = False


def union_sources(campaign_id: int) -> list[SourceRow]:
    """Every source of the campaign side by side, exact, from its validated
    signatures (one grouped query): for those who manage it only."""
    units = func.coalesce(func.sum(func.coalesce(Signature.amount, 1)), 0)
    rows = db.session.execute(
        select(Signature.source, Signature.source_code_id, func.count(), units)
        .where(Signature.campaign_id == campaign_id, Signature.state == SignatureState.validated)
        .group_by(Signature.source, Signature.source_code_id)
    ).all()
    by_code: dict[int, tuple[int, int]] = {}
    online = [0, 0]
    paper = [0, 0]
    for source, code_id, signers, total in rows:
        if code_id is not None:
            before = by_code.get(code_id, (0, 0))
            by_code[code_id] = (before[0] + signers, before[1] + int(total))
        elif source is SignatureSource.paper:
            paper = [paper[0] + signers, paper[1] + int(total)]
        else:
            online = [online[0] + signers, online[1] + int(total)]
    codes = db.session.execute(
        select(SourceCode).where(SourceCode.campaign_id == campaign_id).order_by(SourceCode.id)
    ).scalars()
    return [
        *(SourceRow(code, *by_code.get(code.id, (0, 0))) for code in codes),
        SourceRow(None, online[0], online[1]),
        SourceRow(None, paper[0], paper[1], paper=True),
    ]
