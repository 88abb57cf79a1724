/* gate_driver.c: fixed workloads over the C core, for instruction counting under callgrind.
 *
 *   gate_driver <workload>        run one workload (setup, then gate_run(), then teardown)
 *   gate_driver --list            print "name iterations ops_per_iteration" per workload
 *
 * bench/gate.py runs each workload under `valgrind --tool=callgrind --toggle-collect=gate_run`,
 * so only what happens inside gate_run() is counted: the core's work plus a few instructions of
 * loop per iteration. Setup (building books, rendering JSON) is not counted. Everything is
 * deterministic: data come from a fixed xorshift seed, nothing reads the clock or the
 * environment, so the count is the same on every run of the same binary, however busy the
 * machine is.
 *
 * The data mirror bench/conftest.py: 200 levels a side on Stellar's grids (asks t/10^7, bids
 * 10^7/q as Horizon reports them), amounts 0.1-10,000 units, 90% of changes in the top 20. The
 * deep_* workloads (issue 18) use 10,000 (or 50,000) levels a side and changes at uniform
 * positions, like bench_core.py's deep rows.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "book.h"
#include "dex.h"
#include "horizon_json.h"
#include "offerbook.h"

#define LEVELS 200
#define SCALE INT64_C(10000000)

/* ---- deterministic data ------------------------------------------------------------------- */

static uint64_t rng_state = 0x9E3779B97F4A7C15ULL;

static uint64_t rnd(void) {
    uint64_t x = rng_state;
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    return rng_state = x;
}

static uint64_t rnd_range(uint64_t lo, uint64_t hi) { return lo + rnd() % (hi - lo + 1); } /* inclusive */

static int64_t gcd64(int64_t a, int64_t b) {
    while (b) {
        int64_t t = a % b;
        a = b;
        b = t;
    }
    return a;
}

static sob_level level_of(int64_t n, int64_t d, uint64_t amount) {
    int64_t g = gcd64(n, d);
    sob_level l = {(int32_t)(n / g), (int32_t)(d / g), amount};
    return l;
}

static uint64_t rnd_amount(void) { return rnd_range(1000, 100000000) * 1000; }

/* bids[i], asks[i]: best first (Horizon's order). */
static sob_level bids_tpl[LEVELS], asks_tpl[LEVELS];

static void make_levels(void) {
    int64_t m = (int64_t)rnd_range(1000000, 9000000), t = m;
    for (int i = 0; i < LEVELS; i++) {
        asks_tpl[i] = level_of(t, SCALE, rnd_amount());
        t += (int64_t)rnd_range(2, 4);
    }
    int64_t q = SCALE * SCALE / m + (int64_t)rnd_range(20, 60);
    for (int i = 0; i < LEVELS; i++) {
        bids_tpl[i] = level_of(SCALE, q, rnd_amount());
        q += (int64_t)rnd_range(20, 80);
    }
}

static void load_book(sob_book *b) {
    static sob_level bids[LEVELS], asks[LEVELS];
    size_t nb, na, bad;
    memcpy(bids, bids_tpl, sizeof bids);
    memcpy(asks, asks_tpl, sizeof asks);
    if (sob_levels_normalize(bids, LEVELS, SOB_SIDE_BID, &nb, &bad) ||
        sob_levels_normalize(asks, LEVELS, SOB_SIDE_ASK, &na, &bad) || sob_book_assign(b, bids, nb, asks, na)) {
        fprintf(stderr, "load_book failed\n");
        exit(2);
    }
}

/* The i-th best level of a side (the array is worst first). */
static sob_level *nth_best(sob_book *b, int side, uint32_t i) {
    sob_side *s = &b->side[side];
    return &s->lv[s->len - 1 - i];
}

static uint32_t pick_index(uint32_t len) {
    if (rnd() % 10 < 9) return (uint32_t)(rnd() % 20); /* 90% in the top 20 */
    return 20 + (uint32_t)(rnd() % (len - 20));
}

/* One realistic change drawn against `m` and applied to it: 60% amount updates, 20% new prices
 * (the mediant of two neighbours), 20% removals, each side kept within 10 levels of `depth`. The
 * position is pick_index's (90% in the top 20) or, with `uniform`, anywhere on the side. `undo`
 * gets what restores it. */
static void draw_change_in(sob_book *m, size_t depth, int uniform, sob_set *c, sob_set *undo) {
    int side = (int)(rnd() & 1);
    sob_side *s = &m->side[side];
    uint32_t i = uniform ? (uint32_t)(rnd() % s->len) : pick_index(s->len);
    uint64_t r = rnd() % 10;
    sob_level *l = nth_best(m, side, i), prev;
    c->side = side;
    if (r < 2 && s->len > depth - 10) {
        c->n = l->n, c->d = l->d, c->amount = 0;
    } else if (r < 4 && s->len < depth + 10 && i + 1 < s->len &&
               (int64_t)l->n + nth_best(m, side, i + 1)->n < INT32_MAX / 2 &&
               (int64_t)l->d + nth_best(m, side, i + 1)->d < INT32_MAX / 2) {
        sob_level *next = nth_best(m, side, i + 1);
        c->n = l->n + next->n, c->d = l->d + next->d, c->amount = rnd_amount();
    } else {
        c->n = l->n, c->d = l->d, c->amount = rnd_amount();
    }
    if (sob_book_set_level(m, side, c->n, c->d, c->amount, &prev)) exit(2);
    undo->side = side, undo->n = prev.n, undo->d = prev.d, undo->amount = prev.amount;
}

static void draw_change(sob_book *model, sob_set *c, sob_set *undo) { draw_change_in(model, LEVELS, 0, c, undo); }

/* ---- workloads ---------------------------------------------------------------------------- */

typedef struct workload {
    const char *name;
    int iterations;
    int ops_per_iteration; /* the count reported is per op */
    void (*setup)(void);
    void (*body)(int i);
    void (*teardown)(void);
} workload;

static sob_book book;
static sob_book model;
static sob_level scratch_bids[LEVELS + 16], scratch_asks[LEVELS + 16], out_levels[2 * LEVELS];
static sob_set *batches;      /* cycle: forward batches, then their undo batches, reversed */
static size_t batch_k, batch_count;
static sob_level *undo_scratch;
static sob_quote quote;
static uint64_t quote_amount;
static volatile uint64_t sink;

static void setup_book(void) {
    sob_book_init(&book);
    load_book(&book);
}

static void teardown_book(void) { sob_book_free(&book); }

/* set_level on an existing price (the 5th best ask), alternating between two amounts */
static void body_set_level(int i) {
    sob_level *l = nth_best(&book, SOB_SIDE_ASK, 4);
    if (sob_book_set_level_checked(&book, SOB_SIDE_ASK, l->n, l->d, 1000000 + (uint64_t)(i & 1), NULL)) exit(3);
}

/* insert a price between the 5th and 6th best asks, read the top, remove it again */
static int32_t ins_n, ins_d;
static void setup_insert(void) {
    setup_book();
    sob_level *a = nth_best(&book, SOB_SIDE_ASK, 4), *b = nth_best(&book, SOB_SIDE_ASK, 5);
    ins_n = a->n + b->n, ins_d = a->d + b->d;
}
static void body_insert_remove(int i) {
    if (sob_book_set_level_checked(&book, SOB_SIDE_ASK, ins_n, ins_d, 123456789, NULL)) exit(3);
    sink += nth_best(&book, SOB_SIDE_BID, 0)->amount + nth_best(&book, SOB_SIDE_ASK, 0)->amount;
    if (sob_book_set_level_checked(&book, SOB_SIDE_ASK, ins_n, ins_d, 0, NULL)) exit(3);
}

static void setup_batches(size_t k, size_t count) {
    setup_book();
    sob_book_init(&model);
    load_book(&model);
    batch_k = k, batch_count = count;
    batches = malloc(2 * count * k * sizeof *batches);
    undo_scratch = malloc(k * sizeof *undo_scratch);
    sob_set *undo = malloc(k * sizeof *undo);
    for (size_t b = 0; b < count; b++) {
        sob_set *fwd = batches + b * k, *back = batches + (2 * count - 1 - b) * k;
        for (size_t j = 0; j < k; j++) draw_change(&model, &fwd[j], &undo[j]);
        for (size_t j = 0; j < k; j++) back[j] = undo[k - 1 - j]; /* undo in reverse order */
    }
    free(undo);
    sob_book_free(&model);
}
static void setup_batch_1(void) { setup_batches(1, 64); }
static void setup_batch_10(void) { setup_batches(10, 16); }
static void setup_batch_100(void) { setup_batches(100, 4); }
static void body_batch(int i) {
    size_t b = (size_t)i % (2 * batch_count), bad;
    if (sob_book_apply_batch(&book, batches + b * batch_k, batch_k, undo_scratch, &bad)) exit(3);
}
static void teardown_batches(void) {
    if (sob_book_check(&book)) exit(4);
    free(batches);
    free(undo_scratch);
    teardown_book();
}

/* replace the whole book from 200+200 levels in Horizon's order (apply_snapshot's C path) */
static void body_snapshot(int i) {
    size_t nb, na, bad;
    memcpy(scratch_bids, bids_tpl, sizeof bids_tpl);
    memcpy(scratch_asks, asks_tpl, sizeof asks_tpl);
    if (sob_levels_normalize(scratch_bids, LEVELS, SOB_SIDE_BID, &nb, &bad) ||
        sob_levels_normalize(scratch_asks, LEVELS, SOB_SIDE_ASK, &na, &bad) ||
        sob_book_assign(&book, scratch_bids, nb, scratch_asks, na))
        exit(3);
}

/* buy across 49 asks and half the 50th */
static void setup_quote(void) {
    setup_book();
    quote_amount = 0;
    for (int i = 0; i < 49; i++) quote_amount += asks_tpl[i].amount;
    quote_amount += asks_tpl[49].amount / 2;
}
static void body_quote(int i) {
    if (sob_book_quote_buy(&book, quote_amount, &quote) || quote.levels != 50) exit(3);
}

static void body_copy_best(int i) {
    sink += sob_book_copy_best(&book, SOB_SIDE_BID, 20, out_levels);
    sink += sob_book_copy_best(&book, SOB_SIDE_ASK, 20, out_levels + 20);
}

/* ---- Horizon JSON ---- */

static const char *ISSUER = "GA5ZSEJYB37JRC5AVCIA5MOP4RHTM335X2KGX3IHOJAPP5RE34K4KZVN";

static size_t put_price(char *p, int64_t n, int64_t d) {
    int64_t q = (2 * n * SCALE + d) / (2 * d);
    return (size_t)sprintf(p, "%" PRId64 ".%07" PRId64, q / SCALE, q % SCALE);
}

static size_t put_amount(char *p, uint64_t a) {
    return (size_t)sprintf(p, "%" PRIu64 ".%07" PRIu64, a / SCALE, a % SCALE);
}

static char *render_order_book(const sob_level *bids, size_t nb, const sob_level *asks, size_t na) {
    char *buf = malloc(200000), *p = buf;
    p += sprintf(p, "{\"bids\":[");
    for (int side = 0; side < 2; side++) {
        const sob_level *v = side ? asks : bids;
        size_t len = side ? na : nb;
        if (side) p += sprintf(p, "],\"asks\":[");
        for (size_t i = 0; i < len; i++) {
            p += sprintf(p, "%s{\"price_r\":{\"n\":%d,\"d\":%d},\"price\":\"", i ? "," : "", (int)v[i].n, (int)v[i].d);
            p += put_price(p, v[i].n, v[i].d);
            p += sprintf(p, "\",\"amount\":\"");
            p += put_amount(p, v[i].amount);
            p += sprintf(p, "\"}");
        }
    }
    sprintf(p, "],\"base\":{\"asset_type\":\"native\"},\"counter\":{\"asset_type\":\"credit_alphanum4\","
               "\"asset_code\":\"USDC\",\"asset_issuer\":\"%s\"}}", ISSUER);
    return buf;
}

static char *bodies[2];
static size_t body_len[2];
static sob_order_book_doc doc;
static sob_changes changes;

/* two documents one ledger apart (10 changes), applied alternately as apply_horizon does:
 * parse, normalise both sides, diff against the book, assign */
static void setup_horizon(void) {
    setup_book();
    sob_book_init(&model);
    load_book(&model);
    bodies[0] = render_order_book(bids_tpl, LEVELS, asks_tpl, LEVELS);
    sob_set c, u;
    for (int j = 0; j < 10; j++) draw_change(&model, &c, &u);
    /* Horizon sends at most 200 levels a side */
    size_t nb = sob_book_copy_best(&model, SOB_SIDE_BID, LEVELS, scratch_bids);
    size_t na = sob_book_copy_best(&model, SOB_SIDE_ASK, LEVELS, scratch_asks);
    bodies[1] = render_order_book(scratch_bids, nb, scratch_asks, na);
    body_len[0] = strlen(bodies[0]);
    body_len[1] = strlen(bodies[1]);
    sob_book_free(&model);
    sob_order_book_doc_init(&doc);
    sob_changes_init(&changes);
}
static void body_horizon(int i) {
    sob_parse_error err;
    size_t nb, na, bad;
    int k = i & 1;
    if (sob_parse_order_book(bodies[k], body_len[k], &doc, &err)) exit(3);
    if (sob_levels_normalize(doc.bids.v, doc.bids.len, SOB_SIDE_BID, &nb, &bad) ||
        sob_levels_normalize(doc.asks.v, doc.asks.len, SOB_SIDE_ASK, &na, &bad))
        exit(3);
    changes.len = 0;
    if (sob_side_diff(&book, SOB_SIDE_BID, doc.bids.v, nb, &changes) ||
        sob_side_diff(&book, SOB_SIDE_ASK, doc.asks.v, na, &changes) ||
        sob_book_assign(&book, doc.bids.v, nb, doc.asks.v, na))
        exit(3);
}
static void teardown_horizon(void) {
    free(bodies[0]);
    free(bodies[1]);
    sob_order_book_doc_free(&doc);
    sob_changes_free(&changes);
    teardown_book();
}

static char *offers_page;
static size_t offers_len;
static sob_offers offers;

static void setup_offers_page(void) {
    char *p = offers_page = malloc(400000);
    p += sprintf(p, "{\"_links\":{\"self\":{\"href\":\"https://horizon.stellar.org/offers?limit=200\"}},"
                    "\"_embedded\":{\"records\":[");
    int64_t id = 1000000;
    for (int i = 0; i < 200; i++) {
        int ask = i & 1;
        const sob_level *l = ask ? &asks_tpl[i / 2] : &bids_tpl[i / 2];
        id += (int64_t)rnd_range(1, 5000);
        const char *native = "{\"asset_type\":\"native\"}";
        char credit[200];
        sprintf(credit, "{\"asset_type\":\"credit_alphanum4\",\"asset_code\":\"USDC\",\"asset_issuer\":\"%s\"}",
                ISSUER);
        /* bids are offers selling counter at the inverted price */
        int32_t n = ask ? l->n : l->d, d = ask ? l->d : l->n;
        p += sprintf(p,
                     "%s{\"_links\":{\"self\":{\"href\":\"https://horizon.stellar.org/offers/%" PRId64 "\"}},"
                     "\"id\":\"%" PRId64 "\",\"paging_token\":\"%" PRId64 "\",\"seller\":\"%s\","
                     "\"selling\":%s,\"buying\":%s,\"amount\":\"",
                     i ? "," : "", id, id, id, ISSUER, ask ? native : credit, ask ? credit : native);
        p += put_amount(p, rnd_amount());
        p += sprintf(p, "\",\"price_r\":{\"n\":%d,\"d\":%d},\"price\":\"", n, d);
        p += put_price(p, n, d);
        p += sprintf(p, "\",\"last_modified_ledger\":%d,\"last_modified_time\":\"2024-01-01T00:00:00Z\"}",
                     50000000 + i);
    }
    sprintf(p, "]}}");
    offers_len = strlen(offers_page);
    sob_offers_init(&offers);
}
static void body_offers_page(int i) {
    sob_parse_error err;
    if (sob_parse_offers(offers_page, offers_len, &offers, &err) || offers.len != 200) {
        fprintf(stderr, "offers page: %s at %zu\n", err.reason ? err.reason : "?", err.offset);
        exit(3);
    }
}
static void teardown_offers_page(void) {
    sob_offers_free(&offers);
    free(offers_page);
}

/* ---- deep books (issue 18): 10,000 levels a side, changes at uniform positions ---- */

#define DEEP_LEVELS 10000

/* A side of `levels` levels on the same grids as make_levels, best first; m is the best ask's
 * tick (both sides get the same one, so the bids stay below the asks). */
static void make_deep_side(int side, int64_t m, sob_level *out, size_t levels) {
    if (side == SOB_SIDE_ASK) {
        int64_t t = m;
        for (size_t i = 0; i < levels; i++) {
            out[i] = level_of(t, SCALE, rnd_amount());
            t += (int64_t)rnd_range(2, 4);
        }
    } else {
        int64_t q = SCALE * SCALE / m + (int64_t)rnd_range(20, 60);
        for (size_t i = 0; i < levels; i++) {
            out[i] = level_of(SCALE, q, rnd_amount());
            q += (int64_t)rnd_range(20, 80);
        }
    }
}

static sob_level *deep_bids, *deep_asks; /* best first */
static size_t deep_levels;

static void load_deep_book(sob_book *b) {
    sob_level *bids = malloc(deep_levels * sizeof *bids), *asks = malloc(deep_levels * sizeof *asks);
    size_t nb, na, bad;
    memcpy(bids, deep_bids, deep_levels * sizeof *bids);
    memcpy(asks, deep_asks, deep_levels * sizeof *asks);
    if (sob_levels_normalize(bids, deep_levels, SOB_SIDE_BID, &nb, &bad) ||
        sob_levels_normalize(asks, deep_levels, SOB_SIDE_ASK, &na, &bad) || sob_book_assign(b, bids, nb, asks, na)) {
        fprintf(stderr, "load_deep_book failed\n");
        exit(2);
    }
    free(bids);
    free(asks);
}

/* draw_change's mix at a uniform position of the whole side. */
static void draw_deep_change(sob_book *m, sob_set *c, sob_set *undo) { draw_change_in(m, deep_levels, 1, c, undo); }

static void setup_deep(size_t levels) {
    deep_levels = levels;
    deep_bids = malloc(levels * sizeof *deep_bids);
    deep_asks = malloc(levels * sizeof *deep_asks);
    int64_t m = (int64_t)rnd_range(1000000, 9000000);
    make_deep_side(SOB_SIDE_BID, m, deep_bids, levels);
    make_deep_side(SOB_SIDE_ASK, m, deep_asks, levels);
    sob_book_init(&book);
    load_deep_book(&book);
}

/* batches of k uniform changes and their undo batches, as setup_batches */
static void setup_deep_batches(size_t levels, size_t k, size_t count) {
    setup_deep(levels);
    sob_book_init(&model);
    load_deep_book(&model);
    batch_k = k, batch_count = count;
    batches = malloc(2 * count * k * sizeof *batches);
    undo_scratch = malloc(k * sizeof *undo_scratch);
    sob_set *undo = malloc(k * sizeof *undo);
    for (size_t b = 0; b < count; b++) {
        sob_set *fwd = batches + b * k, *back = batches + (2 * count - 1 - b) * k;
        for (size_t j = 0; j < k; j++) draw_deep_change(&model, &fwd[j], &undo[j]);
        for (size_t j = 0; j < k; j++) back[j] = undo[k - 1 - j];
    }
    free(undo);
    sob_book_free(&model);
}
static void setup_deep_batch_100(void) { setup_deep_batches(DEEP_LEVELS, 100, 4); }
static void setup_deep_batch_10(void) { setup_deep_batches(DEEP_LEVELS, 10, 16); }
static void setup_deep_batch_100_50000(void) { setup_deep_batches(5 * DEEP_LEVELS, 100, 2); }
static void teardown_deep(void) {
    if (sob_book_check(&book)) exit(4);
    free(batches);
    free(undo_scratch);
    free(deep_bids);
    free(deep_asks);
    batches = NULL, undo_scratch = NULL;
    teardown_book();
}

/* one new price at a uniform position of a 10,000-level side, inserted then removed (checked,
 * as set_level does), cycling through 64 prepared prices */
static sob_set deep_ins[64];
static void setup_deep_insert(void) {
    setup_deep(DEEP_LEVELS);
    for (int j = 0; j < 64; j++) {
        int side = j & 1;
        sob_side *s = &book.side[side];
        uint32_t i = (uint32_t)(rnd() % (s->len - 1));
        sob_level *a = nth_best(&book, side, i), *b = nth_best(&book, side, i + 1);
        deep_ins[j] = (sob_set){side, a->n + b->n, a->d + b->d, 123456789};
    }
}
static void body_deep_insert_remove(int i) {
    const sob_set *c = &deep_ins[i & 63];
    if (sob_book_set_level_checked(&book, c->side, c->n, c->d, c->amount, NULL) ||
        sob_book_set_level_checked(&book, c->side, c->n, c->d, 0, NULL))
        exit(3);
}

/* ---- per-offer book ---- */

static sob_offerbook ob;
static sob_fill *fills;
static sob_sim sim;
static sob_sim_out sim_out;
static size_t sim_expect;

static void fill_offerbook(int k) {
    sob_offerbook_init(&ob);
    for (int i = 0; i < k; i++)
        if (sob_offerbook_add(&ob, i + 1, SOB_SIDE_ASK, 1000 + i, 1000, (int64_t)rnd_range(10000000, 1000000000), 0))
            exit(2);
}
static void setup_add_remove(void) { fill_offerbook(10000); }
static void body_add_remove(int i) {
    if (sob_offerbook_add(&ob, 99999999, SOB_SIDE_ASK, 5000, 1000, 100000000, 0) ||
        sob_offerbook_remove(&ob, 99999999, NULL, NULL))
        exit(3);
}
static void teardown_offerbook(void) {
    sob_offerbook_free(&ob);
    free(fills);
    fills = NULL;
}

/* manage_buy_offer for all but one stroop of the asks' base: crosses every offer */
static void setup_simulate(int k) {
    fill_offerbook(k);
    fills = malloc(SOB_MAX_OFFERS_TO_CROSS * sizeof *fills);
    int64_t total = 0;
    sob_offer o;
    for (int i = 0; i < k; i++) {
        sob_offerbook_get(&ob, i + 1, &o, NULL);
        total += o.amount;
    }
    memset(&sim, 0, sizeof sim);
    sim.side = SOB_SIDE_ASK;
    sim.round = SOB_ROUND_NORMAL;
    sim.max_sheep_send = INT64_MAX;
    sim.max_wheat_receive = total - 1;
    sim.max_offers = SOB_MAX_OFFERS_TO_CROSS;
    sim_expect = (size_t)k;
}
static void setup_simulate_50(void) { setup_simulate(50); }
static void setup_simulate_1000(void) { setup_simulate(1000); }
static void body_simulate(int i) {
    if (sob_offerbook_simulate(&ob, &sim, fills, &sim_out) || sim_out.nfills != sim_expect) exit(3);
}

/* DEX operations (dex.h), quotes (no state afterwards): three books of 50 asks chained A->B->C->D,
 * each holding a little more than taking all of the next costs, so every hop crosses 50 offers. */
static sob_offerbook dex_books[3];
static sob_accounts dex_table;
static sob_venue dex_venues[3];
static sob_dex_scratch *dex_scratch;
static sob_dex_ctx dex_ctx;
static sob_path_op dex_path;
static sob_manage_op dex_manage;
static sob_op_result dex_res;

static void setup_dex(int known) {
    sob_accounts_init(&dex_table);
    int64_t need = 0;
    for (int h = 2; h >= 0; h--) {
        sob_offerbook_init(&dex_books[h]);
        int64_t amounts[50], wsum = 0, cost = 0;
        for (int i = 0; i < 50; i++) wsum += amounts[i] = (int64_t)rnd_range(10000000, 1000000000);
        if (need) {
            int64_t t = 0;
            for (int i = 0; i < 49; i++) t += amounts[i] = (int64_t)((__int128)amounts[i] * need / wsum);
            amounts[49] = need + 5000 - t;
        }
        for (int i = 0; i < 50; i++) {
            uint64_t handle, key = (uint64_t)(h * 1000 + i + 1);
            if (sob_offerbook_seller_new(&dex_books[h], &handle) || sob_offerbook_seller_set_account(&dex_books[h], handle, key) ||
                sob_offerbook_add(&dex_books[h], key, SOB_SIDE_ASK, 1000 + i, 1000, amounts[i], handle))
                exit(2);
            sob_exchange ex;
            sob_throw t;
            sob_exchange_v10_raw(1000 + i, 1000, amounts[i], INT64_MAX, INT64_MAX, INT64_MAX, SOB_ROUND_NORMAL, &ex, &t);
            cost += ex.sheep;
            if (known) { /* the seller as a ledger holds it: funded, its offer's liabilities */
                sob_account a = {100000000000LL, 0, 0, 3, 0, 0, 0};
                sob_trustline sell = {amounts[i] + 1000, INT64_MAX / 2, 0, ex.wheat, SOB_TL_AUTHORIZED, 0};
                sob_trustline buy = {0, INT64_MAX / 2, ex.sheep, 0, SOB_TL_AUTHORIZED, 0};
                if (sob_accounts_set_account(&dex_table, key, &a) ||
                    sob_accounts_set_trustline(&dex_table, key, (uint32_t)(h + 2), &sell) ||
                    sob_accounts_set_trustline(&dex_table, key, (uint32_t)(h + 1), &buy))
                    exit(2);
            }
        }
        need = cost;
        dex_venues[h] = (sob_venue){&dex_books[h], SOB_SIDE_ASK, 0, NULL};
    }
    dex_scratch = sob_dex_scratch_new();
    sob_dex_ctx_init(&dex_ctx);
    dex_ctx.flags = SOB_CTX_SKIP_CHANGES;
    dex_ctx.accounts = known ? &dex_table : NULL;
    sob_offer o;
    int64_t total0 = 0, total2 = 0;
    for (int i = 0; i < 50; i++) {
        sob_offerbook_get(&dex_books[0], i + 1, &o, NULL);
        total0 += o.amount;
        sob_offerbook_get(&dex_books[2], 2000 + i + 1, &o, NULL);
        total2 += o.amount;
    }
    dex_manage = (sob_manage_op){SOB_OP_MANAGE_BUY_OFFER, 0, 0, 1, 2, total0 - 1, 2, 1, 0};
    dex_path = (sob_path_op){SOB_OP_PATH_PAYMENT_STRICT_RECEIVE, 4, {1, 2, 3, 4}, 0, 0, INT64_MAX, total2 - 1};
}
static void setup_dex_plain(void) { setup_dex(0); }
static void setup_dex_known(void) { setup_dex(1); }
static void body_dex_manage(int i) {
    if (sob_manage_offer(&dex_ctx, &dex_manage, &dex_venues[0], NULL, dex_scratch, &dex_res) ||
        dex_res.code != SOB_R_MANAGE_BUY_OFFER_SUCCESS || dex_res.nclaims != 50)
        exit(3);
}
static void body_dex_path(int i) {
    if (sob_path_payment(&dex_ctx, &dex_path, dex_venues, dex_scratch, &dex_res) ||
        dex_res.code != SOB_R_PATH_PAYMENT_STRICT_RECEIVE_SUCCESS || dex_res.nclaims != 150)
        exit(3);
}
static void teardown_dex(void) {
    for (int h = 0; h < 3; h++) sob_offerbook_free(&dex_books[h]);
    sob_accounts_free(&dex_table);
    sob_dex_scratch_free(dex_scratch);
}

static const workload WORKLOADS[] = {
    {"set_level_existing", 20000, 1, setup_book, body_set_level, teardown_book},
    {"insert_best_remove", 20000, 1, setup_insert, body_insert_remove, teardown_book},
    {"apply_batch_1", 20000, 1, setup_batch_1, body_batch, teardown_batches},
    {"apply_batch_10", 4000, 1, setup_batch_10, body_batch, teardown_batches},
    {"apply_batch_100", 800, 1, setup_batch_100, body_batch, teardown_batches},
    {"snapshot_200x200", 1000, 1, setup_book, body_snapshot, teardown_book},
    {"quote_buy_50", 20000, 1, setup_quote, body_quote, teardown_book},
    {"copy_best_20x2", 20000, 1, setup_book, body_copy_best, teardown_book},
    {"apply_horizon_200x200", 400, 1, setup_horizon, body_horizon, teardown_horizon},
    {"parse_offers_200", 400, 1, setup_offers_page, body_offers_page, teardown_offers_page},
    {"offerbook_add_remove_10000", 20000, 1, setup_add_remove, body_add_remove, teardown_offerbook},
    {"simulate_50", 4000, 1, setup_simulate_50, body_simulate, teardown_offerbook},
    {"simulate_1000", 400, 1, setup_simulate_1000, body_simulate, teardown_offerbook},
    {"deep_apply_batch_100_10000", 200, 1, setup_deep_batch_100, body_batch, teardown_deep},
    {"deep_apply_batch_10_10000", 800, 1, setup_deep_batch_10, body_batch, teardown_deep},
    {"deep_apply_batch_100_50000", 40, 1, setup_deep_batch_100_50000, body_batch, teardown_deep},
    {"deep_insert_remove_10000", 4000, 2, setup_deep_insert, body_deep_insert_remove, teardown_deep},
    {"dex_manage_buy_50", 4000, 1, setup_dex_plain, body_dex_manage, teardown_dex},
    {"dex_path_receive_3x50", 2000, 1, setup_dex_plain, body_dex_path, teardown_dex},
    {"dex_path_receive_3x50_known_sellers", 200, 1, setup_dex_known, body_dex_path, teardown_dex},
};

/* Everything inside this function, and only that, is counted (--toggle-collect=gate_run). */
__attribute__((noinline)) void gate_run(const workload *w) {
    for (int i = 0; i < w->iterations; i++) w->body(i);
}

int main(int argc, char **argv) {
    size_t n = sizeof WORKLOADS / sizeof WORKLOADS[0];
    if (argc == 2 && strcmp(argv[1], "--list") == 0) {
        for (size_t i = 0; i < n; i++)
            printf("%s %d %d\n", WORKLOADS[i].name, WORKLOADS[i].iterations, WORKLOADS[i].ops_per_iteration);
        return 0;
    }
    if (argc != 2) {
        fprintf(stderr, "usage: gate_driver <workload> | --list\n");
        return 2;
    }
    for (size_t i = 0; i < n; i++) {
        if (strcmp(argv[1], WORKLOADS[i].name) == 0) {
            make_levels();
            WORKLOADS[i].setup();
            gate_run(&WORKLOADS[i]);
            WORKLOADS[i].teardown();
            printf("%s ok\n", WORKLOADS[i].name);
            return 0;
        }
    }
    fprintf(stderr, "no workload %s\n", argv[1]);
    return 2;
}
