"""Merkle tree hashing and proofs exactly as RFC 6962 / RFC 9162 §2.1 (Certificate Transparency).

Leaves are hashed ``SHA-256(0x00 || data)`` and interior nodes ``SHA-256(0x01 || left || right)``; the
tree over ``n`` leaves splits at the largest power of two smaller than ``n`` (MTH, §2.1.1). Proof
generation reads the hashes of *complete* subtrees through a ``Subtrees`` callback — ``get(level, index)``
is the hash of leaves ``[index·2^level, (index+1)·2^level)`` — so the same code runs over a list in tests and
over stored hashes in the database. Verification (§2.1.3.2, §2.1.4.2) needs nothing but the proof.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Sequence

Subtrees = Callable[[int, int], bytes]


def leaf_hash(data: bytes) -> bytes:
    """RFC 6962 leaf hash: SHA-256(0x00 || data)."""
    return hashlib.sha256(b"\x00" + data).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    """RFC 6962 interior node hash: SHA-256(0x01 || left || right)."""
    return hashlib.sha256(b"\x01" + left + right).digest()


EMPTY_ROOT = hashlib.sha256(b"").digest()


def _split(n: int) -> int:
    """The largest power of two strictly smaller than ``n`` (n ≥ 2)."""
    return 1 << ((n - 1).bit_length() - 1)


def naive_root(leaves: Sequence[bytes]) -> bytes:
    """MTH(D[n]) by the definition, over leaf *hashes* (tests and tiny trees)."""
    n = len(leaves)
    if n == 0:
        return EMPTY_ROOT
    if n == 1:
        return leaves[0]
    k = _split(n)
    return node_hash(naive_root(leaves[:k]), naive_root(leaves[k:]))


def range_hash(lo: int, n: int, get: Subtrees) -> bytes:
    """MTH of leaves ``[lo, lo+n)`` as the RFC recursion visits it (``lo`` is aligned for every split)."""
    if n == 0:
        return EMPTY_ROOT
    if n & (n - 1) == 0:
        level = n.bit_length() - 1
        return get(level, lo >> level)
    k = _split(n)
    return node_hash(range_hash(lo, k, get), range_hash(lo + k, n - k, get))


def inclusion_path(index: int, size: int, get: Subtrees) -> list[bytes]:
    """PATH(m, D[n]) of RFC 9162 §2.1.3.1: the audit path of leaf ``index`` in the tree of ``size`` leaves."""
    if not 0 <= index < size:
        raise ValueError("leaf index outside the tree")
    path: list[bytes] = []
    lo, n, m = 0, size, index
    # iterative form of PATH: collect from the root downwards, then reverse (the proof runs leaf → root)
    while n > 1:
        k = _split(n)
        if m < k:
            path.append(range_hash(lo + k, n - k, get))
            n = k
        else:
            path.append(range_hash(lo, k, get))
            lo, n, m = lo + k, n - k, m - k
    path.reverse()
    return path


def consistency_path(first: int, second: int, get: Subtrees) -> list[bytes]:
    """PROOF(m, D[n]) of RFC 9162 §2.1.4.1: proves the tree of ``first`` leaves is a prefix of ``second``."""
    if not 0 <= first <= second:
        raise ValueError("first tree size must be between 0 and the second")
    if first == 0 or first == second:
        return []
    proof: list[bytes] = []
    lo, n, m, whole = 0, second, first, True
    while m != n:
        k = _split(n)
        if m <= k:
            proof.append(range_hash(lo + k, n - k, get))
            n = k
        else:
            proof.append(range_hash(lo, k, get))
            lo, n, m, whole = lo + k, n - k, m - k, False
    if not whole:
        proof.append(range_hash(lo, n, get))
    proof.reverse()
    return proof


def root_from_inclusion(index: int, size: int, leaf: bytes, proof: Sequence[bytes]) -> bytes | None:
    """RFC 9162 §2.1.3.2: fold the audit path; the root it leads to, or None if the proof is malformed."""
    if not 0 <= index < size:
        return None
    fn, sn, r = index, size - 1, leaf
    for p in proof:
        if sn == 0:
            return None
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
    return r if sn == 0 else None


def verify_inclusion(index: int, size: int, leaf: bytes, proof: Sequence[bytes], root: bytes) -> bool:
    """Does ``proof`` show leaf hash ``leaf`` at ``index`` in the tree of ``size`` leaves with ``root``?"""
    return root_from_inclusion(index, size, leaf, proof) == root


def verify_consistency(
    first: int, second: int, first_root: bytes, second_root: bytes, proof: Sequence[bytes]
) -> bool:
    """RFC 9162 §2.1.4.2: is the tree (first, first_root) a prefix of (second, second_root)?"""
    if first > second or first < 0:
        return False
    if first == second:
        return not proof and first_root == second_root
    if first == 0:
        return not proof
    if not proof:
        return False
    path = list(proof)
    if first & (first - 1) == 0:  # a power of two: the first tree is itself a complete subtree
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


def push(frontier: list[bytes], size: int, leaf: bytes, on_node: Callable[[int, int, bytes], None]) -> None:
    """Add leaf number ``size`` (0-based) to ``frontier``, the roots of the perfect subtrees of the tree
    of ``size`` leaves from the largest down; ``on_node(level, index, hash)`` sees every subtree it completes.
    """
    h = leaf
    level = 0
    while (size >> level) & 1:
        h = node_hash(frontier.pop(), h)
        level += 1
        on_node(level, size >> level, h)
    frontier.append(h)


def frontier_root(frontier: Sequence[bytes]) -> bytes:
    """MTH of the whole tree from its frontier: fold the perfect subtrees from the right."""
    if not frontier:
        return EMPTY_ROOT
    r = frontier[-1]
    for h in reversed(frontier[:-1]):
        r = node_hash(h, r)
    return r
