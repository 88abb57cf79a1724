"""Hummingbot's ``OrderBookTrackerDataSource`` over stellar_ob's exact live books.

How it plugs into Hummingbot's ``OrderBookTracker`` (hummingbot/core/data_type/
order_book_tracker.py, order_book_tracker_data_source.py; read against Hummingbot 20260922):

=================================  ===============================================================
the tracker calls                  we do
=================================  ===============================================================
``_order_book_snapshot(pair)``     start the market if needed (``Horizon.watch``), wait until it
(via ``get_new_order_book``)       is loaded, return a SNAPSHOT of its converted state
``listen_for_subscriptions()``     start every configured market: each update of its live book is
                                   turned into messages as it is applied (no task hop); when
                                   cancelled (``tracker.stop()``) it stops them all
``listen_for_order_book_diffs``    from then on DIFF **and** SNAPSHOT messages go straight into
                                   the tracker's diff queue, in the order they were made
``listen_for_order_book_snapshots``  every ``snapshot_interval`` s, a SNAPSHOT of each market (down
                                   the same ordered path) re-asserts the whole book
``listen_for_trades``              TRADE messages from the trade feed (see :data:`TradeFeed`)
``get_last_traded_prices``         the trade feed's last price, else REST ``/trades`` (newest one)
``subscribe_to_trading_pair`` /    start / stop a market at run time
``unsubscribe_from_trading_pair``
=================================  ===============================================================

Messages. A market's first load is the SNAPSHOT the tracker asks for; every resync of the
source (a reconnect's full snapshot, a market restarted after a failure) sends a SNAPSHOT; every
other update that changes what Hummingbot holds sends a DIFF of the changed double-price levels
(:class:`~stellar_ob.hummingbot_convert.HummingbotBook`). ``update_id``: each new state of a
market takes the next number of a counter shared by all markets of the data source (Horizon's
/order_book stream carries no ledger sequence), so it never goes backwards, even across a
re-subscription; a snapshot carries the id of the state it shows. (A reconnect whose full book
equals the one held changes nothing and sends nothing; the periodic snapshot re-asserts the book
whatever happens.)

A market's book messages start once the tracker has asked for its first snapshot: diffs sent
earlier would wait in the tracker's "saved" queue and be applied after that snapshot without an
``update_id`` check.

Why snapshots ride the diff queue, and why a resync sends a DIFF before its SNAPSHOT. The
tracker routes diffs and snapshots through two queues and two tasks into one per-market queue,
so nothing promises their relative order. And ``OrderBook.restore_from_snapshot_and_diffs`` replays
*every* diff of its 32-message window over a new snapshot, however old: it looks for the
snapshot's place with ``bisect_right``, but ``OrderBookMessage.__lt__`` is true for any two book
messages, so the place found is always 0. A diff replayed over a newer snapshot puts back an
amount the snapshot had replaced. Both are made harmless: every message of a market travels
one FIFO path (the diff queue: its router hands snapshots on like diffs, the per-market task
applies each by its type), and every SNAPSHOT shows the state right after the latest DIFF, the
resync's changes included (that DIFF goes first, with the snapshot's ``update_id``). Replaying
any run of diffs that ends with the latest one over such a snapshot changes nothing: each level
a replayed diff touches ends at the value of the last diff that touched it, which is the value
the snapshot holds. The tests check the tracker's book equals the converted exact book after
every message, with faults on.
"""

from __future__ import annotations

import asyncio
import contextlib
import math
import time
from dataclasses import dataclass
from typing import Any, AsyncIterator, Callable, Dict, List, Mapping, Optional, Sequence, Union

from hummingbot.core.data_type.order_book_message import OrderBookMessage, OrderBookMessageType
from hummingbot.core.data_type.order_book_tracker_data_source import OrderBookTrackerDataSource

from stellar_ob.assets import Asset
from stellar_ob.errors import ArgumentError, HorizonError, InvalidBookError, StellarOBError
from stellar_ob.horizon import Trade, parse_trades
from stellar_ob.hummingbot_convert import (
    AssetTable,
    HummingbotBook,
    TradingPairError,
    UpdateIds,
    diff_content,
    trade_content,
)
from stellar_ob.sync import DEFAULT_HORIZON, Backoff, Horizon, LiveBook

__all__ = ["StellarOrderBookDataSource", "TradeFeed", "MarketCounters", "UnknownSourceError", "SOURCES",
           "LEDGER_TRADES", "LedgerTrade", "ledger_trade_content", "ledger_trades"]

#: The sources a data source can read books from. ``"horizon"``: Horizon's /order_book stream
#: (L2, at most 200 levels a side). ``"ledger"``: a :class:`stellar_ob.ledger.Follow` (Stellar RPC or
#: a data lake: one request a ledger for every market, full depth, ``update_id`` = the ledger).
SOURCES = ("horizon", "ledger")

#: ``trade_feed`` of the ledger source: the offers each ledger's transactions claimed in the market
#: (and its pool's trades), from the same :class:`stellar_ob.ledger.Follow` (the default there).
LEDGER_TRADES = "ledger"

#: The one interface a trade feed implements: called with a market's (base, counter) assets, it
#: returns an async iterator of :class:`stellar_ob.horizon.Trade` records of that market (either
#: orientation). Each record becomes a Hummingbot TRADE message. If the iterator raises, it is
#: called again after a backoff; if it ends, the market has no more trades. Example, trades
#: from a list: ``lambda base, counter: _aiter(records)`` with ``async def _aiter(xs):
#: for x in xs: yield x``.
TradeFeed = Callable[[Asset, Asset], AsyncIterator[Trade]]

#: The default ``trade_feed``: the market's live trades from the data source's own
#: :class:`stellar_ob.Horizon` (:meth:`Horizon.watch_trades`: Horizon's /trades stream from
#: ``cursor=now``, resumed from the last paging token, every record read by the strict parser).
HORIZON_TRADES = "horizon"


async def horizon_trades(horizon: Horizon, base: Asset, counter: Asset) -> AsyncIterator[Trade]:
    """A :data:`TradeFeed` over :meth:`Horizon.watch_trades`: every trade of the market from now
    on, in Horizon's order, none twice (the live stream's ``updates()`` merges what a slow reader
    has not taken yet instead of dropping it, up to 10,000 trades). The stream is closed when
    the iteration ends. Use it with another client:
    ``trade_feed=lambda b, c: horizon_trades(my_horizon, b, c)``."""
    live = await horizon.watch_trades(base, counter, load_timeout=None)
    stream = live.updates()
    try:
        async for update in stream:
            for trade in update.trades:
                yield trade
    finally:
        stream.close()
        await live.close()

@dataclass(frozen=True)
class LedgerTrade:
    """One trade of a market as the ledger recorded it: ``trade`` is the
    :class:`stellar_ob.ledger.records.Trade` (the maker sold ``amount_sold`` of ``asset_sold``),
    ``index`` its place among the ledger's trades of the market, ``close_time`` the ledger's."""

    ledger: int
    close_time: float
    index: int
    trade: Any


def ledger_trade_content(t: LedgerTrade, base: Asset, counter: Asset, trading_pair: str) -> tuple:
    """A :class:`LedgerTrade` as the content and timestamp of a Hummingbot TRADE message, like
    :func:`stellar_ob.hummingbot_convert.trade_content`: ``amount`` in base units, ``price`` the
    executed ``counter / base`` (exact ratio, rounded once to a double), ``trade_type`` the taker's
    side (the maker sold base: the taker bought, BUY), ``update_id`` the ledger, ``trade_id``
    Horizon's id of the trade (:meth:`stellar_ob.ledger.records.Trade.horizon_id`: the operation's
    TOID, ledger << 32 | tx << 12 | op counted from 1, and the claim's place among the operation's
    ClaimAtoms), so the same trade has the same id from either source."""
    from stellar_ob.hummingbot_convert import TRADE_TYPE_BUY, TRADE_TYPE_SELL
    from stellar_ob.ledger.records import LedgerAsset

    r = t.trade
    b, c = LedgerAsset.from_asset(base), LedgerAsset.from_asset(counter)
    if r.asset_sold == b and r.asset_bought == c:
        base_units, counter_units, taker_buys = r.amount_sold, r.amount_bought, True
    elif r.asset_sold == c and r.asset_bought == b:
        base_units, counter_units, taker_buys = r.amount_bought, r.amount_sold, False
    else:
        from stellar_ob.errors import AssetMismatchError

        raise AssetMismatchError(f"ledger {t.ledger} trade {t.index} is {r.asset_sold}/{r.asset_bought}, "
                                 f"not the market {b}/{c}")
    if base_units <= 0 or counter_units <= 0:
        from stellar_ob.errors import PriceError

        raise PriceError(f"ledger {t.ledger} trade {t.index} has amounts {base_units}/{counter_units}: no price")
    content = {
        "trading_pair": trading_pair,
        "trade_type": TRADE_TYPE_BUY if taker_buys else TRADE_TYPE_SELL,
        "trade_id": r.horizon_id(t.ledger),
        "update_id": t.ledger,
        "price": counter_units / base_units,
        "amount": base_units / 10_000_000,
    }
    return content, float(t.close_time)


async def ledger_trades(follow: Any, base: Asset, counter: Asset, max_pending: int = 10_000) -> AsyncIterator[LedgerTrade]:
    """A :data:`TradeFeed` over a :class:`stellar_ob.ledger.Follow`: every trade the ledgers record
    in the market from now on, in the ledgers' order, none twice (``max_pending`` kept for a slow
    reader; past it the oldest are dropped and logged)."""
    import collections

    book = await follow.watch(base, counter, 1, load_timeout=None)
    pending: "collections.deque[LedgerTrade]" = collections.deque()
    wake = asyncio.Event()

    def on_trades(_book: Any, trades: list, ledger: int) -> None:
        close_time = getattr(follow, "close_time", None) or time.time()
        for i, r in enumerate(trades):
            if len(pending) >= max_pending:
                pending.popleft()
            pending.append(LedgerTrade(ledger, close_time, i, r))
        wake.set()

    book.on_trades(on_trades)
    try:
        while True:
            while pending:
                yield pending.popleft()
            if book.status.value in ("failed", "closed"):
                if book.last_error is not None and book.status.value == "failed":
                    raise book.last_error
                return
            wake.clear()
            await wake.wait()
    finally:
        await book.close()


_SNAPSHOT = OrderBookMessageType.SNAPSHOT
_DIFF = OrderBookMessageType.DIFF
_TRADE = OrderBookMessageType.TRADE


class UnknownSourceError(StellarOBError, ValueError):
    """The ``source`` given to the data source is not one of :data:`SOURCES`."""


@dataclass
class MarketCounters:
    """What one market of the data source sent and met (all monotonically increasing)."""

    diffs: int = 0  #: DIFF messages sent
    snapshots: int = 0  #: SNAPSHOT messages sent (loads, resyncs, periodic refreshes)
    resyncs: int = 0  #: full snapshots from the source after the first (reconnects, restarts)
    restarts: int = 0  #: times the live book failed or could not be loaded and was watched again
    locked: int = 0  #: updates after which the best bid and best ask share a double (Hummingbot drops one)
    trades: int = 0  #: TRADE messages sent
    trade_errors: int = 0  #: trade records refused (another market, no price, not a Trade)
    trade_feed_errors: int = 0  #: times the trade feed raised (it is called again after a backoff)
    dropped: int = 0  #: messages dropped while no tracker listened (a snapshot follows when one does)


class _Market:
    __slots__ = ("pair", "base", "counter", "book", "live", "loaded", "has_state", "requested", "last_error",
                 "task", "trade_task", "last_trade_price", "counters", "snapshot_due", "was_locked", "last_id")

    def __init__(self, pair: str, base: Asset, counter: Asset) -> None:
        self.pair = pair
        self.base = base
        self.counter = counter
        self.book = HummingbotBook()
        self.live: Optional[LiveBook] = None
        self.loaded = asyncio.Event()
        self.has_state = False
        #: the tracker asked for the first snapshot: book messages flow from then on (earlier
        #: ones would reach it from its saved queue, after that snapshot, unchecked)
        self.requested = False
        self.last_error: Optional[BaseException] = None
        self.task: Optional[asyncio.Task] = None
        self.trade_task: Optional[asyncio.Task] = None
        self.last_trade_price: Optional[float] = None
        self.counters = MarketCounters()
        self.snapshot_due = False
        self.was_locked = False
        self.last_id = 0


class StellarOrderBookDataSource(OrderBookTrackerDataSource):
    """A Hummingbot order book data source for the Stellar DEX, fed by stellar_ob's exact books.

    ``trading_pairs``: Hummingbot pairs ``"BASE-QUOTE"``; ``assets``: an
    :class:`~stellar_ob.hummingbot_convert.AssetTable` or the mapping to build one
    (``{"USDC": "USDC:GA5Z...KZVN"}``; ``XLM`` is native). ``source``: where books come from,
    one of :data:`SOURCES` (:class:`UnknownSourceError` otherwise). ``horizon_url`` or
    ``horizon`` (a :class:`stellar_ob.Horizon` you own and close; by default the data source
    makes one with ``horizon_options`` and closes it). ``depth``: levels a side, 1..200.
    ``trade_feed``: where TRADE messages come from: :data:`HORIZON_TRADES` (the default: each
    market's live /trades stream through the data source's Horizon, :func:`horizon_trades`), any
    :data:`TradeFeed`, or None (no TRADE messages). Until a market's feed has delivered a trade,
    its last traded price comes from REST /trades. ``load_timeout``: how long
    ``_order_book_snapshot`` waits for a market's first load (None: as long as it takes, the
    market retrying with backoff and logging each failure); ``subscribe_timeout``: the same for
    ``subscribe_to_trading_pair``, which then gives up and returns False.
    ``snapshot_interval``: seconds between re-asserting SNAPSHOTs (Hummingbot's hour by default).
    ``last_price_ttl``: seconds a last traded price read from REST /trades is reused (the tracker
    asks every 5 s for each pair that saw no trade for 3 minutes; Horizon allows 3,600 requests
    an hour per IP, shared with the streams' reconnects).
    ``on_state``: called as ``on_state(pair, update_id, exact_book)`` each time the state a
    market's Hummingbot book must hold changes (and so gets a new ``update_id``), with the exact
    :class:`stellar_ob.OrderBook` it was converted from: once the tracker has applied the message
    with that ``update_id``, its book equals ``HummingbotBook().load(exact_book)``. For audits
    and tests; read the book before awaiting (it is the live one). Exceptions are logged.

    Example (a full script: examples/hummingbot_tracker.py)::

        source = StellarOrderBookDataSource(["XLM-USDC"], {"USDC": "USDC:GA5Z...KZVN"})
        tracker = OrderBookTracker(source, ["XLM-USDC"])
        tracker.start()
        await tracker.wait_ready()
        book = tracker.order_books["XLM-USDC"]               # Hummingbot's OrderBook (floats)
        exact = source.exact_book("XLM-USDC")                # stellar_ob.OrderBook (exact)
        print(book.get_price(True), exact.best_ask())
    """

    #: messages kept while no tracker listens; past it they are dropped and a snapshot follows
    MAX_BUFFERED = 10_000

    def __init__(
        self,
        trading_pairs: Sequence[str],
        assets: Union[AssetTable, Mapping[str, Any]],
        *,
        source: str = "horizon",
        follow: Any = None,
        ledger_options: Optional[Mapping[str, Any]] = None,
        horizon_url: str = DEFAULT_HORIZON,
        horizon: Optional[Horizon] = None,
        horizon_options: Optional[Mapping[str, Any]] = None,
        depth: Optional[int] = 200,
        trade_feed: Union[TradeFeed, str, None] = HORIZON_TRADES,
        load_timeout: Optional[float] = None,
        subscribe_timeout: float = 30.0,
        snapshot_interval: Optional[float] = None,
        on_state: Optional[Callable[[str, int, Any], Any]] = None,
        last_price_ttl: float = 60.0,
    ) -> None:
        if source not in SOURCES:
            raise UnknownSourceError(
                f"unknown source {source!r}; the sources are {', '.join(map(repr, SOURCES))}")
        if source == "ledger":
            if (follow is None) == (ledger_options is None):
                raise ArgumentError("the ledger source needs follow= (a stellar_ob.ledger.Follow) or ledger_options= "
                                 "(the keyword arguments of one, e.g. {'rpc': URL, 'archive': URL})")
            if depth is not None and (isinstance(depth, bool) or not isinstance(depth, int) or depth < 1):
                raise ArgumentError(f"depth must be an int >= 1 or None (every level), got {depth!r}")
            if isinstance(trade_feed, str) and trade_feed in (HORIZON_TRADES, LEDGER_TRADES):
                trade_feed = LEDGER_TRADES  # the default: the ledger's claimed offers, from the same Follow
        else:
            if follow is not None or ledger_options is not None:
                raise ArgumentError("follow= and ledger_options= are for source='ledger'")
            if isinstance(trade_feed, str) and trade_feed == LEDGER_TRADES:
                raise ArgumentError("trade_feed='ledger' needs source='ledger'")
            if isinstance(depth, bool) or not isinstance(depth, int) or not 1 <= depth <= 200:
                raise ArgumentError(f"depth must be 1..200 (Horizon's /order_book maximum), got {depth!r}")
        table = assets if isinstance(assets, AssetTable) else AssetTable(assets)
        pairs = list(trading_pairs)
        for pair in pairs:
            table.assets(pair)  # TradingPairError now rather than inside the tracker's tasks
        super().__init__(pairs)
        self._source = source
        self._assets = table
        self._horizon_url = horizon_url
        self._horizon = horizon
        self._own_horizon = horizon is None
        self._horizon_options = dict(horizon_options or {})
        self._depth = depth
        self._follow = follow
        self._own_follow = follow is None
        self._ledger_options = dict(ledger_options or {})
        if isinstance(trade_feed, str) and trade_feed == LEDGER_TRADES:
            trade_feed = self._ledger_trades
        elif isinstance(trade_feed, str) and trade_feed == HORIZON_TRADES:
            trade_feed = self._horizon_trades
        elif trade_feed is not None and not callable(trade_feed):
            raise ArgumentError(f"trade_feed must be {HORIZON_TRADES!r}, a callable (base, counter) -> async "
                             f"iterator of Trade, or None; got {type(trade_feed).__name__}")
        self._trade_feed: Optional[TradeFeed] = trade_feed
        self._load_timeout = load_timeout
        self._subscribe_timeout = subscribe_timeout
        self._snapshot_interval = (self.FULL_ORDER_BOOK_RESET_DELTA_SECONDS if snapshot_interval is None
                                   else snapshot_interval)
        self._ids = UpdateIds()
        self._markets: Dict[str, _Market] = {}
        self._diff_out: Optional[asyncio.Queue] = None
        self._trade_out: Optional[asyncio.Queue] = None
        self._buffer_overflowed = False
        self._on_state = on_state
        self._last_price_ttl = last_price_ttl
        self._rest_prices: Dict[str, Any] = {}  # pair -> (time.monotonic() read, price or None)

    # ---- reading -------------------------------------------------------------------------------
    @property
    def source(self) -> str:
        return self._source

    @property
    def asset_table(self) -> AssetTable:
        return self._assets

    def exact_book(self, trading_pair: str) -> Any:
        """The market's exact :class:`stellar_ob.OrderBook` (live; None before it is loaded)."""
        m = self._markets.get(trading_pair)
        return None if m is None or m.live is None else m.live.book

    def hummingbot_book(self, trading_pair: str) -> Optional[HummingbotBook]:
        """What the tracker's book of this market holds once it has applied every message sent."""
        m = self._markets.get(trading_pair)
        return None if m is None or not m.has_state else m.book

    def counters(self, trading_pair: str) -> Optional[MarketCounters]:
        m = self._markets.get(trading_pair)
        return None if m is None else m.counters

    def last_update_id(self, trading_pair: str) -> Optional[int]:
        """The ``update_id`` of the last book message sent for the market."""
        m = self._markets.get(trading_pair)
        return None if m is None or not m.has_state else m.last_id

    # ---- the tracker's entry points ------------------------------------------------------------
    async def _order_book_snapshot(self, trading_pair: str) -> OrderBookMessage:
        m = await self._loaded_market(trading_pair, self._load_timeout)
        m.requested = True
        m.counters.snapshots += 1
        return OrderBookMessage(_SNAPSHOT, m.book.snapshot_content(trading_pair, m.last_id), time.time())

    async def listen_for_subscriptions(self) -> None:
        """Start every configured market (each in its own task, which hands the live book's
        updates to :meth:`_on_update` as they are applied) and
        keep them until cancelled; cancelling stops them all and closes the Horizon client if it
        is ours."""
        try:
            for pair in list(self._trading_pairs):
                self._market(pair)
            await asyncio.Event().wait()
        finally:
            await self._stop_all()

    async def listen_for_order_book_diffs(self, ev_loop: Any, output: asyncio.Queue) -> None:
        q = self._message_queue[self._diff_messages_queue_key]
        while not q.empty():
            output.put_nowait(q.get_nowait())
        self._diff_out = output
        if self._buffer_overflowed:
            self._buffer_overflowed = False
            for m in list(self._markets.values()):
                if m.snapshot_due and m.requested:
                    m.snapshot_due = False
                    self._send_snapshot(m)
        try:
            await asyncio.Event().wait()
        finally:
            if self._diff_out is output:
                self._diff_out = None

    async def listen_for_order_book_snapshots(self, ev_loop: Any, output: asyncio.Queue) -> None:
        # Snapshots go down the diff queue (see the module docstring); this only re-asserts.
        while True:
            await asyncio.sleep(self._snapshot_interval)
            for m in list(self._markets.values()):
                if m.requested:
                    self._send_snapshot(m)

    async def listen_for_trades(self, ev_loop: Any, output: asyncio.Queue) -> None:
        q = self._message_queue[self._trade_messages_queue_key]
        while not q.empty():
            output.put_nowait(q.get_nowait())
        self._trade_out = output
        try:
            await asyncio.Event().wait()
        finally:
            if self._trade_out is output:
                self._trade_out = None

    async def get_last_traded_prices(self, trading_pairs: List[str], domain: Optional[str] = None) -> Dict[str, float]:
        """The last traded price of each pair (counter per base): the trade feed's latest, else
        the newest trade of REST /trades (reused for ``last_price_ttl`` s). Every pair asked for
        is in the answer, NaN where no trade is known (what Hummingbot's OrderBook starts with):
        the tracker asks again at once for a pair left out, a busy loop that would also spend
        Horizon's rate limit. A failed read logs and keeps the price known before, if any.
        ``domain`` is not used (the Horizon URL chooses the network)."""

        async def one(pair: str) -> float:
            m = self._markets.get(pair)
            if m is not None and m.last_trade_price is not None:
                return m.last_trade_price
            price = await self._rest_last_price(pair)
            return math.nan if price is None else price

        prices = await asyncio.gather(*(one(p) for p in trading_pairs))
        return dict(zip(trading_pairs, prices))

    async def subscribe_to_trading_pair(self, trading_pair: str) -> bool:
        try:
            self._assets.assets(trading_pair)
        except TradingPairError as e:
            self.logger().error(f"cannot subscribe to {trading_pair}: {e}")
            return False
        self.add_trading_pair(trading_pair)
        try:
            await self._loaded_market(trading_pair, self._subscribe_timeout)
        except asyncio.CancelledError:
            raise
        except Exception as e:
            self.logger().error(f"cannot subscribe to {trading_pair}: {e}")
            self.remove_trading_pair(trading_pair)
            await self._stop_market(trading_pair)
            return False
        self.logger().info(f"subscribed to {trading_pair}")
        return True

    async def unsubscribe_from_trading_pair(self, trading_pair: str) -> bool:
        if trading_pair not in self._markets and trading_pair not in self._trading_pairs:
            return False
        self.remove_trading_pair(trading_pair)
        await self._stop_market(trading_pair)
        # Let the tracker's router take what was sent for this pair while its queue still
        # exists (it removes the queue after we return), so nothing stale is saved for a later
        # re-subscription.
        for _ in range(1000):
            out = self._diff_out
            if out is None or out.empty():
                break
            await asyncio.sleep(0)
        self.logger().info(f"unsubscribed from {trading_pair}")
        return True

    async def close(self) -> None:
        """Stop every market and close the Horizon client if the data source made it."""
        await self._stop_all()

    # The base class's websocket plumbing is not used; messages are already OrderBookMessages.
    async def _parse_order_book_diff_message(self, raw_message: Any, message_queue: asyncio.Queue) -> None:
        message_queue.put_nowait(raw_message)

    async def _parse_order_book_snapshot_message(self, raw_message: Any, message_queue: asyncio.Queue) -> None:
        message_queue.put_nowait(raw_message)

    async def _parse_trade_message(self, raw_message: Any, message_queue: asyncio.Queue) -> None:
        message_queue.put_nowait(raw_message)

    # ---- markets -------------------------------------------------------------------------------
    def _client(self) -> Any:
        """The source of books: the Horizon client, or the ledger's Follow."""
        if self._source == "ledger":
            if self._follow is None:
                from stellar_ob.ledger import Follow

                self._follow = Follow(**self._ledger_options)
            return self._follow
        if self._horizon is None:
            self._horizon = Horizon(self._horizon_url, **self._horizon_options)
        return self._horizon

    def _market(self, pair: str) -> _Market:
        m = self._markets.get(pair)
        if m is None:
            base, counter = self._assets.assets(pair)
            m = _Market(pair, base, counter)
            self._markets[pair] = m
            loop = asyncio.get_running_loop()
            m.task = loop.create_task(self._run_market(m), name=f"stellar-ob hummingbot {pair}")
            if self._trade_feed is not None:
                m.trade_task = loop.create_task(self._run_trades(m), name=f"stellar-ob hummingbot {pair} trades")
        return m

    async def _loaded_market(self, pair: str, timeout: Optional[float]) -> _Market:
        m = self._market(pair)
        if not m.loaded.is_set():
            try:
                await asyncio.wait_for(m.loaded.wait(), timeout)
            except asyncio.TimeoutError:
                err = m.last_error
                raise HorizonError(f"could not load {pair} within {timeout:g} s" + (f": {err}" if err else "")) from err
        return m

    async def _run_market(self, m: _Market) -> None:
        """Watch the market and turn its updates into messages, for as long as it is subscribed;
        a failed or closed live book is watched again after a backoff (the new book's snapshot
        is a resync)."""
        backoff = Backoff(0.5, 30.0)
        while True:
            live: Optional[LiveBook] = None
            try:
                live = await self._client().watch(m.base, m.counter, self._depth)
                # Each update is converted and put on the tracker's queue in the sync's own call
                # stack (no task hop through updates()); registered before any await, so no update
                # falls between the load and the stream. ended() raises when the book fails or
                # closes, or with what _on_update raised.
                direct = getattr(live, "_direct_updates", None)  # every _Live has it; a stand-in may not
                stream = (direct(lambda update: self._on_update(m, update)) if direct is not None
                          else live.updates())
                m.live = live
                self._install(m, live.book)
                m.loaded.set()
                backoff.reset()
                if direct is not None:
                    await stream.ended()  # raises: the book failed or closed, or _on_update raised
                else:
                    async for update in stream:
                        self._on_update(m, update)
                raise HorizonError(f"{m.pair}: the live book closed")
            except asyncio.CancelledError:
                raise
            except Exception as e:
                m.last_error = e
                m.counters.restarts += 1
                self.logger().warning(f"{m.pair}: {e!r}; watching it again")
            finally:
                if live is not None:
                    m.live = None
                    await live.close()
            await asyncio.sleep(backoff.next())

    def _install(self, m: _Market, book: Any) -> None:
        """A (re)loaded exact book: a DIFF to it, then a SNAPSHOT (the first load's snapshot is
        the one the tracker asks for)."""
        if not m.has_state:
            m.book.load(book)
            m.has_state = True
            self._new_state(m, book)
            return
        rows = m.book.resync(book)
        m.counters.resyncs += 1
        self._new_state(m, book)
        if rows[0] or rows[1]:
            self._send_diff(m, rows)
        self._send_snapshot(m)

    def _on_update(self, m: _Market, update: Any) -> None:
        book = update.book
        resync = update.resync
        try:
            rows = m.book.apply(update.diff)
        except InvalidBookError as e:  # our state is not the diff's base (should not happen): take the book
            self.logger().error(f"{m.pair}: {e}; resending the whole book")
            rows = m.book.resync(book)
            resync = True
        if resync:
            m.counters.resyncs += 1
            self._new_state(m, book)
            if rows[0] or rows[1]:
                self._send_diff(m, rows)
            self._send_snapshot(m)
        elif rows[0] or rows[1]:
            self._new_state(m, book)
            self._send_diff(m, rows)
        bid, ask = book.best_bid(), book.best_ask()
        locked = (bid is not None and ask is not None
                  and bid.price.n / bid.price.d >= ask.price.n / ask.price.d)
        if locked:
            m.counters.locked += 1
            if not m.was_locked:
                self.logger().warning(
                    f"{m.pair}: best bid {bid.price} and best ask {ask.price} round to one double; "
                    f"Hummingbot's book keeps only one of them until they part")
        m.was_locked = locked

    def _new_state(self, m: _Market, book: Any) -> None:
        """The converted state changed: it gets the next update_id (one id, one state; a
        snapshot always carries the id of the state it shows)."""
        live = m.live
        ledger = getattr(live, "ledger", None) if self._source == "ledger" else None
        m.last_id = uid = self._ids.next(ledger=ledger)
        if self._on_state is not None:
            try:
                self._on_state(m.pair, uid, book)
            except Exception:
                self.logger().exception(f"{m.pair}: on_state raised")

    def _send_diff(self, m: _Market, rows: Any) -> None:
        if m.requested:
            m.counters.diffs += 1
            self._emit_book(m, OrderBookMessage(_DIFF, diff_content(m.pair, m.last_id, rows), time.time()))

    def _send_snapshot(self, m: _Market) -> None:
        if m.requested:
            m.counters.snapshots += 1
            self._emit_book(m, OrderBookMessage(_SNAPSHOT, m.book.snapshot_content(m.pair, m.last_id), time.time()))

    def _emit_book(self, m: _Market, message: OrderBookMessage) -> None:
        """Send a book message of a market whose first snapshot the tracker has asked for."""
        out = self._diff_out
        if out is not None:
            out.put_nowait(message)
            return
        if m.snapshot_due:
            m.counters.dropped += 1
            return
        q = self._message_queue[self._diff_messages_queue_key]
        if q.qsize() >= self.MAX_BUFFERED:
            # Nobody listens: drop it all; each market sends a snapshot when the tracker comes.
            while not q.empty():
                self._markets.get(q.get_nowait().trading_pair, m).counters.dropped += 1
            for other in self._markets.values():
                other.snapshot_due = True
            self._buffer_overflowed = True
            m.counters.dropped += 1
            return
        q.put_nowait(message)

    def _emit_trade(self, message: OrderBookMessage) -> None:
        out = self._trade_out
        if out is not None:
            out.put_nowait(message)
            return
        q = self._message_queue[self._trade_messages_queue_key]
        while q.qsize() >= self.MAX_BUFFERED:  # nobody listens: keep the newest trades
            q.get_nowait()
        q.put_nowait(message)

    async def _stop_market(self, pair: str) -> None:
        m = self._markets.pop(pair, None)
        if m is None:
            return
        tasks = [t for t in (m.task, m.trade_task) if t is not None]
        for t in tasks:
            t.cancel()
        for t in tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await t

    async def _stop_all(self) -> None:
        for pair in list(self._markets):
            await self._stop_market(pair)
        horizon, self._horizon = self._horizon, (None if self._own_horizon else self._horizon)
        if self._own_horizon and horizon is not None:
            await horizon.close()
        follow, self._follow = self._follow, (None if self._own_follow else self._follow)
        if self._own_follow and follow is not None:
            await follow.close()

    # ---- trades --------------------------------------------------------------------------------
    def _horizon_trades(self, base: Asset, counter: Asset) -> AsyncIterator[Trade]:
        return horizon_trades(self._client(), base, counter)

    def _ledger_trades(self, base: Asset, counter: Asset) -> AsyncIterator[LedgerTrade]:
        return ledger_trades(self._client(), base, counter)

    async def _run_trades(self, m: _Market) -> None:
        trade_feed = self._trade_feed
        if trade_feed is None:  # the task is started only with a trade feed
            return
        backoff = Backoff(0.5, 30.0)
        while True:
            try:
                feed = trade_feed(m.base, m.counter)
                try:
                    async for trade in feed:
                        self._on_trade(m, trade)
                        backoff.reset()
                finally:
                    aclose = getattr(feed, "aclose", None)
                    if aclose is not None:
                        await aclose()
                return  # the feed ended
            except asyncio.CancelledError:
                raise
            except Exception as e:
                m.counters.trade_feed_errors += 1
                self.logger().warning(f"{m.pair}: the trade feed raised {e!r}; calling it again")
            await asyncio.sleep(backoff.next())

    def _on_trade(self, m: _Market, trade: Any) -> None:
        try:
            if isinstance(trade, LedgerTrade):
                content, ts = ledger_trade_content(trade, m.base, m.counter, m.pair)
            else:
                content, ts = trade_content(trade, m.base, m.counter, m.pair)
        except (StellarOBError, AttributeError, TypeError, ValueError) as e:
            m.counters.trade_errors += 1
            self.logger().warning(f"{m.pair}: trade record refused: {e}")
            return
        m.last_trade_price = content["price"]
        m.counters.trades += 1
        self._emit_trade(OrderBookMessage(_TRADE, content, ts))

    async def _rest_last_price(self, pair: str) -> Optional[float]:
        if self._source == "ledger":
            return None  # no REST history from the ledger: NaN until the market's first trade
        cached = self._rest_prices.get(pair)
        if cached is not None and time.monotonic() - cached[0] < self._last_price_ttl:
            return cached[1]
        try:
            price = await self._rest_last_price_now(pair)
        except asyncio.CancelledError:
            raise
        except Exception as e:  # Horizon down, a bad pair: keep what we knew, ask again after the ttl
            self.logger().warning(f"last traded price of {pair}: {e}")
            price = None if cached is None else cached[1]
        self._rest_prices[pair] = (time.monotonic(), price)
        return price

    async def _rest_last_price_now(self, pair: str) -> Optional[float]:
        base, counter = self._assets.assets(pair)
        params = {**base.horizon_params("base"), **counter.horizon_params("counter"), "order": "desc", "limit": "1"}
        body, _ = await self._client().get_json("/trades", params)
        trades = parse_trades(body)
        if not trades:
            return None
        content, _ = trade_content(trades[0], base, counter, pair)
        return float(content["price"])
