/* fuzz_ledger.c: libFuzzer harness for the LedgerCloseMeta decoder (csrc/ledger). Every input goes
 * through every input form: a raw LedgerCloseMeta, a LedgerCloseMetaBatch, a record-marked
 * stream, a bare LedgerEntryChanges, and base64 text of a meta. Each must fail cleanly (SOB_E_PARSE,
 * an offset inside the input, a reason, nothing published) or return records that respect the
 * documented invariants; decoding the same bytes again into a reused output gives the same
 * records. Run with csrc/fuzz/run_fuzz.sh (seed corpus: csrc/fuzz/corpus_ledger). */
#include <stdlib.h>
#include <string.h>

#include "ledger.h"

#define INV(cond)             \
    do {                      \
        if (!(cond)) abort(); \
    } while (0)

static sob_ledger_out out_a, out_b; /* reused across inputs, as the bindings will */

static void check_asset(const sob_ledger_asset *a, int trustline) {
    INV(a->type <= (trustline ? 3 : 2));
    INV(a->pad_[0] == 0 && a->pad_[1] == 0 && a->pad_[2] == 0);
}

static void check_out(const sob_ledger_out *o, size_t len, int standalone) {
    INV(o->n_changes == 0 || o->changes != NULL);
    for (size_t i = 0; i < o->n_changes; i++) {
        const sob_ledger_change *c = &o->changes[i];
        INV(c->change <= SOB_CHANGE_RESTORED);
        INV(c->entry_type == SOB_ENTRY_ACCOUNT || c->entry_type == SOB_ENTRY_TRUSTLINE ||
            c->entry_type == SOB_ENTRY_OFFER || c->entry_type == SOB_ENTRY_LIQUIDITY_POOL);
        INV(c->phase <= SOB_PHASE_STANDALONE);
        INV(standalone == (c->phase == SOB_PHASE_STANDALONE));
        INV(c->key_only == (c->change == SOB_CHANGE_REMOVED));
        INV(!c->key_only || c->last_modified == 0);
        if (c->phase <= SOB_PHASE_POST_APPLY_FEE) {
            INV(c->tx_index >= 0 && (size_t)c->tx_index < o->n_txs);
        } else {
            INV(c->tx_index == -1);
        }
        INV((c->phase == SOB_PHASE_OPERATION || c->phase == SOB_PHASE_UPGRADE) ? c->op_index >= 0 : c->op_index == -1);
        if (i) { /* core's order: phases never go back, except within a transaction's apply meta */
            const sob_ledger_change *p = &o->changes[i - 1];
            int pa = p->phase >= SOB_PHASE_TX_BEFORE && p->phase <= SOB_PHASE_TX_AFTER ? 1 : p->phase;
            int pb = c->phase >= SOB_PHASE_TX_BEFORE && c->phase <= SOB_PHASE_TX_AFTER ? 1 : c->phase;
            INV(pa <= pb);
            if (pa == pb && c->phase <= SOB_PHASE_POST_APPLY_FEE) INV(p->tx_index <= c->tx_index);
        }
        if (c->entry_type == SOB_ENTRY_OFFER) {
            check_asset(&c->u.offer.selling, 0);
            check_asset(&c->u.offer.buying, 0);
        } else if (c->entry_type == SOB_ENTRY_LIQUIDITY_POOL) {
            check_asset(&c->u.pool.asset_a, 0);
            check_asset(&c->u.pool.asset_b, 0);
        } else if (c->entry_type == SOB_ENTRY_TRUSTLINE) {
            check_asset(&c->u.trustline.asset, 1);
        }
    }
    for (size_t i = 0; i < o->n_trades; i++) {
        const sob_ledger_trade *t = &o->trades[i];
        INV(t->tx_index >= 0 && (size_t)t->tx_index < o->n_txs);
        INV(o->txs[t->tx_index].successful);
        INV(t->op_index >= 0 && (uint32_t)t->op_index < o->txs[t->tx_index].op_count);
        INV(t->op_type == 2 || t->op_type == 3 || t->op_type == 4 || t->op_type == 12 || t->op_type == 13);
        INV(t->claim_type <= SOB_CLAIM_LIQUIDITY_POOL);
        INV(t->claim_type != SOB_CLAIM_LIQUIDITY_POOL || t->offer_id == 0);
        check_asset(&t->asset_sold, 0);
        check_asset(&t->asset_bought, 0);
        if (i) INV(o->trades[i - 1].tx_index <= t->tx_index);
    }
    for (size_t i = 0; i < o->n_txs; i++) INV(o->txs[i].successful <= 1);
    if (!standalone) {
        INV(o->header.meta_version <= 2);
        INV(o->header.tx_count == o->n_txs);
        INV(o->header.meta_offset + o->header.meta_size <= len);
    }
}

static int same(const sob_ledger_out *a, const sob_ledger_out *b) {
    return a->n_changes == b->n_changes && a->n_trades == b->n_trades && a->n_txs == b->n_txs &&
           !memcmp(&a->header, &b->header, sizeof a->header) &&
           (!a->n_changes || !memcmp(a->changes, b->changes, a->n_changes * sizeof *a->changes)) &&
           (!a->n_trades || !memcmp(a->trades, b->trades, a->n_trades * sizeof *a->trades)) &&
           (!a->n_txs || !memcmp(a->txs, b->txs, a->n_txs * sizeof *a->txs));
}

static void check_fail(sob_status st, const sob_ledger_error *err, size_t len, const sob_ledger_out *o) {
    INV(st == SOB_E_PARSE || st == SOB_E_NOMEM);
    INV(err->reason != NULL && err->reason[0] != '\0');
    INV(err->offset <= len);
    INV(o->n_changes == 0 && o->n_trades == 0 && o->n_txs == 0);
}

static void run_reader(const uint8_t *buf, size_t size, int form) {
    sob_ledger_reader ra, rb;
    sob_ledger_error ea, eb;
    sob_status sa = sob_ledger_reader_init(&ra, buf, size, form, &ea);
    sob_status sb = sob_ledger_reader_init(&rb, buf, size, form, &eb);
    INV(sa == sb);
    if (sa != SOB_OK) {
        INV(sa == SOB_E_PARSE && ea.offset <= size && ea.reason);
        return;
    }
    for (int guard = 0; guard < 1 << 20; guard++) {
        int ga, gb;
        sa = sob_ledger_reader_next(&ra, &out_a, &ga, &ea);
        sb = sob_ledger_reader_next(&rb, &out_b, &gb, &eb);
        INV(sa == sb && ga == gb);
        if (sa != SOB_OK) {
            check_fail(sa, &ea, size, &out_a);
            INV(ea.offset == eb.offset && ea.reason == eb.reason);
            /* a failed reader stays failed */
            sb = sob_ledger_reader_next(&rb, &out_b, &gb, &eb);
            INV(sb == sa && eb.offset == ea.offset && gb == 0);
            return;
        }
        if (!ga) {
            INV(out_a.n_changes == 0 && out_a.n_txs == 0);
            return;
        }
        check_out(&out_a, size, 0);
        INV(same(&out_a, &out_b));
    }
    abort(); /* more ledgers than bytes: impossible */
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    /* An exact-size copy: reading one byte past the input is a reported bug. */
    uint8_t *buf = malloc(size ? size : 1);
    if (!buf) return 0;
    memcpy(buf, data, size);
    sob_ledger_error err;
    sob_status st;

    st = sob_ledger_decode(buf, size, &out_a, &err);
    if (st == SOB_OK) {
        check_out(&out_a, size, 0);
        INV(out_a.header.meta_offset == 0 && out_a.header.meta_size == size);
        INV(sob_ledger_decode(buf, size, &out_b, &err) == SOB_OK && same(&out_a, &out_b));
    } else {
        check_fail(st, &err, size, &out_a);
    }

    st = sob_ledger_decode_changes(buf, size, &out_a, &err);
    if (st == SOB_OK)
        check_out(&out_a, size, 1);
    else
        check_fail(st, &err, size, &out_a);

    run_reader(buf, size, SOB_LEDGER_FORM_BATCH);
    run_reader(buf, size, SOB_LEDGER_FORM_STREAM);
    run_reader(buf, size, SOB_LEDGER_FORM_META);

    /* base64 text: decode into an exact-size buffer, then as a meta */
    uint8_t *raw = malloc(sob_base64_max_decoded(size) + 1);
    if (raw) {
        size_t n = 0;
        st = sob_base64_decode((const char *)buf, size, raw, &n, &err);
        if (st == SOB_OK) {
            INV(n <= sob_base64_max_decoded(size) && n + 2 >= sob_base64_max_decoded(size));
            uint8_t *exact = malloc(n ? n : 1);
            if (exact) {
                memcpy(exact, raw, n);
                st = sob_ledger_decode(exact, n, &out_a, &err);
                if (st == SOB_OK)
                    check_out(&out_a, n, 0);
                else
                    check_fail(st, &err, n, &out_a);
                free(exact);
            }
        } else {
            INV(st == SOB_E_PARSE && err.offset <= size && err.reason && !strncmp(err.reason, "base64:", 7));
        }
        free(raw);
    }
    free(buf);
    return 0;
}
