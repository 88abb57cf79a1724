"""pytest-benchmark suite for the per-offer book (not part of the default test run).

    python -m pytest bench/bench_offers.py --benchmark-only -p no:cacheprovider

Targets: simulate over 50 offers <= 2 us, over 1000 offers <= 40 us; add+remove of one offer in a
10,000-offer book <= 200 ns (compiled module).
"""

from __future__ import annotations

import importlib
import random

import pytest

BASE = "native"
COUNTER = "USDC:GA5ZSEJYB37JRC5AVCIA5MOP4RHTM335X2KGX3IHOJAPP5RE34K4KZVN"


@pytest.fixture(params=["c", "py"], ids=["c", "py"])
def impl(request):
    name = "stellar_ob.offers._offers" if request.param == "c" else "stellar_ob.offers._pure"
    try:
        return importlib.import_module(name)
    except ImportError as exc:
        pytest.skip(f"{name} not available ({exc})")


def _book(impl, k):
    rng = random.Random(k)
    b = impl.OfferBook(BASE, COUNTER)
    for i in range(k):
        b.add_offer(i + 1, "ask", 1000 + i, 1000, rng.randint(10**7, 10**9))
    return b


def _total(b):
    return sum(o.amount for o in b.offers("ask"))


def test_simulate_50_offers(benchmark, impl):
    b = _book(impl, 50)
    amount = _total(b) - 1  # crosses all 50, the last partially
    ex = benchmark(b.simulate, "buy", amount, taker_sells="counter")
    assert ex.offers_crossed == 50


def test_simulate_1000_offers(benchmark, impl):
    b = _book(impl, 1000)
    amount = _total(b) - 1
    ex = benchmark(b.simulate, "buy", amount, taker_sells="counter")
    assert ex.offers_crossed == 1000


def test_add_remove_in_10000_offer_book(benchmark, impl):
    b = _book(impl, 10_000)
    add, remove = b.add_offer, b.remove_offer

    def add_remove():
        add(99_999_999, "ask", 5_000, 1000, 10**8)
        remove(99_999_999)

    benchmark(add_remove)
    assert len(b) == 10_000
