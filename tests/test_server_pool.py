"""The /paths worker pool of stellar_ob.server (issue 15): searches off the event loop, bounded.

No assertion here depends on timing: the searches are stand-ins that block on events the test
releases, so "the loop answers while a search runs", "the third request is refused" and "a ledger
waits for the running search" are checked by the order of events, not by durations.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
from types import SimpleNamespace

import aiohttp
import pytest
from aiohttp import web

from stellar_ob.server import ReadWriteLock, ServerState, build_app, path_pool_of

ISSUER = "GA5ZSEJYB37JRC5AVCIA5MOP4RHTM335X2KGX3IHOJAPP5RE34K4KZVN"
SEND = (f"/paths/strict-send?source_asset_type=native&source_amount=10"
        f"&destination_assets=USD:{ISSUER}")
RECEIVE = (f"/paths/strict-receive?destination_asset_type=native&destination_amount=10"
           f"&source_assets=USD:{ISSUER}")


class BlockingDex:
    """A book whose searches block until released; records what they were asked and when a
    ledger was applied relative to them."""

    ledger_seq = 7

    def __init__(self, stopped=None) -> None:
        self.release = threading.Event()
        self.started = threading.Semaphore(0)
        self.calls = []
        self.events = []
        self.stopped = stopped

    def find_paths(self, kind, frm, amount, targets, **kw):
        self.calls.append((kind, str(frm), amount, [str(t) for t in targets], kw))
        self.events.append("search start")
        self.started.release()
        assert self.release.wait(30)
        self.events.append("search end")
        return SimpleNamespace(paths=(), stopped=self.stopped)

    def apply_ledger(self, meta, resync=False):
        self.events.append("apply")


async def _serve(app):
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    host, port = runner.addresses[0][:2]
    return runner, f"http://{host}:{port}"


async def _wait_started(dex: BlockingDex, n: int) -> None:
    for _ in range(n):
        assert await asyncio.to_thread(dex.started.acquire, True, 30)


async def test_searches_run_off_the_loop_and_the_queue_is_bounded():
    dex = BlockingDex()
    app = build_app(dex, path_workers=1, path_queue=1, path_timeout=60)
    runner, url = await _serve(app)
    pool = path_pool_of(app)
    try:
        async with aiohttp.ClientSession() as s:
            first = asyncio.ensure_future(s.get(url + SEND))
            await _wait_started(dex, 1)  # the only worker is busy
            second = asyncio.ensure_future(s.get(url + RECEIVE))
            while pool.pending < 2:  # queued behind it
                await asyncio.sleep(0.01)
            # the event loop still answers while a search runs and another waits
            async with s.get(url + "/") as r:
                assert r.status == 200 and (await r.json())["core_latest_ledger"] == 7
            # a third, different search: over capacity, refused at once with Horizon's problem and
            # Retry-After (the same query as the first would share its search instead)
            async with s.get(url + SEND.replace("source_amount=10", "source_amount=11")) as r:
                assert r.status == 503
                assert r.headers["Retry-After"] == "1"
                body = await r.json(content_type=None)
                assert body["type"] == "https://stellar.org/horizon-errors/server_over_capacity"
                assert body["status"] == 503
            assert pool.refused == 1
            dex.release.set()
            r1, r2 = await first, await second
            assert (r1.status, r2.status) == (200, 200)
            assert (await r1.json())["_embedded"]["records"] == []
            r1.release()
            r2.release()
        # what the searches were asked: the kind, Horizon's max_path_length 3 = 4 hops, a deadline
        assert [c[0] for c in dex.calls] == ["strict_send", "strict_receive"]
        for c in dex.calls:
            kw = c[4]
            assert kw["max_hops"] == 4 and kw["sellers_funds"] is True
            assert 0 < kw["timeout"] <= 60
        assert pool.max_pending == 2
    finally:
        dex.release.set()
        await runner.cleanup()


async def test_a_search_stopped_by_its_deadline_is_a_504():
    dex = BlockingDex(stopped="deadline")
    dex.release.set()
    app = build_app(dex, path_workers=2, path_timeout=5)
    runner, url = await _serve(app)
    try:
        async with aiohttp.ClientSession() as s:
            async with s.get(url + SEND) as r:
                assert r.status == 504
                body = await r.json(content_type=None)
                assert body["type"] == "https://stellar.org/horizon-errors/timeout" and body["title"] == "Timeout"
        assert path_pool_of(app).timed_out == 1
    finally:
        await runner.cleanup()


@contextlib.asynccontextmanager
async def _one_search_running():
    """A server of one path worker whose search of SEND has started and blocks: (dex, state, session,
    url, the request's future). The search is released on the way out, whatever happened."""
    dex = BlockingDex()
    state = ServerState(dex)
    runner, url = await _serve(build_app(dex, state=state, path_workers=1))
    try:
        async with aiohttp.ClientSession() as s:
            req = asyncio.ensure_future(s.get(url + SEND))
            await _wait_started(dex, 1)
            yield dex, state, s, url, req
    finally:
        dex.release.set()
        await runner.cleanup()


async def test_a_ledger_waits_for_the_running_search():
    async with _one_search_running() as (dex, state, _, _, req):
        applier = threading.Thread(target=state.apply, args=(b"meta",))
        applier.start()
        applier.join(0.2)
        assert applier.is_alive() and dex.events == ["search start"]  # the write lock waits
        dex.release.set()
        r = await req
        assert r.status == 200
        r.release()
        await asyncio.to_thread(applier.join, 30)
        assert dex.events == ["search start", "search end", "apply"]


async def test_apply_async_waits_for_the_running_search_off_the_loop():
    """follow_rpc's way of applying a ledger: the write lock is awaited in a worker thread, so
    while the ledger waits for a running search the event loop answers other requests (with
    state.apply on the loop, the loop itself would block until the search ended)."""
    async with _one_search_running() as (dex, state, s, url, req):
        applying = asyncio.ensure_future(state.apply_async(b"meta"))
        while state.lock._writers_waiting == 0:  # the ledger is waiting for the write lock
            await asyncio.sleep(0.01)
        async with s.get(url + "/") as r:  # the loop answers meanwhile
            assert r.status == 200 and (await r.json(content_type=None))["core_latest_ledger"] == 7
        assert not applying.done() and dex.events == ["search start"]
        dex.release.set()
        r = await req
        assert r.status == 200
        r.release()
        await applying
        assert dex.events == ["search start", "search end", "apply"] and state.generation == 1


async def test_offers_are_scanned_off_the_loop_under_the_read_lock():
    """/offers walks every offer of the markets it may match (seconds on a whole DEX when only a
    seller is named): in a worker thread holding the read lock, so the loop answers meanwhile and
    no ledger is applied during the scan."""
    class SlowScanDex(BlockingDex):
        def markets(self):
            self.events.append("scan start")
            self.started.release()
            assert self.release.wait(30)
            self.events.append("scan end")
            return []

    dex = SlowScanDex()
    state = ServerState(dex)
    app = build_app(dex, state=state)
    runner, url = await _serve(app)
    try:
        async with aiohttp.ClientSession() as s:
            req = asyncio.ensure_future(s.get(url + f"/offers?seller={ISSUER}"))
            await _wait_started(dex, 1)
            assert state.lock.readers == 1
            async with s.get(url + "/") as r:  # the loop answers while the scan runs
                assert r.status == 200
            applying = asyncio.ensure_future(state.apply_async(b"meta"))
            while state.lock._writers_waiting == 0:
                await asyncio.sleep(0.01)
            assert dex.events == ["scan start"]  # the ledger waits for the scan
            dex.release.set()
            r = await req
            assert r.status == 200 and (await r.json(content_type=None))["_embedded"]["records"] == []
            await applying
            assert dex.events == ["scan start", "scan end", "apply"]
    finally:
        dex.release.set()
        await runner.cleanup()


async def test_identical_requests_share_a_search_and_answers_are_kept_per_ledger():
    dex = BlockingDex()
    state = ServerState(dex)
    app = build_app(dex, state=state, path_workers=1, path_queue=0, path_timeout=60)
    runner, url = await _serve(app)
    pool = path_pool_of(app)
    try:
        async with aiohttp.ClientSession() as s:
            first = asyncio.ensure_future(s.get(url + SEND))
            await _wait_started(dex, 1)
            # the same query while it runs: no second search (and no 503 although the queue is 0)
            second = asyncio.ensure_future(s.get(url + SEND))
            while pool.coalesced < 1:
                await asyncio.sleep(0.01)
            dex.release.set()
            r1, r2 = await first, await second
            b1, b2 = await r1.text(), await r2.text()
            assert (r1.status, r2.status) == (200, 200) and b1 == b2
            assert len(dex.calls) == 1 and pool.searches == 1
            # again later, same ledger: answered from the kept answer
            async with s.get(url + SEND) as r:
                assert r.status == 200 and await r.text() == b1
            assert len(dex.calls) == 1 and pool.cache_hits == 1
            # a ledger applied: the next identical request is searched on the new state
            await asyncio.to_thread(state.apply, b"meta")
            async with s.get(url + SEND) as r:
                assert r.status == 200
            assert len(dex.calls) == 2 and dex.events[-3:] == ["apply", "search start", "search end"]
    finally:
        dex.release.set()
        await runner.cleanup()


async def test_answers_cut_by_the_deadline_are_not_kept():
    dex = BlockingDex(stopped="deadline")
    dex.release.set()
    app = build_app(dex, path_workers=1, path_timeout=5)
    runner, url = await _serve(app)
    try:
        async with aiohttp.ClientSession() as s:
            for _ in range(2):
                async with s.get(url + SEND) as r:
                    assert r.status == 504
        assert len(dex.calls) == 2 and path_pool_of(app).cache_hits == 0
    finally:
        await runner.cleanup()


def test_read_write_lock_prefers_a_waiting_writer():
    lock = ReadWriteLock()
    order = []
    reader_in = threading.Event()
    release_reader = threading.Event()

    def reader(name, hold=None):
        with lock.read():
            order.append(name)
            if hold is not None:
                reader_in.set()
                assert hold.wait(30)

    def writer():
        with lock.write():
            order.append("writer")

    t1 = threading.Thread(target=reader, args=("r1", release_reader))
    t1.start()
    assert reader_in.wait(30)
    w = threading.Thread(target=writer)
    w.start()
    while lock._writers_waiting == 0:  # the writer is queued behind r1
        threading.Event().wait(0.001)
    t2 = threading.Thread(target=reader, args=("r2",))
    t2.start()
    t2.join(0.2)
    assert t2.is_alive() and order == ["r1"]  # r2 waits behind the waiting writer
    release_reader.set()
    for t in (t1, w, t2):
        t.join(30)
    assert order == ["r1", "writer", "r2"]
    assert lock.readers == 0


@pytest.mark.parametrize("kw", [{"path_workers": 0}, {"path_workers": 1.5}, {"path_queue": -1},
                                {"path_timeout": 0}, {"path_timeout": True}, {"path_cache": -1}])
def test_bad_pool_settings_raise(kw):
    with pytest.raises(ValueError):
        build_app(BlockingDex(), **kw)


def test_asset_cache_gives_the_parse_and_refuses_what_the_parse_refuses():
    """The /paths asset cache (issue 15: the issuer's StrKey check was most of a request's Python
    time on the event loop) answers exactly what a fresh parse answers, keeps only valid spellings,
    and stays bounded."""
    from multidict import MultiDict

    from stellar_ob import Asset
    from stellar_ob.server.app import AssetCache, BadRequest, _asset_from_parts, _asset_list

    cache = AssetCache(size=3)
    usd, eur = f"USD:{ISSUER}", f"EUR:{ISSUER}"
    bad_issuer = ISSUER[:-1] + ("A" if ISSUER[-1] != "A" else "B")  # checksum broken
    q = MultiDict(destination_assets=f"{usd},native,{eur}", source_asset_type="credit_alphanum4",
                  source_asset_code="USD", source_asset_issuer=ISSUER)
    for _ in range(2):  # the second time from the cache: the same values
        assert _asset_list(q, "destination_assets", cache) == [Asset("USD", ISSUER), Asset.native(),
                                                                Asset("EUR", ISSUER)]
        assert _asset_from_parts(q, "source", cache=cache) == Asset("USD", ISSUER)
    assert len(cache._by_key) <= 3
    # a spelling that fails is never kept, and fails again; a cached code under another type fails
    for bad in (MultiDict(destination_assets=f"USD:{bad_issuer}"), MultiDict(destination_assets="USD")):
        for _ in range(2):
            with pytest.raises(BadRequest):
                _asset_list(bad, "destination_assets", cache)
    wrong_type = MultiDict(source_asset_type="credit_alphanum12", source_asset_code="USD",
                           source_asset_issuer=ISSUER)
    with pytest.raises(BadRequest):
        _asset_from_parts(wrong_type, "source", cache=cache)
    assert all(isinstance(v, Asset) for v in cache._by_key.values())
    for i in range(20):  # bounded whatever the requests
        _asset_list(MultiDict(destination_assets=f"T{i}:{ISSUER}"), "destination_assets", cache)
        assert len(cache._by_key) <= 3


async def test_paths_requests_parse_assets_once_and_answer_the_same():
    dex = BlockingDex()
    dex.release.set()
    app = build_app(dex, path_workers=1, path_cache=0)
    runner, url = await _serve(app)
    try:
        async with aiohttp.ClientSession() as s:
            bodies = []
            for path in (SEND, SEND, RECEIVE, RECEIVE):
                async with s.get(url + path) as r:
                    assert r.status == 200
                    bodies.append(await r.text())
            async with s.get(url + SEND.replace(ISSUER, ISSUER[:-1] + "A")) as r:
                assert r.status == 400
        assert bodies[0] == bodies[1] and bodies[2] == bodies[3]
        # every request searched (no answer cache) with the same parsed assets
        assert [c[:4] for c in dex.calls] == [("strict_send", "native", 100000000, [f"USD:{ISSUER}"])] * 2 + \
            [("strict_receive", "native", 100000000, [f"USD:{ISSUER}"])] * 2
    finally:
        await runner.cleanup()
