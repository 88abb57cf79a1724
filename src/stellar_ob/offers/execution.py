"""Result types of exact execution, shared by the compiled module and the pure-Python twin.

Every amount is an int in stroops. In a :class:`Fill`, ``wheat`` is what the resting offer gave
(the asset it sells) and ``sheep`` what it got (the asset the taker pays with), the names
stellar-core uses in src/transactions/OfferExchange.cpp.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from typing import Any, Iterator, Optional, Tuple

__all__ = ["Offer", "Fill", "Execution", "PoolQuote", "HopQuote", "STOP_REASONS"]

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
    - ``complete``: sell/buy: nothing of the taker's order is left to cross (core ``eOK``);
      strict_send/strict_receive: the path payment hop succeeds.
    - ``stop_reason``: one of :data:`STOP_REASONS`.
    - ``taker_offer_amount``: for sell/buy with a ``price_limit``, the amount (in what the taker
      sells) of the offer the operation would leave in the book, after core's adjustOffer; else 0.

    Immutable; compares equal to another Execution with the same values.
    """

    # All values live in one tuple so the compiled module builds an Execution with one store.
    __slots__ = ("_v", "_fills")

    def __init__(
        self,
        fills: Tuple[Fill, ...],
        sent: int,
        received: int,
        complete: bool,
        stop_reason: str,
        taker_offer_amount: int = 0,
    ) -> None:
        object.__setattr__(self, "_v", (None, sent, received, complete, stop_reason, taker_offer_amount))
        object.__setattr__(self, "_fills", tuple(fills))

    @classmethod
    def _from_packed(
        cls, raw: bytes, sent: int, received: int, complete: bool, stop_reason: str, taker_offer_amount: int
    ) -> "Execution":
        """Build from fills packed as native-order int64 quads (offer_id, wheat, sheep, remaining)."""
        self = cls.__new__(cls)
        object.__setattr__(self, "_v", (raw, sent, received, complete, stop_reason, taker_offer_amount))
        return self

    @property
    def fills(self) -> Tuple[Fill, ...]:
        try:
            return self._fills
        except AttributeError:
            f = tuple(Fill(*q) for q in _FILL.iter_unpack(self._v[0]))
            object.__setattr__(self, "_fills", f)
            return f

    sent = property(lambda self: self._v[1], doc="total the taker paid")
    received = property(lambda self: self._v[2], doc="total the taker got")
    complete = property(lambda self: self._v[3], doc="see the class docstring")
    stop_reason = property(lambda self: self._v[4], doc="one of STOP_REASONS")
    taker_offer_amount = property(lambda self: self._v[5], doc="the taker's resting remainder")

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
            f"taker_offer_amount={self.taker_offer_amount})"
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
