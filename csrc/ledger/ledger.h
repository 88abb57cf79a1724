/* ledger.h: a strict decoder of Stellar LedgerCloseMeta (v0, v1, v2) that yields the order-book
 * facts of a ledger as flat arrays of fixed-size records.
 *
 * Input forms: one raw LedgerCloseMeta (sob_ledger_decode), a LedgerCloseMetaBatch as a SEP-54 data
 * lake stores it after zstd decompression, an XDR record-marked stream of LedgerCloseMeta (both
 * through sob_ledger_reader), base64 text (sob_base64_decode, e.g. getLedgers' metadataXdr), and a
 * bare LedgerEntryChanges array (sob_ledger_decode_changes).
 *
 * Every byte of the meta is walked: the transaction set, Soroban data, events and everything else
 * this decoder does not report are stepped over by the generated, fully validating skip functions
 * (csrc/xdr/stellar_xdr_gen.c), never by guessing lengths.
 *
 * Output (sob_ledger_out), for one ledger:
 *  - header facts (sob_ledger_header);
 *  - one sob_ledger_tx per transaction, in apply order (the order of txProcessing);
 *  - every CREATED / UPDATED / REMOVED / STATE / RESTORED change of an ACCOUNT, TRUSTLINE, OFFER or
 *    LIQUIDITY_POOL entry, in stellar-core's order: the fee processing of every transaction, then
 *    each transaction's apply meta (changes before, each operation's changes, changes after),
 *    then v2's post-apply fee processing of every transaction, then the upgrades, then the
 *    evicted keys (v1/v2); each tagged with its phase, transaction index and operation index.
 *    Changes of other entry types are validated and skipped;
 *  - every claimed offer and pool trade (ClaimAtom) of each successful operation of each
 *    successful transaction (manage sell/buy offer, create passive sell offer, path payments).
 *
 * Contract on error: a function that returns anything but SOB_OK leaves *err set (byte offset from
 * the start of the buffer given, and a static reason) and the ledger it was decoding incomplete:
 * the caller must discard everything in *out for that call. A returned SOB_OK always means the
 * whole ledger was decoded and checked. Memory is bounded by the input's size (records are only
 * added for bytes consumed); recursion is bounded by SOB_XDR_MAX_DEPTH; no input can make these
 * functions read outside the buffer or crash.
 *
 * Plain C11, no Python.h. Amounts are exact int64, prices int32 n/d, keys 32 raw bytes.
 */
#ifndef SOB_LEDGER_H
#define SOB_LEDGER_H

#include <stddef.h>
#include <stdint.h>

#include "sob_common.h"

typedef struct sob_ledger_error {
    size_t offset;      /* byte offset in the input given to the call */
    const char *reason; /* static string */
} sob_ledger_error;

/* LedgerEntryChangeType */
#define SOB_CHANGE_CREATED 0
#define SOB_CHANGE_UPDATED 1
#define SOB_CHANGE_REMOVED 2
#define SOB_CHANGE_STATE 3
#define SOB_CHANGE_RESTORED 4

/* LedgerEntryType of the entries reported */
#define SOB_ENTRY_ACCOUNT 0
#define SOB_ENTRY_TRUSTLINE 1
#define SOB_ENTRY_OFFER 2
#define SOB_ENTRY_LIQUIDITY_POOL 5

/* Where a change comes from, in the order core applies them. */
#define SOB_PHASE_FEE 0             /* txProcessing[i].feeProcessing */
#define SOB_PHASE_TX_BEFORE 1       /* TransactionMeta v1 txChanges, v2..v4 txChangesBefore */
#define SOB_PHASE_OPERATION 2       /* operations[op].changes */
#define SOB_PHASE_TX_AFTER 3        /* TransactionMeta v2..v4 txChangesAfter */
#define SOB_PHASE_POST_APPLY_FEE 4  /* LedgerCloseMeta v2 postTxApplyFeeProcessing */
#define SOB_PHASE_UPGRADE 5         /* upgradesProcessing[op].changes */
#define SOB_PHASE_EVICTED 6         /* v1/v2 evictedKeys (key only) */
#define SOB_PHASE_STANDALONE 7      /* sob_ledger_decode_changes: a bare LedgerEntryChanges */

/* AssetType */
#define SOB_LEDGER_ASSET_NATIVE 0
#define SOB_LEDGER_ASSET_ALPHANUM4 1
#define SOB_LEDGER_ASSET_ALPHANUM12 2
#define SOB_LEDGER_ASSET_POOL_SHARE 3 /* trustline assets only: issuer holds the pool id */

/* 48 bytes. code: the code's bytes as sent (zero padded; alphanum4 uses code[0..3]);
 * issuer: the issuer's ed25519 key, or the pool id for POOL_SHARE; all zero for native. */
typedef struct sob_ledger_asset {
    uint8_t type;
    uint8_t code[12];
    uint8_t issuer[32];
    uint8_t pad_[3];
} sob_ledger_asset;

typedef struct sob_ledger_offer {
    uint8_t seller[32]; /* sellerID (ed25519) */
    int64_t offer_id;
    sob_ledger_asset selling, buying;
    int64_t amount; /* of selling, stroops */
    int32_t n, d;   /* price: buying per selling */
    uint32_t flags; /* OfferEntryFlags (PASSIVE_FLAG = 1) */
} sob_ledger_offer;

typedef struct sob_ledger_pool {
    uint8_t pool_id[32];
    sob_ledger_asset asset_a, asset_b;
    int32_t fee_bp;
    int64_t reserve_a, reserve_b;
    int64_t total_shares;
    int64_t trustline_count; /* poolSharesTrustLineCount */
} sob_ledger_pool;

typedef struct sob_ledger_trustline {
    uint8_t account[32];
    sob_ledger_asset asset;
    int64_t balance;
    int64_t limit;
    uint32_t flags; /* TrustLineFlags */
    int32_t pool_use_count; /* ext v2 liquidityPoolUseCount, else 0 */
    int64_t buying_liabilities, selling_liabilities; /* ext v1, else 0 */
} sob_ledger_trustline;

typedef struct sob_ledger_account {
    uint8_t account[32];
    int64_t balance;
    int64_t seq_num;
    uint32_t num_sub_entries;
    uint32_t flags;                                  /* AccountFlags */
    int64_t buying_liabilities, selling_liabilities; /* ext v1, else 0 */
    uint32_t num_sponsored, num_sponsoring;          /* ext v2, else 0 */
} sob_ledger_account;

/* One change. key_only = 1 for REMOVED and evicted keys: only the key fields are set (offer:
 * seller, offer_id; pool: pool_id; trustline: account, asset; account: account), the rest is 0.
 * has_sponsor / sponsor: the entry's sponsoringID (LedgerEntry ext v1, CAP-33: the account that
 * pays its reserve), for every entry type; 0 and zeros when the entry has no sponsor or no ext
 * v1, and for key_only changes. */
typedef struct sob_ledger_change {
    uint8_t change;        /* SOB_CHANGE_* */
    uint8_t entry_type;    /* SOB_ENTRY_* */
    uint8_t phase;         /* SOB_PHASE_* */
    uint8_t key_only;
    int32_t tx_index;      /* apply-order index; -1 in the upgrade, evicted and standalone phases */
    int32_t op_index;      /* SOB_PHASE_OPERATION: operation index; SOB_PHASE_UPGRADE: upgrade index; else -1 */
    uint32_t last_modified; /* lastModifiedLedgerSeq; 0 when key_only */
    union {
        sob_ledger_offer offer;
        sob_ledger_pool pool;
        sob_ledger_trustline trustline;
        sob_ledger_account account;
    } u;
    uint8_t has_sponsor;
    uint8_t sponsor[32]; /* ed25519 key of the sponsoring account when has_sponsor */
    uint8_t pad2_[7];
} sob_ledger_change;

/* ClaimAtomType */
#define SOB_CLAIM_V0 0
#define SOB_CLAIM_ORDER_BOOK 1
#define SOB_CLAIM_LIQUIDITY_POOL 2

/* One claimed offer or pool trade: the seller (offer owner or pool) sold asset_sold to the
 * operation's source and received asset_bought. */
typedef struct sob_ledger_trade {
    int32_t tx_index;
    int32_t op_index;
    uint8_t op_type;    /* OperationType: 2 path strict receive, 3 manage sell, 4 create passive,
                           12 manage buy, 13 path strict send */
    uint8_t claim_type; /* SOB_CLAIM_* */
    uint8_t seller[32]; /* V0/ORDER_BOOK: the offer's seller; LIQUIDITY_POOL: the pool id */
    int32_t claim_index; /* its place among the operation's ClaimAtoms, from 0 (Horizon's trade
                            "order": a trade's id is "<operation TOID>-<claim_index>") */
    int64_t offer_id;   /* 0 for pools */
    sob_ledger_asset asset_sold;
    int64_t amount_sold;
    sob_ledger_asset asset_bought;
    int64_t amount_bought;
} sob_ledger_trade;

typedef struct sob_ledger_tx {
    uint8_t hash[32];          /* TransactionResultPair.transactionHash */
    int64_t fee_charged;       /* outer result */
    int32_t result_code;       /* TransactionResultCode of the outer result */
    int32_t inner_result_code; /* fee bumps: the inner transaction's code; else = result_code */
    uint8_t successful;        /* txSUCCESS, or a fee bump whose inner transaction succeeded */
    uint32_t op_count;         /* operation results present (0 when the tx failed before them) */
} sob_ledger_tx;

typedef struct sob_ledger_header {
    uint32_t meta_version;     /* LedgerCloseMeta arm: 0, 1 or 2 */
    uint32_t ledger_seq;
    uint32_t protocol_version; /* ledgerVersion */
    uint64_t close_time;       /* unix seconds (scpValue.closeTime) */
    uint32_t base_fee;
    uint32_t base_reserve;
    uint32_t max_tx_set_size;
    int64_t total_coins;
    int64_t fee_pool;
    uint8_t hash[32];          /* LedgerHeaderHistoryEntry.hash */
    uint8_t previous_hash[32]; /* header.previousLedgerHash */
    uint32_t tx_count;         /* transactions applied (txProcessing length) */
    uint32_t upgrade_count;
    size_t meta_offset;        /* where this LedgerCloseMeta starts in the input */
    size_t meta_size;          /* its encoded size in bytes */
} sob_ledger_header;

typedef struct sob_ledger_vec {
    void *v;
    size_t len, cap; /* in records */
} sob_ledger_vec;

/* Results of one ledger. Owned: init once, reuse across calls (arrays keep their capacity), free
 * once. Every decode call resets it first. */
typedef struct sob_ledger_out {
    sob_ledger_header header;
    sob_ledger_change *changes;
    size_t n_changes;
    sob_ledger_trade *trades;
    size_t n_trades;
    sob_ledger_tx *txs;
    size_t n_txs;
    /* private: storage and per-phase scratch */
    sob_ledger_vec changes_, trades_, txs_, apply_, post_;
} sob_ledger_out;

void sob_ledger_out_init(sob_ledger_out *out);
void sob_ledger_out_free(sob_ledger_out *out);

/* Decode exactly one LedgerCloseMeta occupying the whole of buf[0..len). */
sob_status sob_ledger_decode(const uint8_t *buf, size_t len, sob_ledger_out *out, sob_ledger_error *err);

/* Decode a bare LedgerEntryChanges array occupying the whole buffer (phase SOB_PHASE_STANDALONE;
 * header, txs and trades stay empty). */
sob_status sob_ledger_decode_changes(const uint8_t *buf, size_t len, sob_ledger_out *out,
                                     sob_ledger_error *err);

/* Multi-ledger inputs. */
#define SOB_LEDGER_FORM_META 0   /* one raw LedgerCloseMeta */
#define SOB_LEDGER_FORM_BATCH 1  /* LedgerCloseMetaBatch {startSequence, endSequence, metas<>} */
#define SOB_LEDGER_FORM_STREAM 2 /* records: 4-byte BE mark (high bit set, 31-bit length) + meta */

typedef struct sob_ledger_reader {
    const uint8_t *buf;
    size_t len;
    size_t pos;         /* next unread byte */
    int form;
    uint32_t remaining; /* batch: metas still to read */
    uint32_t start_seq, end_seq;
    uint32_t index;     /* ledgers returned so far */
    int done;           /* 1: clean end reached; 2: failed (error kept in failed) */
    sob_ledger_error failed;
} sob_ledger_reader;

/* Checks the batch prologue (count = endSequence - startSequence + 1). */
sob_status sob_ledger_reader_init(sob_ledger_reader *r, const uint8_t *buf, size_t len, int form,
                                  sob_ledger_error *err);
/* Decodes the next ledger into *out and sets *got = 1, or sets *got = 0 at the clean end of the
 * input. Batch: each ledger's sequence must be startSequence + index, and nothing may follow the
 * last one. Stream: each record must hold exactly one LedgerCloseMeta. After an error the reader
 * stays failed (every further call returns the same error). */
sob_status sob_ledger_reader_next(sob_ledger_reader *r, sob_ledger_out *out, int *got,
                                  sob_ledger_error *err);

/* Base64 (RFC 4648, standard alphabet, '=' padding required, no whitespace, canonical: the unused
 * bits of the last symbol must be zero). out must hold sob_base64_max_decoded(len) bytes. Errors
 * give the offset in the text, and reasons starting with "base64:". */
static inline size_t sob_base64_max_decoded(size_t len) { return len / 4 * 3; }
sob_status sob_base64_decode(const char *in, size_t len, uint8_t *out, size_t *out_len,
                             sob_ledger_error *err);

#endif
