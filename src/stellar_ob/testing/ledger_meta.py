"""Real ``LedgerCloseMeta`` XDR from the simulated market, and a local stack that serves it.

:class:`LedgerMarket` is a :class:`~stellar_ob.testing.SimulatedMarket` that, for every
ledger it closes, also encodes the ``LedgerCloseMeta`` stellar-core would emit for what the market
did in that ledger: every offer it created (``manage_sell_offer``, CREATED), changed (STATE +
UPDATED), cancelled (STATE + REMOVED) or crossed (the taker's ``manage_sell_offer`` with its
``offersClaimed``, each claimed offer STATE + UPDATED or STATE + REMOVED), every pool trade (a
``path_payment_strict_send`` with a ``CLAIM_ATOM_TYPE_LIQUIDITY_POOL`` claim, the pool STATE +
UPDATED), deposits, now and then a failed transaction (``txFAILED``, fee only, no entry changes)
and an upgrade ledger (``LEDGER_UPGRADE_BASE_FEE``). A consumer that applies the offer and pool
changes of every ledger in order holds exactly the market's books (the tests check it with
stellar-sdk's XDR classes and with the repository's C decoder).

The encoder is hand-written (``struct``), covers exactly the types needed and refuses any value
that does not fit its XDR type (:class:`XdrEncodeError`); stellar-sdk is not used at run time.
Layouts follow stellar-xdr (``Stellar-ledger.x``, ``Stellar-transaction.x``,
``Stellar-ledger-entries.x``; the docstrings of stellar-sdk's generated ``stellar_sdk.xdr``
classes carry them).

What the simulation leaves out, on purpose: account and trust-line entries (no fee or sequence
number changes, no liabilities: the market has no balances), real signatures (each envelope
carries one signature-shaped placeholder), Soroban, SCP messages and the bucket list (its hash is
a chain of sha256s). The taker's ``manage_sell_offer`` leaves nothing resting on the book (the
market's taker model), so its result's effect is ``MANAGE_OFFER_DELETED``.

Example:

>>> m = LedgerMarket(markets=2, seed=3, start_time=1_700_000_000)
>>> seq, meta = m.close_ledger_meta()
>>> seq == m.ledger and meta[:4] == b"\\x00\\x00\\x00\\x01"  # LedgerCloseMeta v1
True
"""

from __future__ import annotations

import asyncio
import base64
import dataclasses
import hashlib
import math
import struct
import time
from typing import Any, Callable, Iterable, Sequence

from stellar_ob.assets import Asset
from stellar_ob.errors import StellarOBError
from stellar_ob.testing.market import SimulatedMarket, SimulatedPair

__all__ = [
    "LedgerMarket",
    "LocalStack",
    "XdrEncodeError",
    "asset_xdr",
    "account_key",
    "offer_entry_xdr",
    "pool_id_of",
    "STANDALONE_PASSPHRASE",
]

STANDALONE_PASSPHRASE = "Standalone Network ; February 2017"

INT32_MAX = 2**31 - 1
INT64_MIN, INT64_MAX = -(2**63), 2**63 - 1
UINT32_MAX = 2**32 - 1
UINT64_MAX = 2**64 - 1

# enum values (Stellar-ledger-entries.x, Stellar-transaction.x, Stellar-ledger.x)
_ENTRY_OFFER, _ENTRY_POOL = 2, 5
_CREATED, _UPDATED, _STATE = 0, 1, 3  # LedgerEntryChangeType (REMOVED = 2: _REMOVED4)
_OP_CHANGE_TRUST, _OP_MANAGE_SELL_OFFER, _OP_PATH_PAYMENT_STRICT_SEND, _OP_POOL_DEPOSIT = 6, 3, 13, 22
_CLAIM_LIQUIDITY_POOL = 2  # ClaimAtomType (ORDER_BOOK = 1: _CLAIM_OB4)
_EFFECT_CREATED, _EFFECT_UPDATED, _EFFECT_DELETED = 0, 1, 2
_MANAGE_SELL_OFFER_UNDERFUNDED = -7
_TX_SUCCESS, _TX_FAILED = 0, -1
_ENVELOPE_TYPE_TX = 2
_UPGRADE_BASE_FEE = 2
_POOL_FEE_BP = 30


_ZERO8 = bytes(8)
_MSO = b"\0\0\0\3"  # OperationType MANAGE_SELL_OFFER
_MSO_OK = b"\0\0\0\0\0\0\0\3\0\0\0\0"  # opINNER, MANAGE_SELL_OFFER, MANAGE_SELL_OFFER_SUCCESS
_CREATED4, _UPDATED4, _REMOVED4, _STATE4 = (b"\0\0\0" + bytes([k]) for k in range(4))
_CLAIM_OB4 = b"\0\0\0\1"


class XdrEncodeError(StellarOBError, ValueError):
    """A value does not fit the XDR type it is encoded as (nothing is wrapped or truncated)."""


# ---- primitives (strict) ---------------------------------------------------------------------------

_U32 = struct.Struct(">I").pack
_I32 = struct.Struct(">i").pack
_I64 = struct.Struct(">q").pack
_U64 = struct.Struct(">Q").pack
_ZERO4 = b"\0\0\0\0"
_ONE4 = b"\0\0\0\1"


def _int(v: Any, lo: int, hi: int, what: str) -> int:
    if type(v) is not int:
        if isinstance(v, bool) or not isinstance(v, int):
            raise XdrEncodeError(f"{what}: an int is required, got {type(v).__name__}")
        v = int(v)
    if not lo <= v <= hi:
        raise XdrEncodeError(f"{what}: {v} is outside [{lo}, {hi}]")
    return v


def u32(v: int, what: str = "uint32") -> bytes:
    return _U32(_int(v, 0, UINT32_MAX, what))


def i32(v: int, what: str = "int32") -> bytes:
    return _I32(_int(v, -(2**31), INT32_MAX, what))


def i64(v: int, what: str = "int64") -> bytes:
    return _I64(_int(v, INT64_MIN, INT64_MAX, what))


def u64(v: int, what: str = "uint64") -> bytes:
    return _U64(_int(v, 0, UINT64_MAX, what))


def fixed(b: bytes, n: int, what: str) -> bytes:
    if not isinstance(b, (bytes, bytearray)) or len(b) != n:
        raise XdrEncodeError(f"{what}: {n} bytes are required")
    return bytes(b)


def var_opaque(b: bytes, max_len: int, what: str) -> bytes:
    if not isinstance(b, (bytes, bytearray)) or len(b) > max_len:
        raise XdrEncodeError(f"{what}: at most {max_len} bytes")
    return _U32(len(b)) + bytes(b) + b"\0" * (-len(b) % 4)


def array(items: Sequence[bytes], max_len: int = UINT32_MAX) -> bytes:
    """An XDR variable-length array of already encoded items."""
    if len(items) > max_len:
        raise XdrEncodeError(f"array: {len(items)} items, at most {max_len}")
    return _U32(len(items)) + b"".join(items)


# ---- keys and assets -----------------------------------------------------------------------------

_KEY_CACHE: dict[str, bytes] = {}
_ASSET_CACHE: dict[Asset, bytes] = {}


def account_key(strkey: str) -> bytes:
    """The 32-byte ed25519 key of a ``G...`` account id (version byte and checksum checked).

    >>> from stellar_ob.testing.market import account_id
    >>> len(account_key(account_id("x")))
    32
    """
    k = _KEY_CACHE.get(strkey) if isinstance(strkey, str) else None
    if k is not None:
        return k
    from stellar_ob.assets import _crc16_xmodem

    if not isinstance(strkey, str) or len(strkey) != 56:
        raise XdrEncodeError(f"account id: a 56-character G... StrKey is required, got {strkey!r}")
    try:
        raw = base64.b32decode(strkey.encode("ascii"))
    except (ValueError, UnicodeEncodeError) as exc:
        raise XdrEncodeError(f"account id {strkey!r}: not base32") from exc
    crc = _crc16_xmodem(raw[:33])
    if raw[0] != 6 << 3 or raw[33:] != bytes([crc & 0xFF, crc >> 8]):
        raise XdrEncodeError(f"account id {strkey!r}: wrong version byte or checksum")
    _KEY_CACHE[strkey] = raw[1:33]
    return raw[1:33]


_ACCOUNT_ID_CACHE: dict[str, bytes] = {}


def _account_id(strkey: str) -> bytes:  # AccountID = PublicKey, PUBLIC_KEY_TYPE_ED25519
    x = _ACCOUNT_ID_CACHE.get(strkey) if isinstance(strkey, str) else None
    if x is None:
        x = _ACCOUNT_ID_CACHE[strkey] = _ZERO4 + account_key(strkey)
    return x


def asset_xdr(asset: Asset) -> bytes:
    """``Asset`` XDR: native, or ALPHANUM4 / ALPHANUM12 (code zero-padded) and the issuer.

    >>> asset_xdr(Asset.native())
    b'\\x00\\x00\\x00\\x00'
    """
    x = _ASSET_CACHE.get(asset) if isinstance(asset, Asset) else None
    if x is not None:
        return x
    if not isinstance(asset, Asset):
        raise XdrEncodeError(f"asset: a stellar_ob Asset is required, got {type(asset).__name__}")
    if asset.issuer is None:
        x = _ZERO4
    else:
        code = asset.code.encode("ascii")
        if len(code) <= 4:
            x = _U32(1) + code.ljust(4, b"\0") + _account_id(asset.issuer)
        else:
            x = _U32(2) + code.ljust(12, b"\0") + _account_id(asset.issuer)
    _ASSET_CACHE[asset] = x
    return x


def _asset_order(asset: Asset) -> tuple:
    """stellar-core's Asset order (type, then code, then issuer): LiquidityPoolParameters needs A < B."""
    x = asset_xdr(asset)
    return (x[:4], x[4:])


def pool_parameters_xdr(a: Asset, b: Asset, fee_bp: int = _POOL_FEE_BP) -> bytes:
    """``LiquidityPoolParameters`` (constant product) with the assets in core's order."""
    if _asset_order(a) > _asset_order(b):
        a, b = b, a
    return _ZERO4 + asset_xdr(a) + asset_xdr(b) + i32(fee_bp)


def pool_id_of(a: Asset, b: Asset, fee_bp: int = _POOL_FEE_BP) -> bytes:
    """The pool id core derives: sha256 of the ``LiquidityPoolParameters`` XDR."""
    return hashlib.sha256(pool_parameters_xdr(a, b, fee_bp)).digest()


def _price(n: int, d: int) -> bytes:
    if type(n) is not int or type(d) is not int or not (0 < n <= INT32_MAX and 0 < d <= INT32_MAX):
        raise XdrEncodeError(f"price {n!r}/{d!r}: n and d must be int32 > 0")
    return _I32(n) + _I32(d)


# ---- ledger entries and changes --------------------------------------------------------------------

_OFFER_TAIL = struct.Struct(">qiiII").pack  # amount, price n, d, flags, ext v0
_LEDGER_ENTRY_HEAD = struct.Struct(">II").pack  # lastModifiedLedgerSeq, LedgerEntryType


def offer_entry_xdr(seller: str, offer_id: int, selling: Asset, buying: Asset, amount: int, n: int, d: int,
                    flags: int = 0) -> bytes:
    """``OfferEntry`` XDR (amount > 0, offer id > 0, price int32 n/d > 0)."""
    return b"".join((_account_id(seller), i64(_int(offer_id, 1, INT64_MAX, "offerID")), asset_xdr(selling),
                     asset_xdr(buying), i64(_int(amount, 1, INT64_MAX, "offer amount")), _price(n, d),
                     u32(flags, "offer flags"), _ZERO4))


def _offer_entry(seller_id: bytes, offer_id: int, selling: bytes, buying: bytes, amount: int, n: int, d: int) -> bytes:
    """The hot path of :func:`offer_entry_xdr`: ids and assets already encoded; struct refuses any
    value out of its type's range (struct.error, turned into XdrEncodeError by the caller)."""
    if offer_id <= 0 or amount <= 0 or n <= 0 or d <= 0:
        raise XdrEncodeError(f"offer {offer_id}: amount {amount} and price {n}/{d} must be > 0")
    return seller_id + _I64(offer_id) + selling + buying + _OFFER_TAIL(amount, n, d, 0, 0)


def _ledger_entry(last_modified: int, entry_type: int, body: bytes) -> bytes:
    return _LEDGER_ENTRY_HEAD(last_modified, entry_type) + body + _ZERO4


def _change(kind: int, payload: bytes) -> bytes:
    return _U32(kind) + payload


def _pool_entry(pool_id: bytes, params: bytes, ra: int, rb: int, shares: int, tl_count: int) -> bytes:
    # LiquidityPoolEntry: id, body (constant product: params without the type tag, reserves, shares)
    return b"".join((fixed(pool_id, 32, "pool id"), _ZERO4, params[4:],
                     i64(_int(ra, 0, INT64_MAX, "reserveA")), i64(_int(rb, 0, INT64_MAX, "reserveB")),
                     i64(_int(shares, 0, INT64_MAX, "totalPoolShares")), i64(tl_count)))


# ---- transactions ------------------------------------------------------------------------------------

@dataclasses.dataclass(slots=True)
class _Op:
    body: bytes  # OperationType + the op
    result: bytes  # OperationResult
    changes: list[bytes]  # LedgerEntryChange XDR, in order


@dataclasses.dataclass(slots=True)
class _Tx:
    source: str
    seq: int
    ops: list[_Op]
    failed: bool = False


def _tx_xdr(tx: _Tx, fee: int) -> bytes:
    """``Transaction`` XDR: no preconditions, no memo, ops without their own source, ext v0."""
    if not 1 <= len(tx.ops) <= 100:
        raise XdrEncodeError(f"a transaction has 1 to 100 operations, not {len(tx.ops)}")
    ops = b"".join([_ZERO4 + op.body for op in tx.ops])  # each without its own source account
    return b"".join((_ZERO4, account_key(tx.source), _U32(fee), _I64(tx.seq), _ZERO8, _U32(len(tx.ops)), ops,
                     _ZERO4))


def _envelope(tx_xdr: bytes, source: str, tx_hash: bytes) -> bytes:
    # ENVELOPE_TYPE_TX; one DecoratedSignature (hint = the key's last 4 bytes). The signature bytes
    # are a placeholder (sha512 of the hash): nothing here signs.
    sig = hashlib.sha512(tx_hash).digest()
    return _U32(_ENVELOPE_TYPE_TX) + tx_xdr + _ONE4 + account_key(source)[-4:] + _U32(64) + sig


# ---- the market, with its ledgers -------------------------------------------------------------------

class LedgerMarket(SimulatedMarket):
    """A :class:`~stellar_ob.testing.SimulatedMarket` whose every closed ledger also has its ``LedgerCloseMeta``.

    ``meta_version``: 0, 1 (default) or 2 (``LedgerCloseMeta`` arm; v0 carries the legacy
    ``TransactionSet`` and ``TransactionMeta`` v3, v1 a ``GeneralizedTransactionSet`` and v3, v2
    ``TransactionResultMetaV1`` and ``TransactionMeta`` v4). ``protocol_version``: the header's.
    ``failed_probability``: chance per ledger of one failed transaction. ``upgrade_every``: every
    so many ledgers the base fee is upgraded (100 <-> 200; 0 = never). ``start_time``: the first
    ledger's close time (unix seconds; then 5 s per ledger), or None for the wall clock (always
    strictly increasing). ``keep``: how many (sequence, meta) pairs :attr:`metas` keeps.
    ``listeners``: callables given ``(sequence, meta)`` after each close (:meth:`add_listener`).
    Other arguments are :class:`~stellar_ob.testing.SimulatedMarket`'s.

    The ledger before the first closed one has hash ``previous_hash`` (32 zero bytes by default).
    The first ledger closed also creates what the market held before (its pools and offers), so
    a consumer starting from nothing at that ledger holds the whole market.
    """

    def __init__(self, markets: int | Sequence[tuple[Any, Any]] = 1, *, meta_version: int = 1,
                 protocol_version: int = 23, passphrase: str = STANDALONE_PASSPHRASE,
                 failed_probability: float = 0.05, upgrade_every: int = 50, start_time: int | None = None,
                 previous_hash: bytes = bytes(32), keep: int = 100, **kwargs: Any) -> None:
        if meta_version not in (0, 1, 2):
            raise XdrEncodeError(f"meta_version must be 0, 1 or 2, got {meta_version!r}")
        if meta_version >= 1 and protocol_version < 20:
            raise XdrEncodeError("LedgerCloseMeta v1/v2 (generalized transaction sets) need protocol >= 20")
        self.journal: list[tuple] | None = None
        super().__init__(markets, **kwargs)
        self.meta_version = meta_version
        self.protocol_version = _int(protocol_version, 1, UINT32_MAX, "protocol_version")
        self.passphrase = passphrase
        self.network_id = hashlib.sha256(passphrase.encode()).digest()
        self.failed_probability = failed_probability
        self.upgrade_every = upgrade_every
        self.base_fee = 100
        self.base_reserve = 5_000_000
        self.max_tx_set_size = 1000
        self.total_coins = 100_000_000_000 * 10_000_000
        self.fee_pool = 0
        self.last_hash = fixed(previous_hash, 32, "previous_hash")
        self._bucket_hash = bytes(32)
        self._close_time = None if start_time is None else _int(start_time, 0, UINT64_MAX, "start_time") - 5
        self._seq_nums: dict[str, int] = {}
        self._pool_shares: dict[tuple[str, str], int] = {}
        self.keep = keep
        self.metas: list[tuple[int, bytes]] = []  #: the last ``keep`` (sequence, meta), oldest first
        self.listeners: list[Callable[[int, bytes], Any]] = []
        self.encode_seconds = 0.0  #: wall time spent encoding metas (all ledgers so far)
        self.encode_cpu_seconds = 0.0  #: CPU time of the same (the process's; a loaded machine inflates wall time)
        # What exists already becomes the first ledger's creations.
        self.journal = []
        for pair in self.pairs.values():
            self._announce_pool(pair)
            for o in pair.offers.values():
                self.journal.append(("create", pair, dataclasses.replace(o)))

    # ---- hooks on the market ---------------------------------------------------------------------
    def add_pair(self, base: Any, counter: Any, *, mid: Any = None) -> SimulatedPair:
        mark = len(self.journal) if self.journal is not None else 0
        pair = super().add_pair(base, counter, mid=mid)
        if self.journal is not None:
            self._announce_pool(pair, at=mark)
        return pair

    def _announce_pool(self, pair: SimulatedPair, at: int | None = None) -> None:
        params = pool_parameters_xdr(pair.base, pair.counter)
        pair.pool_id = hashlib.sha256(params).hexdigest()  # the id core derives (Horizon shows it too)
        pair.pool_last_modified = self.ledger + 1  # created in the next ledger closed
        reserves = self._pool_ab(pair, pair.pool_reserves)
        shares = math.isqrt(reserves[0] * reserves[1])  # core: the first deposit's shares = sqrt(a*b)
        self._pool_shares[pair.key] = shares
        ev = ("pool_create", pair, reserves, shares)
        assert self.journal is not None
        if at is None:
            self.journal.append(ev)
        else:
            self.journal.insert(at, ev)

    def _pool_ab(self, pair: SimulatedPair, reserves: Sequence[int]) -> tuple[int, int]:
        """(reserveA, reserveB) from the market's (base, counter) reserves."""
        if _asset_order(pair.base) <= _asset_order(pair.counter):
            return (reserves[0], reserves[1])
        return (reserves[1], reserves[0])

    def add_listener(self, fn: Callable[[int, bytes], Any]) -> None:
        """Call ``fn(sequence, meta)`` after every ledger this market closes."""
        self.listeners.append(fn)

    # ---- closing --------------------------------------------------------------------------------
    def close_ledger(self, pairs: Iterable[SimulatedPair] | None = None) -> dict[str, Any]:
        record = super().close_ledger(pairs)
        t0, c0 = time.perf_counter(), time.process_time()
        meta = self._encode_ledger(record)
        self.encode_seconds += time.perf_counter() - t0
        self.encode_cpu_seconds += time.process_time() - c0
        self.metas.append((self.ledger, meta))
        del self.metas[:-self.keep]
        for fn in list(self.listeners):
            fn(self.ledger, meta)
        return record

    def close_ledger_meta(self, pairs: Iterable[SimulatedPair] | None = None) -> tuple[int, bytes]:
        """Close one ledger; returns ``(sequence, LedgerCloseMeta bytes)``."""
        self.close_ledger(pairs)
        return self.metas[-1]

    # ---- encoding one ledger ----------------------------------------------------------------------
    def _next_seq(self, account: str) -> int:
        s = self._seq_nums.get(account)
        s = (self.ledger << 32) if s is None else s + 1
        self._seq_nums[account] = s
        return s

    def _txs_from_journal(self, events: list[tuple]) -> list[_Tx]:
        seq = self.ledger
        txs: list[_Tx] = []
        for ev in events:
            kind, pair = ev[0], ev[1]
            if kind == "create":
                o = ev[2]
                selling, buying = (pair.base, pair.counter) if o.side == "ask" else (pair.counter, pair.base)
                sx, bx = asset_xdr(selling), asset_xdr(buying)
                entry = _offer_entry(_account_id(o.seller), o.offer_id, sx, bx, o.amount, o.n, o.d)
                body = _MSO + sx + bx + _I64(o.amount) + _I32(o.n) + _I32(o.d) + _ZERO8
                result = _MSO_OK + _ZERO4 + _U32(_EFFECT_CREATED) + entry
                txs.append(_Tx(o.seller, 0, [_Op(body, result, [_CREATED4 + _ledger_entry(seq, _ENTRY_OFFER, entry)])]))
            elif kind in ("update", "remove"):
                before = ev[2]
                selling, buying = (pair.base, pair.counter) if before.side == "ask" else (pair.counter, pair.base)
                sx, bx, sid = asset_xdr(selling), asset_xdr(buying), _account_id(before.seller)
                old = _offer_entry(sid, before.offer_id, sx, bx, before.amount, before.n, before.d)
                state = _STATE4 + _ledger_entry(before.last_modified_ledger, _ENTRY_OFFER, old)
                if kind == "update":
                    after = ev[3]
                    new = _offer_entry(sid, after.offer_id, sx, bx, after.amount, after.n, after.d)
                    changes = [state, _UPDATED4 + _ledger_entry(seq, _ENTRY_OFFER, new)]
                    amount, effect = after.amount, _U32(_EFFECT_UPDATED) + new
                else:
                    changes = [state, _REMOVED4 + _U32(_ENTRY_OFFER) + sid + _I64(before.offer_id)]
                    amount, effect = 0, _U32(_EFFECT_DELETED)
                body = _MSO + sx + bx + _I64(amount) + _I32(before.n) + _I32(before.d) + _I64(before.offer_id)
                result = _MSO_OK + _ZERO4 + effect
                txs.append(_Tx(before.seller, 0, [_Op(body, result, changes)]))
            elif kind == "take":
                _, _, taker, taker_sells, amount, fills = ev
                sells, buys = (pair.base, pair.counter) if taker_sells == "base" else (pair.counter, pair.base)
                sx, bx = asset_xdr(sells), asset_xdr(buys)
                claims, changes = [], []
                for before, wheat, sheep, after in fills:
                    # the resting offer sells what the taker buys
                    sid = _account_id(before.seller)
                    old = _offer_entry(sid, before.offer_id, bx, sx, before.amount, before.n, before.d)
                    changes.append(_STATE4 + _ledger_entry(before.last_modified_ledger, _ENTRY_OFFER, old))
                    if after is not None:
                        new = _offer_entry(sid, after.offer_id, bx, sx, after.amount, after.n, after.d)
                        changes.append(_UPDATED4 + _ledger_entry(seq, _ENTRY_OFFER, new))
                    else:
                        changes.append(_REMOVED4 + _U32(_ENTRY_OFFER) + sid + _I64(before.offer_id))
                    if wheat < 0 or sheep < 0:
                        raise XdrEncodeError(f"claim of offer {before.offer_id}: negative amounts")
                    claims.append(_CLAIM_OB4 + sid + _I64(before.offer_id) + bx + _I64(wheat) + sx + _I64(sheep))
                # no price limit: the lowest price there is (1 / INT32_MAX of what it buys per unit sold)
                body = _MSO + sx + bx + _I64(amount) + _price(1, INT32_MAX) + _ZERO8
                result = _MSO_OK + array(claims) + _U32(_EFFECT_DELETED)
                txs.append(_Tx(taker, 0, [_Op(body, result, changes)]))
            elif kind == "swap":
                _, _, taker, sells_base, x, y, before, after, lm_before = ev
                sent, got = (pair.base, pair.counter) if sells_base else (pair.counter, pair.base)
                pool_id = bytes.fromhex(pair.pool_id)
                params = pool_parameters_xdr(pair.base, pair.counter)
                shares = self._pool_shares[pair.key]
                a0, b0 = self._pool_ab(pair, before)
                a1, b1 = self._pool_ab(pair, after)
                changes = [_change(_STATE, _ledger_entry(lm_before, _ENTRY_POOL,
                                                         _pool_entry(pool_id, params, a0, b0, shares, 1))),
                           _change(_UPDATED, _ledger_entry(seq, _ENTRY_POOL,
                                                           _pool_entry(pool_id, params, a1, b1, shares, 1)))]
                claim = _U32(_CLAIM_LIQUIDITY_POOL) + pool_id + asset_xdr(got) + i64(y) + asset_xdr(sent) + i64(x)
                body = _U32(_OP_PATH_PAYMENT_STRICT_SEND) + b"".join((
                    asset_xdr(sent), i64(x), _ZERO4 + account_key(taker), asset_xdr(got), i64(1), _ZERO4))
                result = (_ZERO4 + _U32(_OP_PATH_PAYMENT_STRICT_SEND) + _ZERO4 + array([claim])
                          + _account_id(taker) + asset_xdr(got) + i64(y))
                txs.append(_Tx(taker, 0, [_Op(body, result, changes)]))
            elif kind == "deposit":
                _, _, base_amount, counter_amount, before, after, lm_before = ev
                pool_id = bytes.fromhex(pair.pool_id)
                params = pool_parameters_xdr(pair.base, pair.counter)
                a0, b0 = self._pool_ab(pair, before)
                a1, b1 = self._pool_ab(pair, after)
                shares0 = self._pool_shares[pair.key]
                # core: new shares = min(a * T / A, b * T / B), rounded down
                add = min(((a1 - a0) * shares0 // a0) if a0 else 0, ((b1 - b0) * shares0 // b0) if b0 else 0)
                shares1 = self._pool_shares[pair.key] = shares0 + add
                changes = [_change(_STATE, _ledger_entry(lm_before, _ENTRY_POOL,
                                                         _pool_entry(pool_id, params, a0, b0, shares0, 1))),
                           _change(_UPDATED, _ledger_entry(seq, _ENTRY_POOL,
                                                           _pool_entry(pool_id, params, a1, b1, shares1, 1)))]
                body = _U32(_OP_POOL_DEPOSIT) + pool_id + i64(a1 - a0) + i64(b1 - b0) + _price(1, INT32_MAX) \
                    + _price(INT32_MAX, 1)
                result = _ZERO4 + _U32(_OP_POOL_DEPOSIT) + _ZERO4
                txs.append(_Tx(self.makers[0], 0, [_Op(body, result, changes)]))
            elif kind == "pool_create":
                _, _, (ra, rb), shares = ev
                pool_id = bytes.fromhex(pair.pool_id)
                params = pool_parameters_xdr(pair.base, pair.counter)
                owner = self.makers[0]
                trust = _Op(_U32(_OP_CHANGE_TRUST) + _U32(3) + params + i64(INT64_MAX),
                            _ZERO4 + _U32(_OP_CHANGE_TRUST) + _ZERO4,
                            [_change(_CREATED, _ledger_entry(seq, _ENTRY_POOL,
                                                             _pool_entry(pool_id, params, 0, 0, 0, 1)))])
                dep = _Op(_U32(_OP_POOL_DEPOSIT) + pool_id + i64(ra) + i64(rb) + _price(1, INT32_MAX)
                          + _price(INT32_MAX, 1), _ZERO4 + _U32(_OP_POOL_DEPOSIT) + _ZERO4,
                          [_change(_STATE, _ledger_entry(seq, _ENTRY_POOL,
                                                         _pool_entry(pool_id, params, 0, 0, 0, 1))),
                           _change(_UPDATED, _ledger_entry(seq, _ENTRY_POOL,
                                                           _pool_entry(pool_id, params, ra, rb, shares, 1)))])
                txs.append(_Tx(owner, 0, [trust, dep]))
            else:  # pragma: no cover - the hooks make only the kinds above
                raise XdrEncodeError(f"unknown market event {kind!r}")
        if self.pairs and self.rng.random() < self.failed_probability:
            # a maker's offer the network refuses (underfunded): txFAILED, the fee charged, no changes
            pair = next(iter(self.pairs.values()))
            body = _U32(_OP_MANAGE_SELL_OFFER) + b"".join((asset_xdr(pair.base), asset_xdr(pair.counter),
                                                           i64(10**15), _price(1, 1), i64(0)))
            result = _ZERO4 + _U32(_OP_MANAGE_SELL_OFFER) + _I32(_MANAGE_SELL_OFFER_UNDERFUNDED)
            txs.append(_Tx(self.rng.choice(self.takers), 0, [_Op(body, result, [])], failed=True))
        for tx in txs:
            tx.seq = self._next_seq(tx.source)
        return txs

    def _tx_meta(self, ops: list[_Op], failed: bool) -> bytes:
        if self.meta_version == 2:  # TransactionMeta v4: OperationMetaV2 (ext, changes, events)
            op_metas = [] if failed else [_ZERO4 + array(op.changes) + _ZERO4 for op in ops]
            return _U32(4) + _ZERO4 + _ZERO4 + array(op_metas) + _ZERO4 + _ZERO4 + _ZERO4 + _ZERO4
        op_metas = [] if failed else [array(op.changes) for op in ops]  # a failed tx's ops leave no meta
        return _U32(3) + _ZERO4 + _ZERO4 + array(op_metas) + _ZERO4 + _ZERO4

    def _encode_ledger(self, record: dict[str, Any]) -> bytes:
        try:
            return self._encode_ledger_checked(record)
        except struct.error as exc:  # a value out of its XDR type's range: never wrapped
            raise XdrEncodeError(f"ledger {self.ledger}: {exc}") from exc

    def _encode_ledger_checked(self, record: dict[str, Any]) -> bytes:
        seq = self.ledger
        events, self.journal = self.journal or [], []
        txs = self._txs_from_journal(events)
        # an occasional upgrade: the base fee, applied after the transactions (they pay the old one)
        upgrades: list[bytes] = []
        fee_now = self.base_fee
        if self.upgrade_every and seq % self.upgrade_every == 0:
            self.base_fee = 200 if self.base_fee == 100 else 100
            upgrades.append(_U32(_UPGRADE_BASE_FEE) + u32(self.base_fee))
        prev = self.last_hash
        tx_xdrs, hashes, envelopes = [], [], []
        for tx in txs:
            x = _tx_xdr(tx, fee_now * len(tx.ops))
            h = hashlib.sha256(self.network_id + _U32(_ENVELOPE_TYPE_TX) + x).digest()
            tx_xdrs.append(x)
            hashes.append(h)
            envelopes.append(_envelope(x, tx.source, h))
        results, processing = [], []
        for tx, h in zip(txs, hashes):
            fee = fee_now * len(tx.ops)
            self.fee_pool += fee
            code = _TX_FAILED if tx.failed else _TX_SUCCESS
            res_pair = h + i64(fee) + _I32(code) + array([op.result for op in tx.ops]) + _ZERO4
            results.append(res_pair)
            meta = self._tx_meta(tx.ops, tx.failed)
            if self.meta_version == 2:  # TransactionResultMetaV1: ext, result, fee, apply, post-apply fee
                processing.append(_ZERO4 + res_pair + _ZERO4 + meta + _ZERO4)
            else:
                processing.append(res_pair + _ZERO4 + meta)
        # the transaction set, in core's canonical order (by hash), and its hash
        by_hash = sorted(range(len(txs)), key=hashes.__getitem__)
        if self.meta_version == 0:
            tx_set = prev + array([envelopes[i] for i in by_hash])
            tx_set_hash = hashlib.sha256(prev + b"".join(envelopes[i] for i in by_hash)).digest()
        else:
            classic = [_ZERO4 + _ONE4 + i64(fee_now) + array([envelopes[i] for i in by_hash])] if txs else []
            phases = [_ZERO4 + array(classic), _ZERO4 + array([])]  # classic, Soroban (empty)
            tx_set = _ONE4 + prev + array(phases)
            tx_set_hash = hashlib.sha256(tx_set).digest()
        tx_result_hash = hashlib.sha256(array(results)).digest()
        self._bucket_hash = hashlib.sha256(self._bucket_hash + tx_result_hash).digest()
        if self._close_time is None:
            close_time = max(int(self.closed_at), getattr(self, "_last_close", 0) + 1)
        else:
            self._close_time += 5
            close_time = self._close_time
        self._last_close = close_time
        scp_value = tx_set_hash + u64(close_time) + array([var_opaque(u, 128, "upgrade") for u in upgrades], 6) \
            + _ZERO4
        header = b"".join((
            u32(self.protocol_version), prev, scp_value, tx_result_hash, self._bucket_hash, u32(seq, "ledgerSeq"),
            i64(self.total_coins), i64(self.fee_pool), _ZERO4, u64(self._next_offer_id - 1), u32(self.base_fee),
            u32(self.base_reserve), u32(self.max_tx_set_size), bytes(128), _ZERO4,
        ))
        ledger_hash = hashlib.sha256(header).digest()
        entry = ledger_hash + header + _ZERO4
        upgrade_metas = [u + _ZERO4 for u in upgrades]  # UpgradeEntryMeta: the upgrade, no entry changes
        if self.meta_version == 0:
            meta = _ZERO4 + entry + tx_set + array(processing) + array(upgrade_metas) + _ZERO4
        else:
            tail = _ZERO4 + u64(0) + _ZERO4  # scpInfo, totalByteSizeOfLiveSorobanState, evictedKeys
            if self.meta_version == 1:
                tail += _ZERO4  # unused<> (formerly evictedPersistentLedgerEntries)
            meta = (_U32(self.meta_version) + _ZERO4 + entry + tx_set + array(processing) + array(upgrade_metas)
                    + tail)
        self.last_hash = ledger_hash
        prev_hex = prev.hex()
        record.update({"id": ledger_hash.hex(), "hash": ledger_hash.hex(), "prev_hash": prev_hex,
                       "successful_transaction_count": sum(not t.failed for t in txs),
                       "failed_transaction_count": sum(t.failed for t in txs),
                       "operation_count": sum(len(t.ops) for t in txs if not t.failed),
                       "tx_set_operation_count": sum(len(t.ops) for t in txs),
                       "closed_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(close_time)),
                       "fee_pool": f"{self.fee_pool // 10**7}.{self.fee_pool % 10**7:07d}",
                       "base_fee_in_stroops": self.base_fee, "protocol_version": self.protocol_version,
                       "header_xdr": base64.b64encode(entry[32:-4]).decode()})
        return meta

    # ---- the model a consumer must reach ---------------------------------------------------------------
    def offer_state(self) -> dict[tuple[bytes, int], tuple[bytes, bytes, int, int, int, int]]:
        """Every offer as ``(seller key, offer id) -> (selling XDR, buying XDR, amount, n, d, flags)``."""
        out = {}
        for pair in self.pairs.values():
            for o in pair.offers.values():
                selling, buying = (pair.base, pair.counter) if o.side == "ask" else (pair.counter, pair.base)
                out[(account_key(o.seller), o.offer_id)] = (asset_xdr(selling), asset_xdr(buying), o.amount, o.n,
                                                            o.d, 0)
        return out

    def ledger_entries(self) -> list[bytes]:
        """Every offer and pool as ``LedgerEntry`` XDR, as the ledger holds them now (the LIVE
        entries of a history archive's bucket list at this ledger: ``stellar_ob.testing.archive``)."""
        out = []
        for pair in self.pairs.values():
            params = pool_parameters_xdr(pair.base, pair.counter)
            ra, rb = self._pool_ab(pair, pair.pool_reserves)
            out.append(_ledger_entry(getattr(pair, "pool_last_modified", self.ledger), _ENTRY_POOL,
                                     _pool_entry(bytes.fromhex(pair.pool_id), params, ra, rb,
                                                 self._pool_shares[pair.key], 1)))
            for o in pair.offers.values():
                selling, buying = (pair.base, pair.counter) if o.side == "ask" else (pair.counter, pair.base)
                out.append(_ledger_entry(o.last_modified_ledger, _ENTRY_OFFER,
                                         _offer_entry(_account_id(o.seller), o.offer_id, asset_xdr(selling),
                                                      asset_xdr(buying), o.amount, o.n, o.d)))
        return out

    def pool_state(self) -> dict[bytes, tuple[int, int, int]]:
        """Every pool as ``pool id -> (reserveA, reserveB, totalPoolShares)``."""
        return {bytes.fromhex(p.pool_id): (*self._pool_ab(p, p.pool_reserves), self._pool_shares[p.key])
                for p in self.pairs.values()}


# ---- one market, three views -----------------------------------------------------------------------------

class LocalStack:
    """A :class:`~stellar_ob.testing.LocalHorizon` and a :class:`~stellar_ob.testing.rpc.LocalRpc`
    (and, with ``data_lake=`` a directory, a SEP-54 data lake written as ledgers close) fed by the
    SAME :class:`LedgerMarket`: a test watches one market through Horizon and through RPC.

    ``ledger_interval``: seconds between closes (None: only :meth:`close_ledger`). ``retention``:
    the RPC's retention window. ``ledgers_per_file``: the lake's ledgers per file; a file is written
    when its last ledger closes (the first may hold fewer; a lake never sees half a file). The
    RPC's first ledger is closed on :meth:`start` if none was yet. Other keyword arguments go to
    :class:`LedgerMarket`::

        async with LocalStack(markets=3, seed=1, ledger_interval=None) as stack:
            stack.close_ledger()
            stack.horizon.url, stack.rpc.url
    """

    def __init__(self, markets: int | Sequence[tuple[Any, Any]] = 1, *, market: LedgerMarket | None = None,
                 ledger_interval: float | None = 1.0, retention: int | None = None,
                 data_lake: Any = None, ledgers_per_file: int = 1, rpc: Any = None, **market_kwargs: Any) -> None:
        from stellar_ob.testing.rpc import LocalRpc
        from stellar_ob.testing.server import LocalHorizon

        self.market = market if market is not None else LedgerMarket(markets, **market_kwargs)
        self.horizon = LocalHorizon(market=self.market, ledger_interval=ledger_interval)
        #: the RPC (``rpc=``: one you made, e.g. a :class:`~stellar_ob.testing.rpc.RecordingRpc`, not started)
        self.rpc = rpc if rpc is not None else LocalRpc(retention=retention, passphrase=self.market.passphrase)
        self.data_lake = data_lake
        self.ledgers_per_file = ledgers_per_file
        self._lake_pending: list[tuple[int, bytes]] = []
        self.market.add_listener(self._on_ledger)

    def _on_ledger(self, seq: int, meta: bytes) -> None:
        self.rpc.append([(seq, meta)])
        if self.data_lake is not None:
            self._lake_pending.append((seq, meta))
            if (seq + 1) % self.ledgers_per_file == 0:  # the file holding seq is complete
                from stellar_ob.testing.datalake import write_data_lake

                write_data_lake(self.data_lake, self._lake_pending, ledgers_per_batch=self.ledgers_per_file,
                                passphrase=self.market.passphrase)
                self._lake_pending = []

    def close_ledger(self, pairs: Any = None) -> int:
        """Close one ledger now (Horizon's view, the RPC and the data lake all get it)."""
        return self.horizon.close_ledger(pairs)

    async def start(self) -> None:
        if self.rpc.latest is None:  # RPC has nothing to serve before the first ledger
            self.close_ledger()
        await self.rpc.start()
        await self.horizon.start()

    async def stop(self) -> None:
        await asyncio.gather(self.horizon.stop(), self.rpc.stop())

    async def __aenter__(self) -> "LocalStack":
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()
