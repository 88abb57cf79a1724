"""stellar_ob.service: /metrics, /healthz, /readyz, the runtime metrics, and the alert rules."""

from __future__ import annotations

import asyncio
import gc
import os
import re
import shutil
import socket
import subprocess
import time
from pathlib import Path

import aiohttp
import pytest

from stellar_ob.service import RuntimeMetrics, ServiceEndpoint, ServiceError, readiness
from stellar_ob.sync import Horizon, Status
from stellar_ob.testing import LocalHorizon

prometheus_client = pytest.importorskip("prometheus_client")
pytestmark = pytest.mark.network

ROOT = Path(__file__).resolve().parents[1]
RULES = ROOT / "deploy" / "prometheus" / "alerts.yml"


async def _get(http: aiohttp.ClientSession, url: str) -> tuple[int, object]:
    async with http.get(url) as r:
        if r.content_type == "application/json":
            return r.status, await r.json()
        return r.status, await r.text()


async def _until(predicate, timeout: float = 30.0) -> None:
    """Poll ``predicate`` (an async callable) until it is true; fail after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while not await predicate():
        if time.monotonic() > deadline:
            raise AssertionError("condition not reached in time")
        await asyncio.sleep(0.02)


async def test_endpoint_follows_the_books_through_an_outage():
    """Ready while every book is live and fresh; unready (with the reason per book) once the
    server is gone for longer than max_age; ready again when it is back."""
    registry = prometheus_client.CollectorRegistry()
    from stellar_ob.metrics import SyncMetrics

    metrics = SyncMetrics(registry=registry)
    runtime = RuntimeMetrics(registry=registry, interval=0.02)
    async with LocalHorizon(markets=2, ledger_interval=0.05) as server:
        async with Horizon(server.url, metrics=metrics, min_reconnect_interval=0.05, backoff_cap=0.2) as h, \
                ServiceEndpoint(h, registry=registry, port=0, max_age=0.5, runtime=runtime) as endpoint, \
                aiohttp.ClientSession() as http:
            base_url = f"http://127.0.0.1:{endpoint.port}"
            status, body = await _get(http, base_url + "/readyz")
            assert status == 503 and body["books"] == 0 and body["reason"] == "no book is watched"

            books = [await h.watch(b, c, depth=5) for b, c in server.market_assets()]
            status, body = await _get(http, base_url + "/readyz")
            assert status == 200, body
            assert body["ready"] is True and body["books"] == 2 and body["not_ready"] == []

            status, body = await _get(http, base_url + "/healthz")
            assert status == 200 and body["status"] == "ok" and body["loop_lag_seconds"] >= 0

            await _until(lambda: asyncio.sleep(0, runtime.ticks >= 3))
            gc.collect()
            status, text = await _get(http, base_url + "/metrics")
            assert status == 200
            for name in ("stellar_ob_book_live", "stellar_ob_book_age_seconds", "stellar_ob_event_loop_lag_seconds_bucket",
                         'stellar_ob_gc_pause_seconds_count{generation="2"}'):
                assert name in text, name
            market = f"{books[0].base}/{books[0].counter}"
            assert f'stellar_ob_book_live{{book="l2",market="{market}"}} 1.0' in text

            server.pause()  # no ledger closes: the stream stays open but nothing confirms the book
            await server.stop()

            async def unready() -> bool:
                s, b = await _get(http, base_url + "/readyz")
                return s == 503 and len(b["not_ready"]) == 2

            await _until(unready)
            status, body = await _get(http, base_url + "/readyz")
            markets = {entry["market"] for entry in body["not_ready"]}
            assert markets == {f"{b.base}/{b.counter}" for b in books}
            for entry in body["not_ready"]:
                assert entry["book"] == "l2" and entry["reason"]
            for live in books:  # the gauge follows the status, read at the same moment
                labels = {"market": f"{live.base}/{live.counter}", "book": "l2"}
                expected = 1.0 if live.status is Status.LIVE else 0.0
                assert registry.get_sample_value("stellar_ob_book_live", labels) == expected

            await server.start()
            server.resume(0.05)

            async def ready() -> bool:
                s, _ = await _get(http, base_url + "/readyz")
                return s == 200

            await _until(ready)
            assert all(b.status is Status.LIVE for b in books)


async def test_healthz_is_unhealthy_while_the_loop_was_blocked():
    """Blocking the loop for 1 s makes /healthz unhealthy (whatever the machine's load: the lag is at
    least the block); once the window has passed with a responsive loop it is healthy again."""
    runtime = RuntimeMetrics(registry=prometheus_client.CollectorRegistry(), interval=0.01, window=0.5)
    async with ServiceEndpoint([], port=0, runtime=runtime, max_loop_lag=0.5) as endpoint:
        await _until(lambda: asyncio.sleep(0, runtime.ticks >= 2))
        ticks = runtime.ticks
        time.sleep(1.0)  # hold the loop, as a slow callback would
        await _until(lambda: asyncio.sleep(0, runtime.ticks > ticks))
        status, body = endpoint.health()
        assert status == 503 and body["status"] == "unhealthy"
        assert runtime.recent_max_lag() >= 0.9 and runtime.max_lag >= 0.9
        assert body["loop_lag_max_recent_seconds"] >= 0.9 and "max_loop_lag" in body["reason"]
        await _until(lambda: asyncio.sleep(0, endpoint.health()[0] == 200), timeout=60)
        assert runtime.recent_max_lag() <= 0.5
    assert runtime._task is None and runtime._on_gc not in gc.callbacks


async def test_runtime_metrics_count_gc_pauses_per_generation():
    registry = prometheus_client.CollectorRegistry()
    runtime = RuntimeMetrics(registry=registry)
    async with runtime:
        before = list(runtime.gc_pauses)
        gc.collect(0)
        gc.collect(2)
        assert runtime.gc_pauses[0] >= before[0] + 1 and runtime.gc_pauses[2] >= before[2] + 1
        count = registry.get_sample_value("stellar_ob_gc_pause_seconds_count", {"generation": "2"})
        assert count >= 1
        assert registry.get_sample_value("stellar_ob_gc_pause_seconds_sum", {"generation": "2"}) > 0
    n = runtime.gc_pauses[2]
    gc.collect(2)
    assert runtime.gc_pauses[2] == n  # unhooked on close


def test_readiness_reasons():
    class Fake:
        kind = "l3"

        def __init__(self, status, confirmed_at, err=None):
            self.status, self.confirmed_at, self.last_error = status, confirmed_at, err
            self.base, self.counter, self.name = "native", "USD:GA", "XLM/USD"
            self.rate_limited_until = 1_000_000.0 if status is Status.RATE_LIMITED else None

    now = 1_000_000.0
    ok, not_ready = readiness([Fake(Status.LIVE, now - 1)], max_age=5, now=now)
    assert ok and not_ready == []
    books = [Fake(Status.LIVE, now - 10), Fake(Status.LIVE, None), Fake(Status.RATE_LIMITED, now),
             Fake(Status.FAILED, now, ValueError("bad asset"))]
    ok, not_ready = readiness(books, max_age=5, now=now)
    assert not ok
    reasons = [e["reason"] for e in not_ready]
    assert reasons[0] == "last confirmed 10.0 s ago (max_age 5 s)"
    assert reasons[1] == "never confirmed by the server"
    assert reasons[2].startswith("status rate limited until ")
    assert reasons[3] == "status failed" and not_ready[3]["last_error"] == "ValueError: bad asset"
    assert all(e["market"] == "native/USD:GA" and e["book"] == "l3" for e in not_ready)
    assert readiness([], max_age=5) == (False, [])


@pytest.mark.parametrize("kw", [
    {"port": -1}, {"port": 70000}, {"port": "9108"}, {"port": True}, {"host": ""},
    {"max_age": 0}, {"max_age": float("nan")}, {"max_age": "60"}, {"max_loop_lag": -1},
    {"runtime": object()},
])
def test_bad_endpoint_arguments(kw):
    with pytest.raises(ServiceError):
        ServiceEndpoint([], **kw)


def test_bad_books_source():
    with pytest.raises(ServiceError):
        ServiceEndpoint(42)


@pytest.mark.parametrize("value", [0, -0.1, float("inf"), "0.1", None])
@pytest.mark.parametrize("name", ["interval", "window"])
def test_bad_runtime_arguments(name, value):
    with pytest.raises(ServiceError):
        RuntimeMetrics(registry=prometheus_client.CollectorRegistry(), **{name: value})


async def test_a_taken_port_is_a_clear_error():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen()
        with pytest.raises(ServiceError, match="cannot serve on 127.0.0.1"):
            await ServiceEndpoint([], port=s.getsockname()[1]).start()


# ---- the alert rules ---------------------------------------------------------------------------------

def _exported_names() -> set[str]:
    """Every sample name our exporters can produce (a counter's ``_total``, a histogram's
    ``_bucket``/``_count``/``_sum``), from the collectors they register."""
    from stellar_ob.metrics import SyncMetrics

    registry = prometheus_client.CollectorRegistry()
    SyncMetrics(registry=registry)
    RuntimeMetrics(registry=registry)
    names = set()
    for family in registry.collect():
        names.add(family.name)
        if family.type == "counter":
            names.add(family.name + "_total")
        if family.type == "histogram":
            names |= {family.name + suffix for suffix in ("_bucket", "_count", "_sum")}
    return names


def test_every_series_an_alert_names_is_exported():
    yaml = pytest.importorskip("yaml")
    doc = yaml.safe_load(RULES.read_text())
    rules = [r for group in doc["groups"] for r in group["rules"]]
    assert len(rules) >= 8
    names = {m for r in rules for m in re.findall(r"\bstellar_ob_[a-z_]+", r["expr"])}
    exported = _exported_names()
    assert names and names <= exported, sorted(names - exported)
    for r in rules:
        assert r["alert"].startswith("StellarOb") and r["labels"]["severity"] in {"info", "warning", "critical"}
        assert r["annotations"]["summary"]


@pytest.mark.skipif(shutil.which("promtool") is None and os.environ.get("STELLAR_OB_REQUIRE_PROMTOOL") != "1",
                    reason="promtool not installed (Debian: apt-get install prometheus)")
def test_promtool_checks_and_fires_every_rule():
    """promtool validates the rules and runs alerts_test.yml: each alert fires on the series that
    should fire it, with its labels and annotations, and stays quiet on healthy ones."""
    promtool = shutil.which("promtool")
    assert promtool, "STELLAR_OB_REQUIRE_PROMTOOL=1 but promtool is not installed"
    check = subprocess.run([promtool, "check", "rules", str(RULES)], capture_output=True, text=True, timeout=60)
    assert check.returncode == 0, check.stdout + check.stderr
    test = subprocess.run([promtool, "test", "rules", str(RULES.parent / "alerts_test.yml")],
                          capture_output=True, text=True, timeout=120)
    assert test.returncode == 0, test.stdout + test.stderr
    tested = set(re.findall(r"alertname: (\w+)", (RULES.parent / "alerts_test.yml").read_text()))
    defined = set(re.findall(r"- alert: (\w+)", RULES.read_text()))
    assert tested == defined, f"alerts without a promtool test: {sorted(defined - tested)}"


# ---- the Grafana dashboard ---------------------------------------------------------------------------

DASHBOARD = ROOT / "deploy" / "grafana" / "stellar-ob.json"


def _dashboard_exprs() -> list[str]:
    import json

    doc = json.loads(DASHBOARD.read_text())
    exprs = [t["expr"] for p in doc["panels"] for t in p["targets"]]
    exprs += [v["definition"] for v in doc["templating"]["list"] if v.get("type") == "query"]
    return exprs


def test_dashboard_names_only_exported_series():
    import json

    doc = json.loads(DASHBOARD.read_text())
    exprs = _dashboard_exprs()
    assert len(doc["panels"]) >= 10 and len(exprs) >= 15
    names = {m for e in exprs for m in re.findall(r"\bstellar_ob_[a-z_]+", e)}
    exported = _exported_names()
    assert names <= exported, sorted(names - exported)
    # every metric family the sync and runtime exporters register is on the dashboard
    from stellar_ob.metrics import SyncMetrics

    registry = prometheus_client.CollectorRegistry()
    SyncMetrics(registry=registry)
    RuntimeMetrics(registry=registry)
    families = {family.name for family in registry.collect()}
    missing = {f for f in families if not any(m == f or m.startswith(f + "_") for m in names)}
    assert not missing, f"metrics not on the dashboard: {sorted(missing)}"
    ids = [p["id"] for p in doc["panels"]]
    assert len(ids) == len(set(ids))
    for p in doc["panels"]:
        assert {"x", "y", "w", "h"} <= set(p["gridPos"]) and p["targets"]


@pytest.mark.skipif(shutil.which("promtool") is None and os.environ.get("STELLAR_OB_REQUIRE_PROMTOOL") != "1",
                    reason="promtool not installed (Debian: apt-get install prometheus)")
def test_dashboard_queries_are_valid_promql(tmp_path):
    """promtool parses every panel query (as recording rules: `check rules` parses their PromQL)."""
    import json

    promtool = shutil.which("promtool")
    assert promtool, "STELLAR_OB_REQUIRE_PROMTOOL=1 but promtool is not installed"
    rules = [{"record": f"dashboard:query_{i}", "expr": e.replace("$market", ".*")}
             for i, e in enumerate(q for q in _dashboard_exprs() if not q.startswith("label_values"))]
    path = tmp_path / "dashboard_rules.yml"
    path.write_text(json.dumps({"groups": [{"name": "dashboard", "rules": rules}]}))
    check = subprocess.run([promtool, "check", "rules", str(path)], capture_output=True, text=True, timeout=60)
    assert check.returncode == 0, check.stdout + check.stderr
    assert f"SUCCESS: {len(rules)} rules found" in check.stdout
