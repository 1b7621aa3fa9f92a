"""The log's Merkle tree as stored: node positions, the right-edge frontier, and proof plans.

Complete subtrees are stored once, in post-order, keyed by position; the node
covering leaves [i*2^l, (i+1)*2^l) sits at ``node_pos(l, i)``. Appending a leaf
therefore only ever appends positions, and any root, inclusion or consistency
proof of RFC 9162 is a fold over O(log n) stored nodes. A proof is built in two
steps: a *plan* (the ranges whose hashes make up the proof, pure arithmetic)
and a fetch of every node the plan names in one batch.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence

from immusql.proofs.hashing import node_hash

Range = tuple[int, int]  # leaves [start, end)
Node = tuple[int, int]  # (level, index)


def node_pos(level: int, index: int) -> int:
    """Post-order position of the complete subtree (level, index)."""
    return ((index + 1) << (level + 1)) - index.bit_count() - 2


def subtrees(start: int, end: int) -> list[Node]:
    """Decompose [start, end) into complete aligned subtrees, left to right.

    ``start`` must be aligned to the largest power of two not above the range
    length, which holds for every range RFC 9162's recursion produces.
    """
    out: list[Node] = []
    while start < end:
        level = (end - start).bit_length() - 1
        out.append((level, start >> level))
        start += 1 << level
    return out


def _split(n: int) -> int:
    """Largest power of two strictly less than n (n >= 2)."""
    return 1 << ((n - 1).bit_length() - 1)


def inclusion_nodes(index: int, size: int) -> list[list[int]]:
    """Stored node positions making up each element of the inclusion path of leaf ``index``, leaf upward.

    Follows RFC 9162's PATH recursion: above the largest complete
    subtree holding the leaf a sibling may need several nodes; below it, every
    sibling is one stored node.
    """
    if not 0 <= index < size:
        raise ValueError(f"leaf {index} is not in a tree of size {size}")
    upper: list[list[int]] = []
    start, n, m = 0, size, index
    while n & (n - 1):
        k = _split(n)
        if m < k:
            upper.append([node_pos(level, i) for level, i in subtrees(start + k, start + n)])
            n = k
        else:
            level = k.bit_length() - 1
            upper.append([node_pos(level, start >> level)])
            start, n, m = start + k, n - k, m - k
    leaf = start + m
    lower = [[node_pos(level, (leaf >> level) ^ 1)] for level in range(n.bit_length() - 1)]
    upper.reverse()
    return lower + upper


def node_hashes(groups: Sequence[Sequence[int]], fetch: Callable[[list[int]], Sequence[bytes]]) -> list[bytes]:
    """Fold each group of stored nodes (left to right) into one hash, fetching all nodes at once."""
    hashes = fetch([pos for group in groups for pos in group])
    if len(hashes) == len(groups):
        return list(hashes)
    out = []
    at = 0
    for group in groups:
        if len(group) == 1:
            out.append(hashes[at])
            at += 1
            continue
        end = at + len(group)
        h = hashes[end - 1]
        for i in range(end - 2, at - 1, -1):
            h = node_hash(hashes[i], h)
        out.append(h)
        at = end
    return out


def consistency_plan(old: int, new: int) -> list[Range]:
    """Ranges whose hashes form the RFC 9162 consistency proof between sizes old and new."""
    if not 0 <= old <= new:
        raise ValueError(f"no consistency proof from size {old} to size {new}")
    if old == 0 or old == new:
        return []
    out: list[Range] = []
    start, n, m, complete = 0, new, old, True
    while m != n:
        k = _split(n)
        if m <= k:
            out.append((start + k, start + n))
            n = k
        else:
            out.append((start, start + k))
            start, n, m, complete = start + k, n - k, m - k, False
    if not complete:
        out.append((start, start + n))
    out.reverse()
    return out


def range_hashes(ranges: Sequence[Range], fetch: Callable[[list[int]], Sequence[bytes]]) -> list[bytes]:
    """The Merkle Tree Hash of each range, reading every stored node they need in one fetch."""
    return node_hashes([[node_pos(level, index) for level, index in subtrees(a, b)] for a, b in ranges], fetch)


class Frontier:
    """The right edge of the tree: the roots of its complete subtrees, left to right."""

    __slots__ = ("size", "_levels", "_hashes")

    def __init__(self, size: int = 0, hashes: Iterable[bytes] = ()) -> None:
        self.size = size
        self._levels = [level for level, _ in subtrees(0, size)]
        self._hashes = list(hashes)
        if len(self._hashes) != len(self._levels):
            raise ValueError("frontier does not match the tree size")

    def append(self, leaf: bytes) -> list[tuple[int, bytes]]:
        """Add a leaf hash; returns the (position, hash) of every node it completes."""
        index = self.size
        levels, hashes = self._levels, self._hashes
        new = [(node_pos(0, index), leaf)]
        level, h = 0, leaf
        while levels and levels[-1] == level:
            levels.pop()
            h = node_hash(hashes.pop(), h)
            level += 1
            new.append((node_pos(level, index >> level), h))
        levels.append(level)
        hashes.append(h)
        self.size = index + 1
        return new

    def snapshot(self) -> list[bytes]:
        """A copy of the edge hashes, to restore the frontier if an apply is rolled back."""
        return list(self._hashes)

    def root(self) -> bytes:
        """Root hash of the tree so far (RFC 9162 MTH); size 0 has no root here."""
        if not self._hashes:
            raise ValueError("the empty tree has no stored root")
        h = self._hashes[-1]
        for left in reversed(self._hashes[:-1]):
            h = node_hash(left, h)
        return h
