"""The ledger source under load (issue 14): many markets followed through one Stellar RPC.

The server (a child process: its CPU is not the client's) is a LedgerMarket of ``markets`` pairs
served by a LocalRpc; it closes a ledger every ``ledger_interval`` s in which ``change_share`` of
the markets get one or two maker actions each (hundreds of offer changes at 10,000 markets), and
reports for each ledger the time it became available (appended to the RPC, ``time.monotonic()``,
system-wide on Linux; appended once the server has worked out which books changed, so the
server's own bookkeeping is not counted as the client's latency) and which markets' Horizon-grouped books changed. The client (this process)
runs one :class:`stellar_ob.ledger.Follow` and watches every market (``grouping="horizon"``,
200 levels). Measured:

- per changed market and ledger: ledger available -> the market's update at the caller
  (``on_update``), p50/p99/max; it includes the tip polling delay (``poll_interval``), so the
  bytes -> update part (``received_ns`` -> ``applied_ns``) is reported too;
- changes missed (a changed market without its update in that ledger) and, at the end, a sample
  of books compared with the server's;
- client CPU as a share of one core (process time / wall time over the measured part), RSS;
- requests the server counted, by method: getLedgers per ledger for the whole DEX, against the
  >= 3 requests per market per ledger an L3 Horizon book costs (reported as the comparison).
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import json
import multiprocessing as mp
import os
import random
import resource
import sys
import time
from array import array
from dataclasses import dataclass
from typing import Any, AsyncIterator, Callable, Dict, List


@dataclass
class LedgerLoadConfig:
    markets: int = 10_000
    levels: int = 5  #: offers a side in each simulated market
    #: each market's offer count reverts to 2 * levels (SimulatedMarket(stationary=True)): left to
    #: drift, 10,000 markets of 10 offers grow by 16% in 720 ledgers, and the client's RSS with them
    stationary: bool = True
    ledgers: int = 60
    ledger_interval: float = 5.0
    change_share: float = 0.03
    poll_interval: float = 0.02
    seed: int = 1
    sample_books: int = 50
    #: the application's choice, not the library's: gc.freeze() once every market is watched (the
    #: books made so far leave the collector's generations; full collections skip them)
    gc_freeze: bool = False


class _Histogram:
    """Latencies in fixed bins of 0.05 ms up to 10 s (one preallocated array: no growth with the
    run); a quantile is the upper edge of its bin (0.05 ms resolution), the max exact."""

    STEP = 5e-5
    BINS = 200_000

    def __init__(self) -> None:
        from array import array

        self.counts = array("q", bytes(8 * (self.BINS + 1)))
        self.n = 0
        self.max = 0.0

    def add(self, seconds: float) -> None:
        self.counts[min(self.BINS, max(0, int(seconds / self.STEP)))] += 1
        self.n += 1
        if seconds > self.max:
            self.max = seconds

    def quantile(self, q: float) -> float:
        if not self.n:
            return float("nan")
        rank = min(self.n - 1, int(q * self.n))  # the element a sorted list would give at int(q * n)
        seen = 0
        for b, c in enumerate(self.counts):
            seen += c
            if seen > rank:
                return min(self.max, (b + 1) * self.STEP)
        return self.max


def _rss_mb() -> float:
    try:
        with open("/proc/self/statm") as f:
            return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 1e6
    except OSError:
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1e3


@functools.lru_cache(maxsize=None)
def _mallinfo2() -> Any:
    """glibc's mallinfo2 with its result type, looked up once (None off glibc): a ctypes
    Structure class made per sample would be garbage of the client the soak measures."""
    import ctypes

    class _MallInfo2(ctypes.Structure):
        _fields_ = [(n, ctypes.c_size_t) for n in ("arena", "ordblks", "smblks", "hblks", "hblkhd", "usmblks",
                                                    "fsmblks", "uordblks", "fordblks", "keepcost")]

    try:
        f = ctypes.CDLL(None).mallinfo2
    except (OSError, AttributeError, TypeError):
        return None
    f.restype = _MallInfo2
    return f


def _malloc_in_use_mb() -> float | None:
    """The C heap in use (glibc mallinfo2: every arena's allocated chunks plus mmapped ones), MB;
    None off glibc. Beside RSS it tells a growing heap (this grows) from a fragmented one (RSS
    grows, this does not)."""
    f = _mallinfo2()
    if f is None:
        return None
    m = f()
    return round((m.uordblks + m.hblkhd) / 1e6, 3)


def _server(conn: Any, cfg: LedgerLoadConfig) -> None:
    from stellar_ob.testing.ledger_meta import LedgerMarket
    from stellar_ob.testing.rpc import LocalRpc

    async def main() -> None:
        market = LedgerMarket(cfg.markets, seed=cfg.seed, levels=cfg.levels, start_time=1_700_000_000,
                              failed_probability=0.0, keep=2, stationary=cfg.stationary)
        rpc = LocalRpc(retention=500, passphrase=market.passphrase)
        avail: Dict[int, float] = {}

        closed: List[tuple] = []

        def publish() -> None:
            # the ledger becomes available when the RPC can serve it: appended after the server
            # has computed which books changed (that takes its event loop for a while, during
            # which it answers nobody; counting it would charge the client for the server's work)
            for seq, meta in closed:
                rpc.append([(seq, meta)])
                avail[seq] = time.monotonic()
            closed.clear()

        market.add_listener(lambda seq, meta: closed.append((seq, meta)))
        market.close_ledger()  # the first ledger creates every market's offers and pools
        publish()
        await rpc.start()
        pairs = list(market.pairs.values())
        conn.send(("ready", rpc.url, rpc.oldest, [(str(p.base), str(p.counter)) for p in pairs],
                   len(market.metas[-1][1])))
        loop = asyncio.get_running_loop()
        assert await loop.run_in_executor(None, conn.recv) == "go"  # serving meanwhile
        rng = random.Random(cfg.seed)
        next_at = loop.time()
        for _ in range(cfg.ledgers):
            next_at += cfg.ledger_interval
            await asyncio.sleep(max(0.0, next_at - loop.time()))
            chosen = rng.sample(range(len(pairs)), max(1, int(len(pairs) * cfg.change_share)))
            before = {i: market.order_book_doc(pairs[i], 200) for i in chosen}
            market.close_ledger([pairs[i] for i in chosen])
            seq, meta = market.metas[-1]
            changed = [i for i in chosen if market.order_book_doc(pairs[i], 200) != before[i]]
            publish()
            offers = sum(len(p.offers) for p in pairs)  # the DEX's size: what the client must hold
            conn.send(("ledger", seq, avail[seq], changed, len(meta), offers))
        await asyncio.sleep(max(1.0, 3 * cfg.poll_interval))
        sample = rng.sample(range(len(pairs)), min(cfg.sample_books, len(pairs)))
        conn.send(("done", dict(rpc.stats.by_method), {i: market.order_book_doc(pairs[i], 200) for i in sample},
                   market.ledger))
        await loop.run_in_executor(None, conn.recv)
        await rpc.stop()

    asyncio.run(main())


async def run_ledger_load(cfg: LedgerLoadConfig, say: Callable[[str], Any] = print) -> Dict[str, Any]:
    from stellar_ob import OrderBook
    from stellar_ob.ledger import Follow

    ctx = mp.get_context("spawn")
    parent, child = ctx.Pipe()
    proc = ctx.Process(target=_server, args=(child, cfg), daemon=True)
    proc.start()
    loop = asyncio.get_running_loop()
    try:
        msg = await loop.run_in_executor(None, parent.recv)
        _, url, oldest, assets, first_bytes = msg
        say(f"server: {len(assets)} markets, first ledger {first_bytes / 1e6:.1f} MB of meta")
        t0 = time.monotonic()
        dex = Follow(url, start=oldest, empty=True, poll_interval=cfg.poll_interval)
        await dex.start()
        await dex.wait_live(600)
        # ledger -> market index -> (monotonic, bytes->update ns); each ledger's entry is settled and
        # dropped once the next ledger is announced, and latencies go to fixed histograms, so the
        # bench's own bookkeeping does not grow with the run (a soak measures the client's RSS)
        arrivals: Dict[int, Dict[int, tuple]] = {}

        # one callback for every market (a closure per market would be three more objects each for
        # the collector: the bench's own, not the library's); the market's index by its live book
        index: Dict[Any, int] = {}

        def on_update(u: Any) -> None:
            i = index.get(u.live)
            if i is not None:  # (None: the load inside watch(), before the book is indexed and measured)
                arrivals.setdefault(dex.ledger, {})[i] = (time.monotonic(), u.applied_ns - u.received_ns)

        books = []
        for i, (b, c) in enumerate(assets):
            book = await dex.watch(b, c, 200, grouping="horizon", on_update=on_update)
            index[book] = i
            books.append(book)
        say(f"client: caught up and watching {len(books)} markets in {time.monotonic() - t0:.1f} s, "
            f"RSS {_rss_mb():.0f} MB")
        # the samples go into one array allocated before the measured part (a list of lists made
        # a ledger would be the bench's own memory growing in the very process whose RSS is judged)
        width = 7 if os.environ.get("SOB_TRACEMALLOC") else 6
        cap = cfg.ledgers + 8
        sample_buf = array("d", bytes(8 * width * cap))
        n_samples = 0
        import gc

        gc_pauses: List[float] = []  # seconds of each collection of the oldest generation (the long ones)
        gc_full_at: List[float] = []  # time.monotonic() each of them started
        gc_started = [0.0]

        def on_gc(phase: str, info: Dict[str, Any]) -> None:
            if info.get("generation") != 2:
                return
            if phase == "start":
                gc_started[0] = time.perf_counter()
                gc_full_at.append(time.monotonic())
            else:
                gc_pauses.append(time.perf_counter() - gc_started[0])

        if cfg.gc_freeze:
            gc.collect()
            gc.freeze()
        gc.callbacks.append(on_gc)
        # SOB_TRACEMALLOC=1: where the Python heap grew over the measured part (by line), and the
        # objects the collector tracks at each ledger; such a run's latencies do not count
        heap = None
        if os.environ.get("SOB_TRACEMALLOC"):
            from bench.load_markets import _HeapGrowth

            heap = _HeapGrowth()
        parent.send("go")
        cpu0, wall0 = time.process_time(), time.monotonic()
        pending: Dict[int, tuple] = {}  # ledger -> (available, changed markets), until settled
        lat, bytes_lat = _Histogram(), _Histogram()
        tally = {"changes": 0, "missed": 0, "ledgers": 0}

        def settle(seq: int) -> None:
            available, changed = pending.pop(seq)
            got_all = arrivals.pop(seq, {})
            for i in changed:
                tally["changes"] += 1
                got = got_all.get(i)
                if got is None:
                    tally["missed"] += 1
                    continue
                lat.add(got[0] - available)
                bytes_lat.add(got[1] / 1e9)

        while True:
            msg = await loop.run_in_executor(None, parent.recv)
            if msg[0] == "done":
                break
            _kind, seq, available, changed, _size, offers = msg
            for old in [s for s in pending if s < seq]:  # their updates had a whole ledger to come
                settle(old)
            pending[seq] = (available, changed)
            tally["ledgers"] += 1
            # (s, RSS MB, the DexBook's own C allocations MB, offers on the server's DEX, blocks
            # Python's allocator holds, the C heap in use MB[, objects the collector tracks])
            if n_samples < cap:
                at = n_samples * width
                c_heap = _malloc_in_use_mb()
                sample_buf[at:at + 6] = array("d", (time.monotonic() - wall0, _rss_mb(), round(dex.dex.memory() / 1e6, 3),
                                                    offers, sys.getallocatedblocks(),
                                                    float("nan") if c_heap is None else c_heap))
                if heap is not None:
                    sample_buf[at + 6] = len(gc.get_objects())
                n_samples += 1
        cpu, wall = time.process_time() - cpu0, time.monotonic() - wall0
        rss_samples = [_sample_row(sample_buf[i * width:(i + 1) * width]) for i in range(n_samples)]
        gc.callbacks.remove(on_gc)
        heap_growth = heap.report() if heap is not None else None
        _, by_method, sample_docs, last = msg
        await asyncio.sleep(0.5)
        for old in sorted(pending):
            settle(old)
        changes, missed = tally["changes"], tally["missed"]
        wrong = 0
        for i, doc in sample_docs.items():
            want = OrderBook.from_horizon(json.dumps(doc))
            if books[int(i)].bids() != want.bids() or books[int(i)].asks() != want.asks():
                wrong += 1

        def pct(h: "_Histogram", q: float) -> float:
            return h.quantile(q)

        n = tally["ledgers"]
        result = {
            "markets": cfg.markets, "ledgers": n, "ledger_interval": cfg.ledger_interval,
            "poll_interval": cfg.poll_interval, "changes": changes, "changes_missed": missed,
            "sampled_books": len(sample_docs), "sampled_books_wrong": wrong, "follow_ledger": dex.ledger,
            "server_ledger": last,
            "latency_ms": {"p50": pct(lat, 0.5) * 1e3, "p99": pct(lat, 0.99) * 1e3, "max": lat.max * 1e3},
            "bytes_to_update_ms": {"p50": pct(bytes_lat, 0.5) * 1e3, "p99": pct(bytes_lat, 0.99) * 1e3},
            "client_cpu_share": cpu / wall, "rss_mb": _rss_mb(), "rss_samples": rss_samples,
            "requests": by_method, "getledgers_per_ledger": by_method.get("getLedgers", 0) / max(1, n + 1),
            "horizon_l3_requests_per_ledger_at_least": 3 * cfg.markets,
            "loadavg": open("/proc/loadavg").read().split()[:3],
            "source_counters": dex.counters.as_dict(),
            # full (oldest-generation) collections of the client during the measured part: with
            # 10,000 live books each one stops the loop, the outliers of the latency
            "gc_full_collections": len(gc_pauses),
            "gc_full_pause_ms_max": round(max(gc_pauses, default=0.0) * 1e3, 1),
            "gc_full_pause_ms_p50": round(sorted(gc_pauses)[len(gc_pauses) // 2] * 1e3, 1) if gc_pauses else None,
            # when each started, s into the measured part (one soon after the start: the debt of the
            # watching, made before it; later ones: what the ledgers themselves move into the oldest)
            "gc_full_at_s": [round(t - wall0, 1) for t in gc_full_at],
            "gc_thresholds": gc.get_threshold(), "gc_freeze": cfg.gc_freeze,
            "heap_growth": heap_growth,
            "health_probes": None if dex.health is None else dex.health.probes,
            "empty_tip_polls": None if dex.stream is None else getattr(dex.stream, "empty_polls", None),
        }
        result["ok"] = (missed == 0 and wrong == 0 and dex.ledger == last)
        await dex.close()
        return result
    finally:
        _stop_server(parent, proc)


def _sample_row(v: Any) -> List[Any]:
    """One sample as the soak reports it: [s, RSS MB, DexBook MB, offers, Python blocks, C heap MB
    or None[, gc objects]] (counts as ints)."""
    row: List[Any] = list(v)
    row[3], row[4] = int(row[3]), int(row[4])
    row[5] = None if row[5] != row[5] else row[5]
    if len(row) > 6:
        row[6] = int(row[6])
    return row


def _stop_server(parent: Any, proc: Any) -> None:
    """Tell the server child to stop and wait for it (terminated after 30 s)."""
    try:
        parent.send("stop")
    except (OSError, BrokenPipeError):
        pass
    proc.join(30)
    if proc.is_alive():
        proc.terminate()


@contextlib.asynccontextmanager
async def _caught_up_follow(cfg: LedgerLoadConfig, poll_interval: float) -> AsyncIterator[tuple]:
    """The census's and the promotions' set-up: the server child of ``cfg`` started, a Follow
    caught up with it; yields (follow, the pipe to the child, the markets' assets). The child is
    stopped on the way out."""
    from stellar_ob.ledger import Follow

    ctx = mp.get_context("spawn")
    parent, child = ctx.Pipe()
    proc = ctx.Process(target=_server, args=(child, cfg), daemon=True)
    proc.start()
    try:
        _, url, oldest, assets, _first = await asyncio.get_running_loop().run_in_executor(None, parent.recv)
        dex = Follow(url, start=oldest, empty=True, poll_interval=poll_interval)
        await dex.start()
        await dex.wait_live(600)
        yield dex, parent, assets
    finally:
        _stop_server(parent, proc)


def print_ledger_result(r: Dict[str, Any]) -> None:
    lat, bl = r["latency_ms"], r["bytes_to_update_ms"]
    print(f"{r['markets']} markets, {r['ledgers']} ledgers every {r['ledger_interval']:g} s, "
          f"{r['changes']} market changes ({r['changes'] / max(1, r['ledgers']):.0f} a ledger), "
          f"missed {r['changes_missed']}, sampled books wrong {r['sampled_books_wrong']}/{r['sampled_books']}")
    print(f"ledger available -> update at the caller (poll {r['poll_interval']:g} s): p50 {lat['p50']:.1f} ms, "
          f"p99 {lat['p99']:.1f} ms, max {lat['max']:.1f} ms; bytes -> update p50 {bl['p50']:.1f} ms, "
          f"p99 {bl['p99']:.1f} ms")
    print(f"client CPU {r['client_cpu_share'] * 100:.1f}% of a core, RSS {r['rss_mb']:.0f} MB; requests "
          f"{r['requests']} ({r['getledgers_per_ledger']:.2f} getLedgers a ledger for every market; Horizon L3: "
          f">= {r['horizon_l3_requests_per_ledger_at_least']} a ledger); load average {' '.join(r['loadavg'])}")
    if "gc_full_collections" in r:
        print(f"client full GC collections {r['gc_full_collections']} (median {r.get('gc_full_pause_ms_p50')} ms, "
              f"longest {r['gc_full_pause_ms_max']:.0f} ms; at {r.get('gc_full_at_s')} s; thresholds {r.get('gc_thresholds')}"
              f"{', gc.freeze() after watching' if r.get('gc_freeze') else ', no gc.freeze()'})")
    for line in r.get("heap_growth") or ():
        print("  heap:", line)


# ---- the client's GC census (how many objects the collector tracks per watched market) -------------------

def _census() -> Dict[str, int]:
    import gc
    from collections import Counter

    gc.collect()
    return dict(Counter(type(o).__qualname__ for o in gc.get_objects()))


def _full_gc_ms(repeat: int = 7) -> Dict[str, float]:
    """CPU time of this thread in a full ``gc.collect()`` (every generation), ms, median and least
    of ``repeat``: CPU, not wall time, so that other processes do not count; the least, because
    on a shared machine even CPU time varies with what the other cores do to the caches."""
    import gc
    import statistics

    times = []
    for _ in range(repeat):
        t = time.thread_time()
        gc.collect()
        times.append((time.thread_time() - t) * 1e3)
    return {"median": round(statistics.median(times), 1), "min": round(min(times), 1)}


async def run_gc_census(markets: int, ledgers: int = 3, say: Callable[[str], Any] = print) -> Dict[str, Any]:
    """Objects the collector tracks in the client per watched market, by type, and the time of a
    full collection: a Follow caught up with a local RPC of ``markets`` markets (the server in a
    child process, as :func:`run_ledger_load` runs it) before any watch, after watching every
    market (``grouping="horizon"``, 200 levels, one shared ``on_update``), and after ``ledgers``
    ledgers of changes (a ledger a second)."""
    import gc

    cfg = LedgerLoadConfig(markets=markets, ledgers=ledgers, ledger_interval=1.0, sample_books=1)
    loop = asyncio.get_running_loop()
    async with _caught_up_follow(cfg, 0.05) as (dex, parent, assets):
        seen = [0]

        def on_update(_u: Any) -> None:  # one function for every market: the bench's own cost is not counted
            seen[0] += 1

        before = _census()
        gc_before = _full_gc_ms()
        books = [await dex.watch(b, c, 200, grouping="horizon", on_update=on_update) for b, c in assets]
        watched = _census()
        gc_watched = _full_gc_ms()
        parent.send("go")
        while True:
            msg = await loop.run_in_executor(None, parent.recv)
            if msg[0] == "done":
                break
        await asyncio.sleep(0.5)
        after = _census()
        gc_after = _full_gc_ms()

        def per_market(now: Dict[str, int]) -> Dict[str, float]:
            diff = {k: (now.get(k, 0) - before.get(k, 0)) / len(books) for k in set(now) | set(before)}
            return dict(sorted(((k, round(v, 3)) for k, v in diff.items() if abs(v) >= 0.005),
                               key=lambda kv: -kv[1]))

        result = {
            "markets": len(books), "updates_seen": seen[0], "follow_ledger": dex.ledger,
            "tracked_before_watch": sum(before.values()), "tracked_watched": sum(watched.values()),
            "tracked_after_ledgers": sum(after.values()),
            "per_market_watched": round((sum(watched.values()) - sum(before.values())) / len(books), 2),
            "per_market_after_ledgers": round((sum(after.values()) - sum(before.values())) / len(books), 2),
            "by_type_watched": per_market(watched), "by_type_after_ledgers": per_market(after),
            "full_gc_cpu_ms": {"before_watch": gc_before, "watched": gc_watched, "after_ledgers": gc_after},
            "gc_thresholds": gc.get_threshold(), "loadavg": open("/proc/loadavg").read().split()[:3],
        }
        await dex.close()
        return result


async def run_promotions(markets: int, ledgers: int = 40, warmup: int = 5, interval: float = 1.0,
                         say: Callable[[str], Any] = print) -> Dict[str, Any]:
    """Where the client's objects moved into the oldest generation come from, counted, not timed:
    a Follow caught up with a local RPC of ``markets`` markets (the server in a child process, as
    :func:`run_ledger_load` runs it) watching every market (``grouping="horizon"``, 200 levels,
    the load's own ``on_update``), then ``ledgers`` ledgers a ``interval`` s apart. After
    ``warmup`` ledgers and a ``gc.collect()``, a collector callback records every collection: for
    each one of the middle generation, the objects it moved into the oldest (those of the two
    young generations at its start found in the oldest at its end), by type, and whether it ran
    while a ledger was being applied. CPython 3.11 runs a full collection when more than a
    quarter of what the oldest generation held after the last one has been moved there since."""
    import gc
    from collections import Counter

    cfg = LedgerLoadConfig(markets=markets, ledgers=ledgers + warmup, ledger_interval=interval, sample_books=1)
    loop = asyncio.get_running_loop()
    async with _caught_up_follow(cfg, 0.02) as (dex, parent, assets):
        arrivals: Dict[int, Dict[int, tuple]] = {}
        index: Dict[Any, int] = {}

        def on_update(u: Any) -> None:  # what run_ledger_load's does
            i = index.get(u.live)
            if i is not None:
                arrivals.setdefault(dex.ledger, {})[i] = (time.monotonic(), u.applied_ns - u.received_ns)

        for i, (b, c) in enumerate(assets):
            index[await dex.watch(b, c, 200, grouping="horizon", on_update=on_update)] = i
        in_apply = [False]
        apply = dex._apply

        def measured_apply(item: Any) -> None:
            in_apply[0] = True
            try:
                apply(item)
            finally:
                in_apply[0] = False

        dex._apply = measured_apply  # type: ignore[method-assign]
        by_type: Counter = Counter()
        per_collection: List[tuple] = []  # (objects moved into the oldest generation, during an apply)
        collections: Counter = Counter()
        young: List[set] = []

        def on_gc(phase: str, info: Dict[str, Any]) -> None:
            g = info["generation"]
            if phase == "start":
                collections[g] += 1
                if g == 1:
                    young[:] = [{id(o) for o in gc.get_objects(0)} | {id(o) for o in gc.get_objects(1)}]
            elif g == 1 and young:
                ids = young.pop()
                moved = [type(o).__qualname__ for o in gc.get_objects(2) if id(o) in ids]
                by_type.update(moved)
                per_collection.append((len(moved), in_apply[0]))

        parent.send("go")
        seen = 0
        while True:
            msg = await loop.run_in_executor(None, parent.recv)
            if msg[0] == "done":
                break
            seen += 1
            for old in [s for s in arrivals if s < msg[1] - 1]:
                arrivals.pop(old)
            if seen == warmup:
                gc.collect()
                tracked0 = len(gc.get_objects())
                gc.callbacks.append(on_gc)
        gc.callbacks.remove(on_gc)
        n = seen - warmup
        moved_total = sum(c for c, _ in per_collection)
        result = {
            "markets": len(index), "ledgers": n, "collections": dict(collections),
            "tracked_after_warmup": tracked0, "moved_to_oldest": moved_total,
            "moved_per_ledger": round(moved_total / max(1, n), 1),
            "middle_collections_during_apply": sum(1 for _, a in per_collection if a),
            "per_collection": per_collection, "by_type": dict(by_type.most_common(12)),
            "loadavg": open("/proc/loadavg").read().split()[:3],
        }
        await dex.close()
        return result


def _mm(t: Dict[str, float]) -> str:
    return f"{t['median']}/{t['min']}"


def _main(argv: Any = None) -> int:
    import argparse

    ap = argparse.ArgumentParser(description="the ledger client's GC census (objects tracked per watched market) "
                                 "or its promotions (objects moved into the oldest generation per ledger)")
    ap.add_argument("what", choices=["census", "promotions"])
    ap.add_argument("--markets", type=int, nargs="+", default=[2000, 10_000])
    ap.add_argument("--ledgers", type=int, default=None, help="census: 3; promotions: 40 (after 5 of warm-up)")
    ap.add_argument("--interval", type=float, default=1.0, help="promotions: seconds between ledgers")
    args = ap.parse_args(argv)
    if args.what == "promotions":
        for n in args.markets:
            r = asyncio.run(run_promotions(n, args.ledgers or 40, interval=args.interval))
            print(f"{r['markets']} markets, {r['ledgers']} ledgers after warm-up: collections by generation "
                  f"{r['collections']}; {r['moved_to_oldest']} objects moved into the oldest generation "
                  f"({r['moved_per_ledger']} a ledger; {r['tracked_after_warmup']} tracked after warm-up), "
                  f"{r['middle_collections_during_apply']} of {len(r['per_collection'])} middle-generation "
                  f"collections during a ledger's apply; load {' '.join(r['loadavg'])}")
            print("  per collection (moved, during an apply):", r["per_collection"])
            print("  by type:", ", ".join(f"{k} {v}" for k, v in r["by_type"].items()))
        return 0
    args.ledgers = args.ledgers or 3
    for n in args.markets:
        r = asyncio.run(run_gc_census(n, args.ledgers))
        print(f"{r['markets']} markets: {r['tracked_before_watch']} objects tracked before watching, "
              f"{r['per_market_watched']} more a watched market "
              f"({r['per_market_after_ledgers']} after {args.ledgers} ledgers); full gc.collect() CPU ms "
              f"(median/least of 7): before watching {_mm(r['full_gc_cpu_ms']['before_watch'])}, watching "
              f"{_mm(r['full_gc_cpu_ms']['watched'])}, after the ledgers {_mm(r['full_gc_cpu_ms']['after_ledgers'])}; "
              f"load {' '.join(r['loadavg'])}")
        print("  by type (watched):", ", ".join(f"{k} {v:g}" for k, v in list(r["by_type_watched"].items())[:16]))
        print("  by type (after ledgers):",
              ", ".join(f"{k} {v:g}" for k, v in list(r["by_type_after_ledgers"].items())[:16]))
    return 0


if __name__ == "__main__":
    sys.exit(_main())
