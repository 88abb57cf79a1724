/* horizon_json.h: strict, single-pass JSON scanners for the Horizon documents stellar_ob reads
 * (/order_book, /offers, /trades, /liquidity_pools), in plain C11.
 *
 * Each parser is specialised for one document shape: the fields we use are decoded straight into
 * integers (no floats, no DOM, no allocation per level); every other value is skipped but still
 * validated as JSON. Inputs are NOT NUL-terminated and are never read outside [buf, buf+len).
 *
 * Vectors in the out structs are reset (len = 0) on each call and grow with realloc, so a struct
 * reused across calls reaches a steady state with no allocation. After an error the out struct's
 * contents are unspecified; err (if not NULL) gets the byte offset and a static reason.
 */
#ifndef SOB_HORIZON_JSON_H
#define SOB_HORIZON_JSON_H

#include "sob_common.h"

#ifdef __cplusplus
extern "C" {
#endif

#define SOB_ASSET_NATIVE 0
#define SOB_ASSET_CREDIT_ALPHANUM4 1
#define SOB_ASSET_CREDIT_ALPHANUM12 2

/* Nesting deeper than this (the top-level object counts as 1) is SOB_E_LIMIT. */
#define SOB_JSON_MAX_DEPTH 64

typedef struct sob_asset {
    uint8_t type;     /* 0 native, 1 credit_alphanum4, 2 credit_alphanum12 */
    char code[13];    /* NUL-terminated, "" for native */
    char issuer[57];  /* NUL-terminated G... StrKey, "" for native */
} sob_asset;

typedef struct sob_parse_error {
    size_t offset;      /* byte offset in the input */
    const char *reason; /* static string */
} sob_parse_error;

/* ---- GET /order_book ---- */
typedef struct sob_levels {
    sob_level *v;
    size_t len, cap;
} sob_levels; /* growable, owned */

typedef struct sob_order_book_doc {
    sob_asset base, counter;
    sob_levels bids, asks; /* document order = best first */
} sob_order_book_doc;

void sob_order_book_doc_init(sob_order_book_doc *doc);
void sob_order_book_doc_free(sob_order_book_doc *doc);
/* Required: bids, asks, base, counter; per level price_r {n, d} (JSON integers, int32 > 0) and
 * amount (up to UINT64_MAX stroops: level totals are Postgres sums). `price` is optional and only
 * type-checked (price_r wins). */
sob_status sob_parse_order_book(const char *buf, size_t len, sob_order_book_doc *out,
                                sob_parse_error *err);

/* ---- GET /offers, /offers/{id}, /accounts/{id}/offers ---- */
typedef struct sob_offer_rec {
    int64_t id;
    char seller[57];
    sob_asset selling, buying;
    uint64_t amount; /* stroops of selling, <= INT64_MAX */
    int32_t n, d;    /* price_r as sent */
    uint32_t last_modified_ledger; /* 0 if absent */
} sob_offer_rec;

typedef struct sob_offers {
    sob_offer_rec *v;
    size_t len, cap;
} sob_offers;

void sob_offers_init(sob_offers *o);
void sob_offers_free(sob_offers *o);
/* A /offers page (records under _embedded.records) or one /offers/{id} record (detected by the
 * top-level keys). Required per record: id, seller, selling, buying, amount, price_r. */
sob_status sob_parse_offers(const char *buf, size_t len, sob_offers *out, sob_parse_error *err);

/* Settings of one parse; the plain calls use the defaults (a zeroed struct). Records whose bytes
 * are laid out like the previous record's are read by a learned template; no_templates = 1 reads
 * every record with the general reader instead (the two give identical results and errors: tests
 * compare them). tpl_hits is an output: the records templates read are added to it. Each call
 * has its own settings, so concurrent parses never share them. */
typedef struct sob_parse_opts {
    int no_templates;
    size_t tpl_hits;
} sob_parse_opts;

/* sob_parse_offers with settings (opts may be NULL: the defaults). */
sob_status sob_parse_offers_opts(const char *buf, size_t len, sob_offers *out, sob_parse_error *err,
                                 sob_parse_opts *opts);

/* ---- GET /trades (page, or one record such as the data: of a /trades SSE event) ---- */
#define SOB_TRADE_ORDERBOOK 0
#define SOB_TRADE_LIQUIDITY_POOL 1

typedef struct sob_trade_rec {
    char id[48];
    char paging_token[48];
    int64_t ledger_close_time; /* unix seconds, from "2019-03-28T10:45:28Z" */
    uint8_t trade_type;        /* 0 orderbook, 1 liquidity_pool (absent => orderbook) */
    int32_t lp_fee_bp;         /* -1 if absent */
    int64_t base_offer_id, counter_offer_id; /* 0 if absent; strings or numbers, 0..INT64_MAX */
    char base_account[57], counter_account[57]; /* "" if absent */
    char base_liquidity_pool_id[65], counter_liquidity_pool_id[65]; /* "" if absent */
    sob_asset base_asset, counter_asset;
    uint64_t base_amount, counter_amount; /* <= INT64_MAX */
    int64_t price_n, price_d; /* "price":{"n":..,"d":..}, string or number, > 0, fits int64 */
    uint8_t base_is_seller;
} sob_trade_rec;

typedef struct sob_trades {
    sob_trade_rec *v;
    size_t len, cap;
} sob_trades;

void sob_trades_init(sob_trades *t);
void sob_trades_free(sob_trades *t);
/* Required per record: id, paging_token, ledger_close_time, base_amount, counter_amount,
 * base_asset_type, counter_asset_type, base_is_seller, price. */
sob_status sob_parse_trades(const char *buf, size_t len, sob_trades *out, sob_parse_error *err);

/* ---- GET /liquidity_pools, /liquidity_pools/{id} ---- */
typedef struct sob_pool_rec {
    char id[65]; /* 1..64 lowercase hex chars */
    int32_t fee_bp;
    uint64_t total_shares; /* stroops, <= INT64_MAX */
    uint64_t total_trustlines;
    sob_asset reserve_asset[2];
    uint64_t reserve_amount[2]; /* stroops, <= INT64_MAX */
} sob_pool_rec;

typedef struct sob_pools {
    sob_pool_rec *v;
    size_t len, cap;
} sob_pools;

void sob_pools_init(sob_pools *p);
void sob_pools_free(sob_pools *p);
/* A /liquidity_pools page or one /liquidity_pools/{id} record. Reserve assets are strings:
 * "native" or "CODE:ISSUER"; exactly two reserves. Required: id, fee_bp, total_trustlines,
 * total_shares, reserves. */
sob_status sob_parse_liquidity_pools(const char *buf, size_t len, sob_pools *out,
                                     sob_parse_error *err);

/* ---- Helpers (also used by the bindings) ---- */
/* "12.3456789" -> 123456789: digits, optional '.' + 1..7 digits; no sign, exponent or space.
 * Syntax errors -> SOB_E_PARSE; value > max -> SOB_E_OVERFLOW. */
sob_status sob_parse_amount(const char *s, size_t len, uint64_t max, uint64_t *out);
/* Always 7 decimals: 123456789 -> "12.3456789". buf must hold >= 32 bytes; NUL-terminated;
 * returns the length. */
size_t sob_format_amount(uint64_t stroops, char *buf);
/* 1 if s is a G... ed25519 account StrKey: 56 chars of RFC 4648 base32, version byte 6<<3,
 * CRC16-XModem of version+key appended little-endian. */
int sob_strkey_account_valid(const char *s, size_t len);

#ifdef __cplusplus
}
#endif

#endif
