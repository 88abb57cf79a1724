"""Prometheus metrics of the sync layer (optional extra)."""

from __future__ import annotations

import pytest

from stellar_ob.sync import Horizon
from stellar_ob.testing import LocalHorizon

prometheus_client = pytest.importorskip("prometheus_client")
pytestmark = pytest.mark.network


async def test_metrics_follow_a_live_book():
    from stellar_ob.metrics import SyncMetrics

    registry = prometheus_client.CollectorRegistry()
    metrics = SyncMetrics(registry=registry)
    async with LocalHorizon(markets=1, ledger_interval=0.02) as server:
        server.faults.byebye_after = 2
        base, counter = server.market_assets()[0]
        async with Horizon(server.url, metrics=metrics) as h:
            live = await h.watch(base, counter, depth=10)
            await live.wait_for(lambda _b: live.counters.reconnects >= 2 and live.counters.updates >= 3, timeout=30)
            get = registry.get_sample_value
            labels = {"market": live.name}
            assert get("stellar_ob_update_latency_seconds_count", labels) >= 3
            assert get("stellar_ob_reconnects_total", labels) >= 2
            assert get("stellar_ob_events_total", labels) >= 3
            assert 0 <= get("stellar_ob_book_age_seconds", labels) < 30
            assert get("stellar_ob_levels", {"market": live.name, "side": "bid"}) == 10
            text = prometheus_client.generate_latest(registry).decode()
            assert 'stellar_ob_book_info{base="native"' in text
        assert get("stellar_ob_book_age_seconds", labels) is None  # removed with the market
