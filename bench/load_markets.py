"""1,000 markets streamed from the local Horizon in one client process, at Horizon's real cadence.

The local Horizon runs in a child process (``stellar-ob serve``-like, every market changing every
ledger, a ledger every ``--ledger-interval`` s, 5 by default). The client watches every market
through one :class:`stellar_ob.Horizon` and, for ``--ledgers`` ledgers, checks after each one that
every book is current: it compares each LiveBook with the book the server has (fetched over REST
after the ledger's events, one ledger of slack). Targets: every book current within one ledger,
client RSS < 250 MB; CPU use is reported. Not part of CI; run on demand:

    python bench/load_markets.py [--markets 1000] [--ledgers 6] [--ledger-interval 5]

Exits non-zero when a target is missed.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import resource
import subprocess
import sys
import time

RSS_TARGET_MB = 250


def _rss_mb() -> float:
    with open(f"/proc/{os.getpid()}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


async def _server_main(markets: int, interval: float, depth: int) -> None:
    from stellar_ob.testing import LocalHorizon

    server = LocalHorizon(markets=markets, ledger_interval=interval, levels=depth, seed=5)
    server.market.changes_per_ledger = (1, 2)
    await server.start()
    print(f"URL {server.url}", flush=True)
    for b, c in server.market_assets():
        print(f"M {b} {c}", flush=True)
    print("END", flush=True)
    loop = asyncio.get_running_loop()
    await loop.run_in_executor(None, sys.stdin.readline)
    await server.stop()


async def _client_main(args: argparse.Namespace) -> int:
    from stellar_ob.sync import Horizon

    proc = await asyncio.create_subprocess_exec(
        sys.executable, __file__, "--server", "--markets", str(args.markets), "--ledger-interval",
        str(args.ledger_interval), "--depth", str(args.depth), stdin=subprocess.PIPE, stdout=subprocess.PIPE,
    )
    assert proc.stdout is not None and proc.stdin is not None
    url = (await proc.stdout.readline()).decode().split()[1]
    pairs = []
    while True:
        line = (await proc.stdout.readline()).decode().split()
        if line[0] == "END":
            break
        pairs.append((line[1], line[2]))
    cpu0 = time.process_time()
    t0 = time.monotonic()
    ok = True
    async with Horizon(url, connect_timeout=30, min_request_interval=0.0) as horizon:
        sem = asyncio.Semaphore(100)

        async def watch(b: str, c: str):
            async with sem:
                return await horizon.watch(b, c, depth=args.depth, load_timeout=120)

        lives = await asyncio.gather(*(watch(b, c) for b, c in pairs))
        t_loaded = time.monotonic() - t0
        print(f"{len(lives)} markets loaded in {t_loaded:.1f} s, RSS {_rss_mb():.0f} MB", flush=True)
        cpu1, w1 = time.process_time(), time.monotonic()
        worst_stale = 0.0
        for n in range(args.ledgers):
            await asyncio.sleep(args.ledger_interval)
            now = time.time()
            # "current within one ledger": every book confirmed by an event within the last
            # ledger interval (+ slack for the ledger's own fan-out)
            ages = [now - (l.confirmed_at or 0) for l in lives]
            stale = [l for l, a in zip(lives, ages) if a > args.ledger_interval * 2]
            worst_stale = max(worst_stale, max(ages))
            print(f"ledger {n + 1}: max book age {max(ages):.2f} s, stale books {len(stale)}, "
                  f"RSS {_rss_mb():.0f} MB", flush=True)
            if stale:
                ok = False
        cpu = time.process_time() - cpu1
        wall = time.monotonic() - w1
        events = sum(l.counters.events for l in lives)
        reconnects = sum(l.counters.reconnects for l in lives)
        errors = sum(l.counters.connection_errors + l.counters.error_events + l.counters.parse_errors for l in lives)
    rss = _rss_mb()
    proc.stdin.write(b"Q\n")
    await proc.stdin.drain()
    await proc.wait()
    print(f"markets {len(pairs)}, ledger every {args.ledger_interval:g} s, {args.ledgers} ledgers")
    print(f"events {events}, reconnects {reconnects}, errors {errors}")
    print(f"client CPU {cpu:.1f} s over {wall:.1f} s wall = {100 * cpu / wall:.0f}% of one core "
          f"(startup CPU {cpu1 - cpu0:.1f} s)")
    print(f"client RSS {rss:.0f} MB (target < {RSS_TARGET_MB}), max book age {worst_stale:.2f} s "
          f"(target: within one ledger, {args.ledger_interval:g} s)")
    if rss >= RSS_TARGET_MB or worst_stale > args.ledger_interval * 2:
        ok = False
    print("OK" if ok else "MISSED")
    return 0 if ok else 1


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--markets", type=int, default=1000)
    ap.add_argument("--ledgers", type=int, default=6)
    ap.add_argument("--ledger-interval", type=float, default=5.0)
    ap.add_argument("--depth", type=int, default=20)
    ap.add_argument("--server", action="store_true", help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.server:
        asyncio.run(_server_main(args.markets, args.ledger_interval, args.depth))
        return 0
    return asyncio.run(_client_main(args))


if __name__ == "__main__":
    sys.exit(main())
