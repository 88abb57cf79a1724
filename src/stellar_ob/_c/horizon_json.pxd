# csrc/horizon_json.h: the Horizon JSON scanner (sob_asset declared here, once, with C's types).
from libc.stdint cimport int32_t, int64_t, uint8_t, uint32_t, uint64_t

from stellar_ob._c.sob_common cimport sob_level, sob_status

cdef extern from "horizon_json.h":
    int SOB_ASSET_NATIVE
    int SOB_ASSET_CREDIT_ALPHANUM4
    int SOB_ASSET_CREDIT_ALPHANUM12
    int SOB_TRADE_LIQUIDITY_POOL

    ctypedef struct sob_asset:
        uint8_t type
        char code[13]
        char issuer[57]
    ctypedef struct sob_parse_error:
        size_t offset
        const char *reason

    # /order_book
    ctypedef struct sob_levels:
        sob_level *v
        size_t len
        size_t cap
    ctypedef struct sob_order_book_doc:
        sob_asset base
        sob_asset counter
        sob_levels bids
        sob_levels asks
    void sob_order_book_doc_init(sob_order_book_doc *doc)
    void sob_order_book_doc_free(sob_order_book_doc *doc)
    sob_status sob_parse_order_book(const char *buf, size_t len, sob_order_book_doc *out, sob_parse_error *err)

    # /offers
    ctypedef struct sob_offer_rec:
        int64_t id
        char seller[57]
        sob_asset selling
        sob_asset buying
        uint64_t amount
        int32_t n
        int32_t d
        uint32_t last_modified_ledger
    ctypedef struct sob_offers:
        sob_offer_rec *v
        size_t len
        size_t cap
    void sob_offers_init(sob_offers *o)
    void sob_offers_free(sob_offers *o)
    sob_status sob_parse_offers(const char *buf, size_t len, sob_offers *out, sob_parse_error *err)

    # /trades
    ctypedef struct sob_trade_rec:
        char id[48]
        char paging_token[48]
        int64_t ledger_close_time
        uint8_t trade_type
        int32_t lp_fee_bp
        int64_t base_offer_id
        int64_t counter_offer_id
        char base_account[57]
        char counter_account[57]
        char base_liquidity_pool_id[65]
        char counter_liquidity_pool_id[65]
        sob_asset base_asset
        sob_asset counter_asset
        uint64_t base_amount
        uint64_t counter_amount
        int64_t price_n
        int64_t price_d
        uint8_t base_is_seller
    ctypedef struct sob_trades:
        sob_trade_rec *v
        size_t len
        size_t cap
    void sob_trades_init(sob_trades *t)
    void sob_trades_free(sob_trades *t)
    sob_status sob_parse_trades(const char *buf, size_t len, sob_trades *out, sob_parse_error *err)

    # /liquidity_pools
    ctypedef struct sob_pool_rec:
        char id[65]
        int32_t fee_bp
        uint64_t total_shares
        uint64_t total_trustlines
        sob_asset reserve_asset[2]
        uint64_t reserve_amount[2]
    ctypedef struct sob_pools:
        sob_pool_rec *v
        size_t len
        size_t cap
    void sob_pools_init(sob_pools *p)
    void sob_pools_free(sob_pools *p)
    sob_status sob_parse_liquidity_pools(const char *buf, size_t len, sob_pools *out,
                                            sob_parse_error *err)
