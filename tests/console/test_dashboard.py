"""The console's first page: each reader sees the figures their role allows
(managers the operational ones, partners what the public sees), and admins
the pipeline's health with a warning when a figure is out of bounds."""

from __future__ import annotations

import re
from datetime import timedelta

from flask import Flask

from campaigns.counting.services import update_signature_counts
from campaigns.extensions import db
from campaigns.models import OutboxMessage, SignatureSource, SignatureState
from campaigns.models.types import utcnow
from tests.factories import create_signature
from tests.moderation.support import logged_in, make_console


def _figures(page: str, title: str) -> dict[str, str]:
    """The <dt>/<dd> pairs of the card whose heading holds ``title``."""
    card = page.split(title, 1)[1].split("</li>", 1)[0]
    return dict(re.findall(r"<dt>([^<]+)</dt><dd[^>]*>([^<]+)</dd>", card))


def _sign(console, n: int, state: SignatureState, **fields) -> None:  # type: ignore[no-untyped-def]
    for _ in range(n):
        create_signature(console.campaign, state=state, **fields)


def test_each_role_sees_the_figures_it_may(app: Flask) -> None:
    console = make_console()
    _sign(console, 3, SignatureState.validated)
    _sign(console, 2, SignatureState.validated, source=SignatureSource.paper)
    _sign(console, 4, SignatureState.pending)
    _sign(console, 2, SignatureState.held, hold_reason="rate_burst")
    # Signed two days ago and never confirmed: past no window we read.
    _sign(console, 1, SignatureState.pending, created_at=utcnow() - timedelta(days=2))
    update_signature_counts()
    title = console.campaign.text("en").title

    organizer = logged_in(app, console.organizer)
    organizer.set_cookie("lang", "en")
    page = organizer.get("/console/").get_data(as_text=True)
    assert "5 signers" in page
    figures = _figures(page, title)
    assert figures["Today"] == "5"
    assert figures["Last hour"] == "9"  # new signatures, confirmed or not
    assert figures["Awaiting confirmation"] == "5"
    assert figures["Held for review"] == "2"
    assert figures["Online"] == "3" and figures["On paper"] == "2"
    assert "<svg class=\"spark\"" in page
    assert "Is anything wrong?" not in page  # the pipeline is for admins

    partner = logged_in(app, console.partner)
    partner.set_cookie("lang", "en")
    page = partner.get("/console/").get_data(as_text=True)
    figures = _figures(page, title)
    # A partner sees what the public sees: no operational figures.
    assert set(figures) == {"Today"}
    assert figures["Today"] == "5"


def test_a_partner_sees_small_days_pooled_like_the_public(app: Flask) -> None:
    console = make_console()
    _sign(console, 3, SignatureState.validated)
    update_signature_counts()
    title = console.campaign.text("en").title
    partner = logged_in(app, console.partner)
    partner.set_cookie("lang", "en")
    assert _figures(partner.get("/console/").get_data(as_text=True), title)["Today"] == "0"
    organizer = logged_in(app, console.organizer)
    organizer.set_cookie("lang", "en")
    assert _figures(organizer.get("/console/").get_data(as_text=True), title)["Today"] == "3"


def test_admins_see_the_pipeline_and_a_warning_when_it_stalls(app: Flask) -> None:
    # As deployed: with the two-person rule off the dashboard warns of that too.
    app.config["TWO_PERSON_DISCLOSURE"] = True
    console = make_console()
    update_signature_counts()  # the count job has just run
    admin = logged_in(app, console.admin, console)
    admin.set_cookie("lang", "en")
    page = admin.get("/console/").get_data(as_text=True)
    assert "Is anything wrong?" in page
    assert "Everything is running" in page
    assert 'role="alert"' not in page

    db.session.add(
        OutboxMessage(task="validate_signature", object_id=1,
                      created_at=utcnow() - timedelta(minutes=10))
    )
    db.session.commit()
    page = admin.get("/console/").get_data(as_text=True)
    assert 'role="alert"' in page
    assert "The outbox relay seems stopped" in page
    # The warnings are a list that stays one: the alert role is on its box
    # (on the <ul> itself it would leave the <li> in no list, for axe-core).
    assert re.search(r'<div role="alert">\s*<ul class="warnings">\s*<li>', page)
    assert "Everything is running" not in page

    admin.set_cookie("lang", "ar")
    page = admin.get("/console/").get_data(as_text=True)
    assert "يبدو أن ناقل صندوق الصادر متوقف" in page
