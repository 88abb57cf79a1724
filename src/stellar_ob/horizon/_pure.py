"""Horizon documents parsed exactly with the standard library: the twin of the C scanner.

Same acceptance rules as the C scanner (csrc/horizon_json_*.c; read its header for the full list): any whitespace
and key order, unknown fields ignored (but still valid JSON), ``\\uXXXX`` escapes, unreduced
``price_r`` kept as sent, ``price_r`` wins over the ``price`` string, level totals up to uint64;
and ParseError for everything else: bad JSON or UTF-8, wrong types, missing fields, n/d outside
1..INT32_MAX, amounts with more than 7 decimals or a sign, a repeated key that the parser reads
(a repeated unknown key is harmless: nothing reads it), trailing junk, nesting deeper than 64.

ParseError.offset is the byte offset for JSON syntax errors (as the C scanner reports); for
errors in well-formed JSON (a bad value, a missing field) the twin has no offset (``None``),
where the C scanner points at the value.

The record types returned by ``stellar_ob.horizon`` are defined here so that both
implementations build the same classes.
"""

from __future__ import annotations

from typing import Any, Dict, List, Tuple

from .. import _impl
from ..amounts import INT32_MAX, INT64_MAX, UINT64_MAX
from ._json import (  # noqa: F401  (the strict reader and typed readers, shared with the public parsers and sync)
    _HEX_ID, _MISSING, UINT32_MAX, _account, _amount, _asset_object, _asset_parts,
    _asset_string, _bool, _decoded_text, _int, _nd, _Obj, _object, _price_r, _records, _required,
    _time, loads,
)
from ._records import LiquidityPoolRecord, Offer, OffersTable, OrderBookDoc, Trade, offer_dtype
from ..assets import Asset
from ..errors import ParseError

__all__ = [
    "OrderBookDoc", "Offer", "OffersTable", "Trade", "LiquidityPoolRecord", "offer_dtype",
    "parse_order_book", "parse_offers", "parse_offers_table", "parse_trades",
    "parse_liquidity_pools", "parse_order_book_doc", "loads", "IMPLEMENTATION",
]

IMPLEMENTATION = "py"

# ---------------------------------------------------------------------------------------------
# /order_book

_BOOK_KEYS = frozenset({"bids", "asks", "base", "counter"})
_LEVEL_KEYS = frozenset({"price_r", "price", "amount"})


def _levels(v: Any, not_arr: str) -> List[Tuple[int, int, int]]:
    if not isinstance(v, list):
        raise ParseError(not_arr)
    out = []
    for lv in v:
        obj = _object(lv, "order book level must be an object", _LEVEL_KEYS)
        _required(obj, ("price_r", "amount"))
        n, d = _price_r(obj["price_r"])
        if "price" in obj and not isinstance(obj["price"], str):  # optional: price_r wins
            raise ParseError("price must be a string")
        out.append((n, d, _amount(obj["amount"], UINT64_MAX,
                                  "amount must be a decimal string of stroops (at most 7 decimals)")))
    return out


def parse_order_book_doc(data: Any) -> Tuple[Asset, Asset, List[Tuple[int, int, int]], List[Tuple[int, int, int]]]:
    """(base, counter, bids, asks) of a Horizon /order_book body; levels as (n, d, stroops)."""
    doc = _object(loads(data), "expected '{' at the start of the document", _BOOK_KEYS)
    _required(doc, ("bids", "asks", "base", "counter"))
    bids = _levels(doc["bids"], "bids must be an array")
    asks = _levels(doc["asks"], "asks must be an array")
    return _asset_object(doc["base"]), _asset_object(doc["counter"]), bids, asks


def parse_order_book(data: Any) -> OrderBookDoc:
    """A Horizon /order_book body as an :class:`OrderBookDoc` (levels in document order)."""
    core = _impl.twin("book")  # the twin's records carry the L2 twin's Price and Level
    Level, Price = core.Level, core.Price

    base, counter, bids, asks = parse_order_book_doc(data)
    return OrderBookDoc(base, counter, [Level(Price(n, d), a) for n, d, a in bids],
                        [Level(Price(n, d), a) for n, d, a in asks])


# -- /offers

_OFFER_KEYS = frozenset({"id", "seller", "selling", "buying", "amount", "price_r", "price",
                         "last_modified_ledger"})
_OFFER_NEED = ("id", "seller", "selling", "buying", "amount", "price_r")


def _offer_fields(r: _Obj) -> Tuple[int, str, Asset, Asset, int, int, int, int]:
    _required(r, _OFFER_NEED)
    oid = _int(r["id"], 0, INT64_MAX, True, "offer id must be an integer 0..INT64_MAX")
    seller = _account(r["seller"], "seller must be a valid G... StrKey")
    selling = _asset_object(r["selling"])
    buying = _asset_object(r["buying"])
    amount = _amount(r["amount"], INT64_MAX, "amount must be a decimal string <= 922337203685.4775807")
    n, d = _price_r(r["price_r"])
    if "price" in r and not isinstance(r["price"], str):
        raise ParseError("price must be a string")
    lml = 0
    if "last_modified_ledger" in r:
        lml = _int(r["last_modified_ledger"], 0, UINT32_MAX, False, "last_modified_ledger must be a uint32")
    return oid, seller, selling, buying, amount, n, d, lml


def parse_offers(data: Any) -> List[Offer]:
    """The records of a /offers page (or one /offers/{id} record) as :class:`Offer` objects."""
    Price = _impl.twin("book").Price

    out = []
    for r in _records(data, _OFFER_KEYS):
        oid, seller, selling, buying, amount, n, d, lml = _offer_fields(r)
        out.append(Offer(oid, seller, selling, buying, amount, Price(n, d), lml))
    return out


def parse_offers_table(data: Any) -> OffersTable:
    """The records of a /offers page as one numpy structured array (see :class:`OffersTable`)."""
    import numpy as np

    rows = [_offer_fields(r) for r in _records(data, _OFFER_KEYS)]
    assets: Dict[Asset, int] = {}
    arr = np.zeros(len(rows), dtype=offer_dtype())
    for i, (oid, seller, selling, buying, amount, n, d, lml) in enumerate(rows):
        s = assets.setdefault(selling, len(assets))
        b = assets.setdefault(buying, len(assets))
        arr[i] = (oid, amount, n, d, lml, s, b, seller.encode())
    return OffersTable(arr, tuple(assets))


# -- /trades

_TRADE_KEYS = frozenset({
    "id", "paging_token", "ledger_close_time", "trade_type", "liquidity_pool_fee_bp",
    "base_offer_id", "counter_offer_id", "base_account", "counter_account",
    "base_liquidity_pool_id", "counter_liquidity_pool_id", "base_amount", "counter_amount",
    "base_asset_type", "base_asset_code", "base_asset_issuer", "counter_asset_type",
    "counter_asset_code", "counter_asset_issuer", "base_is_seller", "price",
})
_TRADE_NEED = ("id", "paging_token", "ledger_close_time", "base_amount", "counter_amount",
               "base_asset_type", "counter_asset_type", "base_is_seller", "price")


def _text_id(v: Any, reason: str) -> str:
    """text_value(): 1..47 UTF-8 bytes, no NUL."""
    s = _decoded_text(v, reason)
    if not 1 <= len(s.encode()) <= 47 or "\0" in s:
        raise ParseError(reason)
    return s


def _opt(r: _Obj, key: str, read: Any, *args: Any) -> Any:
    return read(r[key], *args) if key in r else None


def _pool_id(v: Any, reason: str) -> str:
    if not isinstance(v, str) or not _HEX_ID.fullmatch(v):
        raise ParseError(reason)
    return v


def _trade(r: _Obj) -> Trade:
    _required(r, _TRADE_NEED)
    tid = _text_id(r["id"], "id must be a string of 1..47 bytes")
    pt = _text_id(r["paging_token"], "paging_token must be a string of 1..47 bytes")
    t = _time(r["ledger_close_time"])
    kind = r.get("trade_type", "orderbook")
    if not isinstance(kind, str) or kind not in ("orderbook", "liquidity_pool"):
        raise ParseError("trade_type must be orderbook or liquidity_pool")
    fee = _opt(r, "liquidity_pool_fee_bp", _int, 0, INT32_MAX, False, "liquidity_pool_fee_bp must be an integer >= 0")
    boff = _opt(r, "base_offer_id", _int, 0, INT64_MAX, True, "base_offer_id must be an integer 0..INT64_MAX")
    coff = _opt(r, "counter_offer_id", _int, 0, INT64_MAX, True, "counter_offer_id must be an integer 0..INT64_MAX")
    bacc = _opt(r, "base_account", _account, "base_account must be a valid G... StrKey")
    cacc = _opt(r, "counter_account", _account, "counter_account must be a valid G... StrKey")
    blp = _opt(r, "base_liquidity_pool_id", _pool_id, "base_liquidity_pool_id must be hex")
    clp = _opt(r, "counter_liquidity_pool_id", _pool_id, "counter_liquidity_pool_id must be hex")
    bamt = _amount(r["base_amount"], INT64_MAX, "base_amount must be a decimal string <= 922337203685.4775807")
    camt = _amount(r["counter_amount"], INT64_MAX, "counter_amount must be a decimal string <= 922337203685.4775807")
    bas = _asset_parts(r["base_asset_type"], r.get("base_asset_code", _MISSING),
                       r.get("base_asset_issuer", _MISSING), "base_")
    cas = _asset_parts(r["counter_asset_type"], r.get("counter_asset_code", _MISSING),
                       r.get("counter_asset_issuer", _MISSING), "counter_")
    seller = _bool(r["base_is_seller"], "base_is_seller must be true or false")
    price = _nd(r["price"], INT64_MAX, True, "price must be an object {n, d}",
                "price.n must be an integer > 0 that fits int64", "price.d must be an integer > 0 that fits int64")
    return Trade(tid, pt, t, kind, fee, boff or None, bacc, blp, bas, bamt, coff or None, cacc, clp, cas,
                 camt, seller, price)


def parse_trades(data: Any) -> List[Trade]:
    """The records of a /trades page, or one trade (e.g. the ``data:`` of a /trades stream event)."""
    return [_trade(r) for r in _records(data, _TRADE_KEYS)]


# -- /liquidity_pools

_POOL_KEYS = frozenset({"id", "fee_bp", "total_trustlines", "total_shares", "reserves"})
_RESERVE_KEYS = frozenset({"asset", "amount"})


def _reserve(v: Any) -> Tuple[Asset, int]:
    obj = _object(v, "reserve must be an object", _RESERVE_KEYS)
    _required(obj, ("asset", "amount"))
    return (_asset_string(obj["asset"], 'reserve asset must be "native" or "CODE:ISSUER"'),
            _amount(obj["amount"], INT64_MAX, "reserve amount must be a decimal string <= 922337203685.4775807"))


def _pool(r: _Obj) -> LiquidityPoolRecord:
    _required(r, ("id", "fee_bp", "total_trustlines", "total_shares", "reserves"))
    pid = _pool_id(r["id"], "liquidity pool id must be 1..64 lowercase hex")
    fee = _int(r["fee_bp"], 0, INT32_MAX, False, "fee_bp must be an integer >= 0")
    trust = _int(r["total_trustlines"], 0, INT64_MAX, True, "total_trustlines must be an integer >= 0")
    shares = _amount(r["total_shares"], INT64_MAX, "total_shares must be a decimal string <= 922337203685.4775807")
    res = r["reserves"]
    if not isinstance(res, list):
        raise ParseError("reserves must be an array")
    if len(res) != 2:
        raise ParseError("a pool has exactly two reserves")
    return LiquidityPoolRecord(pid, fee, shares, trust, (_reserve(res[0]), _reserve(res[1])))


def parse_liquidity_pools(data: Any) -> List[LiquidityPoolRecord]:
    """The records of a /liquidity_pools page, or one /liquidity_pools/{id} record."""
    return [_pool(r) for r in _records(data, _POOL_KEYS)]

