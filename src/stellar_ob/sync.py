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
"""

from __future__ import annotations

import asyncio
import email.utils
import enum
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

    def __init__(self, live: "LiveBook") -> None:
        self._live = live
        self._pending: BookUpdate | None = None
        self._wake = asyncio.Event()
        self._closed = False

    def _push(self, update: BookUpdate) -> None:
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

    async def __anext__(self) -> BookUpdate:
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


class LiveBook:
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

        self.horizon = horizon
        self.book = OrderBook(base, counter)
        self.base = self.book.base
        self.counter = self.book.counter
        self.depth = depth
        self.name = _market_name(self.base, self.counter)
        self.status = Status.CONNECTING
        self.confirmed_at: float | None = None
        self.confirmed_ns: int | None = None
        self.last_error: BaseException | None = None
        self.counters = Counters()
        self.server_retry_ms: int | None = None
        self._callbacks: list[Callable[[BookUpdate], Any]] = []
        self._error_callbacks: list[Callable[["LiveBook", BaseException], Any]] = []
        self._streams: "weakref.WeakSet[_UpdateStream]" = weakref.WeakSet()
        self._loaded = asyncio.Event()
        self._changed = asyncio.Event()
        self._task: asyncio.Task | None = None
        self._backoff = Backoff(horizon.backoff_base, horizon.backoff_cap)
        self._connected_once = False

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

    @property
    def loaded(self) -> bool:
        return self._loaded.is_set()

    @property
    def age(self) -> float | None:
        """Seconds since the server last confirmed this book (None before the first event)."""
        return None if self.confirmed_at is None else time.time() - self.confirmed_at

    # ---- consuming changes ---------------------------------------------------------------------------
    def updates(self) -> _UpdateStream:
        """An async iterator of :class:`BookUpdate`, one slot deep: a slow consumer gets the latest
        book and the merged diff (``update.coalesced`` says how many were merged), never a growing
        queue. Ends when the book is closed; raises the error if the book fails."""
        s = _UpdateStream(self)
        self._streams.add(s)
        return s

    def on_update(self, callback: Callable[[BookUpdate], Any]) -> Callable[[], None]:
        """Call ``callback(update)`` synchronously for every change (no coalescing). Exceptions are
        logged and counted, never kill the stream. Returns a function that unregisters it."""
        self._callbacks.append(callback)
        return lambda: self._callbacks.remove(callback) if callback in self._callbacks else None

    def on_error(self, callback: Callable[["LiveBook", BaseException], Any]) -> Callable[[], None]:
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
        """Stop syncing this market and release its connection (idempotent)."""
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            try:
                await task
            except asyncio.CancelledError:
                pass
        if self.status is not Status.FAILED:
            self.status = Status.CLOSED
        self._end_streams()
        self.horizon._forget(self)

    def _end_streams(self) -> None:
        for s in list(self._streams):
            s._end()
        self._changed.set()

    # ---- the stream loop -----------------------------------------------------------------------------
    def _start(self) -> None:
        self._task = asyncio.create_task(self._run(), name=f"stellar-ob {self.name}")

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

    async def _run(self) -> None:
        horizon = self.horizon
        params = {**self.base.horizon_params("selling"), **self.counter.horizon_params("buying"),
                  "limit": str(self.depth)}
        url = horizon.url + "/order_book"
        while True:
            delay: float | None
            try:
                await self._connect_once(url, params)
                delay = 0.0  # a clean goodbye
            except _Reconnect as r:
                delay = r.delay
                if r.error is not None:
                    self._surface(r.error)
            except asyncio.CancelledError:
                raise
            except HorizonError as e:  # permanent: 4xx other than 429
                self.status = Status.FAILED
                self._surface(e)
                self._end_streams()
                self._loaded.set()
                return
            if delay is None:
                delay = self._backoff.next()
                if horizon.honor_server_retry and self.server_retry_ms:
                    delay = max(delay, min(self.server_retry_ms / 1000.0, horizon.backoff_cap))
            if delay > 0:
                self.status = Status.BACKING_OFF
                await asyncio.sleep(delay)
            elif self.server_retry_ms is not None and self.server_retry_ms <= 100:
                await asyncio.sleep(self.server_retry_ms / 1000.0)  # Horizon's goodbye: retry: 10

    async def _connect_once(self, url: str, params: dict[str, str]) -> None:
        horizon = self.horizon
        await horizon.budget.acquire()
        if self._connected_once:
            self.counters.reconnects += 1
            if horizon.metrics is not None:
                horizon.metrics.reconnect(self)
        self._connected_once = True
        self.counters.connections += 1
        if self.status is not Status.LIVE:
            self.status = Status.CONNECTING
        session = horizon._session_or_raise()
        try:
            async with session.get(url, params=params, headers={"Accept": "text/event-stream"},
                                   timeout=horizon._stream_timeout) as resp:
                horizon.budget.observe(resp.headers)
                if resp.status == 429:
                    wait = horizon.budget.retry_after(resp.headers)
                    horizon.budget.block(wait)
                    err = await _problem_error(resp, self.name)
                    assert isinstance(err, RateLimitedError)
                    err.retry_after = wait
                    self.counters.rate_limited += 1
                    if horizon.metrics is not None:
                        horizon.metrics.rate_limit_wait(self, wait)
                    raise _Reconnect(0.0, err)  # budget.acquire() does the waiting
                if resp.status >= 500 or resp.status in (408, 499):
                    self.counters.http_errors += 1
                    raise _Reconnect(None, await _problem_error(resp, self.name))
                if resp.status != 200:
                    self.counters.http_errors += 1
                    raise await _problem_error(resp, self.name)
                await self._read_stream(resp)
        except (aiohttp.ClientError, asyncio.TimeoutError, ConnectionError) as e:
            self.counters.connection_errors += 1
            raise _Reconnect(None, StreamError(f"{self.name}: connection lost: {e!r}")) from None

    async def _read_stream(self, resp: aiohttp.ClientResponse) -> None:
        parser = SSEParser()
        counters = self.counters
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
                    self.server_retry_ms = parser.retry
                kind = ev.event
                if kind == "message":
                    self._apply(ev.data, t, first)
                    first = False
                elif kind == "open":
                    if self.loaded:
                        self.status = Status.LIVE
                elif kind == "close":
                    counters.byebyes += 1
                    self._changed.set()
                    return
                elif kind == "error":
                    counters.error_events += 1
                    text = ev.data.decode("utf-8", "replace")
                    if "rate limit" in text.lower():
                        counters.rate_limited += 1
                        err: StreamError = StreamError(f"{self.name}: Horizon stream error: {text}", status=429)
                    else:
                        err = StreamError(f"{self.name}: Horizon stream error: {text}")
                    raise _Reconnect(None, err)
        # EOF without a goodbye: the server went away (a partial event in the parser is dropped)
        counters.connection_errors += 1
        raise _Reconnect(None, StreamError(f"{self.name}: stream ended without a goodbye"))

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
            self.counters.updates += 1
            update = BookUpdate(self, diff, self.book, received_ns, applied, 0, resync)
            for cb in self._callbacks:
                try:
                    cb(update)
                except Exception:
                    self.counters.callback_errors += 1
                    log.exception("%s: on_update callback raised", self.name)
            for s in self._streams:
                s._push(update)
            if metrics is not None:
                metrics.update(self, update)
        elif metrics is not None:
            metrics.event(self)
        self._changed.set()


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
        self.offer_books: list["LiveOfferBook"] = []
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
        if self.metrics is not None and isinstance(live, LiveBook):
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
    async def get_json(self, path: str, params: Mapping[str, str] | None = None, *, retries: int = 5) -> tuple[bytes, Mapping[str, str]]:
        """GET a REST resource: the body bytes and headers. Honours the rate budget; retries 429 /
        5xx / connection errors ``retries`` times with backoff; raises :class:`HorizonError`."""
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
                        continue
                    if resp.status < 500:
                        raise err
                    last = err
            except (aiohttp.ClientError, asyncio.TimeoutError, ConnectionError) as e:
                last = HorizonError(f"cannot reach Horizon at {self.url}: {e}")
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

    async def watch_offers(self, base: Any, counter: Any, **kwargs: Any) -> "LiveOfferBook":
        """Keep a per-offer (L3) book of a market (pages /offers, applies /trades fills, re-pages on
        /ledgers boundaries). Not implemented yet: raises NotImplementedError."""
        raise NotImplementedError("L3 sync (watch_offers) is not implemented yet; use watch() for the L2 book")


class LiveOfferBook:
    """Placeholder for the L3 watcher (see :meth:`Horizon.watch_offers`)."""
