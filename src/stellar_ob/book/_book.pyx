# cython: language_level=3
"""The compiled core: exact L2 order books over the C library in csrc/.

Same API as stellar_ob.book._pure (the twin); see that module for the semantics in plain Python.
"""

cimport cython
from cpython.buffer cimport PyObject_GetBuffer, PyBuffer_Release, PyBUF_WRITABLE, PyBUF_SIMPLE, PyBUF_C_CONTIGUOUS
from stellar_ob._c.book cimport *
from stellar_ob._c.horizon_json cimport *
from stellar_ob._c.sob_common cimport *
from cpython.object cimport PyObject
from cpython.tuple cimport PyTuple_GET_ITEM, PyTuple_GET_SIZE
from cpython.long cimport PyLong_AsLongLongAndOverflow, PyLong_AsUnsignedLongLong
from cpython.number cimport PyNumber_Index
from cpython.bytes cimport PyBytes_FromStringAndSize
from libc.stdint cimport int32_t, uint32_t, uint64_t, int64_t, INT32_MAX, UINT64_MAX
from libc.stdlib cimport malloc, free
from libc.string cimport memcpy, memset, strcmp, strlen
from cpython.bytes cimport PyBytes_AS_STRING, PyBytes_GET_SIZE
from cpython.unicode cimport PyUnicode_AsUTF8AndSize

import sys
from fractions import Fraction

from .. import _args
from .. import amounts as _amounts
from ..amounts import count_arg, exact_str
from ..amounts import parse_amount, format_amount, price_string
from ._diffs import merge_diffs
from .._dtypes import level_dtype, diff_dtype, diff_array_rows
from ..assets import Asset
from ..errors import (
    AmountError, AmountOverflowError, AssetError, AssetMismatchError, CrossedBookError,
    InvalidBookError, ParseError, PriceError, StellarOBError,
)

IMPLEMENTATION = "c"

include "_c/glue.pxi"

cdef str BID = "bid"
cdef str ASK = "ask"


# ---------------------------------------------------------------------------------------------
# status codes -> exceptions: _raise of _c/glue.pxi, the one place C statuses become exceptions



# ---------------------------------------------------------------------------------------------
# conversions at the API edge: Python ints <-> int32 / uint64, with the twin's exceptions

cdef inline int _is_int(object v):
    return type(v) is int or (isinstance(v, int) and not isinstance(v, bool))


cdef int32_t _price_part(object v, str name, bint book) except 0:
    cdef int overflow = 0
    cdef long long x
    if type(v) is int:
        x = PyLong_AsLongLongAndOverflow(v, &overflow)
        if overflow == 0 and 0 < x <= INT32_MAX:
            return <int32_t>x
    exc = InvalidBookError if book else PriceError  # looked up only off the fast path
    if not _is_int(v):
        raise exc(f"price {name} must be an int, got {type(v).__name__}")
    v = PyNumber_Index(v)  # an int subclass as the int it holds: none of its methods runs
    x = PyLong_AsLongLongAndOverflow(v, &overflow)
    if overflow or x <= 0 or x > INT32_MAX:
        raise exc(f"price {name} must be in 1..{INT32_MAX}, got {v}")
    return <int32_t>x


cdef int _level_amount(object v, uint64_t *out) except -1:
    cdef int overflow = 0
    cdef long long x
    if type(v) is int:
        x = PyLong_AsLongLongAndOverflow(v, &overflow)
        if overflow == 0 and x >= 0:
            out[0] = <uint64_t>x
            return 0
    if not _is_int(v):
        raise InvalidBookError(f"amount must be an int number of stroops, got {type(v).__name__}")
    v = PyNumber_Index(v)  # compared as the int it holds, never through a subclass's __lt__
    if v < 0:
        raise InvalidBookError(f"amount must not be negative: {v}")
    if v > UINT64_MAX:
        raise AmountOverflowError(f"level amount {v} exceeds the uint64 range")
    out[0] = PyLong_AsUnsignedLongLong(v)
    return 0


cdef uint64_t _quote_amount(object v) except? 0xFFFFFFFFFFFFFFFF:
    cdef int overflow = 0
    cdef long long x
    if type(v) is int:
        x = PyLong_AsLongLongAndOverflow(v, &overflow)
        if overflow == 0 and x >= 0:
            return <uint64_t>x
    if not _is_int(v):
        raise AmountError(f"amount must be an int number of stroops, got {type(v).__name__}")
    v = PyNumber_Index(v)
    if v < 0:
        raise AmountError(f"amount must not be negative: {v}")
    if v > UINT64_MAX:
        raise AmountOverflowError(f"amount {v} exceeds the uint64 range")
    return PyLong_AsUnsignedLongLong(v)


cdef extern from "Python.h":
    # Borrowed-pointer forms: no reference counting on the per-change hot path of apply_diff.
    bint _int_exact "PyLong_CheckExact"(PyObject *o) noexcept
    bint _tuple_exact "PyTuple_CheckExact"(PyObject *o) noexcept
    Py_ssize_t _tuple_size "PyTuple_GET_SIZE"(PyObject *o) noexcept
    PyObject *_tuple_item "PyTuple_GET_ITEM"(PyObject *o, Py_ssize_t i) noexcept
    long long _as_ll "PyLong_AsLongLongAndOverflow"(PyObject *o, int *overflow) noexcept


cdef extern from *:
    """
    /* A non-negative exact int of at most two CPython digits (< 2**60), read from the object
     * itself: what most prices and amounts are, without a call into the int API. Returns 0 for
     * anything else (negative, larger, a subclass, another runtime): the caller then takes the
     * checked path, which gives the same value or the same error. */
    #if !defined(PYPY_VERSION) && !defined(Py_LIMITED_API) && PY_VERSION_HEX < 0x030B0000
    #include "longintrepr.h"
    #endif
    static inline int sob_py_small_u64(PyObject *o, unsigned long long *out) {
    #if defined(PYPY_VERSION) || defined(Py_LIMITED_API)
        (void)o; (void)out;
        return 0;
    #elif PY_VERSION_HEX >= 0x030C0000
        if (!PyLong_CheckExact(o) || !PyUnstable_Long_IsCompact((PyLongObject *)o)) return 0;
        Py_ssize_t v = PyUnstable_Long_CompactValue((PyLongObject *)o);
        if (v < 0) return 0;
        *out = (unsigned long long)v;
        return 1;
    #else
        if (!PyLong_CheckExact(o)) return 0;
        Py_ssize_t size = Py_SIZE(o);
        const digit *dg = ((PyLongObject *)o)->ob_digit;
        if (size == 1) { *out = dg[0]; return 1; }
        if (size == 2) { *out = (unsigned long long)dg[0] | ((unsigned long long)dg[1] << PyLong_SHIFT); return 1; }
        if (size == 0) { *out = 0; return 1; }
        return 0;
    #endif
    }
    """
    bint _small_u64 "sob_py_small_u64"(PyObject *o, unsigned long long *out) noexcept


cdef inline int32_t _price_part_p(PyObject *v, str name) except 0:
    cdef int overflow = 0
    cdef long long x
    cdef unsigned long long u
    if _small_u64(v, &u):
        if 0 < u <= INT32_MAX:
            return <int32_t>u
    elif _int_exact(v):
        x = _as_ll(v, &overflow)
        if overflow == 0 and 0 < x <= INT32_MAX:
            return <int32_t>x
    return _price_part(<object>v, name, True)  # errors and int subclasses


cdef inline int _level_amount_p(PyObject *v, uint64_t *out) except -1:
    cdef int overflow = 0
    cdef long long x
    cdef unsigned long long u
    if _small_u64(v, &u):
        out[0] = <uint64_t>u
        return 0
    if _int_exact(v):
        x = _as_ll(v, &overflow)
        if overflow == 0 and x >= 0:
            out[0] = <uint64_t>x
            return 0
    return _level_amount(<object>v, out)


cdef inline int _side_p(PyObject *v) except -1:
    if v == <PyObject *>BID:
        return SOB_SIDE_BID
    if v == <PyObject *>ASK:
        return SOB_SIDE_ASK
    return _side(<object>v)


cdef inline int _side(object side) except -1:
    if side is BID:
        return SOB_SIDE_BID
    if side is ASK:
        return SOB_SIDE_ASK
    if type(side) is not str:
        if not isinstance(side, str):
            raise InvalidBookError(f"side must be 'bid' or 'ask', got {side!r}")
        side = exact_str(side)  # a str subclass is compared as the str it holds, not by its __eq__
    if side == BID:
        return SOB_SIDE_BID
    if side == ASK:
        return SOB_SIDE_ASK
    raise InvalidBookError(f"side must be 'bid' or 'ask', got {side!r}")


cdef size_t _depth(object depth) except? 0xFFFFFFFFFFFFFFFF:
    """A depth as a C count (None: no limit). TypeError unless an int (bool and float refused),
    InvalidBookError if negative. Converted before the book is read: the caller clamps it to
    the side's length afterwards, so nothing a conversion runs can make a read overrun."""
    cdef int overflow = 0
    cdef long long x
    if depth is None:
        return <size_t>-1
    if type(depth) is int:
        x = PyLong_AsLongLongAndOverflow(depth, &overflow)
        if overflow == 0 and x >= 0:
            return <size_t>x
    v = count_arg(depth, "depth")
    return <size_t>-1 if v > <object>(<size_t>-1) else <size_t>v


# ---------------------------------------------------------------------------------------------
# value types

@cython.freelist(128)
@cython.final
cdef class Price:
    """An exact price n/d of two int32 > 0, kept as given and compared by value.

    >>> Price(2, 4) == Price(1, 2)
    True
    >>> str(Price(1, 3))
    '0.3333333'
    """

    def __init__(self, n, d):
        self.n = _price_part(n, "n", False)
        self.d = _price_part(d, "d", False)

    @classmethod
    def parse(cls, text):
        """The exact reduced fraction of a decimal string; ParseError if no int32 n/d equals it."""
        n, d = _amounts.parse_price(text)
        return _price(n, d)

    @classmethod
    def from_sdk(cls, price):
        """From a ``stellar_sdk.Price`` (or anything with int ``n`` and ``d``)."""
        return cls(price.n, price.d)

    def to_sdk(self):
        """The same n/d as a ``stellar_sdk.Price`` (needs stellar-sdk). O(1)."""
        from stellar_sdk import Price as SdkPrice
        return SdkPrice(self.n, self.d)

    def as_fraction(self):
        """The exact value n/d as a :class:`fractions.Fraction` (reduced). O(1).

        >>> Price(2, 4).as_fraction()
        Fraction(1, 2)
        """
        return Fraction(self.n, self.d)

    def __float__(self):
        return (<object>self.n) / (<object>self.d)

    def __str__(self):
        return price_string(self.n, self.d)

    def __repr__(self):
        return f"Price({self.n}, {self.d})"

    def __hash__(self):
        return hash(Fraction(self.n, self.d))

    def __reduce__(self):
        return (Price, (self.n, self.d))

    def __richcmp__(self, other, int op):
        cdef Price p
        cdef int c
        if type(other) is Price:
            p = <Price>other
            c = sob_price_cmp(self.n, self.d, p.n, p.d)
        elif isinstance(other, Fraction) or (_is_int(other)):
            f = Fraction(other)
            a = (<object>self.n) * f.denominator
            b = f.numerator * (<object>self.d)
            c = (a > b) - (a < b)
        elif hasattr(other, "n") and hasattr(other, "d"):
            a = (<object>self.n) * other.d
            b = other.n * (<object>self.d)
            c = (a > b) - (a < b)
        else:
            return NotImplemented
        if op == 2:
            return c == 0
        if op == 3:
            return c != 0
        if op == 0:
            return c < 0
        if op == 1:
            return c <= 0
        if op == 4:
            return c > 0
        return c >= 0


cdef inline Price _price(int32_t n, int32_t d):
    cdef Price p = Price.__new__(Price)
    p.n = n
    p.d = d
    return p


@cython.freelist(128)
@cython.final
cdef class Level:
    """One aggregated level: its price (counter per base) and amount in stroops
    (counter for bids, base for asks, as Horizon reports them). Unpacks as (price, amount)."""

    def __init__(self, Price price, amount):
        self.price = price
        self.amount = amount

    def __iter__(self):
        return iter((self.price, self.amount))

    def __len__(self):
        return 2

    def __getitem__(self, i):
        return (self.price, self.amount)[i]

    def __eq__(self, other):
        if isinstance(other, (Level, tuple)) and len(other) == 2:
            return self.price == other[0] and self.amount == other[1]
        return NotImplemented

    def __hash__(self):
        return hash((self.price, self.amount))

    def __repr__(self):
        return f"Level(price={self.price!r}, amount={self.amount!r})"

    def __reduce__(self):
        return (Level, (self.price, self.amount))


cdef inline Level _level(const sob_level *l):
    cdef Level lv = Level.__new__(Level)
    lv.price = _price(l.n, l.d)
    lv.amount = l.amount
    return lv


@cython.final
cdef class LevelChange:
    """A level that changed: ``old_amount`` 0 means it was added, ``new_amount`` 0 removed."""

    def __init__(self, str side, Price price, old_amount, new_amount):
        self.side = BID if _side(side) == SOB_SIDE_BID else ASK
        self.price = price
        self.old_amount = old_amount
        self.new_amount = new_amount

    def __iter__(self):
        return iter((self.side, self.price, self.old_amount, self.new_amount))

    def __len__(self):
        return 4

    def __getitem__(self, i):
        return (self.side, self.price, self.old_amount, self.new_amount)[i]

    def __eq__(self, other):
        if isinstance(other, (LevelChange, tuple)) and len(other) == 4:
            return tuple(self) == tuple(other)
        return NotImplemented

    def __hash__(self):
        return hash(tuple(self))

    def __repr__(self):
        return (f"LevelChange(side={self.side!r}, price={self.price!r}, "
                f"old_amount={self.old_amount!r}, new_amount={self.new_amount!r})")


cdef LevelChange _change(const sob_level_change *c):
    cdef LevelChange lc = LevelChange.__new__(LevelChange)
    lc.side = BID if c.side == SOB_SIDE_BID else ASK
    lc.price = _price(c.n, c.d)
    lc.old_amount = c.old_amount
    lc.new_amount = c.new_amount
    return lc


@cython.final
cdef class BookDiff:
    """The incremental change between two states of a book, best level first per side.

    Holds the changes as one packed C array in an immutable bytes object; the LevelChange objects
    are made on first access. A reader holds its own reference to that bytes object, so nothing
    that runs meanwhile (a finalizer calling ``__init__`` again, another thread) can free what it
    reads.
    """

    def __init__(self, bids=None, asks=None):
        # Every change is read and checked into a local buffer first; the diff takes it at the end.
        bl = [] if bids is None else list(bids)
        al = [] if asks is None else list(asks)
        cdef Py_ssize_t nb = len(bl), na = len(al), i
        cdef size_t k = <size_t>(nb + na)
        if k > (<size_t>-1) // sizeof(sob_level_change):
            raise MemoryError()
        raw = PyBytes_FromStringAndSize(NULL, <Py_ssize_t>(k * sizeof(sob_level_change)))
        cdef sob_level_change *v = <sob_level_change *>PyBytes_AS_STRING(raw)
        cdef uint64_t amt
        for i in range(nb + na):
            ch = bl[i] if i < nb else al[i - nb]
            side = _side(ch.side)
            if (i < nb) != (side == SOB_SIDE_BID):
                raise InvalidBookError("BookDiff(bids, asks): a change is on the wrong side")
            price = ch.price
            n = _price_part(price.n, "n", True)
            d = _price_part(price.d, "d", True)
            _level_amount(ch.old_amount, &amt)
            v[i].old_amount = amt
            _level_amount(ch.new_amount, &amt)
            v[i].new_amount = amt
            v[i].side = side
            v[i].n = n
            v[i].d = d
        self._set(raw, <size_t>nb)

    cdef void _set(self, bytes raw, size_t nbids):
        self._raw = raw
        self._nbids = nbids
        self._bids_cache = None
        self._asks_cache = None

    cdef size_t _len(self):
        return 0 if self._raw is None else <size_t>PyBytes_GET_SIZE(self._raw) // sizeof(sob_level_change)

    cdef list _changes(self, bint bids):
        cdef bytes raw = self._raw  # our own reference: valid whatever runs below
        if raw is None:
            return []
        cdef const sob_level_change *v = <const sob_level_change *>PyBytes_AS_STRING(raw)
        cdef size_t k = <size_t>PyBytes_GET_SIZE(raw) // sizeof(sob_level_change)
        cdef size_t nb = self._nbids if self._nbids < k else k
        cdef size_t lo = 0 if bids else nb, hi = nb if bids else k, i
        return [_change(&v[i]) for i in range(lo, hi)]

    @property
    def bids(self):
        """The bid changes (list of :class:`LevelChange`), best price first."""
        if self._bids_cache is None:
            raw = self._raw
            out = self._changes(True)
            if self._raw is raw:  # not re-initialised while the objects were made
                self._bids_cache = out
            return out
        return self._bids_cache

    @property
    def asks(self):
        """The ask changes (list of :class:`LevelChange`), best price first."""
        if self._asks_cache is None:
            raw = self._raw
            out = self._changes(False)
            if self._raw is raw:
                self._asks_cache = out
            return out
        return self._asks_cache

    def __iter__(self):
        yield from self.bids
        yield from self.asks

    def __len__(self):
        return self._len()

    def __bool__(self):
        return self._len() != 0

    def __eq__(self, other):
        if not hasattr(other, "bids") or not hasattr(other, "asks"):
            return NotImplemented
        return _changes_key(self) == _changes_key(other)

    __hash__ = None

    def __repr__(self):
        return f"BookDiff(bids={self.bids!r}, asks={self.asks!r})"

    def merge(self, other):
        """The change from the state before ``self`` to the state after ``other``."""
        return merge_diffs(self, other, BookDiff, LevelChange, Price)

    def to_numpy(self):
        """A read-only structured array (side int8: 0 bid / 1 ask, n, d, old_amount, new_amount),
        bids best first then asks best first: a view of the diff's own packed C changes (no copy,
        no object per change; it keeps them alive). ``.copy()`` it to write. O(1)."""
        cdef bytes raw = self._raw if self._raw is not None else b""
        if not _LITTLE_ENDIAN or sizeof(sob_level_change) != 32:  # side: the low byte of C int32: copy
            return _diff_rows_copy(raw)
        return _np_frombuffer()(raw, diff_dtype())


cdef bint _LITTLE_ENDIAN = sys.byteorder == "little"
cdef object _frombuffer = None


cdef inline object _np_frombuffer():
    global _frombuffer
    if _frombuffer is None:
        import numpy
        _frombuffer = numpy.frombuffer
    return _frombuffer


cdef object _diff_rows_copy(bytes raw):
    import numpy as np
    cdef const sob_level_change *v = <const sob_level_change *>PyBytes_AS_STRING(raw)
    cdef Py_ssize_t k = PyBytes_GET_SIZE(raw) // sizeof(sob_level_change), i
    arr = np.array([(v[i].side, v[i].n, v[i].d, v[i].old_amount, v[i].new_amount) for i in range(k)],
                   dtype=diff_dtype())
    arr.flags.writeable = False
    return arr


def _changes_key(diff):
    return [(c.side, Fraction(c.price.n, c.price.d), c.old_amount, c.new_amount)
            for c in list(diff.bids) + list(diff.asks)]


@cython.final
cdef class Quote:
    """The result of walking one side of the book for ``base`` of the base asset.

    ``counter`` is what the taker pays (quote_buy) or receives (quote_sell), in stroops;
    ``average_price`` is ``counter / base`` as an exact Fraction (None when nothing filled).
    """

    def __init__(self, base, counter, worst_price, int levels, bint complete):
        self.base = base
        self.counter = counter
        self.worst_price = worst_price
        self.levels = levels
        self.complete = complete

    @property
    def average_price(self):
        """``counter / base`` as an exact Fraction (counter stroops per base stroop); None when
        nothing filled."""
        return Fraction(self.counter, self.base) if self.base else None

    def __eq__(self, other):
        if not hasattr(other, "counter"):
            return NotImplemented
        return (self.base, self.counter, self.worst_price, self.levels, self.complete) == (
            other.base, other.counter, other.worst_price, other.levels, other.complete)

    __hash__ = None

    def __repr__(self):
        return (f"Quote(base={self.base}, counter={self.counter}, average_price={self.average_price!r}, "
                f"worst_price={self.worst_price!r}, levels={self.levels}, complete={self.complete})")


cdef Quote _quote(sob_quote *q):
    cdef Quote r = Quote.__new__(Quote)
    r.base = q.base
    cdef uint64_t hi = sob_quote_counter_hi(q)
    r.counter = ((<object>hi) << 64) | (<object>sob_quote_counter_lo(q)) if hi else <object>sob_quote_counter_lo(q)
    r.worst_price = _price(q.worst_n, q.worst_d) if q.levels else None
    r.levels = q.levels
    r.complete = q.complete
    return r


# ---------------------------------------------------------------------------------------------
# Rows of a snapshot. Scratch memory belongs to one call, never to the module: any Python code
# that runs while a call reads its arguments (a row's __iter__, a finalizer, another thread) may
# call into this or any other book, and must find nothing of this call's in a shared place.

cdef object _nd_type = None


cdef inline object _ndarray_type():
    """numpy.ndarray once numpy is loaded (no object can be an ndarray before it is), else None."""
    global _nd_type
    if _nd_type is None:
        np = sys.modules.get("numpy")
        if np is not None:
            _nd_type = np.ndarray
    return _nd_type


cdef extern from *:
    """
    /* An amount in 0..INT64_MAX read from an exact int without running any Python code (a small one
     * straight from its digits); 0 when it is anything else, which the caller's checked path reads. */
    static inline int sob_py_amount_fast(PyObject *o, unsigned long long *a) {
        if (sob_py_small_u64(o, a)) return 1;
        if (!PyLong_CheckExact(o)) return 0;
        int overflow = 0;
        long long x = PyLong_AsLongLongAndOverflow(o, &overflow); /* an exact int: no code runs */
        if (overflow || x < 0) return 0;
        *a = (unsigned long long)x;
        return 1;
    }

    /* Rows of one snapshot side in their common form, converted without running any Python code
     * and without touching a reference count: items[0..k) exact 3-tuples (n, d, amount) of exact
     * ints, n and d in 1..INT32_MAX, amount in 0..INT64_MAX. Row i goes to out[k - 1 - i]:
     * rows come best first (Horizon's order) and a side is kept worst first, so the usual input
     * arrives in the order sob_levels_normalize keeps as it is. Returns the index of the first
     * row in any other form (k if none): the caller converts the rest on its checked path, which
     * gives the same value or the error. */
    static size_t sob_py_rows_fast(PyObject *const *items, size_t k, sob_level *out) {
        for (size_t i = 0; i < k; i++) {
            PyObject *r = items[i];
            unsigned long long n, d, a;
            if (!PyTuple_CheckExact(r) || PyTuple_GET_SIZE(r) != 3) return i;
            if (!sob_py_small_u64(PyTuple_GET_ITEM(r, 0), &n) || !sob_py_small_u64(PyTuple_GET_ITEM(r, 1), &d))
                return i;
            if (n - 1 >= (unsigned long long)INT32_MAX || d - 1 >= (unsigned long long)INT32_MAX) return i;
            if (!sob_py_amount_fast(PyTuple_GET_ITEM(r, 2), &a)) return i;
            sob_level *o_ = &out[k - 1 - i];
            o_->n = (int32_t)n;
            o_->d = (int32_t)d;
            o_->amount = a;
        }
        return k;
    }
    /* 0 for "bid", 1 for "ask", -1 for anything else that is not read here (a str subclass, a
     * string another runtime keeps in another form): the module's own interned strings by
     * identity, else an exact, ready, one-byte str compared byte by byte. No code runs. */
    static inline int sob_py_side_fast(PyObject *o, PyObject *bid, PyObject *ask) {
        if (o == bid) return 0;
        if (o == ask) return 1;
    #if defined(PYPY_VERSION) || defined(Py_LIMITED_API)
        return -1;
    #else
        if (!PyUnicode_CheckExact(o)) return -1;
    #if PY_VERSION_HEX < 0x030C0000
        if (!PyUnicode_IS_READY(o)) return -1; /* a legacy string: the checked path reads it */
    #endif
        if (PyUnicode_GET_LENGTH(o) != 3 || PyUnicode_KIND(o) != PyUnicode_1BYTE_KIND) return -1;
        const char *t = (const char *)PyUnicode_1BYTE_DATA(o);
        if (t[0] == 'b' && t[1] == 'i' && t[2] == 'd') return 0;
        if (t[0] == 'a' && t[1] == 's' && t[2] == 'k') return 1;
        return -1;
    #endif
    }

    /* apply_diff's changes in their common form, converted without running any Python code and
     * without touching a reference count: items[0..k) exact 4-tuples (side, n, d, amount), side
     * "bid" or "ask" (sob_py_side_fast), n and d exact ints in 1..INT32_MAX, amount an exact int
     * in 0..INT64_MAX. Returns the index of the first change in any other form (k if none): the
     * caller converts it and the rest on its checked path. */
    static size_t sob_py_changes_fast(PyObject *const *items, size_t k, sob_set *out, PyObject *bid, PyObject *ask) {
        for (size_t i = 0; i < k; i++) {
            PyObject *r = items[i];
            unsigned long long n, d, a;
            if (!PyTuple_CheckExact(r) || PyTuple_GET_SIZE(r) != 4) return i;
            int side = sob_py_side_fast(PyTuple_GET_ITEM(r, 0), bid, ask);
            if (side < 0) return i;
            if (!sob_py_small_u64(PyTuple_GET_ITEM(r, 1), &n) || !sob_py_small_u64(PyTuple_GET_ITEM(r, 2), &d))
                return i;
            if (n - 1 >= (unsigned long long)INT32_MAX || d - 1 >= (unsigned long long)INT32_MAX) return i;
            if (!sob_py_amount_fast(PyTuple_GET_ITEM(r, 3), &a)) return i;
            out[i].side = side ? SOB_SIDE_ASK : SOB_SIDE_BID;
            out[i].n = (int32_t)n;
            out[i].d = (int32_t)d;
            out[i].amount = a;
        }
        return k;
    }
    """
    size_t _rows_fast_items "sob_py_rows_fast"(PyObject **items, size_t k, sob_level *out) noexcept
    size_t _changes_fast_items "sob_py_changes_fast"(PyObject **items, size_t k, sob_set *out, PyObject *bid, PyObject *ask) noexcept
    PyObject **_seq_items "PySequence_Fast_ITEMS"(PyObject *o) noexcept
    Py_ssize_t _seq_size "PySequence_Fast_GET_SIZE"(PyObject *o) noexcept


cdef object _level_rows(object levels):
    """What one side of a snapshot is read from: an exact 1-d numpy array of level_dtype (copied
    whole, through its buffer, by _rows_fast) or a tuple of rows, taken once as the call began so
    that a row's __iter__ growing the caller's list cannot make the copy overrun. (apply_snapshot
    reads an exact list in place where no Python code can run before its rows are converted.)"""
    nd = _ndarray_type()
    if nd is not None and isinstance(levels, nd):
        dtype = levels.dtype
        if dtype.names is not None:
            if type(levels) is nd and levels.ndim == 1 and dtype == level_dtype():
                return levels
            return _fields_rows(levels)
    return levels if type(levels) is tuple else tuple(levels)


cdef tuple _fields_rows(object arr):
    if not {"n", "d", "amount"} <= set(arr.dtype.names):
        raise InvalidBookError("a structured array of levels needs fields n, d and amount")
    return tuple(zip(arr["n"].tolist(), arr["d"].tolist(), arr["amount"].tolist()))


cdef size_t _rows_fast(object rows, sob_level *out, size_t k) except? 0xFFFFFFFFFFFFFFFF:
    """Convert what needs no Python code of the rows taken by _level_rows (or an exact list) into
    ``out`` (room for ``k`` levels, the count taken before): the numpy array of level_dtype whole,
    through its buffer, or the leading rows in the common form (sob_py_rows_fast). Returns how
    many were converted; _rows_slow converts the rest. Never writes more than ``k``. Rows are
    written last to first (see sob_py_rows_fast), the array as it is: normalising takes any
    order."""
    cdef Py_buffer view
    if type(rows) is tuple or type(rows) is list:
        if <size_t>_seq_size(<PyObject *>rows) != k:
            raise InvalidBookError("a levels array changed size while it was read")
        return _rows_fast_items(_seq_items(<PyObject *>rows), k, out)
    # the numpy array of level_dtype
    try:
        PyObject_GetBuffer(rows, &view, PyBUF_SIMPLE | PyBUF_C_CONTIGUOUS)
    except (BufferError, ValueError):  # strided: read field by field (by _rows_slow)
        return 0
    try:
        # the buffer's own length, never shape[0] * 16: only what is there is copied
        if <size_t>view.len != k * sizeof(sob_level):
            raise InvalidBookError("a levels array changed size while it was read")
        memcpy(out, view.buf, view.len)
    finally:
        PyBuffer_Release(&view)
    return k


cdef int _rows_slow(object rows, sob_level *out, size_t k, size_t i) except -1:
    """Rows i..k of ``rows`` (a tuple taken as the call began, or the strided numpy array) into
    ``out``, on the checked path: any row that can be unpacked into three ints (subclasses read
    as the int they hold); a row's __iter__ may run anything, so nothing here refers to the
    caller's lists or to a book. Written last to first, as _rows_fast does."""
    cdef uint64_t amt
    cdef size_t j
    cdef sob_level *o
    if type(rows) is not tuple:
        rows = _fields_rows(rows)
    cdef tuple t = <tuple>rows
    if <size_t>PyTuple_GET_SIZE(t) != k:
        raise InvalidBookError("a levels array changed size while it was read")
    for j in range(i, k):
        row = t[j]
        try:
            n, d, amount = row
        except (TypeError, ValueError):
            raise InvalidBookError(f"a level must be (n, d, amount), got {row!r}") from None
        o = &out[k - 1 - j]
        o.n = _price_part(n, "n", True)
        o.d = _price_part(d, "d", True)
        _level_amount(amount, &amt)
        o.amount = amt
    return 0


cdef object _np_empty = None


cdef object _empty_levels(size_t k):
    global _np_empty
    if _np_empty is None:
        import numpy
        _np_empty = numpy.empty
    return _np_empty(k, level_dtype())


cdef object _NOARG = object()  # set_level's missing d / amount (the (side, price, amount) form)


cdef int _change_into(object ch, sob_set *out) except -1:
    """One change of apply_diff on the checked path: a 4-tuple (each part read as the value
    it holds, subclasses included) or a LevelChange-like object (_args.change_parts)."""
    cdef uint64_t a
    if type(ch) is tuple and PyTuple_GET_SIZE(ch) == 4:
        out.side = _side_p(PyTuple_GET_ITEM(ch, 0))
        out.n = _price_part_p(PyTuple_GET_ITEM(ch, 1), "n")
        out.d = _price_part_p(PyTuple_GET_ITEM(ch, 2), "d")
        _level_amount_p(PyTuple_GET_ITEM(ch, 3), &a)
        out.amount = a
        return 0
    side, n, d, amount = _args.change_parts(ch)
    out.side = _side(side)
    out.n = _price_part(n, "n", True)
    out.d = _price_part(d, "d", True)
    _level_amount(amount, &a)
    out.amount = a
    return 0


DEF _SMALL = 16  # a batch this small converts into stack memory (no allocation)
DEF _SCRATCH_MAX = 1024  # the largest batch converted into the module's reused scratch


# One block for batches of _SMALL < k <= _SCRATCH_MAX changes (sob_set + sob_level scratch each),
# allocated once and reused: malloc and free of a 4 KB block were ~2% of apply_diff of 100.
# A call takes it whole and gives it back before it returns; a call that finds it taken (an
# __index__ or __iter__ of the changes re-entering apply_diff, or another thread running while
# one of them holds the GIL released) allocates its own, as every call did before. Only code
# holding the GIL reads or sets _scratch_busy.
cdef void *_scratch = NULL
cdef bint _scratch_busy = False


cdef void *_batch_buffer(size_t k) except NULL:
    """Room for k sob_set and k sob_level (k > _SMALL): the module's scratch when free and big
    enough, else this call's own allocation. Give it back with _batch_release."""
    global _scratch, _scratch_busy
    if k <= _SCRATCH_MAX and not _scratch_busy:
        if _scratch == NULL:
            _scratch = _alloc_array(_SCRATCH_MAX, sizeof(sob_set) + sizeof(sob_level))
        _scratch_busy = True
        return _scratch
    return _alloc_array(k, sizeof(sob_set) + sizeof(sob_level))


cdef void _batch_release(void *p) noexcept:
    global _scratch_busy
    if p == NULL:
        return
    if p == _scratch:
        _scratch_busy = False
    else:
        free(p)


# ---------------------------------------------------------------------------------------------

cdef class OrderBook:
    """An aggregated (L2) order book of one market, exact to the stroop.

    Prices are counter per base on both sides. Ask amounts are in base, bid amounts in counter
    (Horizon's /order_book units). The book is never crossed (a bid above the ask): a change that
    would cross it raises CrossedBookError and leaves it as it was. Best bid equal to best ask is
    legal (a passive offer rests at the other side's price).

    One book is not safe for concurrent mutation from two threads (lock around it if you share
    it); even then nothing can crash and no other book can change. Every argument is converted
    to plain values before the book is touched, and every read copies out of the book before it
    builds Python objects.

    >>> book = OrderBook("XLM", "USDC:GA5ZSEJYB37JRC5AVCIA5MOP4RHTM335X2KGX3IHOJAPP5RE34K4KZVN")
    >>> book.apply_snapshot(bids=[(1, 10, 50_000_000)], asks=[(11, 100, 20_000_000)])
    >>> book.best_ask()
    Level(price=Price(11, 100), amount=20000000)
    """

    def __cinit__(self):
        sob_book_init(&self._book)

    def __init__(self, base, counter):
        b, c = _args.book_assets(base, counter)
        _asset_to_c(b, &self._cbase)
        _asset_to_c(c, &self._ccounter)
        self._base = b
        self._counter = c

    def __dealloc__(self):
        sob_book_free(&self._book)

    @property
    def base(self):
        """The base asset (:class:`~stellar_ob.Asset`): asks sell it, amounts of asks are in it."""
        return self._base

    @property
    def counter(self):
        """The counter asset (:class:`~stellar_ob.Asset`): prices are counter per base, bid amounts
        are in it."""
        return self._counter

    # -- changes ----------------------------------------------------------------------------
    def apply_snapshot(self, bids, asks):
        """Replace the whole book atomically. Duplicate prices sum, zero amounts are dropped;
        an invalid or crossed snapshot raises and leaves the book as it was. Each side is an
        iterable of (n, d, amount) or a numpy array with fields n, d, amount. O(n) for input in
        Horizon's order (best first), O(n log n) otherwise."""
        # An exact list is read in place (no copy) when nothing can run Python code between
        # this line and the fast conversion of its rows: asks of an exact list or tuple for the
        # bids (anything else may run an __iter__ that changes the bids list); always for the
        # asks. Every other side is taken as a tuple first, as _level_rows says.
        if type(bids) is list and (type(asks) is list or type(asks) is tuple):
            rb = bids
        else:
            rb = _level_rows(bids)
        ra = asks if type(asks) is list else _level_rows(asks)
        cdef size_t nb = len(rb), na = len(ra), ib, ia
        cdef sob_level *buf = <sob_level *>_alloc_array(nb + na, sizeof(sob_level))
        try:
            ib = _rows_fast(rb, buf, nb)
            ia = _rows_fast(ra, buf + nb, na)
            if ib < nb or ia < na:
                # The rest may run a row's code: both lists are taken as tuples now, before any
                # of it runs (nothing has since the call began), so each side is what it was.
                if type(rb) is list:
                    rb = tuple(rb)
                if type(ra) is list:
                    ra = tuple(ra)
                if ib < nb:
                    _rows_slow(rb, buf, nb, ib)
                if ia < na:
                    _rows_slow(ra, buf + nb, na, ia)
            self._assign(buf, nb, buf + nb, na, "apply_snapshot")
        finally:
            free(buf)

    cdef int _assign(self, sob_level *bids, size_t nb, sob_level *asks, size_t na, str what) except -1:
        cdef size_t bad = 0
        cdef sob_status st = sob_levels_normalize(bids, nb, SOB_SIDE_BID, &nb, &bad)
        if st:
            _raise(st, f"{what}: bids[{bad}]")
        st = sob_levels_normalize(asks, na, SOB_SIDE_ASK, &na, &bad)
        if st:
            _raise(st, f"{what}: asks[{bad}]")
        st = sob_book_assign(&self._book, bids, nb, asks, na)
        if st:
            _raise(st, what)
        return 0

    def set_level(self, side, n, d=_NOARG, amount=_NOARG):
        """Set the amount at price n/d on ``side`` ("bid" or "ask"); 0 removes the level.
        ``set_level(side, price, amount)`` takes the price as a :class:`Price` or an exact
        :class:`~fractions.Fraction` instead (InvalidBookError if no int32 n/d equals it; a
        float is refused). Raises CrossedBookError (book unchanged) if the change would cross
        the book. O(log n) to find the level, plus moving the levels above it (few: the best is
        last).

        >>> book = OrderBook("XLM", "USDC:GA5ZSEJYB37JRC5AVCIA5MOP4RHTM335X2KGX3IHOJAPP5RE34K4KZVN")
        >>> book.set_level("ask", Price(23, 200), 7_000_000)
        >>> book.set_level("bid", Fraction(1, 10), 5)
        >>> book.best_ask(), book.best_bid().price
        (Level(price=Price(23, 200), amount=7000000), Price(1, 10))
        """
        cdef int s = _side_p(<PyObject *>side)
        cdef int32_t cn, cd
        cdef uint64_t a
        if amount is _NOARG:  # set_level(side, price, amount)
            if d is _NOARG:
                raise InvalidBookError("set_level takes (side, n, d, amount) or (side, price, amount)")
            amount = d
            if isinstance(n, Price):  # the C fields: a subclass's properties never decide
                cn = (<Price>n).n
                cd = (<Price>n).d
            else:
                pn, pd = _args.fraction_price(n)
                cn = <int32_t>pn
                cd = <int32_t>pd
        else:
            cn = _price_part_p(<PyObject *>n, "n")
            cd = _price_part_p(<PyObject *>d, "d")
        _level_amount_p(<PyObject *>amount, &a)
        cdef sob_status st = sob_book_set_level_checked(&self._book, s, cn, cd, a, NULL)
        if st:  # the message is made of the converted values: no caller code runs for it
            _raise(st, f"set_level({BID if s == SOB_SIDE_BID else ASK}, {cn}/{cd})")

    def _call_floor(self, side, n, d=_NOARG, amount=_NOARG):
        """Does nothing, with set_level's arguments and compiled as set_level is: the call floor
        bench/bench_core.py measures set_level and insert + best reads against (issue 18)."""

    def _read_floor(self):
        """Does nothing, called as best_bid is: the floor of a best bid/ask read (bench only)."""

    def _diff_floor(self, changes):
        """Does nothing, with apply_diff's argument and compiled as apply_diff is: the call floor
        of apply_diff in bench/bench_core.py (issue 18)."""

    def apply_diff(self, changes):
        """Apply a batch of ``(side, n, d, amount)`` changes (or LevelChange objects) atomically:
        all are validated first; if the result would be crossed nothing is applied. A list that
        changes length while it is read is refused. A :class:`BookDiff` applies its new amounts and a
        structured numpy array of ``diff_dtype`` (``BookDiff.to_numpy()``) is read from its
        buffer, both without an object per change; another structured array with fields side (0
        bid / 1 ask), n, d and new_amount (or amount) is read by field."""
        if type(changes) is BookDiff:
            self._apply_packed((<BookDiff>changes)._raw, None)
            return
        if type(changes) is not list and type(changes) is not tuple:
            nd = _ndarray_type()
            if nd is not None and isinstance(changes, nd) and changes.dtype.names is not None:
                if (type(changes) is nd and changes.ndim == 1 and changes.dtype == diff_dtype()
                        and _LITTLE_ENDIAN and sizeof(sob_level_change) == 32):
                    self._apply_packed(None, changes)
                    return
                changes = diff_array_rows(changes)
            elif not isinstance(changes, (list, tuple)):
                changes = list(changes)
        cdef size_t k = len(changes), i = 0, bad = 0
        cdef sob_set small_set[_SMALL]
        cdef sob_level small_undo[_SMALL]
        cdef sob_set *c = small_set
        cdef sob_level *undo = small_undo
        cdef void *heap = NULL
        cdef uint64_t a
        cdef sob_status st
        if k > _SMALL:  # held by this call alone until it returns: nothing else resizes or frees it
            heap = _batch_buffer(k)
            c = <sob_set *>heap
            undo = <sob_level *>(c + k)
        try:
            if type(changes) is list or type(changes) is tuple:
                # The common changes convert in C, reading the list in place (no code runs until
                # the first other change); that one and the rest take the checked path by index,
                # so a list that changes length while they are read is refused as it was.
                i = _changes_fast_items(_seq_items(<PyObject *>changes), k, c, <PyObject *>BID, <PyObject *>ASK)
                while i < k:
                    if <size_t>len(changes) <= i:  # it shrank under us
                        raise InvalidBookError("the changes were modified during apply_diff")
                    _change_into(changes[i], &c[i])
                    i += 1
                if <size_t>len(changes) != k:  # it grew: the batch is not what the caller handed in
                    raise InvalidBookError("the changes were modified during apply_diff")
            else:
                for ch in changes:  # a list or tuple subclass, read through its own iterator
                    if i == k:  # the list grew under us (a callback in an __eq__?): never overrun c[]
                        raise InvalidBookError("the changes were modified during apply_diff")
                    _change_into(ch, &c[i])
                    i += 1
                if i != k:  # it shrank: the batch is not what the caller handed in
                    raise InvalidBookError("the changes were modified during apply_diff")
            st = sob_book_apply_batch(&self._book, c, i, undo, &bad)
        finally:
            _batch_release(heap)
        if st == SOB_E_CROSSED:
            raise CrossedBookError("the batch would cross the book")
        if st:
            _raise(st, "apply_diff")

    cdef int _apply_packed(self, bytes raw, object arr) except -1:
        """apply_diff of packed sob_level_change rows: a BookDiff's own bytes, or the buffer of a
        1-d diff_dtype array (its side is the row's first byte; the rest of that int32 is padding
        the caller may have filled with anything). Converted into this call's batch first."""
        cdef Py_buffer view
        cdef bint has_view = False
        cdef const char *base
        cdef size_t k, i, bad = 0
        cdef signed char side
        cdef sob_set small_set[_SMALL]
        cdef sob_level small_undo[_SMALL]
        cdef sob_set *c = small_set
        cdef sob_level *undo = small_undo
        cdef void *heap = NULL
        cdef const sob_level_change *row
        cdef sob_status st = SOB_OK
        if arr is not None:
            PyObject_GetBuffer(arr, &view, PyBUF_SIMPLE | PyBUF_C_CONTIGUOUS)
            has_view = True
            base = <const char *>view.buf
            k = <size_t>view.len // sizeof(sob_level_change)
        else:
            if raw is None:
                return 0
            base = PyBytes_AS_STRING(raw)  # raw: our own reference, alive for the whole call
            k = <size_t>PyBytes_GET_SIZE(raw) // sizeof(sob_level_change)
        try:
            if k > _SMALL:
                heap = _batch_buffer(k)
                c = <sob_set *>heap
                undo = <sob_level *>(c + k)
            for i in range(k):
                row = <const sob_level_change *>(base + i * sizeof(sob_level_change))
                side = (<const signed char *>row)[0] if has_view else <signed char>row.side
                if side != 0 and side != 1:
                    raise InvalidBookError(f"changes[{i}]: side must be 0 (bid) or 1 (ask), got {side}")
                c[i].side = SOB_SIDE_BID if side == 0 else SOB_SIDE_ASK
                c[i].n = row.n
                c[i].d = row.d
                c[i].amount = row.new_amount
            if has_view:
                PyBuffer_Release(&view)
                has_view = False
            st = sob_book_apply_batch(&self._book, c, k, undo, &bad)
        finally:
            if has_view:
                PyBuffer_Release(&view)
            _batch_release(heap)
        if st == SOB_E_CROSSED:
            raise CrossedBookError("the batch would cross the book")
        if st:
            _raise(st, f"apply_diff: changes[{bad}]")
        return 0

    def clear(self):
        """Remove every level of both sides (the assets stay). O(1).

        >>> book = OrderBook("XLM", "USDC:GA5ZSEJYB37JRC5AVCIA5MOP4RHTM335X2KGX3IHOJAPP5RE34K4KZVN")
        >>> book.set_level("ask", 11, 100, 5)
        >>> book.clear(); len(book)
        0
        """
        sob_book_assign(&self._book, NULL, 0, NULL, 0)

    # -- reads ------------------------------------------------------------------------------
    cdef Level _best(self, int side):
        cdef sob_side *s = &self._book.side[side]
        if s.len == 0:
            return None
        cdef sob_level top = s.lv[s.len - 1]  # a copy: making the Level may run anything
        cdef sob_level *key = &self._best_key[side]
        # Levels are immutable: hand back the same object while the top is unchanged (compared
        # as C integers, so a read that hits the cache boxes nothing).
        if top.n == key.n and top.d == key.d and top.amount == key.amount:
            return self._best_cache_bid if side == SOB_SIDE_BID else self._best_cache_ask
        cdef Level c = _level(&top)
        key[0] = top
        if side == SOB_SIDE_BID:
            self._best_cache_bid = c
        else:
            self._best_cache_ask = c
        return c

    def best_bid(self):
        """The highest bid as Level(price, amount in counter), or None. O(1)."""
        return self._best(SOB_SIDE_BID)

    def best_ask(self):
        """The lowest ask as Level(price, amount in base), or None. O(1)."""
        return self._best(SOB_SIDE_ASK)

    cdef bint _tops(self, int32_t *out):
        """best bid n, d, best ask n, d into out[0..3]; False if a side is empty."""
        cdef sob_side *b = &self._book.side[SOB_SIDE_BID]
        cdef sob_side *a = &self._book.side[SOB_SIDE_ASK]
        if b.len == 0 or a.len == 0:
            return False
        out[0] = b.lv[b.len - 1].n
        out[1] = b.lv[b.len - 1].d
        out[2] = a.lv[a.len - 1].n
        out[3] = a.lv[a.len - 1].d
        return True

    def spread(self):
        """best ask - best bid (counter per base), or None if a side is empty."""
        cdef int32_t t[4]
        if not self._tops(t):
            return None
        return Fraction(t[2], t[3]) - Fraction(t[0], t[1])

    def mid(self):
        """The exact midpoint ``(best bid + best ask) / 2`` as a Fraction (counter per base), or None
        when a side is empty. O(1).

        >>> book = OrderBook("XLM", "USDC:GA5ZSEJYB37JRC5AVCIA5MOP4RHTM335X2KGX3IHOJAPP5RE34K4KZVN")
        >>> book.apply_snapshot(bids=[(1, 10, 5)], asks=[(11, 100, 5)])
        >>> book.mid()
        Fraction(21, 200)
        """
        cdef int32_t t[4]
        if not self._tops(t):
            return None
        return (Fraction(t[2], t[3]) + Fraction(t[0], t[1])) / 2

    cdef list _levels(self, int side, object depth):
        """The best ``depth`` levels of a side as Level objects: copied out of the book first, so
        whatever runs while the objects are made (a finalizer, another thread) cannot make this
        read past the side or see it half changed."""
        cdef size_t want = _depth(depth)
        cdef sob_side *s = &self._book.side[side]
        cdef size_t k = want if want < s.len else s.len, i
        cdef sob_level small[_SMALL]
        cdef sob_level *buf = small
        if k > _SMALL:
            buf = <sob_level *>_alloc_array(k, sizeof(sob_level))
        try:
            k = sob_book_copy_best(&self._book, side, k, buf)
            return [_level(&buf[i]) for i in range(k)]
        finally:
            if buf != small:
                free(buf)

    def bids(self, depth=None):
        """The bid levels, best (highest) first."""
        return self._levels(SOB_SIDE_BID, depth)

    def asks(self, depth=None):
        """The ask levels, best (lowest) first."""
        return self._levels(SOB_SIDE_ASK, depth)

    def __len__(self):
        return self._book.side[0].len + self._book.side[1].len

    def __iter__(self):
        """(side, level) pairs: the bids best first, then the asks best first."""
        for lv in self._levels(SOB_SIDE_BID, None):
            yield BID, lv
        for lv in self._levels(SOB_SIDE_ASK, None):
            yield ASK, lv

    def __eq__(self, other):
        if not hasattr(other, "best_ask") or not hasattr(other, "bids"):
            return NotImplemented
        return (self._base == other.base and self._counter == other.counter
                and self.bids() == other.bids() and self.asks() == other.asks())

    __hash__ = None

    def __repr__(self):
        return (f"<OrderBook {self._base}/{self._counter} bids={self._book.side[0].len} "
                f"asks={self._book.side[1].len} ({IMPLEMENTATION})>")

    def copy(self):
        """An independent book with the same assets and levels. O(levels)."""
        cdef OrderBook other = OrderBook(self._base, self._counter)
        other._copy_from(self)
        return other

    cdef int _copy_from(self, OrderBook src) except -1:
        cdef sob_side *b = &src._book.side[SOB_SIDE_BID]
        cdef sob_side *a = &src._book.side[SOB_SIDE_ASK]
        cdef sob_status st = sob_book_assign(&self._book, b.lv, b.len, a.lv, a.len)
        if st:
            _raise(st, "copy")
        return 0

    def __reduce__(self):
        return (_rebuild, (self._base, self._counter, [tuple(l) for l in self.to_numpy("bid").tolist()],
                           [tuple(l) for l in self.to_numpy("ask").tolist()]))

    def to_numpy(self, side, depth=None):
        """A structured array (n int32, d int32, amount uint64), best first, made without a
        Python object per level."""
        cdef int s = _side(side)
        cdef size_t want = _depth(depth)
        cdef sob_side *sd = &self._book.side[s]
        cdef size_t k = want if want < sd.len else sd.len, got = 0
        arr = _empty_levels(k)
        cdef Py_buffer view
        if k:
            # Making the array may have run Python code (numpy's first import): copy what the
            # side holds now, at most k levels, and return only what was copied.
            PyObject_GetBuffer(arr, &view, PyBUF_WRITABLE)
            got = sob_book_copy_best(&self._book, s, k, <sob_level *>view.buf)
            PyBuffer_Release(&view)
            if got < k:
                arr = arr[:got]
        return arr

    # -- quotes -----------------------------------------------------------------------------
    def quote_buy(self, base_amount):
        """Buy ``base_amount`` stroops of base from the asks. Per level the taker takes
        t = min(left, level amount) and pays ceil(t*n/d) counter (rounded for the maker)."""
        cdef uint64_t amt = _quote_amount(base_amount)
        cdef sob_quote q
        sob_book_quote_buy(&self._book, amt, &q)
        return _quote(&q)

    def quote_sell(self, base_amount):
        """Sell ``base_amount`` stroops of base into the bids. A level that can absorb all that
        is left (left*n <= amount*d) pays floor(left*n/d); otherwise the taker takes the whole
        level and gives ceil(amount*d/n) base for it. Both round for the maker."""
        cdef uint64_t amt = _quote_amount(base_amount)
        cdef sob_quote q
        sob_book_quote_sell(&self._book, amt, &q)
        return _quote(&q)

    # -- invariants ---------------------------------------------------------------------------
    def check(self):
        """Raise InvalidBookError unless every invariant holds (sorted, valid, no zero level,
        not crossed). O(n); the tests call it after every step."""
        cdef sob_status st = sob_book_check(&self._book)
        if st == SOB_E_CROSSED:
            raise InvalidBookError("book is crossed")
        if st:
            raise InvalidBookError("book invariant broken (order, price or zero amount)")


    # -- Horizon ----------------------------------------------------------------------------
    def apply_horizon(self, data):
        """Replace the book with a Horizon /order_book body (bytes, bytearray, memoryview or
        str: a REST body or the ``data:`` of a stream event) and return what changed. Parsed by
        the C scanner straight into packed levels. Raises ParseError (with the byte offset) or
        AssetMismatchError and leaves the book as it was on bad input."""
        # The document belongs to this call. The diff object is made first: from the parse to
        # the change no Python code runs (a finalizer that changed the book in between would
        # make the diff describe another change than the one made).
        cdef BookDiff diff = BookDiff.__new__(BookDiff)
        cdef sob_order_book_doc doc
        sob_order_book_doc_init(&doc)
        try:
            _parse_doc(data, &doc)
            if not _asset_eq(&doc.base, &self._cbase) or not _asset_eq(&doc.counter, &self._ccounter):
                raise AssetMismatchError(
                    f"document is for {_asset_from_c(&doc.base)}/{_asset_from_c(&doc.counter)}, "
                    f"the book is {self._base}/{self._counter}")
            self._apply_doc(&doc, diff)
        finally:
            sob_order_book_doc_free(&doc)
        return diff

    @classmethod
    def from_horizon(cls, data):
        """A new book from a Horizon /order_book body."""
        cdef sob_order_book_doc doc
        sob_order_book_doc_init(&doc)
        try:
            _parse_doc(data, &doc)  # parsed once, into this call's own document
            book = cls(_asset_from_c(&doc.base), _asset_from_c(&doc.counter))
            if not isinstance(book, OrderBook):
                raise TypeError(f"{cls.__name__}() did not make an OrderBook")
            (<OrderBook>book)._apply_doc(&doc, BookDiff.__new__(BookDiff))
        finally:
            sob_order_book_doc_free(&doc)
        return book

    cdef int _apply_doc(self, sob_order_book_doc *doc, BookDiff diff) except -1:
        """Make the parsed document's sides the book, their diff against it into ``diff``."""
        self._replace(doc.bids.v, doc.bids.len, doc.asks.v, doc.asks.len, diff, "order book", "Horizon document")
        return 0

    cdef Py_ssize_t _replace(self, sob_level *bids, size_t nb, sob_level *asks, size_t na, BookDiff diff,
                             str what, str crossed) except -1:
        """Normalise both sides in place, diff them against the book into ``diff``, then assign
        them; returns how many levels changed. Pure C from the normalisation to the end: no Python
        code runs in between (a finalizer that changed the book meanwhile would make the diff
        describe another change than the one made). On error the book is as it was."""
        cdef size_t bad = 0, nbids, k
        cdef sob_status st = sob_levels_normalize(bids, nb, SOB_SIDE_BID, &nb, &bad)
        if st:
            _raise(st, f"{what} bids[{bad}]")
        st = sob_levels_normalize(asks, na, SOB_SIDE_ASK, &na, &bad)
        if st:
            _raise(st, f"{what} asks[{bad}]")
        cdef sob_changes changes
        sob_changes_init(&changes)
        try:
            # at most one change per level of the book and of the new sides: one allocation
            changes.cap = nb + na + self._book.side[0].len + self._book.side[1].len
            changes.v = <sob_level_change *>_alloc_array(changes.cap, sizeof(sob_level_change))
            st = sob_side_diff(&self._book, SOB_SIDE_BID, bids, nb, &changes)
            nbids = changes.len
            if not st:
                st = sob_side_diff(&self._book, SOB_SIDE_ASK, asks, na, &changes)
            if st:
                _raise(st, f"{what} diff")
            k = changes.len
            raw = PyBytes_FromStringAndSize(<const char *>changes.v, <Py_ssize_t>(k * sizeof(sob_level_change)))
        finally:
            sob_changes_free(&changes)
        st = sob_book_assign(&self._book, bids, nb, asks, na)
        if st == SOB_E_CROSSED:
            raise CrossedBookError(f"{crossed} is crossed: best bid > best ask")
        if st:
            _raise(st, what)
        diff._set(raw, nbids)
        return <Py_ssize_t>k


cdef int _parse_doc(object data, sob_order_book_doc *doc) except -1:
    """Parse a Horizon /order_book document into ``doc`` (this call's own)."""
    cdef _Input inp
    cdef Py_buffer view
    cdef sob_parse_error err
    cdef sob_status st
    owner = _input(data, &inp, &view)
    # A level takes at least 38 bytes of JSON: start both sides near what this document can hold
    # (the scanner still grows them if needed), so a 200-level book is one allocation per side.
    cdef size_t cap = <size_t>inp.len // 38 + 1
    if cap > 512:
        cap = 512
    try:
        _presize(<void **>&doc.bids.v, &doc.bids.cap, cap, sizeof(sob_level))
        _presize(<void **>&doc.asks.v, &doc.asks.cap, cap, sizeof(sob_level))
        st = sob_parse_order_book(inp.buf, inp.len, doc, &err)
    finally:
        _input_release(&inp, &view)
    if st != SOB_OK:
        _raise(st, "order book", &err)
    return 0


cdef object _asset_from_c(const sob_asset *a):
    if a.type == 0:
        return Asset.native()
    return Asset(a.code[:strlen(a.code)].decode(), a.issuer[:strlen(a.issuer)].decode())


def _rebuild(base, counter, bids, asks):
    book = OrderBook(base, counter)
    book.apply_snapshot(bids, asks)
    return book
