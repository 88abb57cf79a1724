# csrc/book.h: the L2 book.
from libc.stdint cimport int32_t, int64_t, uint32_t, uint64_t

from stellar_ob._c.sob_common cimport sob_level, sob_status

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
