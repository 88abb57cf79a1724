"""Shared data and implementations for the benchmark suite.

Data. :class:`MarketGenerator` makes realistic books from a seed: 200 levels a side on Stellar's
grids (asks ``t / 10^7``, bids inverted ``10^7 / q`` as Horizon reports them, so ``price_r`` looks
like mainnet's 10000000/416041), amounts 0.1-10,000 units in stroops, and change streams where 90%
of the changes hit the top 20 levels (updates 60%, new prices 20%, removals 20%). Every stream is
played forwards then backwards (each change undone in reverse order), so a benchmark can replay it
in a loop and the book is the same at the start of every round. The real Horizon fixtures
(``tests/data/horizon``, sources in ``tests/data/NOTICE``) are part of the repository.

Implementations. One ``impl`` fixture, parametrised by id:

- ``c``: our compiled core (``stellar_ob.book._book`` / ``stellar_ob.offers._offers``)
- ``py``: our pure-Python twin (``stellar_ob.book._pure`` / ``stellar_ob.offers._pure``)
- ``bmoscon``: bmoscon's C ``order-book`` from PyPI, keyed by float price
- ``hummingbot``: Hummingbot's Cython ``OrderBook`` (C++ std::set of double prices)
- ``json+float``: ``json.loads`` (what stellar-sdk does) feeding float dicts into the bmoscon book
- ``orjson+float``: the same with ``orjson.loads``
- ``orjson``: ``orjson.loads`` alone, the floor under any JSON-based path

Each benchmark gets every implementation its natural input prepared before timing (our (n, d,
stroops) tuples and numpy arrays, float dicts for bmoscon, OrderBookRow lists for Hummingbot), so
the timed work is the same operation on the same book. Where an operation changes the book, the
body also reads the best bid and ask afterwards: bmoscon's book re-sorts lazily on the first read
after a change, so a write without a read would hide most of its cost.

Fairness: this conftest turns warm-up on and the garbage collector off during timing for every
benchmark in bench/ (unless ``--benchmark-warmup`` / ``--benchmark-disable-gc`` are given), so all
implementations are measured alike.
"""

from __future__ import annotations

import fnmatch
import importlib
import itertools
import json
import os
import random
import warnings
from dataclasses import dataclass
from math import gcd
from pathlib import Path
from typing import Any, Callable, Dict, List, Sequence, Tuple

import pytest

REPO = Path(__file__).resolve().parent.parent
FIXTURES = REPO / "tests" / "data" / "horizon"  # recorded Horizon data, see tests/data/NOTICE
REQUIRE_C = os.environ.get("STELLAR_OB_REQUIRE_C") == "1"

BASE = "native"
COUNTER = "USDC:GA5ZSEJYB37JRC5AVCIA5MOP4RHTM335X2KGX3IHOJAPP5RE34K4KZVN"
SCALE = 10_000_000  # prices on Stellar's 7-decimal grid; also stroops per unit
LEVELS = 200
TOP = 20
TOP_SHARE = 0.9
DEEP_LEVELS = 10_000  # a full-depth book: the ledger has no 200-level cap

Row = Tuple[int, int, int]  # (n, d, stroops)
Change = Tuple[str, int, int, int]  # (side, n, d, stroops); 0 stroops removes the level

BOOK_IMPLS = ("c", "py", "bmoscon", "hummingbot")
OURS = ("c", "py")


# ---------------------------------------------------------------------------------------------
# pytest wiring


def pytest_collect_file(file_path: Path, parent: Any) -> Any:
    """Collect bench_*.py even where the ini's python_files names test_*.py only (files named on
    the command line, or matching python_files, are already collected by pytest itself)."""
    if (file_path.suffix == ".py" and file_path.name.startswith("bench_") and not parent.session.isinitpath(file_path)
            and not any(fnmatch.fnmatch(file_path.name, pat) for pat in parent.config.getini("python_files"))):
        return pytest.Module.from_parent(parent, path=file_path)
    return None


def pytest_configure(config: pytest.Config) -> None:
    args = " ".join(str(a) for a in config.invocation_params.args)
    if hasattr(config.option, "benchmark_warmup"):
        if "--benchmark-warmup" not in args:
            config.option.benchmark_warmup = True
        if "--benchmark-disable-gc" not in args:
            config.option.benchmark_disable_gc = True


# ---------------------------------------------------------------------------------------------
# data


def _reduce(n: int, d: int) -> Tuple[int, int]:
    g = gcd(n, d)
    return n // g, d // g


def price_string(n: int, d: int) -> str:
    """n/d to 7 decimals, halves up, as Horizon prints ``price``."""
    q = (2 * n * SCALE + d) // (2 * d)
    return f"{q // SCALE}.{q % SCALE:07d}"


def amount_string(stroops: int) -> str:
    return f"{stroops // SCALE}.{stroops % SCALE:07d}"


@dataclass
class BookData:
    """One book, best level first on each side, as (n, d, stroops)."""

    bids: List[Row]
    asks: List[Row]

    def side(self, side: str) -> List[Row]:
        return self.bids if side == "bid" else self.asks

    def numpy(self, side: str) -> Any:
        import numpy as np

        from stellar_ob._dtypes import level_dtype

        return np.array(self.side(side), dtype=level_dtype())

    def float_dict(self, side: str) -> Dict[float, float]:
        return {n / d: a / SCALE for n, d, a in self.side(side)}

    def horizon_doc(self, base: Any = BASE, counter: Any = COUNTER) -> Dict[str, Any]:
        from stellar_ob import Asset

        def levels(rows: List[Row]) -> List[Dict[str, Any]]:
            return [{"price_r": {"n": n, "d": d}, "price": price_string(n, d), "amount": amount_string(a)}
                    for n, d, a in rows]

        return {"bids": levels(self.bids), "asks": levels(self.asks),
                "base": Asset.parse(base).to_horizon_json(), "counter": Asset.parse(counter).to_horizon_json()}

    def horizon_body(self, base: Any = BASE, counter: Any = COUNTER) -> bytes:
        """The /order_book body as an SSE ``data:`` line carries it (compact JSON)."""
        return json.dumps(self.horizon_doc(base, counter), separators=(",", ":")).encode()


class _Side:
    """The generator's model of one side: grid ticks -> stroops, best first."""

    def __init__(self, name: str, ticks: List[int], amounts: List[int]) -> None:
        self.name = name
        self.ticks = ticks  # best first: asks ascending, bids ascending q (price 10^7/q falls)
        self.amount = dict(zip(ticks, amounts))

    def price(self, tick: int) -> Tuple[int, int]:
        return _reduce(tick, SCALE) if self.name == "ask" else _reduce(SCALE, tick)

    def rows(self) -> List[Row]:
        return [(*self.price(t), self.amount[t]) for t in self.ticks]


class MarketGenerator:
    """Seeded realistic books and change streams (see the module docstring)."""

    def __init__(self, seed: int = 1, levels: int = LEVELS, top: int = TOP, top_share: float = TOP_SHARE) -> None:
        """``levels`` a side; ``top_share`` of the changes fall in the best ``top`` levels, the
        rest uniformly below them (``top=0``: every change at a uniform position, see
        :func:`uniform_generator`). The book itself depends on ``seed`` and ``levels`` only."""
        self.rng = random.Random(seed)
        self.levels, self.top, self.top_share = levels, top, top_share
        rng = self.rng
        m = rng.randint(1_000_000, 9_000_000)  # best ask tick: 0.1 .. 0.9 counter per base
        asks, t = [], m
        for _ in range(levels):
            asks.append(t)
            t += rng.randint(2, 4)  # gaps leave room for new prices
        # bids: offers sell counter at 7-decimal base-per-counter prices q / 10^7; the book
        # quotes them inverted, 10^7 / q counter per base, below the best ask
        q = SCALE * SCALE // m + rng.randint(20, 60)
        bids = []
        for _ in range(levels):
            bids.append(q)
            q += rng.randint(20, 80)
        self.sides = {"bid": _Side("bid", bids, [self._amount() for _ in bids]),
                      "ask": _Side("ask", asks, [self._amount() for _ in asks])}

    def _amount(self) -> int:
        return self.rng.randint(1_000, 100_000_000) * 1_000  # 0.1 .. 10,000 units, in stroops

    def book(self) -> BookData:
        return BookData(self.sides["bid"].rows(), self.sides["ask"].rows())

    def _index(self, n: int) -> int:
        if n <= self.top or self.rng.random() < self.top_share:
            return self.rng.randrange(min(self.top, n))
        return self.rng.randrange(self.top, n)

    def change(self) -> Change:
        """One change to the model (see :meth:`_draw`)."""
        return self._draw()[0]

    def _draw(self) -> Tuple[Change, int]:
        """One change to the model and the level's amount before it: 60% amount updates, 20% new
        prices, 20% removals; 90% of them within the top 20 levels; each side stays within 10
        levels of its starting depth."""
        rng = self.rng
        s = self.sides[rng.choice(("bid", "ask"))]
        n = len(s.ticks)
        i = self._index(n)
        r = rng.random()
        if (r < 0.2 and n > self.levels - 10) or n > self.levels + 10:
            t = s.ticks.pop(i)
            return (s.name, *s.price(t), 0), s.amount.pop(t)
        if (r < 0.4 or n < self.levels - 10) and i + 1 < n and s.ticks[i + 1] - s.ticks[i] > 1:
            t = rng.randrange(s.ticks[i] + 1, s.ticks[i + 1])
            s.ticks.insert(i + 1, t)
            s.amount[t] = self._amount()
            return (s.name, *s.price(t), s.amount[t]), 0
        t = s.ticks[i]
        prev, s.amount[t] = s.amount[t], self._amount()
        return (s.name, *s.price(t), s.amount[t]), prev

    def batches(self, k: int, count: int) -> List[List[Change]]:
        """``count`` batches of ``k`` changes, then their inverses in reverse order: applying the
        whole list in a cycle returns the book to where it started after every pass."""
        forward, backward = [], []
        for _ in range(count):
            before: Dict[Tuple[str, int, int], int] = {}
            after: Dict[Tuple[str, int, int], int] = {}
            batch = []
            for _ in range(k):
                c, prev = self._draw()
                before.setdefault(c[:3], prev)
                after[c[:3]] = c[3]
                batch.append(c)
            forward.append(batch)
            backward.append([(*key, amt) for key, amt in before.items() if amt != after[key]])
        return forward + backward[::-1]

    def stream(self, count: int) -> List[Change]:
        """``count`` single changes, then each undone in reverse order (2 * count changes)."""
        forward, backward = [], []
        for _ in range(count):
            c, prev = self._draw()
            forward.append(c)
            backward.append((*c[:3], prev))
        return forward + backward[::-1]


def uniform_generator(seed: int = 1, levels: int = DEEP_LEVELS) -> MarketGenerator:
    """A deep book whose changes land at uniform positions over the whole side (no top bias):
    the worst case for a side kept as one sorted array, where an insert or a removal in the
    middle moves half of it. ``.book()`` equals ``MarketGenerator(seed, levels).book()``."""
    return MarketGenerator(seed, levels=levels, top=0, top_share=0.0)


def horizon_pair(seed: int = 3, changes: int = 10) -> Tuple[bytes, bytes]:
    """Two /order_book bodies of one 200+200 market one ledger apart (``changes`` level changes,
    90% in the top 20): applying them alternately changes the book every time."""
    gen = MarketGenerator(seed)
    first = gen.book().horizon_body()
    for _ in range(changes):
        gen.change()
    return first, gen.book().horizon_body()


def offers_page(seed: int = 4, records: int = 200) -> bytes:
    """A Horizon /offers page (``_embedded.records``, 200 records, both directions of one
    market, ordered by id) as REST sends it (indented)."""
    from stellar_ob import Asset

    rng = random.Random(seed)
    base, counter = Asset.parse(BASE), Asset.parse(COUNTER)
    gen = MarketGenerator(seed, levels=records // 2)
    out = []
    oid = 1_000_000 + rng.randint(0, 10**6)
    rows = [("ask", t) for t in gen.sides["ask"].ticks] + [("bid", q) for q in gen.sides["bid"].ticks]
    rng.shuffle(rows)
    for side, tick in rows:
        oid += rng.randint(1, 5000)
        # the offer's own price: asks sell base at tick/10^7; bids sell counter at q/10^7 base
        n, d = _reduce(tick, SCALE)
        selling, buying = (base, counter) if side == "ask" else (counter, base)
        seller = "GA5ZSEJYB37JRC5AVCIA5MOP4RHTM335X2KGX3IHOJAPP5RE34K4KZVN"
        out.append({
            "_links": {"self": {"href": f"https://horizon.stellar.org/offers/{oid}"},
                       "offer_maker": {"href": f"https://horizon.stellar.org/accounts/{seller}"}},
            "id": str(oid), "paging_token": str(oid), "seller": seller,
            "selling": selling.to_horizon_json(), "buying": buying.to_horizon_json(),
            "amount": amount_string(rng.randint(1_000, 100_000_000) * 1_000),
            "price_r": {"n": n, "d": d}, "price": price_string(n, d),
            "last_modified_ledger": 50_000_000 + rng.randint(0, 10**5),
            "last_modified_time": "2024-01-01T00:00:00Z",
        })
    page = {"_links": {"self": {"href": "https://horizon.stellar.org/offers?cursor=&limit=200&order=asc"},
                       "next": {"href": "https://horizon.stellar.org/offers?cursor=x&limit=200&order=asc"},
                       "prev": {"href": "https://horizon.stellar.org/offers?cursor=y&limit=200&order=desc"}},
            "_embedded": {"records": out}}
    return json.dumps(page, indent=2).encode()


def fixture_path(name: str) -> Path:
    path = FIXTURES / name
    if not path.is_file():
        raise FileNotFoundError(f"Horizon fixture {name} missing from the repository: {path}")
    return path


def fixture_horizon_pair() -> Tuple[bytes, bytes]:
    """The real 20x20 mainnet-like /order_book fixture (compact, as SSE carries it) and the same
    book one ledger later (the best ask's amount changed)."""
    doc = json.loads(fixture_path("go_horizonclient_orderbook_20x20.json").read_text())
    first = json.dumps(doc, separators=(",", ":")).encode()
    doc["asks"][0]["amount"] = amount_string(int(doc["asks"][0]["amount"].replace(".", "")) + 1234567)
    return first, json.dumps(doc, separators=(",", ":")).encode()


# ---------------------------------------------------------------------------------------------
# implementations


def _c_module(name: str) -> Any:
    try:
        return importlib.import_module(f"stellar_ob.{name}")
    except ImportError as exc:
        if REQUIRE_C:
            pytest.fail(f"compiled extension stellar_ob.{name} is required but missing: {exc}")
        pytest.skip(f"compiled extension stellar_ob.{name} is not built: {exc}")


def _need(module: str, why: str) -> Any:
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return importlib.import_module(module)
    except Exception as exc:  # an incumbent that cannot be imported is skipped, never fatal
        pytest.skip(f"{module} not importable ({type(exc).__name__}: {exc}); {why}")


HUMMINGBOT_HOW = ("to compare with it: pip install --no-deps hummingbot (builds its Cython extensions, ~4 min "
                  "on 2 cores) && pip install pandas hexbytes cachetools ujson")


def hummingbot_order_book() -> Tuple[Any, Any]:
    """(OrderBook, OrderBookRow) from Hummingbot, or a skip with the reason."""
    ob = _need("hummingbot.core.data_type.order_book", HUMMINGBOT_HOW)
    row = _need("hummingbot.core.data_type.order_book_row", HUMMINGBOT_HOW)
    return ob.OrderBook, row.OrderBookRow


class Impl:
    """What a benchmark needs from one implementation; every method returns a callable (and its
    arguments) with all inputs already in the implementation's natural form."""

    id = ""

    def load(self, data: BookData) -> Any:  # a book holding data
        raise NotImplementedError

    def set_level(self, book: Any, side: str, n: int, d: int, amount: int) -> Tuple[Callable, tuple]:
        raise NotImplementedError

    def insert_best_remove(self, book: Any, side: str, n: int, d: int, amount: int) -> Callable[[], Any]:
        raise NotImplementedError

    def insert_or_remove(self, book: Any, side: str, n: int, d: int, amount: int) -> Callable[[], Any]:
        """Odd calls insert the level, even calls remove it; each then reads best bid and ask."""
        raise NotImplementedError

    def apply_batches(self, book: Any, batches: List[List[Change]]) -> Callable[[], Any]:
        raise NotImplementedError

    def replay(self, book: Any, changes: List[Change]) -> Callable[[], Any]:
        raise NotImplementedError

    def snapshot(self, book: Any, data: BookData) -> Tuple[Callable, tuple]:
        raise NotImplementedError

    def quote_buy(self, book: Any, base_stroops: int) -> Tuple[Callable, tuple]:
        raise NotImplementedError

    def top_numpy(self, book: Any, depth: int) -> Callable[[], Any]:
        raise NotImplementedError

    def horizon(self, bodies: Sequence[bytes]) -> Callable[[], Any]:
        raise NotImplementedError

    def offers_page(self, page: bytes) -> Callable[[], Any]:
        raise NotImplementedError


class Ours(Impl):
    def __init__(self, impl_id: str) -> None:
        self.id = impl_id
        self.mod = _c_module("book._book") if impl_id == "c" else importlib.import_module("stellar_ob.book._pure")

    def load(self, data: BookData) -> Any:
        book = self.mod.OrderBook(BASE, COUNTER)
        book.apply_snapshot(data.bids, data.asks)
        return book

    def set_level(self, book, side, n, d, amount):
        return book.set_level, (side, n, d, amount)

    def insert_best_remove(self, book, side, n, d, amount):
        set_level, best_bid, best_ask = book.set_level, book.best_bid, book.best_ask

        def run():
            set_level(side, n, d, amount)
            best_bid()
            best_ask()
            set_level(side, n, d, 0)

        return run

    def insert_or_remove(self, book, side, n, d, amount):
        nxt, set_level, best_bid, best_ask = itertools.cycle((amount, 0)).__next__, book.set_level, book.best_bid, book.best_ask

        def run():
            set_level(side, n, d, nxt())
            best_bid()
            best_ask()

        return run

    def apply_batches(self, book, batches):
        nxt, apply_diff, best_bid, best_ask = itertools.cycle(batches).__next__, book.apply_diff, book.best_bid, book.best_ask

        def run():
            apply_diff(nxt())
            best_bid()
            best_ask()

        return run

    def replay(self, book, changes):
        set_level, best_bid, best_ask = book.set_level, book.best_bid, book.best_ask

        def run():
            for side, n, d, a in changes:
                set_level(side, n, d, a)
                best_bid()
                best_ask()

        return run

    def snapshot(self, book, data):
        bids, asks = data.numpy("bid"), data.numpy("ask")
        apply_snapshot, best_bid, best_ask = book.apply_snapshot, book.best_bid, book.best_ask

        def run():
            apply_snapshot(bids, asks)
            best_bid()
            best_ask()

        return run, ()

    def quote_buy(self, book, base_stroops):
        return book.quote_buy, (base_stroops,)

    def top_numpy(self, book, depth):
        to_numpy = book.to_numpy

        def run():
            return to_numpy("bid", depth), to_numpy("ask", depth)

        return run

    def horizon(self, bodies):
        book = self.mod.OrderBook.from_horizon(bodies[-1])
        nxt, apply_horizon = itertools.cycle(bodies).__next__, book.apply_horizon

        def run():
            return apply_horizon(nxt())

        return run

    def offers_page(self, page):
        mod = _c_module("offers._offers") if self.id == "c" else importlib.import_module("stellar_ob.offers._pure")
        book = mod.OfferBook(BASE, COUNTER)
        book.load_horizon_offers(page)  # steady state: every later load replaces the same ids
        load = book.load_horizon_offers

        def run():
            return load(page)

        return run


class Bmoscon(Impl):
    """bmoscon/orderbook: a C sorted dict per side, keyed by float price."""

    id = "bmoscon"

    def __init__(self) -> None:
        self.OrderBook = _need("order_book", "pip install order-book (in stellar-ob[bench])").OrderBook

    def load(self, data):
        ob = self.OrderBook()
        ob.bids = data.float_dict("bid")
        ob.asks = data.float_dict("ask")
        return ob

    def set_level(self, book, side, n, d, amount):
        import operator

        return operator.setitem, (book.bids if side == "bid" else book.asks, n / d, amount / SCALE)

    def insert_best_remove(self, book, side, n, d, amount):
        bids, asks = book.bids, book.asks
        levels = bids if side == "bid" else asks
        p, a = n / d, amount / SCALE

        def run():
            levels[p] = a
            bids.index(0)
            asks.index(0)
            del levels[p]

        return run

    def insert_or_remove(self, book, side, n, d, amount):
        bids, asks = book.bids, book.asks
        levels = bids if side == "bid" else asks
        p, a = n / d, amount / SCALE
        nxt = itertools.cycle((True, False)).__next__

        def run():
            if nxt():
                levels[p] = a
            else:
                del levels[p]
            bids.index(0)
            asks.index(0)

        return run

    def _native(self, book, changes):
        sides = {"bid": book.bids, "ask": book.asks}
        return [(sides[s], n / d, a / SCALE) for s, n, d, a in changes]

    def apply_batches(self, book, batches):
        nxt = itertools.cycle([self._native(book, b) for b in batches]).__next__
        best_bid, best_ask = book.bids.index, book.asks.index

        def run():
            for levels, p, a in nxt():
                if a:
                    levels[p] = a
                else:
                    del levels[p]
            best_bid(0)  # the sorted keys are rebuilt lazily, on the first read after a change
            best_ask(0)

        return run

    def replay(self, book, changes):
        native = self._native(book, changes)
        best_bid, best_ask = book.bids.index, book.asks.index

        def run():
            for levels, p, a in native:
                if a:
                    levels[p] = a
                else:
                    del levels[p]
                best_bid(0)
                best_ask(0)

        return run

    def snapshot(self, book, data):
        bids, asks = data.float_dict("bid"), data.float_dict("ask")

        def run(ob=book):
            ob.bids = bids
            ob.asks = asks
            ob.bids.index(0)
            ob.asks.index(0)

        return run, ()

    def quote_buy(self, book, base_stroops):
        index = book.asks.index

        def run(volume):
            left, cost, i = volume, 0.0, 0
            while left > 0:
                p, s = index(i)
                t = s if s < left else left
                cost += t * p
                left -= t
                i += 1
            return cost, i

        return run, (base_stroops / SCALE,)

    def top_numpy(self, book, depth):
        import numpy as np

        bi, ai = book.bids.index, book.asks.index
        rng = range(depth)

        def run():
            return np.array([bi(i) for i in rng]), np.array([ai(i) for i in rng])

        return run


class Hummingbot(Impl):
    """Hummingbot's Cython OrderBook (hummingbot/core/data_type/order_book.pyx)."""

    id = "hummingbot"

    def __init__(self) -> None:
        self.OrderBook, self.Row = hummingbot_order_book()

    def load(self, data):
        ob = self.OrderBook()
        ob.apply_snapshot(*self._rows([("bid", *r) for r in data.bids] + [("ask", *r) for r in data.asks]), 2)
        return ob

    def _rows(self, changes):
        bids = [self.Row(n / d, a / SCALE, 2) for s, n, d, a in changes if s == "bid"]
        asks = [self.Row(n / d, a / SCALE, 2) for s, n, d, a in changes if s == "ask"]
        return bids, asks

    def set_level(self, book, side, n, d, amount):
        bids, asks = self._rows([(side, n, d, amount)])
        return book.apply_diffs, (bids, asks, 2)

    def insert_best_remove(self, book, side, n, d, amount):
        bids, asks = self._rows([(side, n, d, amount)])
        bids0, asks0 = self._rows([(side, n, d, 0)])
        apply_diffs, get_price = book.apply_diffs, book.get_price

        def run():
            apply_diffs(bids, asks, 2)
            get_price(False)
            get_price(True)
            apply_diffs(bids0, asks0, 2)

        return run

    def insert_or_remove(self, book, side, n, d, amount):
        nxt = itertools.cycle([self._rows([(side, n, d, amount)]), self._rows([(side, n, d, 0)])]).__next__
        apply_diffs, get_price = book.apply_diffs, book.get_price

        def run():
            bids, asks = nxt()
            apply_diffs(bids, asks, 2)
            get_price(False)
            get_price(True)

        return run

    def apply_batches(self, book, batches):
        nxt, apply_diffs, get_price = itertools.cycle([self._rows(b) for b in batches]).__next__, book.apply_diffs, book.get_price

        def run():
            bids, asks = nxt()
            apply_diffs(bids, asks, 2)
            get_price(False)
            get_price(True)

        return run

    def replay(self, book, changes):
        native = [self._rows([c]) for c in changes]
        apply_diffs, get_price = book.apply_diffs, book.get_price

        def run():
            for bids, asks in native:
                apply_diffs(bids, asks, 2)
                get_price(False)
                get_price(True)

        return run

    def snapshot(self, book, data):
        # OrderBookRow lists: Hummingbot's faster snapshot path (apply_numpy_snapshot walks
        # numpy rows as Python objects and takes ~3x longer)
        bids, asks = self._rows([("bid", *r) for r in data.bids] + [("ask", *r) for r in data.asks])
        apply_snapshot, get_price = book.apply_snapshot, book.get_price

        def run():
            apply_snapshot(bids, asks, 2)
            get_price(False)
            get_price(True)

        return run, ()

    def quote_buy(self, book, base_stroops):
        return book.get_vwap_for_volume, (True, base_stroops / SCALE)

    def top_numpy(self, book, depth):
        import numpy as np

        bid_entries, ask_entries, islice = book.bid_entries, book.ask_entries, itertools.islice

        def run():
            return (np.array([(r.price, r.amount) for r in islice(bid_entries(), depth)]),
                    np.array([(r.price, r.amount) for r in islice(ask_entries(), depth)]))

        return run

    def horizon(self, bodies):
        # what Hummingbot's Stellar connectors do: json.loads, float(price), a snapshot of rows
        ob, Row = self.OrderBook(), self.Row
        nxt, loads, apply_snapshot = itertools.cycle(bodies).__next__, json.loads, ob.apply_snapshot

        def run():
            doc = loads(nxt())
            apply_snapshot([Row(float(l["price"]), float(l["amount"]), 2) for l in doc["bids"]],
                           [Row(float(l["price"]), float(l["amount"]), 2) for l in doc["asks"]], 2)

        return run


class JsonFloat(Impl):
    """Today's parse path: a JSON decoder, then float(price) -> float(amount) into a float-keyed
    book (the bmoscon C book). It computes no diff, which ours does: a conservative comparison."""

    def __init__(self, impl_id: str) -> None:
        self.id = impl_id
        self.loads = json.loads if impl_id == "json+float" else _need("orjson", "pip install orjson").loads
        self.OrderBook = _need("order_book", "pip install order-book (in stellar-ob[bench])").OrderBook

    def horizon(self, bodies):
        ob, loads = self.OrderBook(), self.loads
        nxt = itertools.cycle(bodies).__next__

        def run():
            doc = loads(nxt())
            ob.bids = {float(l["price"]): float(l["amount"]) for l in doc["bids"]}
            ob.asks = {float(l["price"]): float(l["amount"]) for l in doc["asks"]}

        return run

    def offers_page(self, page):
        loads, book = self.loads, {}

        def run():
            for r in loads(page)["_embedded"]["records"]:
                side = "ask" if r["selling"]["asset_type"] == "native" else "bid"
                book[int(r["id"])] = (side, float(r["price"]), float(r["amount"]))
            return len(book)

        return run


class JsonOnly(Impl):
    """orjson.loads alone: the floor under every JSON path (no book at all)."""

    id = "orjson"

    def __init__(self) -> None:
        self.loads = _need("orjson", "pip install orjson").loads

    def horizon(self, bodies):
        nxt, loads = itertools.cycle(bodies).__next__, self.loads

        def run():
            return loads(nxt())

        return run

    def offers_page(self, page):
        loads = self.loads

        def run():
            return loads(page)

        return run


def make_impl(impl_id: str) -> Impl:
    if impl_id in OURS:
        return Ours(impl_id)
    if impl_id == "bmoscon":
        return Bmoscon()
    if impl_id == "hummingbot":
        return Hummingbot()
    if impl_id in ("json+float", "orjson+float"):
        return JsonFloat(impl_id)
    if impl_id == "orjson":
        return JsonOnly()
    raise ValueError(impl_id)


@pytest.fixture
def impl(request: pytest.FixtureRequest) -> Impl:
    """Parametrise with ``@pytest.mark.parametrize("impl", [...ids], indirect=True)``."""
    return make_impl(request.param)


@pytest.fixture(scope="session")
def book_data() -> BookData:
    """The seeded 200+200 book every L2 benchmark starts from."""
    return MarketGenerator(1).book()


@pytest.fixture(scope="session")
def deep_book_data() -> BookData:
    """The seeded 10,000+10,000 book of the deep-book benchmarks (``uniform_generator(1)``'s)."""
    return uniform_generator(1).book()


# ---------------------------------------------------------------------------------------------
# JSON output: p99 per benchmark (nearest rank over the rounds), raw rounds dropped


def pytest_benchmark_update_json(config: pytest.Config, benchmarks: Any, output_json: Dict[str, Any]) -> None:
    """Add ``stats.p99`` and drop the per-round data (hundreds of thousands of rounds per run)
    unless ``STELLAR_OB_BENCH_KEEP_DATA=1``. A round is the mean of ``iterations`` calls, so
    the p99 of a very fast operation is that of a mean over its iterations."""
    keep = os.environ.get("STELLAR_OB_BENCH_KEEP_DATA") == "1"
    for bench in output_json.get("benchmarks", []):
        stats = bench.get("stats") or {}
        data = stats.get("data")
        if data:
            ordered = sorted(data)
            stats["p99"] = ordered[max(0, -(-99 * len(ordered) // 100) - 1)]
            if not keep:
                del stats["data"]
