"""Stellar ledger metadata (LedgerCloseMeta): decoders and their stellar-sdk reference twin."""
