/* pathfind.c: exact path finding over a graph of markets (see pathfind.h and PATHFIND.md).
 *
 * The bound. Every trade exchangeV10 makes with an offer of price p = n/d (sheep per wheat) has
 * W <= (S + 1) * d / n: when the offer stays, W*n <= S*d (OfferExchange.cpp:646-666, every branch
 * rounds against the taker); when it is taken, n > d gives S = floor(W*n/d) > W*n/d - 1, and n <= d
 * gives W = ceil(S*d/n) < S*d/n + 1 <= (S + 1)*d/n (l.669-680); the price-error thresholds only
 * zero a trade or throw. A hop crosses at most K = min(work budget, offers on the side) offers, a
 * prefix of the side (a path payment has no price filter), each giving at most its stored amount.
 * So sum(W_i * p_i) <= x + K for an input x, and what the book delivers is at most the fractional
 * knapsack G(x + K) over the first K offers taken in price order. Prices are replaced by their
 * suffix minimum q_i = min(p_j, j >= i) (sorted, never above the price: the bound stays valid even
 * where core's double order keys tie) and costs A_i*q_i are kept in 2^-32 fixed point rounded
 * down, which only raises the bound. For strict receive symmetrically S >= L(y) - K where L is
 * the cheapest fractional cost of y. A pool is bounded by its exact formula (reserves as stored:
 * a simple path crosses each market once). Both bounds are monotone, so composing them along a
 * path bounds the path.
 */
#if !defined(_POSIX_C_SOURCE) && !defined(_WIN32)
#define _POSIX_C_SOURCE 200809L /* clock_gettime */
#endif
#include "pathfind.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

uint64_t sob_pf_now_ns(void) {
    struct timespec ts;
#if defined(CLOCK_MONOTONIC)
    if (clock_gettime(CLOCK_MONOTONIC, &ts) != 0) return 0;
#else
    if (timespec_get(&ts, TIME_UTC) != TIME_UTC) return 0;
#endif
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

#define PF_INF INT64_MAX
#define FX 32 /* fixed-point bits of the cumulative costs */
#define E_SAT ((sob_u128)1 << 120)

typedef struct pf_depth {
    sob_u128 cw1, ce1; /* cw[1] and ce[1], and below qn[0] and qd[0]: a copy of the first offer's entries
                        * in the header, so that a bound an offer covers reads no array (dcw, dce) */
    uint32_t len;    /* offers cached (the first of the side) */
    uint32_t pad;
    uint64_t count;  /* offers on the side when cached */
    sob_u128 *cw;    /* len + 1: cumulative amounts (wheat) */
    sob_u128 *ce;    /* len + 1: cumulative costs sum(floor(A_i * q_i * 2^32)), saturated at E_SAT */
    int32_t *qn, *qd; /* len: suffix-minimum prices */
    int32_t qn0, qd0;
} pf_depth;

struct sob_pf_graph {
    uint32_t nassets, depth_cap;
    size_t nmarkets;
    sob_pf_market *m;
    pf_depth *dep;
    uint64_t *hkey; /* (send << 32 | recv) + 1, 0 = empty */
    uint32_t *hval;
    size_t hmask;
    uint32_t *out_start, *out_m; /* markets by send asset */
    uint32_t *in_start, *in_m;   /* markets by recv asset */
};

static inline uint64_t mkey(uint32_t a, uint32_t b) { return (((uint64_t)a << 32) | b) + 1; }
static inline size_t hslot(uint64_t k, size_t mask) { return (size_t)((k * 0x9E3779B97F4A7C15ULL) >> 17) & mask; }

static int64_t find_market(const sob_pf_graph *g, uint32_t a, uint32_t b) {
    uint64_t k = mkey(a, b);
    for (size_t i = hslot(k, g->hmask);; i = (i + 1) & g->hmask) {
        if (g->hkey[i] == k) return g->hval[i];
        if (g->hkey[i] == 0) return -1;
    }
}

static int venue_ok(const sob_venue *v) {
    if (v->side != SOB_SIDE_BID && v->side != SOB_SIDE_ASK) return 0;
    if (v->pool_a_is_send != 0 && v->pool_a_is_send != 1) return 0;
    if (v->pool && v->pool->pad != 0) return 0;
    return 1;
}

static void depth_free(pf_depth *d) {
    free(d->cw);
    d->cw = NULL;
    d->ce = NULL;
    d->qn = d->qd = NULL;
    d->len = 0;
    d->count = 0;
    d->cw1 = d->ce1 = 0;
    d->qn0 = d->qd0 = 0;
}

/* The first offers of the venue's book side: cumulative amounts and costs at suffix-min prices. */
static sob_status depth_build(pf_depth *d, const sob_venue *v, uint32_t cap) {
    depth_free(d);
    if (!v->book) return SOB_OK;
    const sob_offer_side *sd = &v->book->side[v->side];
    uint64_t count = sd->count;
    uint32_t len = count < cap ? (uint32_t)count : cap;
    d->count = count;
    if (len == 0) return SOB_OK;
    size_t bytes = (size_t)(len + 1) * 2 * sizeof(sob_u128) + (size_t)len * 2 * sizeof(int32_t);
    unsigned char *blk = malloc(bytes);
    if (!blk) {
        d->count = 0;
        return SOB_E_NOMEM;
    }
    d->cw = (sob_u128 *)blk;
    d->ce = d->cw + len + 1;
    d->qn = (int32_t *)(d->ce + len + 1);
    d->qd = d->qn + len;
    d->len = len;
    /* amounts and prices, best first */
    uint32_t k = 0;
    d->cw[0] = 0;
    for (size_t ci = 0; ci < sd->nc && k < len; ci++)
        for (uint32_t j = 0; j < sd->c[ci]->len && k < len; j++, k++) {
            const sob_offer *o = &sd->c[ci]->e[j];
            d->cw[k + 1] = d->cw[k] + (sob_u128)(uint64_t)(o->amount > 0 ? o->amount : 0);
            d->qn[k] = o->n;
            d->qd[k] = o->d;
        }
    /* suffix minimum of the exact prices */
    for (uint32_t i = len - 1; i-- > 0;)
        if (sob_price_cmp(d->qn[i + 1], d->qd[i + 1], d->qn[i], d->qd[i]) < 0) {
            d->qn[i] = d->qn[i + 1];
            d->qd[i] = d->qd[i + 1];
        }
    d->ce[0] = 0;
    for (uint32_t i = 0; i < len; i++) {
        sob_u128 a = d->cw[i + 1] - d->cw[i];
        sob_u128 c = ((a * (uint32_t)d->qn[i]) << FX) / (uint32_t)d->qd[i]; /* < 2^126 */
        sob_u128 e = d->ce[i] + c;
        d->ce[i + 1] = e > E_SAT ? E_SAT : e;
    }
    d->cw1 = d->cw[1];
    d->ce1 = d->ce[1];
    d->qn0 = d->qn[0];
    d->qd0 = d->qd[0];
    return SOB_OK;
}

void sob_pf_graph_free(sob_pf_graph *g) {
    if (!g) return;
    if (g->dep)
        for (size_t i = 0; i < g->nmarkets; i++) depth_free(&g->dep[i]);
    free(g->dep);
    free(g->m);
    free(g->hkey);
    free(g->hval);
    free(g->out_start);
    free(g->out_m);
    free(g->in_start);
    free(g->in_m);
    free(g);
}

sob_status sob_pf_graph_new(const sob_pf_market *markets, size_t n, uint32_t nassets, uint32_t depth_cap,
                            sob_pf_graph **out) {
    if (!out) return SOB_E_INVALID;
    *out = NULL;
    if ((n && !markets) || nassets == 0 || nassets > SOB_PF_MAX_ASSETS || depth_cap > (1u << 20) ||
        n > UINT32_MAX / 4)
        return SOB_E_INVALID;
    for (size_t i = 0; i < n; i++) {
        const sob_pf_market *mk = &markets[i];
        if (mk->send_asset >= nassets || mk->recv_asset >= nassets || mk->send_asset == mk->recv_asset ||
            !venue_ok(&mk->venue))
            return SOB_E_INVALID;
    }
    sob_pf_graph *g = calloc(1, sizeof *g);
    if (!g) return SOB_E_NOMEM;
    g->nassets = nassets;
    g->depth_cap = depth_cap ? depth_cap : SOB_PF_DEPTH_CAP_DEFAULT;
    g->nmarkets = n;
    size_t hsize = 16;
    while (hsize < 2 * n) hsize *= 2;
    g->hmask = hsize - 1;
    g->m = malloc((n ? n : 1) * sizeof *g->m);
    g->dep = calloc(n ? n : 1, sizeof *g->dep);
    g->hkey = calloc(hsize, sizeof *g->hkey);
    g->hval = malloc(hsize * sizeof *g->hval);
    g->out_start = calloc((size_t)nassets + 1, sizeof *g->out_start);
    g->in_start = calloc((size_t)nassets + 1, sizeof *g->in_start);
    g->out_m = malloc((n ? n : 1) * sizeof *g->out_m);
    g->in_m = malloc((n ? n : 1) * sizeof *g->in_m);
    if (!g->m || !g->dep || !g->hkey || !g->hval || !g->out_start || !g->in_start || !g->out_m || !g->in_m) {
        sob_pf_graph_free(g);
        return SOB_E_NOMEM;
    }
    if (n) memcpy(g->m, markets, n * sizeof *g->m);
    for (size_t i = 0; i < n; i++) {
        uint64_t k = mkey(g->m[i].send_asset, g->m[i].recv_asset);
        size_t j = hslot(k, g->hmask);
        while (g->hkey[j] != 0) {
            if (g->hkey[j] == k) {
                sob_pf_graph_free(g);
                return SOB_E_EXISTS;
            }
            j = (j + 1) & g->hmask;
        }
        g->hkey[j] = k;
        g->hval[j] = (uint32_t)i;
        g->out_start[g->m[i].send_asset + 1]++;
        g->in_start[g->m[i].recv_asset + 1]++;
    }
    for (uint32_t a = 0; a < nassets; a++) {
        g->out_start[a + 1] += g->out_start[a];
        g->in_start[a + 1] += g->in_start[a];
    }
    /* fill (stable: markets in input order per asset) */
    uint32_t *fo = malloc(((size_t)nassets + 1) * sizeof *fo), *fi = malloc(((size_t)nassets + 1) * sizeof *fi);
    if (!fo || !fi) {
        free(fo);
        free(fi);
        sob_pf_graph_free(g);
        return SOB_E_NOMEM;
    }
    memcpy(fo, g->out_start, ((size_t)nassets + 1) * sizeof *fo);
    memcpy(fi, g->in_start, ((size_t)nassets + 1) * sizeof *fi);
    for (size_t i = 0; i < n; i++) {
        g->out_m[fo[g->m[i].send_asset]++] = (uint32_t)i;
        g->in_m[fi[g->m[i].recv_asset]++] = (uint32_t)i;
    }
    free(fo);
    free(fi);
    for (size_t i = 0; i < n; i++)
        if (depth_build(&g->dep[i], &g->m[i].venue, g->depth_cap) != SOB_OK) {
            sob_pf_graph_free(g);
            return SOB_E_NOMEM;
        }
    *out = g;
    return SOB_OK;
}

const sob_venue *sob_pf_graph_venue(const sob_pf_graph *g, uint32_t send_asset, uint32_t recv_asset) {
    if (!g) return NULL;
    int64_t i = find_market(g, send_asset, recv_asset);
    return i < 0 ? NULL : &g->m[i].venue;
}

sob_status sob_pf_graph_mark_changed(sob_pf_graph *g, uint32_t send_asset, uint32_t recv_asset,
                                     const sob_venue *venue) {
    if (!g) return SOB_E_INVALID;
    if (venue && !venue_ok(venue)) return SOB_E_INVALID;
    int64_t i = find_market(g, send_asset, recv_asset);
    if (i < 0) return SOB_E_NOT_FOUND;
    if (venue) g->m[i].venue = *venue;
    return depth_build(&g->dep[i], &g->m[i].venue, g->depth_cap);
}

size_t sob_pf_graph_markets(const sob_pf_graph *g) { return g ? g->nmarkets : 0; }
uint32_t sob_pf_graph_assets(const sob_pf_graph *g) { return g ? g->nassets : 0; }

/* ---- bounds -------------------------------------------------------------------------------- */

typedef struct pf_env {
    const sob_pf_graph *g;
    int pools;      /* pools trade (protocol >= 18, not disabled, not excluded) */
    int64_t budget; /* the path's work budget: no hop crosses more offers */
} pf_env;

/* The largest j in [0, hi] with a[j] <= v (last_le) or a[j] < v (last_lt), for a non-decreasing
 * a with a[0] <= v (< v), and a1 == a[1] (the header's copy). Galloping from 1, then bisecting the
 * last step: the same j as a plain bisection of [0, hi], but an amount the first offer covers (the
 * typical hop) reads no array, and one the first few cover reads their cache lines, instead of ten
 * lines spread over a 16 KB cumulative array. The threshold scans (limit_at) read thousands of
 * markets once each, cold: the bisections' cache misses were most of a search's time (issue 15). */
static inline uint64_t last_le(const sob_u128 *a, sob_u128 a1, uint64_t hi, sob_u128 v) {
    if (hi == 0 || a1 > v) return 0; /* a[1], from the header */
    uint64_t lo = 1, step = 2;
    while (step <= hi - lo && a[lo + step] <= v) {
        lo += step;
        step <<= 1;
    }
    uint64_t top = step <= hi - lo ? lo + step - 1 : hi; /* a[lo] <= v < a[top + 1] (or top == hi) */
    while (lo < top) {
        uint64_t mid = lo + (top - lo + 1) / 2;
        if (a[mid] <= v)
            lo = mid;
        else
            top = mid - 1;
    }
    return lo;
}

static inline uint64_t last_lt(const sob_u128 *a, sob_u128 a1, uint64_t hi, sob_u128 v) {
    if (hi == 0 || a1 >= v) return 0;
    uint64_t lo = 1, step = 2;
    while (step <= hi - lo && a[lo + step] < v) {
        lo += step;
        step <<= 1;
    }
    uint64_t top = step <= hi - lo ? lo + step - 1 : hi;
    while (lo < top) {
        uint64_t mid = lo + (top - lo + 1) / 2;
        if (a[mid] < v)
            lo = mid;
        else
            top = mid - 1;
    }
    return lo;
}

/* The cached arrays at j (cw[0] = ce[0] = 0; entry 1 and the first prices from the header). */
static inline sob_u128 dcw(const pf_depth *d, uint64_t j) { return j == 0 ? 0 : j == 1 ? d->cw1 : d->cw[j]; }
static inline sob_u128 dce(const pf_depth *d, uint64_t j) { return j == 0 ? 0 : j == 1 ? d->ce1 : d->ce[j]; }
static inline uint32_t dqn(const pf_depth *d, uint64_t j) { return (uint32_t)(j == 0 ? d->qn0 : d->qn[j]); }
static inline uint32_t dqd(const pf_depth *d, uint64_t j) { return (uint32_t)(j == 0 ? d->qd0 : d->qd[j]); }

static inline uint64_t eff_k(const pf_depth *d, int64_t budget) {
    return (uint64_t)budget < d->count ? (uint64_t)budget : d->count;
}

/* What the book can deliver for x at most (PF_INF: no bound, the side is longer than the cache). */
static int64_t book_upper(const pf_depth *d, int64_t budget, int64_t x) {
    uint64_t K = eff_k(d, budget);
    if (K == 0) return 0;
    if (K > d->len) return PF_INF;
    sob_u128 X2 = ((sob_u128)(uint64_t)x + K) << FX; /* < 2^96 */
    uint64_t lo = last_le(d->ce, d->ce1, K, X2); /* the largest j <= K with ce[j] <= X2 */
    sob_u128 w;
    if (lo == K) {
        w = dcw(d, K);
    } else {
        sob_u128 part = ((X2 - dce(d, lo)) * dqd(d, lo)) / ((sob_u128)dqn(d, lo) << FX);
        w = dcw(d, lo) + part;
        if (w > dcw(d, lo + 1)) w = dcw(d, lo + 1);
    }
    return w >= (sob_u128)PF_INF ? PF_INF : (int64_t)w;
}

/* What the book needs at least to deliver y (PF_INF: it cannot; 0: no bound). */
static int64_t book_lower(const pf_depth *d, int64_t budget, int64_t y) {
    uint64_t K = eff_k(d, budget);
    if (K == 0) return PF_INF;
    if (K > d->len) return 0;
    if ((sob_u128)(uint64_t)y > d->cw1 && (sob_u128)(uint64_t)y > dcw(d, K)) return PF_INF; /* cw[K] >= cw[1] */
    uint64_t lo = last_le(d->cw, d->cw1, K, (sob_u128)(uint64_t)y); /* the largest j <= K with cw[j] <= y */
    sob_u128 e = dce(d, lo);
    if (lo < K) {
        sob_u128 rest = (sob_u128)(uint64_t)y - dcw(d, lo); /* < A_lo < 2^63 */
        e += ((rest * dqn(d, lo)) << FX) / dqd(d, lo);
    }
    sob_u128 l = e >> FX;
    if (l <= K) return 0;
    l -= K;
    return l >= (sob_u128)PF_INF ? PF_INF - 1 : (int64_t)l;
}

static int pool_usable(const pf_env *e, const sob_venue *v) {
    return e->pools && v->pool && v->pool->reserve_a > 0 && v->pool->reserve_b > 0 && v->pool->fee_bp >= 0 &&
           v->pool->fee_bp < 10000;
}

/* Upper bound of a strict-send hop's output for input x (monotone in x). */
static int64_t hop_upper(const pf_env *e, uint32_t mi, int64_t x) {
    if (x <= 0) return 0;
    const sob_venue *v = &e->g->m[mi].venue;
    int64_t b = book_upper(&e->g->dep[mi], e->budget, x);
    if (b != PF_INF && pool_usable(e, v)) {
        int64_t rt = v->pool_a_is_send ? v->pool->reserve_a : v->pool->reserve_b;
        int64_t rf = v->pool_a_is_send ? v->pool->reserve_b : v->pool->reserve_a;
        int64_t y = rf; /* beyond what core accepts: the reserve bounds it (monotone) */
        int ok;
        if (x <= INT64_MAX - rt && sob_pool_strict_send(rt, rf, v->pool->fee_bp, x, &y, &ok) != SOB_OK) y = rf;
        if (y > b) b = y;
    }
    return b;
}

/* Lower bound of what a strict-receive hop needs for output y (monotone in y; PF_INF: impossible). */
static int64_t hop_lower(const pf_env *e, uint32_t mi, int64_t y) {
    const sob_venue *v = &e->g->m[mi].venue;
    int64_t b = book_lower(&e->g->dep[mi], e->budget, y);
    if (b != 0 && pool_usable(e, v)) {
        int64_t rt = v->pool_a_is_send ? v->pool->reserve_a : v->pool->reserve_b;
        int64_t rf = v->pool_a_is_send ? v->pool->reserve_b : v->pool->reserve_a;
        int64_t x = 0;
        int ok = 0;
        if (sob_pool_strict_receive(rt, rf, v->pool->fee_bp, y, &x, &ok) != SOB_OK) x = 0, ok = 1;
        if (ok && x < b) b = x;
    }
    return b;
}

/* The least input a strict-send hop needs for its upper bound to reach W >= 1 (a lower bound of
 * min{x : hop_upper(x) >= W}; PF_INF: never). */
static int64_t hop_upper_inverse(const pf_env *e, uint32_t mi, int64_t W) {
    if (W <= 0) return 1;
    if (W == PF_INF) return PF_INF;
    const pf_depth *d = &e->g->dep[mi];
    const sob_venue *v = &e->g->m[mi].venue;
    int64_t best = PF_INF;
    uint64_t K = eff_k(d, e->budget);
    if (K > d->len) {
        best = 1; /* no bound for this book */
    } else if (K > 0 && ((sob_u128)(uint64_t)W <= d->cw1 || (sob_u128)(uint64_t)W <= dcw(d, K))) {
        uint64_t lo = last_lt(d->cw, d->cw1, K - 1, (sob_u128)(uint64_t)W); /* the j with cw[j] < W <= cw[j + 1] */
        sob_u128 rest = (sob_u128)(uint64_t)W - dcw(d, lo);
        sob_u128 num = (rest * dqn(d, lo)) << FX;
        uint32_t qd = dqd(d, lo);
        sob_u128 x2 = dce(d, lo) + num / qd + (num % qd != 0);
        if (x2 > dce(d, lo + 1)) x2 = dce(d, lo + 1);
        sob_u128 x = (x2 >> FX) + ((x2 & (((sob_u128)1 << FX) - 1)) != 0); /* ceil(x2 / 2^32) */
        if (x <= K)
            best = 1;
        else if (x - K < (sob_u128)PF_INF)
            best = (int64_t)(x - K);
    }
    if (pool_usable(e, v)) {
        int64_t rt = v->pool_a_is_send ? v->pool->reserve_a : v->pool->reserve_b;
        int64_t rf = v->pool_a_is_send ? v->pool->reserve_b : v->pool->reserve_a;
        int64_t x = PF_INF;
        int ok = 0;
        if (W <= rf) {
            /* hop_upper gives rf beyond what core accepts; below, the formula: its exact strict
             * receive input, less one for rounding, bounds the least input from below */
            x = rt < INT64_MAX ? INT64_MAX - rt : 1;
            if (W < rf && sob_pool_strict_receive(rt, rf, v->pool->fee_bp, W, &x, &ok) == SOB_OK && ok) x = x - 1;
            else if (W < rf) x = INT64_MAX - rt - 1 > 0 ? INT64_MAX - rt - 1 : 1;
            if (x < 1) x = 1;
        }
        if (x < best) best = x;
    }
    return best;
}

/* The most a strict-receive hop can deliver while its lower bound stays <= A (an upper bound of
 * max{y : hop_lower(y) <= A}; -1: nothing). */
static int64_t hop_lower_inverse(const pf_env *e, uint32_t mi, int64_t A) {
    if (A < 0) return -1;
    const pf_depth *d = &e->g->dep[mi];
    const sob_venue *v = &e->g->m[mi].venue;
    int64_t best = -1;
    uint64_t K = eff_k(d, e->budget);
    if (K > d->len) {
        best = PF_INF - 1;
    } else if (K > 0) {
        sob_u128 T2 = ((sob_u128)(uint64_t)A + K + 1) << FX; /* hop_lower(y) <= A iff Lhat(y) < T2 */
        uint64_t lo = last_lt(d->ce, d->ce1, K, T2); /* the largest j <= K with ce[j] < T2 */
        sob_u128 y;
        if (lo == K) {
            y = dcw(d, K);
        } else {
            y = dcw(d, lo) + ((T2 - dce(d, lo)) * dqd(d, lo)) / ((sob_u128)dqn(d, lo) << FX);
            if (y > dcw(d, lo + 1)) y = dcw(d, lo + 1);
        }
        best = y >= (sob_u128)(PF_INF - 1) ? PF_INF - 1 : (int64_t)y;
    }
    if (pool_usable(e, v)) {
        int64_t rt = v->pool_a_is_send ? v->pool->reserve_a : v->pool->reserve_b;
        int64_t rf = v->pool_a_is_send ? v->pool->reserve_b : v->pool->reserve_a;
        int64_t y = rf;
        int ok;
        if (A <= INT64_MAX - rt && sob_pool_strict_send(rt, rf, v->pool->fee_bp, A, &y, &ok) == SOB_OK) y = y + 1;
        if (y > best) best = y;
    }
    return best;
}

static void env_init(pf_env *e, const sob_pf_graph *g, const sob_dex_ctx *ctx, int exclude_pools, int strict_send) {
    e->g = g;
    e->pools = !exclude_pools && ctx->protocol >= 18 && !(ctx->flags & SOB_CTX_POOL_TRADING_DISABLED);
    e->budget = (strict_send || ctx->protocol >= 11) ? ctx->max_offers_to_cross : INT64_MAX;
}

static sob_status check_ctx(const sob_dex_ctx *ctx) {
    if (!ctx || ctx->protocol < SOB_PROTOCOL_MIN || ctx->max_offers_to_cross < 0 || ctx->id_pool < 0 ||
        ctx->id_pool == INT64_MAX ||
        (ctx->flags & ~(SOB_CTX_POOL_TRADING_DISABLED | SOB_CTX_UNKNOWN_MISSING | SOB_CTX_SKIP_CHANGES)))
        return SOB_E_INVALID;
    return SOB_OK;
}

sob_status sob_pf_hop_bounds(const sob_pf_graph *g, uint32_t send_asset, uint32_t recv_asset, const sob_dex_ctx *ctx,
                             int exclude_pools, int64_t budget, int64_t x, int64_t y, int64_t *upper_out,
                             int64_t *lower_in) {
    if (!g || !upper_out || !lower_in || check_ctx(ctx) || budget < 0 || x < 0 || y <= 0) return SOB_E_INVALID;
    int64_t mi = find_market(g, send_asset, recv_asset);
    if (mi < 0) return SOB_E_NOT_FOUND;
    pf_env e;
    env_init(&e, g, ctx, exclude_pools, 1);
    e.budget = budget;
    *upper_out = hop_upper(&e, (uint32_t)mi, x);
    *lower_in = hop_lower(&e, (uint32_t)mi, y);
    return SOB_OK;
}

/* ---- the search ---------------------------------------------------------------------------- */

#define NH (SOB_MAX_HOPS + 1)

struct sob_pf_scratch {
    sob_dex_scratch *dex;
    uint32_t cap_assets;
    uint8_t *dist;       /* hops to the nearest target (255: beyond max_hops) */
    uint32_t *vis;       /* == vgen: on the current prefix */
    uint32_t vgen;
    int32_t *tix;        /* asset -> target index, -1 */
    int64_t *dom;        /* (asset, depth) -> best amount this round */
    uint32_t *dom_gen;
    uint32_t dgen;
    int64_t *lim;        /* (left, asset) -> pruning threshold (limit_at) */
    uint32_t *lim_gen;
    int64_t *lim2;       /* (left, asset) -> the threshold without the market that set lim (its next best) */
    uint32_t *limz;      /* (left, asset) -> the asset that market leads to (UINT32_MAX: none) */
    uint32_t lgen;       /* lim_gen == lgen: computed on the lists as they are now */
    uint32_t lgen0;      /* lgen0 <= lim_gen < lgen: computed earlier in this search (stale, still valid) */
    uint32_t *queue;
    sob_pf_path *slots;  /* ntargets * limit */
    uint32_t *nslot;
    size_t cap_slots, cap_targets;
    sob_pf_path *out;
    size_t cap_out;
};

sob_pf_scratch *sob_pf_scratch_new(void) {
    sob_pf_scratch *s = calloc(1, sizeof *s);
    if (!s) return NULL;
    s->dex = sob_dex_scratch_new();
    if (!s->dex) {
        free(s);
        return NULL;
    }
    return s;
}

void sob_pf_scratch_free(sob_pf_scratch *s) {
    if (!s) return;
    sob_dex_scratch_free(s->dex);
    free(s->dist);
    free(s->vis);
    free(s->tix);
    free(s->dom);
    free(s->dom_gen);
    free(s->lim);
    free(s->lim_gen);
    free(s->lim2);
    free(s->limz);
    free(s->queue);
    free(s->slots);
    free(s->nslot);
    free(s->out);
    free(s);
}

static int scratch_size(sob_pf_scratch *s, uint32_t nassets, size_t ntargets, size_t limit) {
    if (nassets > s->cap_assets) {
        uint8_t *dist = realloc(s->dist, nassets);
        if (dist) s->dist = dist;
        uint32_t *vis = realloc(s->vis, (size_t)nassets * sizeof *vis);
        if (vis) s->vis = vis;
        int32_t *tix = realloc(s->tix, (size_t)nassets * sizeof *tix);
        if (tix) s->tix = tix;
        int64_t *dom = realloc(s->dom, (size_t)nassets * NH * sizeof *dom);
        if (dom) s->dom = dom;
        uint32_t *dg = realloc(s->dom_gen, (size_t)nassets * NH * sizeof *dg);
        if (dg) s->dom_gen = dg;
        uint32_t *qu = realloc(s->queue, (size_t)nassets * sizeof *qu);
        if (qu) s->queue = qu;
        int64_t *lim = realloc(s->lim, (size_t)nassets * NH * sizeof *lim);
        if (lim) s->lim = lim;
        uint32_t *lg = realloc(s->lim_gen, (size_t)nassets * NH * sizeof *lg);
        if (lg) s->lim_gen = lg;
        int64_t *l2 = realloc(s->lim2, (size_t)nassets * NH * sizeof *l2);
        if (l2) s->lim2 = l2;
        uint32_t *lz = realloc(s->limz, (size_t)nassets * NH * sizeof *lz);
        if (lz) s->limz = lz;
        if (!dist || !vis || !tix || !dom || !dg || !qu || !lim || !lg || !l2 || !lz) return 0;
        memset(s->lim_gen, 0, (size_t)nassets * NH * sizeof *lg);
        s->lgen = 0;
        memset(s->vis, 0, (size_t)nassets * sizeof *vis);
        memset(s->dom_gen, 0, (size_t)nassets * NH * sizeof *dg);
        for (uint32_t i = 0; i < nassets; i++) s->tix[i] = -1;
        s->vgen = s->dgen = 0;
        s->cap_assets = nassets;
    }
    size_t need = ntargets * limit;
    if (need > s->cap_slots) {
        sob_pf_path *p = realloc(s->slots, need * sizeof *p);
        if (!p) return 0;
        s->slots = p;
        sob_pf_path *o = realloc(s->out, need * sizeof *o);
        if (!o) return 0;
        s->out = o;
        s->cap_slots = s->cap_out = need;
    }
    if (ntargets > s->cap_targets) {
        uint32_t *n = realloc(s->nslot, ntargets * sizeof *n);
        if (!n) return 0;
        s->nslot = n;
        s->cap_targets = ntargets;
    }
    return 1;
}

typedef struct pf_run {
    const sob_pf_graph *g;
    const sob_pf_query *q;
    const sob_dex_ctx *ctx;
    sob_pf_scratch *s;
    pf_env env;
    int send;        /* strict send */
    int incremental; /* no accounts table: a hop depends only on (amount, budget) */
    int dominance;
    uint32_t L;      /* this round's path length */
    uint32_t path[NH];  /* path[0] = from, in search order (strict receive: backwards) */
    uint32_t pm[NH];    /* market of hop k (path[k] -> path[k+1] in search order) */
    int64_t amt[NH];    /* exact amount at path[k] (send: held; receive: needed) */
    int64_t bud[NH];    /* work budget left (incremental mode) */
    uint64_t evals, max_evals, deadline;
    int stop, stopped;
    sob_status err;
    sob_pf_result *out;
} pf_run;

static inline uint32_t other_end(const pf_run *r, uint32_t mi) {
    return r->send ? r->g->m[mi].recv_asset : r->g->m[mi].send_asset;
}

/* 1 if a path with this final amount enters target i's list */
static inline int beats(const pf_run *r, int32_t i, int64_t b) {
    const sob_pf_scratch *s = r->s;
    if (r->send ? b <= 0 : b == PF_INF) return 0;
    if (s->nslot[i] < r->q->limit) return 1;
    const sob_pf_path *worst = &s->slots[(size_t)i * r->q->limit + r->q->limit - 1];
    return r->send ? b > worst->received : b < worst->sent;
}

static inline int64_t hop_bound(const pf_run *r, uint32_t mi, int64_t a) {
    return r->send ? hop_upper(&r->env, mi, a) : hop_lower(&r->env, mi, a);
}

/* The best (strict send: least; strict receive: most) of the candidates seen so far in *v, the
 * next asset that gave it in *z, and the best of the others in *v2. */
static inline void keep_two_best(int send, int64_t c, uint32_t from, int64_t *v, int64_t *v2, uint32_t *z) {
    if (send ? c < *v : c > *v) {
        *v2 = *v;
        *v = c;
        *z = from;
    } else if (send ? c < *v2 : c > *v2) {
        *v2 = c;
    }
}

/* The pruning thresholds, per (hops left, asset): strict send, the least amount at the asset from
 * which some target's list could still be entered in exactly `left` more hops (PF_INF: none);
 * strict receive, the most that may be needed at the asset (-1: none). A backward recursion over
 * the inverses of the monotone hop bounds, ignoring which assets the prefix visited (a relaxation:
 * still a valid threshold), computed on demand and kept until a list's threshold moves. Beside it
 * the threshold without the next hop that set it (lim2: the best over the other next assets) and
 * that next asset (limz): when the prefix has visited it, no path can go there, and can_beat uses
 * lim2. */
static int64_t limit_at(pf_run *r, uint32_t left, uint32_t x) {
    sob_pf_scratch *s = r->s;
    const sob_pf_graph *g = r->g;
    size_t idx = (size_t)left * g->nassets + x;
    if (s->lim_gen[idx] == s->lgen) return s->lim[idx];
    const int64_t none = r->send ? PF_INF : -1;
    int64_t v = none, v2 = none;
    uint32_t z = UINT32_MAX;
    if (left == 0) {
        int32_t i = s->tix[x];
        if (i >= 0) {
            if (s->nslot[i] < r->q->limit) {
                v = r->send ? 1 : PF_INF - 1;
            } else {
                const sob_pf_path *worst = &s->slots[(size_t)i * r->q->limit + r->q->limit - 1];
                v = r->send ? (worst->received < PF_INF ? worst->received + 1 : PF_INF) : worst->sent - 1;
            }
        }
    } else {
        const uint32_t *adj = r->send ? g->out_m : g->in_m;
        const uint32_t *st = r->send ? g->out_start : g->in_start;
        if (left == 1 && st[x + 1] - st[x] > r->q->ntargets) {
            for (uint32_t i = 0; i < r->q->ntargets; i++) {
                uint32_t t = r->q->targets[i];
                int64_t mi = r->send ? find_market(g, x, t) : find_market(g, t, x);
                if (mi < 0) continue;
                int64_t lt = limit_at(r, 0, t);
                if (lt == none) continue;
                int64_t c = r->send ? hop_upper_inverse(&r->env, (uint32_t)mi, lt)
                                    : hop_lower_inverse(&r->env, (uint32_t)mi, lt);
                keep_two_best(r->send, c, t, &v, &v2, &z);
            }
        } else {
            for (uint32_t k = st[x]; k < st[x + 1]; k++) {
                uint32_t mi = adj[k], y = other_end(r, mi);
                if (s->dist[y] > left - 1) continue;
                int64_t ly = limit_at(r, left - 1, y);
                if (ly == none) continue;
                int64_t c = r->send ? hop_upper_inverse(&r->env, mi, ly) : hop_lower_inverse(&r->env, mi, ly);
                keep_two_best(r->send, c, y, &v, &v2, &z);
            }
        }
    }
    s->lim_gen[idx] = s->lgen;
    s->lim[idx] = v;
    s->lim2[idx] = v2;
    s->limz[idx] = z;
    return v;
}

/* Can a path from w (not on the prefix), reached with bound amount u, enter a list in exactly
 * `left` more hops? Exact when it says no: a path from w goes on to an asset the prefix has not
 * visited, so when the best next asset of w's threshold is on the prefix, the best over the others
 * (lim2) is still a valid threshold, and a stronger one. This cuts the common dead end of a hub:
 * from XLM, every token y has the threshold of y -> XLM -> target, which the prefix through XLM
 * cannot take (issue 15: 6,650 exact hops XLM -> y in one search, none of them extended). */
static inline int64_t threshold_for_prefix(const pf_run *r, size_t idx, uint32_t left) {
    const sob_pf_scratch *s = r->s;
    if (left > 0) {
        uint32_t z = s->limz[idx];
        if (z != UINT32_MAX && s->vis[z] == s->vgen) return s->lim2[idx];
    }
    return s->lim[idx];
}
static int can_beat(pf_run *r, uint32_t w, int64_t u, uint32_t left) {
    if (r->send ? u <= 0 : u == PF_INF) return 0;
    size_t idx = (size_t)left * r->g->nassets + w;
    const sob_pf_scratch *s = r->s;
    uint32_t stamp = s->lim_gen[idx];
    if (stamp != s->lgen && stamp >= s->lgen0) {
        /* Computed earlier in this search, before some list's threshold moved: a weaker threshold,
         * but still a valid one (the lists' thresholds only tighten during a search, and the
         * recursion is monotone in them). What it cuts, the fresh one cuts too; only what passes
         * it needs the fresh one. So the decision is the same as with the fresh threshold, and
         * most of the recomputations after each move are avoided. */
        int64_t l = threshold_for_prefix(r, idx, left);
        if (r->send ? u < l : u > l) return 0;
    }
    limit_at(r, left, w);
    int64_t l = threshold_for_prefix(r, idx, left);
    return r->send ? u >= l : u <= l;
}

static void thresholds_moved(sob_pf_scratch *s, uint32_t nassets) {
    (void)nassets;
    if (++s->lgen == 0) { /* wrapped: clear every stamp (a larger graph may have used more) */
        memset(s->lim_gen, 0, (size_t)s->cap_assets * NH * sizeof *s->lim_gen);
        s->lgen = 1;
        s->lgen0 = 1; /* nothing computed before the wrap is known any more */
    }
}

static sob_venue venue_of(const pf_run *r, uint32_t mi) {
    sob_venue v = r->g->m[mi].venue;
    if (r->q->exclude_pools) v.pool = NULL;
    return v;
}

/* The path of the search's prefix path[0..k] as a path payment (assets in payment order). */
static void build_op(const pf_run *r, uint32_t k, sob_path_op *op, sob_venue *venues) {
    memset(op, 0, sizeof *op);
    op->kind = r->q->kind;
    op->nassets = k + 1;
    op->source = r->q->source;
    op->destination = r->q->destination;
    for (uint32_t i = 0; i <= k; i++) op->assets[i] = r->send ? r->path[i] : r->path[k - i];
    for (uint32_t i = 0; i < k; i++) venues[i] = venue_of(r, r->send ? r->pm[i] : r->pm[k - 1 - i]);
    if (r->send) {
        op->send = r->q->amount;
        op->dest = 1;
    } else {
        op->send = INT64_MAX;
        op->dest = r->q->amount;
    }
}

static int count_eval(pf_run *r) {
    if (++r->evals >= r->max_evals) {
        r->stop = 1;
        r->stopped = SOB_PF_STOP_EVALUATIONS;
        return 1;
    }
    if (r->deadline && (r->evals & 63) == 0 && sob_pf_now_ns() >= r->deadline) {
        r->stop = 1;
        r->stopped = SOB_PF_STOP_DEADLINE;
        return 1;
    }
    return 0;
}

/* Execute the hop path[k] -> path[k+1] after the exact prefix: 1 and amt/bud[k+1] if it succeeds. */
static int eval_hop(pf_run *r, uint32_t k) {
    r->out->hop_evaluations++;
    sob_op_result res;
    if (r->incremental) {
        sob_hop_op op;
        memset(&op, 0, sizeof op);
        op.round = r->send ? SOB_ROUND_STRICT_SEND : SOB_ROUND_STRICT_RECEIVE;
        op.send_asset = r->send ? r->path[k] : r->path[k + 1];
        op.recv_asset = r->send ? r->path[k + 1] : r->path[k];
        op.taker = r->q->source;
        op.amount = r->amt[k];
        op.budget = r->bud[k];
        sob_venue v = venue_of(r, r->pm[k]);
        sob_dex_ctx c = *r->ctx;
        c.flags |= SOB_CTX_SKIP_CHANGES;
        sob_status st = sob_convert_hop(&c, &op, &v, r->s->dex, &res);
        if (st != SOB_OK) {
            r->err = st;
            r->stop = 1;
            return 0;
        }
        if (!sob_result_success(res.code)) return 0;
        r->amt[k + 1] = r->send ? res.received : res.sent;
        r->bud[k + 1] = res.hops[0].budget_after;
        return r->send ? r->amt[k + 1] > 0 : 1;
    }
    /* with an accounts table hops share sellers' funds: run the whole prefix as a path payment */
    sob_path_op op;
    sob_venue venues[SOB_MAX_HOPS];
    build_op(r, k + 1, &op, venues);
    sob_dex_ctx c = *r->ctx;
    c.flags |= SOB_CTX_SKIP_CHANGES;
    sob_status st = sob_path_payment(&c, &op, venues, r->s->dex, &res);
    if (st != SOB_OK) {
        r->err = st;
        r->stop = 1;
        return 0;
    }
    uint32_t nh = k + 1;
    if (res.nhops != nh) return 0;
    int64_t want = r->q->amount;
    for (uint32_t i = 0; i < nh; i++) {
        const sob_hop *h = &res.hops[i];
        if (h->result != SOB_CONVERT_OK) return 0;
        if ((r->send ? h->amount_send : h->amount_recv) != want) return 0; /* checkTransfer */
        want = r->send ? h->amount_recv : h->amount_send;
    }
    /* a failure after the hops (crediting the end of the prefix, UNDER_DESTMIN) is not the path's */
    r->amt[k + 1] = want;
    return r->send ? want > 0 : 1;
}

/* Execute the full path path[0..k] and record it if it succeeds and enters its target's list. */
static void try_path(pf_run *r, uint32_t k) {
    r->out->path_executions++;
    sob_path_op op;
    sob_venue venues[SOB_MAX_HOPS];
    build_op(r, k, &op, venues);
    sob_dex_ctx c = *r->ctx;
    c.flags |= SOB_CTX_SKIP_CHANGES;
    sob_op_result res;
    sob_status st = sob_path_payment(&c, &op, venues, r->s->dex, &res);
    if (st != SOB_OK) {
        r->err = st;
        r->stop = 1;
        return;
    }
    if (!sob_result_success(res.code) || res.received <= 0) return;
    if (r->send ? res.sent != r->q->amount : res.received != r->q->amount) return; /* cannot happen */
    sob_pf_scratch *s = r->s;
    int32_t ti = s->tix[r->path[k]];
    int64_t val = r->send ? res.received : res.sent;
    if (!beats(r, ti, val)) return;
    sob_pf_path p;
    memset(&p, 0, sizeof p);
    p.target = r->path[k];
    p.nassets = op.nassets;
    memcpy(p.assets, op.assets, sizeof p.assets);
    for (size_t i = 0; i < res.nhops && i < SOB_MAX_HOPS; i++) {
        size_t hop = r->send ? i : res.nhops - 1 - i;
        p.venue[hop] = res.hops[i].venue;
    }
    p.sent = res.sent;
    p.received = res.received;
    for (size_t i = 0; i < res.nclaims; i++) p.offers_crossed += res.claims[i].type != SOB_CLAIM_LIQUIDITY_POOL;
    sob_pf_path *list = &s->slots[(size_t)ti * r->q->limit];
    uint32_t n = s->nslot[ti];
    uint32_t pos = n;
    while (pos > 0 && (r->send ? val > list[pos - 1].received : val < list[pos - 1].sent)) pos--;
    if (pos >= r->q->limit) return;
    uint32_t keep = n < r->q->limit ? n : r->q->limit - 1;
    memmove(&list[pos + 1], &list[pos], (keep - pos) * sizeof *list);
    list[pos] = p;
    s->nslot[ti] = keep + 1;
    if (s->nslot[ti] == r->q->limit) thresholds_moved(s, r->g->nassets);
}

/* 1 if an earlier prefix of this round reached w in as many hops with at least as good an amount
 * (best amount per (asset, hop count)); otherwise w's best at this hop count becomes `a`. (Comparing
 * with fewer hops too cuts more and loses more: 1.86% of targets instead of 1.42% in test_pathfind.) */
static int dominated(pf_run *r, uint32_t w, uint32_t d, int64_t a) {
    sob_pf_scratch *s = r->s;
    size_t i = (size_t)w * NH + d;
    if (s->dom_gen[i] == s->dgen && (r->send ? s->dom[i] >= a : s->dom[i] <= a)) return 1;
    s->dom_gen[i] = s->dgen;
    s->dom[i] = a;
    return 0;
}

/* 1 if dominated() would say so of any amount the hop can give: its bound b is no better than
 * w's best at depth d (strict send: the exact output <= b <= best; strict receive: the exact need
 * >= b >= best). Checked before executing the hop, with the same outcome as executing it and then
 * calling dominated(), which changes nothing when it returns 1. */
static int dominated_bound(const pf_run *r, uint32_t w, uint32_t d, int64_t b) {
    const sob_pf_scratch *s = r->s;
    size_t i = (size_t)w * NH + d;
    return s->dom_gen[i] == s->dgen && (r->send ? s->dom[i] >= b : s->dom[i] <= b);
}

static void dfs(pf_run *r, uint32_t k) {
    sob_pf_scratch *s = r->s;
    const sob_pf_graph *g = r->g;
    uint32_t v = r->path[k];
    const uint32_t *adj = r->send ? g->out_m : g->in_m;
    const uint32_t *st = r->send ? g->out_start : g->in_start;
    uint32_t left = r->L - (k + 1); /* hops after the next one */
    for (uint32_t e = st[v]; e < st[v + 1] && !r->stop; e++) {
        uint32_t mi = adj[e], w = other_end(r, mi);
        if (s->vis[w] == s->vgen || s->dist[w] > left) continue;
        if (left == 0 && s->tix[w] < 0) continue;
        int64_t b = hop_bound(r, mi, r->amt[k]);
        if (!can_beat(r, w, b, left)) {
            r->out->bound_cuts++;
            continue;
        }
        r->path[k + 1] = w;
        r->pm[k] = mi;
        if (count_eval(r)) return;
        if (left == 0) {
            try_path(r, k + 1);
            continue;
        }
        if (r->dominance && dominated_bound(r, w, k + 1, b)) {
            r->out->dominance_cuts++;
            continue;
        }
        if (!eval_hop(r, k)) continue;
        if (r->dominance && dominated(r, w, k + 1, r->amt[k + 1])) {
            r->out->dominance_cuts++;
            continue;
        }
        s->vis[w] = s->vgen;
        dfs(r, k + 1);
        s->vis[w] = 0;
    }
}

sob_status sob_find_paths(const sob_pf_graph *g, const sob_pf_query *q, const sob_dex_ctx *ctx, sob_pf_scratch *s,
                          sob_pf_result *out) {
    if (!out) return SOB_E_INVALID;
    memset(out, 0, sizeof *out);
    if (!g || !q || !s || check_ctx(ctx)) return SOB_E_INVALID;
    if (q->kind != SOB_OP_PATH_PAYMENT_STRICT_SEND && q->kind != SOB_OP_PATH_PAYMENT_STRICT_RECEIVE)
        return SOB_E_INVALID;
    if (q->from >= g->nassets || q->amount <= 0 || !q->targets || q->ntargets == 0 ||
        q->ntargets > SOB_PF_MAX_TARGETS || q->max_hops < 1 || q->max_hops > SOB_MAX_HOPS || q->limit < 1 ||
        q->limit > SOB_PF_MAX_LIMIT || (q->exclude_pools != 0 && q->exclude_pools != 1) ||
        (q->flags & ~SOB_PF_EXHAUSTIVE) || q->pad != 0)
        return SOB_E_INVALID;
    for (uint32_t i = 0; i < q->ntargets; i++)
        if (q->targets[i] >= g->nassets || q->targets[i] == q->from) return SOB_E_INVALID;
    if (!scratch_size(s, g->nassets, q->ntargets, q->limit)) return SOB_E_NOMEM;
    sob_status result = SOB_OK;
    for (uint32_t i = 0; i < q->ntargets; i++) {
        if (s->tix[q->targets[i]] >= 0) result = SOB_E_INVALID; /* a duplicate */
        s->tix[q->targets[i]] = (int32_t)i;
        s->nslot[i] = 0;
    }
    if (result != SOB_OK) goto done;
    pf_run r;
    memset(&r, 0, sizeof r);
    r.g = g;
    r.q = q;
    r.ctx = ctx;
    r.s = s;
    r.out = out;
    r.send = q->kind == SOB_OP_PATH_PAYMENT_STRICT_SEND;
    env_init(&r.env, g, ctx, q->exclude_pools, r.send);
    r.incremental = ctx->accounts == NULL && !(ctx->flags & SOB_CTX_UNKNOWN_MISSING);
    r.dominance = !(q->flags & SOB_PF_EXHAUSTIVE) && q->max_hops >= 4;
    r.max_evals = q->max_evaluations ? q->max_evaluations : 2000000;
    r.deadline = q->deadline_ns;
    if (r.deadline && sob_pf_now_ns() >= r.deadline) { /* already past: nothing is searched */
        r.stop = 1;
        r.stopped = SOB_PF_STOP_DEADLINE;
    }
    /* hop distances to the nearest target, against the search direction (BFS, up to max_hops) */
    memset(s->dist, 255, g->nassets);
    size_t qh = 0, qt = 0;
    for (uint32_t i = 0; i < q->ntargets; i++) {
        s->dist[q->targets[i]] = 0;
        s->queue[qt++] = q->targets[i];
    }
    const uint32_t *padj = r.send ? g->in_m : g->out_m;
    const uint32_t *pst = r.send ? g->in_start : g->out_start;
    while (qh < qt) {
        uint32_t v = s->queue[qh++];
        if (s->dist[v] + 1u > q->max_hops) continue;
        for (uint32_t e = pst[v]; e < pst[v + 1]; e++) {
            uint32_t u = r.send ? g->m[padj[e]].send_asset : g->m[padj[e]].recv_asset;
            if (s->dist[u] == 255) {
                s->dist[u] = (uint8_t)(s->dist[v] + 1);
                s->queue[qt++] = u;
            }
        }
    }
    thresholds_moved(s, g->nassets);
    s->lgen0 = s->lgen; /* thresholds stamped before this search belong to other queries */
    if (++s->vgen == 0) { /* wrapped: clear the stamps */
        memset(s->vis, 0, (size_t)s->cap_assets * sizeof *s->vis);
        s->vgen = 1;
    }
    r.path[0] = q->from;
    r.amt[0] = q->amount;
    r.bud[0] = r.env.budget;
    s->vis[q->from] = s->vgen;
    for (r.L = 1; r.L <= q->max_hops && !r.stop; r.L++) {
        if (s->dist[q->from] > r.L) continue;
        if (++s->dgen == 0) {
            memset(s->dom_gen, 0, (size_t)s->cap_assets * NH * sizeof *s->dom_gen);
            s->dgen = 1;
        }
        dfs(&r, 0);
    }
    s->vis[q->from] = 0;
    if (r.err != SOB_OK) {
        result = r.err;
        goto done;
    }
    size_t n = 0;
    for (uint32_t i = 0; i < q->ntargets; i++)
        for (uint32_t j = 0; j < s->nslot[i]; j++) s->out[n++] = s->slots[(size_t)i * q->limit + j];
    out->paths = s->out;
    out->npaths = n;
    out->complete = !r.stop && out->dominance_cuts == 0;
    out->stopped = r.stopped;
done:
    for (uint32_t i = 0; i < q->ntargets; i++) s->tix[q->targets[i]] = -1;
    return result;
}
