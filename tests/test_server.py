"""The market-data server (stellar_ob.server) against stellar-sdk's own client, on loopback.

A LocalStack's simulated market closes ledgers; their LedgerCloseMeta feed a DexBook, served by
build_app. stellar-sdk's Server (unchanged) calls /order_book, /offers, /paths/strict-send and
/paths/strict-receive; its parsed results are checked against the DexBook and, for paths, by
re-executing every returned path in the independent reference (tests/core_reference.py) built
from the same offers and pools. The /order_book stream sends the book, then again only on change.
"""

from __future__ import annotations

import asyncio
import json

import aiohttp
import pytest
from aiohttp import web

import core_reference as cr

_paths = pytest.importorskip("stellar_ob._paths")
import os  # noqa: E402

if os.environ.get("STELLAR_OB_PURE", "") not in ("", "0"):
    pytest.skip("paths are C only", allow_module_level=True)

stellar_sdk = pytest.importorskip("stellar_sdk")

from stellar_ob import Asset, format_amount, parse_amount  # noqa: E402
from stellar_ob.ledger import DexBook  # noqa: E402
from stellar_ob.ledger.records import encode_account  # noqa: E402
from stellar_ob.server import ServerState, build_app  # noqa: E402
from stellar_ob.server.sources import follow_simulated  # noqa: E402
from stellar_ob.testing import LocalStack  # noqa: E402

INT64_MAX = 2**63 - 1


def _sdk_asset(a: Asset):
    return stellar_sdk.Asset.native() if a.issuer is None else stellar_sdk.Asset(a.code, a.issuer)


def _ours(sdk_asset) -> Asset:
    return Asset.native() if sdk_asset.is_native() else Asset(sdk_asset.code, sdk_asset.issuer)


def _reference_ledger(dex: DexBook) -> "cr.Ledger":
    L = cr.Ledger(protocol=_paths.DEFAULT_PROTOCOL)
    for b, c in dex.markets():
        base, counter = str(b.to_asset()), str(c.to_asset())
        m = dex.market(b, c)
        for side, sells, buys in (("ask", base, counter), ("bid", counter, base)):
            for o in m.offers(side):
                L.add_offer(f"S{o.offer_id}", o.offer_id, sells, buys, o.amount, o.n, o.d)
    for p in dex.pools:
        if p.reserve_a > 0 and p.reserve_b > 0:
            L.set_pool(str(p.asset_a.to_asset()), str(p.asset_b.to_asset()), p.reserve_a, p.reserve_b)
    return L


@pytest.fixture
async def served():
    dex = DexBook()
    state = ServerState(dex)
    async with LocalStack(markets=6, seed=15, ledger_interval=None) as stack:
        follow_simulated(dex, state, stack)
        for _ in range(8):
            stack.close_ledger()
        runner = web.AppRunner(build_app(dex, state=state, sse_heartbeat=0.2))
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        host, port = runner.addresses[0][:2]
        try:
            yield f"http://{host}:{port}", dex, stack
        finally:
            await runner.cleanup()


def _pairs(dex):
    return [(b.to_asset(), c.to_asset()) for b, c in dex.markets()]


async def test_sdk_orderbook_and_offers(served):
    url, dex, _stack = served
    assert dex.offer_count > 0
    server = stellar_sdk.Server(url)
    for base, counter in _pairs(dex)[:4]:
        body = await asyncio.to_thread(
            lambda: server.orderbook(_sdk_asset(base), _sdk_asset(counter)).limit(200).call())
        assert body == json.loads(json.dumps(dex.to_horizon(base, counter, 200)))
        assert body["bids"] or body["asks"]
        # /offers selling base buying counter: the market's asks, every page, ids ascending
        want = sorted(o.offer_id for o in dex.market(base, counter).offers("ask"))
        got = []
        call = server.offers().for_selling(_sdk_asset(base)).for_buying(_sdk_asset(counter)).limit(3)
        page = await asyncio.to_thread(call.call)
        while page["_embedded"]["records"]:
            for r in page["_embedded"]["records"]:
                o = dex.market(base, counter).get(int(r["id"]))
                assert r["selling"] == dex.to_horizon(base, counter)["base"]
                assert parse_amount(r["amount"]) == o.amount and r["price_r"] == {"n": o.n, "d": o.d}
                assert r["seller"] == (encode_account(o.seller) if o.seller else None)
                got.append(int(r["id"]))
            token = page["_embedded"]["records"][-1]["paging_token"]
            page = await asyncio.to_thread(call.cursor(token).call)
        assert got == want
    # by seller: every offer of that seller across markets
    some = next(o for b, c in _pairs(dex) for o in dex.market(b, c).offers("bid") if o.seller)
    seller = encode_account(some.seller)
    records = (await asyncio.to_thread(server.offers().for_seller(seller).limit(200).call))["_embedded"]["records"]
    assert records and all(r["seller"] == seller for r in records)
    assert some.offer_id in [int(r["id"]) for r in records]


async def test_sdk_paths_are_exact(served):
    url, dex, _stack = served
    server = stellar_sdk.Server(url)
    L = _reference_ledger(dex)
    pairs = _pairs(dex)
    xlm = Asset.native()
    credits = [c for b, c in pairs if b == xlm] + [b for b, c in pairs if c == xlm]
    src, dests = credits[0], credits[1:]
    amount = "1.5"
    resp = await asyncio.to_thread(lambda: server.strict_send_paths(
        _sdk_asset(src), amount, [_sdk_asset(d) for d in dests]).call())
    records = resp["_embedded"]["records"]
    assert records, "the simulated market connects its assets through XLM"
    best = {}
    for r in records:
        assert r["source_amount"] == "1.5000000"
        path = [("native" if p["asset_type"] == "native" else f'{p["asset_code"]}:{p["asset_issuer"]}')
                for p in r["path"]]
        dst = "native" if r["destination_asset_type"] == "native" else \
            f'{r["destination_asset_code"]}:{r["destination_asset_issuer"]}'
        ref = cr.path_payment_strict_send(L, "taker", str(src), parse_amount(amount), "taker", dst, 1, path=path)
        assert ref.code == "PATH_PAYMENT_STRICT_SEND_SUCCESS"
        assert format_amount(ref.received) == r["destination_amount"]
        best[dst] = max(best.get(dst, 0), ref.received)
    ours = dex.find_paths("strict_send", src, parse_amount(amount), dests, max_hops=4)
    for p in ours.paths:
        assert best[str(p.destination_asset)] >= p.destination_amount

    # strict receive: what must arrive, from several source assets
    resp = await asyncio.to_thread(lambda: server.strict_receive_paths(
        [_sdk_asset(d) for d in dests], _sdk_asset(src), "0.25").call())
    records = resp["_embedded"]["records"]
    assert records
    for r in records:
        assert r["destination_amount"] == "0.2500000"
        s = "native" if r["source_asset_type"] == "native" else f'{r["source_asset_code"]}:{r["source_asset_issuer"]}'
        path = [("native" if p["asset_type"] == "native" else f'{p["asset_code"]}:{p["asset_issuer"]}')
                for p in r["path"]]
        ref = cr.path_payment_strict_receive(L, "taker", s, INT64_MAX, "taker", str(src), parse_amount("0.25"),
                                             path=path)
        assert ref.code == "PATH_PAYMENT_STRICT_RECEIVE_SUCCESS"
        assert format_amount(ref.sent) == r["source_amount"]


async def test_bad_requests_are_horizon_problems(served):
    url, _dex, _stack = served
    async with aiohttp.ClientSession() as s:
        for path in ["/paths/strict-send?source_asset_type=native&source_amount=-1&destination_assets=native",
                     "/paths/strict-send?source_asset_type=bogus&source_amount=1&destination_assets=native",
                     "/paths/strict-receive?destination_asset_type=native&destination_amount=1&source_account=G",
                     "/order_book?selling_asset_type=native",
                     "/offers?limit=500", "/offers?seller=nope"]:
            async with s.get(url + path) as r:
                assert r.status == 400, path
                body = await r.json(content_type=None)
                assert body["type"] == "https://stellar.org/horizon-errors/bad_request" and body["status"] == 400
                assert "invalid_field" in body["extras"]
        async with s.get(url + "/nothing") as r:
            assert r.status == 404


async def test_order_book_stream_only_on_change(served):
    url, dex, stack = served
    base, counter = _pairs(dex)[0]
    q = "selling_asset_type=native&buying_asset_type=" + ("credit_alphanum4" if len(counter.code) <= 4 else
                                                           "credit_alphanum12")
    q += f"&buying_asset_code={counter.code}&buying_asset_issuer={counter.issuer}&limit=20"
    async with aiohttp.ClientSession() as s:
        async with s.get(f"{url}/order_book?{q}", headers={"Accept": "text/event-stream"}) as r:
            assert r.headers["Content-Type"].startswith("text/event-stream")
            events = []

            async def read_event():
                lines = []
                while True:
                    line = (await r.content.readline()).decode()
                    if line == "\n":
                        if any(x.startswith("data: ") for x in lines):
                            return lines
                        lines = []
                        continue
                    lines.append(line.rstrip("\n"))

            hello = await asyncio.wait_for(read_event(), 5)
            assert 'data: "hello"' in hello
            first = await asyncio.wait_for(read_event(), 5)
            body = json.loads(next(x for x in first if x.startswith("data: "))[6:])
            assert body == json.loads(json.dumps(dex.to_horizon(base, counter, 20)))
            events.append(body)
            # ledgers that leave this book as it is send nothing; one that changes it sends it
            for _ in range(20):
                before = dex.to_horizon(base, counter, 20)
                stack.close_ledger()
                await asyncio.sleep(0.05)
                if dex.to_horizon(base, counter, 20) != before:
                    nxt = await asyncio.wait_for(read_event(), 5)
                    body = json.loads(next(x for x in nxt if x.startswith("data: "))[6:])
                    assert body == json.loads(json.dumps(dex.to_horizon(base, counter, 20)))
                    assert body != events[-1]
                    events.append(body)
            assert len(events) >= 2
