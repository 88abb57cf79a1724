/* C unit tests for offerbook.c: seeded random add/remove/update against invariants and a naive
 * model; order by (core order key, id); the 1000-offer limit; cross-self. Replay with the seed. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "offerbook.h"
#include "testlib.h"


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

/* -1 marks an empty slot of the id hash: no lookup may ever "find" it (it used to, and then
 * read an uninitialised slot). Every negative id is refused. */
static void negative_ids_are_refused(void) {
    sob_offerbook b;
    sob_offerbook_init(&b);
    sob_offer o;
    int side;
    int64_t left;
    CHECK(sob_offerbook_get(&b, -1, &o, &side) == SOB_E_NOT_FOUND); /* no hash table yet */
    CHECK(sob_offerbook_add(&b, 1, SOB_SIDE_ASK, 1, 1, 10, 0) == SOB_OK);
    const int64_t bad[] = {-1, -2, INT64_MIN};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        CHECK(sob_offerbook_get(&b, bad[i], &o, &side) == SOB_E_NOT_FOUND);
        CHECK(sob_offerbook_remove(&b, bad[i], &o, &side) == SOB_E_NOT_FOUND);
        CHECK(sob_offerbook_update(&b, bad[i], 5, 0, 0) == SOB_E_NOT_FOUND);
        CHECK(sob_offerbook_apply_fill(&b, bad[i], 1, &left) == SOB_E_NOT_FOUND);
        CHECK(sob_offerbook_add(&b, bad[i], SOB_SIDE_ASK, 1, 1, 10, 0) == SOB_E_INVALID);
    }
    sob_fill f = {-1, 1, 1, 0};
    CHECK(sob_offerbook_apply_fills(&b, &f, 1) == SOB_E_NOT_FOUND);
    CHECK(sob_offerbook_add(&b, INT64_MAX, SOB_SIDE_BID, 1, 1, 10, 0) == SOB_OK);
    CHECK(sob_offerbook_add(&b, (INT64_C(1) << 62) + 1, SOB_SIDE_BID, 1, 1, 10, 0) == SOB_OK); /* synthetic */
    CHECK(sob_offerbook_count(&b, 0) + sob_offerbook_count(&b, 1) == 3 && sob_offerbook_check(&b) == SOB_OK);
    sob_offerbook_free(&b);
}

/* A seller handle lives exactly as long as the seller has offers in the book; handles are reused,
 * so distinct sellers churning through the book keep the handle space (and memory) at its peak. */
static void sellers_are_released_with_their_last_offer(void) {
    sob_offerbook b;
    sob_offerbook_init(&b);
    uint64_t h = 0, h2 = 0, got = 0;
    sob_offer got_o;
    int got_side;
    CHECK(sob_offerbook_add(&b, 1, SOB_SIDE_ASK, 1, 1, 10, 7) == SOB_E_INVALID); /* never handed out */
    for (int64_t i = 0; i < 1000000; i++) {
        CHECK(sob_offerbook_seller_new(&b, &h) == SOB_OK);
        CHECK(sob_offerbook_add(&b, i, SOB_SIDE_ASK, 1, 1, 10, h) == SOB_OK);
        CHECK(sob_offerbook_sellers_live(&b) == 1);
        CHECK(sob_offerbook_remove(&b, i, NULL, NULL) == SOB_OK);
        CHECK(sob_offerbook_take_released(&b, &got) == 1 && got == h);
        CHECK(sob_offerbook_take_released(&b, &got) == 0);
        if (sob_test_failed) break;
    }
    CHECK(b.sellers.cap <= 16 && sob_offerbook_sellers_live(&b) == 0);
    CHECK(sob_offerbook_add(&b, 1, SOB_SIDE_ASK, 1, 1, 10, h) == SOB_E_INVALID); /* taken back */
    /* two offers of one seller: released with the second; a fill that empties an offer, an update
     * that moves it and applied fills all count */
    CHECK(sob_offerbook_seller_new(&b, &h) == SOB_OK && sob_offerbook_seller_new(&b, &h2) == SOB_OK && h != h2);
    CHECK(sob_offerbook_add(&b, 1, SOB_SIDE_ASK, 1, 1, 10, h) == SOB_OK);
    CHECK(sob_offerbook_add(&b, 2, SOB_SIDE_ASK, 2, 1, 10, h) == SOB_OK);
    CHECK(sob_offerbook_add(&b, 3, SOB_SIDE_ASK, 3, 1, 10, h2) == SOB_OK);
    CHECK(sob_offerbook_sellers_live(&b) == 2 && sob_offerbook_check(&b) == SOB_OK);
    CHECK(sob_offerbook_update(&b, 1, 10, 5, 1) == SOB_OK); /* re-sorted: same seller count */
    CHECK(sob_offerbook_take_released(&b, &got) == 0 && sob_offerbook_check(&b) == SOB_OK);
    int64_t left = -1;
    CHECK(sob_offerbook_apply_fill(&b, 1, 10, &left) == SOB_OK && left == 0);
    CHECK(sob_offerbook_take_released(&b, &got) == 0 && sob_offerbook_sellers_live(&b) == 2);
    sob_fill fills[2] = {{2, 10, 20, 0}, {3, 10, 30, 0}};
    sob_fill bad = {3, 10, 30, 11}; /* remaining above the offer's amount */
    CHECK(sob_offerbook_apply_fills(&b, &bad, 1) == SOB_E_INVALID && sob_offerbook_count(&b, SOB_SIDE_ASK) == 2);
    sob_fill twice[2] = {{2, 5, 10, 5}, {2, 5, 10, 0}}; /* one offer twice: refused whole */
    CHECK(sob_offerbook_apply_fills(&b, twice, 2) == SOB_E_INVALID && sob_offerbook_get(&b, 2, &got_o, &got_side) == SOB_OK);
    CHECK(got_o.amount == 10);
    CHECK(sob_offerbook_apply_fills(&b, fills, 2) == SOB_OK && sob_offerbook_count(&b, SOB_SIDE_ASK) == 0);
    CHECK(sob_offerbook_sellers_live(&b) == 0 && sob_offerbook_check(&b) == SOB_OK);
    size_t taken = 0;
    while (sob_offerbook_take_released(&b, &got)) taken++;
    CHECK(taken == 2 && sob_offerbook_check(&b) == SOB_OK);
    /* a handle re-used before it was taken back is not released twice */
    CHECK(sob_offerbook_seller_new(&b, &h) == SOB_OK);
    CHECK(sob_offerbook_add(&b, 4, SOB_SIDE_BID, 1, 1, 10, h) == SOB_OK);
    CHECK(sob_offerbook_remove(&b, 4, NULL, NULL) == SOB_OK);
    CHECK(sob_offerbook_add(&b, 5, SOB_SIDE_BID, 1, 1, 10, h) == SOB_OK); /* before take_released */
    CHECK(sob_offerbook_take_released(&b, &got) == 0 && sob_offerbook_sellers_live(&b) == 1);
    CHECK(sob_offerbook_check(&b) == SOB_OK);
    /* a handle that never got an offer goes back with drop; clear forgets every handle */
    CHECK(sob_offerbook_seller_new(&b, &h2) == SOB_OK);
    sob_offerbook_seller_drop(&b, h2);
    sob_offerbook_seller_drop(&b, h); /* holds an offer: a no-op */
    CHECK(sob_offerbook_check(&b) == SOB_OK && sob_offerbook_sellers_live(&b) == 1);
    sob_offerbook_clear(&b);
    CHECK(sob_offerbook_sellers_live(&b) == 0 && b.sellers.cap == 0 && sob_offerbook_take_released(&b, &got) == 0);
    sob_offerbook_free(&b);
}

/* max_offers may be anything up to SIZE_MAX: a fill buffer of the side's size is enough. */
static void huge_max_offers_write_at_most_the_side(void) {
    sob_offerbook b;
    sob_offerbook_init(&b);
    for (int64_t i = 1; i <= 5; i++) CHECK(sob_offerbook_add(&b, i, SOB_SIDE_BID, 1, 1, 10, 0) == SOB_OK);
    sob_fill *fills = malloc(5 * sizeof *fills); /* exactly the side's count: ASan sees any overrun */
    const size_t limits[] = {SIZE_MAX, ((size_t)1 << 59) + 1, (size_t)INT64_MAX, 6, 5};
    for (size_t i = 0; i < sizeof limits / sizeof *limits; i++) {
        sob_sim p = {SOB_SIDE_BID, SOB_ROUND_NORMAL, INT64_MAX, INT64_MAX, 0, 0, 0, 0, 0, limits[i]};
        sob_sim_out o;
        CHECK(sob_offerbook_simulate(&b, &p, fills, &o) == SOB_OK && o.nfills == 5 && o.result == SOB_SIM_NO_OFFERS);
    }
    free(fills);
    sob_offerbook_free(&b);
}


/* Owner-indexed and account-seller modes (what the whole-DEX book uses): two books share one
 * owner index; every operation gives what the same operation gives on a plain book holding the
 * same offers (statuses, order, amounts, fills), chunks stay allocated near their length, and
 * the index is only trusted after the book finds the id where it says (a stale or foreign entry
 * is "not found"). */
typedef struct owner_ix {
    int has[MAXID];
    int side[MAXID];
    double key[MAXID];
} owner_ix;

static int owner_locate(const void *ctx, int64_t id, int *side, double *key) {
    const owner_ix *x = ctx;
    if (id < 0 || id >= MAXID || !x->has[id]) return 0;
    *side = x->side[id];
    *key = x->key[id];
    return 1;
}

static void owner_indexed_books(uint64_t seed) {
    rng_state = seed * 0x9e3779b97f4a7c15ULL + 7;
    static owner_ix ix;
    memset(&ix, 0, sizeof ix);
    sob_offerbook ob[2], plain[2];
    static int where[MAXID]; /* book + 1, 0 = absent */
    memset(where, 0, sizeof where);
    for (int k = 0; k < 2; k++) {
        sob_offerbook_init(&ob[k]);
        sob_offerbook_init(&plain[k]);
        CHECK(sob_offerbook_set_locator(&ob[k], owner_locate, &ix) == SOB_OK);
        CHECK(sob_offerbook_set_account_sellers(&ob[k]) == SOB_OK);
    }
    uint64_t h;
    CHECK(sob_offerbook_seller_new(&ob[0], &h) == SOB_E_INVALID); /* no handles in account mode */
    for (int step = 0; step < 30000; step++) {
        int64_t id = (int64_t)(rnd() % MAXID);
        int k = (int)(rnd() % 2), r = (int)(rnd() % 10);
        if (r < 5) {
            int32_t n = (int32_t)(rnd() % 9 + 1), d = (int32_t)(rnd() % 9 + 1);
            int side = (int)(rnd() % 2);
            int64_t amount = (int64_t)(rnd() % 1000 + 1);
            uint64_t seller = rnd() % 50 + 1; /* an account key */
            int was = where[id];
            if (was && was != k + 1) continue; /* the owner adds an id to one book at a time */
            if (!was) { /* the owner indexes first, then adds (as dexbook.c does) */
                ix.has[id] = 1;
                ix.side[id] = side;
                ix.key[id] = (double)n / (double)d;
            }
            sob_status st = sob_offerbook_add(&ob[k], id, side, n, d, amount, seller);
            sob_status sp = sob_offerbook_add(&plain[k], id, side, n, d, amount, 0);
            CHECK(st == (was ? SOB_E_EXISTS : SOB_OK));
            CHECK(st == sp);
            if (st == SOB_OK) {
                where[id] = k + 1;
                sob_offer o;
                int sd;
                CHECK(sob_offerbook_get(&ob[k], id, &o, &sd) == SOB_OK && o.seller == seller && sd == side);
                CHECK(sob_offerbook_offer_account(&ob[k], &o) == seller);
            }
        } else if (r < 8) {
            sob_offer a, b;
            int sa = -1, sb = -1;
            sob_status st = sob_offerbook_remove(&ob[k], id, &a, &sa);
            sob_status sp = sob_offerbook_remove(&plain[k], id, &b, &sb);
            CHECK(st == sp && st == (where[id] == k + 1 ? SOB_OK : SOB_E_NOT_FOUND));
            if (st == SOB_OK) {
                CHECK(a.id == b.id && a.amount == b.amount && a.n == b.n && a.d == b.d && sa == sb);
                where[id] = 0;
                if (rnd() % 2) ix.has[id] = 0; /* a stale entry must not matter */
            }
        } else if (r < 9) {
            int64_t left = -1, lp = -2;
            sob_status st = sob_offerbook_apply_fill(&ob[k], id, 1, &left);
            sob_status sp = sob_offerbook_apply_fill(&plain[k], id, 1, &lp);
            CHECK(st == sp && (st != SOB_OK || left == lp));
            if (st == SOB_OK && left == 0) where[id] = 0;
        } else {
            int32_t n = (int32_t)(rnd() % 5 + 1);
            sob_status st = sob_offerbook_update(&ob[k], id, 5, n, 3);
            sob_status sp = sob_offerbook_update(&plain[k], id, 5, n, 3);
            CHECK(st == sp);
            if (st == SOB_OK) ix.key[id] = (double)n / 3.0; /* the owner follows a price change */
        }
        if (step % 1499 == 0)
            for (int j = 0; j < 2; j++) CHECK(sob_offerbook_check(&ob[j]) == SOB_OK);
    }
    static sob_offer va[MAXID], vb[MAXID];
    for (int k = 0; k < 2; k++) {
        CHECK(sob_offerbook_check(&ob[k]) == SOB_OK && sob_offerbook_check(&plain[k]) == SOB_OK);
        for (int side = 0; side < 2; side++) {
            size_t na = sob_offerbook_copy(&ob[k], side, 0, MAXID, va);
            size_t nb = sob_offerbook_copy(&plain[k], side, 0, MAXID, vb);
            CHECK(na == nb);
            for (size_t i = 0; i < na && i < nb; i++)
                CHECK(va[i].id == vb[i].id && va[i].amount == vb[i].amount && va[i].adjusted == vb[i].adjusted);
            /* chunks are allocated near their length */
            const sob_offer_side *sd = &ob[k].side[side];
            for (size_t ci = 0; ci < sd->nc; ci++)
                CHECK(sd->c[ci]->cap <= sd->c[ci]->len + 3 * SOB_CHUNK_STEP && sd->c[ci]->cap <= SOB_CHUNK_CAP);
            /* simulate walks the same offers */
            sob_sim p;
            memset(&p, 0, sizeof p);
            p.side = side;
            p.round = SOB_ROUND_NORMAL;
            p.max_sheep_send = INT64_MAX / 4;
            p.max_wheat_receive = 200000;
            p.max_offers = 1000;
            static sob_fill fa[1000], fb[1000];
            sob_sim_out oa, ob2;
            CHECK(sob_offerbook_simulate(&ob[k], &p, fa, &oa) == SOB_OK);
            CHECK(sob_offerbook_simulate(&plain[k], &p, fb, &ob2) == SOB_OK);
            CHECK(oa.nfills == ob2.nfills && oa.sent == ob2.sent && oa.received == ob2.received);
            CHECK(oa.nfills == 0 || !memcmp(fa, fb, oa.nfills * sizeof *fa));
            CHECK(sob_offerbook_apply_fills(&ob[k], fa, oa.nfills) == SOB_OK);
            CHECK(sob_offerbook_apply_fills(&plain[k], fb, ob2.nfills) == SOB_OK);
            CHECK(sob_offerbook_check(&ob[k]) == SOB_OK);
        }
    }
    /* a broken owner index is caught by the check */
    sob_offer tmp;
    for (int id = 0; id < MAXID; id++)
        if (where[id] && sob_offerbook_get(&ob[where[id] - 1], id, &tmp, NULL) == SOB_OK) {
            ix.key[id] += 1.0;
            CHECK(sob_offerbook_check(&ob[where[id] - 1]) == SOB_E_INVALID);
            ix.key[id] -= 1.0;
            break;
        }
    CHECK(sob_offerbook_set_locator(&ob[0], owner_locate, &ix) == SOB_E_INVALID || ob[0].used == 0); /* not empty */
    for (int k = 0; k < 2; k++) {
        sob_offerbook_clear(&ob[k]);
        CHECK(ob[k].locate == owner_locate && ob[k].account_sellers == 1); /* clear keeps the modes */
        sob_offerbook_free(&ob[k]);
        sob_offerbook_free(&plain[k]);
    }
}

int main(void) {
    for (uint64_t seed = 1; seed <= 3; seed++) owner_indexed_books(seed);
    for (uint64_t seed = 1; seed <= 3; seed++) stress(seed);
    negative_ids_are_refused();
    sellers_are_released_with_their_last_offer();
    huge_max_offers_write_at_most_the_side();

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
    uint64_t me = 0;
    CHECK(sob_offerbook_seller_new(&b, &me) == SOB_OK && me != 0);
    CHECK(sob_offerbook_add(&b, 5000, SOB_SIDE_ASK, 1, 2, 10, me) == SOB_OK);
    p.taker = me;
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

    return sob_test_summary("test_offerbook");
}
