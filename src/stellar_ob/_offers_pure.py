"""Exact execution against a per-offer (L3) book and liquidity pools: the pure-Python twin.

Same API and results as the compiled ``stellar_ob._offers``; this one is the readable reference.
Everything mirrors stellar-core (src/transactions/OfferExchange.cpp, ManageOfferOpFrameBase.cpp,
PathPayment*OpFrame.cpp, src/ledger/LedgerTxnOfferSQL.cpp); the comments say where.

Units. A book has a ``base`` and a ``counter`` asset. Offers keep the ledger's view: an "ask"
sells base for counter, a "bid" sells counter for base; an offer's price n/d is its own price
(units of what it buys per unit of what it sells, Horizon /offers ``price_r``) and its amount is
in what it sells. In a crossing, *wheat* is what the resting offer sells and *sheep* what the
taker pays with: a taker selling base (``taker_sells="base"``) crosses the bids (wheat = counter,
sheep = base); a taker selling counter crosses the asks (wheat = base, sheep = counter).

Amounts are ints in stroops; prices ints; no float ever touches an amount. The only float is the
book order key ``float(n) / float(d)``, because that is how core orders offers.
"""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from fractions import Fraction
from typing import Any, Dict, Iterable, List, Optional, Tuple

from sortedcontainers import SortedList

from .errors import (
    AmountOverflowError,
    AssetMismatchError,
    CrossSelfError,
    DuplicateOfferError,
    InvalidBookError,
    OfferNotFoundError,
    ParseError,
)
from ._amounts import account_arg, count_arg, exact_int, exact_str, format_amount, offer_id_arg, parse_amount, price_string
from .execution import Execution, Fill, HopQuote, Offer, PoolQuote

__all__ = [
    "OfferBook",
    "LiquidityPool",
    "quote_hop",
    "exchange_v10",
    "adjust_offer",
    "pool_strict_send",
    "pool_strict_receive",
    "NORMAL",
    "STRICT_SEND",
    "STRICT_RECEIVE",
    "MAX_OFFERS_TO_CROSS",
]

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
_SIDES = {"bid": 0, "bids": 0, "ask": 1, "asks": 1}
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
    if isinstance(side, str):  # a str subclass is read as the str it holds: no method of it runs
        side = exact_str(side)
        s = _SIDES.get(side)
        if s is not None:
            return s
    raise InvalidBookError(f"side must be 'bid' or 'ask', got {side!r}")


def _taker_side(taker_sells: Any) -> int:
    """The book side a taker crosses: selling base hits the bids, selling counter the asks."""
    if isinstance(taker_sells, str):
        taker_sells = exact_str(taker_sells)
        if taker_sells in ("base", "a"):
            return 0
        if taker_sells in ("counter", "b"):
            return 1
    raise InvalidBookError(f"taker_sells must be 'base' or 'counter', got {taker_sells!r}")


def _kind(kind: Any) -> Any:
    """The kind of operation as (name, rounding); InvalidBookError if unknown."""
    if isinstance(kind, str):
        kind = exact_str(kind)
        if kind in _KINDS:
            return kind, _KINDS[kind]
    raise InvalidBookError(f"kind must be one of {sorted(_KINDS)}, got {kind!r}")


def _stroops(text: Any) -> int:
    """Exact stroops from a Horizon amount ("12.3456789", parsed strictly), a Decimal (as
    json.loads(parse_float=Decimal) gives) or an int; ParseError otherwise."""
    if isinstance(text, str):
        return parse_amount(text)
    if isinstance(text, int) and not isinstance(text, bool):
        v = exact_int(text, "amount")
        if v < 0:
            raise ParseError(f"amount must not be negative: {v}")
        if v > INT64_MAX:
            raise AmountOverflowError(f"amount {v} does not fit int64 stroops")
        return v
    if isinstance(text, Decimal):
        scaled = text * 10_000_000
        if not text.is_finite() or scaled != scaled.to_integral_value():
            raise ParseError(f"bad amount {text!r} (more than 7 decimals or not finite)")
        v = int(scaled)
        if v > INT64_MAX or v < 0:
            raise AmountOverflowError(f"amount {text!r} does not fit int64 stroops")
        return v
    raise ParseError(f"amount must be a decimal string, got {text!r}")


def _record_int(v: Any, lo: int, hi: int, what: str) -> int:
    """An integer field of a record given as a dict: a JSON integer or a string of its digits
    (Horizon sends int64 ids as strings), in lo..hi; ParseError otherwise (a float is not
    truncated into an id)."""
    if isinstance(v, str):
        v = exact_str(v)
        if not (0 < len(v) <= 20 and v.isascii() and v.isdigit()):
            raise ParseError(f"{what} must be an integer, got {v!r}")
        v = int(v)
    elif isinstance(v, int) and not isinstance(v, bool):
        v = exact_int(v, what)
    else:
        raise ParseError(f"{what} must be an integer, got {type(v).__name__}")
    if not lo <= v <= hi:
        raise ParseError(f"{what} out of range: {v}")
    return v


def _parse_asset(obj: Any) -> Any:
    """Asset.parse if stellar_ob.assets exists (the lead's module), else the value as given."""
    if obj is None:
        return None
    try:
        from .assets import Asset
    except ImportError:  # pragma: no cover - assets.py is being written concurrently
        return obj
    if isinstance(obj, dict):
        return Asset.from_horizon_json(obj)
    return Asset.parse(obj)


def _records(doc: Any) -> List[Dict[str, Any]]:
    """The records of a Horizon page given as a page dict, a list or one record (bytes and str
    go through the strict parsers in stellar_ob._horizon_pure instead)."""
    if isinstance(doc, (bytes, bytearray, memoryview, str)):
        from ._horizon_pure import loads

        doc = loads(doc)
    if isinstance(doc, dict):
        if "_embedded" in doc:
            return list(doc["_embedded"].get("records", []))
        return [doc]
    return list(doc)


def _offer_rows(page: Any) -> List[Tuple[int, Any, Any, int, int, int, Any]]:
    """(id, selling, buying, n, d, amount, seller) of each /offers record. Bytes and str are
    parsed strictly (stellar_ob._horizon_pure, the C scanner's twin); dicts are converted
    leniently, as before."""
    if isinstance(page, (bytes, bytearray, memoryview, str)):
        from ._horizon_pure import parse_offers

        return [(o.id, o.selling, o.buying, o.price.n, o.price.d, o.amount, o.seller)
                for o in parse_offers(page)]
    # Every record is converted to plain values here, before the book changes: a record that
    # cannot be loaded fails the whole call with the book as it was.
    rows = []
    for r in _records(page):
        try:
            selling = _parse_asset(r["selling"])
            buying = _parse_asset(r["buying"])
            pr = r["price_r"]
            n = _record_int(pr["n"], 1, INT32_MAX, "price_r.n")
            d = _record_int(pr["d"], 1, INT32_MAX, "price_r.d")
            oid = _record_int(r["id"], 0, INT64_MAX, "offer id")
            amount = _stroops(r["amount"])
            seller = r.get("seller")
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            if isinstance(exc, (ParseError, AmountOverflowError)):
                raise
            raise ParseError(f"not a Horizon offer record: {exc!r}") from None
        if seller is not None and not isinstance(seller, str):
            raise ParseError(f"offer {oid}: seller must be a string, got {type(seller).__name__}")
        rows.append((oid, selling, buying, n, d, amount, None if seller is None else exact_str(seller)))
    return rows


def _trade_fills(records: Any) -> List[Tuple[int, int]]:
    """(resting offer id, amount it sold) of each order-book trade in Horizon /trades records;
    pool trades and trades without the resting offer's id are left out. Bytes and str are
    parsed strictly (stellar_ob._horizon_pure), dicts leniently, as before."""
    out = []
    if isinstance(records, (bytes, bytearray, memoryview, str)):
        from ._horizon_pure import parse_trades

        for t in parse_trades(records):
            if t.trade_type == "liquidity_pool":
                continue
            oid = t.base_offer_id if t.base_is_seller else t.counter_offer_id
            if oid is not None:
                out.append((oid, t.base_amount if t.base_is_seller else t.counter_amount))
        return out
    for r in _records(records):
        try:
            if r.get("trade_type") == "liquidity_pool":
                continue
            seller_is_base = r.get("base_is_seller", True)
            oid = r.get("base_offer_id" if seller_is_base else "counter_offer_id")
            if oid is None or oid == "":
                continue
            oid = _record_int(oid, 0, INT64_MAX, "offer id")
            sold = _stroops(r["base_amount" if seller_is_base else "counter_amount"])
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            if isinstance(exc, (ParseError, AmountOverflowError)):
                raise
            raise ParseError(f"not a Horizon trade record: {exc!r}") from None
        out.append((oid, sold))
    return out


def _reduce(n: int, d: int) -> Tuple[int, int]:
    f = Fraction(n, d)
    return f.numerator, f.denominator


# ---------------------------------------------------------------------------------------------


class OfferBook:
    """A per-offer (L3) book of one market, ordered exactly as stellar-core orders it.

    Each side is sorted by ``float(n)/float(d)`` of the offers' own prices, ties by lower offer
    id (core LedgerTxnOfferSQL.cpp isBetterOffer), so the first offer of a side is the one core
    crosses first. add/remove/update are O(log n); ``simulate`` is O(offers crossed).

    One book is not safe for concurrent mutation from two threads (lock around it if you share
    it); even then no other book can change.

    >>> b = OfferBook("native", "USDC:GA5ZSEJYB37JRC5AVCIA5MOP4RHTM335X2KGX3IHOJAPP5RE34K4KZVN")
    >>> b.add_offer(1, "ask", 1, 10, 1_000_0000000)   # sells 1000 XLM at 0.1 USDC each
    >>> b.simulate("buy", 10_0000000, taker_sells="counter").sent   # buy 10 XLM
    10000000
    """

    __slots__ = ("base", "counter", "_offers", "_sides")

    def __init__(self, base: Any, counter: Any) -> None:
        self.base = _parse_asset(base)
        self.counter = _parse_asset(counter)
        # offer_id -> [side, n, d, amount, seller, key]
        self._offers: Dict[int, list] = {}
        # per side: SortedList of (float(n)/float(d), offer_id)
        self._sides = (SortedList(), SortedList())

    # -- maintenance ---------------------------------------------------------------------------

    def add_offer(self, offer_id: int, side: str, n: int, d: int, amount: int, seller: Optional[str] = None) -> None:
        """Add one offer: its own price n/d (Horizon ``price_r``) and amount in what it sells. O(log n).
        ``offer_id`` is an int64 >= 0 (TypeError for what is not an integer), ``seller`` an
        account id (str) or None."""
        oid = offer_id_arg(offer_id)
        s = _side(side)
        n = _price_part(n, "n")
        d = _price_part(d, "d")
        a = _amount(amount)
        seller = account_arg(seller, "seller")
        if oid in self._offers:
            raise DuplicateOfferError(f"offer {oid} is already in the book")
        key = float(n) / float(d)  # order key: core compares double(n)/double(d)
        self._offers[oid] = [s, n, d, a, seller, key]
        self._sides[s].add((key, oid))

    def remove_offer(self, offer_id: int) -> None:
        """Remove one offer. O(log n). OfferNotFoundError if absent."""
        oid = offer_id_arg(offer_id)
        rec = self._offers.pop(oid, None)
        if rec is None:
            raise OfferNotFoundError(f"offer {oid} is not in the book")
        self._sides[rec[0]].remove((rec[5], oid))

    def update_offer(self, offer_id: int, amount: int, n: Optional[int] = None, d: Optional[int] = None) -> None:
        """Set an offer's amount (0 removes it) and, with both n and d, its price. O(log n)."""
        oid = offer_id_arg(offer_id)
        a = _int(amount, "amount")
        if a != 0:
            a = _amount(a)
        if (n is None) != (d is None):
            raise InvalidBookError("give both n and d to change an offer's price")
        if n is not None:
            n = _price_part(n, "n")
            d = _price_part(d, "d")
        rec = self._offers.get(oid)
        if rec is None:
            raise OfferNotFoundError(f"offer {oid} is not in the book")
        if a == 0:
            self.remove_offer(oid)
            return
        offer_id = oid
        if n is not None:
            key = float(n) / float(d)  # order key
            if key != rec[5]:
                side = self._sides[rec[0]]
                side.remove((rec[5], offer_id))
                side.add((key, offer_id))
            rec[1], rec[2], rec[5] = n, d, key
        rec[3] = a

    def apply_fill(self, offer_id: int, amount_sold: int) -> int:
        """A trade took ``amount_sold`` (in what the offer sells) from an offer.

        The remainder is re-run through core's adjustOffer (as crossOfferV10 does after a partial
        fill), so it may shrink; an offer left with 0 is removed. Returns the new amount.
        """
        oid = offer_id_arg(offer_id)
        sold = _amount(amount_sold, "amount_sold")
        rec = self._offers.get(oid)
        if rec is None:
            raise OfferNotFoundError(f"offer {oid} is not in the book")
        if sold > rec[3]:
            raise InvalidBookError(f"offer {oid} has {rec[3]}, cannot sell {sold}")
        left = adjust_offer(rec[1], rec[2], rec[3] - sold) if sold < rec[3] else 0
        if left == 0:
            self.remove_offer(oid)
        else:
            rec[3] = left
        return left

    def clear(self) -> None:
        self._offers.clear()
        for s in self._sides:
            s.clear()

    def load_horizon_offers(self, page: Any) -> int:
        """Add or replace offers from Horizon /offers records (JSON bytes/str, a page dict, a list).

        Records selling base for counter become asks, counter for base bids; records of another
        market raise AssetMismatchError before anything changes. Returns the number loaded.
        """
        rows = []
        for oid, selling, buying, n, d, amount, seller in _offer_rows(page):
            if selling == self.base and buying == self.counter:
                side = "ask"
            elif selling == self.counter and buying == self.base:
                side = "bid"
            else:
                raise AssetMismatchError(f"offer {oid} trades {selling}/{buying}, not {self.base}/{self.counter}")
            rows.append((oid, side, n, d, amount, seller))
        for oid, side, n, d, amount, seller in rows:
            if oid in self:
                self.remove_offer(oid)
            if amount > 0:
                self.add_offer(oid, side, n, d, amount, seller)
        return len(rows)

    def apply_horizon_trades(self, records: Any) -> int:
        """Apply Horizon /trades records: each takes its amount from the resting (seller) offer.

        In a trade record the base party sold ``base_amount`` and the counter party
        ``counter_amount``; ``base_is_seller`` says which of them was the resting offer (horizon
        trades_processor.go). Trades of offers not in this book (or with pools) are skipped.
        Returns the number of fills applied.
        """
        applied = 0
        for oid, sold in _trade_fills(records):
            rec = self._offers.get(oid)
            if rec is None or sold == 0:
                continue
            self.apply_fill(oid, min(sold, rec[3]))
            applied += 1
        return applied

    # -- reading -------------------------------------------------------------------------------

    def __len__(self) -> int:
        return len(self._offers)

    def __contains__(self, offer_id: object) -> bool:
        """Whether an offer with that id is in the book. The id must be an int64 >= 0, as for
        every other method (``7.2 in book`` is a TypeError)."""
        return offer_id_arg(offer_id) in self._offers

    def _offer(self, oid: int) -> Offer:
        s, n, d, a, seller, _ = self._offers[oid]
        return Offer(oid, _SIDE_NAMES[s], n, d, a, seller)

    def get(self, offer_id: int) -> Offer:
        """The offer with that id. O(1). OfferNotFoundError if absent."""
        oid = offer_id_arg(offer_id)
        if oid not in self._offers:
            raise OfferNotFoundError(f"offer {oid} is not in the book")
        return self._offer(oid)

    def offers(self, side: str, depth: Optional[int] = None) -> List[Offer]:
        """The first ``depth`` offers of a side (all if None), in core's crossing order. O(depth)."""
        s = self._sides[_side(side)]
        it = s if depth is None else s.islice(0, count_arg(depth, "depth"))
        return [self._offer(oid) for _, oid in it]

    def best_offer(self, side: str) -> Optional[Offer]:
        """The offer core would cross first on that side, or None. O(1)."""
        s = self._sides[_side(side)]
        try:
            oid = s[0][1]
        except IndexError:
            return None
        return self._offer(oid)

    def levels(self, side: str, depth: Optional[int] = None) -> List[Tuple[int, int, int]]:
        """Aggregated (L2) levels as Horizon's /order_book shows them: ``(n, d, amount)``, best first.

        Offers are grouped by the float64 of their own n/d (horizon orderbook.go: GROUP BY the
        double ``price`` column); a level reports the n/d of its first offer (lowest id), reduced,
        inverted for bids so both sides quote counter per base. Amounts: base for asks, counter
        for bids (Horizon's units); a level's sum may exceed int64, as in Horizon.
        """
        si = _side(side)
        if depth is not None:
            depth = count_arg(depth, "depth")
        out: List[Tuple[int, int, int]] = []
        last_key = None
        for key, oid in self._sides[si]:
            rec = self._offers[oid]
            if key == last_key:
                n, d, a = out[-1]
                out[-1] = (n, d, a + rec[3])
                continue
            if depth is not None and len(out) >= depth:
                break
            last_key = key
            n, d = _reduce(rec[1], rec[2])
            if si == 0:
                n, d = d, n
            out.append((n, d, rec[3]))
        return out

    def to_order_book(self, limit: int = 200) -> Dict[str, Any]:
        """The body Horizon's GET /order_book would return for this book (``limit`` levels a side).

        Prices and amounts as Horizon prints them (7 decimals); base/counter as stored.
        """

        def side(name: str) -> List[Dict[str, Any]]:
            return [
                {"price_r": {"n": n, "d": d}, "price": price_string(n, d), "amount": format_amount(a)}
                for n, d, a in self.levels(name, limit)
            ]

        def asset(a: Any) -> Any:
            return a.to_horizon_json() if hasattr(a, "to_horizon_json") else a

        return {"bids": side("bid"), "asks": side("ask"), "base": asset(self.base), "counter": asset(self.counter)}

    def _check(self) -> None:
        """Assert every invariant (O(n)): the sides hold exactly the offers, in core's order."""
        total = 0
        for rec in self._offers.values():
            assert rec[4] is None or type(rec[4]) is str
        for si, s in enumerate(self._sides):
            prev = None
            for key, oid in s:
                rec = self._offers[oid]
                assert rec[0] == si and rec[5] == key == float(rec[1]) / float(rec[2])
                assert 0 < rec[3] <= INT64_MAX and 0 < rec[1] <= INT32_MAX and 0 < rec[2] <= INT32_MAX
                assert prev is None or prev < (key, oid)
                prev = (key, oid)
            total += len(s)
        assert total == len(self._offers)

    def _seller_count(self) -> int:
        """Distinct sellers with offers in the book (the compiled book counts the handles it keeps)."""
        return len({rec[4] for rec in self._offers.values() if rec[4] is not None})

    # -- execution -----------------------------------------------------------------------------

    def _walk(
        self,
        side: int,
        rounding: int,
        max_sheep_send: int,
        max_wheat_receive: int,
        limit: Optional[Tuple[int, int]],
        passive: bool,
        taker: Any,
        max_offers: int,
    ) -> Tuple[List[Tuple[int, int, int, int]], int, int, str]:
        """core convertWithOffers over one side, without changing the book.

        ``limit`` is maxWheatPrice (n, d): stop at an offer priced above it (at or above when
        passive). Returns (fills, sheep sent, wheat received, result).
        """
        fills: List[Tuple[int, int, int, int]] = []
        sent = received = 0
        need_more = max_wheat_receive > 0 and max_sheep_send > 0
        if not need_more:
            return fills, 0, 0, "filled"
        if max_offers <= 0:
            return fills, 0, 0, "too_many_offers"
        offers = self._offers
        for _, oid in self._sides[side]:
            _, n, d, amount, seller, _ = offers[oid]
            if limit is not None:
                # exact: offer.price > maxWheatPrice  <=>  n * lim_d > lim_n * d
                lhs, rhs = n * limit[1], limit[0] * d
                if lhs > rhs or (passive and lhs == rhs):
                    return fills, sent, received, "price_limit"
            if taker is not None and seller is not None and seller == taker:
                return fills, sent, received, "cross_self"
            if len(fills) >= max_offers:
                return fills, sent, received, "too_many_offers"
            # crossOfferV10: the (normally no-op) adjustOffer first, with the maker's receive
            # headroom unknown to Horizon taken as unlimited
            amount = adjust_offer(n, d, amount)
            wheat, sheep, wheat_stays = exchange_v10(
                n, d, amount, max_wheat_receive, max_sheep_send, INT64_MAX, rounding
            )
            remaining = adjust_offer(n, d, amount - wheat) if wheat_stays else 0
            fills.append((oid, wheat, sheep, remaining))
            sent += sheep
            max_sheep_send -= sheep
            received += wheat
            max_wheat_receive -= wheat
            if wheat_stays or max_wheat_receive <= 0 or max_sheep_send <= 0:
                return fills, sent, received, "filled"
        return fills, sent, received, "no_offers"

    def _apply_fills(self, fills: Iterable[Tuple[int, int, int, int]]) -> None:
        fills = list(fills)
        for oid, _, _, remaining in fills:  # all checked first, as the compiled book does
            rec = self._offers.get(oid)
            if rec is None:
                raise OfferNotFoundError(f"offer {oid} is not in the book")
            if not 0 <= remaining <= rec[3]:
                raise InvalidBookError(f"fill leaves offer {oid} with {remaining} of {rec[3]}")
        for oid, _, _, remaining in fills:
            if remaining == 0:
                self.remove_offer(oid)
            else:
                self._offers[oid][3] = remaining

    def simulate(
        self,
        kind: str,
        amount: int,
        *,
        taker_sells: str = "base",
        price_limit: Any = None,
        passive: bool = False,
        taker: Any = None,
        max_send: Optional[int] = None,
        apply: bool = False,
        max_offers: int = MAX_OFFERS_TO_CROSS,
    ) -> Execution:
        """What one taker operation would execute against this book, exactly as core does.

        - ``kind``: "sell" (manage_sell_offer; ``amount`` = what the taker sells), "buy"
          (manage_buy_offer; ``amount`` = what it buys), "strict_send" (``amount`` = what it
          sends), "strict_receive" (``amount`` = what it receives). NORMAL rounding with the 1%
          price-error bound for sell/buy; STRICT_SEND / STRICT_RECEIVE for the path kinds.
        - ``taker_sells``: "base" crosses the bids (the taker pays base, gets counter); "counter"
          crosses the asks (pays counter, gets base).
        - ``price_limit``: sell/buy only, the price the operation carries (``.n``/``.d`` or a
          tuple): for "sell" units of what the taker buys per unit it sells; for "buy" units of
          what it sells per unit it buys (manage_buy_offer's price). Compared exactly. None =
          no limit (and nothing rests in the book afterwards).
        - ``passive``: stop at offers priced equal to the limit too (create_passive_sell_offer).
        - ``taker``: the taker's account; crossing one of its offers raises CrossSelfError.
        - ``max_send``: the taker's balance of what it sells: caps sell/buy; a strict_receive
          needing more ends with stop_reason "send_max", a strict_send of more "underfunded".
        - ``apply``: change the book as the operation would (not when it would fail: path
          payments that are not complete, or too many offers crossed).

        Resting offers are assumed fully funded and able to receive. At most ``max_offers``
        (core: 1000) offers are crossed. O(offers crossed).
        """
        # Every argument becomes a plain value first (the compiled book: same order, same errors);
        # after this no method of the caller's objects runs until the book has changed.
        kind, rounding = _kind(kind)
        amt = _amount(amount)
        side = _taker_side(taker_sells)
        cap = INT64_MAX if max_send is None else _amount(max_send, "max_send")
        passive = bool(passive)
        limit = None
        if rounding != NORMAL:
            if price_limit is not None or passive:
                raise InvalidBookError("path payments carry no price limit (use max_send / the result)")
        elif price_limit is not None:
            pn, pd = _price_of(price_limit)
            # maxWheatPrice = Price(mPrice.d, mPrice.n); manage_buy_offer's mPrice is the inverse
            limit = (pd, pn) if kind == "sell" else (pn, pd)
        taker = account_arg(taker, "taker")
        max_offers = count_arg(max_offers, "max_offers")
        apply = bool(apply)
        if kind == "sell":
            max_sheep, max_wheat = min(amt, cap), INT64_MAX
        elif kind == "buy":
            max_sheep, max_wheat = cap, amt
        elif kind == "strict_send":
            if amt > cap:
                return Execution((), 0, 0, False, "underfunded", 0)
            max_sheep, max_wheat = amt, INT64_MAX
        else:
            max_sheep, max_wheat = INT64_MAX, amt

        fills, sent, received, result = self._walk(
            side, rounding, max_sheep, max_wheat, limit, passive, taker, max_offers
        )
        if result == "cross_self":
            raise CrossSelfError(f"the taker {taker!r} would cross its own offer {self._next_id(side, len(fills))}")

        stop = result
        taker_offer = 0
        if rounding == NORMAL:
            complete = result == "filled"
            if result in ("price_limit", "no_offers") and limit is not None:
                # ManageOfferOpFrameBase: the taker's remainder rests, after adjustOffer
                if kind == "sell":
                    own_n, own_d = limit[1], limit[0]
                    taker_offer = adjust_offer(own_n, own_d, min(amt, cap) - sent, INT64_MAX)
                else:
                    own_n, own_d = limit[1], limit[0]
                    taker_offer = adjust_offer(own_n, own_d, cap - sent if max_send is not None else INT64_MAX, amt - received)
            ok = result != "too_many_offers"
        else:
            complete = result == "filled" and (received == amt if rounding == STRICT_RECEIVE else sent == amt)
            if complete and rounding == STRICT_RECEIVE and sent > cap:
                complete, stop = False, "send_max"
            ok = complete
        if apply and ok:
            self._apply_fills(fills)
        return Execution(tuple(Fill(*f) for f in fills), sent, received, complete, stop, taker_offer)

    def _next_id(self, side: int, index: int) -> Any:
        s = self._sides[side]
        return s[index][1] if index < len(s) else None


class LiquidityPool:
    """A constant-product pool (CAP-0038) holding ``reserve_a`` and ``reserve_b`` stroops.

    With :func:`quote_hop`, ``a`` is the book's base and ``b`` its counter. Quotes are exact
    (core exchangeWithPool); None when core would not trade with the pool.

    >>> LiquidityPool(1000_0000000, 2000_0000000).strict_send(1_0000000)
    PoolQuote(sent=10000000, received=19920139)
    """

    __slots__ = ("reserve_a", "reserve_b", "fee_bp")

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
        y = pool_strict_send(to_r, from_r, self.fee_bp, amt)
        return None if y is None else PoolQuote(amt, y)

    def strict_receive(self, amount: int, *, taker_sells: str = "base") -> Optional[PoolQuote]:
        """Receive exactly ``amount`` of the other asset: what must go in, or None."""
        amt = _amount(amount)
        to_r, from_r = self._reserves(taker_sells)
        x = pool_strict_receive(to_r, from_r, self.fee_bp, amt)
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


def quote_hop(
    book: Optional[OfferBook],
    pool: Optional[LiquidityPool],
    kind: str,
    amount: int,
    *,
    taker_sells: str = "base",
    taker: Any = None,
    max_send: Optional[int] = None,
    max_offers: int = MAX_OFFERS_TO_CROSS,
    apply: bool = False,
) -> HopQuote:
    """One path-payment hop routed as core routes it (convertWithOffersAndPools).

    Core quotes the pool, then walks the whole book; it takes the book only if the book
    converts completely (``eOK``) and its price is strictly better
    (pool.sent * book.received > pool.received * book.sent), else the whole hop goes to the
    pool. Never split. ``kind`` is "strict_send" or "strict_receive"; the pool's ``a`` is the
    book's base. With ``apply`` the chosen venue is changed.
    """
    kind, rounding = _kind(kind)
    if rounding not in (STRICT_SEND, STRICT_RECEIVE):
        raise InvalidBookError("quote_hop is for path payments: kind must be 'strict_send' or 'strict_receive'")
    amt = _amount(amount)
    side = _taker_side(taker_sells)
    cap = INT64_MAX if max_send is None else _amount(max_send, "max_send")
    taker = account_arg(taker, "taker")
    max_offers = count_arg(max_offers, "max_offers")
    apply = bool(apply)
    if book is not None and not isinstance(book, OfferBook):
        raise TypeError(f"book must be an OfferBook of this module or None, got {type(book).__name__}")
    if rounding == STRICT_SEND and amt > cap:
        return HopQuote(None, 0, 0, "underfunded", None, None)

    pq = None
    if pool is not None and max_offers > 0:
        pq = pool.strict_send(amt, taker_sells=taker_sells) if rounding == STRICT_SEND else pool.strict_receive(
            amt, taker_sells=taker_sells
        )
        if pq is not None:  # read as exact ints now: nothing of the pool's runs after the walk
            pq_sent, pq_received = exact_int(pq.sent, "pool quote sent"), exact_int(pq.received, "pool quote received")
    if book is None:
        book = OfferBook(None, None)
    if rounding == STRICT_SEND:
        max_sheep, max_wheat = amt, INT64_MAX
    else:
        max_sheep, max_wheat = INT64_MAX, amt
    fills, sent, received, result = book._walk(side, rounding, max_sheep, max_wheat, None, False, taker, max_offers)
    ex = Execution(tuple(Fill(*f) for f in fills), sent, received, result == "filled", result, 0)

    use_book = pq is None or (result == "filled" and pq_sent * received > pq_received * sent)
    if use_book:
        venue: Optional[str] = "book" if result == "filled" else None
        stop, s, r = result, sent, received
    elif len(fills) >= max_offers:
        # core (protocol 27+): the offers the book walk crossed still count
        venue, stop, s, r = None, "too_many_offers", 0, 0
    else:
        venue, stop, s, r = "pool", "filled", pq_sent, pq_received
    if venue is not None and rounding == STRICT_RECEIVE and s > cap:
        venue, stop = None, "send_max"
    if apply and venue == "book":
        book._apply_fills(fills)
    elif apply and venue == "pool":
        pool.apply(pq, taker_sells=taker_sells)
    return HopQuote(venue, s, r, stop, ex, pq)
