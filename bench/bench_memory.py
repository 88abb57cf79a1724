"""Memory of 1,000 books of 200+200 levels, per implementation, each in a fresh interpreter.

    pytest bench/bench_memory.py -p no:cacheprovider          # or: python bench/bench_memory.py c

tracemalloc does not see C mallocs (our packed levels, Hummingbot's std::set nodes, bmoscon's
arrays), so each implementation runs in its own child process, which builds one book first (code
paths and caches warm), measures its RSS (VmRSS) and glibc's malloc in-use bytes (mallinfo2:
uordblks + hblkhd), builds the 1,000 books, collects garbage and measures again. The deltas are the
books' cost above the interpreter's baseline. The result is the benchmark's ``extra_info``
(``rss_mib``, ``malloc_mib``); the timed part is a no-op, the report reads the extra info.

Target (issue 1): 1,000 books <= 16 MiB above the baseline for the compiled core (bmoscon and
Hummingbot take ~46-51 MiB). Memory does not depend on machine load, so the compiled core's
figure is asserted; the others are reported.
"""

from __future__ import annotations

import ctypes
import gc
import json
import os
import subprocess
import sys
from pathlib import Path

BOOKS = 1000
TARGET_MIB = 16.0
MEMORY_IMPLS = ("c", "py", "bmoscon", "hummingbot")
SKIP_EXIT = 3


def _rss_bytes() -> int:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


class _Mallinfo2(ctypes.Structure):
    _fields_ = [(name, ctypes.c_size_t) for name in (
        "arena", "ordblks", "smblks", "hblks", "hblkhd", "usmblks", "fsmblks", "uordblks", "fordblks", "keepcost")]


def _malloc_bytes() -> int:
    """Bytes glibc's malloc has handed out (heap + mmapped chunks); -1 where there is no mallinfo2."""
    try:
        libc = ctypes.CDLL(None)
        fn = libc.mallinfo2
    except (OSError, AttributeError):
        return -1
    fn.restype = _Mallinfo2
    info = fn()
    return info.uordblks + info.hblkhd


def _builder(impl_id: str):
    """A function making one book holding the seeded 200+200 levels, in the implementation's
    natural form. Each book gets its own objects (no float or Fraction shared between books)."""
    from bench.conftest import BASE, COUNTER, SCALE, MarketGenerator, hummingbot_order_book

    data = MarketGenerator(1).book()
    if impl_id in ("c", "py"):
        mod = __import__(f"stellar_ob.book.{'_book' if impl_id == 'c' else '_pure'}", fromlist=["OrderBook"])
        bids, asks = data.numpy("bid"), data.numpy("ask")

        def make():
            book = mod.OrderBook(BASE, COUNTER)
            book.apply_snapshot(bids, asks)
            return book

        return make
    if impl_id == "bmoscon":
        from order_book import OrderBook

        def make():
            ob = OrderBook()
            ob.bids = {n / d: a / SCALE for n, d, a in data.bids}
            ob.asks = {n / d: a / SCALE for n, d, a in data.asks}
            ob.bids.index(0)  # sorted once, as after any read
            ob.asks.index(0)
            return ob

        return make
    if impl_id == "hummingbot":
        HbOrderBook, Row = hummingbot_order_book()

        def make():
            ob = HbOrderBook()
            ob.apply_snapshot([Row(n / d, a / SCALE, 1) for n, d, a in data.bids],
                              [Row(n / d, a / SCALE, 1) for n, d, a in data.asks], 1)
            return ob

        return make
    raise ValueError(impl_id)


def measure(impl_id: str, books: int = BOOKS) -> dict:
    """In this process: the RSS and malloc growth of ``books`` books (MiB), scaled to 1,000."""
    make = _builder(impl_id)
    make()  # warm: imports, caches, scratch buffers
    gc.collect()
    rss0, mal0 = _rss_bytes(), _malloc_bytes()
    kept = [make() for _ in range(books)]
    gc.collect()
    rss1, mal1 = _rss_bytes(), _malloc_bytes()
    assert len(kept) == books
    scale = 1000 / books / 2**20
    return {
        "books": books,
        "rss_mib": round((rss1 - rss0) * scale, 2),
        "malloc_mib": round((mal1 - mal0) * scale, 2) if mal0 >= 0 else None,
        "baseline_rss_mib": round(rss0 / 2**20, 1),
    }


def measure_in_child(impl_id: str, books: int = BOOKS) -> dict:
    """Run :func:`measure` in a fresh interpreter; {"skip": reason} if the implementation is
    not importable there."""
    root = str(Path(__file__).resolve().parent.parent)
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(filter(None, [root, os.environ.get("PYTHONPATH")])))
    proc = subprocess.run([sys.executable, "-m", "bench.bench_memory", impl_id, "--books", str(books), "--json"],
                          capture_output=True, text=True, env=env, timeout=600)
    if proc.returncode == SKIP_EXIT:
        return {"skip": proc.stdout.strip() or proc.stderr.strip()}
    if proc.returncode != 0:
        raise RuntimeError(f"memory child for {impl_id} failed ({proc.returncode}):\n{proc.stderr}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


# ---------------------------------------------------------------------------------------------
# pytest

try:
    import pytest
except ImportError:  # running as a child without pytest is fine
    pytest = None

if pytest is not None:

    @pytest.mark.benchmark(group="memory: 1,000 books of 200+200 levels")
    @pytest.mark.parametrize("impl_id", MEMORY_IMPLS)
    def test_memory_1000_books(benchmark, impl_id):
        result = measure_in_child(impl_id)
        if "skip" in result:
            pytest.skip(result["skip"])
        benchmark.extra_info.update(result)
        benchmark.extra_info["target_mib"] = TARGET_MIB if impl_id == "c" else None
        benchmark.pedantic(lambda: None, rounds=1, iterations=1)
        if impl_id == "c":
            assert result["rss_mib"] <= TARGET_MIB, result


def main(argv: list[str] | None = None) -> int:
    import argparse

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("impl", choices=MEMORY_IMPLS)
    ap.add_argument("--books", type=int, default=BOOKS)
    ap.add_argument("--json", action="store_true", help="print one JSON line (used by the benchmark)")
    args = ap.parse_args(argv)
    try:
        result = measure(args.impl, args.books)
    except BaseException as exc:  # pytest's Skipped is a BaseException
        if type(exc).__name__ == "Skipped" or isinstance(exc, ImportError):
            print(str(exc))
            return SKIP_EXIT
        raise
    if args.json:
        print(json.dumps(result))
    else:
        print(f"{args.impl}: {args.books} books of 200+200 levels (scaled to 1,000): RSS +{result['rss_mib']} MiB, "
              f"malloc +{result['malloc_mib']} MiB (interpreter baseline {result['baseline_rss_mib']} MiB)")
    return 0


if __name__ == "__main__":
    if __package__ in (None, ""):
        sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
    sys.exit(main())
