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
