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

#endif
