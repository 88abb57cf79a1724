"""Stellar RPC as a ledger source (issue 14): LocalRpc's wire format, and LedgerStream over Rpc
against every fault switch alone and all together.

Every test checks the same outcome: the consumer gets every ledger exactly once, in order, with
the bytes the server holds, and the stream is LIVE again afterwards. Faults are counts of
requests to spoil, so nothing depends on timing; the tip advances when the consumer reaches it
(the test appends ledgers), not on a clock.
"""

from __future__ import annotations

import asyncio
import base64
import json
import os

import aiohttp
import pytest

from ledger_chain import chain, template
from stellar_ob.errors import ParseError, StellarOBError
from stellar_ob.ledger.rpc import Rpc, RpcError
from stellar_ob.ledger.stream import (
    Ledger,
    LedgerSourceError,
    LedgerStream,
    NetworkMismatchError,
    RetentionError,
    read_ledger_header,
)
from stellar_ob.sync import ArgumentError, Status
from stellar_ob.testing.rpc import STANDALONE_PASSPHRASE, LocalRpc, RpcFaults

from conftest import skip_rss_under_asan

pytestmark = pytest.mark.network

GUARD = 60.0  # s: a generous bound on a whole test's wait (never reached when things work)
FIRST = 1000


def rpc(server: LocalRpc, **kw) -> Rpc:
    kw.setdefault("request_timeout", 5.0)
    kw.setdefault("page_limit", 7)
    return Rpc(server.url, **kw)


def stream(source, start, **kw) -> LedgerStream:
    kw.setdefault("poll_interval", 0.005)
    kw.setdefault("backoff_base", 0.001)
    kw.setdefault("backoff_cap", 0.01)
    return LedgerStream(source, start, **kw)


def sdk_check(item: Ledger) -> None:
    """Decode the whole meta with stellar-sdk (the C decoder's job once bound): truncated or
    corrupted XDR raises ParseError."""
    from stellar_sdk import xdr as X

    try:
        meta = X.LedgerCloseMeta.from_xdr_bytes(item.meta)
    except Exception as e:  # noqa: BLE001 - whatever the SDK's unpacker raises
        raise ParseError(f"ledger {item.sequence}: not a LedgerCloseMeta ({e!r})") from None
    if meta.to_xdr_bytes() != item.meta:
        raise ParseError(f"ledger {item.sequence}: trailing bytes")


async def consume(server: LocalRpc, s: LedgerStream, upto: int, *, during=None) -> list[Ledger]:
    """Read ledgers until ``upto``; when the consumer reaches the server's tip, append the next
    ledger of the same chain (up to ``upto``). ``during(seq)`` runs after each ledger (to flip faults)."""
    got: list[Ledger] = []
    data = full_chain(upto - FIRST + 1)

    async def run() -> None:
        async for item in s:
            got.append(item)
            if during is not None:
                during(item.sequence)
            if item.sequence >= upto:
                return
            if item.sequence == server.latest and server.latest < upto:
                server.append([(server.latest + 1, data[server.latest + 1])])

    await asyncio.wait_for(run(), GUARD)
    return got


def assert_exactly_once(got: list[Ledger], server_chain: dict[int, bytes], first: int, last: int) -> None:
    assert [g.sequence for g in got] == list(range(first, last + 1))
    for g in got:
        assert g.meta == server_chain[g.sequence]


def full_chain(n: int) -> dict[int, bytes]:
    return _chains.setdefault(n, dict(chain(FIRST, n)))


_chains: dict[int, dict[int, bytes]] = {}


# ---- the wire format -------------------------------------------------------------------------------


async def post(url: str, method: str, params=None, rid=1) -> dict:
    body = {"jsonrpc": "2.0", "id": rid, "method": method}
    if params is not None:
        body["params"] = params
    async with aiohttp.ClientSession() as session:
        async with session.post(url, json=body) as resp:
            assert resp.status == 200
            return await resp.json()


async def test_answers_parse_with_stellar_sdk_models():
    """The local server's answers are what stellar-sdk's own response models expect (an
    independent check of the schema), and carry the ledgers' bytes."""
    sr = pytest.importorskip("stellar_sdk.soroban_rpc")
    from stellar_sdk import xdr as X

    ledgers = chain(FIRST, 12)
    async with LocalRpc(ledgers, retention=10) as server:
        doc = await post(server.url, "getLedgers", {"startLedger": FIRST + 2, "pagination": {"limit": 4}})
        r = sr.Response[sr.GetLedgersResponse].model_validate(doc)
        assert r.error is None and r.id == 1
        res = r.result
        assert [x.sequence for x in res.ledgers] == [FIRST + 2, FIRST + 3, FIRST + 4, FIRST + 5]
        assert res.cursor == str(FIRST + 5) and res.latest_ledger == FIRST + 11 and res.oldest_ledger == FIRST + 2
        for info in res.ledgers:
            meta = base64.b64decode(info.metadata_xdr)
            assert meta == dict(ledgers)[info.sequence]
            lcm = X.LedgerCloseMeta.from_xdr(info.metadata_xdr)
            entry = X.LedgerHeaderHistoryEntry.from_xdr(info.header_xdr)
            assert lcm.v1.ledger_header == entry
            assert entry.header.ledger_seq.uint32 == info.sequence
            assert entry.hash.hash.hex() == info.hash
            assert entry.header.scp_value.close_time.time_point.uint64 == info.ledger_close_time
        # the next page through the cursor
        doc = await post(server.url, "getLedgers", {"pagination": {"cursor": res.cursor, "limit": 200}}, rid="x")
        r2 = sr.Response[sr.GetLedgersResponse].model_validate(doc)
        assert r2.id == "x" and [x.sequence for x in r2.result.ledgers] == list(range(FIRST + 6, FIRST + 12))
        assert r2.result.cursor == str(FIRST + 11)
        h = sr.Response[sr.GetHealthResponse].model_validate(await post(server.url, "getHealth")).result
        assert (h.status, h.latest_ledger, h.oldest_ledger, h.ledger_retention_window) == \
            ("healthy", FIRST + 11, FIRST + 2, 10)
        n = sr.Response[sr.GetNetworkResponse].model_validate(await post(server.url, "getNetwork")).result
        assert n.passphrase == STANDALONE_PASSPHRASE and n.protocol_version == 20
        lt = sr.Response[sr.GetLatestLedgerResponse].model_validate(await post(server.url, "getLatestLedger")).result
        assert lt.sequence == FIRST + 11 and lt.protocol_version == 20
        assert lt.id == read_ledger_header(dict(ledgers)[FIRST + 11]).hash.hex()
        # errors, as stellar-rpc words them (protocol.ValidatePagination, parseCursor)
        for params, code, words in [
            ({"startLedger": FIRST}, -32600, f"must be between the oldest ledger: {FIRST + 2}"),
            ({"startLedger": FIRST + 12}, -32600, f"and the latest ledger: {FIRST + 11}"),
            ({"startLedger": FIRST + 3, "pagination": {"limit": 201}}, -32600, "limit must not exceed 200"),
            ({"startLedger": FIRST + 3, "pagination": {"cursor": "1005"}}, -32600, "cannot both be set"),
            ({"pagination": {"cursor": str(FIRST + 11)}}, -32602, "cursor ('1011') must be between"),
        ]:
            e = sr.Response[sr.GetLedgersResponse].model_validate(await post(server.url, "getLedgers", params))
            assert e.result is None and e.error.code == code and words in e.error.message, (params, e.error)
        e = sr.Response[dict].model_validate(await post(server.url, "getTransactionz"))
        assert e.error.code == -32601


async def test_rpc_client_methods():
    ledgers = chain(FIRST, 5)
    async with LocalRpc(ledgers) as server:
        async with rpc(server) as client:
            assert (await client.get_network())["passphrase"] == STANDALONE_PASSPHRASE
            assert (await client.get_health())["latestLedger"] == FIRST + 4
            assert await client.latest_ledger() == FIRST + 4
            page = await client.read(FIRST)
            assert [x.sequence for x in page.items] == list(range(FIRST, FIRST + 5))
            with pytest.raises(RpcError) as ei:
                await client.get_ledgers(FIRST - 1)
            assert ei.value.code == -32600
            with pytest.raises(ArgumentError):
                await client.get_ledgers(FIRST, limit=201)
    for bad in [dict(page_limit=0), dict(page_limit=201), dict(page_limit=True), dict(request_timeout=-1),
                dict(max_body_bytes=10), dict(passphrase=5)]:
        with pytest.raises(ArgumentError):
            Rpc("http://127.0.0.1:1/", **bad)
    with pytest.raises(ArgumentError):
        Rpc("ftp://x")


def test_read_ledger_header_is_strict():
    meta = template()
    h = read_ledger_header(meta)
    assert (h.meta_version, h.sequence, h.hash_ok) == (1, 997, True)
    for cut in (0, 3, 7, 40, h.entry_end - 1):
        with pytest.raises(ParseError):
            read_ledger_header(meta[:cut])
    with pytest.raises(ParseError, match="union arm"):
        read_ledger_header(b"\x00\x00\x00\x03" + meta[4:])
    flipped = bytearray(meta)
    flipped[h.header_start + 50] ^= 1
    assert read_ledger_header(bytes(flipped)).hash_ok is False
    with pytest.raises(ParseError):
        read_ledger_header("not bytes")


# ---- following the chain ---------------------------------------------------------------------------


async def test_follows_the_tip_ledger_by_ledger():
    """From an old ledger through the catch-up pages to the tip, then each new ledger as it is
    appended: every ledger once, in order; getLedgers pages use the cursor after the first."""
    data = full_chain(60)
    async with LocalRpc(chain(FIRST, 30)) as server:
        async with stream(rpc(server), FIRST + 3) as s:
            got = await consume(server, s, FIRST + 59)
            assert_exactly_once(got, data, FIRST + 3, FIRST + 59)
            assert s.status is Status.LIVE and s.acknowledged == FIRST + 58
            c = s.counters
            assert c.ledgers == 57 and c.duplicates == c.gaps == c.parse_errors == 0 and c.tip_polls >= 30
            assert server.stats.by_method["getLedgers"] >= 4 + 30


async def test_start_none_begins_at_the_latest_ledger():
    data = full_chain(25)
    async with LocalRpc(chain(FIRST, 20)) as server:
        async with stream(rpc(server), None) as s:
            got = await consume(server, s, FIRST + 24)
        assert s.start == FIRST + 19
        assert_exactly_once(got, data, FIRST + 19, FIRST + 24)


async def test_end_stops_the_stream():
    async with LocalRpc(chain(FIRST, 20)) as server:
        async with stream(rpc(server), FIRST + 2, end=FIRST + 9) as s:
            got = [x async for x in s]
    assert [g.sequence for g in got] == list(range(FIRST + 2, FIRST + 10))


async def test_network_passphrase_is_checked():
    async with LocalRpc(chain(FIRST, 3)) as server:
        async with stream(rpc(server, passphrase="Public Global Stellar Network ; September 2015"), FIRST) as s:
            with pytest.raises(NetworkMismatchError, match="Standalone Network"):
                await asyncio.wait_for(s.__anext__(), GUARD)
            assert s.status is Status.FAILED
        async with stream(rpc(server, passphrase=STANDALONE_PASSPHRASE), FIRST, end=FIRST + 2) as s:
            assert len([x async for x in s]) == 3


# ---- retention ---------------------------------------------------------------------------------------


async def test_start_before_the_retention_window_raises_retention_error():
    async with LocalRpc(chain(FIRST, 30), retention=10) as server:
        async with stream(rpc(server), FIRST + 5) as s:
            with pytest.raises(RetentionError) as ei:
                await asyncio.wait_for(s.__anext__(), GUARD)
        e = ei.value
        assert isinstance(e, StellarOBError) and (e.requested, e.oldest, e.latest) == (FIRST + 5, FIRST + 20, FIRST + 29)
        assert "bootstrap" in str(e) and s.status is Status.FAILED and s.counters.retention_errors == 1


async def test_jump_past_the_retention_window_mid_stream():
    """The server forgets the ledgers the consumer needs next (it fell a window behind): the
    stream raises RetentionError naming the first ledger missing, after handing over all before it."""
    async with LocalRpc(chain(FIRST, 40)) as server:
        async with stream(rpc(server, page_limit=5), FIRST) as s:
            got = []
            with pytest.raises(RetentionError) as ei:
                async for item in s:
                    got.append(item.sequence)
                    if item.sequence == FIRST + 12:
                        server.forget_before(FIRST + 30)
        assert got == list(range(FIRST, FIRST + 15))  # the page already received is handed over
        assert ei.value.requested == FIRST + 15 and ei.value.oldest == FIRST + 30


# ---- faults -----------------------------------------------------------------------------------------

FAULTS = {
    "rate_limited": ("rate_limited", 3),
    "server_errors": ("http_errors", 3),
    "rpc_errors": ("rpc_errors", 3),
    "cuts": ("connection_errors", 3),
    "truncated_xdr": ("parse_errors", 2),
    "corrupted_base64": ("parse_errors", 2),
    "corrupted_xdr": ("parse_errors", 2),
    "stuck_cursor": ("stuck_cursors", 3),  # the first stuck answer is the true page; the next ones repeat it
    "missing_ledger": ("gaps", 2),
    "duplicate_ledger": ("duplicates", 2),
    "stalls": ("timeouts", 2),
}


def arm(faults: RpcFaults, name: str, n: int) -> None:
    setattr(faults, name, getattr(faults, name) + n)


@pytest.mark.parametrize("fault", sorted(FAULTS))
async def test_each_fault_alone(fault):
    """The fault hits the catch-up pages and again at the tip; the consumer still gets every
    ledger once and in order, the fault is counted and surfaced, and the stream is LIVE after."""
    counter, n = FAULTS[fault]
    data = full_chain(50)
    errors: list[BaseException] = []
    async with LocalRpc(chain(FIRST, 30)) as server:
        server.faults.retry_after = "0"
        client = rpc(server, request_timeout=0.3 if fault == "stalls" else 5.0, max_retry_wait=0.05)
        async with stream(client, FIRST, check=sdk_check) as s:
            s.on_error(lambda _s, e: errors.append(e))
            arm(server.faults, fault, n)

            def during(seq: int) -> None:
                if seq == FIRST + 35:
                    arm(server.faults, fault, n)

            got = await consume(server, s, FIRST + 49, during=during)
            assert s.status is Status.LIVE
        assert_exactly_once(got, data, FIRST, FIRST + 49)
        assert getattr(s.counters, counter) >= (1 if fault in ("stuck_cursor", "missing_ledger") else n), s.counters
        assert errors or fault == "duplicate_ledger"
        assert all(isinstance(e, StellarOBError) for e in errors)
        assert s.status is Status.CLOSED
        assert not server.faults.any() or fault in ("missing_ledger", "duplicate_ledger")


async def test_stuck_cursor_forever_then_startledger():
    """A server whose cursor never advances (it answers the same page again and again): the
    stream drops the repeats, counts the stuck cursor and restarts from startLedger."""
    data = full_chain(30)
    async with LocalRpc(chain(FIRST, 30)) as server:
        server.faults.stuck_cursor = 6
        async with stream(rpc(server, page_limit=5), FIRST) as s:
            got = await consume(server, s, FIRST + 29)
    assert_exactly_once(got, data, FIRST, FIRST + 29)
    assert s.counters.duplicates >= 5 and s.counters.stuck_cursors >= 1


async def test_retry_after_is_capped():
    """Retry-After: 10**12 is waited at most max_retry_wait (here 50 ms) each time, every request
    of the source waits the block out (sync.RateBudget), and the status says RATE_LIMITED meanwhile."""
    errors: list[BaseException] = []
    statuses: list[Status] = []
    async with LocalRpc(chain(FIRST, 10)) as server:
        server.faults.rate_limited = 2
        server.faults.retry_after = "1000000000000"
        client = rpc(server, max_retry_wait=0.05)
        s = stream(client, FIRST, end=FIRST + 9)
        s.on_error(lambda _s, e: errors.append(e))
        real = s._rate_limited
        s._rate_limited = lambda seconds: (real(seconds), statuses.append(s.status))  # type: ignore[method-assign]
        async with s:
            got = await asyncio.wait_for(_collect(s), GUARD)
    assert [g.sequence for g in got] == list(range(FIRST, FIRST + 10))
    assert s.counters.rate_limited == 2 and server.stats.faults == 2
    assert [e.status for e in errors] == [429, 429]
    # each wait is at most the cap (how many requests wait on one block depends on the scheduling,
    # so the total is bounded per wait, not as a count of two)
    assert client.budget.waits >= 2 and client.budget.wait_seconds <= client.budget.waits * 0.05 + 1e-9
    assert statuses and set(statuses) == {Status.RATE_LIMITED}


async def _collect(s):
    return [x async for x in s]


async def test_oversized_body_halves_the_page_limit():
    """A body over max_body_bytes is dropped at the cap; the page limit halves until pages fit."""
    data = full_chain(40)
    one = len(base64.b64encode(data[FIRST])) + 2000
    async with LocalRpc(chain(FIRST, 40)) as server:
        client = rpc(server, page_limit=16, max_body_bytes=4 * one)
        async with stream(client, FIRST, end=FIRST + 39) as s:
            got = await asyncio.wait_for(_collect(s), GUARD)
    assert_exactly_once(got, data, FIRST, FIRST + 39)
    assert s.counters.limits_exceeded >= 2 and client._limit <= 4


async def test_padded_body_past_the_cap():
    async with LocalRpc(chain(FIRST, 10)) as server:
        server.faults.oversized, server.faults.oversized_bytes = 1, 8 << 20
        client = rpc(server, max_body_bytes=1 << 20)
        async with stream(client, FIRST, end=FIRST + 9) as s:
            got = await asyncio.wait_for(_collect(s), GUARD)
    assert [g.sequence for g in got] == list(range(FIRST, FIRST + 10))
    assert s.counters.limits_exceeded == 1 and isinstance(s.last_error, LedgerSourceError)
    assert s.last_error.limit == "max_body_bytes"


async def test_all_faults_together():
    """Every fault switch on at once, twice: on the catch-up and again at the tip."""
    data = full_chain(80)
    async with LocalRpc(chain(FIRST, 40)) as server:
        server.faults.retry_after = "0"

        def arm_all() -> None:
            for name, (_counter, n) in FAULTS.items():
                arm(server.faults, name, n)

        arm_all()
        async with stream(rpc(server, request_timeout=0.3, max_retry_wait=0.05), FIRST, check=sdk_check) as s:
            got = await consume(server, s, FIRST + 79, during=lambda seq: arm_all() if seq == FIRST + 45 else None)
            assert s.status is Status.LIVE
    assert_exactly_once(got, data, FIRST, FIRST + 79)
    c = s.counters
    for counter in ("rate_limited", "http_errors", "rpc_errors", "connection_errors", "parse_errors",
                    "timeouts", "duplicates"):
        assert getattr(c, counter) > 0, (counter, c)
    # (a page that is both corrupted and short of a ledger is refused for the corruption first)
    assert server.stats.faults >= 2 * 9


async def test_stall_at_the_tip_is_surfaced_once():
    """No new ledger for stall_timeout: surfaced and counted once, polling goes on, and the next
    ledger still arrives."""
    async with LocalRpc(chain(FIRST, 3)) as server:
        async with stream(rpc(server), FIRST, stall_timeout=0.05) as s:
            got = [await s.__anext__() for _ in range(3)]
            stalled = asyncio.Event()
            s.on_error(lambda _s, e: stalled.set())
            nxt = asyncio.ensure_future(s.__anext__())
            await asyncio.wait_for(stalled.wait(), GUARD)
            server.append([(FIRST + 3, full_chain(4)[FIRST + 3])])
            got.append(await asyncio.wait_for(nxt, GUARD))
        assert [g.sequence for g in got] == [FIRST, FIRST + 1, FIRST + 2, FIRST + 3]
        assert s.counters.stalls == 1 and "no new ledger" in str(s.last_error)


@skip_rss_under_asan
async def test_memory_stays_bounded():
    """2,000 ledgers through the stream with faults along the way: the client's RSS does not grow
    with the number of ledgers (it holds at most one page)."""
    if not os.path.exists("/proc/self/status"):
        pytest.skip("needs /proc to read the RSS")

    def rss() -> int:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) * 1024
        return 0

    n = 2000
    async with LocalRpc(chain(FIRST, 200), retention=300) as server:
        async with stream(rpc(server, page_limit=50), FIRST) as s:
            count = 0
            base = None
            async for item in s:
                count += 1
                if count == 300:
                    base = rss()
                if item.sequence % 97 == 0:
                    server.faults.cuts += 1
                    server.faults.duplicate_ledger += 1
                if item.sequence == server.latest and count < n:
                    server.append(chain(server.latest + 1, 50, close_time=1_800_000_000 + item.sequence,
                                        prev=bytes.fromhex(item.hash)))
                if count == n:
                    break
        assert count == n and base is not None
        assert rss() - base < 32 << 20


async def test_bad_arguments():
    async with LocalRpc(chain(FIRST, 3)) as server:
        client = rpc(server)
        for kw in [dict(start=0), dict(start=2**32), dict(start="1"), dict(start=5, end=4),
                   dict(start=1, poll_interval=0), dict(start=1, stall_timeout=-1), dict(start=1, check=3)]:
            with pytest.raises(ArgumentError):
                LedgerStream(client, **kw)
        with pytest.raises(ArgumentError):
            LedgerStream(object(), 1)
        await client.close()


async def test_resume_from_the_acknowledged_ledger_after_a_restart():
    """The consumer stops mid-page (a crash, a restart): the last ledger it finished is
    ``acknowledged``; a new stream from acknowledged + 1 hands over the rest, nothing twice."""
    data = full_chain(30)
    async with LocalRpc(chain(FIRST, 30)) as server:
        async with stream(rpc(server, page_limit=8), FIRST) as s:
            first_part = []
            async for item in s:
                first_part.append(item)
                if item.sequence == FIRST + 12:
                    s.ack(item.sequence)
                    break
            assert s.acknowledged == FIRST + 12
            with pytest.raises(ArgumentError):
                s.ack(FIRST + 3)
        async with stream(rpc(server), s.acknowledged + 1, end=FIRST + 29) as s2:
            rest = await asyncio.wait_for(_collect(s2), GUARD)
    assert_exactly_once(first_part + rest, data, FIRST, FIRST + 29)
    seq, meta = rest[0]
    assert (seq, meta) == (FIRST + 13, data[FIRST + 13])


async def test_a_ledger_of_another_chain_is_refused():
    """Each RPC ledger must name the ledger handed over before it as its previous ledger. Given
    the wrong hash for the ledger before the start (``after_hash``), the first page is refused as
    corrupted, again and again, and nothing is handed over; with the right one it streams."""
    data = full_chain(10)
    async with LocalRpc(chain(FIRST, 10)) as server:
        refused = asyncio.Event()
        async with stream(rpc(server), FIRST + 4, after_hash="11" * 32) as s:
            s.on_error(lambda st, e: refused.set() if st.counters.parse_errors >= 3 else None)
            nxt = asyncio.ensure_future(s.__anext__())
            await asyncio.wait_for(refused.wait(), GUARD)
            assert not nxt.done() and s.status is Status.BACKING_OFF
            assert "does not follow ledger 1003" in str(s.last_error)
            nxt.cancel()
        right = read_ledger_header(data[FIRST + 3]).hash.hex()
        async with stream(rpc(server), FIRST + 4, end=FIRST + 9, after_hash=right) as s:
            got = await asyncio.wait_for(_collect(s), GUARD)
    assert_exactly_once(got, data, FIRST + 4, FIRST + 9)
    with pytest.raises(ArgumentError):
        LedgerStream(Rpc("http://127.0.0.1:1/"), 5, after_hash="AB" * 32)


def hostile_answers(server: LocalRpc) -> list[bytes]:
    """Answers a broken RPC or a hostile proxy could send instead of the right one."""
    good = {"ledgers": [], "latestLedger": FIRST, "latestLedgerCloseTime": 0, "oldestLedger": FIRST,
            "oldestLedgerCloseTime": 0, "cursor": "1"}

    def answer(result, rid=1, **extra) -> bytes:
        return json.dumps({"jsonrpc": "2.0", "id": rid, "result": result, **extra}).encode()

    return [
        b"<html>502 Bad Gateway</html>",
        b"[" * 100_000 + b"]" * 100_000,
        b'{"jsonrpc": "2.0", "id": 1, "result": {"latestLedger": NaN}}',
        answer(good, rid=999_999),
        json.dumps({"jsonrpc": "1.0", "id": 1, "result": good}).encode(),
        answer(None),
        answer({**good, "latestLedger": True}),
        answer({**good, "latestLedger": 2**32}),
        answer({**good, "cursor": "\u00b2"}),
        answer({**good, "cursor": 12}),
        answer({**good, "ledgers": {"0": 1}}),
        answer({**good, "ledgers": [{"sequence": FIRST}]}),
        answer({**good, "ledgers": [None] * 201}),
        answer({**good, "ledgers": [{"sequence": FIRST, "hash": "AB" * 32, "ledgerCloseTime": "1",
                                     "headerXdr": "", "metadataXdr": ""}]}),
        json.dumps({"jsonrpc": "2.0", "id": 1, "error": "boom"}).encode(),
        json.dumps({"jsonrpc": "2.0", "id": 1, "error": {"code": True, "message": ["x"]}}).encode(),
    ]


async def test_hostile_answers_are_refused_and_the_stream_recovers():
    """Every hostile answer is refused with a clear error of the package (never a crash, never a
    ledger handed over); the stream asks again and gets every ledger once."""
    data = full_chain(20)
    errors: list[BaseException] = []
    async with LocalRpc(chain(FIRST, 20)) as server:
        client = rpc(server)
        client._ids = iter([1] * 10_000)  # the hostile answers carry id 1, as the request they answer
        async with stream(client, FIRST, end=FIRST + 19) as s:
            s.on_error(lambda _s, e: errors.append(e))
            server.faults.raw_answers = hostile_answers(server)
            got = await asyncio.wait_for(_collect(s), GUARD)
    assert_exactly_once(got, data, FIRST, FIRST + 19)
    assert len(errors) == len(hostile_answers(server))
    assert all(isinstance(e, StellarOBError) for e in errors), errors
    assert s.counters.parse_errors + s.counters.rpc_errors >= len(errors) and s.counters.unexpected_errors == 0
