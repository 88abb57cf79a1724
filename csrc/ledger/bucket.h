/* bucket.h: a strict reader of stellar-core bucket files (the live bucket list of a history
 * archive checkpoint) and the merge of a bucket list's buckets into one ledger state.
 *
 * A bucket file, once gunzipped, is an XDR record-marked stream: each record is a 4-byte big-endian
 * mark (high bit set: last fragment; 31-bit length) followed by exactly one BucketEntry
 * (stellar-core src/util/XDRStream.h, src/bucket/BucketInputIterator.cpp):
 *   METAENTRY (-1): BucketMetadata (ledgerVersion, ext: v0, or v1 + BucketListType); first record
 *                   only, at most once;
 *   LIVEENTRY (0), INITENTRY (2): a LedgerEntry;
 *   DEADENTRY (1): a LedgerKey.
 * Entries are sorted by key (BucketEntryIdCmp: LedgerEntryType first), so this reader also checks
 * that the entry types never go down; the merge refuses a key that is repeated in one bucket.
 *
 * Entries of the types asked for (a mask of 1 << SOB_ENTRY_*) come out as the change records of
 * ledger.h with phase SOB_PHASE_BUCKET: INITENTRY -> SOB_CHANGE_CREATED, LIVEENTRY ->
 * SOB_CHANGE_UPDATED, DEADENTRY -> SOB_CHANGE_REMOVED (key_only). Every other entry is validated by
 * the generated skip functions without being decoded (an account that is not asked for is walked,
 * never unpacked).
 *
 * Streaming: sob_bucket_parse takes a buffer of whole records and returns how many bytes it used;
 * the caller keeps the rest and calls again with more bytes appended (r->need says how many bytes
 * the next record needs). Offsets in errors count from the start of the bucket.
 *
 * Merging (sob_bucket_merge): the buckets of a bucket list are fed newest first (level 0 curr,
 * level 0 snap, level 1 curr, ... level 10 snap). The first entry seen for a key decides: a LIVE or
 * INIT entry is the key's state, a DEAD entry means the key does not exist; older entries of that
 * key are ignored. An optional "wanted" key set restricts what is kept (e.g. the accounts and
 * trustlines of the offers' sellers only), so memory is bounded by what the caller wants.
 *
 * Plain C11, no Python.h. No input can make these functions read outside the buffer or crash.
 */
#ifndef SOB_BUCKET_H
#define SOB_BUCKET_H

#include <stddef.h>
#include <stdint.h>

#include "ledger.h"

#define SOB_PHASE_BUCKET 8 /* a change record that comes from a bucket entry */

/* BucketEntryType */
#define SOB_BUCKET_METAENTRY (-1)
#define SOB_BUCKET_LIVEENTRY 0
#define SOB_BUCKET_DEADENTRY 1
#define SOB_BUCKET_INITENTRY 2

/* Largest record accepted (a LedgerEntry is far smaller; contract code is at most a few hundred KB). */
#define SOB_BUCKET_MAX_RECORD (64u * 1024u * 1024u)

#define SOB_BUCKET_MASK(t) (1u << (t))
#define SOB_BUCKET_MASK_DEX                                                                        \
    (SOB_BUCKET_MASK(SOB_ENTRY_ACCOUNT) | SOB_BUCKET_MASK(SOB_ENTRY_TRUSTLINE) |                   \
     SOB_BUCKET_MASK(SOB_ENTRY_OFFER) | SOB_BUCKET_MASK(SOB_ENTRY_LIQUIDITY_POOL))

typedef struct sob_bucket_vec {
    sob_ledger_change *v;
    size_t len, cap;
} sob_bucket_vec;

typedef struct sob_bucket_reader {
    uint32_t mask;           /* entry types reported */
    uint64_t base;           /* bucket offset of the first byte of the next buffer */
    uint64_t records;        /* records read so far (the meta entry included) */
    uint64_t counts[3];      /* LIVE, DEAD, INIT records read (all types) */
    uint64_t reported;       /* change records appended */
    int has_meta;
    uint32_t ledger_version; /* from the meta entry */
    int32_t list_type;       /* BucketListType of a v1 meta entry, else -1 */
    int32_t last_type;       /* LedgerEntryType of the previous entry, -1 before the first */
    size_t need;             /* after a call: bytes the next unread record needs (0: unknown) */
    int failed;
    sob_ledger_error error;  /* kept after a failure: every further call returns it */
} sob_bucket_reader;

/* mask: 1 << SOB_ENTRY_* of the types to report (other bits are refused: SOB_E_INVALID). */
sob_status sob_bucket_reader_init(sob_bucket_reader *r, uint32_t mask);

/* Reads the whole records in buf[0..len), appending the reported entries to *out, and sets
 * *consumed to the bytes used. final = 1: buf holds the rest of the bucket, and anything that is not
 * a whole record is an error. On an error, records appended by this call are removed again and the
 * reader stays failed. */
sob_status sob_bucket_parse(sob_bucket_reader *r, const uint8_t *buf, size_t len, int final,
                            sob_bucket_vec *out, size_t *consumed, sob_ledger_error *err);

void sob_bucket_vec_free(sob_bucket_vec *v);

/* A fixed-size key of a reported entry: type byte, then the identifying bytes (zero padded). */
#define SOB_BUCKET_KEY_SIZE 88
void sob_bucket_key(const sob_ledger_change *c, uint8_t key[SOB_BUCKET_KEY_SIZE]);

typedef struct sob_bucket_keyset {
    uint8_t *keys;  /* cap * SOB_BUCKET_KEY_SIZE */
    uint32_t *tags; /* per slot: [2i] tag (0: empty), [2i+1] 32 bits of the key's hash */
    size_t len, cap;
} sob_bucket_keyset;

typedef struct sob_bucket_merge {
    sob_bucket_keyset seen;   /* keys decided so far (tag: the bucket that decided them) */
    sob_bucket_keyset wanted; /* used when use_wanted */
    int use_wanted;
    uint32_t want_mask;       /* types that the wanted set restricts; other types are all kept */
    uint32_t bucket;          /* 1 + index of the bucket being fed */
    sob_bucket_vec live;      /* result: the live entries, in the order they were decided */
} sob_bucket_merge;

void sob_bucket_merge_init(sob_bucket_merge *m);
void sob_bucket_merge_free(sob_bucket_merge *m);
/* Restrict entries of the types in want_mask to the keys added here (records used for their keys). */
sob_status sob_bucket_merge_want(sob_bucket_merge *m, uint32_t want_mask, const sob_ledger_change *keys,
                                 size_t n);
/* Start the next (older) bucket. */
void sob_bucket_merge_next_bucket(sob_bucket_merge *m);
/* Feed the records one sob_bucket_parse call appended for the current bucket. A key seen twice in
 * the same bucket is SOB_E_PARSE (err->offset is 0: the reader's records carry no offsets). */
sob_status sob_bucket_merge_add(sob_bucket_merge *m, const sob_ledger_change *recs, size_t n,
                               sob_ledger_error *err);
/* 1 if the key of c is in the set, else 0. */
int sob_bucket_keyset_has(const sob_bucket_keyset *s, const sob_ledger_change *c);

#endif
