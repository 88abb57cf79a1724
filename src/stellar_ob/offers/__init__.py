"""The L3 book: every offer of one market, liquidity pools, and stellar-core's crossing math.

- ``_offers`` (compiled, over csrc/offerbook.c and csrc/exchange.c) and ``_pure`` (the readable
  twin) implement ``OfferBook``, ``LiquidityPool`` and ``quote_hop`` with the same API;
  :mod:`stellar_ob._impl` picks one, and ``stellar_ob`` exports it.
- ``_common``: what both need (validation, pool math, Horizon record loading, simulate's
  bookkeeping), plain Python.
- :mod:`stellar_ob.offers.execution`: the typed results (``Offer``, ``Fill``, ``Execution``,
  ``PoolQuote``, ``HopQuote``), also exported by ``stellar_ob``.
"""
