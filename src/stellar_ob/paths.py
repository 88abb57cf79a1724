"""Exact path finding (issue 15): Horizon's ``/paths/strict-send`` and ``/paths/strict-receive``,
answered with stellar-core's own path-payment rules.

:func:`find_paths` over :class:`~stellar_ob.OfferBook` / :class:`~stellar_ob.LiquidityPool` objects,
:class:`PathGraph` (a frozen copy of a set of markets, for repeated searches),
:class:`DexPathGraph` (a live :class:`stellar_ob.ledger.DexBook` searched in place, with sellers'
funds; :meth:`stellar_ob.ledger.DexBook.find_paths` uses it), and the results :class:`PathSearch`,
:class:`FoundPath`, :class:`FoundHop`. Every name is also importable from :mod:`stellar_ob`.

The search runs in the C core only (there is no pure-Python twin). Under ``STELLAR_OB_PURE=1``, or
when the compiled extension is not built, every search and every graph raises
:class:`stellar_ob.errors.PathFindingUnavailableError`.
"""

from __future__ import annotations

from typing import Any

from .errors import PathArgumentError, PathFindingUnavailableError

__all__ = ["find_paths", "PathGraph", "DexPathGraph", "PathSearch", "FoundPath", "FoundHop",
           "PathFindingUnavailableError", "PathArgumentError", "MAX_HOPS", "MAX_LIMIT", "MAX_DESTINATIONS"]

try:
    from . import _paths as _impl
except ImportError:  # the compiled extension is not built: the names exist and say why they cannot run
    _impl = None

if _impl is not None:
    find_paths = _impl.find_paths
    PathGraph = _impl.PathGraph
    DexPathGraph = _impl.DexPathGraph
    PathSearch = _impl.PathSearch
    FoundPath = _impl.FoundPath
    FoundHop = _impl.FoundHop
    MAX_HOPS: int = _impl.MAX_HOPS
    MAX_LIMIT: int = _impl.MAX_LIMIT
    MAX_DESTINATIONS: int = _impl.MAX_DESTINATIONS
else:
    _WHY = "find_paths runs in C only (no pure-Python twin) and the compiled extension is not built"

    def find_paths(*args: Any, **kwargs: Any) -> Any:  # type: ignore[misc]
        """Unavailable without the compiled extension."""
        raise PathFindingUnavailableError(_WHY)

    class _Unavailable:
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            raise PathFindingUnavailableError(_WHY)

        @classmethod
        def from_books(cls, *args: Any, **kwargs: Any) -> Any:
            raise PathFindingUnavailableError(_WHY)

    class PathGraph(_Unavailable):  # type: ignore[no-redef]
        """Unavailable without the compiled extension."""

    class DexPathGraph(_Unavailable):  # type: ignore[no-redef]
        """Unavailable without the compiled extension."""

    PathSearch = FoundPath = FoundHop = None  # type: ignore[assignment,misc]
    MAX_HOPS, MAX_LIMIT, MAX_DESTINATIONS = 6, 64, 256
