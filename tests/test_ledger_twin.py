"""The stellar-sdk reference twin of the ledger decoder (stellar_ob.ledger._sdk_twin).

Checked against facts that do not come from stellar-sdk: the fixture README's counts, values read
straight from the XDR bytes with ``struct`` at offsets the definitions give, the consistency of
trades with the offer changes, and the committed golden files (which the C decoder matches in
csrc/tests/test_ledger.c).
"""

from __future__ import annotations

import base64
import json
import os
import re
import struct
from collections import Counter, defaultdict

import pytest

pytest.importorskip("stellar_sdk")
from stellar_ob.ledger import _sdk_twin as twin  # noqa: E402

DATA = os.path.join(os.path.dirname(__file__), "data", "ledger")
MAINNET_SEQ = 53_312_000


def _read(name: str) -> bytes:
    with open(os.path.join(DATA, name), "rb") as fh:
        return fh.read()


def _zstd_decompress(raw: bytes) -> bytes:
    try:
        from compression import zstd  # Python 3.14+

        return zstd.decompress(raw)
    except ImportError:
        zstandard = pytest.importorskip("zstandard", reason="no zstd module (Python < 3.14 without zstandard)")
        return zstandard.ZstdDecompressor().decompressobj().decompress(raw)


@pytest.fixture(scope="module")
def mainnet_batch() -> bytes:
    return _read("FCD285FF--53312000.xdr")


@pytest.fixture(scope="module")
def mainnet(mainnet_batch) -> twin.Ledger:
    ledgers = list(twin.iter_batch(mainnet_batch))
    assert len(ledgers) == 1
    return ledgers[0]


def test_batch_file_name_and_header_bytes(mainnet_batch, mainnet):
    # Data-lake naming: hex(0xFFFFFFFF - start) "--" start.
    assert f"{0xFFFFFFFF - MAINNET_SEQ:08X}" == "FCD285FF"
    start, end, count = struct.unpack_from(">III", mainnet_batch, 0)
    assert (start, end, count) == (MAINNET_SEQ, MAINNET_SEQ, 1)
    # LedgerCloseMeta v1 at 12: v, ext v (0), then LedgerHeaderHistoryEntry: hash, LedgerHeader.
    # ext v1 is LedgerCloseMetaExtV1 {ExtensionPoint ext; int64 sorobanFeeWrite1KB}: 12 bytes.
    v, ext, ext_ext = struct.unpack_from(">III", mainnet_batch, 12)
    assert (v, ext, ext_ext) == (1, 1, 0)
    h = 32
    ledger_hash = mainnet_batch[h : h + 32]
    version, = struct.unpack_from(">I", mainnet_batch, h + 32)
    prev = mainnet_batch[h + 36 : h + 68]
    close_time, = struct.unpack_from(">Q", mainnet_batch, h + 100)
    hd = mainnet.header
    assert hd.ledger_seq == MAINNET_SEQ
    assert hd.meta_version == 1
    assert hd.protocol_version == version == 21
    assert hd.hash == ledger_hash and hd.previous_hash == prev
    assert hd.close_time == close_time == 1725274219  # 2024-09-02T10:50:19Z
    assert hd.base_fee == 100 and hd.base_reserve == 5_000_000
    assert hd.tx_count == len(mainnet.txs) == 163
    assert hd.meta_offset == 12 and hd.meta_size == len(mainnet_batch) - 12


def test_mainnet_counts_from_the_fixture_readme(mainnet):
    offers = Counter(c.change for c in mainnet.changes if c.entry_type == twin.ENTRY_OFFER)
    assert offers == {twin.CHANGE_CREATED: 7, twin.CHANGE_UPDATED: 85, twin.CHANGE_REMOVED: 5, twin.CHANGE_STATE: 90}
    pools = Counter(c.change for c in mainnet.changes if c.entry_type == twin.ENTRY_LIQUIDITY_POOL)
    assert pools == {twin.CHANGE_UPDATED: 18, twin.CHANGE_STATE: 18}
    assert all(c.phase == twin.PHASE_OPERATION for c in mainnet.changes if c.entry_type == twin.ENTRY_OFFER)
    # REMOVED changes carry the key only.
    removed = [c for c in mainnet.changes if c.change == twin.CHANGE_REMOVED]
    assert removed and all(c.key_only == 1 and c.last_modified == 0 for c in removed)


def test_created_offer_ids_found_in_the_raw_bytes(mainnet_batch, mainnet):
    # A CREATED offer entry is: 0 (CREATED), lastModified = this ledger, 2 (OFFER), 0 (ED25519),
    # 32-byte seller, int64 offerID. Find them with a byte pattern, without any XDR library.
    pat = re.compile(re.escape(struct.pack(">III", 0, MAINNET_SEQ, 2) + b"\0\0\0\0"), re.S)
    ids = {struct.unpack_from(">q", mainnet_batch, m.end() + 32)[0] for m in pat.finditer(mainnet_batch)}
    created = {c.entry.offer_id for c in mainnet.changes if c.entry_type == twin.ENTRY_OFFER and c.change == twin.CHANGE_CREATED}
    assert created == ids
    assert created == {1614872314, 1614872315, 1614872316, 1614872317, 1614872318, 1614872319, 1614872320}


def test_mainnet_trades_match_offer_changes(mainnet):
    txs = mainnet.txs
    assert len(mainnet.trades) == 29
    kinds = Counter(t.claim_type for t in mainnet.trades)
    assert kinds == {1: 11, 2: 18}  # order book / liquidity pool
    assert all(txs[t.tx_index].successful for t in mainnet.trades)
    # The first claim of the ledger, read from the golden and rechecked here.
    t0 = mainnet.trades[0]
    assert (t0.tx_index, t0.op_index, t0.op_type, t0.offer_id) == (10, 0, 2, 1614872181)
    assert t0.asset_sold.code.rstrip(b"\0") == b"USDC" and t0.asset_bought.type == 0
    assert (t0.amount_sold, t0.amount_bought) == (3941098, 42884589)
    # Each claimed order-book offer lost at least what it sold: core's adjustOffer may then round
    # the remainder down (by a few stroops here) so that it stays exactly priced.
    sold = defaultdict(int)
    for t in mainnet.trades:
        if t.claim_type == 1:
            sold[(t.tx_index, t.op_index, t.offer_id)] += t.amount_sold
    exact = 0
    for (tx, op, oid), amount in sold.items():
        chs = [c for c in mainnet.changes if c.entry_type == twin.ENTRY_OFFER and (c.tx_index, c.op_index) == (tx, op)
               and c.entry.offer_id == oid]
        state = [c for c in chs if c.change == twin.CHANGE_STATE]
        after = [c for c in chs if c.change in (twin.CHANGE_UPDATED, twin.CHANGE_REMOVED)]
        assert len(state) == 1 and len(after) == 1
        left = after[0].entry.amount if after[0].change == twin.CHANGE_UPDATED else 0
        lost = state[0].entry.amount - left
        assert amount <= lost <= amount + max(2, lost // 1_000_000)
        exact += lost == amount
    assert exact == 9
    # Pool trades: a pool's reserves move by what it sold and bought.
    pool_trades = [t for t in mainnet.trades if t.claim_type == 2]
    for t in pool_trades:
        chs = [c for c in mainnet.changes if c.entry_type == twin.ENTRY_LIQUIDITY_POOL
               and (c.tx_index, c.op_index) == (t.tx_index, t.op_index) and c.entry.pool_id == t.seller]
        assert [c.change for c in chs] == [twin.CHANGE_STATE, twin.CHANGE_UPDATED]


def test_input_forms_agree(mainnet_batch, mainnet):
    raw = mainnet_batch[12:]
    one = twin.decode_meta(raw)
    assert one.changes == mainnet.changes and one.trades == mainnet.trades and one.txs == mainnet.txs
    assert one.header.meta_offset == 0 and one.header.meta_size == len(raw)
    assert twin.decode_base64(base64.b64encode(raw)).changes == mainnet.changes
    stream = struct.pack(">I", 0x80000000 | len(raw)) + raw
    (s,) = list(twin.iter_stream(stream))
    assert s.changes == mainnet.changes and s.header.meta_offset == 4


@pytest.mark.parametrize(
    "data, why",
    [
        (b"\0\0\0\x03" + bytes(400), "LedgerCloseMeta"),
        (b"", "LedgerCloseMeta"),
    ],
)
def test_malformed_meta_raises(data, why):
    with pytest.raises(twin.TwinParseError, match=why):
        twin.decode_meta(data)


def test_malformed_forms_raise(mainnet_batch):
    raw = mainnet_batch[12:]
    with pytest.raises(twin.TwinParseError):
        twin.decode_meta(raw[:-1])
    with pytest.raises(twin.TwinParseError):
        twin.decode_meta(raw + b"\0")
    with pytest.raises(twin.TwinParseError, match="base64"):
        twin.decode_base64("AAA-")
    with pytest.raises(twin.TwinParseError, match="last-fragment"):
        list(twin.iter_stream(struct.pack(">I", len(raw)) + raw))
    with pytest.raises(twin.TwinParseError, match="past the end"):
        list(twin.iter_stream(struct.pack(">I", 0x80000000 | (len(raw) + 1)) + raw))
    bad = bytearray(mainnet_batch)
    bad[4:8] = struct.pack(">I", MAINNET_SEQ + 1)
    with pytest.raises(twin.TwinParseError, match="count"):
        list(twin.iter_batch(bytes(bad)))


def test_sample_changes_counts():
    changes = twin.decode_changes(_read("sample-changes.xdr"))
    counts = Counter(c.entry_type for c in changes)
    # README: 100 OFFER, 372 ACCOUNT, 100 TRUSTLINE and 100 DATA entries, all STATE (DATA skipped).
    assert counts == {twin.ENTRY_OFFER: 100, twin.ENTRY_ACCOUNT: 372, twin.ENTRY_TRUSTLINE: 100}
    assert all(c.change == twin.CHANGE_STATE and c.phase == twin.PHASE_STANDALONE for c in changes)
    offers = [c.entry for c in changes if c.entry_type == twin.ENTRY_OFFER]
    assert all(o.n > 0 and o.d > 0 and o.amount > 0 for o in offers)
    assert len({(o.seller, o.offer_id) for o in offers}) == 100


def test_protocol_24_first_ledger():
    (led,) = list(twin.iter_stream(_read("load-test-ledgers-v24-first.xdr")))
    assert led.header.meta_version == 2 and led.header.protocol_version == 24
    assert not [c for c in led.changes if c.entry_type == twin.ENTRY_OFFER]
    assert led.header.meta_size + 4 == len(_read("load-test-ledgers-v24-first.xdr"))


@pytest.mark.slow
@pytest.mark.parametrize("name, proto", [("load-test-ledgers-v23-standalone.xdr.zstd", 23), ("load-test-ledgers-v24.xdr.zstd", 24)])
def test_protocol_23_24_streams(name, proto):
    data = _zstd_decompress(_read(name))
    ledgers = list(twin.iter_stream(data))
    assert len(ledgers) == 3
    assert sum(4 + led.header.meta_size for led in ledgers) == len(data)  # every byte accounted for
    assert all(led.header.protocol_version == proto and led.header.meta_version == 2 for led in ledgers)
    assert not [c for led in ledgers for c in led.changes if c.entry_type in (twin.ENTRY_OFFER, twin.ENTRY_LIQUIDITY_POOL)]


GOLDEN = [
    ("mainnet-53312000.jsonl", "FCD285FF--53312000.xdr", "batch"),
    ("testbucket-997.jsonl", "FFFFFC1A--997.xdr", "batch"),
    ("testbucket-998.jsonl", "FFFFFC19--998.xdr", "batch"),
    ("testbucket-999.jsonl", "FFFFFC18--999.xdr", "batch"),
    ("v24-first.jsonl", "load-test-ledgers-v24-first.xdr", "stream"),
]


@pytest.mark.parametrize("golden, name, form", GOLDEN)
def test_twin_reproduces_the_golden_files(golden, name, form):
    data = _read(name)
    ledgers = twin.iter_batch(data) if form == "batch" else twin.iter_stream(data)
    lines = [json.dumps(r, separators=(",", ":")) for led in ledgers for r in twin.records(led)]
    with open(os.path.join(DATA, "golden", golden), encoding="ascii") as fh:
        assert fh.read().splitlines() == lines


def test_testbucket_ledgers_are_consecutive():
    seqs = []
    for name in ("FFFFFC1A--997.xdr", "FFFFFC19--998.xdr", "FFFFFC18--999.xdr"):
        (led,) = list(twin.iter_batch(_read(name)))
        seqs.append((led.header.ledger_seq, led.header.hash, led.header.previous_hash))
    assert [s[0] for s in seqs] == [997, 998, 999]
    assert seqs[1][2] == seqs[0][1] and seqs[2][2] == seqs[1][1]  # hash chain


def test_claim_indexes_number_each_operations_claims(mainnet_batch, mainnet):
    """``claim_index`` is the claim's place among its operation's ClaimAtoms (Horizon's trade
    "order"): 0, 1, 2, ... within each operation, in the result's order, whatever the claim type;
    the C decoder's equal the twin's (which numbers stellar-sdk's decoded list)."""
    from stellar_ob.ledger import FORM_BATCH, LedgerReader

    (led,) = list(LedgerReader(mainnet_batch, FORM_BATCH))
    assert [t.claim_index for t in led.trades] == [t.claim_index for t in mainnet.trades]
    runs: dict[tuple[int, int], list[int]] = defaultdict(list)
    for t in led.trades:
        runs[(t.tx_index, t.op_index)].append(t.claim_index)
    assert all(r == list(range(len(r))) for r in runs.values())
    assert max(map(len, runs.values())) > 1  # this ledger has operations with several claims


def test_horizon_trade_ids():
    """Trade.horizon_id is Horizon's trade id: the TOID of the operation (ledger << 32 | tx << 12 |
    op, both counted from 1) and the claim index. Checked on a real mainnet trade of stellar-etl's
    golden (history_operation_id 123567347272642561, order 0: ledger 28770265, tx 95, op 1)."""
    from stellar_ob.errors import ArgumentError
    from stellar_ob.ledger.records import LedgerAsset, Trade, toid

    assert toid(28770265, 95, 1) == 123567347272642561
    xlm = LedgerAsset(0, b"", b"")
    t = Trade(94, 0, 3, 1, b"\0" * 32, 7, xlm, 1, xlm, 1, 0)
    assert t.horizon_id(28770265) == "123567347272642561-0"
    assert t._replace(claim_index=3, op_index=4).horizon_id(28770265) == f"{(28770265 << 32) | (95 << 12) | 5}-3"
    for bad in ((1 << 31, 1, 1), (1, 1 << 20, 1), (1, 1, 1 << 12), (-1, 1, 1), (1.0, 1, 1), (1, True, 1), (1, 1, "1")):
        with pytest.raises(ArgumentError):
            toid(*bad)
