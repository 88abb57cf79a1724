/* bucket.c: bucket files -> change records, and the newest-first merge of a bucket list (bucket.h).
 *
 * Record marks and entry layout follow stellar-core src/util/XDRStream.h (XDRInputFileStream:
 * 4-byte big-endian size with the top bit set) and src/bucket/BucketInputIterator.cpp (an optional
 * METAENTRY first, then LIVE/INIT/DEAD entries in BucketEntryIdCmp order). Entries become records
 * through ledger_fill.h, the mapping the LedgerCloseMeta decoder uses, so bucket records and ledger
 * changes are the same records, field for field.
 */
#include "bucket.h"

#include <stdlib.h>
#include <string.h>

#include "ledger_fill.h"
#include "stellar_xdr_gen.h"

/* ---- records: ledger_fill.h, the mapping ledger.c uses ---- */

/* ---- output vector ---- */

static sob_ledger_change *vec_push(sob_bucket_vec *v) {
    if (v->len == v->cap) {
        size_t cap = v->cap ? v->cap * 2 : 256;
        if (cap > SIZE_MAX / sizeof(sob_ledger_change)) return NULL;
        sob_ledger_change *nv = (sob_ledger_change *)realloc(v->v, cap * sizeof *nv);
        if (!nv) return NULL;
        v->v = nv;
        v->cap = cap;
    }
    return &v->v[v->len++];
}

void sob_bucket_vec_free(sob_bucket_vec *v) {
    free(v->v);
    v->v = NULL;
    v->len = v->cap = 0;
}

/* ---- reader ---- */

#define KNOWN_MASK SOB_BUCKET_MASK_DEX

sob_status sob_bucket_reader_init(sob_bucket_reader *r, uint32_t mask) {
    memset(r, 0, sizeof *r);
    r->mask = mask;
    r->list_type = -1;
    r->last_type = -1;
    r->need = 4;
    if (mask & ~KNOWN_MASK) {
        r->failed = 1;
        r->error.offset = 0;
        r->error.reason = "unknown entry type in the mask";
        return SOB_E_INVALID;
    }
    return SOB_OK;
}

static int wanted(const sob_bucket_reader *r, uint32_t type) {
    return type < 32 && (r->mask & (1u << type)) != 0;
}

/* Entry types must not go down (BucketEntryIdCmp compares the LedgerEntryType first). */
static int check_order(sob_bucket_reader *r, sob_xdr_cur *c, const uint8_t *at, uint32_t type) {
    if ((int64_t)type < (int64_t)r->last_type)
        return sob_xdr_fail(c, at, "bucket entries out of order (entry type goes down)");
    r->last_type = (int32_t)type;
    return 0;
}

/* One BucketEntry filling [c->p, c->end). Returns 0, or -1 with c's error set; *nomem on alloc. */
static int read_entry(sob_bucket_reader *r, sob_xdr_cur *c, sob_bucket_vec *out, int *nomem) {
    const uint8_t *at = c->p;
    uint32_t kind;
    if (sob_xdr_u32(c, &kind)) return -1;
    switch ((int32_t)kind) {
    case SOB_BUCKET_METAENTRY: {
        if (r->records != 0) return sob_xdr_fail(c, at, "METAENTRY that is not the bucket's first record");
        uint32_t version, ext;
        if (sob_xdr_u32(c, &version)) return -1;
        const uint8_t *ext_at = c->p;
        if (sob_xdr_u32(c, &ext)) return -1;
        if (ext == 1) {
            uint32_t lt;
            const uint8_t *lt_at = c->p;
            if (sob_xdr_u32(c, &lt)) return -1;
            if (lt > 1) return sob_xdr_fail(c, lt_at, "BucketListType: unknown value");
            if (lt != 0) return sob_xdr_fail(c, lt_at, "not a live bucket (BucketListType HOT_ARCHIVE)");
            r->list_type = (int32_t)lt;
        } else if (ext != 0) {
            return sob_xdr_fail(c, ext_at, "BucketMetadata ext: unknown union arm");
        }
        r->has_meta = 1;
        r->ledger_version = version;
        return 0;
    }
    case SOB_BUCKET_LIVEENTRY:
    case SOB_BUCKET_INITENTRY: {
        if (sob_xdr_left(c) < 8) return sob_xdr_truncated(c);
        uint32_t type = sob_xdr_be32(c->p + 4); /* after lastModifiedLedgerSeq */
        if (check_order(r, c, c->p + 4, type)) return -1;
        r->counts[kind]++;
        if (!wanted(r, type)) return sob_xdr_skip_LedgerEntry(c);
        sob_xdr_LedgerEntry e;
        if (sob_xdr_decode_LedgerEntry(c, &e)) return -1;
        sob_ledger_change *rec = vec_push(out);
        if (!rec) {
            *nomem = 1;
            return sob_xdr_fail(c, at, "out of memory");
        }
        memset(rec, 0, sizeof *rec);
        rec->change = kind == SOB_BUCKET_INITENTRY ? SOB_CHANGE_CREATED : SOB_CHANGE_UPDATED;
        rec->entry_type = (uint8_t)e.data.type;
        rec->phase = SOB_PHASE_BUCKET;
        rec->tx_index = -1;
        rec->op_index = -1;
        sob_ledger_fill_entry(rec, &e);
        return 0;
    }
    case SOB_BUCKET_DEADENTRY: {
        if (sob_xdr_left(c) < 4) return sob_xdr_truncated(c);
        uint32_t type = sob_xdr_be32(c->p);
        if (check_order(r, c, c->p, type)) return -1;
        r->counts[kind]++;
        if (!wanted(r, type)) return sob_xdr_skip_LedgerKey(c);
        sob_xdr_LedgerKey k;
        if (sob_xdr_decode_LedgerKey(c, &k)) return -1;
        sob_ledger_change *rec = vec_push(out);
        if (!rec) {
            *nomem = 1;
            return sob_xdr_fail(c, at, "out of memory");
        }
        memset(rec, 0, sizeof *rec);
        rec->change = SOB_CHANGE_REMOVED;
        rec->entry_type = (uint8_t)k.type;
        rec->phase = SOB_PHASE_BUCKET;
        rec->key_only = 1;
        rec->tx_index = -1;
        rec->op_index = -1;
        sob_ledger_fill_key(rec, &k);
        return 0;
    }
    default:
        return sob_xdr_fail(c, at, "BucketEntry: unknown union arm");
    }
}

sob_status sob_bucket_parse(sob_bucket_reader *r, const uint8_t *buf, size_t len, int final,
                            sob_bucket_vec *out, size_t *consumed, sob_ledger_error *err) {
    *consumed = 0;
    if (r->failed) {
        if (err) *err = r->error;
        return SOB_E_PARSE;
    }
    size_t start_len = out->len;
    size_t pos = 0;
    sob_xdr_cur c;
    sob_xdr_init(&c, buf, len);
    int rc = 0, nomem = 0;
    r->need = 0;
    while (pos < len) {
        if (len - pos < 4) {
            if (final) rc = sob_xdr_fail(&c, buf + len, "truncated: the bucket ends inside a record mark");
            else r->need = 4;
            break;
        }
        uint32_t mark = sob_xdr_be32(buf + pos);
        if (!(mark & 0x80000000u)) {
            rc = sob_xdr_fail(&c, buf + pos, "record mark without the last-fragment bit (fragmented records are not supported)");
            break;
        }
        size_t rlen = mark & 0x7fffffffu;
        if (rlen > SOB_BUCKET_MAX_RECORD) {
            rc = sob_xdr_fail(&c, buf + pos, "record longer than SOB_BUCKET_MAX_RECORD");
            break;
        }
        if (rlen > len - pos - 4) {
            if (final) rc = sob_xdr_fail(&c, buf + pos, "record length runs past the end of the bucket");
            else r->need = rlen + 4;
            break;
        }
        c.p = buf + pos + 4;
        c.end = buf + pos + 4 + rlen;
        c.depth = 0;
        rc = read_entry(r, &c, out, &nomem);
        if (rc == 0 && c.p != c.end) rc = sob_xdr_fail(&c, c.p, "bytes left in the record after its BucketEntry");
        if (rc) break;
        r->records++;
        pos += 4 + rlen;
    }
    if (rc) {
        out->len = start_len;
        r->failed = 1;
        r->error.offset = (size_t)(r->base + c.err_off);
        r->error.reason = c.reason ? c.reason : "malformed XDR";
        if (err) *err = r->error;
        if (nomem) {
            r->failed = 0; /* not the input's fault: the caller may retry */
            return SOB_E_NOMEM;
        }
        return SOB_E_PARSE;
    }
    if (pos == len && !final) r->need = 4;
    r->reported += out->len - start_len;
    r->base += pos;
    *consumed = pos;
    return SOB_OK;
}

/* ---- keys and key sets ---- */

void sob_bucket_key(const sob_ledger_change *c, uint8_t key[SOB_BUCKET_KEY_SIZE]) {
    memset(key, 0, SOB_BUCKET_KEY_SIZE);
    key[0] = c->entry_type;
    switch (c->entry_type) {
    case SOB_ENTRY_OFFER: {
        memcpy(key + 1, c->u.offer.seller, 32);
        uint64_t id = (uint64_t)c->u.offer.offer_id;
        for (int i = 0; i < 8; i++) key[33 + i] = (uint8_t)(id >> (56 - 8 * i));
        break;
    }
    case SOB_ENTRY_LIQUIDITY_POOL:
        memcpy(key + 1, c->u.pool.pool_id, 32);
        break;
    case SOB_ENTRY_TRUSTLINE:
        memcpy(key + 1, c->u.trustline.account, 32);
        key[33] = c->u.trustline.asset.type;
        memcpy(key + 34, c->u.trustline.asset.code, 12);
        memcpy(key + 46, c->u.trustline.asset.issuer, 32);
        break;
    default:
        memcpy(key + 1, c->u.account.account, 32);
        break;
    }
}

static uint64_t key_hash(const uint8_t *k) {
    /* 8 bytes at a time (88 = 11 words), multiply-xorshift, then a final avalanche. */
    uint64_t h = 0x243f6a8885a308d3ull;
    for (int i = 0; i < SOB_BUCKET_KEY_SIZE; i += 8) {
        uint64_t w;
        memcpy(&w, k + i, 8);
        h = (h ^ w) * 0x9e3779b97f4a7c15ull;
        h ^= h >> 32;
    }
    h ^= h >> 29;
    h *= 0xbf58476d1ce4e5b9ull;
    return h ^ (h >> 32);
}

static void keyset_free(sob_bucket_keyset *s) {
    free(s->keys);
    free(s->tags);
    memset(s, 0, sizeof *s);
}

/* Slot of key k (hash h): where it is, or the empty slot where it would go. The probe compares
 * the 32 hash bits kept beside each tag first, so it rarely touches the keys themselves. */
static size_t keyset_slot_h(const sob_bucket_keyset *s, const uint8_t *k, uint64_t h) {
    size_t mask = s->cap - 1, i = (size_t)h & mask;
    uint32_t h32 = (uint32_t)(h >> 32);
    while (s->tags[2 * i] &&
           (s->tags[2 * i + 1] != h32 || memcmp(s->keys + i * SOB_BUCKET_KEY_SIZE, k, SOB_BUCKET_KEY_SIZE) != 0))
        i = (i + 1) & mask;
    return i;
}

static size_t keyset_slot(const sob_bucket_keyset *s, const uint8_t *k) { return keyset_slot_h(s, k, key_hash(k)); }

static int keyset_grow(sob_bucket_keyset *s) {
    size_t cap = s->cap ? s->cap * 2 : 1024;
    if (cap > SIZE_MAX / SOB_BUCKET_KEY_SIZE) return -1;
    sob_bucket_keyset n = {0};
    n.keys = (uint8_t *)malloc(cap * SOB_BUCKET_KEY_SIZE);
    n.tags = (uint32_t *)calloc(cap, 2 * sizeof(uint32_t));
    if (!n.keys || !n.tags) {
        free(n.keys);
        free(n.tags);
        return -1;
    }
    n.cap = cap;
    for (size_t i = 0; i < s->cap; i++) {
        if (!s->tags[2 * i]) continue;
        size_t j = keyset_slot(&n, s->keys + i * SOB_BUCKET_KEY_SIZE);
        memcpy(n.keys + j * SOB_BUCKET_KEY_SIZE, s->keys + i * SOB_BUCKET_KEY_SIZE, SOB_BUCKET_KEY_SIZE);
        n.tags[2 * j] = s->tags[2 * i];
        n.tags[2 * j + 1] = s->tags[2 * i + 1];
    }
    n.len = s->len;
    keyset_free(s);
    *s = n;
    return 0;
}

/* Finds or inserts k. Returns the slot, with *found set; (size_t)-1 when out of memory. */
static size_t keyset_put(sob_bucket_keyset *s, const uint8_t *k, uint32_t tag, int *found) {
    if ((s->len + 1) * 4 > s->cap * 3 && keyset_grow(s)) return (size_t)-1; /* load <= 3/4 */
    uint64_t h = key_hash(k);
    size_t i = keyset_slot_h(s, k, h);
    if (s->tags[2 * i]) {
        *found = 1;
        return i;
    }
    *found = 0;
    memcpy(s->keys + i * SOB_BUCKET_KEY_SIZE, k, SOB_BUCKET_KEY_SIZE);
    s->tags[2 * i] = tag;
    s->tags[2 * i + 1] = (uint32_t)(h >> 32);
    s->len++;
    return i;
}

int sob_bucket_keyset_has(const sob_bucket_keyset *s, const sob_ledger_change *c) {
    if (!s->cap) return 0;
    uint8_t k[SOB_BUCKET_KEY_SIZE];
    sob_bucket_key(c, k);
    return s->tags[2 * keyset_slot(s, k)] != 0;
}

/* ---- merge ---- */

void sob_bucket_merge_init(sob_bucket_merge *m) {
    memset(m, 0, sizeof *m);
    m->bucket = 1;
}

void sob_bucket_merge_free(sob_bucket_merge *m) {
    keyset_free(&m->seen);
    keyset_free(&m->wanted);
    sob_bucket_vec_free(&m->live);
    memset(m, 0, sizeof *m);
}

sob_status sob_bucket_merge_want(sob_bucket_merge *m, uint32_t want_mask, const sob_ledger_change *keys,
                                 size_t n) {
    m->use_wanted = 1;
    m->want_mask |= want_mask;
    uint8_t k[SOB_BUCKET_KEY_SIZE];
    for (size_t i = 0; i < n; i++) {
        int found;
        sob_bucket_key(&keys[i], k);
        if (keyset_put(&m->wanted, k, 1, &found) == (size_t)-1) return SOB_E_NOMEM;
    }
    return SOB_OK;
}

void sob_bucket_merge_next_bucket(sob_bucket_merge *m) {
    if (m->bucket < UINT32_MAX) m->bucket++;
}

sob_status sob_bucket_merge_add(sob_bucket_merge *m, const sob_ledger_change *recs, size_t n,
                                sob_ledger_error *err) {
    uint8_t k[SOB_BUCKET_KEY_SIZE];
    for (size_t i = 0; i < n; i++) {
        const sob_ledger_change *c = &recs[i];
        sob_bucket_key(c, k);
        if (m->use_wanted && c->entry_type < 32 && (m->want_mask & (1u << c->entry_type))) {
            if (!m->wanted.cap || !m->wanted.tags[2 * keyset_slot(&m->wanted, k)]) continue;
        }
        int found;
        size_t slot = keyset_put(&m->seen, k, m->bucket, &found);
        if (slot == (size_t)-1) return SOB_E_NOMEM;
        if (found) {
            if (m->seen.tags[2 * slot] == m->bucket) {
                if (err) {
                    err->offset = 0;
                    err->reason = "the same key twice in one bucket";
                }
                return SOB_E_PARSE;
            }
            continue; /* decided by a newer bucket */
        }
        if (c->change == SOB_CHANGE_REMOVED) continue; /* DEAD: hides the older entries */
        sob_ledger_change *dst = vec_push(&m->live);
        if (!dst) return SOB_E_NOMEM;
        *dst = *c;
    }
    return SOB_OK;
}
