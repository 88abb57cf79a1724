"""The L2 book, operation by operation, ours next to the incumbents (pytest-benchmark).

    pytest bench/bench_core.py --benchmark-only -p no:cacheprovider
    pytest bench/bench_core.py --benchmark-disable -q     # smoke: each body once

One benchmark per operation; every one is parametrised by implementation (see conftest.py) and
runs on the same seeded 200+200 book, or the real 20x20 fixture where it says so. Targets (issue
1/2, medians, compiled core): set_level on an existing price <= 80 ns; insert a new price and read
best bid and ask <= 150 ns; apply_diff of 100 changes <= 3 us; apply_snapshot of 200+200 from
numpy <= 5 us; quote_buy across 50 levels <= 1 us; to_numpy of the top 20 per side <= 1 us;
apply_horizon of a changed 200+200 book <= 25 us; an /offers page of 200 records <= 40 us.
Deep books (issue 18, the ``*_deep`` rows: 10,000 levels a side, changes at uniform positions):
apply_diff of 100 changes >= 2x faster than Hummingbot in the same run.
bench/report.py holds the same targets and checks the medians; no test here asserts on time.
"""

from __future__ import annotations

import itertools

import pytest

from bench.conftest import (
    BOOK_IMPLS,
    DEEP_LEVELS,
    SCALE,
    MarketGenerator,
    fixture_horizon_pair,
    horizon_pair,
    offers_page,
    uniform_generator,
)

PARSE_IMPLS = ("c", "py", "hummingbot", "json+float", "orjson+float", "orjson")
PAGE_IMPLS = ("c", "py", "json+float", "orjson+float", "orjson")


def impls(*ids: str):
    return pytest.mark.parametrize("impl", ids, indirect=True)


def _check_same_book(impl, book, book_data):
    """After a benchmark that replays changes and their inverses, the book is where it began."""
    if impl.id in ("c", "py"):
        book.check()
        assert book.bids() == impl.load(book_data).bids()
        assert book.asks() == impl.load(book_data).asks()


@pytest.mark.benchmark(group="set_level: existing price")
@impls(*BOOK_IMPLS)
def test_set_level_existing(benchmark, impl, book_data):
    book = impl.load(book_data)
    n, d, amount = book_data.asks[4]
    fn, args = impl.set_level(book, "ask", n, d, amount + 1)
    benchmark(fn, *args)


@pytest.mark.benchmark(group="set_level: existing price")
@impls("c")
def test_call_floor_set_level(benchmark, impl, book_data):
    """The call floor of set_level (issue 18): OrderBook._call_floor takes set_level's arguments
    and is compiled the same way, and does nothing. set_level's median over this one is the
    overhead left above the cheapest possible call."""
    book = impl.load(book_data)
    n, d, amount = book_data.asks[4]
    benchmark(book._call_floor, "ask", n, d, amount + 1)


@pytest.mark.benchmark(group="apply_diff: 100 changes + best bid/ask")
@impls("c")
def test_call_floor_apply_diff_100(benchmark, impl, book_data):
    """The call floor of test_apply_diff_100: the same closure (the same batches, cycled) with
    apply_diff, best_bid and best_ask replaced by empty methods taking the same arguments
    (_diff_floor, _read_floor), compiled as they are."""
    book = impl.load(book_data)
    batches = MarketGenerator(1).batches(100, 8)
    nxt, call, read = itertools.cycle(batches).__next__, book._diff_floor, book._read_floor

    def run():
        call(nxt())
        read()
        read()

    benchmark(run)


@pytest.mark.benchmark(group="insert or remove a new price + best bid/ask")
@impls("c")
def test_call_floor_insert_or_remove(benchmark, impl, book_data):
    """The call floor of test_insert_or_remove_best: the same closure with set_level, best_bid and
    best_ask replaced by empty methods taking the same arguments (_call_floor, _read_floor)."""
    book = impl.load(book_data)
    ticks = MarketGenerator(1).sides["ask"].ticks
    nxt, call, read = itertools.cycle((123_456_789, 0)).__next__, book._call_floor, book._read_floor
    n, d = ticks[4] + 1, SCALE

    def run():
        call("ask", n, d, nxt())
        read()
        read()

    benchmark(run)


@pytest.mark.benchmark(group="insert new price + best bid/ask + remove")
@impls(*BOOK_IMPLS)
def test_insert_best_remove(benchmark, impl, book_data):
    """Insert a level at a price the book does not have (5th ask), read best bid and best ask,
    remove the level again (so every round starts from the same book)."""
    book = impl.load(book_data)
    ticks = MarketGenerator(1).sides["ask"].ticks
    tick = ticks[4] + 1
    assert tick < ticks[5]
    n, d = tick, SCALE
    benchmark(impl.insert_best_remove(book, "ask", n, d, 123_456_789))
    _check_same_book(impl, book, book_data)


@pytest.mark.benchmark(group="apply_diff: 1 change + best bid/ask")
@impls(*BOOK_IMPLS)
def test_apply_diff_1(benchmark, impl, book_data):
    _apply_diff_cycled(benchmark, impl, book_data, 1, 128)


@pytest.mark.benchmark(group="apply_diff: 10 changes + best bid/ask")
@impls(*BOOK_IMPLS)
def test_apply_diff_10(benchmark, impl, book_data):
    _apply_diff_cycled(benchmark, impl, book_data, 10, 32)


@pytest.mark.benchmark(group="apply_diff: 100 changes + best bid/ask")
@impls(*BOOK_IMPLS)
def test_apply_diff_100(benchmark, impl, book_data):
    _apply_diff_cycled(benchmark, impl, book_data, 100, 8)


@pytest.mark.benchmark(group="insert or remove a new price + best bid/ask")
@impls(*BOOK_IMPLS)
def test_insert_or_remove_best(benchmark, impl, book_data):
    """The issue's "insert a new price, then read best bid and ask", in steady state: calls
    alternate between inserting the level (5th ask) and removing it, each followed by a best
    bid/ask read, so a round's mean is half insert, half remove."""
    book = impl.load(book_data)
    ticks = MarketGenerator(1).sides["ask"].ticks
    benchmark(impl.insert_or_remove(book, "ask", ticks[4] + 1, SCALE, 123_456_789))


@pytest.mark.benchmark(group="insert or remove a new price + best bid/ask, 1,000 per call")
@impls(*BOOK_IMPLS)
def test_insert_or_remove_best_x1000(benchmark, impl, book_data):
    """The same operation as test_insert_or_remove_best, 1,000 times in one timed call, so the
    harness's own per-call cost (the "harness floor") is spread over 1,000 operations; a plain
    Python for loop over prepared tuples stays in the time. Per operation = median / 1,000."""
    book = impl.load(book_data)
    ticks = MarketGenerator(1).sides["ask"].ticks
    tick = ticks[4] + 1
    changes = [("ask", tick, SCALE, 123_456_789), ("ask", tick, SCALE, 0)] * 500
    benchmark.extra_info["changes_per_call"] = len(changes)
    benchmark(impl.replay(book, changes))
    _check_same_book(impl, book, book_data)


@pytest.mark.benchmark(group="apply_diff: 100 changes at depth 10,000, uniform positions + best bid/ask")
@impls(*BOOK_IMPLS)
def test_apply_diff_100_deep(benchmark, impl, deep_book_data):
    """Issue 18's deep book: 10,000 levels a side (as the ledger delivers them, no 200-level
    cap), 100 changes per batch spread uniformly over each side (60% updates, 20% new prices,
    20% removals), so most inserts and removals land far from the top."""
    _apply_diff_cycled(benchmark, impl, deep_book_data, 100, 8, uniform_generator(1, DEEP_LEVELS))


@pytest.mark.benchmark(group="stream at depth 10,000: 1,000 x (set_level + best bid/ask), uniform positions")
@impls(*BOOK_IMPLS)
def test_replay_1000_changes_deep(benchmark, impl, deep_book_data):
    """One change per call at uniform positions of a 10,000-level side: 500 changes, then each
    undone in reverse order. Per change = median / 1000."""
    book = impl.load(deep_book_data)
    changes = uniform_generator(1, DEEP_LEVELS).stream(500)
    benchmark.extra_info["changes_per_call"] = len(changes)
    benchmark(impl.replay(book, changes))
    _check_same_book(impl, book, deep_book_data)


def _apply_diff_cycled(benchmark, impl, book_data, k, count, gen=None):
    """apply_diff of k changes, then read best bid and ask, per call; cycling through ``count`` batches and their inverses.
    A whole cycle leaves the book as it was: checked on a fresh book (the benchmark's own call
    count is not a whole number of cycles). ``gen`` draws the batches (default: the 200-level
    generator, 90% of the changes in the top 20)."""
    book = impl.load(book_data)
    batches = (gen or MarketGenerator(1)).batches(k, count)
    benchmark.extra_info["changes_per_call"] = k
    benchmark(impl.apply_batches(book, batches))
    fresh = impl.load(book_data)
    run = impl.apply_batches(fresh, batches)
    for _ in batches:
        run()
    _check_same_book(impl, fresh, book_data)


@pytest.mark.benchmark(group="stream: 1,000 x (set_level + best bid/ask)")
@impls(*BOOK_IMPLS)
def test_replay_1000_changes(benchmark, impl, book_data):
    """A realistic stream, one set_level and a best bid/ask read per change: 500 changes (90%
    in the top 20: updates, new prices, removals), then each undone in reverse order. Per
    change = median / 1000."""
    book = impl.load(book_data)
    changes = MarketGenerator(1).stream(500)
    benchmark.extra_info["changes_per_call"] = len(changes)
    benchmark(impl.replay(book, changes))
    _check_same_book(impl, book, book_data)


@pytest.mark.benchmark(group="apply_snapshot: 200+200 levels + best bid/ask")
@impls(*BOOK_IMPLS)
def test_apply_snapshot_200x200(benchmark, impl, book_data):
    """Replace the whole book and read its top (ours from numpy structured arrays, Hummingbot
    from OrderBookRow lists, bmoscon from float dicts)."""
    book = impl.load(book_data)
    fn, args = impl.snapshot(book, book_data)
    benchmark(fn, *args)
    _check_same_book(impl, book, book_data)


@pytest.mark.benchmark(group="apply_snapshot: 200+200 from Python rows + best bid/ask")
@impls("c", "py", "bmoscon")
def test_apply_snapshot_200x200_rows(benchmark, impl, book_data):
    """The same snapshot from plain Python rows: ours from lists of (n, d, amount) int tuples,
    bmoscon from its float dicts (its own input, as in the row above), side by side (issue 18:
    from tuples at least as fast as bmoscon's dict assignment)."""
    book = impl.load(book_data)
    if impl.id == "bmoscon":
        fn, args = impl.snapshot(book, book_data)
    else:
        bids, asks = [tuple(r) for r in book_data.bids], [tuple(r) for r in book_data.asks]

        def fn() -> None:
            book.apply_snapshot(bids, asks)
            book.best_bid()
            book.best_ask()

        args = ()
    benchmark(fn, *args)
    _check_same_book(impl, book, book_data)


@pytest.mark.benchmark(group="apply_diff: a BookDiff's 10 changes into a mirror book")
@impls("c", "py")
def test_apply_diff_from_a_book_diff(benchmark, impl):
    """A mirror book following another by its diffs: the diff itself (no LevelChange objects on
    the compiled core) and its to_numpy() view, alternating forward and back."""
    from bench.conftest import horizon_pair

    first, second = horizon_pair()
    src = impl.mod.OrderBook.from_horizon(first)
    forward = src.apply_horizon(second)
    back = src.apply_horizon(first)
    mirror = impl.mod.OrderBook.from_horizon(first)
    diffs = [forward, back, forward.to_numpy(), back.to_numpy()]
    state = [0]

    def run() -> None:
        i = state[0]
        mirror.apply_diff(diffs[i])
        state[0] = (i + 1) & 3

    benchmark(run)
    assert len(forward) > 0


@pytest.mark.benchmark(group="quote_buy: 50 levels")
@impls(*BOOK_IMPLS)
def test_quote_buy_50_levels(benchmark, impl, book_data):
    """Buy enough base to cross 49 ask levels and half the 50th. Ours: exact stroops with
    stellar-core's rounding; Hummingbot: get_vwap_for_volume; bmoscon: a Python walk."""
    book = impl.load(book_data)
    amount = sum(a for _, _, a in book_data.asks[:49]) + book_data.asks[49][2] // 2
    fn, args = impl.quote_buy(book, amount)
    result = benchmark(fn, *args)
    if impl.id in ("c", "py"):
        assert result.levels == 50 and result.complete and result.base == amount
    elif impl.id == "bmoscon":
        assert result[1] == 50


@pytest.mark.benchmark(group="to_numpy: top 20 per side")
@impls(*BOOK_IMPLS)
def test_to_numpy_top20(benchmark, impl, book_data):
    book = impl.load(book_data)
    bids, asks = benchmark(impl.top_numpy(book, 20))
    assert len(bids) == 20 and len(asks) == 20


@pytest.mark.benchmark(group="apply_horizon: changed 200+200 /order_book")
@impls(*PARSE_IMPLS)
def test_apply_horizon_200x200(benchmark, impl):
    """Two compact /order_book bodies one ledger apart (10 level changes, 90% in the top 20),
    applied alternately: every call parses a whole 200+200 document and changes the book.
    Ours also returns the diff; the JSON paths build float dicts only (less work)."""
    first, second = horizon_pair()
    benchmark.extra_info["body_bytes"] = len(first)
    result = benchmark(impl.horizon([first, second]))
    if impl.id in ("c", "py"):
        assert 0 < len(result) <= 20


@pytest.mark.benchmark(group="apply_horizon: real 20x20 fixture")
@impls(*PARSE_IMPLS)
def test_apply_horizon_fixture_20x20(benchmark, impl):
    """The real /order_book fixture (go_horizonclient_orderbook_20x20.json, mainnet-like
    prices) and the same book with the best ask changed, applied alternately."""
    first, second = fixture_horizon_pair()
    benchmark.extra_info["body_bytes"] = len(first)
    result = benchmark(impl.horizon([first, second]))
    if impl.id in ("c", "py"):
        assert len(result) == 1


@pytest.mark.benchmark(group="offers page: 200 /offers records")
@impls(*PAGE_IMPLS)
def test_offers_page_200(benchmark, impl):
    """Load one /offers page (200 records, both directions, REST-indented) into a per-offer
    book; the JSON paths build an {id: (side, float price, float amount)} dict."""
    page = offers_page()
    benchmark.extra_info["body_bytes"] = len(page)
    result = benchmark(impl.offers_page(page))
    if impl.id != "orjson":
        assert result == 200


@pytest.mark.benchmark(group="harness floor: one call of an empty Python function")
def test_harness_floor(benchmark):
    """What pytest-benchmark's loop and one Python-level call cost by themselves. Benchmarks
    whose body is a Python closure (everything but set_level, snapshot's numpy arrays, quote
    and the calls handed straight to the benchmark) carry this much per call, equally for
    every implementation: it narrows the ratios and counts against our absolute targets."""

    def run():
        pass

    benchmark(run)


# ---------------------------------------------------------------------------------------------
# Paired, interleaved ratios (python -m bench.bench_core): pytest-benchmark runs one row after
# another, so on a shared machine a burst of load lands on one row and not the other. Here every
# round times each row once, in turn, on the same input; each round gives a ratio of two rows
# timed seconds apart, and the report is the median of the rounds (and of each row's times).


def _paired_cases():
    from bench.conftest import Bmoscon, Hummingbot, Ours, uniform_generator

    c = Ours("c")
    small, deep = MarketGenerator(1).book(), uniform_generator(1, DEEP_LEVELS).book()
    cases = {}
    try:
        hb = Hummingbot()
    except BaseException:  # pytest.skip's exception when Hummingbot is not installed
        hb = None
    bm = Bmoscon()
    deep_batches = uniform_generator(1, DEEP_LEVELS).batches(100, 8)
    cases["deep apply_diff 100: c"] = c.apply_batches(c.load(deep), deep_batches)
    if hb is not None:
        cases["deep apply_diff 100: hummingbot"] = hb.apply_batches(hb.load(deep), deep_batches)
    batches = MarketGenerator(1).batches(100, 8)
    cases["apply_diff 100 at 200: c"] = c.apply_batches(c.load(small), batches)
    b1 = c.load(small)
    if hasattr(b1, "_diff_floor"):  # not in wheels built before it
        nxt_b, diff_floor, read_b = itertools.cycle(batches).__next__, b1._diff_floor, b1._read_floor

        def diff_floor_run() -> None:
            diff_floor(nxt_b())
            read_b()
            read_b()

        cases["apply_diff 100 at 200: call floor"] = diff_floor_run
    book = c.load(small)
    bids, asks = [tuple(r) for r in small.bids], [tuple(r) for r in small.asks]

    def rows() -> None:
        book.apply_snapshot(bids, asks)
        book.best_bid()
        book.best_ask()

    cases["snapshot rows 200+200: c"] = rows
    fn, _ = bm.snapshot(bm.load(small), small)
    cases["snapshot rows 200+200: bmoscon"] = fn
    b2 = c.load(small)
    n, d, amount = small.asks[4]
    cases["set_level existing: c"] = lambda: b2.set_level("ask", n, d, amount + 1)
    has_floor = hasattr(b2, "_call_floor")  # not in wheels built before issue 18
    if has_floor:
        cases["set_level existing: call floor"] = lambda: b2._call_floor("ask", n, d, amount + 1)
    tick = MarketGenerator(1).sides["ask"].ticks[4] + 1
    cases["insert or remove + best: c"] = c.insert_or_remove(c.load(small), "ask", tick, SCALE, 123_456_789)
    if has_floor:
        b3 = c.load(small)
        nxt, call, read = itertools.cycle((123_456_789, 0)).__next__, b3._call_floor, b3._read_floor

        def floor() -> None:
            call("ask", tick, SCALE, nxt())
            read()
            read()

        cases["insert or remove + best: call floor"] = floor
    cases["empty lambda (timing loop floor)"] = lambda: None
    return cases


PAIRS = [
    ("deep apply_diff 100: hummingbot", "deep apply_diff 100: c"),
    ("snapshot rows 200+200: bmoscon", "snapshot rows 200+200: c"),
    ("apply_diff 100 at 200: c", "apply_diff 100 at 200: call floor"),
    ("set_level existing: c", "set_level existing: call floor"),
    ("insert or remove + best: c", "insert or remove + best: call floor"),
]


def main(argv=None) -> None:
    import argparse
    import statistics
    import time
    import timeit

    ap = argparse.ArgumentParser(description="interleaved rows and paired ratios (medians of rounds)")
    ap.add_argument("--rounds", type=int, default=15)
    ap.add_argument("--ms", type=float, default=20.0, help="target time per row per round")
    ap.add_argument("--cpu", action="store_true", help="time the thread's CPU time, not the wall clock")
    args = ap.parse_args(argv)
    timer = time.thread_time if args.cpu else time.perf_counter
    cases = _paired_cases()
    calls = {}
    for name, fn in cases.items():  # calls per round: a multiple of 16 (whole cycles of batches)
        t = timeit.Timer(fn, timer=timer).timeit(160) / 160
        calls[name] = max(16, int(args.ms / 1e3 / max(t, 1e-9)) // 16 * 16)
    times = {name: [] for name in cases}
    for _ in range(args.rounds):
        for name, fn in cases.items():
            times[name].append(timeit.Timer(fn, timer=timer).timeit(calls[name]) / calls[name])
    with open("/proc/loadavg") as f:
        load = f.read().split()[:3]
    print(f"timer: {'thread CPU' if args.cpu else 'wall'}; rounds: {args.rounds}; load average: {' '.join(load)}")
    for name, v in times.items():
        print(f"{name:40s} median {statistics.median(v) * 1e6:9.3f} us   min {min(v) * 1e6:9.3f} us")
    for a, b in PAIRS:
        if a in times and b in times:
            r = [x / y for x, y in zip(times[a], times[b])]
            print(f"{a} / {b}: median of paired ratios {statistics.median(r):.2f}x "
                  f"(min {min(r):.2f}, max {max(r):.2f})")


if __name__ == "__main__":
    main()
