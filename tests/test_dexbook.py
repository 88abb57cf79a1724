"""stellar_ob.ledger.DexBook: the whole DEX from LedgerCloseMeta.

- the mainnet ledger 53,312,000, on a book seeded from its own STATE entries: no drift, every
  invariant, each offer and pool as the ledger's last change leaves it (read with the stellar-sdk
  twin), each offer changed only by the trades that claimed it lost at least what it sold (and at
  most adjustOffer's rounding more), the trades grouped by their pair's market;
- gaps refused (LedgerGapError) with the book unchanged, resync accepted and markets incomplete;
- a ledger with an entry no ledger can hold: InvalidBookError, the book exactly as it was;
- drift: a seeded entry off by one stroop is reported in its market and corrected;
- generated ledgers (stellar-sdk XDR classes): random offer creates, updates and removals, trades
  that claim offers and pools, fee-only and failed transactions, upgrades that delete offers, every
  LedgerCloseMeta version (0, 1, 2) and TransactionMeta version (0..3): after every ledger the
  DexBook equals a plain Python model that applies the same changes in core's order (offers, L2
  levels by exact price, pools, accounts), and the trades reported are those of the successful
  transactions;
- to_horizon renders /order_book as stellar_ob's Horizon renderer (OfferBook.to_order_book) does
  for the same offers, 200 levels a side.
"""

from __future__ import annotations

import os
import random
from collections import defaultdict
from fractions import Fraction

import pytest

from stellar_ob.errors import InvalidBookError, ParseError
from stellar_ob.ledger import DexBook, LedgerAsset, LedgerGapError, LedgerReader, FORM_BATCH

X = pytest.importorskip("stellar_sdk.xdr", reason="needs the sdk extra (stellar-sdk)")
twin = pytest.importorskip("stellar_ob.ledger._sdk_twin")
import stellar_sdk  # noqa: E402

DATA = os.path.join(os.path.dirname(__file__), "data", "ledger")


def _read(name: str) -> bytes:
    with open(os.path.join(DATA, name), "rb") as fh:
        return fh.read()


def snapshot(dex: DexBook):
    """Everything observable: per market its offers (both sides), L2 levels and completeness,
    the pools, the counts and the ledger sequence."""
    out = {"seq": dex.ledger_seq, "offers": dex.offer_count, "pools": sorted(map(repr, dex.pools))}
    for pair in dex.markets():
        base, counter = sorted(pair, key=str)  # the stored orientation depends on the order assets were seen
        m = dex.market(base, counter)
        out[(str(base), str(counter))] = (m.complete, m.offers("bid"), m.offers("ask"), m.bids(), m.asks())
    return out


# ---- the mainnet ledger ----------------------------------------------------------------------------

@pytest.fixture(scope="module")
def mainnet():
    data = _read("FCD285FF--53312000.xdr")
    (led,) = list(twin.iter_batch(data))
    return data, led


def _seeded(data):
    r = LedgerReader(data, FORM_BATCH)
    assert r.next_ledger()
    dex = DexBook()
    dex.seed_from_states(r)
    return dex, r


def _last_changes(led, entry_type, key):
    last = {}
    for c in led.changes:
        if c.entry_type == entry_type:
            last[key(c.entry)] = c
    return last


def test_mainnet_applies_without_drift(mainnet):
    data, led = mainnet
    dex, r = _seeded(data)
    assert dex.ledger_seq == 53_312_000 - 1
    assert dex.complete_markets() == []  # seeded from a ledger's STATE entries: never complete
    upd = dex.apply_reader(r)
    dex.check()
    assert upd.ledger_seq == dex.ledger_seq == 53_312_000
    assert upd.drift == []
    assert len(upd.trades) == len(led.trades) == 29
    # every offer as its last change leaves it
    last = _last_changes(led, twin.ENTRY_OFFER, lambda e: e.offer_id)
    assert len(last) == 90  # distinct offers the ledger touches
    for oid, c in last.items():
        if c.change == twin.CHANGE_REMOVED:
            assert all(oid not in dex.market(b, q) for b, q in dex.markets())
            continue
        e = c.entry
        m = dex.market(LedgerAsset(*dataclass_tuple(e.selling)), LedgerAsset(*dataclass_tuple(e.buying)))
        got = m.get(oid)
        assert (got.side, got.n, got.d, got.amount, got.seller, got.flags) == ("ask", e.n, e.d, e.amount, e.seller, e.flags)
    # every pool as its last change leaves it
    pools = {p.pool_id: p for p in dex.pools}
    lastp = _last_changes(led, twin.ENTRY_LIQUIDITY_POOL, lambda e: e.pool_id)
    assert lastp and set(lastp) <= set(pools)
    for pid, c in lastp.items():
        assert (pools[pid].reserve_a, pools[pid].reserve_b, pools[pid].total_shares) == (
            c.entry.reserve_a, c.entry.reserve_b, c.entry.total_shares)
    changed_pools = [p for mu in upd.markets.values() for p in mu.pools]
    assert len(changed_pools) == len(lastp)
    # trades land in the market of their pair; the pairs' markets list them in order
    for key, mu in upd.markets.items():
        for t in mu.trades:
            assert {str(t.asset_sold), str(t.asset_bought)} == set(key)
    assert sum(len(mu.trades) for mu in upd.markets.values()) == 29
    # claimed offers changed by nothing but their claims lost what they sold (+ adjustOffer's rounding)
    sold = defaultdict(int)
    for t in led.trades:
        if t.claim_type == 1:
            sold[t.offer_id] += t.amount_sold
    claim_ops = {(t.tx_index, t.op_index, t.offer_id) for t in led.trades}
    checked = 0
    for mu in upd.markets.values():
        for o in mu.offers:
            if o.offer_id not in sold:
                continue
            only_claims = all((c.tx_index, c.op_index, o.offer_id) in claim_ops for c in led.changes
                              if c.entry_type == twin.ENTRY_OFFER and c.entry.offer_id == o.offer_id
                              and c.change != twin.CHANGE_STATE)
            if not only_claims:
                continue
            lost = o.old_amount - o.new_amount
            assert sold[o.offer_id] <= lost <= sold[o.offer_id] + max(2, lost // 1_000_000)
            checked += 1
    assert checked == 5


def dataclass_tuple(a):
    return (a.type, a.code, a.issuer)


def test_gap_refused_and_resync(mainnet):
    data, _led = mainnet
    dex, r = _seeded(data)
    dex.apply_reader(r)
    before = snapshot(dex)
    with pytest.raises(LedgerGapError) as ei:
        dex.apply_ledger(data[12:])  # the same ledger again
    assert (ei.value.expected, ei.value.got) == (53_312_001, 53_312_000)
    assert snapshot(dex) == before
    # resync: accepted; the drift check corrects what it touches; markets stay incomplete
    upd = dex.apply_ledger(data[12:], resync=True)
    assert upd.ledger_seq == 53_312_000
    assert dex.complete_markets() == []
    dex.check()


def test_a_malformed_meta_changes_nothing(mainnet):
    data, _ = mainnet
    dex, r = _seeded(data)
    before = snapshot(dex)
    with pytest.raises(ParseError):
        dex.apply_ledger(data[12:-1])
    with pytest.raises(TypeError):
        dex.apply_ledger(1234)
    assert snapshot(dex) == before


def test_drift_reported_and_corrected(mainnet):
    data, led = mainnet
    # seed from the STATE entries, one offer one stroop off
    first = {}
    for c in led.changes:
        key = (c.entry_type, getattr(c.entry, "offer_id", None) or getattr(c.entry, "pool_id", None)
               or (c.entry.account, getattr(c.entry, "asset", None)))
        first.setdefault(key, c)
    # offers and pools only: the accounts and trust lines are learned as the ledger touches them
    states = [c for c in first.values() if c.change == twin.CHANGE_STATE
              and c.entry_type in (twin.ENTRY_OFFER, twin.ENTRY_LIQUIDITY_POOL)]
    victim = next(c for c in states if c.entry_type == twin.ENTRY_OFFER)
    changes = []
    for c in states:
        e = c.entry
        if c is victim:
            e = twin.Offer(e.seller, e.offer_id, e.selling, e.buying, e.amount + 1, e.n, e.d, e.flags)
        changes.append(e)
    dex = DexBook()
    dex.seed(encode_state_changes(changes), 53_312_000 - 1)
    upd = dex.apply_ledger(data[12:])
    assert len(upd.drift) == 1
    d = upd.drift[0]
    assert (d.entry_type, d.kind, d.key) == ("offer", "differs", victim.entry.offer_id)
    assert d.market is not None and d in upd.markets[d.market].drift
    # the book followed the ledger: the same as a drift-free run
    clean, r = _seeded(data)
    clean.apply_reader(r)
    assert snapshot(dex) == snapshot(clean)


# ---- generated ledgers ------------------------------------------------------------------------------

ISSUERS = [bytes([i]) * 32 for i in (7, 8)]
ASSETS = [LedgerAsset(0), LedgerAsset(1, b"USD".ljust(12, b"\0"), ISSUERS[0]),
          LedgerAsset(1, b"EUR".ljust(12, b"\0"), ISSUERS[1]), LedgerAsset(2, b"LONGCODE".ljust(12, b"\0"), ISSUERS[0])]
SELLERS = [bytes([i]) * 32 for i in range(20, 26)]


def x_account(key: bytes):
    return X.AccountID(X.PublicKey(X.PublicKeyType.PUBLIC_KEY_TYPE_ED25519, X.Uint256(key)))


def x_asset(a: LedgerAsset):
    if a.type == 0:
        return X.Asset(X.AssetType.ASSET_TYPE_NATIVE)
    if a.type == 1:
        return X.Asset(X.AssetType.ASSET_TYPE_CREDIT_ALPHANUM4,
                       alpha_num4=X.AlphaNum4(X.AssetCode4(a.code[:4]), x_account(a.issuer)))
    return X.Asset(X.AssetType.ASSET_TYPE_CREDIT_ALPHANUM12,
                   alpha_num12=X.AlphaNum12(X.AssetCode12(a.code), x_account(a.issuer)))


def _twin_asset(a):
    return LedgerAsset(a.type, a.code, a.issuer)


def x_entry(e, seq: int):
    """A LedgerEntry of a twin Offer / Pool / Account record."""
    if isinstance(e, twin.Offer):
        data = X.LedgerEntryData(X.LedgerEntryType.OFFER, offer=X.OfferEntry(
            x_account(e.seller), X.Int64(e.offer_id), x_asset(_twin_asset(e.selling)), x_asset(_twin_asset(e.buying)),
            X.Int64(e.amount), X.Price(X.Int32(e.n), X.Int32(e.d)), X.Uint32(e.flags), X.OfferEntryExt(0)))
    elif isinstance(e, twin.Pool):
        cp = X.LiquidityPoolEntryConstantProduct(
            X.LiquidityPoolConstantProductParameters(x_asset(_twin_asset(e.asset_a)), x_asset(_twin_asset(e.asset_b)),
                                                     X.Int32(e.fee_bp)),
            X.Int64(e.reserve_a), X.Int64(e.reserve_b), X.Int64(e.total_shares), X.Int64(e.trustline_count))
        data = X.LedgerEntryData(X.LedgerEntryType.LIQUIDITY_POOL, liquidity_pool=X.LiquidityPoolEntry(
            X.PoolID(X.Hash(e.pool_id)),
            X.LiquidityPoolEntryBody(X.LiquidityPoolType.LIQUIDITY_POOL_CONSTANT_PRODUCT, constant_product=cp)))
    else:
        data = X.LedgerEntryData(X.LedgerEntryType.ACCOUNT, account=X.AccountEntry(
            x_account(e.account), X.Int64(e.balance), X.SequenceNumber(X.Int64(e.seq_num)), X.Uint32(e.num_sub_entries),
            None, X.Uint32(e.flags), X.String32(b""), X.Thresholds(b"\x01\0\0\0"), [], X.AccountEntryExt(0)))
    return X.LedgerEntry(X.Uint32(seq), data, X.LedgerEntryExt(0))


def x_key(e):
    if isinstance(e, twin.Offer):
        return X.LedgerKey(X.LedgerEntryType.OFFER, offer=X.LedgerKeyOffer(x_account(e.seller), X.Int64(e.offer_id)))
    if isinstance(e, twin.Pool):
        return X.LedgerKey(X.LedgerEntryType.LIQUIDITY_POOL,
                           liquidity_pool=X.LedgerKeyLiquidityPool(X.PoolID(X.Hash(e.pool_id))))
    return X.LedgerKey(X.LedgerEntryType.ACCOUNT, account=X.LedgerKeyAccount(x_account(e.account)))


def x_changes(items, seq: int):
    """[(kind, twin record)] -> LedgerEntryChanges."""
    T = X.LedgerEntryChangeType
    out = []
    for kind, e in items:
        if kind == "state":
            out.append(X.LedgerEntryChange(T.LEDGER_ENTRY_STATE, state=x_entry(e, seq - 1)))
        elif kind == "created":
            out.append(X.LedgerEntryChange(T.LEDGER_ENTRY_CREATED, created=x_entry(e, seq)))
        elif kind == "updated":
            out.append(X.LedgerEntryChange(T.LEDGER_ENTRY_UPDATED, updated=x_entry(e, seq)))
        else:
            out.append(X.LedgerEntryChange(T.LEDGER_ENTRY_REMOVED, removed=x_key(e)))
    return X.LedgerEntryChanges(out)


def encode_state_changes(entries) -> bytes:
    return x_changes([("state", e) for e in entries], 2).to_xdr_bytes()


def x_claim(t):
    if t[0] == "offer":
        _, seller, oid, sold_asset, sold, bought_asset, bought = t
        return X.ClaimAtom(X.ClaimAtomType.CLAIM_ATOM_TYPE_ORDER_BOOK, order_book=X.ClaimOfferAtom(
            x_account(seller), X.Int64(oid), x_asset(sold_asset), X.Int64(sold), x_asset(bought_asset), X.Int64(bought)))
    _, pid, sold_asset, sold, bought_asset, bought = t
    return X.ClaimAtom(X.ClaimAtomType.CLAIM_ATOM_TYPE_LIQUIDITY_POOL, liquidity_pool=X.ClaimLiquidityAtom(
        X.PoolID(X.Hash(pid)), x_asset(sold_asset), X.Int64(sold), x_asset(bought_asset), X.Int64(bought)))


def x_result(i: int, ok: bool, n_ops: int, claims):
    """A manage-sell-offer transaction's result: success with the claims on op 0, or failed."""
    results = []
    for k in range(max(1, n_ops)):
        if ok:
            r = X.ManageSellOfferResult(X.ManageSellOfferResultCode.MANAGE_SELL_OFFER_SUCCESS, X.ManageOfferSuccessResult(
                [x_claim(c) for c in claims] if k == 0 else [],
                X.ManageOfferSuccessResultOffer(X.ManageOfferEffect.MANAGE_OFFER_DELETED)))
        else:
            r = X.ManageSellOfferResult(X.ManageSellOfferResultCode.MANAGE_SELL_OFFER_UNDERFUNDED)
        results.append(X.OperationResult(X.OperationResultCode.opINNER, X.OperationResultTr(
            X.OperationType.MANAGE_SELL_OFFER, manage_sell_offer_result=r)))
    code = X.TransactionResultCode.txSUCCESS if ok else X.TransactionResultCode.txFAILED
    res = X.TransactionResult(X.Int64(100), X.TransactionResultResult(code, results=results), X.TransactionResultExt(0))
    return X.TransactionResultPair(X.Hash(i.to_bytes(32, "big")), res)


def x_tx_meta(v: int, before, ops, after, seq: int):
    ops_x = [X.OperationMeta(x_changes(o, seq)) for o in ops]
    if v == 0:
        assert not before and not after
        return X.TransactionMeta(0, operations=ops_x)
    if v == 1:
        assert not after
        return X.TransactionMeta(1, v1=X.TransactionMetaV1(x_changes(before, seq), ops_x))
    if v == 2:
        return X.TransactionMeta(2, v2=X.TransactionMetaV2(x_changes(before, seq), ops_x, x_changes(after, seq)))
    return X.TransactionMeta(3, v3=X.TransactionMetaV3(X.ExtensionPoint(0), x_changes(before, seq), ops_x,
                                                       x_changes(after, seq), None))


@pytest.fixture(scope="module")
def template():
    (meta,) = X.LedgerCloseMetaBatch.from_xdr_bytes(_read("FFFFFC18--999.xdr")).ledger_close_metas
    return meta.v1


def x_meta(template, version: int, seq: int, txs, upgrades) -> bytes:
    """txs: [dict(fee, meta_v, before, ops, after, post, ok, claims)], upgrades: [[changes]]."""
    hh = template.ledger_header
    hh.header.ledger_seq = X.Uint32(seq)
    ups = [X.UpgradeEntryMeta(X.LedgerUpgrade(X.LedgerUpgradeType.LEDGER_UPGRADE_BASE_RESERVE,
                                              new_base_reserve=X.Uint32(5_000_000)), x_changes(u, seq)) for u in upgrades]
    procs = []
    for i, t in enumerate(txs):
        result = x_result(i, t["ok"], len(t["ops"]), t["claims"])
        meta = x_tx_meta(t["meta_v"], t["before"], t["ops"], t["after"], seq)
        if version == 2:
            procs.append(X.TransactionResultMetaV1(X.ExtensionPoint(0), result, x_changes(t["fee"], seq), meta,
                                                   x_changes(t["post"], seq)))
        else:
            assert not t["post"]
            procs.append(X.TransactionResultMeta(result, x_changes(t["fee"], seq), meta))
    if version == 0:
        body = X.LedgerCloseMetaV0(hh, X.TransactionSet(hh.header.previous_ledger_hash, []), procs, ups, [])
        return X.LedgerCloseMeta(0, v0=body).to_xdr_bytes()
    if version == 1:
        body = X.LedgerCloseMetaV1(X.LedgerCloseMetaExt(0), hh, template.tx_set, procs, ups, [], X.Uint64(0), [], [])
        return X.LedgerCloseMeta(1, v1=body).to_xdr_bytes()
    body = X.LedgerCloseMetaV2(X.LedgerCloseMetaExt(0), hh, template.tx_set, procs, ups, [], X.Uint64(0), [])
    return X.LedgerCloseMeta(2, v2=body).to_xdr_bytes()


class Model:
    """The DEX as plain dicts, changed by the same entry changes in core's order."""

    def __init__(self):
        self.offers = {}    # offer id -> twin.Offer
        self.pools = {}     # pool id -> twin.Pool
        self.accounts = {}  # key -> twin.Account

    def table(self, e):
        if isinstance(e, twin.Offer):
            return self.offers, e.offer_id
        if isinstance(e, twin.Pool):
            return self.pools, e.pool_id
        return self.accounts, e.account

    def apply(self, kind, e):
        t, k = self.table(e)
        if kind == "removed":
            t.pop(k, None)
        else:
            t[k] = e

    def expected_levels(self, base: LedgerAsset, counter: LedgerAsset, side: str):
        """Exact-value L2 levels of a market's side, best first: [(Fraction price, amount)]."""
        lv = defaultdict(int)
        for o in self.offers.values():
            sell, buy = _twin_asset(o.selling), _twin_asset(o.buying)
            if side == "ask" and (sell, buy) == (base, counter):
                lv[Fraction(o.n, o.d)] += o.amount
            elif side == "bid" and (sell, buy) == (counter, base):
                lv[Fraction(o.d, o.n)] += o.amount
        return sorted(lv.items(), reverse=(side == "bid"))


def check_equal(dex: DexBook, model: Model):
    dex.check()
    assert dex.offer_count == len(model.offers)
    pairs = {frozenset((_twin_asset(o.selling), _twin_asset(o.buying))) for o in model.offers.values()}
    for pair in pairs:
        a, b = sorted(pair)
        m = dex.market(a, b)
        for side in ("bid", "ask"):
            got = [(Fraction(lv.price.n, lv.price.d), lv.amount) for lv in (m.bids() if side == "bid" else m.asks())]
            assert got == model.expected_levels(a, b, side)
        for o in model.offers.values():
            if {_twin_asset(o.selling), _twin_asset(o.buying)} == {a, b}:
                g = m.get(o.offer_id)
                assert (g.n, g.d, g.amount, g.seller, g.flags) == (o.n, o.d, o.amount, o.seller, o.flags)
                assert g.side == ("ask" if _twin_asset(o.selling) == a else "bid")
    pools = {p.pool_id: p for p in dex.pools}
    assert set(pools) == set(model.pools)
    for pid, p in model.pools.items():
        q = pools[pid]
        assert (q.reserve_a, q.reserve_b, q.total_shares, q.fee_bp) == (p.reserve_a, p.reserve_b, p.total_shares, p.fee_bp)
    for key, acc in model.accounts.items():
        assert dex.account(key)["balance"] == acc.balance


def gen_ledger(rng: random.Random, model: Model, seq: int, version: int, next_id: list):
    """One random ledger: returns (txs, upgrades, core-ordered changes, expected trades)."""
    state = {"offers": dict(model.offers), "pools": dict(model.pools), "accounts": dict(model.accounts)}
    txs, expected_trades = [], []

    def touch_offer_ops():
        ops = []
        claims = []
        for _ in range(rng.randint(1, 3)):
            op = []
            r = rng.random()
            live = list(state["offers"].values())
            if r < 0.4 or not live:
                a, b = rng.sample(ASSETS, 2)
                o = twin.Offer(rng.choice(SELLERS), next_id[0], twin.Asset(a.type, a.code, a.issuer),
                               twin.Asset(b.type, b.code, b.issuer), rng.randint(1, 10**9), rng.randint(1, 50),
                               rng.randint(1, 50), rng.randint(0, 1))
                next_id[0] += 1
                op.append(("created", o))
                state["offers"][o.offer_id] = o
            elif r < 0.6:
                o = rng.choice(live)
                op.append(("state", o))
                op.append(("removed", o))
                del state["offers"][o.offer_id]
            elif r < 0.8:
                o = rng.choice(live)
                new = twin.Offer(o.seller, o.offer_id, o.selling, o.buying, rng.randint(1, 10**9),
                                 *(rng.randint(1, 50), rng.randint(1, 50)) if rng.random() < 0.5 else (o.n, o.d), o.flags)
                op.append(("state", o))
                op.append(("updated", new))
                state["offers"][o.offer_id] = new
            else:  # a trade claiming part or all of an offer (and maybe a pool)
                o = rng.choice(live)
                sold = rng.randint(1, o.amount)
                op.append(("state", o))
                if sold == o.amount:
                    op.append(("removed", o))
                    del state["offers"][o.offer_id]
                else:
                    new = twin.Offer(o.seller, o.offer_id, o.selling, o.buying, o.amount - sold, o.n, o.d, o.flags)
                    op.append(("updated", new))
                    state["offers"][o.offer_id] = new
                claims.append(("offer", o.seller, o.offer_id, _twin_asset(o.selling), sold, _twin_asset(o.buying),
                               sold * o.n // o.d))
                if state["pools"] and rng.random() < 0.5:
                    p = rng.choice(list(state["pools"].values()))
                    np_ = twin.Pool(p.pool_id, p.asset_a, p.asset_b, p.fee_bp, p.reserve_a + 100, p.reserve_b - 90,
                                    p.total_shares, p.trustline_count)
                    op.append(("state", p))
                    op.append(("updated", np_))
                    state["pools"][p.pool_id] = np_
                    claims.append(("pool", p.pool_id, _twin_asset(p.asset_b), 90, _twin_asset(p.asset_a), 100))
            ops.append(op)
        return ops, claims

    def fee_change():
        key = rng.choice(SELLERS)
        acc = state["accounts"].get(key) or twin.Account(key, 10**12, 1, 0, 0)
        new = twin.Account(key, acc.balance - 100, acc.seq_num + 1, acc.num_sub_entries, acc.flags)
        state["accounts"][key] = new
        return [("state", acc), ("updated", new)]

    n_tx = rng.randint(0, 5)
    fee_lists = []
    for i in range(n_tx):
        kind = rng.random()
        meta_v = rng.choice([0, 1, 2, 3])
        t = {"fee": [], "meta_v": meta_v, "before": [], "ops": [], "after": [], "post": [], "ok": True, "claims": []}
        fee_lists.append(i)
        if kind < 0.15:  # fee-only: a failed transaction charges its fee and changes nothing else
            t["ok"] = False
            t["ops"] = []
        elif kind < 0.25:  # failed with operations applied nothing
            t["ok"] = False
            t["ops"] = [[]]
        else:
            t["ops"], t["claims"] = touch_offer_ops()
            if t["claims"]:
                expected_trades.append(len(t["claims"]))
            if meta_v >= 2 and rng.random() < 0.3 and state["pools"]:
                p = rng.choice(list(state["pools"].values()))
                np_ = twin.Pool(p.pool_id, p.asset_a, p.asset_b, p.fee_bp, p.reserve_a, p.reserve_b, p.total_shares + 1,
                                p.trustline_count)
                t["after"] = [("state", p), ("updated", np_)]
                state["pools"][p.pool_id] = np_
        txs.append(t)
    # fee processing runs before every transaction is applied (core's order): fee changes touch
    # accounts only, so their order relative to the offers does not matter to the model
    for t in txs:
        t["fee"] = fee_change()
    for t in txs:  # v2: post-apply fee changes (refunds) come after every transaction's apply
        if version == 2 and rng.random() < 0.3:
            t["post"] = fee_change()
    upgrades = []
    if rng.random() < 0.15 and state["offers"]:  # an upgrade deleting offers (as protocol 10's did)
        victims = rng.sample(list(state["offers"].values()), min(3, len(state["offers"])))
        ch = []
        for o in victims:
            ch += [("state", o), ("removed", o)]
            del state["offers"][o.offer_id]
        upgrades.append(ch)
    if rng.random() < 0.2:  # a new pool (in an upgrade's changes: the book takes changes from any phase)
        a, b = sorted(rng.sample(ASSETS, 2))
        pid = rng.randbytes(32)
        p = twin.Pool(pid, twin.Asset(a.type, a.code, a.issuer), twin.Asset(b.type, b.code, b.issuer), 30,
                      10**9, 2 * 10**9, 10**9, 1)
        upgrades.append([("created", p)])
        state["pools"][pid] = p
    return txs, upgrades


@pytest.mark.parametrize("seed", range(6))
def test_generated_ledgers_equal_the_model(template, seed):
    rng = random.Random(seed)
    dex, model = DexBook(), Model()
    next_id = [1000]
    seq = 500
    for step in range(25):
        version = rng.choice([0, 1, 2])
        txs, upgrades = gen_ledger(rng, model, seq, version, next_id)
        for t in txs:
            if version != 2:
                t["post"] = []
            if t["meta_v"] == 0:
                t["before"], t["after"] = [], []
            if t["meta_v"] == 1:
                t["after"] = []
        # rebuild the core-ordered list after the version adjustments
        ordered = [c for t in txs for c in t["fee"]]
        for t in txs:
            ordered += t["before"] + [c for op in t["ops"] for c in op] + t["after"]
        ordered += [c for t in txs for c in t["post"]]
        ordered += [c for u in upgrades for c in u]
        meta = x_meta(template, version, seq, txs, upgrades)
        # the twin decodes the same changes (a check of the generator itself)
        tw = twin.decode_meta(meta)
        assert len([c for c in tw.changes if c.entry_type in (twin.ENTRY_OFFER, twin.ENTRY_LIQUIDITY_POOL)]) == len(
            [c for c in ordered if not isinstance(c[1], twin.Account)])
        upd = dex.apply_ledger(meta)
        for kind, e in ordered:
            model.apply(kind, e)
        assert upd.drift == []
        assert len(upd.trades) == len(tw.trades) == sum(len(t["claims"]) for t in txs if t["ok"])
        check_equal(dex, model)
        seq += 1
    # an invalid ledger (an offer priced 0/1) is refused whole
    before = snapshot(dex)
    o = twin.Offer(SELLERS[0], next_id[0], twin.Asset(0), twin.Asset(ASSETS[1].type, ASSETS[1].code, ASSETS[1].issuer),
                   10, 0, 1, 0)
    good = twin.Offer(SELLERS[0], next_id[0] + 1, twin.Asset(0),
                      twin.Asset(ASSETS[1].type, ASSETS[1].code, ASSETS[1].issuer), 10, 1, 1, 0)
    bad = {"fee": [], "meta_v": 2, "before": [], "ops": [[("created", good)], [("created", o)]], "after": [],
           "post": [], "ok": True, "claims": []}
    with pytest.raises(InvalidBookError):
        dex.apply_ledger(x_meta(template, 1, seq, [bad], []))
    assert snapshot(dex) == before
    # and the gap check: the next ledger after a refused one is still `seq`
    with pytest.raises(LedgerGapError):
        dex.apply_ledger(x_meta(template, 1, seq + 1, [], []))
    dex.apply_ledger(x_meta(template, 1, seq, [], []))
    assert dex.ledger_seq == seq


def test_to_horizon_matches_the_offerbook_renderer(mainnet):
    from stellar_ob.ledger.records import encode_account

    data, _ = mainnet
    dex, r = _seeded(data)
    dex.apply_reader(r)
    for base, counter in dex.markets():
        for b, c in ((base, counter), (counter, base)):
            m = dex.market(b, c)
            ob = m.to_offerbook()
            doc = dex.to_horizon(b, c)
            ref = ob.to_order_book(200)
            assert doc["bids"] == ref["bids"] and doc["asks"] == ref["asks"]
            assert doc["base"] == b.to_asset().to_horizon_json() and doc["counter"] == c.to_asset().to_horizon_json()
            assert len(doc["bids"]) <= 200 and len(doc["asks"]) <= 200
            for o in m.offers("ask") + m.offers("bid"):
                assert ob.get(o.offer_id).seller == encode_account(o.seller)
    # a pair never seen renders as Horizon's empty book
    empty = dex.to_horizon("XLM", "ZZZ:" + encode_account(bytes(32)))
    assert empty["bids"] == [] and empty["asks"] == []


def test_market_views_flip(mainnet):
    data, _ = mainnet
    dex, r = _seeded(data)
    dex.apply_reader(r)
    for base, counter in dex.markets():
        m, f = dex.market(base, counter), dex.market(counter, base)
        assert len(m) == len(f)
        for lv, fv in zip(m.asks(), f.bids()):
            assert lv.price.n == fv.price.d and lv.price.d == fv.price.n and lv.amount == fv.amount
        assert [o.offer_id for o in m.offers("ask")] == [o.offer_id for o in f.offers("bid")]
        assert m.best_ask() == (m.asks(1) or [None])[0]
    with pytest.raises(KeyError):
        dex.market("XLM", "NOPE:GAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAWHF")
    with pytest.raises(ValueError):
        dex.market(*dex.markets()[0]).offers("both")


def test_full_snapshot_is_complete_and_reports_missing_offers():
    data = _read("sample-changes.xdr")  # 100 real mainnet offers (with accounts and trust lines): a snapshot
    dex = DexBook.from_snapshot(data, 1000)
    dex.check()
    assert dex.offer_count == 100 and dex.ledger_seq == 1000
    assert len(dex.complete_markets()) == dex.market_count > 0
    with pytest.raises(InvalidBookError):  # a full snapshot goes into an empty book only
        dex._c.seed(data, 1000, True)
    # a ledger updating an offer the complete book does not hold: drift "missing" in its market
    changes = twin.decode_changes(data)
    o = next(c.entry for c in changes if c.entry_type == twin.ENTRY_OFFER)
    unknown = twin.Offer(o.seller, 9_999_999_999, o.selling, o.buying, 5, o.n, o.d, o.flags)
    tx = {"fee": [], "meta_v": 2, "before": [], "ops": [[("updated", unknown)]], "after": [], "post": [], "ok": True,
          "claims": []}
    (meta,) = X.LedgerCloseMetaBatch.from_xdr_bytes(_read("FFFFFC18--999.xdr")).ledger_close_metas
    upd = dex.apply_ledger(x_meta(meta.v1, 1, 1001, [tx], []))
    assert [(d.entry_type, d.kind, d.key) for d in upd.drift] == [("offer", "missing", 9_999_999_999)]
    assert upd.drift[0].market in upd.markets
    assert dex.offer_count == 101
    # an empty book learns the same offer without drift, and never calls its market complete
    empty = DexBook()
    upd = empty.apply_ledger(x_meta(meta.v1, 1, 1001, [tx], []))
    assert upd.drift == [] and empty.complete_markets() == []
    (mu,) = upd.markets.values()
    assert [(c.offer_id, c.kind, c.learned) for c in mu.offers] == [(9_999_999_999, "added", True)]
