"""Exact Stellar books and trades as Hummingbot must see them: the plain half of ``stellar_ob.hummingbot``.

This module needs no Hummingbot: it turns stellar_ob's exact L2 books, book diffs and
:class:`stellar_ob.horizon.Trade` records into the float rows and message contents that
Hummingbot's ``OrderBook`` and ``OrderBookTracker`` take, and maps Hummingbot's ``BASE-QUOTE``
trading pairs to Stellar assets. :mod:`stellar_ob.hummingbot` wraps it in a data source.

What Hummingbot's book is, and what follows (hummingbot/core/data_type/order_book.pyx,
core/cpp/OrderBookEntry.cpp): one C++ ``std::set`` per side, ordered by a **double** price; an
entry is (price, amount, update_id) with the amount in **base** units as a double; a diff row
with amount 0 deletes the price, any other row replaces the entry at that double.

* **Bids become base amounts.** Horizon reports bid amounts in counter units (see the docs,
  :ref:`stellar-order-book-units`); a bid level of ``c`` counter stroops at ``n/d`` counter per base is
  ``c*d/n`` base stroops, an exact rational.
* **One rounding, to nearest.** Every price (``n/d``) and amount (stroops / 10^7, or the bid's
  ``c*d/(n*10^7)``) is computed exactly as a rational and rounded once to the nearest double
  (CPython's int / int true division is correctly rounded). So a value a double can hold
  exactly arrives exactly, and any other lands within half an ulp of the exact rational
  (relative error at most 2**-53). Exactly representable: prices whose reduced denominator is a
  power of two; amounts whose rational value has a power-of-two denominator, e.g. ask amounts
  that are multiples of 78,125 stroops (1/128 of a unit). Everything else (0.1 units, 1/3) is
  rounded; nothing is ever truncated.
* **Prices that share a double share a level.** Two distinct rationals can round to one double
  (neighbouring ``n/d`` with denominators near 2**31 are ~2**-62 apart, far below an ulp). On
  Horizon's L2 book it happens to bids: Horizon groups them by the double of each offer's own
  price (base per counter), and two different such doubles can invert to one. Sent as
  two rows, the second would replace the first in Hummingbot's set and one level's amount
  would vanish silently. :class:`HummingbotBook` keys its levels by the double and sends the
  exact sum of every rational level that maps to it, rounded once.
* **What a double book cannot hold.** A bid and an ask whose prices round to the same double
  (the exact bid below the exact ask) look crossed to Hummingbot, whose ``apply_diffs`` then
  deletes the older of the two
  (``truncateOverlapEntries``). :attr:`HummingbotBook.locked` says when the exact book is in
  that state; nothing can be sent that Hummingbot would keep.

``update_id``: the ledger sequence where the source has one, else a counter; never decreasing
(:class:`UpdateIds`). Hummingbot's tracker drops a diff whose id is below its book's snapshot id.

>>> from stellar_ob import OrderBook
>>> book = OrderBook("XLM", "USDC:GA5ZSEJYB37JRC5AVCIA5MOP4RHTM335X2KGX3IHOJAPP5RE34K4KZVN")
>>> book.apply_snapshot(bids=[(1, 10, 50_000_000)], asks=[(11, 100, 20_000_000)])
>>> hb = HummingbotBook()
>>> hb.load(book)                 # 5 USDC at 0.1 USDC/XLM is 50 XLM
([(0.1, 50.0)], [(0.11, 2.0)])
"""

from __future__ import annotations

from fractions import Fraction
from math import gcd
from typing import Any, Dict, Iterable, List, Mapping, Optional, Tuple, Union

from .amounts import INT32_MAX, UINT64_MAX
from .assets import Asset
from .errors import AssetError, AssetMismatchError, InvalidBookError, PriceError

__all__ = [
    "INSTALL_COMMAND", "TradingPairError", "AmbiguousAssetError", "AssetTable",
    "HummingbotBook", "UpdateIds", "Rows", "diff_content", "price_to_float", "ask_amount_to_float",
    "bid_amount_to_float", "trade_content", "trade_ledger", "TRADE_TYPE_BUY", "TRADE_TYPE_SELL",
]

#: How to install Hummingbot next to stellar_ob: its own pins (numpy, pandas, web3, ...) conflict
#: with ours, so it goes in without its dependencies, plus the few packages that the modules the
#: data source imports need (pip builds its Cython extensions from source: minutes).
INSTALL_COMMAND = "pip install --no-deps hummingbot && pip install pandas pydantic-core hexbytes cachetools ujson"

_STROOPS = 10_000_000

#: Hummingbot's TradeType.BUY / TradeType.SELL values as its TRADE messages carry them (floats):
#: the side of the taker (hummingbot/core/data_type/common.py).
TRADE_TYPE_BUY = 1.0
TRADE_TYPE_SELL = 2.0

Row = Tuple[float, float]
Rows = Tuple[List[Row], List[Row]]


# ---------------------------------------------------------------------------------------------
# values


def price_to_float(n: int, d: int) -> float:
    """The double nearest to ``n/d`` (exact when ``d``, reduced, is a power of two).

    >>> price_to_float(1, 4), price_to_float(1, 3) == 1 / 3
    (0.25, True)
    """
    return n / d


def ask_amount_to_float(stroops: int) -> float:
    """Base stroops as units, the double nearest to ``stroops / 10**7``.

    >>> ask_amount_to_float(5_000_000), ask_amount_to_float(1)
    (0.5, 1e-07)
    """
    return stroops / _STROOPS


def bid_amount_to_float(counter_stroops: int, n: int, d: int) -> float:
    """A bid level of ``counter_stroops`` at ``n/d`` counter per base, in base units: the double
    nearest to ``counter_stroops * d / (n * 10**7)``.

    >>> bid_amount_to_float(50_000_000, 1, 10)   # 5 counter at 0.1 counter per base
    50.0
    """
    return (counter_stroops * d) / (n * _STROOPS)


# ---------------------------------------------------------------------------------------------
# trading pairs


class TradingPairError(AssetError):
    """A Hummingbot trading pair (``BASE-QUOTE``) cannot be mapped to two Stellar assets."""


class AmbiguousAssetError(TradingPairError):
    """An asset table names one symbol for two assets (or two spellings of one symbol)."""


AssetLike = Union[str, Asset, Any]


class AssetTable:
    """Hummingbot's token symbols mapped to Stellar assets, for ``BASE-QUOTE`` trading pairs.

    Stellar asset codes are not unique: anyone can issue ``USDC`` (hundreds of issuers do) and
    codes are case-sensitive (``usdc`` is another asset). So the table is the user's: each
    symbol names one ``CODE:ISSUER`` (or ``native``). ``XLM`` is native unless the table says
    otherwise. Refused with :class:`AmbiguousAssetError`: two assets under one symbol (from
    :meth:`from_assets`), symbols that differ only in case (Hummingbot upper-cases pairs in many
    places), two symbols for one asset (a market would be tracked twice under two names), and
    symbols containing ``-`` (the pair separator).

    >>> t = AssetTable({"USDC": "USDC:GA5ZSEJYB37JRC5AVCIA5MOP4RHTM335X2KGX3IHOJAPP5RE34K4KZVN"})
    >>> base, quote = t.assets("XLM-USDC")
    >>> base.is_native, quote.code
    (True, 'USDC')
    >>> t.trading_pair(base, quote)
    'XLM-USDC'
    """

    __slots__ = ("_by_symbol", "_by_asset")

    def __init__(self, table: Mapping[str, AssetLike]) -> None:
        if not isinstance(table, Mapping):
            raise TradingPairError(f"the asset table must be a mapping of symbol to asset, got {type(table).__name__}")
        entries: List[Tuple[str, Asset]] = []
        for symbol, spec in table.items():
            if not isinstance(symbol, str) or not symbol or symbol != symbol.strip():
                raise TradingPairError(f"a trading-pair symbol must be a non-empty string without spaces, got {symbol!r}")
            if "-" in symbol:
                raise AmbiguousAssetError(f"symbol {symbol!r} contains '-', the BASE-QUOTE separator")
            try:
                asset = Asset.parse(spec)
            except AssetError as e:
                raise TradingPairError(f"symbol {symbol!r}: {e}") from None
            entries.append((symbol, asset))
        if not any(s == "XLM" for s, _ in entries):
            entries.append(("XLM", Asset.native()))
        by_symbol: Dict[str, Asset] = {}
        by_asset: Dict[Asset, str] = {}
        folded: Dict[str, str] = {}
        for symbol, asset in entries:
            other = folded.get(symbol.upper())
            if other is not None:
                raise AmbiguousAssetError(
                    f"symbols {other!r} and {symbol!r} differ only in case; Hummingbot may upper-case "
                    f"trading pairs, so give the two assets distinct symbols")
            folded[symbol.upper()] = symbol
            if asset in by_asset:
                raise AmbiguousAssetError(
                    f"symbols {by_asset[asset]!r} and {symbol!r} both name {asset}; one asset, one symbol")
            by_symbol[symbol] = asset
            by_asset[asset] = symbol
        self._by_symbol = by_symbol
        self._by_asset = by_asset

    @classmethod
    def from_assets(cls, assets: Iterable[AssetLike]) -> "AssetTable":
        """A table whose symbols are the asset codes (``XLM`` for native). Two assets with one
        code (two issuers of ``USDC``) raise :class:`AmbiguousAssetError`: name them yourself.

        >>> AssetTable.from_assets(["native", "USDC:GA5ZSEJYB37JRC5AVCIA5MOP4RHTM335X2KGX3IHOJAPP5RE34K4KZVN"]).symbols()
        ['USDC', 'XLM']
        """
        table: Dict[str, Asset] = {}
        for spec in assets:
            try:
                asset = Asset.parse(spec)
            except AssetError as e:
                raise TradingPairError(str(e)) from None
            symbol = "XLM" if asset.is_native else asset.code
            prev = table.get(symbol)
            if prev is not None and prev != asset:
                raise AmbiguousAssetError(
                    f"code {symbol!r} names two assets ({prev} and {asset}); pass AssetTable a mapping "
                    f"that gives each its own symbol, e.g. {{'{symbol}': '{prev}', '{symbol}2': '{asset}'}}")
            table[symbol] = asset
        return cls(table)

    def symbols(self) -> List[str]:
        return sorted(self._by_symbol)

    def asset(self, symbol: str) -> Asset:
        """The asset of one symbol (:class:`TradingPairError` if the table has none)."""
        try:
            return self._by_symbol[symbol]
        except (KeyError, TypeError):
            pass
        near = [s for s in self._by_symbol if isinstance(symbol, str) and s.upper() == symbol.upper()]
        hint = f" (the table has {near[0]!r})" if near else ""
        raise TradingPairError(f"no asset for symbol {symbol!r} in the asset table{hint}")

    def assets(self, trading_pair: str) -> Tuple[Asset, Asset]:
        """``"BASE-QUOTE"`` -> (base asset, counter asset)."""
        if not isinstance(trading_pair, str) or trading_pair.count("-") != 1:
            raise TradingPairError(f"a trading pair is 'BASE-QUOTE' with one '-', got {trading_pair!r}")
        base_sym, quote_sym = trading_pair.split("-")
        base, quote = self.asset(base_sym), self.asset(quote_sym)
        if base == quote:
            raise TradingPairError(f"trading pair {trading_pair!r} has the same asset on both sides")
        return base, quote

    def trading_pair(self, base: AssetLike, counter: AssetLike) -> str:
        """(base, counter) -> ``"BASE-QUOTE"`` (:class:`TradingPairError` if an asset is not in the table)."""
        b, c = Asset.parse(base), Asset.parse(counter)
        try:
            return f"{self._by_asset[b]}-{self._by_asset[c]}"
        except KeyError as e:
            raise TradingPairError(f"asset {e.args[0]} is not in the asset table") from None

    def __contains__(self, symbol: object) -> bool:
        return symbol in self._by_symbol

    def __len__(self) -> int:
        return len(self._by_symbol)

    def __repr__(self) -> str:
        return f"AssetTable({ {s: str(a) for s, a in sorted(self._by_symbol.items())} !r})"


# ---------------------------------------------------------------------------------------------
# books


class UpdateIds:
    """Hummingbot ``update_id`` values: a ledger sequence where the source gives one, else the
    next number of a counter; never decreasing, so the tracker's "drop diffs older than the
    snapshot" rule holds across markets, resyncs and re-subscriptions.

    >>> ids = UpdateIds()
    >>> ids.next(), ids.next(), ids.next(ledger=50_000_000), ids.next()
    (1, 2, 50000000, 50000001)
    """

    __slots__ = ("last",)

    def __init__(self, start: int = 0) -> None:
        self.last = start

    def next(self, ledger: Optional[int] = None) -> int:
        if ledger is None:
            self.last += 1
        elif ledger > self.last:
            self.last = ledger
        return self.last


class _Side:
    """One side of a :class:`HummingbotBook`: rational levels grouped under their double price."""

    __slots__ = ("bid", "groups", "state")

    def __init__(self, bid: bool) -> None:
        self.bid = bid
        #: double price -> {(n, d) reduced: stroops as the exact book holds them}
        self.groups: Dict[float, Dict[Tuple[int, int], int]] = {}
        #: double price -> the amount (base units) Hummingbot holds there; never 0
        self.state: Dict[float, float] = {}

    def amount(self, group: Optional[Dict[Tuple[int, int], int]]) -> float:
        """The exact base amount of a group, rounded once."""
        if not group:
            return 0.0
        if len(group) == 1:
            ((n, d), s), = group.items()
            return (s * d) / (n * _STROOPS) if self.bid else s / _STROOPS
        if not self.bid:
            return sum(group.values()) / _STROOPS
        total = sum((Fraction(s * d, n) for (n, d), s in group.items()), Fraction(0))
        return total.numerator / (total.denominator * _STROOPS)

    def rows(self) -> List[Row]:
        return sorted(self.state.items(), reverse=self.bid)


def _plan(side: _Side, changes: Iterable[Any]) -> List[Tuple[float, Tuple[int, int], int]]:
    """Check one side's changes against the state: [(double price, (n, d) reduced, new amount)]."""
    plan = []
    pending: Dict[Tuple[int, int], int] = {}
    groups = side.groups
    for c in changes:
        price = c.price
        n, d, old, new = price.n, price.d, c.old_amount, c.new_amount
        if not (type(n) is int and type(d) is int and type(old) is int and type(new) is int
                and 0 < n <= INT32_MAX and 0 < d <= INT32_MAX and 0 <= old <= UINT64_MAX and 0 <= new <= UINT64_MAX):
            n = _int(n, 1, INT32_MAX, "price n")
            d = _int(d, 1, INT32_MAX, "price d")
            old = _int(old, 0, UINT64_MAX, "old_amount")
            new = _int(new, 0, UINT64_MAX, "new_amount")
        g = gcd(n, d)
        nd = (n, d) if g == 1 else (n // g, d // g)
        key = nd[0] / nd[1]
        held = pending.get(nd)
        if held is None:
            group = groups.get(key)
            held = group.get(nd, 0) if group else 0
        if held != old:
            raise InvalidBookError(
                f"{'bid' if side.bid else 'ask'} change at {n}/{d} expects {old} stroops, "
                f"this book holds {held}: the diff is not of this book's state")
        pending[nd] = new
        plan.append((key, nd, new))
    return plan


def _reduced(n: int, d: int) -> Tuple[int, int]:
    g = gcd(n, d)
    return (n, d) if g == 1 else (n // g, d // g)


def _int(v: Any, lo: int, hi: int, what: str) -> int:
    """``v`` as a plain int in lo..hi (int subclasses accepted, bool refused), else InvalidBookError."""
    if isinstance(v, bool) or not isinstance(v, int):
        raise InvalidBookError(f"{what} must be an int, got {type(v).__name__}")
    iv = int(v)
    if not lo <= iv <= hi:
        raise InvalidBookError(f"{what} {iv} is outside {lo}..{hi}")
    return iv


class HummingbotBook:
    """What one market's Hummingbot ``OrderBook`` must hold, kept from the exact L2 book.

    :meth:`load` takes the whole exact book (a snapshot), :meth:`apply` each
    :class:`~stellar_ob.BookDiff` that follows, :meth:`resync` a book that replaces it (a
    reconnect): each returns ``(bids, asks)`` rows ``(price, amount)`` as floats, counter per
    base and base units, the changed ones only for :meth:`apply`/:meth:`resync` (amount 0.0 =
    delete the price). Levels are keyed by their double price; see the module docstring for the
    rounding (one, to nearest) and the merging of prices that share a double.

    Cost: ``apply`` is O(changes) (a gcd, a division and dict updates per change; a Fraction sum
    where several rational prices share a double); ``load``/``rows`` O(levels log levels).

    >>> from stellar_ob import OrderBook
    >>> book = OrderBook("XLM", "USDC:GA5ZSEJYB37JRC5AVCIA5MOP4RHTM335X2KGX3IHOJAPP5RE34K4KZVN")
    >>> hb = HummingbotBook()
    >>> _ = hb.load(book)
    >>> book.apply_snapshot(bids=[], asks=[(1, 2, 15_000_000)])
    >>> hb.resync(book)                                   # the rows that take it there
    ([], [(0.5, 1.5)])
    >>> from stellar_ob import BookDiff, LevelChange, Price
    >>> hb.apply(BookDiff(asks=[LevelChange("ask", Price(1, 2), 15_000_000, 5_000_000)]))
    ([], [(0.5, 0.5)])
    """

    __slots__ = ("_bids", "_asks")

    def __init__(self) -> None:
        self._bids = _Side(True)
        self._asks = _Side(False)

    # ---- reading -----------------------------------------------------------------------------
    def rows(self) -> Rows:
        """Every level, best first: ``(bids, asks)``."""
        return self._bids.rows(), self._asks.rows()

    def bids(self) -> List[Row]:
        return self._bids.rows()

    def asks(self) -> List[Row]:
        return self._asks.rows()

    def __len__(self) -> int:
        return len(self._bids.state) + len(self._asks.state)

    @property
    def locked(self) -> bool:
        """True when the best bid's double is at or above the best ask's (see the module
        docstring): Hummingbot's next ``apply_diffs`` deletes one of the two. O(levels)."""
        b, a = self._bids.state, self._asks.state
        return bool(b and a and max(b) >= min(a))

    def exact_levels(self, side: str) -> Dict[float, Dict[Tuple[int, int], int]]:
        """The rational levels behind each double price of ``side`` (a copy):
        ``{price: {(n, d): stroops}}`` with stroops as Horizon reports them (counter for bids)."""
        s = self._side(side)
        return {k: dict(g) for k, g in s.groups.items()}

    def _side(self, side: str) -> _Side:
        if side == "bid":
            return self._bids
        if side == "ask":
            return self._asks
        raise InvalidBookError(f"side must be 'bid' or 'ask', got {side!r}")

    # ---- changes -----------------------------------------------------------------------------
    def load(self, book: Any) -> Rows:
        """Replace the state with ``book`` (an exact :class:`~stellar_ob.OrderBook`, any object
        with ``bids()``/``asks()`` of ``(Price, stroops)`` levels) and return all of it."""
        bids, asks = self._read(book)
        self._bids, self._asks = bids, asks
        return self.rows()

    def resync(self, book: Any) -> Rows:
        """Replace the state with ``book`` and return the rows that take the old state there
        (what a diff to Hummingbot must carry before the snapshot of a resync)."""
        bids, asks = self._read(book)
        out = (_changes(self._bids.state, bids.state, True), _changes(self._asks.state, asks.state, False))
        self._bids, self._asks = bids, asks
        return out

    def _read(self, book: Any) -> Tuple[_Side, _Side]:
        sides = (_Side(True), _Side(False))
        for side, levels in zip(sides, (book.bids(), book.asks())):
            for level in levels:
                price, amount = level
                n = _int(price.n, 1, INT32_MAX, "price n")
                d = _int(price.d, 1, INT32_MAX, "price d")
                amount = _int(amount, 0, UINT64_MAX, "amount")
                if not amount:
                    continue
                nd = _reduced(n, d)
                key = nd[0] / nd[1]
                group = side.groups.setdefault(key, {})
                group[nd] = group.get(nd, 0) + amount
        for side in sides:
            for key, group in side.groups.items():
                side.state[key] = side.amount(group)
        return sides

    def apply(self, diff: Any) -> Rows:
        """Apply a :class:`~stellar_ob.BookDiff` (or any object with ``bids``/``asks`` lists of
        changes with ``price``, ``old_amount``, ``new_amount``) and return the changed rows.

        Atomic: every change is checked first; a change whose ``old_amount`` is not what this
        book holds at that price (a diff of another state) raises :class:`InvalidBookError`
        and nothing is applied."""
        plans = []
        for side, changes in ((self._bids, diff.bids), (self._asks, diff.asks)):
            if changes:
                plans.append((side, _plan(side, changes)))
        out: Rows = ([], [])
        for side, plan in plans:
            groups, state, rows = side.groups, side.state, out[0] if side.bid else out[1]
            touched: Dict[float, None] = {}
            for key, nd, new in plan:
                group = groups.get(key)
                if new:
                    if group is None:
                        groups[key] = {nd: new}
                    else:
                        group[nd] = new
                elif group is not None:
                    group.pop(nd, None)
                    if not group:
                        del groups[key]
                touched[key] = None
            for key in touched:
                amount = side.amount(groups.get(key))
                if state.get(key, 0.0) != amount:
                    if amount:
                        state[key] = amount
                    else:
                        del state[key]
                    rows.append((key, amount))
        return out

    # ---- Hummingbot message contents ------------------------------------------------------------
    def snapshot_content(self, trading_pair: str, update_id: int) -> Dict[str, Any]:
        """The content of a Hummingbot SNAPSHOT ``OrderBookMessage`` of the whole state."""
        bids, asks = self.rows()
        return {"trading_pair": trading_pair, "update_id": update_id, "bids": bids, "asks": asks}


def _changes(old: Dict[float, float], new: Dict[float, float], bid: bool) -> List[Row]:
    rows = [(k, v) for k, v in new.items() if old.get(k) != v]
    rows += [(k, 0.0) for k in old if k not in new]
    return sorted(rows, reverse=bid)


def diff_content(trading_pair: str, update_id: int, rows: Rows) -> Dict[str, Any]:
    """The content of a Hummingbot DIFF ``OrderBookMessage`` carrying ``rows``."""
    return {"trading_pair": trading_pair, "update_id": update_id, "bids": rows[0], "asks": rows[1]}


# ---------------------------------------------------------------------------------------------
# trades


def trade_ledger(trade: Any) -> Optional[int]:
    """The ledger of a /trades record: its paging token's TOID >> 32 (None if unreadable)."""
    token = getattr(trade, "paging_token", None) or getattr(trade, "id", None)
    if not isinstance(token, str):
        return None
    head = token.partition("-")[0]
    if not head.isdigit() or len(head) > 19:
        return None
    return int(head) >> 32


def trade_content(trade: Any, base: AssetLike, counter: AssetLike, trading_pair: str) -> Tuple[Dict[str, Any], float]:
    """A :class:`stellar_ob.horizon.Trade` as the content and timestamp of a Hummingbot TRADE
    ``OrderBookMessage`` for the market ``base``/``counter``.

    The record may be oriented either way (Horizon swaps base and counter when a pair is asked
    the other way round). ``amount`` is the base amount; ``price`` the executed price
    ``counter_amount / base_amount`` (exact rational, rounded once); ``trade_type`` the taker's
    side: Horizon's ``base_is_seller`` says the base party made the offer that was crossed, so
    the taker bought base (BUY) when it is true. ``trade_id`` is Horizon's trade id,
    ``update_id`` its ledger, the timestamp the ledger's close time.

    Raises :class:`~stellar_ob.errors.AssetMismatchError` for a trade of another market and
    :class:`~stellar_ob.errors.PriceError` for amounts that give no price.
    """
    b, c = Asset.parse(base), Asset.parse(counter)
    if trade.base_asset == b and trade.counter_asset == c:
        base_stroops, counter_stroops, taker_buys = trade.base_amount, trade.counter_amount, bool(trade.base_is_seller)
    elif trade.base_asset == c and trade.counter_asset == b:
        base_stroops, counter_stroops, taker_buys = trade.counter_amount, trade.base_amount, not trade.base_is_seller
    else:
        raise AssetMismatchError(
            f"trade {trade.id} is {trade.base_asset}/{trade.counter_asset}, not the market {b}/{c}")
    for v in (base_stroops, counter_stroops):
        if isinstance(v, bool) or not isinstance(v, int) or v <= 0:
            raise PriceError(f"trade {trade.id} has amounts {trade.base_amount}/{trade.counter_amount}: no price")
    content = {
        "trading_pair": trading_pair,
        "trade_type": TRADE_TYPE_BUY if taker_buys else TRADE_TYPE_SELL,
        "trade_id": trade.id,
        "update_id": trade_ledger(trade) or 0,
        "price": counter_stroops / base_stroops,
        "amount": base_stroops / _STROOPS,
    }
    return content, float(trade.ledger_close_time)
