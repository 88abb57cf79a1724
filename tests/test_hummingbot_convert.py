"""The exact -> Hummingbot conversion (stellar_ob.hummingbot_convert), without Hummingbot.

Every book test runs on the compiled core and the twin (the ``impl`` fixture). The reference
here is independent of the module: Fractions grouped by the double of each price, each sum
rounded by ``float(Fraction)``; Hummingbot's book is modelled as what order_book.pyx does with
rows (a dict keyed by the double price; amount 0 deletes, anything else replaces).
"""

from __future__ import annotations

import doctest
import json
import math
import random
import subprocess
import sys
from collections import defaultdict
from fractions import Fraction

import pytest

import stellar_ob.hummingbot_convert as hc
from stellar_ob import Asset
from stellar_ob.amounts import INT32_MAX, UINT64_MAX, format_amount, price_string
from stellar_ob.errors import AssetError, AssetMismatchError, InvalidBookError, PriceError, StellarOBError
from stellar_ob.hummingbot_convert import (
    INSTALL_COMMAND,
    AmbiguousAssetError,
    AssetTable,
    HummingbotBook,
    TradingPairError,
    UpdateIds,
    ask_amount_to_float,
    bid_amount_to_float,
    price_to_float,
    trade_content,
    trade_ledger,
)

USDC = "USDC:GA5ZSEJYB37JRC5AVCIA5MOP4RHTM335X2KGX3IHOJAPP5RE34K4KZVN"
USDC2 = "USDC:GDGTVWSM4MGS4T7Z6W4RPWOCHE2I6RDFCIFZGS3DOA63LWQTRNZNTTFF"
SCALE = 10_000_000


# ---------------------------------------------------------------------------------------------
# helpers


def assert_nearest(x: float, exact: Fraction) -> None:
    """``x`` is the double nearest to ``exact``: within half an ulp, and no neighbour closer."""
    err = abs(Fraction(x) - exact)
    assert err <= Fraction(math.ulp(x)) / 2, (x, exact)
    for nb in (math.nextafter(x, math.inf), math.nextafter(x, -math.inf)):
        assert abs(Fraction(nb) - exact) >= err, (x, nb, exact)


def reference(book) -> tuple[list, list]:
    """What Hummingbot's book must hold for ``book``, computed with Fractions."""

    def side(levels, bid: bool) -> list:
        groups: dict = defaultdict(Fraction)
        for price, amount in levels:
            key = price.n / price.d
            base = Fraction(amount * price.d, price.n) if bid else Fraction(amount)
            groups[key] += base / SCALE
        return sorted(((k, float(v)) for k, v in groups.items()), reverse=bid)

    return side(book.bids(), True), side(book.asks(), False)


def exact_sums(book) -> dict:
    """(side, double price) -> exact base amount (Fraction)."""
    out: dict = defaultdict(Fraction)
    for price, amount in book.bids():
        out[("bid", price.n / price.d)] += Fraction(amount * price.d, price.n * SCALE)
    for price, amount in book.asks():
        out[("ask", price.n / price.d)] += Fraction(amount, SCALE)
    return out


class HummingbotModel:
    """order_book.pyx's semantics for rows: a set keyed by double price."""

    def __init__(self) -> None:
        self.bids: dict = {}
        self.asks: dict = {}

    def snapshot(self, rows) -> None:
        self.bids = {p: a for p, a in rows[0] if a > 0}
        self.asks = {p: a for p, a in rows[1] if a > 0}

    def diff(self, rows) -> None:
        for levels, side in ((rows[0], self.bids), (rows[1], self.asks)):
            for p, a in levels:
                side.pop(p, None)
                if a > 0:
                    side[p] = a

    def rows(self) -> tuple[list, list]:
        return sorted(self.bids.items(), reverse=True), sorted(self.asks.items())


def colliding(target: float, count: int = 2) -> list[tuple[int, int]]:
    """``count`` distinct int32 rationals near ``target`` that all round to one double (the
    larger of n and d walks down from 2**31-1, the other is the nearest integers)."""
    groups: dict = {}
    big = INT32_MAX
    while True:
        small = int(big * target) if target < 1 else int(big / target)
        for other in (small - 1, small, small + 1):
            if 1 <= other <= INT32_MAX:
                n, d = (other, big) if target < 1 else (big, other)
                g = math.gcd(n, d)
                members = groups.setdefault(n / d, {})
                members[(n // g, d // g)] = None
                if len(members) >= count:
                    return list(members)[:count]
        big -= 1


def body(bids, asks, base="native", counter=USDC) -> bytes:
    def levels(rows):
        return [{"price_r": {"n": n, "d": d}, "price": price_string(n, d), "amount": format_amount(a)}
                for n, d, a in rows]

    return json.dumps({"bids": levels(bids), "asks": levels(asks), "base": Asset.parse(base).to_horizon_json(),
                       "counter": Asset.parse(counter).to_horizon_json()}).encode()


# ---------------------------------------------------------------------------------------------
# values


def test_values_round_once_to_nearest():
    rng = random.Random(1)
    for _ in range(3000):
        n, d = rng.randint(1, INT32_MAX), rng.randint(1, INT32_MAX)
        s = rng.choice((rng.randint(1, 10**9), rng.randint(1, UINT64_MAX)))
        assert_nearest(price_to_float(n, d), Fraction(n, d))
        assert_nearest(ask_amount_to_float(s), Fraction(s, SCALE))
        assert_nearest(bid_amount_to_float(s, n, d), Fraction(s * d, n * SCALE))


def test_values_a_double_can_hold_arrive_exactly():
    # prices with a power-of-two denominator; amounts that are multiples of 1/128 unit (78,125
    # stroops); bid amounts whose base value is dyadic
    for n, d in ((1, 4), (3, 8), (INT32_MAX, 2**30), (12345, 1)):
        assert Fraction(price_to_float(n, d)) == Fraction(n, d)
    for s in (78_125, 5_000_000, 78_125 * 2**40, (UINT64_MAX // 78_125) * 78_125):
        assert Fraction(ask_amount_to_float(s)) == Fraction(s, SCALE)
    assert bid_amount_to_float(50_000_000, 1, 10) == 50.0  # 5 counter at 0.1 = 50 base
    assert Fraction(bid_amount_to_float(78_125, 3, 3)) == Fraction(1, 128)
    # and those that cannot, cannot (so the tests above are not vacuous)
    assert Fraction(ask_amount_to_float(1_000_000)) != Fraction(1, 10)
    assert Fraction(price_to_float(1, 3)) != Fraction(1, 3)


def test_update_ids_never_decrease():
    ids = UpdateIds()
    got = [ids.next(), ids.next(), ids.next(ledger=100), ids.next(ledger=50), ids.next(), ids.next(ledger=100)]
    assert got == [1, 2, 100, 100, 101, 101]
    assert all(a <= b for a, b in zip(got, got[1:]))


# ---------------------------------------------------------------------------------------------
# books, on both implementations


def test_load_converts_bids_to_base(impl):
    book = impl.OrderBook("XLM", USDC)
    # a bid of 7 USDC at 7/50 USDC per XLM is 50 XLM; an ask of 2 XLM at 0.15
    book.apply_snapshot(bids=[(7, 50, 70_000_000)], asks=[(3, 20, 20_000_000)])
    hb = HummingbotBook()
    assert hb.load(book) == ([(0.14, 50.0)], [(0.15, 2.0)])
    assert hb.rows() == reference(book) and len(hb) == 2 and not hb.locked


def test_prices_sharing_a_double_are_one_level_with_the_sum(impl):
    (n1, d1), (n2, d2) = colliding(1.0101)
    assert Fraction(n1, d1) != Fraction(n2, d2) and n1 / d1 == n2 / d2
    (a1, b1), (a2, b2) = colliding(1.2)
    book = impl.OrderBook("XLM", USDC)
    book.apply_snapshot(bids=[(n1, d1, 30_000_000), (n2, d2, 12_345_678)],
                        asks=[(a1, b1, 10_000_001), (a2, b2, 3)])
    assert len(book) == 4  # four exact levels ...
    hb = HummingbotBook()
    bids, asks = hb.load(book)
    assert len(bids) == 1 and len(asks) == 1  # ... two doubles
    exact_bid = Fraction(30_000_000 * d1, n1 * SCALE) + Fraction(12_345_678 * d2, n2 * SCALE)
    assert bids[0] == (n1 / d1, float(exact_bid))
    assert_nearest(bids[0][1], exact_bid)
    assert asks[0] == (a1 / b1, float(Fraction(10_000_004, SCALE)))
    assert hb.exact_levels("bid") == {n1 / d1: {(n1, d1): 30_000_000, (n2, d2): 12_345_678}}
    # What Hummingbot would hold if each exact level were sent as its own row: one is lost.
    naive = HummingbotModel()
    naive.snapshot(([(p.n / p.d, a * p.d / (p.n * SCALE)) for p, a in book.bids()], []))
    assert len(naive.bids) == 1 and naive.bids[n1 / d1] != bids[0][1]
    # Removing one of the two leaves the other's amount, not 0 (the double stays a level).
    diff = book.apply_horizon(body([(n2, d2, 12_345_678)], [(a1, b1, 10_000_001), (a2, b2, 3)]))
    rows = hb.apply(diff)
    assert rows == ([(n1 / d1, 12_345_678 * d2 / (n2 * SCALE))], [])
    assert hb.rows() == reference(book)


@pytest.mark.parametrize("seed", range(12))
def test_random_streams_keep_hummingbot_equal_to_the_exact_book(impl, seed):
    """Random books on a grid plus colliding prices; after every change the rows sent, applied
    the way Hummingbot applies them, give the reference conversion of the exact book."""
    rng = random.Random(seed)
    bid_pool = [(rng.randint(1, 999), 1000) for _ in range(30)] + colliding(0.5005, 3) + colliding(0.77, 2)
    ask_pool = [(rng.randint(1001, 2000), 1000) for _ in range(30)] + colliding(1.5, 3)
    book = impl.OrderBook("XLM", USDC)
    hb, model = HummingbotBook(), HummingbotModel()
    model.snapshot(hb.load(book))
    sent = merged = 0
    for step in range(60):
        bids = [(*p, rng.choice((1, rng.randint(1, 10**12), rng.randint(1, UINT64_MAX // 64))))
                for p in rng.sample(bid_pool, rng.randint(0, 12))]
        asks = [(*p, rng.randint(1, 10**13)) for p in rng.sample(ask_pool, rng.randint(0, 12))]
        diff = book.apply_horizon(body(bids, asks))
        if step % 17 == 16:  # now and then a reconnect: resync rows instead of the diff
            rows = hb.resync(book)
        else:
            rows = hb.apply(diff)
        sent += len(rows[0]) + len(rows[1])
        model.diff(rows)
        want = reference(book)
        assert hb.rows() == want == model.rows()
        for (side, key), exact in exact_sums(book).items():
            got = dict(hb.bids() if side == "bid" else hb.asks())[key]
            assert abs(Fraction(got) - exact) <= Fraction(math.ulp(got)), (side, key)
        assert all(a > 0 for _, a in want[0] + want[1])
        merged += sum(len(g) > 1 for side in ("bid", "ask") for g in hb.exact_levels(side).values())
    assert sent > 0 and merged > 0


def test_apply_sends_only_what_changed_and_dedups(impl):
    book = impl.OrderBook("XLM", USDC)
    (n1, d1), (n2, d2) = colliding(0.25)
    book.apply_snapshot(bids=[(n1, d1, 100), (1, 8, 500)], asks=[(1, 2, 10)])
    hb = HummingbotBook()
    hb.load(book)
    # both rationals of one double change in one diff: one row
    diff = book.apply_horizon(body([(n1, d1, 200), (n2, d2, 300), (1, 8, 500)], [(1, 2, 10)]))
    bids, asks = hb.apply(diff)
    assert [p for p, _ in bids] == [n1 / d1] and asks == []
    # an empty diff sends nothing
    assert hb.apply(book.apply_horizon(body([(n1, d1, 200), (n2, d2, 300), (1, 8, 500)], [(1, 2, 10)]))) == ([], [])


def test_apply_is_atomic_and_checks_the_base_state(impl):
    book = impl.OrderBook("XLM", USDC)
    book.apply_snapshot(bids=[(1, 10, 100)], asks=[(1, 2, 10)])
    hb = HummingbotBook()
    hb.load(book)
    other = impl.OrderBook("XLM", USDC)
    other.apply_snapshot(bids=[(1, 10, 999)], asks=[(1, 2, 10)])
    stale = other.apply_horizon(body([(1, 10, 5)], [(1, 2, 11)]))  # expects 999 at 1/10
    before = hb.rows()
    with pytest.raises(InvalidBookError, match="not of this book's state"):
        hb.apply(stale)
    assert hb.rows() == before

    class Change:
        def __init__(self, price, old, new):
            self.price, self.old_amount, self.new_amount = price, old, new

    class Diff:
        def __init__(self, bids=(), asks=()):
            self.bids, self.asks = list(bids), list(asks)

    p = impl.Price(1, 2)
    for bad in (Change(p, 10, -1), Change(p, 10, 2**64), Change(p, 10, 1.5), Change(p, 10, True),
                Change(impl.Price(1, 3), "x", 1)):
        with pytest.raises(InvalidBookError):
            hb.apply(Diff(asks=[Change(impl.Price(1, 2), 10, 20), bad]))
        assert hb.rows() == before


def test_resync_takes_the_old_state_to_the_new(impl):
    a = impl.OrderBook("XLM", USDC)
    a.apply_snapshot(bids=[(1, 10, 100), (1, 20, 7)], asks=[(1, 2, 10), (3, 4, 1)])
    b = impl.OrderBook("XLM", USDC)
    b.apply_snapshot(bids=[(1, 10, 100), (1, 30, 8)], asks=[(1, 2, 11)])
    hb = HummingbotBook()
    model = HummingbotModel()
    model.snapshot(hb.load(a))
    rows = hb.resync(b)
    assert rows == ([(1 / 20, 0.0), (1 / 30, 8 * 30 / SCALE)], [(0.5, 11 / SCALE), (0.75, 0.0)])
    model.diff(rows)
    assert model.rows() == hb.rows() == reference(b)


def test_locked_when_bid_and_ask_share_a_double(impl):
    (n1, d1), (n2, d2) = colliding(0.75)
    lo, hi = sorted([(n1, d1), (n2, d2)], key=lambda p: Fraction(*p))
    book = impl.OrderBook("XLM", USDC)
    book.apply_snapshot(bids=[(*lo, 1000)], asks=[(*hi, 1000)])  # exact bid < exact ask
    hb = HummingbotBook()
    bids, asks = hb.load(book)
    assert bids[0][0] == asks[0][0] and hb.locked
    book.apply_snapshot(bids=[(1, 2, 1000)], asks=[(*hi, 1000)])
    hb.load(book)
    assert not hb.locked


def test_snapshot_and_diff_contents():
    hb = HummingbotBook()
    assert hb.snapshot_content("XLM-USDC", 7) == {"trading_pair": "XLM-USDC", "update_id": 7, "bids": [], "asks": []}
    assert hc.diff_content("XLM-USDC", 8, ([(0.5, 1.0)], [])) == {
        "trading_pair": "XLM-USDC", "update_id": 8, "bids": [(0.5, 1.0)], "asks": []}


# ---------------------------------------------------------------------------------------------
# trading pairs


def test_asset_table_maps_pairs():
    t = AssetTable({"USDC": USDC, "yUSDC": Asset.parse(USDC2)})
    assert t.assets("XLM-USDC") == (Asset.native(), Asset.parse(USDC))
    assert t.assets("yUSDC-USDC") == (Asset.parse(USDC2), Asset.parse(USDC))
    assert t.trading_pair("native", USDC2) == "XLM-yUSDC"
    assert t.symbols() == ["USDC", "XLM", "yUSDC"] and "USDC" in t and len(t) == 3
    assert "USDC" in repr(t)
    # XLM can be mapped explicitly (to native, or even to a credit asset named XLM)
    t2 = AssetTable({"XLM": "native", "USDC": USDC})
    assert t2.asset("XLM").is_native


@pytest.mark.parametrize("table, match", [
    ({"USDC": USDC, "usdc": USDC2}, "differ only in case"),
    ({"USDC": USDC, "USDC2": USDC}, "both name"),
    ({"US-DC": USDC}, "separator"),
    ({"XLM2": "native"}, "both name"),  # XLM is native already
])
def test_asset_table_refuses_ambiguity(table, match):
    with pytest.raises(AmbiguousAssetError, match=match) as e:
        AssetTable(table)
    assert isinstance(e.value, (StellarOBError, ValueError, AssetError, TradingPairError))


def test_from_assets_refuses_one_code_for_two_issuers():
    with pytest.raises(AmbiguousAssetError, match="names two assets") as e:
        AssetTable.from_assets(["native", USDC, USDC2])
    assert "GA5Z" in str(e.value) and "GDGT" in str(e.value)
    t = AssetTable.from_assets(["XLM", USDC, USDC])  # the same asset twice is fine
    assert t.symbols() == ["USDC", "XLM"]


@pytest.mark.parametrize("pair", ["XLMUSDC", "XLM-USDC-X", "XLM-", "-USDC", "XLM-EURT", "XLM-XLM", 42, None,
                                  "xlm-USDC"])
def test_bad_trading_pairs(pair):
    t = AssetTable({"USDC": USDC})
    with pytest.raises(TradingPairError):
        t.assets(pair)


def test_unknown_symbol_hints_at_a_case_mismatch():
    with pytest.raises(TradingPairError, match="the table has 'USDC'"):
        AssetTable({"USDC": USDC}).asset("usdc")


@pytest.mark.parametrize("table", [{"USDC": "USDC"}, {"USDC": "USDC:GBAD"}, {"": USDC}, {" X": USDC}, {1: USDC},
                                   [("USDC", USDC)], {"USDC": 5}])
def test_bad_tables(table):
    with pytest.raises(TradingPairError):
        AssetTable(table)


def test_trading_pair_of_an_unknown_asset():
    with pytest.raises(TradingPairError, match="not in the asset table"):
        AssetTable({"USDC": USDC}).trading_pair("native", USDC2)


# ---------------------------------------------------------------------------------------------
# trades


@pytest.fixture(params=["c", "py"])
def parse_trades(request):
    if request.param == "py":
        from stellar_ob.horizon._pure import parse_trades as parse
    else:
        from conftest import load_c

        parse = load_c("horizon").parse_trades
    return parse


def _trade_records():
    """Real-shaped /trades records from the simulated market (exact stellar-core fills)."""
    from stellar_ob.testing import SimulatedMarket

    m = SimulatedMarket(markets=1, seed=11, taker_probability=1.0)
    pair = next(iter(m.pairs.values()))
    while sum(1 for t in m.trades if t["trade_type"] == "orderbook") < 12:
        m.take(pair)
        m.close_ledger([])
    return pair, [{k: v for k, v in t.items() if not k.startswith("_")} for t in m.trades]


def _reversed(rec: dict) -> dict:
    """The record as Horizon answers the pair asked the other way round."""
    out = {k: rec[k] for k in ("id", "paging_token", "ledger_close_time", "trade_type")}
    for side, other in (("base", "counter"), ("counter", "base")):
        for k in ("offer_id", "account", "amount", "asset_type", "asset_code", "asset_issuer", "liquidity_pool_id"):
            if f"{other}_{k}" in rec:
                out[f"{side}_{k}"] = rec[f"{other}_{k}"]
    out["base_is_seller"] = not rec["base_is_seller"]
    out["price"] = {"n": rec["price"]["d"], "d": rec["price"]["n"]}
    return out


def test_trade_content_both_orientations(parse_trades):
    pair, records = _trade_records()
    base, counter = pair.base, pair.counter
    for rec in records:
        for r in (rec, _reversed(rec)):
            trade = parse_trades(json.dumps(r).encode())[0]
            content, ts = trade_content(trade, base, counter, "XLM-USD")
            base_stroops = int(Fraction(rec["base_amount"]) * SCALE)
            counter_stroops = int(Fraction(rec["counter_amount"]) * SCALE)
            assert content["trading_pair"] == "XLM-USD" and content["trade_id"] == rec["id"]
            assert content["amount"] == base_stroops / SCALE
            assert_nearest(content["price"], Fraction(counter_stroops, base_stroops))
            # base_is_seller: the base party made the offer that was crossed -> the taker bought
            taker_buys = rec["base_is_seller"]
            assert content["trade_type"] == (hc.TRADE_TYPE_BUY if taker_buys else hc.TRADE_TYPE_SELL)
            assert content["update_id"] == int(rec["paging_token"].split("-")[0]) >> 32 == trade_ledger(trade)
            assert ts == float(trade.ledger_close_time)
    # the taker side follows the maker: asks crossed are buys, bids crossed are sells
    kinds = {trade_content(parse_trades(json.dumps(r).encode())[0], base, counter, "p")[0]["trade_type"]
             for r in records if r["trade_type"] == "orderbook"}
    assert kinds == {hc.TRADE_TYPE_BUY, hc.TRADE_TYPE_SELL}


def test_trade_of_another_market_or_without_price(parse_trades):
    pair, records = _trade_records()
    trade = parse_trades(json.dumps(records[0]).encode())[0]
    with pytest.raises(AssetMismatchError):
        trade_content(trade, "native", USDC2, "XLM-USDC")
    import dataclasses

    with pytest.raises(PriceError):
        trade_content(dataclasses.replace(trade, base_amount=0), pair.base, pair.counter, "p")
    assert trade_ledger(dataclasses.replace(trade, paging_token="junk", id="junk")) is None


# ---------------------------------------------------------------------------------------------
# the package


def test_docstring_examples():
    failures, tried = doctest.testmod(hc, optionflags=doctest.ELLIPSIS)
    assert tried > 5 and failures == 0


def test_import_without_hummingbot_names_the_install_command():
    code = ("import sys; sys.modules['hummingbot'] = None\n"
            "try:\n    import stellar_ob.hummingbot\nexcept ImportError as e:\n    print(e)\n"
            "else:\n    print('imported')\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert INSTALL_COMMAND in out.stdout and "stellar_ob.hummingbot needs Hummingbot" in out.stdout
