"""The stellar-ob command: demo offline, snapshot/watch against the local Horizon, readable errors."""

from __future__ import annotations

import asyncio
import csv
import io
import json
import os
import signal
import subprocess
import sys

import pytest

from stellar_ob.cli import main
from stellar_ob.testing import LocalHorizon

pytestmark = pytest.mark.network


def test_demo_runs_offline_and_prints_a_summary(capsys):
    assert main(["demo", "--markets", "2", "--duration", "1.5", "--ledger-interval", "0.1", "--plain"]) == 0
    out = capsys.readouterr().out
    assert "XLM/USD" in out and "markets 2" in out and "latency" in out and "p50" in out


def test_unknown_asset_is_one_readable_line(capsys):
    assert main(["snapshot", "XLM", "FOO:NOTANISSUER", "--horizon", "http://127.0.0.1:9"]) == 2
    err = capsys.readouterr().err
    assert "unknown or invalid asset 'FOO:NOTANISSUER'" in err and "Traceback" not in err
    assert len(err.strip().splitlines()[-1]) < 300


def test_no_route_to_horizon_is_one_readable_line(capsys):
    issuer = "GAUZ6DV67BPYUZQJSRPIF3WFA4QN6AZDMPA7ZHDLYVRGPRXMW3QED4K7"
    rc = main(["watch", "XLM", f"USD:{issuer}", "--horizon", "http://127.0.0.1:9", "--timeout", "0.5"])
    assert rc == 2
    err = capsys.readouterr().err
    assert "stellar-ob:" in err and "127.0.0.1:9" in err and "Traceback" not in err


async def test_snapshot_json_and_csv_match_the_server(capsys):
    async with LocalHorizon(markets=1, ledger_interval=None) as server:
        base, counter = server.market_assets()[0]
        for fmt in ("json", "csv"):
            # main() runs its own event loop: run it in a thread while ours serves
            rc = await asyncio.to_thread(main, ["snapshot", str(base), str(counter), "--horizon", server.url,
                                                "--depth", "5", "--format", fmt])
            assert rc == 0
            out = capsys.readouterr().out
            expected = json.loads(server.order_book_body(base, counter, 5))
            if fmt == "json":
                doc = json.loads(out)
                assert doc["latest_ledger"] == server.market.ledger
                assert [b["price"] for b in doc["bids"]] == [b["price"] for b in expected["bids"]]
                assert [a["amount"] for a in doc["asks"]] == [a["amount"] for a in expected["asks"]]
            else:
                rows = list(csv.DictReader(io.StringIO(out)))
                assert [r["amount"] for r in rows if r["side"] == "ask"] == [a["amount"] for a in expected["asks"]]


async def test_watch_runs_for_a_duration(capsys):
    async with LocalHorizon(markets=1, ledger_interval=0.05) as server:
        base, counter = server.market_assets()[0]
        rc = await asyncio.to_thread(main, ["watch", str(base), str(counter), "--horizon", server.url,
                                            "--duration", "1", "--plain"])
        assert rc == 0
        assert "updates/s" in capsys.readouterr().out


def test_python_dash_m_and_ctrl_c_exit_cleanly():
    env = dict(os.environ)
    proc = subprocess.Popen([sys.executable, "-m", "stellar_ob", "serve", "--port", "0", "--ledger-interval", "0.1"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    try:
        line = proc.stdout.readline()
        assert line.startswith("local Horizon on http://127.0.0.1:")
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 0, err
    assert "Traceback" not in err
