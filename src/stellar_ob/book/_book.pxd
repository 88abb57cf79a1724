# The layout of the L2 core's classes, so that other Cython modules can cimport them; the C
# declarations are in _c/ (one .pxd per csrc header).
from libc.stdint cimport int32_t

from stellar_ob._c.book cimport sob_book
from stellar_ob._c.horizon_json cimport sob_asset, sob_order_book_doc
from stellar_ob._c.sob_common cimport sob_level


cdef class Price:
    cdef readonly int32_t n
    """Numerator: an int32 > 0, kept as given (not reduced)."""
    cdef readonly int32_t d
    """Denominator: an int32 > 0, kept as given (not reduced)."""


cdef class Level:
    cdef readonly Price price
    """The level's price (:class:`Price`, counter per base) as Horizon or the caller gave it."""
    cdef readonly object amount
    """Stroops at that price: base for asks, counter for bids (uint64: may exceed int64)."""


cdef class LevelChange:
    cdef readonly str side
    """``"bid"`` or ``"ask"``."""
    cdef readonly Price price
    """The level's price (:class:`Price`)."""
    cdef readonly object old_amount
    """Stroops at that price before the change (0: the level is new)."""
    cdef readonly object new_amount
    """Stroops at that price after the change (0: the level was removed)."""


cdef class BookDiff:
    cdef bytes _raw          # packed sob_level_change array, bids first (None: empty)
    cdef size_t _nbids
    cdef list _bids_cache
    cdef list _asks_cache
    cdef void _set(self, bytes raw, size_t nbids)
    cdef size_t _len(self)
    cdef list _changes(self, bint bids)


cdef class Quote:
    cdef readonly object base
    """Base stroops filled (the whole amount asked when :attr:`complete`)."""
    cdef readonly object counter
    """Counter stroops paid (``quote_buy``, rounded up per level) or received (``quote_sell``,
    rounded down per level)."""
    cdef readonly object worst_price
    """The price of the last level touched (:class:`Price`), None when nothing filled."""
    cdef readonly int levels
    """How many levels the walk touched."""
    cdef readonly bint complete
    """True when the book held enough to fill the whole amount."""


cdef class OrderBook:
    cdef sob_book _book
    cdef object _base
    cdef object _counter
    cdef Level _best_cache_bid
    cdef Level _best_cache_ask
    cdef sob_level _best_key[2]  # n/d/amount of the cached best levels (zeroed: no cache yet)
    cdef object __weakref__
    cdef sob_asset _cbase
    cdef sob_asset _ccounter
    cdef int _apply_doc(self, sob_order_book_doc *doc, BookDiff diff) except -1
    cdef Py_ssize_t _replace(self, sob_level *bids, size_t nb, sob_level *asks, size_t na, BookDiff diff,
                             str what, str crossed) except -1
    cdef int _assign(self, sob_level *bids, size_t nb, sob_level *asks, size_t na, str what) except -1
    cdef list _levels(self, int side, object depth)
    cdef Level _best(self, int side)
    cdef bint _tops(self, int32_t *out)
    cdef int _copy_from(self, OrderBook src) except -1
    cdef int _apply_packed(self, bytes raw, object arr) except -1
