/* accounts.c: the sellers' funds table (see accounts.h) and the open-addressing map under it. */
#include "accounts.h"

#include <stdlib.h>
#include <string.h>

/* ---- the map ------------------------------------------------------------------------------- */

/* slot layout: k1 (8 bytes), k2 (8), occupied (8: the map's epoch when it holds an entry), value
 * (value_size, rounded up to 8). Clearing the map is a new epoch: O(1), whatever its capacity. */
#define SLOT_HEAD 24

typedef struct slot_head {
    uint64_t k1, k2, occupied;
} slot_head;

static inline size_t mix(uint64_t k1, uint64_t k2) {
    uint64_t x = k1 ^ (k2 * 0x9e3779b97f4a7c15ULL);
    x ^= x >> 30;
    x *= 0xbf58476d1ce4e5b9ULL;
    x ^= x >> 27;
    x *= 0x94d049bb133111ebULL;
    x ^= x >> 31;
    return (size_t)x;
}

static inline slot_head *slot(const sob_hmap *m, size_t i) { return (slot_head *)(m->slots + i * m->slot_size); }
static inline int live(const sob_hmap *m, const slot_head *h) { return h->occupied == m->epoch; }

void sob_hmap_init(sob_hmap *m, size_t value_size) {
    memset(m, 0, sizeof *m);
    m->value_size = value_size;
    m->slot_size = SLOT_HEAD + ((value_size + 7) & ~(size_t)7);
    m->epoch = 1;
}

void sob_hmap_free(sob_hmap *m) {
    free(m->slots);
    uint64_t gen = m->gen + 1;
    sob_hmap_init(m, m->value_size);
    m->gen = gen;
}

void sob_hmap_clear(sob_hmap *m) {
    m->epoch++;
    if (m->epoch == 0) { /* after 2^64 clears: start the marks again */
        if (m->slots) memset(m->slots, 0, (m->mask + 1) * m->slot_size);
        m->epoch = 1;
    }
    m->used = 0;
    m->gen++;
}

void *sob_hmap_get(const sob_hmap *m, uint64_t k1, uint64_t k2) {
    if (!m->slots) return NULL;
    size_t i = mix(k1, k2) & m->mask;
    for (;;) {
        slot_head *s = slot(m, i);
        if (!live(m, s)) return NULL;
        if (s->k1 == k1 && s->k2 == k2) return (unsigned char *)s + SLOT_HEAD;
        i = (i + 1) & m->mask;
    }
}

/* into fresh (zeroed) slots, marked with epoch 1 */
static void put_raw(unsigned char *slots, size_t mask, size_t slot_size, const slot_head *src) {
    size_t i = mix(src->k1, src->k2) & mask;
    while (((slot_head *)(slots + i * slot_size))->occupied) i = (i + 1) & mask;
    memcpy(slots + i * slot_size, src, slot_size);
    ((slot_head *)(slots + i * slot_size))->occupied = 1;
}

static int grow(sob_hmap *m) {
    size_t size = m->slots ? m->mask + 1 : 0;
    size_t nsize = size ? size * 2 : 16;
    if (nsize < size || nsize > SIZE_MAX / m->slot_size) return 0; /* never wraps */
    unsigned char *ns = calloc(nsize, m->slot_size);
    if (!ns) return 0;
    for (size_t i = 0; i < size; i++) {
        slot_head *s = slot(m, i);
        if (live(m, s)) put_raw(ns, nsize - 1, m->slot_size, s);
    }
    free(m->slots);
    m->slots = ns;
    m->mask = nsize - 1;
    m->epoch = 1;
    m->gen++;
    return 1;
}

int sob_hmap_reserve(sob_hmap *m, size_t extra) {
    for (;;) {
        size_t size = m->slots ? m->mask + 1 : 0;
        if (extra <= SIZE_MAX / 2 - m->used && (m->used + extra) * 2 <= size) return 1;
        if (extra > SIZE_MAX / 4 || !grow(m)) return 0;
    }
}

void *sob_hmap_put(sob_hmap *m, uint64_t k1, uint64_t k2, int *fresh) {
    void *v = sob_hmap_get(m, k1, k2);
    if (v) {
        if (fresh) *fresh = 0;
        return v;
    }
    if (fresh) *fresh = 1;
    return sob_hmap_insert_new(m, k1, k2);
}

void *sob_hmap_insert_new(sob_hmap *m, uint64_t k1, uint64_t k2) {
    size_t size = m->slots ? m->mask + 1 : 0;
    if ((m->used + 1) * 2 > size && !grow(m)) return NULL; /* load <= 1/2 */
    size_t i = mix(k1, k2) & m->mask;
    while (live(m, slot(m, i))) i = (i + 1) & m->mask;
    slot_head *s = slot(m, i);
    memset(s, 0, m->slot_size);
    s->k1 = k1;
    s->k2 = k2;
    s->occupied = m->epoch;
    m->used++;
    return (unsigned char *)s + SLOT_HEAD;
}

int sob_hmap_remove(sob_hmap *m, uint64_t k1, uint64_t k2) {
    unsigned char *v = sob_hmap_get(m, k1, k2);
    if (!v) return 0;
    size_t i = (size_t)((v - SLOT_HEAD - m->slots) / m->slot_size), j = i;
    /* backward-shift deletion: linear probing without tombstones */
    for (;;) {
        j = (j + 1) & m->mask;
        slot_head *sj = slot(m, j);
        if (!live(m, sj)) break;
        size_t home = mix(sj->k1, sj->k2) & m->mask;
        int in_range = (i <= j) ? (home > i && home <= j) : (home > i || home <= j);
        if (!in_range) {
            memcpy(slot(m, i), sj, m->slot_size);
            i = j;
        }
    }
    slot(m, i)->occupied = 0;
    m->used--;
    m->gen++;
    return 1;
}

void *sob_hmap_at(const sob_hmap *m, size_t i, uint64_t *k1, uint64_t *k2) {
    if (!m->slots || i > m->mask) return NULL;
    slot_head *s = slot(m, i);
    if (!live(m, s)) return NULL;
    if (k1) *k1 = s->k1;
    if (k2) *k2 = s->k2;
    return (unsigned char *)s + SLOT_HEAD;
}

/* ---- the table ----------------------------------------------------------------------------- */

int sob_account_valid(const sob_account *a) {
    return a->balance >= 0 && a->buying_liabilities >= 0 && a->selling_liabilities >= 0;
}

int sob_trustline_valid(const sob_trustline *tl) {
    return tl->balance >= 0 && tl->limit >= tl->balance && tl->buying_liabilities >= 0 &&
           tl->selling_liabilities >= 0 && tl->pad == 0;
}

void sob_accounts_init(sob_accounts *t) {
    sob_hmap_init(&t->accounts, sizeof(sob_account));
    sob_hmap_init(&t->trustlines, sizeof(sob_trustline));
    sob_hmap_init(&t->issuers, sizeof(uint64_t));
    sob_hmap_init(&t->sponsors, sizeof(uint64_t));
}

void sob_accounts_free(sob_accounts *t) {
    sob_hmap_free(&t->accounts);
    sob_hmap_free(&t->trustlines);
    sob_hmap_free(&t->issuers);
    sob_hmap_free(&t->sponsors);
}

void sob_accounts_clear(sob_accounts *t) {
    sob_hmap_clear(&t->accounts);
    sob_hmap_clear(&t->trustlines);
    sob_hmap_clear(&t->issuers);
    sob_hmap_clear(&t->sponsors);
}

sob_status sob_accounts_set_account(sob_accounts *t, uint64_t key, const sob_account *a) {
    if (key == 0 || !sob_account_valid(a)) return SOB_E_INVALID;
    sob_account *v = sob_hmap_put(&t->accounts, key, 0, NULL);
    if (!v) return SOB_E_NOMEM;
    *v = *a;
    return SOB_OK;
}

sob_status sob_accounts_get_account(const sob_accounts *t, uint64_t key, sob_account *out) {
    const sob_account *v = key ? sob_hmap_get(&t->accounts, key, 0) : NULL;
    if (!v) return SOB_E_NOT_FOUND;
    *out = *v;
    return SOB_OK;
}

sob_status sob_accounts_remove_account(sob_accounts *t, uint64_t key) {
    return (key && sob_hmap_remove(&t->accounts, key, 0)) ? SOB_OK : SOB_E_NOT_FOUND;
}

sob_status sob_accounts_set_trustline(sob_accounts *t, uint64_t key, uint32_t asset, const sob_trustline *tl) {
    if (key == 0 || asset == SOB_ASSET_ID_NATIVE || !sob_trustline_valid(tl)) return SOB_E_INVALID;
    sob_trustline *v = sob_hmap_put(&t->trustlines, key, asset, NULL);
    if (!v) return SOB_E_NOMEM;
    *v = *tl;
    return SOB_OK;
}

sob_status sob_accounts_get_trustline(const sob_accounts *t, uint64_t key, uint32_t asset, sob_trustline *out) {
    const sob_trustline *v = (key && asset != SOB_ASSET_ID_NATIVE) ? sob_hmap_get(&t->trustlines, key, asset) : NULL;
    if (!v) return SOB_E_NOT_FOUND;
    *out = *v;
    return SOB_OK;
}

sob_status sob_accounts_remove_trustline(sob_accounts *t, uint64_t key, uint32_t asset) {
    return (key && sob_hmap_remove(&t->trustlines, key, asset)) ? SOB_OK : SOB_E_NOT_FOUND;
}

sob_status sob_accounts_set_issuer(sob_accounts *t, uint32_t asset, uint64_t issuer) {
    if (asset == SOB_ASSET_ID_NATIVE) return SOB_E_INVALID;
    if (issuer == 0) {
        sob_hmap_remove(&t->issuers, asset, 0);
        return SOB_OK;
    }
    uint64_t *v = sob_hmap_put(&t->issuers, asset, 0, NULL);
    if (!v) return SOB_E_NOMEM;
    *v = issuer;
    return SOB_OK;
}

uint64_t sob_accounts_issuer(const sob_accounts *t, uint32_t asset) {
    const uint64_t *v = asset == SOB_ASSET_ID_NATIVE ? NULL : sob_hmap_get(&t->issuers, asset, 0);
    return v ? *v : 0;
}

sob_status sob_accounts_set_sponsor(sob_accounts *t, int64_t offer_id, uint64_t sponsor) {
    if (offer_id < 0) return SOB_E_INVALID;
    if (sponsor == 0) {
        sob_hmap_remove(&t->sponsors, (uint64_t)offer_id, 0);
        return SOB_OK;
    }
    uint64_t *v = sob_hmap_put(&t->sponsors, (uint64_t)offer_id, 0, NULL);
    if (!v) return SOB_E_NOMEM;
    *v = sponsor;
    return SOB_OK;
}

uint64_t sob_accounts_sponsor(const sob_accounts *t, int64_t offer_id) {
    const uint64_t *v = offer_id < 0 ? NULL : sob_hmap_get(&t->sponsors, (uint64_t)offer_id, 0);
    return v ? *v : 0;
}

size_t sob_accounts_count(const sob_accounts *t) { return t->accounts.used; }
size_t sob_accounts_trustline_count(const sob_accounts *t) { return t->trustlines.used; }

static sob_status map_check(const sob_hmap *m) {
    if (!m->slots) return m->used == 0 && m->mask == 0 ? SOB_OK : SOB_E_INVALID;
    size_t n = 0;
    for (size_t i = 0; i <= m->mask; i++) {
        uint64_t k1, k2;
        if (!sob_hmap_at(m, i, &k1, &k2)) continue;
        n++;
        if (sob_hmap_get(m, k1, k2) != sob_hmap_at(m, i, NULL, NULL)) return SOB_E_INVALID; /* reachable */
    }
    return (n == m->used && 2 * m->used <= m->mask + 1) ? SOB_OK : SOB_E_INVALID;
}

sob_status sob_accounts_check(const sob_accounts *t) {
    if (map_check(&t->accounts) || map_check(&t->trustlines) || map_check(&t->issuers) || map_check(&t->sponsors))
        return SOB_E_INVALID;
    for (size_t i = 0; t->accounts.slots && i <= t->accounts.mask; i++) {
        uint64_t k;
        const sob_account *a = sob_hmap_at(&t->accounts, i, &k, NULL);
        if (a && (k == 0 || !sob_account_valid(a))) return SOB_E_INVALID;
    }
    for (size_t i = 0; t->trustlines.slots && i <= t->trustlines.mask; i++) {
        uint64_t k, asset;
        const sob_trustline *tl = sob_hmap_at(&t->trustlines, i, &k, &asset);
        if (tl && (k == 0 || asset == SOB_ASSET_ID_NATIVE || asset > UINT32_MAX || !sob_trustline_valid(tl)))
            return SOB_E_INVALID;
    }
    return SOB_OK;
}
