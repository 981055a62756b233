"""The public ledger on real components: signatures confirmed over HTTP (each
shown its receipt), hundreds more counted, withdrawals by the manage service,
a bulk invalidation run by the Celery worker; the count job and the ledger's
batch run by Celery beat against PostgreSQL through Redis. Then the
independent verifier, as a journalist runs it (its own process, the site's
URL), finds every head signed, every root and count recomputed, and the
ledger's count equal to the public count."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import select

from campaigns.accounts.services import create_user
from campaigns.extensions import db
from campaigns.models import Campaign, Organization, Role, Signature, SignatureState
from campaigns.moderation.invalidation import create_invalidation, start_invalidation
from campaigns.signing.manage.services import withdraw_signature
from tests.factories import create_signature
from tools import verify_ledger as v

from .browser import Browser
from .stack import Site, wait_until
from .test_shared_network import SLUG, confirm_link, read_count, sign

pytestmark = pytest.mark.integration

REPO = Path(__file__).resolve().parents[2]
RECEIPT = re.compile(r"(?:[A-Z2-7]{4}-){7}[A-Z2-7]{4}")
CONFIRMED_OVER_HTTP = 3
COUNTED = {"SY": 200, "TR": 60, "IQ": 40}
WITHDRAWN = 25
TIMEOUT = 90


def _confirm_and_keep_receipt(link: str) -> str:
    browser = Browser()
    page = browser.get(link)
    (form,) = page.forms()
    answer = browser.post(form.action, {"csrf_token": form.fields["csrf_token"]})
    assert answer.status == 303, answer.text
    landing = browser.get(answer.location())  # type: ignore[arg-type]
    (code,) = RECEIPT.findall(landing.text)
    return str(code)


def _head(site: Site) -> dict[str, int] | None:
    head = v.Site(site.url, SLUG).json(f"/api/v1/campaigns/{SLUG}/ledger")["head"]
    return head  # type: ignore[no-any-return]


def test_the_verifier_finds_the_ledger_count_equal_to_the_public_count(site: Site) -> None:
    start = read_count(site)["signers"]
    receipts = []
    for i in range(CONFIRMED_OVER_HTTP):
        address = f"ledger-{i}@example.org"
        sign(site, address, f"Ledger Signer {i}")
        receipts.append(_confirm_and_keep_receipt(confirm_link(site, address)))
    with site.app.app_context():
        campaign = db.session.execute(select(Campaign).where(Campaign.slug == SLUG)).scalar_one()
        for country, n in COUNTED.items():
            for _ in range(n):
                create_signature(campaign, SignatureState.validated, country=country)
        db.session.remove()
    everyone = start + CONFIRMED_OVER_HTTP + sum(COUNTED.values())
    wait_until(
        lambda: read_count(site)["signers"] == everyone,
        TIMEOUT,
        f"the count to reach {everyone}",
        on_timeout=lambda: f"count: {read_count(site)}\n{site.worker.log_tail()}",
    )

    with site.app.app_context():
        campaign = db.session.execute(select(Campaign).where(Campaign.slug == SLUG)).scalar_one()
        syrians = db.session.scalars(
            select(Signature)
            .where(Signature.campaign_id == campaign.id, Signature.country == "SY")
            .limit(WITHDRAWN)
        ).all()
        for signature in syrians:
            assert withdraw_signature(signature)
        admin = create_user(
            "ledger-admin@union.zaytoun.test",
            "Admin",
            "olive-trees-of-afrin-ledger-2026",
            Role.admin,
            db.session.scalars(select(Organization)).first(),
        )
        invalidation = create_invalidation(campaign.id, {"country": "TR"}, "a test wave", admin)
        start_invalidation(invalidation.id)
        db.session.commit()
        db.session.remove()
    remaining = everyone - WITHDRAWN - COUNTED["TR"]
    wait_until(lambda: read_count(site)["signers"] == remaining, TIMEOUT, "the count after")
    wait_until(
        lambda: (head := _head(site)) is not None and head["signers"] == remaining,
        TIMEOUT,
        "a head that holds the withdrawals and the invalidation",
        on_timeout=site.worker.log_tail,
    )

    # In this process, the verifier's functions on what the site serves.
    ledger = v.Site(site.url, SLUG).download()
    verdict = v.verify(ledger, receipts=receipts)
    assert verdict.ok, verdict.problems
    latest = ledger.heads[-1]
    assert latest["signers"] == ledger.public_count["signers"] == remaining  # type: ignore[index]
    assert latest["tree_size"] == everyone + WITHDRAWN + COUNTED["TR"]
    changes = [e["change"] for e in ledger.entries]
    assert changes.count("withdrawn") == WITHDRAWN
    assert changes.count("invalidated") == COUNTED["TR"]
    assert {e["reason"] for e in ledger.entries if e["change"] == "invalidated"} == {"organizer"}
    found = [n for n in verdict.notes if n.startswith("receipt ") and "counted at" in n]
    assert len(found) == CONFIRMED_OVER_HTTP
    assert len(ledger.heads) >= 2 and len(ledger.proofs) == len(ledger.heads) - 1

    # As a journalist runs it: its own process, nothing of the app imported.
    run = subprocess.run(
        [
            sys.executable,
            str(REPO / "tools" / "verify_ledger.py"),
            site.url,
            SLUG,
            "--key",
            ledger.public_key,
            "--receipt",
            receipts[0],
        ],
        capture_output=True,
        text=True,
        timeout=120,
        cwd="/",
        check=False,
    )
    assert run.returncode == 0, run.stdout + run.stderr
    assert "VERDICT: OK" in run.stdout
    assert f"{remaining} signers" in run.stdout
