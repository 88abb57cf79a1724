/* bench_dex.c: nanoseconds per call of the DEX operations (csrc/dex.h), medians of repeated runs.
 *
 *   build/ctest/bench_dex [rounds]
 *
 * Built with the C tests (-DSOB_BUILD_TESTS=ON), never run by CTest: timing is not a correctness
 * test. Rounds (default 31) interleave all benchmarks; each line gives the median and the minimum
 * over the rounds of the mean time of a batch of calls, and the median ratio to
 * sob_offerbook_simulate over the same 50 offers (today's binding) measured in the same round. The
 * books are bench/bench_offers.py's: asks at (1000 + i)/1000, amounts 10^7..10^9, crossed whole
 * but for one stroop of the last offer. Paths chain three such books (A->B->C->D); the pools
 * variant adds a pool per pair that the book beats (so every hop still walks 50 offers and the
 * pool's dry run is paid on top); the accounts variant knows every seller (balances, trust lines
 * and liabilities as a ledger holds them), so each crossing releases and re-acquires liabilities
 * and moves balances in the overlay.
 */
#define _POSIX_C_SOURCE 199309L
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "dex.h"

#define K 50
#define HOPS 3

static uint64_t rng_state = 0x9E3779B97F4A7C15ULL;
static uint64_t rnd(void) {
    uint64_t x = rng_state;
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    return rng_state = x;
}

static double now_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

static int cmp_double(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

typedef struct bench {
    const char *name;
    void (*body)(void);
} bench;

static int rounds = 31;

/* Calls per batch: about 1 ms of the body. */
static int batch_for(void (*body)(void)) {
    int batch = 1;
    for (;;) {
        double t0 = now_ns();
        for (int i = 0; i < batch; i++) body();
        if (now_ns() - t0 > 1e6 || batch > (1 << 24)) return batch;
        batch *= 2;
    }
}

static double batch_ns(void (*body)(void), int batch) {
    double t0 = now_ns();
    for (int i = 0; i < batch; i++) body();
    return (now_ns() - t0) / batch;
}

/* ---- the data ------------------------------------------------------------------------------ */

static sob_offerbook books[HOPS];
static int64_t totals[HOPS];
static sob_accounts table;
static sob_pool pools[HOPS];
static sob_dex_scratch *scratch;
static sob_fill fills[SOB_MAX_OFFERS_TO_CROSS];
static sob_sim sim;
static sob_sim_out sim_out;
static sob_dex_ctx ctx_plain, ctx_known, ctx_quote;
static sob_venue venues[HOPS], venues_pools[HOPS], venues_known[HOPS];
static sob_path_op send3, recv3, send1, recv1;
static sob_manage_op buy50;
static sob_op_result res;

/* asset ids: 1 = A, 2 = B, 3 = C, 4 = D. Book h sells asset h+2 for asset h+1 (its asks). Built
 * from the last book back: each book holds a little more (in what it sells) than taking all of the
 * next book costs, so every hop of the 3-hop paths crosses all of its 50 offers. */
static void build(void) {
    sob_accounts_init(&table);
    int64_t need = 0; /* what taking all of the next book costs, in this book's asset */
    for (int h = HOPS - 1; h >= 0; h--) {
        sob_offerbook_init(&books[h]);
        int64_t amounts[K], wsum = 0;
        for (int i = 0; i < K; i++) {
            amounts[i] = 10000000 + (int64_t)(rnd() % 990000001);
            wsum += amounts[i];
        }
        if (need) { /* rescale to need + 5000, the rest on the last offer */
            int64_t t = 0;
            for (int i = 0; i < K - 1; i++) {
                amounts[i] = (int64_t)((__int128)amounts[i] * need / wsum);
                t += amounts[i];
            }
            amounts[K - 1] = need + 5000 - t;
        }
        totals[h] = 0;
        int64_t cost = 0;
        for (int i = 0; i < K; i++) {
            uint64_t handle;
            if (sob_offerbook_seller_new(&books[h], &handle)) exit(2);
            uint64_t key = (uint64_t)(h * 1000 + i + 1);
            if (sob_offerbook_seller_set_account(&books[h], handle, key)) exit(2);
            int64_t amount = amounts[i];
            int32_t n = 1000 + i, d = 1000;
            if (sob_offerbook_add(&books[h], h * 1000 + i + 1, SOB_SIDE_ASK, n, d, amount, handle)) exit(2);
            totals[h] += amount;
            /* the seller as the ledger holds it: the offer's liabilities on a funded account */
            sob_exchange ex;
            sob_throw t;
            sob_exchange_v10_raw(n, d, amount, INT64_MAX, INT64_MAX, INT64_MAX, SOB_ROUND_NORMAL, &ex, &t);
            cost += ex.sheep;
            sob_account a = {100000000000LL, 0, 0, 3, 0, 0, 0};
            sob_trustline sell = {amount + 1000, INT64_MAX / 2, 0, ex.wheat, SOB_TL_AUTHORIZED, 0};
            sob_trustline buy = {0, INT64_MAX / 2, ex.sheep, 0, SOB_TL_AUTHORIZED, 0};
            if (sob_accounts_set_account(&table, key, &a) ||
                sob_accounts_set_trustline(&table, key, (uint32_t)(h + 2), &sell) ||
                sob_accounts_set_trustline(&table, key, (uint32_t)(h + 1), &buy))
                exit(2);
        }
        need = cost;
        /* a deep pool priced 1.5% worse than the worst offer: the book wins every hop */
        pools[h] = (sob_pool){INT64_C(1) << 50, (int64_t)((INT64_C(1) << 50) / 1.065), 30, 0};
        venues[h] = (sob_venue){&books[h], SOB_SIDE_ASK, 0, NULL};
        venues_pools[h] = (sob_venue){&books[h], SOB_SIDE_ASK, 1, &pools[h]};
        venues_known[h] = venues[h];
    }
    scratch = sob_dex_scratch_new();
    sob_dex_ctx_init(&ctx_plain);
    ctx_known = ctx_plain;
    ctx_known.accounts = &table;
    ctx_quote = ctx_plain;
    ctx_quote.flags = SOB_CTX_SKIP_CHANGES; /* a quote: code, amounts, claims; no state afterwards */
    memset(&sim, 0, sizeof sim);
    sim.side = SOB_SIDE_ASK;
    sim.round = SOB_ROUND_NORMAL;
    sim.max_sheep_send = INT64_MAX;
    sim.max_wheat_receive = totals[0] - 1;
    sim.max_offers = SOB_MAX_OFFERS_TO_CROSS;
    /* buy all but one stroop of book 0 at a price limit above every offer */
    buy50 = (sob_manage_op){SOB_OP_MANAGE_BUY_OFFER, 0, 0, 1, 2, totals[0] - 1, 2, 1, 0};
    recv3 = (sob_path_op){SOB_OP_PATH_PAYMENT_STRICT_RECEIVE, 4, {1, 2, 3, 4}, 0, 0, INT64_MAX, totals[2] - 1};
    recv1 = (sob_path_op){SOB_OP_PATH_PAYMENT_STRICT_RECEIVE, 2, {1, 2}, 0, 0, INT64_MAX, totals[0] - 1};
    send1 = (sob_path_op){SOB_OP_PATH_PAYMENT_STRICT_SEND, 2, {1, 2}, 0, 0, 0, 1};
    send3 = (sob_path_op){SOB_OP_PATH_PAYMENT_STRICT_SEND, 4, {1, 2, 3, 4}, 0, 0, 0, 1};
    /* strict send: a little less than the strict receive paid, so each hop crosses 50 offers */
    sob_status st = sob_path_payment(&ctx_plain, &recv1, venues, scratch, &res);
    if (st || res.code != SOB_R_PATH_PAYMENT_STRICT_RECEIVE_SUCCESS) exit(3);
    send1.send = res.sent - 1000;
    st = sob_path_payment(&ctx_plain, &recv3, venues, scratch, &res);
    if (st || res.code != SOB_R_PATH_PAYMENT_STRICT_RECEIVE_SUCCESS || res.nclaims != 3 * K) exit(3);
    send3.send = res.sent - 1000;
}

static void expect(sob_status st, sob_result code, size_t nclaims) {
    if (st != SOB_OK || res.code != code || res.nclaims != nclaims) {
        fprintf(stderr, "unexpected: status %d code %s claims %zu\n", st, sob_result_name(res.code), res.nclaims);
        exit(4);
    }
}

static void b_simulate(void) {
    if (sob_offerbook_simulate(&books[0], &sim, fills, &sim_out) || sim_out.nfills != K) exit(3);
}
static void b_manage_buy(void) {
    expect(sob_manage_offer(&ctx_plain, &buy50, &venues[0], NULL, scratch, &res), SOB_R_MANAGE_BUY_OFFER_SUCCESS, K);
}
static void b_manage_buy_quote(void) {
    expect(sob_manage_offer(&ctx_quote, &buy50, &venues[0], NULL, scratch, &res), SOB_R_MANAGE_BUY_OFFER_SUCCESS, K);
}
static void b_recv3_quote(void) {
    expect(sob_path_payment(&ctx_quote, &recv3, venues, scratch, &res), SOB_R_PATH_PAYMENT_STRICT_RECEIVE_SUCCESS,
           3 * K);
}
static void b_send3_quote(void) {
    expect(sob_path_payment(&ctx_quote, &send3, venues, scratch, &res), SOB_R_PATH_PAYMENT_STRICT_SEND_SUCCESS, 3 * K);
}
static void b_recv1(void) {
    expect(sob_path_payment(&ctx_plain, &recv1, venues, scratch, &res), SOB_R_PATH_PAYMENT_STRICT_RECEIVE_SUCCESS, K);
}
static void b_send1(void) {
    expect(sob_path_payment(&ctx_plain, &send1, venues, scratch, &res), SOB_R_PATH_PAYMENT_STRICT_SEND_SUCCESS, K);
}
static void b_recv3(void) {
    expect(sob_path_payment(&ctx_plain, &recv3, venues, scratch, &res), SOB_R_PATH_PAYMENT_STRICT_RECEIVE_SUCCESS,
           3 * K);
}
static void b_send3(void) {
    expect(sob_path_payment(&ctx_plain, &send3, venues, scratch, &res), SOB_R_PATH_PAYMENT_STRICT_SEND_SUCCESS, 3 * K);
}
static void b_recv3_pools(void) {
    expect(sob_path_payment(&ctx_plain, &recv3, venues_pools, scratch, &res),
           SOB_R_PATH_PAYMENT_STRICT_RECEIVE_SUCCESS, 3 * K);
}
static void b_recv3_table_unknown(void) {
    /* a table is attached but knows none of these sellers: the cost of looking them up */
    static sob_accounts empty;
    static int init;
    static sob_dex_ctx c;
    if (!init) {
        sob_accounts_init(&empty);
        sob_account a = {1, 0, 0, 0, 0, 0, 0};
        sob_accounts_set_account(&empty, 999999, &a);
        c = ctx_plain;
        c.accounts = &empty;
        init = 1;
    }
    expect(sob_path_payment(&c, &recv3, venues, scratch, &res), SOB_R_PATH_PAYMENT_STRICT_RECEIVE_SUCCESS, 3 * K);
}
static void b_recv3_known(void) {
    expect(sob_path_payment(&ctx_known, &recv3, venues_known, scratch, &res),
           SOB_R_PATH_PAYMENT_STRICT_RECEIVE_SUCCESS, 3 * K);
}

int main(int argc, char **argv) {
    if (argc > 1) rounds = atoi(argv[1]) > 2 ? atoi(argv[1]) : 3;
    build();
    static const bench B[] = {
        {"offerbook_simulate_50 (today's simulate; baseline)", b_simulate},
        {"manage_buy_offer_50 (quote: SOB_CTX_SKIP_CHANGES)", b_manage_buy_quote},
        {"manage_buy_offer_50 (with the state afterwards)", b_manage_buy},
        {"path_strict_receive_1hop_50", b_recv1},
        {"path_strict_send_1hop_50", b_send1},
        {"path_strict_receive_3hops_3x50 (quote)", b_recv3_quote},
        {"path_strict_send_3hops_3x50 (quote)", b_send3_quote},
        {"path_strict_receive_3hops_3x50 (with the state)", b_recv3},
        {"path_strict_send_3hops_3x50 (with the state)", b_send3},
        {"path_strict_receive_3hops_3x50_pools", b_recv3_pools},
        {"path_strict_receive_3hops_3x50_table_unknown_sellers", b_recv3_table_unknown},
        {"path_strict_receive_3hops_3x50_known_sellers", b_recv3_known},
    };
    /* rounds interleave every benchmark, so a busy machine slows them alike; per benchmark the
     * median and the minimum of its batches, and the median of its ratio to the baseline measured
     * in the same round */
    enum { NB = sizeof B / sizeof B[0] };
    int batch[NB];
    for (int i = 0; i < NB; i++) batch[i] = batch_for(B[i].body);
    double *ns = malloc((size_t)rounds * NB * sizeof *ns), *ratio = malloc((size_t)rounds * NB * sizeof *ratio);
    for (int r = 0; r < rounds; r++)
        for (int i = 0; i < NB; i++) {
            ns[i * rounds + r] = batch_ns(B[i].body, batch[i]);
            ratio[i * rounds + r] = ns[i * rounds + r] / ns[r];
        }
    printf("%-56s %10s %10s %10s\n", "operation", "median ns", "min ns", "x simulate");
    for (int i = 0; i < NB; i++) {
        qsort(ns + i * rounds, (size_t)rounds, sizeof *ns, cmp_double);
        qsort(ratio + i * rounds, (size_t)rounds, sizeof *ratio, cmp_double);
        printf("%-56s %10.0f %10.0f %10.2f\n", B[i].name, ns[i * rounds + rounds / 2], ns[i * rounds],
               ratio[i * rounds + rounds / 2]);
    }
    free(ns);
    free(ratio);
    sob_dex_scratch_free(scratch);
    for (int h = 0; h < HOPS; h++) sob_offerbook_free(&books[h]);
    sob_accounts_free(&table);
    return 0;
}
