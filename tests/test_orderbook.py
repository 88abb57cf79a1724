"""OrderBook behaviour, on both implementations, plus random sequences against a Fraction model."""

from __future__ import annotations

import gc
import os
import pickle
import random
from fractions import Fraction

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

from stellar_ob.book import _pure
from stellar_ob.errors import (
    AmountError, AmountOverflowError, AssetError, CrossedBookError, InvalidBookError, StellarOBError,
)

from conftest import USDC, load_c, skip_rss_under_asan

UINT64_MAX = 2**64 - 1
INT32_MAX = 2**31 - 1


def levels(side_levels):
    return [(lv.price.n, lv.price.d, lv.amount) for lv in side_levels]


@pytest.fixture
def book(impl):
    b = impl.OrderBook("XLM", USDC)
    b.apply_snapshot(bids=[(10, 100, 500), (9, 100, 300)], asks=[(11, 100, 200), (12, 100, 100)])
    b.check()
    return b


def test_snapshot_sorts_best_first_and_reads(book, impl):
    assert levels(book.bids()) == [(10, 100, 500), (9, 100, 300)]
    assert levels(book.asks()) == [(11, 100, 200), (12, 100, 100)]
    assert book.best_bid() == (impl.Price(1, 10), 500)
    assert book.best_ask().price == impl.Price(11, 100) and book.best_ask().amount == 200
    assert book.spread() == Fraction(1, 100)
    assert book.mid() == Fraction(21, 200)
    assert len(book) == 4
    assert [side for side, _ in book] == ["bid", "bid", "ask", "ask"]
    assert levels(book.bids(1)) == [(10, 100, 500)] and book.asks(0) == []


def test_empty_book(impl):
    b = impl.OrderBook("native", USDC)
    assert b.best_bid() is None and b.best_ask() is None
    assert b.spread() is None and b.mid() is None
    assert len(b) == 0 and list(b) == [] and b.bids() == []
    assert b.to_numpy("bid").shape == (0,)
    q = b.quote_buy(10)
    assert (q.base, q.counter, q.levels, q.complete, q.worst_price, q.average_price) == (0, 0, 0, False, None, None)
    b.check()


def test_snapshot_accepts_any_order_and_sums_duplicates(impl):
    b = impl.OrderBook("XLM", USDC)
    b.apply_snapshot(bids=[(1, 4, 5), (1, 2, 7), (2, 4, 3), (1, 3, 0)], asks=[(3, 1, 1), (1, 1, 2)])
    b.check()
    # 1/2 and 2/4 merge (kept as the smallest-denominator spelling); the zero level is dropped
    assert levels(b.bids()) == [(1, 2, 10), (1, 4, 5)]
    assert levels(b.asks()) == [(1, 1, 2), (3, 1, 1)]


def test_snapshot_from_numpy(impl, book):
    arr_b, arr_a = book.to_numpy("bid"), book.to_numpy("ask")
    assert arr_b.dtype.names == ("n", "d", "amount")
    assert arr_b.tolist() == [(10, 100, 500), (9, 100, 300)]
    other = impl.OrderBook("XLM", USDC)
    other.apply_snapshot(arr_b, arr_a)
    assert other == book
    # a structured array with other field types goes through the checked path
    loose = np.array([(1, 2, 3)], dtype=[("n", "i8"), ("d", "i8"), ("amount", "i8")])
    other.apply_snapshot(loose, [])
    assert levels(other.bids()) == [(1, 2, 3)]
    with pytest.raises(InvalidBookError):
        other.apply_snapshot(np.array([(1, 2)], dtype=[("n", "i4"), ("d", "i4")]), [])


@pytest.mark.parametrize("bids,asks,exc", [
    ([(2, 1, 5)], [(1, 1, 5)], CrossedBookError),          # best bid above best ask
    ([(0, 1, 5)], [], InvalidBookError),
    ([(1, 0, 5)], [], InvalidBookError),
    ([(INT32_MAX + 1, 1, 5)], [], InvalidBookError),
    ([(1, 1, -5)], [], InvalidBookError),
    ([(1, 1, 1.5)], [], InvalidBookError),
    ([(1, 1)], [], InvalidBookError),
    ([(1, 1, UINT64_MAX + 1)], [], AmountOverflowError),
    ([(1, 1, UINT64_MAX), (2, 2, 1)], [], AmountOverflowError),  # duplicates sum past uint64
])
def test_bad_snapshot_raises_and_leaves_book(book, bids, asks, exc):
    before = (levels(book.bids()), levels(book.asks()))
    with pytest.raises(exc):
        book.apply_snapshot(bids, asks)
    assert (levels(book.bids()), levels(book.asks())) == before
    book.check()


def test_best_bid_equal_to_best_ask_is_a_legal_book(impl):
    """A passive offer rests at the opposite side's price (core crosses a passive offer only
    against a strictly better one), so bid == ask is a real Stellar book; only bid > ask is not."""
    b = impl.OrderBook("XLM", USDC)
    b.apply_snapshot([(1, 1, 5)], [(2, 2, 7)])  # 1/1 == 2/2
    b.check()
    assert b.spread() == 0 and b.best_bid().price == b.best_ask().price
    b.set_level("bid", 3, 3, 9)  # the same level as 1/1
    b.set_level("ask", 1, 2, 0)
    b.apply_diff([("bid", 1, 1, 4), ("ask", 2, 2, 6)])
    b.check()
    with pytest.raises(CrossedBookError):
        b.set_level("bid", 101, 100, 1)
    with pytest.raises(CrossedBookError):
        b.set_level("ask", 99, 100, 1)
    with pytest.raises(CrossedBookError):
        b.apply_diff([("bid", 1, 1, 0), ("bid", 3, 2, 1)])
    with pytest.raises(CrossedBookError):
        b.apply_snapshot([(2, 1, 5)], [(1, 1, 5)])
    assert levels(b.bids()) == [(1, 1, 4)] and levels(b.asks()) == [(2, 2, 6)]
    other = impl.OrderBook("XLM", USDC)
    diff = other.apply_horizon(_doc_for(other, bids=[(1, 1, 4)], asks=[(2, 2, 6)]))
    assert other == b and len(diff) == 2
    with pytest.raises(CrossedBookError):
        other.apply_horizon(_doc_for(other, bids=[(3, 2, 4)], asks=[(2, 2, 6)]))
    assert other == b
    b.check()


def test_level_totals_above_int64_are_exact(impl):
    b = impl.OrderBook("XLM", USDC)
    big = 9223372036854776807  # Horizon's own test: "922337203685.4776807"
    b.apply_snapshot([(1, 2, big)], [(1, 1, UINT64_MAX)])
    assert b.best_bid().amount == big and b.best_ask().amount == UINT64_MAX
    assert b.to_numpy("ask")["amount"][0] == UINT64_MAX
    q = b.quote_buy(UINT64_MAX)
    assert q.counter == UINT64_MAX and q.complete


def test_set_level_insert_update_remove(book, impl):
    book.set_level("bid", 95, 1000, 42)
    assert levels(book.bids()) == [(10, 100, 500), (95, 1000, 42), (9, 100, 300)]
    book.set_level("bid", 19, 200, 7)  # same value as 95/1000: updates, keeps the first spelling
    assert levels(book.bids())[1] == (95, 1000, 7)
    book.set_level("bid", 95, 1000, 0)
    assert levels(book.bids()) == [(10, 100, 500), (9, 100, 300)]
    book.set_level("ask", 5, 5, 0)  # removing an absent level is a no-op
    book.check()


def test_set_level_that_crosses_is_refused(book):
    before = (levels(book.bids()), levels(book.asks()))
    with pytest.raises(CrossedBookError):
        book.set_level("bid", 12, 100, 1)  # above the best ask 11/100
    with pytest.raises(CrossedBookError):
        book.set_level("ask", 9, 100, 1)  # below the best bid 10/100
    assert (levels(book.bids()), levels(book.asks())) == before


@pytest.mark.parametrize("args,exc", [
    (("buy", 1, 1, 1), InvalidBookError),
    (("bid", 0, 1, 1), InvalidBookError),
    (("bid", 1, -1, 1), InvalidBookError),
    (("bid", 1, 1, -1), InvalidBookError),
    (("bid", 1, 1, UINT64_MAX + 1), AmountOverflowError),
    (("bid", 1.0, 1, 1), InvalidBookError),
    (("bid", 1, 1, "5"), InvalidBookError),
])
def test_set_level_rejects_bad_input(book, args, exc):
    before = levels(book.bids())
    with pytest.raises(exc):
        book.set_level(*args)
    assert levels(book.bids()) == before


def test_apply_diff_is_atomic(book, impl):
    book.apply_diff([("bid", 10, 100, 0), ("ask", 105, 1000, 9), ("bid", 8, 100, 1)])
    assert levels(book.bids()) == [(9, 100, 300), (8, 100, 1)]
    assert levels(book.asks())[0] == (105, 1000, 9)
    before = (levels(book.bids()), levels(book.asks()))
    with pytest.raises(CrossedBookError):  # the batch as a whole would cross
        book.apply_diff([("bid", 9, 100, 0), ("bid", 106, 1000, 5)])
    with pytest.raises(InvalidBookError):  # the last change is bad: nothing applied
        book.apply_diff([("bid", 9, 100, 0), ("bid", 0, 1, 5)])
    with pytest.raises(InvalidBookError):
        book.apply_diff([("bid", 9, 100)])
    assert (levels(book.bids()), levels(book.asks())) == before
    # a batch may cross transiently if it ends uncrossed
    book.apply_diff([("bid", 11, 100, 5), ("ask", 105, 1000, 0), ("ask", 11, 100, 0), ("ask", 12, 100, 0), ("ask", 13, 100, 1)])
    book.check()
    assert book.best_bid().price == impl.Price(11, 100)


def test_apply_diff_takes_level_changes(book, impl):
    other = book.copy()
    diff = other.apply_horizon(_doc_for(other, bids=[(10, 100, 1)], asks=[(11, 100, 2)]))
    book.apply_diff(diff)
    assert book == other


def test_to_numpy_depth_and_side(book):
    a = book.to_numpy("ask", 1)
    assert a.tolist() == [(11, 100, 200)]
    assert book.to_numpy("bid", 10).shape == (2,)
    with pytest.raises(InvalidBookError):
        book.to_numpy("middle")
    for read in (book.bids, book.asks, lambda depth: book.to_numpy("bid", depth)):
        with pytest.raises(InvalidBookError):  # a StellarOBError (and a ValueError), not a bare one
            read(-1)
        with pytest.raises(TypeError):
            read(2.5)
        with pytest.raises(TypeError):
            read(True)
    assert levels(book.bids(10**30)) == levels(book.bids())


def test_quote_buy_rounds_each_level_for_the_maker(impl):
    b = impl.OrderBook("XLM", USDC)
    b.apply_snapshot([], [(1, 3, 10), (2, 3, 10)])
    q = b.quote_buy(15)
    # level 1: 10 base at 1/3 -> ceil(10/3) = 4; level 2: 5 base at 2/3 -> ceil(10/3) = 4
    assert (q.base, q.counter, q.levels, q.complete) == (15, 8, 2, True)
    assert q.worst_price == impl.Price(2, 3) and q.average_price == Fraction(8, 15)
    q = b.quote_buy(25)
    assert (q.base, q.counter, q.complete) == (20, 4 + 7, False)


def test_quote_sell_rounds_for_the_maker(impl):
    b = impl.OrderBook("XLM", USDC)
    b.apply_snapshot([(1, 3, 3), (1, 4, 100)], [])  # bid amounts are counter
    q = b.quote_sell(5)
    # level 1 holds 3 counter: 5 base would need 5/3 -> absorbs all; receive floor(5/3) = 1
    assert (q.base, q.counter, q.levels, q.complete) == (5, 1, 1, True)
    q = b.quote_sell(12)
    # level 1: 12/3 = 4 > 3 counter -> take all 3 counter for ceil(3*3/1) = 9 base;
    # level 2: 3 base left at 1/4 -> floor(3/4) = 0 counter
    assert (q.base, q.counter, q.levels, q.complete) == (12, 3, 2, True)
    with pytest.raises(AmountError):
        b.quote_sell(-1)
    with pytest.raises(AmountOverflowError):
        b.quote_sell(UINT64_MAX + 1)


def test_assets_are_validated(impl):
    with pytest.raises(AssetError):
        impl.OrderBook("XLM", "XLM")
    with pytest.raises(AssetError):
        impl.OrderBook("XLM", "USDC")
    b = impl.OrderBook("native", USDC)
    assert str(b.base) == "native" and str(b.counter) == USDC


def test_copy_pickle_eq(book, impl):
    c = book.copy()
    assert c == book
    c.set_level("bid", 1, 100, 1)
    assert c != book
    p = pickle.loads(pickle.dumps(book))
    assert p == book and type(p) is type(book)


def test_errors_share_one_hierarchy():
    for exc in (CrossedBookError, InvalidBookError, AmountOverflowError, AmountError):
        assert issubclass(exc, StellarOBError) and issubclass(exc, ValueError)


def _rss_bytes() -> int:
    with open("/proc/self/statm") as fh:
        return int(fh.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


@skip_rss_under_asan
@pytest.mark.skipif(not os.path.exists("/proc/self/statm"), reason="needs Linux /proc to read the RSS")
def test_books_free_their_memory(impl):
    """Books created and dropped do not accumulate: every book is collected (weakref) and the
    process's resident memory stays flat over rounds (C arrays are freed with the object). A
    round holds 200 books of 100 levels (about 0.4 MB of levels in C, more in the twin): 20
    leaking rounds would grow the RSS by 8 MB or more, far above the 4 MB allowed for noise."""
    import weakref

    def round_():
        books = [impl.OrderBook("XLM", USDC) for _ in range(200)]
        for b in books:
            b.apply_snapshot([(100 - i, 100, i + 1) for i in range(50)], [(101 + i, 100, i + 1) for i in range(50)])
        refs = [weakref.ref(b) for b in books]
        del books, b
        gc.collect()
        return refs

    for _ in range(3):  # warm up the allocator's arenas
        round_()
    before = _rss_bytes()
    for _ in range(20):
        refs = round_()
        assert all(r() is None for r in refs)
    assert _rss_bytes() - before < 4 << 20


# -- Horizon documents (the same body the stream sends) ------------------------------------------

def _doc_for(book, bids, asks):
    import json

    def lv(n, d, a):
        from stellar_ob import format_amount
        return {"price_r": {"n": n, "d": d}, "price": str(_pure.Price(n, d)), "amount": format_amount(a)}

    return json.dumps({"bids": [lv(*x) for x in bids], "asks": [lv(*x) for x in asks],
                       "base": book.base.to_horizon_json(), "counter": book.counter.to_horizon_json()}, indent=2)


def test_apply_horizon_returns_the_diff(book, impl):
    doc = _doc_for(book, bids=[(10, 100, 500), (85, 1000, 4)], asks=[(11, 100, 250), (12, 100, 100)])
    diff = book.apply_horizon(doc)
    book.check()
    assert [(c.side, c.price.n, c.price.d, c.old_amount, c.new_amount) for c in diff] == [
        ("bid", 9, 100, 300, 0), ("bid", 85, 1000, 0, 4), ("ask", 11, 100, 200, 250)]
    assert len(diff) == 3 and diff
    assert not book.apply_horizon(doc)  # unchanged book: empty diff
    arr = diff.to_numpy()
    assert arr["side"].tolist() == [0, 0, 1] and arr["new_amount"].tolist() == [0, 4, 250]


def test_book_diff_merge_coalesces(impl, book):
    d1 = book.apply_horizon(_doc_for(book, bids=[(10, 100, 1)], asks=[(11, 100, 200), (12, 100, 100)]))
    d2 = book.apply_horizon(_doc_for(book, bids=[(10, 100, 500), (9, 100, 300)], asks=[(11, 100, 7), (12, 100, 100)]))
    merged = d1.merge(d2)
    assert [(c.side, c.price.n, c.old_amount, c.new_amount) for c in merged] == [("ask", 11, 200, 7)]
    assert merged == impl.BookDiff([], [impl.LevelChange("ask", impl.Price(11, 100), 200, 7)])


# -- random sequences against a plain Fraction model, both implementations in lockstep ----------

class Model:
    """A dict of {(side, Fraction): (n, d, amount)}: the obviously-correct book."""

    def __init__(self):
        self.levels = {}

    def crossed(self, levels):
        bids = [k[1] for k in levels if k[0] == "bid"]
        asks = [k[1] for k in levels if k[0] == "ask"]
        return bool(bids and asks and max(bids) > min(asks))

    def set(self, levels, side, n, d, amount):
        key = (side, Fraction(n, d))
        if amount == 0:
            levels.pop(key, None)
        elif key in levels:
            on, od, _ = levels[key]
            levels[key] = (on, od, amount)
        else:
            levels[key] = (n, d, amount)

    def apply(self, changes):
        trial = dict(self.levels)
        for side, n, d, amount in changes:
            self.set(trial, side, n, d, amount)
        if self.crossed(trial):
            return False
        self.levels = trial
        return True

    def snapshot(self, bids, asks):
        trial = {}
        for side, rows in (("bid", bids), ("ask", asks)):
            for n, d, a in rows:
                key = (side, Fraction(n, d))
                if key in trial:
                    on, od, oa = trial[key]
                    trial[key] = (n, d, oa + a) if d < od else (on, od, oa + a)
                else:
                    trial[key] = (n, d, a)
        trial = {k: v for k, v in trial.items() if v[2]}
        if self.crossed(trial):
            return False
        self.levels = trial
        return True

    def side(self, side):
        keys = sorted((k for k in self.levels if k[0] == side), key=lambda k: k[1], reverse=(side == "bid"))
        return [self.levels[k] for k in keys]


prices = st.tuples(st.integers(1, 60), st.sampled_from([1, 2, 3, 4, 6, 10, 30]))
amounts = st.one_of(st.just(0), st.integers(1, 1000), st.integers(2**62, UINT64_MAX // 2))
change = st.tuples(st.sampled_from(["bid", "ask"]), prices, amounts).map(lambda t: (t[0], t[1][0], t[1][1], t[2]))
snapshot = st.tuples(st.lists(st.tuples(prices, amounts), max_size=12), st.lists(st.tuples(prices, amounts), max_size=12))
op = st.one_of(
    st.tuples(st.just("set"), change),
    st.tuples(st.just("diff"), st.lists(change, max_size=8)),
    st.tuples(st.just("snapshot"), snapshot),
    st.tuples(st.just("quote"), st.integers(0, 5000)),
)


def _impls():
    out = [_pure]
    try:
        out.append(load_c())
    except BaseException:  # pytest.skip outside a test
        pass
    return out


@given(st.lists(op, min_size=1, max_size=40))
@settings(max_examples=250, deadline=None)
def test_random_sequences_match_model_and_each_other(ops):
    books = [m.OrderBook("XLM", USDC) for m in _impls()]
    model = Model()
    for kind, arg in ops:
        if kind == "set":
            ok = model.apply([arg])
            for b in books:
                if ok:
                    b.set_level(*arg)
                else:
                    with pytest.raises(CrossedBookError):
                        b.set_level(*arg)
        elif kind == "diff":
            ok = model.apply(arg)
            for b in books:
                if ok:
                    b.apply_diff(arg)
                else:
                    with pytest.raises(CrossedBookError):
                        b.apply_diff(arg)
        elif kind == "snapshot":
            bids = [(n, d, a) for (n, d), a in arg[0]]
            asks = [(n, d, a) for (n, d), a in arg[1]]
            sums = {}
            for side, rows in (("b", bids), ("a", asks)):
                for n, d, a in rows:
                    sums[(side, Fraction(n, d))] = sums.get((side, Fraction(n, d)), 0) + a
            if any(v > UINT64_MAX for v in sums.values()):
                for b in books:
                    with pytest.raises(AmountOverflowError):
                        b.apply_snapshot(bids, asks)
                continue
            ok = model.snapshot(bids, asks)
            for b in books:
                if ok:
                    b.apply_snapshot(bids, asks)
                else:
                    with pytest.raises(CrossedBookError):
                        b.apply_snapshot(bids, asks)
        else:
            quotes = [(b.quote_buy(arg), b.quote_sell(arg)) for b in books]
            for q in quotes[1:]:
                assert q == quotes[0]
            continue
        for b in books:
            b.check()
            assert levels(b.bids()) == model.side("bid")
            assert levels(b.asks()) == model.side("ask")


def test_seeded_stress_replayable(impl):
    """A long seeded run (replay with the printed seed) that checks invariants at every step."""
    seed = 20261121
    rng = random.Random(seed)
    b = impl.OrderBook("XLM", USDC)
    mid = 10_000
    b.apply_snapshot([(mid - 1 - i, 10_000, rng.randint(1, 10**9)) for i in range(200)],
                     [(mid + 1 + i, 10_000, rng.randint(1, 10**9)) for i in range(200)])
    for step in range(3000):
        side = rng.choice(["bid", "ask"])
        depth = rng.randint(0, 19) if rng.random() < 0.9 else rng.randint(20, 250)
        n = mid - 1 - depth if side == "bid" else mid + 1 + depth
        try:
            b.set_level(side, n, 10_000, rng.choice([0, rng.randint(1, 10**12)]))
        except CrossedBookError:  # pragma: no cover - prices here never cross
            pytest.fail(f"seed {seed} step {step}: unexpected cross")
        b.check()
    assert len(b) > 0


@pytest.mark.parametrize("grow", [True, False], ids=["grows", "shrinks"])
def test_apply_diff_refuses_a_list_that_changes_length_while_read(impl, grow):
    """The compiled core sizes its batch buffer from the list's length first; a list that grows
    (or shrinks) while it is read (here by a change whose property edits the list) is refused,
    never overrun, and the book is unchanged. The twin refuses it alike."""
    b = impl.OrderBook("XLM", USDC)
    b.apply_snapshot([(10, 100, 500)], [(11, 100, 200)])
    changes = []

    class Sneaky:
        side = "bid"
        new_amount = 7

        @property
        def price(self):
            if grow:
                changes.extend([("bid", 9, 100, 1)] * 100)
            else:
                del changes[1:]
            return impl.Price(9, 100)

    changes.extend([Sneaky(), ("bid", 8, 100, 1), ("bid", 7, 100, 1)])
    with pytest.raises(InvalidBookError, match="modified during apply_diff"):
        b.apply_diff(changes)
    assert levels(b.bids()) == [(10, 100, 500)]
    b.check()
