"""The terminal view of ``stellar-ob``: live books rendered as text, refreshed in place, and the
summary printed at the end."""

from __future__ import annotations

import asyncio
import io
import signal
import sys
import time
from typing import Any, Sequence

from stellar_ob._amounts import price_string

class _Stats:
    """Updates per second and update latency (bytes received -> book applied) percentiles."""

    def __init__(self) -> None:
        self.latencies_ns: list[int] = []
        self.count = 0
        self.started = time.monotonic()
        self._window: list[float] = []

    def add(self, update: Any) -> None:
        self.count += 1
        self.latencies_ns.append(update.latency_ns)
        if len(self.latencies_ns) > 200_000:
            del self.latencies_ns[:100_000]
        now = time.monotonic()
        self._window.append(now)

    def rate(self) -> float:
        now = time.monotonic()
        self._window = [t for t in self._window if now - t <= 5.0]
        span = min(5.0, max(1e-9, now - self.started))
        return len(self._window) / span

    def pct(self, q: float) -> float | None:
        if not self.latencies_ns:
            return None
        s = sorted(self.latencies_ns)
        return s[min(len(s) - 1, int(q * len(s)))] / 1000.0  # us


def _fmt_price(p: Any) -> str:
    return str(p)


def _fmt_amount(stroops: int) -> str:
    from stellar_ob import format_amount

    return format_amount(stroops)


def _short(asset: Any) -> str:
    return "XLM" if asset.issuer is None else asset.code


def _errors(c: Any) -> int:
    return c.error_events + c.parse_errors + c.connection_errors


def _render_offers(out: io.StringIO, live: Any, rows: int) -> None:
    """One per-offer (L3) book: top offers a side (id, amount in what it sells, price in counter
    per base), the pool, fills, re-pages and the drift they corrected."""
    c = live.counters
    age = live.age
    out.write(
        f"\n{live.name:<14} {str(live.status):<12} offers {len(live):>5}  ledger {live.ledger or '-':>9}  "
        f"fills {c.fills:>5}  repages {c.repages:>4}  drift +{c.drift_added} -{c.drift_removed} ~{c.drift_changed}  "
        f"reconnects {c.reconnects:>3}  errors {_errors(c):>3}  "
        f"confirmed {age if age is not None else float('nan'):5.1f} s ago\n"
    )
    base, counter = _short(live.base), _short(live.counter)
    pool = live.pool
    if pool is not None:
        out.write(f"pool {_fmt_amount(pool.reserve_a)} {base} + {_fmt_amount(pool.reserve_b)} {counter}"
                  f"  fee {pool.fee_bp} bp\n")
    else:
        out.write("pool none\n")
    bids, asks = live.offers("bid", rows), live.offers("ask", rows)
    out.write(f"{'bid id':>20} {'bid amount ' + counter:>20} {'price':>14} | {'price':<14} "
              f"{'ask amount ' + base:<20} {'ask id':<20}\n")
    for i in range(rows):
        b = bids[i] if i < len(bids) else None
        a = asks[i] if i < len(asks) else None
        out.write(
            f"{b.offer_id if b else '':>20} {_fmt_amount(b.amount) if b else '':>20} "
            f"{price_string(b.d, b.n) if b else '':>14} | {price_string(a.n, a.d) if a else '':<14} "
            f"{_fmt_amount(a.amount) if a else '':<20} {a.offer_id if a else '':<20}\n"
        )


def _render(lives: Sequence[Any], stats: _Stats, levels: int, title: str, elapsed: float) -> str:
    out = io.StringIO()
    p50, p99 = stats.pct(0.5), stats.pct(0.99)
    lat = f"p50 {p50:,.0f} us  p99 {p99:,.0f} us" if p50 is not None else "p50 -  p99 -"
    out.write(f"{title}   {elapsed:6.1f} s   updates/s {stats.rate():7.1f}   latency {lat}\n")
    for live in lives[:4]:
        if hasattr(live, "pool"):  # a per-offer (L3) book
            _render_offers(out, live, levels)
            continue
        c = live.counters
        age = live.age
        out.write(
            f"\n{live.name:<14} {str(live.status):<12} levels {len(live):>4}  events {c.events:>6}  "
            f"reconnects {c.reconnects:>3}  errors {c.error_events + c.parse_errors + c.connection_errors:>3}  "
            f"confirmed {age if age is not None else float('nan'):5.1f} s ago\n"
        )
        bids, asks = live.bids(levels), live.asks(levels)
        spread = live.spread()
        out.write(f"{'bid amount':>20} {'bid price':>14} | {'ask price':<14} {'ask amount':<20}"
                  f"  spread {float(spread) if spread is not None else float('nan'):.7f}\n")
        for i in range(levels):
            b = bids[i] if i < len(bids) else None
            a = asks[i] if i < len(asks) else None
            out.write(
                f"{_fmt_amount(b.amount) if b else '':>20} {_fmt_price(b.price) if b else '':>14} | "
                f"{_fmt_price(a.price) if a else '':<14} {_fmt_amount(a.amount) if a else '':<20}\n"
            )
    if len(lives) > 4:
        live_n = sum(1 for l in lives if str(l.status) == "live")
        out.write(f"\n... and {len(lives) - 4} more markets ({live_n} of {len(lives)} live)\n")
    return out.getvalue()


def _summary(lives: Sequence[Any], stats: _Stats, elapsed: float) -> str:
    p50, p99 = stats.pct(0.5), stats.pct(0.99)
    events = sum(l.counters.events for l in lives)
    reconnects = sum(l.counters.reconnects for l in lives)
    errors = sum(l.counters.error_events + l.counters.parse_errors + l.counters.connection_errors for l in lives)
    lines = [
        f"markets {len(lives)}  duration {elapsed:.1f} s  updates {stats.count}  events {events}  "
        f"reconnects {reconnects}  errors {errors}",
        f"updates/s {stats.count / max(elapsed, 1e-9):.1f}  latency (received -> applied) "
        + (f"p50 {p50:,.0f} us  p99 {p99:,.0f} us" if p50 is not None else "n/a"),
    ]
    l3 = [l for l in lives if hasattr(l, "pool")]
    if l3:
        cs = [l.counters for l in l3]
        lines.append(
            f"offers {sum(len(l) for l in l3)}  fills {sum(c.fills for c in cs)}  repages {sum(c.repages for c in cs)}  "
            f"drift corrected +{sum(c.drift_added for c in cs)} -{sum(c.drift_removed for c in cs)} "
            f"~{sum(c.drift_changed for c in cs)}"
        )
    return "\n".join(lines)


async def _view(lives: list[Any], *, duration: float | None, levels: int, title: str, interactive: bool,
                stop: asyncio.Event) -> _Stats:
    stats = _Stats()
    for live in lives:
        live.on_update(stats.add)
    start = time.monotonic()
    refresh = 0.25 if interactive else 2.0
    while not stop.is_set():
        elapsed = time.monotonic() - start
        if duration is not None and elapsed >= duration:
            break
        screen = _render(lives, stats, levels, title, elapsed)
        if interactive:
            sys.stdout.write("\x1b[H\x1b[2J" + screen)
        else:
            sys.stdout.write(screen + "\n")
        sys.stdout.flush()
        try:
            await asyncio.wait_for(stop.wait(), refresh if duration is None else min(refresh, max(0.0, duration - elapsed)))
        except asyncio.TimeoutError:
            pass
    stats.elapsed = time.monotonic() - start  # type: ignore[attr-defined]
    return stats


def _install_stop(stop: asyncio.Event) -> None:
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        try:
            loop.add_signal_handler(sig, stop.set)
        except (NotImplementedError, RuntimeError, ValueError):  # not the main thread / Windows
            pass
