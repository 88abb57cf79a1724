/* exchange.c: stellar-core's exchangeV10, adjustOffer and exchangeWithPool, exactly.
 * Mirrors core src/transactions/OfferExchange.cpp; comments name the core function. */
#include "exchange.h"

static inline sob_u128 mul64(int64_t a, int64_t b) { return (sob_u128)(uint64_t)a * (uint64_t)b; }

static inline sob_u128 min128(sob_u128 a, sob_u128 b) { return a < b ? a : b; }

static inline int64_t min64(int64_t a, int64_t b) { return a < b ? a : b; }

/* bigDivide(a*b/c) for results known to fit int64 (core proves the bounds). */
static inline int64_t div_down(sob_u128 num, int64_t den) {
    if ((uint64_t)(num >> 64) == 0) return (int64_t)((uint64_t)num / (uint64_t)den); /* fast path */
    return (int64_t)(num / (uint64_t)den);
}

static inline int64_t div_up(sob_u128 num, int64_t den) {
    if ((uint64_t)(num >> 64) == 0) {
        uint64_t lo = (uint64_t)num;
        return (int64_t)(lo / (uint64_t)den + (lo % (uint64_t)den != 0));
    }
    sob_u128 q = num / (uint64_t)den;
    return (int64_t)(q + (num % (uint64_t)den != 0));
}

sob_status sob_exchange_v10(int32_t n, int32_t d, int64_t max_wheat_send, int64_t max_wheat_receive,
                            int64_t max_sheep_send, int64_t max_sheep_receive, sob_rounding round,
                            sob_exchange *out) {
    if (n <= 0 || d <= 0 || max_wheat_send < 0 || max_wheat_receive < 0 || max_sheep_send < 0 ||
        max_sheep_receive < 0)
        return SOB_E_INVALID;
    /* exchangeV10WithoutPriceErrorThresholds */
    sob_u128 wheat_value = min128(mul64(max_wheat_send, n), mul64(max_sheep_receive, d));
    sob_u128 sheep_value = min128(mul64(max_sheep_send, d), mul64(max_wheat_receive, n));
    int wheat_stays = wheat_value > sheep_value;
    int64_t wheat, sheep;
    if (wheat_stays) {
        if (round == SOB_ROUND_STRICT_SEND) {
            wheat = div_down(sheep_value, n);
            sheep = min64(max_sheep_send, max_sheep_receive);
        } else if (n > d || round == SOB_ROUND_STRICT_RECEIVE) {
            wheat = div_down(sheep_value, n);
            sheep = div_up(mul64(wheat, n), d);
        } else {
            sheep = div_down(sheep_value, d);
            wheat = div_down(mul64(sheep, d), n);
        }
    } else {
        if (n > d) {
            wheat = div_down(wheat_value, n);
            sheep = div_down(mul64(wheat, n), d);
        } else {
            sheep = div_down(wheat_value, d);
            wheat = div_up(mul64(sheep, d), n);
        }
    }
    /* applyPriceErrorThresholds */
    if (wheat > 0 && sheep > 0) {
        if (round == SOB_ROUND_NORMAL) {
            /* checkPriceErrorBound(canFavorWheat = false): |100nW - 100dS| <= nW */
            sob_u128 lhs = mul64(100 * (int64_t)n, wheat);
            sob_u128 rhs = mul64(100 * (int64_t)d, sheep);
            sob_u128 diff = lhs > rhs ? lhs - rhs : rhs - lhs;
            if (diff > mul64(n, wheat)) wheat = sheep = 0;
        }
    } else if (round != SOB_ROUND_STRICT_SEND) {
        wheat = sheep = 0;
    }
    out->wheat = wheat;
    out->sheep = sheep;
    out->wheat_stays = wheat_stays;
    return SOB_OK;
}

int64_t sob_adjust_offer(int32_t n, int32_t d, int64_t max_wheat_send, int64_t max_sheep_receive) {
    sob_exchange ex;
    if (sob_exchange_v10(n, d, max_wheat_send, INT64_MAX, INT64_MAX, max_sheep_receive, SOB_ROUND_NORMAL, &ex) !=
        SOB_OK)
        return 0;
    return ex.wheat;
}

/* core hugeDivide: a * b / c with a <= 10000, c < 2^79, rounded; 0 if it does not fit int64. */
static int huge_divide(int64_t *res, int32_t a, sob_u128 b, sob_u128 c, int round_up) {
    sob_u128 q = b / c, r = b % c;
    if (q > (sob_u128)INT64_MAX) return 0;
    sob_u128 hi = q * (uint32_t)a;           /* < 2^77 */
    sob_u128 rr = r * (uint32_t)a;           /* < 2^93 */
    sob_u128 lo = rr / c;
    if (round_up && rr % c != 0) lo += 1;
    sob_u128 total = hi + lo;
    if (total > (sob_u128)INT64_MAX) return 0;
    *res = (int64_t)total;
    return 1;
}

sob_status sob_pool_strict_send(int64_t reserve_to, int64_t reserve_from, int32_t fee_bp, int64_t to_pool,
                                int64_t *from_pool, int *ok) {
    *ok = 0;
    *from_pool = 0;
    if (fee_bp < 0 || fee_bp >= 10000 || to_pool < 0) return SOB_E_INVALID;
    if (reserve_to <= 0 || reserve_from <= 0 || to_pool == 0) return SOB_OK;
    if (to_pool > INT64_MAX - reserve_to) return SOB_OK;
    int32_t keep = 10000 - fee_bp;
    sob_u128 den = mul64(10000, reserve_to) + mul64(keep, to_pool);
    int64_t y;
    if (!huge_divide(&y, keep, mul64(reserve_from, to_pool), den, 0) || y == 0) return SOB_OK;
    *from_pool = y;
    *ok = 1;
    return SOB_OK;
}

sob_status sob_pool_strict_receive(int64_t reserve_to, int64_t reserve_from, int32_t fee_bp, int64_t from_pool,
                                   int64_t *to_pool, int *ok) {
    *ok = 0;
    *to_pool = 0;
    if (fee_bp < 0 || fee_bp >= 10000 || from_pool < 0) return SOB_E_INVALID;
    if (reserve_to <= 0 || reserve_from <= 0 || from_pool == 0) return SOB_OK;
    if (from_pool >= reserve_from) return SOB_OK;
    int64_t x;
    if (!huge_divide(&x, 10000, mul64(reserve_to, from_pool), mul64(reserve_from - from_pool, 10000 - fee_bp), 1))
        return SOB_OK;
    if (x > INT64_MAX - reserve_to) return SOB_OK;
    *to_pool = x;
    *ok = 1;
    return SOB_OK;
}
