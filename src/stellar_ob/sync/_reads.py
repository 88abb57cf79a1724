"""Socket reads into one reused buffer: what keeps a long-running client's RSS flat after an outage.

asyncio's plain-TCP transport reads with ``sock.recv(256 KiB)``: every read allocates a 256 KiB
bytes object and shrinks it to what arrived (a few KB for a Horizon event). glibc serves that
256 KiB from mmap while it is above its mmap threshold (128 KiB, raised by the interpreter's own
start-up to ~204 KiB) and nothing of it stays. But the threshold is dynamic: the first time such a
buffer is freed whole (``recv`` returned 0 bytes: the server closed a connection, as every
connection is closed when a server restarts), glibc raises the threshold above 256 KiB for good,
and from then on every read carves 256 KiB out of the main heap, keeps a few KB of it and leaves
the rest to be split by small long-lived allocations: the heap grows by holes until it is
fragmented enough to serve every 256 KiB read (measured: 1,000 markets, 71 MB flat for 7 minutes,
then +112 MB over the 12 minutes after a 3 s outage; ``mallinfo2`` showed the heap's free bytes
growing, its used bytes flat, the Python heap flat).

:class:`_BufferedReads` reads through asyncio's buffered-protocol path instead: ``recv_into`` one
64 KiB buffer kept by the :class:`~stellar_ob.sync.Horizon` client (every read of its loop is
synchronous in the loop, so one buffer serves them all), and hands aiohttp an exact-size copy of
what arrived. No read allocates more than it received, whatever glibc's threshold is. It sits in
front of aiohttp's protocol on the connection's transport (``set_protocol``), after aiohttp has
read the answer's head; aiohttp sees the same ``data_received`` calls it would have seen.
Only asyncio's own socket transport is fronted (uvloop and TLS transports already read into a
buffer of their own); anything else keeps its reads as they were.
"""

from __future__ import annotations

import asyncio
from typing import Any

import aiohttp

try:  # the transport whose reads allocate max_size each (CPython's asyncio, 3.8 - 3.13)
    from asyncio.selector_events import _SelectorSocketTransport as _PLAIN
except ImportError:  # pragma: no cover - another asyncio: no fronting
    _PLAIN = None  # type: ignore[assignment,misc]

READ_BUFFER_BYTES = 64 * 1024  #: one read's largest size (a Horizon event is a few KB; 200 levels ~30 KB)


class _Forwarding:
    """Internal: a protocol placed in front of ``inner`` (aiohttp's) passes on everything but
    the reads, which the subclass handles (:class:`_BufferedReads`, the lean reader's tap)."""

    __slots__ = ()
    inner: Any

    def eof_received(self) -> Any:
        return self.inner.eof_received()

    def connection_lost(self, exc: BaseException | None) -> None:
        self.inner.connection_lost(exc)

    def pause_writing(self) -> None:
        self.inner.pause_writing()

    def resume_writing(self) -> None:
        self.inner.resume_writing()


class _BufferedReads(_Forwarding, asyncio.BufferedProtocol):
    """Internal: in front of ``inner`` (aiohttp's protocol) on ``transport``: reads land in the
    shared ``view`` and ``inner.data_received`` gets a ``bytes`` copy of exactly what arrived."""

    __slots__ = ("transport", "inner", "view")

    def __init__(self, transport: Any, inner: Any, view: memoryview) -> None:
        self.transport = transport
        self.inner = inner
        self.view = view

    @classmethod
    def install(cls, conn: Any, view: memoryview) -> "_BufferedReads | None":
        """Front the protocol of aiohttp connection ``conn`` (a response's ``connection``); see
        :meth:`front`."""
        if conn is None:
            return None
        return cls.front(getattr(conn, "transport", None), getattr(conn, "protocol", None), view)

    @classmethod
    def front(cls, transport: Any, inner: Any, view: memoryview) -> "_BufferedReads | None":
        """Put a proxy reading into ``view`` in front of ``inner`` on ``transport``; the proxy
        already there if it has one; None when the transport is not asyncio's plain socket
        transport or its protocol is not ``inner`` (nothing changed)."""
        if transport is None or inner is None or _PLAIN is None or type(transport) is not _PLAIN \
                or transport.is_closing():
            return None
        current = transport.get_protocol()
        if isinstance(current, _BufferedReads):
            return current if current.inner is inner or getattr(current.inner, "inner", None) is inner else None
        if current is not inner:
            return None
        proxy = cls(transport, inner, view)
        transport.set_protocol(proxy)
        return proxy

    # the buffered protocol: into the shared buffer, out as bytes
    def get_buffer(self, sizehint: int) -> memoryview:
        return self.view

    def buffer_updated(self, nbytes: int) -> None:
        self.inner.data_received(bytes(self.view[:nbytes]))


def read_buffer() -> memoryview:
    """A fresh buffer for one client's reads."""
    return memoryview(bytearray(READ_BUFFER_BYTES))


class _Connector(aiohttp.TCPConnector):
    """The client's own session's connector: every new connection reads through
    :class:`_BufferedReads` from its first byte (the answer's head included), before the request
    is written. (A session the caller passes in is fronted per answer, after the head.)"""

    def __init__(self, *args: Any, read_view: memoryview, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._read_view = read_view

    async def _create_connection(self, *args: Any, **kwargs: Any) -> Any:
        proto = await super()._create_connection(*args, **kwargs)
        _BufferedReads.front(getattr(proto, "transport", None), proto, self._read_view)
        return proto
