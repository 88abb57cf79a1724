/* book.c: the aggregated (L2) order book. See book.h for the layout and units. */
#include "book.h"

#include <stdlib.h>
#include <string.h>

/* >0 if a is a better price than b on this side: higher for bids, lower for asks. */
static inline int good_cmp(int side, int32_t an, int32_t ad, int32_t bn, int32_t bd) {
    int c = sob_price_cmp(an, ad, bn, bd);
    return side == SOB_SIDE_BID ? c : -c;
}

void sob_book_init(sob_book *b) { memset(b, 0, sizeof *b); }

void sob_book_free(sob_book *b) {
    free(b->side[0].mem);
    free(b->side[1].mem);
    memset(b, 0, sizeof *b);
}

void sob_changes_init(sob_changes *c) { memset(c, 0, sizeof *c); }

void sob_changes_free(sob_changes *c) {
    free(c->v);
    memset(c, 0, sizeof *c);
}

/* ---- the side's memory: a sorted run with free slots at both ends ------------------------- */

static inline uint32_t side_front(const sob_side *s) { return s->mem ? (uint32_t)(s->lv - s->mem) : 0; }

/* Where a run of len levels sits in cap slots after a move or a new allocation: in the middle,
 * so that both ends can take levels without moving the other part. */
static inline size_t centred(size_t cap, size_t len) { return (cap - len) / 2; }

/* Grows by 1/4 (at least 8 levels): a book of many small markets (dexbook.h) stays near its size. */
static size_t grown_cap(size_t cap, size_t need) {
    size_t c = cap ? cap : 8;
    while (c < need) c += c / 4 < 8 ? 8 : c / 4;
    return c;
}

/* Largest side: positions and counts stay below 2^31, so a (side, position) pair packs in 32 bits
 * and every size computation below fits. */
#define SIDE_MAX (UINT32_MAX / 2)

/* Insert x at index i of the side (0 <= i <= len), moving the shorter part out of its way:
 * every case but the common one (see side_insert_at), kept out of line so that set_level
 * stays small. */
static __attribute__((noinline)) sob_status side_insert_slow(sob_side *s, uint32_t i, sob_level x) {
    uint32_t len = s->len, left = i, right = len - i;
    if (len == s->cap) {
        /* Full: a new allocation, the run written around the new level in one pass. */
        if ((size_t)len + 1 > SIDE_MAX) return SOB_E_NOMEM;
        size_t cap = grown_cap(s->cap, (size_t)len + 1);
        sob_level *mem = malloc(cap * sizeof *mem);
        if (!mem) return SOB_E_NOMEM;
        sob_level *lv = mem + centred(cap, (size_t)len + 1);
        if (left) memcpy(lv, s->lv, (size_t)left * sizeof *lv);
        lv[i] = x;
        if (right) memcpy(lv + i + 1, s->lv + i, (size_t)right * sizeof *lv);
        free(s->mem);
        s->mem = mem;
        s->lv = lv;
        s->cap = (uint32_t)cap;
        s->len = len + 1;
        return SOB_OK;
    }
    uint32_t front = side_front(s), back = s->cap - front - len;
    int cheap_left = left < right;
    if (!(cheap_left ? front : back)) {
        uint32_t cheap = cheap_left ? left : right, dear = cheap_left ? right : left;
        if (dear > cheap + 64 && s->cap - len >= 2) {
            /* The cheap end is full and the other part is long: centre the run once (len moves)
             * so that this end has room for the next inserts, rather than move the long part
             * every time. */
            sob_level *lv = s->mem + centred(s->cap, len);
            memmove(lv, s->lv, (size_t)len * sizeof *lv);
            s->lv = lv;
            front = side_front(s);
            back = s->cap - front - len;
        }
    }
    /* len < cap, so at least one end has room */
    int move_left = cheap_left ? front > 0 : back == 0;
    if (move_left) {
        memmove(s->lv - 1, s->lv, (size_t)left * sizeof *s->lv);
        s->lv--;
    } else {
        memmove(s->lv + i + 1, s->lv + i, (size_t)right * sizeof *s->lv);
    }
    s->lv[i] = x;
    s->len = len + 1;
    return SOB_OK;
}

static inline sob_status side_insert_at(sob_side *s, uint32_t i, sob_level x) {
    uint32_t len = s->len, right = len - i;
    if (right <= i && len < s->cap && s->lv + len < s->mem + s->cap) {
        /* The common case (in the top half, room after the run): what a plain array does. */
        memmove(s->lv + i + 1, s->lv + i, (size_t)right * sizeof *s->lv);
        s->lv[i] = x;
        s->len = len + 1;
        return SOB_OK;
    }
    return side_insert_slow(s, i, x);
}

/* Remove index i, closing the gap from the shorter side. Never reallocates. */
static void side_remove_at(sob_side *s, uint32_t i) {
    uint32_t left = i, right = s->len - i - 1;
    if (left < right) {
        memmove(s->lv + 1, s->lv, (size_t)left * sizeof *s->lv);
        s->lv++;
    } else {
        memmove(s->lv + i, s->lv + i + 1, (size_t)right * sizeof *s->lv);
    }
    s->len--;
}

/* First index whose price is at least as good as n/d (the array is sorted worst first).
 * Branch-free steps (the compiler turns them into conditional moves): a level lookup is a
 * handful of multiplies with no mispredicted branches, which is what bounds apply_diff. */
static inline uint32_t lower_bound(const sob_side *s, int side, int32_t n, int32_t d) {
    const sob_level *first = s->lv;
    uint32_t len = s->len;
    const int64_t kn = n, kd = d;
    if (side == SOB_SIDE_BID) {
        while (len > 0) {
            uint32_t half = len / 2;
            const sob_level *mid = first + half;
            int less = (int64_t)mid->n * kd < kn * (int64_t)mid->d; /* mid worse than key */
            first = less ? mid + 1 : first;
            len = less ? len - half - 1 : half;
        }
    } else {
        while (len > 0) {
            uint32_t half = len / 2;
            const sob_level *mid = first + half;
            int less = (int64_t)mid->n * kd > kn * (int64_t)mid->d; /* higher ask is worse */
            first = less ? mid + 1 : first;
            len = less ? len - half - 1 : half;
        }
    }
    return (uint32_t)(first - s->lv);
}

/* The level at i of s gets amount: set (found: the level at i has the price n/d; it keeps the n/d it
 * was first given), removed (amount 0) or inserted at i; *prev is what the price had
 * (amount 0 when it was absent). One tail for sob_book_set_level and the batch path. */
static inline sob_status side_put_at(sob_side *s, uint32_t i, int found, int32_t n, int32_t d, uint64_t amount,
                                     sob_level *prev) {
    if (found) {
        *prev = s->lv[i];
        if (amount)
            s->lv[i].amount = amount;
        else
            side_remove_at(s, i);
        return SOB_OK;
    }
    prev->n = n;
    prev->d = d;
    prev->amount = 0;
    if (!amount) return SOB_OK;
    sob_level x = {n, d, amount};
    return side_insert_at(s, i, x);
}

/* Aligned to a cache line so that its binary search's loop keeps one placement whatever the code
 * before it in this file weighs: measured (bench/bench_core.py, apply_diff of 100 at depth 200,
 * paired against main's wheel), growing the batch code above moved this loop and cost 5-9%;
 * aligned, the same build ran 17% faster than main's. */
__attribute__((aligned(64))) sob_status sob_book_set_level(sob_book *b, int side, int32_t n, int32_t d, uint64_t amount, sob_level *prev) {
    if ((side != SOB_SIDE_BID && side != SOB_SIDE_ASK) || n <= 0 || d <= 0) return SOB_E_INVALID;
    sob_side *s = &b->side[side];
    uint32_t i = lower_bound(s, side, n, d);
    sob_level unused;
    return side_put_at(s, i, i < s->len && sob_price_cmp(s->lv[i].n, s->lv[i].d, n, d) == 0, n, d, amount,
                       prev ? prev : &unused);
}

/* ---- one change of a batch on a shallow side (the one-by-one path of sob_book_apply_batch) ----
 *
 * What sob_book_set_level does, for a stream of changes to random sides (apply_diff of 100 at
 * depth 200, where the search is most of the time):
 * - no branch on the side: a level is worse than the key n/d exactly when
 *   level.n * A + level.d * B < 0, with (A, B) = (d, -n) on the bids and (-d, n) on the asks
 *   (each product is below 2^62 in magnitude, so the sum cannot overflow);
 * - the best TOP_WINDOW levels first: one comparison with the level TOP_WINDOW from the best
 *   (taken the same way almost every time, as activity is near the top of a book) and a search
 *   of 5 steps instead of log2(len).
 * Measured on bench_core's batches (the C loop alone, min of 41 x 2,000 batches): 1.09 us per
 * batch before, 0.98 us with this; windows of 24 to 64 levels were within noise of 32. Tried and
 * slower here: the search as a chain of conditional moves (forced, 2.5x slower: each step waits
 * for the previous load, where predicted branches let the next loads start), a linear walk
 * down from the best (1.5x), and searching a bid and an ask change in lockstep (1.4x). */
#define TOP_WINDOW 32

static inline uint32_t lower_bound_ab(const sob_level *lv, uint32_t len, int64_t A, int64_t B) {
    const sob_level *first = lv;
    while (len > 0) {
        uint32_t half = len / 2;
        const sob_level *mid = first + half;
        int less = (int64_t)mid->n * A + (int64_t)mid->d * B < 0;
        first = less ? mid + 1 : first;
        len = less ? len - half - 1 : half;
    }
    return (uint32_t)(first - lv);
}

/* sob_book_set_level for a change already validated (side 0/1, n and d > 0); prev as there. */
static inline sob_status batch_set(sob_book *b, const sob_set *c, sob_level *prev) {
    int side = c->side;
    int32_t n = c->n, d = c->d;
    uint64_t amount = c->amount;
    sob_side *s = &b->side[side];
    int64_t sg = side == SOB_SIDE_BID ? 1 : -1;
    int64_t A = sg * d, B = -sg * n;
    uint32_t len = s->len, i;
    sob_level *lv = s->lv;
    const sob_level *w = len > TOP_WINDOW ? &lv[len - TOP_WINDOW] : NULL;
    if (w && (int64_t)w->n * A + (int64_t)w->d * B < 0) /* the key is in the top window */
        i = len - TOP_WINDOW + 1 + lower_bound_ab(w + 1, TOP_WINDOW - 1, A, B);
    else
        i = lower_bound_ab(lv, len, A, B);
    return side_put_at(s, i, i < len && (int64_t)lv[i].n * d == (int64_t)n * lv[i].d, n, d, amount, prev);
}

/* Best bid == best ask is a legal Stellar book: a passive offer rests at the opposite side's
 * price (core crosses a passive offer only against a strictly better price), so only a bid above
 * the ask is impossible. */
static inline int book_crossed(const sob_book *b) {
    const sob_side *bid = &b->side[SOB_SIDE_BID], *ask = &b->side[SOB_SIDE_ASK];
    if (!bid->len || !ask->len) return 0;
    const sob_level *bb = &bid->lv[bid->len - 1], *ba = &ask->lv[ask->len - 1];
    return (int64_t)bb->n * ba->d > (int64_t)ba->n * bb->d;
}

int sob_book_crossed(const sob_book *b) { return book_crossed(b); }

sob_status sob_book_set_level_checked(sob_book *b, int side, int32_t n, int32_t d, uint64_t amount, sob_level *prev) {
    sob_level old;
    sob_status st = sob_book_set_level(b, side, n, d, amount, &old);
    if (st) return st;
    if (book_crossed(b)) {
        /* Only a new level can cross a book that was not crossed: removing it restores it. */
        sob_book_set_level(b, side, old.n, old.d, old.amount, NULL);
        return SOB_E_CROSSED;
    }
    if (prev) *prev = old;
    return SOB_OK;
}

/* ---- batches -------------------------------------------------------------------------------
 *
 * A small batch on a small book is applied change by change, with an undo journal. A batch on a
 * deep side is planned, then applied in one pass (see book.h): the changes are located in the
 * sides as they were (one lower_bound each), sorted by (side, position, batch order), and folded
 * per distinct level in batch order, which gives every change's `undo` entry and each level's
 * final state exactly as applying them one by one would. Each side then knows how many levels
 * it gains or loses before each untouched run; the runs move once (left-moving runs from the
 * worst end up, right-moving ones from the best end down, so no run overwrites one not yet
 * moved), the start of the run is chosen so that the largest number of levels stays where it
 * is, and the new and changed levels are written last. */

/* Below this many levels on both sides (or for a single change) the one-by-one path is as fast:
 * its moves are short and it needs no sort. Measured crossover: see book.h. */
#define BATCH_PLAN_MIN_LEVELS 512
#define BATCH_PLAN_MIN_CHANGES 2

/* One distinct level a batch touches, its changes folded in batch order. */
typedef struct planned_level {
    uint32_t pos;    /* lower bound of its price in the side as it was */
    uint8_t found;   /* the side had this level (at pos) */
    uint8_t present; /* it is there after the batch */
    sob_level lv;    /* stored n/d and amount after the batch (if present) */
} planned_level;

typedef struct side_plan {
    const planned_level *lvl; /* this side's levels, in order (new prices at a position first) */
    size_t count;
    uint32_t inserts, removes;
    size_t new_len;
    sob_level *block; /* a new allocation (new_len > cap), else NULL: moved in place */
    size_t block_cap;
    size_t new_head; /* index of the first level in the block after the batch */
} side_plan;

/* lower_bound for the m changes c[idx[0..m)] of one side, LOOKUP_LANES at a time in lockstep:
 * a branch-free binary search takes the same ceil(log2 len) steps for every key, so the lanes'
 * loads are independent and overlap. On a deep side each step is a cache miss; one search after
 * another would wait for each in turn. */
#define LOOKUP_LANES 64
static void lower_bounds(const sob_side *s, int side, const sob_set *c, const uint32_t *idx, size_t m, uint32_t *out) {
    const sob_level *lv = s->lv;
    uint32_t len = s->len;
    for (size_t at = 0; at < m; at += LOOKUP_LANES) {
        size_t lanes = m - at < LOOKUP_LANES ? m - at : LOOKUP_LANES;
        uint32_t base[LOOKUP_LANES];
        int64_t kn[LOOKUP_LANES], kd[LOOKUP_LANES];
        for (size_t g = 0; g < lanes; g++) {
            base[g] = 0;
            kn[g] = c[idx[at + g]].n;
            kd[g] = c[idx[at + g]].d;
        }
        if (!len) {
            for (size_t g = 0; g < lanes; g++) out[at + g] = 0;
            continue;
        }
        /* Invariant: the answer lies in [base, base + n]. */
        uint32_t n = len;
        if (side == SOB_SIDE_BID) {
            while (n > 1) {
                uint32_t half = n / 2;
                for (size_t g = 0; g < lanes; g++) {
                    const sob_level *mid = lv + base[g] + half;
                    int worse = (int64_t)mid->n * kd[g] < kn[g] * (int64_t)mid->d;
                    base[g] += worse ? half : 0;
                }
                n -= half;
            }
            for (size_t g = 0; g < lanes; g++) {
                const sob_level *l = lv + base[g];
                out[at + g] = base[g] + ((int64_t)l->n * kd[g] < kn[g] * (int64_t)l->d);
            }
        } else {
            while (n > 1) {
                uint32_t half = n / 2;
                for (size_t g = 0; g < lanes; g++) {
                    const sob_level *mid = lv + base[g] + half;
                    int worse = (int64_t)mid->n * kd[g] > kn[g] * (int64_t)mid->d;
                    base[g] += worse ? half : 0;
                }
                n -= half;
            }
            for (size_t g = 0; g < lanes; g++) {
                const sob_level *l = lv + base[g];
                out[at + g] = base[g] + ((int64_t)l->n * kd[g] > kn[g] * (int64_t)l->d);
            }
        }
    }
}

/* key: side (bit 63), position (bits 32..62), index in the batch (bits 0..31) */
#define KEY_IDX(key) ((uint32_t)(key))
#define KEY_POS(key) ((uint32_t)((key) >> 32) & 0x7FFFFFFFu)
#define KEY_SIDE(key) ((int)((key) >> 63))

/* Sort the keys (unique: each holds its index in the batch). A bottom-up merge sort for the
 * usual batch (tens to hundreds of changes), an LSD radix sort on the upper 32 bits for big
 * ones (stable, so the batch order of changes at one position is kept either way). */
static void sort_keys(uint64_t *v, uint64_t *tmp, size_t k) {
    if (k < 512) {
        /* runs of 4 by a sorting network (branch-free compare-exchanges: the keys of a batch
         * come in random order, so an insertion sort's branches would mispredict), the tail
         * by insertion */
        size_t k4 = k - k % 4;
        for (size_t i = 0; i < k4; i += 4) {
            uint64_t *q = v + i;
#define SOB_CX(a, b) do { uint64_t x_ = q[a], y_ = q[b]; q[a] = x_ < y_ ? x_ : y_; q[b] = x_ < y_ ? y_ : x_; } while (0)
            SOB_CX(0, 1);
            SOB_CX(2, 3);
            SOB_CX(0, 2);
            SOB_CX(1, 3);
            SOB_CX(1, 2);
#undef SOB_CX
        }
        for (size_t i = k4 + 1; i < k; i++) {
            uint64_t x = v[i];
            size_t j = i;
            while (j > k4 && v[j - 1] > x) {
                v[j] = v[j - 1];
                j--;
            }
            v[j] = x;
        }
        uint64_t *src = v, *dst = tmp;
        for (size_t w = 4; w < k; w *= 2) {
            for (size_t lo = 0; lo < k; lo += 2 * w) {
                size_t mid = lo + w < k ? lo + w : k, hi = lo + 2 * w < k ? lo + 2 * w : k;
                size_t a = lo, b = mid, o = lo;
                while (a < mid && b < hi) {
                    uint64_t x = src[a], y = src[b];
                    int take_b = y < x;
                    dst[o++] = take_b ? y : x;
                    a += !take_b;
                    b += take_b;
                }
                while (a < mid) dst[o++] = src[a++];
                while (b < hi) dst[o++] = src[b++];
            }
            uint64_t *t = src;
            src = dst;
            dst = t;
        }
        if (src != v) memcpy(v, src, k * sizeof *v);
        return;
    }
    uint64_t all_or = 0, all_and = ~(uint64_t)0;
    for (size_t i = 0; i < k; i++) {
        all_or |= v[i];
        all_and &= v[i];
    }
    uint64_t *src = v, *dst = tmp;
    for (int shift = 32; shift < 64; shift += 8) {
        if ((((all_or ^ all_and) >> shift) & 0xFF) == 0) continue;
        size_t count[256] = {0};
        for (size_t i = 0; i < k; i++) count[(src[i] >> shift) & 0xFF]++;
        size_t sum = 0;
        for (int b = 0; b < 256; b++) {
            size_t c = count[b];
            count[b] = sum;
            sum += c;
        }
        for (size_t i = 0; i < k; i++) dst[count[(src[i] >> shift) & 0xFF]++] = src[i];
        uint64_t *t = src;
        src = dst;
        dst = t;
    }
    if (src != v) memcpy(v, src, k * sizeof *v);
}

/* Order within one position: new prices first, worst first (they all lie just below the level
 * at the position), then changes to the existing level; batch order among equal prices. */
static int run_before(const sob_set *c, int side, const sob_side *s, uint32_t pos, uint64_t a, uint64_t b) {
    const sob_set *x = &c[KEY_IDX(a)], *y = &c[KEY_IDX(b)];
    int xf = pos < s->len && sob_price_cmp(s->lv[pos].n, s->lv[pos].d, x->n, x->d) == 0;
    int yf = pos < s->len && sob_price_cmp(s->lv[pos].n, s->lv[pos].d, y->n, y->d) == 0;
    if (xf != yf) return yf;
    if (xf) return 0;
    return good_cmp(side, x->n, x->d, y->n, y->d) < 0;
}

/* Stable sort of the changes at one position (usually one or two; a hostile batch may put all
 * of them at one position, hence a merge sort, O(r log r)). */
static void sort_run(uint64_t *v, uint64_t *tmp, size_t r, const sob_set *c, int side, const sob_side *s, uint32_t pos) {
    if (r <= 8) {
        for (size_t i = 1; i < r; i++) {
            uint64_t x = v[i];
            size_t j = i;
            while (j > 0 && run_before(c, side, s, pos, x, v[j - 1])) {
                v[j] = v[j - 1];
                j--;
            }
            v[j] = x;
        }
        return;
    }
    size_t h = r / 2;
    sort_run(v, tmp, h, c, side, s, pos);
    sort_run(v + h, tmp, r - h, c, side, s, pos);
    size_t i = 0, j = h, o = 0;
    while (i < h && j < r) tmp[o++] = run_before(c, side, s, pos, v[j], v[i]) ? v[j++] : v[i++];
    while (i < h) tmp[o++] = v[i++];
    while (j < r) tmp[o++] = v[j++];
    memcpy(v, tmp, r * sizeof *v);
}

/* The best level of a side once its plan is applied: walk down from the top, past removed
 * levels and new prices that are no-ops. Returns 0 if the side would be empty. */
static int planned_best(const sob_side *s, const side_plan *p, sob_level *out) {
    int64_t o = (int64_t)s->len - 1;
    size_t g = p->count;
    for (;;) {
        const planned_level *l = g ? &p->lvl[g - 1] : NULL;
        if (l && !l->found && (int64_t)l->pos > o) { /* a new price above original o */
            if (l->present) {
                *out = l->lv;
                return 1;
            }
            g--;
        } else if (l && l->found && (int64_t)l->pos == o) { /* original o itself, changed */
            if (l->present) {
                *out = l->lv;
                return 1;
            }
            g--;
            o--;
        } else {
            if (o < 0) return 0;
            *out = s->lv[o];
            return 1;
        }
    }
}

static void move_run(sob_level *dst_base, const sob_level *src_base, uint32_t a, uint32_t b, int64_t shift) {
    if (b > a) memmove(dst_base + a + shift, src_base + a, (size_t)(b - a) * sizeof *src_base);
}

/* Apply one side's plan: every run of untouched levels moves once, then the new and changed
 * levels are written. In place, or into p->block (then the old block is freed). */
static void side_apply_plan(sob_side *s, const side_plan *p) {
    const planned_level *lvl = p->lvl;
    size_t n = p->count;
    uint32_t len = s->len;
    sob_level *old = s->lv;
    sob_level *nlv;
    if (!p->inserts && !p->removes) { /* amounts only: nothing moves */
        for (size_t g = 0; g < n; g++)
            if (lvl[g].found) old[lvl[g].pos] = lvl[g].lv;
        return;
    }
    if (p->block) {
        nlv = p->block + p->new_head;
        /* A fresh block: every run is copied, in any order. */
        int64_t d = 0;
        uint32_t src = 0;
        for (size_t g = 0; g < n; g++) {
            if (!lvl[g].found) {
                if (!lvl[g].present) continue;
                move_run(nlv, old, src, lvl[g].pos, d);
                src = lvl[g].pos;
                d++;
            } else if (!lvl[g].present) {
                move_run(nlv, old, src, lvl[g].pos, d);
                src = lvl[g].pos + 1;
                d--;
            }
        }
        move_run(nlv, old, src, len, d);
    } else {
        nlv = s->mem + p->new_head;
        int64_t off = nlv - old; /* every level's shift is off + (levels gained below it) */
        /* Runs that move toward the worst end, from the worst end up ... */
        int64_t d = 0;
        uint32_t src = 0;
        for (size_t g = 0; g < n; g++) {
            if (!lvl[g].found) {
                if (!lvl[g].present) continue;
                if (off + d < 0) move_run(old, old, src, lvl[g].pos, off + d);
                src = lvl[g].pos;
                d++;
            } else if (!lvl[g].present) {
                if (off + d < 0) move_run(old, old, src, lvl[g].pos, off + d);
                src = lvl[g].pos + 1;
                d--;
            }
        }
        if (off + d < 0) move_run(old, old, src, len, off + d);
        /* ... then those that move toward the best end, from the best end down. */
        uint32_t end = len;
        for (size_t g = n; g-- > 0;) {
            if (!lvl[g].found) {
                if (!lvl[g].present) continue;
                if (off + d > 0) move_run(old, old, lvl[g].pos, end, off + d);
                end = lvl[g].pos;
                d--;
            } else if (!lvl[g].present) {
                if (off + d > 0) move_run(old, old, lvl[g].pos + 1, end, off + d);
                end = lvl[g].pos;
                d++;
            }
        }
        if (off + d > 0) move_run(old, old, 0, end, off + d);
    }
    int64_t d = 0;
    for (size_t g = 0; g < n; g++) {
        if (!lvl[g].found) {
            if (!lvl[g].present) continue;
            nlv[lvl[g].pos + d] = lvl[g].lv;
            d++;
        } else if (lvl[g].present) {
            nlv[lvl[g].pos + d] = lvl[g].lv;
        } else {
            d--;
        }
    }
    if (p->block) {
        free(s->mem);
        s->mem = p->block;
        s->cap = (uint32_t)p->block_cap;
    }
    s->lv = nlv;
    s->len = (uint32_t)p->new_len;
}

/* Where the side's run starts after the batch (in place): where the largest number of kept
 * levels do not move. hist[d + removes] counts the kept levels whose position shifts by d. */
static size_t plan_head(const sob_side *s, const side_plan *p, uint32_t *hist) {
    uint32_t R = p->removes, I = p->inserts;
    memset(hist, 0, ((size_t)R + I + 1) * sizeof *hist);
    int64_t d = 0;
    uint32_t src = 0;
    for (size_t g = 0; g < p->count; g++) {
        const planned_level *l = &p->lvl[g];
        if (!l->found) {
            if (!l->present) continue;
            hist[d + R] += l->pos - src;
            src = l->pos;
            d++;
        } else if (!l->present) {
            hist[d + R] += l->pos - src;
            src = l->pos + 1;
            d--;
        }
    }
    hist[d + R] += s->len - src;
    /* The run may start anywhere in [0, cap - new_len]; for the levels that shift by x to stay
     * where they are, it starts at head - x: a valid start for x in [head - hi, head]. That
     * range meets [-R, I] (head <= cap - len gives head - hi <= I - R): pick the x in both that
     * keeps the most levels still. */
    int64_t head = side_front(s), hi = (int64_t)s->cap - (int64_t)p->new_len;
    int64_t lo_x = head - hi > -(int64_t)R ? head - hi : -(int64_t)R;
    int64_t hi_x = head < (int64_t)I ? head : (int64_t)I;
    int64_t best_x = lo_x;
    for (int64_t x = lo_x + 1; x <= hi_x; x++)
        if (hist[x + R] > hist[best_x + R]) best_x = x;
    return (size_t)(head - best_x);
}

static sob_status apply_batch_planned(sob_book *b, const sob_set *c, size_t k, sob_level *undo, size_t *bad_index) {
    /* Scratch for this call only: keys and their sort buffer, the planned levels, a histogram. */
    size_t per = 2 * sizeof(uint64_t) + sizeof(planned_level) + sizeof(uint32_t);
    if (k > (SIZE_MAX - 64) / per) return SOB_E_NOMEM;
    char *scratch = malloc(k * per + sizeof(uint32_t));
    if (!scratch) return SOB_E_NOMEM;
    uint64_t *keys = (uint64_t *)scratch, *tmp = keys + k;
    planned_level *lvl = (planned_level *)(tmp + k);
    uint32_t *hist = (uint32_t *)(lvl + k);

    /* Locate every change in its side as it was (tmp is free until the sort); the bids' keys
     * go first, then the asks', each sorted on its own (fewer bytes of position to sort). */
    uint32_t *idx = (uint32_t *)tmp, *pos = idx + k;
    size_t at = 0, first[3] = {0, 0, k};
    for (int side = 0; side < 2; side++) {
        size_t m = 0;
        for (size_t j = 0; j < k; j++) { /* branch-free: the sides of a batch come in any order */
            idx[m] = (uint32_t)j;
            m += c[j].side == side;
        }
        lower_bounds(&b->side[side], side, c, idx, m, pos);
        for (size_t i = 0; i < m; i++) keys[at++] = (uint64_t)side << 63 | (uint64_t)pos[i] << 32 | idx[i];
        first[side + 1] = at;
    }
    for (int side = 0; side < 2; side++) sort_keys(keys + first[side], tmp, first[side + 1] - first[side]);

    side_plan plan[2];
    memset(plan, 0, sizeof plan);
    size_t nl = 0;
    for (size_t r = 0; r < k;) {
        int side = KEY_SIDE(keys[r]);
        uint32_t pos = KEY_POS(keys[r]);
        const sob_side *s = &b->side[side];
        size_t e = r + 1;
        while (e < k && (keys[e] >> 32) == (keys[r] >> 32)) e++;
        if (e - r > 1) sort_run(keys + r, tmp, e - r, c, side, s, pos);
        side_plan *p = &plan[side];
        if (!p->lvl) p->lvl = lvl + nl;
        /* Fold each distinct price of the run in batch order, as set_level one by one would. */
        for (size_t i = r; i < e;) {
            const sob_set *x = &c[KEY_IDX(keys[i])];
            planned_level *l = &lvl[nl++];
            l->pos = pos;
            l->found = pos < s->len && sob_price_cmp(s->lv[pos].n, s->lv[pos].d, x->n, x->d) == 0;
            l->present = l->found;
            if (l->found) l->lv = s->lv[pos];
            size_t g = i;
            while (g < e && (g == i || sob_price_cmp(c[KEY_IDX(keys[g])].n, c[KEY_IDX(keys[g])].d, x->n, x->d) == 0)) {
                uint32_t j = KEY_IDX(keys[g]);
                if (l->present) {
                    undo[j] = l->lv;
                } else {
                    undo[j].n = c[j].n;
                    undo[j].d = c[j].d;
                    undo[j].amount = 0;
                }
                if (!c[j].amount) {
                    l->present = 0;
                } else if (l->present) {
                    l->lv.amount = c[j].amount; /* the level keeps the n/d it was first given */
                } else {
                    l->lv.n = c[j].n;
                    l->lv.d = c[j].d;
                    l->lv.amount = c[j].amount;
                    l->present = 1;
                }
                g++;
            }
            if (l->found && !l->present) p->removes++;
            if (!l->found && l->present) p->inserts++;
            p->count++;
            i = g;
        }
        r = e;
    }

    sob_status st = SOB_OK;
    for (int side = 0; side < 2 && !st; side++) {
        side_plan *p = &plan[side];
        const sob_side *s = &b->side[side];
        p->new_len = (size_t)s->len + p->inserts - p->removes;
        if (p->new_len > SIDE_MAX) st = SOB_E_NOMEM;
    }
    if (!st) {
        sob_level bb, ba;
        if (planned_best(&b->side[SOB_SIDE_BID], &plan[SOB_SIDE_BID], &bb) &&
            planned_best(&b->side[SOB_SIDE_ASK], &plan[SOB_SIDE_ASK], &ba) && sob_price_cmp(bb.n, bb.d, ba.n, ba.d) > 0)
            st = SOB_E_CROSSED;
    }
    /* Every allocation before anything moves: a refused batch leaves the book as it was. */
    for (int side = 0; side < 2 && !st; side++) {
        side_plan *p = &plan[side];
        const sob_side *s = &b->side[side];
        if (p->new_len > s->cap) {
            p->block_cap = grown_cap(s->cap, p->new_len);
            p->block = malloc(p->block_cap * sizeof *p->block);
            if (!p->block) st = SOB_E_NOMEM;
            p->new_head = centred(p->block_cap, p->new_len);
        } else if (p->inserts || p->removes) {
            p->new_head = plan_head(s, p, hist);
        }
    }
    if (st) {
        free(plan[0].block);
        free(plan[1].block);
        if (bad_index) *bad_index = k;
    } else {
        for (int side = 0; side < 2; side++)
            if (plan[side].count) side_apply_plan(&b->side[side], &plan[side]);
    }
    free(scratch);
    return st;
}

sob_status sob_book_apply_batch(sob_book *b, const sob_set *c, size_t k, sob_level *undo, size_t *bad_index) {
    for (size_t i = 0; i < k; i++) {
        if ((c[i].side != SOB_SIDE_BID && c[i].side != SOB_SIDE_ASK) || c[i].n <= 0 || c[i].d <= 0) {
            if (bad_index) *bad_index = i;
            return SOB_E_INVALID;
        }
    }
    if (k >= BATCH_PLAN_MIN_CHANGES && k <= UINT32_MAX &&
        (b->side[0].len >= BATCH_PLAN_MIN_LEVELS || b->side[1].len >= BATCH_PLAN_MIN_LEVELS))
        return apply_batch_planned(b, c, k, undo, bad_index);
    size_t done = 0;
    sob_status st = SOB_OK;
    for (; done < k; done++) {
        st = batch_set(b, &c[done], &undo[done]);
        if (st) break;
    }
    if (!st && book_crossed(b)) st = SOB_E_CROSSED;
    if (st) {
        /* Undo in reverse. A removal leaves a free slot, so re-inserting cannot fail. */
        while (done > 0) {
            done--;
            sob_book_set_level(b, c[done].side, undo[done].n, undo[done].d, undo[done].amount, NULL);
        }
        if (bad_index) *bad_index = k;
    }
    return st;
}

static int cmp_bid_worst_first(const void *pa, const void *pb) {
    const sob_level *a = pa, *b = pb;
    return sob_price_cmp(a->n, a->d, b->n, b->d);
}

static int cmp_ask_worst_first(const void *pa, const void *pb) {
    const sob_level *a = pa, *b = pb;
    return sob_price_cmp(b->n, b->d, a->n, a->d);
}

sob_status sob_levels_normalize(sob_level *v, size_t k, int side, size_t *out_len, size_t *bad_index) {
    if (side != SOB_SIDE_BID && side != SOB_SIDE_ASK) return SOB_E_INVALID;
    /* One branch-free pass: any invalid price, any zero amount, and whether the prices are
     * strictly falling or strictly rising (the order of a normalised side or of Horizon's). The
     * order is read only once every price is known valid. */
    int invalid = 0, has_zero = 0, falling = 1, rising = 1;
    if (k) {
        invalid = (v[0].n <= 0) | (v[0].d <= 0);
        has_zero = v[0].amount == 0;
    }
    for (size_t i = 1; i < k; i++) {
        int64_t pn = v[i - 1].n, pd = v[i - 1].d, n = v[i].n, d = v[i].d;
        invalid |= (n <= 0) | (d <= 0);
        has_zero |= v[i].amount == 0;
        int64_t a = pn * d, b = n * pd;
        falling &= a > b;
        rising &= a < b;
    }
    if (invalid) {
        for (size_t i = 0; i < k; i++) {
            if (v[i].n <= 0 || v[i].d <= 0) {
                if (bad_index) *bad_index = i;
                return SOB_E_INVALID;
            }
        }
    }
    /* worst first: bids rise, asks fall; best first (Horizon's order): the other way */
    int worst_first = side == SOB_SIDE_BID ? rising : falling;
    int best_first = side == SOB_SIDE_BID ? falling : rising;
    if (worst_first) {
        size_t out = k;
        if (has_zero) {
            out = 0;
            for (size_t i = 0; i < k; i++)
                if (v[i].amount) v[out++] = v[i];
        }
        *out_len = out;
        return SOB_OK;
    }
    size_t out = 0;
    if (best_first) {
        /* Horizon's order: reverse to worst first, dropping zero levels. */
        for (size_t i = 0, j = k; i < j;) {
            j--;
            sob_level t = v[i];
            v[i] = v[j];
            v[j] = t;
            i++;
        }
        out = k;
        if (has_zero) {
            out = 0;
            for (size_t i = 0; i < k; i++)
                if (v[i].amount) v[out++] = v[i];
        }
    } else {
        qsort(v, k, sizeof *v, side == SOB_SIDE_BID ? cmp_bid_worst_first : cmp_ask_worst_first);
        for (size_t i = 0; i < k; i++) {
            if (out && sob_price_cmp(v[out - 1].n, v[out - 1].d, v[i].n, v[i].d) == 0) {
                sob_level *m = &v[out - 1];
                if (v[i].amount > UINT64_MAX - m->amount) {
                    if (bad_index) *bad_index = i;
                    return SOB_E_OVERFLOW;
                }
                m->amount += v[i].amount;
                /* Duplicates merge into the smallest-denominator spelling: deterministic
                 * whatever order qsort left them in. */
                if (v[i].d < m->d) {
                    m->n = v[i].n;
                    m->d = v[i].d;
                }
            } else {
                v[out++] = v[i];
            }
        }
        size_t kept = 0;
        for (size_t i = 0; i < out; i++)
            if (v[i].amount) v[kept++] = v[i];
        out = kept;
    }
    *out_len = out;
    return SOB_OK;
}

/* Memory for a side about to hold k levels (sob_book_assign): the current block if it fits and
 * is not much too big (1,000 books must stay small), else a new one. Nothing is copied: the
 * levels are about to be replaced. *out is the block to use, NULL if the current one stays. */
static sob_status side_block_for(const sob_side *s, size_t k, sob_level **out, size_t *cap_out) {
    *out = NULL;
    *cap_out = s->cap;
    int fits = k <= s->cap;
    int shrink = s->cap > 64 && s->cap > 4 * k;
    if (fits && !shrink) return SOB_OK;
    if (k > SIDE_MAX) return SOB_E_NOMEM;
    size_t cap = shrink ? (k < 8 ? 8 : k + k / 4) : grown_cap(s->cap, k);
    sob_level *mem = malloc(cap * sizeof *mem);
    if (!mem) {
        /* Shrinking is a courtesy: keep the big block if a small one cannot be had. */
        return fits ? SOB_OK : SOB_E_NOMEM;
    }
    *out = mem;
    *cap_out = cap;
    return SOB_OK;
}

/* Put k levels into the side, in `mem` (a new block of cap levels) or, if mem is NULL, in the
 * current one. Returns the block to free once every copy is done: the levels may come from
 * this book itself. */
static sob_level *side_assign(sob_side *s, sob_level *mem, size_t cap, const sob_level *lv, size_t k) {
    sob_level *old = NULL;
    if (mem) {
        sob_level *dst = mem + centred(cap, k);
        if (k) memcpy(dst, lv, k * sizeof *lv);
        old = s->mem;
        s->mem = mem;
        s->cap = (uint32_t)cap;
        s->lv = dst;
    } else if (s->mem) {
        sob_level *dst = s->mem + centred(s->cap, k);
        if (k) memmove(dst, lv, k * sizeof *lv);
        s->lv = dst;
    } else { /* k == 0 and nothing was ever allocated */
        s->lv = NULL;
    }
    s->len = (uint32_t)k;
    return old;
}

sob_status sob_book_assign(sob_book *b, const sob_level *bids, size_t nb, const sob_level *asks, size_t na) {
    if (nb && na && sob_price_cmp(bids[nb - 1].n, bids[nb - 1].d, asks[na - 1].n, asks[na - 1].d) > 0)
        return SOB_E_CROSSED;
    sob_level *mb, *ma;
    size_t cb, ca;
    sob_status st = side_block_for(&b->side[SOB_SIDE_BID], nb, &mb, &cb);
    if (st) return st;
    st = side_block_for(&b->side[SOB_SIDE_ASK], na, &ma, &ca);
    if (st) {
        free(mb);
        return st;
    }
    /* An in-place move of one side cannot clobber the other's levels (separate blocks), but a
     * block given up is freed only after both sides have been copied. */
    sob_level *old_b = side_assign(&b->side[SOB_SIDE_BID], mb, cb, bids, nb);
    sob_level *old_a = side_assign(&b->side[SOB_SIDE_ASK], ma, ca, asks, na);
    free(old_b);
    free(old_a);
    return SOB_OK;
}

sob_status sob_book_copy(sob_book *dst, const sob_book *src) {
    if (dst == src) return SOB_OK;
    const sob_side *b = &src->side[SOB_SIDE_BID], *a = &src->side[SOB_SIDE_ASK];
    return sob_book_assign(dst, b->lv, b->len, a->lv, a->len);
}

static sob_status changes_push(sob_changes *out, int side, int32_t n, int32_t d, uint64_t old_amount, uint64_t new_amount) {
    if (out->len == out->cap) {
        size_t cap = out->cap ? out->cap * 2 : 64;
        sob_level_change *v = realloc(out->v, cap * sizeof *v);
        if (!v) return SOB_E_NOMEM;
        out->v = v;
        out->cap = cap;
    }
    sob_level_change *c = &out->v[out->len++];
    c->side = side;
    c->n = n;
    c->d = d;
    c->old_amount = old_amount;
    c->new_amount = new_amount;
    return SOB_OK;
}

sob_status sob_side_diff(const sob_book *b, int side, const sob_level *next, size_t k, sob_changes *out) {
    const sob_side *s = &b->side[side];
    /* Walk both sides from the best level down, so changes come out best first. */
    size_t i = s->len, j = k;
    sob_status st = SOB_OK;
    while (!st && (i || j)) {
        const sob_level *o = i ? &s->lv[i - 1] : NULL, *x = j ? &next[j - 1] : NULL;
        int c = !o ? -1 : !x ? 1 : good_cmp(side, o->n, o->d, x->n, x->d);
        if (c == 0) {
            if (o->amount != x->amount) st = changes_push(out, side, x->n, x->d, o->amount, x->amount);
            i--;
            j--;
        } else if (c > 0) { /* old level is better than anything left in next: removed */
            st = changes_push(out, side, o->n, o->d, o->amount, 0);
            i--;
        } else {
            st = changes_push(out, side, x->n, x->d, 0, x->amount);
            j--;
        }
    }
    return st;
}

size_t sob_book_copy_best(const sob_book *b, int side, size_t depth, sob_level *out) {
    const sob_side *s = &b->side[side];
    size_t k = depth < s->len ? depth : s->len;
    for (size_t i = 0; i < k; i++) out[i] = s->lv[s->len - 1 - i];
    return k;
}

/* Buying base from the asks: each ask level sells `amount` base at n/d counter per base. The
 * taker takes t = min(left, amount) and pays ceil(t*n/d) counter: rounding favours the resting
 * offers, as stellar-core does for the offer that stays. */
sob_status sob_book_quote_buy(const sob_book *b, uint64_t base_amount, sob_quote *q) {
    const sob_side *s = &b->side[SOB_SIDE_ASK];
    memset(q, 0, sizeof *q);
    uint64_t left = base_amount;
    for (uint32_t i = s->len; i > 0 && left; i--) {
        const sob_level *l = &s->lv[i - 1];
        uint64_t t = left < l->amount ? left : l->amount;
        sob_u128 num = (sob_u128)t * (uint32_t)l->n;
        q->counter += (num + (uint32_t)l->d - 1) / (uint32_t)l->d;
        q->base += t;
        left -= t;
        q->levels++;
        q->worst_n = l->n;
        q->worst_d = l->d;
    }
    q->complete = left == 0;
    return SOB_OK;
}

/* Selling base into the bids: each bid level offers `amount` counter at n/d counter per base.
 * If the level can absorb all that is left (left*n <= amount*d) the taker receives
 * floor(left*n/d); otherwise it takes the whole level and gives ceil(amount*d/n) base for it.
 * Both roundings favour the resting offers. */
sob_status sob_book_quote_sell(const sob_book *b, uint64_t base_amount, sob_quote *q) {
    const sob_side *s = &b->side[SOB_SIDE_BID];
    memset(q, 0, sizeof *q);
    uint64_t left = base_amount;
    for (uint32_t i = s->len; i > 0 && left; i--) {
        const sob_level *l = &s->lv[i - 1];
        sob_u128 want = (sob_u128)left * (uint32_t)l->n;
        sob_u128 have = (sob_u128)l->amount * (uint32_t)l->d;
        if (want <= have) {
            q->counter += want / (uint32_t)l->d;
            q->base += left;
            left = 0;
        } else {
            uint64_t used = (uint64_t)((have + (uint32_t)l->n - 1) / (uint32_t)l->n);
            q->counter += l->amount;
            q->base += used;
            left -= used;
        }
        q->levels++;
        q->worst_n = l->n;
        q->worst_d = l->d;
    }
    q->complete = left == 0;
    return SOB_OK;
}

sob_status sob_book_check(const sob_book *b) {
    for (int side = 0; side < 2; side++) {
        const sob_side *s = &b->side[side];
        if (s->len > s->cap || s->cap > SIDE_MAX) return SOB_E_INVALID;
        if (!s->mem) {
            if (s->cap || s->len || s->lv) return SOB_E_INVALID;
        } else if (s->lv < s->mem || (size_t)(s->lv - s->mem) > (size_t)(s->cap - s->len)) {
            return SOB_E_INVALID; /* the run lies inside the block */
        }
        for (uint32_t i = 0; i < s->len; i++) {
            const sob_level *l = &s->lv[i];
            if (l->n <= 0 || l->d <= 0 || l->amount == 0) return SOB_E_INVALID;
            if (i && good_cmp(side, s->lv[i - 1].n, s->lv[i - 1].d, l->n, l->d) >= 0) return SOB_E_INVALID;
        }
    }
    return book_crossed(b) ? SOB_E_CROSSED : SOB_OK;
}
