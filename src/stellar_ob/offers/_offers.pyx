# cython: language_level=3
"""Exact execution against a per-offer (L3) book and liquidity pools: the compiled module.

Same API and results as stellar_ob.offers._pure (the twin, which documents the semantics in plain
Python); the book and the crossing math live in csrc/offerbook.c and csrc/exchange.c.
"""

cimport cython
import dataclasses
from libc.stdint cimport int32_t, int64_t, uint32_t, uint64_t, INT64_MAX, INT32_MAX
from libc.stdlib cimport malloc, realloc, free
from libc.string cimport memset, memcpy, memcmp, strcmp, strlen
from cpython.bytes cimport PyBytes_FromStringAndSize, PyBytes_AS_STRING, PyBytes_GET_SIZE
from cpython.buffer cimport PyObject_GetBuffer, PyBuffer_Release, PyBUF_SIMPLE, PyBUF_C_CONTIGUOUS
from cpython.long cimport PyLong_AsLongLongAndOverflow
from cpython.tuple cimport PyTuple_New, PyTuple_SET_ITEM
from cpython.unicode cimport PyUnicode_AsUTF8AndSize, PyUnicode_DecodeASCII

from stellar_ob._c.exchange cimport *
from stellar_ob._c.horizon_json cimport *
from stellar_ob._c.offerbook cimport *
from stellar_ob._c.sob_common cimport *

from ..errors import (
    AmountOverflowError,
    AssetMismatchError,
    CrossSelfError,
    DuplicateOfferError,
    InvalidBookError,
    OfferNotFoundError,
    ParseError,
    StellarOBError,
)
from .execution import Execution, Fill, HopQuote, Offer, PathHop, PathResult, PoolQuote
from .. import _args
from . import _common
from ..amounts import account_arg, count_arg, exact_int, exact_str, offer_id_arg

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
    "simulate_path",
    "MAINNET_PROTOCOL",
]

NORMAL = 0
STRICT_SEND = 1
STRICT_RECEIVE = 2
MAX_OFFERS_TO_CROSS = 1000

cdef dict _KINDS = {"sell": 0, "buy": 1, "strict_send": 2, "strict_receive": 3}
cdef tuple _RESULTS = ("filled", "price_limit", "no_offers", "too_many_offers", "cross_self")
cdef tuple _SIDE_NAMES = ("bid", "ask")
cdef _new_execution = Execution._from_packed


from cpython.object cimport PyObject, PyTypeObject

cdef extern from "Python.h":
    int PyObject_GenericSetAttr(object o, object name, object value) except -1

cdef tuple _NO_ARGS = ()
cdef type _EXECUTION = Execution
cdef str _V = "_v"


cdef type _PATH_HOP = PathHop
cdef tuple _PATH_HOP_FIELDS = tuple(f.name for f in dataclasses.fields(PathHop))
cdef type _PATH_RESULT = PathResult
cdef tuple _PATH_RESULT_FIELDS = tuple(f.name for f in dataclasses.fields(PathResult))


cdef extern from "Python.h":
    ctypedef struct PyMemberDef:
        int type
        Py_ssize_t offset
        int flags
    ctypedef struct PyMemberDescrObject:
        PyMemberDef *d_member
    void Py_INCREF(object o)
    void Py_XDECREF(PyObject *o)


cdef enum:
    _T_OBJECT_EX = 16   # structmember.h: a slot holding an object, AttributeError when unset
    _MAX_SLOTS = 16


cdef Py_ssize_t _slot_offsets(type cls, tuple names, Py_ssize_t *out) except -2:
    """The offsets of the slots ``names`` of a slots dataclass, read from its member descriptors
    (each a plain T_OBJECT_EX member of the class itself); -1 if any is not (then _make_slots
    uses the generic setattr)."""
    if len(names) > _MAX_SLOTS:
        return -1
    for i, name in enumerate(names):
        d = cls.__dict__.get(name)
        if type(d) is not _MEMBER_DESCRIPTOR:
            return -1
        m = (<PyMemberDescrObject *><PyObject *>d).d_member
        if m.type != _T_OBJECT_EX or m.offset <= 0 or m.flags != 0:
            return -1
        out[i] = m.offset
    return len(names)


_MEMBER_DESCRIPTOR = type(PathHop.__dict__["send_asset"])


cdef object _make_slots(type cls, tuple names, tuple values):
    """A frozen slots dataclass without its __init__ (one object.__setattr__ per field through a
    Python frame): object.__new__ and the generic setattr of each slot, the values in field order.
    Only for the classes above, whose __init__ does nothing else."""
    cdef PyTypeObject *t = <PyTypeObject *>cls
    obj = t.tp_new(cls, <PyObject *>_NO_ARGS, NULL)
    for i in range(len(names)):
        PyObject_GenericSetAttr(obj, names[i], values[i])
    return obj


cdef inline void _put_slot(object obj, Py_ssize_t offset, object value):
    """What member_set does for a T_OBJECT_EX slot of a fresh object (NULL until set)."""
    cdef PyObject **slot = <PyObject **>(<char *><PyObject *>obj + offset)
    Py_INCREF(value)
    Py_XDECREF(slot[0])
    slot[0] = <PyObject *>value


cdef Py_ssize_t _HOP_OFFSETS[_MAX_SLOTS]
cdef Py_ssize_t _RESULT_OFFSETS[_MAX_SLOTS]
cdef Py_ssize_t _NHOP_SLOTS = _slot_offsets(_PATH_HOP, _PATH_HOP_FIELDS, _HOP_OFFSETS)
cdef Py_ssize_t _NRESULT_SLOTS = _slot_offsets(_PATH_RESULT, _PATH_RESULT_FIELDS, _RESULT_OFFSETS)


cdef object _make_fast(type cls, tuple names, const Py_ssize_t *offsets, Py_ssize_t n, tuple values):
    """_make_slots with each slot written at its offset (no attribute lookup per field) when the
    class's slots were found at import; the generic path otherwise."""
    cdef PyTypeObject *t
    if n != len(values):
        return _make_slots(cls, names, values)
    t = <PyTypeObject *>cls
    obj = t.tp_new(cls, <PyObject *>_NO_ARGS, NULL)
    for i in range(n):
        _put_slot(obj, offsets[i], values[i])
    return obj


cdef object _make_execution(bytes raw, int64_t sent, int64_t received, bint complete, str stop, int64_t taker_offer,
                            object res, object code):
    """Execution._from_packed without its Python frame (the hot path of simulate): object.__new__
    and the generic setattr of the ``_v`` slot, which is what _from_packed does."""
    cdef PyTypeObject *t = <PyTypeObject *>_EXECUTION
    obj = t.tp_new(_EXECUTION, <PyObject *>_NO_ARGS, NULL)
    PyObject_GenericSetAttr(obj, _V, (raw, sent, received, complete, stop, taker_offer, res, code))
    return obj

include "_c/glue.pxi"
include "_dex.pxi"


# ---------------------------------------------------------------------------------------------
# Arguments become plain C values before the book is touched: no method of a caller's object runs
# once a book (or a buffer) is in use. The twin converts in the same order with the same rules
# (stellar_ob.amounts), so both raise the same errors for the same arguments.

cdef inline int _side_of(side) except -1:
    if type(side) is not str:
        if not isinstance(side, str):
            raise InvalidBookError(f"side must be 'bid' or 'ask', got {side!r}")
        side = exact_str(side)
    if side == "ask":
        return 1
    if side == "bid":
        return 0
    raise InvalidBookError(f"side must be 'bid' or 'ask', got {side!r}")


cdef inline int _taker_side(taker_sells) except -1:
    if type(taker_sells) is not str:
        if not isinstance(taker_sells, str):
            raise InvalidBookError(f"taker_sells must be 'base' or 'counter', got {taker_sells!r}")
        taker_sells = exact_str(taker_sells)
    if taker_sells == "base":
        return 0
    if taker_sells == "counter":
        return 1
    raise InvalidBookError(f"taker_sells must be 'base' or 'counter', got {taker_sells!r}")


cdef int _kind_of(kind) except -1:
    """0 sell, 1 buy, 2 strict_send, 3 strict_receive."""
    if type(kind) is not str:
        if not isinstance(kind, str):
            raise InvalidBookError(f"kind must be one of {sorted(_KINDS)}, got {kind!r}")
        kind = exact_str(kind)
    k = _KINDS.get(kind)
    if k is None:
        raise InvalidBookError(f"kind must be one of {sorted(_KINDS)}, got {kind!r}")
    return k


cdef int64_t _amount(value, what="amount") except -1:
    """An int64 amount > 0; the twin's checks (and messages) for anything unusual."""
    cdef int overflow = 0
    cdef long long a
    if type(value) is int:
        a = PyLong_AsLongLongAndOverflow(value, &overflow)
        if overflow == 0 and a > 0:
            return a
    return _common._amount(value, what)


cdef int32_t _price_part(value, what) except -1:
    cdef int overflow = 0
    cdef long long v
    if type(value) is int:
        v = PyLong_AsLongLongAndOverflow(value, &overflow)
        if overflow == 0 and 0 < v <= INT32_MAX:
            return <int32_t>v
    return _common._price_part(value, what)


cdef int64_t _offer_id(value) except -1:
    """An offer id: int64 >= 0. TypeError for what is not an integer (bool, float, Decimal...),
    InvalidBookError out of range. -1 is the C hash's empty-slot marker: it never gets there."""
    cdef int overflow = 0
    cdef long long v
    if type(value) is int:
        v = PyLong_AsLongLongAndOverflow(value, &overflow)
        if overflow == 0 and v >= 0:
            return v
    return offer_id_arg(value)


cdef inline str _account(value, str what):
    """A seller or taker: None or a str (a subclass kept as the str it holds); TypeError else."""
    if value is None or type(value) is str:
        return value
    return account_arg(value, what)


cdef size_t _count(value, str what, size_t bound, bint none_ok=True) except? 0xFFFFFFFFFFFFFFFF:
    """A depth / limit (an int >= 0, None = no limit) or a max_offers (an int >= 0), clamped to
    ``bound`` (the side's size): whatever a caller asks for, no buffer is sized past what the
    book holds."""
    cdef int overflow = 0
    cdef long long v
    if value is None and none_ok:
        return bound
    if type(value) is int:
        v = PyLong_AsLongLongAndOverflow(value, &overflow)
        if overflow == 0 and v >= 0:
            return <size_t>v if <unsigned long long>v < bound else bound
    v_obj = count_arg(value, what)
    return bound if v_obj >= bound else <size_t>v_obj


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
# Horizon documents through the C scanner (csrc/horizon_json.h). The record vectors belong to one
# call: nothing is shared between calls, books or threads.

cdef int _scan(object data, sob_offers *o, sob_trades *t) except -1:
    """Parse /offers (into o) or /trades (into t) JSON: bytes, bytearray, memoryview (any buffer;
    one that is not contiguous is copied first) or str (as UTF-8)."""
    cdef _Input inp
    cdef Py_buffer view
    cdef sob_parse_error err
    cdef sob_status st
    owner = _input(data, &inp, &view)
    # The scanners grow their vectors as they go; start them at a size no page of this length
    # exceeds by much, so a 200-record page is one allocation.
    try:
        if o != NULL:
            _presize(<void **>&o.v, &o.cap, <size_t>inp.len // 160 + 1, sizeof(sob_offer_rec))
            st = sob_parse_offers(inp.buf, inp.len, o, &err)
        else:
            _presize(<void **>&t.v, &t.cap, <size_t>inp.len // 200 + 1, sizeof(sob_trade_rec))
            st = sob_parse_trades(inp.buf, inp.len, t, &err)
    finally:
        _input_release(&inp, &view)
    if st != SOB_OK:
        _raise(st, "Horizon document", &err)
    return 0


@cython.final
cdef class OfferBook:
    """A per-offer (L3) book of one market, ordered exactly as stellar-core orders it.

    Each side is sorted by ``float(n)/float(d)`` of the offers' own prices, ties by lower offer
    id (core LedgerTxnOfferSQL.cpp isBetterOffer), so the first offer of a side is the one core
    crosses first. add/remove/update are O(log n); ``simulate`` is O(offers crossed).

    One book is not safe for concurrent mutation from two threads (lock around it if you share
    it); even then no other book can change.

    >>> b = OfferBook("native", "USDC:GA5ZSEJYB37JRC5AVCIA5MOP4RHTM335X2KGX3IHOJAPP5RE34K4KZVN")
    >>> b.add_offer(1, "ask", 1, 10, 1_000_0000000)   # sells 1000 XLM at 0.1 USDC each
    >>> b.simulate("buy", 10_0000000, taker_sells="counter").sent   # buy 10 XLM
    10000000
    """

    cdef sob_offerbook _b
    cdef sob_fill *_fills          # owned scratch for simulate, grown to what a walk may need
    cdef size_t _fills_cap
    cdef dict _seller_ids          # seller account (exact str) -> handle
    cdef list _sellers             # handle -> seller account (None: free); index 0 unused
    cdef sob_accounts _acc         # sellers' (and takers') funds given with set_account
    cdef sob_dex_scratch *_dex     # dex.h working memory of this book's calls
    cdef uint32_t _base_id, _counter_id
    cdef readonly object base
    """The base asset (:class:`~stellar_ob.Asset`): ``"ask"`` offers sell it."""
    cdef readonly object counter
    """The counter asset (:class:`~stellar_ob.Asset`): ``"bid"`` offers sell it."""

    def __cinit__(self, *args, **kwargs):
        sob_offerbook_init(&self._b)
        sob_accounts_init(&self._acc)
        self._base_id = 0xFFFFFFF1   # an empty book made with __new__ (quote_hop without a book)
        self._counter_id = 0xFFFFFFF2
        self._dex = sob_dex_scratch_new()
        if self._dex == NULL:
            raise MemoryError()
        self._seller_ids = {}
        self._sellers = [None]

    def __init__(self, base, counter):
        self.base, self.counter = _args.book_assets(base, counter)
        self._base_id = _asset_id(self.base)
        self._counter_id = _asset_id(self.counter)

    def __dealloc__(self):
        sob_offerbook_free(&self._b)
        sob_accounts_free(&self._acc)
        if self._dex != NULL:
            sob_dex_scratch_free(self._dex)
        free(self._fills)

    # -- seller handles: the C book counts each handle's offers (csrc/offerbook.h sob_sellers) --

    cdef inline int _forget_released(self) except -1:
        """Forget the sellers whose last offer left the book (queued by the C book): the map
        follows the sellers with offers, so memory stays bounded however many come and go.
        Keys are exact strs: no caller code runs here."""
        cdef uint64_t h
        if self._b.sellers.nreleased == 0:
            return 0
        while sob_offerbook_take_released(&self._b, &h):
            if h < <size_t>len(self._sellers):
                seller = self._sellers[h]
                self._sellers[h] = None
                if seller is not None:
                    self._seller_ids.pop(seller, None)
        return 0

    cdef inline bint _is_seller(self, uint64_t h, const char *account) except -1:
        """Whether handle ``h`` is the seller ``account`` (a NUL-terminated StrKey the scanner
        checked), without making a str: the handle's key is an exact ASCII str, whose UTF-8 form
        is its own data."""
        cdef Py_ssize_t n
        cdef const char *have
        if h == 0 or h >= <uint64_t>len(self._sellers):
            return False
        known = self._sellers[h]
        if known is None:
            return False
        have = PyUnicode_AsUTF8AndSize(known, &n)
        return <size_t>n == strlen(account) and memcmp(have, account, <size_t>n) == 0

    cdef int _remember(self, str seller, uint64_t h) except -1:
        while <size_t>len(self._sellers) <= h:
            self._sellers.append(None)
        self._sellers[h] = seller
        self._seller_ids[seller] = h
        return 0

    cdef sob_status _add(self, int64_t oid, int side, int32_t n, int32_t d, int64_t amount, str seller):
        """sob_offerbook_add with the seller's handle (a new one for a new seller)."""
        cdef uint64_t h = 0
        cdef bint new = False
        cdef sob_status st
        if seller is not None:
            known = self._seller_ids.get(seller)
            if known is None:
                st = sob_offerbook_seller_new(&self._b, &h)
                if st != SOB_OK:
                    return st
                new = True
            else:
                h = <uint64_t>known
        if new:
            self._key_handle(seller, h)
        st = sob_offerbook_add(&self._b, oid, side, n, d, amount, h)
        if new:
            if st == SOB_OK:
                self._remember(seller, h)
            else:
                sob_offerbook_seller_drop(&self._b, h)
        return st

    cdef int _key_handle(self, str seller, uint64_t h) except -1:
        """Give handle ``h`` the key of ``seller`` if this book holds its funds (else key 0)."""
        cdef sob_account a
        k = _ACCOUNT_KEYS.get(seller)
        if k is not None and sob_accounts_get_account(&self._acc, <uint64_t>k, &a) == SOB_OK:
            sob_offerbook_seller_set_account(&self._b, h, <uint64_t>k)
        return 0

    cdef uint64_t _mark_taker(self, str who, uint64_t key):
        """For one call: the taker's handle in this book carries ``key`` (CROSS_SELF). Returns
        the handle changed (give it to _unmark_taker), or 0."""
        if who is None:
            return 0
        h = self._seller_ids.get(who)
        if h is None or sob_offerbook_seller_account(&self._b, <uint64_t>h) == key:
            return 0
        sob_offerbook_seller_set_account(&self._b, <uint64_t>h, key)
        return <uint64_t>h

    cdef void _unmark_taker(self, uint64_t h):
        if h:
            sob_offerbook_seller_set_account(&self._b, h, 0)

    cdef object _offer_obj(self, const sob_offer *o, int side):
        cdef size_t h = o.seller
        seller = self._sellers[h] if h and h < <size_t>len(self._sellers) else None
        return Offer(o.id, _SIDE_NAMES[side], o.n, o.d, o.amount, seller)

    # -- maintenance ---------------------------------------------------------------------------

    def add_offer(self, offer_id, side, n, d, amount, seller=None):
        """Add one offer: its own price n/d (Horizon ``price_r``), amount in what it sells. O(log n).
        ``offer_id`` is an int64 >= 0, ``seller`` an account id (str) or None."""
        cdef int64_t oid = _offer_id(offer_id)
        cdef int s = _side_of(side)
        cdef int32_t nn = _price_part(n, "n")
        cdef int32_t dd = _price_part(d, "d")
        cdef int64_t a = _amount(amount)
        cdef str who = _account(seller, "seller")
        cdef sob_status st = self._add(oid, s, nn, dd, a, who)
        if st != SOB_OK:
            _raise(st, f"offer {oid}")

    def remove_offer(self, offer_id):
        """Remove one offer. O(log n). OfferNotFoundError if absent."""
        cdef int64_t oid = _offer_id(offer_id)
        cdef sob_status st = sob_offerbook_remove(&self._b, oid, NULL, NULL)
        if st != SOB_OK:
            _raise(st, f"offer {oid}")
        self._forget_released()

    def update_offer(self, offer_id, amount, n=None, d=None):
        """Set an offer's amount (0 removes it) and, with both n and d, its price. O(log n)."""
        cdef int64_t oid = _offer_id(offer_id)
        cdef int64_t a = 0
        cdef int32_t nn = 0, dd = 0
        cdef sob_status st
        a0 = _common._int(amount, "amount")
        if a0 != 0:
            a = _amount(a0)
        if (n is None) != (d is None):
            raise InvalidBookError("give both n and d to change an offer's price")
        if n is not None:
            nn = _price_part(n, "n")
            dd = _price_part(d, "d")
        if a == 0:
            st = sob_offerbook_remove(&self._b, oid, NULL, NULL)
        else:
            st = sob_offerbook_update(&self._b, oid, a, nn, dd)
        if st != SOB_OK:
            _raise(st, f"offer {oid}")
        self._forget_released()

    def apply_fill(self, offer_id, amount_sold):
        """A trade took ``amount_sold`` from an offer; the rest goes through adjustOffer. Returns it."""
        cdef int64_t oid = _offer_id(offer_id)
        cdef int64_t sold = _amount(amount_sold, "amount_sold")
        cdef int64_t left
        cdef sob_offer cur
        cdef int side
        if sob_offerbook_get(&self._b, oid, &cur, &side) != SOB_OK:
            _raise(SOB_E_NOT_FOUND, f"offer {oid}")
        if sold > cur.amount:
            raise InvalidBookError(f"offer {oid} has {cur.amount}, cannot sell {sold}")
        cdef sob_status st = sob_offerbook_apply_fill(&self._b, oid, sold, &left)
        if st != SOB_OK:
            _raise(st, f"offer {oid}")
        self._forget_released()
        return left

    def clear(self):
        """Remove every offer (and forget every seller); the assets stay. O(n)."""
        sob_offerbook_clear(&self._b)
        self._seller_ids.clear()
        del self._sellers[1:]

    def load_horizon_offers(self, page):
        """Add or replace offers from Horizon /offers records (JSON bytes/str, a page dict, a list).

        Records selling base for counter become asks, counter for base bids; records of another
        market raise AssetMismatchError before anything changes. Returns the number loaded.
        """
        if not isinstance(page, (bytes, bytearray, memoryview, str)):
            return _common.load_horizon_offers(self, page)
        cdef sob_offers o
        sob_offers_init(&o)
        try:
            _scan(page, &o, NULL)
            return self._load_offers(&o)
        finally:
            sob_offers_free(&o)

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
                sell = _common._parse_asset("native" if r.selling.type == 0 else f"{r.selling.code.decode()}:{r.selling.issuer.decode()}")
                buy = _common._parse_asset("native" if r.buying.type == 0 else f"{r.buying.code.decode()}:{r.buying.issuer.decode()}")
                raise AssetMismatchError(f"offer {r.id} trades {sell}/{buy}, not {self.base}/{self.counter}")
        cdef sob_offer cur
        cdef int cur_side
        cdef str seller
        try:
            for i in range(o.len):
                r = &o.v[i]
                side = 1 if _asset_eq(&r.selling, &base) else 0
                if (sob_offerbook_get(&self._b, r.id, &cur, &cur_side) == SOB_OK
                        and cur_side == side and cur.n == r.n and cur.d == r.d
                        and self._is_seller(cur.seller, r.seller)):
                    # a re-paged offer that kept its price and seller: at most its amount changed
                    # (the twin removes and re-adds it, which leaves the same book); the seller is
                    # compared as bytes, so a steady-state reload makes no str and hashes nothing
                    if r.amount == 0:
                        sob_offerbook_remove(&self._b, r.id, NULL, NULL)
                    elif <int64_t>r.amount != cur.amount:
                        st = sob_offerbook_update(&self._b, r.id, <int64_t>r.amount, 0, 0)
                        if st != SOB_OK:
                            _raise(st, f"offer {r.id}")
                    continue
                sob_offerbook_remove(&self._b, r.id, NULL, NULL)  # replace: absent is fine
                if r.amount > 0:
                    seller = PyUnicode_DecodeASCII(r.seller, strlen(r.seller), NULL)
                    st = self._add(r.id, side, r.n, r.d, <int64_t>r.amount, seller)
                    if st != SOB_OK:
                        _raise(st, f"offer {r.id}")
        finally:
            self._forget_released()
        return o.len

    def apply_horizon_trades(self, records):
        """Apply Horizon /trades records: each takes its amount from the resting (seller) offer.

        In a trade record the base party sold ``base_amount`` and the counter party
        ``counter_amount``; ``base_is_seller`` says which of them was the resting offer (horizon
        trades_processor.go). Trades of offers not in this book (or with pools) are skipped.
        Returns the number of fills applied.
        """
        cdef int applied = 0
        if not isinstance(records, (bytes, bytearray, memoryview, str)):
            for oid, sold in _common._trade_fills(records):  # every record checked first
                if oid not in self or sold == 0:
                    continue
                self.apply_fill(oid, min(sold, self.get(oid).amount))
                applied += 1
            return applied
        cdef sob_trades t
        sob_trades_init(&t)
        try:
            _scan(records, NULL, &t)
            return self._apply_trades(&t)
        finally:
            sob_trades_free(&t)

    cdef int _apply_trades(self, const sob_trades *t) except -1:
        cdef size_t i
        cdef const sob_trade_rec *r
        cdef int64_t oid, left
        cdef uint64_t sold
        cdef sob_offer cur
        cdef int side, applied = 0
        cdef sob_status st
        try:
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
                    _raise(st, f"offer {oid}")
                applied += 1
        finally:
            self._forget_released()
        return applied

    # -- reading -------------------------------------------------------------------------------

    def __len__(self):
        return sob_offerbook_count(&self._b, 0) + sob_offerbook_count(&self._b, 1)

    def __contains__(self, offer_id):
        """Whether an offer with that id is in the book. The id must be an int64 >= 0, as for
        every other method (``7.2 in book`` is a TypeError, not a truncated 7)."""
        cdef int64_t oid = _offer_id(offer_id)
        cdef sob_offer cur
        cdef int side
        return sob_offerbook_get(&self._b, oid, &cur, &side) == SOB_OK

    def get(self, offer_id):
        """The offer with that id. OfferNotFoundError if absent."""
        cdef int64_t oid = _offer_id(offer_id)
        cdef sob_offer cur
        cdef int side
        if sob_offerbook_get(&self._b, oid, &cur, &side) != SOB_OK:
            _raise(SOB_E_NOT_FOUND, f"offer {oid}")
        return self._offer_obj(&cur, side)

    cdef list _copy(self, int s, size_t depth):
        """The first ``depth`` offers of a side as Offer objects: copied out of the book first,
        so whatever runs while the objects are made (a finalizer, another thread) cannot make
        this read past what the book holds."""
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
        cdef size_t want = _count(depth, "depth", <size_t>-1)  # first: it may run the caller's code
        return self._copy(s, want)

    def best_offer(self, side):
        """The offer core would cross first on that side, or None."""
        cdef int s = _side_of(side)
        cdef sob_offer o
        if sob_offerbook_copy(&self._b, s, 0, 1, &o) == 0:
            return None
        return self._offer_obj(&o, s)

    def levels(self, side, depth=None):
        """Aggregated (L2) levels as Horizon's /order_book shows them: ``(n, d, amount)``, best first.

        Offers are grouped by the float64 of their own n/d (horizon orderbook.go: GROUP BY the
        double ``price`` column); a level reports the n/d of its first offer (lowest id), reduced,
        inverted for bids so both sides quote counter per base. Amounts: base for asks, counter
        for bids (Horizon's units); a level's sum may exceed int64, as in Horizon.
        """
        cdef int s = _side_of(side)
        cdef size_t want = _count(depth, "depth", <size_t>-1)  # first: it may run the caller's code
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
                if <size_t>len(out) >= want:
                    break
                last_key = buf[i].key  # order key
                n, d = _common._reduce(buf[i].n, buf[i].d)
                if s == 0:
                    n, d = d, n
                out.append((n, d, buf[i].amount))
        finally:
            free(buf)
        return out

    def to_order_book(self, limit=200):
        """The body Horizon's GET /order_book would return for this book (``limit`` levels a side).

        Prices and amounts as Horizon prints them (7 decimals); base/counter as stored.
        """
        return _common.to_order_book(self, limit)

    def _check(self):
        """Assert every invariant of the C book (O(n)), and that the seller map holds exactly the
        sellers with offers in the book."""
        if not (sob_offerbook_check(&self._b) == SOB_OK):
            raise AssertionError("OfferBook invariant broken: sob_offerbook_check(&self._b) == SOB_OK")
        if not (self._b.sellers.nreleased == 0):
            raise AssertionError("OfferBook invariant broken: self._b.sellers.nreleased == 0")
        if not (<size_t>len(self._seller_ids) == sob_offerbook_sellers_live(&self._b)):
            raise AssertionError("OfferBook invariant broken: <size_t>len(self._seller_ids) == sob_offerbook_sellers_live(&self._b)")
        for seller, h in self._seller_ids.items():
            if not (type(seller) is str and self._sellers[h] is seller):
                raise AssertionError("OfferBook invariant broken: type(seller) is str and self._sellers[h] is seller")

    def _seller_count(self):
        """Sellers the book remembers (those with at least one offer): bounded by the book."""
        return sob_offerbook_sellers_live(&self._b)

    # -- sellers' funds (csrc/accounts.h) -------------------------------------------------------

    def set_account(self, seller, base, counter, *, native=None, subentries=0):
        """Tell the book what ``seller`` holds: its :class:`~stellar_ob.Funds` of the base and of
        the counter asset (a Funds, a tuple of its fields, or an int balance). Crossing then
        adjusts each of the seller's offers exactly as core does (canSellAtMost: balance minus
        selling liabilities, and for the native asset minus the reserve; canBuyAtMost: limit
        minus balance minus buying liabilities), and a taker with funds set is checked as core
        checks it (UNDERFUNDED, LINE_FULL, LOW_RESERVE). Sellers never set stay fully funded
        with unlimited headroom. ``native``: the account's XLM when neither asset is native
        (default: INT64_MAX stroops, no liabilities); ``subentries``: its numSubEntries (the
        reserve). A seller that is the issuer of an asset is unlimited in it, as in core.
        """
        cdef str who = _account(seller, "seller")
        if who is None:
            raise InvalidBookError("set_account needs the seller's account id")
        fb = _funds_arg(base, "base")
        fc = _funds_arg(counter, "counter")
        fn = _funds_arg(native, "native")
        if fb is None or fc is None:
            raise InvalidBookError("set_account needs the seller's funds of both assets")
        nsub = _common._int(subentries, "subentries")
        if nsub < 0 or nsub > 0xFFFFFFFF:
            raise InvalidBookError(f"subentries must be a uint32, got {nsub}")
        cdef sob_account acct
        cdef sob_trustline tb, tc
        memset(&acct, 0, sizeof(acct))
        _trustline_of(fb, "base", &tb)
        _trustline_of(fc, "counter", &tc)
        if self._base_id == 0:
            acct.balance, acct.buying_liabilities, acct.selling_liabilities = (
                tb.balance, tb.buying_liabilities, tb.selling_liabilities)
        elif self._counter_id == 0:
            acct.balance, acct.buying_liabilities, acct.selling_liabilities = (
                tc.balance, tc.buying_liabilities, tc.selling_liabilities)
        elif fn is not None:
            _funds_int(fn.balance, "native balance", &acct.balance)
            _funds_int(fn.buying_liabilities, "native buying_liabilities", &acct.buying_liabilities)
            _funds_int(fn.selling_liabilities, "native selling_liabilities", &acct.selling_liabilities)
        else:
            acct.balance = INT64_MAX
        acct.num_sub_entries = <uint32_t>nsub
        cdef uint64_t key = _account_key(who)
        for asset, aid in ((self.base, self._base_id), (self.counter, self._counter_id)):
            if aid != 0 and sob_accounts_set_issuer(&self._acc, aid, _account_key(asset.issuer)) != SOB_OK:
                raise MemoryError()
        if sob_accounts_set_account(&self._acc, key, &acct) != SOB_OK:
            raise InvalidBookError(f"invalid funds for {who}")
        if self._base_id != 0 and sob_accounts_set_trustline(&self._acc, key, self._base_id, &tb) != SOB_OK:
            raise InvalidBookError(f"invalid base funds for {who}")
        if self._counter_id != 0 and sob_accounts_set_trustline(&self._acc, key, self._counter_id, &tc) != SOB_OK:
            raise InvalidBookError(f"invalid counter funds for {who}")
        h = self._seller_ids.get(who)
        if h is not None:
            self._key_handle(who, <uint64_t>h)

    def remove_account(self, seller):
        """Forget what :meth:`set_account` told about ``seller`` (it is fully funded again)."""
        cdef str who = _account(seller, "seller")
        if who is None or who not in _ACCOUNT_KEYS:
            return
        cdef uint64_t key = _ACCOUNT_KEYS[who]
        sob_accounts_remove_account(&self._acc, key)
        sob_accounts_remove_trustline(&self._acc, key, self._base_id)
        sob_accounts_remove_trustline(&self._acc, key, self._counter_id)
        h = self._seller_ids.get(who)
        if h is not None:
            sob_offerbook_seller_set_account(&self._b, <uint64_t>h, 0)

    cdef int _ctx(self, sob_dex_ctx *ctx, uint32_t protocol, size_t mo) except -1:
        sob_dex_ctx_init(ctx)
        ctx.protocol = protocol
        ctx.max_offers_to_cross = <int64_t>mo if mo < <size_t>INT64_MAX else INT64_MAX
        ctx.flags = SOB_CTX_SKIP_CHANGES
        ctx.accounts = &self._acc if sob_accounts_count(&self._acc) else NULL
        return 0

    cdef object _convert(self, int side, int rounding, int64_t amt, uint64_t taker_key, size_t mo,
                         uint32_t protocol, const sob_pool *pool, sob_op_result *out):
        """sob_convert_hop over this book's side (and ``pool``): fills ``out``."""
        cdef sob_dex_ctx ctx
        cdef sob_hop_op op
        cdef sob_venue venue
        self._ctx(&ctx, protocol, mo)
        memset(&op, 0, sizeof(op))
        op.round = rounding
        op.send_asset = self._base_id if side == 0 else self._counter_id
        op.recv_asset = self._counter_id if side == 0 else self._base_id
        op.taker = taker_key
        op.amount = amt
        op.budget = ctx.max_offers_to_cross
        venue.book = &self._b
        venue.side = side
        venue.pool_a_is_send = 1 if side == 0 else 0
        venue.pool = pool
        cdef sob_status st = sob_convert_hop(&ctx, &op, &venue, self._dex, out)
        if st != SOB_OK:
            _raise(st, "hop")
        _check_thrown(out)
        return None

    # -- execution -----------------------------------------------------------------------------

    cdef sob_fill *_scratch(self, const sob_sim *p) except NULL:
        """The book's fill scratch, with room for the walk ``p``: at most one fill per offer of
        the side, whatever max_offers says, so the size never wraps."""
        cdef size_t bound = sob_offerbook_count(&self._b, p.side)
        cdef sob_fill *fills
        if p.max_offers < bound:
            bound = p.max_offers
        if bound == 0:
            bound = 1
        if bound > self._fills_cap:
            fills = <sob_fill *>realloc(self._fills, bound * sizeof(sob_fill))
            if fills == NULL:
                raise MemoryError()
            self._fills = fills
            self._fills_cap = bound
        return self._fills

    cdef bytes _walk(self, sob_sim *p, bint apply, int rounding, int64_t amt, int64_t cap, sob_sim_out *out):
        """convertWithOffers over one side (and, if ``apply`` and the operation succeeds, its
        fills applied to the book), all in C: no Python code runs between the walk and the
        change, so the fills applied are exactly the ones computed. The packed fills come back."""
        cdef sob_fill *fills = self._scratch(p)
        cdef bint ok
        cdef sob_status st = sob_offerbook_simulate(&self._b, p, fills, out)
        if st != SOB_OK:
            _raise(st, "simulate arguments")
        if apply and out.nfills and out.result != 4:  # 4: cross_self raises, nothing applied
            if rounding == 0:
                ok = out.result != 3  # too_many_offers: the operation fails
            elif rounding == 2:
                ok = out.result == 0 and out.received == amt and out.sent <= cap
            else:
                ok = out.result == 0 and out.sent == amt
            if ok:
                st = sob_offerbook_apply_fills(&self._b, fills, out.nfills)
                if st != SOB_OK:
                    _raise(st, "fills")
        raw = PyBytes_FromStringAndSize(<char *>fills, out.nfills * sizeof(sob_fill))
        self._forget_released()
        return raw

    cdef int _taker_handle(self, str taker, sob_sim *p) except -1:
        p.taker = 0
        if taker is not None:
            h = self._seller_ids.get(taker)
            if h is not None:
                p.taker = <uint64_t>h
        return 0

    cdef int _dex_walk(self, int ki, int side, int64_t amt, bint has_cap, int64_t cap, int32_t on, int32_t od,
                       bint passive, str who, size_t mo, uint32_t proto, sob_op_result *out) except -1:
        """The operation as the network applies it, in ONE walk of this book (csrc/dex.h): sell /
        buy (ManageSellOffer, ManageBuyOffer or CreatePassiveSellOffer with the price ``on/od``
        in the operation's own terms) or a one-hop path payment (``ki`` 2 / 3). With ``has_cap``
        (sell / buy) the taker's balance of what it sells is ``cap`` for this call. ``out``'s
        hops[0] and its claims are the walk; CoreWouldThrowError where core throws."""
        cdef sob_dex_ctx ctx
        cdef sob_manage_op op
        cdef sob_hop_op hop
        cdef sob_venue venue
        cdef sob_status st
        cdef uint64_t tkey = 0
        cdef uint64_t marked = 0
        sob_dex_ctx_init(&ctx)
        ctx.protocol = proto
        ctx.max_offers_to_cross = <int64_t>mo if mo < <size_t>INT64_MAX else INT64_MAX
        ctx.flags = SOB_CTX_SKIP_CHANGES
        ctx.accounts = &self._acc if self._acc.accounts.used else NULL
        venue.book = &self._b
        venue.side = side
        venue.pool_a_is_send = 0
        venue.pool = NULL
        if who is not None:
            tkey = _taker_key(who)
            marked = self._mark_taker(who, tkey)
        try:
            if ki >= 2:
                memset(&hop, 0, sizeof(hop))
                hop.round = ki - 1
                hop.send_asset = self._base_id if side == 0 else self._counter_id
                hop.recv_asset = self._counter_id if side == 0 else self._base_id
                hop.taker = tkey
                hop.amount = amt
                hop.budget = ctx.max_offers_to_cross
                st = sob_convert_hop(&ctx, &hop, &venue, self._dex, out)
            else:
                memset(&op, 0, sizeof(op))
                op.kind = (SOB_OP_CREATE_PASSIVE_SELL_OFFER if passive else SOB_OP_MANAGE_SELL_OFFER) if ki == 0 \
                    else SOB_OP_MANAGE_BUY_OFFER
                op.selling = self._base_id if side == 0 else self._counter_id
                op.buying = self._counter_id if side == 0 else self._base_id
                op.amount = amt
                op.n = on
                op.d = od
                op.source = tkey
                if has_cap:
                    st = self._manage_capped(&ctx, &op, &venue, cap, out)
                else:
                    st = sob_manage_offer(&ctx, &op, &venue, NULL, self._dex, out)
        finally:
            if marked:
                self._unmark_taker(marked)
        if st != SOB_OK:
            _raise(st, "operation")
        if out.code == SOB_R_CORE_WOULD_THROW:
            _check_thrown(out)
        return 0

    cdef sob_status _manage_capped(self, sob_dex_ctx *ctx, sob_manage_op *op, const sob_venue *venue, int64_t cap,
                                   sob_op_result *out) except *:
        """sob_manage_offer with the taker's balance of what it sells modelled as exactly ``cap``
        (plus the native reserve), for this call only: its entries are saved and restored."""
        cdef uint32_t sell_id = op.selling, buy_id = op.buying
        if op.source == 0:
            op.source = _SYNTH_TAKER
        cdef sob_account old_a, acct
        cdef sob_trustline old_s, old_b, tl
        cdef bint had_a = sob_accounts_get_account(&self._acc, op.source, &old_a) == SOB_OK
        cdef bint had_s = sell_id != 0 and sob_accounts_get_trustline(&self._acc, op.source, sell_id, &old_s) == SOB_OK
        cdef bint had_b = buy_id != 0 and sob_accounts_get_trustline(&self._acc, op.source, buy_id, &old_b) == SOB_OK
        cdef int64_t ntl = (sell_id != 0) + (buy_id != 0)
        cdef int64_t reserve = (2 + ntl + 1) * <int64_t>ctx.base_reserve
        memset(&acct, 0, sizeof(acct))
        acct.num_sub_entries = <uint32_t>ntl
        if sell_id == 0:
            acct.balance = cap + reserve if cap <= INT64_MAX - reserve else INT64_MAX
        else:
            acct.balance = reserve
        memset(&tl, 0, sizeof(tl))
        tl.limit = INT64_MAX
        tl.flags = SOB_TL_AUTHORIZED
        try:
            if sob_accounts_set_account(&self._acc, op.source, &acct) != SOB_OK:
                raise MemoryError()
            if buy_id != 0:
                tl.balance = 0
                if sob_accounts_set_trustline(&self._acc, op.source, buy_id, &tl) != SOB_OK:
                    raise MemoryError()
            if sell_id != 0:
                tl.balance = cap
                if sob_accounts_set_trustline(&self._acc, op.source, sell_id, &tl) != SOB_OK:
                    raise MemoryError()
            ctx.accounts = &self._acc
            return sob_manage_offer(ctx, op, venue, NULL, self._dex, out)
        finally:
            if had_a:
                sob_accounts_set_account(&self._acc, op.source, &old_a)
            else:
                sob_accounts_remove_account(&self._acc, op.source)
            if sell_id != 0:
                if had_s:
                    sob_accounts_set_trustline(&self._acc, op.source, sell_id, &old_s)
                else:
                    sob_accounts_remove_trustline(&self._acc, op.source, sell_id)
            if buy_id != 0:
                if had_b:
                    sob_accounts_set_trustline(&self._acc, op.source, buy_id, &old_b)
                else:
                    sob_accounts_remove_trustline(&self._acc, op.source, buy_id)

    def simulate(self, kind, amount, *, taker_sells="base", price_limit=None, passive=False, taker=None,
                 max_send=None, apply=False, max_offers=MAX_OFFERS_TO_CROSS, protocol=MAINNET_PROTOCOL):
        """What one taker operation would execute against this book, exactly as core does.

        Same arguments and result as the twin's OfferBook.simulate (which documents them). One
        walk of the book: the result code, the fills and the amounts all come from the operation
        core would apply (csrc/dex.h).
        """
        # every argument first, in the twin's order
        cdef int ki = _kind_of(kind)
        cdef int rounding = 0 if ki <= 1 else ki - 1
        cdef int64_t amt = _amount(amount)
        cdef int side = _taker_side(taker_sells)
        cdef int64_t cap = INT64_MAX if max_send is None else _amount(max_send, "max_send")
        cdef bint is_passive = passive
        cdef int32_t pn = 0, pd = 0, on = 1, od = 1
        cdef bint has_limit = False
        if rounding != 0:
            if price_limit is not None or is_passive:
                raise InvalidBookError("path payments carry no price limit (use max_send / the result)")
        elif price_limit is not None:
            pn, pd = _common._price_of(price_limit)
            has_limit = True
        if is_passive and (ki != 0 or not has_limit):
            raise InvalidBookError("passive is a CreatePassiveSellOffer: kind 'sell' with a price_limit")
        cdef str who = _account(taker, "taker")
        cdef size_t mo = _count(max_offers, "max_offers", <size_t>-1, False)
        cdef bint do_apply = apply
        cdef uint32_t proto = _protocol_fast(protocol)
        cdef sob_op_result dex
        cdef sob_sim p
        cdef sob_sim_out wout
        cdef const sob_hop *h
        cdef int64_t taker_offer = 0, sent = 0, received = 0
        cdef int walk_result
        cdef bint walked
        if ki == 2 and amt > cap:
            return _make_execution(b"", 0, 0, False, "underfunded", 0, _R_UNDERFUNDED,
                                  "PATH_PAYMENT_STRICT_SEND_UNDERFUNDED")
        if ki <= 1:
            if has_limit:
                on, od = pn, pd
            elif ki == 0:
                on, od = 1, INT32_MAX   # no limit: every offer is cheap enough (maxWheatPrice INT32_MAX/1)
            elif max_send is None:
                on, od = INT32_MAX, 1   # a buy's price is what it pays per unit bought
            else:
                # a buy with a budget and no limit: the operation needs a price for its selling
                # liabilities (UNDERFUNDED is checked against amount x price). The careful taker's
                # price: the worst offer a walk within the budget reaches (one walk more, only here).
                on, od = self._worst_price(side, amt, cap, mo)
        self._dex_walk(ki, side, amt, ki <= 1 and max_send is not None, cap, on, od, is_passive, who, mo, proto,
                       &dex)
        res, code = _result_of(dex.code)
        walked = dex.nhops != 0
        if walked:
            h = &dex.hops[0]
            raw = _claims_raw(dex.hop_claims + h.claims_start, h.claims_count)
            sent = h.book_send
            received = h.book_recv
            walk_result = _CONVERT_TO_SIM[h.book_result]
        else:
            # core stopped before crossing (UNDERFUNDED, LINE_FULL, LOW_RESERVE, ...): what a walk
            # within the same limits would have given is shown, the result says it fails
            raw = self._plain_walk(ki, side, amt, cap, has_limit, pn, pd, is_passive, mo, who, &p, &wout)
            sent = wout.sent
            received = wout.received
            walk_result = wout.result
        if walk_result == 4:
            raise CrossSelfError(f"the taker {who!r} would cross its own offer {self._next_id(side, len(raw) // 32)}")
        stop = _RESULTS[walk_result]
        if rounding == 0:
            complete = walk_result == 0 and res is _R_SUCCESS
            if (walk_result == 1 or walk_result == 2) and has_limit:
                # ManageOfferOpFrameBase: the taker's remainder rests, after adjustOffer
                if ki == 0:
                    taker_offer = sob_adjust_offer(pn, pd, (amt if amt < cap else cap) - sent, INT64_MAX)
                else:
                    taker_offer = sob_adjust_offer(pd, pn, cap - sent if max_send is not None else INT64_MAX,
                                                   amt - received)
        else:
            if res is _R_SUCCESS and rounding == 2 and sent > cap:
                res, code = _R_OVER_SENDMAX, "PATH_PAYMENT_STRICT_RECEIVE_OVER_SENDMAX"
                stop = "send_max"
            complete = res is _R_SUCCESS
        if do_apply and res is _R_SUCCESS:
            self._apply_raw(raw)
        return _make_execution(raw, sent, received, complete, stop, taker_offer, res, code)

    cdef tuple _worst_price(self, int side, int64_t amt, int64_t cap, size_t mo):
        """A buy of ``amt`` paying at most ``cap``: the price (selling per buying, as the
        operation states it) of the worst offer such a walk crosses (1/1 if none)."""
        cdef sob_sim p
        cdef sob_sim_out out
        cdef sob_offer o
        cdef int oside
        raw = self._plain_walk(1, side, amt, cap, False, 0, 0, False, mo, None, &p, &out)
        if out.nfills and sob_offerbook_get(&self._b, self._fills[out.nfills - 1].offer_id, &o, &oside) == SOB_OK:
            return o.n, o.d
        return 1, 1

    cdef bytes _plain_walk(self, int ki, int side, int64_t amt, int64_t cap, bint has_limit, int32_t pn, int32_t pd,
                           bint passive, size_t mo, str who, sob_sim *p, sob_sim_out *out):
        """The book walk alone (sellers fully funded), never applied: for operations core stops
        before crossing (the taker ``who``'s own offers stop it, as they would stop core's)."""
        p.side = side
        p.round = <sob_rounding>(0 if ki <= 1 else ki - 1)
        p.passive = passive
        p.has_limit = has_limit
        # maxWheatPrice = Price(mPrice.d, mPrice.n); manage_buy_offer's mPrice is the inverse
        p.limit_n = (pd if ki == 0 else pn) if has_limit else 1
        p.limit_d = (pn if ki == 0 else pd) if has_limit else 1
        if ki == 0:
            p.max_sheep_send = amt if amt < cap else cap
            p.max_wheat_receive = INT64_MAX
        elif ki == 1:
            p.max_sheep_send = cap
            p.max_wheat_receive = amt
        elif ki == 2:
            p.max_sheep_send = amt
            p.max_wheat_receive = INT64_MAX
        else:
            p.max_sheep_send = INT64_MAX
            p.max_wheat_receive = amt
        p.max_offers = mo
        self._taker_handle(who, p)
        return self._walk(p, False, 0, amt, cap, out)

    cdef int _apply_raw(self, bytes raw) except -1:
        cdef size_t k = <size_t>PyBytes_GET_SIZE(raw) // sizeof(sob_fill)
        cdef sob_status st
        if k:
            st = sob_offerbook_apply_fills(&self._b, <const sob_fill *>PyBytes_AS_STRING(raw), k)
            if st != SOB_OK:
                _raise(st, "fills")
            self._forget_released()
        return 0

    cdef object _hop(self, int side, int rounding, int64_t amt, int64_t cap, str taker, size_t mo, bint do_apply,
                     pool, pq, taker_sells, uint32_t proto, const sob_pool *cp, bint foreign=False,
                     pq_sent=None, pq_received=None):
        """quote_hop: core's conversion (result, venue, amounts) over this book and ``cp``, and
        the execution reported from the same conversion's book walk (sellers' funds included);
        with ``apply`` and SUCCESS the chosen venue changes."""
        cdef sob_sim p
        cdef sob_sim_out out
        cdef sob_op_result dex
        cdef sob_hop hop
        cdef sob_result dcode
        cdef sob_fill *fills
        cdef sob_status st
        cdef uint64_t tkey = _taker_key(taker)
        cdef uint64_t marked = self._mark_taker(taker, tkey)
        cdef int64_t bsent = 0, brecv = 0
        cdef size_t boffers = 0
        cdef int walk_result = 0
        thrown = False
        raw = None
        try:
            try:
                self._convert(side, rounding, amt, tkey, mo, proto, cp, &dex)
            except CoreWouldThrowError:
                thrown = True
            if not thrown and dex.nhops:
                hop = dex.hops[0]
                dcode = dex.code
                bsent, brecv, boffers = hop.book_send, hop.book_recv, hop.book_offers
                walk_result = _CONVERT_TO_SIM[hop.book_result]
                # the book walk of the same conversion, chosen or rolled back (the pool won, or
                # the work limit stopped the hop): core computed it either way
                if hop.book_claims_count == 0:
                    raw = b""
                elif hop.book_rolled_back:
                    raw = _claims_raw(dex.walk_claims + hop.book_claims_start, hop.book_claims_count)
                else:
                    raw = _claims_raw(dex.hop_claims + hop.book_claims_start, hop.book_claims_count)
        finally:
            self._unmark_taker(marked)
        if thrown or raw is None:
            # core throws: the plain walk's routing is reported as before, flagged CORE_WOULD_THROW
            p.side = side
            p.round = <sob_rounding>rounding
            p.max_sheep_send = amt if rounding == 1 else INT64_MAX
            p.max_wheat_receive = INT64_MAX if rounding == 1 else amt
            p.has_limit = 0
            p.limit_n = 1
            p.limit_d = 1
            p.passive = 0
            p.max_offers = mo
            self._taker_handle(taker, &p)
            fills = self._scratch(&p)
            st = sob_offerbook_simulate(&self._b, &p, fills, &out)
            if st != SOB_OK:
                _raise(st, "simulate arguments")
            result = _RESULTS[out.result]
            raw = PyBytes_FromStringAndSize(<char *>fills, out.nfills * sizeof(sob_fill))
            ex = _new_execution(raw, out.sent, out.received, out.result == 0, result, 0)
            venue = None
            if pq is None or (result == "filled" and pq_sent * out.received > pq_received * out.sent):
                venue = "book" if result == "filled" else None
                stop, sent, received = result, out.sent, out.received
                if venue == "book" and (out.sent != amt if rounding == 1 else out.received != amt):
                    venue, stop = None, "too_few_offers"
            elif out.nfills >= mo and proto >= 27:
                venue, stop, sent, received = None, "too_many_offers", 0, 0
            else:
                venue, stop, sent, received = "pool", "filled", pq_sent, pq_received
            if venue is not None and rounding == 2 and sent > cap:
                venue, stop = None, "send_max"
            return HopQuote(venue, sent, received, stop, ex, pq, Result.CORE_WOULD_THROW, "CORE_WOULD_THROW")
        result = _RESULTS[walk_result]
        ex = _new_execution(raw, bsent, brecv, walk_result == 0, result, 0)
        venue = None
        sent = received = 0
        res, code = _result_of(dcode)
        venue = "book" if hop.venue == SOB_VENUE_BOOK else ("pool" if hop.venue == SOB_VENUE_POOL else None)
        sent, received = hop.amount_send, hop.amount_recv
        if venue is None and sent == 0 and received == 0:
            sent, received = bsent, brecv
        prefix = "PATH_PAYMENT_STRICT_SEND_" if rounding == 1 else "PATH_PAYMENT_STRICT_RECEIVE_"
        if foreign and pq is not None:
            # a pool object without reserves (only strict_send / strict_receive): core's choice
            # made here with its quote, as the twin makes it
            if not (walk_result == 0 and pq_sent * brecv > pq_received * bsent):
                if boffers >= mo and proto >= 27:
                    res, code, venue, sent, received = (Result.EXCEEDED_WORK_LIMIT, "opEXCEEDED_WORK_LIMIT",
                                                        None, 0, 0)
                else:
                    res, code, venue, sent, received = Result.SUCCESS, prefix + "SUCCESS", "pool", pq_sent, pq_received
        if res is Result.SUCCESS and rounding == 2 and sent > cap:
            res, code = Result.OVER_SENDMAX, "PATH_PAYMENT_STRICT_RECEIVE_OVER_SENDMAX"
        if res is Result.SUCCESS:
            stop = "filled"
            if do_apply:
                if venue == "book":
                    self._apply_raw(raw)
                elif venue == "pool":
                    pool.apply(PoolQuote(sent, received), taker_sells=taker_sells)
        else:
            venue = None
            if result == "filled" or res in (Result.EXCEEDED_WORK_LIMIT, Result.OVER_SENDMAX, Result.CROSS_SELF):
                stop = _STOP_OF.get(res, result)
            else:
                stop = result
        return HopQuote(venue, sent, received, stop, ex, pq, res, code)

    def _next_id(self, int side, size_t index):
        offers = self._copy(side, index + 1)
        return offers[index].offer_id if index < <size_t>len(offers) else None


class LiquidityPool(_common.LiquidityPool):
    """A constant-product pool (CAP-0038) holding ``reserve_a`` and ``reserve_b`` stroops.

    With :func:`quote_hop`, ``a`` is the book's base and ``b`` its counter. Quotes are exact
    (core exchangeWithPool); None when core would not trade with the pool.

    >>> LiquidityPool(1000_0000000, 2000_0000000).strict_send(1_0000000)
    PoolQuote(sent=10000000, received=19920139)

    The class is the twin's (``offers/_common.py``: checks, reserves, ``apply``); this module only
    supplies core's pool math in C.
    """

    __slots__ = ()
    _strict_send = staticmethod(pool_strict_send)
    _strict_receive = staticmethod(pool_strict_receive)


def quote_hop(book, pool, kind, amount, *, taker_sells="base", taker=None, max_send=None,
              max_offers=MAX_OFFERS_TO_CROSS, apply=False, protocol=MAINNET_PROTOCOL):
    """One path-payment hop routed as core routes it (convertWithOffersAndPools).

    Core quotes the pool, then walks the whole book; it takes the book only if the book
    converts completely (``eOK``) and its price is strictly better
    (pool.sent * book.received > pool.received * book.sent), else the whole hop goes to the
    pool. Never split. ``kind`` is "strict_send" or "strict_receive"; the pool's ``a`` is the
    book's base. With ``apply`` the chosen venue is changed (only when the result is SUCCESS).

    ``result`` is what the network would answer for this hop (SUCCESS, TOO_FEW_OFFERS when the
    chosen book walk did not transfer the whole amount, CROSS_SELF, EXCEEDED_WORK_LIMIT when the
    walk crossed the budget and the pool would be chosen, from ``protocol`` 27; before 27 core
    uses the pool; OVER_SENDMAX / UNDERFUNDED against ``max_send``); ``venue`` is None unless it
    is SUCCESS. The sellers' funds of ``book.set_account`` are used. Result.CORE_WOULD_THROW where
    core throws.
    """
    cdef int ki = _kind_of(kind)
    if ki != 2 and ki != 3:
        raise InvalidBookError("quote_hop is for path payments: kind must be 'strict_send' or 'strict_receive'")
    cdef int rounding = ki - 1
    cdef int64_t amt = _amount(amount)
    cdef int side = _taker_side(taker_sells)
    cdef int64_t cap = INT64_MAX if max_send is None else _amount(max_send, "max_send")
    cdef str who = _account(taker, "taker")
    cdef size_t mo = _count(max_offers, "max_offers", <size_t>-1, False)
    cdef bint do_apply = apply
    cdef uint32_t proto = _protocol(protocol)
    cdef sob_pool cp
    cdef bint has_pool = False
    if book is not None and not isinstance(book, OfferBook):
        raise TypeError(f"book must be an OfferBook of this module or None, got {type(book).__name__}")
    if rounding == 1 and amt > cap:
        return HopQuote(None, 0, 0, "underfunded", None, None, Result.UNDERFUNDED,
                        "PATH_PAYMENT_STRICT_SEND_UNDERFUNDED")
    pq = None
    pq_sent = pq_received = None
    cdef bint foreign = False
    if pool is not None:
        # the pool's state read as exact ints now: nothing of the pool's runs after the walk
        memset(&cp, 0, sizeof(cp))
        if isinstance(pool, _common.LiquidityPool):
            cp.reserve_a = _common._reserve(pool.reserve_a)
            cp.reserve_b = _common._reserve(pool.reserve_b)
            fee = _common._int(pool.fee_bp, "fee_bp")
            cp.fee_bp = <int32_t>fee if -1 <= fee <= 10000 else 10000
            has_pool = True
        else:
            foreign = True
        if mo > 0:
            pq = pool.strict_send(amt, taker_sells=taker_sells) if rounding == 1 else pool.strict_receive(
                amt, taker_sells=taker_sells)
            if pq is not None:
                pq_sent = exact_int(pq.sent, "pool quote sent")
                pq_received = exact_int(pq.received, "pool quote received")
    if book is None:
        book = OfferBook.__new__(OfferBook)  # an empty book: the hop goes to the pool or nowhere
    return (<OfferBook>book)._hop(side, rounding, amt, cap, who, mo, do_apply, pool, pq, taker_sells, proto,
                                  &cp if has_pool else NULL, foreign, pq_sent, pq_received)


def simulate_path(kind, amount, path, books=(), pools=None, *, send_max=None, dest_min=None, taker=None,
                  max_offers=MAX_OFFERS_TO_CROSS, protocol=MAINNET_PROTOCOL):
    """A PathPaymentStrictSend / StrictReceive as the network would apply it (csrc/dex.h).

    ``path`` is ``[asset0, ..., assetN]``: asset0 is sent, assetN received, 0 to 5 assets between
    (1 to 6 hops). ``books``: OfferBooks (found by their two assets); ``pools``: a mapping
    ``{(asset_x, asset_y): LiquidityPool}`` whose ``reserve_a`` holds asset_x. Strict send sends
    exactly ``amount`` and needs at least ``dest_min`` (default 1) at the end; strict receive
    delivers exactly ``amount`` for at most ``send_max`` (default unlimited). Strict receive runs
    backwards from the destination, as core does. Each hop chooses book or pool as core does, the
    hops share one ``max_offers`` budget (1000 on the network), the taker's own offers stop with
    CROSS_SELF, and a book or pool crossed twice sees its own earlier effects. Sellers' funds set
    with ``set_account`` on the books are used. Nothing changes.

    Returns a :class:`~stellar_ob.PathResult`; CoreWouldThrowError where core throws.
    """
    cdef int ki = _kind_of(kind)
    if ki != 2 and ki != 3:
        raise InvalidBookError("simulate_path: kind must be 'strict_send' or 'strict_receive'")
    cdef int64_t amt = _amount(amount)
    cdef int64_t smax = INT64_MAX if send_max is None else _amount(send_max, "send_max")
    cdef int64_t dmin = 1 if dest_min is None else _amount(dest_min, "dest_min")
    cdef str who = _account(taker, "taker")
    cdef size_t mo = _count(max_offers, "max_offers", <size_t>-1, False)
    cdef uint32_t proto = _protocol_fast(protocol)
    cdef sob_path_op op
    cdef sob_venue venues[6]
    cdef sob_pool cpools[6]
    cdef PyObject *pool_objs[6]
    cdef sob_dex_ctx ctx
    cdef sob_op_result out
    cdef sob_accounts merged
    cdef OfferBook ob
    cdef OfferBook first = None
    cdef OfferBook funded = None
    cdef int npools = 0, nfunded = 0
    cdef Py_ssize_t i, j, k, nbooks
    cdef uint32_t x, y
    cdef const sob_hop *h
    cdef sob_status st
    cdef uint64_t marks[6]
    if isinstance(path, (str, bytes)) or not hasattr(path, "__iter__"):
        raise InvalidBookError("path must be a list of 2 to 7 assets")
    seq = path if type(path) is list or type(path) is tuple else list(path)
    if len(seq) > SOB_MAX_PATH + 3:
        seq = seq[:SOB_MAX_PATH + 3]
    parsed = [_path_asset_id(a) for a in seq]
    if not 2 <= len(parsed) <= SOB_MAX_PATH + 2:
        raise InvalidBookError(f"path must hold 2 to {SOB_MAX_PATH + 2} assets (0 to 5 between), got {len(parsed)}")
    memset(&op, 0, sizeof(op))
    memset(venues, 0, sizeof(venues))
    memset(cpools, 0, sizeof(cpools))
    op.kind = SOB_OP_PATH_PAYMENT_STRICT_SEND if ki == 2 else SOB_OP_PATH_PAYMENT_STRICT_RECEIVE
    op.nassets = len(parsed)
    assets = []
    for i in range(op.nassets):
        t = <tuple>parsed[i]
        assets.append(t[0])
        op.assets[i] = <uint32_t>t[1]
    # books: every one is checked; a pair's last book is the one used (as a dict keyed by pair)
    # a tuple of our own: nothing the caller's code does below (a pool's reserve_a) changes it
    blist = books if type(books) is tuple else (tuple(books) if books is not None else ())
    nbooks = len(blist)
    for i in range(nbooks):
        if not isinstance(blist[i], OfferBook):
            raise TypeError(f"books must be OfferBooks of this module, got {type(blist[i]).__name__}")
    # pools keyed by the assets' process-wide ids (an Asset hashes in Python)
    pool_map = None
    if pools is not None:
        pool_map = {}
        for key, pl in dict(pools).items():
            px, py = key
            pool_map[(_path_asset_id(px)[1], _path_asset_id(py)[1])] = pl
        if not pool_map:
            pool_map = None
    op.source = _taker_key(who)
    op.destination = 0
    op.send = amt if ki == 2 else smax
    op.dest = dmin if ki == 2 else amt
    hop_books = [None] * (op.nassets - 1)   # the book of each hop (references held here)
    for i in range(op.nassets - 1):
        x, y = op.assets[i], op.assets[i + 1]
        pool_objs[i] = NULL
        # the last book whose base is what the taker receives (its asks sell it), else the last
        # one the other way round (its bids), found in one pass
        other = None
        for j in range(nbooks - 1, -1, -1):
            ob = <OfferBook>blist[j]
            if ob._base_id == y and ob._counter_id == x:
                hop_books[i] = ob
                venues[i].side = 1
                break
            if other is None and ob._base_id == x and ob._counter_id == y:
                other = ob
        if hop_books[i] is None and other is not None:
            hop_books[i] = other
            venues[i].side = 0
        if hop_books[i] is not None:
            ob = hop_books[i]
            venues[i].book = &ob._b
            if first is None:
                first = ob
            if sob_accounts_count(&ob._acc):
                for j in range(i):
                    if hop_books[j] is ob:
                        break
                else:
                    nfunded += 1
                    funded = ob
        if pool_map is not None:
            pl = pool_map.get((x, y))
            a_is_send = 1
            if pl is None:
                pl = pool_map.get((y, x))
                a_is_send = 0
            if pl is not None:
                # a pool object given for two hops is one state: read once, one slot
                for k in range(i):
                    if pool_objs[k] == <PyObject *>pl:
                        venues[i].pool = venues[k].pool
                        break
                else:
                    cpools[npools].reserve_a = _common._reserve(pl.reserve_a)
                    cpools[npools].reserve_b = _common._reserve(pl.reserve_b)
                    fee = _common._int(pl.fee_bp, "fee_bp")
                    cpools[npools].fee_bp = <int32_t>fee if -1 <= fee <= 10000 else 10000
                    venues[i].pool = &cpools[npools]
                    npools += 1
                pool_objs[i] = <PyObject *>pl
                venues[i].pool_a_is_send = a_is_send
    if first is None:
        first = OfferBook.__new__(OfferBook)
    sob_dex_ctx_init(&ctx)
    ctx.protocol = proto
    ctx.max_offers_to_cross = <int64_t>mo if mo < <size_t>INT64_MAX else INT64_MAX
    ctx.flags = SOB_CTX_SKIP_CHANGES
    ctx.accounts = NULL
    sob_accounts_init(&merged)
    memset(marks, 0, sizeof(marks))
    try:
        if nfunded == 1:
            ctx.accounts = &funded._acc
        elif nfunded > 1:
            for i in range(op.nassets - 1):
                ob = hop_books[i]
                if ob is not None and sob_accounts_count(&ob._acc):
                    for j in range(i):
                        if hop_books[j] is ob:
                            break
                    else:
                        _merge_accounts(&merged, &ob._acc)
            ctx.accounts = &merged
        if who is not None:
            # the taker's own offers stop the walk (CROSS_SELF): its handle carries its key for
            # this call, in each book on the path (once per book)
            for i in range(op.nassets - 1):
                ob = hop_books[i]
                if ob is not None:
                    for j in range(i):
                        if hop_books[j] is ob:
                            break
                    else:
                        marks[i] = ob._mark_taker(who, op.source)
        st = sob_path_payment(&ctx, &op, venues, first._dex, &out)
        if st != SOB_OK:
            _raise(st, "path payment")
        _check_thrown(&out)
        res, code = _result_of(out.code)
        hops = PyTuple_New(<Py_ssize_t>out.nhops)
        for i in range(<Py_ssize_t>out.nhops):
            h = &out.hops[i]
            venue = "book" if h.venue == SOB_VENUE_BOOK else ("pool" if h.venue == SOB_VENUE_POOL else None)
            raw = _claims_raw(out.hop_claims + h.claims_start, h.claims_count) if h.claims_count else b""
            hop = _make_fast(_PATH_HOP, _PATH_HOP_FIELDS, _HOP_OFFSETS, _NHOP_SLOTS, (
                _asset_of(h.send_asset, assets, op.assets, op.nassets),
                _asset_of(h.recv_asset, assets, op.assets, op.nassets), venue,
                h.amount_send, h.amount_recv, h.book_send, h.book_recv,
                h.pool_send if h.pool_quoted else None, h.pool_recv if h.pool_quoted else None,
                h.book_offers, raw))
            Py_INCREF(hop)
            PyTuple_SET_ITEM(hops, i, hop)
        return _make_fast(_PATH_RESULT, _PATH_RESULT_FIELDS, _RESULT_OFFSETS, _NRESULT_SLOTS,
                          (res, code, out.sent, out.received, hops))
    finally:
        for i in range(op.nassets - 1):
            if marks[i]:
                (<OfferBook>hop_books[i])._unmark_taker(marks[i])
        sob_accounts_free(&merged)


cdef object _asset_of(uint32_t aid, list assets, const uint32_t *ids, uint32_t n):
    cdef uint32_t i
    for i in range(n):
        if ids[i] == aid:
            return assets[i]
    return None
