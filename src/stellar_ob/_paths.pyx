# cython: language_level=3
"""Exact path finding over a set of markets (issue 15): :func:`find_paths` and :class:`PathGraph`.

The search is the C core's (csrc/pathfind.h, csrc/PATHFIND.md): every path returned was executed
with stellar-core's own path-payment rules (csrc/dex.h ``sob_path_payment``) on the graph's state
before it is returned, and its amounts and venues are that execution's, so its result is SUCCESS
on that state. C only: there is no pure-Python twin of the search (the independent reference the
tests re-execute paths with is tests/core_reference.py); under ``STELLAR_OB_PURE=1`` the calls
raise :class:`PathFindingUnavailableError`.

A :class:`PathGraph` holds its own copy of the offers and pools it was built from (the books it
was given can change afterwards without affecting it); build a new one after the books change.
Its sellers are fully funded (an OfferBook holds no balances). :class:`DexPathGraph` searches a
live :class:`stellar_ob.ledger.dexbook.DexBook` in place, with each seller's real funds by default
(``sellers_funds=False`` ignores them, as Horizon does).

Threads: the search runs with the GIL released. Any number of threads may search one graph at
once (each search takes its own scratch from the graph's pool); nothing may change the books a
graph reads while a search runs (a PathGraph's are its own and never change; a DexPathGraph's are
the DexBook's: its owner serialises ledgers against searches, as stellar_ob.server does with a
readers-writer lock).
"""

from libc.stdint cimport int32_t, int64_t, uint32_t, uint64_t, INT64_MAX, INT32_MAX, UINT64_MAX
from libc.stdlib cimport calloc, free

from stellar_ob._c.offerbook cimport sob_offerbook, sob_offerbook_init, sob_offerbook_free, sob_offerbook_add
from stellar_ob._c.dex cimport (
    SOB_MAX_HOPS, SOB_OP_PATH_PAYMENT_STRICT_RECEIVE, SOB_OP_PATH_PAYMENT_STRICT_SEND, SOB_PROTOCOL_MAINNET,
    SOB_PROTOCOL_MIN, SOB_VENUE_BOOK, sob_dex_ctx, sob_dex_ctx_init, sob_pool, sob_venue,
)
from stellar_ob._c.pathfind cimport *

include "_c/glue.pxi"

import dataclasses as _dc

from stellar_ob._impl import PURE_REQUESTED as _PURE
from stellar_ob.assets import Asset as _Asset

__all__ = ["find_paths", "PathGraph", "DexPathGraph", "FoundPath", "FoundHop", "PathSearch", "PathFindingUnavailableError",
           "PathArgumentError", "MAX_HOPS", "MAX_LIMIT", "MAX_DESTINATIONS", "DEFAULT_PROTOCOL"]

#: Hops of a path at most (5 intermediate assets: PathPaymentStrictSendOp.path is xvector<Asset, 5>).
MAX_HOPS = SOB_MAX_HOPS
#: Paths per destination at most.
MAX_LIMIT = SOB_PF_MAX_LIMIT
#: Destination (strict receive: source) assets per search at most.
MAX_DESTINATIONS = SOB_PF_MAX_TARGETS
#: The protocol version the search follows unless told otherwise (the public network's).
DEFAULT_PROTOCOL = SOB_PROTOCOL_MAINNET


PathFindingUnavailableError = _errors.PathFindingUnavailableError
PathArgumentError = _errors.PathArgumentError


def _doc(cls, text):
    cls.__doc__ = text
    cls.__module__ = "stellar_ob._paths"
    return cls


FoundHop = _doc(_dc.make_dataclass("FoundHop", [("send_asset", object), ("receive_asset", object), ("venue", str)],
                                  frozen=True),
               """One hop of a path: the taker sends ``send_asset`` and receives ``receive_asset`` through
``venue``, ``"book"`` (the offers) or ``"pool"`` (the pair's liquidity pool): the venue stellar-core
chooses for this hop with the path's amounts (convertWithOffersAndPools).""")

FoundPath = _doc(_dc.make_dataclass("FoundPath", [
    ("kind", str), ("source_asset", object), ("destination_asset", object), ("path", tuple),
    ("source_amount", int), ("destination_amount", int), ("hops", tuple), ("offers_crossed", int),
    ("result", str)], frozen=True),
    """One path, executed: ``source_asset`` -> ``path`` (the intermediate assets, at most 5) ->
``destination_asset``; ``source_amount`` stroops sent and ``destination_amount`` received by that
execution (exact); ``hops`` the venue of each hop in payment order; ``offers_crossed`` by the whole
path; ``result`` the path payment's result code on the graph's state (always
``PATH_PAYMENT_STRICT_SEND_SUCCESS`` or ``PATH_PAYMENT_STRICT_RECEIVE_SUCCESS``).""")

PathSearch = _doc(_dc.make_dataclass("PathSearch", [
    ("kind", str), ("paths", tuple), ("optimal", bool), ("hop_evaluations", int), ("path_executions", int),
    ("stopped", object, _dc.field(default=None)), ("search_ns", int, _dc.field(default=0))],
    frozen=True),
    """The result of a search: ``paths`` grouped by destination (strict receive: by source) in
the order asked, best first (strict send: most received; strict receive: least sent).
``optimal`` is True when the best path of every destination is proven the best over every simple
path of at most ``max_hops`` hops (always with ``max_hops <= 3``; at 4 hops and more when the
heuristic cut nothing and the search was not stopped). ``stopped`` says why a search stopped early:
None, ``"max_evaluations"`` or ``"deadline"`` (its ``timeout`` passed); the paths found until then
are returned, each executed and exact, but not proven the best. ``search_ns``: the C search's wall
time in nanoseconds (the rest of the call is argument checks and building these objects).
Iterating a PathSearch iterates ``paths``.""")

PathSearch.__iter__ = lambda self: iter(self.paths)
PathSearch.__len__ = lambda self: len(self.paths)

_KINDS = {"strict_send": 0, "strict_receive": 1}
_RESULT = ("PATH_PAYMENT_STRICT_SEND_SUCCESS", "PATH_PAYMENT_STRICT_RECEIVE_SUCCESS")
_STOPPED = {SOB_PF_STOP_NONE: None, SOB_PF_STOP_EVALUATIONS: "max_evaluations", SOB_PF_STOP_DEADLINE: "deadline"}


def _unavailable():
    if _PURE:
        raise PathFindingUnavailableError(
            "find_paths runs in C only (no pure-Python twin): unset STELLAR_OB_PURE to use it")


cdef int64_t _int_arg(object v, str name, int64_t lo, int64_t hi) except? -1:
    if type(v) is bool or not isinstance(v, int):
        raise TypeError(f"{name} must be an int, got {type(v).__name__}")
    v = int(v)
    if not lo <= v <= hi:
        raise PathArgumentError(f"{name} must be in [{lo}, {hi}], got {v}")
    return v


cdef object _asset_arg(object a, str name):
    try:
        if isinstance(a, dict):
            return _Asset.from_horizon_json(a)
        if hasattr(a, "to_asset") and not isinstance(a, (str, _Asset)):
            return a.to_asset()
        return _Asset.parse(a)
    except _errors.AssetError as e:
        raise _errors.AssetError(f"{name}: {e}") from None


cdef class _Scratch:
    """One search's working memory (csrc/pathfind.h: never shared by two searches at once)."""
    cdef sob_pf_scratch *s

    def __cinit__(self):
        self.s = sob_pf_scratch_new()
        if self.s == NULL:
            raise MemoryError()

    def __dealloc__(self):
        if self.s != NULL:
            sob_pf_scratch_free(self.s)


cdef class _GraphBase:
    """What PathGraph and DexPathGraph share: the C graph, the asset ids, the search."""

    cdef sob_pf_graph *_g
    cdef list _assets           # id -> Asset (0: native)
    cdef dict _ids              # Asset -> id
    cdef dict _text             # exact str spelling -> Asset (parsing a StrKey costs microseconds)
    cdef list _free             # idle scratches: one is taken per search, so threads can search at once
    cdef object __weakref__

    def __cinit__(self, *args, **kwargs):
        self._g = NULL
        self._free = []

    def __dealloc__(self):
        if self._g != NULL:
            sob_pf_graph_free(self._g)

    cdef int _context(self, sob_dex_ctx *ctx, bint funds) except -1:
        sob_dex_ctx_init(ctx)
        return 0

    cdef object _asset(self, object a, str name):
        if type(a) is str:
            got = self._text.get(a)
            if got is not None:
                return got
        return _asset_arg(a, name)

    @property
    def asset_count(self):
        """Assets (nodes) of the graph."""
        return len(self._assets) if self._assets is not None else 0

    @property
    def market_count(self):
        """Directed markets of the graph (two per pair)."""
        return sob_pf_graph_markets(self._g) if self._g != NULL else 0

    @property
    def assets(self):
        """The graph's assets, XLM first."""
        return tuple(self._assets) if self._assets is not None else ()

    cdef object _search(self, kind, source_asset, amount, destination_assets, max_hops, limit, exclude_pools,
                        protocol, exhaustive, max_evaluations, timeout, bint funds):
        _unavailable()
        if self._g == NULL:
            raise PathArgumentError("the graph was not built")
        if type(kind) is not str or kind not in _KINDS:
            raise PathArgumentError(f"kind must be 'strict_send' or 'strict_receive', got {kind!r}")
        cdef int ki = _KINDS[kind]
        src = self._asset(source_asset, "source_asset")
        cdef int64_t amt = _int_arg(amount, "amount", 1, INT64_MAX)
        if isinstance(destination_assets, (str, bytes, dict, _Asset)):
            raise TypeError("destination_assets must be a sequence of assets")
        dests = [self._asset(a, "destination_assets") for a in destination_assets]
        cdef uint32_t hops = <uint32_t>_int_arg(max_hops, "max_hops", 1, SOB_MAX_HOPS)
        cdef uint32_t lim = <uint32_t>_int_arg(limit, "limit", 1, SOB_PF_MAX_LIMIT)
        cdef uint32_t proto = 0
        if protocol is not None:
            proto = <uint32_t>_int_arg(protocol, "protocol", SOB_PROTOCOL_MIN, 0xFFFFFFFF)
        cdef uint64_t evals = <uint64_t>_int_arg(max_evaluations, "max_evaluations", 1, INT64_MAX)
        if type(exclude_pools) is not bool or type(exhaustive) is not bool:
            raise TypeError("exclude_pools and exhaustive must be bools")
        cdef uint64_t budget_ns = 0
        if timeout is not None:
            if type(timeout) is bool or not isinstance(timeout, (int, float)):
                raise TypeError(f"timeout must be a number of seconds or None, got {type(timeout).__name__}")
            t = float(timeout)
            if not 0 < t <= 86400:  # also refuses nan
                raise PathArgumentError(f"timeout must be in (0, 86400] seconds, got {timeout!r}")
            budget_ns = <uint64_t>(t * 1e9)
            if budget_ns == 0:
                budget_ns = 1
        if not dests or len(dests) > SOB_PF_MAX_TARGETS:
            raise PathArgumentError(f"between 1 and {SOB_PF_MAX_TARGETS} destination assets")
        if len(set(dests)) != len(dests):
            raise PathArgumentError("destination assets must be distinct")
        if src in dests:
            raise PathArgumentError("the source asset cannot be a destination")
        # Assets the graph does not hold have no path: they are answered without a search.
        known = [d for d in dests if d in self._ids]
        cdef int64_t ntargets = len(known)
        if src not in self._ids or ntargets == 0:
            return PathSearch(kind, (), True, 0, 0)
        cdef uint32_t *targets = <uint32_t *>_alloc_array(ntargets, sizeof(uint32_t))
        cdef sob_pf_query q
        cdef sob_dex_ctx ctx
        cdef sob_pf_result res
        cdef sob_status st
        cdef size_t i
        cdef int h
        cdef const sob_pf_path *p
        cdef uint64_t t0, t1
        cdef _Scratch sc
        try:
            for i in range(<size_t>ntargets):
                targets[i] = <uint32_t>self._ids[known[i]]
            memset(&q, 0, sizeof(q))
            q.kind = SOB_OP_PATH_PAYMENT_STRICT_SEND if ki == 0 else SOB_OP_PATH_PAYMENT_STRICT_RECEIVE
            q.from_ = <uint32_t>self._ids[src]
            q.amount = amt
            q.targets = targets
            q.ntargets = <uint32_t>ntargets
            q.max_hops = hops
            q.limit = lim
            q.exclude_pools = 1 if exclude_pools else 0
            q.flags = SOB_PF_EXHAUSTIVE if exhaustive else 0
            q.max_evaluations = evals
            self._context(&ctx, funds)
            if proto:
                ctx.protocol = proto
            try:
                sc = <_Scratch>self._free.pop()  # list.pop is atomic under the GIL
            except IndexError:
                sc = _Scratch()
            try:
                t0 = sob_pf_now_ns()
                if budget_ns:
                    q.deadline_ns = t0 + budget_ns
                with nogil:
                    st = sob_find_paths(self._g, &q, &ctx, sc.s, &res)
                t1 = sob_pf_now_ns()
                if st != SOB_OK:
                    _raise(st, "find_paths")
                rows = []
                for i in range(res.npaths):
                    p = &res.paths[i]
                    rows.append(([p.assets[h] for h in range(p.nassets)],
                                 [p.venue[h] for h in range(p.nassets - 1)], p.sent, p.received, p.offers_crossed))
            finally:
                self._free.append(sc)
            complete = res.complete != 0
            evaluations, executions = res.hop_evaluations, res.path_executions
            stopped = _STOPPED.get(res.stopped, "max_evaluations")
        finally:
            free(targets)
        out = []
        A = self._assets
        for row in rows:
            objs = [A[a] for a in row[0]]
            hop_list = []
            for j in range(len(objs) - 1):
                hop_list.append(FoundHop(objs[j], objs[j + 1], "book" if row[1][j] == SOB_VENUE_BOOK else "pool"))
            last = len(objs) - 1  # (compiled with wraparound=False: no negative indices)
            out.append(FoundPath(kind, objs[0], objs[last], tuple(objs[1:last]), row[2], row[3], tuple(hop_list),
                                 row[4], _RESULT[ki]))
        return PathSearch(kind, tuple(out), complete, evaluations, executions, stopped, <int64_t>(t1 - t0))


cdef class PathGraph(_GraphBase):
    """A frozen copy of a set of markets to search paths in.

    Built from markets given as ``(base, counter, offers, pool)``: ``offers`` an iterable of
    ``(offer_id, side, n, d, amount)`` (``side`` "ask" sells base, "bid" sells counter; ``n/d`` the
    offer's own price, as :class:`stellar_ob.OfferBook` holds them), ``pool`` None or
    ``(reserve_base, reserve_counter, fee_bp)``. Each market gives two directed markets of the
    graph. Use :meth:`from_books` for :class:`stellar_ob.OfferBook` and
    :class:`stellar_ob.LiquidityPool` objects. Building is O(offers log offers); a search reads
    only the graph.

    >>> g = PathGraph([("XLM", "USD:GBBD47IF6LWK7P7MDEVSCWR7DPUWV3NY3DTQEVFL4NAT4AQH3ZLLFLA5",
    ...                 [(1, "ask", 10, 1, 1000_0000000)], None)])
    >>> g.asset_count, g.market_count
    (2, 2)
    """

    cdef sob_offerbook *_books
    cdef sob_pool *_pools
    cdef size_t _nbooks

    def __cinit__(self, *args, **kwargs):
        self._books = NULL
        self._pools = NULL
        self._nbooks = 0

    def __dealloc__(self):
        cdef size_t i
        # the graph points into the books: free it first (the base's __dealloc__ runs after this one)
        if self._g != NULL:
            sob_pf_graph_free(self._g)
            self._g = NULL
        if self._books != NULL:
            for i in range(self._nbooks):
                sob_offerbook_free(&self._books[i])
            free(self._books)
        free(self._pools)

    def __init__(self, markets, *, depth_cap=SOB_PF_DEPTH_CAP_DEFAULT):
        _unavailable()
        cdef uint32_t cap = <uint32_t>_int_arg(depth_cap, "depth_cap", 1, 1 << 20)
        if self._g != NULL:
            raise PathArgumentError("a PathGraph is built once")
        # Everything is read and checked into plain Python values first: no caller code runs once
        # the C structures are being filled.
        native = _Asset.native()
        self._assets = [native]
        self._ids = {native: 0}
        self._text = {}
        rows = []
        seen = set()
        for m in markets:
            if not isinstance(m, tuple) or len(m) != 4:
                raise PathArgumentError("a market is (base, counter, offers, pool)")
            base = _asset_arg(m[0], "base")
            counter = _asset_arg(m[1], "counter")
            if base == counter:
                raise _errors.AssetError(f"base and counter must differ (both {base})")
            for a in (base, counter):
                if a not in self._ids:
                    self._ids[a] = len(self._assets)
                    self._assets.append(a)
            ib, ic = self._ids[base], self._ids[counter]
            key = (min(ib, ic), max(ib, ic))
            if key in seen:
                raise PathArgumentError(f"market {base}/{counter} given twice")
            seen.add(key)
            offers = []
            for o in (m[2] if m[2] is not None else ()):
                if not isinstance(o, tuple) or len(o) != 5:
                    raise PathArgumentError("an offer is (offer_id, side, n, d, amount)")
                oid = _int_arg(o[0], "offer_id", 1, INT64_MAX)
                if o[1] not in ("ask", "bid") or type(o[1]) is not str:
                    raise PathArgumentError(f"side must be 'ask' or 'bid', got {o[1]!r}")
                offers.append((oid, SOB_SIDE_ASK if o[1] == "ask" else SOB_SIDE_BID,
                               _int_arg(o[2], "n", 1, INT32_MAX), _int_arg(o[3], "d", 1, INT32_MAX),
                               _int_arg(o[4], "amount", 1, INT64_MAX)))
            pool = None
            if m[3] is not None:
                p = m[3]
                if not isinstance(p, tuple) or len(p) != 3:
                    raise PathArgumentError("a pool is (reserve_base, reserve_counter, fee_bp)")
                pool = (_int_arg(p[0], "reserve_base", 0, INT64_MAX), _int_arg(p[1], "reserve_counter", 0, INT64_MAX),
                        _int_arg(p[2], "fee_bp", 0, 9999))
            rows.append((ib, ic, offers, pool))
        for a in self._assets:
            self._text[str(a)] = a
        self._text["XLM"] = native
        if len(self._assets) > SOB_PF_MAX_ASSETS:
            raise PathArgumentError("too many assets")
        self._build(rows, cap)

    cdef int _build(self, list rows, uint32_t cap) except -1:
        cdef size_t n = len(rows), i, k = 0
        cdef sob_pf_market *mk = NULL
        cdef sob_status st
        cdef int64_t oid, amount
        cdef int side
        cdef int32_t on, od
        cdef uint32_t ib, ic
        self._books = <sob_offerbook *>calloc(n if n else 1, sizeof(sob_offerbook))
        self._pools = <sob_pool *>calloc(n if n else 1, sizeof(sob_pool))
        if self._books == NULL or self._pools == NULL:
            raise MemoryError()
        for i in range(n):
            sob_offerbook_init(&self._books[i])
        self._nbooks = n
        mk = <sob_pf_market *>_alloc_array(2 * n, sizeof(sob_pf_market))
        try:
            for i in range(n):
                ib, ic, offers, pool = rows[i]
                for oid, side, on, od, amount in offers:
                    st = sob_offerbook_add(&self._books[i], oid, side, on, od, amount, 0)
                    if st != SOB_OK:
                        _raise(st, f"offer {oid}")
                if pool is not None:
                    self._pools[i].reserve_a = pool[0]
                    self._pools[i].reserve_b = pool[1]
                    self._pools[i].fee_bp = pool[2]
                # taker sends counter, receives base: the offers selling base (asks)
                memset(&mk[k], 0, sizeof(sob_pf_market))
                mk[k].send_asset = ic
                mk[k].recv_asset = ib
                mk[k].venue.book = &self._books[i]
                mk[k].venue.side = SOB_SIDE_ASK
                mk[k].venue.pool = &self._pools[i] if pool is not None else NULL
                mk[k].venue.pool_a_is_send = 0
                k += 1
                memset(&mk[k], 0, sizeof(sob_pf_market))
                mk[k].send_asset = ib
                mk[k].recv_asset = ic
                mk[k].venue.book = &self._books[i]
                mk[k].venue.side = SOB_SIDE_BID
                mk[k].venue.pool = &self._pools[i] if pool is not None else NULL
                mk[k].venue.pool_a_is_send = 1
                k += 1
            ib = <uint32_t>len(self._assets)
            with nogil:  # O(markets + cached depth): other threads (the server's loop) run meanwhile
                st = sob_pf_graph_new(mk, k, ib, cap, &self._g)
            if st != SOB_OK:
                _raise(st, "path graph")
        finally:
            free(mk)
        return 0

    @classmethod
    def from_books(cls, books=(), pools=(), **kwargs):
        """A graph from :class:`stellar_ob.OfferBook` objects and pools.

        ``pools`` maps a book to its :class:`stellar_ob.LiquidityPool` (``a`` = the book's base),
        or is an iterable of ``(base, counter, LiquidityPool)`` for pairs with or without a book.

        >>> import stellar_ob as sob
        >>> usd = "USD:GBBD47IF6LWK7P7MDEVSCWR7DPUWV3NY3DTQEVFL4NAT4AQH3ZLLFLA5"
        >>> book = sob.OfferBook("XLM", usd)
        >>> book.add_offer(1, "ask", 1, 10, 1000_0000000)
        >>> g = PathGraph.from_books([book], [("XLM", usd, sob.LiquidityPool(10**10, 10**9))])
        >>> g.find_paths("strict_send", usd, 10_0000000, ["XLM"]).paths[0].hops[0].venue
        'book'
        """
        by_pair = {}
        order = []
        for b in books:
            base, counter = b.base, b.counter
            offers = [(o.offer_id, o.side, o.n, o.d, o.amount) for s in ("ask", "bid") for o in b.offers(s)]
            k = frozenset((base, counter))
            if k in by_pair:
                raise PathArgumentError(f"two books for {base}/{counter}")
            by_pair[k] = [base, counter, offers, None]
            order.append(k)
        items = pools.items() if isinstance(pools, dict) else pools
        for item in items:
            if isinstance(pools, dict):
                b, p = item
                base, counter = b.base, b.counter
            else:
                if not isinstance(item, tuple) or len(item) != 3:
                    raise PathArgumentError("a pool entry is (base, counter, LiquidityPool)")
                base, counter, p = _asset_arg(item[0], "base"), _asset_arg(item[1], "counter"), item[2]
            reserves = (p.reserve_a, p.reserve_b, p.fee_bp)
            k = frozenset((base, counter))
            row = by_pair.get(k)
            if row is None:
                row = by_pair[k] = [base, counter, [], None]
                order.append(k)
            if row[3] is not None:
                raise PathArgumentError(f"two pools for {base}/{counter}")
            row[3] = reserves if row[0] == base else (reserves[1], reserves[0], reserves[2])
        return cls([tuple(by_pair[k]) for k in order], **kwargs)

    def find_paths(self, kind, source_asset, amount, destination_assets, *, max_hops=4, limit=5,
                   exclude_pools=False, protocol=DEFAULT_PROTOCOL, exhaustive=False,
                   max_evaluations=2_000_000, timeout=None):
        """Search paths; see :func:`find_paths` for the arguments and the result. ``timeout``
        (seconds, or None): the search stops when it passes and says so (``stopped="deadline"``).
        Threads may call it at once (the GIL is released during the search)."""
        return self._search(kind, source_asset, amount, destination_assets, max_hops, limit, exclude_pools,
                            protocol, exhaustive, max_evaluations, timeout, False)

    def __repr__(self):
        return f"PathGraph(assets={self.asset_count}, markets={self.market_count})"


cdef class DexPathGraph(_GraphBase):
    """A path graph over a live :class:`stellar_ob.ledger.dexbook.DexBook`, read in place (no copy).

    Its markets are the book's own order books and pools (csrc/ledger/dexbook.h
    ``sob_dexbook_venue``), and a search crosses them with the book's context (``sob_dexbook_ctx``:
    its protocol version and its accounts table), so by default every seller's offers are limited
    by what the seller can really deliver (balance, liabilities, trust-line limits), exactly as
    stellar-core does; ``sellers_funds=False`` treats every seller as fully funded, as Horizon does.
    A seller the book holds no account entry for (a book not seeded from a full snapshot) counts as
    fully funded.

    It is valid for the state it was built on: build a new one after the book changes (the book's
    :meth:`~stellar_ob.ledger.dexbook.DexBook.find_paths` does it once per ledger). While a search runs,
    the book must not change (see the module docstring).
    """

    cdef object _owner          # the ledger._ledger._DexBook whose memory the graph reads
    cdef sob_dexbook *_dx
    cdef readonly tuple state   # what the graph was built on: (ledger, offers, markets, pools, assets)

    def __init__(self, dexbook, *, depth_cap=SOB_PF_DEPTH_CAP_DEFAULT, previous=None):
        _unavailable()
        cdef uint32_t cap = <uint32_t>_int_arg(depth_cap, "depth_cap", 1, 1 << 20)
        if self._g != NULL:
            raise PathArgumentError("a DexPathGraph is built once")
        cbook = getattr(dexbook, "_c", dexbook)
        if type(cbook).__name__ != "_DexBook" or type(cbook).__module__ != "stellar_ob.ledger._ledger":
            raise TypeError("DexPathGraph needs a stellar_ob.ledger.DexBook")
        self._owner = cbook
        self._dx = <sob_dexbook *><size_t>cbook._address()
        cdef sob_dexbook *dx = self._dx
        cdef uint32_t nm = sob_dexbook_market_count(dx), na = sob_dexbook_asset_count(dx), m
        cdef const sob_dex_market *mk
        # asset ids are interned by the book and never reused: the previous graph's names carry over
        if isinstance(previous, DexPathGraph) and (<DexPathGraph>previous)._owner is cbook:
            self._assets = list((<DexPathGraph>previous)._assets)
        else:
            self._assets = []
        while len(self._assets) < na:
            self._assets.append(None)
        for m in range(nm):
            mk = sob_dexbook_market(dx, m)
            if self._assets[mk.base] is None or self._assets[mk.counter] is None:
                base, counter = cbook.market_info(m)[:2]
                self._assets[mk.base] = base.to_asset()
                self._assets[mk.counter] = counter.to_asset()
        self._ids = {a: i for i, a in enumerate(self._assets) if a is not None}
        self._text = {str(a): a for a in self._ids}
        self._text["XLM"] = _Asset.native()
        self.state = dex_state(cbook)
        self._build(nm, na if na else 1, cap)

    cdef int _build(self, uint32_t nm, uint32_t na, uint32_t cap) except -1:
        cdef sob_pf_market *mk = <sob_pf_market *>_alloc_array(2 * <size_t>nm + 1, sizeof(sob_pf_market))
        cdef size_t k = 0
        cdef uint32_t m, a, b, side
        cdef const sob_dex_market *dm
        cdef sob_status st = SOB_OK
        cdef sob_dexbook *dx = self._dx
        try:
            # Rebuilt on the first search after each ledger: without the GIL, so the server's event
            # loop and the other searches run meanwhile (the book is only read; the caller keeps it
            # unchanged, as for a search).
            with nogil:
                for m in range(nm):
                    dm = sob_dexbook_market(dx, m)
                    for side in range(2):
                        a = dm.base if side == 0 else dm.counter
                        b = dm.counter if side == 0 else dm.base
                        memset(&mk[k], 0, sizeof(sob_pf_market))
                        mk[k].send_asset = a
                        mk[k].recv_asset = b
                        st = sob_dexbook_venue(dx, a, b, &mk[k].venue)
                        if st == SOB_OK and (mk[k].venue.book != NULL or mk[k].venue.pool != NULL):
                            k += 1
                st = sob_pf_graph_new(mk, k, na, cap, &self._g)
            if st != SOB_OK:
                _raise(st, "path graph")
        finally:
            free(mk)
        return 0

    cdef int _context(self, sob_dex_ctx *ctx, bint funds) except -1:
        sob_dexbook_ctx(self._dx, ctx)
        if not funds:
            ctx.accounts = NULL
        return 0

    def find_paths(self, kind, source_asset, amount, destination_assets, *, max_hops=4, limit=5,
                   exclude_pools=False, protocol=None, exhaustive=False, max_evaluations=2_000_000,
                   timeout=None, sellers_funds=True):
        """Search paths on the book's state; :func:`find_paths` describes the arguments and the
        result. ``protocol`` None: the book's (the last ledger's). ``sellers_funds`` False: every
        seller fully funded (Horizon's way), else each seller's real funds (stellar-core's)."""
        if type(sellers_funds) is not bool:
            raise TypeError("sellers_funds must be a bool")
        if dex_state(self._owner) != self.state:
            raise PathArgumentError("the DexBook changed since this graph was built: build a new one")
        return self._search(kind, source_asset, amount, destination_assets, max_hops, limit, exclude_pools,
                            protocol, exhaustive, max_evaluations, timeout, sellers_funds)

    def __repr__(self):
        return f"DexPathGraph(assets={self.asset_count}, markets={self.market_count}, state={self.state})"


def dex_state(dexbook):
    """(ledger, offers, markets, pools, assets) of a DexBook: what a DexPathGraph over it depends on.
    The book's ledgers change the first; a seed at the same ledger may change only the offers'
    amounts, which this does not see (rebuild the graph after a seed)."""
    cbook = getattr(dexbook, "_c", dexbook)
    if type(cbook).__name__ != "_DexBook" or type(cbook).__module__ != "stellar_ob.ledger._ledger":
        raise TypeError("not a stellar_ob.ledger.DexBook")
    cdef sob_dexbook *dx = <sob_dexbook *><size_t>cbook._address()
    return (sob_dexbook_ledger_seq(dx), sob_dexbook_offer_count(dx), sob_dexbook_market_count(dx),
            sob_dexbook_pool_count(dx), sob_dexbook_asset_count(dx))


def find_paths(kind, source_asset, amount, destination_assets, *, books=(), pools=(), max_hops=4, limit=5,
               exclude_pools=False, protocol=DEFAULT_PROTOCOL, exhaustive=False, max_evaluations=2_000_000,
               timeout=None):
    """Exact paths over a set of :class:`stellar_ob.OfferBook` and :class:`stellar_ob.LiquidityPool`.

    ``kind`` "strict_send": ``source_asset`` is sent, ``amount`` stroops of it; for each of
    ``destination_assets`` the ``limit`` paths delivering the most. ``kind`` "strict_receive":
    ``source_asset`` is the asset *received*, ``amount`` what must arrive; ``destination_assets``
    are the candidate assets to send, each with the ``limit`` paths costing the least (Horizon's
    ``/paths/strict-receive`` with ``source_assets``). ``max_hops`` 1..6 (intermediate assets + 1:
    Horizon's ``max-path-length`` + 1); ``protocol`` the ledger protocol whose rules execute the
    paths (>= 10); ``timeout`` seconds (None: no deadline) after which the search stops and
    returns what it found (``stopped="deadline"``); ``max_evaluations`` likewise bounds the work. ``books`` / ``pools`` as :meth:`PathGraph.from_books`. For repeated searches
    build a :class:`PathGraph` once.

    Every path returned was executed with stellar-core's path-payment rules on this state: its
    amounts are that execution's and its result is SUCCESS. It can still fail on the network if
    the state changes before the transaction applies (see docs/paths.md).

    >>> import stellar_ob as sob
    >>> usd = "USD:GBBD47IF6LWK7P7MDEVSCWR7DPUWV3NY3DTQEVFL4NAT4AQH3ZLLFLA5"
    >>> eur = "EUR:GBBD47IF6LWK7P7MDEVSCWR7DPUWV3NY3DTQEVFL4NAT4AQH3ZLLFLA5"
    >>> b1 = sob.OfferBook("XLM", usd); b1.add_offer(1, "bid", 10, 1, 100_0000000)   # buys XLM at 0.1 USD
    >>> b2 = sob.OfferBook("XLM", eur); b2.add_offer(2, "ask", 1, 20, 5000_0000000)  # sells XLM for 0.05 EUR
    >>> r = find_paths("strict_send", eur, 1_0000000, [usd], books=[b1, b2])
    >>> p = r.paths[0]
    >>> [str(a) for a in p.path], p.source_amount, p.destination_amount, p.result, r.optimal
    (['native'], 10000000, 20000000, 'PATH_PAYMENT_STRICT_SEND_SUCCESS', True)
    """
    _unavailable()
    g = PathGraph.from_books(books, pools)
    return g.find_paths(kind, source_asset, amount, destination_assets, max_hops=max_hops, limit=limit,
                        exclude_pools=exclude_pools, protocol=protocol, exhaustive=exhaustive,
                        max_evaluations=max_evaluations, timeout=timeout)
