"""The L2 order book: price levels of one market (what Horizon's ``/order_book`` serves).

- ``_book`` (compiled, over csrc/book.c) and ``_pure`` (the readable twin) implement ``Price``,
  ``Level``, ``LevelChange``, ``BookDiff``, ``Quote`` and ``OrderBook`` with the same API;
  :mod:`stellar_ob._impl` picks one for the whole package, and ``stellar_ob`` exports it.
- ``_diffs``: merging of diffs, plain Python that both implementations share.

Import the public names from :mod:`stellar_ob` (``stellar_ob.OrderBook``), not from here: this
package imports nothing on its own, so the implementation choice is made in one place.
"""
