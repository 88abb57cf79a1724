"""Threads and finalizers against the compiled core (issue 9), bounded in time.

Several threads call into several OrderBooks and OfferBooks at once, switching as often as the
interpreter allows, while garbage-collector finalizers (reference cycles with ``__del__``) change
random books from whichever thread happens to collect. One book is not promised to be safe for
concurrent mutation, but nothing may crash, and no book may take another book's data: every
level a thread writes into L2 book ``i`` has an amount that is ``i`` modulo 8, and every offer of
L3 book ``i`` has an id that is ``i`` modulo 8 and a seller of book ``i``. At the end every book
passes its invariant check and holds only its own tags.

Runs for STELLAR_OB_STRESS_SECONDS (default 2) seconds; set it higher for a soak, e.g.
``STELLAR_OB_STRESS_SECONDS=120 pytest tests/test_thread_stress.py``. CI runs it under ASan/UBSan.
"""

from __future__ import annotations

import gc
import json
import os
import random
import sys
import threading
import time

import numpy as np
import pytest

from stellar_ob.book import _pure
from stellar_ob._dtypes import level_dtype
from stellar_ob.errors import StellarOBError

from conftest import USDC, load_c

SECONDS = float(os.environ.get("STELLAR_OB_STRESS_SECONDS", "2"))
BOOKS = 4
THREADS = 4
ISSUER = USDC.split(":")[1]


def _amount(rng, i):
    return 8 * rng.randint(1, 10**6) + i


def _rows(rng, i, side):
    """Distinct prices (so no amounts sum), bids below 1 and asks above 1: never crossed."""
    k = rng.randint(0, 60)
    prices = rng.sample(range(1, 999), k)
    if side == "ask":
        prices = [1000 + p for p in prices]
    return [(p, 1000, _amount(rng, i)) for p in prices]


def _doc(rng, i):
    def lv(n, d, a):
        return {"price_r": {"n": n, "d": d}, "price": str(_pure.Price(n, d)), "amount": "%d.%07d" % divmod(a, 10**7)}
    return json.dumps({"bids": [lv(*r) for r in sorted(_rows(rng, i, "bid"), reverse=True)],
                       "asks": [lv(*r) for r in sorted(_rows(rng, i, "ask"))],
                       "base": {"asset_type": "native"},
                       "counter": {"asset_type": "credit_alphanum4", "asset_code": "USDC", "asset_issuer": ISSUER}})


class Yielding:
    """Rows that give the GIL away while they are read."""

    def __init__(self, rows):
        self.rows = rows

    def __iter__(self):
        for r in self.rows:
            time.sleep(0)
            yield r


def l2_op(rng, books, i):
    b = books[i]
    op = rng.randrange(12)
    if op == 0:
        b.apply_snapshot(_rows(rng, i, "bid"), _rows(rng, i, "ask"))
    elif op == 1:
        b.apply_snapshot(Yielding(_rows(rng, i, "bid")), np.array(_rows(rng, i, "ask"), dtype=level_dtype()))
    elif op == 2:
        side = rng.choice(["bid", "ask"])
        p = rng.randrange(1, 999) + (1000 if side == "ask" else 0)
        b.set_level(side, p, 1000, rng.choice([0, _amount(rng, i)]))
    elif op == 3:
        changes = []
        for _ in range(rng.randint(0, 40)):
            side = rng.choice(["bid", "ask"])
            changes.append((side, rng.randrange(1, 999) + (1000 if side == "ask" else 0), 1000,
                            rng.choice([0, _amount(rng, i)])))
        b.apply_diff(changes)
    elif op == 4:
        b.apply_horizon(_doc(rng, i).encode())
    elif op == 5:
        b.clear()
    elif op == 6:
        [lv.amount for lv in b.bids()] + [lv.amount for lv in b.asks(rng.randint(0, 50))]
    elif op == 7:
        list(b)
    elif op == 8:
        b.to_numpy(rng.choice(["bid", "ask"]), rng.choice([None, 5]))
    elif op == 9:
        b.best_bid(), b.best_ask(), b.spread(), b.mid()
    elif op == 10:
        b.quote_buy(rng.randint(0, 10**9)), b.quote_sell(rng.randint(0, 10**9))
    else:
        other = b.copy()
        other.check()


def l3_op(rng, books, i):
    b = books[i]
    oid = 8 * rng.randrange(300) + i
    op = rng.randrange(10)
    if op == 0:
        side = rng.choice(["bid", "ask"])
        b.add_offer(oid, side, rng.randint(1, 50), rng.randint(1, 50), rng.randint(1, 10**9),
                    seller=f"G{i}-{rng.randrange(40)}")
    elif op == 1:
        b.remove_offer(oid)
    elif op == 2:
        b.update_offer(oid, rng.randint(0, 10**9), *rng.choice([(), (rng.randint(1, 50), 7)]))
    elif op == 3:
        b.apply_fill(oid, rng.randint(1, 10**8))
    elif op == 4:
        b.simulate(rng.choice(["sell", "buy", "strict_send", "strict_receive"]), rng.randint(1, 10**10),
                   taker_sells=rng.choice(["base", "counter"]), apply=rng.random() < 0.5,
                   taker=rng.choice([None, f"G{i}-1"]), max_offers=rng.choice([5, 1000, 2**62]))
    elif op == 5:
        mod = sys.modules[type(b).__module__]
        mod.quote_hop(b, None, "strict_send", rng.randint(1, 10**9), taker_sells="counter", apply=True)
    elif op == 6:
        [o.seller for o in b.offers(rng.choice(["bid", "ask"]), rng.choice([None, 10]))]
    elif op == 7:
        b.levels("ask"), b.best_offer("bid"), len(b), oid in b
    elif op == 8 and rng.random() < 0.2:
        b.clear()
    else:
        recs = [{"id": str(8 * rng.randrange(300) + i), "seller": ISSUER, "selling": {"asset_type": "native"},
                 "buying": {"asset_type": "credit_alphanum4", "asset_code": "USDC", "asset_issuer": ISSUER},
                 "amount": "1.0000000", "price_r": {"n": rng.randint(1, 9), "d": 3}, "price": "1.0",
                 "paging_token": "1", "last_modified_ledger": 1} for _ in range(rng.randint(0, 5))]
        b.load_horizon_offers(json.dumps({"_embedded": {"records": recs}}))


class Bomb:
    """Garbage (a reference cycle) whose finalizer changes a book, from whatever thread collects."""

    def __init__(self, action):
        self.action = action
        self.cycle = self

    def __del__(self):
        try:
            self.action()
        except StellarOBError:
            pass


def test_threads_and_finalizers_never_crash_or_cross_books():
    core, offers = load_c("book"), load_c("offers")
    l2 = [core.OrderBook("XLM", USDC) for _ in range(BOOKS)]
    l3 = [offers.OfferBook("native", USDC) for _ in range(BOOKS)]
    errors: list = []
    counts = [0] * THREADS
    deadline = time.monotonic() + SECONDS

    def work(t):
        rng = random.Random(1000 + t)
        try:
            while time.monotonic() < deadline:
                i = rng.randrange(BOOKS)
                if rng.random() < 0.1:  # garbage whose finalizer calls into a book
                    j, seed = rng.randrange(BOOKS), rng.randrange(2**32)
                    if rng.random() < 0.5:
                        Bomb(lambda: l2_op(random.Random(seed), l2, j))
                    else:
                        Bomb(lambda: l3_op(random.Random(seed), l3, j))
                try:
                    if rng.random() < 0.5:
                        l2_op(rng, l2, i)
                    else:
                        l3_op(rng, l3, i)
                except StellarOBError:  # a refused change (an absent offer, a crossing level)
                    pass
                counts[t] += 1
        except BaseException as e:  # pragma: no cover - reported below
            errors.append(f"thread {t}: {e!r}")

    old_switch, old_gc = sys.getswitchinterval(), gc.get_threshold()
    sys.setswitchinterval(1e-5)
    gc.set_threshold(30, 5, 5)
    try:
        threads = [threading.Thread(target=work, args=(t,)) for t in range(THREADS)]
        for th in threads:
            th.start()
        for th in threads:
            th.join()
        gc.collect()
    finally:
        sys.setswitchinterval(old_switch)
        gc.set_threshold(*old_gc)
    assert not errors, errors[:5]
    assert all(c > 0 for c in counts), counts
    for i, b in enumerate(l2):
        b.check()
        assert all(lv.amount % 8 == i for lv in b.bids() + b.asks()), f"L2 book {i} holds another book's levels"
    for i, b in enumerate(l3):
        b._check()
        for o in b.offers("bid") + b.offers("ask"):
            assert o.offer_id % 8 == i, f"L3 book {i} holds offer {o.offer_id}"
            assert o.seller == ISSUER or o.seller.startswith(f"G{i}-"), f"L3 book {i} holds seller {o.seller}"
