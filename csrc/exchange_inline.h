/* exchange_inline.h: exchangeV10 with core's exceptions, as inline functions (private to the core).
 * exchange.c exports them as sob_exchange_v10_raw / sob_exchange_v10_checked; dex.c inlines them
 * into its book walk. Mirrors core src/transactions/OfferExchange.cpp:551-781, util/numeric.cpp. */
#ifndef SOB_EXCHANGE_INLINE_H
#define SOB_EXCHANGE_INLINE_H

#include "exchange.h"

#if defined(__GNUC__)
#define SOB_ALWAYS_INLINE __attribute__((always_inline)) inline
#else
#define SOB_ALWAYS_INLINE inline
#endif

static inline sob_u128 sob_mul64_(int64_t a, int64_t b) { return (sob_u128)(uint64_t)a * (uint64_t)b; }
static inline sob_u128 sob_min128_(sob_u128 a, sob_u128 b) { return a < b ? a : b; }
static inline int64_t sob_min64_(int64_t a, int64_t b) { return a < b ? a : b; }

/* a/b and ceil(a/b) for quotients known to fit int64 (see sob_xv10_fast) */
static inline int64_t sob_div_down_(sob_u128 a, int64_t b) {
    if ((uint64_t)(a >> 64) == 0) return (int64_t)((uint64_t)a / (uint64_t)b);
    return (int64_t)(a / (uint64_t)b);
}

static inline int64_t sob_div_up_(sob_u128 a, int64_t b) {
    if ((uint64_t)(a >> 64) == 0) {
        uint64_t lo = (uint64_t)a;
        return (int64_t)(lo / (uint64_t)b + (lo % (uint64_t)b != 0));
    }
    return (int64_t)(a / (uint64_t)b + (a % (uint64_t)b != 0));
}

/* bigDivide (numeric.cpp:15-45): A*B/C rounded; 0 when the result exceeds INT64_MAX. */
static inline int sob_big_divide_(int64_t *res, int64_t a, int64_t b, int64_t c, int round_up) {
    sob_u128 x = sob_mul64_(a, b);
    sob_u128 q;
    if ((uint64_t)(x >> 64) == 0) {
        uint64_t lo = (uint64_t)x;
        q = lo / (uint64_t)c + (round_up && lo % (uint64_t)c != 0);
    } else {
        q = x / (uint64_t)c;
        if (round_up && x % (uint64_t)c != 0) q += 1;
    }
    if (q > (sob_u128)INT64_MAX) return 0;
    *res = (int64_t)q;
    return 1;
}

/* bigDivide128 (numeric.cpp:58-105) rounding down: a/B; 0 when the result exceeds INT64_MAX. */
static inline int sob_big_divide_128_down_(int64_t *res, sob_u128 a, int64_t b) {
    sob_u128 q = ((uint64_t)(a >> 64) == 0) ? (sob_u128)((uint64_t)a / (uint64_t)b) : a / (uint64_t)b;
    if (q > (sob_u128)INT64_MAX) return 0;
    *res = (int64_t)q;
    return 1;
}

static inline sob_status sob_xv10_raw(int32_t n, int32_t d, int64_t max_wheat_send, int64_t max_wheat_receive,
                                      int64_t max_sheep_send, int64_t max_sheep_receive, sob_rounding round,
                                      sob_exchange *out, sob_throw *thrown) {
    *thrown = SOB_THROW_NONE;
    out->wheat = out->sheep = 0;
    out->wheat_stays = 0;
    if (n <= 0 || d <= 0 || max_wheat_send < 0 || max_wheat_receive < 0 || max_sheep_send < 0 ||
        max_sheep_receive < 0 || (unsigned)round > SOB_ROUND_STRICT_RECEIVE)
        return SOB_E_INVALID;
    /* exchangeV10WithoutPriceErrorThresholds (OfferExchange.cpp:631-699); calculateOfferValue l.218 */
    sob_u128 wheat_value = sob_min128_(sob_mul64_(max_wheat_send, n), sob_mul64_(max_sheep_receive, d));
    sob_u128 sheep_value = sob_min128_(sob_mul64_(max_sheep_send, d), sob_mul64_(max_wheat_receive, n));
    int wheat_stays = wheat_value > sheep_value;
    int64_t wheat = 0, sheep = 0;
    int ok;
    if (wheat_stays) {
        if (round == SOB_ROUND_STRICT_SEND) { /* l.648-652 */
            ok = sob_big_divide_128_down_(&wheat, sheep_value, n);
            if (!ok) goto overflow128;
            sheep = sob_min64_(max_sheep_send, max_sheep_receive);
        } else if (n > d || round == SOB_ROUND_STRICT_RECEIVE) { /* l.653-659: wheat is more valuable */
            if (!sob_big_divide_128_down_(&wheat, sheep_value, n)) goto overflow128;
            if (!sob_big_divide_(&sheep, wheat, n, d, 1)) goto overflow;
        } else { /* l.660-665: sheep is more valuable */
            if (!sob_big_divide_128_down_(&sheep, sheep_value, d)) goto overflow128;
            if (!sob_big_divide_(&wheat, sheep, d, n, 0)) goto overflow;
        }
    } else if (n > d) { /* l.669-674 */
        if (!sob_big_divide_128_down_(&wheat, wheat_value, n)) goto overflow128;
        if (!sob_big_divide_(&sheep, wheat, n, d, 0)) goto overflow;
    } else { /* l.675-680 */
        if (!sob_big_divide_128_down_(&sheep, wheat_value, d)) goto overflow128;
        if (!sob_big_divide_(&wheat, sheep, d, n, 1)) goto overflow;
    }
    /* l.683-692: "Neither of these should ever throw." */
    if (wheat < 0 || wheat > sob_min64_(max_wheat_receive, max_wheat_send)) {
        *thrown = SOB_THROW_WHEAT_OUT_OF_BOUNDS;
        return SOB_OK;
    }
    if (sheep < 0 || sheep > sob_min64_(max_sheep_receive, max_sheep_send)) {
        *thrown = SOB_THROW_SHEEP_OUT_OF_BOUNDS;
        return SOB_OK;
    }
    out->wheat = wheat;
    out->sheep = sheep;
    out->wheat_stays = wheat_stays;
    return SOB_OK;
overflow:
    *thrown = SOB_THROW_BIG_DIVIDE;
    return SOB_OK;
overflow128:
    *thrown = SOB_THROW_BIG_DIVIDE_128;
    return SOB_OK;
}

/* checkPriceErrorBound (OfferExchange.cpp:186-216): |100nW - 100dS| <= nW; with canFavorWheat a
 * taker paying more than the price (100dS > 100nW) always passes. */
static SOB_ALWAYS_INLINE int sob_price_error_ok_(int32_t n, int32_t d, int64_t wheat, int64_t sheep, int can_favor_wheat) {
    sob_u128 lhs = sob_mul64_(100 * (int64_t)n, wheat);
    sob_u128 rhs = sob_mul64_(100 * (int64_t)d, sheep);
    if (can_favor_wheat && rhs > lhs) return 1;
    sob_u128 diff = lhs > rhs ? lhs - rhs : rhs - lhs;
    return diff <= sob_mul64_(n, wheat);
}

static inline sob_status sob_xv10_checked(int32_t n, int32_t d, int64_t max_wheat_send, int64_t max_wheat_receive,
                                          int64_t max_sheep_send, int64_t max_sheep_receive, sob_rounding round,
                                          sob_exchange *out, sob_throw *thrown) {
    sob_status st = sob_xv10_raw(n, d, max_wheat_send, max_wheat_receive, max_sheep_send, max_sheep_receive,
                                         round, out, thrown);
    if (st != SOB_OK || *thrown) return st;
    /* applyPriceErrorThresholds (OfferExchange.cpp:701-781) */
    int64_t wheat = out->wheat, sheep = out->sheep;
    if (wheat > 0 && sheep > 0) {
        sob_u128 wheat_value = sob_mul64_(wheat, n), sheep_value = sob_mul64_(sheep, d);
        if (out->wheat_stays && sheep_value < wheat_value) {
            *thrown = SOB_THROW_FAVORED_SHEEP;
        } else if (!out->wheat_stays && sheep_value > wheat_value) {
            *thrown = SOB_THROW_FAVORED_WHEAT;
        } else if (round == SOB_ROUND_NORMAL) { /* l.723-732: more than 1% off: no trade */
            if (!sob_price_error_ok_(n, d, wheat, sheep, 0)) wheat = sheep = 0;
        } else if (!sob_price_error_ok_(n, d, wheat, sheep, 1)) { /* l.733-748 */
            *thrown = SOB_THROW_PRICE_ERROR_BOUND;
        }
    } else if (round == SOB_ROUND_STRICT_SEND) { /* l.754-764 */
        if (sheep == 0) *thrown = SOB_THROW_INVALID_SHEEP_SENT;
    } else { /* l.765-772 */
        wheat = sheep = 0;
    }
    if (*thrown) {
        out->wheat = out->sheep = 0;
        return SOB_OK;
    }
    out->wheat = wheat;
    out->sheep = sheep;
    return SOB_OK;
}


/* exchangeV10 for the book walk: the same results as sob_xv10_checked for every valid input
 * (n, d > 0, maxima >= 0), without the checks that cannot fire there. Core says of its bounds
 * checks "Neither of these should ever throw" (OfferExchange.cpp:683-692), and it is so: in each
 * branch of l.646-681 the quotient is bounded by a maximum (e.g. wheat stays, n > d: W =
 * floor(sheepValue/n) <= maxWheatReceive and S = ceil(W*n/d) <= ceil(sheepValue/d) <=
 * maxSheepSend), so no bigDivide overflows and no bound is passed; and the rounding always favours
 * the offer that stays (wheat stays: S*d >= W*n; taken: S*d <= W*n), so neither "favored" throw
 * fires. What remains reachable is kept: the path-payment price-error bound (l.733-748) and strict
 * send's "invalid amount of sheep sent" (l.754-764). csrc/fuzz/fuzz_core_ops.c checks the two
 * versions agree on arbitrary inputs. Returns the throw, or SOB_THROW_NONE. */
static SOB_ALWAYS_INLINE sob_throw sob_xv10_fast(int32_t n, int32_t d, int64_t max_wheat_send, int64_t max_wheat_receive,
                                      int64_t max_sheep_send, int64_t max_sheep_receive, sob_rounding round,
                                      sob_exchange *out) {
    sob_u128 wheat_value = sob_min128_(sob_mul64_(max_wheat_send, n), sob_mul64_(max_sheep_receive, d));
    sob_u128 sheep_value = sob_min128_(sob_mul64_(max_sheep_send, d), sob_mul64_(max_wheat_receive, n));
    int wheat_stays = wheat_value > sheep_value;
    int64_t wheat, sheep;
    if (wheat_stays) {
        if (round == SOB_ROUND_STRICT_SEND) {
            wheat = sob_div_down_(sheep_value, n);
            sheep = sob_min64_(max_sheep_send, max_sheep_receive);
        } else if (n > d || round == SOB_ROUND_STRICT_RECEIVE) {
            wheat = sob_div_down_(sheep_value, n);
            sheep = sob_div_up_(sob_mul64_(wheat, n), d);
        } else {
            sheep = sob_div_down_(sheep_value, d);
            wheat = sob_div_down_(sob_mul64_(sheep, d), n);
        }
    } else if (n > d) {
        wheat = sob_div_down_(wheat_value, n);
        sheep = sob_div_down_(sob_mul64_(wheat, n), d);
    } else {
        sheep = sob_div_down_(wheat_value, d);
        wheat = sob_div_up_(sob_mul64_(sheep, d), n);
    }
    out->wheat_stays = wheat_stays;
    if (wheat > 0 && sheep > 0) {
        if (round == SOB_ROUND_NORMAL) {
            if (!sob_price_error_ok_(n, d, wheat, sheep, 0)) wheat = sheep = 0;
        } else if (!sob_price_error_ok_(n, d, wheat, sheep, 1)) {
            out->wheat = out->sheep = 0;
            return SOB_THROW_PRICE_ERROR_BOUND;
        }
    } else if (round == SOB_ROUND_STRICT_SEND) {
        if (sheep == 0) {
            out->wheat = out->sheep = 0;
            return SOB_THROW_INVALID_SHEEP_SENT;
        }
    } else {
        wheat = sheep = 0;
    }
    out->wheat = wheat;
    out->sheep = sheep;
    return SOB_THROW_NONE;
}

#endif
