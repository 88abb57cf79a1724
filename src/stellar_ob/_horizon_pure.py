"""Horizon documents parsed exactly with the standard library: the twin of the C scanner.

Same acceptance rules as csrc/horizon_json.c (read its header for the full list): any whitespace
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

import json
import re
from dataclasses import dataclass
from fractions import Fraction
from functools import lru_cache
from typing import Any, Dict, FrozenSet, List, Optional, Tuple

from ._amounts import INT32_MAX, INT64_MAX, UINT64_MAX, parse_amount
from .assets import Asset, strkey_account_valid
from .errors import AmountOverflowError, ParseError

__all__ = [
    "OrderBookDoc", "Offer", "OffersTable", "Trade", "LiquidityPoolRecord", "offer_dtype",
    "parse_order_book", "parse_offers", "parse_offers_table", "parse_trades",
    "parse_liquidity_pools", "parse_order_book_doc", "loads", "IMPLEMENTATION",
]

IMPLEMENTATION = "py"
MAX_DEPTH = 64
UINT32_MAX = 2**32 - 1


# ---------------------------------------------------------------------------------------------
# Record types (public through stellar_ob.horizon)


@dataclass(frozen=True, slots=True)
class OrderBookDoc:
    """A GET /order_book body: levels best first, as (price, amount) pairs.

    ``price`` is the level's price_r as sent (counter per base, not reduced); ``amount`` is in
    stroops of base for asks and of counter for bids (Horizon's units), possibly above int64.
    """

    base: Asset
    counter: Asset
    bids: List[Any]
    asks: List[Any]


@dataclass(frozen=True, slots=True)
class Offer:
    """One /offers record. ``price`` is price_r as sent (units of ``buying`` per unit of
    ``selling``), ``amount`` stroops of ``selling``; ``last_modified_ledger`` is 0 if absent."""

    id: int
    seller: str
    selling: Asset
    buying: Asset
    amount: int
    price: Any
    last_modified_ledger: int


@dataclass(frozen=True, slots=True, eq=False)
class OffersTable:
    """A page of offers without a Python object per record.

    ``array`` is a numpy structured array of :func:`offer_dtype` (id, amount, n, d,
    last_modified_ledger, selling, buying, seller); ``selling`` and ``buying`` index ``assets``
    (the distinct assets of the page in order of first appearance), ``seller`` holds the
    56-byte StrKey.
    """

    array: Any
    assets: Tuple[Asset, ...]

    def __len__(self) -> int:
        return len(self.array)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, OffersTable):
            return NotImplemented
        return self.assets == other.assets and self.array.tobytes() == other.array.tobytes()

    __hash__ = None  # type: ignore[assignment]


@dataclass(frozen=True, slots=True)
class Trade:
    """One /trades record (horizon protocols Trade).

    ``ledger_close_time`` is unix seconds (UTC, sub-seconds dropped). Offer ids, accounts and
    pool ids are None when absent (an offer id of 0, which no offer has, also reads as None);
    ``liquidity_pool_fee_bp`` is None for order book trades. ``price`` is (n, d) exactly as
    sent (int64 each, not reduced): counter per base.
    """

    id: str
    paging_token: str
    ledger_close_time: int
    trade_type: str
    liquidity_pool_fee_bp: Optional[int]
    base_offer_id: Optional[int]
    base_account: Optional[str]
    base_liquidity_pool_id: Optional[str]
    base_asset: Asset
    base_amount: int
    counter_offer_id: Optional[int]
    counter_account: Optional[str]
    counter_liquidity_pool_id: Optional[str]
    counter_asset: Asset
    counter_amount: int
    base_is_seller: bool
    price: Tuple[int, int]

    @property
    def price_fraction(self) -> Fraction:
        return Fraction(self.price[0], self.price[1])


@dataclass(frozen=True, slots=True)
class LiquidityPoolRecord:
    """One /liquidity_pools record: amounts in stroops, ``reserves`` two (asset, amount) pairs."""

    id: str
    fee_bp: int
    total_shares: int
    total_trustlines: int
    reserves: Tuple[Tuple[Asset, int], ...]


for _cls in (OrderBookDoc, Offer, OffersTable, Trade, LiquidityPoolRecord):
    _cls.__module__ = "stellar_ob.horizon"  # where users import (and unpickle) them from


@lru_cache(maxsize=None)
def offer_dtype() -> Any:
    """The row of :class:`OffersTable`: the packed layout the C binding fills (88 bytes)."""
    import numpy as np

    return np.dtype([("id", "<i8"), ("amount", "<i8"), ("n", "<i4"), ("d", "<i4"),
                     ("last_modified_ledger", "<u4"), ("selling", "<u2"), ("buying", "<u2"),
                     ("seller", "S56")])


# ---------------------------------------------------------------------------------------------
# Strict JSON decoding


class _Obj(dict):
    """A JSON object that remembers which keys were repeated (the last value is kept)."""

    __slots__ = ("dups",)


class _Number:
    """A JSON number that can never be a value we read: a fraction, an exponent, a sign or more
    digits than any field holds. The C scanner rejects these wherever it reads a number, and
    only validates them where it skips one."""

    __slots__ = ("text",)

    def __init__(self, text: str) -> None:
        self.text = text


class _BadKey(Exception):
    pass


_SURROGATE = re.compile("[\ud800-\udfff]")


def _pairs(pairs: List[Tuple[str, Any]]) -> _Obj:
    out = _Obj()
    dups = None
    for k, v in pairs:
        if not k.isascii() and _SURROGATE.search(k):
            raise _BadKey(k)  # the C scanner decodes every key to UTF-8
        if k in out:
            if dups is None:
                dups = set()
            dups.add(k)
        out[k] = v
    out.dups = dups
    return out


def _parse_int(text: str) -> Any:
    if text[0] == "-" or len(text) > 20:
        return _Number(text)
    return int(text)


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def _text(data: Any) -> str:
    """The document as an exact str. A str subclass is read as the str it holds and bytes-likes
    through the buffer protocol (a subclass's encode/__bytes__ never decides what is parsed, as
    in the C scanner); a strided memoryview is read in order."""
    if isinstance(data, str):
        data = str.__str__(data)
        try:
            data.encode("utf-8")
        except UnicodeEncodeError as e:
            raise ParseError("input is not UTF-8 (lone surrogate)",
                             len(data[: e.start].encode("utf-8", "surrogatepass"))) from None
        return data
    if isinstance(data, (bytes, bytearray, memoryview)):
        try:
            return memoryview(data).tobytes().decode("utf-8")
        except UnicodeDecodeError as e:
            raise ParseError("invalid UTF-8", e.start) from None
    raise ParseError(f"expected bytes, bytearray, memoryview or str, got {type(data).__name__}")


_DEPTH_TOKENS = re.compile(r'"(?:[^"\\]|\\.)*"|[\[\]{}]', re.S)


def _check_depth(text: str) -> None:
    if text.count("{") + text.count("[") <= MAX_DEPTH:
        return
    depth = 0
    for m in _DEPTH_TOKENS.finditer(text):
        ch = m.group()
        if ch == "{" or ch == "[":
            depth += 1
            if depth > MAX_DEPTH:
                raise ParseError(f"nesting deeper than {MAX_DEPTH}", len(text[: m.start()].encode()))
        elif ch == "}" or ch == "]":
            depth -= 1


def loads(data: Any) -> Any:
    """Decode a JSON document strictly: UTF-8, no NaN/Infinity, nesting at most 64, no lone
    surrogate in a key. Objects are dicts that remember repeated keys (``.dups``), numbers that
    are not plain non-negative integers come back as opaque values."""
    text = _text(data)
    _check_depth(text)
    try:
        return json.loads(text, object_pairs_hook=_pairs, parse_float=_Number, parse_int=_parse_int,
                          parse_constant=_no_constant)
    except _BadKey:
        raise ParseError("unpaired surrogate in \\u escape") from None
    except json.JSONDecodeError as e:
        raise ParseError(e.msg, len(text[: e.pos].encode())) from None
    except (ValueError, RecursionError) as e:
        raise ParseError(str(e)) from None


# ---------------------------------------------------------------------------------------------
# Typed readers: each mirrors one helper of csrc/horizon_json.c

_MISSING = object()
_INT_TEXT = re.compile(r"0|[1-9][0-9]*")
_HEX_ID = re.compile(r"[0-9a-f]{1,64}")
_CODE = re.compile(r"[A-Za-z0-9]{1,12}")
_TIME = re.compile(r"([0-9]{4})-([0-9]{2})-([0-9]{2})[Tt]([0-9]{2}):([0-9]{2}):([0-9]{2})(?:\.[0-9]+)?"
                   r"(?:[Zz]|([+-])([0-9]{2}):([0-9]{2}))")
_ASSET_TYPES = {"native": 0, "credit_alphanum4": 1, "credit_alphanum12": 2}
_MDAYS = (31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31)


def _object(v: Any, reason: str, known: FrozenSet[str]) -> _Obj:
    """``v`` as an object whose keys in ``known`` appear at most once."""
    if not isinstance(v, _Obj):
        raise ParseError(reason)
    if v.dups:
        bad = v.dups & known
        if bad:
            raise ParseError(f'duplicate key "{min(bad)}"')
    return v


def _required(obj: _Obj, keys: Tuple[str, ...], prefix: str = "") -> None:
    for k in keys:
        if k not in obj:
            raise ParseError(f'missing key "{prefix}{k}"')


def _int(v: Any, lo: int, hi: int, allow_str: bool, reason: str) -> int:
    """int_value(): a JSON integer (or, with allow_str, a string of its digits) in lo..hi."""
    if isinstance(v, str) and allow_str:
        if not _INT_TEXT.fullmatch(v) or len(v) > 20:
            raise ParseError(reason)
        v = int(v)
    elif isinstance(v, bool) or not isinstance(v, int):
        raise ParseError(reason)
    if not lo <= v <= hi:
        raise ParseError(reason)
    return v


def _amount(v: Any, max_stroops: int, reason: str) -> int:
    if not isinstance(v, str):
        raise ParseError(reason)
    try:
        return parse_amount(v, max_stroops=max_stroops)
    except AmountOverflowError:
        raise ParseError(reason) from None
    except ParseError as e:
        if e.reason.startswith("amount has more than 7 decimals"):
            raise ParseError("amount has more than 7 decimals") from None
        raise ParseError(reason) from None


@lru_cache(maxsize=65536)
def _strkey_ok(s: str) -> bool:
    return strkey_account_valid(s)  # pure-Python CRC16: ~20 us, and a page repeats its keys


def _account(v: Any, reason: str) -> str:
    if not isinstance(v, str) or not _strkey_ok(v):
        raise ParseError(reason)
    return v


def _bool(v: Any, reason: str) -> bool:
    if v is not True and v is not False:
        raise ParseError(reason)
    return v


def _decoded_text(v: Any, reason: str) -> str:
    """A string the C scanner decodes: no lone surrogate."""
    if not isinstance(v, str) or (not v.isascii() and _SURROGATE.search(v)):
        raise ParseError(reason)
    return v


_ND = frozenset({"n", "d"})


def _nd(v: Any, hi: int, allow_str: bool, not_obj: str, bad_n: str, bad_d: str) -> Tuple[int, int]:
    obj = _object(v, not_obj, _ND)
    _required(obj, ("n", "d"))
    return _int(obj["n"], 1, hi, allow_str, bad_n), _int(obj["d"], 1, hi, allow_str, bad_d)


def _price_r(v: Any) -> Tuple[int, int]:
    return _nd(v, INT32_MAX, False, "price_r must be an object", "price_r.n must be an int32 > 0",
               "price_r.d must be an int32 > 0")


def _asset_parts(kind: Any, code: Any, issuer: Any, where: str) -> Asset:
    """asset_type_value + asset_code_value + account_value + asset_finish (``_MISSING`` = absent)."""
    if kind is _MISSING:
        raise ParseError(f'missing key "{where}asset_type"')
    kind = _decoded_text(kind, f"{where}asset_type must be native, credit_alphanum4 or credit_alphanum12")
    if kind not in _ASSET_TYPES:
        raise ParseError(f"{where}asset_type must be native, credit_alphanum4 or credit_alphanum12")
    if code is not _MISSING and (not isinstance(code, str) or not _CODE.fullmatch(code)):
        raise ParseError(f"{where}asset_code must be 1..12 characters [A-Za-z0-9]")
    if issuer is not _MISSING:
        _account(issuer, f"{where}asset_issuer must be a valid G... StrKey")
    if kind == "native":
        if code is not _MISSING or issuer is not _MISSING:
            raise ParseError(f"{where}asset_code/{where}asset_issuer do not match {where}asset_type")
        return Asset.native()
    if code is _MISSING:
        raise ParseError(f'missing key "{where}asset_code"')
    if issuer is _MISSING:
        raise ParseError(f'missing key "{where}asset_issuer"')
    if (len(code) <= 4) != (kind == "credit_alphanum4"):
        raise ParseError(f"{where}asset_code/{where}asset_issuer do not match {where}asset_type")
    return _asset_of(code, issuer)


@lru_cache(maxsize=4096)
def _asset_of(code: str, issuer: str) -> Asset:
    return Asset(code, issuer)  # validated once per distinct asset (the StrKey CRC is slow)


_ASSET_KEYS = frozenset({"asset_type", "asset_code", "asset_issuer"})


def _asset_object(v: Any) -> Asset:
    obj = _object(v, "asset must be an object", _ASSET_KEYS)
    return _asset_parts(obj.get("asset_type", _MISSING), obj.get("asset_code", _MISSING),
                        obj.get("asset_issuer", _MISSING), "")


def _asset_string(v: Any, reason: str) -> Asset:
    """"native" or "CODE:ISSUER" (liquidity pool reserves)."""
    if not isinstance(v, str):
        raise ParseError(reason)
    if v == "native":
        return Asset.native()
    code, sep, issuer = v.partition(":")
    if not sep or not _CODE.fullmatch(code) or not _strkey_ok(issuer):
        raise ParseError(reason)
    return _asset_of(code, issuer)


def _time(v: Any) -> int:
    """parse_time(): RFC 3339 as Go marshals time.Time, to unix seconds."""
    if not isinstance(v, str):
        raise ParseError("ledger_close_time must be a string")
    m = _TIME.fullmatch(v)
    bad = "ledger_close_time must be an RFC 3339 time"
    if m is None:
        raise ParseError(bad)
    y, mo, d, h, mi, sec = (int(x) for x in m.groups()[:6])
    off = 0
    if m.group(7):
        oh, om = int(m.group(8)), int(m.group(9))
        if oh > 23 or om > 59:
            raise ParseError(bad)
        off = (-1 if m.group(7) == "-" else 1) * (oh * 3600 + om * 60)
    if not (1 <= mo <= 12 and 1 <= d <= _MDAYS[mo - 1] and h <= 23 and mi <= 59 and sec <= 60):
        raise ParseError(bad)
    leap = (y % 4 == 0 and y % 100 != 0) or y % 400 == 0
    if mo == 2 and d == 29 and not leap:
        raise ParseError(bad)
    # days_from_civil (H. Hinnant), as the C scanner computes it
    yy = y - (mo <= 2)
    era = yy // 400
    yoe = yy - era * 400
    doy = (153 * (mo + (-3 if mo > 2 else 9)) + 2) // 5 + d - 1
    doe = yoe * 365 + yoe // 4 - yoe // 100 + doy
    days = era * 146097 + doe - 719468
    return days * 86400 + h * 3600 + mi * 60 + sec - off


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
    from ._pure import Level, Price

    base, counter, bids, asks = parse_order_book_doc(data)
    return OrderBookDoc(base, counter, [Level(Price(n, d), a) for n, d, a in bids],
                        [Level(Price(n, d), a) for n, d, a in asks])


# ---------------------------------------------------------------------------------------------
# Pages: {"_links":..,"_embedded":{"records":[...]}} or one record (page_or_record in C)

_EMBEDDED = frozenset({"_embedded"})
_RECORDS = frozenset({"records"})


def _records(data: Any, known: FrozenSet[str]) -> List[_Obj]:
    """The record objects of a page, or the document itself if it is one record. A document
    with both ``_embedded`` and keys of the record type is ambiguous: an error."""
    doc = _object(loads(data), "expected '{' at the start of the document", known | _EMBEDDED)
    if "_embedded" not in doc:
        return [doc]
    if not known.isdisjoint(doc.keys()):
        raise ParseError("both _embedded and record keys")
    emb = _object(doc["_embedded"], "_embedded must be an object", _RECORDS)
    if "records" not in emb:
        raise ParseError('missing key "_embedded.records"')
    recs = emb["records"]
    if not isinstance(recs, list):
        raise ParseError("_embedded.records must be an array")
    out = []
    for r in recs:
        out.append(_object(r, "record must be an object", known))
    return out


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
    from ._pure import Price

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
