"""RFC 9162 Merkle trees over lists of 32-byte leaf hashes: roots, paths and their verification.

Trees are built level by level with an odd last node moved up unchanged, which
gives exactly RFC 9162's split at the largest power of two below the size: the
node at level ``l``, position ``i`` covers leaves ``[i << l, min((i + 1) << l, n))``.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from hashlib import sha256
from itertools import repeat

from immusql.proofs.hashing import EMPTY_HASH, node_hash, sha256_each


def _up(level: Sequence[bytes]) -> list[bytes]:
    """The next level up: pairs hashed, an odd last node promoted unchanged (C-level maps: large trees are a bulk
    load's)."""
    up = list(sha256_each(map(b"".join, zip(repeat(b"\x01"), level[0::2], level[1::2]))))
    if len(level) & 1:
        up.append(level[-1])
    return up


def levels(leaf_hashes: Sequence[bytes]) -> list[Sequence[bytes]]:
    """Every level of the tree, leaves first, root level last (keep it to take many paths)."""
    levels = [leaf_hashes]
    while len(levels[-1]) > 1:
        levels.append(_up(levels[-1]))
    return levels


def root(leaf_hashes: Sequence[bytes]) -> bytes:
    """Merkle Tree Hash of the leaves (RFC 9162 2.1.1); EMPTY_HASH for none."""
    if not leaf_hashes:
        return EMPTY_HASH
    level = leaf_hashes
    while len(level) > 1:
        level = _up(level)
    return level[0]


def compact_range(leaf_hashes: Sequence[bytes], start: int) -> list[tuple[int, bytes]]:
    """The leaves [start, start + len) as the fewest perfect subtrees, left to right: (level, hash) each.

    A tree's run of leaves hashed on its own (a COPY's block, in another process) and joined with its neighbours'
    by ``root_of_ranges``: Trillian's compact ranges.
    """
    nodes = []
    offset, size = 0, len(leaf_hashes)
    while offset < size:
        at = start + offset
        level = min((at & -at).bit_length() - 1 if at else 63, (size - offset).bit_length() - 1)
        nodes.append((level, root(leaf_hashes[offset : offset + (1 << level)])))
        offset += 1 << level
    return nodes


def root_of_ranges(ranges: Iterable[Sequence[tuple[int, bytes]]]) -> bytes:
    """Merkle Tree Hash of leaves [0, n) from the compact ranges of consecutive runs that cover them, in order."""
    stack: list[tuple[int, bytes]] = []  # [0, end) as perfect subtrees, levels strictly falling
    for nodes in ranges:
        for level, node in nodes:
            while stack and stack[-1][0] == level:
                node = node_hash(stack.pop()[1], node)
                level += 1
            stack.append((level, node))
    if not stack:
        return EMPTY_HASH
    node = stack[-1][1]
    for _, left in reversed(stack[:-1]):  # RFC 9162: the largest power-of-two subtree on the left, the rest on the right
        node = node_hash(left, node)
    return node


def inclusion_path(leaf_hashes: Sequence[bytes], index: int) -> list[bytes]:
    """Inclusion path of leaf ``index`` (RFC 9162 2.1.3.1), leaf end first."""
    return path_from_levels(levels(leaf_hashes), index)


def path_from_levels(tree: Sequence[Sequence[bytes]], index: int) -> list[bytes]:
    """Inclusion path of leaf ``index`` from a tree's ``levels``: O(log n), no hashing."""
    if not 0 <= index < len(tree[0]):
        raise ValueError(f"leaf {index} is not in a tree of size {len(tree[0])}")
    path = []
    for level in tree[:-1]:
        sibling = index ^ 1
        if sibling < len(level):  # else the node is promoted and has no sibling at this level
            path.append(level[sibling])
        index >>= 1
    return path


def consistency_path(leaf_hashes: Sequence[bytes], old_size: int) -> list[bytes]:
    """Consistency proof from ``old_size`` to the whole list (RFC 9162 2.1.4.1); [] for 0 or the full size."""
    new_size = len(leaf_hashes)
    if not 0 <= old_size <= new_size:
        raise ValueError(f"no consistency proof from size {old_size} to size {new_size}")
    if old_size in (0, new_size):
        return []
    tree = levels(leaf_hashes)

    def node(start: int, end: int) -> bytes:
        # RFC subtrees are always whole nodes of the level structure (see module docstring).
        level = (end - start - 1).bit_length()
        return tree[level][start >> level]

    # SUBPROOF unrolled: each step appends after recursing, so collect the tail and reverse it.
    tail = []
    start, end, m, complete = 0, new_size, old_size, True
    while m != end - start:
        k = 1 << ((end - start - 1).bit_length() - 1)
        if m <= k:
            tail.append(node(start + k, end))
            end = start + k
        else:
            tail.append(node(start, start + k))
            start += k
            m -= k
            complete = False
    head = [] if complete else [node(start, end)]
    return head + tail[::-1]


def root_from_inclusion(leaf_hash: bytes, index: int, size: int, path: Sequence[bytes]) -> bytes:
    """The root an inclusion path implies (RFC 9162 2.1.3.2); ValueError if the path cannot fit (index, size)."""
    if not 0 <= index < size:
        raise ValueError(f"leaf {index} is not in a tree of size {size}")
    h = sha256
    fn, sn, r = index, size - 1, leaf_hash
    for p in path:
        if sn == 0:
            raise ValueError(f"inclusion path of {len(path)} hashes is too long for leaf {index} of {size}")
        if fn & 1 or fn == sn:
            r = h(b"\x01" + p + r).digest()
            if not fn & 1:
                while fn and not fn & 1:
                    fn >>= 1
                    sn >>= 1
        else:
            r = h(b"\x01" + r + p).digest()
        fn >>= 1
        sn >>= 1
    if sn != 0:
        raise ValueError(f"inclusion path of {len(path)} hashes is too short for leaf {index} of {size}")
    return r


def verify_inclusion(leaf_hash: bytes, index: int, size: int, path: Sequence[bytes], root: bytes) -> bool:
    """True if ``path`` proves ``leaf_hash`` is leaf ``index`` of the tree of ``size`` leaves with ``root``."""
    try:
        return root_from_inclusion(leaf_hash, index, size, path) == root
    except ValueError:
        return False


def verify_consistency(old_size: int, new_size: int, old_root: bytes, new_root: bytes, path: Sequence[bytes]) -> bool:
    """True if ``path`` proves the tree of ``old_size`` is a prefix of the one of ``new_size`` (RFC 9162 2.1.4.2)."""
    if not 0 <= old_size <= new_size:
        return False
    if old_size == new_size:
        return not path and old_root == new_root
    if old_size == 0:
        return not path
    if not path:
        return False
    h = sha256
    if old_size & (old_size - 1) == 0:
        fr = sr = old_root  # the old tree is a complete subtree: its root is the proof's implicit first node
        rest = path
    else:
        fr = sr = path[0]
        rest = path[1:]
    fn, sn = old_size - 1, new_size - 1
    while fn & 1:
        fn >>= 1
        sn >>= 1
    for c in rest:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            fr = h(b"\x01" + c + fr).digest()
            sr = h(b"\x01" + c + sr).digest()
            if not fn & 1:
                while fn and not fn & 1:
                    fn >>= 1
                    sn >>= 1
        else:
            sr = h(b"\x01" + sr + c).digest()
        fn >>= 1
        sn >>= 1
    return sn == 0 and fr == old_root and sr == new_root
