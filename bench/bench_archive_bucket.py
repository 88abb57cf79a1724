"""History-archive buckets: the C reader's throughput in MB/s of uncompressed bucket (pytest-benchmark).

    pytest bench/bench_archive_bucket.py --benchmark-only -p no:cacheprovider
    pytest bench/bench_archive_bucket.py --benchmark-disable -q     # smoke: each body once

A bucket of ``BUCKET_ENTRIES`` records (env, default 60,000: 40% accounts, 30% trustlines, 30%
offers, in core's type order) made by patching the keys of one entry of each kind built with
stellar-sdk. Rows: the C reader decoding every DEX entry; the C reader reporting offers only
(accounts and trustlines walked, not decoded); the whole bucket-list merge; the load of a
one-bucket archive from a directory (gunzip + sha256 + two passes); and the baseline, stellar-sdk's
``BucketEntry.from_xdr_bytes`` on every record. ``extra_info["MB/s"]`` is size / median.
"""

from __future__ import annotations

import asyncio
import os
import struct

import pytest

_bucket = pytest.importorskip("stellar_ob.ledger._bucket")
xdr = pytest.importorskip("stellar_sdk").xdr

N = int(os.environ.get("BUCKET_ENTRIES", "60000"))


def _build(n: int) -> bytes:
    from stellar_ob.testing.archive import bucket_bytes
    from tests.test_archive_bucket import ASSETS, account_entry, offer_entry, trustline_entry

    seller = b"\x01" * 32
    acc = account_entry(seller, 10**9, 3, liabilities=(5, 6), sponsor=(1, 2)).to_xdr_bytes()
    tl = trustline_entry(seller, ASSETS[1], 10**9, 10**12, 1, liabilities=(5, 6)).to_xdr_bytes()
    off = offer_entry(seller, 1, ASSETS[0], ASSETS[1], 10**7, 3, 2, 0).to_xdr_bytes()
    entries = []
    # the account id sits at byte 12 (lastModified, type, PublicKey type); the offer id at 44
    entries.append(("LIVE", acc))  # the sellers' account, then others
    for i in range(1, n * 4 // 10):
        entries.append(("LIVE", acc[:12] + struct.pack(">Q", i) + acc[20:]))
    for i in range(n * 3 // 10):
        entries.append(("LIVE", tl[:12] + struct.pack(">Q", i) + tl[20:]))
    for i in range(n - len(entries)):
        entries.append(("INIT", off[:44] + struct.pack(">q", i) + off[52:]))
    return bucket_bytes(entries)


@pytest.fixture(scope="module")
def bucket() -> bytes:
    return _build(N)


def _mbps(benchmark, size: int) -> None:
    med = benchmark.stats.stats.median if benchmark.stats else None
    if med:
        benchmark.extra_info["MB/s"] = round(size / med / 1e6, 1)
    benchmark.extra_info["bytes"] = size


def _read(data: bytes, types) -> int:
    r = _bucket.BucketReader(types)
    mv = memoryview(data)
    for i in range(0, len(data), 1 << 20):
        r.feed(mv[i:i + (1 << 20)])
        r.take()
    r.finish()
    r.take()
    return r.records


def test_bucket_c_read_all(benchmark, bucket):
    assert benchmark(_read, bucket, ("offer", "pool", "trustline", "account")) == N + 1
    _mbps(benchmark, len(bucket))


def test_bucket_c_read_offers_only(benchmark, bucket):
    assert benchmark(_read, bucket, ("offer",)) == N + 1
    _mbps(benchmark, len(bucket))


def test_bucket_c_merge(benchmark, bucket):
    def run():
        st = _bucket.BucketListState()
        r = st.bucket()
        mv = memoryview(bucket)
        for i in range(0, len(bucket), 1 << 20):
            r.feed(mv[i:i + (1 << 20)])
            st.absorb(r)
        r.finish()
        st.absorb(r)
        return st.keys_seen

    assert benchmark(run) == N
    _mbps(benchmark, len(bucket))


def test_bucket_archive_load(benchmark, bucket, tmp_path):
    from stellar_ob.ledger.archive import HistoryArchive
    from stellar_ob.testing.archive import write_archive

    write_archive(tmp_path, 63, [(bucket, None)])

    def run():
        async def go():
            async with HistoryArchive(tmp_path) as ar:
                return await ar.load()
        return asyncio.run(go())

    snap = benchmark(run)
    assert len(snap.offers) == N - N * 4 // 10 - N * 3 // 10 and len(snap.accounts) == 1
    _mbps(benchmark, len(bucket))


def test_bucket_sdk_baseline(benchmark, bucket):
    """stellar-sdk decoding every record of the same bucket (the pure-Python baseline)."""
    def run():
        pos, n = 0, 0
        while pos < len(bucket):
            size = struct.unpack_from(">I", bucket, pos)[0] & 0x7FFFFFFF
            xdr.BucketEntry.from_xdr_bytes(bucket[pos + 4:pos + 4 + size])
            pos += 4 + size
            n += 1
        return n

    assert benchmark.pedantic(run, rounds=3, iterations=1) == N + 1
    _mbps(benchmark, len(bucket))
