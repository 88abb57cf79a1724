"""apply_snapshot from Python rows: the compiled core reads an exact list in place and converts its
common rows (exact 3-tuples of exact ints) in C, last to first, and every other row on the checked
path. These tests pin what that must not change: the values (any order, any mix of fast and slow
rows, at every border of the fast path), the errors, and each side being the rows as the call
began, whatever code a row or an iterator runs. Both implementations."""

from __future__ import annotations

import random
from fractions import Fraction

import numpy as np
import pytest

from stellar_ob._dtypes import level_dtype
from stellar_ob.errors import AmountOverflowError, InvalidBookError

from conftest import USDC

INT32_MAX = 2**31 - 1
UINT64_MAX = 2**64 - 1


def levels(side_levels):
    return [(lv.price.n, lv.price.d, lv.amount) for lv in side_levels]


class Int(int):
    """An int subclass: read as the int it holds (the checked path)."""


class RowList(list):
    """A row that is not a tuple: unpacked by iteration (the checked path)."""


def _expected(rows, best_first_key):
    """What a side holds: equal values summed, zeros dropped, best first (plain Fractions)."""
    acc = {}
    for n, d, a in rows:
        f = Fraction(int(n), int(d))
        cur = acc.get(f)
        if cur is None:
            acc[f] = [int(n), int(d), int(a)]
        else:
            cur[2] += int(a)
            if int(d) < cur[1]:
                cur[0], cur[1] = int(n), int(d)
    out = [tuple(v) for f, v in sorted(acc.items(), key=lambda kv: best_first_key(kv[0])) if v[2]]
    return out


@pytest.mark.parametrize("seed", range(12))
@pytest.mark.parametrize("order", ["best_first", "worst_first", "shuffled"])
def test_any_mix_of_fast_and_checked_rows_reads_the_same_levels(impl, seed, order):
    """Rows of every kind at random places (exact tuples, int subclasses, lists, amounts
    past 2**63 and at the int32 and uint64 borders, zero amounts, duplicates): the book holds what
    the rows say, whichever row first leaves the fast path."""
    rng = random.Random(seed)
    bid_ticks = sorted(rng.sample(range(1, 5000), 60), reverse=True)   # best first
    ask_ticks = sorted(rng.sample(range(6000, 11000), 60))             # best first

    def row(tick, i):
        amount = rng.choice([rng.randrange(1, 2**31), rng.randrange(2**31, 2**62), 0,
                             rng.randrange(2**63, 2**64 - 2**40)])
        n, d = tick * 3, 3000  # equal values, other spellings: tick/1000
        kind = rng.randrange(8)
        if kind == 0:
            return (Int(n), d, amount)
        if kind == 1:
            return RowList([n, d, Int(amount)])
        if kind == 3:
            return (tick, 1000, amount)
        return (n, d, amount)

    bids = [row(t, i) for i, t in enumerate(bid_ticks)]
    asks = [row(t, i) for i, t in enumerate(ask_ticks)]
    bids.append((INT32_MAX, INT32_MAX // 3 + 1, 5))  # n at the int32 border (price just under 3)
    bids.append(bids[3])  # a duplicate: amounts sum (unless past uint64)
    if order == "worst_first":
        bids.reverse()
        asks.reverse()
    elif order == "shuffled":
        rng.shuffle(bids)
        rng.shuffle(asks)
    want_bids = _expected(bids, lambda f: -f)
    want_asks = _expected(asks, lambda f: f)
    book = impl.OrderBook("XLM", USDC)
    if any(a > UINT64_MAX for _, _, a in want_bids + want_asks):
        with pytest.raises(AmountOverflowError):
            book.apply_snapshot(bids, asks)
        return
    book.apply_snapshot(bids, asks)
    book.check()
    assert levels(book.bids()) == want_bids
    assert levels(book.asks()) == want_asks
    # the same rows from tuples and from numpy give the same book
    other = impl.OrderBook("XLM", USDC)
    other.apply_snapshot(tuple(bids), tuple(asks))
    assert other == book
    arr = impl.OrderBook("XLM", USDC)
    arr.apply_snapshot(np.array([tuple(int(x) for x in r) for r in bids], dtype=level_dtype()),
                       np.array([tuple(int(x) for x in r) for r in asks], dtype=level_dtype()))
    assert arr == book


@pytest.mark.parametrize("bad_at", [0, 1, 150, 299])
@pytest.mark.parametrize("bad,exc", [
    ((0, 1000, 5), InvalidBookError),
    ((1, 0, 5), InvalidBookError),
    ((INT32_MAX + 1, 1000, 5), InvalidBookError),
    ((1, 1000, -1), InvalidBookError),
    ((1, 1000, 1.0), InvalidBookError),
    ((1, 1000, True), InvalidBookError),
    ((1, 1000), InvalidBookError),
    ((1, 1000, 2, 3), InvalidBookError),
    ((1, 1000, UINT64_MAX + 1), AmountOverflowError),
    ("abc", InvalidBookError),
    (None, InvalidBookError),
])
def test_a_bad_row_anywhere_raises_and_leaves_the_book(impl, bad_at, bad, exc):
    """A bad row after, before or among fast rows: the same exception, and the book as it was."""
    book = impl.OrderBook("XLM", USDC)
    book.apply_snapshot([(5, 1000, 1)], [(6000, 1000, 1)])
    rows = [(5000 - i, 1000, 7) for i in range(300)]
    rows[bad_at] = bad
    for bids, asks in ((rows, [(6000, 1000, 1)]), ([(1, 1000, 1)], [(6000 + i, 1000, 1) if r != bad else r
                                                                      for i, r in enumerate(rows)])):
        with pytest.raises(exc):
            book.apply_snapshot(bids, asks)
        assert levels(book.bids()) == [(5, 1000, 1)] and levels(book.asks()) == [(6000, 1000, 1)]
        book.check()


def test_bid_rows_as_the_call_began_when_the_asks_iterator_changes_them(impl):
    """The bids list is not read in place when reading the asks runs code (a generator): that code
    empties and refills the bids list, and the book holds the bids the caller handed in."""
    bids = [(100 - i, 1000, 5) for i in range(50)]
    want = list(bids)

    def asks():
        bids.clear()
        bids.extend([(999, 1000, 1)] * 70)  # would cross the asks, and changes the length
        yield (2000, 1000, 3)

    book = impl.OrderBook("XLM", USDC)
    book.apply_snapshot(bids, asks())
    assert levels(book.bids()) == want and levels(book.asks()) == [(2000, 1000, 3)]
    book.check()


def test_ask_rows_as_the_call_began_when_a_bid_row_changes_them(impl):
    """A bid row's __iter__ (the checked path) that rewrites the asks list, after the fast rows of
    both lists were read: the asks are the rows handed in, not the rewritten ones."""
    asks = [(2000 + i, 1000, 4) for i in range(40)]
    want = list(asks)

    class Row:
        def __iter__(self):
            asks[:] = [(1, 1000, 1)] * 3  # would cross, and changes the length
            return iter((10, 1000, 9))

    bids = [(50, 1000, 1), Row(), (5, 1000, 2)]
    book = impl.OrderBook("XLM", USDC)
    book.apply_snapshot(bids, asks)
    assert levels(book.bids()) == [(50, 1000, 1), (10, 1000, 9), (5, 1000, 2)]
    assert levels(book.asks()) == want
    book.check()


def test_a_list_row_that_appends_to_the_bids_list_after_fast_rows(impl):
    """The first non-tuple row comes after fast rows and grows the list being read: the rows are
    the ones handed in (the fast prefix is not read again, nothing past them is written)."""
    rows = [(900 - i, 1000, 5) for i in range(100)]

    class Row:
        def __iter__(self):
            rows.extend([(1, 1000, 1)] * 10_000)
            return iter((500, 1000, 6))

    rows.append(Row())
    rows.extend([(400 - i, 1000, 7) for i in range(100)])
    want = [(900 - i, 1000, 5) for i in range(100)] + [(500, 1000, 6)] + [(400 - i, 1000, 7) for i in range(100)]
    book = impl.OrderBook("XLM", USDC)
    book.apply_snapshot(rows, [])
    assert levels(book.bids()) == want
    assert len(rows) == 10_201
    book.check()


def test_normalised_sides_in_either_strict_order_and_equal_neighbours(impl):
    """Input already worst first, best first, or with two equal neighbouring prices (not strictly
    ordered: summed on the sorting path), with zero amounts anywhere in it."""
    best_first = [(100 - i, 100, i % 5) for i in range(60)]
    book = impl.OrderBook("XLM", USDC)
    want = [r for r in best_first if r[2]]
    for rows in (best_first, best_first[::-1]):
        book.apply_snapshot(rows, [])
        assert levels(book.bids()) == want
        book.check()
    equal = [(100 - i, 100, 1) for i in range(10)]
    equal.insert(4, (192, 200, 5))  # 96/100 next to 96/100
    book.apply_snapshot(equal, [])
    got = levels(book.bids())
    assert got[4] == (96, 100, 6) and len(got) == 10
    book.check()
