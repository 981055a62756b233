"""The delivery document: a PDF with the petition, the totals, the named
signers and a hash chain that verifies from the listed lines."""

from __future__ import annotations

import shutil
import stat
import subprocess
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from flask_babel import force_locale

from campaigns.console import exports as console_exports
from campaigns.counting.services import update_signature_counts
from campaigns.exports.delivery import (
    canonical_line,
    collect_delivery,
    delivery_html,
    petition_text,
    verify_chain,
)
from campaigns.exports.pdf import FONT_DIRS
from campaigns.extensions import db
from campaigns.ledger.services import latest_head, publish_ledger
from campaigns.models import Campaign, Role, SignatureState
from tests.factories import create_campaign, create_signature
from tests.paper.support import audit_entries, logged_in, stranger

NAMED = [("أحمد الحلبي", "SY"), ("Rojda Xelîl", "TR"), ("Zozan Mustafa", "DE")]


def _campaign() -> Campaign:
    campaign = create_campaign("no-russia-on-hrc")
    campaign.texts["ar"].title = "لا لروسيا في مجلس حقوق الإنسان"
    campaign.texts["ar"].body = "نحن الموقعين أدناه نطالب بإخراج روسيا من المجلس.\r\nاتحاد ثوار حلب"
    campaign.texts["en"].title = "No Russia on the Human Rights Council"
    campaign.texts["en"].body = "We call for Russia's removal from the Council."
    db.session.commit()
    for i, (name, country) in enumerate(NAMED):
        create_signature(campaign, state=SignatureState.validated, name=name, country=country,
                         show_name=i != 1, deliver_name=True)
        if i == 0:  # the others sign without their name, in between
            for j in range(6):
                create_signature(campaign, state=SignatureState.validated,
                                 name=f"Hidden Person {j}", country="SY")
            # On the public list only: not in the delivered petition.
            create_signature(campaign, state=SignatureState.validated, name="Listed Only",
                             country="SY", show_name=True)
            # Agreed to the old "name on the list" wording, which never spoke of delivery.
            create_signature(campaign, state=SignatureState.validated, name="Old Wording",
                             country="SY", show_name=True, consent_version=1)
    create_signature(campaign, state=SignatureState.pending, name="Pending Named",
                     show_name=True, deliver_name=True)
    erased = create_signature(campaign, state=SignatureState.validated, name="Erased Named",
                              show_name=True, deliver_name=True, country="TR")
    erased.personal_data = None
    db.session.commit()
    return campaign


def _expected_lines() -> list[str]:
    return [canonical_line(i, name, country) for i, (name, country) in enumerate(NAMED, 1)]


def _text(pdf: bytes, tmp_path: Path, campaign: Campaign, **options: Any) -> str:
    """The document's text: from the PDF with pdftotext where poppler is
    installed, else from WeasyPrint's layout of the same document."""
    if shutil.which("pdftotext"):
        path = tmp_path / "document.pdf"
        path.write_bytes(pdf)
        return subprocess.run(
            ["pdftotext", "-layout", str(path), "-"], capture_output=True, check=True
        ).stdout.decode()
    from weasyprint import HTML

    document = HTML(
        string=delivery_html(collect_delivery(campaign, **options)),
        base_url=FONT_DIRS[0].as_uri() + "/",
    ).render()
    texts: list[str] = []

    def walk(box: Any) -> None:
        if getattr(box, "text", None):
            texts.append(box.text)
        for child in getattr(box, "children", ()):
            walk(child)

    for page in document.pages:
        walk(page._page_box)
    return "\n".join(texts)


def _fonts(pdf: bytes, tmp_path: Path) -> str:
    path = tmp_path / "fonts.pdf"
    path.write_bytes(pdf)
    return subprocess.run(["pdffonts", str(path)], capture_output=True, check=True).stdout.decode()


def test_organizers_get_the_delivery_document_with_a_verifiable_chain(
    app: Flask, client: FlaskClient, tmp_path: Path
) -> None:
    campaign = _campaign()
    logged_in(client, Role.organizer, campaign)

    response = client.post(
        f"/console/campaigns/{campaign.slug}/exports/delivery.pdf",
        data={"lang": "ar", "english": "1"},
    )

    assert response.status_code == 200
    assert response.mimetype == "application/pdf"
    assert response.headers["Cache-Control"] == "no-store"
    pdf = response.data
    assert pdf.startswith(b"%PDF")

    # The chain verifies from the listed lines, and its final value is audited.
    [entry] = audit_entries("delivery_document")
    final = entry.details["final_hash"]
    start_text = petition_text(campaign.texts["ar"])
    assert "\r" not in start_text
    assert verify_chain(campaign.slug, start_text, _expected_lines()) == final
    assert entry.details == {
        "signers": 12, "named": 3, "final_hash": final, "lang": "ar",
    }
    altered = [*_expected_lines()[:2], canonical_line(3, "Zozan Mustafá", "DE")]
    assert verify_chain(campaign.slug, start_text, altered) != final
    assert verify_chain(campaign.slug, start_text, _expected_lines()[::-1]) != final

    text = _text(pdf, tmp_path, campaign, lang="ar", english=True)
    assert final in text
    delivery = collect_delivery(campaign, lang="ar", english=True)
    assert delivery.final == final
    for signer in delivery.named:
        assert signer.short in text
    assert delivery.start in text
    for name in ("Rojda Xelîl", "Zozan Mustafa", "no-russia-on-hrc",
                 "We call for Russia's removal from the Council."):
        assert name in text
    for absent in ("Hidden Person", "Pending Named", "Erased Named", "example.org"):
        assert absent not in text

    if shutil.which("pdffonts"):
        # Our Arabic and Latin fonts, embedded; no fallback to a system font.
        fonts = _fonts(pdf, tmp_path).splitlines()[2:]
        assert {line.split()[0].split("+")[1] for line in fonts} == {
            "Zaytoun-Arabic", "Zaytoun-Arabic-Bold", "Zaytoun-Latin", "Zaytoun-Latin-Bold",
        }
        assert all(" yes " in line for line in fonts)
    if shutil.which("pdfdetach"):
        path = tmp_path / "document.pdf"
        path.write_bytes(pdf)
        subprocess.run(
            ["pdfdetach", "-save", "1", "-o", str(tmp_path / "signers.txt"), str(path)],
            check=True,
        )
        attached = (tmp_path / "signers.txt").read_text(encoding="utf-8").splitlines()
        assert attached == _expected_lines()
        assert verify_chain(campaign.slug, start_text, attached) == final


def test_counts_by_country_name_no_one_who_did_not_agree(app: Flask) -> None:
    campaign = _campaign()

    delivery = collect_delivery(campaign)

    assert (delivery.signers, len(delivery.named), delivery.unnamed) == (12, 3, 9)
    # Only those who agreed to the delivered petition, whatever they chose for the list.
    assert [(s.name, s.country) for s in delivery.named] == NAMED
    # Eight unnamed in Syria (six hidden, one listed only, one under the old
    # wording) and the erased one in Turkey: "other: 1" would name him, and
    # Syria's 8 beside the 9 unnamed would too. No country is shown; the
    # document gives the totals as one row.
    assert delivery.by_country == []
    assert delivery.unnamed_by_country == []
    with force_locale("en"):
        delivery.lang = "en"
        html = delivery_html(delivery)
    assert "Listed Only" not in html and "Old Wording" not in html
    assert "and 9 more who signed without their names printed" in html


def test_no_unnamed_count_can_be_derived_from_the_names(app: Flask) -> None:
    campaign = _campaign()
    for j in range(5):
        create_signature(campaign, state=SignatureState.validated, name=f"German {j}",
                         country="DE")

    delivery = collect_delivery(campaign)

    # Unnamed: Syria 8, Germany 5, Turkey 1; Germany, the smallest, joins Turkey.
    assert delivery.unnamed_by_country == [
        {"country": "SY", "signers": 8, "total": 8},
        {"country": "other", "signers": 6, "total": 6},
    ]
    # Syria's 9 less its one name, and "other" less its two names: 8 and 6.
    assert delivery.by_country == [
        {"country": "SY", "signers": 9, "total": 9},
        {"country": "other", "signers": 8, "total": 8},
    ]


def test_only_those_who_manage_the_campaign_get_the_document(
    app: Flask, client: FlaskClient
) -> None:
    campaign = create_campaign()
    url = f"/console/campaigns/{campaign.slug}/exports/delivery.pdf"
    logged_in(client, Role.partner, campaign)
    assert client.post(url).status_code == 403
    client.post("/console/logout")
    stranger(client, Role.organizer)
    assert client.post(url).status_code == 404
    assert audit_entries("delivery_document") == []


def test_a_list_too_long_for_a_request_points_to_the_command(
    app: Flask, client: FlaskClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    campaign = _campaign()
    monkeypatch.setattr(console_exports, "WEB_DELIVERY_LIMIT", 2)
    logged_in(client, Role.admin, campaign)

    response = client.post(f"/console/campaigns/{campaign.slug}/exports/delivery.pdf")

    assert response.status_code == 422
    assert f"flask exports delivery {campaign.slug}" in response.get_data(as_text=True)
    assert audit_entries("delivery_document") == []


def test_cli_makes_the_document_of_any_size(app: Flask, tmp_path: Path) -> None:
    campaign = _campaign()
    out = tmp_path / "delivery.pdf"

    result = app.test_cli_runner().invoke(
        args=["exports", "delivery", campaign.slug, str(out), "--lang", "en", "--english"]
    )

    assert result.exit_code == 0, result.output
    final = verify_chain(campaign.slug, petition_text(campaign.texts["ar"]), _expected_lines())
    assert f"final chain value {final}" in result.output
    assert out.read_bytes().startswith(b"%PDF")
    assert stat.S_IMODE(out.stat().st_mode) == 0o600
    [entry] = audit_entries("delivery_document")
    assert entry.details["via"] == "cli" and entry.details["lang"] == "en"


def test_the_document_names_the_signed_head_it_was_made_at(app: Flask) -> None:
    campaign = _campaign()
    with force_locale("en"):
        before = delivery_html(collect_delivery(campaign, lang="en"))
    assert "public ledger" not in before
    update_signature_counts()
    publish_ledger()
    head = latest_head(campaign.id)
    assert head is not None
    delivery = collect_delivery(campaign, lang="en")
    assert delivery.ledger_head == head
    with force_locale("en"):
        html = delivery_html(delivery)
    assert f"latest signed head was #{head.number}" in html
    assert f"{head.signers} signatures" in html
    assert head.root_hash.hex() in html
    command = f"verify_ledger.py http://zaytoun.test no-russia-on-hrc --head {head.number}"
    assert command in html
