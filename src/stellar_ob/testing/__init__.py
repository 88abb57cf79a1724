"""A local Horizon for tests, demos and connector authors' own tests (loopback only).

>>> import asyncio
>>> from stellar_ob.testing import LocalHorizon
>>> async def main():
...     async with LocalHorizon(markets=1, ledger_interval=0.05) as server:
...         return server.url.startswith("http://127.0.0.1:")
>>> asyncio.run(main())
True

:class:`LocalHorizon` serves /order_book (REST and SSE), /offers, /trades, /ledgers and
/liquidity_pools in Horizon's exact wire format from a :class:`SimulatedMarket`, with fault
switches (:class:`Faults`) for rate limits, error events, early goodbyes, cuts mid-event,
malformed JSON, stalls, slow responses and restarts, and for a hostile server (:data:`~stellar_ob.testing.HOSTILE`:
endless lines, empty goodbyes, comment-only streams, absurd headers and fields, deep, crossed or
overflowing documents, /offers that never end, trickled bodies, redirects).
:mod:`stellar_ob.testing.chaos` runs them all at random against many live books.
"""

from stellar_ob.testing.market import SimulatedMarket, SimulatedOffer, SimulatedPair, account_id, default_pairs
from stellar_ob.testing.server import HOSTILE, Faults, LocalHorizon, RequestRecord

from stellar_ob.testing.ledger_meta import LedgerMarket, LocalStack, XdrEncodeError  # noqa: E402

__all__ = ["LocalHorizon", "Faults", "HOSTILE", "RequestRecord", "SimulatedMarket", "SimulatedPair", "SimulatedOffer",
           "account_id", "default_pairs", "LedgerMarket", "LocalStack", "XdrEncodeError"]
