"""The terminal view of ``stellar-ob``: live books drawn with ``rich``, fitted to the terminal,
redrawn only when something changed, and the summary printed at the end.

What a screen holds, top to bottom: a title line (command, server, elapsed time, updates a second,
latency), then per market a status line (name, live / rate-limited until T / reconnecting and why,
mid, spread in bps, counters, age) and a table of levels: bids green, asks red, a level whose amount
changed within :data:`FLASH_SECONDS` drawn in reverse video, and a cumulative depth bar beside each
side (both sides in counter units, so the bars compare). A market still loading shows a spinner.

The screen is fitted to the console: levels a side shrink to what fits, and when even three levels
a market do not fit, the markets are shown a page at a time (the page turns every
:data:`PAGE_SECONDS`; ``--market N`` pins one). No line is wider than the console.
"""

from __future__ import annotations

import asyncio
import os
import re
import signal
import sys
import time
from fractions import Fraction
from typing import Any, Callable, Sequence

from rich.console import Console, Group, RenderableType
from rich.spinner import Spinner
from rich.table import Table
from rich.text import Text

from stellar_ob.amounts import price_string

FLASH_SECONDS = 1.0
PAGE_SECONDS = 5.0
_MIN_ROWS = 3


class _Stats:
    """Updates per second and update latency (bytes received -> book applied) percentiles."""

    def __init__(self) -> None:
        self.latencies_ns: list[int] = []
        self.count = 0
        self.started = time.monotonic()
        self.elapsed = 0.0
        self._window: list[float] = []

    def add(self, update: Any) -> None:
        self.count += 1
        self.latencies_ns.append(update.latency_ns)
        if len(self.latencies_ns) > 200_000:
            del self.latencies_ns[:100_000]
        self._window.append(time.monotonic())

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


def _fmt_amount(stroops: int) -> str:
    from stellar_ob import format_amount

    return format_amount(stroops)


def _short(asset: Any) -> str:
    return "XLM" if asset.issuer is None else asset.code


def _errors(c: Any) -> int:
    return int(c.error_events + c.parse_errors + c.connection_errors)


def explain(exc: BaseException) -> tuple[str, str]:
    """(one-line reason, hint) for an error shown to a person: no reprs of aiohttp internals."""
    from stellar_ob.errors import AssetError, HorizonError, RateLimitedError

    if isinstance(exc, AssetError):
        return (f"unknown or invalid asset: {exc}", "use XLM, native or CODE:ISSUER with a G... issuer")
    if isinstance(exc, RateLimitedError):
        return (f"rate limited by Horizon, retry in {exc.retry_after:.0f} s", "wait, or use fewer markets")
    cause: BaseException | None = exc
    while cause is not None and cause.__cause__ is not None and cause is not cause.__cause__:
        cause = cause.__cause__
    root = cause if cause is not None else exc
    text = _root_text(root)
    if isinstance(exc, HorizonError) and exc.status is None:
        head = str(exc).splitlines()[0].split(": ")[0].split(" (")[0]
        reason = head if root is exc else f"{head}: {text}"
        return (reason, "check the URL and your network, or try `stellar-ob demo`, which needs none")
    if isinstance(exc, HorizonError):
        return (str(exc).splitlines()[0][:300], "check the assets and the Horizon URL")
    if root is not exc:
        return (f"{_root_text(exc)}: {text}", "")
    return (text, "")


def _root_text(e: BaseException) -> str:
    os_error = getattr(e, "os_error", None)  # aiohttp.ClientConnectorError
    if isinstance(os_error, OSError) and os_error.strerror:
        return os_error.strerror
    if isinstance(e, OSError) and e.strerror:
        return e.strerror
    if isinstance(e, (asyncio.TimeoutError, TimeoutError)):
        return "timed out"
    s = str(e).splitlines()[0] if str(e) else type(e).__name__
    if "ConnectionKey(" in s:  # a repr of aiohttp's connector error: say what it means
        pre = s.split("ClientConnector")[0].rstrip(": ").split(": ")[-1]
        m = re.search(r"\w+Error\((\d+),", s[s.index("ConnectionKey("):])
        what = os.strerror(int(m.group(1))) if m else "cannot connect"
        s = f"{pre}: {what}" if pre else what
    return s[:200]


def _status_text(live: Any, now_wall: float) -> Text:
    from stellar_ob.sync import Status

    st = live.status
    if st is Status.LIVE:
        return Text("live", style="bold green")
    if st is Status.RATE_LIMITED:
        until = getattr(live, "rate_limited_until", None)
        when = time.strftime("%H:%M:%S", time.localtime(until)) if until else "?"
        return Text(f"rate-limited until {when}", style="bold yellow")
    if st is Status.FAILED:
        why = explain(live.last_error)[0] if live.last_error is not None else "failed"
        return Text(f"failed: {why}", style="bold red")
    if st is Status.CLOSED:
        return Text("closed", style="dim")
    why = ""
    if live.last_error is not None:
        why = ": " + explain(live.last_error)[0]
    return Text(f"reconnecting{why}", style="bold yellow")


def _mid_spread(bid: Any, ask: Any) -> tuple[str, str]:
    if bid is None or ask is None:
        return ("-", "-")
    b, a = Fraction(bid.price.n, bid.price.d), Fraction(ask.price.n, ask.price.d)
    mid = (a + b) / 2
    bps = (a - b) / mid * 10_000
    return (f"{float(mid):.7g}", f"{float(bps):.1f} bps")


class Board:
    """What the screen shows: entries (markets loading, live, or failed), what changed and when."""

    def __init__(self, title: str, rows: int, pin: int | None = None, account: str | None = None) -> None:
        self.title = title
        self.rows = rows
        self.pin = pin
        self.account = account
        self.entries: list[dict[str, Any]] = []
        self.stats = _Stats()
        self.version = 0
        self.note = ""
        self._prev: dict[tuple[int, str, tuple[int, int]], int] = {}
        self._flash: dict[tuple[int, str, tuple[int, int]], float] = {}
        self._started = time.monotonic()

    # ---- entries ------------------------------------------------------------------------------------
    def add_loading(self, name: str) -> dict[str, Any]:
        e = {"name": name, "live": None, "error": None, "spinner": Spinner("dots", text=f" loading {name}")}
        self.entries.append(e)
        self.version += 1
        return e

    def set_live(self, entry: dict[str, Any], live: Any) -> None:
        entry["live"] = live
        live.on_update(self._on_update)
        self.version += 1

    def set_error(self, entry: dict[str, Any], exc: BaseException) -> None:
        entry["error"] = exc
        self.version += 1

    def remove(self, entry: dict[str, Any]) -> None:
        if entry in self.entries:
            self.entries.remove(entry)
            self.version += 1

    def _on_update(self, update: Any) -> None:
        self.stats.add(update)
        self.version += 1

    @property
    def lives(self) -> list[Any]:
        return [e["live"] for e in self.entries if e["live"] is not None]

    def loading(self) -> bool:
        return any(e["live"] is None and e["error"] is None for e in self.entries)

    def flashing(self, now: float) -> bool:
        return any(now - t < FLASH_SECONDS for t in self._flash.values())

    def signature(self) -> tuple[Any, ...]:
        """Changes when anything on screen (other than the clock) would change."""
        return (self.version, tuple((str(l.status), l.last_error is not None) for l in self.lives))

    # ---- layout -------------------------------------------------------------------------------------
    def _layout(self, height: int) -> tuple[list[int], int, str]:
        """(indexes of the entries shown, levels a side, footer note)."""
        n = len(self.entries)
        if n == 0:
            return [], 0, ""
        avail = max(1, height - 2)  # title + footer
        if self.pin is not None and 0 <= self.pin < n:
            return [self.pin], max(1, min(self.rows, avail - 3)), f"market {self.pin + 1} of {n} (--market)"
        per = avail // n
        rows = min(self.rows, per - 3)  # status line + header + blank
        if rows >= _MIN_ROWS or (rows >= 1 and n == 1):
            return list(range(n)), rows, ""
        k = max(1, avail // (3 + _MIN_ROWS))
        k = min(k, n)
        rows = max(1, min(self.rows, avail // k - 3))
        pages = (n + k - 1) // k
        page = int((time.monotonic() - self._started) // PAGE_SECONDS) % pages
        first = page * k
        shown = list(range(first, min(n, first + k)))
        return shown, rows, f"markets {first + 1}-{shown[-1] + 1} of {n}, page {page + 1}/{pages} (turns every {PAGE_SECONDS:g} s; --market N pins one)"

    # ---- rendering ----------------------------------------------------------------------------------
    def render(self, width: int, height: int, now: float | None = None) -> RenderableType:
        now = time.monotonic() if now is None else now
        elapsed = now - self._started
        st = self.stats
        p50, p99 = st.pct(0.5), st.pct(0.99)
        lat = f"p50 {p50:,.0f} us p99 {p99:,.0f} us" if p50 is not None else "p50 - p99 -"
        title = Text.assemble((self.title, "bold cyan"), f"  {elapsed:5.1f} s  upd/s {st.rate():6.1f}  {lat}")
        title.no_wrap, title.overflow = True, "ellipsis"
        shown, rows, note = self._layout(height)
        parts: list[RenderableType] = [title]
        for i in shown:
            parts.extend(self._entry(i, rows, width, now))
        foot = " ".join(x for x in (note, self.note) if x)
        if foot:
            ft = Text(foot, style="dim")
            ft.no_wrap, ft.overflow = True, "ellipsis"
            parts.append(ft)
        return Group(*parts)

    def _entry(self, i: int, rows: int, width: int, now: float) -> list[RenderableType]:
        e = self.entries[i]
        live = e["live"]
        if e["error"] is not None:
            reason, hint = explain(e["error"])
            t = Text.assemble((f"{e['name']}  ", "bold"), (f"error: {reason}", "red"), (f"  ({hint})" if hint else "", "dim"))
            t.no_wrap, t.overflow = True, "ellipsis"
            return [t]
        if live is None:
            return [e["spinner"]]
        if hasattr(live, "pool"):
            return self._l3(i, live, rows, width, now)
        return self._l2(i, live, rows, width, now)

    def _line(self, *parts: Any) -> Text:
        t = Text.assemble(*parts)
        t.no_wrap, t.overflow = True, "ellipsis"
        return t

    def _flash_style(self, key: tuple[int, str, tuple[int, int]], amount: int, base: str, now: float) -> str:
        prev = self._prev.get(key)
        if prev is not None and prev != amount:
            self._flash[key] = now
        self._prev[key] = amount
        t = self._flash.get(key)
        return base + (" reverse" if t is not None and now - t < FLASH_SECONDS else "")

    def _l2(self, i: int, live: Any, rows: int, width: int, now: float) -> list[RenderableType]:
        c = live.counters
        age = live.age
        bids, asks = live.bids(rows), live.asks(rows)
        mid, bps = _mid_spread(bids[0] if bids else None, asks[0] if asks else None)
        head = self._line((f"{live.name} ", "bold"), _status_text(live, time.time()),
                          f"  mid {mid}  spread {bps}  lv {len(live)}  ev {c.events}  rc {c.reconnects}"
                          f"  err {_errors(c)}  age {age if age is not None else float('nan'):.1f}s")
        # cumulative depth in counter units (bids are counter already; asks base * price)
        cum_b, cum_a, sb, sa = [], [], 0.0, 0.0
        for b in bids:
            sb += b.amount
            cum_b.append(sb)
        for a in asks:
            sa += a.amount * a.price.n / a.price.d
            cum_a.append(sa)
        top = max([sb, sa, 1.0])
        bar_w = max(0, (width - 4 * 16 - 5) // 2)
        table = Table(box=None, show_header=True, header_style="dim", pad_edge=False, padding=(0, 1),
                      expand=False, show_edge=False)
        cols = []
        if bar_w >= 3:
            cols.append(("depth", "right", bar_w))
        cols += [("bid amount", "right", 16), ("bid", "right", 14), ("ask", "left", 14), ("ask amount", "left", 16)]
        if bar_w >= 3:
            cols.append(("depth", "left", bar_w))
        for name, justify, w in cols:
            table.add_column(name, justify=justify, width=w, no_wrap=True, overflow="ellipsis")  # type: ignore[arg-type]
        for r in range(rows):
            b = bids[r] if r < len(bids) else None
            a = asks[r] if r < len(asks) else None
            cells: list[Any] = []
            if b is not None:
                bs = self._flash_style((i, "bid", (b.price.n, b.price.d)), b.amount, "green", now)
                bcells = [Text(_fmt_amount(b.amount), style=bs), Text(str(b.price), style=bs)]
                bbar = Text("█" * max(1, int(bar_w * cum_b[r] / top)), style="green")
            else:
                bcells, bbar = [Text(""), Text("")], Text("")
            if a is not None:
                as_ = self._flash_style((i, "ask", (a.price.n, a.price.d)), a.amount, "red", now)
                acells = [Text(str(a.price), style=as_), Text(_fmt_amount(a.amount), style=as_)]
                abar = Text("█" * max(1, int(bar_w * cum_a[r] / top)), style="red")
            else:
                acells, abar = [Text(""), Text("")], Text("")
            if bar_w >= 3:
                cells.append(bbar)
            cells += bcells + acells
            if bar_w >= 3:
                cells.append(abar)
            table.add_row(*cells)
        return [head, table]

    def _l3(self, i: int, live: Any, rows: int, width: int, now: float) -> list[RenderableType]:
        c = live.counters
        age = live.age
        base, counter = _short(live.base), _short(live.counter)
        bids, asks = live.offers("bid", rows), live.offers("ask", rows)
        pool = live.pool
        pool_s = (f"pool {_fmt_amount(pool.reserve_a)} {base} + {_fmt_amount(pool.reserve_b)} {counter}"
                  f" fee {pool.fee_bp}bp") if pool is not None else "pool none"
        head = self._line((f"{live.name} ", "bold"), _status_text(live, time.time()),
                          f"  offers {len(live)}  ledger {live.ledger or '-'}  fills {c.fills}  repages {c.repages}"
                          f"  drift +{c.drift_added} -{c.drift_removed} ~{c.drift_changed}  rc {c.reconnects}"
                          f"  err {_errors(c)}  age {age if age is not None else float('nan'):.1f}s  {pool_s}")
        show_ids = width >= 100
        table = Table(box=None, show_header=True, header_style="dim", pad_edge=False, padding=(0, 1), show_edge=False)
        cols: list[tuple[str, str, int]] = []
        if show_ids:
            cols.append(("bid id", "right", 19))
        cols += [(f"bid amount {counter}", "right", 17), ("price", "right", 13), ("price", "left", 13), (f"ask amount {base}", "left", 17)]
        if show_ids:
            cols.append(("ask id", "left", 19))
        for name, justify, w in cols:
            table.add_column(name, justify=justify, width=w, no_wrap=True, overflow="ellipsis")  # type: ignore[arg-type]
        mine = 0
        for r in range(rows):
            b = bids[r] if r < len(bids) else None
            a = asks[r] if r < len(asks) else None
            cells: list[Any] = []
            if b is not None:
                own = self.account is not None and getattr(b, "seller", None) == self.account
                mine += own
                bs = self._flash_style((i, "bid", (b.offer_id, 0)), b.amount, "green", now) + (" underline" if own else "")
                bc = [Text(_fmt_amount(b.amount), style=bs), Text(price_string(b.d, b.n), style=bs)]
                if show_ids:
                    bc.insert(0, Text(str(b.offer_id) + ("*" if own else ""), style=bs))
            else:
                bc = [Text("")] * (3 if show_ids else 2)
            if a is not None:
                own = self.account is not None and getattr(a, "seller", None) == self.account
                mine += own
                as_ = self._flash_style((i, "ask", (a.offer_id, 0)), a.amount, "red", now) + (" underline" if own else "")
                ac = [Text(price_string(a.n, a.d), style=as_), Text(_fmt_amount(a.amount), style=as_)]
                if show_ids:
                    ac.append(Text(str(a.offer_id) + ("*" if own else ""), style=as_))
            else:
                ac = [Text("")] * (3 if show_ids else 2)
            cells = bc + ac
            table.add_row(*cells)
        out: list[RenderableType] = [head, table]
        if self.account is not None:
            out.append(self._line((f"your offers ({self.account[:6]}...): ", "dim"),
                                  _queue_positions(live, self.account)))
        return out


def _queue_positions(live: Any, account: str) -> str:
    """Queue position (1 = best) of each of ``account``'s offers, per side."""
    parts = []
    for side in ("bid", "ask"):
        pos = [k + 1 for k, o in enumerate(live.offers(side)) if getattr(o, "seller", None) == account]
        parts.append(f"{side}s at " + (", ".join(f"#{p}" for p in pos[:8]) + (" ..." if len(pos) > 8 else "") if pos else "none"))
    return "; ".join(parts)


def _plain(board: Board) -> str:
    """Plain text of the board (no colour): what is printed when stdout is not a terminal."""
    console = Console(width=120, height=60, file=_Null(), color_system=None, force_terminal=False)
    with console.capture() as cap:
        console.print(board.render(120, 60))
    return cap.get()


class _Null:
    def write(self, s: str) -> int:
        return len(s)

    def flush(self) -> None:
        pass


def _summary(lives: Sequence[Any], stats: _Stats, elapsed: float) -> str:
    p50, p99 = stats.pct(0.5), stats.pct(0.99)
    events = sum(l.counters.events for l in lives)
    reconnects = sum(l.counters.reconnects for l in lives)
    byebyes = sum(getattr(l.counters, "byebyes", 0) for l in lives)
    errors = sum(_errors(l.counters) for l in lives)
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


async def run_view(board: Board, *, duration: float | None, interactive: bool, stop: asyncio.Event,
                   console: Console | None = None, plain_every: float = 2.0) -> float:
    """Draw ``board`` until ``stop`` is set or ``duration`` seconds passed; returns the elapsed time.

    Interactive: a ``rich.live.Live`` on the alternate screen, redrawn only when the board's
    signature changed, a level's flash ends, a spinner turns, or once a second for the clock.
    Otherwise the plain text every ``plain_every`` seconds.
    """
    start = time.monotonic()

    def done() -> bool:
        return stop.is_set() or (duration is not None and time.monotonic() - start >= duration)

    async def tick(seconds: float) -> None:
        left = seconds if duration is None else min(seconds, max(0.0, duration - (time.monotonic() - start)))
        try:
            await asyncio.wait_for(stop.wait(), left)
        except asyncio.TimeoutError:
            pass

    if not interactive:
        while not done():
            sys.stdout.write(_plain(board) + "\n")
            sys.stdout.flush()
            await tick(plain_every)
        return time.monotonic() - start

    from rich.live import Live

    console = console or Console()
    last_sig: Any = None
    last_draw = 0.0
    was_flashing = False
    with Live(console=console, screen=True, auto_refresh=False, transient=True, redirect_stdout=False,
              redirect_stderr=False) as screen:
        while not done():
            now = time.monotonic()
            sig = board.signature()
            flashing = board.flashing(now)
            if (sig != last_sig or board.loading() or flashing or was_flashing or now - last_draw >= 1.0):
                screen.update(board.render(console.width, console.height, now), refresh=True)
                last_sig, last_draw, was_flashing = sig, now, flashing
            await tick(0.1)
    return time.monotonic() - start


def _install_stop(stop: asyncio.Event, extra: dict[int, Callable[[], None]] | None = None) -> None:
    loop = asyncio.get_running_loop()
    handlers: dict[int, Callable[[], None]] = {signal.SIGINT: stop.set, signal.SIGTERM: stop.set}
    handlers.update(extra or {})
    for sig, fn in handlers.items():
        try:
            loop.add_signal_handler(sig, fn)
        except (NotImplementedError, RuntimeError, ValueError):  # not the main thread / Windows
            pass
