"""The Merkle tree hashing of RFC 9162 (Certificate Transparency 2.0), §2.1:
SHA-256, leaves hashed with a 0x00 prefix, interior nodes with 0x01, a tree
of n leaves split at the largest power of two below n.

Plain functions over lists of leaf hashes; nothing here knows the database.
The independent verifier (``tools/verify_ledger.py``) has its own copy of the
verifying half on purpose: a verifier that shares the server's code would
share its mistakes."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence

HASH_SIZE = 32
EMPTY_ROOT = hashlib.sha256(b"").digest()


def leaf_hash(data: bytes) -> bytes:
    """MTH of a one-leaf tree: SHA-256(0x00 || data)."""
    return hashlib.sha256(b"\x00" + data).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    """An interior node: SHA-256(0x01 || left || right)."""
    return hashlib.sha256(b"\x01" + left + right).digest()


def _largest_power_of_two_below(n: int) -> int:
    return 1 << ((n - 1).bit_length() - 1)


def root_of(leaves: Sequence[bytes]) -> bytes:
    """MTH(D[n]) from the leaf hashes, level by level in O(n): a lone last
    node is carried up unchanged, which is the RFC's split at the largest
    power of two."""
    if not leaves:
        return EMPTY_ROOT
    level = list(leaves)
    sha256 = hashlib.sha256
    while len(level) > 1:
        paired = [
            sha256(b"\x01" + level[i] + level[i + 1]).digest() for i in range(0, len(level) - 1, 2)
        ]
        if len(level) % 2:
            paired.append(level[-1])
        level = paired
    return level[0]


def inclusion_proof(leaves: Sequence[bytes], index: int) -> list[bytes]:
    """PATH(m, D[n]) (§2.1.3.1): the audit path of leaf ``index``."""
    if not 0 <= index < len(leaves):
        raise ValueError("index outside the tree")
    return _path(leaves, 0, len(leaves), index)


def _path(leaves: Sequence[bytes], start: int, end: int, m: int) -> list[bytes]:
    n = end - start
    if n == 1:
        return []
    k = _largest_power_of_two_below(n)
    if m < k:
        return [*_path(leaves, start, start + k, m), root_of(leaves[start + k : end])]
    return [*_path(leaves, start + k, end, m - k), root_of(leaves[start : start + k])]


def consistency_proof(leaves: Sequence[bytes], first: int) -> list[bytes]:
    """PROOF(m, D[n]) (§2.1.4.1): that the tree of the first ``first`` leaves
    is a prefix of the tree of all ``leaves``."""
    if not 0 < first <= len(leaves):
        raise ValueError("the first tree must be non-empty and no larger")
    return _subproof(leaves, 0, len(leaves), first, True)


def _subproof(leaves: Sequence[bytes], start: int, end: int, m: int, whole: bool) -> list[bytes]:
    n = end - start
    if m == n:
        return [] if whole else [root_of(leaves[start:end])]
    k = _largest_power_of_two_below(n)
    if m <= k:
        return [*_subproof(leaves, start, start + k, m, whole), root_of(leaves[start + k : end])]
    return [*_subproof(leaves, start + k, end, m - k, False), root_of(leaves[start : start + k])]


def verify_inclusion(
    leaf: bytes, index: int, size: int, proof: Sequence[bytes], root: bytes
) -> bool:
    """§2.1.3.2: whether ``proof`` shows leaf hash ``leaf`` at ``index`` in
    the tree of ``size`` leaves with ``root``."""
    if not 0 <= index < size:
        return False
    fn, sn, r = index, size - 1, leaf
    for p in proof:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            r = node_hash(p, r)
            if not fn & 1:
                while fn & 1 == 0 and fn != 0:
                    fn >>= 1
                    sn >>= 1
        else:
            r = node_hash(r, p)
        fn >>= 1
        sn >>= 1
    return sn == 0 and r == root


def verify_consistency(
    first: int, second: int, first_root: bytes, second_root: bytes, proof: Sequence[bytes]
) -> bool:
    """§2.1.4.2: whether ``proof`` shows the tree (``first``, ``first_root``)
    is a prefix of the tree (``second``, ``second_root``)."""
    if not 0 < first <= second:
        return False
    if first == second:
        return not proof and first_root == second_root
    if not proof:
        return False
    path = list(proof)
    if first & (first - 1) == 0:  # a power of two: the first root is a node
        path.insert(0, first_root)
    fn, sn = first - 1, second - 1
    while fn & 1:
        fn >>= 1
        sn >>= 1
    fr = sr = path[0]
    for c in path[1:]:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            fr = node_hash(c, fr)
            sr = node_hash(c, sr)
            if not fn & 1:
                while fn & 1 == 0 and fn != 0:
                    fn >>= 1
                    sn >>= 1
        else:
            sr = node_hash(sr, c)
        fn >>= 1
        sn >>= 1
    return fr == first_root and sr == second_root and sn == 0


def append_to_frontier(frontier: list[bytes], size: int, leaf: bytes) -> None:
    """Add one leaf hash to ``frontier``, the roots of the perfect subtrees
    that make up a tree of ``size`` leaves (largest first, one per set bit of
    ``size``): what a head keeps so that the next one costs only its batch."""
    frontier.append(leaf)
    size += 1
    while size & 1 == 0:
        right = frontier.pop()
        frontier[-1] = node_hash(frontier[-1], right)
        size >>= 1


def root_of_frontier(frontier: Sequence[bytes]) -> bytes:
    """The root of the tree the frontier stands for (right to left)."""
    if not frontier:
        return EMPTY_ROOT
    root = frontier[-1]
    for h in reversed(frontier[:-1]):
        root = node_hash(h, root)
    return root
