"""Threads parsing Horizon documents at once never see each other's (each call owns its document)."""

from __future__ import annotations

import json
import sys
import threading

import pytest

from stellar_ob.book import _pure

from conftest import USDC, load_c

BTC = "BTC:GBVOL67TMUQBGL4TZYNMY3ZQ5WGQYFPFD5VJRWXR72VA33VFNL225PL5"


def _doc(counter: str, k: int, scale: int) -> bytes:
    def lv(n, d, a):
        return {"price_r": {"n": n, "d": d}, "price": str(_pure.Price(n, d)), "amount": f"{a}.0000000"}

    c = _pure.OrderBook("XLM", counter).counter.to_horizon_json()
    return json.dumps({
        "bids": [lv(1000 - i, 1000 * scale, i + 1) for i in range(k)],
        "asks": [lv(1001 + i, 1000 * scale, i + 1) for i in range(k)],
        "base": {"asset_type": "native"}, "counter": c}, indent=2).encode()


@pytest.mark.parametrize("entry", ["from_horizon", "apply_horizon"])
def test_threads_parsing_at_once_keep_their_own_documents(entry):
    core = load_c()
    docs = {USDC: _doc(USDC, 150, 1), BTC: _doc(BTC, 40, 7)}
    expected = {c: _pure.OrderBook.from_horizon(d) for c, d in docs.items()}
    errors: list = []
    old = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)  # switch threads as often as the interpreter allows
    try:
        def work(counter: str) -> None:
            try:
                book = core.OrderBook("XLM", counter)
                empty = core.OrderBook("XLM", counter)
                for _ in range(400):
                    if entry == "from_horizon":
                        got = core.OrderBook.from_horizon(docs[counter])
                    else:
                        got = book
                        diff = got.apply_horizon(docs[counter])
                        back = empty.copy()
                        back.apply_diff(diff)  # the diff must be this thread's diff
                        assert back == expected[counter]
                    assert got == expected[counter]
                    if entry == "apply_horizon":
                        got.clear()
            except Exception as e:  # pragma: no cover - a failure is reported below
                errors.append(e)

        threads = [threading.Thread(target=work, args=(c,)) for c in (USDC, BTC, USDC, BTC)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    finally:
        sys.setswitchinterval(old)
    assert not errors, errors[:3]
