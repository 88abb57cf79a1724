"""The ``stellar-ob`` command: a live terminal view of Stellar DEX books, a local Horizon, snapshots.

::

    stellar-ob demo [--markets N] [--duration S] [--l3]   # offline: local Horizon + simulated market
    stellar-ob watch XLM USDC:GA5Z... [--horizon URL] [--depth N] [--l3]
    stellar-ob snapshot XLM USDC:GA5Z... [--format json|csv]
    stellar-ob serve [--port P] [--markets N] [--ledger-interval S]

Errors a person can act on (unknown asset, no route to Horizon, rate limited) are printed as one
line and exit with status 2; Ctrl-C exits cleanly with status 0.
"""

from __future__ import annotations

import argparse
import asyncio
import csv
import io
import json
import os
import signal
import sys
import time
from typing import Any, Sequence

from stellar_ob._amounts import price_string

__all__ = ["main"]

EXIT_OK = 0
EXIT_ERROR = 2


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


def _interactive(args: argparse.Namespace) -> bool:
    return sys.stdout.isatty() and not getattr(args, "plain", False)


async def _demo(args: argparse.Namespace) -> int:
    from stellar_ob.sync import Horizon
    from stellar_ob.testing import LocalHorizon

    stop = asyncio.Event()
    _install_stop(stop)
    async with LocalHorizon(markets=args.markets, seed=args.seed, ledger_interval=args.ledger_interval,
                            levels=args.levels) as server:
        async with Horizon(server.url) as horizon:
            lives: list[Any]
            if args.l3:
                lives = list(await asyncio.gather(*(horizon.watch_offers(b, c) for b, c in server.market_assets())))
            else:
                lives = list(await asyncio.gather(*(horizon.watch(b, c, depth=args.depth)
                                                    for b, c in server.market_assets())))
            title = f"stellar-ob demo  local Horizon {server.url}  ledger every {args.ledger_interval:g} s"
            stats = await _view(list(lives), duration=args.duration, levels=args.rows, title=title,
                                interactive=_interactive(args), stop=stop)
            print(_summary(lives, stats, stats.elapsed))  # type: ignore[attr-defined]
    return EXIT_OK


async def _watch(args: argparse.Namespace) -> int:
    from stellar_ob.sync import Horizon

    stop = asyncio.Event()
    _install_stop(stop)
    async with Horizon(args.horizon) as horizon:
        view: list[Any]
        if args.l3:
            view = [await horizon.watch_offers(args.base, args.counter, load_timeout=args.timeout)]
        else:
            view = [await horizon.watch(args.base, args.counter, depth=args.depth, load_timeout=args.timeout)]
        title = f"stellar-ob watch  {args.horizon}"
        stats = await _view(view, duration=args.duration, levels=args.rows, title=title,
                            interactive=_interactive(args), stop=stop)
        print(_summary(view, stats, stats.elapsed))  # type: ignore[attr-defined]
    return EXIT_OK


async def _snapshot(args: argparse.Namespace) -> int:
    from stellar_ob.sync import Horizon

    async with Horizon(args.horizon) as horizon:
        snap = await horizon.snapshot(args.base, args.counter, depth=args.depth)
    book = snap.book
    if args.format == "json":
        doc = {
            "base": str(book.base),
            "counter": str(book.counter),
            "latest_ledger": snap.latest_ledger,
            "bids": [{"price_n": l.price.n, "price_d": l.price.d, "price": str(l.price), "amount": _fmt_amount(l.amount)}
                     for l in book.bids()],
            "asks": [{"price_n": l.price.n, "price_d": l.price.d, "price": str(l.price), "amount": _fmt_amount(l.amount)}
                     for l in book.asks()],
        }
        print(json.dumps(doc, indent=2))
    else:
        w = csv.writer(sys.stdout, lineterminator="\n")
        w.writerow(["side", "price_n", "price_d", "price", "amount", "amount_stroops"])
        for side, levels in (("bid", book.bids()), ("ask", book.asks())):
            for l in levels:
                w.writerow([side, l.price.n, l.price.d, str(l.price), _fmt_amount(l.amount), l.amount])
    return EXIT_OK


async def _serve(args: argparse.Namespace) -> int:
    from stellar_ob.testing import LocalHorizon

    stop = asyncio.Event()
    _install_stop(stop)
    async with LocalHorizon(markets=args.markets, seed=args.seed, ledger_interval=args.ledger_interval,
                            host=args.host, port=args.port, levels=args.levels) as server:
        print(f"local Horizon on {server.url}  ({args.markets} markets, a ledger every {args.ledger_interval:g} s)",
              flush=True)
        for base, counter in server.market_assets()[: args.list]:
            print(f"  {base}  {counter}", flush=True)
        await stop.wait()
    return EXIT_OK


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="stellar-ob", description="Fast, exact Stellar DEX order books, live from Horizon.")
    sub = p.add_subparsers(dest="command", required=True)

    d = sub.add_parser("demo", help="watch a simulated market through a local Horizon (no network)")
    d.add_argument("--markets", type=int, default=3)
    d.add_argument("--duration", type=float, default=None, help="seconds (default: until Ctrl-C)")
    d.add_argument("--ledger-interval", type=float, default=0.5, help="seconds between ledgers (Horizon: 5)")
    d.add_argument("--depth", type=int, default=200)
    d.add_argument("--levels", type=int, default=40, help="offers a side in each simulated market")
    d.add_argument("--rows", type=int, default=8, help="levels shown a side")
    d.add_argument("--seed", type=int, default=0)
    d.add_argument("--plain", action="store_true", help="no screen redraw (also when not a terminal)")
    d.add_argument("--l3", action="store_true", help="per-offer books (pages /offers, applies /trades)")

    for name, helptext in (("watch", "live view of a market on any Horizon"),
                           ("snapshot", "print one REST snapshot of a book")):
        w = sub.add_parser(name, help=helptext)
        w.add_argument("base", help="XLM / native or CODE:ISSUER")
        w.add_argument("counter", help="XLM / native or CODE:ISSUER")
        w.add_argument("--horizon", default=os.environ.get("STELLAR_OB_HORIZON", "https://horizon.stellar.org"))
        w.add_argument("--depth", type=int, default=200 if name == "snapshot" else 20)
        if name == "watch":
            w.add_argument("--l3", action="store_true",
                           help="per-offer book: pages /offers, applies /trades fills, re-pages every ledger")
            w.add_argument("--duration", type=float, default=None)
            w.add_argument("--rows", type=int, default=10)
            w.add_argument("--timeout", type=float, default=20.0, help="seconds to load the book")
            w.add_argument("--plain", action="store_true")
        else:
            w.add_argument("--format", choices=("json", "csv"), default="json")

    s = sub.add_parser("serve", help="run the local Horizon (simulated market) until Ctrl-C")
    s.add_argument("--host", default="127.0.0.1")
    s.add_argument("--port", type=int, default=8000, help="0 = a free port")
    s.add_argument("--markets", type=int, default=3)
    s.add_argument("--ledger-interval", type=float, default=5.0)
    s.add_argument("--levels", type=int, default=40)
    s.add_argument("--seed", type=int, default=0)
    s.add_argument("--list", type=int, default=10, help="print the first N markets' assets")
    return p


def _check_assets(args: argparse.Namespace) -> None:
    from stellar_ob.assets import Asset

    for name in ("base", "counter"):
        if hasattr(args, name):
            setattr(args, name, Asset.parse(getattr(args, name)))


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of ``stellar-ob`` (and ``python -m stellar_ob``); returns the exit status."""
    from stellar_ob.errors import AssetError, HorizonError, RateLimitedError, StellarOBError

    args = _parser().parse_args(argv)
    run = {"demo": _demo, "watch": _watch, "snapshot": _snapshot, "serve": _serve}[args.command]
    try:
        _check_assets(args)
        return asyncio.run(run(args))
    except KeyboardInterrupt:
        return EXIT_OK
    except NotImplementedError as e:
        print(f"stellar-ob: {e}", file=sys.stderr)
    except AssetError as e:
        print(f"stellar-ob: unknown or invalid asset: {e} (use XLM, native or CODE:ISSUER with a G... issuer)",
              file=sys.stderr)
    except RateLimitedError as e:
        print(f"stellar-ob: rate limited by Horizon, retry in {e.retry_after:.0f} s: {e}", file=sys.stderr)
    except HorizonError as e:
        hint = ""
        if e.status is None:
            hint = " (check the URL and your network, or try `stellar-ob demo`, which needs none)"
        print(f"stellar-ob: {e}{hint}", file=sys.stderr)
    except OSError as e:
        print(f"stellar-ob: {e}", file=sys.stderr)
    except StellarOBError as e:
        print(f"stellar-ob: {e}", file=sys.stderr)
    return EXIT_ERROR


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
