"""The argument vocabulary both books share (OrderBook and OfferBook, compiled and twin).

* Assets: ``base`` and ``counter`` are anything :meth:`Asset.parse` reads (``"native"`` or
  ``"XLM"``, ``"CODE:ISSUER"``, an :class:`~stellar_ob.assets.Asset`, Horizon's asset JSON
  object), and must differ; otherwise :class:`~stellar_ob.errors.AssetError`.
* Sides: exactly ``"bid"`` or ``"ask"`` (a ``str`` subclass is read as the str it holds); plural
  or capitalised spellings are refused with :class:`~stellar_ob.errors.InvalidBookError`.
* The taker's side (``taker_sells=``): exactly ``"base"`` or ``"counter"``.
* Kinds of operation (``simulate``/``quote_hop``): ``"sell"``, ``"buy"``, ``"strict_send"``,
  ``"strict_receive"``.
* Integers (prices, amounts, ids, depths): exact ints; ``bool``, ``float`` and ``Decimal`` are
  refused (:mod:`stellar_ob.amounts`).

The compiled modules check the common case (an exact ``str``) in C with the same spellings and
call these functions for everything else, so both implementations accept and refuse the same
arguments with the same exceptions. docs/concepts.md states the vocabulary for users.
"""

from __future__ import annotations

from fractions import Fraction
from typing import Any, Tuple

from .amounts import INT32_MAX, exact_str
from .assets import Asset
from .errors import AssetError, InvalidBookError

SIDES = ("bid", "ask")
TAKER_SELLS = ("base", "counter")
KINDS = ("sell", "buy", "strict_send", "strict_receive")


def _asset(value: Any) -> Asset:
    """An asset from any spelling the books take (Horizon's asset JSON object included)."""
    if isinstance(value, dict):
        return Asset.from_horizon_json(value)
    return Asset.parse(value)


def book_assets(base: Any, counter: Any) -> Tuple[Asset, Asset]:
    """The (base, counter) assets of a book, parsed; AssetError if unreadable or equal."""
    b = _asset(base)
    c = _asset(counter)
    if b == c:
        raise AssetError(f"base and counter must differ (both {b})")
    return b, c


def side(value: Any) -> str:
    """``"bid"`` or ``"ask"``; InvalidBookError for anything else (no method of ``value`` runs)."""
    if isinstance(value, str):
        value = exact_str(value)
        if value == "bid" or value == "ask":
            return value
    raise InvalidBookError(f"side must be 'bid' or 'ask', got {value!r}")


def side_index(value: Any) -> int:
    """0 for ``"bid"``, 1 for ``"ask"``."""
    return 0 if side(value) == "bid" else 1


def taker_side(value: Any) -> int:
    """The book side a taker crosses: selling base hits the bids (0), selling counter the asks (1)."""
    if isinstance(value, str):
        value = exact_str(value)
        if value == "base":
            return 0
        if value == "counter":
            return 1
    raise InvalidBookError(f"taker_sells must be 'base' or 'counter', got {value!r}")


def fraction_price(value: Any) -> Tuple[int, int]:
    """(n, d) of a :class:`fractions.Fraction` price handed to ``set_level(side, price, amount)``:
    exactly its value, or InvalidBookError when no int32 n/d equals it (a Fraction is reduced, so
    its own numerator and denominator are the smallest pair) or it is not a positive Fraction.
    The slots are read directly: a subclass's properties never decide the price. (Each book reads
    its own ``Price`` class itself and calls this for everything else.)"""
    if isinstance(value, Fraction):
        try:
            n = Fraction._numerator.__get__(value)  # type: ignore[attr-defined]
            d = Fraction._denominator.__get__(value)  # type: ignore[attr-defined]
        except AttributeError:
            raise InvalidBookError("price: a Fraction without its numerator or denominator") from None
        if type(n) is not int or type(d) is not int:
            raise InvalidBookError("price: a Fraction whose numerator or denominator is not an int")
        if not (0 < n <= INT32_MAX and 0 < d <= INT32_MAX):
            raise InvalidBookError(f"price {n}/{d} has no exact n/d with both in 1..{INT32_MAX}")
        return n, d
    raise InvalidBookError(f"price must be a Price or a Fraction (exact), got {type(value).__name__}; "
                           "use set_level(side, n, d, amount) for ints or Price.parse for decimal text")


def change_parts(ch: Any) -> Tuple[Any, Any, Any, Any]:
    """``(side, n, d, amount)`` of one change given to ``apply_diff``: a 4-tuple, or a
    LevelChange-like object (``side``, ``price.n``/``price.d``, ``new_amount``). The parts are not
    checked here (each book checks them its own way); anything else is InvalidBookError."""
    if isinstance(ch, tuple) and not hasattr(ch, "new_amount"):
        try:
            side, n, d, amount = ch
        except (TypeError, ValueError):
            raise InvalidBookError(f"a change must be (side, n, d, amount), got {ch!r}") from None
        return side, n, d, amount
    if hasattr(ch, "new_amount"):
        try:
            price = ch.price
            return ch.side, price.n, price.d, ch.new_amount
        except AttributeError:
            raise InvalidBookError(f"a change must be (side, n, d, amount), got {ch!r}") from None
    raise InvalidBookError(f"a change must be (side, n, d, amount), got {ch!r}")
