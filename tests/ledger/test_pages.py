"""What a signer and a reader see: the receipt once on confirming, its hash
kept; the ledger page checking a posted receipt and two heads; the results
page's count beside the head it matches."""

from __future__ import annotations

import re

from flask.testing import FlaskClient
from sqlalchemy import event as sa_event
from sqlalchemy import update

from campaigns.counting.services import update_signature_counts
from campaigns.extensions import db
from campaigns.ledger.receipts import receipt_hash
from campaigns.ledger.services import publish_ledger
from campaigns.models import Signature, SignatureState
from campaigns.signing.manage.links import make_manage_token
from campaigns.signing.tokens import make_confirm_token
from tests.factories import create_campaign, create_signature
from tests.signing.support import sign_url, valid_form

RECEIPT = re.compile(r"(?:[A-Z2-7]{4}-){7}[A-Z2-7]{4}")


def _confirm_and_read_receipt(client: FlaskClient, signature: Signature) -> str:
    answer = client.post(f"/en/confirm/{make_confirm_token(signature.uuid)}")
    assert answer.status_code == 303
    page = client.get(answer.headers["Location"]).get_data(as_text=True)
    (code,) = RECEIPT.findall(page)
    # Shown once: the next visit to the page does not carry it.
    again = client.get(answer.headers["Location"]).get_data(as_text=True)
    assert not RECEIPT.findall(again)
    return code


def test_a_confirmation_gives_a_receipt_whose_hash_alone_is_kept(client: FlaskClient) -> None:
    campaign = create_campaign()
    signature = create_signature(campaign, checked=True)
    code = _confirm_and_read_receipt(client, signature)
    db.session.expire_all()
    stored = db.session.get(Signature, signature.id)
    assert stored is not None and stored.state is SignatureState.validated
    assert stored.receipt_hash == receipt_hash(code)
    assert code.replace("-", "").encode() not in (stored.receipt_hash or b"")


def test_the_ledger_page_checks_a_posted_receipt(client: FlaskClient) -> None:
    campaign = create_campaign()
    for _ in range(4):
        create_signature(campaign, SignatureState.validated)
    mine = create_signature(campaign, checked=True)
    code = _confirm_and_read_receipt(client, mine)
    url = f"/en/campaigns/{campaign.slug}/ledger"
    not_yet = client.post(f"{url}/receipt", data={"receipt": code})
    assert "This receipt is not in the ledger" in not_yet.get_data(as_text=True)
    assert not_yet.headers["Cache-Control"] == "no-store"
    update_signature_counts()
    publish_ledger()
    found = client.post(f"{url}/receipt", data={"receipt": code.lower().replace("-", " ")})
    body = found.get_data(as_text=True)
    assert found.status_code == 200
    assert "Your receipt is in the ledger" in body
    assert "Its proof of inclusion in head #1 checks out." in body

    # Withdrawn: the same receipt now shows both entries.
    db.session.execute(
        update(Signature).where(Signature.id == mine.id).values(state=SignatureState.withdrawn)
    )
    db.session.commit()
    update_signature_counts()
    publish_ledger()
    body = client.post(f"{url}/receipt", data={"receipt": code}).get_data(as_text=True)
    assert "Counted" in body and "Withdrawn by its signer" in body

    for bad in ("", "1234", "A" * 31, "Ä" * 32, "x" * 200):
        refused = client.post(f"{url}/receipt", data={"receipt": bad})
        assert refused.status_code == 422, bad
        assert "Type the receipt code of 32 letters and digits" in refused.get_data(as_text=True)

    page = client.get(f"{url}?first=1&second=2").get_data(as_text=True)
    assert "Head #1 is part of head #2: nothing in it was changed or removed." in page
    assert client.get(f"{url}?first=1&second=9").status_code == 404
    assert client.get(f"{url}?first=x&second=2").status_code == 404


def test_the_results_page_shows_the_count_beside_its_head(client: FlaskClient) -> None:
    campaign = create_campaign()
    for _ in range(6):
        create_signature(campaign, SignatureState.validated)
    update_signature_counts()
    page = client.get(f"/en/campaigns/{campaign.slug}/results").get_data(as_text=True)
    assert "ledger head" not in page
    publish_ledger()
    page = client.get(f"/en/campaigns/{campaign.slug}/results").get_data(as_text=True)
    assert re.search(r"6 signatures, ledger head #1, signed on .+ \(UTC\)\.", page)
    for lang in ("ar", "ku", "tr"):
        assert client.get(f"/{lang}/campaigns/{campaign.slug}/ledger").status_code == 200


def test_the_sign_request_does_not_touch_the_ledger(client: FlaskClient) -> None:
    """The ledger costs the sign request nothing: not a statement, not a
    column. Its entries come from the count job, its heads from their own job."""
    campaign = create_campaign()
    statements: list[str] = []

    def record(conn: object, cursor: object, statement: str, *args: object) -> None:
        statements.append(statement.lower())

    engine = db.engine
    sa_event.listen(engine, "before_cursor_execute", record)
    try:
        answer = client.post(sign_url(campaign, "en"), data=valid_form(amount=""))
    finally:
        sa_event.remove(engine, "before_cursor_execute", record)
    assert answer.status_code == 303
    writes = [s for s in statements if s.lstrip().startswith(("insert", "update", "with"))]
    assert writes, "the sign request wrote nothing: the recording missed it"
    assert not [s for s in statements if "ledger" in s or "receipt" in s]


def test_the_manage_page_points_to_the_receipt_check(client: FlaskClient) -> None:
    campaign = create_campaign()
    signature = create_signature(campaign, SignatureState.validated)
    page = client.get(f"/en/manage/{make_manage_token(signature.uuid)}").get_data(as_text=True)
    assert "Your receipt" in page
    assert f"/en/campaigns/{campaign.slug}/ledger" in page
    assert not RECEIPT.findall(page)  # the code itself is kept nowhere to show
