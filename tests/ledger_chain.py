"""Test helper: a chain of valid LedgerCloseMeta values of any length, from one real ledger.

The template is the real testnet-style ledger 997 of tests/data/ledger/FFFFFC1A--997.xdr (a
one-ledger LedgerCloseMetaBatch: 8 bytes of start/end sequence, a 4-byte count, the meta).
``restamp_ledger`` sets each copy's sequence, close time and previous-ledger hash and recomputes
its hash, so every ledger of the chain passes the header checks and decodes like the original.
"""

from __future__ import annotations

import functools
import struct
from pathlib import Path

from stellar_ob.testing.rpc import restamp_ledger

DATA = Path(__file__).parent / "data" / "ledger"


@functools.lru_cache(maxsize=None)
def template() -> bytes:
    raw = (DATA / "FFFFFC1A--997.xdr").read_bytes()
    start, end, count = struct.unpack(">III", raw[:12])
    assert (start, end, count) == (997, 997, 1)
    return raw[12:]


def chain(first: int, count: int, close_time: int = 1_700_000_000,
          prev: bytes = bytes(32)) -> list[tuple[int, bytes]]:
    """``count`` consecutive ledgers from ``first``, each hash-linked to the one before (``prev``:
    the hash of the ledger before ``first``)."""
    out: list[tuple[int, bytes]] = []
    for seq in range(first, first + count):
        meta = restamp_ledger(template(), seq, close_time + 5 * (seq - first), prev)
        prev = meta[8:40]  # v1: int v + LedgerCloseMetaExt v=0, then the entry's hash
        out.append((seq, meta))
    return out
