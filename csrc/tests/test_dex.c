/* C unit tests for dex.c / accounts.c: one test per rule and protocol gate of stellar-core's DEX
 * operations, with numbers worked out by hand from core's source (the working is in the comments;
 * most scenarios are also in tests/test_core_reference.py, whose reference agrees with them).
 * Every test also checks that nothing it reads is changed: books, table and pools are const. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dex.h"
#include "testlib.h"

#define CODE(w, name) CHECK(strcmp(sob_result_name((w)->r.code), name) == 0)

#define M INT64_MAX
#define NATIVE SOB_ASSET_ID_NATIVE

/* ---- a small world: books per asset pair, pools, a table --------------------------------------- */

#define MAXB 8
#define MAXH 64

typedef struct world {
    sob_accounts t;
    sob_offerbook books[MAXB];
    uint32_t lo[MAXB], hi[MAXB]; /* the pair of each book; asks sell lo */
    uint64_t keys[MAXB][MAXH];   /* seller handle -> account key, per book */
    sob_pool pools[MAXB];
    int has_pool[MAXB];
    int nbooks;
    sob_dex_ctx ctx;
    sob_dex_scratch *s;
    sob_op_result r;
    sob_status st;
} world;

static void w_init(world *w, uint32_t protocol) {
    memset(w, 0, sizeof *w);
    sob_accounts_init(&w->t);
    sob_dex_ctx_init(&w->ctx);
    w->ctx.protocol = protocol;
    w->ctx.accounts = &w->t;
    w->s = sob_dex_scratch_new();
}

static void w_free(world *w) {
    for (int i = 0; i < w->nbooks; i++) {
        CHECK(sob_offerbook_check(&w->books[i]) == SOB_OK);
        sob_offerbook_free(&w->books[i]);
    }
    CHECK(sob_accounts_check(&w->t) == SOB_OK);
    sob_accounts_free(&w->t);
    sob_dex_scratch_free(w->s);
}

static int pair(world *w, uint32_t x, uint32_t y) {
    uint32_t lo = x < y ? x : y, hi = x < y ? y : x;
    for (int i = 0; i < w->nbooks; i++)
        if (w->lo[i] == lo && w->hi[i] == hi) return i;
    int i = w->nbooks++;
    sob_offerbook_init(&w->books[i]);
    w->lo[i] = lo;
    w->hi[i] = hi;
    return i;
}

/* An offer of `seller` (account key) selling `selling` for `buying` at n/d, stored verbatim. */
static void offer(world *w, uint64_t seller, int64_t id, uint32_t selling, uint32_t buying, int64_t amount, int32_t n,
                  int32_t d) {
    int b = pair(w, selling, buying);
    uint64_t h = 0; /* seller 0: an offer with no seller handle (unknown, never the taker) */
    for (uint64_t k = 1; seller && k < MAXH; k++)
        if (w->keys[b][k] == seller) h = k;
    if (seller && !h) {
        CHECK(sob_offerbook_seller_new(&w->books[b], &h) == SOB_OK && h < MAXH);
        CHECK(sob_offerbook_seller_set_account(&w->books[b], h, seller) == SOB_OK);
        w->keys[b][h] = seller;
    }
    CHECK(sob_offerbook_add(&w->books[b], id, selling == w->lo[b] ? SOB_SIDE_ASK : SOB_SIDE_BID, n, d, amount, h) ==
          SOB_OK);
}

static void pool(world *w, uint32_t x, uint32_t y, int64_t rx, int64_t ry) {
    int b = pair(w, x, y);
    w->has_pool[b] = 1;
    w->pools[b] = x == w->lo[b] ? (sob_pool){rx, ry, 30, 0} : (sob_pool){ry, rx, 30, 0};
}

static void account(world *w, uint64_t key, int64_t balance, uint32_t subentries) {
    sob_account a = {balance, 0, 0, subentries, 0, 0, 0};
    CHECK(sob_accounts_set_account(&w->t, key, &a) == SOB_OK);
}

static void line(world *w, uint64_t key, uint32_t asset, int64_t balance, int64_t limit) {
    sob_trustline tl = {balance, limit, 0, 0, SOB_TL_AUTHORIZED, 0};
    CHECK(sob_accounts_set_trustline(&w->t, key, asset, &tl) == SOB_OK);
}

static sob_venue venue(world *w, uint32_t send, uint32_t recv) {
    int b = pair(w, send, recv);
    return (sob_venue){&w->books[b], recv == w->lo[b] ? SOB_SIDE_ASK : SOB_SIDE_BID, send == w->lo[b],
                       w->has_pool[b] ? &w->pools[b] : NULL};
}

/* A fingerprint of everything the world holds: equal before and after every simulation. */
static uint64_t fp(world *w) {
    uint64_t h = 1469598103934665603ULL;
#define MIX(x) h = (h ^ (uint64_t)(x)) * 1099511628211ULL
    for (int b = 0; b < w->nbooks; b++) {
        for (int side = 0; side < 2; side++) {
            size_t n = sob_offerbook_count(&w->books[b], side);
            sob_offer *o = malloc((n ? n : 1) * sizeof *o);
            size_t k = sob_offerbook_copy(&w->books[b], side, 0, n, o);
            for (size_t i = 0; i < k; i++) {
                MIX(o[i].id);
                MIX(o[i].amount);
            }
            free(o);
        }
        MIX(w->pools[b].reserve_a);
        MIX(w->pools[b].reserve_b);
    }
    const sob_hmap *maps[2] = {&w->t.accounts, &w->t.trustlines};
    for (int m = 0; m < 2; m++)
        for (size_t i = 0; maps[m]->slots && i <= maps[m]->mask; i++) {
            uint64_t k1, k2;
            const unsigned char *v = sob_hmap_at(maps[m], i, &k1, &k2);
            if (!v) continue;
            MIX(k1);
            MIX(k2);
            for (size_t j = 0; j < maps[m]->value_size; j++) MIX(v[j]);
        }
#undef MIX
    return h;
}

static void w_send(world *w, uint64_t src, uint32_t send, int64_t amount, uint64_t dest, uint32_t recv,
                   int64_t dest_min, const uint32_t *path, uint32_t npath) {
    sob_path_op op = {SOB_OP_PATH_PAYMENT_STRICT_SEND, npath + 2, {0}, src, dest, amount, dest_min};
    op.assets[0] = send;
    for (uint32_t i = 0; i < npath; i++) op.assets[i + 1] = path[i];
    op.assets[npath + 1] = recv;
    sob_venue v[SOB_MAX_HOPS];
    for (uint32_t i = 0; i + 1 < op.nassets; i++)
        v[i] = op.assets[i] == op.assets[i + 1] ? (sob_venue){0} : venue(w, op.assets[i], op.assets[i + 1]);
    uint64_t before = fp(w);
    w->st = sob_path_payment(&w->ctx, &op, v, w->s, &w->r);
    CHECK(fp(w) == before);
}

static void w_recv(world *w, uint64_t src, uint32_t send, int64_t send_max, uint64_t dest, uint32_t recv,
                   int64_t amount, const uint32_t *path, uint32_t npath) {
    sob_path_op op = {SOB_OP_PATH_PAYMENT_STRICT_RECEIVE, npath + 2, {0}, src, dest, send_max, amount};
    op.assets[0] = send;
    for (uint32_t i = 0; i < npath; i++) op.assets[i + 1] = path[i];
    op.assets[npath + 1] = recv;
    sob_venue v[SOB_MAX_HOPS];
    for (uint32_t i = 0; i + 1 < op.nassets; i++)
        v[i] = op.assets[i] == op.assets[i + 1] ? (sob_venue){0} : venue(w, op.assets[i], op.assets[i + 1]);
    uint64_t before = fp(w);
    w->st = sob_path_payment(&w->ctx, &op, v, w->s, &w->r);
    CHECK(fp(w) == before);
}

static void w_manage(world *w, int kind, uint64_t src, uint32_t selling, uint32_t buying, int64_t amount, int32_t n,
                     int32_t d, int64_t offer_id, const sob_offer_entry *existing) {
    sob_manage_op op = {kind, 0, src, selling, buying, amount, n, d, offer_id};
    sob_venue v = venue(w, selling, buying);
    uint64_t before = fp(w);
    w->st = sob_manage_offer(&w->ctx, &op, &v, existing, w->s, &w->r);
    CHECK(fp(w) == before);
}

static int claim_is(const sob_claim *c, int64_t id, int64_t sold, int64_t bought) {
    return c->offer_id == id && c->amount_sold == sold && c->amount_bought == bought;
}

/* assets */
enum { BASE = 1, CTR = 2, A = 3, B = 4, C = 5 };
/* accounts */
enum { ISS = 1, S1 = 2, S2 = 3, S3 = 4, T = 5, MK = 6, D = 7, SP = 8 };

/* ---- the issue's reproducers ---------------------------------------------------------------- */

/* Strict receive of 10^12 BASE over asks 10 at 1/1 and 10^12 at 2147483647/1 (unknown sellers).
 * Offer 2 is first cut by adjustOffer (OfferExchange.cpp:1142) to W' = floor(INT64_MAX/n) =
 * 2^32+2; then exchangeV10(n/1, 2^32+2, 10^12-10, MAX-10, MAX): wheatValue = 2^63-2 > sheepValue =
 * MAX-10, wheat stays, W = floor((MAX-10)/n) = 2^32+1, S = W*n = 2^63-2^31-1; the walk ends eOK
 * (needMore = !wheatStays). Received 10+2^32+1 != 10^12: TOO_FEW_OFFERS (PathPaymentOpFrameBase.cpp:
 * 135-143, StrictReceive checkTransfer l.181-188). */
static void test_issue_strict_receive_eok_but_short(void) {
    world w;
    w_init(&w, 23);
    w.ctx.accounts = NULL; /* the default model: every seller unknown, fully funded */
    offer(&w, S1, 1, BASE, CTR, 10, 1, 1);
    offer(&w, S2, 2, BASE, CTR, 1000000000000LL, 2147483647, 1);
    w_recv(&w, T, CTR, M, T, BASE, 1000000000000LL, NULL, 0);
    CHECK(w.st == SOB_OK);
    CODE(&w, "PATH_PAYMENT_STRICT_RECEIVE_TOO_FEW_OFFERS");
    CHECK(w.r.nhops == 1 && w.r.hops[0].result == SOB_CONVERT_OK && w.r.hops[0].venue == SOB_VENUE_BOOK);
    CHECK(w.r.nhop_claims == 2 && claim_is(&w.r.hop_claims[0], 1, 10, 10) &&
          claim_is(&w.r.hop_claims[1], 2, (INT64_C(1) << 32) + 1, M - (INT64_C(1) << 31)));
    CHECK(w.r.hops[0].amount_recv == (INT64_C(1) << 32) + 11);
    CHECK(!w.r.amounts_known && w.r.nclaims == 0 && w.r.noffers == 0); /* nothing looks filled */
    w_free(&w);
}

/* Strict send of 2^62+10 BASE over bids 1 at 1/1 and 2^63-2 at 1/2. Offer 2 (0.5) first: taken,
 * S = floor((2^63-2)/2) = 2^62-1, W = 2^63-2; offer 1 with maxWheatReceive 1: 1 for 1. The taker
 * has received INT64_MAX: the walk ends eOK after sending 2^62 of 2^62+10: TOO_FEW_OFFERS. */
static void test_issue_strict_send_int64_budget(void) {
    world w;
    w_init(&w, 23);
    offer(&w, S1, 1, CTR, BASE, 1, 1, 1);
    offer(&w, S2, 2, CTR, BASE, M - 1, 1, 2);
    w_send(&w, T, BASE, (INT64_C(1) << 62) + 10, T, CTR, 1, NULL, 0);
    CODE(&w, "PATH_PAYMENT_STRICT_SEND_TOO_FEW_OFFERS");
    CHECK(w.r.hops[0].result == SOB_CONVERT_OK && w.r.hops[0].amount_send == INT64_C(1) << 62 &&
          w.r.hops[0].amount_recv == M);
    CHECK(claim_is(&w.r.hop_claims[0], 2, M - 1, (INT64_C(1) << 62) - 1) && claim_is(&w.r.hop_claims[1], 1, 1, 1));
    w_free(&w);
}

/* A bid of 10^9 at 1/1; the taker sells 100 BASE at 1/2 holding 50. The new offer's selling
 * liabilities: exchangeV10WithoutPriceErrorThresholds(1/2, 100, MAX, MAX, MAX): S = floor(100/2) =
 * 50, W = ceil(50*2) = 100 > 50 available: UNDERFUNDED (ManageOfferOpFrameBase.cpp:195-203). */
static void test_manage_underfunded_before_crossing(void) {
    world w;
    w_init(&w, 23);
    account(&w, T, 100000000, 2);
    line(&w, T, BASE, 50, 1000000000000000LL);
    line(&w, T, CTR, 0, 1000000000000000LL);
    offer(&w, S1, 1, CTR, BASE, 1000000000, 1, 1);
    w_manage(&w, SOB_OP_MANAGE_SELL_OFFER, T, BASE, CTR, 100, 1, 2, 0, NULL);
    CODE(&w, "MANAGE_SELL_OFFER_UNDERFUNDED");
    CHECK(w.r.nhops == 0 && w.r.naccounts == 0 && w.r.ntrustlines == 0);
    line(&w, T, BASE, 100, 1000000000000000LL); /* with 100: 100 for 100 at the bid's 1/1 */
    w_manage(&w, SOB_OP_MANAGE_SELL_OFFER, T, BASE, CTR, 100, 1, 2, 0, NULL);
    CODE(&w, "MANAGE_SELL_OFFER_SUCCESS");
    CHECK(w.r.sent == 100 && w.r.received == 100 && w.r.offer_effect == SOB_OFFER_DELETED);
    CHECK(w.r.nclaims == 1 && claim_is(&w.r.claims[0], 1, 100, 100) && w.r.claims[0].remaining == 1000000000 - 100);
    /* the taker's lines afterwards (subentry taken and given back: numSubEntries unchanged) */
    CHECK(w.r.ntrustlines == 2 && w.r.naccounts == 0);
    for (size_t i = 0; i < w.r.ntrustlines; i++) {
        const sob_trustline_change *c = &w.r.trustlines[i];
        CHECK(c->key == T && c->after.balance == (c->asset == BASE ? 0 : 100));
    }
    w_free(&w);
}

/* LINE_FULL (ManageOfferOpFrameBase.cpp:170-178): selling 100 BASE at 1/2 has buying liabilities
 * 50 CTR, which must fit limit - balance - buying = 49. With 50 the crossing is capped by
 * maxWheatReceive = 50: exchangeV10(1/1, 10^9, 50, 100, MAX) keeps the bid, 50 for 50, eOK, so
 * nothing rests (l.391-392) though 50 BASE were not sold. */
static void test_manage_line_full_before_crossing(void) {
    world w;
    w_init(&w, 23);
    account(&w, T, 100000000, 2);
    line(&w, T, BASE, 100, 1000000000000000LL);
    line(&w, T, CTR, 0, 49);
    offer(&w, S1, 1, CTR, BASE, 1000000000, 1, 1);
    w_manage(&w, SOB_OP_MANAGE_SELL_OFFER, T, BASE, CTR, 100, 1, 2, 0, NULL);
    CODE(&w, "MANAGE_SELL_OFFER_LINE_FULL");
    line(&w, T, CTR, 0, 50);
    w_manage(&w, SOB_OP_MANAGE_SELL_OFFER, T, BASE, CTR, 100, 1, 2, 0, NULL);
    CODE(&w, "MANAGE_SELL_OFFER_SUCCESS");
    CHECK(w.r.sent == 50 && w.r.received == 50 && w.r.hops[0].result == SOB_CONVERT_OK &&
          w.r.offer_effect == SOB_OFFER_DELETED);
    w_free(&w);
}

/* An offer of 29 at 3/2 adjusts to 0 (ExchangeTests.cpp adjustOffer(3/2, 29) == 0). A strict send
 * reaching it: exchangeV10 gives W = S = 0 and applyPriceErrorThresholds throws "invalid amount of
 * sheep sent" (OfferExchange.cpp:760-763). A strict receive removes it with a 0/0 claim and goes
 * on: 10 BASE of offer 2 at 2/1 for 20 CTR. */
static void test_strict_send_over_an_offer_adjusted_to_zero_throws(void) {
    world w;
    w_init(&w, 23);
    offer(&w, S1, 1, BASE, CTR, 29, 3, 2);
    offer(&w, S2, 2, BASE, CTR, 1000, 2, 1);
    w_send(&w, T, CTR, 100, T, BASE, 1, NULL, 0);
    CHECK(w.st == SOB_OK && w.r.code == SOB_R_CORE_WOULD_THROW && w.r.thrown == SOB_THROW_INVALID_SHEEP_SENT);
    CHECK(strcmp(sob_throw_message(w.r.thrown), "invalid amount of sheep sent") == 0);
    CHECK(strcmp(sob_throw_where(w.r.thrown), "OfferExchange.cpp:762") == 0);
    w_recv(&w, T, CTR, M, T, BASE, 10, NULL, 0);
    CODE(&w, "PATH_PAYMENT_STRICT_RECEIVE_SUCCESS");
    CHECK(w.r.nclaims == 2 && claim_is(&w.r.claims[0], 1, 0, 0) && w.r.claims[0].remaining == 0 &&
          claim_is(&w.r.claims[1], 2, 10, 20));
    CHECK(w.r.noffers == 2 && w.r.offers[0].amount == 0 && w.r.offers[1].amount == 990);
    w_free(&w);
}

/* crossOfferV10 re-runs adjustOffer on what stays (OfferExchange.cpp:1195-1199): 55 at 3/2, take
 * 28 (for ceil(28*3/2) = 42) leaves 27 and adjustOffer(3/2, 27) = 0: the offer is gone, the
 * seller's selling liabilities released and its subentry removed. */
static void test_remainder_is_adjusted_again(void) {
    world w;
    w_init(&w, 23);
    account(&w, MK, 10000000000LL, 3);
    sob_trustline ta = {55, 1000000000, 0, 55, SOB_TL_AUTHORIZED, 0}, tb = {0, 1000000000, 82, 0, SOB_TL_AUTHORIZED, 0};
    CHECK(sob_accounts_set_trustline(&w.t, MK, A, &ta) == SOB_OK && sob_accounts_set_trustline(&w.t, MK, B, &tb) == 0);
    offer(&w, MK, 1, A, B, 55, 3, 2); /* liabilities: 55 A selling, floor(55*3/2) = 82 B buying (taken whole, n > d) */
    w_recv(&w, T, B, M, T, A, 28, NULL, 0);
    CODE(&w, "PATH_PAYMENT_STRICT_RECEIVE_SUCCESS");
    CHECK(w.r.nclaims == 1 && claim_is(&w.r.claims[0], 1, 28, 42) && w.r.claims[0].remaining == 0);
    CHECK(w.r.naccounts == 1 && w.r.accounts[0].key == MK && w.r.accounts[0].after.num_sub_entries == 2);
    for (size_t i = 0; i < w.r.ntrustlines; i++) {
        const sob_trustline_change *c = &w.r.trustlines[i];
        if (c->asset == A) CHECK(c->after.balance == 27 && c->after.selling_liabilities == 0);
        if (c->asset == B) CHECK(c->after.balance == 42 && c->after.buying_liabilities == 0);
    }
    w_recv(&w, T, B, M, T, A, 5, NULL, 0); /* leaves 50: stays whole, liabilities re-acquired */
    CHECK(w.r.nclaims == 1 && w.r.claims[0].remaining == 50);
    for (size_t i = 0; i < w.r.ntrustlines; i++)
        if (w.r.trustlines[i].asset == A) CHECK(w.r.trustlines[i].after.selling_liabilities == 50);
    w_free(&w);
}

/* ---- sellers' funds ------------------------------------------------------------------------- */

/* A seller whose balance and limit exactly back its two offers (600 at 1/1, 400 at 2/1: selling
 * 1000 = balance, buying 600 + 800 = limit). Strict receive 1000 BASE costs 600 + 800 = 1400 and
 * leaves every liability at 0; one stroop more is TOO_FEW_OFFERS (the walk ran out: ePartial). */
static void test_tight_seller_spent_exactly(void) {
    world w;
    w_init(&w, 23);
    w.ctx.flags = SOB_CTX_UNKNOWN_MISSING;
    account(&w, ISS, 10000000000LL, 0);
    CHECK(sob_accounts_set_issuer(&w.t, BASE, ISS) == SOB_OK && sob_accounts_set_issuer(&w.t, CTR, ISS) == SOB_OK);
    account(&w, MK, 10000000000LL, 4);
    sob_trustline mb = {1000, 1000, 0, 1000, SOB_TL_AUTHORIZED, 0}, mc = {0, 1400, 1400, 0, SOB_TL_AUTHORIZED, 0};
    CHECK(sob_accounts_set_trustline(&w.t, MK, BASE, &mb) == 0 && sob_accounts_set_trustline(&w.t, MK, CTR, &mc) == 0);
    account(&w, T, 10000000000LL, 2);
    line(&w, T, BASE, 0, 1000000000);
    line(&w, T, CTR, 1000000, 1000000000);
    offer(&w, MK, 1, BASE, CTR, 600, 1, 1);
    offer(&w, MK, 2, BASE, CTR, 400, 2, 1);
    w_recv(&w, T, CTR, 1000000, T, BASE, 1000, NULL, 0);
    CODE(&w, "PATH_PAYMENT_STRICT_RECEIVE_SUCCESS");
    CHECK(w.r.sent == 1400 && w.r.received == 1000);
    for (size_t i = 0; i < w.r.ntrustlines; i++) {
        const sob_trustline_change *c = &w.r.trustlines[i];
        if (c->key == MK && c->asset == BASE) CHECK(c->after.balance == 0 && c->after.selling_liabilities == 0);
        if (c->key == MK && c->asset == CTR) CHECK(c->after.balance == 1400 && c->after.buying_liabilities == 0);
        if (c->key == T && c->asset == CTR) CHECK(c->after.balance == 1000000 - 1400);
    }
    for (size_t i = 0; i < w.r.naccounts; i++)
        if (w.r.accounts[i].key == MK) CHECK(w.r.accounts[i].after.num_sub_entries == 2);
    w_recv(&w, T, CTR, 1000000, T, BASE, 1001, NULL, 0);
    CODE(&w, "PATH_PAYMENT_STRICT_RECEIVE_TOO_FEW_OFFERS");
    CHECK(w.r.hops[0].result == SOB_CONVERT_PARTIAL && w.r.ntrustlines == 0);
    w_send(&w, T, CTR, 1401, T, BASE, 1, NULL, 0);
    CODE(&w, "PATH_PAYMENT_STRICT_SEND_TOO_FEW_OFFERS");
    w_free(&w);
}

/* Unfunded offers (hand-built): the release of liabilities, then adjustOffer to canSellAtMost
 * (OfferExchange.cpp:1140-1147). s4 holds 29 of the 100 it offers at 2/3 (first in the book):
 * adjustOffer(2/3, 29) = 0 (S = floor(29*2/3) = 19, W = ceil(19*3/2) = 29, |100*2*29 - 100*3*19| =
 * 100 > 2*29: the 1% bound fails), so it is removed with a 0/0 claim (crossed as 29 it would have
 * thrown "exceeded price error bound"). s1 holds 50 of 100 (claim 50/50), s2 none (0/0), s3 gives
 * the rest: 150 of 1000 at 1/1. */
static void test_unfunded_offers_are_reduced_when_crossed(void) {
    world w;
    w_init(&w, 23);
    const uint64_t key[4] = {S1, S2, S3, 20};
    const int64_t bal[4] = {50, 0, 1000, 29}, amt[4] = {100, 100, 1000, 100};
    const int32_t n[4] = {1, 1, 1, 2}, d[4] = {1, 1, 1, 3};
    for (int i = 0; i < 4; i++) {
        account(&w, key[i], 10000000000LL, 3);
        sob_exchange lx;
        sob_throw t;
        CHECK(sob_exchange_v10_raw(n[i], d[i], amt[i], M, M, M, SOB_ROUND_NORMAL, &lx, &t) == SOB_OK && !t);
        sob_trustline sb = {bal[i], 1000000000, 0, lx.wheat, SOB_TL_AUTHORIZED, 0};
        sob_trustline sc = {0, 1000000000, lx.sheep, 0, SOB_TL_AUTHORIZED, 0};
        CHECK(sob_accounts_set_trustline(&w.t, key[i], BASE, &sb) == 0 &&
              sob_accounts_set_trustline(&w.t, key[i], CTR, &sc) == 0);
        offer(&w, key[i], i + 1, BASE, CTR, amt[i], n[i], d[i]);
    }
    CHECK(sob_adjust_offer(2, 3, 29, M) == 0);
    w_recv(&w, T, CTR, M, T, BASE, 200, NULL, 0);
    CODE(&w, "PATH_PAYMENT_STRICT_RECEIVE_SUCCESS");
    CHECK(w.r.sent == 200 && w.r.nclaims == 4 && claim_is(&w.r.claims[0], 4, 0, 0) && w.r.claims[0].remaining == 0 &&
          claim_is(&w.r.claims[1], 1, 50, 50) && claim_is(&w.r.claims[2], 2, 0, 0) &&
          claim_is(&w.r.claims[3], 3, 150, 150) && w.r.claims[3].remaining == 850);
    w_send(&w, T, CTR, 200, T, BASE, 1, NULL, 0); /* reaching an offer adjusted to 0: core throws */
    CHECK(w.r.code == SOB_R_CORE_WOULD_THROW && w.r.thrown == SOB_THROW_INVALID_SHEEP_SENT);
    w_free(&w);
}

/* Selling native: canSellAtMost = balance - minBalance - selling liabilities. A seller with the
 * reserve of itself and one offer plus 500: its 10^6-offer rests as 500; taking it removes the
 * subentry (removeEntryWithPossibleSponsorship) and the minimum drops to 2 reserves. */
static void test_native_seller_reserve(void) {
    world w;
    w_init(&w, 23);
    const int64_t br = 5000000;
    sob_account mk = {3 * br + 500, 0, 500, 1, 0, 0, 0}; /* one offer (its trust line not counted) */
    CHECK(sob_accounts_set_account(&w.t, MK, &mk) == SOB_OK);
    sob_trustline mc = {0, 1000000000, 500, 0, SOB_TL_AUTHORIZED, 0};
    CHECK(sob_accounts_set_trustline(&w.t, MK, CTR, &mc) == SOB_OK);
    offer(&w, MK, 1, NATIVE, CTR, 500, 1, 1);
    w_send(&w, T, CTR, 500, T, NATIVE, 500, NULL, 0);
    CODE(&w, "PATH_PAYMENT_STRICT_SEND_SUCCESS");
    CHECK(w.r.received == 500 && w.r.naccounts == 1);
    CHECK(w.r.accounts[0].after.balance == 3 * br && w.r.accounts[0].after.num_sub_entries == 0 &&
          w.r.accounts[0].after.selling_liabilities == 0);
    /* after a base reserve raise the same seller sits below its minimum: releasing the offer's
     * selling liabilities fails (addSellingLiabilities allows balance - minBalance < 0: none,
     * TransactionUtils.cpp:706-712) and core throws (l.544) */
    w.ctx.base_reserve = (uint32_t)br + 200;
    w_send(&w, T, CTR, 10, T, NATIVE, 1, NULL, 0);
    CHECK(w.r.code == SOB_R_CORE_WOULD_THROW && w.r.thrown == SOB_THROW_SELLING_LIABILITIES);
    w_free(&w);
}

/* Taking a sponsored offer (SponsorshipUtils.cpp:808-847): the seller's numSubEntries and
 * numSponsored and the sponsor's numSponsoring go down by one. */
static void test_sponsored_offer_taken(void) {
    world w;
    w_init(&w, 23);
    const int64_t br = 5000000;
    sob_account mk = {3 * br + 700, 0, 700, 2, 0, 1, 0}, sp = {10000000000LL, 0, 0, 0, 1, 0, 0};
    CHECK(sob_accounts_set_account(&w.t, MK, &mk) == 0 && sob_accounts_set_account(&w.t, SP, &sp) == 0);
    sob_trustline mc = {0, 1000000000, 700, 0, SOB_TL_AUTHORIZED, 0};
    CHECK(sob_accounts_set_trustline(&w.t, MK, CTR, &mc) == SOB_OK);
    offer(&w, MK, 1, NATIVE, CTR, 700, 1, 1);
    CHECK(sob_accounts_set_sponsor(&w.t, 1, SP) == SOB_OK && sob_accounts_sponsor(&w.t, 1) == SP);
    w_recv(&w, T, CTR, 1000000, T, NATIVE, 700, NULL, 0);
    CODE(&w, "PATH_PAYMENT_STRICT_RECEIVE_SUCCESS");
    CHECK(w.r.sent == 700 && w.r.naccounts == 2);
    for (size_t i = 0; i < w.r.naccounts; i++) {
        const sob_account *a = &w.r.accounts[i].after;
        if (w.r.accounts[i].key == MK)
            CHECK(a->balance == 3 * br && a->num_sub_entries == 1 && a->num_sponsored == 0 && a->selling_liabilities == 0);
        else
            CHECK(w.r.accounts[i].key == SP && a->num_sponsoring == 0);
    }
    w_free(&w);
}

/* One table for several books: a seller S with an offer in book A/B (sells 100 B for A) and one
 * in book B/C (sells 100 C for B) whose B line is full (balance 100 = limit; its liabilities are
 * hand-built). Hop A->B takes S's B: balance 0. Hop B->C then finds room for 100 B
 * (canBuyAtMost = 100 - 0 - 0 after the release) and takes S's C. Judged against the table as it
 * was, S could receive no B: the second offer would adjust to 0 and a strict send would throw. */
static void test_path_sees_a_sellers_earlier_effects_across_books(void) {
    world w;
    w_init(&w, 23);
    w.ctx.base_reserve = 0;
    account(&w, ISS, 1000000000, 0);
    for (uint32_t a = A; a <= C; a++) CHECK(sob_accounts_set_issuer(&w.t, a, ISS) == SOB_OK);
    account(&w, S1, 100, 5);
    sob_trustline la = {0, 1000000000, 100, 0, SOB_TL_AUTHORIZED, 0}, lb = {100, 100, 100, 100, SOB_TL_AUTHORIZED, 0},
                  lc = {100, 1000000000, 0, 100, SOB_TL_AUTHORIZED, 0};
    CHECK(sob_accounts_set_trustline(&w.t, S1, A, &la) == 0 && sob_accounts_set_trustline(&w.t, S1, B, &lb) == 0 &&
          sob_accounts_set_trustline(&w.t, S1, C, &lc) == 0);
    offer(&w, S1, 1, B, A, 100, 1, 1);
    offer(&w, S1, 2, C, B, 100, 1, 1);
    const uint32_t path[1] = {B};
    w_send(&w, T, A, 100, T, C, 1, path, 1);
    CODE(&w, "PATH_PAYMENT_STRICT_SEND_SUCCESS");
    CHECK(w.r.received == 100 && w.r.nclaims == 2 && claim_is(&w.r.claims[0], 1, 100, 100) &&
          claim_is(&w.r.claims[1], 2, 100, 100));
    for (size_t i = 0; i < w.r.ntrustlines; i++) {
        const sob_trustline_change *c = &w.r.trustlines[i];
        CHECK(c->key == S1 && c->after.buying_liabilities == 0 && c->after.selling_liabilities == 0);
        CHECK(c->after.balance == (c->asset == C ? 0 : 100));
    }
    CHECK(w.r.naccounts == 1 && w.r.accounts[0].after.num_sub_entries == 3);
    w_free(&w);
}

/* The same book side crossed twice in one path (LiquidityPoolTradeTests.cpp:685-991 shape): path
 * A -> B -> C -> A -> B, the A/B book one offer of B at 1/2, a pool A/B 1000/2000. Hop 1: 100 A buys
 * 200 B (the pool would give floor(9970*2000*100/(10^7+997000)) = 181: the book wins). With 1000 B
 * on offer, hop 4 buys 400 B for 200 A from what is left (800). With 500, only 300 are left: the
 * walk is ePartial (150 A for 300 B) and the pool takes the hop: floor(9970*2000*200/(10^7+1994000))
 * = 332, reserves 1200/1668. */
static void test_same_book_side_twice(void) {
    for (int k = 0; k < 2; k++) {
        world w;
        w_init(&w, 23);
        offer(&w, S1, 1, B, A, k ? 500 : 1000, 1, 2);
        offer(&w, S2, 2, C, B, 1000, 1, 1);
        offer(&w, S3, 3, A, C, 1000, 1, 1);
        pool(&w, A, B, 1000, 2000);
        const uint32_t path[3] = {B, C, A};
        w_send(&w, T, A, 100, T, B, 1, path, 3);
        CODE(&w, "PATH_PAYMENT_STRICT_SEND_SUCCESS");
        CHECK(w.r.nhops == 4 && w.r.hops[0].pool_quoted && w.r.hops[0].pool_recv == 181);
        CHECK(claim_is(&w.r.claims[0], 1, 200, 100) && w.r.claims[0].remaining == (k ? 300 : 800));
        if (!k) {
            CHECK(w.r.received == 400 && w.r.hops[3].venue == SOB_VENUE_BOOK && w.r.hops[3].pool_recv == 332);
            CHECK(claim_is(&w.r.claims[3], 1, 400, 200) && w.r.claims[3].remaining == 400 && w.r.npools == 0);
        } else {
            CHECK(w.r.received == 332 && w.r.hops[3].venue == SOB_VENUE_POOL);
            CHECK(w.r.hops[3].book_result == SOB_CONVERT_PARTIAL && w.r.hops[3].book_send == 150 &&
                  w.r.hops[3].book_recv == 300);
            CHECK(w.r.claims[3].type == SOB_CLAIM_LIQUIDITY_POOL && w.r.claims[3].amount_sold == 332);
            CHECK(w.r.npools == 1 && w.r.pools[0].reserve_a + w.r.pools[0].reserve_b == 1200 + 1668);
            /* the offer's final amount is what hop 1 left: hop 4's walk was rolled back */
            CHECK(w.r.noffers == 3 && w.r.offers[0].offer_id == 1 && w.r.offers[0].amount == 300);
        }
        w_free(&w);
    }
}

/* ---- venue choice, pools, budget ------------------------------------------------------------ */

/* LiquidityPoolTradeTests.cpp:58-123: buy 10 B with A; the book wins only when strictly better
 * (shouldConvertWithOffers, OfferExchange.cpp:1643-1651): pool 1000/1000 needs 11, the book (two
 * offers at 2/1) 20 -> pool; pool 1800/1000 needs 19 = book (1 at 1/1 + 9 at 2/1) 19 -> pool (a
 * tie goes to the pool); pool 2000/1000 needs 21 > 20 -> book. */
static void test_venue_choice(void) {
    const int64_t ra[3] = {1000, 1800, 2000};
    const int expect_pool[3] = {1, 1, 0};
    const int64_t pool_send[3] = {11, 19, 21}, book_send[3] = {20, 19, 20};
    for (int i = 0; i < 3; i++) {
        world w;
        w_init(&w, 23);
        if (i == 1) {
            offer(&w, S1, 1, B, A, 1, 1, 1);
            offer(&w, S1, 2, B, A, 9, 2, 1);
        } else {
            offer(&w, S1, 1, B, A, 4, 2, 1);
            offer(&w, S1, 2, B, A, 6, 2, 1);
        }
        pool(&w, A, B, ra[i], 1000);
        w_recv(&w, T, A, 100, T, B, 10, NULL, 0);
        CODE(&w, "PATH_PAYMENT_STRICT_RECEIVE_SUCCESS");
        CHECK(w.r.hops[0].venue == (expect_pool[i] ? SOB_VENUE_POOL : SOB_VENUE_BOOK));
        CHECK(w.r.hops[0].pool_send == pool_send[i] && w.r.hops[0].book_send == book_send[i]);
        CHECK(w.r.nclaims == (expect_pool[i] ? 1u : 2u));
        /* the book walk's claims stay readable, chosen or rolled back: B sold, A bought */
        const sob_hop *h = &w.r.hops[0];
        CHECK(h->book_rolled_back == expect_pool[i] && h->book_claims_count == 2);
        const sob_claim *wc = (expect_pool[i] ? w.r.walk_claims : w.r.hop_claims) + h->book_claims_start;
        CHECK(w.r.nwalk_claims == (expect_pool[i] ? 2u : 0u));
        if (i == 1)
            CHECK(claim_is(&wc[0], 1, 1, 1) && claim_is(&wc[1], 2, 9, 18) && wc[1].remaining == 0);
        else
            CHECK(claim_is(&wc[0], 1, 4, 8) && claim_is(&wc[1], 2, 6, 12) && wc[1].remaining == 0);
        if (!expect_pool[i]) CHECK(h->book_claims_start == h->claims_start && h->book_claims_count == h->claims_count);
        w_free(&w);
    }
}

/* A hop is never split: strict send 1000 A, the book has 300 B at 1/1 (ePartial), so the pool
 * takes the whole hop: floor(9970*10^6*1000/(10^10+9970000)) = 996; the walk is rolled back. */
static void test_book_incomplete_goes_to_pool(void) {
    world w;
    w_init(&w, 23);
    offer(&w, S1, 1, B, A, 300, 1, 1);
    pool(&w, A, B, 1000000, 1000000);
    w_send(&w, T, A, 1000, T, B, 1, NULL, 0);
    CODE(&w, "PATH_PAYMENT_STRICT_SEND_SUCCESS");
    CHECK(w.r.received == 996 && w.r.hops[0].venue == SOB_VENUE_POOL && w.r.hops[0].book_result == SOB_CONVERT_PARTIAL);
    CHECK(w.r.hops[0].book_send == 300 && w.r.hops[0].book_offers == 1 && w.r.noffers == 0 && w.r.npools == 1);
    /* the rolled-back walk: offer 1 taken whole (300 for 300), not among the operation's claims */
    CHECK(w.r.hops[0].book_rolled_back && w.r.hops[0].book_claims_count == 1 && w.r.nwalk_claims == 1);
    CHECK(claim_is(&w.r.walk_claims[w.r.hops[0].book_claims_start], 1, 300, 300) && w.r.walk_claims[0].remaining == 0);
    CHECK(w.r.nclaims == 1 && w.r.claims[0].offer_id == -1);
    w_free(&w);
}

/* The book walk stops on the source's own offer (eFilterStopCrossSelf != eOK), so with a pool
 * the pool is used and there is no CROSS_SELF (LiquidityPoolTradeTests.cpp:565-619); without one,
 * OFFER_CROSS_SELF. A manage offer meeting its own offer: CROSS_SELF. */
static void test_cross_self(void) {
    world w;
    w_init(&w, 23);
    offer(&w, T, 1, B, A, 10, 1, 1);
    w_send(&w, T, A, 10, D, B, 9, NULL, 0);
    CODE(&w, "PATH_PAYMENT_STRICT_SEND_OFFER_CROSS_SELF");
    CHECK(w.r.hops[0].result == SOB_CONVERT_STOP_CROSS_SELF);
    pool(&w, A, B, 1000, 1000);
    w_send(&w, T, A, 10, D, B, 9, NULL, 0);
    CODE(&w, "PATH_PAYMENT_STRICT_SEND_SUCCESS");
    CHECK(w.r.hops[0].venue == SOB_VENUE_POOL && w.r.hops[0].book_result == SOB_CONVERT_STOP_CROSS_SELF);
    CHECK(w.r.npools == 1 && w.r.received == 9);
    w_manage(&w, SOB_OP_MANAGE_SELL_OFFER, T, A, B, 5, 1, 1, 0, NULL);
    CODE(&w, "MANAGE_SELL_OFFER_CROSS_SELF");
    w_free(&w);
}

/* A passive offer does not cross an offer at exactly its opposite price (o.price >= maxWheatPrice
 * stops it, ManageOfferOpFrameBase.cpp:366); a normal one does (only > stops). */
static void test_passive_and_price_limit(void) {
    world w;
    w_init(&w, 23);
    w.ctx.accounts = NULL;
    offer(&w, MK, 1, CTR, BASE, 100, 2, 1); /* 2 BASE per CTR */
    w_manage(&w, SOB_OP_CREATE_PASSIVE_SELL_OFFER, T, BASE, CTR, 50, 1, 2, 0, NULL);
    CODE(&w, "MANAGE_SELL_OFFER_SUCCESS");
    CHECK(w.r.nclaims == 0 && w.r.offer_effect == SOB_OFFER_CREATED && w.r.offer.amount == 50 &&
          w.r.offer.flags == SOB_OFFER_PASSIVE && w.r.offer.offer_id == 1 && w.r.id_pool == 1);
    CHECK(w.r.hops[0].result == SOB_CONVERT_STOP_BAD_PRICE);
    w_manage(&w, SOB_OP_MANAGE_SELL_OFFER, T, BASE, CTR, 50, 1, 2, 0, NULL);
    CHECK(w.r.nclaims == 1 && claim_is(&w.r.claims[0], 1, 25, 50) && w.r.offer_effect == SOB_OFFER_DELETED);
    w_manage(&w, SOB_OP_MANAGE_SELL_OFFER, T, BASE, CTR, 50, 2, 3, 0, NULL); /* worse limit: all rests */
    CHECK(w.r.nclaims == 0 && w.r.offer_effect == SOB_OFFER_CREATED && w.r.offer.amount == 50);
    w_free(&w);
}

/* ManageBuyOffer buys exactly and stores the inverse price (ManageBuyOfferOpFrame.cpp:17-31):
 * buying 100 CTR at <= 3/2 from an offer of 1000 CTR at 3/2 costs 150 BASE; buying 2000 takes the
 * book's 1000 and rests a sell offer of BASE at 2/3 adjusted to receive 1000 CTR at most. */
static void test_manage_buy_offer(void) {
    world w;
    w_init(&w, 23);
    account(&w, MK, 10000000000LL, 3);
    sob_trustline mc = {1000000, 1000000000, 0, 1000, SOB_TL_AUTHORIZED, 0}, mb = {1000000, 1000000000, 1500, 0,
                                                                                   SOB_TL_AUTHORIZED, 0};
    CHECK(sob_accounts_set_trustline(&w.t, MK, CTR, &mc) == 0 && sob_accounts_set_trustline(&w.t, MK, BASE, &mb) == 0);
    account(&w, T, 10000000000LL, 2);
    line(&w, T, BASE, 1000000, 1000000000);
    line(&w, T, CTR, 1000000, 1000000000);
    offer(&w, MK, 1, CTR, BASE, 1000, 3, 2);
    w_manage(&w, SOB_OP_MANAGE_BUY_OFFER, T, BASE, CTR, 100, 3, 2, 0, NULL);
    CODE(&w, "MANAGE_BUY_OFFER_SUCCESS");
    CHECK(w.r.sent == 150 && w.r.received == 100 && w.r.offer_effect == SOB_OFFER_DELETED);
    w_manage(&w, SOB_OP_MANAGE_BUY_OFFER, T, BASE, CTR, 2000, 3, 2, 0, NULL);
    CHECK(w.r.received == 1000 && w.r.sent == 1500 && w.r.offer_effect == SOB_OFFER_CREATED);
    CHECK(w.r.offer.n == 2 && w.r.offer.d == 3 && w.r.offer.selling == BASE && w.r.offer.amount == 1500);
    w_free(&w);
}

/* An update releases the old offer's liabilities first, so it may use what they reserved
 * (ManageOfferOpFrameBase.cpp:248-285); amount 0 deletes it and frees its subentry (l.544-556). */
static void test_update_and_delete(void) {
    world w;
    w_init(&w, 23);
    sob_account t = {10000000000LL, 0, 0, 3, 0, 0, 0};
    CHECK(sob_accounts_set_account(&w.t, T, &t) == SOB_OK);
    sob_trustline tb = {100, 1000000000, 0, 100, SOB_TL_AUTHORIZED, 0}, tc = {1000000, 1000000000, 100, 0,
                                                                              SOB_TL_AUTHORIZED, 0};
    CHECK(sob_accounts_set_trustline(&w.t, T, BASE, &tb) == 0 && sob_accounts_set_trustline(&w.t, T, CTR, &tc) == 0);
    offer(&w, T, 5, BASE, CTR, 100, 1, 1);
    sob_offer_entry old = {5, T, 0, BASE, CTR, 100, 1, 1, 0, 0};
    w_manage(&w, SOB_OP_MANAGE_SELL_OFFER, T, BASE, CTR, 100, 1, 1, 0, NULL);
    CODE(&w, "MANAGE_SELL_OFFER_UNDERFUNDED");
    w_manage(&w, SOB_OP_MANAGE_SELL_OFFER, T, BASE, CTR, 100, 2, 1, 5, &old);
    CODE(&w, "MANAGE_SELL_OFFER_SUCCESS");
    CHECK(w.r.offer_effect == SOB_OFFER_UPDATED && w.r.offer.offer_id == 5 && w.r.offer.n == 2 &&
          w.r.old_offer_removed == 1);
    for (size_t i = 0; i < w.r.ntrustlines; i++)
        if (w.r.trustlines[i].asset == CTR) CHECK(w.r.trustlines[i].after.buying_liabilities == 200);
    w_manage(&w, SOB_OP_MANAGE_SELL_OFFER, T, BASE, CTR, 0, 1, 1, 5, &old);
    CHECK(w.r.offer_effect == SOB_OFFER_DELETED && w.r.old_offer_removed == 1);
    CHECK(w.r.naccounts == 1 && w.r.accounts[0].after.num_sub_entries == 2);
    w_manage(&w, SOB_OP_MANAGE_SELL_OFFER, MK, BASE, CTR, 0, 1, 1, 5, &old); /* not MK's offer */
    CODE(&w, "MANAGE_SELL_OFFER_NOT_FOUND");
    w_free(&w);
}

/* LOW_RESERVE (canCreateEntryWithoutSponsorship, SponsorshipUtils.cpp:475-517): the available
 * native balance must cover one more base reserve. */
static void test_low_reserve(void) {
    world w;
    w_init(&w, 23);
    const int64_t br = 5000000;
    account(&w, T, 3 * br - 1, 2); /* minimum 4 reserves with its 2 lines; 3 reserves - 1 */
    line(&w, T, BASE, 1000, 1000000);
    line(&w, T, CTR, 1000, 1000000);
    w_manage(&w, SOB_OP_MANAGE_SELL_OFFER, T, BASE, CTR, 10, 1, 1, 0, NULL);
    CODE(&w, "MANAGE_SELL_OFFER_LOW_RESERVE"); /* below its own minimum: no room for one more */
    account(&w, T, 5 * br - 1, 2);
    w_manage(&w, SOB_OP_MANAGE_SELL_OFFER, T, BASE, CTR, 10, 1, 1, 0, NULL);
    CODE(&w, "MANAGE_SELL_OFFER_LOW_RESERVE");
    account(&w, T, 5 * br, 2);
    w_manage(&w, SOB_OP_MANAGE_SELL_OFFER, T, BASE, CTR, 10, 1, 1, 0, NULL);
    CODE(&w, "MANAGE_SELL_OFFER_SUCCESS");
    CHECK(w.r.naccounts == 1 && w.r.accounts[0].after.num_sub_entries == 3 && w.r.offer.amount == 10);
    w_free(&w);
}

/* The per-operation budget shared by the hops (OfferExchange.cpp:1737, 1565-1569): hop A->B
 * crosses 600 offers, hop B->C has 400 left; a 401st offer is opEXCEEDED_WORK_LIMIT. Strict
 * receive walks back from the destination: 500 + 500 offers fit, 501 leave 499 for the other. */
static void test_budget_shared_by_hops(void) {
    for (int extra = 0; extra < 2; extra++) {
        world w;
        w_init(&w, 23);
        w.ctx.accounts = NULL;
        int64_t id = 0;
        for (int i = 0; i < 600; i++) offer(&w, 0, ++id, B, A, 1, 1, 1);
        for (int i = 0; i < 400 + extra; i++) offer(&w, 0, ++id, C, B, i == 399 + extra ? 1000000 : 1, 1, 1);
        const uint32_t path[1] = {B};
        w_send(&w, T, A, 600, T, C, 1, path, 1);
        if (!extra) {
            CODE(&w, "PATH_PAYMENT_STRICT_SEND_SUCCESS");
            CHECK(w.r.received == 600 && w.r.nclaims == 1000 && w.r.hops[0].budget_after == 400 &&
                  w.r.hops[1].budget_after == 0);
        } else {
            CODE(&w, "opEXCEEDED_WORK_LIMIT");
            CHECK(w.r.nhops == 2 && w.r.hops[1].book_offers == 400);
        }
        w_free(&w);
    }
    for (int extra = 0; extra < 2; extra++) {
        world w;
        w_init(&w, 23);
        w.ctx.accounts = NULL;
        int64_t id = 0;
        for (int i = 0; i < 600; i++) offer(&w, 0, ++id, B, A, 1, 1, 1);
        for (int i = 0; i < 600; i++) offer(&w, 0, ++id, C, B, 1, 1, 1);
        const uint32_t path[1] = {B};
        w_recv(&w, T, A, M, T, C, 500 + extra, path, 1);
        if (!extra) {
            CODE(&w, "PATH_PAYMENT_STRICT_RECEIVE_SUCCESS");
            CHECK(w.r.sent == 500 && w.r.hops[0].budget_after == 500 && w.r.hops[1].budget_after == 0);
            /* claims in path order (inserted in front, PathPaymentStrictReceiveOpFrame.cpp:124-127) */
            CHECK(w.r.claims[0].offer_id == 1 && w.r.claims[0].asset_bought == A && w.r.claims[500].offer_id == 601);
        } else {
            CODE(&w, "opEXCEEDED_WORK_LIMIT");
            CHECK(w.r.hops[1].book_offers == 499);
        }
        w_free(&w);
    }
}

/* Six hops (five intermediate assets): per hop 1000 at 1/1 then 1000 at 2/1. Strict send 1500:
 * 1500 -> 1250 -> 1125 -> 1062 -> 1031 -> 1015 -> 1007. Strict receive 1007 walks back: 1014,
 * 1028, 1056, 1112, 1224, 1448. A path of 6 intermediate assets is SOB_E_INVALID; a repeated
 * neighbour is skipped. */
static void test_six_hops(void) {
    world w;
    w_init(&w, 23);
    w.ctx.accounts = NULL;
    uint32_t P[7];
    for (uint32_t i = 0; i < 7; i++) P[i] = 10 + i;
    for (uint32_t i = 0; i < 6; i++) {
        offer(&w, S1, 2 * i + 1, P[i + 1], P[i], 1000, 1, 1);
        offer(&w, S2, 2 * i + 2, P[i + 1], P[i], 1000, 2, 1);
    }
    w_send(&w, T, P[0], 1500, T, P[6], 1, P + 1, 5);
    CODE(&w, "PATH_PAYMENT_STRICT_SEND_SUCCESS");
    const int64_t recv[6] = {1250, 1125, 1062, 1031, 1015, 1007};
    CHECK(w.r.received == 1007 && w.r.nhops == 6 && w.r.nclaims == 12 && w.r.hops[5].budget_after == 988);
    for (int i = 0; i < 6; i++) CHECK(w.r.hops[i].amount_recv == recv[i]);
    w_recv(&w, T, P[0], M, T, P[6], 1007, P + 1, 5);
    CODE(&w, "PATH_PAYMENT_STRICT_RECEIVE_SUCCESS");
    const int64_t sent[6] = {1014, 1028, 1056, 1112, 1224, 1448};
    CHECK(w.r.sent == 1448);
    for (int i = 0; i < 6; i++) CHECK(w.r.hops[i].amount_send == sent[i]);
    for (int i = 0; i < 12; i++) CHECK(w.r.claims[i].asset_bought == P[i / 2]);
    const uint32_t rep[2] = {P[1], P[1]};
    w_send(&w, T, P[0], 1500, T, P[2], 1, rep, 2);
    CHECK(w.r.received == 1125 && w.r.nhops == 2);
    sob_path_op op = {SOB_OP_PATH_PAYMENT_STRICT_SEND, 8, {0}, T, T, 10, 1};
    sob_venue v[8];
    memset(v, 0, sizeof v);
    CHECK(sob_path_payment(&w.ctx, &op, v, w.s, &w.r) == SOB_E_INVALID);
    w_free(&w);
}

/* Result codes at the edges of a path payment: UNDER_DESTMIN and OVER_SENDMAX carry the amounts;
 * the destination's and the source's lines (NO_TRUST, LINE_FULL, UNDERFUNDED, SRC_NO_TRUST) and a
 * missing destination (NO_DESTINATION). */
static void test_path_result_codes(void) {
    world w;
    w_init(&w, 23);
    w.ctx.flags = SOB_CTX_UNKNOWN_MISSING;
    account(&w, ISS, 1000000000, 0);
    CHECK(sob_accounts_set_issuer(&w.t, A, ISS) == 0 && sob_accounts_set_issuer(&w.t, B, ISS) == 0);
    account(&w, MK, 10000000000LL, 3);
    sob_trustline ma = {0, M, 1000, 0, SOB_TL_AUTHORIZED, 0}, mb = {1000, M, 0, 1000, SOB_TL_AUTHORIZED, 0};
    CHECK(sob_accounts_set_trustline(&w.t, MK, A, &ma) == 0 && sob_accounts_set_trustline(&w.t, MK, B, &mb) == 0);
    offer(&w, MK, 1, B, A, 1000, 1, 1);
    account(&w, T, 10000000000LL, 2);
    line(&w, T, A, 100, M);
    line(&w, T, B, 0, M);
    account(&w, D, 10000000000LL, 1);
    line(&w, D, B, 0, 50);
    w_send(&w, T, A, 100, T, B, 101, NULL, 0);
    CODE(&w, "PATH_PAYMENT_STRICT_SEND_UNDER_DESTMIN");
    CHECK(w.r.amounts_known && w.r.sent == 100 && w.r.received == 100 && w.r.nclaims == 0 && w.r.nhops == 1);
    w_recv(&w, T, A, 99, T, B, 100, NULL, 0);
    CODE(&w, "PATH_PAYMENT_STRICT_RECEIVE_OVER_SENDMAX");
    CHECK(w.r.amounts_known && w.r.sent == 100 && w.r.received == 100);
    w_send(&w, T, A, 100, D, B, 1, NULL, 0);
    CODE(&w, "PATH_PAYMENT_STRICT_SEND_LINE_FULL");
    w_send(&w, T, A, 101, T, B, 1, NULL, 0);
    CODE(&w, "PATH_PAYMENT_STRICT_SEND_UNDERFUNDED");
    w_send(&w, T, A, 10, D, A, 1, NULL, 0);
    CODE(&w, "PATH_PAYMENT_STRICT_SEND_NO_TRUST");
    w_send(&w, D, A, 10, T, A, 1, NULL, 0);
    CODE(&w, "PATH_PAYMENT_STRICT_SEND_SRC_NO_TRUST");
    w_send(&w, T, A, 10, 99, A, 1, NULL, 0);
    CODE(&w, "PATH_PAYMENT_STRICT_SEND_NO_DESTINATION");
    w_send(&w, T, A, 10, ISS, A, 1, NULL, 0); /* to the issuer: the bypass (PathPaymentOpFrameBase.cpp:154) */
    CODE(&w, "PATH_PAYMENT_STRICT_SEND_SUCCESS");
    w_send(&w, 99, A, 10, T, A, 1, NULL, 0); /* a source that does not exist: not an operation result */
    CHECK(w.st == SOB_E_NOT_FOUND);
    w_send(&w, T, A, 0, T, B, 1, NULL, 0);
    CODE(&w, "PATH_PAYMENT_STRICT_SEND_MALFORMED");
    w_free(&w);
}

/* ---- one test per protocol gate --------------------------------------------------------------- */

static void maker_taker(world *w, uint32_t protocol) {
    w_init(w, protocol);
    const uint64_t who[2] = {MK, T};
    for (int i = 0; i < 2; i++) {
        account(w, who[i], 10000000000LL, 2);
        line(w, who[i], BASE, 1000000, 1000000000);
        line(w, who[i], CTR, 1000000, 1000000000);
    }
}

/* V11: the 1000-offer budget for ManageOffer and strict receive (TransactionUtils.h:84-85;
 * ManageOfferOpFrameBase.cpp:348-354; PathPaymentStrictReceiveOpFrame.cpp:92-97): with a budget of
 * 2, crossing 3 offers is fine before 11. */
static void test_gate_v11_budget(void) {
    for (uint32_t p = 10; p <= 11; p++) {
        world w;
        maker_taker(&w, p);
        w.ctx.accounts = NULL;
        w.ctx.max_offers_to_cross = 2;
        for (int i = 1; i <= 3; i++) offer(&w, MK, i, CTR, BASE, 10, 1, 1);
        w_manage(&w, SOB_OP_MANAGE_SELL_OFFER, T, BASE, CTR, 30, 1, 1, 0, NULL);
        CODE(&w, p == 10 ? "MANAGE_SELL_OFFER_SUCCESS" : "opEXCEEDED_WORK_LIMIT");
        w_recv(&w, T, BASE, 100, T, CTR, 30, NULL, 0);
        CODE(&w, p == 10 ? "PATH_PAYMENT_STRICT_RECEIVE_SUCCESS" : "opEXCEEDED_WORK_LIMIT");
        w_free(&w);
    }
}

/* V11: ManageBuyOffer exists (ManageBuyOfferOpFrame.cpp:33-38); deleting offer 0 is MALFORMED
 * (NOT_FOUND before, ManageOfferOpFrameBase.cpp:620-633); the subentry limit
 * (SponsorshipUtils.cpp:44-56). */
static void test_gate_v11_ops(void) {
    for (uint32_t p = 10; p <= 11; p++) {
        world w;
        maker_taker(&w, p);
        w_manage(&w, SOB_OP_MANAGE_BUY_OFFER, T, BASE, CTR, 10, 1, 1, 0, NULL);
        CODE(&w, p == 10 ? "opNOT_SUPPORTED" : "MANAGE_BUY_OFFER_SUCCESS");
        w_manage(&w, SOB_OP_MANAGE_SELL_OFFER, T, BASE, CTR, 0, 1, 1, 0, NULL);
        CODE(&w, p == 10 ? "MANAGE_SELL_OFFER_NOT_FOUND" : "MANAGE_SELL_OFFER_MALFORMED");
        account(&w, T, 1000000000000LL, 1000);
        w_manage(&w, SOB_OP_MANAGE_SELL_OFFER, T, BASE, CTR, 10, 1, 1, 0, NULL);
        CODE(&w, p == 10 ? "MANAGE_SELL_OFFER_SUCCESS" : "opTOO_MANY_SUBENTRIES");
        w_free(&w);
    }
}

/* V11: a native destination that would pass INT64_MAX: LINE_FULL, MALFORMED before
 * (PathPaymentOpFrameBase.cpp:251-264). */
static void test_gate_v11_native_destination_overflow(void) {
    for (uint32_t p = 10; p <= 11; p++) {
        world w;
        w_init(&w, p);
        account(&w, D, M - 5, 0);
        w_recv(&w, S1, NATIVE, 100, D, NATIVE, 10, NULL, 0);
        CODE(&w, p == 10 ? "PATH_PAYMENT_STRICT_RECEIVE_MALFORMED" : "PATH_PAYMENT_STRICT_RECEIVE_LINE_FULL");
        w_free(&w);
    }
}

/* V12: PathPaymentStrictSend exists (PathPaymentStrictSendOpFrame.cpp:26-31). */
static void test_gate_v12_strict_send(void) {
    for (uint32_t p = 11; p <= 12; p++) {
        world w;
        w_init(&w, p);
        w_send(&w, S1, NATIVE, 10, D, NATIVE, 1, NULL, 0);
        CODE(&w, p == 11 ? "opNOT_SUPPORTED" : "PATH_PAYMENT_STRICT_SEND_SUCCESS");
        w_free(&w);
    }
}

/* V13: before 13 the issuer account must exist: SELL_NO_ISSUER (ManageOfferOpFrameBase.cpp:51-59)
 * and NO_ISSUER (PathPaymentOpFrameBase.cpp:76-91). */
static void test_gate_v13_issuer(void) {
    for (uint32_t p = 12; p <= 13; p++) {
        world w;
        w_init(&w, p);
        w.ctx.flags = SOB_CTX_UNKNOWN_MISSING;
        CHECK(sob_accounts_set_issuer(&w.t, BASE, ISS) == SOB_OK); /* ISS is not in the table */
        account(&w, T, 10000000000LL, 1);
        line(&w, T, BASE, 100, 1000000000);
        w_manage(&w, SOB_OP_MANAGE_SELL_OFFER, T, BASE, NATIVE, 10, 1, 1, 0, NULL);
        CODE(&w, p == 12 ? "MANAGE_SELL_OFFER_SELL_NO_ISSUER" : "MANAGE_SELL_OFFER_SUCCESS");
        w_send(&w, T, NATIVE, 10, T, BASE, 1, NULL, 0);
        CODE(&w, p == 12 ? "PATH_PAYMENT_STRICT_SEND_NO_ISSUER" : "PATH_PAYMENT_STRICT_SEND_TOO_FEW_OFFERS");
        w_free(&w);
    }
}

/* V14: numSponsoring / numSponsored count in the minimum balance (TransactionUtils.cpp:870-884):
 * sponsoring 2 entries, 3 reserves + 100: at 13 the minimum is 2 reserves and the new offer fits;
 * at 14 it is 4 and the new offer's reserve does not: LOW_RESERVE. The subentry is taken at the
 * start from 14 (ManageOfferOpFrameBase.cpp:292-326), in computeOfferExchangeParameters and at the
 * end before (l.118-146, 495-521): for an unsponsored source the outcome is the same. */
static void test_gate_v14(void) {
    for (uint32_t p = 13; p <= 14; p++) {
        world w;
        maker_taker(&w, p);
        const int64_t br = 5000000;
        sob_account t = {3 * br + 100, 0, 0, 0, 2, 0, 0};
        CHECK(sob_accounts_set_account(&w.t, T, &t) == SOB_OK);
        w_manage(&w, SOB_OP_MANAGE_SELL_OFFER, T, NATIVE, CTR, 100, 1, 1, 0, NULL);
        CODE(&w, p == 13 ? "MANAGE_SELL_OFFER_SUCCESS" : "MANAGE_SELL_OFFER_LOW_RESERVE");
        t.num_sponsoring = 0;
        CHECK(sob_accounts_set_account(&w.t, T, &t) == SOB_OK);
        offer(&w, S1, 1, CTR, NATIVE, 40, 1, 1);
        w_manage(&w, SOB_OP_MANAGE_SELL_OFFER, T, NATIVE, CTR, 100, 1, 1, 0, NULL);
        CODE(&w, "MANAGE_SELL_OFFER_SUCCESS");
        CHECK(w.r.sent == 40 && w.r.offer.amount == 60 && w.r.naccounts == 1 && w.r.accounts[0].after.num_sub_entries == 1);
        w_manage(&w, SOB_OP_MANAGE_SELL_OFFER, T, NATIVE, CTR, 40, 1, 1, 0, NULL);
        CHECK(w.r.offer_effect == SOB_OFFER_DELETED && w.r.accounts[0].after.num_sub_entries == 0);
        w_free(&w);
    }
}

/* V15: a negative offer id is MALFORMED (ManageOfferOpFrameBase.cpp:635-640), NOT_FOUND before. */
static void test_gate_v15_negative_offer_id(void) {
    for (uint32_t p = 14; p <= 15; p++) {
        world w;
        maker_taker(&w, p);
        w_manage(&w, SOB_OP_MANAGE_SELL_OFFER, T, BASE, CTR, 10, 1, 1, -1, NULL);
        CODE(&w, p == 14 ? "MANAGE_SELL_OFFER_NOT_FOUND" : "MANAGE_SELL_OFFER_MALFORMED");
        w_free(&w);
    }
}

/* V18: pools trade (OfferExchange.cpp:1390-1395): before, the book at 1/1 gives 100; from 18 the
 * pool 10^6/2*10^6 gives floor(9970*2e6*100/(10^10+997000)) = 199. The claim atom type
 * (TransactionUtils.cpp:1881-1900). The zero-budget fast fail (OfferExchange.cpp:1502-1511): from
 * 18 a hop that starts with no budget is EXCEEDED_WORK_LIMIT at once; before, an empty book is
 * TOO_FEW_OFFERS and the source's own offer CROSS_SELF. numSponsoring + numSubEntries must fit
 * uint32 (SponsorshipUtils.cpp:20-28). */
static void test_gate_v18(void) {
    for (uint32_t p = 17; p <= 18; p++) {
        world w;
        w_init(&w, p);
        w.ctx.accounts = NULL;
        offer(&w, S1, 1, B, A, 1000, 1, 1);
        pool(&w, A, B, 1000000, 2000000);
        w_send(&w, T, A, 100, T, B, 1, NULL, 0);
        CODE(&w, "PATH_PAYMENT_STRICT_SEND_SUCCESS");
        CHECK(w.r.received == (p == 17 ? 100 : 199));
        CHECK(w.r.hops[0].venue == (p == 17 ? SOB_VENUE_BOOK : SOB_VENUE_POOL));
        CHECK(w.r.claims[0].type == (p == 17 ? SOB_CLAIM_V0 : SOB_CLAIM_LIQUIDITY_POOL));
        w_free(&w);
        w_init(&w, p);
        w.ctx.accounts = NULL;
        w.ctx.max_offers_to_cross = 2;
        offer(&w, S1, 1, B, A, 1, 1, 1);
        offer(&w, S2, 2, B, A, 1, 1, 1);
        const uint32_t path[1] = {B};
        w_send(&w, T, A, 2, T, C, 1, path, 1);
        CODE(&w, p == 17 ? "PATH_PAYMENT_STRICT_SEND_TOO_FEW_OFFERS" : "opEXCEEDED_WORK_LIMIT");
        CHECK(w.r.nhops == 2 && w.r.hop_claims[0].type == (p == 17 ? SOB_CLAIM_V0 : SOB_CLAIM_ORDER_BOOK));
        offer(&w, T, 3, C, B, 10, 1, 1);
        w_send(&w, T, A, 2, T, C, 1, path, 1);
        CODE(&w, p == 17 ? "PATH_PAYMENT_STRICT_SEND_OFFER_CROSS_SELF" : "opEXCEEDED_WORK_LIMIT");
        w_free(&w);
        maker_taker(&w, p);
        sob_account t = {100000000000000000LL, 0, 0, 3, UINT32_MAX - 3, 0, 0};
        CHECK(sob_accounts_set_account(&w.t, T, &t) == SOB_OK);
        w.ctx.protocol = p;
        w_manage(&w, SOB_OP_MANAGE_SELL_OFFER, T, BASE, CTR, 10, 1, 1, 0, NULL);
        CODE(&w, p == 17 ? "MANAGE_SELL_OFFER_SUCCESS" : "opTOO_MANY_SUBENTRIES");
        w_free(&w);
    }
}

/* V27: when the pool wins a hop after a book walk, the walk's offers count against the budget
 * and >= the budget left is EXCEEDED_WORK_LIMIT (OfferExchange.cpp:1740-1751);
 * LiquidityPoolTradeTests.cpp:207-271 "liquidity pool with deep order book": budget 10, a B->C
 * book of 2000 C at 1/2, the A->B book `extra` offers of 1 B at 2/1 and a pool 100/2000. */
static void test_gate_v27_pool_after_deep_book(void) {
    for (uint32_t p = 26; p <= 27; p++)
        for (int extra = 8; extra <= 9; extra++)
            for (int recv = 0; recv < 2; recv++) {
                world w;
                w_init(&w, p);
                w.ctx.accounts = NULL;
                w.ctx.max_offers_to_cross = 10;
                offer(&w, S1, 1, C, B, 2000, 1, 2);
                for (int i = 0; i < extra; i++) offer(&w, S2, 10 + i, B, A, 1, 2, 1);
                pool(&w, A, B, 100, 2000);
                const uint32_t path[1] = {B};
                if (recv)
                    w_recv(&w, T, A, 100, T, C, 18, path, 1);
                else
                    w_send(&w, T, A, 100, T, C, 1, path, 1);
                int over = p >= 27 && extra == 9;
                if (over) {
                    CODE(&w, "opEXCEEDED_WORK_LIMIT");
                } else {
                    CODE(&w, recv ? "PATH_PAYMENT_STRICT_RECEIVE_SUCCESS" : "PATH_PAYMENT_STRICT_SEND_SUCCESS");
                }
                const sob_hop *h = &w.r.hops[recv ? 1 : 0];
                CHECK(h->pool_quoted && h->book_offers == (uint64_t)extra);
                if (!over)
                    CHECK(h->venue == SOB_VENUE_POOL &&
                          h->budget_after == 10 - (recv ? 1 : 0) - (p >= 27 ? extra : 0) - 1);
                w_free(&w);
            }
}

/* The header's DISABLE_LIQUIDITY_POOL_TRADING flag turns pools off (OfferExchange.cpp:1396-1399). */
static void test_pool_trading_disabled(void) {
    world w;
    w_init(&w, 23);
    pool(&w, A, B, 1000, 1000);
    w_send(&w, T, A, 10, D, B, 9, NULL, 0);
    CODE(&w, "PATH_PAYMENT_STRICT_SEND_SUCCESS");
    w.ctx.flags |= SOB_CTX_POOL_TRADING_DISABLED;
    w_send(&w, T, A, 10, D, B, 9, NULL, 0);
    CODE(&w, "PATH_PAYMENT_STRICT_SEND_TOO_FEW_OFFERS");
    w_free(&w);
}

/* ---- the default model and the existing simulate ------------------------------------------- */

/* With no table every seller is unknown and fully funded: a manage buy over a random book gives
 * exactly what sob_offerbook_simulate (today's binding) gives, fill by fill. */
static void test_unknown_sellers_match_offerbook_simulate(void) {
    uint64_t x = 12345;
    for (int round = 0; round < 200; round++) {
        world w;
        w_init(&w, 28);
        w.ctx.accounts = NULL;
        int k = 1 + (int)(round % 60);
        int64_t total = 0;
        for (int i = 0; i < k; i++) {
            x ^= x << 13, x ^= x >> 7, x ^= x << 17;
            int64_t amount = 1 + (int64_t)(x % 1000000000);
            offer(&w, 0, i + 1, BASE, CTR, amount, 1 + (int32_t)(x % 97), 1 + (int32_t)((x >> 20) % 89));
            total += amount;
        }
        int64_t want = 1 + (int64_t)(x % (uint64_t)total);
        w_manage(&w, SOB_OP_MANAGE_BUY_OFFER, T, CTR, BASE, want, 1000, 1, 0, NULL);
        sob_sim p;
        memset(&p, 0, sizeof p);
        p.side = SOB_SIDE_ASK;
        p.round = SOB_ROUND_NORMAL;
        p.max_sheep_send = M;
        p.max_wheat_receive = want;
        p.has_limit = 1;
        p.limit_n = 1000;
        p.limit_d = 1;
        p.max_offers = 1000;
        sob_fill fills[64];
        sob_sim_out so;
        CHECK(sob_offerbook_simulate(&w.books[0], &p, fills, &so) == SOB_OK);
        CODE(&w, "MANAGE_BUY_OFFER_SUCCESS");
        CHECK(w.r.nclaims == so.nfills && w.r.sent == so.sent && w.r.received == so.received);
        for (size_t i = 0; i < so.nfills && i < w.r.nclaims; i++)
            CHECK(claim_is(&w.r.claims[i], fills[i].offer_id, fills[i].wheat, fills[i].sheep) &&
                  w.r.claims[i].remaining == fills[i].remaining);
        w_free(&w);
    }
}

/* ---- the single hop and the inputs ------------------------------------------------------------ */

static void test_convert_hop_and_inputs(void) {
    world w;
    w_init(&w, 28);
    offer(&w, S1, 1, B, A, 100, 1, 1);
    sob_venue v = venue(&w, A, B);
    sob_hop_op op = {SOB_ROUND_STRICT_RECEIVE, A, B, 0, T, 60, 1000};
    CHECK(sob_convert_hop(&w.ctx, &op, &v, w.s, &w.r) == SOB_OK);
    CODE(&w, "PATH_PAYMENT_STRICT_RECEIVE_SUCCESS");
    CHECK(w.r.sent == 60 && w.r.received == 60 && w.r.nclaims == 1 && w.r.claims[0].remaining == 40);
    op.amount = 101;
    CHECK(sob_convert_hop(&w.ctx, &op, &v, w.s, &w.r) == SOB_OK);
    CODE(&w, "PATH_PAYMENT_STRICT_RECEIVE_TOO_FEW_OFFERS");
    op.taker = S1; /* the taker's own offer */
    CHECK(sob_convert_hop(&w.ctx, &op, &v, w.s, &w.r) == SOB_OK);
    CODE(&w, "PATH_PAYMENT_STRICT_RECEIVE_OFFER_CROSS_SELF");
    /* inputs that cannot be an operation */
    sob_dex_ctx bad = w.ctx;
    bad.protocol = 9;
    CHECK(sob_convert_hop(&bad, &op, &v, w.s, &w.r) == SOB_E_INVALID);
    bad = w.ctx;
    bad.max_offers_to_cross = -1;
    CHECK(sob_convert_hop(&bad, &op, &v, w.s, &w.r) == SOB_E_INVALID);
    bad = w.ctx;
    bad.id_pool = M;
    CHECK(sob_convert_hop(&bad, &op, &v, w.s, &w.r) == SOB_E_INVALID);
    sob_venue bv = v;
    bv.side = 2;
    CHECK(sob_convert_hop(&w.ctx, &op, &bv, w.s, &w.r) == SOB_E_INVALID);
    op.round = SOB_ROUND_NORMAL;
    CHECK(sob_convert_hop(&w.ctx, &op, &v, w.s, &w.r) == SOB_E_INVALID);
    sob_manage_op mop = {99, 0, T, A, B, 1, 1, 1, 0};
    CHECK(sob_manage_offer(&w.ctx, &mop, &v, NULL, w.s, &w.r) == SOB_E_INVALID);
    /* the table refuses what no ledger holds */
    sob_account neg = {-1, 0, 0, 0, 0, 0, 0};
    CHECK(sob_accounts_set_account(&w.t, T, &neg) == SOB_E_INVALID);
    CHECK(sob_accounts_set_account(&w.t, 0, &(sob_account){1, 0, 0, 0, 0, 0, 0}) == SOB_E_INVALID);
    sob_trustline over = {10, 9, 0, 0, SOB_TL_AUTHORIZED, 0};
    CHECK(sob_accounts_set_trustline(&w.t, T, A, &over) == SOB_E_INVALID);
    CHECK(sob_accounts_set_trustline(&w.t, T, NATIVE, &(sob_trustline){0, 1, 0, 0, 1, 0}) == SOB_E_INVALID);
    CHECK(sob_accounts_set_issuer(&w.t, NATIVE, ISS) == SOB_E_INVALID);
    CHECK(sob_accounts_set_sponsor(&w.t, -1, SP) == SOB_E_INVALID);
    w_free(&w);
}

/* Result names are core's XDR names, and their XDR values. */
static void test_result_names(void) {
    CHECK(strcmp(sob_result_name(SOB_R_opEXCEEDED_WORK_LIMIT), "opEXCEEDED_WORK_LIMIT") == 0);
    CHECK(sob_result_xdr(SOB_R_opEXCEEDED_WORK_LIMIT) == -5 && sob_result_xdr(SOB_R_opNOT_SUPPORTED) == -3);
    CHECK(strcmp(sob_result_name(SOB_R_MANAGE_BUY_OFFER_LOW_RESERVE), "MANAGE_BUY_OFFER_LOW_RESERVE") == 0);
    CHECK(sob_result_xdr(SOB_R_MANAGE_SELL_OFFER_LOW_RESERVE) == -12);
    CHECK(sob_result_xdr(SOB_R_PATH_PAYMENT_STRICT_SEND_UNDER_DESTMIN) == -12);
    CHECK(sob_result_xdr(SOB_R_PATH_PAYMENT_STRICT_RECEIVE_TOO_FEW_OFFERS) == -10);
    CHECK(strcmp(sob_result_name((sob_result)12345), "") == 0);
    CHECK(strcmp(sob_throw_message(SOB_THROW_COUNT), "unknown") == 0);
    for (int t = 1; t < SOB_THROW_COUNT; t++) CHECK(sob_throw_message((sob_throw)t)[0] != 0);
    CHECK(SOB_PROTOCOL_MAINNET >= SOB_PROTOCOL_MIN && SOB_PROTOCOL_MAINNET <= SOB_PROTOCOL_CORE);
}

/* exchangeV10 and the pool math with core's throws (ExchangeTests.cpp cases). */
static void test_checked_math(void) {
    sob_exchange ex;
    sob_throw t;
    /* "Rounding for PATH_PAYMENT_STRICT_SEND": (2/1, 1, M, 1, M) is 0 for 1 in strict send */
    CHECK(sob_exchange_v10_checked(2, 1, 1, M, 1, M, SOB_ROUND_STRICT_SEND, &ex, &t) == SOB_OK && !t && ex.wheat == 0 &&
          ex.sheep == 1);
    CHECK(sob_exchange_v10_checked(2, 1, 1, M, 1, M, SOB_ROUND_NORMAL, &ex, &t) == SOB_OK && !t && ex.wheat == 0);
    CHECK(sob_exchange_v10_checked(2, 3, 97, 95, M, M, SOB_ROUND_STRICT_SEND, &ex, &t) == SOB_OK && ex.wheat == 95 &&
          ex.sheep == M);
    CHECK(sob_exchange_v10_checked(3, 2, 0, M, 10, M, SOB_ROUND_STRICT_SEND, &ex, &t) == SOB_OK &&
          t == SOB_THROW_INVALID_SHEEP_SENT);
    int64_t to, from;
    int ok;
    CHECK(sob_pool_exchange_checked(10000, 10031, 20000, M, 30, SOB_ROUND_STRICT_SEND, &to, &from, &ok, &t) == 0 &&
          ok && to == 10031 && from == 10000);
    CHECK(sob_pool_exchange_checked(10000, M, 20000, 10000, 30, SOB_ROUND_STRICT_RECEIVE, &to, &from, &ok, &t) == 0 &&
          ok && to == 10031);
    CHECK(sob_pool_exchange_checked(100, M, 100, 0, 0, SOB_ROUND_STRICT_RECEIVE, &to, &from, &ok, &t) == 0 && ok &&
          to == 0 && from == 0);
    CHECK(sob_pool_exchange_checked(100, 50, 100, 50, 0, SOB_ROUND_STRICT_SEND, &to, &from, &ok, &t) == 0 &&
          t == SOB_THROW_POOL_SEND_BOUNDED);
    CHECK(sob_pool_exchange_checked(100, 50, 100, M, 10000, SOB_ROUND_STRICT_SEND, &to, &from, &ok, &t) == 0 &&
          t == SOB_THROW_POOL_FEE);
    CHECK(sob_pool_exchange_checked(100, 50, 100, 50, 0, SOB_ROUND_NORMAL, &to, &from, &ok, &t) == 0 &&
          t == SOB_THROW_POOL_ROUNDING);
    CHECK(sob_pool_exchange_checked(100, -1, 100, M, 0, SOB_ROUND_STRICT_SEND, &to, &from, &ok, &t) == SOB_E_INVALID);
}

int main(void) {
    test_issue_strict_receive_eok_but_short();
    test_issue_strict_send_int64_budget();
    test_manage_underfunded_before_crossing();
    test_manage_line_full_before_crossing();
    test_strict_send_over_an_offer_adjusted_to_zero_throws();
    test_remainder_is_adjusted_again();
    test_tight_seller_spent_exactly();
    test_unfunded_offers_are_reduced_when_crossed();
    test_native_seller_reserve();
    test_sponsored_offer_taken();
    test_path_sees_a_sellers_earlier_effects_across_books();
    test_same_book_side_twice();
    test_venue_choice();
    test_book_incomplete_goes_to_pool();
    test_cross_self();
    test_passive_and_price_limit();
    test_manage_buy_offer();
    test_update_and_delete();
    test_low_reserve();
    test_budget_shared_by_hops();
    test_six_hops();
    test_path_result_codes();
    test_gate_v11_budget();
    test_gate_v11_ops();
    test_gate_v11_native_destination_overflow();
    test_gate_v12_strict_send();
    test_gate_v13_issuer();
    test_gate_v14();
    test_gate_v15_negative_offer_id();
    test_gate_v18();
    test_gate_v27_pool_after_deep_book();
    test_pool_trading_disabled();
    test_unknown_sellers_match_offerbook_simulate();
    test_convert_hop_and_inputs();
    test_result_names();
    test_checked_math();
    return sob_test_summary("test_dex");
}
