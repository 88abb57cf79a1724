/* test_dexbook.c: the whole-DEX book (csrc/ledger/dexbook.h).
 *
 * - the mainnet ledger 53,312,000 applied to a book seeded from its own STATE entries: no drift,
 *   every invariant (the L2 views equal the aggregation of the offers), each offer ends as the
 *   ledger's last change says, each claimed offer lost at least what it sold (adjustOffer may
 *   round the rest down by a few stroops), each pool's reserves as its last change says;
 * - the same ledger twice: refused as a gap, the book unchanged; with SOB_DEX_RESYNC accepted and
 *   every market incomplete;
 * - a seeded STATE entry off by one stroop: one DIFFERS drift in that offer's market, and the book
 *   follows the ledger (ends equal to the drift-free run);
 * - a ledger with one invalid change at the end: refused with that change's index, the book
 *   exactly as it was (fingerprint of every offer, level, pool and table);
 * - a full snapshot (sample-changes.xdr) seeded complete: its markets are complete, and a ledger
 *   touching an offer it lacks reports MISSING; an empty book is never complete;
 * - seeded random ledgers (creates, updates, removes with STATE entries before, price moves,
 *   accounts and trust lines, invalid changes) against a plain model: equal after every ledger.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dexbook.h"
#include "ledger.h"

static int n_pass, n_fail;

#define CHECK(cond)                                                                  \
    do {                                                                             \
        if (cond) {                                                                  \
            n_pass++;                                                                \
        } else {                                                                     \
            n_fail++;                                                                \
            fprintf(stderr, "%s:%d: CHECK failed: %s\n", __FILE__, __LINE__, #cond); \
        }                                                                            \
    } while (0)

#define DATA "tests/data/ledger/"

typedef struct buf {
    uint8_t *p;
    size_t n;
} buf;

static int read_file(const char *path, buf *b) {
    FILE *f = fopen(path, "rb");
    if (!f) return -1;
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    b->p = malloc(n ? (size_t)n : 1);
    b->n = (size_t)n;
    if (!b->p || fread(b->p, 1, b->n, f) != b->n) {
        fclose(f);
        free(b->p);
        return -1;
    }
    fclose(f);
    return 0;
}

/* ---- a fingerprint of everything the book holds ---- */

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
    uint32_t nm = sob_dexbook_market_count(dx);
    h = fnv(h, &nm, sizeof nm);
    for (uint32_t m = 0; m < nm; m++) {
        const sob_dex_market *mk = sob_dexbook_market(dx, m);
        h = fnv(h, &mk->complete, 1);
        for (int s = 0; s < 2; s++) {
            size_t cnt = sob_offerbook_count(&mk->offers, s);
            sob_offer *v = malloc((cnt + 1) * sizeof *v);
            sob_offerbook_copy(&mk->offers, s, 0, cnt, v);
            for (size_t k = 0; k < cnt; k++) {
                h = fnv(h, &v[k].id, 8);
                h = fnv(h, &v[k].amount, 8);
                h = fnv(h, &v[k].n, 4);
                h = fnv(h, &v[k].d, 4);
            }
            free(v);
            const sob_side *sd = &mk->l2.side[s];
            for (uint32_t k = 0; k < sd->len; k++) h = fnv(h, &sd->lv[k], sizeof sd->lv[k]);
        }
    }
    for (uint32_t p = 0; p < sob_dexbook_pool_count(dx); p++) {
        const sob_dex_pool *pl = sob_dexbook_pool(dx, p);
        h = fnv(h, pl, sizeof *pl);
    }
    size_t na = sob_accounts_count(sob_dexbook_accounts(dx)), nt = sob_accounts_trustline_count(sob_dexbook_accounts(dx));
    size_t no = sob_dexbook_offer_count(dx);
    uint32_t seq = sob_dexbook_ledger_seq(dx), nas = sob_dexbook_asset_count(dx), nac = sob_dexbook_account_count(dx);
    h = fnv(h, &na, sizeof na);
    h = fnv(h, &nt, sizeof nt);
    h = fnv(h, &no, sizeof no);
    h = fnv(h, &seq, sizeof seq);
    h = fnv(h, &nas, sizeof nas);
    h = fnv(h, &nac, sizeof nac);
    return h;
}

/* ---- the mainnet ledger ---- */

static int decode_batch(const char *path, buf *b, sob_ledger_out *out) {
    if (read_file(path, b)) return -1;
    sob_ledger_reader r;
    sob_ledger_error e;
    int got = 0;
    if (sob_ledger_reader_init(&r, b->p, b->n, SOB_LEDGER_FORM_BATCH, &e)) return -1;
    if (sob_ledger_reader_next(&r, out, &got, &e) || !got) return -1;
    return 0;
}

static int same_key(const sob_ledger_change *a, const sob_ledger_change *b) {
    if (a->entry_type != b->entry_type) return 0;
    switch (a->entry_type) {
    case SOB_ENTRY_OFFER: return a->u.offer.offer_id == b->u.offer.offer_id;
    case SOB_ENTRY_LIQUIDITY_POOL: return !memcmp(a->u.pool.pool_id, b->u.pool.pool_id, 32);
    case SOB_ENTRY_ACCOUNT: return !memcmp(a->u.account.account, b->u.account.account, 32);
    default:
        return !memcmp(a->u.trustline.account, b->u.trustline.account, 32) &&
               !memcmp(&a->u.trustline.asset, &b->u.trustline.asset, sizeof a->u.trustline.asset);
    }
}

/* The first STATE change of every key: the state before the ledger of every entry it touches
 * that existed before it. */
static sob_ledger_change *first_states(const sob_ledger_out *led, size_t *n) {
    sob_ledger_change *v = malloc((led->n_changes + 1) * sizeof *v);
    size_t k = 0;
    for (size_t i = 0; i < led->n_changes; i++) {
        const sob_ledger_change *c = &led->changes[i];
        int seen = 0;
        for (size_t j = 0; j < i && !seen; j++) seen = same_key(&led->changes[j], c);
        if (!seen && c->change == SOB_CHANGE_STATE) v[k++] = *c;
    }
    *n = k;
    return v;
}

static const sob_ledger_change *last_change(const sob_ledger_out *led, const sob_ledger_change *c) {
    const sob_ledger_change *last = NULL;
    for (size_t i = 0; i < led->n_changes; i++)
        if (same_key(&led->changes[i], c)) last = &led->changes[i];
    return last;
}

static void test_mainnet(void) {
    buf b;
    sob_ledger_out led;
    sob_ledger_out_init(&led);
    if (decode_batch(DATA "FCD285FF--53312000.xdr", &b, &led)) {
        CHECK(!"mainnet fixture decodes");
        return;
    }
    uint32_t seq = led.header.ledger_seq;
    CHECK(seq == 53312000);
    size_t ns;
    sob_ledger_change *states = first_states(&led, &ns);
    sob_dexbook *dx;
    sob_dex_result res;
    sob_dex_result_init(&res);
    sob_ledger_error err;
    CHECK(sob_dexbook_new(&dx) == SOB_OK);
    CHECK(sob_dexbook_seed(dx, states, ns, seq - 1, 0, &err) == SOB_OK);
    CHECK(sob_dexbook_check(dx) == SOB_OK);
    size_t offers_before = sob_dexbook_offer_count(dx);
    size_t state_offers = 0;
    for (size_t i = 0; i < ns; i++) state_offers += states[i].entry_type == SOB_ENTRY_OFFER;
    CHECK(offers_before == state_offers && state_offers > 0);
    for (uint32_t m = 0; m < sob_dexbook_market_count(dx); m++) CHECK(!sob_dexbook_market(dx, m)->complete);

    CHECK(sob_dexbook_apply(dx, &led, 0, &res, &err) == SOB_OK);
    CHECK(res.n_drift == 0);
    CHECK(res.ledger_seq == seq && sob_dexbook_ledger_seq(dx) == seq);
    CHECK(sob_dexbook_check(dx) == SOB_OK);
    CHECK(res.n_trades == led.n_trades && led.n_trades == 29);
    /* every offer ends as its last change says */
    size_t checked = 0;
    for (size_t i = 0; i < led.n_changes; i++) {
        const sob_ledger_change *c = &led.changes[i];
        if (c->entry_type != SOB_ENTRY_OFFER || last_change(&led, c) != c) continue;
        uint32_t market, seller, flags;
        int side;
        sob_offer o;
        sob_status st = sob_dexbook_offer(dx, c->u.offer.offer_id, &market, &seller, &flags, &side, &o);
        if (c->change == SOB_CHANGE_REMOVED) {
            CHECK(st == SOB_E_NOT_FOUND);
        } else {
            CHECK(st == SOB_OK && o.amount == c->u.offer.amount && o.n == c->u.offer.n && o.d == c->u.offer.d);
            CHECK(!memcmp(sob_dexbook_account_key(dx, seller), c->u.offer.seller, 32));
            CHECK(flags == c->u.offer.flags);
        }
        checked++;
    }
    CHECK(checked >= 90);
    /* every pool ends as its last change says, and a pool event per pool changed */
    size_t pools = 0;
    for (size_t i = 0; i < led.n_changes; i++) {
        const sob_ledger_change *c = &led.changes[i];
        if (c->entry_type != SOB_ENTRY_LIQUIDITY_POOL || last_change(&led, c) != c) continue;
        pools++;
        int found = 0;
        for (uint32_t p = 0; p < sob_dexbook_pool_count(dx); p++) {
            if (memcmp(sob_dexbook_pool_id(dx, p), c->u.pool.pool_id, 32)) continue;
            const sob_dex_pool *pl = sob_dexbook_pool(dx, p);
            found = pl->live && pl->reserve_a == c->u.pool.reserve_a && pl->reserve_b == c->u.pool.reserve_b;
        }
        CHECK(found);
    }
    CHECK(pools > 0 && res.n_pools == pools);
    /* claimed offers: each lost at least what it sold, at most a rounding more */
    size_t claimed_checked = 0;
    for (size_t i = 0; i < res.n_offers; i++) {
        const sob_dex_offer_event *e = &res.offers[i];
        int64_t sold = 0;
        for (size_t t = 0; t < led.n_trades; t++)
            if (led.trades[t].claim_type == SOB_CLAIM_ORDER_BOOK && led.trades[t].offer_id == e->offer_id)
                sold += led.trades[t].amount_sold;
        if (!sold) continue;
        /* only offers changed by nothing but the operations that claimed them (an owner may also
         * have updated it in the same ledger) */
        int only_claims = 1;
        for (size_t c = 0; c < led.n_changes; c++) {
            const sob_ledger_change *ch = &led.changes[c];
            if (ch->entry_type != SOB_ENTRY_OFFER || ch->u.offer.offer_id != e->offer_id || ch->change == SOB_CHANGE_STATE)
                continue;
            int claimed_here = 0;
            for (size_t t = 0; t < led.n_trades; t++)
                claimed_here |= led.trades[t].offer_id == e->offer_id && led.trades[t].tx_index == ch->tx_index &&
                                led.trades[t].op_index == ch->op_index;
            only_claims &= claimed_here;
        }
        if (!only_claims) continue;
        claimed_checked++;
        int64_t lost = e->old_amount - e->new_amount;
        CHECK(e->kind != SOB_DEX_ADDED);
        CHECK(sold <= lost && lost <= sold + (lost / 1000000 > 2 ? lost / 1000000 : 2));
        if (!(sold <= lost && lost <= sold + (lost / 1000000 > 2 ? lost / 1000000 : 2)))
            fprintf(stderr, "offer %" PRId64 " kind %d old %" PRId64 " new %" PRId64 " sold %" PRId64 "\n", e->offer_id,
                    e->kind, e->old_amount, e->new_amount, sold);
    }
    CHECK(claimed_checked == 5); /* of the 11 order-book claims, 5 offers were changed by their claims only */
    /* each trade's market is the market of its pair, and holds the pair's offers or pools */
    for (size_t t = 0; t < res.n_trades; t++) {
        const sob_dex_trade_event *e = &res.trades[t];
        CHECK(e->market != SOB_DEX_NONE);
        uint32_t m;
        int flipped;
        const sob_ledger_trade *tr = &led.trades[e->trade];
        CHECK(sob_dexbook_find_market(dx, &tr->asset_sold, &tr->asset_bought, &m, &flipped) == SOB_OK && m == e->market);
    }
    /* the level events add up to the L2 views */
    for (size_t i = 0; i < res.n_levels; i++) {
        const sob_dex_level_event *e = &res.levels[i];
        CHECK(e->old_amount != e->new_amount);
    }
    /* best bid/ask in both orientations */
    for (uint32_t m = 0; m < sob_dexbook_market_count(dx); m++) {
        sob_level a, b2;
        int ha = sob_dexbook_best(dx, m, 0, SOB_SIDE_ASK, &a);
        int hb = sob_dexbook_best(dx, m, 1, SOB_SIDE_BID, &b2);
        CHECK(ha == hb);
        if (ha) CHECK(a.n == b2.d && a.d == b2.n && a.amount == b2.amount);
    }

    /* the same ledger again: a gap; the book unchanged */
    uint64_t fp = fingerprint(dx);
    CHECK(sob_dexbook_apply(dx, &led, 0, &res, &err) == SOB_E_MISMATCH);
    CHECK(fingerprint(dx) == fp);
    CHECK(res.n_offers == 0 && res.n_drift == 0);

    /* a ledger with an invalid last change: refused with its index, the book unchanged */
    sob_ledger_out bad = led;
    sob_ledger_change *chs = malloc((led.n_changes + 1) * sizeof *chs);
    memcpy(chs, led.changes, led.n_changes * sizeof *chs);
    chs[led.n_changes] = chs[0];
    for (size_t i = 0; i < led.n_changes; i++)
        if (chs[i].entry_type == SOB_ENTRY_OFFER && !chs[i].key_only) chs[led.n_changes] = chs[i];
    chs[led.n_changes].change = SOB_CHANGE_UPDATED;
    chs[led.n_changes].u.offer.n = 0;
    bad.changes = chs;
    bad.n_changes = led.n_changes + 1;
    bad.header.ledger_seq = seq + 1;
    CHECK(sob_dexbook_apply(dx, &bad, 0, &res, &err) == SOB_E_INVALID);
    CHECK(err.offset == led.n_changes);
    CHECK(fingerprint(dx) == fp);
    CHECK(sob_dexbook_check(dx) == SOB_OK);
    /* an offer whose two assets are the same */
    chs[led.n_changes].u.offer.n = 1;
    chs[led.n_changes].u.offer.buying = chs[led.n_changes].u.offer.selling;
    CHECK(sob_dexbook_apply(dx, &bad, 0, &res, &err) == SOB_E_INVALID);
    CHECK(fingerprint(dx) == fp);

    /* resync: a later ledger accepted with the flag; every market incomplete afterwards */
    sob_ledger_out later = led;
    later.changes = NULL;
    later.n_changes = 0;
    later.n_trades = 0;
    later.header.ledger_seq = seq + 10;
    CHECK(sob_dexbook_apply(dx, &later, 0, &res, &err) == SOB_E_MISMATCH);
    CHECK(sob_dexbook_apply(dx, &later, SOB_DEX_RESYNC, &res, &err) == SOB_OK);
    CHECK(sob_dexbook_ledger_seq(dx) == seq + 10);
    sob_dexbook_free(dx);

    /* drift: one seeded offer one stroop off */
    sob_dexbook *dy;
    CHECK(sob_dexbook_new(&dy) == SOB_OK);
    size_t victim = ns;
    for (size_t i = 0; i < ns && victim == ns; i++)
        if (states[i].entry_type == SOB_ENTRY_OFFER) victim = i;
    int64_t victim_id = states[victim].u.offer.offer_id;
    states[victim].u.offer.amount += 1;
    CHECK(sob_dexbook_seed(dy, states, ns, seq - 1, 0, &err) == SOB_OK);
    CHECK(sob_dexbook_apply(dy, &led, 0, &res, &err) == SOB_OK);
    CHECK(res.n_drift == 1);
    if (res.n_drift == 1) {
        CHECK(res.drift[0].kind == SOB_DRIFT_DIFFERS && res.drift[0].entry_type == SOB_ENTRY_OFFER);
        CHECK(res.drift[0].id == victim_id);
        uint32_t m, s, f;
        int side;
        sob_offer o;
        const sob_ledger_change *lc = last_change(&led, &states[victim]);
        if (sob_dexbook_offer(dy, victim_id, &m, &s, &f, &side, &o) == SOB_OK) {
            CHECK(res.drift[0].market == m);
            CHECK(lc->change != SOB_CHANGE_REMOVED && o.amount == lc->u.offer.amount);
        } else {
            CHECK(lc->change == SOB_CHANGE_REMOVED);
        }
    }
    CHECK(sob_dexbook_check(dy) == SOB_OK);
    sob_dexbook_free(dy);

    free(chs);
    free(states);
    sob_dex_result_free(&res);
    sob_ledger_out_free(&led);
    free(b.p);
}

/* ---- a full snapshot ---- */

static void test_full_snapshot(void) {
    buf b;
    if (read_file(DATA "sample-changes.xdr", &b)) {
        CHECK(!"sample-changes.xdr readable");
        return;
    }
    sob_ledger_out snap, led;
    sob_ledger_out_init(&snap);
    sob_ledger_out_init(&led);
    sob_ledger_error err;
    CHECK(sob_ledger_decode_changes(b.p, b.n, &snap, &err) == SOB_OK);
    sob_dexbook *dx;
    sob_dex_result res;
    sob_dex_result_init(&res);
    CHECK(sob_dexbook_new(&dx) == SOB_OK);
    CHECK(sob_dexbook_seed(dx, snap.changes, snap.n_changes, 1000, 1, &err) == SOB_OK);
    CHECK(sob_dexbook_offer_count(dx) == 100);
    CHECK(sob_dexbook_check(dx) == SOB_OK);
    CHECK(sob_dexbook_market_count(dx) > 0);
    for (uint32_t m = 0; m < sob_dexbook_market_count(dx); m++) CHECK(sob_dexbook_market(dx, m)->complete);
    /* a full snapshot only into an empty book */
    CHECK(sob_dexbook_seed(dx, snap.changes, snap.n_changes, 1000, 1, &err) == SOB_E_INVALID);
    /* a ledger updating an offer the complete book lacks: MISSING drift; one it has: no drift */
    sob_ledger_change ch[3];
    const sob_ledger_change *o1 = NULL;
    for (size_t i = 0; i < snap.n_changes && !o1; i++)
        if (snap.changes[i].entry_type == SOB_ENTRY_OFFER) o1 = &snap.changes[i];
    ch[0] = *o1;
    ch[0].change = SOB_CHANGE_STATE;
    ch[1] = *o1;
    ch[1].change = SOB_CHANGE_UPDATED;
    ch[1].u.offer.amount = o1->u.offer.amount / 2 + 1;
    ch[2] = *o1;
    ch[2].change = SOB_CHANGE_UPDATED;
    ch[2].u.offer.offer_id = 999999999999LL; /* not in the snapshot */
    memset(&led.header, 0, sizeof led.header);
    led.header.ledger_seq = 1001;
    led.changes = ch;
    led.n_changes = 3;
    CHECK(sob_dexbook_apply(dx, &led, 0, &res, &err) == SOB_OK);
    CHECK(res.n_drift == 1 && res.drift[0].kind == SOB_DRIFT_MISSING && res.drift[0].id == 999999999999LL);
    CHECK(res.n_offers == 2);
    CHECK(sob_dexbook_offer_count(dx) == 101);
    CHECK(sob_dexbook_check(dx) == SOB_OK);
    /* an empty book learns the same offer, without drift, and is never complete */
    sob_dexbook *dy;
    CHECK(sob_dexbook_new(&dy) == SOB_OK);
    CHECK(sob_dexbook_apply(dy, &led, 0, &res, &err) == SOB_OK);
    CHECK(res.n_drift == 0 && res.n_offers == 2);
    for (size_t i = 0; i < res.n_offers; i++) CHECK(res.offers[i].learned && res.offers[i].kind == SOB_DEX_ADDED);
    for (uint32_t m = 0; m < sob_dexbook_market_count(dy); m++) CHECK(!sob_dexbook_market(dy, m)->complete);
    sob_dexbook_free(dy);
    sob_dexbook_free(dx);
    sob_dex_result_free(&res);
    sob_ledger_out_free(&snap);
    free(b.p);
}

/* ---- random ledgers against a plain model ---- */

static uint64_t rng_state;
static uint64_t rnd(void) {
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return rng_state;
}

#define NIDS 150
#define NASSETS 4

typedef struct mo {
    int live;
    int sell, buy; /* asset index */
    int seller;
    int64_t amount;
    int32_t n, d;
    uint32_t flags;
} mo;

static void mk_asset(int i, sob_ledger_asset *a) {
    memset(a, 0, sizeof *a);
    if (i == 0) return;
    a->type = SOB_LEDGER_ASSET_ALPHANUM4;
    a->code[0] = (uint8_t)('A' + i);
    a->issuer[0] = (uint8_t)(100 + i);
}

static void mk_offer(sob_ledger_change *c, int change, int64_t id, const mo *o) {
    memset(c, 0, sizeof *c);
    c->change = (uint8_t)change;
    c->entry_type = SOB_ENTRY_OFFER;
    c->phase = SOB_PHASE_OPERATION;
    c->tx_index = 0;
    c->op_index = 0;
    c->u.offer.offer_id = id;
    c->u.offer.seller[0] = (uint8_t)o->seller;
    if (change == SOB_CHANGE_REMOVED) {
        c->key_only = 1;
        return;
    }
    mk_asset(o->sell, &c->u.offer.selling);
    mk_asset(o->buy, &c->u.offer.buying);
    c->u.offer.amount = o->amount;
    c->u.offer.n = o->n;
    c->u.offer.d = o->d;
    c->u.offer.flags = o->flags;
}

static int model_equal(const sob_dexbook *dx, const mo *model) {
    size_t live = 0;
    for (int64_t id = 1; id <= NIDS; id++) {
        const mo *o = &model[id];
        uint32_t m, s, f;
        int side;
        sob_offer x;
        sob_status st = sob_dexbook_offer(dx, id, &m, &s, &f, &side, &x);
        if (!o->live) {
            if (st != SOB_E_NOT_FOUND) return 0;
            continue;
        }
        live++;
        if (st != SOB_OK || x.amount != o->amount || x.n != o->n || x.d != o->d || f != o->flags) return 0;
        if (sob_dexbook_account_key(dx, s)[0] != (uint8_t)o->seller) return 0;
        sob_ledger_asset sa, ba;
        mk_asset(o->sell, &sa);
        mk_asset(o->buy, &ba);
        uint32_t mm;
        int flipped;
        if (sob_dexbook_find_market(dx, &sa, &ba, &mm, &flipped) || mm != m) return 0;
        /* selling the stored base is an ask */
        if ((side == SOB_SIDE_ASK) != !flipped) return 0;
    }
    return live == sob_dexbook_offer_count(dx);
}

static void test_random(uint64_t seed, int ledgers) {
    rng_state = seed * 0x9e3779b97f4a7c15ULL + 1;
    mo model[NIDS + 1];
    memset(model, 0, sizeof model);
    sob_dexbook *dx;
    sob_dex_result res;
    sob_dex_result_init(&res);
    sob_ledger_error err;
    CHECK(sob_dexbook_new(&dx) == SOB_OK);
    sob_ledger_out led;
    memset(&led, 0, sizeof led);
    sob_ledger_change ch[200];
    int fails = 0, ok = 0;
    for (int l = 0; l < ledgers; l++) {
        mo next[NIDS + 1];
        memcpy(next, model, sizeof next);
        size_t k = 0;
        int nops = 1 + (int)(rnd() % 40);
        for (int op = 0; op < nops && k + 3 < 200; op++) {
            int64_t id = 1 + (int64_t)(rnd() % NIDS);
            mo *o = &next[id];
            if (!o->live) { /* create */
                o->live = 1;
                o->sell = (int)(rnd() % NASSETS);
                do o->buy = (int)(rnd() % NASSETS); while (o->buy == o->sell);
                o->seller = 1 + (int)(rnd() % 5);
                o->amount = 1 + (int64_t)(rnd() % 1000);
                o->n = 1 + (int32_t)(rnd() % 8);
                o->d = 1 + (int32_t)(rnd() % 8);
                o->flags = (uint32_t)(rnd() % 2);
                mk_offer(&ch[k++], SOB_CHANGE_CREATED, id, o);
            } else {
                mk_offer(&ch[k++], SOB_CHANGE_STATE, id, o);
                if (rnd() % 3 == 0) {
                    mk_offer(&ch[k++], SOB_CHANGE_REMOVED, id, o);
                    o->live = 0;
                } else {
                    o->amount = 1 + (int64_t)(rnd() % 1000);
                    if (rnd() % 2) {
                        o->n = 1 + (int32_t)(rnd() % 8);
                        o->d = 1 + (int32_t)(rnd() % 8);
                    }
                    mk_offer(&ch[k++], SOB_CHANGE_UPDATED, id, o);
                }
            }
        }
        int invalid = rnd() % 8 == 0;
        if (invalid) { /* an offer with a zero amount somewhere: the whole ledger refused */
            size_t at = rnd() % (k + 1);
            memmove(&ch[at + 1], &ch[at], (k - at) * sizeof ch[0]);
            mo z = {1, 0, 1, 1, 0, 1, 1, 0};
            mk_offer(&ch[at], SOB_CHANGE_CREATED, 1 + (int64_t)(rnd() % NIDS), &z);
            k++;
        }
        led.header.ledger_seq = (uint32_t)(100 + ok + 1);
        led.changes = ch;
        led.n_changes = k;
        uint64_t fp = fingerprint(dx);
        sob_status st = sob_dexbook_apply(dx, &led, 0, &res, &err);
        if (invalid) {
            CHECK(st == SOB_E_INVALID);
            CHECK(fingerprint(dx) == fp);
            fails++;
        } else {
            CHECK(st == SOB_OK);
            CHECK(res.n_drift == 0);
            memcpy(model, next, sizeof model);
            ok++;
        }
        CHECK(model_equal(dx, model));
        if (l % 25 == 0) CHECK(sob_dexbook_check(dx) == SOB_OK);
    }
    CHECK(sob_dexbook_check(dx) == SOB_OK);
    CHECK(fails > 0 && ok > 0);
    sob_dexbook_free(dx);
    sob_dex_result_free(&res);
}

int main(void) {
    test_mainnet();
    test_full_snapshot();
    for (uint64_t s = 1; s <= 20; s++) test_random(s, 200);
    printf("test_dexbook: %d passed, %d failed\n", n_pass, n_fail);
    return n_fail ? 1 : 0;
}
