"""The hand-written stubs type-check real usage (mypy --strict over a small program)."""

from __future__ import annotations

import subprocess
import sys
import textwrap

import pytest

PROGRAM = textwrap.dedent('''
    from fractions import Fraction
    from typing import Optional
    import stellar_ob as sob

    book: sob.OrderBook = sob.OrderBook("XLM", "USDC:GA5ZSEJYB37JRC5AVCIA5MOP4RHTM335X2KGX3IHOJAPP5RE34K4KZVN")
    book.apply_snapshot([(1, 10, 5)], [(11, 100, 2)])
    book.set_level("bid", 1, 11, 3)
    best: Optional[sob.Level] = book.best_bid()
    if best is not None:
        n: int = best.price.n
        amount: int = best.amount
    q: sob.Quote = book.quote_buy(sob.parse_amount("1"))
    avg: Optional[Fraction] = q.average_price
    diff: sob.BookDiff = book.apply_horizon(b"{}")
    changes: list[sob.LevelChange] = diff.bids
    offers = sob.OfferBook("XLM", "USDC:GA5ZSEJYB37JRC5AVCIA5MOP4RHTM335X2KGX3IHOJAPP5RE34K4KZVN")
    ex: sob.Execution = offers.simulate("sell", 100, taker_sells="base")
    pool = sob.LiquidityPool(10, 20)
    pq: Optional[sob.PoolQuote] = pool.strict_send(5)
''')

BAD = textwrap.dedent('''
    import stellar_ob as sob
    book = sob.OrderBook("XLM", "native")
    book.set_level("middle", 1, 2, 3)
    x: str = book.quote_buy(1).counter
''')


def _mypy(tmp_path, source: str) -> subprocess.CompletedProcess:
    pytest.importorskip("mypy")
    path = tmp_path / "prog.py"
    path.write_text(source)
    return subprocess.run([sys.executable, "-m", "mypy", "--strict", "--no-incremental",
                           "--cache-dir", str(tmp_path / ".mypy"), str(path)],
                          capture_output=True, text=True, cwd=tmp_path)


@pytest.mark.slow
def test_stubs_type_check_real_usage(tmp_path):
    r = _mypy(tmp_path, PROGRAM)
    assert r.returncode == 0, r.stdout + r.stderr


@pytest.mark.slow
def test_stubs_catch_misuse(tmp_path):
    r = _mypy(tmp_path, BAD)
    assert r.returncode == 1
    assert "prog.py:4: error" in r.stdout and "Literal['middle']" in r.stdout, r.stdout
    assert "prog.py:5: error" in r.stdout and '"int", variable has type "str"' in r.stdout, r.stdout
    assert r.stdout.count("error:") == 2, r.stdout
