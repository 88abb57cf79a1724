"""The pure-Python twin of the compiled core: the same API, built on sortedcontainers.

Selected by ``STELLAR_OB_PURE=1`` or when the extension is missing. It is also the readable
statement of the semantics: the C core and this module must agree on every input (the tests run
every behaviour on both and compare them step by step).
"""

from __future__ import annotations

import operator
import sys
from fractions import Fraction
from typing import Any, Iterable, Iterator, List, NamedTuple, Optional, Tuple

from sortedcontainers import SortedDict

from .. import _args, _impl
from .. import amounts as _amounts
from ._diffs import merge_diffs as _merge_diffs
from ..amounts import INT32_MAX, UINT64_MAX, count_arg, exact_str, format_amount, parse_amount, price_string
from .._dtypes import diff_array_rows, diff_dtype, level_dtype
from ..assets import Asset
from ..errors import (
    AmountError,
    AmountOverflowError,
    AssetError,
    AssetMismatchError,
    CrossedBookError,
    InvalidBookError,
    PriceError,
)

__all__ = [
    "Price", "Level", "LevelChange", "BookDiff", "Quote", "OrderBook",
    "parse_amount", "format_amount", "IMPLEMENTATION",
]

IMPLEMENTATION = "py"
BID, ASK = "bid", "ask"
_NOARG: Any = object()  # set_level's missing d / amount (the (side, price, amount) form)
_SIDES = (BID, ASK)


class Price:
    """An exact price n/d of two int32 > 0, kept as given and compared by value.

    >>> Price(2, 4) == Price(1, 2)
    True
    >>> str(Price(1, 3))
    '0.3333333'
    """

    __slots__ = ("_n", "_d")

    def __init__(self, n: int, d: int) -> None:
        self._n, self._d = _amounts.check_price(n, d)  # exact ints, whatever int subclass came in

    @property
    def n(self) -> int:
        return self._n

    @property
    def d(self) -> int:
        return self._d

    @classmethod
    def parse(cls, text: str) -> "Price":
        """The exact reduced fraction of a decimal string; ParseError if no int32 n/d equals it."""
        return cls(*_amounts.parse_price(text))

    @classmethod
    def from_sdk(cls, price: Any) -> "Price":
        """From a ``stellar_sdk.Price`` (or anything with int ``n`` and ``d``)."""
        return cls(price.n, price.d)

    def to_sdk(self) -> Any:
        from stellar_sdk import Price as SdkPrice

        return SdkPrice(self._n, self._d)

    def as_fraction(self) -> Fraction:
        return Fraction(self._n, self._d)

    def __float__(self) -> float:
        return self._n / self._d

    def __str__(self) -> str:
        return price_string(self._n, self._d)

    def __repr__(self) -> str:
        return f"Price({self._n}, {self._d})"

    def __hash__(self) -> int:
        return hash(Fraction(self._n, self._d))

    def __reduce__(self):
        return (Price, (self._n, self._d))

    def _cmp(self, other: object) -> Optional[int]:
        if isinstance(other, Price) or (hasattr(other, "n") and hasattr(other, "d") and not isinstance(other, Fraction)):
            a, b = self._n * other.d, other.n * self._d  # type: ignore[attr-defined]
        elif isinstance(other, (int, Fraction)) and not isinstance(other, bool):
            f = Fraction(other)
            a, b = self._n * f.denominator, f.numerator * self._d
        else:
            return None
        return (a > b) - (a < b)

    def __eq__(self, other: object) -> bool:
        c = self._cmp(other)
        return NotImplemented if c is None else c == 0  # type: ignore[return-value]

    def __lt__(self, other: object) -> bool:
        c = self._cmp(other)
        return NotImplemented if c is None else c < 0  # type: ignore[return-value]

    def __le__(self, other: object) -> bool:
        c = self._cmp(other)
        return NotImplemented if c is None else c <= 0  # type: ignore[return-value]

    def __gt__(self, other: object) -> bool:
        c = self._cmp(other)
        return NotImplemented if c is None else c > 0  # type: ignore[return-value]

    def __ge__(self, other: object) -> bool:
        c = self._cmp(other)
        return NotImplemented if c is None else c >= 0  # type: ignore[return-value]


class Level(NamedTuple):
    """One aggregated level: its price (counter per base) and amount in stroops
    (counter for bids, base for asks, as Horizon reports them)."""

    price: Price
    amount: int


class LevelChange(NamedTuple):
    """A level that changed: ``old_amount`` 0 means it was added, ``new_amount`` 0 removed."""

    side: str
    price: Price
    old_amount: int
    new_amount: int


class BookDiff:
    """The incremental change between two states of a book, best level first per side."""

    __slots__ = ("bids", "asks")

    def __init__(self, bids: Optional[Iterable[Any]] = None, asks: Optional[Iterable[Any]] = None) -> None:
        # Each change is read once and checked (as the compiled BookDiff packs it): the diff holds
        # LevelChange values of its own, never the caller's objects.
        bl = [] if bids is None else list(bids)
        al = [] if asks is None else list(asks)
        out: List[LevelChange] = []
        for i, ch in enumerate(bl + al):
            side = _side_index(ch.side)
            if (i < len(bl)) != (side == BID):
                raise InvalidBookError("BookDiff(bids, asks): a change is on the wrong side")
            price = ch.price
            n = _level_price_part(price.n, "n")  # read and checked one by one, as the core does
            d = _level_price_part(price.d, "d")
            old = _check_amount(ch.old_amount)
            new = _check_amount(ch.new_amount)
            out.append(LevelChange(side, Price(n, d), old, new))
        self.bids: List[LevelChange] = out[:len(bl)]
        self.asks: List[LevelChange] = out[len(bl):]

    @classmethod
    def _of(cls, bids: List[LevelChange], asks: List[LevelChange]) -> "BookDiff":
        """A diff of changes this module made itself (nothing to check)."""
        self = cls.__new__(cls)
        self.bids, self.asks = bids, asks
        return self

    def __iter__(self) -> Iterator[LevelChange]:
        yield from self.bids
        yield from self.asks

    def __len__(self) -> int:
        return len(self.bids) + len(self.asks)

    def __bool__(self) -> bool:
        return bool(self.bids or self.asks)

    def __eq__(self, other: object) -> bool:
        if not hasattr(other, "bids") or not hasattr(other, "asks"):
            return NotImplemented
        return _changes_key(self) == _changes_key(other)

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return f"BookDiff(bids={self.bids!r}, asks={self.asks!r})"

    def merge(self, other: "BookDiff") -> "BookDiff":
        """The change from the state before ``self`` to the state after ``other``."""
        return _merge_diffs(self, other, BookDiff, LevelChange, Price)

    def to_numpy(self):
        """A read-only structured array (side int8: 0 bid / 1 ask, n, d, old_amount, new_amount),
        bids best first then asks best first; ``.copy()`` it to write (the compiled diff hands out
        a view of its own packed changes)."""
        import numpy as np

        rows = [(0 if c.side == BID else 1, c.price.n, c.price.d, c.old_amount, c.new_amount) for c in self]
        arr = np.array(rows, dtype=diff_dtype())
        arr.flags.writeable = False
        return arr


def _changes_key(diff: Any) -> List[Tuple[str, Fraction, int, int]]:
    return [(c.side, Fraction(c.price.n, c.price.d), c.old_amount, c.new_amount) for c in list(diff.bids) + list(diff.asks)]


class Quote:
    """The result of walking one side of the book for ``base`` of the base asset.

    ``counter`` is what the taker pays (quote_buy) or receives (quote_sell), in stroops;
    ``average_price`` is ``counter / base`` as an exact Fraction (None when nothing filled).
    """

    __slots__ = ("base", "counter", "worst_price", "levels", "complete")

    def __init__(self, base: int, counter: int, worst_price: Optional[Price], levels: int, complete: bool) -> None:
        self.base = base
        self.counter = counter
        self.worst_price = worst_price
        self.levels = levels
        self.complete = complete

    @property
    def average_price(self) -> Optional[Fraction]:
        return Fraction(self.counter, self.base) if self.base else None

    def __eq__(self, other: object) -> bool:
        if not hasattr(other, "counter"):
            return NotImplemented
        return (self.base, self.counter, self.worst_price, self.levels, self.complete) == (
            other.base, other.counter, other.worst_price, other.levels, other.complete)  # type: ignore[attr-defined]

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return (f"Quote(base={self.base}, counter={self.counter}, average_price={self.average_price!r}, "
                f"worst_price={self.worst_price!r}, levels={self.levels}, complete={self.complete})")


def _side_index(side: object) -> str:
    """"bid" or "ask" (the books' shared vocabulary, stellar_ob._args)."""
    return _args.side(side)


def _level_price_part(v: object, name: str) -> int:
    try:
        return _amounts.price_part(v, name)
    except PriceError as e:
        raise InvalidBookError(str(e)) from None


def _check_amount(amount: object) -> int:
    if isinstance(amount, bool) or not isinstance(amount, int):
        raise InvalidBookError(f"amount must be an int number of stroops, got {type(amount).__name__}")
    amount = operator.index(amount)  # the int it holds: a subclass's __lt__ never decides
    if amount < 0:
        raise InvalidBookError(f"amount must not be negative: {amount}")
    if amount > UINT64_MAX:
        raise AmountOverflowError(f"level amount {amount} exceeds the uint64 range")
    return amount


def _check_level(n: object, d: object, amount: object) -> Tuple[int, int, int]:
    """(n, d, amount) as exact ints, checked as the compiled core checks them, in that order."""
    try:
        n, d = _amounts.check_price(n, d)
    except PriceError as e:
        raise InvalidBookError(str(e)) from None
    return n, d, _check_amount(amount)


def _take_rows(levels: Any) -> Any:
    """The rows of one side, taken once as the call began (a row's __iter__ that grows the
    caller's list changes nothing); only a real numpy array is read by field. A plain 1-d array
    of level_dtype is read when its rows are checked (the compiled core copies its buffer then)."""
    np = sys.modules.get("numpy")
    if np is not None and isinstance(levels, np.ndarray) and levels.dtype.names is not None:
        if type(levels) is np.ndarray and levels.ndim == 1 and levels.dtype == level_dtype():
            return levels
        return _field_rows(levels)
    return levels if type(levels) is tuple else tuple(levels)


def _field_rows(levels: Any) -> tuple:
    if not {"n", "d", "amount"} <= set(levels.dtype.names):
        raise InvalidBookError("a structured array of levels needs fields n, d and amount")
    return tuple(zip(levels["n"].tolist(), levels["d"].tolist(), levels["amount"].tolist()))


def _check_rows(rows: Any) -> List[Tuple[int, int, int]]:
    """Checked (n, d, amount) rows."""
    if type(rows) is not tuple:
        rows = _field_rows(rows)
    out = []
    for row in rows:
        try:
            n, d, amount = row
        except (TypeError, ValueError):
            raise InvalidBookError(f"a level must be (n, d, amount), got {row!r}") from None
        out.append(_check_level(n, d, amount))
    return out


class OrderBook:
    """An aggregated (L2) order book of one market, exact to the stroop.

    Prices are counter per base on both sides. Ask amounts are in base, bid amounts in counter
    (Horizon's /order_book units). The book is never crossed (a bid above the ask): a change that
    would cross it raises CrossedBookError and leaves it as it was. Best bid equal to best ask is
    legal (a passive offer rests at the other side's price).

    One book is not safe for concurrent mutation from two threads (lock around it if you share
    it); even then no other book can change.

    >>> book = OrderBook("XLM", "USDC:GA5ZSEJYB37JRC5AVCIA5MOP4RHTM335X2KGX3IHOJAPP5RE34K4KZVN")
    >>> book.apply_snapshot(bids=[(1, 10, 50_000_000)], asks=[(11, 100, 20_000_000)])
    >>> book.best_ask()
    Level(price=Price(11, 100), amount=20000000)
    """

    def __init__(self, base: Any, counter: Any) -> None:
        self._base, self._counter = _args.book_assets(base, counter)
        # Keys: Fraction value; values: [n, d, amount] with the n/d first given for that value.
        self._bids: SortedDict = SortedDict(_neg)
        self._asks: SortedDict = SortedDict()

    # -- assets -----------------------------------------------------------------------------
    @property
    def base(self) -> Asset:
        return self._base

    @property
    def counter(self) -> Asset:
        return self._counter

    def _side(self, side: str) -> SortedDict:
        return self._bids if _side_index(side) == BID else self._asks

    # -- changes ----------------------------------------------------------------------------
    def apply_snapshot(self, bids: Iterable[Any], asks: Iterable[Any]) -> None:
        """Replace the whole book atomically. Duplicate prices sum, zero amounts are dropped;
        an invalid or crossed (bid above ask) snapshot raises and leaves the book as it was."""
        # both sides are taken before either is checked, as the compiled core does
        taken = _take_rows(bids), _take_rows(asks)
        bid_rows, ask_rows = _check_rows(taken[0]), _check_rows(taken[1])
        new_bids = self._build(bid_rows, _neg)
        new_asks = self._build(ask_rows, None)
        if new_bids and new_asks and new_bids.keys()[0] > new_asks.keys()[0]:
            raise CrossedBookError("snapshot is crossed: best bid > best ask")
        self._bids, self._asks = new_bids, new_asks

    @staticmethod
    def _build(rows: List[Tuple[int, int, int]], key: Any) -> SortedDict:
        """A side from checked rows: equal prices summed, zero amounts dropped."""
        side: SortedDict = SortedDict(key) if key else SortedDict()
        for n, d, amount in rows:
            f = Fraction(n, d)
            cur = side.get(f)
            if cur is None:
                side[f] = [n, d, amount]
            else:
                total = cur[2] + amount
                if total > UINT64_MAX:
                    raise AmountOverflowError(f"level {f} sums past the uint64 range")
                cur[2] = total
                if d < cur[1]:  # duplicates keep the smallest-denominator spelling
                    cur[0], cur[1] = n, d
        for f in [f for f, v in side.items() if v[2] == 0]:
            del side[f]
        return side

    def _set(self, side: str, n: int, d: int, amount: int) -> Tuple[int, int, int]:
        levels = self._side(side)
        f = Fraction(n, d)
        cur = levels.get(f)
        if cur is not None:
            prev = (cur[0], cur[1], cur[2])
            if amount:
                cur[2] = amount
            else:
                del levels[f]
            return prev
        if amount:
            levels[f] = [n, d, amount]
        return (n, d, 0)

    def _crossed(self) -> bool:
        """A bid above the ask (equal is a legal book: a passive offer rests at that price)."""
        return bool(self._bids and self._asks and self._bids.keys()[0] > self._asks.keys()[0])

    def set_level(self, side: str, n: Any, d: Any = _NOARG, amount: Any = _NOARG) -> None:
        """Set the amount at price n/d on ``side`` ("bid" or "ask"); 0 removes the level.
        ``set_level(side, price, amount)`` takes the price as a :class:`Price` or an exact
        :class:`~fractions.Fraction` instead (InvalidBookError if no int32 n/d equals it; a
        float is refused). Raises CrossedBookError (book unchanged) if the change would cross
        the book."""
        side = _side_index(side)
        if amount is _NOARG:  # set_level(side, price, amount)
            if d is _NOARG:
                raise InvalidBookError("set_level takes (side, n, d, amount) or (side, price, amount)")
            amount = d
            if isinstance(n, Price):  # its slots: a subclass's properties never decide
                n, d = Price._n.__get__(n), Price._d.__get__(n)  # type: ignore[attr-defined]
            else:
                n, d = _args.fraction_price(n)
        n, d, amount = _check_level(n, d, amount)
        prev = self._set(side, n, d, amount)
        if self._crossed():
            self._set(side, *prev)
            raise CrossedBookError(f"{side} at {n}/{d} would cross the book")

    def apply_diff(self, changes: Iterable[Any]) -> None:
        """Apply a batch of ``(side, n, d, amount)`` changes (or LevelChange objects) atomically:
        all are validated first; if the result would be crossed nothing is applied. A list that
        changes length while it is read is refused. A :class:`BookDiff` applies its new amounts; a
        structured numpy array with fields side (0 bid / 1 ask), n, d and new_amount (or amount),
        such as ``BookDiff.to_numpy()``, is read by field."""
        np = sys.modules.get("numpy")
        if np is not None and isinstance(changes, np.ndarray) and changes.dtype.names is not None:
            changes = diff_array_rows(changes)
        elif not isinstance(changes, (list, tuple)):
            changes = list(changes)
        k = len(changes)
        batch = []
        for c in changes:
            if len(batch) == k:
                raise InvalidBookError("the changes were modified during apply_diff")
            side, n, d, amount = _args.change_parts(c)
            side = _side_index(side)
            n, d, amount = _check_level(n, d, amount)
            batch.append((side, n, d, amount))
        if len(batch) != k:
            raise InvalidBookError("the changes were modified during apply_diff")
        undo = []
        for side, n, d, amount in batch:
            undo.append((side, self._set(side, n, d, amount)))
        if self._crossed():
            for side, prev in reversed(undo):
                self._set(side, *prev)
            raise CrossedBookError("the batch would cross the book")

    def clear(self) -> None:
        """Remove every level of both sides (the assets stay). O(1)."""
        self._bids.clear()
        self._asks.clear()

    # -- reads ------------------------------------------------------------------------------
    # Reads take what they need from the book before they make objects (making one may run a
    # finalizer that changes this very book), as the compiled core copies its rows first.
    @staticmethod
    def _level(v: List[int]) -> Level:
        n, d, amount = v
        return Level(Price(n, d), amount)

    @staticmethod
    def _top(side: SortedDict) -> Optional[Level]:
        try:
            v = side.peekitem(0)[1]
        except IndexError:
            return None
        return OrderBook._level(v)

    def best_bid(self) -> Optional[Level]:
        return self._top(self._bids)

    def best_ask(self) -> Optional[Level]:
        return self._top(self._asks)

    def _tops(self) -> Optional[Tuple[Fraction, Fraction]]:
        bids, asks = self._bids, self._asks  # both sides as they are now, before any allocation
        try:
            return bids.peekitem(0)[0], asks.peekitem(0)[0]
        except IndexError:
            return None

    def spread(self) -> Optional[Fraction]:
        """best ask - best bid (counter per base), or None if a side is empty."""
        tops = self._tops()
        return None if tops is None else tops[1] - tops[0]

    def mid(self) -> Optional[Fraction]:
        tops = self._tops()
        return None if tops is None else (tops[1] + tops[0]) / 2

    def bids(self, depth: Optional[int] = None) -> List[Level]:
        return [self._level(v) for v in self._bids.values()[:_depth(depth)]]

    def asks(self, depth: Optional[int] = None) -> List[Level]:
        return [self._level(v) for v in self._asks.values()[:_depth(depth)]]

    def __len__(self) -> int:
        return len(self._bids) + len(self._asks)

    def __iter__(self) -> Iterator[Tuple[str, Level]]:
        """(side, level) pairs: the bids best first, then the asks best first."""
        for v in self._bids.values():
            yield BID, self._level(v)
        for v in self._asks.values():
            yield ASK, self._level(v)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, OrderBook) and not hasattr(other, "best_ask"):
            return NotImplemented
        return (self.base == other.base and self.counter == other.counter  # type: ignore[attr-defined]
                and self.bids() == other.bids() and self.asks() == other.asks())  # type: ignore[attr-defined]

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return f"<OrderBook {self._base}/{self._counter} bids={len(self._bids)} asks={len(self._asks)} ({IMPLEMENTATION})>"

    def copy(self) -> "OrderBook":
        other = OrderBook(self._base, self._counter)
        other.apply_snapshot([tuple(v) for v in self._bids.values()], [tuple(v) for v in self._asks.values()])
        return other

    def __reduce__(self):
        return (_rebuild, (self._base, self._counter, [tuple(v) for v in self._bids.values()],
                           [tuple(v) for v in self._asks.values()]))

    def to_numpy(self, side: str, depth: Optional[int] = None):
        """A structured array (n int32, d int32, amount uint64), best first."""
        import numpy as np

        rows = [tuple(v) for v in self._side(side).values()[:_depth(depth)]]
        return np.array(rows, dtype=level_dtype())

    # -- quotes -----------------------------------------------------------------------------
    def quote_buy(self, base_amount: int) -> Quote:
        """Buy ``base_amount`` stroops of base from the asks. Per level the taker takes
        t = min(left, level amount) and pays ceil(t*n/d) counter (rounded for the maker)."""
        left = _check_quote_amount(base_amount)
        base = counter = levels = 0
        worst = None
        for n, d, amount in self._asks.values():
            if not left:
                break
            t = min(left, amount)
            counter += -(-t * n // d)
            base += t
            left -= t
            levels += 1
            worst = (n, d)
        return Quote(base, counter, Price(*worst) if worst else None, levels, left == 0)

    def quote_sell(self, base_amount: int) -> Quote:
        """Sell ``base_amount`` stroops of base into the bids. A level that can absorb all that
        is left (left*n <= amount*d) pays floor(left*n/d); otherwise the taker takes the whole
        level and gives ceil(amount*d/n) base for it. Both round for the maker."""
        left = _check_quote_amount(base_amount)
        base = counter = levels = 0
        worst = None
        for n, d, amount in self._bids.values():
            if not left:
                break
            if left * n <= amount * d:
                counter += left * n // d
                base += left
                left = 0
            else:
                used = -(-amount * d // n)
                counter += amount
                base += used
                left -= used
            levels += 1
            worst = (n, d)
        return Quote(base, counter, Price(*worst) if worst else None, levels, left == 0)

    # -- invariants ---------------------------------------------------------------------------
    def check(self) -> None:
        """Raise InvalidBookError unless every invariant holds (sorted, valid, no zero level,
        not crossed). O(n); the tests call it after every step."""
        for name, side in (("bids", self._bids), ("asks", self._asks)):
            prev = None
            for f, (n, d, amount) in side.items():
                if Fraction(n, d) != f or not (0 < n <= INT32_MAX and 0 < d <= INT32_MAX):
                    raise InvalidBookError(f"{name}: bad level {n}/{d}")
                if not 0 < amount <= UINT64_MAX:
                    raise InvalidBookError(f"{name}: level {n}/{d} has amount {amount}")
                if prev is not None and not ((f < prev) if name == "bids" else (f > prev)):
                    raise InvalidBookError(f"{name}: not sorted at {n}/{d}")
                prev = f
        if self._crossed():
            raise InvalidBookError("book is crossed")

    # -- Horizon ----------------------------------------------------------------------------
    def apply_horizon(self, data: Any) -> BookDiff:
        """Replace the book with a Horizon /order_book body (bytes, str or memoryview) and
        return what changed. Raises ParseError or AssetMismatchError and leaves the book as it
        was on bad input."""
        parse_order_book_doc = _impl.twin("horizon").parse_order_book_doc
        base, counter, bids, asks = parse_order_book_doc(data)
        if base != self._base or counter != self._counter:
            raise AssetMismatchError(
                f"document is for {base}/{counter}, the book is {self._base}/{self._counter}")
        new_bids = self._build(bids, _neg)
        new_asks = self._build(asks, None)
        if new_bids and new_asks and new_bids.keys()[0] > new_asks.keys()[0]:
            raise CrossedBookError("Horizon document is crossed: best bid > best ask")
        diff = BookDiff._of(_side_diff(BID, self._bids, new_bids), _side_diff(ASK, self._asks, new_asks))
        self._bids, self._asks = new_bids, new_asks
        return diff

    @classmethod
    def from_horizon(cls, data: Any) -> "OrderBook":
        """A new book from a Horizon /order_book body."""
        parse_order_book_doc = _impl.twin("horizon").parse_order_book_doc
        base, counter, _, _ = parse_order_book_doc(data)
        book = cls(base, counter)
        book.apply_horizon(data)
        return book


def _neg(f: Fraction) -> Fraction:
    return -f


def _rebuild(base: Asset, counter: Asset, bids: list, asks: list) -> OrderBook:
    book = OrderBook(base, counter)
    book.apply_snapshot(bids, asks)
    return book


def _side_diff(side: str, old: SortedDict, new: SortedDict) -> List[LevelChange]:
    keys = set(old.keys()) | set(new.keys())
    ordered = sorted(keys, reverse=(side == BID))
    out = []
    for f in ordered:
        o, x = old.get(f), new.get(f)
        if o is None:
            out.append(LevelChange(side, Price(x[0], x[1]), 0, x[2]))
        elif x is None:
            out.append(LevelChange(side, Price(o[0], o[1]), o[2], 0))
        elif o[2] != x[2]:
            out.append(LevelChange(side, Price(x[0], x[1]), o[2], x[2]))
    return out


def _depth(depth: Optional[int]) -> Optional[int]:
    """None (no limit) or an int >= 0: TypeError for what is not an int, InvalidBookError if < 0."""
    if depth is None:
        return None
    return count_arg(depth, "depth")


def _check_quote_amount(amount: Any) -> int:
    if isinstance(amount, bool) or not isinstance(amount, int):
        raise AmountError(f"amount must be an int number of stroops, got {type(amount).__name__}")
    amount = operator.index(amount)
    if amount < 0:
        raise AmountError(f"amount must not be negative: {amount}")
    if amount > UINT64_MAX:
        raise AmountOverflowError(f"amount {amount} exceeds the uint64 range")
    return amount
