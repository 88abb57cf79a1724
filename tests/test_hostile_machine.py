"""A Hypothesis state machine that calls the books the way a hostile caller would (issue 9).

Two worlds run side by side, one on the compiled core and one on the twin, each with three
OrderBooks and three OfferBooks: books 0 and 1 are called, book 2 is the victim that argument
objects call into. Every argument is drawn as a plain description and made into an object per
world: plain values (right and wrong types, out of range), int/str/list/bytes subclasses whose
comparisons lie and whose methods call into other books, objects whose ``__index__``, ``__iter__``,
properties or ``__del__`` run code, row lists that grow while they are read, numpy arrays (exact,
strided, subclassed) and numpy look-alikes. After every step:

- both worlds did the same thing: the same result, or the same exception class, which is a
  StellarOBError subclass or TypeError (any other exception fails the test);
- on error, the called book is exactly as it was (unless the argument's own code changed it);
- no book other than the called one and the victim changed, and every book is identical across
  the two worlds and passes its invariant check.

It runs in the normal suite (and in CI's ASan/UBSan step) with a bounded number of examples; set
STELLAR_OB_HOSTILE_EXAMPLES for a longer run, e.g. ``STELLAR_OB_HOSTILE_EXAMPLES=2000 pytest
tests/test_hostile_machine.py``.
"""

from __future__ import annotations

import json
import os
from decimal import Decimal

import numpy as np
import pytest
from hypothesis import HealthCheck, settings, strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule

import exchange_reference as ref
from stellar_ob.horizon import _pure as _horizon_pure
from stellar_ob.book import _pure
from stellar_ob._dtypes import level_dtype
from stellar_ob.errors import StellarOBError

from conftest import USDC, load_c

EXAMPLES = int(os.environ.get("STELLAR_OB_HOSTILE_EXAMPLES", "40"))
ISSUER = USDC.split(":")[1]


class World:
    """One implementation's books, and the hostile objects made for it."""

    def __init__(self, core, offers, horizon):
        self.core, self.offers, self.horizon = core, offers, horizon
        self.l2 = [core.OrderBook("XLM", USDC) for _ in range(3)]
        self.l3 = [offers.OfferBook("native", USDC) for _ in range(3)]
        self.touched = set()  # books the argument objects changed during the current step

    # -- what the argument objects' code does --------------------------------------------------

    def callback(self, spec, target):
        """A zero-argument function for a callback description. ``target`` is the called book
        (kind, index): "same" callbacks change it, "victim" ones change book 2, "read" ones only
        read every book."""
        kind = spec[0]
        if kind == "none":
            return lambda: None
        if kind == "read":
            def read():
                for b in self.l2:
                    b.bids(), b.asks(3), b.best_bid(), b.to_numpy("ask", 2), b.spread()
                for b in self.l3:
                    b.offers("bid"), b.levels("ask", 2), len(b)
            return read
        if kind == "victim_l2":
            _, side, n, d, amount = spec
            book = self.l2[2]
            return self._quiet(("l2", 2), lambda: book.set_level(side, n, d, amount))
        if kind == "victim_l3":
            _, oid, side, n, d, amount = spec
            book = self.l3[2]

            def toggle():
                if oid in book:
                    book.remove_offer(oid)
                else:
                    book.add_offer(oid, side, n, d, amount, seller=f"GV{oid % 3}")
            return self._quiet(("l3", 2), toggle)
        if kind == "same":
            _, n, amount = spec
            book_kind, i = target
            if book_kind == "l2":
                book = self.l2[i]
                return self._quiet(target, lambda: book.set_level("bid", n, 1000, amount))
            book = self.l3[i]
            return self._quiet(target, lambda: book.add_offer(900 + n % 5, "ask", n, 1000, amount + 1, "GSAME"))
        raise AssertionError(spec)

    def _bump(self):
        book = self.l2[2]
        self.touched.add(("l2", 2))
        amount = sum(lv.amount for lv in book.bids() if (lv.price.n, lv.price.d) == (7, 1000))
        book.set_level("bid", 7, 1000, amount + 1)  # far below any ask the victim gets: never crosses

    def _quiet(self, book, f):
        def run():
            self.touched.add(book)
            try:
                f()
            except StellarOBError:
                pass
        return run

    # -- arguments ---------------------------------------------------------------------------

    def make(self, spec, target):
        """The argument object for a description, in this world."""
        kind = spec[0]
        if kind == "value":
            return spec[1]
        if kind == "intsub":
            return _hostile_int(spec[1], self.callback(spec[2], target))
        if kind == "index":
            return _Index(spec[1], self.callback(spec[2], target))
        if kind == "strsub":
            return _hostile_str(spec[1], self.callback(spec[2], target))
        if kind == "np_int":
            return np.int64(min(spec[1], 2**63 - 1))
        if kind == "del":
            # Which of two dropped arguments is finalized first is not the library's to decide:
            # a finalizer adds 1 to a victim level, so any order leaves the same book.
            return _WithDel(self.make(spec[1], target), self._bump)
        raise AssertionError(spec)

    def rows(self, spec, target):
        """A side of a snapshot."""
        kind, rows, cb = spec
        cb = self.callback(cb, target)
        if kind == "list":
            return [tuple(r) for r in rows]
        if kind == "gen":
            def gen():
                for r in rows:
                    cb()
                    yield tuple(r)
            return gen()
        if kind == "iter_rows":  # rows whose __iter__ runs code, the first also growing the list
            out = []
            out.extend(_IterRow(r, cb, out if i == 0 else None) for i, r in enumerate(rows))
            return out
        fit = [(n, d, min(a, 2**64 - 1)) for n, d, a in rows]  # what a uint64 field holds
        if kind == "numpy":
            return np.array(fit, dtype=level_dtype())
        if kind == "numpy_strided":
            arr = np.zeros(2 * len(rows), dtype=level_dtype())
            arr[::2] = fit
            return arr[::2]
        if kind == "numpy_sub":
            return np.array(fit, dtype=level_dtype()).view(_NdSub)
        if kind == "lookalike":
            return _LookAlike(b"\x01" * 16 * len(rows))
        if kind == "del_rows":
            return [_DelRow(r, cb) for r in rows]
        if kind == "list_sub":
            return _lying_list([tuple(r) for r in rows], cb)
        raise AssertionError(kind)

    def changes(self, spec, target):
        kind, changes, cb = spec
        cb = self.callback(cb, target)
        if kind == "tuples":
            return [tuple(c) for c in changes]
        if kind == "objects":
            return [_Change(c, cb, self.core.Price) for c in changes]
        if kind == "growing":
            out = []
            out.extend(_Change(c, cb, self.core.Price, grow=out if i == 0 else None) for i, c in enumerate(changes))
            return out
        if kind == "gen":
            return (tuple(c) for c in changes)
        if kind == "list_sub":
            return _lying_list([tuple(c) for c in changes], cb)
        if kind == "tuple_sub":
            return [_LyingTuple(c, cb) for c in changes]
        raise AssertionError(kind)


# -- hostile objects -------------------------------------------------------------------------------

def _hostile_int(v, cb):
    class HostileInt(int):
        """Lies in every comparison and runs code in each of its methods."""

        def __lt__(self, other):
            cb()
            return other != 0

        __le__ = __lt__

        def __gt__(self, other):
            cb()
            return other == 0

        __ge__ = __gt__

        def __eq__(self, other):
            cb()
            return False

        def __hash__(self):
            cb()
            return 7

        def __index__(self):
            cb()
            return 3

        def __int__(self):
            cb()
            return 3

        def __format__(self, spec):
            cb()
            return "?"

    return HostileInt(v)


def _hostile_str(s, cb):
    class HostileStr(str):
        def __eq__(self, other):
            cb()
            return True

        def __hash__(self):
            cb()
            return 1

        def __iter__(self):
            cb()
            return iter("ask")

        def __len__(self):
            cb()
            return 3

        def encode(self, *a, **k):
            cb()
            return b"ask" * 100

    return HostileStr(s)


def _hostile_bytes(b, cb):
    class HostileBytes(bytes):
        """Bytes whose every method says something else (read through the buffer protocol)."""

        def __bytes__(self):
            cb()
            return b"{}"

        def decode(self, *a, **k):
            cb()
            return "{}"

        def __len__(self):
            cb()
            return 2

    return HostileBytes(b)


class _Index:
    """Not an int: an object with __index__ (as numpy integers have) that runs code."""

    def __init__(self, v, cb):
        self.v, self.cb = v, cb

    def __index__(self):
        self.cb()
        return self.v

    def __repr__(self):
        return f"_Index({self.v})"


class _WithDel:
    """Wraps an argument in an object that runs code when it is collected. It is not an int or
    a str itself, so a book refuses it; the point is what its __del__ does after that."""

    def __init__(self, inner, cb):
        self.inner, self.cb = inner, cb

    def __del__(self):
        self.cb()

    def __repr__(self):
        return "_WithDel(...)"


def _lying_list(items, cb):
    class LyingList(list):
        """A list whose __len__ lies and whose __iter__ runs code first."""

        def __len__(self):
            cb()
            return list.__len__(self) + 2

        def __iter__(self):
            cb()
            return list.__iter__(self)

    return LyingList(items)


class _LyingTuple(tuple):
    """A 4-tuple whose __iter__ runs code (an exact tuple's items are read directly; a subclass
    is unpacked through its __iter__, in both implementations)."""

    def __new__(cls, c, cb):
        self = super().__new__(cls, tuple(c))
        self.cb = cb
        return self

    def __iter__(self):
        self.cb()
        return tuple.__iter__(self)


class _IterRow:
    def __init__(self, row, cb, grow):
        self.row, self.cb, self.grow = tuple(row), cb, grow

    def __iter__(self):
        self.cb()
        if self.grow is not None and len(self.grow) < 1000:
            self.grow.extend([(1, 1, 1)] * 50)
        return iter(self.row)

    def __repr__(self):
        return f"_IterRow({self.row})"


class _DelRow(tuple):
    """A row (a tuple subclass) whose finalizer runs code; no cycle, so it runs on the last decref."""

    def __new__(cls, row, cb):
        self = super().__new__(cls, tuple(row))
        self.cb = cb
        return self

    def __del__(self):
        self.cb()


class _NdSub(np.ndarray):
    pass


class _LookAlike(bytearray):
    dtype = level_dtype()
    ndim = 1
    shape = (10**6,)


class _Change:
    """A LevelChange look-alike whose every property runs code (and may grow the list)."""

    def __init__(self, c, cb, price_cls, grow=None):
        self.c, self.cb, self.grow, self.price_cls = tuple(c), cb, grow, price_cls

    @property
    def side(self):
        self.cb()
        return self.c[0]

    @property
    def price(self):
        self.cb()
        if self.grow is not None and len(self.grow) < 1000:
            self.grow.extend([("bid", 1, 1000, 1)] * 10)
        cb, (n, d) = self.cb, self.c[1:3]

        class P:
            @property
            def n(self):
                cb()
                return n

            @property
            def d(self):
                cb()
                return d

        return P()

    @property
    def old_amount(self):
        self.cb()
        return 0

    @property
    def new_amount(self):
        self.cb()
        return self.c[3]

    def __repr__(self):
        return f"_Change({self.c})"


# -- descriptions (plain data, drawn by Hypothesis) --------------------------------------------------

callbacks = st.one_of(
    st.just(("none",)),
    st.just(("read",)),
    st.tuples(st.just("victim_l2"), st.sampled_from(["bid", "ask"]), st.integers(1, 40), st.sampled_from([1, 2, 10]),
              st.integers(0, 50)),
    st.tuples(st.just("victim_l3"), st.integers(0, 8), st.sampled_from(["bid", "ask"]), st.integers(1, 9),
              st.integers(1, 9), st.integers(1, 100)),
    st.tuples(st.just("same"), st.integers(1, 30), st.integers(0, 30)),
)

odd_values = st.sampled_from([-1, 0, 2**31, 2**63, 2**64, 2**100, 2.5, 7.0, True, False, None, "1", b"1",
                              Decimal(3), [1], (1,)])


def ints(lo, hi):
    """An integer argument: mostly plain, sometimes hostile or of the wrong type."""
    plain = st.integers(lo, hi)
    return st.one_of(
        plain.map(lambda v: ("value", v)),
        plain.map(lambda v: ("value", v)),
        st.tuples(st.just("intsub"), plain, callbacks),
        st.tuples(st.just("index"), plain, callbacks),
        plain.map(lambda v: ("np_int", v)),
        odd_values.map(lambda v: ("value", v)),
        st.tuples(st.just("del"), odd_values.map(lambda v: ("value", v))),
    )


def sides(names=("bid", "ask")):
    return st.one_of(
        st.sampled_from(names).map(lambda s: ("value", s)),
        st.tuples(st.just("strsub"), st.sampled_from(names + ("mid",)), callbacks),
        st.sampled_from([("value", "mid"), ("value", None), ("value", 1), ("value", b"bid")]),
    )


level_rows = st.lists(st.tuples(st.integers(1, 40), st.sampled_from([1, 2, 10]), st.integers(0, 2**64)), max_size=8)
row_sides = st.tuples(
    st.sampled_from(["list", "list", "gen", "iter_rows", "numpy", "numpy_strided", "numpy_sub", "lookalike", "del_rows",
                     "list_sub"]),
    level_rows, callbacks)
change_rows = st.lists(st.tuples(st.sampled_from(["bid", "ask"]), st.integers(1, 40), st.sampled_from([1, 2, 10]),
                                 st.integers(0, 100)), max_size=6)
change_sets = st.tuples(st.sampled_from(["tuples", "objects", "growing", "gen", "list_sub", "tuple_sub"]), change_rows,
                        callbacks)
book_index = st.integers(0, 1)


# -- results, normalised so both worlds compare ------------------------------------------------------

def norm(v):
    if v is None or isinstance(v, (bool, int, str)):
        return v
    if isinstance(v, dict):
        return {k: norm(x) for k, x in v.items()}
    if isinstance(v, np.ndarray):
        return v.tolist()
    if hasattr(v, "fills") and hasattr(v, "stop_reason"):  # Execution
        return ("ex", [tuple(f.__getattribute__(k) for k in ("offer_id", "wheat", "sheep", "remaining")) for f in v.fills],
                v.sent, v.received, v.complete, v.stop_reason, v.taker_offer_amount)
    if hasattr(v, "venue"):  # HopQuote
        return ("hop", v.venue, v.sent, v.received, v.stop_reason, norm(v.execution),
                None if v.pool is None else (v.pool.sent, v.pool.received))
    if hasattr(v, "offer_id"):
        return ("offer", v.offer_id, v.side, v.n, v.d, v.amount, v.seller)
    if hasattr(v, "old_amount"):
        return ("change", v.side, v.price.n, v.price.d, v.old_amount, v.new_amount)
    if hasattr(v, "bids") and hasattr(v, "asks") and not hasattr(v, "best_bid"):  # BookDiff
        return ("diff", [norm(c) for c in v.bids], [norm(c) for c in v.asks])
    if hasattr(v, "worst_price"):  # Quote
        w = v.worst_price
        return ("quote", v.base, v.counter, None if w is None else (w.n, w.d), v.levels, v.complete)
    if hasattr(v, "price") and hasattr(v, "amount"):
        return ("level", v.price.n, v.price.d, v.amount)
    if hasattr(v, "numerator"):
        return ("frac", v.numerator, v.denominator)
    if isinstance(v, (list, tuple)):
        return [norm(x) for x in v]
    raise AssertionError(f"cannot compare {type(v)}")


def state2(book):
    return ([(lv.price.n, lv.price.d, lv.amount) for lv in book.bids()],
            [(lv.price.n, lv.price.d, lv.amount) for lv in book.asks()])


def state3(book):
    return [(o.offer_id, o.side, o.n, o.d, o.amount, o.seller) for s in ("bid", "ask") for o in book.offers(s)]


def _doc(bids, asks):
    def lv(n, d, a):
        return {"price_r": {"n": n, "d": d}, "price": str(_pure.Price(n, d)),
                "amount": "%d.%07d" % divmod(a, 10**7)}
    return json.dumps({"bids": [lv(*x) for x in bids], "asks": [lv(*x) for x in asks],
                       "base": {"asset_type": "native"},
                       "counter": {"asset_type": "credit_alphanum4", "asset_code": "USDC", "asset_issuer": ISSUER}},
                      indent=1)


class Machine(RuleBasedStateMachine):
    def __init__(self):
        super().__init__()
        self.c = World(load_c("book"), ref.load_impl("c"), load_c("horizon"))
        self.py = World(_pure, ref.load_impl("py"), _horizon_pure)
        self.worlds = (self.c, self.py)
        self.calls = 0

    def snapshot(self, w):
        return [state2(b) for b in w.l2], [state3(b) for b in w.l3]

    def run(self, target, call):
        """Call ``call(world)`` in both worlds and check everything the issue demands."""
        self.calls += 1
        outcomes, before, after = [], [], []
        for w in self.worlds:
            before.append(self.snapshot(w))
            w.touched = set()
            try:
                result = ("ok", norm(call(w)))
            except (StellarOBError, TypeError) as e:
                result = ("error", type(e).__name__)
            # (the hostile objects hold no reference cycle: their finalizers have run by now)
            outcomes.append(result)
            after.append(self.snapshot(w))
        assert outcomes[0] == outcomes[1], (target, outcomes)
        kind, index = target
        for w, b, a in zip(self.worlds, before, after):
            for k, books in (("l2", 0), ("l3", 1)):
                for i in range(3):
                    if (k, i) == target or i == 2 or (k, i) in w.touched:
                        continue
                    assert b[books][i] == a[books][i], f"{k}[{i}] changed by a call to {target}"
            if outcomes[0][0] != "ok" and target not in w.touched:
                books = 0 if kind == "l2" else 1
                assert b[books][index] == a[books][index], f"{target} changed by a failed call"
        assert after[0] == after[1], "the two implementations hold different books"

    # -- OrderBook ---------------------------------------------------------------------------

    @rule(i=book_index, bids=row_sides, asks=row_sides)
    def apply_snapshot(self, i, bids, asks):
        t = ("l2", i)
        self.run(t, lambda w: w.l2[i].apply_snapshot(w.rows(bids, t), w.rows(asks, t)))

    @rule(i=book_index, side=sides(), n=ints(1, 40), d=ints(1, 10), amount=ints(0, 2**64))
    def set_level(self, i, side, n, d, amount):
        t = ("l2", i)
        self.run(t, lambda w: w.l2[i].set_level(w.make(side, t), w.make(n, t), w.make(d, t), w.make(amount, t)))

    @rule(i=book_index, changes=change_sets)
    def apply_diff(self, i, changes):
        t = ("l2", i)
        self.run(t, lambda w: w.l2[i].apply_diff(w.changes(changes, t)))

    @rule(i=book_index, which=st.sampled_from(["bids", "asks", "to_numpy_bid", "to_numpy_ask"]),
          depth=st.one_of(st.just(("value", None)), ints(0, 50)))
    def read_levels(self, i, which, depth):
        t = ("l2", i)

        def call(w):
            b, dep = w.l2[i], w.make(depth, t)
            if which == "bids":
                return b.bids(dep)
            if which == "asks":
                return b.asks(dep)
            return b.to_numpy(which[9:], dep)
        self.run(t, call)

    @rule(i=book_index, amount=ints(0, 2**64), buy=st.booleans())
    def quote(self, i, amount, buy):
        t = ("l2", i)
        self.run(t, lambda w: (w.l2[i].quote_buy if buy else w.l2[i].quote_sell)(w.make(amount, t)))

    @rule(i=book_index, bids=level_rows, asks=level_rows,
          form=st.sampled_from(["bytes", "str", "bytearray", "memoryview", "strided", "strsub", "bytes_sub"]),
          cb=callbacks)
    def apply_horizon(self, i, bids, asks, form, cb):
        t = ("l2", i)
        bids = [r for r in bids if r[2] < 2**63]
        asks = [r for r in asks if r[2] < 2**63]
        text = _doc(bids, asks)

        def call(w):
            data = {"bytes": text.encode(), "str": text, "bytearray": bytearray(text.encode()),
                    "memoryview": memoryview(text.encode())}.get(form)
            if form == "strided":
                spread = bytearray(2 * len(text))
                spread[::2] = text.encode()
                data = memoryview(spread)[::2]
            elif form == "strsub":
                data = _hostile_str(text, w.callback(cb, t))
            elif form == "bytes_sub":
                data = _hostile_bytes(text.encode(), w.callback(cb, t))
            return w.l2[i].apply_horizon(data)
        self.run(t, call)

    @rule(i=book_index)
    def clear_l2(self, i):
        self.run(("l2", i), lambda w: w.l2[i].clear())

    @rule(bids=change_rows, asks=change_rows, cb=callbacks)
    def book_diff(self, bids, asks, cb):
        t = ("l2", 2)  # reaches no book but through its callbacks

        def call(w):
            diff = w.core.BookDiff.__new__(w.core.BookDiff)
            cb_f = w.callback(cb, t)

            def again():
                cb_f()
                diff.__init__([], [])
            diff.__init__([_Change(c, again, w.core.Price) for c in bids],
                          [_Change(c, cb_f, w.core.Price) for c in asks])
            return diff
        self.run(t, call)

    # -- OfferBook ---------------------------------------------------------------------------

    @rule(i=book_index, oid=ints(0, 12), side=sides(("bid", "ask")), n=ints(1, 9), d=ints(1, 9),
          amount=ints(1, 2**63), seller=st.one_of(st.sampled_from([None, "GA", "GB", 3, b"GA"]).map(lambda v: ("value", v)),
                                                   st.tuples(st.just("strsub"), st.sampled_from(["GA", "GC"]), callbacks)))
    def add_offer(self, i, oid, side, n, d, amount, seller):
        t = ("l3", i)
        self.run(t, lambda w: w.l3[i].add_offer(w.make(oid, t), w.make(side, t), w.make(n, t), w.make(d, t),
                                                w.make(amount, t), w.make(seller, t)))

    @rule(i=book_index, oid=ints(0, 12), op=st.sampled_from(["remove", "get", "contains"]))
    def by_id(self, i, oid, op):
        t = ("l3", i)

        def call(w):
            b, x = w.l3[i], w.make(oid, t)
            if op == "remove":
                return b.remove_offer(x)
            if op == "get":
                return b.get(x)
            return x in b
        self.run(t, call)

    @rule(i=book_index, oid=ints(0, 12), amount=ints(0, 200), price=st.booleans(), n=ints(1, 9), d=ints(1, 9))
    def update_offer(self, i, oid, amount, price, n, d):
        t = ("l3", i)
        self.run(t, lambda w: w.l3[i].update_offer(w.make(oid, t), w.make(amount, t),
                                                   *((w.make(n, t), w.make(d, t)) if price else ())))

    @rule(i=book_index, oid=ints(0, 12), sold=ints(1, 200))
    def apply_fill(self, i, oid, sold):
        t = ("l3", i)
        self.run(t, lambda w: w.l3[i].apply_fill(w.make(oid, t), w.make(sold, t)))

    @rule(i=book_index, side=sides(("bid", "ask")), depth=st.one_of(st.just(("value", None)), ints(0, 20)),
          what=st.sampled_from(["offers", "levels", "to_order_book"]))
    def read_offers(self, i, side, depth, what):
        t = ("l3", i)

        def call(w):
            b = w.l3[i]
            if what == "to_order_book":
                return b.to_order_book(w.make(depth, t))
            return getattr(b, what)(w.make(side, t), w.make(depth, t))
        self.run(t, call)

    @rule(i=book_index, kind=st.sampled_from(["sell", "buy", "strict_send", "strict_receive", "swap"]),
          amount=ints(1, 2**63), sells=st.sampled_from(["base", "counter"]),
          limit=st.one_of(st.none(), st.tuples(st.integers(1, 9), st.integers(1, 9))), passive=st.booleans(),
          taker=st.sampled_from([None, "GA", "GV1"]), max_send=st.one_of(st.none(), st.integers(1, 500)),
          apply=st.booleans(), max_offers=st.one_of(ints(0, 2**63), st.just(("value", 2**59 + 1))))
    def simulate(self, i, kind, amount, sells, limit, passive, taker, max_send, apply, max_offers):
        t = ("l3", i)
        self.run(t, lambda w: w.l3[i].simulate(kind, w.make(amount, t), taker_sells=sells, price_limit=limit,
                                               passive=passive, taker=taker, max_send=max_send, apply=apply,
                                               max_offers=w.make(max_offers, t)))

    @rule(i=book_index, kind=st.sampled_from(["strict_send", "strict_receive"]), amount=st.integers(1, 300),
          pool=st.one_of(st.none(), st.tuples(st.integers(0, 10**4), st.integers(0, 10**4))), cb=callbacks,
          apply=st.booleans(), max_offers=ints(0, 2**63))
    def quote_hop(self, i, kind, amount, pool, cb, apply, max_offers):
        t = ("l3", i)

        def call(w):
            p = None
            if pool is not None:
                p = _Pool(w.offers.LiquidityPool(*pool), w.callback(cb, t))
            return w.offers.quote_hop(w.l3[i], p, kind, amount, taker_sells="counter", apply=apply,
                                      max_offers=w.make(max_offers, t))
        self.run(t, call)

    @rule(i=book_index, records=st.lists(st.tuples(st.integers(0, 12), st.integers(1, 9), st.integers(1, 9),
                                                   st.integers(0, 100), st.sampled_from(["GA", "GB", 7])), max_size=4),
          raw=st.booleans())
    def load_offers(self, i, records, raw):
        t = ("l3", i)
        usdc = {"asset_type": "credit_alphanum4", "asset_code": "USDC", "asset_issuer": ISSUER}
        recs = [{"id": str(oid), "seller": seller if seller != "GA" else ISSUER, "selling": {"asset_type": "native"},
                 "buying": usdc, "amount": "%d.%07d" % divmod(a, 10**7), "price_r": {"n": n, "d": d},
                 "price": "1.0", "paging_token": str(oid), "last_modified_ledger": 1}
                for oid, n, d, a, seller in records]
        page = {"_embedded": {"records": recs}}
        self.run(t, lambda w: w.l3[i].load_horizon_offers(json.dumps(page).encode() if raw else page))

    @rule(i=book_index)
    def clear_l3(self, i):
        self.run(("l3", i), lambda w: w.l3[i].clear())

    # -- invariants --------------------------------------------------------------------------

    @invariant()
    def books_are_valid(self):
        for w in self.worlds:
            for b in w.l2:
                b.check()
            for b in w.l3:
                b._check()
                assert b._seller_count() == len({o[5] for o in state3(b) if o[5] is not None})


class _Pool:
    """A pool whose quotes run code (before the book walk: they may call into any book)."""

    def __init__(self, pool, cb):
        self.pool, self.cb = pool, cb

    def strict_send(self, amount, taker_sells="base"):
        self.cb()
        return self.pool.strict_send(amount, taker_sells=taker_sells)

    def strict_receive(self, amount, taker_sells="base"):
        self.cb()
        return self.pool.strict_receive(amount, taker_sells=taker_sells)

    def apply(self, quote, taker_sells="base"):
        self.cb()
        self.pool.apply(quote, taker_sells=taker_sells)


Machine.TestCase.settings = settings(
    max_examples=EXAMPLES, stateful_step_count=25, deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.filter_too_much],
)
TestHostileCallers = Machine.TestCase


def test_the_machine_reaches_both_books():
    """The machine is not vacuous: a short fixed run makes calls in both worlds."""
    m = Machine()
    m.set_level(0, ("value", "bid"), ("value", 1), ("value", 2), ("intsub", 5, ("victim_l2", "bid", 3, 1, 9)))
    m.add_offer(1, ("index", 3, ("same", 4, 5)), ("value", "ask"), ("value", 1), ("value", 1), ("value", 5),
                ("value", "GA"))
    m.books_are_valid()
    assert m.calls == 2
    assert state2(m.c.l2[0]) == ([(1, 2, 5)], []) and [o[0] for o in state3(m.c.l3[1])] == [904, 3]
    m.teardown()
