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

#include "dex.h" /* before ledger.h: see dexbook.h */
#include "dexbook.h"
#include "ledger.h"
#include "testlib.h"



#define DATA SOB_TEST_LEDGER_DATA

typedef struct buf {
    uint8_t *p;
    size_t n;
} buf;

static int read_file(const char *path, buf *b) { return (b->p = sob_test_read_file(path, &b->n)) ? 0 : -1; }

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


/* ---- crossing on the book: dex.h over DexBook markets (sellers' funds) ---- */

/* A hand-built copy of one venue of the DexBook: its side's offers in a plain sob_offerbook with a
 * seller handle per account (mapped to the same accounts-table keys), and a copy of its pool. */
typedef struct hand_venue {
    sob_offerbook book;
    sob_pool pool;
    sob_venue v;
} hand_venue;

static void hand_build(const sob_venue *dv, hand_venue *h) {
    sob_offerbook_init(&h->book);
    memset(&h->v, 0, sizeof h->v);
    h->v.side = dv->side;
    h->v.pool_a_is_send = dv->pool_a_is_send;
    if (dv->pool) {
        h->pool = *dv->pool;
        h->v.pool = &h->pool;
    }
    if (!dv->book) return;
    h->v.book = &h->book;
    size_t cnt = sob_offerbook_count(dv->book, dv->side);
    sob_offer *v = malloc((cnt + 1) * sizeof *v);
    uint64_t *keys = malloc((cnt + 1) * sizeof *keys), *handles = malloc((cnt + 1) * sizeof *handles);
    size_t nk = 0;
    sob_offerbook_copy(dv->book, dv->side, 0, cnt, v);
    for (size_t i = 0; i < cnt; i++) {
        uint64_t key = sob_offerbook_offer_account(dv->book, &v[i]), h_ = 0;
        for (size_t j = 0; j < nk && !h_; j++)
            if (keys[j] == key) h_ = handles[j];
        if (!h_ && key) {
            CHECK(sob_offerbook_seller_new(&h->book, &h_) == SOB_OK);
            CHECK(sob_offerbook_seller_set_account(&h->book, h_, key) == SOB_OK);
            keys[nk] = key;
            handles[nk++] = h_;
        }
        CHECK(sob_offerbook_add(&h->book, v[i].id, dv->side, v[i].n, v[i].d, v[i].amount, h_) == SOB_OK);
    }
    free(v);
    free(keys);
    free(handles);
}

/* Every field of two results that says what the network would answer. */
static int same_result(const sob_op_result *a, const sob_op_result *b) {
    if (a->code != b->code || a->thrown != b->thrown || a->sent != b->sent || a->received != b->received ||
        a->nclaims != b->nclaims || a->nhops != b->nhops || a->naccounts != b->naccounts ||
        a->ntrustlines != b->ntrustlines || a->noffers != b->noffers || a->npools != b->npools)
        return 0;
    for (size_t i = 0; i < a->nclaims; i++) {
        const sob_claim *x = &a->claims[i], *y = &b->claims[i];
        if (x->offer_id != y->offer_id || x->seller != y->seller || x->amount_sold != y->amount_sold ||
            x->amount_bought != y->amount_bought || x->remaining != y->remaining || x->type != y->type)
            return 0;
    }
    for (size_t i = 0; i < a->naccounts; i++)
        if (a->accounts[i].key != b->accounts[i].key || memcmp(&a->accounts[i].after, &b->accounts[i].after, sizeof(sob_account)))
            return 0;
    for (size_t i = 0; i < a->ntrustlines; i++)
        if (a->trustlines[i].key != b->trustlines[i].key || a->trustlines[i].asset != b->trustlines[i].asset ||
            memcmp(&a->trustlines[i].after, &b->trustlines[i].after, sizeof(sob_trustline)))
            return 0;
    for (size_t i = 0; i < a->noffers; i++)
        if (a->offers[i].offer_id != b->offers[i].offer_id || a->offers[i].amount != b->offers[i].amount) return 0;
    for (size_t i = 0; i < a->npools; i++)
        if (a->pools[i].reserve_a != b->pools[i].reserve_a || a->pools[i].reserve_b != b->pools[i].reserve_b) return 0;
    return 1;
}

/* The accounts table built straight from the STATE entries (not from the DexBook's table), with
 * the DexBook's keys (account index + 1) and asset ids. */
static void hand_table(const sob_dexbook *dx, const sob_ledger_change *st, size_t ns, sob_accounts *t) {
    sob_accounts_init(t);
    for (size_t i = 0; i < ns; i++) {
        const sob_ledger_change *c = &st[i];
        uint32_t ix, asset;
        if (c->entry_type == SOB_ENTRY_ACCOUNT) {
            const sob_ledger_account *a = &c->u.account;
            CHECK(sob_dexbook_find_account(dx, a->account, &ix) == SOB_OK);
            sob_account v = {a->balance, a->buying_liabilities, a->selling_liabilities, a->num_sub_entries,
                             a->num_sponsoring, a->num_sponsored, a->flags};
            CHECK(sob_accounts_set_account(t, sob_dexbook_account_table_key(ix), &v) == SOB_OK);
        } else if (c->entry_type == SOB_ENTRY_TRUSTLINE && c->u.trustline.asset.type != SOB_LEDGER_ASSET_POOL_SHARE) {
            const sob_ledger_trustline *l = &c->u.trustline;
            CHECK(sob_dexbook_find_account(dx, l->account, &ix) == SOB_OK);
            CHECK(sob_dexbook_find_asset(dx, &l->asset, &asset) == SOB_OK);
            sob_trustline v = {l->balance, l->limit, l->buying_liabilities, l->selling_liabilities, l->flags, 0};
            CHECK(sob_accounts_set_trustline(t, sob_dexbook_account_table_key(ix), asset, &v) == SOB_OK);
        }
    }
    for (uint32_t a = 1; a < sob_dexbook_asset_count(dx); a++) {
        uint32_t ix;
        if (sob_dexbook_find_account(dx, sob_dexbook_asset(dx, a)->issuer, &ix) == SOB_OK)
            CHECK(sob_accounts_set_issuer(t, a, sob_dexbook_account_table_key(ix)) == SOB_OK);
    }
}

/* The mainnet ledger's STATE entries seeded: every market, both directions, one and two hops,
 * strict send and strict receive at amounts from one stroop to past the whole side: the path
 * payment on DexBook venues (the book's own accounts table) equals the same path payment on
 * hand-built books and a table built separately from the same entries, field by field. */
static void test_venues_mainnet(void) {
    buf b;
    sob_ledger_out led;
    sob_ledger_out_init(&led);
    if (decode_batch(DATA "FCD285FF--53312000.xdr", &b, &led)) {
        CHECK(!"mainnet fixture decodes");
        return;
    }
    size_t ns;
    sob_ledger_change *states = first_states(&led, &ns);
    sob_dexbook *dx;
    sob_ledger_error err;
    CHECK(sob_dexbook_new(&dx) == SOB_OK);
    CHECK(sob_dexbook_seed(dx, states, ns, led.header.ledger_seq - 1, 0, &err) == SOB_OK);
    sob_accounts table;
    hand_table(dx, states, ns, &table);
    sob_dex_ctx ctx, hctx, bare;
    sob_dexbook_ctx(dx, &ctx);
    hctx = ctx;
    hctx.accounts = &table;
    bare = ctx;
    bare.accounts = NULL;
    CHECK(ctx.accounts == sob_dexbook_accounts(dx));
    sob_dex_scratch *s1 = sob_dex_scratch_new(), *s2 = sob_dex_scratch_new(), *s3 = sob_dex_scratch_new();
    size_t cases = 0, crossed = 0, known_sellers = 0, funds_matter = 0, mismatches = 0;
    uint32_t nm = sob_dexbook_market_count(dx);
    for (uint32_t m1 = 0; m1 < nm; m1++) {
        const sob_dex_market *mk = sob_dexbook_market(dx, m1);
        for (int dir = 0; dir < 2; dir++) {
            uint32_t x = dir ? mk->counter : mk->base, y = dir ? mk->base : mk->counter;
            /* one hop x -> y, then two hops x -> y -> z over every market of y */
            for (uint32_t m2 = 0; m2 <= nm; m2++) {
                uint32_t assets[3] = {x, y, 0};
                uint32_t na = 2;
                if (m2 < nm) {
                    const sob_dex_market *mk2 = sob_dexbook_market(dx, m2);
                    if (m2 == m1 || (mk2->base != y && mk2->counter != y)) continue;
                    assets[2] = mk2->base == y ? mk2->counter : mk2->base;
                    if (assets[2] == x) continue; /* the same pool twice: one state in both books */
                    na = 3;
                }
                sob_venue dv[2];
                hand_venue hv[2];
                for (uint32_t h = 0; h + 1 < na; h++) {
                    CHECK(sob_dexbook_venue(dx, assets[h], assets[h + 1], &dv[h]) == SOB_OK);
                    hand_build(&dv[h], &hv[h]);
                }
                sob_venue hvs[2] = {hv[0].v, hv[1].v};
                /* amounts: around the last hop's side total (what it sells) */
                const sob_venue *last = &dv[na - 2];
                int64_t total = 0;
                size_t cnt = last->book ? sob_offerbook_count(last->book, last->side) : 0;
                sob_offer *ov = malloc((cnt + 1) * sizeof *ov);
                if (cnt) sob_offerbook_copy(last->book, last->side, 0, cnt, ov);
                for (size_t i = 0; i < cnt; i++) total += ov[i].amount;
                free(ov);
                int64_t amounts[6] = {1, total / 7 + 1, total / 3 + 1, total / 2 + 1, total > 0 ? total : 1, total + 1};
                for (int kind = 0; kind < 2; kind++)
                    for (int ai = 0; ai < 6; ai++) {
                        sob_path_op op;
                        memset(&op, 0, sizeof op);
                        op.kind = kind ? SOB_OP_PATH_PAYMENT_STRICT_RECEIVE : SOB_OP_PATH_PAYMENT_STRICT_SEND;
                        op.nassets = na;
                        memcpy(op.assets, assets, sizeof assets);
                        op.send = kind ? INT64_MAX : amounts[ai];
                        op.dest = kind ? amounts[ai] : 1;
                        sob_op_result r1, r2, r3;
                        CHECK(sob_path_payment(&ctx, &op, dv, s1, &r1) == SOB_OK);
                        CHECK(sob_path_payment(&hctx, &op, hvs, s2, &r2) == SOB_OK);
                        CHECK(sob_path_payment(&bare, &op, dv, s3, &r3) == SOB_OK);
                        cases++;
                        if (!same_result(&r1, &r2)) {
                            mismatches++;
                            fprintf(stderr, "venue mismatch: market %u dir %d m2 %u kind %d amount %lld: %d vs %d\n",
                                    m1, dir, m2, kind, (long long)amounts[ai], r1.code, r2.code);
                        }
                        crossed += r1.nclaims > 0;
                        for (size_t c = 0; c < r1.nhop_claims; c++) {
                            sob_account a;
                            known_sellers += r1.hop_claims[c].seller &&
                                             sob_accounts_get_account(&table, r1.hop_claims[c].seller, &a) == SOB_OK;
                        }
                        funds_matter += !same_result(&r1, &r3);
                    }
                for (uint32_t h = 0; h + 1 < na; h++) sob_offerbook_free(&hv[h].book);
            }
        }
    }
    printf("venues on the mainnet ledger: %zu path payments, %zu crossed offers, %zu claims of sellers with a "
           "known account, %zu differ from the fully-funded model\n",
           cases, crossed, known_sellers, funds_matter);
    CHECK(mismatches == 0);
    CHECK(cases > 100 && crossed > 20 && known_sellers > 0);
    sob_dex_scratch_free(s1);
    sob_dex_scratch_free(s2);
    sob_dex_scratch_free(s3);
    sob_accounts_free(&table);
    sob_dexbook_free(dx);
    free(states);
    free(b.p);
    sob_ledger_out_free(&led);
}

/* An offer whose seller cannot fund it: crossing reduces it to canSellAtMost (the trust line's
 * balance minus its other selling liabilities) or to canBuyAtMost (the headroom under the trust
 * limit), as core's crossOfferV10 does (OfferExchange.cpp: the offer is adjusted with the seller's
 * real funds before exchangeV10), and the offer leaves the book when what is funded is taken. */
static void test_venue_underfunded(void) {
    sob_ledger_change ch[6];
    memset(ch, 0, sizeof ch);
    for (int i = 0; i < 6; i++) {
        ch[i].change = SOB_CHANGE_STATE;
        ch[i].phase = SOB_PHASE_STANDALONE;
        ch[i].tx_index = ch[i].op_index = -1;
    }
    sob_ledger_asset xa;
    memset(&xa, 0, sizeof xa);
    xa.type = SOB_LEDGER_ASSET_ALPHANUM4;
    memcpy(xa.code, "XXX", 3);
    memset(xa.issuer, 0x11, 32);
    /* seller S (0x22) sells 1000 X for XLM at 1/1 but holds only 100 X */
    ch[0].entry_type = SOB_ENTRY_ACCOUNT;
    memset(ch[0].u.account.account, 0x22, 32);
    ch[0].u.account.balance = 1000 * 10000000LL;
    ch[0].u.account.buying_liabilities = 1000; /* its offer buys 1000 stroops of XLM */
    ch[0].u.account.num_sub_entries = 2;
    ch[1].entry_type = SOB_ENTRY_TRUSTLINE;
    memset(ch[1].u.trustline.account, 0x22, 32);
    ch[1].u.trustline.asset = xa;
    ch[1].u.trustline.balance = 100;
    ch[1].u.trustline.limit = INT64_MAX;
    ch[1].u.trustline.selling_liabilities = 1000;
    ch[1].u.trustline.flags = SOB_TL_AUTHORIZED;
    ch[2].entry_type = SOB_ENTRY_OFFER;
    memset(ch[2].u.offer.seller, 0x22, 32);
    ch[2].u.offer.offer_id = 1;
    ch[2].u.offer.selling = xa;
    ch[2].u.offer.amount = 1000;
    ch[2].u.offer.n = ch[2].u.offer.d = 1;
    /* seller T (0x33) sells 200 stroops of XLM for X at 1/1 but may receive only 50 X more */
    ch[3].entry_type = SOB_ENTRY_ACCOUNT;
    memset(ch[3].u.account.account, 0x33, 32);
    ch[3].u.account.balance = 1000 * 10000000LL;
    ch[3].u.account.selling_liabilities = 200;
    ch[3].u.account.num_sub_entries = 2;
    ch[4].entry_type = SOB_ENTRY_TRUSTLINE;
    memset(ch[4].u.trustline.account, 0x33, 32);
    ch[4].u.trustline.asset = xa;
    ch[4].u.trustline.balance = 0;
    ch[4].u.trustline.limit = 50;
    ch[4].u.trustline.buying_liabilities = 200;
    ch[4].u.trustline.flags = SOB_TL_AUTHORIZED;
    ch[5].entry_type = SOB_ENTRY_OFFER;
    memset(ch[5].u.offer.seller, 0x33, 32);
    ch[5].u.offer.offer_id = 2;
    ch[5].u.offer.buying = xa;
    ch[5].u.offer.amount = 200;
    ch[5].u.offer.n = ch[5].u.offer.d = 1;
    sob_dexbook *dx;
    sob_ledger_error err;
    CHECK(sob_dexbook_new(&dx) == SOB_OK);
    CHECK(sob_dexbook_seed(dx, ch, 6, 100, 0, &err) == SOB_OK);
    CHECK(sob_dexbook_check(dx) == SOB_OK);
    uint32_t x, is, s, t;
    CHECK(sob_dexbook_find_asset(dx, &xa, &x) == SOB_OK);
    /* the issuer is registered though its account entry was never seen */
    CHECK(sob_dexbook_find_account(dx, xa.issuer, &is) == SOB_OK);
    CHECK(sob_accounts_issuer(sob_dexbook_accounts(dx), x) == sob_dexbook_account_table_key(is));
    CHECK(sob_dexbook_find_account(dx, ch[0].u.account.account, &s) == SOB_OK);
    CHECK(sob_dexbook_find_account(dx, ch[3].u.account.account, &t) == SOB_OK);
    sob_dex_ctx ctx, bare;
    sob_dexbook_ctx(dx, &ctx);
    bare = ctx;
    bare.accounts = NULL;
    sob_dex_scratch *sc = sob_dex_scratch_new();
    sob_venue v;
    sob_op_result r;
    CHECK(sob_dexbook_venue(dx, x, x, &v) == SOB_E_INVALID);
    /* buy X with XLM: S's offer is funded for 100 X */
    CHECK(sob_dexbook_venue(dx, SOB_ASSET_ID_NATIVE, x, &v) == SOB_OK && v.book && !v.pool);
    sob_path_op op = {SOB_OP_PATH_PAYMENT_STRICT_RECEIVE, 2, {SOB_ASSET_ID_NATIVE, x}, 0, 0, INT64_MAX, 100};
    CHECK(sob_path_payment(&ctx, &op, &v, sc, &r) == SOB_OK);
    CHECK(r.code == SOB_R_PATH_PAYMENT_STRICT_RECEIVE_SUCCESS && r.sent == 100 && r.received == 100);
    CHECK(r.nclaims == 1 && r.claims[0].offer_id == 1 && r.claims[0].seller == sob_dexbook_account_table_key(s) &&
          r.claims[0].amount_sold == 100 && r.claims[0].remaining == 0);
    op.dest = 101; /* more than S can deliver */
    CHECK(sob_path_payment(&ctx, &op, &v, sc, &r) == SOB_OK);
    CHECK(r.code == SOB_R_PATH_PAYMENT_STRICT_RECEIVE_TOO_FEW_OFFERS);
    CHECK(sob_path_payment(&bare, &op, &v, sc, &r) == SOB_OK); /* the fully-funded model would fill it */
    CHECK(r.code == SOB_R_PATH_PAYMENT_STRICT_RECEIVE_SUCCESS && r.nclaims == 1 && r.claims[0].remaining == 899);
    sob_path_op ss = {SOB_OP_PATH_PAYMENT_STRICT_SEND, 2, {SOB_ASSET_ID_NATIVE, x}, 0, 0, 60, 1};
    CHECK(sob_path_payment(&ctx, &ss, &v, sc, &r) == SOB_OK);
    CHECK(r.code == SOB_R_PATH_PAYMENT_STRICT_SEND_SUCCESS && r.received == 60 && r.nclaims == 1 &&
          r.claims[0].remaining == 40); /* what stays is what is funded: 100 - 60 */
    /* buy XLM with X: T's offer may take only 50 X */
    CHECK(sob_dexbook_venue(dx, x, SOB_ASSET_ID_NATIVE, &v) == SOB_OK && v.book);
    sob_path_op o2 = {SOB_OP_PATH_PAYMENT_STRICT_RECEIVE, 2, {x, SOB_ASSET_ID_NATIVE}, 0, 0, INT64_MAX, 50};
    CHECK(sob_path_payment(&ctx, &o2, &v, sc, &r) == SOB_OK);
    CHECK(r.code == SOB_R_PATH_PAYMENT_STRICT_RECEIVE_SUCCESS && r.nclaims == 1 && r.claims[0].offer_id == 2 &&
          r.claims[0].seller == sob_dexbook_account_table_key(t) && r.claims[0].amount_bought == 50 &&
          r.claims[0].remaining == 0);
    o2.dest = 51;
    CHECK(sob_path_payment(&ctx, &o2, &v, sc, &r) == SOB_OK);
    CHECK(r.code == SOB_R_PATH_PAYMENT_STRICT_RECEIVE_TOO_FEW_OFFERS);
    CHECK(sob_path_payment(&bare, &o2, &v, sc, &r) == SOB_OK);
    CHECK(r.code == SOB_R_PATH_PAYMENT_STRICT_RECEIVE_SUCCESS);
    /* the taker's own offer: CROSS_SELF (the offers' keys are the table's keys) */
    o2.source = sob_dexbook_account_table_key(t);
    o2.dest = 10;
    CHECK(sob_path_payment(&ctx, &o2, &v, sc, &r) == SOB_OK);
    CHECK(r.code == SOB_R_PATH_PAYMENT_STRICT_RECEIVE_OFFER_CROSS_SELF);
    sob_dex_scratch_free(sc);
    sob_dexbook_free(dx);
}

/* ---- the offer index keeps 32-bit fingerprints of ids, checked against the books ---- */

/* A copy of dexbook.c's oi_fp (the index's fingerprint of an id). If that function changes, this
 * search still finds two ids, but they may no longer collide there: keep the two equal. */
static uint32_t index_fp(int64_t id) {
    uint64_t h = (uint64_t)id * 0x9e3779b97f4a7c15ULL;
    h ^= h >> 29;
    h *= 0xbf58476d1ce4e5b9ULL;
    h ^= h >> 32;
    return (uint32_t)(h >> 32);
}

static int cmp_u64(const void *a, const void *b) {
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return (x > y) - (x < y);
}

/* Two offers whose ids share a fingerprint, in the same market, side and price (their index slots
 * are byte-identical), one passive: each is found as itself with its own flag, through removals
 * of either and updates, and the book's check holds. */
static void test_fingerprint_collision(void) {
    const size_t n = 400000;
    uint64_t *v = malloc(n * sizeof *v);
    for (size_t i = 0; i < n; i++) v[i] = ((uint64_t)index_fp((int64_t)i + 1) << 32) | (uint64_t)(i + 1);
    qsort(v, n, sizeof *v, cmp_u64);
    int64_t x = 0, y = 0;
    for (size_t i = 1; i < n && !x; i++)
        if (v[i] >> 32 == v[i - 1] >> 32) {
            x = (int64_t)(uint32_t)v[i - 1];
            y = (int64_t)(uint32_t)v[i];
        }
    free(v);
    CHECK(x && y && index_fp(x) == index_fp(y));
    if (!x) return;
    for (int removed_first = 0; removed_first < 2; removed_first++) {
        sob_dexbook *dx;
        sob_dex_result res;
        sob_dex_result_init(&res);
        sob_ledger_error err;
        CHECK(sob_dexbook_new(&dx) == SOB_OK);
        mo ox = {1, 1, 0, 1, 500, 3, 2, 1}, oy = {1, 1, 0, 2, 700, 3, 2, 0}; /* x passive, y not */
        sob_ledger_change ch[4];
        mk_offer(&ch[0], SOB_CHANGE_STATE, x, &ox);
        mk_offer(&ch[1], SOB_CHANGE_STATE, y, &oy);
        CHECK(sob_dexbook_seed(dx, ch, 2, 10, 0, &err) == SOB_OK);
        CHECK(sob_dexbook_check(dx) == SOB_OK && sob_dexbook_offer_count(dx) == 2);
        uint32_t market, seller, flags;
        int side;
        sob_offer o;
        CHECK(sob_dexbook_offer(dx, x, &market, &seller, &flags, &side, &o) == SOB_OK && o.id == x && flags == 1 &&
              o.amount == 500);
        CHECK(sob_dexbook_offer(dx, y, &market, &seller, &flags, &side, &o) == SOB_OK && o.id == y && flags == 0 &&
              o.amount == 700);
        /* remove one, update the other */
        int64_t gone = removed_first ? y : x, kept = removed_first ? x : y;
        mo *og = removed_first ? &oy : &ox, *ok = removed_first ? &ox : &oy;
        mk_offer(&ch[0], SOB_CHANGE_STATE, gone, og);
        mk_offer(&ch[1], SOB_CHANGE_REMOVED, gone, og);
        mk_offer(&ch[2], SOB_CHANGE_STATE, kept, ok);
        ok->amount = 99;
        mk_offer(&ch[3], SOB_CHANGE_UPDATED, kept, ok);
        sob_ledger_out led;
        memset(&led, 0, sizeof led);
        led.header.ledger_seq = 11;
        led.changes = ch;
        led.n_changes = 4;
        CHECK(sob_dexbook_apply(dx, &led, 0, &res, &err) == SOB_OK && res.n_drift == 0);
        CHECK(sob_dexbook_check(dx) == SOB_OK && sob_dexbook_offer_count(dx) == 1);
        CHECK(sob_dexbook_offer(dx, gone, &market, &seller, &flags, &side, &o) == SOB_E_NOT_FOUND);
        CHECK(sob_dexbook_offer(dx, kept, &market, &seller, &flags, &side, &o) == SOB_OK && o.id == kept &&
              o.amount == 99 && flags == ok->flags);
        sob_dexbook_free(dx);
        sob_dex_result_free(&res);
    }
}

/* A book filtered to one market (the first trade's) holds exactly that market of the whole book,
 * after the same seed and ledger; offers elsewhere are not held; the filter is set once. */
static void test_filter_mainnet(void) {
    buf b;
    sob_ledger_out led;
    sob_ledger_out_init(&led);
    if (decode_batch(DATA "FCD285FF--53312000.xdr", &b, &led)) {
        CHECK(!"mainnet fixture decodes");
        return;
    }
    size_t ns;
    sob_ledger_change *states = first_states(&led, &ns);
    uint32_t seq = led.header.ledger_seq;
    sob_ledger_error err;
    sob_dex_result rf, rp;
    sob_dex_result_init(&rf);
    sob_dex_result_init(&rp);
    sob_dexbook *full, *part;
    CHECK(sob_dexbook_new(&full) == SOB_OK && sob_dexbook_new(&part) == SOB_OK);
    const sob_ledger_trade *tr = &led.trades[0];
    sob_ledger_asset pair[2] = {tr->asset_bought, tr->asset_sold};
    CHECK(sob_dexbook_set_filter(part, NULL, 0, pair, 1, &err) == SOB_OK && sob_dexbook_filtering(part));
    CHECK(sob_dexbook_set_filter(part, NULL, 0, pair, 1, &err) == SOB_E_INVALID); /* once */
    CHECK(sob_dexbook_seed(full, states, ns, seq - 1, 0, &err) == SOB_OK);
    CHECK(sob_dexbook_seed(part, states, ns, seq - 1, 0, &err) == SOB_OK);
    CHECK(sob_dexbook_apply(full, &led, 0, &rf, &err) == SOB_OK && rf.n_drift == 0);
    CHECK(sob_dexbook_apply(part, &led, 0, &rp, &err) == SOB_OK && rp.n_drift == 0);
    CHECK(sob_dexbook_check(part) == SOB_OK);
    uint32_t mf, mp;
    int ff, fp;
    CHECK(sob_dexbook_find_market(full, &pair[0], &pair[1], &mf, &ff) == SOB_OK);
    CHECK(sob_dexbook_find_market(part, &pair[0], &pair[1], &mp, &fp) == SOB_OK);
    CHECK(sob_dexbook_market_count(part) == 1 && sob_dexbook_market_count(full) > 1);
    if (sob_dexbook_market_count(part) != 1) return;
    const sob_dex_market *a = sob_dexbook_market(full, mf), *c = sob_dexbook_market(part, mp);
    size_t held = 0;
    for (int s = 0; s < 2; s++) {
        int sp = ff == fp ? s : 1 - s; /* the stored orientations follow each book's asset ids */
        size_t n = sob_offerbook_count(&a->offers, s);
        CHECK(n == sob_offerbook_count(&c->offers, sp));
        held += n;
        sob_offer *x = calloc(n + 1, sizeof *x), *y = calloc(n + 1, sizeof *y);
        sob_offerbook_copy(&a->offers, s, 0, n, x);
        sob_offerbook_copy(&c->offers, sp, 0, n, y);
        for (size_t k = 0; k < n; k++) {
            CHECK(x[k].id == y[k].id && x[k].amount == y[k].amount && x[k].n == y[k].n && x[k].d == y[k].d);
            CHECK(!memcmp(sob_dexbook_account_key(full, (uint32_t)(x[k].seller - 1)),
                          sob_dexbook_account_key(part, (uint32_t)(y[k].seller - 1)), 32));
        }
        free(x);
        free(y);
        sob_level lf, lp;
        int hf = sob_dexbook_best(full, mf, ff, s, &lf), hp = sob_dexbook_best(part, mp, fp, s, &lp);
        CHECK(hf == hp && (!hf || (lf.n == lp.n && lf.d == lp.d && lf.amount == lp.amount)));
    }
    CHECK(held > 0 && sob_dexbook_offer_count(part) == held && sob_dexbook_offer_count(full) > held);
    /* every offer change of another market is dropped */
    size_t others = 0;
    for (size_t i = 0; i < led.n_changes; i++) {
        const sob_ledger_change *ch = &led.changes[i];
        if (ch->entry_type != SOB_ENTRY_OFFER || ch->key_only) continue;
        uint32_t m, sel, fl;
        int side;
        sob_offer o;
        if (sob_dexbook_offer(full, ch->u.offer.offer_id, &m, &sel, &fl, &side, &o) != SOB_OK || m == mf) continue;
        CHECK(sob_dexbook_offer(part, ch->u.offer.offer_id, &m, &sel, &fl, &side, &o) == SOB_E_NOT_FOUND);
        others++;
    }
    CHECK(others > 0);
    for (size_t k = 0; k < rp.n_trades; k++) CHECK(rp.trades[k].market == mp);
    size_t tf = 0;
    for (size_t k = 0; k < rf.n_trades; k++) tf += rf.trades[k].market == mf;
    CHECK(tf == rp.n_trades && tf > 0);
    sob_dexbook_free(full);
    sob_dexbook_free(part);
    sob_dex_result_free(&rf);
    sob_dex_result_free(&rp);
    free(states);
    free(b.p);
    sob_ledger_out_free(&led);
}

int main(void) {
    test_filter_mainnet();
    test_fingerprint_collision();
    test_venues_mainnet();
    test_venue_underfunded();
    test_mainnet();
    test_full_snapshot();
    for (uint64_t s = 1; s <= 20; s++) test_random(s, 200);
    return sob_test_summary("test_dexbook");
}
