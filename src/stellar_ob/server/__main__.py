"""``python -m stellar_ob.server --from simulated|rpc URL|replay FILES``."""

from __future__ import annotations

import argparse
import asyncio
import sys
from typing import Optional, Sequence

from .sources import run


def main(argv: Optional[Sequence[str]] = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m stellar_ob.server",
                                 description="A local Horizon-compatible market-data server over a DexBook.")
    ap.add_argument("--from", dest="source", nargs="+", required=True, metavar="SOURCE",
                    help="'simulated', 'rpc URL' or 'replay FILES...'")
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port", type=int, default=8000)
    ap.add_argument("--markets", type=int, default=20, help="simulated: markets")
    ap.add_argument("--seed", type=int, default=1, help="simulated: seed")
    ap.add_argument("--ledger-interval", type=float, default=1.0, help="simulated: seconds between ledgers")
    ap.add_argument("--duration", type=float, default=None, help="stop after this many seconds")
    a = ap.parse_args(argv)
    kind, rest = a.source[0], a.source[1:]
    kw = dict(host=a.host, port=a.port, markets=a.markets, seed=a.seed, ledger_interval=a.ledger_interval,
              duration=a.duration, ready=lambda url: print(f"serving on {url}", flush=True))
    if kind == "rpc":
        if len(rest) != 1:
            ap.error("--from rpc takes one URL")
        kw["url"] = rest[0]
    elif kind == "replay":
        if not rest:
            ap.error("--from replay takes FILES")
        kw["files"] = rest
    elif kind != "simulated" or rest:
        ap.error("--from is 'simulated', 'rpc URL' or 'replay FILES...'")
    try:
        asyncio.run(run(kind, **kw))
    except KeyboardInterrupt:
        pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
