"""Horizon ingest (issue 3): bytes to an updated book, side by side with the JSON decoders.

    pytest bench/bench_ingest.py --benchmark-only -p no:cacheprovider
    pytest bench/bench_ingest.py --benchmark-disable -q     # smoke: each body once

Same bytes for every implementation of an operation:

- the /order_book pair: a seeded 200+200 book (bench.conftest.MarketGenerator, seed 3) and the
  same book one ledger later (10 level changes, 90% in the top 20), each serialised exactly as
  Horizon sends it over REST: Go's encoding/json with two-space indentation, keys bids, asks,
  base, counter, levels price_r {n, d}, price, amount. Calls alternate between the two bodies,
  so every call really changes the book;
- the /offers page: bench.conftest.offers_page() (200 records, both directions, _links, indented),
  the page bench_core.py loads too.

Implementations: ``c`` (the compiled scanner), ``py`` (the twin), ``orjson`` (``orjson.loads``
alone, the floor under any JSON path), ``json+float`` (``json.loads`` then
``{float(price): float(amount)}`` per side: how Horizon books are read today). Targets (issue 3,
medians): apply_horizon <= 25 us, >= 5x faster than orjson.loads alone and >= 10x faster than
json+float on the same bytes; an /offers page of 200 records <= 40 us. The medians and ratios of
the run are printed at the end (and kept in each benchmark's extra_info in --benchmark-json);
nothing here asserts on time.
"""

from __future__ import annotations

import itertools
import json
from typing import Any, Callable, Dict, List, Tuple

import pytest

from bench.conftest import BASE, COUNTER, MarketGenerator, offers_page

APPLY_TARGET_S = 25e-6
OFFERS_TARGET_S = 40e-6

_MEDIANS: Dict[Tuple[str, str], float] = {}
_EXTRA: Dict[Tuple[str, str], Dict[str, Any]] = {}  # each benchmark's extra_info (saved in the JSON)


def horizon_rest_pair(seed: int = 3, changes: int = 10) -> Tuple[bytes, bytes]:
    """Two /order_book bodies of one 200+200 market one ledger apart, as REST sends them."""
    gen = MarketGenerator(seed)
    first = json.dumps(gen.book().horizon_doc(BASE, COUNTER), indent=2).encode()
    for _ in range(changes):
        gen.change()
    second = json.dumps(gen.book().horizon_doc(BASE, COUNTER), indent=2).encode()
    assert first != second
    return first, second


@pytest.fixture(scope="module")
def book_bodies() -> Tuple[bytes, bytes]:
    return horizon_rest_pair()


@pytest.fixture(scope="module")
def page() -> bytes:
    return offers_page()


def _module(impl: str, c_name: str, py_name: str) -> Any:
    import importlib

    if impl == "c":
        try:
            return importlib.import_module(f"stellar_ob.{c_name}")
        except ImportError as exc:
            pytest.skip(f"compiled extension stellar_ob.{c_name} is not built: {exc}")
    return importlib.import_module(f"stellar_ob.{py_name}")


def _orjson() -> Any:
    return pytest.importorskip("orjson", reason="pip install orjson (in stellar-ob[bench])")


def _record(benchmark: Any, func: str, impl: str) -> None:
    stats = getattr(benchmark, "stats", None)
    median = getattr(getattr(stats, "stats", None), "median", None)
    if median:
        _MEDIANS[(func, impl)] = median
        _EXTRA[(func, impl)] = benchmark.extra_info


def _cycle(bodies: Tuple[bytes, bytes]) -> Callable[[], bytes]:
    return itertools.cycle(bodies).__next__


# ---------------------------------------------------------------------------------------------
# /order_book: bytes -> updated book + diff


@pytest.mark.benchmark(group="ingest: apply_horizon, changed 200+200 /order_book (REST-indented)")
@pytest.mark.parametrize("impl", ["c", "py", "orjson", "json+float"])
def test_ingest_apply_horizon_200x200(benchmark, impl, book_bodies):
    """Ours: OrderBook.apply_horizon (parse, exact levels, diff, new book). orjson: loads alone.
    json+float: json.loads plus a float-keyed dict per side (no book, no diff: less work)."""
    nxt = _cycle(book_bodies)
    benchmark.extra_info["body_bytes"] = len(book_bodies[0])
    if impl in ("c", "py"):
        mod = _module(impl, "book._book", "book._pure")
        book = mod.OrderBook.from_horizon(book_bodies[1])
        apply_horizon = book.apply_horizon

        def run():
            return apply_horizon(nxt())

        diff = benchmark(run)
        assert 0 < len(diff) <= 20
        book.check()
    elif impl == "orjson":
        loads = _orjson().loads
        doc = benchmark(lambda: loads(nxt()))
        assert len(doc["asks"]) > 150
    else:
        loads = json.loads

        def run():
            doc = loads(nxt())
            return ({float(lv["price"]): float(lv["amount"]) for lv in doc["bids"]},
                    {float(lv["price"]): float(lv["amount"]) for lv in doc["asks"]})

        bids, asks = benchmark(run)
        assert len(asks) > 150
    _record(benchmark, "apply_horizon", impl)


@pytest.mark.benchmark(group="ingest: parse_order_book, 200+200 /order_book (typed records)")
@pytest.mark.parametrize("impl", ["c", "py"])
def test_ingest_parse_order_book_200x200(benchmark, impl, book_bodies):
    """stellar_ob.horizon.parse_order_book: an OrderBookDoc with a Level object per level."""
    mod = _module(impl, "horizon._horizon", "horizon._pure")
    nxt = _cycle(book_bodies)
    doc = benchmark(lambda: mod.parse_order_book(nxt()))
    assert len(doc.bids) > 150
    _record(benchmark, "parse_order_book", impl)


# ---------------------------------------------------------------------------------------------
# /offers: one page of 200 records


@pytest.mark.benchmark(group="ingest: /offers page of 200 records, parsed")
@pytest.mark.parametrize("impl", ["c", "c-numpy", "py", "orjson"])
def test_ingest_offers_page_parse(benchmark, impl, page):
    """stellar_ob.horizon.parse_offers: a list of Offer objects (c, py) or one numpy structured
    array (c-numpy: parse_offers(..., as_numpy=True)); orjson: loads alone."""
    benchmark.extra_info["body_bytes"] = len(page)
    if impl == "orjson":
        loads = _orjson().loads
        doc = benchmark(loads, page)
        assert len(doc["_embedded"]["records"]) == 200
    else:
        mod = _module("c" if impl.startswith("c") else "py", "horizon._horizon", "horizon._pure")
        fn = mod.parse_offers_table if impl == "c-numpy" else mod.parse_offers
        result = benchmark(fn, page)
        assert len(result) == 200
    _record(benchmark, "offers_parse", impl)


@pytest.mark.benchmark(group="ingest: /offers page of 200 records, into an OfferBook")
@pytest.mark.parametrize("impl", ["c", "py"])
def test_ingest_offers_page_load(benchmark, impl, page):
    """OfferBook.load_horizon_offers(bytes): parse and add or replace 200 offers (steady state:
    every load after the first re-pages the same ids)."""
    mod = _module(impl, "offers._offers", "offers._pure")
    book = mod.OfferBook(BASE, COUNTER)
    book.load_horizon_offers(page)
    assert benchmark(book.load_horizon_offers, page) == 200
    assert len(book) == 200
    _record(benchmark, "offers_load", impl)


# ---------------------------------------------------------------------------------------------
# the ratios of this run


def _ratio(slow: Tuple[str, str], fast: Tuple[str, str]) -> str:
    a, b = _MEDIANS.get(slow), _MEDIANS.get(fast)
    return f"{a / b:.1f}x" if a and b else "-"


def _us(key: Tuple[str, str]) -> str:
    v = _MEDIANS.get(key)
    return f"{v * 1e6:.1f} us" if v else "-"


def _verdict(key: Tuple[str, str], limit_s: float) -> str:
    v = _MEDIANS.get(key)
    return "-" if not v else ("OK" if v <= limit_s else "MISS")


def ratio_lines() -> List[str]:
    c = ("apply_horizon", "c")
    lines = [
        "bench_ingest medians and ratios (this run, same bytes):",
        f"  apply_horizon 200+200  c {_us(c)} (target <= 25 us: {_verdict(c, APPLY_TARGET_S)}), "
        f"py {_us(('apply_horizon', 'py'))}",
        f"  orjson.loads alone     {_us(('apply_horizon', 'orjson'))}: c is {_ratio(('apply_horizon', 'orjson'), c)} "
        f"faster (target >= 5x)",
        f"  json.loads+float dicts {_us(('apply_horizon', 'json+float'))}: c is "
        f"{_ratio(('apply_horizon', 'json+float'), c)} faster (target >= 10x)",
        f"  c vs py twin           {_ratio(('apply_horizon', 'py'), c)}",
        f"  parse_order_book       c {_us(('parse_order_book', 'c'))}, py {_us(('parse_order_book', 'py'))}",
        f"  /offers 200 parse      c {_us(('offers_parse', 'c'))} objects, {_us(('offers_parse', 'c-numpy'))} numpy "
        f"(target <= 40 us: {_verdict(('offers_parse', 'c-numpy'), OFFERS_TARGET_S)}); py {_us(('offers_parse', 'py'))}; "
        f"orjson.loads {_us(('offers_parse', 'orjson'))} ({_ratio(('offers_parse', 'orjson'), ('offers_parse', 'c-numpy'))} "
        f"slower than c-numpy)",
        f"  /offers 200 load       c {_us(('offers_load', 'c'))} (target <= 40 us: "
        f"{_verdict(('offers_load', 'c'), OFFERS_TARGET_S)}), py {_us(('offers_load', 'py'))}",
    ]
    return lines


@pytest.fixture(scope="module", autouse=True)
def _print_ratios(request: pytest.FixtureRequest):
    yield
    if not _MEDIANS:
        return
    ours = _EXTRA.get(("apply_horizon", "c"))
    if ours is not None:
        c = _MEDIANS[("apply_horizon", "c")]
        ours["times_faster"] = {impl: round(_MEDIANS[("apply_horizon", impl)] / c, 2)
                                for impl in ("py", "orjson", "json+float") if ("apply_horizon", impl) in _MEDIANS}
    lines = ratio_lines()
    reporter = request.config.pluginmanager.get_plugin("terminalreporter")
    capman = request.config.pluginmanager.get_plugin("capturemanager")
    if reporter is None or capman is None:
        return
    with capman.global_and_fixture_disabled():  # teardown output is captured otherwise
        reporter.write_line("")
        for line in lines:
            reporter.write_line(line)
