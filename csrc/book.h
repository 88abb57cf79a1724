/* book.h: the aggregated (L2) order book of one market, as packed integers.
 *
 * Each side is one contiguous array of sob_level kept sorted WORST FIRST, so the best level is the
 * last element: most activity is near the top of the book, and inserting or removing there moves
 * only the few levels above it. Prices are exact rationals compared by cross-multiplication; a
 * level is keyed by the value of n/d (2/4 and 1/2 are the same level) and keeps the n/d it was
 * first given. Units follow Horizon's /order_book: bid amounts are counter, ask amounts are base,
 * and both sides quote counter per base.
 *
 * Deep books (issue 18: the ledger delivers whole books, no 200-level cap). The array has free
 * slots at BOTH ends (`lv` points into the allocation `mem`), so an insert or removal moves the
 * shorter part: the levels below it (toward the worst end) or above it (toward the best end).
 * A batch (sob_book_apply_batch) on a deep side is planned first and applied in ONE pass: every
 * change is located in the side as it was, the net shift of each run of untouched levels is
 * known, and each level moves at most once (runs whose shift is zero do not move at all). The
 * crossing check is made on the plan, so a refused batch never touches the book.
 *
 * Why one dense run and not chunks or a B+tree: the Python bindings (and every reader of this
 * header) use `lv`/`len` directly: `lv[len - 1]` is the O(1) best level and `lv[0..len)` is what
 * a copy hands to sob_book_assign. Keeping that contract rules out any layout whose levels are
 * not one sorted run in memory.
 */
#ifndef SOB_BOOK_H
#define SOB_BOOK_H

#include "sob_common.h"

typedef struct sob_side {
    sob_level *lv;  /* the levels, sorted worst first; lv[len-1] is the best. Points into mem. */
    uint32_t len;
    uint32_t cap;   /* levels allocated at mem (free slots: lv - mem before, the rest after) */
    sob_level *mem; /* owned allocation (NULL while cap is 0) */
} sob_side;

typedef struct sob_book {
    sob_side side[2]; /* [SOB_SIDE_BID], [SOB_SIDE_ASK] */
} sob_book;

/* A change to one level: what it was and what it became (0 = absent). */
typedef struct sob_level_change {
    int32_t side;
    int32_t n;
    int32_t d;
    uint64_t old_amount;
    uint64_t new_amount;
} sob_level_change;

typedef struct sob_changes {
    sob_level_change *v; /* owned, growable, reused across calls */
    size_t len;
    size_t cap;
} sob_changes;

/* One requested change of a batch (apply_diff). */
typedef struct sob_set {
    int32_t side;
    int32_t n;
    int32_t d;
    uint64_t amount; /* 0 removes the level */
} sob_set;

/* Result of walking one side of the book for a taker. */
typedef struct sob_quote {
    uint64_t base;        /* base filled (bought for quote_buy, sold for quote_sell) */
    sob_u128 counter;     /* counter paid (buy) or received (sell) */
    uint32_t levels;      /* levels touched */
    int32_t worst_n;      /* price of the last level touched (0/0 if none) */
    int32_t worst_d;
    int complete;         /* 1 if the whole base amount was filled */
} sob_quote;

void sob_book_init(sob_book *b);
void sob_book_free(sob_book *b);

/* Set one level's amount (0 removes it). `prev` (may be NULL) receives the level as it was
 * (stored n/d and amount; amount 0 if it was absent). Does not check crossing. */
sob_status sob_book_set_level(sob_book *b, int side, int32_t n, int32_t d, uint64_t amount, sob_level *prev);

/* Set one level, refusing (and undoing) a change that leaves the book crossed. */
sob_status sob_book_set_level_checked(sob_book *b, int side, int32_t n, int32_t d, uint64_t amount, sob_level *prev);

/* Apply a batch atomically: every change is validated first, then applied; if the result is
 * crossed (or memory runs out) every change is undone. `undo` is scratch of at least k levels. */
sob_status sob_book_apply_batch(sob_book *b, const sob_set *c, size_t k, sob_level *undo, size_t *bad_index);

/* 1 if best bid > best ask (equal is legal: a passive offer rests at the other side's price). */
int sob_book_crossed(const sob_book *b);

/* Turn k levels of one side, in any order, into a normalised side in place: validated, sorted
 * worst first, equal prices summed (SOB_E_OVERFLOW past UINT64_MAX), zero amounts dropped.
 * Input already strictly sorted, worst first (nothing moves) or best first (Horizon's order:
 * reversed), takes a linear fast path. */
sob_status sob_levels_normalize(sob_level *v, size_t k, int side, size_t *out_len, size_t *bad_index);

/* Replace the whole book with two normalised sides (worst first). Checks crossing and reserves
 * memory before touching anything: on error the book is as it was. */
sob_status sob_book_assign(sob_book *b, const sob_level *bids, size_t nb, const sob_level *asks, size_t na);

/* Append to `out` the changes that turn side `side` of the book into `next` (normalised). */
sob_status sob_side_diff(const sob_book *b, int side, const sob_level *next, size_t k, sob_changes *out);

/* Reads that do not depend on the layout. The bindings read `lv`/`len` directly today, which
 * pins each side to one sorted run (see the top of this file); code that uses these instead
 * keeps working whatever the side becomes. `side` must be SOB_SIDE_BID or SOB_SIDE_ASK. */
static inline uint32_t sob_book_len(const sob_book *b, int side) { return b->side[side].len; }

/* The best level of a side, or NULL if it is empty. O(1). Valid until the book changes. */
static inline const sob_level *sob_book_best(const sob_book *b, int side) {
    const sob_side *s = &b->side[side];
    return s->len ? &s->lv[s->len - 1] : NULL;
}

/* Make dst a copy of src (src unchanged; dst as it was on error). dst == src is a no-op. */
sob_status sob_book_copy(sob_book *dst, const sob_book *src);

/* Copy the best `depth` levels of a side into out, best first. Returns the count copied. */
size_t sob_book_copy_best(const sob_book *b, int side, size_t depth, sob_level *out);

/* Walk the asks to buy `base_amount` of base, or the bids to sell it. Per level the counter
 * amount is rounded in favour of the resting offers (ceil when the taker pays, floor when it
 * receives); see the function comments for the exact rules. */
sob_status sob_book_quote_buy(const sob_book *b, uint64_t base_amount, sob_quote *q);
sob_status sob_book_quote_sell(const sob_book *b, uint64_t base_amount, sob_quote *q);

/* Every invariant: valid prices, strictly sorted, no zero amounts, not crossed, the run of len
 * levels inside its block of cap (no block while cap is 0). O(len). */
sob_status sob_book_check(const sob_book *b);

void sob_changes_init(sob_changes *c);
void sob_changes_free(sob_changes *c);

/* The 128-bit counter total as two halves, for bindings that cannot name __int128. */
static inline uint64_t sob_quote_counter_hi(const sob_quote *q) { return (uint64_t)(q->counter >> 64); }
static inline uint64_t sob_quote_counter_lo(const sob_quote *q) { return (uint64_t)q->counter; }

#endif
