/* testlib.h: what the C tests share (csrc/tests/testlib.c, linked into every csrc/tests/test_*.c):
 * opening the recorded fixtures, and CHECK with its tallies. CTest runs each test from the repository root, so fixture paths
 * are relative to it: tests/data/ledger/ and tests/data/horizon/ (sources in tests/data/NOTICE). */
#ifndef SOB_TESTLIB_H
#define SOB_TESTLIB_H

#include <stddef.h>
#include <stdio.h>

#define SOB_TEST_LEDGER_DATA "tests/data/ledger/"
#define SOB_TEST_HORIZON_DATA "tests/data/horizon/"

/* The whole file at path in a malloc'd block of exactly its size (1 byte for an empty file, so
 * AddressSanitizer sees any read past the end); *len gets the size. NULL (and *len = 0) if the
 * file cannot be opened or read. The caller frees the block. */
void *sob_test_read_file(const char *path, size_t *len);

/* The tallies of every check (testlib.c), and the one CHECK the C tests use: a failed check is
 * printed with its place and counted, and the test goes on to the next. */
extern int sob_test_passed, sob_test_failed;
#define CHECK(cond)                                                                            \
    do {                                                                                       \
        if (cond) {                                                                            \
            sob_test_passed++;                                                                 \
        } else {                                                                               \
            sob_test_failed++;                                                                 \
            fprintf(stderr, "%s:%d: CHECK failed: %s\n", __FILE__, __LINE__, #cond);          \
        }                                                                                      \
    } while (0)

/* Prints "<name>: P passed, F failed" and returns the test's exit status (1 if any check failed). */
int sob_test_summary(const char *name);

#endif
