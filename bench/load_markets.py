"""Many markets streamed from the local Horizon in one client process, at Horizon's real cadence.

The local Horizon runs in a child process. Its ledger clock closes a ledger every
``--ledger-interval`` s (5 by default) in which ``--change-share`` of the markets change (every
market by default), and it tells the client which markets' /order_book documents changed. The
client watches every market through one :class:`stellar_ob.sync.Horizon` and checks, for every
ledger, that each changed market's update reached the caller (``on_update``) within that ledger:
the propagation latency is the time from the ledger's close to the callback. At the end the
ledger clock stops and every live book is compared with the server's (REST /order_book).
Targets: every changed book current within one ledger, every book equal to the server's at the
end, client RSS < 250 MB; CPU use is reported. Not part of CI; run on demand:

    python bench/load_markets.py [--markets 1000] [--ledgers 6] [--ledger-interval 5]

Exits non-zero when a target is missed. bench/load_scenarios.py builds the steady, spike,
endurance and connection-failure scenarios on :func:`run_load`.

With ``SOB_TRACEMALLOC=1`` in the environment the client also reports where its Python heap grew
over the measured part (tracemalloc, by allocating line): to tell a leak in the sync layer from the
soak's own bookkeeping when RSS rises. That run's latencies do not count (tracemalloc is slow).
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import os
import random
import resource
import subprocess
import sys
import time
from collections import deque
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Dict, List, Optional, Tuple

RSS_TARGET_MB = 250
#: requests a second, every market's and the health probe's together, while the server is down (issue 19)
DOWN_RATE_TARGET = 2.0
#: seconds a missed change is followed: an update at the caller by then makes it late, not lost
LATE_WINDOW = 5.0
#: changes that never came are described (market, status, what its stream counted meanwhile) up to this many
NEVER_DETAILS = 20
NEVER_COUNTERS = ("events", "updates", "reconnects", "byebyes", "empty_goodbyes", "connection_errors",
                  "error_events", "parse_errors", "http_errors", "stalls", "unexpected_errors")


def _proc_cpu(pid: int) -> float:
    """CPU seconds (user + system) of another process: the local Horizon's, so a run can say whether
    the server or the client set its latencies."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def rss_mb() -> float:
    with open(f"/proc/{os.getpid()}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


@dataclass
class LoadConfig:
    markets: int = 1000
    depth: int = 20
    ledger_interval: float = 5.0
    ledgers: int = 6  #: ledgers to measure (after every market has loaded)
    change_share: float = 1.0  #: share of the markets that change in each ledger
    changes_per_ledger: Tuple[int, int] = (1, 2)  #: maker actions per changed market per ledger
    restarts: List[Tuple[float, float]] = field(default_factory=list)  #: (seconds in, downtime s)
    recovery_target: float = 5.0  #: seconds after the server is back for every book to reload (the connector SLO)
    #: the client's min_reconnect_interval (1 s, the library's default, at Horizon's 5 s cadence;
    #: a compressed run scales it with the cadence, see bench.load_scenarios endurance-24h)
    min_reconnect_interval: float = 1.0
    verify: bool = True  #: compare every live book with the server's at the end
    seed: int = 5


# ---------------------------------------------------------------------------------------------
# the server child


async def _server_main(cfg: LoadConfig) -> None:
    """A LocalHorizon whose ledger clock is driven here, so each ledger can be reported with the
    markets whose documents changed. stdin: ``R <downtime>`` restarts the server (every
    connection dropped, the same port back after ``downtime`` s), ``Q`` quits. stdout: ``URL``,
    ``M`` per market, ``END``, then ``L <seq> <close time> <changed market indices>`` per ledger
    and ``DOWN <t>`` / ``UP <t>`` around restarts."""
    from stellar_ob.testing import LocalHorizon

    server = LocalHorizon(markets=cfg.markets, ledger_interval=None, levels=cfg.depth, seed=cfg.seed)
    server.market.changes_per_ledger = cfg.changes_per_ledger
    await server.start()
    print(f"URL {server.url}", flush=True)
    pairs = list(server.market.pairs.values())
    for p in pairs:
        print(f"M {p.base} {p.counter}", flush=True)
    print("END", flush=True)
    rng = random.Random(cfg.seed)
    last = [server.order_book_body(p.base, p.counter, cfg.depth) for p in pairs]
    loop = asyncio.get_running_loop()
    up = True

    async def clock() -> None:
        next_at = loop.time()
        k = max(1, round(cfg.change_share * len(pairs)))
        while True:
            next_at += cfg.ledger_interval
            await asyncio.sleep(max(0.0, next_at - loop.time()))
            chosen = pairs if k >= len(pairs) else rng.sample(pairs, k)
            seq = server.close_ledger(chosen)
            closed = time.time()
            changed = []
            for i, p in enumerate(pairs):
                body = server.order_book_body(p.base, p.counter, cfg.depth)
                if body != last[i]:
                    changed.append(i)
                    last[i] = body
            print(f"L {seq} {closed:.6f} {'up' if up else 'down'} {','.join(map(str, changed)) or '-'}", flush=True)

    ticker = asyncio.create_task(clock())
    while True:
        line = (await loop.run_in_executor(None, sys.stdin.readline)).split()
        if not line or line[0] == "Q":
            break
        if line[0] == "R":
            up = False
            print(f"DOWN {time.time():.6f}", flush=True)
            await server.restart(float(line[1]))
            up = True
            print(f"UP {time.time():.6f}", flush=True)
        elif line[0] == "P":
            ticker.cancel()
            print("PAUSED", flush=True)
    ticker.cancel()
    await server.stop()


# ---------------------------------------------------------------------------------------------
# the client


class _Latencies:
    """A histogram in 0.1 ms buckets: constant memory however long the soak (a list of every
    latency would itself show up as an RSS slope)."""

    def __init__(self) -> None:
        self.buckets: Dict[int, int] = {}
        self.count = 0
        self.max = 0.0

    def add(self, seconds: float) -> None:
        k = int(seconds * 1e4)
        self.buckets[k] = self.buckets.get(k, 0) + 1
        self.count += 1
        self.max = max(self.max, seconds)

    def quantile_ms(self, q: float) -> Optional[float]:
        if not self.count:
            return None
        rank, seen = max(1, -(-int(q * 100) * self.count // 100)), 0
        for k in sorted(self.buckets):
            seen += self.buckets[k]
            if seen >= rank:
                return round((k + 1) / 10, 1)  # the bucket's upper edge, ms
        return round(self.max * 1e3, 1)


class _HeapGrowth:
    """On demand (SOB_TRACEMALLOC=1): where the client's Python heap grew over the measured part,
    by allocating line, to tell a leak from the soak's own bookkeeping. tracemalloc slows the
    client, so the latency figures of such a run do not count."""

    def __init__(self) -> None:
        import tracemalloc

        tracemalloc.start(8)
        self._t = tracemalloc
        self._first = tracemalloc.take_snapshot()

    def report(self, top: int = 12) -> List[str]:
        stats = self._t.take_snapshot().compare_to(self._first, "traceback")
        self._t.stop()
        out = []
        for st in stats[:top]:
            # the allocating line first (tracemalloc orders a traceback oldest frame first)
            frames = " <- ".join(f"{f.filename.rsplit('/', 2)[-1]}:{f.lineno}" for f in reversed(st.traceback[-5:]))
            out.append(f"{st.size_diff / 1e6:+.2f} MB in {st.count_diff:+d} blocks: {frames}")
        return out


async def run_load(cfg: LoadConfig, say: Callable[[str], None] = print) -> Dict[str, Any]:
    """Run one load scenario; returns its figures (``ok`` False when a target was missed)."""
    from stellar_ob.sync import Horizon

    args = [sys.executable, os.path.abspath(__file__), "--server", "--markets", str(cfg.markets), "--depth",
            str(cfg.depth), "--ledger-interval", str(cfg.ledger_interval), "--change-share", str(cfg.change_share),
            "--changes", f"{cfg.changes_per_ledger[0]},{cfg.changes_per_ledger[1]}", "--seed", str(cfg.seed)]
    proc = await asyncio.create_subprocess_exec(*args, stdin=subprocess.PIPE, stdout=subprocess.PIPE)
    assert proc.stdout is not None and proc.stdin is not None
    url = (await proc.stdout.readline()).decode().split()[1]
    pairs = []
    while True:
        line = (await proc.stdout.readline()).decode().split()
        if line[0] == "END":
            break
        pairs.append((line[1], line[2]))

    updates: List[deque] = [deque(maxlen=8) for _ in pairs]  # wall times of on_update per market
    ledgers: List[Tuple[int, float, bool, List[int]]] = []  # closed, not yet judged
    closed_count = 0
    outages: List[List[float]] = []  # [down, up]
    paused = asyncio.Event()

    async def read_server() -> None:
        nonlocal closed_count
        while True:
            raw = await proc.stdout.readline()
            if not raw:
                return
            f = raw.decode().split()
            if f[0] == "L":
                changed = [] if f[4] == "-" else [int(x) for x in f[4].split(",")]
                ledgers.append((int(f[1]), float(f[2]), f[3] == "up", changed))
                closed_count += 1
            elif f[0] == "DOWN":
                outages.append([float(f[1]), float("inf")])
            elif f[0] == "UP":
                outages[-1][1] = float(f[1])
            elif f[0] == "PAUSED":
                paused.set()

    reader = asyncio.create_task(read_server())
    # every collection of the client process, all generations: wall time (what the loop lost) and
    # CPU time (what the collector cost; the difference is the shared machine's scheduling)
    gc_pauses, gc_cpu = _Latencies(), _Latencies()
    gc_started = [0.0, 0.0]

    def on_gc(phase: str, _info: Dict[str, Any]) -> None:
        if phase == "start":
            gc_started[0], gc_started[1] = time.perf_counter(), time.thread_time()
        elif gc_started[0]:
            gc_pauses.add(time.perf_counter() - gc_started[0])
            gc_cpu.add(time.thread_time() - gc_started[1])

    gc.callbacks.append(on_gc)
    cpu0, t0 = time.process_time(), time.monotonic()
    result: Dict[str, Any] = {"markets": len(pairs), "ledger_interval": cfg.ledger_interval,
                              "change_share": cfg.change_share, "depth": cfg.depth}
    rss_samples: List[Tuple[float, float]] = []
    async with Horizon(url, connect_timeout=30, min_request_interval=0.0,
                       min_reconnect_interval=cfg.min_reconnect_interval) as horizon:
        sem = asyncio.Semaphore(100)

        def stamp(i: int) -> Callable[[Any], None]:
            dq = updates[i]
            return lambda update: dq.append(time.time())

        async def watch(i: int, b: str, c: str):
            async with sem:
                return await horizon.watch(b, c, depth=cfg.depth, on_update=stamp(i), load_timeout=120)

        lives = await asyncio.gather(*(watch(i, b, c) for i, (b, c) in enumerate(pairs)))
        result["load_seconds"] = round(time.monotonic() - t0, 1)
        result["startup_cpu_seconds"] = round(time.process_time() - cpu0, 1)
        say(f"{len(lives)} markets loaded in {result['load_seconds']:.1f} s, RSS {rss_mb():.0f} MB")
        cpu1, w1 = time.process_time(), time.monotonic()
        server_cpu1 = _proc_cpu(proc.pid)
        heap = _HeapGrowth() if os.environ.get("SOB_TRACEMALLOC") else None
        updates0 = sum(l.counters.updates for l in lives)
        gc_pauses.__init__()  # the measured part only
        gc_cpu.__init__()
        start_wall = time.time()
        first_ledger = closed_count
        del ledgers[:]  # closed while loading: not judged
        restarts = sorted(cfg.restarts)
        recoveries: List[float] = []
        latencies, tally = _Latencies(), {"missed": 0, "late": 0, "judged": 0, "ledgers": 0}
        lateness = _Latencies()  # close -> caller of the changes that came late
        # A missed change (not at the caller within its ledger) is followed for LATE_WINDOW s:
        # "late" if an update reaches the caller by then, "never" if none does (a stream that
        # stalled or lost the change). Judged at 2 intervals alone, an update 0.6 s late at the
        # compressed cadence would count as never come.
        late_window = max(2 * cfg.ledger_interval, LATE_WINDOW)
        pending: deque = deque()  # (closed, market, what the market looked like when missed) of missed changes
        nevers: List[Dict[str, Any]] = []  # the first NEVER_DETAILS changes that never came, as seen

        def look(i: int) -> Tuple[str, Dict[str, int]]:
            c = lives[i].counters
            return lives[i].status.value, {k: getattr(c, k) for k in NEVER_COUNTERS}

        def follow_missed(final: bool = False) -> None:
            now = time.time()
            keep = []
            while pending:
                closed, i, then = pending.popleft()
                seen = [t for t in updates[i] if t >= closed]
                if seen:
                    tally["late"] += 1
                    lateness.add(min(seen) - closed)
                elif not final and now <= closed + late_window:
                    keep.append((closed, i, then))
                elif len(nevers) < NEVER_DETAILS:  # never came: what the market did meanwhile
                    status, counts = look(i)
                    before = [round(closed - t, 3) for t in updates[i] if t < closed]
                    nevers.append(dict(market=i, closed_s=round(closed - start_wall, 2),
                                       status_at_miss=then[0], status_now=status,
                                       last_update_before_close_s=min(before) if before else None,
                                       counters_meanwhile={k: counts[k] - then[1][k] for k in counts
                                                           if counts[k] != then[1][k]}))
            pending.extend(keep)

        def judge(final: bool = False) -> None:
            """Every changed market's update must reach the caller within its ledger. A ledger
            is judged once its window has passed (the per-market deques hold its updates)."""
            now = time.time()
            while ledgers and (final or now > ledgers[0][1] + 2 * cfg.ledger_interval):
                seq, closed, up, changed = ledgers.pop(0)
                if tally["ledgers"] >= cfg.ledgers:
                    continue
                tally["ledgers"] += 1
                if not up or any(d - cfg.ledger_interval <= closed <= u + cfg.recovery_target for d, u in outages):
                    continue  # ledgers around an outage are judged by the recovery time instead
                tally["judged"] += 1
                for i in changed:
                    seen = [t - closed for t in updates[i] if t >= closed]
                    if seen and min(seen) <= cfg.ledger_interval:
                        latencies.add(min(seen))
                    else:
                        tally["missed"] += 1
                        pending.append((closed, i, look(i)))  # late or never: follow_missed decides
            follow_missed(final)

        # (wall time, requests the client started so far: every stream connection tried + the probe's)
        request_samples: List[Tuple[float, int]] = []

        def requests_so_far() -> int:
            health = horizon.health
            return sum(l.counters.connections for l in lives) + (health.probes if health is not None else 0)

        while closed_count - first_ledger < cfg.ledgers:
            await asyncio.sleep(0.25)
            if cfg.restarts:
                request_samples.append((time.time(), requests_so_far()))
            judge()
            elapsed = time.time() - start_wall
            if restarts and elapsed >= restarts[0][0]:
                at, downtime = restarts.pop(0)
                say(f"restarting the local Horizon ({downtime:g} s down) at {elapsed:.0f} s")
                proc.stdin.write(f"R {downtime}\n".encode())
                await proc.stdin.drain()
            if outages and outages[-1][1] != float("inf") and len(recoveries) < len(outages):
                up = outages[-1][1]
                back = [l.confirmed_at or 0 for l in lives]
                if all(t >= up for t in back):
                    recoveries.append(max(back) - up)
                    health = horizon.health
                    seen = (f" (the probe saw it back after {health.last_recovery - up:.2f} s)"
                            if health is not None and health.last_recovery is not None
                            and health.last_recovery >= up else "")
                    say(f"  every book reloaded {recoveries[-1]:.2f} s after the server came back{seen}")
                elif time.time() - up > cfg.recovery_target * 4:
                    recoveries.append(float("inf"))
                    say(f"  {sum(t < up for t in back)} books not reloaded {time.time() - up:.0f} s after the restart")
            n = closed_count - first_ledger
            if n and ledgers and (not rss_samples or rss_samples[-1][0] < ledgers[-1][1]):
                rss_samples.append((ledgers[-1][1], rss_mb()))
                if n % max(1, int(60 / cfg.ledger_interval)) == 0 or n <= 2:
                    say(f"ledger {n}/{cfg.ledgers}: RSS {rss_samples[-1][1]:.0f} MB, "
                        f"events {sum(l.counters.events for l in lives)}")
        await asyncio.sleep(min(cfg.ledger_interval, 2.0))  # the last ledger's events
        judge()
        if pending:  # the last misses: their window, as every other miss had
            await asyncio.sleep(max(0.0, pending[-1][0] + late_window - time.time()))
        judge(final=True)
        cpu = time.process_time() - cpu1
        server_cpu = _proc_cpu(proc.pid) - server_cpu1
        wall = time.monotonic() - w1
        result["updates_per_second"] = round((sum(l.counters.updates for l in lives) - updates0) / wall, 1)
        gc.callbacks.remove(on_gc)
        result["gc_collections"] = gc_pauses.count
        result["gc_pause_p99_ms"] = gc_pauses.quantile_ms(0.99)
        result["gc_pause_max_ms"] = round(gc_pauses.max * 1e3, 2) if gc_pauses.count else None
        result["gc_pause_cpu_p99_ms"] = gc_cpu.quantile_ms(0.99)
        result["gc_pause_cpu_max_ms"] = round(gc_cpu.max * 1e3, 2) if gc_cpu.count else None
        result["rss_mb"] = round(rss_mb(), 1)
        if heap is not None:
            result["heap_growth"] = heap.report()
        result["rss_max_mb"] = round(max([r for _, r in rss_samples] + [result["rss_mb"]]), 1)
        proc.stdin.write(b"P\n")
        await proc.stdin.drain()
        await asyncio.wait_for(paused.wait(), 30)
        await asyncio.sleep(1.0)
        mismatched = 0
        if cfg.verify:
            async def same(live) -> bool:
                async with sem:
                    snap = await horizon.snapshot(live.base, live.counter, cfg.depth)
                return snap.book.bids() == live.bids() and snap.book.asks() == live.asks()

            mismatched = sum(not ok for ok in await asyncio.gather(*(same(l) for l in lives)))
        counters = [l.counters for l in lives]
        result.update(
            events=sum(c.events for c in counters), reconnects=sum(c.reconnects for c in counters),
            byebyes=sum(c.byebyes for c in counters),
            errors=sum(c.connection_errors + c.error_events + c.parse_errors + c.http_errors for c in counters),
        )
    proc.stdin.write(b"Q\n")
    await proc.stdin.drain()
    await proc.wait()
    reader.cancel()

    missed = tally["missed"]
    result.update(
        ledgers=tally["ledgers"], ledgers_judged=tally["judged"], changes_judged=latencies.count + missed,
        changes_missed=missed, changes_late=tally["late"], changes_never=missed - tally["late"], never_details=nevers,
        late_window_seconds=late_window, late_p50_ms=lateness.quantile_ms(0.50),
        late_max_ms=round(lateness.max * 1e3, 1) if lateness.count else None,
        server_cpu_percent=round(100 * server_cpu / wall, 1), latency_p50_ms=latencies.quantile_ms(0.50), latency_p99_ms=latencies.quantile_ms(0.99),
        latency_max_ms=round(latencies.max * 1e3, 1) if latencies.count else None,
        mismatched_books=mismatched, cpu_percent=round(100 * cpu / wall, 1), wall_seconds=round(wall, 1),
        rss_samples=[(round(t - start_wall, 1), round(r, 1)) for t, r in rss_samples],
    )
    if outages:
        result["restarts"] = len(outages)
        result["recovery_seconds"] = [round(r, 2) for r in recoveries]
        result["downtimes"] = [round(u - d, 1) for d, u in outages]
        # requests started while the server was down: from the last sample before it went down to
        # the last one before it came back (the reconnects after the return are not in it)
        rates = []
        for d, u in outages:
            before = [n for t, n in request_samples if t <= d]
            during = [n for t, n in request_samples if t <= u]
            if before and during and u > d and u != float("inf"):
                rates.append(round((during[-1] - before[-1]) / (u - d), 2))
        result["requests_per_second_down"] = rates
    # every outage: every book back within the recovery target, under the request rate while down
    result["outages_ok"] = (len(recoveries) == len(outages) and all(r <= cfg.recovery_target for r in recoveries)
                            and all(r < DOWN_RATE_TARGET for r in result.get("requests_per_second_down", ())))
    ok = missed == 0 and mismatched == 0 and result["rss_max_mb"] < RSS_TARGET_MB and result["outages_ok"]
    result["ok"] = ok
    return result


def print_result(result: Dict[str, Any], say: Callable[[str], None] = print) -> None:
    say(f"markets {result['markets']} (depth {result['depth']}), a ledger every {result['ledger_interval']:g} s, "
        f"{result['ledgers']} ledgers, {result['change_share']:.0%} of markets changing per ledger")
    say(f"changes judged {result['changes_judged']}, missed (not at the caller within one ledger) "
        f"{result['changes_missed']} (target 0): {result['changes_late']} came late (within "
        f"{result['late_window_seconds']:g} s: p50 {result['late_p50_ms']} ms, max {result['late_max_ms']} ms after "
        f"the close), {result['changes_never']} never came within {result['late_window_seconds']:g} s")
    for d in result.get("never_details") or ():
        say(f"  never came: market {d['market']} changed at {d['closed_s']} s ({d['status_at_miss']} when missed, "
            f"{d['status_now']} {result['late_window_seconds']:g} s later; its last update "
            f"{d['last_update_before_close_s']} s before the close; meanwhile {d['counters_meanwhile']})")
    say(f"CPU: client {result['cpu_percent']}%, local Horizon {result['server_cpu_percent']}% of a core")
    say(f"ledger close -> caller: p50 {result['latency_p50_ms']} ms, p99 {result['latency_p99_ms']} ms, "
        f"max {result['latency_max_ms']} ms (target: within {result['ledger_interval']:g} s)")
    say(f"books different from the server's at the end: {result['mismatched_books']} (target 0)")
    say(f"events {result['events']}, reconnects {result['reconnects']} (goodbyes {result['byebyes']}), "
        f"errors {result['errors']}")
    if "recovery_seconds" in result:
        say(f"restarts {result['restarts']}, every book reloaded after: {result['recovery_seconds']} s")
        say(f"requests a second while the server was down (every market and the probe): "
            f"{result.get('requests_per_second_down')} (target < {DOWN_RATE_TARGET:g})")
    if "updates_per_second" in result:
        say(f"updates at the callers {result['updates_per_second']:.0f}/s; GC: {result['gc_collections']} collections, "
            f"pause p99 {result['gc_pause_p99_ms']} ms, max {result['gc_pause_max_ms']} ms wall (CPU: p99 "
            f"{result['gc_pause_cpu_p99_ms']} ms, max {result['gc_pause_cpu_max_ms']} ms) (target < 10 ms)")
    for line in result.get("heap_growth", []):
        say(f"heap growth: {line}")
    say(f"client CPU {result['cpu_percent']:.0f}% of one core over {result['wall_seconds']:.0f} s; RSS "
        f"{result['rss_mb']:.0f} MB, max {result['rss_max_mb']:.0f} MB (target < {RSS_TARGET_MB})")


def main(argv: Optional[List[str]] = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--markets", type=int, default=1000)
    ap.add_argument("--ledgers", type=int, default=6)
    ap.add_argument("--ledger-interval", type=float, default=5.0)
    ap.add_argument("--depth", type=int, default=20)
    ap.add_argument("--change-share", type=float, default=1.0)
    ap.add_argument("--changes", default="1,2", help="maker actions per changed market per ledger: lo,hi")
    ap.add_argument("--seed", type=int, default=5)
    ap.add_argument("--server", action="store_true", help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    lo, hi = (int(x) for x in args.changes.split(","))
    cfg = LoadConfig(markets=args.markets, depth=args.depth, ledger_interval=args.ledger_interval,
                     ledgers=args.ledgers, change_share=args.change_share, changes_per_ledger=(lo, hi),
                     seed=args.seed)
    if args.server:
        asyncio.run(_server_main(cfg))
        return 0
    result = asyncio.run(run_load(cfg))
    print_result(result)
    print("OK" if result["ok"] else "MISSED")
    return 0 if result["ok"] else 1


if __name__ == "__main__":
    sys.exit(main())
