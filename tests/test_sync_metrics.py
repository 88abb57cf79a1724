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
        async with Horizon(server.url, metrics=metrics, min_reconnect_interval=0.05) as h:
            live = await h.watch(base, counter, depth=10)
            await live.wait_for(lambda _b: live.counters.reconnects >= 2 and live.counters.updates >= 3, timeout=30)
            get = registry.get_sample_value
            labels = {"market": f"{base}/{counter}", "book": "l2"}
            assert get("stellar_ob_update_latency_seconds_count", labels) >= 3
            assert get("stellar_ob_reconnects_total", labels) >= 2
            assert get("stellar_ob_events_total", labels) >= 3
            assert 0 <= get("stellar_ob_book_age_seconds", labels) < 30
            assert get("stellar_ob_levels", {**labels, "side": "bid"}) == 10
            text = prometheus_client.generate_latest(registry).decode()
            assert 'stellar_ob_book_info{base="native"' in text
        assert get("stellar_ob_book_age_seconds", labels) is None  # removed with the market


def _samples(registry, market: str | None = None, book: str | None = None) -> list:
    out = []
    for family in registry.collect():
        for s in family.samples:
            if (market is None or s.labels.get("market") == market) and (book is None or s.labels.get("book") == book):
                out.append(s)
    return out


def _keys(samples):
    return {(s.name, tuple(sorted(s.labels.items()))) for s in samples}


async def test_labels_are_unique_per_market_and_unwatch_removes_every_series():
    """40 markets, two of them USDC of different issuers; L2 and L3 books and a market watched twice.
    Each book gets its own series (issuers in the label), and unwatching a book removes every one
    of its samples and nothing of anyone else's."""
    from stellar_ob.metrics import SyncMetrics
    from stellar_ob.testing import SimulatedMarket, account_id, default_pairs

    registry = prometheus_client.CollectorRegistry()
    metrics = SyncMetrics(registry=registry)
    usdc_a, usdc_b = f"USDC:{account_id('issuer-a')}", f"USDC:{account_id('issuer-b')}"
    pairs = [("XLM", usdc_a), ("XLM", usdc_b)] + [(str(b), str(c)) for b, c in default_pairs(38)]
    market = SimulatedMarket(pairs, seed=4, levels=4)
    async with LocalHorizon(market, ledger_interval=0.1) as server:
        server.faults.byebye_after = 3  # reconnects, so every kind of series shows up
        server.faults.page_byebye_after = 1
        server.faults.malformed_at = 2  # errors too
        async with Horizon(server.url, metrics=metrics, min_reconnect_interval=0.05, backoff_base=0.01,
                           backoff_cap=0.1) as h:
            assets = server.market_assets()
            l2 = [await h.watch(b, c, depth=5) for b, c in assets]
            twice = await h.watch(*assets[0], depth=3)
            l3 = [await h.watch_offers(b, c, page_limit=4) for b, c in assets[:3]]
            books = l2 + [twice] + l3
            for live in books:
                await live.wait_for(lambda _b, live=live: live.counters.reconnects >= 1, timeout=30)
            await l2[0].wait_for(lambda _b: l2[0].counters.parse_errors >= 1, timeout=30)
            labels = [metrics.labels(live) for live in books]
            assert len(set(labels)) == len(books)
            assert labels[0] == (f"native/{usdc_a}", "l2") and labels[1] == (f"native/{usdc_b}", "l2")
            assert labels[40] == (f"native/{usdc_a}", "l2#2") and labels[41] == (f"native/{usdc_a}", "l3")
            get = registry.get_sample_value
            assert get("stellar_ob_reconnects_total", {"market": f"native/{usdc_a}", "book": "l2"}) >= 1
            assert get("stellar_ob_reconnects_total", {"market": f"native/{usdc_b}", "book": "l2"}) >= 1
            assert get("stellar_ob_errors_total", {"market": f"native/{usdc_a}", "book": "l2",
                                                   "kind": "ParseError"}) >= 1
            before = _keys(_samples(registry))
            b_l2 = _samples(registry, f"native/{usdc_b}", "l2")
            b_l3 = _samples(registry, f"native/{usdc_b}", "l3")
            assert len(b_l2) >= 10 and b_l3  # (latency buckets, events, levels, info, age ...)
            await h.unwatch(l2[1])  # the L2 book of USDC of issuer b
            assert _samples(registry, f"native/{usdc_b}", "l2") == []
            # nothing of anyone else's went (the other books keep running, so new series may appear)
            assert before - _keys(b_l2) <= _keys(_samples(registry))
            assert len(_samples(registry, f"native/{usdc_b}", "l3")) >= len(b_l3)  # its L3 book keeps its own
            a_before = len(_samples(registry, f"native/{usdc_a}"))
            await h.unwatch(twice)
            assert _samples(registry, f"native/{usdc_a}", "l2#2") == []
            assert 0 < len(_samples(registry, f"native/{usdc_a}")) < a_before  # l2 and l3 of issuer a remain
            server.pause()
        # every book closed: not one sample of any market is left
        assert [s for s in _samples(registry) if "market" in s.labels] == []


async def test_callback_time_shows_a_slow_consumer():
    """Every update of a book with an on_update callback observes the time its callbacks took
    (stellar_ob_callback_seconds); a callback that sleeps 20 ms lands in no bucket under 10 ms
    (sleep lasts at least that long: a lower bound, not a race), and a book without callbacks
    has no such series."""
    import time

    from stellar_ob.metrics import SyncMetrics

    registry = prometheus_client.CollectorRegistry()
    metrics = SyncMetrics(registry=registry)
    async with LocalHorizon(markets=2, ledger_interval=0.02) as server:
        (b0, c0), (b1, c1) = server.market_assets()[:2]
        async with Horizon(server.url, metrics=metrics) as h:
            slow = await h.watch(b0, c0, depth=10, on_update=lambda _u: time.sleep(0.02))
            quiet = await h.watch(b1, c1, depth=10)
            await slow.wait_for(lambda _b: slow.counters.updates >= 3, timeout=30)
            await quiet.wait_for(lambda _b: quiet.counters.updates >= 3, timeout=30)
            get = registry.get_sample_value
            labels = {"market": f"{b0}/{c0}", "book": "l2"}
            n = get("stellar_ob_callback_seconds_count", labels)
            assert n is not None and n >= 3
            assert n == slow.counters.updates
            assert get("stellar_ob_callback_seconds_bucket", {**labels, "le": "0.01"}) == 0
            assert get("stellar_ob_callback_seconds_sum", labels) >= 0.02 * n
            assert slow.callback_seconds >= 0.02 * n
            assert get("stellar_ob_callback_seconds_count", {"market": f"{b1}/{c1}", "book": "l2"}) is None
            assert quiet.callback_seconds == 0.0
