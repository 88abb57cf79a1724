from typing import Any, Iterable, Iterator, Literal, Mapping, Optional, Sequence, Tuple, Union

from stellar_ob.assets import Asset
from stellar_ob.offers._offers import LiquidityPool, OfferBook

_AssetArg = Union[Asset, str]
_Pools = Union[Mapping[OfferBook, LiquidityPool], Iterable[Tuple[_AssetArg, _AssetArg, LiquidityPool]]]
from stellar_ob.errors import PathArgumentError as PathArgumentError
from stellar_ob.errors import PathFindingUnavailableError as PathFindingUnavailableError

MAX_HOPS: int
MAX_LIMIT: int
MAX_DESTINATIONS: int
DEFAULT_PROTOCOL: int


class FoundHop:
    send_asset: Asset
    receive_asset: Asset
    venue: str  # "book" or "pool"
    def __init__(self, send_asset: Asset, receive_asset: Asset, venue: str) -> None: ...

class FoundPath:
    kind: str
    source_asset: Asset
    destination_asset: Asset
    path: Tuple[Asset, ...]
    source_amount: int
    destination_amount: int
    hops: Tuple[FoundHop, ...]
    offers_crossed: int
    result: str
    def __init__(self, kind: str, source_asset: Asset, destination_asset: Asset, path: Tuple[Asset, ...],
                 source_amount: int, destination_amount: int, hops: Tuple[FoundHop, ...], offers_crossed: int,
                 result: str) -> None: ...

class PathSearch:
    kind: str
    paths: Tuple[FoundPath, ...]
    optimal: bool
    hop_evaluations: int
    path_executions: int
    stopped: Optional[str]  # None, "max_evaluations" or "deadline"
    search_ns: int
    def __init__(self, kind: str, paths: Tuple[FoundPath, ...], optimal: bool, hop_evaluations: int,
                 path_executions: int, stopped: Optional[str] = None, search_ns: int = 0) -> None: ...
    def __iter__(self) -> Iterator[FoundPath]: ...
    def __len__(self) -> int: ...

_Kind = Literal["strict_send", "strict_receive"]

class PathGraph:
    def __init__(self, markets: Iterable[Tuple[Any, Any, Optional[Iterable[Tuple[int, str, int, int, int]]],
                                               Optional[Tuple[int, int, int]]]], *, depth_cap: int = ...) -> None: ...
    @classmethod
    def from_books(cls, books: Iterable[OfferBook] = ..., pools: _Pools = ..., **kwargs: Any) -> "PathGraph": ...
    @property
    def asset_count(self) -> int: ...
    @property
    def market_count(self) -> int: ...
    @property
    def assets(self) -> Tuple[Asset, ...]: ...
    def find_paths(self, kind: _Kind, source_asset: _AssetArg, amount: int, destination_assets: Sequence[_AssetArg], *,
                   max_hops: int = 4, limit: int = 5, exclude_pools: bool = False, protocol: int = ...,
                   exhaustive: bool = False, max_evaluations: int = 2000000,
                   timeout: Optional[float] = None) -> PathSearch: ...

class DexPathGraph:
    state: Tuple[int, int, int, int, int]
    def __init__(self, dexbook: Any, *, depth_cap: int = ..., previous: Optional["DexPathGraph"] = None) -> None: ...
    @property
    def asset_count(self) -> int: ...
    @property
    def market_count(self) -> int: ...
    @property
    def assets(self) -> Tuple[Asset, ...]: ...
    def find_paths(self, kind: _Kind, source_asset: _AssetArg, amount: int, destination_assets: Sequence[_AssetArg], *,
                   max_hops: int = 4, limit: int = 5, exclude_pools: bool = False, protocol: Optional[int] = None,
                   exhaustive: bool = False, max_evaluations: int = 2000000, timeout: Optional[float] = None,
                   sellers_funds: bool = True) -> PathSearch: ...

def dex_state(dexbook: Any) -> Tuple[int, int, int, int, int]: ...

def find_paths(kind: _Kind, source_asset: _AssetArg, amount: int, destination_assets: Sequence[_AssetArg], *,
               books: Iterable[OfferBook] = ..., pools: _Pools = ..., max_hops: int = 4, limit: int = 5,
               exclude_pools: bool = False, protocol: int = ..., exhaustive: bool = False,
               max_evaluations: int = 2000000, timeout: Optional[float] = None) -> PathSearch: ...
