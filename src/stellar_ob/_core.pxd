# Declarations of the C core (csrc/) used by the bindings, and the layout of the core's classes
# so that other Cython modules can cimport them.
from libc.stdint cimport int32_t, uint32_t, uint64_t, int64_t

cdef extern from "sob_common.h":
    ctypedef enum sob_status:
        SOB_OK
        SOB_E_PARSE
        SOB_E_INVALID
        SOB_E_OVERFLOW
        SOB_E_NOMEM
        SOB_E_CROSSED
        SOB_E_NOT_FOUND
        SOB_E_EXISTS
        SOB_E_CROSS_SELF
        SOB_E_MISMATCH
        SOB_E_LIMIT
    int SOB_SIDE_BID
    int SOB_SIDE_ASK
    ctypedef struct sob_level:
        int32_t n
        int32_t d
        uint64_t amount
    int sob_price_cmp(int32_t n1, int32_t d1, int32_t n2, int32_t d2)

cdef extern from "book.h":
    ctypedef struct sob_side:
        sob_level *lv
        uint32_t len
        uint32_t cap
    ctypedef struct sob_book:
        sob_side side[2]
    ctypedef struct sob_level_change:
        int32_t side
        int32_t n
        int32_t d
        uint64_t old_amount
        uint64_t new_amount
    ctypedef struct sob_changes:
        sob_level_change *v
        size_t len
        size_t cap
    ctypedef struct sob_set:
        int32_t side
        int32_t n
        int32_t d
        uint64_t amount
    ctypedef struct sob_quote:
        uint64_t base
        uint32_t levels
        int32_t worst_n
        int32_t worst_d
        int complete

    void sob_book_init(sob_book *b)
    void sob_book_free(sob_book *b)
    sob_status sob_book_set_level(sob_book *b, int side, int32_t n, int32_t d, uint64_t amount, sob_level *prev)
    sob_status sob_book_set_level_checked(sob_book *b, int side, int32_t n, int32_t d, uint64_t amount, sob_level *prev)
    sob_status sob_book_apply_batch(sob_book *b, const sob_set *c, size_t k, sob_level *undo, size_t *bad_index)
    int sob_book_crossed(const sob_book *b)
    sob_status sob_levels_normalize(sob_level *v, size_t k, int side, size_t *out_len, size_t *bad_index)
    sob_status sob_book_assign(sob_book *b, const sob_level *bids, size_t nb, const sob_level *asks, size_t na)
    sob_status sob_side_diff(const sob_book *b, int side, const sob_level *next, size_t k, sob_changes *out)
    size_t sob_book_copy_best(const sob_book *b, int side, size_t depth, sob_level *out)
    sob_status sob_book_quote_buy(const sob_book *b, uint64_t base_amount, sob_quote *q)
    sob_status sob_book_quote_sell(const sob_book *b, uint64_t base_amount, sob_quote *q)
    sob_status sob_book_check(const sob_book *b)
    void sob_changes_init(sob_changes *c)
    void sob_changes_free(sob_changes *c)
    uint64_t sob_quote_counter_hi(const sob_quote *q)
    uint64_t sob_quote_counter_lo(const sob_quote *q)


cdef extern from "horizon_json.h":
    ctypedef struct sob_asset:
        unsigned char type
        char code[13]
        char issuer[57]
    ctypedef struct sob_parse_error:
        size_t offset
        const char *reason
    ctypedef struct sob_levels:
        sob_level *v
        size_t len
        size_t cap
    ctypedef struct sob_order_book_doc:
        sob_asset base
        sob_asset counter
        sob_levels bids
        sob_levels asks
    void sob_order_book_doc_init(sob_order_book_doc *doc)
    void sob_order_book_doc_free(sob_order_book_doc *doc)
    sob_status sob_parse_order_book(const char *buf, size_t len, sob_order_book_doc *out, sob_parse_error *err)


cdef class Price:
    cdef readonly int32_t n
    cdef readonly int32_t d


cdef class Level:
    cdef readonly Price price
    cdef readonly object amount


cdef class LevelChange:
    cdef readonly str side
    cdef readonly Price price
    cdef readonly object old_amount
    cdef readonly object new_amount


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
    cdef readonly object counter
    cdef readonly object worst_price
    cdef readonly int levels
    cdef readonly bint complete


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
    cdef int _assign(self, sob_level *bids, size_t nb, sob_level *asks, size_t na, str what) except -1
    cdef list _levels(self, int side, object depth)
    cdef Level _best(self, int side)
    cdef bint _tops(self, int32_t *out)
    cdef int _copy_from(self, OrderBook src) except -1
