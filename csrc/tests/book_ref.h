/* book_ref.h: the L2 book's semantics as the simplest code that can state them, for differential
 * tests (csrc/tests/test_book.c) and the operations fuzzer (csrc/fuzz/fuzz_core_ops.c).
 *
 * One sorted array per side (worst first), every change applied one at a time, a batch undone
 * change by change when it ends crossed: the layout book.c had before issue 18. Nothing here is
 * fast; everything is meant to be obviously right. Allocation failure aborts (tests only).
 */
#ifndef SOB_BOOK_REF_H
#define SOB_BOOK_REF_H

#include <stdlib.h>
#include <string.h>

#include "book.h"

typedef struct ref_side {
    sob_level *v; /* worst first */
    size_t len, cap;
} ref_side;

typedef struct ref_book {
    ref_side side[2];
} ref_book;

static inline void ref_init(ref_book *r) { memset(r, 0, sizeof *r); }

static inline void ref_free(ref_book *r) {
    free(r->side[0].v);
    free(r->side[1].v);
    memset(r, 0, sizeof *r);
}

/* >0 if a is a better price than b on this side */
static inline int ref_better(int side, int32_t an, int32_t ad, int32_t bn, int32_t bd) {
    int c = sob_price_cmp(an, ad, bn, bd);
    return side == SOB_SIDE_BID ? c : -c;
}

/* Index of the first level at least as good as n/d (plain binary search). */
static inline size_t ref_find(const ref_side *s, int side, int32_t n, int32_t d) {
    size_t lo = 0, hi = s->len;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (ref_better(side, s->v[mid].n, s->v[mid].d, n, d) < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

static inline sob_status ref_set_level(ref_book *r, int side, int32_t n, int32_t d, uint64_t amount, sob_level *prev) {
    if ((side != SOB_SIDE_BID && side != SOB_SIDE_ASK) || n <= 0 || d <= 0) return SOB_E_INVALID;
    ref_side *s = &r->side[side];
    size_t i = ref_find(s, side, n, d);
    if (i < s->len && sob_price_cmp(s->v[i].n, s->v[i].d, n, d) == 0) {
        if (prev) *prev = s->v[i];
        if (amount) {
            s->v[i].amount = amount; /* the first spelling stays */
        } else {
            memmove(s->v + i, s->v + i + 1, (s->len - i - 1) * sizeof *s->v);
            s->len--;
        }
        return SOB_OK;
    }
    if (prev) *prev = (sob_level){n, d, 0};
    if (!amount) return SOB_OK;
    if (s->len == s->cap) {
        s->cap = s->cap ? 2 * s->cap : 8;
        s->v = realloc(s->v, s->cap * sizeof *s->v);
        if (!s->v) abort();
    }
    memmove(s->v + i + 1, s->v + i, (s->len - i) * sizeof *s->v);
    s->v[i] = (sob_level){n, d, amount};
    s->len++;
    return SOB_OK;
}

/* Only a bid strictly above the ask is crossed. */
static inline int ref_crossed(const ref_book *r) {
    const ref_side *b = &r->side[SOB_SIDE_BID], *a = &r->side[SOB_SIDE_ASK];
    if (!b->len || !a->len) return 0;
    return sob_price_cmp(b->v[b->len - 1].n, b->v[b->len - 1].d, a->v[a->len - 1].n, a->v[a->len - 1].d) > 0;
}

static inline sob_status ref_set_level_checked(ref_book *r, int side, int32_t n, int32_t d, uint64_t amount, sob_level *prev) {
    sob_level old;
    sob_status st = ref_set_level(r, side, n, d, amount, &old);
    if (st) return st;
    if (ref_crossed(r)) {
        ref_set_level(r, side, old.n, old.d, old.amount, NULL);
        return SOB_E_CROSSED;
    }
    if (prev) *prev = old;
    return SOB_OK;
}

/* All validated first (bad_index = the first invalid change); then one by one; undone in reverse
 * if the result is crossed (bad_index = k). undo[i] = the level as change i found it. */
static inline sob_status ref_apply_batch(ref_book *r, const sob_set *c, size_t k, sob_level *undo, size_t *bad_index) {
    for (size_t i = 0; i < k; i++) {
        if ((c[i].side != SOB_SIDE_BID && c[i].side != SOB_SIDE_ASK) || c[i].n <= 0 || c[i].d <= 0) {
            *bad_index = i;
            return SOB_E_INVALID;
        }
    }
    for (size_t i = 0; i < k; i++) ref_set_level(r, c[i].side, c[i].n, c[i].d, c[i].amount, &undo[i]);
    if (!ref_crossed(r)) return SOB_OK;
    for (size_t i = k; i-- > 0;) ref_set_level(r, c[i].side, undo[i].n, undo[i].d, undo[i].amount, NULL);
    *bad_index = k;
    return SOB_E_CROSSED;
}

/* Two normalised sides (worst first); refused whole if bid > ask. */
static inline sob_status ref_assign(ref_book *r, const sob_level *bids, size_t nb, const sob_level *asks, size_t na) {
    if (nb && na && sob_price_cmp(bids[nb - 1].n, bids[nb - 1].d, asks[na - 1].n, asks[na - 1].d) > 0)
        return SOB_E_CROSSED;
    const sob_level *src[2] = {bids, asks};
    size_t len[2] = {nb, na};
    for (int s = 0; s < 2; s++) {
        ref_side *x = &r->side[s];
        if (len[s] > x->cap) {
            x->cap = len[s];
            x->v = realloc(x->v, x->cap * sizeof *x->v);
            if (!x->v) abort();
        }
        if (len[s]) memcpy(x->v, src[s], len[s] * sizeof *x->v);
        x->len = len[s];
    }
    return SOB_OK;
}

/* 1 if the book holds exactly the reference's levels (same order, spelling and amounts). */
static inline int ref_same(const ref_book *r, const sob_book *b) {
    for (int s = 0; s < 2; s++) {
        const ref_side *x = &r->side[s];
        const sob_side *y = &b->side[s];
        if (x->len != y->len) return 0;
        if (x->len && memcmp(x->v, y->lv, x->len * sizeof *x->v) != 0) return 0;
    }
    return 1;
}

#endif
