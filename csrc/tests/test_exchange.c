/* C unit tests for exchange.c: known core results, 128-bit extremes, pools. */
#include <stdio.h>
#include <stdlib.h>

#include "exchange.h"
#include "testlib.h"


static sob_exchange ex(int32_t n, int32_t d, int64_t ws, int64_t wr, int64_t ss, int64_t sr, sob_rounding r) {
    sob_exchange e;
    CHECK(sob_exchange_v10(n, d, ws, wr, ss, sr, r, &e) == SOB_OK);
    return e;
}

int main(void) {
    /* mainnet trade (stellar-etl golden): offer 2761/125000 taken whole: 70989 wheat, 1568 sheep */
    sob_exchange e = ex(2761, 125000, 70989, INT64_MAX, INT64_MAX / 4, INT64_MAX, SOB_ROUND_NORMAL);
    CHECK(e.wheat == 70989 && e.sheep == 1568 && !e.wheat_stays);
    /* mainnet trade: offer 250000/261 stays; taker sells 64821840 sheep, gets 67674 wheat */
    e = ex(250000, 261, INT64_MAX / 2, INT64_MAX, 64821840, INT64_MAX, SOB_ROUND_NORMAL);
    CHECK(e.wheat == 67674 && e.sheep == 64821840 && e.wheat_stays);
    /* 1% bound: 2 sheep at 3/2 would buy 1 wheat: zeroed in NORMAL, kept in strict send */
    e = ex(3, 2, 1000, INT64_MAX, 2, INT64_MAX, SOB_ROUND_NORMAL);
    CHECK(e.wheat == 0 && e.sheep == 0 && e.wheat_stays);
    e = ex(3, 2, 1000, INT64_MAX, 2, INT64_MAX, SOB_ROUND_STRICT_SEND);
    CHECK(e.wheat == 1 && e.sheep == 2);
    /* adjustOffer */
    CHECK(sob_adjust_offer(2, 3, 7, INT64_MAX) == 6);
    CHECK(sob_adjust_offer(2, 3, 59, INT64_MAX) == 59);
    CHECK(sob_adjust_offer(3, 2, 1, INT64_MAX) == 0);
    /* int64 max everywhere, extreme prices: no overflow, results within bounds */
    int32_t ps[][2] = {{INT32_MAX, 1}, {1, INT32_MAX}, {INT32_MAX, INT32_MAX - 1}, {1, 1}};
    for (int i = 0; i < 4; i++)
        for (int r = 0; r < 3; r++) {
            e = ex(ps[i][0], ps[i][1], INT64_MAX, INT64_MAX, INT64_MAX, INT64_MAX, (sob_rounding)r);
            CHECK(e.wheat >= 0 && e.sheep >= 0);
        }
    e = ex(INT32_MAX, 1, INT64_MAX, INT64_MAX, INT64_MAX, INT64_MAX, SOB_ROUND_NORMAL);
    CHECK(e.wheat == INT64_MAX / INT32_MAX && !e.wheat_stays);
    sob_exchange bad;
    CHECK(sob_exchange_v10(0, 1, 1, 1, 1, 1, SOB_ROUND_NORMAL, &bad) == SOB_E_INVALID);

    /* pools */
    int64_t y, x;
    int ok;
    CHECK(sob_pool_strict_send(10000000000LL, 20000000000LL, 30, 10000000, &y, &ok) == SOB_OK && ok && y == 19920139);
    CHECK(sob_pool_strict_send(1000000000000LL, 10, 30, 1, &y, &ok) == SOB_OK && !ok); /* y == 0 */
    CHECK(sob_pool_strict_send(INT64_MAX, INT64_MAX, 30, 1, &y, &ok) == SOB_OK && !ok);   /* X + x overflows */
    CHECK(sob_pool_strict_send(1, INT64_MAX, 30, INT64_MAX - 1, &y, &ok) == SOB_OK && ok && y > 0);
    CHECK(sob_pool_strict_receive(1000, 500, 30, 500, &x, &ok) == SOB_OK && !ok); /* whole reserve */
    CHECK(sob_pool_strict_receive(1000, 500, 30, 499, &x, &ok) == SOB_OK && ok && x == (10000LL * 1000 * 499 + 9969) / 9970);
    CHECK(sob_pool_strict_receive(INT64_MAX - 10, INT64_MAX, 30, INT64_MAX - 1, &x, &ok) == SOB_OK && !ok);
    CHECK(sob_pool_strict_send(1, 1, 10000, 1, &y, &ok) == SOB_E_INVALID);

    return sob_test_summary("test_exchange");
}
