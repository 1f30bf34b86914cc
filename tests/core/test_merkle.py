"""Tests for ``tenderhall.core.merkle`` (RFC 9162 §2.1 / RFC 6962 §2.1 Merkle trees).

Three kinds of evidence:

1. Published known-answer vectors, copied verbatim (never computed here):
   - google/certificate-transparency, cpp/merkletree/merkle_tree_test.cc
     (kInputs, kSHA256Roots, kSHA256Paths, kSHA256Proofs, kSHA256EmptyTreeHash);
   - transparency-dev/merkle, proof/verify_test.go (the same vectors plus the 6 -> 7 consistency
     proof, and the corruption probes of corruptInclusionProof/corruptConsistencyProof);
   - transparency-dev/merkle, rfc6962/rfc6962_test.go (leaf/node hasher vectors);
   - transparency-dev/merkle, proof/proof_test.go (which tree nodes make up a proof, as node IDs).
2. An independent oracle written here: a literal transcription of the RFC's recursive definitions
   (MTH, PATH, PROOF/SUBPROOF) and recursive verifiers, sharing no code with the module.
3. Hypothesis properties: every proof verifies, every tampering fails, and the incremental
   structures (frontier, MerkleTree) agree with the pure functions for every size and index.
"""

from __future__ import annotations

import functools
import hashlib
from collections.abc import Sequence

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tenderhall.core.merkle import (
    EMPTY_ROOT,
    MerkleTree,
    consistency_proof,
    frontier_append,
    frontier_root,
    inclusion_proof,
    leaf_hash,
    node_hash,
    root,
    verify_consistency,
    verify_inclusion,
)

# ---------------------------------------------------------------------------------------------
# Published vectors (hex copied from the sources named in the module docstring)
# ---------------------------------------------------------------------------------------------

SHA256_EMPTY_TREE_HASH = bytes.fromhex("e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")

# kInputs: the reference tree's eight leaves (hex-encoded entry data).
INPUTS = [
    bytes.fromhex(h)
    for h in (
        "",
        "00",
        "10",
        "2021",
        "3031",
        "40414243",
        "5051525354555657",
        "606162636465666768696a6b6c6d6e6f",
    )
]

# kSHA256Roots: MTH of the first 1..8 inputs.
ROOTS = [
    bytes.fromhex(h)
    for h in (
        "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
        "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
        "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
        "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
        "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
        "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
        "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
        "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
    )
]

# kSHA256Paths / inclusionProofs: (1-based leaf number as published, tree size, audit path).
PATHS: list[tuple[int, int, list[str]]] = [
    (1, 1, []),
    (
        1,
        8,
        [
            "96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
            "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
            "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4",
        ],
    ),
    (
        6,
        8,
        [
            "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
            "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
            "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
        ],
    ),
    (3, 3, ["fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125"]),
    (
        2,
        5,
        [
            "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
            "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
            "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
        ],
    ),
]

# kSHA256Proofs / consistencyProofs: (old size, new size, proof).  6 -> 7 is transparency-dev's.
CONSISTENCY: list[tuple[int, int, list[str]]] = [
    (1, 1, []),
    (
        1,
        8,
        [
            "96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
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
    (
        2,
        5,
        [
            "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
            "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
        ],
    ),
    (
        6,
        7,
        [
            "0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a",
            "b08693ec2e721597130641e8211e7eedccb4c26413963eee6c1e2ed16ffb1a5f",
            "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
        ],
    ),
]

# proof/proof_test.go: proofs as lists of node IDs (level, index) in the tree drawn there
# (a..j are leaves, g..i level-1 nodes, k level 2).  Only the entries without "rehash" are used.
NodeID = tuple[int, int]
INCLUSION_SHAPES: list[tuple[int, int, list[NodeID]]] = [  # (size, index, nodes)
    (1, 0, []),
    (2, 0, [(0, 1)]),
    (2, 1, [(0, 0)]),
    (3, 1, [(0, 0), (0, 2)]),
    (7, 4, [(0, 5), (0, 6), (2, 0)]),
    (7, 5, [(0, 4), (0, 6), (2, 0)]),
    (7, 6, [(1, 2), (2, 0)]),
    (4, 2, [(0, 3), (1, 0)]),
    (5, 3, [(0, 2), (1, 0), (0, 4)]),
    (6, 3, [(0, 2), (1, 0), (1, 2)]),
    (6, 4, [(0, 5), (2, 0)]),
]
CONSISTENCY_SHAPES: list[tuple[int, int, list[NodeID]]] = [  # (size1, size2, nodes)
    (1, 2, [(0, 1)]),
    (1, 4, [(0, 1), (1, 1)]),
    (1, 6, [(0, 1), (1, 1), (1, 2)]),
    (2, 3, [(0, 2)]),
    (2, 8, [(1, 1), (2, 1)]),
    (5, 7, [(0, 4), (0, 5), (0, 6), (2, 0)]),
    (6, 7, [(1, 2), (0, 6), (2, 0)]),
    (7, 8, [(0, 6), (0, 7), (1, 2), (2, 0)]),
    (1, 1, []),
    (2, 2, []),
    (3, 3, []),
    (4, 4, []),
    (5, 5, []),
    (7, 7, []),
    (8, 8, []),
    (2, 4, [(1, 1)]),
    (3, 5, [(0, 2), (0, 3), (1, 0), (0, 4)]),
    (3, 6, [(0, 2), (0, 3), (1, 0), (1, 2)]),
    (4, 6, [(1, 2)]),
]

LEAF_HASHES = [leaf_hash(d) for d in INPUTS]
# verify_test.go's sha256SomeHash: an arbitrary 32-byte value that is nobody's hash.
SOME_HASH = bytes.fromhex("abacaba000000000000000000000000000000000000000000060061e00123456")


def _hexes(values: Sequence[str]) -> list[bytes]:
    return [bytes.fromhex(v) for v in values]


# ---------------------------------------------------------------------------------------------
# Independent oracle: the RFC's recursive definitions, transcribed literally
# ---------------------------------------------------------------------------------------------


def _sha(data: bytes) -> bytes:
    return hashlib.sha256(data).digest()


def _ref_node(left: bytes, right: bytes) -> bytes:
    return _sha(b"\x01" + left + right)


def _ref_k(n: int) -> int:
    k = 1
    while k * 2 < n:
        k *= 2
    return k


def ref_mth(d: Sequence[bytes]) -> bytes:
    if len(d) == 0:
        return _sha(b"")
    if len(d) == 1:
        return d[0]  # the inputs are leaf hashes already
    k = _ref_k(len(d))
    return _ref_node(ref_mth(d[:k]), ref_mth(d[k:]))


def ref_path(m: int, d: Sequence[bytes]) -> list[bytes]:
    if len(d) == 1:
        return []
    k = _ref_k(len(d))
    if m < k:
        return [*ref_path(m, d[:k]), ref_mth(d[k:])]
    return [*ref_path(m - k, d[k:]), ref_mth(d[:k])]


def ref_subproof(m: int, d: Sequence[bytes], b: bool) -> list[bytes]:
    n = len(d)
    if m == n:
        return [] if b else [ref_mth(d)]
    k = _ref_k(n)
    if m <= k:
        return [*ref_subproof(m, d[:k], b), ref_mth(d[k:])]
    return [*ref_subproof(m - k, d[k:], False), ref_mth(d[:k])]


def ref_proof(m: int, d: Sequence[bytes]) -> list[bytes]:
    if m in (0, len(d)):
        return []
    return ref_subproof(m, d, True)


def _ref_root_from_path(m: int, n: int, leaf: bytes, path: list[bytes]) -> bytes | None:
    """The root implied by ``path`` if it has the shape of PATH(m, D[n]), else None."""
    if n == 1:
        return None if path else leaf
    if not path:
        return None
    *rest, sibling = path
    k = _ref_k(n)
    if m < k:
        sub = _ref_root_from_path(m, k, leaf, rest)
        return None if sub is None else _ref_node(sub, sibling)
    sub = _ref_root_from_path(m - k, n - k, leaf, rest)
    return None if sub is None else _ref_node(sibling, sub)


def ref_verify_inclusion(leaf: bytes, m: int, n: int, path: Sequence[bytes], head: bytes) -> bool:
    if not 0 <= m < n:
        return False
    return _ref_root_from_path(m, n, leaf, list(path)) == head


def _ref_consistency_heads(
    m: int, n: int, known: bool, old_head: bytes, proof: list[bytes]
) -> tuple[bytes, bytes] | None:
    """(old head, new head) implied by the SUBPROOF-shaped ``proof`` (consumed from the end)."""
    if m == n:
        if known:
            return old_head, old_head
        if not proof:
            return None
        node = proof.pop()
        return node, node
    if not proof:
        return None
    sibling = proof.pop()
    k = _ref_k(n)
    if m <= k:
        sub = _ref_consistency_heads(m, k, known, old_head, proof)
        return None if sub is None else (sub[0], _ref_node(sub[1], sibling))
    sub = _ref_consistency_heads(m - k, n - k, False, old_head, proof)
    return None if sub is None else (_ref_node(sibling, sub[0]), _ref_node(sibling, sub[1]))


def ref_verify_consistency(m: int, n: int, old_head: bytes, new_head: bytes, proof: Sequence[bytes]) -> bool:
    if not 0 <= m <= n:
        return False
    if m == n:
        return not proof and old_head == new_head
    if m == 0:
        return not proof
    remaining = list(proof)
    heads = _ref_consistency_heads(m, n, True, old_head, remaining)
    return heads == (old_head, new_head) and not remaining


def _node_id_hash(d: Sequence[bytes], node: NodeID) -> bytes:
    level, index = node
    return ref_mth(d[index << level : (index + 1) << level])


def _flip(value: bytes, pos: int, mask: int = 0x08) -> bytes:
    out = bytearray(value)
    out[pos] ^= mask
    return bytes(out)


# ---------------------------------------------------------------------------------------------
# Known-answer tests
# ---------------------------------------------------------------------------------------------


def test_hasher_vectors() -> None:
    # rfc6962/rfc6962_test.go: empty root, empty leaf, leaf "L123456", node ("N123", "N456").
    assert EMPTY_ROOT == SHA256_EMPTY_TREE_HASH
    assert root([]) == SHA256_EMPTY_TREE_HASH
    assert MerkleTree().root() == SHA256_EMPTY_TREE_HASH
    assert frontier_root([], 0) == SHA256_EMPTY_TREE_HASH
    assert leaf_hash(b"") == bytes.fromhex("6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d")
    assert leaf_hash(b"L123456") == bytes.fromhex(
        "395aa064aa4c29f7010acfe3f25db9485bbd4b91897b6ad7ad547639252b4d56"
    )
    assert node_hash(b"N123", b"N456") == bytes.fromhex(
        "aa217fe888e47007fa15edab33c2b492a722cb106c64667fc2b044444de66bbb"
    )


@pytest.mark.parametrize("size", range(1, 9))
def test_reference_roots(size: int) -> None:
    expected = ROOTS[size - 1]
    assert root(LEAF_HASHES[:size]) == expected
    assert ref_mth(LEAF_HASHES[:size]) == expected  # the oracle itself matches the published roots
    tree = MerkleTree(LEAF_HASHES)
    assert tree.root(size) == expected
    assert MerkleTree(LEAF_HASHES[:size]).root() == expected
    frontier: list[bytes] = []
    for i in range(size):
        frontier = frontier_append(frontier, i, LEAF_HASHES[i])
    assert frontier_root(frontier, size) == expected


def test_reference_roots_incrementally() -> None:
    # As merkle_tree_test.cc RootTestVectors: after every append, every earlier snapshot still answers.
    tree = MerkleTree()
    for i, h in enumerate(LEAF_HASHES):
        assert tree.append(h) == i
        assert tree.size == i + 1
        assert tree.root() == ROOTS[i]
        assert tree.root(0) == SHA256_EMPTY_TREE_HASH
        for j in range(i + 1):
            assert tree.root(j + 1) == ROOTS[j]


def _inclusion_corruptions(
    index: int, size: int, proof: list[bytes], head: bytes, leaf: bytes
) -> list[tuple[str, tuple[bytes, int, int, list[bytes], bytes]]]:
    """verify_test.go corruptInclusionProof: every probe must be rejected."""
    probes = [
        ("leafIndex - 1", (leaf, index - 1, size, proof, head)),
        ("leafIndex + 1", (leaf, index + 1, size, proof, head)),
        ("leafIndex ^ 2", (leaf, index ^ 2, size, proof, head)),
        ("treeSize * 2", (leaf, index, size * 2, proof, head)),
        ("treeSize / 2", (leaf, index, size // 2, proof, head)),
        ("wrong leaf", (b"WrongLeaf", index, size, proof, head)),
        ("wrong 32-byte leaf", (leaf_hash(b"WrongLeaf"), index, size, proof, head)),
        ("empty root", (leaf, index, size, proof, SHA256_EMPTY_TREE_HASH)),
        ("random root", (leaf, index, size, proof, SOME_HASH)),
        ("trailing garbage", (leaf, index, size, [*proof, b""], head)),
        ("trailing root", (leaf, index, size, [*proof, head], head)),
        ("preceding garbage", (leaf, index, size, [b"", *proof], head)),
        ("preceding root", (leaf, index, size, [head, *proof], head)),
    ]
    for i in range(len(proof)):
        wrong = list(proof)
        wrong[i] = _flip(wrong[i], 0, 8)
        probes.append((f"modified proof[{i}] bit 3", (leaf, index, size, wrong, head)))
    if proof:
        probes.append(("removed component", (leaf, index, size, proof[:-1], head)))
    if len(proof) > 1:
        probes.append(("inserted component", (leaf, index, size, [proof[0], SOME_HASH, *proof[1:]], head)))
    return probes


@pytest.mark.parametrize(("leaf_number", "size", "path"), PATHS)
def test_reference_inclusion_proofs(leaf_number: int, size: int, path: list[str]) -> None:
    index = leaf_number - 1  # the published vectors number leaves from 1
    expected = _hexes(path)
    head = ROOTS[size - 1]
    leaf = LEAF_HASHES[index]
    assert inclusion_proof(index, LEAF_HASHES[:size]) == expected
    assert MerkleTree(LEAF_HASHES).inclusion_proof(index, size) == expected
    assert MerkleTree(LEAF_HASHES[:size]).inclusion_proof(index) == expected
    assert verify_inclusion(leaf, index, size, expected, head)
    for desc, args in _inclusion_corruptions(index, size, expected, head, leaf):
        assert not verify_inclusion(*args), desc


def _consistency_corruptions(
    size1: int, size2: int, head1: bytes, head2: bytes, proof: list[bytes]
) -> list[tuple[str, tuple[int, int, bytes, bytes, list[bytes]]]]:
    """verify_test.go corruptConsistencyProof: every probe must be rejected."""
    probes = [
        ("size1 - 1", (size1 - 1, size2, head1, head2, proof)),
        ("size1 + 1", (size1 + 1, size2, head1, head2, proof)),
        ("size1 ^ 2", (size1 ^ 2, size2, head1, head2, proof)),
        ("size2 * 2", (size1, size2 * 2, head1, head2, proof)),
        ("size2 / 2", (size1, size2 // 2, head1, head2, proof)),
        ("wrong root1", (size1, size2, b"WrongRoot", head2, proof)),
        ("wrong root2", (size1, size2, head1, b"WrongRoot", proof)),
        ("wrong 32-byte root1", (size1, size2, SOME_HASH, head2, proof)),
        ("wrong 32-byte root2", (size1, size2, head1, SOME_HASH, proof)),
        ("swapped roots", (size1, size2, head2, head1, proof)),
        ("empty proof", (size1, size2, head1, head2, [])),
        ("trailing garbage", (size1, size2, head1, head2, [*proof, b""])),
        ("trailing root1", (size1, size2, head1, head2, [*proof, head1])),
        ("trailing root2", (size1, size2, head1, head2, [*proof, head2])),
        ("preceding garbage", (size1, size2, head1, head2, [b"", *proof])),
        ("preceding root1", (size1, size2, head1, head2, [head1, *proof])),
        ("preceding root2", (size1, size2, head1, head2, [head2, *proof])),
        ("preceding proof[0]", (size1, size2, head1, head2, [proof[0], *proof])),
        ("truncated proof", (size1, size2, head1, head2, proof[:-1])),
    ]
    for i in range(len(proof)):
        wrong = list(proof)
        wrong[i] = _flip(wrong[i], 0, 16)
        probes.append((f"modified proof[{i}] bit 4", (size1, size2, head1, head2, wrong)))
    return probes


@pytest.mark.parametrize(("size1", "size2", "proof_hex"), CONSISTENCY)
def test_reference_consistency_proofs(size1: int, size2: int, proof_hex: list[str]) -> None:
    expected = _hexes(proof_hex)
    head1, head2 = ROOTS[size1 - 1], ROOTS[size2 - 1]
    assert consistency_proof(size1, LEAF_HASHES[:size2]) == expected
    assert MerkleTree(LEAF_HASHES).consistency_proof(size1, size2) == expected
    assert MerkleTree(LEAF_HASHES[:size2]).consistency_proof(size1) == expected
    assert verify_consistency(size1, size2, head1, head2, expected)
    if expected:  # as upstream: only non-trivial proofs are corrupted
        for desc, args in _consistency_corruptions(size1, size2, head1, head2, expected):
            assert not verify_consistency(*args), desc


@pytest.mark.parametrize(("size", "index", "nodes"), INCLUSION_SHAPES)
def test_published_inclusion_shapes(size: int, index: int, nodes: list[NodeID]) -> None:
    expected = [_node_id_hash(LEAF_HASHES, node) for node in nodes]
    assert inclusion_proof(index, LEAF_HASHES[:size]) == expected
    assert MerkleTree(LEAF_HASHES).inclusion_proof(index, size) == expected


@pytest.mark.parametrize(("size1", "size2", "nodes"), CONSISTENCY_SHAPES)
def test_published_consistency_shapes(size1: int, size2: int, nodes: list[NodeID]) -> None:
    expected = [_node_id_hash(LEAF_HASHES, node) for node in nodes]
    assert consistency_proof(size1, LEAF_HASHES[:size2]) == expected
    assert MerkleTree(LEAF_HASHES).consistency_proof(size1, size2) == expected


# ---------------------------------------------------------------------------------------------
# Verifier edge cases (merkle_tree_test.cc VerifyPath/VerifyConsistencyProof, verify_test.go)
# ---------------------------------------------------------------------------------------------


def test_verify_inclusion_single_entry() -> None:
    h = leaf_hash(b"data")
    assert verify_inclusion(h, 0, 1, [], h)  # a one-leaf tree's head is its leaf hash
    assert not verify_inclusion(h, 0, 1, [], b"")
    assert not verify_inclusion(b"", 0, 1, [], h)
    assert not verify_inclusion(b"", 0, 1, [], b"")


@pytest.mark.parametrize(("index", "size"), [(0, 0), (0, 1), (1, 0), (2, 1)])
def test_verify_inclusion_invalid_paths(index: int, size: int) -> None:
    assert not verify_inclusion(SOME_HASH, index, size, [], b"")
    assert not verify_inclusion(b"", index, size, [], SHA256_EMPTY_TREE_HASH)
    assert not verify_inclusion(SOME_HASH, index, size, [], SHA256_EMPTY_TREE_HASH)


# verify_test.go uses arbitrary strings for "don't care" roots; this module insists on 32 bytes.
ROOT1 = _sha(b"don't care 1")
ROOT2 = _sha(b"don't care 2")


@pytest.mark.parametrize(
    ("size1", "size2", "head1", "head2", "proof", "ok"),
    [
        (0, 0, ROOT1, ROOT2, [], False),
        (1, 1, ROOT1, ROOT2, [], False),
        # Sizes that are always consistent.
        (0, 0, ROOT1, ROOT1, [], True),
        (0, 1, ROOT1, ROOT2, [], True),
        (1, 1, ROOT2, ROOT2, [], True),
        # Time travel to the past.
        (1, 0, ROOT1, ROOT2, [], False),
        (2, 1, ROOT1, ROOT2, [], False),
        # Empty proof.
        (1, 2, ROOT1, ROOT2, [], False),
        # Roots don't match.
        (0, 0, SHA256_EMPTY_TREE_HASH, ROOT2, [], False),
        (1, 1, SHA256_EMPTY_TREE_HASH, ROOT2, [], False),
        # Roots match but the proof is not empty.
        (0, 0, SHA256_EMPTY_TREE_HASH, SHA256_EMPTY_TREE_HASH, [SHA256_EMPTY_TREE_HASH], False),
        (0, 1, SHA256_EMPTY_TREE_HASH, SHA256_EMPTY_TREE_HASH, [SHA256_EMPTY_TREE_HASH], False),
        (1, 1, SHA256_EMPTY_TREE_HASH, SHA256_EMPTY_TREE_HASH, [SHA256_EMPTY_TREE_HASH], False),
    ],
)
def test_verify_consistency_edge_cases(
    size1: int, size2: int, head1: bytes, head2: bytes, proof: list[bytes], ok: bool
) -> None:
    assert verify_consistency(size1, size2, head1, head2, proof) is ok


GOOD_PROOF = _hexes(PATHS[1][2])  # leaf 0 of the size-8 reference tree


@pytest.mark.parametrize(
    "args",
    [
        (LEAF_HASHES[0], -1, 8, GOOD_PROOF, ROOTS[7]),
        (LEAF_HASHES[0], 0, -8, GOOD_PROOF, ROOTS[7]),
        (LEAF_HASHES[0], 8, 8, GOOD_PROOF, ROOTS[7]),
        (LEAF_HASHES[0], 0, 2**70, GOOD_PROOF, ROOTS[7]),
        (LEAF_HASHES[0], 0.0, 8, GOOD_PROOF, ROOTS[7]),
        (LEAF_HASHES[0], "0", 8, GOOD_PROOF, ROOTS[7]),
        (LEAF_HASHES[0], False, 8, GOOD_PROOF, ROOTS[7]),
        (LEAF_HASHES[0], 0, 8, None, ROOTS[7]),
        (LEAF_HASHES[0], 0, 8, 12345, ROOTS[7]),
        (LEAF_HASHES[0], 0, 8, GOOD_PROOF[0], ROOTS[7]),  # a bytes object is not a list of hashes
        (LEAF_HASHES[0], 0, 8, [*GOOD_PROOF[:2], None], ROOTS[7]),
        (LEAF_HASHES[0], 0, 8, [*GOOD_PROOF[:2], GOOD_PROOF[2] + b"\x00"], ROOTS[7]),
        (LEAF_HASHES[0], 0, 8, [*GOOD_PROOF[:2], GOOD_PROOF[2].hex()], ROOTS[7]),
        (LEAF_HASHES[0], 0, 8, GOOD_PROOF * 100, ROOTS[7]),
        (None, 0, 8, GOOD_PROOF, ROOTS[7]),
        (LEAF_HASHES[0], 0, 8, GOOD_PROOF, ROOTS[7][:31]),
        (LEAF_HASHES[0], 0, 8, GOOD_PROOF, ROOTS[7].hex()),
    ],
)
def test_verify_inclusion_rejects_junk_without_raising(args: tuple[object, ...]) -> None:
    assert verify_inclusion(*args) is False  # type: ignore[arg-type]


GOOD_CONSISTENCY = _hexes(CONSISTENCY[2][2])  # 6 -> 8


@pytest.mark.parametrize(
    "args",
    [
        (-1, 8, ROOTS[5], ROOTS[7], GOOD_CONSISTENCY),
        (6, -8, ROOTS[5], ROOTS[7], GOOD_CONSISTENCY),
        (9, 8, ROOTS[5], ROOTS[7], GOOD_CONSISTENCY),
        (6, 2**70, ROOTS[5], ROOTS[7], GOOD_CONSISTENCY),
        (6.0, 8, ROOTS[5], ROOTS[7], GOOD_CONSISTENCY),
        (True, 8, ROOTS[5], ROOTS[7], GOOD_CONSISTENCY),
        (6, 8, ROOTS[5], ROOTS[7], None),
        (6, 8, ROOTS[5], ROOTS[7], 7),
        (6, 8, ROOTS[5], ROOTS[7], [*GOOD_CONSISTENCY[:2], None]),
        (6, 8, ROOTS[5], ROOTS[7], [*GOOD_CONSISTENCY[:2], b"\x00" * 33]),
        (6, 8, ROOTS[5], ROOTS[7], GOOD_CONSISTENCY * 100),
        (6, 8, None, ROOTS[7], GOOD_CONSISTENCY),
        (6, 8, ROOTS[5], b"", GOOD_CONSISTENCY),
        (0, 0, b"", b"", []),
    ],
)
def test_verify_consistency_rejects_junk_without_raising(args: tuple[object, ...]) -> None:
    assert verify_consistency(*args) is False  # type: ignore[arg-type]


def test_bytearray_inputs_are_accepted() -> None:
    proof = [bytearray(p) for p in GOOD_PROOF]
    assert verify_inclusion(bytearray(LEAF_HASHES[0]), 0, 8, proof, bytearray(ROOTS[7]))  # type: ignore[arg-type]
    cons = [bytearray(p) for p in GOOD_CONSISTENCY]
    assert verify_consistency(6, 8, bytearray(ROOTS[5]), bytearray(ROOTS[7]), cons)  # type: ignore[arg-type]


def test_inclusion_proof_may_also_fit_another_tree_size() -> None:
    # RFC 9162 verification binds the path's *shape*, and distinct (index, size) pairs can share one:
    # PATH(0, D[3]) = [b, c] has the same shape as PATH(0, D[4]).  So a size-3 proof checks against
    # the size-3 head under a claimed size 4 — by the RFC algorithm and the recursive oracle alike.
    # Callers must therefore take the size from the signed tree head, never from the requester.
    d3 = LEAF_HASHES[:3]
    proof = inclusion_proof(0, d3)
    assert verify_inclusion(d3[0], 0, 4, proof, ROOTS[2])
    assert ref_verify_inclusion(d3[0], 0, 4, proof, ROOTS[2])


# ---------------------------------------------------------------------------------------------
# Argument errors of the builders
# ---------------------------------------------------------------------------------------------


def test_builder_argument_errors() -> None:
    with pytest.raises(ValueError):
        inclusion_proof(0, [])
    with pytest.raises(ValueError):
        inclusion_proof(8, LEAF_HASHES)
    with pytest.raises(ValueError):
        inclusion_proof(-1, LEAF_HASHES)
    with pytest.raises(ValueError):
        consistency_proof(9, LEAF_HASHES)
    with pytest.raises(ValueError):
        consistency_proof(-1, LEAF_HASHES)
    assert consistency_proof(0, LEAF_HASHES) == []
    assert consistency_proof(8, LEAF_HASHES) == []
    assert consistency_proof(0, []) == []

    tree = MerkleTree(LEAF_HASHES)
    with pytest.raises(ValueError):
        tree.root(9)
    with pytest.raises(ValueError):
        tree.root(-1)
    with pytest.raises(ValueError):
        tree.inclusion_proof(5, 5)
    with pytest.raises(ValueError):
        tree.inclusion_proof(0, 9)
    with pytest.raises(ValueError):
        tree.inclusion_proof(-1)
    with pytest.raises(ValueError):
        tree.consistency_proof(6, 5)
    with pytest.raises(ValueError):
        tree.consistency_proof(-1)
    assert tree.consistency_proof(0) == []
    assert tree.consistency_proof(8) == []
    assert tree.consistency_proof(3, 3) == []
    with pytest.raises(IndexError):
        tree.leaf(8)
    with pytest.raises(IndexError):
        tree.leaf(-1)
    assert [tree.leaf(i) for i in range(8)] == LEAF_HASHES
    for bad in (b"", b"\x00" * 31, b"\x00" * 33, "00" * 32):
        with pytest.raises(ValueError):
            tree.append(bad)  # type: ignore[arg-type]
    assert tree.size == 8  # rejected appends leave the tree untouched
    assert tree.root() == ROOTS[7]

    with pytest.raises(ValueError):
        frontier_root([], 1)
    with pytest.raises(ValueError):
        frontier_root([ROOTS[0]], 2 + 1)
    with pytest.raises(ValueError):
        frontier_append([], 1, LEAF_HASHES[0])
    with pytest.raises(ValueError):
        frontier_append([], 0, b"short")
    with pytest.raises(ValueError):
        frontier_append([], -1, LEAF_HASHES[0])
    full = [SOME_HASH] * 64
    with pytest.raises(ValueError):
        frontier_append(full, 2**64 - 1, LEAF_HASHES[0])
    assert len(frontier_append(full[:63], 2**64 - 2, LEAF_HASHES[0])) == 64
    frontier = [LEAF_HASHES[0]]
    frontier_append(frontier, 1, LEAF_HASHES[1])
    assert frontier == [LEAF_HASHES[0]]  # the input frontier is not mutated


# ---------------------------------------------------------------------------------------------
# Exhaustive cross-check against the oracle for every size 0..70 and every index / old size
# ---------------------------------------------------------------------------------------------

EXHAUSTIVE_MAX = 70
# As merkle_tree_test.cc: leaf i is the single byte i.
SMALL = [leaf_hash(bytes([i])) for i in range(EXHAUSTIVE_MAX)]


def test_every_root_and_inclusion_proof_up_to_70() -> None:
    tree = MerkleTree(SMALL)
    frontier: list[bytes] = []
    for size in range(EXHAUSTIVE_MAX + 1):
        d = SMALL[:size]
        head = ref_mth(d)
        assert root(d) == head
        assert tree.root(size) == head
        assert frontier_root(frontier, size) == head
        assert len(frontier) <= size.bit_length()
        for index in range(size):
            expected = ref_path(index, d)
            assert inclusion_proof(index, d) == expected
            assert tree.inclusion_proof(index, size) == expected
            assert verify_inclusion(d[index], index, size, expected, head)
        if size < EXHAUSTIVE_MAX:
            frontier = frontier_append(frontier, size, SMALL[size])


def test_every_consistency_proof_up_to_70() -> None:
    tree = MerkleTree(SMALL)
    heads = [ref_mth(SMALL[:s]) for s in range(EXHAUSTIVE_MAX + 1)]
    for size in range(EXHAUSTIVE_MAX + 1):
        d = SMALL[:size]
        for old in range(size + 1):
            expected = ref_proof(old, d)
            assert consistency_proof(old, d) == expected
            assert tree.consistency_proof(old, size) == expected
            assert verify_consistency(old, size, heads[old], heads[size], expected)
            assert ref_verify_consistency(old, size, heads[old], heads[size], expected)


# ---------------------------------------------------------------------------------------------
# Hypothesis properties
# ---------------------------------------------------------------------------------------------


@st.composite
def distinct_leaves(draw: st.DrawFn, min_size: int = 0, max_size: int = EXHAUSTIVE_MAX) -> list[bytes]:
    """Leaf hashes of a random tree whose leaves are pairwise distinct (salted counters)."""
    n = draw(st.integers(min_size, max_size))
    salt = draw(st.binary(max_size=8))
    return [leaf_hash(i.to_bytes(4, "big") + salt) for i in range(n)]


# Arbitrary entries, duplicates allowed: equality properties must hold for any data.
any_leaves = st.lists(st.binary(max_size=6), max_size=EXHAUSTIVE_MAX).map(
    lambda ds: [leaf_hash(d) for d in ds]
)


@settings(max_examples=250, deadline=None)
@given(leaves=any_leaves, data=st.data())
def test_incremental_structures_agree_with_pure_functions(leaves: list[bytes], data: st.DataObject) -> None:
    tree = MerkleTree()
    frontier: list[bytes] = []
    for i, h in enumerate(leaves):
        # Queries interleaved with appends: answers must not depend on the tree's later growth.
        assert tree.root() == frontier_root(frontier, i) == root(leaves[:i])
        tree.append(h)
        frontier = frontier_append(frontier, i, h)
    n = len(leaves)
    assert tree.size == n
    assert tree.root() == frontier_root(frontier, n) == root(leaves) == ref_mth(leaves)
    if n:
        size = data.draw(st.integers(1, n), label="size")
        index = data.draw(st.integers(0, size - 1), label="index")
        assert tree.inclusion_proof(index, size) == inclusion_proof(index, leaves[:size])
        assert tree.leaf(index) == leaves[index]
    old = data.draw(st.integers(0, n), label="old")
    assert tree.consistency_proof(old) == consistency_proof(old, leaves) == ref_proof(old, leaves)


@settings(max_examples=250, deadline=None)
@given(leaves=distinct_leaves(min_size=1), data=st.data())
def test_inclusion_proofs_verify_and_tampering_fails(leaves: list[bytes], data: st.DataObject) -> None:
    n = len(leaves)
    head = root(leaves)
    for i in range(n):
        assert verify_inclusion(leaves[i], i, n, inclusion_proof(i, leaves), head)
    index = data.draw(st.integers(0, n - 1), label="index")
    leaf = leaves[index]
    proof = inclusion_proof(index, leaves)
    assert verify_inclusion(leaf, index, n, proof, head)

    if proof:
        # Flip any bit pattern in any byte of any element.
        pos = data.draw(st.integers(0, len(proof) - 1), label="element")
        byte = data.draw(st.integers(0, 31), label="byte")
        mask = data.draw(st.integers(1, 255), label="mask")
        tampered = list(proof)
        tampered[pos] = _flip(proof[pos], byte, mask)
        assert not verify_inclusion(leaf, index, n, tampered, head)
        # Drop any element.
        assert not verify_inclusion(leaf, index, n, proof[:pos] + proof[pos + 1 :], head)
    # Add an element (random, or a copy of a real node) anywhere.
    extra = data.draw(st.sampled_from([SOME_HASH, head, leaf, *proof]), label="extra")
    at = data.draw(st.integers(0, len(proof)), label="insert_at")
    assert not verify_inclusion(leaf, index, n, [*proof[:at], extra, *proof[at:]], head)
    # Another root, another leaf.
    byte = data.draw(st.integers(0, 31), label="root_byte")
    assert not verify_inclusion(leaf, index, n, proof, _flip(head, byte, 1))
    assert not verify_inclusion(_flip(leaf, byte, 1), index, n, proof, head)
    # Another index in the same tree: distinct leaves have distinct left/right patterns.
    if n > 1:
        other = data.draw(st.integers(0, n - 1).filter(lambda i: i != index), label="other_index")
        assert not verify_inclusion(leaf, other, n, proof, head)
    # Any other (index, size) claim: accepted exactly when the recursive RFC oracle accepts it.
    claimed_size = data.draw(st.integers(0, 2 * n + 2), label="claimed_size")
    claimed_index = data.draw(st.integers(-1, claimed_size + 1), label="claimed_index")
    assert verify_inclusion(leaf, claimed_index, claimed_size, proof, head) == ref_verify_inclusion(
        leaf, claimed_index, claimed_size, proof, head
    )
    # Out-of-range indexes never verify.
    assert not verify_inclusion(leaf, n + data.draw(st.integers(0, 5)), n, proof, head)


@settings(max_examples=250, deadline=None)
@given(leaves=distinct_leaves(min_size=2), data=st.data())
def test_consistency_proofs_verify_and_tampering_fails(leaves: list[bytes], data: st.DataObject) -> None:
    n = len(leaves)
    heads = [root(leaves[:s]) for s in range(n + 1)]
    for s in range(n + 1):
        assert verify_consistency(s, n, heads[s], heads[n], consistency_proof(s, leaves))
    old = data.draw(st.integers(1, n - 1), label="old")
    head1, head2 = root(leaves[:old]), root(leaves)
    proof = consistency_proof(old, leaves)
    assert proof  # 0 < old < n always needs at least one node
    assert verify_consistency(old, n, head1, head2, proof)

    pos = data.draw(st.integers(0, len(proof) - 1), label="element")
    byte = data.draw(st.integers(0, 31), label="byte")
    mask = data.draw(st.integers(1, 255), label="mask")
    tampered = list(proof)
    tampered[pos] = _flip(proof[pos], byte, mask)
    assert not verify_consistency(old, n, head1, head2, tampered)
    assert not verify_consistency(old, n, head1, head2, proof[:pos] + proof[pos + 1 :])
    extra = data.draw(st.sampled_from([SOME_HASH, head1, head2, *proof]), label="extra")
    at = data.draw(st.integers(0, len(proof)), label="insert_at")
    assert not verify_consistency(old, n, head1, head2, [*proof[:at], extra, *proof[at:]])
    assert not verify_consistency(old, n, _flip(head1, byte, 1), head2, proof)
    assert not verify_consistency(old, n, head1, _flip(head2, byte, 1), proof)
    assert not verify_consistency(old, n, head2, head1, proof)
    # Any other (old, new) claim: accepted exactly when the recursive RFC oracle accepts it.
    claimed_new = data.draw(st.integers(0, 2 * n + 2), label="claimed_new")
    claimed_old = data.draw(st.integers(-1, claimed_new + 1), label="claimed_old")
    assert verify_consistency(claimed_old, claimed_new, head1, head2, proof) == ref_verify_consistency(
        claimed_old, claimed_new, head1, head2, proof
    )


@settings(max_examples=400, deadline=None)
@given(
    leaves=distinct_leaves(max_size=40),
    old=st.integers(0, 45),
    new=st.integers(0, 45),
    choice=st.lists(st.integers(0, 200), max_size=8),
)
def test_consistency_verifier_matches_oracle_on_arbitrary_proofs(
    leaves: list[bytes], old: int, new: int, choice: list[int]
) -> None:
    # Proofs assembled from real nodes of the tree (in any order) and arbitrary size claims: the
    # RFC's bit-twiddling verifier and the recursive oracle must give the same verdict.
    pool = [SOME_HASH, *leaves, *(root(leaves[:s]) for s in range(len(leaves) + 1))]
    proof = [pool[c % len(pool)] for c in choice]
    head1 = root(leaves[: min(old, len(leaves))])
    head2 = root(leaves[: min(new, len(leaves))])
    assert verify_consistency(old, new, head1, head2, proof) == ref_verify_consistency(
        old, new, head1, head2, proof
    )


# ---------------------------------------------------------------------------------------------
# A few larger trees
# ---------------------------------------------------------------------------------------------

LARGE = 5000


@functools.cache
def _large() -> tuple[list[bytes], MerkleTree]:
    leaves = [leaf_hash(i.to_bytes(4, "big")) for i in range(LARGE)]
    return leaves, MerkleTree(leaves)


@pytest.mark.parametrize("size", [2**k + delta for k in range(1, 13) for delta in (-1, 0, 1)] + [LARGE])
def test_large_tree_roots_at_power_of_two_boundaries(size: int) -> None:
    leaves, tree = _large()
    head = root(leaves[:size])
    assert tree.root(size) == head
    frontier: list[bytes] = []
    for i in range(size):
        frontier = frontier_append(frontier, i, leaves[i])
    assert frontier_root(frontier, size) == head
    for index in {0, size // 2, size - 1}:
        proof = tree.inclusion_proof(index, size)
        assert proof == inclusion_proof(index, leaves[:size])
        assert verify_inclusion(leaves[index], index, size, proof, head)


@settings(max_examples=60, deadline=None)
@given(data=st.data())
def test_large_tree_agrees_with_pure_functions(data: st.DataObject) -> None:
    leaves, tree = _large()
    size = data.draw(st.integers(1, LARGE), label="size")
    index = data.draw(st.integers(0, size - 1), label="index")
    old = data.draw(st.integers(0, size), label="old")
    prefix = leaves[:size]
    head = tree.root(size)
    assert head == root(prefix)
    proof = tree.inclusion_proof(index, size)
    assert proof == inclusion_proof(index, prefix)
    assert verify_inclusion(leaves[index], index, size, proof, head)
    cons = tree.consistency_proof(old, size)
    assert cons == consistency_proof(old, prefix)
    assert verify_consistency(old, size, tree.root(old), head, cons)
