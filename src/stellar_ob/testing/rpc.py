"""A local Stellar RPC on 127.0.0.1 serving given ledgers, with fault switches (loopback only).

It speaks JSON-RPC 2.0 over ``POST /`` as stellar/stellar-rpc does (cmd/stellar-rpc/internal/
methods/, types of go-stellar-sdk protocols/rpc): ``getHealth``, ``getNetwork``,
``getLatestLedger`` and ``getLedgers`` with its retention window, ``startLedger`` or
``pagination.cursor`` (not both), ``pagination.limit`` (default 50, at most 200), the cursor of an
answer being its last ledger's sequence, and the same errors: -32600 for a start outside
[oldestLedger, latestLedger] or a limit over 200 (the request's Validate), -32602 for a cursor
whose next ledger is outside it, -32601 for an unknown method, -32700 for a body that is not JSON.
Its answers parse with stellar-sdk's own models (``stellar_sdk.soroban_rpc``), which the tests
check.

Ledgers are ``(sequence, LedgerCloseMeta bytes)``; the hash, close time and ``headerXdr`` are read
from the meta's header. :meth:`LocalRpc.append` adds ledgers while it runs (the tip advancing);
``retention`` bounds what is kept (older ledgers are dropped, as RPC's retention window does).
:func:`restamp_ledger` makes a ledger of any sequence from a real one (tests need many).

Fault switches (:class:`RpcFaults`) are counts of requests to spoil, so a test drives them
deterministically; several can be on at once. :meth:`LocalRpc.forget_before` moves the oldest
ledger past a client (a jump past the retention window).
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import json
import struct
from dataclasses import dataclass, field
from typing import Any, Iterable

from aiohttp import web

from stellar_ob.ledger.stream import read_ledger_header
from stellar_ob.testing._loopback import FaultCounts, LoopbackServer, first_half
from stellar_ob.testing._loopback import take as _take
from stellar_ob.errors import ArgumentError

__all__ = ["LocalRpc", "RpcFaults", "restamp_ledger", "empty_ledger", "empty_chain", "RecordingRpc"]

STANDALONE_PASSPHRASE = "Standalone Network ; February 2017"
MAX_LIMIT = 200
DEFAULT_LIMIT = 50


def empty_ledger(sequence: int, close_time: int = 1_700_000_000, previous_hash: bytes = bytes(32),
                 protocol_version: int = 19) -> bytes:
    """A valid ``LedgerCloseMeta`` (v0) of a ledger with no transactions: the header (its hash
    computed), an empty transaction set, no results, upgrades or SCP messages. For examples and
    tests that need ledgers but no particular content.
    """
    header = b"".join([
        struct.pack(">I", protocol_version), previous_hash,
        bytes(32), struct.pack(">Q", close_time), struct.pack(">I", 0), struct.pack(">I", 0),  # scpValue
        bytes(32), bytes(32),  # txSetResultHash, bucketListHash
        struct.pack(">IqqIQIII", sequence, 100_000_000_000 * 10_000_000, 0, 0, 0, 100, 5_000_000, 1000),
        bytes(32 * 4), struct.pack(">I", 0),  # skipList, ext
    ])
    entry = hashlib.sha256(header).digest() + header + struct.pack(">I", 0)
    tx_set = previous_hash + struct.pack(">I", 0)
    return struct.pack(">I", 0) + entry + tx_set + struct.pack(">III", 0, 0, 0)


def empty_chain(first: int, count: int, close_time: int = 1_700_000_000,
                previous_hash: bytes = bytes(32)) -> list[tuple[int, bytes]]:
    """``count`` ledgers made by :func:`empty_ledger` from ``first``, 5 s apart, each linked to the one before
    by its previousLedgerHash (``previous_hash``: the hash before the first)."""
    out: list[tuple[int, bytes]] = []
    for seq in range(first, first + count):
        meta = empty_ledger(seq, close_time + 5 * (seq - first), previous_hash)
        previous_hash = read_ledger_header(meta).hash
        out.append((seq, meta))
    return out


def restamp_ledger(meta: bytes, sequence: int, close_time: int | None = None,
                   previous_hash: bytes | None = None) -> bytes:
    """``meta`` (a LedgerCloseMeta) made into ledger ``sequence``: ledgerSeq, closeTime and the
    previous ledger's hash set in its header, the ledger hash recomputed (sha256 of the header).
    The rest of the meta is unchanged (a valid ledger for a decoder, not one a network closed)."""
    h = read_ledger_header(meta)
    b = bytearray(meta)
    struct.pack_into(">I", b, h.sequence_offset, sequence)
    if close_time is not None:
        struct.pack_into(">Q", b, h.close_time_offset, close_time)
    if previous_hash is not None:
        if len(previous_hash) != 32:
            raise ArgumentError("previous_hash is 32 bytes")
        b[h.header_start + 4:h.header_start + 36] = previous_hash
    b[h.entry_start:h.entry_start + 32] = hashlib.sha256(b[h.header_start:h.header_end]).digest()
    return bytes(b)


@dataclass
class RpcFaults(FaultCounts):
    """Counts of requests (or getLedgers answers) to spoil; each is decremented as it is used."""

    rate_limited: int = 0  #: HTTP 429 with ``Retry-After: retry_after``
    retry_after: str = "1"
    server_errors: int = 0  #: HTTP 503
    rpc_errors: int = 0  #: JSON-RPC -32603 internal error
    cuts: int = 0  #: half the answer, then the connection is closed
    stalls: int = 0  #: never answered (until the client gives up or the server stops)
    truncated_xdr: int = 0  #: getLedgers: the last ledger's metadataXdr is the base64 of half its bytes
    corrupted_base64: int = 0  #: getLedgers: the last ledger's metadataXdr is not base64
    corrupted_xdr: int = 0  #: getLedgers: a byte of the last ledger's header flipped (the hash no longer matches)
    stuck_cursor: int = 0  #: getLedgers: the answer is the page the first stuck request got, with its cursor
    missing_ledger: int = 0  #: getLedgers: the page's second ledger left out (a gap)
    duplicate_ledger: int = 0  #: getLedgers: the page's first ledger sent twice
    oversized: int = 0  #: getLedgers: the answer padded with ``oversized_bytes`` of whitespace
    oversized_bytes: int = 0
    #: bodies sent instead of the next answers, one per request (a hostile server or proxy: not
    #: JSON, 100,000-deep nesting, a wrong id, fields of the wrong type ...)
    raw_answers: list = field(default_factory=list)

    def any(self) -> bool:
        return any(getattr(self, f) for f in ("rate_limited", "server_errors", "rpc_errors", "cuts", "stalls",
                                              "truncated_xdr", "corrupted_base64", "corrupted_xdr", "stuck_cursor",
                                              "missing_ledger", "duplicate_ledger", "oversized",
                                              "raw_answers"))


@dataclass
class RpcStats:
    requests: int = 0
    by_method: dict = field(default_factory=dict)
    faults: int = 0  #: requests spoiled by a fault switch


class LocalRpc(LoopbackServer):
    """A JSON-RPC Stellar RPC on 127.0.0.1 serving ``ledgers`` (``(sequence, meta)`` pairs, in
    order, consecutive).

    ``retention``: ledgers kept (None = all; the oldest are dropped as ledgers are appended).
    ``passphrase``: what getNetwork says. ``max_limit`` / ``default_limit``: getLedgers' page
    limits (stellar-rpc's defaults 200 / 50)::

        async with LocalRpc(ledgers, retention=100) as server:
            async with LedgerStream(Rpc(server.url), start=ledgers[0][0]) as stream:
                async for ledger in stream: ...
    """

    def __init__(self, ledgers: Iterable[tuple[int, bytes]] = (), *, retention: int | None = None,
                 passphrase: str = STANDALONE_PASSPHRASE, host: str = "127.0.0.1", port: int = 0,
                 max_limit: int = MAX_LIMIT, default_limit: int = DEFAULT_LIMIT) -> None:
        super().__init__(host=host, port=port)
        self.passphrase = passphrase
        self.retention = retention
        self.max_limit = max_limit
        self.default_limit = default_limit
        self.faults = RpcFaults()
        self.stats = RpcStats()
        self._ledgers: dict[int, tuple[bytes, Any]] = {}
        self._first: int | None = None
        self._last: int | None = None
        self._stuck_result: dict | None = None
        self.appended = asyncio.Event()  #: set (and cleared by waiters) when ledgers are appended
        self.append(ledgers)

    # ---- ledgers ---------------------------------------------------------------------------------------
    def append(self, ledgers: Iterable[tuple[int, bytes]]) -> None:
        """Add ledgers at the tip (each the next sequence); drops what falls out of ``retention``."""
        for seq, meta in ledgers:
            h = read_ledger_header(meta)
            if h.sequence != seq:
                raise ArgumentError(f"ledger {seq}: its meta is ledger {h.sequence}")
            if self._last is not None and seq != self._last + 1:
                raise ArgumentError(f"ledger {seq} does not follow {self._last}")
            self._ledgers[seq] = (bytes(meta), h)
            self._last = seq
            if self._first is None:
                self._first = seq
        if self.retention is not None and self._last is not None:
            self.forget_before(self._last - self.retention + 1)
        self.appended.set()

    def forget_before(self, sequence: int) -> None:
        """Drop every ledger before ``sequence`` (the oldest ledger becomes ``sequence``)."""
        while self._first is not None and self._first < sequence and self._first < (self._last or 0):
            self._ledgers.pop(self._first, None)
            self._first += 1

    @property
    def oldest(self) -> int | None:
        return self._first

    @property
    def latest(self) -> int | None:
        return self._last

    # ---- lifecycle (start, stop, url, async with: LoopbackServer) --------------------------------------
    client_max_size = 512 * 1024  # stellar-rpc's maxHTTPRequestSize

    def _routes(self, app: web.Application) -> None:
        app.router.add_post("/", self._handle)

    # ---- JSON-RPC --------------------------------------------------------------------------------------
    async def _handle(self, request: web.Request) -> web.StreamResponse:
        self.stats.requests += 1
        f = self.faults
        if _take(f, "stalls"):
            self.stats.faults += 1
            return await self._stall()
        if _take(f, "rate_limited"):
            self.stats.faults += 1
            return web.Response(status=429, text="rate limited", headers={"Retry-After": f.retry_after})
        if _take(f, "server_errors"):
            self.stats.faults += 1
            return web.Response(status=503, text="service unavailable")
        if f.raw_answers:
            self.stats.faults += 1
            return web.Response(body=f.raw_answers.pop(0), content_type="application/json")
        try:
            req = json.loads(await request.read())
        except ValueError:
            return self._json({"jsonrpc": "2.0", "id": None, "error": {"code": -32700, "message": "parse error"}})
        rid = req.get("id") if isinstance(req, dict) else None
        method = req.get("method") if isinstance(req, dict) else None
        self.stats.by_method[method] = self.stats.by_method.get(method, 0) + 1
        params = req.get("params") if isinstance(req, dict) else None
        if _take(f, "rpc_errors"):
            self.stats.faults += 1
            return self._json({"jsonrpc": "2.0", "id": rid, "error": {"code": -32603, "message": "internal error"}})
        handler = {"getHealth": self._get_health, "getNetwork": self._get_network,
                   "getLatestLedger": self._get_latest_ledger, "getLedgers": self._get_ledgers}.get(method)
        if handler is None:
            return self._json({"jsonrpc": "2.0", "id": rid,
                               "error": {"code": -32601, "message": f"method {method!r} not found"}})
        try:
            result = handler(params if isinstance(params, dict) else {})
        except _RpcFailure as e:
            return self._json({"jsonrpc": "2.0", "id": rid, "error": {"code": e.code, "message": e.message}})
        body = json.dumps({"jsonrpc": "2.0", "id": rid, "result": result}).encode()
        if method == "getLedgers" and _take(f, "oversized"):
            self.stats.faults += 1
            body += b" " * f.oversized_bytes
        if _take(f, "cuts"):
            self.stats.faults += 1
            return await self._partial(request, body, close=True, headers={"Content-Type": "application/json"})
        return web.Response(body=body, content_type="application/json")

    @staticmethod
    def _json(doc: dict) -> web.Response:
        return web.Response(body=json.dumps(doc).encode(), content_type="application/json")

    def _range(self) -> tuple[int, int]:
        if self._first is None or self._last is None:
            raise _RpcFailure(-32603, "data stores are not initialized")
        return self._first, self._last

    def _get_health(self, _params: dict) -> dict:
        first, last = self._range()
        return {"status": "healthy", "latestLedger": last,
                "latestLedgerCloseTime": self._ledgers[last][1].close_time,
                "oldestLedger": first, "oldestLedgerCloseTime": self._ledgers[first][1].close_time,
                "ledgerRetentionWindow": self.retention if self.retention is not None else last - first + 1}

    def _get_network(self, _params: dict) -> dict:
        first, last = self._range()
        return {"passphrase": self.passphrase, "protocolVersion": self._ledgers[last][1].protocol_version}

    def _get_latest_ledger(self, _params: dict) -> dict:
        first, last = self._range()
        meta, h = self._ledgers[last]
        return {"id": h.hash.hex(), "protocolVersion": h.protocol_version, "sequence": last,
                "closeTime": str(h.close_time),
                "headerXdr": base64.b64encode(meta[h.entry_start:h.entry_end]).decode(),
                "metadataXdr": base64.b64encode(meta).decode()}

    def _get_ledgers(self, params: dict) -> dict:
        if _take(self.faults, "stuck_cursor"):
            self.stats.faults += 1
            if self._stuck_result is None:
                self._stuck_result = self._ledgers_page(params)
            return self._stuck_result
        self._stuck_result = None
        return self._ledgers_page(params)

    def _ledgers_page(self, params: dict) -> dict:
        first, last = self._range()
        start = params.get("startLedger", 0)
        pagination = params.get("pagination")
        if pagination is not None and not isinstance(pagination, dict):
            raise _RpcFailure(-32602, "invalid parameters")
        cursor = (pagination or {}).get("cursor") or ""
        limit = (pagination or {}).get("limit") or 0
        if not isinstance(start, int) or not isinstance(limit, int) or not isinstance(cursor, str) or limit < 0:
            raise _RpcFailure(-32602, "invalid parameters")
        # protocol.ValidatePagination
        bad_page = (f"start ledger ({start}) must be between the oldest ledger: {first} and the latest ledger: "
                    f"{last} for this rpc instance")
        if pagination is not None:
            if cursor:
                if start != 0:
                    raise _RpcFailure(-32600, f"startLedger ({start}) and cursor ({cursor}) cannot both be set")
            elif not first <= start <= last:
                raise _RpcFailure(-32600, bad_page)
            if limit > self.max_limit:
                raise _RpcFailure(-32600, f"limit must not exceed {self.max_limit}")
        elif not first <= start <= last:
            raise _RpcFailure(-32600, bad_page)
        # initializePagination / parseCursor
        if cursor:
            if not cursor.isdigit() or int(cursor) > 2**32 - 1:
                raise _RpcFailure(-32602, f'strconv.ParseUint: parsing "{cursor}": invalid syntax')
            start = int(cursor) + 1
            if not first <= start <= last:
                raise _RpcFailure(-32602, f"cursor ('{cursor}') must be between the oldest ledger: {first} and the "
                                          f"latest ledger: {last} for this rpc instance")
        if limit <= 0:
            limit = self.default_limit
        end = min(last, start + limit - 1)
        infos = []
        for seq in range(start, end + 1):
            meta, h = self._ledgers[seq]
            infos.append({"hash": h.hash.hex(), "sequence": seq, "ledgerCloseTime": str(h.close_time),
                          "headerXdr": base64.b64encode(meta[h.entry_start:h.entry_end]).decode(),
                          "metadataXdr": base64.b64encode(meta).decode()})
        out_cursor = str(infos[-1]["sequence"]) if infos else (cursor or str(start - 1))
        self._spoil(infos)
        return {"ledgers": infos, "latestLedger": last,
                "latestLedgerCloseTime": self._ledgers[last][1].close_time,
                "oldestLedger": first, "oldestLedgerCloseTime": self._ledgers[first][1].close_time,
                "cursor": out_cursor}

    def _spoil(self, infos: list[dict]) -> None:
        """At most one of the byte faults per page (each spoils the page's last ledger)."""
        f = self.faults
        if not infos:
            return
        if _take(f, "truncated_xdr"):
            self.stats.faults += 1
            meta = base64.b64decode(infos[-1]["metadataXdr"])
            infos[-1]["metadataXdr"] = base64.b64encode(first_half(meta)).decode()
        elif _take(f, "corrupted_base64"):
            self.stats.faults += 1
            infos[-1]["metadataXdr"] = "!!" + infos[-1]["metadataXdr"][2:]
        elif _take(f, "corrupted_xdr"):
            self.stats.faults += 1
            meta = bytearray(base64.b64decode(infos[-1]["metadataXdr"]))
            h = read_ledger_header(bytes(meta))
            meta[h.header_start + 40] ^= 0x55  # inside previousLedgerHash: still XDR, no longer the hash
            infos[-1]["metadataXdr"] = base64.b64encode(bytes(meta)).decode()
        if len(infos) >= 2 and _take(f, "missing_ledger"):
            self.stats.faults += 1
            del infos[1]
        if _take(f, "duplicate_ledger"):
            self.stats.faults += 1
            infos.insert(1, dict(infos[0]))


class _RpcFailure(Exception):
    def __init__(self, code: int, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


class RecordingRpc(LocalRpc):
    """A :class:`LocalRpc` that logs every request and can be switched down.

    :attr:`log` holds ``(time.monotonic(), method)`` per request received (``method`` None for a
    body that is not a JSON-RPC request), so a test asserts on what the client asked and how
    often from the server's side. While ``down`` is True every request is answered 503 (a
    node behind a load balancer that lost its backend), logged all the same.
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.log: list[tuple[float, Any]] = []
        self.down = False

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        import time

        body = await request.read()  # aiohttp keeps it: the handler reads it again
        try:
            doc = json.loads(body)
            method = doc.get("method") if isinstance(doc, dict) else None
        except ValueError:
            method = None
        self.log.append((time.monotonic(), method))
        if self.down:
            return web.Response(status=503, text="service unavailable")
        return await super()._handle(request)

    def requests(self, method: str | None = None, since: float = 0.0) -> list[float]:
        """The times of the requests of ``method`` (all if None) received at or after ``since``."""
        return [t for t, m in self.log if t >= since and (method is None or m == method)]
