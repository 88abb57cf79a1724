/* fuzz_core_ops.c: libFuzzer harness for the book and execution APIs of the C core.
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
 * bounded memory. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../tests/book_ref.h"
#include "book.h"
#include "exchange.h"
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
    size_t peak_handles = 0, peak_used = 0, peak_len[2] = {0, 0}, peak_nc[2] = {0, 0};
    while (r.left) {
        uint8_t op = (uint8_t)take(&r, 1) % 16;
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
    sob_book_free(&book);
    ref_free(&ref);
    return 0;
}
