# cython: language_level=3
"""Exact execution against a per-offer (L3) book and liquidity pools: the compiled module.

Same API and results as stellar_ob._offers_pure (the twin, which documents the semantics in plain
Python); the book and the crossing math live in csrc/offerbook.c and csrc/exchange.c.
"""

cimport cython
from libc.stdint cimport int32_t, int64_t, uint64_t, INT64_MAX, INT32_MAX
from libc.stdlib cimport malloc, free
from libc.string cimport memset, memcpy, strcmp
from cpython.bytes cimport PyBytes_FromStringAndSize, PyBytes_AS_STRING, PyBytes_GET_SIZE
from cpython.buffer cimport PyObject_GetBuffer, PyBuffer_Release, PyBUF_SIMPLE, PyBUF_C_CONTIGUOUS
from cpython.unicode cimport PyUnicode_AsUTF8AndSize, PyUnicode_DecodeASCII

from _offers_core cimport *
from _horizon_decl cimport (
    sob_hz_status, SOB_HZ_OK, SOB_HZ_E_NOMEM, SOB_TRADE_LIQUIDITY_POOL, sob_asset, sob_parse_error,
    sob_offer_rec, sob_offers, sob_offers_init, sob_offers_free, sob_parse_offers,
    sob_trade_rec, sob_trades, sob_trades_init, sob_trades_free, sob_parse_trades,
)

from .errors import (
    AmountOverflowError,
    AssetMismatchError,
    CrossSelfError,
    DuplicateOfferError,
    InvalidBookError,
    OfferNotFoundError,
    ParseError,
    StellarOBError,
)
from .execution import Execution, Fill, HopQuote, Offer, PoolQuote
from . import _offers_pure as _py

__all__ = [
    "OfferBook",
    "LiquidityPool",
    "quote_hop",
    "exchange_v10",
    "adjust_offer",
    "pool_strict_send",
    "pool_strict_receive",
    "NORMAL",
    "STRICT_SEND",
    "STRICT_RECEIVE",
    "MAX_OFFERS_TO_CROSS",
]

NORMAL = 0
STRICT_SEND = 1
STRICT_RECEIVE = 2
MAX_OFFERS_TO_CROSS = 1000

cdef dict _KINDS = {"sell": 0, "buy": 1, "strict_send": 2, "strict_receive": 3}
cdef tuple _RESULTS = ("filled", "price_limit", "no_offers", "too_many_offers", "cross_self")
cdef tuple _SIDE_NAMES = ("bid", "ask")
cdef _new_execution = Execution._from_packed


cdef int _raise(sob_status st, what) except -1:
    """The one place C statuses become exceptions (stellar_ob.errors)."""
    if st == SOB_E_NOT_FOUND:
        raise OfferNotFoundError(f"offer {what} is not in the book")
    if st == SOB_E_EXISTS:
        raise DuplicateOfferError(f"offer {what} is already in the book")
    if st == SOB_E_INVALID:
        raise InvalidBookError(f"invalid {what}")
    if st == SOB_E_OVERFLOW:
        raise AmountOverflowError(f"{what} does not fit int64")
    if st == SOB_E_NOMEM:
        raise MemoryError()
    if st == SOB_E_CROSS_SELF:
        raise CrossSelfError(f"the taker would cross its own offer {what}")
    if st == SOB_E_PARSE:
        raise ParseError(str(what))
    raise StellarOBError(f"unexpected status {<int>st} ({what})")


cdef inline int _side_of(side) except -1:
    if side == "ask" or side == "asks":
        return 1
    if side == "bid" or side == "bids":
        return 0
    raise InvalidBookError(f"side must be 'bid' or 'ask', got {side!r}")


cdef inline int _taker_side(taker_sells) except -1:
    if taker_sells == "base" or taker_sells == "a":
        return 0
    if taker_sells == "counter" or taker_sells == "b":
        return 1
    raise InvalidBookError(f"taker_sells must be 'base' or 'counter', got {taker_sells!r}")


cdef int64_t _amount(value, what="amount") except -1:
    """An int64 amount > 0; the twin's checks (and messages) for anything unusual."""
    cdef int64_t a
    if type(value) is int:
        try:
            a = value
        except OverflowError:
            a = -1
        if a > 0:
            return a
    return _py._amount(value, what)


cdef int32_t _price_part(value, what) except -1:
    cdef int64_t v
    if type(value) is int:
        try:
            v = value
        except OverflowError:
            v = -1
        if 0 < v <= INT32_MAX:
            return <int32_t>v
    return _py._price_part(value, what)


def exchange_v10(int32_t n, int32_t d, int64_t max_wheat_send, int64_t max_wheat_receive,
                 int64_t max_sheep_send, int64_t max_sheep_receive, int rounding):
    """core exchangeV10: (wheat_received, sheep_send, wheat_stays). See the twin."""
    cdef sob_exchange ex
    cdef sob_status st = sob_exchange_v10(n, d, max_wheat_send, max_wheat_receive, max_sheep_send,
                                          max_sheep_receive, <sob_rounding>rounding, &ex)
    if st != SOB_OK:
        _raise(st, "exchange arguments")
    return ex.wheat, ex.sheep, bool(ex.wheat_stays)


def adjust_offer(int32_t n, int32_t d, int64_t max_wheat_send, int64_t max_sheep_receive=INT64_MAX):
    """core adjustOffer."""
    if n <= 0 or d <= 0 or max_wheat_send < 0 or max_sheep_receive < 0:
        raise InvalidBookError("invalid adjust_offer arguments")
    return sob_adjust_offer(n, d, max_wheat_send, max_sheep_receive)


def pool_strict_send(int64_t reserve_to, int64_t reserve_from, int32_t fee_bp, int64_t to_pool):
    """core exchangeWithPool (strict send): what the pool pays, or None."""
    cdef int64_t y
    cdef int ok
    cdef sob_status st = sob_pool_strict_send(reserve_to, reserve_from, fee_bp, to_pool, &y, &ok)
    if st != SOB_OK:
        _raise(st, "pool arguments")
    return y if ok else None


def pool_strict_receive(int64_t reserve_to, int64_t reserve_from, int32_t fee_bp, int64_t from_pool):
    """core exchangeWithPool (strict receive): what the pool wants, or None."""
    cdef int64_t x
    cdef int ok
    cdef sob_status st = sob_pool_strict_receive(reserve_to, reserve_from, fee_bp, from_pool, &x, &ok)
    if st != SOB_OK:
        _raise(st, "pool arguments")
    return x if ok else None


# ---------------------------------------------------------------------------------------------
# Horizon documents through the C scanner (csrc/horizon_json.c)

cdef sob_offers _offers_vec
cdef sob_trades _trades_vec
# Shared scratch, reused so a steady stream of pages allocates nothing; a call that finds one in
# use (another thread got the GIL while the first built an error message) gets its own.
cdef bint _offers_busy = False, _trades_busy = False
sob_offers_init(&_offers_vec)
sob_trades_init(&_trades_vec)


cdef int _scan(object data, sob_offers *o, sob_trades *t) except -1:
    """Parse /offers (into o) or /trades (into t) JSON: bytes, bytearray, memoryview or str."""
    cdef const char *buf
    cdef Py_ssize_t n
    cdef Py_buffer view
    cdef bint has_view = False
    cdef sob_parse_error err
    cdef sob_hz_status st
    if type(data) is bytes:
        buf = PyBytes_AS_STRING(data)
        n = PyBytes_GET_SIZE(data)
    elif isinstance(data, str):
        try:
            buf = PyUnicode_AsUTF8AndSize(data, &n)
        except UnicodeEncodeError as e:
            raise ParseError("input is not UTF-8 (lone surrogate)",
                             len(data[:e.start].encode("utf-8", "surrogatepass"))) from None
    else:
        PyObject_GetBuffer(data, &view, PyBUF_SIMPLE | PyBUF_C_CONTIGUOUS)
        buf = <const char *>view.buf
        n = view.len
        has_view = True
    if o != NULL:
        st = sob_parse_offers(buf, n, o, &err)
    else:
        st = sob_parse_trades(buf, n, t, &err)
    if has_view:
        PyBuffer_Release(&view)
    if st == SOB_HZ_E_NOMEM:
        raise MemoryError("parsing a Horizon document")
    if st != SOB_HZ_OK:
        raise ParseError((<bytes>err.reason).decode() if err.reason != NULL else "invalid document", err.offset)
    return 0


cdef int _asset_to_c(object asset, sob_asset *out) except -1:
    memset(out, 0, sizeof(sob_asset))
    if asset.issuer is None:
        return 0
    code = asset.code.encode()
    issuer = asset.issuer.encode()
    if len(code) > 12 or len(issuer) != 56:
        raise InvalidBookError(f"not a Stellar asset: {asset!r}")
    out.type = 1 if len(code) <= 4 else 2
    memcpy(out.code, <const char *>code, len(code))
    memcpy(out.issuer, <const char *>issuer, 56)
    return 0


cdef inline bint _asset_eq(const sob_asset *a, const sob_asset *b):
    return a.type == b.type and strcmp(a.code, b.code) == 0 and strcmp(a.issuer, b.issuer) == 0


@cython.final
cdef class OfferBook:
    """A per-offer (L3) book of one market in stellar-core's crossing order (see the twin).

    add/remove/update by id: O(log n); simulate: O(offers crossed).
    """

    cdef sob_offerbook _b
    cdef sob_fill *_fills          # owned scratch for simulate, MAX_OFFERS_TO_CROSS entries
    cdef dict _seller_ids          # seller object -> handle (1..)
    cdef list _sellers             # handle - 1 -> seller object
    cdef readonly object base
    cdef readonly object counter

    def __cinit__(self, *args, **kwargs):
        sob_offerbook_init(&self._b)
        self._fills = <sob_fill *>malloc(MAX_OFFERS_TO_CROSS * sizeof(sob_fill))
        if self._fills == NULL:
            raise MemoryError()
        self._seller_ids = {}
        self._sellers = []

    def __init__(self, base, counter):
        self.base = _py._parse_asset(base)
        self.counter = _py._parse_asset(counter)

    def __dealloc__(self):
        sob_offerbook_free(&self._b)
        free(self._fills)

    cdef uint64_t _seller_handle(self, seller):
        if seller is None:
            return 0
        h = self._seller_ids.get(seller)
        if h is None:
            self._sellers.append(seller)
            h = len(self._sellers)
            self._seller_ids[seller] = h
        return <uint64_t>h

    cdef object _offer_obj(self, const sob_offer *o, int side):
        seller = self._sellers[o.seller - 1] if o.seller else None
        return Offer(o.id, _SIDE_NAMES[side], o.n, o.d, o.amount, seller)

    # -- maintenance ---------------------------------------------------------------------------

    def add_offer(self, offer_id, side, n, d, amount, seller=None):
        """Add one offer: its own price n/d (Horizon ``price_r``), amount in what it sells. O(log n)."""
        cdef int64_t oid
        try:
            oid = offer_id
        except (OverflowError, TypeError):
            oid = -1
        if oid < 0:
            _py._int(offer_id, "offer_id")
            raise InvalidBookError(f"offer_id must be an int64 >= 0, got {offer_id!r}")
        cdef int s = _side_of(side)
        cdef int32_t nn = _price_part(n, "n")
        cdef int32_t dd = _price_part(d, "d")
        cdef int64_t a = _amount(amount)
        cdef sob_status st = sob_offerbook_add(&self._b, oid, s, nn, dd, a, self._seller_handle(seller))
        if st != SOB_OK:
            _raise(st, oid)

    def remove_offer(self, offer_id):
        """Remove one offer. O(log n). OfferNotFoundError if absent."""
        cdef int64_t oid
        try:
            oid = offer_id
        except (OverflowError, TypeError):
            raise OfferNotFoundError(f"offer {offer_id!r} is not in the book")
        cdef sob_status st = sob_offerbook_remove(&self._b, oid, NULL, NULL)
        if st != SOB_OK:
            _raise(st, oid)

    def update_offer(self, offer_id, amount, n=None, d=None):
        """Set an offer's amount (0 removes it) and, with both n and d, its price. O(log n)."""
        cdef int64_t oid
        cdef sob_offer cur
        cdef int side
        try:
            oid = offer_id
        except (OverflowError, TypeError):
            raise OfferNotFoundError(f"offer {offer_id!r} is not in the book")
        if sob_offerbook_get(&self._b, oid, &cur, &side) != SOB_OK:
            _raise(SOB_E_NOT_FOUND, oid)
        a0 = _py._int(amount, "amount")
        if a0 == 0:
            self.remove_offer(oid)
            return
        cdef int64_t a = _amount(a0)
        if (n is None) != (d is None):
            raise InvalidBookError("give both n and d to change an offer's price")
        cdef int32_t nn = 0, dd = 0
        if n is not None:
            nn = _price_part(n, "n")
            dd = _price_part(d, "d")
        cdef sob_status st = sob_offerbook_update(&self._b, oid, a, nn, dd)
        if st != SOB_OK:
            _raise(st, oid)

    def apply_fill(self, offer_id, amount_sold):
        """A trade took ``amount_sold`` from an offer; the rest goes through adjustOffer. Returns it."""
        cdef int64_t oid, left
        cdef sob_offer cur
        cdef int side
        try:
            oid = offer_id
        except (OverflowError, TypeError):
            raise OfferNotFoundError(f"offer {offer_id!r} is not in the book")
        if sob_offerbook_get(&self._b, oid, &cur, &side) != SOB_OK:
            _raise(SOB_E_NOT_FOUND, oid)
        cdef int64_t sold = _amount(amount_sold, "amount_sold")
        if sold > cur.amount:
            raise InvalidBookError(f"offer {oid} has {cur.amount}, cannot sell {sold}")
        cdef sob_status st = sob_offerbook_apply_fill(&self._b, oid, sold, &left)
        if st != SOB_OK:
            _raise(st, oid)
        return left

    def clear(self):
        sob_offerbook_clear(&self._b)

    def load_horizon_offers(self, page):
        """Add or replace offers from Horizon /offers records (see the twin). JSON bytes, bytearray,
        memoryview or str go through the C scanner; a page dict or list of records is converted
        as the twin does. Records of another market raise AssetMismatchError before anything
        changes. Returns the number loaded."""
        if not isinstance(page, (bytes, bytearray, memoryview, str)):
            return _py.OfferBook.load_horizon_offers(self, page)
        global _offers_busy
        cdef sob_offers local
        cdef sob_offers *o = &_offers_vec
        cdef bint shared = not _offers_busy
        if shared:
            _offers_busy = True
        else:
            o = &local
            sob_offers_init(o)
        try:
            _scan(page, o, NULL)
            return self._load_offers(o)
        finally:
            if shared:
                _offers_busy = False
            else:
                sob_offers_free(o)

    cdef Py_ssize_t _load_offers(self, const sob_offers *o) except -1:
        cdef sob_asset base, counter
        _asset_to_c(self.base, &base)
        _asset_to_c(self.counter, &counter)
        cdef size_t i
        cdef const sob_offer_rec *r
        cdef int side
        cdef sob_status st
        # every record is checked before the book changes
        for i in range(o.len):
            r = &o.v[i]
            if not ((_asset_eq(&r.selling, &base) and _asset_eq(&r.buying, &counter))
                    or (_asset_eq(&r.selling, &counter) and _asset_eq(&r.buying, &base))):
                sell = _py._parse_asset("native" if r.selling.type == 0 else f"{r.selling.code.decode()}:{r.selling.issuer.decode()}")
                buy = _py._parse_asset("native" if r.buying.type == 0 else f"{r.buying.code.decode()}:{r.buying.issuer.decode()}")
                raise AssetMismatchError(f"offer {r.id} trades {sell}/{buy}, not {self.base}/{self.counter}")
        cdef sob_offer cur
        cdef int cur_side
        cdef uint64_t seller
        for i in range(o.len):
            r = &o.v[i]
            side = 1 if _asset_eq(&r.selling, &base) else 0
            seller = self._seller_handle(PyUnicode_DecodeASCII(r.seller, 56, NULL))
            if (sob_offerbook_get(&self._b, r.id, &cur, &cur_side) == SOB_OK and cur_side == side
                    and cur.n == r.n and cur.d == r.d and cur.seller == seller):
                # a re-paged offer that kept its price: at most its amount changed (the twin
                # removes and re-adds it, which leaves the same book)
                if r.amount == 0:
                    sob_offerbook_remove(&self._b, r.id, NULL, NULL)
                elif <int64_t>r.amount != cur.amount:
                    st = sob_offerbook_update(&self._b, r.id, <int64_t>r.amount, 0, 0)
                    if st != SOB_OK:
                        _raise(st, r.id)
                continue
            sob_offerbook_remove(&self._b, r.id, NULL, NULL)  # replace: absent is fine
            if r.amount > 0:
                st = sob_offerbook_add(&self._b, r.id, side, r.n, r.d, <int64_t>r.amount, seller)
                if st != SOB_OK:
                    _raise(st, r.id)
        return o.len

    def apply_horizon_trades(self, records):
        """Apply Horizon /trades records to the resting offers (see the twin). JSON bytes,
        bytearray, memoryview or str go through the C scanner; dicts are read as the twin does."""
        cdef int applied = 0
        if not isinstance(records, (bytes, bytearray, memoryview, str)):
            for oid, sold in _py._trade_fills(records):
                if oid not in self or sold == 0:
                    continue
                self.apply_fill(oid, min(sold, self.get(oid).amount))
                applied += 1
            return applied
        global _trades_busy
        cdef sob_trades local
        cdef sob_trades *t = &_trades_vec
        cdef bint shared = not _trades_busy
        if shared:
            _trades_busy = True
        else:
            t = &local
            sob_trades_init(t)
        try:
            _scan(records, NULL, t)
            return self._apply_trades(t)
        finally:
            if shared:
                _trades_busy = False
            else:
                sob_trades_free(t)

    cdef int _apply_trades(self, const sob_trades *t) except -1:
        cdef size_t i
        cdef const sob_trade_rec *r
        cdef int64_t oid, left
        cdef uint64_t sold
        cdef sob_offer cur
        cdef int side, applied = 0
        cdef sob_status st
        for i in range(t.len):
            r = &t.v[i]
            if r.trade_type == SOB_TRADE_LIQUIDITY_POOL:
                continue
            oid = r.base_offer_id if r.base_is_seller else r.counter_offer_id
            sold = r.base_amount if r.base_is_seller else r.counter_amount
            if oid == 0 or sold == 0:  # 0: no resting offer id in the record
                continue
            if sob_offerbook_get(&self._b, oid, &cur, &side) != SOB_OK:
                continue
            st = sob_offerbook_apply_fill(&self._b, oid, <int64_t>sold if sold < <uint64_t>cur.amount else cur.amount, &left)
            if st != SOB_OK:
                _raise(st, oid)
            applied += 1
        return applied

    # -- reading -------------------------------------------------------------------------------

    def __len__(self):
        return sob_offerbook_count(&self._b, 0) + sob_offerbook_count(&self._b, 1)

    def __contains__(self, offer_id):
        cdef int64_t oid
        cdef sob_offer cur
        cdef int side
        try:
            oid = offer_id
        except (OverflowError, TypeError):
            return False
        return sob_offerbook_get(&self._b, oid, &cur, &side) == SOB_OK

    def get(self, offer_id):
        """The offer with that id. OfferNotFoundError if absent."""
        cdef int64_t oid
        cdef sob_offer cur
        cdef int side
        try:
            oid = offer_id
        except (OverflowError, TypeError):
            raise OfferNotFoundError(f"offer {offer_id!r} is not in the book")
        if sob_offerbook_get(&self._b, oid, &cur, &side) != SOB_OK:
            _raise(SOB_E_NOT_FOUND, oid)
        return self._offer_obj(&cur, side)

    cdef list _copy(self, int s, size_t depth):
        cdef size_t total = sob_offerbook_count(&self._b, s)
        if depth > total:
            depth = total
        cdef sob_offer *buf = <sob_offer *>malloc((depth if depth else 1) * sizeof(sob_offer))
        if buf == NULL:
            raise MemoryError()
        cdef size_t k, i
        try:
            k = sob_offerbook_copy(&self._b, s, 0, depth, buf)
            return [self._offer_obj(&buf[i], s) for i in range(k)]
        finally:
            free(buf)

    def offers(self, side, depth=None):
        """The first ``depth`` offers of a side (all if None), in core's crossing order."""
        cdef int s = _side_of(side)
        cdef size_t n = sob_offerbook_count(&self._b, s)
        if depth is not None:
            n = min(n, max(0, depth))
        return self._copy(s, n)

    def best_offer(self, side):
        """The offer core would cross first on that side, or None."""
        cdef int s = _side_of(side)
        cdef sob_offer o
        if sob_offerbook_copy(&self._b, s, 0, 1, &o) == 0:
            return None
        return self._offer_obj(&o, s)

    def levels(self, side, depth=None):
        """Aggregated levels grouped as Horizon groups them: (n, d, amount), best first (see the twin)."""
        cdef int s = _side_of(side)
        cdef size_t total = sob_offerbook_count(&self._b, s)
        cdef sob_offer *buf = <sob_offer *>malloc((total if total else 1) * sizeof(sob_offer))
        if buf == NULL:
            raise MemoryError()
        cdef size_t k, i
        cdef double last_key = -1.0  # order key (never negative for a real offer)
        out = []
        try:
            k = sob_offerbook_copy(&self._b, s, 0, total, buf)
            for i in range(k):
                if i > 0 and buf[i].key == last_key:  # order key: Horizon groups by the double
                    n, d, a = out[len(out) - 1]  # no negative index: built with wraparound=False
                    out[len(out) - 1] = (n, d, a + buf[i].amount)
                    continue
                if depth is not None and len(out) >= depth:
                    break
                last_key = buf[i].key  # order key
                n, d = _py._reduce(buf[i].n, buf[i].d)
                if s == 0:
                    n, d = d, n
                out.append((n, d, buf[i].amount))
        finally:
            free(buf)
        return out

    def to_order_book(self, limit=200):
        """The body Horizon's GET /order_book would return for this book (see the twin)."""
        return _py.OfferBook.to_order_book(self, limit)

    def _check(self):
        """Assert every invariant of the C book (O(n))."""
        assert sob_offerbook_check(&self._b) == SOB_OK

    # -- execution -----------------------------------------------------------------------------

    cdef tuple _run(self, int side, int rounding, int64_t max_sheep, int64_t max_wheat, limit, bint passive,
                    taker, size_t max_offers):
        """convertWithOffers: (packed fills, sent, received, result, nfills)."""
        cdef sob_sim p
        cdef sob_sim_out out
        cdef sob_fill *fills = self._fills
        p.side = side
        p.round = <sob_rounding>rounding
        p.max_sheep_send = max_sheep
        p.max_wheat_receive = max_wheat
        p.has_limit = 0
        p.limit_n = 1
        p.limit_d = 1
        if limit is not None:
            p.has_limit = 1
            p.limit_n = limit[0]
            p.limit_d = limit[1]
        p.passive = passive
        p.taker = 0
        if taker is not None:
            h = self._seller_ids.get(taker)
            if h is not None:
                p.taker = <uint64_t>h
        p.max_offers = max_offers
        if max_offers > <size_t>MAX_OFFERS_TO_CROSS:
            fills = <sob_fill *>malloc(max_offers * sizeof(sob_fill))
            if fills == NULL:
                raise MemoryError()
        try:
            st = sob_offerbook_simulate(&self._b, &p, fills, &out)
            if st != SOB_OK:
                _raise(st, "simulate arguments")
            raw = PyBytes_FromStringAndSize(<char *>fills, out.nfills * sizeof(sob_fill))
        finally:
            if fills != self._fills:
                free(fills)
        return raw, out.sent, out.received, _RESULTS[out.result], out.nfills

    def _walk(self, int side, int rounding, int64_t max_sheep_send, int64_t max_wheat_receive, limit, bint passive,
              taker, max_offers):
        """Same contract as the twin's _walk (fills as tuples)."""
        if max_offers <= 0:
            if max_sheep_send > 0 and max_wheat_receive > 0:
                return [], 0, 0, "too_many_offers"
            return [], 0, 0, "filled"
        raw, sent, received, result, k = self._run(side, rounding, max_sheep_send, max_wheat_receive, limit, passive,
                                                   taker, max_offers)
        ex = _new_execution(raw, 0, 0, False, "", 0)
        return [(f.offer_id, f.wheat, f.sheep, f.remaining) for f in ex.fills], sent, received, result

    def _apply_fills(self, fills):
        for oid, _, _, remaining in fills:
            if remaining == 0:
                self.remove_offer(oid)
            else:
                st = sob_offerbook_update(&self._b, oid, remaining, 0, 0)
                if st != SOB_OK:
                    _raise(st, oid)

    def simulate(self, kind, amount, *, taker_sells="base", price_limit=None, passive=False, taker=None,
                 max_send=None, apply=False, max_offers=MAX_OFFERS_TO_CROSS):
        """What one taker operation would execute against this book, exactly as core does.

        Same arguments and result as the twin's OfferBook.simulate (which documents them).
        """
        k = _KINDS.get(kind)
        if k is None:
            raise InvalidBookError(f"kind must be one of {sorted(_KINDS)}, got {kind!r}")
        cdef int ki = k
        cdef int rounding = 0 if ki <= 1 else ki - 1
        cdef int64_t amt = _amount(amount)
        cdef int side = _taker_side(taker_sells)
        cdef int64_t cap = INT64_MAX if max_send is None else _amount(max_send, "max_send")
        cdef int64_t max_sheep, max_wheat, sent, received, taker_offer = 0
        cdef int32_t pn, pd
        limit = None
        if rounding != 0:
            if price_limit is not None or passive:
                raise InvalidBookError("path payments carry no price limit (use max_send / the result)")
        elif price_limit is not None:
            pn, pd = _py._price_of(price_limit)
            limit = (pd, pn) if ki == 0 else (pn, pd)
        if ki == 0:
            max_sheep = amt if amt < cap else cap
            max_wheat = INT64_MAX
        elif ki == 1:
            max_sheep = cap
            max_wheat = amt
        elif ki == 2:
            if amt > cap:
                return _new_execution(b"", 0, 0, False, "underfunded", 0)
            max_sheep = amt
            max_wheat = INT64_MAX
        else:
            max_sheep = INT64_MAX
            max_wheat = amt
        if max_offers <= 0:
            raw, sent, received, result, nf = b"", 0, 0, "too_many_offers", 0
        else:
            raw, sent, received, result, nf = self._run(side, rounding, max_sheep, max_wheat, limit, passive, taker,
                                                        max_offers)
        if result == "cross_self":
            ex = _new_execution(raw, 0, 0, False, "", 0)
            raise CrossSelfError(
                f"the taker {taker!r} would cross its own offer {self._next_id(side, len(ex.fills))}")
        stop = result
        if rounding == 0:
            complete = result == "filled"
            if (result == "price_limit" or result == "no_offers") and limit is not None:
                if ki == 0:
                    taker_offer = sob_adjust_offer(limit[1], limit[0], max_sheep - sent, INT64_MAX)
                else:
                    taker_offer = sob_adjust_offer(limit[1], limit[0],
                                                   cap - sent if max_send is not None else INT64_MAX,
                                                   amt - received)
            ok = result != "too_many_offers"
        else:
            if rounding == 2:
                complete = result == "filled" and received == amt
            else:
                complete = result == "filled" and sent == amt
            if complete and rounding == 2 and sent > cap:
                complete = False
                stop = "send_max"
            ok = complete
        if apply and ok and nf:
            st = sob_offerbook_apply_fills(&self._b, <sob_fill *>(<char *>raw), nf)
            if st != SOB_OK:
                _raise(st, "fills")
        return _new_execution(raw, sent, received, complete, stop, taker_offer)

    def _next_id(self, int side, size_t index):
        offers = self._copy(side, index + 1)
        return offers[index].offer_id if index < len(offers) else None


@cython.final
cdef class LiquidityPool:
    """A constant-product pool (CAP-0038); ``a`` is the book's base with quote_hop (see the twin)."""

    cdef public object reserve_a
    cdef public object reserve_b
    cdef readonly int fee_bp

    def __init__(self, reserve_a, reserve_b, fee_bp=30):
        p = _py.LiquidityPool(reserve_a, reserve_b, fee_bp)  # the twin's checks and messages
        self.reserve_a = p.reserve_a
        self.reserve_b = p.reserve_b
        self.fee_bp = p.fee_bp

    cdef tuple _reserves(self, taker_sells):
        if _taker_side(taker_sells) == 0:
            return self.reserve_a, self.reserve_b
        return self.reserve_b, self.reserve_a

    def strict_send(self, amount, *, taker_sells="base"):
        """Send exactly ``amount``: what comes out, or None when core would refuse."""
        cdef int64_t amt = _amount(amount)
        to_r, from_r = self._reserves(taker_sells)
        y = pool_strict_send(to_r, from_r, self.fee_bp, amt)
        return None if y is None else PoolQuote(amt, y)

    def strict_receive(self, amount, *, taker_sells="base"):
        """Receive exactly ``amount``: what must go in, or None when core would refuse."""
        cdef int64_t amt = _amount(amount)
        to_r, from_r = self._reserves(taker_sells)
        x = pool_strict_receive(to_r, from_r, self.fee_bp, amt)
        return None if x is None else PoolQuote(x, amt)

    def apply(self, quote, *, taker_sells="base"):
        """Move the reserves as the exchange ``quote`` would."""
        if _taker_side(taker_sells) == 0:
            self.reserve_a += quote.sent
            self.reserve_b -= quote.received
        else:
            self.reserve_b += quote.sent
            self.reserve_a -= quote.received

    def __repr__(self):
        return f"LiquidityPool(reserve_a={self.reserve_a}, reserve_b={self.reserve_b}, fee_bp={self.fee_bp})"


def quote_hop(book, pool, kind, amount, *, taker_sells="base", taker=None, max_send=None,
              max_offers=MAX_OFFERS_TO_CROSS, apply=False):
    """One path-payment hop routed as core routes it (see the twin's quote_hop)."""
    if book is None:
        book = OfferBook(None, None)
    return _py.quote_hop(book, pool, kind, amount, taker_sells=taker_sells, taker=taker, max_send=max_send,
                         max_offers=max_offers, apply=apply)
