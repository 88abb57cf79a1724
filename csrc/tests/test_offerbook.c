/* C unit tests for offerbook.c: seeded random add/remove/update against invariants and a naive
 * model; order by (core order key, id); the 1000-offer limit; cross-self. Replay with the seed. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "offerbook.h"

static int failures = 0;
#define CHECK(cond)                                                        \
    do {                                                                   \
        if (!(cond)) {                                                     \
            fprintf(stderr, "%s:%d: CHECK failed: %s\n", __FILE__, __LINE__, #cond); \
            failures++;                                                    \
        }                                                                  \
    } while (0)

static uint64_t rng_state;
static uint64_t rnd(void) {
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return rng_state;
}

#define MAXID 5000

static void stress(uint64_t seed) {
    rng_state = seed * 2654435761ULL + 1;
    sob_offerbook b;
    sob_offerbook_init(&b);
    static int64_t amount[MAXID]; /* 0 = absent */
    memset(amount, 0, sizeof amount);
    for (int step = 0; step < 40000; step++) {
        int64_t id = (int64_t)(rnd() % MAXID);
        int r = (int)(rnd() % 10);
        if (r < 6) {
            int32_t n = (int32_t)(rnd() % 7 + 1), d = (int32_t)(rnd() % 7 + 1);
            sob_status st = sob_offerbook_add(&b, id, (int)(rnd() % 2), n, d, (int64_t)(rnd() % 1000 + 1), 0);
            CHECK(st == (amount[id] ? SOB_E_EXISTS : SOB_OK));
            if (st == SOB_OK) amount[id] = 1;
        } else if (r < 9) {
            sob_status st = sob_offerbook_remove(&b, id, NULL, NULL);
            CHECK(st == (amount[id] ? SOB_OK : SOB_E_NOT_FOUND));
            amount[id] = 0;
        } else {
            sob_status st = sob_offerbook_update(&b, id, 5, (int32_t)(rnd() % 5 + 1), 3);
            CHECK(st == (amount[id] ? SOB_OK : SOB_E_NOT_FOUND));
        }
        if (step % 997 == 0) CHECK(sob_offerbook_check(&b) == SOB_OK);
    }
    CHECK(sob_offerbook_check(&b) == SOB_OK);
    size_t live = 0;
    for (int i = 0; i < MAXID; i++) live += amount[i] != 0;
    CHECK(sob_offerbook_count(&b, 0) + sob_offerbook_count(&b, 1) == live);
    sob_offerbook_free(&b);
}

int main(void) {
    for (uint64_t seed = 1; seed <= 3; seed++) stress(seed);

    sob_offerbook b;
    sob_offerbook_init(&b);
    /* 30/15 and 2/1: same order key, lower id first */
    CHECK(sob_offerbook_add(&b, 9, SOB_SIDE_ASK, 30, 15, 1, 0) == SOB_OK);
    CHECK(sob_offerbook_add(&b, 4, SOB_SIDE_ASK, 2, 1, 1, 0) == SOB_OK);
    CHECK(sob_offerbook_add(&b, 7, SOB_SIDE_ASK, 1, 3, 1, 0) == SOB_OK);
    CHECK(sob_offerbook_add(&b, 7, SOB_SIDE_BID, 1, 3, 1, 0) == SOB_E_EXISTS);
    CHECK(sob_offerbook_add(&b, 8, SOB_SIDE_ASK, 0, 3, 1, 0) == SOB_E_INVALID);
    sob_offer out[4];
    CHECK(sob_offerbook_copy(&b, SOB_SIDE_ASK, 0, 4, out) == 3);
    CHECK(out[0].id == 7 && out[1].id == 4 && out[2].id == 9);
    sob_offerbook_free(&b);

    /* 1001 offers of 10 at 1/1: the 1001st would exceed the limit */
    sob_offerbook_init(&b);
    for (int64_t i = 1; i <= 1001; i++) CHECK(sob_offerbook_add(&b, i, SOB_SIDE_ASK, 1, 1, 10, 0) == SOB_OK);
    sob_fill *fills = malloc(SOB_MAX_OFFERS_TO_CROSS * sizeof *fills);
    sob_sim p = {SOB_SIDE_ASK, SOB_ROUND_NORMAL, 1000000000, INT64_MAX, 0, 0, 0, 0, 0, SOB_MAX_OFFERS_TO_CROSS};
    sob_sim_out o;
    CHECK(sob_offerbook_simulate(&b, &p, fills, &o) == SOB_OK);
    CHECK(o.result == SOB_SIM_TOO_MANY && o.nfills == 1000 && o.sent == 10000);
    p.max_sheep_send = 10000;
    CHECK(sob_offerbook_simulate(&b, &p, fills, &o) == SOB_OK);
    CHECK(o.result == SOB_SIM_FILLED && o.nfills == 1000);
    CHECK(sob_offerbook_apply_fills(&b, fills, o.nfills) == SOB_OK);
    CHECK(sob_offerbook_count(&b, SOB_SIDE_ASK) == 1 && sob_offerbook_check(&b) == SOB_OK);
    /* cross self */
    CHECK(sob_offerbook_add(&b, 5000, SOB_SIDE_ASK, 1, 2, 10, 42) == SOB_OK);
    p.taker = 42;
    CHECK(sob_offerbook_simulate(&b, &p, fills, &o) == SOB_OK && o.result == SOB_SIM_CROSS_SELF && o.nfills == 0);
    /* price limit: maxWheatPrice 1/2 crosses the 1/2 offer, passive does not */
    p.taker = 0;
    p.has_limit = 1;
    p.limit_n = 1;
    p.limit_d = 2;
    p.max_sheep_send = 3;
    CHECK(sob_offerbook_simulate(&b, &p, fills, &o) == SOB_OK && o.nfills == 1 && o.received == 6);
    p.passive = 1;
    CHECK(sob_offerbook_simulate(&b, &p, fills, &o) == SOB_OK && o.result == SOB_SIM_PRICE_LIMIT && o.nfills == 0);
    int64_t left;
    CHECK(sob_offerbook_apply_fill(&b, 5000, 4, &left) == SOB_OK && left == 6);
    free(fills);
    sob_offerbook_free(&b);

    if (failures) {
        fprintf(stderr, "%d failure(s)\n", failures);
        return 1;
    }
    printf("test_offerbook: ok\n");
    return 0;
}
