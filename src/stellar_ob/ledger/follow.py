"""Follow the whole DEX from the ledger: :class:`Follow` keeps a :class:`~stellar_ob.ledger.dexbook.DexBook`
current from Stellar RPC or a SEP-54 data lake, and :meth:`Follow.watch` hands out live markets with
the interface of the Horizon sync's :class:`~stellar_ob.sync.LiveBook`::

    async with Follow(rpc="https://rpc.example", archive="https://history.example") as dex:
        live = await dex.watch("XLM", "USDC:GA5Z...")      # loaded (caught up with the tip) on return
        async for update in live.updates():                # the same BookUpdate objects as LiveBook
            print(update.diff, live.best_bid(), live.status)

One request per ledger for the whole DEX (``getLedgers``), however many markets are watched; every
watched market is exact at every ledger (the ledger's own entry changes, applied atomically).

Where the book starts (one of):

- ``archive=`` a history archive (URL or directory): the offers, pools and the sellers' accounts and
  trust lines at its latest checkpoint (or ``checkpoint=``), then every ledger after it from the
  source. Every market is complete. When the source's retention window has passed the book's ledger
  (:class:`~stellar_ob.ledger.stream.RetentionError`) the book is bootstrapped again from the archive's
  newest checkpoint and every market resyncs (``resync=True`` updates).
- ``snapshot=`` a file written by ``stellar-ob bootstrap --out`` (:mod:`stellar_ob.ledger.bootstrap`).
- ``horizon=`` a Horizon URL with ``markets=[(base, counter), ...]``: each market's ``/offers`` (both
  directions) and its pool (``/liquidity_pools?reserves=A,B``) paged once
  (:func:`~stellar_ob.ledger.bootstrap.horizon_changes`), each page stamped with its
  ``Latest-Ledger``; the book starts at the oldest stamp and the stream replays from the ledger
  after it. Ledger entries carry whole values, so a change older than a record's page is applied
  again harmlessly, a later one supersedes the record (offers and pools alike), and STATE entries
  confirm or correct it (drift in those first ledgers is expected and not a fault). Only those markets are
  complete (``LedgerBook.complete``); Horizon's records carry no offer flags, so a passive
  offer counts as not passive until the ledger next touches it (its crossing, not its level).
- ``start=N, empty=True``: the DEX held nothing before ledger ``N`` (a fresh network, a local
  stack): every market complete from ``N`` on.
- ``learn=True``: an empty book from the tip; markets hold only the offers ledgers have touched
  since, so they are never complete and :meth:`Follow.watch` refuses them unless asked
  (``allow_incomplete=True``).

Status is never silently stale. A live market's ``status`` is the source's:

=======================================  =========================================================
the source                               ``status`` (``status_text``)
=======================================  =========================================================
catching up after a (re)start            ``CONNECTING`` (books load once the stream reached the tip)
at the tip, ledgers arriving             ``LIVE``; ``confirmed_at`` / ``age``: the last ledger applied
RPC unreachable, no answer, 5xx          ``SERVER_DOWN``: one shared probe asks RPC ``getHealth`` (at
                                         most one request per ``probe_interval``, 1 s) and nothing
                                         else is asked until it answers healthy; then the stream
                                         resumes from the book's last ledger
no new ledger for ``stall_timeout``      ``SERVER_DOWN`` (``stalled since T``): what stellar-rpc's
                                         own getHealth calls unhealthy (its latest ledger too old)
429                                      ``RATE_LIMITED`` (``rate_limited_until``)
a bad page, a gap, a stuck cursor        ``BACKING_OFF`` (``last_error``), asked again after backoff
                                         (a JSON-RPC error too)
retention passed, no archive             ``FAILED`` with the :class:`~stellar_ob.ledger.stream.RetentionError` (bootstrap again)
=======================================  =========================================================
"""

from __future__ import annotations

import asyncio
import logging
import os
import time
import weakref
from itertools import chain
from typing import Any, Callable, Iterable

from stellar_ob import BookDiff, LevelChange, OrderBook, Price
from stellar_ob.book._book import OrderBook as _COrderBook
from stellar_ob.errors import ParseError, StellarOBError
from stellar_ob.ledger.rpc import Rpc, RpcError
from stellar_ob.ledger.stream import (
    Ledger,
    LedgerBatch,
    LedgerSourceError,
    LedgerStream,
    NetworkMismatchError,
    RetentionError,
    check_seconds,
    check_sequence,
)
from stellar_ob.sync import (ArgumentError, Backoff, BookUpdate, Counters, LiveBook, LiveOfferBook, ServerHealth,
                             Status)
from stellar_ob.sync.http import _check_callback, _deadline, _describe, _market_name
from stellar_ob.sync.stream import _Live

__all__ = ["Follow", "LedgerBook", "LedgerOfferBook", "RpcHealth", "GROUPINGS"]

log = logging.getLogger("stellar_ob.ledger")

#: How a :class:`LedgerBook` groups offers into levels: ``"exact"`` (one level per exact price, the
#: DexBook's own L2 view) or ``"horizon"`` (Horizon's ``/order_book``: grouped by the float64 of the
#: price, each level at its first offer's price: with ``depth=200`` the very book Horizon serves).
GROUPINGS = ("exact", "horizon")
_EMPTY_CHANGES = b"\0\0\0\0"  # a LedgerEntryChanges with no entry: "the DEX held nothing"
_chain = chain.from_iterable
_NO_MARKET = 0xFFFFFFFF  # a raw apply result's market index of a trade or drift in no market


class RpcHealth(ServerHealth):
    """The sync layer's shared health probe (``ServerHealth`` (``stellar_ob.sync.health``)) asking Stellar
    RPC's ``getHealth`` instead of Horizon's root: down while RPC does not answer, answers 5xx, or
    answers that it is not healthy (a JSON-RPC error or a status other than ``healthy``: stellar-rpc
    reports its latest ledger as too old that way). A 429 means something answers (up; the rate
    budget does the waiting). Each probe is bounded by ``min(request_timeout, 5 s)``."""

    def __init__(self, rpc: Rpc, probe_interval: float = 1.0, probe_cap: float = 1.0,
                 recovery_rate: float = 1000.0) -> None:
        super().__init__(rpc, probe_interval, probe_cap, recovery_rate)  # type: ignore[arg-type]
        self.rpc = rpc

    async def _probe_once(self) -> bool:
        rpc = self.rpc
        try:
            async with _deadline(min(rpc.request_timeout, 5.0)):
                result = await rpc.get_health()
        except asyncio.TimeoutError:
            self.last_error = LedgerSourceError(f"health probe: no getHealth answer from {rpc.url} in time")
            return False
        except RpcError as e:
            self.last_error = LedgerSourceError(f"health probe: {rpc.url} is not healthy: {e}")
            return False
        except LedgerSourceError as e:
            if e.status == 429:
                return True
            if e.status is not None and e.status >= 500:
                self.server_errors += 1
            self.last_error = LedgerSourceError(f"health probe: {e}")
            return False
        except ParseError as e:
            self.last_error = LedgerSourceError(f"health probe: getHealth answer unreadable: {e}")
            return False
        except (OSError, ConnectionError) as e:  # pragma: no cover - Rpc.call wraps these
            self.last_error = LedgerSourceError(f"health probe: cannot reach {rpc.url}: {_describe(e)}")
            return False
        status = result.get("status")
        if status != "healthy":
            self.last_error = LedgerSourceError(f"health probe: {rpc.url} getHealth status {str(status)[:40]!r}")
            return False
        return True


class _LedgerMarket:
    """What a live market of a :class:`Follow` takes from the follow (status, ledger, probes) and
    from its DexBook (the market view), for :class:`LedgerBook` (L2) and :class:`LedgerOfferBook` (L3)."""

    follow: "Follow"
    base: Any
    counter: Any
    _status: Status
    _ready: bool
    _view: tuple
    _trade_callbacks: list

    # ---- state: the follow's, unless this book is closed or failed -------------------------------------
    @property  # type: ignore[override]
    def status(self) -> Status:
        own = self._status
        if own in (Status.FAILED, Status.CLOSED):
            return own
        st = self.follow.status
        if not self._ready and st is Status.LIVE:
            return Status.CONNECTING
        return st

    @status.setter
    def status(self, value: Status) -> None:
        if self._status is Status.FAILED:
            return
        self._status = value

    @property  # type: ignore[override]
    def confirmed_at(self) -> float | None:
        """Wall-clock time the last ledger was applied (it confirms every market, changed or not)."""
        return self.follow.confirmed_at if self._ready else None

    @confirmed_at.setter
    def confirmed_at(self, value: float | None) -> None:
        pass  # the follow's ledger is what confirms a ledger book

    @property
    def ledger(self) -> int:
        """The ledger this book is at (the DexBook's last applied ledger)."""
        return self.follow.ledger

    @property
    def confirmed_ledger(self) -> int:
        return self.follow.ledger

    @property
    def complete(self) -> bool:
        """True when the book holds every offer of the market (the follow started from a full state)."""
        return self.follow.is_complete(self.base, self.counter)

    @property
    def rate_limited_until(self) -> float | None:  # type: ignore[override]
        s = self.follow.stream
        return s.rate_limited_until if s is not None and self.status is Status.RATE_LIMITED else None

    @rate_limited_until.setter
    def rate_limited_until(self, value: float | None) -> None:
        pass

    @property
    def server_down_since(self) -> float | None:
        return self.follow.server_down_since if self.status is Status.SERVER_DOWN else None

    @property
    def next_probe_at(self) -> float | None:
        return self.follow.next_probe_at if self.status is Status.SERVER_DOWN else None

    @property
    def status_text(self) -> str:
        """The status with what it waits for: ``server down (since 10:31:02, next probe at
        10:31:05)``, ``server down (stalled: no ledger after 1234 for 31 s, since 10:31:02)``,
        ``rate limited (until 10:31:40)``, or the status alone."""
        def hms(t: float | None) -> str:
            return "?" if t is None else time.strftime("%H:%M:%S", time.localtime(t))

        status = self.status
        if status is Status.SERVER_DOWN:
            stalled = self.follow.stalled_text
            if stalled:
                return f"{status.value} ({stalled}, since {hms(self.server_down_since)})"
            return f"{status.value} (since {hms(self.server_down_since)}, next probe at {hms(self.next_probe_at)})"
        if status is Status.RATE_LIMITED and self.rate_limited_until is not None:
            return f"{status.value} (until {hms(self.rate_limited_until)})"
        return status.value

    @property
    def market(self) -> Any:
        """The :class:`~stellar_ob.ledger.dexbook.DexMarket` view (every offer; None before the market exists)."""
        dex = self.follow.dex
        held, view = self._view
        if held is dex and view is not None:
            return view  # a market keeps its index in its book; a new book (a re-bootstrap) looks again
        try:
            view = dex.market(self.base, self.counter)
        except KeyError:
            return None
        self._view = (dex, view)
        return view

    def on_trades(self, callback: Callable[[Any, list, int], Any]) -> Callable[[], None]:
        """Call ``callback(book, trades, ledger)`` with the claimed offers and pool trades of this
        market in each ledger that had some (:class:`stellar_ob.ledger.records.Trade` records, in
        the ledger's order). What it raises is caught and reported like an ``on_update`` callback's."""
        _check_callback("callback", callback)
        self._trade_callbacks.append(callback)
        return lambda: self._trade_callbacks.remove(callback) if callback in self._trade_callbacks else None

    def _start(self) -> None:
        pass  # the Follow's one stream feeds every book

    def _trades(self, trades: list, ledger: int) -> None:
        for cb in list(self._trade_callbacks):
            self._call(cb, "on_trades", self, trades, ledger)  # type: ignore[attr-defined]


class _NobodyWaits:
    """Stands in for a ledger book's ``asyncio.Event`` while nobody waits on it (one shared
    instance): setting or clearing it wakes nobody. :meth:`LedgerBook.wait_for` puts a real event
    in its place before it waits."""

    __slots__ = ()

    def set(self) -> None:
        pass

    def clear(self) -> None:
        pass


_NOBODY_WAITS = _NobodyWaits()


class LedgerBook(_LedgerMarket, LiveBook):
    """One market of a :class:`Follow`, with the interface of :class:`~stellar_ob.sync.LiveBook`.

    It *is* a LiveBook (``isinstance`` holds): read it like an :class:`~stellar_ob.OrderBook`
    (``bids()``, ``asks()``, ``best_bid()``, ``to_numpy()`` ... delegate to ``book``); follow
    it with ``updates()``, ``on_update`` (the same :class:`~stellar_ob.sync.BookUpdate` objects),
    ``on_error``, ``wait_for``; ``status`` / ``status_text`` / ``confirmed_at`` / ``age`` /
    ``counters`` / ``close()`` as there. Amounts as Horizon's: asks in base, bids in counter.

    Ledger-only: ``ledger`` (the ledger the book is at), ``complete``, ``on_trades()``
    (the offers the ledger's transactions claimed in this market), ``market`` (the DexBook view
    with every offer, in core's crossing order).
    """

    kind = "ledger"  #: metrics label of ledger books

    # A Follow watches thousands of markets, and every object the garbage collector tracks per market
    # lengthens each full collection, which stops the event loop (at 10,000 markets the tail of the
    # update latency). So a ledger book keeps only what it needs: its OrderBook, its Counters and
    # the book itself are tracked; the callback lists, the updates() streams and the wait_for event
    # are created when first asked for (a shared immutable stands in until then), the DexBook view
    # is kept as plain ints, and the levels published last are the OrderBook's own (no rows kept).

    def __init__(self, follow: "Follow", base: Any, counter: Any, depth: int | None, grouping: str) -> None:
        book = OrderBook(base, counter)
        _Live.__init__(self, follow, _market_name(book.base, book.counter), Counters())  # type: ignore[arg-type]
        # _Live's per-book containers, replaced by shared stand-ins until first used (see above)
        self._callbacks = ()  # type: ignore[assignment]
        self._error_callbacks = ()  # type: ignore[assignment]
        self._streams = ()  # type: ignore[assignment]
        self._tasks = ()  # type: ignore[assignment]  # a ledger book runs no task of its own
        self._loaded = _NOBODY_WAITS  # type: ignore[assignment]  # watch() returns it loaded
        self._changed = _NOBODY_WAITS  # type: ignore[assignment]  # a real Event once wait_for() waits
        self.follow = follow
        self.book = book
        self.base = book.base
        self.counter = book.counter
        self.depth = depth
        self.grouping = grouping
        self._trade_callbacks = ()  # type: ignore[assignment]
        self._keys: tuple = ()
        # the DexBook this book last found its market in, and where (see _find); the DexMarket
        # object is made only when ``market`` is asked for
        self._view_dex: Any = None
        self._view_at: tuple | None = None
        self._view = (None, None)  # (DexBook, DexMarket) handed out by ``market``

    def __repr__(self) -> str:
        return f"<LedgerBook {self.name} {self.status.value} ledger={self.ledger} levels={len(self.book)}>"

    # ---- the containers made on first use ----------------------------------------------------------------
    def on_update(self, callback: Callable[[BookUpdate], Any]) -> Callable[[], None]:
        if type(self._callbacks) is tuple:
            self._callbacks = []
        return LiveBook.on_update(self, callback)

    def on_error(self, callback: Callable[[Any, BaseException], Any]) -> Callable[[], None]:
        if type(self._error_callbacks) is tuple:
            self._error_callbacks = []
        return LiveBook.on_error(self, callback)

    def on_trades(self, callback: Callable[[Any, list, int], Any]) -> Callable[[], None]:
        if type(self._trade_callbacks) is tuple:
            self._trade_callbacks = []
        return _LedgerMarket.on_trades(self, callback)

    def updates(self) -> Any:
        if type(self._streams) is tuple:
            self._streams = weakref.WeakSet()
        return LiveBook.updates(self)

    def _direct_updates(self, handle: Callable[[BookUpdate], None]) -> Any:
        if type(self._streams) is tuple:
            self._streams = weakref.WeakSet()
        return LiveBook._direct_updates(self, handle)

    async def wait_for(self, predicate: Callable[[Any], bool], timeout: float | None = None) -> None:
        if self._changed is _NOBODY_WAITS:
            self._changed = asyncio.Event()
        await LiveBook.wait_for(self, predicate, timeout)

    for _f, _src in ((on_update, LiveBook.on_update), (on_error, LiveBook.on_error),
                     (on_trades, _LedgerMarket.on_trades), (updates, LiveBook.updates),
                     (wait_for, LiveBook.wait_for)):
        _f.__doc__ = _src.__doc__
    del _f, _src

    @property
    def market(self) -> Any:
        """The :class:`~stellar_ob.ledger.dexbook.DexMarket` view (every offer; None before the market exists)."""
        dex = self.follow.dex
        held, view = self._view
        if held is dex and view is not None:
            return view
        try:
            view = dex.market(self.base, self.counter)
        except KeyError:
            return None
        self._view = (dex, view)
        return view

    def _find(self, dex: Any) -> tuple | None:
        """Where the market is in ``dex``: ``(index, flipped)``, found once per DexBook (a market
        keeps its index in its book; a new book, a re-bootstrap, is searched again); None before
        the market exists. Plain ints: nothing for the collector to track."""
        at = self._view_at
        if self._view_dex is dex and at is not None:
            return at
        try:
            view = dex.market(self.base, self.counter)
        except KeyError:
            return None
        at = self._view_at = (view._m, view._flipped)
        self._view_dex = dex
        return at

    # ---- driven by the Follow ----------------------------------------------------------------------------
    def _rows(self) -> tuple[Any, Any]:
        """The view's levels as ``(n, d, amount)`` rows best first, read from the DexBook's exact L2
        view in C (O(levels), not O(offers))."""
        dex = self.follow.dex
        at = self._find(dex)
        if at is None:
            return (), ()
        m, flipped = at[0], at[1]
        if self.grouping == "horizon":
            from stellar_ob.ledger.dexbook import DexMarket

            depth = 200 if self.depth is None else self.depth
            dm = DexMarket(dex, m, flipped, None, None)  # a moment's view: the grouping reads no asset
            return list(dm._grouped(0, depth)), list(dm._grouped(1, depth))
        c = dex._c
        depth = 2**62 if self.depth is None else self.depth
        return c.levels(m, flipped, 0, depth), c.levels(m, flipped, 1, depth)

    def _sync_book(self) -> Any:
        """Make the OrderBook the market's levels; the BookDiff from what it held (None: unchanged)."""
        book = self.book
        at = self._find(self.follow.dex)
        if at is not None and type(book) is _COrderBook:
            horizon = self.grouping == "horizon"
            depth = (200 if horizon else 2**62) if self.depth is None else self.depth
            diff = self.follow.dex._c.refresh_book(book, at[0], at[1], depth, horizon)
            if diff is not False:
                return diff
        # Horizon's grouping found two levels in one group (it walks the offers), a pure-Python
        # book, or a market not in the DexBook yet: rows, and one merge against the book's levels
        bids, asks = self._rows()
        new_bids, new_asks = tuple(_chain(bids)), tuple(_chain(asks))
        old_bids = tuple(x for lv in book.bids() for x in (lv.price.n, lv.price.d, lv.amount))
        old_asks = tuple(x for lv in book.asks() for x in (lv.price.n, lv.price.d, lv.amount))
        if new_bids == old_bids and new_asks == old_asks:
            return None
        book.apply_snapshot(bids, asks)
        changed_bids = _level_changes("bid", old_bids, new_bids)
        changed_asks = _level_changes("ask", old_asks, new_asks)
        return BookDiff(changed_bids, changed_asks) if changed_bids or changed_asks else None

    def _refresh(self, received_ns: int, resync: bool) -> None:
        """Bring the OrderBook to the DexBook's state; publish the change (the same BookUpdate a
        LiveBook publishes for an /order_book event). The book itself is the state the change is
        measured from: one C pass reads the market's levels, diffs them against the book and makes
        them the book (no row objects); see _sync_book."""
        self.counters.events += 1
        diff = self._sync_book()
        applied = time.perf_counter_ns()
        self.confirmed_ns = applied
        if not self._ready:
            self._set_loaded()
        metrics = self.follow.metrics
        if diff is not None or resync:
            if diff is None:
                diff = BookDiff([], [])
            update = BookUpdate(self, diff, self.book, received_ns or applied, applied, 0, resync)
            self._publish(update)
            if metrics is not None:
                metrics.update(self, update)
        elif metrics is not None:
            metrics.event(self)
        self._changed.set()



class LedgerOfferBook(_LedgerMarket, LiveOfferBook):
    """One market's offers (L3) of a :class:`Follow`, with the interface of the Horizon sync's
    :class:`~stellar_ob.sync.LiveOfferBook` (``isinstance`` holds; created by :meth:`Follow.watch_offers`).

    Read it like an :class:`~stellar_ob.OfferBook` (``offers(side, depth)``, ``best_offer``,
    ``get``, ``levels``, ``len()``, ``in`` ... delegate to ``book``); ``simulate()`` and
    :meth:`quote_hop` (over the book and ``pool``) run under :attr:`protocol`, the protocol of
    the last ledger applied; ``updates()``, ``on_update`` (:class:`~stellar_ob.sync.OfferBookUpdate`:
    ``repaged`` on the first load and after a re-bootstrap, ``pool_changed`` when the pair's pool
    moved), ``on_drift``, ``on_error``, ``wait_for``, ``status`` / ``status_text`` / ``confirmed_at``
    / ``close()`` as there.

    What differs from the Horizon book, because the source is the ledger: every offer of the market
    is exact at every ledger (each offer the ledger created, changed or removed, applied as the
    ledger says; nothing is re-paged and nothing drifts unseen), ``ledger`` is the ledger the
    whole book is at, ``last_drift`` / ``on_drift`` report what the ledger's STATE entries found
    different from the book (a :class:`~stellar_ob.sync.Drift` of offer ids: ``added`` for entries a
    complete book did not hold, ``changed`` for the others; ``pool`` for the pool), and
    :meth:`request_repage` reloads the book from the DexBook.

    Fills: each update's ``fills`` are the offers of this market the ledger's operations claimed,
    as :class:`~stellar_ob.sync.AppliedFill` records in the ledger's order (one per claimed offer;
    a pool trade is no fill, it moves ``pool``: ``pool_changed``), exactly as the Horizon book
    reports its /trades fills: ``offer_id``; ``sold``, what the offer sold (the ClaimAtom's
    ``amountSold``); ``remaining``, what it has left after core's adjustOffer (0: gone);
    ``ledger``, the ledger of the trade; ``trade_id``, the id Horizon gives the trade
    (:meth:`~stellar_ob.ledger.records.Trade.horizon_id`: the operation's TOID and the claim's
    place among its ClaimAtoms). What differs: fills are never skipped as "already in the page" (the book is at the
    ledger before the trade); a fill of an offer the book did not hold before the ledger (created
    and taken in the same ledger) is counted in ``counters.fills_unknown`` and not reported, as
    Horizon does. ``remaining`` runs core's adjustOffer from the amount the book held before the
    claim (the offer's previous claims of the same ledger included), so it is the ledger's amount
    after the claim unless the owner edited the offer earlier in the same ledger (a claim larger
    than that amount takes the offer's amount at the end of the ledger and counts
    ``counters.fills_clamped``); ``sold`` is always the ledger's, and the book itself always takes
    the ledger's amounts. A pool trade counts ``counters.pool_trades`` and
    ``pool_trades_applied``, a fill ``counters.trades`` and ``fills``. The same records reach
    ``on_trades()`` (decoded once).

    Metrics: with ``Follow(metrics=...)`` the book is registered on :meth:`Follow.watch_offers`
    (labelled ``book="ledger_l3"``) and removed on ``close()``: ``events_total`` counts ledgers
    applied, ``updates_total`` and ``update_latency_seconds`` the ledgers that changed the book,
    ``offers{side}`` its offers, ``repages_total`` its (re)loads, ``drift_total{kind}`` the drift
    STATE entries found (``added``, ``changed``, ``pool``).
    """

    kind = "ledger_l3"  #: metrics label of ledger per-offer books

    def __init__(self, follow: "Follow", base: Any, counter: Any) -> None:
        from stellar_ob.sync.l3 import OfferCounters, _offer_impl

        book_cls, pool_cls = _offer_impl()
        book = book_cls(base, counter)
        _Live.__init__(self, follow, _market_name(book.base, book.counter), OfferCounters())  # type: ignore[arg-type]
        self.follow = follow
        self._init_book_state(book_cls, pool_cls, book)
        self._trade_callbacks: list[Callable[..., Any]] = []
        self._keys: tuple = ()
        self._view: tuple = (None, None)
        self._sellers: dict[bytes, str] = {}  # 32-byte key -> G... (a StrKey costs a CRC16 in Python)

    @property  # type: ignore[override]
    def protocol(self) -> int | None:
        """The protocol version of the last ledger applied (None before one): simulate and
        quote_hop run under it unless given ``protocol=``."""
        return self.follow.protocol

    @protocol.setter
    def protocol(self, value: int | None) -> None:
        pass

    @property
    def latest_ledger(self) -> int:  # type: ignore[override]
        return self.follow.ledger

    def __repr__(self) -> str:
        return f"<LedgerOfferBook {self.name} {self.status.value} offers={len(self.book)} ledger={self.ledger}>"

    def request_repage(self) -> None:
        """Reload the book from the DexBook now (it never needs it: for parity with LiveOfferBook)."""
        self._reload(0)

    # ---- driven by the Follow ----------------------------------------------------------------------------
    def _seller(self, key: bytes | None) -> str | None:
        if key is None:
            return None
        got = self._sellers.get(key)
        if got is None:
            from stellar_ob.ledger.records import encode_account

            if len(self._sellers) > 100_000:
                self._sellers.clear()
            got = self._sellers[key] = encode_account(key)
        return got

    def _pool_of(self, dm: Any) -> Any:
        """The pair's constant-product pool as a LiquidityPool oriented base/counter (None without one)."""
        if dm is None:
            return None
        from stellar_ob.ledger.records import LedgerAsset

        base = LedgerAsset.from_asset(self.base)
        for p in dm.pools():
            if p.asset_a == base:
                return self._pool_cls(p.reserve_a, p.reserve_b, p.fee_bp), p.pool_id.hex()
            return self._pool_cls(p.reserve_b, p.reserve_a, p.fee_bp), p.pool_id.hex()
        return None

    def _reload(self, received_ns: int) -> None:
        """A new book from every offer the DexBook holds for the market (the first load, a
        re-bootstrap, request_repage), installed in one step."""
        dm = self.market
        book = self._book_cls(self.base, self.counter)
        if dm is not None:
            for side in ("bid", "ask"):
                for o in dm.offers(side):
                    book.add_offer(o.offer_id, side, o.n, o.d, o.amount, self._seller(o.seller))
        self.book = book
        pool = self._pool_of(dm)
        self.pool, self.pool_id = (None, None) if pool is None else pool
        self.counters.repages += 1
        self._published(received_ns, True, True)
        metrics = self.follow.metrics
        if metrics is not None:
            metrics.offer_book(self, None)

    def _apply_market(self, mu: Any, received_ns: int) -> None:
        """Apply one ledger's changes of this market (a MarketUpdate, in the DexBook's stored
        orientation) to the book, offer by offer."""
        book = self.book
        dm = self.market
        flipped = dm is not None and dm._flipped
        fills = self._fills(mu.trades, mu.offers) if mu.trades else ()
        for oc in mu.offers:
            oid = oc.offer_id
            if oc.kind == "removed":
                if oid in book:
                    book.remove_offer(oid)
                continue
            side = oc.side if not flipped else ("ask" if oc.side == "bid" else "bid")
            if oid in book:
                # an update may change the price, and even swap what the offer sells and buys
                book.remove_offer(oid)
            book.add_offer(oid, side, oc.n, oc.d, oc.new_amount, self._seller(oc.seller))
        pool_changed = bool(mu.pools)
        if pool_changed:
            pool = self._pool_of(dm)
            self.pool, self.pool_id = (None, None) if pool is None else pool
        if mu.drift:
            self._drift(mu.drift)
        self.counters.events += 1
        metrics = self.follow.metrics
        if mu.offers or pool_changed or fills:
            update = self._published(received_ns, False, False, pool_changed, fills)
            if metrics is not None:
                metrics.offer_update(self, update)
        elif metrics is not None:
            metrics.event(self)

    def _fills(self, trades: list, changes: list) -> tuple:
        """The AppliedFills of one ledger's trades of this market (see the class docstring), read
        before the ledger's offer changes are applied: ``remaining`` runs core's adjustOffer from
        the amount the book holds (or the previous claim of the same ledger left). A claim of
        more than that (its owner raised the offer earlier in the ledger) keeps the ledger's
        ``sold`` and takes the offer's amount at the end of the ledger as ``remaining`` (counted
        in ``fills_clamped``: the one case the amount after the claim is not derived)."""
        from stellar_ob.sync.l3 import AppliedFill
        import sys

        adjust_offer = sys.modules[self._book_cls.__module__].adjust_offer
        book, c, ledger = self.book, self.counters, self.follow.ledger
        left_by: dict[int, int] = {}  # offer id -> what the claims of this ledger left so far
        out = []
        for t in trades:
            if t.claim_type == 2:  # CLAIM_ATOM_TYPE_LIQUIDITY_POOL: the pool's change is the ledger's
                c.pool_trades += 1
                c.pool_trades_applied += 1
                continue
            c.trades += 1
            oid, sold = t.offer_id, t.amount_sold
            have = left_by.get(oid)
            if have is None:
                if oid not in book:
                    c.fills_unknown += 1
                    continue
                o = book.get(oid)
                have = o.amount
            else:
                o = book.get(oid)
            if sold <= 0:  # nothing changed hands (as the Horizon book skips such a trade)
                continue
            if sold > have:  # the owner raised the amount earlier in this ledger
                c.fills_clamped += 1
                left = next((0 if oc.kind == "removed" else oc.new_amount for oc in changes if oc.offer_id == oid), 0)
            else:
                left = adjust_offer(o.n, o.d, have - sold) if sold < have else 0
            left_by[oid] = left
            c.fills += 1
            out.append(AppliedFill(oid, sold, left, ledger, t.horizon_id(ledger)))
        return tuple(out)

    def _drift(self, drifts: list) -> None:
        from stellar_ob.sync.l3 import Drift as OfferDrift

        added = tuple(sorted(d.key for d in drifts if d.entry_type == "offer" and d.kind == "missing"))
        changed = tuple(sorted(d.key for d in drifts if d.entry_type == "offer" and d.kind != "missing"))
        pool = any(d.entry_type == "liquidity_pool" for d in drifts)
        drift = OfferDrift(self.follow.ledger, added=added, changed=changed, pool=pool)
        if not drift:
            return
        self.last_drift = drift
        self.counters.drift_added += len(added)
        self.counters.drift_changed += len(changed)
        metrics = self.follow.metrics
        if metrics is not None:
            metrics.offer_drift(self, drift)
        for cb in list(self._drift_callbacks):
            self._call(cb, "on_drift", self, drift)

    def _published(self, received_ns: int, repaged: bool, loaded: bool, pool_changed: bool = False,
                   fills: tuple = ()) -> Any:
        from stellar_ob.sync.l3 import OfferBookUpdate

        applied = time.perf_counter_ns()
        self.confirmed_ns = applied
        if not self._ready:
            self._set_loaded()
        update = OfferBookUpdate(self, self.book, fills, None, repaged, self.follow.ledger, received_ns or applied,
                                 applied, 0, pool_changed)
        self._publish(update)
        self._changed.set()
        return update


class Follow:
    """Keep a :class:`~stellar_ob.ledger.dexbook.DexBook` current from one ledger source and serve live
    markets from it (see the module docstring for where it starts and what its statuses mean).

    Source (exactly one): ``rpc`` (a URL or an :class:`~stellar_ob.ledger.rpc.Rpc`), ``datalake`` (a
    URL, a directory or a :class:`~stellar_ob.ledger.datalake.DataLake`). ``passphrase``: the network
    expected (checked with getNetwork / the lake's config; None = not checked).

    Start (exactly one): ``archive`` (+ ``checkpoint``, ``assets``, ``cache_dir``, ``progress``),
    ``snapshot`` (a file), ``start`` with ``empty=True``, or ``learn=True``.

    Stream: ``poll_interval`` (1 s) at the tip, ``paced`` (on: the tip is polled every
    ``poll_interval`` only from shortly before the next ledger is due, see
    :class:`~stellar_ob.ledger.stream.LedgerStream`); ``stall_timeout`` (30 s: six ledgers) before a
    source that stopped advancing shows ``SERVER_DOWN``; ``backoff_base`` / ``backoff_cap``.
    Outages (RPC only): ``health_probe`` (on), ``probe_interval`` / ``probe_cap`` (1 s / 1 s: never
    more than one getHealth a second), ``recovery_rate``. ``metrics``: a
    :class:`stellar_ob.metrics.SyncMetrics` (``True`` makes one); ledger books are labelled
    ``book="ledger"``, per-offer ones ``book="ledger_l3"``. Bad arguments raise :class:`~stellar_ob.sync.ArgumentError`.

    Memory: ``trim_memory`` (on) gives the C heap's free pages back to the system after a ledger,
    at most once a second (glibc's ``malloc_trim(0)``, about 0.2 ms with 10,000 markets; nothing where
    the C library has no such call). Each ledger's answer, its text and its decoded bytes are
    megabytes allocated and freed, and glibc serves them from its heap once a large block has been
    freed (the catch-up's); the small blocks that outlive them leave holes, and without the trim the
    process's RSS grows by about 20 MB an hour at 10,000 markets while the memory in use does not
    (``python -m bench.load_scenarios ledger-soak`` prints both). It is process-wide but only
    releases memory nothing holds; :attr:`memory_trims` counts the calls.
    """

    def __init__(
        self,
        rpc: Any = None,
        *,
        datalake: Any = None,
        passphrase: str | None = None,
        archive: Any = None,
        checkpoint: int | None = None,
        assets: Iterable[tuple] | None = None,
        cache_dir: Any = None,
        progress: Callable[[Any], Any] | None = None,
        snapshot: Any = None,
        horizon: str | None = None,
        markets: Iterable[tuple[Any, Any]] | None = None,
        start: int | None = None,
        empty: bool = False,
        learn: bool = False,
        poll_interval: float = 1.0,
        paced: bool = True,
        stall_timeout: float | None = 30.0,
        backoff_base: float = 0.1,
        backoff_cap: float = 30.0,
        health_probe: bool = True,
        probe_interval: float = 1.0,
        probe_cap: float = 1.0,
        recovery_rate: float = 1000.0,
        metrics: Any = None,
        trim_memory: bool = True,
    ) -> None:
        from stellar_ob.ledger.datalake import DataLake

        if (rpc is None) == (datalake is None):
            raise ArgumentError("give exactly one source: rpc= (a Stellar RPC URL) or datalake= (a URL or directory)")
        if passphrase is not None and not isinstance(passphrase, str):
            raise ArgumentError("passphrase must be a str or None")
        if rpc is not None:
            self.source: Any = rpc if isinstance(rpc, Rpc) else Rpc(rpc, passphrase=passphrase)
        else:
            self.source = datalake if isinstance(datalake, DataLake) else DataLake(datalake, passphrase=passphrase)
        starts = [archive is not None, snapshot is not None, horizon is not None, bool(empty), bool(learn)]
        if sum(starts) != 1:
            raise ArgumentError("give exactly one start: archive= (a history archive), snapshot= (a saved file), "
                                "horizon= with markets= (those markets from Horizon's /offers), start=N with "
                                "empty=True (nothing before N), or learn=True (an incomplete book)")
        if horizon is not None:
            if not isinstance(horizon, str) or not horizon.startswith(("http://", "https://")):
                raise ArgumentError(f"horizon must be an http:// or https:// URL, got {horizon!r}")
            if markets is None:
                raise ArgumentError("horizon= needs markets=[(base, counter), ...]: the markets to page from /offers")
        elif markets is not None:
            raise ArgumentError("markets= goes with horizon=")
        if not isinstance(empty, bool) or not isinstance(learn, bool):
            raise ArgumentError("empty and learn are bools")
        if empty and start is None:
            raise ArgumentError("empty=True needs start= (the first ledger; the DEX held nothing before it)")
        if start is not None and not empty and not learn:
            raise ArgumentError("start= goes with empty=True or learn=True (an archive or snapshot says where it starts)")
        self.start_ledger = check_sequence("start", start, allow_none=True)
        if checkpoint is not None and archive is None:
            raise ArgumentError("checkpoint= goes with archive=")
        self.checkpoint = checkpoint
        self.archive = archive
        self.assets = None if assets is None else [tuple(a) for a in assets]
        self.cache_dir = cache_dir
        self.progress = progress
        if snapshot is not None and not isinstance(snapshot, (str, os.PathLike)):
            raise ArgumentError(f"snapshot must be a file path, got {type(snapshot).__name__}")
        self.snapshot = snapshot
        self.empty = empty
        self.learn = learn
        self.horizon_url = horizon
        from stellar_ob import Asset

        self.markets = [] if markets is None else [(Asset.parse(b), Asset.parse(c)) for b, c in markets]
        #: markets complete although the book is not (bootstrapped from Horizon), by _key pair
        self._complete_keys: set[tuple[str, str]] = set()
        #: after a Horizon bootstrap: the ledger the stamps end at (drift up to it is expected)
        self.settled_at: int | None = None
        self.poll_interval = check_seconds("poll_interval", poll_interval, positive=True)
        if not isinstance(paced, bool):
            raise ArgumentError("paced must be a bool")
        self.paced = paced
        self.stall_timeout = check_seconds("stall_timeout", stall_timeout, positive=True, allow_none=True)
        self.backoff_base = check_seconds("backoff_base", backoff_base)
        self.backoff_cap = check_seconds("backoff_cap", backoff_cap)
        pi = check_seconds("probe_interval", probe_interval, positive=True)
        pc = check_seconds("probe_cap", probe_cap, positive=True)
        rr = check_seconds("recovery_rate", recovery_rate, positive=True)
        #: the shared getHealth probe (:class:`RpcHealth`); None for a data lake or ``health_probe=False``
        self.health: RpcHealth | None = (RpcHealth(self.source, pi, pc, rr)  # type: ignore[arg-type]
                                         if health_probe and isinstance(self.source, Rpc) else None)
        if metrics is True:
            from stellar_ob.metrics import SyncMetrics

            metrics = SyncMetrics()
        self.metrics = metrics
        if not isinstance(trim_memory, bool):
            raise ArgumentError("trim_memory must be a bool")
        self.trim_memory = trim_memory
        self.memory_trims = 0  #: how many times the C heap's free pages were given back (``trim_memory``)
        self._trimmed_at = float("-inf")
        self.dex: Any = None  #: the :class:`~stellar_ob.ledger.dexbook.DexBook` (after :meth:`start`)
        self.stream: LedgerStream | None = None  #: the current stream (a new one after a restart)
        self.complete = not learn and horizon is None  #: every market of the book is complete
        self.confirmed_at: float | None = None  #: ``time.time()`` the last ledger was applied
        self.close_time: int | None = None  #: the close time (unix s) of the last RPC ledger applied
        self.bootstrapped_at: int | None = None  #: the ledger the book started from (after a bootstrap)
        self.bootstraps = 0  #: bootstraps done (more than 1: the source's retention passed the book)
        self.restarts = 0  #: streams started again after a ledger the book refused
        self.last_error: BaseException | None = None
        self._status = Status.CONNECTING
        #: the L2 books by market key, both orientations: the LedgerBook when one watches the market,
        #: a list when several do (a list a market would be one more object for the collector each)
        self._books: dict[tuple[str, str], Any] = {}
        #: the Asset objects the L2 books share (one per asset watched; as many as the assets)
        self._assets: dict[Any, Any] = {}
        self.books: list[LedgerBook] = []  #: the watched markets
        self.offer_books: list[LedgerOfferBook] = []  #: the markets watched per offer (:meth:`watch_offers`)
        self._offer_books: dict[tuple[str, str], list[LedgerOfferBook]] = {}
        self._error_callbacks: list[Callable[..., Any]] = []
        self._last_hash: str | None = None
        self._checked: tuple | None = None  # (the Ledger last checked, its LedgerReader)
        #: The protocol version of the last ledger applied (its header's ``ledgerVersion``; None
        #: before one): live per-offer books simulate under it.
        self.protocol: int | None = None
        self._task: asyncio.Task | None = None
        self._started = False
        self._caught_up = asyncio.Event()

    def __repr__(self) -> str:
        return f"<Follow {self.source!r} {self.status.value} ledger={self.ledger}>"

    # ---- state ----------------------------------------------------------------------------------------
    @property
    def url(self) -> str:
        return str(getattr(self.source, "url", None) or getattr(self.source, "root", "") or self.source)

    @property
    def ledger(self) -> int:
        """The last ledger applied (0 before the bootstrap)."""
        return 0 if self.dex is None else self.dex.ledger_seq

    @property
    def counters(self) -> Any:
        """The source's :class:`~stellar_ob.ledger.stream.LedgerCounters` (requests, ledgers, errors ...)."""
        return self.source.counters

    @property
    def status(self) -> Status:
        """Where the follow stands (see the module docstring); every watched market shows it."""
        if self._status in (Status.FAILED, Status.CLOSED):
            return self._status
        s = self.stream
        if s is None:
            return Status.CONNECTING
        if self.health is not None and self.health.down:
            return Status.SERVER_DOWN
        if s.stalled_since is not None:
            return Status.SERVER_DOWN
        st = s.status
        if st is Status.LIVE and not self._caught_up.is_set():
            return Status.CONNECTING
        if st in (Status.FAILED, Status.CLOSED):  # a stream being replaced
            return Status.BACKING_OFF
        return st

    @property
    def server_down_since(self) -> float | None:
        if self.health is not None and self.health.down:
            return self.health.down_since
        s = self.stream
        return s.stalled_since if s is not None else None

    @property
    def next_probe_at(self) -> float | None:
        if self.health is not None and self.health.down:
            return self.health.next_probe_at
        return None

    @property
    def stalled_text(self) -> str:
        s = self.stream
        if s is None or s.stalled_since is None:
            return ""
        return f"stalled: no ledger after {self.ledger} for {time.time() - s.stalled_since + (self.stall_timeout or 0):.0f} s"

    @property
    def live(self) -> bool:
        return self.status is Status.LIVE

    def on_error(self, callback: Callable[["Follow", BaseException], Any]) -> Callable[[], None]:
        """Call ``callback(follow, error)`` for every error of the source (each book's ``on_error``
        gets them too); what it raises is logged."""
        _check_callback("callback", callback)
        self._error_callbacks.append(callback)
        return lambda: self._error_callbacks.remove(callback) if callback in self._error_callbacks else None

    # ---- lifecycle ------------------------------------------------------------------------------------
    async def __aenter__(self) -> "Follow":
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    async def start(self) -> None:
        """Bootstrap the book and start following the source (returns once the book exists; use
        :meth:`wait_live` or :meth:`watch` to wait for the tip)."""
        if self._started:
            return
        self._started = True
        try:
            await self._bootstrap()
        except BaseException:
            self._status = Status.FAILED
            raise
        self._task = asyncio.create_task(self._run(), name=f"stellar-ob follow {self.url}")

    async def close(self) -> None:
        """Stop following, close every book and the source's connections (idempotent)."""
        task, self._task = self._task, None
        if task is not None and not task.done():
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)
        for b in [*self.books, *self.offer_books]:
            await b.close()
        if self._status is not Status.FAILED:
            self._status = Status.CLOSED
        if self.health is not None:
            await self.health.close()
        if self.stream is not None:
            await self.stream.close()
        else:
            await self.source.close()

    async def wait_live(self, timeout: float | None = 30.0) -> None:
        """Wait until the book has caught up with the source's tip (once). Raises the error if the
        follow failed, ``asyncio.TimeoutError`` after ``timeout`` s."""
        timeout = check_seconds("timeout", timeout, positive=True, allow_none=True)
        if not self._started:
            await self.start()
        if self._caught_up.is_set():
            return  # what wait() finds at once, without the deadline's timer (one per watch otherwise)

        async def wait() -> None:
            while not self._caught_up.is_set():
                if self._status is Status.FAILED:
                    raise self.last_error or LedgerSourceError("the follow failed")
                if self._status is Status.CLOSED:
                    raise LedgerSourceError("the follow is closed")
                s = self.stream
                if s is not None and s.reached_tip and self._pending_none(s):
                    self._caught_up.set()
                    break
                await asyncio.sleep(0.02)

        async with _deadline(timeout):
            await wait()

    @staticmethod
    def _pending_none(s: LedgerStream) -> bool:
        return not s._buffer

    async def watch(self, base: Any, counter: Any, depth: int | None = None, *, grouping: str = "exact",
                    on_update: Callable[[BookUpdate], Any] | None = None, load_timeout: float | None = 30.0,
                    allow_incomplete: bool = False) -> LedgerBook:
        """A live market of the book, loaded (the book has reached the source's tip) on return.

        ``depth``: levels a side (None: all; the ledger has no 200-level cap). ``grouping``: one of
        :data:`GROUPINGS` (``"horizon"`` with ``depth=200`` is the book Horizon's ``/order_book``
        serves). Assets as for :meth:`stellar_ob.Horizon.watch`. An incomplete book (``learn=True``)
        is refused unless ``allow_incomplete``. Raises the follow's error if it failed,
        :class:`~stellar_ob.ledger.stream.LedgerSourceError` if not caught up within ``load_timeout``.
        """
        if depth is not None and (isinstance(depth, bool) or not isinstance(depth, int) or depth < 1):
            raise ArgumentError(f"depth must be an int >= 1 or None (all levels), got {depth!r}")
        if grouping not in GROUPINGS:
            raise ArgumentError(f"grouping must be one of {', '.join(GROUPINGS)}, got {grouping!r}")
        b, c = await self._ready_market(base, counter, on_update, load_timeout, allow_incomplete)
        # one Asset object per asset for every book of this follow (an Asset is an object the
        # garbage collector tracks: thousands of markets share a few assets)
        b, c = self._assets.setdefault(b, b), self._assets.setdefault(c, c)
        book = LedgerBook(self, b, c, depth, grouping)
        if on_update is not None:
            book.on_update(on_update)
        keys = ((_key(b), _key(c)), (_key(c), _key(b)))
        book._keys = keys
        held = self._books.get(keys[0])
        if held is None:
            held = book
        elif type(held) is list:
            held.append(book)
        else:
            held = [held, book]
        self._books[keys[0]] = self._books[keys[1]] = held
        self.books.append(book)
        if self.metrics is not None:
            self.metrics.watch(book)
        book._refresh(0, True)
        return book

    async def unwatch(self, book: Any) -> None:
        await book.close()

    async def _ready_market(self, base: Any, counter: Any, on_update: Any, load_timeout: Any,
                            allow_incomplete: bool) -> tuple[Any, Any]:
        """The checks of :meth:`watch` and :meth:`watch_offers` (callback, timeout, a complete
        market unless ``allow_incomplete``), then the wait until the book is live: the pair as Assets."""
        from stellar_ob import Asset

        _check_callback("on_update", on_update)
        load_timeout = check_seconds("load_timeout", load_timeout, positive=True, allow_none=True)
        b, c = Asset.parse(base), Asset.parse(counter)
        if not self.is_complete(b, c) and not allow_incomplete:
            raise ArgumentError(f"the market {b}/{c} is not complete in this book (it started with learn=True, or "
                                "from Horizon for other markets): its offers are only those ledgers touched since; "
                                "pass allow_incomplete=True to watch it anyway")
        try:
            await self.wait_live(load_timeout)
        except asyncio.TimeoutError:
            raise LedgerSourceError(f"could not catch up with {self.url} within {load_timeout:g} s"
                                    + (f": {self.last_error}" if self.last_error else "")) from self.last_error
        return b, c

    async def watch_offers(self, base: Any, counter: Any, *, on_update: Callable[..., Any] | None = None,
                           load_timeout: float | None = 30.0, allow_incomplete: bool = False) -> LedgerOfferBook:
        """A live per-offer (L3) market of the book (:class:`LedgerOfferBook`, a
        :class:`~stellar_ob.sync.LiveOfferBook`), loaded (the book has reached the source's tip) on
        return: the code written for :meth:`stellar_ob.Horizon.watch_offers` switches source with
        this one call. Assets, ``load_timeout`` and ``allow_incomplete`` as for :meth:`watch`."""
        b, c = await self._ready_market(base, counter, on_update, load_timeout, allow_incomplete)
        book = LedgerOfferBook(self, b, c)
        if on_update is not None:
            book.on_update(on_update)
        keys = ((_key(b), _key(c)), (_key(c), _key(b)))
        book._keys = keys
        for k in keys:
            self._offer_books.setdefault(k, []).append(book)
        self.offer_books.append(book)
        if self.metrics is not None:
            self.metrics.watch(book)
        book._reload(0)
        return book

    def is_complete(self, base: Any, counter: Any) -> bool:
        """True when the book holds every offer of the market (in either orientation)."""
        if self.complete:
            return True
        from stellar_ob import Asset

        key = (_key(Asset.parse(base)), _key(Asset.parse(counter)))
        return key in self._complete_keys or key[::-1] in self._complete_keys

    def _forget(self, book: Any) -> None:  # _Live.close
        if isinstance(book, LedgerOfferBook):
            if book in self.offer_books:
                self.offer_books.remove(book)
            index: dict = self._offer_books
        else:
            if book in self.books:
                self.books.remove(book)
            keys = getattr(book, "_keys", ())
            held = self._books.get(keys[0]) if keys else None
            if held is book or (type(held) is list and book in held):
                rest = [b for b in held if b is not book] if type(held) is list else []
                for k in keys:
                    if rest:
                        self._books[k] = rest if len(rest) > 1 else rest[0]
                    else:
                        del self._books[k]
            if self.metrics is not None:
                self.metrics.unwatch(book)
            return
        for k in getattr(book, "_keys", ()):
            lst = index.get(k)
            if lst is not None and book in lst:
                lst.remove(book)
                if not lst:
                    del index[k]
        if self.metrics is not None:
            self.metrics.unwatch(book)

    # ---- bootstrap -------------------------------------------------------------------------------------
    async def _bootstrap(self) -> None:
        from stellar_ob.ledger.dexbook import DexBook

        if self.archive is not None:
            from stellar_ob.ledger.archive import HistoryArchive
            from stellar_ob.ledger.bootstrap import dexbook_from_snapshot

            checkpoint = self.checkpoint if self.bootstraps == 0 else None
            async with HistoryArchive(self.archive, cache_dir=self.cache_dir, progress=self.progress) as ar:
                snap = await ar.load(checkpoint, assets=self.assets)
            self._check_network(snap.network_passphrase, "the archive")
            self.dex = dexbook_from_snapshot(snap)
        elif self.snapshot is not None:
            from stellar_ob.ledger.bootstrap import load_snapshot

            saved = await asyncio.to_thread(load_snapshot, self.snapshot)
            self._check_network(saved.network_passphrase, "the snapshot")
            self.dex = saved.to_dexbook()
        elif self.horizon_url is not None:
            changes, first, last = await self._horizon_offers()
            self.dex = DexBook()
            self.dex.seed(changes, first)
            self.settled_at = last
            self._complete_keys = {(_key(b), _key(c)) for b, c in self.markets}
        elif self.empty:
            if self.start_ledger is None:  # refused in __init__: empty=True needs start=
                raise ArgumentError("empty=True needs start= (the first ledger; the DEX held nothing before it)")
            self.dex = DexBook.from_snapshot(_EMPTY_CHANGES, self.start_ledger - 1)
        else:
            self.dex = DexBook()
        self.bootstraps += 1
        self.bootstrapped_at = self.dex.ledger_seq or None
        self._last_hash = None

    async def _horizon_offers(self, max_pages: int = 10_000) -> tuple[bytes, int, int]:
        """Page every chosen market's /offers (both directions) and /liquidity_pools once: the
        entries as STATE changes, and the oldest and newest ``Latest-Ledger`` of the pages
        (:func:`stellar_ob.ledger.bootstrap.horizon_changes`)."""
        from stellar_ob.ledger.bootstrap import horizon_changes

        return await horizon_changes(self.horizon_url, self.markets, max_pages=max_pages)

    def _check_network(self, phrase: str | None, what: str) -> None:
        want = getattr(self.source, "passphrase", None)
        if want is not None and phrase is not None and phrase != want:
            raise NetworkMismatchError(f"{what} is of the network {phrase!r}, not {want!r}")

    # ---- following -------------------------------------------------------------------------------------
    def _check(self, item: Any) -> None:
        """Decode each ledger before it is handed over: a truncated or corrupted body (which the
        header hash does not cover) drops the page and asks again, never reaches the book."""
        from stellar_ob.ledger import FORM_BATCH, FORM_META, LedgerReader

        if isinstance(item, Ledger):
            r = LedgerReader(item.meta, FORM_META)
            if not r.next_ledger():
                raise ParseError(f"ledger {item.sequence}: no LedgerCloseMeta")
            # kept for _apply: the ledger is applied from this decoding, not decoded a second time
            # (only the last one checked: a page of many ledgers keeps one reader, not all)
            self._checked = (item, r)
        else:
            r = LedgerReader(item.data, FORM_BATCH)
            while r.next_ledger():
                pass

    def _new_stream(self) -> LedgerStream:
        seq = self.dex.ledger_seq
        start = seq + 1 if seq else self.start_ledger
        stream = LedgerStream(self.source, start, check=self._check, poll_interval=self.poll_interval,
                              stall_timeout=self.stall_timeout, backoff_base=self.backoff_base,
                              backoff_cap=self.backoff_cap, after_hash=self._last_hash, health=self.health,
                              paced=self.paced)
        stream.on_error(lambda _s, e: self._surface(e))
        return stream

    def _trim(self) -> None:
        """After a ledger (its updates delivered): malloc_trim(0), at most every _TRIM_EVERY s."""
        now = time.monotonic()
        if now - self._trimmed_at < _TRIM_EVERY:
            return
        self._trimmed_at = now
        trim = _malloc_trim()
        if trim is not None:
            trim(0)
            self.memory_trims += 1

    async def _run(self) -> None:
        backoff = Backoff(self.backoff_base, self.backoff_cap)
        while True:
            stream = self.stream = self._new_stream()
            try:
                async for item in stream:
                    self._apply(item)
                    if self.trim_memory:
                        self._trim()
                    backoff.reset()
                    if not self._caught_up.is_set() and stream.latest_ledger is not None \
                            and not stream._buffer and self.dex.ledger_seq >= stream.latest_ledger:
                        self._caught_up.set()
                return  # the stream ended (it follows forever unless closed)
            except asyncio.CancelledError:
                raise
            except RetentionError as e:
                if self.archive is None:
                    self._fail(e)
                    return
                log.warning("%s: %s; bootstrapping again from the archive", self.url, e)
                self._surface(e)
                await self._rebootstrap(backoff)
            except (NetworkMismatchError, ArgumentError) as e:
                self._fail(e)
                return
            except Exception as e:  # a ledger the book refused (atomic: the book is as it was)
                if not isinstance(e, StellarOBError):
                    log.exception("%s: applying a ledger failed unexpectedly", self.url)
                self.restarts += 1
                self._surface(e)
                await asyncio.sleep(backoff.next())

    async def _rebootstrap(self, backoff: Backoff) -> None:
        self._caught_up.clear()
        while True:
            try:
                await self._bootstrap()
                break
            except asyncio.CancelledError:
                raise
            except Exception as e:  # noqa: BLE001 - the archive is a network source too
                self._surface(e)
                await asyncio.sleep(backoff.next())
        for book in list(self.books):
            book._refresh(0, True)
        for ob in list(self.offer_books):
            ob._reload(0)

    def _apply(self, item: Any) -> None:
        dex = self.dex
        if isinstance(item, Ledger):
            checked, self._checked = self._checked, None
            if checked is not None and checked[0] is item:
                reader = checked[1]
            else:
                from stellar_ob.ledger import FORM_META, LedgerReader

                reader = LedgerReader(item.meta, FORM_META)
                if not reader.next_ledger():
                    raise ParseError(f"ledger {item.sequence}: no LedgerCloseMeta")
            raw = dex._c.apply_reader(reader, False, False)  # trades by index: built for those asked
            self.protocol = reader.protocol_version
            self._last_hash = item.hash
            self.close_time = item.close_time
            self._dispatch(raw, reader, item.received_ns)
        elif isinstance(item, LedgerBatch):
            from stellar_ob.ledger import FORM_BATCH, LedgerReader

            r = LedgerReader(item.data, FORM_BATCH)
            while r.next_ledger():
                if r.ledger_seq < item.first or r.ledger_seq <= dex.ledger_seq:
                    continue
                raw = dex._c.apply_reader(r, False, False)
                self.protocol = r.protocol_version
                self._dispatch(raw, r, item.received_ns)
            self._last_hash = None

    def _dispatch(self, raw: tuple, reader: Any, received_ns: int) -> None:
        """Hand one ledger (the DexBook's raw apply result, its trades by index in ``reader``'s
        ledger) to the books watching what it changed.

        An L2 book reads its levels from the DexBook, so it needs only to know that its market's
        offers or levels changed: that is read from the raw rows' market indices (ints), and no
        MarketUpdate, OfferChange or list is built for it. What a ledger builds lives until its
        last book is served, and with thousands of books the collections of the younger
        generations that run meanwhile would move it into the oldest one, whose growth is what
        makes a full collection (a long pause of the event loop) come due. MarketUpdates are built
        only for the markets per-offer books watch (they apply each offer change), and Trade
        records only for those markets and the L2 books with ``on_trades`` callbacks."""
        self.confirmed_at = time.time()
        books, offer_books = self._books, self._offer_books
        if not books and not offer_books:
            return
        dex = self.dex
        seq = raw[0]
        if books:
            key_of = dex._market_key
            # the markets whose offers or levels changed, in the ledger's order (a dict of ints and
            # None: the collector does not track it)
            changed = dict.fromkeys([r[0] for r in raw[1]])
            for r in raw[2]:
                changed[r[0]] = None
            traded: dict | None = None
            for m, t in raw[4]:  # (market, the trade's index in the ledger)
                if m == _NO_MARKET:
                    continue
                watching = books.get(key_of(m))
                if watching is not None and any(b._trade_callbacks for b in (
                        watching if type(watching) is list else (watching,))):
                    if traded is None:
                        traded = {}
                    traded.setdefault(m, []).append(reader.trade(t))
            order = changed if traded is None else {**changed, **dict.fromkeys(traded)}
            for m in order:
                watching = books.get(key_of(m))
                if watching is None:
                    continue
                for book in (list(watching) if type(watching) is list else (watching,)):
                    if m in changed:
                        book._refresh(received_ns, False)
                    if traded is not None and m in traded and book._trade_callbacks:
                        book._trades(list(traded[m]), seq)
        if offer_books:
            key_of = dex._market_key
            trades = [(m, reader.trade(t)) for m, t in raw[4] if m != _NO_MARKET and key_of(m) in offer_books]
            upd = dex._update((*raw[:4], trades, *raw[5:]), offer_books)
            for key, mu in upd.markets.items():
                per_offer = offer_books.get(key)
                if per_offer is not None:
                    for ob in list(per_offer):
                        ob._apply_market(mu, received_ns)
                        if mu.trades and ob._trade_callbacks:
                            ob._trades(list(mu.trades), upd.ledger_seq)

    def _surface(self, error: BaseException) -> None:
        self.last_error = error
        for cb in list(self._error_callbacks):
            try:
                cb(self, error)
            except Exception:  # noqa: BLE001 - a callback never stops the follow
                log.exception("on_error callback %r raised", cb)
        for book in [*self.books, *self.offer_books]:
            book._surface(error)

    def _fail(self, error: BaseException) -> None:
        self._status = Status.FAILED
        self._surface(error)
        for book in [*self.books, *self.offer_books]:
            book._end_streams()


_TRIM_EVERY = 1.0  # s between two malloc_trim calls of one Follow: every ledger at 5 s, bounded in a catch-up
_UNSET: Any = object()
_trim_fn: Any = _UNSET


def _malloc_trim() -> Callable[[int], Any] | None:
    """glibc's ``malloc_trim`` (releases every arena's free pages, not only the heap's top), or
    None where the C library has none (musl, macOS, Windows). Looked up once."""
    global _trim_fn
    if _trim_fn is _UNSET:
        try:
            import ctypes

            fn = ctypes.CDLL(None).malloc_trim
            fn.argtypes = [ctypes.c_size_t]
            fn.restype = ctypes.c_int
            _trim_fn = fn
        except (OSError, AttributeError, TypeError):
            _trim_fn = None
    return _trim_fn


def _key(asset: Any) -> str:
    from stellar_ob.ledger.records import LedgerAsset

    return str(LedgerAsset.from_asset(asset))


def _level_changes(side: str, old: tuple, new: tuple) -> list:
    """The LevelChanges from ``old`` to ``new`` (one side's levels best first, reduced prices, as a
    flat tuple ``(n, d, amount, n, d, amount, ...)``), best first: one merge of the two sorted
    sides, prices compared exactly by cross-multiplication."""
    out = []
    i = j = 0
    desc = side == "bid"  # bids best first: highest price first
    n_old, n_new = len(old), len(new)
    while i < n_old or j < n_new:
        if j >= n_new:
            out.append(LevelChange(side, Price(old[i], old[i + 1]), old[i + 2], 0))
            i += 3
            continue
        if i >= n_old:
            out.append(LevelChange(side, Price(new[j], new[j + 1]), 0, new[j + 2]))
            j += 3
            continue
        on, od, oa = old[i], old[i + 1], old[i + 2]
        nn, nd, na = new[j], new[j + 1], new[j + 2]
        lhs, rhs = on * nd, nn * od
        if lhs == rhs:
            if oa != na:
                out.append(LevelChange(side, Price(nn, nd), oa, na))
            i += 3
            j += 3
        elif (lhs > rhs) == desc:  # the old level comes first: gone
            out.append(LevelChange(side, Price(on, od), oa, 0))
            i += 3
        else:
            out.append(LevelChange(side, Price(nn, nd), 0, na))
            j += 3
    return out
