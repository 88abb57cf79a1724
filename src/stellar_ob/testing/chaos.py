"""Chaos run: every hostile and broken behaviour of :class:`~stellar_ob.testing.Faults`, at random,
against many live books (L2 and L3) through one :class:`~stellar_ob.sync.Horizon` client.

The local Horizon (and a decoy Horizon that every redirect points at) run in a child process,
so the memory measured is the client's alone. The parent drives the child over stdin/stdout
(``SPELL name,...`` switches a random set of behaviours on, ``RESTART``, ``BEHAVE``, ``FREEZE``,
``STATS``) and the child counts every request as it arrives.

What it checks (``ChaosResult.problems`` lists every miss; empty = pass):

- **memory**: the client process's RSS never grows more than ``rss_growth_bound_mb`` over its
  value once every book has loaded (sampled every 50 ms);
- **correctness**: once the server behaves again (every switch cleared, a few normal ledgers, then
  the market frozen), every book equals the server's: an L2 book equals the server's
  /order_book, an L3 book holds exactly the offers of the server's /offers pages (both
  directions) and the reserves of its /liquidity_pools record, re-paged at the server's ledger;
  no book is FAILED; the server's answers are read with plain ``json``, not the library;
- **request rate**, counted by the server as requests arrive: no more request starts in any
  one-second window than ``min_request_interval`` allows, and no more connections of one stream in
  any two-second window than ``min_reconnect_interval`` allows. The server stamps a request when
  its handler starts, so requests the client spaced out can arrive bunched (a new connection's
  handshake, a server busy writing endless lines on a loaded machine: 25-55 ms seen in 10-minute
  runs): each window allows what 150 ms of such arrival jitter can bunch, plus one for its edge.
  The client's own request starts (when its rate budget lets a request go) are counted too, and
  must keep the limit with no allowance;
- **redirects are not followed**: the decoy Horizon gets no request.

Run it from the tests (``tests/test_sync_chaos.py``, ~25 s; ``STELLAR_OB_CHAOS_SECONDS`` makes the
hostile phase longer) or on demand: ``python -m bench.load_scenarios chaos [--minutes 10]``.

Timing never decides correctness: the hostile phase lasts as long as asked, then the market is
frozen and each book gets a generous deadline to converge.
"""

from __future__ import annotations

import asyncio
import json
import math
import os
import random
import resource
import time
from collections import defaultdict, deque
from dataclasses import dataclass, field
from typing import Any, Callable
from urllib.parse import parse_qsl

from stellar_ob.testing.market import SimulatedMarket, account_id, default_pairs
from stellar_ob.testing.server import Faults, LocalHorizon

__all__ = ["ChaosConfig", "ChaosResult", "run_chaos", "BEHAVIOURS", "rss_mb"]

_MiB = 1 << 20
_JITTER = 0.15  # s: how much later than the client sent it the server may stamp a request (see below)


def rss_mb() -> float:
    """Resident set size of this process, MiB (/proc; ru_maxrss elsewhere)."""
    try:
        with open(f"/proc/{os.getpid()}/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


@dataclass
class ChaosConfig:
    markets: int = 20  #: half L2 (``/order_book`` streams), half L3 (/offers, /trades, /ledgers)
    seconds: float = 20.0  #: length of the hostile phase
    seed: int = 0
    ledger_interval: float = 0.2
    spell: tuple[float, float] = (0.3, 1.5)  #: seconds one random set of behaviours lasts
    behaviours_at_once: tuple[int, int] = (1, 3)
    converge_timeout: float = 90.0  #: per book, once the server behaves again
    #: the caps below allow ~80 MiB of buffers at once (30 streams x (line + event) + 10 L3 bodies,
    #: and aiohttp's own); the rest is headroom for the allocator. A client without caps reads the
    #: 64 MiB endless lines and padded bodies whole (GiBs across 30 streams).
    rss_growth_bound_mb: float = 150.0
    # the client's configured limits (checked server-side) and caps
    min_request_interval: float = 0.005
    min_reconnect_interval: float = 0.25
    client: dict = field(default_factory=lambda: dict(
        max_line_bytes=512 << 10, max_event_bytes=1 * _MiB, max_body_bytes=2 * _MiB, max_offer_pages=60,
        request_timeout=2.0, repage_timeout=10.0, stall_timeout=1.5, max_retry_wait=1.0, idle_timeout=3.0,
        backoff_base=0.05, backoff_cap=0.5, honor_server_retry=False))


@dataclass
class ChaosResult:
    seconds: float = 0.0
    spells: int = 0
    behaviours_used: dict = field(default_factory=dict)  #: name -> spells it was on in
    rss_start_mb: float = 0.0  #: of the client process, once every book had loaded
    rss_max_mb: float = 0.0
    requests: int = 0
    max_requests_per_second: int = 0  #: as the server counted them arriving
    allowed_requests_per_second: int = 0
    client_max_requests_per_second: int = 0  #: as the client let them start
    client_allowed_requests_per_second: int = 0
    max_stream_connections_2s: int = 0  #: the most connections of one stream in any 2 s window
    allowed_stream_connections_2s: int = 0
    converge_seconds: float = 0.0  #: from the server behaving again to every book equal to it
    counters: dict = field(default_factory=dict)  #: every Counters field summed over the books
    decoy_requests: int = 0
    failed_books: list = field(default_factory=list)
    wrong_books: list = field(default_factory=list)
    problems: list = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems

    @property
    def rss_growth_mb(self) -> float:
        return self.rss_max_mb - self.rss_start_mb

    def lines(self) -> list[str]:
        c = self.counters
        return [
            f"hostile phase {self.seconds:.0f} s, {self.spells} spells; behaviours used: "
            + ", ".join(f"{k} {v}" for k, v in sorted(self.behaviours_used.items())),
            f"client RSS {self.rss_start_mb:.0f} MiB after loading, max {self.rss_max_mb:.0f} MiB "
            f"(+{self.rss_growth_mb:.0f} MiB)",
            f"requests {self.requests}: at most {self.max_requests_per_second} arrived in one second "
            f"(allowed {self.allowed_requests_per_second}), at most {self.client_max_requests_per_second} started "
            f"(allowed {self.client_allowed_requests_per_second}); one stream at most {self.max_stream_connections_2s} "
            f"connections in 2 s (allowed {self.allowed_stream_connections_2s})",
            f"every book equal to the server's {self.converge_seconds:.1f} s after it behaved again; "
            f"failed books {len(self.failed_books)}, wrong books {len(self.wrong_books)}, "
            f"requests at the redirect target {self.decoy_requests}",
            "client saw: " + ", ".join(f"{k} {c[k]}" for k in (
                "limits_exceeded", "parse_errors", "crossed", "stalls", "timeouts", "redirects", "bad_headers",
                "rate_limited", "empty_goodbyes", "error_events", "connection_errors", "http_errors",
                "unexpected_errors", "reconnects", "repage_errors") if k in c),
        ]


def _behaviours(decoy_url: str) -> dict[str, Callable[[Faults], None]]:
    """Every way the local Horizon can misbehave, as a function that switches it on."""

    def set_(**kw: Any) -> Callable[[Faults], None]:
        def apply(f: Faults) -> None:
            for k, v in kw.items():
                setattr(f, k, v)
        return apply

    def rate_limit(headers: dict[str, str]) -> Callable[[Faults], None]:
        def apply(f: Faults) -> None:
            f.rate_limit(0.4, retry_after=1)
            f.extra_headers = dict(headers)
        return apply

    deep = frozenset({"/order_book", "/trades", "/ledgers", "/offers", "/liquidity_pools"})
    return {
        # what a real Horizon does
        "rate_limit": rate_limit({}),
        "error_events": set_(error_after=1),
        "cut_mid_event": set_(cut_after=1),
        "malformed_json": set_(malformed_at=1),
        "server_errors": set_(server_errors=5),
        "stall": lambda f: f.stall(1.0),
        "slow": set_(slow=0.05),
        "connection_timeout": set_(connection_timeout=0.3),
        "early_goodbyes": set_(byebye_after=1, page_byebye_after=1),
        # hostile: a buggy Horizon or a proxy
        "endless_line": set_(endless_line=64 * _MiB),  # far past every cap: only a cap ends them early
        "endless_event": set_(endless_event=64 * _MiB),
        "comments_only": set_(comments_only=0.05),
        "empty_goodbye": set_(empty_byebye=True),
        "goodbye_retry_0": set_(empty_byebye=True, goodbye_retry=0),
        "retry_5000_digits": set_(retry_digits=5000, error_after=1),
        "event_id_superscript": set_(stream_id="\u00b2"),
        "deep_json": set_(deep_json=deep),
        "crossed_book": set_(crossed=True),
        "levels_past_uint64": set_(overflow_levels=True),
        "offers_ignore_cursor": set_(offers_ignore_cursor=True),
        "offers_endless": set_(offers_endless=True),
        "padded_bodies": set_(rest_padding=64 * _MiB),
        "trickled_bodies": set_(trickle=0.05),
        "redirect": set_(redirect=decoy_url),
        "nan_rate_headers": set_(extra_headers={"X-RateLimit-Limit": "inf", "X-RateLimit-Remaining": "nan",
                                                "X-RateLimit-Reset": "1" * 5000}),
        "retry_after_1e12": rate_limit({"Retry-After": "1000000000000"}),
        "retry_after_inf": rate_limit({"Retry-After": "inf", "X-RateLimit-Reset": "inf"}),
        "retry_after_year_9999": rate_limit({"Retry-After": "Fri, 31 Dec 9999 23:59:59 GMT"}),
    }


#: the names of every behaviour a chaos run draws from
BEHAVIOURS = tuple(_behaviours("http://127.0.0.1:9"))


class _RateCheck:
    """Request starts as the server sees them arrive, checked as they come in (bounded memory
    however long the run)."""

    def __init__(self, l3_ledger_streams: int) -> None:
        self.share = max(1, l3_ledger_streams)
        self.last_second: deque[float] = deque()
        self.per_stream: dict[tuple, deque[float]] = defaultdict(deque)
        self.max_per_second = 0
        self.max_stream_2s = 0
        self.worst_stream: tuple = ()
        self.count = 0

    def __call__(self, at: float, path: str, query: str, stream: bool) -> None:
        self.count += 1
        dq = self.last_second
        dq.append(at)
        while dq and dq[0] <= at - 1.0:
            dq.popleft()
        self.max_per_second = max(self.max_per_second, len(dq))
        if not stream:
            return
        if path == "/ledgers":  # no market in the query: every L3 book's /ledgers stream counts here
            key: tuple = ("/ledgers",)
            share = self.share
        else:
            key = (path, *sorted((k, v) for k, v in parse_qsl(query) if k not in ("cursor", "limit")))
            share = 1
        sq = self.per_stream[key]
        sq.append(at)
        while sq and sq[0] <= at - 2.0:
            sq.popleft()
        n = -(-len(sq) // share)  # per stream, on average, for the shared key
        if n > self.max_stream_2s:
            self.max_stream_2s, self.worst_stream = n, key


# ---- the child: the local Horizon and the decoy, driven over stdin/stdout -----------------------------


def _pairs(markets: int) -> list[tuple[str, str]]:
    """Two USDC markets that differ only by issuer, then the default made-up ones."""
    pairs = [("XLM", f"USDC:{account_id('issuer-a')}"), ("XLM", f"USDC:{account_id('issuer-b')}")]
    pairs += [(str(b), str(c)) for b, c in default_pairs(markets)][: max(0, markets - 2)]
    return pairs[:markets]


async def _serve(spec: dict) -> None:
    """The child: serve, obey the parent's commands, answer each with one line."""
    import sys

    market = SimulatedMarket(_pairs(spec["markets"]), seed=spec["seed"], levels=10, taker_probability=0.5)
    async with LocalHorizon(ledger_interval=None, markets=1, seed=99) as decoy, \
            LocalHorizon(market, ledger_interval=spec["ledger_interval"]) as server:
        behaviours = _behaviours(decoy.url)
        rates = _RateCheck(spec["markets"] // 2)
        loop = asyncio.get_running_loop()

        def say(line: str) -> None:
            sys.stdout.write(line + "\n")
            sys.stdout.flush()

        say(f"URL {server.url}")
        while True:
            line = (await loop.run_in_executor(None, sys.stdin.readline)).split(" ", 1)
            cmd, arg = line[0].strip(), (line[1].strip() if len(line) > 1 else "")
            if cmd in ("", "QUIT"):
                break
            if cmd == "COUNT":  # from now on every request counts towards the rate check
                server.on_request = rates
                say("OK")
            elif cmd == "SPELL":
                server.faults.clear()
                for name in arg.split(","):
                    behaviours[name](server.faults)
                say("OK")
            elif cmd == "RESTART":
                await server.restart(downtime=float(arg))
                say("OK")
            elif cmd == "BEHAVE":
                server.faults.clear()
                server.on_request = None
                say("OK")
            elif cmd == "FREEZE":  # a few normal ledgers, then the market stands still
                target = server.market.ledger + int(arg)
                while server.market.ledger < target:
                    await asyncio.sleep(0.02)
                server.pause()
                say(f"FROZEN {server.market.ledger}")
            elif cmd == "STATS":
                say("STATS " + json.dumps({
                    "requests": rates.count, "max_per_second": rates.max_per_second,
                    "max_stream_2s": rates.max_stream_2s, "worst_stream": list(rates.worst_stream),
                    "decoy_requests": len(decoy.requests), "hostile_bytes": server.stats.hostile_bytes}))
            else:
                say(f"ERROR unknown command {cmd!r}")


class _Child:
    """The parent's handle on the child process."""

    def __init__(self, proc: Any) -> None:
        self.proc = proc

    @classmethod
    async def start(cls, spec: dict) -> tuple["_Child", str]:
        import sys

        proc = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "stellar_ob.testing.chaos", "--serve", json.dumps(spec),
            stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE)
        child = cls(proc)
        url = (await child._line()).split()[1]
        return child, url

    async def _line(self) -> str:
        raw = await asyncio.wait_for(self.proc.stdout.readline(), 120)
        if not raw:
            raise RuntimeError("the chaos server process ended")
        return raw.decode().rstrip("\n")

    async def ask(self, command: str) -> str:
        self.proc.stdin.write(command.encode() + b"\n")
        await self.proc.stdin.drain()
        answer = await self._line()
        if answer.startswith("ERROR"):
            raise RuntimeError(answer)
        return answer

    async def close(self) -> None:
        if self.proc.returncode is None:
            try:
                self.proc.stdin.write(b"QUIT\n")
                await self.proc.stdin.drain()
                await asyncio.wait_for(self.proc.wait(), 30)
            except (asyncio.TimeoutError, ConnectionError):
                self.proc.kill()
                await self.proc.wait()


# ---- the truth, read from the server with plain json once it behaves ----------------------------------


async def _server_l2(http: Any, url: str, live: Any) -> Any:
    from stellar_ob import OrderBook

    params = {**live.base.horizon_params("selling"), **live.counter.horizon_params("buying"),
              "limit": str(live.depth)}
    async with http.get(url + "/order_book", params=params) as r:
        return OrderBook.from_horizon(await r.read())


async def _server_l3(http: Any, url: str, live: Any) -> tuple[dict[int, tuple], tuple[int, int] | None, int]:
    """(offers as {id: (side, n, d, stroops)}, pool reserves (base, counter) or None, Latest-Ledger)."""
    from stellar_ob import parse_amount

    offers: dict[int, tuple] = {}
    ledger = 0
    for side, selling, buying in (("ask", live.base, live.counter), ("bid", live.counter, live.base)):
        params = {**selling.horizon_params("selling"), **buying.horizon_params("buying"), "limit": "200"}
        while True:
            async with http.get(url + "/offers", params=params) as r:
                ledger = int(r.headers["Latest-Ledger"])
                records = json.loads(await r.read())["_embedded"]["records"]
            for o in records:
                offers[int(o["id"])] = (side, o["price_r"]["n"], o["price_r"]["d"], parse_amount(o["amount"]))
            if len(records) < 200:
                break
            params["cursor"] = records[-1]["paging_token"]
    async with http.get(url + "/liquidity_pools", params={"reserves": f"{live.base},{live.counter}"}) as r:
        pools = json.loads(await r.read())["_embedded"]["records"]
    pool = None
    for p in pools:
        amounts = {x["asset"]: parse_amount(x["amount"]) for x in p["reserves"]}
        pool = (amounts[str(live.base)], amounts[str(live.counter)])
    return offers, pool, ledger


def _l3_state(live: Any) -> tuple[dict[int, tuple], tuple[int, int] | None, int | None]:
    offers = {o.offer_id: (o.side, o.n, o.d, o.amount) for side in ("bid", "ask") for o in live.book.offers(side)}
    pool = None if live.pool is None else (live.pool.reserve_a, live.pool.reserve_b)
    return offers, pool, live.ledger


async def run_chaos(cfg: ChaosConfig | None = None, say: Callable[[str], None] = lambda s: None) -> ChaosResult:
    """Run one chaos session; see the module docstring for what is checked."""
    import aiohttp

    from stellar_ob.assets import Asset
    from stellar_ob.sync import Horizon, LiveOfferBook, Status

    cfg = cfg or ChaosConfig()
    rng = random.Random(cfg.seed)
    res = ChaosResult()
    n_l3 = cfg.markets // 2
    child, url = await _Child.start({"markets": cfg.markets, "seed": cfg.seed, "ledger_interval": cfg.ledger_interval})
    try:
        assets = [(Asset.parse(b), Asset.parse(c)) for b, c in _pairs(cfg.markets)]
        async with Horizon(url, min_request_interval=cfg.min_request_interval,
                           min_reconnect_interval=cfg.min_reconnect_interval, **cfg.client) as h:
            l3 = [await h.watch_offers(b, c, page_limit=10, stream_limit=20, min_repage_interval=0.5)
                  for b, c in assets[:n_l3]]
            l2 = [await h.watch(b, c, depth=20) for b, c in assets[n_l3:]]
            lives: list[Any] = l3 + l2
            say(f"{len(l2)} L2 and {len(l3)} L3 books loaded, client RSS {rss_mb():.0f} MiB")
            started: deque[float] = deque()
            acquire = h.budget.acquire

            async def counted(owner: Any = None) -> None:  # every request start, as the client lets it go
                await acquire(owner)
                now = time.monotonic()
                started.append(now)
                while started[0] <= now - 1.0:
                    started.popleft()
                res.client_max_requests_per_second = max(res.client_max_requests_per_second, len(started))

            h.budget.acquire = counted  # type: ignore[method-assign]
            await child.ask("COUNT")
            res.rss_start_mb = res.rss_max_mb = rss_mb()
            stop = asyncio.Event()

            async def sample() -> None:
                while not stop.is_set():
                    res.rss_max_mb = max(res.rss_max_mb, rss_mb())
                    await asyncio.sleep(0.05)

            sampler = asyncio.create_task(sample())
            names = sorted(BEHAVIOURS)
            deck: list[str] = []  # every behaviour once in random order, then again: each gets its turn
            t0 = time.monotonic()
            try:
                while time.monotonic() - t0 < cfg.seconds:
                    spell = []
                    for _ in range(rng.randint(*cfg.behaviours_at_once)):
                        if not deck:
                            deck = list(names)
                            rng.shuffle(deck)
                        spell.append(deck.pop())
                    await child.ask("SPELL " + ",".join(spell))
                    for name in spell:
                        res.behaviours_used[name] = res.behaviours_used.get(name, 0) + 1
                    res.spells += 1
                    if rng.random() < 0.05:
                        await child.ask("RESTART 0.2")
                        res.behaviours_used["restart"] = res.behaviours_used.get("restart", 0) + 1
                    await asyncio.sleep(min(rng.uniform(*cfg.spell), max(0.0, cfg.seconds - (time.monotonic() - t0))))
                    if res.spells % 20 == 0:
                        say(f"{time.monotonic() - t0:.0f} s: {res.spells} spells, client RSS {rss_mb():.0f} MiB "
                            f"(max {res.rss_max_mb:.0f})")
                res.seconds = time.monotonic() - t0
                # the server behaves again: a few normal ledgers, then freeze and compare
                await child.ask("BEHAVE")
                behaved = time.monotonic()
                frozen = int((await child.ask("FREEZE 3")).split()[1])
                async with aiohttp.ClientSession() as http:
                    truth = [await _server_l3(http, url, live) if isinstance(live, LiveOfferBook)
                             else await _server_l2(http, url, live) for live in lives]

                def equal(i: int) -> bool:
                    live = lives[i]
                    if isinstance(live, LiveOfferBook):
                        return _l3_state(live) == truth[i] == (truth[i][0], truth[i][1], frozen)
                    return bool(live.book == truth[i])

                async def converge(i: int) -> None:
                    try:
                        await lives[i].wait_for(lambda _b: equal(i), timeout=cfg.converge_timeout)
                    except (asyncio.TimeoutError, Exception):  # reported below, book by book
                        pass

                await asyncio.gather(*(converge(i) for i in range(len(lives))))
                res.converge_seconds = time.monotonic() - behaved
            finally:
                stop.set()
                await sampler
            for i, live in enumerate(lives):
                if live.status in (Status.FAILED, Status.CLOSED):
                    res.failed_books.append(f"{live!r}: {live.last_error!r}")
                if not equal(i):
                    res.wrong_books.append(f"{live!r}: last error {live.last_error!r}")
            total: dict[str, int] = {}
            for live in lives:
                for k, v in vars(live.counters).items():
                    total[k] = total.get(k, 0) + v
            res.counters = total
        stats = json.loads((await child.ask("STATS")).split(" ", 1)[1])
    finally:
        await child.close()
    res.requests = stats["requests"]
    res.decoy_requests = stats["decoy_requests"]
    res.max_requests_per_second = stats["max_per_second"]
    if cfg.min_request_interval:  # + the edge of the window + what 150 ms of arrival jitter can bunch
        res.client_allowed_requests_per_second = int(1.0 / cfg.min_request_interval) + 1
        res.allowed_requests_per_second = (int(1.0 / cfg.min_request_interval) + 1
                                           + math.ceil(_JITTER / cfg.min_request_interval))
    res.max_stream_connections_2s = stats["max_stream_2s"]
    if cfg.min_reconnect_interval:
        res.allowed_stream_connections_2s = (int(2.0 / cfg.min_reconnect_interval) + 1
                                             + math.ceil(_JITTER / cfg.min_reconnect_interval))
    if res.rss_growth_mb > cfg.rss_growth_bound_mb:
        res.problems.append(f"client RSS grew {res.rss_growth_mb:.0f} MiB (bound {cfg.rss_growth_bound_mb:g})")
    if res.failed_books:
        res.problems.append(f"failed books: {res.failed_books}")
    if res.wrong_books:
        res.problems.append(f"books different from the server's: {res.wrong_books}")
    if res.allowed_requests_per_second and res.max_requests_per_second > res.allowed_requests_per_second:
        res.problems.append(f"{res.max_requests_per_second} requests arrived in one second "
                            f"(min_request_interval allows {res.allowed_requests_per_second})")
    if (res.client_allowed_requests_per_second
            and res.client_max_requests_per_second > res.client_allowed_requests_per_second):
        res.problems.append(f"the client started {res.client_max_requests_per_second} requests in one second "
                            f"(min_request_interval allows {res.client_allowed_requests_per_second})")
    if res.allowed_stream_connections_2s and res.max_stream_connections_2s > res.allowed_stream_connections_2s:
        res.problems.append(f"{res.max_stream_connections_2s} connections of {stats['worst_stream']} in 2 s "
                            f"(min_reconnect_interval allows {res.allowed_stream_connections_2s})")
    if res.decoy_requests:
        res.problems.append(f"{res.decoy_requests} requests followed a redirect to another server")
    return res


def _main(argv: list[str]) -> int:
    if len(argv) == 2 and argv[0] == "--serve":
        asyncio.run(_serve(json.loads(argv[1])))
        return 0
    print("usage: python -m bench.load_scenarios chaos (this module's --serve is its server process)")
    return 2


if __name__ == "__main__":
    import sys

    sys.exit(_main(sys.argv[1:]))
