"""Hummingbot's real OrderBookTracker on two Stellar markets, fed by stellar_ob.

Starts a local Horizon (stellar_ob.testing.LocalHorizon: a simulated market, loopback only),
builds a StellarOrderBookDataSource for two of its markets, runs Hummingbot's OrderBookTracker
on it and prints, once a second, the tracker's best bid/ask (Hummingbot's doubles) next to
stellar_ob's exact ones (rationals n/d and stroops).

    pip install --no-deps hummingbot && pip install pandas pydantic-core hexbytes cachetools ujson
    python examples/hummingbot_tracker.py --duration 10

Against a real Horizon instead: ``--horizon https://horizon.stellar.org --asset
USDC=USDC:GA5ZSEJYB37JRC5AVCIA5MOP4RHTM335X2KGX3IHOJAPP5RE34K4KZVN --pair XLM-USDC``
(``--asset`` and ``--pair`` may repeat).
"""

from __future__ import annotations

import argparse
import asyncio
import logging
from decimal import Decimal, localcontext
from typing import Any, List

from stellar_ob import format_amount
from stellar_ob.hummingbot import AssetTable, StellarOrderBookDataSource
from stellar_ob.testing import LocalHorizon

from hummingbot.core.data_type.order_book_tracker import OrderBookTracker


def _exact(level: Any, bid: bool) -> str:
    """An exact level: price n/d (and its 7-decimal string), amount as Horizon gives it; for a
    bid also its exact base amount (counter * d / n) to 24 digits."""
    if level is None:
        return "-"
    text = f"{level.price.n}/{level.price.d} ({level.price}) x {format_amount(level.amount)}"
    if not bid:
        return text + " base"
    with localcontext() as ctx:
        ctx.prec = 24
        base = Decimal(level.amount * level.price.d) / Decimal(level.price.n * 10_000_000)
    return text + f" counter = {base} base"


def _tracker(book: Any, is_buy: bool) -> str:
    entries = list(book.ask_entries() if is_buy else book.bid_entries())
    if not entries:
        return "-"
    best = entries[0]
    return f"{best.price!r} x {best.amount!r} base"


def print_side_by_side(tracker: OrderBookTracker, source: StellarOrderBookDataSource, pairs: List[str]) -> None:
    for pair in pairs:
        book, exact = tracker.order_books.get(pair), source.exact_book(pair)
        if book is None or exact is None:
            print(f"{pair:12s} (loading)")
            continue
        print(f"{pair:12s} bid  hummingbot {_tracker(book, False):44s} exact {_exact(exact.best_bid(), True)}")
        print(f"{'':12s} ask  hummingbot {_tracker(book, True):44s} exact {_exact(exact.best_ask(), False)}")
        c = source.counters(pair)
        print(f"{'':12s} update_id {source.last_update_id(pair)}: {c.diffs} diffs, {c.snapshots} snapshots, "
              f"{c.resyncs} resyncs, {len(source.hummingbot_book(pair) or [])} levels")


async def run(args: argparse.Namespace) -> None:
    server = None
    if args.horizon:
        url = args.horizon
        table = AssetTable(dict(a.split("=", 1) for a in args.asset))
        pairs = args.pair
    else:
        server = LocalHorizon(markets=2, seed=args.seed, ledger_interval=args.ledger_interval, levels=20)
        await server.start()
        url = server.url
        table = AssetTable.from_assets([a for pair in server.market_assets() for a in pair])
        pairs = [table.trading_pair(b, c) for b, c in server.market_assets()]
    source = StellarOrderBookDataSource(pairs, table, horizon_url=url)
    tracker = OrderBookTracker(source, pairs)
    tracker.start()
    try:
        await asyncio.wait_for(tracker.wait_ready(), 60)
        loop = asyncio.get_running_loop()
        end = loop.time() + args.duration
        while loop.time() < end:
            print_side_by_side(tracker, source, pairs)
            print()
            await asyncio.sleep(1.0)
    finally:
        tracker.stop()
        await source.close()
        if server is not None:
            await server.stop()


def main(argv: List[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--duration", type=float, default=10.0, help="seconds to run (default 10)")
    p.add_argument("--seed", type=int, default=1, help="the local market's seed")
    p.add_argument("--ledger-interval", type=float, default=0.5, help="local ledger close interval, s")
    p.add_argument("--horizon", help="a real Horizon URL instead of the local one")
    p.add_argument("--asset", action="append", default=[], help="SYMBOL=CODE:ISSUER (with --horizon)")
    p.add_argument("--pair", action="append", default=[], help="BASE-QUOTE (with --horizon)")
    args = p.parse_args(argv)
    if args.horizon and not args.pair:
        p.error("--horizon needs at least one --pair")
    logging.basicConfig(level=logging.WARNING)
    asyncio.run(run(args))


if __name__ == "__main__":
    main()
