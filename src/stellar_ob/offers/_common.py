"""What the compiled L3 module (``_offers``) and its twin (``_pure``) both use, once.

Argument checks and their messages (amounts, prices, sides, kinds, the taker's side), the reading
of Horizon records given as dicts or lists, the crossing math of stellar-core in exact Python ints
(``exchange_v10``, ``adjust_offer``, the pool formulas), the liquidity pool, and the two book
conversions that are the same for both books (:func:`load_horizon_offers` for records that are
not bytes, :func:`to_order_book`). The compiled module keeps only fast paths in C for the common
cases (an exact ``int``, an exact ``str``) and calls these for everything else, so the checks and
messages are the same in both implementations by construction.
"""

from __future__ import annotations

import json
from fractions import Fraction
from typing import Any, Dict, List, Optional, Tuple

from .. import _args

from .. import _impl
from ..amounts import exact_int, exact_str, format_amount, price_string
from ..errors import AmountOverflowError, AssetMismatchError, InvalidBookError, ParseError
from .execution import PoolQuote

INT32_MAX = 2**31 - 1
INT64_MAX = 2**63 - 1
MAX_OFFERS_TO_CROSS = 1000  # core TransactionUtils.cpp MAX_OFFERS_TO_CROSS

# core RoundingType
NORMAL = 0
STRICT_SEND = 1
STRICT_RECEIVE = 2

_KINDS = {
    "sell": NORMAL,  # manage_sell_offer
    "buy": NORMAL,  # manage_buy_offer
    "strict_send": STRICT_SEND,  # path_payment_strict_send
    "strict_receive": STRICT_RECEIVE,  # path_payment_strict_receive
}
_SIDES = {"bid": 0, "ask": 1}
_SIDE_NAMES = ("bid", "ask")


# ---------------------------------------------------------------------------------------------
# The crossing math (core OfferExchange.cpp). Python ints are exact: they stand for core's
# 128-bit products directly.


def exchange_v10(
    n: int, d: int, max_wheat_send: int, max_wheat_receive: int, max_sheep_send: int, max_sheep_receive: int,
    rounding: int,
) -> Tuple[int, int, bool]:
    """core exchangeV10: ``(wheat_received, sheep_send, wheat_stays)`` for one offer at price n/d.

    wheat = what the resting offer sells; sheep = what the taker pays. O(1).

    >>> exchange_v10(3, 2, 100, INT64_MAX, 10, INT64_MAX, NORMAL)
    (6, 9, True)
    """
    # exchangeV10WithoutPriceErrorThresholds
    wheat_value = min(max_wheat_send * n, max_sheep_receive * d)
    sheep_value = min(max_sheep_send * d, max_wheat_receive * n)
    wheat_stays = wheat_value > sheep_value
    if wheat_stays:
        if rounding == STRICT_SEND:
            wheat = sheep_value // n
            sheep = min(max_sheep_send, max_sheep_receive)
        elif n > d or rounding == STRICT_RECEIVE:
            wheat = sheep_value // n
            sheep = -(-(wheat * n) // d)  # ceil
        else:
            sheep = sheep_value // d
            wheat = (sheep * d) // n
    else:
        if n > d:
            wheat = wheat_value // n
            sheep = (wheat * n) // d
        else:
            sheep = wheat_value // d
            wheat = -(-(sheep * d) // n)  # ceil
    # applyPriceErrorThresholds
    if wheat > 0 and sheep > 0:
        if rounding == NORMAL:
            # checkPriceErrorBound(canFavorWheat=false): at most 1% off the offer's price
            lhs = 100 * n * wheat
            rhs = 100 * d * sheep
            if abs(lhs - rhs) > n * wheat:
                wheat = sheep = 0
    elif rounding != STRICT_SEND:
        # strict send may pay sheep for no wheat; otherwise both are zero together
        wheat = sheep = 0
    return wheat, sheep, wheat_stays


def adjust_offer(n: int, d: int, max_wheat_send: int, max_sheep_receive: int = INT64_MAX) -> int:
    """core adjustOffer: the amount an offer can really deliver (may shrink it, never grows it)."""
    return exchange_v10(n, d, max_wheat_send, INT64_MAX, INT64_MAX, max_sheep_receive, NORMAL)[0]


def _huge_divide(a: int, b: int, c: int, round_up: bool) -> Optional[int]:
    """core hugeDivide: a*b/c rounded, or None if it does not fit int64."""
    num = a * b
    q = -(-num // c) if round_up else num // c
    return q if q <= INT64_MAX else None


def pool_strict_send(reserve_to: int, reserve_from: int, fee_bp: int, to_pool: int) -> Optional[int]:
    """core exchangeWithPool, PATH_PAYMENT_STRICT_SEND: what the pool pays for ``to_pool``, or None.

    y = floor((10000-fee)*Y*x / (10000*X + (10000-fee)*x)); fails when y == 0 or X+x overflows.
    """
    if reserve_to <= 0 or reserve_from <= 0 or to_pool <= 0:
        return None
    if to_pool > INT64_MAX - reserve_to:
        return None
    keep = 10000 - fee_bp
    from_pool = _huge_divide(keep, reserve_from * to_pool, 10000 * reserve_to + keep * to_pool, False)
    if from_pool is None or from_pool == 0:
        return None
    return from_pool


def pool_strict_receive(reserve_to: int, reserve_from: int, fee_bp: int, from_pool: int) -> Optional[int]:
    """core exchangeWithPool, PATH_PAYMENT_STRICT_RECEIVE: what the pool wants for ``from_pool``, or None.

    Needs y < Y; x = ceil(10000*X*y / ((Y-y)*(10000-fee))), and X+x must fit int64.
    """
    if reserve_to <= 0 or reserve_from <= 0 or from_pool <= 0:
        return None
    if from_pool >= reserve_from:
        return None
    to_pool = _huge_divide(10000, reserve_to * from_pool, (reserve_from - from_pool) * (10000 - fee_bp), True)
    if to_pool is None or to_pool > INT64_MAX - reserve_to:
        return None
    return to_pool


# ---------------------------------------------------------------------------------------------
# Argument checks shared by the book and the pool.


def _int(value: Any, what: str) -> int:
    """An exact int (an int subclass is read as the int it holds; objects with ``__index__``, such
    as numpy integers, are asked once); InvalidBookError for anything else, bool included."""
    if type(value) is int:
        return value
    if isinstance(value, bool):
        raise InvalidBookError(f"{what} must be an int, got bool")
    try:
        return exact_int(value, what)
    except TypeError:
        raise InvalidBookError(f"{what} must be an int, got {type(value).__name__}") from None


def _amount(value: Any, what: str = "amount") -> int:
    a = _int(value, what)
    if a > INT64_MAX:
        raise AmountOverflowError(f"{what} {a} does not fit int64")
    if a <= 0:
        raise InvalidBookError(f"{what} must be > 0, got {a}")
    return a


def _price_part(value: Any, what: str) -> int:
    v = _int(value, what)
    if not 0 < v <= INT32_MAX:
        raise InvalidBookError(f"{what} must be an int32 > 0, got {v}")
    return v


def _reserve(value: Any) -> int:
    """A pool reserve: an int64 >= 0 (the reserves are public attributes: checked when used)."""
    r = _int(value, "reserve")
    if r < 0:
        raise InvalidBookError(f"reserves must be >= 0, got {r}")
    if r > INT64_MAX:
        raise AmountOverflowError(f"reserve {r} does not fit int64")
    return r


def _price_of(obj: Any) -> Tuple[int, int]:
    """(n, d) from an object with .n/.d (stellar_ob.Price, stellar_sdk.Price) or a 2-tuple."""
    if hasattr(obj, "n") and hasattr(obj, "d"):
        n, d = obj.n, obj.d
    elif isinstance(obj, tuple) and len(obj) == 2:
        n, d = obj
    else:
        raise InvalidBookError(f"price must have .n and .d (or be an (n, d) tuple), got {obj!r}")
    return _price_part(n, "price n"), _price_part(d, "price d")


def _side(side: Any) -> int:
    return _args.side_index(side)


def _taker_side(taker_sells: Any) -> int:
    """The book side a taker crosses: selling base hits the bids, selling counter the asks."""
    return _args.taker_side(taker_sells)


def _kind(kind: Any) -> Any:
    """The kind of operation as (name, rounding); InvalidBookError if unknown."""
    if isinstance(kind, str):
        kind = exact_str(kind)
        if kind in _KINDS:
            return kind, _KINDS[kind]
    raise InvalidBookError(f"kind must be one of {sorted(_KINDS)}, got {kind!r}")


def _parse_asset(obj: Any) -> Any:
    """Asset.parse if stellar_ob.assets exists (the lead's module), else the value as given."""
    if obj is None:
        return None
    try:
        from ..assets import Asset
    except ImportError:  # pragma: no cover - assets.py is being written concurrently
        return obj
    if isinstance(obj, dict):
        return Asset.from_horizon_json(obj)
    return Asset.parse(obj)


def _document(doc: Any) -> Any:
    """The Horizon document the strict parsers read: bytes-like and str as given; a page dict, one
    record dict or a list of records (made a page) as its JSON text. Records are decoded in one
    place, whatever form they come in: the package's Horizon scanner (or its reference twin), so
    a dict record must be what Horizon sends (every field Horizon always sends, amounts as strings).
    ParseError for anything else; nothing of the caller's runs after this returns."""
    if isinstance(doc, (bytes, bytearray, memoryview, str)):
        return doc
    if isinstance(doc, (list, tuple)):
        doc = {"_embedded": {"records": list(doc)}}
    if not isinstance(doc, dict):
        raise ParseError("expected a Horizon document (bytes, str, a page or record dict, a list of records), "
                         f"got {type(doc).__name__}")
    try:
        return json.dumps(doc, allow_nan=False, ensure_ascii=False)
    except (TypeError, ValueError, RecursionError) as exc:
        raise ParseError(f"not a JSON document: {exc}") from None


def _offer_rows(page: Any) -> List[Tuple[int, Any, Any, int, int, int, Any]]:
    """(id, selling, buying, n, d, amount, seller) of each /offers record, decoded strictly by the
    package's Horizon parser (see :func:`_document` for the forms a page may take)."""
    parse_offers = _impl.module("horizon").parse_offers
    return [(o.id, o.selling, o.buying, o.price.n, o.price.d, o.amount, o.seller)
            for o in parse_offers(_document(page))]


def _trade_fills(records: Any) -> List[Tuple[int, int]]:
    """(resting offer id, amount it sold) of each order-book trade in Horizon /trades records
    (decoded strictly by the package's Horizon parser; see :func:`_document` for the forms they
    may take); pool trades and trades without the resting offer's id are left out."""
    out = []
    for t in _impl.module("horizon").parse_trades(_document(records)):
        if t.trade_type == "liquidity_pool":
            continue
        oid = t.base_offer_id if t.base_is_seller else t.counter_offer_id
        if oid is not None:
            out.append((oid, t.base_amount if t.base_is_seller else t.counter_amount))
    return out


def _reduce(n: int, d: int) -> Tuple[int, int]:
    f = Fraction(n, d)
    return f.numerator, f.denominator


# ---------------------------------------------------------------------------------------------

# ---------------------------------------------------------------------------------------------
# Conversions both books make the same way (the book is either implementation's OfferBook).


def load_horizon_offers(book: Any, page: Any) -> int:
    """Add or replace offers of ``book`` from Horizon /offers records (JSON bytes/str, or a page
    dict, one record or a list of records, as Horizon sends them: every form is decoded by the
    strict Horizon parser). Records selling base for counter become asks, counter for base bids; records
    of another market raise AssetMismatchError before anything changes. Returns the number
    loaded. O(records * log n)."""
    rows = []
    for oid, selling, buying, n, d, amount, seller in _offer_rows(page):
        if selling == book.base and buying == book.counter:
            side = "ask"
        elif selling == book.counter and buying == book.base:
            side = "bid"
        else:
            raise AssetMismatchError(f"offer {oid} trades {selling}/{buying}, not {book.base}/{book.counter}")
        rows.append((oid, side, n, d, amount, seller))
    for oid, side, n, d, amount, seller in rows:
        if oid in book:
            book.remove_offer(oid)
        if amount > 0:
            book.add_offer(oid, side, n, d, amount, seller)
    return len(rows)


def to_order_book(book: Any, limit: int = 200) -> Dict[str, Any]:
    """The body Horizon's GET /order_book would return for ``book`` (``limit`` levels a side):
    prices and amounts as Horizon prints them (7 decimals); base/counter as stored."""

    def side(name: str) -> List[Dict[str, Any]]:
        return [
            {"price_r": {"n": n, "d": d}, "price": price_string(n, d), "amount": format_amount(a)}
            for n, d, a in book.levels(name, limit)
        ]

    def asset(a: Any) -> Any:
        return a.to_horizon_json() if hasattr(a, "to_horizon_json") else a

    return {"bids": side("bid"), "asks": side("ask"), "base": asset(book.base), "counter": asset(book.counter)}


# ---------------------------------------------------------------------------------------------
# Liquidity pools: one class for both implementations. Its checks, reserves and bookkeeping are
# written here once; only the exact pool math is the implementation's (the compiled module's
# subclass swaps in core's C functions, the twin uses the Python ones above).


class LiquidityPool:
    """A constant-product pool (CAP-0038) holding ``reserve_a`` and ``reserve_b`` stroops.

    With :func:`quote_hop`, ``a`` is the book's base and ``b`` its counter. Quotes are exact
    (core exchangeWithPool); None when core would not trade with the pool.

    >>> LiquidityPool(1000_0000000, 2000_0000000).strict_send(1_0000000)
    PoolQuote(sent=10000000, received=19920139)
    """

    __slots__ = ("reserve_a", "reserve_b", "fee_bp")
    _strict_send = staticmethod(pool_strict_send)
    _strict_receive = staticmethod(pool_strict_receive)

    def __init__(self, reserve_a: int, reserve_b: int, fee_bp: int = 30) -> None:
        ra, rb = _int(reserve_a, "reserve_a"), _int(reserve_b, "reserve_b")  # exact ints
        for r in (ra, rb):
            if r < 0:
                raise InvalidBookError(f"reserves must be >= 0, got {r}")
            if r > INT64_MAX:
                raise AmountOverflowError(f"reserve {r} does not fit int64")
        fee = _int(fee_bp, "fee_bp")
        if not 0 <= fee < 10000:
            raise InvalidBookError(f"fee_bp must be in [0, 10000), got {fee}")
        self.reserve_a, self.reserve_b, self.fee_bp = ra, rb, fee

    def _reserves(self, taker_sells: str) -> Tuple[int, int]:
        """(reserve the taker sends to, reserve it receives from), checked (public attributes)."""
        a, b = (self.reserve_a, self.reserve_b) if _taker_side(taker_sells) == 0 else (self.reserve_b, self.reserve_a)
        return _reserve(a), _reserve(b)

    def strict_send(self, amount: int, *, taker_sells: str = "base") -> Optional[PoolQuote]:
        """Send exactly ``amount`` of a (taker_sells="base") or b: what comes out, or None."""
        amt = _amount(amount)
        to_r, from_r = self._reserves(taker_sells)
        y = self._strict_send(to_r, from_r, self.fee_bp, amt)
        return None if y is None else PoolQuote(amt, y)

    def strict_receive(self, amount: int, *, taker_sells: str = "base") -> Optional[PoolQuote]:
        """Receive exactly ``amount`` of the other asset: what must go in, or None."""
        amt = _amount(amount)
        to_r, from_r = self._reserves(taker_sells)
        x = self._strict_receive(to_r, from_r, self.fee_bp, amt)
        return None if x is None else PoolQuote(x, amt)

    def apply(self, quote: PoolQuote, *, taker_sells: str = "base") -> None:
        """Move the reserves as the exchange ``quote`` would."""
        if _taker_side(taker_sells) == 0:
            self.reserve_a += quote.sent
            self.reserve_b -= quote.received
        else:
            self.reserve_b += quote.sent
            self.reserve_a -= quote.received

    def __repr__(self) -> str:
        return f"LiquidityPool(reserve_a={self.reserve_a}, reserve_b={self.reserve_b}, fee_bp={self.fee_bp})"


