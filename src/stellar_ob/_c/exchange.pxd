# csrc/exchange.h: stellar-core's crossing math.
from libc.stdint cimport int32_t, int64_t

from stellar_ob._c.sob_common cimport sob_status

cdef extern from "exchange.h":
    ctypedef enum sob_rounding:
        SOB_ROUND_NORMAL
        SOB_ROUND_STRICT_SEND
        SOB_ROUND_STRICT_RECEIVE
    ctypedef struct sob_exchange:
        int64_t wheat
        int64_t sheep
        int wheat_stays
    sob_status sob_exchange_v10(int32_t n, int32_t d, int64_t max_wheat_send, int64_t max_wheat_receive,
                                int64_t max_sheep_send, int64_t max_sheep_receive, sob_rounding round,
                                sob_exchange *out) nogil
    int64_t sob_adjust_offer(int32_t n, int32_t d, int64_t max_wheat_send, int64_t max_sheep_receive) nogil
    sob_status sob_pool_strict_send(int64_t reserve_to, int64_t reserve_from, int32_t fee_bp, int64_t to_pool,
                                    int64_t *from_pool, int *ok) nogil
    sob_status sob_pool_strict_receive(int64_t reserve_to, int64_t reserve_from, int32_t fee_bp, int64_t from_pool,
                                       int64_t *to_pool, int *ok) nogil
