"""The C ledger decoder against stellar-sdk's on the mainnet ledger 53,312,000, in one session.

Usage (from the repository root, after building the C tests)::

    cmake -S . -B build/ctest -DSOB_BUILD_TESTS=ON -DSOB_BUILD_PYTHON=OFF && cmake --build build/ctest -j2
    python tools/bench_ledger.py [--bench build/ctest/bench_ledger] [--sdk-runs 15]

Runs the C benchmark (csrc/tests/bench_ledger.c), then times stellar-sdk decoding the same
LedgerCloseMeta bytes (``LedgerCloseMeta.from_xdr_bytes``, the median of --sdk-runs runs) and the
stellar-sdk reference twin (decode + the records), and prints the medians and the ratio.
"""

from __future__ import annotations

import argparse
import os
import re
import statistics
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--bench", default=os.path.join(ROOT, "build", "ctest", "bench_ledger"))
    ap.add_argument("--runs", type=int, default=300, help="C decodes of the ledger")
    ap.add_argument("--sdk-runs", type=int, default=15)
    args = ap.parse_args(argv)

    out = subprocess.run([args.bench, str(args.runs)], cwd=ROOT, check=True, capture_output=True, text=True).stdout
    print(out, end="")
    m = re.search(r"decode_mainnet_ledger median_us=([0-9.]+)", out)
    c_us = float(m.group(1))

    from stellar_sdk import xdr

    sys.path.insert(0, os.path.join(ROOT, "tools"))
    from ledger_golden import load_twin

    twin = load_twin()
    with open(os.path.join(ROOT, "tests", "data", "ledger", "FCD285FF--53312000.xdr"), "rb") as fh:
        meta = fh.read()[12:]
    sdk, tw = [], []
    for _ in range(args.sdk_runs):
        t0 = time.perf_counter()
        xdr.LedgerCloseMeta.from_xdr_bytes(meta)
        sdk.append(time.perf_counter() - t0)
        t0 = time.perf_counter()
        twin.decode_meta(meta)
        tw.append(time.perf_counter() - t0)
    sdk_us = statistics.median(sdk) * 1e6
    tw_us = statistics.median(tw) * 1e6
    print(f"stellar_sdk LedgerCloseMeta.from_xdr_bytes median_us={sdk_us:.0f} runs={args.sdk_runs}")
    print(f"stellar_sdk twin (decode + records)        median_us={tw_us:.0f} runs={args.sdk_runs}")
    print(f"ratio: C decoder is {sdk_us / c_us:.0f}x faster than stellar-sdk's decode ({tw_us / c_us:.0f}x the twin)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
