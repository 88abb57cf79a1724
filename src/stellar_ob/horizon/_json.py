"""The strict JSON reader and typed value readers of Horizon documents, in plain Python.

Used by the reference twin of the scanner (``horizon._pure``: one reader per document kind), by
``stellar_ob.horizon`` for /ledgers records (no C template for them) and by the sync layer for
problem+json error bodies. The rules are the C scanner's (csrc/horizon_json_*.c): any whitespace and key order,
unknown fields ignored (but still valid JSON), ``\\uXXXX`` escapes, a repeated key that is read is
an error, nesting deeper than 64 is an error, every error a :class:`~stellar_ob.errors.ParseError`.
"""

from __future__ import annotations

import json
import re
from functools import lru_cache
from typing import Any, FrozenSet, List, Tuple

from ..amounts import INT32_MAX, parse_amount
from ..assets import Asset, strkey_account_valid
from ..errors import AmountOverflowError, ParseError

MAX_DEPTH = 64
UINT32_MAX = 2**32 - 1

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
# Typed readers: each mirrors one helper of csrc/horizon_json_lex.c

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

