"""Where the time goes between "the probe saw the server back" and "every book live" (issue 19).

    python -m bench.recovery_trace --markets 1000 --outages 3,10,30 [--profile] [--kw '{"recovery_rate": 500}']

A diagnostic, on demand. The local Horizon runs in a child process (a ledger every 5 s, 30% of
the markets changing, each changed body rendered at the close as bench/load_markets.py does) and
logs each request's arrival and each event's write; the client watches every market through one
Horizon and records per market (wall clock, shared by both processes): the health probe's
release (``server_failed_true``), the request start, the TCP connect, the answer's head, the first
data event (the full book: the L2 "snapshot"), plus the event loop's lag, the time spent parsing
events, the rate budget's waits and the CPU each process used from the server's return to every
book live. ``--profile`` profiles the client over that window (CPU time), SERVER_PROFILE=1 the
server. It patches private methods of stellar_ob.sync to record; it is not a test.
"""
from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import subprocess
import sys
import time
from collections import defaultdict
from urllib.parse import parse_qsl


def key_of(query: str) -> str:
    items = sorted((k, v) for k, v in parse_qsl(query) if k.startswith(("selling", "buying")))
    return "&".join(f"{k}={v}" for k, v in items)


async def server_main(markets: int, interval: float) -> None:
    from stellar_ob.testing import LocalHorizon

    server = LocalHorizon(markets=markets, ledger_interval=None, levels=20, seed=5)
    server.market.changes_per_ledger = (1, 2)
    await server.start()
    print(f"URL {server.url}", flush=True)
    pairs = list(server.market.pairs.values())
    rng = random.Random(5)
    loop = asyncio.get_running_loop()
    arrivals: list = []
    writes: list = []
    recording = [False]

    def on_request(started, path, qs, stream):
        if recording[0]:
            arrivals.append((time.time(), path, key_of(qs)))

    def on_written(key, t_ns):
        if recording[0]:
            writes.append((time.time(), key[0] + "|" + key[1]))

    server.on_request = on_request
    server.on_event_written = on_written

    async def clock():
        next_at = loop.time()
        k = max(1, round(0.3 * len(pairs)))
        while True:
            next_at += interval
            await asyncio.sleep(max(0.0, next_at - loop.time()))
            server.close_ledger(rng.sample(pairs, k))
            for p in pairs:  # the bench's server renders every changed body at the close
                server.order_book_body(p.base, p.counter, 20)

    ticker = asyncio.create_task(clock())
    while True:
        line = (await loop.run_in_executor(None, sys.stdin.readline)).split()
        if not line or line[0] == "Q":
            break
        if line[0] == "R":
            arrivals.clear(); writes.clear(); recording[0] = False
            print(f"DOWN {time.time():.6f}", flush=True)
            await server.restart(float(line[1]))
            recording[0] = True
            if os.environ.get("SERVER_PROFILE"):
                import cProfile
                sprof = cProfile.Profile(time.thread_time); sprof.enable(); server._sprof = sprof
            print(f"UP {time.time():.6f}", flush=True)
        elif line[0] == "D":
            recording[0] = False
            sprof = getattr(server, "_sprof", None)
            if sprof is not None:
                sprof.disable(); server._sprof = None
                import pstats, io
                out = io.StringIO(); pstats.Stats(sprof, stream=out).sort_stats("tottime").print_stats(30)
                sys.stderr.write("SERVER PROFILE\n" + out.getvalue())
            print("DUMP " + json.dumps({"arrivals": arrivals, "writes": writes}), flush=True)
    ticker.cancel()
    await server.stop()


def pct(xs, q):
    xs = sorted(xs)
    if not xs:
        return float("nan")
    return xs[min(len(xs) - 1, int(q * len(xs)))]


async def client_main(args) -> None:
    import aiohttp
    from stellar_ob.sync import Horizon, Status
    from stellar_ob.sync import health as health_mod, stream as stream_mod, l2 as l2_mod

    proc = await asyncio.create_subprocess_exec(sys.executable, __file__, "--server", "--markets", str(args.markets),
                                                stdin=subprocess.PIPE, stdout=subprocess.PIPE, limit=2**28)
    url = (await proc.stdout.readline()).decode().split()[1]
    msgs: asyncio.Queue = asyncio.Queue()

    async def reader():
        while True:
            raw = await proc.stdout.readline()
            if not raw:
                return
            await msgs.put(raw.decode())

    rt = asyncio.create_task(reader())
    ev = defaultdict(lambda: defaultdict(list))  # market key -> event -> [time.time()]
    name_key: dict = {}

    def rec(live, what):
        ev[name_key.get(id(live), live.name)][what].append(time.time())

    # ---- monkeypatches (diagnostic only) ----
    orig_wait_up = health_mod.ServerHealth.wait_up
    orig_server_failed = health_mod.ServerHealth.server_failed

    async def server_failed(self, owner):
        rec(owner, "server_failed")
        r = await orig_server_failed(self, owner)
        rec(owner, "server_failed_true" if r else "server_failed_false")
        return r

    async def wait_up(self, owner):
        rec(owner, "wait_up")
        await orig_wait_up(self, owner)
        rec(owner, "wait_up_done")

    health_mod.ServerHealth.server_failed = server_failed
    health_mod.ServerHealth.wait_up = wait_up
    orig_pace = stream_mod._SSEStream._pace

    async def pace(self):
        t = time.time()
        await orig_pace(self)
        d = time.time() - t
        if d > 0.002:
            rec(self.owner, "pace_wait")
    stream_mod._SSEStream._pace = pace
    orig_sleep = asyncio.sleep
    orig_apply = l2_mod.LiveBook._apply
    parse = [0.0, 0]

    def apply(self, data, received_ns, resync):
        t = time.perf_counter()
        orig_apply(self, data, received_ns, resync)
        parse[0] += time.perf_counter() - t
        parse[1] += 1
        if resync:
            rec(self, "first_event")
    l2_mod.LiveBook._apply = apply
    orig_setter = stream_mod._Live.status.fset

    def set_status(self, value):
        if value is Status.BACKING_OFF and self._status is not Status.BACKING_OFF:
            rec(self, "backing_off")
        orig_setter(self, value)
    stream_mod._Live.status = property(stream_mod._Live.status.fget, set_status)

    tc = aiohttp.TraceConfig()

    def q(params):
        return key_of(params.url.query_string)

    async def on_start(session, ctx, params):
        ctx.key = q(params)
        ev[ctx.key]["req_start"].append(time.time()) if ctx.key else None
    async def on_end(session, ctx, params):
        if ctx.key:
            ev[ctx.key]["req_headers"].append(time.time())
    async def on_exc(session, ctx, params):
        if ctx.key:
            ev[ctx.key]["req_exc"].append(time.time())
    async def conn_start(session, ctx, params):
        if getattr(ctx, "key", None):
            ev[ctx.key]["conn_start"].append(time.time())
    async def conn_end(session, ctx, params):
        if getattr(ctx, "key", None):
            ev[ctx.key]["conn_end"].append(time.time())
    async def queued_start(session, ctx, params):
        if getattr(ctx, "key", None):
            ev[ctx.key]["pool_queued"].append(time.time())
    tc.on_request_start.append(on_start)
    tc.on_request_end.append(on_end)
    tc.on_request_exception.append(on_exc)
    tc.on_connection_create_start.append(conn_start)
    tc.on_connection_create_end.append(conn_end)
    tc.on_connection_queued_start.append(queued_start)

    lag = []  # (time, lag s)

    async def lagger():
        loop = asyncio.get_running_loop()
        while True:
            t = loop.time()
            await orig_sleep(0.01)
            lag.append((time.time(), loop.time() - t - 0.01))

    lt = asyncio.create_task(lagger())
    connector = aiohttp.TCPConnector(limit=0, limit_per_host=0, ttl_dns_cache=300)
    session = aiohttp.ClientSession(connector=connector, trace_configs=[tc])
    from stellar_ob.testing import SimulatedMarket
    market = SimulatedMarket(args.markets, seed=5, levels=20)
    pairs = [(p.base, p.counter) for p in market.pairs.values()]
    async with Horizon(url, session=session, connect_timeout=30, **json.loads(args.kw)) as h:
        sem = asyncio.Semaphore(100)

        async def watch(b, c):
            async with sem:
                live = await h.watch(b, c, depth=20, load_timeout=120)
                return live
        t0 = time.time()
        lives = await asyncio.gather(*(watch(b, c) for b, c in pairs))
        for l in lives:
            name_key[id(l)] = key_of("&".join(f"{k}={v}" for k, v in l._stream.params.items()))
        print(f"loaded {len(lives)} in {time.time() - t0:.1f} s; load {open('/proc/loadavg').read().split()[:3]}",
              flush=True)
        await orig_sleep(6)
        for downtime in [float(x) for x in args.outages.split(",")]:
            ev.clear(); lag.clear(); parse[0] = parse[1] = 0
            b0 = (h.budget.waits, h.budget.wait_seconds)
            proc.stdin.write(f"R {downtime}\n".encode()); await proc.stdin.drain()
            down = float((await msgs.get()).split()[1])
            up = float((await msgs.get()).split()[1])
            def scpu():
                f = open(f"/proc/{proc.pid}/stat").read().rsplit(")", 1)[1].split()
                return (int(f[11]) + int(f[12])) / os.sysconf("SC_CLK_TCK")
            c0, s0 = time.process_time(), scpu()
            prof = None
            if args.profile:
                import cProfile
                prof = cProfile.Profile(time.thread_time); prof.enable()
            while True:
                await orig_sleep(0.05)
                if all((l.confirmed_at or 0) >= up for l in lives) or time.time() - up > 60:
                    break
            all_live = max(l.confirmed_at or 0 for l in lives)
            c1, s1 = time.process_time(), scpu()
            if prof is not None:
                prof.disable()
                import pstats
                pstats.Stats(prof).sort_stats("tottime").print_stats(40)
            print(f"CPU from UP to all live: client {c1 - c0:.2f} s, server {s1 - s0:.2f} s")
            await orig_sleep(0.5)
            proc.stdin.write(b"D\n"); await proc.stdin.drain()
            dump = json.loads((await msgs.get())[5:])
            health = h.health
            rec_t = health.last_recovery if health else None
            print(f"\n=== outage {downtime:g} s (measured {up - down:.2f} s); load {open('/proc/loadavg').read().split()[:3]}")
            print(f"every book live {all_live - up:.2f} s after UP; probe saw it back at +{(rec_t or up) - up:.3f} s;"
                  f" probes {health.probes if health else '-'} outages {health.outages if health else '-'}")
            # per market, first events after UP
            def first_after(k, what, t=up):
                xs = [x for x in ev[k][what] if x >= t]
                return min(xs) if xs else None
            keys = list(name_key.values())
            rows = defaultdict(list)
            n_backoff = n_wait = n_false = 0
            for k in keys:
                fa = {w: first_after(k, w) for w in ("req_start", "conn_start", "conn_end", "req_headers", "first_event",
                                                     "wait_up_done", "server_failed_true")}
                for w, x in fa.items():
                    if x is not None:
                        rows[w].append(x - up)
                if fa["req_start"] and fa["req_headers"]:
                    rows["headers-req"].append(fa["req_headers"] - fa["req_start"])
                if fa["req_headers"] and fa["first_event"]:
                    rows["event-headers"].append(fa["first_event"] - fa["req_headers"])
                if fa["conn_start"] and fa["conn_end"]:
                    rows["connect"].append(fa["conn_end"] - fa["conn_start"])
                n_backoff += any(down <= x for x in ev[k]["backing_off"])
                n_wait += any(down <= x for x in ev[k]["wait_up"])
                n_false += any(down <= x for x in ev[k]["server_failed_false"])
                rows["reqs_during"].append(sum(down <= x for x in ev[k]["req_start"]))
            # server side
            arr = defaultdict(list)
            for t, path, k in dump["arrivals"]:
                arr[path].append(t - up)
            wr = defaultdict(list)
            for t, k in dump["writes"]:
                wr[k].append(t)
            firstw = [min(v) - up for v in wr.values()]
            print(f"markets: went through backoff {n_backoff}, waited for probe {n_wait}, told 'own failure' {n_false}")
            for w in ("server_failed_true", "wait_up_done", "req_start", "conn_start", "conn_end", "req_headers",
                      "first_event"):
                xs = rows[w]
                print(f"  {w:20s} n={len(xs):5d} min {pct(xs,0):7.3f} p50 {pct(xs,.5):7.3f} p90 {pct(xs,.9):7.3f} max {pct(xs,1):7.3f}")
            for w in ("connect", "headers-req", "event-headers"):
                xs = rows[w]
                print(f"  dur {w:16s} n={len(xs):5d} p50 {pct(xs,.5):7.3f} p90 {pct(xs,.9):7.3f} max {pct(xs,1):7.3f}")
            a = arr["/order_book"]
            print(f"  server: /order_book arrivals n={len(a)} min {pct(a,0):.3f} p50 {pct(a,.5):.3f} max {pct(a,1):.3f};"
                  f" / arrivals {len(arr['/'])}; first writes n={len(firstw)} p50 {pct(firstw,.5):.3f} max {pct(firstw,1):.3f}")
            rq = rows["reqs_during"]
            print(f"  requests per market since DOWN: max {max(rq)} total {sum(rq)}")
            lg = [l for t, l in lag if t >= up]
            print(f"  loop lag after UP: p50 {pct(lg,.5)*1e3:.1f} ms p99 {pct(lg,.99)*1e3:.1f} max {pct(lg,1)*1e3:.1f} ms;"
                  f" parse {parse[1]} events {parse[0]:.3f} s; budget waits +{h.budget.waits - b0[0]}")
            # timeline: count of live books by 0.5s bins
            live_t = sorted((first_after(k, "first_event") or 99) - up for k in keys)
            bins = [sum(x <= s for x in live_t) for s in (0.5, 1, 1.5, 2, 3, 4, 5, 6, 8, 10)]
            print(f"  books live by 0.5/1/1.5/2/3/4/5/6/8/10 s: {bins}")
            await orig_sleep(8)
    lt.cancel()
    proc.stdin.write(b"Q\n"); await proc.stdin.drain(); await proc.wait(); rt.cancel()


if __name__ == "__main__":
    ap = argparse.ArgumentParser()
    ap.add_argument("--server", action="store_true")
    ap.add_argument("--markets", type=int, default=1000)
    ap.add_argument("--outages", default="3,10")
    ap.add_argument("--kw", default="{}")
    ap.add_argument("--profile", action="store_true")
    a = ap.parse_args()
    if a.server:
        asyncio.run(server_main(a.markets, 5.0))
    else:
        asyncio.run(client_main(a))
