"""Issue 19's acceptance test, in real time: outages of 3 s, 30 s and 120 s of the local Horizon with
200 markets watched through one client with its default settings. After each outage:

- every book is live again within 5 s of the server's return (p100: the last book's first event);
- while the server was down the client started fewer than 2 requests a second in total (the shared
  health probe alone asks; no market retries on its own);
- every book equals the server's.

Unlike the rest of the suite this test asserts a duration, because the 5 s bound is the connector
SLO the issue sets: the books come back in about a second here (a fifth of the bound). It runs
about 3 minutes (the downtimes themselves), is marked slow, and is skipped under the ASan/UBSan run,
whose instrumented core says nothing about reconnect times (the normal run measures them).
tests/test_sync_outage.py asserts the same behaviour without durations, on request order alone."""

from __future__ import annotations

import asyncio
import time

import aiohttp
import pytest

from conftest import UNDER_ASAN, until
from stellar_ob import OrderBook
from stellar_ob.sync import Horizon, Status
from stellar_ob.testing import LocalHorizon
from test_sync_outage import RequestLog

pytestmark = [pytest.mark.network, pytest.mark.slow,
              pytest.mark.skipif(UNDER_ASAN, reason="reconnect times are measured in the normal run")]

MARKETS = 200
DEPTH = 10
OUTAGES = (3.0, 30.0, 120.0)
BACK_WITHIN = 5.0  # s after the server's return: the connector SLO of issue 19
MAX_RATE_DOWN = 2.0  # requests a second, in total, while the server is down
LEDGER = 0.5  # s between the local Horizon's ledgers: every market keeps changing


async def test_outages_of_3_30_and_120_s_with_200_markets():
    log = RequestLog()
    async with LocalHorizon(markets=MARKETS, ledger_interval=LEDGER, levels=8, seed=19) as server, \
            aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0, limit_per_host=0),
                                  trace_configs=[log.config]) as session:
        async with Horizon(server.url, session=session) as h:  # the defaults a user gets (and a session
            # that holds every stream, as Horizon's own does: the session is only here to log requests)
            log.horizon = h
            books = [await h.watch(b, c, depth=DEPTH) for b, c in server.market_assets()]
            assert len(books) == MARKETS
            for downtime in OUTAGES:
                await until(lambda: all(b.status is Status.LIVE for b in books), "every book live", 60)
                await server.stop()
                down_at = time.monotonic()
                await asyncio.sleep(downtime)  # the outage itself, in real seconds
                requests_down = [e for e in log.entries if down_at <= e[0]]
                await server.start()
                back_wall, back = time.time(), time.monotonic()
                rate = len(requests_down) / (back - down_at)
                assert rate < MAX_RATE_DOWN, (downtime, len(requests_down), sorted({e[1] for e in requests_down}))
                assert all(path == "/" for _, path, _ in requests_down), "a market asked a server that was down"
                assert all(b.status is Status.SERVER_DOWN for b in books)
                # p100 of the return: the last book's first event after the server came back
                await until(lambda: all((b.confirmed_at or 0) >= back_wall for b in books),
                            "every book confirmed after the return", 60)
                worst = max(b.confirmed_at for b in books) - back_wall
                assert worst <= BACK_WITHIN, (downtime, worst)
                print(f"outage of {downtime:g} s: {len(requests_down)} requests while down ({rate:.2f}/s, all the "
                      f"probe's); every book live {worst:.2f} s after the return")  # shown with pytest -s
                server.pause()
                for b in books:
                    expected = OrderBook.from_horizon(server.order_book_body(b.base, b.counter, DEPTH))
                    await b.wait_for(lambda book, e=expected: book == e, timeout=60)
                    b.check()
                server.resume(LEDGER)
            assert h.health.outages == len(OUTAGES)
