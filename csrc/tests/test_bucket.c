/* test_bucket.c: the bucket reader and the bucket-list merge (csrc/ledger/bucket.h).
 *
 * - a bucket built from the real entries of tests/data/ledger/sample-changes.xdr (100 offers,
 *   372 accounts, 100 trustlines, 100 data entries of a 2020 mainnet checkpoint, re-framed as
 *   LIVEENTRY records sorted by type, after a METAENTRY) reads back as exactly the records the
 *   ledger decoder gives for the same entries, field for field;
 * - the mask: only the types asked for come out, the others are walked and counted;
 * - streaming: fed in pieces of every size from 1 byte up, the records and counts are the same;
 * - hand-made malformed buckets, each with the offset and reason expected;
 * - every prefix and random single-byte mutations: SOB_OK or SOB_E_PARSE, never a crash;
 * - the merge: newest first, first live wins, DEAD hides older entries, a wanted set, a key twice in
 *   one bucket refused.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bucket.h"
#include "ledger.h"
#include "stellar_xdr_gen.h"
#include "testlib.h"



typedef struct buf {
    uint8_t *p;
    size_t n, cap;
} buf;

static void put(buf *b, const void *src, size_t n) {
    if (b->n + n > b->cap) {
        size_t cap = b->cap ? b->cap : 256;
        while (cap < b->n + n) cap *= 2;
        b->p = realloc(b->p, cap);
        if (!b->p) abort();
        b->cap = cap;
    }
    memcpy(b->p + b->n, src, n);
    b->n += n;
}

static void u32(buf *b, uint32_t v) {
    uint8_t x[4] = {(uint8_t)(v >> 24), (uint8_t)(v >> 16), (uint8_t)(v >> 8), (uint8_t)v};
    put(b, x, 4);
}

static void u64(buf *b, uint64_t v) {
    u32(b, (uint32_t)(v >> 32));
    u32(b, (uint32_t)v);
}

static void record(buf *b, const buf *body) {
    u32(b, 0x80000000u | (uint32_t)body->n);
    put(b, body->p, body->n);
}

static void meta(buf *b, uint32_t version, int ext, uint32_t list_type) {
    buf e = {0};
    u32(&e, (uint32_t)SOB_BUCKET_METAENTRY);
    u32(&e, version);
    u32(&e, (uint32_t)ext);
    if (ext == 1) u32(&e, list_type);
    record(b, &e);
    free(e.p);
}

/* The bucket of sample-changes.xdr: a METAENTRY, then every STATE entry as a LIVEENTRY, stably
 * sorted by entry type. Also returns the ledger decoder's records of the same file. */
static int sample_bucket(buf *bucket, sob_ledger_out *ref) {
    buf src = {0};
    if (!(src.p = sob_test_read_file(SOB_TEST_LEDGER_DATA "sample-changes.xdr", &src.n))) return -1;
    src.cap = src.n;
    sob_ledger_error err;
    if (sob_ledger_decode_changes(src.p, src.n, ref, &err) != SOB_OK) return -1;
    sob_xdr_cur c;
    sob_xdr_init(&c, src.p, src.n);
    uint32_t n;
    if (sob_xdr_u32(&c, &n)) return -1;
    const uint8_t **start = calloc(n, sizeof *start);
    size_t *len = calloc(n, sizeof *len);
    uint32_t *type = calloc(n, sizeof *type);
    for (uint32_t i = 0; i < n; i++) {
        uint32_t ct;
        if (sob_xdr_u32(&c, &ct) || ct != SOB_CHANGE_STATE) return -1;
        start[i] = c.p;
        type[i] = sob_xdr_be32(c.p + 4);
        if (sob_xdr_skip_LedgerEntry(&c)) return -1;
        len[i] = (size_t)(c.p - start[i]);
    }
    memset(bucket, 0, sizeof *bucket);
    meta(bucket, 13, 0, 0);
    for (uint32_t t = 0; t < 10; t++)
        for (uint32_t i = 0; i < n; i++) {
            if (type[i] != t) continue;
            buf e = {0};
            u32(&e, SOB_BUCKET_LIVEENTRY);
            put(&e, start[i], len[i]);
            record(bucket, &e);
            free(e.p);
        }
    free(start);
    free(len);
    free(type);
    free(src.p);
    return 0;
}

static int same_entry(const sob_ledger_change *a, const sob_ledger_change *b) {
    return a->entry_type == b->entry_type && a->last_modified == b->last_modified &&
           memcmp(&a->u, &b->u, sizeof a->u) == 0;
}

static void test_sample(void) {
    buf b;
    sob_ledger_out ref;
    sob_ledger_out_init(&ref);
    CHECK(sample_bucket(&b, &ref) == 0);
    CHECK(ref.n_changes == 572); /* 100 offers + 372 accounts + 100 trustlines (data not reported) */

    sob_bucket_reader r;
    sob_bucket_vec out = {0};
    size_t used;
    sob_ledger_error err;
    CHECK(sob_bucket_reader_init(&r, SOB_BUCKET_MASK_DEX) == SOB_OK);
    CHECK(sob_bucket_parse(&r, b.p, b.n, 1, &out, &used, &err) == SOB_OK);
    CHECK(used == b.n);
    CHECK(r.has_meta && r.ledger_version == 13 && r.list_type == -1);
    CHECK(r.records == 673 && r.counts[0] == 672 && r.counts[1] == 0 && r.counts[2] == 0);
    CHECK(out.len == 572);
    /* Same records as the ledger decoder, in type order (the reference is in file order). */
    size_t matched = 0;
    for (uint32_t t = 0; t < 6; t++)
        for (size_t i = 0; i < ref.n_changes; i++) {
            if (ref.changes[i].entry_type != t) continue;
            if (matched < out.len && same_entry(&out.v[matched], &ref.changes[i]) &&
                out.v[matched].change == SOB_CHANGE_UPDATED && out.v[matched].phase == SOB_PHASE_BUCKET &&
                !out.v[matched].key_only)
                matched++;
        }
    CHECK(matched == 572);
    size_t offers = 0;
    for (size_t i = 0; i < out.len; i++) offers += out.v[i].entry_type == SOB_ENTRY_OFFER;
    CHECK(offers == 100);

    /* The mask: offers only; the accounts and trustlines are walked but not reported. */
    sob_bucket_vec only = {0};
    CHECK(sob_bucket_reader_init(&r, SOB_BUCKET_MASK(SOB_ENTRY_OFFER)) == SOB_OK);
    CHECK(sob_bucket_parse(&r, b.p, b.n, 1, &only, &used, &err) == SOB_OK);
    CHECK(only.len == 100 && r.records == 673);
    int all_offers = 1;
    for (size_t i = 0; i < only.len; i++) all_offers &= only.v[i].entry_type == SOB_ENTRY_OFFER;
    CHECK(all_offers);
    CHECK(sob_bucket_reader_init(&r, 1u << 3) == SOB_E_INVALID); /* DATA is not a reported type */

    /* Streaming in pieces: the same records for every piece size. */
    static const size_t pieces[] = {1, 2, 3, 7, 64, 333, 4096};
    for (size_t pi = 0; pi < sizeof pieces / sizeof *pieces; pi++) {
        sob_bucket_vec s = {0};
        sob_bucket_reader_init(&r, SOB_BUCKET_MASK_DEX);
        size_t have = 0, off = 0; /* window [off, have) of b */
        int ok = 1;
        while (ok) {
            size_t next = have + pieces[pi] < b.n ? have + pieces[pi] : b.n;
            int final = next == b.n;
            have = next;
            if (sob_bucket_parse(&r, b.p + off, have - off, final, &s, &used, &err) != SOB_OK) ok = 0;
            off += used;
            if (final) break;
        }
        CHECK(ok && off == b.n && s.len == out.len && memcmp(s.v, out.v, out.len * sizeof *out.v) == 0);
        sob_bucket_vec_free(&s);
    }

    /* Every prefix: SOB_OK only for whole-record prefixes, else a parse error inside the input. */
    size_t bad_off = 0, ok_prefixes = 0;
    size_t ok_expected = 0;
    for (size_t n = 0; n < b.n; n += n < 6000 ? 1 : 97) { /* every byte early, then a stride */
        sob_bucket_vec s = {0};
        sob_bucket_reader_init(&r, SOB_BUCKET_MASK_DEX);
        sob_status st = sob_bucket_parse(&r, b.p, n, 1, &s, &used, &err);
        /* is n a record boundary? */
        size_t pos = 0;
        while (pos < n && b.n - pos >= 4) pos += 4 + (sob_xdr_be32(b.p + pos) & 0x7fffffffu);
        ok_expected += pos == n;
        if (st == SOB_OK) ok_prefixes++;
        else if (st != SOB_E_PARSE || err.offset > n) bad_off++;
        sob_bucket_vec_free(&s);
    }
    CHECK(bad_off == 0);
    CHECK(ok_prefixes == ok_expected && ok_expected > 40); /* exactly the whole-record prefixes */

    /* Random single-byte mutations: never a crash, errors inside the input. */
    uint64_t seed = 14;
    size_t bad = 0;
    for (int i = 0; i < 4000; i++) {
        seed = seed * 6364136223846793005ull + 1442695040888963407ull;
        size_t at = (size_t)(seed >> 33) % b.n;
        uint8_t old = b.p[at];
        b.p[at] = (uint8_t)(seed >> 17);
        sob_bucket_vec s = {0};
        sob_bucket_reader_init(&r, SOB_BUCKET_MASK_DEX);
        sob_status st = sob_bucket_parse(&r, b.p, b.n, 1, &s, &used, &err);
        if (!(st == SOB_OK || (st == SOB_E_PARSE && err.offset <= b.n && err.reason))) bad++;
        if (st != SOB_OK && s.len != 0) bad++; /* nothing kept from a failed call */
        b.p[at] = old;
        sob_bucket_vec_free(&s);
    }
    CHECK(bad == 0);

    sob_bucket_vec_free(&out);
    sob_bucket_vec_free(&only);
    sob_ledger_out_free(&ref);
    free(b.p);
}

/* ---- hand-made entries ---- */

static void pubkey(buf *b, uint8_t fill) {
    uint8_t k[32];
    memset(k, fill, 32);
    u32(b, 0);
    put(b, k, 32);
}

static void asset4(buf *b, const char *code, uint8_t issuer) {
    u32(b, 1);
    put(b, code, 4);
    pubkey(b, issuer);
}

static void offer_entry(buf *e, int kind, uint8_t seller, int64_t id, int64_t amount) {
    u32(e, (uint32_t)kind);
    u32(e, 77);    /* lastModifiedLedgerSeq */
    u32(e, 2);     /* OFFER */
    pubkey(e, seller);
    u64(e, (uint64_t)id);
    u32(e, 0);     /* selling native */
    asset4(e, "USD\0", 9);
    u64(e, (uint64_t)amount);
    u32(e, 3);
    u32(e, 2);     /* price 3/2 */
    u32(e, 1);     /* flags: passive */
    u32(e, 0);     /* ext */
    u32(e, 0);     /* LedgerEntry ext */
}

static void offer_dead(buf *e, uint8_t seller, int64_t id) {
    u32(e, SOB_BUCKET_DEADENTRY);
    u32(e, 2);
    pubkey(e, seller);
    u64(e, (uint64_t)id);
}

static void account_entry(buf *e, uint8_t who, int64_t balance) {
    u32(e, SOB_BUCKET_LIVEENTRY);
    u32(e, 5);
    u32(e, 0); /* ACCOUNT */
    pubkey(e, who);
    u64(e, (uint64_t)balance);
    u64(e, 12345); /* seqNum */
    u32(e, 3);     /* numSubEntries */
    u32(e, 0);     /* no inflationDest */
    u32(e, 0);     /* flags */
    u32(e, 0);     /* homeDomain "" */
    u32(e, 0x01000000u); /* thresholds */
    u32(e, 0);     /* signers */
    u32(e, 0);     /* ext */
    u32(e, 0);
}

typedef void (*entry_fn)(buf *);

static sob_status parse_all(const buf *b, sob_bucket_vec *out, sob_ledger_error *err) {
    sob_bucket_reader r;
    size_t used;
    sob_bucket_reader_init(&r, SOB_BUCKET_MASK_DEX);
    return sob_bucket_parse(&r, b->p, b->n, 1, out, &used, err);
}

static void expect_error(const buf *b, size_t offset, const char *reason) {
    sob_bucket_vec out = {0};
    sob_ledger_error err = {0};
    sob_status st = parse_all(b, &out, &err);
    CHECK(st == SOB_E_PARSE);
    CHECK(err.offset == offset);
    CHECK(err.reason && strstr(err.reason, reason) != NULL);
    if (st != SOB_E_PARSE || err.offset != offset || !err.reason || !strstr(err.reason, reason))
        fprintf(stderr, "  expected '%s' at %zu, got '%s' at %zu\n", reason, offset,
                err.reason ? err.reason : "(none)", err.offset);
    CHECK(out.len == 0);
    sob_bucket_vec_free(&out);
}

static void test_malformed(void) {
    buf b = {0}, e = {0};
    /* METAENTRY that is not first */
    offer_entry(&e, SOB_BUCKET_LIVEENTRY, 1, 1, 10);
    record(&b, &e);
    size_t second = b.n;
    meta(&b, 20, 0, 0);
    expect_error(&b, second + 4, "METAENTRY that is not the bucket's first record");
    b.n = 0;
    /* A hot-archive bucket is not a live bucket */
    meta(&b, 23, 1, 1);
    expect_error(&b, 16, "HOT_ARCHIVE");
    b.n = 0;
    meta(&b, 23, 1, 0);
    sob_bucket_vec out = {0};
    sob_ledger_error err;
    CHECK(parse_all(&b, &out, &err) == SOB_OK);
    b.n = 0;
    meta(&b, 23, 2, 0);
    expect_error(&b, 12, "BucketMetadata ext: unknown union arm");
    /* record mark without the top bit */
    b.n = 0;
    u32(&b, 8);
    u32(&b, 0);
    u32(&b, 0);
    expect_error(&b, 0, "last-fragment bit");
    /* record running past the end */
    b.n = 0;
    u32(&b, 0x80000010u);
    u32(&b, 0);
    expect_error(&b, 0, "record length runs past the end");
    /* partial mark */
    b.n = 0;
    u32(&b, 0x80000000u);
    b.n = 2;
    expect_error(&b, 2, "inside a record mark");
    /* unknown arm */
    b.n = 0;
    e.n = 0;
    u32(&e, 3);
    record(&b, &e);
    expect_error(&b, 4, "BucketEntry: unknown union arm");
    /* bytes left after the entry */
    b.n = 0;
    e.n = 0;
    offer_dead(&e, 1, 1);
    u32(&e, 0);
    record(&b, &e);
    expect_error(&b, 4 + e.n - 4, "bytes left in the record");
    /* types going down: an offer, then an account */
    b.n = 0;
    e.n = 0;
    offer_entry(&e, SOB_BUCKET_LIVEENTRY, 1, 1, 10);
    record(&b, &e);
    size_t acc = b.n;
    e.n = 0;
    account_entry(&e, 1, 100);
    record(&b, &e);
    expect_error(&b, acc + 4 + 8, "out of order");
    /* a failed reader stays failed */
    sob_bucket_reader r;
    size_t used;
    sob_bucket_reader_init(&r, SOB_BUCKET_MASK_DEX);
    CHECK(sob_bucket_parse(&r, b.p, b.n, 1, &out, &used, &err) == SOB_E_PARSE);
    CHECK(sob_bucket_parse(&r, b.p, 0, 1, &out, &used, &err) == SOB_E_PARSE && err.offset == acc + 12);
    /* not final: an incomplete record is left for the next call, with the bytes it needs */
    b.n = 0;
    e.n = 0;
    offer_entry(&e, SOB_BUCKET_LIVEENTRY, 1, 1, 10);
    record(&b, &e);
    sob_bucket_reader_init(&r, SOB_BUCKET_MASK_DEX);
    CHECK(sob_bucket_parse(&r, b.p, b.n - 1, 0, &out, &used, &err) == SOB_OK && used == 0 && r.need == b.n);
    CHECK(sob_bucket_parse(&r, b.p, b.n, 0, &out, &used, &err) == SOB_OK && used == b.n && out.len == 1);
    CHECK(out.v[0].u.offer.amount == 10 && out.v[0].u.offer.n == 3 && out.v[0].u.offer.d == 2 &&
          out.v[0].u.offer.flags == 1 && out.v[0].last_modified == 77 && out.v[0].u.offer.buying.type == 1 &&
          memcmp(out.v[0].u.offer.buying.code, "USD", 3) == 0);
    sob_bucket_vec_free(&out);
    free(b.p);
    free(e.p);
}

/* ---- merge ---- */

static sob_bucket_vec bucket_of(void (*build)(buf *)) {
    buf b = {0};
    build(&b);
    sob_bucket_vec v = {0};
    sob_ledger_error err;
    CHECK(parse_all(&b, &v, &err) == SOB_OK);
    free(b.p);
    return v;
}

static void newest(buf *b) { /* level 0 curr: offer 1 updated, offer 2 deleted */
    buf e = {0};
    offer_entry(&e, SOB_BUCKET_LIVEENTRY, 1, 1, 111);
    record(b, &e);
    e.n = 0;
    offer_dead(&e, 1, 2);
    record(b, &e);
    free(e.p);
}

static void older(buf *b) { /* offers 1, 2, 3 as they were */
    buf e = {0};
    account_entry(&e, 1, 500);
    record(b, &e);
    for (int id = 1; id <= 3; id++) {
        e.n = 0;
        offer_entry(&e, SOB_BUCKET_INITENTRY, 1, id, 100 * id);
        record(b, &e);
    }
    free(e.p);
}

static void dup(buf *b) {
    buf e = {0};
    offer_entry(&e, SOB_BUCKET_LIVEENTRY, 1, 5, 1);
    record(b, &e);
    e.n = 0;
    offer_dead(&e, 1, 5);
    record(b, &e);
    free(e.p);
}

static void test_merge(void) {
    sob_bucket_vec a = bucket_of(newest), b = bucket_of(older), d = bucket_of(dup);
    sob_bucket_merge m;
    sob_ledger_error err;
    sob_bucket_merge_init(&m);
    CHECK(sob_bucket_merge_add(&m, a.v, a.len, &err) == SOB_OK);
    sob_bucket_merge_next_bucket(&m);
    CHECK(sob_bucket_merge_add(&m, b.v, b.len, &err) == SOB_OK);
    /* offer 1 = 111 (newest), offer 2 hidden, offer 3 = 300, account */
    CHECK(m.live.len == 3);
    int64_t got[4] = {0};
    int accounts = 0;
    for (size_t i = 0; i < m.live.len; i++) {
        if (m.live.v[i].entry_type == SOB_ENTRY_OFFER) got[m.live.v[i].u.offer.offer_id] = m.live.v[i].u.offer.amount;
        else accounts++;
    }
    CHECK(got[1] == 111 && got[2] == 0 && got[3] == 300 && accounts == 1);
    CHECK(sob_bucket_keyset_has(&m.seen, &a.v[1])); /* the dead key is known */
    sob_bucket_merge_free(&m);

    /* Wanted accounts: none wanted, so the account is dropped; offers are not restricted. */
    sob_bucket_merge_init(&m);
    sob_ledger_change k;
    memset(&k, 0, sizeof k);
    k.entry_type = SOB_ENTRY_ACCOUNT;
    memset(k.u.account.account, 7, 32);
    CHECK(sob_bucket_merge_want(&m, SOB_BUCKET_MASK(SOB_ENTRY_ACCOUNT), &k, 1) == SOB_OK);
    CHECK(sob_bucket_merge_add(&m, b.v, b.len, &err) == SOB_OK);
    CHECK(m.live.len == 3);
    sob_bucket_merge_free(&m);
    sob_bucket_merge_init(&m);
    memset(k.u.account.account, 1, 32);
    CHECK(sob_bucket_merge_want(&m, SOB_BUCKET_MASK(SOB_ENTRY_ACCOUNT), &k, 1) == SOB_OK);
    CHECK(sob_bucket_merge_add(&m, b.v, b.len, &err) == SOB_OK);
    CHECK(m.live.len == 4 && m.live.v[0].u.account.balance == 500 && m.live.v[0].u.account.num_sub_entries == 3);
    sob_bucket_merge_free(&m);

    /* The same key twice in one bucket */
    sob_bucket_merge_init(&m);
    CHECK(sob_bucket_merge_add(&m, d.v, d.len, &err) == SOB_E_PARSE && strstr(err.reason, "twice"));
    sob_bucket_merge_free(&m);
    /* ... but fine across two buckets: the first one (live) wins */
    sob_bucket_merge_init(&m);
    CHECK(sob_bucket_merge_add(&m, d.v, 1, &err) == SOB_OK);
    sob_bucket_merge_next_bucket(&m);
    CHECK(sob_bucket_merge_add(&m, d.v + 1, 1, &err) == SOB_OK);
    CHECK(m.live.len == 1 && m.live.v[0].u.offer.offer_id == 5);
    sob_bucket_merge_free(&m);

    /* Many keys: the set grows and still finds every key. */
    sob_bucket_merge_init(&m);
    sob_ledger_change c;
    memset(&c, 0, sizeof c);
    c.entry_type = SOB_ENTRY_OFFER;
    c.change = SOB_CHANGE_UPDATED;
    size_t missing = 0;
    for (int64_t id = 1; id <= 20000; id++) {
        c.u.offer.offer_id = id;
        if (sob_bucket_merge_add(&m, &c, 1, &err) != SOB_OK) missing++;
    }
    sob_bucket_merge_next_bucket(&m);
    for (int64_t id = 1; id <= 20000; id++) {
        c.u.offer.offer_id = id;
        if (!sob_bucket_keyset_has(&m.seen, &c)) missing++;
        sob_bucket_merge_add(&m, &c, 1, &err); /* older: ignored */
    }
    CHECK(missing == 0 && m.live.len == 20000);
    sob_bucket_merge_free(&m);

    sob_bucket_vec_free(&a);
    sob_bucket_vec_free(&b);
    sob_bucket_vec_free(&d);
}

int main(void) {
    test_sample();
    test_malformed();
    test_merge();
    return sob_test_summary("test_bucket");
}
