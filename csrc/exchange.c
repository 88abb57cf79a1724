/* exchange.c: stellar-core's exchangeV10, adjustOffer and exchangeWithPool, exactly.
 * Mirrors core src/transactions/OfferExchange.cpp; comments name the core function. */
#include "exchange.h"
#include "exchange_inline.h"

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

/* ---- the checked versions: core exactly, exceptions included ------------------------------- */

typedef struct throw_info {
    const char *message;
    const char *where;
} throw_info;

static const throw_info THROWS[SOB_THROW_COUNT] = {
    [SOB_THROW_NONE] = {"", ""},
    [SOB_THROW_BIG_DIVIDE] = {"overflow while performing bigDivide", "numeric.cpp:53"},
    [SOB_THROW_BIG_DIVIDE_128] = {"overflow while performing bigDivide", "numeric.cpp:113"},
    [SOB_THROW_WHEAT_OUT_OF_BOUNDS] = {"wheatReceive out of bounds", "OfferExchange.cpp:687"},
    [SOB_THROW_SHEEP_OUT_OF_BOUNDS] = {"sheepSend out of bounds", "OfferExchange.cpp:691"},
    [SOB_THROW_FAVORED_SHEEP] = {"favored sheep when wheat stays", "OfferExchange.cpp:716"},
    [SOB_THROW_FAVORED_WHEAT] = {"favored wheat when sheep stays", "OfferExchange.cpp:720"},
    [SOB_THROW_PRICE_ERROR_BOUND] = {"exceeded price error bound", "OfferExchange.cpp:746"},
    [SOB_THROW_INVALID_SHEEP_SENT] = {"invalid amount of sheep sent", "OfferExchange.cpp:762"},
    [SOB_THROW_POOL_FEE] = {"Liquidity pool fee out of range", "OfferExchange.cpp:1251"},
    [SOB_THROW_POOL_RESERVE] = {"non-positive reserve in exchangeWithPool", "OfferExchange.cpp:1258"},
    [SOB_THROW_POOL_SEND_BOUNDED] = {"strict send with bounded receive?", "OfferExchange.cpp:1271"},
    [SOB_THROW_POOL_RECEIVED_TOO_MUCH] = {"received too much from pool", "OfferExchange.cpp:1317"},
    [SOB_THROW_POOL_FROM_NEGATIVE] = {"fromPool is negative", "OfferExchange.cpp:1322"},
    [SOB_THROW_POOL_RECEIVE_BOUNDED] = {"strict receive with bounded send?", "OfferExchange.cpp:1336"},
    [SOB_THROW_POOL_TO_NEGATIVE] = {"toPool is negative", "OfferExchange.cpp:1358"},
    [SOB_THROW_POOL_RESERVES_UPDATE] = {"could not update reserves", "OfferExchange.cpp:1449/1464"},
    [SOB_THROW_POOL_ROUNDING] = {"Invalid rounding type", "OfferExchange.cpp:1366"},
    [SOB_THROW_ACCOUNT_STATE] = {"unexpected account state", "TransactionUtils.cpp:908"},
    [SOB_THROW_AUTHORIZATION] = {"Invalid authorization", "TransactionUtils.cpp:195"},
    [SOB_THROW_SELL_NO_ACCOUNT] = {"account does not exist", "OfferExchange.cpp:61"},
    [SOB_THROW_BUY_NO_ACCOUNT] = {"account does not exist", "OfferExchange.cpp:96"},
    [SOB_THROW_LIAB_NO_ACCOUNT] = {"account does not exist", "TransactionUtils.cpp:502"},
    [SOB_THROW_LIAB_NO_TRUSTLINE] = {"trustline does not exist", "TransactionUtils.cpp:511"},
    [SOB_THROW_BUYING_LIABILITIES] = {"could not add buying liabilities", "TransactionUtils.cpp:524/532"},
    [SOB_THROW_SELLING_LIABILITIES] = {"could not add selling liabilities", "TransactionUtils.cpp:544/552"},
    [SOB_THROW_SAME_ASSET] = {"buying and selling same asset", "TransactionUtils.cpp:494"},
    [SOB_THROW_SUBENTRIES] = {"invalid account state", "SponsorshipUtils.cpp:552"},
    [SOB_THROW_SELF_SPONSOR] = {"sponsoringID == sourceAccount for non-CLAIMABLE_BALANCE entry",
                                "SponsorshipUtils.cpp:824"},
    [SOB_THROW_NO_SELLER] = {"invalid database state: offer must have matching account", "OfferExchange.cpp:1122"},
    [SOB_THROW_SHEEP_BALANCE] = {"overflowed sheep balance", "OfferExchange.cpp:1165/1172"},
    [SOB_THROW_WHEAT_BALANCE] = {"overflowed wheat balance", "OfferExchange.cpp:1183/1190"},
    [SOB_THROW_CLAIMED_OVER_LIMIT] = {"offer claimed over limit", "ManageOfferOpFrameBase.cpp:425/434"},
    [SOB_THROW_SOLD_OVER_BALANCE] = {"offer sold more than balance", "ManageOfferOpFrameBase.cpp:444/453"},
    [SOB_THROW_SOURCE_DEBIT] = {"releaseAssertOrThrow(ok)", "PathPaymentOpFrameBase.cpp:207"},
    [SOB_THROW_ASSERT] = {"releaseAssertOrThrow", "(an internal assertion of core)"},
};

const char *sob_throw_message(sob_throw t) {
    return ((unsigned)t < SOB_THROW_COUNT) ? THROWS[t].message : "unknown";
}

const char *sob_throw_where(sob_throw t) { return ((unsigned)t < SOB_THROW_COUNT) ? THROWS[t].where : "unknown"; }

sob_status sob_exchange_v10_raw(int32_t n, int32_t d, int64_t max_wheat_send, int64_t max_wheat_receive,
                                int64_t max_sheep_send, int64_t max_sheep_receive, sob_rounding round,
                                sob_exchange *out, sob_throw *thrown) {
    return sob_xv10_raw(n, d, max_wheat_send, max_wheat_receive, max_sheep_send, max_sheep_receive, round, out,
                        thrown);
}

sob_status sob_exchange_v10_checked(int32_t n, int32_t d, int64_t max_wheat_send, int64_t max_wheat_receive,
                                    int64_t max_sheep_send, int64_t max_sheep_receive, sob_rounding round,
                                    sob_exchange *out, sob_throw *thrown) {
    return sob_xv10_checked(n, d, max_wheat_send, max_wheat_receive, max_sheep_send, max_sheep_receive, round, out,
                            thrown);
}

/* hugeDivide (numeric.cpp:285-332): a*B/C for a int32 >= 0 and B, C uint128; 0 past INT64_MAX. */
static int huge_divide_checked(int64_t *res, int32_t a, sob_u128 b, sob_u128 c, int round_up, sob_throw *thrown) {
    if (a < 0 || c == 0 || c > mul64(INT32_MAX, INT64_MAX)) { /* l.292-294 */
        *thrown = SOB_THROW_ASSERT;
        return 0;
    }
    return huge_divide(res, a, b, c, round_up);
}

sob_status sob_pool_exchange_checked(int64_t reserve_to, int64_t max_send, int64_t reserve_from, int64_t max_receive,
                                     int32_t fee_bp, sob_rounding round, int64_t *to_pool, int64_t *from_pool,
                                     int *ok, sob_throw *thrown) {
    *ok = 0;
    *to_pool = *from_pool = 0;
    *thrown = SOB_THROW_NONE;
    if (max_send < 0 || max_receive < 0 || (unsigned)round > SOB_ROUND_STRICT_RECEIVE) return SOB_E_INVALID;
    if (fee_bp < 0 || fee_bp >= 10000) { /* l.1248-1252 */
        *thrown = SOB_THROW_POOL_FEE;
        return SOB_OK;
    }
    if (reserve_to <= 0 || reserve_from <= 0) { /* l.1254-1259 */
        *thrown = SOB_THROW_POOL_RESERVE;
        return SOB_OK;
    }
    int32_t keep = 10000 - fee_bp;
    if (round == SOB_ROUND_STRICT_SEND) { /* l.1263-1328 */
        if (max_receive != INT64_MAX) {
            *thrown = SOB_THROW_POOL_SEND_BOUNDED;
            return SOB_OK;
        }
        if (max_send > INT64_MAX - reserve_to) return SOB_OK;
        sob_u128 den = mul64(10000, reserve_to) + mul64(keep, max_send);
        int64_t y;
        if (!huge_divide_checked(&y, keep, mul64(reserve_from, max_send), den, 0, thrown)) return SOB_OK;
        if (y > reserve_from) {
            *thrown = SOB_THROW_POOL_RECEIVED_TOO_MUCH;
            return SOB_OK;
        }
        if (y == 0) return SOB_OK;
        *to_pool = max_send;
        *from_pool = y;
        *ok = 1;
        return SOB_OK;
    }
    if (round == SOB_ROUND_STRICT_RECEIVE) { /* l.1329-1364 */
        if (max_send != INT64_MAX) {
            *thrown = SOB_THROW_POOL_RECEIVE_BOUNDED;
            return SOB_OK;
        }
        if (max_receive >= reserve_from) return SOB_OK;
        int64_t x;
        if (!huge_divide_checked(&x, 10000, mul64(reserve_to, max_receive), mul64(reserve_from - max_receive, keep), 1,
                                 thrown))
            return SOB_OK;
        if (x > INT64_MAX - reserve_to) return SOB_OK;
        *to_pool = x;
        *from_pool = max_receive;
        *ok = 1;
        return SOB_OK;
    }
    *thrown = SOB_THROW_POOL_ROUNDING;
    return SOB_OK;
}
