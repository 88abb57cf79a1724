"""The ledger layer's errors, kept importable from their first home: they live in
:mod:`stellar_ob.errors` with every other error of the package."""

from __future__ import annotations

from ..errors import BrokenDexBookError, LedgerGapError

__all__ = ["LedgerGapError", "BrokenDexBookError"]
