"""The public record types of Horizon documents (``stellar_ob.horizon``): plain frozen dataclasses
that the C scanner binding (``_horizon``) and the reference twin (``_pure``) both build,
so both implementations return the same classes."""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction
from functools import lru_cache
from typing import Any, List, Optional, Tuple

from ..assets import Asset

__all__ = ["OrderBookDoc", "Offer", "OffersTable", "Trade", "LiquidityPoolRecord", "offer_dtype"]

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

