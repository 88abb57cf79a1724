# csrc/sob_common.h: the status codes and the packed level, declared once for every binding.
from libc.stdint cimport int32_t, uint64_t

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
