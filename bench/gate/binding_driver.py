"""Binding-level workloads of the regression gate: Python calling the installed compiled extension.

    python bench/gate/binding_driver.py --list        name and operations per iteration, one a line
    python bench/gate/binding_driver.py NAME N         set up, then run NAME's loop N times

bench/gate.py runs ``NAME N1`` and ``NAME N2`` under callgrind and takes the difference of the two
totals divided by the difference of the operations: interpreter start, imports and setup cancel
out, what remains is one operation through the border (argument checks, conversions, the C call,
building results) and the core's work. Hash randomisation is off (PYTHONHASHSEED=0, set by the
gate) so both runs execute the same instructions up to the loop. Refuses to run on the
pure-Python twins (exit 3): the gate measures the compiled border.
"""

from __future__ import annotations

import json
import sys
from typing import Callable, Dict, Tuple

ISSUER = "GA5ZSEJYB37JRC5AVCIA5MOP4RHTM335X2KGX3IHOJAPP5RE34K4KZVN"
BASE = "XLM"
COUNTER = f"USDC:{ISSUER}"


def _levels(k: int, start: int, step: int) -> list:
    return [(1000 + start + i * step, 1000, 1_0000000 + i) for i in range(k)]


def _book(sob):
    book = sob.OrderBook(BASE, COUNTER)
    book.apply_snapshot(_levels(200, 0, -1), _levels(200, 1, 1))
    return book


def _amount(stroops: int) -> str:
    return "%d.%07d" % divmod(stroops, 10_000_000)


def _horizon_doc(k: int) -> bytes:
    def side(levels):
        return [{"price_r": {"n": n, "d": d}, "price": "%.7f" % (n / d), "amount": _amount(a)} for n, d, a in levels]

    return json.dumps({
        "bids": side(_levels(k, 0, -1)), "asks": side(_levels(k, 1, 1)),
        "base": {"asset_type": "native"},
        "counter": {"asset_type": "credit_alphanum4", "asset_code": "USDC", "asset_issuer": ISSUER},
    }).encode()


def set_level(sob) -> Callable[[], None]:
    """OrderBook.set_level on an existing bid level of a 200x200 book, amount alternating."""
    book = _book(sob)
    amounts = (5_0000000, 6_0000000)
    state = [0]

    def op():
        state[0] ^= 1
        book.set_level("bid", 900, 1000, amounts[state[0]])
    return op


def apply_diff_10(sob) -> Callable[[], None]:
    """OrderBook.apply_diff of 10 changes (tuples) on a 200x200 book, two batches alternating."""
    book = _book(sob)
    batches = ([("bid", 1000 - i, 1000, 7_0000000 + i) for i in range(10)],
               [("ask", 1001 + i, 1000, 8_0000000 + i) for i in range(10)])
    state = [0]

    def op():
        state[0] ^= 1
        book.apply_diff(batches[state[0]])
    return op


def apply_horizon_20(sob) -> Callable[[], None]:
    """OrderBook.apply_horizon of a 20x20 /order_book body (bytes), two bodies alternating."""
    book = sob.OrderBook(BASE, COUNTER)
    docs = (_horizon_doc(20), _horizon_doc(19))
    state = [0]

    def op():
        state[0] ^= 1
        book.apply_horizon(docs[state[0]])
    return op


def simulate_50(sob) -> Callable[[], None]:
    """OfferBook.simulate (strict_send, not applied) across 50 offers of a 200-offer book."""
    book = sob.OfferBook(BASE, COUNTER)
    for i in range(200):
        book.add_offer(i + 1, "ask", 1000 + i, 1000, 1_0000000)
    amount = 0
    for i in range(50):  # what the first 50 asks sell for, in counter: crosses exactly 50
        amount += 1_0000000 * (1000 + i) // 1000
    want = 50

    def op():
        ex = book.simulate("strict_send", amount, taker_sells="counter")
        if ex.offers_crossed != want:
            raise SystemExit(f"simulate_50 crossed {ex.offers_crossed} offers, not {want}")
    return op


def _funded_book(sob, k: int = 50):
    """``k`` ledger-valid asks of 10 sellers whose balances, trust limits and liabilities are set
    (set_account), so the book walk is the general one (sellers' funds read per offer)."""
    from stellar_ob.offers._common import adjust_offer

    book = sob.OfferBook(BASE, COUNTER)
    sellers = [f"s{i}" for i in range(10)]
    selling = dict.fromkeys(sellers, 0)
    buying = dict.fromkeys(sellers, 0)
    total = 0
    for i in range(k):
        s, n = sellers[i % 10], 1000 + i
        amount = adjust_offer(n, 1000, 1_0000000 + 7919 * i)
        book.add_offer(i + 1, "ask", n, 1000, amount, seller=s)
        selling[s] += amount
        buying[s] += amount * n // 1000  # an adjusted offer's buying liabilities: floor(A*n/d)
        total += amount
    for s in sellers:
        book.set_account(s, sob.Funds(10**13, None, 0, selling[s]), sob.Funds(0, 10**15, buying[s], 0),
                         subentries=k // 10)
    return book, total


def quote_hop_funds_pool_wins(sob) -> Callable[[], None]:
    """quote_hop (strict_receive) across 50 asks of sellers with funds set, next to a pool whose
    price (about 1.0) beats the book's (1.0 to 1.05): the pool wins and the execution shows the
    rolled-back book walk (50 offers)."""
    book, total = _funded_book(sob)
    pool = sob.LiquidityPool(10**15, 10**15)
    amount = total - 1
    quote_hop = sob.quote_hop

    def op():
        q = quote_hop(book, pool, "strict_receive", amount, taker_sells="counter")
        if q.venue != "pool" or q.execution.offers_crossed != 50:
            raise SystemExit(f"quote_hop_funds_pool_wins: venue {q.venue}, {q.execution.offers_crossed} offers")
    return op


def _path_books(sob, k: int = 50):
    """Three books of ``k`` asks each: USDC -> XLM -> EUR -> GBP (bench/bench_offers.py's path)."""
    import random

    rng = random.Random(3)
    eur, gbp = f"EUR:{ISSUER}", f"GBP:{ISSUER}"
    books = []
    for j, (base, counter) in enumerate(((BASE, COUNTER), (eur, BASE), (gbp, eur))):
        b = sob.OfferBook(base, counter)
        scale = 10 ** (2 - j)
        for i in range(k):
            b.add_offer(len(books) * 1000 + i + 1, "ask", 1000 + i, 1000, rng.randint(10**7, 10**9) * scale)
        books.append(b)
    return books, [COUNTER, BASE, eur, gbp]


def simulate_path_3x50(sob) -> Callable[[], None]:
    """simulate_path (strict_receive) across 3 books of 50 asks, every offer of the last crossed."""
    books, path = _path_books(sob)
    want = sum(o.amount for o in books[2].offers("ask")) - 1
    simulate_path = sob.simulate_path

    def op():
        r = simulate_path("strict_receive", want, path, books)
        if r.result != "SUCCESS":
            raise SystemExit(f"simulate_path_3x50: {r.result_code}")
    return op


WORKLOADS: Dict[str, Tuple[Callable, int]] = {
    # name: (setup returning the operation, operations per call of it)
    "py_set_level": (set_level, 1),
    "py_apply_diff_10": (apply_diff_10, 1),
    "py_apply_horizon_20x20": (apply_horizon_20, 1),
    "py_simulate_50": (simulate_50, 1),
    "py_quote_hop_funds_pool_wins": (quote_hop_funds_pool_wins, 1),
    "py_simulate_path_3x50": (simulate_path_3x50, 1),
}


def main(argv) -> int:
    if argv[1:] == ["--list"]:
        for name, (_, ops) in WORKLOADS.items():
            print(name, ops)
        return 0
    name, n = argv[1], int(argv[2])
    import stellar_ob as sob
    from stellar_ob import _impl

    if _impl.IMPLEMENTATION != "c":
        print("binding_driver: the compiled extension is not in use", file=sys.stderr)
        return 3
    op = WORKLOADS[name][0](sob)
    op()  # first call outside the count difference: caches, interned strings, lazy imports
    for _ in range(n):
        op()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
