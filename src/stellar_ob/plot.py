"""Depth charts of a book: exact cumulative depth, drawn with matplotlib (``pip install stellar-ob[plot]``).

:func:`depth_curve` computes, exactly, what a depth chart shows: for each side, the prices from
the best outwards and the cumulative **base** amount available up to each price (bids, which
Horizon gives in counter units, are converted with their own price: ``counter * d / n``), as
:class:`fractions.Fraction` values in units (not stroops). :func:`plot_depth` draws it as two
step curves (bids green, asks red) with the mid and the spread marked.

Works on an :class:`~stellar_ob.OrderBook`, an :class:`~stellar_ob.OfferBook` (its L2 levels, as
Horizon would group them), and a live book from :meth:`~stellar_ob.Horizon.watch` or
:meth:`~stellar_ob.Horizon.watch_offers` (its current state).

For per-offer (L3) books, :func:`offer_chart` computes, exactly, every offer at its own price: each
exact price level is a bar of its offers stacked in core's crossing order (the first to be crossed
at the bottom), so an offer's height below it is the queue ahead of it at that price;
:func:`plot_offers` draws it, with one account's offers highlighted.

>>> from stellar_ob import OrderBook
>>> book = OrderBook("native", "USDC:GA5ZSEJYB37JRC5AVCIA5MOP4RHTM335X2KGX3IHOJAPP5RE34K4KZVN")
>>> book.apply_snapshot(bids=[(1, 10, 10_000_000), (1, 20, 30_000_000)],  # 1 and 3 USDC
...                     asks=[(1, 5, 20_000_000)])                         # 2 XLM
>>> curve = depth_curve(book)
>>> [(str(p), str(q)) for p, q in curve.bids]     # price (USDC per XLM), cumulative XLM
[('1/10', '10'), ('1/20', '70')]
>>> [(str(p), str(q)) for p, q in curve.asks]
[('1/5', '2')]
>>> str(curve.mid), str(curve.spread)
('3/20', '1/10')
"""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction
from typing import Any, Dict, List, Optional, Tuple

from stellar_ob.errors import StellarOBError

__all__ = ["DepthCurve", "OfferBar", "OfferChart", "depth_curve", "offer_chart", "plot_depth", "plot_offers"]

_STROOPS = 10_000_000


class PlotError(StellarOBError, ValueError):
    """A book or argument :func:`plot_depth` / :func:`depth_curve` cannot use."""


@dataclass(frozen=True)
class DepthCurve:
    """Exact depth of both sides: ``(price, cumulative base amount)`` pairs, best first, in units
    (counter per base; base units, not stroops). ``mid`` and ``spread`` are None when a side is
    empty."""

    bids: List[Tuple[Fraction, Fraction]]
    asks: List[Tuple[Fraction, Fraction]]
    mid: Optional[Fraction]
    spread: Optional[Fraction]
    base: str
    counter: str


def _levels(book: Any, side: str, depth: Optional[int]) -> List[Tuple[int, int, int]]:
    """(n, d, amount) best first, in Horizon's L2 units, from any book we know."""
    levels = getattr(book, "levels", None)
    if callable(levels):  # an OfferBook: its levels as Horizon groups them
        return [(int(n), int(d), int(a)) for n, d, a in levels(side, depth)]
    reader = getattr(book, "bids" if side == "bid" else "asks", None)
    if callable(reader):  # an OrderBook, or a LiveBook delegating to one
        return [(lv.price.n, lv.price.d, int(lv.amount)) for lv in reader(depth)]
    inner = getattr(book, "book", None)  # a live per-offer book holds its OfferBook
    if inner is not None and inner is not book:
        return _levels(inner, side, depth)
    raise PlotError(f"not a book: {type(book).__name__} has neither levels() nor bids()/asks()")


def depth_curve(book: Any, depth: Optional[int] = None) -> DepthCurve:
    """The exact cumulative depth of ``book``'s top ``depth`` levels a side (all if None). O(depth)."""
    if depth is not None and (isinstance(depth, bool) or not isinstance(depth, int) or depth < 1):
        raise PlotError(f"depth must be a positive int or None, not {depth!r}")
    sides = {}
    for side in ("bid", "ask"):
        total = Fraction(0)
        points = []
        for n, d, amount in _levels(book, side, depth):
            price = Fraction(n, d)
            base = Fraction(amount, _STROOPS) if side == "ask" else Fraction(amount * d, n * _STROOPS)
            total += base
            points.append((price, total))
        sides[side] = points
    bids, asks = sides["bid"], sides["ask"]
    mid = spread = None
    if bids and asks:
        mid = (bids[0][0] + asks[0][0]) / 2
        spread = asks[0][0] - bids[0][0]
    base = str(getattr(book, "base", "base"))
    counter = str(getattr(book, "counter", "counter"))
    return DepthCurve(bids, asks, mid, spread, base, counter)


def _code(asset: str) -> str:
    return "XLM" if asset == "native" else asset.split(":", 1)[0]


def plot_depth(book: Any, ax: Any = None, depth: Optional[int] = None, title: Optional[str] = None) -> Any:
    """Draw ``book``'s cumulative depth on ``ax`` (a new figure's axes if None) and return ``ax``.

    Bids are a green step curve, asks a red one, both from the best price outwards; the mid is a
    dashed line and the spread is shaded and given in the legend in bps of the mid. Axes: price in
    counter per base, cumulative amount in base units. Floats appear only here, at drawing time:
    every value is computed exactly by :func:`depth_curve` first.

    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> from stellar_ob import OrderBook
    >>> book = OrderBook("native", "USDC:GA5ZSEJYB37JRC5AVCIA5MOP4RHTM335X2KGX3IHOJAPP5RE34K4KZVN")
    >>> book.apply_snapshot(bids=[(1, 10, 10_000_000)], asks=[(1, 5, 20_000_000)])
    >>> ax = plot_depth(book)
    >>> ax.get_xlabel()
    'price (USDC per XLM)'
    """
    try:
        import matplotlib.pyplot as plt
    except ImportError as e:  # pragma: no cover - depends on the extra
        raise ImportError("depth charts need matplotlib: pip install 'stellar-ob[plot]'") from e
    curve = depth_curve(book, depth)
    if ax is None:
        _, ax = plt.subplots(figsize=(8, 4.5))
    for points, colour, label in ((curve.bids, "#2e9d4f", "bids"), (curve.asks, "#d1453b", "asks")):
        if not points:
            continue
        xs = [float(p) for p, _ in points]
        ys = [float(q) for _, q in points]
        # a step from zero at the best price: the depth available at or better than each price
        xs = [xs[0]] + xs
        ys = [0.0] + ys
        ax.step(xs, ys, where="post", color=colour, label=label, linewidth=1.6)
        ax.fill_between(xs, ys, step="post", color=colour, alpha=0.18)
    if curve.mid is not None and curve.spread is not None:
        bps = float(curve.spread / curve.mid * 10_000) if curve.mid else float("nan")
        ax.axvline(float(curve.mid), color="#555555", linestyle="--", linewidth=1,
                   label=f"mid {float(curve.mid):.7g} (spread {bps:.1f} bps)")
        ax.axvspan(float(curve.bids[0][0]), float(curve.asks[0][0]), color="#999999", alpha=0.15)
    base, counter = _code(curve.base), _code(curve.counter)
    ax.set_xlabel(f"price ({counter} per {base})")
    ax.set_ylabel(f"cumulative depth ({base})")
    ax.set_title(title if title is not None else f"{base}/{counter} depth")
    if curve.bids or curve.asks:
        ax.legend(loc="upper center", fontsize="small")
    ax.grid(True, alpha=0.3)
    return ax


# ---- offer-level (L3) charts --------------------------------------------------------------------------

@dataclass(frozen=True)
class OfferBar:
    """One offer of an offer-level chart, in units (not stroops).

    ``price`` is the offer's exact price in counter per base (a bid's own n/d, base per counter,
    inverted); ``base`` its amount in base units (a bid's counter amount at its own price:
    ``amount * n / d``); ``ahead`` the base of the offers before it at the same exact price (its
    queue position in base: what is crossed at that price before it); ``cumulative`` the base
    available on its side up to and including it (the depth curve, offer by offer); ``own`` True
    when its seller is the chart's account."""

    offer_id: int
    seller: Optional[str]
    price: Fraction
    base: Fraction
    ahead: Fraction
    cumulative: Fraction
    own: bool


@dataclass(frozen=True)
class OfferChart:
    """Every offer of both sides, best price first and in crossing order within a price
    (:class:`OfferBar`); ``levels_bid``/``levels_ask`` count the exact price levels shown."""

    bids: List[OfferBar]
    asks: List[OfferBar]
    levels_bid: int
    levels_ask: int
    account: Optional[str]
    base: str
    counter: str


def _offer_book(book: Any) -> Any:
    """The OfferBook behind ``book`` (itself, or a live per-offer book's)."""
    if callable(getattr(book, "offers", None)) and callable(getattr(book, "levels", None)):
        return book
    inner = getattr(book, "book", None)
    if inner is not None and inner is not book and callable(getattr(inner, "offers", None)):
        return inner
    raise PlotError(f"an offer-level chart needs an OfferBook or a live per-offer book, not {type(book).__name__} "
                    "(an L2 book has no offers: use plot_depth)")


def offer_chart(book: Any, depth: Optional[int] = None, account: Optional[str] = None) -> OfferChart:
    """The exact offer-level chart of ``book``'s top ``depth`` exact price levels a side (all if
    None); ``account`` (a ``G...`` id or None) marks that seller's offers. O(offers).

    >>> from stellar_ob import OfferBook
    >>> ob = OfferBook("native", "USDC:GA5ZSEJYB37JRC5AVCIA5MOP4RHTM335X2KGX3IHOJAPP5RE34K4KZVN")
    >>> ob.add_offer(1, "ask", 1, 5, 20_000_000, seller="GA")   # 2 XLM at 0.2 USDC
    >>> ob.add_offer(2, "ask", 2, 10, 10_000_000, seller="GB")  # 1 XLM at the same price, behind it
    >>> ob.add_offer(3, "bid", 10, 1, 10_000_000)               # 1 USDC for XLM at 10 XLM per USDC
    >>> chart = offer_chart(ob, account="GB")
    >>> [(b.offer_id, str(b.price), str(b.base), str(b.ahead), str(b.cumulative), b.own) for b in chart.asks]
    [(1, '1/5', '2', '0', '2', False), (2, '1/5', '1', '2', '3', True)]
    >>> [(b.offer_id, str(b.price), str(b.base)) for b in chart.bids]
    [(3, '1/10', '10')]
    """
    if depth is not None and (isinstance(depth, bool) or not isinstance(depth, int) or depth < 1):
        raise PlotError(f"depth must be a positive int or None, not {depth!r}")
    if account is not None and not isinstance(account, str):
        raise PlotError(f"account must be a str account id or None, not {type(account).__name__}")
    ob = _offer_book(book)
    sides = {}
    counts = {}
    for side in ("bid", "ask"):
        bars: List[OfferBar] = []
        total = Fraction(0)
        # base queued so far per exact price: core orders offers by the float64 of their price,
        # so two exact prices that round to the same double interleave (by offer id)
        queued: Dict[Fraction, Fraction] = {}
        for offer in ob.offers(side):
            n, d, amount = int(offer.n), int(offer.d), int(offer.amount)
            if side == "ask":  # sells base at n/d counter per base
                price, base = Fraction(n, d), Fraction(amount, _STROOPS)
            else:  # sells counter at n/d base per counter
                price, base = Fraction(d, n), Fraction(amount * n, d * _STROOPS)
            ahead = queued.get(price)
            if ahead is None:
                if depth is not None and len(queued) == depth:
                    break
                ahead = Fraction(0)
            queued[price] = ahead + base
            total += base
            seller = offer.seller
            bars.append(OfferBar(int(offer.offer_id), seller, price, base, ahead, total,
                                 account is not None and seller == account))
        sides[side], counts[side] = bars, len(queued)
    return OfferChart(sides["bid"], sides["ask"], counts["bid"], counts["ask"], account,
                      str(getattr(ob, "base", "base")), str(getattr(ob, "counter", "counter")))


_BID_COLOURS = ("#2e9d4f", "#6cc487")  # alternate offers of a level in two shades: each one is visible
_ASK_COLOURS = ("#d1453b", "#ec8a82")
_OWN_COLOUR = "#f2b705"


def plot_offers(book: Any, ax: Any = None, depth: Optional[int] = 20, account: Optional[str] = None,
                title: Optional[str] = None) -> Any:
    """Draw ``book``'s offers (an OfferBook or a live per-offer book) on ``ax`` (a new figure's
    axes if None) and return ``ax``.

    One bar per exact price level (top ``depth`` a side; None for all), its offers stacked in
    crossing order from the bottom, in two alternating shades (bids green, asks red) with a white
    edge between offers; ``account``'s offers are gold, and the legend gives how many there are.
    Axes: price in counter per base, base amount per level. Every value is computed exactly by
    :func:`offer_chart` first; floats appear only at drawing time.

    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> from stellar_ob import OfferBook
    >>> ob = OfferBook("native", "USDC:GA5ZSEJYB37JRC5AVCIA5MOP4RHTM335X2KGX3IHOJAPP5RE34K4KZVN")
    >>> ob.add_offer(1, "ask", 1, 5, 20_000_000)
    >>> plot_offers(ob).get_ylabel()
    'offers at the price (XLM), first to be crossed at the bottom'
    """
    try:
        import matplotlib.pyplot as plt
    except ImportError as e:  # pragma: no cover - depends on the extra
        raise ImportError("offer charts need matplotlib: pip install 'stellar-ob[plot]'") from e
    chart = offer_chart(book, depth, account)
    if ax is None:
        _, ax = plt.subplots(figsize=(9, 4.5))
    prices = sorted({b.price for b in chart.bids + chart.asks})
    # bars a fraction of the smallest gap between neighbouring prices wide, so no two levels overlap
    gaps = [b - a for a, b in zip(prices, prices[1:])]
    if gaps:
        width = float(min(gaps)) * 0.8
    elif prices:
        width = float(prices[0]) * 0.02 or 1.0
    else:
        width = 1.0
    own = 0
    for bars, shades, label in ((chart.bids, _BID_COLOURS, "bids"), (chart.asks, _ASK_COLOURS, "asks")):
        labelled = False
        for i, bar in enumerate(bars):
            colour = _OWN_COLOUR if bar.own else shades[i % 2]
            own += bar.own
            ax.bar(float(bar.price), float(bar.base), width=width, bottom=float(bar.ahead), color=colour,
                   edgecolor="white", linewidth=0.6, label=None if labelled or bar.own else label)
            labelled = labelled or not bar.own
    handles, labels = ax.get_legend_handles_labels()
    if own:  # a patch of its own: a legend entry from an empty bar takes the colour cycle's, not gold
        from matplotlib.patches import Patch

        handles.append(Patch(color=_OWN_COLOUR))
        labels.append(f"{chart.account[:6]}… ({own} offer{'s' if own != 1 else ''})" if chart.account else "own")
    base, counter = _code(chart.base), _code(chart.counter)
    ax.set_xlabel(f"price ({counter} per {base})")
    ax.set_ylabel(f"offers at the price ({base}), first to be crossed at the bottom")
    ax.set_title(title if title is not None else f"{base}/{counter} offers")
    if chart.bids or chart.asks:
        ax.legend(handles, labels, loc="upper center", fontsize="small")
    ax.grid(True, axis="y", alpha=0.3)
    return ax
