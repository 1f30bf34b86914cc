"""Merkle Hash Trees exactly as RFC 9162 §2.1 (identical to RFC 6962 §2.1), SHA-256, stdlib only.

Definitions follow the RFC's notation: D[n] is a list of n leaves, MTH(D[n]) its tree head,
PATH(m, D[n]) the inclusion proof of leaf m (§2.1.3.1) and PROOF(m, D[n]) the consistency proof
between tree sizes m and n (§2.1.4.1).  The verifiers are the RFC's algorithms (§2.1.3.2 and
§2.1.4.2) transcribed step by step.  Every function works on *leaf hashes*
(``leaf_hash(entry)``), never on raw entries, so callers decide what a leaf's bytes are.

Two layers:

* pure functions (``root``, ``inclusion_proof``, ``consistency_proof``, ``verify_*``) that take the
  whole list of leaf hashes; simple and obviously right, O(n) per call;
* incremental structures for the transparency log, which must never rehash the whole tree:
  ``frontier_append``/``frontier_root`` (the "compact range" of perfect subtrees, O(log n) per
  append) and ``MerkleTree`` (every perfect subtree stored, proofs in O(log n) hashes).

Both layers produce byte-identical results; the test-suite checks this for every size and index.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Callable, Iterable, Sequence

__all__ = [
    "EMPTY_ROOT",
    "HASH_SIZE",
    "MerkleTree",
    "consistency_proof",
    "frontier_append",
    "frontier_root",
    "inclusion_proof",
    "leaf_hash",
    "node_hash",
    "root",
    "verify_consistency",
    "verify_inclusion",
]

HASH_SIZE = 32
# RFC 9162 §2.1.1: "The hash of an empty list is the hash of an empty string".
EMPTY_ROOT = hashlib.sha256(b"").digest()
# Tree sizes are uint64 in the RFC's data structures; the frontier therefore never exceeds 64 hashes.
_MAX_TREE_SIZE = (1 << 64) - 1

_LEAF_PREFIX = b"\x00"
_NODE_PREFIX = b"\x01"


def leaf_hash(data: bytes) -> bytes:
    """MTH({d(0)}) = HASH(0x00 || d(0)) — the 0x00 prefix separates leaves from interior nodes."""
    return hashlib.sha256(_LEAF_PREFIX + data).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    """HASH(0x01 || left || right) — the interior-node hash of RFC 9162 §2.1.1."""
    return hashlib.sha256(_NODE_PREFIX + left + right).digest()


# ---------------------------------------------------------------------------------------------
# Helpers
# ---------------------------------------------------------------------------------------------


def _split(n: int) -> int:
    """k, the largest power of two smaller than n (n > 1), where the RFC splits D[n]."""
    return 1 << ((n - 1).bit_length() - 1)


def _is_hash(value: object) -> bool:
    return isinstance(value, bytes | bytearray) and len(value) == HASH_SIZE


def _is_int(value: object) -> bool:
    # bool is an int subclass; True/False as a tree size is always a caller bug.
    return isinstance(value, int) and not isinstance(value, bool)


def _mth(leaf_hashes: Sequence[bytes], lo: int, hi: int) -> bytes:
    """MTH(D[lo:hi]).

    Computed bottom-up (pair neighbours, promote an unpaired last node unchanged) instead of by
    the RFC's top-down recursion: both build the same left-filled tree, and this way costs n - 1
    hashes with no recursion or slicing per level.  The tests check it against the literal recursion.
    """
    if hi <= lo:
        return EMPTY_ROOT
    level = [bytes(h) for h in leaf_hashes[lo:hi]]
    while len(level) > 1:
        paired = [node_hash(level[i], level[i + 1]) for i in range(0, len(level) - 1, 2)]
        if len(level) & 1:
            paired.append(level[-1])
        level = paired
    return level[0]


# The proof shapes below are the RFC recursions unrolled into loops over the subtree D[lo:hi]
# currently being descended.  ``mth(lo, hi)`` supplies MTH(D[lo:hi]); the pure functions hash the
# range, MerkleTree reads stored subtree hashes.  Sharing the shape keeps both byte-identical.
_RangeHash = Callable[[int, int], bytes]


def _inclusion_path(index: int, size: int, mth: _RangeHash) -> list[bytes]:
    """PATH(m, D[n]) of RFC 9162 §2.1.3.1, for 0 <= index < size."""
    siblings: list[bytes] = []  # collected root-first; the RFC lists them leaf-first
    lo, hi = 0, size
    while hi - lo > 1:
        k = _split(hi - lo)
        if index < lo + k:
            # PATH(m, D[n]) = PATH(m, D[0:k]) : MTH(D[k:n])
            siblings.append(mth(lo + k, hi))
            hi = lo + k
        else:
            # PATH(m, D[n]) = PATH(m - k, D[k:n]) : MTH(D[0:k])
            siblings.append(mth(lo, lo + k))
            lo += k
    siblings.reverse()
    return siblings


def _consistency_path(old_size: int, size: int, mth: _RangeHash) -> list[bytes]:
    """PROOF(m, D[n]) = SUBPROOF(m, D[n], true) of RFC 9162 §2.1.4.1, for 0 < old_size < size."""
    nodes: list[bytes] = []  # collected root-first; the RFC lists them deepest-first
    lo, hi, m = 0, size, old_size
    known = True  # the RFC's b: "is D[lo:lo+m] the old tree itself, whose head the verifier has?"
    while m != hi - lo:
        k = _split(hi - lo)
        if m <= k:
            # SUBPROOF(m, D[n], b) = SUBPROOF(m, D[0:k], b) : MTH(D[k:n])
            nodes.append(mth(lo + k, hi))
            hi = lo + k
        else:
            # SUBPROOF(m, D[n], b) = SUBPROOF(m - k, D[k:n], false) : MTH(D[0:k])
            nodes.append(mth(lo, lo + k))
            lo += k
            m -= k
            known = False
    # SUBPROOF(m, D[m], true) = {}; SUBPROOF(m, D[m], false) = {MTH(D[m])}
    if not known:
        nodes.append(mth(lo, hi))
    nodes.reverse()
    return nodes


# ---------------------------------------------------------------------------------------------
# Pure functions over a full list of leaf hashes
# ---------------------------------------------------------------------------------------------


def root(leaf_hashes: Sequence[bytes]) -> bytes:
    """MTH(D[n]) over already-hashed leaves; the empty tree's head is SHA-256("")."""
    return _mth(leaf_hashes, 0, len(leaf_hashes))


def inclusion_proof(index: int, leaf_hashes: Sequence[bytes]) -> list[bytes]:
    """PATH(index, D[n]): the audit path of leaf ``index``, nearest sibling first."""
    size = len(leaf_hashes)
    if not 0 <= index < size:
        raise ValueError(f"leaf index {index} out of range for tree size {size}")
    return _inclusion_path(index, size, lambda lo, hi: _mth(leaf_hashes, lo, hi))


def consistency_proof(old_size: int, leaf_hashes: Sequence[bytes]) -> list[bytes]:
    """PROOF(old_size, D[n]); empty when old_size is 0 or n (nothing to prove)."""
    size = len(leaf_hashes)
    if not 0 <= old_size <= size:
        raise ValueError(f"old size {old_size} out of range for tree size {size}")
    if old_size in (0, size):
        return []
    return _consistency_path(old_size, size, lambda lo, hi: _mth(leaf_hashes, lo, hi))


def verify_inclusion(leaf_hash: bytes, index: int, size: int, proof: Sequence[bytes], root: bytes) -> bool:
    """RFC 9162 §2.1.3.2: does ``proof`` show ``leaf_hash`` at ``index`` in the tree of ``size``/``root``?

    Never raises: malformed input (index >= size, hashes that are not 32 bytes, a proof of the wrong
    length, non-integer sizes...) is simply not a proof.
    """
    if not (_is_int(index) and _is_int(size)) or not 0 <= index < size:
        return False
    if not (_is_hash(leaf_hash) and _is_hash(root)):
        return False
    try:
        path = iter(proof)
    except TypeError:
        return False
    fn, sn = index, size - 1
    r = bytes(leaf_hash)
    for p in path:
        # Each step shifts sn right at least once, so an over-long proof stops here within 64 steps.
        if sn == 0 or not _is_hash(p):
            return False
        if fn & 1 or fn == sn:
            r = node_hash(p, r)
            # fn is the last node of its level: skip the levels where it has no right sibling.
            while not fn & 1 and fn != 0:
                fn >>= 1
                sn >>= 1
        else:
            r = node_hash(r, p)
        fn >>= 1
        sn >>= 1
    return sn == 0 and hmac.compare_digest(r, bytes(root))


def verify_consistency(
    old_size: int, new_size: int, old_root: bytes, new_root: bytes, proof: Sequence[bytes]
) -> bool:
    """RFC 9162 §2.1.4.2: does ``proof`` show the ``old_size`` tree is a prefix of the ``new_size`` one?

    Edge cases: equal sizes need an empty proof and equal roots; every tree extends the empty tree,
    so old_size 0 needs only an empty proof.  Never raises; malformed input returns False.
    """
    if not (_is_int(old_size) and _is_int(new_size)) or not 0 <= old_size <= new_size:
        return False
    if not (_is_hash(old_root) and _is_hash(new_root)):
        return False
    try:
        items = list(proof)
    except TypeError:
        return False
    if not all(_is_hash(p) for p in items):
        return False
    hashes = [bytes(p) for p in items]
    first_hash, second_hash = bytes(old_root), bytes(new_root)
    if old_size == new_size:
        return not hashes and hmac.compare_digest(first_hash, second_hash)
    if old_size == 0:
        return not hashes

    # 1. An empty proof cannot link two different non-empty trees.
    if not hashes:
        return False
    # 2. A power-of-two old tree is a complete subtree of the new one, so the proof omits its head.
    if old_size & (old_size - 1) == 0:
        hashes.insert(0, first_hash)
    # 3-4.
    fn, sn = old_size - 1, new_size - 1
    while fn & 1:
        fn >>= 1
        sn >>= 1
    # 5.
    fr = sr = hashes[0]
    # 6.
    for c in hashes[1:]:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            fr = node_hash(c, fr)
            sr = node_hash(c, sr)
            while not fn & 1 and fn != 0:
                fn >>= 1
                sn >>= 1
        else:
            sr = node_hash(sr, c)
        fn >>= 1
        sn >>= 1
    # 7.
    return sn == 0 and hmac.compare_digest(fr, first_hash) and hmac.compare_digest(sr, second_hash)


# ---------------------------------------------------------------------------------------------
# Frontier ("compact range" [0, size)): the perfect subtrees for the set bits of size
# ---------------------------------------------------------------------------------------------


def _check_frontier(frontier: Sequence[bytes], size: int) -> None:
    if not _is_int(size) or not 0 <= size <= _MAX_TREE_SIZE:
        raise ValueError(f"tree size {size!r} out of range")
    if len(frontier) != size.bit_count():
        raise ValueError(f"a frontier of size {size} holds {size.bit_count()} hashes, got {len(frontier)}")


def frontier_append(frontier: list[bytes], size: int, leaf_hash: bytes) -> list[bytes]:
    """The frontier of size + 1 from the frontier of ``size``: O(log n), input left untouched.

    The frontier lists the heads of the perfect subtrees that tile [0, size), largest (leftmost)
    first — one per set bit of ``size``.  Appending a leaf is binary increment: each trailing 1-bit
    is a subtree that now has an equal-sized right neighbour and merges with it.
    """
    _check_frontier(frontier, size)
    if size == _MAX_TREE_SIZE:
        raise ValueError("tree is full")
    if not _is_hash(leaf_hash):
        raise ValueError("leaf hash must be 32 bytes")
    out = list(frontier)
    out.append(bytes(leaf_hash))
    carry = size
    while carry & 1:
        right = out.pop()
        out.append(node_hash(out.pop(), right))
        carry >>= 1
    return out


def frontier_root(frontier: list[bytes], size: int) -> bytes:
    """MTH(D[size]) from the frontier alone.

    The RFC splits D[n] at the largest power of two k < n, which is exactly the first frontier
    subtree; recursing on the rest gives a right fold over the frontier.
    """
    _check_frontier(frontier, size)
    if size == 0:
        return EMPTY_ROOT
    head = bytes(frontier[-1])
    for subtree in reversed(frontier[:-1]):
        head = node_hash(subtree, head)
    return head


# ---------------------------------------------------------------------------------------------
# MerkleTree: all perfect subtrees kept, so any historical root or proof costs O(log n) hashes
# ---------------------------------------------------------------------------------------------


class MerkleTree:
    """Append-only in-memory Merkle tree over leaf hashes.

    ``_levels[j]`` is a contiguous ``bytearray`` of 32-byte slots holding the heads of the perfect
    subtrees of 2**j leaves, left to right: level 0 is the leaves, and level j has ``size >> j``
    slots.  A subtree is stored once it is complete and never changes afterwards (append-only), so
    every tree size ever reached can still be answered from the same arrays.  Contiguous buffers
    instead of lists of ``bytes`` keep a million-leaf tree at ~64 MB rather than several times that.

    Not thread-safe: callers serialise appends (the transparency log holds a lock around them).
    """

    __slots__ = ("_levels", "_size")

    def __init__(self, leaf_hashes: Iterable[bytes] = ()) -> None:
        self._levels: list[bytearray] = [bytearray()]
        self._size = 0
        self.extend(leaf_hashes)

    @property
    def size(self) -> int:
        """Number of leaves appended so far."""
        return self._size

    def append(self, leaf_hash: bytes) -> int:
        """Add one leaf hash; returns its index.  Amortised one node hash per leaf."""
        if not _is_hash(leaf_hash):
            raise ValueError("leaf hash must be 32 bytes")
        if self._size == _MAX_TREE_SIZE:
            raise ValueError("tree is full")
        levels = self._levels
        levels[0] += leaf_hash
        index = self._size
        self._size = carry = index + 1
        level = 0
        # While level `level` now has an even number of slots, its last two are siblings whose
        # parent has just become complete: hash them into the level above (binary increment).
        while not carry & 1:
            below = levels[level]
            if level + 1 == len(levels):
                levels.append(bytearray())
            # The two siblings are the last 64 bytes, already adjacent: hash them in one slice.
            levels[level + 1] += hashlib.sha256(_NODE_PREFIX + below[-2 * HASH_SIZE :]).digest()
            carry >>= 1
            level += 1
        return index

    def extend(self, leaf_hashes: Iterable[bytes]) -> None:
        """Append every leaf hash in order."""
        for h in leaf_hashes:
            self.append(h)

    def leaf(self, index: int) -> bytes:
        """The leaf hash at ``index`` (no negative indexing: a log index is absolute)."""
        if not _is_int(index) or not 0 <= index < self._size:
            raise IndexError(f"leaf index {index!r} out of range for tree size {self._size}")
        return self._node(0, index)

    def root(self, size: int | None = None) -> bytes:
        """MTH of the first ``size`` leaves (default: all), for any size up to the current one."""
        return self._range_hash(0, self._check_size(size))

    def inclusion_proof(self, index: int, size: int | None = None) -> list[bytes]:
        """PATH(index, D[size]) — same bytes as ``inclusion_proof(index, leaves[:size])``."""
        n = self._check_size(size)
        if not _is_int(index) or not 0 <= index < n:
            raise ValueError(f"leaf index {index!r} out of range for tree size {n}")
        return _inclusion_path(index, n, self._range_hash)

    def consistency_proof(self, old_size: int, size: int | None = None) -> list[bytes]:
        """PROOF(old_size, D[size]) — same bytes as ``consistency_proof(old_size, leaves[:size])``."""
        n = self._check_size(size)
        if not _is_int(old_size) or not 0 <= old_size <= n:
            raise ValueError(f"old size {old_size!r} out of range for tree size {n}")
        if old_size in (0, n):
            return []
        return _consistency_path(old_size, n, self._range_hash)

    # -- internals ------------------------------------------------------------------------------

    def _check_size(self, size: int | None) -> int:
        if size is None:
            return self._size
        if not _is_int(size) or not 0 <= size <= self._size:
            raise ValueError(f"tree size {size!r} out of range (current size {self._size})")
        return size

    def _node(self, level: int, index: int) -> bytes:
        start = index * HASH_SIZE
        return bytes(self._levels[level][start : start + HASH_SIZE])

    def _range_hash(self, lo: int, hi: int) -> bytes:
        """MTH(D[lo:hi]) for a subtree reached by the RFC's recursion, from stored nodes only.

        Such a range starts at a multiple of the smallest power of two >= hi - lo, so it is tiled
        left to right by perfect stored subtrees, one per set bit of hi - lo, largest first — the
        same shape as a frontier, folded the same way.  At most 64 lookups and 63 hashes; a
        power-of-two range (every proof node but at most one) is a single lookup.
        """
        n = hi - lo
        if n <= 0:
            return EMPTY_ROOT
        tiles: list[bytes] = []
        pos = lo
        for level in range(n.bit_length() - 1, -1, -1):
            if n >> level & 1:
                tiles.append(self._node(level, pos >> level))
                pos += 1 << level
        head = tiles[-1]
        for subtree in reversed(tiles[:-1]):
            head = node_hash(subtree, head)
        return head
