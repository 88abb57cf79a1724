"""Live sync with Horizon: one HTTP session for any number of markets, books that never go stale silently.

The SSE bytes are read here (aiohttp) and each event's ``data`` goes straight to the book's
Horizon scanner: the stellar-sdk stream clients drop ``event: error`` and crash on a 429 during a
reconnect (DOMAIN.md, "stellar-sdk"). What the stream layer handles, and how:

==============================  ==================================================================
Horizon does                    we do
==============================  ==================================================================
``retry: 1000`` / hello         remember the server's retry time (floor for error reconnects)
an /order_book event            ``OrderBook.apply_horizon(data)``: the diff goes to the caller
10 events, then byebye          reconnect at once (``retry: 10``); the first event resyncs in full
55 s connection timeout         same goodbye, same immediate reconnect
silence                         normal (an unchanged book sends nothing); ``idle_timeout`` (60 s,
                                past Horizon's 55 s close) only catches half-open TCP
``event: error``                surfaced (``last_error``, counters, error callbacks), reconnect
                                after backoff
HTTP 429                        Retry-After / X-RateLimit-Reset block *every* market of this
                                :class:`Horizon` (one shared :class:`RateBudget`)
5xx, resets, cut mid-event      jittered exponential backoff; a partial event is dropped whole
400/404 (bad asset, route)      the book fails (``Status.FAILED``), the error is raised
==============================  ==================================================================

Example (against the local Horizon of :mod:`stellar_ob.testing`; any URL works the same)::

    async with Horizon(server.url) as horizon:
        live = await horizon.watch("XLM", "USDC:GA5Z...", depth=200)   # loaded on return
        async for update in live.updates():       # coalesces when the consumer is slow
            print(update.diff, live.best_bid(), update.latency_ns)

Per-offer (L3) books (:meth:`Horizon.watch_offers`, :class:`LiveOfferBook`). Horizon never emits
offer_created/updated/removed effects (DOMAIN.md, "Streaming"), so an L3 book is kept from three
sources, each read the way it is meant to be read:

==============================  ==================================================================
source                          we do
==============================  ==================================================================
GET /offers (both directions,   the book: 200 a page in offer-id order until a short page; every
``selling_*``/``buying_*``)     offer remembers the ``Latest-Ledger`` of the page it came from
/trades page stream for the     the resting offer's fill (``base_offer_id`` if ``base_is_seller``
pair (``cursor=now``, then      else ``counter_offer_id``, amount it sold) is applied with
``Last-Event-ID``)              ``apply_fill`` only if the trade's ledger (paging token >> 32) is
                                after its offer's page: pages are not one snapshot, so this is what
                                keeps a fill from being applied twice or not at all; pool trades
                                and unknown offers are skipped
/ledgers page stream            each new ledger asks for a re-page; a ledger arriving while one
(``cursor=now``)                runs asks for exactly one more (coalesced). The re-paged book,
                                with the fills received meanwhile replayed, is compared with the
                                book the fills kept: offers added, removed, changed are *drift*
                                (creations, cancels, edits no stream reports), counted and passed
                                to ``on_drift``; then it replaces the book in one step
GET /liquidity_pools            the pair's constant-product pool, read with every re-page; the
(``reserves=A,B``)              /trades pool trades after that read move its reserves in between
                                (deposits and withdrawals trade nothing: pool drift)
==============================  ==================================================================

Both streams and every REST request share the client's rate budget, backoff and error handling
with the L2 books (same :class:`Counters`, same statuses, same ``updates()``/callbacks).
"""

from __future__ import annotations

import asyncio
import email.utils
import enum
import json
import logging
import random
import time
import weakref
from dataclasses import dataclass, field
from typing import Any, AsyncIterator, Callable, Iterable, Mapping

import aiohttp

from stellar_ob.errors import (
    AssetMismatchError,
    HorizonError,
    InvalidBookError,
    ParseError,
    RateLimitedError,
    StellarOBError,
    StreamError,
)
from stellar_ob._amounts import parse_amount
from stellar_ob.sse import SSEParser

__all__ = [
    "DEFAULT_HORIZON",
    "Horizon",
    "LiveBook",
    "BookUpdate",
    "Status",
    "Counters",
    "RateBudget",
    "Backoff",
    "Snapshot",
    "LiveOfferBook",
    "OfferBookUpdate",
    "OfferCounters",
    "AppliedFill",
    "Drift",
]

log = logging.getLogger("stellar_ob.sync")

DEFAULT_HORIZON = "https://horizon.stellar.org"
_USER_AGENT = "stellar-ob"


class Status(str, enum.Enum):
    """Where a live book stands. ``str`` so it prints and compares as its value."""

    CONNECTING = "connecting"
    LIVE = "live"
    BACKING_OFF = "backing off"
    FAILED = "failed"
    CLOSED = "closed"

    def __str__(self) -> str:
        return self.value


@dataclass
class Counters:
    """What happened to one live book since it started (all monotonically increasing)."""

    connections: int = 0  #: HTTP requests that opened (or tried to open) a stream
    reconnects: int = 0  #: connections after the first
    events: int = 0  #: data events applied (including unchanged books)
    updates: int = 0  #: non-empty diffs published
    coalesced: int = 0  #: updates merged into a pending one because a consumer was behind
    byebyes: int = 0  #: server goodbyes (every 10 events; connection timeout)
    error_events: int = 0  #: ``event: error`` received
    parse_errors: int = 0  #: event data the scanner rejected (book left unchanged; resynced)
    http_errors: int = 0  #: non-2xx answers other than 429
    connection_errors: int = 0  #: resets, refusals, cuts mid-event, idle timeouts
    rate_limited: int = 0  #: 429s and rate-limit error events
    callback_errors: int = 0  #: exceptions raised by on_update callbacks (logged, swallowed)
    bytes_received: int = 0


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
    ledgers: int = 0  #: /ledgers events received
    repages: int = 0  #: re-pages installed, the initial load included
    repages_coalesced: int = 0  #: ledgers that did not get a re-page of their own
    repage_errors: int = 0  #: re-pages that failed (the book kept; retried after backoff)
    pages: int = 0  #: /offers pages read
    split_snapshots: int = 0  #: re-pages whose pages were answered at different ledgers
    drift_added: int = 0  #: offers a re-page found that the book did not hold
    drift_removed: int = 0  #: offers the book held that a re-page no longer found
    drift_changed: int = 0  #: offers whose amount or price a re-page found different


@dataclass(frozen=True, slots=True)
class BookUpdate:
    """One change of a live book, handed to ``updates()`` consumers and callbacks.

    ``diff`` goes from the state the consumer last saw to ``book``'s current state; when the
    consumer was slow, several changes are merged (``coalesced`` > 0 counts the extra ones) and
    ``book`` is the latest. ``received_ns``/``applied_ns`` are ``time.perf_counter_ns()`` when the
    event's last byte arrived and when the book had applied it. ``resync`` is True for the first
    event of a (re)connection (a full snapshot).
    """

    live: "LiveBook"
    diff: Any  # stellar_ob.BookDiff
    book: Any  # stellar_ob.OrderBook (the live one: read it before awaiting)
    received_ns: int
    applied_ns: int
    coalesced: int = 0
    resync: bool = False

    @property
    def latency_ns(self) -> int:
        """Bytes received -> book applied, in ns."""
        return self.applied_ns - self.received_ns

    @property
    def is_coalesced(self) -> bool:
        return self.coalesced > 0

    def merged(self, later: "BookUpdate") -> "BookUpdate":
        """This update followed by ``later``, as one (BookDiff.merge keeps it exact)."""
        return BookUpdate(
            self.live,
            self.diff.merge(later.diff),
            later.book,
            later.received_ns,
            later.applied_ns,
            self.coalesced + later.coalesced + 1,
            self.resync or later.resync,
        )


class Backoff:
    """Jittered exponential backoff: attempt k waits uniform(d/2, d), d = min(cap, base * 2**k).

    >>> b = Backoff(base=1.0, cap=8.0, rng=random.Random(1))
    >>> [0.5 <= b.next() <= 1.0, 1.0 <= b.next() <= 2.0]
    [True, True]
    >>> b.reset(); b.attempt
    0
    """

    def __init__(self, base: float = 0.1, cap: float = 30.0, rng: random.Random | None = None) -> None:
        self.base = base
        self.cap = cap
        self.attempt = 0
        self._rng = rng or random.Random()

    def next(self) -> float:
        d = min(self.cap, self.base * (2**self.attempt))
        self.attempt = min(self.attempt + 1, 30)
        return self._rng.uniform(d / 2, d)

    def reset(self) -> None:
        self.attempt = 0


class RateBudget:
    """One rate-limit view shared by every request of a :class:`Horizon` (Horizon limits per IP).

    It reads ``X-RateLimit-Limit/Remaining/Reset`` from every answer; a 429 (or a response with
    Remaining 0) blocks *all* requests until ``Retry-After`` / ``Reset`` has passed.
    ``min_interval`` optionally spaces out request starts (e.g. 1000 markets reconnecting at once).
    """

    def __init__(self, min_interval: float = 0.0) -> None:
        self.limit: int | None = None
        self.remaining: int | None = None
        self.reset_in: float | None = None
        self.blocked_until = 0.0  # time.monotonic()
        self.min_interval = min_interval
        self.waits = 0
        self.wait_seconds = 0.0
        self._next_slot = 0.0

    def observe(self, headers: Mapping[str, str]) -> None:
        def num(name: str) -> float | None:
            v = headers.get(name)
            try:
                return float(v) if v is not None else None
            except ValueError:
                return None

        limit, remaining, reset = num("X-RateLimit-Limit"), num("X-RateLimit-Remaining"), num("X-RateLimit-Reset")
        if limit is not None:
            self.limit = int(limit)
        if remaining is not None:
            self.remaining = int(remaining)
        if reset is not None:
            self.reset_in = reset
            if remaining is not None and remaining <= 0:
                self.block(reset)

    def block(self, seconds: float) -> None:
        """No request starts before ``seconds`` from now."""
        self.blocked_until = max(self.blocked_until, time.monotonic() + max(0.0, seconds))

    def retry_after(self, headers: Mapping[str, str]) -> float:
        """Seconds a 429 asks us to wait: Retry-After (seconds or HTTP date), else Reset, else 1."""
        ra = headers.get("Retry-After")
        wait: float | None = None
        if ra:
            try:
                wait = float(ra)
            except ValueError:
                try:
                    dt = email.utils.parsedate_to_datetime(ra)
                    wait = dt.timestamp() - time.time()
                except (TypeError, ValueError):
                    wait = None
        reset = headers.get("X-RateLimit-Reset")
        if reset:
            try:
                wait = max(wait or 0.0, float(reset))
            except ValueError:
                pass
        return max(wait if wait is not None else 1.0, 0.0)

    async def acquire(self) -> None:
        """Wait until a request may start."""
        while True:
            now = time.monotonic()
            wait = self.blocked_until - now
            if self.min_interval:
                slot = max(self._next_slot, now)
                wait = max(wait, slot - now)
            if wait <= 0:
                if self.min_interval:
                    self._next_slot = max(self._next_slot, now) + self.min_interval
                return
            self.waits += 1
            self.wait_seconds += wait
            await asyncio.sleep(wait)


@dataclass(frozen=True)
class Snapshot:
    """A REST /order_book answer: the book and the ``Latest-Ledger`` it was read at."""

    book: Any
    latest_ledger: int | None
    fetched_at: float


class _Reconnect(Exception):
    """Internal: end this connection; ``delay`` None = use backoff, 0 = at once."""

    def __init__(self, delay: float | None, error: BaseException | None = None) -> None:
        self.delay = delay
        self.error = error


def _market_name(base: Any, counter: Any) -> str:
    def short(a: Any) -> str:
        return "XLM" if a.issuer is None else a.code

    return f"{short(base)}/{short(counter)}"


async def _problem_error(resp: aiohttp.ClientResponse, what: str) -> HorizonError:
    try:
        text = await resp.text()
    except (aiohttp.ClientError, asyncio.TimeoutError, UnicodeDecodeError):
        text = ""
    problem: dict = {}
    try:
        import json

        doc = json.loads(text) if text else {}
        if isinstance(doc, dict):
            problem = doc
    except ValueError:
        pass
    title = problem.get("title") or resp.reason or "error"
    detail = problem.get("detail") or ""
    extras = problem.get("extras") or {}
    reason = extras.get("reason") if isinstance(extras, dict) else None
    msg = f"Horizon answered {resp.status} {title} for {what}"
    if reason:
        msg += f": {extras.get('invalid_field', '')} {reason}".rstrip()
    elif detail:
        msg += f": {detail}"
    if resp.status == 429:
        return RateLimitedError(msg, retry_after=0.0, problem=problem)
    return HorizonError(msg, status=resp.status, problem=problem)


class _UpdateStream:
    """``async for`` over a live book's updates with a one-slot coalescing buffer."""

    def __init__(self, live: "_Live") -> None:
        self._live = live
        self._pending: Any = None
        self._wake = asyncio.Event()
        self._closed = False

    def _push(self, update: Any) -> None:
        if self._pending is None:
            self._pending = update
        else:
            self._pending = self._pending.merged(update)
            self._live.counters.coalesced += 1
        self._wake.set()

    def _end(self) -> None:
        self._closed = True
        self._wake.set()

    def __aiter__(self) -> "_UpdateStream":
        return self

    async def __anext__(self) -> Any:
        while True:
            u = self._pending
            if u is not None:
                self._pending = None
                return u
            live = self._live
            if live.status is Status.FAILED and live.last_error is not None:
                self.close()
                raise live.last_error
            if self._closed or live.status is Status.CLOSED:
                self.close()
                raise StopAsyncIteration
            self._wake.clear()
            await self._wake.wait()

    def close(self) -> None:
        """Stop receiving updates (also what ``break`` out of the loop should be followed by)."""
        self._closed = True
        self._live._streams.discard(self)

    async def aclose(self) -> None:
        self.close()


class _Live:
    """What every live book shares: status, counters, consumers, error surfacing, tasks, close."""

    book: Any

    def __init__(self, horizon: "Horizon", name: str, counters: Counters) -> None:
        self.horizon = horizon
        self.name = name
        self.status = Status.CONNECTING
        self.confirmed_at: float | None = None
        self.confirmed_ns: int | None = None
        self.last_error: BaseException | None = None
        self.counters = counters
        self.server_retry_ms: int | None = None
        self._callbacks: list[Callable[[Any], Any]] = []
        self._error_callbacks: list[Callable[[Any, BaseException], Any]] = []
        self._streams: "weakref.WeakSet[_UpdateStream]" = weakref.WeakSet()
        self._loaded = asyncio.Event()
        self._changed = asyncio.Event()
        self._tasks: list[asyncio.Task] = []

    @property
    def loaded(self) -> bool:
        return self._loaded.is_set()

    @property
    def age(self) -> float | None:
        """Seconds since the server last confirmed this book (None before the first event)."""
        return None if self.confirmed_at is None else time.time() - self.confirmed_at

    # ---- consuming changes ---------------------------------------------------------------------------
    def updates(self) -> _UpdateStream:
        """An async iterator of updates, one slot deep: a slow consumer gets the latest book and the
        merged change (``update.coalesced`` says how many were merged), never a growing queue.
        Ends when the book is closed; raises the error if the book fails."""
        s = _UpdateStream(self)
        self._streams.add(s)
        return s

    def on_update(self, callback: Callable[[Any], Any]) -> Callable[[], None]:
        """Call ``callback(update)`` synchronously for every change (no coalescing). Exceptions are
        logged and counted, never kill the stream. Returns a function that unregisters it."""
        self._callbacks.append(callback)
        return lambda: self._callbacks.remove(callback) if callback in self._callbacks else None

    def on_error(self, callback: Callable[[Any, BaseException], Any]) -> Callable[[], None]:
        """Call ``callback(live, error)`` for every error surfaced (error events, parse errors,
        rate limits, connection drops); the book keeps syncing unless it is a permanent failure."""
        self._error_callbacks.append(callback)
        return lambda: self._error_callbacks.remove(callback) if callback in self._error_callbacks else None

    async def wait_for(self, predicate: Callable[[Any], bool], timeout: float | None = None) -> None:
        """Wait until ``predicate(book)`` holds (checked now, after every applied event, goodbye and error).

        Raises ``asyncio.TimeoutError`` after ``timeout`` s, the error if the book fails."""

        async def wait() -> None:
            while not predicate(self.book):
                if self.status is Status.FAILED and self.last_error is not None:
                    raise self.last_error
                if self.status is Status.CLOSED:
                    raise HorizonError(f"{self.name}: the live book was closed")
                self._changed.clear()
                await self._changed.wait()

        await asyncio.wait_for(wait(), timeout)

    async def close(self) -> None:
        """Stop syncing this market and release its connections (idempotent)."""
        tasks, self._tasks = self._tasks, []
        for task in tasks:
            task.cancel()
        for task in tasks:
            try:
                await task
            except asyncio.CancelledError:
                pass
        if self.status is not Status.FAILED:
            self.status = Status.CLOSED
        self._end_streams()
        self.horizon._forget(self)

    # ---- internals -----------------------------------------------------------------------------------
    def _end_streams(self) -> None:
        for s in list(self._streams):
            s._end()
        self._changed.set()

    def _spawn(self, coro: Any, what: str) -> None:
        self._tasks.append(asyncio.create_task(self._guard(coro), name=f"stellar-ob {self.name} {what}".rstrip()))

    async def _guard(self, coro: Any) -> None:
        """Run one of this book's tasks; a bug in it fails the book loudly instead of dying unseen."""
        try:
            await coro
        except asyncio.CancelledError:
            raise
        except Exception as e:
            log.exception("%s: sync task failed", self.name)
            self._fail(e)

    def _fail(self, error: BaseException) -> None:
        """A permanent failure: FAILED, surfaced, consumers ended, the book's other tasks stopped."""
        self.status = Status.FAILED
        self._surface(error)
        self._end_streams()
        self._loaded.set()
        me = asyncio.current_task()
        for t in self._tasks:
            if t is not me:
                t.cancel()

    def _surface(self, error: BaseException) -> None:
        self.last_error = error
        self._changed.set()
        m = self.horizon.metrics
        if m is not None:
            m.error(self, type(error).__name__)
        for cb in list(self._error_callbacks):
            try:
                cb(self, error)
            except Exception:  # a callback must not kill the stream
                log.exception("%s: on_error callback raised", self.name)

    def _publish(self, update: Any) -> None:
        self.counters.updates += 1
        for cb in self._callbacks:
            try:
                cb(update)
            except Exception:
                self.counters.callback_errors += 1
                log.exception("%s: on_update callback raised", self.name)
        for s in self._streams:
            s._push(update)

    def _confirm(self, applied_ns: int) -> None:
        self.confirmed_at = time.time()
        self.confirmed_ns = applied_ns


class _SSEStream:
    """One Horizon SSE stream of a live book, kept open for as long as the book lives.

    ``on_data(data, received_ns, first)`` gets each data event (``first``: the first of this
    connection); it raises :class:`_Reconnect` to drop the connection (e.g. unparseable data).
    Page streams (``page=True``) remember the id of the last event ``on_data`` accepted and resume
    from it; ``resume(stream)`` may choose the ``(cursor, last_event_id)`` of the next connection
    (default: ``("now", last id)``). ``on_open(stream)`` runs on the server's hello.
    """

    def __init__(
        self,
        owner: _Live,
        path: str,
        params: dict[str, str],
        on_data: Callable[[bytes, int, bool], None],
        *,
        what: str,
        page: bool = False,
        resume: Callable[["_SSEStream"], tuple[str, str | None]] | None = None,
        on_open: Callable[["_SSEStream"], None] | None = None,
    ) -> None:
        horizon = owner.horizon
        self.owner = owner
        self.url = horizon.url + path
        self.params = params
        self.on_data = on_data
        self.what = what
        self.page = page
        self.resume = resume
        self.on_open = on_open
        self.backoff = Backoff(horizon.backoff_base, horizon.backoff_cap)
        self.connected_once = False
        self.server_retry_ms: int | None = None
        self.last_id: str | None = None  #: page streams: id of the last event applied
        self.cursor_used: str | None = None  #: page streams: the cursor of the current connection
        self.last_id_used: str | None = None  #: page streams: the Last-Event-ID it was opened with

    async def run(self) -> None:
        """Connect, read, reconnect (at once after a goodbye, after backoff after an error) until
        cancelled; a permanent failure (4xx other than 429) fails the owner and returns."""
        owner = self.owner
        horizon = owner.horizon
        while True:
            delay: float | None
            try:
                await self._connect_once()
                delay = 0.0  # a clean goodbye
                self.backoff.reset()
            except _Reconnect as r:
                delay = r.delay
                if r.error is not None:
                    owner._surface(r.error)
            except asyncio.CancelledError:
                raise
            except HorizonError as e:  # permanent: 4xx other than 429
                owner._fail(e)
                return
            if delay is None:
                delay = self.backoff.next()
                if horizon.honor_server_retry and self.server_retry_ms:
                    delay = max(delay, min(self.server_retry_ms / 1000.0, horizon.backoff_cap))
            if delay > 0:
                owner.status = Status.BACKING_OFF
                await asyncio.sleep(delay)
            elif self.server_retry_ms is not None and self.server_retry_ms <= 100:
                await asyncio.sleep(self.server_retry_ms / 1000.0)  # Horizon's goodbye: retry: 10

    async def _connect_once(self) -> None:
        owner = self.owner
        horizon = owner.horizon
        counters = owner.counters
        await horizon.budget.acquire()
        if self.connected_once:
            counters.reconnects += 1
            if horizon.metrics is not None:
                horizon.metrics.reconnect(owner)
        self.connected_once = True
        counters.connections += 1
        if owner.status is not Status.LIVE:
            owner.status = Status.CONNECTING
        session = horizon._session_or_raise()
        params = self.params
        headers = {"Accept": "text/event-stream"}
        if self.page:
            cursor, last_id = self.resume(self) if self.resume is not None else ("now", self.last_id)
            params = {**params, "cursor": cursor}
            if last_id is not None:
                headers["Last-Event-ID"] = last_id  # wins over ?cursor (horizon actions/helpers.go)
            self.cursor_used, self.last_id_used = cursor, last_id
        try:
            async with session.get(self.url, params=params, headers=headers, timeout=horizon._stream_timeout) as resp:
                horizon.budget.observe(resp.headers)
                if resp.status == 429:
                    wait = horizon.budget.retry_after(resp.headers)
                    horizon.budget.block(wait)
                    err = await _problem_error(resp, self.what)
                    assert isinstance(err, RateLimitedError)
                    err.retry_after = wait
                    counters.rate_limited += 1
                    if horizon.metrics is not None:
                        horizon.metrics.rate_limit_wait(owner, wait)
                    raise _Reconnect(0.0, err)  # budget.acquire() does the waiting
                if resp.status >= 500 or resp.status in (408, 499):
                    counters.http_errors += 1
                    raise _Reconnect(None, await _problem_error(resp, self.what))
                if resp.status != 200:
                    counters.http_errors += 1
                    raise await _problem_error(resp, self.what)
                await self._read_stream(resp)
        except (aiohttp.ClientError, asyncio.TimeoutError, ConnectionError) as e:
            counters.connection_errors += 1
            raise _Reconnect(None, StreamError(f"{self.what}: connection lost: {e!r}")) from None

    async def _read_stream(self, resp: aiohttp.ClientResponse) -> None:
        parser = SSEParser()
        owner = self.owner
        counters = owner.counters
        on_data = self.on_data
        page = self.page
        first = True
        content = resp.content
        perf = time.perf_counter_ns
        while True:
            chunk = await content.readany()
            if not chunk:
                break
            t = perf()
            counters.bytes_received += len(chunk)
            for ev in parser.feed(chunk):
                if parser.retry is not None:
                    self.server_retry_ms = owner.server_retry_ms = parser.retry
                kind = ev.event
                if kind == "message":
                    on_data(ev.data, t, first)
                    first = False
                    if page and ev.id is not None:
                        self.last_id = ev.id
                elif kind == "open":
                    if owner.loaded:
                        owner.status = Status.LIVE
                    if self.on_open is not None:
                        self.on_open(self)
                elif kind == "close":
                    counters.byebyes += 1
                    owner._changed.set()
                    return
                elif kind == "error":
                    counters.error_events += 1
                    text = ev.data.decode("utf-8", "replace")
                    if "rate limit" in text.lower():
                        counters.rate_limited += 1
                        err: StreamError = StreamError(f"{self.what}: Horizon stream error: {text}", status=429)
                    else:
                        err = StreamError(f"{self.what}: Horizon stream error: {text}")
                    raise _Reconnect(None, err)
        # EOF without a goodbye: the server went away (a partial event in the parser is dropped)
        counters.connection_errors += 1
        raise _Reconnect(None, StreamError(f"{self.what}: stream ended without a goodbye"))


class LiveBook(_Live):
    """An :class:`~stellar_ob.OrderBook` kept current from Horizon's /order_book stream.

    Read it like an OrderBook (``bids()``, ``asks()``, ``best_bid()``, ``spread()``, ``len()`` ...
    delegate to :attr:`book`); get changes with ``async for u in live.updates()`` or
    :meth:`on_update` callbacks. :attr:`status`, :attr:`confirmed_at` (wall-clock time of the last
    event or reconnect snapshot: silence is normal, Horizon sends nothing while a book is
    unchanged), :attr:`last_error` and :attr:`counters` say how it is doing.
    Created by :meth:`Horizon.watch`.
    """

    def __init__(self, horizon: "Horizon", base: Any, counter: Any, depth: int) -> None:
        from stellar_ob import OrderBook

        book = OrderBook(base, counter)
        super().__init__(horizon, _market_name(book.base, book.counter), Counters())
        self.book = book
        self.base = book.base
        self.counter = book.counter
        self.depth = depth
        params = {**self.base.horizon_params("selling"), **self.counter.horizon_params("buying"),
                  "limit": str(depth)}
        self._stream = _SSEStream(self, "/order_book", params, self._apply, what=self.name)
        self._backoff = self._stream.backoff

    # ---- reading (delegated to the book) -------------------------------------------------------------
    def bids(self, depth: int | None = None) -> list:
        return self.book.bids(depth)

    def asks(self, depth: int | None = None) -> list:
        return self.book.asks(depth)

    def best_bid(self) -> Any:
        return self.book.best_bid()

    def best_ask(self) -> Any:
        return self.book.best_ask()

    def spread(self) -> Any:
        return self.book.spread()

    def mid(self) -> Any:
        return self.book.mid()

    def __len__(self) -> int:
        return len(self.book)

    def __getattr__(self, name: str) -> Any:  # everything else an OrderBook has
        if name == "book":
            raise AttributeError(name)
        return getattr(self.book, name)

    def __repr__(self) -> str:
        return f"<LiveBook {self.name} {self.status.value} levels={len(self.book)}>"

    # ---- the stream ----------------------------------------------------------------------------------
    def _start(self) -> None:
        self._spawn(self._stream.run(), "")

    def _apply(self, data: bytes, received_ns: int, resync: bool) -> None:
        try:
            diff = self.book.apply_horizon(data)
        except (ParseError, AssetMismatchError, InvalidBookError) as e:
            # The book is unchanged; a fresh connection sends a full snapshot.
            self.counters.parse_errors += 1
            raise _Reconnect(None, e) from None
        applied = time.perf_counter_ns()
        self.confirmed_at = time.time()
        self.confirmed_ns = applied
        self.counters.events += 1
        self._backoff.reset()
        self.status = Status.LIVE
        if not self._loaded.is_set():
            self._loaded.set()
        metrics = self.horizon.metrics
        if diff:
            update = BookUpdate(self, diff, self.book, received_ns, applied, 0, resync)
            self._publish(update)
            if metrics is not None:
                metrics.update(self, update)
        elif metrics is not None:
            metrics.event(self)
        self._changed.set()


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
    (``pool_changed``; read :attr:`LiveOfferBook.pool`), or a re-page (``repaged``; ``drift`` says
    what it corrected, None for the initial load). ``book`` is the current OfferBook (a re-page
    installs a new object: read it before awaiting). Coalesced updates concatenate fills and drift;
    ``ledger`` is the book's :attr:`LiveOfferBook.ledger`."""

    live: "LiveOfferBook"
    book: Any
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
    """(OfferBook, LiquidityPool) of the implementation the package uses (compiled unless
    STELLAR_OB_PURE=1 or missing)."""
    import stellar_ob

    book = getattr(stellar_ob, "OfferBook", None)
    pool = getattr(stellar_ob, "LiquidityPool", None)
    if book is not None and pool is not None:
        return book, pool
    import os

    if os.environ.get("STELLAR_OB_PURE", "") in ("", "0"):
        try:
            from stellar_ob import _offers

            return _offers.OfferBook, _offers.LiquidityPool
        except ImportError:
            pass
    from stellar_ob import _offers_pure

    return _offers_pure.OfferBook, _offers_pure.LiquidityPool


def _token_ledger(token: str) -> int | None:
    """The ledger of a /trades paging token ("<operation toid>-<index>": toid >> 32)."""
    head = token.partition("-")[0]
    return int(head) >> 32 if head.isdigit() else None


def _after_ledger(ledger: int) -> int:
    """horizon toid.AfterLedger: a cursor past every operation of ``ledger``."""
    return (ledger << 32) | 0xFFFFFFFF


def _is_permanent(e: BaseException) -> bool:
    return (isinstance(e, HorizonError) and not isinstance(e, (RateLimitedError, StreamError))
            and e.status is not None and 400 <= e.status < 500 and e.status not in (408, 429))


class LiveOfferBook(_Live):
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

    def __init__(
        self,
        horizon: "Horizon",
        base: Any,
        counter: Any,
        *,
        page_limit: int = 200,
        stream_limit: int = 200,
        min_repage_interval: float = 0.0,
    ) -> None:
        book_cls, pool_cls = _offer_impl()
        book = book_cls(base, counter)
        super().__init__(horizon, _market_name(book.base, book.counter), OfferCounters())
        self.counters: OfferCounters
        self._book_cls = book_cls
        self._pool_cls = pool_cls
        self.book = book
        self.base = book.base
        self.counter = book.counter
        self.pool: Any = None
        self.pool_id: str | None = None
        self._pool_stamp = 0  # Latest-Ledger of the pool's read: its trades after it are applied
        self.ledger: int | None = None
        self.latest_ledger: int | None = None  #: newest ledger seen (/ledgers, Latest-Ledger headers)
        self.last_drift: Drift | None = None
        self.page_limit = page_limit
        self.stream_limit = stream_limit
        self.min_repage_interval = min_repage_interval
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
        self._drift_callbacks: list[Callable[["LiveOfferBook", Drift], Any]] = []
        self._pools_supported = True
        pair = {**self.base.horizon_params("base"), **self.counter.horizon_params("counter")}
        self._trades = _SSEStream(self, "/trades", {**pair, "limit": str(stream_limit)}, self._on_trade,
                                  what=f"{self.name} /trades", page=True, resume=self._trades_resume,
                                  on_open=self._trades_opened)
        self._ledgers = _SSEStream(self, "/ledgers", {"limit": str(stream_limit)}, self._on_ledger,
                                   what=f"{self.name} /ledgers", page=True, resume=self._ledgers_resume)

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
        arguments as :func:`stellar_ob.quote_hop` after ``book, pool``)."""
        import sys

        return sys.modules[type(self.book).__module__].quote_hop(self.book, self.pool, kind, amount, **kwargs)

    def on_drift(self, callback: Callable[["LiveOfferBook", Drift], Any]) -> Callable[[], None]:
        """Call ``callback(live, drift)`` after every re-page that corrected something. Exceptions are
        logged and counted (``callback_errors``). Returns a function that unregisters it."""
        self._drift_callbacks.append(callback)
        return lambda: self._drift_callbacks.remove(callback) if callback in self._drift_callbacks else None

    def request_repage(self) -> None:
        """Re-page now, not only at the next ledger (coalesced with one in progress)."""
        self._repage_forced = True
        self._repage_wanted.set()

    # ---- the tasks -----------------------------------------------------------------------------------
    def _start(self) -> None:
        self._spawn(self._trades.run(), "/trades")
        self._spawn(self._ledgers.run(), "/ledgers")
        self._spawn(self._repager(), "re-page")

    def _trades_resume(self, stream: _SSEStream) -> tuple[str, str | None]:
        """Where the next /trades connection starts: fills after the oldest page of the book matter,
        earlier ones are in the pages already. Before a book exists: ``now`` (a gap, see _gaps)."""
        last = stream.last_id
        if self.ledger is None:
            return ("now", last)
        after = _after_ledger(self.ledger)
        if last is not None:
            head = last.partition("-")[0]
            if head.isdigit() and int(head) > after:
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
        if last is not None and last.isdigit() and int(last) > after:
            return (str(after), last)
        return (str(after), None)

    def _trades_opened(self, stream: _SSEStream) -> None:
        if stream.cursor_used == "now" and stream.last_id_used is None:
            self._gaps += 1
        self._trades_open.set()

    def _on_trade(self, data: bytes, received_ns: int, first: bool) -> None:
        c = self.counters
        try:
            rec = json.loads(data)
            token = rec.get("paging_token") or rec.get("id")
            ledger = _token_ledger(token) if isinstance(token, str) else None
            if rec.get("trade_type") == "liquidity_pool":
                oid = None
                sold = 0
                swap = self._parse_swap(rec)
            else:
                swap = None
                base_is_seller = rec["base_is_seller"]
                if not isinstance(base_is_seller, bool):
                    raise ValueError("base_is_seller is not a boolean")
                raw = rec.get("base_offer_id" if base_is_seller else "counter_offer_id")
                oid = int(raw) if raw not in (None, "") else None
                sold = parse_amount(rec["base_amount" if base_is_seller else "counter_amount"])
        except (ValueError, KeyError, TypeError, AttributeError) as e:
            c.parse_errors += 1
            raise _Reconnect(None, ParseError(f"{self.name}: not a Horizon trade: {e}")) from None
        applied = time.perf_counter_ns()
        c.events += 1
        c.trades += 1
        self._confirm(applied)
        self._trades.backoff.reset()
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

    def _parse_swap(self, rec: dict) -> tuple[str, int, int] | None:
        """(pool id, change of the base reserve, change of the counter reserve) of a pool trade: the
        pool gave the side it is the party of and got the other."""
        base_amount, counter_amount = parse_amount(rec["base_amount"]), parse_amount(rec["counter_amount"])
        pool_id = rec.get("base_liquidity_pool_id")
        if pool_id is not None:
            d_base, d_counter = -base_amount, counter_amount
        else:
            pool_id = rec.get("counter_liquidity_pool_id")
            if pool_id is None:
                return None
            d_base, d_counter = base_amount, -counter_amount
        rec_base = {k: rec[f"base_{k}"] for k in ("asset_type", "asset_code", "asset_issuer") if f"base_{k}" in rec}
        if rec_base != self._base_json:  # the record is the other way round
            d_base, d_counter = d_counter, d_base
        return str(pool_id), d_base, d_counter

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
        c = self.counters
        try:
            seq = int(json.loads(data)["sequence"])
        except (ValueError, KeyError, TypeError) as e:
            c.parse_errors += 1
            raise _Reconnect(None, ParseError(f"{self.name}: not a Horizon ledger: {e}")) from None
        c.events += 1
        c.ledgers += 1
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
        """Re-page whenever asked (by a ledger or a trades gap), one at a time; the first is the load."""
        horizon = self.horizon
        backoff = Backoff(horizon.backoff_base, horizon.backoff_cap)
        await self._trades_open.wait()  # cursor=now is resolved: every later fill will stream
        force = True
        while True:
            if not force:
                await self._repage_wanted.wait()
            self._repage_wanted.clear()
            force, self._repage_forced = force or self._repage_forced, False
            if not force and self.ledger is not None and (self.latest_ledger or 0) <= self.ledger:
                self.counters.repages_coalesced += 1
                continue  # that ledger is in the book already
            force = False
            if self.min_repage_interval and self._last_repage:
                wait = self._last_repage + self.min_repage_interval - time.monotonic()
                if wait > 0:
                    await asyncio.sleep(wait)
            gaps = self._gaps
            try:
                await self._repage()
            except asyncio.CancelledError:
                raise
            except (StellarOBError, ValueError, KeyError, TypeError) as e:
                if _is_permanent(e) and not self.loaded:
                    self._fail(e)
                    return
                self.counters.repage_errors += 1
                err = e if isinstance(e, StellarOBError) else ParseError(f"{self.name}: bad /offers page: {e!r}")
                self._surface(err)
                self.status = Status.BACKING_OFF
                await asyncio.sleep(backoff.next())
                force = True
                continue
            backoff.reset()
            self._last_repage = time.monotonic()
            if self._gaps != gaps:
                force = True  # the trades stream restarted at "now" meanwhile: fills may be missing

    async def _page_side(self, selling: Any, buying: Any) -> list[tuple[int, list]]:
        """Every offer selling ``selling`` for ``buying``: [(Latest-Ledger, records)] page by page."""
        params = {**selling.horizon_params("selling"), **buying.horizon_params("buying"),
                  "limit": str(self.page_limit), "order": "asc"}
        pages: list[tuple[int, list]] = []
        while True:
            body, headers = await self.horizon.get_json("/offers", params, on_error=self._rest_error)
            self.counters.pages += 1
            doc = json.loads(body)
            records = doc["_embedded"]["records"]
            if not isinstance(records, list):
                raise ParseError(f"{self.name}: /offers records is not a list")
            ll = headers.get("Latest-Ledger")
            ledger = int(ll) if ll and ll.isdigit() else (self.latest_ledger or 0)
            if self.latest_ledger is None or ledger > self.latest_ledger:
                self.latest_ledger = ledger
            pages.append((ledger, records))
            if len(records) < self.page_limit:
                return pages
            params = {**params, "cursor": str(records[-1]["paging_token"])}

    async def _fetch_pool(self) -> tuple[Any, str | None, int]:
        """The pair's constant-product pool from /liquidity_pools?reserves=A,B: (pool or None if there
        is none, its id, the Latest-Ledger it was read at)."""
        from stellar_ob.assets import Asset

        try:
            body, headers = await self.horizon.get_json(
                "/liquidity_pools", {"reserves": f"{self.base},{self.counter}", "limit": "10"},
                on_error=self._rest_error)
        except HorizonError as e:
            if _is_permanent(e):  # a Horizon without the endpoint: no pools, do not ask again
                self._pools_supported = False
                self._surface(e)
                return None, None, 0
            raise
        ll = headers.get("Latest-Ledger")
        ledger = int(ll) if ll and ll.isdigit() else (self.latest_ledger or 0)
        for rec in json.loads(body)["_embedded"]["records"]:
            if rec.get("type", "constant_product") != "constant_product":
                continue
            reserves = {}
            for r in rec["reserves"]:
                reserves[Asset.parse(r["asset"])] = parse_amount(r["amount"])
            if self.base in reserves and self.counter in reserves and len(reserves) == 2:
                pool = self._pool_cls(reserves[self.base], reserves[self.counter], int(rec.get("fee_bp", 30)))
                return pool, str(rec["id"]), ledger
        return None, None, ledger

    def _load_records(self, book: Any, records: list, stamps: dict[int, int], ledger: int) -> None:
        """Add /offers records to ``book`` (what ``load_horizon_offers`` does, without parsing the two
        assets of every record: they are compared as Horizon JSON first), stamping each with ``ledger``."""
        from stellar_ob.assets import Asset

        base_j, counter_j = self._base_json, self._counter_json
        for r in records:
            selling, buying = r["selling"], r["buying"]
            if selling == base_j and buying == counter_j:
                side = "ask"
            elif selling == counter_j and buying == base_j:
                side = "bid"
            else:  # the same assets written differently, or another market
                sa, ba = Asset.from_horizon_json(selling), Asset.from_horizon_json(buying)
                if (sa, ba) == (self.base, self.counter):
                    side = "ask"
                elif (sa, ba) == (self.counter, self.base):
                    side = "bid"
                else:
                    raise AssetMismatchError(f"{self.name}: /offers returned offer {r.get('id')} of {sa}/{ba}")
            oid = int(r["id"])
            price = r["price_r"]
            amount = parse_amount(r["amount"])
            if oid in book:
                book.remove_offer(oid)
            if amount > 0:
                book.add_offer(oid, side, int(price["n"]), int(price["d"]), amount, r.get("seller"))
                stamps[oid] = ledger

    def _rest_error(self, error: HorizonError) -> None:
        """get_json failed one attempt (it retries): count and surface it like a stream error."""
        c = self.counters
        if isinstance(error, RateLimitedError):
            c.rate_limited += 1
            m = self.horizon.metrics
            if m is not None:
                m.rate_limit_wait(self, error.retry_after)
        elif error.status is None:
            c.connection_errors += 1
        else:
            c.http_errors += 1
        self._surface(error)

    async def _repage(self) -> None:
        c = self.counters
        self._buffer = []  # fills arriving while we page: replayed onto the new book
        self._pool_buffer = []
        try:
            pages = await self._page_side(self.base, self.counter)
            pages += await self._page_side(self.counter, self.base)
            pool, pool_id, pool_stamp = await self._fetch_pool() if self._pools_supported else (None, None, 0)
            received = time.perf_counter_ns()
            # From here on nothing awaits: no fill can slip between the pages and the install.
            new = self._book_cls(self.base, self.counter)
            stamps: dict[int, int] = {}
            for ledger, records in pages:
                self._load_records(new, records, stamps, ledger)
            buffered, pool_buffered = self._buffer, self._pool_buffer
        finally:
            self._buffer = self._pool_buffer = None
        for at, oid, sold, token in buffered:
            self._fill(new, stamps, at, oid, sold, token, None)
        for at, trade_pool, d_base, d_counter in pool_buffered:
            self._swap(pool, pool_id, pool_stamp, at, trade_pool, d_base, d_counter)
        ledgers = [ledger for ledger, _ in pages]
        floor, top = min(ledgers), max(ledgers)
        if floor != top:  # the market moved while we paged: offers are right per page, not as one
            c.split_snapshots += 1
            self._repage_wanted.set()
        old_pool = self.pool
        pool_moved = (pool is None) != (old_pool is None) or (
            pool is not None and (pool.reserve_a, pool.reserve_b) != (old_pool.reserve_a, old_pool.reserve_b))
        drift = _drift(self.book, new, floor, pool_moved) if self.loaded else None
        if drift is not None and drift.pool:
            c.pool_drift += 1
        self.book = new
        self._stamps = stamps
        self.ledger = floor
        self.pool, self.pool_id, self._pool_stamp = pool, pool_id, pool_stamp
        applied = time.perf_counter_ns()
        self._confirm(applied)
        c.repages += 1
        self.status = Status.LIVE
        if drift is not None:
            c.drift_added += len(drift.added)
            c.drift_removed += len(drift.removed)
            c.drift_changed += len(drift.changed)
            self.last_drift = drift
        first = not self._loaded.is_set()
        self._loaded.set()
        if first or drift or pool_moved:  # an unchanged re-page is not an update
            self._publish(OfferBookUpdate(self, new, (), drift, True, floor, received, applied))
        metrics = self.horizon.metrics
        if metrics is not None and hasattr(metrics, "offer_book"):
            metrics.offer_book(self, drift)
        if drift:
            for cb in list(self._drift_callbacks):
                try:
                    cb(self, drift)
                except Exception:
                    c.callback_errors += 1
                    log.exception("%s: on_drift callback raised", self.name)
        self._changed.set()


def _offer_state(book: Any) -> dict[int, tuple]:
    return {o.offer_id: (o.side, o.n, o.d, o.amount) for side in ("bid", "ask") for o in book.offers(side)}


def _drift(old: Any, new: Any, ledger: int, pool: bool = False) -> Drift:
    """The offers ``new`` adds, removes and changes relative to ``old`` (O(n))."""
    a, b = _offer_state(old), _offer_state(new)
    added = tuple(sorted(k for k in b if k not in a))
    removed = tuple(sorted(k for k in a if k not in b))
    changed = tuple(sorted(k for k, v in b.items() if k in a and a[k] != v))
    return Drift(ledger, added, removed, changed, pool)


class Horizon:
    """One HTTP session, connection pool and rate budget for any number of live markets.

    >>> async def main():                                        # doctest: +SKIP
    ...     async with Horizon() as horizon:                     # the public Horizon
    ...         live = await horizon.watch("XLM", "USDC:GA5ZSEJYB37JRC5AVCIA5MOP4RHTM335X2KGX3IHOJAPP5RE34K4KZVN")
    ...         print(live.best_bid(), live.best_ask())

    ``idle_timeout``: seconds without a byte before a stream counts as dead (Horizon closes every
    stream after 55 s, so 60 s of silence means a half-open connection). ``backoff_base`` /
    ``backoff_cap``: jittered exponential backoff for errors. ``honor_server_retry``: wait at
    least the ``retry:`` Horizon sent (1 s) before reconnecting after an error.
    ``metrics``: a :class:`stellar_ob.metrics.SyncMetrics` (``True`` makes one).
    """

    def __init__(
        self,
        url: str = DEFAULT_HORIZON,
        *,
        session: aiohttp.ClientSession | None = None,
        idle_timeout: float = 60.0,
        connect_timeout: float = 10.0,
        backoff_base: float = 0.1,
        backoff_cap: float = 30.0,
        honor_server_retry: bool = True,
        min_request_interval: float = 0.0,
        metrics: Any = None,
        user_agent: str = _USER_AGENT,
    ) -> None:
        self.url = url.rstrip("/")
        self._session = session
        self._own_session = session is None
        self.idle_timeout = idle_timeout
        self.connect_timeout = connect_timeout
        self.backoff_base = backoff_base
        self.backoff_cap = backoff_cap
        self.honor_server_retry = honor_server_retry
        self.budget = RateBudget(min_request_interval)
        self.user_agent = user_agent
        if metrics is True:
            from stellar_ob.metrics import SyncMetrics

            metrics = SyncMetrics()
        self.metrics = metrics
        self.books: list[LiveBook] = []
        self.offer_books: list[LiveOfferBook] = []
        self._stream_timeout = aiohttp.ClientTimeout(
            total=None, connect=connect_timeout, sock_connect=connect_timeout, sock_read=idle_timeout
        )
        self._rest_timeout = aiohttp.ClientTimeout(total=connect_timeout + 20.0, connect=connect_timeout)
        self._closed = False

    async def __aenter__(self) -> "Horizon":
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    def _session_or_raise(self) -> aiohttp.ClientSession:
        if self._closed:
            raise HorizonError("this Horizon client is closed")
        if self._session is None:
            # limit=0: every market holds one streaming connection; aiohttp's default pool is 100
            connector = aiohttp.TCPConnector(limit=0, limit_per_host=0, ttl_dns_cache=300)
            self._session = aiohttp.ClientSession(
                connector=connector, headers={"User-Agent": self.user_agent, "X-Client-Name": "stellar-ob"}
            )
        return self._session

    # ---- markets ---------------------------------------------------------------------------------------
    async def watch(
        self,
        base: Any,
        counter: Any,
        depth: int = 200,
        *,
        on_update: Callable[[BookUpdate], Any] | None = None,
        load_timeout: float | None = 30.0,
    ) -> LiveBook:
        """Start syncing a market and return its :class:`LiveBook` once loaded (first event).

        ``base``/``counter``: ``"XLM"``/``"native"``, ``"CODE:ISSUER"``, :class:`~stellar_ob.Asset`
        or ``stellar_sdk.Asset`` (:class:`~stellar_ob.errors.AssetError` if invalid). ``depth``:
        levels a side, 1..200 (Horizon's maximum). Raises :class:`HorizonError` if Horizon rejects
        the request, or if the book cannot be loaded within ``load_timeout`` s (the last error
        says why: no route, rate limited, ...).
        """
        if not 1 <= depth <= 200:
            raise ValueError(f"depth must be 1..200 (Horizon's /order_book maximum), got {depth}")
        self._session_or_raise()
        live = LiveBook(self, base, counter, depth)
        if on_update is not None:
            live.on_update(on_update)
        self.books.append(live)
        return await self._load(live, load_timeout)

    async def watch_offers(
        self,
        base: Any,
        counter: Any,
        *,
        on_update: Callable[[OfferBookUpdate], Any] | None = None,
        on_drift: Callable[[LiveOfferBook, Drift], Any] | None = None,
        load_timeout: float | None = 30.0,
        page_limit: int = 200,
        stream_limit: int = 200,
        min_repage_interval: float = 0.0,
    ) -> LiveOfferBook:
        """Start a per-offer (L3) book of a market and return its :class:`LiveOfferBook` once loaded.

        It pages /offers in both directions (``page_limit`` a page, Horizon's maximum 200), applies
        the /trades fills in between and re-pages on every new ledger of the /ledgers stream (at
        most every ``min_repage_interval`` s: each re-page costs two or more /offers pages and a
        /liquidity_pools read against Horizon's rate limit). ``stream_limit``: events per stream
        connection (Horizon closes a page stream after ``limit``, at most 200). Assets and errors
        as for :meth:`watch`.
        """
        if not 1 <= page_limit <= 200:
            raise ValueError(f"page_limit must be 1..200 (Horizon's /offers maximum), got {page_limit}")
        if not 1 <= stream_limit <= 200:
            raise ValueError(f"stream_limit must be 1..200 (Horizon's maximum), got {stream_limit}")
        self._session_or_raise()
        live = LiveOfferBook(self, base, counter, page_limit=page_limit, stream_limit=stream_limit,
                             min_repage_interval=min_repage_interval)
        if on_update is not None:
            live.on_update(on_update)
        if on_drift is not None:
            live.on_drift(on_drift)
        self.offer_books.append(live)
        return await self._load(live, load_timeout)

    async def _load(self, live: Any, load_timeout: float | None) -> Any:
        if self.metrics is not None:
            self.metrics.watch(live)
        live._start()
        try:
            await asyncio.wait_for(live._loaded.wait(), load_timeout)
        except asyncio.TimeoutError:
            err = live.last_error
            await live.close()
            if isinstance(err, RateLimitedError):
                raise err
            raise HorizonError(
                f"could not load {live.name} from {self.url} within {load_timeout:g} s"
                + (f": {err}" if err else "")
            ) from err
        except BaseException:
            await live.close()
            raise
        if live.status is Status.FAILED:
            err = live.last_error
            await live.close()
            assert err is not None
            raise err
        return live

    async def unwatch(self, live: "LiveBook | LiveOfferBook") -> None:
        """Stop syncing one market (same as ``await live.close()``)."""
        await live.close()

    def _forget(self, live: Any) -> None:
        for lst in (self.books, self.offer_books):
            if live in lst:
                lst.remove(live)
        if self.metrics is not None:
            self.metrics.unwatch(live)

    async def close(self) -> None:
        """Stop every market and close the HTTP session (idempotent)."""
        books = list(self.books) + list(self.offer_books)
        await asyncio.gather(*(b.close() for b in books), return_exceptions=True)
        self._closed = True
        if self._session is not None and self._own_session:
            await self._session.close()
        self._session = None

    # ---- REST ------------------------------------------------------------------------------------------
    async def get_json(
        self,
        path: str,
        params: Mapping[str, str] | None = None,
        *,
        retries: int = 5,
        on_error: Callable[[HorizonError], Any] | None = None,
    ) -> tuple[bytes, Mapping[str, str]]:
        """GET a REST resource: the body bytes and headers. Honours the rate budget; retries 429 /
        5xx / connection errors ``retries`` times with backoff (``on_error(error)`` hears of each
        failed attempt); raises :class:`HorizonError`."""
        session = self._session_or_raise()
        backoff = Backoff(self.backoff_base, self.backoff_cap)
        url = path if path.startswith("http") else self.url + path
        last: HorizonError | None = None
        for _ in range(retries + 1):
            await self.budget.acquire()
            try:
                async with session.get(url, params=params, timeout=self._rest_timeout,
                                       headers={"Accept": "application/hal+json"}) as resp:
                    self.budget.observe(resp.headers)
                    if resp.status == 200:
                        return await resp.read(), resp.headers
                    err = await _problem_error(resp, url)
                    if resp.status == 429:
                        wait = self.budget.retry_after(resp.headers)
                        assert isinstance(err, RateLimitedError)
                        err.retry_after = wait
                        self.budget.block(wait)
                        last = err
                        if on_error is not None:
                            on_error(err)
                        continue
                    if resp.status < 500 and resp.status != 408:
                        raise err
                    last = err
            except (aiohttp.ClientError, asyncio.TimeoutError, ConnectionError) as e:
                last = HorizonError(f"cannot reach Horizon at {self.url}: {e}")
            if on_error is not None:
                on_error(last)
            await asyncio.sleep(backoff.next())
        assert last is not None
        raise last

    async def snapshot(self, base: Any, counter: Any, depth: int = 200) -> Snapshot:
        """One REST /order_book read: an OrderBook and the Latest-Ledger it is from."""
        from stellar_ob import Asset, OrderBook

        b, c = Asset.parse(base), Asset.parse(counter)
        params = {**b.horizon_params("selling"), **c.horizon_params("buying"), "limit": str(depth)}
        body, headers = await self.get_json("/order_book", params)
        book = OrderBook(b, c)
        book.apply_horizon(body)
        ll = headers.get("Latest-Ledger")
        return Snapshot(book, int(ll) if ll and ll.isdigit() else None, time.time())
