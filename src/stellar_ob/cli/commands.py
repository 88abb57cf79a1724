"""The ``stellar-ob`` commands (demo, watch, snapshot, serve, replay, bootstrap): argument parsing and checking,
the errors a person can act on, signals, and exit codes.

Every deliberate error is one line on stderr (``stellar-ob: <reason> (<hint>)``) and exit status 2;
a bad option is refused by the parser before anything starts (also exit 2). No traceback.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import csv
import json
import math
import os
import sys
from typing import Any, Callable, Sequence
from urllib.parse import urlsplit

__all__ = ["main"]

EXIT_OK = 0
EXIT_ERROR = 2

_ENV_HORIZON = "STELLAR_OB_HORIZON"
_DEMO_BYEBYE = ("the local Horizon closes every stream after 10 events, as Horizon does: "
                "those reconnects are by design, not errors")


# ---- argument types: each raises ArgumentTypeError -> one line, exit 2 ---------------------------------
def _int_in(lo: int, hi: int | None = None) -> Callable[[str], int]:
    def conv(text: str) -> int:
        try:
            v = int(text, 10)
        except ValueError:
            raise argparse.ArgumentTypeError(f"not an integer: {text!r}") from None
        if v < lo or (hi is not None and v > hi):
            raise argparse.ArgumentTypeError(f"must be {lo}..{hi}, got {v}" if hi is not None else f"must be >= {lo}, got {v}")
        return v
    conv.__name__ = "integer"
    return conv


def _seconds(positive: bool = True) -> Callable[[str], float]:
    def conv(text: str) -> float:
        try:
            v = float(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"not a number of seconds: {text!r}") from None
        if not math.isfinite(v) or v < 0 or (positive and v == 0):
            raise argparse.ArgumentTypeError(f"must be a {'positive' if positive else 'non-negative'} finite number of seconds, got {text}")
        return v
    conv.__name__ = "seconds"
    return conv


def _url(text: str) -> str:
    parts = urlsplit(text)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise argparse.ArgumentTypeError(f"not an http:// or https:// URL: {text!r}")
    try:
        parts.port
    except ValueError:
        raise argparse.ArgumentTypeError(f"bad port in URL: {text!r}") from None
    return text.rstrip("/")


def _url_or_dir(text: str) -> str:
    """A data lake or history archive: an http(s) URL or an existing directory."""
    if text.startswith(("http://", "https://")):
        return _url(text)
    if "://" in text:
        raise argparse.ArgumentTypeError(f"not an http:// or https:// URL or a directory: {text!r}")
    if not os.path.isdir(text):
        raise argparse.ArgumentTypeError(f"no such directory: {text!r}")
    return text


def _existing_file(text: str) -> str:
    if not os.path.isfile(text):
        raise argparse.ArgumentTypeError(f"no such file: {text!r}")
    return text


def _out_file(text: str) -> str:
    parent = os.path.dirname(os.path.abspath(text)) if text else ""
    if not text or os.path.isdir(text):
        raise argparse.ArgumentTypeError(f"not a file name: {text!r}")
    if not os.path.isdir(parent):
        raise argparse.ArgumentTypeError(f"no such directory for {text!r}: {parent!r}")
    return text


def _checkpoint(text: str) -> int:
    v = _int_in(63, 2**32 - 1)(text)
    if (v + 1) % 64:
        raise argparse.ArgumentTypeError(f"a checkpoint is a ledger 64k - 1 (63, 127, ...), got {v}")
    return v


def _asset(text: str) -> Any:
    from stellar_ob.assets import Asset
    from stellar_ob.errors import StellarOBError

    try:
        return Asset.parse(text)
    except (StellarOBError, ValueError, TypeError) as e:
        raise argparse.ArgumentTypeError(f"unknown or invalid asset {text!r}: {e} "
                                         "(use XLM, native or CODE:ISSUER with a G... issuer)") from None


def _account(text: str) -> str:
    from stellar_ob.assets import Asset
    from stellar_ob.errors import StellarOBError

    try:
        Asset.parse(f"X:{text}")  # the same StrKey check as an issuer's (G..., checksum)
    except (StellarOBError, ValueError, TypeError):
        raise argparse.ArgumentTypeError(f"not an account id (G... StrKey): {text!r}") from None
    return text


def _host(text: str) -> str:
    if not text or any(c.isspace() for c in text):
        raise argparse.ArgumentTypeError(f"not a host name or address: {text!r}")
    return text


def _interactive(args: argparse.Namespace) -> bool:
    return sys.stdout.isatty() and not getattr(args, "plain", False)


def read_markets_file(path: str) -> list[tuple[Any, Any]]:
    """Markets from a text file: one ``BASE COUNTER`` a line; blank lines and ``#`` comments skipped.
    Raises ``ValueError`` naming the line for anything else."""
    from stellar_ob.assets import Asset

    markets = []
    with open(path, encoding="utf-8") as f:
        for no, line in enumerate(f, 1):
            line = line.split("#", 1)[0].strip()
            if not line:
                continue
            words = line.split()
            if len(words) != 2:
                raise ValueError(f"{path}:{no}: expected 'BASE COUNTER', got {line!r}")
            try:
                markets.append((Asset.parse(words[0]), Asset.parse(words[1])))
            except ValueError as e:
                raise ValueError(f"{path}:{no}: {e}") from None
    return markets


# ---- the commands ----------------------------------------------------------------------------------
class _Service:
    """The ``--metrics-port`` endpoint: /metrics, /healthz, /readyz with the runtime metrics."""

    def __init__(self, args: argparse.Namespace) -> None:
        self.args = args
        self.endpoint: Any = None
        self.registry: Any = None

    def sync_metrics(self) -> Any:
        if self.args.metrics_port is None:
            return None
        from prometheus_client import CollectorRegistry

        from stellar_ob.metrics import SyncMetrics

        self.registry = CollectorRegistry()
        return SyncMetrics(registry=self.registry)

    async def start(self, horizon: Any) -> None:
        if self.args.metrics_port is None:
            return
        from stellar_ob.service import RuntimeMetrics, ServiceEndpoint

        runtime = RuntimeMetrics(registry=self.registry)
        self.endpoint = ServiceEndpoint(horizon, registry=self.registry, host=self.args.metrics_host,
                                        port=self.args.metrics_port, max_age=self.args.max_age, runtime=runtime)
        await self.endpoint.start()
        print(f"metrics on http://{self.args.metrics_host}:{self.endpoint.port}/metrics (/healthz, /readyz)",
              file=sys.stderr, flush=True)

    async def close(self) -> None:
        if self.endpoint is not None:
            await self.endpoint.close()


def _check_metrics_extra(args: argparse.Namespace) -> None:
    if getattr(args, "metrics_port", None) is None:
        return
    try:
        import prometheus_client  # noqa: F401
    except ImportError:
        raise _UsageError("--metrics-port needs prometheus-client: pip install 'stellar-ob[metrics]'") from None


class _UsageError(Exception):
    """A deliberate error found after parsing: one line, exit 2."""


async def _run_board(args: argparse.Namespace, horizon: Any, markets: list[tuple[Any, Any]], title: str,
                     stop: asyncio.Event, reload: Callable[[], list[tuple[Any, Any]]] | None,
                     note: str = "") -> tuple[Any, float]:
    """Load ``markets`` (spinners while loading), draw them until stop/duration; SIGHUP reloads."""
    from stellar_ob.cli.view import Board, run_view

    board = Board(title, args.rows, pin=None if args.market is None else args.market - 1,
                  account=getattr(args, "account", None))
    board.note = note
    entries: dict[tuple[str, str], dict[str, Any]] = {}
    tasks: set[asyncio.Task] = set()

    def name_of(b: Any, c: Any) -> str:
        short = lambda a: "XLM" if a.issuer is None else a.code  # noqa: E731
        return f"{short(b)}/{short(c)}"

    async def load(key: tuple[str, str], b: Any, c: Any) -> None:
        e = entries[key]
        try:
            if args.l3:
                live = await horizon.watch_offers(b, c, load_timeout=args.timeout)
            else:
                live = await horizon.watch(b, c, depth=args.depth, load_timeout=args.timeout)
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # shown on the board as one line with a hint
            board.set_error(e, exc)
            if fail_fast:
                stop.set()
            return
        if entries.get(key) is e:
            board.set_live(e, live)
        else:  # unwatched by a reload while loading
            await horizon.unwatch(live)

    def add(b: Any, c: Any) -> None:
        key = (str(b), str(c))
        if key in entries:
            return
        entries[key] = board.add_loading(name_of(b, c))
        t = asyncio.ensure_future(load(key, b, c))
        tasks.add(t)
        t.add_done_callback(tasks.discard)

    async def apply(new: list[tuple[Any, Any]]) -> None:
        want = {(str(b), str(c)) for b, c in new}
        for key in [k for k in entries if k not in want]:
            e = entries.pop(key)
            board.remove(e)
            if e["live"] is not None:
                await horizon.unwatch(e["live"])
        for b, c in new:
            add(b, c)

    def on_hup() -> None:
        if reload is None:  # registered only with a reloadable market list
            return
        try:
            new = reload()
        except (OSError, ValueError) as exc:
            board.note = f"SIGHUP: market list not reloaded: {exc}"
            print(f"stellar-ob: SIGHUP: market list not reloaded: {exc}", file=sys.stderr, flush=True)
            return
        board.note = f"SIGHUP: {len(new)} markets"
        print(f"stellar-ob: SIGHUP: reloading {len(new)} markets", file=sys.stderr, flush=True)
        t = asyncio.ensure_future(apply(new))
        tasks.add(t)
        t.add_done_callback(tasks.discard)

    if reload is not None:
        import signal

        try:
            asyncio.get_running_loop().add_signal_handler(signal.SIGHUP, on_hup)
        except (NotImplementedError, RuntimeError, ValueError, AttributeError):
            pass
    fail_fast = len(markets) == 1 and reload is None  # one market that cannot load: the command fails
    for b, c in markets:
        add(b, c)
    try:
        if not _interactive(args) and tasks:  # plain output: start printing once the books are in
            stopper = asyncio.ensure_future(stop.wait())
            pending = set(tasks)
            while pending and not stopper.done():
                _, pending = await asyncio.wait({*pending, stopper}, return_when=asyncio.FIRST_COMPLETED)
                pending.discard(stopper)
            stopper.cancel()
        elapsed = await run_view(board, duration=args.duration, interactive=_interactive(args), stop=stop)
        if fail_fast:
            e = next(iter(entries.values()), None)
            if e is not None and e["error"] is not None:
                raise e["error"]
    finally:
        for t in list(tasks):
            t.cancel()
        if tasks:
            await asyncio.gather(*tasks, return_exceptions=True)
    return board, elapsed


async def _demo_rpc(args: argparse.Namespace, stop: asyncio.Event) -> int:
    """``demo --source rpc``: the simulated market's ledgers served by an embedded local Stellar RPC,
    followed into a whole-DEX book (no network)."""
    from stellar_ob.cli.view import _summary
    from stellar_ob.ledger import Follow
    from stellar_ob.testing.ledger_meta import LocalStack

    service = _Service(args)
    async with LocalStack(markets=args.markets, seed=args.seed, ledger_interval=args.ledger_interval,
                          levels=args.levels) as stack:
        follow = Follow(stack.rpc.url, passphrase=stack.market.passphrase, start=stack.rpc.oldest, empty=True,
                        poll_interval=min(1.0, args.ledger_interval / 2), metrics=service.sync_metrics())
        async with follow:
            books = _LedgerBooks(follow, False)
            await service.start(books)
            try:
                title = f"stellar-ob demo  rpc {stack.rpc.url}  ledger/{args.ledger_interval:g}s"
                board, elapsed = await _run_board(args, books, stack.horizon.market_assets(), title, stop, None,
                                                  note="one getLedgers per ledger for every market")
            finally:
                await service.close()
            print(_summary(board.lives, board.stats, elapsed))
            print(f"({follow.counters.ledgers} ledgers, {follow.counters.requests} RPC requests)")
    return EXIT_OK


async def _demo(args: argparse.Namespace) -> int:
    from stellar_ob.cli.view import _install_stop, _summary
    from stellar_ob.sync import Horizon
    from stellar_ob.testing import LocalHorizon

    stop = asyncio.Event()
    _install_stop(stop)
    if args.source == "rpc":
        return await _demo_rpc(args, stop)
    service = _Service(args)
    async with LocalHorizon(markets=args.markets, seed=args.seed, ledger_interval=args.ledger_interval,
                            levels=args.levels) as server:
        async with Horizon(server.url, metrics=service.sync_metrics()) as horizon:
            await service.start(horizon)
            try:
                title = f"stellar-ob demo  {server.url}  ledger/{args.ledger_interval:g}s"
                board, elapsed = await _run_board(args, horizon, server.market_assets(), title, stop, None,
                                                  note="reconnects: the server closes streams every 10 events")
            finally:
                await service.close()
            print(_summary(board.lives, board.stats, elapsed))
            print(f"({_DEMO_BYEBYE})")
    return EXIT_OK


def _watch_markets(args: argparse.Namespace) -> list[tuple[Any, Any]]:
    pairs = list(args.pairs or [])
    if len(pairs) % 2:
        raise _UsageError("markets are given as BASE COUNTER pairs: an odd number of assets was given")
    markets = [(pairs[k], pairs[k + 1]) for k in range(0, len(pairs), 2)]
    if args.markets_file is not None:
        try:
            markets += read_markets_file(args.markets_file)
        except OSError as e:
            raise _UsageError(f"--markets-file {args.markets_file}: {e.strerror or e}") from None
        except ValueError as e:
            raise _UsageError(f"--markets-file: {e}") from None
    if not markets and args.markets_file is None:
        raise _UsageError("give a market (BASE COUNTER) or --markets-file")
    return markets


def _ledger_source(args: argparse.Namespace, markets: list[tuple[Any, Any]]) -> Any:
    """The Follow of ``watch --rpc/--datalake`` (checked: one start)."""
    from stellar_ob.ledger import Follow

    starts = [args.archive is not None, args.snapshot is not None, args.seed_horizon, args.learn]
    if sum(starts) != 1:
        raise _UsageError("--rpc/--datalake need where the DEX state starts: --archive URL (a history archive), "
                          "--snapshot FILE (stellar-ob bootstrap --out), --seed-horizon (the markets' offers "
                          "from --horizon) or --learn (incomplete books)")
    kw: dict[str, Any] = {"passphrase": args.passphrase, "stall_timeout": args.stall_timeout}
    if args.archive is not None:
        kw["archive"] = args.archive
    elif args.snapshot is not None:
        kw["snapshot"] = args.snapshot
    elif args.seed_horizon:
        kw["horizon"], kw["markets"] = args.horizon, markets
    else:
        kw["learn"] = True
    if args.rpc is not None:
        return Follow(args.rpc, **kw)
    return Follow(datalake=args.datalake, **kw)


class _LedgerBooks:
    """A Follow as the board's ``horizon``: watch (with the learn flag) and unwatch."""

    def __init__(self, follow: Any, learn: bool) -> None:
        self.follow = follow
        self.learn = learn
        self.books = follow.books
        self.offer_books = follow.offer_books

    async def watch(self, base: Any, counter: Any, depth: int = 20, load_timeout: float | None = None) -> Any:
        return await self.follow.watch(base, counter, depth, load_timeout=load_timeout,
                                       allow_incomplete=self.learn)

    async def watch_offers(self, base: Any, counter: Any, load_timeout: float | None = None) -> Any:
        return await self.follow.watch_offers(base, counter, load_timeout=load_timeout, allow_incomplete=self.learn)

    async def unwatch(self, live: Any) -> None:
        await live.close()


async def _watch_ledger(args: argparse.Namespace, markets: list[tuple[Any, Any]], stop: asyncio.Event,
                        reload: Any) -> int:
    from stellar_ob.cli.view import _summary

    follow = _ledger_source(args, markets)
    service = _Service(args)
    follow.metrics = service.sync_metrics()
    source = args.rpc or args.datalake
    async with follow:
        books = _LedgerBooks(follow, args.learn)
        await service.start(books)
        try:
            board, elapsed = await _run_board(args, books, markets, f"stellar-ob watch  {source}  (ledger)",
                                              stop, reload)
        finally:
            await service.close()
        print(_summary(board.lives, board.stats, elapsed))
    return EXIT_OK


async def _watch(args: argparse.Namespace) -> int:
    from stellar_ob.cli.view import _install_stop, _summary
    from stellar_ob.sync import Horizon

    markets = _watch_markets(args)
    if args.rpc is None and args.datalake is None:
        for opt in ("archive", "snapshot", "passphrase"):
            if getattr(args, opt) is not None:
                raise _UsageError(f"--{opt} goes with --rpc or --datalake (the ledger source)")
        for flag in ("learn", "seed_horizon"):
            if getattr(args, flag):
                raise _UsageError(f"--{flag.replace('_', '-')} goes with --rpc or --datalake (the ledger source)")
    stop = asyncio.Event()
    _install_stop(stop)
    service = _Service(args)
    reload = None
    if args.markets_file is not None:
        fixed = markets[: len(args.pairs or []) // 2]
        reload = lambda: fixed + read_markets_file(args.markets_file)  # noqa: E731
    if args.rpc is not None or args.datalake is not None:
        return await _watch_ledger(args, markets, stop, reload)
    async with Horizon(args.horizon, metrics=service.sync_metrics()) as horizon:
        await service.start(horizon)
        try:
            board, elapsed = await _run_board(args, horizon, markets, f"stellar-ob watch  {args.horizon}", stop, reload)
        finally:
            await service.close()
        print(_summary(board.lives, board.stats, elapsed))
    return EXIT_OK


async def _snapshot(args: argparse.Namespace) -> int:
    from stellar_ob.cli.view import _fmt_amount
    from stellar_ob.sync import Horizon

    if args.l3:
        return await _snapshot_l3(args)
    if args.account is not None:
        raise _UsageError("--account marks offers: it needs --l3")
    async with Horizon(args.horizon) as horizon:
        snap = await horizon.snapshot(args.base, args.counter, depth=args.depth)
    book = snap.book
    if args.plot is not None:
        from stellar_ob.plot import plot_depth

        import matplotlib
        matplotlib.use("Agg")
        ax = plot_depth(book)
        ax.figure.savefig(args.plot, dpi=110, bbox_inches="tight")
        print(f"wrote {args.plot}", file=sys.stderr)
        return EXIT_OK
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
        sys.stdout.write(json.dumps(doc, indent=2) + "\n")
    else:
        w = csv.writer(sys.stdout, lineterminator="\n")
        w.writerow(["side", "price_n", "price_d", "price", "amount", "amount_stroops"])
        for side, levels in (("bid", book.bids()), ("ask", book.asks())):
            for l in levels:
                w.writerow([side, l.price.n, l.price.d, str(l.price), _fmt_amount(l.amount), l.amount])
    sys.stdout.flush()
    return EXIT_OK


async def _snapshot_l3(args: argparse.Namespace) -> int:
    """``snapshot --l3``: every offer of the market (paged from /offers, both directions), as an
    offer-level chart (``--plot``) or one row per offer, best price first, in crossing order."""
    from stellar_ob.cli.view import _fmt_amount
    from stellar_ob.plot import offer_chart
    from stellar_ob.sync import Horizon

    async with Horizon(args.horizon) as horizon:
        live = await horizon.watch_offers(args.base, args.counter)
        await live.close()  # the book stays as loaded: nothing changes it once closed
    book = live.book
    chart = offer_chart(book, args.depth, args.account)
    if args.plot is not None:
        from stellar_ob.plot import plot_offers

        import matplotlib
        matplotlib.use("Agg")
        ax = plot_offers(book, depth=args.depth, account=args.account)
        ax.figure.savefig(args.plot, dpi=110, bbox_inches="tight")
        print(f"wrote {args.plot}", file=sys.stderr)
        return EXIT_OK
    offers = {o.offer_id: o for side in ("bid", "ask") for o in book.offers(side)}
    rows = [(side, bar, offers[bar.offer_id]) for side, bars in (("bid", chart.bids), ("ask", chart.asks))
            for bar in bars]
    if args.format == "json":
        doc = {"base": chart.base, "counter": chart.counter,
               **{f"{side}s": [{"offer_id": bar.offer_id, "seller": bar.seller, "price_n": o.n, "price_d": o.d,
                                "amount": _fmt_amount(o.amount), "own": bar.own}
                               for s2, bar, o in rows if s2 == side] for side in ("bid", "ask")}}
        sys.stdout.write(json.dumps(doc, indent=2) + "\n")
    else:
        w = csv.writer(sys.stdout, lineterminator="\n")
        w.writerow(["side", "offer_id", "seller", "price_n", "price_d", "amount", "amount_stroops", "own"])
        for side, bar, o in rows:
            w.writerow([side, bar.offer_id, bar.seller or "", o.n, o.d, _fmt_amount(o.amount), o.amount,
                        int(bar.own)])
    sys.stdout.flush()
    return EXIT_OK


async def _bootstrap(args: argparse.Namespace) -> int:
    """``bootstrap --archive URL --out FILE``: a checkpoint's DEX state saved for later runs."""
    from stellar_ob.ledger.archive import HistoryArchive, ProgressBar
    from stellar_ob.ledger.bootstrap import save_snapshot

    progress = ProgressBar() if sys.stderr.isatty() and not args.quiet else None
    async with HistoryArchive(args.archive, cache_dir=args.cache_dir, progress=progress) as ar:
        snap = await ar.load(args.checkpoint)
    if progress is not None:
        print(file=sys.stderr)
    if args.passphrase is not None and snap.network_passphrase not in (None, args.passphrase):
        raise _UsageError(f"the archive is of the network {snap.network_passphrase!r}, not {args.passphrase!r}")
    size = await asyncio.to_thread(save_snapshot, args.out, snap)
    print(f"ledger {snap.ledger}: {len(snap.offers)} offers, {len(snap.pools)} pools, {len(snap.accounts)} "
          f"accounts, {len(snap.trustlines)} trust lines -> {args.out} ({size} bytes); "
          f"follow it with: stellar-ob watch --rpc URL --snapshot {args.out} BASE COUNTER")
    return EXIT_OK


def _serve_source(args: argparse.Namespace) -> dict:
    """``--from``: the keyword arguments of stellar_ob.server.sources.run, or _UsageError."""
    kind, rest = args.source[0], args.source[1:]
    if kind == "rpc":
        if len(rest) != 1:
            raise _UsageError("--from rpc takes one URL")
        try:
            return {"url": _url(rest[0])}
        except argparse.ArgumentTypeError as e:
            raise _UsageError(f"--from rpc: {e}") from None
    if kind == "replay":
        if not rest:
            raise _UsageError("--from replay takes one or more FILES")
        missing = [f for f in rest if not os.path.isfile(f)]
        if missing:
            raise _UsageError(f"--from replay: no such file: {missing[0]}")
        return {"files": rest}
    if kind == "simulated" and not rest:
        return {}
    raise _UsageError("--from is 'simulated', 'rpc URL' or 'replay FILES...'")


async def _serve(args: argparse.Namespace) -> int:
    from stellar_ob.cli.view import _install_stop
    from stellar_ob.testing import LocalHorizon

    stop = asyncio.Event()
    _install_stop(stop)
    if args.source is not None:  # Horizon's market-data endpoints over a whole-DEX book
        from stellar_ob.server.sources import run as serve_dex

        kw = _serve_source(args)
        task = asyncio.ensure_future(serve_dex(
            args.source[0], host=args.host, port=args.port, markets=args.markets, seed=args.seed,
            ledger_interval=args.ledger_interval, ready=lambda url: print(f"serving on {url}", flush=True), **kw))
        waiter = asyncio.ensure_future(stop.wait())
        await asyncio.wait({task, waiter}, return_when=asyncio.FIRST_COMPLETED)
        for t in (task, waiter):
            t.cancel()
        try:
            await task
        except asyncio.CancelledError:
            pass
        return EXIT_OK
    async with LocalHorizon(markets=args.markets, seed=args.seed, ledger_interval=args.ledger_interval,
                            host=args.host, port=args.port, levels=args.levels) as server:
        print(f"local Horizon on {server.url}  ({args.markets} markets, a ledger every {args.ledger_interval:g} s)",
              flush=True)
        for base, counter in server.market_assets()[: args.list]:
            print(f"  {base}  {counter}", flush=True)
        await stop.wait()
    return EXIT_OK


# ---- the parser ------------------------------------------------------------------------------------
class _Formatter(argparse.ArgumentDefaultsHelpFormatter, argparse.RawDescriptionHelpFormatter):
    """Shows every default that says something (not None, not a flag's False)."""

    def _get_help_string(self, action: argparse.Action) -> str:
        if action.default is None or action.default is False or action.nargs == 0:
            return action.help or ""
        return super()._get_help_string(action) or ""


def _version() -> str:
    try:
        from importlib.metadata import version

        v = version("stellar-ob")
    except Exception:  # not installed as a distribution (a source checkout)
        v = "unknown"
    from stellar_ob._impl import IMPLEMENTATION

    return f"stellar-ob {v} ({IMPLEMENTATION} core, Python {sys.version.split()[0]}, event loop {_loop_name()})"


def _uvloop() -> Any:
    """The uvloop module when it is installed and wanted (not STELLAR_OB_NO_UVLOOP=1), else None."""
    if os.environ.get("STELLAR_OB_NO_UVLOOP") == "1" or sys.version_info < (3, 11):
        return None
    try:
        import uvloop
    except ImportError:
        return None
    return uvloop


def _loop_name() -> str:
    uv = _uvloop()
    return "asyncio" if uv is None else f"uvloop {getattr(uv, '__version__', '')}".strip()


def _add_view_options(p: argparse.ArgumentParser, rows: int) -> None:
    p.add_argument("--l3", action="store_true",
                   help="per-offer books: from Horizon, pages /offers, applies /trades fills, re-pages every "
                        "ledger; from --rpc/--datalake (or demo --source rpc), kept offer by offer from each ledger")
    p.add_argument("--duration", type=_seconds(), default=None, help="seconds to run (default: until Ctrl-C or SIGTERM)")
    p.add_argument("--rows", type=_int_in(1, 200), default=rows, help="levels shown a side at most (fewer if the terminal is small)")
    p.add_argument("--market", type=_int_in(1), default=None, metavar="N", help="show only the N-th market (1-based)")
    p.add_argument("--timeout", type=_seconds(), default=20.0, help="seconds to load a book")
    p.add_argument("--plain", action="store_true", help="plain text every 2 s, no screen (also when stdout is not a terminal)")
    p.add_argument("--metrics-port", type=_int_in(0, 65535), default=None, metavar="P",
                   help="serve /metrics, /healthz and /readyz on this port (0 = a free one; needs the metrics extra)")
    p.add_argument("--metrics-host", type=_host, default="127.0.0.1", help="address the metrics port binds")
    p.add_argument("--max-age", type=_seconds(), default=120.0,
                   help="/readyz: seconds since the server last confirmed a book before it is stale")


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="stellar-ob", description="Fast, exact Stellar DEX order books, live from Horizon.",
                                formatter_class=_Formatter)
    p.add_argument("--version", action="version", version=_version())
    sub = p.add_subparsers(dest="command", required=True, metavar="COMMAND")

    d = sub.add_parser("demo", help="watch a simulated market through a local Horizon (no network)",
                       formatter_class=_Formatter, description=(
                           "Live books from a local Horizon serving a simulated market: no network needed.\n"
                           + _DEMO_BYEBYE[0].upper() + _DEMO_BYEBYE[1:] + "."))
    d.add_argument("--markets", type=_int_in(1, 1000), default=3, help="markets served")
    d.add_argument("--ledger-interval", type=_seconds(), default=0.5, help="seconds between ledgers (Horizon: 5)")
    d.add_argument("--depth", type=_int_in(1, 200), default=200, help="levels a side kept (Horizon's maximum: 200)")
    d.add_argument("--levels", type=_int_in(1, 10_000), default=40, help="offers a side in each simulated market")
    d.add_argument("--seed", type=_int_in(0), default=0, help="the simulated market's seed")
    d.add_argument("--source", choices=("horizon", "rpc"), default="horizon",
                   help="horizon: a local Horizon, one stream a market; rpc: an embedded local Stellar RPC "
                        "whose ledgers keep a whole-DEX book (one request a ledger for every market)")
    _add_view_options(d, rows=8)

    horizon_default = os.environ.get(_ENV_HORIZON, "https://horizon.stellar.org")
    w = sub.add_parser("watch", help="live view of markets on any Horizon", formatter_class=_Formatter,
                       description="Live books of one or more markets (BASE COUNTER pairs, or --markets-file).\n"
                                   "SIGTERM/SIGINT exit cleanly; SIGHUP reloads --markets-file.")
    w.add_argument("pairs", nargs="*", type=_asset, metavar="BASE COUNTER",
                   help="assets: XLM / native or CODE:ISSUER, in pairs")
    w.add_argument("--horizon", type=_url, default=horizon_default,
                   help=f"Horizon URL (env {_ENV_HORIZON})")
    w.add_argument("--depth", type=_int_in(1, 200), default=20, help="levels a side kept (Horizon's maximum: 200)")
    w.add_argument("--markets-file", default=None, metavar="FILE",
                   help="one 'BASE COUNTER' a line (# comments); reloaded on SIGHUP")
    w.add_argument("--account", type=_account, default=None, metavar="G...", help="--l3: mark this account's offers and their queue position")
    src = w.add_mutually_exclusive_group()
    src.add_argument("--rpc", type=_url, default=None, metavar="URL",
                     help="follow the ledger from this Stellar RPC instead of Horizon (needs --archive, --snapshot or --learn)")
    src.add_argument("--datalake", type=_url_or_dir, default=None, metavar="URL|DIR",
                     help="follow the ledger from this SEP-54 data lake instead of Horizon")
    w.add_argument("--archive", type=_url_or_dir, default=None, metavar="URL|DIR",
                   help="--rpc/--datalake: start from this history archive's latest checkpoint")
    w.add_argument("--snapshot", type=_existing_file, default=None, metavar="FILE",
                   help="--rpc/--datalake: start from a file written by 'stellar-ob bootstrap --out'")
    w.add_argument("--seed-horizon", action="store_true",
                   help="--rpc/--datalake: start the given markets from --horizon's /offers, then the ledger")
    w.add_argument("--learn", action="store_true",
                   help="--rpc/--datalake: start empty at the tip (books hold only offers changed since: incomplete)")
    w.add_argument("--passphrase", default=None, metavar="TEXT",
                   help="--rpc/--datalake: the network expected (checked with getNetwork)")
    w.add_argument("--stall-timeout", type=_seconds(), default=30.0,
                   help="--rpc/--datalake: seconds without a new ledger before the books show 'server down'")
    _add_view_options(w, rows=10)

    s = sub.add_parser("snapshot", help="print one REST snapshot of a book", formatter_class=_Formatter)
    s.add_argument("base", type=_asset, help="XLM / native or CODE:ISSUER")
    s.add_argument("counter", type=_asset, help="XLM / native or CODE:ISSUER")
    s.add_argument("--horizon", type=_url, default=horizon_default, help=f"Horizon URL (env {_ENV_HORIZON})")
    s.add_argument("--depth", type=_int_in(1, 200), default=200, help="levels a side (Horizon's maximum: 200)")
    s.add_argument("--format", choices=("json", "csv"), default="json", help="output format")
    s.add_argument("--plot", default=None, metavar="FILE.png",
                   help="draw the cumulative depth chart to this file instead (needs the plot extra)")
    s.add_argument("--l3", action="store_true",
                   help="every offer (paged from /offers) instead of levels; with --plot, the offer-level "
                        "chart (--depth: price levels a side)")
    s.add_argument("--account", type=_account, default=None, metavar="G...",
                   help="--l3: mark this account's offers (highlighted in the chart)")

    v = sub.add_parser("serve", help="run the local Horizon (simulated market), or with --from a Horizon-compatible "
                                     "market-data server over a whole-DEX book, until Ctrl-C", formatter_class=_Formatter)
    v.add_argument("--from", dest="source", nargs="+", metavar="SOURCE",
                   help="serve /order_book, /offers and /paths from a whole-DEX book kept current from "
                        "'simulated' (its own simulated ledgers), 'rpc URL' (Stellar RPC) or 'replay FILES...' "
                        "(data-lake files or a record-marked stream)")
    v.add_argument("--host", type=_host, default="127.0.0.1", help="address to bind")
    v.add_argument("--port", type=_int_in(0, 65535), default=8000, help="0 = a free port")
    v.add_argument("--markets", type=_int_in(1, 100_000), default=3, help="markets served")
    v.add_argument("--ledger-interval", type=_seconds(), default=5.0, help="seconds between ledgers")
    v.add_argument("--levels", type=_int_in(1, 10_000), default=40, help="offers a side in each market")
    v.add_argument("--seed", type=_int_in(0), default=0, help="the simulated market's seed")
    v.add_argument("--list", type=_int_in(0), default=10, help="print the first N markets' assets")

    sub.add_parser("replay", help="replay ledger files offline into a whole-DEX book (stellar-ob replay --help)",
                   add_help=False)

    b = sub.add_parser("bootstrap", help="save a history archive checkpoint's DEX state for 'watch --snapshot'",
                       formatter_class=_Formatter, description=(
                           "Read a history archive's bucket list at a checkpoint (downloads streamed, verified by "
                           "hash, resumable) and save its offers, pools and the sellers' accounts and trust "
                           "lines to FILE, so 'stellar-ob watch --rpc URL --snapshot FILE' starts in seconds."))
    b.add_argument("--archive", type=_url_or_dir, required=True, metavar="URL|DIR", help="the history archive")
    b.add_argument("--out", type=_out_file, required=True, metavar="FILE", help="where to save the state")
    b.add_argument("--checkpoint", type=_checkpoint, default=None, metavar="LEDGER",
                   help="a checkpoint ledger (64k - 1; default: the archive's latest)")
    b.add_argument("--cache-dir", default=None, metavar="DIR", help="keep downloaded buckets here (resumed, reused)")
    b.add_argument("--passphrase", default=None, metavar="TEXT", help="the network expected")
    b.add_argument("--quiet", action="store_true", help="no progress bar")
    return p


def _run(coro: Any) -> Any:
    """asyncio.run, on uvloop when it is installed (the ``fast`` extra) unless STELLAR_OB_NO_UVLOOP=1."""
    uv = _uvloop()
    if uv is not None:
        with asyncio.Runner(loop_factory=uv.new_event_loop) as runner:
            return runner.run(coro)
    return asyncio.run(coro)


def _silence_stdout() -> None:
    """After a broken pipe: point stdout at /dev/null so the interpreter's final flush is silent."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError, AttributeError):
        pass


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of ``stellar-ob`` (and ``python -m stellar_ob``); returns the exit status."""
    from stellar_ob.cli.view import explain
    from stellar_ob.errors import StellarOBError

    argv = list(sys.argv[1:] if argv is None else argv)
    # The view shows every book's status and last error; the library's warnings (a server down, a
    # reconnect) would only repeat them on stderr, over the view.
    library_log = logging.getLogger("stellar_ob")
    if not library_log.handlers:  # a handler of its own stops logging's last-resort print to stderr
        library_log.addHandler(logging.NullHandler())
    if argv and argv[0] == "replay":
        from stellar_ob.ledger.replay import main as replay_main

        try:
            return replay_main(argv[1:])
        except BrokenPipeError:
            _silence_stdout()
            return EXIT_OK
    parser = _parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as e:  # --help, --version (0) or a refused option (2, already printed)
        return e.code if isinstance(e.code, int) else EXIT_ERROR
    run = {"demo": _demo, "watch": _watch, "snapshot": _snapshot, "serve": _serve, "bootstrap": _bootstrap}[args.command]
    try:
        _check_metrics_extra(args)
        if args.command == "snapshot" and args.plot is not None:
            try:
                import matplotlib  # noqa: F401
            except ImportError:
                raise _UsageError("--plot needs matplotlib: pip install 'stellar-ob[plot]'") from None
        return int(_run(run(args)))
    except KeyboardInterrupt:
        return EXIT_OK
    except BrokenPipeError:
        _silence_stdout()
        return EXIT_OK
    except _UsageError as e:
        print(f"stellar-ob {args.command}: error: {e}", file=sys.stderr)
    except (StellarOBError, OSError, NotImplementedError, asyncio.TimeoutError) as e:
        reason, hint = explain(e)
        print(f"stellar-ob: {reason}" + (f" ({hint})" if hint else ""), file=sys.stderr)
    return EXIT_ERROR


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
