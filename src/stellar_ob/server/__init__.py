"""A local Horizon-compatible market-data server over a :class:`~stellar_ob.ledger.DexBook` (issue 15).

``python -m stellar_ob.server --from simulated|rpc URL|replay FILES [--host H] [--port P]``

It answers ``/order_book`` (and its SSE stream), ``/offers``, ``/paths/strict-send`` and
``/paths/strict-receive`` with Horizon's parameters and JSON (see :mod:`stellar_ob.server.app`),
from a DexBook kept current by one source (:mod:`stellar_ob.server.sources`):

- ``replay FILES``: SEP-54 data-lake files or LedgerCloseMeta streams (stellar_ob.ledger.files),
  applied in order before serving; the book then stays as of their last ledger;
- ``rpc URL``: a Stellar RPC's ``getLedgers`` through :class:`~stellar_ob.ledger.LedgerStream`,
  from its latest ledger on (the book learns offers as ledgers touch them: a market is complete
  only from a full snapshot, which RPC does not give);
- ``simulated``: a :class:`~stellar_ob.testing.LocalStack` market whose ledgers are applied as
  they close.

Paths are exact (C only; executed before they are returned), with each seller's real funds; the
searches run in a bounded worker pool off the event loop, under a readers-writer lock against the
ledger feed, with a deadline per request (see :mod:`stellar_ob.server.app` and docs/server.md).
"""

from __future__ import annotations

from .app import MAX_ORDER_BOOK_LIMIT, PathPool, ReadWriteLock, ServerState, build_app, path_pool_of, state_of
from .sources import run

__all__ = ["build_app", "run", "ServerState", "ReadWriteLock", "PathPool", "state_of", "path_pool_of",
           "MAX_ORDER_BOOK_LIMIT"]
