"""The ``stellar-ob`` command: a live terminal view of Stellar DEX books, a local Horizon, snapshots.

::

    stellar-ob demo [--markets N] [--duration S] [--l3]   # offline: local Horizon + simulated market
    stellar-ob watch XLM USDC:GA5Z... [--horizon URL] [--depth N] [--l3]
    stellar-ob snapshot XLM USDC:GA5Z... [--format json|csv]
    stellar-ob serve [--port P] [--markets N] [--ledger-interval S]

Errors a person can act on (unknown asset, no route to Horizon, rate limited) are printed as one
line and exit with status 2; Ctrl-C exits cleanly with status 0.
"""

from stellar_ob.cli.commands import EXIT_ERROR, EXIT_OK, main

__all__ = ["main", "EXIT_OK", "EXIT_ERROR"]
