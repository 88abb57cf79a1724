"""The two SSE body readers of the sync layer (issue 18): the lean one (``_Tap``: SSE framing, the
scanner and callbacks inside the transport's ``data_received``, no task woken per event) and
aiohttp's ``readany()`` loop (the default; ``STELLAR_OB_SSE_READER=lean`` turns the tap on).

Every test runs on both readers (and, through ``impl``, both cores). The rest of the sync suite
(test_sync_hostile, _e2e, _l3, _trades, _chaos ...) runs on whichever reader the environment
chooses.

Here: the lean reader really is the one reading (not a silent fallback); a book kept by it equals
the server's; the body framings a server may use (chunked, Content-Length, close-delimited) and
the bytes a broken one may send (a chunk size that is not hex, a cut inside a chunk, a body that
ends early) cost the connection, are counted and leave the book as it was, never a FAILED book
or an event applied twice; what a callback or the scanner raises from inside ``data_received``
reaches the task's handling as it does from the loop. No check depends on timing: each waits for
a state with a generous deadline.
"""

from __future__ import annotations

import asyncio
import json

import pytest

from stellar_ob import OrderBook
from stellar_ob.sync import Horizon, Status
from stellar_ob.sync import stream as sync_stream
from stellar_ob.testing import LocalHorizon, SimulatedMarket

pytestmark = pytest.mark.network

TIMEOUT = 30.0


@pytest.fixture(params=["lean", "aiohttp"])
def reader(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> dict:
    """Chooses the reader; counts the taps installed (``taps``) so a test can tell which read."""
    monkeypatch.setattr(sync_stream, "_LEAN_READ", request.param == "lean")
    seen = {"name": request.param, "taps": 0}
    install = sync_stream._Tap.install.__func__  # type: ignore[attr-defined]

    def counting(cls, resp, process):  # type: ignore[no-untyped-def]
        tap = install(cls, resp, process)
        seen["taps"] += tap is not None
        return tap

    monkeypatch.setattr(sync_stream._Tap, "install", classmethod(counting))
    return seen


def client(url: str, **kw) -> Horizon:
    kw.setdefault("backoff_base", 0.01)
    kw.setdefault("backoff_cap", 0.1)
    kw.setdefault("honor_server_retry", False)
    kw.setdefault("min_reconnect_interval", 0.01)
    return Horizon(url, **kw)


def same_as_server(server: LocalHorizon, live) -> bool:
    return live.book == OrderBook.from_horizon(server.order_book_body(live.base, live.counter, live.depth))


async def test_the_chosen_reader_reads_and_the_book_follows_the_server(impl, reader):
    market = SimulatedMarket(1, seed=5, levels=30, taker_probability=0.5)
    async with LocalHorizon(market, ledger_interval=None) as server:
        server.faults.byebye_after = 3  # several connections, each with its goodbye
        base, counter = server.market_assets()[0]
        async with client(server.url) as h:
            live = await h.watch(base, counter, depth=20)
            got: list[int] = []
            live.on_update(lambda u: got.append(len(u.diff)))
            for _ in range(12):
                server.close_ledger()
                await asyncio.wait_for(live.wait_for(lambda b: same_as_server(server, live)), TIMEOUT)
            assert live.status is Status.LIVE
            assert live.counters.byebyes >= 3 and live.counters.connection_errors == 0
            assert live.counters.unexpected_errors == 0 and live.counters.callback_errors == 0
            assert got and all(n > 0 for n in got)
    if reader["name"] == "lean":
        assert reader["taps"] == live.counters.connections  # every connection read by the tap
    else:
        assert reader["taps"] == 0


@pytest.mark.parametrize("fault", ["cut_after", "malformed_at", "error_after"])
async def test_faults_cost_the_connection_not_the_book(impl, reader, fault):
    market = SimulatedMarket(1, seed=7, levels=10, taker_probability=0.5)
    async with LocalHorizon(market, ledger_interval=None) as server:
        base, counter = server.market_assets()[0]
        async with client(server.url) as h:
            live = await h.watch(base, counter, depth=20)
            setattr(server.faults, fault, 2)
            for _ in range(8):
                server.close_ledger()
                await asyncio.sleep(0)
            c = live.counters
            what = {"cut_after": lambda: c.connection_errors, "malformed_at": lambda: c.parse_errors,
                    "error_after": lambda: c.error_events}[fault]
            await asyncio.wait_for(live.wait_for(lambda b: what() >= 1), TIMEOUT)
            setattr(server.faults, fault, None)
            server.close_ledger()
            await asyncio.wait_for(live.wait_for(lambda b: same_as_server(server, live)), TIMEOUT)
            assert live.status is not Status.FAILED and c.unexpected_errors == 0


async def test_stall_is_seen_by_either_reader(impl, reader):
    market = SimulatedMarket(1, seed=9, levels=5)
    async with LocalHorizon(market, ledger_interval=None) as server:
        base, counter = server.market_assets()[0]
        async with client(server.url, stall_timeout=0.3) as h:
            live = await h.watch(base, counter, depth=20)
            server.faults.hostile_after = 0
            server.faults.comments_only = 0.05
            await asyncio.wait_for(live.wait_for(lambda b: live.counters.stalls >= 1), TIMEOUT)
            server.faults.comments_only = 0.0
            server.close_ledger()
            await asyncio.wait_for(live.wait_for(lambda b: same_as_server(server, live)), TIMEOUT)
            assert live.status is not Status.FAILED and live.counters.unexpected_errors == 0


async def test_a_callback_raising_inside_the_read_is_reported(impl, reader):
    market = SimulatedMarket(1, seed=3, levels=5)
    async with LocalHorizon(market, ledger_interval=None) as server:
        base, counter = server.market_assets()[0]
        async with client(server.url) as h:
            live = await h.watch(base, counter, depth=20)
            errors: list[BaseException] = []
            live.on_error(lambda _live, e: errors.append(e))
            live.on_update(lambda u: 1 / 0)
            server.close_ledger()
            await asyncio.wait_for(live.wait_for(lambda b: live.counters.callback_errors >= 1), TIMEOUT)
            assert isinstance(errors[-1].__cause__, ZeroDivisionError)
            server.close_ledger()
            await asyncio.wait_for(live.wait_for(lambda b: same_as_server(server, live)), TIMEOUT)
            assert live.status is Status.LIVE and live.counters.connection_errors == 0


async def test_an_unexpected_error_in_processing_restarts_the_connection(impl, reader, monkeypatch):
    from stellar_ob.sync import LiveBook

    real = LiveBook._apply
    armed = {"left": 0}

    def once(self, data: bytes, t: int, first: bool) -> None:  # type: ignore[no-untyped-def]
        if armed["left"]:
            armed["left"] -= 1
            raise RuntimeError("a bug")
        real(self, data, t, first)

    monkeypatch.setattr(LiveBook, "_apply", once)
    market = SimulatedMarket(1, seed=4, levels=5)
    async with LocalHorizon(market, ledger_interval=None) as server:
        base, counter = server.market_assets()[0]
        async with client(server.url) as h:
            live = await h.watch(base, counter, depth=20)
            armed["left"] = 1
            server.close_ledger()
            await asyncio.wait_for(live.wait_for(lambda b: live.counters.unexpected_errors >= 1), TIMEOUT)
            server.close_ledger()
            await asyncio.wait_for(live.wait_for(lambda b: same_as_server(server, live)), TIMEOUT)
            assert live.status is not Status.FAILED and live.counters.reconnects >= 1


# ---- framings and broken framing, from a raw server --------------------------------------------


def _doc_and_assets() -> tuple[bytes, object, object]:
    market = SimulatedMarket(1, seed=2, levels=6)
    pair = next(iter(market.pairs.values()))
    body = json.dumps(market.order_book_doc(pair, 20), separators=(",", ":")).encode()
    return body, pair.base, pair.counter


def _events(doc: bytes, goodbye: bool) -> bytes:
    out = b'retry: 1000\nevent: open\ndata: "hello"\n\n' + b"data: " + doc + b"\n\n"
    if goodbye:
        out += b'retry: 10\nevent: close\ndata: "byebye"\n\n'
    return out


def _chunked(body: bytes, pieces: int = 3) -> bytes:
    step = max(1, len(body) // pieces)
    out = b""
    for i in range(0, len(body), step):
        part = body[i:i + step]
        out += b"%x\r\n" % len(part) + part + b"\r\n"
    return out


async def _raw_server(answers: list[bytes]):
    """Answers the i-th connection with answers[i] (the last one for every later connection),
    written in pieces, then closes it."""
    count = {"n": 0}

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        i = count["n"]
        count["n"] += 1
        try:
            while (await reader.readline()) not in (b"\r\n", b""):
                pass
            raw = answers[min(i, len(answers) - 1)]
            for k in range(0, len(raw), 997):  # pieces that split lines, chunk sizes and events
                writer.write(raw[k:k + 997])
                await writer.drain()
        except ConnectionError:
            pass
        finally:
            writer.close()

    srv = await asyncio.start_server(handle, "127.0.0.1", 0)
    port = srv.sockets[0].getsockname()[1]
    return srv, f"http://127.0.0.1:{port}", count


HEAD = b"HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\n"


@pytest.mark.parametrize("framing", ["chunked", "content-length", "close"])
async def test_body_framings(impl, reader, framing):
    doc, base, counter = _doc_and_assets()
    ev = _events(doc, goodbye=True)
    if framing == "chunked":
        raw = HEAD + b"Transfer-Encoding: chunked\r\n\r\n" + _chunked(ev) + b"0\r\n\r\n"
    elif framing == "content-length":
        raw = HEAD + b"Content-Length: %d\r\n\r\n" % len(ev) + ev
    else:
        raw = HEAD + b"Connection: close\r\n\r\n" + ev
    srv, url, count = await _raw_server([raw])
    async with srv:
        async with client(url) as h:
            live = await h.watch(base, counter, depth=20)
            await asyncio.wait_for(live.wait_for(lambda b: live.counters.byebyes >= 2), TIMEOUT)
            assert live.book == OrderBook.from_horizon(doc)
            c = live.counters
            assert c.connection_errors == 0 and c.parse_errors == 0 and c.unexpected_errors == 0
            assert c.events >= 2 and c.updates == 1  # the same book again changes nothing
    assert count["n"] >= 2


@pytest.mark.parametrize("broken", ["bad-chunk-size", "cut-in-chunk", "short-content-length"])
async def test_broken_framing_costs_the_connection(impl, reader, broken):
    doc, base, counter = _doc_and_assets()
    good = HEAD + b"Transfer-Encoding: chunked\r\n\r\n" + _chunked(_events(doc, goodbye=True)) + b"0\r\n\r\n"
    ev = _events(doc, goodbye=False)
    if broken == "bad-chunk-size":
        bad = HEAD + b"Transfer-Encoding: chunked\r\n\r\n" + _chunked(ev) + b"zz\r\n" + b"x" * 100
    elif broken == "cut-in-chunk":
        bad = HEAD + b"Transfer-Encoding: chunked\r\n\r\n" + _chunked(ev) + b"400\r\n" + b"data: {" * 20
    else:
        bad = HEAD + b"Content-Length: %d\r\n\r\n" % (len(ev) + 5000) + ev
    srv, url, count = await _raw_server([good, bad, good])
    async with srv:
        async with client(url) as h:
            live = await h.watch(base, counter, depth=20)
            await asyncio.wait_for(live.wait_for(lambda b: count["n"] >= 3 and live.counters.byebyes >= 2), TIMEOUT)
            c = live.counters
            assert c.connection_errors >= 1 and c.unexpected_errors == 0
            assert live.book == OrderBook.from_horizon(doc) and live.status is not Status.FAILED
