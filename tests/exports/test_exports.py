"""The signature export (admins only) and the figures for partners."""

from __future__ import annotations

import json
import stat
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient

from campaigns.counting.services import update_signature_counts
from campaigns.exports.signatures import signature_batches
from campaigns.exports.spreadsheet import safe_cell
from campaigns.extensions import db
from campaigns.kernel.regions import match_region
from campaigns.models import Campaign, Role, SignatureSource, SignatureState
from campaigns.privacy.personal import PersonalData, seal_personal_data
from tests.factories import create_campaign, create_signature
from tests.paper.support import audit_entries, logged_in, read_csv, stranger

HYPERLINK = '=HYPERLINK("http://evil.test","click")'


@pytest.mark.parametrize(
    ("value", "safe"),
    [
        (HYPERLINK, "'" + HYPERLINK),
        ("+963944123456", "'+963944123456"),
        ("-1", "'-1"),
        ("@SUM(A1)", "'@SUM(A1)"),
        ("\tx", "'\tx"),
        ("\rx", "'\rx"),
        ("أحمد", "أحمد"),
        ("a=b", "a=b"),
        (3, "3"),
        (None, ""),
    ],
)
def test_cells_that_would_run_as_formulas_are_neutralized(value: object, safe: str) -> None:
    assert safe_cell(value) == safe  # type: ignore[arg-type]


def _sample(campaign: Campaign) -> None:
    create_signature(campaign, state=SignatureState.validated, name=HYPERLINK,
                     email="formula@example.net", show_name=True)
    signature = create_signature(campaign, state=SignatureState.validated, name="أحمد الحلبي",
                                 email="ahmad@example.net", region="عفرين", contact_ok=True)
    signature.personal_data = seal_personal_data(
        PersonalData(
            name="أحمد الحلبي", email="ahmad@example.net", phone="+963944123456", region="عفرين"
        )
    )
    signature.source = SignatureSource.paper
    db.session.commit()
    create_signature(campaign, state=SignatureState.pending, name="Pending Person")
    create_signature(campaign, state=SignatureState.fraudulent, name="Bot Person")


def test_admins_download_validated_signatures_streamed_and_safe(
    app: Flask, client: FlaskClient
) -> None:
    campaign = create_campaign()
    _sample(campaign)
    logged_in(client, Role.admin, campaign)

    response = client.post(f"/console/campaigns/{campaign.slug}/exports/signatures.csv")

    assert response.status_code == 200
    assert response.is_streamed
    assert response.mimetype == "text/csv"
    assert response.headers["Cache-Control"] == "no-store"
    assert "attachment" in response.headers["Content-Disposition"]
    rows = read_csv(response.data)
    assert rows[0] == [
        "created_at", "validated_at", "source", "full_name", "email", "phone",
        "country", "region", "amount", "show_name", "deliver_name", "contact_ok", "consent_version",
    ]
    assert len(rows) == 3  # only the validated signatures
    formula, ahmad = rows[1], rows[2]
    assert formula[3] == "'" + HYPERLINK
    assert formula[2:4] == ["web", "'" + HYPERLINK] and formula[9:] == ["yes", "no", "no", "2"]
    assert ahmad[2:] == [
        "paper", "أحمد الحلبي", "ahmad@example.net", "'+963944123456", "SY", "عفرين", "",
        "no", "no", "yes", "2",
    ]
    assert formula[0].endswith("Z") and formula[1].endswith("Z")

    [entry] = audit_entries("export_signatures")
    assert entry.target_id == str(campaign.id)
    assert entry.details == {"signatures": 2}


def test_batches_walk_every_row_once_in_id_order(app: Flask) -> None:
    campaign = create_campaign()
    ids = [create_signature(campaign, state=SignatureState.validated, name=f"S{i}").id
           for i in range(5)]
    create_signature(create_campaign(), state=SignatureState.validated)  # another campaign

    batches = list(signature_batches(campaign.id, batch=2))

    assert [len(b) for b in batches] == [2, 2, 1]
    assert [row[3] for b in batches for row in b] == [f"S{i}" for i in range(5)]
    assert len(ids) == 5


@pytest.mark.parametrize("role", [Role.organizer, Role.partner])
def test_no_one_but_admins_may_export_signatures(
    app: Flask, client: FlaskClient, role: Role
) -> None:
    campaign = create_campaign()
    _sample(campaign)
    url = f"/console/campaigns/{campaign.slug}/exports/signatures.csv"
    anonymous = client.post(url)
    assert anonymous.status_code == 302

    logged_in(client, role, campaign)
    response = client.post(url)

    assert response.status_code == 403
    assert b"example.net" not in response.data
    assert audit_entries("export_signatures") == []


def test_exports_page_offers_each_role_what_it_may_have(
    app: Flask, client: FlaskClient
) -> None:
    campaign = create_campaign()
    url = f"/console/campaigns/{campaign.slug}/exports"
    expected = {
        Role.partner: (True, False, False),
        Role.organizer: (True, True, False),
        Role.admin: (True, True, True),
    }
    for role, (figures, delivery, signatures) in expected.items():
        logged_in(client, role, campaign)
        html = client.get(url).get_data(as_text=True)
        assert ("exports/figures.csv" in html) is figures
        assert ("exports/delivery.pdf" in html) is delivery
        assert ("exports/signatures.csv" in html) is signatures
        client.post("/console/logout")
    stranger(client, Role.partner)
    assert client.get(url).status_code == 404


def test_partners_get_figures_without_personal_data_small_buckets_merged(
    app: Flask, client: FlaskClient
) -> None:
    campaign = create_campaign()
    people = (
        [("SY", "حلب")] * 5 + [("SY", "دمشق")] * 2 + [("TR", "Gaziantep")] * 5
        + [("DE", "Berlin")] * 2 + [("FR", "Paris")]
    )
    for i, (country, region) in enumerate(people):
        create_signature(campaign, state=SignatureState.validated, country=country,
                         region=region, region_code=match_region(country, region),
                         name=f"Named Person {i}", email=f"p{i}@example.net")
    update_signature_counts()
    logged_in(client, Role.partner, campaign)

    response = client.get(
        f"/console/campaigns/{campaign.slug}/exports/figures.csv",
        headers={"Accept-Language": "en"},
    )

    assert response.status_code == 200
    rows = read_csv(response.data)
    assert rows[0] == ["Breakdown", "Country", "Region", "Day", "Name", "Signers", "Total"]
    body = response.get_data(as_text=True)
    for personal in ("Named Person", "example.net", "Berlin", "Paris", "حلب"):
        assert personal not in body
    assert ["All", "", "", "", "", "15", "15"] in rows
    countries = [row for row in rows if row[0] == "Country"]
    # Germany's 2 and France's 1 would make "other: 3": Turkey, the smallest
    # named country, joins them, and so gets no regions.
    assert [(r[1], r[5]) for r in countries] == [("SY", "7"), ("other", "8")]
    assert countries[-1][4] == "Other countries"
    # Aleppo's 5 beside Syria's 7 would give away Damascus's 2.
    assert [row for row in rows if row[0] == "Region"] == []
    days = [row for row in rows if row[0] == "Day"]
    assert len(days) == 1 and days[0][5] == "15"

    client.post("/console/logout")
    stranger(client, Role.partner)
    other = client.get(f"/console/campaigns/{campaign.slug}/exports/figures.csv")
    assert other.status_code == 404


def test_cli_export_writes_a_private_file_with_a_progress_bar(
    app: Flask, tmp_path: Path
) -> None:
    campaign = create_campaign()
    _sample(campaign)
    out = tmp_path / "signatures.csv"

    result = app.test_cli_runner().invoke(args=["exports", "signatures", campaign.slug, str(out)])

    assert result.exit_code == 0, result.output
    assert "Exporting" in result.output and "2 signatures written" in result.output
    assert stat.S_IMODE(out.stat().st_mode) == 0o600
    rows = read_csv(out.read_bytes())
    assert len(rows) == 3 and rows[1][3] == "'" + HYPERLINK
    [entry] = audit_entries("export_signatures")
    assert entry.details == {"signatures": 2, "via": "cli"}
    assert "example.net" not in json.dumps(entry.details)
