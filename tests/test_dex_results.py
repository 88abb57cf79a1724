"""Issue 12: exact outcomes. Result codes of simulate / quote_hop / simulate_path, the protocol in
force, sellers' funds, against tests/core_reference.py (the independent transliteration of
stellar-core's OfferExchange.cpp, PathPayment*OpFrame.cpp and ManageOfferOpFrameBase.cpp).

Every test runs on the compiled module ("c", csrc/dex.c) and on the pure-Python twin ("py",
stellar_ob.offers._pure): both against the reference, so the two also agree with each other.
"""

from __future__ import annotations

import base64
import hashlib
import random
import sys
from pathlib import Path

import pytest

import stellar_ob
from stellar_ob.errors import CoreWouldThrowError
from stellar_ob.offers.execution import MAINNET_PROTOCOL, Funds, Result

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))
sys.path.insert(0, str(ROOT / "tools"))

import core_reference as cr  # noqa: E402
import exchange_reference as xref  # noqa: E402


@pytest.fixture(params=["c", "py"], ids=["c", "py"])
def impl(request):
    return xref.load_impl(request.param)

M = 2**63 - 1


def _strkey(seed: str) -> str:
    """A valid account StrKey (G...) made from ``seed`` (version byte 6 << 3, CRC16-XModem)."""
    payload = bytes([6 << 3]) + hashlib.sha256(seed.encode()).digest()
    crc = 0
    for b in payload:
        crc ^= b << 8
        for _ in range(8):
            crc = ((crc << 1) ^ 0x1021) if crc & 0x8000 else crc << 1
            crc &= 0xFFFF
    return base64.b32encode(payload + crc.to_bytes(2, "little")).decode()


_ISSUER_KEYS = {name: _strkey(name) for name in ("I1", "I2", "I3")}


def _asset(ref_asset: str) -> str:
    """The reference's "AAA:I1" as a real asset string of this library."""
    if ref_asset == cr.NATIVE:
        return "native"
    code, _, issuer = ref_asset.partition(":")
    return f"{code}:{_ISSUER_KEYS[issuer]}"


def _acct(name: str) -> str:
    return _ISSUER_KEYS.get(name, name)


def _world(impl, L: cr.Ledger):
    """OfferBooks (one per pair of assets, base = the first in sorted order), pools keyed by
    (asset_a, asset_b) and every known account's funds, from a reference ledger. None when the
    ledger holds what set_account cannot say (an account without a trust line of an asset that
    one of the books trades, or a missing-account model)."""
    if not L.unknown_accounts_funded:
        return None
    books = {}
    for o in L.offers.values():
        if o.flags:
            return None  # passive offers rest only in books built by core; kept out here
        x, y = sorted((o.selling, o.buying))
        b = books.get((x, y))
        if b is None:
            b = books[(x, y)] = impl.OfferBook(_asset(x), _asset(y))
        side = "ask" if o.selling == x else "bid"
        b.add_offer(o.offer_id, side, o.n, o.d, o.amount, seller=_acct(o.seller))
    for (x, y), b in books.items():
        for name, a in L.accounts.items():
            funds = []
            for asset in (x, y):
                if asset == cr.NATIVE:
                    funds.append(Funds(a.balance, None, a.buying_liabilities, a.selling_liabilities))
                elif cr.is_issuer(name, asset):
                    funds.append(Funds(0))  # never read: the issuer is unlimited in its asset
                else:
                    t = L.trustlines.get((name, asset))
                    if t is None:
                        return None
                    funds.append(Funds(t.balance, t.limit, t.buying_liabilities, t.selling_liabilities,
                                       bool(t.flags & cr.AUTHORIZED_FLAG),
                                       bool(t.flags & cr.AUTHORIZED_TO_MAINTAIN_LIABILITIES_FLAG)))
            native = None
            if cr.NATIVE not in (x, y):
                native = Funds(a.balance, None, a.buying_liabilities, a.selling_liabilities)
            b.set_account(_acct(name), funds[0], funds[1], native=native, subentries=a.num_sub_entries)
    pools = {}
    for p in L.pools.values():
        if p.fee_bps != cr.LIQUIDITY_POOL_FEE_V18:
            return None
        pools[(_asset(p.asset_a), _asset(p.asset_b))] = impl.LiquidityPool(p.reserve_a, p.reserve_b)
    return list(books.values()), pools


def _compare_path(impl, L: cr.Ledger, kind: str, args: tuple) -> bool:
    """simulate_path against the reference for one path payment; False if not expressible."""
    src, send_asset, a, dest, dest_asset, b, path = args
    if L.base_reserve != 5_000_000 or L.account_subentry_limit != cr.ACCOUNT_SUBENTRY_LIMIT or L.pool_trading_disabled:
        return False
    if src in L.accounts or dest in L.accounts:
        return False  # the taker and the destination are unknown (fully funded) in this API
    if a <= 0 or b <= 0:
        return False
    w = _world(impl, L)
    if w is None:
        return False
    books, pools = w
    chain = [send_asset, *path, dest_asset]
    try:
        if kind == "send":
            ref = cr.path_payment_strict_send(L, src, send_asset, a, dest, dest_asset, b, path)
        else:
            ref = cr.path_payment_strict_receive(L, src, send_asset, a, dest, dest_asset, b, path)
    except cr.CoreWouldThrow:
        with pytest.raises(CoreWouldThrowError):
            _run(impl, kind, a, b, chain, books, pools, src, L)
        return True
    got = _run(impl, kind, a, b, chain, books, pools, src, L)
    assert got.result_code == ref.code, (kind, args, got, ref.code)
    assert got.complete == ref.success
    if ref.success:
        assert (got.sent, got.received) == (ref.sent, ref.received)
        ref_hops = [h for h in ref.hops]
        assert len(got.hops) == len(ref_hops)
        for g, r in zip(got.hops, ref_hops):
            assert (g.sent, g.received) == (r.amount_send, r.amount_recv), (g, r)
    return True


def _run(impl, kind, a, b, chain, books, pools, src, L):
    path = [_asset(x) for x in chain]
    if kind == "send":
        return impl.simulate_path("strict_send", a, path, books, pools, dest_min=b, taker=_acct(src),
                             max_offers=L.max_offers_to_cross, protocol=L.protocol)
    return impl.simulate_path("strict_receive", b, path, books, pools, send_max=a, taker=_acct(src),
                         max_offers=L.max_offers_to_cross, protocol=L.protocol)


def test_hop_fields_exist():
    """The reference's hop records carry the amounts compared above."""
    assert {"amount_send", "amount_recv"} <= set(cr.Hop.__dataclass_fields__)


@pytest.mark.parametrize("seed", range(4))
def test_path_payments_match_core_reference(seed, impl):
    """Random ledgers (anonymous, overflow and funded profiles of tools/c_vs_reference.py), paths
    of 1 to 6 hops: result code, amounts and each hop's transfer equal the reference's."""
    import c_vs_reference as cvr

    rnd = random.Random(1200 + seed)
    compared = 0
    codes = set()
    for _ in range(400):
        profile = rnd.choice(["anonymous", "anonymous", "overflow", "liquid", "tight", "pools", "budget"])
        L = cvr.random_ledger(rnd, profile)
        if not cvr.encodable(L):
            continue
        kind, args = cvr.random_op(rnd, L, profile if profile != "anonymous" else "liquid")
        if kind not in ("send", "recv"):
            continue
        args = ("t", args[1], args[2], "d", args[4], args[5], args[6])
        if _compare_path(impl, L, kind, args):
            compared += 1
    assert compared >= 40, compared


# ---- the issue's reproducers -----------------------------------------------------------------

def test_reproducer_strict_receive_too_few_offers(impl):
    """Core's walk ends eOK with the taker's int64 budget spent: TOO_FEW_OFFERS, never "filled"."""
    b = impl.OfferBook("native", "USDC:" + _ISSUER_KEYS["I1"])
    b.add_offer(1, "ask", 1, 1, 10)
    b.add_offer(2, "ask", 2147483647, 1, 10**12)
    q = impl.quote_hop(b, None, "strict_receive", 10**12, taker_sells="counter")
    assert q.result is Result.TOO_FEW_OFFERS
    assert q.result_code == "PATH_PAYMENT_STRICT_RECEIVE_TOO_FEW_OFFERS"
    assert q.venue is None and not q.complete
    assert q.execution is not None and q.execution.offers_crossed >= 1  # the walk stays visible
    L = cr.Ledger(protocol=MAINNET_PROTOCOL)
    L.add_offer("s", 1, cr.NATIVE, "USD:I1", 10, 1, 1)
    L.add_offer("s", 2, cr.NATIVE, "USD:I1", 10**12, 2147483647, 1)
    ref = cr.path_payment_strict_receive(L, "t", "USD:I1", M, "d", cr.NATIVE, 10**12)
    assert ref.code == q.result_code


def test_reproducer_strict_send_too_few_offers(impl):
    b = impl.OfferBook("native", "USDC:" + _ISSUER_KEYS["I1"])
    b.add_offer(1, "bid", 1, 1, 1)
    b.add_offer(2, "bid", 1, 2, 2**63 - 2)
    q = impl.quote_hop(b, None, "strict_send", 2**62 + 10)
    assert q.result is Result.TOO_FEW_OFFERS and q.venue is None and not q.complete
    e = b.simulate("strict_send", 2**62 + 10)
    assert e.result is Result.TOO_FEW_OFFERS and not e.complete
    L = cr.Ledger(protocol=MAINNET_PROTOCOL)
    L.add_offer("s", 1, "USD:I1", cr.NATIVE, 1, 1, 1)
    L.add_offer("s", 2, "USD:I1", cr.NATIVE, 2**63 - 2, 1, 2)
    ref = cr.path_payment_strict_send(L, "t", cr.NATIVE, 2**62 + 10, "d", "USD:I1", 1)
    assert ref.code == q.result_code == e.result_code


def test_manage_offer_underfunded_before_crossing(impl):
    """A bid of 10^9 at 1/1; sell 100 at price >= 1/2 with only 50 to send: core checks the new
    offer's selling liabilities (100) against the balance first: UNDERFUNDED, nothing filled."""
    b = impl.OfferBook("native", "USDC:" + _ISSUER_KEYS["I1"])
    b.add_offer(1, "bid", 1, 1, 10**9)
    e = b.simulate("sell", 100, price_limit=(1, 2), max_send=50)
    assert e.result is Result.UNDERFUNDED
    assert e.result_code == "MANAGE_SELL_OFFER_UNDERFUNDED"
    assert e.sent == 50  # the walk alone (what the project used to answer) stays visible
    ok = b.simulate("sell", 100, price_limit=(1, 2), max_send=100)
    assert ok.result is Result.SUCCESS and ok.complete and ok.sent == 100


def test_core_would_throw_is_typed(impl):
    """An offer adjustOffer would reduce to 0, crossed by a strict send: core throws "invalid
    amount of sheep sent" (OfferExchange.cpp:762). Only a hand-built book has one."""
    b = impl.OfferBook("native", "USDC:" + _ISSUER_KEYS["I1"])
    b.add_offer(1, "bid", 1, 2, 1)  # 1 stroop at 1/2: adjustOffer gives 0
    q = impl.quote_hop(b, None, "strict_send", 1)
    assert q.result is Result.CORE_WOULD_THROW and not q.complete
    with pytest.raises(CoreWouldThrowError) as ei:
        impl.simulate_path("strict_send", 1, ["native", "USDC:" + _ISSUER_KEYS["I1"]], [b])
    assert isinstance(ei.value, stellar_ob.StellarOBError)
    assert "invalid amount of sheep sent" in str(ei.value)


# ---- protocol gates --------------------------------------------------------------------------

def test_work_limit_with_pool_gated_at_protocol_27(impl):
    """convertWithOffersAndPools: "if the book walk crossed >= maxOffersToCross and the pool is
    chosen -> EXCEEDED_WORK_LIMIT" only from protocol 27 (OfferExchange.cpp, the
    protocolVersionStartsFrom(..., ProtocolVersion::V_27) branch); before, core uses the pool."""
    b = impl.OfferBook("native", "USDC:" + _ISSUER_KEYS["I1"])
    for i in range(1, 4):
        b.add_offer(i, "bid", 3, 1, 10)  # poor prices: the pool wins
    pool = impl.LiquidityPool(10**12, 10**12)
    new = impl.quote_hop(b, pool, "strict_send", 100, max_offers=2, protocol=27)
    assert new.result is Result.EXCEEDED_WORK_LIMIT and new.venue is None
    old = impl.quote_hop(b, pool, "strict_send", 100, max_offers=2, protocol=26)
    assert old.result is Result.SUCCESS and old.venue == "pool"
    assert impl.quote_hop(b, pool, "strict_send", 100, max_offers=2).result is Result.EXCEEDED_WORK_LIMIT


def test_path_payments_unsupported_before_protocol_12(impl):
    """PathPaymentStrictSend exists from protocol 12 (PathPaymentStrictSendOpFrame isOpSupported)."""
    b = impl.OfferBook("native", "USDC:" + _ISSUER_KEYS["I1"])
    b.add_offer(1, "ask", 1, 1, 10**9)
    usd = "USDC:" + _ISSUER_KEYS["I1"]
    r = impl.simulate_path("strict_send", 10, [usd, "native"], [b], protocol=11)
    assert r.result is Result.NOT_SUPPORTED and not r.complete
    assert impl.simulate_path("strict_send", 10, [usd, "native"], [b], protocol=12).result is Result.SUCCESS


def test_protocol_argument_checked(impl):
    b = impl.OfferBook("native", "USDC:" + _ISSUER_KEYS["I1"])
    with pytest.raises(stellar_ob.InvalidBookError):
        b.simulate("sell", 1, protocol=9)
    with pytest.raises(stellar_ob.InvalidBookError):
        b.simulate("sell", 1, protocol=27.0)


# ---- sellers' funds --------------------------------------------------------------------------

def test_tight_seller_balance_limits_the_cross(impl):
    """A seller whose USD balance is 30 sells only 30 of its 100-stroop offer (canSellAtMost,
    OfferExchange.cpp:54-104). Liabilities are given as the ledger holds them: the offer's own
    (selling 100 USD, buying 100 XLM); core releases them before adjusting the offer."""
    usd = "USDC:" + _ISSUER_KEYS["I1"]
    b = impl.OfferBook("native", usd)
    b.add_offer(1, "bid", 1, 1, 100, seller="s1")
    b.add_offer(2, "bid", 1, 1, 100, seller="s2")
    full = b.simulate("strict_send", 150)
    assert full.result is Result.SUCCESS and [f.wheat for f in full.fills] == [100, 50]
    b.set_account("s1", Funds(10**10, None, 100, 0), Funds(30, 10**12, 0, 100), subentries=2)
    e = b.simulate("strict_send", 130)
    assert e.result is Result.SUCCESS
    assert [(f.offer_id, f.wheat) for f in e.fills] == [(1, 30), (2, 100)]
    short = b.simulate("strict_send", 150)  # 130 is all the book can give now
    assert short.result is Result.TOO_FEW_OFFERS and not short.complete
    assert (short.sent, short.received) == (130, 130)  # core's walk, not the unfunded one
    b.remove_account("s1")
    assert [f.wheat for f in b.simulate("strict_send", 150).fills] == [100, 50]


def test_tight_trust_limit_limits_the_cross(impl):
    """A seller with 5 stroops of room under its USD trust limit (after its offer's own buying
    liabilities are released) sells at most 5 XLM for USD at 1/1 (canBuyAtMost)."""
    usd = "USDC:" + _ISSUER_KEYS["I1"]
    b = impl.OfferBook("native", usd)
    b.add_offer(1, "ask", 1, 1, 100, seller="s1")  # sells XLM for USD
    b.set_account("s1", Funds(10**10, None, 0, 100), Funds(0, 5, 100, 0), subentries=2)
    q = impl.quote_hop(b, None, "strict_receive", 5, taker_sells="counter")
    assert q.result is Result.SUCCESS and q.received == 5
    q = impl.quote_hop(b, None, "strict_receive", 6, taker_sells="counter")
    assert q.result is Result.TOO_FEW_OFFERS


def test_cross_self_in_a_path(impl):
    usd = "USDC:" + _ISSUER_KEYS["I1"]
    b = impl.OfferBook("native", usd)
    b.add_offer(1, "ask", 1, 1, 100, seller="me")
    r = impl.simulate_path("strict_send", 10, [usd, "native"], [b], taker="me")
    assert r.result is Result.CROSS_SELF and r.result_code == "PATH_PAYMENT_STRICT_SEND_OFFER_CROSS_SELF"
    assert impl.simulate_path("strict_send", 10, [usd, "native"], [b], taker="other").result is Result.SUCCESS


def test_shared_budget_across_hops(impl):
    """The 1000-offer budget is per operation: two hops of 2 offers each with max_offers=3 fail."""
    usd = "USDC:" + _ISSUER_KEYS["I1"]
    eur = "EUR:" + _ISSUER_KEYS["I2"]
    b1 = impl.OfferBook("native", usd)
    b2 = impl.OfferBook("native", eur)
    for i in range(2):
        b1.add_offer(10 + i, "ask", 1, 1, 5)
        b2.add_offer(20 + i, "bid", 1, 1, 5)
    ok = impl.simulate_path("strict_send", 10, [usd, "native", eur], [b1, b2], max_offers=4)
    assert ok.result is Result.SUCCESS and ok.received == 10 and len(ok.hops) == 2
    assert [h.venue for h in ok.hops] == ["book", "book"]
    bad = impl.simulate_path("strict_send", 10, [usd, "native", eur], [b1, b2], max_offers=3)
    assert bad.result is Result.EXCEEDED_WORK_LIMIT


def test_fills_array_over_the_packed_buffer(impl):
    b = impl.OfferBook("native", "USDC:" + _ISSUER_KEYS["I1"])
    for i in range(1, 6):
        b.add_offer(i, "ask", 1, 1, 10)
    e = b.simulate("buy", 35, taker_sells="counter")
    a = e.fills_array
    assert a["offer_id"].tolist() == [f.offer_id for f in e.fills] == [1, 2, 3, 4]
    assert a["wheat"].tolist() == [10, 10, 10, 5]
    assert not a.flags.writeable


def test_concepts_example_runs(capsys):
    """The example of docs/concepts.md "What the network would answer" (skipped by test_docs
    because the twin has no simulate_path) prints what the page says."""
    import re

    text = (ROOT / "docs" / "concepts.md").read_text()
    sec = text[text.index("(concepts-results)="):]
    code = re.search(r"```python\n(.*?)\n```", sec, re.S).group(1)
    want = re.search(r"```output\n(.*?)\n```", sec, re.S).group(1)
    exec(compile(code, "concepts.md", "exec"), {})
    assert capsys.readouterr().out.strip() == want.strip()
