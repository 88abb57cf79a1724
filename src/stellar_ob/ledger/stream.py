"""One ordered, exactly-once stream of ledgers from Stellar RPC or a SEP-54 data lake.

:class:`LedgerStream` turns a ledger source (:class:`~stellar_ob.ledger.rpc.Rpc` or
:class:`~stellar_ob.ledger.datalake.DataLake`) into an async iterator of :class:`Ledger` (one
``LedgerCloseMeta``, from RPC) or :class:`LedgerBatch` (one data-lake file, a decompressed
``LedgerCloseMetaBatch``) items, in ledger order, each ledger exactly once, following the tip as
ledgers close. What a source does wrong is handled here, the same way for both:

==============================  ==================================================================
the source does                 the stream does
==============================  ==================================================================
a ledger already handed over    dropped (``duplicates``); never handed over twice
(a repeated page, an overlap)
a ledger missing (a gap)        the ledgers before it are handed over, the rest of the page is
                                dropped (``gaps``) and asked again after backoff
a cursor that does not advance  counted (``stuck_cursors``); the source forgets its cursor and the
                                next request restarts from ``startLedger`` after backoff
a start before its oldest       :class:`RetentionError` (final): the ledgers the consumer needs
ledger (the retention window)   are gone from this source; bootstrap again (a history archive,
                                Horizon) and start a new stream from the new state's ledger
a JSON-RPC error, 5xx, a cut,   counted, surfaced (``last_error``, ``on_error``), retried after
a timeout, a body past its cap  jittered backoff (``backoff_base``, ``backoff_cap``); with
                                ``health=`` (a shared probe, e.g. ``ledger.follow.RpcHealth``)
                                no answer, a cut or a 5xx asks the probe first: while it finds
                                the server down the stream waits for it (``SERVER_DOWN``) and
                                asks nothing itself, then resumes at once
429 / Retry-After               every request of the source waits (capped at ``max_retry_wait``);
                                the status is ``RATE_LIMITED`` meanwhile
bytes that fail the checks      ``ParseError`` counted (``parse_errors``), the page dropped, asked
(base64, header, hash, batch    again after backoff
header, the ``check`` hook)
no new ledger for a while       normal at the tip (a ledger closes every ~5 s): paced (see
                                below), then polled every ``poll_interval``; after
                                ``stall_timeout`` without one a
                                ``LedgerSourceError`` is surfaced and counted (``stalls``) once per
                                stall, and polling goes on
==============================  ==================================================================

Pacing at the tip (``paced=True``, the default): the stream learns the cadence from the gaps
between the ledgers it found at the tip (the median of the last eight, each measured when the
ledger was first seen) and, after a ledger, sleeps until a lead before the next one is due: due
at the earliest of what the last four ledgers found predict (each found time plus as many
cadences as ledgers since: one ledger found late does not push the schedule back), with a lead
of the largest of 10% of the cadence, 3 * poll_interval, and how much shorter than the cadence the
shortest of those gaps was plus 2 * poll_interval; from then on it polls every ``poll_interval``
until the ledger is there. So a short ``poll_interval`` (tens of ms, for a low latency) costs a
handful of requests a ledger, not one every ``poll_interval`` through the whole 5 s. Before the
cadence is known (fewer than two gaps seen), or when ledgers come faster than the lead, it simply
polls every ``poll_interval``. A ledger later than expected is found ``poll_interval`` after it is
there, as without pacing.

The checks every RPC ledger passes before it is handed over: strict base64; the
``LedgerCloseMeta`` version (0, 1, 2) and its ``LedgerHeaderHistoryEntry`` read strictly;
``sha256(LedgerHeader) == hash`` (the header is what the ledger hash covers); the header's
``ledgerSeq`` equals the sequence RPC reported and the one expected next; RPC's ``hash`` and
``headerXdr`` equal the meta's; its ``previousLedgerHash`` is the hash of the ledger handed over
before it (one chain). The rest of the meta (transactions, entry changes) is the
decoder's job: pass ``check=`` a function that decodes and raises ``ParseError`` (the C decoder,
once bound) to refuse a corrupted or truncated ledger before it reaches the book.

Exactly once and resuming: a ledger counts as *acknowledged* when the consumer asks for the next
item (or calls :meth:`LedgerStream.ack`); :attr:`LedgerStream.acknowledged` is the last one. A
dropped connection never loses or repeats a ledger: the stream asks the source again from the
ledger after the last one it received and checked. After a process restart, start a new stream
at ``acknowledged + 1`` (the book's last applied ledger + 1).

The data-lake contract: a :class:`LedgerBatch` is one file's ``LedgerCloseMetaBatch`` whole, with
its ``start``/``end`` checked against the file name and the batch header; splitting it into
ledgers is the C decoder's job (its reader walks BATCH inputs). A batch can begin before the
ledger the consumer needs (a stream started mid-file): the consumer skips the ledgers before
``batch.first``.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import struct
import time
from dataclasses import dataclass, fields
from typing import Any, Awaitable, Callable, Literal, Protocol, Union, overload

from stellar_ob.errors import ParseError, StellarOBError
from stellar_ob.sync import ArgumentError, Backoff, Status
from stellar_ob.sync.http import _deadline

__all__ = [
    "LedgerStream",
    "Ledger",
    "LedgerBatch",
    "LedgerCounters",
    "LedgerSourceError",
    "RetentionError",
    "NetworkMismatchError",
    "LedgerHeaderInfo",
    "read_ledger_header",
    "Page",
]

log = logging.getLogger("stellar_ob.ledger")

MAX_SEQUENCE = 2**32 - 1


class LedgerSourceError(StellarOBError):
    """A ledger source (Stellar RPC, a data lake) failed a request or sent something unusable.

    ``status`` is the HTTP status when there was one, ``code`` the JSON-RPC error code, ``limit``
    the name of the cap that was hit (``max_body_bytes``...). Transient: the stream retries."""

    def __init__(self, message: str, *, status: int | None = None, code: int | None = None,
                 limit: str | None = None, retry_after: float | None = None) -> None:
        self.status = status
        self.code = code
        self.limit = limit
        self.retry_after = retry_after
        super().__init__(message)


class RetentionError(LedgerSourceError):
    """The ledger asked for is older than the oldest the source keeps (RPC keeps ~7 days).

    Final for the stream: bootstrap the state again (a history archive, Horizon) and start a new
    stream from its ledger. ``requested``, ``oldest`` and ``latest`` say where things stand."""

    def __init__(self, message: str, *, requested: int, oldest: int | None, latest: int | None) -> None:
        self.requested = requested
        self.oldest = oldest
        self.latest = latest
        super().__init__(message)


class NetworkMismatchError(LedgerSourceError):
    """The source serves another network than the passphrase asked for (final)."""


@dataclass(frozen=True, slots=True)
class Ledger:
    """One ledger from Stellar RPC: ``meta`` is its ``LedgerCloseMeta`` XDR (checked: see the module)."""

    sequence: int
    meta: bytes
    hash: str  #: hex of the ledger hash (sha256 of the XDR LedgerHeader)
    close_time: int  #: unix seconds (the header's scpValue.closeTime)
    previous_hash: str = ""  #: hex of the header's previousLedgerHash (the ledger before's hash)
    received_ns: int = 0  #: ``time.perf_counter_ns()`` when the answer carrying it was read (0: unknown)

    def __iter__(self):  # ``seq, meta = ledger``
        return iter((self.sequence, self.meta))


@dataclass(frozen=True, slots=True)
class LedgerBatch:
    """One data-lake file: ``data`` is its decompressed ``LedgerCloseMetaBatch`` XDR.

    ``start``..``end`` (inclusive) were checked against the file name and the batch header.
    ``first`` is the first ledger the consumer has not had yet (> ``start`` when a stream starts
    mid-file): the consumer skips the ledgers before it. ``sequence`` is ``end``, the ledger the
    consumer has applied once the batch is done."""

    start: int
    end: int
    data: bytes
    first: int
    name: str = ""  #: the file's path in the lake
    received_ns: int = 0  #: ``time.perf_counter_ns()`` when the file was read (0: unknown)

    @property
    def sequence(self) -> int:
        return self.end

    def __iter__(self):  # ``seq, data = batch``
        return iter((self.end, self.data))


Item = Union[Ledger, LedgerBatch]


@dataclass
class LedgerCounters:
    """What happened to a ledger source since it started (all monotonically increasing)."""

    requests: int = 0  #: HTTP requests or file reads started
    ledgers: int = 0  #: ledgers handed over (a batch counts its ledgers from ``first``)
    batches: int = 0  #: data-lake files handed over
    bytes_received: int = 0
    tip_polls: int = 0  #: requests that only asked where the tip is
    duplicates: int = 0  #: ledgers received again and dropped
    gaps: int = 0  #: pages with a missing ledger (the rest of the page dropped)
    stuck_cursors: int = 0  #: answers that did not advance although the tip was ahead
    bad_cursors: int = 0  #: cursors that did not name the page's last ledger (ignored)
    rpc_errors: int = 0  #: JSON-RPC error answers
    http_errors: int = 0  #: non-2xx answers other than 429
    rate_limited: int = 0  #: 429 answers
    connection_errors: int = 0  #: resets, refusals, cuts
    timeouts: int = 0  #: requests past ``request_timeout``
    limits_exceeded: int = 0  #: bodies past ``max_body_bytes`` (the page limit is halved)
    parse_errors: int = 0  #: answers or ledgers that failed the checks (dropped, asked again)
    stalls: int = 0  #: times the tip stood still for ``stall_timeout``
    retention_errors: int = 0  #: starts before the source's oldest ledger
    unexpected_errors: int = 0  #: anything else raised (logged; retried after backoff)

    def as_dict(self) -> dict[str, int]:
        return {f.name: getattr(self, f.name) for f in fields(self)}


# ---- the ledger header, read strictly --------------------------------------------------------------

@dataclass(frozen=True, slots=True)
class LedgerHeaderInfo:
    """What :func:`read_ledger_header` reads from the start of a ``LedgerCloseMeta``."""

    meta_version: int  #: LedgerCloseMeta's union arm (0, 1, 2)
    sequence: int  #: LedgerHeader.ledgerSeq
    hash: bytes  #: LedgerHeaderHistoryEntry.hash (32 bytes)
    close_time: int  #: scpValue.closeTime
    protocol_version: int  #: LedgerHeader.ledgerVersion
    entry_start: int  #: byte span of the LedgerHeaderHistoryEntry (RPC's headerXdr)
    entry_end: int
    hash_ok: bool  #: sha256(LedgerHeader XDR) == hash
    header_start: int = 0  #: byte span of the LedgerHeader (what the hash covers)
    header_end: int = 0
    sequence_offset: int = 0  #: where ledgerSeq and closeTime are (uint32, uint64 big-endian)
    close_time_offset: int = 0
    previous_hash: bytes = b""  #: LedgerHeader.previousLedgerHash: the hash of the ledger before


class _XdrReader:
    __slots__ = ("b", "pos")

    def __init__(self, b: bytes, pos: int = 0) -> None:
        self.b = b
        self.pos = pos

    def take(self, n: int, what: str) -> bytes:
        end = self.pos + n
        if end > len(self.b):
            raise ParseError(f"LedgerCloseMeta truncated in {what}", self.pos)
        out = self.b[self.pos:end]
        self.pos = end
        return out

    def u32(self, what: str) -> int:
        return struct.unpack(">I", self.take(4, what))[0]

    def u64(self, what: str) -> int:
        return struct.unpack(">Q", self.take(8, what))[0]

    def var_opaque(self, max_len: int, what: str) -> None:
        n = self.u32(what)
        if n > max_len:
            raise ParseError(f"{what}: length {n} over its maximum {max_len}", self.pos - 4)
        pad = (4 - n % 4) % 4
        data = self.take(n + pad, what)
        if any(data[n:]):
            raise ParseError(f"{what}: non-zero XDR padding", self.pos - pad)

    def void_union(self, arms: tuple[int, ...], what: str) -> int:
        v = self.u32(what)
        if v not in arms:
            raise ParseError(f"{what}: unknown union arm {v}", self.pos - 4)
        return v


def read_ledger_header(meta: bytes) -> LedgerHeaderInfo:
    """Read the ``LedgerHeaderHistoryEntry`` at the start of a ``LedgerCloseMeta`` (v0, v1, v2).

    Strict XDR (union arms, lengths, padding); raises :class:`~stellar_ob.errors.ParseError`. The
    rest of the meta is not read (that is the decoder's job).

    Layout (stellar-xdr Stellar-ledger.x): ``LedgerCloseMeta`` = int v; v1/v2 start with
    ``LedgerCloseMetaExt`` (v 0: void; v 1: ExtensionPoint + int64); then the entry: Hash hash;
    LedgerHeader {uint32 ledgerVersion; Hash previousLedgerHash; StellarValue {Hash txSetHash;
    uint64 closeTime; opaque upgrades<128><6>; ext (0: basic; 1: NodeID + Signature<64>)};
    Hash txSetResultHash; Hash bucketListHash; uint32 ledgerSeq; int64 totalCoins; int64 feePool;
    uint32 inflationSeq; uint64 idPool; uint32 baseFee, baseReserve, maxTxSetSize; Hash skipList[4];
    ext (0: void; 1: uint32 flags + ExtensionPoint)}; ext (0: void).
    """
    if not isinstance(meta, (bytes, bytearray, memoryview)):
        raise ParseError(f"a LedgerCloseMeta is bytes, got {type(meta).__name__}")
    r = _XdrReader(bytes(meta))
    version = r.void_union((0, 1, 2), "LedgerCloseMeta")
    if version in (1, 2):
        if r.void_union((0, 1), "LedgerCloseMetaExt") == 1:
            r.void_union((0,), "LedgerCloseMetaExtV1.ext")
            r.take(8, "sorobanFeeWrite1KB")
    entry_start = r.pos
    ledger_hash = r.take(32, "LedgerHeaderHistoryEntry.hash")
    header_start = r.pos
    protocol = r.u32("ledgerVersion")
    previous_hash = r.take(32, "previousLedgerHash")
    r.take(32, "txSetHash")
    close_time_offset = r.pos
    close_time = r.u64("closeTime")
    n = r.u32("upgrades")
    if n > 6:
        raise ParseError(f"StellarValue.upgrades: {n} upgrades, over its maximum 6", r.pos - 4)
    for _ in range(n):
        r.var_opaque(128, "UpgradeType")
    if r.void_union((0, 1), "StellarValue.ext") == 1:
        r.void_union((0,), "NodeID")
        r.take(32, "NodeID key")
        r.var_opaque(64, "Signature")
    r.take(64, "txSetResultHash, bucketListHash")
    sequence_offset = r.pos
    seq = r.u32("ledgerSeq")
    r.take(8 + 8 + 4 + 8 + 4 + 4 + 4 + 32 * 4, "LedgerHeader")
    if r.void_union((0, 1), "LedgerHeader.ext") == 1:
        r.take(4, "LedgerHeaderExtensionV1.flags")
        r.void_union((0,), "LedgerHeaderExtensionV1.ext")
    header_end = r.pos
    r.void_union((0,), "LedgerHeaderHistoryEntry.ext")
    ok = hashlib.sha256(r.b[header_start:header_end]).digest() == ledger_hash
    return LedgerHeaderInfo(version, seq, ledger_hash, close_time, protocol, entry_start, r.pos, ok,
                            header_start, header_end, sequence_offset, close_time_offset, previous_hash)


# ---- the source interface ---------------------------------------------------------------------------

@dataclass
class Page:
    """What one read of a source returned: items from ``start`` on (possibly none yet: the tip),
    and the source's range when it said (``latest``/``oldest``, None if unknown)."""

    items: list
    latest: int | None = None
    oldest: int | None = None


class LedgerSource(Protocol):
    """What :class:`LedgerStream` needs of a source (implemented by ``Rpc`` and ``DataLake``)."""

    counters: LedgerCounters

    async def open(self) -> None: ...
    async def close(self) -> None: ...
    async def latest_ledger(self) -> int: ...
    async def read(self, start: int) -> Page: ...
    def forget_cursor(self) -> None: ...
    def attach(self, owner: Any) -> None: ...


def _server_level(error: BaseException) -> bool:
    """True for a failure that says the server may be down: no answer, a cut, a timeout, a 5xx
    (not a JSON-RPC error, a 429, a cap, bytes that failed the checks: the server answered)."""
    if not isinstance(error, LedgerSourceError) or error.code is not None or error.limit is not None:
        return False
    if error.status is None:
        return bool(getattr(error, "server", False))  # set by the source on no answer / a cut
    return error.status >= 500


@overload
def check_seconds(name: str, value: Any, *, positive: bool = ..., allow_none: Literal[False] = ...) -> float: ...
@overload
def check_seconds(name: str, value: Any, *, positive: bool = ..., allow_none: bool) -> float | None: ...
def check_seconds(name: str, value: Any, *, positive: bool = False, allow_none: bool = False) -> float | None:
    if value is None and allow_none:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not value == value \
            or value in (float("inf"), float("-inf")) or value < 0 or (positive and value == 0):
        raise ArgumentError(f"{name} must be a finite number of seconds {'>' if positive else '>='} 0"
                            f"{' or None' if allow_none else ''}, got {value!r}")
    return float(value)


def check_sequence(name: str, value: Any, *, allow_none: bool = False) -> int | None:
    if value is None and allow_none:
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        raise ArgumentError(f"{name} must be a ledger sequence (int), got {type(value).__name__}")
    if not 1 <= value <= MAX_SEQUENCE:
        raise ArgumentError(f"{name} must be 1..{MAX_SEQUENCE}, got {value}")
    return int(value)


class LedgerStream:
    """``async for item in LedgerStream(source, start):`` every ledger from ``start`` on, in order,
    exactly once, following the tip (``end``: stop after that ledger; None = follow forever).

    ``start`` None = from the source's latest ledger. Items are :class:`Ledger` (RPC) or
    :class:`LedgerBatch` (data lake). ``check(item)``: optional, called on each item before it is
    handed over; a :class:`~stellar_ob.errors.ParseError` it raises drops the page and asks again
    (pass the C decoder's parse here). ``poll_interval`` (1 s): tip polling; ``stall_timeout``
    (60 s, None = off): tip standing still that long is surfaced; ``backoff_base`` /
    ``backoff_cap`` (0.1 / 30 s): jittered exponential backoff after errors.

    RPC ledgers must form one chain: each one's ``previousLedgerHash`` is the hash of the ledger
    handed over before it (``after_hash``: the hash of the ledger before ``start``, to check the
    first one too, e.g. the book's last applied ledger's); a ledger that does not follow is refused
    like a corrupted one (another chain: a lagging or forked node behind a load balancer).

    Status and counters like a ``LiveBook``: :attr:`status` (``stellar_ob.sync.Status``),
    :attr:`counters` (:class:`LedgerCounters`), ``last_error``, :meth:`on_error`,
    ``latest_ledger`` (the source's tip as last seen), :attr:`acknowledged`.
    """

    def __init__(
        self,
        source: Any,
        start: int | None = None,
        *,
        end: int | None = None,
        check: Callable[[Item], Any] | None = None,
        poll_interval: float = 1.0,
        stall_timeout: float | None = 60.0,
        backoff_base: float = 0.1,
        backoff_cap: float = 30.0,
        after_hash: str | None = None,
        health: Any = None,
        paced: bool = True,
    ) -> None:
        if after_hash is not None and (not isinstance(after_hash, str) or len(after_hash) != 64
                                       or after_hash.strip("0123456789abcdef")):
            raise ArgumentError("after_hash must be the 64 lowercase hex digits of a ledger hash, or None")
        for attr in ("read", "latest_ledger", "open", "close", "counters", "attach", "forget_cursor"):
            if not hasattr(source, attr):
                raise ArgumentError(f"source must be an Rpc or a DataLake, got {type(source).__name__}")
        self.source = source
        self.start = check_sequence("start", start, allow_none=True)
        self.end = check_sequence("end", end, allow_none=True)
        if self.start is not None and self.end is not None and self.end < self.start:
            raise ArgumentError(f"end ({self.end}) is before start ({self.start})")
        if check is not None and not callable(check):
            raise ArgumentError("check must be callable or None")
        self.check = check
        self.poll_interval = check_seconds("poll_interval", poll_interval, positive=True)
        self.stall_timeout = check_seconds("stall_timeout", stall_timeout, positive=True, allow_none=True)
        if not isinstance(paced, bool):
            raise ArgumentError("paced must be a bool")
        self.paced = paced
        self._tip_found: float | None = None  # monotonic time the last ledger was found at the tip
        self._gaps_seen: list[float] = []  # the last gaps between ledgers found at the tip (s)
        self._found_times: list[float] = []  # the monotonic times the last few were found
        #: polls at the tip that found no new ledger (what pacing keeps low)
        self.empty_polls = 0
        self._backoff = Backoff(check_seconds("backoff_base", backoff_base),
                                check_seconds("backoff_cap", backoff_cap))
        self._status = Status.CONNECTING
        self.rate_limited_until: float | None = None
        self.last_error: BaseException | None = None
        self.latest_ledger: int | None = None
        self.acknowledged: int | None = None  #: last ledger the consumer finished with
        self._next: int | None = self.start  # next ledger to receive from the source
        self._last_hash: str | None = after_hash  # hash of the ledger before _next, when known
        self._buffer: list[Item] = []
        self._handed: Item | None = None
        self._error_callbacks: list[Callable[["LedgerStream", BaseException], Any]] = []
        self._opened = False
        self._closed = False
        self._tip_since = time.monotonic()
        self._tip_seen: int | None = None
        self._stall_reported = False
        #: ``time.time()`` a stall was reported (the tip stood still ``stall_timeout`` s); None once
        #: a new ledger arrives
        self.stalled_since: float | None = None
        #: True once the stream has found the source's tip (every ledger it had was handed over)
        self.reached_tip = False
        if health is not None and not callable(getattr(health, "server_failed", None)):
            raise ArgumentError("health must be a health probe (with server_failed) or None")
        self.health = health
        self._changed = asyncio.Event()  # set on status changes a health probe makes (its protocol)
        source.attach(self)

    # ---- state ---------------------------------------------------------------------------------------
    @property
    def counters(self) -> LedgerCounters:
        return self.source.counters

    @property
    def status(self) -> Status:
        return self._status

    @status.setter
    def status(self, value: Status) -> None:
        if self._status in (Status.FAILED, Status.CLOSED):
            return
        if value is not Status.RATE_LIMITED:
            self.rate_limited_until = None
        self._status = value

    @property
    def next_sequence(self) -> int | None:
        """The next ledger the consumer will get (None before the start is known)."""
        if self._buffer:
            item = self._buffer[0]
            return item.first if isinstance(item, LedgerBatch) else item.sequence
        return self._next

    def on_error(self, callback: Callable[["LedgerStream", BaseException], Any]) -> Callable[[], None]:
        """Call ``callback(stream, error)`` for every error surfaced; what it raises is logged."""
        if not callable(callback):
            raise ArgumentError("callback must be callable")
        self._error_callbacks.append(callback)
        return lambda: self._error_callbacks.remove(callback) if callback in self._error_callbacks else None

    def ack(self, sequence: int) -> None:
        """Mark ``sequence`` (a ledger handed over) as applied; asking for the next item does it too."""
        if self._handed is None or sequence != self._handed.sequence:
            raise ArgumentError(f"only the ledger last handed over can be acknowledged, got {sequence!r}")
        self.acknowledged = sequence

    # ---- lifecycle -----------------------------------------------------------------------------------
    async def __aenter__(self) -> "LedgerStream":
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    async def close(self) -> None:
        """Stop and release the source's connections (idempotent)."""
        if self._status is not Status.FAILED:
            self._status = Status.CLOSED
        self._closed = True
        self._buffer.clear()
        await self.source.close()

    def __aiter__(self) -> "LedgerStream":
        return self

    async def __anext__(self) -> Item:
        if self._handed is not None:
            self.acknowledged = self._handed.sequence
            self._handed = None
        if self._closed:
            raise StopAsyncIteration
        if self.end is not None and self.acknowledged is not None and self.acknowledged >= self.end:
            raise StopAsyncIteration
        while not self._buffer:
            if self.end is not None and self._next is not None and self._next > self.end:
                raise StopAsyncIteration
            await self._fill()
        item = self._buffer.pop(0)
        self._handed = item
        c = self.counters
        if isinstance(item, LedgerBatch):
            c.batches += 1
            c.ledgers += item.end - item.first + 1
        else:
            c.ledgers += 1
        return item

    # ---- internals -----------------------------------------------------------------------------------
    def _rate_limited(self, seconds: float) -> None:  # called by sync.RateBudget.acquire
        self.status = Status.RATE_LIMITED
        self.rate_limited_until = time.time() + seconds

    def _surface(self, error: BaseException) -> None:
        self.last_error = error
        for cb in list(self._error_callbacks):
            try:
                cb(self, error)
            except Exception:  # noqa: BLE001 - a callback never stops the stream
                log.exception("on_error callback %r raised", cb)

    def _fail(self, error: BaseException) -> None:
        self._status = Status.FAILED
        self._surface(error)

    async def _retry_later(self, error: BaseException) -> None:
        self._surface(error)
        if self.health is not None and _server_level(error):
            # the server itself may be down: one shared probe (RPC getHealth) decides, and while it
            # is down the probe alone asks; back up, the stream asks again at once
            if await self.health.server_failed(self):
                self._backoff.reset()
                return
        self.status = Status.BACKING_OFF
        wait = self._backoff.next()
        if isinstance(error, LedgerSourceError) and error.retry_after is not None:
            wait = max(wait, error.retry_after)
        await asyncio.sleep(wait)

    async def _fill(self) -> None:
        """One round: open the source, find the start, read one page, check it, buffer it."""
        c = self.counters
        try:
            if not self._opened:
                await self.source.open()
                self._opened = True
            if self._next is None:
                self._next = await self.source.latest_ledger()
                self.start = self._next
            page = await self.source.read(self._next)
        except (RetentionError, NetworkMismatchError, ArgumentError) as e:
            if isinstance(e, RetentionError):
                c.retention_errors += 1
            self._fail(e)
            raise
        except (LedgerSourceError, ParseError) as e:
            await self._retry_later(e)
            return
        except asyncio.CancelledError:
            raise
        except Exception as e:  # a bug, or something no branch foresaw: never a dead stream
            log.exception("ledger source %r failed unexpectedly; retrying after backoff", self.source)
            c.unexpected_errors += 1
            await self._retry_later(e)
            return
        if page.latest is not None:
            self.latest_ledger = page.latest
        try:
            progressed = self._accept(page)
        except ParseError as e:
            c.parse_errors += 1
            self.source.forget_cursor()
            await self._retry_later(e)
            return
        if progressed:
            self._backoff.reset()
            self.status = Status.LIVE
            if self.reached_tip and (page.latest is None or self._next is None or page.latest < self._next):
                self._found_at_tip(time.monotonic())  # a ledger that closed while we waited at the tip
            self._tip_since = time.monotonic()
            self._stall_reported = False
            self.stalled_since = None
            return
        expect = self._next_ledger()
        if page.latest is not None and page.latest >= expect:
            # the source says the ledger exists but handed over nothing new: a stuck cursor
            c.stuck_cursors += 1
            self.source.forget_cursor()
            await self._retry_later(LedgerSourceError(
                f"the source did not advance past ledger {expect - 1} although its latest is {page.latest}"))
            return
        # at the tip: wait for the next ledger to close
        self.reached_tip = True
        self.status = Status.LIVE
        self._backoff.reset()
        if self.stall_timeout is not None and not self._stall_reported \
                and time.monotonic() - self._tip_since > self.stall_timeout:
            self._stall_reported = True
            self.stalled_since = time.time()
            c.stalls += 1
            self._surface(LedgerSourceError(f"no new ledger after {self._next - 1} for {self.stall_timeout:g} s"))
        self.empty_polls += 1
        await asyncio.sleep(self._tip_wait(time.monotonic()))

    @property
    def cadence(self) -> float | None:
        """The ledger cadence learnt at the tip (s; the median of the last gaps), None before two gaps."""
        gaps = self._gaps_seen
        if len(gaps) < 2:
            return None
        return sorted(gaps)[len(gaps) // 2]

    def _found_at_tip(self, now: float) -> None:
        if self._tip_found is not None:
            self._gaps_seen.append(now - self._tip_found)
            del self._gaps_seen[:-8]
        self._tip_found = now
        self._found_times.append(now)
        del self._found_times[:-4]

    def _tip_wait(self, now: float) -> float:
        """How long to sleep at the tip before asking again (see "Pacing" in the module docstring)."""
        poll = self.poll_interval
        cadence = self.cadence
        if not self.paced or cadence is None or self._tip_found is None:
            return poll
        # the lead covers the spread of the gaps seen: a ledger published late is often followed by
        # one early by as much (a source that closes on a fixed schedule)
        lead = max(0.1 * cadence, 3 * poll, cadence - min(self._gaps_seen) + 2 * poll)
        # the next ledger as each of the last few found predicts it (found + k cadences): the
        # earliest counts, so one ledger found late does not push the schedule back
        k = len(self._found_times)
        due = min(t + (k - i) * cadence for i, t in enumerate(self._found_times))
        wake = due - lead
        if self.stall_timeout is not None:
            wake = min(wake, self._tip_since + self.stall_timeout)  # a stall is still noticed in time
        return max(poll, wake - now)

    def _gap(self, expected: int, got: int) -> None:
        self.counters.gaps += 1
        self.source.forget_cursor()
        self._surface(LedgerSourceError(f"the source skipped ledger {expected} (sent {got} next); asking again"))

    def _next_ledger(self) -> int:
        """The ledger the stream expects next (known once it has started: a page is read only then)."""
        if self._next is None:
            raise LedgerSourceError("the ledger stream read a page before it knew where to start")
        return self._next

    def _accept(self, page: Page) -> bool:
        """Buffer the page's items that continue the stream; True if any did. Raises ParseError
        (nothing buffered) when an item fails ``check``."""
        c = self.counters
        expect = self._next_ledger()
        last_hash = self._last_hash
        fresh: list[Item] = []
        for item in page.items:
            if isinstance(item, LedgerBatch):
                if item.end < expect:
                    c.duplicates += item.end - item.start + 1
                    continue
                if item.start > expect:
                    self._gap(expect, item.start)
                    break
                if item.first != expect:
                    item = LedgerBatch(item.start, item.end, item.data, expect, item.name, item.received_ns)
                fresh.append(item)
                expect = item.end + 1
                last_hash = None  # the ledgers inside a batch are the decoder's to read
            else:
                if item.sequence < expect:
                    c.duplicates += 1
                    continue
                if item.sequence > expect:
                    self._gap(expect, item.sequence)
                    break
                if last_hash is not None and item.previous_hash and item.previous_hash != last_hash:
                    raise ParseError(f"ledger {item.sequence} does not follow ledger {item.sequence - 1} as "
                                     f"handed over (previousLedgerHash {item.previous_hash[:16]}... is not "
                                     f"{last_hash[:16]}...): another chain, or corrupted")
                fresh.append(item)
                expect = item.sequence + 1
                last_hash = item.hash
            if self.end is not None and expect > self.end:
                break
        if self.check is not None:
            for item in fresh:
                self.check(item)  # ParseError: the whole page is dropped
        self._buffer.extend(fresh)
        self._next = expect
        self._last_hash = last_hash
        return bool(fresh)
