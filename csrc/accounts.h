/* accounts.h: sellers' funds, as the ledger holds them (issue 12).
 *
 * An optional table of accounts (native balance, liabilities, subentry and sponsorship counts),
 * trust lines (balance, limit, liabilities, authorization flags), the issuer of each asset and the
 * sponsor of sponsored offers. Crossing consults it for canSellAtMost / canBuyAtMost exactly as
 * stellar-core does (OfferExchange.cpp:54-104, TransactionUtils.cpp:751-855); an account that is
 * not in the table is *unknown*: fully funded, with unlimited receive headroom, for every asset
 * (stellar_ob's documented model; it behaves as an issuer does in core, TrustLineWrapper.cpp:296-373).
 *
 * Identities are numbers the caller chooses, so one table serves one book or thousands:
 *   - an account is a nonzero uint64 *account key* (0 means "no account"); a book learns the key
 *     of each of its seller handles with sob_offerbook_seller_set_account();
 *   - an asset is a uint32 *asset id*; SOB_ASSET_ID_NATIVE (0) is the native asset. The issuer of a
 *     credit asset is registered with sob_accounts_set_issuer() (an unregistered asset has no
 *     known issuer: no account is treated as its issuer).
 * Nothing here is read by crossing unless a table is passed in the operation's context
 * (sob_dex_ctx.accounts, dex.h). A simulation never changes the table: it reports the entries it
 * would change (sob_op_result), and sob_accounts_apply() writes them when the caller wants to.
 *
 * Entries are stored verbatim as a ledger snapshot gives them, after these checks (SOB_E_INVALID
 * otherwise), which every ledger satisfies: every amount >= 0, and a trust line's balance <= its
 * limit. Liabilities are not checked against balances and limits, nor the native reserve (it
 * depends on each call's protocol and base reserve): a hand-built state may break them, and
 * crossing then does what core does with it (reduce the offer to what is funded, or throw). All
 * arithmetic on these values is exact (128-bit where a sum or product could leave int64).
 * Memory: O(entries); lookups are O(1) (open addressing, backward-shift deletion). The table is
 * not safe for concurrent mutation; concurrent reads (simulations) are fine.
 */
#ifndef SOB_ACCOUNTS_H
#define SOB_ACCOUNTS_H

#include "sob_common.h"

#define SOB_ASSET_ID_NATIVE 0u

/* TrustLineFlags (XDR Stellar-ledger-entries.x) */
#define SOB_TL_AUTHORIZED 1u
#define SOB_TL_AUTHORIZED_TO_MAINTAIN_LIABILITIES 2u

/* AccountEntry fields crossing reads. num_sub_entries counts the account's trust lines and offers
 * (verbatim from the ledger); num_sponsoring / num_sponsored count from protocol 14. */
typedef struct sob_account {
    int64_t balance;             /* native stroops */
    int64_t buying_liabilities;  /* native */
    int64_t selling_liabilities; /* native */
    uint32_t num_sub_entries;
    uint32_t num_sponsoring;
    uint32_t num_sponsored;
    uint32_t flags; /* AccountEntry flags, stored as given (not used by crossing) */
} sob_account;

typedef struct sob_trustline {
    int64_t balance;
    int64_t limit;
    int64_t buying_liabilities;
    int64_t selling_liabilities;
    uint32_t flags; /* SOB_TL_AUTHORIZED | SOB_TL_AUTHORIZED_TO_MAINTAIN_LIABILITIES */
    uint32_t pad;   /* 0 */
} sob_trustline;

/* An open-addressing map from (k1, k2) to a fixed-size value (an implementation detail; the
 * members are public only so that the struct can live inside the caller's objects). */
typedef struct sob_hmap {
    unsigned char *slots; /* owned; (mask + 1) slots of slot_size bytes */
    size_t mask;          /* slots - 1 (0 when slots is NULL) */
    size_t used;
    size_t value_size;
    size_t slot_size;
    uint64_t gen;   /* bumped whenever stored values may move (a rehash, a removal, a clear) */
    uint64_t epoch; /* a slot holds an entry iff its mark equals epoch: clearing is epoch + 1 */
} sob_hmap;

typedef struct sob_accounts {
    sob_hmap accounts;   /* account key -> sob_account */
    sob_hmap trustlines; /* (account key, asset id) -> sob_trustline */
    sob_hmap issuers;    /* asset id -> issuer account key */
    sob_hmap sponsors;   /* offer id -> sponsor account key */
} sob_accounts;

void sob_accounts_init(sob_accounts *t);
void sob_accounts_free(sob_accounts *t);
/* Forget every entry (memory is kept for reuse). */
void sob_accounts_clear(sob_accounts *t);

/* Insert or replace. SOB_E_INVALID for key 0 or a value failing the checks above; SOB_E_NOMEM. */
sob_status sob_accounts_set_account(sob_accounts *t, uint64_t key, const sob_account *a);
sob_status sob_accounts_get_account(const sob_accounts *t, uint64_t key, sob_account *out); /* SOB_E_NOT_FOUND */
sob_status sob_accounts_remove_account(sob_accounts *t, uint64_t key);                    /* SOB_E_NOT_FOUND */

/* A trust line of a credit asset (asset != SOB_ASSET_ID_NATIVE). An issuer needs none for its own
 * asset (core's IssuerImpl): one stored for it is never read. */
sob_status sob_accounts_set_trustline(sob_accounts *t, uint64_t key, uint32_t asset, const sob_trustline *tl);
sob_status sob_accounts_get_trustline(const sob_accounts *t, uint64_t key, uint32_t asset, sob_trustline *out);
sob_status sob_accounts_remove_trustline(sob_accounts *t, uint64_t key, uint32_t asset);

/* The issuer of a credit asset (issuer 0 forgets it). SOB_E_INVALID for the native asset. */
sob_status sob_accounts_set_issuer(sob_accounts *t, uint32_t asset, uint64_t issuer);
uint64_t sob_accounts_issuer(const sob_accounts *t, uint32_t asset); /* 0 = none known */

/* The sponsor of a sponsored offer (LedgerEntryExtensionV1.sponsoringID; sponsor 0 forgets it).
 * Offer ids are ledger-wide, as on the network. Taking the offer releases the sponsorship
 * (SponsorshipUtils.cpp:808-847). SOB_E_INVALID for an id < 0. */
sob_status sob_accounts_set_sponsor(sob_accounts *t, int64_t offer_id, uint64_t sponsor);
uint64_t sob_accounts_sponsor(const sob_accounts *t, int64_t offer_id); /* 0 = none */

size_t sob_accounts_count(const sob_accounts *t);   /* accounts */
size_t sob_accounts_trustline_count(const sob_accounts *t);

/* Every invariant (each stored entry passes the checks above, map bookkeeping): SOB_OK or
 * SOB_E_INVALID. O(entries). */
sob_status sob_accounts_check(const sob_accounts *t);

/* Validity checks used by the setters (also by the operations for their overlays). */
int sob_account_valid(const sob_account *a);
int sob_trustline_valid(const sob_trustline *tl);

/* ---- the generic map (used by the table and by the per-call overlays of dex.c) ---------------- */
void sob_hmap_init(sob_hmap *m, size_t value_size);
void sob_hmap_free(sob_hmap *m);
void sob_hmap_clear(sob_hmap *m);
/* The value stored for (k1, k2), or NULL. */
void *sob_hmap_get(const sob_hmap *m, uint64_t k1, uint64_t k2);
/* The value for (k1, k2), inserted (zeroed, *fresh = 1) if absent; NULL when out of memory. Any
 * pointer obtained earlier may move when an insert grows the map (gen changes then). */
void *sob_hmap_put(sob_hmap *m, uint64_t k1, uint64_t k2, int *fresh);
/* Insert (k1, k2), known to be absent (a zeroed value); NULL when out of memory. */
void *sob_hmap_insert_new(sob_hmap *m, uint64_t k1, uint64_t k2);
/* Room for `extra` more entries without a rehash (values do not move during those inserts):
 * 1, or 0 when out of memory. */
int sob_hmap_reserve(sob_hmap *m, size_t extra);
/* 1 if (k1, k2) was present and is now removed. */
int sob_hmap_remove(sob_hmap *m, uint64_t k1, uint64_t k2);
/* Iteration: for (i = 0; i <= mask; i++) if (sob_hmap_at(m, i, &k1, &k2)) ... ; the value pointer
 * or NULL for an empty slot. */
void *sob_hmap_at(const sob_hmap *m, size_t i, uint64_t *k1, uint64_t *k2);

#endif
