"""The offline replay tool (python -m stellar_ob.ledger.replay; `stellar-ob replay` once wired).

- three consecutive data-lake files (.zst) replay in order; the mainnet ledger prints its markets,
  its trades (29) and, with --market, that market's book, whose best levels are the DexBook's;
- a gap between files stops the replay (exit 1, "ledger gap") unless --resync;
- a malformed or truncated file: exit 1 with the ParseError; a missing file: exit 2; a bad
  --market: a usage error;
- a zstd bomb is refused past the size limit.
"""

from __future__ import annotations

import io
import os

import pytest

from stellar_ob.errors import ParseError
from stellar_ob.ledger import DexBook, open_ledgers
from stellar_ob.ledger.files import read_ledger_file
from stellar_ob.ledger.replay import main

DATA = os.path.join(os.path.dirname(__file__), "data", "ledger")
USDC = "USDC:GA5ZSEJYB37JRC5AVCIA5MOP4RHTM335X2KGX3IHOJAPP5RE34K4KZVN"
BUCKETS = [os.path.join(DATA, n) for n in ("FFFFFC1A--997.xdr.zst", "FFFFFC19--998.xdr.zst", "FFFFFC18--999.xdr.zst")]
MAINNET = os.path.join(DATA, "FCD285FF--53312000.xdr")


def run(*argv):
    out, err = io.StringIO(), io.StringIO()
    code = main(list(argv), out=out, err=err)
    return code, out.getvalue(), err.getvalue()


def test_consecutive_files():
    code, out, err = run("--no-progress", *BUCKETS)
    assert code == 0, err
    assert [ln.split(":")[0] for ln in out.splitlines()[:3]] == ["ledger 997", "ledger 998", "ledger 999"]
    assert "3 ledger(s) replayed" in out


def test_mainnet_markets_trades_and_book():
    code, out, err = run("--no-progress", "--market", "XLM", USDC, "--depth", "3", MAINNET)
    assert code == 0, err
    assert out.startswith("ledger 53312000:") and ", 29 trade(s)" in out.splitlines()[0]
    assert out.count("    trade: ") == 29
    # the book printed is the DexBook's
    dex = DexBook()
    r = open_ledgers(MAINNET)
    assert r.next_ledger()
    dex.apply_reader(r)
    m = dex.market("XLM", USDC)
    tail = out[out.index("market native / " + USDC):]
    assert f"({len(m)} offers, learned from the ledgers replayed: incomplete)" in tail
    for lv in m.bids(3) + m.asks(3):
        assert f"{str(lv.price):>20}" in tail


def test_gap_between_files():
    code, out, err = run("--no-progress", BUCKETS[0], BUCKETS[2])
    assert code == 1 and "ledger gap: expected ledger 998, got 999" in err
    code, out, err = run("--no-progress", "--resync", BUCKETS[0], BUCKETS[2])
    assert code == 0 and "2 ledger(s) replayed" in out


def test_bad_inputs(tmp_path):
    with open(MAINNET, "rb") as fh:
        raw = fh.read()
    bad = tmp_path / "FCD285FF--53312000.xdr"
    bad.write_bytes(raw[:-3])
    code, out, err = run("--no-progress", str(bad))
    assert code == 1 and "at byte" in err
    code, out, err = run("--no-progress", str(tmp_path / "missing.xdr"))
    assert code == 2 and "missing.xdr" in err
    with pytest.raises(SystemExit):
        run("--market", "XLM", "NOT-AN-ASSET", MAINNET)


def test_zstd_limit_and_errors(tmp_path):
    zstandard = pytest.importorskip("zstandard")
    big = tmp_path / "big.xdr.zst"
    big.write_bytes(zstandard.ZstdCompressor().compress(bytes(1 << 20)))
    with pytest.raises(ParseError, match="more than"):
        read_ledger_file(str(big), max_bytes=1000)
    assert len(read_ledger_file(str(big))) == 1 << 20
    junk = tmp_path / "junk.xdr.zst"
    junk.write_bytes(b"\x28\xb5\x2f\xfd" + bytes(20))
    with pytest.raises(ParseError, match="zstd"):
        read_ledger_file(str(junk))
