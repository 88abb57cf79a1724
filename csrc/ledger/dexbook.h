/* dexbook.h: the whole Stellar DEX as the ledger holds it, kept current from decoded
 * LedgerCloseMeta (ledger.h), in plain C11.
 *
 * Held:
 *  - every offer, keyed as the ledger keys it (offer id; its seller account is kept with it), in
 *    a per-market sob_offerbook (core's crossing order) plus an L2 view of the market at full depth
 *    (sob_book: both sides quote counter per base; ask amounts in base, bid amounts in counter;
 *    levels keyed by the exact value of the price);
 *  - every constant-product liquidity pool by pool id, with the market of its asset pair;
 *  - the accounts and trust lines the ledger showed (accounts.h: the sellers' funds model), with
 *    the issuer of every credit asset registered.
 * Names are interned: an account is a uint32 index (its accounts.h key is index + 1), an asset a
 * uint32 id (0 = native, SOB_ASSET_ID_NATIVE), a pool a uint32 index, a market a uint32 index.
 * A market is an unordered asset pair stored once with base = the asset of lower id; a lookup
 * with the other orientation gets `flipped` = 1 (its bids are the stored asks and vice versa,
 * prices inverted).
 *
 * sob_dexbook_apply applies one decoded ledger ATOMICALLY. Phase 1 walks every change in core's
 * order (ledger.h) against a per-ledger overlay of the entries touched, checking each one
 * (prices, amounts, assets, the funds invariants of accounts.h) and each STATE entry against
 * what the book holds at that point; it reserves the memory the commit needs. Nothing held is
 * modified by phase 1 except name tables and empty markets, which are rolled back on failure.
 * Phase 2 commits the net effect of the ledger per entry. Only the per-market books can still
 * run out of memory there: the commit is then undone entry by entry; should even the undo run
 * out of memory, the book says it is broken (sob_dexbook_broken) and refuses every ledger until
 * it is reseeded or resynced; it never keeps a half-applied ledger silently.
 *
 * Sequence: a ledger must be the next one (ledger_seq = last + 1) unless SOB_DEX_RESYNC is
 * given (status SOB_E_MISMATCH, reason "ledger gap"): a resync across a gap makes every market
 * incomplete, since the changes of the skipped ledgers were never seen.
 *
 * Completeness and drift. A book seeded from a full snapshot (sob_dexbook_seed, complete = 1)
 * holds every entry: its markets are complete, and so is every market created after it. A book
 * that started empty (or was seeded partially) learns entries as the ledger touches them; its
 * markets are never complete. A STATE entry that differs from what the book holds, an entry the
 * ledger updates or removes that a complete book does not hold, or one it creates that the book
 * already holds, is DRIFT: reported (per market for offers and pools), and the book follows the
 * ledger. In an incomplete market an unknown entry is simply learned.
 *
 * Memory: O(offers + pools + accounts + trust lines + names). Not safe for concurrent use.
 */
#ifndef SOB_DEXBOOK_H
#define SOB_DEXBOOK_H

#include <stddef.h>
#include <stdint.h>

#include "accounts.h"
#include "book.h"
#include "ledger.h"
#include "offerbook.h"
#include "sob_common.h"

#define SOB_DEX_RESYNC 1u /* sob_dexbook_apply flag: accept a ledger that is not the next one */

#define SOB_DEX_NONE UINT32_MAX /* "no market" (accounts and trust lines) */

/* Offer / pool event kinds */
#define SOB_DEX_ADDED 1
#define SOB_DEX_UPDATED 2
#define SOB_DEX_REMOVED 3

/* Drift kinds */
#define SOB_DRIFT_DIFFERS 1    /* a STATE entry differs from what the book held */
#define SOB_DRIFT_MISSING 2    /* the ledger touched an entry a complete book did not hold */
#define SOB_DRIFT_UNEXPECTED 3 /* the ledger created an entry the book already held */

typedef struct sob_dex_market {
    uint32_t base, counter; /* asset ids, base < counter */
    uint8_t complete;       /* 1: every offer of the market is held (seeded from a full snapshot) */
    uint8_t pad_[3];
    uint32_t npools;        /* pools of this pair */
    sob_offerbook offers;   /* ASK = sells base, BID = sells counter; n/d the offer's own price.
                             * Owner-indexed, and each offer's seller is its account key in the
                             * book's accounts table (account index + 1): see sob_dexbook_venue */
    sob_book l2;            /* full depth, Horizon's units, counter per base on both sides */
    uint32_t pool;          /* the pair's pool that trades (fee 30 bp, as core's path payments use:
                             * LIQUIDITY_POOL_FEE_V18), SOB_DEX_NONE when none is live. A
                             * hand-made ledger may hold two such pools of one pair (the network
                             * cannot: the pool id hashes the pair and the fee): the first seen */
} sob_dex_market;
typedef struct sob_dex_pool {
    uint8_t live;           /* 0: removed (or never seen) */
    uint8_t pad_[3];
    uint32_t market;
    uint32_t asset_a, asset_b; /* as the pool orders them */
    int32_t fee_bp;
    int64_t reserve_a, reserve_b, total_shares, trustline_count;
} sob_dex_pool;

/* What one ledger changed. seller: account index (SOB_DEX_NONE when unknown). */
typedef struct sob_dex_offer_event {
    uint32_t market;
    uint8_t kind;    /* SOB_DEX_ADDED / UPDATED / REMOVED (net over the ledger) */
    uint8_t side;    /* SOB_SIDE_* in the stored orientation (after; before for REMOVED) */
    uint8_t learned; /* 1: the book did not hold it before (incomplete market): learned, not new */
    uint8_t pad_;
    uint32_t seller;
    int64_t offer_id;
    int32_t n, d;               /* after (before for REMOVED) */
    int64_t old_amount, new_amount; /* 0 = absent */
} sob_dex_offer_event;

typedef struct sob_dex_level_event {
    uint32_t market;
    int32_t side; /* stored orientation */
    int32_t n, d; /* the level's price (counter per base), reduced */
    uint64_t old_amount, new_amount; /* 0 = absent */
} sob_dex_level_event;

typedef struct sob_dex_pool_event {
    uint32_t pool, market;
    uint8_t kind; /* SOB_DEX_* */
    uint8_t pad_[7];
    int64_t old_reserve_a, old_reserve_b, new_reserve_a, new_reserve_b;
} sob_dex_pool_event;

typedef struct sob_dex_trade_event {
    uint32_t market; /* of the traded pair */
    uint32_t trade;  /* index into the ledger's trades (sob_ledger_out.trades) */
} sob_dex_trade_event;

typedef struct sob_dex_drift {
    uint32_t market;  /* SOB_DEX_NONE for accounts and trust lines */
    uint8_t entry_type; /* SOB_ENTRY_* */
    uint8_t kind;       /* SOB_DRIFT_* */
    uint8_t pad_[2];
    int64_t id;  /* offer id; pool index; account index; trust line: account index */
    uint32_t asset; /* trust line: asset id; else 0 */
    uint32_t pad2_;
} sob_dex_drift;

typedef struct sob_dex_vec {
    void *v;
    size_t len, cap;
} sob_dex_vec;

/* The result of one apply: owned, reused across calls. The arrays are valid until the next call. */
typedef struct sob_dex_result {
    uint32_t ledger_seq;
    const sob_dex_offer_event *offers; size_t n_offers;
    const sob_dex_level_event *levels; size_t n_levels;
    const sob_dex_pool_event *pools;   size_t n_pools;
    const sob_dex_trade_event *trades; size_t n_trades;
    const sob_dex_drift *drift;        size_t n_drift;
    size_t n_accounts, n_trustlines;   /* account and trust line entries changed */
    sob_dex_vec offers_, levels_, pools_, trades_, drift_; /* private storage */
} sob_dex_result;

typedef struct sob_dexbook sob_dexbook;

void sob_dex_result_init(sob_dex_result *r);
void sob_dex_result_free(sob_dex_result *r);

sob_status sob_dexbook_new(sob_dexbook **out);
void sob_dexbook_free(sob_dexbook *dx);

/* Apply one decoded ledger (see the top of this file). SOB_E_MISMATCH: not the next ledger;
 * SOB_E_INVALID: an entry no ledger holds (bad price, amount, asset pair, ...), err->offset is
 * the index of the change; SOB_E_OVERFLOW: an L2 level would pass UINT64_MAX; SOB_E_NOMEM;
 * SOB_E_LIMIT: the book is broken (see above). On any error the book is as it was. */
sob_status sob_dexbook_apply(sob_dexbook *dx, const sob_ledger_out *led, unsigned flags, sob_dex_result *res,
                             sob_ledger_error *err);

/* Load entries (any change kind but REMOVED; typically the STATE entries of a snapshot or of a
 * ledger) as the state at the end of ledger `ledger_seq`, replacing what the book holds for the
 * same keys. complete = 1: this is a full snapshot: every market becomes (and new ones start)
 * complete. Atomic like apply. An entry given twice: the last one counts. */
sob_status sob_dexbook_seed(sob_dexbook *dx, const sob_ledger_change *ch, size_t n, uint32_t ledger_seq, int complete,
                            sob_ledger_error *err);

/* Give the pages of the C heap's free memory back to the system (glibc's malloc_trim; nothing
 * elsewhere). sob_dexbook_seed does so after a large seed, but the caller's own buffers (the
 * decoded changes it seeded from) are still allocated then: a binding that frees a large decode
 * buffer after seeding calls this so those holes do not stay in the process's RSS. */
void sob_dexbook_release_heap(void);

/* Keep only part of the DEX: the markets between two of the `n_assets` chosen assets and the
 * `n_markets` chosen markets (pairs[2k], pairs[2k + 1], either orientation), with their offers and
 * pools; and, of the accounts, only the sellers of offers of those markets (from the first ledger
 * or seed that shows them selling there) with their trust lines in the assets of those markets.
 * Everything else a ledger or seed holds is validated no further and dropped: such a book equals
 * an unfiltered book fed the same ledgers, restricted to those markets and sellers (the trades
 * reported are those of kept markets). Set once, on a new book: SOB_E_INVALID otherwise (and for
 * a non-tradable asset or a market of one asset). */
sob_status sob_dexbook_set_filter(sob_dexbook *dx, const sob_ledger_asset *assets, size_t n_assets,
                                  const sob_ledger_asset *pairs, size_t n_markets, sob_ledger_error *err);
int sob_dexbook_filtering(const sob_dexbook *dx); /* 1 once a filter is set */

/* ---- reads ------------------------------------------------------------------------------------ */
uint32_t sob_dexbook_ledger_seq(const sob_dexbook *dx);  /* last ledger applied (0 = none) */
int sob_dexbook_broken(const sob_dexbook *dx);
size_t sob_dexbook_offer_count(const sob_dexbook *dx);
uint32_t sob_dexbook_market_count(const sob_dexbook *dx);
uint32_t sob_dexbook_pool_count(const sob_dexbook *dx); /* pool indices in use (some may be removed) */
uint32_t sob_dexbook_asset_count(const sob_dexbook *dx);
uint32_t sob_dexbook_account_count(const sob_dexbook *dx);

/* A market by index (NULL past the end). */
const sob_dex_market *sob_dexbook_market(const sob_dexbook *dx, uint32_t market);
/* The market of a pair in either orientation: SOB_OK with *market and *flipped (1 when base is
 * the stored counter), or SOB_E_NOT_FOUND. */
sob_status sob_dexbook_find_market(const sob_dexbook *dx, const sob_ledger_asset *base, const sob_ledger_asset *counter,
                                   uint32_t *market, int *flipped);
/* The best level of a side of a market as seen with `flipped`: 1 and *out (n/d counter per base
 * of that orientation), or 0 when the side is empty. O(1). */
int sob_dexbook_best(const sob_dexbook *dx, uint32_t market, int flipped, int side, sob_level *out);

const sob_ledger_asset *sob_dexbook_asset(const sob_dexbook *dx, uint32_t id);  /* NULL past the end */
const uint8_t *sob_dexbook_account_key(const sob_dexbook *dx, uint32_t index);  /* 32 bytes or NULL */
/* Offer lookup: SOB_OK with its market, seller index, flags, side and the offer. */
sob_status sob_dexbook_offer(const sob_dexbook *dx, int64_t offer_id, uint32_t *market, uint32_t *seller,
                             uint32_t *flags, int *side, sob_offer *out);
/* The sponsor of a held offer (its LedgerEntry's sponsoringID, CAP-33): SOB_OK with *sponsor its
 * account index, or SOB_DEX_NONE when the offer is not sponsored; SOB_E_NOT_FOUND when the book
 * does not hold the offer. A change of sponsor alone is an offer update (an event, and drift when
 * a STATE entry disagrees). */
sob_status sob_dexbook_offer_sponsor(const sob_dexbook *dx, int64_t offer_id, uint32_t *sponsor);
const sob_dex_pool *sob_dexbook_pool(const sob_dexbook *dx, uint32_t index);      /* NULL past the end */
const uint8_t *sob_dexbook_pool_id(const sob_dexbook *dx, uint32_t index);        /* 32 bytes or NULL */
const sob_accounts *sob_dexbook_accounts(const sob_dexbook *dx);
/* The account index of a 32-byte key: SOB_OK or SOB_E_NOT_FOUND. */
sob_status sob_dexbook_find_account(const sob_dexbook *dx, const uint8_t key[32], uint32_t *index);
sob_status sob_dexbook_find_asset(const sob_dexbook *dx, const sob_ledger_asset *a, uint32_t *id);

/* ---- crossing on the book (dex.h) ------------------------------------------------------------- */

/* Where a taker sends asset `send` and receives asset `recv` (asset ids of this book), for the
 * operations of dex.h: the side of the pair's market holding the offers that sell `recv` for
 * `send`, and the pair's pool (fee 30 bp) with pool_a_is_send set. Either may be absent (NULL);
 * SOB_E_NOT_FOUND (and an empty venue) when the book holds no market of the pair, SOB_E_INVALID for
 * send == recv or an id past the end. The offers' seller keys are the keys of the book's accounts
 * table, so crossing with the context of sob_dexbook_ctx uses each seller's real balance,
 * liabilities and trust limits (and the issuers the book registered), exactly as core does; a
 * seller the book holds no entry for is unknown (fully funded), unless the caller sets
 * SOB_CTX_UNKNOWN_MISSING (right only for a book seeded complete). Valid until the book changes. */
struct sob_venue; /* dex.h (not included here: its sob_claim_type names are ledger.h's macros too;
                   * a file that includes both includes dex.h first) */
struct sob_dex_ctx;
sob_status sob_dexbook_venue(const sob_dexbook *dx, uint32_t send, uint32_t recv, struct sob_venue *out);
/* sob_dex_ctx_init(), then the book's accounts table and, once a ledger was applied, its protocol
 * version and base reserve. */
void sob_dexbook_ctx(const sob_dexbook *dx, struct sob_dex_ctx *ctx);
/* The accounts-table key of an account index (index + 1), as the offers and the table use it. */
static inline uint64_t sob_dexbook_account_table_key(uint32_t index) { return (uint64_t)index + 1; }

/* Bytes held by the book's own allocations (approximate: capacities, not malloc overhead). */
size_t sob_dexbook_memory(const sob_dexbook *dx);

/* Every invariant, O(everything): the offer index and the per-market books agree, each L2 view
 * equals the aggregation of its offers, every book and table passes its own check. */
sob_status sob_dexbook_check(const sob_dexbook *dx);

#endif
