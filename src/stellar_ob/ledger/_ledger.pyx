# cython: language_level=3
"""Compiled binding of the ledger decoder (csrc/ledger/ledger.h) and the whole-DEX book
(csrc/ledger/dexbook.h). The public API is in stellar_ob.ledger (decode, LedgerReader, DexBook).

Inputs are copied into an immutable bytes object once (bytes is used as is), so nothing a caller
does to its buffer afterwards can change what is being read. Every C status maps to one
exception of stellar_ob.errors (glue.pxi's _raise, the border every binding shares); a failed
call leaves nothing half-built.
"""
from libc.stdint cimport int32_t, int64_t, uint8_t, uint32_t, uint64_t
from libc.stdlib cimport malloc, free
from libc.string cimport memset, memcpy
from cpython.bytes cimport PyBytes_FromStringAndSize, PyBytes_AS_STRING, PyBytes_GET_SIZE

from stellar_ob._c.sob_common cimport *
from stellar_ob._c.book cimport sob_side
from stellar_ob._c.offerbook cimport sob_offer, sob_offerbook_count, sob_offerbook_copy
from stellar_ob._c.ledger cimport *
from stellar_ob._c.accounts cimport (
    sob_account, sob_accounts, sob_accounts_count, sob_accounts_get_account, sob_accounts_get_trustline,
    sob_accounts_trustline_count, sob_trustline,
)
from stellar_ob._c.dexbook cimport *
from stellar_ob.book._book cimport BookDiff, OrderBook

from ..errors import ArgumentError, ParseError, InvalidBookError, LedgerGapError, BrokenDexBookError
from .records import (LedgerAsset, OfferEntry, PoolEntry, TrustLineEntry, AccountEntry, Change, Trade, Tx,
                      Header, Ledger, NATIVE)

FORM_META = SOB_LEDGER_FORM_META
FORM_BATCH = SOB_LEDGER_FORM_BATCH
FORM_STREAM = SOB_LEDGER_FORM_STREAM


include "_c/glue.pxi"

cdef extern from "dexbook.h":
    void sob_dexbook_release_heap()


cdef int _fail(sob_status st, const sob_ledger_error *err, str what) except -1:
    """A decoder or DexBook status as the package's exception: glue's _raise with the decoder's
    reason and offset. SOB_E_LIMIT from a DexBook means it is broken (dexbook.h)."""
    if st == SOB_E_LIMIT:
        raise BrokenDexBookError(f"{what}: {(<bytes>err.reason).decode() if err.reason != NULL else 'broken'}")
    return _raise(st, what, NULL, err.reason, <Py_ssize_t>err.offset)


cdef bytes _raw(object data):
    """Raw XDR bytes of an input: bytes as is; any other buffer copied (read in order by glue's
    _input); str is base64 text."""
    cdef sob_ledger_error err
    cdef size_t out_len = 0
    cdef bytes text, out
    cdef sob_status st
    cdef _Input inp
    cdef Py_buffer view
    if type(data) is bytes:
        return <bytes>data
    if isinstance(data, str):
        s = str.__str__(data)
        if not s.isascii():
            for i, ch in enumerate(s):
                if ord(ch) > 127:
                    raise ParseError("base64: not ASCII text", i)
        text = s.encode("ascii")
        out = PyBytes_FromStringAndSize(NULL, sob_base64_max_decoded(<size_t>PyBytes_GET_SIZE(text)) or 1)
        st = sob_base64_decode(PyBytes_AS_STRING(text), <size_t>PyBytes_GET_SIZE(text),
                               <uint8_t *>PyBytes_AS_STRING(out), &out_len, &err)
        if st != SOB_OK:
            _fail(st, &err, "base64")
        return out[:out_len]
    if not isinstance(data, (bytes, bytearray, memoryview)):
        raise TypeError(f"expected bytes, bytearray, memoryview or base64 str, got {type(data).__name__}")
    owner = _input(data, &inp, &view)
    try:
        return PyBytes_FromStringAndSize(inp.buf, inp.len)
    finally:
        _input_release(&inp, &view)


# ---- records --------------------------------------------------------------------------------------

# Records are named tuples built with tuple.__new__ (every field given): a C call, not the
# Python-level __new__ of namedtuple, which is most of the cost of a ledger's thousands of records.
_tuple_new = tuple.__new__


cdef inline object _mk(object cls, tuple values):
    return _tuple_new(cls, values)


cdef object _asset(const sob_ledger_asset *a):
    if a.type == 0:
        return NATIVE
    return _mk(LedgerAsset, (a.type, (<const char *>a.code)[:12], (<const char *>a.issuer)[:32]))


cdef object _key(const uint8_t *k):
    return (<const char *>k)[:32]


cdef object _change(const sob_ledger_change *c):
    cdef object e
    cdef const sob_ledger_offer *o
    cdef const sob_ledger_pool *p
    cdef const sob_ledger_trustline *t
    cdef const sob_ledger_account *a
    if c.entry_type == SOB_ENTRY_OFFER:
        o = &c.u.offer
        if c.key_only:
            e = _mk(OfferEntry, (_key(o.seller), o.offer_id, NATIVE, NATIVE, 0, 0, 0, 0))
        else:
            e = _mk(OfferEntry, (_key(o.seller), o.offer_id, _asset(&o.selling), _asset(&o.buying), o.amount, o.n,
                                 o.d, o.flags))
    elif c.entry_type == SOB_ENTRY_LIQUIDITY_POOL:
        p = &c.u.pool
        if c.key_only:
            e = _mk(PoolEntry, (_key(p.pool_id), NATIVE, NATIVE, 0, 0, 0, 0, 0))
        else:
            e = _mk(PoolEntry, (_key(p.pool_id), _asset(&p.asset_a), _asset(&p.asset_b), p.fee_bp, p.reserve_a,
                                p.reserve_b, p.total_shares, p.trustline_count))
    elif c.entry_type == SOB_ENTRY_TRUSTLINE:
        t = &c.u.trustline
        if c.key_only:
            e = _mk(TrustLineEntry, (_key(t.account), _asset(&t.asset), 0, 0, 0, 0, 0, 0))
        else:
            e = _mk(TrustLineEntry, (_key(t.account), _asset(&t.asset), t.balance, t.limit, t.flags, t.pool_use_count,
                                     t.buying_liabilities, t.selling_liabilities))
    else:
        a = &c.u.account
        if c.key_only:
            e = _mk(AccountEntry, (_key(a.account), 0, 0, 0, 0, 0, 0, 0, 0))
        else:
            e = _mk(AccountEntry, (_key(a.account), a.balance, a.seq_num, a.num_sub_entries, a.flags,
                                   a.buying_liabilities, a.selling_liabilities, a.num_sponsored, a.num_sponsoring))
    return _mk(Change, (c.change, c.entry_type, c.phase, c.key_only, c.tx_index, c.op_index, c.last_modified, e,
                        (<const char *>c.sponsor)[:32] if c.has_sponsor else None))


cdef object _trade(const sob_ledger_trade *t):
    return _mk(Trade, (t.tx_index, t.op_index, t.op_type, t.claim_type, _key(t.seller), t.offer_id,
                       _asset(&t.asset_sold), t.amount_sold, _asset(&t.asset_bought), t.amount_bought,
                       t.claim_index))


cdef object _tx(const sob_ledger_tx *t):
    return _mk(Tx, (_key(t.hash), t.fee_charged, t.result_code, t.inner_result_code, t.successful, t.op_count))


cdef enum:
    _K_CHANGE = 0
    _K_TRADE = 1
    _K_TX = 2


cdef class Records:
    """The records of one decoded ledger (its changes, trades or transactions), built on access.

    A read-only sequence (``collections.abc.Sequence``) over a private copy of the decoder's C
    records: ``len``, indexing (a slice gives a list), iteration, ``in``, ``index``, ``count``, and
    ``==`` with any sequence of the same records (a list included). The typed record
    (:class:`~stellar_ob.ledger.records.Change`, ``Trade`` or ``Tx``) of position i is built the
    first time it is read and kept, so reading every record costs what building them eagerly did,
    and a caller that reads a few (or only ``len``) pays for those only. Exact: the records hold
    the same values, field for field, as an eager decode.
    """
    cdef bytes _buf
    cdef Py_ssize_t _n
    cdef int _kind
    cdef list _cache

    def __cinit__(self):
        self._n = 0
        self._kind = _K_CHANGE
        self._cache = None
        self._buf = b""

    def __init__(self, *args, **kwargs):
        raise TypeError("Records are made by the decoder")

    cdef object _build(self, Py_ssize_t i):
        cdef const char *base = PyBytes_AS_STRING(self._buf)
        cdef object r
        if self._kind == _K_CHANGE:
            r = _change(&(<const sob_ledger_change *>base)[i])
        elif self._kind == _K_TRADE:
            r = _trade(&(<const sob_ledger_trade *>base)[i])
        else:
            r = _tx(&(<const sob_ledger_tx *>base)[i])
        self._cache[i] = r
        return r

    cdef inline object _at(self, Py_ssize_t i):
        r = self._cache[i]
        if r is None:
            return self._build(i)
        return r

    def __len__(self):
        return self._n

    def __getitem__(self, index):
        cdef Py_ssize_t i
        if isinstance(index, slice):
            return [self._at(i) for i in range(*index.indices(self._n))]
        i = index  # TypeError for a non-integer, as a list gives
        if i < 0:
            i += self._n
        if i < 0 or i >= self._n:
            raise IndexError("record index out of range")
        return self._at(i)

    def __iter__(self):
        cdef Py_ssize_t i
        for i in range(self._n):
            yield self._at(i)

    def __reversed__(self):
        cdef Py_ssize_t i
        for i in range(self._n - 1, -1, -1):
            yield self._at(i)

    def __contains__(self, value):
        cdef Py_ssize_t i
        for i in range(self._n):
            if self._at(i) == value:
                return True
        return False

    def index(self, value, Py_ssize_t start=0, stop=None):
        cdef Py_ssize_t i, end = self._n if stop is None else min(<Py_ssize_t>stop, self._n)
        if start < 0:
            start = max(start + self._n, 0)
        for i in range(start, end):
            if self._at(i) == value:
                return i
        raise ValueError(f"{value!r} is not in the records")

    def count(self, value):
        cdef Py_ssize_t i, k = 0
        for i in range(self._n):
            k += self._at(i) == value
        return k

    def tolist(self):
        """Every record, as a list."""
        return [self._at(i) for i in range(self._n)]

    def of_type(self, *entry_types):
        """The changes of the given entry types (``ENTRY_OFFER``, ``ENTRY_LIQUIDITY_POOL``, ...), in
        order, as a list: selected on the C records, so only those records are built. Changes
        only (TypeError for trades and transactions)."""
        cdef Py_ssize_t i
        cdef const sob_ledger_change *c
        cdef unsigned int mask = 0
        if self._kind != _K_CHANGE:
            raise TypeError("of_type selects entry changes")
        for t in entry_types:
            if type(t) is not int or not 0 <= t < 32:
                raise ArgumentError(f"not an entry type: {t!r}")
            mask |= 1u << <int>t
        c = <const sob_ledger_change *>PyBytes_AS_STRING(self._buf)
        return [self._at(i) for i in range(self._n) if (mask >> c[i].entry_type) & 1]

    def __eq__(self, other):
        if other is self:
            return True
        if not isinstance(other, (list, tuple, Records)):
            return NotImplemented
        if len(other) != self._n:
            return False
        return all(self._at(i) == other[i] for i in range(self._n))

    def __ne__(self, other):
        r = self.__eq__(other)
        return r if r is NotImplemented else not r

    __hash__ = None

    def __repr__(self):
        return repr(self.tolist())

    def __reduce__(self):
        return (list, (self.tolist(),))


cdef Records _records(const void *src, size_t n, size_t size, int kind):
    cdef Records r = Records.__new__(Records)
    r._buf = PyBytes_FromStringAndSize(<const char *>src, <Py_ssize_t>(n * size)) if n else b""
    r._n = <Py_ssize_t>n
    r._kind = kind
    r._cache = [None] * <Py_ssize_t>n
    return r


import collections.abc as _abc
_abc.Sequence.register(Records)


cdef object _ledger(const sob_ledger_out *out, bint with_header):
    cdef const sob_ledger_header *h = &out.header
    header = None
    if with_header:
        header = _mk(Header, (h.meta_version, h.ledger_seq, h.protocol_version, h.close_time, h.base_fee,
                              h.base_reserve, h.max_tx_set_size, h.total_coins, h.fee_pool, _key(h.hash),
                              _key(h.previous_hash), h.tx_count, h.upgrade_count, h.meta_offset, h.meta_size))
    txs = _records(out.txs, out.n_txs, sizeof(sob_ledger_tx), _K_TX)
    changes = _records(out.changes, out.n_changes, sizeof(sob_ledger_change), _K_CHANGE)
    trades = _records(out.trades, out.n_trades, sizeof(sob_ledger_trade), _K_TRADE)
    return _mk(Ledger, (header, txs, changes, trades))


def decode(data):
    """Decode one LedgerCloseMeta: raw XDR (bytes-like) or base64 text (getLedgers' metadataXdr)."""
    cdef bytes raw = _raw(data)
    cdef sob_ledger_out out
    cdef sob_ledger_error err
    sob_ledger_out_init(&out)
    try:
        st = sob_ledger_decode(<const uint8_t *>PyBytes_AS_STRING(raw), <size_t>PyBytes_GET_SIZE(raw), &out, &err)
        if st != SOB_OK:
            _fail(st, &err, "LedgerCloseMeta")
        return _ledger(&out, True)
    finally:
        sob_ledger_out_free(&out)


def decode_changes(data):
    """Decode a bare LedgerEntryChanges array into a list of Change records."""
    cdef bytes raw = _raw(data)
    cdef sob_ledger_out out
    cdef sob_ledger_error err
    sob_ledger_out_init(&out)
    try:
        st = sob_ledger_decode_changes(<const uint8_t *>PyBytes_AS_STRING(raw), <size_t>PyBytes_GET_SIZE(raw), &out,
                                       &err)
        if st != SOB_OK:
            _fail(st, &err, "LedgerEntryChanges")
        return _ledger(&out, False).changes.tolist()
    finally:
        sob_ledger_out_free(&out)


cdef class LedgerReader:
    """The ledgers of a LedgerCloseMetaBatch (a data-lake file, decompressed), of an XDR
    record-marked stream, or of one raw LedgerCloseMeta, in order. Iterating yields Ledger records;
    a DexBook applies the reader's ledgers without building them (DexBook.apply_reader).

    Strict: a malformed ledger raises ParseError (offset in the input) and the reader stays failed;
    the ledgers before it were complete.
    """
    cdef bytes _data
    cdef sob_ledger_reader _r
    cdef sob_ledger_out _out
    cdef bint _current
    cdef int _form
    cdef bint _meta_done

    def __cinit__(self):
        sob_ledger_out_init(&self._out)

    def __dealloc__(self):
        sob_ledger_out_free(&self._out)

    def __init__(self, data, int form=SOB_LEDGER_FORM_BATCH):
        cdef sob_ledger_error err
        if form not in (SOB_LEDGER_FORM_META, SOB_LEDGER_FORM_BATCH, SOB_LEDGER_FORM_STREAM):
            raise ArgumentError(f"unknown form {form!r}")
        self._data = _raw(data)
        self._form = form
        self._current = False
        self._meta_done = False
        if form != SOB_LEDGER_FORM_META:
            st = sob_ledger_reader_init(&self._r, <const uint8_t *>PyBytes_AS_STRING(self._data),
                                        <size_t>PyBytes_GET_SIZE(self._data), form, &err)
            if st != SOB_OK:
                _fail(st, &err, "ledger input")

    cdef int advance(self) except -1:
        """Decode the next ledger into the reader: 1, or 0 at the clean end."""
        cdef sob_ledger_error err
        cdef int got = 0
        self._current = False
        if self._form == SOB_LEDGER_FORM_META:
            if self._meta_done:
                return 0
            self._meta_done = True
            st = sob_ledger_decode(<const uint8_t *>PyBytes_AS_STRING(self._data), <size_t>PyBytes_GET_SIZE(self._data),
                                   &self._out, &err)
            got = 1
        else:
            st = sob_ledger_reader_next(&self._r, &self._out, &got, &err)
        if st != SOB_OK:
            _fail(st, &err, "LedgerCloseMeta")
        self._current = got != 0
        return got

    def next_ledger(self):
        """Decode the next ledger without building its records: True, or False at the end."""
        return self.advance() == 1

    def current(self):
        """The records of the ledger last decoded (ValueError if none)."""
        if not self._current:
            raise ArgumentError("no ledger decoded")
        return _ledger(&self._out, True)

    def trade(self, Py_ssize_t i):
        """The ``i``-th Trade record of the ledger last decoded (what ``current().trades[i]``
        holds, built alone: ``DexBook`` applies with ``trades=False`` name trades by this index)."""
        if not self._current:
            raise ArgumentError("no ledger decoded")
        if i < 0 or <size_t>i >= self._out.n_trades:
            raise IndexError(f"trade {i} of a ledger of {self._out.n_trades}")
        return _trade(&self._out.trades[i])

    @property
    def ledger_seq(self):
        """The sequence of the ledger last decoded (None if none)."""
        return self._out.header.ledger_seq if self._current else None

    @property
    def protocol_version(self):
        """The protocol version (LedgerHeader.ledgerVersion) of the ledger last decoded (None if none)."""
        return self._out.header.protocol_version if self._current else None

    @property
    def position(self):
        """Bytes of the input read so far."""
        if self._form == SOB_LEDGER_FORM_META:
            return PyBytes_GET_SIZE(self._data) if self._meta_done else 0
        return self._r.pos

    @property
    def size(self):
        return PyBytes_GET_SIZE(self._data)

    def __iter__(self):
        return self

    def __next__(self):
        if not self.advance():
            raise StopIteration
        return _ledger(&self._out, True)


# ---- the DEX book -------------------------------------------------------------------------------------

cdef void _to_c_asset(object a, sob_ledger_asset *out) except *:
    """A LedgerAsset (type, code, issuer) into the C record; TypeError/ValueError when malformed."""
    cdef bytes code, issuer
    memset(out, 0, sizeof(sob_ledger_asset))
    t, code, issuer = a
    if type(t) is not int or not (0 <= t <= 2):
        raise ArgumentError(f"asset type must be 0, 1 or 2, got {t!r}")
    if len(code) != 12 or len(issuer) != 32:
        raise ArgumentError("asset code is 12 bytes and issuer 32 bytes")
    out.type = <uint8_t>t
    if t != 0:
        memcpy(out.code, PyBytes_AS_STRING(code), 12)
        memcpy(out.issuer, PyBytes_AS_STRING(issuer), 32)


cdef class _DexBook:
    """The C DexBook; stellar_ob.ledger.DexBook is the public API over it."""
    cdef sob_dexbook *dx
    cdef sob_dex_result res
    cdef sob_ledger_out out
    cdef list _assets
    cdef list _accounts

    def __cinit__(self):
        sob_dex_result_init(&self.res)
        sob_ledger_out_init(&self.out)
        if sob_dexbook_new(&self.dx) != SOB_OK:
            raise MemoryError()
        self._assets = []
        self._accounts = []

    def __dealloc__(self):
        sob_dexbook_free(self.dx)
        sob_dex_result_free(&self.res)
        sob_ledger_out_free(&self.out)

    def _address(self):
        """The address of the C sob_dexbook, for stellar_ob._paths' graph over this book (which keeps
        this object alive while it uses it)."""
        return <size_t>self.dx


    def set_filter(self, list assets, list markets):
        """Keep only these assets' markets and these markets ([LedgerAsset], [(LedgerAsset,
        LedgerAsset)]): sob_dexbook_set_filter, once, on a new book."""
        cdef Py_ssize_t na = len(assets), nm = len(markets), k
        cdef sob_ledger_error err
        buf = PyBytes_FromStringAndSize(NULL, max(1, na + 2 * nm) * <Py_ssize_t>sizeof(sob_ledger_asset))
        cdef sob_ledger_asset *v = <sob_ledger_asset *>PyBytes_AS_STRING(buf)
        for k in range(na):
            _to_c_asset(assets[k], &v[k])
        for k in range(nm):
            a, b = markets[k]
            _to_c_asset(a, &v[na + 2 * k])
            _to_c_asset(b, &v[na + 2 * k + 1])
        st = sob_dexbook_set_filter(self.dx, v, <size_t>na, &v[na], <size_t>nm, &err)
        if st != SOB_OK:
            _fail(st, &err, "DexBook filter")

    @property
    def filtering(self):
        return bool(sob_dexbook_filtering(self.dx))

    cdef object asset(self, uint32_t aid):
        cdef list cache = self._assets
        while len(cache) <= aid:
            cache.append(_asset(sob_dexbook_asset(self.dx, len(cache))))
        return cache[aid]

    cdef object account(self, uint32_t idx):
        if idx == SOB_DEX_NONE:
            return None
        cdef list cache = self._accounts
        while len(cache) <= idx:
            cache.append(_key(sob_dexbook_account_key(self.dx, len(cache))))
        return cache[idx]

    cdef object _apply(self, const sob_ledger_out *led, bint resync, bint trades=True):
        cdef sob_ledger_error err
        cdef uint32_t last = sob_dexbook_ledger_seq(self.dx)
        st = sob_dexbook_apply(self.dx, led, SOB_DEX_RESYNC if resync else 0, &self.res, &err)
        if st == SOB_E_MISMATCH:
            raise LedgerGapError(last + 1, led.header.ledger_seq)
        if st != SOB_OK:
            _fail(st, &err, f"ledger {led.header.ledger_seq}")
        return self._result(led, trades)

    cdef object _result(self, const sob_ledger_out *led, bint build_trades=True):
        cdef size_t i
        cdef const sob_dex_result *r = &self.res
        cdef const sob_dex_offer_event *o
        cdef const sob_dex_level_event *l
        cdef const sob_dex_pool_event *p
        cdef const sob_dex_drift *d
        offers = []
        for i in range(r.n_offers):
            o = &r.offers[i]
            offers.append((o.market, o.kind, o.side, o.learned, self.account(o.seller), o.offer_id, o.n, o.d,
                           o.old_amount, o.new_amount))
        levels = []
        for i in range(r.n_levels):
            l = &r.levels[i]
            levels.append((l.market, l.side, l.n, l.d, l.old_amount, l.new_amount))
        pools = []
        for i in range(r.n_pools):
            p = &r.pools[i]
            pools.append((p.market, p.kind, _key(sob_dexbook_pool_id(self.dx, p.pool)), p.old_reserve_a,
                          p.old_reserve_b, p.new_reserve_a, p.new_reserve_b))
        trades = []
        if build_trades:
            for i in range(r.n_trades):
                trades.append((r.trades[i].market, _trade(&led.trades[r.trades[i].trade])))
        else:  # the trade's index in the ledger's records (LedgerReader.trade): ints only
            for i in range(r.n_trades):
                trades.append((r.trades[i].market, r.trades[i].trade))
        drift = []
        for i in range(r.n_drift):
            d = &r.drift[i]
            if d.entry_type == SOB_ENTRY_OFFER:
                key = d.id
            elif d.entry_type == SOB_ENTRY_LIQUIDITY_POOL:
                key = _key(sob_dexbook_pool_id(self.dx, <uint32_t>d.id))
            elif d.entry_type == SOB_ENTRY_ACCOUNT:
                key = self.account(<uint32_t>d.id)
            else:
                key = (self.account(<uint32_t>d.id), self.asset(d.asset))
            drift.append((d.market, d.entry_type, d.kind, key))
        return (r.ledger_seq, offers, levels, pools, trades, drift, r.n_accounts, r.n_trustlines)

    def apply(self, data, bint resync=False):
        """Decode one LedgerCloseMeta (raw bytes-like or base64 str) and apply it."""
        cdef bytes raw = _raw(data)
        cdef sob_ledger_error err
        st = sob_ledger_decode(<const uint8_t *>PyBytes_AS_STRING(raw), <size_t>PyBytes_GET_SIZE(raw), &self.out, &err)
        if st != SOB_OK:
            _fail(st, &err, "LedgerCloseMeta")
        return self._apply(&self.out, resync)

    def apply_reader(self, LedgerReader reader not None, bint resync=False, bint trades=True):
        """Apply the ledger the reader decoded last (reader.next_ledger()). ``trades=False``: each
        trade is ``(market, index)``, its record built on demand by ``reader.trade(index)`` (a
        consumer that reads few of them builds no Trade for the others)."""
        if not reader._current:
            raise ArgumentError("the reader holds no decoded ledger")
        return self._apply(&reader._out, resync, trades)

    def seed(self, data, uint32_t ledger_seq, bint complete):
        """Load the entries of a bare LedgerEntryChanges (raw or base64) as the state at ledger_seq."""
        cdef bytes raw = _raw(data)
        cdef sob_ledger_error err
        st = sob_ledger_decode_changes(<const uint8_t *>PyBytes_AS_STRING(raw), <size_t>PyBytes_GET_SIZE(raw),
                                       &self.out, &err)
        try:
            if st != SOB_OK:
                _fail(st, &err, "LedgerEntryChanges")
            self._seed(&self.out, 0, self.out.n_changes, ledger_seq, complete, False)
        finally:
            if self.out.n_changes > 4096:  # a snapshot's worth of decoded records: not kept for ledgers
                sob_ledger_out_free(&self.out)
                sob_ledger_out_init(&self.out)
                # the seed trimmed the heap while these records were still held; freed now, their
                # pages would stay in RSS as holes between the book's blocks: give them back too
                sob_dexbook_release_heap()

    def seed_states_of(self, LedgerReader reader not None):
        """Seed from the first STATE entry of each key of the reader's current ledger (the state
        before it of every entry it touches), as of the ledger before it. Incomplete."""
        if not reader._current:
            raise ArgumentError("the reader holds no decoded ledger")
        self._seed(&reader._out, 0, reader._out.n_changes, reader._out.header.ledger_seq - 1, False, True)

    cdef _seed(self, const sob_ledger_out *src, size_t start, size_t n, uint32_t seq, bint complete, bint first_states):
        cdef sob_ledger_error err
        cdef sob_ledger_out pick
        cdef size_t i, k = 0
        cdef const sob_ledger_change *c
        cdef sob_ledger_change *buf
        if not first_states:
            st = sob_dexbook_seed(self.dx, src.changes + start, n, seq, complete, &err)
            if st != SOB_OK:
                _fail(st, &err, "seed")
            return
        # the first change of each key, kept when it is a STATE entry
        seen = set()
        keep = []
        for i in range(start, start + n):
            c = &src.changes[i]
            if c.entry_type == SOB_ENTRY_OFFER:
                key = (2, c.u.offer.offer_id)
            elif c.entry_type == SOB_ENTRY_LIQUIDITY_POOL:
                key = (5, _key(c.u.pool.pool_id))
            elif c.entry_type == SOB_ENTRY_ACCOUNT:
                key = (0, _key(c.u.account.account))
            else:
                key = (1, _key(c.u.trustline.account), _asset(&c.u.trustline.asset))
            if key in seen:
                continue
            seen.add(key)
            if c.change == 3:
                keep.append(i)
        buf_obj = PyBytes_FromStringAndSize(NULL, max(1, len(keep)) * sizeof(sob_ledger_change))
        buf = <sob_ledger_change *>PyBytes_AS_STRING(buf_obj)
        for i in keep:
            buf[k] = src.changes[i]
            k += 1
        st = sob_dexbook_seed(self.dx, buf, k, seq, complete, &err)
        if st != SOB_OK:
            _fail(st, &err, "seed")

    # ---- reads ----
    @property
    def ledger_seq(self):
        return sob_dexbook_ledger_seq(self.dx)

    @property
    def broken(self):
        return bool(sob_dexbook_broken(self.dx))

    @property
    def offer_count(self):
        return sob_dexbook_offer_count(self.dx)

    @property
    def market_count(self):
        return sob_dexbook_market_count(self.dx)

    def memory(self):
        return sob_dexbook_memory(self.dx)

    def check(self):
        """Assert every invariant of the C book (O(everything)); InvalidBookError if one fails."""
        st = sob_dexbook_check(self.dx)
        if st == SOB_E_NOMEM:
            raise MemoryError()
        if st != SOB_OK:
            raise InvalidBookError("DexBook invariant broken")

    def find_market(self, base, counter):
        """(market index, flipped) of a pair of LedgerAssets, or None."""
        cdef sob_ledger_asset a, b
        cdef uint32_t m
        cdef int flipped
        _to_c_asset(base, &a)
        _to_c_asset(counter, &b)
        if sob_dexbook_find_market(self.dx, &a, &b, &m, &flipped) != SOB_OK:
            return None
        return (m, bool(flipped))

    cdef const sob_dex_market *_market(self, uint32_t m) except NULL:
        cdef const sob_dex_market *mk = sob_dexbook_market(self.dx, m)
        if mk == NULL:
            raise IndexError("no such market")
        return mk

    def market_info(self, uint32_t m):
        """(base, counter, complete, npools) of a market in its stored orientation."""
        cdef const sob_dex_market *mk = self._market(m)
        return (self.asset(mk.base), self.asset(mk.counter), bool(mk.complete), mk.npools)

    def best(self, uint32_t m, bint flipped, int side):
        """(n, d, amount) of the best level of a side (0 bid, 1 ask) as seen flipped or not, or None."""
        cdef sob_level lv
        if not sob_dexbook_best(self.dx, m, flipped, side, &lv):
            self._market(m)
            return None
        return (lv.n, lv.d, lv.amount)

    def level_count(self, uint32_t m, bint flipped, int side):
        cdef const sob_dex_market *mk = self._market(m)
        return mk.l2.side[(1 - side) if flipped else side].len

    def levels(self, uint32_t m, bint flipped, int side, size_t depth):
        """[(n, d, amount)] best first, at most depth levels."""
        cdef const sob_dex_market *mk = self._market(m)
        cdef int s = (1 - side) if flipped else side
        cdef const sob_side *sd = &mk.l2.side[s]
        cdef size_t k, count = sd.len if depth > sd.len else depth
        cdef const sob_level *lv
        out = []
        for k in range(count):
            lv = &sd.lv[sd.len - 1 - k]
            out.append((lv.d, lv.n, lv.amount) if flipped else (lv.n, lv.d, lv.amount))
        return out

    def refresh_book(self, OrderBook book, uint32_t m, bint flipped, size_t depth, bint horizon):
        """Make ``book`` hold the market's best ``depth`` levels a side (the view's orientation,
        as :meth:`levels` reads them) and return the :class:`~stellar_ob.BookDiff` from what it
        held, or None when nothing changed: one C pass, no row objects. With ``horizon`` (Horizon's
        grouping of levels by float64 price), False when two adjacent levels of those read (and the
        next one) would fall in one Horizon group: the caller groups by walking the offers."""
        cdef const sob_dex_market *mk = self._market(m)
        cdef const sob_side *sd
        cdef const sob_level *lv
        cdef size_t cnt[2]
        cdef size_t k, j, total, seen
        cdef int v
        cdef double key, last = 0  # Horizon groups by float64 prices: its grouping, not our arithmetic
        for v in range(2):
            sd = &mk.l2.side[(1 - v) if flipped else v]
            cnt[v] = sd.len if depth > sd.len else depth
            if horizon:  # the view's price n/d; a bid's group key is the offers' own price d/n
                seen = cnt[v] + 1 if cnt[v] < sd.len else cnt[v]
                for k in range(seen):
                    lv = &sd.lv[sd.len - 1 - k]
                    if flipped:
                        key = <double>lv.n / <double>lv.d if v == 0 else <double>lv.d / <double>lv.n
                    else:
                        key = <double>lv.d / <double>lv.n if v == 0 else <double>lv.n / <double>lv.d
                    if k and key == last:
                        return False
                    last = key
        total = cnt[0] + cnt[1]
        cdef sob_level *buf = <sob_level *>malloc((total if total else 1) * sizeof(sob_level))
        if buf == NULL:
            raise MemoryError()
        cdef BookDiff diff = BookDiff.__new__(BookDiff)
        try:
            j = 0
            for v in range(2):
                sd = &mk.l2.side[(1 - v) if flipped else v]
                for k in range(cnt[v]):  # best first, as Horizon lists them
                    lv = &sd.lv[sd.len - 1 - k]
                    buf[j].n = lv.d if flipped else lv.n
                    buf[j].d = lv.n if flipped else lv.d
                    buf[j].amount = lv.amount
                    j += 1
            changed = book._replace(buf, cnt[0], buf + cnt[0], cnt[1], diff, "ledger levels", "the market")
        finally:
            free(buf)
        return diff if changed else None

    def offer_count_of(self, uint32_t m, bint flipped, int side):
        cdef const sob_dex_market *mk = self._market(m)
        return sob_offerbook_count(&mk.offers, (1 - side) if flipped else side)

    def offers(self, uint32_t m, bint flipped, int side, size_t start, size_t depth):
        """[(offer_id, n, d, amount, seller key, flags)] in core's crossing order (the offer's own price)."""
        cdef const sob_dex_market *mk = self._market(m)
        cdef int s = (1 - side) if flipped else side
        cdef size_t total = sob_offerbook_count(&mk.offers, s)
        cdef size_t k, count
        cdef uint32_t mm, seller, flags
        cdef int sd
        cdef sob_offer tmp
        if start >= total:
            return []
        count = total - start if depth > total - start else depth
        buf_obj = PyBytes_FromStringAndSize(NULL, max(1, count) * sizeof(sob_offer))
        cdef sob_offer *v = <sob_offer *>PyBytes_AS_STRING(buf_obj)
        count = sob_offerbook_copy(&mk.offers, s, start, count, v)
        out = []
        for k in range(count):
            seller = SOB_DEX_NONE
            flags = 0
            sob_dexbook_offer(self.dx, v[k].id, &mm, &seller, &flags, &sd, &tmp)
            out.append((v[k].id, v[k].n, v[k].d, v[k].amount, self.account(seller), flags, self._sponsor(v[k].id)))
        return out

    cdef object _sponsor(self, int64_t offer_id):
        cdef uint32_t sp = SOB_DEX_NONE
        if sob_dexbook_offer_sponsor(self.dx, offer_id, &sp) != SOB_OK or sp == SOB_DEX_NONE:
            return None
        return self.account(sp)

    def offer(self, int64_t offer_id):
        """(market, side (stored orientation), n, d, amount, seller key, flags, sponsor key or None) or
        None."""
        cdef uint32_t m, seller, flags
        cdef int side
        cdef sob_offer o
        if sob_dexbook_offer(self.dx, offer_id, &m, &seller, &flags, &side, &o) != SOB_OK:
            return None
        return (m, side, o.n, o.d, o.amount, self.account(seller), flags, self._sponsor(offer_id))

    def pools(self):
        """[(pool id, asset_a, asset_b, fee_bp, reserve_a, reserve_b, total_shares, trustline_count, market)] live."""
        cdef uint32_t i
        cdef const sob_dex_pool *p
        out = []
        for i in range(sob_dexbook_pool_count(self.dx)):
            p = sob_dexbook_pool(self.dx, i)
            if p.live:
                out.append((_key(sob_dexbook_pool_id(self.dx, i)), self.asset(p.asset_a), self.asset(p.asset_b),
                            p.fee_bp, p.reserve_a, p.reserve_b, p.total_shares, p.trustline_count, p.market))
        return out

    def account_entry(self, bytes key not None):
        """(balance, buying_liabilities, selling_liabilities, num_sub_entries, num_sponsoring,
        num_sponsored, flags) of an account the book holds, or None."""
        cdef uint32_t idx
        cdef sob_account a
        if len(key) != 32 or sob_dexbook_find_account(self.dx, <const uint8_t *>PyBytes_AS_STRING(key), &idx) != SOB_OK:
            return None
        if sob_accounts_get_account(sob_dexbook_accounts(self.dx), <uint64_t>idx + 1, &a) != SOB_OK:
            return None
        return (a.balance, a.buying_liabilities, a.selling_liabilities, a.num_sub_entries, a.num_sponsoring,
                a.num_sponsored, a.flags)

    def trustline_entry(self, bytes key not None, asset):
        """(balance, limit, buying_liabilities, selling_liabilities, flags) or None."""
        cdef uint32_t idx, aid
        cdef sob_ledger_asset a
        cdef sob_trustline t
        _to_c_asset(asset, &a)
        if len(key) != 32 or sob_dexbook_find_account(self.dx, <const uint8_t *>PyBytes_AS_STRING(key), &idx) != SOB_OK:
            return None
        if sob_dexbook_find_asset(self.dx, &a, &aid) != SOB_OK:
            return None
        if sob_accounts_get_trustline(sob_dexbook_accounts(self.dx), <uint64_t>idx + 1, aid, &t) != SOB_OK:
            return None
        return (t.balance, t.limit, t.buying_liabilities, t.selling_liabilities, t.flags)

    def counts(self):
        """(offers, markets, pool slots, assets, accounts, account entries, trust lines)."""
        cdef const sob_accounts *acc = sob_dexbook_accounts(self.dx)
        return (sob_dexbook_offer_count(self.dx), sob_dexbook_market_count(self.dx), sob_dexbook_pool_count(self.dx),
                sob_dexbook_asset_count(self.dx), sob_dexbook_account_count(self.dx), sob_accounts_count(acc),
                sob_accounts_trustline_count(acc))
