"""L2 live books: :class:`LiveBook` (an :class:`~stellar_ob.OrderBook` kept from Horizon's /order_book
stream) and its :class:`BookUpdate`.

Part of the :mod:`stellar_ob.sync` package, which re-exports the public names."""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Iterator, Literal, Optional

from stellar_ob.errors import (
    CrossedBookError,
    ParseError,
    StellarOBError,
)

from stellar_ob.sync.http import _market_name
from stellar_ob.sync.stream import Counters, Status, _Live, _Reconnect, _SSEStream

if TYPE_CHECKING:
    from fractions import Fraction  # noqa: F401 (annotations)

    import numpy as np
    import numpy.typing as npt

    from stellar_ob import BookDiff, Level, OrderBook, Quote  # noqa: F401 (annotations)
    from stellar_ob.sync.client import Horizon  # noqa: F401 (annotations)

log = logging.getLogger("stellar_ob.sync")


@dataclass(frozen=True, slots=True)
class BookUpdate:
    """One change of a live book, handed to ``updates()`` consumers and callbacks.

    ``diff`` goes from the state the consumer last saw to ``book``'s current state; when the
    consumer was slow, several changes are merged (``coalesced`` > 0 counts the extra ones) and
    ``book`` is the latest. ``received_ns``/``applied_ns`` are ``time.perf_counter_ns()`` when the
    event's last byte arrived and when the book had applied it. ``resync`` is True for the first
    event of a (re)connection (a full snapshot).
    """

    live: "LiveBook"
    diff: "BookDiff"
    book: "OrderBook"  # the live one: read it before awaiting
    received_ns: int
    applied_ns: int
    coalesced: int = 0
    resync: bool = False

    @property
    def latency_ns(self) -> int:
        """Bytes received -> book applied, in ns."""
        return self.applied_ns - self.received_ns

    @property
    def is_coalesced(self) -> bool:
        return self.coalesced > 0

    def merged(self, later: "BookUpdate") -> "BookUpdate":
        """This update followed by ``later``, as one (BookDiff.merge keeps it exact)."""
        return BookUpdate(
            self.live,
            self.diff.merge(later.diff),
            later.book,
            later.received_ns,
            later.applied_ns,
            self.coalesced + later.coalesced + 1,
            self.resync or later.resync,
        )


class LiveBook(_Live["BookUpdate"]):
    """An :class:`~stellar_ob.OrderBook` kept current from Horizon's /order_book stream.

    Read it like an OrderBook (``bids()``, ``asks()``, ``best_bid()``, ``spread()``, ``len()`` ...
    delegate to :attr:`book`); get changes with ``async for u in live.updates()`` or
    :meth:`on_update` callbacks. :attr:`status`, :attr:`confirmed_at` (wall-clock time of the last
    event or reconnect snapshot: silence is normal, Horizon sends nothing while a book is
    unchanged), :attr:`last_error` and :attr:`counters` say how it is doing.
    Created by :meth:`Horizon.watch`.
    """

    kind = "l2"  #: metrics label of L2 books

    #: Where the book stands (:class:`~stellar_ob.Status`); changes are reported to ``on_status``.
    status: Status
    #: Wall-clock time (unix seconds) of the last event or reconnect snapshot, None before the first.
    confirmed_at: float | None
    #: The last error that cost the book its connection (None if none yet).
    last_error: BaseException | None
    #: What the book has done so far (:class:`~stellar_ob.sync.Counters`).
    counters: Counters
    #: The :class:`~stellar_ob.OrderBook` the stream keeps current (read it, never change it).
    book: "OrderBook"

    def __init__(self, horizon: "Horizon", base: Any, counter: Any, depth: int) -> None:
        from stellar_ob import OrderBook

        book = OrderBook(base, counter)
        super().__init__(horizon, _market_name(book.base, book.counter), Counters())
        self.book = book
        self.base = book.base
        self.counter = book.counter
        self.depth = depth
        params = {**self.base.horizon_params("selling"), **self.counter.horizon_params("buying"),
                  "limit": str(depth)}
        self._stream = _SSEStream(self, "/order_book", params, self._apply, what=self.name)
        self._backoff = self._stream.backoff

    # ---- reading (delegated to the book) -------------------------------------------------------------
    def bids(self, depth: int | None = None) -> "list[Level]":
        return self.book.bids(depth)

    def asks(self, depth: int | None = None) -> "list[Level]":
        return self.book.asks(depth)

    def best_bid(self) -> "Optional[Level]":
        return self.book.best_bid()

    def best_ask(self) -> "Optional[Level]":
        return self.book.best_ask()

    def spread(self) -> "Optional[Fraction]":
        return self.book.spread()

    def mid(self) -> "Optional[Fraction]":
        return self.book.mid()

    def quote_buy(self, base_amount: int) -> "Quote":
        return self.book.quote_buy(base_amount)

    def quote_sell(self, base_amount: int) -> "Quote":
        return self.book.quote_sell(base_amount)

    def to_numpy(self, side: "Literal['bid', 'ask']", depth: int | None = None) -> "npt.NDArray[np.void]":
        """The book's ``side`` as a structured array (n int32, d int32, amount uint64), best first:
        :meth:`OrderBook.to_numpy <stellar_ob.OrderBook.to_numpy>` of the current state (a copy,
        made without a Python object per level; same errors for a bad side or depth)."""
        return self.book.to_numpy(side, depth)

    def copy(self) -> "OrderBook":
        """An independent :class:`~stellar_ob.OrderBook` with the current levels (it stays as it is)."""
        return self.book.copy()

    def __iter__(self) -> "Iterator[tuple[str, Level]]":
        return iter(self.book)

    def __len__(self) -> int:
        return len(self.book)

    if not TYPE_CHECKING:  # the typed surface is the methods above; at run time everything else too
        def __getattr__(self, name: str) -> Any:  # everything else an OrderBook has
            if name == "book":
                raise AttributeError(name)
            return getattr(self.book, name)

    def __repr__(self) -> str:
        return f"<LiveBook {self.name} {self.status.value} levels={len(self.book)}>"

    # ---- the stream ----------------------------------------------------------------------------------
    def _start(self) -> None:
        self._spawn(self._stream.run, "")

    def _apply(self, data: bytes, received_ns: int, resync: bool) -> None:
        try:
            diff = self.book.apply_horizon(data)
        except CrossedBookError as e:
            # Well-formed but impossible (best bid > best ask: a Horizon or proxy bug). The book keeps
            # its last state; every event is a whole book, so the next one replaces it: keep reading.
            self.counters.crossed += 1
            self._surface(e)
            return
        except (StellarOBError, ValueError, OverflowError, RecursionError) as e:
            # Bad JSON, a value out of range, totals past uint64, another market's document: the
            # book is unchanged; a fresh connection (after backoff) starts with a full snapshot.
            self.counters.parse_errors += 1
            err = e if isinstance(e, StellarOBError) else ParseError(f"{self.name}: bad /order_book event: {e!r}")
            raise _Reconnect(None, err) from None
        applied = time.perf_counter_ns()
        self.confirmed_at = time.time()
        self.confirmed_ns = applied
        self.counters.events += 1
        self._backoff.reset()
        self.status = Status.LIVE
        if not self._ready:
            self._set_loaded()
        metrics = self.horizon.metrics
        if diff:
            update = BookUpdate(self, diff, self.book, received_ns, applied, 0, resync)
            self._publish(update)
            if metrics is not None:
                metrics.update(self, update)
        elif metrics is not None:
            metrics.event(self)
        self._changed.set()
