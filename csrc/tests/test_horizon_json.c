/* test_horizon_json.c: the Horizon JSON scanners against the recorded fixtures, hand-written
 * accept/reject cases for every rule, every prefix of a real book, random mutations (run this
 * under the SOB_SANITIZE build), and a timing loop for a 200+200 level book. */
#define _POSIX_C_SOURCE 200809L
#include "horizon_json.h"
#include "testlib.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>



#define ISS "GBVOL67TMUQBGL4TZYNMY3ZQ5WGQYFPFD5VJRWXR72VA33VFNL225PL5"
#define ISS_BAD "GBVOL67TMUQBGL4TZYNMY3ZQ5WGQYFPFD5VJRWXR72VA33VFNL225PL6"
#define ACC "GDOJCPYIB66RY4XNDLRRHQQXB27YLNNAGAYV5HMHEYNYY4KUNV5FDV2F"
#define POOLID "dd7b1ab831c273310ddbec6f97870aa83c2fbd78ce22aded37ecbf4f3380fac7"

/* Reusable out structs: also exercises "vectors are reset, not appended to". */
static sob_order_book_doc g_book;
static sob_offers g_offers;
static sob_trades g_trades;
static sob_pools g_pools;
static sob_parse_error g_err;

/* Every parse goes through an exact-size heap copy so ASan catches any read past the end. */
static char *dup_exact(const char *s, size_t len) {
    char *b = malloc(len ? len : 1);
    if (!b) abort();
    memcpy(b, s, len);
    return b;
}

enum { K_BOOK, K_OFFERS, K_TRADES, K_POOLS };

/* This test's parse settings for offers (templates on or off; records templates read). */
static sob_parse_opts g_opts;

static sob_status parse_kind(int kind, const char *s, size_t len) {
    char *b = dup_exact(s, len);
    sob_status st;
    g_err.offset = (size_t)-1;
    g_err.reason = NULL;
    switch (kind) {
    case K_BOOK: st = sob_parse_order_book(b, len, &g_book, &g_err); break;
    case K_OFFERS: st = sob_parse_offers_opts(b, len, &g_offers, &g_err, &g_opts); break;
    case K_TRADES: st = sob_parse_trades(b, len, &g_trades, &g_err); break;
    default: st = sob_parse_liquidity_pools(b, len, &g_pools, &g_err); break;
    }
    free(b);
    /* Every failure names a reason and an offset inside the input. */
    if (st != SOB_OK && (g_err.reason == NULL || g_err.offset > len)) {
        sob_test_failed++;
        fprintf(stderr, "error without reason/offset (status %d)\n", (int)st);
    }
    return st;
}

static int expect(int kind, const char *json, sob_status want, const char *reason_substr, int line) {
    sob_status got = parse_kind(kind, json, strlen(json));
    int ok = got == want;
    if (ok && want != SOB_OK && reason_substr && (!g_err.reason || !strstr(g_err.reason, reason_substr)))
        ok = 0;
    if (ok) {
        sob_test_passed++;
    } else {
        sob_test_failed++;
        fprintf(stderr, "line %d: status %d (want %d), reason \"%s\" at %zu\n  doc: %.300s\n", line,
                (int)got, (int)want, g_err.reason ? g_err.reason : "", g_err.offset, json);
    }
    return ok;
}
#define EXPECT(kind, json, want) expect(kind, json, want, NULL, __LINE__)
#define EXPECT_R(kind, json, want, r) expect(kind, json, want, r, __LINE__)

/* ------------------------------------------------------------------------------------------ */

/* The payload of the first "data: " line of an SSE file (one event per fixture). */
static int sse_data(const char *buf, size_t len, const char **out, size_t *olen) {
    const char *p = buf, *e = buf + len;
    while (p < e) {
        const char *nl = memchr(p, '\n', (size_t)(e - p));
        const char *le = nl ? nl : e;
        if (le - p >= 6 && memcmp(p, "data: ", 6) == 0) {
            *out = p + 6;
            *olen = (size_t)(le - p - 6);
            return 1;
        }
        p = nl ? nl + 1 : e;
    }
    return 0;
}

static const char *g_fixdir;

static char *fixture(const char *name, size_t *len) {
    char path[1024];
    snprintf(path, sizeof path, "%s%s", g_fixdir, name);
    char *b = sob_test_read_file(path, len);
    if (!b) {
        sob_test_failed++;
        fprintf(stderr, "cannot read fixture %s\n", path);
    }
    return b;
}

static int lvl_is(const sob_level *l, int32_t n, int32_t d, uint64_t amount) {
    return l->n == n && l->d == d && l->amount == amount;
}

static void test_fixtures(void) {
    size_t len;
    char *b;

    b = fixture("go_horizonclient_orderbook_20x20.json", &len);
    if (b) {
        CHECK(parse_kind(K_BOOK, b, len) == SOB_OK);
        CHECK(g_book.bids.len == 20 && g_book.asks.len == 20);
        CHECK(lvl_is(&g_book.bids.v[0], 10000000, 416041, 645477778));
        CHECK(lvl_is(&g_book.bids.v[19], 5000000, 209463, 687506816));
        CHECK(lvl_is(&g_book.asks.v[0], 60099621, 2500000, 1142409695894ULL));
        CHECK(lvl_is(&g_book.asks.v[19], 15590707, 625000, 512253042));
        CHECK(g_book.base.type == SOB_ASSET_NATIVE && g_book.base.code[0] == 0 && g_book.base.issuer[0] == 0);
        CHECK(g_book.counter.type == SOB_ASSET_CREDIT_ALPHANUM4 && !strcmp(g_book.counter.code, "ABC") &&
              !strcmp(g_book.counter.issuer, "GCLWGQPMKXQSPF776IU33AH4PZNOOWNAWGGKVTBQMIC5IMKUNP3E6NVU"));
        /* Every proper prefix (the file ends at its closing brace) must fail. */
        size_t end = len;
        while (end && (b[end - 1] == ' ' || b[end - 1] == '\n' || b[end - 1] == '\r' || b[end - 1] == '\t')) end--;
        int prefix_ok = 1;
        for (size_t i = 0; i < end; i++)
            if (parse_kind(K_BOOK, b, i) == SOB_OK) {
                prefix_ok = 0;
                fprintf(stderr, "prefix of length %zu parsed\n", i);
            }
        CHECK(prefix_ok);
        /* and the full document with trailing whitespace still parses */
        char *w = malloc(len + 3);
        memcpy(w, b, len);
        memcpy(w + len, " \n\t", 3);
        CHECK(parse_kind(K_BOOK, w, len + 3) == SOB_OK);
        w[len + 1] = 'x';
        CHECK(parse_kind(K_BOOK, w, len + 3) == SOB_E_PARSE);
        free(w);
        free(b);
    }

    b = fixture("go_horizonclient_orderbook_stream_20x20.sse", &len);
    if (b) {
        const char *d;
        size_t dl;
        CHECK(sse_data(b, len, &d, &dl));
        CHECK(parse_kind(K_BOOK, d, dl) == SOB_OK);
        CHECK(g_book.bids.len == 20 && g_book.asks.len == 20);
        CHECK(lvl_is(&g_book.bids.v[0], 10000000, 416041, 645477778));
        CHECK(lvl_is(&g_book.asks.v[19], 15590707, 625000, 512253042));
        CHECK(!strcmp(g_book.counter.code, "ABC"));
        free(b);
    }

    b = fixture("go_horizonclient_orderbook_xlm_btc_2x2.json", &len);
    if (b) {
        CHECK(parse_kind(K_BOOK, b, len) == SOB_OK);
        CHECK(g_book.bids.len == 2 && g_book.asks.len == 2);
        CHECK(lvl_is(&g_book.bids.v[0], 48904, 1949839975, 841405));
        CHECK(lvl_is(&g_book.bids.v[1], 273, 10917280, 5749));
        CHECK(lvl_is(&g_book.asks.v[0], 2, 78125, 33547460938ULL));
        CHECK(lvl_is(&g_book.asks.v[1], 10178, 394234000, 17314070)); /* unreduced, kept */
        CHECK(!strcmp(g_book.counter.code, "BTC") && !strcmp(g_book.counter.issuer, ISS));
        free(b);
    }

    b = fixture("go_ticker_docs_orderbook_xlm_btc_mainnet.json", &len);
    if (b) {
        CHECK(parse_kind(K_BOOK, b, len) == SOB_OK);
        CHECK(g_book.bids.len == 4 && g_book.asks.len == 3);
        CHECK(lvl_is(&g_book.bids.v[0], 223, 10000000, 6261));
        CHECK(lvl_is(&g_book.bids.v[1], 16469, 739692077, 37850));
        CHECK(lvl_is(&g_book.asks.v[2], 113, 5000000, 3356238939ULL));
        CHECK(!strcmp(g_book.counter.issuer, "GATEMHCCKCY67ZUCKTROYN24ZYT5GK4EQZ65JJLDHKHRUZI3EUEKMTCH"));
        free(b);
    }

    b = fixture("go_horizonclient_account_offers_page.json", &len);
    if (b) {
        CHECK(parse_kind(K_OFFERS, b, len) == SOB_OK);
        CHECK(g_offers.len == 1);
        if (g_offers.len == 1) {
            sob_offer_rec *o = &g_offers.v[0];
            CHECK(o->id == 432323 && !strcmp(o->seller, ACC));
            CHECK(o->selling.type == SOB_ASSET_CREDIT_ALPHANUM4 && !strcmp(o->selling.code, "ABC") &&
                  !strcmp(o->selling.issuer, "GDP6QEA4A5CRNGUIGYHHFETDPNEESIZFW53RVISXGSALI7KXNUC4YBWD"));
            CHECK(o->buying.type == SOB_ASSET_NATIVE);
            CHECK(o->amount == 19999798700000ULL && o->n == 100 && o->d == 1);
            CHECK(o->last_modified_ledger == 103307);
        }
        /* The same bytes are not a book, a trade page or a pool page. */
        CHECK(parse_kind(K_BOOK, b, len) == SOB_E_PARSE);
        CHECK(parse_kind(K_TRADES, b, len) == SOB_E_PARSE);
        CHECK(parse_kind(K_POOLS, b, len) != SOB_OK);
        free(b);
    }

    b = fixture("go_horizonclient_offer.json", &len);
    if (b) {
        CHECK(parse_kind(K_OFFERS, b, len) == SOB_OK);
        CHECK(g_offers.len == 1);
        if (g_offers.len == 1) {
            sob_offer_rec *o = &g_offers.v[0];
            CHECK(o->id == 5635 && !strcmp(o->seller, "GD6UOZ3FGFI5L2X6F52YPJ6ICSW375BNBZIQC4PCLSEOO6SMX7CUS5MB"));
            CHECK(o->selling.type == SOB_ASSET_NATIVE);
            CHECK(o->buying.type == SOB_ASSET_CREDIT_ALPHANUM12 && !strcmp(o->buying.code, "AstroDollar"));
            CHECK(o->amount == 1000000000ULL && o->n == 10 && o->d == 1 && o->last_modified_ledger == 356183);
        }
        free(b);
    }

    b = fixture("go_horizonclient_trades_page_testnet.json", &len);
    if (b) {
        CHECK(parse_kind(K_TRADES, b, len) == SOB_OK);
        CHECK(g_trades.len == 2);
        if (g_trades.len == 2) {
            sob_trade_rec *t = &g_trades.v[0];
            CHECK(!strcmp(t->id, "2099319884746791-0") && !strcmp(t->paging_token, "2099319884746791-0"));
            CHECK(t->ledger_close_time == 1553769928);
            CHECK(t->trade_type == SOB_TRADE_ORDERBOOK && t->lp_fee_bp == -1);
            CHECK(t->base_offer_id == 4613785338312134695LL && t->counter_offer_id == 3698823);
            CHECK(!strcmp(t->base_account, "GAQHWQYBBW272OOXNQMMLCA5WY2XAZPODGB7Q3S5OKKIXVESKO55ZQ7C"));
            CHECK(t->base_amount == 24104452 && t->counter_amount == 973412);
            CHECK(!strcmp(t->base_asset.code, "DSQ") && !strcmp(t->counter_asset.code, "USD"));
            CHECK(t->price_n == 2000000 && t->price_d == 49525693 && t->base_is_seller == 0);
            CHECK(t->base_liquidity_pool_id[0] == 0);
            t = &g_trades.v[1];
            CHECK(t->base_amount == 893535843 && t->counter_amount == 36083729);
            CHECK(t->ledger_close_time == 1553769902);
        }
        free(b);
    }

    b = fixture("go_horizonclient_trade_stream.sse", &len);
    if (b) {
        const char *d;
        size_t dl;
        CHECK(sse_data(b, len, &d, &dl));
        CHECK(parse_kind(K_TRADES, d, dl) == SOB_OK);
        CHECK(g_trades.len == 1);
        if (g_trades.len == 1) {
            sob_trade_rec *t = &g_trades.v[0];
            CHECK(!strcmp(t->id, "76909979385857-0") && t->ledger_close_time == 1551353380);
            CHECK(t->base_offer_id == 4611762928406773761LL && t->counter_offer_id == 494);
            CHECK(t->base_asset.type == SOB_ASSET_NATIVE && t->counter_asset.type == SOB_ASSET_CREDIT_ALPHANUM4);
            CHECK(!strcmp(t->counter_asset.code, "WTF"));
            CHECK(t->base_amount == 1 && t->counter_amount == 1000);
            CHECK(t->price_n == 1000 && t->price_d == 1);
        }
        free(b);
    }

    b = fixture("go_horizonclient_liquidity_pool.json", &len);
    if (b) {
        CHECK(parse_kind(K_POOLS, b, len) == SOB_OK);
        CHECK(g_pools.len == 1);
        if (g_pools.len == 1) {
            sob_pool_rec *p = &g_pools.v[0];
            CHECK(!strcmp(p->id, "abcdef") && p->fee_bp == 30);
            CHECK(p->total_trustlines == 300 && p->total_shares == 50000000000ULL);
            CHECK(p->reserve_asset[0].type == SOB_ASSET_CREDIT_ALPHANUM4 && !strcmp(p->reserve_asset[0].code, "EURT"));
            CHECK(!strcmp(p->reserve_asset[0].issuer, "GAP5LETOV6YIE62YAM56STDANPRDO7ZFDBGSNHJQIYGGKSMOZAHOOS2S"));
            CHECK(p->reserve_amount[0] == 10000000005ULL && p->reserve_amount[1] == 20000000000ULL);
            CHECK(!strcmp(p->reserve_asset[1].code, "PHP"));
        }
        free(b);
    }
}

/* ------------------------------------------------------------------------------------------ */

#define NATIVE "{\"asset_type\":\"native\"}"
#define BTC "{\"asset_type\":\"credit_alphanum4\",\"asset_code\":\"BTC\",\"asset_issuer\":\"" ISS "\"}"
#define LVL(n, d, amt) "{\"price_r\":{\"n\":" #n ",\"d\":" #d "},\"price\":\"1.0000000\",\"amount\":\"" amt "\"}"
#define BOOK(bids, asks) "{\"bids\":[" bids "],\"asks\":[" asks "],\"base\":" NATIVE ",\"counter\":" BTC "}"
#define BOOK_CTR(ctr) "{\"bids\":[],\"asks\":[],\"base\":" NATIVE ",\"counter\":" ctr "}"
#define BOOK_LVL(lvl) "{\"bids\":[" lvl "],\"asks\":[],\"base\":" NATIVE ",\"counter\":" BTC "}"
#define BOOK_AMT(a) BOOK_LVL("{\"price_r\":{\"n\":1,\"d\":2},\"price\":\"0.5\",\"amount\":" a "}")
#define BOOK_N(n) BOOK_LVL("{\"price_r\":{\"n\":" n ",\"d\":2},\"price\":\"0.5\",\"amount\":\"1\"}")

static void test_book_edges(void) {
    /* accept */
    EXPECT(K_BOOK, BOOK("", ""), SOB_OK);
    CHECK(g_book.bids.len == 0 && g_book.asks.len == 0);
    EXPECT(K_BOOK, BOOK(LVL(1, 2, "1.5") "," LVL(3, 7, "100"), LVL(10178, 394234000, "0.0000001")), SOB_OK);
    CHECK(g_book.bids.len == 2 && lvl_is(&g_book.bids.v[0], 1, 2, 15000000) && lvl_is(&g_book.bids.v[1], 3, 7, 1000000000));
    CHECK(g_book.asks.len == 1 && lvl_is(&g_book.asks.v[0], 10178, 394234000, 1));
    /* reuse resets: a smaller doc after a bigger one */
    EXPECT(K_BOOK, BOOK(LVL(5, 1, "2"), ""), SOB_OK);
    CHECK(g_book.bids.len == 1 && g_book.asks.len == 0 && lvl_is(&g_book.bids.v[0], 5, 1, 20000000));
    /* any key order and JSON whitespace */
    EXPECT(K_BOOK, " \t\r\n{ \"counter\" : " BTC " ,\r\n\t\"asks\" :[ ] , \"base\": " NATIVE ",\n\"bids\": [ { \"amount\" : \"1\" , \"price_r\" : { \"d\" : 3 , \"n\" : 2 } } ] }\n ", SOB_OK);
    CHECK(g_book.bids.len == 1 && lvl_is(&g_book.bids.v[0], 2, 3, 10000000));
    /* unknown keys of every type, anywhere, including _links */
    EXPECT(K_BOOK, "{\"_links\":{\"self\":{\"href\":\"https://x/order_book?a=b\"}},\"x\":[1,-2.5e+3,0,-0,1E-2,true,false,null,\"s\\u00e9\\\"\\\\\\/\\b\\f\\n\\r\\t\",{},[[]]],"
                   "\"bids\":[{\"z\":{\"a\":null},\"price_r\":{\"n\":1,\"d\":1,\"q\":\"r\"},\"amount\":\"1\",\"price\":\"9\"}],\"asks\":[],"
                   "\"base\":{\"asset_type\":\"native\",\"extra\":1},\"counter\":" BTC ",\"y\":\"\\ud83d\\ude00\"}", SOB_OK);
    /* duplicate unknown keys are ignored */
    EXPECT(K_BOOK, "{\"x\":1,\"x\":2,\"bids\":[],\"asks\":[],\"base\":" NATIVE ",\"counter\":" BTC "}", SOB_OK);
    /* escaped keys and escaped values that matter are decoded */
    EXPECT(K_BOOK, "{\"b\\u0069ds\":[],\"asks\":[],\"base\":" NATIVE ",\"counter\":{\"asset_type\":\"credit_alphanum4\",\"asset_code\":\"\\u0042T\\u0043\",\"asset_issuer\":\"" ISS "\"}}", SOB_OK);
    CHECK(!strcmp(g_book.counter.code, "BTC"));
    /* 12-character codes */
    EXPECT(K_BOOK, BOOK_CTR("{\"asset_type\":\"credit_alphanum12\",\"asset_code\":\"ABCDEFGHIJ12\",\"asset_issuer\":\"" ISS "\"}"), SOB_OK);
    CHECK(g_book.counter.type == SOB_ASSET_CREDIT_ALPHANUM12 && !strcmp(g_book.counter.code, "ABCDEFGHIJ12"));
    EXPECT(K_BOOK, BOOK_CTR("{\"asset_type\":\"credit_alphanum12\",\"asset_code\":\"ABCDE\",\"asset_issuer\":\"" ISS "\"}"), SOB_OK);
    EXPECT(K_BOOK, BOOK_CTR("{\"asset_type\":\"credit_alphanum4\",\"asset_code\":\"A\",\"asset_issuer\":\"" ISS "\"}"), SOB_OK);
    /* level totals above INT64_MAX (Horizon's own test) up to UINT64_MAX */
    EXPECT(K_BOOK, BOOK_AMT("\"922337203685.4776807\""), SOB_OK);
    CHECK(g_book.bids.v[0].amount == 9223372036854776807ULL);
    EXPECT(K_BOOK, BOOK_AMT("\"1844674407370.9551615\""), SOB_OK);
    CHECK(g_book.bids.v[0].amount == UINT64_MAX);
    EXPECT(K_BOOK, BOOK_AMT("\"0\""), SOB_OK);
    EXPECT(K_BOOK, BOOK_AMT("\"0.0000000\""), SOB_OK);
    /* price_r bounds */
    EXPECT(K_BOOK, BOOK_N("2147483647"), SOB_OK);
    CHECK(g_book.bids.v[0].n == INT32_MAX);
    /* price that disagrees with price_r: price_r wins */
    EXPECT(K_BOOK, BOOK_LVL("{\"price_r\":{\"n\":1,\"d\":3},\"price\":\"123.0000000\",\"amount\":\"1\"}"), SOB_OK);
    CHECK(g_book.bids.v[0].n == 1 && g_book.bids.v[0].d == 3);
    /* price is optional */
    EXPECT(K_BOOK, BOOK_LVL("{\"price_r\":{\"n\":1,\"d\":3},\"amount\":\"1\"}"), SOB_OK);

    /* reject: amounts */
    EXPECT_R(K_BOOK, BOOK_AMT("\"1.12345678\""), SOB_E_PARSE, "more than 7 decimals");
    EXPECT(K_BOOK, BOOK_AMT("\"1844674407370.9551616\""), SOB_E_OVERFLOW);
    EXPECT(K_BOOK, BOOK_AMT("\"99999999999999999999999999999\""), SOB_E_OVERFLOW);
    EXPECT(K_BOOK, BOOK_AMT("\"-1\""), SOB_E_PARSE);
    EXPECT(K_BOOK, BOOK_AMT("\"+1\""), SOB_E_PARSE);
    EXPECT(K_BOOK, BOOK_AMT("\"1e3\""), SOB_E_PARSE);
    EXPECT(K_BOOK, BOOK_AMT("\"\""), SOB_E_PARSE);
    EXPECT(K_BOOK, BOOK_AMT("\" 1\""), SOB_E_PARSE);
    EXPECT(K_BOOK, BOOK_AMT("\"1 \""), SOB_E_PARSE);
    EXPECT(K_BOOK, BOOK_AMT("\"1.\""), SOB_E_PARSE);
    EXPECT(K_BOOK, BOOK_AMT("\".5\""), SOB_E_PARSE);
    EXPECT(K_BOOK, BOOK_AMT("\"1.2.3\""), SOB_E_PARSE);
    EXPECT(K_BOOK, BOOK_AMT("1.5"), SOB_E_PARSE);
    EXPECT(K_BOOK, BOOK_AMT("null"), SOB_E_PARSE);
    /* reject: n/d */
    EXPECT_R(K_BOOK, BOOK_N("2147483648"), SOB_E_OVERFLOW, "price_r.n must be an int32 > 0");
    EXPECT(K_BOOK, BOOK_N("99999999999999999999999"), SOB_E_OVERFLOW);
    EXPECT_R(K_BOOK, BOOK_N("0"), SOB_E_INVALID, "price_r.n");
    EXPECT(K_BOOK, BOOK_N("-1"), SOB_E_INVALID);
    EXPECT(K_BOOK, BOOK_N("-0"), SOB_E_INVALID);
    EXPECT(K_BOOK, BOOK_N("1.0"), SOB_E_PARSE);
    EXPECT(K_BOOK, BOOK_N("1e3"), SOB_E_PARSE);
    EXPECT(K_BOOK, BOOK_N("01"), SOB_E_PARSE);
    EXPECT(K_BOOK, BOOK_N("+1"), SOB_E_PARSE);
    EXPECT(K_BOOK, BOOK_N("\"5\""), SOB_E_PARSE);
    EXPECT(K_BOOK, BOOK_N("true"), SOB_E_PARSE);
    EXPECT_R(K_BOOK, BOOK_LVL("{\"price_r\":{\"n\":1,\"d\":0},\"amount\":\"1\"}"), SOB_E_INVALID, "price_r.d");
    EXPECT_R(K_BOOK, BOOK_LVL("{\"price_r\":{\"n\":1},\"amount\":\"1\"}"), SOB_E_PARSE, "missing key \"d\"");
    EXPECT_R(K_BOOK, BOOK_LVL("{\"price_r\":{\"n\":1,\"n\":2,\"d\":1},\"amount\":\"1\"}"), SOB_E_PARSE, "duplicate key \"n\"");
    EXPECT(K_BOOK, BOOK_LVL("{\"price_r\":[1,2],\"amount\":\"1\"}"), SOB_E_PARSE);
    EXPECT_R(K_BOOK, BOOK_LVL("{\"price_r\":{\"n\":1,\"d\":2},\"price\":0.5,\"amount\":\"1\"}"), SOB_E_PARSE, "price must be a string");
    /* reject: structure */
    EXPECT_R(K_BOOK, BOOK_LVL("{\"price_r\":{\"n\":1,\"d\":2}}"), SOB_E_PARSE, "missing key \"amount\"");
    EXPECT_R(K_BOOK, BOOK_LVL("{\"amount\":\"1\"}"), SOB_E_PARSE, "missing key \"price_r\"");
    EXPECT_R(K_BOOK, BOOK_LVL("{\"price_r\":{\"n\":1,\"d\":2},\"amount\":\"1\",\"amount\":\"1\"}"), SOB_E_PARSE, "duplicate key \"amount\"");
    EXPECT_R(K_BOOK, "{\"bids\":[],\"bids\":[],\"asks\":[],\"base\":" NATIVE ",\"counter\":" BTC "}", SOB_E_PARSE, "duplicate key \"bids\"");
    EXPECT_R(K_BOOK, "{\"b\\u0069ds\":[],\"bids\":[],\"asks\":[],\"base\":" NATIVE ",\"counter\":" BTC "}", SOB_E_PARSE, "duplicate key \"bids\"");
    EXPECT_R(K_BOOK, "{\"bids\":[],\"asks\":[],\"base\":" NATIVE "}", SOB_E_PARSE, "missing key \"counter\"");
    EXPECT(K_BOOK, "{\"bids\":{},\"asks\":[],\"base\":" NATIVE ",\"counter\":" BTC "}", SOB_E_PARSE);
    EXPECT(K_BOOK, "{\"bids\":[[]],\"asks\":[],\"base\":" NATIVE ",\"counter\":" BTC "}", SOB_E_PARSE);
    EXPECT(K_BOOK, "{\"bids\":[],\"asks\":[],\"base\":\"native\",\"counter\":" BTC "}", SOB_E_PARSE);
    EXPECT_R(K_BOOK, BOOK("", "") "x", SOB_E_PARSE, "trailing");
    EXPECT(K_BOOK, BOOK("", "") "{}", SOB_E_PARSE);
    EXPECT(K_BOOK, "[" BOOK("", "") "]", SOB_E_PARSE);
    EXPECT(K_BOOK, "", SOB_E_PARSE);
    EXPECT(K_BOOK, "   ", SOB_E_PARSE);
    EXPECT(K_BOOK, "null", SOB_E_PARSE);
    EXPECT_R(K_BOOK, BOOK(LVL(1, 2, "1") ",", ""), SOB_E_PARSE, "trailing comma");
    EXPECT(K_BOOK, "{\"bids\":[],\"asks\":[],\"base\":" NATIVE ",\"counter\":" BTC ",}", SOB_E_PARSE);
    EXPECT(K_BOOK, "{,\"bids\":[],\"asks\":[],\"base\":" NATIVE ",\"counter\":" BTC "}", SOB_E_PARSE);
    EXPECT(K_BOOK, "{\"bids\":[],\"asks\":[] \"base\":" NATIVE ",\"counter\":" BTC "}", SOB_E_PARSE);
    EXPECT(K_BOOK, "{\"bids\" [],\"asks\":[],\"base\":" NATIVE ",\"counter\":" BTC "}", SOB_E_PARSE);
    EXPECT(K_BOOK, "{bids:[],\"asks\":[],\"base\":" NATIVE ",\"counter\":" BTC "}", SOB_E_PARSE);
    EXPECT(K_BOOK, "{\"x\":tru,\"bids\":[],\"asks\":[],\"base\":" NATIVE ",\"counter\":" BTC "}", SOB_E_PARSE);
    EXPECT(K_BOOK, "{\"x\":01,\"bids\":[],\"asks\":[],\"base\":" NATIVE ",\"counter\":" BTC "}", SOB_E_PARSE);
    EXPECT(K_BOOK, "{\"x\":1.,\"bids\":[],\"asks\":[],\"base\":" NATIVE ",\"counter\":" BTC "}", SOB_E_PARSE);
    EXPECT(K_BOOK, "{\"x\":-,\"bids\":[],\"asks\":[],\"base\":" NATIVE ",\"counter\":" BTC "}", SOB_E_PARSE);
    EXPECT(K_BOOK, "{\"x\":1e,\"bids\":[],\"asks\":[],\"base\":" NATIVE ",\"counter\":" BTC "}", SOB_E_PARSE);
    EXPECT(K_BOOK, "{\"x\":'a',\"bids\":[],\"asks\":[],\"base\":" NATIVE ",\"counter\":" BTC "}", SOB_E_PARSE);
    EXPECT(K_BOOK, "{\"x\":NaN,\"bids\":[],\"asks\":[],\"base\":" NATIVE ",\"counter\":" BTC "}", SOB_E_PARSE);
    /* reject: strings */
    EXPECT_R(K_BOOK, "{\"x\":\"a\tb\",\"bids\":[],\"asks\":[],\"base\":" NATIVE ",\"counter\":" BTC "}", SOB_E_PARSE, "control character");
    EXPECT_R(K_BOOK, "{\"x\":\"a\nb\",\"bids\":[],\"asks\":[],\"base\":" NATIVE ",\"counter\":" BTC "}", SOB_E_PARSE, "control character");
    EXPECT_R(K_BOOK, "{\"x\":\"a\\xb\",\"bids\":[],\"asks\":[],\"base\":" NATIVE ",\"counter\":" BTC "}", SOB_E_PARSE, "invalid escape");
    EXPECT_R(K_BOOK, "{\"x\":\"\\u12G4\",\"bids\":[],\"asks\":[],\"base\":" NATIVE ",\"counter\":" BTC "}", SOB_E_PARSE, "\\u");
    EXPECT(K_BOOK, "{\"x\":\"\\'\",\"bids\":[],\"asks\":[],\"base\":" NATIVE ",\"counter\":" BTC "}", SOB_E_PARSE);
    /* a lone surrogate where the value matters cannot be decoded */
    EXPECT(K_BOOK, BOOK_CTR("{\"asset_type\":\"credit_alphanum4\",\"asset_code\":\"\\ud800A\",\"asset_issuer\":\"" ISS "\"}"), SOB_E_PARSE);
    /* reject: assets */
    EXPECT(K_BOOK, BOOK_CTR("{\"asset_type\":\"credit_alphanum12\",\"asset_code\":\"ABCDEFGHIJ123\",\"asset_issuer\":\"" ISS "\"}"), SOB_E_INVALID);
    EXPECT(K_BOOK, BOOK_CTR("{\"asset_type\":\"credit_alphanum12\",\"asset_code\":\"ABCD\",\"asset_issuer\":\"" ISS "\"}"), SOB_E_INVALID);
    EXPECT(K_BOOK, BOOK_CTR("{\"asset_type\":\"credit_alphanum4\",\"asset_code\":\"ABCDE\",\"asset_issuer\":\"" ISS "\"}"), SOB_E_INVALID);
    EXPECT(K_BOOK, BOOK_CTR("{\"asset_type\":\"credit_alphanum4\",\"asset_code\":\"\",\"asset_issuer\":\"" ISS "\"}"), SOB_E_INVALID);
    EXPECT(K_BOOK, BOOK_CTR("{\"asset_type\":\"credit_alphanum4\",\"asset_code\":\"B-C\",\"asset_issuer\":\"" ISS "\"}"), SOB_E_INVALID);
    EXPECT(K_BOOK, BOOK_CTR("{\"asset_type\":\"credit_alphanum4\",\"asset_code\":\"B\\u0000\",\"asset_issuer\":\"" ISS "\"}"), SOB_E_INVALID);
    EXPECT(K_BOOK, BOOK_CTR("{\"asset_type\":\"credit_alphanum4\",\"asset_code\":\"BTC\",\"asset_issuer\":\"" ISS_BAD "\"}"), SOB_E_INVALID);
    EXPECT(K_BOOK, BOOK_CTR("{\"asset_type\":\"credit_alphanum4\",\"asset_code\":\"BTC\",\"asset_issuer\":\"" ACC "A\"}"), SOB_E_INVALID);
    EXPECT(K_BOOK, BOOK_CTR("{\"asset_type\":\"credit_alphanum4\",\"asset_code\":\"BTC\"}"), SOB_E_PARSE);
    EXPECT(K_BOOK, BOOK_CTR("{\"asset_type\":\"credit_alphanum4\",\"asset_issuer\":\"" ISS "\"}"), SOB_E_PARSE);
    EXPECT(K_BOOK, BOOK_CTR("{\"asset_code\":\"BTC\",\"asset_issuer\":\"" ISS "\"}"), SOB_E_PARSE);
    EXPECT(K_BOOK, BOOK_CTR("{\"asset_type\":\"credit_alphanum\",\"asset_code\":\"BTC\",\"asset_issuer\":\"" ISS "\"}"), SOB_E_INVALID);
    EXPECT(K_BOOK, BOOK_CTR("{\"asset_type\":\"native\",\"asset_code\":\"XLM\"}"), SOB_E_INVALID);
    EXPECT(K_BOOK, BOOK_CTR("{\"asset_type\":\"native\",\"asset_issuer\":\"" ISS "\"}"), SOB_E_INVALID);
    EXPECT(K_BOOK, BOOK_CTR("{\"asset_type\":1}"), SOB_E_PARSE);
    EXPECT(K_BOOK, BOOK_CTR("{\"asset_type\":\"native\",\"asset_type\":\"native\"}"), SOB_E_PARSE);

    /* nesting: 64 levels in total are fine, 65 are not */
    {
        char doc[512];
        for (int depth = 63; depth <= 65; depth++) {
            /* top-level object is depth 1; the unknown value adds (depth-1) arrays */
            size_t n = 0;
            n += (size_t)sprintf(doc + n, "{\"x\":");
            for (int i = 0; i < depth - 1; i++) doc[n++] = '[';
            for (int i = 0; i < depth - 1; i++) doc[n++] = ']';
            n += (size_t)sprintf(doc + n, ",\"bids\":[],\"asks\":[],\"base\":%s,\"counter\":%s}", NATIVE, BTC);
            doc[n] = 0;
            EXPECT(K_BOOK, doc, depth <= 64 ? SOB_OK : SOB_E_LIMIT);
        }
        /* very deep input must not blow the stack */
        size_t big = 200000;
        char *d = malloc(big + 8);
        memcpy(d, "{\"x\":", 5);
        memset(d + 5, '[', big);
        CHECK(parse_kind(K_BOOK, d, big + 5) == SOB_E_LIMIT);
        memset(d + 5, '{', big);
        CHECK(parse_kind(K_BOOK, d, big + 5) == SOB_E_PARSE); /* '{' is not a key */
        free(d);
    }
    /* error offsets point at the problem */
    EXPECT(K_BOOK, "{\"bids\":[],\"asks\":[],\"base\":" NATIVE ",\"counter\":" NATIVE "}x", SOB_E_PARSE);
    CHECK(g_err.offset == 86);
    EXPECT(K_BOOK, "{\"bids\":[},", SOB_E_PARSE);
    CHECK(g_err.offset == 9);
}

/* ------------------------------------------------------------------------------------------ */

#define OFFER_BODY(idv, amount) \
    "\"id\":" idv ",\"paging_token\":\"1\",\"seller\":\"" ACC "\",\"selling\":" NATIVE ",\"buying\":" BTC \
    ",\"amount\":\"" amount "\",\"price_r\":{\"n\":3,\"d\":4},\"price\":\"0.75\",\"last_modified_ledger\":7"
#define OFFER(idv, amount) "{" OFFER_BODY(idv, amount) "}"

static void test_offers_edges(void) {
    EXPECT(K_OFFERS, OFFER("\"42\"", "1.5"), SOB_OK);
    CHECK(g_offers.len == 1 && g_offers.v[0].id == 42 && g_offers.v[0].amount == 15000000 &&
          g_offers.v[0].n == 3 && g_offers.v[0].d == 4 && g_offers.v[0].last_modified_ledger == 7 &&
          g_offers.v[0].buying.type == SOB_ASSET_CREDIT_ALPHANUM4);
    EXPECT(K_OFFERS, OFFER("42", "1.5"), SOB_OK);
    EXPECT(K_OFFERS, OFFER("\"9223372036854775807\"", "922337203685.4775807"), SOB_OK);
    CHECK(g_offers.v[0].id == INT64_MAX && g_offers.v[0].amount == (uint64_t)INT64_MAX);
    EXPECT(K_OFFERS, "{\"_links\":{},\"_embedded\":{\"records\":[" OFFER("1", "1") "," OFFER("2", "2") "," OFFER("3", "3") "]}}", SOB_OK);
    CHECK(g_offers.len == 3 && g_offers.v[2].id == 3 && g_offers.v[1].amount == 20000000);
    EXPECT(K_OFFERS, "{\"_embedded\":{\"records\":[]},\"_links\":{}}", SOB_OK);
    CHECK(g_offers.len == 0);
    EXPECT(K_OFFERS, OFFER("\"9223372036854775808\"", "1"), SOB_E_OVERFLOW);
    EXPECT(K_OFFERS, OFFER("\"-1\"", "1"), SOB_E_INVALID);
    EXPECT(K_OFFERS, OFFER("\"12a\"", "1"), SOB_E_PARSE);
    EXPECT(K_OFFERS, OFFER("\"\"", "1"), SOB_E_PARSE);
    EXPECT(K_OFFERS, OFFER("1.0", "1"), SOB_E_PARSE);
    EXPECT(K_OFFERS, OFFER("null", "1"), SOB_E_PARSE);
    EXPECT(K_OFFERS, OFFER("1", "922337203685.4775808"), SOB_E_OVERFLOW);
    EXPECT(K_OFFERS, OFFER("1", "1.00000001"), SOB_E_PARSE);
    EXPECT_R(K_OFFERS, "{\"id\":\"1\"}", SOB_E_PARSE, "missing key");
    EXPECT(K_OFFERS, "{\"_embedded\":{\"records\":[]}," OFFER_BODY("1", "1") "}", SOB_E_PARSE);
    EXPECT(K_OFFERS, "{" OFFER_BODY("1", "1") ",\"_embedded\":{\"records\":[]}}", SOB_E_PARSE);
    EXPECT(K_OFFERS, "{\"_embedded\":{\"records\":[]},\"_embedded\":{\"records\":[]}}", SOB_E_PARSE);
    EXPECT(K_OFFERS, "{\"_embedded\":{\"records\":[],\"records\":[]}}", SOB_E_PARSE);
    EXPECT(K_OFFERS, "{\"_embedded\":{}}", SOB_E_PARSE);
    EXPECT(K_OFFERS, "{\"_embedded\":{\"records\":{}}}", SOB_E_PARSE);
    EXPECT(K_OFFERS, "{\"_embedded\":{\"records\":[{\"id\":1}]}}", SOB_E_PARSE);
    EXPECT(K_OFFERS, "{\"_embedded\":{\"records\":[" OFFER("1", "1") "]}}x", SOB_E_PARSE);
    EXPECT(K_OFFERS, "{" OFFER_BODY("1", "1") ",\"seller\":\"" ACC "\"}", SOB_E_PARSE);
    EXPECT(K_OFFERS, "{" OFFER_BODY("1", "1") ",\"sponsor\":\"" ACC "\",\"last_modified_time\":null}", SOB_OK);
    /* seller checked as a StrKey */
    EXPECT(K_OFFERS, "{\"id\":1,\"seller\":\"" ISS_BAD "\",\"selling\":" NATIVE ",\"buying\":" BTC ",\"amount\":\"1\",\"price_r\":{\"n\":1,\"d\":1}}", SOB_E_INVALID);
    EXPECT(K_OFFERS, "{\"id\":1,\"seller\":\"" ISS "\",\"selling\":" NATIVE ",\"buying\":" BTC ",\"amount\":\"1\",\"price_r\":{\"n\":1,\"d\":1}}", SOB_OK);
    CHECK(g_offers.len == 1 && g_offers.v[0].last_modified_ledger == 0);
    EXPECT(K_OFFERS, "{\"id\":1,\"seller\":\"" ISS "\",\"selling\":" NATIVE ",\"buying\":" BTC ",\"amount\":\"1\",\"price_r\":{\"n\":1,\"d\":-1}}", SOB_E_INVALID);
    EXPECT(K_OFFERS, "{\"id\":1,\"seller\":\"" ISS "\",\"selling\":" NATIVE ",\"buying\":" BTC ",\"amount\":\"1\",\"price_r\":{\"n\":1,\"d\":1},\"last_modified_ledger\":4294967296}", SOB_E_OVERFLOW);
}

#define TRADE_BASE(extra)                                                                            \
    "{\"id\":\"1-0\",\"paging_token\":\"1-0\",\"ledger_close_time\":\"2021-11-23T00:00:00Z\","     \
    "\"base_amount\":\"1\",\"counter_amount\":\"2.5\",\"base_asset_type\":\"native\","               \
    "\"counter_asset_type\":\"credit_alphanum12\",\"counter_asset_code\":\"LONGCODE\",\"counter_asset_issuer\":\"" ISS "\"," \
    "\"base_is_seller\":true" extra "}"

static void test_trades_edges(void) {
    EXPECT(K_TRADES, TRADE_BASE(",\"price\":{\"n\":\"9223372036854775807\",\"d\":\"1\"}"), SOB_OK);
    CHECK(g_trades.len == 1 && g_trades.v[0].price_n == INT64_MAX && g_trades.v[0].price_d == 1 &&
          g_trades.v[0].base_is_seller == 1 && g_trades.v[0].ledger_close_time == 1637625600 &&
          g_trades.v[0].counter_amount == 25000000 && g_trades.v[0].lp_fee_bp == -1 &&
          g_trades.v[0].base_offer_id == 0 && g_trades.v[0].counter_asset.type == SOB_ASSET_CREDIT_ALPHANUM12);
    /* a pool trade */
    EXPECT(K_TRADES, TRADE_BASE(",\"price\":{\"n\":3,\"d\":2},\"trade_type\":\"liquidity_pool\",\"liquidity_pool_fee_bp\":30,"
                                "\"base_liquidity_pool_id\":\"" POOLID "\",\"counter_offer_id\":\"4611686018427387905\",\"counter_account\":\"" ACC "\""), SOB_OK);
    CHECK(g_trades.len == 1 && g_trades.v[0].trade_type == SOB_TRADE_LIQUIDITY_POOL && g_trades.v[0].lp_fee_bp == 30 &&
          !strcmp(g_trades.v[0].base_liquidity_pool_id, POOLID) && g_trades.v[0].counter_offer_id == 4611686018427387905LL &&
          !strcmp(g_trades.v[0].counter_account, ACC) && g_trades.v[0].price_n == 3);
    EXPECT(K_TRADES, TRADE_BASE(",\"price\":{\"n\":\"1\",\"d\":1},\"trade_type\":\"orderbook\""), SOB_OK);
    /* times: fractions and offsets as Go's RFC 3339 may print them */
    EXPECT(K_TRADES, "{\"id\":\"1\",\"paging_token\":\"1\",\"ledger_close_time\":\"2021-11-23T01:00:00.5+01:00\",\"base_amount\":\"1\",\"counter_amount\":\"1\",\"base_asset_type\":\"native\",\"counter_asset_type\":\"native\",\"base_is_seller\":false,\"price\":{\"n\":1,\"d\":1}}", SOB_OK);
    CHECK(g_trades.len == 1 && g_trades.v[0].ledger_close_time == 1637625600);
    EXPECT(K_TRADES, TRADE_BASE(",\"price\":{\"n\":\"0\",\"d\":\"1\"}"), SOB_E_INVALID);
    EXPECT(K_TRADES, TRADE_BASE(",\"price\":{\"n\":\"9223372036854775808\",\"d\":\"1\"}"), SOB_E_OVERFLOW);
    EXPECT(K_TRADES, TRADE_BASE(",\"price\":{\"n\":\"1.5\",\"d\":\"1\"}"), SOB_E_PARSE);
    EXPECT(K_TRADES, TRADE_BASE(",\"price\":\"1.5\""), SOB_E_PARSE);
    EXPECT_R(K_TRADES, TRADE_BASE(""), SOB_E_PARSE, "missing key \"price\"");
    EXPECT(K_TRADES, TRADE_BASE(",\"price\":{\"n\":1,\"d\":1},\"trade_type\":\"all\""), SOB_E_INVALID);
    EXPECT(K_TRADES, TRADE_BASE(",\"price\":{\"n\":1,\"d\":1},\"base_offer_id\":\"-5\""), SOB_E_INVALID);
    EXPECT(K_TRADES, TRADE_BASE(",\"price\":{\"n\":1,\"d\":1},\"base_offer_id\":\"9223372036854775808\""), SOB_E_OVERFLOW);
    EXPECT(K_TRADES, TRADE_BASE(",\"price\":{\"n\":1,\"d\":1},\"base_account\":\"" ISS_BAD "\""), SOB_E_INVALID);
    EXPECT(K_TRADES, TRADE_BASE(",\"price\":{\"n\":1,\"d\":1},\"base_liquidity_pool_id\":\"XYZ\""), SOB_E_INVALID);
    EXPECT(K_TRADES, TRADE_BASE(",\"price\":{\"n\":1,\"d\":1},\"base_asset_code\":\"XLM\""), SOB_E_INVALID);
    EXPECT(K_TRADES, TRADE_BASE(",\"price\":{\"n\":1,\"d\":1},\"base_is_seller\":true"), SOB_E_PARSE);
    EXPECT(K_TRADES, TRADE_BASE(",\"price\":{\"n\":1,\"d\":1},\"liquidity_pool_fee_bp\":\"30\""), SOB_E_PARSE);
    EXPECT(K_TRADES, "{\"id\":\"1\",\"paging_token\":\"1\",\"ledger_close_time\":\"2021-02-29T00:00:00Z\",\"base_amount\":\"1\",\"counter_amount\":\"1\",\"base_asset_type\":\"native\",\"counter_asset_type\":\"native\",\"base_is_seller\":false,\"price\":{\"n\":1,\"d\":1}}", SOB_E_INVALID);
    EXPECT(K_TRADES, "{\"id\":\"1\",\"paging_token\":\"1\",\"ledger_close_time\":\"2021-11-23 00:00:00Z\",\"base_amount\":\"1\",\"counter_amount\":\"1\",\"base_asset_type\":\"native\",\"counter_asset_type\":\"native\",\"base_is_seller\":false,\"price\":{\"n\":1,\"d\":1}}", SOB_E_INVALID);
    EXPECT(K_TRADES, "{\"id\":\"1\",\"paging_token\":\"1\",\"ledger_close_time\":\"2021-11-23T00:00:00Z\",\"base_amount\":\"1\",\"counter_amount\":\"1\",\"base_asset_type\":\"native\",\"counter_asset_type\":\"credit_alphanum4\",\"base_is_seller\":false,\"price\":{\"n\":1,\"d\":1}}", SOB_E_PARSE);
    EXPECT(K_TRADES, "{\"id\":\"" "012345678901234567890123456789012345678901234567" "\",\"paging_token\":\"1\",\"ledger_close_time\":\"2021-11-23T00:00:00Z\",\"base_amount\":\"1\",\"counter_amount\":\"1\",\"base_asset_type\":\"native\",\"counter_asset_type\":\"native\",\"base_is_seller\":false,\"price\":{\"n\":1,\"d\":1}}", SOB_E_INVALID);
    EXPECT(K_TRADES, "{\"_embedded\":{\"records\":[" TRADE_BASE(",\"price\":{\"n\":1,\"d\":1}") "," TRADE_BASE(",\"price\":{\"n\":2,\"d\":1}") "]}}", SOB_OK);
    CHECK(g_trades.len == 2 && g_trades.v[1].price_n == 2);
}

#define RES(a, amt) "{\"asset\":\"" a "\",\"amount\":\"" amt "\"}"
#define POOL(id, res) "{\"id\":\"" id "\",\"paging_token\":\"x\",\"fee_bp\":30,\"type\":\"constant_product\",\"total_trustlines\":\"2\",\"total_shares\":\"10\",\"reserves\":[" res "],\"last_modified_ledger\":1}"

static void test_pools_edges(void) {
    EXPECT(K_POOLS, POOL(POOLID, RES("native", "1") "," RES("ABCDEFGHIJKL:" ISS, "2")), SOB_OK);
    CHECK(g_pools.len == 1 && !strcmp(g_pools.v[0].id, POOLID) && g_pools.v[0].reserve_asset[0].type == SOB_ASSET_NATIVE &&
          g_pools.v[0].reserve_asset[1].type == SOB_ASSET_CREDIT_ALPHANUM12 && !strcmp(g_pools.v[0].reserve_asset[1].code, "ABCDEFGHIJKL") &&
          !strcmp(g_pools.v[0].reserve_asset[1].issuer, ISS) && g_pools.v[0].reserve_amount[1] == 20000000 &&
          g_pools.v[0].total_trustlines == 2 && g_pools.v[0].total_shares == 100000000);
    EXPECT(K_POOLS, "{\"_links\":{},\"_embedded\":{\"records\":[" POOL(POOLID, RES("native", "1") "," RES("BTC:" ISS, "2")) "," POOL("ab", RES("native", "1") "," RES("BTC:" ISS, "2")) "]}}", SOB_OK);
    CHECK(g_pools.len == 2 && !strcmp(g_pools.v[1].id, "ab") && g_pools.v[1].reserve_asset[1].type == SOB_ASSET_CREDIT_ALPHANUM4);
    EXPECT(K_POOLS, POOL(POOLID, RES("native", "1")), SOB_E_INVALID);
    EXPECT(K_POOLS, POOL(POOLID, RES("native", "1") "," RES("native", "1") "," RES("native", "1")), SOB_E_INVALID);
    EXPECT(K_POOLS, POOL(POOLID, RES("native", "1") "," RES("BTC:" ISS_BAD, "2")), SOB_E_INVALID);
    EXPECT(K_POOLS, POOL(POOLID, RES("native", "1") "," RES("BTC", "2")), SOB_E_INVALID);
    EXPECT(K_POOLS, POOL(POOLID, RES("native", "1") "," RES(":" ISS, "2")), SOB_E_INVALID);
    EXPECT(K_POOLS, POOL(POOLID, RES("native", "1") "," RES("ABCDEFGHIJKLM:" ISS, "2")), SOB_E_INVALID);
    EXPECT(K_POOLS, POOL(POOLID, RES("native", "1") "," RES("BTC:" ISS, "922337203685.4775808")), SOB_E_OVERFLOW);
    EXPECT(K_POOLS, POOL("ABCDEF", RES("native", "1") "," RES("BTC:" ISS, "2")), SOB_E_INVALID);
    EXPECT(K_POOLS, POOL("", RES("native", "1") "," RES("BTC:" ISS, "2")), SOB_E_INVALID);
    EXPECT_R(K_POOLS, "{\"id\":\"ab\",\"fee_bp\":30,\"total_shares\":\"1\",\"reserves\":[" RES("native", "1") "," RES("native", "1") "]}", SOB_E_PARSE, "missing key \"total_trustlines\"");
}

/* A bitwise StrKey check (RFC 4648 base32, CRC-16/XMODEM computed bit by bit), to check the
 * scanner's constant tables: every byte value at every position of a valid key gives the same
 * verdict from both, and so does every valid key made by fixing the checksum after a change. */
static int ref_strkey_valid(const char *s, size_t len) {
    if (len != 56 || s[0] != 'G') return 0;
    uint8_t raw[35];
    uint32_t acc = 0;
    int bits = 0;
    size_t n = 0;
    for (size_t i = 0; i < 56; i++) {
        unsigned char c = (unsigned char)s[i];
        int v = c >= 'A' && c <= 'Z' ? c - 'A' : c >= '2' && c <= '7' ? c - '2' + 26 : -1;
        if (v < 0) return 0;
        acc = (acc << 5) | (uint32_t)v;
        bits += 5;
        if (bits >= 8) {
            bits -= 8;
            raw[n++] = (uint8_t)(acc >> bits);
        }
    }
    if (n != 35 || raw[0] != (6 << 3)) return 0;
    uint16_t crc = 0;
    for (size_t i = 0; i < 33; i++) {
        crc ^= (uint16_t)(raw[i] << 8);
        for (int b = 0; b < 8; b++) crc = (uint16_t)((crc & 0x8000) ? (crc << 1) ^ 0x1021 : (crc << 1));
    }
    return raw[33] == (crc & 0xFF) && raw[34] == (crc >> 8);
}

static void ref_strkey_encode(const uint8_t payload[32], char out[57]) {
    static const char alpha[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
    uint8_t raw[35];
    raw[0] = 6 << 3;
    memcpy(raw + 1, payload, 32);
    uint16_t crc = 0;
    for (size_t i = 0; i < 33; i++) {
        crc ^= (uint16_t)(raw[i] << 8);
        for (int b = 0; b < 8; b++) crc = (uint16_t)((crc & 0x8000) ? (crc << 1) ^ 0x1021 : (crc << 1));
    }
    raw[33] = (uint8_t)(crc & 0xFF);
    raw[34] = (uint8_t)(crc >> 8);
    uint32_t acc = 0;
    int bits = 0;
    size_t n = 0;
    for (size_t i = 0; i < 35; i++) {
        acc = (acc << 8) | raw[i];
        bits += 8;
        while (bits >= 5) {
            bits -= 5;
            out[n++] = alpha[(acc >> bits) & 31];
        }
    }
    out[n] = 0;
}

static void test_strkey_tables(void) {
    char k[57];
    memcpy(k, ISS, 57);
    CHECK(ref_strkey_valid(k, 56));
    for (size_t i = 0; i < 56; i++) {
        for (int c = 0; c < 256; c++) {
            k[i] = (char)c;
            CHECK(sob_strkey_account_valid(k, 56) == ref_strkey_valid(k, 56));
        }
        k[i] = ISS[i];
    }
    /* valid keys of many payloads: every CRC table entry is reached */
    uint8_t payload[32];
    for (int round = 0; round < 2000; round++) {
        for (int j = 0; j < 32; j++) payload[j] = (uint8_t)(round * 131 + j * 17 + (round >> 3) * j);
        ref_strkey_encode(payload, k);
        CHECK(ref_strkey_valid(k, 56));
        CHECK(sob_strkey_account_valid(k, 56));
        k[55] = k[55] == 'A' ? 'B' : 'A'; /* the checksum's last character changed: refused */
        CHECK(sob_strkey_account_valid(k, 56) == ref_strkey_valid(k, 56));
    }
}

static void test_helpers(void) {
    uint64_t v = 0;
    char buf[32];
    CHECK(sob_parse_amount("12.3456789", 10, UINT64_MAX, &v) == SOB_OK && v == 123456789);
    CHECK(sob_parse_amount("0.0000001", 9, UINT64_MAX, &v) == SOB_OK && v == 1);
    CHECK(sob_parse_amount("100", 3, UINT64_MAX, &v) == SOB_OK && v == 1000000000);
    CHECK(sob_parse_amount("1844674407370.9551615", 21, UINT64_MAX, &v) == SOB_OK && v == UINT64_MAX);
    CHECK(sob_parse_amount("1844674407370.9551616", 21, UINT64_MAX, &v) == SOB_E_OVERFLOW);
    CHECK(sob_parse_amount("922337203685.4775807", 20, INT64_MAX, &v) == SOB_OK && v == (uint64_t)INT64_MAX);
    CHECK(sob_parse_amount("922337203685.4775808", 20, INT64_MAX, &v) == SOB_E_OVERFLOW);
    CHECK(sob_parse_amount("1", 1, 9999999, &v) == SOB_E_OVERFLOW);
    CHECK(sob_parse_amount("", 0, UINT64_MAX, &v) == SOB_E_PARSE);
    CHECK(sob_parse_amount("1.", 2, UINT64_MAX, &v) == SOB_E_PARSE);
    CHECK(sob_parse_amount("1.00000000", 10, UINT64_MAX, &v) == SOB_E_PARSE);
    CHECK(sob_parse_amount("-1", 2, UINT64_MAX, &v) == SOB_E_PARSE);
    CHECK(sob_parse_amount("1e5", 3, UINT64_MAX, &v) == SOB_E_PARSE);
    CHECK(sob_parse_amount("12", 1, UINT64_MAX, &v) == SOB_OK && v == 10000000); /* honours len */
    CHECK(sob_format_amount(123456789, buf) == 10 && !strcmp(buf, "12.3456789"));
    CHECK(sob_format_amount(0, buf) == 9 && !strcmp(buf, "0.0000000"));
    CHECK(sob_format_amount(1, buf) == 9 && !strcmp(buf, "0.0000001"));
    CHECK(sob_format_amount(UINT64_MAX, buf) == 21 && !strcmp(buf, "1844674407370.9551615"));
    for (uint64_t x = 1; x && x < UINT64_MAX / 3; x = x * 3 + 1) {
        size_t n = sob_format_amount(x, buf);
        CHECK(sob_parse_amount(buf, n, UINT64_MAX, &v) == SOB_OK && v == x);
    }
    CHECK(sob_strkey_account_valid(ISS, 56));
    CHECK(!sob_strkey_account_valid(ISS_BAD, 56));
    CHECK(!sob_strkey_account_valid(ISS, 55));
    CHECK(!sob_strkey_account_valid("SBVOL67TMUQBGL4TZYNMY3ZQ5WGQYFPFD5VJRWXR72VA33VFNL225PL5", 56));
    CHECK(!sob_strkey_account_valid("gbvol67tmuqbgl4tzynmy3zq5wgqyfpfd5vjrwxr72va33vfnl225pl5", 56));
    test_strkey_tables();
}

/* ------------------------------------------------------------------------------------------ */

static uint64_t rng_state = 0x9E3779B97F4A7C15ULL;
static uint64_t rnd(void) {
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return rng_state;
}

/* Random byte mutations of valid documents: any result is fine, crashes and leaks are not. */
static void test_mutations(const char *doc, size_t len, int rounds) {
    char *b = malloc(len + 16);
    static const char alphabet[] = "{}[]\",:\\u0123456789.-+eE ntfrl\"\x01\xff";
    for (int r = 0; r < rounds; r++) {
        size_t n = len;
        memcpy(b, doc, len);
        int edits = 1 + (int)(rnd() % 4);
        for (int i = 0; i < edits && n > 0; i++) {
            size_t at = rnd() % n;
            switch (rnd() % 4) {
            case 0: b[at] = (char)rnd(); break;
            case 1: b[at] = alphabet[rnd() % (sizeof alphabet - 1)]; break;
            case 2: memmove(b + at, b + at + 1, n - at - 1); n--; break; /* delete */
            default: n = at; break;                                       /* truncate */
            }
        }
        for (int k = 0; k < 4; k++) (void)parse_kind(k, b, n);
    }
    free(b);
    sob_test_passed++;
}

/* A Horizon-shaped (2-space indented) /order_book body with nb bids and na asks. */
static char *make_book(int nb, int na, size_t *len) {
    size_t cap = (size_t)(nb + na) * 200 + 1024, n = 0;
    char *b = malloc(cap);
    n += (size_t)sprintf(b + n, "{\n  \"bids\": [\n");
    for (int side = 0; side < 2; side++) {
        int cnt = side ? na : nb;
        if (side) n += (size_t)sprintf(b + n, "  \"asks\": [\n");
        for (int i = 0; i < cnt; i++) {
            int32_t num = side ? 240000000 + i * 1117 : 10000000, den = side ? 10000000 : 416041 + i * 97;
            n += (size_t)sprintf(b + n,
                                 "    {\n      \"price_r\": {\n        \"n\": %d,\n        \"d\": %d\n      },\n"
                                 "      \"price\": \"%d.%07d\",\n      \"amount\": \"%d.%07d\"\n    }%s\n",
                                 num, den, num / den, (int)((int64_t)(num % den) * 10000000 / den),
                                 1000 + i * 37, (i * 7919) % 10000000, i + 1 < cnt ? "," : "");
        }
        n += (size_t)sprintf(b + n, "  ],\n");
    }
    n += (size_t)sprintf(b + n, "  \"base\": {\n    \"asset_type\": \"native\"\n  },\n  \"counter\": {\n"
                                "    \"asset_type\": \"credit_alphanum4\",\n    \"asset_code\": \"BTC\",\n"
                                "    \"asset_issuer\": \"%s\"\n  }\n}", ISS);
    *len = n;
    return b;
}

/* Books whose levels switch layout at random (indentation, key order, escapes, long amounts,
 * numbers of every width): the template and fast paths must agree with the general parser on
 * every level, and fall back cleanly when a level does not look like the previous one. */
static void test_level_layouts(void) {
    enum { NL = 300 };
    static sob_level want[NL];
    size_t cap = NL * 400 + 256;
    char *b = malloc(cap);
    for (int round = 0; round < 40; round++) {
        size_t n = 0;
        n += (size_t)sprintf(b + n, "{\"asks\":[],\"bids\": [");
        int nl = (int)(rnd() % NL);
        int style = (int)(rnd() % 6);
        for (int i = 0; i < nl; i++) {
            if (rnd() % 8 == 0) style = (int)(rnd() % 6);
            sob_level *w = &want[i];
            static const uint32_t widths[] = {1, 9, 10, 99, 100, 9999999, 10000000, 99999999, 100000000, 999999999, 1000000000, 2147483647};
            w->n = (int32_t)(rnd() % widths[rnd() % 12]) + 1;
            w->d = (int32_t)(rnd() % widths[rnd() % 12]) + 1;
            if (w->n <= 0) w->n = 1;
            if (w->d <= 0) w->d = 1;
            uint64_t ip = rnd() % (rnd() % 2 ? 1000ULL : 1844674407370ULL);
            unsigned fd = (unsigned)(rnd() % 8);
            uint64_t fv = fd ? rnd() % (uint64_t)(fd == 7 ? 10000000 : (int)(fd == 6 ? 1000000 : fd == 5 ? 100000 : fd == 4 ? 10000 : fd == 3 ? 1000 : fd == 2 ? 100 : 10)) : 0;
            static const uint64_t scale[8] = {10000000, 1000000, 100000, 10000, 1000, 100, 10, 1};
            w->amount = ip * 10000000ULL + fv * scale[fd];
            char amt[48];
            if (fd) sprintf(amt, "%llu.%0*llu", (unsigned long long)ip, (int)fd, (unsigned long long)fv);
            else sprintf(amt, "%llu", (unsigned long long)ip);
            const char *sep = i ? "," : "";
            switch (style) {
            case 0: n += (size_t)sprintf(b + n, "%s{\"price_r\":{\"n\":%d,\"d\":%d},\"price\":\"1.0000000\",\"amount\":\"%s\"}", sep, w->n, w->d, amt); break;
            case 1: n += (size_t)sprintf(b + n, "%s\n    {\n      \"price_r\": {\n        \"n\": %d,\n        \"d\": %d\n      },\n      \"price\": \"%d.5\",\n      \"amount\": \"%s\"\n    }", sep, w->n, w->d, i, amt); break;
            case 2: n += (size_t)sprintf(b + n, "%s {\"amount\":\"%s\",\"price_r\":{\"d\":%d,\"n\":%d}}", sep, amt, w->d, w->n); break;
            case 3: n += (size_t)sprintf(b + n, "%s{\"price_r\":{\"n\":%d,\"d\":%d},\"price\":\"\\u0031\",\"amount\":\"%s\"}", sep, w->n, w->d, amt); break;
            case 4: n += (size_t)sprintf(b + n, "%s{\"price_r\":{\"n\":%d,\"d\":%d},\"price\":\"\",\"amount\":\"%s\",\"x\":[%d]}", sep, w->n, w->d, amt, i); break;
            default: n += (size_t)sprintf(b + n, "%s\t{ \"price_r\" : { \"n\" : %d , \"d\" : %d } , \"price\" : \"%d\" , \"amount\" : \"%s\" }", sep, w->n, w->d, i * 7, amt); break;
            }
        }
        n += (size_t)sprintf(b + n, "],\"base\":%s,\"counter\":%s}", NATIVE, BTC);
        int ok = parse_kind(K_BOOK, b, n) == SOB_OK && g_book.bids.len == (size_t)nl;
        for (int i = 0; ok && i < nl; i++) ok = lvl_is(&g_book.bids.v[i], want[i].n, want[i].d, want[i].amount);
        if (!ok) fprintf(stderr, "layout round %d failed (%s at %zu)\n", round, g_err.reason ? g_err.reason : "values differ", g_err.offset);
        CHECK(ok);
        /* the same book must fail on a bad value anywhere, including in template-matched levels */
        if (nl > 3) {
            char *q = strstr(b + n / 2, "\"amount\"");
            if (q) {
                q = strchr(q + 8, '"');
                if (q) {
                    char save = q[1];
                    q[1] = '-';
                    CHECK(parse_kind(K_BOOK, b, n) == SOB_E_PARSE);
                    q[1] = save;
                }
            }
        }
    }
    free(b);
}

/* ---- bids and asks alike or not: the template learnt on the bids also reads the asks ---------- */

/* One side of n levels in layout style (0 compact, 1 indented, 2 other key order); level i is
 * price_r {i + 1, side + 2}, amount "<i>.5". */
static size_t side_levels(char *b, int side, int n, int style) {
    size_t k = 0;
    for (int i = 0; i < n; i++) {
        const char *sep = i ? "," : "";
        switch (style) {
        case 0: k += (size_t)sprintf(b + k, "%s{\"price_r\":{\"n\":%d,\"d\":%d},\"price\":\"1.5\",\"amount\":\"%d.5\"}", sep, i + 1, side + 2, i); break;
        case 1: k += (size_t)sprintf(b + k, "%s\n    {\n      \"price_r\": {\n        \"n\": %d,\n        \"d\": %d\n      },\n      \"price\": \"1.5\",\n      \"amount\": \"%d.5\"\n    }", sep, i + 1, side + 2, i); break;
        default: k += (size_t)sprintf(b + k, "%s{\"amount\":\"%d.5\",\"price_r\":{\"n\":%d,\"d\":%d}}", sep, i, i + 1, side + 2); break;
        }
    }
    return k;
}

/* The first level of an array is read by a template learnt from its own bytes, before the general
 * path has seen them: whatever the general path rejects there must still be rejected with its
 * reason (the learner refuses, and the general path reads the level), with levels laid out like
 * it after it, and what it accepts must read the same values. */
static void test_first_level_unread(void) {
#define NEXT "," LVL(7, 8, "3") "," LVL(9, 10, "4")
    static const struct {
        const char *first;
        sob_status want;
        const char *reason;
    } bad[] = {
        {"{\"price_r\":{\"n\":1,\"d\":2},\"price\":\"1.0000000\",\"amount\":\"1\",\"amount\":\"2\"}", SOB_E_PARSE, "duplicate key \"amount\""},
        {"{\"price_r\":{\"n\":1,\"n\":2},\"price\":\"1.0000000\",\"amount\":\"1\"}", SOB_E_PARSE, "duplicate key \"n\""},
        {"{\"price_r\":{\"n\":1,\"d\":2},\"price\":\"1.0000000\",\"price_r\":{\"n\":1,\"d\":2}}", SOB_E_PARSE, "duplicate key \"price_r\""},
        {"{\"price_r\":{\"n\":1,\"d\":2},\"price\":\"1.0000000\",\"amounts\":\"1\"}", SOB_E_PARSE, "missing key \"amount\""},
        {"{\"price_r\":{\"n\":1,\"dd\":2},\"price\":\"1.0000000\",\"amount\":\"1\"}", SOB_E_PARSE, "missing key \"d\""},
        {"{\"price_r\":[{\"n\":1,\"d\":2}],\"price\":\"1.0000000\",\"amount\":\"1\"}", SOB_E_PARSE, "price_r must be an object"},
        {"{\"price_r\":{\"n\":1,\"d\":2} \"price\":\"1.0000000\",\"amount\":\"1\"}", SOB_E_PARSE, NULL},
        {"{,\"price_r\":{\"n\":1,\"d\":2},\"price\":\"1.0000000\",\"amount\":\"1\"}", SOB_E_PARSE, NULL},
        {"{\"price_r\":{\"n\":1,\"d\":2,},\"price\":\"1.0000000\",\"amount\":\"1\"}", SOB_E_PARSE, NULL},
        {"{\"price_r\":{\"n\":1,\"d\":2},\"price\":\"1.0000000\",\"amount\":\"1\",}", SOB_E_PARSE, NULL},
        {"{\"x\":tru,\"price_r\":{\"n\":1,\"d\":2},\"price\":\"1.0000000\",\"amount\":\"1\"}", SOB_E_PARSE, NULL},
        {"{\"x\":nulL,\"price_r\":{\"n\":1,\"d\":2},\"price\":\"1.0000000\",\"amount\":\"1\"}", SOB_E_PARSE, NULL},
        {"{\"x\":[1 2],\"price_r\":{\"n\":1,\"d\":2},\"price\":\"1.0000000\",\"amount\":\"1\"}", SOB_E_PARSE, NULL},
        {"{\"price_r\":{\"n\":1,\"d\":2},\"price\":1,\"amount\":\"1\"}", SOB_E_PARSE, "price must be a string"},
        {"{\"price_r\":{\"n\":01,\"d\":2},\"price\":\"1.0000000\",\"amount\":\"1\"}", SOB_E_PARSE, NULL},
        {"{\"price_r\":{\"n\":-1,\"d\":2},\"price\":\"1.0000000\",\"amount\":\"1\"}", SOB_E_INVALID, NULL},
    };
    char doc[1024];
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        snprintf(doc, sizeof doc, "{\"bids\":[%s" NEXT "],\"asks\":[],\"base\":" NATIVE ",\"counter\":" BTC "}", bad[i].first);
        int ok = expect(K_BOOK, doc, bad[i].want, bad[i].reason, __LINE__);
        if (!ok) fprintf(stderr, "first level case %zu\n", i);
        /* in the asks too, after bids laid out otherwise (no carried template reads it) */
        snprintf(doc, sizeof doc, "{\"bids\":[ ],\"asks\":[%s" NEXT "],\"base\":" NATIVE ",\"counter\":" BTC "}", bad[i].first);
        ok = expect(K_BOOK, doc, bad[i].want, bad[i].reason, __LINE__);
        if (!ok) fprintf(stderr, "first ask case %zu\n", i);
    }
    /* accepted: unknown keys of every kind and nesting around the values read */
    EXPECT(K_BOOK, "{\"bids\":[{\"x\":true,\"y\":[null,{\"n\":5}],\"price_r\":{\"d\":2,\"q\":false,\"n\":1},\"price\":\"0.5\",\"amount\":\"12.5\",\"z\":-1.5e3},"
                   "{\"x\":true,\"y\":[null,{\"n\":5}],\"price_r\":{\"d\":4,\"q\":false,\"n\":3},\"price\":\"0.75\",\"amount\":\"7\",\"z\":-1.5e3}],"
                   "\"asks\":[],\"base\":" NATIVE ",\"counter\":" BTC "}", SOB_OK);
    CHECK(g_book.bids.len == 2 && lvl_is(&g_book.bids.v[0], 1, 2, 125000000) && lvl_is(&g_book.bids.v[1], 3, 4, 70000000));
#undef NEXT
}

static void test_bids_asks_alike(void) {
    char *b = malloc(1 << 16);
    for (int sb = 0; sb < 3; sb++)
        for (int sa = 0; sa < 3; sa++)
            for (int nb = 0; nb < 4; nb++)
                for (int na = 0; na < 4; na++) {
                    size_t n = (size_t)sprintf(b, "{\"bids\":[");
                    n += side_levels(b + n, 0, nb, sb);
                    n += (size_t)sprintf(b + n, "],\"asks\":[ ");
                    size_t asks_at = n;
                    n += side_levels(b + n, 1, na, sa);
                    n += (size_t)sprintf(b + n, "],\"base\":%s,\"counter\":%s}", NATIVE, BTC);
                    int ok = parse_kind(K_BOOK, b, n) == SOB_OK && g_book.bids.len == (size_t)nb &&
                             g_book.asks.len == (size_t)na;
                    for (int i = 0; ok && i < nb; i++) ok = lvl_is(&g_book.bids.v[i], i + 1, 2, (uint64_t)i * 10000000u + 5000000u);
                    for (int i = 0; ok && i < na; i++) ok = lvl_is(&g_book.asks.v[i], i + 1, 3, (uint64_t)i * 10000000u + 5000000u);
                    if (!ok) fprintf(stderr, "bids/asks styles %d/%d, %d/%d levels\n", sb, sa, nb, na);
                    CHECK(ok);
                    if (na == 0) continue;
                    /* a bad amount in the first ask, where a carried template would read it */
                    char *q = strstr(b + asks_at, "\"amount\"");
                    q = strchr(q + 8, '"');
                    char save = q[1];
                    q[1] = '-';
                    CHECK(parse_kind(K_BOOK, b, n) == SOB_E_PARSE && g_err.offset == (size_t)(q - b));
                    q[1] = save;
                    /* and a bad n in it */
                    q = strstr(b + asks_at, "\"n\"");
                    q = strchr(q + 3, ':') + 1;
                    while (*q == ' ') q++;
                    save = *q;
                    *q = '0';
                    CHECK(parse_kind(K_BOOK, b, n) == SOB_E_INVALID);
                    *q = save;
                }
    free(b);
}

/* ---- /offers pages whose records change layout at random ---------------------------------- */


typedef struct obuf {
    char *b;
    size_t n, cap;
} obuf;

static void ob_put(obuf *o, const char *s) {
    size_t k = strlen(s);
    if (o->n + k + 1 > o->cap) {
        while (o->n + k + 1 > o->cap) o->cap = o->cap ? o->cap * 2 : 4096;
        o->b = realloc(o->b, o->cap);
        if (!o->b) abort();
    }
    memcpy(o->b + o->n, s, k + 1);
    o->n += k;
}

/* Whitespace of one layout: compact, Horizon's 2-space indentation, or odd spacing. */
static void ob_nl(obuf *o, int ws, int depth) {
    if (ws == 1) {
        ob_put(o, "\n");
        for (int i = 0; i < depth; i++) ob_put(o, "  ");
    } else if (ws == 2) {
        ob_put(o, depth & 1 ? " \t" : "\r\n ");
    }
}

static const char *ob_colon(int ws) { return ws == 0 ? ":" : ws == 1 ? ": " : " : "; }

/* {"k": v, ...} with the members given as alternating key / raw value strings. */
static void ob_object(obuf *o, int ws, int depth, const char *const *kv, int nkv) {
    ob_put(o, "{");
    for (int i = 0; i < nkv; i += 2) {
        if (i) ob_put(o, ",");
        ob_nl(o, ws, depth + 1);
        ob_put(o, "\"");
        ob_put(o, kv[i]);
        ob_put(o, "\"");
        ob_put(o, ob_colon(ws));
        ob_put(o, kv[i + 1]);
    }
    if (nkv) ob_nl(o, ws, depth);
    ob_put(o, "}");
}

static void ob_asset(obuf *o, char *dst, size_t cap, int ws, int depth, int which, int rev) {
    obuf t = {0, 0, 0};
    static const char *const types[] = {"\"native\"", "\"credit_alphanum4\"", "\"credit_alphanum12\""};
    const char *kv[6] = {"asset_type", types[which], "asset_code", which == 1 ? "\"BTC\"" : "\"LONGCODE\"",
                         "asset_issuer", which == 1 ? "\"" ISS "\"" : "\"" ACC "\""};
    if (rev && which) {
        const char *r[6] = {kv[4], kv[5], kv[2], kv[3], kv[0], kv[1]};
        ob_object(&t, ws, depth, r, 6);
    } else {
        ob_object(&t, ws, depth, kv, which ? 6 : 2);
    }
    snprintf(dst, cap, "%s", t.b);
    free(t.b);
    (void)o;
}

typedef struct offer_layout {
    int ws, order[12], links, paging, lml, lmt, sponsor, extra, rev_asset, id_str;
} offer_layout;

static void new_offer_layout(offer_layout *L) {
    L->ws = (int)(rnd() % 3);
    for (int i = 0; i < 12; i++) L->order[i] = i;
    if (rnd() % 3 == 0)
        for (int i = 11; i > 0; i--) {
            int j = (int)(rnd() % (uint64_t)(i + 1)), x = L->order[i];
            L->order[i] = L->order[j];
            L->order[j] = x;
        }
    L->links = rnd() % 4 != 0;
    L->paging = rnd() % 4 != 0;
    L->lml = rnd() % 5 != 0;
    L->lmt = rnd() % 3 != 0;
    L->sponsor = rnd() % 4 == 0;
    L->extra = rnd() % 5 == 0;
    L->rev_asset = rnd() % 6 == 0;
    L->id_str = rnd() % 4 != 0;
}

/* One record; bad = 1 injects a value the parser refuses (rarely). */
static void ob_offer(obuf *o, const offer_layout *L, int depth, int64_t id, int bad) {
    char idv[48], links[512], sel[512], buy[512], amt[64], pr[128], price[64], lml[32], seller[64];
    static const uint32_t widths[] = {1, 9, 10, 99, 100, 9999999, 10000000, 99999999, 1000000000, 2147483647};
    if (bad == 1) snprintf(idv, sizeof idv, "\"9223372036854775808\"");
    else if (bad == 9) snprintf(idv, sizeof idv, "%s", rnd() % 2 ? "12345678901234567890" : "\"10000000000000000000\"");
    else if (bad == 10) snprintf(idv, sizeof idv, "%s", rnd() % 2 ? "-1" : "1.0");
    else if (bad == 2) snprintf(idv, sizeof idv, "\"0%lld\"", (long long)id);
    else if (L->id_str ^ (rnd() % 16 == 0)) snprintf(idv, sizeof idv, "\"%lld\"", (long long)id);
    else snprintf(idv, sizeof idv, "%lld", (long long)id);
    const char *acc = rnd() % 3 ? ISS : ACC;
    snprintf(seller, sizeof seller, "\"%s\"", bad == 3 ? ISS_BAD : acc);
    {
        obuf t = {0, 0, 0};
        char self[160], maker[160];
        snprintf(self, sizeof self, "\"https://horizon.stellar.org/offers/%lld\"", (long long)id);
        snprintf(maker, sizeof maker, "\"https://horizon.stellar.org/accounts/%s\"", acc);
        obuf a = {0, 0, 0}, b = {0, 0, 0};
        const char *k1[2] = {"href", self}, *k2[2] = {"href", maker};
        ob_object(&a, L->ws, depth + 2, k1, 2);
        ob_object(&b, L->ws, depth + 2, k2, 2);
        const char *kv[4] = {"self", a.b, "offer_maker", b.b};
        ob_object(&t, L->ws, depth + 1, kv, 4);
        snprintf(links, sizeof links, "%s", t.b);
        free(t.b);
        free(a.b);
        free(b.b);
    }
    int sa = (int)(rnd() % 3), ba = (int)(rnd() % 3);
    ob_asset(o, sel, sizeof sel, L->ws, depth + 1, sa, L->rev_asset);
    ob_asset(o, buy, sizeof buy, L->ws, depth + 1, bad == 4 ? 2 : ba, L->rev_asset);
    if (bad == 4) { /* credit_alphanum12 with a 3-letter code */
        char *q = strstr(buy, "LONGCODE");
        if (q) memmove(q + 3, q + 8, strlen(q + 8) + 1);
    }
    {
        /* up to 922337203684.9999999 (< INT64_MAX stroops), sometimes with leading zeros */
        uint64_t ip = rnd() % (rnd() % 4 ? 100000ULL : 922337203685ULL);
        unsigned fd = (unsigned)(rnd() % 8);
        if (bad == 5) fd = 8;
        char frac[16];
        for (unsigned i = 0; i < fd; i++) frac[i] = (char)('0' + rnd() % 10);
        frac[fd] = '\0';
        snprintf(amt, sizeof amt, "\"%s%llu%s%s\"", rnd() % 10 ? "" : "00000000000", (unsigned long long)ip,
                 fd ? "." : "", frac);
    }
    {
        int32_t n = (int32_t)(rnd() % widths[rnd() % 10]) + 1, d = (int32_t)(rnd() % widths[rnd() % 10]) + 1;
        char ns[16], ds[16];
        snprintf(ns, sizeof ns, "%d", n > 0 ? n : 1);
        snprintf(ds, sizeof ds, "%d", bad == 6 ? 0 : d > 0 ? d : 1);
        const char *kv[4] = {"n", ns, "d", bad == 7 ? "2147483648" : ds};
        obuf t = {0, 0, 0};
        ob_object(&t, L->ws, depth + 1, kv, 4);
        snprintf(pr, sizeof pr, "%s", t.b);
        free(t.b);
    }
    switch (rnd() % 32) {
    case 0: snprintf(price, sizeof price, "\"\\u0031.5\""); break;
    case 1: snprintf(price, sizeof price, "\"1.5 \xc3\xa9\""); break;
    default: snprintf(price, sizeof price, "\"%u.%07u\"", (unsigned)(rnd() % 1000), (unsigned)(rnd() % 10000000)); break;
    }
    snprintf(lml, sizeof lml, "%llu", bad == 8 ? 4294967296ULL : (unsigned long long)(rnd() % 2 ? rnd() % 4294967296ULL : rnd() % 10));
    const char *extra = rnd() % 2 ? "[1,-2.5e+3,true,null,{\"y\":\"z\"},0]" : "false";
    const char *all[12][2] = {
        {"_links", L->links ? links : NULL}, {"id", idv},      {"paging_token", L->paging ? idv : NULL},
        {"seller", seller},                  {"selling", sel}, {"buying", buy},
        {"amount", amt},                     {"price_r", pr},  {"price", price},
        {"last_modified_ledger", L->lml ? lml : NULL},
        {"last_modified_time", L->lmt ? "\"2024-01-01T00:00:00Z\"" : NULL},
        {L->extra ? "x" : "sponsor", L->extra ? extra : L->sponsor ? "\"" ACC "\"" : NULL},
    };
    const char *kv[24];
    int nkv = 0;
    for (int i = 0; i < 12; i++) {
        int j = L->order[i];
        if (!all[j][1]) continue;
        kv[nkv++] = all[j][0];
        kv[nkv++] = all[j][1];
    }
    ob_object(o, L->ws, depth, kv, nkv);
}

/* Parses b twice, with record templates on and off: status, error, records must be identical. */
static int offers_on_off_agree(const char *b, size_t n, sob_status *st_out) {
    g_opts.no_templates = 0;
    sob_status st1 = parse_kind(K_OFFERS, b, n);
    sob_parse_error e1 = g_err;
    size_t len1 = st1 == SOB_OK ? g_offers.len : 0;
    sob_offer_rec *r1 = malloc(len1 * sizeof *r1 + 1);
    if (len1) memcpy(r1, g_offers.v, len1 * sizeof *r1);
    size_t hits = g_opts.tpl_hits;
    g_opts.no_templates = 1;
    sob_status st2 = parse_kind(K_OFFERS, b, n);
    g_opts.no_templates = 0;
    int ok = g_opts.tpl_hits == hits && st1 == st2; /* templates off: none read a record */
    if (ok && st1 != SOB_OK)
        ok = e1.offset == g_err.offset && e1.reason && g_err.reason && strcmp(e1.reason, g_err.reason) == 0;
    if (ok && st1 == SOB_OK)
        ok = len1 == g_offers.len && (len1 == 0 || memcmp(r1, g_offers.v, len1 * sizeof *r1) == 0);
    if (!ok)
        fprintf(stderr, "offers templates on/off differ: %d/%d, \"%s\"@%zu vs \"%s\"@%zu\n", (int)st1,
                (int)st2, e1.reason ? e1.reason : "", e1.offset, g_err.reason ? g_err.reason : "",
                g_err.offset);
    free(r1);
    *st_out = st1;
    return ok;
}

static void test_offer_layouts(void) {
    obuf o = {0, 0, 0};
    int pages_ok = 0;
    g_opts.tpl_hits = 0;
    for (int round = 0; round < 200; round++) {
        o.n = 0;
        int pws = (int)(rnd() % 3);
        ob_put(&o, "{");
        ob_nl(&o, pws, 1);
        ob_put(&o, "\"_links\":{\"self\":{\"href\":\"x\"}},");
        ob_nl(&o, pws, 1);
        ob_put(&o, "\"_embedded\":{\"records\":[");
        int nrec = (int)(rnd() % 120);
        offer_layout L;
        new_offer_layout(&L);
        int64_t id = (int64_t)(rnd() % 1000000);
        int64_t want_id[120];
        int any_bad = 0, bad_at = nrec / 2 + (int)(rnd() % (uint64_t)(nrec / 2 + 1));
        for (int i = 0; i < nrec; i++) {
            if (rnd() % 24 == 0) new_offer_layout(&L);
            if (i) ob_put(&o, ",");
            ob_nl(&o, L.ws, 3);
            switch (rnd() % 9) {
            case 0: id = 0; break;
            case 1: id = INT64_MAX - (int64_t)(rnd() % 3); break;
            default: id = (int64_t)(rnd() % (rnd() % 2 ? 10000000ULL : 9000000000000000000ULL)); break;
            }
            want_id[i] = id;
            /* every other round: one refused value in a late record (read by a template) */
            int bad = round % 2 && i == bad_at ? 1 + (int)(rnd() % 10) : 0;
            any_bad |= bad;
            ob_offer(&o, &L, 3, id, bad);
        }
        ob_nl(&o, pws, 2);
        ob_put(&o, "]}");
        ob_nl(&o, pws, 0);
        ob_put(&o, "}");
        sob_status st;
        CHECK(offers_on_off_agree(o.b, o.n, &st));
        if (!any_bad) {
            int ok = st == SOB_OK && g_offers.len == (size_t)nrec;
            for (int i = 0; ok && i < nrec; i++) ok = g_offers.v[i].id == want_id[i];
            if (!ok) fprintf(stderr, "offer layout round %d: %s at %zu\n", round, g_err.reason ? g_err.reason : "values differ", g_err.offset);
            CHECK(ok);
            pages_ok += ok;
        }
        /* mutations anywhere, mostly in the template-read records: same status and error */
        char *m = malloc(o.n + 1);
        static const char alphabet[] = "{}[]\",:\\u0123456789.-+eE ntfrlGA\x01\xff";
        for (int r = 0; r < 30 && o.n > 0; r++) {
            memcpy(m, o.b, o.n);
            size_t at = o.n / 3 + rnd() % (o.n - o.n / 3);
            size_t n = o.n;
            switch (rnd() % 4) {
            case 0: m[at] = alphabet[rnd() % (sizeof alphabet - 1)]; break;
            case 1: m[at] = (char)rnd(); break;
            case 2: memmove(m + at, m + at + 1, n - at - 1); n--; break;
            default: /* insert */
                m = realloc(m, n + 1);
                memmove(m + at + 1, m + at, n - at);
                m[at] = rnd() % 2 ? (char)('0' + rnd() % 10) : alphabet[rnd() % (sizeof alphabet - 1)];
                n++;
                break;
            }
            CHECK(offers_on_off_agree(m, n, &st));
        }
        free(m);
    }
    CHECK(pages_ok > 60);
    /* the test only means something if the templates read most records */
    CHECK(g_opts.tpl_hits > 1000);
    printf("test_offer_layouts: %d valid pages, %zu records read by templates\n", pages_ok, g_opts.tpl_hits);
    free(o.b);
}

static int cmp_u64(const void *a, const void *b) {
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return (x > y) - (x < y);
}

static uint64_t now_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static void bench_book(void) {
    size_t len;
    char *doc = make_book(200, 200, &len);
    sob_order_book_doc d;
    sob_order_book_doc_init(&d);
    sob_parse_error e;
    CHECK(sob_parse_order_book(doc, len, &d, &e) == SOB_OK);
    CHECK(d.bids.len == 200 && d.asks.len == 200);
    CHECK(d.asks.v[199].n == 240000000 + 199 * 1117 && d.bids.v[199].d == 416041 + 199 * 97);
    enum { ITERS = 3001 };
    static uint64_t t[ITERS];
    for (int i = 0; i < ITERS; i++) {
        uint64_t a = now_ns();
        sob_status st = sob_parse_order_book(doc, len, &d, &e);
        t[i] = now_ns() - a;
        if (st != SOB_OK) sob_test_failed++;
    }
    qsort(t, ITERS, sizeof t[0], cmp_u64);
    printf("bench: 200+200 level /order_book, %zu bytes: median %.2f us, p10 %.2f us, p90 %.2f us (%llu MB/s)\n",
           len, t[ITERS / 2] / 1000.0, t[ITERS / 10] / 1000.0, t[ITERS * 9 / 10] / 1000.0,
           (unsigned long long)(len * 1000ull / (t[ITERS / 2] ? t[ITERS / 2] : 1)));
    sob_order_book_doc_free(&d);
    test_mutations(doc, len, 300);
    free(doc);
}

int main(void) {
    sob_order_book_doc_init(&g_book);
    sob_offers_init(&g_offers);
    sob_trades_init(&g_trades);
    sob_pools_init(&g_pools);

    /* CTest runs from the repository root; the recorded fixtures are part of the repository. */
    g_fixdir = SOB_TEST_HORIZON_DATA;
    char probe[1100];
    snprintf(probe, sizeof probe, "%sgo_horizonclient_orderbook_20x20.json", g_fixdir);
    FILE *f = fopen(probe, "rb");
    if (!f) {
        fprintf(stderr, "test_horizon_json: fixtures missing at %s (run from the repository root)\n", g_fixdir);
        return 1;
    }
    fclose(f);
    test_fixtures();

    test_helpers();
    test_book_edges();
    test_offers_edges();
    test_trades_edges();
    test_pools_edges();
    test_level_layouts();
    test_first_level_unread();
    test_bids_asks_alike();
    test_offer_layouts();

    /* mutations of small documents of every kind */
    {
        static const char *docs[][2] = {
            {BOOK(LVL(1, 2, "1.5") "," LVL(3, 7, "100"), LVL(10178, 394234000, "0.0000001")), 0},
            {"{\"_links\":{},\"_embedded\":{\"records\":[" OFFER("1", "1") "," OFFER("\"2\"", "2") "]}}", 0},
            {TRADE_BASE(",\"price\":{\"n\":\"3\",\"d\":\"2\"},\"trade_type\":\"liquidity_pool\",\"liquidity_pool_fee_bp\":30,\"base_liquidity_pool_id\":\"" POOLID "\""), 0},
            {POOL(POOLID, RES("native", "1") "," RES("ABCDEFGHIJKL:" ISS, "2")), 0},
            {"{\"x\":[1,-2.5e+3,true,false,null,\"s\\u00e9\\\"\\\\\\/\\b\\f\\n\\r\\t\\ud83d\\ude00\",{\"a\":{}},[[]]]}", 0},
        };
        for (size_t i = 0; i < sizeof docs / sizeof docs[0]; i++)
            test_mutations(docs[i][0], strlen(docs[i][0]), 20000);
    }
    if (f) {
        static const char *names[] = {"go_horizonclient_orderbook_20x20.json", "go_horizonclient_account_offers_page.json",
                                      "go_horizonclient_trades_page_testnet.json", "go_horizonclient_liquidity_pool.json",
                                      "go_horizonclient_offer.json"};
        for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
            size_t len;
            char *b = fixture(names[i], &len);
            if (b) test_mutations(b, len, 3000);
            free(b);
        }
    }

    bench_book();

    sob_order_book_doc_free(&g_book);
    sob_offers_free(&g_offers);
    sob_trades_free(&g_trades);
    sob_pools_free(&g_pools);
    return sob_test_summary("test_horizon_json");
}
