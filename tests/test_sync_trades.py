"""Live trades (issue 17): Horizon.watch_trades over the local Horizon's /trades stream."""

from __future__ import annotations

import asyncio

import pytest

from stellar_ob.errors import HorizonError
from stellar_ob.horizon import Trade, parse_trades
from stellar_ob.sync import ArgumentError, Horizon, LiveTrades, Status, TradesUpdate
from stellar_ob.testing import LocalHorizon

pytestmark = pytest.mark.network

TIMEOUT = 60.0


def client(server: LocalHorizon, **kw) -> Horizon:
    kw.setdefault("backoff_base", 0.01)
    kw.setdefault("backoff_cap", 0.2)
    kw.setdefault("honor_server_retry", False)
    kw.setdefault("min_reconnect_interval", 0.02)
    return Horizon(server.url, **kw)


def _key(t: Trade) -> tuple[int, int]:
    a, b = t.paging_token.split("-")
    return int(a), int(b)


async def _server_trades(h: Horizon, live: LiveTrades) -> list[Trade]:
    """The server's trades of the pair (newest 200, oldest first), read over REST by the same parser."""
    params = {**live.base.horizon_params("base"), **live.counter.horizon_params("counter"), "order": "desc",
              "limit": "200"}
    body, _ = await h.get_json("/trades", params)
    return list(reversed(parse_trades(body)))


@pytest.mark.parametrize("faults", [{}, {"page_byebye_after": 3}, {"page_byebye_after": 2, "malformed_at": 2},
                                    {"cut_after": 2}])
async def test_every_trade_once_in_order_across_reconnects(faults):
    """From cursor=now, every trade the server made afterwards arrives once, in order, equal to the
    server's record, however often the stream is closed, cut or sends a broken event."""
    async with LocalHorizon(markets=1, seed=2, ledger_interval=0.02) as server:
        async with client(server) as h:
            base, counter = server.market_assets()[0]
            got: list[Trade] = []
            for name, value in faults.items():
                setattr(server.faults, name, value)
            live = await h.watch_trades(base, counter, on_update=lambda u: got.extend(u.trades))
            assert live.loaded and live.status in (Status.LIVE, Status.BACKING_OFF, Status.CONNECTING)
            await live.wait_for(lambda _b: live.counters.trades >= 30, timeout=TIMEOUT)
            server.pause()
            for name in faults:
                setattr(server.faults, name, None)
            expected = [t for t in await _server_trades(h, live) if _key(t) >= _key(got[0])]
            await live.wait_for(lambda _b: live.counters.trades >= len(expected), timeout=TIMEOUT)
            assert got == expected
            assert [_key(t) for t in got] == sorted({_key(t) for t in got})
            assert list(live.recent) == got[-len(live.recent):] and live.last == got[-1]
            assert live.last_paging_token == got[-1].paging_token
            assert all({t.base_asset, t.counter_asset} == {live.base, live.counter} for t in got)
            if faults:
                assert live.counters.reconnects >= 1
            if "malformed_at" in faults:
                assert live.counters.parse_errors >= 1
        assert live.status is Status.CLOSED


async def test_updates_iterator_coalesces_without_losing_trades():
    async with LocalHorizon(markets=1, seed=2, ledger_interval=0.02) as server:
        async with client(server) as h:
            live = await h.watch_trades(*server.market_assets()[0])
            stream = live.updates()
            seen: list[Trade] = []
            await live.wait_for(lambda _b: live.counters.trades >= 10, timeout=TIMEOUT)  # nobody read yet
            while len(seen) < live.counters.trades:
                u = await asyncio.wait_for(stream.__anext__(), TIMEOUT)
                assert isinstance(u, TradesUpdate) and u.dropped == 0
                seen.extend(u.trades)
            assert seen[:10] == list(live.recent)[:10]
            stream.close()


async def test_trades_metrics_and_a_pair_without_trades():
    prometheus_client = pytest.importorskip("prometheus_client")
    from stellar_ob.metrics import SyncMetrics

    registry = prometheus_client.CollectorRegistry()
    async with LocalHorizon(markets=1, seed=2, ledger_interval=0.02) as server:
        async with client(server, metrics=SyncMetrics(registry=registry)) as h:
            base, counter = server.market_assets()[0]
            live = await h.watch_trades(base, counter)
            await live.wait_for(lambda _b: live.counters.trades >= 3, timeout=TIMEOUT)
            labels = {"market": f"{live.base}/{live.counter}", "book": "trades"}
            assert registry.get_sample_value("stellar_ob_events_total", labels) >= 3
            assert registry.get_sample_value("stellar_ob_book_live", labels) == 1.0
            quiet = await h.watch_trades("XLM", "NONE:" + server.market_assets()[0][1].issuer)
            assert quiet.status is Status.LIVE and quiet.counters.trades == 0


@pytest.mark.parametrize("kw", [{"stream_limit": 0}, {"stream_limit": 201}, {"history": 0},
                                {"history": True}, {"on_update": 3}, {"load_timeout": -1}])
async def test_bad_watch_trades_arguments(kw):
    async with Horizon("http://127.0.0.1:1") as h:
        with pytest.raises(ArgumentError):
            await h.watch_trades("XLM", "USDC:GA5ZSEJYB37JRC5AVCIA5MOP4RHTM335X2KGX3IHOJAPP5RE34K4KZVN", **kw)


async def test_a_server_that_is_away_fails_the_watch_in_time():
    async with Horizon("http://127.0.0.1:1", backoff_cap=0.05) as h:
        with pytest.raises(HorizonError):
            await h.watch_trades("XLM", "USDC:GA5ZSEJYB37JRC5AVCIA5MOP4RHTM335X2KGX3IHOJAPP5RE34K4KZVN",
                                 load_timeout=0.5)
        assert h.trade_streams == []
