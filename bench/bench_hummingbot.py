"""stellar_ob feeding Hummingbot: a Horizon event's bytes -> Hummingbot's OrderBook updated.

Two measurements, one run (``python -m bench.bench_hummingbot [--rounds 2000]`` from the repo
root; needs Hummingbot: ``stellar_ob.hummingbot_convert.INSTALL_COMMAND``):

1. **Loopback, end to end.** A local Horizon in its own process (as Horizon would be) serves a
   200+200-level market; Hummingbot's real ``OrderBookTracker`` runs our
   ``StellarOrderBookDataSource`` against it. Each round closes one ledger (one offer changes);
   the server stamps ``time.perf_counter_ns()`` just before it writes the /order_book event, the
   tracker's OrderBook stamps right after its ``apply_diffs`` returns (CLOCK_MONOTONIC is shared
   by the two processes). Target: p50 <= 300 us. The path: socket, aiohttp, SSE parse, the C
   scanner (``apply_horizon``), the update handed to the adapter (in the sync's own call stack),
   the conversion, the tracker's diff router and
   per-market task, ``apply_diffs``.
2. **In process, the same messages, side by side.** The event bodies of the same kind of market,
   one ledger apart, each through (a) ours: ``apply_horizon`` + ``HummingbotBook.apply`` + the
   DIFF message + ``OrderBook.apply_diffs``; (b) Hummingbot's own path, what a float connector
   does: ``json.loads`` + ``float()`` of every price and amount + the changed rows against the
   previous floats + ``apply_diffs``. Medians per message. (b) is also wrong: bid amounts stay
   in counter units and prices are Horizon's 7-decimal strings; it is timed, not trusted.

``pytest bench/bench_hummingbot.py`` runs (2) as pytest-benchmark functions (skipped without
Hummingbot).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any, List

P50_TARGET_US = 300
LEVELS = 200
REPO = Path(__file__).resolve().parent.parent


# ---------------------------------------------------------------------------------------------
# the two in-process paths


def market_bodies(count: int, seed: int = 11) -> List[bytes]:
    """``count`` + 1 /order_book event bodies (compact, as SSE carries them) of one 200+200
    market, one ledger apart (one offer placed, changed or cancelled per ledger)."""
    from stellar_ob.testing import SimulatedMarket

    market = SimulatedMarket(markets=1, seed=seed, levels=LEVELS, changes_per_ledger=(1, 1), taker_probability=0.0)
    pair = next(iter(market.pairs.values()))
    bodies = [json.dumps(market.order_book_doc(pair, 200), separators=(",", ":")).encode()]
    while len(bodies) <= count:
        market.close_ledger()
        body = json.dumps(market.order_book_doc(pair, 200), separators=(",", ":")).encode()
        if body != bodies[-1]:
            bodies.append(body)
    return bodies


class OursPath:
    """Bytes -> exact book (C scanner) -> converted rows -> DIFF message -> Hummingbot's book."""

    def __init__(self, first: bytes) -> None:
        from hummingbot.core.data_type.order_book import OrderBook as HBOrderBook
        from hummingbot.core.data_type.order_book_message import OrderBookMessage, OrderBookMessageType

        from stellar_ob import OrderBook
        from stellar_ob.hummingbot_convert import HummingbotBook, diff_content

        self.book = OrderBook.from_horizon(first)
        self.hb = HummingbotBook()
        self.ob = HBOrderBook()
        rows = self.hb.load(self.book)
        self.Message, self.DIFF, self.diff_content = OrderBookMessage, OrderBookMessageType.DIFF, diff_content
        msg = OrderBookMessage(OrderBookMessageType.SNAPSHOT, self.hb.snapshot_content("XLM-USD", 1), 0.0)
        self.ob.apply_snapshot(msg.bids, msg.asks, 1)
        self.uid = 1
        assert rows

    def __call__(self, body: bytes) -> None:
        self.uid += 1
        rows = self.hb.apply(self.book.apply_horizon(body))
        msg = self.Message(self.DIFF, self.diff_content("XLM-USD", self.uid, rows), 0.0)
        self.ob.apply_diffs(msg.bids, msg.asks, self.uid)


class HummingbotPath:
    """Bytes -> json.loads -> float(price), float(amount) -> rows that changed -> apply_diffs."""

    def __init__(self, first: bytes) -> None:
        from hummingbot.core.data_type.order_book import OrderBook as HBOrderBook
        from hummingbot.core.data_type.order_book_row import OrderBookRow

        self.Row = OrderBookRow
        self.ob = HBOrderBook()
        doc = json.loads(first)
        self.bids = {float(lv["price"]): float(lv["amount"]) for lv in doc["bids"]}
        self.asks = {float(lv["price"]): float(lv["amount"]) for lv in doc["asks"]}
        self.ob.apply_snapshot([OrderBookRow(p, a, 1) for p, a in self.bids.items()],
                               [OrderBookRow(p, a, 1) for p, a in self.asks.items()], 1)
        self.uid = 1

    def _changes(self, old: dict, new: dict, uid: int) -> list:
        Row = self.Row
        rows = [Row(p, a, uid) for p, a in new.items() if old.get(p) != a]
        rows += [Row(p, 0.0, uid) for p in old if p not in new]
        return rows

    def __call__(self, body: bytes) -> None:
        self.uid += 1
        doc = json.loads(body)
        bids = {float(lv["price"]): float(lv["amount"]) for lv in doc["bids"]}
        asks = {float(lv["price"]): float(lv["amount"]) for lv in doc["asks"]}
        self.ob.apply_diffs(self._changes(self.bids, bids, self.uid), self._changes(self.asks, asks, self.uid), self.uid)
        self.bids, self.asks = bids, asks


def time_paths(bodies: List[bytes], repeats: int = 5) -> dict:
    """Per-message ns of both paths over the same bodies, interleaved; returns the samples."""
    out: dict = {"ours": [], "hummingbot": []}
    perf = time.perf_counter_ns
    for _ in range(repeats):
        paths = {"ours": OursPath(bodies[0]), "hummingbot": HummingbotPath(bodies[0])}
        for body in bodies[1:]:
            for name, path in paths.items():
                t0 = perf()
                path(body)
                out[name].append(perf() - t0)
    return out


# ---------------------------------------------------------------------------------------------
# pytest-benchmark (bench/ quick pass; the report)


def _hummingbot_or_skip() -> None:
    from bench.conftest import _need
    from stellar_ob.hummingbot_convert import INSTALL_COMMAND

    _need("stellar_ob.hummingbot", f"to run it: {INSTALL_COMMAND}")


def _cycle(path_cls: Any, bodies: List[bytes]) -> Any:
    """Bodies forward then back, so the book returns to where it started every pass."""
    import itertools

    path = path_cls(bodies[0])
    nxt = itertools.cycle(bodies[1:] + bodies[-2::-1]).__next__
    return lambda: path(nxt())


def test_hummingbot_ours_bytes_to_book(benchmark):
    _hummingbot_or_skip()
    benchmark(_cycle(OursPath, market_bodies(50)))


def test_hummingbot_json_float_apply_diffs(benchmark):
    _hummingbot_or_skip()
    benchmark(_cycle(HummingbotPath, market_bodies(50)))


def test_hummingbot_loopback_runs():
    """The end-to-end measurement itself, a few rounds (no timing asserted: that is main()'s job)."""
    _hummingbot_or_skip()
    rows = asyncio.run(_client_main(20))
    assert len(rows) == 20 and all(r[0] < r[1] <= r[2] <= r[3] <= r[4] <= r[5] for r in rows)


# ---------------------------------------------------------------------------------------------
# loopback, end to end


async def _server_main() -> None:
    """Child process: a LocalHorizon with a 200+200 book; closes a ledger per stdin line and
    prints the write stamp of every /order_book event."""
    from stellar_ob.testing import LocalHorizon

    server = LocalHorizon(markets=1, ledger_interval=None, levels=LEVELS, seed=11)
    server.faults.byebye_after = 10**9  # measure the update path, not Horizon's 10-event goodbyes
    server.market.changes_per_ledger = (1, 1)
    server.market.taker_probability = 0.0
    server.on_event_written = lambda key, ns: print(f"W {ns}", flush=True)
    await server.start()
    base, counter = server.market_assets()[0]
    print(f"URL {server.url} {base} {counter}", flush=True)
    loop = asyncio.get_running_loop()
    while True:
        line = await loop.run_in_executor(None, sys.stdin.readline)
        if not line or line.strip() == "Q":
            break
        server.close_ledger()
    await server.stop()


async def _client_main(rounds: int) -> List[tuple]:
    """Rounds of (write, received, exact book applied, adapter got the update, message sent,
    Hummingbot applied) stamps in ns. The middle stamps come from a subclass that wraps the data
    source's update handler: instrumentation only, the path is the same."""
    from hummingbot.core.data_type.order_book import OrderBook as HBOrderBook
    from hummingbot.core.data_type.order_book_tracker import OrderBookTracker

    from stellar_ob.hummingbot import AssetTable, StellarOrderBookDataSource

    proc = await asyncio.create_subprocess_exec(sys.executable, "-m", "bench.bench_hummingbot", "--server",
                                                stdin=subprocess.PIPE, stdout=subprocess.PIPE, cwd=REPO)
    assert proc.stdout is not None and proc.stdin is not None
    _, url, base, counter = (await proc.stdout.readline()).decode().split()
    applied: asyncio.Queue = asyncio.Queue()
    marks: dict = {}
    perf = time.perf_counter_ns

    class StampedBook(HBOrderBook):
        def apply_diffs(self, bids, asks, update_id):
            super().apply_diffs(bids, asks, update_id)
            applied.put_nowait(perf())

    class StampedSource(StellarOrderBookDataSource):
        def _on_update(self, m, update):
            got = perf()
            super()._on_update(m, update)
            marks.update(received=update.received_ns, exact=update.applied_ns, got=got, sent=perf())

    table = AssetTable.from_assets([base, counter])
    pair = table.trading_pair(base, counter)
    source = StampedSource([pair], table, horizon_url=url)
    source.order_book_create_function = StampedBook
    tracker = OrderBookTracker(source, [pair])
    rows: List[tuple] = []
    tracker.start()
    try:
        await asyncio.wait_for(tracker.wait_ready(), 30)
        await proc.stdout.readline()  # the first event's write stamp (the load)
        book = tracker.order_books[pair]
        assert len(list(book.bid_entries())) == LEVELS and len(list(book.ask_entries())) == LEVELS
        for i in range(rounds + 50):
            proc.stdin.write(b"L\n")
            await proc.stdin.drain()
            w = int((await proc.stdout.readline()).split()[1])
            a = await asyncio.wait_for(applied.get(), 10)
            if i >= 50:  # warm-up
                rows.append((w, marks["received"], marks["exact"], marks["got"], marks["sent"], a))
    finally:
        tracker.stop()
        await source.close()
        proc.stdin.write(b"Q\n")
        await proc.stdin.drain()
        await proc.wait()
    return rows


def _pct(xs: List[int], q: float) -> float:
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(q * len(xs)))] / 1000


def main(argv: List[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rounds", type=int, default=2000, help="end-to-end rounds (default 2000)")
    ap.add_argument("--messages", type=int, default=400, help="in-process messages per repeat (default 400)")
    ap.add_argument("--server", action="store_true", help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.server:
        asyncio.run(_server_main())
        return 0
    import stellar_ob

    rows = asyncio.run(_client_main(args.rounds))
    lat = [r[5] - r[0] for r in rows]
    samples = time_paths(market_bodies(args.messages))
    ours, theirs = statistics.median(samples["ours"]) / 1000, statistics.median(samples["hummingbot"]) / 1000
    p50 = _pct(lat, 0.5)
    load = open("/proc/loadavg").read().split()[0] if sys.platform == "linux" else "?"
    print(f"Hummingbot data source, 200+200-level market, core={stellar_ob.IMPLEMENTATION}, load average {load}")
    print(f"loopback, Horizon event write -> Hummingbot OrderBook.apply_diffs done, n={len(lat)}:")
    print(f"  p50 {p50:8.1f} us   (target <= {P50_TARGET_US})   p90 {_pct(lat, 0.9):8.1f} us   "
          f"p99 {_pct(lat, 0.99):8.1f} us   max {max(lat) / 1000:8.1f} us")
    print("  where the median goes (medians of each segment):")
    for name, i, j in (("write -> last byte read (socket, aiohttp)", 0, 1),
                       ("SSE parse + apply_horizon (C scanner) + diff", 1, 2),
                       ("the live book hands the update to the adapter", 2, 3),
                       ("convert + DIFF message, into the tracker's queue", 3, 4),
                       ("tracker: diff router, per-market task, apply_diffs", 4, 5)):
        print(f"    {name:52s} {statistics.median(r[j] - r[i] for r in rows) / 1000:8.1f} us")
    print(f"in process, the same kind of message, median per message (n={len(samples['ours'])} each):")
    print(f"  ours: apply_horizon + convert + DIFF message + apply_diffs           {ours:8.1f} us")
    print(f"  Hummingbot's path: json.loads + float() + changed rows + apply_diffs {theirs:8.1f} us"
          f"   ({theirs / ours:.1f}x ours)")
    ok = p50 <= P50_TARGET_US
    print("OK" if ok else "MISSED")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
