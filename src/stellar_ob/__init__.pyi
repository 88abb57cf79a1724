# The package's public API, typed (the runtime picks the compiled core or the twin).
from .amounts import format_amount as format_amount, parse_amount as parse_amount
from .book._book import (
    BookDiff as BookDiff, Level as Level, LevelChange as LevelChange, OrderBook as OrderBook,
    Price as Price, Quote as Quote,
)
from .offers._offers import LiquidityPool as LiquidityPool, OfferBook as OfferBook, quote_hop as quote_hop
from .offers._offers import simulate_path as simulate_path
from .assets import Asset as Asset
from .errors import (
    AmountError as AmountError, AmountOverflowError as AmountOverflowError, AssetError as AssetError,
    AssetMismatchError as AssetMismatchError, CrossedBookError as CrossedBookError,
    CrossSelfError as CrossSelfError, DuplicateOfferError as DuplicateOfferError,
    HorizonError as HorizonError, InvalidBookError as InvalidBookError,
    OfferNotFoundError as OfferNotFoundError, ParseError as ParseError, PriceError as PriceError,
    ArgumentError as ArgumentError, PathArgumentError as PathArgumentError, PathFindingUnavailableError as PathFindingUnavailableError,
    RateLimitedError as RateLimitedError, StellarOBError as StellarOBError, StreamError as StreamError,
)
from .offers.execution import (
    Execution as Execution, Fill as Fill, HopQuote as HopQuote, Offer as Offer, PoolQuote as PoolQuote,
    MAINNET_PROTOCOL as MAINNET_PROTOCOL, CoreWouldThrowError as CoreWouldThrowError, Funds as Funds,
    PathHop as PathHop, PathResult as PathResult, Result as Result,
)
from ._paths import (
    DexPathGraph as DexPathGraph, FoundPath as FoundPath, PathGraph as PathGraph, FoundHop as FoundHop,
    PathSearch as PathSearch, find_paths as find_paths,
)
from .sync import (
    BookUpdate as BookUpdate, Drift as Drift, Horizon as Horizon, LiveBook as LiveBook,
    LiveOfferBook as LiveOfferBook, OfferBookUpdate as OfferBookUpdate, Status as Status,
)

IMPLEMENTATION: str
__version__: str
