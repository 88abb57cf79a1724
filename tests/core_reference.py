"""An independent reference of stellar-core's DEX: offer crossing, pools and the five DEX operations.

Transliterated from stellar-core at commit a9b8613218e141ddb89d621e5f04d4c75a149d36 ("loosen process
limit (#5406)"; CURRENT_LEDGER_PROTOCOL_VERSION = 28, src/main/Config.cpp:34). Every rule below names
the file, function and lines it comes from (all paths under src/). It was written from core's source
only: it imports nothing from stellar_ob and was not checked against stellar_ob while being written.
Pure Python, integers only (Python ints are exact; every place where core's 64- or 128-bit
arithmetic can overflow is checked explicitly, the way core checks it).

What it models
--------------
* A ledger (``Ledger``): the header fields that matter (``protocol`` = ledgerVersion, ``base_reserve``,
  ``id_pool``, the DISABLE_LIQUIDITY_POOL_TRADING flag), accounts (native balance, numSubEntries,
  numSponsoring/numSponsored, liabilities, flags), trust lines (balance, limit, liabilities,
  AUTHORIZED / AUTHORIZED_TO_MAINTAIN_LIABILITIES flags), offers (seller, id, selling, buying, amount,
  price n/d, PASSIVE flag, sponsor) and constant-product pools (reserves, 30 bps fee, shares).
* Crossing exactly as core: exchangeV10, applyPriceErrorThresholds (1% bound; "can favor wheat" for
  path payments), adjustOffer, crossOfferV10 with the seller's canSellAtMost / canBuyAtMost,
  liabilities released and re-acquired, offers removed with their sponsorship, convertWithOffers
  (offer order, filters, the MAX_OFFERS_TO_CROSS budget), the pool math and the per-hop venue choice
  (maybeConvertWithOffers / convertWithOffersAndPools), the work budget shared across path hops.
* ManageSellOffer, ManageBuyOffer, CreatePassiveSellOffer (create, update, delete),
  PathPaymentStrictSend and PathPaymentStrictReceive (0 to 5 intermediate assets), each returning
  core's result code (the XDR enum names, e.g. ``MANAGE_SELL_OFFER_UNDERFUNDED``,
  ``PATH_PAYMENT_STRICT_SEND_TOO_FEW_OFFERS``, or the top-level ``opEXCEEDED_WORK_LIMIT``,
  ``opTOO_MANY_SUBENTRIES``, ``opNOT_SUPPORTED``), the amounts, the claim atoms, the taker's resulting
  offer and the new ledger.
* Where core throws (``releaseAssertOrThrow``, ``std::runtime_error``, ``std::overflow_error``), this
  module raises ``CoreWouldThrow`` carrying core's message and source line. On the network an
  exception while applying operations makes the transaction fail with txINTERNAL_ERROR
  (TransactionFrame.cpp:2479); it is never a normal result.

The "unknown account" mode (``Ledger.unknown_accounts_funded``, default True)
------------------------------------------------------------------------------
stellar_ob's books mostly do not know the sellers' balances. Its documented model is "every seller is
fully funded with unlimited receive headroom". Here an account id that is not in ``Ledger.accounts``
is such an *unknown* account: for every asset it behaves like the asset's issuer does in core
(TrustLineWrapper.cpp:296-373 IssuerImpl: exists, authorized, available balance INT64_MAX, max
receive INT64_MAX, balance and liability changes are no-ops); for native its available balance and
receive headroom are INT64_MAX. Its offers carry no liabilities and removing them changes no
subentry counts. This applies to sellers, to the taker (source) and to the destination alike. With
``unknown_accounts_funded=False`` a missing account is missing as in core: a crossed seller throws
"invalid database state" (OfferExchange.cpp:1120-1124), a missing destination gives NO_DESTINATION.
A *known* account (in ``accounts``) is exact: it needs a trust line for every non-native asset it
holds, unless it is the issuer (then IssuerImpl applies, as in core).

Protocol gates (protocol >= 10 only; older protocols raise ValueError)
----------------------------------------------------------------------
Every ``protocolVersionIsBefore`` / ``protocolVersionStartsFrom`` in the code paths modelled here that
changes a result code or an amount for protocol >= 10:

* V_11 ``FIRST_PROTOCOL_SUPPORTING_OPERATION_LIMITS`` (TransactionUtils.h:84-85): the
  MAX_OFFERS_TO_CROSS budget applies to ManageOffer (ManageOfferOpFrameBase.cpp:348-354) and to
  PathPaymentStrictReceive (PathPaymentStrictReceiveOpFrame.cpp:92-97); before 11 it is INT64_MAX
  (OfferExchange.cpp:1565). Also the 1000-subentry limit on a new offer
  (SponsorshipUtils.cpp:44-56 tooManyNumSubEntries -> opTOO_MANY_SUBENTRIES).
* V_11 ManageBuyOffer exists (ManageBuyOfferOpFrame.cpp:33-38; before: opNOT_SUPPORTED,
  OperationFrame.cpp:295-300).
* V_11 deleting offer id 0 is MALFORMED, before it is NOT_FOUND (ManageOfferOpFrameBase.cpp:620-633).
* V_11 a native destination that would overflow INT64_MAX gives LINE_FULL, before MALFORMED
  (PathPaymentOpFrameBase.cpp:251-264).
* V_12 PathPaymentStrictSend exists (PathPaymentStrictSendOpFrame.cpp:26-31).
* V_13 the issuer of a non-native asset must exist before 13: SELL_NO_ISSUER / BUY_NO_ISSUER
  (ManageOfferOpFrameBase.cpp:51-59, 82-90) and NO_ISSUER (PathPaymentOpFrameBase.cpp:76-91).
* V_14 sponsorship counts enter the minimum balance (TransactionUtils.cpp:870-884), and a new
  offer's subentry/reserve is taken at the start of ManageOffer (ManageOfferOpFrameBase.cpp:292-326,
  548-555) instead of in computeOfferExchangeParameters and at the end (118-146, 495-521).
* V_15 a negative offer id is MALFORMED (ManageOfferOpFrameBase.cpp:635-640); before, it is not found.
* V_18 pools trade (OfferExchange.cpp:1390-1395); the zero-budget fast fail of convertWithOffers
  (OfferExchange.cpp:1502-1511); claim atoms become CLAIM_ATOM_TYPE_ORDER_BOOK instead of
  CLAIM_ATOM_TYPE_V0 (TransactionUtils.cpp:1881-1900); numSponsoring + numSubEntries + 1 must fit
  in uint32 (SponsorshipUtils.cpp:20-28).
* V_27 when a hop uses the pool, the book offers the walk crossed count against the budget and
  ``>=`` the remaining budget is EXCEEDED_WORK_LIMIT (OfferExchange.cpp:1740-1751).
* Gates for protocol < 10 (V_3, V_8, V_9 and the pre-V_10 branches) are not modelled.

Left out (see tests/CORE_REFERENCE.md): CAP-77 frozen ledger keys (eSkipFrozen, a network config
setting, OfferExchange.cpp:1546-1559), sponsoring the taker's new offer through
BeginSponsoringFutureReserves, the production-network special case for offer 289733046 at ledger
34793621 (OfferExchange.cpp:1522-1534), muxed accounts, events, fees and sequence numbers.
Pool ids are the sorted asset pair, not the SHA-256 of LiquidityPoolParameters (getPoolID,
OfferExchange.cpp:1370-1379); the order used to pick reserveA/reserveB follows the XDR Asset order
for type and code, then compares issuers as strings.
"""

from __future__ import annotations

import copy
import dataclasses
from dataclasses import dataclass, field
from typing import Callable, Optional, Sequence

CORE_COMMIT = "a9b8613218e141ddb89d621e5f04d4c75a149d36"
CORE_CURRENT_PROTOCOL = 28  # src/main/Config.cpp:34 at CORE_COMMIT (not mainnet's protocol)

INT32_MAX = 2**31 - 1
INT64_MAX = 2**63 - 1
UINT32_MAX = 2**32 - 1
UINT64_MAX = 2**64 - 1
UINT128_MAX = 2**128 - 1

MAX_OFFERS_TO_CROSS = 1000  # TransactionUtils.cpp:36
ACCOUNT_SUBENTRY_LIMIT = 1000  # TransactionUtils.cpp:35
LIQUIDITY_POOL_FEE_V18 = 30  # XDR Stellar-ledger-entries.x; OfferExchange.cpp:1414
MAX_BPS = 10000  # OfferExchange.cpp:1248
MAX_PATH_LENGTH = 5  # xdr::xvector<Asset, 5> (PathPaymentOpFrameBase.h:56)

# TrustLineFlags / OfferEntryFlags (XDR)
AUTHORIZED_FLAG = 1
AUTHORIZED_TO_MAINTAIN_LIABILITIES_FLAG = 2
TRUSTLINE_AUTH_FLAGS = AUTHORIZED_FLAG | AUTHORIZED_TO_MAINTAIN_LIABILITIES_FLAG  # TransactionUtils.h:106-107
PASSIVE_FLAG = 1

NATIVE = "native"

# RoundingType (OfferExchange.h:208-213)
NORMAL = "NORMAL"
STRICT_SEND = "PATH_PAYMENT_STRICT_SEND"
STRICT_RECEIVE = "PATH_PAYMENT_STRICT_RECEIVE"

# ConvertResult (OfferExchange.h:299-306)
eOK = "eOK"
ePartial = "ePartial"
eFilterStopBadPrice = "eFilterStopBadPrice"
eFilterStopCrossSelf = "eFilterStopCrossSelf"
eCrossedTooMany = "eCrossedTooMany"

ROUND_DOWN = "ROUND_DOWN"
ROUND_UP = "ROUND_UP"

CLAIM_ATOM_TYPE_V0 = "CLAIM_ATOM_TYPE_V0"
CLAIM_ATOM_TYPE_ORDER_BOOK = "CLAIM_ATOM_TYPE_ORDER_BOOK"
CLAIM_ATOM_TYPE_LIQUIDITY_POOL = "CLAIM_ATOM_TYPE_LIQUIDITY_POOL"

MANAGE_OFFER_CREATED = "MANAGE_OFFER_CREATED"
MANAGE_OFFER_UPDATED = "MANAGE_OFFER_UPDATED"
MANAGE_OFFER_DELETED = "MANAGE_OFFER_DELETED"

Price = tuple  # (n, d), two int32


class CoreWouldThrow(Exception):
    """stellar-core raises here (the transaction would fail with txINTERNAL_ERROR)."""

    def __init__(self, message: str, where: str) -> None:
        super().__init__(f"{message} [{where}]")
        self.message = message
        self.where = where


def _require(cond: bool, message: str, where: str) -> None:
    if not cond:
        raise CoreWouldThrow(message, where)


# ---------------------------------------------------------------------------------------------
# numeric.cpp
# ---------------------------------------------------------------------------------------------


def big_multiply(a: int, b: int) -> int:
    """bigMultiply (util/numeric.cpp:126-131): a*b of two non-negative int64 as uint128."""
    _require(a >= 0 and b >= 0, "releaseAssertOrThrow((a >= 0) && (b >= 0))", "numeric.cpp:129")
    return a * b


def _round_div(x: int, c: int, rounding: str) -> int:
    return x // c if rounding == ROUND_DOWN else (x + c - 1) // c


def big_divide(a: int, b: int, c: int, rounding: str) -> Optional[int]:
    """bigDivide (numeric.cpp:15-29) + bigDivideUnsigned (31-45): A*B/C, None if > INT64_MAX."""
    _require(a >= 0 and b >= 0 and c > 0, "releaseAssertOrThrow((A >= 0) && (B >= 0) && (C > 0))",
             "numeric.cpp:19")
    x = _round_div(a * b, c, rounding)
    return x if x <= INT64_MAX else None


def big_divide_or_throw(a: int, b: int, c: int, rounding: str) -> int:
    """bigDivideOrThrow (numeric.cpp:47-56)."""
    r = big_divide(a, b, c, rounding)
    if r is None:
        raise CoreWouldThrow("overflow while performing bigDivide", "numeric.cpp:53")
    return r


def big_divide_128(a: int, b: int, rounding: str) -> Optional[int]:
    """bigDivide128 (numeric.cpp:58-71) + bigDivideUnsigned128 (73-105): a/B for a uint128."""
    _require(b > 0, "releaseAssertOrThrow(B > 0)", "numeric.cpp:61")
    if rounding == ROUND_UP and a > UINT128_MAX - (b - 1):
        return None
    x = _round_div(a, b, rounding)
    return x if x <= INT64_MAX else None


def big_divide_or_throw_128(a: int, b: int, rounding: str) -> int:
    """bigDivideOrThrow128 (numeric.cpp:107-116)."""
    r = big_divide_128(a, b, rounding)
    if r is None:
        raise CoreWouldThrow("overflow while performing bigDivide", "numeric.cpp:113")
    return r


def huge_divide(a: int, big_b: int, big_c: int, rounding: str) -> Optional[int]:
    """hugeDivide (numeric.cpp:285-332): a*B/C with a int32, B and C uint128; None if > INT64_MAX."""
    _require(a >= 0, "releaseAssertOrThrow(a >= 0)", "numeric.cpp:292")
    _require(big_c != 0, "releaseAssertOrThrow(C != 0ul)", "numeric.cpp:293")
    _require(big_c <= INT32_MAX * INT64_MAX, "releaseAssertOrThrow(C <= i32_max * i64_max)", "numeric.cpp:294")
    q, r = divmod(big_b, big_c)
    if q > INT64_MAX:
        return None
    res = a * q + _round_div(a * r, big_c, rounding)
    return res if res <= INT64_MAX else None


def add_balance_int64(balance: int, delta: int, max_balance: int = INT64_MAX) -> Optional[int]:
    """addBalance(int64_t&, delta, maxBalance) (util/types.cpp:281-307): the new value or None."""
    _require(balance >= 0, "releaseAssertOrThrow(balance >= 0)", "types.cpp:284")
    _require(max_balance >= 0, "releaseAssertOrThrow(maxBalance >= 0)", "types.cpp:285")
    if delta == 0:
        return balance
    if delta < -balance:
        return None
    if max_balance - balance < delta:
        return None
    return balance + delta


def price_gt(a: Price, b: Price) -> bool:
    """operator>(Price, Price) (util/types.cpp:335-347): a.n*b.d > a.d*b.n in uint128."""
    _require(min(a[0], a[1], b[0], b[1]) >= 0, "releaseAssertOrThrow(price >= 0)", "types.cpp:338")
    return a[0] * b[1] > a[1] * b[0]


def price_ge(a: Price, b: Price) -> bool:
    """operator>=(Price, Price) (util/types.cpp:321-333)."""
    _require(min(a[0], a[1], b[0], b[1]) >= 0, "releaseAssertOrThrow(price >= 0)", "types.cpp:324")
    return a[0] * b[1] >= a[1] * b[0]


# ---------------------------------------------------------------------------------------------
# OfferExchange.cpp: exchangeV10, price error thresholds, adjustOffer, pool math
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ExchangeResultV10:
    """ExchangeResultV10 (OfferExchange.h:239-244)."""

    wheat_received: int
    sheep_send: int
    wheat_stays: bool


def check_price_error_bound(price: Price, wheat_receive: int, sheep_send: int, can_favor_wheat: bool) -> bool:
    """checkPriceErrorBound (OfferExchange.cpp:186-216): |100*n*W - 100*d*S| <= n*W."""
    n, d = price
    err_n = 100 * n
    err_d = 100 * d
    lhs = big_multiply(err_n, wheat_receive)
    rhs = big_multiply(err_d, sheep_send)
    if can_favor_wheat and rhs > lhs:
        return True
    abs_diff = lhs - rhs if lhs > rhs else rhs - lhs
    cap = big_multiply(n, wheat_receive)
    return abs_diff <= cap


def _calculate_offer_value(price_n: int, price_d: int, max_send: int, max_receive: int) -> int:
    """calculateOfferValue (OfferExchange.cpp:218-225)."""
    return min(big_multiply(max_send, price_n), big_multiply(max_receive, price_d))


def exchange_v10_without_price_error_thresholds(price: Price, max_wheat_send: int, max_wheat_receive: int,
                                                max_sheep_send: int, max_sheep_receive: int,
                                                rounding: str) -> ExchangeResultV10:
    """exchangeV10WithoutPriceErrorThresholds (OfferExchange.cpp:631-699)."""
    n, d = price
    wheat_value = _calculate_offer_value(n, d, max_wheat_send, max_sheep_receive)
    sheep_value = _calculate_offer_value(d, n, max_sheep_send, max_wheat_receive)
    wheat_stays = wheat_value > sheep_value
    if wheat_stays:
        if rounding == STRICT_SEND:  # l.648-652
            wheat_receive = big_divide_or_throw_128(sheep_value, n, ROUND_DOWN)
            sheep_send = min(max_sheep_send, max_sheep_receive)
        elif n > d or rounding == STRICT_RECEIVE:  # l.653-659: wheat is more valuable
            wheat_receive = big_divide_or_throw_128(sheep_value, n, ROUND_DOWN)
            sheep_send = big_divide_or_throw(wheat_receive, n, d, ROUND_UP)
        else:  # l.660-665: sheep is more valuable
            sheep_send = big_divide_or_throw_128(sheep_value, d, ROUND_DOWN)
            wheat_receive = big_divide_or_throw(sheep_send, d, n, ROUND_DOWN)
    else:
        if n > d:  # l.669-674
            wheat_receive = big_divide_or_throw_128(wheat_value, n, ROUND_DOWN)
            sheep_send = big_divide_or_throw(wheat_receive, n, d, ROUND_DOWN)
        else:  # l.675-680
            sheep_send = big_divide_or_throw_128(wheat_value, d, ROUND_DOWN)
            wheat_receive = big_divide_or_throw(sheep_send, d, n, ROUND_UP)
    # l.683-692: "Neither of these should ever throw."
    if wheat_receive < 0 or wheat_receive > min(max_wheat_receive, max_wheat_send):
        raise CoreWouldThrow("wheatReceive out of bounds", "OfferExchange.cpp:687")
    if sheep_send < 0 or sheep_send > min(max_sheep_receive, max_sheep_send):
        raise CoreWouldThrow("sheepSend out of bounds", "OfferExchange.cpp:691")
    return ExchangeResultV10(wheat_receive, sheep_send, wheat_stays)


def apply_price_error_thresholds(price: Price, wheat_receive: int, sheep_send: int, wheat_stays: bool,
                                 rounding: str) -> ExchangeResultV10:
    """applyPriceErrorThresholds (OfferExchange.cpp:701-781)."""
    n, d = price
    if wheat_receive > 0 and sheep_send > 0:
        wheat_receive_value = big_multiply(wheat_receive, n)
        sheep_send_value = big_multiply(sheep_send, d)
        if wheat_stays and sheep_send_value < wheat_receive_value:
            raise CoreWouldThrow("favored sheep when wheat stays", "OfferExchange.cpp:716")
        if not wheat_stays and sheep_send_value > wheat_receive_value:
            raise CoreWouldThrow("favored wheat when sheep stays", "OfferExchange.cpp:720")
        if rounding == NORMAL:  # l.723-732: more than 1% off -> no trade
            if not check_price_error_bound(price, wheat_receive, sheep_send, False):
                sheep_send = 0
                wheat_receive = 0
        else:  # l.733-748
            if not check_price_error_bound(price, wheat_receive, sheep_send, True):
                raise CoreWouldThrow("exceeded price error bound", "OfferExchange.cpp:746")
    else:
        if rounding == STRICT_SEND:  # l.754-764
            if sheep_send == 0:
                raise CoreWouldThrow("invalid amount of sheep sent", "OfferExchange.cpp:762")
        else:  # l.765-772
            wheat_receive = 0
            sheep_send = 0
    return ExchangeResultV10(wheat_receive, sheep_send, wheat_stays)


def exchange_v10(price: Price, max_wheat_send: int, max_wheat_receive: int, max_sheep_send: int,
                 max_sheep_receive: int, rounding: str) -> ExchangeResultV10:
    """exchangeV10 (OfferExchange.cpp:551-562)."""
    before = exchange_v10_without_price_error_thresholds(price, max_wheat_send, max_wheat_receive,
                                                         max_sheep_send, max_sheep_receive, rounding)
    return apply_price_error_thresholds(price, before.wheat_received, before.sheep_send, before.wheat_stays,
                                        rounding)


def adjust_offer(price: Price, max_wheat_send: int, max_sheep_receive: int) -> int:
    """adjustOffer(Price, maxWheatSend, maxSheepReceive) (OfferExchange.cpp:921-928)."""
    return exchange_v10(price, max_wheat_send, INT64_MAX, INT64_MAX, max_sheep_receive, NORMAL).wheat_received


def offer_liabilities(price: Price, amount: int) -> tuple[int, int]:
    """(selling, buying) liabilities of an offer: getOfferSellingLiabilities / getOfferBuyingLiabilities
    (TransactionUtils.cpp:939-985; also ManageSellOfferOpFrame.cpp:57-73)."""
    r = exchange_v10_without_price_error_thresholds(price, amount, INT64_MAX, INT64_MAX, INT64_MAX, NORMAL)
    return r.wheat_received, r.sheep_send


def exchange_with_pool_math(reserves_to_pool: int, max_send_to_pool: int, reserves_from_pool: int,
                            max_receive_from_pool: int, fee_bps: int, rounding: str) -> Optional[tuple[int, int]]:
    """exchangeWithPool, the math (OfferExchange.cpp:1241-1368). Returns (toPool, fromPool) or None."""
    if fee_bps < 0 or MAX_BPS <= fee_bps:
        raise CoreWouldThrow("Liquidity pool fee out of range", "OfferExchange.cpp:1251")
    if reserves_to_pool <= 0 or reserves_from_pool <= 0:
        raise CoreWouldThrow("non-positive reserve in exchangeWithPool", "OfferExchange.cpp:1258")
    if rounding == STRICT_SEND:  # l.1263-1328
        if max_receive_from_pool != INT64_MAX:
            raise CoreWouldThrow("strict send with bounded receive?", "OfferExchange.cpp:1271")
        max_receive_from_pool = reserves_from_pool
        if max_send_to_pool > INT64_MAX - reserves_to_pool:
            return None
        to_pool = max_send_to_pool
        denominator = big_multiply(MAX_BPS, reserves_to_pool) + big_multiply(MAX_BPS - fee_bps, to_pool)
        from_pool = huge_divide(MAX_BPS - fee_bps, big_multiply(reserves_from_pool, to_pool), denominator,
                                ROUND_DOWN)
        if from_pool is not None and from_pool > max_receive_from_pool:
            raise CoreWouldThrow("received too much from pool", "OfferExchange.cpp:1317")
        if from_pool is not None and from_pool < 0:
            raise CoreWouldThrow("fromPool is negative", "OfferExchange.cpp:1322")
        if from_pool is None or from_pool == 0:
            return None
        return to_pool, from_pool
    if rounding == STRICT_RECEIVE:  # l.1329-1364
        if max_send_to_pool != INT64_MAX:
            raise CoreWouldThrow("strict receive with bounded send?", "OfferExchange.cpp:1336")
        max_send_to_pool = INT64_MAX - reserves_to_pool
        if max_receive_from_pool >= reserves_from_pool:
            return None
        from_pool = max_receive_from_pool
        to_pool = huge_divide(MAX_BPS, big_multiply(reserves_to_pool, from_pool),
                              big_multiply(reserves_from_pool - from_pool, MAX_BPS - fee_bps), ROUND_UP)
        if to_pool is not None and to_pool < 0:
            raise CoreWouldThrow("toPool is negative", "OfferExchange.cpp:1358")
        if to_pool is None or to_pool > max_send_to_pool:
            return None
        return to_pool, from_pool
    raise CoreWouldThrow("Invalid rounding type", "OfferExchange.cpp:1366")


def is_better_offer(a: "Offer", b: "Offer") -> bool:
    """isBetterOffer (ledger/LedgerTxnOfferSQL.cpp:167-184): lower double(n)/double(d), then lower id.
    Python's int/int true division is the correctly rounded IEEE quotient, like double(n)/double(d)."""
    pa, pb = a.n / a.d, b.n / b.d
    if pa < pb:
        return True
    if pa == pb:
        return a.offer_id < b.offer_id
    return False


def offer_sort_key(o: "Offer") -> tuple[float, int]:
    """The total order isBetterOffer induces (a key: smaller is better)."""
    return (o.n / o.d, o.offer_id)


# ---------------------------------------------------------------------------------------------
# Assets
# ---------------------------------------------------------------------------------------------


def _check_asset(asset: object) -> str:
    if not isinstance(asset, str):
        raise ValueError(f"asset must be a str, got {type(asset).__name__}")
    if asset == NATIVE:
        return asset
    code, sep, issuer = asset.partition(":")
    if not sep or not issuer or not (1 <= len(code) <= 12) or not code.isascii() or not code.isalnum():
        raise ValueError(f"asset must be 'native' or 'CODE:ISSUER' with a 1-12 alphanumeric code: {asset!r}")
    return asset


def asset_issuer(asset: str) -> Optional[str]:
    return None if asset == NATIVE else asset.partition(":")[2]


def is_issuer(account_id: str, asset: str) -> bool:
    """isIssuer (util/types.h:69)."""
    return asset != NATIVE and asset_issuer(asset) == account_id


def asset_order_key(asset: str) -> tuple:
    """XDR Asset order for type (native < alphanum4 < alphanum12) and the zero-padded code; issuers
    compare as strings here (core compares the raw public keys)."""
    if asset == NATIVE:
        return (0, b"", "")
    code, _, issuer = asset.partition(":")
    kind = 1 if len(code) <= 4 else 2
    width = 4 if kind == 1 else 12
    return (kind, code.encode().ljust(width, b"\0"), issuer)


def pool_key(x: str, y: str) -> tuple[str, str]:
    """The pool for a pair: (assetA, assetB) with assetA < assetB, as getPoolID orders them
    (OfferExchange.cpp:1370-1379). Used as the pool's id in claim atoms."""
    return (x, y) if asset_order_key(x) < asset_order_key(y) else (y, x)


def _check_int(name: str, v: object, lo: int, hi: int) -> int:
    if type(v) is not int:  # bool is excluded on purpose
        raise ValueError(f"{name} must be an int, got {type(v).__name__}")
    if not lo <= v <= hi:
        raise ValueError(f"{name}={v} outside [{lo}, {hi}] (not representable in XDR)")
    return v


def _check_int64(name: str, v: object) -> int:
    return _check_int(name, v, -(2**63), INT64_MAX)


def _check_int32(name: str, v: object) -> int:
    return _check_int(name, v, -(2**31), INT32_MAX)


# ---------------------------------------------------------------------------------------------
# Ledger entries and the ledger
# ---------------------------------------------------------------------------------------------


@dataclass
class Account:
    """AccountEntry fields that matter here. num_sub_entries is taken verbatim (it already counts the
    account's trust lines and offers in a real ledger); liabilities likewise."""

    account_id: str
    balance: int
    num_sub_entries: int = 0
    num_sponsoring: int = 0
    num_sponsored: int = 0
    buying_liabilities: int = 0
    selling_liabilities: int = 0
    flags: int = 0


@dataclass
class TrustLine:
    account_id: str
    asset: str
    balance: int
    limit: int
    buying_liabilities: int = 0
    selling_liabilities: int = 0
    flags: int = AUTHORIZED_FLAG


@dataclass
class Offer:
    """OfferEntry: price n/d = units of `buying` per unit of `selling`; amount in `selling`."""

    seller: str
    offer_id: int
    selling: str
    buying: str
    amount: int
    n: int
    d: int
    flags: int = 0
    sponsor: Optional[str] = None  # LedgerEntryExtensionV1.sponsoringID

    @property
    def price(self) -> Price:
        return (self.n, self.d)

    @property
    def passive(self) -> bool:
        return bool(self.flags & PASSIVE_FLAG)


@dataclass
class Pool:
    """LiquidityPoolEntry, constant product (asset_a < asset_b as in getPoolID)."""

    asset_a: str
    asset_b: str
    reserve_a: int
    reserve_b: int
    total_pool_shares: int = 0
    pool_shares_trust_line_count: int = 0
    fee_bps: int = LIQUIDITY_POOL_FEE_V18


@dataclass
class Ledger:
    """The state the operations read and write. Operations never mutate their input ledger: they
    return a new one (``OpResult.ledger``)."""

    protocol: int
    base_reserve: int = 5_000_000
    id_pool: int = 0
    max_offers_to_cross: int = MAX_OFFERS_TO_CROSS  # lowered in core's tests by TempReduceLimitsForTesting
    account_subentry_limit: int = ACCOUNT_SUBENTRY_LIMIT
    pool_trading_disabled: bool = False  # LedgerHeader DISABLE_LIQUIDITY_POOL_TRADING_FLAG
    unknown_accounts_funded: bool = True
    accounts: dict = field(default_factory=dict)
    trustlines: dict = field(default_factory=dict)  # (account_id, asset) -> TrustLine
    offers: dict = field(default_factory=dict)  # offer_id -> Offer
    pools: dict = field(default_factory=dict)  # pool_key -> Pool

    def __post_init__(self) -> None:
        _check_int("protocol", self.protocol, 0, UINT32_MAX)
        if self.protocol < 10:
            raise ValueError("protocols before 10 are not modelled")
        _check_int("base_reserve", self.base_reserve, 0, UINT32_MAX)
        _check_int("max_offers_to_cross", self.max_offers_to_cross, 0, INT64_MAX)

    # -- building a ledger (verbatim entries, as a snapshot would give them) -------------------
    def set_account(self, account_id: str, balance: int, **kw) -> Account:
        _check_int64("balance", balance)
        acc = Account(account_id, balance, **kw)
        self.accounts[account_id] = acc
        return acc

    def set_trustline(self, account_id: str, asset: str, balance: int, limit: int, **kw) -> TrustLine:
        _check_asset(asset)
        if asset == NATIVE or is_issuer(account_id, asset):
            raise ValueError("no trust line for native or for the asset's own issuer")
        tl = TrustLine(account_id, asset, balance, limit, **kw)
        self.trustlines[(account_id, asset)] = tl
        return tl

    def add_offer(self, seller: str, offer_id: int, selling: str, buying: str, amount: int, n: int, d: int,
                  *, passive: bool = False, sponsor: Optional[str] = None) -> Offer:
        """Store an offer verbatim (liabilities and subentries of a known seller are NOT changed: a
        snapshot's entries already include them). See ``place_offer`` to create one as core would."""
        _check_asset(selling)
        _check_asset(buying)
        _check_int("offer_id", offer_id, 1, INT64_MAX)
        _check_int("amount", amount, 1, INT64_MAX)
        _check_int("n", n, 1, INT32_MAX)
        _check_int("d", d, 1, INT32_MAX)
        if selling == buying:
            raise ValueError("an offer must sell and buy different assets")
        if offer_id in self.offers:
            raise ValueError(f"offer id {offer_id} exists")
        o = Offer(seller, offer_id, selling, buying, amount, n, d, PASSIVE_FLAG if passive else 0, sponsor)
        self.offers[offer_id] = o
        self.id_pool = max(self.id_pool, offer_id)
        return o

    def place_offer(self, seller: str, offer_id: int, selling: str, buying: str, amount: int, n: int, d: int,
                    *, passive: bool = False) -> Optional[Offer]:
        """Put a resting offer in the book the way ManageOffer leaves one, without crossing: for a
        known seller the subentry is counted first (as from protocol 14,
        ManageOfferOpFrameBase.cpp:292-326), the amount adjusted to what the seller can sell and
        receive (adjustOffer, l.470-476) and the liabilities acquired (l.538-542). Returns None (and
        changes nothing) if the adjusted amount is 0; raises ValueError if the seller lacks the reserve."""
        o = self.add_offer(seller, offer_id, selling, buying, amount, n, d, passive=passive)
        if not self._known(seller):
            return o
        acc = self.accounts[seller]
        res = _can_create_offer_without_sponsorship(self, acc)
        if res != "SUCCESS":
            del self.offers[offer_id]
            raise ValueError(f"seller cannot create an offer: {res}")
        acc.num_sub_entries += 1
        sell = can_sell_at_most(self, seller, selling)
        buy = can_buy_at_most(self, seller, buying)
        o.amount = adjust_offer(o.price, min(amount, sell), buy)
        if o.amount == 0:
            del self.offers[offer_id]
            acc.num_sub_entries -= 1
            return None
        _acquire_or_release_liabilities(self, o, True)
        return o

    def set_pool(self, x: str, y: str, reserve_x: int, reserve_y: int, total_pool_shares: int = 0,
                 pool_shares_trust_line_count: int = 0) -> Pool:
        _check_asset(x)
        _check_asset(y)
        if x == y:
            raise ValueError("a pool needs two different assets")
        _check_int("reserve", reserve_x, 0, INT64_MAX)
        _check_int("reserve", reserve_y, 0, INT64_MAX)
        a, b = pool_key(x, y)
        ra, rb = (reserve_x, reserve_y) if a == x else (reserve_y, reserve_x)
        p = Pool(a, b, ra, rb, total_pool_shares, pool_shares_trust_line_count)
        self.pools[(a, b)] = p
        return p

    def pool_reserves(self, x: str, y: str) -> tuple[int, int]:
        """(reserve of x, reserve of y) of the pool for x/y."""
        p = self.pools[pool_key(x, y)]
        return (p.reserve_a, p.reserve_b) if p.asset_a == x else (p.reserve_b, p.reserve_a)

    def recompute_liabilities(self) -> None:
        """Set every known account's and trust line's liabilities to the sum over its offers (what a
        consistent ledger holds; issuers' own assets carry none). Useful after ``add_offer`` calls
        when only balances and limits are known: an offer its seller cannot fund is then adjusted
        (or removed) when crossed, as crossOfferV10 does."""
        for acc in self.accounts.values():
            acc.buying_liabilities = acc.selling_liabilities = 0
        for tl in self.trustlines.values():
            tl.buying_liabilities = tl.selling_liabilities = 0
        for o in self.offers.values():
            if not self._known(o.seller):
                continue
            s, b = offer_liabilities(o.price, o.amount)
            for asset, amt, side in ((o.selling, s, "selling_liabilities"), (o.buying, b, "buying_liabilities")):
                if is_issuer(o.seller, asset):
                    continue
                e = self.accounts[o.seller] if asset == NATIVE else self.trustlines.get((o.seller, asset))
                if e is None:
                    raise ValueError(f"offer {o.offer_id}: seller {o.seller} has no trust line for {asset}")
                setattr(e, side, getattr(e, side) + amt)

    # -- queries --------------------------------------------------------------------------------
    def _known(self, account_id: str) -> bool:
        return account_id in self.accounts

    def _unknown_funded(self, account_id: str) -> bool:
        return self.unknown_accounts_funded and account_id not in self.accounts

    def account_exists(self, account_id: str) -> bool:
        return account_id in self.accounts or self.unknown_accounts_funded

    def offers_selling(self, selling: str, buying: str) -> list[Offer]:
        """The book for (selling, buying), best first (loadBestOffer order)."""
        return sorted((o for o in self.offers.values() if o.selling == selling and o.buying == buying),
                      key=offer_sort_key)

    def copy(self) -> "Ledger":
        """An independent copy (entries hold only immutable values, so a shallow copy of each is a
        full copy). Core nests LedgerTxn objects; this module copies instead."""
        new = copy.copy(self)
        new.accounts = {k: copy.copy(v) for k, v in self.accounts.items()}
        new.trustlines = {k: copy.copy(v) for k, v in self.trustlines.items()}
        new.offers = {k: copy.copy(v) for k, v in self.offers.items()}
        new.pools = {k: copy.copy(v) for k, v in self.pools.items()}
        return new

    def balance(self, account_id: str, asset: str) -> Optional[int]:
        """The stored balance (None if the entry is unknown; INT64_MAX for an issuer's own asset)."""
        if asset == NATIVE:
            acc = self.accounts.get(account_id)
            return None if acc is None else acc.balance
        if is_issuer(account_id, asset) and account_id in self.accounts:
            return INT64_MAX
        tl = self.trustlines.get((account_id, asset))
        return None if tl is None else tl.balance


def diff(before: Ledger, after: Ledger) -> dict:
    """Entries that differ: {(kind, key): (before_entry or None, after_entry or None)}."""
    out: dict = {}
    for kind in ("accounts", "trustlines", "offers", "pools"):
        b, a = getattr(before, kind), getattr(after, kind)
        for k in set(b) | set(a):
            if b.get(k) != a.get(k):
                out[(kind, k)] = (b.get(k), a.get(k))
    if before.id_pool != after.id_pool:
        out[("header", "id_pool")] = (before.id_pool, after.id_pool)
    return out


# ---------------------------------------------------------------------------------------------
# TransactionUtils.cpp / TrustLineWrapper.cpp: balances, liabilities, reserves
# ---------------------------------------------------------------------------------------------


def get_min_balance(L: Ledger, acc: Account) -> int:
    """getMinBalance (TransactionUtils.cpp:870-912). Sponsorship counts only from V_14 (l.875-881)."""
    num_sponsoring = num_sponsored = 0
    if L.protocol >= 14:
        num_sponsoring, num_sponsored = acc.num_sponsoring, acc.num_sponsored
    eff = 2 + acc.num_sub_entries + num_sponsoring - num_sponsored  # V_9+ branch, l.900-911
    if eff < 0:
        raise CoreWouldThrow("unexpected account state", "TransactionUtils.cpp:908")
    return eff * L.base_reserve


def _check_authorization(tl: TrustLine) -> bool:
    """checkAuthorization (TransactionUtils.cpp:183-199), protocol >= 10: throws unless the line is
    at least authorized to maintain liabilities."""
    if not tl.flags & TRUSTLINE_AUTH_FLAGS:  # isAuthorizedToMaintainLiabilities, l.1055-1069
        raise CoreWouldThrow("Invalid authorization", "TransactionUtils.cpp:195")
    return True


class _Line:
    """TrustLineWrapper / the native account, for one (account, asset). Kinds: 'native', 'trust',
    'issuer' (IssuerImpl, TrustLineWrapper.cpp:296-373) and 'unknown' (this module's funded mode)."""

    __slots__ = ("L", "kind", "entry")

    def __init__(self, L: Ledger, kind: str, entry) -> None:
        self.L, self.kind, self.entry = L, kind, entry

    def is_authorized(self) -> bool:
        if self.kind == "trust":
            return bool(self.entry.flags & AUTHORIZED_FLAG)  # isAuthorized, l.1037-1041
        return True

    def is_authorized_to_maintain_liabilities(self) -> bool:
        if self.kind == "trust":
            return bool(self.entry.flags & TRUSTLINE_AUTH_FLAGS)
        return True

    def get_balance(self) -> int:
        if self.kind in ("trust", "native"):
            return self.entry.balance
        return INT64_MAX

    def get_available_balance(self) -> int:
        """getAvailableBalance (TransactionUtils.cpp:751-778)."""
        if self.kind == "native":
            acc = self.entry
            return acc.balance - get_min_balance(self.L, acc) - acc.selling_liabilities
        if self.kind == "trust":
            _check_authorization(self.entry)
            return self.entry.balance - self.entry.selling_liabilities
        return INT64_MAX

    def get_max_amount_receive(self) -> int:
        """getMaxAmountReceive (TransactionUtils.cpp:821-855)."""
        if self.kind == "native":
            return INT64_MAX - (self.entry.balance + self.entry.buying_liabilities)
        if self.kind == "trust":
            _check_authorization(self.entry)
            return self.entry.limit - self.entry.balance - self.entry.buying_liabilities
        return INT64_MAX

    def add_balance(self, delta: int) -> bool:
        """addBalance(header, entry, delta) (TransactionUtils.cpp:591-643) and
        addBalanceSkipAuthorization (564-589); IssuerImpl::addBalance is a no-op (l.308-313)."""
        if self.kind == "native":
            if delta == 0:
                return True
            acc = self.entry
            nb = add_balance_int64(acc.balance, delta)
            if nb is None:
                return False
            min_balance = get_min_balance(self.L, acc)
            if delta < 0 and nb - min_balance < acc.selling_liabilities:
                return False
            if nb > INT64_MAX - acc.buying_liabilities:
                return False
            acc.balance = nb
            return True
        if self.kind == "trust":
            if delta == 0:
                return True
            tl = self.entry
            _check_authorization(tl)
            nb = add_balance_int64(tl.balance, delta, tl.limit)
            if nb is None:
                return False
            if nb < tl.selling_liabilities:
                return False
            if nb > tl.limit - tl.buying_liabilities:
                return False
            tl.balance = nb
            return True
        return True

    def add_buying_liabilities(self, delta: int) -> bool:
        """addBuyingLiabilities (TransactionUtils.cpp:645-690)."""
        if self.kind not in ("native", "trust"):
            return True
        e = self.entry
        if delta == 0:
            return True
        if self.kind == "native":
            max_liab = INT64_MAX - e.balance
        else:
            _check_authorization(e)
            max_liab = e.limit - e.balance
        r = add_balance_int64(e.buying_liabilities, delta, max_liab)
        if r is None:
            return False
        e.buying_liabilities = r
        return True

    def add_selling_liabilities(self, delta: int) -> bool:
        """addSellingLiabilities (TransactionUtils.cpp:692-743)."""
        if self.kind not in ("native", "trust"):
            return True
        e = self.entry
        if delta == 0:
            return True
        if self.kind == "native":
            max_liab = e.balance - get_min_balance(self.L, e)
            if max_liab < 0:
                return False
        else:
            _check_authorization(e)
            max_liab = e.balance
        r = add_balance_int64(e.selling_liabilities, delta, max_liab)
        if r is None:
            return False
        e.selling_liabilities = r
        return True


def load_line(L: Ledger, account_id: str, asset: str) -> Optional[_Line]:
    """loadAccount for native, loadTrustLine / TrustLineWrapper(ltx, id, asset) otherwise
    (TransactionUtils.cpp:392-398, TrustLineWrapper.cpp:80-104). None = no such entry."""
    if L._unknown_funded(account_id):
        return _Line(L, "unknown", None)
    if asset == NATIVE:
        acc = L.accounts.get(account_id)
        return None if acc is None else _Line(L, "native", acc)
    if is_issuer(account_id, asset):
        return _Line(L, "issuer", None)
    tl = L.trustlines.get((account_id, asset))
    return None if tl is None else _Line(L, "trust", tl)


def can_sell_at_most(L: Ledger, account_id: str, asset: str) -> int:
    """canSellAtMost (OfferExchange.cpp:54-70)."""
    line = load_line(L, account_id, asset)
    if asset == NATIVE:
        if line is None:
            raise CoreWouldThrow("account does not exist", "OfferExchange.cpp:61")
        return max(line.get_available_balance(), 0)
    if line is not None and line.is_authorized_to_maintain_liabilities():
        return max(line.get_available_balance(), 0)
    return 0


def can_buy_at_most(L: Ledger, account_id: str, asset: str) -> int:
    """canBuyAtMost (OfferExchange.cpp:90-104)."""
    line = load_line(L, account_id, asset)
    if asset == NATIVE:
        if line is None:
            raise CoreWouldThrow("account does not exist", "OfferExchange.cpp:96")
        return max(line.get_max_amount_receive(), 0)
    return max(line.get_max_amount_receive(), 0) if line is not None else 0


def _acquire_or_release_liabilities(L: Ledger, offer: Offer, is_acquire: bool) -> None:
    """acquireOrReleaseLiabilities (TransactionUtils.cpp:484-555). No-op for unknown sellers."""
    if offer.buying == offer.selling:
        raise CoreWouldThrow("buying and selling same asset", "TransactionUtils.cpp:494")
    if L._unknown_funded(offer.seller):
        return
    selling_liab, buying_liab = offer_liabilities(offer.price, offer.amount)
    sign = 1 if is_acquire else -1

    def load(asset: str) -> _Line:
        line = load_line(L, offer.seller, asset)
        if line is None:
            if asset == NATIVE:
                raise CoreWouldThrow("account does not exist", "TransactionUtils.cpp:502")
            raise CoreWouldThrow("trustline does not exist", "TransactionUtils.cpp:511")
        return line

    if not load(offer.buying).add_buying_liabilities(sign * buying_liab):
        raise CoreWouldThrow("could not add buying liabilities", "TransactionUtils.cpp:524/532")
    if not load(offer.selling).add_selling_liabilities(sign * selling_liab):
        raise CoreWouldThrow("could not add selling liabilities", "TransactionUtils.cpp:544/552")


def _remove_entry_with_possible_sponsorship(L: Ledger, owner_id: str, sponsor: Optional[str]) -> None:
    """removeEntryWithPossibleSponsorship for an OFFER (SponsorshipUtils.cpp:808-847; multiplier 1,
    computeMultiplier l.192-218): numSubEntries -= 1, and if sponsored numSponsored -= 1 on the owner
    and numSponsoring -= 1 on the sponsor (removeEntryWithSponsorship l.691-700, removeEntrySponsorship
    l.382-398). Unknown accounts keep no counts."""
    acc = L.accounts.get(owner_id)
    if acc is not None:
        if acc.num_sub_entries < 1:
            raise CoreWouldThrow("invalid account state", "SponsorshipUtils.cpp:552")
        acc.num_sub_entries -= 1
    if sponsor is not None:
        if sponsor == owner_id:
            raise CoreWouldThrow("sponsoringID == sourceAccount for non-CLAIMABLE_BALANCE entry",
                                 "SponsorshipUtils.cpp:824")
        sp = L.accounts.get(sponsor)
        if sp is not None:
            sp.num_sponsoring -= 1
        if acc is not None:
            acc.num_sponsored -= 1


def _can_create_offer_without_sponsorship(L: Ledger, acc: Account) -> str:
    """canCreateEntryWithoutSponsorship for an OFFER (SponsorshipUtils.cpp:475-517, V_9+ branch),
    with tooManyNumSubEntries (44-56) and isSponsoringSubentrySumIncreaseValid (20-28)."""
    mult = 1
    too_many = L.protocol >= 11 and acc.num_sub_entries > L.account_subentry_limit - mult  # l.48-53
    if not too_many and L.protocol >= 18:
        too_many = acc.num_sponsoring + acc.num_sub_entries + mult > UINT32_MAX
    if too_many:
        return "TOO_MANY_SUBENTRIES"
    reserve = mult * L.base_reserve
    if _Line(L, "native", acc).get_available_balance() < reserve:
        return "LOW_RESERVE"
    return "SUCCESS"


# ---------------------------------------------------------------------------------------------
# Crossing: crossOfferV10, convertWithOffers, pools, convertWithOffersAndPools
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ClaimAtom:
    """ClaimOfferAtom / ClaimOfferAtomV0 / ClaimLiquidityAtom. *_sold is what the offer's seller
    (or the pool) gave (wheat), *_bought what it got (sheep)."""

    type: str
    seller: Optional[str]
    offer_id: Optional[int]
    pool: Optional[tuple]
    asset_sold: str
    amount_sold: int
    asset_bought: str
    amount_bought: int


def _make_claim_atom(L: Ledger, seller: str, offer_id: int, wheat: str, wheat_received: int, sheep: str,
                     sheep_send: int) -> ClaimAtom:
    """makeClaimAtom (TransactionUtils.cpp:1881-1900): V0 before protocol 18."""
    kind = CLAIM_ATOM_TYPE_V0 if L.protocol < 18 else CLAIM_ATOM_TYPE_ORDER_BOOK
    return ClaimAtom(kind, seller, offer_id, None, wheat, wheat_received, sheep, sheep_send)


def _adjust_offer_in_ledger(L: Ledger, offer: Offer) -> None:
    """adjustOffer(header, offer, account, wheat, wheatLine, sheep, sheepLine) (OfferExchange.cpp:783-794)."""
    max_wheat_send = min(offer.amount, can_sell_at_most(L, offer.seller, offer.selling))
    max_sheep_receive = can_buy_at_most(L, offer.seller, offer.buying)
    offer.amount = adjust_offer(offer.price, max_wheat_send, max_sheep_receive)


def _cross_offer_v10(L: Ledger, offer_id: int, max_wheat_received: int, max_sheep_send: int, rounding: str,
                     trail: list) -> tuple[bool, int, int, bool]:
    """crossOfferV10 (OfferExchange.cpp:1103-1234). Mutates L. Returns (taken, wheatReceived,
    sheepSend, wheatStays)."""
    _require(max_wheat_received > 0, "releaseAssertOrThrow(maxWheatReceived > 0)", "OfferExchange.cpp:1110")
    _require(max_sheep_send > 0, "releaseAssertOrThrow(maxSheepSend > 0)", "OfferExchange.cpp:1111")
    offer = L.offers[offer_id]
    sheep, wheat, seller = offer.buying, offer.selling, offer.seller
    if not L.account_exists(seller):
        raise CoreWouldThrow("invalid database state: offer must have matching account", "OfferExchange.cpp:1122")
    _acquire_or_release_liabilities(L, offer, False)  # l.1126-1128 releaseLiabilities
    # l.1140-1143: "should have no effect" on a ledger-valid offer; it is what reduces hand-built ones
    _adjust_offer_in_ledger(L, offer)
    max_wheat_send = min(offer.amount, can_sell_at_most(L, seller, wheat))  # l.1145-1147
    max_sheep_receive = can_buy_at_most(L, seller, sheep)  # l.1148-1149
    ex = exchange_v10(offer.price, max_wheat_send, max_wheat_received, max_sheep_send, max_sheep_receive,
                      rounding)
    if ex.sheep_send != 0:  # l.1159-1175
        line = load_line(L, seller, sheep)
        if line is None or not line.add_balance(ex.sheep_send):
            raise CoreWouldThrow("overflowed sheep balance", "OfferExchange.cpp:1165/1172")
    if ex.wheat_received != 0:  # l.1177-1193
        line = load_line(L, seller, wheat)
        if line is None or not line.add_balance(-ex.wheat_received):
            raise CoreWouldThrow("overflowed wheat balance", "OfferExchange.cpp:1183/1190")
    if ex.wheat_stays:  # l.1195-1204
        offer.amount -= ex.wheat_received
        _adjust_offer_in_ledger(L, offer)
    else:
        offer.amount = 0
    taken = offer.amount == 0
    if taken:  # l.1212-1218
        del L.offers[offer_id]
        _remove_entry_with_possible_sponsorship(L, seller, offer.sponsor)
    else:  # l.1219-1222
        _acquire_or_release_liabilities(L, offer, True)
    trail.append(_make_claim_atom(L, seller, offer_id, wheat, ex.wheat_received, sheep, ex.sheep_send))
    return taken, ex.wheat_received, ex.sheep_send, ex.wheat_stays


OfferFilter = Callable[[Offer], str]  # returns "eKeep" | "eStopBadPrice" | "eStopCrossSelf"


@dataclass
class _Conversion:
    result: str
    sheep_send: int
    wheat_received: int
    trail: list


def convert_with_offers(L: Ledger, sheep: str, max_sheep_send: int, wheat: str, max_wheat_receive: int,
                        rounding: str, offer_filter: Optional[OfferFilter], max_offers_to_cross: int) -> _Conversion:
    """convertWithOffers (OfferExchange.cpp:1481-1627): buy wheat with sheep from the book of offers
    selling wheat for sheep, best first. Mutates L (the caller copies it, as core nests LedgerTxn)."""
    trail: list = []
    sheep_send = 0
    wheat_received = 0
    need_more = max_wheat_receive > 0 and max_sheep_send > 0
    if need_more and max_offers_to_cross == 0 and L.protocol >= 18:  # l.1502-1511
        return _Conversion(eCrossedTooMany, 0, 0, trail)
    # Crossing touches only the crossed offer, so the book order computed once stays the
    # loadBestOffer order for this call (l.1516).
    book = [o.offer_id for o in L.offers_selling(wheat, sheep)]
    i = 0
    while need_more:
        if i == len(book):
            break  # l.1517-1520: no more offers
        offer = L.offers[book[i]]
        if offer_filter is not None:  # l.1536-1563
            f = offer_filter(offer)
            if f == "eStopBadPrice":
                return _Conversion(eFilterStopBadPrice, sheep_send, wheat_received, trail)
            if f == "eStopCrossSelf":
                return _Conversion(eFilterStopCrossSelf, sheep_send, wheat_received, trail)
        if len(trail) >= max_offers_to_cross:  # l.1565-1569
            return _Conversion(eCrossedTooMany, sheep_send, wheat_received, trail)
        taken, num_wheat, num_sheep, wheat_stays = _cross_offer_v10(L, offer.offer_id, max_wheat_receive,
                                                                    max_sheep_send, rounding, trail)
        need_more = not wheat_stays  # l.1581
        _require(0 <= num_sheep <= max_sheep_send, "releaseAssertOrThrow(numSheepSend in range)",
                 "OfferExchange.cpp:1590-1591")
        _require(0 <= num_wheat <= max_wheat_receive, "releaseAssertOrThrow(numWheatReceived in range)",
                 "OfferExchange.cpp:1592-1593")
        sheep_send += num_sheep
        max_sheep_send -= num_sheep
        wheat_received += num_wheat
        max_wheat_receive -= num_wheat
        need_more = need_more and max_wheat_receive > 0 and max_sheep_send > 0  # l.1607
        if not need_more:
            return _Conversion(eOK, sheep_send, wheat_received, trail)
        if not taken:
            return _Conversion(ePartial, sheep_send, wheat_received, trail)
        i += 1
    return _Conversion(eOK if not need_more else ePartial, sheep_send, wheat_received, trail)  # l.1617-1626


def _pool_exchange(L: Ledger, to_asset: str, max_send: int, from_asset: str, max_receive: int, rounding: str,
                   max_offers_to_cross: int, commit: bool = True) -> Optional[tuple[int, int]]:
    """exchangeWithPool on the ledger (OfferExchange.cpp:1381-1479). Updates the pool's reserves on
    success if ``commit`` (the dry run of maybeConvertWithOffers rolls back, l.1675). Returns
    (toPool, fromPool) or None."""
    if L.protocol < 18:  # l.1390-1395
        return None
    if L.pool_trading_disabled:  # l.1396-1399
        return None
    if rounding == NORMAL:  # l.1400-1404: only path payments use pools
        return None
    if max_offers_to_cross == 0:  # l.1405-1412
        return None
    pool = L.pools.get(pool_key(to_asset, from_asset))
    if pool is None:
        return None
    if pool.reserve_a <= 0 or pool.reserve_b <= 0:  # l.1426-1435
        return None
    to_is_a = to_asset == pool.asset_a
    r_to, r_from = (pool.reserve_a, pool.reserve_b) if to_is_a else (pool.reserve_b, pool.reserve_a)
    res = exchange_with_pool_math(r_to, max_send, r_from, max_receive, pool.fee_bps, rounding)
    if res is None:
        return None
    to_pool, from_pool = res
    new_to = add_balance_int64(r_to, to_pool)
    new_from = add_balance_int64(r_from, -from_pool)
    if new_to is None or new_from is None:
        raise CoreWouldThrow("could not update reserves", "OfferExchange.cpp:1449/1464")
    if not commit:
        return to_pool, from_pool
    if to_is_a:
        pool.reserve_a, pool.reserve_b = new_to, new_from
    else:
        pool.reserve_b, pool.reserve_a = new_to, new_from
    return to_pool, from_pool


@dataclass(frozen=True)
class Hop:
    """One convertWithOffersAndPools call. venue: "book" or "pool" (None if the call failed before
    choosing). pool_quote = (toPool, fromPool) the dry run gave, book_quote = (sheepSend,
    wheatReceived, convert result, offers crossed) the book walk gave, whether or not chosen."""

    send_asset: str
    recv_asset: str
    result: str
    venue: Optional[str]
    amount_send: int
    amount_recv: int
    claims: tuple
    pool_quote: Optional[tuple]
    book_quote: Optional[tuple]
    budget_before: int
    budget_after: int


def convert_with_offers_and_pools(L: Ledger, sheep: str, max_sheep_send: int, wheat: str, max_wheat_receive: int,
                                  rounding: str, offer_filter: Optional[OfferFilter],
                                  max_offers_to_cross: int) -> tuple[Ledger, Hop]:
    """convertWithOffersAndPools (OfferExchange.cpp:1712-1771) with maybeConvertWithOffers (1661-1710)
    and shouldConvertWithOffers (1629-1659). Returns (ledger after the hop, hop). The budget after
    the call is hop.budget_after (maxOffersToCross is in/out in core)."""
    budget = max_offers_to_cross
    # maybeConvertWithOffers: the pool, in a LedgerTxn that always rolls back (l.1671-1683)
    pool_quote = _pool_exchange(L, sheep, max_sheep_send, wheat, max_wheat_receive, rounding, budget, commit=False)
    # the book, committed only if chosen (l.1685-1707)
    book_ledger = L.copy()
    conv = convert_with_offers(book_ledger, sheep, max_sheep_send, wheat, max_wheat_receive, rounding,
                               offer_filter, budget)
    book_quote = (conv.sheep_send, conv.wheat_received, conv.result, len(conv.trail))
    use_book = True
    if pool_quote is not None:  # shouldConvertWithOffers l.1634-1652
        if conv.result != eOK:
            use_book = False
        else:
            use_book = big_multiply(pool_quote[0], conv.wheat_received) > big_multiply(pool_quote[1],
                                                                                         conv.sheep_send)
    if use_book:
        budget_after = budget - len(conv.trail)  # l.1737
        return book_ledger, Hop(sheep, wheat, conv.result, "book", conv.sheep_send, conv.wheat_received,
                                tuple(conv.trail), pool_quote, book_quote, budget, budget_after)
    non_committed = len(conv.trail)
    if L.protocol >= 27:  # l.1740-1751
        if non_committed >= budget:
            return L, Hop(sheep, wheat, eCrossedTooMany, None, 0, 0, (), pool_quote, book_quote, budget, budget)
        budget -= non_committed
    pool_ledger = L.copy()
    res = _pool_exchange(pool_ledger, sheep, max_sheep_send, wheat, max_wheat_receive, rounding, budget)
    # The dry run succeeded on the same state with a budget that is still >= 1, so this cannot fail;
    # core ignores the return value here and would record 0/0.
    to_pool, from_pool = res if res is not None else (0, 0)
    atom = ClaimAtom(CLAIM_ATOM_TYPE_LIQUIDITY_POOL, None, None, pool_key(sheep, wheat), wheat, from_pool, sheep,
                     to_pool)
    budget -= 1  # l.1769
    return pool_ledger, Hop(sheep, wheat, eOK, "pool", to_pool, from_pool, (atom,), pool_quote, book_quote,
                            max_offers_to_cross, budget)


# ---------------------------------------------------------------------------------------------
# Operations
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class OpResult:
    """code: core's result code name. sent / received: what the source paid and what the taker (or
    the destination) got, None when the operation failed before the amounts were complete (the
    partial amounts are in ``hops``). claims: the claim atoms in result order. offer / offer_effect:
    manage operations only. ledger: the state after; when the operation failed, the input ledger
    object itself (core rolls the operation back)."""

    code: str
    sent: Optional[int]
    received: Optional[int]
    claims: tuple
    hops: tuple
    ledger: Ledger
    offer: Optional[Offer] = None
    offer_effect: Optional[str] = None

    @property
    def success(self) -> bool:
        return self.code.endswith("_SUCCESS")


def _failed(code: str, L: Ledger, hops: Sequence[Hop] = (), sent: Optional[int] = None,
            received: Optional[int] = None) -> OpResult:
    return OpResult(code, sent, received, (), tuple(hops), L)


def _manage_offer(L0: Ledger, source: str, sheep: str, wheat: str, offer_id: int, price: Price, passive_on_create: bool,
                  prefix: str, amount_field: int, is_buy: bool) -> OpResult:
    """ManageOfferOpFrameBase (checkOfferValid l.34-105, computeOfferExchangeParameters l.107-213,
    doApply l.224-564, doCheckValid l.597-643) with the ManageSell / ManageBuy specifics."""
    P = L0.protocol
    # doCheckValid (l.597-643). Asset validity is enforced by _check_asset (ValueError).
    if sheep == wheat:
        return _failed(prefix + "MALFORMED", L0)
    if amount_field < 0 or price[1] <= 0 or price[0] <= 0:
        return _failed(prefix + "MALFORMED", L0)
    is_delete = amount_field == 0
    if offer_id == 0 and is_delete:
        return _failed(prefix + ("MALFORMED" if P >= 11 else "NOT_FOUND"), L0)  # l.620-633
    if P >= 15 and offer_id < 0:  # l.635-640
        return _failed(prefix + "MALFORMED", L0)
    if not L0.account_exists(source):
        raise ValueError(f"source account {source!r} does not exist (txNO_ACCOUNT, not modelled)")

    L = L0.copy()
    # the op's offer liabilities (ManageSellOfferOpFrame.cpp:57-73 / ManageBuyOfferOpFrame.cpp:52-68)
    if is_buy:
        r = exchange_v10_without_price_error_thresholds(price, INT64_MAX, INT64_MAX, INT64_MAX, amount_field, NORMAL)
    else:
        r = exchange_v10_without_price_error_thresholds(price, amount_field, INT64_MAX, INT64_MAX, INT64_MAX, NORMAL)
    op_buying_liab, op_selling_liab = r.sheep_send, r.wheat_received

    def limits(max_sheep_send: int, sheep_sent: int, max_wheat_receive: int, wheat_received: int) -> tuple[int, int]:
        # applyOperationSpecificLimits (ManageSellOfferOpFrame.cpp:75-81 / ManageBuyOfferOpFrame.cpp:70-78)
        if is_buy:
            return max_sheep_send, min(amount_field - wheat_received, max_wheat_receive)
        return min(amount_field - sheep_sent, max_sheep_send), max_wheat_receive

    # checkOfferValid (l.34-105)
    if not is_delete:
        for asset, tag in ((sheep, "SELL"), (wheat, "BUY")):
            if asset == NATIVE:
                continue
            line = load_line(L, source, asset)
            if P < 13 and not L.account_exists(asset_issuer(asset)):
                return _failed(prefix + tag + "_NO_ISSUER", L0)
            if line is None:
                return _failed(prefix + tag + "_NO_TRUST", L0)
            if tag == "SELL" and line.get_balance() == 0:
                return _failed(prefix + "UNDERFUNDED", L0)
            if not line.is_authorized():
                return _failed(prefix + tag + "_NOT_AUTHORIZED", L0)

    creating = False
    sponsor: Optional[str] = None
    if offer_id:  # l.248-285: modifying an existing offer
        old = L.offers.get(offer_id)
        if old is None or old.seller != source:
            return _failed(prefix + "NOT_FOUND", L0)
        _acquire_or_release_liabilities(L, old, False)  # l.263-267
        flags = old.flags
        passive = bool(flags & PASSIVE_FLAG)
        sponsor = old.sponsor
        del L.offers[offer_id]  # numSubEntries deliberately not updated here (l.276-284)
    else:  # l.286-327
        creating = True
        passive = passive_on_create
        flags = PASSIVE_FLAG if passive else 0
        if P >= 14 and L._known(source):
            res = _can_create_offer_without_sponsorship(L, L.accounts[source])
            if res == "LOW_RESERVE":
                return _failed(prefix + "LOW_RESERVE", L0)
            if res == "TOO_MANY_SUBENTRIES":
                return _failed("opTOO_MANY_SUBENTRIES", L0)
            L.accounts[source].num_sub_entries += 1  # createEntryWithoutSponsorship

    sheep_sent = wheat_received = 0
    claims: tuple = ()
    hops: tuple = ()
    amount = 0
    if not is_delete:
        # computeOfferExchangeParameters (l.107-213), on a LedgerTxn that is rolled back
        C = L
        if P < 14 and creating and L._known(source):
            C = L.copy()
            res = _can_create_offer_without_sponsorship(C, C.accounts[source])
            if res == "LOW_RESERVE":
                return _failed(prefix + "LOW_RESERVE", L0)
            if res == "TOO_MANY_SUBENTRIES":
                return _failed("opTOO_MANY_SUBENTRIES", L0)
            C.accounts[source].num_sub_entries += 1
        max_wheat_receive = can_buy_at_most(C, source, wheat)
        max_sheep_send = can_sell_at_most(C, source, sheep)
        wheat_line = load_line(C, source, wheat)
        sheep_line = load_line(C, source, sheep)
        available_limit = wheat_line.get_max_amount_receive()  # l.170-173
        if available_limit < op_buying_liab:
            return _failed(prefix + "LINE_FULL", L0)  # l.174-178
        available_balance = sheep_line.get_available_balance()  # l.195-198
        if available_balance < op_selling_liab:
            return _failed(prefix + "UNDERFUNDED", L0)  # l.199-203
        max_sheep_send, max_wheat_receive = limits(max_sheep_send, 0, max_wheat_receive, 0)  # l.205
        if max_wheat_receive == 0:  # l.341-346
            return _failed(prefix + "LINE_FULL", L0)
        budget = L.max_offers_to_cross if P >= 11 else INT64_MAX  # l.348-354
        max_wheat_price = (price[1], price[0])  # l.358

        def offer_filter(o: Offer) -> str:  # l.362-383
            _require(o.offer_id != offer_id, "releaseAssertOrThrow(o.offerID != mOfferID)",
                     "ManageOfferOpFrameBase.cpp:365")
            if (passive and price_ge(o.price, max_wheat_price)) or price_gt(o.price, max_wheat_price):
                return "eStopBadPrice"
            if o.seller == source:
                return "eStopCrossSelf"
            return "eKeep"

        L, hop = convert_with_offers_and_pools(L, sheep, max_sheep_send, wheat, max_wheat_receive, NORMAL,
                                               offer_filter, budget)
        hops = (hop,)
        if hop.result == eFilterStopCrossSelf:
            return _failed(prefix + "CROSS_SELF", L0, hops)
        if hop.result == eCrossedTooMany:
            return _failed("opEXCEEDED_WORK_LIMIT", L0, hops)
        sheep_stays = hop.result != eOK  # l.389-399
        sheep_sent, wheat_received = hop.amount_send, hop.amount_recv
        claims = hop.claims
        if wheat_received > 0:  # l.417-456
            if not load_line(L, source, wheat).add_balance(wheat_received):
                raise CoreWouldThrow("offer claimed over limit", "ManageOfferOpFrameBase.cpp:425/434")
            if not load_line(L, source, sheep).add_balance(-sheep_sent):
                raise CoreWouldThrow("offer sold more than balance", "ManageOfferOpFrameBase.cpp:444/453")
        if sheep_stays:  # l.461-477
            sheep_send_limit = can_sell_at_most(L, source, sheep)
            wheat_receive_limit = can_buy_at_most(L, source, wheat)
            sheep_send_limit, wheat_receive_limit = limits(sheep_send_limit, sheep_sent, wheat_receive_limit,
                                                           wheat_received)
            amount = adjust_offer(price, sheep_send_limit, wheat_receive_limit)
        else:
            amount = 0

    result_offer: Optional[Offer] = None
    if amount > 0:  # l.490-543
        if creating:
            if P < 14 and L._known(source):  # l.495-521
                res = _can_create_offer_without_sponsorship(L, L.accounts[source])
                if res == "LOW_RESERVE":
                    return _failed(prefix + "LOW_RESERVE", L0, hops)
                if res == "TOO_MANY_SUBENTRIES":
                    return _failed("opTOO_MANY_SUBENTRIES", L0, hops)
                L.accounts[source].num_sub_entries += 1
            L.id_pool += 1  # generateID (TransactionUtils.cpp:745-749)
            new_id = L.id_pool
            effect = MANAGE_OFFER_CREATED
        else:
            new_id = offer_id
            effect = MANAGE_OFFER_UPDATED
        o = Offer(source, new_id, sheep, wheat, amount, price[0], price[1], flags, sponsor)
        L.offers[new_id] = o
        _acquire_or_release_liabilities(L, o, True)  # l.538-542
        result_offer = dataclasses.replace(o)
    else:  # l.544-556
        effect = MANAGE_OFFER_DELETED
        if not creating or P >= 14:
            _remove_entry_with_possible_sponsorship(L, source, sponsor)
    return OpResult(prefix + "SUCCESS", sheep_sent, wheat_received, tuple(claims), hops, L, result_offer, effect)


def _check_manage_args(selling: str, buying: str, amount: int, n: int, d: int, offer_id: int) -> None:
    _check_asset(selling)
    _check_asset(buying)
    _check_int64("amount", amount)
    _check_int32("n", n)
    _check_int32("d", d)
    _check_int64("offer_id", offer_id)


def manage_sell_offer(L: Ledger, source: str, selling: str, buying: str, amount: int, n: int, d: int,
                      offer_id: int = 0) -> OpResult:
    """ManageSellOfferOp: sell `amount` of `selling` at price n/d (units of buying per unit of selling).
    amount 0 deletes offer_id. ManageSellOfferOpFrame.cpp + ManageOfferOpFrameBase.cpp."""
    _check_manage_args(selling, buying, amount, n, d, offer_id)
    return _manage_offer(L, source, selling, buying, offer_id, (n, d), False, "MANAGE_SELL_OFFER_", amount, False)


def create_passive_sell_offer(L: Ledger, source: str, selling: str, buying: str, amount: int, n: int,
                              d: int) -> OpResult:
    """CreatePassiveSellOfferOp: a ManageSellOffer with offerID 0 and the PASSIVE flag
    (CreatePassiveSellOfferOpFrame.cpp:10-29); result codes are MANAGE_SELL_OFFER_*."""
    _check_manage_args(selling, buying, amount, n, d, 0)
    return _manage_offer(L, source, selling, buying, 0, (n, d), True, "MANAGE_SELL_OFFER_", amount, False)


def manage_buy_offer(L: Ledger, source: str, selling: str, buying: str, buy_amount: int, n: int, d: int,
                     offer_id: int = 0) -> OpResult:
    """ManageBuyOfferOp: buy `buy_amount` of `buying` paying at most n/d units of selling per unit of
    buying. The stored offer's price is the inverse d/n (getInversePrice, ManageBuyOfferOpFrame.cpp:17-31).
    Not supported before protocol 11 (l.33-38)."""
    _check_manage_args(selling, buying, buy_amount, n, d, offer_id)
    if L.protocol < 11:
        return _failed("opNOT_SUPPORTED", L)
    return _manage_offer(L, source, selling, buying, offer_id, (d, n), False, "MANAGE_BUY_OFFER_", buy_amount, True)


def _path_filter(source: str) -> OfferFilter:
    """The filter of PathPaymentOpFrameBase::convert (l.109-122): only cross-self stops."""

    def f(o: Offer) -> str:
        return "eStopCrossSelf" if o.seller == source else "eKeep"

    return f


def _convert(L: Ledger, source: str, budget: int, send_asset: str, max_send: int, recv_asset: str, max_recv: int,
             rounding: str, prefix: str, strict_send: bool) -> tuple[Ledger, Hop, Optional[str]]:
    """PathPaymentOpFrameBase::convert (l.93-152): returns (ledger, hop, failure code or None)."""
    _require(send_asset != recv_asset, "releaseAssertOrThrow(!(sendAsset == recvAsset))",
             "PathPaymentOpFrameBase.cpp:103")
    L2, hop = convert_with_offers_and_pools(L, send_asset, max_send, recv_asset, max_recv, rounding,
                                            _path_filter(source), budget)
    if hop.amount_send < 0 or hop.amount_recv < 0:
        raise CoreWouldThrow("amount transferred out of bounds", "PathPaymentOpFrameBase.cpp:127")
    if hop.result == eFilterStopCrossSelf:
        return L2, hop, prefix + "OFFER_CROSS_SELF"
    if hop.result == eOK:
        # checkTransfer: strict send sent == maxSend (StrictSend l.174-180),
        # strict receive received == maxRecv (StrictReceive l.181-188)
        ok = (max_send == hop.amount_send) if strict_send else (max_recv == hop.amount_recv)
        if ok:
            return L2, hop, None
        return L2, hop, prefix + "TOO_FEW_OFFERS"
    if hop.result == ePartial:
        return L2, hop, prefix + "TOO_FEW_OFFERS"
    if hop.result == eCrossedTooMany:
        return L2, hop, "opEXCEEDED_WORK_LIMIT"
    raise CoreWouldThrow("unexpected convert result", "PathPaymentOpFrameBase.cpp:148")


def _check_issuer(L: Ledger, asset: str) -> bool:
    """checkIssuer (PathPaymentOpFrameBase.cpp:76-91): before 13 the issuer account must exist."""
    return asset == NATIVE or L.protocol >= 13 or L.account_exists(asset_issuer(asset))


def _bypass_issuer_check(path: Sequence[str], send_asset: str, dest_asset: str, destination: str) -> bool:
    """shouldBypassIssuerCheck (PathPaymentOpFrameBase.cpp:154-165)."""
    return dest_asset != NATIVE and len(path) == 0 and send_asset == dest_asset and \
        asset_issuer(dest_asset) == destination


def _update_source_balance(L: Ledger, source: str, asset: str, amount: int, bypass: bool, prefix: str) -> Optional[str]:
    """updateSourceBalance (PathPaymentOpFrameBase.cpp:167-237). Mutates L; returns a failure code."""
    if asset == NATIVE:
        line = load_line(L, source, NATIVE)
        if amount > line.get_available_balance():
            return prefix + "UNDERFUNDED"
        _require(line.add_balance(-amount), "releaseAssertOrThrow(ok)", "PathPaymentOpFrameBase.cpp:207")
        return None
    if not bypass and not _check_issuer(L, asset):
        return prefix + "NO_ISSUER"
    line = load_line(L, source, asset)
    if line is None:
        return prefix + "SRC_NO_TRUST"
    if not line.is_authorized():
        return prefix + "SRC_NOT_AUTHORIZED"
    if not line.add_balance(-amount):
        return prefix + "UNDERFUNDED"
    return None


def _update_dest_balance(L: Ledger, destination: str, asset: str, amount: int, bypass: bool, prefix: str) -> Optional[str]:
    """updateDestBalance (PathPaymentOpFrameBase.cpp:239-294). Mutates L; returns a failure code."""
    if asset == NATIVE:
        line = load_line(L, destination, NATIVE)
        if not line.add_balance(amount):
            return prefix + ("LINE_FULL" if L.protocol >= 11 else "MALFORMED")  # l.251-264
        return None
    if not bypass and not _check_issuer(L, asset):
        return prefix + "NO_ISSUER"
    line = load_line(L, destination, asset)
    if line is None:
        return prefix + "NO_TRUST"
    if not line.is_authorized():
        return prefix + "NOT_AUTHORIZED"
    if not line.add_balance(amount):
        return prefix + "LINE_FULL"
    return None


def _check_path_args(send_asset: str, dest_asset: str, path: Sequence[str], a: int, b: int) -> tuple:
    _check_asset(send_asset)
    _check_asset(dest_asset)
    path = tuple(path)
    if len(path) > MAX_PATH_LENGTH:
        raise ValueError(f"a path has at most {MAX_PATH_LENGTH} intermediate assets")
    for p in path:
        _check_asset(p)
    _check_int64("amount", a)
    _check_int64("amount", b)
    return path


def path_payment_strict_send(L0: Ledger, source: str, send_asset: str, send_amount: int, destination: str,
                             dest_asset: str, dest_min: int, path: Sequence[str] = ()) -> OpResult:
    """PathPaymentStrictSendOp (PathPaymentStrictSendOpFrame.cpp doApply l.42-146, doCheckValid
    l.148-172). Hops run source -> path -> destination."""
    path = _check_path_args(send_asset, dest_asset, path, send_amount, dest_min)
    prefix = "PATH_PAYMENT_STRICT_SEND_"
    if L0.protocol < 12:  # isOpSupported l.26-31
        return _failed("opNOT_SUPPORTED", L0)
    if send_amount <= 0 or dest_min <= 0:
        return _failed(prefix + "MALFORMED", L0)
    if not L0.account_exists(source):
        raise ValueError(f"source account {source!r} does not exist (txNO_ACCOUNT, not modelled)")
    L = L0.copy()
    bypass = _bypass_issuer_check(path, send_asset, dest_asset, destination)
    if not bypass and not L.account_exists(destination):
        return _failed(prefix + "NO_DESTINATION", L0)
    err = _update_source_balance(L, source, send_asset, send_amount, bypass, prefix)
    if err:
        return _failed(err, L0)
    full_path = list(path) + [dest_asset]
    send = send_asset
    max_amount_send = send_amount
    budget = L.max_offers_to_cross  # l.87 (no gate: the op exists only from protocol 12)
    hops: list = []
    claims: list = []
    for recv in full_path:
        if recv == send:
            continue
        if not _check_issuer(L, recv):
            return _failed(prefix + "NO_ISSUER", L0, hops)
        L, hop, err = _convert(L, source, budget, send, max_amount_send, recv, INT64_MAX, STRICT_SEND, prefix, True)
        hops.append(hop)
        if err:
            return _failed(err, L0, hops)
        budget = hop.budget_after
        max_amount_send = hop.amount_recv
        send = recv
        claims.extend(hop.claims)
    if max_amount_send < dest_min:  # l.120-124
        return _failed(prefix + "UNDER_DESTMIN", L0, hops, send_amount, max_amount_send)
    err = _update_dest_balance(L, destination, dest_asset, max_amount_send, bypass, prefix)
    if err:
        return _failed(err, L0, hops, send_amount, max_amount_send)
    return OpResult(prefix + "SUCCESS", send_amount, max_amount_send, tuple(claims), tuple(hops), L)


def path_payment_strict_receive(L0: Ledger, source: str, send_asset: str, send_max: int, destination: str,
                                dest_asset: str, dest_amount: int, path: Sequence[str] = ()) -> OpResult:
    """PathPaymentStrictReceiveOp (PathPaymentStrictReceiveOpFrame.cpp doApply l.36-153, doCheckValid
    l.155-179). The destination is credited first; hops run backwards from the destination; the
    source is debited last. ``hops`` are in execution order (destination side first)."""
    path = _check_path_args(send_asset, dest_asset, path, send_max, dest_amount)
    prefix = "PATH_PAYMENT_STRICT_RECEIVE_"
    if dest_amount <= 0 or send_max <= 0:
        return _failed(prefix + "MALFORMED", L0)
    if not L0.account_exists(source):
        raise ValueError(f"source account {source!r} does not exist (txNO_ACCOUNT, not modelled)")
    L = L0.copy()
    bypass = _bypass_issuer_check(path, send_asset, dest_asset, destination)
    if not bypass and not L.account_exists(destination):
        return _failed(prefix + "NO_DESTINATION", L0)
    err = _update_dest_balance(L, destination, dest_asset, dest_amount, bypass, prefix)  # l.73-77
    if err:
        return _failed(err, L0)
    full_path = list(reversed(path)) + [send_asset]
    recv = dest_asset
    max_amount_recv = dest_amount
    budget = L.max_offers_to_cross if L.protocol >= 11 else INT64_MAX  # l.92-97
    hops: list = []
    claims: list = []
    for send in full_path:
        if recv == send:
            continue
        if not _check_issuer(L, send):
            return _failed(prefix + "NO_ISSUER", L0, hops)
        L, hop, err = _convert(L, source, budget, send, INT64_MAX, recv, max_amount_recv, STRICT_RECEIVE, prefix,
                               False)
        hops.append(hop)
        if err:
            return _failed(err, L0, hops)
        budget = hop.budget_after
        max_amount_recv = hop.amount_send
        recv = send
        claims[:0] = hop.claims  # l.124-127: inserted in front to match the path's order
    if max_amount_recv > send_max:  # l.130-134
        return _failed(prefix + "OVER_SENDMAX", L0, hops, max_amount_recv, dest_amount)
    err = _update_source_balance(L, source, send_asset, max_amount_recv, bypass, prefix)
    if err:
        return _failed(err, L0, hops, max_amount_recv, dest_amount)
    return OpResult(prefix + "SUCCESS", max_amount_recv, dest_amount, tuple(claims), tuple(hops), L)


# ---------------------------------------------------------------------------------------------
# Invariants (after invariant/LiabilitiesMatchOffers.cpp)
# ---------------------------------------------------------------------------------------------


def check_invariants(L: Ledger, before: Optional[Ledger] = None) -> None:
    """Assert what LiabilitiesMatchOffers checks for known accounts: liabilities equal the sum of
    their offers' liabilities (issuers' own assets excluded), balances within [liabilities, limit],
    and (for entries whose balance fell or liabilities rose since ``before``) the native reserve.
    Raises AssertionError."""
    expect: dict = {}
    for o in L.offers.values():
        assert o.amount > 0, f"offer {o.offer_id} has amount {o.amount}"
        if not L._known(o.seller):
            continue
        s, b = offer_liabilities(o.price, o.amount)
        if not is_issuer(o.seller, o.selling):
            expect.setdefault((o.seller, o.selling), [0, 0])[0] += s
        if not is_issuer(o.seller, o.buying):
            expect.setdefault((o.seller, o.buying), [0, 0])[1] += b
    for acc in L.accounts.values():
        s, b = expect.get((acc.account_id, NATIVE), (0, 0))
        assert (acc.selling_liabilities, acc.buying_liabilities) == (s, b), f"native liabilities of {acc}"
        assert acc.balance >= 0 and acc.balance <= INT64_MAX - acc.buying_liabilities, f"balance of {acc}"
        prev = before.accounts.get(acc.account_id) if before is not None else None
        check = prev is None or acc.balance < prev.balance or acc.selling_liabilities > prev.selling_liabilities \
            or acc.buying_liabilities > prev.buying_liabilities
        if check:
            assert acc.balance - get_min_balance(L, acc) >= acc.selling_liabilities, f"reserve of {acc}"
    for (aid, asset), tl in L.trustlines.items():
        s, b = expect.get((aid, asset), (0, 0))
        assert (tl.selling_liabilities, tl.buying_liabilities) == (s, b), f"liabilities of {tl}"
        assert tl.selling_liabilities <= tl.balance <= tl.limit - tl.buying_liabilities, f"balance of {tl}"
    for (aid, asset) in expect:
        if asset != NATIVE:
            assert (aid, asset) in L.trustlines, f"offer of {aid} without trust line for {asset}"
    for p in L.pools.values():
        assert p.reserve_a >= 0 and p.reserve_b >= 0
