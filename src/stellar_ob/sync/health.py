"""One health probe per server: while Horizon is down, markets stop retrying on their own.

Part of the :mod:`stellar_ob.sync` package, which re-exports the public names.

Without it, every market of a client backs off on its own when the server goes away: 1,000 markets
make 1,000 retry schedules against a server that is down, and each one's jittered exponential
backoff has grown by the time the server is back (after a 10 s outage a market could wait 5 s more,
after a minute 30 s). With it, a market whose stream fails at the server's level (connection
refused or reset, no answer in time, a 5xx) asks the probe; the probe reads Horizon's root ``/``
(a small document every Horizon serves) and:

- if the server answers, the failure was the market's own: it keeps its individual backoff;
- if not, the server is down: every market that fails waits for the probe instead of retrying
  (status :attr:`Status.SERVER_DOWN`, ``live.server_down_since``, ``live.next_probe_at``), and
  the probe alone asks, ``probe_interval`` s apart, growing by half up to ``probe_cap`` (never
  more than one request per ``probe_interval``);
- the moment a probe succeeds, the waiting markets reconnect in order, at most
  ``recovery_rate`` a second (1,000 markets do not arrive as one burst), each still through the
  client's shared rate budget;
- a market sleeping in its own backoff when an outage ends (it failed just before the server went
  away, or its failure was taken for its own because the server still answered the probe while
  shutting down) is woken and takes the next reconnect slot: no backoff that grew while the server
  was away outlives the outage (:meth:`ServerHealth.backoff`);
- a market's REST requests (an L3 book's /offers pages) take part too: while the server is down
  they wait for the probe instead of retrying, and a server-level failure asks the probe.
"""

from __future__ import annotations

import asyncio
import logging
import math
import time
from typing import TYPE_CHECKING, Any

import aiohttp

from stellar_ob.sync.http import _deadline, _describe

if TYPE_CHECKING:
    from stellar_ob.sync.client import Horizon  # noqa: F401 (annotations)
    from stellar_ob.sync.stream import _Live  # noqa: F401 (annotations)

log = logging.getLogger("stellar_ob.sync")


class ServerHealth:
    """The health probe of one :class:`~stellar_ob.sync.Horizon` (``horizon.health``).

    ``down_since`` (``time.time()``, None while the server is up), ``next_probe_at`` (when the
    next probe starts, while down), ``probes`` (requests made), ``outages`` (times the server was
    found down), ``last_recovery`` (``time.time()`` the last outage ended).
    """

    def __init__(self, horizon: "Horizon", probe_interval: float, probe_cap: float, recovery_rate: float) -> None:
        self.horizon = horizon
        self.probe_interval = probe_interval
        self.probe_cap = max(probe_cap, probe_interval)
        self.recovery_rate = recovery_rate
        self.down_since: float | None = None
        self.next_probe_at: float | None = None
        self.probes = 0
        self.probe_failures = 0
        self.server_errors = 0  #: probes answered with a 5xx (counted in probe_failures too)
        self.outages = 0
        self.last_recovery: float | None = None
        self.recovered_monotonic: float | None = None  #: time.monotonic() the last outage ended
        self.last_error: BaseException | None = None
        self._up = asyncio.Event()
        self._up.set()
        self._probe: asyncio.Task | None = None
        self._decided: "asyncio.Future[None] | None" = None  # set once the current probe's first answer is in
        self._last_probe = -math.inf  # time.monotonic() of the last probe start
        self._last_ok = -math.inf  # time.monotonic() the last probe succeeded
        self._next_slot = 0.0  # time.monotonic(): the next reconnect slot after an outage
        self._change: "asyncio.Future[None] | None" = None  # done when the server goes down or comes back
        self.backoffs_cut = 0  #: market backoffs cut short because an outage began or ended meanwhile
        self.rechecks = 0  #: probes started because streams failed just after a probe found the server up

    @property
    def down(self) -> bool:
        """True while the probe says the server is down."""
        return self.down_since is not None

    async def server_failed(self, owner: "_Live") -> bool:
        """``owner``'s stream failed at the server's level. Returns True if the server was (or is
        found) down: the caller waited here until it was back and its reconnect slot came, so it
        reconnects at once. False: the server answers, the failure is the market's own (backoff)."""
        if not self.down:
            if time.monotonic() - self._last_ok < self.probe_interval:
                # The server answered a probe just now: no new request for this market, it backs
                # off on its own. But a server going down cuts its streams before it stops
                # answering: ask again once probe_interval has passed (one probe for any number
                # of such failures). If that probe finds it down, the markets in their own backoff
                # join the outage (backoff()).
                if self._probe is None or self._probe.done():
                    self.rechecks += 1
                    self._start_probe()
                return False
            await self._first_probe()
            if not self.down:
                return False
        await self.wait_up(owner)
        return True

    async def wait_up(self, owner: "_Live | None") -> None:
        """While the server is down: ``owner`` shows ``SERVER_DOWN`` and waits for the probe to
        succeed, then for its reconnect slot (``recovery_rate``)."""
        from stellar_ob.sync.stream import Status

        while self.down:
            if owner is not None:
                owner.status = Status.SERVER_DOWN
                owner._changed.set()
            await self._up.wait()
            await self._slot()

    async def backoff(self, owner: "_Live", delay: float) -> bool:
        """Sleep ``owner``'s own backoff of ``delay`` s unless the server's state changes meanwhile:
        if the probe finds the server down, the market joins the outage (``SERVER_DOWN``, no request
        until the probe succeeds, then its reconnect slot); if an outage ends, it takes the next
        reconnect slot at once. True when the sleep was cut short that way (the caller resets its
        backoff); False: the whole delay passed."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + delay
        while True:
            if self.down:
                self.backoffs_cut += 1
                await self.wait_up(owner)
                return True
            left = deadline - loop.time()
            if left <= 0:
                return False
            fut = self._change
            if fut is None or fut.done():
                fut = self._change = loop.create_future()
            done, _ = await asyncio.wait({fut}, timeout=left)
            if not done:
                return False
            if not self.down:  # an outage ended: reconnect after the markets that waited for the probe
                self.backoffs_cut += 1
                await self._slot()
                return True

    async def close(self) -> None:
        task, self._probe = self._probe, None
        if task is not None and not task.done():
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)

    # ---- internals -------------------------------------------------------------------------------------
    async def _first_probe(self) -> None:
        """Start the probe if it is not running and wait for its first answer (up or down)."""
        if self._probe is None or self._probe.done():
            self._start_probe()
        decided, probe = self._decided, self._probe
        if decided is not None and not decided.done():
            await asyncio.wait({decided, probe}, return_when=asyncio.FIRST_COMPLETED)

    def _start_probe(self) -> None:
        self._decided = asyncio.get_running_loop().create_future()
        self._probe = asyncio.create_task(self._run(), name="stellar-ob health probe")

    def _changed(self) -> None:
        """Wake the markets sleeping in their own backoff: the server went down or came back."""
        fut, self._change = self._change, None
        if fut is not None and not fut.done():
            fut.set_result(None)

    def _decide(self) -> None:
        if self._decided is not None and not self._decided.done():
            self._decided.set_result(None)

    async def _run(self) -> None:
        """Probe until the server answers (the first probe decides whether it is down at all)."""
        interval = self.probe_interval
        while True:
            wait = self._last_probe + interval - time.monotonic()
            if wait > 0:
                if self.down:
                    self.next_probe_at = time.time() + wait
                await asyncio.sleep(wait)
            self._last_probe = time.monotonic()
            self.probes += 1
            if await self._probe_once():
                self._last_ok = time.monotonic()
                if self.down:
                    self._recovered()
                self._decide()
                return
            self.probe_failures += 1
            if not self.down:
                self.down_since = time.time()
                self.outages += 1
                self._up.clear()
                self._changed()
                log.warning("Horizon at %s is down (%s); markets wait for the health probe", self.horizon.url,
                            self.last_error)
            else:
                interval = min(self.probe_cap, interval * 1.5)
            self.next_probe_at = time.time() + interval
            self._decide()

    def _recovered(self) -> None:
        log.warning("Horizon at %s is back after %.1f s; markets reconnect", self.horizon.url,
                    time.time() - (self.down_since or time.time()))
        self.down_since = None
        self.next_probe_at = None
        self.last_recovery = time.time()
        self.recovered_monotonic = self._next_slot = time.monotonic()
        self._up.set()
        self._changed()

    async def _slot(self) -> None:
        """Space the reconnects after an outage ``1 / recovery_rate`` s apart, in arrival order."""
        now = time.monotonic()
        slot = max(self._next_slot, now)
        self._next_slot = slot + 1.0 / self.recovery_rate
        if slot > now:
            await asyncio.sleep(slot - now)

    async def _probe_once(self) -> bool:
        """GET / : any answer below 500 (even a 4xx or 429: something answers) means up."""
        horizon = self.horizon
        await horizon.budget.acquire()  # a rate-limit block holds the probe too
        try:
            session = horizon._session_or_raise()
            async with _deadline(min(horizon.request_timeout, 5.0)):
                async with session.get(horizon.url + "/", timeout=horizon._rest_timeout, allow_redirects=False,
                                       headers={"Accept": "application/hal+json"}) as resp:
                    horizon._front_reads(resp)
                    if resp.status >= 500:
                        self.server_errors += 1
                        from stellar_ob.errors import HorizonError

                        self.last_error = HorizonError(f"health probe: Horizon answered {resp.status}",
                                                       status=resp.status)
                        return False
                    return True
        except asyncio.TimeoutError:
            from stellar_ob.errors import HorizonError

            self.last_error = HorizonError(f"health probe: no answer from {horizon.url} in time")
            return False
        except (aiohttp.ClientError, ConnectionError, OSError) as e:
            from stellar_ob.errors import HorizonError

            self.last_error = HorizonError(f"health probe: cannot reach {horizon.url}: {_describe(e)}")
            return False
