# csrc/dex.h: whole DEX operations with stellar-core's result codes (issue 12).
from libc.stdint cimport int32_t, int64_t, uint32_t, uint64_t

from stellar_ob._c.accounts cimport sob_accounts, sob_account, sob_trustline
from stellar_ob._c.offerbook cimport sob_offerbook
from stellar_ob._c.sob_common cimport sob_status

cdef extern from "dex.h":
    int SOB_PROTOCOL_MIN
    int SOB_PROTOCOL_CORE
    int SOB_PROTOCOL_MAINNET
    int SOB_MAX_PATH
    int SOB_MAX_HOPS
    unsigned int SOB_CTX_POOL_TRADING_DISABLED
    unsigned int SOB_CTX_UNKNOWN_MISSING
    unsigned int SOB_CTX_SKIP_CHANGES
    unsigned int SOB_OFFER_PASSIVE
    ctypedef int sob_result
    ctypedef int sob_throw
    int SOB_R_NONE
    int SOB_R_CORE_WOULD_THROW
    const char *sob_result_name(sob_result r)
    int sob_result_xdr(sob_result r)
    int sob_result_success(sob_result r)
    const char *sob_throw_message(sob_throw t)
    const char *sob_throw_where(sob_throw t)
    int SOB_VENUE_NONE
    int SOB_VENUE_BOOK
    int SOB_VENUE_POOL
    int SOB_OP_MANAGE_SELL_OFFER
    int SOB_OP_MANAGE_BUY_OFFER
    int SOB_OP_CREATE_PASSIVE_SELL_OFFER
    int SOB_OP_PATH_PAYMENT_STRICT_SEND
    int SOB_OP_PATH_PAYMENT_STRICT_RECEIVE
    ctypedef struct sob_dex_ctx:
        uint32_t protocol
        uint32_t base_reserve
        int64_t max_offers_to_cross
        uint32_t account_subentry_limit
        uint32_t flags
        int64_t id_pool
        const sob_accounts *accounts
    void sob_dex_ctx_init(sob_dex_ctx *ctx)
    ctypedef struct sob_pool:
        int64_t reserve_a
        int64_t reserve_b
        int32_t fee_bp
        int32_t pad
    ctypedef struct sob_venue:
        const sob_offerbook *book
        int32_t side
        int32_t pool_a_is_send
        const sob_pool *pool
    ctypedef struct sob_offer_entry:
        int64_t offer_id
        uint64_t seller
        uint64_t sponsor
        uint32_t selling
        uint32_t buying
        int64_t amount
        int32_t n
        int32_t d
        uint32_t flags
        uint32_t pad
    ctypedef struct sob_manage_op:
        int32_t kind
        int32_t pad
        uint64_t source
        uint32_t selling
        uint32_t buying
        int64_t amount
        int32_t n
        int32_t d
        int64_t offer_id
    ctypedef struct sob_path_op:
        int32_t kind
        uint32_t nassets
        uint32_t assets[7]
        uint64_t source
        uint64_t destination
        int64_t send
        int64_t dest
    ctypedef struct sob_hop_op:
        int32_t round
        uint32_t send_asset
        uint32_t recv_asset
        uint32_t pad
        uint64_t taker
        int64_t amount
        int64_t budget
    ctypedef struct sob_claim:
        int64_t offer_id
        uint64_t seller
        int64_t amount_sold
        int64_t amount_bought
        int64_t remaining
        uint32_t asset_sold
        uint32_t asset_bought
        int32_t type
        int32_t venue
    ctypedef struct sob_hop:
        uint32_t send_asset
        uint32_t recv_asset
        int32_t venue_index
        int32_t result
        int32_t venue
        int32_t pool_quoted
        int64_t amount_send
        int64_t amount_recv
        int64_t pool_send
        int64_t pool_recv
        int64_t book_send
        int64_t book_recv
        int32_t book_result
        int32_t book_rolled_back
        uint64_t book_offers
        int64_t budget_before
        int64_t budget_after
        uint64_t claims_start
        uint64_t claims_count
        uint64_t book_claims_start
        uint64_t book_claims_count
    ctypedef struct sob_offer_change:
        const sob_offerbook *book
        int32_t side
        int64_t offer_id
        int64_t amount
    ctypedef struct sob_pool_change:
        const sob_pool *pool
        int64_t reserve_a
        int64_t reserve_b
    ctypedef struct sob_op_result:
        sob_result code
        sob_throw thrown
        int32_t amounts_known
        int64_t sent
        int64_t received
        const sob_claim *claims
        size_t nclaims
        const sob_hop *hops
        size_t nhops
        const sob_claim *hop_claims
        size_t nhop_claims
        const sob_claim *walk_claims
        size_t nwalk_claims
        int32_t offer_effect
        sob_offer_entry offer
        const sob_offer_change *offers
        size_t noffers
        const sob_pool_change *pools
        size_t npools
        int32_t old_offer_removed
        int64_t id_pool
    ctypedef struct sob_dex_scratch:
        pass
    sob_dex_scratch *sob_dex_scratch_new()
    void sob_dex_scratch_free(sob_dex_scratch *s)
    sob_status sob_manage_offer(const sob_dex_ctx *ctx, const sob_manage_op *op, const sob_venue *venue,
                                const sob_offer_entry *existing, sob_dex_scratch *s, sob_op_result *out)
    sob_status sob_path_payment(const sob_dex_ctx *ctx, const sob_path_op *op, const sob_venue *venues,
                                sob_dex_scratch *s, sob_op_result *out)
    sob_status sob_convert_hop(const sob_dex_ctx *ctx, const sob_hop_op *op, const sob_venue *venue,
                               sob_dex_scratch *s, sob_op_result *out)

cdef extern from "offerbook.h":
    sob_status sob_offerbook_seller_set_account(sob_offerbook *b, uint64_t handle, uint64_t account)
    uint64_t sob_offerbook_seller_account(const sob_offerbook *b, uint64_t handle)
