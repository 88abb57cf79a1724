# csrc/offerbook.h: the per-offer (L3) book and its simulate walk.
from libc.stdint cimport int32_t, int64_t, uint64_t

from stellar_ob._c.exchange cimport sob_rounding
from stellar_ob._c.sob_common cimport sob_status

cdef extern from "offerbook.h":
    ctypedef struct sob_offer:
        double key
        int64_t id
        int64_t amount
        uint64_t seller
        int64_t adjusted
        int32_t n
        int32_t d
    ctypedef struct sob_sellers:
        size_t nreleased
    ctypedef struct sob_offerbook:
        sob_sellers sellers
    ctypedef struct sob_fill:
        int64_t offer_id
        int64_t wheat
        int64_t sheep
        int64_t remaining
    ctypedef struct sob_sim:
        int side
        sob_rounding round
        int64_t max_sheep_send
        int64_t max_wheat_receive
        int has_limit
        int32_t limit_n
        int32_t limit_d
        int passive
        uint64_t taker
        size_t max_offers
    ctypedef struct sob_sim_out:
        int64_t sent
        int64_t received
        size_t nfills
        int result
    int SOB_MAX_OFFERS_TO_CROSS
    void sob_offerbook_init(sob_offerbook *b)
    void sob_offerbook_free(sob_offerbook *b)
    void sob_offerbook_clear(sob_offerbook *b)
    sob_status sob_offerbook_add(sob_offerbook *b, int64_t id, int side, int32_t n, int32_t d, int64_t amount,
                                 uint64_t seller)
    sob_status sob_offerbook_remove(sob_offerbook *b, int64_t id, sob_offer *removed, int *side)
    sob_status sob_offerbook_get(const sob_offerbook *b, int64_t id, sob_offer *out, int *side)
    sob_status sob_offerbook_update(sob_offerbook *b, int64_t id, int64_t amount, int32_t n, int32_t d)
    sob_status sob_offerbook_apply_fill(sob_offerbook *b, int64_t id, int64_t sold, int64_t *left)
    size_t sob_offerbook_count(const sob_offerbook *b, int side)
    size_t sob_offerbook_copy(const sob_offerbook *b, int side, size_t start, size_t max, sob_offer *out)
    sob_status sob_offerbook_simulate(const sob_offerbook *b, const sob_sim *p, sob_fill *fills, sob_sim_out *out)
    sob_status sob_offerbook_apply_fills(sob_offerbook *b, const sob_fill *fills, size_t k)
    sob_status sob_offerbook_check(const sob_offerbook *b)
    sob_status sob_offerbook_seller_new(sob_offerbook *b, uint64_t *handle)
    void sob_offerbook_seller_drop(sob_offerbook *b, uint64_t handle)
    int sob_offerbook_take_released(sob_offerbook *b, uint64_t *handle)
    size_t sob_offerbook_sellers_live(const sob_offerbook *b)
