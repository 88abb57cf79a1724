"""HTTP plumbing of the sync layer: constants, its error types, strict readers of values a server sends,
redirect refusal, capped body reads, problem+json errors, deadlines and argument checks.

Part of the :mod:`stellar_ob.sync` package, which re-exports the public names."""

from __future__ import annotations

import asyncio
import logging
import math
import operator
import re
from typing import Any, Callable

import aiohttp

from stellar_ob.errors import (
    ArgumentError,
    HorizonError,
    ParseError,
    RateLimitedError,
    StellarOBError,
)


log = logging.getLogger("stellar_ob.sync")


DEFAULT_HORIZON = "https://horizon.stellar.org"
_USER_AGENT = "stellar-ob"
_MiB = 1 << 20
_PROBLEM_BYTES = 64 << 10  # an error body is read up to this much (the message needs a few hundred bytes)


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


def _describe(e: BaseException) -> str:
    """A network error in one readable phrase (no reprs of aiohttp internals), for messages and logs."""
    if isinstance(e, aiohttp.ClientConnectorError):
        err = e.os_error
        return f"connection failed: {err.strerror or err}" if err is not None else "connection failed"
    if isinstance(e, asyncio.TimeoutError):
        return "no answer in time"
    if isinstance(e, aiohttp.ServerDisconnectedError):
        return "the server closed the connection"
    if isinstance(e, (aiohttp.ClientOSError, ConnectionError, OSError)):
        return f"connection lost: {getattr(e, 'strerror', None) or e}"
    text = str(e)
    return f"{type(e).__name__}: {text}" if text else type(e).__name__


def _body_limit(message: str) -> Exception:
    return LimitExceededError(message, "max_body_bytes")


async def _read_capped(resp: aiohttp.ClientResponse, cap: int, what: str,
                       error: Callable[[str], Exception] = _body_limit) -> bytes:
    """The body of ``resp``, or ``error(message)`` (LimitExceededError by default) raised as soon
    as it is past ``cap`` bytes. Every HTTP reader of the package (Horizon, RPC, data lakes) uses it."""
    length = resp.content_length
    if length is not None and length > cap:
        raise error(f"{what}: the body is {length:,} bytes, over max_body_bytes={cap:,}")
    buf = bytearray()
    content = resp.content
    while True:
        chunk = await content.readany()
        if not chunk:
            return bytes(buf)
        buf += chunk
        if len(buf) > cap:
            raise error(f"{what}: the body is over max_body_bytes={cap:,}")


async def _problem_error(resp: aiohttp.ClientResponse, what: str) -> HorizonError:
    """The error an unsuccessful answer stands for, from its problem+json body when there is one
    (read up to 64 KiB with the strict decoder; anything unreadable leaves just the status)."""
    from stellar_ob.horizon._json import loads

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
            if task is None:
                raise RuntimeError("a deadline needs a running task")
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
