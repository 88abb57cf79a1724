"""Result types of exact execution, shared by the compiled module and the pure-Python twin.

Every amount is an int in stroops. In a :class:`Fill`, ``wheat`` is what the resting offer gave
(the asset it sells) and ``sheep`` what it got (the asset the taker pays with), the names
stellar-core uses in src/transactions/OfferExchange.cpp.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from enum import Enum
from typing import Any, Iterator, NamedTuple, Optional, Tuple

from ..errors import CoreWouldThrowError  # noqa: F401  (re-exported: its home is stellar_ob.errors)

__all__ = [
    "Offer", "Fill", "Execution", "PoolQuote", "HopQuote", "STOP_REASONS", "Result", "Funds", "PathHop",
    "PathResult", "CoreWouldThrowError", "MAINNET_PROTOCOL", "MIN_PROTOCOL",
]

#: The protocol the public network runs today, the default ``protocol=`` of every simulation:
#: stellar-core's CURRENT_LEDGER_PROTOCOL_VERSION is 28 at the core source transliterated
#: (stellar/stellar-core src/main/Config.cpp:34, commit a9b86132; csrc/dex.h SOB_PROTOCOL_MAINNET).
#: Live books should pass Horizon's ``current_protocol_version`` instead of relying on it.
MAINNET_PROTOCOL = 28
#: The oldest protocol modelled (exchangeV10 and the liabilities rules start at 10).
MIN_PROTOCOL = 10


class Result(str, Enum):
    """What the network would answer, named after stellar-core's result codes without the
    operation's prefix (``PATH_PAYMENT_STRICT_SEND_TOO_FEW_OFFERS`` is ``TOO_FEW_OFFERS``;
    ``opEXCEEDED_WORK_LIMIT`` is ``EXCEEDED_WORK_LIMIT``; ``OFFER_CROSS_SELF`` is ``CROSS_SELF``).
    The exact XDR name is the ``result_code`` of each result. A str: ``r == "SUCCESS"`` works."""

    SUCCESS = "SUCCESS"
    MALFORMED = "MALFORMED"
    UNDERFUNDED = "UNDERFUNDED"
    LINE_FULL = "LINE_FULL"
    TOO_FEW_OFFERS = "TOO_FEW_OFFERS"
    OVER_SENDMAX = "OVER_SENDMAX"
    UNDER_DESTMIN = "UNDER_DESTMIN"
    CROSS_SELF = "CROSS_SELF"
    EXCEEDED_WORK_LIMIT = "EXCEEDED_WORK_LIMIT"
    TOO_MANY_SUBENTRIES = "TOO_MANY_SUBENTRIES"
    NOT_SUPPORTED = "NOT_SUPPORTED"
    LOW_RESERVE = "LOW_RESERVE"
    SELL_NO_TRUST = "SELL_NO_TRUST"
    BUY_NO_TRUST = "BUY_NO_TRUST"
    SELL_NOT_AUTHORIZED = "SELL_NOT_AUTHORIZED"
    BUY_NOT_AUTHORIZED = "BUY_NOT_AUTHORIZED"
    SELL_NO_ISSUER = "SELL_NO_ISSUER"
    BUY_NO_ISSUER = "BUY_NO_ISSUER"
    NOT_FOUND = "NOT_FOUND"
    SRC_NO_TRUST = "SRC_NO_TRUST"
    SRC_NOT_AUTHORIZED = "SRC_NOT_AUTHORIZED"
    NO_DESTINATION = "NO_DESTINATION"
    NO_TRUST = "NO_TRUST"
    NOT_AUTHORIZED = "NOT_AUTHORIZED"
    NO_ISSUER = "NO_ISSUER"
    #: core throws (txINTERNAL_ERROR on the network): ``quote_hop`` reports it,
    #: ``OfferBook.simulate`` and ``simulate_path`` raise :class:`CoreWouldThrowError`.
    CORE_WOULD_THROW = "CORE_WOULD_THROW"

    def __str__(self) -> str:
        return self.value

    @classmethod
    def from_code(cls, code: str) -> "Result":
        """The generic member of one of core's XDR result names."""
        for prefix in ("MANAGE_SELL_OFFER_", "MANAGE_BUY_OFFER_", "PATH_PAYMENT_STRICT_SEND_",
                       "PATH_PAYMENT_STRICT_RECEIVE_", "op"):
            if code.startswith(prefix):
                code = code[len(prefix):]
                break
        if code == "OFFER_CROSS_SELF":
            code = "CROSS_SELF"
        return cls(code)


class Funds(NamedTuple):
    """One asset of an account as the ledger holds it (a trust line, or the native balance).

    ``limit`` None is unlimited (INT64_MAX; the native asset has no limit). ``authorized``:
    AUTHORIZED_FLAG; ``maintain_liabilities``: AUTHORIZED_TO_MAINTAIN_LIABILITIES_FLAG.
    """

    balance: int
    limit: Optional[int] = None
    buying_liabilities: int = 0
    selling_liabilities: int = 0
    authorized: bool = True
    maintain_liabilities: bool = False

#: Why a walk over the book stopped.
#:
#: - ``"filled"``: the taker's side was used up, or the taker was the smaller side of the last
#:   cross (core's ``eOK``): nothing of the taker's order is left to cross.
#: - ``"price_limit"``: the next offer is worse than ``price_limit`` (``eFilterStopBadPrice``).
#: - ``"no_offers"``: the book ran out (``ePartial``).
#: - ``"too_many_offers"``: a 1001st offer would have to be crossed (``opEXCEEDED_WORK_LIMIT``;
#:   the whole operation fails).
#: - ``"send_max"``: strict receive needed more than ``max_send`` (``..._OVER_SENDMAX``).
#: - ``"underfunded"``: strict send of more than ``max_send`` (the taker's balance).
#: - ``"cross_self"``: only inside :func:`quote_hop` results; ``simulate`` raises CrossSelfError.
STOP_REASONS = ("filled", "price_limit", "no_offers", "too_many_offers", "send_max", "underfunded", "cross_self")

_FILL = struct.Struct("=qqqq")  # native order: the C core writes int64 quads
#: numpy dtype of :attr:`Execution.fills_array` (native int64 quads).
FILL_DTYPE = [("offer_id", "=i8"), ("wheat", "=i8"), ("sheep", "=i8"), ("remaining", "=i8")]


@dataclass(frozen=True, slots=True)
class Offer:
    """One resting offer of an OfferBook, as the ledger holds it.

    ``side`` is "ask" (sells base for counter) or "bid" (sells counter for base); ``n``/``d`` is
    the offer's own price (units of what it buys per unit of what it sells, Horizon's /offers
    ``price_r``); ``amount`` is in what it sells (base for asks, counter for bids).
    """

    offer_id: int
    side: str
    n: int
    d: int
    amount: int
    seller: Any = None


@dataclass(frozen=True, slots=True)
class Fill:
    """One resting offer crossed: ``wheat`` it gave, ``sheep`` it got, ``remaining`` after (0 = removed)."""

    offer_id: int
    wheat: int
    sheep: int
    remaining: int


class Execution:
    """What one taker operation does to the book, to the stroop.

    - ``fills``: one :class:`Fill` per offer crossed, in crossing order (materialised lazily from a
      packed buffer when the compiled module produced it: building 50 objects would cost more than
      the crossing itself).
    - ``sent``: total the taker paid (the asset it sells: base if ``taker_sells="base"``).
    - ``received``: total the taker got (the other asset).
    - ``result``: the :class:`Result` the network would answer for the operation (ManageSellOffer
      / ManageBuyOffer / CreatePassiveSellOffer for sell/buy, a one-hop path payment for
      strict_send/strict_receive), ``result_code`` core's exact name. Check it: a walk can stop
      "filled" where the operation fails (UNDERFUNDED before crossing, LINE_FULL, ...).
    - ``complete``: True only when the result is SUCCESS, and for sell/buy only when nothing of
      the taker's order is left to cross (core ``eOK``; else the remainder rests as an offer).
    - ``stop_reason``: one of :data:`STOP_REASONS`.
    - ``taker_offer_amount``: for sell/buy with a ``price_limit``, the amount (in what the taker
      sells) of the offer the operation would leave in the book, after core's adjustOffer; else 0.

    Immutable; compares equal to another Execution with the same values.
    """

    # All values live in one tuple so the compiled module builds an Execution with one store.
    __slots__ = ("_v", "_fills", "_arr")

    def __init__(
        self,
        fills: Tuple[Fill, ...],
        sent: int,
        received: int,
        complete: bool,
        stop_reason: str,
        taker_offer_amount: int = 0,
        result: Optional[Result] = None,
        result_code: Optional[str] = None,
    ) -> None:
        fills = tuple(fills)
        raw = b"".join(_FILL.pack(f.offer_id, f.wheat, f.sheep, f.remaining) for f in fills)
        object.__setattr__(self, "_v", (raw, sent, received, complete, stop_reason, taker_offer_amount,
                                        result, result_code))
        object.__setattr__(self, "_fills", fills)

    @classmethod
    def _from_packed(
        cls, raw: bytes, sent: int, received: int, complete: bool, stop_reason: str, taker_offer_amount: int,
        result: Optional[Result] = None, result_code: Optional[str] = None,
    ) -> "Execution":
        """Build from fills packed as native-order int64 quads (offer_id, wheat, sheep, remaining)."""
        self = cls.__new__(cls)
        object.__setattr__(self, "_v", (raw, sent, received, complete, stop_reason, taker_offer_amount,
                                        result, result_code))
        return self

    @property
    def fills(self) -> Tuple[Fill, ...]:
        try:
            return self._fills
        except AttributeError:
            f = tuple(Fill(*q) for q in _FILL.iter_unpack(self._v[0]))
            object.__setattr__(self, "_fills", f)
            return f

    @property
    def fills_array(self) -> Any:
        """The fills as a numpy structured array (fields ``offer_id``, ``wheat``, ``sheep``,
        ``remaining``, int64) viewing the packed buffer: no object per row. Read-only."""
        try:
            return self._arr
        except AttributeError:
            import numpy as np

            a = np.frombuffer(self._v[0], dtype=FILL_DTYPE)
            object.__setattr__(self, "_arr", a)
            return a

    sent = property(lambda self: self._v[1], doc="total the taker paid")
    received = property(lambda self: self._v[2], doc="total the taker got")
    complete = property(lambda self: self._v[3], doc="see the class docstring")
    stop_reason = property(lambda self: self._v[4], doc="one of STOP_REASONS")
    taker_offer_amount = property(lambda self: self._v[5], doc="the taker's resting remainder")
    result = property(lambda self: self._v[6],
                      doc="the :class:`Result` the network would answer (None: not computed, the twin)")
    result_code = property(lambda self: self._v[7], doc="core's exact XDR result name, e.g. "
                           "'MANAGE_SELL_OFFER_UNDERFUNDED'")

    @property
    def offers_crossed(self) -> int:
        """Number of offers crossed (len(fills)) without materialising the fills."""
        try:
            return len(self._fills)
        except AttributeError:
            return len(self._v[0]) // _FILL.size

    def __setattr__(self, name: str, value: Any) -> None:
        raise AttributeError("Execution is immutable")

    def __delattr__(self, name: str) -> None:
        raise AttributeError("Execution is immutable")

    def _key(self) -> tuple:
        return (self.fills, self.sent, self.received, self.complete, self.stop_reason, self.taker_offer_amount)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Execution):
            return NotImplemented
        return self._key() == other._key()

    def __hash__(self) -> int:
        return hash(self._key())

    def __iter__(self) -> Iterator[Fill]:
        return iter(self.fills)

    def __len__(self) -> int:
        return self.offers_crossed

    def __repr__(self) -> str:
        return (
            f"Execution(sent={self.sent}, received={self.received}, complete={self.complete}, "
            f"stop_reason={self.stop_reason!r}, offers_crossed={self.offers_crossed}, "
            f"taker_offer_amount={self.taker_offer_amount}, result={self.result!s})"
        )


@dataclass(frozen=True, slots=True)
class PoolQuote:
    """A constant-product pool exchange: the taker sends ``sent`` and receives ``received``."""

    sent: int
    received: int


@dataclass(frozen=True, slots=True)
class HopQuote:
    """One path-payment hop as core would route it (book or pool, never split).

    ``venue`` is "book", "pool" or None (the hop fails: see ``stop_reason``). ``execution`` is the
    book walk core computed (even when the pool was chosen), ``pool`` the pool quote (None when the
    pool cannot do it).
    """

    venue: Optional[str]
    sent: int
    received: int
    stop_reason: str
    execution: Optional[Execution]
    pool: Optional[PoolQuote]
    result: Optional[Result] = None
    result_code: Optional[str] = None

    @property
    def complete(self) -> bool:
        """True only when the network would answer SUCCESS."""
        return self.result is Result.SUCCESS if self.result is not None else self.venue is not None


@dataclass(frozen=True, slots=True)
class PathHop:
    """One conversion of a path payment, in execution order (strict receive: destination first).

    ``venue`` is "book", "pool" or None (the hop failed before choosing); ``sent``/``received``
    what the hop moved (the taker's side); ``book_sent``/``book_received`` and
    ``pool_sent``/``pool_received`` what each venue offered (None: not quoted); ``fills`` the
    offers the chosen venue took (offer_id, wheat, sheep, remaining); empty for a pool.
    """

    send_asset: Any
    recv_asset: Any
    venue: Optional[str]
    sent: int
    received: int
    book_sent: int
    book_received: int
    pool_sent: Optional[int]
    pool_received: Optional[int]
    offers_crossed: int
    raw_fills: bytes = b""

    @property
    def fills(self) -> Tuple[Fill, ...]:
        """The offers this hop took (built on each read from the packed ``raw_fills``)."""
        return tuple(Fill(*q) for q in _FILL.iter_unpack(self.raw_fills))

    @property
    def fills_array(self) -> Any:
        """The fills as a numpy structured array over ``raw_fills`` (``FILL_DTYPE``)."""
        import numpy as np

        return np.frombuffer(self.raw_fills, dtype=FILL_DTYPE)


@dataclass(frozen=True, slots=True)
class PathResult:
    """A path payment as the network would apply it: ``result`` (and core's ``result_code``),
    ``complete`` (True only for SUCCESS), what the source ``sent`` and the destination
    ``received`` (as far as core computed them), and each hop."""

    result: Result
    result_code: str
    sent: int
    received: int
    hops: Tuple[PathHop, ...]

    @property
    def complete(self) -> bool:
        return self.result is Result.SUCCESS
