/* offerbook.c: the per-offer book (see offerbook.h) and core's convertWithOffers over it. */
#include "offerbook.h"

#include <stdlib.h>
#include <string.h>

/* ---- ordering ------------------------------------------------------------------------------ */

static inline double order_key(int32_t n, int32_t d) { /* order key, as core orders offers */
    return (double)n / (double)d; /* order key: core isBetterOffer uses double(n)/double(d) */
}

/* -1, 0, 1 comparing (ka, ia) with (kb, ib). */
static inline int cmp_pos(double ka, int64_t ia, double kb, int64_t ib) { /* order key compare */
    if (ka < kb) return -1; /* order key */
    if (ka > kb) return 1;  /* order key */
    return (ia > ib) - (ia < ib);
}

/* ---- id hash ------------------------------------------------------------------------------- */

static inline size_t hash_id(int64_t id) {
    uint64_t x = (uint64_t)id;
    x ^= x >> 30;
    x *= 0xbf58476d1ce4e5b9ULL;
    x ^= x >> 27;
    x *= 0x94d049bb133111ebULL;
    x ^= x >> 31;
    return (size_t)x;
}

static sob_id_slot *slot_find(const sob_offerbook *b, int64_t id) {
    /* -1 marks an empty slot, so a negative id must never be looked up (it would "find" one). */
    if (!b->slots || id < 0) return NULL;
    size_t i = hash_id(id) & b->mask;
    for (;;) {
        sob_id_slot *s = &b->slots[i];
        if (s->id == id) return s;
        if (s->id < 0) return NULL;
        i = (i + 1) & b->mask;
    }
}

static void slot_put_raw(sob_id_slot *slots, size_t mask, const sob_id_slot *v) {
    size_t i = hash_id(v->id) & mask;
    while (slots[i].id >= 0) i = (i + 1) & mask;
    slots[i] = *v;
}

static sob_status slot_reserve(sob_offerbook *b) {
    size_t size = b->slots ? b->mask + 1 : 0;
    if ((b->used + 1) * 2 <= size) return SOB_OK;
    size_t nsize = size ? size * 2 : 64;
    sob_id_slot *ns = malloc(nsize * sizeof *ns);
    if (!ns) return SOB_E_NOMEM;
    for (size_t i = 0; i < nsize; i++) ns[i].id = -1;
    for (size_t i = 0; i < size; i++)
        if (b->slots[i].id >= 0) slot_put_raw(ns, nsize - 1, &b->slots[i]);
    free(b->slots);
    b->slots = ns;
    b->mask = nsize - 1;
    return SOB_OK;
}

/* Backward-shift deletion keeps linear probing without tombstones. */
static void slot_delete(sob_offerbook *b, sob_id_slot *s) {
    size_t i = (size_t)(s - b->slots), j = i;
    for (;;) {
        j = (j + 1) & b->mask;
        if (b->slots[j].id < 0) break;
        size_t home = hash_id(b->slots[j].id) & b->mask;
        /* move j back to i if home is not cyclically in (i, j] */
        int in_range = (i <= j) ? (home > i && home <= j) : (home > i || home <= j);
        if (!in_range) {
            b->slots[i] = b->slots[j];
            i = j;
        }
    }
    b->slots[i].id = -1;
    b->used--;
}

/* ---- chunked sides ------------------------------------------------------------------------- */

/* Index of the first chunk whose last offer is >= (key, id); nc if none. */
static size_t chunk_lower(const sob_offer_side *s, double key, int64_t id) { /* order key, as core orders offers */
    size_t lo = 0, hi = s->nc;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        const sob_chunk *c = s->c[mid];
        const sob_offer *last = &c->e[c->len - 1];
        if (cmp_pos(last->key, last->id, key, id) < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

/* Position of the first offer >= (key, id) in a chunk. */
static uint32_t pos_lower(const sob_chunk *c, double key, int64_t id) { /* order key, as core orders offers */
    uint32_t lo = 0, hi = c->len;
    while (lo < hi) {
        uint32_t mid = (lo + hi) / 2;
        if (cmp_pos(c->e[mid].key, c->e[mid].id, key, id) < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

static sob_status side_insert_chunk(sob_offer_side *s, size_t at, sob_chunk *c) {
    if (s->nc == s->cap) {
        size_t ncap = s->cap ? s->cap * 2 : 2;
        sob_chunk **nv = realloc(s->c, ncap * sizeof *nv);
        if (!nv) return SOB_E_NOMEM;
        s->c = nv;
        s->cap = ncap;
    }
    memmove(&s->c[at + 1], &s->c[at], (s->nc - at) * sizeof *s->c);
    s->c[at] = c;
    s->nc++;
    return SOB_OK;
}

static sob_chunk *chunk_new(uint32_t cap) {
    sob_chunk *c = malloc(sizeof *c + (size_t)cap * sizeof(sob_offer));
    if (c) {
        c->len = 0;
        c->cap = cap;
    }
    return c;
}

/* Reallocate chunk ci of a side to `cap` offers (>= its length): 1, or 0 when out of memory (the
 * chunk is then as it was). */
static int chunk_resize(sob_offer_side *s, size_t ci, uint32_t cap) {
    sob_chunk *c = realloc(s->c[ci], sizeof *c + (size_t)cap * sizeof(sob_offer));
    if (!c) return 0;
    c->cap = cap;
    s->c[ci] = c;
    return 1;
}

static inline uint32_t chunk_room(uint32_t len) { /* the capacity for len offers and a few more */
    uint32_t cap = len + SOB_CHUNK_STEP;
    return cap > SOB_CHUNK_CAP ? SOB_CHUNK_CAP : cap;
}

static sob_status side_insert(sob_offer_side *s, const sob_offer *o) {
    if (s->nc == 0) {
        sob_chunk *c = chunk_new(SOB_CHUNK_STEP);
        if (!c) return SOB_E_NOMEM;
        sob_status st = side_insert_chunk(s, 0, c);
        if (st != SOB_OK) {
            free(c);
            return st;
        }
    }
    size_t ci = s->c[0]->len == 0 ? 0 : chunk_lower(s, o->key, o->id); /* a new side: one empty chunk */
    if (ci == s->nc) ci = s->nc - 1;
    sob_chunk *c = s->c[ci];
    if (c->len == SOB_CHUNK_CAP) {
        uint32_t half = SOB_CHUNK_CAP / 2;
        sob_chunk *nc = chunk_new(chunk_room(SOB_CHUNK_CAP - half));
        if (!nc) return SOB_E_NOMEM;
        memcpy(nc->e, &c->e[half], (SOB_CHUNK_CAP - half) * sizeof(sob_offer));
        nc->len = SOB_CHUNK_CAP - half;
        sob_status st = side_insert_chunk(s, ci + 1, nc);
        if (st != SOB_OK) {
            free(nc);
            return st;
        }
        c->len = half;
        chunk_resize(s, ci, chunk_room(half)); /* shrinking: keeps the chunk as it is if it fails */
        c = s->c[ci];
        const sob_offer *last = &c->e[half - 1];
        if (cmp_pos(last->key, last->id, o->key, o->id) < 0) {
            c = nc;
            ci++;
        }
    }
    if (c->len == c->cap) {
        if (!chunk_resize(s, ci, chunk_room(c->len))) return SOB_E_NOMEM;
        c = s->c[ci];
    }
    uint32_t p = pos_lower(c, o->key, o->id);
    memmove(&c->e[p + 1], &c->e[p], (c->len - p) * sizeof(sob_offer));
    c->e[p] = *o;
    c->len++;
    s->count++;
    return SOB_OK;
}

/* Find an offer known to be on this side: its chunk index and position. */
static sob_offer *side_locate(const sob_offer_side *s, double key, int64_t id, size_t *ci_out, uint32_t *p_out) { /* order key, as core orders offers */
    size_t ci = chunk_lower(s, key, id);
    if (ci == s->nc) return NULL;
    sob_chunk *c = s->c[ci];
    uint32_t p = pos_lower(c, key, id);
    if (p == c->len || c->e[p].id != id) return NULL;
    if (ci_out) *ci_out = ci;
    if (p_out) *p_out = p;
    return &c->e[p];
}

/* Never allocates (a chunk only shrinks, and a failed shrink keeps it as it was). */
static void side_erase(sob_offer_side *s, size_t ci, uint32_t p) {
    sob_chunk *c = s->c[ci];
    memmove(&c->e[p], &c->e[p + 1], (c->len - p - 1) * sizeof(sob_offer));
    c->len--;
    s->count--;
    if (c->len == 0) {
        free(c);
        memmove(&s->c[ci], &s->c[ci + 1], (s->nc - ci - 1) * sizeof *s->c);
        s->nc--;
        return;
    }
    if (ci + 1 < s->nc && c->len + s->c[ci + 1]->len <= SOB_CHUNK_CAP / 2) {
        /* merge small neighbours so the chunk list stays short: into whichever has the room */
        sob_chunk *nx = s->c[ci + 1];
        uint32_t sum = c->len + nx->len;
        if (c->cap >= sum) {
            memcpy(&c->e[c->len], nx->e, nx->len * sizeof(sob_offer));
            c->len = sum;
            free(nx);
            memmove(&s->c[ci + 1], &s->c[ci + 2], (s->nc - ci - 2) * sizeof *s->c);
            s->nc--;
        } else if (nx->cap >= sum) {
            memmove(&nx->e[c->len], nx->e, nx->len * sizeof(sob_offer));
            memcpy(nx->e, c->e, c->len * sizeof(sob_offer));
            nx->len = sum;
            free(c);
            memmove(&s->c[ci], &s->c[ci + 1], (s->nc - ci - 1) * sizeof *s->c);
            s->nc--;
        }
        c = s->c[ci];
    }
    if (c->cap >= c->len + 3 * SOB_CHUNK_STEP) chunk_resize(s, ci, chunk_room(c->len));
}

static void side_free(sob_offer_side *s) {
    for (size_t i = 0; i < s->nc; i++) free(s->c[i]);
    free(s->c);
    s->c = NULL;
    s->nc = s->cap = s->count = 0;
}

/* ---- seller handles (see sob_sellers in offerbook.h) ------------------------------------- */

static void sellers_free(sob_sellers *s) {
    free(s->slot);
    free(s->free_stack);
    free(s->released);
    memset(s, 0, sizeof *s);
}

/* Double the handle space. Every array has room for every handle, so nothing else allocates. */
static sob_status sellers_grow(sob_sellers *s) {
    size_t old = s->cap, cap = old ? old * 2 : 16;
    if (cap > (size_t)UINT32_MAX) return SOB_E_LIMIT;
    sob_seller_slot *slot = realloc(s->slot, cap * sizeof *slot);
    if (!slot) return SOB_E_NOMEM;
    s->slot = slot;
    memset(slot + old, 0, (cap - old) * sizeof *slot);
    uint64_t *fs = realloc(s->free_stack, cap * sizeof *fs);
    if (!fs) return SOB_E_NOMEM;
    s->free_stack = fs;
    uint64_t *rel = realloc(s->released, cap * sizeof *rel);
    if (!rel) return SOB_E_NOMEM;
    s->released = rel;
    /* new handles go on the free stack highest first, so the lowest comes out first (0 is none) */
    for (size_t h = cap; h-- > (old ? old : 1);) s->free_stack[s->nfree++] = h;
    s->cap = cap;
    return SOB_OK;
}

static inline int seller_usable(const sob_sellers *s, uint64_t h) {
    return h == 0 || (h < s->cap && s->slot[h].state != SOB_SELLER_FREE && s->slot[h].offers < UINT32_MAX);
}

static inline void seller_acquire(sob_sellers *s, uint64_t h) {
    if (!h) return;
    sob_seller_slot *x = &s->slot[h];
    if (x->offers++ == 0) {
        x->state = SOB_SELLER_LIVE;
        s->live++;
    }
}

static inline void seller_release(sob_sellers *s, uint64_t h) {
    if (!h) return;
    sob_seller_slot *x = &s->slot[h];
    if (--x->offers == 0) {
        x->state = SOB_SELLER_RELEASED;
        s->live--;
        if (!x->queued) { /* room is reserved: each handle is queued at most once */
            x->queued = 1;
            s->released[s->nreleased++] = h;
        }
    }
}

sob_status sob_offerbook_seller_new(sob_offerbook *b, uint64_t *handle) {
    sob_sellers *s = &b->sellers;
    if (b->account_sellers) return SOB_E_INVALID;
    if (s->nfree == 0) {
        sob_status st = sellers_grow(s);
        if (st != SOB_OK) return st;
    }
    uint64_t h = s->free_stack[--s->nfree];
    s->slot[h].state = SOB_SELLER_RESERVED;
    s->slot[h].offers = 0;
    s->slot[h].account = 0;
    *handle = h;
    return SOB_OK;
}

sob_status sob_offerbook_seller_set_account(sob_offerbook *b, uint64_t h, uint64_t account) {
    sob_sellers *s = &b->sellers;
    if (b->account_sellers) return SOB_E_INVALID;
    if (h == 0 || h >= s->cap || s->slot[h].state == SOB_SELLER_FREE) return SOB_E_INVALID;
    s->slot[h].account = account;
    return SOB_OK;
}

uint64_t sob_offerbook_seller_account(const sob_offerbook *b, uint64_t h) {
    const sob_sellers *s = &b->sellers;
    if (b->account_sellers) return h;
    if (h == 0 || h >= s->cap || s->slot[h].state == SOB_SELLER_FREE) return 0;
    return s->slot[h].account;
}

void sob_offerbook_seller_drop(sob_offerbook *b, uint64_t h) {
    sob_sellers *s = &b->sellers;
    if (h == 0 || h >= s->cap || s->slot[h].state != SOB_SELLER_RESERVED || s->slot[h].offers) return;
    s->slot[h].state = SOB_SELLER_FREE;
    s->free_stack[s->nfree++] = h;
}

int sob_offerbook_take_released(sob_offerbook *b, uint64_t *handle) {
    sob_sellers *s = &b->sellers;
    while (s->nreleased) {
        uint64_t h = s->released[--s->nreleased];
        sob_seller_slot *x = &s->slot[h];
        x->queued = 0;
        if (x->state != SOB_SELLER_RELEASED) continue; /* it got an offer again before being taken */
        x->state = SOB_SELLER_FREE;
        s->free_stack[s->nfree++] = h;
        *handle = h;
        return 1;
    }
    return 0;
}

size_t sob_offerbook_sellers_live(const sob_offerbook *b) { return b->sellers.live; }

/* ---- public maintenance -------------------------------------------------------------------- */

void sob_offerbook_init(sob_offerbook *b) { memset(b, 0, sizeof *b); }

void sob_offerbook_free(sob_offerbook *b) {
    side_free(&b->side[0]);
    side_free(&b->side[1]);
    free(b->slots);
    sellers_free(&b->sellers);
    sob_offerbook_init(b);
}

void sob_offerbook_clear(sob_offerbook *b) {
    sob_offer_locator fn = b->locate;
    const void *ctx = b->locate_ctx;
    int acc = b->account_sellers;
    sob_offerbook_free(b);
    b->locate = fn;
    b->locate_ctx = ctx;
    b->account_sellers = acc;
}

const sob_offer *sob_offerbook_find_at(const sob_offerbook *b, int64_t id, int side, double key) {
    if (id < 0 || (side != SOB_SIDE_BID && side != SOB_SIDE_ASK)) return NULL;
    return side_locate(&b->side[side], key, id, NULL, NULL);
}

static int book_empty(const sob_offerbook *b) {
    return b->used == 0 && b->side[0].nc == 0 && b->side[1].nc == 0 && b->sellers.cap == 0;
}

sob_status sob_offerbook_set_locator(sob_offerbook *b, sob_offer_locator fn, const void *ctx) {
    if (!fn || !book_empty(b)) return SOB_E_INVALID;
    free(b->slots);
    b->slots = NULL;
    b->mask = 0;
    b->locate = fn;
    b->locate_ctx = ctx;
    return SOB_OK;
}

sob_status sob_offerbook_set_account_sellers(sob_offerbook *b) {
    if (!book_empty(b)) return SOB_E_INVALID;
    b->account_sellers = 1;
    return SOB_OK;
}

/* Where offer id is: the offer (NULL if it is not in the book), its side, chunk and position, and
 * its slot in the book's own hash (NULL with a locator). */
static inline __attribute__((always_inline)) sob_offer *offer_find(const sob_offerbook *b, int64_t id, int *side,
                                                                   size_t *ci, uint32_t *p, sob_id_slot **slot) {
    int sd;
    double key;
    if (id < 0) return NULL;
    if (b->locate) {
        if (!b->locate(b->locate_ctx, id, &sd, &key) || (sd != SOB_SIDE_BID && sd != SOB_SIDE_ASK)) return NULL;
        if (slot) *slot = NULL;
    } else {
        sob_id_slot *sl = slot_find(b, id);
        if (!sl) return NULL;
        sd = sl->side;
        key = sl->key; /* order key */
        if (slot) *slot = sl;
    }
    sob_offer *o = side_locate(&b->side[sd], key, id, ci, p);
    if (o && side) *side = sd;
    return o;
}

/* Insert a validated offer; no seller accounting. On error the book is unchanged. */
static sob_status offer_insert(sob_offerbook *b, int64_t id, int side, int32_t n, int32_t d, int64_t amount,
                               uint64_t seller) {
    if (b->locate ? offer_find(b, id, NULL, NULL, NULL, NULL) != NULL : slot_find(b, id) != NULL) return SOB_E_EXISTS;
    sob_status st = b->locate ? SOB_OK : slot_reserve(b);
    if (st != SOB_OK) return st;
    sob_offer o = {order_key(n, d), id, amount, seller, sob_adjust_offer(n, d, amount, INT64_MAX), n, d};
    st = side_insert(&b->side[side], &o);
    if (st != SOB_OK) return st;
    if (!b->locate) {
        sob_id_slot v = {id, o.key, side};
        slot_put_raw(b->slots, b->mask, &v);
    }
    b->used++;
    return SOB_OK;
}

/* Take an offer out; no seller accounting. */
static sob_status offer_erase(sob_offerbook *b, int64_t id, sob_offer *removed, int *side) {
    sob_id_slot *sl = NULL;
    size_t ci;
    uint32_t p;
    int sd;
    sob_offer *o = offer_find(b, id, &sd, &ci, &p, &sl);
    if (!o) return (!b->locate && slot_find(b, id)) ? SOB_E_INVALID /* broken invariant */ : SOB_E_NOT_FOUND;
    if (removed) *removed = *o;
    if (side) *side = sd;
    side_erase(&b->side[sd], ci, p);
    if (sl) slot_delete(b, sl);
    else b->used--;
    return SOB_OK;
}

sob_status sob_offerbook_add(sob_offerbook *b, int64_t id, int side, int32_t n, int32_t d, int64_t amount,
                             uint64_t seller) {
    if (id < 0 || (side != SOB_SIDE_BID && side != SOB_SIDE_ASK) || n <= 0 || d <= 0 || amount <= 0 ||
        (seller && !b->account_sellers && !seller_usable(&b->sellers, seller)))
        return SOB_E_INVALID;
    sob_status st = offer_insert(b, id, side, n, d, amount, seller);
    if (st == SOB_OK && seller && !b->account_sellers) seller_acquire(&b->sellers, seller);
    return st;
}

sob_status sob_offerbook_remove(sob_offerbook *b, int64_t id, sob_offer *removed, int *side) {
    sob_offer o;
    sob_status st = offer_erase(b, id, &o, side);
    if (st != SOB_OK) return st;
    if (o.seller && !b->account_sellers) seller_release(&b->sellers, o.seller);
    if (removed) *removed = o;
    return SOB_OK;
}

static sob_offer *find_offer(const sob_offerbook *b, int64_t id, int *side) {
    return offer_find(b, id, side, NULL, NULL, NULL);
}

sob_status sob_offerbook_get(const sob_offerbook *b, int64_t id, sob_offer *out, int *side) {
    sob_offer *o = find_offer(b, id, side);
    if (!o) return SOB_E_NOT_FOUND;
    *out = *o;
    return SOB_OK;
}

sob_status sob_offerbook_update(sob_offerbook *b, int64_t id, int64_t amount, int32_t n, int32_t d) {
    if (amount <= 0 || (n != 0 && (n < 0 || d <= 0))) return SOB_E_INVALID;
    int side;
    sob_offer *o = find_offer(b, id, &side);
    if (!o) return SOB_E_NOT_FOUND;
    if (n == 0 || order_key(n, d) == o->key) { /* order key unchanged: update in place */
        o->amount = amount;
        if (n != 0) {
            o->n = n;
            o->d = d;
        }
        o->adjusted = sob_adjust_offer(o->n, o->d, amount, INT64_MAX);
        return SOB_OK;
    }
    /* the same offer, moved to its new place: its seller keeps its count */
    sob_offer old;
    sob_status st = offer_erase(b, id, &old, NULL);
    if (st != SOB_OK) return st;
    st = offer_insert(b, id, side, n, d, amount, old.seller);
    if (st != SOB_OK) /* out of memory: put the old one back (cannot need more memory) */
        offer_insert(b, id, side, old.n, old.d, old.amount, old.seller);
    return st;
}

sob_status sob_offerbook_apply_fill(sob_offerbook *b, int64_t id, int64_t sold, int64_t *left) {
    sob_offer *o = find_offer(b, id, NULL);
    if (!o) return SOB_E_NOT_FOUND;
    if (sold <= 0 || sold > o->amount) return SOB_E_INVALID;
    /* crossOfferV10: after a partial fill the rest is re-run through adjustOffer */
    int64_t rest = sold < o->amount ? sob_adjust_offer(o->n, o->d, o->amount - sold, INT64_MAX) : 0;
    *left = rest;
    if (rest == 0) return sob_offerbook_remove(b, id, NULL, NULL);
    o->amount = rest;
    o->adjusted = sob_adjust_offer(o->n, o->d, rest, INT64_MAX);
    return SOB_OK;
}

size_t sob_offerbook_count(const sob_offerbook *b, int side) {
    return (side == SOB_SIDE_BID || side == SOB_SIDE_ASK) ? b->side[side].count : 0;
}

size_t sob_offerbook_copy(const sob_offerbook *b, int side, size_t start, size_t max, sob_offer *out) {
    if (side != SOB_SIDE_BID && side != SOB_SIDE_ASK) return 0;
    const sob_offer_side *s = &b->side[side];
    size_t k = 0, skip = start;
    for (size_t ci = 0; ci < s->nc && k < max; ci++) {
        const sob_chunk *c = s->c[ci];
        if (skip >= c->len) {
            skip -= c->len;
            continue;
        }
        for (uint32_t p = (uint32_t)skip; p < c->len && k < max; p++) out[k++] = c->e[p];
        skip = 0;
    }
    return k;
}

/* ---- crossing ------------------------------------------------------------------------------ */

sob_status sob_offerbook_simulate(const sob_offerbook *b, const sob_sim *p, sob_fill *fills, sob_sim_out *out) {
    if ((p->side != SOB_SIDE_BID && p->side != SOB_SIDE_ASK) || p->max_sheep_send < 0 || p->max_wheat_receive < 0 ||
        (p->has_limit && (p->limit_n <= 0 || p->limit_d <= 0)))
        return SOB_E_INVALID;
    int64_t sheep_left = p->max_sheep_send, wheat_left = p->max_wheat_receive;
    int64_t sent = 0, received = 0;
    size_t k = 0;
    out->nfills = 0;
    out->sent = out->received = 0;
    if (!(sheep_left > 0 && wheat_left > 0)) {
        out->result = SOB_SIM_FILLED;
        return SOB_OK;
    }
    if (p->max_offers == 0) {
        out->result = SOB_SIM_TOO_MANY;
        return SOB_OK;
    }
    const sob_offer_side *s = &b->side[p->side];
    int result = SOB_SIM_NO_OFFERS;
    for (size_t ci = 0; ci < s->nc; ci++) {
        const sob_chunk *c = s->c[ci];
        for (uint32_t i = 0; i < c->len; i++) {
            const sob_offer *o = &c->e[i];
            if (p->has_limit) {
                /* exact: offer.price > maxWheatPrice (>= when passive) */
                int64_t lhs = (int64_t)o->n * p->limit_d, rhs = (int64_t)p->limit_n * o->d;
                if (lhs > rhs || (p->passive && lhs == rhs)) {
                    result = SOB_SIM_PRICE_LIMIT;
                    goto done;
                }
            }
            if (p->taker != 0 && o->seller == p->taker) {
                result = SOB_SIM_CROSS_SELF;
                goto done;
            }
            if (k >= p->max_offers) {
                result = SOB_SIM_TOO_MANY;
                goto done;
            }
            /* crossOfferV10: the preventive adjustOffer, maker receive headroom unlimited */
            int64_t amount = o->adjusted; /* = sob_adjust_offer(n, d, amount, INT64_MAX) */
            sob_exchange ex;
            sob_status st = sob_exchange_v10(o->n, o->d, amount, wheat_left, sheep_left, INT64_MAX, p->round, &ex);
            if (st != SOB_OK) return st;
            fills[k].offer_id = o->id;
            fills[k].wheat = ex.wheat;
            fills[k].sheep = ex.sheep;
            fills[k].remaining = ex.wheat_stays ? sob_adjust_offer(o->n, o->d, amount - ex.wheat, INT64_MAX) : 0;
            k++;
            sent += ex.sheep;
            sheep_left -= ex.sheep;
            received += ex.wheat;
            wheat_left -= ex.wheat;
            if (ex.wheat_stays || wheat_left <= 0 || sheep_left <= 0) {
                result = SOB_SIM_FILLED;
                goto done;
            }
        }
    }
done:
    out->nfills = k;
    out->sent = sent;
    out->received = received;
    out->result = result;
    return SOB_OK;
}

static int cmp_id(const void *a, const void *b) {
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return (x > y) - (x < y);
}

sob_status sob_offerbook_apply_fills(sob_offerbook *b, const sob_fill *fills, size_t k) {
    /* check every fill before changing anything (a failed call leaves the book as it was): each
     * offer exists, keeps 0..its amount, and appears once (a second fill of one offer would be
     * checked against the amount the first one changes) */
    for (size_t i = 0; i < k; i++) {
        const sob_offer *o = find_offer(b, fills[i].offer_id, NULL);
        if (!o) return SOB_E_NOT_FOUND;
        if (fills[i].remaining < 0 || fills[i].remaining > o->amount) return SOB_E_INVALID;
    }
    if (k > 1) {
        int64_t small[64], *ids = k <= 64 ? small : malloc(k * sizeof *ids);
        if (!ids) return SOB_E_NOMEM;
        for (size_t i = 0; i < k; i++) ids[i] = fills[i].offer_id;
        qsort(ids, k, sizeof *ids, cmp_id);
        int dup = 0;
        for (size_t i = 1; i < k && !dup; i++) dup = ids[i] == ids[i - 1];
        if (ids != small) free(ids);
        if (dup) return SOB_E_INVALID;
    }
    for (size_t i = 0; i < k; i++) {
        if (fills[i].remaining == 0) {
            sob_status st = sob_offerbook_remove(b, fills[i].offer_id, NULL, NULL);
            if (st != SOB_OK) return st;
        } else {
            sob_offer *o = find_offer(b, fills[i].offer_id, NULL);
            if (!o) return SOB_E_NOT_FOUND;
            o->amount = fills[i].remaining;
            o->adjusted = sob_adjust_offer(o->n, o->d, o->amount, INT64_MAX);
        }
    }
    return SOB_OK;
}

/* The seller handles agree with the offers: every offer's handle is live, each live handle counts
 * exactly its offers, the free stack and the released queue hold what their states say. */
static sob_status sellers_check(const sob_offerbook *b) {
    const sob_sellers *s = &b->sellers;
    if (b->account_sellers) return s->cap == 0 && s->live == 0 ? SOB_OK : SOB_E_INVALID; /* no handles */
    if (s->nfree > s->cap || s->nreleased > s->cap || (s->cap && (!s->slot || !s->free_stack || !s->released)))
        return SOB_E_INVALID;
    size_t live = 0, nfree = 0, queued = 0;
    for (size_t h = 1; h < s->cap; h++) {
        const sob_seller_slot *x = &s->slot[h];
        if (x->state > SOB_SELLER_RELEASED || x->queued > 1) return SOB_E_INVALID;
        if ((x->state == SOB_SELLER_LIVE) != (x->offers > 0)) return SOB_E_INVALID;
        live += x->state == SOB_SELLER_LIVE;
        nfree += x->state == SOB_SELLER_FREE;
        queued += x->queued;
        if (x->state == SOB_SELLER_RELEASED && !x->queued) return SOB_E_INVALID;
        if (x->state == SOB_SELLER_FREE && x->queued) return SOB_E_INVALID;
    }
    if (live != s->live || nfree != s->nfree || queued != s->nreleased) return SOB_E_INVALID;
    for (size_t i = 0; i < s->nfree; i++) {
        uint64_t h = s->free_stack[i];
        if (h == 0 || h >= s->cap || s->slot[h].state != SOB_SELLER_FREE) return SOB_E_INVALID;
    }
    for (size_t i = 0; i < s->nreleased; i++) {
        uint64_t h = s->released[i];
        if (h == 0 || h >= s->cap || !s->slot[h].queued) return SOB_E_INVALID;
    }
    /* count each handle's offers again */
    uint32_t *count = s->cap ? calloc(s->cap, sizeof *count) : NULL;
    if (s->cap && !count) return SOB_OK; /* out of memory: the checks above still ran */
    sob_status st = SOB_OK;
    for (int side = 0; side < 2 && st == SOB_OK; side++) {
        const sob_offer_side *sd = &b->side[side];
        for (size_t ci = 0; ci < sd->nc && st == SOB_OK; ci++) {
            for (uint32_t i = 0; i < sd->c[ci]->len; i++) {
                uint64_t h = sd->c[ci]->e[i].seller;
                if (h == 0) continue;
                if (h >= s->cap || s->slot[h].state != SOB_SELLER_LIVE) {
                    st = SOB_E_INVALID;
                    break;
                }
                count[h]++;
            }
        }
    }
    for (size_t h = 1; h < s->cap && st == SOB_OK; h++)
        if (count[h] != s->slot[h].offers) st = SOB_E_INVALID;
    free(count);
    return st;
}

sob_status sob_offerbook_check(const sob_offerbook *b) {
    size_t total = 0;
    for (int side = 0; side < 2; side++) {
        const sob_offer_side *s = &b->side[side];
        size_t count = 0;
        const sob_offer *prev = NULL;
        for (size_t ci = 0; ci < s->nc; ci++) {
            const sob_chunk *c = s->c[ci];
            if (c->len == 0 || c->len > c->cap || c->cap > SOB_CHUNK_CAP) return SOB_E_INVALID;
            for (uint32_t i = 0; i < c->len; i++) {
                const sob_offer *o = &c->e[i];
                if (o->n <= 0 || o->d <= 0 || o->amount <= 0 || o->id < 0) return SOB_E_INVALID;
                if (o->key != order_key(o->n, o->d)) return SOB_E_INVALID; /* order key */
                if (o->adjusted != sob_adjust_offer(o->n, o->d, o->amount, INT64_MAX)) return SOB_E_INVALID;
                if (prev && cmp_pos(prev->key, prev->id, o->key, o->id) >= 0) return SOB_E_INVALID;
                if (b->locate) {
                    int ls;
                    double lk;
                    if (!b->locate(b->locate_ctx, o->id, &ls, &lk) || ls != side || lk != o->key) /* order key */
                        return SOB_E_INVALID;
                } else {
                    sob_id_slot *sl = slot_find(b, o->id);
                    if (!sl || sl->side != side || sl->key != o->key) return SOB_E_INVALID; /* order key */
                }
                prev = o;
                count++;
            }
        }
        if (count != s->count) return SOB_E_INVALID;
        total += count;
    }
    if (total != b->used) return SOB_E_INVALID;
    return sellers_check(b);
}
