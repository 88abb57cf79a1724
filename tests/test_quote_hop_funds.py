"""Issue 12: quote_hop with sellers' funds (set_account) and a pool. The compiled module and the
twin must agree on every field, the execution included (the book walk core computed, chosen or
not), and both must match tests/core_reference.py (convertWithOffersAndPools, its book walk
convertWithOffers, PathPaymentOpFrameBase::convert's result). Ledgers are built with the
reference's place_offer, so every offer is ledger-valid (adjusted, liabilities acquired) and the
sellers' balances and trust limits are tight enough to cut the crossings.
"""

from __future__ import annotations

import random
import sys
from pathlib import Path

import pytest

from stellar_ob.offers.execution import MAINNET_PROTOCOL

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))

import core_reference as cr  # noqa: E402
import exchange_reference as xref  # noqa: E402
from test_dex_results import _ISSUER_KEYS, _world  # noqa: E402

M = 2**63 - 1
USD = "USD:I1"
_STOP = {cr.eOK: "filled", cr.ePartial: "no_offers", cr.eFilterStopBadPrice: "price_limit",
         cr.eFilterStopCrossSelf: "cross_self", cr.eCrossedTooMany: "too_many_offers"}


def _ledger(rnd: random.Random) -> cr.Ledger:
    L = cr.Ledger(protocol=rnd.choice([18, 26, 27, MAINNET_PROTOCOL]))
    if rnd.random() < 0.3:
        L.max_offers_to_cross = rnd.randint(1, 6)
    sellers = [f"s{i}" for i in range(rnd.randint(1, 4))]
    for s in sellers:
        L.set_account(s, rnd.choice([10**8, 10**9, 10**11, 10**14]))
        limit = rnd.choice([10**6, 10**9, 10**12, M])
        L.set_trustline(s, USD, rnd.randint(0, min(limit, 10**10)), limit, flags=cr.AUTHORIZED_FLAG)
    oid = 1
    for _ in range(rnd.randint(0, 12)):
        s = rnd.choice(sellers)
        selling, buying = (USD, cr.NATIVE) if rnd.random() < 0.5 else (cr.NATIVE, USD)
        n, d = rnd.randint(1, 50), rnd.randint(1, 50)
        try:
            L.place_offer(s, oid, selling, buying, rnd.choice([10**3, 10**6, 10**8, 10**10]), n, d)
        except ValueError:
            pass  # the seller lacks the reserve for one more offer
        oid += 1
    if rnd.random() < 0.8:
        L.set_pool(USD, cr.NATIVE, rnd.choice([10**4, 10**7, 10**10]), rnd.choice([10**4, 10**7, 10**10]))
    return L


def _quote(impl, L: cr.Ledger, book_pool, kind: str, amount: int, taker_sells: str):
    book, pool = book_pool
    return impl.quote_hop(book, pool, kind, amount, taker_sells=taker_sells, taker="t",
                          max_offers=L.max_offers_to_cross, protocol=L.protocol)


def _fields(q) -> tuple:
    ex = q.execution
    exf = None if ex is None else (tuple(tuple(f) if not hasattr(f, "offer_id") else
                                         (f.offer_id, f.wheat, f.sheep, f.remaining) for f in ex.fills),
                                   ex.sent, ex.received, ex.complete, ex.stop_reason, ex.result, ex.result_code,
                                   ex.taker_offer_amount)
    return (q.venue, q.sent, q.received, q.stop_reason, q.result, q.result_code, q.complete, exf,
            None if q.pool is None else (q.pool.sent, q.pool.received))


def _book_and_pool(impl, L: cr.Ledger):
    w = _world(impl, L)
    assert w is not None
    books, _ = w
    book = books[0] if books else impl.OfferBook("USD:" + _ISSUER_KEYS["I1"], "native")
    pool = None
    if L.pools:
        ra, rb = L.pool_reserves(USD, cr.NATIVE)  # the book's base is USD ("U" sorts before "n")
        pool = impl.LiquidityPool(ra, rb)
    return book, pool


def _reference(L: cr.Ledger, kind: str, amount: int, taker_sells: str):
    send, recv = (USD, cr.NATIVE) if taker_sells == "base" else (cr.NATIVE, USD)
    strict_send = kind == "strict_send"
    rounding = cr.STRICT_SEND if strict_send else cr.STRICT_RECEIVE
    prefix = "PATH_PAYMENT_STRICT_SEND_" if strict_send else "PATH_PAYMENT_STRICT_RECEIVE_"
    max_send, max_recv = (amount, M) if strict_send else (M, amount)
    _, hop, code = cr._convert(L.copy(), "t", L.max_offers_to_cross, send, max_send, recv, max_recv, rounding,
                               prefix, strict_send)
    # the book walk core computed (chosen or not), with the offers' amounts after it
    walk_ledger = L.copy()
    conv = cr.convert_with_offers(walk_ledger, send, max_send, recv, max_recv, rounding, cr._path_filter("t"),
                                  L.max_offers_to_cross)
    fills = tuple((a.offer_id, a.amount_sold, a.amount_bought,
                   walk_ledger.offers[a.offer_id].amount if a.offer_id in walk_ledger.offers else 0)
                  for a in conv.trail)
    assert (conv.sheep_send, conv.wheat_received, conv.result, len(conv.trail)) == hop.book_quote
    return hop, code or prefix + "SUCCESS", (fills, conv.sheep_send, conv.wheat_received, _STOP[conv.result])


@pytest.mark.parametrize("seed", range(3))
def test_quote_hop_with_funds_and_pool_c_twin_reference(seed):
    c, py = xref.load_impl("c"), xref.load_impl("py")
    rnd = random.Random(4700 + seed)
    compared = pool_chosen_after_walk = 0
    for _ in range(300):
        L = _ledger(rnd)
        kind = rnd.choice(["strict_send", "strict_receive"])
        taker_sells = rnd.choice(["base", "counter"])
        amount = rnd.choice([1, 10**3, 10**6, 10**8, 10**10, 10**12])
        try:
            hop, code, walk = _reference(L, kind, amount, taker_sells)
        except cr.CoreWouldThrow:
            continue  # CORE_WOULD_THROW: tests/test_dex_results.py covers it
        qc = _quote(c, L, _book_and_pool(c, L), kind, amount, taker_sells)
        qp = _quote(py, L, _book_and_pool(py, L), kind, amount, taker_sells)
        assert _fields(qc) == _fields(qp), (seed, kind, amount, taker_sells)
        # against the reference: the result and, on SUCCESS, the venue and amounts
        assert qc.result_code == code, (qc, code)
        if code.endswith("SUCCESS"):
            assert (qc.venue, qc.sent, qc.received) == (hop.venue, hop.amount_send, hop.amount_recv)
        # the execution is the reference's book walk, with the sellers' funds applied
        ex = qc.execution
        got = (tuple((f.offer_id, f.wheat, f.sheep, f.remaining) for f in ex.fills), ex.sent, ex.received,
               ex.stop_reason)
        assert got == walk, (seed, kind, amount, taker_sells, got, walk)
        assert ex.complete == (walk[3] == "filled")
        compared += 1
        if hop.venue == "pool" and walk[0]:
            pool_chosen_after_walk += 1
    assert compared >= 200, compared
    assert pool_chosen_after_walk >= 5, pool_chosen_after_walk


def _pool_wins_ledger(protocol: int, max_offers: int = 1000) -> cr.Ledger:
    """Three sellers' asks of USD for native at 11/10 to 13/10 (the middle one's balance funds half
    its second offer: place_offer adjusts it), next to a pool priced about 1/1 with reserves deep
    enough to win every strict receive below."""
    L = cr.Ledger(protocol=protocol)
    L.max_offers_to_cross = max_offers
    for s, usd in (("s0", 10**12), ("s1", 15 * 10**7), ("s2", 10**12)):
        L.set_account(s, 10**10)
        L.set_trustline(s, USD, usd, M, flags=cr.AUTHORIZED_FLAG)
    L.place_offer("s0", 1, USD, cr.NATIVE, 10**8, 11, 10)
    L.place_offer("s1", 2, USD, cr.NATIVE, 10**8, 12, 10)
    L.place_offer("s1", 3, USD, cr.NATIVE, 10**8, 12, 10)  # adjusted to 5 * 10**7: what s1 can sell
    L.place_offer("s2", 4, USD, cr.NATIVE, 10**8, 13, 10)
    assert L.offers[3].amount == 5 * 10**7
    L.set_pool(USD, cr.NATIVE, 10**15, 10**15)
    return L


@pytest.mark.parametrize("impl_name", ["c", "py"])
@pytest.mark.parametrize("amount", [10**8 + 7, 2 * 10**8 + 12345, 3 * 10**8 - 1])
def test_pool_wins_execution_is_the_rolled_back_book_walk(impl_name, amount):
    """The pool wins (its price about 1.0 beats the book's 1.1 to 1.3): the execution is the book
    walk core computed inside the same conversion and rolled back (offers, amounts sold and bought,
    what each offer keeps, sent / received), pinned to the reference with the sellers' funds set,
    and read from that one conversion (the compiled module no longer reruns it without the pool)."""
    impl = xref.load_impl(impl_name)
    L = _pool_wins_ledger(MAINNET_PROTOCOL)
    hop, code, walk = _reference(L, "strict_receive", amount, "counter")
    assert code == "PATH_PAYMENT_STRICT_RECEIVE_SUCCESS" and hop.venue == "pool"
    book, pool = _book_and_pool(impl, L)
    q = _quote(impl, L, (book, pool), "strict_receive", amount, "counter")
    assert (q.venue, q.result_code, q.received) == ("pool", code, amount)
    ex = q.execution
    got = (tuple((f.offer_id, f.wheat, f.sheep, f.remaining) for f in ex.fills), ex.sent, ex.received,
           ex.stop_reason)
    assert got == walk
    assert len(walk[0]) >= 2 and ex.received == amount and ex.complete
    # the walk crossed the funded seller's adjusted offer 3 at its adjusted amount
    assert amount < 15 * 10**7 or any(f[0] == 3 and f[1] <= 5 * 10**7 for f in walk[0])
    assert len(book) == 4  # nothing applied


@pytest.mark.parametrize("impl_name", ["c", "py"])
def test_work_limit_execution_is_the_rolled_back_book_walk(impl_name):
    """From protocol 27 the walk's offers count when the pool would be chosen: 2 offers crossed
    with max_offers 2 gives EXCEEDED_WORK_LIMIT (no venue); the execution still shows the walk
    (both offers), pinned to the reference. Before 27 the pool is used, with the same walk shown."""
    impl = xref.load_impl(impl_name)
    for protocol, want in ((27, "opEXCEEDED_WORK_LIMIT"), (26, "PATH_PAYMENT_STRICT_RECEIVE_SUCCESS")):
        L = _pool_wins_ledger(protocol, max_offers=2)
        amount = 2 * 10**8
        hop, code, walk = _reference(L, "strict_receive", amount, "counter")
        assert code == want
        q = _quote(impl, L, _book_and_pool(impl, L), "strict_receive", amount, "counter")
        assert q.result_code == want and q.venue == (None if protocol == 27 else "pool")
        ex = q.execution
        got = (tuple((f.offer_id, f.wheat, f.sheep, f.remaining) for f in ex.fills), ex.sent, ex.received,
               ex.stop_reason)
        assert got == walk and [f[0] for f in walk[0]] == [1, 2]
