"""immusql.proofs.merkle against a literal RFC 9162 transcription, exhaustively for small trees, then by property."""

from __future__ import annotations

from functools import lru_cache

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from immusql.proofs import merkle
from immusql.proofs.hashing import EMPTY_HASH, leaf_hash, node_hash
from tests.proofs import rfc9162_naive as naive

MAX = 300
DATA = [b"leaf %d" % i for i in range(MAX + 1)]
HASHES = [leaf_hash(d) for d in DATA]


@lru_cache(maxsize=None)
def tree_root(size: int) -> bytes:
    return naive.MTH(DATA[:size])


def flip(h: bytes, bit: int) -> bytes:
    """``h`` with one bit flipped."""
    i = bit % (8 * len(h))
    return h[: i // 8] + bytes((h[i // 8] ^ (1 << (i % 8)),)) + h[i // 8 + 1 :]


def test_hash_primitives():
    assert EMPTY_HASH == naive.HASH(b"")
    assert merkle.root([]) == EMPTY_HASH == naive.MTH([])
    assert leaf_hash(b"x") == naive.MTH([b"x"])
    assert node_hash(leaf_hash(b"a"), leaf_hash(b"b")) == naive.MTH([b"a", b"b"])


def test_root_every_size():
    for size in range(1, MAX + 1):
        assert merkle.root(HASHES[:size]) == tree_root(size), size


@settings(max_examples=300, deadline=None)
@given(st.integers(0, MAX), st.data())
def test_compact_ranges_join_to_the_root(size, data):
    """Any split of the leaves into consecutive runs, each hashed on its own from its start, gives the tree's root."""
    cuts = sorted(data.draw(st.sets(st.integers(1, max(1, size - 1)), max_size=8))) if size > 1 else []
    bounds = [0, *cuts, size]
    ranges = [merkle.compact_range(HASHES[a:b], a) for a, b in zip(bounds, bounds[1:])]
    assert merkle.root_of_ranges(ranges) == tree_root(size)
    for (a, b), nodes in zip(zip(bounds, bounds[1:]), ranges):  # perfect subtrees, aligned, covering the run
        assert sum(1 << level for level, _ in nodes) == b - a
        at = a
        for level, _ in nodes:
            assert at % (1 << level) == 0
            at += 1 << level


def test_inclusion_every_index():
    for size in range(1, 131):
        leaves, data, root = HASHES[:size], DATA[:size], tree_root(size)
        for index in range(size):
            path = merkle.inclusion_path(leaves, index)
            assert path == naive.PATH(index, data), (index, size)
            assert merkle.root_from_inclusion(leaves[index], index, size, path) == root
            assert merkle.verify_inclusion(leaves[index], index, size, path, root)


def test_consistency_every_pair():
    for new in range(1, 71):
        leaves, data, new_root = HASHES[:new], DATA[:new], tree_root(new)
        for old in range(1, new):
            path = merkle.consistency_path(leaves, old)
            assert path == naive.PROOF(old, data), (old, new)
            assert merkle.verify_consistency(old, new, tree_root(old), new_root, path), (old, new)


def test_consistency_edges():
    leaves = HASHES[:9]
    root9 = tree_root(9)
    assert merkle.consistency_path(leaves, 0) == merkle.consistency_path(leaves, 9) == []
    assert merkle.verify_consistency(0, 9, EMPTY_HASH, root9, [])
    assert not merkle.verify_consistency(0, 9, EMPTY_HASH, root9, [root9])
    assert merkle.verify_consistency(9, 9, root9, root9, [])
    assert not merkle.verify_consistency(9, 9, root9, root9, [root9])
    assert not merkle.verify_consistency(9, 9, root9, tree_root(8), [])
    assert not merkle.verify_consistency(9, 8, root9, tree_root(8), [])
    assert not merkle.verify_consistency(3, 9, tree_root(3), root9, [])
    with pytest.raises(ValueError):
        merkle.consistency_path(leaves, 10)
    with pytest.raises(ValueError):
        merkle.consistency_path(leaves, -1)


def test_inclusion_edges():
    with pytest.raises(ValueError):
        merkle.inclusion_path(HASHES[:5], 5)
    with pytest.raises(ValueError):
        merkle.root_from_inclusion(HASHES[0], 0, 0, [])
    with pytest.raises(ValueError):
        merkle.root_from_inclusion(HASHES[5], 5, 5, [])
    assert merkle.inclusion_path(HASHES[:1], 0) == []
    assert merkle.verify_inclusion(HASHES[0], 0, 1, [], HASHES[0])


@st.composite
def inclusion_case(draw):
    size = draw(st.integers(1, MAX))
    index = draw(st.integers(0, size - 1))
    return size, index, merkle.inclusion_path(HASHES[:size], index)


def rejects_inclusion(leaf: bytes, index: int, size: int, path: list[bytes], root: bytes) -> bool:
    try:
        computed = merkle.root_from_inclusion(leaf, index, size, path)
    except ValueError:
        assert not merkle.verify_inclusion(leaf, index, size, path, root)
        return True
    return computed != root and not merkle.verify_inclusion(leaf, index, size, path, root)


@settings(max_examples=300, deadline=None)
@given(inclusion_case(), st.integers(0, 255), st.data())
def test_inclusion_tampering_rejected(case, bit, data):
    size, index, path = case
    leaf, root = HASHES[index], tree_root(size)
    assert merkle.verify_inclusion(leaf, index, size, path, root)
    if path:
        i = data.draw(st.integers(0, len(path) - 1))
        assert rejects_inclusion(leaf, index, size, path[:i] + [flip(path[i], bit)] + path[i + 1 :], root)
        assert rejects_inclusion(leaf, index, size, path[:-1], root)
        assert rejects_inclusion(leaf, index, size, path[:i] + path[i + 1 :], root)
    assert rejects_inclusion(leaf, index, size, path + [HASHES[0]], root)
    assert rejects_inclusion(leaf, index, size, [HASHES[0]] + path, root)
    assert rejects_inclusion(flip(leaf, bit), index, size, path, root)
    assert rejects_inclusion(leaf, index, size, path, flip(root, bit))
    assert rejects_inclusion(leaf, index, size, path, tree_root(size + 1))
    if size > 1:
        other = data.draw(st.integers(0, size - 2))
        other += other >= index
        assert rejects_inclusion(leaf, other, size, path, root)
    # A wrong size is checked against that size's real root: for a left-edge leaf the
    # path of (index, size) can equal the one of (index, size'), and RFC 9162 binds a
    # path to a root, not to a size; the signed checkpoint binds the size to the root.
    other_size = data.draw(st.integers(index + 1, MAX + 1).filter(lambda s: s != size))
    assert rejects_inclusion(leaf, index, other_size, path, tree_root(other_size))


@st.composite
def consistency_case(draw):
    new = draw(st.integers(2, MAX))
    old = draw(st.integers(1, new - 1))
    return old, new, merkle.consistency_path(HASHES[:new], old)


def rejects_consistency(old: int, new: int, old_root: bytes, new_root: bytes, path: list[bytes]) -> bool:
    return not merkle.verify_consistency(old, new, old_root, new_root, path)


@settings(max_examples=300, deadline=None)
@given(consistency_case(), st.integers(0, 255), st.data())
def test_consistency_tampering_rejected(case, bit, data):
    old, new, path = case
    old_root, new_root = tree_root(old), tree_root(new)
    assert merkle.verify_consistency(old, new, old_root, new_root, path)
    i = data.draw(st.integers(0, len(path) - 1))
    assert rejects_consistency(old, new, old_root, new_root, path[:i] + [flip(path[i], bit)] + path[i + 1 :])
    assert rejects_consistency(old, new, old_root, new_root, path[:i] + path[i + 1 :])
    assert rejects_consistency(old, new, old_root, new_root, path + [HASHES[0]])
    assert rejects_consistency(old, new, old_root, new_root, [HASHES[0]] + path)
    assert rejects_consistency(old, new, flip(old_root, bit), new_root, path)
    assert rejects_consistency(old, new, old_root, flip(new_root, bit), path)
    assert rejects_consistency(old, new, new_root, old_root, path)
    assert rejects_consistency(new, old, new_root, old_root, path)
    # Wrong sizes, each with the real root of that size. (With the original roots a path
    # can fit another size of the same shape, e.g. (1, 130) as (1, 129): RFC 9162 binds
    # paths to roots, and the signed checkpoint binds each root to its size.)
    if new > 2:
        other_old = data.draw(st.integers(1, new - 1).filter(lambda m: m != old))
        assert rejects_consistency(other_old, new, tree_root(other_old), new_root, path)
    other_new = data.draw(st.integers(old + 1, MAX + 1).filter(lambda n: n != new))
    assert rejects_consistency(old, other_new, old_root, tree_root(other_new), path)
