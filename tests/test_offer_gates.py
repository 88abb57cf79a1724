"""Issue 12: one test per protocol gate of core's crossing and path-payment code that changes a
result, and the issue-18 readers of results. Every test runs on the compiled module ("c") and the
twin ("py"), and the gates are checked against tests/core_reference.py (the independent
transliteration of stellar-core a9b86132) at the protocols on both sides of the gate.

The gates modelled (csrc/dex.c and the twin's _Dex follow them):
  - ManageBuyOffer exists from 11 (ManageBuyOfferOpFrame.cpp:33-38);
  - a ManageOffer walk has the 1000-offer budget from 11, unlimited before
    (ManageOfferOpFrameBase.cpp:348-354); so has a strict receive (PathPaymentStrictReceiveOpFrame.cpp:92-97);
  - PathPaymentStrictSend exists from 12 (PathPaymentStrictSendOpFrame.cpp:26-31; test_dex_results);
  - pools trade from 18 (OfferExchange.cpp:1390-1412);
  - a walk with no budget left fails before looking at the book from 18 (OfferExchange.cpp:1502-1511);
  - the book walk's offers count against the budget when the pool is chosen from 27
    (OfferExchange.cpp:1740-1751; test_dex_results).
"""

from __future__ import annotations

import random
import sys
from fractions import Fraction
from pathlib import Path

import pytest

from stellar_ob.errors import InvalidBookError
from stellar_ob.offers.execution import MAINNET_PROTOCOL, Result

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))

import core_reference as cr  # noqa: E402
import exchange_reference as xref  # noqa: E402

ISSUER = "GA5ZSEJYB37JRC5AVCIA5MOP4RHTM335X2KGX3IHOJAPP5RE34K4KZVN"
USD = "USDC:" + ISSUER
REF_USD = "USD:I1"


@pytest.fixture(params=["c", "py"], ids=["c", "py"])
def impl(request):
    return xref.load_impl(request.param)


def _asks(impl, k, amount=10):
    """A native/USDC book of ``k`` asks at 1/1 (each sells ``amount`` XLM), and the same offers in a
    reference ledger at ``protocol``."""
    b = impl.OfferBook("native", USD)
    for i in range(k):
        b.add_offer(i + 1, "ask", 1, 1, amount)
    return b


def _ref_asks(protocol, k, amount=10, max_offers=cr.MAX_OFFERS_TO_CROSS):
    L = cr.Ledger(protocol=protocol, max_offers_to_cross=max_offers)
    for i in range(k):
        L.add_offer("s", i + 1, cr.NATIVE, REF_USD, amount, 1, 1)
    return L


def test_mainnet_protocol_is_the_default(impl):
    assert MAINNET_PROTOCOL == 28
    b = _asks(impl, 1)
    assert b.simulate("buy", 5, taker_sells="counter").result_code == b.simulate(
        "buy", 5, taker_sells="counter", protocol=MAINNET_PROTOCOL).result_code


@pytest.mark.parametrize("protocol", [10, 11])
def test_manage_buy_offer_from_protocol_11(impl, protocol):
    b = _asks(impl, 2)
    e = b.simulate("buy", 15, taker_sells="counter", price_limit=(1, 1), protocol=protocol)
    ref = cr.manage_buy_offer(_ref_asks(protocol, 2), "t", REF_USD, cr.NATIVE, 15, 1, 1)
    assert e.result_code == ref.code
    if protocol == 10:
        assert e.result is Result.NOT_SUPPORTED and not e.complete
    else:
        assert e.result is Result.SUCCESS and e.complete and e.received == ref.received == 15


@pytest.mark.parametrize("protocol", [10, 11])
def test_manage_offer_work_budget_from_protocol_11(impl, protocol):
    """Three offers crossed with a budget of 2: unlimited before 11, opEXCEEDED_WORK_LIMIT from 11."""
    b = _asks(impl, 3)
    e = b.simulate("sell", 30, taker_sells="counter", price_limit=(1, 1), max_offers=2, protocol=protocol)
    ref = cr.manage_sell_offer(_ref_asks(protocol, 3, max_offers=2), "t", REF_USD, cr.NATIVE, 30, 1, 1)
    assert e.result_code == ref.code
    assert (e.result is Result.SUCCESS) == (protocol == 10)
    if protocol == 10:
        assert (e.sent, e.received) == (ref.sent, ref.received) == (30, 30) and e.offers_crossed == 3
    else:
        assert e.result is Result.EXCEEDED_WORK_LIMIT and not e.complete


@pytest.mark.parametrize("protocol", [10, 11])
def test_strict_receive_work_budget_from_protocol_11(impl, protocol):
    b = _asks(impl, 3)
    r = impl.simulate_path("strict_receive", 30, [USD, "native"], [b], max_offers=2, protocol=protocol)
    ref = cr.path_payment_strict_receive(_ref_asks(protocol, 3, max_offers=2), "t", REF_USD, cr.INT64_MAX, "d",
                                         cr.NATIVE, 30)
    assert r.result_code == ref.code
    assert (r.result is Result.SUCCESS) == (protocol == 10)


@pytest.mark.parametrize("protocol", [17, 18])
def test_pools_trade_from_protocol_18(impl, protocol):
    pool = impl.LiquidityPool(10**12, 10**12)
    q = impl.quote_hop(None, pool, "strict_send", 1000, protocol=protocol)
    L = cr.Ledger(protocol=protocol)
    L.set_pool(cr.NATIVE, REF_USD, 10**12, 10**12)
    ref = cr.path_payment_strict_send(L, "t", cr.NATIVE, 1000, "d", REF_USD, 1)
    assert q.result_code == ref.code
    if protocol == 17:
        assert q.result is Result.TOO_FEW_OFFERS and q.venue is None
    else:
        assert q.result is Result.SUCCESS and q.venue == "pool" and q.received == ref.received


@pytest.mark.parametrize("protocol", [17, 18])
def test_empty_budget_fails_first_from_protocol_18(impl, protocol):
    """No budget and an empty book: the book running out (TOO_FEW_OFFERS) before 18, the budget
    (opEXCEEDED_WORK_LIMIT) from 18."""
    b = impl.OfferBook("native", USD)
    e = b.simulate("strict_send", 10, taker_sells="counter", max_offers=0, protocol=protocol)
    ref = cr.path_payment_strict_send(_ref_asks(protocol, 0, max_offers=0), "t", REF_USD, 10, "d", cr.NATIVE, 1)
    assert e.result_code == ref.code
    assert e.result is (Result.TOO_FEW_OFFERS if protocol == 17 else Result.EXCEEDED_WORK_LIMIT)


def test_passive_is_a_create_passive_sell_offer(impl):
    """Core has no passive buy, and a CreatePassiveSellOffer carries a price."""
    b = _asks(impl, 1)
    with pytest.raises(InvalidBookError):
        b.simulate("buy", 5, taker_sells="counter", price_limit=(1, 1), passive=True)
    with pytest.raises(InvalidBookError):
        b.simulate("sell", 5, taker_sells="counter", passive=True)
    e = b.simulate("sell", 5, taker_sells="counter", price_limit=(1, 1), passive=True)
    ref = cr.create_passive_sell_offer(_ref_asks(MAINNET_PROTOCOL, 1), "t", REF_USD, cr.NATIVE, 5, 1, 1)
    assert e.result_code == ref.code and e.offers_crossed == 0 and e.stop_reason == "price_limit"


def test_random_manage_offers_c_twin_reference():
    """Random ledger-valid books with sellers' funds (tight balances and trust limits), random
    ManageSellOffer / ManageBuyOffer through simulate: code, amounts and fills equal on C, the
    twin and the reference."""
    c, py = xref.load_impl("c"), xref.load_impl("py")
    rnd = random.Random(1218)
    compared = codes = 0
    seen = set()
    for _ in range(300):
        L = cr.Ledger(protocol=rnd.choice([18, 26, 27, 28]))
        sellers = ["s1", "s2", "s3"]
        for s in sellers:
            L.set_account(s, rnd.choice([10**8, 10**10, 10**13]))
            bal = rnd.choice([0, 10**6, 10**10])
            L.set_trustline(s, REF_USD, bal, rnd.choice([bal, bal + 10**9, cr.INT64_MAX]))
        books = {m: m.OfferBook("native", USD) for m in (c, py)}
        for i in range(rnd.randint(0, 12)):
            s = rnd.choice(sellers)
            n, d = rnd.randint(1, 20), rnd.randint(1, 20)
            amt = rnd.choice([rnd.randint(1, 1000), rnd.randint(1, 10**9), rnd.randint(1, 10**11)])
            side = rnd.choice(["ask", "bid"])
            selling, buying = (cr.NATIVE, REF_USD) if side == "ask" else (REF_USD, cr.NATIVE)
            try:
                L.place_offer(s, i + 1, selling, buying, amt, n, d)
            except ValueError:  # the seller lacks the reserve for one more offer
                continue
        for o in L.offers.values():
            side = "ask" if o.selling == cr.NATIVE else "bid"
            for b in books.values():
                b.add_offer(o.offer_id, side, o.n, o.d, o.amount, seller=o.seller)
        for s in sellers:
            a, t = L.accounts[s], L.trustlines[(s, REF_USD)]
            for b in books.values():
                b.set_account(s, (a.balance, None, a.buying_liabilities, a.selling_liabilities),
                              (t.balance, t.limit, t.buying_liabilities, t.selling_liabilities),
                              subentries=a.num_sub_entries)
        kind = rnd.choice(["sell", "buy"])
        sells = rnd.choice(["base", "counter"])
        amount = rnd.choice([rnd.randint(1, 10**6), rnd.randint(1, 10**12)])
        n, d = rnd.randint(1, 20), rnd.randint(1, 20)
        got = []
        for m in (c, py):
            e = books[m].simulate(kind, amount, taker_sells=sells, price_limit=(n, d), protocol=L.protocol)
            got.append((e.result_code, e.sent, e.received, [(f.offer_id, f.wheat, f.sheep, f.remaining) for f in e.fills]))
        assert got[0] == got[1]
        selling, buying = (cr.NATIVE, REF_USD) if sells == "base" else (REF_USD, cr.NATIVE)
        op = cr.manage_sell_offer if kind == "sell" else cr.manage_buy_offer
        ref = op(L, "t", selling, buying, amount, n, d)
        assert got[0][0] == ref.code, (kind, sells, amount, n, d, got[0], ref.code)
        if ref.success:
            assert got[0][1:3] == (ref.sent, ref.received)
            assert [(a.offer_id, a.amount_sold, a.amount_bought) for a in ref.claims] == [f[:3] for f in got[0][3]]
            codes += 1
        seen.add(ref.code)
        compared += 1
    assert compared == 300 and codes >= 100, (compared, codes, seen)


# ---- issue 18: results read without per-row objects ------------------------------------------

@pytest.mark.parametrize("k", [0, 1, 50, 1000])
def test_fills_array_equals_fills(impl, k):
    """fills_array (numpy, over the packed buffer) holds exactly what the Fill objects hold."""
    rng = random.Random(k)
    b = impl.OfferBook("native", USD)
    for i in range(k):
        b.add_offer(i + 1, "ask", rng.randint(1, 50), rng.randint(1, 50), rng.randint(10, 10**9))
    total = sum(o.amount for o in b.offers("ask"))
    e = b.simulate("buy", max(total - 1, 1), taker_sells="counter")
    a = e.fills_array
    rows = [(f.offer_id, f.wheat, f.sheep, f.remaining) for f in e.fills]
    assert len(a) == len(rows) == e.offers_crossed == (k if k else 0)
    assert list(zip(*(a[name].tolist() for name in ("offer_id", "wheat", "sheep", "remaining")))) == rows
    assert not a.flags.writeable
    assert e.fills_array is a  # built once


def test_path_hop_fills_array_equals_fills(impl):
    b = _asks(impl, 5)
    r = impl.simulate_path("strict_receive", 35, [USD, "native"], [b])
    (h,) = r.hops
    assert [tuple(x) for x in h.fills_array.tolist()] == [(f.offer_id, f.wheat, f.sheep, f.remaining)
                                                          for f in h.fills]
    assert len(h.fills) == 4


def test_average_price_lazy_and_exact():
    """Quote.average_price is computed when read (no Fraction is stored on the quote) and equals the
    exact counter/base on both L2 implementations."""
    import importlib

    for name in ("stellar_ob.book._book", "stellar_ob.book._pure"):
        try:
            mod = importlib.import_module(name)
        except ImportError:
            continue
        book = mod.OrderBook("native", USD)
        for i in range(50):
            book.set_level("ask", 1000 + i, 1000, 10**9)
        q = book.quote_buy(49 * 10**9 + 5 * 10**8)
        assert q.average_price == Fraction(q.counter, q.base)
        assert not any(isinstance(getattr(q, s, None), Fraction) for s in ("base", "counter", "levels"))
        assert "average_price" not in getattr(q, "__dict__", {})
        empty = mod.OrderBook("native", USD).quote_buy(10)
        assert empty.average_price is None
