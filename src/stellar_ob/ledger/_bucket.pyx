# cython: language_level=3
"""History-archive buckets read by the C bucket reader (csrc/ledger/bucket.h).

On the border every binding shares: the declarations of src/stellar_ob/_c/ (ledger.pxd,
bucket.pxd) and glue.pxi's _raise, so a status becomes the package's exception
(stellar_ob.errors: ParseError with the reader's reason and byte offset, MemoryError) as it does
for the ledger decoder. Results are plain records:

- asset: ``(type, code, issuer)``: type 0 native ``(0, b"", b"")``, 1 alphanum4 (code: 4 bytes as
  sent), 2 alphanum12 (12 bytes), 3 pool share (trustlines only; ``issuer`` is the pool id);
- offer: dict seller, offer_id, selling, buying, amount, n, d, flags, last_modified;
- pool: dict pool_id, asset_a, asset_b, fee_bp, reserve_a, reserve_b, total_shares,
  trustline_count, last_modified;
- trustline: dict account, asset, balance, limit, flags, buying_liabilities,
  selling_liabilities, pool_use_count, last_modified;
- account: dict account, balance, seq_num, num_sub_entries, flags, buying_liabilities,
  selling_liabilities, num_sponsored, num_sponsoring, last_modified.
"""

from libc.stdint cimport uint8_t, uint32_t
from libc.string cimport memset, memcpy

from stellar_ob._c.sob_common cimport *
from stellar_ob._c.ledger cimport *
from stellar_ob._c.bucket cimport *

from stellar_ob.errors import ArgumentError

IMPLEMENTATION = "c"


include "_c/glue.pxi"


ACCOUNT, TRUSTLINE, OFFER, LIQUIDITY_POOL = 0, 1, 2, 5
TYPE_NAMES = {"account": ACCOUNT, "trustline": TRUSTLINE, "offer": OFFER, "pool": LIQUIDITY_POOL}
KIND_NAMES = {0: "INIT", 1: "LIVE", 2: "DEAD"}  # by change code: CREATED, UPDATED, REMOVED
MAX_RECORD = SOB_BUCKET_MAX_RECORD


cdef uint32_t _mask_of(object types) except? 0:
    cdef uint32_t mask = 0
    if isinstance(types, (str, bytes)) or not hasattr(types, "__iter__"):
        raise TypeError("types must be an iterable of 'offer', 'pool', 'trustline', 'account'")
    for t in list(types):
        if type(t) is not str or t not in TYPE_NAMES:
            raise ArgumentError(f"unknown entry type {t!r} (want 'offer', 'pool', 'trustline', 'account')")
        mask |= 1u << <int>TYPE_NAMES[t]
    if mask == 0:
        raise ArgumentError("types is empty")
    return mask


cdef tuple _asset(const sob_ledger_asset *a):
    if a.type == 0:
        return (0, b"", b"")
    if a.type == 3:
        return (3, b"", bytes(a.issuer[:32]))
    return (a.type, bytes(a.code[:4 if a.type == 1 else 12]), bytes(a.issuer[:32]))


cdef dict _record(const sob_ledger_change *c):
    cdef const sob_ledger_offer *o
    cdef const sob_ledger_pool *p
    cdef const sob_ledger_trustline *t
    cdef const sob_ledger_account *a
    if c.entry_type == OFFER:
        o = &c.u.offer
        if c.key_only:
            return {"type": "offer", "seller": bytes(o.seller[:32]), "offer_id": o.offer_id}
        return {"type": "offer", "seller": bytes(o.seller[:32]), "offer_id": o.offer_id,
                "selling": _asset(&o.selling), "buying": _asset(&o.buying), "amount": o.amount,
                "n": o.n, "d": o.d, "flags": o.flags, "last_modified": c.last_modified}
    if c.entry_type == LIQUIDITY_POOL:
        p = &c.u.pool
        if c.key_only:
            return {"type": "pool", "pool_id": bytes(p.pool_id[:32])}
        return {"type": "pool", "pool_id": bytes(p.pool_id[:32]), "asset_a": _asset(&p.asset_a),
                "asset_b": _asset(&p.asset_b), "fee_bp": p.fee_bp, "reserve_a": p.reserve_a,
                "reserve_b": p.reserve_b, "total_shares": p.total_shares,
                "trustline_count": p.trustline_count, "last_modified": c.last_modified}
    if c.entry_type == TRUSTLINE:
        t = &c.u.trustline
        if c.key_only:
            return {"type": "trustline", "account": bytes(t.account[:32]), "asset": _asset(&t.asset)}
        return {"type": "trustline", "account": bytes(t.account[:32]), "asset": _asset(&t.asset),
                "balance": t.balance, "limit": t.limit, "flags": t.flags,
                "buying_liabilities": t.buying_liabilities, "selling_liabilities": t.selling_liabilities,
                "pool_use_count": t.pool_use_count, "last_modified": c.last_modified}
    a = &c.u.account
    if c.key_only:
        return {"type": "account", "account": bytes(a.account[:32])}
    return {"type": "account", "account": bytes(a.account[:32]), "balance": a.balance,
            "seq_num": a.seq_num, "num_sub_entries": a.num_sub_entries, "flags": a.flags,
            "buying_liabilities": a.buying_liabilities, "selling_liabilities": a.selling_liabilities,
            "num_sponsored": a.num_sponsored, "num_sponsoring": a.num_sponsoring,
            "last_modified": c.last_modified}


cdef int _fail(sob_status st, const sob_ledger_error *err) except -1:
    """A bucket reader or merge status as the package's exception (glue's _raise, with the
    reader's reason and byte offset)."""
    return _raise(st, "bucket", NULL, err.reason, <Py_ssize_t>err.offset)


cdef class BucketReader:
    """Reads one bucket's (gunzipped) bytes, fed in pieces of any size.

    ``feed(chunk)`` parses every whole record it has, ``finish()`` checks that nothing is left.
    ``take()`` returns (and forgets) the records read so far as ``(kind, record)`` pairs, kind
    ``"LIVE"``, ``"INIT"`` or ``"DEAD"`` (a DEAD record has only its key fields).
    Memory: the records not yet taken, plus at most one record of bytes (<= MAX_RECORD).
    """

    cdef sob_bucket_reader r
    cdef sob_bucket_vec out
    cdef bytearray pending
    cdef bint finished

    def __cinit__(self):
        memset(&self.out, 0, sizeof(self.out))

    def __init__(self, types=("offer", "pool", "trustline", "account")):
        cdef uint32_t mask = _mask_of(types)
        sob_bucket_reader_init(&self.r, mask)
        self.pending = bytearray()
        self.finished = False

    def __dealloc__(self):
        sob_bucket_vec_free(&self.out)

    cdef int _parse(self, bint final) except -1:
        cdef sob_ledger_error err
        cdef size_t used = 0
        err.offset = 0
        err.reason = NULL
        cdef sob_status st
        cdef Py_buffer view
        PyObject_GetBuffer(self.pending, &view, PyBUF_SIMPLE)
        try:
            with nogil:
                st = sob_bucket_parse(&self.r, <const uint8_t *>view.buf, <size_t>view.len, final,
                                      &self.out, &used, &err)
        finally:
            PyBuffer_Release(&view)
        if st != SOB_OK:
            _fail(st, &err)
        if used:
            del self.pending[:used]
        return 0

    def feed(self, data):
        """Append bytes (any buffer) and read every whole record."""
        if self.finished:
            raise ArgumentError("feed() after finish()")
        self.pending += data
        if len(self.pending) >= self.r.need:
            self._parse(False)

    def finish(self):
        """The bucket ends here: whatever is left must be whole records."""
        if not self.finished:
            self._parse(True)
            self.finished = True

    cdef int _take_into(self, sob_bucket_merge *m) except -1:
        cdef sob_ledger_error err
        cdef sob_status st
        err.offset = 0
        err.reason = NULL
        with nogil:
            st = sob_bucket_merge_add(m, self.out.v, self.out.len, &err)
        self.out.len = 0
        if st != SOB_OK:
            _fail(st, &err)
        return 0

    def take(self):
        cdef size_t i
        res = []
        for i in range(self.out.len):
            kind = "DEAD" if self.out.v[i].change == 2 else ("INIT" if self.out.v[i].change == 0 else "LIVE")
            res.append((kind, _record(&self.out.v[i])))
        self.out.len = 0
        return res

    @property
    def meta(self):
        """(ledgerVersion, BucketListType or None) of the METAENTRY, or None without one."""
        if not self.r.has_meta:
            return None
        return (self.r.ledger_version, None if self.r.list_type < 0 else self.r.list_type)

    @property
    def records(self):
        return self.r.records

    @property
    def counts(self):
        """Records read by kind (all entry types): {"LIVE": n, "DEAD": n, "INIT": n}."""
        return {"LIVE": self.r.counts[0], "DEAD": self.r.counts[1], "INIT": self.r.counts[2]}

    @property
    def offset(self):
        """Bytes of the bucket read so far (whole records)."""
        return self.r.base


def read_bucket(data, types=("offer", "pool", "trustline", "account")):
    """All records of one whole (gunzipped) bucket: a list of ``(kind, record)``."""
    r = BucketReader(types)
    r.feed(data)
    r.finish()
    return r.take()


cdef class BucketListState:
    """The merge of a bucket list's buckets, fed newest first (level 0 curr, level 0 snap, ...).

    For each bucket: ``reader = state.bucket()``, then ``reader.feed(...)`` / ``state.absorb(reader)``
    as often as wanted, then ``reader.finish()`` and a last ``state.absorb(reader)``. The first
    entry seen for a key decides it; DEAD entries hide older ones. ``want_accounts`` /
    ``want_trustlines`` restrict those types to the keys given (call them before feeding).
    """

    cdef sob_bucket_merge m
    cdef object types
    cdef int started

    def __cinit__(self):
        sob_bucket_merge_init(&self.m)
        self.started = 0

    def __init__(self, types=("offer", "pool", "trustline", "account")):
        _mask_of(types)
        self.types = tuple(types)

    def __dealloc__(self):
        sob_bucket_merge_free(&self.m)

    def _want(self, int entry_type, keys):
        cdef sob_ledger_change c
        cdef list items = list(keys)
        for k in items:
            memset(&c, 0, sizeof(c))
            c.entry_type = entry_type
            if entry_type == ACCOUNT:
                b = _key32(k)
                memcpy(c.u.account.account, <const char *>b, 32)
            else:
                if not isinstance(k, tuple) or len(k) != 2:
                    raise TypeError("a trustline key is (account: 32 bytes, asset: (type, code, issuer))")
                b = _key32(k[0])
                memcpy(c.u.trustline.account, <const char *>b, 32)
                _fill_asset(&c.u.trustline.asset, k[1])
            if sob_bucket_merge_want(&self.m, 1u << entry_type, &c, 1) != SOB_OK:
                raise MemoryError("bucket merge: out of memory")

    def want_accounts(self, accounts):
        """Keep only these accounts (32-byte ed25519 keys)."""
        self._want(ACCOUNT, accounts)

    def want_trustlines(self, keys):
        """Keep only these trustlines: ``(account, asset)`` pairs."""
        self._want(TRUSTLINE, keys)

    def bucket(self):
        """A reader for the next (older) bucket."""
        if self.started:
            sob_bucket_merge_next_bucket(&self.m)
        self.started = 1
        return BucketReader(self.types)

    def absorb(self, BucketReader reader):
        reader._take_into(&self.m)

    def result(self):
        """{"offer": [...], "pool": [...], "trustline": [...], "account": [...]}: the live entries."""
        cdef size_t i
        res = {"offer": [], "pool": [], "trustline": [], "account": []}
        names = {OFFER: "offer", LIQUIDITY_POOL: "pool", TRUSTLINE: "trustline", ACCOUNT: "account"}
        for i in range(self.m.live.len):
            res[names[self.m.live.v[i].entry_type]].append(_record(&self.m.live.v[i]))
        return res

    @property
    def keys_seen(self):
        return self.m.seen.len


cdef bytes _key32(object k):
    if type(k) is not bytes or len(k) != 32:
        raise TypeError("an account key is 32 bytes (bytes)")
    return k


cdef int _fill_asset(sob_ledger_asset *a, object asset) except -1:
    if not isinstance(asset, tuple) or len(asset) != 3:
        raise TypeError("an asset is (type, code, issuer)")
    t, code, issuer = asset
    if type(t) is not int or t not in (0, 1, 2, 3) or type(code) is not bytes or type(issuer) is not bytes:
        raise TypeError("an asset is (type: 0..3, code: bytes, issuer: bytes)")
    memset(a, 0, sizeof(a[0]))
    a.type = <uint8_t>t
    if t == 0:
        if code or issuer:
            raise ArgumentError("native asset has no code or issuer")
        return 0
    if len(issuer) != 32:
        raise ArgumentError("issuer (or pool id) is 32 bytes")
    memcpy(a.issuer, <const char *>issuer, 32)
    if t == 3:
        if code:
            raise ArgumentError("a pool share has no code")
        return 0
    if len(code) != (4 if t == 1 else 12):
        raise ArgumentError("alphanum4 code is 4 bytes, alphanum12 code 12 bytes (zero padded)")
    memcpy(a.code, <const char *>code, len(code))
    return 0
