/* horizon_json_order_book.c: GET /order_book (horizon protocols OrderBookSummary, built by
 * stellar-horizon internal/actions/orderbook.go). */
#include "horizon_json_internal.h"

/* A level: {"price_r": {"n": int32 > 0, "d": int32 > 0}, "price": "1.2345678", "amount": "..."};
 * price_r and amount are required, amount is a level total (a Postgres sum, up to UINT64_MAX
 * stroops). Levels are elements like a page's records: read by their key reader, or by the
 * template learnt from the level before. */
static const keydef LEVEL_KEYS[] = {KEY("price_r"), KEY("price"), KEY("amount")};

static void level_reset(void *rec) { memset(rec, 0, sizeof(sob_level)); }

static sob_status level_key(jp *P, void *rec, uint64_t *seen, const span *k, const char *ka,
                            int *handled) {
    sob_level *lv = rec;
    int i = key_lookup(LEVEL_KEYS, 3, k);
    *handled = i >= 0;
    if (i < 0) return SOB_OK;
    TRY(mark(P, seen, LEVEL_KEYS, i, ka));
    if (i == 0) return hj_price_r_object(P, &lv->n, &lv->d);
    if (i == 1) return hj_price_text(P);
    return hj_amount_value(P, UINT64_MAX, &lv->amount,
                           "amount must be a decimal string of stroops (at most 7 decimals)");
}

static sob_status level_done(jp *P, void *rec, uint64_t seen, const char *at) {
    (void)rec;
    return hj_require(P, seen, 1 | 4, LEVEL_KEYS, 3, at);
}

/* Mirrors level_key() and price_r_object(): which values a template reads and where to. */
static int level_classify(int ctx, const char *key, size_t klen, char first, int *child,
                          uint16_t *off) {
    *child = CTX_OTHER;
    if (ctx == CTX_RECORD) {
        if (KEYIS("price_r")) return *child = CTX_PRICE_R, TPL_DESCEND;
        if (KEYIS("price")) return SL_SKIPSTR;
        if (KEYIS("amount")) return *off = offsetof(sob_level, amount), SL_AMOUNT64;
    } else if (ctx == CTX_PRICE_R) {
        if (KEYIS("n")) return *off = offsetof(sob_level, n), SL_I32POS;
        if (KEYIS("d")) return *off = offsetof(sob_level, d), SL_I32POS;
    }
    return hj_classify_other(first); /* any other key: its value is only validated */
}

/* level_done()'s rule for a template: it reads price_r.n, price_r.d and amount (the classifier
 * gives those slots only under "price_r" and "amount", each key at most once). */
static int level_tpl_complete(const rec_tpl *t) {
    int n = 0, d = 0, amount = 0;
    for (int i = 0; i < t->n; i++) {
        if (t->slot[i].kind == SL_I32POS && t->slot[i].off == offsetof(sob_level, n)) n++;
        else if (t->slot[i].kind == SL_I32POS && t->slot[i].off == offsetof(sob_level, d)) d++;
        else if (t->slot[i].kind == SL_AMOUNT64 && t->slot[i].off == offsetof(sob_level, amount)) amount++;
    }
    return n == 1 && d == 1 && amount == 1;
}

static const hj_kind LEVEL_KIND = {level_key, level_done, level_reset, level_classify,
                                   "order book level must be an object", level_tpl_complete};

/* tpl: the template carried from the bids to the asks (they are written alike). */
static sob_status levels_array(jp *P, sob_levels *out, const char *not_arr, rec_tpl *tpl) {
    vec_any vec = {(void **)&out->v, &out->len, &out->cap, sizeof(sob_level)};
    return hj_records_array(P, &LEVEL_KIND, &vec, not_arr, tpl);
}

void sob_order_book_doc_init(sob_order_book_doc *doc) { memset(doc, 0, sizeof *doc); }

void sob_order_book_doc_free(sob_order_book_doc *doc) {
    free(doc->bids.v);
    free(doc->asks.v);
    memset(doc, 0, sizeof *doc);
}

static const keydef BOOK_KEYS[] = {KEY("bids"), KEY("asks"), KEY("base"), KEY("counter")};

sob_status sob_parse_order_book(const char *buf, size_t len, sob_order_book_doc *out,
                                sob_parse_error *err) {
    jp P_, *P = &P_;
    TRY(hj_begin_doc(P, buf, len, err));
    const char *at = P->s;
    out->bids.len = 0;
    out->asks.len = 0;
    uint64_t seen = 0;
    int first = 1, i;
    rec_tpl tpl;
    tpl.ok = 0;
    tpl.sep_pending = 0;
    for (;;) {
        TRY(hj_next_key(P, &first, BOOK_KEYS, 4, &seen, &i));
        if (i < 0) break;
        switch (i) {
        case 0: TRY(levels_array(P, &out->bids, "bids must be an array", &tpl)); break;
        case 1: TRY(levels_array(P, &out->asks, "asks must be an array", &tpl)); break;
        case 2: TRY(hj_asset_object(P, &out->base)); break;
        default: TRY(hj_asset_object(P, &out->counter)); break;
        }
    }
    TRY(hj_require(P, seen, 15, BOOK_KEYS, 4, at));
    return hj_end_doc(P);
}
