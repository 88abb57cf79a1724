"""A DexBook that starts complete: from a history archive's checkpoint, or from a saved snapshot file.

:func:`snapshot_changes` turns a ``stellar_ob.ledger.archive.DexSnapshot`` (the plain records
the bucket reader returns) back into the XDR a :class:`~stellar_ob.ledger.dexbook.DexBook` seeds from: a
bare ``LedgerEntryChanges`` of ``LEDGER_ENTRY_STATE`` entries (stellar-xdr Stellar-ledger.x,
Stellar-ledger-entries.x: ``OfferEntry``, ``LiquidityPoolEntry``, ``AccountEntry`` with its v1/v2
extensions for liabilities and sponsorship counts, ``TrustLineEntry`` with its v1/v2 extensions).
The encoding is strict: a value that does not fit its XDR type raises
:class:`~stellar_ob.errors.ParseError`, never wraps.

:func:`save_snapshot` / :func:`load_snapshot` keep one in a file (``stellar-ob bootstrap --out``),
so later runs start in seconds: the magic ``SOBDEX01``, the ledger (uint32), the network
passphrase (XDR string), then the ``LedgerEntryChanges`` and a trailing sha256 of everything
before it (a truncated or altered file is refused).

:func:`horizon_changes` is the other start, for a few markets: their offers and pools paged once
from Horizon (``/offers``, ``/liquidity_pools?reserves=A,B``) as the same STATE entries, each
stamped with its page's ``Latest-Ledger`` (``Follow(horizon=..., markets=...)``).
"""

from __future__ import annotations

import hashlib
import os
import struct
from typing import Any, Iterable

from stellar_ob.errors import ParseError

__all__ = ["snapshot_changes", "dexbook_from_snapshot", "save_snapshot", "save_snapshot_changes", "load_snapshot",
           "SavedSnapshot", "horizon_changes", "pool_state_entry"]

_MAGIC = b"SOBDEX01"
_STATE = 3  # LedgerEntryChangeType LEDGER_ENTRY_STATE
_ACCOUNT, _TRUSTLINE, _OFFER, _POOL = 0, 1, 2, 5


def _u32(v: Any, what: str) -> bytes:
    if isinstance(v, bool) or not isinstance(v, int) or not 0 <= v < 2**32:
        raise ParseError(f"{what} must be a uint32, got {v!r}")
    return struct.pack(">I", v)


def _i32(v: Any, what: str) -> bytes:
    if isinstance(v, bool) or not isinstance(v, int) or not -(2**31) <= v < 2**31:
        raise ParseError(f"{what} must be an int32, got {v!r}")
    return struct.pack(">i", v)


def _i64(v: Any, what: str) -> bytes:
    if isinstance(v, bool) or not isinstance(v, int) or not -(2**63) <= v < 2**63:
        raise ParseError(f"{what} must be an int64, got {v!r}")
    return struct.pack(">q", v)


def _key32(v: Any, what: str) -> bytes:
    if not isinstance(v, (bytes, bytearray)) or len(v) != 32:
        raise ParseError(f"{what} must be 32 bytes")
    return bytes(v)


def _account_id(key: Any, what: str) -> bytes:
    return b"\0\0\0\0" + _key32(key, what)  # PublicKey PUBLIC_KEY_TYPE_ED25519


def _asset(a: Any, what: str, *, trustline: bool = False) -> bytes:
    """Asset (or TrustLineAsset) from the records' ``(type, code, issuer)``."""
    if not isinstance(a, tuple) or len(a) != 3:
        raise ParseError(f"{what} must be an asset (type, code, issuer)")
    t, code, issuer = a
    if t == 0:
        return _u32(0, what)
    if t in (1, 2):
        size = 4 if t == 1 else 12
        if not isinstance(code, (bytes, bytearray)) or len(code) not in (size, 12) or any(code[size:]):
            raise ParseError(f"{what}: an alphanum{size} code is {size} bytes")
        return _u32(t, what) + bytes(code[:size]) + _account_id(issuer, what)
    if t == 3 and trustline:
        return _u32(3, what) + _key32(issuer, what)  # PoolID
    raise ParseError(f"{what}: asset type {t!r} is not allowed here")


def _entry(last_modified: Any, entry_type: int, body: bytes) -> bytes:
    # LedgerEntryChange STATE: LedgerEntry {lastModifiedLedgerSeq, data, ext v0}
    return (_u32(_STATE, "change") + _u32(last_modified, "last_modified") + _u32(entry_type, "type") + body
            + b"\0\0\0\0")


def _offer(o: dict) -> bytes:
    body = (_account_id(o["seller"], "offer seller") + _i64(o["offer_id"], "offer_id")
            + _asset(o["selling"], "offer selling") + _asset(o["buying"], "offer buying")
            + _i64(o["amount"], "offer amount") + _i32(o["n"], "price n") + _i32(o["d"], "price d")
            + _u32(o["flags"], "offer flags") + b"\0\0\0\0")
    return _entry(o["last_modified"], _OFFER, body)


def _pool(p: dict) -> bytes:
    body = (_key32(p["pool_id"], "pool_id") + _u32(0, "pool type")  # LIQUIDITY_POOL_CONSTANT_PRODUCT
            + _asset(p["asset_a"], "pool asset_a") + _asset(p["asset_b"], "pool asset_b")
            + _i32(p["fee_bp"], "pool fee") + _i64(p["reserve_a"], "reserve_a") + _i64(p["reserve_b"], "reserve_b")
            + _i64(p["total_shares"], "total_shares") + _i64(p["trustline_count"], "trustline_count"))
    return _entry(p["last_modified"], _POOL, body)


def _account(a: dict) -> bytes:
    body = (_account_id(a["account"], "account") + _i64(a["balance"], "balance") + _i64(a["seq_num"], "seq_num")
            + _u32(a["num_sub_entries"], "num_sub_entries") + b"\0\0\0\0"  # no inflationDest
            + _u32(a["flags"], "account flags") + b"\0\0\0\0"  # homeDomain ""
            + b"\1\0\0\0" + b"\0\0\0\0")  # thresholds (master weight 1), no signers
    sponsored, sponsoring = a.get("num_sponsored", 0), a.get("num_sponsoring", 0)
    buying, selling = a.get("buying_liabilities", 0), a.get("selling_liabilities", 0)
    if not (buying or selling or sponsored or sponsoring):
        body += b"\0\0\0\0"  # ext v0
    else:
        body += _u32(1, "ext") + _i64(buying, "buying_liabilities") + _i64(selling, "selling_liabilities")
        if sponsored or sponsoring:  # AccountEntryExtensionV2, no signer sponsors, ext v0
            body += (_u32(2, "ext") + _u32(sponsored, "num_sponsored") + _u32(sponsoring, "num_sponsoring")
                     + b"\0\0\0\0" + b"\0\0\0\0")
        else:
            body += b"\0\0\0\0"
    return _entry(a["last_modified"], _ACCOUNT, body)


def _trustline(t: dict) -> bytes:
    body = (_account_id(t["account"], "trustline account") + _asset(t["asset"], "trustline asset", trustline=True)
            + _i64(t["balance"], "balance") + _i64(t["limit"], "limit") + _u32(t["flags"], "trustline flags"))
    buying, selling = t.get("buying_liabilities", 0), t.get("selling_liabilities", 0)
    pool_use = t.get("pool_use_count", 0)
    if not (buying or selling or pool_use):
        body += b"\0\0\0\0"
    else:
        body += _u32(1, "ext") + _i64(buying, "buying_liabilities") + _i64(selling, "selling_liabilities")
        body += (_u32(2, "ext") + _i32(pool_use, "pool_use_count") + b"\0\0\0\0") if pool_use else b"\0\0\0\0"
    return _entry(t["last_modified"], _TRUSTLINE, body)


def snapshot_changes(snapshot: Any) -> bytes:
    """The ``LedgerEntryChanges`` (STATE entries) of a DexSnapshot's offers, pools, accounts and trust lines."""
    parts: list[bytes] = []
    try:
        for rows, enc in ((snapshot.accounts, _account), (snapshot.trustlines, _trustline),
                          (snapshot.pools, _pool), (snapshot.offers, _offer)):
            parts.extend(enc(r) for r in rows)
    except (KeyError, TypeError) as e:
        raise ParseError(f"a snapshot record is missing a field or has the wrong type: {e!r}") from None
    return _u32(len(parts), "entries") + b"".join(parts)


def dexbook_from_snapshot(snapshot: Any) -> Any:
    """A :class:`~stellar_ob.ledger.dexbook.DexBook` holding the snapshot as of ``snapshot.ledger``, every market complete."""
    from stellar_ob.ledger.dexbook import DexBook

    return DexBook.from_snapshot(snapshot_changes(snapshot), snapshot.ledger)


class SavedSnapshot:
    """What :func:`load_snapshot` returns: the ledger, the passphrase and the changes XDR."""

    __slots__ = ("ledger", "network_passphrase", "changes")

    def __init__(self, ledger: int, network_passphrase: str | None, changes: bytes) -> None:
        self.ledger = ledger
        self.network_passphrase = network_passphrase
        self.changes = changes

    def to_dexbook(self) -> Any:
        from stellar_ob.ledger.dexbook import DexBook

        return DexBook.from_snapshot(self.changes, self.ledger)


def save_snapshot(path: str | os.PathLike, snapshot: Any) -> int:
    """Write a DexSnapshot to ``path`` (atomically: a temporary file renamed); returns its size."""
    return save_snapshot_changes(path, snapshot.ledger, snapshot_changes(snapshot), snapshot.network_passphrase)


def save_snapshot_changes(path: str | os.PathLike, ledger: int, changes: bytes,
                          network_passphrase: str | None = None) -> int:
    """Write a snapshot file from a ``LedgerEntryChanges`` of STATE entries already encoded (as
    :func:`snapshot_changes` returns, or as a DexBook seeds from) as of ``ledger``; returns its size.
    The changes are not decoded here: :func:`load_snapshot` and the book check them."""
    if not isinstance(changes, bytes) or len(changes) < 4:
        raise ParseError("changes must be the bytes of a LedgerEntryChanges")
    phrase = (network_passphrase or "").encode()
    body = (_MAGIC + _u32(ledger, "ledger") + _u32(len(phrase), "passphrase") + phrase
            + b"\0" * ((4 - len(phrase) % 4) % 4) + changes)
    data = body + hashlib.sha256(body).digest()
    tmp = f"{os.fspath(path)}.part"
    with open(tmp, "wb") as f:
        f.write(data)
    os.replace(tmp, path)
    return len(data)


def load_snapshot(path: str | os.PathLike, *, max_bytes: int = 4 << 30) -> SavedSnapshot:
    """Read a file written by :func:`save_snapshot` (ParseError if it is not one, or is damaged).

    The file is read once into the changes buffer (the header and checksum apart, hashed as they
    are read): a snapshot of a million offers costs its own size in memory while it loads, not
    three copies of it."""
    size = os.path.getsize(path)
    if size > max_bytes:
        raise ParseError(f"{os.fspath(path)}: {size} bytes, over max_bytes={max_bytes}")
    name = os.fspath(path)
    with open(path, "rb") as f:
        head = f.read(16)
        if size < 16 + 32 or len(head) < 16 or not head.startswith(_MAGIC):
            raise ParseError(f"{name} is not a stellar-ob DEX snapshot (stellar-ob bootstrap --out)")
        ledger, n = struct.unpack_from(">II", head, 8)
        end = 16 + n + (4 - n % 4) % 4
        if end > size - 32:
            raise ParseError(f"{name}: the passphrase runs past the file")
        phrase_raw = f.read(end - 16)
        changes = f.read(size - 32 - end)
        digest = f.read(33)
    if len(phrase_raw) != end - 16 or len(changes) != size - 32 - end or len(digest) != 32:
        raise ParseError(f"{name}: the file changed while it was read")
    h = hashlib.sha256(head)
    h.update(phrase_raw)
    h.update(changes)
    if h.digest() != digest:
        raise ParseError(f"{name}: the checksum does not match (truncated or altered)")
    try:
        phrase = phrase_raw[:n].decode()
    except UnicodeDecodeError:
        raise ParseError(f"{name}: the passphrase is not UTF-8") from None
    return SavedSnapshot(ledger, phrase or None, changes)


# ---- from Horizon, for a few markets ---------------------------------------------------------------

_POOL_PAGE = 200  # horizon: limit 1..200 per page


def _ledger_stamp(headers: Any, what: str) -> int:
    """The ``Latest-Ledger`` header of a Horizon answer: the ledger its records are as of."""
    stamp = headers.get("Latest-Ledger", "")
    if not isinstance(stamp, str) or not stamp.isascii() or not stamp.isdigit() or not 0 < int(stamp) < 2**32:
        raise ParseError(f"Horizon {what}: Latest-Ledger {str(stamp)[:20]!r} is not a ledger")
    return int(stamp)


def pool_state_entry(record: Any, base: Any, counter: Any, stamp: int) -> bytes:
    """The STATE ``LedgerEntryChange`` of one ``/liquidity_pools`` record
    (a ``LiquidityPoolRecord`` of :func:`stellar_ob.horizon.parse_liquidity_pools`) of the pair
    ``base``/``counter`` as of ``stamp``. Checked: exactly the pair's two reserves, a fee that fits an int32 and is positive,
    amounts and shares that fit an int64, and an ``id`` that is the sha256 of the pool's
    ``LiquidityPoolParameters`` (constant product, the assets in core's order, the fee): a record
    that is not the pool it claims to be raises :class:`~stellar_ob.errors.ParseError`."""
    from stellar_ob.ledger.records import LedgerAsset

    reserves = dict(record.reserves)
    if len(record.reserves) != 2 or set(reserves) != {base, counter}:
        raise ParseError(f"Horizon /liquidity_pools: pool {str(record.id)[:64]} holds "
                         f"{', '.join(str(a) for a, _ in record.reserves)[:200]}, not {base} and {counter}")
    fee = record.fee_bp
    if isinstance(fee, bool) or not isinstance(fee, int) or not 0 < fee < 2**31:
        raise ParseError(f"Horizon /liquidity_pools: pool {str(record.id)[:64]} fee_bp {fee!r} is not a positive int32")
    for what, v in (("a reserve", min(reserves.values())), ("total_shares", record.total_shares),
                    ("total_trustlines", record.total_trustlines)):
        if isinstance(v, bool) or not isinstance(v, int) or not 0 <= v < 2**63:
            raise ParseError(f"Horizon /liquidity_pools: pool {str(record.id)[:64]} {what} {v!r} is not an int64 >= 0")
    xa, xb = (_asset(tuple(LedgerAsset.from_asset(a)), "pool asset") for a in (base, counter))
    a, b = (base, counter) if (xa[:4], xa[4:]) <= (xb[:4], xb[4:]) else (counter, base)  # core: assetA < assetB
    if a is not base:
        xa, xb = xb, xa
    params = _u32(0, "pool type") + xa + xb + _i32(fee, "pool fee")  # LiquidityPoolParameters
    pool_id = hashlib.sha256(params).digest()
    if not isinstance(record.id, str) or record.id != pool_id.hex():
        raise ParseError(f"Horizon /liquidity_pools: id {str(record.id)[:80]!r} is not the pool of {a}/{b} "
                         f"with fee {fee} ({pool_id.hex()})")
    return _pool({"pool_id": pool_id, "asset_a": tuple(LedgerAsset.from_asset(a)),
                  "asset_b": tuple(LedgerAsset.from_asset(b)), "fee_bp": fee, "reserve_a": reserves[a],
                  "reserve_b": reserves[b], "total_shares": record.total_shares,
                  "trustline_count": record.total_trustlines, "last_modified": stamp})


async def horizon_changes(horizon: Any, markets: Iterable[tuple[Any, Any]], *,
                          max_pages: int = 10_000) -> tuple[bytes, int, int]:
    """Page each market's ``/offers`` (both directions, 200 a page, by offer id) and its pool
    (``/liquidity_pools?reserves=A,B``) once from Horizon (a URL or an open
    :class:`stellar_ob.Horizon`): every offer and pool as a STATE entry stamped with its
    page's ``Latest-Ledger``, and the oldest and newest stamp.

    A :class:`~stellar_ob.ledger.dexbook.DexBook` seeded with these at the oldest stamp and fed
    every ledger after it holds each market exactly from the newest stamp on: ledger entries
    carry whole values, so a change at or before a record's stamp is applied again harmlessly (the
    ledger's value at that ledger) and every change after it supersedes the record, for offers and
    pools alike; STATE entries confirm or correct. Nothing is seeded unless every page and record
    is read and checked (:class:`~stellar_ob.errors.ParseError` for a malformed one,
    :class:`~stellar_ob.ledger.stream.LedgerSourceError` past ``max_pages``): a book is never half
    bootstrapped."""
    from stellar_ob import Asset
    from stellar_ob.horizon import parse_liquidity_pools, parse_offers
    from stellar_ob.ledger.records import LedgerAsset, decode_account
    from stellar_ob.ledger.stream import LedgerSourceError
    from stellar_ob.sync import ArgumentError, Horizon

    pairs = [(Asset.parse(b), Asset.parse(c)) for b, c in markets]
    if not pairs:
        raise ArgumentError("a Horizon bootstrap needs at least one market")
    if isinstance(max_pages, bool) or not isinstance(max_pages, int) or max_pages < 1:
        raise ArgumentError(f"max_pages must be an int >= 1, got {max_pages!r}")
    offers: dict[int, bytes] = {}
    pools: dict[bytes, bytes] = {}  # pool id -> its entry (two markets of one pair share it)
    stamps: list[int] = []
    own = not isinstance(horizon, Horizon)
    h = Horizon(horizon) if own else horizon
    try:
        for base, counter in pairs:
            for selling, buying in ((base, counter), (counter, base)):
                cursor = ""
                for _page in range(max_pages):
                    params = {**selling.horizon_params("selling"), **buying.horizon_params("buying"),
                              "limit": "200", "order": "asc"}
                    if cursor:
                        params["cursor"] = cursor
                    body, headers = await h.get_json("/offers", params)
                    stamp = _ledger_stamp(headers, "/offers")
                    stamps.append(stamp)
                    page = parse_offers(body)
                    for o in page:
                        if o.selling != selling or o.buying != buying:
                            raise ParseError(f"Horizon /offers: offer {o.id} is not {selling} for {buying}")
                        offers[o.id] = _offer({
                            "seller": decode_account(o.seller), "offer_id": o.id,
                            "selling": tuple(LedgerAsset.from_asset(o.selling)),
                            "buying": tuple(LedgerAsset.from_asset(o.buying)), "amount": o.amount, "n": o.price.n,
                            "d": o.price.d, "flags": 0, "last_modified": o.last_modified_ledger or stamp})
                    if len(page) < 200:
                        break
                    if str(page[-1].id) == cursor:
                        raise ParseError("Horizon /offers does not advance its cursor")
                    cursor = str(page[-1].id)
                else:
                    raise LedgerSourceError(f"Horizon /offers of {selling}/{buying}: more than {max_pages} pages")
            cursor = ""
            for _page in range(max_pages):
                params = {"reserves": f"{base},{counter}", "limit": str(_POOL_PAGE), "order": "asc"}
                if cursor:
                    params["cursor"] = cursor
                body, headers = await h.get_json("/liquidity_pools", params)
                stamp = _ledger_stamp(headers, "/liquidity_pools")
                stamps.append(stamp)
                records = parse_liquidity_pools(body)
                if len(records) > _POOL_PAGE:
                    raise ParseError(f"Horizon /liquidity_pools: a page of {_POOL_PAGE} holds {len(records)} records")
                for rec in records:
                    entry = pool_state_entry(rec, base, counter, stamp)
                    pools[bytes.fromhex(rec.id)] = entry
                if len(records) < _POOL_PAGE:
                    break
                if records[-1].id == cursor:
                    raise ParseError("Horizon /liquidity_pools does not advance its cursor")
                cursor = records[-1].id
            else:
                raise LedgerSourceError(f"Horizon /liquidity_pools of {base}/{counter}: more than {max_pages} pages")
    finally:
        if own:
            await h.close()
    entries = [*pools.values(), *offers.values()]
    return _u32(len(entries), "entries") + b"".join(entries), min(stamps), max(stamps)
