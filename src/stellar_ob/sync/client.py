""":class:`Horizon`: one HTTP session, connection pool and rate budget for any number of live markets.

Part of the :mod:`stellar_ob.sync` package, which re-exports the public names."""

from __future__ import annotations

import asyncio
import logging
import time
from typing import Any, Callable, Mapping

import aiohttp

from stellar_ob.errors import (
    HorizonError,
    ParseError,
    RateLimitedError,
    StreamError,
)

from stellar_ob.sync.http import ArgumentError, DEFAULT_HORIZON, LimitExceededError, _MiB, _USER_AGENT, _check_callback, _check_int, _check_optional_seconds, _check_seconds, _deadline, _describe, _is_redirect, _problem_error, _read_capped, _redirect_error, _uint
from stellar_ob.sync.budget import Backoff, RateBudget
from stellar_ob.sync.health import ServerHealth
from stellar_ob.sync._reads import _BufferedReads, _Connector, read_buffer
from stellar_ob.sync.stream import Snapshot, Status, _Live
from stellar_ob.sync.l2 import BookUpdate, LiveBook
from stellar_ob.sync.l3 import Drift, LiveOfferBook, OfferBookUpdate
from stellar_ob.sync.trades import LiveTrades, TradesUpdate

log = logging.getLogger("stellar_ob.sync")


class Horizon:
    """One HTTP session, connection pool and rate budget for any number of live markets.

    >>> async def main():                                        # doctest: +SKIP
    ...     async with Horizon() as horizon:                     # the public Horizon
    ...         live = await horizon.watch("XLM", "USDC:GA5ZSEJYB37JRC5AVCIA5MOP4RHTM335X2KGX3IHOJAPP5RE34K4KZVN")
    ...         print(live.best_bid(), live.best_ask())

    ``session``: an ``aiohttp.ClientSession`` of the caller's (closed by the caller; by default the
    client makes its own). Every stream holds a connection of its pool, so give it
    ``aiohttp.TCPConnector(limit=0, limit_per_host=0)``: with aiohttp's default pool of 100, the
    streams past 100 wait for a free connection (a warning says so once).

    Timing: ``idle_timeout`` (60 s): seconds without a byte before a stream counts as dead (Horizon
    closes every stream after 55 s, so 60 s of silence means a half-open connection).
    ``connect_timeout`` (10 s): TCP connect. ``request_timeout`` (30 s): the total of one REST
    request (connect, answer and whole body) and the time a stream's answer may take to start.
    ``stall_timeout`` (None = off): seconds a stream may go without an *event* (comments and
    stray bytes do not count) before it is treated as stalled and reconnected; off by default
    because a quiet book is normal (Horizon sends nothing while a book is unchanged, and closes
    after 55 s), 60 or more is safe against a real Horizon. ``repage_timeout`` (120 s): one L3
    re-page, every page and retry included.

    Backoff and rate: ``backoff_base`` / ``backoff_cap`` (0.1 / 30 s): jittered exponential
    backoff after errors. ``honor_server_retry``: wait at least the ``retry:`` Horizon sent (1 s)
    before reconnecting after an error. ``min_reconnect_interval`` (1 s): connection starts of one
    stream are never closer than this (an L2 market has one stream, an L3 market two), whatever
    the server does: a server closing every stream at once after its hello costs at most one
    request a second per stream. ``min_request_interval`` (0 = off): spaces out every request
    start of this client. ``max_retry_wait`` (300 s): the longest a 429's ``Retry-After`` /
    ``X-RateLimit-Reset`` is obeyed (a far-future date or 10**12 s would stop every market for good).

    Server outages (``health_probe``, on by default; ``stellar_ob.sync.health``): when a stream
    fails at the server's level (no answer, a cut, a 5xx), one shared probe of Horizon's root
    decides whether the server is down. While it is, books show ``Status.SERVER_DOWN`` and make no
    request; the probe asks ``probe_interval`` s apart (0.6 s), growing by half to ``probe_cap``
    (1 s: under 2 requests a second at first, one a second after); when it succeeds the books
    reconnect at most ``recovery_rate`` a second (1,000). A
    failure of one market while the server answers keeps that market's own backoff, but a market
    backing off when the probe finds the server down joins the outage, and one backing off when an
    outage ends reconnects in its recovery slot (no backoff grown while the server was away
    outlives the outage). A market's REST requests (L3 re-pages) wait for the probe too.

    Caps (memory): ``max_line_bytes`` (4 MiB) and ``max_event_bytes`` (8 MiB) for one SSE line
    and one event's data (Horizon's largest, a 200+200-level book, is ~30 KB); ``max_body_bytes``
    (32 MiB) for a REST body; ``max_offer_pages`` (1,000) /offers pages per direction in one
    re-page (once a market is known, twice its last count + 16). Past a cap the connection or
    re-page is dropped, counted (``Counters.limits_exceeded``, metrics), surfaced (``last_error``,
    ``on_error``) and retried after backoff; the book keeps its last good state.

    Redirects are never followed: a 3xx is a :class:`HorizonError` naming the Location (it fails a
    market that has not loaded yet; a loaded one retries after backoff). ``metrics``: a
    :class:`stellar_ob.metrics.SyncMetrics` (``True`` makes one). Bad options raise
    :class:`ArgumentError`.
    """

    def __init__(
        self,
        url: str = DEFAULT_HORIZON,
        *,
        session: aiohttp.ClientSession | None = None,
        idle_timeout: float = 60.0,
        connect_timeout: float = 10.0,
        request_timeout: float = 30.0,
        stall_timeout: float | None = None,
        repage_timeout: float = 120.0,
        backoff_base: float = 0.1,
        backoff_cap: float = 30.0,
        honor_server_retry: bool = True,
        min_reconnect_interval: float = 1.0,
        min_request_interval: float = 0.0,
        max_retry_wait: float = 300.0,
        max_line_bytes: int = 4 * _MiB,
        max_event_bytes: int = 8 * _MiB,
        max_body_bytes: int = 32 * _MiB,
        max_offer_pages: int = 1000,
        metrics: Any = None,
        user_agent: str = _USER_AGENT,
        health_probe: bool = True,
        probe_interval: float = 0.6,
        probe_cap: float = 1.0,
        recovery_rate: float = 1000.0,
    ) -> None:
        if not isinstance(url, str) or not url.startswith(("http://", "https://")):
            raise ArgumentError(f"url must be an http:// or https:// URL, got {url!r}")
        self.url = url.rstrip("/")
        self._session = session
        self._own_session = session is None
        self.idle_timeout = _check_seconds("idle_timeout", idle_timeout, positive=True)
        self.connect_timeout = _check_seconds("connect_timeout", connect_timeout, positive=True)
        self.request_timeout = _check_seconds("request_timeout", request_timeout, positive=True)
        self.stall_timeout = _check_optional_seconds("stall_timeout", stall_timeout, positive=True)
        self.repage_timeout = _check_seconds("repage_timeout", repage_timeout, positive=True)
        self.backoff_base = _check_seconds("backoff_base", backoff_base)
        self.backoff_cap = _check_seconds("backoff_cap", backoff_cap)
        self.honor_server_retry = bool(honor_server_retry)
        self.min_reconnect_interval = _check_seconds("min_reconnect_interval", min_reconnect_interval)
        self.max_retry_wait = _check_seconds("max_retry_wait", max_retry_wait)
        self.max_line_bytes = _check_int("max_line_bytes", max_line_bytes, 1024, 2**40)
        self.max_event_bytes = _check_int("max_event_bytes", max_event_bytes, 1024, 2**40)
        self.max_body_bytes = _check_int("max_body_bytes", max_body_bytes, 1024, 2**40)
        self.max_offer_pages = _check_int("max_offer_pages", max_offer_pages, 1, 2**31)
        self.budget = RateBudget(_check_seconds("min_request_interval", min_request_interval), self.max_retry_wait)
        self.user_agent = user_agent
        probe_interval = _check_seconds("probe_interval", probe_interval, positive=True)
        probe_cap = _check_seconds("probe_cap", probe_cap, positive=True)
        recovery_rate = _check_seconds("recovery_rate", recovery_rate, positive=True)
        #: the shared health probe (:class:`~stellar_ob.sync.health.ServerHealth`), None if ``health_probe=False``
        self.health: ServerHealth | None = (ServerHealth(self, probe_interval, probe_cap, recovery_rate)
                                            if health_probe else None)
        if metrics is True:
            from stellar_ob.metrics import SyncMetrics

            metrics = SyncMetrics()
        self.metrics = metrics
        self.books: list[LiveBook] = []
        self.offer_books: list[LiveOfferBook] = []
        self.trade_streams: list[LiveTrades] = []
        self._stream_timeout = aiohttp.ClientTimeout(
            total=None, connect=connect_timeout, sock_connect=connect_timeout, sock_read=idle_timeout
        )
        self._rest_timeout = aiohttp.ClientTimeout(total=request_timeout, connect=connect_timeout,
                                                   sock_connect=connect_timeout)
        self._closed = False
        self._read_view: memoryview | None = None  # the buffer every socket read of this client lands in (_reads)
        self._pool_warned = False  # a caller's session whose connection pool is smaller than the streams

    def _front_reads(self, resp: aiohttp.ClientResponse) -> None:
        """Read the rest of ``resp``'s connection into this client's buffer (see sync/_reads.py:
        what keeps RSS flat after a server closed every connection)."""
        _BufferedReads.install(resp.connection, self._reads_view())

    def _reads_view(self) -> memoryview:
        view = self._read_view
        if view is None:
            view = self._read_view = read_buffer()
        return view

    async def __aenter__(self) -> "Horizon":
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    def _session_or_raise(self) -> aiohttp.ClientSession:
        if self._closed:
            raise HorizonError("this Horizon client is closed")
        if self._session is None:
            # limit=0: every market holds one streaming connection; aiohttp's default pool is 100
            # (_Connector: every read of the session lands in one reused buffer, see sync/_reads.py)
            connector = _Connector(limit=0, limit_per_host=0, ttl_dns_cache=300, read_view=self._reads_view())
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
        levels a side, 1..200 (Horizon's maximum); a bad ``depth``, ``load_timeout`` or callback
        raises :class:`ArgumentError`. Raises :class:`HorizonError` if Horizon rejects the request,
        or if the book cannot be loaded within ``load_timeout`` s (the last error says why: no
        route, rate limited, ...).
        """
        depth = _check_int("depth", depth, 1, 200, " (Horizon's /order_book maximum)")
        load_timeout = _check_optional_seconds("load_timeout", load_timeout, positive=True)
        _check_callback("on_update", on_update)
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
        drift_grace: float = 2.0,
    ) -> LiveOfferBook:
        """Start a per-offer (L3) book of a market and return its :class:`LiveOfferBook` once loaded.

        It pages /offers in both directions (``page_limit`` a page, Horizon's maximum 200), applies
        the /trades fills in between and re-pages on every new ledger of the /ledgers stream (at
        most every ``min_repage_interval`` s: each re-page costs two or more /offers pages and a
        /liquidity_pools read against Horizon's rate limit). ``stream_limit``: events per stream
        connection (Horizon closes a page stream after ``limit``, at most 200). Assets and errors
        as for :meth:`watch` (bad arguments raise :class:`ArgumentError`). ``drift_grace`` (2 s): the
        longest a re-page's differences wait for late /trades events before what they do not explain
        is reported as drift (see :meth:`LiveOfferBook.on_drift`).
        """
        page_limit = _check_int("page_limit", page_limit, 1, 200, " (Horizon's /offers maximum)")
        stream_limit = _check_int("stream_limit", stream_limit, 1, 200, " (Horizon's maximum)")
        min_repage_interval = _check_seconds("min_repage_interval", min_repage_interval)
        drift_grace = _check_seconds("drift_grace", drift_grace, positive=True)
        load_timeout = _check_optional_seconds("load_timeout", load_timeout, positive=True)
        _check_callback("on_update", on_update)
        _check_callback("on_drift", on_drift)
        self._session_or_raise()
        live = LiveOfferBook(self, base, counter, page_limit=page_limit, stream_limit=stream_limit,
                             min_repage_interval=min_repage_interval, drift_grace=drift_grace)
        if on_update is not None:
            live.on_update(on_update)
        if on_drift is not None:
            live.on_drift(on_drift)
        self.offer_books.append(live)
        return await self._load(live, load_timeout)

    async def watch_trades(
        self,
        base: Any,
        counter: Any,
        *,
        on_update: Callable[[TradesUpdate], Any] | None = None,
        load_timeout: float | None = 30.0,
        stream_limit: int = 200,
        history: int = 1000,
    ) -> LiveTrades:
        """Follow a market's trades live (Horizon's /trades stream from ``cursor=now``, resumed from
        the last paging token after any reconnect) and return its :class:`LiveTrades` once the stream
        is open. Each trade is a :class:`stellar_ob.horizon.Trade` read by the strict parser;
        ``on_update(TradesUpdate)`` gets every one, ``live.updates()`` coalesces for slow consumers;
        ``history``: trades kept in ``live.recent``. Assets and errors as for :meth:`watch`."""
        stream_limit = _check_int("stream_limit", stream_limit, 1, 200, " (Horizon's maximum)")
        history = _check_int("history", history, 1, 10_000_000)
        load_timeout = _check_optional_seconds("load_timeout", load_timeout, positive=True)
        _check_callback("on_update", on_update)
        self._session_or_raise()
        live = LiveTrades(self, base, counter, stream_limit=stream_limit, history=history)
        if on_update is not None:
            live.on_update(on_update)
        self.trade_streams.append(live)
        return await self._load(live, load_timeout)

    def _check_pool(self) -> None:
        """Warn once when a caller's session cannot hold every stream: each LiveBook and LiveTrades
        holds one connection, each LiveOfferBook two, and aiohttp's default pool is 100 (per host:
        unlimited). The streams past the pool wait for a free connection (a goodbye), and so do
        every REST request and the health probe: loads and reconnects after an outage take seconds
        per market instead of milliseconds."""
        if self._own_session or self._pool_warned or self._session is None:
            return
        connector = self._session.connector
        limits = [x for x in (getattr(connector, "limit", 0), getattr(connector, "limit_per_host", 0))
                  if isinstance(x, int) and x > 0]
        streams = len(self.books) + 2 * len(self.offer_books) + len(self.trade_streams)
        if limits and streams > min(limits):
            self._pool_warned = True
            log.warning("the session given to Horizon(%s) holds at most %d connections, and %d streams are "
                        "watched: the streams past the pool wait for a free connection, and so do REST requests "
                        "and the health probe; give the session aiohttp.TCPConnector(limit=0, limit_per_host=0) "
                        "(as Horizon's own session has)", self.url, min(limits), streams)

    async def _load(self, live: Any, load_timeout: float | None) -> Any:
        self._check_pool()
        if self.metrics is not None:
            self.metrics.watch(live)
        live._start()
        try:
            async with _deadline(load_timeout):
                await live._loaded.wait()
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
            if err is None:  # a failed book always keeps its error; never None in practice
                err = StreamError(f"{live.name}: failed")
            raise err
        return live

    async def unwatch(self, live: "LiveBook | LiveOfferBook") -> None:
        """Stop syncing one market (same as ``await live.close()``)."""
        await live.close()

    def _forget(self, live: Any) -> None:
        for lst in (self.books, self.offer_books, self.trade_streams):
            if live in lst:
                lst.remove(live)
        if self.metrics is not None:
            self.metrics.unwatch(live)

    async def close(self) -> None:
        """Stop every market and close the HTTP session (idempotent)."""
        books = list(self.books) + list(self.offer_books) + list(self.trade_streams)
        await asyncio.gather(*(b.close() for b in books), return_exceptions=True)
        if self.health is not None:
            await self.health.close()
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
        5xx / connection errors / timeouts / oversized bodies ``retries`` times with backoff
        (``on_error(error)`` hears of each failed attempt); each attempt has ``request_timeout`` s
        and ``max_body_bytes``. Raises :class:`HorizonError` (at once for a 4xx or a redirect)."""
        return await self._get(path, params, retries=retries, on_error=on_error)

    async def _get(
        self,
        path: str,
        params: Mapping[str, str] | None = None,
        *,
        retries: int = 5,
        on_error: Callable[[HorizonError], Any] | None = None,
        owner: _Live | None = None,
    ) -> tuple[bytes, Mapping[str, str]]:
        """get_json, counting what goes wrong on ``owner``'s counters (and showing its rate-limit waits)."""
        session = self._session_or_raise()
        backoff = Backoff(self.backoff_base, self.backoff_cap)
        url = path if path.startswith("http") else self.url + path
        c = owner.counters if owner is not None else None
        # a market's requests (owner given) take part in the health probe: no request while the
        # server is down, and a failure at the server's level asks the probe rather than retrying
        health = self.health if owner is not None else None
        last: HorizonError | None = None
        attempts = 0
        while attempts <= retries:
            attempts += 1
            await self.budget.acquire(owner)
            if health is not None and health.down:
                await health.wait_up(owner)
            server_level = False
            try:
                async with _deadline(self.request_timeout):
                    return await self._get_once(session, url, params, owner)
            except RateLimitedError as e:
                last = e
                if c is not None:
                    c.rate_limited += 1
                if on_error is not None:
                    on_error(e)
                continue  # budget.acquire() waits the block out
            except LimitExceededError as e:
                last = e
                if c is not None:
                    c.limits_exceeded += 1
                if self.metrics is not None and owner is not None:
                    self.metrics.limit(owner, e.limit)
            except HorizonError as e:
                if c is not None:
                    c.http_errors += 1
                    if e.status is not None and _is_redirect(e.status):
                        c.redirects += 1
                if e.status is not None and (e.status < 500 and e.status not in (408, 499)):
                    raise  # 3xx, 4xx: asking again gets the same answer
                last = e
                server_level = e.status is not None and e.status >= 500
            except asyncio.TimeoutError:
                if c is not None:
                    c.timeouts += 1
                last = HorizonError(f"{url}: no complete answer within request_timeout={self.request_timeout:g} s")
                server_level = True
            except (aiohttp.ClientError, ConnectionError, OSError) as e:
                if c is not None:
                    c.connection_errors += 1
                last = HorizonError(f"cannot reach Horizon at {self.url}: {_describe(e)}")
                server_level = True
            if on_error is not None:
                on_error(last)
            if server_level and health is not None and owner is not None and await health.server_failed(owner):
                backoff.reset()  # the server was down and is back: ask again now (not an attempt of ours)
                attempts -= 1
                continue
            if owner is not None and health is not None:
                if await health.backoff(owner, backoff.next()):
                    backoff.reset()
            else:
                await asyncio.sleep(backoff.next())
        if last is None:  # the loop ran at least once: never None in practice
            raise HorizonError("no request was made")
        raise last

    async def _get_once(self, session: aiohttp.ClientSession, url: str, params: Mapping[str, str] | None,
                        owner: _Live | None) -> tuple[bytes, Mapping[str, str]]:
        async with session.get(url, params=params, timeout=self._rest_timeout, allow_redirects=False,
                               headers={"Accept": "application/hal+json"}) as resp:
            self._front_reads(resp)
            bad = self.budget.observe(resp.headers)
            if bad and owner is not None:
                owner.counters.bad_headers += len(bad)
                owner._surface(ParseError(f"{url}: ignored unreadable headers: {', '.join(bad)}"))
            if resp.status == 200:
                return await _read_capped(resp, self.max_body_bytes, url), resp.headers
            if _is_redirect(resp.status):
                raise _redirect_error(resp, url)
            err = await _problem_error(resp, url)
            if resp.status == 429:
                wait = self.budget.retry_after(resp.headers)
                self.budget.block(wait)
                if isinstance(err, RateLimitedError):  # always, for a 429 (_problem_error)
                    err.retry_after = wait
            raise err

    async def snapshot(self, base: Any, counter: Any, depth: int = 200) -> Snapshot:
        """One REST /order_book read: an OrderBook and the Latest-Ledger it is from."""
        from stellar_ob import Asset, OrderBook

        depth = _check_int("depth", depth, 1, 200, " (Horizon's /order_book maximum)")
        b, c = Asset.parse(base), Asset.parse(counter)
        params = {**b.horizon_params("selling"), **c.horizon_params("buying"), "limit": str(depth)}
        body, headers = await self.get_json("/order_book", params)
        book = OrderBook(b, c)
        book.apply_horizon(body)
        return Snapshot(book, _uint(headers.get("Latest-Ledger"), 2**32 - 1), time.time())
