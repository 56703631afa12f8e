"""RFC 6962/9162 Merkle hashing and proofs against the definition, and against the RFC's reference values."""

from __future__ import annotations

import hashlib

from hypothesis import given, settings
from hypothesis import strategies as st

from xinyidai.core.evidence import merkle

# The eight leaves of the RFC 6962 / Certificate Transparency reference tests (certificate-transparency-go
# merkle tests, "leaves" of the 8-leaf tree) with their published roots for sizes 1–8.
LEAVES = [
    bytes.fromhex(h)
    for h in [
        "",
        "00",
        "10",
        "2021",
        "3031",
        "40414243",
        "5051525354555657",
        "606162636465666768696a6b6c6d6e6f",
    ]
]
ROOTS = [
    "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
    "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
    "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
    "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
    "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
    "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
    "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
    "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
]


def hashes(n: int) -> list[bytes]:
    return [merkle.leaf_hash(f"entry {i}".encode()) for i in range(n)]


def getter(leaves: list[bytes]) -> merkle.Subtrees:
    def get(level: int, position: int) -> bytes:
        lo = position << level
        return merkle.naive_root(leaves[lo : lo + (1 << level)])

    return get


def test_reference_roots_of_rfc6962_tree() -> None:
    leaves = [merkle.leaf_hash(d) for d in LEAVES]
    for size, root in enumerate(ROOTS, start=1):
        assert merkle.naive_root(leaves[:size]).hex() == root
        assert merkle.range_hash(0, size, getter(leaves)).hex() == root


def test_empty_tree_and_hash_prefixes() -> None:
    assert merkle.naive_root([]) == hashlib.sha256(b"").digest()
    assert merkle.leaf_hash(b"a") == hashlib.sha256(b"\x00a").digest()
    assert merkle.node_hash(b"l", b"r") == hashlib.sha256(b"\x01lr").digest()


def test_reference_inclusion_proof() -> None:
    # certificate-transparency-go: leaf 0 in the tree of 8 (the three sibling hashes)
    leaves = [merkle.leaf_hash(d) for d in LEAVES]
    proof = merkle.inclusion_path(0, 8, getter(leaves))
    assert [p.hex() for p in proof] == [
        "96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
        "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
        "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4",
    ]


def test_reference_consistency_proof() -> None:
    # certificate-transparency-go: tree of 6 into tree of 8
    leaves = [merkle.leaf_hash(d) for d in LEAVES]
    proof = merkle.consistency_path(6, 8, getter(leaves))
    assert [p.hex() for p in proof] == [
        "0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a",
        "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
        "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
    ]
    assert merkle.verify_consistency(6, 8, bytes.fromhex(ROOTS[5]), bytes.fromhex(ROOTS[7]), proof)


@settings(max_examples=150, deadline=None)
@given(st.integers(min_value=1, max_value=70), st.data())
def test_inclusion_proofs_verify_and_only_for_their_leaf(size: int, data: st.DataObject) -> None:
    leaves = hashes(size)
    root = merkle.naive_root(leaves)
    index = data.draw(st.integers(min_value=0, max_value=size - 1))
    proof = merkle.inclusion_path(index, size, getter(leaves))
    assert merkle.verify_inclusion(index, size, leaves[index], proof, root)
    other = data.draw(st.integers(min_value=0, max_value=size - 1))
    if other != index:
        assert not merkle.verify_inclusion(other, size, leaves[other], proof, root)
        assert not merkle.verify_inclusion(index, size, leaves[other], proof, root)
    assert not merkle.verify_inclusion(index, size, leaves[index], proof, merkle.leaf_hash(b"other root"))
    if proof:
        forged = [*proof[:-1], merkle.leaf_hash(b"forged")]
        assert not merkle.verify_inclusion(index, size, leaves[index], forged, root)


@settings(max_examples=150, deadline=None)
@given(st.integers(min_value=1, max_value=70), st.data())
def test_consistency_proofs_verify_and_catch_a_changed_history(second: int, data: st.DataObject) -> None:
    leaves = hashes(second)
    first = data.draw(st.integers(min_value=1, max_value=second))
    proof = merkle.consistency_path(first, second, getter(leaves))
    first_root, second_root = merkle.naive_root(leaves[:first]), merkle.naive_root(leaves)
    assert merkle.verify_consistency(first, second, first_root, second_root, proof)
    if first < second:
        changed = list(leaves)
        changed[data.draw(st.integers(min_value=0, max_value=first - 1))] = merkle.leaf_hash(b"changed")
        assert not merkle.verify_consistency(
            first, second, merkle.naive_root(changed[:first]), second_root, proof
        )
        assert not merkle.verify_consistency(first, second, first_root, merkle.naive_root(changed), proof)


def test_frontier_matches_the_definition_and_reports_complete_subtrees() -> None:
    leaves = hashes(37)
    frontier: list[bytes] = []
    nodes: dict[tuple[int, int], bytes] = {}
    for i, leaf in enumerate(leaves):
        merkle.push(frontier, i, leaf, lambda level, pos, h: nodes.__setitem__((level, pos), h))
        assert merkle.frontier_root(frontier) == merkle.naive_root(leaves[: i + 1])
    assert nodes[(5, 0)] == merkle.naive_root(leaves[:32])
    assert nodes[(2, 8)] == merkle.naive_root(leaves[32:36])
    assert len(frontier) == bin(37).count("1")
