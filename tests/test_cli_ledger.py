"""The ledger source in the CLI (issue 14): ``watch --rpc/--datalake``, ``demo --source rpc``,
``bootstrap --archive --out``. Bad options: one line, exit 2, no traceback; the commands run against
the local stack (loopback only)."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys

import pytest

from stellar_ob.testing.archive import bucket_bytes, write_archive
from stellar_ob.testing.ledger_meta import LocalStack

pytest.importorskip("stellar_ob.ledger._bucket")

ISSUER = "GAUZ6DV67BPYUZQJSRPIF3WFA4QN6AZDMPA7ZHDLYVRGPRXMW3QED4K7"
USD = f"USD:{ISSUER}"
RPC = "http://127.0.0.1:9"


def _run(*args: str, timeout: float = 60) -> subprocess.CompletedProcess:
    env = dict(os.environ, STELLAR_OB_NO_UVLOOP="1")
    env.pop("STELLAR_OB_HORIZON", None)
    return subprocess.run([sys.executable, "-m", "stellar_ob", *args], capture_output=True, text=True,
                          timeout=timeout, env=env)


BAD = [
    ["watch", "XLM", USD, "--rpc", "notaurl", "--learn"],
    ["watch", "XLM", USD, "--rpc", "ftp://rpc.example.org", "--learn"],
    ["watch", "XLM", USD, "--rpc", RPC],  # no start
    ["watch", "XLM", USD, "--rpc", RPC, "--learn", "--snapshot", __file__],  # two starts
    ["watch", "XLM", USD, "--rpc", RPC, "--datalake", "/tmp"],
    ["watch", "XLM", USD, "--rpc", RPC, "--snapshot", "/no/such/file.snap"],
    ["watch", "XLM", USD, "--rpc", RPC, "--archive", "/no/such/dir"],
    ["watch", "XLM", USD, "--rpc", RPC, "--archive", "ftp://archive.example.org"],
    ["watch", "XLM", USD, "--rpc", RPC, "--learn", "--stall-timeout", "0"],
    ["watch", "XLM", USD, "--datalake", "/no/such/lake", "--learn"],
    ["watch", "XLM", USD, "--learn"],  # --learn without a ledger source
    ["watch", "XLM", USD, "--seed-horizon"],
    ["watch", "XLM", USD, "--rpc", RPC, "--seed-horizon", "--learn"],
    ["watch", "XLM", USD, "--archive", "/tmp"],
    ["demo", "--source", "ledger"],
    ["bootstrap"],
    ["bootstrap", "--archive", "/tmp"],
    ["bootstrap", "--out", "x.snap"],
    ["bootstrap", "--archive", "/no/such/dir", "--out", "x.snap"],
    ["bootstrap", "--archive", "notaurl://x", "--out", "x.snap"],
    ["bootstrap", "--archive", "/tmp", "--out", "/no/such/dir/x.snap"],
    ["bootstrap", "--archive", "/tmp", "--out", "x.snap", "--checkpoint", "100"],
    ["bootstrap", "--archive", "/tmp", "--out", "x.snap", "--checkpoint", "-1"],
]


@pytest.mark.parametrize("argv", BAD, ids=lambda a: " ".join(a))
def test_bad_options_are_one_line_and_exit_2(argv):
    r = _run(*argv, timeout=30)
    assert r.returncode == 2, (r.returncode, r.stdout, r.stderr)
    assert "Traceback" not in r.stderr
    lines = r.stderr.strip().splitlines()
    assert lines and ("error" in lines[-1] or lines[-1].startswith("stellar-ob")), r.stderr


def test_a_bootstrap_from_an_archive_that_is_not_one_is_one_line(tmp_path):
    r = _run("bootstrap", "--archive", str(tmp_path), "--out", str(tmp_path / "x.snap"), timeout=30)
    assert r.returncode == 2 and "Traceback" not in r.stderr and len(r.stderr.strip().splitlines()) == 1
    assert not (tmp_path / "x.snap").exists()


def test_demo_source_rpc_runs_without_network():
    r = _run("demo", "--source", "rpc", "--markets", "2", "--duration", "3", "--plain", "--ledger-interval", "0.3",
             timeout=90)
    assert r.returncode == 0, r.stderr
    assert " live " in r.stdout and "errors 0" in r.stdout and "RPC requests" in r.stdout


def test_demo_source_rpc_l3_shows_ledger_offer_books():
    """--l3 from the ledger: each market a LedgerOfferBook (every offer, kept from the ledger's
    changes), drawn as the Horizon per-offer books are."""
    r = _run("demo", "--source", "rpc", "--l3", "--markets", "2", "--duration", "3", "--plain",
             "--ledger-interval", "0.3", timeout=90)
    assert r.returncode == 0, r.stderr
    assert " live " in r.stdout and "errors 0" in r.stdout
    offers = [ln for ln in r.stdout.splitlines() if "offers " in ln and "repages " in ln]
    assert offers and int(offers[-1].split("offers ")[1].split()[0]) > 0, r.stdout


async def test_bootstrap_then_watch_rpc_snapshot(tmp_path):
    async with LocalStack(markets=2, seed=3, ledger_interval=None, start_time=1_700_000_000) as st:
        checkpoint = (st.market.ledger // 64 + 1) * 64 + 63
        while st.market.ledger < checkpoint:
            st.close_ledger()
        entries = [("LIVE", e) for e in st.market.ledger_entries()]
        write_archive(tmp_path / "archive", checkpoint, [(bucket_bytes(entries), None)],
                      passphrase=st.market.passphrase)
        out = tmp_path / "dex.snap"
        r = await asyncio.to_thread(_run, "bootstrap", "--archive", str(tmp_path / "archive"), "--out", str(out),
                                    "--passphrase", st.market.passphrase)
        assert r.returncode == 0, r.stderr
        n_offers = sum(len(p.offers) for p in st.market.pairs.values())
        assert f"ledger {checkpoint}: {n_offers} offers, 2 pools" in r.stdout and out.exists()
        (base, counter) = st.horizon.market_assets()[0]

        async def close_some() -> None:
            for _ in range(10):
                await asyncio.sleep(0.3)
                st.close_ledger()

        closer = asyncio.ensure_future(close_some())
        r = await asyncio.to_thread(_run, "watch", str(base), str(counter), "--rpc", st.rpc.url, "--snapshot",
                                    str(out), "--plain", "--duration", "2.5", "--timeout", "20")
        await closer
        assert r.returncode == 0, r.stderr
        assert " live " in r.stdout and "errors 0" in r.stdout, r.stdout


async def test_watch_rpc_seeded_from_horizon():
    async with LocalStack(markets=2, seed=4, ledger_interval=None, start_time=1_700_000_000) as st:
        (base, counter) = st.horizon.market_assets()[1]

        async def close_some() -> None:
            for _ in range(10):
                await asyncio.sleep(0.3)
                st.close_ledger()

        closer = asyncio.ensure_future(close_some())
        r = await asyncio.to_thread(_run, "watch", str(base), str(counter), "--rpc", st.rpc.url, "--seed-horizon",
                                    "--horizon", st.horizon.url, "--plain", "--duration", "2.5", "--timeout", "20")
        await closer
        assert r.returncode == 0, r.stderr
        assert " live " in r.stdout and "errors 0" in r.stdout, r.stdout
