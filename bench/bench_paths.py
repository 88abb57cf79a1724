"""Path finding from Python and the market-data server's /paths under load (issue 15).

    python bench/bench_paths.py [--markets 10000] [--offers 1000000] [--queries 200] [--clients 100]
                                [--requests 2000]

1. ``PathGraph.find_paths`` on a DEX of the shape of csrc/tests/bench_pathfind.c (``--markets``
   books, about ``--offers`` offers with power-law depth, every token against XLM, 35% also
   against USDC, 15% against another stablecoin, the rest token/token; 30% with a pool): strict
   send and strict receive, ``max_hops`` 1..4, 10 destination assets, ~100 XLM worth, limit 1
   (as the C bench) and 5 (the default); p50 / p99 per search, and the ratio of each p50 to the
   max_hops=1 p50 of the same run (the per-call floor: argument checks and result objects).
2. The server (``stellar_ob.server.build_app``) over the same graph: ``--clients`` concurrent
   loopback clients send ``--requests`` /paths/strict-send and /paths/strict-receive requests in
   total (a bounded run); p50 / p99 latency and the error count.

Run under pytest (``pytest bench/bench_paths.py``) it times one small search with pytest-benchmark.

Measured 2026-11-30 10:57-10:59 UTC on the shared 2-core machine (load average 8 to 9: other
helpers' builds and tests), ``python bench/bench_paths.py --queries 200 --requests 2000``
(wall-clock ms per search; "x hops=1" is p50 / the max_hops=1 p50 of the same kind and limit)::

    DEX: 10000 books, 995037 offers, 6675 assets (generated in 7.3 s, PathGraph built in 5.4 s)
    kind            hops limit   p50 ms   p99 ms  x hops=1  optimal
    strict_send        1     1    0.027    0.257       1.0     100%
    strict_send        2     1    0.243    8.535       8.9     100%
    strict_send        3     1    2.011   54.381      73.2     100%
    strict_send        4     1   12.934   67.878     470.9      88%
    strict_receive     1     1    0.023    0.099       1.0     100%
    strict_receive     2     1    0.255   11.528      10.9     100%
    strict_receive     3     1    1.413   20.420      60.5     100%
    strict_receive     4     1    8.096   54.445     346.5      99%
    strict_send        4     5   39.683  209.169    1825.1       0%
    strict_receive     4     5   55.194  202.162    1593.6       1%
    server /paths (max_path_length 3 = max_hops 4, limit 1): 2000 requests, 100 clients:
        p50 2766.7 ms, p99 4042.6 ms, 0 errors, 35 req/s

The issue's targets (p50 <= 5 ms, p99 <= 20 ms at 4 hops; server p99 <= 50 ms under 100 clients)
are NOT met in this run. The generator here only approximates bench_pathfind.c's (its C figures:
CPU p50 2.7 ms / p99 10.8 ms at 4 hops) and the machine was loaded; the server is one
single-threaded process, so 100 concurrent clients queue behind ~28 ms of work a request.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import statistics
import sys
import time
from typing import Any, List, Tuple

ISSUER = "GA5ZSEJYB37JRC5AVCIA5MOP4RHTM335X2KGX3IHOJAPP5RE34K4KZVN"


def _name(i: int) -> str:
    return "native" if i == 0 else f"T{i}:{ISSUER}"


def make_dex(markets: int, offers: int, seed: int = 15) -> Tuple[List[tuple], List[float], int]:
    """PathGraph rows of the bench_pathfind.c shape; returns (rows, value of each asset in XLM, assets)."""
    rng = random.Random(seed)
    tokens = max(10, int(markets * 0.667))
    nassets = tokens + 5
    value = [1.0] + [rng.uniform(5, 15) for _ in range(4)] + [10 ** rng.uniform(-3, 2) for _ in range(tokens)]
    pairs = set()
    for t in range(5, nassets):
        pairs.add((0, t))
        if rng.random() < 0.35 and len(pairs) < markets:
            pairs.add((1, t))
        if rng.random() < 0.15 and len(pairs) < markets:
            pairs.add((rng.randint(2, 4), t))
    for a in range(5):
        for b in range(a + 1, 5):
            pairs.add((a, b))
    while len(pairs) < markets:
        a, b = rng.randrange(5, nassets), rng.randrange(5, nassets)
        if a != b:
            pairs.add((min(a, b), max(a, b)))
    pairs = sorted(pairs)[:markets] if len(pairs) > markets else sorted(pairs)
    rng.shuffle(pairs)
    weights = [1.0 / (i + 1) ** 0.9 for i in range(len(pairs))]
    scale = offers / sum(weights)
    rows = []
    oid = 1
    for i, (a, b) in enumerate(pairs):
        k = max(4, int(weights[i] * scale))
        mid = value[a] / value[b]  # counter per base
        book = []
        for j in range(k):
            side = "ask" if j % 2 == 0 else "bid"
            spread = 1 + 0.001 * (j // 2 + 1) * rng.uniform(0.5, 1.5)
            # ask sells base at counter per base; bid sells counter at base per counter
            px = mid * spread if side == "ask" else (1 / mid) * spread
            n, d = _ratio(px)
            book.append((oid, side, n, d, rng.randint(10**7, 10**11)))
            oid += 1
        pool = None
        if rng.random() < 0.3:
            rb = rng.randint(10**10, 10**13)
            pool = (max(1, int(rb / max(mid, 1e-12))), rb, 30) if mid > 0 else None
            if pool and not (0 < pool[0] < 2**63):
                pool = None
        rows.append((_name(a), _name(b), book, pool))
    return rows, value, nassets


def _ratio(x: float) -> Tuple[int, int]:
    d = 10**6
    n = max(1, int(round(x * d)))
    while n >= 2**31:
        n //= 10
        d = max(1, d // 10)
    return n, d


def queries(value: List[float], nassets: int, count: int, seed: int = 7):
    rng = random.Random(seed)
    out = []
    for _ in range(count):
        src = rng.choice([rng.randrange(5, nassets), rng.randrange(0, 5)])
        targets = set()
        while len(targets) < 9:
            t = rng.randrange(5, nassets)
            if t != src:
                targets.add(t)
        hub = rng.randrange(0, 5)
        if hub != src:
            targets.add(hub)
        amount = max(1, int(100 * 10**7 / value[src]))
        out.append((_name(src), amount, [_name(t) for t in sorted(targets)]))
    return out


def pct(xs: List[float], p: float) -> float:
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(round(p / 100 * (len(xs) - 1))))]


def bench_search(graph: Any, qs: list, kind: str, max_hops: int, limit: int) -> Tuple[float, float, float]:
    times = []
    optimal = 0
    for src, amount, targets in qs:
        t0 = time.perf_counter()
        r = graph.find_paths(kind, src, amount, targets, max_hops=max_hops, limit=limit)
        times.append(time.perf_counter() - t0)
        optimal += r.optimal
    return statistics.median(times) * 1e3, pct(times, 99) * 1e3, optimal / len(qs)


class GraphDex:
    """What build_app needs of a DexBook, over a PathGraph (paths only)."""

    ledger_seq = 1

    def __init__(self, graph: Any) -> None:
        self.graph = graph

    def find_paths(self, *a: Any, **kw: Any) -> Any:
        return self.graph.find_paths(*a, **kw)


async def bench_server(graph: Any, qs: list, clients: int, requests: int) -> Tuple[float, float, int, float]:
    import aiohttp
    from aiohttp import web

    from stellar_ob.server import build_app

    runner = web.AppRunner(build_app(GraphDex(graph), path_limit=1), access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    host, port = runner.addresses[0][:2]
    urls = []
    for i, (src, amount, targets) in enumerate(qs):
        a = src.split(":")
        sa = "source_asset_type=native" if src == "native" else \
            f"source_asset_type=credit_alphanum4&source_asset_code={a[0]}&source_asset_issuer={a[1]}" \
            if len(a[0]) <= 4 else f"source_asset_type=credit_alphanum12&source_asset_code={a[0]}&source_asset_issuer={a[1]}"
        amt = f"{amount // 10**7}.{amount % 10**7:07d}"
        if i % 2 == 0:
            urls.append(f"http://{host}:{port}/paths/strict-send?{sa}&source_amount={amt}"
                        f"&destination_assets={','.join(targets)}")
        else:
            da = sa.replace("source_asset", "destination_asset")
            urls.append(f"http://{host}:{port}/paths/strict-receive?{da}&destination_amount={amt}"
                        f"&source_assets={','.join(targets)}")
    lat: List[float] = []
    errors = 0
    next_i = 0

    async def client(session: Any) -> None:
        nonlocal next_i, errors
        while next_i < requests:
            i = next_i
            next_i += 1
            t0 = time.perf_counter()
            try:
                async with session.get(urls[i % len(urls)]) as r:
                    await r.read()
                    if r.status != 200:
                        errors += 1
            except Exception:  # a failed request is counted, not raised: the run is bounded
                errors += 1
            lat.append(time.perf_counter() - t0)

    t0 = time.perf_counter()
    conn = aiohttp.TCPConnector(limit=clients)
    async with aiohttp.ClientSession(connector=conn) as session:
        await asyncio.gather(*(client(session) for _ in range(clients)))
    wall = time.perf_counter() - t0
    await runner.cleanup()
    return statistics.median(lat) * 1e3, pct(lat, 99) * 1e3, errors, len(lat) / wall


def main(argv: Any = None) -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--markets", type=int, default=10_000)
    ap.add_argument("--offers", type=int, default=1_000_000)
    ap.add_argument("--queries", type=int, default=200)
    ap.add_argument("--clients", type=int, default=100)
    ap.add_argument("--requests", type=int, default=2000)
    ap.add_argument("--hops", type=int, nargs="+", default=[1, 2, 3, 4])
    ap.add_argument("--limits", type=int, nargs="+", default=[1, 5])
    a = ap.parse_args(argv)
    from stellar_ob._paths import PathGraph

    t0 = time.perf_counter()
    rows, value, nassets = make_dex(a.markets, a.offers)
    t1 = time.perf_counter()
    graph = PathGraph(rows)
    t2 = time.perf_counter()
    n_offers = sum(len(r[2]) for r in rows)
    print(f"DEX: {len(rows)} books, {n_offers} offers, {graph.asset_count} assets "
          f"(generated in {t1 - t0:.1f} s, PathGraph built in {t2 - t1:.1f} s)")
    qs = queries(value, nassets, a.queries)
    print(f"{'kind':15} {'hops':>4} {'limit':>5} {'p50 ms':>8} {'p99 ms':>8} {'x hops=1':>9} {'optimal':>8}")
    for limit in a.limits:
        for kind in ("strict_send", "strict_receive"):
            base = None
            for h in a.hops:
                p50, p99, opt = bench_search(graph, qs, kind, h, limit)
                base = base or p50
                print(f"{kind:15} {h:>4} {limit:>5} {p50:8.3f} {p99:8.3f} {p50 / base:9.1f} {opt:8.0%}")
    if a.clients and a.requests:
        p50, p99, errors, rate = asyncio.run(bench_server(graph, qs, a.clients, a.requests))
        print(f"server /paths (max_path_length 3, limit 1): {a.requests} requests, {a.clients} clients: "
              f"p50 {p50:.1f} ms, p99 {p99:.1f} ms, {errors} errors, {rate:.0f} req/s")
    return 0


def test_bench_find_paths_strict_send_1k(benchmark):
    import pytest

    paths = pytest.importorskip("stellar_ob._paths")
    rows, value, nassets = make_dex(1000, 100_000)
    graph = paths.PathGraph(rows)
    qs = queries(value, nassets, 20)
    it = iter(range(10**9))

    def one():
        src, amount, targets = qs[next(it) % len(qs)]
        return graph.find_paths("strict_send", src, amount, targets, max_hops=4, limit=1)

    benchmark(one)


if __name__ == "__main__":
    sys.exit(main())
