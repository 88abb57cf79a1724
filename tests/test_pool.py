"""Liquidity pools (CAP-0038) and core's book-or-pool choice per path-payment hop.
Each test runs on the compiled module ("c") and the pure-Python twin ("py")."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import exchange_reference as ref
from stellar_ob.errors import InvalidBookError

I64 = ref.I64
BASE = "native"
COUNTER = "USDC:GA5ZSEJYB37JRC5AVCIA5MOP4RHTM335X2KGX3IHOJAPP5RE34K4KZVN"


@pytest.fixture(params=["c", "py"], ids=["c", "py"])
def impl(request):
    return ref.load_impl(request.param)


def test_strict_send_formula(impl):
    pool = impl.LiquidityPool(1000_0000000, 2000_0000000)
    q = pool.strict_send(1_0000000)
    assert (q.sent, q.received) == (1_0000000, 9970 * 2000_0000000 * 1_0000000 // (10000 * 1000_0000000 + 9970 * 1_0000000))
    q = pool.strict_send(1_0000000, taker_sells="counter")
    assert q.received == 9970 * 1000_0000000 * 1_0000000 // (10000 * 2000_0000000 + 9970 * 1_0000000)


def test_pool_y_zero_fails(impl):
    pool = impl.LiquidityPool(10**12, 10)
    assert pool.strict_send(1) is None  # floor(...) == 0: core refuses
    assert impl.LiquidityPool(0, 0).strict_send(5) is None


def test_strict_receive_whole_reserve_fails(impl):
    pool = impl.LiquidityPool(1000, 500)
    assert pool.strict_receive(500) is None
    assert pool.strict_receive(501) is None
    q = pool.strict_receive(499)
    assert q.received == 499 and q.sent == ref.div_up(10000 * 1000 * 499, 1 * 9970)


def test_pool_int64_max_no_overflow(impl):
    pool = impl.LiquidityPool(I64, I64)
    assert pool.strict_send(1) is None  # X + x overflows int64
    pool = impl.LiquidityPool(1, I64)
    q = pool.strict_send(I64 - 1)
    assert q.received == ref.pool_send(1, I64, 30, I64 - 1)
    assert impl.LiquidityPool(I64 - 10, I64).strict_receive(I64 - 1) is None


def test_pool_bad_arguments(impl):
    with pytest.raises(InvalidBookError):
        impl.LiquidityPool(-1, 5)
    with pytest.raises(InvalidBookError):
        impl.LiquidityPool(1, 5, fee_bp=10000)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(x=st.integers(1, I64), y=st.integers(1, I64), a=st.integers(1, I64), fee=st.sampled_from([0, 30, 100, 9999]))
def test_pool_matches_reference(impl, x, y, a, fee):
    pool = impl.LiquidityPool(x, y, fee)
    q = pool.strict_send(a)
    want = ref.pool_send(x, y, fee, a)
    assert (None if q is None else q.received) == want
    q = pool.strict_receive(a)
    want = ref.pool_receive(x, y, fee, a)
    assert (None if q is None else q.sent) == want


def _book(impl, offers):
    b = impl.OfferBook(BASE, COUNTER)
    for oid, n, d, amt in offers:
        b.add_offer(oid, "bid", n, d, amt)
    return b


def test_quote_hop_prefers_pool_unless_book_strictly_better(impl):
    pool = impl.LiquidityPool(10**10, 10**10, 30)
    pq = pool.strict_send(1000)
    # a book at exactly the pool's effective price is not strictly better: the pool wins
    book = _book(impl, [(1, pq.sent, pq.received, 10**9)])
    h = impl.quote_hop(book, pool, "strict_send", 1000)
    assert h.venue == "pool" and (h.sent, h.received) == (pq.sent, pq.received)
    # a book at 1:1 is strictly better
    book = _book(impl, [(1, 1, 1, 10**9)])
    h = impl.quote_hop(book, pool, "strict_send", 1000, apply=True)
    assert h.venue == "book" and (h.sent, h.received) == (1000, 1000)
    assert book.get(1).amount == 10**9 - 1000
    # a better book that cannot fill completely loses to the pool: never split
    book = _book(impl, [(1, 1, 1, 500)])
    h = impl.quote_hop(book, pool, "strict_receive", 1000, apply=True)
    assert h.venue == "pool" and h.received == 1000 and h.execution.stop_reason == "no_offers"
    assert pool.reserve_a == 10**10 + h.sent and pool.reserve_b == 10**10 - 1000
    assert book.get(1).amount == 500


def test_quote_hop_without_pool_and_cross_self(impl):
    book = impl.OfferBook(BASE, COUNTER)
    book.add_offer(1, "bid", 1, 1, 100, seller="GME")
    h = impl.quote_hop(book, None, "strict_send", 10, taker="GME")
    assert h.venue is None and h.stop_reason == "cross_self"
    # with a pool, core routes around one's own offer
    h = impl.quote_hop(book, impl.LiquidityPool(10**6, 10**6), "strict_send", 10, taker="GME")
    assert h.venue == "pool"
    with pytest.raises(InvalidBookError):
        impl.quote_hop(book, None, "sell", 10)


def test_quote_hop_too_many_offers_counts_against_pool(impl):
    book = _book(impl, [(i, 1, 1, 1) for i in range(1, 1001)])
    pool = impl.LiquidityPool(10**12, 10**12)
    h = impl.quote_hop(book, pool, "strict_send", 10**6)
    assert h.venue is None and h.stop_reason == "too_many_offers"
