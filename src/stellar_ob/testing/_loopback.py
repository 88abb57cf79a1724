"""What the local ledger-source servers share: serving on loopback and spoiling answers on demand.

:class:`LoopbackServer` is an aiohttp application on 127.0.0.1 (an ephemeral port unless one is
given) used as ``async with``; :class:`FaultCounts` is the base of their fault-switch dataclasses,
whose integer fields are counts of requests to spoil, each decremented as it is used
(:meth:`FaultCounts.take`), so a test drives them deterministically. The ways of spoiling an
answer that several servers offer are here once: a stall (no answer until the server stops), a
cut (half the body, then the connection is closed), an error status, and bytes flipped or cut
short. :mod:`stellar_ob.testing.archive`, :mod:`stellar_ob.testing.datalake` and
:mod:`stellar_ob.testing.rpc` use them.
"""

from __future__ import annotations

import asyncio
import socket
from typing import Any, Mapping, Optional

from aiohttp import web

__all__ = ["FaultCounts", "LoopbackServer", "take", "flip_bytes", "first_half"]


class FaultCounts:
    """Mixin for a dataclass of fault switches (integer fields count the requests to spoil)."""

    def clear(self) -> None:
        """Every switch back to its default (off)."""
        self.__init__()  # type: ignore[misc]

    def take(self, name: str) -> bool:
        """True, and one fewer left, if switch ``name`` is on."""
        return take(self, name)


def take(faults: Any, name: str) -> bool:
    """True, and ``faults.<name>`` one less, if that count is above 0."""
    n = getattr(faults, name)
    if n > 0:
        setattr(faults, name, n - 1)
        return True
    return False


def flip_bytes(data: bytes, start: int, step: int, mask: int) -> bytes:
    """``data`` of the same length with every ``step``-th byte from ``start`` XORed with ``mask``."""
    b = bytearray(data)
    for i in range(start, len(b), step):
        b[i] ^= mask
    return bytes(b)


def first_half(data: bytes) -> bytes:
    """The first half of ``data`` (a truncated file or answer)."""
    return data[: len(data) // 2]


class LoopbackServer:
    """An aiohttp server on ``host`` (127.0.0.1) and ``port`` (0: any free one; the bound port
    replaces it on :meth:`start`). Subclasses add their routes in :meth:`_routes`."""

    #: aiohttp's limit on a request body (None: aiohttp's default)
    client_max_size: Optional[int] = None

    def __init__(self, *, host: str = "127.0.0.1", port: int = 0) -> None:
        self.host = host
        self.port = port
        self._runner: web.AppRunner | None = None
        self._stopping = asyncio.Event()

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}/"

    async def __aenter__(self):
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    def _routes(self, app: web.Application) -> None:
        raise NotImplementedError

    async def start(self) -> None:
        app = web.Application() if self.client_max_size is None else web.Application(
            client_max_size=self.client_max_size)
        self._routes(app)
        self._runner = web.AppRunner(app, access_log=None, handle_signals=False, shutdown_timeout=1.0)
        await self._runner.setup()
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((self.host, self.port))
        self.port = sock.getsockname()[1]
        await web.SockSite(self._runner, sock).start()

    async def stop(self) -> None:
        """Stop serving; stalled answers end now."""
        self._stopping.set()
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    # ---- ways of spoiling an answer ------------------------------------------------------------
    async def _stall(self) -> web.Response:
        """No answer until the server stops (then a 503 nobody reads)."""
        await self._stopping.wait()
        return web.Response(status=503)

    async def _partial(self, request: web.Request, body: bytes, *, close: bool, status: int = 200,
                       headers: Optional[Mapping[str, str]] = None) -> web.StreamResponse:
        """Headers announcing all of ``body`` (its Content-Length), then its first half; then the
        connection is closed (``close``: a cut) or left open until the server stops (a stall
        mid-body)."""
        resp = web.StreamResponse(status=status, headers=dict(headers or {}))
        resp.content_length = len(body)
        await resp.prepare(request)
        await resp.write(first_half(body))
        if close:
            if request.transport is not None:
                request.transport.close()
        else:
            await self._stopping.wait()
        return resp
