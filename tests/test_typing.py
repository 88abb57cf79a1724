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
    # set_level is overloaded ((side, n, d, amount) or (side, price, amount)): no variant takes "middle"
    assert "prog.py:4: error" in r.stdout and 'No overload variant of "set_level"' in r.stdout, r.stdout
    assert "prog.py:5: error" in r.stdout and '"int", variable has type "str"' in r.stdout, r.stdout
    assert r.stdout.count("error:") == 2, r.stdout


README = __import__("pathlib").Path(__file__).resolve().parent.parent / "README.md"
# Blocks that need what the test extra cannot install: Hummingbot pins its own numpy and pandas
# (README "Hummingbot"), so its example is type-checked in CI's Hummingbot step, not here.
_NOT_HERE = ("hummingbot",)


def _readme_examples() -> list[str]:
    import re

    text = README.read_text()
    blocks = re.findall(r"^```python\n(.*?)^```", text, flags=re.S | re.M)
    return [b for b in blocks if not any(f"import {m}" in b or f"from {m}" in b for m in _NOT_HERE)]


def _mypy_any(tmp_path, sources: dict[str, str]) -> subprocess.CompletedProcess:
    """mypy --strict, plus --disallow-any-expr: any expression of type Any in these files (a value
    the library hands out untyped) is an error."""
    pytest.importorskip("mypy")
    paths = []
    for name, source in sources.items():
        path = tmp_path / name
        path.write_text(source)
        paths.append(str(path))
    return subprocess.run([sys.executable, "-m", "mypy", "--strict", "--disallow-any-expr", "--no-incremental",
                           "--cache-dir", str(tmp_path / ".mypy"), *paths],
                          capture_output=True, text=True, cwd=tmp_path)


@pytest.mark.slow
def test_readme_examples_pass_mypy_strict_with_no_any(tmp_path):
    """Every Python example of the README, as written, passes mypy --strict with no Any from the
    library: the live book's updates, reads and arrays are all typed."""
    if not README.is_file():
        pytest.skip("README.md not found next to tests/")
    blocks = _readme_examples()
    assert len(blocks) >= 2 and any("updates()" in b for b in blocks)  # the usage and the live example
    r = _mypy_any(tmp_path, {f"readme_{i}.py": b for i, b in enumerate(blocks)})
    assert r.returncode == 0, r.stdout + r.stderr


LIVE_PROGRAM = textwrap.dedent('''
    from fractions import Fraction
    from typing import Optional

    import numpy as np
    import numpy.typing as npt

    import stellar_ob as sob
    from stellar_ob.horizon import Trade
    from stellar_ob.sync import AppliedFill, TradesUpdate


    async def main() -> None:
        async with sob.Horizon("http://127.0.0.1:1") as h:
            live: sob.LiveBook = await h.watch("XLM", "USDC:GA5ZSEJYB37JRC5AVCIA5MOP4RHTM335X2KGX3IHOJAPP5RE34K4KZVN")
            async for u in live.updates():
                update: sob.BookUpdate = u
                diff: sob.BookDiff = u.diff
                book: sob.OrderBook = u.book
                best: Optional[sob.Level] = live.best_bid()
                mid: Optional[Fraction] = live.mid()
                arr: npt.NDArray[np.void] = live.to_numpy("ask", 5)
                q: sob.Quote = live.quote_buy(10)

            def on_update(u: sob.BookUpdate) -> None:
                print(u.diff.bids)

            live.on_update(on_update)
            offers = await h.watch_offers("XLM", "USDC:GA5ZSEJYB37JRC5AVCIA5MOP4RHTM335X2KGX3IHOJAPP5RE34K4KZVN")
            ob: sob.OfferBook = offers.book
            async for ou in offers.updates():
                offer_update: sob.OfferBookUpdate = ou
                fills: tuple[AppliedFill, ...] = ou.fills
                ob = ou.book
            trades = await h.watch_trades("XLM", "USDC:GA5ZSEJYB37JRC5AVCIA5MOP4RHTM335X2KGX3IHOJAPP5RE34K4KZVN")
            async for tu in trades.updates():
                trades_update: TradesUpdate = tu
                first: Trade = tu.trades[0]
                amount: int = first.base_amount
''')

LIVE_MISUSE = textwrap.dedent('''
    import stellar_ob as sob


    async def main(live: sob.LiveBook) -> None:
        async for u in live.updates():
            x: str = u.diff
        live.no_such_read()
        live.to_numpy("middle")
        live.on_update(lambda live, extra: None)
''')


@pytest.mark.slow
def test_live_books_are_typed(tmp_path):
    r = _mypy_any(tmp_path, {"live.py": LIVE_PROGRAM})
    assert r.returncode == 0, r.stdout + r.stderr


@pytest.mark.slow
def test_live_book_misuse_is_caught(tmp_path):
    """What the untyped live layer let through: a wrong type for an update's diff, a read the book
    does not have (once an Any from __getattr__), a bad side, a callback of the wrong shape."""
    r = _mypy_any(tmp_path, {"misuse.py": LIVE_MISUSE})
    assert r.returncode == 1
    for line, what in ((7, 'has type "BookDiff"'), (8, '"no_such_read"'), (9, "Literal['middle']"), (10, "on_update")):
        assert f"misuse.py:{line}: error" in r.stdout and what in r.stdout, (line, r.stdout)
