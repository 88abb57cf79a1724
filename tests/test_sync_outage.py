"""Server outages (issue 19): one shared health probe takes over while the local Horizon is down.

Correctness is asserted on requests and their order, never on how long anything took: every
request the client starts is logged (aiohttp tracing) with the probe's view at that moment."""

from __future__ import annotations

import asyncio
import time

import aiohttp
import pytest

from stellar_ob import OrderBook
from stellar_ob.sync import ArgumentError, Horizon, Status
from stellar_ob.testing import LocalHorizon
from conftest import until

pytestmark = pytest.mark.network

TIMEOUT = 60.0
DEPTH = 10


class RequestLog:
    """Every request start of a session: (time.monotonic(), path, the probe said down)."""

    def __init__(self) -> None:
        self.horizon: Horizon | None = None
        self.entries: list[tuple[float, str, bool]] = []
        self.config = aiohttp.TraceConfig()
        self.config.on_request_start.append(self._start)

    async def _start(self, _session, _ctx, params) -> None:
        health = self.horizon.health if self.horizon is not None else None
        t = time.monotonic()
        if params.url.path == "/" and health is not None:
            # the probe's own start (what its spacing is kept from): the request start comes after
            # awaits whose length the machine's load decides, so gaps between those are not the probe's
            t = health._last_probe
        self.entries.append((t, params.url.path, bool(health is not None and health.down)))


async def _until(predicate, what) -> None:
    await until(predicate, what, TIMEOUT, poll=0.01)


async def _outage(server: LocalHorizon, h: Horizon, books, downtime_probes: int) -> tuple[int, float, float]:
    """Stop the server until the probe failed ``downtime_probes`` times, start it again, wait for
    every book to be live and equal to the server's. Returns (index of the first request after the
    server came back in the log, when it came back, when every book was live again)."""
    health = h.health
    server.pause()
    await server.stop()
    await _until(lambda: health.down and all(b.status is Status.SERVER_DOWN for b in books),
                 lambda: f"every book waits: {[(b.status_text, b.counters) for b in books]}")
    for b in books:
        assert b.server_down_since == health.down_since and b.next_probe_at is not None
        assert b.status_text.startswith("server down (since ") and ", next probe at " in b.status_text
    failures = health.probe_failures
    await _until(lambda: health.probe_failures >= failures + downtime_probes, "the probe keeps failing")
    mark = len(log_of(h).entries)
    await server.start()
    back = time.monotonic()
    server.resume(0.05)
    await _until(lambda: not health.down and all(b.status is Status.LIVE for b in books), "every book live again")
    all_live = time.monotonic()
    server.pause()
    for b in books:
        expected = OrderBook.from_horizon(server.order_book_body(b.base, b.counter, DEPTH))
        await b.wait_for(lambda book, e=expected: book == e, timeout=TIMEOUT)
        b.check()
    server.resume(0.05)
    return mark, back, all_live


def log_of(h: Horizon) -> RequestLog:
    return h._test_log  # type: ignore[attr-defined]


@pytest.mark.parametrize("markets", [20])
async def test_markets_wait_for_the_probe_and_come_back_staggered(markets):
    probe_interval, recovery_rate = 0.2, 100.0
    log = RequestLog()
    async with LocalHorizon(markets=markets, ledger_interval=0.05, levels=8) as server, \
            aiohttp.ClientSession(trace_configs=[log.config]) as session:
        async with Horizon(server.url, session=session, min_reconnect_interval=0.05, backoff_base=0.01,
                           backoff_cap=0.2, honor_server_retry=False, probe_interval=probe_interval,
                           probe_cap=2 * probe_interval, recovery_rate=recovery_rate) as h:
            log.horizon = h
            h._test_log = log  # type: ignore[attr-defined]
            books = [await h.watch(b, c, depth=DEPTH) for b, c in server.market_assets()]
            for outage in range(2):
                mark, back, _all_live = await _outage(server, h, books, downtime_probes=3)
                entries = log.entries
                # no market request while the probe said the server was down
                assert not [e for e in entries if e[2] and e[1] != "/"], "a market asked a server that was down"
                # the probe alone asks, probe_interval apart at least (1 ms: the loop's clock resolution)
                probes = [t for t, path, _ in entries if path == "/"]
                assert len(probes) >= 4 * (outage + 1)
                gaps = [b - a for a, b in zip(probes, probes[1:])]
                assert min(gaps) >= probe_interval - 0.001, gaps
                # after the server's return every market reconnected; the k-th reconnect started no
                # earlier than k / recovery_rate after the probe succeeded (slots are granted in order,
                # 1 / recovery_rate apart: a lower bound, so no burst beyond the budget whatever the load)
                recovered = h.health.recovered_monotonic
                assert recovered is not None and recovered >= back
                starts = sorted(t for t, path, _ in entries[mark:] if path == "/order_book")
                assert len(starts) >= markets
                for k, t in enumerate(starts[:markets]):
                    assert t >= recovered + k / recovery_rate - 1e-6, (k, t - recovered)
            assert h.health.outages == 2
            assert all(b.counters.reconnects >= 2 for b in books)


async def test_a_market_failing_alone_keeps_its_own_backoff():
    """503s while the root answers: the probe finds the server up, markets back off on their own,
    no one shows SERVER_DOWN, and the probe asks at most once per probe_interval."""
    log = RequestLog()
    async with LocalHorizon(markets=2, ledger_interval=0.05) as server, \
            aiohttp.ClientSession(trace_configs=[log.config]) as session:
        async with Horizon(server.url, session=session, min_reconnect_interval=0.05, backoff_base=0.01,
                           backoff_cap=0.2, honor_server_retry=False, probe_interval=0.5) as h:
            log.horizon = h
            books = [await h.watch(b, c, depth=DEPTH) for b, c in server.market_assets()]
            seen: set[Status] = set()
            for b in books:
                b.on_error(lambda live, _e: seen.add(live.status))
            # 503s for the market streams only (the probe's root always answers)
            errors = {"left": 6}
            middleware_handler = server._order_book

            async def order_book(request):
                if errors["left"] > 0:
                    errors["left"] -= 1
                    from aiohttp import web

                    return web.Response(status=503, text="over capacity")
                return await middleware_handler(request)

            server._order_book = order_book
            await server.restart()
            await _until(lambda: errors["left"] == 0 and all(b.status is Status.LIVE for b in books), "recovered")
            assert not h.health.down and h.health.outages == 0
            assert Status.SERVER_DOWN not in seen
            probes = [t for t, path, _ in log.entries if path == "/"]
            assert probes, "a 5xx asks the probe"
            assert all(b - a >= 0.5 - 0.001 for a, b in zip(probes, probes[1:]))
            assert sum(b.counters.http_errors for b in books) == 6


async def test_without_the_probe_markets_back_off_alone():
    async with LocalHorizon(markets=1, ledger_interval=0.05) as server:
        async with Horizon(server.url, health_probe=False, backoff_base=0.01, backoff_cap=0.1,
                           min_reconnect_interval=0.05) as h:
            live = await h.watch(*server.market_assets()[0], depth=DEPTH)
            await server.restart(downtime=0.3)
            await live.wait_for(lambda _b: live.counters.reconnects >= 1 and live.status is Status.LIVE,
                                timeout=TIMEOUT)
            assert h.health is None


@pytest.mark.parametrize("kw", [{"probe_interval": 0}, {"probe_interval": -1}, {"probe_cap": float("nan")},
                                {"recovery_rate": 0}, {"recovery_rate": "fast"}])
def test_bad_probe_arguments(kw):
    with pytest.raises(ArgumentError):
        Horizon("http://127.0.0.1:1", **kw)


async def test_a_backoff_armed_before_the_outage_ends_with_it():
    """A market in its own (long) backoff when the server goes down is woken when the probe
    succeeds: it reconnects in its recovery slot, not after the backoff. Its backoff here is
    500-1,000 s, so only the health probe's wake-up can bring it back within the test's wait; no
    request of it while the server is down."""
    log = RequestLog()
    server = LocalHorizon(markets=3, ledger_interval=0.05, levels=8)
    (b0, c0), *rest = server.market_assets()
    selling = {**b0.horizon_params("selling"), **c0.horizon_params("buying")}
    original, refuse = server._order_book, {"on": True}

    async def order_book(request):  # a 503 for this one market's stream, while the root answers
        if refuse["on"] and all(request.query.get(k) == v for k, v in selling.items()):
            from aiohttp import web

            return web.Response(status=503, text="over capacity")
        return await original(request)

    server._order_book = order_book  # the route is bound when the server starts
    async with server, aiohttp.ClientSession(trace_configs=[log.config]) as session:
        async with Horizon(server.url, session=session, min_reconnect_interval=0.05, backoff_base=1000.0,
                           backoff_cap=1000.0, honor_server_retry=False, probe_interval=0.2, probe_cap=0.4) as h:
            log.horizon = h
            h._test_log = log  # type: ignore[attr-defined]
            others = [await h.watch(b, c, depth=DEPTH) for b, c in rest]
            watching = asyncio.create_task(h.watch(b0, c0, depth=DEPTH, load_timeout=None))
            await _until(lambda: len(h.books) == 3 and h.books[-1].status is Status.BACKING_OFF,
                         "the market in its own backoff")
            alone = h.books[-1]
            assert alone.counters.http_errors == 1 and alone.counters.connections == 1
            assert not h.health.down and h.health.outages == 0  # the probe found the server up
            refuse["on"] = False
            mark, _back, _ = await _outage(server, h, others, downtime_probes=2)
            await asyncio.wait_for(watching, TIMEOUT)  # loaded: back long before its backoff's end
            assert h.health.backoffs_cut >= 1
            assert alone.counters.connections == 2  # the 503, then one request in its slot
            assert not [e for e in log.entries if e[2] and e[1] != "/"], "a market asked a server that was down"
            starts = [t for t, path, _ in log.entries[mark:] if path == "/order_book"]
            assert len(starts) >= 3 and min(starts) >= h.health.recovered_monotonic


async def test_every_market_reconnects_once_after_the_probe_succeeds():
    """After an outage each of N markets makes exactly one request (no failed attempt, no backoff
    wait in between): the k-th in its slot, every slot used once."""
    markets, recovery_rate = 30, 200.0
    log = RequestLog()
    async with LocalHorizon(markets=markets, ledger_interval=0.05, levels=8) as server, \
            aiohttp.ClientSession(trace_configs=[log.config]) as session:
        async with Horizon(server.url, session=session, min_reconnect_interval=0.05, backoff_base=1000.0,
                           backoff_cap=1000.0, probe_interval=0.2, probe_cap=0.4,
                           recovery_rate=recovery_rate) as h:
            log.horizon = h
            h._test_log = log  # type: ignore[attr-defined]
            books = [await h.watch(b, c, depth=DEPTH) for b, c in server.market_assets()]
            before = [b.counters.reconnects for b in books]
            mark, back, _ = await _outage(server, h, books, downtime_probes=3)
            recovered = h.health.recovered_monotonic
            starts = sorted(t for t, path, _ in log.entries[mark:] if path == "/order_book")
            # a backoff of 500 s or more armed anywhere would have kept a market away: every one is back
            assert [b.counters.reconnects - n for b, n in zip(books, before)] == [1] * markets
            assert len(starts) >= markets
            for k, t in enumerate(starts[:markets]):
                assert t >= recovered + k / recovery_rate - 1e-6, (k, t - recovered)
            assert not [e for e in log.entries if e[2] and e[1] != "/"]


async def test_a_market_rest_request_waits_for_the_probe():
    """A market's REST request (an L3 re-page's /offers) made while the server is down waits for the
    probe instead of using up its retries: with retries=0 it still succeeds once the server is back,
    and it makes no request while the probe says the server is down."""
    log = RequestLog()
    async with LocalHorizon(markets=1, ledger_interval=0.05, levels=8) as server, \
            aiohttp.ClientSession(trace_configs=[log.config]) as session:
        async with Horizon(server.url, session=session, min_reconnect_interval=0.05, backoff_base=1000.0,
                           backoff_cap=1000.0, probe_interval=0.2, probe_cap=0.4) as h:
            log.horizon = h
            live = await h.watch(*server.market_assets()[0], depth=DEPTH)
            params = {**live.base.horizon_params("selling"), **live.counter.horizon_params("buying"), "limit": "5"}
            server.pause()
            await server.stop()
            task = asyncio.create_task(h._get("/offers", params, retries=0, owner=live))
            await _until(lambda: h.health.down and live.status is Status.SERVER_DOWN, "the request waits")
            failures = h.health.probe_failures
            await _until(lambda: h.health.probe_failures >= failures + 2, "the probe keeps failing")
            assert not task.done()
            await server.start()
            body, headers = await asyncio.wait_for(task, TIMEOUT)
            assert b"records" in body and "Latest-Ledger" in headers
            offers = [e for e in log.entries if e[1] == "/offers"]
            assert len(offers) == 2 and not offers[0][2] and not offers[1][2]  # one refused, one answered
            assert offers[1][0] >= h.health.recovered_monotonic
            assert not [e for e in log.entries if e[2] and e[1] != "/"]


async def test_a_callers_session_too_small_for_the_streams_is_named_once(caplog):
    """aiohttp's default pool is 100 connections: a caller's session with a pool smaller than the
    streams leaves the streams past it waiting for a free connection (loads and reconnects after an
    outage took ~2 s a market at 200 markets). The client says so once, naming the remedy."""
    async with LocalHorizon(markets=3, ledger_interval=0.02, levels=4) as server, \
            aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=2)) as session:
        async with Horizon(server.url, session=session, min_reconnect_interval=0.01, health_probe=False) as h:
            pairs = list(server.market_assets())
            with caplog.at_level("WARNING", logger="stellar_ob.sync"):
                for b, c in pairs[:2]:
                    await h.watch(b, c, depth=DEPTH)
                assert not [r for r in caplog.records if "holds at most" in r.getMessage()]
                await h.watch(*pairs[2], depth=DEPTH)  # the third stream: loads once a goodbye frees one
                await h.watch(*pairs[0], depth=DEPTH)
            said = [r.getMessage() for r in caplog.records if "holds at most" in r.getMessage()]
            assert len(said) == 1 and "at most 2 connections, and 3 streams" in said[0]
            assert "TCPConnector(limit=0, limit_per_host=0)" in said[0]
    async with LocalHorizon(markets=3, ledger_interval=0.02, levels=4) as server, \
            aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0, limit_per_host=0)) as session:
        async with Horizon(server.url, session=session, health_probe=False) as h:
            caplog.clear()
            with caplog.at_level("WARNING", logger="stellar_ob.sync"):
                for b, c in server.market_assets():
                    await h.watch(b, c, depth=DEPTH)
            assert not [r for r in caplog.records if "holds at most" in r.getMessage()]
