"""Per-offer (L3) sync end to end: Horizon.watch_offers against the local Horizon with the simulated
market running (makers place/edit/cancel, takers cross, pools swap), every fault switch alone and
together.

Correctness never depends on timing: each test freezes the market and waits (generous timeout)
until the live book was re-paged at the server's last ledger and holds exactly the server's offers
(ids, sides, prices, amounts) and pool; only then are counters checked.
"""

from __future__ import annotations

import asyncio
import json

import pytest

from stellar_ob import sync
from stellar_ob.errors import HorizonError, StreamError
from stellar_ob.sync import AppliedFill, Drift, Horizon, LiveOfferBook, OfferBookUpdate, Status
from stellar_ob.testing import LocalHorizon, SimulatedMarket

pytestmark = pytest.mark.network

TIMEOUT = 30.0
PAGE = 4  # small pages: every load and re-page reads several pages a side


@pytest.fixture
async def server():
    market = SimulatedMarket(2, seed=11, levels=8, taker_probability=0.7)
    async with LocalHorizon(market, ledger_interval=0.02) as s:
        yield s


@pytest.fixture(params=["c", "py"])
def offer_impl(request, monkeypatch):
    """Run a test on the compiled per-offer book and on the twin."""
    if request.param == "py":
        from stellar_ob.offers import _pure as _offers_pure

        monkeypatch.setattr(sync.l3, "_offer_impl", lambda: (_offers_pure.OfferBook, _offers_pure.LiquidityPool))
    else:
        from conftest import load_c

        load_c("offers")
    return request.param


def client(server: LocalHorizon, **kw) -> Horizon:
    kw.setdefault("backoff_base", 0.01)
    kw.setdefault("backoff_cap", 0.2)
    kw.setdefault("honor_server_retry", False)
    kw.setdefault("min_reconnect_interval", 0.05)
    return Horizon(server.url, **kw)


async def watch(h: Horizon, base, counter, **kw) -> LiveOfferBook:
    kw.setdefault("page_limit", PAGE)
    kw.setdefault("stream_limit", 20)
    return await h.watch_offers(base, counter, **kw)


def server_offers(server: LocalHorizon, live: LiveOfferBook) -> dict[int, tuple]:
    """The server's offers as the live book should hold them (sides relative to live.base)."""
    pair = server.market.pair(live.base, live.counter)
    flip = pair is None
    if flip:
        pair = server.market.pair(live.counter, live.base)
    swap = {"ask": "bid", "bid": "ask"}
    return {o.offer_id: (swap[o.side] if flip else o.side, o.n, o.d, o.amount) for o in pair.offers.values()}


def server_pool(server: LocalHorizon, live: LiveOfferBook) -> tuple[int, int]:
    pair = server.market.pair(live.base, live.counter)
    if pair is not None:
        return tuple(pair.pool_reserves)
    return tuple(reversed(server.market.pair(live.counter, live.base).pool_reserves))


def live_offers(book) -> dict[int, tuple]:
    return {o.offer_id: (o.side, o.n, o.d, o.amount) for side in ("bid", "ask") for o in book.offers(side)}


async def run_ledgers(server: LocalHorizon, n: int) -> None:
    server.resume()
    target = server.market.ledger + n
    while server.market.ledger < target:
        await asyncio.sleep(0.01)


async def converge(server: LocalHorizon, live: LiveOfferBook, *, ledgers: int = 5) -> None:
    """Let ``ledgers`` more ledgers close, freeze the market, wait until live == server; then one
    empty ledger, whose re-page judges the last busy one's drift (see LiveOfferBook.on_drift)."""
    await run_ledgers(server, ledgers)
    server.pause()
    await settle(server, live)
    server.close_ledger(pairs=[])
    await settle(server, live)


async def settle(server: LocalHorizon, live: LiveOfferBook) -> None:
    """The market is frozen: wait until the book was re-paged at its ledger and equals it."""
    await live.wait_for(lambda b: live.ledger == server.market.ledger and live_offers(b) == server_offers(server, live),
                        timeout=TIMEOUT)
    assert live_offers(live.book) == server_offers(server, live)
    assert (live.pool.reserve_a, live.pool.reserve_b) == server_pool(server, live)
    live.book._check()
    assert live.status not in (Status.FAILED, Status.CLOSED)


async def test_load_pages_both_directions(server):
    server.pause()
    async with client(server) as h:
        base, counter = server.market_assets()[0]
        live = await watch(h, base, counter)
        assert live.loaded and live.status is Status.LIVE and h.offer_books == [live]
        assert live.ledger == server.market.ledger  # loaded from a frozen market: exact on return
        assert live_offers(live.book) == server_offers(server, live)
        asks, bids = live.offers("ask"), live.offers("bid")
        assert asks and bids and all(o.side == "ask" for o in asks)
        assert live.counters.pages >= len(asks) // PAGE + len(bids) // PAGE + 2  # followed the cursor
        best_ask, best_bid = live.best_offer("ask"), live.best_offer("bid")
        assert best_ask == asks[0] and best_bid == bids[0]
        assert best_ask.n * best_bid.n > best_ask.d * best_bid.d  # ask n/d > bid d/n: not crossed
        assert (live.pool.reserve_a, live.pool.reserve_b) == server_pool(server, live)
        assert live.confirmed_at is not None and live.age < TIMEOUT
        hop = live.quote_hop("strict_send", 10_000_000, taker_sells="base")
        assert hop.venue in ("book", "pool")


async def test_tracks_the_market(server, offer_impl):
    async with client(server) as h:
        base, counter = server.market_assets()[0]
        live = await watch(h, base, counter)
        await live.wait_for(lambda _b: live.counters.fills >= 5 and live.counters.repages >= 5, timeout=TIMEOUT)
        await converge(server, live)
        c = live.counters
        assert c.trades > 0 and c.ledgers > 0 and c.parse_errors == 0
        assert c.drift_added + c.drift_removed + c.drift_changed > 0  # makers act every ledger


async def test_fills_alone_explain_a_trades_only_ledger(server, offer_impl):
    """Ledgers where only takers act: the fills keep the book exact, a re-page finds no drift."""
    async with client(server) as h:
        base, counter = server.market_assets()[0]
        live = await watch(h, base, counter)
        await converge(server, live, ledgers=3)
        pair = server.market.pair(base, counter)
        seen: list[OfferBookUpdate] = []
        live.on_update(seen.append)
        c = live.counters
        fills0, drift0 = c.fills + c.fills_in_page + c.fills_unknown, (c.drift_added, c.drift_removed, c.drift_changed)
        made = 0
        applied0, pool0 = c.fills, c.pool_trades
        for _ in range(4):
            made += server.market.take(pair)
            server.market.swap(pair)
            server.close_ledger(pairs=[])  # no maker acts: only the trades change the book and pool
            await settle(server, live)
        assert made > 0
        server.close_ledger(pairs=[])  # the next re-page judges the last one's differences (see on_drift)
        await settle(server, live)
        # each fill is applied, or (if the re-page of its ledger was read before it arrived) already in the
        # page, or of an offer that page no longer holds (taken whole): the stream's timing decides which.
        # The book can equal the server's (re-paged) before the last trades have streamed in: wait for them.
        await live.wait_for(lambda _b: c.fills + c.fills_in_page + c.fills_unknown - fills0 >= made
                            and c.pool_trades - pool0 >= 4, timeout=TIMEOUT)
        assert c.fills + c.fills_in_page + c.fills_unknown - fills0 == made
        assert (c.drift_added, c.drift_removed, c.drift_changed) == drift0
        assert c.pool_trades - pool0 == 4 and c.pool_drift == 0
        fills = [f for u in seen for f in u.fills]
        assert len(fills) == c.fills - applied0 and all(isinstance(f, AppliedFill) and f.sold > 0 for f in fills)
        tokens = {t["paging_token"] for t in server.market.trades}
        assert all(f.trade_id in tokens for f in fills)


async def test_trades_that_arrive_after_their_repage_are_not_drift(server, offer_impl):
    """Two streams race: the re-page of ledger L can be read before L's /trades events arrive (each
    is then in its page). The local Horizon holds /trades back so that it happens every time: the
    late fills and swap explain the re-page's differences, nothing is called drift, and a
    difference no trade explains (a deposit) still is."""
    async with client(server) as h:
        base, counter = server.market_assets()[0]
        live = await watch(h, base, counter, drift_grace=TIMEOUT * 4)  # judged by the streams, not a timer
        await converge(server, live, ledgers=3)
        pair = server.market.pair(base, counter)
        drifts: list[Drift] = []
        live.on_drift(lambda _l, d: drifts.append(d))
        c = live.counters

        def drift_counts() -> tuple[int, ...]:
            return (c.drift_added, c.drift_removed, c.drift_changed, c.pool_drift)

        d0, explained0 = drift_counts(), c.drift_explained
        fills0, pool0 = c.fills + c.fills_in_page + c.fills_unknown, c.pool_trades
        server.hold("/trades")
        made = server.market.take(pair)
        server.market.swap(pair)
        server.close_ledger(pairs=[])
        await settle(server, live)  # re-paged at L: the take and the swap are in the pages
        assert made > 0 and c.pool_trades == pool0 and c.fills + c.fills_in_page + c.fills_unknown == fills0
        assert drift_counts() == d0 and drifts == []  # not judged before L's trades are in
        server.release()
        await live.wait_for(lambda _b: c.fills + c.fills_in_page + c.fills_unknown - fills0 >= made
                            and c.pool_trades > pool0, timeout=TIMEOUT)
        server.market.deposit(pair, 10_000_000, 20_000_000)  # no trade says this one
        server.close_ledger(pairs=[])
        await settle(server, live)  # installing L+1 judged L: explained whole by its late trades
        assert c.drift_explained == explained0 + 1 and drift_counts() == d0 and drifts == [], (c, d0, explained0, drifts)
        assert live.last_drift is not None and not live.last_drift
        server.close_ledger(pairs=[])
        await settle(server, live)  # installing L+2 judged L+1: the deposit is drift
        assert drifts == [Drift(server.market.ledger - 1, pool=True)]
        assert live.last_drift == Drift(server.market.ledger)  # L+2's own re-page found nothing
        assert drift_counts() == (*d0[:3], d0[3] + 1) and c.drift_explained == explained0 + 1


async def test_drift_is_detected_and_corrected_at_the_next_ledger(server):
    async with client(server) as h:
        base, counter = server.market_assets()[0]
        live = await watch(h, base, counter)
        await converge(server, live, ledgers=3)
        drifts: list[Drift] = []
        live.on_drift(lambda l, d: drifts.append(d))
        pair = server.market.pair(base, counter)
        asks = sorted(o.offer_id for o in pair.offers.values() if o.side == "ask")
        bids = sorted(o.offer_id for o in pair.offers.values() if o.side == "bid")
        c0 = (live.counters.drift_added, live.counters.drift_removed, live.counters.drift_changed,
              live.counters.pool_drift)
        cancelled, changed = asks[0], bids[-1]
        server.market.deposit(pair, 10_000_000, 20_000_000)
        server.market.cancel_offer(pair, cancelled)
        server.market.change_offer(pair, changed, pair.offers[changed].amount + 10_000_000)
        added = server.market.place_offer(pair, "ask", 3)
        assert cancelled in live and added not in live
        server.close_ledger(pairs=[])  # no trade reports any of it
        await settle(server, live)
        assert cancelled not in live and added in live and live.get(changed).amount == pair.offers[changed].amount
        await live.wait_for(lambda _b: drifts, timeout=TIMEOUT)  # judged drift_grace s later: no trade came
        assert drifts == [live.last_drift]
        d = drifts[0]
        assert (d.added, d.removed, d.changed, d.pool) == ((added,), (cancelled,), (changed,), True)
        assert d.ledger == server.market.ledger and d.total == 3 and bool(d)
        c = live.counters
        assert (c.drift_added, c.drift_removed, c.drift_changed, c.pool_drift) == tuple(x + 1 for x in c0)


async def test_reversed_pair(server):
    """Watching counter/base: asks and bids swap, trades come reversed (base_is_seller negated)."""
    async with client(server) as h:
        base, counter = server.market_assets()[0]
        live = await watch(h, counter, base)
        await live.wait_for(lambda _b: live.counters.fills >= 3, timeout=TIMEOUT)
        await converge(server, live)
        pair = server.market.pair(base, counter)
        assert {o.offer_id for o in live.offers("ask")} == {o.offer_id for o in pair.offers.values() if o.side == "bid"}


async def test_pool_trades_are_not_fills(server):
    async with client(server) as h:
        base, counter = server.market_assets()[0]
        live = await watch(h, base, counter)
        await live.wait_for(lambda _b: live.counters.pool_trades >= 1, timeout=TIMEOUT)
        await converge(server, live)
        assert any(t["trade_type"] == "liquidity_pool" for t in server.market.trades)


async def test_updates_coalesce_and_a_raising_callback_does_not_kill_the_book(server):
    async with client(server) as h:
        base, counter = server.market_assets()[0]
        live = await watch(h, base, counter)

        def bad(_u) -> None:
            raise RuntimeError("consumer bug")

        live.on_update(bad)
        live.on_drift(lambda _l, _d: 1 / 0)
        updates = live.updates()
        start = live.counters.updates
        await live.wait_for(lambda _b: live.counters.updates >= start + 6, timeout=TIMEOUT)
        u = await asyncio.wait_for(updates.__anext__(), TIMEOUT)
        assert isinstance(u, OfferBookUpdate) and u.live is live and u.is_coalesced and u.coalesced >= 5
        assert u.applied_ns >= u.received_ns and u.latency_ns >= 0
        updates.close()
        assert live.counters.callback_errors >= 6
        await converge(server, live)


async def fault_byebye(server, h, live):
    await live.wait_for(lambda _b: live.counters.byebyes >= 4 and live.counters.reconnects >= 4, timeout=TIMEOUT)
    assert live.last_error is None


async def fault_connection_timeout(server, h, live):
    await live.wait_for(lambda _b: live.counters.byebyes >= 2 and live.counters.reconnects >= 2, timeout=TIMEOUT)
    assert live.counters.connection_errors == 0


async def fault_error_events(server, h, live):
    await live.wait_for(lambda _b: live.counters.error_events >= 2, timeout=TIMEOUT)
    assert isinstance(live.last_error, StreamError) and "Unexpected stream error" in str(live.last_error)


async def fault_cut(server, h, live):
    await live.wait_for(lambda _b: live.counters.connection_errors >= 2, timeout=TIMEOUT)
    assert server.stats.cuts >= 2 and live.counters.parse_errors == 0


async def fault_malformed(server, h, live):
    await live.wait_for(lambda _b: live.counters.parse_errors >= 2, timeout=TIMEOUT)


async def fault_stall(server, h, live):
    server.faults.stall(1.0)
    await live.wait_for(lambda _b: live.counters.connection_errors >= 1, timeout=TIMEOUT)


async def fault_slow(server, h, live):
    await live.wait_for(lambda _b: live.counters.repages >= 5, timeout=TIMEOUT)


async def fault_server_errors_and_restart(server, h, live):
    server.faults.server_errors = 4
    await server.restart(downtime=0.2)
    c = live.counters
    # every 503 is seen once: by one of the book's streams or re-pages, or by the shared health
    # probe (a 503 on the root too means the server is down: the book waits for the probe)
    await live.wait_for(lambda _b: c.http_errors + h.health.server_errors >= 4 and c.connection_errors >= 1
                        and c.reconnects >= 2, timeout=TIMEOUT)


FAULTS = {
    "byebye": ({"page_byebye_after": 3}, {}, fault_byebye),
    "connection_timeout": ({"connection_timeout": 0.2}, {}, fault_connection_timeout),
    "error_events": ({"error_after": 2}, {}, fault_error_events),
    "cut_mid_event": ({"cut_after": 2}, {}, fault_cut),
    "malformed_json": ({"malformed_at": 2}, {}, fault_malformed),
    "stall": ({}, {"idle_timeout": 0.3}, fault_stall),
    "slow": ({"slow": 0.03}, {}, fault_slow),
    "server_errors_and_restart": ({}, {}, fault_server_errors_and_restart),
}


@pytest.mark.parametrize("name", list(FAULTS))
async def test_fault(server, name):
    switches, client_kw, check = FAULTS[name]
    for k, v in switches.items():
        setattr(server.faults, k, v)
    async with client(server, **client_kw) as h:
        base, counter = server.market_assets()[0]
        live = await watch(h, base, counter)
        await check(server, h, live)
        await converge(server, live)


async def test_rate_limit_retry_after_is_honoured(server):
    async with client(server) as h:
        lives = [await watch(h, b, c) for b, c in server.market_assets()]
        server.faults.rate_limit(1.0, retry_after=1)
        # open streams get "Rate limit exceeded" at the next ledger, reconnects and pages get 429s
        for live in lives:
            await live.wait_for(lambda _b, live=live: live.counters.rate_limited >= 1, timeout=TIMEOUT)
        for live in lives:
            await converge(server, live)
        assert any(isinstance(l.last_error, HorizonError) for l in lives)
    limited = [r for r in server.requests if r.status == 429]
    assert limited and {r.path for r in server.requests} >= {"/offers", "/trades", "/ledgers", "/liquidity_pools"}
    for r429 in limited:
        # requests already in flight when the 429 left are not "after" it: a few ms on loopback, tens
        # when the machine is busy (the server stamps a request when it gets to it)
        sent = r429.answered + 0.05
        too_early = [r for r in server.requests if sent < r.at < r429.answered + 1.0 - 0.02]
        assert not too_early, (r429, too_early)


async def test_every_fault_at_once(server):
    f = server.faults
    f.page_byebye_after = 4
    f.byebye_after = 4
    f.error_after = 3
    f.malformed_at = 2
    f.slow = 0.01
    f.server_errors = 3
    f.connection_timeout = 0.5
    errors: list[BaseException] = []
    async with client(server, idle_timeout=0.4) as h:
        lives = [await watch(h, b, c) for b, c in server.market_assets()]
        for live in lives:
            live.on_error(lambda _l, e: errors.append(e))
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
            assert live.counters.reconnects >= 1 and live.counters.repages >= 2
        assert errors and all(isinstance(e, HorizonError) or isinstance(e, ValueError) for e in errors)


async def test_permanent_error_fails_the_watch(server):
    async with Horizon(server.url + "/no-such-prefix", backoff_base=0.01) as h:
        base, counter = server.market_assets()[0]
        with pytest.raises(HorizonError) as ei:
            await h.watch_offers(base, counter)
        assert ei.value.status == 404
        assert h.offer_books == []


async def test_close_ends_consumers_and_is_idempotent(server):
    h = client(server)
    base, counter = server.market_assets()[0]
    live = await watch(h, base, counter)
    other = await h.watch(base, counter, depth=5)  # an L2 book on the same client
    it = live.updates()
    await h.unwatch(live)
    assert live.status is Status.CLOSED and h.offer_books == [] and h.books == [other]
    with pytest.raises(StopAsyncIteration):
        await asyncio.wait_for(it.__anext__(), TIMEOUT)
    with pytest.raises(HorizonError):
        await live.wait_for(lambda _b: False, timeout=TIMEOUT)
    await h.close()
    await h.close()
    assert other.status is Status.CLOSED


async def test_arguments_are_checked(server):
    async with client(server) as h:
        base, counter = server.market_assets()[0]
        with pytest.raises(ValueError):
            await h.watch_offers(base, counter, page_limit=201)
        with pytest.raises(ValueError):
            await h.watch_offers(base, counter, stream_limit=0)


async def test_metrics(server):
    prometheus_client = pytest.importorskip("prometheus_client")
    from stellar_ob.metrics import SyncMetrics

    registry = prometheus_client.CollectorRegistry()
    async with client(server, metrics=SyncMetrics(registry=registry)) as h:
        base, counter = server.market_assets()[0]
        live = await watch(h, base, counter)
        await converge(server, live, ledgers=3)
        get = registry.get_sample_value
        labels = {"market": f"{live.base}/{live.counter}", "book": "l3"}
        assert get("stellar_ob_repages_total", labels) == live.counters.repages
        assert get("stellar_ob_offers", {**labels, "side": "ask"}) == len(live.offers("ask"))
        assert get("stellar_ob_events_total", labels) >= live.counters.trades
    assert get("stellar_ob_offers", {**labels, "side": "ask"}) is None  # removed with the market


async def test_cli_watch_l3(server, capsys):
    from stellar_ob.cli import main

    base, counter = server.market_assets()[0]
    rc = await asyncio.to_thread(main, ["watch", str(base), str(counter), "--horizon", server.url, "--l3",
                                        "--duration", "0.6", "--plain", "--rows", "3"])
    assert rc == 0
    out = capsys.readouterr().out
    assert "XLM/USD" in out and "offers" in out and "drift" in out and "pool " in out and "repages" in out
    assert "ask amount XLM" in out and "bid amount USD" in out and "Traceback" not in out


async def test_local_horizon_trades_reversed_and_one_number_cursor(server):
    """What the L3 sync relies on from the server, checked on the wire (as real Horizon answers)."""
    import aiohttp

    from stellar_ob.sse import SSEParser

    server.pause()
    base, counter = server.market_assets()[0]
    pair = server.market.pair(base, counter)
    made = sum(server.market.take(pair) for _ in range(3))
    server.close_ledger(pairs=[])
    assert made > 0
    stored = [t for t in server.market.trades if t["_pair"] == pair.key]
    async with aiohttp.ClientSession() as http:
        q = {**counter.horizon_params("base"), **base.horizon_params("counter"), "limit": "200"}
        async with http.get(server.url + "/trades", params=q) as r:
            reversed_ = (await r.json(content_type=None))["_embedded"]["records"]
        assert [t["id"] for t in reversed_] == [t["id"] for t in stored]
        for rev, t in zip(reversed_, stored):
            assert rev["base_is_seller"] is not t["base_is_seller"]
            assert (rev["base_amount"], rev["counter_amount"]) == (t["counter_amount"], t["base_amount"])
            assert rev["price"] == {"n": t["price"]["d"], "d": t["price"]["n"]}
            assert rev["base_asset_type"] == t["counter_asset_type"]
            if t["trade_type"] == "orderbook":
                assert (rev["base_offer_id"], rev["counter_offer_id"]) == (t["counter_offer_id"], t["base_offer_id"])
        # a one-number cursor skips every trade of that operation (horizon CursorInt64Pair)
        op = stored[-1]["paging_token"].partition("-")[0]
        q = {**base.horizon_params("base"), **counter.horizon_params("counter"), "cursor": op, "limit": "200"}
        async with http.get(server.url + "/trades", params=q) as r:
            assert (await r.json(content_type=None))["_embedded"]["records"] == []
        # page streams honour the fault switches: a malformed event keeps its id, then an error
        server.faults.malformed_at = 1
        server.faults.error_after = 2
        q = {**base.horizon_params("base"), **counter.horizon_params("counter"), "cursor": "0"}
        async with http.get(server.url + "/trades", params=q, headers={"Accept": "text/event-stream"}) as r:
            events = SSEParser().feed(await r.read())
    data = [e for e in events if e.event == "message"]
    assert [e.id for e in data] == [t["paging_token"] for t in stored[:2]]
    with pytest.raises(ValueError):
        json.loads(data[0].data)
    assert json.loads(data[1].data)["id"] == stored[1]["id"]
    assert events[-1].event == "error"
