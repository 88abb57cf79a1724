"""The simulated market's LedgerCloseMeta (stellar_ob.testing.ledger_meta), checked independently.

stellar-sdk's generated XDR classes decode every ledger (and re-encode it to the same bytes); the
header hashes chain; the transaction-set, result-set and transaction hashes are recomputed; and a
model that only applies the decoded offer and pool changes (STATE entries checked against what
it holds) equals the market's books after every ledger, for several seeds, all three
LedgerCloseMeta versions and a few hundred ledgers. The claims of every crossing equal the
/trades records the local Horizon reports for the same ledger. LocalStack's RPC passes its
ledgers through LedgerStream with faults on, each exactly once.
"""

from __future__ import annotations

import asyncio
import hashlib
import time

import pytest

from stellar_ob.testing.ledger_meta import (
    LedgerMarket,
    LocalStack,
    XdrEncodeError,
    account_key,
    asset_xdr,
    offer_entry_xdr,
    pool_id_of,
)
from stellar_ob.assets import Asset
from stellar_ob.testing.market import account_id

X = pytest.importorskip("stellar_sdk.xdr")
sdk = pytest.importorskip("stellar_sdk")

T0 = 1_700_000_000


class Replay:
    """Applies decoded LedgerCloseMeta (stellar-sdk objects) to an empty model, strictly."""

    def __init__(self) -> None:
        self.offers: dict[tuple[bytes, int], tuple] = {}
        self.offer_lm: dict[tuple[bytes, int], int] = {}
        self.pools: dict[bytes, tuple[int, int, int]] = {}
        self.pool_lm: dict[bytes, int] = {}
        self.seen: dict[str, int] = {}

    def count(self, what: str) -> None:
        self.seen[what] = self.seen.get(what, 0) + 1

    def _offer(self, e):
        o = e.data.offer
        key = (o.seller_id.account_id.ed25519.uint256, o.offer_id.int64)
        return key, (o.selling.to_xdr_bytes(), o.buying.to_xdr_bytes(), o.amount.int64, o.price.n.int32,
                     o.price.d.int32, o.flags.uint32)

    def _pool(self, e):
        p = e.data.liquidity_pool
        cp = p.body.constant_product
        return p.liquidity_pool_id.pool_id.hash, (cp.reserve_a.int64, cp.reserve_b.int64, cp.total_pool_shares.int64)

    def apply(self, changes, seq: int) -> None:
        for ch in changes.ledger_entry_changes:
            t = ch.type.value
            if t == 2:  # REMOVED
                k = ch.removed
                assert k.type.value == 2, "only offers are removed"
                key = (k.offer.seller_id.account_id.ed25519.uint256, k.offer.offer_id.int64)
                assert key in self.offers, f"REMOVED of an unknown offer {key[1]}"
                del self.offers[key]
                self.count("offer removed")
                continue
            e = {0: ch.created, 1: ch.updated, 3: ch.state}[t]
            lm = e.last_modified_ledger_seq.uint32
            et = e.data.type.value
            if et == 2:
                key, val = self._offer(e)
                if t == 3:  # STATE: what the entry was, exactly as the model holds it
                    assert self.offers.get(key) == val and self.offer_lm[key] == lm, f"STATE of offer {key[1]}"
                    continue
                assert (key in self.offers) == (t == 1), f"{'UPDATED' if t else 'CREATED'} of offer {key[1]}"
                assert lm == seq
                self.offers[key] = val
                self.offer_lm[key] = lm
                self.count("offer created" if t == 0 else "offer updated")
            elif et == 5:
                key, val = self._pool(e)
                if t == 3:
                    assert self.pools.get(key) == val and self.pool_lm[key] == lm, "STATE of a pool"
                    continue
                assert (key in self.pools) == (t == 1)
                assert lm == seq
                self.pools[key] = val
                self.pool_lm[key] = lm
                self.count("pool created" if t == 0 else "pool updated")
            else:
                raise AssertionError(f"unexpected entry type {et}")


def check_ledger(m: LedgerMarket, meta_bytes: bytes, seq: int, prev_hash: bytes, prev_close: int,
                 replay: Replay, version: int) -> tuple[bytes, int, list]:
    """Decode with stellar-sdk, check hashes and structure, apply; returns (hash, close time, claims)."""
    lcm = X.LedgerCloseMeta.from_xdr_bytes(meta_bytes)
    assert lcm.to_xdr_bytes() == meta_bytes  # canonical: sdk re-encodes the same bytes
    assert lcm.v == version
    body = {0: lcm.v0, 1: lcm.v1, 2: lcm.v2}[version]
    hh = body.ledger_header
    h = hh.header
    assert hh.hash.hash == hashlib.sha256(h.to_xdr_bytes()).digest()
    assert h.ledger_seq.uint32 == seq
    assert h.previous_ledger_hash.hash == prev_hash
    close = h.scp_value.close_time.time_point.uint64
    assert close > prev_close
    # the transaction set and its hash
    if version == 0:
        envs = body.tx_set.txs
        assert body.tx_set.previous_ledger_hash.hash == prev_hash
        assert h.scp_value.tx_set_hash.hash == hashlib.sha256(
            prev_hash + b"".join(e.to_xdr_bytes() for e in envs)).digest()
    else:
        ts = body.tx_set.v1_tx_set
        assert ts.previous_ledger_hash.hash == prev_hash
        assert h.scp_value.tx_set_hash.hash == hashlib.sha256(body.tx_set.to_xdr_bytes()).digest()
        assert [p.v for p in ts.phases] == [0, 0]
        envs = [e for c in ts.phases[0].v0_components for e in c.txs_maybe_discounted_fee.txs]
        assert ts.phases[1].v0_components == []
    results = [trm.result for trm in body.tx_processing]
    assert h.tx_set_result_hash.hash == hashlib.sha256(
        X.TransactionResultSet(results).to_xdr_bytes()).digest()
    # every applied transaction is in the set, under the hash stellar-sdk computes for it
    set_hashes = sorted(sdk.TransactionEnvelope.from_xdr_object(e, m.passphrase).hash() for e in envs)
    assert set_hashes == sorted(r.transaction_hash.hash for r in results)
    assert [sdk.TransactionEnvelope.from_xdr_object(e, m.passphrase).hash() for e in envs] == set_hashes
    claims = []
    for trm in body.tx_processing:
        res = trm.result.result
        tm = trm.tx_apply_processing
        assert tm.v == (4 if version == 2 else 3)
        tmb = tm.v4 if version == 2 else tm.v3
        assert trm.fee_processing.ledger_entry_changes == []
        fee = res.fee_charged.int64
        code = res.result.code.value
        if code == -1:  # txFAILED: the fee, nothing else
            replay.count("failed tx")
            assert tmb.operations == [] and fee > 0
            assert [r.tr.manage_sell_offer_result.code.value for r in res.result.results] == [-7]
            continue
        assert code == 0
        assert len(tmb.operations) == len(res.result.results)
        for op_meta, r in zip(tmb.operations, res.result.results):
            replay.apply(op_meta.changes, seq)
            t = r.tr.type.value
            if t == 3:
                s = r.tr.manage_sell_offer_result.success
                claims += [("book", c.order_book.offer_id.int64, c.order_book.amount_sold.int64,
                            c.order_book.amount_bought.int64) for c in s.offers_claimed]
            elif t == 13:
                s = r.tr.path_payment_strict_send_result.success
                claims += [("pool", c.liquidity_pool.amount_sold.int64, c.liquidity_pool.amount_bought.int64)
                           for c in s.offers]
                assert s.last.amount.int64 == s.offers[-1].liquidity_pool.amount_sold.int64
    ups = body.upgrades_processing
    if ups:
        replay.count("upgrade")
        assert [u.upgrade.new_base_fee.uint32 for u in ups] == [h.base_fee.uint32]
        assert [X.LedgerUpgrade.from_xdr_bytes(u.upgrade_type) for u in h.scp_value.upgrades] == \
            [u.upgrade for u in ups]
    assert h.id_pool.uint64 >= max((k[1] for k in replay.offers), default=0)
    return hh.hash.hash, close, claims


def horizon_claims(m: LedgerMarket, seq: int) -> list:
    """The same ledger's trades as the local Horizon reports them on /trades."""
    out = []
    for rec in m.trades:
        if int(rec["paging_token"].split("-")[0]) >> 32 != seq:
            continue
        from stellar_ob import parse_amount

        base, counter = parse_amount(rec["base_amount"]), parse_amount(rec["counter_amount"])
        if rec["trade_type"] == "liquidity_pool":
            # the pool sells the side whose *_liquidity_pool_id is set
            out.append(("pool", base, counter) if "base_liquidity_pool_id" in rec else ("pool", counter, base))
        elif rec["base_is_seller"]:
            out.append(("book", int(rec["base_offer_id"]), base, counter))
        else:
            out.append(("book", int(rec["counter_offer_id"]), counter, base))
    return out


@pytest.mark.parametrize("seed,version,ledgers", [(1, 1, 300), (2, 1, 300), (3, 1, 200), (4, 0, 120), (5, 2, 120)])
def test_replaying_the_meta_reproduces_the_market(seed, version, ledgers):
    m = LedgerMarket(markets=3, seed=seed, meta_version=version, start_time=T0, upgrade_every=25,
                     failed_probability=0.1)
    replay = Replay()
    prev, close = bytes(32), 0
    for _ in range(ledgers):
        seq, meta = m.close_ledger_meta()
        prev, close, claims = check_ledger(m, meta, seq, prev, close, replay, version)
        assert replay.offers == m.offer_state()
        assert replay.pools == m.pool_state()
        assert sorted(claims) == sorted(horizon_claims(m, seq))
        rec = m.ledgers[-1]
        assert (rec["sequence"], rec["hash"]) == (seq, prev.hex())
    # every kind of change happened, so the checks above covered them all
    for kind in ("offer created", "offer updated", "offer removed", "pool created", "pool updated", "failed tx",
                 "upgrade"):
        assert replay.seen.get(kind, 0) > 0, kind


def test_same_seed_same_bytes_and_test_driven_actions():
    a = LedgerMarket(markets=2, seed=9, start_time=T0)
    b = LedgerMarket(markets=2, seed=9, start_time=T0)
    assert [a.close_ledger_meta() for _ in range(20)] == [b.close_ledger_meta() for _ in range(20)]
    # the actions a test takes by hand land in the next ledger's meta
    m = LedgerMarket(markets=1, seed=4, start_time=T0, failed_probability=0.0)
    replay = Replay()
    prev, close, _ = check_ledger(m, m.close_ledger_meta()[1], m.ledger, bytes(32), 0, replay, 1)
    pair = next(iter(m.pairs.values()))
    oid = m.place_offer(pair, "ask", 3)
    m.change_offer(pair, oid, 7_000_000)
    m.take(pair)
    m.swap(pair)
    m.deposit(pair, 10**9, 10**9)
    victim = next(o for o in pair.offers if o != oid)
    m.cancel_offer(pair, victim)
    m.close_ledger([])  # no random activity: only what the test did
    check_ledger(m, m.metas[-1][1], m.ledger, prev, close, replay, 1)
    assert replay.offers == m.offer_state() and replay.pools == m.pool_state()
    assert pool_id_of(pair.base, pair.counter).hex() == pair.pool_id


def test_pairs_added_later_are_created_in_the_meta():
    m = LedgerMarket(markets=1, seed=6, start_time=T0)
    replay = Replay()
    prev, close = bytes(32), 0
    for i in range(6):
        if i == 3:
            m.add_pair("native", f"EUR:{account_id('issuer-EUR')}")
            m.add_pair(f"LONGCODE123:{account_id('i2')}", f"EUR:{account_id('issuer-EUR')}")
        seq, meta = m.close_ledger_meta()
        prev, close, _ = check_ledger(m, meta, seq, prev, close, replay, 1)
        assert replay.offers == m.offer_state() and replay.pools == m.pool_state()
    assert len(replay.pools) == 3


def test_the_encoder_is_strict():
    usd = Asset("USD", account_id("issuer-USD"))
    seller = account_id("s")
    ok = offer_entry_xdr(seller, 1, Asset.native(), usd, 10, 1, 2)
    assert X.OfferEntry.from_xdr_bytes(ok).amount.int64 == 10
    for kw in ({"amount": 2**63}, {"amount": 0}, {"n": 0}, {"d": 2**31}, {"offer_id": -1}, {"amount": 1.5},
               {"amount": True}, {"flags": -1}):
        args = {"seller": seller, "offer_id": 1, "selling": Asset.native(), "buying": usd, "amount": 10, "n": 1,
                "d": 2, **kw}
        with pytest.raises(XdrEncodeError):
            offer_entry_xdr(**args)
    with pytest.raises(XdrEncodeError):
        account_key("G" + "A" * 55)  # checksum
    with pytest.raises(XdrEncodeError):
        asset_xdr("native")
    with pytest.raises(XdrEncodeError):
        LedgerMarket(meta_version=3)
    # a market value out of range fails the ledger loudly instead of wrapping
    m = LedgerMarket(markets=1, seed=1, start_time=T0)
    m.close_ledger()
    pair = next(iter(m.pairs.values()))
    m.deposit(pair, 2**63, 0)
    with pytest.raises(XdrEncodeError):
        m.close_ledger()


def test_encoding_1000_markets_a_ledger_is_fast():
    """Reports the time (not asserted: a loaded machine must not fail a correctness run)."""
    m = LedgerMarket(markets=1000, seed=1, start_time=T0)
    m.close_ledger()  # the first ledger creates every market's 40 offers and its pool
    m.encode_seconds = m.encode_cpu_seconds = 0.0
    m.close_ledger()
    size = len(m.metas[-1][1])
    print(f"\n1000 markets, one ledger: {size} bytes of meta encoded in {m.encode_seconds * 1000:.0f} ms "
          f"wall, {m.encode_cpu_seconds * 1000:.0f} ms CPU")
    assert size > 1000 * 100


@pytest.mark.network
async def test_local_stack_rpc_through_ledger_stream_with_faults(tmp_path):
    from stellar_ob.ledger.datalake import DataLake
    from stellar_ob.ledger.rpc import Rpc
    from stellar_ob.ledger.stream import LedgerStream

    async with LocalStack(markets=3, seed=2, ledger_interval=None, start_time=T0, data_lake=tmp_path / "lake",
                          ledgers_per_file=4, retention=500) as stack:
        m = stack.market
        first = m.metas[0][0]
        for _ in range(9):
            stack.close_ledger()
        f = stack.rpc.faults
        f.retry_after = "0"
        f.rate_limited = f.server_errors = f.rpc_errors = f.cuts = 1
        f.truncated_xdr = f.corrupted_base64 = f.corrupted_xdr = f.missing_ledger = f.duplicate_ledger = 1
        f.stuck_cursor = 2
        upto = first + 40
        got: list = []
        replay = Replay()
        prev, close = bytes(32), 0

        async def run() -> None:
            nonlocal prev, close
            source = Rpc(stack.rpc.url, request_timeout=5.0, page_limit=4)
            async with LedgerStream(source, first, poll_interval=0.005, backoff_base=0.001,
                                    backoff_cap=0.01) as s:
                async for item in s:
                    got.append(item.sequence)
                    prev, close, _ = check_ledger(m, item.meta, item.sequence, prev, close, replay, 1)
                    if item.sequence >= upto:
                        return
                    if item.sequence == stack.rpc.latest:
                        stack.close_ledger()  # the tip advances when the consumer reaches it
                        if item.sequence % 5 == 0:
                            f.cuts += 1
                            f.duplicate_ledger += 1

        await asyncio.wait_for(run(), 60)
        assert got == list(range(first, upto + 1))  # every ledger once, in order
        assert stack.rpc.stats.faults >= 10
        # the same market seen through Horizon: /ledgers reports the ledger hashes of the meta
        import aiohttp

        from stellar_ob import parse_amount

        async with aiohttp.ClientSession() as http:
            async with http.get(stack.horizon.url + "/ledgers?order=desc&limit=1") as r:
                doc = await r.json()
            rec = doc["_embedded"]["records"][0]
            header = X.LedgerCloseMeta.from_xdr_bytes(dict(m.metas)[rec["sequence"]]).v1.ledger_header.header
            assert rec["sequence"] == m.ledger
            assert rec["hash"] == hashlib.sha256(header.to_xdr_bytes()).hexdigest()
            assert rec["prev_hash"] == header.previous_ledger_hash.hash.hex()
            # every offer Horizon's /offers reports is the one the RPC ledgers built, and no other
            horizon_offers, cursor = {}, ""
            while True:
                async with http.get(stack.horizon.url + f"/offers?limit=200&cursor={cursor}") as r:
                    records = (await r.json())["_embedded"]["records"]
                if not records:
                    break
                for o in records:
                    horizon_offers[(account_key(o["seller"]), int(o["id"]))] = (
                        parse_amount(o["amount"]), o["price_r"]["n"], o["price_r"]["d"], o["last_modified_ledger"])
                cursor = records[-1]["paging_token"]
        from_rpc = {k: (v[2], v[3], v[4], replay.offer_lm[k]) for k, v in replay.offers.items()}
        assert m.ledger == upto and len(from_rpc) > 50
        assert horizon_offers == from_rpc
        # and the data lake holds the same ledgers (complete files only)
        async with LedgerStream(DataLake(tmp_path / "lake"), first, end=first + 11, poll_interval=0.005) as s:
            batches = [b async for b in s]
        lake = {}
        for b in batches:
            batch = X.LedgerCloseMetaBatch.from_xdr_bytes(b.data)
            for i, lcm in enumerate(batch.ledger_close_metas):
                lake[b.start + i] = lcm.to_xdr_bytes()
        metas = dict(m.metas)
        assert all(lake[s] == metas[s] for s in range(first, first + 12))


# ---- the repository's C decoder (csrc/ledger), built here and driven through ctypes -------------------

import ctypes as C  # noqa: E402
import shutil  # noqa: E402
import subprocess  # noqa: E402
from pathlib import Path  # noqa: E402

CSRC = Path(__file__).resolve().parent.parent / "csrc"


class _Asset(C.Structure):
    _fields_ = [("type", C.c_uint8), ("code", C.c_uint8 * 12), ("issuer", C.c_uint8 * 32), ("pad_", C.c_uint8 * 3)]


class _Offer(C.Structure):
    _fields_ = [("seller", C.c_uint8 * 32), ("offer_id", C.c_int64), ("selling", _Asset), ("buying", _Asset),
                ("amount", C.c_int64), ("n", C.c_int32), ("d", C.c_int32), ("flags", C.c_uint32)]


class _Pool(C.Structure):
    _fields_ = [("pool_id", C.c_uint8 * 32), ("asset_a", _Asset), ("asset_b", _Asset), ("fee_bp", C.c_int32),
                ("reserve_a", C.c_int64), ("reserve_b", C.c_int64), ("total_shares", C.c_int64),
                ("trustline_count", C.c_int64)]


class _TrustLine(C.Structure):
    _fields_ = [("account", C.c_uint8 * 32), ("asset", _Asset), ("balance", C.c_int64), ("limit", C.c_int64),
                ("flags", C.c_uint32), ("pool_use_count", C.c_int32), ("buying", C.c_int64), ("selling", C.c_int64)]


class _Account(C.Structure):
    _fields_ = [("account", C.c_uint8 * 32), ("balance", C.c_int64), ("seq_num", C.c_int64),
                ("num_sub_entries", C.c_uint32), ("flags", C.c_uint32), ("buying", C.c_int64),
                ("selling", C.c_int64), ("num_sponsored", C.c_uint32), ("num_sponsoring", C.c_uint32)]


class _U(C.Union):
    _fields_ = [("offer", _Offer), ("pool", _Pool), ("trustline", _TrustLine), ("account", _Account)]


class _Change(C.Structure):
    _fields_ = [("change", C.c_uint8), ("entry_type", C.c_uint8), ("phase", C.c_uint8), ("key_only", C.c_uint8),
                ("tx_index", C.c_int32), ("op_index", C.c_int32), ("last_modified", C.c_uint32), ("u", _U),
                ("has_sponsor", C.c_uint8), ("sponsor", C.c_uint8 * 32), ("pad2_", C.c_uint8 * 7)]


class _Trade(C.Structure):
    _fields_ = [("tx_index", C.c_int32), ("op_index", C.c_int32), ("op_type", C.c_uint8), ("claim_type", C.c_uint8),
                ("seller", C.c_uint8 * 32), ("claim_index", C.c_int32), ("offer_id", C.c_int64), ("asset_sold", _Asset),
                ("amount_sold", C.c_int64), ("asset_bought", _Asset), ("amount_bought", C.c_int64)]


class _Tx(C.Structure):
    _fields_ = [("hash", C.c_uint8 * 32), ("fee_charged", C.c_int64), ("result_code", C.c_int32),
                ("inner_result_code", C.c_int32), ("successful", C.c_uint8), ("op_count", C.c_uint32)]


class _Header(C.Structure):
    _fields_ = [("meta_version", C.c_uint32), ("ledger_seq", C.c_uint32), ("protocol_version", C.c_uint32),
                ("close_time", C.c_uint64), ("base_fee", C.c_uint32), ("base_reserve", C.c_uint32),
                ("max_tx_set_size", C.c_uint32), ("total_coins", C.c_int64), ("fee_pool", C.c_int64),
                ("hash", C.c_uint8 * 32), ("previous_hash", C.c_uint8 * 32), ("tx_count", C.c_uint32),
                ("upgrade_count", C.c_uint32), ("meta_offset", C.c_size_t), ("meta_size", C.c_size_t)]


class _Vec(C.Structure):
    _fields_ = [("v", C.c_void_p), ("len", C.c_size_t), ("cap", C.c_size_t)]


class _Out(C.Structure):
    _fields_ = [("header", _Header), ("changes", C.POINTER(_Change)), ("n_changes", C.c_size_t),
                ("trades", C.POINTER(_Trade)), ("n_trades", C.c_size_t), ("txs", C.POINTER(_Tx)),
                ("n_txs", C.c_size_t), ("vecs", _Vec * 5)]


class _Err(C.Structure):
    _fields_ = [("offset", C.c_size_t), ("reason", C.c_char_p)]


_SIZES = {"sob_ledger_change": _Change, "sob_ledger_trade": _Trade, "sob_ledger_tx": _Tx,
          "sob_ledger_header": _Header, "sob_ledger_out": _Out, "sob_ledger_error": _Err}


@pytest.fixture(scope="module")
def c_decoder(tmp_path_factory):
    """libledger.so from csrc/ledger + csrc/xdr (the package does not export the decoder yet), with
    a sizeof() helper so the ctypes mirrors above are checked against the C structs."""
    cc = shutil.which("cc") or shutil.which("gcc")
    if cc is None or not (CSRC / "ledger" / "ledger.c").exists():
        pytest.skip("needs a C compiler and the source tree's csrc/")
    d = tmp_path_factory.mktemp("cledger")
    helper = d / "sizes.c"
    helper.write_text('#include <string.h>\n#include "ledger.h"\nsize_t t_sizeof(const char *n) {\n'
                      + "".join(f'    if (!strcmp(n, "{k}")) return sizeof({k});\n' for k in _SIZES)
                      + "    return 0;\n}\n")
    lib = d / "libledger.so"
    # the ledger directory also holds the DexBook, which links the rest of the core
    srcs = [str(p) for d in (CSRC, CSRC / "ledger", CSRC / "xdr") for p in sorted(d.glob("*.c"))]
    subprocess.run([cc, "-O1", "-shared", "-fPIC", "-std=c11", f"-I{CSRC}", f"-I{CSRC / 'xdr'}",
                    f"-I{CSRC / 'ledger'}", *srcs, str(helper), "-o", str(lib)], check=True)
    so = C.CDLL(str(lib))
    so.t_sizeof.restype = C.c_size_t
    so.t_sizeof.argtypes = [C.c_char_p]
    for name, mirror in _SIZES.items():
        assert so.t_sizeof(name.encode()) == C.sizeof(mirror), name
    so.sob_ledger_decode.argtypes = [C.c_char_p, C.c_size_t, C.POINTER(_Out), C.POINTER(_Err)]
    so.sob_ledger_decode.restype = C.c_int
    so.sob_ledger_out_init.argtypes = so.sob_ledger_out_free.argtypes = [C.POINTER(_Out)]
    return so


def _asset_bytes(a: _Asset) -> bytes:
    """The C record's asset as Asset XDR (to compare with the market's)."""
    if a.type == 0:
        return b"\0\0\0\0"
    code = bytes(a.code)[: 4 if a.type == 1 else 12]
    return a.type.to_bytes(4, "big") + code + b"\0\0\0\0" + bytes(a.issuer)


@pytest.mark.parametrize("version", [0, 1, 2])
def test_c_decoder_replays_the_market(c_decoder, version):
    m = LedgerMarket(markets=4, seed=11 + version, meta_version=version, start_time=T0, upgrade_every=10,
                     failed_probability=0.2)
    out, err = _Out(), _Err()
    c_decoder.sob_ledger_out_init(C.byref(out))
    offers: dict = {}
    pools: dict = {}
    prev = bytes(32)
    kinds = set()
    try:
        for _ in range(150):
            seq, meta = m.close_ledger_meta()
            st = c_decoder.sob_ledger_decode(meta, len(meta), C.byref(out), C.byref(err))
            assert st == 0, (seq, err.offset, err.reason)
            h = out.header
            assert (h.meta_version, h.ledger_seq, bytes(h.previous_hash)) == (version, seq, prev)
            assert h.meta_size == len(meta) and h.base_fee in (100, 200)
            prev = bytes(h.hash)
            assert prev.hex() == m.ledgers[-1]["hash"]  # the hash Horizon's /ledgers reports
            for i in range(out.n_changes):
                c = out.changes[i]
                kinds.add((c.change, c.entry_type))
                if c.entry_type == 2:
                    o = c.u.offer
                    key = (bytes(o.seller), o.offer_id)
                    if c.change == 2:
                        del offers[key]
                    elif c.change == 3:
                        assert offers[key] == (_asset_bytes(o.selling), _asset_bytes(o.buying), o.amount, o.n, o.d,
                                               o.flags)
                    else:
                        assert (key in offers) == (c.change == 1)
                        offers[key] = (_asset_bytes(o.selling), _asset_bytes(o.buying), o.amount, o.n, o.d, o.flags)
                elif c.entry_type == 5:
                    p = c.u.pool
                    if c.change != 3:
                        pools[bytes(p.pool_id)] = (p.reserve_a, p.reserve_b, p.total_shares)
            assert offers == m.offer_state()
            assert pools == m.pool_state()
            claims = []
            for i in range(out.n_trades):
                t = out.trades[i]
                if t.claim_type == 1:
                    claims.append(("book", t.offer_id, t.amount_sold, t.amount_bought))
                else:
                    assert t.claim_type == 2 and bytes(t.seller).hex() in {p.pool_id for p in m.pairs.values()}
                    claims.append(("pool", t.amount_sold, t.amount_bought))
            assert sorted(claims) == sorted(horizon_claims(m, seq))
            failed = [out.txs[i] for i in range(out.n_txs) if not out.txs[i].successful]
            assert all(t.result_code == -1 and t.fee_charged > 0 for t in failed)
            kinds.add(("failed", bool(failed)))
        # a truncated ledger is refused by the C decoder, not misread
        bad = meta[: len(meta) - 3]
        assert c_decoder.sob_ledger_decode(bad, len(bad), C.byref(out), C.byref(err)) != 0
    finally:
        c_decoder.sob_ledger_out_free(C.byref(out))
    assert {(0, 2), (1, 2), (2, 2), (3, 2), (0, 5), (1, 5), (3, 5), ("failed", True)} <= kinds


@pytest.mark.network
async def test_local_stack_on_a_clock_and_its_retention_window():
    """With ledger_interval the local Horizon's clock closes ledgers and the RPC follows the same
    tip; the RPC keeps only ``retention`` ledgers, and a start before them is a RetentionError."""
    from stellar_ob.ledger.rpc import Rpc
    from stellar_ob.ledger.stream import LedgerStream, RetentionError

    async with LocalStack(markets=2, seed=8, ledger_interval=0.01, retention=5) as stack:
        first = stack.market.metas[0][0]

        async def advanced() -> None:
            while (stack.rpc.latest or 0) < first + 12:
                await asyncio.sleep(0.01)

        await asyncio.wait_for(advanced(), 30)
        assert stack.rpc.latest == stack.market.ledger  # the RPC gets each ledger as it closes
        assert stack.rpc.latest - stack.rpc.oldest + 1 == 5
        seq = stack.rpc.latest
        assert dict(stack.market.metas)[seq] == stack.rpc._ledgers[seq][0]
        with pytest.raises(RetentionError):
            async with LedgerStream(Rpc(stack.rpc.url), first, backoff_base=0.001, backoff_cap=0.01) as s:
                async for _ in s:
                    pass
