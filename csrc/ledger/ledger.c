/* ledger.c: LedgerCloseMeta v0/v1/v2 -> header facts, order-book entry changes, trades (ledger.h).
 *
 * The walk follows stellar/go ingest/ledger_change_reader.go: the fee changes of every
 * transaction, then each transaction's meta, then (v2) the post-apply fee changes of every
 * transaction, then upgrades. Since the meta interleaves them per transaction (txProcessing[i] =
 * result, fee changes, apply meta, post-apply fees), apply and post-apply changes are collected in
 * two scratch arrays during the single pass and appended after the fee changes at the end.
 *
 * Everything is validated by the generated functions of stellar_xdr_gen.c: entries are decoded with
 * sob_xdr_decode_LedgerEntry / _LedgerKey, everything not reported is stepped over with the
 * sob_xdr_skip_* function of its type. A transaction result is first validated whole by
 * sob_xdr_skip_TransactionResultPair, then re-read for the facts and trades.
 */
#include "ledger.h"

#include <stdlib.h>
#include <string.h>

#include "stellar_xdr_gen.h"
#include "ledger_fill.h"

/* ---- growable record arrays ---- */

static void *vec_push(sob_ledger_vec *v, size_t rec) {
    if (v->len == v->cap) {
        size_t cap = v->cap ? v->cap * 2 : 64;
        if (cap > SIZE_MAX / rec) return NULL;
        void *nv = realloc(v->v, cap * rec);
        if (!nv) return NULL;
        v->v = nv;
        v->cap = cap;
    }
    return (char *)v->v + rec * v->len++;
}

static int vec_append(sob_ledger_vec *dst, const sob_ledger_vec *src, size_t rec) {
    if (!src->len) return 0;
    if (dst->len + src->len > dst->cap) {
        size_t cap = dst->cap ? dst->cap : 64;
        while (cap < dst->len + src->len) {
            if (cap > SIZE_MAX / 2 / rec) return -1;
            cap *= 2;
        }
        void *nv = realloc(dst->v, cap * rec);
        if (!nv) return -1;
        dst->v = nv;
        dst->cap = cap;
    }
    memcpy((char *)dst->v + dst->len * rec, src->v, src->len * rec);
    dst->len += src->len;
    return 0;
}

void sob_ledger_out_init(sob_ledger_out *out) { memset(out, 0, sizeof *out); }

void sob_ledger_out_free(sob_ledger_out *out) {
    free(out->changes_.v);
    free(out->trades_.v);
    free(out->txs_.v);
    free(out->apply_.v);
    free(out->post_.v);
    memset(out, 0, sizeof *out);
}

static void out_reset(sob_ledger_out *out) {
    memset(&out->header, 0, sizeof out->header);
    out->changes_.len = out->trades_.len = out->txs_.len = 0;
    out->apply_.len = out->post_.len = 0;
    out->changes = NULL;
    out->trades = NULL;
    out->txs = NULL;
    out->n_changes = out->n_trades = out->n_txs = 0;
}

static void out_publish(sob_ledger_out *out) {
    out->changes = (sob_ledger_change *)out->changes_.v;
    out->n_changes = out->changes_.len;
    out->trades = (sob_ledger_trade *)out->trades_.v;
    out->n_trades = out->trades_.len;
    out->txs = (sob_ledger_tx *)out->txs_.v;
    out->n_txs = out->txs_.len;
}

/* ---- decoding state ---- */

typedef struct dec {
    sob_xdr_cur c;
    sob_ledger_out *out;
    int nomem;
} dec;

static int nomem(dec *d) {
    d->nomem = 1;
    return sob_xdr_fail(&d->c, d->c.p, "out of memory");
}

static int tracked_type(uint32_t t) {
    return t == SOB_ENTRY_ACCOUNT || t == SOB_ENTRY_TRUSTLINE || t == SOB_ENTRY_OFFER ||
           t == SOB_ENTRY_LIQUIDITY_POOL;
}

static void fill_asset(sob_ledger_asset *a, const sob_xdr_Asset *x) {
    memset(a, 0, sizeof *a);
    a->type = (uint8_t)x->type;
    if (x->type == SOB_XDR_ASSET_TYPE_CREDIT_ALPHANUM4) {
        memcpy(a->code, x->u.alphaNum4.assetCode, 4);
        memcpy(a->issuer, x->u.alphaNum4.issuer.u.ed25519, 32);
    } else if (x->type == SOB_XDR_ASSET_TYPE_CREDIT_ALPHANUM12) {
        memcpy(a->code, x->u.alphaNum12.assetCode, 12);
        memcpy(a->issuer, x->u.alphaNum12.issuer.u.ed25519, 32);
    }
}

static void fill_tl_asset(sob_ledger_asset *a, const sob_xdr_TrustLineAsset *x) {
    memset(a, 0, sizeof *a);
    a->type = (uint8_t)x->type;
    if (x->type == SOB_XDR_ASSET_TYPE_CREDIT_ALPHANUM4) {
        memcpy(a->code, x->u.alphaNum4.assetCode, 4);
        memcpy(a->issuer, x->u.alphaNum4.issuer.u.ed25519, 32);
    } else if (x->type == SOB_XDR_ASSET_TYPE_CREDIT_ALPHANUM12) {
        memcpy(a->code, x->u.alphaNum12.assetCode, 12);
        memcpy(a->issuer, x->u.alphaNum12.issuer.u.ed25519, 32);
    } else if (x->type == SOB_XDR_ASSET_TYPE_POOL_SHARE) {
        memcpy(a->issuer, x->u.liquidityPoolID, 32);
    }
}

void sob_ledger_fill_entry(sob_ledger_change *r, const sob_xdr_LedgerEntry *e) {
    r->last_modified = e->lastModifiedLedgerSeq;
    if (e->ext.v == 1 && e->ext.u.v1.has_sponsoringID) { /* LedgerEntryExtensionV1.sponsoringID */
        r->has_sponsor = 1;
        memcpy(r->sponsor, e->ext.u.v1.sponsoringID.u.ed25519, 32);
    }
    const sob_xdr_LedgerEntry_data *x = &e->data;
    switch (x->type) {
    case SOB_ENTRY_OFFER: {
        const sob_xdr_OfferEntry *o = &x->u.offer;
        sob_ledger_offer *q = &r->u.offer;
        memcpy(q->seller, o->sellerID.u.ed25519, 32);
        q->offer_id = o->offerID;
        fill_asset(&q->selling, &o->selling);
        fill_asset(&q->buying, &o->buying);
        q->amount = o->amount;
        q->n = o->price.n;
        q->d = o->price.d;
        q->flags = o->flags;
        break;
    }
    case SOB_ENTRY_LIQUIDITY_POOL: {
        const sob_xdr_LiquidityPoolEntry *p = &x->u.liquidityPool;
        const sob_xdr_LiquidityPoolEntry_body_constantProduct *cp = &p->body.u.constantProduct;
        sob_ledger_pool *q = &r->u.pool;
        memcpy(q->pool_id, p->liquidityPoolID, 32);
        fill_asset(&q->asset_a, &cp->params.assetA);
        fill_asset(&q->asset_b, &cp->params.assetB);
        q->fee_bp = cp->params.fee;
        q->reserve_a = cp->reserveA;
        q->reserve_b = cp->reserveB;
        q->total_shares = cp->totalPoolShares;
        q->trustline_count = cp->poolSharesTrustLineCount;
        break;
    }
    case SOB_ENTRY_TRUSTLINE: {
        const sob_xdr_TrustLineEntry *t = &x->u.trustLine;
        sob_ledger_trustline *q = &r->u.trustline;
        memcpy(q->account, t->accountID.u.ed25519, 32);
        fill_tl_asset(&q->asset, &t->asset);
        q->balance = t->balance;
        q->limit = t->limit;
        q->flags = t->flags;
        if (t->ext.v == 1) {
            q->buying_liabilities = t->ext.u.v1.liabilities.buying;
            q->selling_liabilities = t->ext.u.v1.liabilities.selling;
            if (t->ext.u.v1.ext.v == 2) q->pool_use_count = t->ext.u.v1.ext.u.v2.liquidityPoolUseCount;
        }
        break;
    }
    default: { /* SOB_ENTRY_ACCOUNT */
        const sob_xdr_AccountEntry *a = &x->u.account;
        sob_ledger_account *q = &r->u.account;
        memcpy(q->account, a->accountID.u.ed25519, 32);
        q->balance = a->balance;
        q->seq_num = a->seqNum;
        q->num_sub_entries = a->numSubEntries;
        q->flags = a->flags;
        if (a->ext.v == 1) {
            q->buying_liabilities = a->ext.u.v1.liabilities.buying;
            q->selling_liabilities = a->ext.u.v1.liabilities.selling;
            if (a->ext.u.v1.ext.v == 2) {
                q->num_sponsored = a->ext.u.v1.ext.u.v2.numSponsored;
                q->num_sponsoring = a->ext.u.v1.ext.u.v2.numSponsoring;
            }
        }
        break;
    }
    }
}

void sob_ledger_fill_key(sob_ledger_change *r, const sob_xdr_LedgerKey *k) {
    switch (k->type) {
    case SOB_ENTRY_OFFER:
        memcpy(r->u.offer.seller, k->u.offer.sellerID.u.ed25519, 32);
        r->u.offer.offer_id = k->u.offer.offerID;
        break;
    case SOB_ENTRY_LIQUIDITY_POOL:
        memcpy(r->u.pool.pool_id, k->u.liquidityPool.liquidityPoolID, 32);
        break;
    case SOB_ENTRY_TRUSTLINE:
        memcpy(r->u.trustline.account, k->u.trustLine.accountID.u.ed25519, 32);
        fill_tl_asset(&r->u.trustline.asset, &k->u.trustLine.asset);
        break;
    default:
        memcpy(r->u.account.account, k->u.account.accountID.u.ed25519, 32);
        break;
    }
}

static sob_ledger_change *new_change(dec *d, sob_ledger_vec *dst, int change, int32_t type, int phase,
                                     int32_t tx, int32_t op) {
    sob_ledger_change *r = (sob_ledger_change *)vec_push(dst, sizeof *r);
    if (!r) return NULL;
    memset(r, 0, sizeof *r);
    r->change = (uint8_t)change;
    r->entry_type = (uint8_t)type;
    r->phase = (uint8_t)phase;
    r->tx_index = tx;
    r->op_index = op;
    return r;
}

/* A LedgerKey that is reported only when its type is tracked (REMOVED changes, evicted keys). */
static int read_key(dec *d, sob_ledger_vec *dst, int phase, int32_t tx, int32_t op) {
    sob_xdr_cur *c = &d->c;
    if (sob_xdr_left(c) >= 4 && tracked_type(sob_xdr_be32(c->p))) {
        sob_xdr_LedgerKey k;
        if (sob_xdr_decode_LedgerKey(c, &k)) return -1;
        sob_ledger_change *r = new_change(d, dst, SOB_CHANGE_REMOVED, k.type, phase, tx, op);
        if (!r) return nomem(d);
        r->key_only = 1;
        sob_ledger_fill_key(r, &k);
        return 0;
    }
    return sob_xdr_skip_LedgerKey(c);
}

/* LedgerEntryChanges: every change of a tracked entry type becomes a record in dst. */
static int read_changes(dec *d, sob_ledger_vec *dst, int phase, int32_t tx, int32_t op) {
    sob_xdr_cur *c = &d->c;
    uint32_t n;
    if (sob_xdr_array_len(c, UINT32_MAX, SOB_XDR_MINSIZE_LedgerEntryChange, &n)) return -1;
    for (uint32_t i = 0; i < n; i++) {
        const uint8_t *at = c->p;
        uint32_t ct;
        if (sob_xdr_u32(c, &ct)) return -1;
        switch (ct) {
        case SOB_CHANGE_CREATED:
        case SOB_CHANGE_UPDATED:
        case SOB_CHANGE_STATE:
        case SOB_CHANGE_RESTORED:
            /* LedgerEntry: lastModifiedLedgerSeq, then the data arm's type. */
            if (sob_xdr_left(c) >= 8 && tracked_type(sob_xdr_be32(c->p + 4))) {
                sob_xdr_LedgerEntry e;
                if (sob_xdr_decode_LedgerEntry(c, &e)) return -1;
                sob_ledger_change *r = new_change(d, dst, (int)ct, e.data.type, phase, tx, op);
                if (!r) return nomem(d);
                sob_ledger_fill_entry(r, &e);
            } else if (sob_xdr_skip_LedgerEntry(c)) {
                return -1;
            }
            break;
        case SOB_CHANGE_REMOVED:
            if (read_key(d, dst, phase, tx, op)) return -1;
            break;
        default:
            return sob_xdr_fail(c, at, "LedgerEntryChange: unknown union arm");
        }
    }
    return 0;
}

static int is_trade_op(uint32_t t) {
    return t == SOB_XDR_MANAGE_SELL_OFFER || t == SOB_XDR_CREATE_PASSIVE_SELL_OFFER ||
           t == SOB_XDR_MANAGE_BUY_OFFER || t == SOB_XDR_PATH_PAYMENT_STRICT_RECEIVE ||
           t == SOB_XDR_PATH_PAYMENT_STRICT_SEND;
}

/* The ClaimAtoms of one successful trading operation result (already validated). */
static int read_claims(dec *d, sob_xdr_cur *r, int32_t tx, int32_t op, uint32_t op_type) {
    uint32_t n;
    if (sob_xdr_array_len(r, UINT32_MAX, SOB_XDR_MINSIZE_ClaimAtom, &n)) return -1;
    for (uint32_t i = 0; i < n; i++) {
        sob_xdr_ClaimAtom a;
        if (sob_xdr_decode_ClaimAtom(r, &a)) return -1;
        sob_ledger_trade *t = (sob_ledger_trade *)vec_push(&d->out->trades_, sizeof *t);
        if (!t) return nomem(d);
        memset(t, 0, sizeof *t);
        t->tx_index = tx;
        t->op_index = op;
        t->op_type = (uint8_t)op_type;
        t->claim_type = (uint8_t)a.type;
        t->claim_index = (int32_t)i;
        const sob_xdr_Asset *sold, *bought;
        if (a.type == SOB_XDR_CLAIM_ATOM_TYPE_V0) {
            memcpy(t->seller, a.u.v0.sellerEd25519, 32);
            t->offer_id = a.u.v0.offerID;
            sold = &a.u.v0.assetSold;
            bought = &a.u.v0.assetBought;
            t->amount_sold = a.u.v0.amountSold;
            t->amount_bought = a.u.v0.amountBought;
        } else if (a.type == SOB_XDR_CLAIM_ATOM_TYPE_ORDER_BOOK) {
            memcpy(t->seller, a.u.orderBook.sellerID.u.ed25519, 32);
            t->offer_id = a.u.orderBook.offerID;
            sold = &a.u.orderBook.assetSold;
            bought = &a.u.orderBook.assetBought;
            t->amount_sold = a.u.orderBook.amountSold;
            t->amount_bought = a.u.orderBook.amountBought;
        } else {
            memcpy(t->seller, a.u.liquidityPool.liquidityPoolID, 32);
            sold = &a.u.liquidityPool.assetSold;
            bought = &a.u.liquidityPool.assetBought;
            t->amount_sold = a.u.liquidityPool.amountSold;
            t->amount_bought = a.u.liquidityPool.amountBought;
        }
        fill_asset(&t->asset_sold, sold);
        fill_asset(&t->asset_bought, bought);
    }
    return 0;
}

/* Operation results of a successful transaction: trades of the trading operations. */
static int read_op_results(dec *d, sob_xdr_cur *r, int32_t tx, uint32_t *count) {
    uint32_t n;
    if (sob_xdr_array_len(r, UINT32_MAX, SOB_XDR_MINSIZE_OperationResult, &n)) return -1;
    *count = n;
    for (uint32_t i = 0; i < n; i++) {
        const uint8_t *start = r->p;
        if (sob_xdr_left(r) >= 12 && sob_xdr_be32(r->p) == SOB_XDR_opINNER &&
            is_trade_op(sob_xdr_be32(r->p + 4)) && sob_xdr_be32(r->p + 8) == 0 /* *_SUCCESS */) {
            uint32_t op_type = sob_xdr_be32(r->p + 4);
            r->p += 12;
            if (read_claims(d, r, tx, (int32_t)i, op_type)) return -1;
            if (op_type == SOB_XDR_PATH_PAYMENT_STRICT_RECEIVE || op_type == SOB_XDR_PATH_PAYMENT_STRICT_SEND) {
                if (sob_xdr_skip_SimplePaymentResult(r)) return -1;
            } else if (sob_xdr_skip_ManageOfferSuccessResult_offer(r)) {
                return -1;
            }
        } else {
            r->p = start;
            if (sob_xdr_skip_OperationResult(r)) return -1;
        }
    }
    return 0;
}

/* TransactionResultPair: validated whole first, then re-read. */
static int read_result(dec *d, int32_t tx) {
    sob_xdr_cur *c = &d->c;
    const uint8_t *start = c->p;
    if (sob_xdr_skip_TransactionResultPair(c)) return -1;
    sob_ledger_tx *t = (sob_ledger_tx *)vec_push(&d->out->txs_, sizeof *t);
    if (!t) return nomem(d);
    memset(t, 0, sizeof *t);
    /* A second cursor over the validated bytes only. */
    sob_xdr_cur r = *c;
    r.p = start;
    r.end = c->p;
    memcpy(t->hash, r.p, 32);
    t->fee_charged = (int64_t)sob_xdr_be64(r.p + 32);
    int32_t code = (int32_t)sob_xdr_be32(r.p + 40);
    r.p += 44;
    int32_t inner = code;
    int has_results = 0;
    if (code == SOB_XDR_txFEE_BUMP_INNER_SUCCESS || code == SOB_XDR_txFEE_BUMP_INNER_FAILED) {
        /* InnerTransactionResultPair: hash, feeCharged, code */
        inner = (int32_t)sob_xdr_be32(r.p + 40);
        r.p += 44;
        has_results = inner == SOB_XDR_txSUCCESS || inner == SOB_XDR_txFAILED;
    } else {
        has_results = code == SOB_XDR_txSUCCESS || code == SOB_XDR_txFAILED;
    }
    t->result_code = code;
    t->inner_result_code = inner;
    t->successful = code == SOB_XDR_txSUCCESS ||
                    (code == SOB_XDR_txFEE_BUMP_INNER_SUCCESS && inner == SOB_XDR_txSUCCESS);
    if (has_results) {
        if (t->successful) {
            uint32_t count = 0;
            size_t ti = d->out->txs_.len - 1;
            if (read_op_results(d, &r, tx, &count)) {
                /* cannot fail on validated bytes, except for memory */
                c->reason = r.reason;
                c->err_off = r.err_off;
                return -1;
            }
            ((sob_ledger_tx *)d->out->txs_.v)[ti].op_count = count;
        } else {
            t->op_count = sob_xdr_be32(r.p);
        }
    }
    return 0;
}

static int skip_array(sob_xdr_cur *c, uint32_t min_size, int (*skip)(sob_xdr_cur *)) {
    uint32_t n;
    if (sob_xdr_array_len(c, UINT32_MAX, min_size, &n)) return -1;
    for (uint32_t i = 0; i < n; i++)
        if (skip(c)) return -1;
    return 0;
}

/* TransactionMeta v0..v4 of transaction tx: its changes go to the apply scratch array. */
static int read_tx_meta(dec *d, int32_t tx) {
    sob_xdr_cur *c = &d->c;
    sob_ledger_vec *dst = &d->out->apply_;
    const uint8_t *at = c->p;
    uint32_t v, n;
    if (sob_xdr_u32(c, &v)) return -1;
    if (v > 4) return sob_xdr_fail(c, at, "TransactionMeta: unknown version");
    if (v >= 3 && sob_xdr_skip_ExtensionPoint(c)) return -1;
    if (v >= 1 && read_changes(d, dst, SOB_PHASE_TX_BEFORE, tx, -1)) return -1;
    if (v < 4) {
        if (sob_xdr_array_len(c, UINT32_MAX, SOB_XDR_MINSIZE_OperationMeta, &n)) return -1;
        for (uint32_t i = 0; i < n; i++)
            if (read_changes(d, dst, SOB_PHASE_OPERATION, tx, (int32_t)i)) return -1;
    } else {
        if (sob_xdr_array_len(c, UINT32_MAX, SOB_XDR_MINSIZE_OperationMetaV2, &n)) return -1;
        for (uint32_t i = 0; i < n; i++) {
            if (sob_xdr_skip_ExtensionPoint(c)) return -1;
            if (read_changes(d, dst, SOB_PHASE_OPERATION, tx, (int32_t)i)) return -1;
            if (skip_array(c, SOB_XDR_MINSIZE_ContractEvent, sob_xdr_skip_ContractEvent)) return -1;
        }
    }
    if (v >= 2 && read_changes(d, dst, SOB_PHASE_TX_AFTER, tx, -1)) return -1;
    if (v == 3 || v == 4) {
        uint32_t has;
        if (sob_xdr_optional(c, &has)) return -1;
        if (has && (v == 3 ? sob_xdr_skip_SorobanTransactionMeta(c) : sob_xdr_skip_SorobanTransactionMetaV2(c)))
            return -1;
    }
    if (v == 4) {
        if (skip_array(c, SOB_XDR_MINSIZE_TransactionEvent, sob_xdr_skip_TransactionEvent)) return -1;
        if (skip_array(c, SOB_XDR_MINSIZE_DiagnosticEvent, sob_xdr_skip_DiagnosticEvent)) return -1;
    }
    return 0;
}

static int read_header(dec *d) {
    sob_xdr_LedgerHeaderHistoryEntry h;
    if (sob_xdr_decode_LedgerHeaderHistoryEntry(&d->c, &h)) return -1;
    sob_ledger_header *o = &d->out->header;
    o->ledger_seq = h.header.ledgerSeq;
    o->protocol_version = h.header.ledgerVersion;
    o->close_time = h.header.scpValue.closeTime;
    o->base_fee = h.header.baseFee;
    o->base_reserve = h.header.baseReserve;
    o->max_tx_set_size = h.header.maxTxSetSize;
    o->total_coins = h.header.totalCoins;
    o->fee_pool = h.header.feePool;
    memcpy(o->hash, h.hash, 32);
    memcpy(o->previous_hash, h.header.previousLedgerHash, 32);
    return 0;
}

/* One LedgerCloseMeta starting at d->c.p. */
static int read_meta(dec *d) {
    sob_xdr_cur *c = &d->c;
    sob_ledger_out *out = d->out;
    out_reset(out);
    c->depth = 0;
    const uint8_t *at = c->p;
    out->header.meta_offset = (size_t)(at - c->base);
    uint32_t v, n;
    if (sob_xdr_u32(c, &v)) return -1;
    if (v > 2) return sob_xdr_fail(c, at, "LedgerCloseMeta: unknown version");
    out->header.meta_version = v;
    if (v >= 1 && sob_xdr_skip_LedgerCloseMetaExt(c)) return -1;
    if (read_header(d)) return -1;
    if (v == 0 ? sob_xdr_skip_TransactionSet(c) : sob_xdr_skip_GeneralizedTransactionSet(c)) return -1;

    if (sob_xdr_array_len(c, UINT32_MAX,
                          v == 2 ? SOB_XDR_MINSIZE_TransactionResultMetaV1 : SOB_XDR_MINSIZE_TransactionResultMeta, &n))
        return -1;
    out->header.tx_count = n;
    for (uint32_t i = 0; i < n; i++) {
        int32_t tx = (int32_t)i;
        if (v == 2 && sob_xdr_skip_ExtensionPoint(c)) return -1;
        if (read_result(d, tx)) return -1;
        if (read_changes(d, &out->changes_, SOB_PHASE_FEE, tx, -1)) return -1;
        if (read_tx_meta(d, tx)) return -1;
        if (v == 2 && read_changes(d, &out->post_, SOB_PHASE_POST_APPLY_FEE, tx, -1)) return -1;
    }
    if (vec_append(&out->changes_, &out->apply_, sizeof(sob_ledger_change)) ||
        vec_append(&out->changes_, &out->post_, sizeof(sob_ledger_change)))
        return nomem(d);

    if (sob_xdr_array_len(c, UINT32_MAX, SOB_XDR_MINSIZE_UpgradeEntryMeta, &n)) return -1;
    out->header.upgrade_count = n;
    for (uint32_t i = 0; i < n; i++) {
        if (sob_xdr_skip_LedgerUpgrade(c)) return -1;
        if (read_changes(d, &out->changes_, SOB_PHASE_UPGRADE, -1, (int32_t)i)) return -1;
    }
    if (skip_array(c, SOB_XDR_MINSIZE_SCPHistoryEntry, sob_xdr_skip_SCPHistoryEntry)) return -1;
    if (v >= 1) {
        if (sob_xdr_skip(c, 8)) return -1; /* totalByteSizeOfLiveSorobanState */
        if (sob_xdr_array_len(c, UINT32_MAX, SOB_XDR_MINSIZE_LedgerKey, &n)) return -1;
        for (uint32_t i = 0; i < n; i++)
            if (read_key(d, &out->changes_, SOB_PHASE_EVICTED, -1, -1)) return -1;
        if (v == 1 && skip_array(c, SOB_XDR_MINSIZE_LedgerEntry, sob_xdr_skip_LedgerEntry)) return -1;
    }
    out->header.meta_size = (size_t)(c->p - at);
    return 0;
}

static sob_status finish(dec *d, int rc, sob_ledger_error *err) {
    if (rc == 0) {
        out_publish(d->out);
        return SOB_OK;
    }
    if (err) {
        err->offset = d->c.err_off;
        err->reason = d->c.reason ? d->c.reason : "malformed XDR";
    }
    /* Nothing of a failed ledger is published. */
    out_reset(d->out);
    return d->nomem ? SOB_E_NOMEM : SOB_E_PARSE;
}

sob_status sob_ledger_decode(const uint8_t *buf, size_t len, sob_ledger_out *out, sob_ledger_error *err) {
    dec d;
    sob_xdr_init(&d.c, buf, len);
    d.out = out;
    d.nomem = 0;
    int rc = read_meta(&d);
    if (rc == 0 && d.c.p != d.c.end) rc = sob_xdr_fail(&d.c, d.c.p, "bytes left after the LedgerCloseMeta");
    return finish(&d, rc, err);
}

sob_status sob_ledger_decode_changes(const uint8_t *buf, size_t len, sob_ledger_out *out,
                                     sob_ledger_error *err) {
    dec d;
    sob_xdr_init(&d.c, buf, len);
    d.out = out;
    d.nomem = 0;
    out_reset(out);
    int rc = read_changes(&d, &out->changes_, SOB_PHASE_STANDALONE, -1, -1);
    if (rc == 0 && d.c.p != d.c.end) rc = sob_xdr_fail(&d.c, d.c.p, "bytes left after the LedgerEntryChanges");
    return finish(&d, rc, err);
}

/* ---- multi-ledger inputs ---- */

static sob_status reader_fail(sob_ledger_reader *r, size_t off, const char *reason, sob_ledger_error *err) {
    r->done = 2;
    r->failed.offset = off;
    r->failed.reason = reason;
    if (err) *err = r->failed;
    return SOB_E_PARSE;
}

sob_status sob_ledger_reader_init(sob_ledger_reader *r, const uint8_t *buf, size_t len, int form,
                                  sob_ledger_error *err) {
    memset(r, 0, sizeof *r);
    r->buf = buf;
    r->len = len;
    r->form = form;
    if (form == SOB_LEDGER_FORM_META || form == SOB_LEDGER_FORM_STREAM) return SOB_OK;
    if (form != SOB_LEDGER_FORM_BATCH) {
        if (err) {
            err->offset = 0;
            err->reason = "unknown input form";
        }
        r->done = 1;
        return SOB_E_INVALID;
    }
    if (len < 12) return reader_fail(r, len, "truncated: the input ends inside a value", err);
    r->start_seq = sob_xdr_be32(buf);
    r->end_seq = sob_xdr_be32(buf + 4);
    uint32_t count = sob_xdr_be32(buf + 8);
    uint64_t want = (uint64_t)r->end_seq + 1 - r->start_seq;
    if (r->end_seq + 1ull < r->start_seq || want != count)
        return reader_fail(r, 8, "LedgerCloseMetaBatch: count is not endSequence - startSequence + 1", err);
    if ((uint64_t)count * SOB_XDR_MINSIZE_LedgerCloseMeta > len - 12)
        return reader_fail(r, 8, "array length runs past the end of the input", err);
    r->remaining = count;
    r->pos = 12;
    if (count == 0 && len != 12) return reader_fail(r, 12, "bytes left after the LedgerCloseMetaBatch", err);
    return SOB_OK;
}

sob_status sob_ledger_reader_next(sob_ledger_reader *r, sob_ledger_out *out, int *got, sob_ledger_error *err) {
    *got = 0;
    if (r->done == 2) { /* failed before: same error again */
        if (err) *err = r->failed;
        out_reset(out);
        return SOB_E_PARSE;
    }
    if (r->done) {
        out_reset(out);
        return SOB_OK;
    }
    dec d;
    d.out = out;
    d.nomem = 0;
    sob_xdr_init(&d.c, r->buf, r->len);
    int rc;
    size_t rec_end = r->len;
    switch (r->form) {
    case SOB_LEDGER_FORM_META:
        rc = read_meta(&d);
        if (rc == 0 && d.c.p != d.c.end) rc = sob_xdr_fail(&d.c, d.c.p, "bytes left after the LedgerCloseMeta");
        if (rc == 0) r->done = 1;
        break;
    case SOB_LEDGER_FORM_BATCH:
        if (r->remaining == 0) {
            r->done = 1;
            out_reset(out);
            return SOB_OK;
        }
        d.c.p = r->buf + r->pos;
        rc = read_meta(&d);
        if (rc == 0 && out->header.ledger_seq != r->start_seq + r->index)
            rc = sob_xdr_fail(&d.c, r->buf + r->pos,
                              "LedgerCloseMetaBatch: ledger sequence is not startSequence + index");
        if (rc == 0 && r->remaining == 1 && d.c.p != d.c.end)
            rc = sob_xdr_fail(&d.c, d.c.p, "bytes left after the LedgerCloseMetaBatch");
        if (rc == 0) r->remaining--;
        break;
    default: { /* SOB_LEDGER_FORM_STREAM */
        if (r->pos == r->len) {
            r->done = 1;
            out_reset(out);
            return SOB_OK;
        }
        if (r->len - r->pos < 4) {
            rc = sob_xdr_fail(&d.c, r->buf + r->len, "truncated: the input ends inside a record mark");
            break;
        }
        uint32_t mark = sob_xdr_be32(r->buf + r->pos);
        if (!(mark & 0x80000000u)) {
            rc = sob_xdr_fail(&d.c, r->buf + r->pos,
                              "record mark without the last-fragment bit (fragmented records are not supported)");
            break;
        }
        size_t rlen = mark & 0x7fffffffu;
        if (rlen > r->len - r->pos - 4) {
            rc = sob_xdr_fail(&d.c, r->buf + r->pos, "record length runs past the end of the input");
            break;
        }
        rec_end = r->pos + 4 + rlen;
        d.c.p = r->buf + r->pos + 4;
        d.c.end = r->buf + rec_end;
        rc = read_meta(&d);
        if (rc == 0 && d.c.p != d.c.end)
            rc = sob_xdr_fail(&d.c, d.c.p, "bytes left in the record after its LedgerCloseMeta");
        break;
    }
    }
    if (rc != 0) {
        sob_status st = finish(&d, rc, err);
        if (st == SOB_E_PARSE) reader_fail(r, d.c.err_off, d.c.reason ? d.c.reason : "malformed XDR", NULL);
        return st;
    }
    r->pos = (size_t)(d.c.p - r->buf);
    r->index++;
    *got = 1;
    return finish(&d, 0, err);
}
