"""Results without object churn (issue 18): a BookDiff's changes as a numpy view of its packed C
array, and apply_snapshot from plain (n, d, amount) tuples on the borrowed-pointer path. Both
implementations give the same arrays, the same books and the same errors."""

from __future__ import annotations

import gc
import json
import random

import numpy as np
import pytest

from stellar_ob.book import _pure
from stellar_ob._dtypes import diff_dtype, level_dtype
from stellar_ob.errors import AmountOverflowError, CrossedBookError, InvalidBookError

from conftest import USDC, load_c


def _doc(book, bids, asks) -> str:
    from stellar_ob import format_amount

    def lv(n, d, a):
        return {"price_r": {"n": n, "d": d}, "price": str(_pure.Price(n, d)), "amount": format_amount(a)}

    return json.dumps({"bids": [lv(*x) for x in bids], "asks": [lv(*x) for x in asks],
                       "base": book.base.to_horizon_json(), "counter": book.counter.to_horizon_json()})


def _random_side(rng: random.Random, lo: int, hi: int, k: int):
    prices = rng.sample(range(lo, hi), k)
    return [(p, 1000, rng.randint(1, 10**12)) for p in prices]


@pytest.mark.parametrize("seed", range(8))
def test_diff_arrays_are_the_same_on_both_implementations(seed):
    rng = random.Random(seed)
    c, py = load_c().OrderBook("XLM", USDC), _pure.OrderBook("XLM", USDC)
    for _ in range(20):
        bids = _random_side(rng, 100, 200, rng.randint(0, 30))
        asks = _random_side(rng, 200, 300, rng.randint(0, 30))
        doc = _doc(c, bids, asks)
        dc, dp = c.apply_horizon(doc), py.apply_horizon(doc)
        ac, ap = dc.to_numpy(), dp.to_numpy()
        assert ac.dtype == ap.dtype == diff_dtype() and ac.dtype.itemsize == 32
        assert ac.tolist() == ap.tolist()
        assert ac.tolist() == [(0 if ch.side == "bid" else 1, ch.price.n, ch.price.d, ch.old_amount, ch.new_amount)
                               for ch in dp]
        assert not ac.flags.writeable and not ap.flags.writeable


def test_a_diff_array_is_a_view_that_outlives_its_diff():
    book = load_c().OrderBook("XLM", USDC)
    diff = book.apply_horizon(_doc(book, [(150, 1000, 5), (149, 1000, 2**63)], [(250, 1000, 7)]))
    arr = diff.to_numpy()
    assert not arr.flags.owndata and isinstance(arr.base, bytes)  # the diff's own packed changes
    with pytest.raises(ValueError):
        arr["new_amount"][0] = 1  # read-only: the diff is immutable
    expected = [(0, 150, 1000, 0, 5), (0, 149, 1000, 0, 2**63), (1, 250, 1000, 0, 7)]
    del diff
    gc.collect()
    assert arr.tolist() == expected  # the view holds the bytes alive
    assert arr.copy().flags.writeable
    assert arr["side"].tolist() == [0, 0, 1] and arr["new_amount"].dtype == np.uint64


def test_an_empty_diff_array(impl):
    arr = impl.BookDiff([], []).to_numpy()
    assert arr.shape == (0,) and arr.dtype == diff_dtype()
    core = load_c()
    arr = core.BookDiff.__new__(core.BookDiff).to_numpy()  # never initialised: no changes, no crash
    assert arr.shape == (0,) and arr.dtype == diff_dtype()


# ---- apply_snapshot from tuples ------------------------------------------------------------------------

@pytest.mark.parametrize("seed", range(8))
def test_snapshot_from_tuples_equals_the_numpy_path(impl, seed):
    rng = random.Random(seed)
    bids = _random_side(rng, 100, 400, 200)
    asks = _random_side(rng, 400, 700, 200)
    rng.shuffle(bids)  # out of order: sorted by the book
    a, b = impl.OrderBook("XLM", USDC), impl.OrderBook("XLM", USDC)
    a.apply_snapshot(bids, asks)
    b.apply_snapshot(np.array(bids, dtype=level_dtype()), np.array(asks, dtype=level_dtype()))
    a.check()
    assert a.bids() == b.bids() and a.asks() == b.asks() and len(a) == 400
    assert a.bids() == _pure_book(bids, asks).bids()


def _pure_book(bids, asks):
    book = _pure.OrderBook("XLM", USDC)
    book.apply_snapshot(bids, asks)
    return book


class Big(int):
    def __index__(self):  # never called: the int it holds decides
        raise AssertionError("a subclass method ran")


@pytest.mark.parametrize("rows, error", [
    ([(1, 2, 3), (1, 3)], InvalidBookError),                    # a short tuple after good ones
    ([(1, 2, 3), (1, 3, 4, 5)], InvalidBookError),
    ([(1, 2, 3), (0, 3, 4)], InvalidBookError),                 # n out of range
    ([(1, 2, 3), (1, 2**31, 4)], InvalidBookError),
    ([(1, 2, 3), (1, 3, -1)], InvalidBookError),
    ([(1, 2, 3), (1, 3, 2**64)], AmountOverflowError),
    ([(1, 2, 3), (1, 3, 1.0)], InvalidBookError),
    ([(1, 2, 3), (True, 3, 1)], InvalidBookError),
    ([(1, 2, 3), "abc"], InvalidBookError),
    ([(1, 2, 3), None], InvalidBookError),
])
def test_a_bad_row_after_good_ones_leaves_the_book(impl, rows, error):
    book = impl.OrderBook("XLM", USDC)
    book.apply_snapshot([(1, 10, 5)], [(9, 1, 7)])
    with pytest.raises(error):
        book.apply_snapshot(rows, [])
    assert [(l.price.n, l.price.d, l.amount) for l in book.bids()] == [(1, 10, 5)]
    assert [(l.price.n, l.price.d, l.amount) for l in book.asks()] == [(9, 1, 7)]


def test_mixed_rows_read_as_the_values_they_hold(impl):
    """Lists, tuple subclasses and int subclasses among plain tuples: the same book on both paths."""
    from collections import namedtuple

    Row = namedtuple("Row", "n d amount")
    rows = [(3, 10, 5), [2, 10, Big(6)], Row(1, 10, 7), (Big(4), 100, 8), (5, 100, Big(2**64 - 1))]
    book = impl.OrderBook("XLM", USDC)
    book.apply_snapshot(rows, [])
    assert [(l.price.n, l.price.d, l.amount) for l in book.bids()] == [
        (3, 10, 5), (2, 10, 6), (1, 10, 7), (5, 100, 2**64 - 1), (4, 100, 8)]


# ---- apply_diff from a BookDiff or its array ----------------------------------------------------------

@pytest.mark.parametrize("seed", range(6))
def test_a_mirror_book_follows_by_diffs_and_arrays(impl, seed):
    """A book that applies each diff of another (as the diff, as its array, as its array copied
    into plain (side, n, d, amount) fields) stays equal to it."""
    rng = random.Random(seed)
    src = impl.OrderBook("XLM", USDC)
    mirrors = [impl.OrderBook("XLM", USDC) for _ in range(3)]
    plain = np.dtype([("side", "i1"), ("n", "<i4"), ("d", "<i4"), ("amount", "<u8")])
    for _ in range(15):
        diff = src.apply_horizon(_doc(src, _random_side(rng, 100, 200, rng.randint(0, 25)),
                                      _random_side(rng, 200, 300, rng.randint(0, 25))))
        arr = diff.to_numpy()
        mirrors[0].apply_diff(diff)
        mirrors[1].apply_diff(arr)
        other = np.zeros(len(arr), dtype=plain)
        for f in ("side", "n", "d"):
            other[f] = arr[f]
        other["amount"] = arr["new_amount"]
        mirrors[2].apply_diff(other)
        for m in mirrors:
            m.check()
            assert m.bids() == src.bids() and m.asks() == src.asks()


def test_a_diff_from_the_other_implementation_applies_too():
    c, py = load_c().OrderBook("XLM", USDC), _pure.OrderBook("XLM", USDC)
    doc = _doc(c, [(150, 1000, 5)], [(250, 1000, 7)])
    c2, py2 = load_c().OrderBook("XLM", USDC), _pure.OrderBook("XLM", USDC)
    c2.apply_diff(py.apply_horizon(doc))   # LevelChange objects of the twin
    py2.apply_diff(c.apply_horizon(doc))   # the compiled diff, iterated
    assert c2.bids() == c.bids() and py2.asks() == py.asks()


@pytest.mark.parametrize("bad", [2, -1, 7])
def test_a_bad_side_in_an_array_leaves_the_book(impl, bad):
    book = impl.OrderBook("XLM", USDC)
    book.apply_snapshot([(1, 10, 5)], [(9, 1, 7)])
    arr = np.zeros(3, dtype=diff_dtype())
    arr["n"], arr["d"], arr["new_amount"] = [1, 2, 3], [10, 10, 10], [1, 2, 3]
    arr["side"][1] = bad
    with pytest.raises(InvalidBookError, match="side must be 0"):
        book.apply_diff(arr)
    assert book.bids()[0].amount == 5 and len(book) == 2


@pytest.mark.parametrize("values, error", [((0, 10, 1), InvalidBookError), ((1, 0, 1), InvalidBookError),
                                           ((-5, 10, 1), InvalidBookError)])
def test_bad_prices_in_an_array_leave_the_book(impl, values, error):
    book = impl.OrderBook("XLM", USDC)
    book.apply_snapshot([(1, 10, 5)], [(9, 1, 7)])
    arr = np.zeros(2, dtype=diff_dtype())
    arr[0] = (0, 1, 20, 0, 9)
    arr[1] = (1, *values[:2], 0, values[2])
    with pytest.raises(error):
        book.apply_diff(arr)
    assert [(l.price.n, l.price.d, l.amount) for l in book.bids()] == [(1, 10, 5)] and len(book) == 2


def test_a_crossing_array_leaves_the_book(impl):
    book = impl.OrderBook("XLM", USDC)
    book.apply_snapshot([(1, 10, 5)], [(9, 1, 7)])
    arr = np.zeros(1, dtype=diff_dtype())
    arr[0] = (0, 10, 1, 0, 3)  # a bid above the ask
    with pytest.raises(CrossedBookError):
        book.apply_diff(arr)
    assert len(book) == 2 and book.best_bid().amount == 5


def test_arrays_without_the_fields_are_refused(impl):
    book = impl.OrderBook("XLM", USDC)
    with pytest.raises(InvalidBookError, match="fields side"):
        book.apply_diff(np.zeros(2, dtype=level_dtype()))
    with pytest.raises(InvalidBookError, match="one dimension"):
        book.apply_diff(np.zeros((2, 2), dtype=diff_dtype()))
    assert len(book) == 0
