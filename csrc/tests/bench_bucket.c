/* bench_bucket.c: MB/s of uncompressed bucket for the C bucket reader and merge (no Python).
 *
 *   cmake -S . -B build/ctest -DSOB_BUILD_TESTS=ON -DSOB_BUILD_PYTHON=OFF && cmake --build build/ctest -j2
 *   build/ctest/bench_bucket [copies]      # from the repository root; default 200 copies
 *
 * The bucket: the 672 real mainnet entries of tests/data/ledger/sample-changes.xdr (accounts,
 * trustlines, offers, data) copied `copies` times, each copy's account keys patched so that every
 * key is distinct, as LIVEENTRY records in type order after a METAENTRY. Rows (median of 9 runs):
 * decode every DEX entry; report offers only (accounts and trustlines walked, not decoded);
 * decode + merge every DEX entry.
 */
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "bucket.h"
#include "stellar_xdr_gen.h"

static double now(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

static int cmp_d(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static uint8_t *build(int copies, size_t *len) {
    FILE *f = fopen("tests/data/ledger/sample-changes.xdr", "rb");
    if (!f) return NULL;
    static uint8_t src[1 << 20];
    size_t n = fread(src, 1, sizeof src, f);
    fclose(f);
    sob_xdr_cur c;
    sob_xdr_init(&c, src, n);
    uint32_t count;
    if (sob_xdr_u32(&c, &count)) return NULL;
    const uint8_t **start = calloc(count, sizeof *start);
    size_t *elen = calloc(count, sizeof *elen);
    for (uint32_t i = 0; i < count; i++) {
        uint32_t ct;
        if (sob_xdr_u32(&c, &ct)) return NULL;
        start[i] = c.p;
        if (sob_xdr_skip_LedgerEntry(&c)) return NULL;
        elen[i] = (size_t)(c.p - start[i]);
    }
    size_t cap = 16 + (size_t)copies * (n + 8 * count);
    uint8_t *b = malloc(cap), *p = b;
    static const uint8_t meta[16] = {0x80, 0, 0, 12, 0xff, 0xff, 0xff, 0xff, 0, 0, 0, 23, 0, 0, 0, 0};
    memcpy(p, meta, 16);
    p += 16;
    for (uint32_t t = 0; t < 10; t++)
        for (int k = 0; k < copies; k++)
            for (uint32_t i = 0; i < count; i++) {
                if (sob_xdr_be32(start[i] + 4) != t) continue;
                uint32_t rl = (uint32_t)elen[i] + 4;
                p[0] = (uint8_t)(0x80 | (rl >> 24));
                p[1] = (uint8_t)(rl >> 16);
                p[2] = (uint8_t)(rl >> 8);
                p[3] = (uint8_t)rl;
                memset(p + 4, 0, 4); /* LIVEENTRY */
                memcpy(p + 8, start[i], elen[i]);
                /* the account key starts at byte 12 of each of these entries: patch 4 bytes */
                p[8 + 12] = (uint8_t)(k >> 24);
                p[8 + 13] = (uint8_t)(k >> 16);
                p[8 + 14] = (uint8_t)(k >> 8);
                p[8 + 15] = (uint8_t)k;
                p += 8 + elen[i];
            }
    free(start);
    free(elen);
    *len = (size_t)(p - b);
    return b;
}

int main(int argc, char **argv) {
    int copies = argc > 1 ? atoi(argv[1]) : 200;
    size_t len;
    uint8_t *b = build(copies > 0 ? copies : 1, &len);
    if (!b) {
        fprintf(stderr, "bench_bucket: run from the repository root (tests/data/ledger/sample-changes.xdr)\n");
        return 2;
    }
    static const char *names[3] = {"decode every DEX entry", "offers only", "decode + merge"};
    for (int mode = 0; mode < 3; mode++) {
        double t[9];
        size_t kept = 0;
        for (int run = 0; run < 9; run++) {
            sob_bucket_reader r;
            sob_bucket_vec v = {0};
            size_t used;
            sob_ledger_error e;
            sob_bucket_reader_init(&r, mode == 1 ? SOB_BUCKET_MASK(SOB_ENTRY_OFFER) : SOB_BUCKET_MASK_DEX);
            double t0 = now();
            if (sob_bucket_parse(&r, b, len, 1, &v, &used, &e) != SOB_OK) {
                fprintf(stderr, "bench_bucket: %s at %zu\n", e.reason, e.offset);
                return 1;
            }
            kept = v.len;
            if (mode == 2) {
                sob_bucket_merge m;
                sob_bucket_merge_init(&m);
                if (sob_bucket_merge_add(&m, v.v, v.len, &e) != SOB_OK) return 1;
                kept = m.live.len;
                sob_bucket_merge_free(&m);
            }
            t[run] = now() - t0;
            sob_bucket_vec_free(&v);
        }
        qsort(t, 9, sizeof *t, cmp_d);
        printf("%-24s %8.2f ms  %8.1f MB/s  (%zu bytes, %zu records kept)\n", names[mode], t[4] * 1e3,
               (double)len / t[4] / 1e6, len, kept);
    }
    free(b);
    return 0;
}
