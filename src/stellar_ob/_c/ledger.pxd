# csrc/ledger/ledger.h: the LedgerCloseMeta decoder (records, batch/stream reader, base64).
from libc.stdint cimport int32_t, int64_t, uint8_t, uint32_t, uint64_t

from stellar_ob._c.sob_common cimport sob_status

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
        uint8_t has_sponsor
        uint8_t sponsor[32]
    ctypedef struct sob_ledger_trade:
        int32_t tx_index
        int32_t op_index
        uint8_t op_type
        uint8_t claim_type
        uint8_t seller[32]
        int32_t claim_index
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
    sob_status sob_ledger_decode(const uint8_t *buf, size_t len, sob_ledger_out *out, sob_ledger_error *err)
    sob_status sob_ledger_decode_changes(const uint8_t *buf, size_t len, sob_ledger_out *out,
                                         sob_ledger_error *err)
    ctypedef struct sob_ledger_reader:
        size_t pos
        uint32_t start_seq
        uint32_t end_seq
        uint32_t index
        int done
    sob_status sob_ledger_reader_init(sob_ledger_reader *r, const uint8_t *buf, size_t len, int form,
                                      sob_ledger_error *err)
    sob_status sob_ledger_reader_next(sob_ledger_reader *r, sob_ledger_out *out, int *got,
                                      sob_ledger_error *err)
    size_t sob_base64_max_decoded(size_t len)
    sob_status sob_base64_decode(const char *inp, size_t len, uint8_t *out, size_t *out_len,
                                 sob_ledger_error *err)
