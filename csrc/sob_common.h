/* sob_common.h: types and status codes shared by every part of the stellar_ob C core.
 *
 * The core is plain C11 (plus the GCC/Clang __int128 extension for exact 128-bit products) and
 * knows nothing of Python. Every function returns an sob_status; results come back through
 * pointers. The Cython layer maps each status to one exception class (stellar_ob.errors).
 */
#ifndef SOB_COMMON_H
#define SOB_COMMON_H

#include <stddef.h>
#include <stdint.h>

typedef unsigned __int128 sob_u128;
typedef __int128 sob_i128;

typedef enum sob_status {
    SOB_OK = 0,
    SOB_E_PARSE = 1,       /* malformed input (JSON, amount or price text) */
    SOB_E_INVALID = 2,     /* well-formed but invalid value (n or d <= 0, bad side, ...) */
    SOB_E_OVERFLOW = 3,    /* an amount or total does not fit its integer type */
    SOB_E_NOMEM = 4,       /* allocation failed */
    SOB_E_CROSSED = 5,     /* the book would be crossed (best bid > best ask) */
    SOB_E_NOT_FOUND = 6,   /* no such offer / level */
    SOB_E_EXISTS = 7,      /* an offer with that id already exists */
    SOB_E_CROSS_SELF = 8,  /* the taker would cross its own offer (core: CROSS_SELF) */
    SOB_E_MISMATCH = 9,    /* a document's assets differ from the book's */
    SOB_E_LIMIT = 10       /* a size limit was reached (nesting depth, offers crossed, ...) */
} sob_status;

#define SOB_SIDE_BID 0
#define SOB_SIDE_ASK 1

/* A price: n/d of two int32, both > 0 where valid. Kept as given, never forced to lowest terms. */
typedef struct sob_price {
    int32_t n;
    int32_t d;
} sob_price;

/* One aggregated (L2) level. 16 bytes; the same layout as the numpy dtype
 * [("n", int32), ("d", int32), ("amount", uint64)] that to_numpy() returns. */
typedef struct sob_level {
    int32_t n;
    int32_t d;
    uint64_t amount; /* stroops: base for asks, counter for bids (Horizon's units) */
} sob_level;

/* Exact comparison of two positive rationals: -1, 0, 1. Products fit in int64. */
static inline int sob_price_cmp(int32_t n1, int32_t d1, int32_t n2, int32_t d2) {
    int64_t a = (int64_t)n1 * (int64_t)d2;
    int64_t b = (int64_t)n2 * (int64_t)d1;
    return (a > b) - (a < b);
}

static inline int sob_price_valid(int64_t n, int64_t d) {
    return n > 0 && d > 0 && n <= INT32_MAX && d <= INT32_MAX;
}

#endif
