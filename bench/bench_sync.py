"""Latency of the sync layer: the local Horizon writes an /order_book event -> the caller sees the update.

The server runs in its own process (as Horizon would); both sides stamp ``time.perf_counter_ns()``
(CLOCK_MONOTONIC, shared by every process on Linux). One 200+200-level book; each round closes one
ledger, the server stamps the moment it has written the event to the socket, the client stamps
the moment its ``on_update`` callback runs. Targets: p50 <= 300 us, p99 <= 2 ms.

    python bench/bench_sync.py [--rounds 2000] [--loop asyncio|uvloop|both] [--reader lean|aiohttp|both]
                                                                              # exits 1 when a target is missed

The client's CPU time per round (``process_time``: what the client process itself spends on one
event, from socket read to callback, plus the harness's pipe round trip) is printed next to the
latencies: it waits for no scheduler, so it moves far less with the machine's load than the
latency does; compare builds with it on a shared machine.

``--loop both`` (the default when uvloop is installed: ``pip install "stellar-ob[fast]"``) measures
the client on asyncio's own loop (the baseline) and then on uvloop in the same run, with the same
server process setup, and prints both medians and their ratio. The targets are checked on the
asyncio run.

``--reader both`` (the default) does the same for the two SSE body readers of the sync layer:
the lean one (SSE framing, scanner and callback inside the transport's ``data_received``;
opt-in, ``STELLAR_OB_SSE_READER=lean``) and aiohttp's ``readany()`` loop (the default),
alternated in blocks. The targets are checked on the first loop with the lean reader.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import subprocess
import sys
import time

P50_TARGET_US = 300
P99_TARGET_US = 2000


async def _server_main() -> None:
    """Child process: a LocalHorizon with a 200+200 book; closes a ledger per stdin line, prints
    the write timestamp of each /order_book event it sends."""
    from stellar_ob.testing import LocalHorizon

    server = LocalHorizon(markets=1, ledger_interval=None, levels=200, seed=11)
    server.faults.byebye_after = 10**9  # measure the update path, not reconnects
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


CPU_NS: list[int] = []  # the client's CPU ns per round, one entry per run


async def _client_main(rounds: int) -> list[int]:
    from stellar_ob.sync import Horizon

    proc = await asyncio.create_subprocess_exec(
        sys.executable, __file__, "--server", stdin=subprocess.PIPE, stdout=subprocess.PIPE
    )
    assert proc.stdout is not None and proc.stdin is not None
    _, url, base, counter = (await proc.stdout.readline()).decode().split()
    seen: asyncio.Queue[int] = asyncio.Queue()
    lat: list[int] = []
    async with Horizon(url) as horizon:
        live = await horizon.watch(base, counter, depth=200)
        await proc.stdout.readline()  # the first event's write stamp
        assert len(live.bids()) == 200 and len(live.asks()) == 200, (len(live.bids()), len(live.asks()))
        live.on_update(lambda u: seen.put_nowait(time.perf_counter_ns()))
        cpu0 = 0
        for i in range(rounds + 50):
            if i == 50:
                cpu0 = time.process_time_ns()
            proc.stdin.write(b"L\n")
            await proc.stdin.drain()
            w = int((await proc.stdout.readline()).split()[1])
            s = await asyncio.wait_for(seen.get(), 10)
            if i >= 50:  # warm-up
                lat.append(s - w)
        CPU_NS.append((time.process_time_ns() - cpu0) // max(1, rounds))
    proc.stdin.write(b"Q\n")
    await proc.stdin.drain()
    await proc.wait()
    return lat


def _run_on(loop_name: str, rounds: int, reader: str = "lean") -> list[int]:
    from stellar_ob.sync import stream

    if hasattr(stream, "_LEAN_READ"):
        stream._LEAN_READ = reader == "lean"
    if loop_name == "uvloop":
        import uvloop

        with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
            return sorted(runner.run(_client_main(rounds)))
    return sorted(asyncio.run(_client_main(rounds)))


def main(argv: list[str] | None = None) -> int:
    try:
        import uvloop  # noqa: F401
        have_uvloop = sys.version_info >= (3, 11)
    except ImportError:
        have_uvloop = False
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rounds", type=int, default=2000)
    ap.add_argument("--loop", choices=("asyncio", "uvloop", "both"), default="both" if have_uvloop else "asyncio",
                    help="the client's event loop (uvloop needs the fast extra and Python >= 3.11)")
    ap.add_argument("--reader", choices=("lean", "aiohttp", "both"), default="both",
                    help="the SSE body reader: lean (the default one) or aiohttp's readany() loop")
    ap.add_argument("--blocks", type=int, default=4, help="with two loops or readers: alternating blocks of rounds")
    ap.add_argument("--server", action="store_true", help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.server:
        asyncio.run(_server_main())
        return 0
    if args.blocks < 1 or args.rounds < 1:
        ap.error("--rounds and --blocks must be >= 1")
    if args.loop != "asyncio" and not have_uvloop:
        ap.error("uvloop is not installed (pip install 'stellar-ob[fast]') or Python < 3.11")
    import stellar_ob

    impl = getattr(stellar_ob, "IMPLEMENTATION", "?")
    loops = ["asyncio", "uvloop"] if args.loop == "both" else [args.loop]
    from stellar_ob.sync import stream

    readers = ["lean", "aiohttp"] if args.reader == "both" else [args.reader]
    if not hasattr(stream, "_LEAN_READ"):
        readers = ["aiohttp"]  # a build from before the lean reader
    runs = [(loop, reader) for loop in loops for reader in readers]
    # Alternate the runs in blocks so that a change in the machine's load hits all alike.
    blocks = args.blocks if len(runs) > 1 else 1
    lats: dict[tuple[str, str], list[int]] = {run: [] for run in runs}
    cpus: dict[tuple[str, str], list[int]] = {run: [] for run in runs}
    for _ in range(blocks):
        for run in runs:
            lats[run] += _run_on(run[0], max(1, args.rounds // blocks), run[1])
            cpus[run].append(CPU_NS[-1])
    p50s: dict[tuple[str, str], float] = {}
    ok = True
    print(f"load average {open('/proc/loadavg').read().split()[0] if sys.platform == 'linux' else '?'}")
    for run in runs:
        name, reader = run
        lat = sorted(lats[run])
        p50 = lat[len(lat) // 2] / 1000
        p90 = lat[min(len(lat) - 1, int(0.90 * len(lat)))] / 1000
        p99 = lat[min(len(lat) - 1, int(0.99 * len(lat)))] / 1000
        p50s[run] = p50
        print(f"sync latency, server write -> caller update, 200+200 book, loopback, core={impl}, "
              f"loop={name}, reader={reader}, n={len(lat)} in {blocks} block(s)")
        print(f"  p50 {p50:8.1f} us   (target <= {P50_TARGET_US})")
        print(f"  p90 {p90:8.1f} us")
        print(f"  p99 {p99:8.1f} us   (target <= {P99_TARGET_US})")
        print(f"  mean {statistics.fmean(lat) / 1000:7.1f} us   max {lat[-1] / 1000:8.1f} us")
        print(f"  client CPU per round {statistics.median(cpus[run]) / 1000:7.1f} us (median of {len(cpus[run])} "
              "block(s))")
        if run == runs[0]:
            ok = p50 <= P50_TARGET_US and p99 <= P99_TARGET_US
    for (a, b) in ((x, y) for x in runs for y in runs if x < y):
        print(f"  median ratio {a[0]}/{a[1]} : {b[0]}/{b[1]} = {p50s[a] / p50s[b]:.2f}x")
    print("OK" if ok else "MISSED")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
