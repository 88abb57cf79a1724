"""Merging two book diffs into one, for both L2 implementations (``BookDiff.merged``)."""

from __future__ import annotations

from fractions import Fraction
from typing import Any

BID, ASK = "bid", "ask"


def merge_diffs(first: Any, second: Any, diff_cls: Any, change_cls: Any, price_cls: Any) -> Any:
    """The diff ``first`` then ``second`` amount to: per (side, price value) the first old amount
    and the last new amount, changes that cancel out dropped, each side best first. O(k log k)
    for k changes in all; the classes say which implementation's objects to build."""
    merged: dict = {}
    for c in list(first) + list(second):
        key = (c.side, Fraction(c.price.n, c.price.d))
        if key in merged:
            merged[key] = (c.price, merged[key][1], c.new_amount)
        else:
            merged[key] = (c.price, c.old_amount, c.new_amount)
    out: dict = {BID: [], ASK: []}
    for (side, value), (price, old, new) in merged.items():
        if old != new:
            out[side].append((value, change_cls(side, price_cls(price.n, price.d), old, new)))
    out[BID].sort(key=lambda t: t[0], reverse=True)
    out[ASK].sort(key=lambda t: t[0])
    return diff_cls([c for _, c in out[BID]], [c for _, c in out[ASK]])
