"""Sorted id lists stored compactly: the extraction pools (``ExtractionDemand.pool``).

A pool is tens of thousands of expert ids. As a jsonb array PostgreSQL parses every id as a numeric
on the way in, and the text is ~7 bytes an id; here it is delta-coded bytes (``bytea`` / BLOB),
~1–2 bytes an id, written without any per-id work on the server. The committed pool hash is
unchanged: it is over the canonical JSON of the decoded list (services.extraction.pools_commitment).

Layout (docs/extraction.md, "Performance"):

- the empty list: no bytes;
- else byte 0 = *w*, the width in bytes (1–8) of every delta; bytes 1–8 = the first id, unsigned
  64-bit big-endian; then one delta per further id, ``id[k] - id[k-1]`` (≥ 1), *w* bytes each,
  unsigned big-endian. *w* is the smallest width that holds the largest delta. A first byte outside
  1–8 is kept for other layouts.

Only strictly increasing lists of ids from 0 to 2**64 - 1 can be stored (anything else raises
``ValueError``): a pool is a set, sorted. Encoding and decoding run at C speed (array, bytes
slicing, one big-integer subtraction), not one Python step per id.
"""

from __future__ import annotations

import json
import sys
from array import array
from collections.abc import Iterable
from functools import reduce
from itertools import accumulate
from operator import or_
from typing import Any

from django.db import models

_LANE = "Q"  # unsigned 64-bit
if array(_LANE).itemsize != 8:  # pragma: no cover - every platform CPython supports has 8
    raise ImportError("id_lists needs 64-bit array items")
_BIG_ENDIAN_NATIVE = sys.byteorder == "big"
MAX_ID = 2**64 - 1


def _lanes_to_bytes(ids: Iterable[int]) -> bytes:
    try:
        lanes = array(_LANE, ids)
    except (OverflowError, TypeError) as exc:
        raise ValueError("ids must be whole numbers from 0 to 2**64 - 1") from exc
    if not _BIG_ENDIAN_NATIVE:
        lanes.byteswap()
    return lanes.tobytes()


def encode_ids(ids: Iterable[int]) -> bytes:
    """The stored form of a strictly increasing list of ids (see the module's docstring)."""
    values = ids if isinstance(ids, list) else list(ids)
    if not values:
        return b""
    wide = _lanes_to_bytes(values)  # every id as 8 big-endian bytes
    n = len(values) - 1
    if n == 0:
        return b"\x01" + wide
    if values != sorted(values):  # C speed; sorted() of a sorted list is one pass
        raise ValueError("ids must be sorted")
    # Every delta at once: the array minus itself shifted by one id, as two big integers. The ids
    # never decrease, so no 8-byte lane borrows from the next: lane k of the result is
    # id[k+1] - id[k] exactly.
    deltas = (int.from_bytes(wide[8:], "big") - int.from_bytes(wide[:-8], "big")).to_bytes(8 * n, "big")
    zero = bytes(n)
    width = 8
    while width > 1 and deltas[8 - width :: 8] == zero:  # the top byte of every delta is 0
        width -= 1
    planes = [deltas[8 - width + k :: 8] for k in range(width)]  # byte k of every delta
    nonzero = reduce(or_, (int.from_bytes(p, "big") for p in planes)).to_bytes(n, "big")
    if 0 in nonzero:
        raise ValueError("ids must not repeat")
    out = bytearray(9 + width * n)
    out[0] = width
    out[1:9] = wide[:8]
    for k, plane in enumerate(planes):
        out[9 + k :: width] = plane
    return bytes(out)


def decode_ids(data: bytes | bytearray | memoryview) -> list[int]:
    """The list ``encode_ids`` stored; ``ValueError`` for bytes it cannot have written."""
    raw = bytes(data)
    if not raw:
        return []
    width = raw[0]
    if not 1 <= width <= 8 or len(raw) < 9 or (len(raw) - 9) % width:
        raise ValueError("not an encoded id list")
    n = (len(raw) - 9) // width
    wide = bytearray(8 * n)
    for k in range(width):
        wide[8 - width + k :: 8] = raw[9 + k :: width]
    lanes = array(_LANE)
    lanes.frombytes(wide)
    if not _BIG_ENDIAN_NATIVE:
        lanes.byteswap()
    return list(accumulate(lanes, initial=int.from_bytes(raw[1:9], "big")))


class IdListField(models.BinaryField):
    """A sorted list of distinct ids (``list[int]`` in Python), stored delta-coded as bytes
    (``encode_ids``). Serialised (dumpdata) as a JSON array."""

    description = "Sorted ids, delta-coded"

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("default", list)
        super().__init__(*args, **kwargs)

    def from_db_value(self, value: Any, expression: Any, connection: Any) -> list[int] | None:
        return None if value is None else decode_ids(value)

    def to_python(self, value: Any) -> Any:
        if value is None or isinstance(value, list):
            return value
        if isinstance(value, str):
            return json.loads(value)
        if isinstance(value, bytes | bytearray | memoryview):
            return decode_ids(value)
        return list(value)

    def get_prep_value(self, value: Any) -> Any:
        if value is None or isinstance(value, bytes | bytearray | memoryview):
            return value  # already in the stored form
        return encode_ids(value)

    def value_to_string(self, obj: Any) -> str:
        return json.dumps(self.value_from_object(obj))
