"""Records of a decoded ledger (what :func:`~stellar_ob.ledger._ledger.decode` returns).

Plain Python, shared by the compiled decoder binding and the pure-Python layers above it. The
field names and values are those of the C decoder (csrc/ledger/ledger.h) and of its stellar-sdk
reference twin (``stellar_ob.ledger._sdk_twin``): keys and hashes are raw ``bytes`` (32 bytes),
asset codes are the 12 bytes sent (zero padded), amounts are exact ``int`` stroops, prices
``n``/``d`` ints. Records are named tuples: immutable, compared by value.

>>> a = LedgerAsset(1, b"USDC" + bytes(8), bytes(32))
>>> a.code_str
'USDC'
>>> str(LedgerAsset(0))
'native'
"""

from __future__ import annotations

import base64
from functools import lru_cache
from typing import NamedTuple, Optional, Sequence, Union
from ..errors import ArgumentError

__all__ = [
    "CHANGE_CREATED", "CHANGE_UPDATED", "CHANGE_REMOVED", "CHANGE_STATE", "CHANGE_RESTORED",
    "ENTRY_ACCOUNT", "ENTRY_TRUSTLINE", "ENTRY_OFFER", "ENTRY_LIQUIDITY_POOL",
    "PHASE_FEE", "PHASE_TX_BEFORE", "PHASE_OPERATION", "PHASE_TX_AFTER", "PHASE_POST_APPLY_FEE",
    "PHASE_UPGRADE", "PHASE_EVICTED", "PHASE_STANDALONE",
    "LedgerAsset", "OfferEntry", "PoolEntry", "TrustLineEntry", "AccountEntry", "Change", "Trade",
    "Tx", "Header", "Ledger", "encode_account", "decode_account",
]

CHANGE_CREATED, CHANGE_UPDATED, CHANGE_REMOVED, CHANGE_STATE, CHANGE_RESTORED = 0, 1, 2, 3, 4
ENTRY_ACCOUNT, ENTRY_TRUSTLINE, ENTRY_OFFER, ENTRY_LIQUIDITY_POOL = 0, 1, 2, 5
(PHASE_FEE, PHASE_TX_BEFORE, PHASE_OPERATION, PHASE_TX_AFTER, PHASE_POST_APPLY_FEE, PHASE_UPGRADE,
 PHASE_EVICTED, PHASE_STANDALONE) = range(8)

_ZERO32 = bytes(32)
_ZERO12 = bytes(12)
_ACCOUNT_VERSION = 6 << 3  # 'G'


def _crc16_xmodem(data: bytes) -> int:
    crc = 0
    for byte in data:
        crc ^= byte << 8
        for _ in range(8):
            crc = ((crc << 1) ^ 0x1021) if crc & 0x8000 else (crc << 1)
            crc &= 0xFFFF
    return crc


@lru_cache(maxsize=1 << 16)  # the same sellers and issuers come back ledger after ledger
def encode_account(key: bytes) -> str:
    """A 32-byte ed25519 key as its ``G...`` StrKey.

    >>> encode_account(bytes(32))
    'GAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAWHF'
    """
    if type(key) is not bytes or len(key) != 32:
        raise ArgumentError("an account key is 32 bytes")
    payload = bytes([_ACCOUNT_VERSION]) + bytes(key)
    return base64.b32encode(payload + _crc16_xmodem(payload).to_bytes(2, "little")).decode()


def decode_account(strkey: str) -> bytes:
    """The 32-byte key of a ``G...`` StrKey (:class:`stellar_ob.ArgumentError`, a ValueError, if it is not
    a valid account id).

    >>> decode_account(encode_account(bytes(range(32)))) == bytes(range(32))
    True
    """
    from ..assets import strkey_account_valid

    if not strkey_account_valid(strkey):
        raise ArgumentError(f"not a valid account id: {strkey!r}")
    return base64.b32decode(str(strkey))[1:33]


class LedgerAsset(NamedTuple):
    """An asset as the ledger holds it: ``type`` 0 native, 1 alphanum4, 2 alphanum12, 3 pool
    share (trust lines only; ``issuer`` then holds the pool id)."""

    type: int
    code: bytes = _ZERO12
    issuer: bytes = _ZERO32

    @property
    def code_str(self) -> str:
        """The code as text (trailing zero bytes dropped)."""
        return self.code.rstrip(b"\0").decode("ascii", "replace")

    def __str__(self) -> str:
        if self.type == 0:
            return "native"
        if self.type == 3:
            return f"pool:{self.issuer.hex()}"
        return f"{self.code_str}:{encode_account(self.issuer)}"

    def to_asset(self):
        """The :class:`stellar_ob.Asset` (native, or CODE:ISSUER)."""
        from ..assets import Asset

        if self.type == 0:
            return Asset.native()
        return Asset(self.code_str, encode_account(self.issuer))

    @classmethod
    def from_asset(cls, asset) -> "LedgerAsset":
        """From anything :meth:`stellar_ob.Asset.parse` takes ("XLM", "USDC:G...", an Asset).

        Codes of 1-4 characters are alphanum4 and of 5-12 alphanum12, as everywhere in stellar_ob.
        """
        from ..assets import Asset

        a = Asset.parse(asset)
        if a.is_native:
            return cls(0)
        code = a.code.encode("ascii")
        return cls(1 if len(code) <= 4 else 2, code.ljust(12, b"\0"), decode_account(a.issuer))


NATIVE = LedgerAsset(0)


class OfferEntry(NamedTuple):
    seller: bytes
    offer_id: int
    selling: LedgerAsset = NATIVE
    buying: LedgerAsset = NATIVE
    amount: int = 0
    n: int = 0
    d: int = 0
    flags: int = 0


class PoolEntry(NamedTuple):
    pool_id: bytes
    asset_a: LedgerAsset = NATIVE
    asset_b: LedgerAsset = NATIVE
    fee_bp: int = 0
    reserve_a: int = 0
    reserve_b: int = 0
    total_shares: int = 0
    trustline_count: int = 0


class TrustLineEntry(NamedTuple):
    account: bytes
    asset: LedgerAsset = NATIVE
    balance: int = 0
    limit: int = 0
    flags: int = 0
    pool_use_count: int = 0
    buying_liabilities: int = 0
    selling_liabilities: int = 0


class AccountEntry(NamedTuple):
    account: bytes
    balance: int = 0
    seq_num: int = 0
    num_sub_entries: int = 0
    flags: int = 0
    buying_liabilities: int = 0
    selling_liabilities: int = 0
    num_sponsored: int = 0
    num_sponsoring: int = 0


Entry = Union[OfferEntry, PoolEntry, TrustLineEntry, AccountEntry]


class Change(NamedTuple):
    """One entry change. ``key_only`` (REMOVED, evicted): only the key fields of ``entry`` are set.
    ``sponsor``: the 32-byte key of the account sponsoring the entry's reserve (the LedgerEntry's
    extension v1 ``sponsoringID``, CAP-33), None when it has none (and for key-only changes)."""

    change: int
    entry_type: int
    phase: int
    key_only: int
    tx_index: int
    op_index: int
    last_modified: int
    entry: Entry
    sponsor: Optional[bytes] = None


class Trade(NamedTuple):
    """A claimed offer (claim_type 0 V0 / 1 order book) or pool trade (2): ``seller`` (the offer's
    seller, or the pool id) sold ``amount_sold`` of ``asset_sold`` for ``amount_bought``.
    ``tx_index`` and ``op_index`` count from 0 in apply order; ``claim_index`` is the claim's place
    among its operation's ClaimAtoms (from 0), so :meth:`horizon_id` is Horizon's id for it."""

    tx_index: int
    op_index: int
    op_type: int
    claim_type: int
    seller: bytes
    offer_id: int
    asset_sold: LedgerAsset
    amount_sold: int
    asset_bought: LedgerAsset
    amount_bought: int
    claim_index: int

    def horizon_id(self, ledger: int) -> str:
        """The ``id`` / ``paging_token`` Horizon gives this trade in ``ledger``:
        ``"<operation TOID>-<claim_index>"``, the TOID ``ledger << 32 | (tx_index + 1) << 12 |
        (op_index + 1)`` (Horizon's history_trades: HistoryOperationID and Order; a claim that
        moved nothing, both amounts 0, has an index but no Horizon record)."""
        return f"{toid(ledger, self.tx_index + 1, self.op_index + 1)}-{self.claim_index}"


def toid(ledger: int, tx: int, op: int) -> int:
    """Horizon's total order id of an operation: ``ledger << 32 | tx << 12 | op`` (``tx`` and
    ``op`` count from 1, as in Horizon's /operations ids; 0 names the ledger or the transaction)."""
    for name, v, bits in (("ledger", ledger, 31), ("tx", tx, 20), ("op", op, 12)):
        if isinstance(v, bool) or not isinstance(v, int) or not 0 <= v < 1 << bits:
            raise ArgumentError(f"toid: {name} must be an int in [0, 2**{bits}), got {v!r}")
    return (int(ledger) << 32) | (int(tx) << 12) | int(op)


class Tx(NamedTuple):
    hash: bytes
    fee_charged: int
    result_code: int
    inner_result_code: int
    successful: int
    op_count: int


class Header(NamedTuple):
    meta_version: int
    ledger_seq: int
    protocol_version: int
    close_time: int
    base_fee: int
    base_reserve: int
    max_tx_set_size: int
    total_coins: int
    fee_pool: int
    hash: bytes
    previous_hash: bytes
    tx_count: int
    upgrade_count: int
    meta_offset: int
    meta_size: int


class Ledger(NamedTuple):
    """One decoded ledger: its header facts, transactions, entry changes (core's order) and trades.
    ``header`` is None for a bare LedgerEntryChanges. From the compiled decoder, ``txs``,
    ``changes`` and ``trades`` are read-only sequences whose records are built when first read
    (``stellar_ob.ledger._ledger.Records``: they compare equal to lists of the same records)."""

    header: Optional[Header]
    txs: Sequence[Tx]
    changes: Sequence[Change]
    trades: Sequence[Trade]
