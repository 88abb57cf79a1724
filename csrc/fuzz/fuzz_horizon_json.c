/* fuzz_horizon_json.c: libFuzzer harness for the Horizon JSON scanners. Every input goes to all
 * four parsers (they must each either fail cleanly or return values that respect the documented
 * invariants); run with csrc/fuzz/run_fuzz.sh. */
#define _POSIX_C_SOURCE 200809L /* strnlen */
#include "horizon_json.h"

#include <stdlib.h>
#include <string.h>

#define INV(cond)             \
    do {                      \
        if (!(cond)) abort(); \
    } while (0)

static void check_asset(const sob_asset *a) {
    INV(a->type <= 2);
    size_t cl = strnlen(a->code, sizeof a->code);
    INV(cl < sizeof a->code);
    if (a->type == SOB_ASSET_NATIVE) {
        INV(cl == 0 && a->issuer[0] == '\0');
    } else {
        INV(a->type == SOB_ASSET_CREDIT_ALPHANUM4 ? (cl >= 1 && cl <= 4) : (cl >= 5 && cl <= 12));
        INV(sob_strkey_account_valid(a->issuer, strnlen(a->issuer, sizeof a->issuer)));
    }
}

static void check_err(sob_status st, const sob_parse_error *err, size_t len) {
    INV(st == SOB_E_PARSE || st == SOB_E_INVALID || st == SOB_E_OVERFLOW || st == SOB_E_LIMIT ||
        st == SOB_E_NOMEM);
    INV(err->reason != NULL && err->reason[0] != '\0');
    INV(err->offset <= len);
}

/* Reused across inputs, as the bindings will reuse them. */
static sob_order_book_doc book;
static sob_offers offers;
static sob_trades trades;
static sob_pools pools;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    /* An exact-size copy: reading one byte past the input is a reported bug. */
    char *buf = malloc(size ? size : 1);
    if (!buf) return 0;
    memcpy(buf, data, size);
    sob_parse_error err;
    sob_status st;

    st = sob_parse_order_book(buf, size, &book, &err);
    if (st == SOB_OK) {
        for (size_t side = 0; side < 2; side++) {
            const sob_levels *lv = side ? &book.asks : &book.bids;
            INV(lv->len <= lv->cap);
            for (size_t i = 0; i < lv->len; i++) INV(sob_price_valid(lv->v[i].n, lv->v[i].d));
        }
        check_asset(&book.base);
        check_asset(&book.counter);
    } else {
        check_err(st, &err, size);
    }

    st = sob_parse_offers(buf, size, &offers, &err);
    if (st == SOB_OK) {
        for (size_t i = 0; i < offers.len; i++) {
            const sob_offer_rec *o = &offers.v[i];
            INV(o->id >= 0 && o->amount <= (uint64_t)INT64_MAX && sob_price_valid(o->n, o->d));
            INV(sob_strkey_account_valid(o->seller, strnlen(o->seller, sizeof o->seller)));
            check_asset(&o->selling);
            check_asset(&o->buying);
        }
    } else {
        check_err(st, &err, size);
    }

    st = sob_parse_trades(buf, size, &trades, &err);
    if (st == SOB_OK) {
        for (size_t i = 0; i < trades.len; i++) {
            const sob_trade_rec *t = &trades.v[i];
            INV(t->price_n > 0 && t->price_d > 0);
            INV(t->base_amount <= (uint64_t)INT64_MAX && t->counter_amount <= (uint64_t)INT64_MAX);
            INV(t->base_offer_id >= 0 && t->counter_offer_id >= 0);
            INV(t->trade_type <= 1 && t->lp_fee_bp >= -1 && t->base_is_seller <= 1);
            INV(strnlen(t->id, sizeof t->id) >= 1 && strnlen(t->id, sizeof t->id) < sizeof t->id);
            check_asset(&t->base_asset);
            check_asset(&t->counter_asset);
        }
    } else {
        check_err(st, &err, size);
    }

    st = sob_parse_liquidity_pools(buf, size, &pools, &err);
    if (st == SOB_OK) {
        for (size_t i = 0; i < pools.len; i++) {
            const sob_pool_rec *p = &pools.v[i];
            INV(p->fee_bp >= 0 && p->total_shares <= (uint64_t)INT64_MAX);
            INV(p->reserve_amount[0] <= (uint64_t)INT64_MAX && p->reserve_amount[1] <= (uint64_t)INT64_MAX);
            check_asset(&p->reserve_asset[0]);
            check_asset(&p->reserve_asset[1]);
        }
    } else {
        check_err(st, &err, size);
    }

    /* The amount helpers: parse -> format -> parse is the identity. */
    uint64_t v, w;
    if (sob_parse_amount(buf, size, UINT64_MAX, &v) == SOB_OK) {
        char out[32];
        size_t n = sob_format_amount(v, out);
        INV(n < sizeof out && sob_parse_amount(out, n, UINT64_MAX, &w) == SOB_OK && w == v);
    }
    (void)sob_strkey_account_valid(buf, size);

    free(buf);
    return 0;
}
