"""Stellar ledger metadata (LedgerCloseMeta): decoders and their stellar-sdk reference twin."""

# ---- live sources (issue 14): Stellar RPC, SEP-54 data lakes, one ordered stream ----------------------
from stellar_ob.ledger.datalake import DataLake  # noqa: E402
from stellar_ob.ledger.rpc import Rpc, RpcError  # noqa: E402
from stellar_ob.ledger.stream import (  # noqa: E402
    Ledger,
    LedgerBatch,
    LedgerCounters,
    LedgerSourceError,
    LedgerStream,
    NetworkMismatchError,
    RetentionError,
    read_ledger_header,
)
