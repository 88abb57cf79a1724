/* fuzz_pathfind.c: libFuzzer harness for the path finder (csrc/pathfind.h). The bytes build a small
 * DEX (2..8 assets, books with arbitrary prices and amounts, pools with arbitrary reserves and fees,
 * sometimes an accounts table with sellers that cannot fund their offers), a context (protocol, work
 * budget, pool trading switch) and a query whose every field comes from the input, valid or not.
 * Checked: no crash; a status, and SOB_OK only for a valid query; every returned path is well formed
 * (from `from` to its target, no asset twice, per target at most `limit`, best first), re-executes
 * with sob_path_payment to SUCCESS with the same amounts and venues; books, pools and table are
 * unchanged; for max_hops <= 3 the best amount per target equals brute force over every simple path.
 * Run with csrc/fuzz/run_fuzz.sh (stage 4). */
#include <stdlib.h>
#include <string.h>

#include "pathfind.h"

#define INV(cond)             \
    do {                      \
        if (!(cond)) abort(); \
    } while (0)

typedef struct reader {
    const uint8_t *p;
    size_t left;
} reader;

static uint64_t take(reader *r, int bytes) {
    uint64_t v = 0;
    for (int i = 0; i < bytes; i++) {
        v <<= 8;
        if (r->left) {
            v |= *r->p++;
            r->left--;
        }
    }
    return v;
}

#define MAXA 8
#define MAXB 12

typedef struct world {
    uint32_t nassets;
    int nbooks;
    sob_offerbook books[MAXB];
    uint32_t lo[MAXB], hi[MAXB];
    sob_pool pools[MAXB];
    int has_pool[MAXB];
    sob_pf_market mk[2 * MAXB];
    size_t nmk;
    sob_accounts table;
    sob_dex_ctx ctx;
    sob_pf_graph *g;
} world;

static uint64_t fingerprint(const world *w) {
    uint64_t h = 1469598103934665603ULL;
    for (int b = 0; b < w->nbooks; b++) {
        for (int side = 0; side < 2; side++) {
            sob_offer buf[16];
            size_t k = sob_offerbook_copy(&w->books[b], side, 0, 16, buf);
            for (size_t i = 0; i < k; i++) h = (h ^ (uint64_t)buf[i].amount ^ ((uint64_t)buf[i].id << 40)) * 1099511628211ULL;
        }
        h = (h ^ (uint64_t)w->pools[b].reserve_a) * 1099511628211ULL;
        h = (h ^ (uint64_t)w->pools[b].reserve_b) * 1099511628211ULL;
    }
    sob_account a;
    for (uint64_t k = 1; k <= 3; k++)
        if (sob_accounts_get_account(&w->table, k, &a) == SOB_OK) h = (h ^ (uint64_t)a.balance) * 1099511628211ULL;
    return h;
}

static int exec(const world *w, const sob_pf_query *q, const uint32_t *assets, uint32_t nassets, sob_dex_scratch *dex,
                sob_op_result *res) {
    sob_path_op op;
    memset(&op, 0, sizeof op);
    sob_venue venues[SOB_MAX_HOPS];
    int send = q->kind == SOB_OP_PATH_PAYMENT_STRICT_SEND;
    op.kind = q->kind;
    op.nassets = nassets;
    memcpy(op.assets, assets, nassets * sizeof *assets);
    op.source = q->source;
    op.destination = q->destination;
    op.send = send ? q->amount : INT64_MAX;
    op.dest = send ? 1 : q->amount;
    for (uint32_t i = 0; i + 1 < nassets; i++) {
        const sob_venue *v = sob_pf_graph_venue(w->g, assets[i], assets[i + 1]);
        INV(v != NULL);
        venues[i] = *v;
        if (q->exclude_pools) venues[i].pool = NULL;
    }
    sob_dex_ctx c = w->ctx;
    c.flags |= SOB_CTX_SKIP_CHANGES;
    sob_status st = sob_path_payment(&c, &op, venues, dex, res);
    INV(st == SOB_OK || st == SOB_E_NOT_FOUND);
    return st == SOB_OK && sob_result_success(res->code);
}

/* brute force: best per asset over every simple path of <= max_hops from q->from */
static void brute(const world *w, const sob_pf_query *q, uint32_t *path, uint32_t k, int *on, sob_dex_scratch *dex,
                  int64_t *best) {
    int send = q->kind == SOB_OP_PATH_PAYMENT_STRICT_SEND;
    if (k > 0) {
        uint32_t assets[SOB_MAX_HOPS + 1];
        for (uint32_t i = 0; i <= k; i++) assets[i] = send ? path[i] : path[k - i];
        sob_op_result res;
        if (exec(w, q, assets, k + 1, dex, &res)) {
            uint32_t v = path[k];
            if (send && res.received > best[v]) best[v] = res.received;
            if (!send && (best[v] < 0 || res.sent < best[v])) best[v] = res.sent;
        }
    }
    if (k >= q->max_hops || k >= SOB_MAX_HOPS) return;
    for (uint32_t x = 0; x < w->nassets; x++) {
        if (on[x]) continue;
        if (!(send ? sob_pf_graph_venue(w->g, path[k], x) : sob_pf_graph_venue(w->g, x, path[k]))) continue;
        on[x] = 1;
        path[k + 1] = x;
        brute(w, q, path, k + 1, on, dex, best);
        on[x] = 0;
    }
}

/* what the inputs reached (read by a stats driver; libFuzzer ignores them): valid queries, searches
 * with SOB_OK, searches returning paths, paths re-executed, searches compared with brute force */
uint64_t pf_fuzz_reach[5];

static sob_pf_scratch *scratch; /* reused across inputs, as the bindings will */
static sob_dex_scratch *dex;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (!scratch) scratch = sob_pf_scratch_new();
    if (!dex) dex = sob_dex_scratch_new();
    INV(scratch && dex);
    reader r = {data, size};
    world *w = calloc(1, sizeof *w);
    INV(w);
    w->nassets = 2 + (uint32_t)take(&r, 1) % (MAXA - 1);
    sob_dex_ctx_init(&w->ctx);
    w->ctx.protocol = 10 + (uint32_t)take(&r, 1) % 21;
    uint8_t cflags = (uint8_t)take(&r, 1);
    if (cflags & 1) w->ctx.max_offers_to_cross = (int64_t)(take(&r, 1) % 8);
    if (cflags & 2) w->ctx.flags |= SOB_CTX_POOL_TRADING_DISABLED;
    sob_accounts_init(&w->table);
    int with_table = (cflags & 4) != 0;
    if (with_table) {
        for (uint64_t k = 1; k <= 3; k++) {
            sob_account a;
            memset(&a, 0, sizeof a);
            a.balance = (int64_t)(take(&r, 4) * 1000);
            a.num_sub_entries = 4;
            INV(sob_accounts_set_account(&w->table, k, &a) == SOB_OK);
            for (uint32_t as = 1; as < MAXA; as++) {
                sob_trustline t;
                memset(&t, 0, sizeof t);
                t.flags = SOB_TL_AUTHORIZED;
                t.balance = (int64_t)take(&r, 3);
                t.limit = t.balance + (int64_t)take(&r, 3);
                INV(sob_accounts_set_trustline(&w->table, k, as, &t) == SOB_OK);
            }
        }
        w->ctx.accounts = &w->table;
    }
    int64_t id = 1;
    int nb = 1 + (int)(take(&r, 1) % MAXB);
    for (int b = 0; b < nb; b++) {
        uint32_t x = (uint32_t)take(&r, 1) % w->nassets, y = (uint32_t)take(&r, 1) % w->nassets;
        if (x == y) continue;
        uint32_t lo = x < y ? x : y, hi = x < y ? y : x;
        int dup = 0;
        for (int i = 0; i < w->nbooks; i++) dup |= w->lo[i] == lo && w->hi[i] == hi;
        if (dup) continue;
        int i = w->nbooks++;
        sob_offerbook_init(&w->books[i]);
        w->lo[i] = lo;
        w->hi[i] = hi;
        int noff = (int)(take(&r, 1) % 6);
        for (int k = 0; k < noff; k++) {
            int side = (int)take(&r, 1) % 2;
            int32_t n = (int32_t)(take(&r, 2) + 1), d = (int32_t)(take(&r, 2) + 1);
            uint8_t big = (uint8_t)take(&r, 1);
            int64_t amount = big > 250 ? INT64_MAX - (int64_t)take(&r, 1) : (int64_t)take(&r, 3);
            uint64_t h = 0;
            if (with_table && (big & 1)) {
                if (sob_offerbook_seller_new(&w->books[i], &h) == SOB_OK)
                    sob_offerbook_seller_set_account(&w->books[i], h, 1 + (big >> 1) % 3);
                else
                    h = 0;
            }
            if (sob_offerbook_add(&w->books[i], id++, side, n, d, amount, h) != SOB_OK && h)
                sob_offerbook_seller_drop(&w->books[i], h);
        }
        uint8_t pk = (uint8_t)take(&r, 1);
        if (pk & 1) {
            w->has_pool[i] = 1;
            w->pools[i].reserve_a = (pk & 2) ? (int64_t)take(&r, 8) : (int64_t)take(&r, 3);
            w->pools[i].reserve_b = (int64_t)take(&r, 3);
            w->pools[i].fee_bp = (pk & 4) ? (int32_t)take(&r, 2) : 30;
        }
    }
    for (int b = 0; b < w->nbooks; b++) {
        const sob_pool *p = w->has_pool[b] ? &w->pools[b] : NULL;
        w->mk[w->nmk++] = (sob_pf_market){w->lo[b], w->hi[b], {&w->books[b], SOB_SIDE_BID, 1, p}};
        w->mk[w->nmk++] = (sob_pf_market){w->hi[b], w->lo[b], {&w->books[b], SOB_SIDE_ASK, 0, p}};
    }
    INV(sob_pf_graph_new(w->mk, w->nmk, w->nassets, (uint32_t)(take(&r, 1) % 4), &w->g) == SOB_OK);
    uint64_t fp = fingerprint(w);
    /* the query: every field from the input */
    sob_pf_query q;
    memset(&q, 0, sizeof q);
    uint8_t qk = (uint8_t)take(&r, 1);
    q.kind = (qk & 1) ? SOB_OP_PATH_PAYMENT_STRICT_RECEIVE : SOB_OP_PATH_PAYMENT_STRICT_SEND;
    if (qk == 255) q.kind = 7;
    q.from = (uint32_t)take(&r, 1) % (w->nassets + 1);
    uint8_t ak = (uint8_t)take(&r, 1);
    q.amount = ak > 250 ? (int64_t)take(&r, 8) : (int64_t)take(&r, 3) - (ak == 0 ? 1000 : 0);
    uint32_t targets[MAXA + 2];
    q.ntargets = (uint32_t)take(&r, 1) % (MAXA + 2);
    for (uint32_t i = 0; i < q.ntargets; i++) targets[i] = (uint32_t)take(&r, 1) % (w->nassets + 1);
    q.targets = targets;
    q.max_hops = (uint32_t)take(&r, 1) % (SOB_MAX_HOPS + 2);
    q.limit = (uint32_t)take(&r, 1) % 5;
    q.exclude_pools = (int32_t)(take(&r, 1) % 3 == 0);
    q.flags = (uint32_t)take(&r, 1) % 3;
    if (with_table && (qk & 2)) q.source = 1 + (qk >> 2) % 3;
    q.max_evaluations = (qk & 64) ? 1 + take(&r, 1) : 0;
    if ((qk & 128) && !(qk & 64)) q.deadline_ns = 1; /* a deadline already past */
    int valid = (q.kind == SOB_OP_PATH_PAYMENT_STRICT_SEND || q.kind == SOB_OP_PATH_PAYMENT_STRICT_RECEIVE) &&
                q.from < w->nassets && q.amount > 0 && q.ntargets >= 1 && q.max_hops >= 1 &&
                q.max_hops <= SOB_MAX_HOPS && q.limit >= 1 && q.flags <= 1;
    for (uint32_t i = 0; i < q.ntargets && valid; i++) {
        valid &= targets[i] < w->nassets && targets[i] != q.from;
        for (uint32_t j = 0; j < i; j++) valid &= targets[j] != targets[i];
    }
    sob_pf_result res;
    sob_status st = sob_find_paths(w->g, &q, &w->ctx, scratch, &res);
    pf_fuzz_reach[0] += (uint64_t)valid;
    pf_fuzz_reach[1] += st == SOB_OK;
    pf_fuzz_reach[2] += st == SOB_OK && res.npaths > 0;
    pf_fuzz_reach[3] += st == SOB_OK ? res.npaths : 0;
    INV(fingerprint(w) == fp);
    if (!valid) {
        INV(st == SOB_E_INVALID);
    } else {
        INV(st == SOB_OK || st == SOB_E_NOT_FOUND);
    }
    if (st == SOB_OK) {
        int send = q.kind == SOB_OP_PATH_PAYMENT_STRICT_SEND;
        uint32_t per[MAXA] = {0};
        for (size_t i = 0; i < res.npaths; i++) {
            const sob_pf_path *p = &res.paths[i];
            INV(p->nassets >= 2 && p->nassets <= q.max_hops + 1);
            INV(send ? p->assets[0] == q.from && p->assets[p->nassets - 1] == p->target
                     : p->assets[p->nassets - 1] == q.from && p->assets[0] == p->target);
            int seen[MAXA] = {0};
            for (uint32_t j = 0; j < p->nassets; j++) {
                INV(p->assets[j] < w->nassets && !seen[p->assets[j]]);
                seen[p->assets[j]] = 1;
            }
            sob_op_result er;
            INV(exec(w, &q, p->assets, p->nassets, dex, &er));
            INV(er.sent == p->sent && er.received == p->received);
            for (size_t h = 0; h < er.nhops; h++) INV(p->venue[send ? h : er.nhops - 1 - h] == er.hops[h].venue);
            if (i > 0 && res.paths[i - 1].target == p->target)
                INV(send ? res.paths[i - 1].received >= p->received : res.paths[i - 1].sent <= p->sent);
            INV(++per[p->target] <= q.limit);
        }
        INV(fingerprint(w) == fp);
        INV(res.stopped >= SOB_PF_STOP_NONE && res.stopped <= SOB_PF_STOP_DEADLINE);
        INV(!res.complete || res.stopped == SOB_PF_STOP_NONE);
        if (q.deadline_ns == 1) INV(res.stopped == SOB_PF_STOP_DEADLINE && res.npaths == 0);
        if (q.max_evaluations == 0 && q.deadline_ns == 0) INV(res.stopped == SOB_PF_STOP_NONE);
        if (res.complete && q.max_hops <= 3) {
            int64_t best[MAXA];
            for (int i = 0; i < MAXA; i++) best[i] = send ? 0 : -1;
            uint32_t path[SOB_MAX_HOPS + 1] = {q.from};
            int on[MAXA] = {0};
            on[q.from] = 1;
            brute(w, &q, path, 0, on, dex, best);
            pf_fuzz_reach[4]++;
            for (uint32_t i = 0; i < q.ntargets; i++) {
                int64_t found = send ? 0 : -1;
                for (size_t j = 0; j < res.npaths; j++)
                    if (res.paths[j].target == targets[i]) {
                        found = send ? res.paths[j].received : res.paths[j].sent;
                        break;
                    }
                INV(found == best[targets[i]]);
            }
        }
    }
    sob_pf_graph_free(w->g);
    for (int b = 0; b < w->nbooks; b++) {
        INV(sob_offerbook_check(&w->books[b]) == SOB_OK);
        sob_offerbook_free(&w->books[b]);
    }
    sob_accounts_free(&w->table);
    free(w);
    return 0;
}
