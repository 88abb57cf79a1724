/* bench_ledger.c: speed of the LedgerCloseMeta decoder (not run by CTest).
 *
 *   bench_ledger [RUNS]      from the repository root (reads tests/data/ledger/)
 *
 * 1. decode of the mainnet ledger 53,312,000 (372,480-byte LedgerCloseMeta v1): median, min and
 *    max of RUNS timed decodes (default 300) after warm-up; target <= 1 ms median;
 * 2. throughput over the decompressed fixtures (the mainnet batch, the three small batches, and
 *    the protocol-23/24 streams when libzstd.so.1 can be loaded): median of 15 passes over all of
 *    them, in MB/s of XDR (10^6 bytes); target >= 300 MB/s.
 * tools/bench_ledger.py runs this and times stellar-sdk on the same ledger for the ratio.
 */
#define _POSIX_C_SOURCE 200809L
#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "ledger.h"

#define DATA "tests/data/ledger/"

static double now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static int cmp_d(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static double median(double *v, int n) {
    qsort(v, (size_t)n, sizeof *v, cmp_d);
    return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

typedef struct input {
    const char *name;
    int form;
    uint8_t *p;
    size_t n;
} input;

static uint8_t *read_all(const char *path, size_t *n) {
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    fseek(f, 0, SEEK_END);
    long len = ftell(f);
    fseek(f, 0, SEEK_SET);
    uint8_t *p = malloc(len ? (size_t)len : 1);
    if (!p || fread(p, 1, (size_t)len, f) != (size_t)len) {
        fclose(f);
        free(p);
        return NULL;
    }
    fclose(f);
    *n = (size_t)len;
    return p;
}

static uint8_t *read_zstd(const char *path, size_t *n) {
    void *h = dlopen("libzstd.so.1", RTLD_NOW);
    if (!h) return NULL;
    size_t (*dec)(void *, size_t, const void *, size_t) =
        (size_t(*)(void *, size_t, const void *, size_t))dlsym(h, "ZSTD_decompress");
    unsigned long long (*size)(const void *, size_t) =
        (unsigned long long (*)(const void *, size_t))dlsym(h, "ZSTD_getFrameContentSize");
    unsigned (*iserr)(size_t) = (unsigned (*)(size_t))dlsym(h, "ZSTD_isError");
    if (!dec || !size || !iserr) return NULL;
    size_t zn;
    uint8_t *z = read_all(path, &zn);
    if (!z) return NULL;
    unsigned long long cap = size(z, zn);
    if (cap >= (1ull << 32)) cap = 64u << 20; /* size not in the frame header: 64 MB is plenty */
    uint8_t *p = malloc((size_t)cap);
    size_t got = dec(p, (size_t)cap, z, zn);
    free(z);
    if (iserr(got)) {
        free(p);
        return NULL;
    }
    *n = got;
    return p;
}

static size_t decode_input(const input *in, sob_ledger_out *o) {
    sob_ledger_reader r;
    sob_ledger_error err;
    size_t changes = 0;
    if (sob_ledger_reader_init(&r, in->p, in->n, in->form, &err) != SOB_OK) {
        fprintf(stderr, "%s: %s at %zu\n", in->name, err.reason, err.offset);
        exit(1);
    }
    for (;;) {
        int got;
        if (sob_ledger_reader_next(&r, o, &got, &err) != SOB_OK) {
            fprintf(stderr, "%s: %s at %zu\n", in->name, err.reason, err.offset);
            exit(1);
        }
        if (!got) break;
        changes += o->n_changes;
    }
    return changes;
}

int main(int argc, char **argv) {
    int runs = argc > 1 ? atoi(argv[1]) : 300;
    if (runs < 5) runs = 5;
    input ins[] = {
        {DATA "FCD285FF--53312000.xdr", SOB_LEDGER_FORM_BATCH, NULL, 0},
        {DATA "FFFFFC1A--997.xdr", SOB_LEDGER_FORM_BATCH, NULL, 0},
        {DATA "FFFFFC19--998.xdr", SOB_LEDGER_FORM_BATCH, NULL, 0},
        {DATA "FFFFFC18--999.xdr", SOB_LEDGER_FORM_BATCH, NULL, 0},
        {DATA "load-test-ledgers-v23-standalone.xdr.zstd", SOB_LEDGER_FORM_STREAM, NULL, 0},
        {DATA "load-test-ledgers-v24.xdr.zstd", SOB_LEDGER_FORM_STREAM, NULL, 0},
    };
    int nin = (int)(sizeof ins / sizeof ins[0]);
    for (int i = 0; i < nin; i++) {
        size_t L = strlen(ins[i].name);
        ins[i].p = strcmp(ins[i].name + L - 5, ".zstd") ? read_all(ins[i].name, &ins[i].n) : read_zstd(ins[i].name, &ins[i].n);
        if (!ins[i].p) {
            if (i == 0) {
                fprintf(stderr, "cannot read %s (run from the repository root)\n", ins[i].name);
                return 1;
            }
            fprintf(stderr, "skipping %s (unreadable, or libzstd.so.1 missing)\n", ins[i].name);
        }
    }

    /* 1. the mainnet ledger: the raw LedgerCloseMeta inside the batch */
    const uint8_t *meta = ins[0].p + 12;
    size_t mn = ins[0].n - 12;
    sob_ledger_out o;
    sob_ledger_out_init(&o);
    sob_ledger_error err;
    for (int i = 0; i < 20; i++)
        if (sob_ledger_decode(meta, mn, &o, &err) != SOB_OK) {
            fprintf(stderr, "decode failed: %s at %zu\n", err.reason, err.offset);
            return 1;
        }
    size_t offers = 0;
    for (size_t i = 0; i < o.n_changes; i++) offers += o.changes[i].entry_type == SOB_ENTRY_OFFER;
    double *t = malloc(sizeof(double) * (size_t)runs);
    for (int i = 0; i < runs; i++) {
        double a = now();
        sob_ledger_decode(meta, mn, &o, &err);
        t[i] = now() - a;
    }
    double med = median(t, runs);
    printf("mainnet ledger 53312000: %zu bytes, %zu changes (%zu offer), %zu trades\n", mn, o.n_changes, offers,
           o.n_trades);
    printf("decode_mainnet_ledger median_us=%.1f min_us=%.1f max_us=%.1f runs=%d  (%.0f MB/s)\n", med * 1e6,
           t[0] * 1e6, t[runs - 1] * 1e6, runs, (double)mn / med / 1e6);

    /* 1b. the same ledger as base64 text (getLedgers' metadataXdr): decode the text, then the meta */
    {
        static const char *B = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
        size_t tl = (mn + 2) / 3 * 4;
        char *text = malloc(tl);
        for (size_t i = 0, j = 0; i < mn; i += 3) {
            uint32_t v = (uint32_t)meta[i] << 16 | (i + 1 < mn ? (uint32_t)meta[i + 1] << 8 : 0) | (i + 2 < mn ? meta[i + 2] : 0);
            text[j++] = B[v >> 18 & 63];
            text[j++] = B[v >> 12 & 63];
            text[j++] = i + 1 < mn ? B[v >> 6 & 63] : '=';
            text[j++] = i + 2 < mn ? B[v & 63] : '=';
        }
        uint8_t *raw = malloc(sob_base64_max_decoded(tl));
        double *tb = malloc(sizeof(double) * (size_t)runs), *tbd = malloc(sizeof(double) * (size_t)runs);
        for (int i = 0; i < runs; i++) {
            size_t rn;
            double a = now();
            sob_base64_decode(text, tl, raw, &rn, &err);
            double b = now();
            sob_ledger_decode(raw, rn, &o, &err);
            tb[i] = b - a;
            tbd[i] = now() - a;
        }
        double mb = median(tb, runs), mbd = median(tbd, runs);
        printf("base64_text_only median_us=%.1f (%zu chars, %.0f MB/s)  base64_then_decode median_us=%.1f\n", mb * 1e6,
               tl, (double)tl / mb / 1e6, mbd * 1e6);
        free(text);
        free(raw);
        free(tb);
        free(tbd);
    }

    /* 2. throughput over all fixtures */
    size_t total = 0;
    for (int i = 0; i < nin; i++) total += ins[i].p ? ins[i].n : 0;
    int passes = 15;
    double *tp = malloc(sizeof(double) * (size_t)passes);
    size_t changes = 0;
    for (int k = 0; k < passes + 2; k++) {
        double a = now();
        changes = 0;
        for (int i = 0; i < nin; i++)
            if (ins[i].p) changes += decode_input(&ins[i], &o);
        if (k >= 2) tp[k - 2] = now() - a; /* two warm-up passes */
    }
    double tmed = median(tp, passes);
    printf("throughput_all_fixtures bytes=%zu changes=%zu median_ms=%.2f  %.0f MB/s\n", total, changes, tmed * 1e3,
           (double)total / tmed / 1e6);
    sob_ledger_out_free(&o);
    for (int i = 0; i < nin; i++) free(ins[i].p);
    free(t);
    free(tp);
    return 0;
}
