/* fuzz_bucket.c: libFuzzer harness for the bucket reader and merge (csrc/ledger/bucket.h).
 * Every input is read as one whole bucket and again in pieces (sizes taken from the input's first
 * bytes): both must end the same way (SOB_OK with the same records and counts, or SOB_E_PARSE with
 * the same offset and reason, an offset inside the input, nothing appended by the failed call);
 * the records respect the documented invariants; the records are fed to a merge twice (as two
 * buckets: the second copy decides nothing) and once with a wanted set. Run with
 * csrc/fuzz/run_fuzz.sh (seed corpus: csrc/fuzz/corpus_bucket). */
#include <stdlib.h>
#include <string.h>

#include "bucket.h"

#define INV(cond)             \
    do {                      \
        if (!(cond)) abort(); \
    } while (0)

static void check_rec(const sob_ledger_change *c) {
    INV(c->phase == SOB_PHASE_BUCKET && c->tx_index == -1 && c->op_index == -1);
    INV(c->change == SOB_CHANGE_CREATED || c->change == SOB_CHANGE_UPDATED || c->change == SOB_CHANGE_REMOVED);
    INV(c->key_only == (c->change == SOB_CHANGE_REMOVED));
    INV(!c->key_only || c->last_modified == 0);
    INV(c->entry_type == SOB_ENTRY_ACCOUNT || c->entry_type == SOB_ENTRY_TRUSTLINE ||
        c->entry_type == SOB_ENTRY_OFFER || c->entry_type == SOB_ENTRY_LIQUIDITY_POOL);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    sob_bucket_reader r1, r2;
    sob_bucket_vec whole = {0}, pieces = {0};
    sob_ledger_error e1 = {0}, e2 = {0};
    size_t used;
    INV(sob_bucket_reader_init(&r1, SOB_BUCKET_MASK_DEX) == SOB_OK);
    sob_status s1 = sob_bucket_parse(&r1, data, size, 1, &whole, &used, &e1);
    INV(s1 == SOB_OK || s1 == SOB_E_PARSE);
    if (s1 == SOB_OK) {
        INV(used == size);
        INV(whole.len == r1.reported);
    } else {
        INV(whole.len == 0 && e1.reason != NULL && e1.offset <= size);
    }
    for (size_t i = 0; i < whole.len; i++) check_rec(&whole.v[i]);

    /* In pieces: the window [off, have) grows by a step taken from the input. */
    sob_bucket_reader_init(&r2, SOB_BUCKET_MASK_DEX);
    size_t off = 0, have = 0, k = 0;
    sob_status s2 = SOB_OK;
    for (;;) {
        size_t step = size ? (size_t)data[k++ % size] % 61 + 1 : 1;
        have = have + step < size ? have + step : size;
        int final = have == size;
        s2 = sob_bucket_parse(&r2, data + off, have - off, final, &pieces, &used, &e2);
        if (s2 != SOB_OK) break;
        off += used;
        if (final) break;
    }
    INV(s1 == s2);
    if (s1 == SOB_OK) {
        INV(whole.len == pieces.len && (whole.len == 0 || !memcmp(whole.v, pieces.v, whole.len * sizeof *whole.v)));
        INV(r1.records == r2.records && !memcmp(r1.counts, r2.counts, sizeof r1.counts));
    } else {
        INV(e1.offset == e2.offset && !strcmp(e1.reason, e2.reason));
    }

    if (s1 == SOB_OK) {
        sob_bucket_merge m;
        sob_ledger_error me;
        sob_bucket_merge_init(&m);
        sob_status ms = sob_bucket_merge_add(&m, whole.v, whole.len, &me);
        INV(ms == SOB_OK || ms == SOB_E_PARSE);
        if (ms == SOB_OK) {
            size_t live = m.live.len;
            INV(live <= whole.len);
            for (size_t i = 0; i < live; i++) INV(m.live.v[i].change != SOB_CHANGE_REMOVED);
            sob_bucket_merge_next_bucket(&m);
            INV(sob_bucket_merge_add(&m, whole.v, whole.len, &me) == SOB_OK);
            INV(m.live.len == live); /* an older copy decides nothing */
        }
        sob_bucket_merge_free(&m);
        sob_bucket_merge_init(&m);
        if (whole.len) INV(sob_bucket_merge_want(&m, SOB_BUCKET_MASK_DEX, whole.v, 1) == SOB_OK);
        ms = sob_bucket_merge_add(&m, whole.v, whole.len, &me);
        INV(ms == SOB_OK || ms == SOB_E_PARSE);
        if (ms == SOB_OK) INV(m.live.len <= 1);
        sob_bucket_merge_free(&m);
    }
    sob_bucket_vec_free(&whole);
    sob_bucket_vec_free(&pieces);
    return 0;
}
