/* dex.c: stellar-core's DEX operations over books, pools and sellers' funds (see dex.h).
 *
 * Transliterated from stellar-core at a9b86132 (paths under src/): OfferExchange.cpp
 * (crossOfferV10, convertWithOffers, exchangeWithPool, convertWithOffersAndPools),
 * TransactionUtils.cpp (balances, liabilities, reserves), SponsorshipUtils.cpp,
 * ManageOfferOpFrameBase.cpp / ManageSellOfferOpFrame.cpp / ManageBuyOfferOpFrame.cpp,
 * PathPaymentOpFrameBase.cpp / PathPaymentStrictSendOpFrame.cpp / PathPaymentStrictReceiveOpFrame.cpp.
 * The independent Python transliteration tests/core_reference.py states the same rules; the two
 * are compared case by case by tools/c_vs_reference.py.
 *
 * State: books, pools and the accounts table are const. Everything an operation would change
 * lives in the scratch's overlay: the current values of the accounts and trust lines touched
 * (copied from the table on first use), per book side the prefix of offers consumed and the
 * amount left on the next one, per pool its reserves. Nested LedgerTxns of core (the pool's dry
 * run, the book walk that is rolled back when the pool wins, computeOfferExchangeParameters
 * before protocol 14) are savepoints of an undo log. Internal functions return 0 to go on and 1
 * to stop: core threw (s->thrown) or memory ran out (s->nomem).
 */
#include "dex.h"
#include "exchange_inline.h"

#include <stdlib.h>
#include <string.h>

#define MAXI INT64_MAX

typedef struct ov_side { /* a book side as this call sees it */
    const sob_offerbook *book;
    int32_t side;
    int32_t has_partial; /* the offer at position `consumed` has amount `partial` */
    uint64_t consumed;   /* offers before this position are gone */
    int64_t partial;
} ov_side;

typedef struct ov_pool {
    const sob_pool *pool;
    int64_t ra, rb;
} ov_pool;

enum { U_ACC = 1, U_TL = 2, U_SIDE = 3, U_POOL = 4 };

typedef struct undo_rec {
    int32_t kind;
    uint32_t asset;
    uint64_t key; /* account key, or index into sides / pools */
    union {
        sob_account a;
        sob_trustline t;
        ov_side side;
        ov_pool pool;
    } v;
} undo_rec;

struct sob_dex_scratch {
    const sob_dex_ctx *ctx;
    const sob_accounts *table;
    uint32_t protocol;
    int missing; /* SOB_CTX_UNKNOWN_MISSING */
    sob_throw thrown;
    int nomem;
    int no_source; /* the source account does not exist (txNO_ACCOUNT): SOB_E_NOT_FOUND */
    int saving;    /* open savepoints: changes are logged in undo only while one may be rolled back */
    sob_hmap acc; /* key -> sob_account[2]: known accounts read so far: current value, base */
    sob_hmap tl;  /* (key, asset) -> sob_trustline[2]: current value, base */
    /* what this call put in acc and tl, so that reading and clearing them is O(entries), not
     * O(capacity) (a large earlier call leaves large maps behind) */
    uint64_t *touched; /* (kind, k1, k2) triples: kind 0 account, 1 trust line */
    size_t ntouched, cap_touched;
    /* the last lookups (a crossing reads one seller's account and two lines many times): valid
     * while the overlay map's gen is unchanged; the table does not change during a call */
    struct { uint64_t key, gen; sob_account *p; } acc_cache[2];
    struct { uint64_t key, gen; uint32_t asset; sob_trustline *p; } tl_cache[4];
    struct { uint32_t asset; uint64_t issuer; } issuer_cache[4];
    unsigned acc_next, tl_next, issuer_next;
    ov_side sides[SOB_MAX_HOPS + 1];
    size_t nsides;
    ov_pool pools[SOB_MAX_HOPS + 1];
    size_t npools;
    undo_rec *undo;
    size_t nundo, cap_undo;
    sob_claim *hop_claims;
    size_t nhop_claims, cap_hop_claims;
    sob_claim *claims;
    size_t nclaims, cap_claims;
    sob_claim *walk_claims; /* the claims of book walks rolled back (sob_hop.book_rolled_back) */
    size_t nwalk_claims, cap_walk_claims;
    int claims_reordered; /* strict receive: the result's claims are in s->claims, else the hops' */
    sob_hop hops[SOB_MAX_HOPS];
    size_t nhops;
    const sob_venue *venues;
    size_t nvenues;
    sob_account_change *acc_out;
    size_t nacc_out, cap_acc_out;
    sob_trustline_change *tl_out;
    size_t ntl_out, cap_tl_out;
    sob_offer_change *off_out;
    size_t noff_out, cap_off_out;
    int64_t excluded; /* manage update: the source's offer, gone from the ledger (not an offer change) */
    sob_pool_change pool_out[SOB_MAX_HOPS + 1];
    size_t npool_out;
};

typedef struct sob_dex_scratch S;

/* ---- growable arrays ----------------------------------------------------------------------- */

static int grow_array(void **p, size_t *cap, size_t need, size_t elem) {
    if (need <= *cap) return 1;
    size_t ncap = *cap ? *cap : 16;
    while (ncap < need) {
        if (ncap > SIZE_MAX / 2) return 0;
        ncap *= 2;
    }
    if (ncap > SIZE_MAX / elem) return 0;
    void *np = realloc(*p, ncap * elem);
    if (!np) return 0;
    *p = np;
    *cap = ncap;
    return 1;
}

#define PUSH(s, arr, n, cap, val)                                                              \
    (grow_array((void **)&(s)->arr, &(s)->cap, (s)->n + 1, sizeof *(s)->arr)                   \
         ? ((s)->arr[(s)->n++] = (val), 0)                                                      \
         : ((s)->nomem = 1, 1))

sob_dex_scratch *sob_dex_scratch_new(void) {
    S *s = calloc(1, sizeof *s);
    if (!s) return NULL;
    sob_hmap_init(&s->acc, 2 * sizeof(sob_account));   /* current value, then the table's */
    sob_hmap_init(&s->tl, 2 * sizeof(sob_trustline)); /* current value, then the table's */
    return s;
}

void sob_dex_scratch_free(sob_dex_scratch *s) {
    if (!s) return;
    sob_hmap_free(&s->acc);
    sob_hmap_free(&s->tl);
    free(s->undo);
    free(s->touched);
    free(s->hop_claims);
    free(s->claims);
    free(s->walk_claims);
    free(s->acc_out);
    free(s->tl_out);
    free(s->off_out);
    free(s);
}

static void scratch_reset(S *s, const sob_dex_ctx *ctx) {
    s->ctx = ctx;
    s->table = ctx->accounts;
    s->protocol = ctx->protocol;
    s->missing = (ctx->flags & SOB_CTX_UNKNOWN_MISSING) != 0;
    s->thrown = SOB_THROW_NONE;
    s->nomem = 0;
    s->no_source = 0;
    if (s->acc.used) sob_hmap_clear(&s->acc); /* O(1): a new epoch */
    if (s->tl.used) sob_hmap_clear(&s->tl);
    s->ntouched = 0;
    s->saving = 0;
    memset(s->acc_cache, 0, sizeof s->acc_cache); /* key 0 is never looked up */
    memset(s->tl_cache, 0, sizeof s->tl_cache);
    for (int i = 0; i < 4; i++) s->issuer_cache[i].asset = SOB_ASSET_ID_NATIVE; /* never looked up */
    s->excluded = -1;
    s->nsides = s->npools = s->nundo = s->nhop_claims = s->nclaims = s->nhops = 0;
    s->nwalk_claims = 0;
    s->claims_reordered = 0;
    s->nacc_out = s->ntl_out = s->noff_out = s->npool_out = 0;
    s->venues = NULL;
    s->nvenues = 0;
}

static inline int fail(S *s, sob_throw t) {
    s->thrown = t;
    return 1;
}

/* ---- the overlay: accounts and trust lines ------------------------------------------------- */

/* The current value of a known account (in the table), or NULL. The pointer is valid until the
 * next acc_get. */
static sob_account *acc_lookup(S *s, uint64_t key);

static inline sob_account *acc_get(S *s, uint64_t key) {
    if (!key || !s->table) return NULL;
    for (int i = 0; i < 2; i++)
        if (s->acc_cache[i].key == key && s->acc_cache[i].gen == s->acc.gen) return s->acc_cache[i].p;
    sob_account *a = acc_lookup(s, key);
    if (!s->nomem) {
        unsigned i = s->acc_next++ & 1;
        s->acc_cache[i].key = key;
        s->acc_cache[i].gen = s->acc.gen; /* after the insert: a grow bumps it */
        s->acc_cache[i].p = a;            /* NULL (not in the table) is cached too */
    }
    return a;
}

static sob_account *acc_lookup(S *s, uint64_t key) {
    sob_account *a = sob_hmap_get(&s->acc, key, 0);
    if (a) return a;
    const sob_account *base = sob_hmap_get(&s->table->accounts, key, 0);
    if (!base) return NULL;
    if (!grow_array((void **)&s->touched, &s->cap_touched, s->ntouched + 3, sizeof *s->touched) ||
        !(a = sob_hmap_insert_new(&s->acc, key, 0))) {
        s->nomem = 1;
        return NULL;
    }
    s->touched[s->ntouched++] = 0;
    s->touched[s->ntouched++] = key;
    s->touched[s->ntouched++] = 0;
    a[0] = a[1] = *base;
    return a;
}

static sob_trustline *tl_lookup(S *s, uint64_t key, uint32_t asset);

static inline sob_trustline *tl_get(S *s, uint64_t key, uint32_t asset) {
    if (!key || !s->table) return NULL;
    for (int i = 0; i < 4; i++)
        if (s->tl_cache[i].key == key && s->tl_cache[i].asset == asset && s->tl_cache[i].gen == s->tl.gen)
            return s->tl_cache[i].p;
    sob_trustline *t = tl_lookup(s, key, asset);
    if (!s->nomem) {
        unsigned i = s->tl_next++ & 3;
        s->tl_cache[i].key = key;
        s->tl_cache[i].asset = asset;
        s->tl_cache[i].gen = s->tl.gen;
        s->tl_cache[i].p = t;
    }
    return t;
}

static sob_trustline *tl_lookup(S *s, uint64_t key, uint32_t asset) {
    sob_trustline *t = sob_hmap_get(&s->tl, key, asset);
    if (t) return t;
    const sob_trustline *base = sob_hmap_get(&s->table->trustlines, key, asset);
    if (!base) return NULL;
    if (!grow_array((void **)&s->touched, &s->cap_touched, s->ntouched + 3, sizeof *s->touched) ||
        !(t = sob_hmap_insert_new(&s->tl, key, asset))) {
        s->nomem = 1;
        return NULL;
    }
    s->touched[s->ntouched++] = 1;
    s->touched[s->ntouched++] = key;
    s->touched[s->ntouched++] = asset;
    t[0] = t[1] = *base;
    return t;
}

static int save_acc(S *s, uint64_t key, const sob_account *a) {
    if (!s->saving) return 0;
    undo_rec u = {.kind = U_ACC, .key = key};
    u.v.a = *a;
    return PUSH(s, undo, nundo, cap_undo, u);
}

static int save_tl(S *s, uint64_t key, uint32_t asset, const sob_trustline *t) {
    if (!s->saving) return 0;
    undo_rec u = {.kind = U_TL, .asset = asset, .key = key};
    u.v.t = *t;
    return PUSH(s, undo, nundo, cap_undo, u);
}

static void rollback(S *s, size_t mark) {
    while (s->nundo > mark) {
        const undo_rec *u = &s->undo[--s->nundo];
        if (u->kind == U_ACC) {
            sob_account *a = sob_hmap_get(&s->acc, u->key, 0);
            if (a) *a = u->v.a;
        } else if (u->kind == U_TL) {
            sob_trustline *t = sob_hmap_get(&s->tl, u->key, u->asset);
            if (t) *t = u->v.t;
        } else if (u->kind == U_SIDE) {
            s->sides[u->key] = u->v.side;
        } else {
            s->pools[u->key] = u->v.pool;
        }
    }
}

static inline int known(S *s, uint64_t key) { return acc_get(s, key) != NULL; }
/* Ledger::_unknown_funded: not in the table, and unknown accounts are funded (the default). */
static inline int unknown_funded(S *s, uint64_t key) { return !s->missing && !known(s, key); }
static inline int account_exists(S *s, uint64_t key) { return !s->missing || known(s, key); }

/* The table's issuer of an asset (0: none known), through a small cache. */
static inline uint64_t issuer_of(S *s, uint32_t asset) {
    if (asset == SOB_ASSET_ID_NATIVE || !s->table) return 0;
    for (int i = 0; i < 4; i++)
        if (s->issuer_cache[i].asset == asset) return s->issuer_cache[i].issuer;
    uint64_t issuer = sob_accounts_issuer(s->table, asset);
    unsigned i = s->issuer_next++ & 3;
    s->issuer_cache[i].asset = asset;
    s->issuer_cache[i].issuer = issuer;
    return issuer;
}

/* isIssuer (util/types.h:69) with the table's issuer registry. */
static inline int is_issuer(S *s, uint64_t key, uint32_t asset) { return key && issuer_of(s, asset) == key; }

/* ---- TrustLineWrapper / the native account for one (account, asset) ----------------------- */

enum { L_NONE = 0, L_UNKNOWN, L_ISSUER, L_NATIVE, L_TRUST };

/* One (account, asset) as core's TrustLineWrapper / loaded account sees it, resolved once. The
 * entry pointers point into the overlay maps: they stay valid until an entry is inserted into the
 * same map, so a caller holding several lines reserves room first (pin()). */
typedef struct line {
    int kind; /* L_* */
    uint32_t asset;
    uint64_t key;
    sob_account *acc;  /* L_NATIVE */
    sob_trustline *tl; /* L_TRUST */
} line;

/* Room for `accounts` and `lines` more overlay entries without a rehash (pointers stay put). */
static inline void pin(S *s, size_t accounts, size_t lines) {
    if (!s->table) return;
    if (!sob_hmap_reserve(&s->acc, accounts) || !sob_hmap_reserve(&s->tl, lines)) s->nomem = 1;
}

/* loadAccount / loadTrustLine / TrustLineWrapper (TransactionUtils.cpp:392-398,
 * TrustLineWrapper.cpp:80-104; issuers: IssuerImpl l.296-373). */
static void load(S *s, uint64_t key, uint32_t asset, line *ln) {
    ln->key = key;
    ln->asset = asset;
    ln->acc = acc_get(s, key);
    ln->tl = NULL;
    if (!s->missing && !ln->acc) {
        ln->kind = L_UNKNOWN;
    } else if (asset == SOB_ASSET_ID_NATIVE) {
        ln->kind = ln->acc ? L_NATIVE : L_NONE;
    } else if (is_issuer(s, key, asset)) {
        ln->kind = L_ISSUER;
    } else {
        ln->tl = tl_get(s, key, asset);
        ln->kind = ln->tl ? L_TRUST : L_NONE;
    }
}

/* getMinBalance (TransactionUtils.cpp:870-912): sponsorship counts from protocol 14. */
static int min_balance(S *s, const sob_account *a, sob_i128 *out) {
    sob_i128 eff = 2 + (sob_i128)a->num_sub_entries;
    if (s->protocol >= 14) eff += (sob_i128)a->num_sponsoring - (sob_i128)a->num_sponsored;
    if (eff < 0) return fail(s, SOB_THROW_ACCOUNT_STATE);
    *out = eff * (sob_i128)s->ctx->base_reserve;
    return 0;
}

/* checkAuthorization (TransactionUtils.cpp:183-199): at least authorized to maintain liabilities. */
static inline int check_auth(S *s, const sob_trustline *t) {
    const uint32_t any = SOB_TL_AUTHORIZED | SOB_TL_AUTHORIZED_TO_MAINTAIN_LIABILITIES;
    return (t->flags & any) ? 0 : fail(s, SOB_THROW_AUTHORIZATION);
}

/* getAvailableBalance (TransactionUtils.cpp:751-778) */
static int available_balance(S *s, const line *ln, sob_i128 *out) {
    if (ln->kind == L_NATIVE) {
        sob_i128 mb;
        if (min_balance(s, ln->acc, &mb)) return 1;
        *out = (sob_i128)ln->acc->balance - mb - ln->acc->selling_liabilities;
        return 0;
    }
    if (ln->kind == L_TRUST) {
        if (check_auth(s, ln->tl)) return 1;
        *out = (sob_i128)ln->tl->balance - ln->tl->selling_liabilities;
        return 0;
    }
    *out = MAXI;
    return 0;
}

/* getMaxAmountReceive (TransactionUtils.cpp:821-855) */
static int max_receive(S *s, const line *ln, sob_i128 *out) {
    if (ln->kind == L_NATIVE) {
        *out = (sob_i128)MAXI - ((sob_i128)ln->acc->balance + ln->acc->buying_liabilities);
        return 0;
    }
    if (ln->kind == L_TRUST) {
        if (check_auth(s, ln->tl)) return 1;
        *out = (sob_i128)ln->tl->limit - ln->tl->balance - ln->tl->buying_liabilities;
        return 0;
    }
    *out = MAXI;
    return 0;
}

static inline int64_t clamp0(sob_i128 v) { return v < 0 ? 0 : (v > MAXI ? MAXI : (int64_t)v); }

/* addBalance(int64&, delta, max) (util/types.cpp:281-307): 1 and *res, or 0 where core returns
 * false; a negative balance or maximum is where core asserts. */
static int add_balance_int64(S *s, int64_t balance, int64_t delta, sob_i128 max, int64_t *res, int *ok) {
    if (balance < 0 || max < 0) return fail(s, SOB_THROW_ASSERT);
    *ok = 0;
    if (delta == 0) {
        *res = balance;
        *ok = 1;
        return 0;
    }
    if ((sob_i128)delta < -(sob_i128)balance) return 0;
    if (max - balance < delta) return 0;
    *res = balance + delta;
    *ok = 1;
    return 0;
}

/* addBalance(header, entry, delta) (TransactionUtils.cpp:564-643); issuers and unknown accounts:
 * a no-op that succeeds (IssuerImpl::addBalance). */
static int add_balance(S *s, const line *ln, int64_t delta, int *ok) {
    *ok = 1;
    if (delta == 0 || (ln->kind != L_NATIVE && ln->kind != L_TRUST)) return 0;
    int64_t nb;
    if (ln->kind == L_NATIVE) {
        sob_account *a = ln->acc;
        if (add_balance_int64(s, a->balance, delta, MAXI, &nb, ok)) return 1;
        if (!*ok) return 0;
        sob_i128 mb;
        if (min_balance(s, a, &mb)) return 1;
        if ((delta < 0 && (sob_i128)nb - mb < a->selling_liabilities) || nb > MAXI - a->buying_liabilities) {
            *ok = 0;
            return 0;
        }
        if (save_acc(s, ln->key, a)) return 1;
        a->balance = nb;
        return 0;
    }
    sob_trustline *t = ln->tl;
    if (check_auth(s, t)) return 1;
    if (add_balance_int64(s, t->balance, delta, t->limit, &nb, ok)) return 1;
    if (!*ok) return 0;
    if (nb < t->selling_liabilities || (sob_i128)nb > (sob_i128)t->limit - t->buying_liabilities) {
        *ok = 0;
        return 0;
    }
    if (save_tl(s, ln->key, ln->asset, t)) return 1;
    t->balance = nb;
    return 0;
}

/* addBuyingLiabilities (TransactionUtils.cpp:645-690) */
static int add_buying_liabilities(S *s, const line *ln, int64_t delta, int *ok) {
    *ok = 1;
    if (delta == 0 || (ln->kind != L_NATIVE && ln->kind != L_TRUST)) return 0;
    int64_t r;
    if (ln->kind == L_NATIVE) {
        sob_account *a = ln->acc;
        if (add_balance_int64(s, a->buying_liabilities, delta, (sob_i128)MAXI - a->balance, &r, ok) || !*ok)
            return s->thrown != SOB_THROW_NONE;
        if (save_acc(s, ln->key, a)) return 1;
        a->buying_liabilities = r;
        return 0;
    }
    sob_trustline *t = ln->tl;
    if (check_auth(s, t)) return 1;
    if (add_balance_int64(s, t->buying_liabilities, delta, (sob_i128)t->limit - t->balance, &r, ok) || !*ok)
        return s->thrown != SOB_THROW_NONE;
    if (save_tl(s, ln->key, ln->asset, t)) return 1;
    t->buying_liabilities = r;
    return 0;
}

/* addSellingLiabilities (TransactionUtils.cpp:692-743) */
static int add_selling_liabilities(S *s, const line *ln, int64_t delta, int *ok) {
    *ok = 1;
    if (delta == 0 || (ln->kind != L_NATIVE && ln->kind != L_TRUST)) return 0;
    int64_t r;
    if (ln->kind == L_NATIVE) {
        sob_account *a = ln->acc;
        sob_i128 mb;
        if (min_balance(s, a, &mb)) return 1;
        sob_i128 max = (sob_i128)a->balance - mb;
        if (max < 0) {
            *ok = 0;
            return 0;
        }
        if (add_balance_int64(s, a->selling_liabilities, delta, max, &r, ok) || !*ok)
            return s->thrown != SOB_THROW_NONE;
        if (save_acc(s, ln->key, a)) return 1;
        a->selling_liabilities = r;
        return 0;
    }
    sob_trustline *t = ln->tl;
    if (check_auth(s, t)) return 1;
    if (add_balance_int64(s, t->selling_liabilities, delta, t->balance, &r, ok) || !*ok)
        return s->thrown != SOB_THROW_NONE;
    if (save_tl(s, ln->key, ln->asset, t)) return 1;
    t->selling_liabilities = r;
    return 0;
}

/* isAuthorized / isAuthorizedToMaintainLiabilities (TransactionUtils.cpp:1037-1069) */
static inline int line_authorized(const line *ln) { return ln->kind != L_TRUST || (ln->tl->flags & SOB_TL_AUTHORIZED); }

static inline int line_maintains(const line *ln) {
    return ln->kind != L_TRUST ||
           (ln->tl->flags & (SOB_TL_AUTHORIZED | SOB_TL_AUTHORIZED_TO_MAINTAIN_LIABILITIES));
}

static inline int64_t line_balance(const line *ln) {
    if (ln->kind == L_NATIVE) return ln->acc->balance;
    if (ln->kind == L_TRUST) return ln->tl->balance;
    return MAXI;
}

/* canSellAtMost (OfferExchange.cpp:54-70) */
static int can_sell_at_most(S *s, const line *ln, int64_t *out) {
    sob_i128 v;
    if (ln->asset == SOB_ASSET_ID_NATIVE) {
        if (ln->kind == L_NONE) return fail(s, SOB_THROW_SELL_NO_ACCOUNT);
        if (available_balance(s, ln, &v)) return 1;
        *out = clamp0(v);
        return 0;
    }
    if (ln->kind != L_NONE && line_maintains(ln)) {
        if (available_balance(s, ln, &v)) return 1;
        *out = clamp0(v);
        return 0;
    }
    *out = 0;
    return 0;
}

/* canBuyAtMost (OfferExchange.cpp:90-104) */
static int can_buy_at_most(S *s, const line *ln, int64_t *out) {
    sob_i128 v;
    if (ln->kind == L_NONE) {
        if (ln->asset == SOB_ASSET_ID_NATIVE) return fail(s, SOB_THROW_BUY_NO_ACCOUNT);
        *out = 0;
        return 0;
    }
    if (max_receive(s, ln, &v)) return 1;
    *out = clamp0(v);
    return 0;
}

/* ---- offers ------------------------------------------------------------------------------- */

/* exchangeV10 (OfferExchange.cpp:551-781). Every caller passes n, d > 0 and maxima >= 0 (offers in
 * a book, clamped funds, limits that only shrink), the domain where sob_xv10_fast is exact. */
static SOB_ALWAYS_INLINE int exchange(S *s, int32_t n, int32_t d, int64_t ws, int64_t wr, int64_t ss, int64_t sr, sob_rounding r,
                           sob_exchange *ex) {
    if ((ws | wr | ss | sr) < 0) return fail(s, SOB_THROW_ASSERT);
    sob_throw t = sob_xv10_fast(n, d, ws, wr, ss, sr, r, ex);
    return t ? fail(s, t) : 0;
}

/* adjustOffer(price, maxWheatSend, maxSheepReceive) (OfferExchange.cpp:921-928) */
static SOB_ALWAYS_INLINE int adjust(S *s, int32_t n, int32_t d, int64_t max_wheat_send, int64_t max_sheep_receive, int64_t *out) {
    sob_exchange ex;
    if (exchange(s, n, d, max_wheat_send, MAXI, MAXI, max_sheep_receive, SOB_ROUND_NORMAL, &ex)) return 1;
    *out = ex.wheat;
    return 0;
}

/* (selling, buying) liabilities of an offer (TransactionUtils.cpp:939-985) */
static int offer_liabilities(S *s, int32_t n, int32_t d, int64_t amount, int64_t *selling, int64_t *buying) {
    sob_exchange ex;
    sob_throw t;
    if (sob_xv10_raw(n, d, amount, MAXI, MAXI, MAXI, SOB_ROUND_NORMAL, &ex, &t) != SOB_OK)
        return fail(s, SOB_THROW_ASSERT);
    if (t) return fail(s, t);
    *selling = ex.wheat;
    *buying = ex.sheep;
    return 0;
}

/* acquireOrReleaseLiabilities (TransactionUtils.cpp:484-555) on the seller's two lines, already
 * loaded (selling: the line of what the offer sells). A no-op for unknown sellers. */
static int move_liabilities(S *s, const line *sell_line, const line *buy_line, int64_t sl, int64_t bl, int acquire) {
    int ok;
    if (sell_line->asset == buy_line->asset) return fail(s, SOB_THROW_SAME_ASSET);
    if (sell_line->kind == L_UNKNOWN) return 0;
    if (buy_line->kind == L_NONE)
        return fail(s, buy_line->asset == SOB_ASSET_ID_NATIVE ? SOB_THROW_LIAB_NO_ACCOUNT : SOB_THROW_LIAB_NO_TRUSTLINE);
    if (add_buying_liabilities(s, buy_line, acquire ? bl : -bl, &ok)) return 1;
    if (!ok) return fail(s, SOB_THROW_BUYING_LIABILITIES);
    if (sell_line->kind == L_NONE)
        return fail(s, sell_line->asset == SOB_ASSET_ID_NATIVE ? SOB_THROW_LIAB_NO_ACCOUNT : SOB_THROW_LIAB_NO_TRUSTLINE);
    if (add_selling_liabilities(s, sell_line, acquire ? sl : -sl, &ok)) return 1;
    if (!ok) return fail(s, SOB_THROW_SELLING_LIABILITIES);
    return 0;
}

/* The same for an offer given by value (the taker's existing or new offer). */
static int offer_liabilities_move(S *s, uint64_t seller, uint32_t selling, uint32_t buying, int32_t n, int32_t d,
                                  int64_t amount, int acquire) {
    if (selling == buying) return fail(s, SOB_THROW_SAME_ASSET);
    if (unknown_funded(s, seller)) return 0;
    int64_t sl, bl;
    if (offer_liabilities(s, n, d, amount, &sl, &bl)) return 1;
    line sell_line, buy_line;
    pin(s, 1, 2);
    load(s, seller, buying, &buy_line);
    load(s, seller, selling, &sell_line);
    return move_liabilities(s, &sell_line, &buy_line, sl, bl, acquire);
}

/* removeEntryWithPossibleSponsorship for an offer (SponsorshipUtils.cpp:808-847): the owner's
 * subentry, and a sponsor's numSponsoring with the owner's numSponsored. */
static int remove_offer_entry(S *s, uint64_t owner, uint64_t sponsor) {
    sob_account *a = acc_get(s, owner);
    if (a) {
        if (a->num_sub_entries < 1) return fail(s, SOB_THROW_SUBENTRIES);
        if (save_acc(s, owner, a)) return 1;
        acc_get(s, owner)->num_sub_entries -= 1;
    }
    if (sponsor) {
        if (sponsor == owner) return fail(s, SOB_THROW_SELF_SPONSOR);
        sob_account *sp = acc_get(s, sponsor);
        if (sp) {
            if (sp->num_sponsoring < 1) return fail(s, SOB_THROW_ASSERT); /* a count below 0: never in a ledger */
            if (save_acc(s, sponsor, sp)) return 1;
            acc_get(s, sponsor)->num_sponsoring -= 1;
        }
        a = acc_get(s, owner);
        if (a) {
            if (a->num_sponsored < 1) return fail(s, SOB_THROW_ASSERT);
            if (save_acc(s, owner, a)) return 1;
            acc_get(s, owner)->num_sponsored -= 1;
        }
    }
    return 0;
}

/* canCreateEntryWithoutSponsorship for an offer (SponsorshipUtils.cpp:20-56, 475-517).
 * *res: 0 success, 1 TOO_MANY_SUBENTRIES, 2 LOW_RESERVE. */
static int can_create_offer(S *s, uint64_t key, int *res) {
    const sob_account *a = acc_get(s, key);
    int too_many = s->protocol >= 11 && (int64_t)a->num_sub_entries > (int64_t)s->ctx->account_subentry_limit - 1;
    if (!too_many && s->protocol >= 18)
        too_many = (uint64_t)a->num_sponsoring + a->num_sub_entries + 1 > UINT32_MAX;
    if (too_many) {
        *res = 1;
        return 0;
    }
    sob_i128 avail;
    line native;
    load(s, key, SOB_ASSET_ID_NATIVE, &native);
    if (available_balance(s, &native, &avail)) return 1;
    *res = avail < (sob_i128)s->ctx->base_reserve ? 2 : 0;
    return 0;
}

/* ---- the book walk ------------------------------------------------------------------------ */

static int side_index(S *s, const sob_offerbook *book, int side, size_t *idx) {
    for (size_t i = 0; i < s->nsides; i++)
        if (s->sides[i].book == book && s->sides[i].side == side) {
            *idx = i;
            return 0;
        }
    if (s->nsides == sizeof s->sides / sizeof s->sides[0]) return fail(s, SOB_THROW_ASSERT); /* cannot happen */
    ov_side *o = &s->sides[s->nsides];
    memset(o, 0, sizeof *o);
    o->book = book;
    o->side = side;
    *idx = s->nsides++;
    return 0;
}

static int pool_index(S *s, const sob_pool *p, size_t *idx) {
    for (size_t i = 0; i < s->npools; i++)
        if (s->pools[i].pool == p) {
            *idx = i;
            return 0;
        }
    if (s->npools == sizeof s->pools / sizeof s->pools[0]) return fail(s, SOB_THROW_ASSERT);
    s->pools[s->npools] = (ov_pool){p, p->reserve_a, p->reserve_b};
    *idx = s->npools++;
    return 0;
}

typedef struct walk_filter {
    int has_price;     /* manage offers: stop at o.price > maxWheatPrice (>= when passive) */
    int passive;
    int32_t mwp_n, mwp_d;
    uint64_t self;     /* the source: its own offers stop the walk (0: none) */
    int64_t excluded;  /* the source's offer being updated (gone from the ledger), or -1 */
} walk_filter;

typedef struct walk_out {
    int result;      /* sob_convert_result */
    int64_t sheep;   /* sheepSend */
    int64_t wheat;   /* wheatReceived */
    uint64_t crossed;
} walk_out;

typedef struct hop_args {
    int venue;          /* index into s->venues (or 0 for manage / convert_hop) */
    const sob_venue *v;
    uint32_t sheep, wheat;
    sob_rounding round;
    const walk_filter *f;
} hop_args;

/* The position of the p-th offer of a side: chunk index and offset, or 0 if there is none. */
static inline int locate(const sob_offer_side *sd, uint64_t p, size_t *ci, uint32_t *pi) {
    size_t c = 0;
    while (c < sd->nc && p >= sd->c[c]->len) {
        p -= sd->c[c]->len;
        c++;
    }
    if (c == sd->nc) return 0;
    *ci = c;
    *pi = (uint32_t)p;
    return 1;
}

/* What taking all of a fixed point A of adjustOffer pays (its buying liabilities, what
 * exchangeV10(price, A, MAX, MAX, MAX) gives as S when the offer is taken): floor(A*n/d) in both
 * branches of l.669-680 (n > d: W = A, S = floor(W*n/d); n <= d: S = floor(min(A*n, MAX*d)/d),
 * which is floor(A*n/d) as A*n/d <= A), and W = A, as A is a fixed point. One division. */
static inline int64_t take_cost(const sob_offer *o, int64_t a) { return sob_div_down_(sob_mul64_(a, o->n), o->d); }

/* An offer taken whole from a seller whose receive headroom `can_buy` does not bind: wheatValue =
 * min(adjusted*n, can_buy*d) = adjusted*n, the value of the unlimited case, so exchangeV10 gives
 * W = adjusted and S = take_cost(), and the thresholds pass (adjustOffer(adjusted) == adjusted > 0:
 * see walk()). 1 if it applies (the taker's limits take the whole offer) and *ex is set. */
static inline int taken_whole(const sob_offer *o, int64_t adjusted, int64_t can_buy, int64_t max_wheat_receive,
                              int64_t max_sheep_send, sob_exchange *ex) {
    if (adjusted <= 0 || adjusted != o->adjusted) return 0;
    sob_u128 wheat_value = sob_mul64_(adjusted, o->n);
    if (wheat_value > sob_mul64_(can_buy, o->d)) return 0; /* the seller's headroom binds (or overflow) */
    if (wheat_value > sob_mul64_(max_sheep_send, o->d) || wheat_value > sob_mul64_(max_wheat_receive, o->n)) return 0;
    ex->wheat = adjusted;
    ex->sheep = take_cost(o, adjusted);
    ex->wheat_stays = 0;
    return 1;
}

/* crossOfferV10 (OfferExchange.cpp:1103-1234) for the offer `o` whose current amount is `amount`
 * (`partial`: not its stored amount, left by an earlier hop of this call). The new amount (0 =
 * taken) in *left. */
__attribute__((noinline)) static int cross_offer(S *s, const hop_args *h, const sob_offer *o, uint64_t seller,
                                                int partial, int64_t amount, int64_t max_wheat_receive,
                                                int64_t max_sheep_send, sob_exchange *ex, int64_t *left) {
    if (max_wheat_receive <= 0 || max_sheep_send <= 0) return fail(s, SOB_THROW_ASSERT); /* l.1110-1111 */
    const int32_t n = o->n, d = o->d;
    if (!s->missing && !acc_get(s, seller)) {
        /* unknown and funded: canSellAtMost = canBuyAtMost = INT64_MAX, liabilities and balances
         * are no-ops */
        int64_t adjusted = o->adjusted;
        if (partial && adjust(s, n, d, amount, MAXI, &adjusted)) return 1; /* l.1140-1143 */
        if (partial || !taken_whole(o, adjusted, MAXI, max_wheat_receive, max_sheep_send, ex))
            if (exchange(s, n, d, adjusted, max_wheat_receive, max_sheep_send, MAXI, h->round, ex)) return 1;
        *left = 0;
        if (ex->wheat_stays && adjust(s, n, d, adjusted - ex->wheat, MAXI, left)) return 1; /* l.1195-1199 */
        if (*left == 0 && s->table && s->table->sponsors.used) {
            uint64_t sponsor = sob_accounts_sponsor(s->table, o->id);
            if (remove_offer_entry(s, seller, sponsor)) return 1;
        }
        return 0;
    }
    /* the seller's lines of what the offer sells (wheat) and buys (sheep), resolved once, with room
     * reserved so their pointers stay valid until the sponsorship at the end */
    line wl, sl;
    pin(s, 2, 2);
    load(s, seller, h->wheat, &wl);
    load(s, seller, h->sheep, &sl);
    if (s->nomem) return 1;
    if (!wl.acc) return fail(s, SOB_THROW_NO_SELLER); /* l.1120-1124: a missing seller */
    /* a stored offer at a fixed point of adjustOffer (every ledger-valid offer): its liabilities are
     * (amount, take_cost) */
    const int whole = !partial && amount == o->adjusted && amount > 0;
    int64_t lsell, lbuy;
    if (whole) {
        lsell = amount;
        lbuy = take_cost(o, amount);
    } else if (offer_liabilities(s, n, d, amount, &lsell, &lbuy)) {
        return 1;
    }
    if (move_liabilities(s, &wl, &sl, lsell, lbuy, 0)) return 1; /* releaseLiabilities, l.1126-1128 */
    int64_t can_sell, can_buy;
    if (can_sell_at_most(s, &wl, &can_sell) || can_buy_at_most(s, &sl, &can_buy)) return 1;
    /* the "preventative" adjustOffer (l.1140-1143): reduces an offer its seller cannot fund; for a
     * whole offer its seller can fund (and receive for), adjustOffer gives it back unchanged */
    int64_t max_wheat_send = amount < can_sell ? amount : can_sell;
    if (!(whole && max_wheat_send == amount && sob_mul64_(amount, n) <= sob_mul64_(can_buy, d)))
        if (adjust(s, n, d, max_wheat_send, can_buy, &amount)) return 1;
    /* l.1145-1149: canSellAtMost / canBuyAtMost again, on the same state */
    max_wheat_send = amount < can_sell ? amount : can_sell;
    if (!(whole && max_wheat_send == o->adjusted &&
          taken_whole(o, max_wheat_send, can_buy, max_wheat_receive, max_sheep_send, ex)))
        if (exchange(s, n, d, max_wheat_send, max_wheat_receive, max_sheep_send, can_buy, h->round, ex)) return 1;
    int ok;
    if (ex->sheep != 0) { /* l.1159-1175 */
        if (sl.kind == L_NONE) return fail(s, SOB_THROW_SHEEP_BALANCE);
        if (add_balance(s, &sl, ex->sheep, &ok)) return 1;
        if (!ok) return fail(s, SOB_THROW_SHEEP_BALANCE);
    }
    if (ex->wheat != 0) { /* l.1177-1193 */
        if (wl.kind == L_NONE) return fail(s, SOB_THROW_WHEAT_BALANCE);
        if (add_balance(s, &wl, -ex->wheat, &ok)) return 1;
        if (!ok) return fail(s, SOB_THROW_WHEAT_BALANCE);
    }
    if (ex->wheat_stays) { /* l.1195-1204 */
        amount -= ex->wheat;
        if (can_sell_at_most(s, &wl, &can_sell) || can_buy_at_most(s, &sl, &can_buy)) return 1;
        if (adjust(s, n, d, amount < can_sell ? amount : can_sell, can_buy, &amount)) return 1;
    } else {
        amount = 0;
    }
    *left = amount;
    if (amount == 0) { /* l.1212-1218 */
        uint64_t sponsor = s->table->sponsors.used ? sob_accounts_sponsor(s->table, o->id) : 0;
        return remove_offer_entry(s, seller, sponsor);
    }
    if (offer_liabilities(s, n, d, amount, &lsell, &lbuy)) return 1;
    return move_liabilities(s, &wl, &sl, lsell, lbuy, 1); /* l.1219-1222 */
}

/* convertWithOffers (OfferExchange.cpp:1481-1627) over the venue's book side. */
static int walk(S *s, const hop_args *h, int64_t max_sheep_send, int64_t max_wheat_receive, int64_t budget,
                walk_out *w) {
    w->sheep = w->wheat = 0;
    w->crossed = 0;
    int need_more = max_wheat_receive > 0 && max_sheep_send > 0;
    if (need_more && budget == 0 && s->protocol >= 18) { /* l.1502-1511 */
        w->result = SOB_CONVERT_CROSSED_TOO_MANY;
        return 0;
    }
    const sob_offerbook *book = h->v->book;
    if (!book || !need_more) {
        w->result = need_more ? SOB_CONVERT_PARTIAL : SOB_CONVERT_OK;
        return 0;
    }
    size_t si;
    if (side_index(s, book, h->v->side, &si)) return 1;
    if (s->saving) {
        undo_rec u = {.kind = U_SIDE, .key = si};
        u.v.side = s->sides[si];
        if (PUSH(s, undo, nundo, cap_undo, u)) return 1;
    }
    const sob_offer_side *sd = &book->side[h->v->side];
    const walk_filter *f = h->f;
    const int fast = s->table == NULL && !s->missing; /* every seller unknown and funded */
    int look_up_seller = f->self != 0 || !fast;
    int claim_type = s->protocol >= 18 ? SOB_CLAIM_ORDER_BOOK : SOB_CLAIM_V0;
    uint64_t p = s->sides[si].consumed;
    size_t ci;
    uint32_t pi;
    if (!locate(sd, p, &ci, &pi)) {
        w->result = SOB_CONVERT_PARTIAL; /* l.1517-1520: no offer left */
        return 0;
    }
    /* room for every claim this walk can make: one per offer left, at most the budget */
    uint64_t room = sd->count - p;
    if ((sob_i128)room > (sob_i128)budget) room = (uint64_t)budget;
    if (!grow_array((void **)&s->hop_claims, &s->cap_hop_claims, s->nhop_claims + room + 1, sizeof *s->hop_claims)) {
        s->nomem = 1;
        return 1;
    }
    /* everything the loop touches as locals (no aliasing through s, w, f); written back at the end */
    uint64_t consumed = s->sides[si].consumed;
    int has_partial = s->sides[si].has_partial;
    int64_t partial = s->sides[si].partial;
    const int64_t excluded = f->excluded;
    const sob_rounding round = h->round;
    const int has_price = f->has_price, passive = f->passive;
    const int64_t mwp_n = f->mwp_n, mwp_d = f->mwp_d;
    const uint64_t self = f->self;
    const uint32_t wheat_asset = h->wheat, sheep_asset = h->sheep;
    const int32_t venue_index = h->venue;
    sob_claim *claims = s->hop_claims;
    size_t nclaims = s->nhop_claims;
    uint64_t crossed = 0;
    int64_t sheep_sent = 0, wheat_received = 0;
    int result = SOB_CONVERT_PARTIAL; /* l.1617-1626: the book ran out while more was needed */
    int stop = 0;
    if (fast) {
        /* Every seller unknown and funded (no table): crossOfferV10 with INT64_MAX funds, so no
         * liabilities or balances move. The same steps as the general loop below, kept apart so
         * the compiler keeps this one tight. */
        for (;;) {
            const sob_offer *o = &sd->c[ci]->e[pi];
            if (o->id != excluded) {
                uint64_t seller = self ? sob_offerbook_offer_account(book, o) : 0;
                if (has_price) { /* ManageOfferOpFrameBase.cpp:362-383 */
                    int64_t lhs = (int64_t)o->n * mwp_d, rhs = mwp_n * o->d;
                    if (lhs > rhs || (passive && lhs == rhs)) {
                        result = SOB_CONVERT_STOP_BAD_PRICE;
                        break;
                    }
                }
                if (self && seller == self) {
                    result = SOB_CONVERT_STOP_CROSS_SELF;
                    break;
                }
                if ((int64_t)crossed >= budget) { /* l.1565-1569 */
                    result = SOB_CONVERT_CROSSED_TOO_MANY;
                    break;
                }
                /* the preventative adjustOffer(price, amount, INT64_MAX) (l.1140-1143): cached */
                int64_t adjusted = o->adjusted;
                sob_exchange ex;
                int partial_here = p == consumed && has_partial;
                if (partial_here && adjust(s, o->n, o->d, partial, MAXI, &adjusted)) {
                    stop = 1;
                    break;
                }
                /* Taken whole (wheatValue <= sheepValue): exchangeV10 gives W = adjusted and S =
                 * take_cost() (its buying liabilities). Both depend only on wheatValue =
                 * min(adjusted*n, INT64_MAX*d), the expression the liabilities use, and the taken
                 * branch does not depend on the rounding; the pair passes the price-error
                 * thresholds because adjustOffer is a fixed point (adjustOffer(adjusted) ==
                 * adjusted > 0 means the 1% bound held for it). One division for an offer crossed
                 * whole; the last one goes through exchangeV10. */
                sob_u128 wheat_value = sob_min128_(sob_mul64_(adjusted, o->n), sob_mul64_(MAXI, o->d));
                if (!partial_here && adjusted > 0 && wheat_value <= sob_mul64_(max_sheep_send, o->d) &&
                    wheat_value <= sob_mul64_(max_wheat_receive, o->n)) {
                    ex.wheat = adjusted;
                    ex.sheep = take_cost(o, adjusted);
                    ex.wheat_stays = 0;
                } else if (exchange(s, o->n, o->d, adjusted, max_wheat_receive, max_sheep_send, MAXI, round, &ex)) {
                    stop = 1;
                    break;
                }
                int64_t left = 0;
                if (ex.wheat_stays && adjust(s, o->n, o->d, adjusted - ex.wheat, MAXI, &left)) { /* l.1195 */
                    stop = 1;
                    break;
                }
                sob_claim *c = &claims[nclaims++]; /* room reserved above */
                c->offer_id = o->id;
                c->seller = seller ? seller : sob_offerbook_offer_account(book, o);
                c->amount_sold = ex.wheat;
                c->amount_bought = ex.sheep;
                c->remaining = left;
                c->asset_sold = wheat_asset;
                c->asset_bought = sheep_asset;
                c->type = claim_type;
                c->venue = venue_index;
                crossed++;
                sheep_sent += ex.sheep;
                max_sheep_send -= ex.sheep;
                wheat_received += ex.wheat;
                max_wheat_receive -= ex.wheat;
                if (left == 0) {
                    consumed = p + 1;
                    has_partial = 0;
                } else {
                    has_partial = 1;
                    partial = left;
                }
                if (ex.wheat_stays || max_wheat_receive <= 0 || max_sheep_send <= 0) { /* l.1581, 1607 */
                    result = SOB_CONVERT_OK;
                    break;
                }
                if (left != 0) {
                    result = SOB_CONVERT_PARTIAL;
                    break;
                }
            } else if (p == consumed) { /* deleted from the ledger by the update, before the walk */
                consumed = p + 1;
                has_partial = 0;
            }
            p++;
            if (++pi == sd->c[ci]->len) {
                pi = 0;
                if (++ci == sd->nc) break;
            }
        }
    } else {
        for (;;) {
            const sob_offer *o = &sd->c[ci]->e[pi];
            if (o->id == excluded) { /* deleted from the ledger by the update, before the walk */
                if (p == consumed) {
                    consumed = p + 1;
                    has_partial = 0;
                }
                goto next;
            }
            uint64_t seller = look_up_seller ? sob_offerbook_offer_account(book, o) : 0;
            if (has_price) { /* ManageOfferOpFrameBase.cpp:362-383: o.price > maxWheatPrice (>= if passive) */
                int64_t lhs = (int64_t)o->n * mwp_d, rhs = mwp_n * o->d;
                if (lhs > rhs || (passive && lhs == rhs)) {
                    result = SOB_CONVERT_STOP_BAD_PRICE;
                    break;
                }
            }
            if (self && seller == self) { /* both filters: the source's own offer */
                result = SOB_CONVERT_STOP_CROSS_SELF;
                break;
            }
            if ((int64_t)crossed >= budget) { /* l.1565-1569 */
                result = SOB_CONVERT_CROSSED_TOO_MANY;
                break;
            }
            int partial_here = p == consumed && has_partial;
            int64_t amount = partial_here ? partial : o->amount;
            sob_exchange ex;
            int64_t left;
            if (cross_offer(s, h, o, seller, partial_here, amount, max_wheat_receive, max_sheep_send, &ex, &left)) {
                stop = 1;
                break;
            }
            if (left == 0) {
                consumed = p + 1;
                has_partial = 0;
            } else {
                has_partial = 1;
                partial = left;
            }
            sob_claim *c = &claims[nclaims++]; /* room reserved above */
            c->offer_id = o->id;
            c->seller = seller;
            c->amount_sold = ex.wheat;
            c->amount_bought = ex.sheep;
            c->remaining = left;
            c->asset_sold = wheat_asset;
            c->asset_bought = sheep_asset;
            c->type = claim_type;
            c->venue = venue_index;
            crossed++;
            sheep_sent += ex.sheep;
            max_sheep_send -= ex.sheep;
            wheat_received += ex.wheat;
            max_wheat_receive -= ex.wheat;
            /* (numSheepSend / numWheatReceived in range, l.1590-1593: exchangeV10's bounds, see
             * sob_xv10_fast) */
            if (ex.wheat_stays || max_wheat_receive <= 0 || max_sheep_send <= 0) { /* l.1581, 1607 */
                result = SOB_CONVERT_OK;
                break;
            }
            if (left != 0) {
                result = SOB_CONVERT_PARTIAL;
                break;
            }
        next:
            p++;
            if (++pi == sd->c[ci]->len) {
                pi = 0;
                if (++ci == sd->nc) break;
            }
        }
    }
    s->nhop_claims = nclaims;
    w->crossed = crossed;
    w->sheep = sheep_sent;
    w->wheat = wheat_received;
    ov_side *os = &s->sides[si];
    os->consumed = consumed;
    os->has_partial = has_partial;
    os->partial = partial;
    w->result = result;
    return stop;
}

/* exchangeWithPool on the state (OfferExchange.cpp:1381-1479). *ok = 0 when the pool does not
 * trade; with commit the reserves move. */
static int pool_exchange(S *s, const hop_args *h, int64_t max_send, int64_t max_receive, int64_t budget, int commit,
                         int64_t *to_pool, int64_t *from_pool, int *ok) {
    *ok = 0;
    const sob_venue *v = h->v;
    if (s->protocol < 18 || (s->ctx->flags & SOB_CTX_POOL_TRADING_DISABLED) || h->round == SOB_ROUND_NORMAL ||
        budget == 0 || !v->pool)
        return 0; /* l.1390-1412 */
    size_t pi;
    if (pool_index(s, v->pool, &pi)) return 1;
    ov_pool *p = &s->pools[pi];
    if (p->ra <= 0 || p->rb <= 0) return 0; /* l.1426-1435 */
    int64_t *r_to = v->pool_a_is_send ? &p->ra : &p->rb, *r_from = v->pool_a_is_send ? &p->rb : &p->ra;
    sob_throw t;
    if (sob_pool_exchange_checked(*r_to, max_send, *r_from, max_receive, v->pool->fee_bp, h->round, to_pool, from_pool,
                                  ok, &t) != SOB_OK)
        return fail(s, SOB_THROW_ASSERT);
    if (t) return fail(s, t);
    if (!*ok) return 0;
    if (*to_pool > MAXI - *r_to || *from_pool > *r_from) return fail(s, SOB_THROW_POOL_RESERVES_UPDATE);
    if (!commit) return 0;
    if (s->saving) {
        undo_rec u = {.kind = U_POOL, .key = pi};
        u.v.pool = *p;
        if (PUSH(s, undo, nundo, cap_undo, u)) return 1;
    }
    p = &s->pools[pi];
    r_to = v->pool_a_is_send ? &p->ra : &p->rb;
    r_from = v->pool_a_is_send ? &p->rb : &p->ra;
    *r_to += *to_pool;
    *r_from -= *from_pool;
    return 0;
}

/* convertWithOffersAndPools (OfferExchange.cpp:1712-1771) with maybeConvertWithOffers (1661-1710)
 * and shouldConvertWithOffers (1629-1659). *budget is in/out as in core. */
static int convert(S *s, const hop_args *h, int64_t max_sheep_send, int64_t max_wheat_receive, int64_t *budget,
                   sob_hop *out) {
    memset(out, 0, sizeof *out);
    out->send_asset = h->sheep;
    out->recv_asset = h->wheat;
    out->venue_index = h->venue;
    out->budget_before = *budget;
    /* the pool, in a LedgerTxn that always rolls back (l.1671-1683) */
    int64_t pq_to = 0, pq_from = 0;
    int pq_ok;
    if (pool_exchange(s, h, max_sheep_send, max_wheat_receive, *budget, 0, &pq_to, &pq_from, &pq_ok)) return 1;
    out->pool_quoted = pq_ok;
    out->pool_send = pq_to;
    out->pool_recv = pq_from;
    /* the book, committed only if chosen (l.1685-1707): a savepoint when the pool could win */
    size_t undo_mark = s->nundo, claims_mark = s->nhop_claims;
    walk_out w;
    s->saving += pq_ok;
    int stopped = walk(s, h, max_sheep_send, max_wheat_receive, *budget, &w);
    s->saving -= pq_ok;
    if (stopped) return 1;
    out->book_send = w.sheep;
    out->book_recv = w.wheat;
    out->book_result = w.result;
    out->book_offers = w.crossed;
    int use_book = !pq_ok || (w.result == SOB_CONVERT_OK && (sob_u128)pq_to * (uint64_t)w.wheat >
                                                                (sob_u128)pq_from * (uint64_t)w.sheep);
    out->claims_start = claims_mark;
    out->book_claims_start = claims_mark;
    out->book_claims_count = s->nhop_claims - claims_mark;
    if (use_book) {
        *budget -= (int64_t)w.crossed; /* l.1737 */
        out->result = w.result;
        out->venue = SOB_VENUE_BOOK;
        out->amount_send = w.sheep;
        out->amount_recv = w.wheat;
        out->claims_count = s->nhop_claims - claims_mark;
        out->budget_after = *budget;
        return 0;
    }
    rollback(s, undo_mark);
    /* the walk's claims leave the hop's but stay readable: a quote shows the book walk core
     * computed, chosen or not (one conversion, not a second one without the pool) */
    if (out->book_claims_count) {
        size_t n = (size_t)out->book_claims_count;
        if (!grow_array((void **)&s->walk_claims, &s->cap_walk_claims, s->nwalk_claims + n, sizeof *s->walk_claims)) {
            s->nomem = 1;
            return 1;
        }
        memcpy(s->walk_claims + s->nwalk_claims, s->hop_claims + claims_mark, n * sizeof *s->walk_claims);
        out->book_claims_start = s->nwalk_claims;
        s->nwalk_claims += n;
    } else {
        out->book_claims_start = s->nwalk_claims;
    }
    out->book_rolled_back = 1;
    s->nhop_claims = claims_mark;
    if (s->protocol >= 27) { /* l.1740-1751: the walk's offers count */
        if ((sob_i128)w.crossed >= (sob_i128)*budget) {
            out->result = SOB_CONVERT_CROSSED_TOO_MANY;
            out->venue = SOB_VENUE_NONE;
            out->budget_after = *budget;
            return 0;
        }
        *budget -= (int64_t)w.crossed;
    }
    int64_t to_pool = 0, from_pool = 0;
    int ok;
    if (pool_exchange(s, h, max_sheep_send, max_wheat_receive, *budget, 1, &to_pool, &from_pool, &ok)) return 1;
    /* the dry run succeeded on the same reserves with a budget still >= 1: core ignores the
     * result here, and so would record 0/0 */
    if (!ok) to_pool = from_pool = 0;
    sob_claim c = {-1, 0, from_pool, to_pool, -1, h->wheat, h->sheep, SOB_CLAIM_LIQUIDITY_POOL, h->venue};
    if (PUSH(s, hop_claims, nhop_claims, cap_hop_claims, c)) return 1;
    *budget -= 1; /* l.1769 */
    out->result = SOB_CONVERT_OK;
    out->venue = SOB_VENUE_POOL;
    out->amount_send = to_pool;
    out->amount_recv = from_pool;
    out->claims_count = 1;
    out->budget_after = *budget;
    return 0;
}

/* ---- results -------------------------------------------------------------------------------- */

typedef struct code_name {
    sob_result code;
    const char *name;
    int xdr;
} code_name;

#define MS(x, v) {SOB_R_MANAGE_SELL_OFFER_##x, "MANAGE_SELL_OFFER_" #x, v}
#define MB(x, v) {SOB_R_MANAGE_BUY_OFFER_##x, "MANAGE_BUY_OFFER_" #x, v}
#define PS(x, v) {SOB_R_PATH_PAYMENT_STRICT_SEND_##x, "PATH_PAYMENT_STRICT_SEND_" #x, v}
#define PR(x, v) {SOB_R_PATH_PAYMENT_STRICT_RECEIVE_##x, "PATH_PAYMENT_STRICT_RECEIVE_" #x, v}

static const code_name NAMES[] = {
    {SOB_R_NONE, "NONE", 1},
    {SOB_R_CORE_WOULD_THROW, "CORE_WOULD_THROW", 1},
    {SOB_R_opNOT_SUPPORTED, "opNOT_SUPPORTED", -3},
    {SOB_R_opTOO_MANY_SUBENTRIES, "opTOO_MANY_SUBENTRIES", -4},
    {SOB_R_opEXCEEDED_WORK_LIMIT, "opEXCEEDED_WORK_LIMIT", -5},
    MS(SUCCESS, 0), MS(MALFORMED, -1), MS(SELL_NO_TRUST, -2), MS(BUY_NO_TRUST, -3), MS(SELL_NOT_AUTHORIZED, -4),
    MS(BUY_NOT_AUTHORIZED, -5), MS(LINE_FULL, -6), MS(UNDERFUNDED, -7), MS(CROSS_SELF, -8), MS(SELL_NO_ISSUER, -9),
    MS(BUY_NO_ISSUER, -10), MS(NOT_FOUND, -11), MS(LOW_RESERVE, -12),
    MB(SUCCESS, 0), MB(MALFORMED, -1), MB(SELL_NO_TRUST, -2), MB(BUY_NO_TRUST, -3), MB(SELL_NOT_AUTHORIZED, -4),
    MB(BUY_NOT_AUTHORIZED, -5), MB(LINE_FULL, -6), MB(UNDERFUNDED, -7), MB(CROSS_SELF, -8), MB(SELL_NO_ISSUER, -9),
    MB(BUY_NO_ISSUER, -10), MB(NOT_FOUND, -11), MB(LOW_RESERVE, -12),
    PS(SUCCESS, 0), PS(MALFORMED, -1), PS(UNDERFUNDED, -2), PS(SRC_NO_TRUST, -3), PS(SRC_NOT_AUTHORIZED, -4),
    PS(NO_DESTINATION, -5), PS(NO_TRUST, -6), PS(NOT_AUTHORIZED, -7), PS(LINE_FULL, -8), PS(NO_ISSUER, -9),
    PS(TOO_FEW_OFFERS, -10), PS(OFFER_CROSS_SELF, -11), PS(UNDER_DESTMIN, -12),
    PR(SUCCESS, 0), PR(MALFORMED, -1), PR(UNDERFUNDED, -2), PR(SRC_NO_TRUST, -3), PR(SRC_NOT_AUTHORIZED, -4),
    PR(NO_DESTINATION, -5), PR(NO_TRUST, -6), PR(NOT_AUTHORIZED, -7), PR(LINE_FULL, -8), PR(NO_ISSUER, -9),
    PR(TOO_FEW_OFFERS, -10), PR(OFFER_CROSS_SELF, -11), PR(OVER_SENDMAX, -12),
};

static const code_name *find_code(sob_result r) {
    for (size_t i = 0; i < sizeof NAMES / sizeof NAMES[0]; i++)
        if (NAMES[i].code == r) return &NAMES[i];
    return NULL;
}

const char *sob_result_name(sob_result r) {
    const code_name *c = find_code(r);
    return c ? c->name : "";
}

int sob_result_xdr(sob_result r) {
    const code_name *c = find_code(r);
    return c ? c->xdr : 1;
}

int sob_result_success(sob_result r) {
    return r == SOB_R_MANAGE_SELL_OFFER_SUCCESS || r == SOB_R_MANAGE_BUY_OFFER_SUCCESS ||
           r == SOB_R_PATH_PAYMENT_STRICT_SEND_SUCCESS || r == SOB_R_PATH_PAYMENT_STRICT_RECEIVE_SUCCESS;
}

void sob_dex_ctx_init(sob_dex_ctx *ctx) {
    memset(ctx, 0, sizeof *ctx);
    ctx->protocol = SOB_PROTOCOL_MAINNET;
    ctx->base_reserve = 5000000;
    ctx->max_offers_to_cross = SOB_MAX_OFFERS_TO_CROSS;
    ctx->account_subentry_limit = SOB_ACCOUNT_SUBENTRY_LIMIT;
}

static sob_status check_ctx(const sob_dex_ctx *ctx) {
    if (!ctx || ctx->protocol < SOB_PROTOCOL_MIN || ctx->max_offers_to_cross < 0 || ctx->id_pool < 0 ||
        ctx->id_pool == MAXI ||
        (ctx->flags & ~(SOB_CTX_POOL_TRADING_DISABLED | SOB_CTX_UNKNOWN_MISSING | SOB_CTX_SKIP_CHANGES)))
        return SOB_E_INVALID;
    return SOB_OK;
}

static int venue_valid(const sob_venue *v) {
    if (v->side != SOB_SIDE_BID && v->side != SOB_SIDE_ASK) return 0;
    if (v->pool_a_is_send != 0 && v->pool_a_is_send != 1) return 0;
    if (v->pool && v->pool->pad != 0) return 0;
    return 1;
}

static void result_init(sob_op_result *out, const sob_dex_ctx *ctx) {
    memset(out, 0, sizeof *out);
    out->id_pool = ctx->id_pool;
}

/* The outputs that always point into the scratch. */
static void result_views(S *s, sob_op_result *out) {
    out->hops = s->hops;
    out->nhops = s->nhops;
    out->hop_claims = s->hop_claims;
    out->nhop_claims = s->nhop_claims;
    out->walk_claims = s->walk_claims;
    out->nwalk_claims = s->nwalk_claims;
    out->claims = s->claims;
    out->nclaims = 0;
}

/* What a successful operation changes: entries that differ from the table / books / pools. */
static int collect_changes(S *s, sob_op_result *out) {
    for (size_t i = 0; i < s->ntouched; i += 3) {
        uint64_t key = s->touched[i + 1], asset = s->touched[i + 2];
        if (s->touched[i] == 0) {
            const sob_account *a = sob_hmap_get(&s->acc, key, 0); /* a[1]: as the table holds it */
            if (!a || memcmp(&a[1], a, sizeof *a) == 0) continue;
            sob_account_change c = {key, *a};
            if (PUSH(s, acc_out, nacc_out, cap_acc_out, c)) return 1;
        } else {
            const sob_trustline *t = sob_hmap_get(&s->tl, key, asset);
            if (!t || memcmp(&t[1], t, sizeof *t) == 0) continue;
            sob_trustline_change c = {key, (uint32_t)asset, 0, *t};
            if (PUSH(s, tl_out, ntl_out, cap_tl_out, c)) return 1;
        }
    }
    /* offers: per book side crossed, the prefix consumed is gone and the next offer may have less */
    for (size_t i = 0; i < s->nsides; i++) {
        const ov_side *os = &s->sides[i];
        const sob_offer_side *sd = &os->book->side[os->side];
        uint64_t p = 0, end = os->consumed + (os->has_partial ? 1 : 0);
        for (size_t ci = 0; ci < sd->nc && p < end; ci++) {
            const sob_chunk *c = sd->c[ci];
            for (uint32_t j = 0; j < c->len && p < end; j++, p++) {
                const sob_offer *o = &c->e[j];
                int64_t left = p < os->consumed ? 0 : os->partial;
                if (o->id == s->excluded || left == o->amount) continue;
                sob_offer_change oc = {os->book, os->side, 0, o->id, left};
                if (PUSH(s, off_out, noff_out, cap_off_out, oc)) return 1;
            }
        }
    }
    for (size_t i = 0; i < s->npools; i++) {
        const ov_pool *p = &s->pools[i];
        if (p->ra != p->pool->reserve_a || p->rb != p->pool->reserve_b)
            s->pool_out[s->npool_out++] = (sob_pool_change){p->pool, p->ra, p->rb};
    }
    out->accounts = s->acc_out;
    out->naccounts = s->nacc_out;
    out->trustlines = s->tl_out;
    out->ntrustlines = s->ntl_out;
    out->offers = s->off_out;
    out->noffers = s->noff_out;
    out->pools = s->pool_out;
    out->npools = s->npool_out;
    return 0;
}

/* Finish a call: a throw, out of memory, or the code reached. */
static sob_status finish(S *s, sob_op_result *out, int stopped) {
    result_views(s, out);
    if (s->nomem) return SOB_E_NOMEM;
    if (stopped) {
        out->code = SOB_R_CORE_WOULD_THROW;
        out->thrown = s->thrown;
        out->amounts_known = 0;
        out->offer_effect = SOB_OFFER_NONE;
        out->old_offer_removed = 0;
        out->id_pool = s->ctx->id_pool;
        return SOB_OK;
    }
    if (sob_result_success(out->code)) {
        out->claims = s->claims_reordered ? s->claims : s->hop_claims;
        out->nclaims = s->claims_reordered ? s->nclaims : s->nhop_claims;
        if (!(s->ctx->flags & SOB_CTX_SKIP_CHANGES) && collect_changes(s, out))
            return s->nomem ? SOB_E_NOMEM : SOB_OK;
    } else {
        out->offer_effect = SOB_OFFER_NONE;
        out->old_offer_removed = 0;
        out->id_pool = s->ctx->id_pool;
    }
    return SOB_OK;
}

/* ---- ManageSellOffer / ManageBuyOffer / CreatePassiveSellOffer ----------------------------- */

enum { M_SUCCESS = 0, M_MALFORMED, M_SELL_NO_TRUST, M_BUY_NO_TRUST, M_SELL_NOT_AUTHORIZED, M_BUY_NOT_AUTHORIZED,
       M_LINE_FULL, M_UNDERFUNDED, M_CROSS_SELF, M_SELL_NO_ISSUER, M_BUY_NO_ISSUER, M_NOT_FOUND, M_LOW_RESERVE };

/* ManageOfferOpFrameBase (checkOfferValid l.34-105, computeOfferExchangeParameters l.107-213,
 * doApply l.224-564, doCheckValid l.597-643) with ManageSellOfferOpFrame.cpp:45-81 and
 * ManageBuyOfferOpFrame.cpp:17-78. Returns 1 if core threw. */
static int manage(S *s, const sob_manage_op *op, const sob_venue *venue, const sob_offer_entry *existing,
                  sob_op_result *out) {
    const uint32_t P = s->protocol;
    const int is_buy = op->kind == SOB_OP_MANAGE_BUY_OFFER;
    const sob_result base = is_buy ? SOB_R_MANAGE_BUY_OFFER_SUCCESS : SOB_R_MANAGE_SELL_OFFER_SUCCESS;
    const uint64_t source = op->source;
    const uint32_t sheep = op->selling, wheat = op->buying;
    const int64_t amount_field = op->amount;
    const int64_t offer_id = op->kind == SOB_OP_CREATE_PASSIVE_SELL_OFFER ? 0 : op->offer_id;
    /* ManageBuyOffer stores the inverse price (getInversePrice, ManageBuyOfferOpFrame.cpp:17-31) */
    const int32_t pn = is_buy ? op->d : op->n, pd = is_buy ? op->n : op->d;
#define CODE(x) (out->code = (sob_result)(base + (x)), 0)
    if (is_buy && P < 11) return (out->code = SOB_R_opNOT_SUPPORTED, 0); /* l.33-38 */
    /* doCheckValid (l.597-643) */
    if (sheep == wheat) return CODE(M_MALFORMED);
    if (amount_field < 0 || pd <= 0 || pn <= 0) return CODE(M_MALFORMED);
    const int is_delete = amount_field == 0;
    if (offer_id == 0 && is_delete) return CODE(P >= 11 ? M_MALFORMED : M_NOT_FOUND); /* l.620-633 */
    if (P >= 15 && offer_id < 0) return CODE(M_MALFORMED);                            /* l.635-640 */
    if (!account_exists(s, source)) { /* txNO_ACCOUNT: a transaction-level check, not modelled */
        s->no_source = 1;
        return 1;
    }
    /* the op's offer liabilities (ManageSellOfferOpFrame.cpp:57-73 / ManageBuyOfferOpFrame.cpp:52-68) */
    sob_exchange lx;
    sob_throw t;
    if (is_buy)
        sob_exchange_v10_raw(pn, pd, MAXI, MAXI, MAXI, amount_field, SOB_ROUND_NORMAL, &lx, &t);
    else
        sob_exchange_v10_raw(pn, pd, amount_field, MAXI, MAXI, MAXI, SOB_ROUND_NORMAL, &lx, &t);
    if (t) return fail(s, t);
    const int64_t op_buying_liab = lx.sheep, op_selling_liab = lx.wheat;
    /* checkOfferValid (l.34-105) */
    if (!is_delete) {
        for (int which = 0; which < 2; which++) {
            uint32_t asset = which == 0 ? sheep : wheat;
            if (asset == SOB_ASSET_ID_NATIVE) continue;
            if (P < 13) {
                uint64_t issuer = issuer_of(s, asset);
                if (!account_exists(s, issuer)) return CODE(which == 0 ? M_SELL_NO_ISSUER : M_BUY_NO_ISSUER);
            }
            line ln;
            load(s, source, asset, &ln);
            if (ln.kind == L_NONE) return CODE(which == 0 ? M_SELL_NO_TRUST : M_BUY_NO_TRUST);
            if (which == 0 && line_balance(&ln) == 0) return CODE(M_UNDERFUNDED);
            if (!line_authorized(&ln)) return CODE(which == 0 ? M_SELL_NOT_AUTHORIZED : M_BUY_NOT_AUTHORIZED);
        }
    }
    int creating = 0, passive;
    uint32_t flags;
    uint64_t sponsor = 0;
    if (offer_id) { /* l.248-285: modifying an existing offer */
        if (!existing || existing->offer_id != offer_id || existing->seller != source) return CODE(M_NOT_FOUND);
        if (offer_liabilities_move(s, source, existing->selling, existing->buying, existing->n, existing->d,
                                   existing->amount, 0))
            return 1;
        flags = existing->flags;
        passive = (flags & SOB_OFFER_PASSIVE) != 0;
        sponsor = existing->sponsor;
        out->old_offer_removed = 1; /* numSubEntries deliberately not updated here (l.276-284) */
    } else { /* l.286-327 */
        creating = 1;
        passive = op->kind == SOB_OP_CREATE_PASSIVE_SELL_OFFER;
        flags = passive ? SOB_OFFER_PASSIVE : 0;
        if (P >= 14 && known(s, source)) {
            int res;
            if (can_create_offer(s, source, &res)) return 1;
            if (res == 2) return CODE(M_LOW_RESERVE);
            if (res == 1) return (out->code = SOB_R_opTOO_MANY_SUBENTRIES, 0);
            sob_account *a = acc_get(s, source);
            if (save_acc(s, source, a)) return 1;
            acc_get(s, source)->num_sub_entries += 1; /* createEntryWithoutSponsorship */
        }
    }
    int64_t sheep_sent = 0, wheat_received = 0, amount = 0;
    if (!is_delete) {
        /* computeOfferExchangeParameters (l.107-213), on a LedgerTxn that is rolled back */
        size_t mark = s->nundo;
        s->saving++;
        if (P < 14 && creating && known(s, source)) {
            int res;
            if (can_create_offer(s, source, &res)) return 1;
            if (res == 2) return CODE(M_LOW_RESERVE);
            if (res == 1) return (out->code = SOB_R_opTOO_MANY_SUBENTRIES, 0);
            sob_account *a = acc_get(s, source);
            if (save_acc(s, source, a)) return 1;
            acc_get(s, source)->num_sub_entries += 1;
        }
        int64_t max_wheat_receive, max_sheep_send;
        line wl, sl;
        pin(s, 1, 2);
        load(s, source, wheat, &wl);
        load(s, source, sheep, &sl);
        if (can_buy_at_most(s, &wl, &max_wheat_receive)) return 1;
        if (can_sell_at_most(s, &sl, &max_sheep_send)) return 1;
        sob_i128 lim;
        if (max_receive(s, &wl, &lim)) return 1;         /* l.170-173 */
        if (lim < op_buying_liab) return CODE(M_LINE_FULL); /* l.174-178 */
        if (available_balance(s, &sl, &lim)) return 1;      /* l.195-198 */
        if (lim < op_selling_liab) return CODE(M_UNDERFUNDED); /* l.199-203 */
        rollback(s, mark);
        s->saving--;
        /* applyOperationSpecificLimits (l.205) */
        if (is_buy) {
            if (amount_field < max_wheat_receive) max_wheat_receive = amount_field;
        } else if (amount_field < max_sheep_send) {
            max_sheep_send = amount_field;
        }
        if (max_wheat_receive == 0) return CODE(M_LINE_FULL); /* l.341-346 */
        int64_t budget = P >= 11 ? s->ctx->max_offers_to_cross : MAXI; /* l.348-354 */
        walk_filter f = {1, passive, pd, pn, source, offer_id ? offer_id : -1}; /* maxWheatPrice = (d, n), l.358 */
        s->excluded = f.excluded;
        hop_args h = {0, venue, sheep, wheat, SOB_ROUND_NORMAL, &f};
        if (convert(s, &h, max_sheep_send, max_wheat_receive, &budget, &s->hops[0])) return 1;
        s->nhops = 1;
        const sob_hop *hop = &s->hops[0];
        if (hop->result == SOB_CONVERT_STOP_CROSS_SELF) return CODE(M_CROSS_SELF);
        if (hop->result == SOB_CONVERT_CROSSED_TOO_MANY) return (out->code = SOB_R_opEXCEEDED_WORK_LIMIT, 0);
        int sheep_stays = hop->result != SOB_CONVERT_OK; /* l.389-399 */
        sheep_sent = hop->amount_send;
        wheat_received = hop->amount_recv;
        /* the taker's lines again: the walk may have added overlay entries (moving them) */
        pin(s, 1, 2);
        load(s, source, wheat, &wl);
        load(s, source, sheep, &sl);
        if (wheat_received > 0) { /* l.417-456 */
            int ok;
            if (wl.kind == L_NONE) return fail(s, SOB_THROW_CLAIMED_OVER_LIMIT);
            if (add_balance(s, &wl, wheat_received, &ok)) return 1;
            if (!ok) return fail(s, SOB_THROW_CLAIMED_OVER_LIMIT);
            if (sl.kind == L_NONE) return fail(s, SOB_THROW_SOLD_OVER_BALANCE);
            if (add_balance(s, &sl, -sheep_sent, &ok)) return 1;
            if (!ok) return fail(s, SOB_THROW_SOLD_OVER_BALANCE);
        }
        if (sheep_stays) { /* l.461-477 */
            int64_t sell_limit, buy_limit;
            if (can_sell_at_most(s, &sl, &sell_limit) || can_buy_at_most(s, &wl, &buy_limit)) return 1;
            if (is_buy) {
                if (amount_field - wheat_received < buy_limit) buy_limit = amount_field - wheat_received;
            } else if (amount_field - sheep_sent < sell_limit) {
                sell_limit = amount_field - sheep_sent;
            }
            if (adjust(s, pn, pd, sell_limit, buy_limit, &amount)) return 1;
        }
    }
    if (amount > 0) { /* l.490-543 */
        int64_t new_id;
        if (creating) {
            if (P < 14 && known(s, source)) { /* l.495-521 */
                int res;
                if (can_create_offer(s, source, &res)) return 1;
                if (res == 2) return CODE(M_LOW_RESERVE);
                if (res == 1) return (out->code = SOB_R_opTOO_MANY_SUBENTRIES, 0);
                sob_account *a = acc_get(s, source);
                if (save_acc(s, source, a)) return 1;
                acc_get(s, source)->num_sub_entries += 1;
            }
            new_id = s->ctx->id_pool + 1; /* generateID (TransactionUtils.cpp:745-749) */
            out->id_pool = new_id;
            out->offer_effect = SOB_OFFER_CREATED;
        } else {
            new_id = offer_id;
            out->offer_effect = SOB_OFFER_UPDATED;
        }
        sob_offer_entry e = {new_id, source, sponsor, sheep, wheat, amount, pn, pd, flags, 0};
        out->offer = e;
        if (offer_liabilities_move(s, source, sheep, wheat, pn, pd, amount, 1)) return 1; /* l.538-542 */
    } else { /* l.544-556 */
        out->offer_effect = SOB_OFFER_DELETED;
        if (!creating || P >= 14) {
            if (remove_offer_entry(s, source, sponsor)) return 1;
        }
    }
    out->amounts_known = 1;
    out->sent = sheep_sent;
    out->received = wheat_received;
    return CODE(M_SUCCESS); /* the result's offers are the hop's (l.401-406): see finish() */
#undef CODE
}

sob_status sob_manage_offer(const sob_dex_ctx *ctx, const sob_manage_op *op, const sob_venue *venue,
                            const sob_offer_entry *existing, sob_dex_scratch *s, sob_op_result *out) {
    if (!out) return SOB_E_INVALID;
    sob_status st = check_ctx(ctx);
    if (st) return st;
    result_init(out, ctx);
    if (!op || !venue || !s || !venue_valid(venue) || op->pad != 0) return SOB_E_INVALID;
    if (op->kind != SOB_OP_MANAGE_SELL_OFFER && op->kind != SOB_OP_MANAGE_BUY_OFFER &&
        op->kind != SOB_OP_CREATE_PASSIVE_SELL_OFFER)
        return SOB_E_INVALID;
    scratch_reset(s, ctx);
    s->venues = venue;
    s->nvenues = 1;
    int stopped = manage(s, op, venue, existing, out);
    if (s->no_source) return s->nomem ? SOB_E_NOMEM : SOB_E_NOT_FOUND;
    return finish(s, out, stopped);
}

/* ---- path payments -------------------------------------------------------------------------- */

enum { P_SUCCESS = 0, P_MALFORMED, P_UNDERFUNDED, P_SRC_NO_TRUST, P_SRC_NOT_AUTHORIZED, P_NO_DESTINATION, P_NO_TRUST,
       P_NOT_AUTHORIZED, P_LINE_FULL, P_NO_ISSUER, P_TOO_FEW_OFFERS, P_OFFER_CROSS_SELF, P_LAST };

/* checkIssuer (PathPaymentOpFrameBase.cpp:76-91): before protocol 13 the issuer must exist. */
static int issuer_ok(S *s, uint32_t asset) {
    if (asset == SOB_ASSET_ID_NATIVE || s->protocol >= 13) return 1;
    return account_exists(s, issuer_of(s, asset));
}

/* updateSourceBalance (PathPaymentOpFrameBase.cpp:167-237): *code = -1 or the failure. */
static int debit_source(S *s, uint64_t source, uint32_t asset, int64_t amount, int bypass, int *code) {
    *code = -1;
    int ok;
    line ln;
    if (asset == SOB_ASSET_ID_NATIVE) {
        load(s, source, asset, &ln);
        sob_i128 avail;
        if (available_balance(s, &ln, &avail)) return 1;
        if (amount > avail) {
            *code = P_UNDERFUNDED;
            return 0;
        }
        if (add_balance(s, &ln, -amount, &ok)) return 1;
        return ok ? 0 : fail(s, SOB_THROW_SOURCE_DEBIT);
    }
    if (!bypass && !issuer_ok(s, asset)) {
        *code = P_NO_ISSUER;
        return 0;
    }
    load(s, source, asset, &ln);
    if (ln.kind == L_NONE) {
        *code = P_SRC_NO_TRUST;
        return 0;
    }
    if (!line_authorized(&ln)) {
        *code = P_SRC_NOT_AUTHORIZED;
        return 0;
    }
    if (add_balance(s, &ln, -amount, &ok)) return 1;
    if (!ok) *code = P_UNDERFUNDED;
    return 0;
}

/* updateDestBalance (PathPaymentOpFrameBase.cpp:239-294) */
static int credit_destination(S *s, uint64_t dest, uint32_t asset, int64_t amount, int bypass, int *code) {
    *code = -1;
    int ok;
    line ln;
    if (asset == SOB_ASSET_ID_NATIVE) {
        load(s, dest, asset, &ln);
        if (ln.kind == L_NONE) return fail(s, SOB_THROW_ASSERT); /* the destination exists (checked) */
        if (add_balance(s, &ln, amount, &ok)) return 1;
        if (!ok) *code = s->protocol >= 11 ? P_LINE_FULL : P_MALFORMED; /* l.251-264 */
        return 0;
    }
    if (!bypass && !issuer_ok(s, asset)) {
        *code = P_NO_ISSUER;
        return 0;
    }
    load(s, dest, asset, &ln);
    if (ln.kind == L_NONE) {
        *code = P_NO_TRUST;
        return 0;
    }
    if (!line_authorized(&ln)) {
        *code = P_NOT_AUTHORIZED;
        return 0;
    }
    if (add_balance(s, &ln, amount, &ok)) return 1;
    if (!ok) *code = P_LINE_FULL;
    return 0;
}

/* PathPaymentOpFrameBase::convert (l.93-152): *code = -1 or the failure (-2: opEXCEEDED_WORK_LIMIT). */
static int path_convert(S *s, const hop_args *h, int64_t max_send, int64_t max_recv, int strict_send,
                        int64_t *budget, sob_hop *hop, int *code) {
    *code = -1;
    if (h->sheep == h->wheat) return fail(s, SOB_THROW_ASSERT); /* l.103 */
    if (convert(s, h, max_send, max_recv, budget, hop)) return 1;
    if (hop->amount_send < 0 || hop->amount_recv < 0) return fail(s, SOB_THROW_ASSERT); /* l.127 */
    switch (hop->result) {
    case SOB_CONVERT_STOP_CROSS_SELF:
        *code = P_OFFER_CROSS_SELF;
        return 0;
    case SOB_CONVERT_OK:
        /* checkTransfer (StrictSend l.174-180, StrictReceive l.181-188): the walk may end eOK with
         * less than the whole amount (the taker's int64 budget ran out, the last offer stayed) */
        if (strict_send ? hop->amount_send != max_send : hop->amount_recv != max_recv) *code = P_TOO_FEW_OFFERS;
        return 0;
    case SOB_CONVERT_PARTIAL:
        *code = P_TOO_FEW_OFFERS;
        return 0;
    case SOB_CONVERT_CROSSED_TOO_MANY:
        *code = -2;
        return 0;
    default:
        return fail(s, SOB_THROW_ASSERT); /* l.148: a path payment has no price filter */
    }
}

/* shouldBypassIssuerCheck (PathPaymentOpFrameBase.cpp:154-165) */
static int bypass_issuer(S *s, const sob_path_op *op) {
    uint32_t send = op->assets[0], dest = op->assets[op->nassets - 1];
    return dest != SOB_ASSET_ID_NATIVE && op->nassets == 2 && send == dest && s->table &&
           sob_accounts_issuer(s->table, dest) == op->destination && op->destination != 0;
}

/* PathPaymentStrictSend (PathPaymentStrictSendOpFrame.cpp doApply l.42-146, doCheckValid
 * l.148-172) and StrictReceive (PathPaymentStrictReceiveOpFrame.cpp doApply l.36-153, doCheckValid
 * l.155-179). */
static int path(S *s, const sob_path_op *op, const sob_venue *venues, sob_op_result *out) {
    const int strict_send = op->kind == SOB_OP_PATH_PAYMENT_STRICT_SEND;
    const sob_result base =
        strict_send ? SOB_R_PATH_PAYMENT_STRICT_SEND_SUCCESS : SOB_R_PATH_PAYMENT_STRICT_RECEIVE_SUCCESS;
    const uint32_t last = op->nassets - 1;
    const uint32_t send_asset = op->assets[0], dest_asset = op->assets[last];
    int code;
#define CODE(x) (out->code = (sob_result)(base + (x)), 0)
    if (strict_send && s->protocol < 12) return (out->code = SOB_R_opNOT_SUPPORTED, 0); /* l.26-31 */
    if (op->send <= 0 || op->dest <= 0) return CODE(P_MALFORMED);
    if (!account_exists(s, op->source)) { /* txNO_ACCOUNT: a transaction-level check, not modelled */
        s->no_source = 1;
        return 1;
    }
    const int bypass = bypass_issuer(s, op);
    if (!bypass && !account_exists(s, op->destination)) return CODE(P_NO_DESTINATION);
    walk_filter f = {0, 0, 1, 1, op->source, -1}; /* PathPaymentOpFrameBase.cpp:109-122 */
    hop_args h = {0, NULL, 0, 0, strict_send ? SOB_ROUND_STRICT_SEND : SOB_ROUND_STRICT_RECEIVE, &f};
    if (strict_send) {
        if (debit_source(s, op->source, send_asset, op->send, bypass, &code)) return 1;
        if (code >= 0) return CODE(code);
        uint32_t send = send_asset;
        int64_t amount = op->send;
        int64_t budget = s->ctx->max_offers_to_cross; /* l.87 */
        for (uint32_t i = 1; i <= last; i++) {
            uint32_t recv = op->assets[i];
            if (recv == send) continue;
            if (!issuer_ok(s, recv)) return CODE(P_NO_ISSUER);
            h.venue = (int)(i - 1);
            h.v = &venues[i - 1];
            h.sheep = send;
            h.wheat = recv;
            sob_hop *hop = &s->hops[s->nhops];
            if (path_convert(s, &h, amount, MAXI, 1, &budget, hop, &code)) return 1;
            s->nhops++;
            if (code == -2) return (out->code = SOB_R_opEXCEEDED_WORK_LIMIT, 0);
            if (code >= 0) return CODE(code);
            amount = hop->amount_recv;
            send = recv;
        }
        out->sent = op->send;
        out->received = amount;
        out->amounts_known = 1;
        if (amount < op->dest) return CODE(P_LAST); /* UNDER_DESTMIN, l.120-124 */
        if (credit_destination(s, op->destination, dest_asset, amount, bypass, &code)) return 1;
        if (code >= 0) return CODE(code);
        return CODE(P_SUCCESS); /* claims in execution order: the hops' (see finish()) */
    }
    if (credit_destination(s, op->destination, dest_asset, op->dest, bypass, &code)) return 1; /* l.73-77 */
    if (code >= 0) return CODE(code);
    uint32_t recv = dest_asset;
    int64_t amount = op->dest;
    int64_t budget = s->protocol >= 11 ? s->ctx->max_offers_to_cross : MAXI; /* l.92-97 */
    for (uint32_t i = last; i-- > 0;) {
        uint32_t send = op->assets[i];
        if (recv == send) continue;
        if (!issuer_ok(s, send)) return CODE(P_NO_ISSUER);
        h.venue = (int)i;
        h.v = &venues[i];
        h.sheep = send;
        h.wheat = recv;
        sob_hop *hop = &s->hops[s->nhops];
        if (path_convert(s, &h, MAXI, amount, 0, &budget, hop, &code)) return 1;
        s->nhops++;
        if (code == -2) return (out->code = SOB_R_opEXCEEDED_WORK_LIMIT, 0);
        if (code >= 0) return CODE(code);
        amount = hop->amount_send;
        recv = send;
    }
    out->sent = amount;
    out->received = op->dest;
    out->amounts_known = 1;
    if (amount > op->send) return CODE(P_LAST); /* OVER_SENDMAX, l.130-134 */
    if (debit_source(s, op->source, send_asset, amount, bypass, &code)) return 1;
    if (code >= 0) return CODE(code);
    /* claims in path order: each hop's inserted in front (l.124-127) */
    if (!grow_array((void **)&s->claims, &s->cap_claims, s->nhop_claims, sizeof *s->claims)) {
        s->nomem = 1;
        return 1;
    }
    for (size_t k = s->nhops; k-- > 0;) {
        const sob_hop *hp = &s->hops[k];
        memcpy(s->claims + s->nclaims, s->hop_claims + hp->claims_start, hp->claims_count * sizeof *s->claims);
        s->nclaims += hp->claims_count;
    }
    s->claims_reordered = 1;
    return CODE(P_SUCCESS);
#undef CODE
}

sob_status sob_path_payment(const sob_dex_ctx *ctx, const sob_path_op *op, const sob_venue *venues,
                            sob_dex_scratch *s, sob_op_result *out) {
    if (!out) return SOB_E_INVALID;
    sob_status st = check_ctx(ctx);
    if (st) return st;
    result_init(out, ctx);
    if (!op || !s || (op->kind != SOB_OP_PATH_PAYMENT_STRICT_SEND && op->kind != SOB_OP_PATH_PAYMENT_STRICT_RECEIVE))
        return SOB_E_INVALID;
    if (op->nassets < 2 || op->nassets > SOB_MAX_PATH + 2 || !venues) return SOB_E_INVALID;
    for (uint32_t i = 0; i + 1 < op->nassets; i++)
        if (!venue_valid(&venues[i])) return SOB_E_INVALID;
    scratch_reset(s, ctx);
    s->venues = venues;
    s->nvenues = op->nassets - 1;
    int stopped = path(s, op, venues, out);
    if (s->no_source) return s->nomem ? SOB_E_NOMEM : SOB_E_NOT_FOUND;
    return finish(s, out, stopped);
}

sob_status sob_convert_hop(const sob_dex_ctx *ctx, const sob_hop_op *op, const sob_venue *venue, sob_dex_scratch *s,
                           sob_op_result *out) {
    if (!out) return SOB_E_INVALID;
    sob_status st = check_ctx(ctx);
    if (st) return st;
    result_init(out, ctx);
    if (!op || !venue || !s || !venue_valid(venue) || op->pad != 0 || op->amount < 0 || op->budget < 0 ||
        op->send_asset == op->recv_asset ||
        (op->round != SOB_ROUND_STRICT_SEND && op->round != SOB_ROUND_STRICT_RECEIVE))
        return SOB_E_INVALID;
    scratch_reset(s, ctx);
    s->venues = venue;
    s->nvenues = 1;
    const int strict_send = op->round == SOB_ROUND_STRICT_SEND;
    const sob_result base =
        strict_send ? SOB_R_PATH_PAYMENT_STRICT_SEND_SUCCESS : SOB_R_PATH_PAYMENT_STRICT_RECEIVE_SUCCESS;
    walk_filter f = {0, 0, 1, 1, op->taker, -1};
    hop_args h = {0, venue, op->send_asset, op->recv_asset, (sob_rounding)op->round, &f};
    int64_t budget = op->budget;
    int code;
    int stopped = path_convert(s, &h, strict_send ? op->amount : MAXI, strict_send ? MAXI : op->amount, strict_send,
                               &budget, &s->hops[0], &code);
    if (!stopped) {
        s->nhops = 1;
        out->amounts_known = 1;
        out->sent = s->hops[0].amount_send;
        out->received = s->hops[0].amount_recv;
        if (code == -2)
            out->code = SOB_R_opEXCEEDED_WORK_LIMIT;
        else
            out->code = (sob_result)(base + (code >= 0 ? code : P_SUCCESS));
    }
    return finish(s, out, stopped);
}

sob_status sob_accounts_apply_result(sob_accounts *t, const sob_op_result *r) {
    if (!t || !r || !sob_result_success(r->code)) return SOB_E_INVALID;
    for (size_t i = 0; i < r->naccounts; i++) {
        sob_status st = sob_accounts_set_account(t, r->accounts[i].key, &r->accounts[i].after);
        if (st) return st;
    }
    for (size_t i = 0; i < r->ntrustlines; i++) {
        sob_status st = sob_accounts_set_trustline(t, r->trustlines[i].key, r->trustlines[i].asset,
                                                   &r->trustlines[i].after);
        if (st) return st;
    }
    return SOB_OK;
}
