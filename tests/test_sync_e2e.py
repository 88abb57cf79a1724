"""End to end: Horizon/LiveBook against the local Horizon, every fault switch alone and together.

Correctness never depends on timing: each test freezes the server's ledger clock and waits (with a
generous timeout) until the live book equals the server's book, then checks the counters.
"""

from __future__ import annotations

import asyncio
import time

import pytest

from stellar_ob import OrderBook
from stellar_ob.errors import HorizonError, StreamError
from stellar_ob.sync import BookUpdate, Horizon, LiveBook, Status
from stellar_ob.testing import LocalHorizon

pytestmark = pytest.mark.network

DEPTH = 20
TIMEOUT = 30.0


@pytest.fixture
async def server():
    async with LocalHorizon(markets=2, seed=3, ledger_interval=0.02, levels=12) as s:
        yield s


def client(server: LocalHorizon, **kw) -> Horizon:
    kw.setdefault("backoff_base", 0.01)
    kw.setdefault("backoff_cap", 0.2)
    kw.setdefault("honor_server_retry", False)
    kw.setdefault("min_reconnect_interval", 0.05)
    return Horizon(server.url, **kw)


async def converge(server: LocalHorizon, live: LiveBook, *, ledgers: int = 5) -> None:
    """Let ``ledgers`` more ledgers close, freeze the market, wait until live == server."""
    server.resume()
    target = server.market.ledger + ledgers
    while server.market.ledger < target:
        await asyncio.sleep(0.01)
    server.pause()
    expected = OrderBook.from_horizon(server.order_book_body(live.base, live.counter, live.depth))
    await live.wait_for(lambda b: b == expected, timeout=TIMEOUT)
    live.check()


async def test_watch_loads_and_tracks(server):
    async with client(server) as h:
        base, counter = server.market_assets()[0]
        live = await h.watch(base, counter, depth=DEPTH)
        assert live.loaded and live.status is Status.LIVE and len(live) > 0
        assert live.confirmed_at is not None and live.age is not None and live.age < TIMEOUT
        assert live.best_bid().price < live.best_ask().price
        await converge(server, live)
        assert live.counters.events > 0 and live.counters.parse_errors == 0


async def test_updates_diffs_rebuild_the_book(server):
    """Applying every update's diff to a private copy reproduces the live book, coalesced or not."""
    async with client(server) as h:
        base, counter = server.market_assets()[0]
        live = await h.watch(base, counter, depth=DEPTH)
        mirror = live.book.copy()
        seen = 0
        async for u in live.updates():
            assert isinstance(u, BookUpdate) and u.live is live and u.book is live.book
            assert u.applied_ns >= u.received_ns
            mirror.apply_diff(u.diff)
            assert mirror == live.book
            seen += 1
            if seen == 3:
                await asyncio.sleep(0.3)  # fall behind: the next update is a merge of several
            if seen == 6:
                break
        assert live.counters.coalesced > 0


async def test_slow_consumer_gets_one_merged_update(server):
    async with client(server) as h:
        base, counter = server.market_assets()[0]
        live = await h.watch(base, counter, depth=DEPTH)
        updates = live.updates()
        before = live.book.copy()
        start = live.counters.updates
        while live.counters.updates < start + 5:
            await asyncio.sleep(0.02)
        server.pause()
        # events already on their way still arrive: wait until the book is the server's last one, after
        # which nothing changes (so nothing can slip in between taking the update and comparing)
        expected = OrderBook.from_horizon(server.order_book_body(live.base, live.counter, live.depth))
        await live.wait_for(lambda b: b == expected, timeout=TIMEOUT)
        u = await asyncio.wait_for(updates.__anext__(), TIMEOUT)
        assert u.is_coalesced and u.coalesced >= 4
        before.apply_diff(u.diff)
        assert before == live.book
        updates.close()


async def test_callbacks_and_a_raising_callback_do_not_kill_the_stream(server):
    got: list[BookUpdate] = []
    async with client(server) as h:
        base, counter = server.market_assets()[0]
        live = await h.watch(base, counter, depth=DEPTH, on_update=got.append)

        def bad(_u: BookUpdate) -> None:
            raise RuntimeError("consumer bug")

        live.on_update(bad)
        start = live.counters.updates
        await live.wait_for(lambda _b: live.counters.updates >= start + 3, timeout=TIMEOUT)
        assert live.counters.callback_errors >= 3 and len(got) >= 3
        await converge(server, live)


async def test_byebye_every_n_events_reconnects_and_resyncs(server):
    server.faults.byebye_after = 3
    async with client(server) as h:
        base, counter = server.market_assets()[0]
        live = await h.watch(base, counter, depth=DEPTH)
        await live.wait_for(lambda _b: live.counters.byebyes >= 3, timeout=TIMEOUT)
        await converge(server, live)
        assert live.counters.reconnects >= 3 and live.last_error is None


async def test_connection_timeout_goodbye(server):
    server.faults.connection_timeout = 0.2
    server.pause()
    async with client(server) as h:
        base, counter = server.market_assets()[0]
        live = await h.watch(base, counter, depth=DEPTH)
        await live.wait_for(lambda _b: live.counters.byebyes >= 2, timeout=TIMEOUT)
        assert live.counters.reconnects >= 1 and live.counters.connection_errors == 0
        await converge(server, live)


async def test_error_events_are_surfaced_then_reconnect(server):
    server.faults.error_after = 2
    errors: list[BaseException] = []
    async with client(server) as h:
        base, counter = server.market_assets()[0]
        live = await h.watch(base, counter, depth=DEPTH)
        live.on_error(lambda _l, e: errors.append(e))
        await live.wait_for(lambda _b: live.counters.error_events >= 2, timeout=TIMEOUT)
        assert isinstance(live.last_error, StreamError) and "Unexpected stream error" in str(live.last_error)
        assert any(isinstance(e, StreamError) for e in errors)
        await converge(server, live)


async def test_cut_mid_event_discards_the_partial_event(server):
    server.faults.cut_after = 2
    async with client(server) as h:
        base, counter = server.market_assets()[0]
        live = await h.watch(base, counter, depth=DEPTH)
        await live.wait_for(lambda _b: live.counters.connection_errors >= 2, timeout=TIMEOUT)
        assert server.stats.cuts >= 2
        assert live.counters.parse_errors == 0  # the half event never reached the scanner
        await converge(server, live)


async def test_malformed_json_leaves_book_unchanged_and_resyncs(server):
    server.faults.malformed_at = 2
    async with client(server) as h:
        base, counter = server.market_assets()[0]
        live = await h.watch(base, counter, depth=DEPTH)
        await live.wait_for(lambda _b: live.counters.parse_errors >= 2, timeout=TIMEOUT)
        live.check()
        await converge(server, live)


async def test_rate_limit_is_shared_and_retry_after_honoured(server):
    async with client(server) as h:
        lives = [await h.watch(b, c, depth=DEPTH) for b, c in server.market_assets()]
        server.faults.rate_limit(1.0, retry_after=1)
        # open streams get "Rate limit exceeded" on the next ledger; reconnects get 429s
        for live in lives:
            await live.wait_for(lambda _b, live=live: live.counters.rate_limited >= 1, timeout=TIMEOUT)
        for live in lives:
            await converge(server, live)
        assert any(isinstance(l.last_error, HorizonError) for l in lives)
    limited = [r for r in server.requests if r.status == 429]
    assert limited
    for r429 in limited:
        # requests already in flight when the 429 left are not "after" it: a few ms on loopback, tens
        # when the machine is busy (the server stamps a request when it gets to it)
        sent = r429.answered + 0.05
        too_early = [r for r in server.requests if sent < r.at < r429.answered + 1.0 - 0.02]
        assert not too_early, (r429, too_early)


async def test_server_errors_and_restart_backoff(server):
    async with client(server) as h:
        lives = [await h.watch(b, c, depth=DEPTH) for b, c in server.market_assets()]
        server.faults.server_errors = 4
        await server.restart(downtime=0.2)
        for live in lives:
            await converge(server, live)
        # every 503 was seen once: by a market's stream, or by the health probe (a 503 on the root
        # too means the server is down, so the markets wait for the probe instead of asking)
        assert sum(l.counters.http_errors for l in lives) + h.health.server_errors == 4
        assert all(l.counters.connection_errors >= 1 and l.counters.reconnects >= 1 for l in lives)


async def test_stall_is_caught_by_idle_timeout(server):
    async with client(server, idle_timeout=0.3) as h:
        base, counter = server.market_assets()[0]
        live = await h.watch(base, counter, depth=DEPTH)
        server.faults.stall(1.0)
        await live.wait_for(lambda _b: live.counters.connection_errors >= 1, timeout=TIMEOUT)
        await converge(server, live)


async def test_slow_responses(server):
    server.faults.slow = 0.2
    async with client(server) as h:
        base, counter = server.market_assets()[0]
        live = await h.watch(base, counter, depth=DEPTH)
        await converge(server, live)


async def test_every_fault_at_once(server):
    f = server.faults
    f.byebye_after = 4
    f.error_after = 3
    f.malformed_at = 2
    f.slow = 0.02
    f.server_errors = 3
    f.connection_timeout = 0.5
    async with client(server, idle_timeout=0.4) as h:
        lives = [await h.watch(b, c, depth=DEPTH) for b, c in server.market_assets()]
        f.rate_limit(0.5, retry_after=1)
        f.stall(0.3)
        await asyncio.sleep(0.3)
        f.cut_after = 1
        await server.restart(downtime=0.1)
        await asyncio.sleep(0.5)
        f.cut_after = None
        for live in lives:
            await converge(server, live, ledgers=3)
        for live in lives:
            assert live.counters.reconnects >= 1
            assert live.status not in (Status.FAILED, Status.CLOSED)


async def test_permanent_error_fails_the_book(server):
    async with Horizon(server.url + "/no-such-prefix") as h:
        base, counter = server.market_assets()[0]
        with pytest.raises(HorizonError) as ei:
            await h.watch(base, counter, depth=DEPTH)
        assert ei.value.status == 404
        assert h.books == []


async def test_no_route_to_horizon_is_an_error_not_a_hang():
    async with Horizon("http://127.0.0.1:9", backoff_base=0.01, backoff_cap=0.05, connect_timeout=0.5) as h:
        with pytest.raises(HorizonError, match="could not load"):
            await h.watch("XLM", "USD:GAUZ6DV67BPYUZQJSRPIF3WFA4QN6AZDMPA7ZHDLYVRGPRXMW3QED4K7", load_timeout=0.5)


async def test_markets_added_and_removed_while_running_and_close_ends_everything(server):
    (b0, c0), (b1, c1) = server.market_assets()
    h = client(server)
    try:
        a = await h.watch(b0, c0, depth=DEPTH)
        it = a.updates()
        b = await h.watch(b1, c1, depth=5)
        assert len(h.books) == 2
        await h.unwatch(a)
        assert a.status is Status.CLOSED and h.books == [b]

        async def drain() -> int:  # an update published before the close may still be handed over
            return len([u async for u in it])

        assert await asyncio.wait_for(drain(), TIMEOUT) <= 1  # then the iterator ends
        c = await h.watch(b0, c0, depth=DEPTH)
        await converge(server, c)
        await h.close()
        assert b.status is Status.CLOSED and c.status is Status.CLOSED and h.books == []
        t0 = time.monotonic()
        await h.close()  # idempotent
        assert time.monotonic() - t0 < 1.0
    finally:
        await h.close()


async def test_rest_snapshot_matches_stream(server):
    async with client(server) as h:
        base, counter = server.market_assets()[0]
        server.pause()
        snap = await h.snapshot(base, counter, depth=DEPTH)
        assert snap.latest_ledger == server.market.ledger
        live = await h.watch(base, counter, depth=DEPTH)
        assert snap.book == live.book
