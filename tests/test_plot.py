"""stellar_ob.plot: exact depth curves of every kind of book, and the chart drawn from them."""

from __future__ import annotations

import io
import random
from fractions import Fraction

import pytest

from stellar_ob.plot import DepthCurve, PlotError, depth_curve, plot_depth

from conftest import USDC

matplotlib = pytest.importorskip("matplotlib")
matplotlib.use("Agg")


def _random_sides(rng: random.Random, n_bids: int, n_asks: int):
    """Distinct prices, bids below asks; amounts up to 10^12 stroops."""
    prices = sorted({Fraction(rng.randint(1, 10_000), rng.randint(1, 10_000)) for _ in range(4 * (n_bids + n_asks))})
    prices = prices[: n_bids + n_asks]
    bids = [(p.numerator, p.denominator, rng.randint(1, 10**12)) for p in prices[:n_bids]]
    asks = [(p.numerator, p.denominator, rng.randint(1, 10**12)) for p in prices[n_bids:]]
    return bids, asks


def _expected(bids, asks) -> tuple[list, list]:
    """The depth curve computed independently from the snapshot rows."""
    out = []
    for rows, best_first, in_base in ((bids, True, lambda n, d, a: Fraction(a * d, n) / 10**7),
                                      (asks, False, lambda n, d, a: Fraction(a, 10**7))):
        rows = sorted(rows, key=lambda r: Fraction(r[0], r[1]), reverse=best_first)
        total, points = Fraction(0), []
        for n, d, a in rows:
            total += in_base(n, d, a)
            points.append((Fraction(n, d), total))
        out.append(points)
    return out[0], out[1]


@pytest.mark.parametrize("seed", range(20))
def test_depth_curve_is_exact_on_order_books(impl, seed):
    rng = random.Random(seed)
    bids, asks = _random_sides(rng, rng.randint(0, 30), rng.randint(0, 30))
    book = impl.OrderBook("native", USDC)
    book.apply_snapshot(bids=bids, asks=asks)
    curve = depth_curve(book)
    exp_bids, exp_asks = _expected(bids, asks)
    assert curve.bids == exp_bids and curve.asks == exp_asks
    if bids and asks:
        assert curve.mid == (exp_bids[0][0] + exp_asks[0][0]) / 2
        assert curve.spread == exp_asks[0][0] - exp_bids[0][0]
    else:
        assert curve.mid is None and curve.spread is None
    depth = rng.randint(1, 5)
    top = depth_curve(book, depth)
    assert top.bids == exp_bids[:depth] and top.asks == exp_asks[:depth]


@pytest.mark.parametrize("which", ["c", "py"])
def test_offer_book_curve_is_its_horizon_levels(which):
    """An OfferBook's curve is that of the L2 book Horizon would show for it (same levels)."""
    import exchange_reference as ref

    from stellar_ob import OrderBook

    offers_impl = ref.load_impl(which)
    rng = random.Random(3)
    ob = offers_impl.OfferBook("native", USDC)
    for oid in range(1, 200):  # asks sell base at n/d counter per base; bids sell counter at n/d base per counter
        if rng.random() < 0.5:
            ob.add_offer(oid, "ask", rng.randint(200, 400), 100, rng.randint(1, 10**10))
        else:
            ob.add_offer(oid, "bid", 100, rng.randint(100, 199), rng.randint(1, 10**10))
    l2 = OrderBook("native", USDC)
    l2.apply_snapshot(bids=ob.levels("bid"), asks=ob.levels("ask"))
    assert depth_curve(ob) == depth_curve(l2)
    assert depth_curve(ob, 3) == depth_curve(l2, 3)
    # a bid offer's base amount is its counter amount times its own price (base per counter)
    bid = ob.best_offer("bid")
    n, d, amount = ob.levels("bid", 1)[0]
    assert depth_curve(ob, 1).bids[0] == (Fraction(n, d), Fraction(amount * d, n * 10**7))
    assert bid is not None


async def test_live_book_curve_is_its_book():
    from stellar_ob.sync import Horizon
    from stellar_ob.testing import LocalHorizon

    async with LocalHorizon(markets=1, ledger_interval=None) as server:
        base, counter = server.market_assets()[0]
        async with Horizon(server.url) as h:
            live = await h.watch(base, counter, depth=20)
            curve = depth_curve(live)
            assert curve == depth_curve(live.book) and curve.bids and curve.asks
            offers = await h.watch_offers(base, counter)
            assert depth_curve(offers) == depth_curve(offers.book)


def test_empty_book_and_plot():
    from stellar_ob import OrderBook

    book = OrderBook("native", USDC)
    curve = depth_curve(book)
    assert curve == DepthCurve([], [], None, None, "native", USDC)
    ax = plot_depth(book)
    assert ax.get_title() == "XLM/USDC depth"


@pytest.mark.parametrize("depth", [0, -1, True, 1.5, "3"])
def test_bad_depth(depth):
    from stellar_ob import OrderBook

    with pytest.raises(PlotError):
        depth_curve(OrderBook("native", USDC), depth)


@pytest.mark.parametrize("thing", [object(), 42, "book", None])
def test_not_a_book(thing):
    with pytest.raises(PlotError):
        depth_curve(thing)


def test_chart_renders_both_sides_in_colour():
    """The PNG has the chart's size, and green (bids) and red (asks) pixels in it."""
    import matplotlib.pyplot as plt
    import numpy as np

    from stellar_ob import OrderBook

    book = OrderBook("native", USDC)
    bids, asks = _random_sides(random.Random(7), 20, 20)
    book.apply_snapshot(bids=bids, asks=asks)
    fig, ax = plt.subplots(figsize=(8, 4.5), dpi=100)
    assert plot_depth(book, ax=ax) is ax
    labels = [t.get_text() for t in ax.get_legend().get_texts()]
    assert labels[:2] == ["bids", "asks"] and labels[2].startswith("mid ") and "bps" in labels[2]
    buf = io.BytesIO()
    fig.savefig(buf, format="png")
    plt.close(fig)
    png = buf.getvalue()
    assert png[:8] == b"\x89PNG\r\n\x1a\n" and len(png) > 10_000
    img = matplotlib.image.imread(io.BytesIO(png))
    assert img.shape[:2] == (450, 800)
    rgb = img[..., :3]
    green = (rgb[..., 1] > 0.5) & (rgb[..., 0] < 0.35) & (rgb[..., 2] < 0.45)
    red = (rgb[..., 0] > 0.7) & (rgb[..., 1] < 0.4) & (rgb[..., 2] < 0.4)
    assert green.sum() > 200 and red.sum() > 200
    assert np.std(rgb) > 0.05


# ---- offer-level (L3) charts -----------------------------------------------------------------------

SELLERS = ["GA" + "A" * 54, "GB" + "B" * 54, "GC" + "C" * 54]


def _random_offer_book(impl, rng: random.Random, k: int):
    """An OfferBook of ``k`` offers at few distinct prices (so levels hold several offers), plus
    the offers as added: (offer_id, side, n, d, amount, seller)."""
    ob = impl.OfferBook("native", USDC)
    ask_prices = [(rng.randint(200, 400), 100) for _ in range(4)]
    bid_prices = [(100, rng.randint(100, 199)) for _ in range(4)]
    added = []
    for oid in rng.sample(range(1, 10 * k + 1), k):  # ids out of order: the queue is by id, not by insertion
        side = rng.choice(["ask", "bid"])
        n, d = rng.choice(ask_prices if side == "ask" else bid_prices)
        if rng.random() < 0.3:  # the same value spelled differently: one exact price level
            n, d = 2 * n, 2 * d
        amount = rng.randint(1, 10**10)
        seller = rng.choice(SELLERS + [None])
        ob.add_offer(oid, side, n, d, amount, seller)
        added.append((oid, side, n, d, amount, seller))
    return ob, added


def _expected_offers(added, side: str, account, depth=None):
    """The chart's bars computed from the offers as added, independently of the book's order:
    levels best first by exact price, offers by id within a level (core's order for equal prices)."""
    rows = []
    for oid, s, n, d, amount, seller in added:
        if s != side:
            continue
        price = Fraction(n, d) if side == "ask" else Fraction(d, n)
        base = Fraction(amount, 10**7) if side == "ask" else Fraction(amount * n, d * 10**7)
        rows.append((price, oid, base, seller))
    rows.sort(key=lambda r: (-r[0] if side == "bid" else r[0], r[1]))
    out, total, ahead, prices = [], Fraction(0), {}, []
    for price, oid, base, seller in rows:
        if price not in ahead:
            if depth is not None and len(prices) == depth:
                break
            prices.append(price)
            ahead[price] = Fraction(0)
        total += base
        out.append((oid, seller, price, base, ahead[price], total, account is not None and seller == account))
        ahead[price] += base
    return out, len(prices)


@pytest.mark.parametrize("which", ["c", "py"])
@pytest.mark.parametrize("seed", range(10))
def test_offer_chart_is_exact_on_both_implementations(which, seed):
    import exchange_reference as ref

    from stellar_ob.plot import offer_chart

    rng = random.Random(seed)
    ob, added = _random_offer_book(ref.load_impl(which), rng, rng.randint(0, 60))
    account = rng.choice(SELLERS + [None])
    for depth in (None, 1, 2):
        chart = offer_chart(ob, depth, account)
        for side, bars, levels in (("bid", chart.bids, chart.levels_bid), ("ask", chart.asks, chart.levels_ask)):
            exp, exp_levels = _expected_offers(added, side, account, depth)
            got = [(b.offer_id, b.seller, b.price, b.base, b.ahead, b.cumulative, b.own) for b in bars]
            assert got == exp and levels == exp_levels
        assert chart.account == account and chart.base == "native" and chart.counter == USDC
    # the offer-level chart adds up to the L2 depth curve of the same book at every exact price
    full = offer_chart(ob)
    if full.asks:
        assert full.asks[-1].cumulative == depth_curve(ob).asks[-1][1]


def test_offer_chart_is_the_same_on_both_implementations():
    import exchange_reference as ref

    from stellar_ob.plot import offer_chart

    books = [_random_offer_book(ref.load_impl(w), random.Random(11), 80)[0] for w in ("c", "py")]
    assert offer_chart(books[0], account=SELLERS[1]) == offer_chart(books[1], account=SELLERS[1])


async def test_live_offer_book_chart_is_its_book():
    from stellar_ob.plot import offer_chart
    from stellar_ob.sync import Horizon
    from stellar_ob.testing import LocalHorizon

    async with LocalHorizon(markets=1, ledger_interval=None) as server:
        base, counter = server.market_assets()[0]
        async with Horizon(server.url) as h:
            live = await h.watch_offers(base, counter)
            chart = offer_chart(live)
            assert chart == offer_chart(live.book) and (chart.bids or chart.asks)
            l2 = await h.watch(base, counter)
            with pytest.raises(PlotError, match="OfferBook"):
                offer_chart(l2)


@pytest.mark.parametrize("args", [{"depth": 0}, {"depth": True}, {"depth": 1.5}, {"account": 42},
                                  {"account": b"GA"}])
def test_offer_chart_bad_arguments(args):
    from stellar_ob import OfferBook
    from stellar_ob.plot import offer_chart

    with pytest.raises(PlotError):
        offer_chart(OfferBook("native", USDC), **args)


@pytest.mark.parametrize("thing", [object(), 42, None])
def test_offer_chart_of_not_a_book(thing, impl):
    from stellar_ob.plot import offer_chart

    with pytest.raises(PlotError):
        offer_chart(thing)
    with pytest.raises(PlotError):  # an L2 book has levels, not offers
        offer_chart(impl.OrderBook("native", USDC))


def test_offer_chart_renders_each_offer_and_the_account_in_colour():
    """The PNG has the chart's size, green bids, red asks and gold own offers; one bar per offer."""
    import exchange_reference as ref
    import matplotlib.pyplot as plt

    from stellar_ob.plot import plot_offers

    ob, added = _random_offer_book(ref.load_impl("c"), random.Random(5), 40)
    account = SELLERS[0]
    fig, ax = plt.subplots(figsize=(8, 4.5), dpi=100)
    assert plot_offers(ob, ax=ax, depth=None, account=account) is ax
    own = sum(1 for a in added if a[5] == account)
    assert own > 0
    assert len(ax.patches) == len(added)  # every offer is its own rectangle
    labels = [t.get_text() for t in ax.get_legend().get_texts()]
    assert labels[:2] == ["bids", "asks"] and labels[2].startswith(account[:6]) and f"({own} offers)" in labels[2]
    from stellar_ob.plot import _OWN_COLOUR

    legend = ax.get_legend()
    handles = getattr(legend, "legend_handles", None) or legend.legendHandles
    assert matplotlib.colors.to_hex(handles[2].get_facecolor()) == matplotlib.colors.to_hex(_OWN_COLOUR)
    buf = io.BytesIO()
    fig.savefig(buf, format="png")
    plt.close(fig)
    img = matplotlib.image.imread(io.BytesIO(buf.getvalue()))
    assert img.shape[:2] == (450, 800)
    rgb = img[..., :3]
    green = (rgb[..., 1] > 0.5) & (rgb[..., 0] < 0.35) & (rgb[..., 2] < 0.45)
    red = (rgb[..., 0] > 0.7) & (rgb[..., 1] < 0.4) & (rgb[..., 2] < 0.4)
    gold = (rgb[..., 0] > 0.85) & (rgb[..., 1] > 0.6) & (rgb[..., 1] < 0.8) & (rgb[..., 2] < 0.15)
    assert green.sum() > 100 and red.sum() > 100 and gold.sum() > 20


def test_offer_chart_of_an_empty_book():
    from stellar_ob import OfferBook
    from stellar_ob.plot import OfferChart, offer_chart, plot_offers

    ob = OfferBook("native", USDC)
    assert offer_chart(ob) == OfferChart([], [], 0, 0, None, "native", USDC)
    assert plot_offers(ob).get_title() == "XLM/USDC offers"
