"""Literal transcriptions of RFC 9162 section 2.1 (MTH, PATH, PROOF), for tests only.

Deliberately naive and recursive, working on lists of leaf *data*, and sharing
nothing with immusql.proofs, so that the package is checked against the text
of the RFC rather than against itself.
"""

from __future__ import annotations

import hashlib


def HASH(data: bytes) -> bytes:
    return hashlib.sha256(data).digest()


def _k(n: int) -> int:
    """The largest power of two smaller than n (n > 1)."""
    k = 1
    while k * 2 < n:
        k *= 2
    return k


def MTH(D: list[bytes]) -> bytes:
    """2.1.1: the Merkle Tree Hash of the list D of leaf data."""
    n = len(D)
    if n == 0:
        return HASH(b"")
    if n == 1:
        return HASH(b"\x00" + D[0])
    k = _k(n)
    return HASH(b"\x01" + MTH(D[0:k]) + MTH(D[k:n]))


def PATH(m: int, D: list[bytes]) -> list[bytes]:
    """2.1.3.1: the inclusion path of leaf m in the tree of D."""
    n = len(D)
    assert 0 <= m < n
    if n == 1:
        return []
    k = _k(n)
    if m < k:
        return PATH(m, D[0:k]) + [MTH(D[k:n])]
    return PATH(m - k, D[k:n]) + [MTH(D[0:k])]


def PROOF(m: int, D: list[bytes]) -> list[bytes]:
    """2.1.4.1: the consistency proof from the first m leaves of D to all of D (0 < m < n)."""
    assert 0 < m < len(D)
    return SUBPROOF(m, D, True)


def SUBPROOF(m: int, D: list[bytes], b: bool) -> list[bytes]:
    n = len(D)
    if m == n:
        return [] if b else [MTH(D)]
    k = _k(n)
    if m <= k:
        return SUBPROOF(m, D[0:k], b) + [MTH(D[k:n])]
    return SUBPROOF(m - k, D[k:n], False) + [MTH(D[0:k])]
