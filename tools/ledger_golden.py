"""Write the golden JSONL files of the ledger fixtures from the stellar-sdk reference twin.

Usage (from the repository root, with the ``sdk`` extra and ``zstandard`` installed)::

    python tools/ledger_golden.py            # (re)write tests/data/ledger/golden/*
    python tools/ledger_golden.py --check    # compare instead (exit 1 on a difference)

Each line is one record of src/stellar_ob/ledger/_sdk_twin.py ``records()``: per ledger a header,
its transactions, its entry changes and its trades, as compact JSON with a fixed key order.
csrc/tests/test_ledger.c prints the C decoder's records in the same format and compares them line
by line. Goldens of the big protocol-23/24 streams are stored zstd-compressed (.jsonl.zst).
"""

from __future__ import annotations

import argparse
import json
import os
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DATA = os.path.join(ROOT, "tests", "data", "ledger")
GOLDEN = os.path.join(DATA, "golden")

# (golden name, input file in tests/data/ledger, form)
FIXTURES = [
    ("mainnet-53312000", "FCD285FF--53312000.xdr", "batch"),
    ("testbucket-997", "FFFFFC1A--997.xdr", "batch"),
    ("testbucket-998", "FFFFFC19--998.xdr", "batch"),
    ("testbucket-999", "FFFFFC18--999.xdr", "batch"),
    ("v24-first", "load-test-ledgers-v24-first.xdr", "stream"),
    ("v23-stream", "load-test-ledgers-v23-standalone.xdr.zstd", "stream"),
    ("v24-stream", "load-test-ledgers-v24.xdr.zstd", "stream"),
    ("sample-changes", "sample-changes.xdr", "changes"),
]
COMPRESSED_GOLDEN = {"v23-stream", "v24-stream"}


def _zstd():
    try:
        from compression import zstd  # Python 3.14+

        return zstd.decompress, zstd.compress
    except ImportError:
        import zstandard

        return (lambda b: zstandard.ZstdDecompressor().decompressobj().decompress(b),
                lambda b: zstandard.ZstdCompressor(level=19).compress(b))


def read_input(name: str) -> bytes:
    with open(os.path.join(DATA, name), "rb") as fh:
        raw = fh.read()
    if name.endswith((".zst", ".zstd")):
        raw = _zstd()[0](raw)
    return raw


def load_twin():
    """The twin module from the source tree, without importing (or building) the package."""
    import importlib.util

    path = os.path.join(ROOT, "src", "stellar_ob", "ledger", "_sdk_twin.py")
    spec = importlib.util.spec_from_file_location("_sob_sdk_twin", path)
    mod = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = mod  # dataclasses look their module up
    spec.loader.exec_module(mod)
    return mod


def golden_lines(name: str, form: str) -> list[str]:
    twin = load_twin()

    data = read_input(name)
    if form == "changes":
        recs = [{"kind": "change", **{k: v for k, v in r.items() if k != "kind"}}
                for led in [twin.Ledger(None, changes=twin.decode_changes(data))]
                for r in twin.records(led) if r["kind"] == "change"]
    else:
        ledgers = twin.iter_batch(data) if form == "batch" else twin.iter_stream(data)
        recs = [r for led in ledgers for r in twin.records(led)]
    return [json.dumps(r, separators=(",", ":")) for r in recs]


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--check", action="store_true")
    args = ap.parse_args(argv)
    os.makedirs(GOLDEN, exist_ok=True)
    bad = 0
    for gname, fname, form in FIXTURES:
        text = ("\n".join(golden_lines(fname, form)) + "\n").encode()
        path = os.path.join(GOLDEN, gname + (".jsonl.zst" if gname in COMPRESSED_GOLDEN else ".jsonl"))
        if args.check:
            with open(path, "rb") as fh:
                cur = fh.read()
            if gname in COMPRESSED_GOLDEN:
                cur = _zstd()[0](cur)
            if cur != text:
                print(f"{path}: differs from the twin's output", file=sys.stderr)
                bad = 1
            continue
        out = _zstd()[1](text) if gname in COMPRESSED_GOLDEN else text
        with open(path, "wb") as fh:
            fh.write(out)
        nrec = text.count(b"\n")
        print(f"{path}: {nrec} records, {len(out)} bytes")
    return bad


if __name__ == "__main__":
    raise SystemExit(main())
