"""pytest-benchmark suite for the per-offer book (not part of the default test run).

    python -m pytest bench/bench_offers.py --benchmark-only -p no:cacheprovider

Targets: simulate over 50 offers <= 2 us, over 1000 offers <= 40 us; add+remove of one offer in a
10,000-offer book <= 200 ns (compiled module).
"""

from __future__ import annotations

import importlib
import random

import pytest

BASE = "native"
COUNTER = "USDC:GA5ZSEJYB37JRC5AVCIA5MOP4RHTM335X2KGX3IHOJAPP5RE34K4KZVN"


@pytest.fixture(params=["c", "py"], ids=["c", "py"])
def impl(request):
    name = "stellar_ob.offers._offers" if request.param == "c" else "stellar_ob.offers._pure"
    try:
        return importlib.import_module(name)
    except ImportError as exc:
        pytest.skip(f"{name} not available ({exc})")


def _book(impl, k):
    rng = random.Random(k)
    b = impl.OfferBook(BASE, COUNTER)
    for i in range(k):
        b.add_offer(i + 1, "ask", 1000 + i, 1000, rng.randint(10**7, 10**9))
    return b


def _total(b):
    return sum(o.amount for o in b.offers("ask"))


def test_simulate_50_offers(benchmark, impl):
    b = _book(impl, 50)
    amount = _total(b) - 1  # crosses all 50, the last partially
    ex = benchmark(b.simulate, "buy", amount, taker_sells="counter")
    assert ex.offers_crossed == 50


def test_simulate_1000_offers(benchmark, impl):
    b = _book(impl, 1000)
    amount = _total(b) - 1
    ex = benchmark(b.simulate, "buy", amount, taker_sells="counter")
    assert ex.offers_crossed == 1000


def test_add_remove_in_10000_offer_book(benchmark, impl):
    b = _book(impl, 10_000)
    add, remove = b.add_offer, b.remove_offer

    def add_remove():
        add(99_999_999, "ask", 5_000, 1000, 10**8)
        remove(99_999_999)

    benchmark(add_remove)
    assert len(b) == 10_000


# ---- issue 12: path payments; issue 18: reading results without per-row objects ----

EUR = "EUR:GA5ZSEJYB37JRC5AVCIA5MOP4RHTM335X2KGX3IHOJAPP5RE34K4KZVN"
GBP = "GBP:GA5ZSEJYB37JRC5AVCIA5MOP4RHTM335X2KGX3IHOJAPP5RE34K4KZVN"


def _path_books(impl, k=50):
    """Three books of ``k`` asks each: USDC -> native -> EUR -> GBP. The last (GBP) is taken whole;
    each book before it holds ten times more per offer, so it pays what the next hop needs."""
    rng = random.Random(3)
    books = []
    for j, (base, counter) in enumerate(((BASE, COUNTER), (EUR, BASE), (GBP, EUR))):
        b = impl.OfferBook(base, counter)
        scale = 10 ** (2 - j)
        for i in range(k):
            b.add_offer(len(books) * 1000 + i + 1, "ask", 1000 + i, 1000, rng.randint(10**7, 10**9) * scale)
        books.append(b)
    return books


def test_simulate_path_3_hops_150_offers(benchmark, impl):
    """Target (issue 12): <= 6 us median for a strict receive across 3 x 50 offers."""
    books = _path_books(impl)
    want = _total(books[2]) - 1  # all 50 GBP offers; the hops before cross what they need
    path = [COUNTER, BASE, EUR, GBP]
    r = benchmark(impl.simulate_path, "strict_receive", want, path, books)
    assert r.result == "SUCCESS" and [h.venue for h in r.hops] == ["book", "book", "book"]
    assert r.hops[0].offers_crossed == 50


def _funded_book(impl, k=50):
    """``k`` asks of 10 sellers whose balances and trust limits are all known (set_account)."""
    from stellar_ob.offers.execution import Funds

    from stellar_ob.offers._common import adjust_offer
    from stellar_ob.offers._pure import _liabilities

    rng = random.Random(7)
    b = impl.OfferBook(BASE, COUNTER)
    sellers = [f"s{i}" for i in range(10)]
    selling = dict.fromkeys(sellers, 0)
    buying = dict.fromkeys(sellers, 0)
    for i in range(k):
        s = sellers[i % 10]
        amount = adjust_offer(1000 + i, 1000, rng.randint(10**7, 10**9))  # ledger-valid, as stored
        b.add_offer(i + 1, "ask", 1000 + i, 1000, amount, seller=s)
        sl, bl = _liabilities(1000 + i, 1000, amount)
        selling[s] += sl
        buying[s] += bl
    for s in sellers:  # the liabilities the sellers' offers hold, as the ledger has them
        b.set_account(s, Funds(10**13, None, 0, selling[s]), Funds(0, 10**15, buying[s], 0), subentries=k // 10)
    return b


@pytest.mark.parametrize("venue", ["book", "pool"])
def test_quote_hop_50_offers_funds_pool(benchmark, impl, venue):
    """Issue 12: quote_hop over 50 asks of sellers with funds set, next to a pool: "book" when the
    book's price wins (one conversion), "pool" when the pool's does (the book walk shown too)."""
    b = _funded_book(impl)
    amount = _total(b) - 1  # crosses all 50
    # the pool's price is about 1.0 (fee 0.3%): the book's (1.0 to 1.05) loses; a pool ten times
    # more expensive loses to the book
    pool = impl.LiquidityPool(10**15, 10**15) if venue == "pool" else impl.LiquidityPool(10**14, 10**15)
    q = benchmark(impl.quote_hop, b, pool, "strict_receive", amount, taker_sells="counter")
    assert q.result_code.endswith("SUCCESS") and q.venue == venue and q.execution.offers_crossed == 50


def _executed(impl, k):
    b = _book(impl, k)
    ex = b.simulate("buy", _total(b) - 1, taker_sells="counter")
    assert ex.offers_crossed == k
    return ex


@pytest.mark.parametrize("k", [50, 1000])
def test_read_fills_objects(benchmark, impl, k):
    """Issue 18: ``Execution.fills`` (one Fill object per offer crossed), read on a fresh result."""
    ex = _executed(impl, k)
    make = type(ex)._from_packed
    raw = ex._v[0]

    def run():
        return make(raw, 0, 0, True, "filled", 0).fills

    assert len(benchmark(run)) == k


@pytest.mark.parametrize("k", [50, 1000])
def test_read_fills_array(benchmark, impl, k):
    """Issue 18: ``Execution.fills_array`` (a numpy structured view of the packed fills, no per-row
    objects), read on a fresh result, and one column summed."""
    ex = _executed(impl, k)
    make = type(ex)._from_packed
    raw = ex._v[0]

    def run():
        return int(make(raw, 0, 0, True, "filled", 0).fills_array["wheat"].sum())

    assert benchmark(run) == sum(f.wheat for f in ex.fills)


def _l2_quote_book(impl):
    """An L2 OrderBook (the same implementation family as ``impl``) with 50 ask levels."""
    mod = importlib.import_module("stellar_ob.book._book" if impl.__name__ == "stellar_ob.offers._offers" else "stellar_ob.book._pure")
    book = mod.OrderBook(BASE, COUNTER)
    for i in range(50):
        book.set_level("ask", 1000 + i, 1000, 10**9)
    return book, 49 * 10**9 + 5 * 10**8


def test_quote_without_average_price(benchmark, impl):
    """Issue 18: a Quote whose average_price is never read builds no Fraction (it is a property)."""
    book, amount = _l2_quote_book(impl)
    q = benchmark(book.quote_buy, amount)
    assert q.levels == 50 and q.complete


def test_quote_with_average_price(benchmark, impl):
    """Issue 18: the same quote with its exact average_price (a Fraction) read."""
    book, amount = _l2_quote_book(impl)

    def run():
        return book.quote_buy(amount).average_price

    p = benchmark(run)
    assert p.numerator and p.denominator
