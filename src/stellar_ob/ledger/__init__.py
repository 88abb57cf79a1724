"""Stellar ledger metadata (LedgerCloseMeta): the compiled decoder, the whole-DEX book, and the
live sources that feed it (Stellar RPC, SEP-54 data lakes).

- decoding: :func:`decode`, :func:`decode_changes`, :class:`LedgerReader` (raw meta, data-lake
  batches, record-marked streams), records in :mod:`stellar_ob.ledger.records`;
- the whole DEX: :class:`DexBook` (every offer, pool, account and trust line, applied ledger by
  ledger, all or nothing), :class:`DexMarket` views, the replay tool
  (``python -m stellar_ob.ledger.replay``);
- live sources: :class:`Rpc`, :class:`DataLake` and one ordered, exactly-once :class:`LedgerStream`;
- live markets: :class:`Follow` (a DexBook kept from a source, bootstrapped from a history archive
  or a saved snapshot) and its :class:`LedgerBook` (L2) and :class:`LedgerOfferBook` (per offer)
  markets, with the Horizon ``LiveBook`` / ``LiveOfferBook`` interfaces.
"""

from stellar_ob.ledger._ledger import FORM_BATCH, FORM_META, FORM_STREAM, LedgerReader, decode, decode_changes
from stellar_ob.ledger.datalake import DataLake
from stellar_ob.ledger.dexbook import DexBook, DexMarket, LedgerUpdate, MarketUpdate
from stellar_ob.errors import BrokenDexBookError, LedgerGapError
from stellar_ob.ledger.files import open_ledgers, read_ledger_file
from stellar_ob.ledger.follow import Follow, LedgerBook, LedgerOfferBook, RpcHealth
from stellar_ob.ledger.records import LedgerAsset
from stellar_ob.ledger.rpc import Rpc, RpcError
from stellar_ob.ledger.stream import (
    Ledger,
    LedgerBatch,
    LedgerCounters,
    LedgerSourceError,
    LedgerStream,
    NetworkMismatchError,
    RetentionError,
    read_ledger_header,
)

__all__ = [
    # decoding
    "decode", "decode_changes", "LedgerReader", "FORM_META", "FORM_BATCH", "FORM_STREAM", "LedgerAsset",
    "open_ledgers", "read_ledger_file",
    # the whole DEX
    "DexBook", "DexMarket", "LedgerUpdate", "MarketUpdate", "LedgerGapError", "BrokenDexBookError",
    # live sources
    "DataLake", "Rpc", "RpcError", "Ledger", "LedgerBatch", "LedgerCounters", "LedgerSourceError",
    "LedgerStream", "NetworkMismatchError", "RetentionError", "read_ledger_header",
    # live markets
    "Follow", "LedgerBook", "LedgerOfferBook", "RpcHealth",
]
