#!/usr/bin/env python3
"""Check a Zaytoun campaign's public ledger on your own computer.

    python3 tools/verify_ledger.py https://zaytoun.example no-russia-on-hrc
    python3 tools/verify_ledger.py https://zaytoun.example no-russia-on-hrc --save ledger/
    python3 tools/verify_ledger.py --from ledger/ --previous old-heads.json --key <hex>

It needs Python 3.11 and the ``cryptography`` package, nothing of the site's
code, database or server. It checks that every signed tree head is signed by
the union's key, that the entries recompute every head's root and counts,
that each head is consistent with the next (RFC 9162 consistency proofs),
and, with ``--previous``, that heads you saved before are still part of the
history (nothing rewritten). It prints a verdict and exits 0 if all holds,
1 if anything fails.

The hashing is written here again from RFC 9162 §2.1, on purpose: it shares
no code with the server it checks."""

from __future__ import annotations

import argparse
import hashlib
import itertools
import json
import sys
import urllib.parse
import urllib.request
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

PAGE = 10_000
USER_AGENT = "zaytoun-ledger-verifier/1"


# --- RFC 9162 §2.1 -------------------------------------------------------------


def leaf_hash(data: bytes) -> bytes:
    return hashlib.sha256(b"\x00" + data).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    return hashlib.sha256(b"\x01" + left + right).digest()


class Tree:
    """The ledger's tree grown one leaf at a time: a stack of (height, hash)
    of the perfect subtrees it is made of; the root folds them right to left."""

    def __init__(self) -> None:
        self.size = 0
        self.stack: list[tuple[int, bytes]] = []

    def append(self, leaf: bytes) -> None:
        height, value = 0, leaf
        while self.stack and self.stack[-1][0] == height:
            _, left = self.stack.pop()
            value = node_hash(left, value)
            height += 1
        self.stack.append((height, value))
        self.size += 1

    def root(self) -> bytes:
        if not self.stack:
            return hashlib.sha256(b"").digest()
        value = self.stack[-1][1]
        for _, left in reversed(self.stack[:-1]):
            value = node_hash(left, value)
        return value


def verify_inclusion(
    leaf: bytes, index: int, size: int, path: Sequence[bytes], root: bytes
) -> bool:
    """RFC 9162 §2.1.3.2."""
    if index >= size or index < 0:
        return False
    fn, sn, r = index, size - 1, leaf
    for p in path:
        if sn == 0:
            return False
        if fn % 2 == 1 or fn == sn:
            r = node_hash(p, r)
            if fn % 2 == 0:
                while fn % 2 == 0 and fn != 0:
                    fn, sn = fn // 2, sn // 2
        else:
            r = node_hash(r, p)
        fn, sn = fn // 2, sn // 2
    return sn == 0 and r == root


def verify_consistency(
    first: int, second: int, first_root: bytes, second_root: bytes, path: Sequence[bytes]
) -> bool:
    """RFC 9162 §2.1.4.2."""
    if first == second:
        return first_root == second_root and not path
    if first <= 0 or first > second or not path:
        return False
    proof = list(path)
    if first & (first - 1) == 0:
        proof = [first_root, *proof]
    fn, sn = first - 1, second - 1
    while fn % 2 == 1:
        fn, sn = fn // 2, sn // 2
    fr = sr = proof[0]
    for c in proof[1:]:
        if sn == 0:
            return False
        if fn % 2 == 1 or fn == sn:
            fr, sr = node_hash(c, fr), node_hash(c, sr)
            if fn % 2 == 0:
                while fn % 2 == 0 and fn != 0:
                    fn, sn = fn // 2, sn // 2
        else:
            sr = node_hash(sr, c)
        fn, sn = fn // 2, sn // 2
    return sn == 0 and fr == first_root and sr == second_root


# --- what the site publishes -----------------------------------------------------


def entry_leaf(entry: dict[str, Any]) -> bytes:
    lines = [
        "zaytoun-ledger-entry-v1",
        entry["receipt_hash"],
        entry["change"],
        entry["reason"] or "",
        str(entry["units"]),
        entry["day"],
    ]
    return leaf_hash("\n".join(lines).encode("ascii"))


def head_message(head: dict[str, Any]) -> bytes:
    lines = [
        "zaytoun-ledger-head-v1",
        head["campaign"],
        str(head["number"]),
        str(head["tree_size"]),
        head["root_hash"],
        str(head["signers"]),
        str(head["total"]),
        head["signed_at"],
    ]
    return "\n".join(lines).encode("utf-8")


def receipt_hash(code: str) -> str:
    clean = "".join(code.split()).replace("-", "").upper()
    return hashlib.sha256(clean.encode("ascii")).hexdigest()


@dataclass
class Ledger:
    slug: str
    public_key: str
    heads: list[dict[str, Any]]
    entries: list[dict[str, Any]]
    public_count: dict[str, Any] | None = None
    proofs: dict[tuple[int, int], list[str]] = field(default_factory=dict)


class Site:
    """The site's public JSON API, read with the standard library."""

    def __init__(self, base: str, slug: str) -> None:
        if urllib.parse.urlsplit(base).scheme not in {"http", "https"}:
            raise SystemExit("the site's address starts with https:// (or http://)")
        self.base = base.rstrip("/")
        self.slug = urllib.parse.quote(slug, safe="")

    def _get(self, path: str) -> bytes:
        # The scheme is checked in __init__: http or https only.
        request = urllib.request.Request(  # noqa: S310
            self.base + path, headers={"User-Agent": USER_AGENT}
        )
        with urllib.request.urlopen(request, timeout=60) as response:  # noqa: S310
            body: bytes = response.read()
            return body

    def json(self, path: str) -> Any:
        return json.loads(self._get(path))

    def download(self) -> Ledger:
        key = self.json("/api/v1/ledger/key")["public_key"]
        heads: list[dict[str, Any]] = []
        while True:
            after = heads[-1]["number"] if heads else 0
            page = self.json(f"/api/v1/campaigns/{self.slug}/ledger/heads?after={after}")["heads"]
            if not page:
                break
            heads.extend(page)
        entries: list[dict[str, Any]] = []
        size = heads[-1]["tree_size"] if heads else 0
        while len(entries) < size:
            body = self._get(
                f"/api/v1/campaigns/{self.slug}/ledger/entries?start={len(entries)}&count={PAGE}"
            )
            page = [json.loads(line) for line in body.decode().splitlines() if line]
            if not page:
                break
            entries.extend(page)
        count = self.json(f"/api/v1/campaigns/{self.slug}/count")
        ledger = Ledger(urllib.parse.unquote(self.slug), key, heads, entries[:size], count)
        for older, newer in itertools.pairwise(heads):
            answer = self.json(
                f"/api/v1/campaigns/{self.slug}/ledger/consistency"
                f"?first={older['number']}&second={newer['number']}"
            )
            ledger.proofs[(older["number"], newer["number"])] = answer["proof"]
        return ledger


def save(ledger: Ledger, folder: Path) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "key.json").write_text(json.dumps({"public_key": ledger.public_key}))
    (folder / "heads.json").write_text(json.dumps({"heads": ledger.heads}, indent=1))
    (folder / "count.json").write_text(json.dumps(ledger.public_count))
    with (folder / "entries.jsonl").open("w") as handle:
        for entry in ledger.entries:
            handle.write(json.dumps(entry, sort_keys=True, separators=(",", ":")) + "\n")
    proofs = [{"first": a, "second": b, "proof": p} for (a, b), p in ledger.proofs.items()]
    (folder / "proofs.json").write_text(json.dumps(proofs))


def load(folder: Path) -> Ledger:
    heads = json.loads((folder / "heads.json").read_text())["heads"]
    entries = [
        json.loads(line) for line in (folder / "entries.jsonl").read_text().splitlines() if line
    ]
    count_file = folder / "count.json"
    proofs_file = folder / "proofs.json"
    ledger = Ledger(
        heads[0]["campaign"] if heads else "",
        json.loads((folder / "key.json").read_text())["public_key"],
        heads,
        entries,
        json.loads(count_file.read_text()) if count_file.exists() else None,
    )
    if proofs_file.exists():
        for p in json.loads(proofs_file.read_text()):
            ledger.proofs[(p["first"], p["second"])] = p["proof"]
    return ledger


# --- the checks ---------------------------------------------------------------------


@dataclass
class Verdict:
    problems: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def fail(self, message: str) -> None:
        self.problems.append(message)

    @property
    def ok(self) -> bool:
        return not self.problems


def verify(
    ledger: Ledger,
    pinned_key: str | None = None,
    previous: Iterable[dict[str, Any]] = (),
    receipts: Iterable[str] = (),
) -> Verdict:
    """Every check on a downloaded ledger; the verdict lists what failed."""
    verdict = Verdict()
    if pinned_key and pinned_key.lower() != ledger.public_key.lower():
        verdict.fail(f"the site's key {ledger.public_key} is not the key you trust {pinned_key}")
    key = Ed25519PublicKey.from_public_bytes(bytes.fromhex(pinned_key or ledger.public_key))
    heads = sorted(ledger.heads, key=lambda h: h["number"])
    for i, head in enumerate(heads):
        if head["campaign"] != ledger.slug:
            verdict.fail(f"head #{head['number']} is for another campaign ({head['campaign']})")
        try:
            key.verify(bytes.fromhex(head["signature"]), head_message(head))
        except (InvalidSignature, ValueError):
            verdict.fail(f"head #{head['number']}: the signature does not verify")
        if head["number"] != i + 1:
            verdict.fail(f"head #{head['number']} follows #{i}: a head is missing")
        if i and head["tree_size"] <= heads[i - 1]["tree_size"]:
            verdict.fail(f"head #{head['number']} is not larger than the head before it")

    # Recompute every head's root and counts from the entries, in one pass.
    by_size = {h["tree_size"]: h for h in heads}
    tree, signers, total = Tree(), 0, 0
    for position, entry in enumerate(ledger.entries):
        if entry.get("position") != position:
            verdict.fail(f"entry {position} says it is at position {entry.get('position')}")
            break
        tree.append(entry_leaf(entry))
        sign = 1 if entry["change"] == "counted" else -1
        signers += sign
        total += sign * int(entry["units"])
        at = by_size.get(tree.size)
        if at is not None:
            if tree.root().hex() != at["root_hash"]:
                verdict.fail(f"head #{at['number']}: the entries give another root")
            if (signers, total) != (at["signers"], at["total"]):
                verdict.fail(
                    f"head #{at['number']} says {at['signers']} signers ({at['total']}), "
                    f"the entries count {signers} ({total})"
                )
    if heads and tree.size < heads[-1]["tree_size"]:
        verdict.fail(f"only {tree.size} of the latest head's {heads[-1]['tree_size']} entries")

    # Consistency proofs, as the site serves them (also checked by recomputing).
    for older, newer in itertools.pairwise(heads):
        proof = ledger.proofs.get((older["number"], newer["number"]))
        if proof is None:
            continue
        if not verify_consistency(
            older["tree_size"],
            newer["tree_size"],
            bytes.fromhex(older["root_hash"]),
            bytes.fromhex(newer["root_hash"]),
            [bytes.fromhex(p) for p in proof],
        ):
            verdict.fail(f"heads #{older['number']} and #{newer['number']} are not consistent")

    # Heads saved on an earlier day must still be the history's.
    current = {h["number"]: h for h in heads}
    for old in previous:
        now = current.get(old["number"])
        if now is None or (now["tree_size"], now["root_hash"]) != (
            old["tree_size"],
            old["root_hash"],
        ):
            verdict.fail(f"head #{old['number']} you saved before is no longer in the history")

    for code in receipts:
        wanted = receipt_hash(code)
        found = [e for e in ledger.entries if e["receipt_hash"] == wanted]
        if not found:
            verdict.notes.append(f"receipt {code[:4]}…: not in the ledger (yet?)")
        for e in found:
            verdict.notes.append(
                f"receipt {code[:4]}…: {e['change']} at position {e['position']} on {e['day']}"
            )

    if heads:
        latest = heads[-1]
        verdict.notes.append(
            f"latest head #{latest['number']} signed at {latest['signed_at']}: "
            f"{latest['tree_size']} entries, {latest['signers']} signers, total {latest['total']}"
        )
        count = ledger.public_count
        if count is not None:
            same = (count["signers"], count["total"]) == (latest["signers"], latest["total"])
            verdict.notes.append(
                f"the site's live count: {count['signers']} signers, total {count['total']}"
                + ("" if same else " (changes since the latest head wait for the next one)")
            )
    else:
        verdict.notes.append("no signed head yet")
    return verdict


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("site", nargs="?", help="the site's address, e.g. https://zaytoun.example")
    parser.add_argument("campaign", nargs="?", help="the campaign's slug")
    parser.add_argument("--from", dest="folder", type=Path, help="a folder saved with --save")
    parser.add_argument("--save", type=Path, help="keep what was downloaded in this folder")
    parser.add_argument("--key", help="the union's public key (hex) you trust, from elsewhere")
    parser.add_argument("--previous", type=Path, help="a heads.json you saved before")
    parser.add_argument("--receipt", action="append", default=[], help="a receipt code to find")
    parser.add_argument(
        "--head",
        type=int,
        action="append",
        default=[],
        help="print this head (its number), e.g. the one a delivery document names",
    )
    args = parser.parse_args(argv)
    if args.folder:
        ledger = load(args.folder)
    elif args.site and args.campaign:
        ledger = Site(args.site, args.campaign).download()
    else:
        parser.error("give the site and the campaign, or --from a saved folder")
    if args.save:
        save(ledger, args.save)
    previous = json.loads(args.previous.read_text())["heads"] if args.previous else []
    verdict = verify(ledger, args.key, previous, args.receipt)
    by_number = {h["number"]: h for h in ledger.heads}
    for number in args.head:
        head = by_number.get(number)
        if head is None:
            verdict.fail(f"head #{number} is not in the history")
            continue
        verdict.notes.append(
            f"head #{number} signed at {head['signed_at']}: root {head['root_hash']}, "
            f"{head['tree_size']} entries, {head['signers']} signers, total {head['total']}"
        )
    for note in verdict.notes:
        print(note)
    if verdict.ok:
        print(
            f"VERDICT: OK — {len(ledger.heads)} heads and {len(ledger.entries)} entries check out"
        )
        return 0
    for problem in verdict.problems:
        print(f"FAILED: {problem}")
    print(f"VERDICT: FAILED — {len(verdict.problems)} problem(s)")
    return 1


if __name__ == "__main__":
    sys.exit(main())
