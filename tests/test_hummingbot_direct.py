"""The Hummingbot source's hop from a live book to the tracker's queue (issue 18): each update is
converted and put on the queue in the sync's own call stack, not in the market's task woken
through ``live.updates()``; what the conversion raises still restarts the market, and the
market's task still sees its live book fail or close. Skipped without Hummingbot (as
test_hummingbot.py). No check depends on timing: each waits for a state with a deadline.
"""

from __future__ import annotations

import asyncio
import os

import pytest

from stellar_ob.hummingbot_convert import INSTALL_COMMAND

REQUIRE = os.environ.get("STELLAR_OB_REQUIRE_HUMMINGBOT") == "1"
try:
    from hummingbot.core.data_type.order_book_message import OrderBookMessageType

    from stellar_ob.hummingbot import AssetTable, StellarOrderBookDataSource
except ImportError as _e:  # pragma: no cover - depends on the environment
    if REQUIRE:
        pytest.fail(f"STELLAR_OB_REQUIRE_HUMMINGBOT=1 but Hummingbot cannot be imported ({_e}); "
                    f"install it with: {INSTALL_COMMAND}", pytrace=False)
    pytest.skip(f"Hummingbot is not installed; to run these tests: {INSTALL_COMMAND}", allow_module_level=True)

from stellar_ob.sync import stream as sync_stream
from stellar_ob.testing import LocalHorizon, SimulatedMarket
from conftest import until as _until

pytestmark = pytest.mark.network

TIMEOUT = 30.0
FAST = {"backoff_base": 0.01, "backoff_cap": 0.1, "honor_server_retry": False, "min_reconnect_interval": 0.01}


async def until(predicate, what: str) -> None:
    await _until(predicate, what, TIMEOUT)


@pytest.mark.parametrize("lean", [True, False], ids=["lean-reader", "aiohttp-reader"])
async def test_updates_reach_the_queue_outside_the_market_task_and_a_raising_conversion_restarts(
        impl, monkeypatch, lean):
    monkeypatch.setattr(sync_stream, "_LEAN_READ", lean)
    async with LocalHorizon(SimulatedMarket(1, seed=21, levels=10, taker_probability=0.5),
                            ledger_interval=None) as server:
        base, counter = server.market_assets()[0]
        table = AssetTable.from_assets([base, counter])
        pair = table.trading_pair(base, counter)
        source = StellarOrderBookDataSource([pair], table, horizon_url=server.url, horizon_options=FAST,
                                            trade_feed=None)
        tasks_seen: list = []
        fail = {"left": 0}
        real = source._on_update

        def on_update(m, update):  # type: ignore[no-untyped-def]
            tasks_seen.append(asyncio.current_task())
            if fail["left"]:
                fail["left"] -= 1
                raise RuntimeError("a conversion bug")
            real(m, update)

        monkeypatch.setattr(source, "_on_update", on_update)
        out: asyncio.Queue = asyncio.Queue()
        subs = asyncio.create_task(source.listen_for_subscriptions())
        diffs = asyncio.create_task(source.listen_for_order_book_diffs(None, out))
        try:
            snap = await asyncio.wait_for(source._order_book_snapshot(pair), TIMEOUT)
            assert snap.type is OrderBookMessageType.SNAPSHOT
            market_task = next(t for t in asyncio.all_tasks() if "_run_market" in repr(t.get_coro()))

            def diff_count() -> int:
                return source.counters(pair).diffs

            for _ in range(5):
                before = diff_count()
                server.close_ledger()
                await until(lambda: diff_count() > before or source.exact_book(pair) == _server_book(server, source),
                            "no update reached the source")
            assert tasks_seen and all(t is not market_task for t in tasks_seen)
            assert out.qsize() >= 1 and source.counters(pair).restarts == 0

            fail["left"] = 1
            restarts = source.counters(pair).restarts
            server.close_ledger()
            await until(lambda: source.counters(pair).restarts > restarts, "the raising conversion restarted nothing")
            # watched again: a new live book, and updates flow again
            await until(lambda: source.exact_book(pair) is not None, "the market was not loaded again")
            server.close_ledger()
            await until(lambda: source.exact_book(pair) == _server_book(server, source), "the market did not catch up")
        finally:
            subs.cancel()
            diffs.cancel()
            await asyncio.gather(subs, diffs, return_exceptions=True)
            await source.close()


def _server_book(server: LocalHorizon, source):  # type: ignore[no-untyped-def]
    from stellar_ob import OrderBook

    live = next(iter(source._markets.values())).live
    if live is None:
        return None
    return OrderBook.from_horizon(server.order_book_body(live.base, live.counter, live.depth))
