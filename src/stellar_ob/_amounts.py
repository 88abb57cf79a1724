"""Exact conversions between Horizon's decimal strings and integers (shared by both implementations)."""

from __future__ import annotations

import re
from fractions import Fraction

from .errors import AmountError, AmountOverflowError, ParseError, PriceError

INT32_MAX = 2**31 - 1
INT64_MAX = 2**63 - 1
UINT64_MAX = 2**64 - 1
STROOPS_PER_UNIT = 10_000_000

_AMOUNT_RE = re.compile(r"([0-9]+)(?:\.([0-9]{1,7}))?")
_DECIMAL_RE = re.compile(r"([0-9]+)(?:\.([0-9]+))?")


def parse_amount(text: str, *, max_stroops: int = INT64_MAX) -> int:
    """Parse Horizon's amount string into stroops, exactly.

    At most 7 decimals; no sign, exponent, spaces or other junk. Raises ParseError on malformed
    text and AmountOverflowError above ``max_stroops`` (int64 max by default, the ledger's limit).

    >>> parse_amount("12.3456789")
    123456789
    >>> parse_amount("1")
    10000000
    """
    if not isinstance(text, str):
        raise ParseError(f"amount must be a str, got {type(text).__name__}")
    m = _AMOUNT_RE.fullmatch(text)
    if m is None:
        if re.fullmatch(r"[0-9]+\.[0-9]{8,}", text):
            raise ParseError(f"amount has more than 7 decimals: {text!r}")
        raise ParseError(f"not an amount (digits with at most 7 decimals): {text!r}")
    whole, frac = m.group(1), m.group(2) or ""
    value = int(whole) * STROOPS_PER_UNIT + int(frac.ljust(7, "0") or "0")
    if value > max_stroops:
        raise AmountOverflowError(f"amount {text} exceeds {format_amount(max_stroops)}")
    return value


def format_amount(stroops: int) -> str:
    """Format stroops as Horizon does: always 7 decimals.

    >>> format_amount(123456789)
    '12.3456789'
    """
    if isinstance(stroops, bool) or not isinstance(stroops, int):
        raise AmountError(f"amount must be an int number of stroops, got {type(stroops).__name__}")
    if stroops < 0:
        raise AmountError(f"amount must not be negative: {stroops}")
    whole, frac = divmod(stroops, STROOPS_PER_UNIT)
    return f"{whole}.{frac:07d}"


def check_price(n: object, d: object) -> None:
    """Raise PriceError unless n and d are ints in 1..INT32_MAX."""
    for name, v in (("n", n), ("d", d)):
        if isinstance(v, bool) or not isinstance(v, int):
            raise PriceError(f"price {name} must be an int, got {type(v).__name__}")
        if not 0 < v <= INT32_MAX:
            raise PriceError(f"price {name} must be in 1..{INT32_MAX}, got {v}")


def parse_price(text: str) -> tuple[int, int]:
    """The exact reduced n/d of a decimal string, or ParseError if no int32 n/d equals it."""
    if not isinstance(text, str):
        raise ParseError(f"price must be a str, got {type(text).__name__}")
    m = _DECIMAL_RE.fullmatch(text)
    if m is None:
        raise ParseError(f"not a decimal price: {text!r}")
    frac = m.group(2) or ""
    value = Fraction(int(m.group(1) + frac), 10 ** len(frac))
    if value <= 0:
        raise ParseError(f"price must be greater than zero: {text!r}")
    if value.numerator > INT32_MAX or value.denominator > INT32_MAX:
        raise ParseError(f"no int32 n/d equals {text!r}")
    return value.numerator, value.denominator


def price_string(n: int, d: int) -> str:
    """n/d printed with 7 decimals, halves rounded away from zero (Horizon: big.Rat.FloatString(7))."""
    q = (2 * n * STROOPS_PER_UNIT + d) // (2 * d)
    whole, frac = divmod(q, STROOPS_PER_UNIT)
    return f"{whole}.{frac:07d}"
