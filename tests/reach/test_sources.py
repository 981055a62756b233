"""Source codes: what a signature records, who sees which figures, and that
the public sees none of it."""

from __future__ import annotations

import re
from datetime import timedelta

from flask import Flask
from sqlalchemy import select

from campaigns.accounts.services import create_user
from campaigns.extensions import db
from campaigns.models import (
    Organization,
    OrganizationKind,
    Role,
    Signature,
    SourceCode,
    User,
)
from campaigns.models.types import utcnow
from campaigns.reach.codes import CODE_PATTERN, ensure_partner_codes, live_codes
from campaigns.reach.figures import partner_figures, union_sources
from tests.factories import create_organization, give_second_factor
from tests.moderation.support import PASSWORD, logged_in, make_console
from tests.signing.support import sign_url, stored_signatures, valid_form

from .support import give_code, validated_through


def _sign(app: Flask, slug: str, src: str | None, email: str) -> tuple[int, str]:
    form = valid_form(email=email)
    if src is not None:
        form["src"] = src
    response = app.test_client().post(sign_url(slug), data=form)
    return response.status_code, response.headers.get("Location", "")


def test_the_share_link_carries_the_code_into_the_form_without_script(app: Flask) -> None:
    console = make_console()
    code = give_code(console.campaign, console.partner.organization, "abcDEF123_-")
    page = app.test_client().get(f"/ar/campaigns/{console.campaign.slug}?src={code.code}")
    assert re.search(r'<input[^>]*name="src"[^>]*value="abcDEF123_-"', page.get_data(as_text=True))
    # A malformed code is not even written into the page.
    page = app.test_client().get(f"/ar/campaigns/{console.campaign.slug}?src=%3Cscript%3E")
    assert 'value="<' not in page.get_data(as_text=True)
    assert re.search(
        r'name="src"[^>]*value=""|name="src"(?![^>]*value)', page.get_data(as_text=True)
    )


def test_the_embed_links_to_the_form_with_its_code(app: Flask) -> None:
    console = make_console()
    page = app.test_client().get(f"/embed/{console.campaign.slug}?lang=en&src=abcDEF123_-")
    assert "/en/campaigns/" + console.campaign.slug + "?src=abcDEF123_-" in page.get_data(
        as_text=True
    )
    page = app.test_client().get(f"/embed/{console.campaign.slug}?lang=en&src=bad%22code")
    assert "src=" not in page.get_data(as_text=True).split("<body", 1)[1]


def test_a_signature_records_a_live_code_and_ignores_every_other(app: Flask) -> None:
    console = make_console()
    campaign = console.campaign
    live = give_code(campaign, console.partner.organization, "liveCode_01")
    revoked = give_code(campaign, console.partner.organization, "revokedCod1")
    other = give_code(console.other_campaign, console.other_organizer.organization, "otherCamp01")
    revoked.revoked_at = utcnow()
    db.session.commit()
    answers = {
        src: _sign(app, campaign.slug, src, f"s{n}@example.org")
        for n, src in enumerate(
            [live.code, revoked.code, other.code, "unknownCod1", "<bad>", "x" * 5000, None]
        )
    }
    # The same answer whatever the code: nobody learns which codes exist.
    assert set(answers.values()) == {(303, f"/ar/campaigns/{campaign.slug}/thanks")}
    recorded = {s.source_code_id for s in stored_signatures()}
    assert len(stored_signatures()) == 7
    assert recorded == {live.id, None}
    assert [s.source_code_id for s in stored_signatures()].count(live.id) == 1


def test_a_code_revoked_in_the_console_is_ignored_from_then_on(app: Flask) -> None:
    console = make_console()
    code = give_code(console.campaign, console.partner.organization, "toRevoke_01")
    assert _sign(app, console.campaign.slug, code.code, "before@example.org")[0] == 303
    organizer = logged_in(app, console.organizer, console)
    answer = organizer.post(
        f"/console/campaigns/{console.campaign.slug}/sources/{code.code}/revoke"
    )
    assert answer.status_code == 303
    assert _sign(app, console.campaign.slug, code.code, "after@example.org")[0] == 303
    first, second = stored_signatures()
    # Past signatures stay attributed; new ones are not.
    assert (first.source_code_id, second.source_code_id) == (code.id, None)
    # Revoking twice changes nothing; a code of nothing is a 404.
    again = organizer.post(f"/console/campaigns/{console.campaign.slug}/sources/{code.code}/revoke")
    assert again.status_code == 303
    assert (
        organizer.post(
            f"/console/campaigns/{console.campaign.slug}/sources/noSuchCode1/revoke"
        ).status_code
        == 404
    )


def test_codes_are_random_url_safe_and_made_when_a_partner_co_hosts(app: Flask) -> None:
    console = make_console()
    second = create_organization("second-partner", kind=OrganizationKind.partner)
    console.campaign.partners.append(second)
    made = ensure_partner_codes(console.campaign)
    db.session.commit()
    # Both partners had none: one each; a second call makes none.
    assert {c.organization_id for c in made} == {console.partner.organization_id, second.id}
    assert ensure_partner_codes(console.campaign) == []
    for code in made:
        assert CODE_PATTERN.fullmatch(code.code)
        assert "partner" not in code.code.lower()
    assert made[0].code != made[1].code
    assert {c.code for c in made} <= set(live_codes().by_code)


def test_the_console_makes_a_code_when_a_partner_is_added(app: Flask) -> None:
    console = make_console()
    new_partner = create_organization("new-partner", kind=OrganizationKind.partner)
    organizer = logged_in(app, console.organizer, console)
    page = organizer.get(f"/console/campaigns/{console.campaign.slug}/edit")
    assert page.status_code == 200
    form = {
        "slug": console.campaign.slug,
        "kind": "petition",
        "goal": "1000",
        "partners": [str(console.partner.organization_id), str(new_partner.id)],
        "title_ar": "حملة",
        "summary_ar": "ملخص",
        "body_ar": "نص",
    }
    answer = organizer.post(f"/console/campaigns/{console.campaign.slug}/edit", data=form)
    assert answer.status_code == 303, answer.get_data(as_text=True)[:2000]
    holders = set(
        db.session.execute(
            select(SourceCode.organization_id).where(SourceCode.campaign_id == console.campaign.id)
        ).scalars()
    )
    assert holders == {console.partner.organization_id, new_partner.id}


def test_a_partner_sees_its_figures_from_five_signers_on(app: Flask) -> None:
    console = make_console()
    campaign = console.campaign
    code = give_code(campaign, console.partner.organization, "partnerA_01")
    validated_through(campaign, code, 4, "SY")
    assert partner_figures(campaign.id, [code]).signers is None
    partner = logged_in(app, console.partner, console)
    partner.set_cookie("lang", "en")
    page = partner.get("/console/reach").get_data(as_text=True)
    assert "Fewer than 5 people have signed through your links" in page
    assert "4 signers" not in page

    validated_through(campaign, code, 6, "TR")  # 4 in Syria, 6 in Turkey
    figures = partner_figures(campaign.id, [code])
    assert figures.signers == 10
    # Syria's 4 go to "other", which then holds 4: Turkey joins it too.
    assert figures.by_country == []
    validated_through(campaign, code, 1, "SY")  # 5 in Syria, 6 in Turkey
    figures = partner_figures(campaign.id, [code])
    assert [(c.key, c.signers) for c in figures.by_country] == [("TR", 6), ("SY", 5)]
    page = partner.get("/console/reach").get_data(as_text=True)
    assert "11 signers through your links" in page


def test_a_partner_country_is_not_named_when_the_rest_of_it_is_small(app: Flask) -> None:
    """The public figure for Syria minus the partner's must not single out a few."""
    console = make_console()
    campaign = console.campaign
    code = give_code(campaign, console.partner.organization, "partnerA_02")
    validated_through(campaign, code, 6, "SY")
    validated_through(campaign, code, 6, "TR")
    validated_through(campaign, None, 2, "SY")  # 2 Syrians signed without the partner
    figures = partner_figures(campaign.id, [code])
    named = {c.key for c in figures.by_country}
    assert "SY" not in named
    validated_through(campaign, None, 3, "SY")  # now 5 without the partner
    assert "SY" in {c.key for c in partner_figures(campaign.id, [code]).by_country}


def test_a_partner_days_are_pooled_until_five(app: Flask) -> None:
    console = make_console()
    campaign = console.campaign
    code = give_code(campaign, console.partner.organization, "partnerA_03")
    start = utcnow() - timedelta(days=3)
    validated_through(campaign, code, 2, when=start)
    validated_through(campaign, code, 3, when=start + timedelta(days=1))
    validated_through(campaign, code, 1, when=start + timedelta(days=2))
    figures = partner_figures(campaign.id, [code])
    assert [(d, n) for d, n, _ in figures.by_day] == [((start + timedelta(days=1)).date(), 5)]


def _second_partner() -> tuple[Organization, User]:
    org = create_organization("partner-b", kind=OrganizationKind.partner)
    user = create_user("partner.b@zaytoun.test", "Partner B", PASSWORD, Role.partner, org)
    give_second_factor(user)
    db.session.commit()
    return org, user


def test_a_partner_sees_nothing_of_another_partners_codes(app: Flask) -> None:
    console = make_console()
    campaign = console.campaign
    org_b, user_b = _second_partner()
    campaign.partners.append(org_b)
    db.session.commit()
    code_a = give_code(campaign, console.partner.organization, "codeOfA_001", "Telegram")
    code_b = give_code(campaign, org_b, "codeOfB_001", "Newsletter")
    validated_through(campaign, code_a, 7, "SY")
    validated_through(campaign, code_b, 23, "TR")
    partner_a = logged_in(app, console.partner, console)
    partner_a.set_cookie("lang", "en")
    partner_b = logged_in(app, user_b)
    partner_b.set_cookie("lang", "en")
    for path in ("/console/", "/console/reach", f"/console/campaigns/{campaign.slug}"):
        page_a = partner_a.get(path).get_data(as_text=True)
        page_b = partner_b.get(path).get_data(as_text=True)
        assert code_b.code not in page_a and "Newsletter" not in page_a, path
        assert code_a.code not in page_b and "Telegram" not in page_b, path
        assert "23 signers through" not in page_a and "7 signers through" not in page_b, path
    assert "7 signers through your links" in partner_a.get("/console/reach").get_data(as_text=True)
    assert "23 signers through your links" in partner_b.get("/console/reach").get_data(as_text=True)
    # Neither may open the union's table of every source.
    assert partner_a.get(f"/console/campaigns/{campaign.slug}/sources").status_code == 403
    assert (
        partner_b.post(
            f"/console/campaigns/{campaign.slug}/sources/{code_a.code}/revoke"
        ).status_code
        == 403
    )
    db.session.refresh(code_a)
    assert code_a.revoked_at is None


def test_the_union_sees_every_source_side_by_side(app: Flask) -> None:
    console = make_console()
    campaign = console.campaign
    code_a = give_code(campaign, console.partner.organization, "unionSees01", "Telegram")
    validated_through(campaign, code_a, 3, "SY")
    validated_through(campaign, None, 2, "TR")
    rows = union_sources(campaign.id)
    assert [(r.code.code if r.code else None, r.paper, r.signers) for r in rows] == [
        ("unionSees01", False, 3),
        (None, False, 2),
        (None, True, 0),
    ]
    organizer = logged_in(app, console.organizer, console)
    organizer.set_cookie("lang", "en")
    page = organizer.get(f"/console/campaigns/{campaign.slug}/sources").get_data(as_text=True)
    assert "unionSees01" in page and "Online, without a code" in page
    # Exact for the union: 3 is shown, not held back.
    assert re.search(r"unionSees01</code></td>\s*<td>3</td>", page)
    # The campaign's console page shows the sources side by side to the union only.
    page = organizer.get(f"/console/campaigns/{campaign.slug}").get_data(as_text=True)
    assert "Online, without a code" in page and "Telegram" in page
    partner = logged_in(app, console.partner, console)
    partner.set_cookie("lang", "en")
    page = partner.get(f"/console/campaigns/{campaign.slug}").get_data(as_text=True)
    assert "Online, without a code" not in page and "Telegram" not in page


def test_an_organizer_adds_a_code_for_a_partner_or_the_union_only(app: Flask) -> None:
    console = make_console()
    campaign = console.campaign
    organizer = logged_in(app, console.organizer, console)
    url = f"/console/campaigns/{campaign.slug}/sources"
    for org_id in (campaign.organization_id, console.partner.organization_id):
        assert (
            organizer.post(url, data={"organization": str(org_id), "label": "X"}).status_code == 303
        )
    refused = organizer.post(
        url, data={"organization": str(console.other_campaign.organization_id), "label": "X"}
    )
    assert refused.status_code == 422
    assert organizer.post(url, data={"organization": "abc"}).status_code == 422
    assert (
        organizer.post(
            url, data={"organization": str(campaign.organization_id), "label": "x" * 61}
        ).status_code
        == 422
    )
    owners = (
        db.session.execute(
            select(SourceCode.organization_id).where(SourceCode.campaign_id == campaign.id)
        )
        .scalars()
        .all()
    )
    assert sorted(owners) == sorted([campaign.organization_id, console.partner.organization_id])


def test_the_public_sees_nothing_of_sources(app: Flask) -> None:
    console = make_console()
    campaign = console.campaign
    code = give_code(campaign, console.partner.organization, "publicNo_01", "ChannelCanary")
    validated_through(campaign, code, 6, "SY")
    client = app.test_client()
    slug = campaign.slug
    for path in (
        f"/api/v1/campaigns/{slug}",
        f"/api/v1/campaigns/{slug}/count",
        "/api/v1/campaigns",
        f"/ar/campaigns/{slug}",
        f"/en/campaigns/{slug}/results",
        f"/embed/{slug}?lang=en",
    ):
        body = client.get(path).get_data(as_text=True)
        assert "publicNo_01" not in body and "ChannelCanary" not in body, path
        assert "source_code" not in body, path
    # The figures partners download hold no source either.
    partner = logged_in(app, console.partner, console)
    csv = partner.get(f"/console/campaigns/{slug}/exports/figures.csv").get_data(as_text=True)
    assert "publicNo_01" not in csv and "ChannelCanary" not in csv
    assert db.session.execute(select(Signature.source_code_id)).scalars().all() == [code.id] * 6
