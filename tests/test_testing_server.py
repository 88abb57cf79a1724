"""The local Horizon speaks Horizon's wire format (DOMAIN.md "Streaming"; horizon internal/render/sse)."""

from __future__ import annotations

import asyncio
import json

import aiohttp
import pytest

from stellar_ob import OrderBook
from stellar_ob.sse import SSEParser
from stellar_ob.testing import LocalHorizon

pytestmark = pytest.mark.network

SSE = {"Accept": "text/event-stream"}


@pytest.fixture
async def server():
    async with LocalHorizon(markets=2, seed=5, ledger_interval=None, levels=6) as s:
        yield s


@pytest.fixture
async def http():
    async with aiohttp.ClientSession() as s:
        yield s


def ob_params(base, counter, limit=20):
    return {**base.horizon_params("selling"), **counter.horizon_params("buying"), "limit": str(limit)}


async def read_all(resp) -> bytes:
    out = b""
    async for chunk in resp.content.iter_any():
        out += chunk
    return out


async def test_order_book_rest_is_indented_with_latest_ledger(server, http):
    base, counter = server.market_assets()[0]
    async with http.get(server.url + "/order_book", params=ob_params(base, counter, 5)) as r:
        assert r.status == 200 and r.headers["Latest-Ledger"] == str(server.market.ledger)
        assert r.headers["Content-Type"].startswith("application/hal+json")
        body = await r.read()
    assert body.startswith(b'{\n  "bids": [\n    {\n      "price_r": {\n        "n": ')
    doc = json.loads(body)
    assert list(doc) == ["bids", "asks", "base", "counter"] and len(doc["bids"]) == 5
    assert doc["base"] == base.to_horizon_json() and doc["counter"] == counter.to_horizon_json()
    assert list(doc["bids"][0]) == ["price_r", "price", "amount"]
    OrderBook.from_horizon(body).check()


async def test_order_book_object_stream_framing(server, http):
    base, counter = server.market_assets()[0]
    got = b""
    async with http.get(server.url + "/order_book", params=ob_params(base, counter), headers=SSE) as r:
        assert r.headers["Content-Type"] == "text/event-stream; charset=utf-8"
        assert "Latest-Ledger" not in r.headers
        while b"byebye" not in got:
            chunk = await asyncio.wait_for(r.content.readany(), 10)
            got += chunk
            if got.count(b"\n\ndata: {") + got.startswith(b"data: {") < 10 and got.endswith(b"\n\n"):
                server.close_ledger()  # each ledger changes the book: one more event
        assert await read_all(r) == b""  # the server closes after the goodbye
    assert got.startswith(b'retry: 1000\nevent: open\ndata: "hello"\n\n')
    assert got.endswith(b'retry: 10\nevent: close\ndata: "byebye"\n\n')
    events = SSEParser().feed(got)
    data = [e for e in events if e.event == "message"]
    assert len(data) == 10 and all(e.id is None for e in events)
    assert all(b"\n" not in e.data and b": " not in e.data[:20] for e in data)  # compact, one line
    assert json.loads(data[-1].data) == json.loads(server.order_book_body(base, counter, 20, compact=False))


async def test_unchanged_book_sends_nothing(server, http):
    base, counter = server.market_assets()[0]
    other = server.market.pairs[(str(server.market_assets()[1][0]), str(server.market_assets()[1][1]))]
    async with http.get(server.url + "/order_book", params=ob_params(base, counter), headers=SSE) as r:
        parser = SSEParser()
        evs = []
        while len([e for e in evs if e.event == "message"]) < 1:
            evs += parser.feed(await asyncio.wait_for(r.content.readany(), 10))
        server.close_ledger(pairs=[other])  # a ledger that does not touch this book
        with pytest.raises(asyncio.TimeoutError):
            await asyncio.wait_for(r.content.readany(), 0.3)


async def test_page_stream_ids_and_last_event_id_resume(server, http):
    for _ in range(30):
        server.close_ledger()
    assert len(server.market.trades) > 3
    async with http.get(server.url + "/trades", params={"limit": "3"}, headers=SSE) as r:
        events = SSEParser().feed(await read_all(r))
    data = [e for e in events if e.event == "message"]
    assert [e.id for e in data] == [t["paging_token"] for t in server.market.trades[:3]]
    assert events[-1].event == "close"
    headers = {**SSE, "Last-Event-ID": data[-1].id}
    async with http.get(server.url + "/trades", params={"limit": "2", "cursor": "0"}, headers=headers) as r:
        resumed = [e for e in SSEParser().feed(await read_all(r)) if e.event == "message"]
    assert [e.id for e in resumed] == [t["paging_token"] for t in server.market.trades[3:5]]
    rec = json.loads(resumed[0].data)
    assert rec["price"]["n"].isdigit() and isinstance(rec["base_is_seller"], bool) and "_pair" not in rec


async def test_cursor_now_streams_only_new_ledgers(server, http):
    async with http.get(server.url + "/ledgers", params={"cursor": "now", "limit": "2"}, headers=SSE) as r:
        parser, evs = SSEParser(), []
        evs += parser.feed(await asyncio.wait_for(r.content.readany(), 10))
        assert [e.event for e in evs] == ["open"]
        seq = server.close_ledger()
        while not any(e.event == "message" for e in evs):
            evs += parser.feed(await asyncio.wait_for(r.content.readany(), 10))
    first = next(e for e in evs if e.event == "message")
    assert json.loads(first.data)["sequence"] == seq and first.id == str(seq << 32)


async def test_offers_pages_and_not_streamable(server, http):
    base, counter = server.market_assets()[0]
    pair = server.market.pairs[(str(base), str(counter))]
    params = {**base.horizon_params("selling"), **counter.horizon_params("buying"), "limit": "4"}
    ids = []
    url = server.url + "/offers"
    while True:
        async with http.get(url, params=params) as r:
            page = await r.json(content_type=None)
        recs = page["_embedded"]["records"]
        if not recs:
            break
        ids += [int(x["id"]) for x in recs]
        params["cursor"] = recs[-1]["paging_token"]
    assert ids == sorted(o.offer_id for o in pair.offers.values() if o.side == "ask")
    async with http.get(url, headers=SSE) as r:
        assert r.status == 406 and r.headers["Content-Type"].startswith("application/problem+json")


async def test_liquidity_pools_reserves_filter(server, http):
    base, counter = server.market_assets()[1]
    async with http.get(server.url + "/liquidity_pools", params={"reserves": f"{base},{counter}"}) as r:
        recs = (await r.json(content_type=None))["_embedded"]["records"]
    assert len(recs) == 1 and recs[0]["fee_bp"] == 30
    assert {x["asset"] for x in recs[0]["reserves"]} == {str(base), str(counter)}


async def test_problems_and_rate_limit_headers(server, http):
    async with http.get(server.url + "/order_book", params={"selling_asset_type": "native"}) as r:
        assert r.status == 400 and r.headers["Content-Type"].startswith("application/problem+json")
        p = json.loads(await r.read())
        assert p["type"].endswith("/bad_request") and p["extras"]["invalid_field"] == "buying_asset_type"
    async with http.get(server.url + "/nope") as r:
        assert r.status == 404 and (await r.json(content_type=None))["status"] == 404
    server.faults.rate_limit(5, retry_after=3)
    async with http.get(server.url + "/order_book", headers=SSE) as r:
        assert r.status == 429
        assert r.headers["Retry-After"] == "5" and r.headers["X-RateLimit-Remaining"] == "0"
        assert {"X-RateLimit-Limit", "X-RateLimit-Reset"} <= set(r.headers)
        assert (await r.json(content_type=None))["type"].endswith("/rate_limit_exceeded")


async def test_stellar_sdk_stream_reads_the_same_books(server):
    """Fidelity: stellar-sdk's own async stream client parses our server and sees our books."""
    sdk = pytest.importorskip("stellar_sdk")
    from stellar_sdk.client.aiohttp_client import AiohttpClient

    base, counter = server.market_assets()[0]
    client = AiohttpClient()
    try:
        srv = sdk.ServerAsync(server.url, client=client)
        stream = srv.orderbook(base.to_sdk(), counter.to_sdk()).limit(20).stream()
        seen = []
        async for msg in stream:
            expected = json.loads(server.order_book_body(base, counter, 20))
            assert msg == expected
            assert OrderBook.from_horizon(json.dumps(msg)) == OrderBook.from_horizon(server.order_book_body(base, counter, 20))
            seen.append(msg)
            if len(seen) == 3:
                break
            server.close_ledger()
        await stream.aclose()
    finally:
        await client.close()


# ---- bounded memory of the server itself, and the hostile switches on the wire (issue 10) -------------


async def test_order_book_body_cache_is_a_bounded_lru(http):
    async with LocalHorizon(markets=2, seed=5, ledger_interval=None, levels=6, cache_size=16) as server:
        pairs = server.market_assets()
        for limit in range(1, 201):  # 200 limits x 2 pairs x REST: 400 distinct bodies
            for base, counter in pairs:
                async with http.get(server.url + "/order_book", params=ob_params(base, counter, limit)) as r:
                    assert r.status == 200
                    body = await r.read()
        assert len(server._cache) == 16
        assert json.loads(body) == json.loads(server._render_order_book(
            server.market.pair(base, counter), base, counter, 200, False))
        # the most recently used entries are the ones kept, and a hit refreshes an entry
        base, counter = pairs[0]
        first = server.order_book_body(base, counter, 200, compact=False)
        for limit in range(1, 30):
            server.order_book_body(pairs[1][0], pairs[1][1], limit)
            assert server.order_book_body(base, counter, 200, compact=False) is first  # kept: used every time
        server.close_ledger()  # a new version of the book: the entry is rendered again
        pair = server.market.pair(base, counter)
        body = server.order_book_body(base, counter, 200, compact=False)
        assert server._cache[((str(base), str(counter)), 200, False)] == (pair.version, body)
        assert json.loads(body) == json.loads(server._render_order_book(pair, base, counter, 200, False))
        assert len(server._cache) == 16


async def test_hostile_stream_switches_on_the_wire(server, http):
    base, counter = server.market_assets()[0]
    f = server.faults
    f.retry_digits = 50
    f.empty_byebye = True
    f.goodbye_retry = 0
    async with http.get(server.url + "/order_book", params=ob_params(base, counter), headers=SSE) as r:
        got = await read_all(r)
    assert got == b"retry: " + b"9" * 50 + b'\nevent: open\ndata: "hello"\n\nretry: 0\nevent: close\ndata: "byebye"\n\n'
    f.clear()
    f.comments_only = 0.01
    async with http.get(server.url + "/order_book", params=ob_params(base, counter), headers=SSE) as r:
        got = b""
        while got.count(b": still here\n") < 3:
            got += await asyncio.wait_for(r.content.readany(), 10)
    events = SSEParser().feed(got)
    assert [e.event for e in events] == ["open", "message"]  # one event, then only comments
    f.clear()
    f.endless_line = 200_000
    async with http.get(server.url + "/order_book", params=ob_params(base, counter), headers=SSE) as r:
        with pytest.raises(aiohttp.ClientPayloadError):
            await read_all(r)
    assert server.stats.hostile_bytes == 200_000 and server.stats.cuts == 1
    f.clear()
    for _ in range(3):
        server.close_ledger()
    f.stream_id = "\u00b2"
    f.deep_json = frozenset({"/trades"})
    async with http.get(server.url + "/trades", params={"limit": "2", "cursor": "0"}, headers=SSE) as r:
        events = [e for e in SSEParser().feed(await read_all(r)) if e.event == "message"]
    assert [e.id for e in events] == ["\u00b2", "\u00b2"]
    assert events[0].data.startswith(b'{"a":{"a":') and len(events[0].data) > 500_000


async def test_hostile_documents_and_rest_switches(server, http):
    base, counter = server.market_assets()[0]
    f = server.faults
    f.crossed = True
    async with http.get(server.url + "/order_book", params=ob_params(base, counter)) as r:
        doc = json.loads(await r.read())
    bid, ask = doc["bids"][0]["price_r"], doc["asks"][0]["price_r"]
    assert bid["n"] * ask["d"] > ask["n"] * bid["d"]  # best bid strictly above best ask
    assert OrderBook.from_horizon(server.order_book_body(base, counter, 20)).check() is None  # the truth is fine
    f.clear()
    f.overflow_levels = True
    async with http.get(server.url + "/order_book", params=ob_params(base, counter)) as r:
        doc = json.loads(await r.read())
    assert doc["asks"][0]["price_r"] == doc["asks"][1]["price_r"] == doc["asks"][2]["price_r"]
    f.clear()
    params = {**base.horizon_params("selling"), **counter.horizon_params("buying"), "limit": "2"}
    f.offers_ignore_cursor = True
    async with http.get(server.url + "/offers", params={**params, "cursor": "999999999"}) as r:
        first = (await r.json(content_type=None))["_embedded"]["records"]
    assert len(first) == 2 and int(first[0]["id"]) < 999999999
    f.clear()
    f.offers_endless = True
    async with http.get(server.url + "/offers", params={**params, "cursor": "123"}) as r:
        made_up = (await r.json(content_type=None))["_embedded"]["records"]
    assert [x["id"] for x in made_up] == ["124", "125"]
    f.clear()
    f.rest_padding = 1000
    f.extra_headers = {"X-RateLimit-Remaining": "nan"}
    async with http.get(server.url + "/offers", params=params) as r:
        body = await r.read()
        assert r.headers["X-RateLimit-Remaining"] == "nan"
    assert body.endswith(b"}" + b" " * 1000) and json.loads(body)["_embedded"]
    f.clear()
    f.redirect = "http://127.0.0.1:9"
    async with http.get(server.url + "/offers", params=params, allow_redirects=False) as r:
        assert r.status == 302 and r.headers["Location"].startswith("http://127.0.0.1:9/offers?")
    f.clear()
    f.trickle = 0.001
    async with http.get(server.url + "/ledgers", params={"limit": "1"}) as r:
        chunks = [c async for c in r.content.iter_any()]
    assert len(chunks) > 10 and json.loads(b"".join(chunks))


def test_a_stationary_simulated_market_keeps_its_size_and_a_default_one_drifts():
    # a soak measuring the client's memory needs a DEX of constant size: stationary=True reverts
    # each pair to its seeding (2 * levels offers); the default is the old random walk, which grows
    from stellar_ob.testing.market import SimulatedMarket

    def mean_offers(stationary: bool) -> float:
        m = SimulatedMarket(40, seed=5, levels=5, stationary=stationary)
        for _ in range(100):
            m.close_ledger()
        for pair in m.pairs.values():  # the twin's book holds exactly the offers the market lists
            assert len(pair.book) == len(pair.offers)
        return sum(len(p.offers) for p in m.pairs.values()) / len(m.pairs)

    assert 9.0 <= mean_offers(True) <= 11.0
    assert mean_offers(False) > 13.0
