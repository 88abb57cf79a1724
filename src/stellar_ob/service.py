"""Run stellar_ob as a long-lived service: ``/metrics``, ``/healthz`` and ``/readyz`` on one port,
and the runtime metrics that show what stalls a Python trading process.

:class:`ServiceEndpoint` serves, on one loopback (or any) port:

- ``GET /metrics``: the Prometheus text exposition of a registry (the
  :class:`~stellar_ob.metrics.SyncMetrics` series, the :class:`RuntimeMetrics` series, and anything
  else registered there). Needs the ``metrics`` extra; without it ``/metrics`` answers 404.
- ``GET /healthz``: the process is up and its event loop responsive. 200 with
  ``{"status": "ok", ...}``; 503 with ``"status": "unhealthy"`` when an event-loop lag above
  ``max_loop_lag`` was measured within the runtime's ``window`` (a loop blocked longer than the
  probe's timeout cannot answer at all: the probe sees that too).
- ``GET /readyz``: every watched book is :attr:`~stellar_ob.Status.LIVE` and was confirmed by the
  server within ``max_age`` seconds. 200 with ``{"ready": true, ...}``; otherwise 503 with the list
  of books that are not ready and why (status, age, last error). No book watched is not ready.

Both health bodies are JSON, so a supervisor, a load balancer or a Kubernetes probe can use the
status code and a human can read the body::

    async with Horizon(url, metrics=SyncMetrics()) as horizon, \\
            ServiceEndpoint(horizon, port=9108, runtime=RuntimeMetrics()) as endpoint:
        await horizon.watch(Asset.native(), usdc)
        ...

:class:`RuntimeMetrics` records, into Prometheus histograms:

- ``stellar_ob_gc_pause_seconds{generation}``: each garbage collection's pause, from
  ``gc.callbacks`` (start to stop of one collection), per generation 0, 1, 2;
- ``stellar_ob_event_loop_lag_seconds``: how late a periodic timer fires (every ``interval``
  seconds, 0.1 by default): the time a callback, a parse or a GC pause held the loop;
- ``stellar_ob_event_loop_lag_last_seconds`` (gauge): the last lag measured.

The alert rules in ``deploy/prometheus/alerts.yml`` use these series; the docs' service page
explains the thresholds.
"""

from __future__ import annotations

import asyncio
import collections
import gc
import json
import math
import time
from typing import Any, Callable, Iterable

from stellar_ob.errors import StellarOBError

__all__ = ["RuntimeMetrics", "ServiceEndpoint", "ServiceError", "readiness", "serve"]

# A pause of a few microseconds (a young collection) to seconds (a full one of a big heap).
_GC_BUCKETS = (1e-4, 2.5e-4, 5e-4, 1e-3, 2.5e-3, 5e-3, 1e-2, 2.5e-2, 5e-2, 0.1, 0.25, 1.0)
_LAG_BUCKETS = (1e-3, 2.5e-3, 5e-3, 1e-2, 2.5e-2, 5e-2, 0.1, 0.25, 0.5, 1.0, 2.5, 10.0)


class ServiceError(StellarOBError, ValueError):
    """A bad argument to :class:`ServiceEndpoint` or :class:`RuntimeMetrics`."""


def _positive(name: str, value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ServiceError(f"{name} must be a number of seconds, not {type(value).__name__}")
    v = float(value)
    if not math.isfinite(v) or v <= 0:
        raise ServiceError(f"{name} must be a positive, finite number of seconds, not {value!r}")
    return v


class RuntimeMetrics:
    """GC-pause and event-loop-lag histograms (``pip install stellar-ob[metrics]``).

    :meth:`start` hooks ``gc.callbacks`` and starts the lag timer on the running loop;
    :meth:`close` undoes both. ``interval`` is the lag timer's period in seconds: the lag is how
    much later than ``interval`` each tick fires (cost: one timer wakeup per interval).
    ``window``: seconds over which :meth:`recent_max_lag` (what ``/healthz`` judges) looks back.

    >>> import asyncio
    >>> from prometheus_client import CollectorRegistry
    >>> async def main():
    ...     runtime = RuntimeMetrics(registry=CollectorRegistry(), interval=0.01)
    ...     async with runtime:
    ...         await asyncio.sleep(0.05)
    ...         import gc; gc.collect()
    ...     return runtime.ticks > 0, runtime.gc_pauses[2] >= 1
    >>> asyncio.run(main())
    (True, True)
    """

    def __init__(self, registry: Any = None, namespace: str = "stellar_ob", interval: float = 0.1,
                 window: float = 10.0) -> None:
        try:
            from prometheus_client import REGISTRY, Gauge, Histogram
        except ImportError as e:  # pragma: no cover - depends on the extra
            raise ImportError("runtime metrics need prometheus-client: pip install 'stellar-ob[metrics]'") from e
        self.interval = _positive("interval", interval)
        self.window = _positive("window", window)
        reg = registry if registry is not None else REGISTRY
        kw = {"namespace": namespace, "registry": reg}
        self.gc_pause = Histogram("gc_pause_seconds", "Garbage-collection pauses, by generation", ["generation"],
                                  buckets=_GC_BUCKETS, **kw)
        self.loop_lag = Histogram("event_loop_lag_seconds", "How late a periodic event-loop timer fired",
                                  buckets=_LAG_BUCKETS, **kw)
        self.loop_lag_last = Gauge("event_loop_lag_last_seconds", "The last event-loop lag measured", **kw)
        self.last_lag: float = 0.0  #: seconds, the last lag measured (0 before the first tick)
        self.max_lag: float = 0.0  #: seconds, the largest lag measured since start
        self.ticks = 0  #: lag measurements taken
        self.gc_pauses = [0, 0, 0]  #: collections seen per generation
        # (loop time, lag) of the ticks within the window whose lag was >= 1 ms: at most
        # window / interval entries
        self._recent: collections.deque[tuple[float, float]] = collections.deque()
        self._gc_started: float | None = None
        self._task: asyncio.Task | None = None
        self._hooked = False

    # ---- garbage collection --------------------------------------------------------------------------
    def _on_gc(self, phase: str, info: dict) -> None:
        # Called by the interpreter around every collection: it must never raise.
        try:
            if phase == "start":
                self._gc_started = time.perf_counter()
            elif phase == "stop" and self._gc_started is not None:
                pause = time.perf_counter() - self._gc_started
                self._gc_started = None
                generation = info.get("generation", 2)
                if generation in (0, 1, 2):
                    self.gc_pauses[generation] += 1
                self.gc_pause.labels(str(generation)).observe(pause)
        except Exception:  # pragma: no cover - a metrics failure must not break collection
            pass

    # ---- event-loop lag ------------------------------------------------------------------------------
    async def _lag_loop(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            start = loop.time()
            await asyncio.sleep(self.interval)
            lag = max(0.0, loop.time() - start - self.interval)
            self.last_lag = lag
            self.max_lag = max(self.max_lag, lag)
            self.ticks += 1
            self.loop_lag.observe(lag)
            self.loop_lag_last.set(lag)
            now = loop.time()
            if lag >= 1e-3:
                self._recent.append((now, lag))
            while self._recent and self._recent[0][0] < now - self.window:
                self._recent.popleft()

    def recent_max_lag(self) -> float:
        """The largest event-loop lag measured in the last ``window`` seconds (0 if none)."""
        try:
            now = asyncio.get_running_loop().time()
        except RuntimeError:
            now = time.monotonic()  # asyncio's default loop clock
        return max((lag for t, lag in self._recent if t >= now - self.window), default=0.0)

    def start(self) -> None:
        """Hook GC and start the lag timer on the running event loop (idempotent)."""
        if not self._hooked:
            gc.callbacks.append(self._on_gc)
            self._hooked = True
        if self._task is None or self._task.done():
            self._task = asyncio.get_running_loop().create_task(self._lag_loop(), name="stellar_ob lag timer")

    async def close(self) -> None:
        """Unhook GC and stop the lag timer (idempotent)."""
        if self._hooked:
            try:
                gc.callbacks.remove(self._on_gc)
            except ValueError:  # pragma: no cover - removed by someone else
                pass
            self._hooked = False
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            try:
                await task
            except asyncio.CancelledError:
                pass

    async def __aenter__(self) -> "RuntimeMetrics":
        self.start()
        return self

    async def __aexit__(self, *exc: Any) -> None:
        await self.close()


def _books_of(source: Any) -> Callable[[], list]:
    """A function returning the live books of ``source``: a Horizon client (its ``books`` and
    ``offer_books``), a callable returning live books, or an iterable of them."""
    if hasattr(source, "books") and hasattr(source, "offer_books"):
        return lambda: [*source.books, *source.offer_books]
    if callable(source):
        return lambda: list(source())
    if isinstance(source, Iterable):
        fixed = list(source)
        return lambda: list(fixed)
    raise ServiceError(f"books must be a Horizon client, a callable or an iterable of live books, "
                       f"not {type(source).__name__}")


def _market(live: Any) -> str:
    base, counter = getattr(live, "base", None), getattr(live, "counter", None)
    if base is not None and counter is not None:
        return f"{base}/{counter}"
    return str(getattr(live, "name", live))


def readiness(books: Iterable[Any], max_age: float, now: float | None = None) -> tuple[bool, list[dict]]:
    """(ready, not_ready): every book LIVE and confirmed within ``max_age`` seconds.

    ``not_ready`` lists each book that is not, as a dict (``market`` with full assets, ``name``,
    ``book`` kind, ``status``, ``age_seconds`` or None, ``reason``, ``last_error`` or None). No book
    at all is not ready (``[]`` with ready False).
    """
    from stellar_ob.sync import Status

    now = time.time() if now is None else now
    books = list(books)
    not_ready = []
    for live in books:
        status = live.status
        confirmed = live.confirmed_at
        age = None if confirmed is None else max(0.0, now - confirmed)
        if status is not Status.LIVE:
            reason = f"status {status}"
            until = getattr(live, "rate_limited_until", None)
            if status is Status.RATE_LIMITED and until is not None:
                reason += f" until {time.strftime('%H:%M:%S', time.gmtime(until))} UTC"
        elif age is None:
            reason = "never confirmed by the server"
        elif age > max_age:
            reason = f"last confirmed {age:.1f} s ago (max_age {max_age:g} s)"
        else:
            continue
        err = live.last_error
        not_ready.append({
            "market": _market(live), "name": getattr(live, "name", None),
            "book": getattr(type(live), "kind", None), "status": str(status),
            "age_seconds": None if age is None else round(age, 3), "reason": reason,
            "last_error": None if err is None else f"{type(err).__name__}: {err}"[:500],
        })
    return bool(books) and not not_ready, not_ready


class ServiceEndpoint:
    """``/metrics``, ``/healthz`` and ``/readyz`` on one HTTP port (aiohttp).

    ``books``: a :class:`~stellar_ob.Horizon` client (its watched books, as they come and go), a
    callable returning live books, or an iterable of them. ``registry``: the Prometheus registry
    ``/metrics`` exposes (default: prometheus_client's global one). ``port=0`` picks a free port
    (read ``port`` after :meth:`start`). ``max_age``: seconds since the server last confirmed a
    book before ``/readyz`` calls it stale (Horizon re-sends a book at least on every reconnect,
    about once a minute: keep it above 60). ``max_loop_lag``: seconds of event-loop lag (measured
    by ``runtime``, a :class:`RuntimeMetrics` started with the endpoint) past which ``/healthz`` is
    unhealthy for the runtime's ``window``.

    >>> import asyncio, json, urllib.request
    >>> async def main():
    ...     async with ServiceEndpoint([], port=0) as endpoint:
    ...         url = f"http://127.0.0.1:{endpoint.port}/readyz"
    ...         def get():
    ...             try:
    ...                 urllib.request.urlopen(url)
    ...             except urllib.error.HTTPError as e:
    ...                 return e.code, json.loads(e.read())["ready"]
    ...         return await asyncio.to_thread(get)
    >>> asyncio.run(main())
    (503, False)
    """

    def __init__(self, books: Any, *, registry: Any = None, host: str = "127.0.0.1", port: int = 9108,
                 max_age: float = 120.0, runtime: RuntimeMetrics | None = None,
                 max_loop_lag: float = 1.0) -> None:
        self._books = _books_of(books)
        if isinstance(port, bool) or not isinstance(port, int) or not 0 <= port <= 65535:
            raise ServiceError(f"port must be an int in 0..65535, not {port!r}")
        if not isinstance(host, str) or not host:
            raise ServiceError(f"host must be a non-empty str, not {host!r}")
        if runtime is not None and not isinstance(runtime, RuntimeMetrics):
            raise ServiceError(f"runtime must be a RuntimeMetrics, not {type(runtime).__name__}")
        self.host = host
        self.port = port
        self.max_age = _positive("max_age", max_age)
        self.max_loop_lag = _positive("max_loop_lag", max_loop_lag)
        self.runtime = runtime
        self._registry = registry
        self._runner: Any = None
        self._started_at = time.time()

    # ---- handlers ------------------------------------------------------------------------------------
    async def _metrics(self, request: Any) -> Any:
        from aiohttp import web

        try:
            from prometheus_client import REGISTRY, generate_latest
            from prometheus_client.exposition import CONTENT_TYPE_LATEST
        except ImportError:
            return web.Response(status=404, text="metrics need prometheus-client: pip install 'stellar-ob[metrics]'\n")
        body = generate_latest(self._registry if self._registry is not None else REGISTRY)
        return web.Response(body=body, headers={"Content-Type": CONTENT_TYPE_LATEST})

    def health(self) -> tuple[int, dict]:
        """(HTTP status, body) of ``/healthz``."""
        body: dict[str, Any] = {"status": "ok", "uptime_seconds": round(time.time() - self._started_at, 3)}
        if self.runtime is not None:
            lag = self.runtime.recent_max_lag()
            body["loop_lag_seconds"] = round(self.runtime.last_lag, 6)
            body["loop_lag_max_recent_seconds"] = round(lag, 6)
            if lag > self.max_loop_lag:
                body["status"] = "unhealthy"
                body["reason"] = (f"event loop lag {lag:.3f} s within the last {self.runtime.window:g} s "
                                  f"> max_loop_lag {self.max_loop_lag:g} s")
                return 503, body
        return 200, body

    def ready(self) -> tuple[int, dict]:
        """(HTTP status, body) of ``/readyz``."""
        books = self._books()
        ok, not_ready = readiness(books, self.max_age)
        body: dict[str, Any] = {"ready": ok, "books": len(books), "max_age_seconds": self.max_age,
                                "not_ready": not_ready}
        if not books:
            body["reason"] = "no book is watched"
        return (200 if ok else 503), body

    async def _healthz(self, request: Any) -> Any:
        from aiohttp import web

        status, body = self.health()
        return web.json_response(body, status=status, dumps=lambda o: json.dumps(o, sort_keys=True))

    async def _readyz(self, request: Any) -> Any:
        from aiohttp import web

        status, body = self.ready()
        return web.json_response(body, status=status, dumps=lambda o: json.dumps(o, sort_keys=True))

    # ---- lifecycle -----------------------------------------------------------------------------------
    async def start(self) -> "ServiceEndpoint":
        """Bind and serve (and start ``runtime``). Raises :class:`ServiceError` if the port is taken."""
        from aiohttp import web

        if self._runner is not None:
            return self
        app = web.Application()
        app.router.add_get("/metrics", self._metrics)
        app.router.add_get("/healthz", self._healthz)
        app.router.add_get("/readyz", self._readyz)
        runner = web.AppRunner(app, access_log=None, handle_signals=False)
        await runner.setup()
        site = web.TCPSite(runner, self.host, self.port)
        try:
            await site.start()
        except OSError as e:
            await runner.cleanup()
            raise ServiceError(f"cannot serve on {self.host}:{self.port}: {e.strerror or e}") from e
        sockets = getattr(site._server, "sockets", None) or []
        if sockets:
            self.port = sockets[0].getsockname()[1]
        self._runner = runner
        self._started_at = time.time()
        if self.runtime is not None:
            self.runtime.start()
        return self

    async def close(self) -> None:
        """Stop serving (and stop ``runtime``); idempotent."""
        runner, self._runner = self._runner, None
        if runner is not None:
            await runner.cleanup()
        if self.runtime is not None:
            await self.runtime.close()

    async def __aenter__(self) -> "ServiceEndpoint":
        return await self.start()

    async def __aexit__(self, *exc: Any) -> None:
        await self.close()


async def serve(horizon: Any, port: int = 9108, *, host: str = "127.0.0.1", max_age: float = 120.0,
                registry: Any = None) -> ServiceEndpoint:
    """One line to serve ``/metrics``, ``/healthz`` and ``/readyz`` for a Horizon client.

    Starts and returns a :class:`ServiceEndpoint` over ``horizon``'s watched books with a started
    :class:`RuntimeMetrics` (GC pauses, event-loop lag) in ``registry`` (prometheus_client's global
    one by default; pass ``Horizon(url, metrics=SyncMetrics(registry))`` with the same registry for
    the sync series). ``await endpoint.close()`` when done (it also stops the runtime metrics)::

        async with Horizon(url, metrics=True) as horizon:
            endpoint = await serve(horizon, 9108)
            await horizon.watch("XLM", usdc)
            ...
            await endpoint.close()

    Raises :class:`ServiceError` for a bad argument or a port that is taken.
    """
    runtime = RuntimeMetrics(registry=registry)
    endpoint = ServiceEndpoint(horizon, registry=registry, host=host, port=port, max_age=max_age, runtime=runtime)
    return await endpoint.start()
