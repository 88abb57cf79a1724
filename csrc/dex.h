/* dex.h: what the network would answer. Whole DEX operations over per-offer books, pools and
 * (optionally) the sellers' and taker's funds, with stellar-core's result codes (issue 12).
 *
 * The operations, each a transliteration of core at commit a9b86132 (comments cite the lines):
 *   sob_manage_offer   ManageSellOffer, ManageBuyOffer, CreatePassiveSellOffer: the up-front
 *                      checks (MALFORMED, NO_TRUST, NOT_AUTHORIZED, UNDERFUNDED and LINE_FULL from
 *                      the new offer's liabilities, LOW_RESERVE, subentry limits), the book walk
 *                      with the price filter and CROSS_SELF, the 1000-offer work budget, what
 *                      rests afterwards (CREATED / UPDATED / DELETED) and its liabilities.
 *   sob_path_payment   PathPaymentStrictSend / StrictReceive over 1 to 6 hops (0 to 5 intermediate
 *                      assets; strict receive walks backwards from the destination): per hop the
 *                      book walk and the pool, the venue choice, the work budget shared by the
 *                      hops, CROSS_SELF, TOO_FEW_OFFERS when a hop's transfer is incomplete,
 *                      UNDER_DESTMIN / OVER_SENDMAX, opEXCEEDED_WORK_LIMIT, and the source's debit
 *                      and the destination's credit (UNDERFUNDED, NO_TRUST, LINE_FULL, ...).
 *   sob_convert_hop    One conversion (convertWithOffersAndPools) on its own: a quote of one hop.
 * Every rule that depends on the protocol version takes it from sob_dex_ctx.protocol (>= 10).
 *
 * Nothing is ever changed: books, pools and the accounts table are read through a per-call
 * overlay in the caller's sob_dex_scratch, which records the offers consumed, the reserves and
 * the balances moved, so a path that crosses the same book, pool or seller twice sees its own
 * earlier effects, as core does. The result lists what would change (accounts, trust lines,
 * offers, pools); the caller may apply it (sob_offerbook_apply_fills, sob_accounts_apply_result).
 *
 * Identities: assets are uint32 ids (SOB_ASSET_ID_NATIVE = 0), accounts are nonzero uint64 keys
 * (accounts.h). A seller handle's key is set on its book (sob_offerbook_seller_set_account); an
 * account with key 0, or one not in the table, is *unknown*: fully funded, unlimited headroom.
 *
 * Errors: a function returns SOB_OK when it computed core's answer (which may be a failure code,
 * or SOB_R_CORE_WOULD_THROW where core throws), and another status only for arguments that
 * cannot be an operation (SOB_E_INVALID: protocol < 10, a path longer than 5, a bad side, ...;
 * SOB_E_NOT_FOUND: the source account does not exist when unknown accounts are missing;
 * SOB_E_NOMEM). Every size is bounded by the books' sizes; nothing wraps.
 */
#ifndef SOB_DEX_H
#define SOB_DEX_H

#include "accounts.h"
#include "exchange.h"
#include "offerbook.h"
#include "sob_common.h"

/* ---- protocol versions --------------------------------------------------------------------- */
#define SOB_PROTOCOL_MIN 10 /* the oldest protocol modelled (no live network runs an older one) */
/* CURRENT_LEDGER_PROTOCOL_VERSION of the core source transliterated (src/main/Config.cpp:34 at
 * a9b86132). A higher protocol is accepted and follows the rules of this one. */
#define SOB_PROTOCOL_CORE 28
/* The protocol the public network (mainnet) runs, the default of every operation. 28: stellar-core
 * v28.0.0 is the "Protocol 28" release, and a third-party indexer's release note (StellarIndex
 * v0.45.0, 2026-08-27) gives the mainnet upgrade as 2026-09-16. No SDF announcement of that vote
 * was available to check; the live books should pass Horizon's current_protocol_version instead. */
#define SOB_PROTOCOL_MAINNET 28

#define SOB_MAX_PATH 5            /* intermediate assets: xdr::xvector<Asset, 5> */
#define SOB_MAX_HOPS (SOB_MAX_PATH + 1)
#define SOB_ACCOUNT_SUBENTRY_LIMIT 1000 /* TransactionUtils.cpp:35 */
#define SOB_LIQUIDITY_POOL_FEE 30 /* LIQUIDITY_POOL_FEE_V18, basis points */

/* ---- result codes: core's XDR names; sob_result_name() gives the exact string --------------- */
typedef enum sob_result {
    SOB_R_NONE = 0,
    SOB_R_CORE_WOULD_THROW = 1, /* core throws: txINTERNAL_ERROR on the network (sob_op_result.thrown) */
    /* OperationResultCode */
    SOB_R_opNOT_SUPPORTED = 10,
    SOB_R_opTOO_MANY_SUBENTRIES = 11,
    SOB_R_opEXCEEDED_WORK_LIMIT = 12,
    /* ManageSellOfferResultCode (also CreatePassiveSellOffer) */
    SOB_R_MANAGE_SELL_OFFER_SUCCESS = 100,
    SOB_R_MANAGE_SELL_OFFER_MALFORMED,
    SOB_R_MANAGE_SELL_OFFER_SELL_NO_TRUST,
    SOB_R_MANAGE_SELL_OFFER_BUY_NO_TRUST,
    SOB_R_MANAGE_SELL_OFFER_SELL_NOT_AUTHORIZED,
    SOB_R_MANAGE_SELL_OFFER_BUY_NOT_AUTHORIZED,
    SOB_R_MANAGE_SELL_OFFER_LINE_FULL,
    SOB_R_MANAGE_SELL_OFFER_UNDERFUNDED,
    SOB_R_MANAGE_SELL_OFFER_CROSS_SELF,
    SOB_R_MANAGE_SELL_OFFER_SELL_NO_ISSUER,
    SOB_R_MANAGE_SELL_OFFER_BUY_NO_ISSUER,
    SOB_R_MANAGE_SELL_OFFER_NOT_FOUND,
    SOB_R_MANAGE_SELL_OFFER_LOW_RESERVE,
    /* ManageBuyOfferResultCode: the same order */
    SOB_R_MANAGE_BUY_OFFER_SUCCESS = 200,
    SOB_R_MANAGE_BUY_OFFER_MALFORMED,
    SOB_R_MANAGE_BUY_OFFER_SELL_NO_TRUST,
    SOB_R_MANAGE_BUY_OFFER_BUY_NO_TRUST,
    SOB_R_MANAGE_BUY_OFFER_SELL_NOT_AUTHORIZED,
    SOB_R_MANAGE_BUY_OFFER_BUY_NOT_AUTHORIZED,
    SOB_R_MANAGE_BUY_OFFER_LINE_FULL,
    SOB_R_MANAGE_BUY_OFFER_UNDERFUNDED,
    SOB_R_MANAGE_BUY_OFFER_CROSS_SELF,
    SOB_R_MANAGE_BUY_OFFER_SELL_NO_ISSUER,
    SOB_R_MANAGE_BUY_OFFER_BUY_NO_ISSUER,
    SOB_R_MANAGE_BUY_OFFER_NOT_FOUND,
    SOB_R_MANAGE_BUY_OFFER_LOW_RESERVE,
    /* PathPaymentStrictSendResultCode */
    SOB_R_PATH_PAYMENT_STRICT_SEND_SUCCESS = 300,
    SOB_R_PATH_PAYMENT_STRICT_SEND_MALFORMED,
    SOB_R_PATH_PAYMENT_STRICT_SEND_UNDERFUNDED,
    SOB_R_PATH_PAYMENT_STRICT_SEND_SRC_NO_TRUST,
    SOB_R_PATH_PAYMENT_STRICT_SEND_SRC_NOT_AUTHORIZED,
    SOB_R_PATH_PAYMENT_STRICT_SEND_NO_DESTINATION,
    SOB_R_PATH_PAYMENT_STRICT_SEND_NO_TRUST,
    SOB_R_PATH_PAYMENT_STRICT_SEND_NOT_AUTHORIZED,
    SOB_R_PATH_PAYMENT_STRICT_SEND_LINE_FULL,
    SOB_R_PATH_PAYMENT_STRICT_SEND_NO_ISSUER,
    SOB_R_PATH_PAYMENT_STRICT_SEND_TOO_FEW_OFFERS,
    SOB_R_PATH_PAYMENT_STRICT_SEND_OFFER_CROSS_SELF,
    SOB_R_PATH_PAYMENT_STRICT_SEND_UNDER_DESTMIN,
    /* PathPaymentStrictReceiveResultCode: the same order, OVER_SENDMAX last */
    SOB_R_PATH_PAYMENT_STRICT_RECEIVE_SUCCESS = 400,
    SOB_R_PATH_PAYMENT_STRICT_RECEIVE_MALFORMED,
    SOB_R_PATH_PAYMENT_STRICT_RECEIVE_UNDERFUNDED,
    SOB_R_PATH_PAYMENT_STRICT_RECEIVE_SRC_NO_TRUST,
    SOB_R_PATH_PAYMENT_STRICT_RECEIVE_SRC_NOT_AUTHORIZED,
    SOB_R_PATH_PAYMENT_STRICT_RECEIVE_NO_DESTINATION,
    SOB_R_PATH_PAYMENT_STRICT_RECEIVE_NO_TRUST,
    SOB_R_PATH_PAYMENT_STRICT_RECEIVE_NOT_AUTHORIZED,
    SOB_R_PATH_PAYMENT_STRICT_RECEIVE_LINE_FULL,
    SOB_R_PATH_PAYMENT_STRICT_RECEIVE_NO_ISSUER,
    SOB_R_PATH_PAYMENT_STRICT_RECEIVE_TOO_FEW_OFFERS,
    SOB_R_PATH_PAYMENT_STRICT_RECEIVE_OFFER_CROSS_SELF,
    SOB_R_PATH_PAYMENT_STRICT_RECEIVE_OVER_SENDMAX
} sob_result;

/* "MANAGE_SELL_OFFER_UNDERFUNDED", "opEXCEEDED_WORK_LIMIT", "CORE_WOULD_THROW", ... ("" if unknown). */
const char *sob_result_name(sob_result r);
/* The XDR value of the code in its own enum (SUCCESS 0, MALFORMED -1, ...; op codes: opNOT_SUPPORTED
 * -3, opTOO_MANY_SUBENTRIES -4, opEXCEEDED_WORK_LIMIT -5); 1 for NONE and CORE_WOULD_THROW. */
int sob_result_xdr(sob_result r);
/* 1 for the four *_SUCCESS codes. */
int sob_result_success(sob_result r);

/* core's ConvertResult (OfferExchange.h:299-306) */
typedef enum sob_convert_result {
    SOB_CONVERT_OK = 0,              /* eOK */
    SOB_CONVERT_PARTIAL = 1,         /* ePartial */
    SOB_CONVERT_STOP_BAD_PRICE = 2,  /* eFilterStopBadPrice */
    SOB_CONVERT_STOP_CROSS_SELF = 3, /* eFilterStopCrossSelf */
    SOB_CONVERT_CROSSED_TOO_MANY = 4 /* eCrossedTooMany */
} sob_convert_result;

typedef enum sob_venue_kind { SOB_VENUE_NONE = 0, SOB_VENUE_BOOK = 1, SOB_VENUE_POOL = 2 } sob_venue_kind;

/* ClaimAtomType, by protocol (TransactionUtils.cpp:1881-1900) */
typedef enum sob_claim_type {
    SOB_CLAIM_V0 = 0,             /* CLAIM_ATOM_TYPE_V0, before protocol 18 */
    SOB_CLAIM_ORDER_BOOK = 1,     /* CLAIM_ATOM_TYPE_ORDER_BOOK */
    SOB_CLAIM_LIQUIDITY_POOL = 2  /* CLAIM_ATOM_TYPE_LIQUIDITY_POOL */
} sob_claim_type;

typedef enum sob_offer_effect {
    SOB_OFFER_NONE = 0,
    SOB_OFFER_CREATED = 1, /* MANAGE_OFFER_CREATED */
    SOB_OFFER_UPDATED = 2, /* MANAGE_OFFER_UPDATED */
    SOB_OFFER_DELETED = 3  /* MANAGE_OFFER_DELETED */
} sob_offer_effect;

/* ---- inputs -------------------------------------------------------------------------------- */

/* The ledger header and the state the operation reads. sob_dex_ctx_init() fills the defaults. */
typedef struct sob_dex_ctx {
    uint32_t protocol;               /* ledgerVersion, >= SOB_PROTOCOL_MIN; default SOB_PROTOCOL_MAINNET */
    uint32_t base_reserve;           /* stroops; default 5000000 (0.5 XLM) */
    int64_t max_offers_to_cross;     /* MAX_OFFERS_TO_CROSS, default 1000; >= 0 */
    uint32_t account_subentry_limit; /* ACCOUNT_SUBENTRY_LIMIT, default 1000 */
    uint32_t flags;                  /* SOB_CTX_* */
    int64_t id_pool;                 /* header idPool: a created offer gets id_pool + 1; [0, INT64_MAX) */
    const sob_accounts *accounts;    /* may be NULL: every account is unknown */
} sob_dex_ctx;

#define SOB_CTX_POOL_TRADING_DISABLED 1u /* LedgerHeader DISABLE_LIQUIDITY_POOL_TRADING_FLAG */
/* An account not in the table is missing, as in core (a crossed offer of a missing seller throws,
 * a missing destination is NO_DESTINATION), instead of unknown and fully funded. */
#define SOB_CTX_UNKNOWN_MISSING 2u
/* Leave out the state afterwards (sob_op_result.accounts / trustlines / offers / pools stay empty):
 * for quotes, which need only the code, the amounts and the claims. */
#define SOB_CTX_SKIP_CHANGES 4u

void sob_dex_ctx_init(sob_dex_ctx *ctx);

/* A constant-product pool. Reserves as stored (a reserve <= 0 means the pool does not trade);
 * fee_bp outside [0, 10000) is where core throws. */
typedef struct sob_pool {
    int64_t reserve_a;
    int64_t reserve_b;
    int32_t fee_bp; /* SOB_LIQUIDITY_POOL_FEE on the network */
    int32_t pad;    /* 0 */
} sob_pool;

/* Where one hop trades: the offers selling the hop's received asset for its sent asset (one side
 * of a book) and the pool of the pair. Either may be absent. Two venues naming the same book side
 * or the same pool (by address) are the same state: the second sees what the first did. */
typedef struct sob_venue {
    const sob_offerbook *book; /* NULL: no offers */
    int32_t side;              /* SOB_SIDE_BID or SOB_SIDE_ASK of that book */
    int32_t pool_a_is_send;    /* 1: pool->reserve_a is the asset the taker sends into this hop */
    const sob_pool *pool;      /* NULL: no pool */
} sob_venue;

typedef enum sob_op_kind {
    SOB_OP_MANAGE_SELL_OFFER = 1,
    SOB_OP_MANAGE_BUY_OFFER = 2,
    SOB_OP_CREATE_PASSIVE_SELL_OFFER = 3,
    SOB_OP_PATH_PAYMENT_STRICT_SEND = 4,
    SOB_OP_PATH_PAYMENT_STRICT_RECEIVE = 5
} sob_op_kind;

/* An offer as stored in the ledger (the taker's existing offer for an update / delete). */
typedef struct sob_offer_entry {
    int64_t offer_id;
    uint64_t seller;  /* account key */
    uint64_t sponsor; /* 0: not sponsored */
    uint32_t selling, buying;
    int64_t amount;
    int32_t n, d;     /* units of buying per unit of selling */
    uint32_t flags;   /* SOB_OFFER_PASSIVE */
    uint32_t pad;
} sob_offer_entry;

#define SOB_OFFER_PASSIVE 1u

typedef struct sob_manage_op {
    int32_t kind;     /* SOB_OP_MANAGE_SELL_OFFER / MANAGE_BUY_OFFER / CREATE_PASSIVE_SELL_OFFER */
    int32_t pad;
    uint64_t source;  /* the taker's account key (0: unknown, fully funded) */
    uint32_t selling; /* the asset the taker gives */
    uint32_t buying;  /* the asset it gets */
    int64_t amount;   /* sell: amount of selling; buy: buyAmount of buying; 0 deletes offer_id */
    int32_t n, d;     /* sell: buying per selling; buy: selling per buying (core stores d/n) */
    int64_t offer_id; /* 0: a new offer (CreatePassiveSellOffer: always 0) */
} sob_manage_op;

typedef struct sob_path_op {
    int32_t kind;         /* SOB_OP_PATH_PAYMENT_STRICT_SEND / STRICT_RECEIVE */
    uint32_t nassets;     /* 2..7: assets[0] is sent, assets[nassets-1] received, between them the path */
    uint32_t assets[SOB_MAX_PATH + 2];
    uint64_t source;      /* account keys (0: unknown, fully funded) */
    uint64_t destination;
    int64_t send;         /* strict send: sendAmount; strict receive: sendMax */
    int64_t dest;         /* strict send: destMin; strict receive: destAmount */
} sob_path_op;

/* One hop on its own (sob_convert_hop): convertWithOffersAndPools as a path payment runs it. */
typedef struct sob_hop_op {
    int32_t round;       /* SOB_ROUND_STRICT_SEND or SOB_ROUND_STRICT_RECEIVE */
    uint32_t send_asset, recv_asset;
    uint32_t pad;
    uint64_t taker;      /* account key whose own offers stop the walk (0: none) */
    int64_t amount;      /* strict send: sent exactly; strict receive: received exactly */
    int64_t budget;      /* maxOffersToCross for this hop, >= 0 */
} sob_hop_op;

/* ---- outputs: fixed-size records, owned by the scratch, valid until its next use ------------ */

typedef struct sob_claim {
    int64_t offer_id;      /* -1 for a pool */
    uint64_t seller;       /* account key (0 for a pool or a seller without one) */
    int64_t amount_sold;   /* what the offer's seller (or the pool) gave: wheat */
    int64_t amount_bought; /* what it got: sheep */
    int64_t remaining;     /* the offer's amount afterwards, 0 = removed (pool: -1) */
    uint32_t asset_sold, asset_bought;
    int32_t type;          /* sob_claim_type */
    int32_t venue;         /* index into the venues of the call */
} sob_claim;

typedef struct sob_hop {
    uint32_t send_asset, recv_asset;
    int32_t venue_index;   /* index into the venues of the call */
    int32_t result;        /* sob_convert_result of the hop */
    int32_t venue;         /* sob_venue_kind chosen (NONE when it failed before choosing) */
    int32_t pool_quoted;   /* 1 if the pool's dry run succeeded (pool_send / pool_recv) */
    int64_t amount_send, amount_recv;
    int64_t pool_send, pool_recv;
    int64_t book_send, book_recv; /* what the book walk gave, chosen or not */
    int32_t book_result;          /* sob_convert_result of the book walk */
    int32_t book_rolled_back;     /* 1: the walk was rolled back (the pool won, or the work limit) */
    uint64_t book_offers;         /* offers the book walk crossed */
    int64_t budget_before, budget_after;
    uint64_t claims_start, claims_count; /* the hop's claims in sob_op_result.hop_claims */
    /* the book walk's claims, chosen or not: in sob_op_result.hop_claims when the book was chosen
     * (then equal to claims_start / claims_count), in sob_op_result.walk_claims when rolled back */
    uint64_t book_claims_start, book_claims_count;
} sob_hop;

typedef struct sob_account_change {
    uint64_t key;
    sob_account after;
} sob_account_change;

typedef struct sob_trustline_change {
    uint64_t key;
    uint32_t asset, pad;
    sob_trustline after;
} sob_trustline_change;

/* An offer of a book the operation changed: its amount afterwards (0 = removed). */
typedef struct sob_offer_change {
    const sob_offerbook *book;
    int32_t side, pad;
    int64_t offer_id;
    int64_t amount;
} sob_offer_change;

typedef struct sob_pool_change {
    const sob_pool *pool;
    int64_t reserve_a, reserve_b;
} sob_pool_change;

typedef struct sob_op_result {
    sob_result code;
    sob_throw thrown;         /* where core throws (code SOB_R_CORE_WOULD_THROW), else NONE */
    int32_t amounts_known;    /* 0 where core stops before the amounts are complete */
    int64_t sent;             /* what the source paid (manage: sheep sent) */
    int64_t received;         /* what the destination got (manage: wheat received) */
    /* claim atoms in core's result order (empty unless SUCCESS) */
    const sob_claim *claims;
    size_t nclaims;
    /* the conversions in execution order (strict receive: destination first), each with its claims */
    const sob_hop *hops;
    size_t nhops;
    const sob_claim *hop_claims;
    size_t nhop_claims;
    /* the claims of the book walks rolled back (sob_hop.book_rolled_back), each hop's in order:
     * what the walk would have taken, for quotes; not part of the operation */
    const sob_claim *walk_claims;
    size_t nwalk_claims;
    /* manage operations: what rests (offer valid for CREATED / UPDATED) */
    int32_t offer_effect;     /* sob_offer_effect */
    sob_offer_entry offer;
    /* the state afterwards (empty unless SUCCESS, and with SOB_CTX_SKIP_CHANGES): entries whose
     * value changes */
    const sob_account_change *accounts;
    size_t naccounts;
    const sob_trustline_change *trustlines;
    size_t ntrustlines;
    const sob_offer_change *offers; /* offers of the books crossed (not the taker's own: see offer) */
    size_t noffers;
    const sob_pool_change *pools;
    size_t npools;
    int32_t old_offer_removed; /* manage update / delete: the taker's existing offer left the book */
    int64_t id_pool;          /* the header's idPool afterwards */
} sob_op_result;

/* Per-call working memory, owned by the caller (one per object, never shared between threads).
 * Grows to what the largest call needed; every result points into it until the next call. */
typedef struct sob_dex_scratch sob_dex_scratch;
sob_dex_scratch *sob_dex_scratch_new(void);
void sob_dex_scratch_free(sob_dex_scratch *s);

/* ---- the operations ------------------------------------------------------------------------ */

/* ManageSellOffer / ManageBuyOffer / CreatePassiveSellOffer as the network applies it. `venue`
 * names the book side holding the offers that sell op->buying for op->selling (its pool is
 * ignored: offers never cross pools). `existing` is the source's offer op->offer_id as the
 * ledger holds it (NULL: there is none, NOT_FOUND for an update); it is skipped if it sits in the
 * side crossed. */
sob_status sob_manage_offer(const sob_dex_ctx *ctx, const sob_manage_op *op, const sob_venue *venue,
                            const sob_offer_entry *existing, sob_dex_scratch *s, sob_op_result *out);

/* PathPaymentStrictSend / StrictReceive. venues[i] (i < op->nassets - 1) is where the taker sends
 * assets[i] and receives assets[i + 1]; a venue between two equal assets is never used. */
sob_status sob_path_payment(const sob_dex_ctx *ctx, const sob_path_op *op, const sob_venue *venues,
                            sob_dex_scratch *s, sob_op_result *out);

/* One conversion with no source or destination balances: the hop's record (out->hops[0]), its
 * claims, and the state it would change; out->code is the path payment's code for this hop alone
 * (SUCCESS, TOO_FEW_OFFERS, OFFER_CROSS_SELF, opEXCEEDED_WORK_LIMIT or CORE_WOULD_THROW). */
sob_status sob_convert_hop(const sob_dex_ctx *ctx, const sob_hop_op *op, const sob_venue *venue, sob_dex_scratch *s,
                           sob_op_result *out);

/* Write a successful result's account and trust-line changes into the table it was computed on
 * (offers: sob_offerbook_apply_fills per book; pools: the caller's). SOB_E_NOMEM leaves some applied. */
sob_status sob_accounts_apply_result(sob_accounts *t, const sob_op_result *r);

#endif
