"""Shared by the results and API tests: a campaign whose figures fill every
part of the results page, and a log of the SQL a request issues."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import Engine

from campaigns.counting.services import update_signature_counts
from campaigns.extensions import db
from campaigns.models import Campaign, SignatureState
from campaigns.models.types import utcnow
from tests.factories import create_campaign, create_signature

# Tables that hold the figures (or what they are computed from).
FIGURE_TABLES = ("campaign_counts", "country_counts", "region_counts", "daily_counts", "signatures")

# Anonymous validated signers: (country, region_code, region typed, signers).
PLACES: list[tuple[str, str | None, str, int]] = [
    ("SY", "SY-HL", "Afrin", 6),
    ("SY", "SY-ID", "Idlib", 5),
    ("SY", "SY-DI", "Damascus", 2),  # small region: merged into "other", with Idlib
    ("SY", None, "Nowhere", 1),  # unmatched: "other"
    ("TR", "TR-27", "Gaziantep", 6),
    ("TR", "TR-34", "Istanbul", 3),  # small region: no region of Turkey is shown
    ("DE", None, "Berlin", 11),
    ("LB", None, "Beirut", 3),  # small country: merged into "other"
    ("JO", None, "Amman", 2),  # small country: merged into "other"
]
# When the anonymous signers were validated (days ago), in the order of PLACES.
DAYS_AGO = (10,) * 10 + (7,) * 10 + (3,) * 9 + (0,) * 10

# The figures the sample must show (named people included).
GOAL = 40
SIGNERS = 42
BY_COUNTRY = [("SY", 16), ("DE", 12), ("TR", 9), ("other", 5)]
# Syria's other regions would hold 3 (Damascus 2, unmatched 1): Idlib, the
# smallest named region, joins them. Turkey's would hold 3 (Istanbul) beside
# Gaziantep's 6, and Turkey's 9 are public: no region of Turkey is shown.
BY_REGION: dict[str, list[tuple[str, int]]] = {"SY": [("SY-HL", 8), ("other", 8)], "TR": []}
PER_DAY = {10: 10, 7: 10, 3: 10, 0: 12}


@dataclass
class Person:
    name: str
    email: str
    city: str

    @property
    def first_name(self) -> str:
        return self.name.split(" ", 1)[0]

    @property
    def family_name(self) -> str:
        return self.name.split(" ", 1)[1]


@dataclass
class Sample:
    campaign: Campaign
    today: date
    # Percent of the goal → the UTC day it was reached.
    milestones: dict[int, date]
    # Shown on the results page (newest first), and never shown.
    public: list[Person] = field(default_factory=list)
    private: list[Person] = field(default_factory=list)


def days_ago(n: int) -> datetime:
    return utcnow() - timedelta(days=n)


def make_sample(**campaign_fields: Any) -> Sample:
    """A campaign with 42 validated signers towards a goal of 40, counted: 10
    validated 10, 7 and 3 days ago and 12 today, so that 25/50/75/100 % of
    the goal were reached on those days; two of them show their name. Also a
    pending and a fraudulent signature, which neither count nor show."""
    campaign_fields.setdefault("goal", GOAL)
    campaign = create_campaign(**campaign_fields)
    today = utcnow().date()
    when = iter(DAYS_AGO)
    for country, code, region, signers in PLACES:
        for _ in range(signers):
            create_signature(
                campaign,
                state=SignatureState.validated,
                country=country,
                region=region,
                region_code=code,
                name="Hidden Signer",
                created_at=days_ago(next(when)),
            )
    sample = Sample(
        campaign=campaign,
        today=today,
        milestones={
            percent: today - timedelta(days=n)
            for percent, n in zip((25, 50, 75, 100), (10, 7, 3, 0), strict=True)
        },
    )
    named = [
        # name, email, city, country, days ago, state, show_name
        ("أحمد الحلبي", "ahmad.halabi@example.org", "عفرين", "SY", 3, "validated", True),
        ("Zozan Haddad", "zozan.haddad@example.org", "Hamburg", "DE", 0, "validated", False),
        ("Karwan Osman", "karwan.osman@example.org", "Kobani", "SY", 0, "pending", True),
        ("Dilovan Mustafa", "dilovan.mustafa@example.org", "Azaz", "SY", 0, "fraudulent", True),
        ("Rojda Xelîl", "rojda.xelil@example.org", "Efrîn", "SY", 0, "validated", True),
    ]
    for name, email, city, country, n, state, show in named:
        create_signature(
            campaign,
            state=SignatureState(state),
            name=name,
            email=email,
            country=country,
            region=city,
            region_code="SY-HL" if country == "SY" else None,
            show_name=show,
            created_at=days_ago(n),
        )
        person = Person(name, email, city)
        if state == "validated" and show:
            sample.public.insert(0, person)
        else:
            sample.private.append(person)
    count_now()
    return sample


def count_now() -> None:
    """Run the count job until everything is folded in."""
    while update_signature_counts():
        pass
    db.session.expire_all()


@contextmanager
def sql_log(engine: Engine) -> Iterator[list[str]]:
    """Every SQL statement sent on ``engine`` while the block runs."""
    statements: list[str] = []

    def record(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        statements.append(statement)

    event.listen(engine, "before_cursor_execute", record)
    try:
        yield statements
    finally:
        event.remove(engine, "before_cursor_execute", record)


def touches_figures(statements: list[str]) -> list[str]:
    """The statements that read the figures' tables."""
    return [s for s in statements if any(t in s for t in FIGURE_TABLES)]
