"""The aiohttp application: Horizon's market-data endpoints answered from a DexBook.

Endpoints (Horizon's parameters, JSON and problem documents):

- ``GET /order_book``: ``selling_asset_*`` (base), ``buying_asset_*`` (counter), ``limit`` (default
  20; Horizon allows 200; larger values up to :data:`MAX_ORDER_BOOK_LIMIT` are our extension).
  With ``Accept: text/event-stream`` it streams: the book at once, then again only when it changed.
- ``GET /offers``: ``selling``, ``buying`` (``native`` or ``CODE:ISSUER``, or the legacy
  ``*_asset_type/code/issuer``), ``seller``; ``cursor``, ``limit`` (1-200, default 10), ``order``.
- ``GET /paths/strict-send``: ``source_asset_*``, ``source_amount``, ``destination_assets``.
- ``GET /paths/strict-receive``: ``source_assets``, ``destination_asset_*``, ``destination_amount``.
  Both also take ``max_path_length`` (intermediate assets, 0-5, default 3 as Horizon's
  configuration) as an extension. ``destination_account`` / ``source_account`` (which need the
  account's balances) are refused with 400: pass the asset lists.

Paths are :meth:`stellar_ob.ledger.dexbook.DexBook.find_paths`' (exact, executed before they are returned),
with each seller's real funds unless ``sellers_funds=False``.

Concurrency (issue 15). A path search never runs on the event loop: it runs in a bounded pool of
``path_workers`` threads, and the C search releases the GIL, so /order_book, /offers, the
streams and the ledger feed stay responsive while searches run, and searches use every core.

- The book is protected by a readers-writer lock (:class:`ReadWriteLock`): a search holds it for
  reading; a ledger is applied (:meth:`ServerState.apply`) holding it for writing, so no search
  ever reads a book that is being changed, and a search sees one ledger's state from start to end.
  The writer is preferred: once a ledger waits, new searches wait behind it, so a ledger waits at
  most for the searches already running (each bounded by its deadline).
- Admission: at most ``path_workers`` searches run and ``path_queue`` more wait. A request
  beyond that is refused at once with Horizon's 503 ``server_over_capacity`` and ``Retry-After:
  1``; it never queues without bound.
- Deadline: each request has ``path_timeout`` seconds from its arrival (queueing included). The
  C search checks the clock as it goes and stops; the request then gets Horizon's 504 ``timeout``.
- Answers are kept per ledger: the same query on the same book state (``ServerState.generation``,
  moved by every :meth:`ServerState.apply`) is answered from the last ``path_cache`` answers, and
  identical requests arriving while one is being searched share that search.
"""

from __future__ import annotations

import asyncio
import json
import os
import threading
import time
from collections import OrderedDict
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from typing import Any, Dict, Iterator, List, Optional, Tuple

from aiohttp import web

from ..amounts import format_amount, parse_amount, price_string
from ..assets import Asset
from ..errors import ArgumentError, StellarOBError

__all__ = ["build_app", "ServerState", "ReadWriteLock", "MAX_ORDER_BOOK_LIMIT"]

#: The deepest /order_book this server renders (Horizon: 200).
MAX_ORDER_BOOK_LIMIT = 10_000
_MAX_PATH_ASSETS = 15  # Horizon's maxAssetsPerPathRequest
_STATE = web.AppKey("stellar_ob_server_state", object)
_PATH_LIMIT = web.AppKey("stellar_ob_path_limit", int)
_HEARTBEAT = web.AppKey("stellar_ob_sse_heartbeat", float)
_SEARCH = web.AppKey("stellar_ob_path_pool", object)
_ASSETS = web.AppKey("stellar_ob_asset_cache", object)


class ReadWriteLock:
    """Many readers or one writer; a waiting writer goes before new readers (no writer starvation).

    Threads only (a ledger's apply takes it for writing, waiting at most for the searches already
    running; :meth:`ServerState.apply_async` does that in a worker thread, so the event loop never
    waits on it)."""

    def __init__(self) -> None:
        self._cond = threading.Condition(threading.Lock())
        self._readers = 0
        self._writer = False
        self._writers_waiting = 0

    @contextmanager
    def read(self) -> Iterator[None]:
        with self._cond:
            while self._writer or self._writers_waiting:
                self._cond.wait()
            self._readers += 1
        try:
            yield
        finally:
            with self._cond:
                self._readers -= 1
                if self._readers == 0:
                    self._cond.notify_all()

    @contextmanager
    def write(self) -> Iterator[None]:
        with self._cond:
            self._writers_waiting += 1
            try:
                while self._writer or self._readers:
                    self._cond.wait()
            finally:
                self._writers_waiting -= 1
            self._writer = True
        try:
            yield
        finally:
            with self._cond:
                self._writer = False
                self._cond.notify_all()

    @property
    def readers(self) -> int:
        return self._readers


class BadRequest(Exception):
    def __init__(self, field: str, reason: str) -> None:
        super().__init__(reason)
        self.field, self.reason = field, reason


class ServerState:
    """The book served, its readers-writer lock and a change signal for the streams.

    Change the book only through :meth:`apply` (or hold ``lock.write()`` around the change), then
    ``notify()``: searches run in worker threads and read the book under ``lock.read()``."""

    def __init__(self, dex: Any) -> None:
        self.dex = dex
        self.version = 0
        self.generation = 0  # ledgers applied through apply(): the key of the /paths answer cache
        self.lock = ReadWriteLock()
        self._cond: Optional[asyncio.Condition] = None

    def apply(self, meta: Any, *, resync: bool = False) -> Any:
        """Apply one LedgerCloseMeta to the book holding the write lock (waits for running searches)."""
        with self.lock.write():
            try:
                return self.dex.apply_ledger(meta, resync=resync)
            finally:
                self.generation += 1

    async def apply_async(self, meta: Any, *, resync: bool = False) -> Any:
        """:meth:`apply` in a worker thread: the event loop goes on answering while the ledger
        waits for the searches already running (up to their deadline) and is applied."""
        return await asyncio.get_running_loop().run_in_executor(None, lambda: self.apply(meta, resync=resync))

    def _condition(self) -> asyncio.Condition:
        if self._cond is None:
            self._cond = asyncio.Condition()
        return self._cond

    def notify(self) -> None:
        """The book changed (call from the event loop's thread)."""
        self.version += 1
        cond = self._condition()

        async def wake() -> None:
            async with cond:
                cond.notify_all()

        asyncio.get_running_loop().create_task(wake())

    async def wait_change(self, seen: int, timeout: float) -> int:
        cond = self._condition()
        async with cond:
            if self.version == seen:
                try:
                    await asyncio.wait_for(cond.wait(), timeout)
                except asyncio.TimeoutError:
                    pass
        return self.version


# ---- parameters -----------------------------------------------------------------------------------

class AssetCache:
    """The assets requests named, by their spelling: checking an issuer's StrKey (base32 and its
    CRC16, in Python) costs tens of microseconds, and a /paths request names up to 16 assets, on
    the event loop. Only valid spellings are kept (an Asset is immutable, so a kept one is the
    same value a new parse gives); at most ``size``, cleared when full (bounded memory whatever
    the requests). Event-loop thread only."""

    def __init__(self, size: int = 4096) -> None:
        self.size = size
        self._by_key: Dict[Any, Asset] = {}

    def get(self, key: Any) -> Optional[Asset]:
        return self._by_key.get(key)

    def put(self, key: Any, asset: Asset) -> Asset:
        if len(self._by_key) >= self.size:
            self._by_key.clear()
        self._by_key[key] = asset
        return asset


def _asset_from_parts(q: Any, prefix: str, required: bool = True, cache: Optional[AssetCache] = None
                      ) -> Optional[Asset]:
    t = q.get(f"{prefix}_asset_type")
    if t is None:
        if required:
            raise BadRequest(f"{prefix}_asset_type", "this parameter is required")
        return None
    code, issuer = q.get(f"{prefix}_asset_code"), q.get(f"{prefix}_asset_issuer")
    if cache is not None and t != "native":
        hit = cache.get((t, code, issuer))
        if hit is not None:
            return hit
    if t == "native":
        if code or issuer:
            raise BadRequest(f"{prefix}_asset_code", "native assets do not have a code or an issuer")
        return Asset.native()
    if t not in ("credit_alphanum4", "credit_alphanum12"):
        raise BadRequest(f"{prefix}_asset_type", "invalid asset type")
    if not code or not issuer:
        raise BadRequest(f"{prefix}_asset_code", "credit assets need a code and an issuer")
    if (t == "credit_alphanum4") != (len(code) <= 4):
        raise BadRequest(f"{prefix}_asset_code", "the code's length does not match the asset type")
    try:
        asset = Asset(code, issuer)
    except (StellarOBError, ValueError, TypeError):
        raise BadRequest(f"{prefix}_asset_issuer", "invalid asset") from None
    return cache.put((t, code, issuer), asset) if cache is not None else asset


def _canonical_asset(text: str, field: str, cache: Optional[AssetCache] = None) -> Asset:
    if cache is not None:
        hit = cache.get(text)
        if hit is not None:
            return hit
    try:
        asset = Asset.parse("native" if text == "native" else text)
    except (StellarOBError, ValueError, TypeError):
        raise BadRequest(field, f"invalid asset {text!r}: 'native' or 'CODE:ISSUER'") from None
    return cache.put(text, asset) if cache is not None else asset


def _asset_list(q: Any, field: str, cache: Optional[AssetCache] = None) -> List[Asset]:
    raw = q.get(field)
    if raw is None or raw == "":
        raise BadRequest(field, "this parameter is required (accounts are not supported: pass the assets)")
    out = [_canonical_asset(s.strip(), field, cache) for s in raw.split(",")]
    if len(out) > _MAX_PATH_ASSETS:
        raise BadRequest(field, f"at most {_MAX_PATH_ASSETS} assets")
    return list(dict.fromkeys(out))


def _amount(q: Any, field: str) -> int:
    raw = q.get(field)
    if raw is None:
        raise BadRequest(field, "this parameter is required")
    try:
        v = parse_amount(raw)
    except (StellarOBError, ValueError, TypeError):
        raise BadRequest(field, "invalid amount") from None
    if v <= 0:
        raise BadRequest(field, "the amount must be positive")
    return v


def _int(q: Any, field: str, default: int, lo: int, hi: int) -> int:
    raw = q.get(field)
    if raw is None or raw == "":
        return default
    if not raw.isascii() or not raw.isdigit() or len(raw) > 19:
        raise BadRequest(field, "must be a non-negative integer")
    v = int(raw)
    if not lo <= v <= hi:
        raise BadRequest(field, f"must be between {lo} and {hi}")
    return v


def _asset_json(a: Asset) -> Dict[str, str]:
    if a.issuer is None:
        return {"asset_type": "native"}
    return {"asset_type": "credit_alphanum4" if len(a.code) <= 4 else "credit_alphanum12",
            "asset_code": a.code, "asset_issuer": a.issuer}


def _problem(status: int, title: str, detail: str, extras: Optional[dict] = None) -> web.Response:
    kind = {400: "bad_request", 404: "not_found", 500: "server_error", 406: "not_acceptable",
            503: "server_over_capacity", 504: "timeout"}.get(status, "server_error")
    body: Dict[str, Any] = {"type": f"https://stellar.org/horizon-errors/{kind}", "title": title, "status": status,
                            "detail": detail}
    if extras:
        body["extras"] = extras
    return web.Response(status=status, text=json.dumps(body), content_type="application/problem+json")


def _bad(e: BadRequest) -> web.Response:
    return _problem(400, "Bad Request", "The request you sent was invalid in some way.",
                    {"invalid_field": e.field, "reason": e.reason})


def _json(body: Any) -> web.Response:
    return web.Response(text=json.dumps(body), content_type="application/hal+json")


# ---- /order_book ------------------------------------------------------------------------------------

def _order_book(dex: Any, base: Asset, counter: Asset, limit: int) -> Dict[str, Any]:
    return dex.to_horizon(base, counter, limit)


def _order_book_locked(state: ServerState, base: Asset, counter: Asset, limit: int) -> Tuple[str, int]:
    """The /order_book document as JSON text and the book's ledger, read under the read lock."""
    with state.lock.read():
        return json.dumps(_order_book(state.dex, base, counter, limit)), state.dex.ledger_seq


async def _read_book(state: ServerState, fn: Any, *args: Any) -> Any:
    """``fn(state, *args)`` in a worker thread: every reader of the book holds its read lock (a ledger
    is applied in another thread, :meth:`ServerState.apply_async`), and a deep book (up to
    MAX_ORDER_BOOK_LIMIT levels) or a long scan never stops the event loop."""
    return await asyncio.get_running_loop().run_in_executor(None, fn, state, *args)


async def order_book(request: web.Request) -> web.StreamResponse:
    state: ServerState = request.app[_STATE]
    q = request.query
    try:
        base = _asset_from_parts(q, "selling")
        counter = _asset_from_parts(q, "buying")
        limit = _int(q, "limit", 20, 1, MAX_ORDER_BOOK_LIMIT)
    except BadRequest as e:
        return _bad(e)
    if base == counter:
        return _bad(BadRequest("buying_asset_type", "the selling and buying assets must differ"))
    if "text/event-stream" not in request.headers.get("Accept", ""):
        body, _ledger = await _read_book(state, _order_book_locked, base, counter, limit)
        return web.Response(text=body, content_type="application/hal+json")
    return await _stream_order_book(request, state, base, counter, limit)


async def _stream_order_book(request: web.Request, state: ServerState, base: Asset, counter: Asset,
                             limit: int) -> web.StreamResponse:
    """Horizon's SSE: ``retry``, a hello, then the book; again only when it changed."""
    resp = web.StreamResponse(headers={"Content-Type": "text/event-stream", "Cache-Control": "no-cache",
                                       "Access-Control-Allow-Origin": "*"})
    await resp.prepare(request)
    await resp.write(b'retry: 1000\nevent: open\ndata: "hello"\n\n')
    last: Optional[str] = None
    seen = -1
    idle = request.app[_HEARTBEAT]
    try:
        while True:
            body, ledger = await _read_book(state, _order_book_locked, base, counter, limit)
            if body != last:
                last = body
                await resp.write(f"id: {ledger}\ndata: {body}\n\n".encode())
            v = await state.wait_change(seen if seen >= 0 else state.version, idle)
            if v == seen:
                await resp.write(b": keepalive\n\n")
            seen = v
    except (ConnectionResetError, asyncio.CancelledError):
        raise
    return resp


# ---- /offers ---------------------------------------------------------------------------------------

def _offer_rows(dex: Any, selling: Optional[Asset], buying: Optional[Asset], seller: Optional[str]):
    from ..ledger.records import encode_account

    pairs: List[Tuple[Any, Any]]
    if selling is not None and buying is not None:
        pairs = [(selling, buying)]
    else:
        pairs = [(b.to_asset(), c.to_asset()) for b, c in dex.markets()]
    out = []
    for b, c in pairs:
        if selling is not None and buying is None and selling not in (b, c):
            continue
        if buying is not None and selling is None and buying not in (b, c):
            continue
        try:
            m = dex.market(b, c)
        except KeyError:
            continue
        for side, sells, buys in (("ask", b, c), ("bid", c, b)):
            if selling is not None and sells != selling or buying is not None and buys != buying:
                continue
            for o in m.offers(side):
                who = encode_account(o.seller) if o.seller else None
                if seller is not None and who != seller:
                    continue
                out.append((o.offer_id, who, sells, buys, o))
    out.sort(key=lambda r: r[0])
    return out


def _offer_rows_locked(state: ServerState, selling: Optional[Asset], buying: Optional[Asset],
                       seller: Optional[str]) -> Tuple[list, int]:
    """:func:`_offer_rows` and the book's ledger, read under the book's read lock (worker thread)."""
    with state.lock.read():
        return _offer_rows(state.dex, selling, buying, seller), state.dex.ledger_seq


def _offer_json(base_url: str, oid: int, seller: Optional[str], sells: Asset, buys: Asset, o: Any,
                ledger: int) -> Dict[str, Any]:
    return {
        "_links": {"self": {"href": f"{base_url}/offers/{oid}"},
                   "offer_maker": {"href": f"{base_url}/accounts/{seller}"}},
        "id": str(oid), "paging_token": str(oid), "seller": seller,
        "selling": _asset_json(sells), "buying": _asset_json(buys),
        "amount": format_amount(o.amount), "price_r": {"n": o.n, "d": o.d}, "price": price_string(o.n, o.d),
        # The book does not keep the ledger an offer was last modified in: the book's ledger is given.
        "last_modified_ledger": ledger, "last_modified_time": None,
    }


async def offers(request: web.Request) -> web.Response:
    state: ServerState = request.app[_STATE]
    q = request.query
    try:
        selling = _canonical_asset(q["selling"], "selling") if "selling" in q else _asset_from_parts(q, "selling", False)
        buying = _canonical_asset(q["buying"], "buying") if "buying" in q else _asset_from_parts(q, "buying", False)
        seller = q.get("seller")
        if seller is not None:
            from ..assets import strkey_account_valid

            if not strkey_account_valid(seller):
                raise BadRequest("seller", "invalid account id")
        limit = _int(q, "limit", 10, 1, 200)
        order = q.get("order", "asc")
        if order not in ("asc", "desc"):
            raise BadRequest("order", "must be 'asc' or 'desc'")
        cursor_raw = q.get("cursor")
        cursor = None
        if cursor_raw not in (None, ""):
            if cursor_raw == "now":
                cursor = 2**63 - 1 if order == "asc" else None
            else:
                cursor = _int(q, "cursor", 0, 0, 2**63 - 1)
    except BadRequest as e:
        return _bad(e)
    # The scan walks every offer of the markets it may match (about 8 us an offer in Python: seconds
    # for a whole DEX with only a seller named), so it runs in a worker thread under the read lock,
    # never on the event loop, where it would stop every other request for that long.
    rows, ledger = await _read_book(state, _offer_rows_locked, selling, buying, seller)
    if order == "desc":
        rows.reverse()
    if cursor is not None:
        rows = [r for r in rows if (r[0] > cursor if order == "asc" else r[0] < cursor)]
    page = rows[:limit]
    base = f"{request.scheme}://{request.host}"
    records = [_offer_json(base, r[0], r[1], r[2], r[3], r[4], ledger) for r in page]

    def link(cur: Optional[str], o: str) -> Dict[str, str]:
        params = dict(q)
        params.update({"limit": str(limit), "order": o})
        if cur is not None:
            params["cursor"] = cur
        else:
            params.pop("cursor", None)
        from urllib.parse import urlencode

        return {"href": f"{base}/offers?{urlencode(params)}"}

    nxt = records[-1]["paging_token"] if records else cursor_raw
    prv = records[0]["paging_token"] if records else cursor_raw
    return _json({"_links": {"self": link(cursor_raw, order), "next": link(nxt, order),
                             "prev": link(prv, "desc" if order == "asc" else "asc")},
                  "_embedded": {"records": records}})


# ---- /paths -----------------------------------------------------------------------------------------

def _path_record(p: Any) -> Dict[str, Any]:
    rec: Dict[str, Any] = {}
    for prefix, a in (("source", p.source_asset), ("destination", p.destination_asset)):
        j = _asset_json(a)
        rec[f"{prefix}_asset_type"] = j["asset_type"]
        if a.issuer is not None:
            rec[f"{prefix}_asset_code"] = j["asset_code"]
            rec[f"{prefix}_asset_issuer"] = j["asset_issuer"]
    rec["source_amount"] = format_amount(p.source_amount)
    rec["destination_amount"] = format_amount(p.destination_amount)
    rec["path"] = [_asset_json(a) for a in p.path]
    return rec


def _paths_body(request: web.Request, records: List[Dict[str, Any]]) -> Dict[str, Any]:
    return {"_links": {"self": {"href": str(request.rel_url)}}, "_embedded": {"records": records}}


class Saturated(Exception):
    """Every worker busy and the queue full."""


class PathPool:
    """The bounded worker pool /paths searches run in (see the module docstring)."""

    def __init__(self, state: ServerState, workers: int, queue: int, timeout: float, limit: int,
                 sellers_funds: Optional[bool], cache: int = 1024) -> None:
        if type(workers) is not int or not 1 <= workers <= 256:
            raise ArgumentError("path_workers must be an int in [1, 256]")
        if type(queue) is not int or not 0 <= queue <= 100_000:
            raise ArgumentError("path_queue must be an int in [0, 100000]")
        if not isinstance(timeout, (int, float)) or isinstance(timeout, bool) or not 0 < timeout <= 3600:
            raise ArgumentError("path_timeout must be in (0, 3600] seconds")
        self.state, self.workers, self.queue, self.timeout = state, workers, queue, float(timeout)
        if type(cache) is not int or not 0 <= cache <= 1_000_000:
            raise ArgumentError("path_cache must be an int in [0, 1000000]")
        self.limit, self.sellers_funds, self.cache_size = limit, sellers_funds, cache
        # Answers per (query, generation of the book), least recently used evicted; and the searches
        # running, so identical concurrent requests share one search. Event-loop thread only.
        self._cache: "OrderedDict[tuple, Any]" = OrderedDict()
        self._inflight: Dict[tuple, "asyncio.Future[Any]"] = {}
        self.searches = 0
        self.cache_hits = 0
        self.coalesced = 0
        self.pending = 0  # running + queued (event-loop thread only)
        self.max_pending = 0
        self.refused = 0
        self.timed_out = 0
        self._executor: Optional[ThreadPoolExecutor] = None

    def executor(self) -> ThreadPoolExecutor:
        if self._executor is None:
            self._executor = ThreadPoolExecutor(self.workers, thread_name_prefix="stellar-ob-paths")
        return self._executor

    def shutdown(self) -> None:
        if self._executor is not None:
            self._executor.shutdown(wait=True, cancel_futures=True)
            self._executor = None

    def _search(self, deadline: float, kind: str, frm: Asset, amount: int, targets: List[Asset], hops: int) -> Any:
        with self.state.lock.read():
            generation = self.state.generation  # the state searched (no ledger applies meanwhile)
            left = deadline - time.monotonic()
            if left <= 0:
                return None, generation
            kw: Dict[str, Any] = {"max_hops": hops, "limit": self.limit, "timeout": left}
            if self.sellers_funds is not None:
                kw["sellers_funds"] = self.sellers_funds
            return self.state.dex.find_paths(kind, frm, amount, targets, **kw), generation

    async def run(self, kind: str, frm: Asset, amount: int, targets: List[Asset], hops: int) -> Any:
        """The search's result (None or ``stopped == "deadline"``: out of time). Raises Saturated.

        An answer computed on the book's current generation is reused for the same query (the
        paths are a function of the query and the state); a query already being searched waits for
        that search instead of starting another. Answers cut short by the deadline are not kept."""
        key = (kind, frm, amount, tuple(targets), hops)
        if self.cache_size:
            hit = self._cache.get(key + (self.state.generation,))
            if hit is not None:
                self._cache.move_to_end(key + (self.state.generation,))
                self.cache_hits += 1
                return hit
            running = self._inflight.get(key + (self.state.generation,))
            if running is not None:
                self.coalesced += 1
                return await asyncio.shield(running)
        if self.pending >= self.workers + self.queue:
            self.refused += 1
            raise Saturated()
        deadline = time.monotonic() + self.timeout
        self.pending += 1
        self.max_pending = max(self.max_pending, self.pending)
        mine = key + (self.state.generation,)
        # The search is a task of its own: a request that goes away (client gone) does not cancel
        # the search the others are waiting for.
        task = asyncio.get_running_loop().create_task(self._job(mine, key, deadline, kind, frm, amount, targets, hops))
        task.add_done_callback(lambda t: t.cancelled() or t.exception())  # retrieved even if nobody waits
        if self.cache_size:
            self._inflight[mine] = task
        return await asyncio.shield(task)

    async def _job(self, mine: tuple, key: tuple, deadline: float, kind: str, frm: Asset, amount: int,
                   targets: List[Asset], hops: int) -> Any:
        try:
            self.searches += 1
            loop = asyncio.get_running_loop()
            result, generation = await loop.run_in_executor(self.executor(), self._search, deadline, kind, frm,
                                                            amount, targets, hops)
            if self.cache_size and result is not None and result.stopped != "deadline":
                self._cache[key + (generation,)] = result
                while len(self._cache) > self.cache_size:
                    self._cache.popitem(last=False)
            return result
        finally:
            self.pending -= 1
            self._inflight.pop(mine, None)


def _over_capacity() -> web.Response:
    resp = _problem(503, "Server Over Capacity",
                    "This horizon server is currently overloaded.  Please wait for a second and then try your "
                    "request again.")
    resp.headers["Retry-After"] = "1"
    return resp


def _timeout() -> web.Response:
    return _problem(504, "Timeout", "Your request timed out before completing.  Please try your request again.")


async def _find(request: web.Request, kind: str) -> web.Response:
    q = request.query
    cache: AssetCache = request.app[_ASSETS]  # type: ignore[assignment]
    try:
        hops = _int(q, "max_path_length", 3, 0, 5) + 1
        if kind == "strict_send":
            if "destination_account" in q and "destination_assets" not in q:
                raise BadRequest("destination_account", "not supported here: pass destination_assets")
            frm = _asset_from_parts(q, "source", cache=cache)
            amount = _amount(q, "source_amount")
            targets = _asset_list(q, "destination_assets", cache)
        else:
            if "source_account" in q and "source_assets" not in q:
                raise BadRequest("source_account", "not supported here: pass source_assets")
            frm = _asset_from_parts(q, "destination", cache=cache)
            amount = _amount(q, "destination_amount")
            targets = _asset_list(q, "source_assets", cache)
    except BadRequest as e:
        return _bad(e)
    targets = [t for t in targets if t != frm]
    if not targets:
        return _json(_paths_body(request, []))
    pool: PathPool = request.app[_SEARCH]  # type: ignore[assignment]
    try:
        result = await pool.run(kind, frm, amount, targets, hops)
    except Saturated:
        return _over_capacity()
    if result is None or result.stopped == "deadline":
        pool.timed_out += 1
        return _timeout()
    paths = list(result.paths)
    if kind == "strict_send":
        paths.sort(key=lambda p: -p.destination_amount)
    else:
        paths.sort(key=lambda p: p.source_amount)
    return _json(_paths_body(request, [_path_record(p) for p in paths]))


async def strict_send(request: web.Request) -> web.Response:
    return await _find(request, "strict_send")


async def strict_receive(request: web.Request) -> web.Response:
    return await _find(request, "strict_receive")


async def root(request: web.Request) -> web.Response:
    state: ServerState = request.app[_STATE]
    return _json({"horizon_version": "stellar_ob", "history_latest_ledger": state.dex.ledger_seq,
                  "core_latest_ledger": state.dex.ledger_seq})


@web.middleware
async def _errors(request: web.Request, handler: Any) -> web.StreamResponse:
    try:
        return await handler(request)
    except web.HTTPException as e:
        if e.status == 404:
            return _problem(404, "Resource Missing", "The resource at the url requested was not found.")
        raise
    except (StellarOBError, ValueError, TypeError) as e:
        return _problem(400, "Bad Request", str(e))


def build_app(dex: Any, *, state: Optional[ServerState] = None, path_limit: int = 5,
              sse_heartbeat: float = 15.0, path_workers: Optional[int] = None, path_queue: int = 64,
              path_timeout: float = 10.0, sellers_funds: Optional[bool] = True,
              path_cache: int = 1024) -> web.Application:
    """The aiohttp application serving ``dex`` (a :class:`stellar_ob.ledger.dexbook.DexBook`).

    ``state`` (a :class:`ServerState` over the same book) lets the feeder apply ledgers under the
    lock and signal changes to the streams; ``path_limit``: paths per destination asset;
    ``path_workers`` (default: the CPU count), ``path_queue`` and ``path_timeout`` (seconds) bound
    the /paths searches (module docstring); ``path_cache``: answers kept per ledger (0: none);
    ``sellers_funds`` False: every seller fully funded, as
    Horizon (None: do not pass the option, for a book whose find_paths has none).
    """
    app = web.Application(middlewares=[_errors])
    st = state if state is not None else ServerState(dex)
    app[_STATE] = st
    app[_PATH_LIMIT] = path_limit
    app[_HEARTBEAT] = float(sse_heartbeat)
    pool = PathPool(st, path_workers if path_workers is not None else max(1, min(8, os.cpu_count() or 1)),
                    path_queue, path_timeout, path_limit, sellers_funds, path_cache)
    app[_SEARCH] = pool
    app[_ASSETS] = AssetCache()

    async def _close(_app: web.Application) -> None:
        await asyncio.get_running_loop().run_in_executor(None, pool.shutdown)

    app.on_cleanup.append(_close)
    app.router.add_get("/", root)
    app.router.add_get("/order_book", order_book)
    app.router.add_get("/offers", offers)
    app.router.add_get("/paths/strict-send", strict_send)
    app.router.add_get("/paths/strict-receive", strict_receive)
    return app


def state_of(app: web.Application) -> ServerState:
    return app[_STATE]  # type: ignore[return-value]


def path_pool_of(app: web.Application) -> PathPool:
    """The app's /paths worker pool (its counters: ``refused``, ``timed_out``, ``max_pending``)."""
    return app[_SEARCH]  # type: ignore[return-value]
