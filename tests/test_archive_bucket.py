"""The C bucket reader (stellar_ob.ledger._bucket) against stellar-sdk and a Python model.

- every record of random buckets (accounts, trustlines, offers, pools, data entries; LIVE, INIT and
  DEAD; with and without every extension) reads back as stellar-sdk decodes the same record, entry
  for entry, fed whole or in random pieces;
- the merge of random bucket lists (keys repeated across levels, DEAD/INIT/LIVE) equals a Python
  model of stellar-core's rule (newest first, the first entry of a key decides, DEAD hides);
- malformed buckets raise ParseError with the offset; arguments are checked.
"""

from __future__ import annotations

import random
import struct

import pytest
from stellar_sdk import Keypair, xdr

from stellar_ob.errors import ParseError
from stellar_ob.testing.archive import bucket_bytes

_bucket = pytest.importorskip("stellar_ob.ledger._bucket")

# ---- building entries with stellar-sdk's XDR classes -------------------------------------------------


def acct(k: bytes) -> xdr.AccountID:
    return Keypair.from_raw_ed25519_public_key(k).xdr_account_id()


def sdk_asset(a: tuple) -> xdr.Asset:
    t, code, issuer = a
    if t == 0:
        return xdr.Asset(xdr.AssetType.ASSET_TYPE_NATIVE)
    if t == 1:
        return xdr.Asset(xdr.AssetType.ASSET_TYPE_CREDIT_ALPHANUM4,
                         alpha_num4=xdr.AlphaNum4(xdr.AssetCode4(code), acct(issuer)))
    return xdr.Asset(xdr.AssetType.ASSET_TYPE_CREDIT_ALPHANUM12,
                     alpha_num12=xdr.AlphaNum12(xdr.AssetCode12(code), acct(issuer)))


def sdk_tl_asset(a: tuple) -> xdr.TrustLineAsset:
    t, code, issuer = a
    if t == 3:
        return xdr.TrustLineAsset(xdr.AssetType.ASSET_TYPE_POOL_SHARE, liquidity_pool_id=xdr.PoolID(xdr.Hash(issuer)))
    x = sdk_asset(a)
    return xdr.TrustLineAsset(x.type, alpha_num4=x.alpha_num4, alpha_num12=x.alpha_num12)


def entry(lm: int, data: xdr.LedgerEntryData) -> xdr.LedgerEntry:
    return xdr.LedgerEntry(xdr.Uint32(lm), data, xdr.LedgerEntryExt(0))


def offer_entry(seller, oid, selling, buying, amount, n, d, flags, lm=10):
    o = xdr.OfferEntry(acct(seller), xdr.Int64(oid), sdk_asset(selling), sdk_asset(buying), xdr.Int64(amount),
                       xdr.Price(xdr.Int32(n), xdr.Int32(d)), xdr.Uint32(flags), xdr.OfferEntryExt(0))
    return entry(lm, xdr.LedgerEntryData(xdr.LedgerEntryType.OFFER, offer=o))


def account_entry(k, balance, subentries, *, liabilities=None, sponsor=None, lm=10):
    if liabilities is None:
        ext = xdr.AccountEntryExt(0)
    else:
        v2 = xdr.AccountEntryExtensionV1Ext(0)
        if sponsor is not None:
            v2 = xdr.AccountEntryExtensionV1Ext(2, xdr.AccountEntryExtensionV2(
                xdr.Uint32(sponsor[0]), xdr.Uint32(sponsor[1]), [], xdr.AccountEntryExtensionV2Ext(0)))
        ext = xdr.AccountEntryExt(1, xdr.AccountEntryExtensionV1(
            xdr.Liabilities(xdr.Int64(liabilities[0]), xdr.Int64(liabilities[1])), v2))
    a = xdr.AccountEntry(acct(k), xdr.Int64(balance), xdr.SequenceNumber(xdr.Int64(77)), xdr.Uint32(subentries),
                         None, xdr.Uint32(0), xdr.String32(b"example.com"), xdr.Thresholds(b"\x01\x00\x00\x00"), [], ext)
    return entry(lm, xdr.LedgerEntryData(xdr.LedgerEntryType.ACCOUNT, account=a))


def trustline_entry(k, asset, balance, limit, flags, *, liabilities=None, pool_use=None, lm=10):
    if liabilities is None:
        ext = xdr.TrustLineEntryExt(0)
    else:
        v1ext = xdr.TrustLineEntryV1Ext(0) if pool_use is None else xdr.TrustLineEntryV1Ext(
            2, xdr.TrustLineEntryExtensionV2(xdr.Int32(pool_use), xdr.TrustLineEntryExtensionV2Ext(0)))
        ext = xdr.TrustLineEntryExt(1, xdr.TrustLineEntryV1(
            xdr.Liabilities(xdr.Int64(liabilities[0]), xdr.Int64(liabilities[1])), v1ext))
    t = xdr.TrustLineEntry(acct(k), sdk_tl_asset(asset), xdr.Int64(balance), xdr.Int64(limit), xdr.Uint32(flags), ext)
    return entry(lm, xdr.LedgerEntryData(xdr.LedgerEntryType.TRUSTLINE, trust_line=t))


def pool_entry(pid, a, b, fee, ra, rb, shares, count, lm=10):
    cp = xdr.LiquidityPoolEntryConstantProduct(
        xdr.LiquidityPoolConstantProductParameters(sdk_asset(a), sdk_asset(b), xdr.Int32(fee)),
        xdr.Int64(ra), xdr.Int64(rb), xdr.Int64(shares), xdr.Int64(count))
    p = xdr.LiquidityPoolEntry(xdr.PoolID(xdr.Hash(pid)), xdr.LiquidityPoolEntryBody(
        xdr.LiquidityPoolType.LIQUIDITY_POOL_CONSTANT_PRODUCT, constant_product=cp))
    return entry(lm, xdr.LedgerEntryData(xdr.LedgerEntryType.LIQUIDITY_POOL, liquidity_pool=p))


def data_entry(k, name: bytes, value: bytes, lm=10):
    d = xdr.DataEntry(acct(k), xdr.String64(name), xdr.DataValue(value), xdr.DataEntryExt(0))
    return entry(lm, xdr.LedgerEntryData(xdr.LedgerEntryType.DATA, data=d))


def key_of(e: xdr.LedgerEntry) -> xdr.LedgerKey:
    d = e.data
    T = xdr.LedgerEntryType
    if d.type == T.OFFER:
        return xdr.LedgerKey(T.OFFER, offer=xdr.LedgerKeyOffer(d.offer.seller_id, d.offer.offer_id))
    if d.type == T.ACCOUNT:
        return xdr.LedgerKey(T.ACCOUNT, account=xdr.LedgerKeyAccount(d.account.account_id))
    if d.type == T.TRUSTLINE:
        return xdr.LedgerKey(T.TRUSTLINE, trust_line=xdr.LedgerKeyTrustLine(d.trust_line.account_id, d.trust_line.asset))
    if d.type == T.LIQUIDITY_POOL:
        return xdr.LedgerKey(T.LIQUIDITY_POOL,
                             liquidity_pool=xdr.LedgerKeyLiquidityPool(d.liquidity_pool.liquidity_pool_id))
    return xdr.LedgerKey(T.DATA, data=xdr.LedgerKeyData(d.data.account_id, d.data.data_name))


# ---- stellar-sdk's reading of the same XDR, as plain records ---------------------------------------


def rec_asset(a) -> tuple:
    t = a.type.value
    if t == 0:
        return (0, b"", b"")
    if t == 3:
        return (3, b"", a.liquidity_pool_id.pool_id.hash)
    if t == 1:
        return (1, a.alpha_num4.asset_code.asset_code4, a.alpha_num4.issuer.account_id.ed25519.uint256)
    return (2, a.alpha_num12.asset_code.asset_code12, a.alpha_num12.issuer.account_id.ed25519.uint256)


def sdk_key_record(k: xdr.LedgerKey) -> dict | None:
    T = xdr.LedgerEntryType
    if k.type == T.OFFER:
        return {"type": "offer", "seller": k.offer.seller_id.account_id.ed25519.uint256,
                "offer_id": k.offer.offer_id.int64}
    if k.type == T.ACCOUNT:
        return {"type": "account", "account": k.account.account_id.account_id.ed25519.uint256}
    if k.type == T.TRUSTLINE:
        return {"type": "trustline", "account": k.trust_line.account_id.account_id.ed25519.uint256,
                "asset": rec_asset(k.trust_line.asset)}
    if k.type == T.LIQUIDITY_POOL:
        return {"type": "pool", "pool_id": k.liquidity_pool.liquidity_pool_id.pool_id.hash}
    return None


def sdk_record(e: xdr.LedgerEntry) -> dict | None:
    d = e.data
    T = xdr.LedgerEntryType
    lm = e.last_modified_ledger_seq.uint32
    if d.type == T.OFFER:
        o = d.offer
        return {"type": "offer", "seller": o.seller_id.account_id.ed25519.uint256, "offer_id": o.offer_id.int64,
                "selling": rec_asset(o.selling), "buying": rec_asset(o.buying), "amount": o.amount.int64,
                "n": o.price.n.int32, "d": o.price.d.int32, "flags": o.flags.uint32, "last_modified": lm}
    if d.type == T.LIQUIDITY_POOL:
        p = d.liquidity_pool
        cp = p.body.constant_product
        return {"type": "pool", "pool_id": p.liquidity_pool_id.pool_id.hash, "asset_a": rec_asset(cp.params.asset_a),
                "asset_b": rec_asset(cp.params.asset_b), "fee_bp": cp.params.fee.int32,
                "reserve_a": cp.reserve_a.int64, "reserve_b": cp.reserve_b.int64,
                "total_shares": cp.total_pool_shares.int64, "trustline_count": cp.pool_shares_trust_line_count.int64,
                "last_modified": lm}
    if d.type == T.TRUSTLINE:
        t = d.trust_line
        bl = sl = use = 0
        if t.ext.v == 1:
            bl, sl = t.ext.v1.liabilities.buying.int64, t.ext.v1.liabilities.selling.int64
            if t.ext.v1.ext.v == 2:
                use = t.ext.v1.ext.v2.liquidity_pool_use_count.int32
        return {"type": "trustline", "account": t.account_id.account_id.ed25519.uint256, "asset": rec_asset(t.asset),
                "balance": t.balance.int64, "limit": t.limit.int64, "flags": t.flags.uint32,
                "buying_liabilities": bl, "selling_liabilities": sl, "pool_use_count": use, "last_modified": lm}
    if d.type == T.ACCOUNT:
        a = d.account
        bl = sl = ns = ng = 0
        if a.ext.v == 1:
            bl, sl = a.ext.v1.liabilities.buying.int64, a.ext.v1.liabilities.selling.int64
            if a.ext.v1.ext.v == 2:
                ns, ng = a.ext.v1.ext.v2.num_sponsored.uint32, a.ext.v1.ext.v2.num_sponsoring.uint32
        return {"type": "account", "account": a.account_id.account_id.ed25519.uint256, "balance": a.balance.int64,
                "seq_num": a.seq_num.sequence_number.int64, "num_sub_entries": a.num_sub_entries.uint32,
                "flags": a.flags.uint32, "buying_liabilities": bl, "selling_liabilities": sl,
                "num_sponsored": ns, "num_sponsoring": ng, "last_modified": lm}
    return None


def sdk_read(bucket: bytes) -> list[tuple[str, dict]]:
    """stellar-sdk's decoding of every record of a bucket: (kind, record) of the reported types."""
    out, pos = [], 0
    kinds = {0: "LIVE", 1: "DEAD", 2: "INIT"}
    while pos < len(bucket):
        (mark,) = struct.unpack_from(">I", bucket, pos)
        n = mark & 0x7FFFFFFF
        be = xdr.BucketEntry.from_xdr_bytes(bucket[pos + 4: pos + 4 + n])
        pos += 4 + n
        t = be.type.value
        if t == -1:
            continue
        rec = sdk_key_record(be.dead_entry) if t == 1 else sdk_record(be.live_entry)
        if rec is not None:
            out.append((kinds[t], rec))
    return out


# ---- random content ---------------------------------------------------------------------------------

ISSUERS = [bytes([0xA0 + i]) * 32 for i in range(3)]
ASSETS = [(0, b"", b""), (1, b"USD\0", ISSUERS[0]), (1, b"EUR\0", ISSUERS[1]), (2, b"LONGASSET\0\0\0", ISSUERS[2]),
          (1, b"ABCD", ISSUERS[0])]


def random_entry(rng: random.Random, kind: str, key: tuple) -> xdr.LedgerEntry:
    lm = rng.randrange(1, 1 << 32)
    big = lambda: rng.choice([0, 1, rng.randrange(1 << 62), (1 << 63) - 1])  # noqa: E731
    t = key[0]
    if t == "offer":
        _t, seller, oid = key
        a, b = rng.sample(ASSETS, 2)
        return offer_entry(seller, oid, a, b, big(), rng.randrange(1, 1 << 31), rng.randrange(1, 1 << 31),
                           rng.choice([0, 1]), lm)
    if t == "account":
        liab = None if rng.random() < 0.3 else (big(), big())
        spon = None if liab is None or rng.random() < 0.5 else (rng.randrange(1 << 32), rng.randrange(1 << 32))
        return account_entry(key[1], big(), rng.randrange(1 << 32), liabilities=liab, sponsor=spon, lm=lm)
    if t == "trustline":
        liab = None if rng.random() < 0.3 else (big(), big())
        use = None if liab is None or rng.random() < 0.5 else rng.randrange(-(1 << 31), 1 << 31)
        return trustline_entry(key[1], key[2], big(), big(), rng.randrange(8), liabilities=liab, pool_use=use, lm=lm)
    if t == "pool":
        a, b = rng.sample(ASSETS, 2)
        return pool_entry(key[1], a, b, 30, big(), big(), big(), big(), lm)
    return data_entry(key[1], key[2], bytes(rng.randrange(256) for _ in range(rng.randrange(65))), lm)


def random_keys(rng: random.Random, n: int) -> list[tuple]:
    sellers = [bytes([i]) * 31 + b"\x01" for i in range(1, 6)]
    keys = set()
    while len(keys) < n:
        t = rng.choice(["offer", "offer", "account", "trustline", "pool", "data"])
        s = rng.choice(sellers)
        if t == "offer":
            keys.add(("offer", s, rng.choice([1, 2, 3, 1 << 40, (1 << 63) - 1])))
        elif t == "account":
            keys.add(("account", s))
        elif t == "trustline":
            keys.add(("trustline", s, rng.choice(ASSETS[1:] + [(3, b"", b"\x42" * 32)])))
        elif t == "pool":
            keys.add(("pool", bytes([rng.randrange(4)]) * 32))
        else:
            keys.add(("data", s, rng.choice([b"a", b"name", b"x" * 64])))
    return sorted(keys)


def random_bucket(rng: random.Random, keys: list[tuple], n: int) -> list[tuple[str, bytes]]:
    chosen = rng.sample(keys, min(n, len(keys)))
    out = []
    for key in chosen:
        kind = rng.choice(["LIVE", "INIT", "DEAD"])
        e = random_entry(rng, kind, key)
        out.append((kind, (key_of(e) if kind == "DEAD" else e).to_xdr_bytes()))
    return out


def key_tuple(rec: dict) -> tuple:
    t = rec["type"]
    if t == "offer":
        return (t, rec["seller"], rec["offer_id"])
    if t == "account":
        return (t, rec["account"])
    if t == "trustline":
        return (t, rec["account"], rec["asset"])
    return (t, rec["pool_id"])


# ---- tests -----------------------------------------------------------------------------------------


@pytest.mark.parametrize("seed", range(12))
def test_reader_matches_stellar_sdk(seed):
    rng = random.Random(seed)
    keys = random_keys(rng, 60)
    raw = bucket_bytes(random_bucket(rng, keys, 50))
    want = sdk_read(raw)
    assert want, "the bucket has entries of the reported types"
    assert _bucket.read_bucket(raw) == want
    # fed in random pieces
    r = _bucket.BucketReader()
    pos = 0
    got = []
    while pos < len(raw):
        step = rng.choice([1, 3, 17, 100, 4096])
        r.feed(memoryview(raw)[pos:pos + step])
        pos += step
        got += r.take()
    r.finish()
    got += r.take()
    assert got == want
    assert r.meta == (23, None) and r.offset == len(raw)
    # only some types
    assert _bucket.read_bucket(raw, ["offer"]) == [(k, v) for k, v in want if v["type"] == "offer"]


def test_reader_reads_real_entries_of_sample_changes():
    """The 672 real mainnet entries of sample-changes.xdr as LIVE entries: the same as stellar-sdk."""
    import pathlib

    data = (pathlib.Path(__file__).parent / "data/ledger/sample-changes.xdr").read_bytes()
    changes = xdr.LedgerEntryChanges.from_xdr_bytes(data)
    raw = bucket_bytes([("LIVE", c.state.to_xdr_bytes()) for c in changes.ledger_entry_changes])
    got = _bucket.read_bucket(raw)
    assert got == sdk_read(raw)
    assert sum(1 for _k, r in got if r["type"] == "offer") == 100
    assert sum(1 for _k, r in got if r["type"] == "account") == 372


def model_merge(buckets: list[list[tuple[str, bytes]]], types: set[str]) -> dict:
    """stellar-core's rule, in Python on stellar-sdk's records: newest bucket first; the first
    entry of a key decides; DEAD means absent."""
    decided: dict = {}
    for b in buckets:
        for kind, rec in sdk_read(bucket_bytes(b)):
            if rec["type"] not in types:
                continue
            k = key_tuple(rec)
            if k not in decided:
                decided[k] = None if kind == "DEAD" else rec
    return {k: v for k, v in decided.items() if v is not None}


def c_merge(buckets, types, pieces=None, rng=None, want_accounts=None, want_trustlines=None):
    st = _bucket.BucketListState(types)
    if want_accounts is not None:
        st.want_accounts(want_accounts)
    if want_trustlines is not None:
        st.want_trustlines(want_trustlines)
    for b in buckets:
        raw = bucket_bytes(b)
        r = st.bucket()
        pos = 0
        while pos < len(raw):
            step = rng.choice(pieces) if pieces else len(raw)
            r.feed(raw[pos:pos + step])
            st.absorb(r)
            pos += step
        r.finish()
        st.absorb(r)
    res = st.result()
    out = {}
    for recs in res.values():
        for rec in recs:
            k = key_tuple(rec)
            assert k not in out, "each key once"
            out[k] = rec
    return out


@pytest.mark.parametrize("seed", range(25))
def test_merge_equals_model(seed):
    rng = random.Random(1000 + seed)
    keys = random_keys(rng, rng.randrange(5, 40))
    buckets = [random_bucket(rng, keys, rng.randrange(0, len(keys) + 1)) for _ in range(rng.randrange(1, 8))]
    types = ("offer", "pool", "trustline", "account")
    want = model_merge(buckets, set(types))
    assert c_merge(buckets, types, pieces=[1, 7, 64, 1 << 20], rng=rng) == want
    assert c_merge(buckets, ("offer",)) == {k: v for k, v in want.items() if k[0] == "offer"}


def test_merge_dead_hides_and_wanted_keys():
    s1, s2 = b"\x01" * 32, b"\x02" * 32
    usd = ASSETS[1]
    newest = [("DEAD", key_of(offer_entry(s1, 7, ASSETS[0], usd, 1, 1, 1, 0)).to_xdr_bytes()),
              ("LIVE", account_entry(s1, 55, 2).to_xdr_bytes())]
    older = [("INIT", offer_entry(s1, 7, ASSETS[0], usd, 100, 1, 1, 0).to_xdr_bytes()),
             ("INIT", offer_entry(s2, 8, ASSETS[0], usd, 200, 1, 1, 0).to_xdr_bytes()),
             ("INIT", account_entry(s1, 1, 1).to_xdr_bytes()),
             ("INIT", account_entry(s2, 2, 1).to_xdr_bytes()),
             ("INIT", trustline_entry(s2, usd, 5, 10, 1).to_xdr_bytes()),
             ("INIT", trustline_entry(s1, usd, 6, 10, 1).to_xdr_bytes())]
    got = c_merge([newest, older], ("offer", "account", "trustline"))
    assert ("offer", s1, 7) not in got and got[("offer", s2, 8)]["amount"] == 200
    assert got[("account", s1)]["balance"] == 55  # the newest wins
    got = c_merge([newest, older], ("offer", "account", "trustline"), want_accounts=[s2],
                  want_trustlines=[(s2, usd)])
    assert set(got) == {("offer", s2, 8), ("account", s2), ("trustline", s2, usd)}
    # the same key twice in one bucket is refused
    with pytest.raises(ParseError, match="twice"):
        c_merge([[older[0], ("DEAD", key_of(offer_entry(s1, 7, ASSETS[0], usd, 1, 1, 1, 0)).to_xdr_bytes())]],
                ("offer",))


def test_malformed_buckets():
    e = offer_entry(b"\x01" * 32, 1, ASSETS[0], ASSETS[1], 5, 1, 1, 0)
    raw = bucket_bytes([("LIVE", e.to_xdr_bytes()), ("LIVE", account_entry(b"\x01" * 32, 1, 1).to_xdr_bytes())])
    bounds, pos = set(), 0
    while pos < len(raw):
        pos += 4 + (struct.unpack_from(">I", raw, pos)[0] & 0x7FFFFFFF)
        bounds.add(pos)
    for cut in range(1, len(raw)):
        if cut in bounds:
            assert len(_bucket.read_bucket(raw[:cut])) == (0 if cut == 16 else 1)
            continue
        with pytest.raises(ParseError) as ei:
            _bucket.read_bucket(raw[:cut])
        assert 0 <= ei.value.offset <= cut
    unsorted = bucket_bytes([("LIVE", e.to_xdr_bytes()), ("LIVE", account_entry(b"\x01" * 32, 1, 1).to_xdr_bytes())],
                            sort=False)
    with pytest.raises(ParseError, match="out of order"):
        _bucket.read_bucket(unsorted)
    with pytest.raises(ParseError, match="unknown union arm"):
        _bucket.read_bucket(struct.pack(">Ii", 0x80000004, 3))
    with pytest.raises(ParseError, match="last-fragment"):
        _bucket.read_bucket(struct.pack(">Ii", 4, 3))
    with pytest.raises(ParseError, match="HOT_ARCHIVE"):
        _bucket.read_bucket(struct.pack(">IiIII", 0x80000010, -1, 23, 1, 1))
    r = _bucket.BucketReader()
    r.feed(raw)
    r.finish()
    with pytest.raises(ValueError):
        r.feed(b"")
    for bad in ["offer", ["offers"], [], [3], None]:
        with pytest.raises((TypeError, ValueError)):
            _bucket.BucketReader(bad)
    st = _bucket.BucketListState()
    for bad in [[b"short"], ["x" * 32], [bytearray(32)]]:
        with pytest.raises(TypeError):
            st.want_accounts(bad)
    for bad in [[(b"\x01" * 32, (1, b"USD", b"\x01" * 32))], [(b"\x01" * 32, (0, b"X", b""))],
                [(b"\x01" * 32, (4, b"", b""))], [b"\x01" * 32]]:
        with pytest.raises((TypeError, ValueError)):
            st.want_trustlines(bad)
