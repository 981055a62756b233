"""Importing paper signatures through the console and the CLI."""

from __future__ import annotations

import io
import json
import re
from collections.abc import Callable
from pathlib import Path

from flask import Flask, g
from flask.testing import FlaskClient
from sqlalchemy import select

from campaigns.counting.services import campaign_count, update_signature_counts
from campaigns.extensions import db
from campaigns.models import (
    Campaign,
    CampaignKind,
    CampaignStatus,
    EmailKind,
    EmailLog,
    PaperImport,
    Role,
    SignatureSource,
    SignatureState,
)
from campaigns.outbox import relay_outbox
from campaigns.privacy.personal import read_personal_data
from campaigns.signing.services import confirm_signature
from campaigns.signing.tokens import make_confirm_token
from tests.factories import create_campaign, create_signature, unused_code
from tests.signing.support import csrf_app, stored_outbox

from .support import (
    PASSWORD,
    audit_entries,
    csv_bytes,
    logged_in,
    make_account,
    read_csv,
    signatures_of,
    stranger,
)

# The columns before deliver_name existed: such files still import (nobody delivered).
HEADER = ["full_name", "email", "phone", "country", "region", "amount", "show_name", "contact_ok"]
TEMPLATE_HEADER = [*HEADER[:7], "deliver_name", "contact_ok", "sheet", "line"]
ONLINE_EMAIL = "layla.online@example.net"
HYPERLINK = '=HYPERLINK("http://evil.test","click")'

# (row number in the spreadsheet, cells, expected outcome, expected reason text)
ROWS: list[tuple[int, list[str], str, str]] = [
    # With an email: stored pending, its owner confirms it by email.
    (2, ["أحمد محمد الحلبي", "Ahmad.Halabi@example.net", "0944 123 456", "SY", "عفرين، حلب",
         "", "نعم", "لا"], "accepted", ""),
    (3, ["فاطمة العلي", "", "+90 532 123 45 67", "tr", "غازي عنتاب", "", "no", "yes"],
     "accepted", ""),
    # Row 2 again: the same mailbox written differently.
    (4, ["احمد الحلبي", "ahmad.halabi+paper@EXAMPLE.net", "", "SY", "حلب", "", "", ""],
     "duplicate", "The same person as row 2."),
    # Signed online before: answered like any row with an email (the report
    # must not say who signed); the mailbox's owner is told instead.
    (5, ["ليلى", ONLINE_EMAIL.upper(), "", "DE", "Berlin", "", "", ""], "accepted", ""),
    (6, ["", "x@example.net", "", "SY", "حلب", "", "", ""], "rejected", "The name is missing."),
    (7, ["خالد", "", "", "XX", "حلب", "", "", ""],
     "rejected", "The country is not a two-letter code such as SY or TR."),
    (8, ["رنا", "", "123", "SY", "إدلب", "", "", ""],
     "rejected", "The phone number is not valid for the country."),
    (9, ["ع" * 101, "", "", "SY", "إدلب", "", "", ""],
     "rejected", "The name is longer than 100 characters."),
    # Row 3 again: no email, same name (other Arabic spelling), region and phone.
    (10, ["فاطِمة العَلي", "", "05321234567", "TR", "غازي  عنتاب", "", "", ""],
     "duplicate", "The same person as row 3."),
    (11, ["يوسف", "", "", "SY", "حماة", "", "maybe", ""],
     "rejected", "show_name must be yes or no."),
    (12, ["سلمى", "not-an-email", "", "SY", "حمص", "", "", ""],
     "rejected", "The email address is not valid."),
    (13, [HYPERLINK, "", "", "SY", "ر" * 81, "", "", ""],
     "rejected", "The city or region is longer than 80 characters."),
    (14, [HYPERLINK, "", "", "SY", "حلب", "", "1", "0"], "accepted", ""),
]


def _upload(client: FlaskClient, campaign: Campaign, data: bytes, name: str = "حلب.csv"):  # type: ignore[no-untyped-def]
    return client.post(
        f"/console/campaigns/{campaign.slug}/paper",
        data={"file": (io.BytesIO(data), name)},
        content_type="multipart/form-data",
        headers={"Accept-Language": "en"},
    )


def _sample_file() -> bytes:
    rows = [HEADER]
    for number, cells, _outcome, _reason in ROWS:
        if number == 12:
            rows.append([""] * len(HEADER))  # a blank line in the sheet: skipped, not row 12
        rows.append(cells)
    return csv_bytes(rows)


def _with_online_signer() -> Campaign:
    campaign = create_campaign()
    create_signature(campaign, state=SignatureState.validated, email=ONLINE_EMAIL, name="ليلى")
    return campaign


def test_import_checks_dedupes_and_stores_each_row(app: Flask, client: FlaskClient) -> None:
    campaign = _with_online_signer()
    logged_in(client, Role.organizer, campaign)

    response = _upload(client, campaign, _sample_file())

    assert response.status_code == 303
    paper_import = db.session.query(PaperImport).one()
    assert response.headers["Location"].endswith(
        f"/console/campaigns/{campaign.slug}/paper/{paper_import.id}"
    )
    # The blank line shifts the numbering: the rows below it keep their sheet numbers.
    expected = {n + (1 if n >= 12 else 0): (outcome, reason) for n, _, outcome, reason in ROWS}
    assert {e["row"]: e["outcome"] for e in paper_import.report} == {
        row: outcome for row, (outcome, _) in expected.items()
    }
    assert (paper_import.accepted, paper_import.duplicates, paper_import.rejected) == (4, 2, 7)
    assert [e["row"] for e in paper_import.report if e.get("confirm")] == [2, 5]

    paper = [s for s in signatures_of(campaign) if s.source is SignatureSource.paper]
    assert len(paper) == 3
    ahmad, fatima, formula = paper
    # With an email: pending until its owner confirms, like a web signature.
    assert ahmad.state is SignatureState.pending and ahmad.validated_at is None
    assert ahmad.ip_hash is None
    for signed_in_person in (fatima, formula):
        assert signed_in_person.state is SignatureState.validated
        assert signed_in_person.validated_at and signed_in_person.checked_at
    assert read_personal_data(ahmad) == {
        "name": "أحمد محمد الحلبي", "email": "Ahmad.Halabi@example.net", "phone": "+963944123456",
        "region": "عفرين، حلب",
    }
    assert (ahmad.country, ahmad.region_code) == ("SY", "SY-HL")
    assert (ahmad.show_name, ahmad.deliver_name, ahmad.contact_ok) == (True, False, False)
    assert ahmad.consent_version == 2
    assert read_personal_data(fatima) == {
        "name": "فاطمة العلي", "email": None, "phone": "+905321234567", "region": "غازي عنتاب",
    }
    assert (fatima.country, fatima.region_code, fatima.contact_ok) == ("TR", "TR-27", True)
    assert read_personal_data(formula)["name"] == HYPERLINK

    # The count job ran: the online signer and the two paper signers without
    # an email; Ahmad counts once he confirms.
    assert campaign_count(campaign.id).signers == 3
    # The same outbox tasks as web signing: Ahmad's confirmation, and the
    # "already signed" email to the online signer for row 5.
    online = next(s for s in signatures_of(campaign) if s.source is SignatureSource.web)
    assert stored_outbox() == [
        ("validate_signature", ahmad.id), ("notify_duplicate_signature", online.id)
    ]


def test_rows_with_an_email_go_through_the_validation_worker(
    app: Flask, client: FlaskClient
) -> None:
    campaign = _with_online_signer()
    logged_in(client, Role.organizer, campaign)
    _upload(client, campaign, _sample_file())

    assert relay_outbox() == 2
    ahmad = next(
        s for s in signatures_of(campaign)
        if s.source is SignatureSource.paper and s.state is SignatureState.pending
    )
    online = next(s for s in signatures_of(campaign) if s.source is SignatureSource.web)
    # No address hash on paper: the rate rules skip the row, which is checked
    # and gets its confirmation email; the online signer is told they had signed.
    assert ahmad.checked_at is not None and ahmad.fraud_reason is None
    logs = db.session.execute(select(EmailLog.kind, EmailLog.signature_id)).all()
    assert sorted(logs, key=lambda log: log[0].value) == sorted(
        [(EmailKind.confirm, ahmad.id), (EmailKind.already_signed, online.id)],
        key=lambda log: log[0].value,
    )
    # Confirming it makes it count, once.
    confirm_signature(make_confirm_token(ahmad.uuid))
    db.session.commit()
    update_signature_counts()
    assert campaign_count(campaign.id).signers == 4


def test_report_page_and_download_say_why_by_row_number_only(
    app: Flask, client: FlaskClient
) -> None:
    campaign = _with_online_signer()
    logged_in(client, Role.organizer, campaign)
    location = _upload(client, campaign, _sample_file()).headers["Location"]

    page = client.get(location, headers={"Accept-Language": "en"})
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    for _n, _cells, outcome, reason in ROWS:
        if outcome != "accepted":
            assert reason.replace("'", "&#39;") in html
    assert "أحمد" not in html and "example.net" not in html

    download = client.get(location + "/report.csv", headers={"Accept-Language": "en"})
    assert download.status_code == 200
    assert download.mimetype == "text/csv"
    assert download.headers["Cache-Control"] == "no-store"
    rows = read_csv(download.data)
    assert rows[0] == ["Row", "Outcome", "Reason"]
    by_row = {int(row[0]): row[1:] for row in rows[1:]}
    waiting = "Accepted, waiting for the person's confirmation by email"
    assert by_row[5] == by_row[2] == [waiting, ""]
    assert by_row[7] == ["Rejected", "The country is not a two-letter code such as SY or TR."]
    assert by_row[3] == ["Accepted", ""]

    # Neither the stored report nor the audit entry holds personal data.
    stored = json.dumps(db.session.query(PaperImport).one().report, ensure_ascii=False)
    entry = audit_entries("paper_import")[0]
    for value in ("أحمد", "فاطمة", "example.net", "944", "حلب", "HYPERLINK"):
        assert value not in stored
        assert value not in json.dumps(entry.details, ensure_ascii=False)
        assert value not in download.get_data(as_text=True)
    assert entry.target_type == "campaign" and entry.target_id == str(campaign.id)
    assert entry.details == {
        "paper_import": db.session.query(PaperImport).one().id,
        "accepted": 4,
        "duplicates": 2,
        "rejected": 7,
    }


def test_import_page_shows_paper_and_online_apart_and_together(
    app: Flask, client: FlaskClient
) -> None:
    campaign = _with_online_signer()
    create_signature(campaign, state=SignatureState.validated)
    create_signature(campaign, state=SignatureState.pending)  # not counted
    logged_in(client, Role.organizer, campaign)
    _upload(client, campaign, _sample_file())

    html = client.get(
        f"/console/campaigns/{campaign.slug}/paper", headers={"Accept-Language": "en"}
    ).get_data(as_text=True)

    figures = dict(re.findall(r"<dt>([^<]+)</dt><dd>([^<]+)</dd>", html))
    assert figures["Signed online"] == "2"
    # Ahmad (row 2, with an email) waits for his confirmation.
    assert figures["Signed on paper"] == "2"
    assert figures["Together"] == "4"
    assert "حلب.csv" in html  # the import is listed, with its report


def test_pledge_amounts_are_checked_against_the_cap(app: Flask, client: FlaskClient) -> None:
    campaign = create_campaign(kind=CampaignKind.pledge, max_amount_per_signer=10)
    logged_in(client, Role.organizer, campaign)
    rows = [
        HEADER,
        ["زيتونة", "", "", "SY", "عفرين", "٣", "", ""],
        ["زيتونة ٢", "", "", "SY", "عفرين", "11", "", ""],
        ["زيتونة ٣", "", "", "SY", "عفرين", "", "", ""],
        ["زيتونة ٤", "", "", "SY", "عفرين", "3.5", "", ""],
    ]
    location = _upload(client, campaign, csv_bytes(rows)).headers["Location"]

    report = read_csv(client.get(location + "/report.csv", headers={"Accept-Language": "en"}).data)
    assert [row[1:] for row in report[1:]] == [
        ["Accepted", ""],
        ["Rejected", "The amount pledged must be from 1 to 10."],
        ["Rejected", "The amount pledged is missing."],
        ["Rejected", "The amount pledged is not a whole number."],
    ]
    assert [s.amount for s in signatures_of(campaign)] == [3]
    assert campaign_count(campaign.id).total == 3


def test_template_has_the_columns_and_its_example_row_is_refused(
    app: Flask, client: FlaskClient
) -> None:
    campaign = create_campaign()
    logged_in(client, Role.organizer, campaign)

    template = client.get(f"/console/campaigns/{campaign.slug}/paper/template.csv")

    assert template.status_code == 200
    rows = read_csv(template.data)
    assert rows[0] == TEMPLATE_HEADER
    assert len(rows) == 2 and "أحمد" in rows[1][0]
    location = _upload(client, campaign, template.data).headers["Location"]
    report = read_csv(client.get(location + "/report.csv", headers={"Accept-Language": "en"}).data)
    assert report[1] == ["2", "Rejected", "This is the example row of the template: delete it."]
    assert signatures_of(campaign) == []


def test_files_that_cannot_be_read_are_refused_with_a_reason(
    app: Flask, client: FlaskClient
) -> None:
    campaign = create_campaign()
    logged_in(client, Role.organizer, campaign)
    arabic_rows = [HEADER, ["أحمد", "", "", "SY", "حلب", "", "", ""]]
    cases = [
        (csv_bytes(arabic_rows, bom=False).decode().encode("cp1256"), 422, "CSV UTF-8"),
        (csv_bytes([["name", "country"], ["أحمد", "SY"]]), 422,
         "Required columns are missing: region."),
        (csv_bytes([["full_name", "country", "region", "e-mail"]]), 422,
         "Unknown columns: e_mail."),
        (csv_bytes([HEADER]), 422, "The file holds no signatures."),
        (csv_bytes([["full_name", "country", "region"]] + [["a", "SY", "b"]] * 20_001), 413,
         "more than 20000 signatures"),
        (b"full_name,country,region\n" + b"x" * (5 * 1024 * 1024), 413,
         "larger than 5 MB"),
        # Past the request limit itself: refused before the file is read.
        (b"x" * (5 * 1024 * 1024 + 100_000), 413, "larger than 5 MB"),
    ]
    for data, status, message in cases:
        response = _upload(client, campaign, data)
        assert response.status_code == status, message
        assert message in response.get_data(as_text=True), message
    assert db.session.query(PaperImport).count() == 0
    assert signatures_of(campaign) == []

    no_file = client.post(
        f"/console/campaigns/{campaign.slug}/paper", data={},
        headers={"Accept-Language": "en"},
    )
    assert no_file.status_code == 422
    assert "Please choose a CSV file." in no_file.get_data(as_text=True)


def test_an_archived_campaign_takes_no_paper_signatures(app: Flask, client: FlaskClient) -> None:
    campaign = create_campaign(status=CampaignStatus.archived)
    logged_in(client, Role.organizer, campaign)
    response = _upload(client, campaign, csv_bytes([HEADER, ROWS[0][1]]))
    assert response.status_code == 422
    assert signatures_of(campaign) == []


def test_only_the_campaign_managers_may_import(app: Flask, client: FlaskClient) -> None:
    campaign = create_campaign()
    url = f"/console/campaigns/{campaign.slug}/paper"
    assert client.get(url).status_code == 302  # to the login page

    logged_in(client, Role.partner, campaign)
    assert client.get(url).status_code == 403
    assert _upload(client, campaign, _sample_file()).status_code == 403
    client.post("/console/logout")

    stranger(client, Role.organizer)  # of another organization: the campaign is not shown
    assert client.get(url).status_code == 404
    assert _upload(client, campaign, _sample_file()).status_code == 404
    assert signatures_of(campaign) == []

    client.post("/console/logout")
    logged_in(client, Role.admin, campaign)
    assert client.get(url).status_code == 200


def test_report_of_another_campaign_is_not_found(app: Flask, client: FlaskClient) -> None:
    campaign, other = create_campaign(), create_campaign()
    logged_in(client, Role.admin, campaign)
    location = _upload(client, campaign, _sample_file()).headers["Location"]
    import_id = location.rsplit("/", 1)[1]
    assert client.get(f"/console/campaigns/{other.slug}/paper/{import_id}").status_code == 404
    assert client.get(location).status_code == 200


def test_cli_import_prints_the_summary_and_writes_the_report(
    app: Flask, tmp_path: Path
) -> None:
    campaign = _with_online_signer()
    source = tmp_path / "paper.csv"
    source.write_bytes(_sample_file())
    report = tmp_path / "report.csv"

    result = app.test_cli_runner().invoke(
        args=["paper", "import", campaign.slug, str(source), "--report", str(report)]
    )

    assert result.exit_code == 0, result.output
    assert (
        "accepted: 4 (waiting for confirmation by email: 2), duplicates: 2, rejected: 7"
        in result.output
    )
    assert "row 7: Rejected: The country is not a two-letter code such as SY or TR." in (
        result.output
    )
    assert "Importing" in result.output  # the progress bar
    assert read_csv(report.read_bytes())[0] == ["Row", "Outcome", "Reason"]
    db.session.rollback()
    assert len([s for s in signatures_of(campaign) if s.source is SignatureSource.paper]) == 3
    assert campaign_count(campaign.id).signers == 3
    [entry] = audit_entries("paper_import")
    assert entry.user_id is None and entry.details["accepted"] == 4

    # The same file again: the same report (it depends on the file only), and
    # nobody is counted twice.
    again = app.test_cli_runner().invoke(args=["paper", "import", campaign.slug, str(source)])
    assert (
        "accepted: 4 (waiting for confirmation by email: 2), duplicates: 2, rejected: 7"
        in again.output
    )
    db.session.rollback()
    assert len([s for s in signatures_of(campaign) if s.source is SignatureSource.paper]) == 3
    assert campaign_count(campaign.id).signers == 3

    missing = app.test_cli_runner().invoke(args=["paper", "import", "nope", str(source)])
    assert missing.exit_code != 0 and "no campaign" in missing.output


def test_upload_is_protected_against_csrf_with_its_larger_limit(
    tmp_path: Path, database_url: Callable[[str], str]
) -> None:
    """The upload view checks the CSRF token itself (after raising the body
    limit for the file): without the token nothing is imported."""
    with csrf_app(tmp_path, database_url) as app:
        client = app.test_client()
        campaign = create_campaign()
        account = make_account(Role.organizer, campaign.organization)
        page = client.get("/console/login")
        html = page.get_data(as_text=True)
        token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', html)
        assert token is not None
        login = client.post(
            "/console/login",
            data={
                "email": account.email,
                "password": PASSWORD,
                "code": unused_code(account.id, account.secret or ""),
                "csrf_token": token.group(1),
            },
        )
        assert login.status_code == 303
        rows = [[f"اسم {i}", "", "", "SY", "حلب", "", "", ""] for i in range(3000)]
        big = csv_bytes([HEADER, *rows])
        assert len(big) > 64 * 1024

        refused = _upload(client, campaign, big)
        assert refused.status_code == 400
        assert signatures_of(campaign) == []

        # Requests here share the test's app context, where Flask-WTF caches the
        # token of the session that the login replaced.
        g.pop("csrf_token", None)
        html = client.get(f"/console/campaigns/{campaign.slug}/paper").get_data(as_text=True)
        token = re.search(r'name="csrf_token" value="([^"]+)"', html)
        assert token is not None
        accepted = client.post(
            f"/console/campaigns/{campaign.slug}/paper",
            data={"file": (io.BytesIO(big), "big.csv"), "csrf_token": token.group(1)},
            content_type="multipart/form-data",
        )
        assert accepted.status_code == 303
        assert len(signatures_of(campaign)) == 3000


def test_deliver_name_is_read_as_given_and_refused_when_unclear(
    app: Flask, client: FlaskClient
) -> None:
    campaign = create_campaign()
    logged_in(client, Role.organizer, campaign)
    rows = [
        TEMPLATE_HEADER,
        ["Rojda Xelîl", "rojda@example.net", "", "SY", "Qamişlo", "", "no", "erê", "no"],
        ["Azad Osman", "azad@example.net", "", "SY", "Kobanî", "", "yes", "", "no"],
        ["Sami Haddad", "sami@example.net", "", "SY", "Azaz", "", "yes", "perhaps", "no"],
    ]
    location = _upload(client, campaign, csv_bytes(rows)).headers["Location"]
    report = read_csv(client.get(location + "/report.csv", headers={"Accept-Language": "en"}).data)
    assert report[1:] == [
        ["2", "Accepted, waiting for the person's confirmation by email", ""],
        ["3", "Accepted, waiting for the person's confirmation by email", ""],
        ["4", "Rejected", "deliver_name must be yes or no."],
    ]
    stored = {read_personal_data(s)["name"]: s for s in signatures_of(campaign)}
    assert set(stored) == {"Rojda Xelîl", "Azad Osman"}
    assert (stored["Rojda Xelîl"].show_name, stored["Rojda Xelîl"].deliver_name) == (False, True)
    assert (stored["Azad Osman"].show_name, stored["Azad Osman"].deliver_name) == (True, False)
    assert read_personal_data(stored["Azad Osman"])["region"] == "Kobanî"
