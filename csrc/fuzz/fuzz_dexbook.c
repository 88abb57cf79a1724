/* fuzz_dexbook.c: libFuzzer harness for the whole-DEX book (csrc/ledger/dexbook.h).
 *
 * The first byte picks what the rest is:
 *  - even: a LedgerCloseMeta; when it decodes, it is applied (with SOB_DEX_RESYNC) to a book that
 *    lives across inputs, as a replay does;
 *  - odd: a program of synthetic ledgers over small id, asset and seller spaces: 8-byte records
 *    make offer, pool, account and trust line changes (CREATED / UPDATED / STATE / REMOVED, valid
 *    values mostly, invalid ones sometimes; offers sponsored sometimes); a 0xFF record closes a
 *    ledger and applies it; when the program's first byte is odd, the book is filtered to a few
 *    markets (sob_dexbook_set_filter).
 * After every apply: the book passes sob_dexbook_check (offer index = per-market books, L2 views
 * = the aggregation of the offers); a refused ledger leaves the book exactly as it was (a
 * fingerprint of every offer, level and pool before and after); a refused non-next ledger is
 * SOB_E_MISMATCH; path payments on the first markets' venues (sob_dexbook_venue, the sellers'
 * funds from the book's accounts table) answer without crashing and change nothing. Run with
 * csrc/fuzz/run_fuzz.sh. */
#include <stdlib.h>
#include <string.h>

#include "dex.h" /* before ledger.h: see dexbook.h */
#include "dexbook.h"
#include "ledger.h"

#define INV(cond)             \
    do {                      \
        if (!(cond)) abort(); \
    } while (0)

static sob_dexbook *replay_book;
static sob_ledger_out led;
static sob_dex_result res;

static uint64_t fnv(uint64_t h, const void *p, size_t n) {
    const uint8_t *b = p;
    for (size_t i = 0; i < n; i++) {
        h ^= b[i];
        h *= 0x100000001b3ULL;
    }
    return h;
}

static uint64_t fingerprint(const sob_dexbook *dx) {
    uint64_t h = 0xcbf29ce484222325ULL;
    uint32_t nm = sob_dexbook_market_count(dx), seq = sob_dexbook_ledger_seq(dx);
    size_t no = sob_dexbook_offer_count(dx);
    h = fnv(h, &nm, sizeof nm);
    h = fnv(h, &seq, sizeof seq);
    h = fnv(h, &no, sizeof no);
    static sob_offer buf[4096];
    for (uint32_t m = 0; m < nm; m++) {
        const sob_dex_market *mk = sob_dexbook_market(dx, m);
        for (int s = 0; s < 2; s++) {
            size_t k = sob_offerbook_copy(&mk->offers, s, 0, 4096, buf);
            for (size_t i = 0; i < k; i++) {
                h = fnv(h, &buf[i].id, 8);
                h = fnv(h, &buf[i].amount, 8);
                h = fnv(h, &buf[i].n, 8);
            }
            const sob_side *sd = &mk->l2.side[s];
            h = fnv(h, sd->lv, (size_t)sd->len * sizeof *sd->lv);
        }
    }
    for (uint32_t p = 0; p < sob_dexbook_pool_count(dx); p++) h = fnv(h, sob_dexbook_pool(dx, p), sizeof(sob_dex_pool));
    const sob_accounts *acc = sob_dexbook_accounts(dx);
    size_t na = sob_accounts_count(acc), nt = sob_accounts_trustline_count(acc);
    h = fnv(h, &na, sizeof na);
    return fnv(h, &nt, sizeof nt);
}

/* Path payments on the book's venues with its sellers' funds (whatever the accounts and trust
 * lines the input made): core's answer or a typed "core would throw", never a crash; nothing
 * the simulation reads changes. */
static void cross_markets(const sob_dexbook *dx) {
    static sob_dex_scratch *sc;
    if (!sc && !(sc = sob_dex_scratch_new())) return;
    sob_dex_ctx ctx;
    sob_dexbook_ctx(dx, &ctx);
    uint64_t before = fingerprint(dx);
    uint32_t nm = sob_dexbook_market_count(dx);
    for (uint32_t m = 0; m < nm && m < 8; m++) {
        const sob_dex_market *mk = sob_dexbook_market(dx, m);
        for (int dir = 0; dir < 2; dir++) {
            sob_path_op op;
            memset(&op, 0, sizeof op);
            op.nassets = 2;
            op.assets[0] = dir ? mk->counter : mk->base;
            op.assets[1] = dir ? mk->base : mk->counter;
            sob_venue v;
            INV(sob_dexbook_venue(dx, op.assets[0], op.assets[1], &v) == SOB_OK && v.book == &mk->offers);
            sob_op_result r;
            op.kind = SOB_OP_PATH_PAYMENT_STRICT_SEND;
            op.send = 1000;
            op.dest = 1;
            sob_status st = sob_path_payment(&ctx, &op, &v, sc, &r);
            INV(st == SOB_OK || st == SOB_E_NOMEM);
            op.kind = SOB_OP_PATH_PAYMENT_STRICT_RECEIVE;
            op.send = INT64_MAX;
            op.dest = 500;
            st = sob_path_payment(&ctx, &op, &v, sc, &r);
            INV(st == SOB_OK || st == SOB_E_NOMEM);
        }
    }
    INV(fingerprint(dx) == before);
}

static void apply_checked(sob_dexbook *dx, const sob_ledger_out *l, unsigned flags) {
    uint64_t before = fingerprint(dx);
    uint32_t last = sob_dexbook_ledger_seq(dx);
    sob_ledger_error err;
    sob_status st = sob_dexbook_apply(dx, l, flags, &res, &err);
    if (st != SOB_OK) {
        INV(st == SOB_E_INVALID || st == SOB_E_OVERFLOW || st == SOB_E_MISMATCH || st == SOB_E_LIMIT);
        INV(err.reason != NULL);
        if (st == SOB_E_MISMATCH) INV(!(flags & SOB_DEX_RESYNC) && last && l->header.ledger_seq != last + 1);
        INV(fingerprint(dx) == before);
        INV(res.n_offers == 0 && res.n_levels == 0 && res.n_drift == 0);
    } else {
        INV(sob_dexbook_ledger_seq(dx) == l->header.ledger_seq);
        for (size_t i = 0; i < res.n_levels; i++) INV(res.levels[i].old_amount != res.levels[i].new_amount);
    }
    INV(sob_dexbook_check(dx) == SOB_OK);
    cross_markets(dx);
}

static void mk_asset(sob_ledger_asset *a, unsigned i) {
    memset(a, 0, sizeof *a);
    if (i % 4 == 0) return;
    a->type = (uint8_t)(i % 4 == 3 ? SOB_LEDGER_ASSET_ALPHANUM12 : SOB_LEDGER_ASSET_ALPHANUM4);
    a->code[0] = (uint8_t)('A' + i % 4);
    a->issuer[0] = (uint8_t)(1 + i / 4 % 2);
}

static void run_program(const uint8_t *p, size_t n) {
    sob_dexbook *dx;
    if (sob_dexbook_new(&dx)) return;
    if (n && (p[0] & 1)) { /* a filtered book: the market of assets 0 and 1, and the markets among 2, 5 */
        sob_ledger_asset f[4];
        mk_asset(&f[0], 2);
        mk_asset(&f[1], 5);
        mk_asset(&f[2], 0);
        mk_asset(&f[3], 1);
        sob_ledger_error e;
        if (sob_dexbook_set_filter(dx, f, 2, &f[2], 1, &e) != SOB_OK) abort();
        INV(sob_dexbook_set_filter(dx, f, 2, &f[2], 1, &e) == SOB_E_INVALID);
        p++;
        n--;
    }
    sob_ledger_change ch[64];
    size_t k = 0;
    uint32_t seq = 10;
    for (size_t i = 0; i + 8 <= n; i += 8) {
        const uint8_t *r = p + i;
        if (r[0] == 0xFF || k == 64) { /* close the ledger */
            sob_ledger_out l;
            memset(&l, 0, sizeof l);
            l.header.ledger_seq = (r[1] & 7) == 7 ? seq + 2 : seq + 1; /* a gap sometimes */
            l.changes = ch;
            l.n_changes = k;
            apply_checked(dx, &l, (r[2] & 3) == 3 ? SOB_DEX_RESYNC : 0);
            seq = sob_dexbook_ledger_seq(dx);
            k = 0;
            continue;
        }
        sob_ledger_change *c = &ch[k++];
        memset(c, 0, sizeof *c);
        c->change = (uint8_t)(r[0] % 4); /* CREATED, UPDATED, REMOVED, STATE */
        c->key_only = c->change == SOB_CHANGE_REMOVED;
        c->phase = SOB_PHASE_OPERATION;
        int bad = r[7] == 0x5A; /* an invalid value, now and then */
        switch (r[1] % 4) {
        case 0: {
            c->entry_type = SOB_ENTRY_OFFER;
            sob_ledger_offer *o = &c->u.offer;
            o->offer_id = 1 + r[2] % 32;
            o->seller[0] = (uint8_t)(r[3] % 5);
            if (c->key_only) break;
            mk_asset(&o->selling, r[4] % 8);
            mk_asset(&o->buying, r[4] / 8 % 8);
            o->amount = bad ? 0 : (int64_t)(1 + r[5] * 1000003LL);
            o->n = 1 + r[6] % 9;
            o->d = 1 + r[6] / 9 % 9;
            o->flags = r[3] >> 7;
            if (r[7] & 0x80) { /* a sponsored offer (CAP-33) */
                c->has_sponsor = 1;
                c->sponsor[0] = (uint8_t)(r[7] % 3);
            }
            break;
        }
        case 1: {
            c->entry_type = SOB_ENTRY_LIQUIDITY_POOL;
            sob_ledger_pool *pl = &c->u.pool;
            pl->pool_id[0] = (uint8_t)(r[2] % 6);
            if (c->key_only) break;
            mk_asset(&pl->asset_a, r[3] % 8);
            mk_asset(&pl->asset_b, r[4] % 8);
            pl->fee_bp = 30;
            pl->reserve_a = bad ? -1 : r[5] * 7919LL;
            pl->reserve_b = r[6] * 104729LL;
            pl->total_shares = r[5];
            pl->trustline_count = 1;
            break;
        }
        case 2: {
            c->entry_type = SOB_ENTRY_ACCOUNT;
            sob_ledger_account *a = &c->u.account;
            a->account[0] = (uint8_t)(r[2] % 5);
            if (c->key_only) break;
            a->balance = bad ? -5 : r[3] * 1000000LL;
            a->selling_liabilities = r[4];
            a->num_sub_entries = r[5];
            break;
        }
        default: {
            c->entry_type = SOB_ENTRY_TRUSTLINE;
            sob_ledger_trustline *t = &c->u.trustline;
            t->account[0] = (uint8_t)(r[2] % 5);
            mk_asset(&t->asset, 1 + r[3] % 7);
            if (r[3] % 7 == 3) t->asset.type = SOB_LEDGER_ASSET_POOL_SHARE;
            if (c->key_only) break;
            t->limit = r[4] * 1000LL;
            t->balance = bad ? t->limit + 1 : r[5] % (r[4] + 1) * 1000LL;
            t->flags = SOB_TL_AUTHORIZED;
            break;
        }
        }
    }
    sob_dexbook_free(dx);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (!size) return 0;
    if (!replay_book) {
        sob_ledger_out_init(&led);
        sob_dex_result_init(&res);
        if (sob_dexbook_new(&replay_book)) abort();
    }
    if (data[0] & 1) {
        run_program(data + 1, size - 1);
        return 0;
    }
    sob_ledger_error err;
    if (sob_ledger_decode(data + 1, size - 1, &led, &err) != SOB_OK) return 0;
    apply_checked(replay_book, &led, SOB_DEX_RESYNC);
    /* keep the persistent book small */
    if (sob_dexbook_offer_count(replay_book) > 20000) {
        sob_dexbook_free(replay_book);
        if (sob_dexbook_new(&replay_book)) abort();
    }
    return 0;
}
