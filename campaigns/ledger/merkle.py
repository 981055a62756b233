"""The Merkle tree hashing of RFC 9162 (Certificate Transparency 2.0), §2.1:
SHA-256, leaves hashed with a 0x00 prefix, interior nodes with 0x01, a tree
of n leaves split at the largest power of two below n.

Plain functions over lists of leaf hashes, or over any source of subtree
roots (``RangeRoot``: the database's stored nodes); nothing here knows the
database.
The independent verifier (``tools/verify_ledger.py``) has its own copy of the
verifying half on purpose: a verifier that shares the server's code would
share its mistakes."""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Sequence

HASH_SIZE = 32
EMPTY_ROOT = hashlib.sha256(b"").digest()
# The perfect subtrees of 2**8 = 256 leaves and up are stored when they
# complete (``ledger_nodes``): a proof then reads O(log n) of them and at
# most two blocks of 256 leaves, never the whole tree.
STORED_LEVEL = 8


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


# MTH(D[start:end]) of some tree: what a proof is made of. The RFC's
# recursion only asks for ranges whose start is a multiple of the largest
# power of two in their length.
RangeRoot = Callable[[int, int], bytes]


def _in_memory(leaves: Sequence[bytes]) -> RangeRoot:
    return lambda start, end: root_of(leaves[start:end])


def inclusion_proof(leaves: Sequence[bytes], index: int) -> list[bytes]:
    """PATH(m, D[n]) (§2.1.3.1): the audit path of leaf ``index``."""
    return inclusion_path(_in_memory(leaves), len(leaves), index)


def inclusion_path(root: RangeRoot, size: int, index: int) -> list[bytes]:
    """PATH(m, D[n]) of a tree of ``size`` leaves whose subtrees ``root`` gives."""
    if not 0 <= index < size:
        raise ValueError("index outside the tree")
    return _path(root, 0, size, index)


def _path(root: RangeRoot, start: int, end: int, m: int) -> list[bytes]:
    n = end - start
    if n == 1:
        return []
    k = _largest_power_of_two_below(n)
    if m < k:
        return [*_path(root, start, start + k, m), root(start + k, end)]
    return [*_path(root, start + k, end, m - k), root(start, start + k)]


def consistency_proof(leaves: Sequence[bytes], first: int) -> list[bytes]:
    """PROOF(m, D[n]) (§2.1.4.1): that the tree of the first ``first`` leaves
    is a prefix of the tree of all ``leaves``."""
    return consistency_path(_in_memory(leaves), len(leaves), first)


def consistency_path(root: RangeRoot, size: int, first: int) -> list[bytes]:
    """PROOF(m, D[n]) of a tree of ``size`` leaves whose subtrees ``root`` gives."""
    if not 0 < first <= size:
        raise ValueError("the first tree must be non-empty and no larger")
    return _subproof(root, 0, size, first, True)


def _subproof(root: RangeRoot, start: int, end: int, m: int, whole: bool) -> list[bytes]:
    n = end - start
    if m == n:
        return [] if whole else [root(start, end)]
    k = _largest_power_of_two_below(n)
    if m <= k:
        return [*_subproof(root, start, start + k, m, whole), root(start + k, end)]
    return [*_subproof(root, start + k, end, m - k, False), root(start, start + k)]


def perfect_pieces(start: int, end: int) -> list[tuple[int, int]]:
    """The perfect subtrees (level, index) whose hashes, folded from the
    right with ``node_hash``, make MTH(D[start:end]): one per set bit of the
    length, largest first. Index ``i`` at level ``l`` covers leaves
    ``i * 2**l`` to ``(i + 1) * 2**l - 1``."""
    pieces = []
    while start < end:
        level = (end - start).bit_length() - 1
        if start % (1 << level):
            raise ValueError("not a range of the RFC's recursion")
        pieces.append((level, start >> level))
        start += 1 << level
    return pieces


def fold(hashes: Sequence[bytes]) -> bytes:
    """Perfect subtrees' roots, largest first (``perfect_pieces``', a
    frontier), made into the root of the range they cover."""
    root = hashes[-1]
    for h in reversed(hashes[:-1]):
        root = node_hash(h, root)
    return root


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


def append_to_frontier(
    frontier: list[bytes],
    size: int,
    leaf: bytes,
    completed: list[tuple[int, int, bytes]] | None = None,
) -> None:
    """Add one leaf hash to ``frontier``, the roots of the perfect subtrees
    that make up a tree of ``size`` leaves (largest first, one per set bit of
    ``size``): what a head keeps so that the next one costs only its batch.
    Each perfect subtree this leaf completes at ``STORED_LEVEL`` or above is
    added to ``completed`` as (level, index, hash): what proofs read later."""
    frontier.append(leaf)
    size += 1
    level = 0
    while size & 1 == 0:
        right = frontier.pop()
        frontier[-1] = node_hash(frontier[-1], right)
        size >>= 1
        level += 1
        if completed is not None and level >= STORED_LEVEL:
            completed.append((level, size - 1, frontier[-1]))


def root_of_frontier(frontier: Sequence[bytes]) -> bytes:
    """The root of the tree the frontier stands for (right to left)."""
    return fold(frontier) if frontier else EMPTY_ROOT


class StoredSubtrees:
    """The subtree roots (a ``RangeRoot``) of a tree of ``size`` leaves whose
    perfect subtrees from ``STORED_LEVEL`` up are kept somewhere, read
    through ``node(level, index)`` (None if missing: computed from below),
    and whose leaves are read a block of ``2**STORED_LEVEL`` at a time
    through ``block(start, end)``. Each read once; ``reads`` counts them."""

    def __init__(
        self,
        size: int,
        node: Callable[[int, int], bytes | None],
        block: Callable[[int, int], Sequence[bytes]],
    ) -> None:
        self.size = size
        self._node = node
        self._block = block
        self._nodes: dict[tuple[int, int], bytes] = {}
        self._blocks: dict[int, Sequence[bytes]] = {}
        self.reads = 0

    def root(self, start: int, end: int) -> bytes:
        """MTH(D[start:end])."""
        if not 0 <= start < end <= self.size:
            raise ValueError("a range outside the tree")
        return fold([self.perfect(*piece) for piece in perfect_pieces(start, end)])

    def perfect(self, level: int, index: int) -> bytes:
        """The root of the perfect subtree ``index`` at ``level``."""
        if level < STORED_LEVEL:
            first = index << level
            start = first >> STORED_LEVEL << STORED_LEVEL
            if start not in self._blocks:
                self.reads += 1
                self._blocks[start] = self._block(
                    start, min(start + (1 << STORED_LEVEL), self.size)
                )
            offset = first - start
            return root_of(self._blocks[start][offset : offset + (1 << level)])
        if (level, index) not in self._nodes:
            self.reads += 1
            found = self._node(level, index)
            # Each is stored as its batch is appended; one missing (a row
            # written some other way) is computed from below, never guessed.
            self._nodes[(level, index)] = found or node_hash(
                self.perfect(level - 1, 2 * index), self.perfect(level - 1, 2 * index + 1)
            )
        return self._nodes[(level, index)]

