"""A hostile or broken Horizon (or a proxy in front of one) against the sync layer (issue 10).

Each test switches one hostile behaviour of the local Horizon on (``stellar_ob.testing.Faults``),
checks what the client does with it (bounded memory and waits, counted and surfaced, never a
FAILED book), switches it off, and then checks that the book equals the server's again, the way
test_sync_e2e.py and test_sync_l3.py do: the market is frozen and the book gets a generous
deadline. No correctness check depends on timing; where a test bounds a rate or a wait, it counts
requests server-side and allows generous slack.
"""

from __future__ import annotations

import asyncio
import time

import pytest

from stellar_ob import OrderBook
from stellar_ob.errors import (
    AmountOverflowError,
    CrossedBookError,
    HorizonError,
    ParseError,
    StellarOBError,
    StreamError,
)
from stellar_ob.sse import MAX_RETRY_MS
from stellar_ob.sync import (
    ArgumentError,
    CallbackError,
    Horizon,
    LimitExceededError,
    LiveBook,
    LiveOfferBook,
    Status,
)
from stellar_ob.testing import LocalHorizon, SimulatedMarket

pytestmark = pytest.mark.network

TIMEOUT = 30.0
KINDS = ["l2", "l3"]


@pytest.fixture
async def server():
    market = SimulatedMarket(2, seed=11, levels=8, taker_probability=0.7)
    async with LocalHorizon(market, ledger_interval=0.02) as s:
        yield s


def client(server: LocalHorizon, **kw) -> Horizon:
    kw.setdefault("backoff_base", 0.01)
    kw.setdefault("backoff_cap", 0.2)
    kw.setdefault("honor_server_retry", False)
    kw.setdefault("min_reconnect_interval", 0.05)
    return Horizon(server.url, **kw)


async def start(h: Horizon, server: LocalHorizon, kind: str, **kw):
    base, counter = server.market_assets()[0]
    if kind == "l2":
        return await h.watch(base, counter, depth=20, **kw)
    kw.setdefault("page_limit", 4)
    return await h.watch_offers(base, counter, stream_limit=20, **kw)


def l3_offers(book) -> dict[int, tuple]:
    return {o.offer_id: (o.side, o.n, o.d, o.amount) for side in ("bid", "ask") for o in book.offers(side)}


def same_as_server(server: LocalHorizon, live) -> bool:
    if isinstance(live, LiveBook):
        return live.book == OrderBook.from_horizon(server.order_book_body(live.base, live.counter, live.depth))
    pair = server.market.pair(live.base, live.counter)
    return (live.ledger == server.market.ledger and live.pool is not None
            and l3_offers(live.book) == {o.offer_id: (o.side, o.n, o.d, o.amount) for o in pair.offers.values()}
            and (live.pool.reserve_a, live.pool.reserve_b) == tuple(pair.pool_reserves))


async def converge(server: LocalHorizon, live, *, ledgers: int = 3) -> None:
    """The server behaves: let ``ledgers`` close, freeze the market, wait until live == server."""
    server.faults.clear()
    server.resume()
    target = server.market.ledger + ledgers
    while server.market.ledger < target:
        await asyncio.sleep(0.01)
    server.pause()
    await live.wait_for(lambda _b: same_as_server(server, live), timeout=TIMEOUT)
    live.book._check() if isinstance(live, LiveOfferBook) else live.check()
    assert live.status not in (Status.FAILED, Status.CLOSED)


def stream_starts(server: LocalHorizon, path: str, t0: float, t1: float) -> list[float]:
    return sorted(r.at for r in server.requests if r.path == path and r.stream and t0 <= r.at <= t1)


# ---- bounded memory: lines, events, bodies, pages ------------------------------------------------------


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("fault", ["endless_line", "endless_event"])
async def test_endless_line_or_event_is_capped(server, kind, fault):
    """After the book loaded, the server writes one 64 MiB data line with no line end (or 64 MiB of
    data lines with no blank line). The client hangs up at its 1 MiB cap, counts it, surfaces it
    and reconnects with backoff; the server never gets to write the whole thing."""
    errors: list[BaseException] = []
    async with client(server, max_line_bytes=1 << 20, max_event_bytes=1 << 20) as h:
        live = await start(h, server, kind)
        live.on_error(lambda _l, e: errors.append(e))
        setattr(server.faults, fault, 64 << 20)
        await live.wait_for(lambda _b: live.counters.limits_exceeded >= 2, timeout=TIMEOUT)
        assert live.status is not Status.FAILED
        assert any(isinstance(e, StreamError) and "over 1,048,576 bytes" in str(e) for e in errors)
        await converge(server, live)
    assert server.stats.cuts == 0  # no endless write ever finished: the client always hung up first
    assert server.stats.hostile_bytes < live.counters.limits_exceeded * (24 << 20)  # cap + socket buffers


@pytest.mark.parametrize("kind", KINDS)
async def test_oversized_rest_body_is_capped(server, kind):
    async with client(server, max_body_bytes=256 << 10) as h:
        live = await start(h, server, kind)
        base, counter = live.base, live.counter
        server.faults.rest_padding = 4 << 20
        with pytest.raises(LimitExceededError) as ei:
            await h.snapshot(base, counter, depth=20)
        assert ei.value.limit == "max_body_bytes"
        if kind == "l3":  # every re-page reads REST pages
            await live.wait_for(lambda _b: live.counters.limits_exceeded >= 2, timeout=TIMEOUT)
            assert isinstance(live.last_error, LimitExceededError) and live.status is not Status.FAILED
        await converge(server, live)


async def test_offers_ignoring_the_cursor_is_an_error_not_a_loop(server):
    """/offers answers the first page whatever the cursor: the second page does not advance past
    the cursor, so each re-page stops after two pages, and the book is kept."""
    async with client(server) as h:
        live = await start(h, server, "l3", page_limit=2)  # 8 offers a side: several pages
        c = live.counters
        pages0, errors0 = c.pages, c.repage_errors
        server.faults.offers_ignore_cursor = True
        await live.wait_for(lambda _b: c.repage_errors >= errors0 + 3, timeout=TIMEOUT)
        assert isinstance(live.last_error, ParseError) and "does not advance" in str(live.last_error)
        failed = c.repage_errors - errors0
        assert c.pages - pages0 <= 2 * failed + 2  # + a re-page in flight
        assert live.status is not Status.FAILED
        await converge(server, live)


async def test_offers_that_never_end_are_capped(server):
    """/offers invents a full page after any cursor, forever: a re-page stops at the page cap
    learnt from the market (twice its pages + 16), then at ``max_offer_pages``."""
    async with client(server, max_offer_pages=30) as h:
        live = await start(h, server, "l3")
        c = live.counters
        pages0, limits0 = c.pages, c.limits_exceeded
        offers = l3_offers(live.book)
        server.pause()
        server.faults.offers_endless = True
        live.request_repage()
        await live.wait_for(lambda _b: c.limits_exceeded >= limits0 + 2, timeout=TIMEOUT)
        err = live.last_error
        assert isinstance(err, LimitExceededError) and err.limit == "max_offer_pages"
        hits = c.limits_exceeded - limits0
        assert c.pages - pages0 <= 30 * hits + 30
        assert set(l3_offers(live.book)) <= set(offers)  # no made-up offer reached the book (fills may apply)
        await converge(server, live)


# ---- values that used to fail a book for good ---------------------------------------------------------


@pytest.mark.parametrize("kind", KINDS)
async def test_retry_field_of_5000_digits(server, kind):
    """``retry:`` with 5,000 digits (past int()'s digit limit) is read as the largest retry kept,
    and the wait it asks for is capped by backoff_cap like any server retry."""
    server.faults.retry_digits = 5000
    async with client(server, honor_server_retry=True, backoff_cap=0.2) as h:
        live = await start(h, server, kind)
        assert live.status is Status.LIVE and live.server_retry_ms == MAX_RETRY_MS
        server.faults.error_after = 1
        await live.wait_for(lambda _b: live.counters.error_events >= 3, timeout=TIMEOUT)
        await converge(server, live)


@pytest.mark.parametrize("kind", KINDS)
async def test_unreadable_rate_limit_headers_are_ignored(server, kind):
    server.faults.extra_headers = {"X-RateLimit-Limit": "inf", "X-RateLimit-Remaining": "nan",
                                   "X-RateLimit-Reset": "1" * 5000}
    async with client(server) as h:
        live = await start(h, server, kind)
        assert live.counters.bad_headers >= 2  # Limit and Remaining (Reset: a huge number is readable)
        assert isinstance(live.last_error, ParseError) and "X-RateLimit-Remaining: 'nan'" in str(live.last_error)
        assert h.budget.limit is None and h.budget.remaining is None and h.budget.blocked_for() == 0
        await converge(server, live)


async def test_order_book_levels_summing_past_uint64(server):
    async with client(server) as h:
        live = await start(h, server, "l2")
        server.faults.overflow_levels = True
        await live.wait_for(lambda _b: live.counters.parse_errors >= 2, timeout=TIMEOUT)
        assert isinstance(live.last_error, AmountOverflowError) and live.status is not Status.FAILED
        live.check()
        await converge(server, live)


@pytest.mark.parametrize("path", ["/order_book", "/trades", "/ledgers", "/offers", "/liquidity_pools"])
async def test_deeply_nested_json_is_a_parse_error(server, path):
    """100,000 levels of nesting (Python's json would raise RecursionError) in a stream event or a
    REST page: ParseError from the strict parsers, counted, resynced, never a FAILED book."""
    kind = "l2" if path == "/order_book" else "l3"
    async with client(server) as h:
        live = await start(h, server, kind)
        server.faults.deep_json = frozenset({path})
        c = live.counters
        what = "repage_errors" if path in ("/offers", "/liquidity_pools") else "parse_errors"
        if what == "repage_errors":
            live.request_repage()
        await live.wait_for(lambda _b: getattr(c, what) >= 2, timeout=TIMEOUT)
        assert isinstance(live.last_error, ParseError) and "nesting deeper than 64" in str(live.last_error)
        assert live.status is not Status.FAILED
        await converge(server, live)


async def test_event_id_that_is_not_a_number(server):
    """``id: ²`` (str.isdigit() says yes, int() says no) on the page streams: the event is refused
    before it is applied, counted, and the stream resumes from the last good id."""
    async with client(server) as h:
        live = await start(h, server, "l3")
        server.faults.stream_id = "\u00b2"
        await live.wait_for(lambda _b: live.counters.parse_errors >= 3, timeout=TIMEOUT)
        assert isinstance(live.last_error, ParseError) and "event id" in str(live.last_error)
        assert live.status is not Status.FAILED
        await converge(server, live)


async def test_an_unexpected_error_restarts_the_connection_not_the_book(server):
    async with client(server) as h:
        live = await start(h, server, "l2")
        apply = live._stream.on_data
        calls = [0]

        def buggy(data: bytes, received_ns: int, first: bool) -> None:
            calls[0] += 1
            if calls[0] == 1:
                raise TypeError("a bug in the sync layer")
            apply(data, received_ns, first)

        live._stream.on_data = buggy
        await live.wait_for(lambda _b: live.counters.unexpected_errors >= 1, timeout=TIMEOUT)
        await converge(server, live)


async def test_an_escaping_error_restarts_the_task(server):
    """Something raising outside a connection (here: choosing where to resume) restarts the task
    after backoff instead of ending it."""
    async with client(server) as h:
        live = await start(h, server, "l3")
        resume = live._trades.resume
        calls = [0]

        def buggy(stream):
            calls[0] += 1
            if calls[0] == 1:
                raise KeyError("a bug")
            return resume(stream)

        live._trades.resume = buggy
        server.faults.page_byebye_after = 1
        await live.wait_for(lambda _b: live.counters.unexpected_errors >= 1, timeout=TIMEOUT)
        assert isinstance(live.last_error, KeyError)
        await converge(server, live)


# ---- waits: Retry-After, stalls, deadlines ------------------------------------------------------------


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("value", ["1000000000000", "inf", "Fri, 31 Dec 9999 23:59:59 GMT"])
async def test_retry_after_far_future_is_capped_and_shown(server, kind, value):
    async with client(server, max_retry_wait=2.0) as h:
        live = await start(h, server, kind)
        server.faults.extra_headers = {"Retry-After": value}
        server.faults.rate_limit(1.0)
        await live.wait_for(lambda _b: live.status is Status.RATE_LIMITED, timeout=TIMEOUT)
        until = live.rate_limited_until
        assert until is not None and time.time() < until <= time.time() + 2.0 + 0.5
        assert 0 < h.budget.blocked_for() <= 2.0
        assert "rate limited" == str(live.status)
        await converge(server, live)
        assert live.rate_limited_until is None


@pytest.mark.parametrize("kind", KINDS)
async def test_comment_only_stream_is_stalled(server, kind):
    """After one event the server sends nothing but ``:`` comments: bytes keep coming (the idle
    timeout never fires) but no event does; with ``stall_timeout`` the stream is reconnected."""
    async with client(server, stall_timeout=0.5) as h:
        live = await start(h, server, kind)
        server.faults.comments_only = 0.05
        await live.wait_for(lambda _b: live.counters.stalls >= 2, timeout=TIMEOUT)
        assert isinstance(live.last_error, StreamError) and "stall_timeout" in str(live.last_error)
        await converge(server, live)


async def test_a_quiet_book_is_not_stalled_by_default(server):
    async with client(server) as h:
        live = await start(h, server, "l2")
        server.pause()  # Horizon sends nothing while a book does not change
        reconnects = live.counters.reconnects
        await asyncio.sleep(1.0)
        assert live.counters.stalls == 0 and live.counters.reconnects == reconnects
        assert live.status is Status.LIVE


async def test_trickled_rest_answer_has_a_deadline(server):
    """A REST body trickled one byte every 50 ms: each try ends after request_timeout, so the
    whole call (6 tries with backoff) ends in seconds, not minutes."""
    server.faults.trickle = 0.05
    base, counter = server.market_assets()[0]
    async with client(server, request_timeout=0.3) as h:
        t0 = time.monotonic()
        with pytest.raises(HorizonError, match="request_timeout"):
            await h.snapshot(base, counter, depth=20)
        assert time.monotonic() - t0 < 6 * (0.3 + 0.2) + 7.0  # before: ~100 s a try


async def test_trickled_offers_pages_time_out_and_recover(server):
    async with client(server, request_timeout=0.3) as h:
        live = await start(h, server, "l3")
        server.faults.trickle = 0.05
        live.request_repage()
        await live.wait_for(lambda _b: live.counters.timeouts >= 2, timeout=TIMEOUT)
        assert live.status is not Status.FAILED
        await converge(server, live)


async def test_repage_deadline(server):
    """Slow but not stuck pages: each request beats request_timeout, the re-page as a whole does
    not beat repage_timeout: it is abandoned, counted and retried."""
    async with client(server, repage_timeout=0.5) as h:
        live = await start(h, server, "l3", page_limit=2)
        server.faults.slow = 0.1  # ~10 requests a re-page: ~1 s
        live.request_repage()
        await live.wait_for(lambda _b: live.counters.timeouts >= 1, timeout=TIMEOUT)
        assert "repage_timeout" in str(live.last_error)
        await converge(server, live)


async def test_stream_answer_head_has_a_deadline(server):
    async with client(server, request_timeout=0.3) as h:
        live = await start(h, server, "l2")
        server.faults.slow = 1.0
        server.faults.byebye_after = 1
        await live.wait_for(lambda _b: live.counters.timeouts >= 1, timeout=TIMEOUT)
        await converge(server, live)


# ---- the request rate: reconnect storms -------------------------------------------------------------


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("retry", [10, 0])
async def test_goodbye_without_data_backs_off(server, kind, retry):
    """Every stream says goodbye right after its hello (with ``retry: 10`` or ``retry: 0``). Before,
    the client reconnected at once, ~2,000 requests a second; now an empty goodbye means backoff,
    and no stream starts twice within min_reconnect_interval (counted server-side)."""
    interval = 0.2
    path = "/order_book" if kind == "l2" else "/trades"
    async with client(server, backoff_base=0.05, backoff_cap=0.4, min_reconnect_interval=interval) as h:
        live = await start(h, server, kind)
        server.faults.empty_byebye = True
        server.faults.goodbye_retry = retry
        t0 = time.monotonic()
        await asyncio.sleep(2.0)
        t1 = time.monotonic()
        server.faults.empty_byebye = False
        await live.wait_for(lambda _b: live.counters.empty_goodbyes >= 3, timeout=TIMEOUT)
        starts = stream_starts(server, path, t0, t1)
        assert 2 <= len(starts) <= 2.0 / interval + 2  # before: hundreds
        gaps = [b - a for a, b in zip(starts, starts[1:])]
        assert min(gaps) >= interval / 2  # the server stamps a request when it gets to it: jitter
        await converge(server, live)


async def test_immediate_reconnects_are_paced(server):
    """A goodbye after every event with ``retry: 0``: reconnecting at once is right (the stream
    delivered), but never faster than min_reconnect_interval per stream."""
    interval = 0.2
    async with client(server, min_reconnect_interval=interval) as h:
        live = await start(h, server, "l2")
        server.faults.byebye_after = 1
        server.faults.goodbye_retry = 0
        t0 = time.monotonic()
        await asyncio.sleep(2.0)
        t1 = time.monotonic()
        starts = stream_starts(server, "/order_book", t0 - 1.0, t1)
        assert live.counters.byebyes >= 5 and live.counters.empty_goodbyes == 0
        in_window = [t for t in starts if t >= t0]
        assert len(in_window) <= 2.0 / interval + 2
        gaps = [b - a for a, b in zip(starts, starts[1:])]
        assert min(gaps) >= interval / 2
        await converge(server, live)


async def test_a_quiet_page_stream_timing_out_is_not_a_storm(server, monkeypatch):
    """Horizon closes a page stream after its connection timeout even when nothing happened (no
    trade in 55 s): an empty goodbye from a connection that lived that long is normal, and
    reconnects at once without growing the backoff."""
    from stellar_ob import sync

    monkeypatch.setattr(sync.stream, "_QUIET_CLOSE", 0.3)
    server.faults.connection_timeout = 0.5
    async with client(server, backoff_base=1.0, backoff_cap=5.0) as h:
        live = await start(h, server, "l3")
        server.pause()  # nothing happens: no trade, no ledger
        byebyes = live.counters.byebyes
        await live.wait_for(lambda _b: live.counters.byebyes >= byebyes + 6, timeout=TIMEOUT)
        assert live.counters.empty_goodbyes == 0
        assert live._trades.backoff.attempt == 0 and live._ledgers.backoff.attempt == 0
        await converge(server, live)


# ---- redirects -----------------------------------------------------------------------------------


@pytest.mark.parametrize("kind", KINDS)
async def test_redirects_are_not_followed(server, kind):
    """A 302 to another Horizon (a valid one, with other books): loading fails at once with the
    Location in the error; a loaded book counts it and retries; the other server sees nothing."""
    async with LocalHorizon(markets=2, seed=99, ledger_interval=None) as decoy:
        async with client(server) as h:
            server.faults.redirect = decoy.url
            with pytest.raises(HorizonError) as ei:
                await start(h, server, kind)
            assert ei.value.status == 302 and decoy.url in str(ei.value) and "no redirects" in str(ei.value)
            server.faults.clear()
            live = await start(h, server, kind)
            server.faults.redirect = decoy.url
            server.faults.byebye_after = server.faults.page_byebye_after = 1
            await live.wait_for(lambda _b: live.counters.redirects >= 2, timeout=TIMEOUT)
            assert live.status is not Status.FAILED
            await converge(server, live)
        assert decoy.requests == []


# ---- callbacks ------------------------------------------------------------------------------------


@pytest.mark.parametrize("exc", [asyncio.CancelledError, KeyboardInterrupt, SystemExit, GeneratorExit, RuntimeError])
async def test_a_raising_callback_never_stops_the_sync(server, exc):
    reported: list[BaseException] = []
    async with client(server) as h:
        live = await start(h, server, "l2")

        def bad_update(_u) -> None:
            raise exc("from on_update")

        def bad_error(_l, _e) -> None:
            raise exc("from on_error")

        live.on_update(bad_update)
        live.on_error(lambda _l, e: reported.append(e))
        live.on_error(bad_error)
        start_updates = live.counters.updates
        await live.wait_for(lambda _b: live.counters.updates >= start_updates + 3, timeout=TIMEOUT)
        await converge(server, live)
        assert live.counters.callback_errors >= 6  # each update: on_update, then on_error about it
        assert any(isinstance(e, CallbackError) and isinstance(e.__cause__, exc) for e in reported)
        assert live.status is Status.LIVE


async def test_raising_l3_callbacks_never_stop_the_sync(server):
    reported: list[BaseException] = []
    async with client(server) as h:
        live = await start(h, server, "l3")

        def cancel(*_a) -> None:
            raise asyncio.CancelledError()

        live.on_update(cancel)
        live.on_drift(cancel)
        live.on_error(lambda _l, e: reported.append(e))
        c = live.counters
        repages = c.repages
        await live.wait_for(lambda _b: c.repages >= repages + 3 and c.drift_added + c.drift_removed > 0,
                            timeout=TIMEOUT)
        await converge(server, live)
        assert c.callback_errors >= 2 and any(isinstance(e, CallbackError) for e in reported)


async def test_an_async_callback_is_reported_not_left_unawaited(server):
    reported: list[BaseException] = []
    async with client(server) as h:
        live = await start(h, server, "l2")

        async def consumer(_u) -> None:  # pragma: no cover - never awaited, by design
            pass

        live.on_update(consumer)
        live.on_error(lambda _l, e: reported.append(e))
        await live.wait_for(lambda _b: live.counters.callback_errors >= 2, timeout=TIMEOUT)
        assert any(isinstance(e, CallbackError) and "awaitable" in str(e) for e in reported)
        await converge(server, live)


# ---- crossed books -----------------------------------------------------------------------------------


async def test_strictly_crossed_document_is_reported_and_sync_goes_on(server):
    errors: list[BaseException] = []
    server.faults.byebye_after = 10_000  # one connection for the whole test
    async with client(server) as h:
        live = await start(h, server, "l2")
        live.on_error(lambda _l, e: errors.append(e))
        reconnects = live.counters.reconnects
        server.faults.crossed = True
        await live.wait_for(lambda _b: live.counters.crossed >= 3, timeout=TIMEOUT)
        assert isinstance(live.last_error, CrossedBookError) and any(isinstance(e, CrossedBookError) for e in errors)
        assert live.status is Status.LIVE and live.counters.parse_errors == 0
        assert live.counters.reconnects == reconnects  # the stream is fine: the connection is kept
        live.check()  # the book kept its last state, which is not crossed
        server.faults.crossed = False
        await converge(server, live)


async def test_watch_waits_out_a_crossed_book(server):
    server.faults.crossed = True
    asyncio.get_running_loop().call_later(0.5, setattr, server.faults, "crossed", False)
    async with client(server) as h:
        live = await start(h, server, "l2")
        assert live.counters.crossed >= 1 and isinstance(live.last_error, CrossedBookError)
        await converge(server, live)


# ---- arguments -------------------------------------------------------------------------------------


@pytest.mark.parametrize("kw", [
    {"depth": 0}, {"depth": 201}, {"depth": "5"}, {"depth": 5.0}, {"depth": True}, {"depth": None},
    {"load_timeout": -1}, {"load_timeout": float("nan")}, {"load_timeout": float("inf")}, {"load_timeout": "1"},
    {"on_update": 5},
])
async def test_bad_watch_arguments(server, kw):
    base, counter = server.market_assets()[0]
    async with client(server) as h:
        with pytest.raises(ArgumentError) as ei:
            await h.watch(base, counter, **kw)
        assert isinstance(ei.value, StellarOBError) and isinstance(ei.value, ValueError)
        assert h.books == [] and server.requests == []


@pytest.mark.parametrize("kw", [
    {"page_limit": 0}, {"page_limit": 201}, {"page_limit": 2.0}, {"stream_limit": True}, {"stream_limit": 0},
    {"min_repage_interval": -1}, {"min_repage_interval": float("inf")}, {"on_drift": "x"}, {"load_timeout": 0},
    {"drift_grace": 0}, {"drift_grace": -1.0}, {"drift_grace": float("nan")}, {"drift_grace": "2"},
])
async def test_bad_watch_offers_arguments(server, kw):
    base, counter = server.market_assets()[0]
    async with client(server) as h:
        with pytest.raises(ArgumentError):
            await h.watch_offers(base, counter, **kw)
        assert h.offer_books == [] and server.requests == []


async def test_integer_like_depth_is_accepted(server):
    np = pytest.importorskip("numpy")
    base, counter = server.market_assets()[0]
    async with client(server) as h:
        live = await h.watch(base, counter, depth=np.int64(7))
        assert live.depth == 7 and type(live.depth) is int


@pytest.mark.parametrize("kw", [
    {"url": 5}, {"url": "ftp://x"}, {"request_timeout": 0}, {"stall_timeout": -1}, {"max_line_bytes": 0},
    {"max_event_bytes": "8"}, {"max_offer_pages": 0}, {"min_reconnect_interval": float("nan")},
    {"max_retry_wait": -1}, {"idle_timeout": None},
])
def test_bad_horizon_options(kw):
    url = kw.pop("url", "http://127.0.0.1:9")
    with pytest.raises(ArgumentError):
        Horizon(url, **kw)
