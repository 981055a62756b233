"""The tree hashing against the Certificate Transparency reference vectors
(RFC 6962 test data, as in certificate-transparency-go and trillian) and,
for every size up to 64, against a naive transcription of RFC 9162 §2.1."""

from __future__ import annotations

import hashlib

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from campaigns.ledger import merkle

ENTRIES = [
    "",
    "00",
    "10",
    "2021",
    "3031",
    "40414243",
    "5051525354555657",
    "606162636465666768696a6b6c6d6e6f",
]
LEAVES = [merkle.leaf_hash(bytes.fromhex(e)) for e in ENTRIES]
ROOTS = [
    "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
    "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
    "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
    "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
    "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
    "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
    "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
    "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
    "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
]
INCLUSION = [
    (
        0,
        8,
        [
            "96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
            "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
            "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4",
        ],
    ),
    (
        5,
        8,
        [
            "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
            "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
            "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
        ],
    ),
]
CONSISTENCY = [
    (
        2,
        8,
        [
            "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
            "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4",
        ],
    ),
    (
        6,
        8,
        [
            "0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a",
            "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
            "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
        ],
    ),
]


def test_roots_match_the_reference_tree() -> None:
    for size, expected in enumerate(ROOTS):
        assert merkle.root_of(LEAVES[:size]).hex() == expected


def test_the_frontier_gives_the_same_roots() -> None:
    frontier: list[bytes] = []
    for size, leaf in enumerate(LEAVES):
        merkle.append_to_frontier(frontier, size, leaf)
        assert merkle.root_of_frontier(frontier).hex() == ROOTS[size + 1]
        assert len(frontier) == bin(size + 1).count("1")


@pytest.mark.parametrize(("index", "size", "proof"), INCLUSION)
def test_inclusion_proofs_match_the_reference(index: int, size: int, proof: list[str]) -> None:
    assert [p.hex() for p in merkle.inclusion_proof(LEAVES[:size], index)] == proof
    root = bytes.fromhex(ROOTS[size])
    assert merkle.verify_inclusion(
        LEAVES[index], index, size, [bytes.fromhex(p) for p in proof], root
    )


@pytest.mark.parametrize(("first", "second", "proof"), CONSISTENCY)
def test_consistency_proofs_match_the_reference(first: int, second: int, proof: list[str]) -> None:
    assert [p.hex() for p in merkle.consistency_proof(LEAVES[:second], first)] == proof
    assert merkle.verify_consistency(
        first,
        second,
        bytes.fromhex(ROOTS[first]),
        bytes.fromhex(ROOTS[second]),
        [bytes.fromhex(p) for p in proof],
    )


# --- a naive transcription of the RFC's definitions, recursion and all -------


def _h(data: bytes) -> bytes:
    return hashlib.sha256(data).digest()


def naive_mth(d: list[bytes]) -> bytes:
    n = len(d)
    if n == 0:
        return _h(b"")
    if n == 1:
        return _h(b"\x00" + d[0])
    k = 1
    while k * 2 < n:
        k *= 2
    return _h(b"\x01" + naive_mth(d[:k]) + naive_mth(d[k:]))


def naive_path(m: int, d: list[bytes]) -> list[bytes]:
    n = len(d)
    if n == 1:
        return []
    k = 1
    while k * 2 < n:
        k *= 2
    if m < k:
        return [*naive_path(m, d[:k]), naive_mth(d[k:])]
    return [*naive_path(m - k, d[k:]), naive_mth(d[:k])]


def naive_subproof(m: int, d: list[bytes], b: bool) -> list[bytes]:
    n = len(d)
    if m == n:
        return [] if b else [naive_mth(d)]
    k = 1
    while k * 2 < n:
        k *= 2
    if m <= k:
        return [*naive_subproof(m, d[:k], b), naive_mth(d[k:])]
    return [*naive_subproof(m - k, d[k:], False), naive_mth(d[:k])]


DATA = [i.to_bytes(2, "big") * (i % 5) for i in range(64)]
HASHED = [merkle.leaf_hash(x) for x in DATA]


@pytest.mark.parametrize("size", range(1, 65))
def test_every_size_agrees_with_the_rfc_definitions(size: int) -> None:
    data, leaves = DATA[:size], HASHED[:size]
    root = naive_mth(data)
    assert merkle.root_of(leaves) == root
    for m in range(size):
        proof = merkle.inclusion_proof(leaves, m)
        assert proof == naive_path(m, data)
        assert merkle.verify_inclusion(leaves[m], m, size, proof, root)
        # Not another leaf, not another place, not another root.
        assert (
            not merkle.verify_inclusion(leaves[m], (m + 1) % size, size, proof, root) or size == 1
        )
        assert not merkle.verify_inclusion(merkle.leaf_hash(b"x"), m, size, proof, root)
        assert not merkle.verify_inclusion(leaves[m], m, size, proof, merkle.leaf_hash(b"y"))
    for first in range(1, size + 1):
        proof = merkle.consistency_proof(leaves, first)
        assert proof == naive_subproof(first, data, True)
        first_root = naive_mth(data[:first])
        assert merkle.verify_consistency(first, size, first_root, root, proof)
        if first < size:
            assert not merkle.verify_consistency(first, size, root, root, proof)
            assert not merkle.verify_consistency(first, size, first_root, first_root, proof)


@settings(max_examples=60, deadline=None)
@given(
    st.lists(st.binary(max_size=8), min_size=1, max_size=70),
    st.data(),
)
def test_tampered_proofs_fail(entries: list[bytes], data: st.DataObject) -> None:
    """A proof with one byte flipped, one hash dropped or one added never verifies."""
    leaves = [merkle.leaf_hash(e) for e in entries]
    size = len(leaves)
    root = merkle.root_of(leaves)
    m = data.draw(st.integers(0, size - 1))
    proof = merkle.inclusion_proof(leaves, m)
    assert merkle.verify_inclusion(leaves[m], m, size, proof, root)
    if proof:
        i = data.draw(st.integers(0, len(proof) - 1))
        flipped = list(proof)
        flipped[i] = bytes([proof[i][0] ^ 1]) + proof[i][1:]
        assert not merkle.verify_inclusion(leaves[m], m, size, flipped, root)
        assert not merkle.verify_inclusion(leaves[m], m, size, proof[:-1], root)
    assert not merkle.verify_inclusion(leaves[m], m, size, [*proof, root], root)
    first = data.draw(st.integers(1, size))
    cproof = merkle.consistency_proof(leaves, first)
    first_root = merkle.root_of(leaves[:first])
    assert merkle.verify_consistency(first, size, first_root, root, cproof)
    if cproof:
        i = data.draw(st.integers(0, len(cproof) - 1))
        flipped = list(cproof)
        flipped[i] = bytes([cproof[i][0] ^ 1]) + cproof[i][1:]
        assert not merkle.verify_consistency(first, size, first_root, root, flipped)
        assert not merkle.verify_consistency(first, size, first_root, root, cproof[:-1])
