"""L3 live books: :class:`LiveOfferBook` (an :class:`~stellar_ob.OfferBook` paged from /offers, filled
from /trades, re-paged every ledger) and the drift it reports.

Part of the :mod:`stellar_ob.sync` package, which re-exports the public names."""

from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Callable, Mapping

from stellar_ob.errors import (
    AssetMismatchError,
    HorizonError,
    ParseError,
    RateLimitedError,
    StellarOBError,
    StreamError,
)

from stellar_ob.sync.http import LimitExceededError, _TRADE_TOKEN, _check_callback, _deadline, _is_redirect, _market_name, _uint
from stellar_ob.offers._common import adjust_offer
from stellar_ob.sync.budget import Backoff
from stellar_ob.sync.stream import Counters, Status, _Live, _Reconnect, _SSEStream

if TYPE_CHECKING:
    from stellar_ob import OfferBook  # noqa: F401 (annotations)
    from stellar_ob.sync.client import Horizon  # noqa: F401 (annotations)

log = logging.getLogger("stellar_ob.sync")


@dataclass
class OfferCounters(Counters):
    """:class:`Counters` of a per-offer book, plus what its fills and re-pages did.

    ``events`` counts /trades and /ledgers events; ``connections``/``reconnects`` both streams.
    """

    trades: int = 0  #: /trades events received
    fills: int = 0  #: fills applied to the book
    fills_unknown: int = 0  #: fills of offers the book does not hold (created since its page)
    fills_in_page: int = 0  #: fills already in the offer's page (trade ledger <= page ledger)
    fills_clamped: int = 0  #: fills larger than the offer's amount in the book (a stale amount)
    pool_trades: int = 0  #: liquidity-pool trades received (no offer to fill)
    pool_trades_applied: int = 0  #: of those, applied to the pool's reserves (newer than its read)
    pool_drift: int = 0  #: re-pages that found the pool's reserves other than its trades said
    #: re-pages whose differences from the book were all trades of their ledgers that had not yet
    #: arrived on /trades (late, not drift: nothing reported)
    drift_explained: int = 0
    ledgers: int = 0  #: /ledgers events received
    repages: int = 0  #: re-pages installed, the initial load included
    repages_coalesced: int = 0  #: ledgers that did not get a re-page of their own
    repage_errors: int = 0  #: re-pages that failed (the book kept; retried after backoff)
    pages: int = 0  #: /offers pages read
    split_snapshots: int = 0  #: re-pages whose pages were answered at different ledgers
    drift_added: int = 0  #: offers a re-page found that the book did not hold
    drift_removed: int = 0  #: offers the book held that a re-page no longer found
    drift_changed: int = 0  #: offers whose amount or price a re-page found different


# ---- per-offer (L3) books ------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class AppliedFill:
    """One /trades fill applied to a resting offer: ``sold`` (in what the offer sells) was taken,
    ``remaining`` is left after core's adjustOffer (0 = the offer is gone)."""

    offer_id: int
    sold: int
    remaining: int
    ledger: int | None
    trade_id: str | None


@dataclass(frozen=True, slots=True)
class Drift:
    """What a re-page found that no stream had reported: offers ``added`` (created since), ``removed``
    (cancelled, or taken by fills we never saw), ``changed`` (amount or price edited), by offer id.
    ``ledger`` is the oldest ledger the re-page's pages were answered at."""

    ledger: int
    added: tuple[int, ...] = ()
    removed: tuple[int, ...] = ()
    changed: tuple[int, ...] = ()
    pool: bool = False  #: the pool's reserves differed (deposits and withdrawals make no trade)

    def __bool__(self) -> bool:
        return bool(self.added or self.removed or self.changed or self.pool)

    @property
    def total(self) -> int:
        return len(self.added) + len(self.removed) + len(self.changed)

    def merged(self, later: "Drift | None") -> "Drift":
        if later is None:
            return self
        return Drift(later.ledger, self.added + later.added, self.removed + later.removed,
                     self.changed + later.changed, self.pool or later.pool)


@dataclass(frozen=True, slots=True)
class OfferBookUpdate:
    """One change of a :class:`LiveOfferBook`: ``fills`` applied from /trades, a pool trade
    (``pool_changed``; read :attr:`LiveOfferBook.pool`), a re-page (``repaged``: the new book), or
    the drift a re-page corrected (``drift``: published in an update of its own once the trades of
    the re-page's ledgers are in, see :meth:`LiveOfferBook.on_drift`). ``book`` is the current OfferBook (a re-page
    installs a new object: read it before awaiting). Coalesced updates concatenate fills and drift;
    ``ledger`` is the book's :attr:`LiveOfferBook.ledger`."""

    live: "LiveOfferBook"
    book: OfferBook
    fills: tuple[AppliedFill, ...]
    drift: Drift | None
    repaged: bool
    ledger: int | None
    received_ns: int
    applied_ns: int
    coalesced: int = 0
    pool_changed: bool = False

    @property
    def latency_ns(self) -> int:
        """Bytes received -> book applied (for a re-page: the last page received -> installed), in ns."""
        return self.applied_ns - self.received_ns

    @property
    def is_coalesced(self) -> bool:
        return self.coalesced > 0

    @property
    def resync(self) -> bool:
        return self.repaged

    def merged(self, later: "OfferBookUpdate") -> "OfferBookUpdate":
        drift = self.drift.merged(later.drift) if self.drift is not None else later.drift
        return OfferBookUpdate(self.live, later.book, self.fills + later.fills, drift,
                               self.repaged or later.repaged, later.ledger, later.received_ns,
                               later.applied_ns, self.coalesced + later.coalesced + 1,
                               self.pool_changed or later.pool_changed)


def _offer_impl() -> tuple[Any, Any]:
    """(OfferBook, LiquidityPool) of the implementation the package uses (``stellar_ob._impl``)."""
    from stellar_ob import _impl

    offers = _impl.module("offers")
    return offers.OfferBook, offers.LiquidityPool


def _token_ledger(token: Any) -> int | None:
    """The ledger of a /trades paging token ("<operation toid>-<index>": toid >> 32), None if
    ``token`` is not one (ASCII digits only, toid < 2**63)."""
    m = _TRADE_TOKEN.fullmatch(token) if isinstance(token, str) else None
    if m is None:
        return None
    toid = int(m.group(1))
    return toid >> 32 if toid < 2**63 else None


def _valid_trade_id(event_id: str) -> bool:
    return _token_ledger(event_id) is not None


def _valid_ledger_id(event_id: str) -> bool:
    return _uint(event_id, 2**63 - 1) is not None


def _after_ledger(ledger: int) -> int:
    """horizon toid.AfterLedger: a cursor past every operation of ``ledger``."""
    return (ledger << 32) | 0xFFFFFFFF


def _is_permanent(e: BaseException) -> bool:
    """A 4xx (other than 408/429) from Horizon: the request itself is wrong (no such asset, route)."""
    return (isinstance(e, HorizonError) and not isinstance(e, (RateLimitedError, StreamError))
            and e.status is not None and 400 <= e.status < 500 and e.status not in (408, 429))


def _is_redirect_error(e: BaseException) -> bool:
    return isinstance(e, HorizonError) and e.status is not None and _is_redirect(e.status)


def _ledger_protocol(data: bytes) -> int | None:
    """``protocol_version`` of a /ledgers record already read by parse_ledger: a uint32 >= 1, or
    None when the record has none (or one that is not such an integer: the book then keeps the
    protocol it had, and the default MAINNET_PROTOCOL until one arrives)."""
    import json

    try:
        v = json.loads(data).get("protocol_version")
    except (ValueError, AttributeError, RecursionError):
        return None
    if type(v) is not int or not 1 <= v <= 0xFFFFFFFF:
        return None
    return v


class LiveOfferBook(_Live["OfferBookUpdate"]):
    """A per-offer (L3) :class:`~stellar_ob.OfferBook` kept from /offers pages, /trades fills and
    re-pages on every new ledger (see the module docstring for how each source is read).

    Read it like an OfferBook (``offers(side, depth)``, ``best_offer(side)``, ``levels()``,
    ``simulate()``, ``get(id)``, ``len()`` ... delegate to :attr:`book`, which a re-page replaces
    in one step); :attr:`pool` is the pair's :class:`~stellar_ob.LiquidityPool` (None without one),
    :meth:`quote_hop` routes a path-payment hop over both. :attr:`ledger`: every offer in the book
    is at least as recent as this ledger. Drift each re-page corrected: :attr:`last_drift`,
    counters ``drift_*``, :meth:`on_drift`. Status, counters, ``updates()``, callbacks, errors and
    ``close()`` work as for :class:`LiveBook`. Created by :meth:`Horizon.watch_offers`.
    """

    kind = "l3"  #: metrics label of per-offer books

    #: The pair's :class:`~stellar_ob.LiquidityPool` (None when the pair has none).
    pool: Any
    #: Every offer in :attr:`book` is at least as recent as this ledger (None before the first page).
    ledger: int | None
    #: The drift the last judged re-page corrected (:class:`Drift`, empty if none), None before the
    #: first re-page after the load.
    last_drift: Drift | None
    #: Where the book stands (:class:`~stellar_ob.Status`).
    status: Status
    #: Wall-clock time (unix seconds) of the last confirmation from the server, None before the first.
    confirmed_at: float | None
    #: The last error that cost the book its connection (None if none yet).
    last_error: BaseException | None
    #: What the book has done so far (:class:`~stellar_ob.sync.OfferCounters`).
    counters: OfferCounters

    def __init__(
        self,
        horizon: "Horizon",
        base: Any,
        counter: Any,
        *,
        page_limit: int = 200,
        stream_limit: int = 200,
        min_repage_interval: float = 0.0,
        drift_grace: float = 2.0,
    ) -> None:
        book_cls, pool_cls = _offer_impl()
        book = book_cls(base, counter)
        super().__init__(horizon, _market_name(book.base, book.counter), OfferCounters())
        self.counters: OfferCounters
        self._init_book_state(book_cls, pool_cls, book)
        self._pool_stamp = 0  # Latest-Ledger of the pool's read: its trades after it are applied
        self.ledger: int | None = None
        self.latest_ledger: int | None = None  #: newest ledger seen (/ledgers, Latest-Ledger headers)
        #: The protocol in force: ``protocol_version`` of the newest /ledgers record (the ledger
        #: header's version, what Horizon's root reports as ``current_protocol_version``). None
        #: before the first ledger. :meth:`simulate` and :meth:`quote_hop` use it as ``protocol=``.
        self.protocol: int | None = None
        self._protocol_ledger = 0
        self.page_limit = page_limit
        self.stream_limit = stream_limit
        self.min_repage_interval = min_repage_interval
        self.drift_grace = drift_grace
        self._suspect: _Suspect | None = None  # the last re-page's differences, until its trades are in
        self._stamps: dict[int, int] = {}  # offer id -> Latest-Ledger of the page it came from
        self._buffer: list[tuple[int | None, int, int, str | None]] | None = None  # fills during a re-page
        self._pool_buffer: list[tuple[int | None, str, int, int]] | None = None  # pool trades during a re-page
        self._base_json = self.base.to_horizon_json()
        self._counter_json = self.counter.to_horizon_json()
        self._repage_wanted = asyncio.Event()
        self._repage_forced = False
        self._trades_open = asyncio.Event()
        self._gaps = 0  # trades connections opened at cursor=now (fills before them unseen)
        self._last_repage = 0.0
        self._pools_supported = True
        self._side_pages: dict[str, int] = {}  # /offers pages each direction took at the last re-page
        self._page_cap_relaxed = False  # the last re-page hit the learnt page cap: allow max_offer_pages
        pair = {**self.base.horizon_params("base"), **self.counter.horizon_params("counter")}
        self._trades = _SSEStream(self, "/trades", {**pair, "limit": str(stream_limit)}, self._on_trade,
                                  what=f"{self.name} /trades", page=True, resume=self._trades_resume,
                                  on_open=self._trades_opened, valid_id=_valid_trade_id)
        self._ledgers = _SSEStream(self, "/ledgers", {"limit": str(stream_limit)}, self._on_ledger,
                                   what=f"{self.name} /ledgers", page=True, resume=self._ledgers_resume,
                                   valid_id=_valid_ledger_id)

    def _init_book_state(self, book_cls: Any, pool_cls: Any, book: Any) -> None:
        """The state every per-offer live book has, whatever its source (this class and the
        ledger's :class:`~stellar_ob.ledger.LedgerOfferBook` both call it): the implementation's
        OfferBook and LiquidityPool classes, the (empty) ``book`` and its assets, no pool yet, no
        drift yet, no drift callbacks."""
        self._book_cls = book_cls
        self._pool_cls = pool_cls
        self.book = book
        self.base = book.base
        self.counter = book.counter
        self.pool = None
        self.pool_id: str | None = None
        self.last_drift = None
        self._drift_callbacks: list[Callable[..., Any]] = []

    # ---- reading (delegated to the book) -------------------------------------------------------------
    def offers(self, side: str, depth: int | None = None) -> list:
        return self.book.offers(side, depth)

    def best_offer(self, side: str) -> Any:
        return self.book.best_offer(side)

    def __len__(self) -> int:
        return len(self.book)

    def __contains__(self, offer_id: object) -> bool:
        return offer_id in self.book

    def __getattr__(self, name: str) -> Any:  # everything else an OfferBook has
        if name == "book":
            raise AttributeError(name)
        return getattr(self.book, name)

    def __repr__(self) -> str:
        return f"<LiveOfferBook {self.name} {self.status.value} offers={len(self.book)} ledger={self.ledger}>"

    def quote_hop(self, kind: str, amount: int, **kwargs: Any) -> Any:
        """``quote_hop`` over this book and its pool, as core routes a path-payment hop (same
        arguments as :func:`stellar_ob.quote_hop` after ``book, pool``), under the network's
        protocol (``protocol``) unless ``protocol=`` is given."""
        import sys

        if self.protocol is not None:
            kwargs.setdefault("protocol", self.protocol)
        return sys.modules[self._book_cls.__module__].quote_hop(self.book, self.pool, kind, amount, **kwargs)

    def simulate(self, kind: str, amount: int, **kwargs: Any) -> Any:
        """:meth:`OfferBook.simulate <stellar_ob.OfferBook.simulate>` on :attr:`book`, under the
        network's protocol (``protocol``) unless ``protocol=`` is given."""
        if self.protocol is not None:
            kwargs.setdefault("protocol", self.protocol)
        return self.book.simulate(kind, amount, **kwargs)

    def on_drift(self, callback: Callable[["LiveOfferBook", Drift], Any]) -> Callable[[], None]:
        """Call ``callback(live, drift)`` for every re-page that corrected something no stream reported.

        A re-page of ledger L can be read before L's /trades events arrive (two connections race),
        so its differences from the book are judged once those trades are in: when a trade of a
        later ledger arrives (the stream is in ledger order), when the next re-page installs, or
        ``drift_grace`` s after the install (:meth:`Horizon.watch_offers`), whichever is first.
        Trades arriving meanwhile are applied to the replaced book first; only what they do not
        explain is drift (``counters.drift_explained`` counts re-pages they explained whole). The
        book itself is replaced at once, in the re-page's update. What the callback raises is
        caught and reported as for :meth:`on_update`. Returns a function that unregisters it."""
        _check_callback("callback", callback)
        self._drift_callbacks.append(callback)
        return lambda: self._drift_callbacks.remove(callback) if callback in self._drift_callbacks else None

    def request_repage(self) -> None:
        """Re-page now, not only at the next ledger (coalesced with one in progress)."""
        self._repage_forced = True
        self._repage_wanted.set()

    # ---- the tasks -----------------------------------------------------------------------------------
    def _start(self) -> None:
        self._spawn(self._trades.run, "/trades")
        self._spawn(self._ledgers.run, "/ledgers")
        self._spawn(self._repager, "re-page")

    def _trades_resume(self, stream: _SSEStream) -> tuple[str, str | None]:
        """Where the next /trades connection starts: fills after the oldest page of the book matter,
        earlier ones are in the pages already. Before a book exists: ``now`` (a gap, see _gaps)."""
        last = stream.last_id
        if self.ledger is None:
            return ("now", last)
        after = _after_ledger(self.ledger)
        if last is not None:
            m = _TRADE_TOKEN.fullmatch(last)
            if m is not None and int(m.group(1)) > after:
                return (str(after), last)
        return (str(after), None)  # horizon: a one-number cursor skips all of that operation id

    def _ledgers_resume(self, stream: _SSEStream) -> tuple[str, str | None]:
        """Where the next /ledgers connection starts: after the book's ledger or the last ledger
        event, whichever is later (``now`` would skip ledgers closed while we were away; an old
        event id would replay ledgers the book already holds)."""
        last = stream.last_id
        if self.ledger is None:
            return ("now", last)
        after = self.ledger << 32  # a ledger's paging token is its toid: sequence << 32
        last_toid = _uint(last, 2**63 - 1)
        if last is not None and last_toid is not None and last_toid > after:
            return (str(after), last)
        return (str(after), None)

    def _trades_opened(self, stream: _SSEStream) -> None:
        if stream.cursor_used == "now" and stream.last_id_used is None:
            self._gaps += 1
        self._trades_open.set()

    def _on_trade(self, data: bytes, received_ns: int, first: bool) -> None:
        c = self.counters
        try:
            ledger, token, oid, sold, swap = self._read_trade(data)
        except (StellarOBError, ValueError, OverflowError, RecursionError) as e:
            c.parse_errors += 1
            err = e if isinstance(e, StellarOBError) else ParseError(f"{self.name}: not a Horizon trade: {e!r}")
            raise _Reconnect(None, err) from None
        applied = time.perf_counter_ns()
        c.events += 1
        c.trades += 1
        self._confirm(applied)
        self._trades.backoff.reset()
        suspect = self._suspect
        if suspect is not None and ledger is not None:
            if ledger > suspect.top:  # /trades is in ledger order: every trade of the re-page's ledgers is in
                self._settle_drift()
            elif oid is None:
                if swap is not None:
                    suspect.late_swap(ledger, *swap)
            else:
                suspect.late_fill(ledger, oid, sold)
        if oid is None:
            c.pool_trades += 1
            if swap is not None:
                if self._pool_buffer is not None:
                    self._pool_buffer.append((ledger, *swap))
                if self._swap(self.pool, self.pool_id, self._pool_stamp, ledger, *swap):
                    c.pool_trades_applied += 1
                    self._publish(OfferBookUpdate(self, self.book, (), None, False, self.ledger, received_ns, applied,
                                                  0, True))
        else:
            if self._buffer is not None:
                self._buffer.append((ledger, oid, sold, token))
            fill = self._fill(self.book, self._stamps, ledger, oid, sold, token, c)
            if fill is not None:
                c.fills += 1
                update = OfferBookUpdate(self, self.book, (fill,), None, False, self.ledger, received_ns, applied)
                self._publish(update)
        metrics = self.horizon.metrics
        if metrics is not None:
            metrics.event(self)
        self._changed.set()

    def _read_trade(self, data: bytes) -> tuple[int, str, int | None, int, tuple[str, int, int] | None]:
        """(ledger, paging token, resting offer id or None, amount it sold, pool swap or None) of a
        /trades event, read by :func:`stellar_ob.horizon.parse_trades` (ParseError for anything else)."""
        from stellar_ob.horizon import parse_trades

        trades = parse_trades(data)
        if len(trades) != 1:
            raise ParseError(f"{self.name}: a /trades event holds one trade, this one {len(trades)}")
        t = trades[0]
        if {t.base_asset, t.counter_asset} != {self.base, self.counter}:
            raise AssetMismatchError(f"{self.name}: /trades sent a trade of {t.base_asset}/{t.counter_asset}")
        ledger = _token_ledger(t.paging_token)
        if ledger is None:
            raise ParseError(f"{self.name}: trade paging_token {t.paging_token[:40]!r} is not <operation id>-<index>")
        if t.trade_type == "liquidity_pool":
            return ledger, t.paging_token, None, 0, self._parse_swap(t)
        # the resting offer is the seller's (horizon: base_is_seller), whichever way round the pair is
        if t.base_is_seller:
            return ledger, t.paging_token, t.base_offer_id, t.base_amount, None
        return ledger, t.paging_token, t.counter_offer_id, t.counter_amount, None

    def _parse_swap(self, t: Any) -> tuple[str, int, int] | None:
        """(pool id, change of the base reserve, change of the counter reserve) of a pool trade: the
        pool gave the side it is the party of and got the other."""
        if t.base_liquidity_pool_id is not None:
            pool_id, d_base, d_counter = t.base_liquidity_pool_id, -t.base_amount, t.counter_amount
        elif t.counter_liquidity_pool_id is not None:
            pool_id, d_base, d_counter = t.counter_liquidity_pool_id, t.base_amount, -t.counter_amount
        else:
            return None
        if t.base_asset != self.base:  # the record is the other way round
            d_base, d_counter = d_counter, d_base
        return pool_id, d_base, d_counter

    @staticmethod
    def _swap(pool: Any, pool_id: str | None, stamp: int, ledger: int | None, trade_pool: str, d_base: int,
              d_counter: int) -> bool:
        """Move the pool's reserves by a trade newer than the pool's read (False if not applied)."""
        if pool is None or trade_pool != pool_id or (ledger is not None and ledger <= stamp):
            return False
        a, b = pool.reserve_a + d_base, pool.reserve_b + d_counter
        if a < 0 or b < 0:  # stale reserves: the next re-page reads them again
            return False
        pool.reserve_a, pool.reserve_b = a, b
        return True

    @staticmethod
    def _fill(book: Any, stamps: dict[int, int], ledger: int | None, oid: int, sold: int, token: str | None,
              c: OfferCounters | None) -> AppliedFill | None:
        stamp = stamps.get(oid)
        if stamp is None or oid not in book:
            if c is not None:
                c.fills_unknown += 1
            return None
        if ledger is not None and ledger <= stamp:
            if c is not None:
                c.fills_in_page += 1
            return None
        if sold <= 0:
            return None
        have = book.get(oid).amount
        if sold > have:  # the book's amount is stale (edited since its page): the next re-page fixes it
            if c is not None:
                c.fills_clamped += 1
            sold = have
        left = book.apply_fill(oid, sold)
        return AppliedFill(oid, sold, left, ledger, token)

    def _on_ledger(self, data: bytes, received_ns: int, first: bool) -> None:
        from stellar_ob.horizon import parse_ledger

        c = self.counters
        try:
            seq = parse_ledger(data).sequence
        except (StellarOBError, ValueError, OverflowError, RecursionError) as e:
            c.parse_errors += 1
            err = e if isinstance(e, StellarOBError) else ParseError(f"{self.name}: not a Horizon ledger: {e!r}")
            raise _Reconnect(None, err) from None
        c.events += 1
        c.ledgers += 1
        if seq >= self._protocol_ledger:
            proto = _ledger_protocol(data)
            if proto is not None:
                self.protocol, self._protocol_ledger = proto, seq
        self._confirm(time.perf_counter_ns())
        self._ledgers.backoff.reset()
        if self.latest_ledger is None or seq > self.latest_ledger:
            self.latest_ledger = seq
        if self.ledger is None or seq > self.ledger:
            if self._repage_wanted.is_set():
                c.repages_coalesced += 1
            self._repage_wanted.set()
        self._changed.set()

    async def _repager(self) -> None:
        """Re-page whenever asked (by a ledger or a trades gap), one at a time; the first is the load.
        Each re-page has ``Horizon.repage_timeout`` s; a failed one is counted, surfaced and retried
        after backoff (the book it would have replaced stays)."""
        horizon = self.horizon
        c = self.counters
        backoff = Backoff(horizon.backoff_base, horizon.backoff_cap)
        await self._trades_open.wait()  # cursor=now is resolved: every later fill will stream
        force = True
        while True:
            if not force:
                await self._repage_wanted.wait()
            self._repage_wanted.clear()
            force, self._repage_forced = force or self._repage_forced, False
            if not force and self.ledger is not None and (self.latest_ledger or 0) <= self.ledger:
                c.repages_coalesced += 1
                continue  # that ledger is in the book already
            force = False
            if self.min_repage_interval and self._last_repage:
                wait = self._last_repage + self.min_repage_interval - time.monotonic()
                if wait > 0:
                    await asyncio.sleep(wait)
            blocked = horizon.budget.blocked_for()
            if blocked > 0:  # every request waits for a rate-limit block: not part of the deadline
                self._rate_limited(blocked)
                await asyncio.sleep(blocked)
            gaps = self._gaps
            err: BaseException
            try:
                async with _deadline(horizon.repage_timeout):
                    await self._repage()
            except asyncio.CancelledError:
                raise
            except asyncio.TimeoutError:
                c.timeouts += 1
                err = HorizonError(f"{self.name}: re-page took longer than repage_timeout={horizon.repage_timeout:g} s")
            except (StellarOBError, ValueError, OverflowError, RecursionError) as e:
                if (_is_permanent(e) or _is_redirect_error(e)) and not self.loaded:
                    self._fail(e)  # the market itself is refused: nothing to heal
                    return
                err = e if isinstance(e, StellarOBError) else ParseError(f"{self.name}: bad /offers page: {e!r}")
            except Exception as e:  # a bug, or a value no check anticipated: logged, retried
                log.exception("%s: unexpected error in a re-page", self.name)
                c.unexpected_errors += 1
                err = e
            else:
                backoff.reset()
                self._page_cap_relaxed = False
                self._last_repage = time.monotonic()
                if self._gaps != gaps:
                    force = True  # the trades stream restarted at "now" meanwhile: fills may be missing
                continue
            c.repage_errors += 1
            self._surface(err)
            self.status = Status.BACKING_OFF
            if horizon.health is not None:
                if await horizon.health.backoff(self, backoff.next()):
                    backoff.reset()  # an outage ended meanwhile: re-page in the recovery slot
            else:
                await asyncio.sleep(backoff.next())
            force = True

    def _ledger_of(self, headers: Mapping[str, str]) -> int:
        """The ``Latest-Ledger`` of an answer (the newest ledger known if it is missing or unreadable)."""
        ledger = _uint(headers.get("Latest-Ledger"), 2**32 - 1)
        if ledger is None:
            return self.latest_ledger or 0
        if self.latest_ledger is None or ledger > self.latest_ledger:
            self.latest_ledger = ledger
        return ledger

    async def _page_side(self, book: Any, stamps: dict[int, int], side: str, selling: Any, buying: Any) -> list[int]:
        """Load every offer selling ``selling`` for ``buying`` into ``book``, page by page, stamping
        each with its page's Latest-Ledger; returns those ledgers. Pages must follow the cursor
        (offer ids strictly increasing from it); at most ``max_offer_pages`` pages, or, once the
        market is known, twice the pages of the last re-page plus 16."""
        from stellar_ob.horizon import parse_offers

        horizon = self.horizon
        limit = self.page_limit
        params = {**selling.horizon_params("selling"), **buying.horizon_params("buying"),
                  "limit": str(limit), "order": "asc"}
        cap = horizon.max_offer_pages
        known = self._side_pages.get(side)
        if known is not None and not self._page_cap_relaxed:
            cap = min(cap, 2 * known + 16)
        ledgers: list[int] = []
        cursor: int | None = None
        while True:
            if len(ledgers) >= cap:
                self.counters.limits_exceeded += 1
                if horizon.metrics is not None:
                    horizon.metrics.limit(self, "max_offer_pages")
                self._page_cap_relaxed = True  # the market may really have grown: next time up to the maximum
                raise LimitExceededError(f"{self.name}: /offers of the {side}s goes on past {cap} pages of {limit} "
                                         f"(max_offer_pages={horizon.max_offer_pages}): stopped", "max_offer_pages")
            body, headers = await horizon._get("/offers", params, on_error=self._rest_error, owner=self)
            self.counters.pages += 1
            offers: list = parse_offers(body)  # type: ignore[assignment]  # a list without as_numpy
            if len(offers) > limit:
                raise ParseError(f"{self.name}: an /offers page asked for {limit} records holds {len(offers)}")
            prev = cursor
            for o in offers:
                if prev is not None and o.id <= prev:
                    raise ParseError(f"{self.name}: /offers does not advance: offer {o.id} came after "
                                     f"{'cursor' if prev == cursor else 'offer'} {prev}")
                prev = o.id
            ledger = self._ledger_of(headers)
            self._load_offers(book, offers, stamps, ledger)
            ledgers.append(ledger)
            if len(offers) < limit:
                self._side_pages[side] = len(ledgers)
                return ledgers
            cursor = offers[-1].id
            params = {**params, "cursor": str(cursor)}

    async def _fetch_pool(self) -> tuple[Any, str | None, int]:
        """The pair's constant-product pool from /liquidity_pools?reserves=A,B: (pool or None if there
        is none, its id, the Latest-Ledger it was read at)."""
        from stellar_ob.horizon import parse_liquidity_pools

        try:
            body, headers = await self.horizon._get(
                "/liquidity_pools", {"reserves": f"{self.base},{self.counter}", "limit": "10"},
                on_error=self._rest_error, owner=self)
        except HorizonError as e:
            if _is_permanent(e):  # a Horizon without the endpoint: no pools, do not ask again
                self._pools_supported = False
                self._surface(e)
                return None, None, 0
            raise
        ledger = self._ledger_of(headers)
        for rec in parse_liquidity_pools(body):
            reserves = dict(rec.reserves)
            if len(reserves) == 2 and self.base in reserves and self.counter in reserves:
                pool = self._pool_cls(reserves[self.base], reserves[self.counter], rec.fee_bp)
                return pool, rec.id, ledger
        return None, None, ledger

    def _load_offers(self, book: Any, offers: list, stamps: dict[int, int], ledger: int) -> None:
        """Add /offers records (:class:`stellar_ob.horizon.Offer`) to ``book``, stamping each with ``ledger``."""
        base, counter = self.base, self.counter
        for o in offers:
            if o.selling == base and o.buying == counter:
                side = "ask"
            elif o.selling == counter and o.buying == base:
                side = "bid"
            else:
                raise AssetMismatchError(f"{self.name}: /offers returned offer {o.id} of {o.selling}/{o.buying}")
            oid = o.id
            if oid in book:
                book.remove_offer(oid)
            if o.amount > 0:
                book.add_offer(oid, side, o.price.n, o.price.d, o.amount, o.seller)
                stamps[oid] = ledger

    def _rest_error(self, error: HorizonError) -> None:
        """A REST request of a re-page failed one attempt (it retries; counted by Horizon._get): surface it."""
        if isinstance(error, RateLimitedError):
            m = self.horizon.metrics
            if m is not None:
                m.rate_limit_wait(self, error.retry_after)
        self._surface(error)

    async def _repage(self) -> None:
        c = self.counters
        new = self._book_cls(self.base, self.counter)
        stamps: dict[int, int] = {}
        self._buffer = []  # fills arriving while we page: replayed onto the new book
        self._pool_buffer = []
        try:
            ledgers = await self._page_side(new, stamps, "ask", self.base, self.counter)
            ledgers += await self._page_side(new, stamps, "bid", self.counter, self.base)
            pool, pool_id, pool_stamp = await self._fetch_pool() if self._pools_supported else (None, None, 0)
            received = time.perf_counter_ns()
            # From here on nothing awaits: no fill can slip between the pages and the install.
            buffered, pool_buffered = self._buffer, self._pool_buffer
        finally:
            self._buffer = self._pool_buffer = None
        for at, oid, sold, token in buffered:
            self._fill(new, stamps, at, oid, sold, token, None)
        for at, trade_pool, d_base, d_counter in pool_buffered:
            self._swap(pool, pool_id, pool_stamp, at, trade_pool, d_base, d_counter)
        floor, top = min(ledgers), max(ledgers)
        if floor != top:  # the market moved while we paged: offers are right per page, not as one
            c.split_snapshots += 1
            self._repage_wanted.set()
        self._settle_drift()  # the last re-page's differences are judged before this one's
        old_pool, new_pool = _reserves(self.pool), _reserves(pool)
        pool_moved = old_pool != new_pool
        suspect = None
        if self.loaded:
            old, fresh = _offer_state(self.book), _offer_state(new)
            if old != fresh or pool_moved:
                suspect = _Suspect(floor, top, old, fresh, stamps, old_pool, new_pool, pool_id, pool_stamp)
            else:
                self.last_drift = Drift(floor)
        self.book = new
        self._stamps = stamps
        self.ledger = floor
        self.pool, self.pool_id, self._pool_stamp = pool, pool_id, pool_stamp
        applied = time.perf_counter_ns()
        self._confirm(applied)
        c.repages += 1
        self.status = Status.LIVE
        first = not self._ready
        self._set_loaded()
        if first or suspect is not None:  # an unchanged re-page is not an update
            self._publish(OfferBookUpdate(self, new, (), None, True, floor, received, applied))
        metrics = self.horizon.metrics
        if metrics is not None:
            metrics.offer_book(self, None)
        if suspect is not None:
            self._suspect = suspect
            suspect.timer = asyncio.get_running_loop().call_later(self.drift_grace, self._settle_drift)
        self._changed.set()

    def _settle_drift(self) -> None:
        """Judge the last re-page's differences now that the trades of its ledgers are in (a trade
        of a later ledger came, the next re-page is installing, or ``drift_grace`` s passed): what
        the late trades do not explain is drift, counted, published in its own update and passed to
        ``on_drift``; a re-page they explain whole counts as ``drift_explained``."""
        s, self._suspect = self._suspect, None
        if s is None:
            return
        if s.timer is not None:
            s.timer.cancel()
        if self.status is Status.CLOSED:
            return
        drift = _drift(s.old, s.new, s.ledger, s.old_pool != s.new_pool)
        self.last_drift = drift
        c = self.counters
        if not drift:
            c.drift_explained += 1
            return
        c.pool_drift += drift.pool
        c.drift_added += len(drift.added)
        c.drift_removed += len(drift.removed)
        c.drift_changed += len(drift.changed)
        now = time.perf_counter_ns()
        self._publish(OfferBookUpdate(self, self.book, (), drift, False, self.ledger, now, now))
        metrics = self.horizon.metrics
        if metrics is not None:
            metrics.offer_drift(self, drift)
        for cb in list(self._drift_callbacks):
            self._call(cb, "on_drift", self, drift)
        self._changed.set()


def _offer_state(book: Any) -> dict[int, tuple]:
    return {o.offer_id: (o.side, o.n, o.d, o.amount) for side in ("bid", "ask") for o in book.offers(side)}


def _reserves(pool: Any) -> tuple[int, int] | None:
    return None if pool is None else (pool.reserve_a, pool.reserve_b)


class _Suspect:
    """A re-page's differences from the book the fills kept, before they are called drift. Two
    streams race: the /ledgers event of ledger L starts the re-page, and L's /trades events may
    arrive after the pages were read (each is then in its page, and skipped). Until the trades of
    the re-page's ledgers are all in, each late one is applied to ``old`` (the replaced book's
    offers, filled as the book fills one) and ``old_pool``; what still differs from ``new`` (the
    installed pages' offers) is drift."""

    __slots__ = ("ledger", "top", "old", "new", "stamps", "old_pool", "new_pool", "pool_id", "pool_stamp", "timer")

    def __init__(self, ledger: int, top: int, old: dict[int, tuple], new: dict[int, tuple], stamps: dict[int, int],
                 old_pool: tuple[int, int] | None, new_pool: tuple[int, int] | None, pool_id: str | None,
                 pool_stamp: int) -> None:
        self.ledger, self.top, self.old, self.new, self.stamps = ledger, top, old, new, stamps
        self.old_pool, self.new_pool, self.pool_id, self.pool_stamp = old_pool, new_pool, pool_id, pool_stamp
        self.timer: asyncio.TimerHandle | None = None

    def late_fill(self, ledger: int, oid: int, sold: int) -> None:
        """A fill that arrived after the install: if its offer's page holds it (the trade's ledger
        is at most the page's; an offer the pages no longer hold, at most the oldest page's), the
        replaced book never had it."""
        had = self.old.get(oid)
        if had is None or sold <= 0 or ledger > self.stamps.get(oid, self.ledger):
            return
        side, n, d, amount = had
        left = adjust_offer(n, d, amount - sold) if sold < amount else 0  # as OfferBook.apply_fill
        if left:
            self.old[oid] = (side, n, d, left)
        else:
            del self.old[oid]

    def late_swap(self, ledger: int, pool_id: str, d_base: int, d_counter: int) -> None:
        """A pool trade that arrived after the install, already in the pool's read."""
        if self.old_pool is not None and pool_id == self.pool_id and ledger <= self.pool_stamp:
            self.old_pool = (self.old_pool[0] + d_base, self.old_pool[1] + d_counter)


def _drift(a: dict[int, tuple], b: dict[int, tuple], ledger: int, pool: bool = False) -> Drift:
    """The offers ``b`` adds, removes and changes relative to ``a`` (offer id -> state; O(n))."""
    added = tuple(sorted(k for k in b if k not in a))
    removed = tuple(sorted(k for k in a if k not in b))
    changed = tuple(sorted(k for k, v in b.items() if k in a and a[k] != v))
    return Drift(ledger, added, removed, changed, pool)
