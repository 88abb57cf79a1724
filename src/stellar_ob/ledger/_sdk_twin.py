"""Reference twin of the C ledger decoder (csrc/ledger/ledger.h), on stellar-sdk's XDR classes.

It yields the same records as the C decoder, in the same order, from the same input forms: one
raw ``LedgerCloseMeta``, a ``LedgerCloseMetaBatch`` (a data-lake file after zstd decompression), an
XDR record-marked stream, base64 text (getLedgers' ``metadataXdr``) and a bare
``LedgerEntryChanges``. It is slow (stellar-sdk decodes everything in pure Python) and exists to
check the C decoder: the tests compare both field by field.

Needs the ``sdk`` extra (``pip install stellar-ob[sdk]``).
"""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass, field
from typing import Iterator, Union

from stellar_sdk import xdr as X

# LedgerEntryChangeType / LedgerEntryType / phases: the values of csrc/ledger/ledger.h.
CHANGE_CREATED, CHANGE_UPDATED, CHANGE_REMOVED, CHANGE_STATE, CHANGE_RESTORED = 0, 1, 2, 3, 4
ENTRY_ACCOUNT, ENTRY_TRUSTLINE, ENTRY_OFFER, ENTRY_LIQUIDITY_POOL = 0, 1, 2, 5
TRACKED = (ENTRY_ACCOUNT, ENTRY_TRUSTLINE, ENTRY_OFFER, ENTRY_LIQUIDITY_POOL)
(
    PHASE_FEE,
    PHASE_TX_BEFORE,
    PHASE_OPERATION,
    PHASE_TX_AFTER,
    PHASE_POST_APPLY_FEE,
    PHASE_UPGRADE,
    PHASE_EVICTED,
    PHASE_STANDALONE,
) = range(8)

# OperationType values of the trading operations, with their result attribute.
_TRADE_OPS = {
    2: "path_payment_strict_receive_result",
    3: "manage_sell_offer_result",
    4: "create_passive_sell_offer_result",
    12: "manage_buy_offer_result",
    13: "path_payment_strict_send_result",
}

ZERO32 = bytes(32)


class TwinParseError(ValueError):
    """The input is not what the twin decodes (the C decoder reports SOB_E_PARSE)."""


@dataclass(frozen=True)
class Asset:
    type: int  # 0 native, 1 alphanum4, 2 alphanum12, 3 pool share
    code: bytes = bytes(12)  # 12 bytes, zero padded
    issuer: bytes = ZERO32  # issuer key, or pool id for pool shares


NO_ASSET = Asset(0)


@dataclass(frozen=True)
class Offer:
    seller: bytes
    offer_id: int
    selling: Asset = NO_ASSET
    buying: Asset = NO_ASSET
    amount: int = 0
    n: int = 0
    d: int = 0
    flags: int = 0


@dataclass(frozen=True)
class Pool:
    pool_id: bytes
    asset_a: Asset = NO_ASSET
    asset_b: Asset = NO_ASSET
    fee_bp: int = 0
    reserve_a: int = 0
    reserve_b: int = 0
    total_shares: int = 0
    trustline_count: int = 0


@dataclass(frozen=True)
class TrustLine:
    account: bytes
    asset: Asset = NO_ASSET
    balance: int = 0
    limit: int = 0
    flags: int = 0
    pool_use_count: int = 0
    buying_liabilities: int = 0
    selling_liabilities: int = 0


@dataclass(frozen=True)
class Account:
    account: bytes
    balance: int = 0
    seq_num: int = 0
    num_sub_entries: int = 0
    flags: int = 0
    buying_liabilities: int = 0
    selling_liabilities: int = 0
    num_sponsored: int = 0
    num_sponsoring: int = 0


Entry = Union[Offer, Pool, TrustLine, Account]


@dataclass(frozen=True)
class Change:
    change: int
    entry_type: int
    phase: int
    key_only: int
    tx_index: int
    op_index: int
    last_modified: int
    entry: Entry
    sponsor: bytes | None = None  # LedgerEntry ext v1 sponsoringID (32-byte key), None without one


@dataclass(frozen=True)
class Trade:
    tx_index: int
    op_index: int
    op_type: int
    claim_type: int
    seller: bytes  # offer seller, or pool id
    offer_id: int
    asset_sold: Asset
    amount_sold: int
    asset_bought: Asset
    amount_bought: int
    claim_index: int


@dataclass(frozen=True)
class Tx:
    hash: bytes
    fee_charged: int
    result_code: int
    inner_result_code: int
    successful: int
    op_count: int


@dataclass(frozen=True)
class Header:
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


@dataclass
class Ledger:
    header: Header | None
    txs: list[Tx] = field(default_factory=list)
    changes: list[Change] = field(default_factory=list)
    trades: list[Trade] = field(default_factory=list)


# ---- conversions -------------------------------------------------------------------------------


def _key(pk: X.AccountID | X.PublicKey) -> bytes:
    if isinstance(pk, X.AccountID):
        pk = pk.account_id
    return pk.ed25519.uint256


def _asset(a: X.Asset | X.TrustLineAsset) -> Asset:
    t = a.type.value
    if t == 1:
        return Asset(1, a.alpha_num4.asset_code.asset_code4.ljust(12, b"\0"), _key(a.alpha_num4.issuer))
    if t == 2:
        return Asset(2, a.alpha_num12.asset_code.asset_code12, _key(a.alpha_num12.issuer))
    if t == 3:
        return Asset(3, bytes(12), a.liquidity_pool_id.pool_id.hash)
    return NO_ASSET


def _entry(e: X.LedgerEntry) -> Entry:
    d = e.data
    t = d.type.value
    if t == ENTRY_OFFER:
        o = d.offer
        return Offer(
            _key(o.seller_id), o.offer_id.int64, _asset(o.selling), _asset(o.buying), o.amount.int64,
            o.price.n.int32, o.price.d.int32, o.flags.uint32,
        )
    if t == ENTRY_LIQUIDITY_POOL:
        p = d.liquidity_pool
        cp = p.body.constant_product
        return Pool(
            p.liquidity_pool_id.pool_id.hash, _asset(cp.params.asset_a), _asset(cp.params.asset_b),
            cp.params.fee.int32, cp.reserve_a.int64, cp.reserve_b.int64, cp.total_pool_shares.int64,
            cp.pool_shares_trust_line_count.int64,
        )
    if t == ENTRY_TRUSTLINE:
        tl = d.trust_line
        buying = selling = use = 0
        if tl.ext.v == 1:
            buying = tl.ext.v1.liabilities.buying.int64
            selling = tl.ext.v1.liabilities.selling.int64
            if tl.ext.v1.ext.v == 2:
                use = tl.ext.v1.ext.v2.liquidity_pool_use_count.int32
        return TrustLine(
            _key(tl.account_id), _asset(tl.asset), tl.balance.int64, tl.limit.int64, tl.flags.uint32,
            use, buying, selling,
        )
    a = d.account
    buying = selling = spd = spg = 0
    if a.ext.v == 1:
        buying = a.ext.v1.liabilities.buying.int64
        selling = a.ext.v1.liabilities.selling.int64
        if a.ext.v1.ext.v == 2:
            spd = a.ext.v1.ext.v2.num_sponsored.uint32
            spg = a.ext.v1.ext.v2.num_sponsoring.uint32
    return Account(
        _key(a.account_id), a.balance.int64, a.seq_num.sequence_number.int64, a.num_sub_entries.uint32,
        a.flags.uint32, buying, selling, spd, spg,
    )


def _sponsor(e: X.LedgerEntry) -> bytes | None:
    """The entry's sponsoringID (LedgerEntryExtensionV1), or None."""
    if e.ext.v != 1:
        return None
    sd = e.ext.v1.sponsoring_id.sponsorship_descriptor
    return None if sd is None else _key(sd)


def _key_entry(k: X.LedgerKey) -> Entry:
    t = k.type.value
    if t == ENTRY_OFFER:
        return Offer(_key(k.offer.seller_id), k.offer.offer_id.int64)
    if t == ENTRY_LIQUIDITY_POOL:
        return Pool(k.liquidity_pool.liquidity_pool_id.pool_id.hash)
    if t == ENTRY_TRUSTLINE:
        return TrustLine(_key(k.trust_line.account_id), _asset(k.trust_line.asset))
    return Account(_key(k.account.account_id))


def _changes(changes: X.LedgerEntryChanges, phase: int, tx: int, op: int) -> list[Change]:
    out = []
    for ch in changes.ledger_entry_changes:
        ct = ch.type.value
        if ct == CHANGE_REMOVED:
            k = ch.removed
            if k.type.value in TRACKED:
                out.append(Change(ct, k.type.value, phase, 1, tx, op, 0, _key_entry(k)))
            continue
        e = {CHANGE_CREATED: ch.created, CHANGE_UPDATED: ch.updated, CHANGE_STATE: ch.state,
             CHANGE_RESTORED: ch.restored}[ct]
        if e.data.type.value in TRACKED:
            out.append(Change(ct, e.data.type.value, phase, 0, tx, op, e.last_modified_ledger_seq.uint32, _entry(e),
                              _sponsor(e)))
    return out


def _trade(claim: X.ClaimAtom, tx: int, op: int, op_type: int, index: int) -> Trade:
    t = claim.type.value
    if t == 0:
        a = claim.v0
        seller, oid = a.seller_ed25519.uint256, a.offer_id.int64
    elif t == 1:
        a = claim.order_book
        seller, oid = _key(a.seller_id), a.offer_id.int64
    else:
        a = claim.liquidity_pool
        seller, oid = a.liquidity_pool_id.pool_id.hash, 0
    return Trade(tx, op, op_type, t, seller, oid, _asset(a.asset_sold), a.amount_sold.int64,
                 _asset(a.asset_bought), a.amount_bought.int64, index)


def _result(pair: X.TransactionResultPair, tx: int, trades: list[Trade]) -> Tx:
    res = pair.result
    code = res.result.code.value
    inner = code
    results = None
    if code in (1, -13):  # txFEE_BUMP_INNER_SUCCESS / _FAILED
        ir = res.result.inner_result_pair.result.result
        inner = ir.code.value
        if inner in (0, -1):
            results = ir.results
    elif code in (0, -1):
        results = res.result.results
    successful = int(code == 0 or (code == 1 and inner == 0))
    if successful and results is not None:
        for i, r in enumerate(results):
            if r.code.value != 0 or r.tr.type.value not in _TRADE_OPS:
                continue
            op_type = r.tr.type.value
            sub = getattr(r.tr, _TRADE_OPS[op_type])
            if sub.code.value != 0:
                continue
            claims = sub.success.offers_claimed if op_type in (3, 4, 12) else sub.success.offers
            for k, c in enumerate(claims):
                trades.append(_trade(c, tx, i, op_type, k))
    return Tx(pair.transaction_hash.hash, res.fee_charged.int64, code, inner, successful,
              len(results) if results is not None else 0)


def _tx_meta(m: X.TransactionMeta, tx: int) -> list[Change]:
    v = m.v
    out: list[Change] = []
    if v == 0:
        for i, op in enumerate(m.operations):
            out += _changes(op.changes, PHASE_OPERATION, tx, i)
        return out
    if v == 1:
        out += _changes(m.v1.tx_changes, PHASE_TX_BEFORE, tx, -1)
        for i, op in enumerate(m.v1.operations):
            out += _changes(op.changes, PHASE_OPERATION, tx, i)
        return out
    body = {2: m.v2, 3: m.v3, 4: m.v4}.get(v)
    if body is None:
        raise TwinParseError(f"TransactionMeta: unknown version {v}")
    out += _changes(body.tx_changes_before, PHASE_TX_BEFORE, tx, -1)
    for i, op in enumerate(body.operations):
        out += _changes(op.changes, PHASE_OPERATION, tx, i)
    out += _changes(body.tx_changes_after, PHASE_TX_AFTER, tx, -1)
    return out


def ledger_from_meta(meta: X.LedgerCloseMeta, offset: int = 0, size: int | None = None) -> Ledger:
    """Records of one decoded LedgerCloseMeta (offset/size: where it sits in the input)."""
    v = meta.v
    body = {0: meta.v0, 1: meta.v1, 2: meta.v2}.get(v)
    if body is None:
        raise TwinParseError(f"LedgerCloseMeta: unknown version {v}")
    hh = body.ledger_header
    h = hh.header
    if size is None:
        size = len(meta.to_xdr_bytes())
    led = Ledger(None)
    fee: list[Change] = []
    apply: list[Change] = []
    post: list[Change] = []
    for i, trm in enumerate(body.tx_processing):
        led.txs.append(_result(trm.result, i, led.trades))
        fee += _changes(trm.fee_processing, PHASE_FEE, i, -1)
        apply += _tx_meta(trm.tx_apply_processing, i)
        if v == 2:
            post += _changes(trm.post_tx_apply_fee_processing, PHASE_POST_APPLY_FEE, i, -1)
    led.changes = fee + apply + post
    for k, up in enumerate(body.upgrades_processing):
        led.changes += _changes(up.changes, PHASE_UPGRADE, -1, k)
    if v >= 1:
        for key in body.evicted_keys:
            if key.type.value in TRACKED:
                led.changes.append(Change(CHANGE_REMOVED, key.type.value, PHASE_EVICTED, 1, -1, -1, 0, _key_entry(key)))
    led.header = Header(
        v, h.ledger_seq.uint32, h.ledger_version.uint32, h.scp_value.close_time.time_point.uint64,
        h.base_fee.uint32, h.base_reserve.uint32, h.max_tx_set_size.uint32, h.total_coins.int64,
        h.fee_pool.int64, hh.hash.hash, h.previous_ledger_hash.hash, len(body.tx_processing),
        len(body.upgrades_processing), offset, size,
    )
    return led


def _from_bytes(cls, data: bytes):
    try:
        return cls.from_xdr_bytes(data)
    except TwinParseError:
        raise
    except Exception as exc:  # stellar-sdk raises ValueError, xdrlib3 errors, EOFError, ...
        raise TwinParseError(f"{cls.__name__}: {exc}") from exc


# ---- input forms -------------------------------------------------------------------------------


def decode_meta(data: bytes) -> Ledger:
    """One raw LedgerCloseMeta occupying all of data."""
    return ledger_from_meta(_from_bytes(X.LedgerCloseMeta, bytes(data)), 0, len(data))


def decode_base64(text: str | bytes) -> Ledger:
    """getLedgers' metadataXdr: base64 of one LedgerCloseMeta."""
    try:
        raw = base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise TwinParseError(f"base64: {exc}") from exc
    return decode_meta(raw)


def iter_batch(data: bytes) -> Iterator[Ledger]:
    """A LedgerCloseMetaBatch (a data-lake file after decompression)."""
    batch = _from_bytes(X.LedgerCloseMetaBatch, bytes(data))
    start, end = batch.start_sequence.uint32, batch.end_sequence.uint32
    if end + 1 - start != len(batch.ledger_close_metas):
        raise TwinParseError("LedgerCloseMetaBatch: count is not endSequence - startSequence + 1")
    offset = 12
    for i, meta in enumerate(batch.ledger_close_metas):
        size = len(meta.to_xdr_bytes())
        led = ledger_from_meta(meta, offset, size)
        if led.header.ledger_seq != start + i:
            raise TwinParseError("LedgerCloseMetaBatch: ledger sequence is not startSequence + index")
        offset += size
        yield led


def iter_stream(data: bytes) -> Iterator[Ledger]:
    """An XDR record-marked stream: per record a 4-byte big-endian mark (last-fragment bit set,
    31-bit length) and one LedgerCloseMeta."""
    data = bytes(data)
    pos = 0
    while pos < len(data):
        if len(data) - pos < 4:
            raise TwinParseError("truncated record mark")
        mark = int.from_bytes(data[pos : pos + 4], "big")
        if not mark & 0x80000000:
            raise TwinParseError("record mark without the last-fragment bit")
        n = mark & 0x7FFFFFFF
        if n > len(data) - pos - 4:
            raise TwinParseError("record length runs past the end of the input")
        meta = _from_bytes(X.LedgerCloseMeta, data[pos + 4 : pos + 4 + n])
        yield ledger_from_meta(meta, pos + 4, n)
        pos += 4 + n


def decode_changes(data: bytes) -> list[Change]:
    """A bare LedgerEntryChanges array (phase PHASE_STANDALONE)."""
    return _changes(_from_bytes(X.LedgerEntryChanges, bytes(data)), PHASE_STANDALONE, -1, -1)


# ---- canonical records (the golden files' lines) -----------------------------------------------


def asset_str(a: Asset) -> str:
    return f"{a.type}/{a.code.hex()}/{a.issuer.hex()}"


def _fields(obj) -> list[tuple[str, object]]:
    out = []
    for k, v in obj.__dict__.items():
        if isinstance(v, Asset):
            v = asset_str(v)
        elif isinstance(v, bytes):
            v = v.hex()
        out.append((k, v))
    return out


def records(led: Ledger) -> Iterator[dict]:
    """The records of one ledger as flat dicts, in the golden files' order and key order."""
    yield {"kind": "header", **dict(_fields(led.header))} if led.header else {"kind": "header"}
    for i, t in enumerate(led.txs):
        yield {"kind": "tx", "index": i, **dict(_fields(t))}
    for c in led.changes:
        head = {k: v for k, v in c.__dict__.items() if k not in ("entry", "sponsor")}
        rec = {"kind": "change", **head, **dict(_fields(c.entry))}
        if c.sponsor is not None:  # only sponsored entries carry the key (hex, as every key here)
            rec["sponsor"] = c.sponsor.hex()
        yield rec
    for t in led.trades:
        yield {"kind": "trade", **dict(_fields(t))}
