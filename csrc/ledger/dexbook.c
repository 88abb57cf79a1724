/* dexbook.c: the whole DEX from LedgerCloseMeta (see dexbook.h).
 *
 * One apply = phase 1 (walk every change against an overlay of the entries touched, validate,
 * detect drift, compute the net L2 level changes, reserve memory) + phase 2 (commit the net
 * effect per entry; only the per-market books can fail there, with SOB_E_NOMEM, and are then put
 * back entry by entry). Names interned in phase 1 and markets it created are dropped on failure.
 */
#include "dex.h" /* first: ledger.h (through dexbook.h) defines its SOB_CLAIM_* names as macros */
#include "dexbook.h"

#include <stdlib.h>
#include <string.h>
#if defined(__GLIBC__)
#include <malloc.h> /* malloc_trim: see sob_dexbook_seed */
#endif

/* ---- interning of fixed-size names (32-byte keys, assets) --------------------------------- */

/* Records live in blocks of IBLK that never move (no reallocation of a large array, whose old
 * copies would stay behind as holes in the heap), so pointers to them stay valid. */
#define IBLK_SHIFT 10
#define IBLK (1u << IBLK_SHIFT)

typedef struct intern {
    uint8_t **blk;   /* owned; nblk blocks of IBLK records of rsz bytes; len records in use */
    size_t rsz;
    uint32_t len, nblk, cap_blk;
    uint32_t *idx;   /* owned; open addressing of id + 1 (0 = empty), load <= 1/2 */
    size_t mask;
} intern;

static inline uint8_t *irec(const intern *t, uint32_t id) {
    return t->blk[id >> IBLK_SHIFT] + (size_t)(id & (IBLK - 1)) * t->rsz;
}

static uint64_t hash_bytes(const uint8_t *p, size_t n) {
    uint64_t h = 0x9e3779b97f4a7c15ULL ^ n;
    size_t i = 0;
    for (; i + 8 <= n; i += 8) {
        uint64_t w;
        memcpy(&w, p + i, 8);
        h ^= w;
        h *= 0xbf58476d1ce4e5b9ULL;
        h ^= h >> 29;
    }
    for (; i < n; i++) {
        h ^= p[i];
        h *= 0x94d049bb133111ebULL;
    }
    h ^= h >> 31;
    h *= 0x94d049bb133111ebULL;
    h ^= h >> 29;
    return h;
}

static void intern_init(intern *t, size_t rsz) {
    memset(t, 0, sizeof *t);
    t->rsz = rsz;
}

static void intern_free(intern *t) {
    for (uint32_t b = 0; b < t->nblk; b++) free(t->blk[b]);
    free(t->blk);
    free(t->idx);
    intern_init(t, t->rsz);
}

static int64_t intern_find(const intern *t, const void *key) {
    if (!t->idx) return -1;
    size_t i = (size_t)hash_bytes(key, t->rsz) & t->mask;
    for (;;) {
        uint32_t v = t->idx[i];
        if (!v) return -1;
        if (!memcmp(irec(t, v - 1), key, t->rsz)) return (int64_t)(v - 1);
        i = (i + 1) & t->mask;
    }
}

static int intern_rehash(intern *t, size_t size) {
    uint32_t *ni = calloc(size, sizeof *ni);
    if (!ni) return 0;
    for (uint32_t id = 0; id < t->len; id++) {
        size_t i = (size_t)hash_bytes(irec(t, id), t->rsz) & (size - 1);
        while (ni[i]) i = (i + 1) & (size - 1);
        ni[i] = id + 1;
    }
    free(t->idx);
    t->idx = ni;
    t->mask = size - 1;
    return 1;
}

/* find or add; *id; *added = 1 when new */
static sob_status intern_put(intern *t, const void *key, uint32_t *id, int *added) {
    int64_t f = intern_find(t, key);
    if (added) *added = 0;
    if (f >= 0) {
        *id = (uint32_t)f;
        return SOB_OK;
    }
    if (t->len >= UINT32_MAX - 2) return SOB_E_LIMIT;
    if ((uint64_t)t->len == (uint64_t)t->nblk * IBLK) {
        if (t->nblk == t->cap_blk) {
            uint32_t cap = t->cap_blk ? t->cap_blk * 2 : 4;
            uint8_t **nb = realloc(t->blk, (size_t)cap * sizeof *nb);
            if (!nb) return SOB_E_NOMEM;
            t->blk = nb;
            t->cap_blk = cap;
        }
        uint8_t *b = malloc((size_t)IBLK * t->rsz);
        if (!b) return SOB_E_NOMEM;
        t->blk[t->nblk++] = b;
    }
    size_t size = t->idx ? t->mask + 1 : 0;
    if (((size_t)t->len + 1) * 2 > size && !intern_rehash(t, size ? size * 2 : 32)) return SOB_E_NOMEM;
    memcpy(irec(t, t->len), key, t->rsz);
    size_t i = (size_t)hash_bytes(key, t->rsz) & t->mask;
    while (t->idx[i]) i = (i + 1) & t->mask;
    t->idx[i] = t->len + 1;
    *id = t->len++;
    if (added) *added = 1;
    return SOB_OK;
}

/* Forget every name from `len` on (rollback of a failed ledger). The index keeps its size. */
static void intern_truncate(intern *t, uint32_t len) {
    if (len >= t->len) return;
    t->len = len;
    memset(t->idx, 0, (t->mask + 1) * sizeof *t->idx);
    for (uint32_t id = 0; id < t->len; id++) {
        size_t i = (size_t)hash_bytes(irec(t, id), t->rsz) & t->mask;
        while (t->idx[i]) i = (i + 1) & t->mask;
        t->idx[i] = id + 1;
    }
}

/* ---- the book --------------------------------------------------------------------------------- */

/* The offer index: offer id -> market, side, price and passive flag, 16 bytes a slot, open
 * addressing with linear probing at a load of at most 7/8 and a size that grows by 5/4 (any size:
 * the home slot is the id's hash scaled to the size), so a million offers take ~18-23 MB. It is
 * the only id index: each market's sob_offerbook asks it where an offer is
 * (sob_offerbook_set_locator), and an offer's seller is kept in the offer itself (its account key,
 * sob_offerbook_set_account_sellers).
 *
 * A slot does not hold the id, only 32 bits of its hash (a fingerprint, which also gives its home
 * slot): a slot whose fingerprint matches is the id's only if the market's book holds that id at
 * that side and price (sob_offerbook_find_at), so a lookup is exact. Two ids may then leave two
 * byte-identical slots (same fingerprint, market, side and price n/d): either one stands for
 * either, so a removal takes any slot equal to the one found. The passive flag, which would tell
 * such slots apart, is kept in a set of the passive offers' ids instead (dx->passive; passive
 * offers are few). n = 0 marks an empty slot (prices are > 0). Deletion shifts back. */
typedef struct offer_slot {
    uint32_t fp;  /* the id's hash, high 32 bits */
    int32_t n, d; /* the offer's price: its order key in its book is double(n)/double(d); n = 0: empty */
    uint32_t mf;  /* market (< 2^30) | side << 30 */
} offer_slot;

#define MF_MARKET 0x3fffffffu
#define MAX_MARKETS MF_MARKET

static inline int slot_empty(const offer_slot *s) { return s->n == 0; }
static inline uint32_t slot_market(const offer_slot *s) { return s->mf & MF_MARKET; }
static inline int slot_side(const offer_slot *s) { return (int)((s->mf >> 30) & 1u); }
static inline double slot_key(const offer_slot *s) { return (double)s->n / (double)s->d; } /* order key */

typedef struct offer_index {
    offer_slot *s; /* owned; size slots */
    size_t size, used;
} offer_index;

static inline uint32_t oi_fp(int64_t id) {
    uint64_t h = (uint64_t)id * 0x9e3779b97f4a7c15ULL;
    h ^= h >> 29;
    h *= 0xbf58476d1ce4e5b9ULL;
    h ^= h >> 32;
    return (uint32_t)(h >> 32);
}

static inline size_t oi_home(const offer_index *x, uint32_t fp) { return (size_t)(((uint64_t)fp * x->size) >> 32); }

static int oi_rehash(offer_index *x, size_t size) {
    offer_slot *ns = calloc(size, sizeof *ns);
    if (!ns) return 0;
    offer_index nx = {ns, size, 0};
    for (size_t i = 0; i < x->size; i++) {
        if (slot_empty(&x->s[i])) continue;
        size_t j = oi_home(&nx, x->s[i].fp);
        while (!slot_empty(&ns[j])) if (++j == size) j = 0;
        ns[j] = x->s[i];
        nx.used++;
    }
    free(x->s);
    *x = nx;
    return 1;
}

/* Room for `extra` more ids without a rehash: 1, or 0 when out of memory. */
static int oi_reserve(offer_index *x, size_t extra) {
    size_t need = x->used + extra;
    if (need < x->used || need > SIZE_MAX / 32) return 0;
    if (need <= x->size - x->size / 8 && x->size) return 1;
    size_t size = x->size ? x->size : 64;
    while (need > size - size / 8) size = size + size / 4; /* load stays in [0.7, 0.875] */
    if (size > UINT32_MAX) return 0; /* homes are fingerprints scaled to the size */
    return oi_rehash(x, size);
}

/* Insert a slot for an id the index does not hold (room reserved, or 0 when out of memory). */
static offer_slot *oi_insert(offer_index *x, int64_t id, int32_t n, int32_t d, uint32_t mf) {
    if (!oi_reserve(x, 1)) return NULL;
    uint32_t fp = oi_fp(id);
    size_t i = oi_home(x, fp);
    while (!slot_empty(&x->s[i])) if (++i == x->size) i = 0;
    x->s[i].fp = fp;
    x->s[i].n = n;
    x->s[i].d = d;
    x->s[i].mf = mf;
    x->used++;
    return &x->s[i];
}

static void oi_delete(offer_index *x, offer_slot *sl) {
    size_t i = (size_t)(sl - x->s), j = i;
    for (;;) {
        if (++j == x->size) j = 0;
        if (slot_empty(&x->s[j])) break;
        size_t home = oi_home(x, x->s[j].fp);
        int in_range = (i <= j) ? (home > i && home <= j) : (home > i || home <= j);
        if (!in_range) {
            x->s[i] = x->s[j];
            i = j;
        }
    }
    x->s[i].n = 0;
    x->used--;
}

typedef struct ostate {
    int64_t amount;
    int32_t n, d;
    uint32_t market, seller, flags;
    int32_t side;
    uint32_t sponsor; /* account index + 1 of the offer's sponsoringID; 0: none */
} ostate;

#define K_OFFER 1u
#define K_POOL 2u
#define K_ACCOUNT 3u
#define K_TRUSTLINE 4u

typedef struct touch {
    uint8_t kind, had, has, learned;
    uint32_t asset; /* trust lines */
    int64_t id;     /* offer id; pool / account index */
    union {
        ostate o;
        sob_dex_pool p;
        sob_account a;
        sob_trustline t;
    } before, cur;
} touch;

typedef struct level_acc {
    uint32_t market;
    int32_t side, n, d;
    sob_i128 delta;
} level_acc;

#define MBLK_SHIFT 8
#define MBLK (1u << MBLK_SHIFT)
#define MK(dx, i) (&(dx)->mblk[(i) >> MBLK_SHIFT][(i) & (MBLK - 1)])

struct sob_dexbook {
    intern assets;   /* sob_ledger_asset (normalised) -> asset id; id 0 is native */
    intern accounts; /* 32-byte key -> account index */
    intern pool_ids; /* 32-byte pool id -> pool index */
    sob_dex_pool *pools; /* owned; pool_ids.len entries */
    sob_pool *pview;     /* owned; pool_ids.len entries: each live pool as dex.h reads it (venues) */
    sob_dex_market **mblk; /* owned: blocks of MBLK markets (never moved: a market's address is stable) */
    uint32_t nmarkets, nblk, cap_blk;
    sob_hmap market_of; /* (base, counter) -> uint32 market */
    offer_index offer_of;
    sob_hmap passive; /* (offer id, 0) of every passive offer held */
    sob_hmap sponsor; /* (offer id, 0) -> uint32 account index of the sponsor of every sponsored
                       * offer held (CAP-33 sponsorship is rare: a side table, like passive) */
    /* the filter (sob_dexbook_set_filter): active when filtering = 1 */
    uint8_t filtering;
    uint32_t filter_accounts; /* accounts.len right after set_filter (the chosen assets' issuers) */
    sob_hmap f_assets;  /* (asset id, 0): chosen assets (a market of two of them is kept) */
    sob_hmap f_markets; /* (base, counter) asset ids: chosen markets */
    sob_hmap f_funds;   /* (asset id, 0): assets of kept markets: trust lines in them are kept */
    sob_hmap f_sellers; /* (account index, 0): sellers of offers of kept markets, ever seen */
    uint32_t *f_new;    /* scratch: sellers first seen by the running apply (undone on failure) */
    size_t f_nnew, f_capnew;
    sob_accounts acc;
    uint32_t ledger_seq;
    uint32_t protocol, base_reserve; /* of the last ledger applied (0: none yet) */
    uint8_t complete_all, broken;
    /* per-apply scratch */
    sob_hmap touched; /* (kind | asset << 8, id) -> uint32 index in touches */
    touch *touches;
    size_t ntouches, cap_touches;
    sob_hmap level_of; /* (market << 1 | side, n << 32 | d) -> uint32 index in levels */
    level_acc *levels;
    size_t nlevels, cap_levels;
};

/* The slot of offer `id` (NULL if the book holds no such offer) and, if `o` is not NULL, the offer:
 * the first slot of its fingerprint whose market's book holds the id at that side and price. */
static offer_slot *oi_find(const sob_dexbook *dx, int64_t id, const sob_offer **o) {
    const offer_index *x = &dx->offer_of;
    if (!x->size || id <= 0) return NULL;
    uint32_t fp = oi_fp(id);
    for (size_t i = oi_home(x, fp);;) {
        offer_slot *sl = &x->s[i];
        if (slot_empty(sl)) return NULL;
        if (sl->fp == fp && slot_market(sl) < dx->nmarkets) {
            const sob_offer *f =
                sob_offerbook_find_at(&MK(dx, slot_market(sl))->offers, id, slot_side(sl), slot_key(sl));
            if (f && f->n == sl->n && f->d == sl->d) {
                if (o) *o = f;
                return sl;
            }
        }
        if (++i == x->size) i = 0;
    }
}

/* The locator of every market's offerbook (sob_offer_locator). */
static int oi_locate(const void *ctx, int64_t id, int *side, double *key) {
    const offer_slot *sl = oi_find(ctx, id, NULL);
    if (!sl) return 0;
    *side = slot_side(sl);
    *key = slot_key(sl);
    return 1;
}

static void *grow_array(void *p, size_t *cap, size_t need, size_t rec) {
    if (need <= *cap) return p;
    size_t c = *cap ? *cap : 16;
    while (c < need) {
        if (c > SIZE_MAX / 2 / rec) return NULL;
        c *= 2;
    }
    void *np = realloc(p, c * rec);
    if (!np) return NULL;
    *cap = c;
    return np;
}

static void *vec_push(sob_dex_vec *v, size_t rec) {
    if (v->len == v->cap) {
        void *np = grow_array(v->v, &v->cap, v->len + 1, rec);
        if (!np) return NULL;
        v->v = np;
    }
    return (char *)v->v + rec * v->len++;
}

void sob_dex_result_init(sob_dex_result *r) { memset(r, 0, sizeof *r); }

void sob_dex_result_free(sob_dex_result *r) {
    free(r->offers_.v);
    free(r->levels_.v);
    free(r->pools_.v);
    free(r->trades_.v);
    free(r->drift_.v);
    memset(r, 0, sizeof *r);
}

static void result_reset(sob_dex_result *r) {
    r->offers_.len = r->levels_.len = r->pools_.len = r->trades_.len = r->drift_.len = 0;
    r->ledger_seq = 0;
    r->n_accounts = r->n_trustlines = 0;
    r->offers = NULL;
    r->levels = NULL;
    r->pools = NULL;
    r->trades = NULL;
    r->drift = NULL;
    r->n_offers = r->n_levels = r->n_pools = r->n_trades = r->n_drift = 0;
}

static void result_publish(sob_dex_result *r) {
    r->offers = r->offers_.v;
    r->n_offers = r->offers_.len;
    r->levels = r->levels_.v;
    r->n_levels = r->levels_.len;
    r->pools = r->pools_.v;
    r->n_pools = r->pools_.len;
    r->trades = r->trades_.v;
    r->n_trades = r->trades_.len;
    r->drift = r->drift_.v;
    r->n_drift = r->drift_.len;
}

sob_status sob_dexbook_new(sob_dexbook **out) {
    sob_dexbook *dx = calloc(1, sizeof *dx);
    if (!dx) return SOB_E_NOMEM;
    intern_init(&dx->assets, sizeof(sob_ledger_asset));
    intern_init(&dx->accounts, 32);
    intern_init(&dx->pool_ids, 32);
    sob_hmap_init(&dx->market_of, sizeof(uint32_t));
    sob_hmap_init(&dx->passive, 0);
    sob_hmap_init(&dx->sponsor, sizeof(uint32_t));
    sob_hmap_init(&dx->f_assets, 0);
    sob_hmap_init(&dx->f_markets, 0);
    sob_hmap_init(&dx->f_funds, 0);
    sob_hmap_init(&dx->f_sellers, 0);
    sob_hmap_init(&dx->touched, sizeof(uint32_t));
    sob_hmap_init(&dx->level_of, sizeof(uint32_t));
    sob_accounts_init(&dx->acc);
    sob_ledger_asset native;
    memset(&native, 0, sizeof native);
    uint32_t id;
    if (intern_put(&dx->assets, &native, &id, NULL) != SOB_OK) {
        sob_dexbook_free(dx);
        return SOB_E_NOMEM;
    }
    *out = dx;
    return SOB_OK;
}

void sob_dexbook_free(sob_dexbook *dx) {
    if (!dx) return;
    for (uint32_t i = 0; i < dx->nmarkets; i++) {
        sob_offerbook_free(&MK(dx, i)->offers);
        sob_book_free(&MK(dx, i)->l2);
    }
    for (uint32_t b = 0; b < dx->nblk; b++) free(dx->mblk[b]);
    free(dx->mblk);
    free(dx->pools);
    free(dx->pview);
    intern_free(&dx->assets);
    intern_free(&dx->accounts);
    intern_free(&dx->pool_ids);
    sob_hmap_free(&dx->market_of);
    free(dx->offer_of.s);
    sob_hmap_free(&dx->passive);
    sob_hmap_free(&dx->sponsor);
    sob_hmap_free(&dx->f_assets);
    sob_hmap_free(&dx->f_markets);
    sob_hmap_free(&dx->f_funds);
    sob_hmap_free(&dx->f_sellers);
    free(dx->f_new);
    sob_hmap_free(&dx->touched);
    sob_hmap_free(&dx->level_of);
    sob_accounts_free(&dx->acc);
    free(dx->touches);
    free(dx->levels);
    free(dx);
}

/* ---- phase 1 helpers ---------------------------------------------------------------------- */

typedef struct applyctx {
    sob_dexbook *dx;
    sob_dex_result *res;
    int seeding;
    uint32_t assets0, accounts0, pools0, markets0; /* name counts before: rollback points */
    size_t change; /* index of the change being walked (error offset) */
    const char *why;
} applyctx;

static sob_status fail(applyctx *c, sob_status st, const char *why) {
    c->why = why;
    return st;
}

static sob_status asset_id(applyctx *c, const sob_ledger_asset *a, uint32_t *id) {
    if (a->type > SOB_LEDGER_ASSET_ALPHANUM12) return fail(c, SOB_E_INVALID, "not a tradable asset");
    sob_ledger_asset k;
    memset(&k, 0, sizeof k);
    k.type = a->type;
    if (a->type != SOB_LEDGER_ASSET_NATIVE) {
        memcpy(k.code, a->code, a->type == SOB_LEDGER_ASSET_ALPHANUM4 ? 4 : 12);
        memcpy(k.issuer, a->issuer, 32);
    }
    int added = 0;
    sob_status st = intern_put(&c->dx->assets, &k, id, &added);
    if (st != SOB_OK) return fail(c, st, "asset table");
    if (added && a->type != SOB_LEDGER_ASSET_NATIVE) {
        /* the issuer gets an account index now, so that it is registered as the asset's issuer
         * (accounts.h) even if its account entry is seen later or never: core's issuer rules */
        uint32_t issuer;
        st = intern_put(&c->dx->accounts, k.issuer, &issuer, NULL);
        if (st == SOB_OK && issuer >= 0x7fffffffu) return fail(c, SOB_E_LIMIT, "too many accounts");
        if (st != SOB_OK) return fail(c, st, "account table");
    }
    return SOB_OK;
}

static sob_status account_index(applyctx *c, const uint8_t key[32], uint32_t *index) {
    sob_status st = intern_put(&c->dx->accounts, key, index, NULL);
    if (st == SOB_OK && *index >= 0x7fffffffu) return fail(c, SOB_E_LIMIT, "too many accounts");
    return st == SOB_OK ? SOB_OK : fail(c, st, "account table");
}

static sob_status market_of(applyctx *c, uint32_t a, uint32_t b, uint32_t *market) {
    sob_dexbook *dx = c->dx;
    if (a == b) return fail(c, SOB_E_INVALID, "an offer or pool with the same asset on both sides");
    uint32_t base = a < b ? a : b, counter = a < b ? b : a;
    uint32_t *m = sob_hmap_get(&dx->market_of, base, counter);
    if (m) {
        *market = *m;
        return SOB_OK;
    }
    if (dx->nmarkets >= MAX_MARKETS) return fail(c, SOB_E_LIMIT, "too many markets");
    if (dx->nmarkets == dx->nblk * MBLK) { /* a new block: markets never move */
        if (dx->nblk == dx->cap_blk) {
            uint32_t cap = dx->cap_blk ? dx->cap_blk * 2 : 4;
            sob_dex_market **nb = realloc(dx->mblk, (size_t)cap * sizeof *nb);
            if (!nb) return fail(c, SOB_E_NOMEM, "market table");
            dx->mblk = nb;
            dx->cap_blk = cap;
        }
        sob_dex_market *blk = malloc(MBLK * sizeof *blk);
        if (!blk) return fail(c, SOB_E_NOMEM, "market table");
        dx->mblk[dx->nblk++] = blk;
    }
    m = sob_hmap_insert_new(&dx->market_of, base, counter);
    if (!m) return fail(c, SOB_E_NOMEM, "market table");
    sob_dex_market *mk = MK(dx, dx->nmarkets);
    memset(mk, 0, sizeof *mk);
    mk->base = base;
    mk->counter = counter;
    mk->complete = dx->complete_all;
    mk->pool = SOB_DEX_NONE;
    sob_offerbook_init(&mk->offers);
    /* one id index for every market (the book's own hash would index each offer twice), and each
     * offer's seller as its accounts-table key: the key of account index i is i + 1 */
    sob_offerbook_set_locator(&mk->offers, oi_locate, dx);
    sob_offerbook_set_account_sellers(&mk->offers);
    sob_book_init(&mk->l2);
    *m = dx->nmarkets;
    *market = dx->nmarkets++;
    return SOB_OK;
}

static int market_complete(const sob_dexbook *dx, uint32_t market) {
    return market < dx->nmarkets ? MK(dx, market)->complete : dx->complete_all;
}

static sob_status offer_value(applyctx *c, const sob_ledger_offer *o, ostate *v) {
    if (o->offer_id <= 0) return fail(c, SOB_E_INVALID, "offer id <= 0");
    if (o->amount <= 0) return fail(c, SOB_E_INVALID, "offer amount <= 0");
    if (o->n <= 0 || o->d <= 0) return fail(c, SOB_E_INVALID, "offer price n or d <= 0");
    if (o->flags & ~1u) return fail(c, SOB_E_INVALID, "offer flags other than PASSIVE_FLAG");
    uint32_t s, b;
    sob_status st;
    if ((st = asset_id(c, &o->selling, &s)) || (st = asset_id(c, &o->buying, &b))) return st;
    memset(v, 0, sizeof *v);
    if ((st = market_of(c, s, b, &v->market))) return st;
    if ((st = account_index(c, o->seller, &v->seller))) return st;
    v->amount = o->amount;
    v->n = o->n;
    v->d = o->d;
    v->flags = o->flags;
    v->side = s < b ? SOB_SIDE_ASK : SOB_SIDE_BID;
    return SOB_OK;
}

static sob_status pool_value(applyctx *c, const sob_ledger_pool *p, sob_dex_pool *v) {
    if (p->reserve_a < 0 || p->reserve_b < 0 || p->total_shares < 0 || p->trustline_count < 0)
        return fail(c, SOB_E_INVALID, "pool reserve, shares or trust line count < 0");
    if (p->fee_bp < 0 || p->fee_bp > 10000) return fail(c, SOB_E_INVALID, "pool fee out of range");
    memset(v, 0, sizeof *v);
    sob_status st;
    if ((st = asset_id(c, &p->asset_a, &v->asset_a)) || (st = asset_id(c, &p->asset_b, &v->asset_b))) return st;
    if ((st = market_of(c, v->asset_a, v->asset_b, &v->market))) return st;
    v->live = 1;
    v->fee_bp = p->fee_bp;
    v->reserve_a = p->reserve_a;
    v->reserve_b = p->reserve_b;
    v->total_shares = p->total_shares;
    v->trustline_count = p->trustline_count;
    return SOB_OK;
}

static int ostate_eq(const ostate *a, const ostate *b) {
    return a->amount == b->amount && a->n == b->n && a->d == b->d && a->market == b->market &&
           a->seller == b->seller && a->flags == b->flags && a->side == b->side && a->sponsor == b->sponsor;
}

static int pool_eq(const sob_dex_pool *a, const sob_dex_pool *b) {
    return a->live == b->live && a->market == b->market && a->asset_a == b->asset_a && a->asset_b == b->asset_b &&
           a->fee_bp == b->fee_bp && a->reserve_a == b->reserve_a && a->reserve_b == b->reserve_b &&
           a->total_shares == b->total_shares && a->trustline_count == b->trustline_count;
}

/* The state the book holds for an offer now (outside of this ledger). */
static int book_offer(const sob_dexbook *dx, int64_t id, ostate *v) {
    const sob_offer *o;
    const offer_slot *r = oi_find(dx, id, &o);
    if (!r) return 0;
    memset(v, 0, sizeof *v);
    v->amount = o->amount;
    v->n = o->n;
    v->d = o->d;
    v->market = slot_market(r);
    v->seller = (uint32_t)(o->seller - 1);
    v->flags = sob_hmap_get(&dx->passive, (uint64_t)id, 0) != NULL;
    v->side = slot_side(r);
    const uint32_t *sp = sob_hmap_get(&dx->sponsor, (uint64_t)id, 0);
    v->sponsor = sp ? *sp + 1 : 0;
    return 1;
}

static sob_status touch_get(applyctx *c, unsigned kind, uint32_t asset, int64_t id, touch **out) {
    sob_dexbook *dx = c->dx;
    uint64_t k1 = kind | ((uint64_t)asset << 8);
    uint32_t *ix = sob_hmap_get(&dx->touched, k1, (uint64_t)id);
    if (ix) {
        *out = &dx->touches[*ix];
        return SOB_OK;
    }
    void *nt = grow_array(dx->touches, &dx->cap_touches, dx->ntouches + 1, sizeof *dx->touches);
    if (!nt) return fail(c, SOB_E_NOMEM, "scratch");
    dx->touches = nt;
    ix = sob_hmap_insert_new(&dx->touched, k1, (uint64_t)id);
    if (!ix) return fail(c, SOB_E_NOMEM, "scratch");
    *ix = (uint32_t)dx->ntouches;
    touch *t = &dx->touches[dx->ntouches++];
    memset(t, 0, sizeof *t);
    t->kind = (uint8_t)kind;
    t->asset = asset;
    t->id = id;
    switch (kind) {
    case K_OFFER:
        t->had = (uint8_t)book_offer(dx, id, &t->before.o);
        break;
    case K_POOL:
        t->had = (uint8_t)((uint32_t)id < c->pools0 && dx->pools[id].live);
        if (t->had) t->before.p = dx->pools[id];
        break;
    case K_ACCOUNT:
        t->had = sob_accounts_get_account(&dx->acc, (uint64_t)id + 1, &t->before.a) == SOB_OK;
        break;
    default:
        t->had = sob_accounts_get_trustline(&dx->acc, (uint64_t)id + 1, asset, &t->before.t) == SOB_OK;
        break;
    }
    t->has = t->had;
    t->cur = t->before;
    *out = t;
    return SOB_OK;
}

static sob_status drift(applyctx *c, uint32_t market, int entry_type, int kind, int64_t id, uint32_t asset) {
    sob_dex_drift *d = vec_push(&c->res->drift_, sizeof *d);
    if (!d) return fail(c, SOB_E_NOMEM, "result");
    memset(d, 0, sizeof *d);
    d->market = market;
    d->entry_type = (uint8_t)entry_type;
    d->kind = (uint8_t)kind;
    d->id = id;
    d->asset = asset;
    return SOB_OK;
}

/* ---- the filter ------------------------------------------------------------------------------ */

/* The id of an asset the book has named, or -1 (never adds a name). Types that are not tradable
 * give -2: such an entry is kept, so that it fails validation exactly as in an unfiltered book. */
static int64_t find_asset_id(const sob_dexbook *dx, const sob_ledger_asset *a) {
    if (a->type > SOB_LEDGER_ASSET_ALPHANUM12) return -2;
    sob_ledger_asset k;
    memset(&k, 0, sizeof k);
    k.type = a->type;
    if (a->type != SOB_LEDGER_ASSET_NATIVE) {
        memcpy(k.code, a->code, a->type == SOB_LEDGER_ASSET_ALPHANUM4 ? 4 : 12);
        memcpy(k.issuer, a->issuer, 32);
    }
    return intern_find(&dx->assets, &k);
}

static int pair_kept(const sob_dexbook *dx, const sob_ledger_asset *x, const sob_ledger_asset *y) {
    int64_t a = find_asset_id(dx, x), b = find_asset_id(dx, y);
    if (a == -2 || b == -2) return 1;
    if (a < 0 || b < 0) return 0; /* every asset of a kept market was named by set_filter */
    if (a == b) return 1;         /* invalid: fails validation as unfiltered */
    if (sob_hmap_get(&dx->f_assets, (uint64_t)a, 0) && sob_hmap_get(&dx->f_assets, (uint64_t)b, 0)) return 1;
    return sob_hmap_get(&dx->f_markets, (uint64_t)(a < b ? a : b), (uint64_t)(a < b ? b : a)) != NULL;
}

static int seller_kept(const sob_dexbook *dx, const uint8_t key[32]) {
    int64_t i = intern_find(&dx->accounts, key);
    return i >= 0 && sob_hmap_get(&dx->f_sellers, (uint64_t)i, 0) != NULL;
}

#define F_KEEP 0
#define F_DROP 1
#define F_AS_REMOVAL 2 /* an offer the book holds, moved (ManageOffer) to a market it does not keep */

/* What a filtered book does with this change: drops an offer or pool outside the kept markets (a
 * removal: one the book neither holds nor met in this ledger), an account that is no seller of a
 * kept market, a trust line of such an account or in an asset of no kept market. */
static int filtered_out(const sob_dexbook *dx, const sob_ledger_change *ch) {
    switch (ch->entry_type) {
    case SOB_ENTRY_OFFER: {
        int known = oi_find(dx, ch->u.offer.offer_id, NULL) ||
                    sob_hmap_get(&dx->touched, K_OFFER, (uint64_t)ch->u.offer.offer_id);
        if (ch->key_only) return known ? F_KEEP : F_DROP;
        if (pair_kept(dx, &ch->u.offer.selling, &ch->u.offer.buying)) return F_KEEP;
        return known ? F_AS_REMOVAL : F_DROP;
    }
    case SOB_ENTRY_LIQUIDITY_POOL:
        if (ch->key_only) return intern_find(&dx->pool_ids, ch->u.pool.pool_id) < 0; /* named only if kept */
        return !pair_kept(dx, &ch->u.pool.asset_a, &ch->u.pool.asset_b);
    case SOB_ENTRY_TRUSTLINE: {
        const sob_ledger_trustline *l = &ch->u.trustline;
        if (!seller_kept(dx, l->account)) return 1;
        int64_t a = find_asset_id(dx, &l->asset);
        if (a == -2) return l->asset.type == SOB_LEDGER_ASSET_POOL_SHARE; /* pool shares: never funds */
        return a < 0 || !sob_hmap_get(&dx->f_funds, (uint64_t)a, 0);
    }
    case SOB_ENTRY_ACCOUNT:
        return !seller_kept(dx, ch->u.account.account);
    default:
        return 0;
    }
}

/* Before a filtered walk: every seller of an offer of a kept market in these changes becomes a
 * kept account (from this ledger on), so that its account and trust lines of kept assets are
 * held whatever their order in the ledger. Undone with the ledger on failure (filter_undo). */
static sob_status filter_prescan(applyctx *c, const sob_ledger_change *chs, size_t n) {
    sob_dexbook *dx = c->dx;
    dx->f_nnew = 0;
    for (size_t i = 0; i < n; i++) {
        const sob_ledger_change *ch = &chs[i];
        if (ch->entry_type != SOB_ENTRY_OFFER || ch->key_only) continue;
        if (!pair_kept(dx, &ch->u.offer.selling, &ch->u.offer.buying)) continue;
        uint32_t idx;
        sob_status st = account_index(c, ch->u.offer.seller, &idx);
        if (st) return st;
        if (sob_hmap_get(&dx->f_sellers, idx, 0)) continue;
        void *nn = grow_array(dx->f_new, &dx->f_capnew, dx->f_nnew + 1, sizeof *dx->f_new);
        if (!nn) return fail(c, SOB_E_NOMEM, "scratch");
        dx->f_new = nn;
        if (!sob_hmap_insert_new(&dx->f_sellers, idx, 0)) return fail(c, SOB_E_NOMEM, "seller table");
        dx->f_new[dx->f_nnew++] = idx;
    }
    return SOB_OK;
}

static void filter_undo(sob_dexbook *dx) {
    for (size_t i = 0; i < dx->f_nnew; i++) sob_hmap_remove(&dx->f_sellers, dx->f_new[i], 0);
    dx->f_nnew = 0;
}

static sob_status walk_entry(applyctx *c, const sob_ledger_change *ch);

/* Walk one change into the overlay. */
static sob_status walk_change(applyctx *c, const sob_ledger_change *ch) {
    if (c->seeding && ch->key_only) return fail(c, SOB_E_INVALID, "a snapshot holds no removed entries");
    if (c->dx->filtering) {
        int f = filtered_out(c->dx, ch);
        if (f == F_DROP) return SOB_OK;
        if (f == F_AS_REMOVAL) { /* for this book the offer leaves: its key only */
            sob_ledger_change k;
            memset(&k, 0, sizeof k);
            k.change = SOB_CHANGE_REMOVED;
            k.entry_type = SOB_ENTRY_OFFER;
            k.phase = ch->phase;
            k.key_only = 1;
            k.tx_index = ch->tx_index;
            k.op_index = ch->op_index;
            memcpy(k.u.offer.seller, ch->u.offer.seller, 32);
            k.u.offer.offer_id = ch->u.offer.offer_id;
            return walk_entry(c, &k);
        }
    }
    return walk_entry(c, ch);
}

static sob_status walk_entry(applyctx *c, const sob_ledger_change *ch) {
    sob_dexbook *dx = c->dx;
    sob_status st;
    touch *t;
    uint32_t index, asset = 0;
    unsigned kind;
    int64_t id;
    union {
        ostate o;
        sob_dex_pool p;
        sob_account a;
        sob_trustline t;
    } v;
    uint32_t market = SOB_DEX_NONE;
    switch (ch->entry_type) {
    case SOB_ENTRY_OFFER:
        kind = K_OFFER;
        id = ch->u.offer.offer_id;
        if (!ch->key_only) {
            if ((st = offer_value(c, &ch->u.offer, &v.o))) return st;
            if (ch->has_sponsor) {
                uint32_t sp;
                if ((st = account_index(c, ch->sponsor, &sp))) return st;
                v.o.sponsor = sp + 1;
            }
            market = v.o.market;
        } else if (id <= 0) {
            return fail(c, SOB_E_INVALID, "offer id <= 0");
        }
        break;
    case SOB_ENTRY_LIQUIDITY_POOL:
        kind = K_POOL;
        if ((st = intern_put(&dx->pool_ids, ch->u.pool.pool_id, &index, NULL))) return fail(c, st, "pool table");
        id = index;
        if (!ch->key_only) {
            if ((st = pool_value(c, &ch->u.pool, &v.p))) return st;
            market = v.p.market;
        }
        break;
    case SOB_ENTRY_ACCOUNT:
        kind = K_ACCOUNT;
        if ((st = account_index(c, ch->u.account.account, &index))) return st;
        id = index;
        if (!ch->key_only) {
            const sob_ledger_account *a = &ch->u.account;
            memset(&v.a, 0, sizeof v.a);
            v.a.balance = a->balance;
            v.a.buying_liabilities = a->buying_liabilities;
            v.a.selling_liabilities = a->selling_liabilities;
            v.a.num_sub_entries = a->num_sub_entries;
            v.a.num_sponsoring = a->num_sponsoring;
            v.a.num_sponsored = a->num_sponsored;
            v.a.flags = a->flags;
            if (!sob_account_valid(&v.a)) return fail(c, SOB_E_INVALID, "account entry fails the funds checks");
        }
        break;
    case SOB_ENTRY_TRUSTLINE: {
        kind = K_TRUSTLINE;
        const sob_ledger_trustline *l = &ch->u.trustline;
        if (l->asset.type == SOB_LEDGER_ASSET_POOL_SHARE) return SOB_OK; /* pool shares: not funds */
        if (l->asset.type == SOB_LEDGER_ASSET_NATIVE) return fail(c, SOB_E_INVALID, "a native trust line");
        if ((st = asset_id(c, &l->asset, &asset)) || (st = account_index(c, l->account, &index))) return st;
        id = index;
        if (!ch->key_only) {
            memset(&v.t, 0, sizeof v.t);
            v.t.balance = l->balance;
            v.t.limit = l->limit;
            v.t.buying_liabilities = l->buying_liabilities;
            v.t.selling_liabilities = l->selling_liabilities;
            v.t.flags = l->flags;
            if (!sob_trustline_valid(&v.t)) return fail(c, SOB_E_INVALID, "trust line entry fails the funds checks");
        }
        break;
    }
    default:
        return SOB_OK;
    }
    if ((st = touch_get(c, kind, asset, id, &t))) return st;
    int etype = ch->entry_type;
    if (ch->key_only) { /* REMOVED, evicted */
        if (!t->has && dx->complete_all && (st = drift(c, SOB_DEX_NONE, etype, SOB_DRIFT_MISSING, id, asset)))
            return st;
        t->has = 0;
        return SOB_OK;
    }
    if (c->seeding) {
        memcpy(&t->cur, &v, sizeof v);
        t->has = 1;
        return SOB_OK;
    }
    int same = 0;
    if (t->has) {
        switch (kind) {
        case K_OFFER: same = ostate_eq(&t->cur.o, &v.o); break;
        case K_POOL: same = pool_eq(&t->cur.p, &v.p); break;
        case K_ACCOUNT: same = !memcmp(&t->cur.a, &v.a, sizeof v.a); break;
        default: same = !memcmp(&t->cur.t, &v.t, sizeof v.t); break;
        }
    }
    uint32_t dm = (kind == K_OFFER || kind == K_POOL) ? market : SOB_DEX_NONE;
    int complete = (kind == K_OFFER || kind == K_POOL) ? market_complete(dx, market) : dx->complete_all;
    switch (ch->change) {
    case SOB_CHANGE_STATE:
        if (t->has) {
            if (!same && (st = drift(c, dm, etype, SOB_DRIFT_DIFFERS, id, asset))) return st;
        } else if (complete) {
            if ((st = drift(c, dm, etype, SOB_DRIFT_MISSING, id, asset))) return st;
        } else if (!t->had) {
            t->learned = 1;
        }
        break;
    case SOB_CHANGE_CREATED:
        if (t->has && (st = drift(c, dm, etype, SOB_DRIFT_UNEXPECTED, id, asset))) return st;
        break;
    default: /* UPDATED, RESTORED */
        if (!t->has) {
            if (complete) {
                if ((st = drift(c, dm, etype, SOB_DRIFT_MISSING, id, asset))) return st;
            } else if (!t->had) {
                t->learned = 1;
            }
        }
        break;
    }
    memcpy(&t->cur, &v, sizeof v);
    t->has = 1;
    return SOB_OK;
}

/* ---- L2 ------------------------------------------------------------------------------------ */

static int32_t gcd32(int32_t a, int32_t b) {
    while (b) {
        int32_t t = a % b;
        a = b;
        b = t;
    }
    return a;
}

/* The L2 level of an offer: side, price counter per base (reduced). */
static void offer_level(const ostate *o, int32_t *n, int32_t *d) {
    int32_t g = gcd32(o->n, o->d);
    if (o->side == SOB_SIDE_ASK) {
        *n = o->n / g;
        *d = o->d / g;
    } else {
        *n = o->d / g;
        *d = o->n / g;
    }
}

static sob_status level_add(applyctx *c, const ostate *o, int sign) {
    sob_dexbook *dx = c->dx;
    int32_t n, d;
    offer_level(o, &n, &d);
    uint64_t k1 = ((uint64_t)o->market << 1) | (uint64_t)o->side;
    uint64_t k2 = ((uint64_t)(uint32_t)n << 32) | (uint32_t)d;
    uint32_t *ix = sob_hmap_get(&dx->level_of, k1, k2);
    if (!ix) {
        void *nl = grow_array(dx->levels, &dx->cap_levels, dx->nlevels + 1, sizeof *dx->levels);
        if (!nl) return fail(c, SOB_E_NOMEM, "scratch");
        dx->levels = nl;
        ix = sob_hmap_insert_new(&dx->level_of, k1, k2);
        if (!ix) return fail(c, SOB_E_NOMEM, "scratch");
        *ix = (uint32_t)dx->nlevels;
        level_acc *l = &dx->levels[dx->nlevels++];
        l->market = o->market;
        l->side = o->side;
        l->n = n;
        l->d = d;
        l->delta = 0;
    }
    dx->levels[*ix].delta += sign * (sob_i128)o->amount;
    return SOB_OK;
}

/* A level's amount in an L2 side (0 if absent): binary search on the worst-first run. */
static uint64_t level_amount(const sob_book *b, int side, int32_t n, int32_t d) {
    const sob_side *s = &b->side[side];
    size_t lo = 0, hi = s->len;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        const sob_level *l = &s->lv[mid];
        int cmp = sob_price_cmp(l->n, l->d, n, d);
        if (side == SOB_SIDE_ASK) cmp = -cmp; /* asks: worst (highest) first */
        if (cmp == 0) return l->amount;
        if (cmp < 0) lo = mid + 1; /* bids worst (lowest) first: l below the target */
        else hi = mid;
    }
    return 0;
}

/* ---- commit / undo of offers -------------------------------------------------------------- */

/* Make the book hold `v` for offer `id` (or nothing when !has), whatever it holds now in markets
 * m1/m2. Removal never fails; an add may run out of memory. */
static sob_status force_offer(sob_dexbook *dx, int64_t id, int has, const ostate *v) {
    /* the slot goes with the offer: found (verified) while the offer is in its book */
    offer_slot *r = oi_find(dx, id, NULL);
    if (r) {
        uint32_t m = slot_market(r);
        offer_slot old = *r;
        sob_offerbook_remove(&MK(dx, m)->offers, id, NULL, NULL); /* never fails: it is there */
        /* the removal does not move slots: r still holds `old` (or an equal slot) */
        if (r->fp != old.fp || r->n != old.n || r->d != old.d || r->mf != old.mf) return SOB_E_INVALID;
        oi_delete(&dx->offer_of, r);
        sob_hmap_remove(&dx->passive, (uint64_t)id, 0);
        sob_hmap_remove(&dx->sponsor, (uint64_t)id, 0);
    }
    if (!has) return SOB_OK;
    /* the index first: the market's book finds the offer through it */
    r = oi_insert(&dx->offer_of, id, v->n, v->d, v->market | ((uint32_t)v->side << 30));
    if (!r) return SOB_E_NOMEM; /* cannot happen: reserved in phase 1 */
    sob_status st =
        sob_offerbook_add(&MK(dx, v->market)->offers, id, v->side, v->n, v->d, v->amount, (uint64_t)v->seller + 1);
    if (st == SOB_OK && v->flags && !sob_hmap_insert_new(&dx->passive, (uint64_t)id, 0)) { /* reserved */
        sob_offerbook_remove(&MK(dx, v->market)->offers, id, NULL, NULL);
        st = SOB_E_NOMEM;
    }
    if (st == SOB_OK && v->sponsor) {
        uint32_t *sp = sob_hmap_insert_new(&dx->sponsor, (uint64_t)id, 0); /* reserved */
        if (sp) {
            *sp = v->sponsor - 1;
        } else {
            sob_offerbook_remove(&MK(dx, v->market)->offers, id, NULL, NULL);
            sob_hmap_remove(&dx->passive, (uint64_t)id, 0);
            st = SOB_E_NOMEM;
        }
    }
    if (st != SOB_OK) oi_delete(&dx->offer_of, r); /* nothing moved it: no insert since */
    return st;
}

static int offer_changed(const touch *t) {
    return t->had != t->has || (t->has && !ostate_eq(&t->before.o, &t->cur.o));
}

/* ---- apply ------------------------------------------------------------------------------------ */

static void rollback_names(applyctx *c) {
    sob_dexbook *dx = c->dx;
    while (dx->nmarkets > c->markets0) {
        dx->nmarkets--;
        sob_dex_market *m = MK(dx, dx->nmarkets);
        sob_hmap_remove(&dx->market_of, m->base, m->counter);
        sob_offerbook_free(&m->offers);
        sob_book_free(&m->l2);
    }
    intern_truncate(&dx->assets, c->assets0);
    intern_truncate(&dx->accounts, c->accounts0);
    intern_truncate(&dx->pool_ids, c->pools0);
}

static void scratch_reset(sob_dexbook *dx) {
    sob_hmap_clear(&dx->touched);
    sob_hmap_clear(&dx->level_of);
    dx->ntouches = 0;
    dx->nlevels = 0;
}

/* Give back the per-apply scratch: a seed (a snapshot of any size) is a one-off, unlike ledgers. */
static void scratch_release(sob_dexbook *dx) {
    sob_hmap_free(&dx->touched);
    sob_hmap_free(&dx->level_of);
    sob_hmap_init(&dx->touched, sizeof(uint32_t));
    sob_hmap_init(&dx->level_of, sizeof(uint32_t));
    free(dx->touches);
    free(dx->levels);
    dx->touches = NULL;
    dx->levels = NULL;
    dx->ntouches = dx->cap_touches = dx->nlevels = dx->cap_levels = 0;
}

static sob_status run(sob_dexbook *dx, const sob_ledger_change *chs, size_t nch, const sob_ledger_out *led,
                      int seeding, uint32_t seq, sob_dex_result *res, sob_ledger_error *err) {
    applyctx c;
    memset(&c, 0, sizeof c);
    c.dx = dx;
    c.res = res;
    c.seeding = seeding;
    c.assets0 = dx->assets.len;
    c.accounts0 = dx->accounts.len;
    c.pools0 = dx->pool_ids.len;
    c.markets0 = dx->nmarkets;
    scratch_reset(dx);
    result_reset(res);
    sob_status st = SOB_OK;
    size_t i = 0;
    dx->f_nnew = 0;
    if (dx->filtering && (st = filter_prescan(&c, chs, nch))) goto fail;
    /* phase 1 */
    for (; i < nch; i++) {
        if ((st = walk_change(&c, &chs[i]))) goto fail;
    }
    i = nch;
    /* the pool array follows the pool names */
    if (dx->pool_ids.len > c.pools0) {
        sob_dex_pool *np = realloc(dx->pools, (size_t)dx->pool_ids.len * sizeof *np);
        if (!np) {
            st = fail(&c, SOB_E_NOMEM, "pool table");
            goto fail;
        }
        dx->pools = np;
        memset(np + c.pools0, 0, (size_t)(dx->pool_ids.len - c.pools0) * sizeof *np);
        sob_pool *nv = realloc(dx->pview, (size_t)dx->pool_ids.len * sizeof *nv);
        if (!nv) {
            st = fail(&c, SOB_E_NOMEM, "pool table");
            goto fail;
        }
        dx->pview = nv;
        memset(nv + c.pools0, 0, (size_t)(dx->pool_ids.len - c.pools0) * sizeof *nv);
    }
    size_t new_offers = 0, new_accounts = 0, new_trustlines = 0, passive_offers = 0, sponsored_offers = 0;
    for (size_t k = 0; k < dx->ntouches; k++) {
        const touch *t = &dx->touches[k];
        if (t->kind == K_OFFER && offer_changed(t)) {
            new_offers += !t->had && t->has;
            passive_offers += t->has && t->cur.o.flags;
            sponsored_offers += t->has && t->cur.o.sponsor;
            if (t->had && (st = level_add(&c, &t->before.o, -1))) goto fail;
            if (t->has && (st = level_add(&c, &t->cur.o, +1))) goto fail;
            if (!vec_push(&res->offers_, sizeof(sob_dex_offer_event))) goto nomem;
        } else if (t->kind == K_POOL) {
            if (!vec_push(&res->pools_, sizeof(sob_dex_pool_event))) goto nomem;
        } else if (t->kind == K_ACCOUNT) {
            new_accounts += !t->had && t->has;
        } else if (t->kind == K_TRUSTLINE) {
            new_trustlines += !t->had && t->has;
        }
    }
    res->offers_.len = res->pools_.len = 0; /* capacity reserved */
    if (!oi_reserve(&dx->offer_of, new_offers) || !sob_hmap_reserve(&dx->passive, passive_offers) ||
        !sob_hmap_reserve(&dx->sponsor, sponsored_offers) ||
        !sob_hmap_reserve(&dx->acc.accounts, new_accounts) ||
        !sob_hmap_reserve(&dx->acc.trustlines, new_trustlines) ||
        !sob_hmap_reserve(&dx->acc.issuers, dx->assets.len - c.assets0))
        goto nomem;
    /* net L2 levels: checked before anything changes */
    for (size_t k = 0; k < dx->nlevels; k++) {
        const level_acc *l = &dx->levels[k];
        if (l->delta == 0) continue;
        uint64_t old = level_amount(&MK(dx, l->market)->l2, l->side, l->n, l->d);
        sob_i128 nw = (sob_i128)old + l->delta;
        if (nw < 0) {
            st = fail(&c, SOB_E_INVALID, "internal: an L2 level would go negative");
            goto fail;
        }
        if (nw > (sob_i128)UINT64_MAX) {
            st = fail(&c, SOB_E_OVERFLOW, "an L2 level's total passes 2^64 - 1 stroops");
            goto fail;
        }
        sob_dex_level_event *e = vec_push(&res->levels_, sizeof *e);
        if (!e) goto nomem;
        e->market = l->market;
        e->side = l->side;
        e->n = l->n;
        e->d = l->d;
        e->old_amount = old;
        e->new_amount = (uint64_t)nw;
    }
    if (led) {
        for (size_t k = 0; k < led->n_trades; k++) {
            const sob_ledger_trade *tr = &led->trades[k];
            sob_dex_trade_event *e = vec_push(&res->trades_, sizeof *e);
            if (!e) goto nomem;
            e->trade = (uint32_t)k;
            e->market = SOB_DEX_NONE;
            uint32_t a, b;
            if (sob_dexbook_find_asset(dx, &tr->asset_sold, &a) == SOB_OK &&
                sob_dexbook_find_asset(dx, &tr->asset_bought, &b) == SOB_OK && a != b) {
                uint32_t *m = sob_hmap_get(&dx->market_of, a < b ? a : b, a < b ? b : a);
                if (m) e->market = *m;
            }
            if (dx->filtering && e->market == SOB_DEX_NONE) res->trades_.len--; /* not a kept market's */
        }
    }

    /* phase 2: offers (may run out of memory: undone), then L2 (likewise), then the rest */
    size_t k = 0;
    for (; k < dx->ntouches; k++) {
        const touch *t = &dx->touches[k];
        if (t->kind != K_OFFER || !offer_changed(t)) continue;
        if ((st = force_offer(dx, t->id, t->has, &t->cur.o))) break;
    }
    if (st) {
        for (size_t u = 0; u <= k && u < dx->ntouches; u++) {
            const touch *t = &dx->touches[u];
            if (t->kind != K_OFFER || !offer_changed(t)) continue;
                if (force_offer(dx, t->id, t->had, &t->before.o)) dx->broken = 1;
        }
        c.why = "out of memory";
        goto fail;
    }
    size_t nl = res->levels_.len;
    sob_dex_level_event *lev = res->levels_.v;
    for (k = 0; k < nl; k++) {
        sob_level prev;
        if ((st = sob_book_set_level(&MK(dx, lev[k].market)->l2, lev[k].side, lev[k].n, lev[k].d,
                                     lev[k].new_amount, &prev)))
            break;
    }
    if (st) {
        for (size_t u = 0; u < k; u++)
            if (sob_book_set_level(&MK(dx, lev[u].market)->l2, lev[u].side, lev[u].n, lev[u].d,
                                   lev[u].old_amount, NULL))
                dx->broken = 1;
        for (size_t u = 0; u < dx->ntouches; u++) {
            const touch *t = &dx->touches[u];
            if (t->kind != K_OFFER || !offer_changed(t)) continue;
                if (force_offer(dx, t->id, t->had, &t->before.o)) dx->broken = 1;
        }
        c.why = "out of memory";
        goto fail;
    }
    /* nothing below can fail: memory was reserved */
    for (k = 0; k < dx->ntouches; k++) {
        const touch *t = &dx->touches[k];
        switch (t->kind) {
        case K_OFFER: {
            if (!offer_changed(t)) break;
            sob_dex_offer_event *e = vec_push(&res->offers_, sizeof *e); /* reserved */
            memset(e, 0, sizeof *e);
            const ostate *o = t->has ? &t->cur.o : &t->before.o;
            e->market = o->market;
            e->kind = !t->had && t->has ? SOB_DEX_ADDED : t->has ? SOB_DEX_UPDATED : SOB_DEX_REMOVED;
            e->side = (uint8_t)o->side;
            e->learned = t->learned;
            e->seller = o->seller;
            e->offer_id = t->id;
            e->n = o->n;
            e->d = o->d;
            e->old_amount = t->had ? t->before.o.amount : 0;
            e->new_amount = t->has ? t->cur.o.amount : 0;
            break;
        }
        case K_POOL: {
            const sob_dex_pool *b = t->had ? &t->before.p : NULL, *a = t->has ? &t->cur.p : NULL;
            if (t->had == t->has && (!t->has || pool_eq(b, a))) break;
            sob_dex_pool_event *e = vec_push(&res->pools_, sizeof *e); /* reserved */
            memset(e, 0, sizeof *e);
            e->pool = (uint32_t)t->id;
            e->market = (a ? a : b)->market;
            e->kind = !t->had ? SOB_DEX_ADDED : t->has ? SOB_DEX_UPDATED : SOB_DEX_REMOVED;
            if (b) {
                e->old_reserve_a = b->reserve_a;
                e->old_reserve_b = b->reserve_b;
                if (!a) MK(dx, b->market)->npools--;
            }
            if (b && MK(dx, b->market)->pool == (uint32_t)t->id) MK(dx, b->market)->pool = SOB_DEX_NONE;
            if (a) {
                e->new_reserve_a = a->reserve_a;
                e->new_reserve_b = a->reserve_b;
                if (!b) MK(dx, a->market)->npools++;
                dx->pools[t->id] = *a;
                dx->pview[t->id] = (sob_pool){a->reserve_a, a->reserve_b, a->fee_bp, 0};
                if (a->fee_bp == SOB_LIQUIDITY_POOL_FEE && MK(dx, a->market)->pool == SOB_DEX_NONE)
                    MK(dx, a->market)->pool = (uint32_t)t->id;
            } else {
                dx->pools[t->id].live = 0;
            }
            break;
        }
        case K_ACCOUNT:
            if (t->has) {
                if (sob_accounts_set_account(&dx->acc, (uint64_t)t->id + 1, &t->cur.a)) dx->broken = 1;
            } else if (t->had) {
                sob_accounts_remove_account(&dx->acc, (uint64_t)t->id + 1);
            }
            res->n_accounts += t->has || t->had;
            break;
        default:
            if (t->has) {
                if (sob_accounts_set_trustline(&dx->acc, (uint64_t)t->id + 1, t->asset, &t->cur.t)) dx->broken = 1;
            } else if (t->had) {
                sob_accounts_remove_trustline(&dx->acc, (uint64_t)t->id + 1, t->asset);
            }
            res->n_trustlines += t->has || t->had;
            break;
        }
    }
    /* a market whose trading pool left: another live one of its pair, if any (only a hand-made
     * ledger holds two: on the network the pool id is the hash of the pair and the fee) */
    for (k = 0; k < dx->ntouches; k++) {
        const touch *t = &dx->touches[k];
        if (t->kind != K_POOL || !t->had || MK(dx, t->before.p.market)->pool != SOB_DEX_NONE) continue;
        for (uint32_t p = 0; p < dx->pool_ids.len; p++)
            if (dx->pools[p].live && dx->pools[p].market == t->before.p.market &&
                dx->pools[p].fee_bp == SOB_LIQUIDITY_POOL_FEE) {
                MK(dx, t->before.p.market)->pool = p;
                break;
            }
    }
    /* issuers of the assets first seen in this ledger */
    for (uint32_t a = c.assets0; a < dx->assets.len; a++) {
        const sob_ledger_asset *as = sob_dexbook_asset(dx, a);
        int64_t acct = intern_find(&dx->accounts, as->issuer);
        if (acct >= 0) sob_accounts_set_issuer(&dx->acc, a, (uint64_t)acct + 1);
    }
    res->ledger_seq = seq;
    if (led) {
        dx->protocol = led->header.protocol_version;
        dx->base_reserve = led->header.base_reserve;
    }
    result_publish(res);
    scratch_reset(dx);
    return SOB_OK;

nomem:
    st = fail(&c, SOB_E_NOMEM, "out of memory");
fail:
    filter_undo(dx);
    rollback_names(&c);
    scratch_reset(dx);
    result_reset(res);
    if (err) {
        err->offset = i;
        err->reason = c.why ? c.why : "invalid";
    }
    return st;
}

sob_status sob_dexbook_apply(sob_dexbook *dx, const sob_ledger_out *led, unsigned flags, sob_dex_result *res,
                             sob_ledger_error *err) {
    result_reset(res);
    if (dx->broken) {
        if (err) {
            err->offset = 0;
            err->reason = "the book is broken (out of memory during an undo): reseed it";
        }
        return SOB_E_LIMIT;
    }
    uint32_t seq = led->header.ledger_seq;
    int gap = dx->ledger_seq != 0 && seq != dx->ledger_seq + 1;
    if (gap && !(flags & SOB_DEX_RESYNC)) {
        if (err) {
            err->offset = 0;
            err->reason = "ledger gap: not the next ledger";
        }
        return SOB_E_MISMATCH;
    }
    uint8_t complete_all = dx->complete_all;
    uint8_t *saved = NULL;
    if (gap && complete_all) dx->complete_all = 0; /* walk as an incomplete book */
    if (gap) {
        saved = malloc(dx->nmarkets ? dx->nmarkets : 1);
        if (!saved) {
            dx->complete_all = complete_all;
            return SOB_E_NOMEM;
        }
        for (uint32_t m = 0; m < dx->nmarkets; m++) {
            saved[m] = MK(dx, m)->complete;
            MK(dx, m)->complete = 0;
        }
    }
    uint32_t nm = dx->nmarkets;
    sob_status st = run(dx, led->changes, led->n_changes, led, 0, seq, res, err);
    if (st == SOB_OK) {
        dx->ledger_seq = seq;
    } else if (gap) {
        dx->complete_all = complete_all;
        for (uint32_t m = 0; m < nm && m < dx->nmarkets; m++) MK(dx, m)->complete = saved[m];
    }
    free(saved);
    return st;
}

sob_status sob_dexbook_seed(sob_dexbook *dx, const sob_ledger_change *ch, size_t n, uint32_t ledger_seq, int complete,
                            sob_ledger_error *err) {
    if (dx->broken && !complete) {
        if (err) {
            err->offset = 0;
            err->reason = "the book is broken: seed a full snapshot into a new book";
        }
        return SOB_E_LIMIT;
    }
    if (complete && (dx->offer_of.used || dx->nmarkets || dx->accounts.len > dx->filter_accounts || dx->pool_ids.len)) {
        if (err) {
            err->offset = 0;
            err->reason = "a full snapshot is loaded into an empty book";
        }
        return SOB_E_INVALID;
    }
    sob_dex_result scratch;
    sob_dex_result_init(&scratch);
    if (complete) dx->complete_all = 1;
    sob_status st = run(dx, ch, n, NULL, 1, ledger_seq, &scratch, err);
    size_t scratch_bytes = dx->cap_touches * sizeof(touch) + dx->cap_levels * sizeof(level_acc) +
                           (dx->touched.mask + 1) * dx->touched.slot_size +
                           (dx->level_of.mask + 1) * dx->level_of.slot_size;
    sob_dex_result_free(&scratch);
    scratch_release(dx);
#if defined(__GLIBC__)
    /* A seed is a bulk load: its scratch (touches, level sums, events: ~0.6 KB a change) was freed
     * above, but glibc keeps freed memory inside its heap as holes between the book's own blocks
     * (once a freed mmap'd block, e.g. an outgrown offer index, raised its mmap threshold, scratch
     * of that size comes from the heap). Give those pages back: 104 -> 98 bytes an offer by RSS for
     * 1,000,000 offers seeded in batches of 10,000 (build/ctest/bench_dexbook). Ledgers (apply)
     * keep their scratch and never trim; nor does a small seed (its pages would only be faulted in
     * again by the next ledger). */
    if (scratch_bytes >= ((size_t)1 << 20)) malloc_trim(0);
#endif
    if (st) {
        if (complete) dx->complete_all = 0;
        return st;
    }
    if (complete)
        for (uint32_t m = 0; m < dx->nmarkets; m++) MK(dx, m)->complete = 1;
    dx->ledger_seq = ledger_seq;
    return SOB_OK;
}

void sob_dexbook_release_heap(void) {
#if defined(__GLIBC__)
    malloc_trim(0);
#endif
}

/* ---- reads ---------------------------------------------------------------------------------- */

uint32_t sob_dexbook_ledger_seq(const sob_dexbook *dx) { return dx->ledger_seq; }
int sob_dexbook_broken(const sob_dexbook *dx) { return dx->broken; }
size_t sob_dexbook_offer_count(const sob_dexbook *dx) { return dx->offer_of.used; }
uint32_t sob_dexbook_market_count(const sob_dexbook *dx) { return dx->nmarkets; }
uint32_t sob_dexbook_pool_count(const sob_dexbook *dx) { return dx->pool_ids.len; }
uint32_t sob_dexbook_asset_count(const sob_dexbook *dx) { return dx->assets.len; }
uint32_t sob_dexbook_account_count(const sob_dexbook *dx) { return dx->accounts.len; }

const sob_dex_market *sob_dexbook_market(const sob_dexbook *dx, uint32_t market) {
    return market < dx->nmarkets ? MK(dx, market) : NULL;
}

sob_status sob_dexbook_find_asset(const sob_dexbook *dx, const sob_ledger_asset *a, uint32_t *id) {
    if (a->type > SOB_LEDGER_ASSET_ALPHANUM12) return SOB_E_NOT_FOUND;
    sob_ledger_asset k;
    memset(&k, 0, sizeof k);
    k.type = a->type;
    if (a->type != SOB_LEDGER_ASSET_NATIVE) {
        memcpy(k.code, a->code, a->type == SOB_LEDGER_ASSET_ALPHANUM4 ? 4 : 12);
        memcpy(k.issuer, a->issuer, 32);
    }
    int64_t f = intern_find(&dx->assets, &k);
    if (f < 0) return SOB_E_NOT_FOUND;
    *id = (uint32_t)f;
    return SOB_OK;
}

sob_status sob_dexbook_find_market(const sob_dexbook *dx, const sob_ledger_asset *base, const sob_ledger_asset *counter,
                                   uint32_t *market, int *flipped) {
    uint32_t a, b;
    if (sob_dexbook_find_asset(dx, base, &a) || sob_dexbook_find_asset(dx, counter, &b) || a == b)
        return SOB_E_NOT_FOUND;
    const uint32_t *m = sob_hmap_get(&dx->market_of, a < b ? a : b, a < b ? b : a);
    if (!m) return SOB_E_NOT_FOUND;
    *market = *m;
    *flipped = a > b;
    return SOB_OK;
}

int sob_dexbook_best(const sob_dexbook *dx, uint32_t market, int flipped, int side, sob_level *out) {
    if (market >= dx->nmarkets || (side != SOB_SIDE_BID && side != SOB_SIDE_ASK)) return 0;
    const sob_level *l = sob_book_best(&MK(dx, market)->l2, flipped ? 1 - side : side);
    if (!l) return 0;
    if (flipped) {
        out->n = l->d;
        out->d = l->n;
    } else {
        out->n = l->n;
        out->d = l->d;
    }
    out->amount = l->amount;
    return 1;
}

const sob_ledger_asset *sob_dexbook_asset(const sob_dexbook *dx, uint32_t id) {
    return id < dx->assets.len ? (const sob_ledger_asset *)irec(&dx->assets, id) : NULL;
}

const uint8_t *sob_dexbook_account_key(const sob_dexbook *dx, uint32_t index) {
    return index < dx->accounts.len ? irec(&dx->accounts, index) : NULL;
}

sob_status sob_dexbook_find_account(const sob_dexbook *dx, const uint8_t key[32], uint32_t *index) {
    int64_t f = intern_find(&dx->accounts, key);
    if (f < 0) return SOB_E_NOT_FOUND;
    *index = (uint32_t)f;
    return SOB_OK;
}

sob_status sob_dexbook_offer(const sob_dexbook *dx, int64_t offer_id, uint32_t *market, uint32_t *seller,
                             uint32_t *flags, int *side, sob_offer *out) {
    const sob_offer *o;
    const offer_slot *r = oi_find(dx, offer_id, &o);
    if (!r) return SOB_E_NOT_FOUND;
    *out = *o;
    *side = slot_side(r);
    *market = slot_market(r);
    *seller = (uint32_t)(o->seller - 1);
    *flags = sob_hmap_get(&dx->passive, (uint64_t)offer_id, 0) != NULL;
    return SOB_OK;
}

sob_status sob_dexbook_set_filter(sob_dexbook *dx, const sob_ledger_asset *assets, size_t n_assets,
                                  const sob_ledger_asset *pairs, size_t n_markets, sob_ledger_error *err) {
    applyctx c;
    memset(&c, 0, sizeof c);
    c.dx = dx;
    c.assets0 = dx->assets.len;
    c.accounts0 = dx->accounts.len;
    c.pools0 = dx->pool_ids.len;
    c.markets0 = dx->nmarkets;
    sob_status st = SOB_OK;
    size_t i = 0;
    if (dx->filtering || dx->ledger_seq || dx->nmarkets || dx->offer_of.used || dx->pool_ids.len ||
        dx->accounts.len) {
        if (err) {
            err->offset = 0;
            err->reason = "a filter is set once, on a new book";
        }
        return SOB_E_INVALID;
    }
    for (i = 0; i < n_assets; i++) {
        uint32_t id;
        if ((st = asset_id(&c, &assets[i], &id))) goto out;
        if (!sob_hmap_put(&dx->f_assets, id, 0, NULL) || !sob_hmap_put(&dx->f_funds, id, 0, NULL)) {
            st = fail(&c, SOB_E_NOMEM, "filter");
            goto out;
        }
    }
    for (size_t k = 0; k < n_markets; k++, i++) {
        uint32_t a, b;
        if ((st = asset_id(&c, &pairs[2 * k], &a)) || (st = asset_id(&c, &pairs[2 * k + 1], &b))) goto out;
        if (a == b) {
            st = fail(&c, SOB_E_INVALID, "a market of one asset");
            goto out;
        }
        if (!sob_hmap_put(&dx->f_markets, a < b ? a : b, a < b ? b : a, NULL) ||
            !sob_hmap_put(&dx->f_funds, a, 0, NULL) || !sob_hmap_put(&dx->f_funds, b, 0, NULL)) {
            st = fail(&c, SOB_E_NOMEM, "filter");
            goto out;
        }
    }
    dx->filtering = 1;
    dx->filter_accounts = dx->accounts.len;
out:
    if (st) {
        rollback_names(&c);
        sob_hmap_clear(&dx->f_assets);
        sob_hmap_clear(&dx->f_markets);
        sob_hmap_clear(&dx->f_funds);
        if (err) {
            err->offset = i;
            err->reason = c.why ? c.why : "invalid";
        }
    }
    return st;
}

int sob_dexbook_filtering(const sob_dexbook *dx) { return dx->filtering; }

sob_status sob_dexbook_offer_sponsor(const sob_dexbook *dx, int64_t offer_id, uint32_t *sponsor) {
    if (!oi_find(dx, offer_id, NULL)) return SOB_E_NOT_FOUND;
    const uint32_t *sp = sob_hmap_get(&dx->sponsor, (uint64_t)offer_id, 0);
    *sponsor = sp ? *sp : SOB_DEX_NONE;
    return SOB_OK;
}

const sob_dex_pool *sob_dexbook_pool(const sob_dexbook *dx, uint32_t index) {
    return index < dx->pool_ids.len ? &dx->pools[index] : NULL;
}

const uint8_t *sob_dexbook_pool_id(const sob_dexbook *dx, uint32_t index) {
    return index < dx->pool_ids.len ? irec(&dx->pool_ids, index) : NULL;
}

const sob_accounts *sob_dexbook_accounts(const sob_dexbook *dx) { return &dx->acc; }

sob_status sob_dexbook_venue(const sob_dexbook *dx, uint32_t send, uint32_t recv, sob_venue *out) {
    memset(out, 0, sizeof *out);
    out->side = SOB_SIDE_ASK;
    if (send == recv || send >= dx->assets.len || recv >= dx->assets.len) return SOB_E_INVALID;
    const uint32_t *m = sob_hmap_get(&dx->market_of, send < recv ? send : recv, send < recv ? recv : send);
    if (!m) return SOB_E_NOT_FOUND;
    const sob_dex_market *mk = MK(dx, *m);
    /* ASK offers sell base: they are the ones a taker receiving base crosses */
    out->side = recv == mk->base ? SOB_SIDE_ASK : SOB_SIDE_BID;
    out->book = &mk->offers;
    if (mk->pool != SOB_DEX_NONE) {
        const sob_dex_pool *p = &dx->pools[mk->pool];
        out->pool = &dx->pview[mk->pool];
        out->pool_a_is_send = p->asset_a == send;
    }
    return SOB_OK;
}

void sob_dexbook_ctx(const sob_dexbook *dx, sob_dex_ctx *ctx) {
    sob_dex_ctx_init(ctx);
    ctx->accounts = &dx->acc;
    if (dx->protocol >= SOB_PROTOCOL_MIN) ctx->protocol = dx->protocol;
    if (dx->base_reserve) ctx->base_reserve = dx->base_reserve;
}

size_t sob_dexbook_memory(const sob_dexbook *dx) {
    size_t m = sizeof *dx;
    const intern *in[3] = {&dx->assets, &dx->accounts, &dx->pool_ids};
    for (int k = 0; k < 3; k++)
        m += (size_t)in[k]->nblk * IBLK * in[k]->rsz + (size_t)in[k]->cap_blk * sizeof(void *) +
             (in[k]->idx ? (in[k]->mask + 1) * 4 : 0);
    m += (size_t)dx->pool_ids.len * (sizeof(sob_dex_pool) + sizeof(sob_pool));
    m += (size_t)dx->nblk * MBLK * sizeof(sob_dex_market) + (size_t)dx->cap_blk * sizeof(void *);
    m += (dx->market_of.slots ? (dx->market_of.mask + 1) * dx->market_of.slot_size : 0);
    m += dx->offer_of.size * sizeof(offer_slot);
    m += dx->passive.slots ? (dx->passive.mask + 1) * dx->passive.slot_size : 0;
    m += dx->sponsor.slots ? (dx->sponsor.mask + 1) * dx->sponsor.slot_size : 0;
    const sob_hmap *fh[4] = {&dx->f_assets, &dx->f_markets, &dx->f_funds, &dx->f_sellers};
    for (int k = 0; k < 4; k++) m += fh[k]->slots ? (fh[k]->mask + 1) * fh[k]->slot_size : 0;
    for (uint32_t i = 0; i < dx->nmarkets; i++) {
        const sob_dex_market *mk = MK(dx, i);
        for (int s = 0; s < 2; s++) {
            const sob_offer_side *sd = &mk->offers.side[s];
            m += sd->cap * sizeof(void *);
            for (size_t ci = 0; ci < sd->nc; ci++) m += sizeof(sob_chunk) + sd->c[ci]->cap * sizeof(sob_offer);
            m += (size_t)mk->l2.side[s].cap * sizeof(sob_level);
        }
        m += mk->offers.slots ? (mk->offers.mask + 1) * sizeof(sob_id_slot) : 0;
        m += mk->offers.sellers.cap * (sizeof(sob_seller_slot) + 16);
    }
    return m;
}

sob_status sob_dexbook_check(const sob_dexbook *dx) {
    size_t total = 0;
    for (uint32_t i = 0; i < dx->nmarkets; i++) {
        const sob_dex_market *mk = MK(dx, i);
        /* the L2 view: each side strictly sorted worst first, valid prices, no empty level (a
         * ledger's book may touch at equal prices: passive offers; crossing is not checked) */
        if (sob_offerbook_check(&mk->offers)) return SOB_E_INVALID;
        for (int s = 0; s < 2; s++) {
            const sob_side *sd = &mk->l2.side[s];
            for (uint32_t k = 0; k < sd->len; k++) {
                if (!sob_price_valid(sd->lv[k].n, sd->lv[k].d) || !sd->lv[k].amount) return SOB_E_INVALID;
                if (k && sob_price_cmp(sd->lv[k - 1].n, sd->lv[k - 1].d, sd->lv[k].n, sd->lv[k].d) !=
                             (s == SOB_SIDE_BID ? -1 : 1))
                    return SOB_E_INVALID;
            }
        }
        if (mk->base >= mk->counter || mk->counter >= dx->assets.len) return SOB_E_INVALID;
        const uint32_t *m = sob_hmap_get(&dx->market_of, mk->base, mk->counter);
        if (!m || *m != i) return SOB_E_INVALID;
        /* the L2 view is the aggregation of the offers */
        for (int s = 0; s < 2; s++) {
            size_t cnt = sob_offerbook_count(&mk->offers, s);
            total += cnt;
            sob_offer *v = cnt ? malloc(cnt * sizeof *v) : NULL;
            if (cnt && !v) return SOB_E_NOMEM;
            sob_offerbook_copy(&mk->offers, s, 0, cnt, v);
            sob_book agg;
            sob_book_init(&agg);
            sob_status st = SOB_OK;
            for (size_t k = 0; k < cnt && !st; k++) {
                const offer_slot *r = oi_find(dx, v[k].id, NULL);
                if (!r || slot_market(r) != i || v[k].seller == 0 ||
                    v[k].seller > dx->accounts.len || r->n != v[k].n || r->d != v[k].d)
                    st = SOB_E_INVALID;
                ostate o = {v[k].amount, v[k].n, v[k].d, i, 0, 0, s, 0};
                int32_t n, d;
                offer_level(&o, &n, &d);
                uint64_t old = level_amount(&agg, s, n, d);
                if (!st && old > UINT64_MAX - (uint64_t)v[k].amount) st = SOB_E_OVERFLOW;
                if (!st) st = sob_book_set_level(&agg, s, n, d, old + (uint64_t)v[k].amount, NULL);
            }
            free(v);
            if (!st) {
                const sob_side *x = &agg.side[s], *y = &mk->l2.side[s];
                if (x->len != y->len) st = SOB_E_INVALID;
                for (uint32_t k = 0; !st && k < x->len; k++)
                    if (x->lv[k].amount != y->lv[k].amount ||
                        sob_price_cmp(x->lv[k].n, x->lv[k].d, y->lv[k].n, y->lv[k].d))
                        st = SOB_E_INVALID;
            }
            sob_book_free(&agg);
            if (st) return st;
        }
    }
    if (total != dx->offer_of.used) return SOB_E_INVALID;
    for (size_t i = 0; dx->passive.slots && i <= dx->passive.mask; i++) { /* passive ids are offers held */
        uint64_t id, zero;
        if (sob_hmap_at(&dx->passive, i, &id, &zero) && (zero || !oi_find(dx, (int64_t)id, NULL)))
            return SOB_E_INVALID;
    }
    for (size_t i = 0; dx->sponsor.slots && i <= dx->sponsor.mask; i++) { /* sponsored ids are offers held */
        uint64_t id, zero;
        const uint32_t *sp = sob_hmap_at(&dx->sponsor, i, &id, &zero);
        if (sp && (zero || *sp >= dx->accounts.len || !oi_find(dx, (int64_t)id, NULL))) return SOB_E_INVALID;
    }
    for (uint32_t p = 0; p < dx->pool_ids.len; p++) {
        const sob_dex_pool *pl = &dx->pools[p];
        if (pl->live && (pl->market >= dx->nmarkets)) return SOB_E_INVALID;
        if (pl->live && (dx->pview[p].reserve_a != pl->reserve_a || dx->pview[p].reserve_b != pl->reserve_b ||
                         dx->pview[p].fee_bp != pl->fee_bp))
            return SOB_E_INVALID;
        if (pl->live && pl->fee_bp == SOB_LIQUIDITY_POOL_FEE && MK(dx, pl->market)->pool == SOB_DEX_NONE)
            return SOB_E_INVALID;
    }
    for (uint32_t i = 0; i < dx->nmarkets; i++) {
        uint32_t p = MK(dx, i)->pool;
        if (p == SOB_DEX_NONE) continue;
        if (p >= dx->pool_ids.len || !dx->pools[p].live || dx->pools[p].market != i ||
            dx->pools[p].fee_bp != SOB_LIQUIDITY_POOL_FEE)
            return SOB_E_INVALID;
    }
    return sob_accounts_check(&dx->acc);
}
