"""HistoryArchive (stellar_ob.ledger.archive) against archives written by stellar_ob.testing.archive.

- the real HAS fixture (historyV2.json of stellar/go) parses; malformed HAS documents are refused;
- a DEX snapshot loaded from a directory and over loopback HTTP equals the Python model of the
  bucket list (offers, pools, and only the sellers' accounts and trustlines), at the root HAS and
  at an older checkpoint; an asset filter;
- each fault alone (404, 503, a cut connection, corrupted, truncated or wrong-hash buckets, a Range
  request answered whole) and all together: retried and resumed, or refused with an ArchiveError;
  a cut download resumes with a Range request; a cached bucket is not asked for again;
- progress callbacks.
"""

from __future__ import annotations

import json
import pathlib
import random

import pytest

from stellar_ob.errors import ParseError
from stellar_ob.sync import ArgumentError
from stellar_ob.testing.archive import LocalArchive, bucket_bytes, write_archive

pytest.importorskip("stellar_ob.ledger._bucket")

from stellar_ob.ledger.archive import (  # noqa: E402
    ArchiveError,
    ArchiveState,
    BucketHashError,
    HistoryArchive,
    checkpoint_of,
)
from test_archive_bucket import (  # noqa: E402
    ASSETS,
    key_tuple,
    model_merge,
    random_bucket,
    random_keys,
)

DATA = pathlib.Path(__file__).parent / "data" / "ledger"
ALL = {"offer", "pool", "trustline", "account"}


def test_real_has_fixture():
    st = ArchiveState.from_json((DATA / "historyV2.json").read_bytes())
    assert st.version == 2 and st.current_ledger == 6714239 and (st.current_ledger + 1) % 64 == 0
    assert st.network_passphrase == "(V) (;,,;) (V)"
    assert len(st.levels) == 11
    refs = st.buckets()
    assert refs[0].level == 1 and refs[0].which == "curr"
    assert refs[0].hash == "c3131b946b5cadf713ca88d299505fe16572ffeefa083b2858a674452fd8ba76"
    assert [(r.level, r.which) for r in refs] == sorted((r.level, r.which) for r in refs)  # curr < snap


@pytest.mark.parametrize("mutate, match", [
    (lambda d: d.pop("currentBuckets"), "11 levels"),
    (lambda d: d["currentBuckets"].pop(), "11 levels"),
    (lambda d: d["currentBuckets"][3].update(curr="ABCD" * 16), "hex"),
    (lambda d: d["currentBuckets"][3].update(snap=None), "hex"),
    (lambda d: d.update(currentLedger=-1), "uint32"),
    (lambda d: d.update(currentLedger="6714239"), "uint32"),
    (lambda d: d.update(version=3), "version"),
    (lambda d: d.update(networkPassphrase=5), "networkPassphrase"),
])
def test_malformed_has(mutate, match):
    doc = json.loads((DATA / "historyV2.json").read_text())
    mutate(doc)
    with pytest.raises(ParseError, match=match):
        ArchiveState.from_json(json.dumps(doc).encode())
    with pytest.raises(ParseError):
        ArchiveState.from_json(b"{not json")
    with pytest.raises(ParseError):
        ArchiveState.from_json(b"[]")


def build(tmp_path, seed=7, levels=5):
    """An archive with two checkpoints (127: older levels only; 191: the root)."""
    rng = random.Random(seed)
    keys = random_keys(rng, 60)
    buckets = [random_bucket(rng, keys, rng.randrange(5, 40)) for _ in range(2 * levels)]
    pairs = [(bucket_bytes(buckets[2 * i]), bucket_bytes(buckets[2 * i + 1])) for i in range(levels)]
    pairs[1] = (pairs[1][0], None)  # an empty snap
    write_archive(tmp_path, 127, pairs[2:], root=False)
    write_archive(tmp_path, 191, pairs)
    order = [b for i, b in enumerate(buckets) if i != 3]
    older = buckets[4:]
    return order, older


def expected(buckets, assets=None):
    """The model: offers and pools (optionally between ``assets``), the sellers' accounts and the
    sellers' trustlines of the offers' assets."""
    m = model_merge(buckets, ALL)
    offers = {k: v for k, v in m.items() if k[0] == "offer"}
    pools = {k: v for k, v in m.items() if k[0] == "pool"}
    if assets is not None:
        offers = {k: v for k, v in offers.items() if v["selling"] in assets and v["buying"] in assets}
        pools = {k: v for k, v in pools.items() if v["asset_a"] in assets and v["asset_b"] in assets}
    sellers = {v["seller"] for v in offers.values()}
    lines = {(v["seller"], a) for v in offers.values() for a in (v["selling"], v["buying"]) if a[0] != 0}
    accounts = {k: v for k, v in m.items() if k[0] == "account" and k[1] in sellers}
    tls = {k: v for k, v in m.items() if k[0] == "trustline" and (k[1], k[2]) in lines}
    return offers, pools, accounts, tls


def as_maps(snap):
    return ({key_tuple(r): r for r in snap.offers}, {key_tuple(r): r for r in snap.pools},
            {key_tuple(r): r for r in snap.accounts}, {key_tuple(r): r for r in snap.trustlines})


async def test_load_from_directory(tmp_path):
    newest, older = build(tmp_path)
    async with HistoryArchive(tmp_path) as ar:
        snap = await ar.load()
        assert snap.ledger == 191
        want = expected(newest)
        assert as_maps(snap) == want
        assert want[0] and want[2], "the model has offers and seller accounts"
        old = await ar.load(127)
        assert old.ledger == 127 and as_maps(old) == expected(older)
        keep = {ASSETS[0], ASSETS[1], ASSETS[2]}
        assert as_maps(await ar.load(assets=keep)) == expected(newest, keep)
        with pytest.raises(ArgumentError):
            await ar.state(128)
        with pytest.raises(ArchiveError):
            await ar.state(255)  # no such checkpoint


async def test_load_over_http_with_cache_and_progress(tmp_path):
    newest, _ = build(tmp_path / "archive")
    events = []
    async with LocalArchive(tmp_path / "archive") as server:
        async with HistoryArchive(server.url, cache_dir=tmp_path / "cache", progress=events.append) as ar:
            snap = await ar.load()
            assert as_maps(snap) == expected(newest)
            n_buckets = len((await ar.state()).buckets())
            asked = [k for k, _r in server.requests if k.startswith("bucket/")]
            assert len(asked) == n_buckets
            # cached: loading again downloads nothing
            server.requests.clear()
            assert as_maps(await ar.load()) == expected(newest)
            assert not [k for k, _r in server.requests if k.startswith("bucket/")]
    phases = {e.phase for e in events}
    assert phases == {"download", "read", "read-accounts"}
    for ph in phases:
        per = {}
        for e in events:
            if e.phase == ph:
                assert e.done >= per.get(e.bucket, 0) and (e.total is None or e.done <= e.total)
                per[e.bucket] = e.done
    assert all(e.buckets == n_buckets for e in events)


@pytest.mark.parametrize("fault", ["server_errors", "cuts", "corrupted", "truncated", "wrong_hash", "ignore_range"])
async def test_each_fault_is_retried(tmp_path, fault):
    newest, _ = build(tmp_path / "archive", seed=11)
    async with LocalArchive(tmp_path / "archive") as server:
        setattr(server.faults, fault, 2)
        if fault == "ignore_range":
            server.faults.cuts = 1  # a cut first, so that the retry asks for a range
        async with HistoryArchive(server.url, cache_dir=tmp_path / "cache", retry_delay=0.0) as ar:
            snap = await ar.load()
        assert as_maps(snap) == expected(newest)
        assert server.spoiled >= 2
        if fault == "cuts":
            assert any(r is not None and r != "bytes=0-" for _k, r in server.requests), "the cut download resumed"
    assert not list((tmp_path / "cache").glob("*.part"))


async def test_faults_all_together_and_out_of_retries(tmp_path):
    newest, _ = build(tmp_path / "archive", seed=12)
    async with LocalArchive(tmp_path / "archive") as server:
        f = server.faults
        f.server_errors = f.cuts = f.corrupted = f.truncated = f.wrong_hash = 1
        async with HistoryArchive(server.url, cache_dir=tmp_path / "c1", retry_delay=0.0, retries=8) as ar:
            assert as_maps(await ar.load()) == expected(newest)
        f.clear()
        f.corrupted = 10
        async with HistoryArchive(server.url, cache_dir=tmp_path / "c2", retry_delay=0.0, retries=2) as ar:
            with pytest.raises(BucketHashError):
                await ar.load()
        assert not list((tmp_path / "c2").glob("bucket-*.xdr.gz")), "nothing unverified is kept"
        f.clear()
        f.not_found = 1
        async with HistoryArchive(server.url, cache_dir=tmp_path / "c3", retry_delay=0.0) as ar:
            with pytest.raises(ArchiveError) as ei:
                await ar.load()
            assert ei.value.status == 404


async def test_local_archive_with_a_bad_bucket(tmp_path):
    build(tmp_path)
    victim = sorted((tmp_path / "bucket").rglob("*.xdr.gz"))[0]
    data = bytearray(victim.read_bytes())
    data[len(data) // 2] ^= 0xFF
    victim.write_bytes(bytes(data))
    async with HistoryArchive(tmp_path) as ar:
        with pytest.raises(BucketHashError):
            await ar.load()


async def test_hostile_has_and_arguments(tmp_path):
    build(tmp_path)
    (tmp_path / ".well-known" / "stellar-history.json").write_text(json.dumps({"version": 2, "currentLedger": 100}))
    async with HistoryArchive(tmp_path) as ar:
        with pytest.raises(ParseError):
            await ar.state()
    (tmp_path / ".well-known" / "stellar-history.json").write_bytes(b" " * (2 << 20))
    async with HistoryArchive(tmp_path) as ar:
        with pytest.raises(ArchiveError, match="max_has_bytes"):
            await ar.state()
    with pytest.raises(ArgumentError):
        HistoryArchive("http://127.0.0.1:1/")  # no cache_dir
    with pytest.raises(ArgumentError):
        HistoryArchive(tmp_path, retries=-1)
    with pytest.raises(ArgumentError):
        HistoryArchive(tmp_path, request_timeout=0)
    with pytest.raises(ArgumentError):
        HistoryArchive(5)  # type: ignore[arg-type]
    async with HistoryArchive(tmp_path) as ar:
        with pytest.raises(ArgumentError):
            await ar.fetch_bucket("0" * 64)
    assert checkpoint_of(0) == 63 and checkpoint_of(63) == 63 and checkpoint_of(64) == 127


async def test_progress_bar(tmp_path):
    import io

    from stellar_ob.ledger.archive import ArchiveProgress, ProgressBar

    bar = ProgressBar(io.StringIO(), width=10)
    assert bar.line(ArchiveProgress("download", 2, 12, "c3131b94" + "0" * 56, 500_000, 1_000_000)) == \
        "download      3/12 [#####.....]  50%  0.5 MB / 1.0 MB  bucket-c3131b94"
    assert "??????????" in bar.line(ArchiveProgress("download", 0, 1, "ab" * 32, 10, None))
    build(tmp_path / "archive")
    out = io.StringIO()
    async with LocalArchive(tmp_path / "archive") as server:
        async with HistoryArchive(server.url, cache_dir=tmp_path / "cache", progress=ProgressBar(out)) as ar:
            await ar.load()
    text = out.getvalue()
    assert "100%" in text and "read-accounts" in text and text.count("\n") >= 3


async def test_network_passphrase_checked(tmp_path):
    from stellar_ob.ledger.stream import NetworkMismatchError

    build(tmp_path)
    async with HistoryArchive(tmp_path, passphrase="Standalone Network ; February 2017") as ar:
        assert (await ar.state()).network_passphrase == "Standalone Network ; February 2017"
    async with HistoryArchive(tmp_path, passphrase="Public Global Stellar Network ; September 2015") as ar:
        with pytest.raises(NetworkMismatchError):
            await ar.state()
        with pytest.raises(NetworkMismatchError):
            await ar.load(127)
    with pytest.raises(ArgumentError):
        HistoryArchive(tmp_path, passphrase=b"x")  # type: ignore[arg-type]


async def test_unwritable_cache_is_an_archive_error(tmp_path):
    build(tmp_path / "archive")
    cache = tmp_path / "cache"
    cache.write_text("a file, not a directory")
    async with LocalArchive(tmp_path / "archive") as server:
        async with HistoryArchive(server.url, cache_dir=cache, retry_delay=0.0) as ar:
            with pytest.raises(ArchiveError):
                await ar.load()


async def test_stalled_download_times_out_and_resumes(tmp_path):
    newest, _ = build(tmp_path / "archive", seed=13)
    async with LocalArchive(tmp_path / "archive") as server:
        server.faults.stalls = 1
        async with HistoryArchive(server.url, cache_dir=tmp_path / "cache", retry_delay=0.0,
                                  read_timeout=0.3) as ar:
            assert as_maps(await ar.load()) == expected(newest)
        assert server.spoiled == 1
        assert any(r is not None for _k, r in server.requests), "the stalled download resumed with a Range"


async def test_resume_after_a_restart(tmp_path):
    """A .part file left in the cache by an earlier run is continued, not downloaded again."""
    from stellar_ob.ledger.archive import bucket_path

    newest, _ = build(tmp_path / "archive", seed=14)
    async with HistoryArchive(tmp_path / "archive") as local:
        first = (await local.state()).buckets()[0].hash
    gz = (tmp_path / "archive" / bucket_path(first)).read_bytes()
    cache = tmp_path / "cache"
    cache.mkdir()
    (cache / f"bucket-{first}.xdr.gz.part").write_bytes(gz[: len(gz) // 2])
    async with LocalArchive(tmp_path / "archive") as server:
        async with HistoryArchive(server.url, cache_dir=cache) as ar:
            assert as_maps(await ar.load()) == expected(newest)
        asked = [(k, r) for k, r in server.requests if first in k]
        assert asked == [(bucket_path(first), f"bytes={len(gz) // 2}-")]
