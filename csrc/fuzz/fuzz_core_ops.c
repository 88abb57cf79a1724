/* fuzz_core_ops.c: libFuzzer harness for the book, execution and DEX-operation APIs of the C core.
 *
 * The input is read as a program of operations on one L2 book and one per-offer book (set_level,
 * batches, snapshots, diffs, quotes, copies of any depth; add/update/remove/fill offers with ids
 * from the whole int64 range, sellers that come and go, simulate with max_offers up to 2^63 and
 * apply, fills tampered with before they are applied; the raw exchange and pool functions) with
 * arbitrary, hostile arguments. After each operation every invariant must hold, each call must
 * return a defined status, a refused change must leave the book as it was, and memory must stay
 * bounded by what the books hold at their peak (the seller handles, the id hash, the chunk lists
 * and the level arrays). Every buffer handed to the core is sized exactly by what the core
 * promises to write (a copy of depth 2^63 gets room for the side's length only), so ASan sees
 * any overrun. The core never crashes.
 *
 * The L2 book is also checked against the reference of csrc/tests/book_ref.h (the flat layout,
 * one change at a time): every set_level, batch, snapshot and copy must give the same status,
 * prev/undo entries and levels. Snapshots can be deep ladders (up to 16,384 levels a side, made
 * from a few bytes), batch changes can pick existing levels by index, and a batch can hold up
 * to 1,100 generated changes, so the planned batch path of deep sides (book.c) is reached with
 * bounded memory.
 *
 * The DEX operations of dex.h (issue 12) run on the same program: a second book, two pools and an
 * accounts table filled with hostile values (refused ones must leave it as it was), manage offers,
 * path payments of up to 9 assets (7 allowed) and single hops under any context (protocol 0..40,
 * budgets of any sign, any flags). A simulation must change nothing it reads; its result must be
 * self-consistent (claims inside the hops, each hop's claims summing to its amounts, a success's
 * claims being the hops'); and a success is applied back (table, books through
 * sob_offerbook_apply_fills, pools), after which every invariant must still hold, so programs
 * evolve their world the way a ledger does. The walk's exchangeV10 (sob_xv10_fast, which omits
 * the checks core proves unreachable) must equal the checked one on arbitrary inputs. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../tests/book_ref.h"
#include "book.h"
#include "dex.h"
#include "exchange.h"
#include "exchange_inline.h"
#include "offerbook.h"

typedef struct reader {
    const uint8_t *p;
    size_t left;
} reader;

static uint64_t take(reader *r, size_t bytes) {
    uint64_t v = 0;
    for (size_t i = 0; i < bytes; i++) {
        v <<= 8;
        if (r->left) {
            v |= *r->p++;
            r->left--;
        }
    }
    return v;
}

/* Mostly small prices (so levels collide and merge), sometimes anything at all. */
static int32_t price_part(reader *r) {
    uint8_t mode = (uint8_t)take(r, 1);
    if (mode < 200) return (int32_t)(mode % 13) + 1;
    return (int32_t)(uint32_t)take(r, 4);
}

static uint64_t amount(reader *r) {
    uint8_t mode = (uint8_t)take(r, 1);
    if (mode < 64) return 0;
    if (mode < 200) return take(r, 2);
    return take(r, 8);
}

/* Offer ids: mostly a few small ones (so offers collide), sometimes any int64 at all, negatives
 * (-1 is the id hash's empty-slot marker) and the synthetic range above 2^62 included. */
static int64_t offer_id(reader *r) {
    uint8_t mode = (uint8_t)take(r, 1);
    if (mode < 200) return (int64_t)(mode % 40);
    if (mode < 215) return -1 - (int64_t)(mode % 3);
    if (mode < 230) return (INT64_C(1) << 62) + (int64_t)(mode % 5);
    return (int64_t)take(r, 8);
}

/* Counts (max_offers, depths, copy starts): small, or anything up to 2^63 and SIZE_MAX. */
static size_t count(reader *r) {
    uint8_t mode = (uint8_t)take(r, 1);
    if (mode < 160) return mode % 24;
    if (mode < 200) return (size_t)take(r, 2);
    if (mode < 230) return (size_t)(take(r, 8) & (((uint64_t)1 << 63) - 1));
    if (mode < 245) return ((size_t)1 << 59) + (mode & 3); /* max_offers * 32 wraps here */
    return SIZE_MAX - (mode & 3);
}

#define DIE() __builtin_trap()
#define HANDLES 8

static size_t min_size(size_t a, size_t b) { return a < b ? a : b; }

/* A cheap fingerprint of the per-offer book: equal before and after a refused change. */
static uint64_t fingerprint(const sob_offerbook *b) {
    uint64_t h = 1469598103934665603ULL;
    for (int side = 0; side < 2; side++) {
        const sob_offer_side *s = &b->side[side];
        for (size_t ci = 0; ci < s->nc; ci++)
            for (uint32_t i = 0; i < s->c[ci]->len; i++) {
                const sob_offer *o = &s->c[ci]->e[i];
                h = (h ^ (uint64_t)o->id) * 1099511628211ULL;
                h = (h ^ (uint64_t)o->amount) * 1099511628211ULL;
                h = (h ^ o->seller) * 1099511628211ULL;
                h = (h ^ (uint64_t)(uint32_t)o->n ^ ((uint64_t)(uint32_t)o->d << 32)) * 1099511628211ULL;
            }
        h ^= s->count;
    }
    return h;
}

/* ---- L2 book: deep ladders and the reference ---------------------------------------------- */

#define DEEP_MAX 16384

/* A price on `side`: an existing level picked by index (sometimes respelled: 2/4 for 1/2), or
 * price_part's. */
static void book_price(reader *r, const ref_book *ref, int side, int32_t *n, int32_t *d) {
    uint8_t how = (uint8_t)take(r, 1);
    const ref_side *s = (side == SOB_SIDE_BID || side == SOB_SIDE_ASK) ? &ref->side[side] : NULL;
    if (how < 110 && s && s->len) {
        const sob_level *l = &s->v[take(r, 2) % s->len];
        int64_t m = 1 + how % 3;
        *n = l->n;
        *d = l->d;
        if ((int64_t)l->n * m <= INT32_MAX && (int64_t)l->d * m <= INT32_MAX) {
            *n = (int32_t)(l->n * m);
            *d = (int32_t)(l->d * m);
        }
        return;
    }
    *n = price_part(r);
    *d = price_part(r);
}

/* A ladder snapshot: up to DEEP_MAX levels a side, n/D with the bids' numerators below the
 * split and the asks' from it up, in steps of 1..4, from a few bytes. Applied to the book and
 * the reference alike; the statuses must agree. */
static void deep_snapshot(reader *r, sob_book *book, ref_book *ref, sob_changes *ch) {
    uint8_t size_mode = (uint8_t)take(r, 1);
    size_t nb = size_mode < 128 ? take(r, 2) % 1100 : take(r, 2) % (DEEP_MAX + 1);
    size_t na = size_mode & 1 ? take(r, 2) % (DEEP_MAX + 1) : take(r, 1) % 4;
    if (size_mode & 2) { /* the deep side may be either */
        size_t t = nb;
        nb = na;
        na = t;
    }
    int32_t dd = 1 + (int32_t)(take(r, 2) % 4096), step = 1 + (int32_t)(take(r, 1) % 4);
    int64_t split = 1 + (int64_t)take(r, 3) % 200000 + (int64_t)nb * step;
    uint64_t amount_seed = take(r, 8) | 1;
    sob_level *bids = malloc((nb ? nb : 1) * sizeof *bids), *asks = malloc((na ? na : 1) * sizeof *asks);
    if (!bids || !asks) DIE();
    for (size_t i = 0; i < nb; i++) { /* best first */
        amount_seed = amount_seed * 6364136223846793005ULL + 1442695040888963407ULL;
        bids[i] = (sob_level){(int32_t)(split - 1 - (int64_t)i * step), dd, amount_seed >> (amount_seed & 63)};
    }
    for (size_t i = 0; i < na; i++) {
        amount_seed = amount_seed * 6364136223846793005ULL + 1442695040888963407ULL;
        int64_t n = split + (int64_t)i * step;
        asks[i] = (sob_level){(int32_t)(n > INT32_MAX ? INT32_MAX : n), dd, amount_seed >> (amount_seed & 63)};
    }
    size_t bad;
    if (sob_levels_normalize(bids, nb, SOB_SIDE_BID, &nb, &bad) == SOB_OK &&
        sob_levels_normalize(asks, na, SOB_SIDE_ASK, &na, &bad) == SOB_OK) {
        ch->len = 0;
        if (sob_side_diff(book, SOB_SIDE_BID, bids, nb, ch) != SOB_OK) DIE();
        if (sob_side_diff(book, SOB_SIDE_ASK, asks, na, ch) != SOB_OK) DIE();
        if (sob_book_assign(book, bids, nb, asks, na) != ref_assign(ref, bids, nb, asks, na)) DIE();
    }
    free(bids);
    free(asks);
}

/* A batch of up to 1,100 changes from a few bytes (the input is too short to spell them one by
 * one): existing levels picked by index, new prices crowded next to one price (many changes at
 * one position), amounts and removals from a generator; sometimes a change at the other side's
 * best (touching or crossing). Compared with the reference like any batch. */
#define BIG_BATCH 1100
static void big_batch(reader *r, sob_book *book, ref_book *ref) {
    static sob_set c[BIG_BATCH];
    static sob_level undo[BIG_BATCH], undo_ref[BIG_BATCH];
    size_t k = take(r, 2) % (BIG_BATCH + 1);
    uint8_t sides = (uint8_t)take(r, 1);
    int32_t bn, bd;
    book_price(r, ref, sides & 1, &bn, &bd);
    uint64_t g = take(r, 8) | 1;
    for (size_t i = 0; i < k; i++) {
        g = g * 6364136223846793005ULL + 1442695040888963407ULL;
        uint32_t x = (uint32_t)(g >> 33);
        int side = (sides & 6) == 0 ? (sides & 1) : (sides & 6) == 2 ? (int)(i & 1) : (int)(x & 1);
        const ref_side *s = &ref->side[side], *o = &ref->side[!side];
        uint32_t kind = (x >> 1) % 100;
        int64_t n, d;
        if (kind < 50 && s->len) {
            const sob_level *l = &s->v[(x >> 8) % s->len];
            int64_t m = 1 + (x >> 4) % 2;
            n = l->n * m <= INT32_MAX && l->d * m <= INT32_MAX ? l->n * m : l->n;
            d = n == l->n ? l->d : l->d * m;
        } else if (kind < 80) { /* crowded: bn/bd nudged by a few units of 1/(8 bd) */
            n = (int64_t)bn * 8 + (int64_t)((x >> 8) % 5) - 2;
            d = (int64_t)bd * 8;
        } else if (kind < 98 || !o->len) {
            n = 1 + (x >> 8) % 13;
            d = 1 + (x >> 12) % 13;
        } else {
            n = o->v[o->len - 1].n;
            d = o->v[o->len - 1].d;
            if ((x >> 8) & 1 && n < INT32_MAX) n += side == SOB_SIDE_BID ? 1 : -1;
        }
        if (n < 1 || n > INT32_MAX || d < 1 || d > INT32_MAX) n = d = 1;
        c[i] = (sob_set){side, (int32_t)n, (int32_t)d, (x >> 20) % 10 < 3 ? 0 : (g >> (g & 31))};
    }
    size_t bad = 0, bad_ref = 0;
    sob_status s1 = sob_book_apply_batch(book, c, k, undo, &bad);
    if (s1 != ref_apply_batch(ref, c, k, undo_ref, &bad_ref)) DIE();
    if (s1 != SOB_OK && bad != bad_ref) DIE();
    if (s1 == SOB_OK && k && memcmp(undo, undo_ref, k * sizeof *undo) != 0) DIE();
}

/* A fingerprint of the accounts table (equal before and after a refused change or a simulation). */
static uint64_t table_fingerprint(const sob_accounts *t) {
    uint64_t h = 1469598103934665603ULL;
    const sob_hmap *maps[4] = {&t->accounts, &t->trustlines, &t->issuers, &t->sponsors};
    for (int m = 0; m < 4; m++) {
        for (size_t i = 0; maps[m]->slots && i <= maps[m]->mask; i++) {
            uint64_t k1, k2;
            const unsigned char *v = sob_hmap_at(maps[m], i, &k1, &k2);
            if (!v) continue;
            uint64_t e = k1 * 31 + k2;
            for (size_t j = 0; j < maps[m]->value_size; j++) e = (e ^ v[j]) * 1099511628211ULL;
            h += e; /* order-free: the same entries give the same sum, wherever they sit */
        }
        h = (h ^ maps[m]->used) * 1099511628211ULL;
    }
    return h;
}

static int64_t any_i64(reader *r) {
    uint8_t mode = (uint8_t)take(r, 1);
    if (mode < 100) return (int64_t)take(r, 2);
    if (mode < 160) return (int64_t)take(r, 8) & INT64_MAX;
    if (mode < 200) return INT64_MAX - (int64_t)take(r, 1);
    if (mode < 230) return -(int64_t)take(r, 1) - 1;
    return (int64_t)take(r, 8);
}

static uint64_t account_key(reader *r) { return take(r, 1) % 9; } /* 0 (none) and 8 accounts */
static uint32_t asset_id(reader *r) { return (uint32_t)(take(r, 1) % 6); } /* native and 5 credits */

/* What a DEX simulation may write at most: one claim per offer of the venues' sides, and a pool
 * claim per hop; at most 6 hops. */
static void check_dex_result(const sob_op_result *r, size_t offers_bound) {
    if (sob_result_name(r->code)[0] == 0) DIE();
    if (r->code == SOB_R_CORE_WOULD_THROW && (r->thrown <= SOB_THROW_NONE || r->thrown >= SOB_THROW_COUNT)) DIE();
    if (r->code != SOB_R_CORE_WOULD_THROW && r->thrown != SOB_THROW_NONE) DIE();
    if (r->nhops > SOB_MAX_HOPS || r->nhop_claims > offers_bound + SOB_MAX_HOPS) DIE();
    if (r->code == SOB_R_CORE_WOULD_THROW) return;
    for (size_t i = 0; i < r->nhops; i++) {
        const sob_hop *h = &r->hops[i];
        if (h->claims_start > r->nhop_claims || h->claims_count > r->nhop_claims - h->claims_start) DIE();
        if (h->amount_send < 0 || h->amount_recv < 0 || h->budget_after > h->budget_before) DIE();
        sob_i128 sold = 0, bought = 0;
        for (uint64_t k = 0; k < h->claims_count; k++) {
            const sob_claim *c = &r->hop_claims[h->claims_start + k];
            if (c->amount_sold < 0 || c->amount_bought < 0 || c->asset_sold != h->recv_asset ||
                c->asset_bought != h->send_asset)
                DIE();
            sold += c->amount_sold;
            bought += c->amount_bought;
        }
        if (h->venue != SOB_VENUE_NONE && (sold != h->amount_recv || bought != h->amount_send)) DIE();
        if (h->venue == SOB_VENUE_NONE && h->claims_count != 0) DIE();
        /* the book walk's claims, chosen or rolled back, add up to what the walk gave */
        const sob_claim *wc = h->book_rolled_back ? r->walk_claims : r->hop_claims;
        size_t nwc = h->book_rolled_back ? r->nwalk_claims : r->nhop_claims;
        if (h->book_claims_start > nwc || h->book_claims_count > nwc - h->book_claims_start) DIE();
        if (h->book_claims_count != h->book_offers) DIE();
        sob_i128 wsold = 0, wbought = 0;
        for (uint64_t k = 0; k < h->book_claims_count; k++) {
            wsold += wc[h->book_claims_start + k].amount_sold;
            wbought += wc[h->book_claims_start + k].amount_bought;
        }
        if (wsold != h->book_recv || wbought != h->book_send) DIE();
    }
    if (r->nwalk_claims > offers_bound) DIE();
    if (sob_result_success(r->code)) {
        if (!r->amounts_known || r->nclaims != r->nhop_claims || r->sent < 0 || r->received < 0) DIE();
    } else if (r->nclaims != 0 || r->naccounts || r->ntrustlines || r->noffers || r->npools) {
        DIE(); /* a failure changes nothing */
    }
}

/* Apply a successful result the way a ledger would: the table, each book through
 * sob_offerbook_apply_fills, the pools. Every step must succeed. */
static void apply_dex_result(const sob_op_result *r, sob_accounts *tab, sob_offerbook **books, int nbooks) {
    if (!sob_result_success(r->code)) return;
    if (sob_accounts_apply_result(tab, r) != SOB_OK) DIE();
    for (int b = 0; b < nbooks; b++) {
        size_t k = 0;
        for (size_t i = 0; i < r->noffers; i++)
            if (r->offers[i].book == books[b]) k++;
        if (!k) continue;
        sob_fill *f = malloc(k * sizeof *f);
        if (!f) DIE();
        k = 0;
        for (size_t i = 0; i < r->noffers; i++)
            if (r->offers[i].book == books[b]) {
                sob_offer o;
                int side;
                if (sob_offerbook_get(books[b], r->offers[i].offer_id, &o, &side) != SOB_OK) DIE();
                if (side != r->offers[i].side || r->offers[i].amount < 0 || r->offers[i].amount > o.amount) DIE();
                f[k++] = (sob_fill){r->offers[i].offer_id, 0, 0, r->offers[i].amount};
            }
        if (sob_offerbook_apply_fills(books[b], f, k) != SOB_OK) DIE();
        free(f);
    }
    for (size_t i = 0; i < r->npools; i++) {
        sob_pool *p = (sob_pool *)r->pools[i].pool;
        if (r->pools[i].reserve_a < 0 || r->pools[i].reserve_b < 0) DIE();
        p->reserve_a = r->pools[i].reserve_a;
        p->reserve_b = r->pools[i].reserve_b;
    }
}

static sob_dex_ctx any_ctx(reader *r, const sob_accounts *tab) {
    sob_dex_ctx c;
    sob_dex_ctx_init(&c);
    uint8_t mode = (uint8_t)take(r, 1);
    c.protocol = mode < 200 ? 10 + mode % 19 : (uint32_t)take(r, 1) % 41;
    c.base_reserve = (take(r, 1) & 1) ? 5000000 : (uint32_t)take(r, 4);
    uint8_t b = (uint8_t)take(r, 1);
    c.max_offers_to_cross = b < 150 ? 1000 : b < 240 ? (int64_t)(b % 9) : any_i64(r);
    c.account_subentry_limit = (take(r, 1) & 3) ? 1000 : (uint32_t)take(r, 2);
    c.flags = (uint32_t)take(r, 1) & ((take(r, 1) & 7) ? 7u : 0xffu);
    c.id_pool = (take(r, 1) & 3) ? 0 : any_i64(r);
    c.accounts = (take(r, 1) & 3) ? tab : NULL;
    return c;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    reader r = {data, size};
    sob_book book;
    sob_offerbook ob;
    sob_changes ch;
    sob_book_init(&book);
    ref_book ref;
    ref_init(&ref);
    sob_offerbook_init(&ob);
    sob_changes_init(&ch);
    static sob_level lv[64], lv2[64], undo[32], undo_ref[32];
    static sob_set sets[32];
    uint64_t handle[HANDLES] = {0}; /* the harness's sellers: 0 = none yet */
    /* the DEX world: a second book, two pools, an accounts table, per-input scratch */
    sob_offerbook ob2;
    sob_offerbook_init(&ob2);
    uint64_t handle2[HANDLES] = {0};
    sob_accounts tab;
    sob_accounts_init(&tab);
    sob_pool pools[2] = {{1000000, 2000000, 30, 0}, {5000, 5000, 30, 0}};
    sob_dex_scratch *scratch = sob_dex_scratch_new();
    if (!scratch) DIE();
    sob_offerbook *books[2] = {&ob, &ob2};
    size_t peak_used2 = 0, peak_sponsors = 0;
    size_t peak_handles = 0, peak_used = 0, peak_len[2] = {0, 0}, peak_nc[2] = {0, 0};
    while (r.left) {
        uint8_t op = (uint8_t)take(&r, 1) % 24;
        int side = (int)take(&r, 1) % 3; /* 2 is an invalid side on purpose */
        switch (op) {
        case 0: {
            int32_t n, d;
            book_price(&r, &ref, side, &n, &d);
            uint64_t a = amount(&r);
            sob_level p1, p2;
            sob_status s1 = sob_book_set_level_checked(&book, side, n, d, a, &p1);
            if (s1 != ref_set_level_checked(&ref, side, n, d, a, &p2)) DIE();
            if (s1 == SOB_OK && memcmp(&p1, &p2, sizeof p1) != 0) DIE();
            break;
        }
        case 1: {
            if ((take(&r, 1) & 7) == 0) {
                big_batch(&r, &book, &ref);
                break;
            }
            size_t k = take(&r, 1) % 32;
            for (size_t i = 0; i < k; i++) {
                sets[i].side = (int32_t)take(&r, 1) % 3;
                book_price(&r, &ref, sets[i].side, &sets[i].n, &sets[i].d);
                sets[i].amount = amount(&r);
            }
            size_t bad = 0, bad_ref = 0;
            sob_status s1 = sob_book_apply_batch(&book, sets, k, undo, &bad);
            if (s1 != ref_apply_batch(&ref, sets, k, undo_ref, &bad_ref)) DIE();
            if (s1 != SOB_OK && bad != bad_ref) DIE();
            if (s1 == SOB_OK && k && memcmp(undo, undo_ref, k * sizeof *undo) != 0) DIE();
            break;
        }
        case 2: { /* snapshot: normalise both sides, assign; or a deep ladder */
            if ((take(&r, 1) & 3) == 0) {
                deep_snapshot(&r, &book, &ref, &ch);
                break;
            }
            size_t nb = take(&r, 1) % 64, na = take(&r, 1) % 64, bad;
            for (size_t i = 0; i < nb; i++) lv[i] = (sob_level){price_part(&r), price_part(&r), amount(&r)};
            for (size_t i = 0; i < na; i++) lv2[i] = (sob_level){price_part(&r), price_part(&r), amount(&r)};
            if (sob_levels_normalize(lv, nb, SOB_SIDE_BID, &nb, &bad) == SOB_OK &&
                sob_levels_normalize(lv2, na, SOB_SIDE_ASK, &na, &bad) == SOB_OK) {
                ch.len = 0;
                if (sob_side_diff(&book, SOB_SIDE_BID, lv, nb, &ch) != SOB_OK) DIE();
                if (sob_side_diff(&book, SOB_SIDE_ASK, lv2, na, &ch) != SOB_OK) DIE();
                sob_status st = sob_book_assign(&book, lv, nb, lv2, na);
                if (st != SOB_OK && st != SOB_E_CROSSED) DIE();
                if (st != ref_assign(&ref, lv, nb, lv2, na)) DIE();
                /* bid == ask is a legal book; only bid > ask is refused */
                if (st == SOB_E_CROSSED && !(nb && na && sob_price_cmp(lv[nb - 1].n, lv[nb - 1].d, lv2[na - 1].n,
                                                                          lv2[na - 1].d) > 0))
                    DIE();
            }
            break;
        }
        case 3: {
            sob_quote q;
            uint64_t a = amount(&r);
            sob_book_quote_buy(&book, a, &q);
            if (q.base > a || (q.complete && q.base != a)) DIE();
            sob_book_quote_sell(&book, a, &q);
            if (q.base > a || (q.complete && q.base != a)) DIE();
            /* a copy of any depth writes at most the side's length: the buffer holds no more */
            int s = side % 2;
            size_t len = book.side[s].len, depth = count(&r);
            sob_level *out = malloc((len ? len : 1) * sizeof *out);
            if (!out) DIE();
            size_t got = sob_book_copy_best(&book, s, depth, out);
            if (got != min_size(depth, len)) DIE();
            for (size_t i = 1; i < got; i++)
                if (sob_price_cmp(out[i - 1].n, out[i - 1].d, out[i].n, out[i].d) == (s == SOB_SIDE_BID ? -1 : 1)) DIE();
            for (size_t i = 0; i < got; i++) /* the reference's best levels, in order */
                if (memcmp(&out[i], &ref.side[s].v[ref.side[s].len - 1 - i], sizeof *out) != 0) DIE();
            free(out);
            break;
        }
        case 4: { /* add an offer, maybe with a seller: known, new, or a handle never handed out */
            uint8_t who = (uint8_t)take(&r, 1);
            int64_t id = offer_id(&r);
            int32_t n = price_part(&r), d = price_part(&r);
            int64_t a = (int64_t)amount(&r);
            uint64_t h = 0;
            int fresh = 0;
            if (who < 128) {
                h = 0;
            } else if (who < 200 && handle[who % HANDLES]) {
                h = handle[who % HANDLES];
            } else if (who < 240) {
                if (sob_offerbook_seller_new(&ob, &h) != SOB_OK) break;
                fresh = 1;
            } else {
                h = take(&r, 8); /* garbage handle: refused unless it happens to be live */
            }
            uint64_t before = fingerprint(&ob);
            sob_status st = sob_offerbook_add(&ob, id, side, n, d, a, h);
            if (id < 0 && st != SOB_E_INVALID) DIE();
            if (st != SOB_OK && fingerprint(&ob) != before) DIE();
            if (fresh) {
                if (st == SOB_OK)
                    handle[who % HANDLES] = h;
                else
                    sob_offerbook_seller_drop(&ob, h);
            }
            break;
        }
        case 5: {
            int64_t id = offer_id(&r);
            sob_status st = sob_offerbook_remove(&ob, id, NULL, NULL);
            if (id < 0 && st != SOB_E_NOT_FOUND) DIE();
            break;
        }
        case 6: {
            int64_t id = offer_id(&r), a = (int64_t)amount(&r);
            int32_t n = (take(&r, 1) & 1) ? price_part(&r) : 0, d = price_part(&r);
            uint64_t before = fingerprint(&ob);
            sob_status st = sob_offerbook_update(&ob, id, a, n, d);
            if (st != SOB_OK && st != SOB_E_NOMEM && fingerprint(&ob) != before) DIE();
            break;
        }
        case 7: {
            int64_t left, id = offer_id(&r);
            uint64_t before = fingerprint(&ob);
            sob_status st = sob_offerbook_apply_fill(&ob, id, (int64_t)amount(&r), &left);
            if (st != SOB_OK && fingerprint(&ob) != before) DIE();
            break;
        }
        case 8:
        case 9:
        case 10: {
            sob_sim p;
            memset(&p, 0, sizeof p);
            p.side = side;
            p.round = (sob_rounding)(take(&r, 1) % 4);
            p.max_sheep_send = (int64_t)amount(&r);
            p.max_wheat_receive = (int64_t)amount(&r);
            p.has_limit = (int)take(&r, 1) & 1;
            p.limit_n = price_part(&r);
            p.limit_d = price_part(&r);
            p.passive = (int)take(&r, 1) & 1;
            uint8_t t = (uint8_t)take(&r, 1);
            p.taker = t < 128 ? 0 : handle[t % HANDLES];
            p.max_offers = count(&r);
            /* exactly min(max_offers, side count) fills: the bound the binding uses */
            size_t room = min_size(p.max_offers, sob_offerbook_count(&ob, side));
            sob_fill *fills = malloc((room ? room : 1) * sizeof *fills);
            if (!fills) DIE();
            sob_sim_out out;
            if (sob_offerbook_simulate(&ob, &p, fills, &out) == SOB_OK) {
                if (out.sent < 0 || out.received < 0 || out.nfills > room) DIE();
                if (op == 9 && sob_offerbook_apply_fills(&ob, fills, out.nfills) != SOB_OK) DIE();
                if (op == 10 && out.nfills) { /* tampered fills: refused whole, the book unchanged */
                    size_t i = take(&r, 2) % out.nfills;
                    uint8_t how = (uint8_t)take(&r, 1) % 3;
                    if (how == 0) fills[i].offer_id = offer_id(&r);
                    if (how == 1) fills[i].remaining = -1 - (int64_t)(take(&r, 1));
                    if (how == 2) fills[i].remaining = INT64_MAX;
                    uint64_t before = fingerprint(&ob);
                    sob_status st = sob_offerbook_apply_fills(&ob, fills, out.nfills);
                    if (st != SOB_OK && st != SOB_E_NOT_FOUND && st != SOB_E_INVALID) DIE();
                    if (st != SOB_OK && fingerprint(&ob) != before) DIE();
                }
            } else if (side != 2 && p.round <= SOB_ROUND_STRICT_RECEIVE && p.max_sheep_send >= 0 && p.max_wheat_receive >= 0 &&
                       !(p.has_limit && (p.limit_n <= 0 || p.limit_d <= 0))) {
                DIE(); /* valid arguments must simulate */
            }
            free(fills);
            break;
        }
        case 11: { /* copies of offers from any start, any count: room for the side only */
            int s = side % 2;
            size_t total = sob_offerbook_count(&ob, s), start = count(&r), max = count(&r);
            sob_offer *out = malloc((total ? total : 1) * sizeof *out);
            if (!out) DIE();
            size_t got = sob_offerbook_copy(&ob, s, start, max, out);
            if (got > total || got > max || (start < total && got != min_size(max, total - start))) DIE();
            free(out);
            sob_offer o;
            int os;
            int64_t id = offer_id(&r);
            if (sob_offerbook_get(&ob, id, &o, &os) == SOB_OK && (id < 0 || o.id != id)) DIE();
            break;
        }
        case 12:
            if ((take(&r, 1) & 7) == 0) {
                sob_offerbook_clear(&ob);
                memset(handle, 0, sizeof handle);
                if (sob_offerbook_sellers_live(&ob) != 0) DIE();
            }
            break;
        case 13: {
            sob_exchange ex;
            int32_t n = price_part(&r), d = price_part(&r);
            int64_t a = (int64_t)amount(&r), b = (int64_t)amount(&r), c = (int64_t)amount(&r), e = (int64_t)amount(&r);
            if (sob_exchange_v10(n, d, a, b, c, e, (sob_rounding)(take(&r, 1) % 4), &ex) == SOB_OK) {
                if (ex.wheat < 0 || ex.sheep < 0) DIE();
                if (a >= 0 && ex.wheat > a) DIE();
                if (c >= 0 && ex.sheep > c) DIE();
            }
            sob_adjust_offer(n, d, a, b);
            break;
        }
        case 16: { /* the accounts table: hostile accounts and trust lines; refused changes change nothing */
            uint64_t key = account_key(&r), before = table_fingerprint(&tab);
            uint8_t what = (uint8_t)take(&r, 1) % 6;
            sob_status st;
            if (what == 0) {
                sob_account a = {any_i64(&r), any_i64(&r) & 0xffffff, any_i64(&r) & 0xffffff, (uint32_t)take(&r, 1),
                                 (uint32_t)take(&r, 1) % 4, (uint32_t)take(&r, 1) % 4, 0};
                if (take(&r, 1) & 1) a.num_sub_entries = (uint32_t)take(&r, 4);
                st = sob_accounts_set_account(&tab, key, &a);
                sob_account g;
                if (st == SOB_OK && (sob_accounts_get_account(&tab, key, &g) != SOB_OK || memcmp(&g, &a, sizeof g))) DIE();
            } else if (what == 1) {
                int64_t bal = any_i64(&r);
                int64_t room = (int64_t)take(&r, 2);
                int64_t lim = (take(&r, 1) & 1) || bal > INT64_MAX - room ? INT64_MAX : bal + room;
                sob_trustline t = {bal, lim, any_i64(&r) & 0xffff,
                                   any_i64(&r) & 0xffff, (uint32_t)take(&r, 1) % 4, 0};
                st = sob_accounts_set_trustline(&tab, key, asset_id(&r), &t);
            } else if (what == 2) {
                st = sob_accounts_remove_account(&tab, key);
            } else if (what == 3) {
                st = sob_accounts_remove_trustline(&tab, key, asset_id(&r));
            } else if (what == 4) {
                st = sob_accounts_set_issuer(&tab, asset_id(&r), account_key(&r));
            } else {
                st = sob_accounts_set_sponsor(&tab, offer_id(&r), account_key(&r));
            }
            if (st != SOB_OK && st != SOB_E_INVALID && st != SOB_E_NOT_FOUND) DIE();
            if (st != SOB_OK && table_fingerprint(&tab) != before) DIE();
            break;
        }
        case 17: { /* a seller handle of either book gets an account key (0..8), or a bad handle */
            sob_offerbook *b = books[take(&r, 1) & 1];
            uint64_t *hs = b == &ob ? handle : handle2;
            uint64_t h = (take(&r, 1) & 7) ? hs[take(&r, 1) % HANDLES] : take(&r, 8);
            sob_status st = sob_offerbook_seller_set_account(b, h, account_key(&r));
            if (st != SOB_OK && st != SOB_E_INVALID) DIE();
            if (st == SOB_OK && (h == 0 || h >= b->sellers.cap)) DIE();
            break;
        }
        case 18: { /* an offer in the second book, its seller new or known */
            uint8_t who = (uint8_t)take(&r, 1);
            uint64_t h = 0;
            int fresh = 0;
            if (who >= 64 && who < 192 && handle2[who % HANDLES]) {
                h = handle2[who % HANDLES];
            } else if (who >= 192) {
                if (sob_offerbook_seller_new(&ob2, &h) != SOB_OK) break;
                fresh = 1;
                sob_offerbook_seller_set_account(&ob2, h, account_key(&r));
            }
            int32_t n = price_part(&r), d = price_part(&r);
            sob_status st = sob_offerbook_add(&ob2, offer_id(&r), side, n, d, (int64_t)amount(&r), h);
            if (fresh) {
                if (st == SOB_OK)
                    handle2[who % HANDLES] = h;
                else
                    sob_offerbook_seller_drop(&ob2, h);
            }
            if (take(&r, 1) % 5 == 0) /* now and then pools get new reserves (any, even <= 0) */
                pools[take(&r, 1) & 1] = (sob_pool){any_i64(&r), any_i64(&r), (int32_t)(take(&r, 2) % 10002), 0};
            break;
        }
        case 19:
        case 20:
        case 21: { /* a DEX operation: manage offer, path payment, or one hop */
            sob_dex_ctx ctx = any_ctx(&r, &tab);
            if (take(&r, 1) & 1) ctx.flags &= ~SOB_CTX_SKIP_CHANGES;
            uint64_t fp_books[2] = {fingerprint(&ob), fingerprint(&ob2)}, fp_tab = table_fingerprint(&tab);
            sob_pool pools_before[2] = {pools[0], pools[1]};
            sob_venue venues[9];
            size_t bound = 0;
            for (int i = 0; i < 9; i++) {
                uint8_t v = (uint8_t)take(&r, 1);
                venues[i].book = (v & 3) == 3 ? NULL : books[v & 1];
                venues[i].side = (int32_t)((v >> 2) % 3 == 2 && (v & 0x80) ? 2 : (v >> 2) & 1);
                venues[i].pool_a_is_send = (int32_t)((v >> 4) & 1);
                venues[i].pool = (v >> 5) == 7 ? NULL : &pools[(v >> 5) & 1];
                if (venues[i].book && venues[i].side < 2) bound += sob_offerbook_count(venues[i].book, venues[i].side);
            }
            sob_op_result res;
            sob_status st;
            if (op == 19) {
                sob_manage_op mo = {(int32_t)(take(&r, 1) % 5), 0, account_key(&r), asset_id(&r), asset_id(&r),
                                    any_i64(&r), price_part(&r), price_part(&r), (take(&r, 1) & 3) ? 0 : offer_id(&r)};
                if (take(&r, 1) % 9 == 0) mo.n = mo.n == INT32_MIN ? 0 : -mo.n;
                sob_offer_entry ex = {mo.offer_id, account_key(&r), account_key(&r), asset_id(&r), asset_id(&r),
                                      (int64_t)amount(&r), price_part(&r), price_part(&r), (uint32_t)take(&r, 1) & 1, 0};
                st = sob_manage_offer(&ctx, &mo, &venues[0], (take(&r, 1) & 1) ? &ex : NULL, scratch, &res);
                bound = venues[0].book && venues[0].side < 2 ? sob_offerbook_count(venues[0].book, venues[0].side) : 0;
            } else if (op == 20) {
                sob_path_op po = {(int32_t)(take(&r, 1) % 7), (uint32_t)(take(&r, 1) % 10), {0}, account_key(&r),
                                  account_key(&r), any_i64(&r), (take(&r, 1) & 1) ? 1 : any_i64(&r)};
                for (int i = 0; i < 7; i++) po.assets[i] = asset_id(&r);
                st = sob_path_payment(&ctx, &po, venues, scratch, &res);
                if (st == SOB_OK && (po.nassets < 2 || po.nassets > 7)) DIE();
            } else {
                sob_hop_op ho = {(int32_t)(take(&r, 1) % 4), asset_id(&r), asset_id(&r), 0, account_key(&r), any_i64(&r),
                                 (take(&r, 1) & 1) ? 1000 : any_i64(&r)};
                st = sob_convert_hop(&ctx, &ho, &venues[0], scratch, &res);
                bound = venues[0].book && venues[0].side < 2 ? sob_offerbook_count(venues[0].book, venues[0].side) : 0;
            }
            if (st != SOB_OK && st != SOB_E_INVALID && st != SOB_E_NOT_FOUND) DIE();
            /* a simulation changes nothing it reads */
            if (fingerprint(&ob) != fp_books[0] || fingerprint(&ob2) != fp_books[1] ||
                table_fingerprint(&tab) != fp_tab || memcmp(pools, pools_before, sizeof pools))
                DIE();
            if (st != SOB_OK) break;
            check_dex_result(&res, bound);
            if (ctx.accounts == &tab && !(ctx.flags & SOB_CTX_SKIP_CHANGES) && (take(&r, 1) & 1)) {
                apply_dex_result(&res, &tab, books, 2);
                if (sob_accounts_check(&tab) != SOB_OK) DIE();
            }
            break;
        }
        case 22: { /* the walk's exchangeV10 equals the checked one wherever inputs are valid */
            sob_exchange a, b;
            sob_throw ta;
            int32_t n = price_part(&r), d = price_part(&r);
            int64_t ws = (int64_t)amount(&r), wr = (int64_t)amount(&r), ss = (int64_t)amount(&r),
                    sr = (int64_t)amount(&r);
            if (take(&r, 1) & 1) sr = INT64_MAX;
            sob_rounding rd = (sob_rounding)(take(&r, 1) % 3);
            if (n <= 0 || d <= 0 || ws < 0 || wr < 0 || ss < 0 || sr < 0) break;
            if (sob_exchange_v10_checked(n, d, ws, wr, ss, sr, rd, &a, &ta) != SOB_OK) DIE();
            sob_throw tb = sob_xv10_fast(n, d, ws, wr, ss, sr, rd, &b);
            if (ta != tb) DIE(); /* every throw the fast version leaves out is unreachable */
            if (!ta && (a.wheat != b.wheat || a.sheep != b.sheep || a.wheat_stays != b.wheat_stays)) DIE();
            /* a fixed point A of adjustOffer taken whole pays floor(A*n/d) (dex.c take_cost) */
            int64_t adj = sob_adjust_offer(n, d, ws ? ws : 1, INT64_MAX);
            sob_exchange t;
            if (adj > 0) {
                if (sob_exchange_v10_checked(n, d, adj, INT64_MAX, INT64_MAX, INT64_MAX, rd, &t, &ta) != SOB_OK || ta ||
                    t.wheat != adj || t.sheep != (int64_t)((sob_u128)adj * (uint64_t)n / (uint64_t)d) || t.wheat_stays)
                    DIE();
                if (sob_adjust_offer(n, d, adj, INT64_MAX) != adj) DIE(); /* a fixed point */
            }
            break;
        }
        case 23: { /* the checked pool math against the old one where both apply */
            int64_t rt = any_i64(&r), rf = any_i64(&r), amt = (int64_t)amount(&r), to, from, y;
            int32_t fee = (int32_t)(take(&r, 2) % 10001);
            int ok, ok2;
            sob_throw t;
            sob_rounding rd = (take(&r, 1) & 1) ? SOB_ROUND_STRICT_SEND : SOB_ROUND_STRICT_RECEIVE;
            sob_status st = sob_pool_exchange_checked(rt, rd == SOB_ROUND_STRICT_SEND ? amt : INT64_MAX, rf,
                                                      rd == SOB_ROUND_STRICT_SEND ? INT64_MAX : amt, fee, rd, &to, &from,
                                                      &ok, &t);
            if (st != SOB_OK && st != SOB_E_INVALID) DIE();
            if (st != SOB_OK || t) break;
            if (ok && (to < 0 || from < 0 || from > rf)) DIE();
            if (rd == SOB_ROUND_STRICT_SEND) {
                if (sob_pool_strict_send(rt, rf, fee, amt, &y, &ok2) != SOB_OK || ok2 != ok || (ok && y != from)) DIE();
            } else if (amt > 0) {
                if (sob_pool_strict_receive(rt, rf, fee, amt, &y, &ok2) != SOB_OK || ok2 != ok || (ok && y != to)) DIE();
            }
            break;
        }
        default: {
            int64_t out;
            int ok;
            int64_t x = (int64_t)amount(&r), y = (int64_t)amount(&r), v = (int64_t)amount(&r);
            int32_t fee = (int32_t)(take(&r, 2) % 10001);
            sob_pool_strict_send(x, y, fee, v, &out, &ok);
            if (ok && (out <= 0 || out >= y)) DIE();
            sob_pool_strict_receive(x, y, fee, v, &out, &ok);
            if (ok && out <= 0) DIE();
            break;
        }
        }
        /* what the binding does after every change: forget sellers whose last offer left */
        uint64_t gone;
        while (sob_offerbook_take_released(&ob, &gone)) {
            for (int i = 0; i < HANDLES; i++)
                if (handle[i] == gone) handle[i] = 0;
        }
        while (sob_offerbook_take_released(&ob2, &gone)) {
            for (int i = 0; i < HANDLES; i++)
                if (handle2[i] == gone) handle2[i] = 0;
        }
        for (int i = 0; i < HANDLES; i++)
            if (handle2[i] && (handle2[i] >= ob2.sellers.cap || ob2.sellers.slot[handle2[i]].state != SOB_SELLER_LIVE))
                handle2[i] = 0;
        if (sob_offerbook_check(&ob2) != SOB_OK) DIE();
        if (sob_accounts_check(&tab) != SOB_OK) DIE();
        if (ob2.used > peak_used2) peak_used2 = ob2.used;
        if (ob2.slots && ob2.mask + 1 > 64 && ob2.mask + 1 > 4 * (peak_used2 + 1)) DIE();
        /* the table's key space is 8 accounts x 6 assets: its maps stay small */
        if (tab.sponsors.used > peak_sponsors) peak_sponsors = tab.sponsors.used;
        if (tab.accounts.mask > 63 || tab.trustlines.mask > 255 || tab.issuers.mask > 63 ||
            tab.sponsors.mask + 1 > 4 * (peak_sponsors + 16))
            DIE();
        for (int i = 0; i < HANDLES; i++) /* a handle the harness holds is live (or was dropped) */
            if (handle[i] && (handle[i] >= ob.sellers.cap || ob.sellers.slot[handle[i]].state != SOB_SELLER_LIVE))
                handle[i] = 0;
        if (sob_book_check(&book) != SOB_OK) DIE();
        if (!ref_same(&ref, &book)) DIE();
        if (sob_offerbook_check(&ob) != SOB_OK) DIE();
        /* memory follows what the books hold at their peak, never what they have ever seen */
        size_t in_use = ob.sellers.cap ? ob.sellers.cap - 1 - ob.sellers.nfree : 0;
        if (in_use > peak_handles) peak_handles = in_use;
        if (ob.used > peak_used) peak_used = ob.used;
        if (ob.sellers.cap > 16 && ob.sellers.cap > 2 * (peak_handles + 1)) DIE();
        if (ob.sellers.live > ob.used || ob.sellers.nreleased != 0) DIE();
        if (ob.slots && ob.mask + 1 > 64 && ob.mask + 1 > 4 * (peak_used + 1)) DIE();
        for (int s = 0; s < 2; s++) {
            if (book.side[s].len > peak_len[s]) peak_len[s] = book.side[s].len;
            /* a refused batch of up to 31 changes may have grown a side before it was undone */
            if (book.side[s].cap > 2 * (peak_len[s] + 64)) DIE();
            if (ob.side[s].nc > peak_nc[s]) peak_nc[s] = ob.side[s].nc;
            if (ob.side[s].nc > ob.side[s].count) DIE();
            if (ob.side[s].cap > 8 && ob.side[s].cap > 2 * peak_nc[s]) DIE();
        }
    }
    sob_changes_free(&ch);
    sob_offerbook_free(&ob);
    sob_offerbook_free(&ob2);
    sob_accounts_free(&tab);
    sob_dex_scratch_free(scratch);
    sob_book_free(&book);
    ref_free(&ref);
    return 0;
}
