"""Exact conversions between Horizon's decimal strings and integers (shared by both implementations)."""

from __future__ import annotations

import operator
import re
from fractions import Fraction

from .errors import AmountError, AmountOverflowError, InvalidBookError, ParseError, PriceError

INT32_MAX = 2**31 - 1
INT64_MAX = 2**63 - 1
UINT64_MAX = 2**64 - 1
STROOPS_PER_UNIT = 10_000_000

_AMOUNT_RE = re.compile(r"([0-9]+)(?:\.([0-9]{1,7}))?")
_DECIMAL_RE = re.compile(r"([0-9]+)(?:\.([0-9]+))?")
# Longer text is refused before any int() of it: no amount or price needs more characters, and
# Python's int() refuses (or takes quadratic time over) very long digit strings.
MAX_NUMBER_TEXT = 256


# ---------------------------------------------------------------------------------------------
# Arguments at the API's edge, the same for the compiled core and the twin. Each returns a plain
# value (an exact int or str) so that no method of a caller's object runs after the check.

def exact_str(value: object) -> str:
    """A str (or str subclass, copied as the str it holds, no method of it called) as an exact str."""
    return value if type(value) is str else str.__str__(value)  # type: ignore[arg-type]


def exact_int(value: object, what: str) -> int:
    """``value`` as an exact int: an int (an int subclass is read as the int it holds, without
    calling any method of it) or an object with ``__index__`` (numpy integers). bool, float,
    Decimal, str and the rest raise TypeError."""
    if type(value) is int:
        return value
    if isinstance(value, bool):
        raise TypeError(f"{what} must be an int, not bool")
    try:
        return operator.index(value)  # type: ignore[arg-type]
    except TypeError:
        raise TypeError(f"{what} must be an int, got {type(value).__name__}") from None


def offer_id_arg(value: object) -> int:
    """An offer id: an int64 >= 0 (Horizon's ids, and its synthetic ones above 2^62)."""
    oid = exact_int(value, "offer_id")
    if not 0 <= oid <= INT64_MAX:
        raise InvalidBookError(f"offer_id must be an int64 >= 0, got {oid}")
    return oid


def count_arg(value: object, what: str) -> int:
    """A depth, limit or max_offers: an int >= 0 (any size: it is bounded by the book)."""
    n = exact_int(value, what)
    if n < 0:
        raise InvalidBookError(f"{what} must be >= 0, got {n}")
    return n


def account_arg(value: object, what: str) -> "str | None":
    """A seller or taker account: None or a str (kept as an exact str)."""
    if value is None:
        return None
    if isinstance(value, str):
        return exact_str(value)
    raise TypeError(f"{what} must be a str account id or None, got {type(value).__name__}")


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
    text = exact_str(text)
    max_stroops = exact_int(max_stroops, "max_stroops")
    if len(text) > MAX_NUMBER_TEXT:
        raise ParseError(f"amount text longer than {MAX_NUMBER_TEXT} characters")
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
    stroops = operator.index(stroops)  # an int subclass as the int it holds
    if stroops < 0:
        raise AmountError(f"amount must not be negative: {stroops}")
    whole, frac = divmod(stroops, STROOPS_PER_UNIT)
    return f"{whole}.{frac:07d}"


def price_part(v: object, name: str) -> int:
    """One of n, d as an exact int; PriceError unless an int in 1..INT32_MAX."""
    if isinstance(v, bool) or not isinstance(v, int):
        raise PriceError(f"price {name} must be an int, got {type(v).__name__}")
    v = operator.index(v)  # an int subclass as the int it holds: its methods never run
    if not 0 < v <= INT32_MAX:
        raise PriceError(f"price {name} must be in 1..{INT32_MAX}, got {v}")
    return v


def check_price(n: object, d: object) -> tuple[int, int]:
    """(n, d) as exact ints; PriceError unless both are ints in 1..INT32_MAX."""
    return price_part(n, "n"), price_part(d, "d")


def parse_price(text: str) -> tuple[int, int]:
    """The exact reduced n/d of a decimal string, or ParseError if no int32 n/d equals it."""
    if not isinstance(text, str):
        raise ParseError(f"price must be a str, got {type(text).__name__}")
    text = exact_str(text)
    if len(text) > MAX_NUMBER_TEXT:
        raise ParseError(f"price text longer than {MAX_NUMBER_TEXT} characters")
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
