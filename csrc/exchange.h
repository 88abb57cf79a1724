/* exchange.h: stellar-core's exact crossing math (src/transactions/OfferExchange.cpp).
 *
 * wheat = what the resting offer sells, sheep = what the taker pays; an offer's price n/d is
 * units of sheep per unit of wheat. Every product is taken in 128 bits, as core does.
 */
#ifndef SOB_EXCHANGE_H
#define SOB_EXCHANGE_H

#include "sob_common.h"

/* core RoundingType */
typedef enum sob_rounding {
    SOB_ROUND_NORMAL = 0,         /* manage_sell_offer / manage_buy_offer: 1% price-error bound */
    SOB_ROUND_STRICT_SEND = 1,    /* path_payment_strict_send */
    SOB_ROUND_STRICT_RECEIVE = 2  /* path_payment_strict_receive */
} sob_rounding;

typedef struct sob_exchange {
    int64_t wheat;   /* wheat received by the taker */
    int64_t sheep;   /* sheep sent by the taker */
    int wheat_stays; /* 1: the resting offer is the bigger side and stays */
} sob_exchange;

/* core exchangeV10 (with applyPriceErrorThresholds). All maxima >= 0, n, d > 0.
 * SOB_E_INVALID on bad arguments. */
sob_status sob_exchange_v10(int32_t n, int32_t d, int64_t max_wheat_send, int64_t max_wheat_receive,
                            int64_t max_sheep_send, int64_t max_sheep_receive, sob_rounding round,
                            sob_exchange *out);

/* core adjustOffer(price, maxWheatSend, maxSheepReceive): what the offer can really deliver. */
int64_t sob_adjust_offer(int32_t n, int32_t d, int64_t max_wheat_send, int64_t max_sheep_receive);

/* core exchangeWithPool, strict send: the pool (reserves `reserve_to` of what it receives,
 * `reserve_from` of what it pays) gets exactly `to_pool`; *ok = 0 when core would refuse
 * (y == 0, overflow, empty reserves). fee_bp in [0, 10000). */
sob_status sob_pool_strict_send(int64_t reserve_to, int64_t reserve_from, int32_t fee_bp, int64_t to_pool,
                                int64_t *from_pool, int *ok);

/* core exchangeWithPool, strict receive: exactly `from_pool` out; *to_pool what must go in. */
sob_status sob_pool_strict_receive(int64_t reserve_to, int64_t reserve_from, int32_t fee_bp, int64_t from_pool,
                                   int64_t *to_pool, int *ok);

/* ---- core's exact crossing with its exceptions (issue 12) ------------------------------------
 * Where stellar-core throws (releaseAssertOrThrow, std::runtime_error, std::overflow_error) the
 * network answers txINTERNAL_ERROR (TransactionFrame.cpp:2479), never a normal result. The checked
 * functions below report such a place as a sob_throw instead of returning numbers; every message
 * and source line is core's at commit a9b86132 (sob_throw_message / sob_throw_where). */
typedef enum sob_throw {
    SOB_THROW_NONE = 0,
    SOB_THROW_BIG_DIVIDE,             /* numeric.cpp:53   overflow while performing bigDivide */
    SOB_THROW_BIG_DIVIDE_128,         /* numeric.cpp:113  overflow while performing bigDivide */
    SOB_THROW_WHEAT_OUT_OF_BOUNDS,    /* OfferExchange.cpp:687 */
    SOB_THROW_SHEEP_OUT_OF_BOUNDS,    /* OfferExchange.cpp:691 */
    SOB_THROW_FAVORED_SHEEP,          /* OfferExchange.cpp:716 */
    SOB_THROW_FAVORED_WHEAT,          /* OfferExchange.cpp:720 */
    SOB_THROW_PRICE_ERROR_BOUND,      /* OfferExchange.cpp:746 */
    SOB_THROW_INVALID_SHEEP_SENT,     /* OfferExchange.cpp:762 */
    SOB_THROW_POOL_FEE,               /* OfferExchange.cpp:1251 */
    SOB_THROW_POOL_RESERVE,           /* OfferExchange.cpp:1258 */
    SOB_THROW_POOL_SEND_BOUNDED,      /* OfferExchange.cpp:1271 */
    SOB_THROW_POOL_RECEIVED_TOO_MUCH, /* OfferExchange.cpp:1317 */
    SOB_THROW_POOL_FROM_NEGATIVE,     /* OfferExchange.cpp:1322 */
    SOB_THROW_POOL_RECEIVE_BOUNDED,   /* OfferExchange.cpp:1336 */
    SOB_THROW_POOL_TO_NEGATIVE,       /* OfferExchange.cpp:1358 */
    SOB_THROW_POOL_RESERVES_UPDATE,   /* OfferExchange.cpp:1449/1464 */
    SOB_THROW_POOL_ROUNDING,          /* OfferExchange.cpp:1366  Invalid rounding type */
    SOB_THROW_ACCOUNT_STATE,          /* TransactionUtils.cpp:908  getMinBalance < 0 */
    SOB_THROW_AUTHORIZATION,          /* TransactionUtils.cpp:195 */
    SOB_THROW_SELL_NO_ACCOUNT,        /* OfferExchange.cpp:61 */
    SOB_THROW_BUY_NO_ACCOUNT,         /* OfferExchange.cpp:96 */
    SOB_THROW_LIAB_NO_ACCOUNT,        /* TransactionUtils.cpp:502 */
    SOB_THROW_LIAB_NO_TRUSTLINE,      /* TransactionUtils.cpp:511 */
    SOB_THROW_BUYING_LIABILITIES,     /* TransactionUtils.cpp:524/532 */
    SOB_THROW_SELLING_LIABILITIES,    /* TransactionUtils.cpp:544/552 */
    SOB_THROW_SAME_ASSET,             /* TransactionUtils.cpp:494 */
    SOB_THROW_SUBENTRIES,             /* SponsorshipUtils.cpp:552 */
    SOB_THROW_SELF_SPONSOR,           /* SponsorshipUtils.cpp:824 */
    SOB_THROW_NO_SELLER,              /* OfferExchange.cpp:1122 */
    SOB_THROW_SHEEP_BALANCE,          /* OfferExchange.cpp:1165/1172 */
    SOB_THROW_WHEAT_BALANCE,          /* OfferExchange.cpp:1183/1190 */
    SOB_THROW_CLAIMED_OVER_LIMIT,     /* ManageOfferOpFrameBase.cpp:425/434 */
    SOB_THROW_SOLD_OVER_BALANCE,      /* ManageOfferOpFrameBase.cpp:444/453 */
    SOB_THROW_SOURCE_DEBIT,           /* PathPaymentOpFrameBase.cpp:207 */
    SOB_THROW_ASSERT,                 /* any other releaseAssertOrThrow of core (unreachable from a
                                         ledger-valid state; kept so nothing is silently wrong) */
    SOB_THROW_COUNT
} sob_throw;

/* Core's message for a throw ("invalid amount of sheep sent", ...) and its source file:line. */
const char *sob_throw_message(sob_throw t);
const char *sob_throw_where(sob_throw t);

/* core exchangeV10 exactly (OfferExchange.cpp:551-781): exchangeV10WithoutPriceErrorThresholds,
 * then applyPriceErrorThresholds, including the places where core throws: *thrown is set (and
 * *out is zeroed) where core would throw. All maxima >= 0 and n, d > 0, else SOB_E_INVALID. */
sob_status sob_exchange_v10_checked(int32_t n, int32_t d, int64_t max_wheat_send, int64_t max_wheat_receive,
                                    int64_t max_sheep_send, int64_t max_sheep_receive, sob_rounding round,
                                    sob_exchange *out, sob_throw *thrown);

/* exchangeV10WithoutPriceErrorThresholds (OfferExchange.cpp:631-699): what an offer's liabilities
 * and ManageOffer's up-front checks use. Same contract as sob_exchange_v10_checked. */
sob_status sob_exchange_v10_raw(int32_t n, int32_t d, int64_t max_wheat_send, int64_t max_wheat_receive,
                                int64_t max_sheep_send, int64_t max_sheep_receive, sob_rounding round,
                                sob_exchange *out, sob_throw *thrown);

/* core exchangeWithPool's math (OfferExchange.cpp:1241-1368), exactly as core states it: strict
 * send requires max_receive == INT64_MAX, strict receive requires max_send == INT64_MAX (else a
 * throw, as in core); a fee outside [0, 10000) or a reserve <= 0 is a throw. *ok = 0 where core
 * returns false. Unlike sob_pool_strict_send/receive, a strict receive of 0 succeeds with 0 in
 * (core does), and the results are (to_pool, from_pool). SOB_E_INVALID for a negative amount or a
 * rounding other than the two strict ones. */
sob_status sob_pool_exchange_checked(int64_t reserve_to, int64_t max_send, int64_t reserve_from, int64_t max_receive,
                                     int32_t fee_bp, sob_rounding round, int64_t *to_pool, int64_t *from_pool,
                                     int *ok, sob_throw *thrown);

#endif
