"""Errors of the ledger layer (subclasses of the package's :class:`stellar_ob.StellarOBError`)."""

from __future__ import annotations

from ..errors import StellarOBError

__all__ = ["LedgerGapError", "BrokenDexBookError"]


class LedgerGapError(StellarOBError, ValueError):
    """A ledger is not the next one the DexBook expects (``expected``, ``got``); nothing applied.

    Pass ``resync=True`` to apply it anyway: every market then becomes incomplete.
    """

    def __init__(self, expected: int, got: int) -> None:
        self.expected = expected
        self.got = got
        super().__init__(f"ledger gap: expected ledger {expected}, got {got}")


class BrokenDexBookError(StellarOBError):
    """The DexBook ran out of memory while undoing a failed ledger: it refuses every ledger until
    it is seeded again (it never keeps a half-applied ledger silently)."""
