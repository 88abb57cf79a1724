"""Snapshot files (``stellar-ob bootstrap --out``): written from encoded changes, read back in one
buffer (load_snapshot reads the changes once and hashes as it reads), every damaged file refused."""

from __future__ import annotations

import struct

import pytest

pytest.importorskip("stellar_ob.ledger._ledger")

from stellar_ob.errors import ParseError  # noqa: E402
from stellar_ob.ledger import DexBook  # noqa: E402
from stellar_ob.ledger.bootstrap import load_snapshot, save_snapshot_changes  # noqa: E402

ISSUER = struct.pack(">I", 0) + bytes([1]) * 32
NATIVE = struct.pack(">I", 0)


def _offer(oid: int, market: int, ask: bool) -> bytes:
    credit = struct.pack(">II", 1, market) + ISSUER
    seller = struct.pack(">I", 0) + struct.pack(">I", oid) + bytes(28)
    selling, buying = (credit, NATIVE) if ask else (NATIVE, credit)
    return (struct.pack(">III", 3, 7, 2) + seller + struct.pack(">q", oid) + selling + buying
            + struct.pack(">qiiII", 1000 + oid, 3 + oid % 5, 7, 0, 0) + struct.pack(">I", 0))


def _changes(n: int) -> bytes:
    return struct.pack(">I", n) + b"".join(_offer(i + 1, i % 3 + 1, i % 2 == 1) for i in range(n))


def test_roundtrip_equals_the_book_seeded_directly(tmp_path):
    changes = _changes(30)
    path = tmp_path / "dex.snap"
    size = save_snapshot_changes(path, 77, changes, "Test SDF Network ; September 2015")
    assert size == path.stat().st_size
    saved = load_snapshot(path)
    assert (saved.ledger, saved.network_passphrase, saved.changes) == (77, "Test SDF Network ; September 2015",
                                                                     changes)
    got, want = saved.to_dexbook(), DexBook.from_snapshot(changes, 77)
    assert got.ledger_seq == 77 and got.offer_count == 30 and len(got.complete_markets()) == 3
    for base, counter in want.markets():
        a, b = got.market(base, counter), want.market(base, counter)
        for side in ("bid", "ask"):
            assert a.offers(side) == b.offers(side) and a.offers(side)
    # no passphrase: None back
    save_snapshot_changes(path, 5, changes)
    assert load_snapshot(path).network_passphrase is None


def test_every_truncation_and_every_flipped_byte_is_refused(tmp_path):
    path = tmp_path / "dex.snap"
    save_snapshot_changes(path, 9, _changes(2), "net")
    data = path.read_bytes()
    bad = tmp_path / "bad.snap"
    for cut in range(len(data)):
        bad.write_bytes(data[:cut])
        with pytest.raises(ParseError):
            load_snapshot(bad)
    for i in range(len(data)):
        bad.write_bytes(data[:i] + bytes([data[i] ^ 0x40]) + data[i + 1:])
        with pytest.raises(ParseError):
            load_snapshot(bad)
    # a passphrase length running past the file
    body = data[:12] + struct.pack(">I", 10**6) + data[16:-32]
    import hashlib

    bad.write_bytes(body + hashlib.sha256(body).digest())
    with pytest.raises(ParseError, match="passphrase"):
        load_snapshot(bad)


def test_arguments(tmp_path):
    with pytest.raises(ParseError):
        save_snapshot_changes(tmp_path / "x", 1, b"\0\0")
    with pytest.raises(ParseError):
        save_snapshot_changes(tmp_path / "x", 2**32, _changes(1))
    with pytest.raises(ParseError, match="max_bytes"):
        save_snapshot_changes(tmp_path / "x", 1, _changes(1))
        load_snapshot(tmp_path / "x", max_bytes=10)
