"""A local Horizon on 127.0.0.1 that speaks Horizon's wire format, driven by a simulated market.

What it mirrors (stellar/stellar-horizon, internal/render/sse, internal/httpx/handler.go):

* ``GET /order_book`` as REST (2-space indented JSON, ``Latest-Ledger`` header) and as an SSE
  *object stream* (``Accept: text/event-stream``): preamble ``retry: 1000`` / ``event: open`` /
  ``data: "hello"``; the full book at once, then the book again after each ledger only if it
  differs from the last one sent on this connection (compact JSON, no ``id:``); after 10 events
  ``retry: 10`` / ``event: close`` / ``data: "byebye"`` and the connection closes; the same
  goodbye when the connection timeout (55 s) expires.
* ``GET /trades`` and ``GET /ledgers`` as REST pages and SSE *page streams* (``id:`` = paging
  token, ``Last-Event-ID`` wins over ``cursor``, ``cursor=now``, close after ``limit`` events).
* ``GET /offers`` pages (``selling_*``/``buying_*`` filters, ``cursor``, ``limit`` <= 200,
  ``order``) and ``GET /liquidity_pools?reserves=A,B``; both answer 406 to a stream request.
* Errors as ``application/problem+json``; a rate limit is HTTP 429 with ``X-RateLimit-Limit``,
  ``X-RateLimit-Remaining``, ``X-RateLimit-Reset`` and ``Retry-After``; a stream that hits it
  mid-way gets ``event: error`` / ``data: Rate limit exceeded`` and is closed.

Fault switches live on :attr:`LocalHorizon.faults` (:class:`Faults`) and can be flipped while
the server runs; they apply to object and page streams alike (``page_byebye_after`` only to page
streams), REST answers get the rate limit, 503s and slowness. Beyond what a real Horizon does,
they also make it *hostile* (a buggy Horizon, or a proxy in front of one): endless lines and
events, goodbyes with no data, comment-only streams, absurd ``retry:``/``id:`` fields and
rate-limit headers, deeply nested or crossed or overflowing documents, /offers pages that ignore
the cursor or never end, trickled and padded REST bodies, and redirects. :data:`HOSTILE` names
the hostile switches with a value that turns each on (the chaos test draws from it).

The REST /order_book bodies are cached per (pair, limit, format) in a bounded LRU
(:attr:`LocalHorizon.cache_size` entries), so any number of distinct queries costs bounded memory.

/trades also answers a pair asked the other way round (base and counter swapped), as Horizon
does: the record's base/counter columns swap, ``base_is_seller`` and the price are inverted.

Example::

    async with LocalHorizon(markets=1, ledger_interval=0.05) as server:
        base, counter = server.market_assets()[0]
        ...  # point a Horizon client at server.url
"""

from __future__ import annotations

import asyncio
import json
import math
import socket
import time
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Any, Sequence

from aiohttp import web

from stellar_ob.amounts import price_string
from stellar_ob.assets import Asset
from stellar_ob.errors import AssetError
from stellar_ob.testing.market import SimulatedMarket, SimulatedPair

__all__ = ["LocalHorizon", "Faults", "RequestRecord", "HOSTILE"]

_SSE_HEADERS = {
    "Content-Type": "text/event-stream; charset=utf-8",
    "Cache-Control": "no-cache",
    "Connection": "keep-alive",
    "Access-Control-Allow-Origin": "*",
}
_HELLO = b'retry: 1000\nevent: open\ndata: "hello"\n\n'
_BYEBYE = b'retry: 10\nevent: close\ndata: "byebye"\n\n'
_DEEP = 100_000  # nesting of the deep_json fault (Python's json recursion limit is ~1,000)
_PROBLEM_BASE = "https://stellar.org/horizon-errors/"


@dataclass
class Faults:
    """Switches that make the local Horizon misbehave the ways the real one does.

    Counts are per connection so switches combine deterministically. ``None`` / 0 = off.
    """

    #: seconds from now during which every request gets HTTP 429 (see :meth:`rate_limit`)
    rate_limited_until: float = 0.0
    #: Retry-After sent with 429s (seconds, an integer on the wire as Horizon's throttled does)
    retry_after: int = 1
    #: streams send ``event: error`` and close after this many data events
    error_after: int | None = None
    #: object streams send the goodbye after this many data events (Horizon: 10)
    byebye_after: int = 10
    #: page streams (/trades, /ledgers) send the goodbye after this many data events even when the
    #: client asked for a larger ``limit`` (Horizon: after ``limit``)
    page_byebye_after: int | None = None
    #: streams write half of the next data event after this many and then cut the connection
    cut_after: int | None = None
    #: the Nth data event of each stream connection (1-based) carries malformed JSON
    malformed_at: int | None = None
    #: streams stay silent (connection open, nothing written) until this monotonic time
    stalled_until: float = 0.0
    #: page streams of these paths (e.g. ``{"/trades"}``) hold their events back, connection open,
    #: until :meth:`LocalHorizon.release`: one stream lagging behind another, as two connections
    #: to a real Horizon can (see :meth:`LocalHorizon.hold`)
    held: frozenset = frozenset()
    #: seconds to wait before answering any request (slow responses)
    slow: float = 0.0
    #: the next N requests get HTTP 503 (problem+json); decremented per request
    server_errors: int = 0
    #: stream connection timeout in seconds (Horizon's --connection-timeout default 55 s)
    connection_timeout: float = 55.0

    # ---- hostile behaviour (no real Horizon does this; a buggy one or a proxy might) ----------
    #: data events a stream sends normally before an ``endless_*`` / ``comments_only`` fault starts
    hostile_after: int = 1
    #: then write one ``data:`` line this many bytes long with no line end, and cut (0 = off)
    endless_line: int = 0
    #: then write 1 KiB ``data:`` lines adding up to this many bytes with no blank line, and cut
    endless_event: int = 0
    #: then send nothing but ``:`` comments, one every this many seconds, forever (0 = off)
    comments_only: float = 0.0
    #: streams say goodbye right after the hello, with no data event
    empty_byebye: bool = False
    #: the ``retry:`` of the goodbye (Horizon: 10 ms)
    goodbye_retry: int = 10
    #: the hello's ``retry:`` is this many 9s instead of Horizon's 1000 (0 = off)
    retry_digits: int = 0
    #: page streams (/trades, /ledgers) send this as every event's ``id:`` (e.g. "²")
    stream_id: str | None = None
    #: data events of these streams and bodies of these REST paths are JSON nested 100,000 deep
    #: (e.g. ``{"/trades", "/ledgers", "/offers"}``)
    deep_json: frozenset = frozenset()
    #: /order_book documents get a bid level priced above the best ask (strictly crossed)
    crossed: bool = False
    #: /order_book documents get two more asks at the best ask's price whose amounts sum past uint64
    overflow_levels: bool = False
    #: /offers ignores ``cursor`` and answers the first page again
    offers_ignore_cursor: bool = False
    #: /offers answers every request with a full page of made-up offers after the cursor, forever
    offers_endless: bool = False
    #: bytes of whitespace appended to every REST body (still valid JSON)
    rest_padding: int = 0
    #: REST bodies are written one byte every this many seconds (0 = off)
    trickle: float = 0.0
    #: every request gets ``302 Found`` to this origin (+ the request's path and query)
    redirect: str | None = None
    #: headers set on every answer, replacing the server's own (e.g. ``{"Retry-After": "inf"}``)
    extra_headers: dict = field(default_factory=dict)
    #: fields laid over every /liquidity_pools record (e.g. ``{"fee_bp": "30"}`` or stale
    #: ``reserves``): a malformed or outdated pool record
    pool_record_patch: dict = field(default_factory=dict)

    def rate_limit(self, seconds: float, retry_after: int | None = None) -> None:
        """Answer 429 to every request for the next ``seconds``."""
        self.rate_limited_until = time.monotonic() + seconds
        self.retry_after = max(1, math.ceil(retry_after if retry_after is not None else seconds))

    def stall(self, seconds: float) -> None:
        """Make every stream go silent for ``seconds`` (books still change underneath)."""
        self.stalled_until = time.monotonic() + seconds

    def clear(self) -> None:
        """Every switch back to normal Horizon behaviour."""
        self.__init__()  # type: ignore[misc]


#: Each hostile switch of :class:`Faults` with a value that turns it on (values sized for tests:
#: a client with caps of a few MiB drops these streams long before the server runs out of bytes).
HOSTILE: dict[str, Any] = {
    "endless_line": 16 << 20,
    "endless_event": 16 << 20,
    "comments_only": 0.05,
    "empty_byebye": True,
    "goodbye_retry": 0,
    "retry_digits": 5000,
    "stream_id": "\u00b2",
    "deep_json": frozenset({"/trades", "/ledgers", "/offers", "/liquidity_pools"}),
    "crossed": True,
    "overflow_levels": True,
    "offers_ignore_cursor": True,
    "offers_endless": True,
    "rest_padding": 8 << 20,
    "trickle": 0.05,
    "redirect": "http://127.0.0.1:9",
    "extra_headers": {"X-RateLimit-Limit": "inf", "X-RateLimit-Remaining": "nan",
                      "X-RateLimit-Reset": "1" * 5000, "Retry-After": "Fri, 31 Dec 9999 23:59:59 GMT"},
}


@dataclass(frozen=True)
class RequestRecord:
    """One request as the server saw it: when it arrived (time.monotonic()), what, the answer's status."""

    at: float
    path: str
    query: str
    stream: bool
    status: int
    answered: float = 0.0  #: when the handler finished (for a stream: when it closed)


@dataclass
class _Stats:
    requests: int = 0
    streams_opened: int = 0
    events_sent: int = 0
    byebyes: int = 0
    errors_sent: int = 0
    cuts: int = 0
    rate_limited: int = 0
    hostile_bytes: int = 0  #: bytes of endless lines and events the clients accepted before hanging up


def _problem(status: int, kind: str, title: str, detail: str, extras: dict | None = None, headers=None) -> web.Response:
    body: dict[str, Any] = {"type": _PROBLEM_BASE + kind, "title": title, "status": status, "detail": detail}
    if extras:
        body["extras"] = extras
    return web.Response(
        status=status,
        body=json.dumps(body, indent=2).encode(),
        content_type="application/problem+json",
        charset="utf-8",
        headers=headers,
    )


def _bad_request(field_name: str, reason: str) -> web.Response:
    return _problem(
        400,
        "bad_request",
        "Bad Request",
        "The request you sent was invalid in some way.",
        {"invalid_field": field_name, "reason": reason},
    )


class _BadParam(Exception):
    def __init__(self, field_name: str, reason: str) -> None:
        super().__init__(reason)
        self.field_name = field_name
        self.reason = reason


def _asset_from_query(q, prefix: str) -> Asset:
    kind = q.get(f"{prefix}_asset_type")
    if kind is None:
        raise _BadParam(f"{prefix}_asset_type", "Missing required field")
    obj = {"asset_type": kind}
    for k in ("code", "issuer"):
        v = q.get(f"{prefix}_asset_{k}")
        if v is not None:
            obj[f"asset_{k}"] = v
    try:
        return Asset.from_horizon_json(obj)
    except AssetError as e:
        raise _BadParam(f"{prefix}_asset_type", str(e)) from None


def _asset_canonical(s: str) -> str:
    return str(Asset.parse(s))


def _wants_stream(request: web.Request) -> bool:
    return "text/event-stream" in request.headers.get("Accept", "")


class LocalHorizon:
    """An aiohttp Horizon on 127.0.0.1 with a :class:`SimulatedMarket` behind it.

    ``ledger_interval`` is the seconds between ledger closes (Horizon's real cadence is 5 s;
    tests use 0.02-0.2 s; ``None`` = only when :meth:`close_ledger` is called). ``port=0`` picks a
    free port; :meth:`restart` comes back on the same one. ``cache_size``: REST and stream
    /order_book bodies kept (LRU).
    """

    def __init__(
        self,
        market: SimulatedMarket | None = None,
        *,
        markets: int | Sequence[tuple[Any, Any]] = 1,
        seed: int = 0,
        ledger_interval: float | None = 1.0,
        host: str = "127.0.0.1",
        port: int = 0,
        levels: int = 20,
        faults: Faults | None = None,
        rate_limit_per_hour: int | None = None,
        cache_size: int = 1024,
    ) -> None:
        self.market = market if market is not None else SimulatedMarket(markets, seed=seed, levels=levels)
        self.ledger_interval = ledger_interval
        self.host = host
        self.port = port
        self.faults = faults or Faults()
        self.stats = _Stats()
        self.requests: list[RequestRecord] = []
        self.rate_limit_per_hour = rate_limit_per_hour
        self._runner: web.AppRunner | None = None
        self._clock: asyncio.Task | None = None
        self._next_ledger: asyncio.Future | None = None
        self._closing: asyncio.Future | None = None
        self._transports: set[Any] = set()
        self.cache_size = cache_size
        self._cache: OrderedDict[tuple[tuple[str, str], int, bool], tuple[int, bytes]] = OrderedDict()
        #: called with (pair key, perf_counter_ns() taken just before the write) per order_book event
        self.on_event_written: Any = None
        #: called with (time.monotonic(), path, query string, is_stream) as each request arrives
        self.on_request: Any = None

    # ---- lifecycle ---------------------------------------------------------------------------------
    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def market_assets(self) -> list[tuple[Asset, Asset]]:
        """(base, counter) of every simulated market."""
        return [(p.base, p.counter) for p in self.market.pairs.values()]

    async def __aenter__(self) -> "LocalHorizon":
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    async def start(self) -> None:
        """Bind (random port unless given) and start serving and closing ledgers."""
        loop = asyncio.get_running_loop()
        self._next_ledger = loop.create_future()
        self._closing = loop.create_future()
        app = web.Application(middlewares=[self._middleware])
        app.router.add_get("/", self._root)
        app.router.add_get("/order_book", self._order_book)
        app.router.add_get("/offers", self._offers)
        app.router.add_get("/trades", self._trades)
        app.router.add_get("/ledgers", self._ledgers)
        app.router.add_get("/liquidity_pools", self._liquidity_pools)
        self._runner = web.AppRunner(app, access_log=None, handle_signals=False, shutdown_timeout=1.0)
        await self._runner.setup()
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((self.host, self.port))
        self.port = sock.getsockname()[1]
        site = web.SockSite(self._runner, sock, backlog=4096)
        await site.start()
        if self.ledger_interval and self._clock is None:
            self._clock = asyncio.create_task(self._ledger_clock())

    async def stop(self) -> None:
        """Close every connection and stop."""
        await self._shutdown(stop_clock=True)

    async def restart(self, downtime: float = 0.0) -> None:
        """Drop every connection (as a crashing Horizon would), stay down ``downtime`` s, come back."""
        await self._shutdown(stop_clock=False)
        if downtime:
            await asyncio.sleep(downtime)
        await self.start()

    async def _shutdown(self, *, stop_clock: bool) -> None:
        if stop_clock and self._clock is not None:
            self._clock.cancel()
            try:
                await self._clock
            except asyncio.CancelledError:
                pass
            self._clock = None
        if self._closing is not None and not self._closing.done():
            self._closing.set_result(None)
        for t in list(self._transports):
            t.abort()
        self._transports.clear()
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    # ---- the ledger clock ---------------------------------------------------------------------------
    def pause(self) -> None:
        """Stop closing ledgers (books freeze; streams go silent, as Horizon's do)."""
        if self._clock is not None:
            self._clock.cancel()
            self._clock = None

    def resume(self, ledger_interval: float | None = None) -> None:
        """Start closing ledgers again (every ``ledger_interval`` s if given)."""
        if ledger_interval is not None:
            self.ledger_interval = ledger_interval
        if self._clock is None and self.ledger_interval:
            self._clock = asyncio.create_task(self._ledger_clock())

    async def _ledger_clock(self) -> None:
        if not self.ledger_interval:
            return
        loop = asyncio.get_running_loop()
        next_at = loop.time()
        while True:
            next_at += self.ledger_interval
            await asyncio.sleep(max(0.0, next_at - loop.time()))
            self.close_ledger()

    def close_ledger(self, pairs: Any = None) -> int:
        """Close one ledger now (activity on ``pairs``, default every pair); wakes every stream.
        Returns the new ledger sequence."""
        self.market.close_ledger(pairs)
        self._wake()
        return self.market.ledger

    def hold(self, *paths: str) -> None:
        """Hold back the events of every page stream of ``paths`` (e.g. ``"/trades"``) until
        :meth:`release`: the ledgers close and the other streams and REST answers go on, so a
        client sees a ledger (and can re-page it) before that ledger's trades arrive."""
        self.faults.held = self.faults.held | frozenset(paths)

    def release(self) -> None:
        """Let the held streams send what they held back (in order), and everything after."""
        self.faults.held = frozenset()
        self._wake()

    def _wake(self) -> None:
        """Wake every stream waiting for the next ledger (they send whatever is new)."""
        fut = self._next_ledger
        if fut is not None:
            self._next_ledger = asyncio.get_running_loop().create_future()
            if not fut.done():
                fut.set_result(self.market.ledger)

    async def _wait_ledger_or_close(self, timeout: float) -> bool:
        """Wait for the next ledger; False when the server closes or ``timeout`` passes."""
        if self._next_ledger is None or self._closing is None:
            return False  # not started, or already closed
        done, _ = await asyncio.wait((self._next_ledger, self._closing), timeout=max(0.0, timeout),
                                     return_when=asyncio.FIRST_COMPLETED)
        return bool(done) and not self._closing.done()

    # ---- rendering ------------------------------------------------------------------------------------
    def order_book_body(self, base: Asset, counter: Asset, depth: int = 20, *, compact: bool = True) -> bytes:
        """The /order_book body exactly as Horizon would send it (compact for SSE, indented for REST)."""
        pair = self.market.pairs.get((str(base), str(counter)))
        version = pair.version if pair is not None else -1
        key = ((str(base), str(counter)), depth, compact)
        cache = self._cache
        hit = cache.get(key)
        if hit is not None and hit[0] == version:
            cache.move_to_end(key)
            return hit[1]
        body = self._render_order_book(pair, base, counter, depth, compact)
        cache[key] = (version, body)
        cache.move_to_end(key)
        while len(cache) > self.cache_size:
            cache.popitem(last=False)
        return body

    def _served_order_book(self, base: Asset, counter: Asset, depth: int, *, compact: bool) -> bytes:
        """What /order_book sends: :meth:`order_book_body` unless a fault changes the document."""
        f = self.faults
        body = self.order_book_body(base, counter, depth, compact=compact)
        if not (f.crossed or f.overflow_levels):
            return body
        doc = json.loads(body)
        asks = doc["asks"]
        if asks and f.crossed:  # a bid strictly better than the best ask: an impossible book
            n, d = asks[0]["price_r"]["n"], asks[0]["price_r"]["d"]
            n, d = (n + 1, d) if n < 2**31 - 1 else (n, d - 1)
            doc["bids"].insert(0, {"price_r": {"n": n, "d": d}, "price": price_string(n, d), "amount": "1.0000000"})
        if asks and f.overflow_levels:  # the same price twice more: the level's total passes uint64
            top = dict(asks[0], amount="1844674407370.9551615")
            doc["asks"][1:1] = [top, dict(top)]
        if compact:
            return json.dumps(doc, separators=(",", ":")).encode()
        return json.dumps(doc, indent=2).encode()

    def _render_order_book(self, pair: SimulatedPair | None, base: Asset, counter: Asset, depth: int,
                           compact: bool) -> bytes:
        if pair is not None:
            doc = self.market.order_book_doc(pair, depth)
        else:  # Horizon answers any valid pair, with an empty book if nobody trades it
            doc = {"bids": [], "asks": [], "base": base.to_horizon_json(), "counter": counter.to_horizon_json()}
        if compact:
            return json.dumps(doc, separators=(",", ":")).encode()
        return json.dumps(doc, indent=2).encode()

    def _offer_record(self, pair: SimulatedPair, o: Any) -> dict[str, Any]:
        from stellar_ob import format_amount

        selling, buying = (pair.base, pair.counter) if o.side == "ask" else (pair.counter, pair.base)
        from fractions import Fraction

        price = Fraction(o.n, o.d)
        return {
            "_links": {"self": {"href": f"{self.url}/offers/{o.offer_id}"},
                       "offer_maker": {"href": f"{self.url}/accounts/{o.seller}"}},
            "id": str(o.offer_id),
            "paging_token": str(o.offer_id),
            "seller": o.seller,
            "selling": selling.to_horizon_json(),
            "buying": buying.to_horizon_json(),
            "amount": format_amount(o.amount),
            "price_r": {"n": o.n, "d": o.d},
            "price": price_string(price.numerator, price.denominator),
            "last_modified_ledger": o.last_modified_ledger,
            "last_modified_time": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(o.last_modified_time)),
        }

    def _made_up_offers(self, selling: Asset, buying: Asset, cursor: int | None, limit: int) -> list[dict[str, Any]]:
        """``limit`` offers that exist nowhere, with ids right after ``cursor`` (offers_endless)."""
        from stellar_ob.testing.market import account_id

        start = (cursor if cursor is not None else 1 << 40) + 1
        seller = account_id("endless")
        return [{"id": str(i), "paging_token": str(i), "seller": seller, "selling": selling.to_horizon_json(),
                 "buying": buying.to_horizon_json(), "amount": "1.0000000", "price_r": {"n": 1, "d": 1},
                 "price": "1.0000000", "last_modified_ledger": self.market.ledger}
                for i in range(start, start + limit)]

    def _page(self, request: web.Request, records: list[dict[str, Any]], path: str) -> web.Response:
        q = request.query
        base_q = {k: v for k, v in q.items() if k not in ("cursor", "order")}
        limit = base_q.get("limit", "10")
        order = q.get("order", "asc")
        rev = "desc" if order == "asc" else "asc"
        from urllib.parse import urlencode

        def link(cursor: str, o: str) -> str:
            return f"{self.url}{path}?" + urlencode({**base_q, "cursor": cursor, "limit": limit, "order": o})

        first = records[0]["paging_token"] if records else q.get("cursor", "")
        last = records[-1]["paging_token"] if records else q.get("cursor", "")
        body = {
            "_links": {
                "self": {"href": link(q.get("cursor", ""), order)},
                "next": {"href": link(last, order)},
                "prev": {"href": link(first, rev)},
            },
            "_embedded": {"records": [_public(r) for r in records]},
        }
        return self._json(body)

    def _json(self, body: Any, status: int = 200) -> web.Response:
        return web.Response(
            status=status,
            body=json.dumps(body, indent=2).encode(),
            content_type="application/hal+json",
            charset="utf-8",
            headers={"Latest-Ledger": str(self.market.ledger)},
        )

    # ---- middleware: faults, rate limit, problem+json, request log ----------------------------------
    @web.middleware
    async def _middleware(self, request: web.Request, handler: Any) -> web.StreamResponse:
        started = time.monotonic()
        stream = _wants_stream(request)
        f = self.faults
        self.stats.requests += 1
        if self.on_request is not None:
            self.on_request(started, request.path, request.query_string, stream)
        if request.transport is not None:
            self._transports.add(request.transport)
        status = 500
        try:
            if f.slow:
                await asyncio.sleep(f.slow)
            now = time.monotonic()
            if f.redirect:
                resp: web.StreamResponse = web.Response(status=302, headers={"Location": f.redirect + request.path_qs})
            elif now < f.rate_limited_until:
                self.stats.rate_limited += 1
                reset = max(1, math.ceil(f.rate_limited_until - now))
                resp = _problem(
                    429, "rate_limit_exceeded", "Rate Limit Exceeded",
                    "The rate limit for the requesting IP address is over its alloted limit.  The allowed "
                    "limit and requests left per time period are communicated to clients via the http "
                    "response headers 'X-RateLimit-*' headers.",
                    headers={"X-RateLimit-Limit": "3600", "X-RateLimit-Remaining": "0",
                             "X-RateLimit-Reset": str(reset), "Retry-After": str(max(f.retry_after, reset))},
                )
            elif f.server_errors > 0:
                f.server_errors -= 1
                resp = _problem(503, "server_over_capacity", "Server Over Capacity",
                                "This horizon server is currently overloaded.  Please wait for several "
                                "minutes before trying your request again.")
            else:
                try:
                    resp = await handler(request)
                except _BadParam as e:
                    resp = _bad_request(e.field_name, e.reason)
                except web.HTTPNotFound:
                    resp = _problem(404, "not_found", "Resource Missing",
                                    "The resource at the url requested was not found.  This usually occurs "
                                    "for one of two reasons:  The url requested is not valid, or no data in "
                                    "our database could be found with the parameters provided.")
            status = resp.status
            if not resp.prepared:
                resp = await self._hostile_rest(request, resp)
            return resp
        finally:
            self.requests.append(RequestRecord(started, request.path, request.query_string, stream, status,
                                               time.monotonic()))
            if len(self.requests) > 100_000:
                del self.requests[:50_000]
            if request.transport is not None:
                self._transports.discard(request.transport)

    async def _hostile_rest(self, request: web.Request, resp: web.StreamResponse) -> web.StreamResponse:
        """Apply the REST faults to an answer not sent yet: headers, deep JSON, padding, trickle."""
        f = self.faults
        if f.extra_headers:
            resp.headers.update(f.extra_headers)
        if not isinstance(resp, web.Response) or resp.status != 200:
            return resp
        body = resp.body
        if not isinstance(body, (bytes, bytearray)):
            return resp
        if request.path in f.deep_json:
            body = _deep_json()
            resp.body = body
        if not (f.trickle or f.rest_padding):
            return resp
        # written piece by piece: the server holds one piece, whatever the padding or the pace
        out = web.StreamResponse(status=resp.status, headers={k: v for k, v in resp.headers.items()
                                                              if k.lower() not in ("content-length", "transfer-encoding")})
        if not f.rest_padding:
            out.content_length = len(body)  # trickled: a known length, as a slow Horizon would send
        await out.prepare(request)  # padded: chunked, so the client finds out only by reading
        try:
            if f.trickle:
                for i in range(len(body)):
                    await out.write(body[i:i + 1])
                    await asyncio.sleep(f.trickle)
            else:
                await out.write(body)
            left, blank = f.rest_padding, b" " * 65536
            while left > 0:
                await out.write(blank[:left])
                left -= len(blank)
            await out.write_eof()
        except (ConnectionError, RuntimeError):  # the client gave up: nothing more to send
            pass
        return out

    async def _root(self, request: web.Request) -> web.Response:
        return self._json({"horizon_version": "stellar-ob local", "history_latest_ledger": self.market.ledger,
                           "core_latest_ledger": self.market.ledger, "network_passphrase": "stellar-ob local"})

    # ---- /order_book -----------------------------------------------------------------------------------
    async def _order_book(self, request: web.Request) -> web.StreamResponse:
        q = request.query
        base = _asset_from_query(q, "selling")
        counter = _asset_from_query(q, "buying")
        try:
            limit = int(q.get("limit", "20"))
        except ValueError:
            raise _BadParam("limit", "unparseable value") from None
        if not 1 <= limit <= 200:
            raise _BadParam("limit", "limit argument must be between 1 and 200")
        if not _wants_stream(request):
            return web.Response(
                body=self._served_order_book(base, counter, limit, compact=False),
                content_type="application/hal+json", charset="utf-8",
                headers={"Latest-Ledger": str(self.market.ledger)},
            )
        return await self._object_stream(request, base, counter, limit)

    async def _object_stream(self, request: web.Request, base: Asset, counter: Asset, limit: int) -> web.StreamResponse:
        f = self.faults
        resp, go_on = await self._open_stream(request)
        if not go_on:
            return resp
        transport = request.transport
        loop = asyncio.get_running_loop()
        deadline = loop.time() + f.connection_timeout
        key = (str(base), str(counter))
        last: bytes | None = None
        sent = 0
        try:
            while True:
                if await self._round_starts_over(resp, transport, sent):
                    return resp
                body = self._served_order_book(base, counter, limit, compact=True)
                if "/order_book" in f.deep_json:
                    body = _deep_json()
                if body != last:
                    if await self._frame_fails(resp, transport, b"data: " + body + b"\n\n", sent):
                        return resp
                    if f.malformed_at is not None and sent + 1 == f.malformed_at:
                        await resp.write(b"data: " + body[: len(body) // 3] + b"\n\n")
                    else:
                        frame = b"data: " + body + b"\n\n"
                        t_write = time.perf_counter_ns()
                        await resp.write(frame)
                        if self.on_event_written is not None:
                            self.on_event_written(key, t_write)
                    last = body
                    sent += 1
                    self.stats.events_sent += 1
                    if sent >= f.byebye_after:
                        await self._goodbye(resp)
                        return resp
                if await self._round_ends_over(resp, transport, sent, deadline - loop.time()):
                    return resp
        except (ConnectionResetError, ConnectionError, RuntimeError):
            return resp

    async def _open_stream(self, request: web.Request) -> tuple[web.StreamResponse, bool]:
        """Start an SSE answer: headers, then the hello (``retry: 1000`` / ``event: open``), and
        whether it went out (False: the client hung up first)."""
        f = self.faults
        resp = web.StreamResponse(status=200, headers={**_SSE_HEADERS, **f.extra_headers})
        try:
            await resp.prepare(request)
            self.stats.streams_opened += 1
            if f.retry_digits:
                await resp.write(b"retry: " + b"9" * f.retry_digits + b'\nevent: open\ndata: "hello"\n\n')
            else:
                await resp.write(_HELLO)
            if f.empty_byebye:
                await self._goodbye(resp)
                return resp, False
        except (ConnectionError, RuntimeError):
            return resp, False
        return resp, True

    async def _goodbye(self, resp: web.StreamResponse) -> None:
        """Horizon's goodbye (retry: 10 / event: close / data: "byebye"), counted."""
        retry = self.faults.goodbye_retry
        await resp.write(_BYEBYE if retry == 10 else b'retry: %d\nevent: close\ndata: "byebye"\n\n' % retry)
        self.stats.byebyes += 1

    async def _round_starts_over(self, resp: web.StreamResponse, transport: Any, sent: int) -> bool:
        """What a stream meets before each round of events (Horizon checks its rate limiter every
        ledger): the limiter's error event, a stall (no events until it passes), a hostile ending.
        True when the stream is over."""
        f = self.faults
        if time.monotonic() < f.rate_limited_until:
            await resp.write(b"event: error\ndata: Rate limit exceeded\n\n")
            self.stats.errors_sent += 1
            return True
        while time.monotonic() < f.stalled_until:
            if not await self._wait_ledger_or_close(f.stalled_until - time.monotonic()):
                if self._closing is not None and self._closing.done():
                    return True
        return await self._hostile_end(resp, transport, sent)

    async def _frame_fails(self, resp: web.StreamResponse, transport: Any, frame: bytes, sent: int) -> bool:
        """Instead of the next ``frame``, once ``sent`` events went out: half of it and a cut
        connection (``cut_after``), or an error event (``error_after``). True when one did."""
        f = self.faults
        if f.cut_after is not None and sent >= f.cut_after:
            await resp.write(frame[: len(frame) // 2])
            self.stats.cuts += 1
            if transport is not None:
                transport.abort()
            return True
        if f.error_after is not None and sent >= f.error_after:
            await resp.write(b"event: error\ndata: Unexpected stream error\n\n")
            self.stats.errors_sent += 1
            return True
        return False

    async def _round_ends_over(self, resp: web.StreamResponse, transport: Any, sent: int, left: float) -> bool:
        """After a round: a hostile ending, else wait for the next ledger; at the connection
        timeout (``left`` seconds from now) Horizon's ctx.Done() -> stream.Done() writes the
        goodbye. True when the stream is over."""
        if await self._hostile_end(resp, transport, sent):
            return True
        if not await self._wait_ledger_or_close(left):
            if self._closing is not None and not self._closing.done():
                await self._goodbye(resp)
            return True
        return False

    async def _hostile_end(self, resp: web.StreamResponse, transport: Any, sent: int) -> bool:
        """Once ``sent`` data events went out, write the ending a hostile switch asks for: an endless
        line or event (then cut), or comments forever. True when the stream is over."""
        f = self.faults
        if sent < f.hostile_after or not (f.endless_line or f.endless_event or f.comments_only):
            return False
        if f.endless_line or f.endless_event:
            if f.endless_line:
                left, line = f.endless_line, b"x" * 65536
                await resp.write(b"data: ")
            else:
                left, line = f.endless_event, b"data: " + b"x" * 1017 + b"\n"
            while left > 0:
                piece = line[:left]
                await resp.write(piece)
                self.stats.hostile_bytes += len(piece)
                left -= len(piece)
            self.stats.cuts += 1
            if transport is not None:
                transport.abort()
            return True
        while f.comments_only and not (self._closing is not None and self._closing.done()):
            await resp.write(b": still here\n")
            await asyncio.sleep(f.comments_only)
        return True  # the switch went off: end this stream without a goodbye

    # ---- /offers ---------------------------------------------------------------------------------------
    async def _offers(self, request: web.Request) -> web.StreamResponse:
        if _wants_stream(request):
            return _problem(406, "not_acceptable",
                            "An acceptable response content-type could not be provided for this request", "")
        q = request.query
        limit, order, cursor = _page_params(q)
        selling = _asset_from_query(q, "selling") if "selling_asset_type" in q else None
        buying = _asset_from_query(q, "buying") if "buying_asset_type" in q else None
        recs: list[tuple[int, SimulatedPair, Any]] = []
        for pair in self.market.pairs.values():
            for side, (s, b) in (("ask", (pair.base, pair.counter)), ("bid", (pair.counter, pair.base))):
                if (selling is None or selling == s) and (buying is None or buying == b):
                    recs.extend((o.offer_id, pair, o) for o in pair.offers.values() if o.side == side)
        recs.sort(key=lambda r: r[0], reverse=(order == "desc"))
        c = int(cursor) if cursor not in ("", None) and not self.faults.offers_ignore_cursor else None
        if self.faults.offers_endless and selling is not None and buying is not None:
            return self._page(request, self._made_up_offers(selling, buying, c, limit), "/offers")
        if c is not None:
            recs = [r for r in recs if (r[0] > c if order == "asc" else r[0] < c)]
        return self._page(request, [self._offer_record(p, o) for _, p, o in recs[:limit]], "/offers")

    # ---- /liquidity_pools ---------------------------------------------------------------------------
    async def _liquidity_pools(self, request: web.Request) -> web.StreamResponse:
        if _wants_stream(request):
            return _problem(406, "not_acceptable",
                            "An acceptable response content-type could not be provided for this request", "")
        from stellar_ob import format_amount

        q = request.query
        limit, order, cursor = _page_params(q)
        want: set[str] | None = None
        if "reserves" in q:
            try:
                want = {_asset_canonical(a) for a in q["reserves"].split(",")}
            except AssetError as e:
                raise _BadParam("reserves", str(e)) from None
        recs: list[dict[str, Any]] = []
        # a market that writes a ledger (testing.ledger_meta.LedgerMarket) keeps the pools' shares as
        # the ledger holds them (deposits move them); a plain SimulatedMarket's are sqrt(a*b)
        ledger_pools = getattr(self.market, "pool_state", None)
        ledger_pools = ledger_pools() if ledger_pools is not None else {}
        for pair in self.market.pairs.values():
            assets = [pair.base, pair.counter]
            if want is not None and not want <= {str(a) for a in assets}:
                continue
            order_ix = sorted(range(2), key=lambda i: (assets[i].asset_type != "native", str(assets[i])))
            held = ledger_pools.get(bytes.fromhex(pair.pool_id)) if pair.pool_id else None
            shares = held[2] if held is not None else math.isqrt(pair.pool_reserves[0] * pair.pool_reserves[1])
            recs.append({
                "_links": {"self": {"href": f"{self.url}/liquidity_pools/{pair.pool_id}"}},
                "id": pair.pool_id,
                "paging_token": pair.pool_id,
                "fee_bp": 30,
                "type": "constant_product",
                "total_trustlines": "1",
                "total_shares": format_amount(shares),
                "reserves": [{"asset": str(assets[i]), "amount": format_amount(pair.pool_reserves[i])}
                             for i in order_ix],
                "last_modified_ledger": pair.pool_last_modified,
                **self.faults.pool_record_patch,
            })
        recs.sort(key=lambda r: r["id"], reverse=(order == "desc"))
        if cursor:
            recs = [r for r in recs if (r["id"] > cursor if order == "asc" else r["id"] < cursor)]
        return self._page(request, recs[:limit], "/liquidity_pools")

    # ---- page streams: /trades, /ledgers ------------------------------------------------------------
    async def _trades(self, request: web.Request) -> web.StreamResponse:
        q = request.query
        key: tuple[str, str] | None = None
        if "base_asset_type" in q or "counter_asset_type" in q:
            key = (str(_asset_from_query(q, "base")), str(_asset_from_query(q, "counter")))

        def source() -> list[dict[str, Any]]:
            trades = self.market.trades
            if key is None:
                return trades
            rev = (key[1], key[0])
            return [t if t["_pair"] == key else _reverse_trade(t) for t in trades if t["_pair"] in (key, rev)]

        return await self._page_resource(request, "/trades", source, _toid_key)

    async def _ledgers(self, request: web.Request) -> web.StreamResponse:
        return await self._page_resource(request, "/ledgers", lambda: self.market.ledgers, lambda t: int(t))

    async def _page_resource(self, request: web.Request, path: str, source: Any, token_key: Any) -> web.StreamResponse:
        q = request.query
        limit, order, cursor = _page_params(q)
        stream = _wants_stream(request)
        if stream and "Last-Event-ID" in request.headers:
            cursor = request.headers["Last-Event-ID"]  # wins over ?cursor (horizon actions/helpers.go)
        if cursor == "now":
            cursor = str((self.market.ledger << 32) | 0xFFFFFFFF)  # toid.AfterLedger(latest)

        def after(c: str | None) -> list[dict[str, Any]]:
            recs = source()
            if c:
                k = token_key(c)
                if order == "asc":
                    recs = [r for r in recs if token_key(r["paging_token"]) > k]
                else:
                    recs = [r for r in recs if token_key(r["paging_token"]) < k]
            return recs if order == "asc" else list(reversed(recs))

        if not stream:
            return self._page(request, after(cursor)[:limit], path)
        f = self.faults
        resp, go_on = await self._open_stream(request)
        if not go_on:
            return resp
        transport = request.transport
        loop = asyncio.get_running_loop()
        deadline = loop.time() + f.connection_timeout
        cap = limit if f.page_byebye_after is None else max(1, min(limit, f.page_byebye_after))
        sent = 0
        try:
            while True:
                if await self._round_starts_over(resp, transport, sent):
                    return resp
                while path in f.held:
                    if not await self._wait_ledger_or_close(deadline - loop.time()):
                        if self._closing is not None and not self._closing.done():
                            await self._goodbye(resp)
                        return resp
                for rec in after(cursor)[: cap - sent]:
                    token = rec["paging_token"].encode() if f.stream_id is None else f.stream_id.encode()
                    body = json.dumps(_public(rec), separators=(",", ":")).encode()
                    if path in f.deep_json:
                        body = _deep_json()
                    frame = b"id: " + token + b"\ndata: " + body + b"\n\n"
                    if await self._frame_fails(resp, transport, frame, sent):
                        return resp
                    if f.malformed_at is not None and sent + 1 == f.malformed_at:
                        await resp.write(b"id: " + token + b"\ndata: " + body[: len(body) // 3] + b"\n\n")
                    else:
                        await resp.write(frame)
                    cursor = rec["paging_token"]
                    sent += 1
                    self.stats.events_sent += 1
                if sent >= cap:
                    await self._goodbye(resp)
                    return resp
                if await self._round_ends_over(resp, transport, sent, deadline - loop.time()):
                    return resp
        except (ConnectionResetError, ConnectionError, RuntimeError):
            return resp


def _deep_json() -> bytes:
    """Valid JSON nested far deeper than any parser should follow."""
    return b'{"a":' * _DEEP + b"0" + b"}" * _DEEP


def _public(rec: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in rec.items() if not k.startswith("_") or k == "_links"}


def _toid_key(token: str) -> tuple[int, int]:
    """A paging token as Horizon compares it; a one-number cursor means "after every record of
    that operation" (horizon db2 PageQuery.CursorInt64Pair appends MaxInt64)."""
    a, sep, b = token.partition("-")
    return (int(a), int(b) if sep else 2**63 - 1)


def _reverse_trade(t: dict[str, Any]) -> dict[str, Any]:
    """A trade seen from the other side of its pair, as Horizon answers a /trades query whose base
    is the stored counter (history TradesQ reverses the columns and negates base_is_seller)."""
    out: dict[str, Any] = {k: t[k] for k in ("_links", "id", "paging_token", "ledger_close_time", "trade_type")
                           if k in t}
    if "liquidity_pool_fee_bp" in t:
        out["liquidity_pool_fee_bp"] = t["liquidity_pool_fee_bp"]
    for side, other in (("base", "counter"), ("counter", "base")):
        for k in ("offer_id", "liquidity_pool_id", "account", "amount", "asset_type", "asset_code", "asset_issuer"):
            if f"{other}_{k}" in t:
                out[f"{side}_{k}"] = t[f"{other}_{k}"]
    out["base_is_seller"] = not t["base_is_seller"]
    out["price"] = {"n": t["price"]["d"], "d": t["price"]["n"]}
    out["_pair"] = (t["_pair"][1], t["_pair"][0])
    return out


def _page_params(q) -> tuple[int, str, str | None]:
    try:
        limit = int(q.get("limit", "10"))
    except ValueError:
        raise _BadParam("limit", "unparseable value") from None
    if not 1 <= limit <= 200:
        raise _BadParam("limit", "limit argument must be between 1 and 200")
    order = q.get("order", "asc")
    if order not in ("asc", "desc"):
        raise _BadParam("order", "order: invalid value")
    return limit, order, q.get("cursor")


