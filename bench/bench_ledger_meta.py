"""LedgerCloseMeta from the simulated market (issue 14): what encoding a ledger costs.

    pytest bench/bench_ledger_meta.py --benchmark-only -p no:cacheprovider
    pytest bench/bench_ledger_meta.py --benchmark-disable -q     # smoke: each body once

1,000 markets (XLM against 1,000 credit assets, 20 levels a side, 1-4 maker changes a market a
ledger, a taker on 30% of them, a pool swap on 10%):

- ``market_close``: the baseline, SimulatedMarket.close_ledger (the market's own activity, what
  the local Horizon does every ledger);
- ``ledger_market_close``: LedgerMarket.close_ledger, the same activity plus its LedgerCloseMeta;
- ``encode_only``: one recorded ledger's events (about 4,000 operations) encoded again each round.

The medians and the ratio ledger_market_close / market_close are printed at the end; nothing here
asserts on time.
"""

from __future__ import annotations

from typing import Dict

import pytest

from stellar_ob.testing.ledger_meta import LedgerMarket
from stellar_ob.testing.market import SimulatedMarket

MARKETS = 1000
_MEDIANS: Dict[str, float] = {}


@pytest.fixture(scope="module", autouse=True)
def report():
    yield
    if not _MEDIANS:
        return
    print()
    for name, med in _MEDIANS.items():
        print(f"  {name:<22} median {med * 1000:8.1f} ms")
    if {"market_close", "ledger_market_close"} <= set(_MEDIANS):
        print(f"  ledger_market_close / market_close = {_MEDIANS['ledger_market_close'] / _MEDIANS['market_close']:.2f}")


def _keep(benchmark, name: str) -> None:
    stats = getattr(benchmark, "stats", None)
    if stats is not None and getattr(stats, "stats", None) is not None:
        _MEDIANS[name] = stats.stats.median


def test_ledger_meta_market_close(benchmark):
    m = SimulatedMarket(MARKETS, seed=1)
    benchmark.pedantic(m.close_ledger, rounds=7, iterations=1, warmup_rounds=1)
    _keep(benchmark, "market_close")


def test_ledger_meta_ledger_market_close(benchmark):
    m = LedgerMarket(MARKETS, seed=1, start_time=1_700_000_000, keep=2)
    m.close_ledger()  # the first ledger creates every market's offers and pool: not a typical ledger
    benchmark.pedantic(m.close_ledger, rounds=7, iterations=1, warmup_rounds=1)
    _keep(benchmark, "ledger_market_close")


def test_ledger_meta_encode_only(benchmark):
    m = LedgerMarket(MARKETS, seed=1, start_time=1_700_000_000, keep=2, failed_probability=0.0)
    m.close_ledger()
    # record one ordinary ledger's events, then encode them again every round
    journal = m.journal
    SimulatedMarket.close_ledger(m)
    events = list(journal or [])
    record = dict(m.ledgers[-1])

    def encode() -> bytes:
        m.journal = list(events)
        return m._encode_ledger(dict(record))

    meta = benchmark.pedantic(encode, rounds=7, iterations=1, warmup_rounds=1)
    assert len(meta) > MARKETS * 100 and len(events) > MARKETS
    _keep(benchmark, "encode_only")
