/* horizon_json_pools.c: GET /liquidity_pools, /liquidity_pools/{id} (horizon protocols
 * LiquidityPool; total_trustlines is ",string"). */
#include "horizon_json_internal.h"

enum { L_ID, L_FEE, L_TRUST, L_SHARES, L_RES, L_NKEYS };
static const keydef POOL_KEYS[L_NKEYS] = {KEY("id"), KEY("fee_bp"), KEY("total_trustlines"),
                                          KEY("total_shares"), KEY("reserves")};
static const keydef RESERVE_KEYS[] = {KEY("asset"), KEY("amount")};

static void pool_reset(void *rec) { memset(rec, 0, sizeof(sob_pool_rec)); }

static sob_status reserve_object(jp *P, sob_asset *a, uint64_t *amount) {
    const char *at = P->p;
    TRY(hj_expect_open(P, '{', "reserve must be an object"));
    uint64_t seen = 0;
    int first = 1, i;
    for (;;) {
        TRY(hj_next_key(P, &first, RESERVE_KEYS, 2, &seen, &i));
        if (i < 0) break;
        if (i == 0)
            TRY(hj_asset_string(P, a, "reserve asset must be \"native\" or \"CODE:ISSUER\""));
        else
            TRY(hj_amount_value(P, INT64_MAX, amount,
                             "reserve amount must be a decimal string <= 922337203685.4775807"));
    }
    return hj_require(P, seen, 3, RESERVE_KEYS, 2, at);
}

static sob_status reserves_array(jp *P, sob_pool_rec *r) {
    const char *at = P->p;
    TRY(hj_expect_open(P, '[', "reserves must be an array"));
    int first = 1, done = 0, n = 0;
    for (;;) {
        TRY(hj_arr_next(P, &first, &done));
        if (done) break;
        if (n == 2) return hj_fail(P, SOB_E_INVALID, "a pool has exactly two reserves");
        TRY(reserve_object(P, &r->reserve_asset[n], &r->reserve_amount[n]));
        n++;
    }
    if (n != 2) return hj_fail_at(P, at, SOB_E_INVALID, "a pool has exactly two reserves");
    return SOB_OK;
}

static sob_status pool_key(jp *P, void *recv, uint64_t *seen, const span *k, const char *ka,
                           int *handled) {
    sob_pool_rec *r = recv;
    int i = key_lookup(POOL_KEYS, L_NKEYS, k);
    *handled = i >= 0;
    if (i < 0) return SOB_OK;
    TRY(mark(P, seen, POOL_KEYS, i, ka));
    int64_t v;
    switch (i) {
    case L_ID: TRY(hj_pool_id_value(P, r->id, "liquidity pool id must be 1..64 lowercase hex")); break;
    case L_FEE:
        TRY(hj_int_value(P, 0, 0, INT32_MAX, &v, "fee_bp must be an integer >= 0"));
        r->fee_bp = (int32_t)v;
        break;
    case L_TRUST:
        TRY(hj_int_value(P, 1, 0, INT64_MAX, &v, "total_trustlines must be an integer >= 0"));
        r->total_trustlines = (uint64_t)v;
        break;
    case L_SHARES:
        TRY(hj_amount_value(P, INT64_MAX, &r->total_shares,
                         "total_shares must be a decimal string <= 922337203685.4775807"));
        break;
    default: TRY(reserves_array(P, r)); break;
    }
    return SOB_OK;
}

static sob_status pool_done(jp *P, void *rec, uint64_t seen, const char *at) {
    (void)rec;
    return hj_require(P, seen, BIT(L_NKEYS) - 1, POOL_KEYS, L_NKEYS, at);
}

static const hj_kind POOL_KIND = {pool_key, pool_done, pool_reset, NULL,
                                   "record must be an object", NULL};

void sob_pools_init(sob_pools *p) { memset(p, 0, sizeof *p); }
void sob_pools_free(sob_pools *p) {
    free(p->v);
    memset(p, 0, sizeof *p);
}

sob_status sob_parse_liquidity_pools(const char *buf, size_t len, sob_pools *out,
                                     sob_parse_error *err) {
    vec_any vec = {(void **)&out->v, &out->len, &out->cap, sizeof(sob_pool_rec)};
    return hj_page_or_record(buf, len, err, NULL, &POOL_KIND, &vec);
}

