"""Live sync with Horizon: one HTTP session for any number of markets, books that never go stale silently.

The SSE bytes are read here (aiohttp) and each event's ``data`` goes straight to the book's
Horizon scanner: the stellar-sdk stream clients drop ``event: error`` and crash on a 429 during a
reconnect (DOMAIN.md, "stellar-sdk"). What the stream layer handles, and how:

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
offer_created/updated/removed effects (DOMAIN.md, "Streaming"), so an L3 book is kept from three
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
                                book the fills kept: offers added, removed, changed are *drift*
                                (creations, cancels, edits no stream reports), counted and passed
                                to ``on_drift``; then it replaces the book in one step
GET /liquidity_pools            the pair's constant-product pool, read with every re-page; the
(``reserves=A,B``)              /trades pool trades after that read move its reserves in between
                                (deposits and withdrawals trade nothing: pool drift)
==============================  ==================================================================

Both streams and every REST request share the client's rate budget, backoff and error handling
with the L2 books (same :class:`Counters`, same statuses, same ``updates()``/callbacks).
"""

from __future__ import annotations

import asyncio
import datetime as _dt
import email.utils
import enum
import inspect
import logging
import math
import operator
import random
import re
import time
import weakref
from dataclasses import dataclass
from typing import Any, Callable, Mapping

import aiohttp

from stellar_ob.errors import (
    AssetMismatchError,
    CrossedBookError,
    HorizonError,
    ParseError,
    RateLimitedError,
    StellarOBError,
    StreamError,
)
from stellar_ob.sse import SSEParser, SSELimitError

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
]

log = logging.getLogger("stellar_ob.sync")

DEFAULT_HORIZON = "https://horizon.stellar.org"
_USER_AGENT = "stellar-ob"
_MiB = 1 << 20
_PROBLEM_BYTES = 64 << 10  # an error body is read up to this much (the message needs a few hundred bytes)


class ArgumentError(StellarOBError, ValueError):
    """An argument of :class:`Horizon`, :meth:`Horizon.watch` or :meth:`Horizon.watch_offers` is
    of the wrong type or out of range (nothing was started)."""


class LimitExceededError(HorizonError):
    """The server sent more than a cap of the client allows (``limit`` names the
    :class:`Horizon` option: ``max_body_bytes``, ``max_offer_pages`` ...). The connection or
    re-page is dropped and retried after backoff; the book is left as it was."""

    def __init__(self, message: str, limit: str) -> None:
        self.limit = limit
        super().__init__(message)


class CallbackError(StellarOBError):
    """An ``on_update`` / ``on_drift`` callback raised (``__cause__`` is what it raised) or
    returned an awaitable. Handed to ``on_error`` callbacks; syncing goes on."""


class Status(str, enum.Enum):
    """Where a live book stands. ``str`` so it prints and compares as its value.

    ``RATE_LIMITED``: waiting for the end of a rate-limit block (Retry-After / X-RateLimit-Reset)
    before the next request; :attr:`LiveBook.rate_limited_until` says when it ends.
    """

    CONNECTING = "connecting"
    LIVE = "live"
    BACKING_OFF = "backing off"
    RATE_LIMITED = "rate limited"
    FAILED = "failed"
    CLOSED = "closed"

    def __str__(self) -> str:
        return self.value


@dataclass
class Counters:
    """What happened to one live book since it started (all monotonically increasing)."""

    connections: int = 0  #: HTTP requests that opened (or tried to open) a stream
    reconnects: int = 0  #: connections after the first
    events: int = 0  #: data events applied (including unchanged books)
    updates: int = 0  #: non-empty diffs published
    coalesced: int = 0  #: updates merged into a pending one because a consumer was behind
    byebyes: int = 0  #: server goodbyes (every 10 events; connection timeout)
    empty_goodbyes: int = 0  #: goodbyes of a connection that delivered no data event (backoff follows)
    error_events: int = 0  #: ``event: error`` received
    parse_errors: int = 0  #: data, ids or documents the parsers rejected (book left unchanged; resynced)
    crossed: int = 0  #: /order_book documents with best bid > best ask (skipped; the book kept)
    http_errors: int = 0  #: non-2xx answers other than 429 (redirects included)
    redirects: int = 0  #: 3xx answers (never followed)
    connection_errors: int = 0  #: resets, refusals, cuts mid-event, idle timeouts
    timeouts: int = 0  #: REST requests and re-pages past their deadline
    stalls: int = 0  #: streams with no event for ``stall_timeout`` s
    limits_exceeded: int = 0  #: lines, events, bodies or page counts past their cap
    bad_headers: int = 0  #: rate-limit headers that were not readable numbers (ignored)
    rate_limited: int = 0  #: 429s and rate-limit error events
    callback_errors: int = 0  #: exceptions raised by callbacks (reported, swallowed)
    unexpected_errors: int = 0  #: anything else raised while syncing (logged; reconnect after backoff)
    bytes_received: int = 0


@dataclass
class OfferCounters(Counters):
    """:class:`Counters` of a per-offer book, plus what its fills and re-pages did.

    ``events`` counts /trades and /ledgers events; ``connections``/``reconnects`` both streams.
    """

    trades: int = 0  #: /trades events received
    fills: int = 0  #: fills applied to the book
    fills_unknown: int = 0  #: fills of offers the book does not hold (created since its page)
    fills_in_page: int = 0  #: fills already in the offer's page (trade ledger <= page ledger)
    fills_clamped: int = 0  #: fills larger than the offer's amount in the book (a stale amount)
    pool_trades: int = 0  #: liquidity-pool trades received (no offer to fill)
    pool_trades_applied: int = 0  #: of those, applied to the pool's reserves (newer than its read)
    pool_drift: int = 0  #: re-pages that found the pool's reserves other than its trades said
    ledgers: int = 0  #: /ledgers events received
    repages: int = 0  #: re-pages installed, the initial load included
    repages_coalesced: int = 0  #: ledgers that did not get a re-page of their own
    repage_errors: int = 0  #: re-pages that failed (the book kept; retried after backoff)
    pages: int = 0  #: /offers pages read
    split_snapshots: int = 0  #: re-pages whose pages were answered at different ledgers
    drift_added: int = 0  #: offers a re-page found that the book did not hold
    drift_removed: int = 0  #: offers the book held that a re-page no longer found
    drift_changed: int = 0  #: offers whose amount or price a re-page found different


@dataclass(frozen=True, slots=True)
class BookUpdate:
    """One change of a live book, handed to ``updates()`` consumers and callbacks.

    ``diff`` goes from the state the consumer last saw to ``book``'s current state; when the
    consumer was slow, several changes are merged (``coalesced`` > 0 counts the extra ones) and
    ``book`` is the latest. ``received_ns``/``applied_ns`` are ``time.perf_counter_ns()`` when the
    event's last byte arrived and when the book had applied it. ``resync`` is True for the first
    event of a (re)connection (a full snapshot).
    """

    live: "LiveBook"
    diff: Any  # stellar_ob.BookDiff
    book: Any  # stellar_ob.OrderBook (the live one: read it before awaiting)
    received_ns: int
    applied_ns: int
    coalesced: int = 0
    resync: bool = False

    @property
    def latency_ns(self) -> int:
        """Bytes received -> book applied, in ns."""
        return self.applied_ns - self.received_ns

    @property
    def is_coalesced(self) -> bool:
        return self.coalesced > 0

    def merged(self, later: "BookUpdate") -> "BookUpdate":
        """This update followed by ``later``, as one (BookDiff.merge keeps it exact)."""
        return BookUpdate(
            self.live,
            self.diff.merge(later.diff),
            later.book,
            later.received_ns,
            later.applied_ns,
            self.coalesced + later.coalesced + 1,
            self.resync or later.resync,
        )


class Backoff:
    """Jittered exponential backoff: attempt k waits uniform(d/2, d), d = min(cap, base * 2**k).

    >>> b = Backoff(base=1.0, cap=8.0, rng=random.Random(1))
    >>> [0.5 <= b.next() <= 1.0, 1.0 <= b.next() <= 2.0]
    [True, True]
    >>> b.reset(); b.attempt
    0
    """

    def __init__(self, base: float = 0.1, cap: float = 30.0, rng: random.Random | None = None) -> None:
        self.base = base
        self.cap = cap
        self.attempt = 0
        self._rng = rng or random.Random()

    def next(self) -> float:
        d = min(self.cap, self.base * (2**self.attempt))
        self.attempt = min(self.attempt + 1, 30)
        return self._rng.uniform(d / 2, d)

    def reset(self) -> None:
        self.attempt = 0


# ---- values read from a server: strict, bounded, never an exception that escapes ---------------------

_ASCII_UINT = re.compile(r"[0-9]{1,20}")  # str patterns: [0-9] is ASCII only ("²" and "٣" are not digits here)
_DELTA_SECONDS = re.compile(r"[0-9]+(?:\.[0-9]+)?")
_TRADE_TOKEN = re.compile(r"([0-9]{1,20})-([0-9]{1,20})")


def _uint(text: Any, max_value: int = 2**64 - 1) -> int | None:
    """``text`` as a non-negative integer of ASCII digits up to ``max_value``; None otherwise."""
    if not isinstance(text, str) or not _ASCII_UINT.fullmatch(text):
        return None
    v = int(text)
    return v if v <= max_value else None


def parse_wait(value: Any, now: float | None = None) -> float | None:
    """Seconds a ``Retry-After`` or ``X-RateLimit-Reset`` header asks to wait, or None if the value
    cannot be read (then the caller uses its default).

    Delta seconds (``"120"``, ``"1.5"``: ASCII digits, any length: too many digits read as
    ``inf``) or an HTTP date (RFC 9110, ``"Fri, 31 Dec 9999 23:59:59 GMT"``: the seconds until then,
    0 if past). ``"inf"``, ``"nan"``, negative or signed numbers, and anything else are unreadable.
    The result is never negative and may be ``inf``: callers cap it.

    >>> parse_wait("120"), parse_wait("1" * 5000), parse_wait("nan"), parse_wait("-1")
    (120.0, inf, None, None)
    >>> parse_wait("Thu, 01 Jan 1970 00:01:40 GMT", now=0.0)
    100.0
    """
    if not isinstance(value, str):
        return None
    text = value.strip()
    if _DELTA_SECONDS.fullmatch(text):
        whole = text.partition(".")[0]
        return float(text) if len(whole) <= 15 else math.inf
    if not text or len(text) > 64:  # an HTTP date is 29 characters
        return None
    try:
        when = email.utils.parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError, OverflowError):
        return None
    if when is None:
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=_dt.timezone.utc)  # RFC 9110: an HTTP date is GMT
    try:
        at = when.timestamp()
    except (OverflowError, OSError, ValueError):
        return math.inf
    wait = at - (time.time() if now is None else now)
    return wait if wait > 0 else 0.0


class RateBudget:
    """One rate-limit view shared by every request of a :class:`Horizon` (Horizon limits per IP).

    It reads ``X-RateLimit-Limit/Remaining/Reset`` from every answer; a 429 (or a response with
    Remaining 0) blocks *all* requests until ``Retry-After`` / ``Reset`` has passed, but never for
    longer than ``max_wait`` seconds (a server asking for 10**12 s, or a date in year 9999, would
    otherwise stop every market for good). ``min_interval`` optionally spaces out request starts
    (e.g. 1000 markets reconnecting at once). Header values that are not numbers are ignored and
    reported by :meth:`observe`.
    """

    def __init__(self, min_interval: float = 0.0, max_wait: float = 300.0) -> None:
        self.limit: int | None = None
        self.remaining: int | None = None
        self.reset_in: float | None = None
        self.blocked_until = 0.0  # time.monotonic()
        self.min_interval = min_interval
        self.max_wait = max_wait
        self.waits = 0
        self.wait_seconds = 0.0
        self._next_slot = 0.0

    def observe(self, headers: Mapping[str, str]) -> list[str]:
        """Read the rate-limit headers of an answer; returns the ``"name: value"`` of those that
        could not be read (they are ignored)."""
        bad: list[str] = []
        get = headers.get
        limit, remaining, reset = get("X-RateLimit-Limit"), get("X-RateLimit-Remaining"), get("X-RateLimit-Reset")
        if limit is not None:
            v = _uint(limit.strip())
            if v is None:
                bad.append(f"X-RateLimit-Limit: {limit[:40]!r}")
            else:
                self.limit = v
        rem: int | None = None
        if remaining is not None:
            rem = _uint(remaining.strip())
            if rem is None:
                bad.append(f"X-RateLimit-Remaining: {remaining[:40]!r}")
            else:
                self.remaining = rem
        if reset is not None:
            wait = parse_wait(reset)
            if wait is None:
                bad.append(f"X-RateLimit-Reset: {reset[:40]!r}")
            else:
                self.reset_in = min(wait, self.max_wait)
                if rem is not None and rem <= 0:
                    self.block(wait)
        return bad

    def block(self, seconds: float) -> float:
        """No request starts before ``seconds`` from now (capped at ``max_wait``); returns the wait."""
        if not seconds == seconds:  # nan
            return 0.0
        seconds = min(max(0.0, seconds), self.max_wait)
        self.blocked_until = max(self.blocked_until, time.monotonic() + seconds)
        return seconds

    def retry_after(self, headers: Mapping[str, str]) -> float:
        """Seconds a 429 asks us to wait: the larger of Retry-After (seconds or HTTP date) and
        X-RateLimit-Reset, 1 if neither can be read, capped at ``max_wait``."""
        waits = [w for w in (parse_wait(headers.get("Retry-After")), parse_wait(headers.get("X-RateLimit-Reset")))
                 if w is not None]
        return min(max(waits) if waits else 1.0, self.max_wait)

    def blocked_for(self) -> float:
        """Seconds until the current block ends (0 if none)."""
        return max(0.0, self.blocked_until - time.monotonic())

    async def acquire(self, owner: "_Live | None" = None) -> None:
        """Wait until a request may start. While a rate-limit block holds it, ``owner`` (a live book)
        shows :attr:`Status.RATE_LIMITED` and when the block ends."""
        while True:
            now = time.monotonic()
            blocked = self.blocked_until - now
            wait = blocked
            if self.min_interval:
                slot = max(self._next_slot, now)
                wait = max(wait, slot - now)
            if wait <= 0:
                if self.min_interval:
                    self._next_slot = max(self._next_slot, now) + self.min_interval
                return
            if blocked > 0 and owner is not None:
                owner._rate_limited(blocked)
            self.waits += 1
            self.wait_seconds += wait
            await asyncio.sleep(wait)


@dataclass(frozen=True)
class Snapshot:
    """A REST /order_book answer: the book and the ``Latest-Ledger`` it was read at."""

    book: Any
    latest_ledger: int | None
    fetched_at: float


class _Reconnect(Exception):
    """Internal: end this connection; ``delay`` None = use backoff, 0 = at once. ``permanent``:
    the error cannot heal (the owner fails with it instead of reconnecting)."""

    def __init__(self, delay: float | None, error: BaseException | None = None, permanent: bool = False) -> None:
        self.delay = delay
        self.error = error
        self.permanent = permanent


def _market_name(base: Any, counter: Any) -> str:
    def short(a: Any) -> str:
        return "XLM" if a.issuer is None else a.code

    return f"{short(base)}/{short(counter)}"


def _is_redirect(status: int) -> bool:
    return 300 <= status < 400


def _redirect_error(resp: aiohttp.ClientResponse, what: str) -> HorizonError:
    location = resp.headers.get("Location", "")[:200]
    return HorizonError(f"Horizon answered {resp.status} for {what}, redirecting to {location!r}: stellar_ob "
                        f"follows no redirects (point Horizon(url) at the final address)", status=resp.status)


async def _read_capped(resp: aiohttp.ClientResponse, cap: int, what: str) -> bytes:
    """The body of ``resp``, or LimitExceededError as soon as it is past ``cap`` bytes."""
    length = resp.content_length
    if length is not None and length > cap:
        raise LimitExceededError(f"{what}: the body is {length:,} bytes, over max_body_bytes={cap:,}",
                                 "max_body_bytes")
    buf = bytearray()
    content = resp.content
    while True:
        chunk = await content.readany()
        if not chunk:
            return bytes(buf)
        buf += chunk
        if len(buf) > cap:
            raise LimitExceededError(f"{what}: the body is over max_body_bytes={cap:,}", "max_body_bytes")


async def _problem_error(resp: aiohttp.ClientResponse, what: str) -> HorizonError:
    """The error an unsuccessful answer stands for, from its problem+json body when there is one
    (read up to 64 KiB with the strict decoder; anything unreadable leaves just the status)."""
    from stellar_ob._json import loads

    try:
        text = await _read_capped(resp, _PROBLEM_BYTES, what)
    except (aiohttp.ClientError, asyncio.TimeoutError, LimitExceededError, ConnectionError):
        text = b""
    problem: dict = {}
    try:
        doc = loads(text) if text else {}
        if isinstance(doc, dict):
            problem = {str(k): v for k, v in doc.items()}
    except ParseError:
        pass

    def short(v: Any) -> str:
        return v[:300] if isinstance(v, str) else ""

    title = short(problem.get("title")) or short(resp.reason) or "error"
    detail = short(problem.get("detail"))
    extras = problem.get("extras")
    if not isinstance(extras, dict):
        extras = {}
    reason = short(extras.get("reason"))
    msg = f"Horizon answered {resp.status} {title} for {what}"
    if reason:
        msg += f": {short(extras.get('invalid_field'))} {reason}".rstrip()
    elif detail:
        msg += f": {detail}"
    if resp.status == 429:
        return RateLimitedError(msg, retry_after=0.0, problem=problem)
    return HorizonError(msg, status=resp.status, problem=problem)


class _Deadline:
    """``async with _deadline(s):`` raises ``asyncio.TimeoutError`` if the block takes longer than
    ``s`` seconds (None = no limit). Python 3.10's stand-in for ``asyncio.timeout``."""

    def __init__(self, delay: float | None) -> None:
        self._delay = delay
        self._handle: asyncio.TimerHandle | None = None
        self._expired = False

    async def __aenter__(self) -> "_Deadline":
        if self._delay is not None:
            task = asyncio.current_task()
            assert task is not None
            self._handle = asyncio.get_running_loop().call_later(self._delay, self._expire, task)
        return self

    def _expire(self, task: asyncio.Task) -> None:
        self._expired = True
        task.cancel()

    async def __aexit__(self, et: Any, e: Any, tb: Any) -> bool:
        if self._handle is not None:
            self._handle.cancel()
        if et is asyncio.CancelledError and self._expired:
            raise asyncio.TimeoutError from None
        return False


# asyncio.wait_for (3.11 and before) can lose a cancellation that arrives as the awaited thing
# finishes (cpython gh-86296): a book's task would then outlive close(). asyncio.timeout cannot.
_deadline: Callable[[float | None], Any] = getattr(asyncio, "timeout", _Deadline)


def _check_seconds(name: str, value: Any, *, positive: bool = False, or_none: str = "") -> float:
    """A duration argument: a finite real number >= 0 (> 0 if ``positive``)."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ArgumentError(f"{name} must be a number of seconds{or_none}, got {type(value).__name__}")
    v = float(value)
    if not math.isfinite(v) or v < 0 or (positive and v == 0):
        raise ArgumentError(f"{name} must be a finite number {'>' if positive else '>='} 0{or_none}, got {value!r}")
    return v


def _check_optional_seconds(name: str, value: Any, *, positive: bool = False) -> float | None:
    """A duration argument that may be None (no limit)."""
    return None if value is None else _check_seconds(name, value, positive=positive, or_none=" or None")


def _check_int(name: str, value: Any, lo: int, hi: int, why: str = "") -> int:
    """An integer argument in lo..hi (bool is not an integer here)."""
    if isinstance(value, bool):
        raise ArgumentError(f"{name} must be an integer, got bool")
    try:
        v = operator.index(value)
    except TypeError:
        raise ArgumentError(f"{name} must be an integer, got {type(value).__name__}") from None
    if not lo <= v <= hi:
        raise ArgumentError(f"{name} must be {lo}..{hi}{why}, got {v}")
    return v


def _check_callback(name: str, value: Any) -> None:
    if value is not None and not callable(value):
        raise ArgumentError(f"{name} must be callable or None, got {type(value).__name__}")


class _UpdateStream:
    """``async for`` over a live book's updates with a one-slot coalescing buffer."""

    def __init__(self, live: "_Live") -> None:
        self._live = live
        self._pending: Any = None
        self._wake = asyncio.Event()
        self._closed = False

    def _push(self, update: Any) -> None:
        if self._pending is None:
            self._pending = update
        else:
            self._pending = self._pending.merged(update)
            self._live.counters.coalesced += 1
        self._wake.set()

    def _end(self) -> None:
        self._closed = True
        self._wake.set()

    def __aiter__(self) -> "_UpdateStream":
        return self

    async def __anext__(self) -> Any:
        while True:
            u = self._pending
            if u is not None:
                self._pending = None
                return u
            live = self._live
            if live.status is Status.FAILED and live.last_error is not None:
                self.close()
                raise live.last_error
            if self._closed or live.status is Status.CLOSED:
                self.close()
                raise StopAsyncIteration
            self._wake.clear()
            await self._wake.wait()

    def close(self) -> None:
        """Stop receiving updates (also what ``break`` out of the loop should be followed by)."""
        self._closed = True
        self._live._streams.discard(self)

    async def aclose(self) -> None:
        self.close()


class _Live:
    """What every live book shares: status, counters, consumers, error surfacing, tasks, close."""

    book: Any

    def __init__(self, horizon: "Horizon", name: str, counters: Counters) -> None:
        self.horizon = horizon
        self.name = name
        self._status = Status.CONNECTING
        self.rate_limited_until: float | None = None  #: time.time() a rate-limit wait ends (status RATE_LIMITED)
        self.confirmed_at: float | None = None
        self.confirmed_ns: int | None = None
        self.last_error: BaseException | None = None
        self.counters = counters
        self.server_retry_ms: int | None = None
        self._callbacks: list[Callable[[Any], Any]] = []
        self._error_callbacks: list[Callable[[Any, BaseException], Any]] = []
        self._streams: "weakref.WeakSet[_UpdateStream]" = weakref.WeakSet()
        self._ready = False  # loaded once (the book holds the server's state or a later one)
        self._loaded = asyncio.Event()  # wakes the watch() waiting for the load: loaded, or failed
        self._changed = asyncio.Event()
        self._tasks: list[asyncio.Task] = []

    @property
    def status(self) -> Status:
        """:class:`Status` of the book (``rate_limited_until`` is set while RATE_LIMITED). FAILED
        is final."""
        return self._status

    @status.setter
    def status(self, value: Status) -> None:
        if self._status is Status.FAILED:
            return  # final: a task that has not seen its cancellation yet must not hide it
        if value is not Status.RATE_LIMITED:
            self.rate_limited_until = None
        self._status = value

    def _set_loaded(self) -> None:
        self._ready = True
        self._loaded.set()

    @property
    def loaded(self) -> bool:
        """True once the book has been loaded from the server (it stays True)."""
        return self._ready

    @property
    def age(self) -> float | None:
        """Seconds since the server last confirmed this book (None before the first event)."""
        return None if self.confirmed_at is None else time.time() - self.confirmed_at

    # ---- consuming changes ---------------------------------------------------------------------------
    def updates(self) -> _UpdateStream:
        """An async iterator of updates, one slot deep: a slow consumer gets the latest book and the
        merged change (``update.coalesced`` says how many were merged), never a growing queue.
        Ends when the book is closed; raises the error if the book fails."""
        s = _UpdateStream(self)
        self._streams.add(s)
        return s

    def on_update(self, callback: Callable[[Any], Any]) -> Callable[[], None]:
        """Call ``callback(update)`` synchronously for every change (no coalescing). Whatever it
        raises (any exception, even ``CancelledError`` or ``KeyboardInterrupt``) is caught, counted
        (``callback_errors``), logged and handed to ``on_error`` callbacks as a
        :class:`CallbackError`: a callback never stops the sync. Returns a function that unregisters it."""
        _check_callback("callback", callback)
        self._callbacks.append(callback)
        return lambda: self._callbacks.remove(callback) if callback in self._callbacks else None

    def on_error(self, callback: Callable[[Any, BaseException], Any]) -> Callable[[], None]:
        """Call ``callback(live, error)`` for every error surfaced (error events, parse errors,
        rate limits, connection drops, caps, callback errors); the book keeps syncing unless it is a
        permanent failure. What the callback raises is caught, counted and logged."""
        _check_callback("callback", callback)
        self._error_callbacks.append(callback)
        return lambda: self._error_callbacks.remove(callback) if callback in self._error_callbacks else None

    async def wait_for(self, predicate: Callable[[Any], bool], timeout: float | None = None) -> None:
        """Wait until ``predicate(book)`` holds (checked now, after every applied event, goodbye and error).

        Raises ``asyncio.TimeoutError`` after ``timeout`` s, the error if the book fails."""

        async def wait() -> None:
            while not predicate(self.book):
                if self.status is Status.FAILED and self.last_error is not None:
                    raise self.last_error
                if self.status is Status.CLOSED:
                    raise HorizonError(f"{self.name}: the live book was closed")
                self._changed.clear()
                await self._changed.wait()

        async with _deadline(timeout):
            await wait()

    async def close(self) -> None:
        """Stop syncing this market and release its connections (idempotent)."""
        tasks, self._tasks = self._tasks, []
        pending = {t for t in tasks if not t.done()}
        while pending:  # cancel again should a task ever swallow one (it would outlive the book)
            for task in pending:
                task.cancel()
            _, pending = await asyncio.wait(pending, timeout=1.0)
        for task in tasks:
            if not task.cancelled() and task.exception() is not None:  # _guard lets nothing out; be sure
                log.error("%s: a sync task ended with %r", self.name, task.exception())
        if self.status is not Status.FAILED:
            self.status = Status.CLOSED
        self._end_streams()
        self.horizon._forget(self)

    # ---- internals -----------------------------------------------------------------------------------
    def _end_streams(self) -> None:
        for s in list(self._streams):
            s._end()
        self._changed.set()

    def _spawn(self, run: Callable[[], Any], what: str) -> None:
        self._tasks.append(asyncio.create_task(self._guard(run, what),
                                               name=f"stellar-ob {self.name} {what}".rstrip()))

    async def _guard(self, run: Callable[[], Any], what: str) -> None:
        """Run one of this book's tasks (``run()`` makes its coroutine). Each task handles what a
        server can do; should anything else escape (a bug), it is logged with its traceback, counted
        (``unexpected_errors``), surfaced, and the task starts over after backoff: nothing a server
        sends can stop a book for good."""
        backoff = Backoff(self.horizon.backoff_base, self.horizon.backoff_cap)
        while True:
            try:
                await run()
                return
            except asyncio.CancelledError:
                raise
            except Exception as e:
                log.exception("%s: %s task failed; restarting it after backoff", self.name, what or "sync")
                self.counters.unexpected_errors += 1
                self._surface(e)
                if self.status is Status.FAILED:
                    return
                self.status = Status.BACKING_OFF
                await asyncio.sleep(backoff.next())

    def _fail(self, error: BaseException) -> None:
        """A permanent failure: FAILED, surfaced, consumers ended, the book's other tasks stopped."""
        self.status = Status.FAILED
        self._surface(error)
        self._end_streams()
        self._loaded.set()
        me = asyncio.current_task()
        for t in self._tasks:
            if t is not me:
                t.cancel()

    def _rate_limited(self, seconds: float) -> None:
        """A request of this book waits ``seconds`` for a rate-limit block to end."""
        self.status = Status.RATE_LIMITED
        self.rate_limited_until = time.time() + seconds
        self._changed.set()

    def _surface(self, error: BaseException) -> None:
        self.last_error = error
        self._report(error)

    def _report(self, error: BaseException) -> None:
        """Tell metrics and on_error callbacks about ``error`` (without making it ``last_error``)."""
        self._changed.set()
        m = self.horizon.metrics
        if m is not None:
            m.error(self, type(error).__name__)
        for cb in list(self._error_callbacks):
            self._call(cb, "on_error", self, error, report=False)

    def _call(self, cb: Callable[..., Any], what: str, *args: Any, report: bool = True) -> None:
        """Call a user callback; nothing it raises or returns can reach the sync task."""
        try:
            result = cb(*args)
        except BaseException as e:  # noqa: BLE001 - a callback must never stop the sync (see on_update)
            if isinstance(e, asyncio.CancelledError) and _cancelling():
                raise  # this task is being cancelled (close()): that cancellation is ours, not the callback's
            self.counters.callback_errors += 1
            log.error("%s: %s callback %r raised %r", self.name, what, cb, e, exc_info=e)
            if report:
                err = CallbackError(f"{self.name}: {what} callback raised {e!r}")
                err.__cause__ = e
                self._report(err)
            return
        if inspect.isawaitable(result):  # called synchronously: an awaitable would never run
            close = getattr(result, "close", None)
            if close is not None:
                try:
                    close()
                except Exception:  # noqa: BLE001 - whatever the awaitable does on close
                    pass
            self.counters.callback_errors += 1
            log.error("%s: %s callback %r returned an awaitable; callbacks are called synchronously", self.name,
                      what, cb)
            if report:
                self._report(CallbackError(f"{self.name}: {what} callback returned an awaitable that would never "
                                           "run (callbacks are called synchronously; use updates() to await)"))

    def _publish(self, update: Any) -> None:
        self.counters.updates += 1
        for cb in list(self._callbacks):
            self._call(cb, "on_update", update)
        for s in list(self._streams):
            s._push(update)

    def _confirm(self, applied_ns: int) -> None:
        self.confirmed_at = time.time()
        self.confirmed_ns = applied_ns


def _cancelling() -> bool:
    """True when the running task has a cancellation pending (Python 3.11+: Task.cancelling())."""
    task = asyncio.current_task()
    cancelling = getattr(task, "cancelling", None)
    return bool(cancelling()) if cancelling is not None else False


_QUIET_CLOSE = 10.0  # s: an empty goodbye after a connection this old is a quiet stream timing out, not a storm


class _SSEStream:
    """One Horizon SSE stream of a live book, kept open for as long as the book lives.

    ``on_data(data, received_ns, first)`` gets each data event (``first``: the first of this
    connection); it raises :class:`_Reconnect` to drop the connection (e.g. unparseable data).
    Page streams (``page=True``) remember the id of the last event ``on_data`` accepted and resume
    from it; ``valid_id(id)`` says whether an ``id:`` the server sent can be sent back (an event
    with an id that cannot is refused before ``on_data`` sees it); ``resume(stream)`` may choose
    the ``(cursor, last_event_id)`` of the next connection (default: ``("now", last id)``).
    ``on_open(stream)`` runs on the server's hello.

    Reconnects: at once after a goodbye that followed at least one data event (Horizon's normal
    close every 10 events or ``limit``), or that ended a connection open for ``_QUIET_CLOSE`` s or
    more (Horizon's 55 s timeout of a page stream with nothing new); after backoff for anything
    else, a goodbye right after the hello included; and never two connection starts of one stream
    closer than ``Horizon.min_reconnect_interval``.
    """

    def __init__(
        self,
        owner: _Live,
        path: str,
        params: dict[str, str],
        on_data: Callable[[bytes, int, bool], None],
        *,
        what: str,
        page: bool = False,
        resume: Callable[["_SSEStream"], tuple[str, str | None]] | None = None,
        on_open: Callable[["_SSEStream"], None] | None = None,
        valid_id: Callable[[str], bool] | None = None,
    ) -> None:
        horizon = owner.horizon
        self.owner = owner
        self.url = horizon.url + path
        self.params = params
        self.on_data = on_data
        self.what = what
        self.page = page
        self.resume = resume
        self.on_open = on_open
        self.valid_id = valid_id
        self.backoff = Backoff(horizon.backoff_base, horizon.backoff_cap)
        self.connected_once = False
        self.server_retry_ms: int | None = None
        self.last_id: str | None = None  #: page streams: id of the last event applied
        self.cursor_used: str | None = None  #: page streams: the cursor of the current connection
        self.last_id_used: str | None = None  #: page streams: the Last-Event-ID it was opened with
        self.data_events = 0  #: data events of the current connection
        self._last_start = -math.inf  # time.monotonic() of the last connection start

    async def run(self) -> None:
        """Connect, read, reconnect (see the class docstring) until cancelled; a permanent failure
        (a 4xx other than 408/429 on the stream, a redirect before the book loaded) fails the owner."""
        owner = self.owner
        horizon = owner.horizon
        while True:
            delay: float | None
            try:
                await self._connect_once()
                if self.data_events or time.monotonic() - self._last_start >= _QUIET_CLOSE:
                    delay = 0.0  # a clean goodbye after events or a quiet while: Horizon's normal close
                    self.backoff.reset()
                else:  # a goodbye with nothing before it: reconnecting at once would hammer the server
                    owner.counters.empty_goodbyes += 1
                    delay = None
            except _Reconnect as r:
                if r.permanent:
                    owner._fail(r.error if r.error is not None else HorizonError(f"{self.what}: failed"))
                    return
                delay = r.delay
                if r.error is not None:
                    owner._surface(r.error)
            if delay is None:
                delay = self.backoff.next()
                if horizon.honor_server_retry and self.server_retry_ms:
                    delay = max(delay, min(self.server_retry_ms / 1000.0, horizon.backoff_cap))
            if delay > 0:
                owner.status = Status.BACKING_OFF
                await asyncio.sleep(delay)
            elif self.server_retry_ms is not None and self.server_retry_ms <= 100:
                await asyncio.sleep(self.server_retry_ms / 1000.0)  # Horizon's goodbye: retry: 10

    async def _pace(self) -> None:
        """Keep connection starts of this stream ``min_reconnect_interval`` apart."""
        wait = self._last_start + self.owner.horizon.min_reconnect_interval - time.monotonic()
        if wait > 0:
            await asyncio.sleep(wait)

    async def _connect_once(self) -> None:
        owner = self.owner
        horizon = owner.horizon
        counters = owner.counters
        self.data_events = 0
        await self._pace()
        await horizon.budget.acquire(owner)
        self._last_start = time.monotonic()
        if self.connected_once:
            counters.reconnects += 1
            if horizon.metrics is not None:
                horizon.metrics.reconnect(owner)
        self.connected_once = True
        counters.connections += 1
        if owner.status is not Status.LIVE:
            owner.status = Status.CONNECTING
        session = horizon._session_or_raise()
        params = self.params
        headers = {"Accept": "text/event-stream"}
        if self.page:
            cursor, last_id = self.resume(self) if self.resume is not None else ("now", self.last_id)
            params = {**params, "cursor": cursor}
            if last_id is not None:
                headers["Last-Event-ID"] = last_id  # wins over ?cursor (horizon actions/helpers.go)
            self.cursor_used, self.last_id_used = cursor, last_id
        try:
            # The answer's head must arrive within request_timeout (sock_read alone lets a server
            # trickle one header byte a minute); the body is then read for as long as the stream lives.
            async with _deadline(horizon.request_timeout):
                resp = await session.get(self.url, params=params, headers=headers, timeout=horizon._stream_timeout,
                                         allow_redirects=False)
        except asyncio.TimeoutError:
            counters.timeouts += 1
            counters.connection_errors += 1
            raise _Reconnect(None, StreamError(f"{self.what}: no answer within {horizon.request_timeout:g} s")) from None
        except (aiohttp.ClientError, ConnectionError, OSError) as e:
            counters.connection_errors += 1
            raise _Reconnect(None, StreamError(f"{self.what}: connection lost: {e!r}")) from None
        try:
            self._observe(resp)
            status = resp.status
            if status == 429:
                wait = horizon.budget.retry_after(resp.headers)
                horizon.budget.block(wait)
                err = await self._error_of(resp)
                if isinstance(err, RateLimitedError):
                    err.retry_after = wait
                counters.rate_limited += 1
                if horizon.metrics is not None:
                    horizon.metrics.rate_limit_wait(owner, wait)
                raise _Reconnect(0.0, err)  # budget.acquire() does the waiting
            if _is_redirect(status):
                counters.http_errors += 1
                counters.redirects += 1
                raise _Reconnect(None, _redirect_error(resp, self.what), permanent=not owner.loaded)
            if status >= 500 or status in (408, 499):
                counters.http_errors += 1
                raise _Reconnect(None, await self._error_of(resp))
            if status != 200:
                counters.http_errors += 1
                raise _Reconnect(None, await self._error_of(resp), permanent=True)
            await self._read_stream(resp)
        except (aiohttp.ClientError, asyncio.TimeoutError, ConnectionError, OSError) as e:
            counters.connection_errors += 1
            raise _Reconnect(None, StreamError(f"{self.what}: connection lost: {e!r}")) from None
        except (_Reconnect, asyncio.CancelledError):
            raise
        except Exception as e:  # a bug, or a value no check anticipated: never the end of the book
            log.exception("%s: unexpected error", self.what)
            counters.unexpected_errors += 1
            raise _Reconnect(None, e) from None
        finally:
            resp.close()  # never back to the pool: a half-read stream is no use to anyone

    def _observe(self, resp: aiohttp.ClientResponse) -> None:
        bad = self.owner.horizon.budget.observe(resp.headers)
        if bad:
            self.owner.counters.bad_headers += len(bad)
            self.owner._surface(ParseError(f"{self.what}: ignored unreadable headers: {', '.join(bad)}"))

    async def _error_of(self, resp: aiohttp.ClientResponse) -> HorizonError:
        try:
            async with _deadline(self.owner.horizon.request_timeout):
                return await _problem_error(resp, self.what)
        except asyncio.TimeoutError:
            return HorizonError(f"Horizon answered {resp.status} for {self.what}", status=resp.status)

    async def _read_stream(self, resp: aiohttp.ClientResponse) -> None:
        owner = self.owner
        horizon = owner.horizon
        parser = SSEParser(horizon.max_line_bytes, horizon.max_event_bytes)
        counters = owner.counters
        on_data = self.on_data
        page = self.page
        valid_id = self.valid_id
        first = True
        content = resp.content
        perf = time.perf_counter_ns
        stall = horizon.stall_timeout
        last_event = time.monotonic()
        while True:
            if stall is None:
                chunk = await content.readany()
            else:
                left = last_event + stall - time.monotonic()
                try:
                    if left <= 0:
                        raise asyncio.TimeoutError
                    async with _deadline(left):
                        chunk = await content.readany()
                except asyncio.TimeoutError:
                    counters.stalls += 1
                    raise _Reconnect(None, StreamError(f"{self.what}: no event for {stall:g} s (stall_timeout): "
                                                       "treated as stalled")) from None
            if not chunk:
                break
            t = perf()
            counters.bytes_received += len(chunk)
            try:
                events = parser.feed(chunk)
            except SSELimitError as e:
                counters.limits_exceeded += 1
                if horizon.metrics is not None:
                    horizon.metrics.limit(owner, "max_line_bytes" if e.limit == "max_line" else "max_event_bytes")
                raise _Reconnect(None, StreamError(f"{self.what}: {e}")) from None
            if events:
                last_event = time.monotonic()
            if parser.retry is not None:
                self.server_retry_ms = owner.server_retry_ms = parser.retry
            for ev in events:
                kind = ev.event
                if kind == "message":
                    if page and ev.id is not None and valid_id is not None and not valid_id(ev.id):
                        counters.parse_errors += 1
                        raise _Reconnect(None, ParseError(f"{self.what}: an event id that cannot be sent back: "
                                                          f"{ev.id[:40]!r}"))
                    on_data(ev.data, t, first)
                    first = False
                    self.data_events += 1
                    if page and ev.id is not None:
                        self.last_id = ev.id
                elif kind == "open":
                    if owner.loaded:
                        owner.status = Status.LIVE
                    if self.on_open is not None:
                        self.on_open(self)
                elif kind == "close":
                    counters.byebyes += 1
                    owner._changed.set()
                    return
                elif kind == "error":
                    counters.error_events += 1
                    text = ev.data[:500].decode("utf-8", "replace")
                    if "rate limit" in text.lower():
                        counters.rate_limited += 1
                        err: StreamError = StreamError(f"{self.what}: Horizon stream error: {text}", status=429)
                    else:
                        err = StreamError(f"{self.what}: Horizon stream error: {text}")
                    raise _Reconnect(None, err)
        # EOF without a goodbye: the server went away (a partial event in the parser is dropped)
        counters.connection_errors += 1
        raise _Reconnect(None, StreamError(f"{self.what}: stream ended without a goodbye"))


class LiveBook(_Live):
    """An :class:`~stellar_ob.OrderBook` kept current from Horizon's /order_book stream.

    Read it like an OrderBook (``bids()``, ``asks()``, ``best_bid()``, ``spread()``, ``len()`` ...
    delegate to :attr:`book`); get changes with ``async for u in live.updates()`` or
    :meth:`on_update` callbacks. :attr:`status`, :attr:`confirmed_at` (wall-clock time of the last
    event or reconnect snapshot: silence is normal, Horizon sends nothing while a book is
    unchanged), :attr:`last_error` and :attr:`counters` say how it is doing.
    Created by :meth:`Horizon.watch`.
    """

    kind = "l2"  #: metrics label of L2 books

    def __init__(self, horizon: "Horizon", base: Any, counter: Any, depth: int) -> None:
        from stellar_ob import OrderBook

        book = OrderBook(base, counter)
        super().__init__(horizon, _market_name(book.base, book.counter), Counters())
        self.book = book
        self.base = book.base
        self.counter = book.counter
        self.depth = depth
        params = {**self.base.horizon_params("selling"), **self.counter.horizon_params("buying"),
                  "limit": str(depth)}
        self._stream = _SSEStream(self, "/order_book", params, self._apply, what=self.name)
        self._backoff = self._stream.backoff

    # ---- reading (delegated to the book) -------------------------------------------------------------
    def bids(self, depth: int | None = None) -> list:
        return self.book.bids(depth)

    def asks(self, depth: int | None = None) -> list:
        return self.book.asks(depth)

    def best_bid(self) -> Any:
        return self.book.best_bid()

    def best_ask(self) -> Any:
        return self.book.best_ask()

    def spread(self) -> Any:
        return self.book.spread()

    def mid(self) -> Any:
        return self.book.mid()

    def __len__(self) -> int:
        return len(self.book)

    def __getattr__(self, name: str) -> Any:  # everything else an OrderBook has
        if name == "book":
            raise AttributeError(name)
        return getattr(self.book, name)

    def __repr__(self) -> str:
        return f"<LiveBook {self.name} {self.status.value} levels={len(self.book)}>"

    # ---- the stream ----------------------------------------------------------------------------------
    def _start(self) -> None:
        self._spawn(self._stream.run, "")

    def _apply(self, data: bytes, received_ns: int, resync: bool) -> None:
        try:
            diff = self.book.apply_horizon(data)
        except CrossedBookError as e:
            # Well-formed but impossible (best bid > best ask: a Horizon or proxy bug). The book keeps
            # its last state; every event is a whole book, so the next one replaces it: keep reading.
            self.counters.crossed += 1
            self._surface(e)
            return
        except (StellarOBError, ValueError, OverflowError, RecursionError) as e:
            # Bad JSON, a value out of range, totals past uint64, another market's document: the
            # book is unchanged; a fresh connection (after backoff) starts with a full snapshot.
            self.counters.parse_errors += 1
            err = e if isinstance(e, StellarOBError) else ParseError(f"{self.name}: bad /order_book event: {e!r}")
            raise _Reconnect(None, err) from None
        applied = time.perf_counter_ns()
        self.confirmed_at = time.time()
        self.confirmed_ns = applied
        self.counters.events += 1
        self._backoff.reset()
        self.status = Status.LIVE
        if not self._ready:
            self._set_loaded()
        metrics = self.horizon.metrics
        if diff:
            update = BookUpdate(self, diff, self.book, received_ns, applied, 0, resync)
            self._publish(update)
            if metrics is not None:
                metrics.update(self, update)
        elif metrics is not None:
            metrics.event(self)
        self._changed.set()


# ---- per-offer (L3) books ------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class AppliedFill:
    """One /trades fill applied to a resting offer: ``sold`` (in what the offer sells) was taken,
    ``remaining`` is left after core's adjustOffer (0 = the offer is gone)."""

    offer_id: int
    sold: int
    remaining: int
    ledger: int | None
    trade_id: str | None


@dataclass(frozen=True, slots=True)
class Drift:
    """What a re-page found that no stream had reported: offers ``added`` (created since), ``removed``
    (cancelled, or taken by fills we never saw), ``changed`` (amount or price edited), by offer id.
    ``ledger`` is the oldest ledger the re-page's pages were answered at."""

    ledger: int
    added: tuple[int, ...] = ()
    removed: tuple[int, ...] = ()
    changed: tuple[int, ...] = ()
    pool: bool = False  #: the pool's reserves differed (deposits and withdrawals make no trade)

    def __bool__(self) -> bool:
        return bool(self.added or self.removed or self.changed or self.pool)

    @property
    def total(self) -> int:
        return len(self.added) + len(self.removed) + len(self.changed)

    def merged(self, later: "Drift | None") -> "Drift":
        if later is None:
            return self
        return Drift(later.ledger, self.added + later.added, self.removed + later.removed,
                     self.changed + later.changed, self.pool or later.pool)


@dataclass(frozen=True, slots=True)
class OfferBookUpdate:
    """One change of a :class:`LiveOfferBook`: ``fills`` applied from /trades, a pool trade
    (``pool_changed``; read :attr:`LiveOfferBook.pool`), or a re-page (``repaged``; ``drift`` says
    what it corrected, None for the initial load). ``book`` is the current OfferBook (a re-page
    installs a new object: read it before awaiting). Coalesced updates concatenate fills and drift;
    ``ledger`` is the book's :attr:`LiveOfferBook.ledger`."""

    live: "LiveOfferBook"
    book: Any
    fills: tuple[AppliedFill, ...]
    drift: Drift | None
    repaged: bool
    ledger: int | None
    received_ns: int
    applied_ns: int
    coalesced: int = 0
    pool_changed: bool = False

    @property
    def latency_ns(self) -> int:
        """Bytes received -> book applied (for a re-page: the last page received -> installed), in ns."""
        return self.applied_ns - self.received_ns

    @property
    def is_coalesced(self) -> bool:
        return self.coalesced > 0

    @property
    def resync(self) -> bool:
        return self.repaged

    def merged(self, later: "OfferBookUpdate") -> "OfferBookUpdate":
        drift = self.drift.merged(later.drift) if self.drift is not None else later.drift
        return OfferBookUpdate(self.live, later.book, self.fills + later.fills, drift,
                               self.repaged or later.repaged, later.ledger, later.received_ns,
                               later.applied_ns, self.coalesced + later.coalesced + 1,
                               self.pool_changed or later.pool_changed)


def _offer_impl() -> tuple[Any, Any]:
    """(OfferBook, LiquidityPool) of the implementation the package uses (``stellar_ob._impl``)."""
    from stellar_ob import _impl

    offers = _impl.module("offers")
    return offers.OfferBook, offers.LiquidityPool


def _token_ledger(token: Any) -> int | None:
    """The ledger of a /trades paging token ("<operation toid>-<index>": toid >> 32), None if
    ``token`` is not one (ASCII digits only, toid < 2**63)."""
    m = _TRADE_TOKEN.fullmatch(token) if isinstance(token, str) else None
    if m is None:
        return None
    toid = int(m.group(1))
    return toid >> 32 if toid < 2**63 else None


def _valid_trade_id(event_id: str) -> bool:
    return _token_ledger(event_id) is not None


def _valid_ledger_id(event_id: str) -> bool:
    return _uint(event_id, 2**63 - 1) is not None


def _after_ledger(ledger: int) -> int:
    """horizon toid.AfterLedger: a cursor past every operation of ``ledger``."""
    return (ledger << 32) | 0xFFFFFFFF


def _is_permanent(e: BaseException) -> bool:
    """A 4xx (other than 408/429) from Horizon: the request itself is wrong (no such asset, route)."""
    return (isinstance(e, HorizonError) and not isinstance(e, (RateLimitedError, StreamError))
            and e.status is not None and 400 <= e.status < 500 and e.status not in (408, 429))


def _is_redirect_error(e: BaseException) -> bool:
    return isinstance(e, HorizonError) and e.status is not None and _is_redirect(e.status)


class LiveOfferBook(_Live):
    """A per-offer (L3) :class:`~stellar_ob.OfferBook` kept from /offers pages, /trades fills and
    re-pages on every new ledger (see the module docstring for how each source is read).

    Read it like an OfferBook (``offers(side, depth)``, ``best_offer(side)``, ``levels()``,
    ``simulate()``, ``get(id)``, ``len()`` ... delegate to :attr:`book`, which a re-page replaces
    in one step); :attr:`pool` is the pair's :class:`~stellar_ob.LiquidityPool` (None without one),
    :meth:`quote_hop` routes a path-payment hop over both. :attr:`ledger`: every offer in the book
    is at least as recent as this ledger. Drift each re-page corrected: :attr:`last_drift`,
    counters ``drift_*``, :meth:`on_drift`. Status, counters, ``updates()``, callbacks, errors and
    ``close()`` work as for :class:`LiveBook`. Created by :meth:`Horizon.watch_offers`.
    """

    kind = "l3"  #: metrics label of per-offer books

    def __init__(
        self,
        horizon: "Horizon",
        base: Any,
        counter: Any,
        *,
        page_limit: int = 200,
        stream_limit: int = 200,
        min_repage_interval: float = 0.0,
    ) -> None:
        book_cls, pool_cls = _offer_impl()
        book = book_cls(base, counter)
        super().__init__(horizon, _market_name(book.base, book.counter), OfferCounters())
        self.counters: OfferCounters
        self._book_cls = book_cls
        self._pool_cls = pool_cls
        self.book = book
        self.base = book.base
        self.counter = book.counter
        self.pool: Any = None
        self.pool_id: str | None = None
        self._pool_stamp = 0  # Latest-Ledger of the pool's read: its trades after it are applied
        self.ledger: int | None = None
        self.latest_ledger: int | None = None  #: newest ledger seen (/ledgers, Latest-Ledger headers)
        self.last_drift: Drift | None = None
        self.page_limit = page_limit
        self.stream_limit = stream_limit
        self.min_repage_interval = min_repage_interval
        self._stamps: dict[int, int] = {}  # offer id -> Latest-Ledger of the page it came from
        self._buffer: list[tuple[int | None, int, int, str | None]] | None = None  # fills during a re-page
        self._pool_buffer: list[tuple[int | None, str, int, int]] | None = None  # pool trades during a re-page
        self._base_json = self.base.to_horizon_json()
        self._counter_json = self.counter.to_horizon_json()
        self._repage_wanted = asyncio.Event()
        self._repage_forced = False
        self._trades_open = asyncio.Event()
        self._gaps = 0  # trades connections opened at cursor=now (fills before them unseen)
        self._last_repage = 0.0
        self._drift_callbacks: list[Callable[["LiveOfferBook", Drift], Any]] = []
        self._pools_supported = True
        self._side_pages: dict[str, int] = {}  # /offers pages each direction took at the last re-page
        self._page_cap_relaxed = False  # the last re-page hit the learnt page cap: allow max_offer_pages
        pair = {**self.base.horizon_params("base"), **self.counter.horizon_params("counter")}
        self._trades = _SSEStream(self, "/trades", {**pair, "limit": str(stream_limit)}, self._on_trade,
                                  what=f"{self.name} /trades", page=True, resume=self._trades_resume,
                                  on_open=self._trades_opened, valid_id=_valid_trade_id)
        self._ledgers = _SSEStream(self, "/ledgers", {"limit": str(stream_limit)}, self._on_ledger,
                                   what=f"{self.name} /ledgers", page=True, resume=self._ledgers_resume,
                                   valid_id=_valid_ledger_id)

    # ---- reading (delegated to the book) -------------------------------------------------------------
    def offers(self, side: str, depth: int | None = None) -> list:
        return self.book.offers(side, depth)

    def best_offer(self, side: str) -> Any:
        return self.book.best_offer(side)

    def __len__(self) -> int:
        return len(self.book)

    def __contains__(self, offer_id: object) -> bool:
        return offer_id in self.book

    def __getattr__(self, name: str) -> Any:  # everything else an OfferBook has
        if name == "book":
            raise AttributeError(name)
        return getattr(self.book, name)

    def __repr__(self) -> str:
        return f"<LiveOfferBook {self.name} {self.status.value} offers={len(self.book)} ledger={self.ledger}>"

    def quote_hop(self, kind: str, amount: int, **kwargs: Any) -> Any:
        """``quote_hop`` over this book and its pool, as core routes a path-payment hop (same
        arguments as :func:`stellar_ob.quote_hop` after ``book, pool``)."""
        import sys

        return sys.modules[type(self.book).__module__].quote_hop(self.book, self.pool, kind, amount, **kwargs)

    def on_drift(self, callback: Callable[["LiveOfferBook", Drift], Any]) -> Callable[[], None]:
        """Call ``callback(live, drift)`` after every re-page that corrected something. What it raises
        is caught and reported as for :meth:`on_update`. Returns a function that unregisters it."""
        _check_callback("callback", callback)
        self._drift_callbacks.append(callback)
        return lambda: self._drift_callbacks.remove(callback) if callback in self._drift_callbacks else None

    def request_repage(self) -> None:
        """Re-page now, not only at the next ledger (coalesced with one in progress)."""
        self._repage_forced = True
        self._repage_wanted.set()

    # ---- the tasks -----------------------------------------------------------------------------------
    def _start(self) -> None:
        self._spawn(self._trades.run, "/trades")
        self._spawn(self._ledgers.run, "/ledgers")
        self._spawn(self._repager, "re-page")

    def _trades_resume(self, stream: _SSEStream) -> tuple[str, str | None]:
        """Where the next /trades connection starts: fills after the oldest page of the book matter,
        earlier ones are in the pages already. Before a book exists: ``now`` (a gap, see _gaps)."""
        last = stream.last_id
        if self.ledger is None:
            return ("now", last)
        after = _after_ledger(self.ledger)
        if last is not None:
            m = _TRADE_TOKEN.fullmatch(last)
            if m is not None and int(m.group(1)) > after:
                return (str(after), last)
        return (str(after), None)  # horizon: a one-number cursor skips all of that operation id

    def _ledgers_resume(self, stream: _SSEStream) -> tuple[str, str | None]:
        """Where the next /ledgers connection starts: after the book's ledger or the last ledger
        event, whichever is later (``now`` would skip ledgers closed while we were away; an old
        event id would replay ledgers the book already holds)."""
        last = stream.last_id
        if self.ledger is None:
            return ("now", last)
        after = self.ledger << 32  # a ledger's paging token is its toid: sequence << 32
        last_toid = _uint(last, 2**63 - 1)
        if last is not None and last_toid is not None and last_toid > after:
            return (str(after), last)
        return (str(after), None)

    def _trades_opened(self, stream: _SSEStream) -> None:
        if stream.cursor_used == "now" and stream.last_id_used is None:
            self._gaps += 1
        self._trades_open.set()

    def _on_trade(self, data: bytes, received_ns: int, first: bool) -> None:
        c = self.counters
        try:
            ledger, token, oid, sold, swap = self._read_trade(data)
        except (StellarOBError, ValueError, OverflowError, RecursionError) as e:
            c.parse_errors += 1
            err = e if isinstance(e, StellarOBError) else ParseError(f"{self.name}: not a Horizon trade: {e!r}")
            raise _Reconnect(None, err) from None
        applied = time.perf_counter_ns()
        c.events += 1
        c.trades += 1
        self._confirm(applied)
        self._trades.backoff.reset()
        if oid is None:
            c.pool_trades += 1
            if swap is not None:
                if self._pool_buffer is not None:
                    self._pool_buffer.append((ledger, *swap))
                if self._swap(self.pool, self.pool_id, self._pool_stamp, ledger, *swap):
                    c.pool_trades_applied += 1
                    self._publish(OfferBookUpdate(self, self.book, (), None, False, self.ledger, received_ns, applied,
                                                  0, True))
        else:
            if self._buffer is not None:
                self._buffer.append((ledger, oid, sold, token))
            fill = self._fill(self.book, self._stamps, ledger, oid, sold, token, c)
            if fill is not None:
                c.fills += 1
                update = OfferBookUpdate(self, self.book, (fill,), None, False, self.ledger, received_ns, applied)
                self._publish(update)
        metrics = self.horizon.metrics
        if metrics is not None:
            metrics.event(self)
        self._changed.set()

    def _read_trade(self, data: bytes) -> tuple[int, str, int | None, int, tuple[str, int, int] | None]:
        """(ledger, paging token, resting offer id or None, amount it sold, pool swap or None) of a
        /trades event, read by :func:`stellar_ob.horizon.parse_trades` (ParseError for anything else)."""
        from stellar_ob.horizon import parse_trades

        trades = parse_trades(data)
        if len(trades) != 1:
            raise ParseError(f"{self.name}: a /trades event holds one trade, this one {len(trades)}")
        t = trades[0]
        if {t.base_asset, t.counter_asset} != {self.base, self.counter}:
            raise AssetMismatchError(f"{self.name}: /trades sent a trade of {t.base_asset}/{t.counter_asset}")
        ledger = _token_ledger(t.paging_token)
        if ledger is None:
            raise ParseError(f"{self.name}: trade paging_token {t.paging_token[:40]!r} is not <operation id>-<index>")
        if t.trade_type == "liquidity_pool":
            return ledger, t.paging_token, None, 0, self._parse_swap(t)
        # the resting offer is the seller's (horizon: base_is_seller), whichever way round the pair is
        if t.base_is_seller:
            return ledger, t.paging_token, t.base_offer_id, t.base_amount, None
        return ledger, t.paging_token, t.counter_offer_id, t.counter_amount, None

    def _parse_swap(self, t: Any) -> tuple[str, int, int] | None:
        """(pool id, change of the base reserve, change of the counter reserve) of a pool trade: the
        pool gave the side it is the party of and got the other."""
        if t.base_liquidity_pool_id is not None:
            pool_id, d_base, d_counter = t.base_liquidity_pool_id, -t.base_amount, t.counter_amount
        elif t.counter_liquidity_pool_id is not None:
            pool_id, d_base, d_counter = t.counter_liquidity_pool_id, t.base_amount, -t.counter_amount
        else:
            return None
        if t.base_asset != self.base:  # the record is the other way round
            d_base, d_counter = d_counter, d_base
        return pool_id, d_base, d_counter

    @staticmethod
    def _swap(pool: Any, pool_id: str | None, stamp: int, ledger: int | None, trade_pool: str, d_base: int,
              d_counter: int) -> bool:
        """Move the pool's reserves by a trade newer than the pool's read (False if not applied)."""
        if pool is None or trade_pool != pool_id or (ledger is not None and ledger <= stamp):
            return False
        a, b = pool.reserve_a + d_base, pool.reserve_b + d_counter
        if a < 0 or b < 0:  # stale reserves: the next re-page reads them again
            return False
        pool.reserve_a, pool.reserve_b = a, b
        return True

    @staticmethod
    def _fill(book: Any, stamps: dict[int, int], ledger: int | None, oid: int, sold: int, token: str | None,
              c: OfferCounters | None) -> AppliedFill | None:
        stamp = stamps.get(oid)
        if stamp is None or oid not in book:
            if c is not None:
                c.fills_unknown += 1
            return None
        if ledger is not None and ledger <= stamp:
            if c is not None:
                c.fills_in_page += 1
            return None
        if sold <= 0:
            return None
        have = book.get(oid).amount
        if sold > have:  # the book's amount is stale (edited since its page): the next re-page fixes it
            if c is not None:
                c.fills_clamped += 1
            sold = have
        left = book.apply_fill(oid, sold)
        return AppliedFill(oid, sold, left, ledger, token)

    def _on_ledger(self, data: bytes, received_ns: int, first: bool) -> None:
        from stellar_ob.horizon import parse_ledger

        c = self.counters
        try:
            seq = parse_ledger(data).sequence
        except (StellarOBError, ValueError, OverflowError, RecursionError) as e:
            c.parse_errors += 1
            err = e if isinstance(e, StellarOBError) else ParseError(f"{self.name}: not a Horizon ledger: {e!r}")
            raise _Reconnect(None, err) from None
        c.events += 1
        c.ledgers += 1
        self._confirm(time.perf_counter_ns())
        self._ledgers.backoff.reset()
        if self.latest_ledger is None or seq > self.latest_ledger:
            self.latest_ledger = seq
        if self.ledger is None or seq > self.ledger:
            if self._repage_wanted.is_set():
                c.repages_coalesced += 1
            self._repage_wanted.set()
        self._changed.set()

    async def _repager(self) -> None:
        """Re-page whenever asked (by a ledger or a trades gap), one at a time; the first is the load.
        Each re-page has ``Horizon.repage_timeout`` s; a failed one is counted, surfaced and retried
        after backoff (the book it would have replaced stays)."""
        horizon = self.horizon
        c = self.counters
        backoff = Backoff(horizon.backoff_base, horizon.backoff_cap)
        await self._trades_open.wait()  # cursor=now is resolved: every later fill will stream
        force = True
        while True:
            if not force:
                await self._repage_wanted.wait()
            self._repage_wanted.clear()
            force, self._repage_forced = force or self._repage_forced, False
            if not force and self.ledger is not None and (self.latest_ledger or 0) <= self.ledger:
                c.repages_coalesced += 1
                continue  # that ledger is in the book already
            force = False
            if self.min_repage_interval and self._last_repage:
                wait = self._last_repage + self.min_repage_interval - time.monotonic()
                if wait > 0:
                    await asyncio.sleep(wait)
            blocked = horizon.budget.blocked_for()
            if blocked > 0:  # every request waits for a rate-limit block: not part of the deadline
                self._rate_limited(blocked)
                await asyncio.sleep(blocked)
            gaps = self._gaps
            err: BaseException
            try:
                async with _deadline(horizon.repage_timeout):
                    await self._repage()
            except asyncio.CancelledError:
                raise
            except asyncio.TimeoutError:
                c.timeouts += 1
                err = HorizonError(f"{self.name}: re-page took longer than repage_timeout={horizon.repage_timeout:g} s")
            except (StellarOBError, ValueError, OverflowError, RecursionError) as e:
                if (_is_permanent(e) or _is_redirect_error(e)) and not self.loaded:
                    self._fail(e)  # the market itself is refused: nothing to heal
                    return
                err = e if isinstance(e, StellarOBError) else ParseError(f"{self.name}: bad /offers page: {e!r}")
            except Exception as e:  # a bug, or a value no check anticipated: logged, retried
                log.exception("%s: unexpected error in a re-page", self.name)
                c.unexpected_errors += 1
                err = e
            else:
                backoff.reset()
                self._page_cap_relaxed = False
                self._last_repage = time.monotonic()
                if self._gaps != gaps:
                    force = True  # the trades stream restarted at "now" meanwhile: fills may be missing
                continue
            c.repage_errors += 1
            self._surface(err)
            self.status = Status.BACKING_OFF
            await asyncio.sleep(backoff.next())
            force = True

    def _ledger_of(self, headers: Mapping[str, str]) -> int:
        """The ``Latest-Ledger`` of an answer (the newest ledger known if it is missing or unreadable)."""
        ledger = _uint(headers.get("Latest-Ledger"), 2**32 - 1)
        if ledger is None:
            return self.latest_ledger or 0
        if self.latest_ledger is None or ledger > self.latest_ledger:
            self.latest_ledger = ledger
        return ledger

    async def _page_side(self, book: Any, stamps: dict[int, int], side: str, selling: Any, buying: Any) -> list[int]:
        """Load every offer selling ``selling`` for ``buying`` into ``book``, page by page, stamping
        each with its page's Latest-Ledger; returns those ledgers. Pages must follow the cursor
        (offer ids strictly increasing from it); at most ``max_offer_pages`` pages, or, once the
        market is known, twice the pages of the last re-page plus 16."""
        from stellar_ob.horizon import parse_offers

        horizon = self.horizon
        limit = self.page_limit
        params = {**selling.horizon_params("selling"), **buying.horizon_params("buying"),
                  "limit": str(limit), "order": "asc"}
        cap = horizon.max_offer_pages
        known = self._side_pages.get(side)
        if known is not None and not self._page_cap_relaxed:
            cap = min(cap, 2 * known + 16)
        ledgers: list[int] = []
        cursor: int | None = None
        while True:
            if len(ledgers) >= cap:
                self.counters.limits_exceeded += 1
                if horizon.metrics is not None:
                    horizon.metrics.limit(self, "max_offer_pages")
                self._page_cap_relaxed = True  # the market may really have grown: next time up to the maximum
                raise LimitExceededError(f"{self.name}: /offers of the {side}s goes on past {cap} pages of {limit} "
                                         f"(max_offer_pages={horizon.max_offer_pages}): stopped", "max_offer_pages")
            body, headers = await horizon._get("/offers", params, on_error=self._rest_error, owner=self)
            self.counters.pages += 1
            offers: list = parse_offers(body)  # type: ignore[assignment]  # a list without as_numpy
            if len(offers) > limit:
                raise ParseError(f"{self.name}: an /offers page asked for {limit} records holds {len(offers)}")
            prev = cursor
            for o in offers:
                if prev is not None and o.id <= prev:
                    raise ParseError(f"{self.name}: /offers does not advance: offer {o.id} came after "
                                     f"{'cursor' if prev == cursor else 'offer'} {prev}")
                prev = o.id
            ledger = self._ledger_of(headers)
            self._load_offers(book, offers, stamps, ledger)
            ledgers.append(ledger)
            if len(offers) < limit:
                self._side_pages[side] = len(ledgers)
                return ledgers
            cursor = offers[-1].id
            params = {**params, "cursor": str(cursor)}

    async def _fetch_pool(self) -> tuple[Any, str | None, int]:
        """The pair's constant-product pool from /liquidity_pools?reserves=A,B: (pool or None if there
        is none, its id, the Latest-Ledger it was read at)."""
        from stellar_ob.horizon import parse_liquidity_pools

        try:
            body, headers = await self.horizon._get(
                "/liquidity_pools", {"reserves": f"{self.base},{self.counter}", "limit": "10"},
                on_error=self._rest_error, owner=self)
        except HorizonError as e:
            if _is_permanent(e):  # a Horizon without the endpoint: no pools, do not ask again
                self._pools_supported = False
                self._surface(e)
                return None, None, 0
            raise
        ledger = self._ledger_of(headers)
        for rec in parse_liquidity_pools(body):
            reserves = dict(rec.reserves)
            if len(reserves) == 2 and self.base in reserves and self.counter in reserves:
                pool = self._pool_cls(reserves[self.base], reserves[self.counter], rec.fee_bp)
                return pool, rec.id, ledger
        return None, None, ledger

    def _load_offers(self, book: Any, offers: list, stamps: dict[int, int], ledger: int) -> None:
        """Add /offers records (:class:`stellar_ob.horizon.Offer`) to ``book``, stamping each with ``ledger``."""
        base, counter = self.base, self.counter
        for o in offers:
            if o.selling == base and o.buying == counter:
                side = "ask"
            elif o.selling == counter and o.buying == base:
                side = "bid"
            else:
                raise AssetMismatchError(f"{self.name}: /offers returned offer {o.id} of {o.selling}/{o.buying}")
            oid = o.id
            if oid in book:
                book.remove_offer(oid)
            if o.amount > 0:
                book.add_offer(oid, side, o.price.n, o.price.d, o.amount, o.seller)
                stamps[oid] = ledger

    def _rest_error(self, error: HorizonError) -> None:
        """A REST request of a re-page failed one attempt (it retries; counted by Horizon._get): surface it."""
        if isinstance(error, RateLimitedError):
            m = self.horizon.metrics
            if m is not None:
                m.rate_limit_wait(self, error.retry_after)
        self._surface(error)

    async def _repage(self) -> None:
        c = self.counters
        new = self._book_cls(self.base, self.counter)
        stamps: dict[int, int] = {}
        self._buffer = []  # fills arriving while we page: replayed onto the new book
        self._pool_buffer = []
        try:
            ledgers = await self._page_side(new, stamps, "ask", self.base, self.counter)
            ledgers += await self._page_side(new, stamps, "bid", self.counter, self.base)
            pool, pool_id, pool_stamp = await self._fetch_pool() if self._pools_supported else (None, None, 0)
            received = time.perf_counter_ns()
            # From here on nothing awaits: no fill can slip between the pages and the install.
            buffered, pool_buffered = self._buffer, self._pool_buffer
        finally:
            self._buffer = self._pool_buffer = None
        for at, oid, sold, token in buffered:
            self._fill(new, stamps, at, oid, sold, token, None)
        for at, trade_pool, d_base, d_counter in pool_buffered:
            self._swap(pool, pool_id, pool_stamp, at, trade_pool, d_base, d_counter)
        floor, top = min(ledgers), max(ledgers)
        if floor != top:  # the market moved while we paged: offers are right per page, not as one
            c.split_snapshots += 1
            self._repage_wanted.set()
        old_pool = self.pool
        pool_moved = (pool is None) != (old_pool is None) or (
            pool is not None and (pool.reserve_a, pool.reserve_b) != (old_pool.reserve_a, old_pool.reserve_b))
        drift = _drift(self.book, new, floor, pool_moved) if self.loaded else None
        if drift is not None and drift.pool:
            c.pool_drift += 1
        self.book = new
        self._stamps = stamps
        self.ledger = floor
        self.pool, self.pool_id, self._pool_stamp = pool, pool_id, pool_stamp
        applied = time.perf_counter_ns()
        self._confirm(applied)
        c.repages += 1
        self.status = Status.LIVE
        if drift is not None:
            c.drift_added += len(drift.added)
            c.drift_removed += len(drift.removed)
            c.drift_changed += len(drift.changed)
            self.last_drift = drift
        first = not self._ready
        self._set_loaded()
        if first or drift or pool_moved:  # an unchanged re-page is not an update
            self._publish(OfferBookUpdate(self, new, (), drift, True, floor, received, applied))
        metrics = self.horizon.metrics
        if metrics is not None:
            metrics.offer_book(self, drift)
        if drift:
            for cb in list(self._drift_callbacks):
                self._call(cb, "on_drift", self, drift)
        self._changed.set()


def _offer_state(book: Any) -> dict[int, tuple]:
    return {o.offer_id: (o.side, o.n, o.d, o.amount) for side in ("bid", "ask") for o in book.offers(side)}


def _drift(old: Any, new: Any, ledger: int, pool: bool = False) -> Drift:
    """The offers ``new`` adds, removes and changes relative to ``old`` (O(n))."""
    a, b = _offer_state(old), _offer_state(new)
    added = tuple(sorted(k for k in b if k not in a))
    removed = tuple(sorted(k for k in a if k not in b))
    changed = tuple(sorted(k for k, v in b.items() if k in a and a[k] != v))
    return Drift(ledger, added, removed, changed, pool)


class Horizon:
    """One HTTP session, connection pool and rate budget for any number of live markets.

    >>> async def main():                                        # doctest: +SKIP
    ...     async with Horizon() as horizon:                     # the public Horizon
    ...         live = await horizon.watch("XLM", "USDC:GA5ZSEJYB37JRC5AVCIA5MOP4RHTM335X2KGX3IHOJAPP5RE34K4KZVN")
    ...         print(live.best_bid(), live.best_ask())

    Timing: ``idle_timeout`` (60 s): seconds without a byte before a stream counts as dead (Horizon
    closes every stream after 55 s, so 60 s of silence means a half-open connection).
    ``connect_timeout`` (10 s): TCP connect. ``request_timeout`` (30 s): the total of one REST
    request (connect, answer and whole body) and the time a stream's answer may take to start.
    ``stall_timeout`` (None = off): seconds a stream may go without an *event* (comments and
    stray bytes do not count) before it is treated as stalled and reconnected; off by default
    because a quiet book is normal (Horizon sends nothing while a book is unchanged, and closes
    after 55 s), 60 or more is safe against a real Horizon. ``repage_timeout`` (120 s): one L3
    re-page, every page and retry included.

    Backoff and rate: ``backoff_base`` / ``backoff_cap`` (0.1 / 30 s): jittered exponential
    backoff after errors. ``honor_server_retry``: wait at least the ``retry:`` Horizon sent (1 s)
    before reconnecting after an error. ``min_reconnect_interval`` (1 s): connection starts of one
    stream are never closer than this (an L2 market has one stream, an L3 market two), whatever
    the server does: a server closing every stream at once after its hello costs at most one
    request a second per stream. ``min_request_interval`` (0 = off): spaces out every request
    start of this client. ``max_retry_wait`` (300 s): the longest a 429's ``Retry-After`` /
    ``X-RateLimit-Reset`` is obeyed (a far-future date or 10**12 s would stop every market for good).

    Caps (memory): ``max_line_bytes`` (4 MiB) and ``max_event_bytes`` (8 MiB) for one SSE line
    and one event's data (Horizon's largest, a 200+200-level book, is ~30 KB); ``max_body_bytes``
    (32 MiB) for a REST body; ``max_offer_pages`` (1,000) /offers pages per direction in one
    re-page (once a market is known, twice its last count + 16). Past a cap the connection or
    re-page is dropped, counted (``Counters.limits_exceeded``, metrics), surfaced (``last_error``,
    ``on_error``) and retried after backoff; the book keeps its last good state.

    Redirects are never followed: a 3xx is a :class:`HorizonError` naming the Location (it fails a
    market that has not loaded yet; a loaded one retries after backoff). ``metrics``: a
    :class:`stellar_ob.metrics.SyncMetrics` (``True`` makes one). Bad options raise
    :class:`ArgumentError`.
    """

    def __init__(
        self,
        url: str = DEFAULT_HORIZON,
        *,
        session: aiohttp.ClientSession | None = None,
        idle_timeout: float = 60.0,
        connect_timeout: float = 10.0,
        request_timeout: float = 30.0,
        stall_timeout: float | None = None,
        repage_timeout: float = 120.0,
        backoff_base: float = 0.1,
        backoff_cap: float = 30.0,
        honor_server_retry: bool = True,
        min_reconnect_interval: float = 1.0,
        min_request_interval: float = 0.0,
        max_retry_wait: float = 300.0,
        max_line_bytes: int = 4 * _MiB,
        max_event_bytes: int = 8 * _MiB,
        max_body_bytes: int = 32 * _MiB,
        max_offer_pages: int = 1000,
        metrics: Any = None,
        user_agent: str = _USER_AGENT,
    ) -> None:
        if not isinstance(url, str) or not url.startswith(("http://", "https://")):
            raise ArgumentError(f"url must be an http:// or https:// URL, got {url!r}")
        self.url = url.rstrip("/")
        self._session = session
        self._own_session = session is None
        self.idle_timeout = _check_seconds("idle_timeout", idle_timeout, positive=True)
        self.connect_timeout = _check_seconds("connect_timeout", connect_timeout, positive=True)
        self.request_timeout = _check_seconds("request_timeout", request_timeout, positive=True)
        self.stall_timeout = _check_optional_seconds("stall_timeout", stall_timeout, positive=True)
        self.repage_timeout = _check_seconds("repage_timeout", repage_timeout, positive=True)
        self.backoff_base = _check_seconds("backoff_base", backoff_base)
        self.backoff_cap = _check_seconds("backoff_cap", backoff_cap)
        self.honor_server_retry = bool(honor_server_retry)
        self.min_reconnect_interval = _check_seconds("min_reconnect_interval", min_reconnect_interval)
        self.max_retry_wait = _check_seconds("max_retry_wait", max_retry_wait)
        self.max_line_bytes = _check_int("max_line_bytes", max_line_bytes, 1024, 2**40)
        self.max_event_bytes = _check_int("max_event_bytes", max_event_bytes, 1024, 2**40)
        self.max_body_bytes = _check_int("max_body_bytes", max_body_bytes, 1024, 2**40)
        self.max_offer_pages = _check_int("max_offer_pages", max_offer_pages, 1, 2**31)
        self.budget = RateBudget(_check_seconds("min_request_interval", min_request_interval), self.max_retry_wait)
        self.user_agent = user_agent
        if metrics is True:
            from stellar_ob.metrics import SyncMetrics

            metrics = SyncMetrics()
        self.metrics = metrics
        self.books: list[LiveBook] = []
        self.offer_books: list[LiveOfferBook] = []
        self._stream_timeout = aiohttp.ClientTimeout(
            total=None, connect=connect_timeout, sock_connect=connect_timeout, sock_read=idle_timeout
        )
        self._rest_timeout = aiohttp.ClientTimeout(total=request_timeout, connect=connect_timeout,
                                                   sock_connect=connect_timeout)
        self._closed = False

    async def __aenter__(self) -> "Horizon":
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    def _session_or_raise(self) -> aiohttp.ClientSession:
        if self._closed:
            raise HorizonError("this Horizon client is closed")
        if self._session is None:
            # limit=0: every market holds one streaming connection; aiohttp's default pool is 100
            connector = aiohttp.TCPConnector(limit=0, limit_per_host=0, ttl_dns_cache=300)
            self._session = aiohttp.ClientSession(
                connector=connector, headers={"User-Agent": self.user_agent, "X-Client-Name": "stellar-ob"}
            )
        return self._session

    # ---- markets ---------------------------------------------------------------------------------------
    async def watch(
        self,
        base: Any,
        counter: Any,
        depth: int = 200,
        *,
        on_update: Callable[[BookUpdate], Any] | None = None,
        load_timeout: float | None = 30.0,
    ) -> LiveBook:
        """Start syncing a market and return its :class:`LiveBook` once loaded (first event).

        ``base``/``counter``: ``"XLM"``/``"native"``, ``"CODE:ISSUER"``, :class:`~stellar_ob.Asset`
        or ``stellar_sdk.Asset`` (:class:`~stellar_ob.errors.AssetError` if invalid). ``depth``:
        levels a side, 1..200 (Horizon's maximum); a bad ``depth``, ``load_timeout`` or callback
        raises :class:`ArgumentError`. Raises :class:`HorizonError` if Horizon rejects the request,
        or if the book cannot be loaded within ``load_timeout`` s (the last error says why: no
        route, rate limited, ...).
        """
        depth = _check_int("depth", depth, 1, 200, " (Horizon's /order_book maximum)")
        load_timeout = _check_optional_seconds("load_timeout", load_timeout, positive=True)
        _check_callback("on_update", on_update)
        self._session_or_raise()
        live = LiveBook(self, base, counter, depth)
        if on_update is not None:
            live.on_update(on_update)
        self.books.append(live)
        return await self._load(live, load_timeout)

    async def watch_offers(
        self,
        base: Any,
        counter: Any,
        *,
        on_update: Callable[[OfferBookUpdate], Any] | None = None,
        on_drift: Callable[[LiveOfferBook, Drift], Any] | None = None,
        load_timeout: float | None = 30.0,
        page_limit: int = 200,
        stream_limit: int = 200,
        min_repage_interval: float = 0.0,
    ) -> LiveOfferBook:
        """Start a per-offer (L3) book of a market and return its :class:`LiveOfferBook` once loaded.

        It pages /offers in both directions (``page_limit`` a page, Horizon's maximum 200), applies
        the /trades fills in between and re-pages on every new ledger of the /ledgers stream (at
        most every ``min_repage_interval`` s: each re-page costs two or more /offers pages and a
        /liquidity_pools read against Horizon's rate limit). ``stream_limit``: events per stream
        connection (Horizon closes a page stream after ``limit``, at most 200). Assets and errors
        as for :meth:`watch` (bad arguments raise :class:`ArgumentError`).
        """
        page_limit = _check_int("page_limit", page_limit, 1, 200, " (Horizon's /offers maximum)")
        stream_limit = _check_int("stream_limit", stream_limit, 1, 200, " (Horizon's maximum)")
        min_repage_interval = _check_seconds("min_repage_interval", min_repage_interval)
        load_timeout = _check_optional_seconds("load_timeout", load_timeout, positive=True)
        _check_callback("on_update", on_update)
        _check_callback("on_drift", on_drift)
        self._session_or_raise()
        live = LiveOfferBook(self, base, counter, page_limit=page_limit, stream_limit=stream_limit,
                             min_repage_interval=min_repage_interval)
        if on_update is not None:
            live.on_update(on_update)
        if on_drift is not None:
            live.on_drift(on_drift)
        self.offer_books.append(live)
        return await self._load(live, load_timeout)

    async def _load(self, live: Any, load_timeout: float | None) -> Any:
        if self.metrics is not None:
            self.metrics.watch(live)
        live._start()
        try:
            async with _deadline(load_timeout):
                await live._loaded.wait()
        except asyncio.TimeoutError:
            err = live.last_error
            await live.close()
            if isinstance(err, RateLimitedError):
                raise err
            raise HorizonError(
                f"could not load {live.name} from {self.url} within {load_timeout:g} s"
                + (f": {err}" if err else "")
            ) from err
        except BaseException:
            await live.close()
            raise
        if live.status is Status.FAILED:
            err = live.last_error
            await live.close()
            assert err is not None
            raise err
        return live

    async def unwatch(self, live: "LiveBook | LiveOfferBook") -> None:
        """Stop syncing one market (same as ``await live.close()``)."""
        await live.close()

    def _forget(self, live: Any) -> None:
        for lst in (self.books, self.offer_books):
            if live in lst:
                lst.remove(live)
        if self.metrics is not None:
            self.metrics.unwatch(live)

    async def close(self) -> None:
        """Stop every market and close the HTTP session (idempotent)."""
        books = list(self.books) + list(self.offer_books)
        await asyncio.gather(*(b.close() for b in books), return_exceptions=True)
        self._closed = True
        if self._session is not None and self._own_session:
            await self._session.close()
        self._session = None

    # ---- REST ------------------------------------------------------------------------------------------
    async def get_json(
        self,
        path: str,
        params: Mapping[str, str] | None = None,
        *,
        retries: int = 5,
        on_error: Callable[[HorizonError], Any] | None = None,
    ) -> tuple[bytes, Mapping[str, str]]:
        """GET a REST resource: the body bytes and headers. Honours the rate budget; retries 429 /
        5xx / connection errors / timeouts / oversized bodies ``retries`` times with backoff
        (``on_error(error)`` hears of each failed attempt); each attempt has ``request_timeout`` s
        and ``max_body_bytes``. Raises :class:`HorizonError` (at once for a 4xx or a redirect)."""
        return await self._get(path, params, retries=retries, on_error=on_error)

    async def _get(
        self,
        path: str,
        params: Mapping[str, str] | None = None,
        *,
        retries: int = 5,
        on_error: Callable[[HorizonError], Any] | None = None,
        owner: _Live | None = None,
    ) -> tuple[bytes, Mapping[str, str]]:
        """get_json, counting what goes wrong on ``owner``'s counters (and showing its rate-limit waits)."""
        session = self._session_or_raise()
        backoff = Backoff(self.backoff_base, self.backoff_cap)
        url = path if path.startswith("http") else self.url + path
        c = owner.counters if owner is not None else None
        last: HorizonError | None = None
        for _ in range(retries + 1):
            await self.budget.acquire(owner)
            try:
                async with _deadline(self.request_timeout):
                    return await self._get_once(session, url, params, owner)
            except RateLimitedError as e:
                last = e
                if c is not None:
                    c.rate_limited += 1
                if on_error is not None:
                    on_error(e)
                continue  # budget.acquire() waits the block out
            except LimitExceededError as e:
                last = e
                if c is not None:
                    c.limits_exceeded += 1
                if self.metrics is not None and owner is not None:
                    self.metrics.limit(owner, e.limit)
            except HorizonError as e:
                if c is not None:
                    c.http_errors += 1
                    if e.status is not None and _is_redirect(e.status):
                        c.redirects += 1
                if e.status is not None and (e.status < 500 and e.status not in (408, 499)):
                    raise  # 3xx, 4xx: asking again gets the same answer
                last = e
            except asyncio.TimeoutError:
                if c is not None:
                    c.timeouts += 1
                last = HorizonError(f"{url}: no complete answer within request_timeout={self.request_timeout:g} s")
            except (aiohttp.ClientError, ConnectionError, OSError) as e:
                if c is not None:
                    c.connection_errors += 1
                last = HorizonError(f"cannot reach Horizon at {self.url}: {e!r}")
            if on_error is not None:
                on_error(last)
            await asyncio.sleep(backoff.next())
        assert last is not None
        raise last

    async def _get_once(self, session: aiohttp.ClientSession, url: str, params: Mapping[str, str] | None,
                        owner: _Live | None) -> tuple[bytes, Mapping[str, str]]:
        async with session.get(url, params=params, timeout=self._rest_timeout, allow_redirects=False,
                               headers={"Accept": "application/hal+json"}) as resp:
            bad = self.budget.observe(resp.headers)
            if bad and owner is not None:
                owner.counters.bad_headers += len(bad)
                owner._surface(ParseError(f"{url}: ignored unreadable headers: {', '.join(bad)}"))
            if resp.status == 200:
                return await _read_capped(resp, self.max_body_bytes, url), resp.headers
            if _is_redirect(resp.status):
                raise _redirect_error(resp, url)
            err = await _problem_error(resp, url)
            if resp.status == 429:
                wait = self.budget.retry_after(resp.headers)
                self.budget.block(wait)
                assert isinstance(err, RateLimitedError)
                err.retry_after = wait
            raise err

    async def snapshot(self, base: Any, counter: Any, depth: int = 200) -> Snapshot:
        """One REST /order_book read: an OrderBook and the Latest-Ledger it is from."""
        from stellar_ob import Asset, OrderBook

        depth = _check_int("depth", depth, 1, 200, " (Horizon's /order_book maximum)")
        b, c = Asset.parse(base), Asset.parse(counter)
        params = {**b.horizon_params("selling"), **c.horizon_params("buying"), "limit": str(depth)}
        body, headers = await self.get_json("/order_book", params)
        book = OrderBook(b, c)
        book.apply_horizon(body)
        return Snapshot(book, _uint(headers.get("Latest-Ledger"), 2**32 - 1), time.time())
