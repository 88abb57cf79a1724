"""Issue 12: a live per-offer book passes the network's protocol to its quotes. The local Horizon's
/ledgers records carry ``protocol_version`` 22 (stellar_ob.testing.market), so a LiveOfferBook's
``simulate`` and ``quote_hop`` run under protocol 22, not the MAINNET_PROTOCOL default, unless the
caller says otherwise."""

from __future__ import annotations

import pytest

from stellar_ob import sync

from stellar_ob.offers import _pure as _offers_pure
from stellar_ob.sync import Horizon
from stellar_ob.sync.l3 import _ledger_protocol
from stellar_ob.testing import LocalHorizon, SimulatedMarket

pytestmark = pytest.mark.network


def test_ledger_protocol_read_strictly():
    assert _ledger_protocol(b'{"sequence": 5, "protocol_version": 23}') == 23
    for bad in (b'{"sequence": 5}', b'{"protocol_version": "23"}', b'{"protocol_version": 23.0}',
                b'{"protocol_version": 0}', b'{"protocol_version": 4294967296}', b'{"protocol_version": true}',
                b"[1]", b"not json"):
        assert _ledger_protocol(bad) is None, bad


async def test_live_offer_book_passes_the_network_protocol(monkeypatch):
    monkeypatch.setattr(sync.l3, "_offer_impl", lambda: (_offers_pure.OfferBook, _offers_pure.LiquidityPool))
    seen = []
    real_simulate, real_quote_hop = _offers_pure.OfferBook.simulate, _offers_pure.quote_hop

    def simulate(self, kind, amount, **kw):
        seen.append(("simulate", kw.get("protocol")))
        return real_simulate(self, kind, amount, **kw)

    def quote_hop(book, pool, kind, amount, **kw):
        seen.append(("quote_hop", kw.get("protocol")))
        return real_quote_hop(book, pool, kind, amount, **kw)

    market = SimulatedMarket(1, seed=3, levels=6)
    async with LocalHorizon(market, ledger_interval=0.02) as server:
        async with Horizon(server.url, backoff_base=0.01, backoff_cap=0.2, honor_server_retry=False,
                           min_reconnect_interval=0.05) as h:
            base, counter = server.market_assets()[0]
            live = await h.watch_offers(base, counter, page_limit=4, stream_limit=20)
            await live.wait_for(lambda _b: live.protocol is not None, timeout=30.0)
            server.pause()
            assert live.protocol == 22
            monkeypatch.setattr(_offers_pure.OfferBook, "simulate", simulate)
            monkeypatch.setattr(_offers_pure, "quote_hop", quote_hop)
            e = live.simulate("buy", 10_000_000, taker_sells="counter")
            q = live.quote_hop("strict_send", 10_000_000)
            live.simulate("buy", 10_000_000, taker_sells="counter", protocol=28)
            assert seen == [("simulate", 22), ("quote_hop", 22), ("simulate", 28)]
            assert e.result is not None and q.result is not None
            await live.close()
