"""The ``stellar-ob`` commands (demo, watch, snapshot, serve): argument parsing, the errors a person can
act on, and exit codes."""

from __future__ import annotations

import argparse
import asyncio
import csv
import json
import os
import sys
from typing import Any, Sequence


from stellar_ob.cli.view import _fmt_amount, _install_stop, _summary, _view

__all__ = ["main"]

EXIT_OK = 0
EXIT_ERROR = 2


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
