"""The SSE connection loop every live book runs (caps, deadlines, reconnects), live-book states,
counters and the coalescing update stream.

Part of the :mod:`stellar_ob.sync` package, which re-exports the public names."""

from __future__ import annotations

import asyncio
import enum
import inspect
import logging
import math
import os
import time
import weakref
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Callable, Generic, TypeVar

import aiohttp

from stellar_ob.errors import (
    HorizonError,
    ParseError,
    RateLimitedError,
    StreamError,
)
from stellar_ob.sse import SSEParser, SSELimitError

from stellar_ob.sync.http import CallbackError, _check_callback, _deadline, _is_redirect, _problem_error, _redirect_error
from stellar_ob.sync.budget import Backoff
from stellar_ob.sync._reads import _BufferedReads, _Forwarding

if TYPE_CHECKING:
    from stellar_ob.sync.client import Horizon  # noqa: F401 (annotations)

log = logging.getLogger("stellar_ob.sync")

#: The update type of a live book (:class:`BookUpdate`, :class:`OfferBookUpdate`, ...): what its
#: ``updates()`` yields and its ``on_update`` callbacks receive.
U = TypeVar("U")


class Status(str, enum.Enum):
    """Where a live book stands. ``str`` so it prints and compares as its value.

    ``RATE_LIMITED``: waiting for the end of a rate-limit block (Retry-After / X-RateLimit-Reset)
    before the next request; :attr:`LiveBook.rate_limited_until` says when it ends.
    ``SERVER_DOWN``: the client's health probe found the server down; the book makes no request
    of its own until the probe succeeds (``server_down_since``, ``next_probe_at``).
    ``BACKING_OFF`` is the book's own backoff (the server answers, this market's request failed).
    """

    CONNECTING = "connecting"
    LIVE = "live"
    BACKING_OFF = "backing off"
    RATE_LIMITED = "rate limited"
    SERVER_DOWN = "server down"
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
    empty_goodbyes: int = 0  #: goodbyes of a connection that delivered no data event (backoff follows)
    error_events: int = 0  #: ``event: error`` received
    parse_errors: int = 0  #: data, ids or documents the parsers rejected (book left unchanged; resynced)
    crossed: int = 0  #: /order_book documents with best bid > best ask (skipped; the book kept)
    http_errors: int = 0  #: non-2xx answers other than 429 (redirects included)
    redirects: int = 0  #: 3xx answers (never followed)
    connection_errors: int = 0  #: resets, refusals, cuts mid-event, idle timeouts
    timeouts: int = 0  #: REST requests and re-pages past their deadline
    stalls: int = 0  #: streams with no event for ``stall_timeout`` s
    limits_exceeded: int = 0  #: lines, events, bodies or page counts past their cap
    bad_headers: int = 0  #: rate-limit headers that were not readable numbers (ignored)
    rate_limited: int = 0  #: 429s and rate-limit error events
    callback_errors: int = 0  #: exceptions raised by callbacks (reported, swallowed)
    unexpected_errors: int = 0  #: anything else raised while syncing (logged; reconnect after backoff)
    bytes_received: int = 0


@dataclass(frozen=True)
class Snapshot:
    """A REST /order_book answer: the book and the ``Latest-Ledger`` it was read at."""

    book: Any
    latest_ledger: int | None
    fetched_at: float


class _Reconnect(Exception):
    """Internal: end this connection; ``delay`` None = use backoff, 0 = at once. ``permanent``:
    the error cannot heal (the owner fails with it instead of reconnecting)."""

    def __init__(self, delay: float | None, error: BaseException | None = None, permanent: bool = False,
                 server: bool = False) -> None:
        self.delay = delay
        self.error = error
        self.permanent = permanent
        self.server = server  # the server itself may be down (no answer, a cut, a 5xx): ask the health probe


class UpdateStream(Generic[U]):
    """What :meth:`LiveBook.updates` and :meth:`LiveOfferBook.updates` return: an ``async for``
    over the book's updates (:class:`BookUpdate` or :class:`OfferBookUpdate`) with a one-slot
    coalescing buffer. A slow consumer never makes the book wait or grow a queue: the updates it
    has not taken yet are merged into one (``coalesced`` counts the merged ones), so memory is
    O(1) per consumer. The iteration ends when the live book closes.
    """

    def __init__(self, live: "_Live[U]") -> None:
        self._live = live
        self._pending: Any = None  # U | None, merged through U's own merged()
        self._wake = asyncio.Event()
        self._closed = False

    def _push(self, update: U) -> None:
        if self._pending is None:
            self._pending = update
        else:
            self._pending = self._pending.merged(update)
            self._live.counters.coalesced += 1
        self._wake.set()

    def _end(self) -> None:
        self._closed = True
        self._wake.set()

    def __aiter__(self) -> "UpdateStream[U]":
        return self

    async def __anext__(self) -> U:
        while True:
            u = self._pending
            if u is not None:
                self._pending = None
                return u
            end = self._over()
            if end is not None:
                self.close()
                raise end
            self._wake.clear()
            await self._wake.wait()

    def _over(self) -> BaseException | None:
        """What ends this stream now: the book's error if it failed, StopAsyncIteration if the
        stream or the book closed, None while it goes on."""
        live = self._live
        if live.status is Status.FAILED and live.last_error is not None:
            return live.last_error
        if self._closed or live.status is Status.CLOSED:
            return StopAsyncIteration()
        return None

    def close(self) -> None:
        """Stop receiving updates (also what ``break`` out of the loop should be followed by)."""
        self._closed = True
        self._live._streams.discard(self)

    async def aclose(self) -> None:
        self.close()


_UpdateStream = UpdateStream  # the name before issue 11


class _DirectUpdates(UpdateStream[U]):
    """Internal (the Hummingbot source): ``handle(update)`` is called for every update in the
    sync's own call stack, as an ``on_update`` callback is (no task woken, no coalescing), and
    :meth:`ended` is awaited for the end: it raises what ``handle`` raised (nothing more is
    handed to it after that), the book's error if it failed, or :class:`HorizonError` when it
    closed. Keep a reference: the book holds its streams weakly."""

    def __init__(self, live: "_Live[U]", handle: Callable[[U], None]) -> None:
        super().__init__(live)
        self._handle = handle
        self._error: Exception | None = None

    def _push(self, update: U) -> None:
        if self._closed:
            return
        try:
            self._handle(update)
        except Exception as e:  # noqa: BLE001 - raised by ended() in the consumer's task
            self._error = e
            self._end()

    async def ended(self) -> None:
        while True:
            end = self._error if self._error is not None else self._over()
            if end is not None:
                self.close()
                if isinstance(end, StopAsyncIteration):
                    raise HorizonError(f"{self._live.name}: the live book closed")
                raise end
            self._wake.clear()
            await self._wake.wait()


class _Live(Generic[U]):
    """What every live book shares: status, counters, consumers, error surfacing, tasks, close.
    Generic in its update type ``U``, so that ``updates()`` and ``on_update`` are typed."""

    book: Any

    def __init__(self, horizon: "Horizon", name: str, counters: Counters) -> None:
        self.horizon = horizon
        self.name = name
        self._status = Status.CONNECTING
        self.rate_limited_until: float | None = None  #: time.time() a rate-limit wait ends (status RATE_LIMITED)
        self.confirmed_at: float | None = None
        self.confirmed_ns: int | None = None
        self.last_error: BaseException | None = None
        self.counters = counters
        self.server_retry_ms: int | None = None
        self._callbacks: list[Callable[[U], Any]] = []
        self.callback_seconds = 0.0  #: total seconds spent in on_update callbacks (metrics: callback_seconds)
        self._error_callbacks: list[Callable[[Any, BaseException], Any]] = []
        self._streams: "weakref.WeakSet[UpdateStream[U]]" = weakref.WeakSet()
        self._ready = False  # loaded once (the book holds the server's state or a later one)
        self._loaded = asyncio.Event()  # wakes the watch() waiting for the load: loaded, or failed
        self._changed = asyncio.Event()
        self._tasks: list[asyncio.Task] = []

    @property
    def status(self) -> Status:
        """:class:`Status` of the book (``rate_limited_until`` is set while RATE_LIMITED). FAILED
        is final."""
        return self._status

    @status.setter
    def status(self, value: Status) -> None:
        if self._status is Status.FAILED:
            return  # final: a task that has not seen its cancellation yet must not hide it
        if value is not Status.RATE_LIMITED:
            self.rate_limited_until = None
        self._status = value

    def _set_loaded(self) -> None:
        self._ready = True
        self._loaded.set()

    @property
    def server_down_since(self) -> float | None:
        """``time.time()`` the health probe found the server down, while this book waits for it
        (status ``SERVER_DOWN``); None otherwise."""
        health = self.horizon.health
        return health.down_since if health is not None and self._status is Status.SERVER_DOWN else None

    @property
    def next_probe_at(self) -> float | None:
        """``time.time()`` of the health probe's next request while the book waits for the server."""
        health = self.horizon.health
        return health.next_probe_at if health is not None and self._status is Status.SERVER_DOWN else None

    @property
    def status_text(self) -> str:
        """The status with what it waits for: ``server down (since 10:31:02, next probe at
        10:31:05)``, ``rate limited (until 10:31:40)``, or the status alone."""
        def hms(t: float | None) -> str:
            return "?" if t is None else time.strftime("%H:%M:%S", time.localtime(t))

        status = self._status
        if status is Status.SERVER_DOWN:
            return f"{status.value} (since {hms(self.server_down_since)}, next probe at {hms(self.next_probe_at)})"
        if status is Status.RATE_LIMITED and self.rate_limited_until is not None:
            return f"{status.value} (until {hms(self.rate_limited_until)})"
        return status.value

    @property
    def loaded(self) -> bool:
        """True once the book has been loaded from the server (it stays True)."""
        return self._ready

    @property
    def age(self) -> float | None:
        """Seconds since the server last confirmed this book (None before the first event)."""
        return None if self.confirmed_at is None else time.time() - self.confirmed_at

    # ---- consuming changes ---------------------------------------------------------------------------
    def updates(self) -> UpdateStream[U]:
        """An async iterator of updates, one slot deep: a slow consumer gets the latest book and the
        merged change (``update.coalesced`` says how many were merged), never a growing queue.
        Ends when the book is closed; raises the error if the book fails."""
        s: UpdateStream[U] = UpdateStream(self)
        self._streams.add(s)
        return s

    def _direct_updates(self, handle: Callable[[U], None]) -> _DirectUpdates[U]:
        """Internal: ``handle`` gets every update synchronously (see :class:`_DirectUpdates`)."""
        s: _DirectUpdates[U] = _DirectUpdates(self, handle)
        self._streams.add(s)
        return s

    def on_update(self, callback: Callable[[U], Any]) -> Callable[[], None]:
        """Call ``callback(update)`` synchronously for every change (no coalescing). Whatever it
        raises (any exception, even ``CancelledError`` or ``KeyboardInterrupt``) is caught, counted
        (``callback_errors``), logged and handed to ``on_error`` callbacks as a
        :class:`CallbackError`: a callback never stops the sync. Returns a function that unregisters it."""
        _check_callback("callback", callback)
        self._callbacks.append(callback)
        return lambda: self._callbacks.remove(callback) if callback in self._callbacks else None

    def on_error(self, callback: Callable[[Any, BaseException], Any]) -> Callable[[], None]:
        """Call ``callback(live, error)`` for every error surfaced (error events, parse errors,
        rate limits, connection drops, caps, callback errors); the book keeps syncing unless it is a
        permanent failure. What the callback raises is caught, counted and logged."""
        _check_callback("callback", callback)
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

        async with _deadline(timeout):
            await wait()

    async def close(self) -> None:
        """Stop syncing this market and release its connections (idempotent)."""
        tasks, self._tasks = self._tasks, []
        pending = {t for t in tasks if not t.done()}
        while pending:  # cancel again should a task ever swallow one (it would outlive the book)
            for task in pending:
                task.cancel()
            _, pending = await asyncio.wait(pending, timeout=1.0)
        for task in tasks:
            if not task.cancelled() and task.exception() is not None:  # _guard lets nothing out; be sure
                log.error("%s: a sync task ended with %r", self.name, task.exception())
        if self.status is not Status.FAILED:
            self.status = Status.CLOSED
        self._end_streams()
        self.horizon._forget(self)

    # ---- internals -----------------------------------------------------------------------------------
    def _end_streams(self) -> None:
        for s in list(self._streams):
            s._end()
        self._changed.set()

    def _spawn(self, run: Callable[[], Any], what: str) -> None:
        self._tasks.append(asyncio.create_task(self._guard(run, what),
                                               name=f"stellar-ob {self.name} {what}".rstrip()))

    async def _guard(self, run: Callable[[], Any], what: str) -> None:
        """Run one of this book's tasks (``run()`` makes its coroutine). Each task handles what a
        server can do; should anything else escape (a bug), it is logged with its traceback, counted
        (``unexpected_errors``), surfaced, and the task starts over after backoff: nothing a server
        sends can stop a book for good."""
        backoff = Backoff(self.horizon.backoff_base, self.horizon.backoff_cap)
        while True:
            try:
                await run()
                return
            except asyncio.CancelledError:
                raise
            except Exception as e:
                log.exception("%s: %s task failed; restarting it after backoff", self.name, what or "sync")
                self.counters.unexpected_errors += 1
                self._surface(e)
                if self.status is Status.FAILED:
                    return
                self.status = Status.BACKING_OFF
                await asyncio.sleep(backoff.next())

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

    def _rate_limited(self, seconds: float) -> None:
        """A request of this book waits ``seconds`` for a rate-limit block to end."""
        self.status = Status.RATE_LIMITED
        self.rate_limited_until = time.time() + seconds
        self._changed.set()

    def _surface(self, error: BaseException) -> None:
        self.last_error = error
        self._report(error)

    def _report(self, error: BaseException) -> None:
        """Tell metrics and on_error callbacks about ``error`` (without making it ``last_error``)."""
        self._changed.set()
        m = self.horizon.metrics
        if m is not None:
            m.error(self, type(error).__name__)
        for cb in list(self._error_callbacks):
            self._call(cb, "on_error", self, error, report=False)

    def _call(self, cb: Callable[..., Any], what: str, *args: Any, report: bool = True) -> None:
        """Call a user callback; nothing it raises or returns can reach the sync task."""
        try:
            result = cb(*args)
        except BaseException as e:  # noqa: BLE001 - a callback must never stop the sync (see on_update)
            if isinstance(e, asyncio.CancelledError) and _cancelling():
                raise  # this task is being cancelled (close()): that cancellation is ours, not the callback's
            self.counters.callback_errors += 1
            log.error("%s: %s callback %r raised %r", self.name, what, cb, e, exc_info=e)
            if report:
                err = CallbackError(f"{self.name}: {what} callback raised {e!r}")
                err.__cause__ = e
                self._report(err)
            return
        if result is not None and inspect.isawaitable(result):  # called synchronously: it would never run
            close = getattr(result, "close", None)
            if close is not None:
                try:
                    close()
                except Exception:  # noqa: BLE001 - whatever the awaitable does on close
                    pass
            self.counters.callback_errors += 1
            log.error("%s: %s callback %r returned an awaitable; callbacks are called synchronously", self.name,
                      what, cb)
            if report:
                self._report(CallbackError(f"{self.name}: {what} callback returned an awaitable that would never "
                                           "run (callbacks are called synchronously; use updates() to await)"))

    def _publish(self, update: U) -> None:
        self.counters.updates += 1
        if self._callbacks:
            # the time the consumer holds the sync task: a slow callback delays every book of this loop
            started = time.perf_counter()
            for cb in list(self._callbacks):
                self._call(cb, "on_update", update)
            spent = time.perf_counter() - started
            self.callback_seconds += spent
            m = self.horizon.metrics
            if m is not None:
                m.callback_time(self, spent)
        for s in list(self._streams):
            s._push(update)

    def _confirm(self, applied_ns: int) -> None:
        self.confirmed_at = time.time()
        self.confirmed_ns = applied_ns


class _StallWatch:
    """The stall deadline of one stream connection: no event for ``stall`` s cancels the reading
    task (and :attr:`fired` says it was this watch). One timer, re-armed lazily: an event only
    stores its time in :attr:`last`; when the timer fires before the deadline, it re-arms itself
    for ``last + stall``. Same deadline as a timeout around each read, without arming and
    cancelling a timer per read. The reading task only awaits in ``readany()``, so the
    cancellation always arrives there."""

    __slots__ = ("loop", "task", "stall", "last", "fired", "_handle")

    def __init__(self, loop: asyncio.AbstractEventLoop, task: "asyncio.Task[Any]", stall: float) -> None:
        self.loop = loop
        self.task = task
        self.stall = stall
        self.last = loop.time()
        self.fired = False
        self._handle: asyncio.TimerHandle | None = loop.call_at(self.last + stall, self._check)

    def _check(self) -> None:
        due = self.last + self.stall
        if self.loop.time() < due:
            self._handle = self.loop.call_at(due, self._check)
            return
        self._handle = None
        self.fired = True
        self.task.cancel()

    def close(self) -> None:
        if self._handle is not None:
            self._handle.cancel()
            self._handle = None


def _cancelling() -> bool:
    """True when the running task has a cancellation pending (Python 3.11+: Task.cancelling())."""
    task = asyncio.current_task()
    cancelling = getattr(task, "cancelling", None)
    return bool(cancelling()) if cancelling is not None else False


_QUIET_CLOSE = 10.0  # s: an empty goodbye after a connection this old is a quiet stream timing out, not a storm


class _SSEStream:
    """One Horizon SSE stream of a live book, kept open for as long as the book lives.

    ``on_data(data, received_ns, first)`` gets each data event (``first``: the first of this
    connection); it raises :class:`_Reconnect` to drop the connection (e.g. unparseable data).
    Page streams (``page=True``) remember the id of the last event ``on_data`` accepted and resume
    from it; ``valid_id(id)`` says whether an ``id:`` the server sent can be sent back (an event
    with an id that cannot is refused before ``on_data`` sees it); ``resume(stream)`` may choose
    the ``(cursor, last_event_id)`` of the next connection (default: ``("now", last id)``).
    ``on_open(stream)`` runs on the server's hello.

    Reconnects: at once after a goodbye that followed at least one data event (Horizon's normal
    close every 10 events or ``limit``), or that ended a connection open for ``_QUIET_CLOSE`` s or
    more (Horizon's 55 s timeout of a page stream with nothing new); after backoff for anything
    else, a goodbye right after the hello included; and never two connection starts of one stream
    closer than ``Horizon.min_reconnect_interval``.
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
        valid_id: Callable[[str], bool] | None = None,
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
        self.valid_id = valid_id
        self.backoff = Backoff(horizon.backoff_base, horizon.backoff_cap)
        self.connected_once = False
        self.server_retry_ms: int | None = None
        self.last_id: str | None = None  #: page streams: id of the last event applied
        self.cursor_used: str | None = None  #: page streams: the cursor of the current connection
        self.last_id_used: str | None = None  #: page streams: the Last-Event-ID it was opened with
        self.data_events = 0  #: data events of the current connection
        self._last_start = -math.inf  # time.monotonic() of the last connection start

    async def run(self) -> None:
        """Connect, read, reconnect (see the class docstring) until cancelled; a permanent failure
        (a 4xx other than 408/429 on the stream, a redirect before the book loaded) fails the owner."""
        owner = self.owner
        horizon = owner.horizon
        while True:
            delay: float | None
            error: BaseException | None = None
            server = False
            try:
                await self._connect_once()
                if self.data_events or time.monotonic() - self._last_start >= _QUIET_CLOSE:
                    delay = 0.0  # a clean goodbye after events or a quiet while: Horizon's normal close
                    self.backoff.reset()
                else:  # a goodbye with nothing before it: reconnecting at once would hammer the server
                    owner.counters.empty_goodbyes += 1
                    delay = None
            except _Reconnect as r:
                # What the waits below need is taken out of the exception, and nothing is awaited
                # in here: the exception's traceback holds every frame of the dead connection's read
                # (its response, parser buffer, tap), which a wait inside this block would keep
                # alive for the whole outage, for every market at once (tests/test_sync_memory.py).
                if r.permanent:
                    owner._fail(r.error if r.error is not None else HorizonError(f"{self.what}: failed"))
                    return
                delay, error, server = r.delay, r.error, r.server
            if error is not None:
                owner._surface(error)
                error = None
            if server and delay is None and horizon.health is not None:
                if await horizon.health.server_failed(owner):
                    self.backoff.reset()  # the server was down, not this market: back at once
                    continue
            if delay is None:
                delay = self.backoff.next()
                if horizon.honor_server_retry and self.server_retry_ms:
                    delay = max(delay, min(self.server_retry_ms / 1000.0, horizon.backoff_cap))
            if delay > 0:
                owner.status = Status.BACKING_OFF
                if horizon.health is not None:
                    if await horizon.health.backoff(owner, delay):
                        self.backoff.reset()  # an outage ended meanwhile: back in its recovery slot
                else:
                    await asyncio.sleep(delay)
            elif self.server_retry_ms is not None and self.server_retry_ms <= 100:
                await asyncio.sleep(self.server_retry_ms / 1000.0)  # Horizon's goodbye: retry: 10

    async def _pace(self) -> None:
        """Keep connection starts of this stream ``min_reconnect_interval`` apart."""
        wait = self._last_start + self.owner.horizon.min_reconnect_interval - time.monotonic()
        if wait > 0:
            await asyncio.sleep(wait)

    async def _connect_once(self) -> None:
        owner = self.owner
        horizon = owner.horizon
        counters = owner.counters
        self.data_events = 0
        await self._pace()
        await horizon.budget.acquire(owner)
        health = horizon.health
        if health is not None and health.down:  # woke from its own backoff into an outage: no request
            await health.wait_up(owner)
        self._last_start = time.monotonic()
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
            # The answer's head must arrive within request_timeout (sock_read alone lets a server
            # trickle one header byte a minute); the body is then read for as long as the stream lives.
            async with _deadline(horizon.request_timeout):
                resp = await session.get(self.url, params=params, headers=headers, timeout=horizon._stream_timeout,
                                         allow_redirects=False)
        except asyncio.TimeoutError:
            counters.timeouts += 1
            counters.connection_errors += 1
            raise _Reconnect(None, StreamError(f"{self.what}: no answer within {horizon.request_timeout:g} s"),
                             server=True) from None
        except (aiohttp.ClientError, ConnectionError, OSError) as e:
            counters.connection_errors += 1
            raise _Reconnect(None, StreamError(f"{self.what}: connection lost: {e!r}"), server=True) from None
        try:
            horizon._front_reads(resp)
            self._observe(resp)
            status = resp.status
            if status == 429:
                wait = horizon.budget.retry_after(resp.headers)
                horizon.budget.block(wait)
                err = await self._error_of(resp)
                if isinstance(err, RateLimitedError):
                    err.retry_after = wait
                counters.rate_limited += 1
                if horizon.metrics is not None:
                    horizon.metrics.rate_limit_wait(owner, wait)
                raise _Reconnect(0.0, err)  # budget.acquire() does the waiting
            if _is_redirect(status):
                counters.http_errors += 1
                counters.redirects += 1
                raise _Reconnect(None, _redirect_error(resp, self.what), permanent=not owner.loaded)
            if status >= 500 or status in (408, 499):
                counters.http_errors += 1
                raise _Reconnect(None, await self._error_of(resp), server=status >= 500)
            if status != 200:
                counters.http_errors += 1
                raise _Reconnect(None, await self._error_of(resp), permanent=True)
            await self._read_stream(resp)
        except (aiohttp.ClientError, asyncio.TimeoutError, ConnectionError, OSError) as e:
            counters.connection_errors += 1
            raise _Reconnect(None, StreamError(f"{self.what}: connection lost: {e!r}"), server=True) from None
        except (_Reconnect, asyncio.CancelledError):
            raise
        except Exception as e:  # a bug, or a value no check anticipated: never the end of the book
            log.exception("%s: unexpected error", self.what)
            counters.unexpected_errors += 1
            raise _Reconnect(None, e) from None
        finally:
            resp.close()  # never back to the pool: a half-read stream is no use to anyone

    def _observe(self, resp: aiohttp.ClientResponse) -> None:
        bad = self.owner.horizon.budget.observe(resp.headers)
        if bad:
            self.owner.counters.bad_headers += len(bad)
            self.owner._surface(ParseError(f"{self.what}: ignored unreadable headers: {', '.join(bad)}"))

    async def _error_of(self, resp: aiohttp.ClientResponse) -> HorizonError:
        try:
            async with _deadline(self.owner.horizon.request_timeout):
                return await _problem_error(resp, self.what)
        except asyncio.TimeoutError:
            return HorizonError(f"Horizon answered {resp.status} for {self.what}", status=resp.status)

    async def _read_stream(self, resp: aiohttp.ClientResponse) -> None:
        horizon = self.owner.horizon
        parser = SSEParser(horizon.max_line_bytes, horizon.max_event_bytes)
        stall = horizon.stall_timeout
        last_event = time.monotonic()
        task = asyncio.current_task()
        # One lazy timer for the whole connection instead of a deadline (a timer armed and
        # cancelled) around every read: see _StallWatch. Task.uncancel() (3.11+) tells its
        # cancellation from anyone else's; without it, the per-read deadline below.
        watch = (_StallWatch(asyncio.get_running_loop(), task, stall)
                 if stall is not None and task is not None and hasattr(task, "uncancel") else None)
        try:
            await self._read_events(resp, parser, watch, last_event)
        finally:
            if watch is not None:
                watch.close()

    def _events(self, parser: SSEParser, watch: "_StallWatch | None") -> Callable[[bytes], bool]:
        """The function that takes one chunk of the stream's body through SSE framing to
        ``on_data``: True when the chunk ended with the server's goodbye (nothing after it is
        read); raises :class:`_Reconnect` to drop the connection. Both readers use it."""
        owner = self.owner
        horizon = owner.horizon
        counters = owner.counters
        on_data = self.on_data
        page = self.page
        valid_id = self.valid_id
        perf = time.perf_counter_ns
        one_data_event = parser.one_data_event
        first = True

        def process(chunk: bytes) -> bool:
            nonlocal first
            t = perf()
            counters.bytes_received += len(chunk)
            try:
                data = one_data_event(chunk)
                events = parser.feed(chunk) if data is None else None
            except SSELimitError as e:
                counters.limits_exceeded += 1
                if horizon.metrics is not None:
                    horizon.metrics.limit(owner, "max_line_bytes" if e.limit == "max_line" else "max_event_bytes")
                raise _Reconnect(None, StreamError(f"{self.what}: {e}")) from None
            if data is not None:  # the chunk was one whole data event (Horizon's usual write): no SSEEvent
                if watch is not None:
                    watch.last = watch.loop.time()
                else:
                    self._last_event = time.monotonic()
                ev_id = parser.last_event_id
                if page and ev_id is not None and valid_id is not None and not valid_id(ev_id):
                    counters.parse_errors += 1
                    raise _Reconnect(None, ParseError(f"{self.what}: an event id that cannot be sent back: "
                                                      f"{ev_id[:40]!r}"))
                on_data(data, t, first)
                first = False
                self.data_events += 1
                if page and ev_id is not None:
                    self.last_id = ev_id
                return False
            if not events:
                return False
            if watch is not None:
                watch.last = watch.loop.time()
            else:
                self._last_event = time.monotonic()
            if parser.retry is not None:
                self.server_retry_ms = owner.server_retry_ms = parser.retry
            for ev in events:
                kind = ev.event
                if kind == "message":
                    if page and ev.id is not None and valid_id is not None and not valid_id(ev.id):
                        counters.parse_errors += 1
                        raise _Reconnect(None, ParseError(f"{self.what}: an event id that cannot be sent back: "
                                                          f"{ev.id[:40]!r}"))
                    on_data(ev.data, t, first)
                    first = False
                    self.data_events += 1
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
                    return True
                elif kind == "error":
                    counters.error_events += 1
                    text = ev.data[:500].decode("utf-8", "replace")
                    if "rate limit" in text.lower():
                        counters.rate_limited += 1
                        err: StreamError = StreamError(f"{self.what}: Horizon stream error: {text}", status=429)
                    else:
                        err = StreamError(f"{self.what}: Horizon stream error: {text}")
                    raise _Reconnect(None, err)
            return False

        return process

    def _stalled(self) -> _Reconnect:
        self.owner.counters.stalls += 1
        return _Reconnect(None, StreamError(f"{self.what}: no event for {self.owner.horizon.stall_timeout:g} s "
                                            "(stall_timeout): treated as stalled"))

    async def _read_events(self, resp: aiohttp.ClientResponse, parser: SSEParser, watch: "_StallWatch | None",
                           last_event: float) -> None:
        self._last_event = last_event
        process = self._events(parser, watch)
        stall = self.owner.horizon.stall_timeout
        if _LEAN_READ and (watch is not None or stall is None):
            tap = _Tap.install(resp, process)
            if tap is not None:
                try:
                    await self._read_tapped(tap, watch)
                finally:
                    tap.remove()
                return
        content = resp.content
        while True:
            if watch is not None:
                try:
                    chunk = await content.readany()
                except asyncio.CancelledError:
                    if watch.fired and watch.task.uncancel() == 0:  # the watch's own cancellation, no one else's
                        raise self._stalled() from None
                    raise
            elif stall is None:
                chunk = await content.readany()
            else:
                left = self._last_event + stall - time.monotonic()
                try:
                    if left <= 0:
                        raise asyncio.TimeoutError
                    async with _deadline(left):
                        chunk = await content.readany()
                except asyncio.TimeoutError:
                    raise self._stalled() from None
            if not chunk:
                break
            if process(chunk):
                return
        self._ended_without_goodbye()

    async def _read_tapped(self, tap: "_Tap", watch: "_StallWatch | None") -> None:
        """The lean reader: the body goes through SSE framing and ``on_data`` inside the
        transport's ``data_received`` (see :class:`_Tap`); this task only waits for the end:
        a goodbye, a :class:`_Reconnect` or bug from processing, aiohttp's own end of the body
        (EOF, a cut, a framing error, its idle timeout) or the stall watch."""
        tap.drain()  # what aiohttp had buffered with the head
        if not tap.ended:
            try:
                await tap.content.wait_eof()
            except _TapEnded:
                pass
            except asyncio.CancelledError:
                if watch is not None and watch.fired and watch.task.uncancel() == 0:
                    raise self._stalled() from None
                raise
            if not tap.ended:
                tap.drain()  # a close-delimited body's last bytes came with its EOF
        if tap.ended:
            # Taken out of the tap before raising: the error's traceback holds drain()'s frame,
            # which holds the tap; left in tap.outcome, that cycle would keep the parser's buffer
            # (up to max_line_bytes) alive until the cyclic GC ran, per dropped connection.
            outcome, tap.outcome = tap.outcome, None
            if outcome is not None:
                raise outcome
            return  # the goodbye
        exc = tap.content.exception()
        if exc is not None and not isinstance(exc, _TapEnded):
            raise exc
        self._ended_without_goodbye()

    def _ended_without_goodbye(self) -> None:
        # EOF without a goodbye: the server went away (a partial event in the parser is dropped)
        self.owner.counters.connection_errors += 1
        raise _Reconnect(None, StreamError(f"{self.what}: stream ended without a goodbye"), server=True)


#: Read SSE bodies through :class:`_Tap` when the connection allows it; False (the default):
#: aiohttp's ``readany()`` loop. ``STELLAR_OB_SSE_READER=lean`` turns the tap on. Opt-in for now:
#: it saves ~3% of the client's instructions per event (bench_sync under callgrind), but the chaos
#: run's client RSS grew 58-78 MiB with it against 10 MiB with readany() (bound 150; one loaded
#: run reached 164), not yet explained. test_sync_reader runs both readers.
_LEAN_READ = os.environ.get("STELLAR_OB_SSE_READER", "aiohttp") == "lean"


class _TapEnded(Exception):
    """Internal: set on the response's StreamReader by :class:`_Tap` to wake the waiting task."""


class _Tap(_Forwarding, asyncio.Protocol):
    """The lean SSE reader: put in front of aiohttp's protocol on the stream's transport, it
    hands every chunk to aiohttp first (HTTP framing, chunked decoding, its limits and timeouts
    stay aiohttp's), then takes what aiohttp buffered straight through ``process`` (SSE framing,
    the scanner, callbacks) in the same ``data_received``. No future is resolved and no task is
    woken per event: the reading task sleeps in ``wait_eof()`` until the connection ends.
    Anything ``process`` raises (:class:`_Reconnect`, or a bug) is kept in :attr:`outcome` and
    wakes the task, which raises it; nothing is processed after it."""

    def __init__(self, transport: Any, inner: Any, content: Any, process: Callable[[bytes], bool]) -> None:
        self.transport = transport
        self.inner = inner
        self.content = content
        self.process = process
        self.ended = False
        self.outcome: Exception | None = None
        self.front: _BufferedReads | None = None  # the client's buffered reads, when the tap sits behind them

    @classmethod
    def install(cls, resp: aiohttp.ClientResponse, process: Callable[[bytes], bool]) -> "_Tap | None":
        """A tap on ``resp``'s connection, or None where aiohttp's internals are not the ones it
        knows (the caller then reads with ``readany()``)."""
        conn = resp.connection
        content = resp.content
        if conn is None or not isinstance(content, aiohttp.StreamReader) or type(content) is not aiohttp.StreamReader:
            return None
        transport = conn.transport
        inner = conn.protocol
        if transport is None or inner is None or not hasattr(transport, "set_protocol") or content.exception() is not None:
            return None
        front = transport.get_protocol()
        if isinstance(front, _BufferedReads) and front.inner is inner:  # reads into the client's buffer: after them
            tap = cls(transport, inner, content, process)
            tap.front = front
            front.inner = tap
            return tap
        if front is not inner:
            return None
        tap = cls(transport, inner, content, process)
        transport.set_protocol(tap)
        return tap

    def remove(self) -> None:
        self.ended = True
        self.outcome = None  # (see _read_tapped)
        front = self.front
        if front is not None:
            if front.inner is self:
                front.inner = self.inner
        elif self.transport.get_protocol() is self:
            self.transport.set_protocol(self.inner)

    def drain(self) -> None:
        content = self.content
        try:
            while not self.ended and content.exception() is None:
                chunk = content.read_nowait()
                if not chunk:
                    return
                if self.process(chunk):
                    self._end(None)
        except Exception as e:  # noqa: BLE001 - _Reconnect, or a bug: raised in the reading task
            self._end(e)

    def _end(self, outcome: Exception | None) -> None:
        self.ended = True
        self.outcome = outcome
        if self.content.exception() is None:
            self.content.set_exception(_TapEnded())

    # the protocol: aiohttp's first, then the drain
    def data_received(self, data: bytes) -> None:
        self.inner.data_received(data)
        if not self.ended:
            self.drain()
