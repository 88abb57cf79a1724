"""stellar_ob: fast, exact order books for the Stellar DEX.

Prices are exact int32 rationals (:class:`Price`), amounts are int stroops (1 unit =
10,000,000 stroops), never floats. The compiled core is used unless ``STELLAR_OB_PURE=1`` is set
or the extension is missing, in which case the pure-Python twin (same API) is used.

>>> import stellar_ob
>>> book = stellar_ob.OrderBook("XLM", "USDC:GA5ZSEJYB37JRC5AVCIA5MOP4RHTM335X2KGX3IHOJAPP5RE34K4KZVN")
>>> book.apply_snapshot(bids=[(1, 10, 50_000_000)], asks=[(11, 100, 20_000_000)])
>>> book.quote_buy(10_000_000).counter   # stroops of USDC to buy 1 XLM
1100000
"""

from __future__ import annotations

from typing import Any

from . import _impl
from .amounts import format_amount, parse_amount
from .assets import Asset
from .errors import *  # noqa: F401,F403
from .errors import __all__ as _errors_all
from .offers.execution import (
    MAINNET_PROTOCOL, CoreWouldThrowError, Execution, Fill, Funds, HopQuote, Offer, PathHop, PathResult, PoolQuote,
    Result,
)

_core_impl = _impl.module("book")
_offers_impl = _impl.module("offers")

Price = _core_impl.Price
Level = _core_impl.Level
LevelChange = _core_impl.LevelChange
BookDiff = _core_impl.BookDiff
Quote = _core_impl.Quote
OrderBook = _core_impl.OrderBook
OfferBook = _offers_impl.OfferBook
LiquidityPool = _offers_impl.LiquidityPool
quote_hop = _offers_impl.quote_hop
simulate_path = _offers_impl.simulate_path
#: "c" for the compiled core, "py" for the pure-Python twin.
IMPLEMENTATION: str = _impl.IMPLEMENTATION

__version__ = "0.1.0"

# The sync layer imports aiohttp: load it on first use so that books alone import fast.
_SYNC_NAMES = ("Horizon", "LiveBook", "LiveOfferBook", "BookUpdate", "OfferBookUpdate", "Drift", "Status")
# Exact path finding (stellar_ob.paths; C only: under the twin every search raises
# PathFindingUnavailableError), imported on first use.
_PATH_NAMES = ("find_paths", "PathGraph", "DexPathGraph", "PathSearch", "FoundPath", "FoundHop")


def __getattr__(name: str) -> Any:
    if name in _SYNC_NAMES:
        from . import sync

        return getattr(sync, name)
    if name in _PATH_NAMES:
        from . import paths

        return getattr(paths, name)
    raise AttributeError(f"module 'stellar_ob' has no attribute {name!r}")


__all__ = [
    "Asset", "Price", "Level", "LevelChange", "BookDiff", "Quote", "OrderBook",
    "OfferBook", "LiquidityPool", "quote_hop", "Offer", "Fill", "Execution", "PoolQuote", "HopQuote",
    "simulate_path", "Result", "Funds", "PathHop", "PathResult", "MAINNET_PROTOCOL",
    "parse_amount", "format_amount", "IMPLEMENTATION", *_SYNC_NAMES, *_PATH_NAMES, *_errors_all,
]
