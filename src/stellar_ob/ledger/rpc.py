"""Stellar RPC as a ledger source: JSON-RPC 2.0 over HTTP(S) with aiohttp.

What is used, as stellar/stellar-rpc serves it (cmd/stellar-rpc/internal/methods/get_ledgers.go,
get_health.go, get_network.go, get_latest_ledger.go; the types in go-stellar-sdk protocols/rpc):

* ``getNetwork`` -> ``{passphrase, protocolVersion, friendbotUrl?}``: checked against the
  passphrase given (:class:`~stellar_ob.ledger.stream.NetworkMismatchError` otherwise).
* ``getLatestLedger`` -> ``{id, protocolVersion, sequence, closeTime, headerXdr, metadataXdr}``:
  where a stream with no start begins.
* ``getHealth`` -> ``{status, latestLedger, latestLedgerCloseTime, oldestLedger, ...}``: the tip and
  the retention window, polled while waiting at the tip (it is small; getLatestLedger carries the
  whole latest ledger's metadata).
* ``getLedgers`` ``{startLedger, pagination: {cursor, limit <= 200}}`` -> ``{ledgers: [{hash,
  sequence, ledgerCloseTime, headerXdr, metadataXdr}], latestLedger, latestLedgerCloseTime,
  oldestLedger, oldestLedgerCloseTime, cursor}``. The first request gives ``startLedger``, the next
  ones the ``cursor`` returned (the last ledger's sequence; startLedger must then be absent). A
  start outside [oldestLedger, latestLedger] is a JSON-RPC error -32600 (a cursor past the tip
  -32602): the client never asks past the tip it knows, and classifies such an error with
  getHealth (before the oldest: :class:`~stellar_ob.ledger.stream.RetentionError`; past the tip:
  nothing yet).

Every request has ``request_timeout`` in all and ``max_body_bytes``; a body past the cap halves
the page limit (down to 1) and asks again. 429 blocks every request of the client for
``Retry-After`` (at most ``max_retry_wait``: sync.py's :class:`~stellar_ob.sync.RateBudget`).
Redirects are not followed.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import itertools
import json
import re
import time
from typing import Any

import aiohttp

from stellar_ob.errors import ParseError
from stellar_ob.ledger.stream import (
    MAX_SEQUENCE,
    Ledger,
    LedgerCounters,
    LedgerSourceError,
    NetworkMismatchError,
    Page,
    RetentionError,
    _deadline,
    check_seconds,
    read_ledger_header,
)
from stellar_ob.sync import ArgumentError, RateBudget
from stellar_ob.sync.http import _describe
from stellar_ob.sync.http import _read_capped as _http_read_capped

__all__ = ["Rpc", "RpcError", "MAX_PAGE_LIMIT", "PUBLIC_PASSPHRASE", "TESTNET_PASSPHRASE"]

MAX_PAGE_LIMIT = 200  # stellar-rpc's max-ledgers-limit default (config/options.go)
PUBLIC_PASSPHRASE = "Public Global Stellar Network ; September 2015"
TESTNET_PASSPHRASE = "Test SDF Network ; September 2015"
_MiB = 1 << 20
_ERROR_BODY = 64 << 10

# jrpc2 error codes (JSON-RPC 2.0)
INVALID_REQUEST = -32600
INVALID_PARAMS = -32602
_HEX64 = re.compile(r"[0-9a-f]{64}")
_UINT = re.compile(r"[0-9]{1,10}")


class RpcError(LedgerSourceError):
    """Stellar RPC answered a JSON-RPC error (``code``, ``message``)."""


def _uint32(v: Any, what: str) -> int:
    if isinstance(v, bool) or not isinstance(v, int) or not 0 <= v <= MAX_SEQUENCE:
        raise ParseError(f"{what} must be a uint32, got {str(v)[:40]!r}")
    return v


def _int64_or_string(v: Any, what: str) -> int:
    """Go's ``int64 `json:",string"``` (a string of digits) or a plain JSON integer."""
    if isinstance(v, str) and re.fullmatch(r"-?[0-9]{1,19}", v):
        v = int(v)
    if isinstance(v, bool) or not isinstance(v, int) or not -(2**63) <= v < 2**63:
        raise ParseError(f"{what} must be an int64, got {str(v)[:40]!r}")
    return v


def _b64(v: Any, what: str) -> bytes:
    if not isinstance(v, str):
        raise ParseError(f"{what} must be base64 text, got {type(v).__name__}")
    try:
        data = v.encode("ascii")
        try:
            return binascii.a2b_base64(data, strict_mode=True)
        except TypeError:  # Python 3.10: no strict_mode; validate= checks the alphabet and padding
            return base64.b64decode(data, validate=True)
    except (binascii.Error, UnicodeEncodeError, ValueError) as e:
        raise ParseError(f"{what} is not strict base64: {e}") from None


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def _loads(body: bytes, what: str) -> Any:
    try:
        return json.loads(body, parse_constant=_reject_constant)
    except (ValueError, RecursionError, UnicodeDecodeError) as e:
        raise ParseError(f"{what}: the answer is not JSON ({str(e)[:120]})") from None


def _body_limit(message: str) -> Exception:
    return LedgerSourceError(message, limit="max_body_bytes")


async def _read_capped(resp: aiohttp.ClientResponse, cap: int, what: str) -> bytes:
    """The body, or LedgerSourceError(limit='max_body_bytes') as soon as it is past ``cap``
    (the sync layer's reader, raising this package's error)."""
    return await _http_read_capped(resp, cap, what, _body_limit)


class Rpc:
    """A Stellar RPC endpoint as a ledger source (for :class:`~stellar_ob.ledger.stream.LedgerStream`),
    and a small client of the methods it uses::

        rpc = Rpc("http://127.0.0.1:8000", passphrase=PUBLIC_PASSPHRASE)
        async with LedgerStream(rpc, start=53_312_000) as ledgers:
            async for ledger in ledgers:
                apply(ledger.sequence, ledger.meta)

    ``passphrase``: the network expected (None = not checked). ``page_limit``: ledgers asked per
    getLedgers (1..200). ``request_timeout`` (30 s): one request, answer and body included;
    ``connect_timeout`` (10 s). ``max_body_bytes`` (256 MiB): one answer (a mainnet ledger's
    metadata is ~0.3-3 MB, as base64 a third more). ``max_retry_wait`` (300 s): the longest a
    429's Retry-After is obeyed; ``min_request_interval`` (0): spaces out request starts.
    """

    def __init__(
        self,
        url: str,
        *,
        passphrase: str | None = None,
        session: aiohttp.ClientSession | None = None,
        page_limit: int = 20,
        request_timeout: float = 30.0,
        connect_timeout: float = 10.0,
        max_body_bytes: int = 256 * _MiB,
        max_retry_wait: float = 300.0,
        min_request_interval: float = 0.0,
    ) -> None:
        if not isinstance(url, str) or not url.startswith(("http://", "https://")):
            raise ArgumentError(f"url must be an http:// or https:// URL, got {url!r}")
        if passphrase is not None and not isinstance(passphrase, str):
            raise ArgumentError("passphrase must be a str or None")
        if isinstance(page_limit, bool) or not isinstance(page_limit, int) or not 1 <= page_limit <= MAX_PAGE_LIMIT:
            raise ArgumentError(f"page_limit must be 1..{MAX_PAGE_LIMIT} (getLedgers' maximum), got {page_limit!r}")
        if isinstance(max_body_bytes, bool) or not isinstance(max_body_bytes, int) or max_body_bytes < 1024:
            raise ArgumentError(f"max_body_bytes must be an int >= 1024, got {max_body_bytes!r}")
        self.url = url
        self.passphrase = passphrase
        self.page_limit = page_limit
        self._limit = page_limit
        self.request_timeout = check_seconds("request_timeout", request_timeout, positive=True)
        self.connect_timeout = check_seconds("connect_timeout", connect_timeout, positive=True)
        self.max_body_bytes = max_body_bytes
        self.budget = RateBudget(check_seconds("min_request_interval", min_request_interval),
                                 check_seconds("max_retry_wait", max_retry_wait))
        self.counters = LedgerCounters()
        self._session = session
        self._own_session = session is None
        self._ids = itertools.count(1)
        self._owner: Any = None
        self._cursor: str | None = None
        self._cursor_next: int | None = None  # the ledger the cursor stands before
        self.latest: int | None = None  #: the tip as last reported
        self.oldest: int | None = None  #: the oldest ledger kept, as last reported
        self._network_checked = False
        self._successes = 0

    def __repr__(self) -> str:
        return f"Rpc({self.url!r})"

    # ---- lifecycle -----------------------------------------------------------------------------------
    async def __aenter__(self) -> "Rpc":
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    def attach(self, owner: Any) -> None:
        self._owner = owner

    async def open(self) -> None:
        """Check the network (getNetwork) once, if a passphrase was given."""
        if self.passphrase is not None and not self._network_checked:
            net = await self.get_network()
            if net["passphrase"] != self.passphrase:
                raise NetworkMismatchError(
                    f"{self.url} serves the network {net['passphrase']!r}, not {self.passphrase!r}")
            self._network_checked = True

    async def close(self) -> None:
        if self._session is not None and self._own_session:
            await self._session.close()
        self._session = None

    def forget_cursor(self) -> None:
        self._cursor = None
        self._cursor_next = None

    def _session_or_new(self) -> aiohttp.ClientSession:
        if self._session is None:
            self._own_session = True
            self._session = aiohttp.ClientSession(
                headers={"User-Agent": "stellar-ob", "X-Client-Name": "stellar-ob"})
        return self._session

    # ---- JSON-RPC ------------------------------------------------------------------------------------
    async def call(self, method: str, params: dict | None = None) -> dict:
        """One JSON-RPC call: its ``result`` object. Raises :class:`RpcError` (a JSON-RPC error),
        :class:`~stellar_ob.ledger.stream.LedgerSourceError` (HTTP, timeouts, caps) or
        :class:`~stellar_ob.errors.ParseError` (not a JSON-RPC answer)."""
        c = self.counters
        await self.budget.acquire(self._owner)
        c.requests += 1
        try:
            async with _deadline(self.request_timeout):
                return await self._call_once(method, params)
        except asyncio.TimeoutError:
            c.timeouts += 1
            err = LedgerSourceError(f"{self.url} {method}: no complete answer within "
                                    f"request_timeout={self.request_timeout:g} s")
            err.server = True  # type: ignore[attr-defined] # the server may be down: the health probe decides
            raise err from None
        except LedgerSourceError as e:
            if e.limit is not None:
                c.limits_exceeded += 1
            raise
        except ParseError:
            c.parse_errors += 1
            raise
        except (aiohttp.ClientError, ConnectionError, OSError) as e:
            c.connection_errors += 1
            err = LedgerSourceError(f"cannot reach Stellar RPC at {self.url}: {_describe(e)}")
            err.server = True  # type: ignore[attr-defined]
            raise err from e

    async def _call_once(self, method: str, params: dict | None) -> dict:
        c = self.counters
        rid = next(self._ids)
        req: dict[str, Any] = {"jsonrpc": "2.0", "id": rid, "method": method}
        if params is not None:
            req["params"] = params
        timeout = aiohttp.ClientTimeout(total=self.request_timeout, connect=self.connect_timeout)
        async with self._session_or_new().post(self.url, json=req, timeout=timeout, allow_redirects=False) as resp:
            what = f"{self.url} {method}"
            if resp.status == 429:
                c.rate_limited += 1
                wait = self.budget.block(self.budget.retry_after(resp.headers))
                raise LedgerSourceError(f"{what}: rate limited (429), waiting {wait:g} s", status=429)
            if resp.status != 200:
                c.http_errors += 1
                text = (await _read_capped(resp, _ERROR_BODY, what))[:300] if resp.status < 300 or resp.status >= 400 \
                    else b""
                where = f", redirecting to {resp.headers.get('Location', '')[:200]!r} (not followed)" \
                    if 300 <= resp.status < 400 else ""
                raise LedgerSourceError(f"{what}: HTTP {resp.status}{where} {text.decode('utf-8', 'replace')}".rstrip(),
                                        status=resp.status)
            body = await _read_capped(resp, self.max_body_bytes, what)
        c.bytes_received += len(body)
        doc = _loads(body, what)
        if not isinstance(doc, dict) or doc.get("jsonrpc") != "2.0":
            raise ParseError(f"{what}: not a JSON-RPC 2.0 answer")
        if doc.get("id") != rid:
            raise ParseError(f"{what}: the answer's id {str(doc.get('id'))[:40]!r} is not the request's {rid}")
        err = doc.get("error")
        if err is not None:
            c.rpc_errors += 1
            code = err.get("code") if isinstance(err, dict) else None
            msg = err.get("message") if isinstance(err, dict) else None
            code = code if isinstance(code, int) and not isinstance(code, bool) else None
            raise RpcError(f"{what}: JSON-RPC error {code}: {str(msg)[:300]}", code=code)
        result = doc.get("result")
        if not isinstance(result, dict):
            raise ParseError(f"{what}: the answer has no result object")
        return result

    async def get_health(self) -> dict:
        """getHealth's result (``latestLedger``, ``oldestLedger`` checked as uint32)."""
        r = await self.call("getHealth")
        try:
            self.latest = _uint32(r.get("latestLedger"), "getHealth latestLedger")
            self.oldest = _uint32(r.get("oldestLedger"), "getHealth oldestLedger")
        except ParseError:
            self.counters.parse_errors += 1
            raise
        return r

    async def get_network(self) -> dict:
        """getNetwork's result (``passphrase`` checked to be a string)."""
        r = await self.call("getNetwork")
        if not isinstance(r.get("passphrase"), str):
            self.counters.parse_errors += 1
            raise ParseError(f"{self.url} getNetwork: no passphrase")
        return r

    async def get_latest_ledger(self) -> dict:
        """getLatestLedger's result (``sequence`` checked as uint32)."""
        r = await self.call("getLatestLedger")
        try:
            self.latest = max(self.latest or 0, _uint32(r.get("sequence"), "getLatestLedger sequence"))
        except ParseError:
            self.counters.parse_errors += 1
            raise
        return r

    async def latest_ledger(self) -> int:
        """The sequence of the latest ledger (getLatestLedger)."""
        return _uint32((await self.get_latest_ledger())["sequence"], "sequence")

    async def get_ledgers(self, start: int | None = None, *, cursor: str | None = None,
                          limit: int | None = None) -> dict:
        """One getLedgers call (``start`` or ``cursor``): its result, unchecked beyond JSON-RPC."""
        if (start is None) == (cursor is None):
            raise ArgumentError("give exactly one of start and cursor")
        limit = self._limit if limit is None else limit
        if isinstance(limit, bool) or not isinstance(limit, int) or not 1 <= limit <= MAX_PAGE_LIMIT:
            raise ArgumentError(f"limit must be 1..{MAX_PAGE_LIMIT}, got {limit!r}")
        params: dict[str, Any] = {"pagination": {"limit": limit}}
        if cursor is not None:
            params["pagination"]["cursor"] = cursor
        else:
            params["startLedger"] = start
        return await self.call("getLedgers", params)

    # ---- the source ------------------------------------------------------------------------------------
    async def read(self, start: int) -> Page:
        """The ledgers from ``start`` on (one getLedgers page), checked; an empty page at the tip."""
        c = self.counters
        if self.latest is not None and start > self.latest:
            c.tip_polls += 1
            await self.get_health()
            if start > self.latest:  # type: ignore[operator]
                return Page([], self.latest, self.oldest)
        if self.oldest is not None and start < self.oldest:
            await self.get_health()  # the window moves: ask before declaring the ledger gone
            self._check_retention(start)
        use_cursor = self._cursor is not None and self._cursor_next == start
        try:
            result = await self.get_ledgers(start=None if use_cursor else start,
                                            cursor=self._cursor if use_cursor else None)
        except RpcError as e:
            if e.code not in (INVALID_REQUEST, INVALID_PARAMS):
                raise
            self.forget_cursor()
            c.tip_polls += 1
            await self.get_health()
            self._check_retention(start)
            if start > self.latest:  # type: ignore[operator]
                return Page([], self.latest, self.oldest)
            raise
        except LedgerSourceError as e:
            if e.limit == "max_body_bytes" and self._limit > 1:
                self._limit = max(1, self._limit // 2)
                self._successes = 0
            raise
        try:
            page = self._parse_page(result, start)
        except ParseError:
            c.parse_errors += 1
            self.forget_cursor()
            raise
        self._successes += 1
        if self._limit < self.page_limit and self._successes >= 8:
            self._limit = min(self.page_limit, self._limit * 2)
            self._successes = 0
        return page

    def _check_retention(self, start: int) -> None:
        if self.oldest is not None and start < self.oldest:
            raise RetentionError(
                f"{self.url} no longer has ledger {start}: it keeps {self.oldest}..{self.latest} (its retention "
                f"window); bootstrap the state again and start from its ledger",
                requested=start, oldest=self.oldest, latest=self.latest)

    def _parse_page(self, r: dict, start: int) -> Page:
        latest = _uint32(r.get("latestLedger"), "getLedgers latestLedger")
        oldest = _uint32(r.get("oldestLedger"), "getLedgers oldestLedger")
        self.latest, self.oldest = latest, oldest
        ledgers = r.get("ledgers")
        if not isinstance(ledgers, list):
            raise ParseError("getLedgers: ledgers is not a list")
        if len(ledgers) > MAX_PAGE_LIMIT:
            raise ParseError(f"getLedgers: {len(ledgers)} ledgers, over the {MAX_PAGE_LIMIT} a page can hold")
        items = [self._parse_ledger(info) for info in ledgers]
        cursor = r.get("cursor")
        if not isinstance(cursor, str) or not _UINT.fullmatch(cursor) or int(cursor) > MAX_SEQUENCE:
            raise ParseError(f"getLedgers: cursor {str(cursor)[:40]!r} is not a ledger sequence")
        if items and cursor != str(items[-1].sequence):
            self.counters.bad_cursors += 1  # RPC's cursor is the page's last ledger; do not trust this one
            self.forget_cursor()
        else:
            self._cursor, self._cursor_next = cursor, int(cursor) + 1
        return Page(items, latest, oldest)

    def _parse_ledger(self, info: Any) -> Ledger:
        if not isinstance(info, dict):
            raise ParseError("getLedgers: a ledger is not an object")
        seq = _uint32(info.get("sequence"), "ledger sequence")
        h = info.get("hash")
        if not isinstance(h, str) or not _HEX64.fullmatch(h):
            raise ParseError(f"ledger {seq}: hash {str(h)[:80]!r} is not 64 lowercase hex digits")
        close_time = _int64_or_string(info.get("ledgerCloseTime"), f"ledger {seq} ledgerCloseTime")
        meta = _b64(info.get("metadataXdr"), f"ledger {seq} metadataXdr")
        header = _b64(info.get("headerXdr"), f"ledger {seq} headerXdr")
        try:
            hdr = read_ledger_header(meta)
        except ParseError as e:
            raise ParseError(f"ledger {seq} metadataXdr: {e.reason}", e.offset) from None
        if hdr.sequence != seq:
            raise ParseError(f"ledger {seq}: its metadata is ledger {hdr.sequence}")
        if not hdr.hash_ok:
            raise ParseError(f"ledger {seq}: the header does not hash to the ledger hash (corrupted)")
        if hdr.hash.hex() != h:
            raise ParseError(f"ledger {seq}: hash {h} is not the metadata's {hdr.hash.hex()}")
        if meta[hdr.entry_start:hdr.entry_end] != header:
            raise ParseError(f"ledger {seq}: headerXdr is not the metadata's header")
        if close_time != hdr.close_time:
            raise ParseError(f"ledger {seq}: ledgerCloseTime {close_time} is not the header's {hdr.close_time}")
        return Ledger(seq, meta, h, close_time, hdr.previous_hash.hex(), time.perf_counter_ns())

