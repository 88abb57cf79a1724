""":class:`LiveTrades`: a market's trades as they happen, from Horizon's /trades stream.

Part of the :mod:`stellar_ob.sync` package, which re-exports the public names.

The stream starts at ``cursor=now`` and, after any reconnect, resumes from the paging token of the
last trade received (``Last-Event-ID``), so no trade is lost or repeated across reconnects (a
trade older than the last one received is dropped and counted). Every event is read by the strict
parser (:func:`stellar_ob.horizon.parse_trades`) into a :class:`stellar_ob.horizon.Trade`; a trade
of another pair, or one the parser refuses, drops the connection and is counted (``parse_errors``),
and the stream resumes from the last good trade. The connection is the same bounded, backed-off
SSE loop as a live book's (caps, deadlines, rate budget, health probe, counters, metrics).
"""

from __future__ import annotations

import time
from collections import deque
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from stellar_ob.errors import AssetMismatchError, ParseError, StellarOBError

from stellar_ob.sync.http import _TRADE_TOKEN, _market_name
from stellar_ob.sync.stream import Counters, Status, _Live, _Reconnect, _SSEStream

if TYPE_CHECKING:
    import stellar_ob.horizon  # noqa: F401 (annotations)
    from stellar_ob.sync.client import Horizon  # noqa: F401 (annotations)

_MERGED_CAP = 10_000  # trades one pending update of a slow updates() consumer keeps (older ones: dropped)


def _token_key(token: Any) -> tuple[int, int] | None:
    """(operation toid, index) of a /trades paging token, the order Horizon sends trades in."""
    m = _TRADE_TOKEN.fullmatch(token) if isinstance(token, str) else None
    if m is None:
        return None
    toid, index = int(m.group(1)), int(m.group(2))
    return (toid, index) if toid < 2**63 else None


def _valid_trade_id(event_id: str) -> bool:
    return _token_key(event_id) is not None


@dataclass(frozen=True)
class TradesUpdate:
    """New trades of a :class:`LiveTrades`, oldest first. ``received_ns`` / ``applied_ns``
    (``time.perf_counter_ns()``) of the latest; ``dropped``: trades a slow ``updates()`` consumer
    missed because more than 10,000 piled up (0 for callbacks, which see every trade)."""

    trades: tuple[stellar_ob.horizon.Trade, ...]
    received_ns: int
    applied_ns: int
    dropped: int = 0
    coalesced: int = 0

    @property
    def latency_ns(self) -> int:
        return self.applied_ns - self.received_ns

    def merged(self, later: "TradesUpdate") -> "TradesUpdate":
        trades = self.trades + later.trades
        dropped = self.dropped + later.dropped
        if len(trades) > _MERGED_CAP:
            dropped += len(trades) - _MERGED_CAP
            trades = trades[-_MERGED_CAP:]
        return TradesUpdate(trades, later.received_ns, later.applied_ns, dropped, self.coalesced + later.coalesced + 1)


@dataclass
class TradeCounters(Counters):
    """:class:`Counters` of a trades stream, plus the trades themselves."""

    trades: int = 0  #: trades received and published
    duplicates: int = 0  #: trades at or before the last one received (a replay after a reconnect; dropped)


class LiveTrades(_Live["TradesUpdate"]):
    """The trades of one market as Horizon reports them, live. Created by :meth:`Horizon.watch_trades`.

    ``last`` (the latest :class:`~stellar_ob.horizon.Trade`), ``recent`` (the last
    ``history`` trades, oldest first), ``last_paging_token``; ``updates()`` yields
    :class:`TradesUpdate`, ``on_update(callback)`` gets each one as it arrives. Status, counters,
    errors and ``close()`` as for :class:`LiveBook` (``loaded`` once the stream is open: a trades
    stream has nothing to load); ``wait_for(predicate)`` calls ``predicate(live.recent)``.
    """

    kind = "trades"  #: metrics label

    def __init__(self, horizon: "Horizon", base: Any, counter: Any, *, stream_limit: int = 200,
                 history: int = 1000) -> None:
        from stellar_ob import Asset

        b, c = Asset.parse(base), Asset.parse(counter)
        super().__init__(horizon, _market_name(b, c) + " trades", TradeCounters())
        self.counters: TradeCounters
        self.base = b
        self.counter = c
        self.recent: deque = deque(maxlen=history)
        self.book = self.recent  # what wait_for(predicate) is given: the recent trades
        self.last_paging_token: str | None = None
        self._last_key: tuple[int, int] | None = None
        params = {**b.horizon_params("base"), **c.horizon_params("counter"), "limit": str(stream_limit)}
        self._stream = _SSEStream(self, "/trades", params, self._on_trade, what=self.name, page=True,
                                  on_open=self._opened, valid_id=_valid_trade_id)

    @property
    def last(self) -> Any:
        """The latest trade received (None before the first)."""
        return self.recent[-1] if self.recent else None

    def __repr__(self) -> str:
        return f"<LiveTrades {self.name} {self.status.value} trades={self.counters.trades}>"

    def _start(self) -> None:
        self._spawn(self._stream.run, "/trades")

    def _opened(self, stream: _SSEStream) -> None:
        self.status = Status.LIVE
        self._confirm(time.perf_counter_ns())
        if not self._ready:
            self._set_loaded()
        self._changed.set()

    def _on_trade(self, data: bytes, received_ns: int, first: bool) -> None:
        from stellar_ob.horizon import parse_trades

        c = self.counters
        try:
            trades = parse_trades(data)
            if len(trades) != 1:
                raise ParseError(f"{self.name}: a /trades event holds one trade, this one {len(trades)}")
            t = trades[0]
            if {t.base_asset, t.counter_asset} != {self.base, self.counter}:
                raise AssetMismatchError(f"{self.name}: /trades sent a trade of {t.base_asset}/{t.counter_asset}")
            key = _token_key(t.paging_token)
            if key is None:
                raise ParseError(f"{self.name}: trade paging_token {t.paging_token[:40]!r} is not "
                                 "<operation id>-<index>")
        except (StellarOBError, ValueError, OverflowError, RecursionError) as e:
            c.parse_errors += 1
            err = e if isinstance(e, StellarOBError) else ParseError(f"{self.name}: not a Horizon trade: {e!r}")
            raise _Reconnect(None, err) from None
        applied = time.perf_counter_ns()
        c.events += 1
        self._confirm(applied)
        self.status = Status.LIVE
        self._stream.backoff.reset()
        if self._last_key is not None and key <= self._last_key:
            c.duplicates += 1
        else:
            self._last_key = key
            self.last_paging_token = t.paging_token
            self.recent.append(t)
            c.trades += 1
            self._publish(TradesUpdate((t,), received_ns, applied))
        metrics = self.horizon.metrics
        if metrics is not None:
            metrics.event(self)
        self._changed.set()

