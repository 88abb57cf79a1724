/* fuzz_core_ops.c: libFuzzer harness for the book and execution APIs of the C core.
 *
 * The input is read as a program of operations on one L2 book and one per-offer book (set_level,
 * batches, snapshots, diffs, quotes; add/update/remove/fill offers, simulate and apply, the raw
 * exchange and pool functions) with arbitrary, hostile arguments. After each operation every
 * invariant must hold and each call must return a defined status: the core never crashes. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

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

#define DIE() __builtin_trap()

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    reader r = {data, size};
    sob_book book;
    sob_offerbook ob;
    sob_changes ch;
    sob_book_init(&book);
    sob_offerbook_init(&ob);
    sob_changes_init(&ch);
    static sob_level lv[64], lv2[64], undo[32];
    static sob_set sets[32];
    static sob_fill fills[SOB_MAX_OFFERS_TO_CROSS];
    while (r.left) {
        uint8_t op = (uint8_t)take(&r, 1) % 12;
        int side = (int)take(&r, 1) % 3; /* 2 is an invalid side on purpose */
        switch (op) {
        case 0:
            sob_book_set_level_checked(&book, side, price_part(&r), price_part(&r), amount(&r), NULL);
            break;
        case 1: {
            size_t k = take(&r, 1) % 32;
            for (size_t i = 0; i < k; i++) {
                sets[i].side = (int32_t)take(&r, 1) % 3;
                sets[i].n = price_part(&r);
                sets[i].d = price_part(&r);
                sets[i].amount = amount(&r);
            }
            size_t bad;
            sob_book_apply_batch(&book, sets, k, undo, &bad);
            break;
        }
        case 2: { /* snapshot: normalise both sides, assign */
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
            sob_level out[8];
            if (sob_book_copy_best(&book, side % 2, 8, out) > 8) DIE();
            break;
        }
        case 4:
            sob_offerbook_add(&ob, (int64_t)(take(&r, 1) % 40), side, price_part(&r), price_part(&r),
                              (int64_t)amount(&r), take(&r, 1) % 3);
            break;
        case 5:
            sob_offerbook_remove(&ob, (int64_t)(take(&r, 1) % 40), NULL, NULL);
            break;
        case 6:
            sob_offerbook_update(&ob, (int64_t)(take(&r, 1) % 40), (int64_t)amount(&r),
                                 (take(&r, 1) & 1) ? price_part(&r) : 0, price_part(&r));
            break;
        case 7: {
            int64_t left;
            sob_offerbook_apply_fill(&ob, (int64_t)(take(&r, 1) % 40), (int64_t)amount(&r), &left);
            break;
        }
        case 8:
        case 9: {
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
            p.taker = take(&r, 1) % 3;
            p.max_offers = take(&r, 2) % (SOB_MAX_OFFERS_TO_CROSS + 1);
            sob_sim_out out;
            if (sob_offerbook_simulate(&ob, &p, fills, &out) == SOB_OK) {
                if (out.sent < 0 || out.received < 0 || out.nfills > p.max_offers) DIE();
                if (op == 9 && sob_offerbook_apply_fills(&ob, fills, out.nfills) != SOB_OK) DIE();
            }
            break;
        }
        case 10: {
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
        if (sob_book_check(&book) != SOB_OK) DIE();
        if (sob_offerbook_check(&ob) != SOB_OK) DIE();
    }
    sob_changes_free(&ch);
    sob_offerbook_free(&ob);
    sob_book_free(&book);
    return 0;
}
