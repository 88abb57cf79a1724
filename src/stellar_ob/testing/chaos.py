"""Chaos run: every hostile and broken behaviour of :class:`~stellar_ob.testing.Faults`, at random,
against many live books (L2 and L3) through one :class:`~stellar_ob.sync.Horizon` client.

What it checks (``ChaosResult.problems`` lists every miss; empty = pass):

- **memory**: the process's RSS (client and local Horizon together) never grows more than
  ``rss_growth_bound_mb`` over its value once every book has loaded (sampled every 50 ms);
- **correctness**: once the server behaves again (every switch cleared), every book equals the
  server's: an L2 book equals the server's /order_book document, an L3 book holds exactly the
  server's offers and pool, re-paged at its last ledger; no book is FAILED;
- **request rate**, counted server-side from :attr:`LocalHorizon.requests`: no more request
  starts in any one-second window than ``min_request_interval`` allows, and no more connections
  of one stream in any two-second window than ``min_reconnect_interval`` allows (+1, the window's
  edge; a small allowance for arrival jitter on a busy machine);
- **redirects are not followed**: a decoy Horizon that every redirect points at gets no request.

Run it from the tests (``tests/test_sync_chaos.py``, ~25 s; ``STELLAR_OB_CHAOS_SECONDS`` makes the
hostile phase longer) or on demand: ``python -m bench.load_scenarios chaos [--minutes 10]``.

Timing never decides correctness: the hostile phase lasts as long as asked, then the market is
frozen and each book gets a generous deadline to converge.
"""

from __future__ import annotations

import asyncio
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
    rss_growth_bound_mb: float = 200.0
    # the client's configured limits (checked server-side) and caps
    min_request_interval: float = 0.005
    min_reconnect_interval: float = 0.25
    client: dict = field(default_factory=lambda: dict(
        max_line_bytes=1 * _MiB, max_event_bytes=2 * _MiB, max_body_bytes=4 * _MiB, max_offer_pages=60,
        request_timeout=2.0, repage_timeout=10.0, stall_timeout=1.5, max_retry_wait=1.0, idle_timeout=3.0,
        backoff_base=0.05, backoff_cap=0.5, honor_server_retry=False))


@dataclass
class ChaosResult:
    seconds: float = 0.0
    spells: int = 0
    behaviours_used: dict = field(default_factory=dict)  #: name -> spells it was on in
    rss_start_mb: float = 0.0  #: once every book had loaded
    rss_max_mb: float = 0.0
    requests: int = 0
    max_requests_per_second: int = 0
    allowed_requests_per_second: int = 0
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
            f"RSS {self.rss_start_mb:.0f} MiB after loading, max {self.rss_max_mb:.0f} MiB "
            f"(+{self.rss_growth_mb:.0f} MiB)",
            f"requests {self.requests}: at most {self.max_requests_per_second} in one second "
            f"(allowed {self.allowed_requests_per_second}); one stream at most {self.max_stream_connections_2s} "
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
        "endless_line": set_(endless_line=8 * _MiB),
        "endless_event": set_(endless_event=8 * _MiB),
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
        "padded_bodies": set_(rest_padding=5 * _MiB),
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


def _l3_state(book: Any) -> dict[int, tuple]:
    return {o.offer_id: (o.side, o.n, o.d, o.amount) for side in ("bid", "ask") for o in book.offers(side)}


def _server_l3(server: LocalHorizon, live: Any) -> tuple[dict[int, tuple], tuple[int, ...]]:
    pair = server.market.pair(live.base, live.counter)
    assert pair is not None  # every L3 book watches a market of the server, base first
    return ({o.offer_id: (o.side, o.n, o.d, o.amount) for o in pair.offers.values()}, tuple(pair.pool_reserves))


def _l3_equal(server: LocalHorizon, live: Any) -> bool:
    offers, pool = _server_l3(server, live)
    return (live.ledger == server.market.ledger and _l3_state(live.book) == offers and live.pool is not None
            and (live.pool.reserve_a, live.pool.reserve_b) == pool)


def _l2_equal(server: LocalHorizon, live: Any) -> bool:
    from stellar_ob import OrderBook

    return live.book == OrderBook.from_horizon(server.order_book_body(live.base, live.counter, live.depth))


async def run_chaos(cfg: ChaosConfig | None = None, say: Callable[[str], None] = lambda s: None) -> ChaosResult:
    """Run one chaos session; see the module docstring for what is checked."""
    from stellar_ob.sync import Horizon, LiveOfferBook, Status

    cfg = cfg or ChaosConfig()
    rng = random.Random(cfg.seed)
    res = ChaosResult()
    # two USDC-like markets that differ only by issuer, then the default made-up ones
    pairs = [("XLM", f"USDC:{account_id('issuer-a')}"), ("XLM", f"USDC:{account_id('issuer-b')}")]
    pairs += [(str(b), str(c)) for b, c in default_pairs(cfg.markets)][: max(0, cfg.markets - 2)]
    market = SimulatedMarket(pairs[: cfg.markets], seed=cfg.seed, levels=10, taker_probability=0.5)
    n_l3 = cfg.markets // 2
    async with LocalHorizon(ledger_interval=None, markets=1, seed=99) as decoy, \
            LocalHorizon(market, ledger_interval=cfg.ledger_interval) as server:
        behaviours = _behaviours(decoy.url)
        async with Horizon(server.url, min_request_interval=cfg.min_request_interval,
                           min_reconnect_interval=cfg.min_reconnect_interval, **cfg.client) as h:
            assets = server.market_assets()
            l3 = [await h.watch_offers(b, c, page_limit=10, stream_limit=20, min_repage_interval=0.5)
                  for b, c in assets[:n_l3]]
            l2 = [await h.watch(b, c, depth=20) for b, c in assets[n_l3:]]
            lives: list[Any] = l3 + l2
            say(f"{len(l2)} L2 and {len(l3)} L3 books loaded, RSS {rss_mb():.0f} MiB")
            rates = _RateCheck(n_l3)
            server.on_request = rates
            res.rss_start_mb = res.rss_max_mb = rss_mb()
            stop = asyncio.Event()

            async def sample() -> None:
                while not stop.is_set():
                    res.rss_max_mb = max(res.rss_max_mb, rss_mb())
                    await asyncio.sleep(0.05)

            sampler = asyncio.create_task(sample())
            t0 = time.monotonic()
            deck: list[str] = []  # every behaviour once in random order, then again: all of them get their turn
            try:
                while time.monotonic() - t0 < cfg.seconds:
                    names = []
                    for _ in range(rng.randint(*cfg.behaviours_at_once)):
                        if not deck:
                            deck = sorted(behaviours)
                            rng.shuffle(deck)
                        names.append(deck.pop())
                    server.faults.clear()
                    for name in names:
                        behaviours[name](server.faults)
                        res.behaviours_used[name] = res.behaviours_used.get(name, 0) + 1
                    res.spells += 1
                    if rng.random() < 0.05:
                        await server.restart(downtime=0.2)
                    await asyncio.sleep(min(rng.uniform(*cfg.spell), max(0.0, cfg.seconds - (time.monotonic() - t0))))
                    if res.spells % 10 == 0:
                        say(f"{time.monotonic() - t0:.0f} s: {res.spells} spells, RSS {rss_mb():.0f} MiB "
                            f"(max {res.rss_max_mb:.0f}), requests {rates.count}")
                res.seconds = time.monotonic() - t0
                # the server behaves again: a few normal ledgers, then freeze and compare
                server.faults.clear()
                behaved = time.monotonic()
                target = server.market.ledger + 3
                while server.market.ledger < target:
                    await asyncio.sleep(0.02)
                server.pause()

                async def converge(live: Any) -> None:
                    equal = (lambda _b: _l3_equal(server, live)) if isinstance(live, LiveOfferBook) else (
                        lambda _b: _l2_equal(server, live))
                    try:
                        await live.wait_for(equal, timeout=cfg.converge_timeout)
                    except (asyncio.TimeoutError, Exception):  # reported below, book by book
                        pass

                await asyncio.gather(*(converge(live) for live in lives))
                res.converge_seconds = time.monotonic() - behaved
            finally:
                stop.set()
                await sampler
                server.on_request = None
            for live in lives:
                if live.status in (Status.FAILED, Status.CLOSED):
                    res.failed_books.append(f"{live!r}: {live.last_error!r}")
                equal = _l3_equal(server, live) if isinstance(live, LiveOfferBook) else _l2_equal(server, live)
                if not equal:
                    res.wrong_books.append(f"{live!r}: last error {live.last_error!r}")
            total: dict[str, int] = {}
            for live in lives:
                for k, v in vars(live.counters).items():
                    total[k] = total.get(k, 0) + v
            res.counters = total
        res.decoy_requests = len(decoy.requests)
    res.requests = rates.count
    res.max_requests_per_second = rates.max_per_second
    res.allowed_requests_per_second = int(1.0 / cfg.min_request_interval) + 1 if cfg.min_request_interval else 0
    res.max_stream_connections_2s = rates.max_stream_2s
    res.allowed_stream_connections_2s = (int(2.0 / cfg.min_reconnect_interval) + 2 if cfg.min_reconnect_interval
                                         else 0)
    if res.rss_growth_mb > cfg.rss_growth_bound_mb:
        res.problems.append(f"RSS grew {res.rss_growth_mb:.0f} MiB (bound {cfg.rss_growth_bound_mb:g})")
    if res.failed_books:
        res.problems.append(f"failed books: {res.failed_books}")
    if res.wrong_books:
        res.problems.append(f"books different from the server's: {res.wrong_books}")
    if res.allowed_requests_per_second and res.max_requests_per_second > res.allowed_requests_per_second:
        res.problems.append(f"{res.max_requests_per_second} requests in one second "
                            f"(min_request_interval allows {res.allowed_requests_per_second})")
    if res.allowed_stream_connections_2s and res.max_stream_connections_2s > res.allowed_stream_connections_2s:
        res.problems.append(f"{res.max_stream_connections_2s} connections of {rates.worst_stream} in 2 s "
                            f"(min_reconnect_interval allows {res.allowed_stream_connections_2s})")
    if res.decoy_requests:
        res.problems.append(f"{res.decoy_requests} requests followed a redirect to another server")
    return res
