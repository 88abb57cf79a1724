# csrc/pathfind.h; the venue, the pool and the context are csrc/dex.h's (_c/dex.pxd).
# Only what stellar_ob._paths uses is declared here.
from libc.stdint cimport int32_t, int64_t, uint32_t, uint64_t

from stellar_ob._c.dex cimport sob_dex_ctx, sob_pool, sob_venue
from stellar_ob._c.offerbook cimport sob_offerbook
from stellar_ob._c.sob_common cimport sob_status

cdef extern from "pathfind.h":
    ctypedef struct sob_pf_market:
        uint32_t send_asset
        uint32_t recv_asset
        sob_venue venue
    ctypedef struct sob_pf_graph:
        pass
    int SOB_PF_DEPTH_CAP_DEFAULT
    int SOB_PF_MAX_TARGETS
    int SOB_PF_MAX_LIMIT
    unsigned SOB_PF_MAX_ASSETS
    unsigned SOB_PF_EXHAUSTIVE
    sob_status sob_pf_graph_new(const sob_pf_market *markets, size_t n, uint32_t nassets, uint32_t depth_cap,
                                sob_pf_graph **out) nogil
    void sob_pf_graph_free(sob_pf_graph *g)
    size_t sob_pf_graph_markets(const sob_pf_graph *g)
    uint32_t sob_pf_graph_assets(const sob_pf_graph *g)
    ctypedef struct sob_pf_query:
        int32_t kind
        uint32_t from_ "from"
        int64_t amount
        const uint32_t *targets
        uint32_t ntargets
        uint32_t max_hops
        uint32_t limit
        int32_t exclude_pools
        uint32_t flags
        uint32_t pad
        uint64_t source
        uint64_t destination
        uint64_t max_evaluations
        uint64_t deadline_ns
    uint64_t sob_pf_now_ns() nogil
    int SOB_PF_STOP_NONE
    int SOB_PF_STOP_EVALUATIONS
    int SOB_PF_STOP_DEADLINE
    ctypedef struct sob_pf_path:
        uint32_t target
        uint32_t nassets
        uint32_t assets[7]
        int32_t venue[6]
        int64_t sent
        int64_t received
        uint64_t offers_crossed
    ctypedef struct sob_pf_result:
        const sob_pf_path *paths
        size_t npaths
        int32_t complete
        int32_t stopped
        uint64_t hop_evaluations
        uint64_t path_executions
        uint64_t bound_cuts
        uint64_t dominance_cuts
    ctypedef struct sob_pf_scratch:
        pass
    sob_pf_scratch *sob_pf_scratch_new()
    void sob_pf_scratch_free(sob_pf_scratch *s)
    sob_status sob_find_paths(const sob_pf_graph *g, const sob_pf_query *q, const sob_dex_ctx *ctx,
                              sob_pf_scratch *s, sob_pf_result *out) nogil

# csrc/ledger/dexbook.h: only what a path graph over a live DexBook needs (the venues of its markets
# and the context with its accounts table: the sellers' funds). Declared after dex.h on purpose.
cdef extern from "dexbook.h":
    ctypedef struct sob_dexbook:
        pass
    ctypedef struct sob_dex_market:
        uint32_t base
        uint32_t counter
    uint32_t sob_dexbook_market_count(const sob_dexbook *dx)
    uint32_t sob_dexbook_asset_count(const sob_dexbook *dx)
    uint32_t sob_dexbook_pool_count(const sob_dexbook *dx)
    size_t sob_dexbook_offer_count(const sob_dexbook *dx)
    uint32_t sob_dexbook_ledger_seq(const sob_dexbook *dx)
    const sob_dex_market *sob_dexbook_market(const sob_dexbook *dx, uint32_t market) nogil
    sob_status sob_dexbook_venue(const sob_dexbook *dx, uint32_t send, uint32_t recv, sob_venue *out) nogil
    void sob_dexbook_ctx(const sob_dexbook *dx, sob_dex_ctx *ctx)
