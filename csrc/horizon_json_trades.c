/* horizon_json_trades.c: GET /trades, a page or one record such as the data: of a /trades SSE
 * event (horizon protocols Trade; TradePrice N/D are int64 sent as strings). */
#include "horizon_json_internal.h"

/* RFC 3339 as Go's time.Time marshals it: YYYY-MM-DDTHH:MM:SS[.frac](Z|+HH:MM|-HH:MM). */
static int parse_time(const char *s, size_t len, int64_t *out) {
    const char *p = s, *e = s + len;
#define DIGITS(var, n)                                                  \
    do {                                                                \
        var = 0;                                                        \
        for (int _i = 0; _i < (n); _i++) {                              \
            if (p >= e || !isdig((unsigned char)*p)) return 0;          \
            var = var * 10 + (*p++ - '0');                              \
        }                                                               \
    } while (0)
#define CH(c)                            \
    do {                                 \
        if (p >= e || *p != (c)) return 0; \
        p++;                             \
    } while (0)
    int64_t y, mo, d, h, mi, sec;
    DIGITS(y, 4);
    CH('-');
    DIGITS(mo, 2);
    CH('-');
    DIGITS(d, 2);
    if (p >= e || (*p != 'T' && *p != 't')) return 0;
    p++;
    DIGITS(h, 2);
    CH(':');
    DIGITS(mi, 2);
    CH(':');
    DIGITS(sec, 2);
    if (p < e && *p == '.') {
        p++;
        if (p >= e || !isdig((unsigned char)*p)) return 0;
        while (p < e && isdig((unsigned char)*p)) p++; /* sub-second part dropped */
    }
    int64_t off = 0;
    if (p < e && (*p == 'Z' || *p == 'z')) {
        p++;
    } else if (p < e && (*p == '+' || *p == '-')) {
        int sign = *p == '-' ? -1 : 1;
        int64_t oh, om;
        p++;
        DIGITS(oh, 2);
        CH(':');
        DIGITS(om, 2);
        if (oh > 23 || om > 59) return 0;
        off = sign * (oh * 3600 + om * 60);
    } else {
        return 0;
    }
    if (p != e) return 0;
#undef DIGITS
#undef CH
    static const int mdays[12] = {31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    if (mo < 1 || mo > 12 || d < 1 || d > mdays[mo - 1] || h > 23 || mi > 59 || sec > 60) return 0;
    int leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    if (mo == 2 && d == 29 && !leap) return 0;
    /* days_from_civil (H. Hinnant). */
    int64_t yy = y - (mo <= 2);
    int64_t era = (yy >= 0 ? yy : yy - 399) / 400;
    int64_t yoe = yy - era * 400;
    int64_t doy = (153 * (mo + (mo > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    int64_t days = era * 146097 + doe - 719468;
    *out = days * 86400 + h * 3600 + mi * 60 + sec - off;
    return 1;
}

enum {
    T_ID, T_PT, T_TIME, T_TYPE, T_FEE, T_BOFF, T_COFF, T_BACC, T_CACC, T_BLP, T_CLP,
    T_BAMT, T_CAMT, T_BTYPE, T_BCODE, T_BISS, T_CTYPE, T_CCODE, T_CISS, T_SELLER, T_PRICE,
    T_NKEYS
};

static const keydef TRADE_KEYS[T_NKEYS] = {
    KEY("id"),
    KEY("paging_token"),
    KEY("ledger_close_time"),
    KEY("trade_type"),
    KEY("liquidity_pool_fee_bp"),
    KEY("base_offer_id"),
    KEY("counter_offer_id"),
    KEY("base_account"),
    KEY("counter_account"),
    KEY("base_liquidity_pool_id"),
    KEY("counter_liquidity_pool_id"),
    KEY("base_amount"),
    KEY("counter_amount"),
    KEY("base_asset_type"),
    KEY("base_asset_code"),
    KEY("base_asset_issuer"),
    KEY("counter_asset_type"),
    KEY("counter_asset_code"),
    KEY("counter_asset_issuer"),
    KEY("base_is_seller"),
    KEY("price"),
};

#define TRADE_NEED                                                                             \
    (BIT(T_ID) | BIT(T_PT) | BIT(T_TIME) | BIT(T_BAMT) | BIT(T_CAMT) | BIT(T_BTYPE) |            \
     BIT(T_CTYPE) | BIT(T_SELLER) | BIT(T_PRICE))

static void trade_reset(void *rec) {
    sob_trade_rec *r = rec;
    memset(r, 0, sizeof *r);
    r->lp_fee_bp = -1;
}

static sob_status trade_key(jp *P, void *recv, uint64_t *seen, const span *k, const char *ka,
                            int *handled) {
    sob_trade_rec *r = recv;
    int i = key_lookup(TRADE_KEYS, T_NKEYS, k);
    *handled = i >= 0;
    if (i < 0) return SOB_OK;
    TRY(mark(P, seen, TRADE_KEYS, i, ka));
    int64_t v;
    const char *at = P->p;
    span s;
    switch (i) {
    case T_ID: TRY(hj_text_value(P, r->id, sizeof r->id, "id must be a string of 1..47 bytes")); break;
    case T_PT:
        TRY(hj_text_value(P, r->paging_token, sizeof r->paging_token,
                       "paging_token must be a string of 1..47 bytes"));
        break;
    case T_TIME:
        TRY(hj_str_value(P, &s, "ledger_close_time must be a string"));
        if (s.toolong || !parse_time(s.ptr, s.len, &r->ledger_close_time))
            return hj_fail_at(P, at, SOB_E_INVALID, "ledger_close_time must be an RFC 3339 time");
        break;
    case T_TYPE:
        TRY(hj_str_value(P, &s, "trade_type must be a string"));
        if (s.len == 9 && memcmp(s.ptr, "orderbook", 9) == 0) r->trade_type = SOB_TRADE_ORDERBOOK;
        else if (s.len == 14 && memcmp(s.ptr, "liquidity_pool", 14) == 0)
            r->trade_type = SOB_TRADE_LIQUIDITY_POOL;
        else return hj_fail_at(P, at, SOB_E_INVALID, "trade_type must be orderbook or liquidity_pool");
        break;
    case T_FEE:
        TRY(hj_int_value(P, 0, 0, INT32_MAX, &v, "liquidity_pool_fee_bp must be an integer >= 0"));
        r->lp_fee_bp = (int32_t)v;
        break;
    case T_BOFF:
        TRY(hj_int_value(P, 1, 0, INT64_MAX, &r->base_offer_id,
                      "base_offer_id must be an integer 0..INT64_MAX"));
        break;
    case T_COFF:
        TRY(hj_int_value(P, 1, 0, INT64_MAX, &r->counter_offer_id,
                      "counter_offer_id must be an integer 0..INT64_MAX"));
        break;
    case T_BACC: TRY(hj_account_value(P, r->base_account, "base_account must be a valid G... StrKey")); break;
    case T_CACC:
        TRY(hj_account_value(P, r->counter_account, "counter_account must be a valid G... StrKey"));
        break;
    case T_BLP:
        TRY(hj_pool_id_value(P, r->base_liquidity_pool_id, "base_liquidity_pool_id must be hex"));
        break;
    case T_CLP:
        TRY(hj_pool_id_value(P, r->counter_liquidity_pool_id, "counter_liquidity_pool_id must be hex"));
        break;
    case T_BAMT:
        TRY(hj_amount_value(P, INT64_MAX, &r->base_amount,
                         "base_amount must be a decimal string <= 922337203685.4775807"));
        break;
    case T_CAMT:
        TRY(hj_amount_value(P, INT64_MAX, &r->counter_amount,
                         "counter_amount must be a decimal string <= 922337203685.4775807"));
        break;
    case T_BTYPE:
        TRY(hj_asset_type_value(P, &r->base_asset, "base_asset_type must be native, credit_alphanum4 or credit_alphanum12"));
        break;
    case T_CTYPE:
        TRY(hj_asset_type_value(P, &r->counter_asset, "counter_asset_type must be native, credit_alphanum4 or credit_alphanum12"));
        break;
    case T_BCODE:
        TRY(hj_asset_code_value(P, &r->base_asset, "base_asset_code must be 1..12 characters [A-Za-z0-9]"));
        break;
    case T_CCODE:
        TRY(hj_asset_code_value(P, &r->counter_asset, "counter_asset_code must be 1..12 characters [A-Za-z0-9]"));
        break;
    case T_BISS:
        TRY(hj_account_value(P, r->base_asset.issuer, "base_asset_issuer must be a valid G... StrKey"));
        break;
    case T_CISS:
        TRY(hj_account_value(P, r->counter_asset.issuer, "counter_asset_issuer must be a valid G... StrKey"));
        break;
    case T_SELLER: TRY(hj_bool_value(P, &r->base_is_seller, "base_is_seller must be true or false")); break;
    default:
        TRY(hj_nd_object(P, 1, INT64_MAX, &r->price_n, &r->price_d, "price must be an object {n, d}",
                      "price.n must be an integer > 0 that fits int64",
                      "price.d must be an integer > 0 that fits int64"));
        break;
    }
    return SOB_OK;
}

static sob_status trade_done(jp *P, void *recv, uint64_t seen, const char *at) {
    sob_trade_rec *r = recv;
    TRY(hj_require(P, seen, TRADE_NEED, TRADE_KEYS, T_NKEYS, at));
    asset_acc b = {1, (seen & BIT(T_BCODE)) != 0, (seen & BIT(T_BISS)) != 0, at};
    asset_acc c = {1, (seen & BIT(T_CCODE)) != 0, (seen & BIT(T_CISS)) != 0, at};
    TRY(hj_asset_finish(P, &r->base_asset, &b, "missing key \"base_asset_type\"",
                     "missing key \"base_asset_code\"", "missing key \"base_asset_issuer\"",
                     "base_asset_code/base_asset_issuer do not match base_asset_type"));
    TRY(hj_asset_finish(P, &r->counter_asset, &c, "missing key \"counter_asset_type\"",
                     "missing key \"counter_asset_code\"", "missing key \"counter_asset_issuer\"",
                     "counter_asset_code/counter_asset_issuer do not match counter_asset_type"));
    return SOB_OK;
}

static const hj_kind TRADE_KIND = {trade_key, trade_done, trade_reset, NULL,
                                   "record must be an object", NULL};

void sob_trades_init(sob_trades *t) { memset(t, 0, sizeof *t); }
void sob_trades_free(sob_trades *t) {
    free(t->v);
    memset(t, 0, sizeof *t);
}

sob_status sob_parse_trades(const char *buf, size_t len, sob_trades *out, sob_parse_error *err) {
    vec_any vec = {(void **)&out->v, &out->len, &out->cap, sizeof(sob_trade_rec)};
    return hj_page_or_record(buf, len, err, NULL, &TRADE_KIND, &vec);
}
