"""SEP-54 data lakes as a ledger source (issue 14): real galexie files, a lake written from ledger
bytes, read from a directory and over loopback HTTP, each fault alone and all together.

The outcome checked everywhere: the consumer gets every ledger exactly once and in order (each
batch's range continues the last one, ``first`` is where the consumer stands), and the bytes are
the file's decompressed LedgerCloseMetaBatch.
"""

from __future__ import annotations

import asyncio
import json
import shutil
import struct

import pytest

from ledger_chain import DATA, chain
from stellar_ob.errors import ParseError
from stellar_ob.ledger.datalake import DataLake, object_key, read_batch_header
from stellar_ob.ledger.stream import LedgerBatch, LedgerSourceError, LedgerStream, NetworkMismatchError
from stellar_ob.sync import ArgumentError, Status
from stellar_ob.testing.datalake import STANDALONE_PASSPHRASE, LocalDataLake, write_data_lake

zstandard = pytest.importorskip("zstandard")
pytestmark = pytest.mark.network

GUARD = 60.0
FIRST = 2000


def stream(source, start, **kw) -> LedgerStream:
    kw.setdefault("poll_interval", 0.005)
    kw.setdefault("backoff_base", 0.001)
    kw.setdefault("backoff_cap", 0.01)
    return LedgerStream(source, start, **kw)


def split(batch: LedgerBatch) -> list[tuple[int, bytes]]:
    """The ledgers of a batch, with stellar-sdk (the C decoder's job in the library)."""
    from stellar_sdk import xdr as X

    b = X.LedgerCloseMetaBatch.from_xdr_bytes(batch.data)
    assert (b.start_sequence.uint32, b.end_sequence.uint32) == (batch.start, batch.end)
    out = []
    for m in b.ledger_close_metas:
        raw = m.to_xdr_bytes()
        out.append((m.v1.ledger_header.header.ledger_seq.uint32 if m.v == 1 else
                    m.v2.ledger_header.header.ledger_seq.uint32 if m.v == 2 else
                    m.v0.ledger_header.header.ledger_seq.uint32, raw))
    return out


def real_lake(tmp_path):
    """The three consecutive galexie files of stellar/go's test bucket (997..999, one ledger a
    file, no partitions), as a lake directory."""
    root = tmp_path / "lake"
    root.mkdir()
    (root / ".config.json").write_text(json.dumps({
        "networkPassphrase": "Test SDF Network ; September 2015", "version": "1.0", "compression": "zstd",
        "ledgersPerBatch": 1, "batchesPerPartition": 1}))
    for seq in (997, 998, 999):
        name = object_key(seq, 1, 1)
        shutil.copy(DATA / name, root / name)
    return root


def test_object_keys_match_real_file_names():
    for f in DATA.glob("*.xdr.zst"):
        seq = int(f.name.split("--")[1].split(".")[0])
        assert object_key(seq, 1, 1) == f.name
    assert object_key(53312000, 1, 1) == "FCD285FF--53312000.xdr.zst"  # the mainnet file (.zstd in stellar/go)
    assert object_key(63, 64, 64000) == "FFFFFFFF--0-4095999/FFFFFFFF--0-63.xdr.zst"
    assert object_key(2**32 - 1, 64, 64000).endswith("--4294967232-4294967295.xdr.zst")


def test_batch_header_is_read_strictly():
    raw = (DATA / "FFFFFC18--999.xdr").read_bytes()
    assert read_batch_header(raw, 999, 999) == (999, 999)
    with pytest.raises(ParseError, match="its name says"):
        read_batch_header(raw, 998, 998)
    with pytest.raises(ParseError, match="too short"):
        read_batch_header(raw[:11], 999, 999)
    with pytest.raises(ParseError, match="2 ledgers"):
        read_batch_header(raw[:8] + struct.pack(">I", 2) + raw[12:], 999, 999)
    with pytest.raises(ParseError, match="after endSequence"):
        read_batch_header(struct.pack(">III", 5, 4, 0), 0, 10)


@pytest.mark.parametrize("over", ["dir", "http"])
async def test_real_galexie_files(tmp_path, over):
    root = real_lake(tmp_path)
    async with LocalDataLake(root) as http:
        lake = DataLake(root if over == "dir" else http.url, passphrase="Test SDF Network ; September 2015")
        async with stream(lake, 997, end=999) as s:
            got = await asyncio.wait_for(_collect(s), GUARD)
    assert [(b.start, b.end, b.first) for b in got] == [(997, 997, 997), (998, 998, 998), (999, 999, 999)]
    for b in got:
        assert b.data == (DATA / b.name.replace(".zst", "")).read_bytes()
        assert [seq for seq, _m in split(b)] == [b.start]
    assert s.counters.batches == 3 and s.counters.ledgers == 3


async def test_real_mainnet_file_in_a_partition(tmp_path):
    root = tmp_path / "lake"
    write_data_lake(root, [], passphrase="Public Global Stellar Network ; September 2015")
    key = object_key(53312000, 1, 64000)
    (root / key).parent.mkdir(parents=True)
    shutil.copy(DATA / "FCD285FF--53312000.xdr.zstd", root / key)
    async with stream(DataLake(root), 53312000, end=53312000) as s:
        (b,) = await asyncio.wait_for(_collect(s), GUARD)
    assert (b.start, b.end, b.name) == (53312000, 53312000, key)
    assert b.data == (DATA / "FCD285FF--53312000.xdr").read_bytes()


async def _collect(s):
    return [x async for x in s]


@pytest.mark.parametrize("over", ["dir", "http"])
async def test_replay_a_range_from_mid_file(tmp_path, over):
    """Four ledgers a file, three files a partition: a replay from the middle of a file gets that
    file whole with ``first`` where it started, then the next files, to the end asked."""
    ledgers = chain(FIRST, 40)
    root = tmp_path / "lake"
    keys = write_data_lake(root, ledgers, ledgers_per_batch=4, batches_per_partition=3)
    assert keys[0] == object_key(FIRST, 4, 3) and len(keys) == 10
    async with LocalDataLake(root) as http:
        async with stream(DataLake(root if over == "dir" else http.url), FIRST + 6, end=FIRST + 30) as s:
            got = await asyncio.wait_for(_collect(s), GUARD)
    assert [(b.start, b.end, b.first) for b in got] == \
        [(FIRST + 4, FIRST + 7, FIRST + 6)] + [(a, a + 3, a) for a in range(FIRST + 8, FIRST + 32, 4)]
    flat = [x for b in got for x in split(b) if x[0] >= b.first]
    assert flat == ledgers[6:32]
    assert s.counters.ledgers == 26


@pytest.mark.parametrize("over", ["dir", "http"])
async def test_follows_new_files_at_the_tip(tmp_path, over):
    ledgers = chain(FIRST, 30)
    root = tmp_path / "lake"
    write_data_lake(root, ledgers[:10], ledgers_per_batch=2)
    async with LocalDataLake(root) as http:
        async with stream(DataLake(root if over == "dir" else http.url), FIRST) as s:
            seen = []
            async for b in s:
                seen.extend(x for x in split(b) if x[0] >= b.first)
                if b.end == FIRST + 29:
                    break
                if not (root / object_key(b.end + 1, 2, 64000)).exists():  # the consumer is at the tip
                    write_data_lake(root, ledgers[b.end + 1 - FIRST:b.end + 3 - FIRST], ledgers_per_batch=2)
            assert s.status is Status.LIVE and s.counters.tip_polls == 0
    assert seen == ledgers


async def test_start_none_is_the_newest_file_of_a_directory(tmp_path):
    root = tmp_path / "lake"
    write_data_lake(root, chain(FIRST, 9), ledgers_per_batch=4)
    async with stream(DataLake(root), None, end=FIRST + 8) as s:
        (b,) = await asyncio.wait_for(_collect(s), GUARD)
    assert (b.start, b.end, b.first) == (FIRST + 8, FIRST + 8, FIRST + 8)
    async with LocalDataLake(root) as http:
        async with stream(DataLake(http.url), None) as s:
            with pytest.raises(ArgumentError, match="give the stream a start"):
                await asyncio.wait_for(s.__anext__(), GUARD)


async def test_config_is_checked(tmp_path):
    root = tmp_path / "lake"
    write_data_lake(root, chain(FIRST, 2))
    async with stream(DataLake(root, passphrase="Public Global Stellar Network ; September 2015"), FIRST) as s:
        with pytest.raises(NetworkMismatchError):
            await asyncio.wait_for(s.__anext__(), GUARD)
    for bad in [{"compression": "gzip"}, {"ledgersPerBatch": 0}, {"batchesPerPartition": "1"},
                {"networkPassphrase": None}]:
        doc = {"networkPassphrase": STANDALONE_PASSPHRASE, "version": "1.0", "compression": "zstd",
               "ledgersPerBatch": 1, "batchesPerPartition": 64000, **bad}
        (root / ".config.json").write_text(json.dumps(doc))
        lake = DataLake(root)
        with pytest.raises(ParseError):
            await lake.open()
    for bad_arg in [dict(url_or_path=""), dict(url_or_path="s3://bucket"), dict(url_or_path="x", max_file_bytes=1)]:
        with pytest.raises(ArgumentError):
            DataLake(**bad_arg)


async def test_decompression_is_capped(tmp_path):
    """A file that decompresses past max_batch_bytes (a zstd bomb) is refused at the cap."""
    root = tmp_path / "lake"
    write_data_lake(root, [])
    bomb = struct.pack(">III", FIRST, FIRST, 1) + bytes(64 << 20)
    (root / object_key(FIRST, 1, 64000)).parent.mkdir(parents=True)
    (root / object_key(FIRST, 1, 64000)).write_bytes(zstandard.ZstdCompressor().compress(bomb))
    lake = DataLake(root, max_batch_bytes=1 << 20)
    with pytest.raises(LedgerSourceError) as ei:
        await lake.read(FIRST)
    assert ei.value.limit == "max_batch_bytes" and lake.counters.limits_exceeded == 1


FAULTS = {
    "rate_limited": "rate_limited",
    "server_errors": "http_errors",
    "cuts": "connection_errors",
    "stalls": "timeouts",
    "corrupted": "parse_errors",
    "truncated": "parse_errors",
    "wrong_range": "parse_errors",
}


async def _follow_with_faults(tmp_path, names: list[str]) -> tuple[LedgerStream, list, LocalDataLake]:
    ledgers = chain(FIRST, 24)
    root = tmp_path / "lake"
    write_data_lake(root, ledgers[:12], ledgers_per_batch=3, batches_per_partition=2)
    errors: list = []
    async with LocalDataLake(root) as http:
        http.faults.retry_after = "0"
        for name in names:
            setattr(http.faults, name, 2)
        lake = DataLake(http.url, request_timeout=0.3, max_retry_wait=0.05)
        async with stream(lake, FIRST + 1) as s:
            s.on_error(lambda _s, e: errors.append(e))
            seen = []

            async def run():
                async for b in s:
                    seen.extend(x for x in split(b) if x[0] >= b.first)
                    if b.end == FIRST + 23:
                        return
                    if b.end == FIRST + 11:  # at the tip: the next files appear, and the faults again
                        write_data_lake(root, ledgers[12:], ledgers_per_batch=3, batches_per_partition=2)
                        for name in names:
                            setattr(http.faults, name, 2)

            await asyncio.wait_for(run(), GUARD)
            assert s.status is Status.LIVE
        assert seen == ledgers[1:]
    return s, errors, http


@pytest.mark.parametrize("fault", sorted(FAULTS))
async def test_each_fault_alone_over_http(tmp_path, fault):
    s, errors, http = await _follow_with_faults(tmp_path, [fault])
    assert getattr(s.counters, FAULTS[fault]) >= 2, s.counters
    assert http.spoiled == 4 and errors and all(isinstance(e, (LedgerSourceError, ParseError)) for e in errors)


async def test_all_faults_together_over_http(tmp_path):
    s, errors, http = await _follow_with_faults(tmp_path, sorted(FAULTS))
    for counter in set(FAULTS.values()):
        assert getattr(s.counters, counter) > 0, (counter, s.counters)
    assert http.spoiled >= 14


async def test_a_file_past_max_file_bytes_is_refused(tmp_path):
    """Over HTTP and from a directory, a compressed file larger than max_file_bytes is refused at
    the cap (the body is not read past it), counted, and reading it again gives the same answer."""
    import os

    root = tmp_path / "lake"
    write_data_lake(root, [])
    key = object_key(FIRST, 1, 64000)
    (root / key).parent.mkdir(parents=True)
    body = struct.pack(">III", FIRST, FIRST, 1) + os.urandom(3 << 20)  # incompressible: 3 MiB on the wire
    (root / key).write_bytes(zstandard.ZstdCompressor().compress(body))
    async with LocalDataLake(root) as http:
        for where in (root, http.url):
            lake = DataLake(where, max_file_bytes=1 << 20)
            for _ in range(2):
                with pytest.raises(LedgerSourceError) as ei:
                    await lake.read(FIRST)
                assert ei.value.limit == "max_file_bytes"
            assert lake.counters.limits_exceeded == 2
            await lake.close()
