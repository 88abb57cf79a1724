"""stellar_ob as the order-book half of a Hummingbot connector for the Stellar DEX.

Importable only where Hummingbot is installed; elsewhere ``import stellar_ob.hummingbot`` raises
ImportError with the command that installs it (:data:`INSTALL_COMMAND`). Hummingbot pins its own
numpy, pandas, web3 ... so it is installed without its dependencies, plus the few packages the
modules used here import. The conversion itself (no Hummingbot needed) is
:mod:`stellar_ob.hummingbot_convert`; everything it exports is re-exported here.

>>> from stellar_ob.hummingbot import StellarOrderBookDataSource        # doctest: +SKIP
>>> from hummingbot.core.data_type.order_book_tracker import OrderBookTracker  # doctest: +SKIP
>>> source = StellarOrderBookDataSource(                                # doctest: +SKIP
...     ["XLM-USDC"], {"USDC": "USDC:GA5ZSEJYB37JRC5AVCIA5MOP4RHTM335X2KGX3IHOJAPP5RE34K4KZVN"})
>>> tracker = OrderBookTracker(source, ["XLM-USDC"]); tracker.start()  # doctest: +SKIP
"""

from __future__ import annotations

from stellar_ob.hummingbot_convert import INSTALL_COMMAND

try:
    from hummingbot.core.data_type.order_book_tracker_data_source import OrderBookTrackerDataSource  # noqa: F401
except ImportError as _e:
    raise ImportError(
        f"stellar_ob.hummingbot needs Hummingbot, which cannot be imported here ({_e}). "
        f"Install it next to stellar_ob with: {INSTALL_COMMAND}"
    ) from _e

from stellar_ob.hummingbot.data_source import (  # noqa: E402
    HORIZON_TRADES,
    LEDGER_TRADES,
    SOURCES,
    LedgerTrade,
    MarketCounters,
    StellarOrderBookDataSource,
    TradeFeed,
    UnknownSourceError,
    horizon_trades,
    ledger_trade_content,
    ledger_trades,
)
from stellar_ob.hummingbot_convert import *  # noqa: E402,F401,F403
from stellar_ob.hummingbot_convert import __all__ as _convert_all  # noqa: E402

__all__ = ["StellarOrderBookDataSource", "TradeFeed", "MarketCounters", "UnknownSourceError", "SOURCES",
           "HORIZON_TRADES", "horizon_trades", "LEDGER_TRADES", "LedgerTrade", "ledger_trades",
           "ledger_trade_content",
           *_convert_all]
