/* pathfind.h: exact path finding over the whole DEX (issue 15, the C core; csrc/PATHFIND.md).
 *
 * A graph of markets: assets are nodes (uint32 ids < nassets), each directed market (the taker
 * sends `send_asset` and receives `recv_asset`) is one sob_venue of dex.h (the book side selling
 * recv for send and/or the pair's pool). sob_find_paths answers Horizon's two questions:
 *   strict send     `from` is the asset sent, `amount` what is sent; for each target (destination
 *                   asset) the paths that deliver the most;
 *   strict receive  `from` is the asset received, `amount` what must arrive; for each target
 *                   (source asset) the paths that cost the least.
 * Every path returned was executed with sob_path_payment (dex.h) on the graph's state, unchanged,
 * and its amounts and venues are that execution's: its result is SUCCESS (strict send with
 * destMin 1, strict receive with sendMax INT64_MAX). A path core would fail is never reported.
 * Paths never visit an asset twice.
 *
 * EXACTNESS. The search (see PATHFIND.md) is a depth-first enumeration of simple paths by
 * iterative deepening on the hop count, where every prefix is executed exactly (core's math:
 * dex.c), and only three things prune:
 *   1. reachability: no target is within the hops left (hop distances, exact);
 *   2. a prefix that fails (a hop incomplete, the work budget exceeded, a throw, 0 received):
 *      path payments run hop by hop, so every extension fails the same way;
 *   3. a bound: per market a monotone upper bound of what a hop can deliver for an input (strict
 *      receive: a lower bound of what it needs for an output), from the first offers' cumulative
 *      depth (each offer crossed gives W <= (S + 1) d / n, see pathfind.c) and the pool's exact
 *      formula; a branch whose bound cannot beat the `limit`-th path found for any target is cut.
 * All three are exact, so for max_hops <= 3 (and at any max_hops with SOB_PF_EXHAUSTIVE) the best
 * amount for each target equals that of an exhaustive search, the best over every simple path of
 * at most max_hops hops run through sob_path_payment (csrc/tests/test_pathfind.c checks it against
 * brute force on thousands of random graphs). With max_hops >= 4 and no SOB_PF_EXHAUSTIVE, a
 * fourth, heuristic rule also prunes: a prefix reaching an asset with no more than a prefix of the
 * same length already reached there in this round (best amount per (asset, hop count)).
 * What it gives up: the pruned prefix may have visited different assets (a continuation it could
 * take is blocked for the other), used less of the 1000-offer work budget, or (with an accounts
 * table) left sellers' funds differently. test_pathfind.c measures how often the best amount then
 * differs from the exhaustive one. A search that hits max_evaluations stops early. `complete` in
 * the result says whether neither of these happened (then the best per target is optimal).
 *
 * What can still make a returned path fail on the network: any change of the state between the
 * search and the transaction's application (offers taken or updated, pools moved, sellers' funds,
 * trust lines, the protocol), and the source's or destination's own accounts when they are not in
 * ctx->accounts (unknown accounts are fully funded, see accounts.h).
 *
 * Bounded: memory is O(assets * hops + markets + cached offers) (the scratch grows to the largest
 * graph it served). Time: at most max_evaluations hop and path executions (each bounded by the work
 * budget), between two of them at most one pass over the markets of each asset of the current
 * prefix (<= 6), and
 * after each of the at most max_evaluations paths recorded one rebuild of the thresholds,
 * O(markets * max_hops). No recursion deeper than 6 frames. Every
 * input is checked: a status, never a crash. Not thread-safe per scratch; a graph can serve
 * concurrent searches (each with its own scratch) while nobody changes it or its books.
 */
#ifndef SOB_PATHFIND_H
#define SOB_PATHFIND_H

#include "dex.h"

/* A directed market: the taker sends send_asset and receives recv_asset through venue. */
typedef struct sob_pf_market {
    uint32_t send_asset, recv_asset;
    sob_venue venue; /* the book side selling recv for send (and/or the pool); may be empty */
} sob_pf_market;

typedef struct sob_pf_graph sob_pf_graph;

/* The offers per book side cached for the bounds (MAX_OFFERS_TO_CROSS: a path never crosses more). */
#define SOB_PF_DEPTH_CAP_DEFAULT 1000
#define SOB_PF_MAX_TARGETS 256
#define SOB_PF_MAX_LIMIT 64
#define SOB_PF_MAX_ASSETS (1u << 24)

/* Build a graph over assets 0..nassets-1 from `n` markets (copied; the books and pools they point to
 * are the caller's and must outlive the graph). depth_cap: offers per side whose cumulative depth is
 * cached (0: SOB_PF_DEPTH_CAP_DEFAULT; at most 1 << 20). SOB_E_INVALID for an asset >= nassets, a
 * market from an asset to itself, a bad venue (side, pool_a_is_send, pool pad) or nassets out of
 * (0, SOB_PF_MAX_ASSETS]; SOB_E_EXISTS for a market given twice; SOB_E_NOMEM. */
sob_status sob_pf_graph_new(const sob_pf_market *markets, size_t n, uint32_t nassets, uint32_t depth_cap,
                            sob_pf_graph **out);
void sob_pf_graph_free(sob_pf_graph *g);

/* The venue of a market, O(1), or NULL. */
const sob_venue *sob_pf_graph_venue(const sob_pf_graph *g, uint32_t send_asset, uint32_t recv_asset);

/* The market's book or pool changed (offers added, taken, updated; reserves moved): its cached
 * depth is rebuilt now (O(depth_cap)). Call it after every change of a book or pool a market names,
 * before the next search. `venue` (may be NULL: keep the current one) replaces the market's venue.
 * SOB_E_NOT_FOUND for a market not in the graph; SOB_E_INVALID for a bad venue; SOB_E_NOMEM. */
sob_status sob_pf_graph_mark_changed(sob_pf_graph *g, uint32_t send_asset, uint32_t recv_asset,
                                     const sob_venue *venue);

size_t sob_pf_graph_markets(const sob_pf_graph *g);
uint32_t sob_pf_graph_assets(const sob_pf_graph *g);

/* ---- the search ---------------------------------------------------------------------------- */

#define SOB_PF_EXHAUSTIVE 1u /* never prune by dominance: exact at every max_hops (may be slower) */

typedef struct sob_pf_query {
    int32_t kind;            /* SOB_OP_PATH_PAYMENT_STRICT_SEND or SOB_OP_PATH_PAYMENT_STRICT_RECEIVE */
    uint32_t from;           /* strict send: the asset sent; strict receive: the asset received */
    int64_t amount;          /* strict send: sendAmount; strict receive: destAmount; > 0 */
    const uint32_t *targets; /* strict send: destination assets; strict receive: source assets */
    uint32_t ntargets;       /* 1..SOB_PF_MAX_TARGETS, distinct, none equal to `from` */
    uint32_t max_hops;       /* 1..SOB_MAX_HOPS (intermediate assets + 1) */
    uint32_t limit;          /* paths per target, 1..SOB_PF_MAX_LIMIT */
    int32_t exclude_pools;   /* 1: offers only (the paths are also executed without the pools) */
    uint32_t flags;          /* SOB_PF_* */
    uint32_t pad;            /* 0 */
    uint64_t source;         /* the path payment's source account key (0: unknown, fully funded) */
    uint64_t destination;    /* its destination account key */
    uint64_t max_evaluations;/* hop and path executions before the search stops (0: 2,000,000) */
    uint64_t deadline_ns;    /* sob_pf_now_ns() value past which the search stops (0: none); checked
                              * every 64 executions, so it overshoots by at most 64 of them */
} sob_pf_query;

/* The clock deadline_ns is read on: CLOCK_MONOTONIC where POSIX has it (the clock of Python's
 * time.monotonic_ns on Linux and macOS), else C11 timespec_get (TIME_UTC). Nanoseconds. */
uint64_t sob_pf_now_ns(void);

#define SOB_PF_STOP_NONE 0
#define SOB_PF_STOP_EVALUATIONS 1 /* max_evaluations reached */
#define SOB_PF_STOP_DEADLINE 2    /* deadline_ns passed */

typedef struct sob_pf_path {
    uint32_t target;                  /* the query's target this path serves */
    uint32_t nassets;                 /* 2..7: assets[0] is sent, assets[nassets-1] received */
    uint32_t assets[SOB_MAX_PATH + 2];
    int32_t venue[SOB_MAX_HOPS];      /* per hop in path order: SOB_VENUE_BOOK or SOB_VENUE_POOL */
    int64_t sent, received;           /* the execution's amounts */
    uint64_t offers_crossed;          /* offers crossed by the whole path */
} sob_pf_path;

typedef struct sob_pf_result {
    const sob_pf_path *paths; /* grouped by target in the order of query->targets, best first */
    size_t npaths;
    int32_t complete;         /* 1: no dominance pruning and no early stop (the bests are optimal) */
    int32_t stopped;          /* SOB_PF_STOP_*: why the search stopped early (the paths found until
                               * then are returned, each executed: exact, but maybe not the best) */
    uint64_t hop_evaluations; /* prefixes executed */
    uint64_t path_executions; /* full paths executed with sob_path_payment */
    uint64_t bound_cuts;      /* branches cut by the bound */
    uint64_t dominance_cuts;  /* prefixes cut by the heuristic rule */
} sob_pf_result;

typedef struct sob_pf_scratch sob_pf_scratch;
sob_pf_scratch *sob_pf_scratch_new(void);
void sob_pf_scratch_free(sob_pf_scratch *s);

/* The search. ctx as for sob_path_payment (the protocol, the work budget, the accounts table).
 * Results live in the scratch until its next use. SOB_E_INVALID for a bad query (see the fields),
 * a target or `from` >= the graph's assets; SOB_E_NOMEM. The graph, books, pools, table: unchanged. */
sob_status sob_find_paths(const sob_pf_graph *g, const sob_pf_query *q, const sob_dex_ctx *ctx, sob_pf_scratch *s,
                          sob_pf_result *out);

/* The bounds the search prunes with, exposed for tests: for the market send -> recv, an upper bound
 * of what a strict-send hop can deliver for `x` (INT64_MAX: no bound), and a lower bound of what a
 * strict-receive hop needs for `y` (INT64_MAX: it cannot deliver y). budget: offers it may cross. */
sob_status sob_pf_hop_bounds(const sob_pf_graph *g, uint32_t send_asset, uint32_t recv_asset, const sob_dex_ctx *ctx,
                             int exclude_pools, int64_t budget, int64_t x, int64_t y, int64_t *upper_out,
                             int64_t *lower_in);

#endif
