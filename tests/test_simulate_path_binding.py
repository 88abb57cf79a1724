"""Issue 12: the compiled simulate_path builds its arguments and results without per-call dicts
or attribute lookups (books found by their asset ids, result slots written at their offsets).
These tests hold it to the twin: equal PathResult objects (==, hash, repr, every field and fill)
over random paths through books and pools, with the argument forms a caller may use (generators,
tuples, a pair given twice, a pool shared by two hops, the taker's own offers)."""

from __future__ import annotations

import dataclasses
import gc
import random
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))

import exchange_reference as xref  # noqa: E402

ISSUER = "GA5ZSEJYB37JRC5AVCIA5MOP4RHTM335X2KGX3IHOJAPP5RE34K4KZVN"
ASSETS = ["native", f"USDC:{ISSUER}", f"EUR:{ISSUER}", f"GBP:{ISSUER}"]


def _world(impl, rnd: random.Random):
    books = []
    for i in range(len(ASSETS)):
        for j in range(i + 1, len(ASSETS)):
            if rnd.random() < 0.25:
                continue
            b = impl.OfferBook(ASSETS[i], ASSETS[j])
            for k in range(rnd.randint(0, 6)):
                side = rnd.choice(["bid", "ask"])
                b.add_offer(len(books) * 100 + k + 1, side, rnd.randint(800, 1300), 1000,
                            rnd.choice([10**5, 10**7, 10**9]), seller=rnd.choice([None, "s1", "s2", "me"]))
            books.append(b)
    pools = {}
    for i in range(len(ASSETS)):
        for j in range(len(ASSETS)):
            if i != j and rnd.random() < 0.2:
                pools[(ASSETS[i], ASSETS[j])] = impl.LiquidityPool(rnd.choice([10**6, 10**10]),
                                                                   rnd.choice([10**6, 10**10]))
    return books, pools


def _call(impl, rnd_state, shape):
    rnd = random.Random(rnd_state)
    books, pools = _world(impl, rnd)
    n = rnd.randint(2, 7)
    path = [rnd.choice(ASSETS) for _ in range(n)]
    kind = rnd.choice(["strict_send", "strict_receive"])
    amount = rnd.choice([1, 10**4, 10**6, 10**8])
    taker = rnd.choice([None, "me", "other"])
    if shape == "generators":
        path_arg, books_arg = iter(path), (b for b in books)
    elif shape == "tuples":
        path_arg, books_arg = tuple(path), tuple(books)
    else:
        path_arg, books_arg = path, books
    try:
        return impl.simulate_path(kind, amount, path_arg, books_arg, pools or None, taker=taker,
                                  max_offers=rnd.choice([1000, 3]))
    except Exception as exc:  # the same exception type and message on both
        return (type(exc).__name__, str(exc))


@pytest.mark.parametrize("shape", ["lists", "tuples", "generators"])
def test_compiled_path_result_equals_twin(shape):
    c, py = xref.load_impl("c"), xref.load_impl("py")
    seen = set()
    for seed in range(300):
        rc, rp = _call(c, seed, shape), _call(py, seed, shape)
        assert rc == rp, (seed, rc, rp)
        if isinstance(rc, tuple):
            continue
        assert type(rc) is type(rp) and hash(rc) == hash(rp) and repr(rc) == repr(rp)
        assert dataclasses.astuple(rc) == dataclasses.astuple(rp)
        for hc, hp in zip(rc.hops, rp.hops):
            assert type(hc) is type(hp) and hc.fills == hp.fills
            assert dataclasses.replace(hc) == hc
        seen.add(rc.result_code)
    assert any(code.endswith("SUCCESS") for code in seen) and len(seen) >= 3, seen


def test_last_book_of_a_pair_is_used_and_every_book_is_checked():
    """Two books of one pair: the later one is used (as the twin's dict keyed by pair); a
    non-book anywhere in ``books`` is a TypeError, even off the path."""
    for name in ("c", "py"):
        impl = xref.load_impl(name)
        first = impl.OfferBook(ASSETS[0], ASSETS[1])
        first.add_offer(1, "ask", 1, 1, 10**9)
        second = impl.OfferBook(ASSETS[0], ASSETS[1])
        second.add_offer(2, "ask", 2, 1, 10**9)
        r = impl.simulate_path("strict_receive", 100, [ASSETS[1], ASSETS[0]], [first, second])
        assert r.complete and r.sent == 200 and r.hops[0].fills[0].offer_id == 2
        r = impl.simulate_path("strict_receive", 100, [ASSETS[1], ASSETS[0]], (second, first))
        assert r.complete and r.sent == 100 and r.hops[0].fills[0].offer_id == 1
        with pytest.raises(TypeError):
            impl.simulate_path("strict_receive", 100, [ASSETS[1], ASSETS[0]], [first, object()])


def test_results_hold_their_own_references():
    """The result's slots own their values: read after the call's temporaries are gone, and the
    result freed without touching freed memory (a refcount error here crashes or corrupts)."""
    c = xref.load_impl("c")
    results = [_call(c, seed, "lists") for seed in range(60)]
    gc.collect()
    again = [_call(c, seed, "lists") for seed in range(60)]
    assert results == again
    for r in results:
        if not isinstance(r, tuple):
            assert all(isinstance(h.raw_fills, bytes) for h in r.hops) and isinstance(r.sent, int)
    del results, again
    gc.collect()
