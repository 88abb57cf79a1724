"""Differential fuzzing of the Horizon scanner against its twin, with atheris.

The libFuzzer harness in csrc/fuzz (ASan + UBSan, run by CI) proves the C scanner safe on any
bytes; this one proves it *agrees with the twin* on any bytes: every parser of stellar_ob.horizon._horizon
and stellar_ob.horizon._pure accepts the same inputs with equal results, and OrderBook.apply_horizon
of both implementations ends in the same book (unchanged after a refusal). The twin's Python is
instrumented, so its branches guide the search; inputs start from csrc/fuzz/corpus.

    python tests/test_horizon_fuzz.py -max_total_time=600 -max_len=4096 csrc/fuzz/corpus   # a long hunt
    pytest tests/test_horizon_fuzz.py                                                      # ~10 s smoke

Mismatches are written by libFuzzer as crash-* files (use -artifact_prefix=DIR/); replay one with
``python tests/test_horizon_fuzz.py crash-...``.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any, Callable, Tuple

import pytest

HERE = Path(__file__).resolve().parent
CORPUS = HERE.parent / "csrc" / "fuzz" / "corpus"
USDC = "USDC:GA5ZSEJYB37JRC5AVCIA5MOP4RHTM335X2KGX3IHOJAPP5RE34K4KZVN"
PARSERS = ("parse_order_book", "parse_offers", "parse_offers_table", "parse_trades", "parse_liquidity_pools")
START = (b'{"bids":[{"price_r":{"n":1,"d":10},"price":"0.1000000","amount":"5.0000000"}],"asks":[],'
         b'"base":{"asset_type":"native"},"counter":{"asset_type":"credit_alphanum4","asset_code":"USDC",'
         b'"asset_issuer":"GA5ZSEJYB37JRC5AVCIA5MOP4RHTM335X2KGX3IHOJAPP5RE34K4KZVN"}}')


def _outcome(fn: Callable[[], Any]) -> Tuple[str, Any]:
    from stellar_ob.errors import StellarOBError

    try:
        return "ok", fn()
    except StellarOBError as e:
        return type(e).__name__, None


def check_one(data: bytes, c: Any, py: Any, core: Any, pure: Any) -> None:
    """The property: C and twin agree on ``data`` (AssertionError otherwise)."""
    for name in PARSERS:
        got_c = _outcome(lambda: getattr(c, name)(data))
        got_py = _outcome(lambda: getattr(py, name)(data))
        assert got_c == got_py, (name, data, got_c, got_py)
    books = []
    for mod in (core, pure):
        book = mod.OrderBook.from_horizon(START)
        res = _outcome(lambda: book.apply_horizon(data))
        book.check()
        if res[0] != "ok":
            assert book == mod.OrderBook.from_horizon(START), (data, res)
        books.append((res, book.bids(), book.asks()))
    assert books[0] == books[1], (data, books)


def main(argv: list) -> None:
    import atheris

    with atheris.instrument_imports(include=["stellar_ob"]):
        from stellar_ob.book import _book as _core
        from stellar_ob.horizon import _horizon
        from stellar_ob.horizon import _pure as _horizon_pure
        from stellar_ob.book import _pure

    def one_input(data: bytes) -> None:
        check_one(data, _horizon, _horizon_pure, _core, _pure)

    atheris.Setup(argv, one_input)
    atheris.Fuzz()


def test_differential_fuzz_smoke(tmp_path):
    """A bounded run from the committed corpus: no input on which C and twin disagree."""
    pytest.importorskip("atheris", reason="pip install atheris to fuzz C against the twin")
    if "asan" in os.environ.get("LD_PRELOAD", ""):
        pytest.skip("atheris brings its own libFuzzer; the ASan run fuzzes with csrc/fuzz/run_fuzz.sh")
    try:
        from stellar_ob.horizon import _horizon  # noqa: F401
    except ImportError as e:
        pytest.skip(f"compiled extension stellar_ob.horizon._horizon is not built: {e}")
    corpus = tmp_path / "corpus"
    shutil.copytree(CORPUS, corpus)  # new inputs go to the copy, the committed seeds stay small
    seconds = os.environ.get("STELLAR_OB_FUZZ_SMOKE_SECONDS", "8")
    proc = subprocess.run(
        [sys.executable, __file__, f"-max_total_time={seconds}", "-max_len=4096", "-timeout=20",
         f"-artifact_prefix={tmp_path}/", str(corpus)],
        capture_output=True, text=True, timeout=int(seconds) + 120)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-6000:]


if __name__ == "__main__":
    main(sys.argv)
