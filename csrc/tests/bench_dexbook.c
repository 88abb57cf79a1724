/* bench_dexbook.c: the whole-DEX book's numbers (issue 13), from the repository root:
 *
 *   build/ctest/bench_dexbook [rounds]
 *
 * 1. decode the mainnet ledger 53,312,000 (372 KB) and apply it to a book seeded from its STATE
 *    entries (seeding not timed): median of `rounds` (default 200) of decode alone and decode + apply;
 * 2. a book of 1,000,000 offers over 10,000 markets (100 offers a market, 100,000 sellers), built in
 *    a forked child: its RSS growth per offer (/proc/self/statm), and the C-side accounting;
 * 3. best bid / best ask of a random market of that book: ns per call over 10,000,000 calls.
 */
#define _POSIX_C_SOURCE 200809L
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "dexbook.h"
#include "ledger.h"

static double now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static int cmp_d(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static double median(double *v, size_t n) {
    qsort(v, n, sizeof *v, cmp_d);
    return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

static long rss_bytes(void) {
    FILE *f = fopen("/proc/self/statm", "r");
    long size = 0, res = 0;
    if (!f) return -1;
    if (fscanf(f, "%ld %ld", &size, &res) != 2) res = -1;
    fclose(f);
    return res * sysconf(_SC_PAGESIZE);
}

static int same_key(const sob_ledger_change *a, const sob_ledger_change *b) {
    if (a->entry_type != b->entry_type) return 0;
    switch (a->entry_type) {
    case SOB_ENTRY_OFFER: return a->u.offer.offer_id == b->u.offer.offer_id;
    case SOB_ENTRY_LIQUIDITY_POOL: return !memcmp(a->u.pool.pool_id, b->u.pool.pool_id, 32);
    case SOB_ENTRY_ACCOUNT: return !memcmp(a->u.account.account, b->u.account.account, 32);
    default:
        return !memcmp(a->u.trustline.account, b->u.trustline.account, 32) &&
               !memcmp(&a->u.trustline.asset, &b->u.trustline.asset, sizeof a->u.trustline.asset);
    }
}

static void bench_mainnet(int rounds) {
    FILE *f = fopen("tests/data/ledger/FCD285FF--53312000.xdr", "rb");
    if (!f) {
        fprintf(stderr, "run from the repository root\n");
        exit(2);
    }
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    uint8_t *buf = malloc((size_t)n);
    if (fread(buf, 1, (size_t)n, f) != (size_t)n) exit(2);
    fclose(f);
    const uint8_t *meta = buf + 12; /* after the batch prologue */
    size_t len = (size_t)n - 12;
    sob_ledger_out led;
    sob_ledger_out_init(&led);
    sob_ledger_error err;
    if (sob_ledger_decode(meta, len, &led, &err)) exit(3);
    sob_ledger_change *states = malloc(led.n_changes * sizeof *states);
    size_t ns = 0;
    for (size_t i = 0; i < led.n_changes; i++) {
        int seen = 0;
        for (size_t j = 0; j < i && !seen; j++) seen = same_key(&led.changes[j], &led.changes[i]);
        if (!seen && led.changes[i].change == SOB_CHANGE_STATE) states[ns++] = led.changes[i];
    }
    uint32_t seq = led.header.ledger_seq;
    double *t_dec = malloc((size_t)rounds * sizeof(double)), *t_all = malloc((size_t)rounds * sizeof(double));
    sob_dex_result res;
    sob_dex_result_init(&res);
    for (int r = 0; r < rounds; r++) {
        double t0 = now();
        if (sob_ledger_decode(meta, len, &led, &err)) exit(3);
        t_dec[r] = now() - t0;
    }
    for (int r = 0; r < rounds; r++) {
        sob_dexbook *dx;
        if (sob_dexbook_new(&dx) || sob_dexbook_seed(dx, states, ns, seq - 1, 0, &err)) exit(4);
        double t0 = now();
        if (sob_ledger_decode(meta, len, &led, &err)) exit(3);
        if (sob_dexbook_apply(dx, &led, 0, &res, &err) || res.n_drift) exit(5);
        t_all[r] = now() - t0;
        sob_dexbook_free(dx);
    }
    printf("mainnet ledger %u (%zu bytes, %zu changes, %zu trades), %d rounds\n", seq, len, led.n_changes,
           led.n_trades, rounds);
    printf("  decode           median %8.3f ms   (%.0f MB/s)\n", median(t_dec, (size_t)rounds) * 1e3,
           (double)len / median(t_dec, (size_t)rounds) / 1e6);
    printf("  decode + apply   median %8.3f ms\n", median(t_all, (size_t)rounds) * 1e3);
    free(t_dec);
    free(t_all);
    free(states);
    free(buf);
    sob_dex_result_free(&res);
    sob_ledger_out_free(&led);
}

#define MARKETS 10000
#define PER_MARKET 100
#define SELLERS 100000
#define BATCH 10000

static uint64_t rng = 88172645463325252ULL;
static uint64_t rnd(void) {
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return rng;
}

static void mk_credit(sob_ledger_asset *a, uint32_t i) {
    memset(a, 0, sizeof *a);
    a->type = SOB_LEDGER_ASSET_ALPHANUM4;
    memcpy(a->code, &i, 4);
    a->issuer[0] = 1;
    a->issuer[1] = (uint8_t)(i >> 8);
}

static sob_dexbook *build_big(void) {
    sob_dexbook *dx;
    if (sob_dexbook_new(&dx)) exit(4);
    sob_ledger_change *ch = calloc(BATCH, sizeof *ch);
    sob_ledger_error err;
    int64_t id = 1;
    size_t k = 0;
    for (uint32_t m = 0; m < MARKETS; m++) {
        for (int o = 0; o < PER_MARKET; o++) {
            sob_ledger_change *c = &ch[k++];
            memset(c, 0, sizeof *c);
            c->change = SOB_CHANGE_STATE;
            c->entry_type = SOB_ENTRY_OFFER;
            c->phase = SOB_PHASE_STANDALONE;
            c->tx_index = c->op_index = -1;
            uint32_t seller = (uint32_t)(rnd() % SELLERS);
            memcpy(c->u.offer.seller, &seller, 4);
            c->u.offer.seller[31] = 9;
            c->u.offer.offer_id = id++;
            /* half asks (selling the credit asset), half bids; prices around 1 */
            if (o % 2) {
                mk_credit(&c->u.offer.selling, m + 1);
                memset(&c->u.offer.buying, 0, sizeof c->u.offer.buying);
                c->u.offer.n = 1000 + (int32_t)(o / 2);
                c->u.offer.d = 1000;
            } else {
                memset(&c->u.offer.selling, 0, sizeof c->u.offer.selling);
                mk_credit(&c->u.offer.buying, m + 1);
                c->u.offer.n = 1000;
                c->u.offer.d = 999 - (int32_t)(o / 2);
            }
            c->u.offer.amount = 1 + (int64_t)(rnd() % 1000000000);
            if (k == BATCH) {
                if (sob_dexbook_seed(dx, ch, k, 1, 0, &err)) exit(6);
                k = 0;
            }
        }
    }
    if (k && sob_dexbook_seed(dx, ch, k, 1, 0, &err)) exit(6);
    free(ch);
    return dx;
}

static void bench_big(void) {
    int pipefd[2];
    if (pipe(pipefd)) exit(7);
    pid_t pid = fork();
    if (pid == 0) { /* child: a fresh process, RSS before and after */
        close(pipefd[0]);
        long before = rss_bytes();
        sob_dexbook *dx = build_big();
        long after = rss_bytes();
        size_t offers = sob_dexbook_offer_count(dx);
        char line[512];
        int n = snprintf(line, sizeof line,
                         "book of %zu offers over %u markets: RSS +%.1f MB = %.1f bytes/offer (C accounting %.1f "
                         "bytes/offer)\n",
                         offers, sob_dexbook_market_count(dx), (double)(after - before) / 1e6,
                         (double)(after - before) / (double)offers, (double)sob_dexbook_memory(dx) / (double)offers);
        /* best bid/ask of random markets */
        const uint32_t calls = 10000000;
        uint32_t *ms = malloc(4096 * sizeof *ms);
        for (int i = 0; i < 4096; i++) ms[i] = (uint32_t)(rnd() % MARKETS);
        sob_level lv;
        uint64_t sink = 0;
        double t0 = now();
        for (uint32_t i = 0; i < calls; i++) {
            uint32_t m = ms[i & 4095];
            if (sob_dexbook_best(dx, m, 0, (int)(i & 1), &lv)) sink += lv.amount;
        }
        double dt = now() - t0;
        n += snprintf(line + n, sizeof line - (size_t)n, "best bid/ask of a random market: %.1f ns per call (%" PRIu64 ")\n",
                      dt / calls * 1e9, sink & 1);
        if (write(pipefd[1], line, (size_t)n) < 0) _exit(1);
        _exit(0);
    }
    close(pipefd[1]);
    char buf[1024];
    ssize_t got = read(pipefd[0], buf, sizeof buf - 1);
    if (got > 0) {
        buf[got] = 0;
        fputs(buf, stdout);
    }
    close(pipefd[0]);
    int status;
    waitpid(pid, &status, 0);
}

int main(int argc, char **argv) {
    int rounds = argc > 1 ? atoi(argv[1]) : 200;
    if (rounds < 1) rounds = 1;
    bench_mainnet(rounds);
    bench_big();
    return 0;
}
