"""Stellar ledger metadata (LedgerCloseMeta): decoders and their stellar-sdk reference twin."""

# ---- issue 13: the compiled decoder binding and the whole-DEX book --------------------------------
from ._ledger import FORM_BATCH, FORM_META, FORM_STREAM, LedgerReader, decode, decode_changes  # noqa: E402
from .dexbook import DexBook, DexMarket, LedgerUpdate, MarketUpdate  # noqa: E402
from .errors import BrokenDexBookError, LedgerGapError  # noqa: E402
from .records import LedgerAsset  # noqa: E402
from .files import open_ledgers, read_ledger_file  # noqa: E402

__all__ = [
    "decode", "decode_changes", "LedgerReader", "FORM_META", "FORM_BATCH", "FORM_STREAM",
    "DexBook", "DexMarket", "LedgerUpdate", "MarketUpdate", "LedgerGapError", "BrokenDexBookError",
    "LedgerAsset", "open_ledgers", "read_ledger_file",
]
# ---- end of issue 13 ------------------------------------------------------------------------------
