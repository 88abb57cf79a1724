"""Replay ledger files offline into a :class:`~stellar_ob.ledger.DexBook`.

Usage::

    python -m stellar_ob.ledger.replay FILES... [--market BASE COUNTER] [--depth N] [--resync]
                                                [--quiet] [--no-progress]

FILES are SEP-54 data-lake files (``LedgerCloseMetaBatch``, ``.xdr`` or zstd ``.xdr.zst``) or XDR
record-marked streams of ``LedgerCloseMeta`` (raw or zstd). For each ledger it prints the markets
that changed (offers added/updated/removed, L2 levels, pools, trades) and the trades; then, with
``--market``, that market's book. A progress bar goes to stderr when it is a terminal.

Ledgers must follow each other across files (a gap stops the replay unless ``--resync``).

>>> from stellar_ob.ledger.replay import main
>>> main(["--quiet", "--no-progress", "tests/data/ledger/FFFFFC18--999.xdr"])  # doctest: +SKIP
1 ledger(s) replayed; 0 offers in 0 markets, 0 pools
0
"""

from __future__ import annotations

import argparse
import os
import sys
from typing import Any, Optional, Sequence, TextIO

from .files import open_ledgers

__all__ = ["main"]

def _fmt_amount(stroops: int) -> str:
    from ..amounts import format_amount

    return format_amount(stroops)


def _progress(out: TextIO, done: int, total: int, ledgers: int) -> None:
    width = 30
    frac = done / total if total else 1.0
    fill = int(frac * width)
    out.write(f"\r[{'#' * fill}{'.' * (width - fill)}] {frac * 100:5.1f}% {ledgers} ledgers")
    out.flush()


def _print_update(upd: Any, out: TextIO) -> None:
    changed = upd.markets
    out.write(f"ledger {upd.ledger_seq}: {len(changed)} market(s) changed, {len(upd.trades)} trade(s)"
              + (f", {len(upd.drift)} drift" if upd.drift else "") + "\n")
    for (base, counter), mu in sorted(changed.items()):
        out.write(f"  {base} / {counter}: +{len(mu.added)} ~{len(mu.updated)} -{len(mu.removed)} offers, "
                  f"{len(mu.levels)} level(s), {len(mu.pools)} pool(s), {len(mu.trades)} trade(s)\n")
        for t in mu.trades:
            who = f"pool {t.seller.hex()[:12]}" if t.claim_type == 2 else f"offer {t.offer_id}"
            out.write(f"    trade: {who} sold {_fmt_amount(t.amount_sold)} {t.asset_sold} "
                      f"for {_fmt_amount(t.amount_bought)} {t.asset_bought}\n")
        for dr in mu.drift:
            out.write(f"    drift: {dr.entry_type} {dr.key} {dr.kind}\n")


def _print_book(dex: Any, base: str, counter: str, depth: int, out: TextIO) -> None:
    try:
        mk = dex.market(base, counter)
    except KeyError:
        out.write(f"market {base} / {counter}: not seen\n")
        return
    out.write(f"market {mk.base} / {mk.counter} ({len(mk)} offers, "
              f"{'complete' if mk.complete else 'learned from the ledgers replayed: incomplete'})\n")
    for name, levels in (("asks", list(reversed(mk.asks(depth)))), ("bids", mk.bids(depth))):
        out.write(f"  {name}:\n")
        for lv in levels:
            out.write(f"    {str(lv.price):>20}  {_fmt_amount(lv.amount)}\n")


def main(argv: Optional[Sequence[str]] = None, out: Optional[TextIO] = None, err: Optional[TextIO] = None) -> int:
    from ..errors import StellarOBError
    from .dexbook import DexBook

    out = out or sys.stdout
    err = err or sys.stderr
    p = argparse.ArgumentParser(prog="stellar-ob replay", description=__doc__.split("\n\n")[0])
    p.add_argument("files", nargs="+", help="data-lake files or record-marked streams (.xdr, .xdr.zst)")
    p.add_argument("--market", nargs=2, metavar=("BASE", "COUNTER"), help="print this market's book at the end")
    p.add_argument("--depth", type=int, default=10, help="levels a side for --market (default 10)")
    p.add_argument("--resync", action="store_true", help="accept gaps between ledgers (markets become incomplete)")
    p.add_argument("--quiet", action="store_true", help="no per-ledger lines")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    args = p.parse_args(argv)
    if args.depth < 0:
        p.error("--depth must be >= 0")
    if args.market:
        from .records import LedgerAsset

        try:
            for a in args.market:
                LedgerAsset.from_asset(a)
        except (StellarOBError, ValueError) as exc:
            p.error(f"--market: {exc}")
    show_progress = not args.no_progress and err.isatty()
    sizes = []
    for f in args.files:
        try:
            sizes.append(os.path.getsize(f))
        except OSError as exc:
            err.write(f"stellar-ob replay: {f}: {exc.strerror}\n")
            return 2
    total, done, ledgers = sum(sizes), 0, 0
    dex = DexBook()
    status = 0
    for f, size in zip(args.files, sizes):
        try:
            reader = open_ledgers(f)
            while reader.next_ledger():
                upd = dex.apply_reader(reader, resync=args.resync)
                ledgers += 1
                if not args.quiet:
                    _print_update(upd, out)
                if show_progress and ledgers % 16 == 0:
                    _progress(err, done + size * reader.position // max(1, reader.size), total, ledgers)
        except (StellarOBError, ValueError, OSError) as exc:
            if show_progress:
                err.write("\n")
            err.write(f"stellar-ob replay: {f}: {exc}\n")
            status = 1
            break
        done += size
    if show_progress:
        _progress(err, done, total, ledgers)
        err.write("\n")
    if status == 0:
        out.write(f"{ledgers} ledger(s) replayed; {dex.offer_count} offers in {dex.market_count} markets, "
                  f"{len(dex.pools)} pools\n")
    if args.market:
        _print_book(dex, args.market[0], args.market[1], args.depth, out)
    return status


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
