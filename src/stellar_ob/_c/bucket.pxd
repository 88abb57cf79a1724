# csrc/ledger/bucket.h: the history-archive bucket reader and the merge of a bucket list.
from libc.stdint cimport int32_t, uint8_t, uint32_t, uint64_t

from stellar_ob._c.sob_common cimport sob_status
from stellar_ob._c.ledger cimport sob_ledger_change, sob_ledger_error

cdef extern from "bucket.h":
    int SOB_BUCKET_METAENTRY
    int SOB_BUCKET_LIVEENTRY
    int SOB_BUCKET_DEADENTRY
    int SOB_BUCKET_INITENTRY
    uint32_t SOB_BUCKET_MAX_RECORD

    ctypedef struct sob_bucket_vec:
        sob_ledger_change *v
        size_t len
        size_t cap
    ctypedef struct sob_bucket_reader:
        uint32_t mask
        uint64_t base
        uint64_t records
        uint64_t counts[3]
        uint64_t reported
        int has_meta
        uint32_t ledger_version
        int32_t list_type
        int32_t last_type
        size_t need
        int failed
        sob_ledger_error error
    sob_status sob_bucket_reader_init(sob_bucket_reader *r, uint32_t mask)
    sob_status sob_bucket_parse(sob_bucket_reader *r, const uint8_t *buf, size_t len, int final,
                                sob_bucket_vec *out, size_t *consumed, sob_ledger_error *err) nogil
    void sob_bucket_vec_free(sob_bucket_vec *v)

    ctypedef struct sob_bucket_keyset:
        uint8_t *keys
        uint32_t *tags
        size_t len
        size_t cap
    ctypedef struct sob_bucket_merge:
        sob_bucket_keyset seen
        sob_bucket_keyset wanted
        int use_wanted
        uint32_t want_mask
        uint32_t bucket
        sob_bucket_vec live
    void sob_bucket_merge_init(sob_bucket_merge *m)
    void sob_bucket_merge_free(sob_bucket_merge *m)
    sob_status sob_bucket_merge_want(sob_bucket_merge *m, uint32_t want_mask, const sob_ledger_change *keys,
                                     size_t n)
    void sob_bucket_merge_next_bucket(sob_bucket_merge *m)
    sob_status sob_bucket_merge_add(sob_bucket_merge *m, const sob_ledger_change *recs, size_t n,
                                    sob_ledger_error *err) nogil
    int sob_bucket_keyset_has(const sob_bucket_keyset *s, const sob_ledger_change *c)
