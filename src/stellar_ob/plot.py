"""Depth charts of a book: exact cumulative depth, drawn with matplotlib (``pip install stellar-ob[plot]``).

:func:`depth_curve` computes, exactly, what a depth chart shows: for each side, the prices from
the best outwards and the cumulative **base** amount available up to each price (bids, which
Horizon gives in counter units, are converted with their own price: ``counter * d / n``), as
:class:`fractions.Fraction` values in units (not stroops). :func:`plot_depth` draws it as two
step curves (bids green, asks red) with the mid and the spread marked.

Works on an :class:`~stellar_ob.OrderBook`, an :class:`~stellar_ob.OfferBook` (its L2 levels, as
Horizon would group them), and a live book from :meth:`~stellar_ob.Horizon.watch` or
:meth:`~stellar_ob.Horizon.watch_offers` (its current state).

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
from typing import Any, List, Optional, Tuple

from stellar_ob.errors import StellarOBError

__all__ = ["DepthCurve", "depth_curve", "plot_depth"]

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
