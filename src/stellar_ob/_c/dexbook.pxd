# csrc/ledger/dexbook.h: the whole-DEX book over decoded ledgers. The account table it exposes is
# csrc/accounts.h's (_c/accounts.pxd).
from libc.stdint cimport int32_t, int64_t, uint8_t, uint32_t, uint64_t

from stellar_ob._c.accounts cimport sob_account, sob_accounts, sob_trustline
from stellar_ob._c.sob_common cimport sob_level, sob_status
from stellar_ob._c.book cimport sob_book
from stellar_ob._c.offerbook cimport sob_offer, sob_offerbook
from stellar_ob._c.ledger cimport sob_ledger_asset, sob_ledger_change, sob_ledger_error, sob_ledger_out

cdef extern from "dexbook.h":
    unsigned SOB_DEX_RESYNC
    uint32_t SOB_DEX_NONE

    ctypedef struct sob_dex_market:
        uint32_t base
        uint32_t counter
        uint8_t complete
        uint32_t npools
        sob_offerbook offers
        sob_book l2
    ctypedef struct sob_dex_pool:
        uint8_t live
        uint32_t market
        uint32_t asset_a
        uint32_t asset_b
        int32_t fee_bp
        int64_t reserve_a
        int64_t reserve_b
        int64_t total_shares
        int64_t trustline_count
    ctypedef struct sob_dex_offer_event:
        uint32_t market
        uint8_t kind
        uint8_t side
        uint8_t learned
        uint32_t seller
        int64_t offer_id
        int32_t n
        int32_t d
        int64_t old_amount
        int64_t new_amount
    ctypedef struct sob_dex_level_event:
        uint32_t market
        int32_t side
        int32_t n
        int32_t d
        uint64_t old_amount
        uint64_t new_amount
    ctypedef struct sob_dex_pool_event:
        uint32_t pool
        uint32_t market
        uint8_t kind
        int64_t old_reserve_a
        int64_t old_reserve_b
        int64_t new_reserve_a
        int64_t new_reserve_b
    ctypedef struct sob_dex_trade_event:
        uint32_t market
        uint32_t trade
    ctypedef struct sob_dex_drift:
        uint32_t market
        uint8_t entry_type
        uint8_t kind
        int64_t id
        uint32_t asset
    ctypedef struct sob_dex_result:
        uint32_t ledger_seq
        const sob_dex_offer_event *offers
        size_t n_offers
        const sob_dex_level_event *levels
        size_t n_levels
        const sob_dex_pool_event *pools
        size_t n_pools
        const sob_dex_trade_event *trades
        size_t n_trades
        const sob_dex_drift *drift
        size_t n_drift
        size_t n_accounts
        size_t n_trustlines
    ctypedef struct sob_dexbook:
        pass
    void sob_dex_result_init(sob_dex_result *r)
    void sob_dex_result_free(sob_dex_result *r)
    sob_status sob_dexbook_new(sob_dexbook **out)
    void sob_dexbook_free(sob_dexbook *dx)
    sob_status sob_dexbook_apply(sob_dexbook *dx, const sob_ledger_out *led, unsigned flags, sob_dex_result *res,
                                 sob_ledger_error *err)
    sob_status sob_dexbook_seed(sob_dexbook *dx, const sob_ledger_change *ch, size_t n, uint32_t ledger_seq,
                                int complete, sob_ledger_error *err)
    uint32_t sob_dexbook_ledger_seq(const sob_dexbook *dx)
    int sob_dexbook_broken(const sob_dexbook *dx)
    size_t sob_dexbook_offer_count(const sob_dexbook *dx)
    uint32_t sob_dexbook_market_count(const sob_dexbook *dx)
    uint32_t sob_dexbook_pool_count(const sob_dexbook *dx)
    uint32_t sob_dexbook_asset_count(const sob_dexbook *dx)
    uint32_t sob_dexbook_account_count(const sob_dexbook *dx)
    const sob_dex_market *sob_dexbook_market(const sob_dexbook *dx, uint32_t market)
    sob_status sob_dexbook_find_market(const sob_dexbook *dx, const sob_ledger_asset *base,
                                       const sob_ledger_asset *counter, uint32_t *market, int *flipped)
    int sob_dexbook_best(const sob_dexbook *dx, uint32_t market, int flipped, int side, sob_level *out)
    const sob_ledger_asset *sob_dexbook_asset(const sob_dexbook *dx, uint32_t id)
    const uint8_t *sob_dexbook_account_key(const sob_dexbook *dx, uint32_t index)
    sob_status sob_dexbook_set_filter(sob_dexbook *dx, const sob_ledger_asset *assets, size_t n_assets,
                                      const sob_ledger_asset *pairs, size_t n_markets, sob_ledger_error *err)
    int sob_dexbook_filtering(const sob_dexbook *dx)
    sob_status sob_dexbook_offer_sponsor(const sob_dexbook *dx, int64_t offer_id, uint32_t *sponsor)
    sob_status sob_dexbook_offer(const sob_dexbook *dx, int64_t offer_id, uint32_t *market, uint32_t *seller,
                                 uint32_t *flags, int *side, sob_offer *out)
    const sob_dex_pool *sob_dexbook_pool(const sob_dexbook *dx, uint32_t index)
    const uint8_t *sob_dexbook_pool_id(const sob_dexbook *dx, uint32_t index)
    const sob_accounts *sob_dexbook_accounts(const sob_dexbook *dx)
    sob_status sob_dexbook_find_account(const sob_dexbook *dx, const uint8_t *key, uint32_t *index)
    sob_status sob_dexbook_find_asset(const sob_dexbook *dx, const sob_ledger_asset *a, uint32_t *id)
    size_t sob_dexbook_memory(const sob_dexbook *dx)
    sob_status sob_dexbook_check(const sob_dexbook *dx)
