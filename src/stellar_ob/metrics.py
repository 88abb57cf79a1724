"""Optional Prometheus metrics for the sync layer (``pip install stellar-ob[metrics]``).

>>> from prometheus_client import CollectorRegistry
>>> from stellar_ob.sync import Horizon
>>> metrics = SyncMetrics(registry=CollectorRegistry())
>>> horizon = Horizon("http://127.0.0.1:8000", metrics=metrics)   # nothing is sent until a watch
>>> horizon.metrics is metrics
True

Every series is labelled by ``market`` and ``book``. ``market`` is the pair with full assets,
``native/USDC:GA5Z...`` (issuers included: two USDC issuers are two markets); ``book`` is ``l2``
or ``l3``, with ``#2``, ``#3`` ... appended when the same market is watched again the same way
on one :class:`SyncMetrics` (e.g. two depths). Unwatching a book removes every series it had,
and only those.

- ``stellar_ob_book_info{market, book, base, counter, name}`` (1): the assets and short name
- ``stellar_ob_update_latency_seconds`` histogram: bytes received -> book applied
- ``stellar_ob_events_total``, ``stellar_ob_updates_total``, ``stellar_ob_reconnects_total``
- ``stellar_ob_rate_limit_wait_seconds_total``, ``stellar_ob_errors_total{kind}`` (the error's
  class: ParseError, StreamError, CrossedBookError, CallbackError ...)
- ``stellar_ob_limits_exceeded_total{limit}`` (the :class:`~stellar_ob.sync.Horizon` option whose
  cap a server went past: max_line_bytes, max_event_bytes, max_body_bytes, max_offer_pages)
- ``stellar_ob_callback_seconds`` histogram: the time each update spends in the book's
  ``on_update`` callbacks, all of them together (observed only for books that have callbacks): a
  slow consumer shows here, not in ``update_latency_seconds``
- ``stellar_ob_book_age_seconds`` (since the server last confirmed the book; computed at scrape)
- ``stellar_ob_book_live`` (1 while the book's status is ``live``, else 0; computed at scrape)
- ``stellar_ob_levels{side}``
- per-offer (L3) books: ``stellar_ob_offers{side}``, ``stellar_ob_repages_total``,
  ``stellar_ob_drift_total{kind}`` (offers a re-page added, removed or changed; "pool" when the
  pool's reserves differed from what its trades said)

Books of :class:`~stellar_ob.ledger.follow.Follow` report into the same series: ``book="ledger"``
(:class:`~stellar_ob.ledger.follow.LedgerBook`, as an L2 book) and ``book="ledger_l3"``
(:class:`~stellar_ob.ledger.follow.LedgerOfferBook`): one event per ledger applied, an update (with its
latency and the offers per side) per ledger that changed the book, a repage per (re)load, and the
drift the ledger's STATE entries found (``added``, ``changed``, ``pool``).
"""

from __future__ import annotations

import time
from typing import Any

__all__ = ["SyncMetrics"]

_LATENCY_BUCKETS = (25e-6, 50e-6, 100e-6, 200e-6, 300e-6, 500e-6, 1e-3, 2e-3, 5e-3, 10e-3, 50e-3, 0.1, 1.0)


class _NoOp:
    def inc(self, *a: Any) -> None: ...
    def observe(self, *a: Any) -> None: ...
    def set(self, *a: Any) -> None: ...
    def set_function(self, *a: Any) -> None: ...


_NOOP = _NoOp()


class SyncMetrics:
    """Prometheus collectors fed by :class:`stellar_ob.sync.Horizon` (pass ``metrics=``)."""

    def __init__(self, registry: Any = None, namespace: str = "stellar_ob") -> None:
        try:
            from prometheus_client import REGISTRY, Counter, Gauge, Histogram
        except ImportError as e:  # pragma: no cover - depends on the extra
            raise ImportError("metrics need prometheus-client: pip install 'stellar-ob[metrics]'") from e
        reg = registry if registry is not None else REGISTRY
        kw = {"namespace": namespace, "registry": reg}
        m = ["market", "book"]
        self.latency = Histogram("update_latency_seconds", "Bytes received -> book applied", m,
                                 buckets=_LATENCY_BUCKETS, **kw)
        self.callback = Histogram("callback_seconds", "Time one update spends in the book's on_update callbacks", m,
                                  buckets=_LATENCY_BUCKETS, **kw)
        self.events = Counter("events", "Order book events applied", m, **kw)
        self.updates = Counter("updates", "Non-empty book changes published", m, **kw)
        self.reconnects = Counter("reconnects", "Stream reconnections", m, **kw)
        self.rate_limit_waits = Counter("rate_limit_wait_seconds", "Seconds Horizon asked us to wait (429)", m, **kw)
        self.errors = Counter("errors", "Errors surfaced, by kind", m + ["kind"], **kw)
        self.limits = Counter("limits_exceeded", "Caps a server went past, by Horizon option", m + ["limit"], **kw)
        self.book_age = Gauge("book_age_seconds", "Seconds since the server last confirmed the book", m, **kw)
        self.book_live = Gauge("book_live", "1 while the book's status is live, else 0", m, **kw)
        self.levels = Gauge("levels", "Levels per side", m + ["side"], **kw)
        self.info = Gauge("book_info", "Assets of each market label", m + ["base", "counter", "name"], **kw)
        self.offers = Gauge("offers", "Offers per side of a per-offer (L3) book", m + ["side"], **kw)
        self.repages = Counter("repages", "Re-pages of a per-offer (L3) book installed", m, **kw)
        self.drift = Counter("drift", "Offers a re-page corrected, by kind", m + ["kind"], **kw)
        self._labels: dict[int, tuple[str, str]] = {}  # id(live) -> (market, book)
        self._series: dict[int, set[tuple[Any, tuple[str, ...]]]] = {}  # id(live) -> every child it made

    # ---- labels ----------------------------------------------------------------------------------------
    def labels(self, live: Any) -> tuple[str, str] | None:
        """The (market, book) label values of a watched book (None if it is not watched)."""
        return self._labels.get(id(live))

    def _child(self, metric: Any, live: Any, *extra: str) -> Any:
        labels = self._labels.get(id(live))
        if labels is None:  # not watched (any more): a late report must not bring its series back
            return _NOOP
        values = (*labels, *extra)
        self._series[id(live)].add((metric, values))
        return metric.labels(*values)

    # ---- what the sync layer calls -----------------------------------------------------------------
    def watch(self, live: Any) -> None:
        key = id(live)
        if key not in self._labels:
            market = f"{live.base}/{live.counter}"
            kind = getattr(type(live), "kind", "l2")
            taken = set(self._labels.values())
            book, n = kind, 1
            while (market, book) in taken:
                n += 1
                book = f"{kind}#{n}"
            self._labels[key] = (market, book)
            self._series[key] = set()
        self._child(self.info, live, str(live.base), str(live.counter), live.name).set(1)

        def age() -> float:
            return float("nan") if live.confirmed_at is None else time.time() - live.confirmed_at

        self._child(self.book_age, live).set_function(age)

        def is_live() -> float:
            return 1.0 if str(live.status) == "live" else 0.0

        self._child(self.book_live, live).set_function(is_live)

    def unwatch(self, live: Any) -> None:
        """Remove every series of ``live`` (and free its labels for a later watch)."""
        key = id(live)
        for metric, values in self._series.pop(key, ()):
            try:
                metric.remove(*values)
            except KeyError:
                pass
        self._labels.pop(key, None)

    def update(self, live: Any, update: Any) -> None:
        self._child(self.latency, live).observe(update.latency_ns / 1e9)
        self._child(self.events, live).inc()
        self._child(self.updates, live).inc()
        book = live.book
        self._child(self.levels, live, "bid").set(len(book.bids()))
        self._child(self.levels, live, "ask").set(len(book.asks()))

    def callback_time(self, live: Any, seconds: float) -> None:
        """One update spent ``seconds`` in ``live``'s on_update callbacks."""
        self._child(self.callback, live).observe(seconds)

    def event(self, live: Any) -> None:
        self._child(self.events, live).inc()

    def reconnect(self, live: Any) -> None:
        self._child(self.reconnects, live).inc()

    def rate_limit_wait(self, live: Any, seconds: float) -> None:
        if seconds == seconds and 0 <= seconds < float("inf"):  # the sync layer caps waits; never count nan/inf
            self._child(self.rate_limit_waits, live).inc(seconds)

    def error(self, live: Any, kind: str) -> None:
        self._child(self.errors, live, kind).inc()

    def limit(self, live: Any, option: str) -> None:
        self._child(self.limits, live, option).inc()

    def offer_update(self, live: Any, update: Any) -> None:
        """A per-offer book published ``update`` (fills, offer changes or a pool move) without a
        re-page: what a ledger did to a :class:`~stellar_ob.ledger.follow.LedgerOfferBook`."""
        self._child(self.latency, live).observe(update.latency_ns / 1e9)
        self._child(self.events, live).inc()
        self._child(self.updates, live).inc()
        book = live.book
        for side in ("bid", "ask"):
            self._child(self.offers, live, side).set(len(book.offers(side)))

    def offer_drift(self, live: Any, drift: Any) -> None:
        """Drift found without a re-page (a ledger's STATE entries differing from the book)."""
        for kind, ids in (("added", drift.added), ("removed", drift.removed), ("changed", drift.changed)):
            if ids:
                self._child(self.drift, live, kind).inc(len(ids))
        if drift.pool:
            self._child(self.drift, live, "pool").inc()

    def offer_book(self, live: Any, drift: Any) -> None:
        """A per-offer book was re-paged; ``drift`` is what it corrected (None for the load)."""
        self._child(self.repages, live).inc()
        book = live.book
        for side in ("bid", "ask"):
            self._child(self.offers, live, side).set(len(book.offers(side)))
        if drift is not None:
            self.offer_drift(live, drift)
