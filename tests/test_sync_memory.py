"""The client's socket reads (issue 19): every read lands in one reused buffer of the Horizon
client, so no read allocates more than what arrived.

Why it matters: asyncio's plain socket transport reads with ``recv(256 KiB)``, a 256 KiB
allocation per read. Once glibc's dynamic mmap threshold has been raised past it (by the first
such buffer freed whole: a read that found the connection closed, as every connection is closed
when the server restarts), those allocations come from the main heap and fragment it: in the
1,000-market endurance run the heap grew 112 MB in the 12 minutes after a 3 s outage. What is
asserted here is the cause, deterministically (allocation sizes traced by tracemalloc, never a
time or an RSS): with the reads fronted, no transient allocation of a streaming client comes near
256 KiB; the control, the same client with the fronting switched off, shows the 256 KiB reads."""

from __future__ import annotations

import asyncio
import subprocess
import sys
import tracemalloc

import aiohttp
import pytest

import stellar_ob.sync._reads as reads
from stellar_ob.sync import Horizon
from stellar_ob.testing import LocalHorizon
from conftest import until

pytestmark = pytest.mark.network

TIMEOUT = 60.0
DEPTH = 20


async def _until(predicate, what) -> None:
    await until(predicate, what, TIMEOUT, poll=0.01)


def _fronts(session: aiohttp.ClientSession) -> list:
    """The protocol in front of each connection the session holds (aiohttp's internals: a test's view)."""
    return [proto.transport.get_protocol() for proto in session.connector._acquired
            if proto.transport is not None and not proto.transport.is_closing()]


def _plain_transport() -> bool:
    return reads._PLAIN is not None and type(asyncio.get_running_loop()).__module__.startswith("asyncio")


async def test_every_stream_reads_into_the_clients_one_buffer():
    """Every stream connection of the client's own session, reconnects included, reads through
    the proxy into the client's one 64 KiB buffer, and the books stay exactly the server's."""
    if not _plain_transport():
        pytest.skip("not asyncio's own socket transport")
    async with LocalHorizon(markets=4, ledger_interval=0.05, levels=DEPTH) as server:
        async with Horizon(server.url, min_reconnect_interval=0.0) as h:
            books = [await h.watch(b, c, depth=DEPTH) for b, c in server.market_assets()]
            # Horizon says goodbye every 10 events: new connections, each fronted from its first byte
            await _until(lambda: all(b.counters.reconnects >= 3 for b in books), "three reconnects a book")
            fronts = _fronts(h._session)
            assert len(fronts) >= len(books)
            assert all(isinstance(f, reads._BufferedReads) for f in fronts), fronts
            assert all(f.view is h._read_view for f in fronts)
            assert h._read_view.nbytes == reads.READ_BUFFER_BYTES
            server.pause()
            await asyncio.sleep(0.3)
            for b in books:
                snap = await h.snapshot(b.base, b.counter, DEPTH)
                assert (b.bids(), b.asks()) == (snap.book.bids(), snap.book.asks())


async def test_a_callers_session_is_fronted_after_the_head():
    """A session the caller passes in keeps its own connector: each answer's connection is
    fronted once aiohttp has read its head, and the books are right through it."""
    if not _plain_transport():
        pytest.skip("not asyncio's own socket transport")
    async with LocalHorizon(markets=2, ledger_interval=0.05, levels=DEPTH) as server, \
            aiohttp.ClientSession() as session:
        async with Horizon(server.url, session=session, min_reconnect_interval=0.0) as h:
            books = [await h.watch(b, c, depth=DEPTH) for b, c in server.market_assets()]
            await _until(lambda: all(b.counters.reconnects >= 2 for b in books), "two reconnects a book")
            fronts = _fronts(session)
            assert fronts and all(isinstance(f, reads._BufferedReads) for f in fronts)
            assert all(f.view is h._read_view for f in fronts)
            assert all(b.counters.parse_errors == 0 and b.counters.connection_errors == 0 for b in books)


_SERVER = """
import asyncio, sys
from stellar_ob.testing import LocalHorizon
async def main():
    async with LocalHorizon(markets=3, ledger_interval=0.02, levels=20) as s:
        print(s.url, flush=True)
        for b, c in s.market_assets():
            print(b, c, flush=True)
        print("END", flush=True)
        await asyncio.get_running_loop().run_in_executor(None, sys.stdin.readline)
asyncio.run(main())
"""


async def _largest_transient(url: str, pairs: list, reconnects: int) -> int:
    """Bytes of the largest transient allocation (tracemalloc's peak over what is held) while
    the client streams ``pairs`` through ``reconnects`` goodbyes each (the server in another
    process: every read traced here is the client's)."""
    async with Horizon(url, min_reconnect_interval=0.0) as h:
        books = [await h.watch(b, c, depth=DEPTH) for b, c in pairs]
        await _until(lambda: all(b.counters.reconnects >= 1 for b in books), "a first reconnect")
        start = [b.counters.reconnects for b in books]
        tracemalloc.start()
        try:
            held0 = tracemalloc.get_traced_memory()[0]
            tracemalloc.reset_peak()
            await _until(lambda: all(b.counters.reconnects - n >= reconnects for b, n in zip(books, start)),
                         f"{reconnects} reconnects a book")
            held1, peak = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()
        assert all(b.counters.events >= 10 * reconnects for b in books)
    return peak - max(held0, held1)


async def test_no_read_allocates_more_than_arrived(monkeypatch):
    """Streaming three markets through a dozen goodbyes each (connections opened, read, closed),
    the client's largest transient allocation stays far below the transport's 256 KiB read size;
    the control run without the fronting shows the 256 KiB reads, so the measure can see them."""
    proc = subprocess.Popen([sys.executable, "-c", _SERVER], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                            text=True)
    try:
        assert proc.stdout is not None and proc.stdin is not None
        url = proc.stdout.readline().strip()
        pairs = []
        while (line := proc.stdout.readline().strip()) != "END":
            pairs.append(tuple(line.split()))
        if not _plain_transport():
            pytest.skip("not asyncio's own socket transport")
        fronted = await _largest_transient(url, pairs, 12)
        monkeypatch.setattr(reads, "_PLAIN", None)  # the control: asyncio's own recv(256 KiB) reads
        plain = await _largest_transient(url, pairs, 12)
    finally:
        if proc.stdin is not None:
            proc.stdin.close()
        proc.wait(30)
        if proc.stdout is not None:
            proc.stdout.close()
    assert plain >= 256 * 1024, (plain, fronted)
    assert fronted < 96 * 1024, (plain, fronted)
    print(f"largest transient allocation: {fronted} B fronted, {plain} B plain")


async def test_a_dead_connection_is_let_go_while_the_server_is_down():
    """While the probe waits for the server, no market keeps its dead connection: no
    ClientResponse, SSE parser or frame of the last read is alive (before, each market waited
    inside its ``except`` block, holding the exception's traceback and with it every local of
    the read: 1,000 markets held 1,000 dead responses and parser buffers for the whole outage,
    and the Python heap kept the arenas they filled)."""
    import gc

    from stellar_ob.sse import SSEParser
    from stellar_ob.sync import Status

    async with LocalHorizon(markets=6, ledger_interval=0.05, levels=DEPTH) as server:
        async with Horizon(server.url, min_reconnect_interval=0.0, probe_interval=0.2, probe_cap=0.4) as h:
            books = [await h.watch(b, c, depth=DEPTH) for b, c in server.market_assets()]
            await _until(lambda: all(b.counters.events >= 3 for b in books), "three events a book")
            server.pause()
            await server.stop()
            await _until(lambda: h.health.down and all(b.status is Status.SERVER_DOWN for b in books),
                         "every book waits for the probe")
            await asyncio.sleep(0.1)
            gc.collect()
            alive = [o for o in gc.get_objects() if isinstance(o, (aiohttp.ClientResponse, SSEParser))]
            assert alive == [], [type(o).__name__ for o in alive]
            await server.start()
            await _until(lambda: all(b.status is Status.LIVE for b in books), "every book live again")
