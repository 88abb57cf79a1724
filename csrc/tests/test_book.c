/* test_book.c: unit tests of the L2 book (book.c). Plain C; exits non-zero on failure. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "book.h"

static int passed, failed;

#define CHECK(cond)                                                          \
    do {                                                                     \
        if (cond) {                                                          \
            passed++;                                                        \
        } else {                                                             \
            failed++;                                                        \
            fprintf(stderr, "%s:%d: CHECK(%s) failed\n", __FILE__, __LINE__, #cond); \
        }                                                                    \
    } while (0)

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
        if (sob_book_set_level_checked(&b, side, n, d, amount, NULL) != SOB_OK) failed++;
        if (i % 997 == 0 && sob_book_check(&b) != SOB_OK) failed++;
    }
    CHECK(sob_book_check(&b) == SOB_OK);
    sob_book_free(&b);
}

int main(void) {
    test_set_level_orders_and_updates();
    test_batch_is_atomic();
    test_normalize_and_assign();
    test_diff();
    test_quotes_round_for_the_maker();
    test_random_against_invariants();
    printf("test_book: %d passed, %d failed\n", passed, failed);
    return failed ? 1 : 0;
}
