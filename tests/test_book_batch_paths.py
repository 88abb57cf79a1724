"""apply_diff's fast paths (issue 18), on both implementations.

The compiled core converts a batch of more than 16 changes into one reused scratch block (taken
by a call and given back when it returns; a re-entrant call allocates its own) and applies a
batch on a shallow side change by change with a search of the best 32 levels first (csrc/book.c,
TOP_WINDOW). These tests drive both through their edges: batches around the sizes where the
buffer changes (16/17, 1024/1025), changes whose __iter__ re-enters apply_diff while the outer
call holds the scratch, failures halfway through a conversion, and random batches on sides whose
depth is around the window, checked level by level against the pure twin and a dict model.
"""

from __future__ import annotations

import random

import pytest

from stellar_ob.book import _pure
from stellar_ob.errors import AmountError, CrossedBookError, InvalidBookError

from conftest import USDC

ASK0, BID0 = 1_000_000, 999_000  # ticks of n / 10^7: asks from ASK0 up, bids from BID0 down
SCALE = 10_000_000


def _book(mod, depth):
    b = mod.OrderBook("XLM", USDC)
    b.apply_snapshot(bids=[(BID0 - 3 * i, SCALE, 1_000 + i) for i in range(depth)],
                     asks=[(ASK0 + 3 * i, SCALE, 2_000 + i) for i in range(depth)])
    return b


def _levels(book):
    return ([(lv.price.n, lv.price.d, lv.amount) for lv in book.bids()],
            [(lv.price.n, lv.price.d, lv.amount) for lv in book.asks()])


def _model(book):
    """{(side, tick): amount} of a book whose prices are all tick / SCALE."""
    bids, asks = _levels(book)
    m = {}
    for side, rows in (("bid", bids), ("ask", asks)):
        for n, d, a in rows:
            assert d == SCALE
            m[(side, n)] = a
    return m


def _random_batch(rng, model, k, depth):
    """k changes, most within the best ~40 levels of a side, some anywhere: updates, new prices
    (between levels or beyond the worst), removals, repeats of a price in one batch, and the
    same price spelled with a different n/d; never crossing."""
    batch = []
    for _ in range(k):
        side = rng.choice(("bid", "ask"))
        sgn = -1 if side == "bid" else 1
        top = BID0 if side == "bid" else ASK0
        span = 40 if rng.random() < 0.85 else 3 * depth + 10
        tick = top + sgn * rng.randrange(span)
        r = rng.random()
        amount = 0 if r < 0.25 else rng.randrange(1, 10**12)
        if rng.random() < 0.1:
            batch.append((side, 2 * tick, 2 * SCALE, amount))  # the same level, spelled 2n/2d
        else:
            batch.append((side, tick, SCALE, amount))
        if amount:
            model[(side, tick)] = amount
        else:
            model.pop((side, tick), None)
    return batch


def _check_model(book, model):
    bids, asks = _levels(book)
    got = {("bid", n * SCALE // d): a for n, d, a in bids}
    got.update({("ask", n * SCALE // d): a for n, d, a in asks})
    assert got == model
    book.check()


@pytest.mark.parametrize("depth", [0, 1, 31, 32, 33, 34, 64, 200, 511])
def test_random_batches_around_the_top_window(impl, depth):
    """Both implementations agree with a dict model batch after batch, on sides shorter than,
    equal to and deeper than the window, with batches of 1 to 130 changes."""
    rng = random.Random(depth * 7919 + 1)
    book = _book(impl, depth)
    model = _model(book)
    for step in range(60):
        k = rng.choice((1, 2, 5, 16, 17, 40, 100, 130))
        book.apply_diff(_random_batch(rng, model, k, depth))
        _check_model(book, model)


@pytest.mark.parametrize("k", [16, 17, 100, 1024, 1025, 3000])
def test_batch_sizes_around_the_buffers(impl, k):
    """Around the stack block (16), the reused scratch (up to 1024) and past it: every change
    lands, and the compiled book equals the pure twin's."""
    rng = random.Random(k)
    book, twin = _book(impl, 200), _book(_pure, 200)
    model = _model(book)
    for _ in range(3):
        batch = _random_batch(rng, model, k, 200)
        book.apply_diff(batch)
        twin.apply_diff(batch)
    _check_model(book, model)
    assert _levels(book) == _levels(twin)


class _ReenterRow(tuple):
    """A change whose __iter__ first applies another batch (to any book): a tuple subclass is
    unpacked through its __iter__ (both implementations), which on the compiled core runs while
    the outer apply_diff holds the scratch block."""

    def __new__(cls, change, action):
        self = super().__new__(cls, change)
        self.action = action
        return self

    def __iter__(self):
        self.action()
        return tuple.__iter__(self)


@pytest.mark.parametrize("same_book", [False, True])
def test_reentrant_apply_diff_keeps_both_batches(impl, same_book):
    """The outer batch (40 changes, converted through the scratch) is interrupted at its 20th
    change by an __iter__ that applies a 50-change batch (the inner call must take its own
    buffer, or it would overwrite the 19 changes already converted). Both batches land, the
    inner one first (it ran while the outer was still converting)."""
    rng = random.Random(5)
    outer_book = _book(impl, 200)
    inner_book = outer_book if same_book else _book(impl, 200)
    model_outer = _model(outer_book)
    model_inner = model_outer if same_book else _model(inner_book)
    # The inner batch is drawn (and modelled) before the outer one: it is applied first.
    inner = _random_batch(rng, model_inner, 50, 200)
    outer = _random_batch(rng, model_outer, 40, 200)
    calls = []
    outer[19] = _ReenterRow(outer[19], lambda: calls.append(inner_book.apply_diff(inner)))
    outer_book.apply_diff(outer)
    assert len(calls) == 1
    _check_model(outer_book, model_outer)
    _check_model(inner_book, model_inner)


def test_an_error_halfway_leaves_the_book_and_the_next_batch_applies(impl):
    """A conversion that fails at change 30 of 40 (a negative amount, then a non-int) leaves
    the book as it was, and the next big batch still applies in full (the scratch was given
    back)."""
    rng = random.Random(9)
    book = _book(impl, 200)
    before = _levels(book)
    model = _model(book)
    for bad in (-5, "7", 2**64):
        trial = dict(model)
        batch = _random_batch(rng, trial, 40, 200)
        side, n, d, _ = batch[29]
        batch[29] = (side, n, d, bad)
        with pytest.raises((AmountError, InvalidBookError)):
            book.apply_diff(batch)
        assert _levels(book) == before
    for _ in range(3):
        book.apply_diff(_random_batch(rng, model, 40, 200))
    _check_model(book, model)


def test_reentrant_call_that_fails_does_not_disturb_the_outer_batch(impl):
    """The inner apply_diff (run from an __iter__ of the outer batch) raises CrossedBookError;
    the outer batch is unaffected and lands whole."""
    rng = random.Random(11)
    book = _book(impl, 200)
    other = _book(impl, 200)
    model = _model(book)
    outer = _random_batch(rng, model, 40, 200)
    crossing = [("bid", ASK0 + 1, SCALE, 5)] + [("ask", ASK0 + 3 * 300 + i, SCALE, 7) for i in range(30)]
    raised = []

    def inner():
        try:
            other.apply_diff(crossing)
        except CrossedBookError:
            raised.append(True)

    outer[25] = _ReenterRow(outer[25], inner)
    other_before = _levels(other)
    book.apply_diff(outer)
    assert raised == [True]
    assert _levels(other) == other_before
    _check_model(book, model)
