/* horizon_json_offers.c: GET /offers, /offers/{id}, /accounts/{id}/offers (horizon protocols Offer). */
#include "horizon_json_internal.h"

static const keydef OFFER_KEYS[] = {KEY("id"),     KEY("seller"),  KEY("selling"),
                                    KEY("buying"), KEY("amount"),  KEY("price_r"),
                                    KEY("price"),  KEY("last_modified_ledger")};
#define OFFER_NEED 0x3Fu

static void offer_reset(void *rec) { memset(rec, 0, sizeof(sob_offer_rec)); }

static sob_status offer_key(jp *P, void *recv, uint64_t *seen, const span *k, const char *ka,
                            int *handled) {
    sob_offer_rec *r = recv;
    int i = key_lookup(OFFER_KEYS, 8, k);
    *handled = i >= 0;
    if (i < 0) return SOB_OK;
    TRY(mark(P, seen, OFFER_KEYS, i, ka));
    int64_t v;
    switch (i) {
    case 0:
        TRY(hj_int_value(P, 1, 0, INT64_MAX, &v, "offer id must be an integer 0..INT64_MAX"));
        r->id = v;
        break;
    case 1: TRY(hj_account_value(P, r->seller, "seller must be a valid G... StrKey")); break;
    case 2: TRY(hj_asset_object(P, &r->selling)); break;
    case 3: TRY(hj_asset_object(P, &r->buying)); break;
    case 4:
        TRY(hj_amount_value(P, INT64_MAX, &r->amount,
                         "amount must be a decimal string <= 922337203685.4775807"));
        break;
    case 5: TRY(hj_price_r_object(P, &r->n, &r->d)); break;
    case 6: TRY(hj_price_text(P)); break;
    default:
        TRY(hj_int_value(P, 0, 0, UINT32_MAX, &v, "last_modified_ledger must be a uint32"));
        r->last_modified_ledger = (uint32_t)v;
        break;
    }
    return SOB_OK;
}

static sob_status offer_done(jp *P, void *rec, uint64_t seen, const char *at) {
    (void)rec;
    return hj_require(P, seen, OFFER_NEED, OFFER_KEYS, 8, at);
}

/* Mirrors offer_key() and hj_price_r_object(): which values a template reads and where to. */
static int offer_classify(int ctx, const char *key, size_t klen, char first, int *child,
                          uint16_t *off) {
    *child = CTX_OTHER;
    if (ctx == CTX_RECORD) {
        if (KEYIS("id")) return *off = offsetof(sob_offer_rec, id), SL_I64S;
        if (KEYIS("seller")) return *off = offsetof(sob_offer_rec, seller), SL_ACCOUNT;
        if (KEYIS("selling")) return *off = offsetof(sob_offer_rec, selling), SL_ASSET;
        if (KEYIS("buying")) return *off = offsetof(sob_offer_rec, buying), SL_ASSET;
        if (KEYIS("amount")) return *off = offsetof(sob_offer_rec, amount), SL_AMOUNT63;
        if (KEYIS("price_r")) return *child = CTX_PRICE_R, TPL_DESCEND;
        if (KEYIS("price")) return SL_SKIPSTR;
        if (KEYIS("last_modified_ledger"))
            return *off = offsetof(sob_offer_rec, last_modified_ledger), SL_U32;
    } else if (ctx == CTX_PRICE_R) {
        if (KEYIS("n")) return *off = offsetof(sob_offer_rec, n), SL_I32POS;
        if (KEYIS("d")) return *off = offsetof(sob_offer_rec, d), SL_I32POS;
    }
    return hj_classify_other(first); /* any other key: its value is only validated */
}

static const hj_kind OFFER_KIND = {offer_key, offer_done, offer_reset, offer_classify,
                                   "record must be an object", NULL};

void sob_offers_init(sob_offers *o) { memset(o, 0, sizeof *o); }
void sob_offers_free(sob_offers *o) {
    free(o->v);
    memset(o, 0, sizeof *o);
}

sob_status sob_parse_offers_opts(const char *buf, size_t len, sob_offers *out, sob_parse_error *err,
                                 sob_parse_opts *opts) {
    vec_any vec = {(void **)&out->v, &out->len, &out->cap, sizeof(sob_offer_rec)};
    return hj_page_or_record(buf, len, err, opts, &OFFER_KIND, &vec);
}

sob_status sob_parse_offers(const char *buf, size_t len, sob_offers *out, sob_parse_error *err) {
    return sob_parse_offers_opts(buf, len, out, err, NULL);
}
