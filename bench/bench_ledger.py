"""Issue 13's numbers, side by side with stellar-sdk's decoder in the same run.

    pytest bench/bench_ledger.py -p no:cacheprovider             # the full run
    pytest bench/bench_ledger.py -p no:cacheprovider --benchmark-disable   # each body once (CI)

- ``test_ledger_decode_*``: the mainnet ledger 53,312,000 (372 KB): our C decoder through the
  binding with typed records built on first access (``decode``; then reading only the offer changes
  and trades; then reading every record, i.e. what eager records cost), and without records
  (``LedgerReader.next_ledger``, what a DexBook uses), against stellar-sdk's
  ``LedgerCloseMeta.from_xdr_bytes`` (target: <= 1 ms; stellar-sdk ~150 ms);
- ``test_ledger_decode_apply``: decode + apply into a DexBook seeded from the ledger's STATE
  entries (target <= 1.5 ms);
- ``test_ledger_replay_*``: replay throughput in MB/s of decompressed XDR (extra_info ``mb_s``):
  the mainnet data-lake file, the protocol-23/24 load-test streams and the three small data-lake
  files, each into a new DexBook that learns as it goes (target >= 300 MB/s);
- ``test_dexbook_memory``: a DexBook of 1,000,000 offers over 10,000 markets loaded in a child
  process from a snapshot file: its RSS growth per offer (extra_info ``bytes_per_offer``; target
  <= 100); also seeded from Python batches, the peaks and the book's own accounting (see the
  comment above the test for exactly what each figure is);
- ``test_dexbook_best_*``: best bid / ask of a random market from Python (the C call alone is in
  csrc/tests/bench_dexbook.c; target <= 100 ns).
"""

from __future__ import annotations

import json
import os
import random
import struct
import subprocess
import sys
import time

import pytest

from stellar_ob.ledger import FORM_BATCH, FORM_STREAM, DexBook, LedgerReader, decode
from stellar_ob.ledger.files import read_ledger_file

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DATA = os.path.join(ROOT, "tests", "data", "ledger")
MAINNET = os.path.join(DATA, "FCD285FF--53312000.xdr")


def _mainnet_meta() -> bytes:
    with open(MAINNET, "rb") as fh:
        return fh.read()[12:]


def test_ledger_decode_c_records(benchmark):
    """decode(): typed records, each built when first read (target <= 1 ms)."""
    raw = _mainnet_meta()
    led = benchmark(decode, raw)
    assert led.header.ledger_seq == 53_312_000 and len(led.changes) == 1597


def test_ledger_decode_c_records_offers_read(benchmark):
    """decode() and read every offer change and trade (what an order-book consumer reads)."""
    raw = _mainnet_meta()

    def run():
        led = decode(raw)
        offers = led.changes.of_type(2)
        return offers, list(led.trades)

    offers, trades = benchmark(run)
    assert len(offers) == 187 and len(trades) == 29


def test_ledger_decode_c_records_all_built(benchmark):
    """decode() and read every record (the cost decode had when it built them all eagerly)."""
    raw = _mainnet_meta()

    def run():
        led = decode(raw)
        return led.txs.tolist(), led.changes.tolist(), led.trades.tolist()

    txs, changes, trades = benchmark(run)
    assert len(changes) == 1597 and len(trades) == 29


def test_ledger_decode_c_no_records(benchmark):
    raw = _mainnet_meta()

    def run():
        r = LedgerReader(raw, 0)
        return r.next_ledger()

    assert benchmark(run)


def test_ledger_decode_stellar_sdk(benchmark):
    xdr = pytest.importorskip("stellar_sdk.xdr")
    raw = _mainnet_meta()
    meta = benchmark.pedantic(xdr.LedgerCloseMeta.from_xdr_bytes, args=(raw,), rounds=3, iterations=1)
    assert meta.v == 1


def _seeded_reader():
    with open(MAINNET, "rb") as fh:
        data = fh.read()
    r = LedgerReader(data, FORM_BATCH)
    assert r.next_ledger()
    dex = DexBook()
    dex.seed_from_states(r)
    return dex


def test_ledger_decode_apply(benchmark):
    raw = _mainnet_meta()

    def setup():
        return (_seeded_reader(), raw), {}

    upd = benchmark.pedantic(lambda dex, meta: dex.apply_ledger(meta), setup=setup, rounds=50, iterations=1)
    assert upd.drift == []


def _replay(data: bytes, form: int) -> int:
    dex = DexBook()
    r = LedgerReader(data, form)
    n = 0
    while r.next_ledger():
        dex.apply_reader(r, resync=True)
        n += 1
    return n


@pytest.mark.parametrize("name", ["FCD285FF--53312000.xdr", "load-test-ledgers-v23-standalone.xdr.zstd",
                                  "load-test-ledgers-v24.xdr.zstd", "datalake-997-999"])
def test_ledger_replay_throughput(benchmark, name):
    pytest.importorskip("zstandard")
    if name == "datalake-997-999":
        parts = [read_ledger_file(os.path.join(DATA, f"FFFFFC{x}--{s}.xdr.zst")) for x, s in (("1A", 997), ("19", 998), ("18", 999))]
        # one batch of the three (consecutive) ledgers: the metas after each file's 12-byte prologue
        data = struct.pack(">III", 997, 999, 3) + b"".join(p[12:] for p in parts)
        form = FORM_BATCH
    else:
        data = read_ledger_file(os.path.join(DATA, name))
        form = FORM_BATCH if name.startswith("FCD285FF") else FORM_STREAM
    n = benchmark(_replay, data, form)
    assert n > 0
    stats = getattr(benchmark, "stats", None)
    if stats is not None and getattr(stats, "stats", None) is not None:
        benchmark.extra_info["mb_s"] = round(len(data) / stats.stats.median / 1e6, 1)
    benchmark.extra_info["bytes"] = len(data)
    benchmark.extra_info["ledgers"] = n


# ---- memory: a child process builds the book -------------------------------------------------------
#
# What the target means: a DexBook holding 1,000,000 offers over 10,000 markets costs at most 100
# bytes an offer of the process's resident memory, everything included (the book's arrays and
# indexes, malloc's own overhead and whatever the loading left behind). So the figure is the RSS of
# a child process after the book is loaded minus its RSS just before (after the imports), divided
# by the offers; the input is gone by then (as it is for any user once the book is built). Two ways
# to load, each in its own child:
#
# - ``snapshot`` (the headline, how a user loads the whole DEX): a snapshot file written beforehand
#   by another process (bootstrap.save_snapshot_changes, the format of ``stellar-ob bootstrap --out``)
#   read with ``load_snapshot(path).to_dexbook()``: one buffer of the file's bytes, decoded and
#   seeded in C; no Python object per offer ever exists in the measuring process;
# - ``python`` (seeding from Python): the same entries built in the measuring process as Python
#   bytes and seeded in batches of 10,000 (``DexBook.seed``): the bench's own freed objects are in
#   that process's heap too, so this is an upper bound for that way of loading.
#
# Reported beside each: the peak RSS growth while loading (``peak_*``: the transient cost), and the
# book's own accounting (``c_bytes_per_offer``: DexBook.memory(), capacities of its allocations
# without malloc's overhead).

_GEN = r"""
import struct
ISSUER = struct.pack(">I", 0) + bytes([1]) * 32
NATIVE = struct.pack(">I", 0)

def credit(i):
    return struct.pack(">I", 1) + struct.pack(">I", i) + ISSUER

def entries(markets, per_market):
    oid = 1
    for m in range(markets):
        c = credit(m + 1)
        for o in range(per_market):
            seller = struct.pack(">I", 0) + struct.pack(">I", (oid * 2654435761) % 100000) + bytes(28)
            if o % 2:
                selling, buying, n, d = c, NATIVE, 1000 + o // 2, 1000
            else:
                selling, buying, n, d = NATIVE, c, 1000, 999 - o // 2
            yield (struct.pack(">III", 3, 1, 2) + seller + struct.pack(">q", oid) + selling + buying
                   + struct.pack(">qiiII", 1 + (oid * 7919) % 10**9, n, d, 0, 0) + struct.pack(">I", 0))
            oid += 1
"""

_RSS = r"""
import json, os, resource, sys

def rss():
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")

def peak():
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
"""

_WRITE = _GEN + r"""
import sys
from stellar_ob.ledger.bootstrap import save_snapshot_changes
markets, per_market, path = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
parts = list(entries(markets, per_market))
save_snapshot_changes(path, 1, struct.pack(">I", len(parts)) + b"".join(parts))
"""

_CHILD_SNAPSHOT = _RSS + r"""
from stellar_ob.ledger import DexBook
from stellar_ob.ledger.bootstrap import load_snapshot
path = sys.argv[1]
base = rss()
dex = load_snapshot(path).to_dexbook()
print(json.dumps({"offers": dex.offer_count, "markets": dex.market_count, "rss": rss() - base,
                  "peak": peak() - base, "c_bytes": dex.memory()}))
"""

_CHILD_PYTHON = _RSS + _GEN + r"""
from stellar_ob.ledger import DexBook
markets, per_market = int(sys.argv[1]), int(sys.argv[2])
dex = DexBook()
base = rss()
batch = []
for e in entries(markets, per_market):
    batch.append(e)
    if len(batch) == 10000:
        dex.seed(struct.pack(">I", len(batch)) + b"".join(batch), 1)
        batch = []
if batch:
    dex.seed(struct.pack(">I", len(batch)) + b"".join(batch), 1)
del batch
print(json.dumps({"offers": dex.offer_count, "markets": dex.market_count, "rss": rss() - base,
                  "peak": peak() - base, "c_bytes": dex.memory()}))
"""


def _child(code: str, *args: str) -> dict:
    out = subprocess.run([sys.executable, "-c", code, *args], capture_output=True, text=True, timeout=1200,
                         check=True).stdout
    return json.loads(out)


def test_dexbook_memory(benchmark, tmp_path):
    full = not getattr(benchmark, "disabled", False)
    markets, per_market = (10_000, 100) if full else (100, 100)
    path = str(tmp_path / "dex.snapshot")
    subprocess.run([sys.executable, "-c", _WRITE, str(markets), str(per_market), path], timeout=1200, check=True)
    snap = _child(_CHILD_SNAPSHOT, path)
    os.remove(path)
    py = _child(_CHILD_PYTHON, str(markets), str(per_market))
    for res in (snap, py):
        assert res["offers"] == markets * per_market and res["markets"] == markets
    n = snap["offers"]
    benchmark.extra_info.update(
        offers=n, markets=snap["markets"],
        bytes_per_offer=round(snap["rss"] / n, 1),  # the target's figure: snapshot file -> book
        peak_bytes_per_offer=round(snap["peak"] / n, 1),
        python_seed_bytes_per_offer=round(py["rss"] / n, 1),
        python_seed_peak_bytes_per_offer=round(py["peak"] / n, 1),
        c_bytes_per_offer=round(snap["c_bytes"] / n, 1))
    benchmark(lambda: None)


@pytest.fixture(scope="module")
def big_book():
    """1,000 markets of 20 offers (enough for the lookups; the size does not change O(1) reads)."""
    issuer = struct.pack(">I", 0) + bytes([1]) * 32
    native = struct.pack(">I", 0)

    def credit(i: int) -> bytes:
        return struct.pack(">I", 1) + struct.pack(">I", i) + issuer

    dex = DexBook()
    entries = []
    oid = 1
    for m in range(1000):
        for o in range(20):
            seller = struct.pack(">I", 0) + bytes(31) + bytes([o])
            selling, buying, n, d = (credit(m + 1), native, 1000 + o, 1000) if o % 2 else (native, credit(m + 1), 1000, 999 - o)
            entries.append(struct.pack(">III", 3, 1, 2) + seller + struct.pack(">q", oid) + selling + buying
                           + struct.pack(">qiiII", 10**7, n, d, 0, 0) + struct.pack(">I", 0))
            oid += 1
    dex.seed(struct.pack(">I", len(entries)) + b"".join(entries), 1)
    return dex, [a for a, _b in dex.markets()], [b for _a, b in dex.markets()]


def test_dexbook_best_bid_python(benchmark, big_book):
    dex, bases, counters = big_book
    markets = [dex.market(b, c) for b, c in zip(bases, counters)]
    rng = random.Random(1)
    picks = [rng.choice(markets) for _ in range(1000)]

    def run():
        for m in picks:
            m.best_bid()
            m.best_ask()

    benchmark(run)
    benchmark.extra_info["calls_per_round"] = 2000


def test_dexbook_best_raw_binding(benchmark, big_book):
    dex, bases, counters = big_book
    c = dex._c
    ids = [random.Random(2).randrange(dex.market_count) for _ in range(1000)]

    def run():
        best = c.best
        for m in ids:
            best(m, False, 0)
            best(m, False, 1)

    benchmark(run)
    benchmark.extra_info["calls_per_round"] = 2000
