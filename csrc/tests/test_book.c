/* test_book.c: unit tests of the L2 book (book.c). Plain C; exits non-zero on failure. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "book.h"
#include "book_ref.h"
#include "testlib.h"



static const sob_level *best(const sob_book *b, int side) {
    const sob_side *s = &b->side[side];
    return s->len ? &s->lv[s->len - 1] : NULL;
}

static void test_set_level_orders_and_updates(void) {
    sob_book b;
    sob_book_init(&b);
    CHECK(sob_book_set_level(&b, SOB_SIDE_BID, 10, 100, 5, NULL) == SOB_OK);
    CHECK(sob_book_set_level(&b, SOB_SIDE_BID, 12, 100, 7, NULL) == SOB_OK);
    CHECK(sob_book_set_level(&b, SOB_SIDE_BID, 11, 100, 9, NULL) == SOB_OK);
    CHECK(sob_book_set_level(&b, SOB_SIDE_ASK, 20, 100, 1, NULL) == SOB_OK);
    CHECK(sob_book_set_level(&b, SOB_SIDE_ASK, 15, 100, 2, NULL) == SOB_OK);
    CHECK(best(&b, SOB_SIDE_BID)->n == 12 && best(&b, SOB_SIDE_ASK)->n == 15);
    CHECK(sob_book_check(&b) == SOB_OK);
    /* 22/200 is the same level as 11/100: the first spelling is kept */
    sob_level prev;
    CHECK(sob_book_set_level(&b, SOB_SIDE_BID, 22, 200, 4, &prev) == SOB_OK);
    CHECK(prev.n == 11 && prev.d == 100 && prev.amount == 9);
    CHECK(b.side[SOB_SIDE_BID].len == 3 && b.side[SOB_SIDE_BID].lv[1].n == 11 && b.side[SOB_SIDE_BID].lv[1].amount == 4);
    CHECK(sob_book_set_level(&b, SOB_SIDE_BID, 11, 100, 0, NULL) == SOB_OK);
    CHECK(b.side[SOB_SIDE_BID].len == 2);
    CHECK(sob_book_set_level(&b, SOB_SIDE_BID, 0, 100, 1, NULL) == SOB_E_INVALID);
    CHECK(sob_book_set_level(&b, 7, 1, 100, 1, NULL) == SOB_E_INVALID);
    /* a bid above the best ask is refused and undone */
    CHECK(sob_book_set_level_checked(&b, SOB_SIDE_BID, 16, 100, 1, NULL) == SOB_E_CROSSED);
    CHECK(best(&b, SOB_SIDE_BID)->n == 12 && sob_book_check(&b) == SOB_OK);
    /* a bid equal to the best ask is a legal book: a passive offer rests at that price */
    CHECK(sob_book_set_level_checked(&b, SOB_SIDE_BID, 30, 200, 1, NULL) == SOB_OK);
    CHECK(best(&b, SOB_SIDE_BID)->n == 30 && !sob_book_crossed(&b) && sob_book_check(&b) == SOB_OK);
    CHECK(sob_book_set_level_checked(&b, SOB_SIDE_ASK, 29, 200, 1, NULL) == SOB_E_CROSSED);
    CHECK(best(&b, SOB_SIDE_ASK)->n == 15 && sob_book_check(&b) == SOB_OK);
    sob_book_free(&b);
}

static void test_batch_is_atomic(void) {
    sob_book b;
    sob_book_init(&b);
    sob_set ok[] = {{SOB_SIDE_BID, 1, 2, 10}, {SOB_SIDE_ASK, 2, 3, 10}, {SOB_SIDE_BID, 1, 3, 5}};
    sob_level undo[8];
    size_t bad = 99;
    CHECK(sob_book_apply_batch(&b, ok, 3, undo, &bad) == SOB_OK);
    sob_set crossing[] = {{SOB_SIDE_BID, 1, 2, 0}, {SOB_SIDE_BID, 3, 4, 1}};
    CHECK(sob_book_apply_batch(&b, crossing, 2, undo, &bad) == SOB_E_CROSSED);
    CHECK(b.side[SOB_SIDE_BID].len == 2 && best(&b, SOB_SIDE_BID)->n == 1 && best(&b, SOB_SIDE_BID)->d == 2);
    sob_set touching[] = {{SOB_SIDE_BID, 1, 2, 0}, {SOB_SIDE_BID, 4, 6, 1}}; /* bid 4/6 == ask 2/3 */
    CHECK(sob_book_apply_batch(&b, touching, 2, undo, &bad) == SOB_OK && sob_book_check(&b) == SOB_OK);
    CHECK(sob_book_apply_batch(&b, touching, 1, undo, &bad) == SOB_OK);
    sob_set restore[] = {{SOB_SIDE_BID, 4, 6, 0}, {SOB_SIDE_BID, 1, 2, 10}};
    CHECK(sob_book_apply_batch(&b, restore, 2, undo, &bad) == SOB_OK);
    CHECK(b.side[SOB_SIDE_BID].len == 2 && best(&b, SOB_SIDE_BID)->n == 1 && best(&b, SOB_SIDE_BID)->d == 2);
    sob_set invalid[] = {{SOB_SIDE_BID, 1, 2, 0}, {SOB_SIDE_BID, 1, -3, 1}};
    CHECK(sob_book_apply_batch(&b, invalid, 2, undo, &bad) == SOB_E_INVALID && bad == 1);
    CHECK(b.side[SOB_SIDE_BID].len == 2 && sob_book_check(&b) == SOB_OK);
    sob_book_free(&b);
}

static void test_normalize_and_assign(void) {
    /* Horizon order (best first): reversed, zeros dropped */
    sob_level bids[] = {{5, 1, 1}, {4, 1, 0}, {3, 1, 3}};
    size_t nb = 0, bad = 0;
    CHECK(sob_levels_normalize(bids, 3, SOB_SIDE_BID, &nb, &bad) == SOB_OK && nb == 2);
    CHECK(bids[0].n == 3 && bids[1].n == 5);
    /* any order, duplicates merge to the smallest denominator */
    sob_level asks[] = {{6, 1, 1}, {12, 2, 2}, {7, 1, 1}, {18, 3, 4}};
    size_t na = 0;
    CHECK(sob_levels_normalize(asks, 4, SOB_SIDE_ASK, &na, &bad) == SOB_OK && na == 2);
    CHECK(asks[1].n == 6 && asks[1].d == 1 && asks[1].amount == 7);
    sob_level over[] = {{1, 1, UINT64_MAX}, {2, 2, 1}};
    size_t no = 0;
    CHECK(sob_levels_normalize(over, 2, SOB_SIDE_ASK, &no, &bad) == SOB_E_OVERFLOW);
    sob_book b;
    sob_book_init(&b);
    CHECK(sob_book_assign(&b, bids, nb, asks, na) == SOB_OK && sob_book_check(&b) == SOB_OK);
    sob_level crossed_bid[] = {{13, 2, 1}}; /* 6.5 > the best ask 6 */
    CHECK(sob_book_assign(&b, crossed_bid, 1, asks, na) == SOB_E_CROSSED);
    CHECK(best(&b, SOB_SIDE_BID)->n == 5); /* unchanged */
    sob_level touching_bid[] = {{12, 2, 1}}; /* == the best ask: legal */
    CHECK(sob_book_assign(&b, touching_bid, 1, asks, na) == SOB_OK && sob_book_check(&b) == SOB_OK);
    sob_book_free(&b);
}

static void test_diff(void) {
    sob_book b;
    sob_book_init(&b);
    sob_level bids[] = {{1, 1, 10}, {2, 1, 20}, {3, 1, 30}}; /* worst first */
    CHECK(sob_book_assign(&b, bids, 3, NULL, 0) == SOB_OK);
    sob_level next[] = {{1, 1, 10}, {5, 2, 7}, {3, 1, 31}};
    sob_changes ch;
    sob_changes_init(&ch);
    CHECK(sob_side_diff(&b, SOB_SIDE_BID, next, 3, &ch) == SOB_OK);
    /* best first: 3/1 changed, 5/2 added, 2/1 removed */
    CHECK(ch.len == 3);
    CHECK(ch.v[0].n == 3 && ch.v[0].old_amount == 30 && ch.v[0].new_amount == 31);
    CHECK(ch.v[1].n == 5 && ch.v[1].old_amount == 0 && ch.v[1].new_amount == 7);
    CHECK(ch.v[2].n == 2 && ch.v[2].old_amount == 20 && ch.v[2].new_amount == 0);
    sob_changes_free(&ch);
    sob_book_free(&b);
}

static void test_quotes_round_for_the_maker(void) {
    sob_book b;
    sob_book_init(&b);
    sob_level asks[] = {{2, 3, 10}, {1, 3, 10}}; /* worst first */
    CHECK(sob_book_assign(&b, NULL, 0, asks, 2) == SOB_OK);
    sob_quote q;
    CHECK(sob_book_quote_buy(&b, 15, &q) == SOB_OK);
    CHECK(q.base == 15 && q.counter == 8 && q.levels == 2 && q.complete);
    CHECK(sob_book_quote_buy(&b, 25, &q) == SOB_OK && q.base == 20 && !q.complete);
    sob_level big[] = {{INT32_MAX, 1, UINT64_MAX}};
    CHECK(sob_book_assign(&b, NULL, 0, big, 1) == SOB_OK);
    CHECK(sob_book_quote_buy(&b, UINT64_MAX, &q) == SOB_OK);
    CHECK(q.counter == (sob_u128)UINT64_MAX * INT32_MAX); /* 128-bit, no wrap */
    sob_level bids[] = {{1, 4, 100}, {1, 3, 3}};
    CHECK(sob_book_assign(&b, bids, 2, NULL, 0) == SOB_OK);
    CHECK(sob_book_quote_sell(&b, 12, &q) == SOB_OK);
    CHECK(q.base == 12 && q.counter == 3 && q.levels == 2 && q.complete);
    sob_book_free(&b);
}

static void test_random_against_invariants(void) {
    sob_book b;
    sob_book_init(&b);
    srand(12345);
    for (int i = 0; i < 200000; i++) {
        int side = rand() & 1;
        int32_t n = side == SOB_SIDE_BID ? 1 + rand() % 500 : 501 + rand() % 500;
        int32_t d = 1 + rand() % 3;
        if (side == SOB_SIDE_ASK) n *= d; /* keep asks above every bid */
        uint64_t amount = (rand() % 4) ? (uint64_t)rand() : 0;
        if (sob_book_set_level_checked(&b, side, n, d, amount, NULL) != SOB_OK) sob_test_failed++;
        if (i % 997 == 0 && sob_book_check(&b) != SOB_OK) sob_test_failed++;
    }
    CHECK(sob_book_check(&b) == SOB_OK);
    sob_book_free(&b);
}


/* ---- deep books against the reference (book_ref.h) ------------------------------------------
 *
 * Seeded random programs of set_level (checked and not), batches of 1..1200 changes (duplicates,
 * other spellings of the same price, removals of absent levels, invalid changes, crossing
 * attempts, every change at one position), snapshots and copies, on books of 0 to 50,000 levels
 * a side (some lopsided: one deep side, one tiny or empty), compared with the reference after
 * every step: statuses, bad indexes, prev and undo entries, every level of both sides, and
 * sob_book_check. A failure prints the depth, seed and step to replay it. */

typedef struct rng {
    uint64_t s;
} rng;

static uint64_t rnext(rng *r) { /* xorshift64* */
    r->s ^= r->s >> 12;
    r->s ^= r->s << 25;
    r->s ^= r->s >> 27;
    return r->s * 2685821657736338717ULL;
}

static uint64_t rbelow(rng *r, uint64_t n) { return n ? rnext(r) % n : 0; }

/* Prices are tick/4096, spelled (tick*m)/(4096*m) with m in 1..3 (so the same level arrives in
 * several spellings). Bids take ticks below `mid`, asks from `mid` up, each side in steps of
 * about 4 so that new prices fit between neighbours. */
#define TICK_D 4096

typedef struct deep_case {
    rng r;
    sob_book b;
    ref_book ref;
    int32_t mid;
    int failed; /* stop comparing a case after its first failure */
} deep_case;

static sob_level spell(rng *r, int64_t tick, uint64_t amount) {
    int32_t m = 1 + (int32_t)rbelow(r, 3);
    sob_level l = {(int32_t)(tick * m), TICK_D * m, amount};
    return l;
}

static int64_t tick_of(const sob_level *l) { return (int64_t)l->n * TICK_D / l->d; }

static uint64_t rand_amount(rng *r) {
    uint64_t x = rbelow(r, 100);
    if (x < 2) return UINT64_MAX - rbelow(r, 3);
    return 1 + (rnext(r) >> (24 + rbelow(r, 30)));
}

/* A fresh side of `depth` levels, best first (Horizon's order), normalised worst first. */
static size_t make_side(rng *r, int side, int32_t mid, size_t depth, sob_level *out) {
    for (size_t i = 0; i < depth; i++) {
        int64_t t = (int64_t)(4 * i + rbelow(r, 3));
        out[i] = spell(r, side == SOB_SIDE_BID ? mid - 1 - t : mid + t, rand_amount(r));
    }
    if (rbelow(r, 4) == 0) /* sometimes in any order: the qsort path */
        for (size_t i = depth; i > 1; i--) {
            size_t j = rbelow(r, i);
            sob_level t = out[i - 1];
            out[i - 1] = out[j];
            out[j] = t;
        }
    size_t len = 0, bad = 0;
    if (sob_levels_normalize(out, depth, side, &len, &bad) != SOB_OK) abort();
    return len;
}

/* A price for a change on `side`: an existing level (respelled), a new one in the side's range,
 * or one at or beyond the other side's best (touching is legal, beyond crosses). */
static void pick_price(deep_case *c, int side, int crossing, int32_t *n, int32_t *d) {
    const ref_side *s = &c->ref.side[side], *o = &c->ref.side[!side];
    int64_t tick;
    uint64_t how = rbelow(&c->r, 100);
    if (crossing && o->len) {
        int64_t ot = tick_of(&o->v[o->len - 1]);
        tick = side == SOB_SIDE_BID ? ot + (int64_t)rbelow(&c->r, 3) : ot - (int64_t)rbelow(&c->r, 3);
    } else if (how < 55 && s->len) {
        tick = tick_of(&s->v[rbelow(&c->r, s->len)]);
    } else {
        int64_t span = 4 * (int64_t)(s->len + 2);
        int64_t t = (int64_t)rbelow(&c->r, (uint64_t)span);
        tick = side == SOB_SIDE_BID ? c->mid - 1 - t : c->mid + t;
    }
    if (tick < 1) tick = 1;
    sob_level l = spell(&c->r, tick, 0);
    *n = l.n;
    *d = l.d;
}

#define DEEP_FAIL(c, depth, seed, step, what)                                                   \
    do {                                                                                       \
        sob_test_failed++;                                                                     \
        (c)->failed = 1;                                                                       \
        fprintf(stderr, "deep book: depth %zu seed %llu step %d: %s\n", (size_t)(depth),        \
                (unsigned long long)(seed), (step), (what));                                    \
    } while (0)

static struct {
    unsigned long batches_ok, batches_crossed, batches_invalid, deep_batches_ok, steps;
    unsigned long long levels_compared;
} deep_stats;

static void deep_case_run(size_t depth, size_t ask_depth, uint64_t seed, int steps) {
    deep_case c;
    memset(&c, 0, sizeof c);
    c.r.s = seed * 0x9E3779B97F4A7C15ULL + 1;
    c.mid = 1 << 24;
    sob_book_init(&c.b);
    ref_init(&c.ref);
    size_t room = 2 * (depth > ask_depth ? depth : ask_depth) + 1300;
    sob_level *bids = malloc(room * sizeof *bids), *asks = malloc(room * sizeof *asks);
    sob_set *set = malloc(1300 * sizeof *set);
    sob_level *undo = malloc(1300 * sizeof *undo), *undo_ref = malloc(1300 * sizeof *undo_ref);
    if (!bids || !asks || !set || !undo || !undo_ref) abort();
    size_t nb = make_side(&c.r, SOB_SIDE_BID, c.mid, depth, bids);
    size_t na = make_side(&c.r, SOB_SIDE_ASK, c.mid, ask_depth, asks);
    if (sob_book_assign(&c.b, bids, nb, asks, na) != SOB_OK || ref_assign(&c.ref, bids, nb, asks, na) != SOB_OK)
        DEEP_FAIL(&c, depth, seed, -1, "initial assign");
    for (int step = 0; step < steps && !c.failed; step++) {
        uint64_t op = rbelow(&c.r, 100);
        if (op < 25) { /* set_level_checked */
            int side = (int)rbelow(&c.r, 2);
            int32_t n, d;
            pick_price(&c, side, rbelow(&c.r, 100) < 15, &n, &d);
            uint64_t a = rbelow(&c.r, 10) < 3 ? 0 : rand_amount(&c.r);
            sob_level p1 = {0, 0, 0}, p2 = {0, 0, 0};
            sob_status s1 = sob_book_set_level_checked(&c.b, side, n, d, a, &p1);
            sob_status s2 = ref_set_level_checked(&c.ref, side, n, d, a, &p2);
            if (s1 != s2 || (s1 == SOB_OK && memcmp(&p1, &p2, sizeof p1) != 0))
                DEEP_FAIL(&c, depth, seed, step, "set_level_checked status or prev");
        } else if (op < 35) { /* set_level (unchecked) on an existing level: update or remove */
            int side = (int)rbelow(&c.r, 2);
            const ref_side *s = &c.ref.side[side];
            if (!s->len) continue;
            sob_level l = spell(&c.r, tick_of(&s->v[rbelow(&c.r, s->len)]), 0);
            uint64_t a = rbelow(&c.r, 2) ? 0 : rand_amount(&c.r);
            sob_level p1, p2;
            sob_status s1 = sob_book_set_level(&c.b, side, l.n, l.d, a, &p1);
            sob_status s2 = ref_set_level(&c.ref, side, l.n, l.d, a, &p2);
            if (s1 != s2 || memcmp(&p1, &p2, sizeof p1) != 0) DEEP_FAIL(&c, depth, seed, step, "set_level");
        } else if (op < 80) { /* a batch */
            uint64_t sz = rbelow(&c.r, 10);
            size_t k = sz < 4 ? 1 + rbelow(&c.r, 8) : sz < 8 ? 9 + rbelow(&c.r, 112) : 121 + rbelow(&c.r, 1080);
            int one_side = rbelow(&c.r, 3) == 0 ? (int)rbelow(&c.r, 2) : -1;
            int crossing = rbelow(&c.r, 100) < 8;
            int hostile = rbelow(&c.r, 100) < 5; /* every change at one position */
            for (size_t i = 0; i < k; i++) {
                int side = one_side >= 0 ? one_side : (int)rbelow(&c.r, 2);
                set[i].side = side;
                if (hostile && i) {
                    /* new prices just above the first change's, and repeats of it */
                    int64_t t = tick_of(&(sob_level){set[0].n, set[0].d, 0});
                    sob_level l = spell(&c.r, t + (set[0].side == SOB_SIDE_BID ? 1 : -1) * (int64_t)rbelow(&c.r, 3), 0);
                    set[i].side = set[0].side;
                    set[i].n = l.n;
                    set[i].d = l.d;
                } else if (i && rbelow(&c.r, 10) == 0) { /* the same level again, maybe respelled */
                    size_t j = rbelow(&c.r, i);
                    sob_level l = spell(&c.r, tick_of(&(sob_level){set[j].n, set[j].d, 0}), 0);
                    set[i].side = set[j].side;
                    set[i].n = l.n;
                    set[i].d = l.d;
                } else {
                    pick_price(&c, side, crossing && rbelow(&c.r, 20) == 0, &set[i].n, &set[i].d);
                }
                set[i].amount = rbelow(&c.r, 10) < 3 ? 0 : rand_amount(&c.r);
            }
            if (rbelow(&c.r, 50) == 0) { /* an invalid change somewhere */
                size_t j = rbelow(&c.r, k);
                uint64_t how = rbelow(&c.r, 3);
                if (how == 0) set[j].side = 2;
                if (how == 1) set[j].n = -(int32_t)rbelow(&c.r, 3);
                if (how == 2) set[j].d = 0;
            }
            size_t bad1 = 12345, bad2 = 12345;
            sob_status s1 = sob_book_apply_batch(&c.b, set, k, undo, &bad1);
            sob_status s2 = ref_apply_batch(&c.ref, set, k, undo_ref, &bad2);
            deep_stats.batches_ok += s1 == SOB_OK;
            deep_stats.deep_batches_ok += s1 == SOB_OK && k > 1 && (c.ref.side[0].len >= 512 || c.ref.side[1].len >= 512);
            deep_stats.batches_crossed += s1 == SOB_E_CROSSED;
            deep_stats.batches_invalid += s1 == SOB_E_INVALID;
            if (s1 != s2 || (s1 != SOB_OK && bad1 != bad2))
                DEEP_FAIL(&c, depth, seed, step, "apply_batch status or bad index");
            else if (s1 == SOB_OK && memcmp(undo, undo_ref, k * sizeof *undo) != 0)
                DEEP_FAIL(&c, depth, seed, step, "apply_batch undo entries");
        } else if (op < 85) { /* snapshot: the case's depth, half, double (growing), or tiny */
            uint64_t how = rbelow(&c.r, 10);
            size_t nd0 = how < 4 ? depth : how < 6 ? depth / 2 : how < 9 ? 2 * depth + 1 : rbelow(&c.r, 4);
            size_t nd1 = how < 4 ? ask_depth : how < 6 ? ask_depth / 2 : how < 9 ? 2 * ask_depth + 1 : rbelow(&c.r, 4);
            nb = make_side(&c.r, SOB_SIDE_BID, c.mid, nd0, bids);
            na = make_side(&c.r, SOB_SIDE_ASK, c.mid, nd1, asks);
            sob_status s1 = sob_book_assign(&c.b, bids, nb, asks, na), s2 = ref_assign(&c.ref, bids, nb, asks, na);
            if (s1 != s2) DEEP_FAIL(&c, depth, seed, step, "assign status");
            for (int s = 0; s < 2; s++) /* a book that shrinks gives memory back */
                if (c.b.side[s].cap > 64 && c.b.side[s].cap > 4 * c.b.side[s].len)
                    DEEP_FAIL(&c, depth, seed, step, "assign kept a block 4x too big");
        } else if (op < 90) { /* copy the best levels, any depth */
            int side = (int)rbelow(&c.r, 2);
            const ref_side *s = &c.ref.side[side];
            size_t want = rbelow(&c.r, s->len + 3);
            sob_level *out = malloc((want ? want : 1) * sizeof *out);
            if (!out) abort();
            size_t got = sob_book_copy_best(&c.b, side, want, out);
            int ok = got == (want < s->len ? want : s->len);
            for (size_t i = 0; ok && i < got; i++) ok = memcmp(&out[i], &s->v[s->len - 1 - i], sizeof *out) == 0;
            free(out);
            if (!ok) DEEP_FAIL(&c, depth, seed, step, "copy_best");
        } else { /* remove the top levels of a side and put a new best (or nothing) above them */
            int side = (int)rbelow(&c.r, 2);
            const ref_side *s = &c.ref.side[side];
            size_t m = rbelow(&c.r, (s->len < 40 ? s->len : 40) + 1), k = 0;
            for (size_t i = 0; i < m; i++) {
                const sob_level *l = &s->v[s->len - 1 - i];
                set[k++] = (sob_set){side, l->n, l->d, 0};
            }
            if (rbelow(&c.r, 2) && s->len) {
                int64_t t = tick_of(&s->v[s->len - 1]) + (side == SOB_SIDE_BID ? -1 : 1) * (int64_t)rbelow(&c.r, 3);
                sob_level l = spell(&c.r, t < 1 ? 1 : t, rand_amount(&c.r));
                set[k++] = (sob_set){side, l.n, l.d, l.amount};
            }
            for (size_t i = 0; i + 1 < k; i++) { /* in any order */
                size_t j = i + rbelow(&c.r, k - i);
                sob_set t = set[i];
                set[i] = set[j];
                set[j] = t;
            }
            size_t bad1 = 0, bad2 = 0;
            sob_status s1 = sob_book_apply_batch(&c.b, set, k, undo, &bad1);
            sob_status s2 = ref_apply_batch(&c.ref, set, k, undo_ref, &bad2);
            if (s1 != s2 || (s1 == SOB_OK && memcmp(undo, undo_ref, k * sizeof *undo) != 0))
                DEEP_FAIL(&c, depth, seed, step, "top removal batch");
        }
        if (c.failed) break;
        if (!ref_same(&c.ref, &c.b)) DEEP_FAIL(&c, depth, seed, step, "levels differ from the reference");
        deep_stats.steps++;
        deep_stats.levels_compared += c.ref.side[0].len + c.ref.side[1].len;
        sob_status want = ref_crossed(&c.ref) ? SOB_E_CROSSED : SOB_OK;
        if (!c.failed && sob_book_check(&c.b) != want) DEEP_FAIL(&c, depth, seed, step, "sob_book_check");
    }
    if (!c.failed) sob_test_passed++;
    free(bids);
    free(asks);
    free(set);
    free(undo);
    free(undo_ref);
    ref_free(&c.ref);
    sob_book_free(&c.b);
}

static void test_deep_books_against_reference(void) {
    /* 31..33 and 64: around the top window of the shallow batch path (book.c, TOP_WINDOW) */
    static const size_t depths[] = {0, 1, 2, 3, 10, 31, 32, 33, 64, 100, 511, 512, 513, 1000, 4096, 10000, 50000};
    for (size_t i = 0; i < sizeof depths / sizeof depths[0]; i++) {
        size_t d = depths[i];
        int steps = d <= 10000 ? 400 : 100;
        for (uint64_t seed = 1; seed <= 3; seed++) {
            deep_case_run(d, d, seed, steps);
            /* lopsided: one deep side next to a tiny or empty one (the planned batch path runs
             * when either side is deep, so it meets empty and one-level sides here) */
            deep_case_run(d, seed - 1, 100 + seed, steps);
            deep_case_run(seed - 1, d, 200 + seed, steps);
        }
    }
    /* the programs must have done what they are for: a silent generator proves nothing */
    CHECK(deep_stats.deep_batches_ok > 1000 && deep_stats.batches_crossed > 100 && deep_stats.batches_invalid > 20);
    printf("deep books: %lu steps, %lu batches applied (%lu on a deep side), %lu refused crossed, %lu invalid, "
           "%llu levels compared\n",
           deep_stats.steps, deep_stats.batches_ok, deep_stats.deep_batches_ok, deep_stats.batches_crossed,
           deep_stats.batches_invalid, deep_stats.levels_compared);
}

/* An insert moves the shorter part of the side: near the worst end the levels below it move
 * down into the free slots before the run (lv moves), near the best end the ones above it. */
static void test_deep_insert_moves_the_shorter_part(void) {
    sob_book b;
    sob_book_init(&b);
    static sob_level asks[1000];
    for (int i = 0; i < 1000; i++) asks[i] = (sob_level){4000 - 4 * i, 1, 1}; /* worst first */
    CHECK(sob_book_assign(&b, NULL, 0, asks, 1000) == SOB_OK);
    const sob_side *s = &b.side[SOB_SIDE_ASK];
    CHECK(s->lv > s->mem && s->lv + s->len < s->mem + s->cap); /* room at both ends */
    const sob_level *lv = s->lv;
    CHECK(sob_book_set_level(&b, SOB_SIDE_ASK, 3999, 1, 5, NULL) == SOB_OK); /* second worst */
    CHECK(s->lv == lv - 1 && s->lv[0].n == 4000 && s->lv[1].n == 3999 && s->len == 1001);
    CHECK(sob_book_set_level(&b, SOB_SIDE_ASK, 5, 1, 5, NULL) == SOB_OK); /* second best */
    CHECK(s->lv == lv - 1 && s->lv[s->len - 2].n == 5 && s->lv[s->len - 1].n == 4);
    CHECK(sob_book_set_level(&b, SOB_SIDE_ASK, 3999, 1, 0, NULL) == SOB_OK); /* and back */
    CHECK(s->lv == lv && sob_book_check(&b) == SOB_OK);
    sob_book_free(&b);
}

/* The layout-free reads and the copy agree with the side's run, deep or empty. */
static void test_len_best_copy(void) {
    sob_book b, c;
    sob_book_init(&b);
    sob_book_init(&c);
    CHECK(sob_book_len(&b, SOB_SIDE_BID) == 0 && sob_book_best(&b, SOB_SIDE_ASK) == NULL);
    CHECK(sob_book_copy(&c, &b) == SOB_OK && sob_book_len(&c, SOB_SIDE_BID) == 0 && sob_book_check(&c) == SOB_OK);
    static sob_level bids[5000];
    for (int i = 0; i < 5000; i++) bids[i] = (sob_level){1 + i, 7, 3}; /* worst first */
    sob_level ask = {5000, 7, 9};                                      /* touching the best bid */
    CHECK(sob_book_assign(&b, bids, 5000, &ask, 1) == SOB_OK);
    CHECK(sob_book_set_level(&b, SOB_SIDE_BID, 1, 14, 4, NULL) == SOB_OK); /* a new worst bid */
    CHECK(sob_book_len(&b, SOB_SIDE_BID) == 5001 && sob_book_len(&b, SOB_SIDE_ASK) == 1);
    CHECK(sob_book_best(&b, SOB_SIDE_BID)->n == 5000 && sob_book_best(&b, SOB_SIDE_ASK)->amount == 9);
    CHECK(sob_book_copy(&c, &b) == SOB_OK && sob_book_check(&c) == SOB_OK);
    CHECK(sob_book_len(&c, SOB_SIDE_BID) == 5001 &&
          memcmp(c.side[SOB_SIDE_BID].lv, b.side[SOB_SIDE_BID].lv, 5001 * sizeof(sob_level)) == 0);
    CHECK(sob_book_copy(&b, &b) == SOB_OK && sob_book_len(&b, SOB_SIDE_BID) == 5001 && sob_book_check(&b) == SOB_OK);
    sob_level crossing = {5001, 7, 1}; /* a source crossed by unchecked set_level: refused, dst kept */
    sob_book x;
    sob_book_init(&x);
    CHECK(sob_book_set_level(&x, SOB_SIDE_BID, crossing.n, crossing.d, 1, NULL) == SOB_OK);
    CHECK(sob_book_set_level(&x, SOB_SIDE_ASK, 1, 1, 1, NULL) == SOB_OK && sob_book_crossed(&x));
    CHECK(sob_book_copy(&c, &x) == SOB_E_CROSSED && sob_book_len(&c, SOB_SIDE_BID) == 5001);
    sob_book_free(&x);
    sob_book_free(&b);
    sob_book_free(&c);
}

/* A deep batch that ends crossed is refused before anything moves: same block, same bytes. */
static void test_deep_batch_refused_untouched(void) {
    sob_book b;
    sob_book_init(&b);
    static sob_level bids[3000], asks[3000], before[2][3000];
    for (int i = 0; i < 3000; i++) {
        bids[i] = (sob_level){10000 + 4 * i, 1, 7};  /* worst (lowest) first */
        asks[i] = (sob_level){100000 - 4 * i, 1, 9}; /* worst (highest) first */
    }
    CHECK(sob_book_assign(&b, bids, 3000, asks, 3000) == SOB_OK);
    sob_set c[200];
    for (int i = 0; i < 199; i++) /* new prices among the bids, and below the worst ask */
        c[i] = i & 1 ? (sob_set){SOB_SIDE_ASK, 100001 + 8 * i, 1, 3} : (sob_set){SOB_SIDE_BID, 10001 + 8 * i, 1, 3};
    c[199] = (sob_set){SOB_SIDE_BID, 88005, 1, 1}; /* above the best ask 88004: crossed */
    const sob_level *lv[2] = {b.side[0].lv, b.side[1].lv}, *mem[2] = {b.side[0].mem, b.side[1].mem};
    memcpy(before[0], b.side[0].lv, 3000 * sizeof(sob_level));
    memcpy(before[1], b.side[1].lv, 3000 * sizeof(sob_level));
    sob_level undo[200];
    size_t bad = 0;
    CHECK(sob_book_apply_batch(&b, c, 200, undo, &bad) == SOB_E_CROSSED && bad == 200);
    for (int s = 0; s < 2; s++)
        CHECK(b.side[s].lv == lv[s] && b.side[s].mem == mem[s] && b.side[s].len == 3000 &&
              memcmp(before[s], b.side[s].lv, 3000 * sizeof(sob_level)) == 0);
    c[199].n = 88004; /* touching the best ask is legal */
    CHECK(sob_book_apply_batch(&b, c, 200, undo, &bad) == SOB_OK && sob_book_check(&b) == SOB_OK);
    CHECK(b.side[SOB_SIDE_BID].len == 3101 && b.side[SOB_SIDE_ASK].len == 3099);
    CHECK(b.side[SOB_SIDE_BID].lv[3100].n == 88004 && b.side[SOB_SIDE_ASK].lv[0].n == 100001 + 8 * 197);
    sob_book_free(&b);
}

int main(void) {
    test_set_level_orders_and_updates();
    test_batch_is_atomic();
    test_normalize_and_assign();
    test_diff();
    test_quotes_round_for_the_maker();
    test_random_against_invariants();
    test_deep_insert_moves_the_shorter_part();
    test_len_best_copy();
    test_deep_batch_refused_untouched();
    test_deep_books_against_reference();
    return sob_test_summary("test_book");
}
