"""Tests of tests/core_reference.py, the independent transliteration of stellar-core's DEX that the
crossing and path-payment code of stellar_ob is compared against. Nothing here imports stellar_ob.

Expected values come from four places, named in each test:
  * stellar-core's own unit tests at the commit the reference was read from
    (src/transactions/test/ExchangeTests.cpp, LiquidityPoolTradeTests.cpp), ported with their numbers;
  * real mainnet trades (tests/data/horizon/etl_trades_10_ledgers_mainnet_2020.jsonl);
  * amounts worked out by hand from core's source, with the working in the test;
  * properties that must hold for any ledger-valid state (Hypothesis).
"""

from __future__ import annotations

import decimal
import json
import random
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import core_reference as cr

M = cr.INT64_MAX
DATA = Path(__file__).resolve().parent / "data" / "horizon"

# A world shaped like core's transaction tests: an issuer "root", assets it issues, accounts with
# trust lines of limit INT64_MAX (LiquidityPoolTradeTests.cpp testLiquidityPoolTrading).
ROOT = "root"
CUR1, CUR2, CUR3 = "CUR1:root", "CUR2:root", "CUR3:root"


class World:
    def __init__(self, protocol: int = 23, max_offers: int = 1000) -> None:
        self.L = cr.Ledger(protocol=protocol, max_offers_to_cross=max_offers, unknown_accounts_funded=False)
        self.L.set_account(ROOT, 10**15)

    def create(self, name: str, balances: dict) -> None:
        self.L.set_account(name, 10**12)
        for a in (CUR1, CUR2, CUR3):
            self.L.set_trustline(name, a, balances.get(a, 0), M)

    def deposit(self, who: str, ax: int, ay: int, x: str = CUR1, y: str = CUR2) -> None:
        """The reserves and balances after LiquidityPoolDeposit (pool shares are not modelled)."""
        self.L.trustlines[(who, x)].balance -= ax
        self.L.trustlines[(who, y)].balance -= ay
        if cr.pool_key(x, y) in self.L.pools:
            rx, ry = self.L.pool_reserves(x, y)
            ax, ay = ax + rx, ay + ry
        self.L.set_pool(x, y, ax, ay)

    def _apply(self, r: cr.OpResult) -> cr.OpResult:
        if r.success:
            cr.check_invariants(r.ledger, self.L)
            self.L = r.ledger
        return r

    def offer(self, who: str, selling: str, buying: str, n: int, d: int, amount: int) -> cr.OpResult:
        r = self._apply(cr.manage_sell_offer(self.L, who, selling, buying, amount, n, d))
        assert r.success, r.code
        return r

    def pay(self, src, dest, sc, smax, dc, damount, path=()) -> cr.OpResult:
        """TestAccount::pay = PathPaymentStrictReceive(dest, sendCur, sendMax, destCur, destAmount, path)."""
        return self._apply(cr.path_payment_strict_receive(self.L, src, sc, smax, dest, dc, damount, path))

    def send(self, src, dest, sc, samount, dc, dmin, path=()) -> cr.OpResult:
        """TestAccount::pathPaymentStrictSend(dest, sendCur, sendAmount, destCur, destMin, path)."""
        return self._apply(cr.path_payment_strict_send(self.L, src, sc, samount, dest, dc, dmin, path))

    def reserves(self) -> tuple:
        return self.L.pool_reserves(CUR1, CUR2)


# ---------------------------------------------------------------------------------------------
# core's unit tests of the math (ExchangeTests.cpp at the reference commit), ported
# ---------------------------------------------------------------------------------------------

# (price, maxWheatSend, maxWheatReceive, maxSheepSend, maxSheepReceive, round, wheatReceive, sheepSend)
EXCHANGE_V10_CASES = [
    # "Limited by maxWheatSend and maxSheepSend" (ExchangeTests.cpp:516-558)
    *[((3, 2), ws, M, ss, M, cr.NORMAL, w, s) for ws, ss, w, s in
      [(3000, 4501, 3000, 4500), (3000, 4500, 3000, 4500), (3000, 4499, 2999, 4499), (2999, 4499, 2999, 4498),
       (2999, 4498, 2998, 4497)]],
    *[((2, 3), ws, M, ss, M, cr.NORMAL, w, s) for ws, ss, w, s in
      [(3000, 2001, 3000, 2000), (3000, 2000, 3000, 2000), (3000, 1999, 2998, 1999), (2999, 2000, 2999, 1999),
       (2999, 1999, 2998, 1999)]],
    # "Limited by maxWheatReceive and maxSheepReceive" (l.560-602)
    *[((3, 2), M, wr, M, sr, cr.NORMAL, w, s) for wr, sr, w, s in
      [(3000, 4501, 3000, 4500), (3000, 4500, 3000, 4500), (3000, 4499, 2999, 4498), (2999, 4499, 2999, 4499),
       (2999, 4498, 2998, 4497)]],
    *[((2, 3), M, wr, M, sr, cr.NORMAL, w, s) for wr, sr, w, s in
      [(3000, 2001, 3000, 2000), (3000, 2000, 3000, 2000), (3000, 1999, 2999, 1999), (2999, 2000, 2998, 1999),
       (2999, 1999, 2999, 1999)]],
    # "Limited by maxWheatSend and maxWheatReceive" (l.604-639)
    ((3, 2), 3000, 3001, M, M, cr.NORMAL, 3000, 4500), ((3, 2), 3000, 3000, M, M, cr.NORMAL, 3000, 4500),
    ((3, 2), 3000, 2999, M, M, cr.NORMAL, 2999, 4499), ((2, 3), 3000, 3001, M, M, cr.NORMAL, 3000, 2000),
    ((2, 3), 3000, 3000, M, M, cr.NORMAL, 3000, 2000), ((2, 3), 3000, 2999, M, M, cr.NORMAL, 2998, 1999),
    # "Limited by maxSheepSend and maxSheepReceive" (l.641-676)
    ((3, 2), M, M, 4500, 4501, cr.NORMAL, 3000, 4500), ((3, 2), M, M, 4500, 4500, cr.NORMAL, 3000, 4500),
    ((3, 2), M, M, 4500, 4499, cr.NORMAL, 2999, 4498), ((2, 3), M, M, 2000, 2001, cr.NORMAL, 3000, 2000),
    ((2, 3), M, M, 2000, 2000, cr.NORMAL, 3000, 2000), ((2, 3), M, M, 2000, 1999, cr.NORMAL, 2999, 1999),
    # "Threshold" (l.678-707)
    ((3, 2), 28, 27, M, M, cr.NORMAL, 0, 0), ((3, 2), 28, 26, M, M, cr.NORMAL, 26, 39),
    ((3, 2), 52, 51, M, M, cr.NORMAL, 51, 77), ((3, 2), 52, 50, M, M, cr.NORMAL, 50, 75),
    # "Rounding for PATH_PAYMENT_STRICT_RECEIVE" (l.709-742)
    ((3, 2), 28, 27, M, M, cr.STRICT_RECEIVE, 27, 41), ((3, 2), 150, 101, M, M, cr.NORMAL, 101, 152),
    ((3, 2), 150, 101, M, M, cr.STRICT_RECEIVE, 101, 152), ((2, 3), 150, 101, M, M, cr.NORMAL, 100, 67),
    ((2, 3), 150, 101, M, M, cr.STRICT_RECEIVE, 101, 68),
    # "Rounding for PATH_PAYMENT_STRICT_SEND" (l.744-799)
    ((3, 2), 28, M, 41, M, cr.NORMAL, 0, 0), ((3, 2), 28, M, 41, M, cr.STRICT_SEND, 27, 41),
    ((3, 2), 97, M, 145, M, cr.NORMAL, 96, 144), ((3, 2), 97, M, 145, M, cr.STRICT_SEND, 96, 145),
    ((2, 3), 97, 95, M, M, cr.NORMAL, 94, 63), ((2, 3), 97, 95, M, M, cr.STRICT_SEND, 95, M),
    ((2, 1), 1, M, 1, M, cr.NORMAL, 0, 0), ((2, 1), 1, M, 1, M, cr.STRICT_SEND, 0, 1),
]


@pytest.mark.parametrize("case", EXCHANGE_V10_CASES)
def test_exchange_v10_matches_core_unit_tests(case):
    price, ws, wr, ss, sr, rounding, w, s = case
    r = cr.exchange_v10(price, ws, wr, ss, sr, rounding)
    assert (r.wheat_received, r.sheep_send) == (w, s)


# adjustOffer (ExchangeTests.cpp:802-905): (price, maxWheatSend, maxSheepReceive, expected)
ADJUST_CASES = [
    ((1, 1000), 2001, M, 2000), ((1, 1000), 2000, M, 2000), ((1, 1000), 1999, M, 1000),
    ((1, 1000), 2000, 3, 2000), ((1, 1000), 2000, 2, 2000), ((1, 1000), 2000, 1, 1000),
    ((1000, 1), 401, M, 401), ((1000, 1), 400, M, 400), ((1000, 1), 399, M, 399),
    ((1000, 1), 400, 400 * 1000 + 1, 400), ((1000, 1), 400, 400 * 1000, 400), ((1000, 1), 400, 400 * 1000 - 1, 399),
    ((7, 3), 429, M, 429), ((7, 3), 428, M, 428), ((7, 3), 427, M, 427), ((7, 3), 428, 999, 428),
    ((7, 3), 428, 998, 427), ((7, 3), 428, 997, 427), ((3, 7), 1001, M, 1001), ((3, 7), 1000, M, 999),
    ((3, 7), 999, M, 999), ((3, 7), 1000, 429, 999), ((3, 7), 1000, 428, 999), ((3, 7), 1000, 427, 997),
    ((3, 2), 29, M, 0), ((3, 2), 28, M, 28), ((3, 2), 27, M, 0), ((3, 2), 26, M, 26), ((3, 2), 51, M, 51),
    ((3, 2), 50, M, 50),
]


@pytest.mark.parametrize("price,ws,sr,expected", ADJUST_CASES)
def test_adjust_offer_matches_core_unit_tests(price, ws, sr, expected):
    assert cr.adjust_offer(price, ws, sr) == expected
    assert cr.adjust_offer(price, expected, sr) == expected  # "Adjusting offer again has no effect"


@pytest.mark.parametrize("can_favor_wheat", [False, True])
@pytest.mark.parametrize("price,wheat,high,low", [
    ((1, 1), 1000, 1010, 990), ((5, 2), 1000, 2525, 2475), ((2, 5), 1000, 404, 396),
    ((7, 3), 1000, 2356, 2310), ((3, 7), 1000, 432, 425)])
def test_price_error_bound_matches_core_unit_tests(price, wheat, high, low, can_favor_wheat):
    """ExchangeTests.cpp:907-938 "Check price error bounds"."""
    assert cr.check_price_error_bound(price, wheat, high + 1, can_favor_wheat) == can_favor_wheat
    assert cr.check_price_error_bound(price, wheat, high, can_favor_wheat)
    assert cr.check_price_error_bound(price, wheat, low, can_favor_wheat)
    assert not cr.check_price_error_bound(price, wheat, low - 1, can_favor_wheat)


S, R = cr.STRICT_SEND, cr.STRICT_RECEIVE
# "Exchange with liquidity pools" (ExchangeTests.cpp:948-1121):
# (reservesToPool, maxSend, reservesFromPool, maxReceive, fee, round, success, toPool, fromPool)
POOL_CASES = [
    (100, M - 100, 100, M, 0, S, True, M - 100, 99), (100, M - 99, 100, M, 0, S, False, 0, 0),
    (M - 100, 100, M - 100, M, 0, S, True, 100, 99), (M - 99, 100, M - 100, M, 0, S, False, 0, 0),
    (100, 2, 100, M, 0, S, True, 2, 1), (100, 1, 100, M, 0, S, False, 0, 0),
    (100, M, 100, 99, 0, R, True, 9900, 99), (100, M, 100, 100, 0, R, False, 0, 0),
    (100, M, M // 100, M // 100 - 1, 0, R, True, M - 107, M // 100 - 1),
    (100, M, M // 100, M // 100, 0, R, False, 0, 0),
    (M // 100, M, 101 * 10000 + 1, 101 * 10000, 0, R, False, 0, 0),
    (M // 100, M, 10000 + 1, 10000, 0, R, False, 0, 0),
    (M - 100, M, M // 2, 49, 0, R, True, 98, 49), (M - 100, M, M // 2, 50, 0, R, False, 0, 0),
    (100, 100, 100, M, 0, S, True, 100, 50), (100, 50, 100, M, 0, S, True, 50, 33),
    (100, 0, 100, M, 0, S, False, 0, 0), (100, M - 99, 100, M, 0, S, False, 0, 0),
    (100, M, 100, 50, 0, R, True, 100, 50), (100, M, 100, 33, 0, R, True, 50, 33),
    (100, M, 100, 0, 0, R, True, 0, 0), (100, M, 100, 100, 0, R, False, 0, 0),
    (10000, 10031, 20000, M, 30, S, True, 10031, 10000), (10000, M, 20000, 10000, 30, R, True, 10031, 10000),
]


@pytest.mark.parametrize("case", POOL_CASES)
def test_pool_math_matches_core_unit_tests(case):
    rt, ms, rf, mr, fee, rounding, ok, to_pool, from_pool = case
    res = cr.exchange_with_pool_math(rt, ms, rf, mr, fee, rounding)
    assert (res is not None) == ok
    if ok:
        assert res == (to_pool, from_pool)


@pytest.mark.parametrize("args", [
    (100, 50, 100, M, -1, S), (100, M, 100, 50, -1, R), (100, 50, 100, M, 10000, S),
    (100, M, 100, 50, 10000, R), (100, 50, 100, M - 1, 0, S), (100, 50, 100, 0, 0, S),
    (100, M - 1, 100, 50, 0, R), (100, 0, 100, 50, 0, R), (100, 50, 100, 50, 0, cr.NORMAL)])
def test_pool_math_throws_where_core_throws(args):
    """ExchangeTests.cpp:970-1010 "Error conditions" (REQUIRE_THROWS)."""
    with pytest.raises(cr.CoreWouldThrow):
        cr.exchange_with_pool_math(*args)


# ---------------------------------------------------------------------------------------------
# real mainnet trades
# ---------------------------------------------------------------------------------------------


def _mainnet_trades() -> list:
    rows = []
    with open(DATA / "etl_trades_10_ledgers_mainnet_2020.jsonl") as f:
        for line in f:
            r = json.loads(line, parse_float=decimal.Decimal)

            def asset(prefix: str) -> str:
                if r[prefix + "_asset_type"] == "native":
                    return cr.NATIVE
                return f"{r[prefix + '_asset_code']}:{r[prefix + '_asset_issuer']}"

            def stroops(x: decimal.Decimal) -> int:
                v = x * 10**7
                assert v == v.to_integral_value()
                return int(v)

            rows.append(dict(maker=r["selling_account_address"], maker_offer=r["selling_offer_id"],
                             taker=r["buying_account_address"], taker_offer=r["buying_offer_id"],
                             wheat=asset("selling"), sheep=asset("buying"), n=r["price_n"], d=r["price_d"],
                             sold=stroops(r["selling_amount"]), bought=stroops(r["buying_amount"])))
    return rows


MAINNET = _mainnet_trades()


@pytest.mark.parametrize("t", MAINNET, ids=[str(t["maker_offer"]) for t in MAINNET])
def test_mainnet_trade_reproduced_to_the_stroop(t):
    """Each recorded trade (maker offer = wheat at n/d, taker = sheep) comes out of a real operation
    at protocol 12 (mainnet's protocol in March 2020) with exactly the recorded amounts. The rounding
    says which side stayed (exchangeV10: the offer that stays is favoured): sheep = floor(W*n/d)
    means the maker offer was taken whole (then maker amount = W); ceil means it stayed (maker has
    more). A taker id below 2^62 is a real offer id: the taker's ManageSellOffer rested after
    taking the maker whole. Synthetic ids (>= 2^62) are takers filled at once: a strict receive
    of exactly W."""
    w, s, n, d = t["sold"], t["bought"], t["n"], t["d"]
    taken = s == w * n // d and s != -(-w * n // d)
    stayed = s == -(-w * n // d) and s != w * n // d
    assert taken != stayed  # each row is unambiguous
    L = cr.Ledger(protocol=12)
    for acct in (t["maker"], t["taker"]):
        L.set_account(acct, 10**13)
        for a in (t["wheat"], t["sheep"]):
            if a != cr.NATIVE and not cr.is_issuer(acct, a):
                L.set_trustline(acct, a, 10**13, 10**15)
    maker_amount = w if taken else cr.adjust_offer((n, d), 10 * w, M)  # a ledger-valid, larger offer
    assert maker_amount >= w
    assert L.place_offer(t["maker"], t["maker_offer"], t["wheat"], t["sheep"], maker_amount, n, d).amount == maker_amount
    if t["taker_offer"] < 2**62:
        r = cr.manage_sell_offer(L, t["taker"], t["sheep"], t["wheat"], 2 * s, d, n)
        assert r.code == "MANAGE_SELL_OFFER_SUCCESS"
        assert r.offer_effect == cr.MANAGE_OFFER_CREATED and r.offer.amount == s  # the rest stays
    else:
        r = cr.path_payment_strict_receive(L, t["taker"], t["sheep"], 10**12, t["taker"], t["wheat"], w)
        assert r.code == "PATH_PAYMENT_STRICT_RECEIVE_SUCCESS"
    assert [(c.offer_id, c.amount_sold, c.amount_bought) for c in r.claims] == [(t["maker_offer"], w, s)]
    assert (t["maker_offer"] in r.ledger.offers) == stayed
    cr.check_invariants(r.ledger, L)


# ---------------------------------------------------------------------------------------------
# issue 12's reproducers, worked out by hand from core's source
# ---------------------------------------------------------------------------------------------
BASE, CTR = "BASE:GISSUER", "CTR:GISSUER"


def test_issue_reproducer_strict_receive_walk_ends_ok_but_short_is_too_few_offers():
    """Book: asks (offers selling BASE for CTR) 1: 10 at 1/1; 2: 10^12 at 2147483647/1. Strict
    receive of 10^12 BASE paying CTR, unknown (fully funded) sellers, sendMax INT64_MAX.
    * offer 1: exchangeV10(1/1, 10, 10^12, MAX, MAX): taken, 10 for 10.
    * offer 2: crossOfferV10 first runs adjustOffer (OfferExchange.cpp:1142): the seller can receive
      at most INT64_MAX CTR, so 10^12 shrinks to W' = floor(INT64_MAX/2147483647) = 2^32+2 (W'*n =
      2^63-2 <= INT64_MAX). Then exchangeV10(n/1, maxWheatSend=2^32+2, maxWheatReceive=10^12-10,
      maxSheepSend=MAX-10, ...): wheatValue = 2^63-2 > sheepValue = MAX-10, so wheat stays and
      W = floor((MAX-10)/n) = 2^32+1, S = W*n = 2^63-2^31-1. needMore = !wheatStays = false: eOK.
    * received 10 + 2^32+1 != 10^12, so checkTransfer fails: TOO_FEW_OFFERS
      (PathPaymentOpFrameBase.cpp:135-143), though the walk itself said eOK."""
    L = cr.Ledger(protocol=23)
    L.add_offer("s1", 1, BASE, CTR, 10, 1, 1)
    L.add_offer("s2", 2, BASE, CTR, 10**12, 2147483647, 1)
    r = cr.path_payment_strict_receive(L, "taker", CTR, M, "taker", BASE, 10**12)
    assert r.code == "PATH_PAYMENT_STRICT_RECEIVE_TOO_FEW_OFFERS"
    (hop,) = r.hops
    assert hop.result == cr.eOK and hop.venue == "book"
    assert [(c.offer_id, c.amount_sold, c.amount_bought) for c in hop.claims] == [
        (1, 10, 10), (2, 2**32 + 1, 2**63 - 2**31 - 1)]
    assert (hop.amount_recv, hop.amount_send) == (2**32 + 11, 2**63 - 2**31 + 9)
    assert r.sent is None and r.received is None and r.ledger == L  # nothing looks filled


def test_issue_reproducer_strict_send_int64_budget_runs_out_is_too_few_offers():
    """Bids (offers selling CTR for BASE) 1: 1 at 1/1 (BASE per CTR); 2: 2^63-2 at 1/2. Strict send
    of 2^62+10 BASE. Offer 2 is best (0.5 < 1). exchangeV10(1/2, 2^63-2, MAX, 2^62+10, MAX,
    STRICT_SEND): wheatValue = 2^63-2 <= sheepValue = min(2^63+20, MAX) = MAX: taken, S =
    floor((2^63-2)/2) = 2^62-1, W = ceil(S*2) = 2^63-2. Offer 1 with maxWheatReceive = MAX-(2^63-2) =
    1: taken, 1 for 1. Now the taker received INT64_MAX: maxWheatReceive = 0 ends the walk with eOK
    after sending 2^62 of 2^62+10, so checkTransfer fails: TOO_FEW_OFFERS."""
    L = cr.Ledger(protocol=23)
    L.add_offer("s1", 1, CTR, BASE, 1, 1, 1)
    L.add_offer("s2", 2, CTR, BASE, 2**63 - 2, 1, 2)
    r = cr.path_payment_strict_send(L, "taker", BASE, 2**62 + 10, "taker", CTR, 1)
    assert r.code == "PATH_PAYMENT_STRICT_SEND_TOO_FEW_OFFERS"
    (hop,) = r.hops
    assert hop.result == cr.eOK
    assert [(c.offer_id, c.amount_sold, c.amount_bought) for c in hop.claims] == [(2, 2**63 - 2, 2**62 - 1), (1, 1, 1)]
    assert (hop.amount_send, hop.amount_recv) == (2**62, M)


def test_issue_underfunded_example_is_rejected_before_crossing():
    """A bid of 10^9 at 1/1 (an offer selling CTR for BASE), the taker sells 100 BASE at a limit of
    1/2 CTR per BASE holding 50 BASE. The new offer's selling liabilities are exchangeV10WithoutPrice-
    ErrorThresholds(1/2, 100, MAX, MAX, MAX).wheatReceive: wheatValue = 100 < sheepValue, n <= d, so
    S = floor(100/2) = 50 and W = ceil(50*2/1) = 100. Available 50 < 100: UNDERFUNDED
    (ManageOfferOpFrameBase.cpp:195-203), nothing crosses."""
    L = cr.Ledger(protocol=23)
    L.set_account("t", 100_000_000)
    L.set_trustline("t", BASE, 50, 10**15)
    L.set_trustline("t", CTR, 0, 10**15)
    L.add_offer("s", 1, CTR, BASE, 10**9, 1, 1)
    assert cr.offer_liabilities((1, 2), 100) == (100, 50)
    r = cr.manage_sell_offer(L, "t", BASE, CTR, 100, 1, 2)
    assert r.code == "MANAGE_SELL_OFFER_UNDERFUNDED" and r.hops == () and r.ledger == L
    # with 100 BASE the same offer crosses: 100 BASE for 100 CTR at the bid's 1/1
    L.trustlines[("t", BASE)].balance = 100
    r = cr.manage_sell_offer(L, "t", BASE, CTR, 100, 1, 2)
    assert r.code == "MANAGE_SELL_OFFER_SUCCESS" and (r.sent, r.received) == (100, 100)
    assert r.offer_effect == cr.MANAGE_OFFER_DELETED


def test_line_full_checked_against_buying_liabilities_before_crossing():
    """LINE_FULL (ManageOfferOpFrameBase.cpp:170-178): the new offer's buying liabilities (50 CTR
    for selling 100 BASE at 1/2) must fit in limit - balance - buying liabilities, here 49."""
    L = cr.Ledger(protocol=23)
    L.set_account("t", 100_000_000)
    L.set_trustline("t", BASE, 100, 10**15)
    L.set_trustline("t", CTR, 0, 49)
    L.add_offer("s", 1, CTR, BASE, 10**9, 1, 1)
    assert cr.manage_sell_offer(L, "t", BASE, CTR, 100, 1, 2).code == "MANAGE_SELL_OFFER_LINE_FULL"
    L.trustlines[("t", CTR)].limit = 50
    r = cr.manage_sell_offer(L, "t", BASE, CTR, 100, 1, 2)
    # maxWheatReceive = 50 caps the crossing: exchangeV10(1/1, 10^9, 50, 100, MAX) keeps the bid
    # (wheat stays), 50 CTR for 50 BASE, and the walk ends eOK, so no offer is left (l.391-392,
    # 478-481) although 50 BASE of the 100 were not sold.
    assert r.code == "MANAGE_SELL_OFFER_SUCCESS" and (r.sent, r.received) == (50, 50)
    assert r.hops[0].result == cr.eOK and r.offer_effect == cr.MANAGE_OFFER_DELETED


def test_strict_send_crossing_an_offer_adjusted_to_zero_is_where_core_throws():
    """An offer of 29 at 3/2 adjusts to 0 (ExchangeTests.cpp: adjustOffer(3/2, 29, MAX) == 0).
    crossOfferV10 adjusts it first, exchangeV10 then gives W = S = 0 and, for strict send,
    applyPriceErrorThresholds throws "invalid amount of sheep sent" (OfferExchange.cpp:760-763).
    For strict receive the same offer is removed with a 0/0 claim and the walk goes on."""
    L = cr.Ledger(protocol=23)
    L.add_offer("s1", 1, BASE, CTR, 29, 3, 2)
    L.add_offer("s2", 2, BASE, CTR, 1000, 2, 1)
    with pytest.raises(cr.CoreWouldThrow) as e:
        cr.path_payment_strict_send(L, "t", CTR, 100, "t", BASE, 1)
    assert e.value.message == "invalid amount of sheep sent"
    r = cr.path_payment_strict_receive(L, "t", CTR, M, "t", BASE, 10)
    assert r.code == "PATH_PAYMENT_STRICT_RECEIVE_SUCCESS"
    assert [(c.offer_id, c.amount_sold, c.amount_bought) for c in r.claims] == [(1, 0, 0), (2, 10, 20)]
    assert 1 not in r.ledger.offers


def test_remainder_of_a_partly_taken_offer_is_adjusted_again():
    """crossOfferV10 re-runs adjustOffer on what stays (OfferExchange.cpp:1195-1199). 55 at 3/2 is a
    valid offer; taking 28 (for ceil(28*3/2) = 42) leaves 27, and adjustOffer(3/2, 27, MAX) = 0
    (ExchangeTests.cpp "Thresholds"), so the offer is gone rather than left with 27."""
    assert cr.adjust_offer((3, 2), 55, M) == 55 and cr.adjust_offer((3, 2), 27, M) == 0
    L = cr.Ledger(protocol=23)
    L.set_account("mk", 10**10, num_sub_entries=3)
    L.set_trustline("mk", A, 55, 10**9)
    L.set_trustline("mk", B, 0, 10**9)
    L.place_offer("mk", 1, A, B, 55, 3, 2)
    r = cr.path_payment_strict_receive(L, "t", B, M, "t", A, 28)
    assert r.success and [(c.amount_sold, c.amount_bought) for c in r.claims] == [(28, 42)]
    assert r.ledger.offers == {}
    mk_a = r.ledger.trustlines[("mk", A)]
    assert (mk_a.balance, mk_a.selling_liabilities, r.ledger.accounts["mk"].num_sub_entries) == (27, 0, 3)
    cr.check_invariants(r.ledger, L)
    r = cr.path_payment_strict_receive(L, "t", B, M, "t", A, 26)  # leaves 29: also adjusted to 0
    assert r.ledger.offers == {}
    r = cr.path_payment_strict_receive(L, "t", B, M, "t", A, 5)  # leaves 50: stays whole
    assert r.ledger.offers[1].amount == 50 and r.ledger.trustlines[("mk", A)].selling_liabilities == 50


def test_add_balance_keeps_reserves_liabilities_and_limits():
    """addBalance (TransactionUtils.cpp:591-643), the guard under every balance change: native may
    not fall below minBalance + selling liabilities nor rise above INT64_MAX - buying liabilities;
    a trust line stays within [selling liabilities, limit - buying liabilities]. The operations
    check availability first, so through them a failure here is a core exception."""
    L = cr.Ledger(protocol=23)
    br = L.base_reserve
    L.set_account("a", 2 * br + 100, selling_liabilities=60, buying_liabilities=5)
    L.set_trustline("a", A, 100, 1000, selling_liabilities=30, buying_liabilities=800)
    native, line = cr.load_line(L, "a", cr.NATIVE), cr.load_line(L, "a", A)
    assert native.get_available_balance() == 40 and line.get_available_balance() == 70
    assert line.get_max_amount_receive() == 100
    assert not native.add_balance(-41) and native.add_balance(-40) and L.accounts["a"].balance == 2 * br + 60
    assert not native.add_balance(M - L.accounts["a"].balance - 4)
    assert not line.add_balance(-71) and not line.add_balance(101)
    assert line.add_balance(100) and line.add_balance(-170) and L.trustlines[("a", A)].balance == 30


# ---------------------------------------------------------------------------------------------
# ManageOffer behaviour
# ---------------------------------------------------------------------------------------------


def _maker_taker(protocol: int = 23) -> cr.Ledger:
    L = cr.Ledger(protocol=protocol)
    for a in ("mk", "t"):
        L.set_account(a, 10**10)
        L.set_trustline(a, BASE, 10**6, 10**9)
        L.set_trustline(a, CTR, 10**6, 10**9)
    return L


def test_manage_sell_creates_the_remainder_with_liabilities_and_a_new_id():
    L = _maker_taker()
    L.id_pool = 41
    assert L.place_offer("mk", 7, CTR, BASE, 300, 1, 1) is not None  # sells 300 CTR at 1 BASE each
    r = cr.manage_sell_offer(L, "t", BASE, CTR, 1000, 1, 1)
    assert r.code == "MANAGE_SELL_OFFER_SUCCESS" and (r.sent, r.received) == (300, 300)
    assert r.offer_effect == cr.MANAGE_OFFER_CREATED
    assert (r.offer.offer_id, r.offer.amount, r.offer.price) == (42, 700, (1, 1))
    t_base = r.ledger.trustlines[("t", BASE)]
    assert (t_base.balance, t_base.selling_liabilities) == (10**6 - 300, 700)
    assert r.ledger.trustlines[("t", CTR)].buying_liabilities == 700
    assert r.ledger.accounts["t"].num_sub_entries == 1 and r.ledger.accounts["mk"].num_sub_entries == 0
    cr.check_invariants(r.ledger, L)


def test_manage_offer_cross_self_passive_and_price_limit():
    L = _maker_taker()
    L.place_offer("t", 1, CTR, BASE, 100, 1, 1)
    assert cr.manage_sell_offer(L, "t", BASE, CTR, 50, 1, 1).code == "MANAGE_SELL_OFFER_CROSS_SELF"
    L = _maker_taker()
    L.place_offer("mk", 1, CTR, BASE, 100, 2, 1)  # 2 BASE per CTR
    # passive at exactly the opposite price does not cross (o.price >= maxWheatPrice, l.366)
    r = cr.create_passive_sell_offer(L, "t", BASE, CTR, 50, 1, 2)
    assert r.success and r.claims == () and r.offer.passive and r.offer.amount == 50
    # a normal offer at that price crosses (only o.price > maxWheatPrice stops it)
    r = cr.manage_sell_offer(L, "t", BASE, CTR, 50, 1, 2)
    assert r.success and [(c.amount_sold, c.amount_bought) for c in r.claims] == [(25, 50)]
    # a worse limit stops before the offer: eFilterStopBadPrice, everything rests
    r = cr.manage_sell_offer(L, "t", BASE, CTR, 50, 2, 3)
    assert r.success and r.claims == () and r.offer.amount == 50


def test_manage_buy_offer_buys_exactly_and_stores_the_inverse_price():
    L = _maker_taker()
    L.place_offer("mk", 1, CTR, BASE, 1000, 3, 2)  # sells CTR at 1.5 BASE
    r = cr.manage_buy_offer(L, "t", BASE, CTR, 100, 3, 2)  # buy 100 CTR paying <= 1.5 BASE each
    assert r.code == "MANAGE_BUY_OFFER_SUCCESS" and (r.sent, r.received) == (150, 100)
    assert r.offer_effect == cr.MANAGE_OFFER_DELETED
    r = cr.manage_buy_offer(L, "t", BASE, CTR, 2000, 3, 2)  # more than the book has: the rest rests
    assert r.received == 1000 and r.offer.price == (2, 3) and r.offer.selling == BASE
    # the rest is a sell offer of BASE worth 1000 CTR at 2/3: adjustOffer(2/3, BASE left, 1000)
    assert r.offer.amount == cr.adjust_offer((2, 3), 10**6 - 1500, 1000) == 1500


def test_update_releases_liabilities_first_and_delete_frees_the_subentry():
    """ManageOfferOpFrameBase.cpp:248-285: the existing offer's liabilities are released before the
    checks, so an update may use the funds the old offer reserved; amount 0 deletes it and removes
    its subentry (l.544-556)."""
    L = _maker_taker()
    L.trustlines[("t", BASE)].balance = 100
    L.place_offer("t", 5, BASE, CTR, 100, 1, 1)
    assert cr.manage_sell_offer(L, "t", BASE, CTR, 100, 1, 1).code == "MANAGE_SELL_OFFER_UNDERFUNDED"
    r = cr.manage_sell_offer(L, "t", BASE, CTR, 100, 2, 1, offer_id=5)
    assert r.code == "MANAGE_SELL_OFFER_SUCCESS" and r.offer_effect == cr.MANAGE_OFFER_UPDATED
    assert (r.offer.offer_id, r.offer.price) == (5, (2, 1))
    assert r.ledger.trustlines[("t", CTR)].buying_liabilities == 200
    r2 = cr.manage_sell_offer(r.ledger, "t", BASE, CTR, 0, 2, 1, offer_id=5)
    assert r2.offer_effect == cr.MANAGE_OFFER_DELETED and 5 not in r2.ledger.offers
    assert r2.ledger.accounts["t"].num_sub_entries == 0
    assert r2.ledger.trustlines[("t", BASE)].selling_liabilities == 0
    assert cr.manage_sell_offer(L, "mk", BASE, CTR, 0, 1, 1, offer_id=5).code == "MANAGE_SELL_OFFER_NOT_FOUND"


def test_new_offer_needs_a_base_reserve():
    """canCreateEntryWithoutSponsorship (SponsorshipUtils.cpp:475-517): available native balance
    must cover one base reserve for the new offer."""
    L = _maker_taker()
    L.accounts["t"].balance = 2 * L.base_reserve + L.base_reserve - 1  # min balance of 0 subentries + 1 reserve - 1
    assert cr.manage_sell_offer(L, "t", BASE, CTR, 10, 1, 1).code == "MANAGE_SELL_OFFER_LOW_RESERVE"
    L.accounts["t"].balance += 1
    assert cr.manage_sell_offer(L, "t", BASE, CTR, 10, 1, 1).code == "MANAGE_SELL_OFFER_SUCCESS"


# ---------------------------------------------------------------------------------------------
# sellers with tight balances and trust limits
# ---------------------------------------------------------------------------------------------


def test_tight_seller_balance_is_spent_exactly_and_liabilities_return_to_zero():
    """A seller whose balance and trust limit exactly back its two offers (600 at 1/1 and 400 at 2/1:
    selling liabilities 1000 = balance, buying liabilities 600 + 800 = limit)."""
    base, ctr = "BASE:iss", "CTR:iss"
    L = cr.Ledger(protocol=23, unknown_accounts_funded=False)
    L.set_account("iss", 10**10)
    L.set_account("mk", 10**10)
    L.set_trustline("mk", base, 1000, 1000)
    L.set_trustline("mk", ctr, 0, 1400)
    L.set_account("t", 10**10)
    L.set_trustline("t", base, 0, 10**9)
    L.set_trustline("t", ctr, 10**6, 10**9)
    assert L.place_offer("mk", 1, base, ctr, 600, 1, 1).amount == 600
    assert L.place_offer("mk", 2, base, ctr, 400, 2, 1).amount == 400
    assert L.place_offer("mk", 3, base, ctr, 1, 1, 1) is None  # nothing left to back a third offer
    mk_b = L.trustlines[("mk", base)]
    assert (mk_b.selling_liabilities, L.trustlines[("mk", ctr)].buying_liabilities) == (1000, 1400)
    cr.check_invariants(L)
    r = cr.path_payment_strict_receive(L, "t", ctr, 10**6, "t", base, 1000)
    assert r.code == "PATH_PAYMENT_STRICT_RECEIVE_SUCCESS" and r.sent == 1400
    mk_b, mk_c = r.ledger.trustlines[("mk", base)], r.ledger.trustlines[("mk", ctr)]
    assert (mk_b.balance, mk_b.selling_liabilities, mk_c.balance, mk_c.buying_liabilities) == (0, 0, 1400, 0)
    assert r.ledger.offers == {} and r.ledger.accounts["mk"].num_sub_entries == 0
    cr.check_invariants(r.ledger, L)
    # one more stroop than the book holds: TOO_FEW_OFFERS (the walk ran out: ePartial)
    r = cr.path_payment_strict_receive(L, "t", ctr, 10**6, "t", base, 1001)
    assert r.code == "PATH_PAYMENT_STRICT_RECEIVE_TOO_FEW_OFFERS" and r.hops[0].result == cr.ePartial
    # a strict send that would need more than the book: the same
    r = cr.path_payment_strict_send(L, "t", ctr, 1401, "t", base, 1)
    assert r.code == "PATH_PAYMENT_STRICT_SEND_TOO_FEW_OFFERS"


def test_native_seller_reserve_is_released_when_its_offer_is_taken():
    """Selling native: canSellAtMost = balance - minBalance - selling liabilities (other offers).
    Taking the offer removes a subentry (removeEntryWithPossibleSponsorship), lowering the minimum."""
    L = cr.Ledger(protocol=23)
    br = L.base_reserve
    L.set_account("mk", (2 + 1) * br + 500)  # reserve for itself and one offer, plus 500 to sell
    L.set_trustline("mk", CTR, 0, 10**9)
    assert L.place_offer("mk", 1, cr.NATIVE, CTR, 10**6, 1, 1).amount == 500
    r = cr.path_payment_strict_send(L, "t", CTR, 500, "t", cr.NATIVE, 500)
    assert r.success and r.received == 500
    acc = r.ledger.accounts["mk"]
    assert (acc.balance, acc.num_sub_entries, acc.selling_liabilities) == (3 * br, 0, 0)
    assert cr.get_min_balance(r.ledger, acc) == 2 * br


def test_native_seller_below_its_reserve_is_where_core_throws():
    """After a base reserve raise (hand-built here) a native seller's balance can sit below its
    minimum balance. Releasing the offer's selling liabilities then fails, because
    addSellingLiabilities allows at most balance - minBalance, which is negative
    (TransactionUtils.cpp:706-712), and acquireOrReleaseLiabilities throws (l.544). Core's upgrade
    code (prepareLiabilities) keeps real ledgers out of this state."""
    L = cr.Ledger(protocol=23)
    br = L.base_reserve
    L.set_account("mk", 3 * br + 500)
    L.set_trustline("mk", CTR, 0, 10**9)
    L.place_offer("mk", 1, cr.NATIVE, CTR, 500, 1, 1)
    assert cr.path_payment_strict_send(L, "t", CTR, 10, "t", cr.NATIVE, 1).success
    L.base_reserve = br + 200  # minimum 3 * (br + 200) > balance
    with pytest.raises(cr.CoreWouldThrow) as e:
        cr.path_payment_strict_send(L, "t", CTR, 10, "t", cr.NATIVE, 1)
    assert e.value.message == "could not add selling liabilities"


def test_taking_a_sponsored_offer_releases_the_sponsorship():
    """removeEntryWithPossibleSponsorship (SponsorshipUtils.cpp:808-847): taking a sponsored offer
    lowers the seller's numSubEntries and numSponsored and the sponsor's numSponsoring. The
    seller's minimum balance never included the sponsored offer (getMinBalance: 2 + numSubEntries
    + numSponsoring - numSponsored = 2 + 2 - 1 reserves), and after the take it is still 3 reserves."""
    L = cr.Ledger(protocol=23)
    br = L.base_reserve
    L.set_account("mk", 3 * br + 700, num_sub_entries=2, num_sponsored=1, selling_liabilities=700)
    L.set_trustline("mk", CTR, 0, 10**9, buying_liabilities=700)
    L.set_account("sp", 10**10, num_sponsoring=1)
    L.add_offer("mk", 1, cr.NATIVE, CTR, 700, 1, 1, sponsor="sp")
    cr.check_invariants(L)
    r = cr.path_payment_strict_receive(L, "t", CTR, 10**6, "t", cr.NATIVE, 700)
    assert r.success and r.sent == 700
    changes = cr.diff(L, r.ledger)
    assert set(changes) == {("accounts", "mk"), ("accounts", "sp"), ("trustlines", ("mk", CTR)), ("offers", 1)}
    mk, sp = r.ledger.accounts["mk"], r.ledger.accounts["sp"]
    assert (mk.balance, mk.num_sub_entries, mk.num_sponsored, mk.selling_liabilities) == (3 * br, 1, 0, 0)
    assert cr.get_min_balance(r.ledger, mk) == 3 * br
    assert sp.num_sponsoring == 0 and changes[("offers", 1)][1] is None
    cr.check_invariants(r.ledger, L)


def test_unfunded_offers_are_adjusted_or_removed_when_crossed():
    """Offers whose seller cannot fund them (possible only in a hand-built ledger): crossOfferV10
    releases the offer's liabilities, then adjustOffer cuts it to canSellAtMost (OfferExchange.cpp:
    1140-1147). Seller s1 holds 50 of the 100 it offers; s2 holds none of its 100."""
    L = cr.Ledger(protocol=23)
    for s, bal in (("s1", 50), ("s2", 0), ("s3", 1000)):
        L.set_account(s, 10**10, num_sub_entries=3)  # two trust lines and one offer
        L.set_trustline(s, BASE, bal, 10**9)
        L.set_trustline(s, CTR, 0, 10**9)
    L.add_offer("s1", 1, BASE, CTR, 100, 1, 1)
    L.add_offer("s2", 2, BASE, CTR, 100, 1, 1)
    L.add_offer("s3", 3, BASE, CTR, 1000, 1, 1)
    L.recompute_liabilities()
    r = cr.path_payment_strict_receive(L, "t", CTR, M, "t", BASE, 200)
    assert r.code == "PATH_PAYMENT_STRICT_RECEIVE_SUCCESS" and r.sent == 200
    assert [(c.offer_id, c.amount_sold, c.amount_bought) for c in r.claims] == [(1, 50, 50), (2, 0, 0), (3, 150, 150)]
    assert set(r.ledger.offers) == {3} and r.ledger.offers[3].amount == 850
    # a strict send reaching the empty offer is where core throws
    with pytest.raises(cr.CoreWouldThrow):
        cr.path_payment_strict_send(L, "t", CTR, 200, "t", BASE, 1)
    # a manage offer (NORMAL) removes it too and carries on
    L.set_account("t", 10**10)
    L.set_trustline("t", BASE, 0, 10**9)
    L.set_trustline("t", CTR, 10**6, 10**9)
    r = cr.manage_sell_offer(L, "t", CTR, BASE, 200, 1, 1)
    assert [(c.offer_id, c.amount_sold) for c in r.claims] == [(1, 50), (2, 0), (3, 150)]


# ---------------------------------------------------------------------------------------------
# pools and the venue choice: core's LiquidityPoolTradeTests.cpp scenarios with their numbers
# ---------------------------------------------------------------------------------------------


def _two_traders() -> World:
    w = World()
    w.create("a1", {CUR1: 10000, CUR2: 10000})
    w.create("a2", {CUR1: 10000, CUR2: 10000})
    return w


@pytest.mark.parametrize("offers,reserves,venue", [
    ([(2, 1, 4), (2, 1, 6)], (1000, 1000), "pool"),  # "pool has strictly better price": 11 vs 20
    ([(1, 1, 1), (2, 1, 9)], (1800, 1000), "pool"),  # "both prices equal": 19 vs 19 -> pool
    ([(2, 1, 4), (2, 1, 6)], (2000, 1000), "book"),  # "book has strictly better price": 20 vs 21
])
def test_chooses_best_price(offers, reserves, venue):
    """LiquidityPoolTradeTests.cpp:58-123: buy 10 CUR2 for CUR1; the book wins only if strictly better
    (shouldConvertWithOffers, OfferExchange.cpp:1643-1651)."""
    w = _two_traders()
    for n, d, amount in offers:
        w.offer("a1", CUR2, CUR1, n, d, amount)
    w.deposit("a1", *reserves)
    r = w.pay("a2", "a2", CUR1, 100, CUR2, 10)
    assert r.success and r.hops[0].venue == venue
    kinds = [c.type for c in r.claims]
    assert kinds == ([cr.CLAIM_ATOM_TYPE_LIQUIDITY_POOL] if venue == "pool" else [cr.CLAIM_ATOM_TYPE_ORDER_BOOK] * 2)
    pool_s, pool_w = r.hops[0].pool_quote
    book_s, book_w = r.hops[0].book_quote[:2]
    assert (pool_w, book_w) == (10, 10) and (pool_s, book_s) == {
        "pool": ((11, 20) if reserves == (1000, 1000) else (19, 19)), "book": (21, 20)}[venue]


def _max_offers_world(protocol: int = 23) -> World:
    """LiquidityPoolTradeTests.cpp:125-160 with TempReduceLimitsForTesting(100, 10)."""
    w = World(protocol=protocol, max_offers=10)
    for a in ("a1", "a2", "a3"):
        w.create(a, {CUR1: 10000, CUR2: 10000, CUR3: 10000})
    for _ in range(5):
        w.offer("a1", CUR3, CUR2, 1, 1, 1)
        w.offer("a2", CUR3, CUR2, 1, 1, 1)
    return w


def test_max_offers_to_cross_book_and_pool():
    w = _max_offers_world()
    w.offer("a1", CUR2, CUR1, 1, 1, 10)
    assert w.pay("a3", "a3", CUR1, 2000, CUR3, 9, [CUR2]).success  # 9 + 1 offers = the limit
    w = _max_offers_world()
    w.offer("a1", CUR2, CUR1, 1, 1, 10)
    assert w.pay("a3", "a1", CUR1, 2000, CUR3, 10, [CUR2]).code == "opEXCEEDED_WORK_LIMIT"
    w = _max_offers_world()
    w.deposit("a1", 100, 2000)
    assert w.pay("a3", "a3", CUR1, 2000, CUR3, 9, [CUR2]).success  # 9 offers + the pool
    # "liquidity pool fails when crossing one above limit": no offers / a self trade / an offer
    w = _max_offers_world()
    w.deposit("a1", 100, 2000)
    assert w.pay("a3", "a3", CUR1, 2000, CUR3, 10, [CUR2]).code == "opEXCEEDED_WORK_LIMIT"
    w.offer("a3", CUR2, CUR1, 1, 1, 10)
    assert w.pay("a3", "a3", CUR1, 2000, CUR3, 10, [CUR2]).code == "opEXCEEDED_WORK_LIMIT"


@pytest.mark.parametrize("protocol", [26, 27])
@pytest.mark.parametrize("extra,kind", [(8, "send"), (9, "send"), (8, "recv"), (9, "recv")])
def test_protocol_27_pool_chosen_after_a_deep_book_walk_counts_the_walk(protocol, extra, kind):
    """Gate V_27 (OfferExchange.cpp:1740-1751), LiquidityPoolTradeTests.cpp:207-271 "liquidity pool
    with deep order book": the book walk of hop CUR1->CUR2 crosses `extra` offers of 1 CUR2 at 2
    before the pool wins. From 27 those offers use the budget (limit 10): 9 is one too many."""
    w = _max_offers_world(protocol)
    w.deposit("a1", 100, 2000)
    w.offer("a1", CUR3, CUR2, 1, 2, 2000)
    for _ in range(extra):
        w.offer("a1", CUR2, CUR1, 2, 1, 1)
    if kind == "send":
        r = w.send("a3", "a3", CUR1, 100, CUR3, 1, [CUR2])
    else:
        r = w.pay("a3", "a3", CUR1, 100, CUR3, 18, [CUR2])
    over = protocol >= 27 and extra == 9
    assert r.code == ("opEXCEEDED_WORK_LIMIT" if over else f"PATH_PAYMENT_STRICT_{'SEND' if kind == 'send' else 'RECEIVE'}_SUCCESS")
    pool_hop = r.hops[0] if kind == "send" else r.hops[1]
    assert pool_hop.pool_quote is not None and pool_hop.book_quote[3] == extra
    if not over:
        assert pool_hop.venue == "pool"
        assert pool_hop.budget_after == (10 - (1 if kind == "recv" else 0) - (extra if protocol >= 27 else 0) - 1)


def test_pool_fee_and_reserve_limits():
    """LiquidityPoolTradeTests.cpp:276-350 "charges the correct fee", "trade fails due to excess reserves"."""
    w = World()
    w.create("a1", {CUR1: 10000})
    w.create("a2", {})
    w.create("mm12", {CUR1: 10000, CUR2: 10000})
    w.deposit("mm12", 1000, 2000)
    assert w.send("a1", "a2", CUR1, 1004, CUR2, 1001).code == "PATH_PAYMENT_STRICT_SEND_UNDER_DESTMIN"
    assert w.pay("a1", "a2", CUR1, 1003, CUR2, 1000).code == "PATH_PAYMENT_STRICT_RECEIVE_OVER_SENDMAX"
    r = w.pay("a1", "a2", CUR1, 1004, CUR2, 1000)
    assert r.success and r.sent == 1004 and w.reserves() == (2004, 1000)
    w = World()
    w.create("a1", {CUR1: 10000})
    w.create("a2", {})
    w.create("mm12", {CUR1: M, CUR2: M})
    w.deposit("mm12", M - 10, M - 10)
    assert w.send("a1", "a2", CUR1, 11, CUR2, 9).code == "PATH_PAYMENT_STRICT_SEND_TOO_FEW_OFFERS"
    assert w.pay("a1", "a2", CUR1, 11, CUR2, 10).code == "PATH_PAYMENT_STRICT_RECEIVE_TOO_FEW_OFFERS"
    assert w.pay("a1", "a2", CUR1, 10, CUR2, 9).success


def test_pools_that_cannot_trade():
    """LiquidityPoolTradeTests.cpp:350-476: empty pools, a pool that yields 0, and "after offer that
    yields nothing": a first hop that sends 1 for 0 makes the next hop convert 0, which always
    succeeds, so the failure is UNDER_DESTMIN, not TOO_FEW_OFFERS."""
    w = World()
    w.create("a1", {CUR1: 10000})
    w.create("a2", {CUR2: 0, CUR3: 0})
    w.L.set_pool(CUR1, CUR2, 0, 0)
    w.L.set_pool(CUR2, CUR3, 0, 0)
    assert w.send("a1", "a2", CUR1, 100, CUR2, 1).code == "PATH_PAYMENT_STRICT_SEND_TOO_FEW_OFFERS"
    assert w.send("a1", "a2", CUR1, 100, CUR3, 1, [CUR2]).code == "PATH_PAYMENT_STRICT_SEND_TOO_FEW_OFFERS"
    assert w.pay("a1", "a2", CUR1, M, CUR2, 100).code == "PATH_PAYMENT_STRICT_RECEIVE_TOO_FEW_OFFERS"
    assert w.pay("a1", "a2", CUR1, M, CUR3, 100, [CUR2]).code == "PATH_PAYMENT_STRICT_RECEIVE_TOO_FEW_OFFERS"
    w.L.set_pool(CUR1, CUR2, 1000, 1000)
    assert w.send("a1", "a2", CUR1, 1, CUR2, 1).code == "PATH_PAYMENT_STRICT_SEND_TOO_FEW_OFFERS"
    w = World()
    w.create("a1", {CUR1: 10000})
    w.create("a2", {})
    w.create("mm12", {CUR1: 10000, CUR2: 10000})
    w.offer("mm12", CUR2, CUR1, 2, 1, 10)
    w.L.set_pool(CUR2, CUR3, 100, 100)
    r = w.send("a1", "a2", CUR1, 1, CUR2, 1)
    assert r.code == "PATH_PAYMENT_STRICT_SEND_UNDER_DESTMIN" and (r.sent, r.received) == (1, 0)
    r = w.send("a1", "a2", CUR1, 1, CUR3, 1, [CUR2])
    assert r.code == "PATH_PAYMENT_STRICT_SEND_UNDER_DESTMIN"
    assert [(h.amount_send, h.amount_recv, h.venue) for h in r.hops] == [(1, 0, "book"), (0, 0, "book")]


@pytest.mark.parametrize("who", ["sender", "destination", "market maker"])
@pytest.mark.parametrize("kind", ["send", "recv"])
def test_pool_with_participants(who, kind):
    """LiquidityPoolTradeTests.cpp:478-563: 10 CUR1 -> 9 CUR2 through a 1000/1000 pool leaves
    1010/991 whoever deposited; with the market maker's offer at 10/9 the book ties (9 for 10) and
    the pool wins."""
    w = World()
    w.create("a1", {CUR1: 10000, CUR2: 10000} if who == "sender" else {CUR1: 10000})
    w.create("a2", {CUR1: 10000, CUR2: 10000} if who == "destination" else {})
    depositor = {"sender": "a1", "destination": "a2", "market maker": "mm12"}[who]
    if who == "market maker":
        w.create("mm12", {CUR1: 10000, CUR2: 10000})
        w.offer("mm12", CUR2, CUR1, 10, 9, 10)
    w.deposit(depositor, 1000, 1000)
    r = w.send("a1", "a2", CUR1, 10, CUR2, 9) if kind == "send" else w.pay("a1", "a2", CUR1, 10, CUR2, 9)
    assert r.success and w.reserves() == (1010, 991)


@pytest.mark.parametrize("kind", ["send", "recv"])
def test_book_better_but_self_trade_falls_back_to_pool(kind):
    """LiquidityPoolTradeTests.cpp:565-619: the book walk stops on the source's own offer
    (eFilterStopCrossSelf != eOK), so the pool is used and there is no CROSS_SELF."""
    for self_trade in (False, True):
        w = World()
        w.create("a1", {CUR1: 10000, CUR2: 10000})
        w.create("a2", {})
        w.create("mm12", {CUR1: 10000, CUR2: 10000})
        w.deposit("a1", 1000, 1000)
        w.offer("a1" if self_trade else "mm12", CUR2, CUR1, 1, 1, 10)
        r = w.send("a1", "a2", CUR1, 10, CUR2, 9) if kind == "send" else w.pay("a1", "a2", CUR1, 10, CUR2, 9)
        assert r.success
        assert r.hops[0].book_quote[2] == (cr.eFilterStopCrossSelf if self_trade else cr.eOK)
        assert w.reserves() == ((1010, 991) if self_trade else (1000, 1000))
    # without a pool the same self trade is OFFER_CROSS_SELF
    w = World()
    w.create("a1", {CUR1: 10000, CUR2: 10000})
    w.create("a2", {})
    w.offer("a1", CUR2, CUR1, 1, 1, 10)
    r = w.send("a1", "a2", CUR1, 10, CUR2, 9) if kind == "send" else w.pay("a1", "a2", CUR1, 10, CUR2, 9)
    assert r.code.endswith("_OFFER_CROSS_SELF")


def test_pool_receive_limits():
    """LiquidityPoolTradeTests.cpp:621-683: a strict receive of the whole reserve (or more) fails;
    999 of 1000 costs 1002007; an input above INT64_MAX fails (hugeDivide overflows)."""
    w = World()
    w.create("a1", {CUR1: M})
    w.create("a2", {})
    w.create("mm12", {CUR1: 10000, CUR2: 10000})
    w.deposit("mm12", 1000, 1000)
    assert w.pay("a1", "a2", CUR1, M, CUR2, 1001).code == "PATH_PAYMENT_STRICT_RECEIVE_TOO_FEW_OFFERS"
    assert w.pay("a1", "a2", CUR1, M, CUR2, 1000).code == "PATH_PAYMENT_STRICT_RECEIVE_TOO_FEW_OFFERS"
    assert w.pay("a1", "a2", CUR1, M, CUR2, 999).success and w.reserves() == (1003007, 1)
    w = World()
    w.create("a1", {CUR1: M})
    w.create("a2", {})
    w.create("mm12", {CUR1: M // 2, CUR2: M // 2})
    w.deposit("mm12", M // 2, M // 2)
    assert w.pay("a1", "a2", CUR1, M, CUR2, M // 2 - 1).code == "PATH_PAYMENT_STRICT_RECEIVE_TOO_FEW_OFFERS"


def _same_pair_twice(offer=None, reserves=(1000, 2000)) -> World:
    """LiquidityPoolTradeTests.cpp:685-715: path CUR1 -> CUR2 -> CUR3 -> CUR1 -> CUR2 crosses the
    CUR1/CUR2 pair twice; mm23 and mm31 make the middle hops 1/1."""
    w = World()
    w.create("a1", {CUR1: 10000})
    w.create("a2", {})
    w.create("mm12", {CUR1: 10000, CUR2: 10000})
    w.create("mm23", {CUR2: 10000, CUR3: 10000})
    w.create("mm31", {CUR1: 10000, CUR3: 10000})
    w.offer("mm23", CUR3, CUR2, 1, 1, 1000)
    w.offer("mm31", CUR1, CUR3, 1, 1, 1000)
    if offer:
        w.offer("mm12", CUR2, CUR1, *offer)
    if reserves:
        w.deposit("mm12", *reserves)
    return w


PATH3 = [CUR2, CUR3, CUR1]


@pytest.mark.parametrize("offer,dest_ok,send_reserves,recv_amount,send_max_ok,recv_reserves", [
    ((1, 1, 1000), 256, (1281, 1563), 256, 107, (1255, 1596)),  # "liquidity pool both times"
    ((11, 20, 1000), 329, (1100, 1819), 329, 100, (1100, 1819)),  # "prefers liquidity pool on first hop"
    ((100, 181, 1000), 327, (1100, 1819), 327, 100, (1100, 1819)),  # "indifferent on first hop"
    ((1, 2, 350), 332, (1200, 1668), 332, 91, (1091, 1834)),  # "prefers order book on first hop"
    ((1, 2, 1000), 400, (1000, 2000), 400, 100, (1000, 2000)),  # "order book both times"
])
def test_same_pair_twice_in_one_path(offer, dest_ok, send_reserves, recv_amount, send_max_ok, recv_reserves):
    """LiquidityPoolTradeTests.cpp:717-991, each section's two boundaries and the pool afterwards."""
    w = _same_pair_twice(offer)
    assert w.send("a1", "a2", CUR1, 100, CUR2, dest_ok + 1, PATH3).code == "PATH_PAYMENT_STRICT_SEND_UNDER_DESTMIN"
    r = w.send("a1", "a2", CUR1, 100, CUR2, dest_ok, PATH3)
    assert r.success and r.received == dest_ok and w.reserves() == send_reserves
    w = _same_pair_twice(offer)
    r = w.pay("a1", "a2", CUR1, send_max_ok - 1, CUR2, recv_amount, PATH3)
    assert r.code == "PATH_PAYMENT_STRICT_RECEIVE_OVER_SENDMAX" and r.sent == send_max_ok
    r = w.pay("a1", "a2", CUR1, send_max_ok, CUR2, recv_amount, PATH3)
    assert r.success and w.reserves() == recv_reserves


def test_same_pair_twice_fails_on_the_second_hop():
    """LiquidityPoolTradeTests.cpp:762-815."""
    w = _same_pair_twice(reserves=None)
    w.L.trustlines[("mm12", CUR1)].balance = M
    w.L.trustlines[("mm12", CUR2)].balance = M
    w.deposit("mm12", M - 1000, M - 1000)
    assert w.send("a1", "a2", CUR1, 502, CUR2, 1, PATH3).code == "PATH_PAYMENT_STRICT_SEND_TOO_FEW_OFFERS"
    assert w.send("a1", "a2", CUR1, 501, CUR2, 1, PATH3).success
    assert w.reserves() == (M, M - 1996)
    w = _same_pair_twice(reserves=(1000, 2000))
    w.L.trustlines[("a1", CUR1)].balance = M
    assert w.pay("a1", "a2", CUR1, M, CUR2, 999, PATH3).code == "PATH_PAYMENT_STRICT_RECEIVE_TOO_FEW_OFFERS"
    assert w.pay("a1", "a2", CUR1, M, CUR2, 998, PATH3).success and w.reserves() == (1005010, 2)


def test_same_pair_twice_in_opposite_directions():
    """LiquidityPoolTradeTests.cpp:993-1046."""
    for kind in ("send", "recv"):
        w = World()
        w.create("a1", {CUR1: 10000})
        w.create("a2", {CUR1: 0})
        w.create("mm12", {CUR1: 10000, CUR2: 10000})
        w.deposit("mm12", 1000, 2000)
        if kind == "send":
            assert w.send("a1", "a2", CUR1, 100, CUR1, 100, [CUR2]).code == "PATH_PAYMENT_STRICT_SEND_UNDER_DESTMIN"
            assert w.send("a1", "a2", CUR1, 100, CUR1, 99, [CUR2]).success
        else:
            assert w.pay("a1", "a2", CUR1, 100, CUR1, 100, [CUR2]).code == "PATH_PAYMENT_STRICT_RECEIVE_OVER_SENDMAX"
            assert w.pay("a1", "a2", CUR1, 100, CUR1, 99, [CUR2]).success
        assert w.reserves() == (1001, 2000)


def test_pool_trading_disabled_flag():
    """isPoolTradingDisabled (OfferExchange.cpp:1396-1399): the header flag turns pools off."""
    w = World()
    w.create("a1", {CUR1: 10000})
    w.create("a2", {})
    w.L.set_pool(CUR1, CUR2, 1000, 1000)
    assert w.send("a1", "a2", CUR1, 10, CUR2, 9).success
    w.L.pool_trading_disabled = True
    assert w.send("a1", "a2", CUR1, 10, CUR2, 9).code == "PATH_PAYMENT_STRICT_SEND_TOO_FEW_OFFERS"


def test_venue_book_incomplete_goes_to_pool_strict_send():
    """Strict send 1000 CUR1: the book has only 300 CUR2 at 1/1 (walk ends ePartial), so the pool takes
    the whole hop (a hop is never split): floor(9970*10^6*1000 / (10^4*10^6 + 9970*1000)) = 996."""
    w = World()
    w.create("a1", {CUR1: 10000})
    w.create("a2", {})
    w.create("mm12", {CUR1: 10000, CUR2: 10000})
    w.offer("mm12", CUR2, CUR1, 1, 1, 300)
    w.L.set_pool(CUR1, CUR2, 10**6, 10**6)
    r = w.send("a1", "a2", CUR1, 1000, CUR2, 1)
    assert r.success and r.received == 996 and r.hops[0].venue == "pool"
    assert r.hops[0].book_quote == (300, 300, cr.ePartial, 1)
    assert [o.amount for o in w.L.offers.values()] == [300]  # the book walk was rolled back


# ---------------------------------------------------------------------------------------------
# the per-operation budget across path hops (MAX_OFFERS_TO_CROSS = 1000)
# ---------------------------------------------------------------------------------------------
A, B, C = "AAA:GISS", "BBB:GISS", "CCC:GISS"


def _deep_books(first: int, second: int, big_last: bool) -> cr.Ledger:
    """`first` offers of 1 B for 1 A, then `second` offers of 1 C for 1 B (unknown, funded sellers);
    with big_last the last B->C offer is large."""
    L = cr.Ledger(protocol=23)
    oid = 0
    for i in range(first):
        oid += 1
        L.add_offer(f"s{oid}", oid, B, A, 1, 1, 1)
    for i in range(second):
        oid += 1
        L.add_offer(f"s{oid}", oid, C, B, 10**6 if big_last and i == second - 1 else 1, 1, 1)
    return L


def test_budget_is_shared_across_hops_strict_send():
    """Hop A->B crosses 600 offers, leaving 400 of the 1000 for hop B->C (convertWithOffersAndPools
    decrements maxOffersToCross, OfferExchange.cpp:1737). 400 offers fit exactly; a 401st is
    len(trail) >= maxOffersToCross (l.1566) -> opEXCEEDED_WORK_LIMIT."""
    r = cr.path_payment_strict_send(_deep_books(600, 400, True), "t", A, 600, "t", C, 1, [B])
    assert r.success and r.received == 600 and len(r.claims) == 1000
    assert [h.budget_after for h in r.hops] == [400, 0]
    r = cr.path_payment_strict_send(_deep_books(600, 401, True), "t", A, 600, "t", C, 1, [B])
    assert r.code == "opEXCEEDED_WORK_LIMIT" and r.hops[1].book_quote[3] == 400


def test_budget_is_shared_across_hops_strict_receive():
    """Strict receive walks from the destination: hop B->C first, then A->B. Receiving 500 C crosses
    500 + 500 offers (the whole budget); 501 leaves 499 for the second hop, which needs 501."""
    r = cr.path_payment_strict_receive(_deep_books(600, 600, False), "t", A, M, "t", C, 500, [B])
    assert r.success and r.sent == 500 and [h.budget_after for h in r.hops] == [500, 0]
    # result offers are in path order (inserted in front, PathPaymentStrictReceiveOpFrame.cpp:124-127)
    assert [c.asset_bought for c in r.claims] == [A] * 500 + [B] * 500
    assert [c.offer_id for c in r.claims[:2]] == [1, 2] and r.claims[500].offer_id == 601
    r = cr.path_payment_strict_receive(_deep_books(600, 600, False), "t", A, M, "t", C, 501, [B])
    assert r.code == "opEXCEEDED_WORK_LIMIT" and r.hops[1].book_quote[3] == 499


P = [f"P{i}:GISS" for i in range(7)]


def _chain() -> cr.Ledger:
    """For each hop P[i] -> P[i+1]: 1000 of P[i+1] at 1/1, then 1000 at 2/1 (unknown sellers)."""
    L = cr.Ledger(protocol=23)
    for i in range(6):
        L.add_offer(f"s{i}a", 2 * i + 1, P[i + 1], P[i], 1000, 1, 1)
        L.add_offer(f"s{i}b", 2 * i + 2, P[i + 1], P[i], 1000, 2, 1)
    return L


def test_six_hop_path_payments():
    """Five intermediate assets (the XDR maximum). Strict send 1500 P0: each hop takes 1000 at 1/1
    and pays the rest at 2/1 to the offer that stays (W = floor(rest/2), S = rest): 1500 -> 1250 ->
    1125 -> 1062 -> 1031 -> 1015 -> 1007. Strict receive 1007 P6 walks back: the last hop buys 7 at
    2/1 for ceil(7*2) = 14, so 1014 P5, then 1028, 1056, 1112, 1224, 1448 P0."""
    r = cr.path_payment_strict_send(_chain(), "t", P[0], 1500, "t", P[6], 1, P[1:6])
    assert r.success and r.received == 1007
    assert [h.amount_recv for h in r.hops] == [1250, 1125, 1062, 1031, 1015, 1007]
    assert len(r.claims) == 12 and r.hops[-1].budget_after == 988
    r2 = cr.path_payment_strict_receive(_chain(), "t", P[0], M, "t", P[6], 1007, P[1:6])
    assert r2.success and r2.sent == 1448
    assert [h.amount_send for h in r2.hops] == [1014, 1028, 1056, 1112, 1224, 1448]
    assert [c.asset_bought for c in r2.claims] == [P[i] for i in range(6) for _ in (0, 1)]  # path order
    # a repeated neighbour is skipped (recvAsset == sendAsset: continue)
    r3 = cr.path_payment_strict_send(_chain(), "t", P[0], 1500, "t", P[2], 1, [P[1], P[1]])
    assert r3.success and r3.received == 1125 and len(r3.hops) == 2
    with pytest.raises(ValueError):
        cr.path_payment_strict_send(_chain(), "t", P[0], 1500, "t", P[6], 1, P[1:6] + [P[5]])


# ---------------------------------------------------------------------------------------------
# one test per protocol gate
# ---------------------------------------------------------------------------------------------


def test_gate_v11_budget_for_manage_offer_and_strict_receive():
    """FIRST_PROTOCOL_SUPPORTING_OPERATION_LIMITS = V_11 (TransactionUtils.h:84-85;
    ManageOfferOpFrameBase.cpp:348-354; PathPaymentStrictReceiveOpFrame.cpp:92-97). With a
    budget of 2 (as TempReduceLimitsForTesting does), crossing 3 offers is fine before 11."""
    for protocol, ok in ((10, True), (11, False)):
        L = _maker_taker(protocol)
        L.max_offers_to_cross = 2
        for i in (1, 2, 3):
            L.place_offer("mk", i, CTR, BASE, 10, 1, 1)
        r = cr.manage_sell_offer(L, "t", BASE, CTR, 30, 1, 1)
        assert r.code == ("MANAGE_SELL_OFFER_SUCCESS" if ok else "opEXCEEDED_WORK_LIMIT")
        r = cr.path_payment_strict_receive(L, "t", BASE, 100, "t", CTR, 30)
        assert r.code == ("PATH_PAYMENT_STRICT_RECEIVE_SUCCESS" if ok else "opEXCEEDED_WORK_LIMIT")


def test_gate_v11_manage_buy_offer_exists():
    """ManageBuyOfferOpFrame::isOpSupported (ManageBuyOfferOpFrame.cpp:33-38)."""
    assert cr.manage_buy_offer(_maker_taker(10), "t", BASE, CTR, 10, 1, 1).code == "opNOT_SUPPORTED"
    assert cr.manage_buy_offer(_maker_taker(11), "t", BASE, CTR, 10, 1, 1).code == "MANAGE_BUY_OFFER_SUCCESS"


def test_gate_v11_delete_offer_zero():
    """ManageOfferOpFrameBase.cpp:620-633."""
    assert cr.manage_sell_offer(_maker_taker(10), "t", BASE, CTR, 0, 1, 1).code == "MANAGE_SELL_OFFER_NOT_FOUND"
    assert cr.manage_sell_offer(_maker_taker(11), "t", BASE, CTR, 0, 1, 1).code == "MANAGE_SELL_OFFER_MALFORMED"


def test_gate_v11_native_destination_overflow():
    """PathPaymentOpFrameBase.cpp:251-264: LINE_FULL from 11, MALFORMED before."""
    for protocol, code in ((10, "MALFORMED"), (11, "LINE_FULL")):
        L = cr.Ledger(protocol=protocol)
        L.set_account("d", M - 5)
        r = cr.path_payment_strict_receive(L, "s", cr.NATIVE, 100, "d", cr.NATIVE, 10)
        assert r.code == "PATH_PAYMENT_STRICT_RECEIVE_" + code


def test_gate_v11_subentry_limit():
    """tooManyNumSubEntries (SponsorshipUtils.cpp:44-56): 1000 subentries is the limit from 11."""
    for protocol, code in ((10, "MANAGE_SELL_OFFER_SUCCESS"), (11, "opTOO_MANY_SUBENTRIES")):
        L = _maker_taker(protocol)
        L.accounts["t"].num_sub_entries = 1000
        L.accounts["t"].balance = 10**12
        assert cr.manage_sell_offer(L, "t", BASE, CTR, 10, 1, 1).code == code


def test_gate_v12_strict_send_exists():
    """PathPaymentStrictSendOpFrame::isOpSupported (l.26-31)."""
    L = cr.Ledger(protocol=11)
    assert cr.path_payment_strict_send(L, "s", cr.NATIVE, 10, "d", cr.NATIVE, 1).code == "opNOT_SUPPORTED"
    L = cr.Ledger(protocol=12)
    assert cr.path_payment_strict_send(L, "s", cr.NATIVE, 10, "d", cr.NATIVE, 1).code == "PATH_PAYMENT_STRICT_SEND_SUCCESS"


def test_gate_v13_issuer_must_exist_before():
    """checkOfferValid (ManageOfferOpFrameBase.cpp:51-59) and checkIssuer (PathPaymentOpFrameBase.cpp:
    76-91): before 13 a missing issuer account is SELL_NO_ISSUER / NO_ISSUER."""
    for protocol in (12, 13):
        L = cr.Ledger(protocol=protocol, unknown_accounts_funded=False)
        L.set_account("t", 10**10)
        L.set_trustline("t", BASE, 100, 10**9)  # BASE's issuer GISSUER does not exist
        r = cr.manage_sell_offer(L, "t", BASE, cr.NATIVE, 10, 1, 1)
        assert r.code == ("MANAGE_SELL_OFFER_SELL_NO_ISSUER" if protocol < 13 else "MANAGE_SELL_OFFER_SUCCESS")
        r = cr.path_payment_strict_send(L, "t", cr.NATIVE, 10, "t", BASE, 1)
        assert r.code == ("PATH_PAYMENT_STRICT_SEND_NO_ISSUER" if protocol < 13 else "PATH_PAYMENT_STRICT_SEND_TOO_FEW_OFFERS")


def test_gate_v14_sponsorship_counts_in_the_minimum_balance():
    """getMinBalance (TransactionUtils.cpp:870-884): numSponsoring/numSponsored count from 14.
    An account sponsoring 2 entries with native for its minimum (2 reserves before 14), one new offer
    and 100 to sell: fine at 13; at 14 its minimum is 4 reserves, the new offer's reserve does not
    fit: LOW_RESERVE. With 2 more reserves it sells exactly 100 at 14 (101 is UNDERFUNDED)."""
    for protocol, code in ((13, "MANAGE_SELL_OFFER_SUCCESS"), (14, "MANAGE_SELL_OFFER_LOW_RESERVE")):
        L = _maker_taker(protocol)
        br = L.base_reserve
        L.accounts["t"].num_sponsoring = 2
        L.accounts["t"].balance = 3 * br + 100
        acc = L.accounts["t"]
        assert cr.get_min_balance(L, acc) == (2 if protocol == 13 else 4) * br
        assert cr.manage_sell_offer(L, "t", cr.NATIVE, CTR, 100, 1, 1).code == code
    # with 2 more reserves it passes at 14 and sells exactly 100
    L = _maker_taker(14)
    L.accounts["t"].num_sponsoring = 2
    L.accounts["t"].balance = 5 * L.base_reserve + 100
    r = cr.manage_sell_offer(L, "t", cr.NATIVE, CTR, 100, 1, 1)
    assert r.success and r.offer.amount == 100
    assert cr.manage_sell_offer(L, "t", cr.NATIVE, CTR, 101, 1, 1).code == "MANAGE_SELL_OFFER_UNDERFUNDED"


def test_gate_v14_new_offer_reserve_taken_at_start_or_in_parameters_gives_the_same_result():
    """Before 14 the new offer's subentry is counted in computeOfferExchangeParameters (l.118-146)
    and at the end (l.495-521); from 14 at the start (l.292-326). For an unsponsored source both
    give the same outcome: the same maximum sellable native and the same final subentry count."""
    results = []
    for protocol in (13, 14):
        L = _maker_taker(protocol)
        L.accounts["t"].balance = 3 * L.base_reserve + 100
        L.place_offer("mk", 1, CTR, cr.NATIVE, 40, 1, 1)
        r = cr.manage_sell_offer(L, "t", cr.NATIVE, CTR, 100, 1, 1)
        results.append((r.code, r.sent, r.received, r.offer.amount, r.ledger.accounts["t"].num_sub_entries))
        r = cr.manage_sell_offer(L, "t", cr.NATIVE, CTR, 40, 1, 1)  # fully crossed: no offer, no subentry
        results.append((r.code, r.sent, r.offer_effect, r.ledger.accounts["t"].num_sub_entries))
    assert results[0] == results[2] == ("MANAGE_SELL_OFFER_SUCCESS", 40, 40, 60, 1)
    assert results[1] == results[3] == ("MANAGE_SELL_OFFER_SUCCESS", 40, cr.MANAGE_OFFER_DELETED, 0)


def test_gate_v15_negative_offer_id():
    """ManageOfferOpFrameBase.cpp:635-640."""
    assert cr.manage_sell_offer(_maker_taker(14), "t", BASE, CTR, 10, 1, 1, offer_id=-1).code == "MANAGE_SELL_OFFER_NOT_FOUND"
    assert cr.manage_sell_offer(_maker_taker(15), "t", BASE, CTR, 10, 1, 1, offer_id=-1).code == "MANAGE_SELL_OFFER_MALFORMED"


def test_gate_v18_pools_trade():
    """exchangeWithPool (OfferExchange.cpp:1390-1395): no pool before 18."""
    for protocol, code, venue in ((17, "PATH_PAYMENT_STRICT_SEND_SUCCESS", "book"), (18, "PATH_PAYMENT_STRICT_SEND_SUCCESS", "pool")):
        L = cr.Ledger(protocol=protocol)
        L.add_offer("mk", 1, B, A, 1000, 1, 1)
        L.set_pool(A, B, 10**6, 2 * 10**6)
        r = cr.path_payment_strict_send(L, "t", A, 100, "t", B, 1)
        assert r.code == code and r.hops[0].venue == venue
        assert r.received == (100 if protocol == 17 else 199)  # floor(9970*2e6*100/(1e10+997000)) = 199


def test_gate_v18_zero_budget_fast_fail():
    """convertWithOffers (OfferExchange.cpp:1502-1511): from 18 a hop that starts with no budget left
    fails with EXCEEDED_WORK_LIMIT at once. Before, the walk looks at the book: an empty book is
    ePartial (TOO_FEW_OFFERS), the source's own offer stops it first (CROSS_SELF)."""
    for protocol in (17, 18):
        L = cr.Ledger(protocol=protocol, max_offers_to_cross=2)
        L.add_offer("s1", 1, B, A, 1, 1, 1)
        L.add_offer("s2", 2, B, A, 1, 1, 1)
        r = cr.path_payment_strict_send(L, "t", A, 2, "t", C, 1, [B])
        assert r.code == ("PATH_PAYMENT_STRICT_SEND_TOO_FEW_OFFERS" if protocol == 17 else "opEXCEEDED_WORK_LIMIT")
        L.add_offer("t", 3, C, B, 10, 1, 1)
        r = cr.path_payment_strict_send(L, "t", A, 2, "t", C, 1, [B])
        assert r.code == ("PATH_PAYMENT_STRICT_SEND_OFFER_CROSS_SELF" if protocol == 17 else "opEXCEEDED_WORK_LIMIT")
        L.offers[3].seller = "s3"
        r = cr.path_payment_strict_send(L, "t", A, 2, "t", C, 1, [B])
        assert r.code == "opEXCEEDED_WORK_LIMIT"


def test_gate_v18_claim_atom_type():
    """makeClaimAtom (TransactionUtils.cpp:1881-1900)."""
    for protocol, kind in ((17, cr.CLAIM_ATOM_TYPE_V0), (18, cr.CLAIM_ATOM_TYPE_ORDER_BOOK)):
        L = cr.Ledger(protocol=protocol)
        L.add_offer("mk", 1, B, A, 10, 1, 1)
        assert [c.type for c in cr.path_payment_strict_send(L, "t", A, 5, "t", B, 1).claims] == [kind]


def test_gate_v18_sponsoring_plus_subentries_must_fit_uint32():
    """isSponsoringSubentrySumIncreaseValid (SponsorshipUtils.cpp:20-28)."""
    for protocol, code in ((17, "MANAGE_SELL_OFFER_SUCCESS"), (18, "opTOO_MANY_SUBENTRIES")):
        L = _maker_taker(protocol)
        acc = L.accounts["t"]
        acc.num_sub_entries, acc.num_sponsoring = 3, cr.UINT32_MAX - 3
        acc.balance = 10**17
        assert cr.manage_sell_offer(L, "t", BASE, CTR, 10, 1, 1).code == code


# ---------------------------------------------------------------------------------------------
# Hypothesis: random ledger-valid states and random operations
# ---------------------------------------------------------------------------------------------
ISS = "GISS"
HA, HB = "AAA:" + ISS, "BBB:" + ISS
ASSETS = [cr.NATIVE, HA, HB]
MAKERS = ["m0", "m1", "m2"]


@st.composite
def ledgers(draw, offer_counts=(10, 25, 40), pools_always=False):
    L = cr.Ledger(protocol=draw(st.sampled_from([17, 20, 23, 27, 28])), base_reserve=draw(st.sampled_from([0, 5_000_000])))
    for acct in MAKERS + ["t", "d"]:
        L.set_account(acct, draw(st.integers(10**8, 10**10)), num_sub_entries=2)  # its two trust lines
        for a in (HA, HB):  # now and then an empty line or a full one
            bal = 0 if draw(st.integers(0, 9)) == 0 else draw(st.integers(10**6, 10**7))
            room = 0 if draw(st.integers(0, 9)) == 0 else draw(st.integers(10**7, 10**9))
            L.set_trustline(acct, a, bal, bal + room)
    rnd = random.Random(draw(st.integers(0, 2**32)))  # many offers from one draw (speed); replayable
    for oid in range(1, draw(st.sampled_from(offer_counts)) + 1):
        selling, buying = rnd.sample(ASSETS, 2)
        try:
            L.place_offer(rnd.choice(MAKERS), oid, selling, buying, rnd.randint(1, 10**6), rnd.randint(1, 50),
                          rnd.randint(1, 50))
        except ValueError:
            pass
    for x, y in ((HA, HB), (cr.NATIVE, HA), (cr.NATIVE, HB)):
        if pools_always or draw(st.booleans()):
            L.set_pool(x, y, draw(st.integers(1, 10**8)), draw(st.integers(1, 10**8)))
    cr.check_invariants(L)
    return L


def _price(draw, generous_high: bool) -> tuple:
    """Half the time a price limit that crosses most of the book."""
    if draw(st.booleans()):
        lo, hi = draw(st.integers(1, 3)), draw(st.integers(40, 60))
        return (hi, lo) if generous_high else (lo, hi)
    return draw(st.integers(1, 60)), draw(st.integers(1, 60))


@st.composite
def operations(draw, kinds=("sell", "buy", "passive", "send", "recv")):
    kind = draw(st.sampled_from(kinds))
    src = draw(st.sampled_from(["t", "t", "m0"]))
    if kind in ("sell", "buy", "passive"):
        selling, buying = draw(st.permutations(ASSETS))[:2]
        n, d = _price(draw, kind == "buy")
        return kind, (src, selling, buying, draw(st.integers(1, 10**6)), n, d)
    path = draw(st.lists(st.sampled_from(ASSETS), max_size=3))
    send, dest = draw(st.sampled_from(ASSETS)), draw(st.sampled_from(ASSETS))
    amount = draw(st.integers(1, 10**6))
    bound = draw(st.one_of(st.just(1 if kind == "send" else M), st.integers(1, 10**8)))
    return kind, (src, send, amount if kind == "send" else bound, draw(st.sampled_from(["d", "t"])), dest,
                  bound if kind == "send" else amount, path)


OPS = {"sell": cr.manage_sell_offer, "buy": cr.manage_buy_offer, "passive": cr.create_passive_sell_offer,
       "send": cr.path_payment_strict_send, "recv": cr.path_payment_strict_receive}


def _totals(L: cr.Ledger) -> dict:
    tot = {a: 0 for a in ASSETS}
    for acc in L.accounts.values():
        tot[cr.NATIVE] += acc.balance
    for (_, a), tl in L.trustlines.items():
        tot[a] += tl.balance
    for p in L.pools.values():
        tot[p.asset_a] += p.reserve_a
        tot[p.asset_b] += p.reserve_b
    return tot


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(ledgers(), operations())
def test_random_operations_conserve_and_keep_the_ledger_valid(L, op):
    """Books of 10-40 offers from three makers over native, AAA and BBB; any of the five operations."""
    _check_operation_properties(L, op)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(ledgers(offer_counts=(0, 2, 5), pools_always=True), operations(kinds=("send", "recv")))
def test_random_operations_through_pools_conserve_and_keep_the_ledger_valid(L, op):
    """Thin books and three pools: most path-payment hops go to a pool."""
    _check_operation_properties(L, op)


def _check_operation_properties(L: cr.Ledger, op: tuple) -> None:
    kind, args = op
    before = L.copy()
    r = OPS[kind](L, *args)
    assert L == before  # the input ledger is never changed
    assert r == OPS[kind](L, *args)  # deterministic
    for h in r.hops:  # what the sellers (or the pool) gave is what the taker received, per hop
        assert sum(c.amount_bought for c in h.claims) == h.amount_send
        assert sum(c.amount_sold for c in h.claims) == h.amount_recv
        assert all(c.asset_bought == h.send_asset and c.asset_sold == h.recv_asset for c in h.claims)
        assert 0 <= h.budget_after <= h.budget_before
    if not r.success:
        assert r.ledger == L
        return
    assert _totals(r.ledger) == _totals(L)  # no stroop created or lost (no issuer takes part)
    cr.check_invariants(r.ledger, L)
    for acc in r.ledger.accounts.values():
        assert acc.balance >= 0
    if kind == "send":
        assert r.sent == args[2] and r.received >= args[5]
        chain = [h for h in r.hops]
        for h1, h2 in zip(chain, chain[1:]):
            assert h1.amount_recv == h2.amount_send
    if kind == "recv":
        assert r.received == args[5] and r.sent <= args[2]
        for h1, h2 in zip(r.hops, r.hops[1:]):
            assert h1.amount_send == h2.amount_recv
    if kind in ("sell", "passive"):
        assert r.sent <= args[3]
    if kind == "buy":
        assert r.received <= args[3]


@settings(max_examples=200, deadline=None)
@given(st.integers(1, cr.INT32_MAX), st.integers(1, cr.INT32_MAX), st.integers(0, M), st.integers(0, M))
def test_adjusted_offers_are_fixed_points_and_liabilities_fit(n, d, amount, receive):
    """adjustOffer is idempotent (the proof at OfferExchange.cpp:796-920), and an adjusted offer's
    buying liabilities fit what its seller can receive."""
    a = cr.adjust_offer((n, d), amount, receive)
    assert 0 <= a <= amount
    assert cr.adjust_offer((n, d), a, receive) == a
    assert cr.offer_liabilities((n, d), a)[1] <= receive


def test_offer_order_is_double_then_id():
    """isBetterOffer (LedgerTxnOfferSQL.cpp:167-184): 1/3 and 3333333/10000001 print alike but differ
    as doubles; equal doubles (2/4 and 1/2) tie-break on the lower id."""
    L = cr.Ledger(protocol=23)
    L.add_offer("s", 5, A, B, 1, 2, 4)
    L.add_offer("s", 3, A, B, 1, 1, 2)
    L.add_offer("s", 9, A, B, 1, 3333333, 10000001)
    L.add_offer("s", 7, A, B, 1, 1, 3)
    assert [o.offer_id for o in L.offers_selling(A, B)] == [9, 7, 3, 5]
