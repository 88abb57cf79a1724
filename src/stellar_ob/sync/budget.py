"""The rate budget shared by every request of a :class:`~stellar_ob.sync.Horizon`, ``Retry-After`` parsing
and jittered exponential backoff.

Part of the :mod:`stellar_ob.sync` package, which re-exports the public names."""

from __future__ import annotations

import asyncio
import datetime as _dt
import email.utils
import logging
import math
import random
import time
from typing import TYPE_CHECKING, Any, Mapping

from stellar_ob.sync.http import _DELTA_SECONDS, _uint

if TYPE_CHECKING:
    from stellar_ob.sync.stream import _Live  # noqa: F401 (annotations)

log = logging.getLogger("stellar_ob.sync")


class Backoff:
    """Jittered exponential backoff: attempt k waits uniform(d/2, d), d = min(cap, base * 2**k).

    >>> import random
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
