"""Optional Prometheus metrics for the sync layer (``pip install stellar-ob[metrics]``).

>>> from prometheus_client import CollectorRegistry            # doctest: +SKIP
>>> metrics = SyncMetrics(registry=CollectorRegistry())          # doctest: +SKIP
>>> horizon = Horizon(url, metrics=metrics)                      # doctest: +SKIP

Every series is labelled by ``market`` (e.g. ``XLM/USD``; the full assets are in ``base`` /
``counter`` of ``stellar_ob_book_info``):

- ``stellar_ob_update_latency_seconds`` histogram: bytes received -> book applied
- ``stellar_ob_events_total``, ``stellar_ob_updates_total``, ``stellar_ob_reconnects_total``
- ``stellar_ob_rate_limit_wait_seconds_total``, ``stellar_ob_errors_total{kind}``
- ``stellar_ob_book_age_seconds`` (since the server last confirmed the book; computed at scrape)
- ``stellar_ob_levels{side}``
- per-offer (L3) books: ``stellar_ob_offers{side}``, ``stellar_ob_repages_total``,
  ``stellar_ob_drift_total{kind}`` (offers a re-page added, removed or changed; "pool" when the
  pool's reserves differed from what its trades said)
"""

from __future__ import annotations

import time
from typing import Any

__all__ = ["SyncMetrics"]

_LATENCY_BUCKETS = (25e-6, 50e-6, 100e-6, 200e-6, 300e-6, 500e-6, 1e-3, 2e-3, 5e-3, 10e-3, 50e-3, 0.1, 1.0)


class SyncMetrics:
    """Prometheus collectors fed by :class:`stellar_ob.sync.Horizon` (pass ``metrics=``)."""

    def __init__(self, registry: Any = None, namespace: str = "stellar_ob") -> None:
        try:
            from prometheus_client import REGISTRY, Counter, Gauge, Histogram
        except ImportError as e:  # pragma: no cover - depends on the extra
            raise ImportError("metrics need prometheus-client: pip install 'stellar-ob[metrics]'") from e
        reg = registry if registry is not None else REGISTRY
        kw = {"namespace": namespace, "registry": reg}
        self.latency = Histogram("update_latency_seconds", "Bytes received -> book applied", ["market"],
                                 buckets=_LATENCY_BUCKETS, **kw)
        self.events = Counter("events", "Order book events applied", ["market"], **kw)
        self.updates = Counter("updates", "Non-empty book changes published", ["market"], **kw)
        self.reconnects = Counter("reconnects", "Stream reconnections", ["market"], **kw)
        self.rate_limit_waits = Counter("rate_limit_wait_seconds", "Seconds Horizon asked us to wait (429)",
                                        ["market"], **kw)
        self.errors = Counter("errors", "Errors surfaced, by kind", ["market", "kind"], **kw)
        self.book_age = Gauge("book_age_seconds", "Seconds since the server last confirmed the book",
                              ["market"], **kw)
        self.levels = Gauge("levels", "Levels per side", ["market", "side"], **kw)
        self.info = Gauge("book_info", "Assets of each market label", ["market", "base", "counter"], **kw)
        self.offers = Gauge("offers", "Offers per side of a per-offer (L3) book", ["market", "side"], **kw)
        self.repages = Counter("repages", "Re-pages of a per-offer (L3) book installed", ["market"], **kw)
        self.drift = Counter("drift", "Offers a re-page corrected, by kind", ["market", "kind"], **kw)

    def watch(self, live: Any) -> None:
        self.info.labels(live.name, str(live.base), str(live.counter)).set(1)

        def age() -> float:
            return float("nan") if live.confirmed_at is None else time.time() - live.confirmed_at

        self.book_age.labels(live.name).set_function(age)

    def unwatch(self, live: Any) -> None:
        for metric, labels in ((self.info, (live.name, str(live.base), str(live.counter))),
                               (self.book_age, (live.name,)), (self.levels, (live.name, "bid")),
                               (self.levels, (live.name, "ask")), (self.offers, (live.name, "bid")),
                               (self.offers, (live.name, "ask"))):
            try:
                metric.remove(*labels)
            except KeyError:
                pass

    def update(self, live: Any, update: Any) -> None:
        name = live.name
        self.latency.labels(name).observe(update.latency_ns / 1e9)
        self.events.labels(name).inc()
        self.updates.labels(name).inc()
        book = live.book
        self.levels.labels(name, "bid").set(len(book.bids()))
        self.levels.labels(name, "ask").set(len(book.asks()))

    def event(self, live: Any) -> None:
        self.events.labels(live.name).inc()

    def reconnect(self, live: Any) -> None:
        self.reconnects.labels(live.name).inc()

    def rate_limit_wait(self, live: Any, seconds: float) -> None:
        self.rate_limit_waits.labels(live.name).inc(seconds)

    def error(self, live: Any, kind: str) -> None:
        self.errors.labels(live.name, kind).inc()

    def offer_book(self, live: Any, drift: Any) -> None:
        """A per-offer book was re-paged; ``drift`` is what it corrected (None for the load)."""
        name = live.name
        self.repages.labels(name).inc()
        book = live.book
        for side in ("bid", "ask"):
            self.offers.labels(name, side).set(len(book.offers(side)))
        if drift is not None:
            for kind, ids in (("added", drift.added), ("removed", drift.removed), ("changed", drift.changed)):
                if ids:
                    self.drift.labels(name, kind).inc(len(ids))
            if drift.pool:
                self.drift.labels(name, "pool").inc()
