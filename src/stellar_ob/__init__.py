"""stellar_ob: fast, exact order books for the Stellar DEX.

Prices are exact int32 rationals (:class:`Price`), amounts are int stroops (1 unit =
10,000,000 stroops), never floats. The compiled core is used unless ``STELLAR_OB_PURE=1`` is set
or the extension is missing, in which case the pure-Python twin (same API) is used.
"""

from __future__ import annotations

import os as _os

from ._amounts import format_amount, parse_amount
from .assets import Asset
from .errors import *  # noqa: F401,F403
from .errors import __all__ as _errors_all

_impl = None
if _os.environ.get("STELLAR_OB_PURE", "") in ("", "0"):
    try:
        from . import _core as _impl
    except ImportError:  # no compiled extension: fall back to the twin
        _impl = None
if _impl is None:
    from . import _pure as _impl

Price = _impl.Price
Level = _impl.Level
LevelChange = _impl.LevelChange
BookDiff = _impl.BookDiff
Quote = _impl.Quote
OrderBook = _impl.OrderBook
IMPLEMENTATION: str = _impl.IMPLEMENTATION

__version__ = "0.1.0"

__all__ = [
    "Asset", "Price", "Level", "LevelChange", "BookDiff", "Quote", "OrderBook",
    "parse_amount", "format_amount", "IMPLEMENTATION", *_errors_all,
]
