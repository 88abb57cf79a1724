/* testlib.c: helpers shared by the C tests (testlib.h: the fixture opener) and helpers for
 * driving the C core from ctypes (tools/c_vs_reference.py). Linked into the C tests (CTest)
 * and into the shared test library (CMake -DSOB_BUILD_SHARED_TESTLIB=ON), never into the package.
 * ctypes cannot size the core's opaque structs, so they are allocated here; the sizes of the
 * fixed records are exported so the harness checks its mirrors of them. */
#include "testlib.h"

#include <stdio.h>
#include <stdlib.h>

#include "dex.h"

/* ---- fixtures ---- */

void *sob_test_read_file(const char *path, size_t *len) {
    *len = 0;
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    long n = -1;
    if (fseek(f, 0, SEEK_END) == 0) n = ftell(f);
    if (n < 0 || fseek(f, 0, SEEK_SET) != 0) {
        fclose(f);
        return NULL;
    }
    void *p = malloc(n ? (size_t)n : 1);
    if (!p || fread(p, 1, (size_t)n, f) != (size_t)n) {
        fclose(f);
        free(p);
        return NULL;
    }
    fclose(f);
    *len = (size_t)n;
    return p;
}

/* ---- checks ---- */

int sob_test_passed, sob_test_failed;

int sob_test_summary(const char *name) {
    printf("%s: %d passed, %d failed\n", name, sob_test_passed, sob_test_failed);
    return sob_test_failed ? 1 : 0;
}

/* ---- ctypes ---- */

sob_offerbook *sob_test_offerbook_new(void) {
    sob_offerbook *b = malloc(sizeof *b);
    if (b) sob_offerbook_init(b);
    return b;
}

void sob_test_offerbook_free(sob_offerbook *b) {
    if (!b) return;
    sob_offerbook_free(b);
    free(b);
}

sob_accounts *sob_test_accounts_new(void) {
    sob_accounts *t = malloc(sizeof *t);
    if (t) sob_accounts_init(t);
    return t;
}

void sob_test_accounts_free(sob_accounts *t) {
    if (!t) return;
    sob_accounts_free(t);
    free(t);
}

/* The size of each record the harness mirrors, by name ("" -> 0). */
size_t sob_test_sizeof(const char *name) {
#define SZ(T)                                                                                  \
    if (__builtin_strcmp(name, #T) == 0) return sizeof(T)
    SZ(sob_account);
    SZ(sob_trustline);
    SZ(sob_dex_ctx);
    SZ(sob_pool);
    SZ(sob_venue);
    SZ(sob_offer_entry);
    SZ(sob_manage_op);
    SZ(sob_path_op);
    SZ(sob_hop_op);
    SZ(sob_claim);
    SZ(sob_hop);
    SZ(sob_account_change);
    SZ(sob_trustline_change);
    SZ(sob_offer_change);
    SZ(sob_pool_change);
    SZ(sob_op_result);
    SZ(sob_exchange);
    SZ(sob_offer);
#undef SZ
    return 0;
}
