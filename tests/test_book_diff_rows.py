"""apply_diff from a list of changes: the compiled core converts the common changes (exact
4-tuples of an exact "bid"/"ask" and exact ints) in C, reading the list in place, and the first
other change and the rest on the checked path by index. These tests pin what that must not
change: the values for any mix of changes, every border of the fast path, the errors, and the
refusal of a list that changes length while it is read. Both implementations."""

from __future__ import annotations

import random

import pytest

from stellar_ob.errors import AmountOverflowError, CrossedBookError, InvalidBookError

from conftest import USDC

INT32_MAX = 2**31 - 1
UINT64_MAX = 2**64 - 1


def levels(side_levels):
    return [(lv.price.n, lv.price.d, lv.amount) for lv in side_levels]


class Side(str):
    """A str subclass: read as the str it holds, never through its __eq__."""

    def __eq__(self, other):  # pragma: no cover - must never decide anything
        raise AssertionError("a side's __eq__ ran")

    __hash__ = str.__hash__


class Int(int):
    pass


def _reference(start_bids, start_asks, changes):
    """The book after the changes, one set_level at a time on a dict (value-keyed)."""
    from fractions import Fraction

    sides = {"bid": {}, "ask": {}}
    for name, rows in (("bid", start_bids), ("ask", start_asks)):
        for n, d, a in rows:
            sides[name][Fraction(n, d)] = [n, d, a]
    for s, n, d, a in changes:
        s, n, d, a = str(s), int(n), int(d), int(a)
        f = Fraction(n, d)
        if a == 0:
            sides[s].pop(f, None)
        elif f in sides[s]:
            sides[s][f][2] = a
        else:
            sides[s][f] = [n, d, a]
    bids = [tuple(v) for f, v in sorted(sides["bid"].items(), key=lambda kv: -kv[0])]
    asks = [tuple(v) for f, v in sorted(sides["ask"].items(), key=lambda kv: kv[0])]
    return bids, asks


@pytest.mark.parametrize("depth", [50, 700])  # the one-by-one path and the planned path
@pytest.mark.parametrize("seed", range(8))
def test_any_mix_of_fast_and_checked_changes(impl, seed, depth):
    rng = random.Random(seed)
    bids = [(5000 - 2 * i, 1000, 10 + i) for i in range(depth)]
    asks = [(6000 + 2 * i, 1000, 20 + i) for i in range(depth)]
    changes = []
    for j in range(120):
        side = rng.choice(["bid", "ask"])
        i = rng.randrange(depth)
        n = (5000 - 2 * i if side == "bid" else 6000 + 2 * i) + rng.choice([0, 0, 1])
        amount = rng.choice([0, rng.randrange(1, 2**40), rng.randrange(2**62, 2**64)])
        d = 1000
        kind = rng.randrange(10)
        if kind == 0:
            side = "".join(["b", "i", "d"]) if side == "bid" else "".join(["a", "s", "k"])  # not interned
        elif kind == 1:
            side = Side(side)
        elif kind == 2:
            n, d = Int(n * 7), 7000  # the same value, another spelling, an int subclass
        elif kind == 3:
            amount = Int(amount)
        elif kind == 4:
            changes.append(impl.LevelChange(side, impl.Price(n, d), 0, amount))
            continue
        changes.append((side, n, d, amount))
    want = _reference(bids, asks, [(c.side, c.price.n, c.price.d, c.new_amount) if hasattr(c, "new_amount") else c
                                   for c in changes])
    book = impl.OrderBook("XLM", USDC)
    book.apply_snapshot(bids, asks)
    book.apply_diff(changes)
    book.check()
    got = (levels(book.bids()), levels(book.asks()))
    # levels keep the n/d they were first given: compare by value and amount
    from fractions import Fraction

    def norm(rows):
        return [(Fraction(n, d), a) for n, d, a in rows]

    assert norm(got[0]) == norm(want[0]) and norm(got[1]) == norm(want[1])
    other = impl.OrderBook("XLM", USDC)
    other.apply_snapshot(bids, asks)
    other.apply_diff(tuple(changes))
    assert other == book


@pytest.mark.parametrize("bad_at", [0, 1, 17, 99])
@pytest.mark.parametrize("bad,exc", [
    (("bid", 0, 1000, 5), InvalidBookError),
    (("bid", 1, 0, 5), InvalidBookError),
    (("bid", INT32_MAX + 1, 1000, 5), InvalidBookError),
    (("bid", 1, 1000, -1), InvalidBookError),
    (("bid", 1, 1000, 1.0), InvalidBookError),
    (("bid", 1, 1000, True), InvalidBookError),
    (("bid", True, 1000, 1), InvalidBookError),
    (("bids", 1, 1000, 1), InvalidBookError),
    (("Bid", 1, 1000, 1), InvalidBookError),
    (("bi", 1, 1000, 1), InvalidBookError),
    ((b"bid", 1, 1000, 1), InvalidBookError),
    (("bid", 1, 1000), InvalidBookError),
    (("bid", 1, 1000, UINT64_MAX + 1), AmountOverflowError),
    (("bid", 7000, 1000, 1), CrossedBookError),
    (None, InvalidBookError),
])
def test_a_bad_change_anywhere_raises_and_leaves_the_book(impl, bad_at, bad, exc):
    book = impl.OrderBook("XLM", USDC)
    book.apply_snapshot([(5000 - i, 1000, 3) for i in range(20)], [(6000 + i, 1000, 4) for i in range(20)])
    before = (levels(book.bids()), levels(book.asks()))
    changes = [("bid" if j % 2 else "ask", (4000 if j % 2 else 6500) + j, 1000, j) for j in range(100)]
    changes[bad_at] = bad
    with pytest.raises(exc):
        book.apply_diff(changes)
    assert (levels(book.bids()), levels(book.asks())) == before
    book.check()


def test_uint64_amounts_past_int64_take_the_checked_path(impl):
    book = impl.OrderBook("XLM", USDC)
    book.apply_diff([("bid", 1, 1000, UINT64_MAX), ("ask", 2, 1000, 2**63), ("ask", 3, 1000, 2**63 - 1)])
    assert levels(book.bids()) == [(1, 1000, UINT64_MAX)]
    assert levels(book.asks()) == [(2, 1000, 2**63), (3, 1000, 2**63 - 1)]


@pytest.mark.parametrize("grow", [True, False], ids=["grows", "shrinks"])
def test_a_list_changed_by_a_change_after_fast_changes_is_refused(impl, grow):
    """The first change the C loop leaves (a LevelChange-like object, after 40 fast tuples) edits
    the list while its price is read: refused as before, the book unchanged."""
    book = impl.OrderBook("XLM", USDC)
    book.apply_snapshot([(10, 100, 500)], [(11, 100, 200)])
    changes = [("bid", 1 + i, 1000, 1) for i in range(40)]

    class Sneaky:
        side = "bid"
        new_amount = 7

        @property
        def price(self):
            if grow:
                changes.extend([("bid", 9, 100, 1)] * 100)
            else:
                del changes[41:]
            return impl.Price(9, 100)

    changes.extend([Sneaky(), ("bid", 8, 100, 1), ("bid", 7, 100, 1)])
    with pytest.raises(InvalidBookError, match="modified during apply_diff"):
        book.apply_diff(changes)
    assert levels(book.bids()) == [(10, 100, 500)]
    book.check()


def test_a_list_subclass_is_read_through_its_iterator(impl):
    class Changes(list):
        def __iter__(self):
            return iter([("bid", 5, 100, 9)] * len(self))

    book = impl.OrderBook("XLM", USDC)
    book.apply_diff(Changes([("bid", 1, 100, 1), ("bid", 2, 100, 1)]))
    assert levels(book.bids()) == [(5, 100, 9)]
