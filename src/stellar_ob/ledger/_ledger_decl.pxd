# Declarations of the ledger decoder (csrc/ledger/ledger.h) and the whole-DEX book
# (csrc/ledger/dexbook.h) used by _ledger.pyx: only what that module uses. Extern declarations
# only, so cimporting this file adds no runtime import.
from libc.stdint cimport int32_t, int64_t, uint8_t, uint32_t, uint64_t

cdef extern from "sob_common.h":
    ctypedef enum sob_lg_status "sob_status":
        pass
    sob_lg_status SOB_LG_OK "SOB_OK"
    sob_lg_status SOB_LG_E_PARSE "SOB_E_PARSE"
    sob_lg_status SOB_LG_E_INVALID "SOB_E_INVALID"
    sob_lg_status SOB_LG_E_OVERFLOW "SOB_E_OVERFLOW"
    sob_lg_status SOB_LG_E_NOMEM "SOB_E_NOMEM"
    sob_lg_status SOB_LG_E_NOT_FOUND "SOB_E_NOT_FOUND"
    sob_lg_status SOB_LG_E_MISMATCH "SOB_E_MISMATCH"
    sob_lg_status SOB_LG_E_LIMIT "SOB_E_LIMIT"
    ctypedef struct sob_lg_level "sob_level":
        int32_t n
        int32_t d
        uint64_t amount

cdef extern from "offerbook.h":
    ctypedef struct sob_lg_offer "sob_offer":
        int64_t id
        int64_t amount
        int32_t n
        int32_t d
    ctypedef struct sob_lg_offerbook "sob_offerbook":
        pass
    size_t sob_lg_offerbook_count "sob_offerbook_count"(const sob_lg_offerbook *b, int side)
    size_t sob_lg_offerbook_copy "sob_offerbook_copy"(const sob_lg_offerbook *b, int side, size_t start, size_t max,
                                                      sob_lg_offer *out)

cdef extern from "book.h":
    ctypedef struct sob_lg_side "sob_side":
        sob_lg_level *lv
        uint32_t len
    ctypedef struct sob_lg_book "sob_book":
        sob_lg_side side[2]

cdef extern from "ledger.h":
    int SOB_LEDGER_FORM_META
    int SOB_LEDGER_FORM_BATCH
    int SOB_LEDGER_FORM_STREAM
    int SOB_ENTRY_ACCOUNT
    int SOB_ENTRY_TRUSTLINE
    int SOB_ENTRY_OFFER
    int SOB_ENTRY_LIQUIDITY_POOL

    ctypedef struct sob_ledger_error:
        size_t offset
        const char *reason
    ctypedef struct sob_ledger_asset:
        uint8_t type
        uint8_t code[12]
        uint8_t issuer[32]
    ctypedef struct sob_ledger_offer:
        uint8_t seller[32]
        int64_t offer_id
        sob_ledger_asset selling
        sob_ledger_asset buying
        int64_t amount
        int32_t n
        int32_t d
        uint32_t flags
    ctypedef struct sob_ledger_pool:
        uint8_t pool_id[32]
        sob_ledger_asset asset_a
        sob_ledger_asset asset_b
        int32_t fee_bp
        int64_t reserve_a
        int64_t reserve_b
        int64_t total_shares
        int64_t trustline_count
    ctypedef struct sob_ledger_trustline:
        uint8_t account[32]
        sob_ledger_asset asset
        int64_t balance
        int64_t limit
        uint32_t flags
        int32_t pool_use_count
        int64_t buying_liabilities
        int64_t selling_liabilities
    ctypedef struct sob_ledger_account:
        uint8_t account[32]
        int64_t balance
        int64_t seq_num
        uint32_t num_sub_entries
        uint32_t flags
        int64_t buying_liabilities
        int64_t selling_liabilities
        uint32_t num_sponsored
        uint32_t num_sponsoring
    ctypedef union sob_ledger_change_u:
        sob_ledger_offer offer
        sob_ledger_pool pool
        sob_ledger_trustline trustline
        sob_ledger_account account
    ctypedef struct sob_ledger_change:
        uint8_t change
        uint8_t entry_type
        uint8_t phase
        uint8_t key_only
        int32_t tx_index
        int32_t op_index
        uint32_t last_modified
        sob_ledger_change_u u
    ctypedef struct sob_ledger_trade:
        int32_t tx_index
        int32_t op_index
        uint8_t op_type
        uint8_t claim_type
        uint8_t seller[32]
        int64_t offer_id
        sob_ledger_asset asset_sold
        int64_t amount_sold
        sob_ledger_asset asset_bought
        int64_t amount_bought
    ctypedef struct sob_ledger_tx:
        uint8_t hash[32]
        int64_t fee_charged
        int32_t result_code
        int32_t inner_result_code
        uint8_t successful
        uint32_t op_count
    ctypedef struct sob_ledger_header:
        uint32_t meta_version
        uint32_t ledger_seq
        uint32_t protocol_version
        uint64_t close_time
        uint32_t base_fee
        uint32_t base_reserve
        uint32_t max_tx_set_size
        int64_t total_coins
        int64_t fee_pool
        uint8_t hash[32]
        uint8_t previous_hash[32]
        uint32_t tx_count
        uint32_t upgrade_count
        size_t meta_offset
        size_t meta_size
    ctypedef struct sob_ledger_out:
        sob_ledger_header header
        sob_ledger_change *changes
        size_t n_changes
        sob_ledger_trade *trades
        size_t n_trades
        sob_ledger_tx *txs
        size_t n_txs
    void sob_ledger_out_init(sob_ledger_out *out)
    void sob_ledger_out_free(sob_ledger_out *out)
    sob_lg_status sob_ledger_decode(const uint8_t *buf, size_t len, sob_ledger_out *out, sob_ledger_error *err)
    sob_lg_status sob_ledger_decode_changes(const uint8_t *buf, size_t len, sob_ledger_out *out,
                                            sob_ledger_error *err)
    ctypedef struct sob_ledger_reader:
        size_t pos
        uint32_t start_seq
        uint32_t end_seq
        uint32_t index
        int done
    sob_lg_status sob_ledger_reader_init(sob_ledger_reader *r, const uint8_t *buf, size_t len, int form,
                                         sob_ledger_error *err)
    sob_lg_status sob_ledger_reader_next(sob_ledger_reader *r, sob_ledger_out *out, int *got,
                                         sob_ledger_error *err)
    size_t sob_base64_max_decoded(size_t len)
    sob_lg_status sob_base64_decode(const char *inp, size_t len, uint8_t *out, size_t *out_len,
                                    sob_ledger_error *err)

cdef extern from "dexbook.h":
    unsigned SOB_DEX_RESYNC
    uint32_t SOB_DEX_NONE

    ctypedef struct sob_dex_market:
        uint32_t base
        uint32_t counter
        uint8_t complete
        uint32_t npools
        sob_lg_offerbook offers
        sob_lg_book l2
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
    ctypedef struct sob_lg_account "sob_account":
        int64_t balance
        int64_t buying_liabilities
        int64_t selling_liabilities
        uint32_t num_sub_entries
        uint32_t num_sponsoring
        uint32_t num_sponsored
        uint32_t flags
    ctypedef struct sob_lg_trustline "sob_trustline":
        int64_t balance
        int64_t limit
        int64_t buying_liabilities
        int64_t selling_liabilities
        uint32_t flags
    ctypedef struct sob_lg_accounts "sob_accounts":
        pass
    sob_lg_status sob_lg_accounts_get_account "sob_accounts_get_account"(const sob_lg_accounts *t, uint64_t key,
                                                                          sob_lg_account *out)
    sob_lg_status sob_lg_accounts_get_trustline "sob_accounts_get_trustline"(const sob_lg_accounts *t, uint64_t key,
                                                                              uint32_t asset, sob_lg_trustline *out)
    size_t sob_lg_accounts_count "sob_accounts_count"(const sob_lg_accounts *t)
    size_t sob_lg_accounts_trustline_count "sob_accounts_trustline_count"(const sob_lg_accounts *t)

    void sob_dex_result_init(sob_dex_result *r)
    void sob_dex_result_free(sob_dex_result *r)
    sob_lg_status sob_dexbook_new(sob_dexbook **out)
    void sob_dexbook_free(sob_dexbook *dx)
    sob_lg_status sob_dexbook_apply(sob_dexbook *dx, const sob_ledger_out *led, unsigned flags, sob_dex_result *res,
                                    sob_ledger_error *err)
    sob_lg_status sob_dexbook_seed(sob_dexbook *dx, const sob_ledger_change *ch, size_t n, uint32_t ledger_seq,
                                   int complete, sob_ledger_error *err)
    uint32_t sob_dexbook_ledger_seq(const sob_dexbook *dx)
    int sob_dexbook_broken(const sob_dexbook *dx)
    size_t sob_dexbook_offer_count(const sob_dexbook *dx)
    uint32_t sob_dexbook_market_count(const sob_dexbook *dx)
    uint32_t sob_dexbook_pool_count(const sob_dexbook *dx)
    uint32_t sob_dexbook_asset_count(const sob_dexbook *dx)
    uint32_t sob_dexbook_account_count(const sob_dexbook *dx)
    const sob_dex_market *sob_dexbook_market(const sob_dexbook *dx, uint32_t market)
    sob_lg_status sob_dexbook_find_market(const sob_dexbook *dx, const sob_ledger_asset *base,
                                          const sob_ledger_asset *counter, uint32_t *market, int *flipped)
    int sob_dexbook_best(const sob_dexbook *dx, uint32_t market, int flipped, int side, sob_lg_level *out)
    const sob_ledger_asset *sob_dexbook_asset(const sob_dexbook *dx, uint32_t id)
    const uint8_t *sob_dexbook_account_key(const sob_dexbook *dx, uint32_t index)
    sob_lg_status sob_dexbook_offer(const sob_dexbook *dx, int64_t offer_id, uint32_t *market, uint32_t *seller,
                                    uint32_t *flags, int *side, sob_lg_offer *out)
    const sob_dex_pool *sob_dexbook_pool(const sob_dexbook *dx, uint32_t index)
    const uint8_t *sob_dexbook_pool_id(const sob_dexbook *dx, uint32_t index)
    const sob_lg_accounts *sob_dexbook_accounts(const sob_dexbook *dx)
    sob_lg_status sob_dexbook_find_account(const sob_dexbook *dx, const uint8_t *key, uint32_t *index)
    sob_lg_status sob_dexbook_find_asset(const sob_dexbook *dx, const sob_ledger_asset *a, uint32_t *id)
    size_t sob_dexbook_memory(const sob_dexbook *dx)
    sob_lg_status sob_dexbook_check(const sob_dexbook *dx)
