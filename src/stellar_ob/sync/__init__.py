"""Live sync with Horizon: one HTTP session for any number of markets, books that never go stale silently.

The SSE bytes are read here (aiohttp) and each event's ``data`` goes straight to the book's
Horizon scanner: the stellar-sdk stream clients drop ``event: error`` and crash on a 429 during a
reconnect (:ref:`stellar-sdk`). What the stream layer handles, and how:

==============================  ==================================================================
Horizon does                    we do
==============================  ==================================================================
``retry: 1000`` / hello         remember the server's retry time (floor for error reconnects,
                                capped by ``backoff_cap``; any number of digits)
an /order_book event            ``OrderBook.apply_horizon(data)``: the diff goes to the caller
10 events, then byebye          reconnect at once (``retry: 10``); the first event resyncs in full
55 s connection timeout         same goodbye, same immediate reconnect
silence                         normal (an unchanged book sends nothing); ``idle_timeout`` (60 s,
                                past Horizon's 55 s close) only catches half-open TCP
``event: error``                surfaced (``last_error``, counters, error callbacks), reconnect
                                after backoff
HTTP 429                        Retry-After / X-RateLimit-Reset block *every* market of this
                                :class:`Horizon` (one shared :class:`RateBudget`), at most
                                ``max_retry_wait``; waiting books show ``Status.RATE_LIMITED``
5xx, resets, cut mid-event      jittered exponential backoff; a partial event is dropped whole
400/404 (bad asset, route)      the book fails (``Status.FAILED``), the error is raised
==============================  ==================================================================

A Horizon can also be broken, or a proxy in front of it hostile. Nothing it sends can grow memory
without bound, make a wait unbounded, make the client hammer it, or fail a book for good:

==============================  ==================================================================
the server does                 we do
==============================  ==================================================================
a line / an event past          drop the connection (``max_line_bytes``, ``max_event_bytes``), count
the caps                        (``limits_exceeded``), surface, reconnect after backoff
a goodbye with no event before  reconnect after backoff, not at once (``empty_goodbyes``); and no
it, ``retry: 0``                stream ever starts twice within ``min_reconnect_interval``
only comments, no event         with ``stall_timeout`` set: stalled, reconnect after backoff
bad JSON, values out of range,  ParseError (strict parsers for every document: /order_book,
nesting, totals past uint64,    /offers, /trades, /ledgers, /liquidity_pools), book unchanged,
ids that are not numbers        counted, surfaced, reconnect or re-page after backoff
best bid > best ask             ``CrossedBookError`` counted (``crossed``) and surfaced; the book
                                keeps its last state, the stream goes on (the next event replaces it)
unreadable rate-limit headers   ignored, counted (``bad_headers``), surfaced (``last_error``, ``on_error``)
a far-future Retry-After        waited at most ``max_retry_wait`` (5 min)
a body trickled, a re-page      ``request_timeout`` per REST request (and per stream answer head),
that never ends                 ``repage_timeout`` per re-page, ``max_body_bytes`` per body,
                                ``max_offer_pages`` per re-page, /offers must advance its cursor
a redirect (3xx)                never followed: HorizonError naming the Location (fails a watch
                                that has not loaded yet; a loaded book retries after backoff)
anything else raised            logged with its traceback, counted (``unexpected_errors``),
                                surfaced, the connection or task starts over after backoff
==============================  ==================================================================

``Status.FAILED`` is only for what cannot heal by asking again: a 4xx (other than 408 and 429) on
the market's own stream (no such asset, a route this server does not have), a 4xx on /offers or a
redirect before the book has loaded. User callbacks cannot stop a book either: whatever
``on_update``, ``on_error`` or ``on_drift`` raise (``CancelledError`` and ``KeyboardInterrupt``
included) is caught, counted and reported as a :class:`CallbackError`.

Example (against the local Horizon of :mod:`stellar_ob.testing`; any URL works the same)::

    async with Horizon(server.url) as horizon:
        live = await horizon.watch("XLM", "USDC:GA5Z...", depth=200)   # loaded on return
        async for update in live.updates():       # coalesces when the consumer is slow
            print(update.diff, live.best_bid(), update.latency_ns)

Per-offer (L3) books (:meth:`Horizon.watch_offers`, :class:`LiveOfferBook`). Horizon never emits
offer_created/updated/removed effects (:ref:`stellar-not-streamable`, :ref:`stellar-l3-sources`), so an L3 book is kept from three
sources, each read the way it is meant to be read:

==============================  ==================================================================
source                          we do
==============================  ==================================================================
GET /offers (both directions,   the book: 200 a page in offer-id order until a short page; every
``selling_*``/``buying_*``)     offer remembers the ``Latest-Ledger`` of the page it came from
/trades page stream for the     the resting offer's fill (``base_offer_id`` if ``base_is_seller``
pair (``cursor=now``, then      else ``counter_offer_id``, amount it sold) is applied with
``Last-Event-ID``)              ``apply_fill`` only if the trade's ledger (paging token >> 32) is
                                after its offer's page: pages are not one snapshot, so this is what
                                keeps a fill from being applied twice or not at all; pool trades
                                and unknown offers are skipped
/ledgers page stream            each new ledger asks for a re-page; a ledger arriving while one
(``cursor=now``)                runs asks for exactly one more (coalesced). The re-paged book,
                                with the fills received meanwhile replayed, is compared with the
                                book the fills kept and replaces it in one step; offers added,
                                removed, changed are *drift* (creations, cancels, edits no stream
                                reports), counted and passed to ``on_drift`` once the trades of
                                the re-page's ledgers are in (late ones applied first: a trade
                                read in the page before its event arrived is not drift)
GET /liquidity_pools            the pair's constant-product pool, read with every re-page; the
(``reserves=A,B``)              /trades pool trades after that read move its reserves in between
                                (deposits and withdrawals trade nothing: pool drift)
==============================  ==================================================================

Both streams and every REST request share the client's rate budget, backoff and error handling
with the L2 books (same :class:`Counters`, same statuses, same ``updates()``/callbacks).
"""

from __future__ import annotations

import logging

from stellar_ob.sync.budget import Backoff, RateBudget, parse_wait
from stellar_ob.sync.client import Horizon
from stellar_ob.sync.health import ServerHealth
from stellar_ob.sync.http import DEFAULT_HORIZON, ArgumentError, CallbackError, LimitExceededError
from stellar_ob.sync.l2 import BookUpdate, LiveBook
from stellar_ob.sync.l3 import AppliedFill, Drift, LiveOfferBook, OfferBookUpdate, OfferCounters
from stellar_ob.sync.stream import Counters, Snapshot, Status, UpdateStream
from stellar_ob.sync.trades import LiveTrades, TradeCounters, TradesUpdate

__all__ = [
    "DEFAULT_HORIZON",
    "Horizon",
    "LiveBook",
    "BookUpdate",
    "Status",
    "Counters",
    "RateBudget",
    "Backoff",
    "Snapshot",
    "LiveOfferBook",
    "OfferBookUpdate",
    "OfferCounters",
    "AppliedFill",
    "Drift",
    "ArgumentError",
    "LimitExceededError",
    "CallbackError",
    "parse_wait",
    "UpdateStream",
    "ServerHealth",
    "LiveTrades",
    "TradesUpdate",
    "TradeCounters",
]

# The public names are documented, printed and pickled as stellar_ob.sync.X, where users import them
# from; the submodules (http, budget, stream, l2, l3, client) are how the code is organised.
for _name in __all__:
    _obj = globals()[_name]
    if hasattr(_obj, "__module__") and getattr(_obj, "__module__", "").startswith("stellar_ob.sync."):
        try:
            _obj.__module__ = __name__
        except (AttributeError, TypeError):  # pragma: no cover - a constant
            pass
del _name, _obj

log = logging.getLogger("stellar_ob.sync")
