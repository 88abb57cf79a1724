"""Horizon documents parsed exactly with the standard library: the twin of the C scanner.

Same acceptance rules as csrc/horizon_json.c: any whitespace and key order, unknown fields
ignored, unreduced price_r kept as sent, price_r wins over the ``price`` string, level totals up
to uint64; and ParseError (with the byte offset where one is known) for everything else.
"""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any, Dict, List, Tuple

from ._amounts import INT32_MAX, UINT64_MAX, parse_amount
from .assets import Asset
from .errors import AmountOverflowError, AssetError, ParseError

MAX_DEPTH = 64
# Keys whose duplicates change the meaning of a document (a duplicate unknown key is harmless).
_KNOWN_KEYS = frozenset({
    "bids", "asks", "base", "counter", "price_r", "price", "amount", "n", "d",
    "asset_type", "asset_code", "asset_issuer",
})


class _Dup(Exception):
    pass


def _pairs(pairs: List[Tuple[str, Any]]) -> Dict[str, Any]:
    out: Dict[str, Any] = {}
    for k, v in pairs:
        if k in out and k in _KNOWN_KEYS:
            raise _Dup(k)
        out[k] = v
    return out


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def _text(data: Any) -> str:
    if isinstance(data, str):
        return data
    if isinstance(data, (bytes, bytearray, memoryview)):
        try:
            return bytes(data).decode("utf-8")
        except UnicodeDecodeError as e:
            raise ParseError("input is not UTF-8", e.start) from None
    raise ParseError(f"expected bytes, bytearray, memoryview or str, got {type(data).__name__}")


def _check_depth(text: str) -> None:
    depth, in_str, esc = 0, False, False
    for i, ch in enumerate(text):
        if in_str:
            if esc:
                esc = False
            elif ch == "\\":
                esc = True
            elif ch == '"':
                in_str = False
        elif ch == '"':
            in_str = True
        elif ch in "[{":
            depth += 1
            if depth > MAX_DEPTH:
                raise ParseError(f"nesting deeper than {MAX_DEPTH}", len(text[:i].encode()))
        elif ch in "]}":
            depth -= 1


def loads(data: Any) -> Any:
    """Decode a JSON document strictly (no NaN, no duplicate known keys, bounded depth)."""
    text = _text(data)
    _check_depth(text)
    try:
        return json.loads(text, object_pairs_hook=_pairs, parse_float=Decimal, parse_constant=_no_constant)
    except _Dup as e:
        raise ParseError(f"duplicate key {str(e)!r}") from None
    except json.JSONDecodeError as e:
        raise ParseError(e.msg, len(text[: e.pos].encode())) from None
    except (ValueError, RecursionError) as e:
        raise ParseError(str(e)) from None


def _field(obj: Any, key: str, where: str) -> Any:
    if not isinstance(obj, dict):
        raise ParseError(f"{where} must be an object")
    if key not in obj:
        raise ParseError(f"missing field {where}.{key}")
    return obj[key]


def _int32(v: Any, where: str) -> int:
    if isinstance(v, bool) or not isinstance(v, int):
        raise ParseError(f"{where} must be an integer")
    if not 0 < v <= INT32_MAX:
        raise ParseError(f"{where} must be an int32 > 0")
    return v


def _amount(v: Any, where: str, max_stroops: int) -> int:
    if not isinstance(v, str):
        raise ParseError(f"{where} must be a string")
    try:
        return parse_amount(v, max_stroops=max_stroops)
    except AmountOverflowError:
        raise ParseError(f"{where} is out of range") from None
    except ParseError as e:
        raise ParseError(f"{where}: {e.reason}") from None


def _asset(v: Any, where: str) -> Asset:
    if not isinstance(v, dict):
        raise ParseError(f"{where} must be an object")
    try:
        return Asset.from_horizon_json(v)
    except AssetError as e:
        raise ParseError(f"{where}: {e}") from None


def _levels(v: Any, where: str) -> List[Tuple[int, int, int]]:
    if not isinstance(v, list):
        raise ParseError(f"{where} must be an array")
    out = []
    for i, lv in enumerate(v):
        at = f"{where}[{i}]"
        pr = _field(lv, "price_r", at)
        n = _int32(_field(pr, "n", f"{at}.price_r"), f"{at}.price_r.n")
        d = _int32(_field(pr, "d", f"{at}.price_r"), f"{at}.price_r.d")
        if "price" in lv and not isinstance(lv["price"], str):  # optional: price_r wins
            raise ParseError(f"{at}.price must be a string")
        out.append((n, d, _amount(_field(lv, "amount", at), f"{at}.amount", UINT64_MAX)))
    return out


def parse_order_book_doc(data: Any) -> Tuple[Asset, Asset, List[Tuple[int, int, int]], List[Tuple[int, int, int]]]:
    """(base, counter, bids, asks) of a Horizon /order_book body; levels as (n, d, stroops)."""
    doc = loads(data)
    if not isinstance(doc, dict):
        raise ParseError("an order book must be a JSON object", 0)
    bids = _levels(_field(doc, "bids", "order_book"), "bids")
    asks = _levels(_field(doc, "asks", "order_book"), "asks")
    base = _asset(_field(doc, "base", "order_book"), "base")
    counter = _asset(_field(doc, "counter", "order_book"), "counter")
    return base, counter, bids, asks
