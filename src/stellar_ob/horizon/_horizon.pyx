# cython: language_level=3
"""Typed Horizon records from the C scanner (csrc/horizon_json.h).

Same functions and results as stellar_ob.horizon._pure (the twin, which states the rules in plain
Python); the public entry points are in stellar_ob.horizon.
"""

from cpython.buffer cimport PyObject_GetBuffer, PyBuffer_Release, PyBUF_SIMPLE, PyBUF_C_CONTIGUOUS, PyBUF_WRITABLE
from cpython.bytes cimport PyBytes_AS_STRING, PyBytes_GET_SIZE
from cpython.object cimport PyObject_GenericSetAttr
from cpython.unicode cimport PyUnicode_AsUTF8AndSize, PyUnicode_DecodeASCII, PyUnicode_DecodeUTF8
from libc.stdint cimport int32_t, int64_t, uint16_t, uint32_t, uint64_t
from libc.stdlib cimport malloc
from libc.string cimport memcpy, strcmp, strlen

from stellar_ob.book._book cimport Price, Level
from stellar_ob._c.horizon_json cimport *
from stellar_ob._c.sob_common cimport *

from ..assets import Asset
from ..errors import ParseError
from ._json import _asset_of
from ._records import LiquidityPoolRecord, Offer, OffersTable, OrderBookDoc, Trade, offer_dtype

IMPLEMENTATION = "c"

include "_c/glue.pxi"


# ---------------------------------------------------------------------------------------------
# Input (_input), statuses (_raise), assets and this call's scratch (_presize): _c/glue.pxi

cdef inline Price _price(int32_t n, int32_t d):
    cdef Price p = Price.__new__(Price)
    p.n = n
    p.d = d
    return p


cdef inline str _ascii(const char *s):
    return PyUnicode_DecodeASCII(s, strlen(s), NULL)


cdef inline object _opt_ascii(const char *s):
    return PyUnicode_DecodeASCII(s, strlen(s), NULL) if s[0] else None


# Recently seen assets: a page or a book mentions a handful, and an Asset costs a StrKey check
# the first time (the twin's _asset_of cache holds every asset seen once validated).
cdef enum:
    _ACACHE = 16
cdef sob_asset _acache[_ACACHE]
cdef list _aobjs = [None] * _ACACHE
cdef int _anext = 0


cdef object _asset(const sob_asset *a):
    global _anext
    cdef int i
    for i in range(_ACACHE):
        if _aobjs[i] is not None and _asset_eq(&_acache[i], a):
            return _aobjs[i]
    obj = Asset.native() if a.type == SOB_ASSET_NATIVE else _asset_of(_ascii(a.code), _ascii(a.issuer))
    i = _anext
    _anext = (_anext + 1) % _ACACHE
    _aobjs[i] = None  # the slot is empty while its key changes: a lookup never pairs them wrongly
    _acache[i] = a[0]
    _aobjs[i] = obj
    return obj


# ---------------------------------------------------------------------------------------------
# The record vectors belong to one call: nothing is shared between calls or threads, so building
# the results (which runs Python code: another thread, a finalizer may parse meanwhile) is safe.

def parse_order_book(data):
    """A Horizon /order_book body as an OrderBookDoc (levels in document order, price_r as sent)."""
    cdef sob_order_book_doc doc
    sob_order_book_doc_init(&doc)
    try:
        _scan_book(data, &doc)
        return OrderBookDoc(_asset(&doc.base), _asset(&doc.counter), _levels(&doc.bids), _levels(&doc.asks))
    finally:
        sob_order_book_doc_free(&doc)


cdef int _scan_book(object data, sob_order_book_doc *doc) except -1:
    cdef _Input inp
    cdef Py_buffer view
    cdef sob_parse_error err
    owner = _input(data, &inp, &view)
    _presize(<void **>&doc.bids.v, &doc.bids.cap, <size_t>inp.len // 38 + 1, sizeof(sob_level))
    _presize(<void **>&doc.asks.v, &doc.asks.cap, <size_t>inp.len // 38 + 1, sizeof(sob_level))
    cdef sob_status st = sob_parse_order_book(inp.buf, inp.len, doc, &err)
    _input_release(&inp, &view)
    if st != SOB_OK:
        _raise(st, "order book", &err)
    return 0


cdef list _levels(const sob_levels *v):
    cdef list out = []
    cdef size_t i
    cdef Level lv
    for i in range(v.len):
        lv = Level.__new__(Level)
        lv.price = _price(v.v[i].n, v.v[i].d)
        lv.amount = v.v[i].amount
        out.append(lv)
    return out


# -- /offers

cdef int _scan_offers(object data, sob_offers *o) except -1:
    cdef _Input inp
    cdef Py_buffer view
    cdef sob_parse_error err
    owner = _input(data, &inp, &view)
    _presize(<void **>&o.v, &o.cap, <size_t>inp.len // 160 + 1, sizeof(sob_offer_rec))
    cdef sob_status st = sob_parse_offers(inp.buf, inp.len, o, &err)
    _input_release(&inp, &view)
    if st != SOB_OK:
        _raise(st, "offers document", &err)
    return 0


def parse_offers(data):
    """The records of a /offers page (or one /offers/{id} record) as Offer objects."""
    cdef sob_offers o
    sob_offers_init(&o)
    try:
        _scan_offers(data, &o)
        return _offer_list(&o)
    finally:
        sob_offers_free(&o)


# The records are frozen dataclasses; their generated __init__ costs more than scanning the
# record, so they are filled the way that __init__ does (object.__setattr__ on each slot).
cdef object _new_object = object.__new__


cdef list _offer_list(const sob_offers *o):
    cdef list out = []
    cdef size_t i
    cdef const sob_offer_rec *r
    for i in range(o.len):
        r = &o.v[i]
        rec = _new_object(Offer)
        PyObject_GenericSetAttr(rec, "id", r.id)
        PyObject_GenericSetAttr(rec, "seller", _ascii(r.seller))
        PyObject_GenericSetAttr(rec, "selling", _asset(&r.selling))
        PyObject_GenericSetAttr(rec, "buying", _asset(&r.buying))
        PyObject_GenericSetAttr(rec, "amount", r.amount)
        PyObject_GenericSetAttr(rec, "price", _price(r.n, r.d))
        PyObject_GenericSetAttr(rec, "last_modified_ledger", r.last_modified_ledger)
        out.append(rec)
    return out


# One row of OffersTable.array (offer_dtype(): 88 bytes, no padding).
cdef packed struct _offer_row:
    int64_t id
    int64_t amount
    int32_t n
    int32_t d
    uint32_t last_modified_ledger
    uint16_t selling
    uint16_t buying
    char seller[56]


def parse_offers_table(data):
    """The records of a /offers page as one numpy structured array (OffersTable): no Python
    object per record."""
    cdef sob_offers o
    sob_offers_init(&o)
    try:
        _scan_offers(data, &o)
        return _offer_table(&o)
    finally:
        sob_offers_free(&o)


cdef object _offer_table(const sob_offers *o):
    import numpy as np
    arr = np.empty(o.len, dtype=offer_dtype())
    cdef list seen = []          # distinct assets, in order of first appearance
    cdef Py_buffer view
    cdef _offer_row *row
    cdef const sob_offer_rec *r
    cdef size_t i
    if o.len == 0:
        return OffersTable(arr, ())
    PyObject_GetBuffer(arr, &view, PyBUF_WRITABLE)
    try:
        row = <_offer_row *>view.buf
        for i in range(o.len):
            r = &o.v[i]
            row[i].id = r.id
            row[i].amount = <int64_t>r.amount
            row[i].n = r.n
            row[i].d = r.d
            row[i].last_modified_ledger = r.last_modified_ledger
            row[i].selling = _asset_index(&r.selling, seen)
            row[i].buying = _asset_index(&r.buying, seen)
            memcpy(row[i].seller, r.seller, 56)
    finally:
        PyBuffer_Release(&view)
    return OffersTable(arr, tuple(seen))


cdef uint16_t _asset_index(const sob_asset *a, list seen) except? 0xFFFF:
    obj = _asset(a)
    cdef Py_ssize_t i
    for i in range(len(seen)):
        if seen[i] is obj:
            return <uint16_t>i
    for i in range(len(seen)):
        if seen[i] == obj:  # evicted from the recent-asset cache and made again
            return <uint16_t>i
    if len(seen) >= 0xFFFF:
        raise ParseError("more than 65535 distinct assets in one page")
    seen.append(obj)
    return <uint16_t>(len(seen) - 1)


# -- /trades

def parse_trades(data):
    """The records of a /trades page, or one trade (e.g. the data: of a /trades stream event)."""
    cdef sob_trades t
    cdef _Input inp
    cdef Py_buffer view
    cdef sob_parse_error err
    cdef sob_status st
    cdef size_t i
    sob_trades_init(&t)
    try:
        owner = _input(data, &inp, &view)
        _presize(<void **>&t.v, &t.cap, <size_t>inp.len // 200 + 1, sizeof(sob_trade_rec))
        st = sob_parse_trades(inp.buf, inp.len, &t, &err)
        _input_release(&inp, &view)
        if st != SOB_OK:
            _raise(st, "trades document", &err)
        return [_trade(&t.v[i]) for i in range(t.len)]
    finally:
        sob_trades_free(&t)


cdef object _trade(const sob_trade_rec *r):
    rec = _new_object(Trade)
    PyObject_GenericSetAttr(rec, "id", PyUnicode_DecodeUTF8(r.id, strlen(r.id), NULL))
    PyObject_GenericSetAttr(rec, "paging_token", PyUnicode_DecodeUTF8(r.paging_token, strlen(r.paging_token), NULL))
    PyObject_GenericSetAttr(rec, "ledger_close_time", r.ledger_close_time)
    PyObject_GenericSetAttr(rec, "trade_type",
                            "liquidity_pool" if r.trade_type == SOB_TRADE_LIQUIDITY_POOL else "orderbook")
    PyObject_GenericSetAttr(rec, "liquidity_pool_fee_bp", r.lp_fee_bp if r.lp_fee_bp >= 0 else None)
    PyObject_GenericSetAttr(rec, "base_offer_id", r.base_offer_id if r.base_offer_id else None)
    PyObject_GenericSetAttr(rec, "base_account", _opt_ascii(r.base_account))
    PyObject_GenericSetAttr(rec, "base_liquidity_pool_id", _opt_ascii(r.base_liquidity_pool_id))
    PyObject_GenericSetAttr(rec, "base_asset", _asset(&r.base_asset))
    PyObject_GenericSetAttr(rec, "base_amount", r.base_amount)
    PyObject_GenericSetAttr(rec, "counter_offer_id", r.counter_offer_id if r.counter_offer_id else None)
    PyObject_GenericSetAttr(rec, "counter_account", _opt_ascii(r.counter_account))
    PyObject_GenericSetAttr(rec, "counter_liquidity_pool_id", _opt_ascii(r.counter_liquidity_pool_id))
    PyObject_GenericSetAttr(rec, "counter_asset", _asset(&r.counter_asset))
    PyObject_GenericSetAttr(rec, "counter_amount", r.counter_amount)
    PyObject_GenericSetAttr(rec, "base_is_seller", True if r.base_is_seller else False)
    PyObject_GenericSetAttr(rec, "price", (r.price_n, r.price_d))
    return rec


# -- /liquidity_pools

def parse_liquidity_pools(data):
    """The records of a /liquidity_pools page, or one /liquidity_pools/{id} record."""
    cdef sob_pools p
    cdef _Input inp
    cdef Py_buffer view
    cdef sob_parse_error err
    cdef sob_status st
    cdef const sob_pool_rec *r
    cdef size_t i
    sob_pools_init(&p)
    try:
        owner = _input(data, &inp, &view)
        st = sob_parse_liquidity_pools(inp.buf, inp.len, &p, &err)
        _input_release(&inp, &view)
        if st != SOB_OK:
            _raise(st, "liquidity pools document", &err)
        out = []
        for i in range(p.len):
            r = &p.v[i]
            out.append(LiquidityPoolRecord(
                _ascii(r.id), r.fee_bp, r.total_shares, r.total_trustlines,
                ((_asset(&r.reserve_asset[0]), r.reserve_amount[0]),
                 (_asset(&r.reserve_asset[1]), r.reserve_amount[1]))))
        return out
    finally:
        sob_pools_free(&p)
