"""The independent verifier (tools/verify_ledger.py) against the site's API,
and against a ledger someone tampered with: an entry removed or changed, or
the history rewritten and signed again with another key."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from flask import Flask
from flask.testing import FlaskClient
from jsonschema_rs import Draft202012Validator
from sqlalchemy import update

from campaigns.api.openapi import LEDGER_ENTRY
from campaigns.counting.services import update_signature_counts
from campaigns.extensions import db
from campaigns.ledger import merkle
from campaigns.ledger.receipts import new_receipt
from campaigns.ledger.services import publish_ledger
from campaigns.models import Signature, SignatureState
from tests.api.test_api import response_schema
from tests.factories import create_campaign, create_signature
from tools import verify_ledger as v


class ClientSite(v.Site):
    """The verifier's downloader, reading through the test client."""

    def __init__(self, client: FlaskClient, slug: str) -> None:
        super().__init__("http://zaytoun.test", slug)
        self.client = client

    def _get(self, path: str) -> bytes:
        response = self.client.get(path)
        assert response.status_code == 200, (path, response.status_code)
        return response.data


@pytest.fixture
def ledger_site(app: Flask, client: FlaskClient) -> tuple[v.Ledger, str]:
    campaign = create_campaign()
    code, hashed = new_receipt()
    create_signature(campaign, SignatureState.validated, receipt_hash=hashed)
    signatures = [create_signature(campaign, SignatureState.validated) for _ in range(12)]
    update_signature_counts()
    publish_ledger()
    for signature, state in zip(
        signatures[:3],
        [SignatureState.withdrawn, SignatureState.invalidated, SignatureState.held],
        strict=True,
    ):
        db.session.execute(
            update(Signature).where(Signature.id == signature.id).values(state=state)
        )
    db.session.commit()
    update_signature_counts()
    publish_ledger()
    for _ in range(5):
        create_signature(campaign, SignatureState.validated)
    update_signature_counts()
    publish_ledger()
    return ClientSite(client, campaign.slug).download(), code


def test_the_published_ledger_checks_out(ledger_site: tuple[v.Ledger, str]) -> None:
    ledger, code = ledger_site
    assert [h["number"] for h in ledger.heads] == [1, 2, 3]
    assert len(ledger.entries) == 21
    verdict = v.verify(ledger, pinned_key=ledger.public_key, receipts=[code])
    assert verdict.ok, verdict.problems
    assert ledger.heads[-1]["signers"] == 15 == ledger.public_count["signers"]  # type: ignore[index]
    assert any("counted at position" in note for note in verdict.notes)
    assert len(ledger.proofs) == 2


def test_a_saved_copy_checks_out_offline(ledger_site: tuple[v.Ledger, str], tmp_path: Path) -> None:
    ledger, _ = ledger_site
    v.save(ledger, tmp_path / "saved")
    assert v.main(["--from", str(tmp_path / "saved"), "--key", ledger.public_key]) == 0
    assert (
        v.main(
            [
                "--from",
                str(tmp_path / "saved"),
                "--previous",
                str(tmp_path / "saved" / "heads.json"),
            ]
        )
        == 0
    )


def test_an_entry_removed_is_caught(ledger_site: tuple[v.Ledger, str]) -> None:
    ledger, _ = ledger_site
    tampered = copy.deepcopy(ledger)
    # The withdrawal disappears; positions renumbered so the list looks whole.
    gone = next(i for i, e in enumerate(tampered.entries) if e["change"] == "withdrawn")
    del tampered.entries[gone]
    for i, e in enumerate(tampered.entries):
        e["position"] = i
    verdict = v.verify(tampered)
    assert not verdict.ok
    assert any("another root" in p for p in verdict.problems)


def test_an_entry_changed_is_caught(ledger_site: tuple[v.Ledger, str]) -> None:
    ledger, _ = ledger_site
    tampered = copy.deepcopy(ledger)
    entry = next(e for e in tampered.entries if e["change"] == "invalidated")
    entry["change"] = "counted"
    entry["reason"] = None
    verdict = v.verify(tampered)
    assert not verdict.ok
    assert any("another root" in p for p in verdict.problems)
    assert any("the entries count" in p for p in verdict.problems)


def _rewritten(ledger: v.Ledger) -> tuple[v.Ledger, str]:
    """The history rewritten (the withdrawal dropped), every head recomputed
    and signed again with another key that the site now serves."""
    other = Ed25519PrivateKey.generate()
    key = other.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw).hex()
    entries = [e for e in copy.deepcopy(ledger.entries) if e["change"] != "withdrawn"]
    for i, e in enumerate(entries):
        e["position"] = i
    heads: list[dict[str, Any]] = []
    leaves = [v.entry_leaf(e) for e in entries]
    for old in ledger.heads:
        size = min(old["tree_size"], len(entries)) - (1 if old["number"] > 1 else 0)
        signers = sum(1 if e["change"] == "counted" else -1 for e in entries[:size])
        total = sum(e["units"] if e["change"] == "counted" else -e["units"] for e in entries[:size])
        head = {
            **old,
            "tree_size": size,
            "root_hash": merkle.root_of(leaves[:size]).hex(),
            "signers": signers,
            "total": total,
        }
        head["signature"] = other.sign(v.head_message(head)).hex()
        heads.append(head)
    return v.Ledger(ledger.slug, key, heads, entries, ledger.public_count), key


def test_a_history_signed_again_with_another_key_is_caught(
    ledger_site: tuple[v.Ledger, str],
) -> None:
    ledger, _ = ledger_site
    rewritten, other_key = _rewritten(ledger)
    assert other_key != ledger.public_key
    # Consistent in itself: only what was kept from before can tell.
    assert v.verify(rewritten).ok
    pinned = v.verify(rewritten, pinned_key=ledger.public_key)
    assert not pinned.ok
    assert any("not the key you trust" in p for p in pinned.problems)
    assert any("signature does not verify" in p for p in pinned.problems)
    remembered = v.verify(rewritten, previous=ledger.heads)
    assert not remembered.ok
    assert any("no longer in the history" in p for p in remembered.problems)


def test_a_head_with_a_bad_signature_is_caught(ledger_site: tuple[v.Ledger, str]) -> None:
    ledger, _ = ledger_site
    tampered = copy.deepcopy(ledger)
    tampered.heads[1]["signed_at"] = "2020-01-01T00:00:00Z"
    verdict = v.verify(tampered)
    assert verdict.problems == ["head #2: the signature does not verify"]


def test_a_bad_consistency_proof_is_caught(ledger_site: tuple[v.Ledger, str]) -> None:
    ledger, _ = ledger_site
    tampered = copy.deepcopy(ledger)
    proof = tampered.proofs[(1, 2)]
    proof[0] = "00" * 32
    assert v.verify(tampered).problems == ["heads #1 and #2 are not consistent"]


def test_the_api_answers_proofs_and_refuses_bad_numbers(
    ledger_site: tuple[v.Ledger, str], client: FlaskClient
) -> None:
    ledger, _ = ledger_site
    base = f"/api/v1/campaigns/{ledger.slug}/ledger"
    head = client.get(base).get_json()["head"]
    assert head == ledger.heads[-1]
    answer = client.get(f"{base}/inclusion?head=3&position=4").get_json()
    assert v.verify_inclusion(
        v.entry_leaf(answer["entry"]),
        4,
        head["tree_size"],
        [bytes.fromhex(p) for p in answer["proof"]],
        bytes.fromhex(head["root_hash"]),
    )
    for query in (
        "/inclusion?head=3&position=999",
        "/inclusion?head=x&position=1",
        "/consistency?first=3&second=1",
        "/consistency?first=-1&second=2",
        "/entries?count=0",
        "/entries?count=10001",
        "/heads?after=%D9%A3",
    ):
        response = client.get(base + query)
        assert response.status_code == 400, query
        assert response.get_json() == {"error": "bad_request"}
    assert client.get(f"{base}/consistency?first=1&second=9").status_code == 404
    # Past what a 32-bit column holds, on either engine: refused, never an error.
    assert client.get(f"{base}/heads?after=2147483647").get_json() == {"heads": []}
    for query in ("/heads?after=2147483648", "/consistency?first=999999999999&second=1",
                  "/entries?start=999999999999"):
        assert client.get(base + query).status_code == 400, query
    assert client.get("/api/v1/campaigns/nope/ledger").status_code == 404
    page = client.get(f"{base}/entries?start=20&count=5")
    assert page.mimetype == "application/jsonl"
    assert [json.loads(line)["position"] for line in page.data.decode().splitlines()] == [20]


@pytest.mark.parametrize("size", range(1, 65))
def test_the_servers_proofs_pass_the_independent_verifier(size: int) -> None:
    leaves = [merkle.leaf_hash(i.to_bytes(4, "big")) for i in range(size)]
    root = merkle.root_of(leaves)
    tree = v.Tree()
    for leaf in leaves:
        tree.append(leaf)
    assert tree.root() == root
    for m in range(size):
        assert v.verify_inclusion(leaves[m], m, size, merkle.inclusion_proof(leaves, m), root)
    for first in range(1, size + 1):
        proof = merkle.consistency_proof(leaves, first)
        assert v.verify_consistency(first, size, merkle.root_of(leaves[:first]), root, proof)


def test_the_answers_follow_the_openapi_document(
    ledger_site: tuple[v.Ledger, str], client: FlaskClient
) -> None:
    ledger, _ = ledger_site
    slug = ledger.slug
    for path, url in (
        ("/api/v1/ledger/key", "/api/v1/ledger/key"),
        ("/api/v1/campaigns/{slug}/ledger", f"/api/v1/campaigns/{slug}/ledger"),
        ("/api/v1/campaigns/{slug}/ledger/heads", f"/api/v1/campaigns/{slug}/ledger/heads"),
        (
            "/api/v1/campaigns/{slug}/ledger/consistency",
            f"/api/v1/campaigns/{slug}/ledger/consistency?first=1&second=3",
        ),
        (
            "/api/v1/campaigns/{slug}/ledger/inclusion",
            f"/api/v1/campaigns/{slug}/ledger/inclusion?head=2&position=3",
        ),
    ):
        response_schema(path).validate(client.get(url).get_json())
    each_line = Draft202012Validator(LEDGER_ENTRY, validate_formats=True)
    for e in ledger.entries:
        each_line.validate(e)
