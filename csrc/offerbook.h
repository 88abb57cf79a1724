/* offerbook.h: a per-offer (L3) book of one market, in stellar-core's crossing order.
 *
 * Each side is a sorted list of small chunks (the sortedcontainers layout): a short array of
 * chunk pointers, each chunk a sorted array of at most SOB_CHUNK_CAP offers. A chunk is allocated
 * for what it holds, in steps of SOB_CHUNK_STEP offers (a side of 5 offers takes 8 slots, not 64),
 * so memory follows the offers in small books too. An open-addressing hash maps offer id ->
 * (side, order key), so add / remove / update by id are O(log n) with memmoves of at most one
 * chunk; walking a side from its best offer is a linear scan.
 *
 * An owner that already indexes its offers by id (the whole-DEX book, dexbook.h, holds every offer
 * of every market in one index) can supply that index instead of the book's own hash
 * (sob_offerbook_set_locator), and can name sellers by their account keys directly
 * (sob_offerbook_set_account_sellers): the book then holds nothing per offer but the offer.
 *
 * Order (core src/ledger/LedgerTxnOfferSQL.cpp isBetterOffer): ascending double(n)/double(d) of
 * the offer's own price, ties by lower offer id. Sides follow the ledger: SOB_SIDE_ASK offers
 * sell base for counter, SOB_SIDE_BID offers sell counter for base; n/d is units of what the
 * offer buys per unit of what it sells; amount is in what it sells.
 */
#ifndef SOB_OFFERBOOK_H
#define SOB_OFFERBOOK_H

#include "exchange.h"
#include "sob_common.h"

#define SOB_CHUNK_CAP 64 /* offers a chunk holds at most */
#define SOB_CHUNK_STEP 4 /* a chunk grows and shrinks by this many offers */
#define SOB_MAX_OFFERS_TO_CROSS 1000 /* core TransactionUtils.cpp MAX_OFFERS_TO_CROSS */

typedef struct sob_offer {
    double key;      /* order key: double(n)/double(d), exactly as core computes it */
    int64_t id;      /* offer id, >= 0 */
    int64_t amount;  /* stroops of what the offer sells, > 0 */
    uint64_t seller; /* handle of the seller account (0 = unknown); see sob_sellers */
    int64_t adjusted; /* adjustOffer(n, d, amount), cached: core's preventive adjust in crossing */
    int32_t n, d;    /* the offer's own price, as given (not reduced) */
} sob_offer;

typedef struct sob_chunk {
    uint32_t len;
    uint32_t cap;  /* offers allocated at e: len <= cap <= SOB_CHUNK_CAP */
    sob_offer e[]; /* sorted by (key, id) */
} sob_chunk;

typedef struct sob_offer_side {
    sob_chunk **c; /* owned, each chunk owned; sorted; no empty chunk */
    size_t nc, cap;
    size_t count;  /* offers on this side */
} sob_offer_side;

typedef struct sob_id_slot {
    int64_t id;    /* -1 = empty */
    double key;    /* the offer's order key, to find it in its side */
    int32_t side;
} sob_id_slot;

/* Seller handles. The caller names each seller account by a handle it got from
 * sob_offerbook_seller_new() (0 = no seller) and keeps the handle -> account map itself; the book
 * counts the offers of each handle. When a handle's last offer leaves the book it is queued as
 * released: the caller takes it back with sob_offerbook_take_released() and forgets that account.
 * Handles are reused, so memory follows the sellers with offers in the book, not every seller
 * ever seen (a million add/remove with distinct sellers stays at one handle). Removing offers
 * never allocates: the queue and the free list have room for every handle. */
enum { SOB_SELLER_FREE = 0, SOB_SELLER_RESERVED = 1, SOB_SELLER_LIVE = 2, SOB_SELLER_RELEASED = 3 };

typedef struct sob_seller_slot {
    uint64_t account; /* the seller's account key (accounts.h), 0 = none; reset when the handle is new */
    uint32_t offers;  /* offers in the book with this handle */
    uint8_t state;    /* SOB_SELLER_* */
    uint8_t queued;   /* 1 while the handle is in the released queue */
} sob_seller_slot;

typedef struct sob_sellers {
    sob_seller_slot *slot; /* owned; indexed by handle; slot[0] unused */
    uint64_t *free_stack;  /* owned; handles in state FREE, room for cap */
    uint64_t *released;    /* owned; handles whose last offer left, room for cap */
    size_t cap;            /* entries of each array (handles are < cap) */
    size_t nfree, nreleased;
    size_t live;           /* handles with offers > 0 */
} sob_sellers;

/* An owner's id index (sob_offerbook_set_locator): 1 and where offer `id` sits if it is in the
 * book (its side and its order key, double(n)/double(d) of its price), 0 if it is not. The book
 * checks the answer (it finds exactly that id at that place, else the id is not in the book), so
 * an index shared by many books may answer for an offer of another book. */
typedef int (*sob_offer_locator)(const void *ctx, int64_t id, int *side, double *key);

typedef struct sob_offerbook {
    sob_offer_side side[2]; /* [SOB_SIDE_BID], [SOB_SIDE_ASK] */
    sob_id_slot *slots;     /* owned; power-of-two size, load <= 1/2; NULL with a locator */
    size_t mask;            /* size - 1 (0 when slots is NULL) */
    size_t used;            /* offers in the book */
    sob_sellers sellers;
    sob_offer_locator locate; /* NULL: the book's own hash (slots) */
    const void *locate_ctx;
    int account_sellers;      /* 1: an offer's seller is its account key (no handles) */
} sob_offerbook;

/* One offer crossed. Same layout as the Python side's "=qqqq". */
typedef struct sob_fill {
    int64_t offer_id;
    int64_t wheat;     /* what the offer gave */
    int64_t sheep;     /* what it got */
    int64_t remaining; /* its amount afterwards, 0 = removed */
} sob_fill;

typedef enum sob_sim_result {
    SOB_SIM_FILLED = 0,      /* core eOK */
    SOB_SIM_PRICE_LIMIT = 1, /* eFilterStopBadPrice */
    SOB_SIM_NO_OFFERS = 2,   /* ePartial: the side ran out */
    SOB_SIM_TOO_MANY = 3,    /* eCrossedTooMany */
    SOB_SIM_CROSS_SELF = 4   /* eFilterStopCrossSelf */
} sob_sim_result;

typedef struct sob_sim {
    int side;                /* the side crossed */
    sob_rounding round;
    int64_t max_sheep_send;  /* what the taker can pay */
    int64_t max_wheat_receive;
    int has_limit;           /* stop at offers priced above limit_n/limit_d (maxWheatPrice) */
    int32_t limit_n, limit_d;
    int passive;             /* ... or equal to it */
    uint64_t taker;          /* crossing an offer with this seller handle stops (0 = none) */
    size_t max_offers;
} sob_sim;

typedef struct sob_sim_out {
    int64_t sent;     /* sheep the taker paid */
    int64_t received; /* wheat it got */
    size_t nfills;
    int result;       /* sob_sim_result */
} sob_sim_out;

void sob_offerbook_init(sob_offerbook *b);
/* Free everything; the book is as sob_offerbook_init left it (own hash, seller handles). */
void sob_offerbook_free(sob_offerbook *b);
/* Remove every offer and forget every seller handle (none is queued as released). The modes set
 * below stay. */
void sob_offerbook_clear(sob_offerbook *b);

/* Owner-indexed mode, for an empty book (else SOB_E_INVALID): the book keeps no id hash and asks
 * `fn` where an id is. The owner must keep its index current: after an add it answers with the
 * offer's side and order key, after a remove it may answer anything (the book then finds nothing),
 * and after sob_offerbook_update changes an offer's price it answers with the new key. */
sob_status sob_offerbook_set_locator(sob_offerbook *b, sob_offer_locator fn, const void *ctx);
/* Account-seller mode, for an empty book (else SOB_E_INVALID): the `seller` of sob_offerbook_add
 * is the seller's account key itself (accounts.h; 0 = none) instead of a handle, and is what
 * sob_offerbook_offer_account gives; the handle functions below are then not used (seller_new and
 * seller_set_account answer SOB_E_INVALID, take_released 0) and no handle is counted. */
sob_status sob_offerbook_set_account_sellers(sob_offerbook *b);
/* The offer `id` if the book holds it at that side and order key (NULL otherwise), without asking
 * any index: what an owner's index uses to check a candidate. Valid until the book changes. */
const sob_offer *sob_offerbook_find_at(const sob_offerbook *b, int64_t id, int side, double key);

/* Offer ids are int64 >= 0 (Horizon's ids, and its synthetic ones above 2^62); any other id is
 * SOB_E_INVALID for add and SOB_E_NOT_FOUND for the lookups. `seller` is 0 or a handle from
 * sob_offerbook_seller_new() that was not taken back as released (else SOB_E_INVALID). */
sob_status sob_offerbook_add(sob_offerbook *b, int64_t id, int side, int32_t n, int32_t d, int64_t amount,
                             uint64_t seller);
/* `removed` (may be NULL) receives the offer; `side` (may be NULL) its side. */
sob_status sob_offerbook_remove(sob_offerbook *b, int64_t id, sob_offer *removed, int *side);
sob_status sob_offerbook_get(const sob_offerbook *b, int64_t id, sob_offer *out, int *side);
/* Set the amount (> 0) and, if n > 0, the price (re-sorted when the order key changes). */
sob_status sob_offerbook_update(sob_offerbook *b, int64_t id, int64_t amount, int32_t n, int32_t d);
/* A trade took `sold` (0 < sold <= amount); the rest goes through adjustOffer; 0 removes. */
sob_status sob_offerbook_apply_fill(sob_offerbook *b, int64_t id, int64_t sold, int64_t *left);

size_t sob_offerbook_count(const sob_offerbook *b, int side);
/* Copy up to `max` offers of a side, from the `start`-th best, best first. Returns the count. */
size_t sob_offerbook_copy(const sob_offerbook *b, int side, size_t start, size_t max, sob_offer *out);

/* core convertWithOffers over one side, without changing the book. At most
 * min(p->max_offers, sob_offerbook_count(b, p->side)) fills are written: `fills` must hold that
 * many (max_offers may be anything up to SIZE_MAX; bound the buffer by the side's size). */
sob_status sob_offerbook_simulate(const sob_offerbook *b, const sob_sim *p, sob_fill *fills, sob_sim_out *out);
/* Apply fills produced by simulate on the same, unchanged book. Every fill is checked first (the
 * offer exists, 0 <= remaining <= its amount, no offer twice): on SOB_E_NOT_FOUND / SOB_E_INVALID
 * (or SOB_E_NOMEM) nothing changed. */
sob_status sob_offerbook_apply_fills(sob_offerbook *b, const sob_fill *fills, size_t k);

/* A handle for a new seller (reused from released ones first). It holds no offer yet: give it to
 * sob_offerbook_add, or back with sob_offerbook_seller_drop if the add failed. */
sob_status sob_offerbook_seller_new(sob_offerbook *b, uint64_t *handle);
/* Give back a handle that holds no offer (a no-op for one that does, or an unknown one). */
void sob_offerbook_seller_drop(sob_offerbook *b, uint64_t handle);
/* Take one released handle (its last offer left the book): 1 and *handle, or 0 when none is left.
 * The handle is free again afterwards; the caller forgets the account it stood for. */
int sob_offerbook_take_released(sob_offerbook *b, uint64_t *handle);
/* The account key (accounts.h) a seller handle stands for: what crossing uses to find the
 * seller's funds in an accounts table and to recognise the taker's own offers (CROSS_SELF) in
 * the operations of dex.h. A new handle has key 0 (no account: unknown, fully funded, never the
 * taker). SOB_E_INVALID for a handle that is 0, free or out of range. */
sob_status sob_offerbook_seller_set_account(sob_offerbook *b, uint64_t handle, uint64_t account);
/* The key of a handle (0 for none, or for a handle that is not in use). */
uint64_t sob_offerbook_seller_account(const sob_offerbook *b, uint64_t handle);
/* The key of an offer's seller (0 for none): the lookup crossing does. */
static inline uint64_t sob_offerbook_offer_account(const sob_offerbook *b, const sob_offer *o) {
    if (b->account_sellers) return o->seller;
    return (o->seller && o->seller < b->sellers.cap) ? b->sellers.slot[o->seller].account : 0;
}

/* Seller handles holding at least one offer. */
size_t sob_offerbook_sellers_live(const sob_offerbook *b);

/* Every invariant, O(n): SOB_OK or SOB_E_INVALID. */
sob_status sob_offerbook_check(const sob_offerbook *b);

#endif
