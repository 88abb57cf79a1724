"""`stellar-ob watch --metrics-port P` as a service: /metrics, /healthz and /readyz over loopback,
readiness that follows the server going away and coming back, SIGTERM, SIGHUP (issue 20)."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request

import pytest

from stellar_ob.testing import LocalHorizon

pytest.importorskip("prometheus_client")
pytestmark = pytest.mark.network


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _get(port: int, path: str) -> tuple[int, bytes]:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=5) as r:
            return r.status, r.read()
    except urllib.error.HTTPError as e:
        return e.code, e.read()
    except (urllib.error.URLError, ConnectionError, OSError):
        return 0, b""


async def _poll(port: int, path: str, want: int, timeout: float) -> tuple[float, bytes]:
    """Seconds until ``path`` answers ``want``; fails after ``timeout``."""
    t0 = time.monotonic()
    body = b""
    while time.monotonic() - t0 < timeout:
        status, body = await asyncio.to_thread(_get, port, path)
        if status == want:
            return time.monotonic() - t0, body
        await asyncio.sleep(0.1)
    raise AssertionError(f"{path} did not answer {want} within {timeout} s; last body {body[:500]!r}")


def _spawn(*args: str) -> subprocess.Popen:
    env = dict(os.environ, STELLAR_OB_NO_UVLOOP="1")
    return subprocess.Popen([sys.executable, "-m", "stellar_ob", *args], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, env=env)


async def test_watch_metrics_port_health_readiness_and_sigterm():
    port = _free_port()
    async with LocalHorizon(markets=2, ledger_interval=0.1) as server:
        (b1, c1), (b2, c2) = server.market_assets()[:2]
        proc = _spawn("watch", str(b1), str(c1), str(b2), str(c2), "--horizon", server.url, "--plain",
                      "--metrics-port", str(port), "--max-age", "3", "--timeout", "10")
        try:
            await _poll(port, "/healthz", 200, 30)
            _, body = await _poll(port, "/readyz", 200, 30)
            doc = json.loads(body)
            assert doc["ready"] is True and doc["books"] == 2 and doc["not_ready"] == []
            status, metrics = await asyncio.to_thread(_get, port, "/metrics")
            text = metrics.decode()
            assert status == 200
            for series in ("stellar_ob_events_total", "stellar_ob_gc_pause_seconds", "stellar_ob_event_loop_lag_seconds"):
                assert series in text, series
            health = json.loads((await asyncio.to_thread(_get, port, "/healthz"))[1])
            assert health["status"] == "ok" and "loop_lag_seconds" in health

            # The server goes away: /readyz turns unready within max_age (3 s) and says why.
            t_stop = time.monotonic()
            await server.stop()
            waited, body = await _poll(port, "/readyz", 503, 10)
            assert time.monotonic() - t_stop <= 3 + 1.5
            doc = json.loads(body)
            assert doc["ready"] is False and len(doc["not_ready"]) == 2
            assert all(nr["reason"] for nr in doc["not_ready"])
            # /healthz stays healthy: the process and its loop are fine
            assert (await asyncio.to_thread(_get, port, "/healthz"))[0] == 200

            # It comes back on the same port: ready again.
            await server.start()
            await _poll(port, "/readyz", 200, 40)

            # SIGTERM: exit 0 within 2 s, every connection closed (the process is gone, and the
            # metrics port refuses connections).
            t0 = time.monotonic()
            proc.send_signal(signal.SIGTERM)
            out, err = await asyncio.to_thread(proc.communicate, timeout=10)
            assert time.monotonic() - t0 < 2.0, err
            assert proc.returncode == 0, err
            assert "Traceback" not in err
            assert "markets 2" in out
            assert (await asyncio.to_thread(_get, port, "/healthz"))[0] == 0
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.communicate()


async def test_sighup_reloads_the_markets_file(tmp_path):
    port = _free_port()
    async with LocalHorizon(markets=3, ledger_interval=0.1) as server:
        m = server.market_assets()
        f = tmp_path / "markets.txt"
        f.write_text(f"# markets\n{m[0][0]} {m[0][1]}\n")
        proc = _spawn("watch", "--markets-file", str(f), "--horizon", server.url, "--plain",
                      "--metrics-port", str(port), "--max-age", "30")
        try:
            _, body = await _poll(port, "/readyz", 200, 30)
            assert json.loads(body)["books"] == 1
            f.write_text(f"{m[1][0]} {m[1][1]}\n{m[2][0]} {m[2][1]}  # two others\n")
            proc.send_signal(signal.SIGHUP)
            t0 = time.monotonic()
            while True:
                status, body = await asyncio.to_thread(_get, port, "/readyz")
                doc = json.loads(body) if body else {}
                if status == 200 and doc.get("books") == 2:
                    break
                assert time.monotonic() - t0 < 30, doc
                await asyncio.sleep(0.1)
            # a broken file is reported and the market list kept
            f.write_text("not a market line at all\n")
            proc.send_signal(signal.SIGHUP)
            await asyncio.sleep(1.0)
            status, body = await asyncio.to_thread(_get, port, "/readyz")
            assert status == 200 and json.loads(body)["books"] == 2
            proc.send_signal(signal.SIGTERM)
            out, err = await asyncio.to_thread(proc.communicate, timeout=10)
            assert proc.returncode == 0, err
            assert "SIGHUP: reloading 2 markets" in err
            assert "not reloaded" in err and "Traceback" not in err
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.communicate()


async def test_serve_one_liner():
    from prometheus_client import CollectorRegistry

    from stellar_ob.metrics import SyncMetrics
    from stellar_ob.service import ServiceError, serve
    from stellar_ob.sync import Horizon

    registry = CollectorRegistry()
    async with LocalHorizon(markets=1, ledger_interval=0.1) as server:
        async with Horizon(server.url, metrics=SyncMetrics(registry)) as horizon:
            endpoint = await serve(horizon, 0, registry=registry)
            try:
                assert (await asyncio.to_thread(_get, endpoint.port, "/readyz"))[0] == 503  # nothing watched
                await horizon.watch(*server.market_assets()[0])
                status, body = await asyncio.to_thread(_get, endpoint.port, "/readyz")
                assert status == 200 and json.loads(body)["books"] == 1
                status, metrics = await asyncio.to_thread(_get, endpoint.port, "/metrics")
                assert b"stellar_ob_event_loop_lag_seconds" in metrics and b"stellar_ob_events_total" in metrics
                with pytest.raises(ServiceError):
                    await serve(horizon, endpoint.port, registry=CollectorRegistry())  # port taken
            finally:
                await endpoint.close()
