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
    free(b->side[0].lv);
    free(b->side[1].lv);
    memset(b, 0, sizeof *b);
}

void sob_changes_init(sob_changes *c) { memset(c, 0, sizeof *c); }

void sob_changes_free(sob_changes *c) {
    free(c->v);
    memset(c, 0, sizeof *c);
}

static sob_status side_reserve(sob_side *s, size_t need) {
    if (need <= s->cap) return SOB_OK;
    if (need > UINT32_MAX / 2) return SOB_E_NOMEM;
    size_t cap = s->cap ? s->cap : 8;
    while (cap < need) cap *= 2;
    sob_level *lv = realloc(s->lv, cap * sizeof *lv);
    if (!lv) return SOB_E_NOMEM;
    s->lv = lv;
    s->cap = (uint32_t)cap;
    return SOB_OK;
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

sob_status sob_book_set_level(sob_book *b, int side, int32_t n, int32_t d, uint64_t amount, sob_level *prev) {
    if ((side != SOB_SIDE_BID && side != SOB_SIDE_ASK) || n <= 0 || d <= 0) return SOB_E_INVALID;
    sob_side *s = &b->side[side];
    uint32_t i = lower_bound(s, side, n, d);
    if (i < s->len && sob_price_cmp(s->lv[i].n, s->lv[i].d, n, d) == 0) {
        if (prev) *prev = s->lv[i];
        if (amount) {
            s->lv[i].amount = amount; /* the level keeps the n/d it was first given */
        } else {
            memmove(s->lv + i, s->lv + i + 1, (size_t)(s->len - i - 1) * sizeof *s->lv);
            s->len--;
        }
        return SOB_OK;
    }
    if (prev) {
        prev->n = n;
        prev->d = d;
        prev->amount = 0;
    }
    if (!amount) return SOB_OK;
    sob_status st = side_reserve(s, (size_t)s->len + 1);
    if (st) return st;
    memmove(s->lv + i + 1, s->lv + i, (size_t)(s->len - i) * sizeof *s->lv);
    s->lv[i].n = n;
    s->lv[i].d = d;
    s->lv[i].amount = amount;
    s->len++;
    return SOB_OK;
}

/* Best bid == best ask is a legal Stellar book: a passive offer rests at the opposite side's
 * price (core crosses a passive offer only against a strictly better price), so only a bid above
 * the ask is impossible. */
int sob_book_crossed(const sob_book *b) {
    const sob_side *bid = &b->side[SOB_SIDE_BID], *ask = &b->side[SOB_SIDE_ASK];
    if (!bid->len || !ask->len) return 0;
    const sob_level *bb = &bid->lv[bid->len - 1], *ba = &ask->lv[ask->len - 1];
    return sob_price_cmp(bb->n, bb->d, ba->n, ba->d) > 0;
}

sob_status sob_book_set_level_checked(sob_book *b, int side, int32_t n, int32_t d, uint64_t amount, sob_level *prev) {
    sob_level old;
    sob_status st = sob_book_set_level(b, side, n, d, amount, &old);
    if (st) return st;
    if (sob_book_crossed(b)) {
        /* Only a new level can cross a book that was not crossed: removing it restores it. */
        sob_book_set_level(b, side, old.n, old.d, old.amount, NULL);
        return SOB_E_CROSSED;
    }
    if (prev) *prev = old;
    return SOB_OK;
}

sob_status sob_book_apply_batch(sob_book *b, const sob_set *c, size_t k, sob_level *undo, size_t *bad_index) {
    for (size_t i = 0; i < k; i++) {
        if ((c[i].side != SOB_SIDE_BID && c[i].side != SOB_SIDE_ASK) || c[i].n <= 0 || c[i].d <= 0) {
            if (bad_index) *bad_index = i;
            return SOB_E_INVALID;
        }
    }
    size_t done = 0;
    sob_status st = SOB_OK;
    for (; done < k; done++) {
        st = sob_book_set_level(b, c[done].side, c[done].n, c[done].d, c[done].amount, &undo[done]);
        if (st) break;
    }
    if (!st && sob_book_crossed(b)) st = SOB_E_CROSSED;
    if (st) {
        /* Undo in reverse. Removals never shrink capacity, so re-inserting cannot fail. */
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
    int best_first = 1;
    for (size_t i = 0; i < k; i++) {
        if (v[i].n <= 0 || v[i].d <= 0) {
            if (bad_index) *bad_index = i;
            return SOB_E_INVALID;
        }
        if (i && good_cmp(side, v[i - 1].n, v[i - 1].d, v[i].n, v[i].d) <= 0) best_first = 0;
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
        for (size_t i = 0; i < k; i++)
            if (v[i].amount) v[out++] = v[i];
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

static sob_status side_assign(sob_side *s, const sob_level *lv, size_t k) {
    if (k) memcpy(s->lv, lv, k * sizeof *lv);
    s->len = (uint32_t)k;
    /* Give memory back when a book shrinks a lot (1,000 books must stay small). */
    if (s->cap > 64 && s->cap > 4 * k) {
        size_t cap = k < 8 ? 8 : k + k / 4;
        sob_level *p = realloc(s->lv, cap * sizeof *p);
        if (p) {
            s->lv = p;
            s->cap = (uint32_t)cap;
        }
    }
    return SOB_OK;
}

sob_status sob_book_assign(sob_book *b, const sob_level *bids, size_t nb, const sob_level *asks, size_t na) {
    if (nb && na && sob_price_cmp(bids[nb - 1].n, bids[nb - 1].d, asks[na - 1].n, asks[na - 1].d) > 0)
        return SOB_E_CROSSED;
    sob_status st = side_reserve(&b->side[SOB_SIDE_BID], nb);
    if (!st) st = side_reserve(&b->side[SOB_SIDE_ASK], na);
    if (st) return st;
    side_assign(&b->side[SOB_SIDE_BID], bids, nb);
    side_assign(&b->side[SOB_SIDE_ASK], asks, na);
    return SOB_OK;
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
        if (s->len > s->cap || (s->len && !s->lv)) return SOB_E_INVALID;
        for (uint32_t i = 0; i < s->len; i++) {
            const sob_level *l = &s->lv[i];
            if (l->n <= 0 || l->d <= 0 || l->amount == 0) return SOB_E_INVALID;
            if (i && good_cmp(side, s->lv[i - 1].n, s->lv[i - 1].d, l->n, l->d) >= 0) return SOB_E_INVALID;
        }
    }
    return sob_book_crossed(b) ? SOB_E_CROSSED : SOB_OK;
}
