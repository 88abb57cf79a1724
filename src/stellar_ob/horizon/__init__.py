"""Typed records from Horizon documents, parsed exactly by the C scanner.

For callers who want the records themselves rather than a book: each function takes the body as
``bytes``, ``bytearray``, ``memoryview`` or ``str`` (a REST body or the ``data:`` of a stream
event) and returns frozen dataclasses with integer stroops and exact prices, never floats.

Accepted: any whitespace and key order, unknown fields (ignored), ``\\uXXXX`` escapes, unreduced
``price_r`` (kept as sent), a ``price`` string that disagrees with ``price_r`` (``price_r`` wins),
level totals above int64, empty sides, 12-character asset codes. Anything else raises
:class:`~stellar_ob.errors.ParseError` with a readable ``reason`` and the byte ``offset`` where
the scanner stopped: truncated input, invalid JSON or UTF-8, wrong types, missing fields, n or d
outside 1..2**31-1, amounts with a sign or more than 7 decimals, a repeated key that is read,
trailing junk, nesting deeper than 64.

/ledgers records (:func:`parse_ledger`, :func:`parse_ledgers`) are read by the same strict JSON
reader in plain Python whichever implementation is active (there is no C template for them):
the same rules for nesting, numbers, duplicate keys and UTF-8, and a ParseError for anything else.

The compiled module is used unless ``STELLAR_OB_PURE=1`` is set or it is missing; the pure-Python
twin (``stellar_ob.horizon._pure``) gives the same results, without byte offsets for errors in
well-formed JSON. ``stellar_ob._impl`` makes the choice, once, for the whole package.

>>> doc = parse_order_book(b'{"bids": [], "asks": [{"price_r": {"n": 2, "d": 4}, "price": "0.5",'
...                        b' "amount": "1.5"}], "base": {"asset_type": "native"},'
...                        b' "counter": {"asset_type": "credit_alphanum4", "asset_code": "USDC",'
...                        b' "asset_issuer": "GA5ZSEJYB37JRC5AVCIA5MOP4RHTM335X2KGX3IHOJAPP5RE34K4KZVN"}}')
>>> doc.asks[0].price.n, doc.asks[0].price.d, doc.asks[0].amount
(2, 4, 15000000)
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, List, Optional, Union

from .. import _impl as _implementation
from . import _json
from ._records import LiquidityPoolRecord, Offer, OffersTable, OrderBookDoc, Trade, offer_dtype
from ..errors import ParseError

__all__ = [
    "OrderBookDoc", "Offer", "OffersTable", "Trade", "LiquidityPoolRecord", "LedgerRecord", "offer_dtype",
    "parse_order_book", "parse_offers", "parse_trades", "parse_liquidity_pools",
    "parse_liquidity_pool", "parse_ledger", "parse_ledgers", "IMPLEMENTATION",
]

Body = Union[bytes, bytearray, memoryview, str]

_impl = _implementation.module("horizon")

IMPLEMENTATION: str = _impl.IMPLEMENTATION


def parse_order_book(data: Body) -> OrderBookDoc:
    """A GET /order_book body: base, counter and both sides best first, each level a
    ``Level(price, amount)`` with price_r as sent and amount in stroops (base for asks, counter
    for bids; may exceed int64). O(size of the document)."""
    return _impl.parse_order_book(data)


def parse_offers(data: Body, *, as_numpy: bool = False) -> Union[List[Offer], OffersTable]:
    """The offers of a /offers page (or one /offers/{id} record).

    Returns a list of :class:`Offer`, or with ``as_numpy=True`` an :class:`OffersTable`: one
    numpy structured array (id, amount, n, d, last_modified_ledger, selling, buying, seller)
    with no Python object per record.
    """
    if as_numpy:
        return _impl.parse_offers_table(data)
    return _impl.parse_offers(data)


def parse_trades(data: Body) -> List[Trade]:
    """The trades of a /trades page, or one trade (the ``data:`` of a /trades stream event)."""
    return _impl.parse_trades(data)


def parse_liquidity_pools(data: Body) -> List[LiquidityPoolRecord]:
    """The pools of a /liquidity_pools page, or of one /liquidity_pools/{id} record."""
    return _impl.parse_liquidity_pools(data)


def parse_liquidity_pool(data: Body) -> LiquidityPoolRecord:
    """One /liquidity_pools/{id} record (ParseError unless the document holds exactly one pool)."""
    pools = _impl.parse_liquidity_pools(data)
    if len(pools) != 1:
        raise ParseError(f"expected one liquidity pool, the document has {len(pools)}")
    return pools[0]


# ---- /ledgers (plain Python for both implementations) --------------------------------------------


@dataclass(frozen=True, slots=True)
class LedgerRecord:
    """One /ledgers record: the fields a book needs, read strictly (the others are ignored).

    ``sequence`` is the ledger number (uint32 > 0); ``paging_token`` the record's cursor (ASCII
    digits, ``sequence << 32`` on Horizon); ``hash`` 64 lowercase hex digits when present;
    ``closed_at`` unix seconds when present.
    """

    sequence: int
    paging_token: str
    hash: Optional[str]
    closed_at: Optional[int]


_LEDGER_KEYS = frozenset({"sequence", "paging_token", "hash", "closed_at"})


def _ledger(r: Any) -> LedgerRecord:
    p = _json
    p._required(r, ("sequence", "paging_token"))
    seq = p._int(r["sequence"], 1, p.UINT32_MAX, False, "sequence must be an integer 1..UINT32_MAX")
    token = r["paging_token"]
    if not isinstance(token, str) or not token.isascii() or not token.isdigit() or len(token) > 20:
        raise ParseError("paging_token must be a string of 1..20 ASCII digits")
    h = r.get("hash")
    if h is not None and (not isinstance(h, str) or len(h) != 64 or not p._HEX_ID.fullmatch(h)):
        raise ParseError("hash must be 64 lowercase hex digits")
    closed = None
    if "closed_at" in r:
        try:
            closed = p._time(r["closed_at"])
        except ParseError:
            raise ParseError("closed_at must be an RFC 3339 time") from None
    return LedgerRecord(seq, token, h, closed)


def parse_ledgers(data: Body) -> List[LedgerRecord]:
    """The records of a /ledgers page, or one ledger (the ``data:`` of a /ledgers stream event).

    >>> parse_ledgers(b'{"sequence": 7, "paging_token": "30064771072"}')[0].sequence
    7
    """
    return [_ledger(r) for r in _json._records(data, _LEDGER_KEYS)]


def parse_ledger(data: Body) -> LedgerRecord:
    """One /ledgers record (ParseError unless the document holds exactly one ledger).

    >>> parse_ledger(b'{"sequence": 1e3, "paging_token": "1"}')
    Traceback (most recent call last):
    ...
    stellar_ob.errors.ParseError: sequence must be an integer 1..UINT32_MAX
    """
    ledgers = parse_ledgers(data)
    if len(ledgers) != 1:
        raise ParseError(f"expected one ledger, the document has {len(ledgers)}")
    return ledgers[0]
