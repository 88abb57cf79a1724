"""The CLI refuses bad options at once with one line and exit 2, never a traceback; --help shows
defaults; --version; broken pipes are silent; deliberate API errors are StellarOBErrors (issue 16)."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

import stellar_ob as sob
from stellar_ob.testing import LocalHorizon

ISSUER = "GAUZ6DV67BPYUZQJSRPIF3WFA4QN6AZDMPA7ZHDLYVRGPRXMW3QED4K7"
USD = f"USD:{ISSUER}"
DEAD = "http://127.0.0.1:9"  # nothing listens: a connection is refused at once


def _run(*args: str, timeout: float = 60, **kw) -> subprocess.CompletedProcess:
    env = dict(os.environ, STELLAR_OB_NO_UVLOOP="1")
    env.pop("STELLAR_OB_HORIZON", None)
    return subprocess.run([sys.executable, "-m", "stellar_ob", *args], capture_output=True, text=True,
                          timeout=timeout, env=env, **kw)


# Every subcommand with bad options: refused by the parser (or as a usage error) with exit 2.
BAD = [
    ["demo", "--duration", "-1"],
    ["demo", "--duration", "nan"],
    ["demo", "--markets", "0"],
    ["demo", "--markets", "many"],
    ["demo", "--depth", "500"],
    ["demo", "--rows", "0"],
    ["demo", "--ledger-interval", "0"],
    ["demo", "--metrics-port", "70000"],
    ["demo", "--no-such-option"],
    ["watch", "XLM", USD, "--depth", "500"],
    ["watch", "XLM", USD, "--depth", "0"],
    ["watch", "XLM", USD, "--horizon", "notaurl"],
    ["watch", "XLM", USD, "--horizon", "ftp://horizon.example.org"],
    ["watch", "XLM", USD, "--horizon", "http://127.0.0.1:99999"],
    ["watch", "XLM", USD, "--timeout", "-3"],
    ["watch", "XLM", USD, "--max-age", "0"],
    ["watch", "XLM", USD, "--market", "0"],
    ["watch", "XLM", USD, "--l3", "--account", "GNOTANACCOUNT"],
    ["watch", "XLM", USD, "--metrics-host", ""],
    ["watch", "XLM", "FOO:NOTANISSUER"],
    ["watch", "XLM"],
    ["watch"],
    ["watch", "--markets-file", "/nonexistent/markets.txt"],
    ["snapshot", "XLM", USD, "--horizon", "notaurl"],
    ["snapshot", "XLM", USD, "--depth", "201"],
    ["snapshot", "XLM", USD, "--format", "xml"],
    ["snapshot", "XLM"],
    ["snapshot", "XLM", USD, "--account", ISSUER],            # --account marks offers: needs --l3
    ["snapshot", "XLM", USD, "--l3", "--account", "GNOTANACCOUNT"],
    ["serve", "--port", "-1"],
    ["serve", "--markets", "0"],
    ["serve", "--ledger-interval", "inf"],
    ["serve", "--host", ""],
    ["serve", "--from", "nope"],
    ["serve", "--from", "rpc"],
    ["serve", "--from", "rpc", "notaurl"],
    ["serve", "--from", "replay"],
    ["serve", "--from", "replay", "/no/such/file.xdr.zst"],
    ["serve", "--from", "simulated", "extra"],
    ["replay"],
    ["replay", "/nonexistent/ledgers.xdr"],
    ["replay", "--depth", "-1", "x.xdr"],
    ["nosuchcommand"],
    [],
]


@pytest.mark.parametrize("argv", BAD, ids=lambda a: " ".join(a) or "(none)")
def test_bad_options_are_one_line_and_exit_2(argv):
    r = _run(*argv, timeout=30)
    assert r.returncode == 2, (r.returncode, r.stdout, r.stderr)
    assert "Traceback" not in r.stderr
    assert r.stderr.strip(), "says why"
    last = r.stderr.strip().splitlines()[-1]
    assert "error" in last or last.startswith("stellar-ob"), r.stderr


def test_a_refused_url_fails_at_once():
    import time

    t0 = time.monotonic()
    r = _run("watch", "XLM", USD, "--horizon", "notaurl", "--timeout", "30")
    assert time.monotonic() - t0 < 15 and r.returncode == 2
    assert "not an http:// or https:// URL: 'notaurl'" in r.stderr


def test_unreachable_horizon_is_one_readable_line():
    r = _run("watch", "XLM", USD, "--horizon", DEAD, "--timeout", "1", "--plain")
    assert r.returncode == 2 and "Traceback" not in r.stderr
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1, r.stderr
    assert lines[0].startswith("stellar-ob: ") and "check the URL" in lines[0]
    for raw in ("ConnectionKey", "ClientConnectorError(", "ssl="):
        assert raw not in lines[0]


def test_help_shows_defaults_and_version():
    r = _run("watch", "--help")
    assert r.returncode == 0
    r.stdout = " ".join(r.stdout.split())
    assert "default: https://horizon.stellar.org" in r.stdout and "STELLAR_OB_HORIZON" in r.stdout
    assert "(default: 20)" in r.stdout and "SIGHUP" in r.stdout
    r = _run("demo", "--help")
    r.stdout = " ".join(r.stdout.split())
    assert "(default: 3)" in r.stdout and "10 events" in r.stdout
    r = _run("--version")
    assert r.returncode == 0 and r.stdout.startswith("stellar-ob ") and sob.IMPLEMENTATION in r.stdout


def test_horizon_default_comes_from_the_environment():
    env = dict(os.environ, STELLAR_OB_HORIZON="http://127.0.0.1:1234")
    r = subprocess.run([sys.executable, "-m", "stellar_ob", "watch", "--help"], capture_output=True, text=True, env=env)
    assert "default: http://127.0.0.1:1234" in " ".join(r.stdout.split())


@pytest.mark.network
def test_snapshot_into_a_closed_pipe_is_silent():
    import asyncio

    async def go() -> None:
        async with LocalHorizon(markets=1, ledger_interval=None, levels=200) as server:
            base, counter = server.market_assets()[0]
            cmd = (f"{sys.executable} -m stellar_ob snapshot {base} {counter} --horizon {server.url} --format csv"
                   " | head -n 2")
            r = await asyncio.to_thread(subprocess.run, ["bash", "-o", "pipefail", "-c", cmd], capture_output=True,
                                        text=True, timeout=60)
            assert len(r.stdout.splitlines()) == 2
            assert r.stderr == "", r.stderr
            assert r.returncode == 0

    asyncio.run(go())


@pytest.mark.network
def test_demo_explains_its_reconnects():
    r = _run("demo", "--markets", "1", "--duration", "1.5", "--ledger-interval", "0.05", "--plain")
    assert r.returncode == 0, r.stderr
    assert "closes every stream after 10 events" in r.stdout and "by design" in r.stdout


@pytest.mark.network
def test_replay_subcommand_runs_the_ledger_replay():
    data = os.path.join(os.path.dirname(__file__), "data", "ledger")
    files = sorted(os.path.join(data, f) for f in os.listdir(data) if f.endswith((".xdr", ".xdr.zst")))[:1] \
        if os.path.isdir(data) else []
    if not files:
        pytest.skip("no recorded ledger files")
    from stellar_ob.ledger.replay import main as replay_main
    import io

    out, err = io.StringIO(), io.StringIO()
    expected_rc = replay_main(["--quiet", "--no-progress", *files], out=out, err=err)
    r = _run("replay", "--quiet", "--no-progress", *files)
    assert r.returncode == expected_rc
    assert r.stdout == out.getvalue()


def test_deliberate_api_errors_are_stellarob_errors():
    import asyncio

    from stellar_ob.sync import Horizon

    book = sob.OrderBook("XLM", USD)
    with pytest.raises(sob.StellarOBError):
        book.to_numpy("bid", -1)

    async def go() -> None:
        async with Horizon(DEAD) as horizon:
            with pytest.raises(sob.StellarOBError):
                await horizon.watch("XLM", USD, depth=0)
            with pytest.raises(sob.StellarOBError):
                await horizon.watch("XLM", USD, depth=500)

    asyncio.run(go())


@pytest.mark.network
def test_snapshot_plot_writes_a_depth_chart(tmp_path):
    pytest.importorskip("matplotlib")
    import asyncio
    import struct

    out = tmp_path / "depth.png"

    async def go() -> subprocess.CompletedProcess:
        async with LocalHorizon(markets=1, ledger_interval=None) as server:
            base, counter = server.market_assets()[0]
            return await asyncio.to_thread(_run, "snapshot", str(base), str(counter), "--horizon", server.url,
                                           "--plot", str(out))

    r = asyncio.run(go())
    assert r.returncode == 0, r.stderr
    data = out.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    width, height = struct.unpack(">II", data[16:24])
    assert width >= 400 and height >= 250 and len(data) > 10_000


def test_snapshot_l3_plot_writes_an_offer_chart(tmp_path):
    pytest.importorskip("matplotlib")
    import asyncio
    import struct

    out = tmp_path / "offers.png"

    async def go() -> subprocess.CompletedProcess:
        async with LocalHorizon(markets=1, ledger_interval=None) as server:
            base, counter = server.market_assets()[0]
            return await asyncio.to_thread(_run, "snapshot", str(base), str(counter), "--horizon", server.url,
                                           "--l3", "--depth", "10", "--plot", str(out))

    r = asyncio.run(go())
    assert r.returncode == 0, r.stderr
    assert "wrote" in r.stderr and "Traceback" not in r.stderr
    data = out.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    width, height = struct.unpack(">II", data[16:24])
    assert width >= 400 and height >= 250 and len(data) > 10_000


def test_snapshot_l3_lists_every_offer_in_crossing_order():
    """--l3 --format csv: one row per offer of the server's book, best price first and in crossing
    order within a price, the chosen account's offers marked."""
    import asyncio
    import csv
    import io

    from stellar_ob.plot import offer_chart
    from stellar_ob.sync import Horizon

    async def go():
        async with LocalHorizon(markets=1, ledger_interval=None) as server:
            base, counter = server.market_assets()[0]
            async with Horizon(server.url) as h:
                live = await h.watch_offers(base, counter)
                book = live.book
                sellers = [o.seller for side in ("bid", "ask") for o in book.offers(side) if o.seller]
                account = sellers[len(sellers) // 2] if sellers else None
                chart = offer_chart(book, None, account)
                rows = [(side, b.offer_id, b.seller or "", str(int(b.own)))
                        for side, bars in (("bid", chart.bids), ("ask", chart.asks)) for b in bars]
                offers = {o.offer_id: o for side in ("bid", "ask") for o in book.offers(side)}
            args = ["snapshot", str(base), str(counter), "--horizon", server.url, "--l3", "--format", "csv"]
            if account:
                args += ["--account", account]
            r = await asyncio.to_thread(_run, *args)
            return r, rows, offers, account

    r, rows, offers, account = asyncio.run(go())
    assert r.returncode == 0, r.stderr
    got = list(csv.DictReader(io.StringIO(r.stdout)))
    assert len(got) == len(rows) == len(offers) > 0
    assert [(g["side"], int(g["offer_id"]), g["seller"], g["own"]) for g in got] == rows
    for g in got:
        o = offers[int(g["offer_id"])]
        assert (int(g["price_n"]), int(g["price_d"]), int(g["amount_stroops"])) == (o.n, o.d, o.amount)
    if account:
        assert any(g["own"] == "1" for g in got)


@pytest.mark.network
def test_the_cli_runs_on_uvloop_when_installed():
    if sys.version_info < (3, 11):
        pytest.skip("uvloop is used from Python 3.11 (asyncio.Runner)")
    pytest.importorskip("uvloop")
    env = dict(os.environ)
    env.pop("STELLAR_OB_NO_UVLOOP", None)
    r = subprocess.run([sys.executable, "-m", "stellar_ob", "--version"], capture_output=True, text=True, env=env)
    assert "event loop uvloop" in r.stdout
    r = subprocess.run([sys.executable, "-m", "stellar_ob", "--version"], capture_output=True, text=True,
                       env=dict(env, STELLAR_OB_NO_UVLOOP="1"))
    assert "event loop asyncio" in r.stdout
    r = subprocess.run([sys.executable, "-m", "stellar_ob", "demo", "--markets", "1", "--duration", "1",
                        "--ledger-interval", "0.05", "--plain"], capture_output=True, text=True, env=env, timeout=60)
    assert r.returncode == 0 and "updates/s" in r.stdout and "Traceback" not in r.stderr, r.stderr


def test_serve_from_replay_answers_horizon_endpoints():
    """`stellar-ob serve --from replay FILE` serves the whole-DEX book of a real mainnet ledger:
    /order_book of a market the ledger touched, as Horizon's JSON; SIGTERM ends it with exit 0."""
    import json
    import signal
    import time
    import urllib.request
    from pathlib import Path

    ledger = Path(__file__).resolve().parent / "data" / "ledger" / "FCD285FF--53312000.xdr.zstd"
    env = dict(os.environ, STELLAR_OB_NO_UVLOOP="1")
    proc = subprocess.Popen([sys.executable, "-m", "stellar_ob", "serve", "--from", "replay", str(ledger),
                             "--port", "0"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    try:
        line = proc.stdout.readline()
        assert line.startswith("serving on http://127.0.0.1:"), (line, proc.stderr.read() if proc.poll() else "")
        url = line.split()[-1]
        usdc = "GA5ZSEJYB37JRC5AVCIA5MOP4RHTM335X2KGX3IHOJAPP5RE34K4KZVN"
        yusdc = "GDGTVWSM4MGS4T7Z6W4RPWOCHE2I6RDFCIFZGS3DOA63LWQTRNZNTTFF"
        query = (f"/order_book?selling_asset_type=credit_alphanum4&selling_asset_code=USDC&selling_asset_issuer={usdc}"
                 f"&buying_asset_type=credit_alphanum12&buying_asset_code=yUSDC&buying_asset_issuer={yusdc}")
        with urllib.request.urlopen(url + query, timeout=30) as r:
            body = json.loads(r.read())
        assert set(body) >= {"bids", "asks", "base", "counter"}
        assert body["base"]["asset_code"] == "USDC" and body["counter"]["asset_code"] == "yUSDC"
        assert body["bids"] or body["asks"]  # the ledger placed an offer in this market
        for level in body["bids"] + body["asks"]:
            assert set(level) == {"price_r", "price", "amount"}
        proc.send_signal(signal.SIGTERM)
        t0 = time.monotonic()
        assert proc.wait(timeout=10) == 0
        assert time.monotonic() - t0 < 5
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        proc.stdout.close()
        proc.stderr.close()
