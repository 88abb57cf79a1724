"""The one exception hierarchy of stellar_ob.

Defined once in pure Python so the compiled core and the pure-Python twin raise the same classes
(the aiohttp/multidict habit). Every error the package raises on purpose is a ``StellarOBError``;
those that are about a bad value are also ``ValueError`` so that generic callers catch them too.
"""

from __future__ import annotations

__all__ = [
    "ArgumentError",
    "PathFindingUnavailableError",
    "PathArgumentError",
    "StellarOBError",
    "ParseError",
    "InvalidBookError",
    "CrossedBookError",
    "PriceError",
    "AmountError",
    "AmountOverflowError",
    "AssetError",
    "AssetMismatchError",
    "OfferNotFoundError",
    "DuplicateOfferError",
    "CrossSelfError",
    "CoreWouldThrowError",
    "HorizonError",
    "RateLimitedError",
    "StreamError",
    "LedgerGapError",
    "BrokenDexBookError",
]


class StellarOBError(Exception):
    """Base class of every error stellar_ob raises on purpose."""


class ArgumentError(StellarOBError, ValueError):
    """An argument of the right type whose value cannot be used: out of range, inconsistent with
    another argument, or asking for something the object does not do (a source, server or book
    option, a filter, an XDR field). Nothing was started or changed. (A wrong type is a TypeError.)
    The more specific argument errors (:class:`PathArgumentError`) derive from it."""


class ParseError(StellarOBError, ValueError):
    """Input text (JSON, an amount, a price) is malformed or out of range.

    ``offset`` is the byte offset in the input where the problem was found (``None`` when the
    input is not a document), ``reason`` a short readable explanation.
    """

    def __init__(self, reason: str, offset: int | None = None) -> None:
        self.reason = reason
        self.offset = offset
        msg = reason if offset is None else f"{reason} (at byte {offset})"
        super().__init__(msg)


class InvalidBookError(StellarOBError, ValueError):
    """A change would leave a book invalid (bad price, bad side, ...); the book is unchanged."""


class CrossedBookError(InvalidBookError):
    """A change would leave the best bid at or above the best ask; the book is unchanged."""


class PriceError(StellarOBError, ValueError):
    """A price is not a rational of two int32 greater than zero."""


class AmountError(StellarOBError, ValueError):
    """An amount is not a whole number of stroops in range (negative, wrong type, ...)."""


class AmountOverflowError(AmountError, OverflowError):
    """An amount or a total does not fit the integer type that holds it (never wrapped)."""


class AssetError(StellarOBError, ValueError):
    """An asset string or object is not a valid Stellar asset."""


class AssetMismatchError(StellarOBError, ValueError):
    """A Horizon document is for other assets than the book it is applied to."""


class OfferNotFoundError(StellarOBError, KeyError):
    """No offer with that id is in the book."""

    def __str__(self) -> str:  # KeyError quotes its argument; we want a sentence
        return str(self.args[0]) if self.args else "offer not found"


class DuplicateOfferError(StellarOBError, ValueError):
    """An offer with that id is already in the book."""


class CrossSelfError(StellarOBError):
    """The taker would cross one of its own offers (stellar-core's CROSS_SELF)."""


class HorizonError(StellarOBError):
    """Horizon answered with an error (problem+json) or could not be reached."""

    def __init__(self, message: str, status: int | None = None, problem: dict | None = None) -> None:
        self.status = status
        self.problem = problem or {}
        super().__init__(message)


class RateLimitedError(HorizonError):
    """Horizon answered 429; ``retry_after`` is the number of seconds it asked us to wait."""

    def __init__(self, message: str, retry_after: float, status: int = 429, problem: dict | None = None) -> None:
        self.retry_after = retry_after
        super().__init__(message, status, problem)


class StreamError(HorizonError):
    """An SSE stream sent an ``event: error`` or broke mid-event."""


class LedgerGapError(StellarOBError, ValueError):
    """A ledger is not the next one the DexBook expects (``expected``, ``got``); nothing applied.

    Pass ``resync=True`` to apply it anyway: every market then becomes incomplete.
    """

    def __init__(self, expected: int, got: int) -> None:
        self.expected = expected
        self.got = got
        super().__init__(f"ledger gap: expected ledger {expected}, got {got}")


class BrokenDexBookError(StellarOBError):
    """The DexBook ran out of memory while undoing a failed ledger: it refuses every ledger until
    it is seeded again (it never keeps a half-applied ledger silently)."""


class PathFindingUnavailableError(StellarOBError, RuntimeError):
    """Path finding (:func:`stellar_ob.find_paths`) runs in the C core only: raised under
    ``STELLAR_OB_PURE=1`` or when the compiled extension is not built (there is no pure-Python twin)."""


class PathArgumentError(ArgumentError):
    """An argument of :func:`stellar_ob.find_paths` or :class:`stellar_ob.PathGraph` that cannot be a search."""


class CoreWouldThrowError(StellarOBError):
    """stellar-core would throw on this input (the transaction fails with txINTERNAL_ERROR): no
    result code exists. ``message`` and ``where`` are core's message and source line. Only a book
    built by hand can get here (a ledger's offers are always through adjustOffer)."""

    def __init__(self, message: str, where: str = "") -> None:
        super().__init__(f"stellar-core would throw: {message}" + (f" ({where})" if where else ""))
        self.message = message
        self.where = where
