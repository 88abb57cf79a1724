"""stellar_ob.ledger.Follow against the local stack (LedgerMarket served as Horizon, RPC, data lake
and history archive; loopback only).

- every watched market equals the simulated market's book after every ledger (RPC, data lake);
- the same market watched through Horizon (LiveBook) and through the ledger (LedgerBook, Horizon
  grouping) is equal level for level at the same ledger, across many ledgers;
- bootstrap from a history archive at a checkpoint, then follow RPC to the tip: equal to the market;
  the same through a saved snapshot file;
- faults: RPC down (503 to everything) -> SERVER_DOWN, only getHealth asked, at most one a second
  (the server's request log), books equal after it returns; every byte/page fault together; a
  retention jump (FAILED without an archive, a new bootstrap with one); a stalled tip.
"""

from __future__ import annotations

import asyncio
import time

import pytest

from stellar_ob import Horizon, OrderBook
from stellar_ob.sync import ArgumentError, BookUpdate, LiveBook, Status
from stellar_ob.testing.archive import bucket_bytes, write_archive
from stellar_ob.testing.ledger_meta import LedgerMarket, LocalStack
from stellar_ob.testing.rpc import RecordingRpc

pytest.importorskip("stellar_ob.ledger._ledger")

from stellar_ob.ledger import RetentionError  # noqa: E402
from stellar_ob.ledger.follow import Follow, LedgerBook  # noqa: E402


def market_book(market: LedgerMarket, pair) -> OrderBook:
    """The simulated market's own book of ``pair`` as Horizon groups it (200 levels a side)."""
    import json

    return OrderBook.from_horizon(json.dumps(market.order_book_doc(pair, 200)))


def same_levels(live, book: OrderBook) -> bool:
    return live.bids() == book.bids() and live.asks() == book.asks()


async def caught_up(dex: Follow, ledger: int, timeout: float = 20.0) -> None:
    async def wait() -> None:
        while dex.ledger < ledger:
            if dex.status is Status.FAILED:
                raise dex.last_error
            await asyncio.sleep(0.01)

    await asyncio.wait_for(wait(), timeout)


async def test_rpc_follow_equals_the_market_after_every_ledger():
    async with LocalStack(markets=3, seed=5, ledger_interval=None, start_time=1_700_000_000) as st:
        first = st.rpc.oldest
        async with Follow(st.rpc.url, passphrase=st.market.passphrase, start=first, empty=True,
                          poll_interval=0.02) as dex:
            pairs = list(st.market.pairs.values())
            books = {p.key: await dex.watch(p.base, p.counter, 200, grouping="horizon") for p in pairs}
            flipped = await dex.watch(pairs[0].counter, pairs[0].base)
            exact = await dex.watch(pairs[1].base, pairs[1].counter)
            assert all(isinstance(b, LiveBook) and b.status is Status.LIVE and b.loaded for b in books.values())
            updates: list[BookUpdate] = []
            books[pairs[0].key].on_update(updates.append)
            replay = books[pairs[0].key].book.copy()  # the state the updates start from
            for _ in range(40):
                seq = st.close_ledger()
                await caught_up(dex, seq)
                for p in pairs:
                    assert same_levels(books[p.key], market_book(st.market, p)), (seq, p.key)
                    assert books[p.key].ledger == seq and books[p.key].complete
                # the other orientation: asks are the bids inverted (amounts in what each side sells)
                b0 = books[pairs[0].key]
                assert [(lv.price.d, lv.price.n, lv.amount) for lv in flipped.asks(len(b0.bids()))] == \
                    [(lv.price.n, lv.price.d, lv.amount) for lv in b0.bids()]
                assert exact.best_bid() == exact.market.best_bid() and exact.asks() == exact.market.asks()
            # the updates are the LiveBook's: diffs that replay the book exactly
            for u in updates:
                assert isinstance(u, BookUpdate) and u.live is books[pairs[0].key] and u.latency_ns >= 0
                replay.apply_diff(u.diff)
            assert updates and same_levels(books[pairs[0].key], replay)
            assert dex.counters.ledgers >= 40 and dex.counters.parse_errors == 0
            # one getLedgers per ledger for the whole DEX (pages of several when behind), never more
            assert st.rpc.stats.by_method.get("getLedgers", 0) <= 40 + 2


async def test_horizon_and_rpc_books_are_identical_at_every_ledger():
    async with LocalStack(markets=2, seed=11, ledger_interval=None, start_time=1_700_000_000) as st:
        async with Follow(st.rpc.url, start=st.rpc.oldest, empty=True, poll_interval=0.02) as dex, \
                Horizon(st.horizon.url) as horizon:
            pairs = list(st.market.pairs.values())
            ledger_books = [await dex.watch(p.base, p.counter, 200, grouping="horizon") for p in pairs]
            horizon_books = [await horizon.watch(p.base, p.counter, 200) for p in pairs]
            compared = 0
            for _ in range(40):
                seq = st.close_ledger()
                await caught_up(dex, seq)
                for lb, hb, p in zip(ledger_books, horizon_books, pairs):
                    # the market holds still until the next close: wait for Horizon's event of this ledger
                    want = market_book(st.market, p)
                    await hb.wait_for(lambda b, want=want: b.bids() == want.bids() and b.asks() == want.asks(), 10)
                    assert lb.bids() == hb.bids() and lb.asks() == hb.asks(), (seq, p.key)
                    assert lb.best_bid() == hb.best_bid() and lb.best_ask() == hb.best_ask()
                    assert (lb.to_numpy("bid") == hb.to_numpy("bid")).all()
                    compared += 1
            assert compared == 80


async def test_datalake_follow_equals_the_market(tmp_path):
    async with LocalStack(markets=2, seed=4, ledger_interval=None, start_time=1_700_000_000,
                          data_lake=tmp_path / "lake", ledgers_per_file=1) as st:
        st.close_ledger()
        async with Follow(datalake=str(tmp_path / "lake"), start=st.rpc.oldest, empty=True,
                          poll_interval=0.02) as dex:
            pairs = list(st.market.pairs.values())
            books = [await dex.watch(p.base, p.counter, 200, grouping="horizon") for p in pairs]
            for _ in range(15):
                seq = st.close_ledger()
                await caught_up(dex, seq)
                for b, p in zip(books, pairs):
                    assert same_levels(b, market_book(st.market, p))
            assert dex.health is None  # files: no health probe


def archive_of(market: LedgerMarket, path, checkpoint: int) -> None:
    assert market.ledger == checkpoint
    entries = [("LIVE", e) for e in market.ledger_entries()]
    write_archive(path, checkpoint, [(bucket_bytes(entries), None)], passphrase=market.passphrase)


async def close_until(st: LocalStack, ledger: int) -> None:
    while st.market.ledger < ledger:
        st.close_ledger()


async def test_bootstrap_from_archive_then_follow_rpc(tmp_path):
    rpc = RecordingRpc(retention=30)
    async with LocalStack(markets=3, seed=8, ledger_interval=None, start_time=1_700_000_000, rpc=rpc) as st:
        checkpoint = (st.market.ledger // 64 + 1) * 64 + 63
        await close_until(st, checkpoint)
        archive_of(st.market, tmp_path / "archive", checkpoint)
        for _ in range(10):
            st.close_ledger()
        assert st.rpc.oldest > st.market.ledger - 30  # the RPC no longer has the early ledgers
        async with Follow(st.rpc.url, archive=str(tmp_path / "archive"), passphrase=st.market.passphrase,
                          poll_interval=0.02) as dex:
            assert dex.bootstrapped_at == checkpoint
            pairs = list(st.market.pairs.values())
            books = [await dex.watch(p.base, p.counter, 200, grouping="horizon") for p in pairs]
            assert dex.ledger == st.market.ledger  # replayed from the checkpoint to the tip
            for _ in range(20):
                seq = st.close_ledger()
                await caught_up(dex, seq)
                for b, p in zip(books, pairs):
                    assert same_levels(b, market_book(st.market, p)) and b.complete
            assert len(dex.dex.pools) == len(pairs)


async def test_bootstrap_from_horizon_for_chosen_markets_then_follow_rpc():
    """Horizon's /offers paged once per chosen market while ledgers keep closing (every /offers
    request closes one: the pages carry different Latest-Ledger stamps), then RPC from the oldest
    stamp: every chosen market equals the market after every ledger; the others are incomplete."""
    async with LocalStack(markets=3, seed=13, ledger_interval=None, start_time=1_700_000_000, levels=150) as st:
        for _ in range(5):
            st.close_ledger()
        pairs = list(st.market.pairs.values())
        chosen, other = pairs[:2], pairs[2]
        closes = []

        def on_request(_started, path, _query, _stream) -> None:
            if path == "/offers":
                closes.append(st.close_ledger())

        st.horizon.on_request = on_request
        async with Follow(st.rpc.url, horizon=st.horizon.url, markets=[(p.base, p.counter) for p in chosen],
                          poll_interval=0.02) as dex:
            st.horizon.on_request = None
            assert len(closes) >= 4 and dex.settled_at > dex.bootstrapped_at  # pages of different ledgers
            books = [await dex.watch(p.base, p.counter, 200, grouping="horizon") for p in chosen]
            flipped = await dex.watch(chosen[0].counter, chosen[0].base)
            assert flipped.complete and books[0].complete
            with pytest.raises(ArgumentError, match="not complete"):
                await dex.watch(other.base, other.counter)
            partial = await dex.watch(other.base, other.counter, allow_incomplete=True)
            assert not partial.complete
            for _ in range(15):
                seq = st.close_ledger()
                await caught_up(dex, seq)
                for b, p in zip(books, chosen):
                    assert same_levels(b, market_book(st.market, p)), (seq, p.key)


async def test_bootstrap_snapshot_file_roundtrip(tmp_path):
    from stellar_ob.errors import ParseError
    from stellar_ob.ledger.archive import HistoryArchive
    from stellar_ob.ledger.bootstrap import load_snapshot, save_snapshot

    async with LocalStack(markets=2, seed=9, ledger_interval=None, start_time=1_700_000_000) as st:
        checkpoint = (st.market.ledger // 64 + 1) * 64 + 63
        await close_until(st, checkpoint)
        archive_of(st.market, tmp_path / "archive", checkpoint)
        async with HistoryArchive(tmp_path / "archive") as ar:
            snap = await ar.load()
        save_snapshot(tmp_path / "dex.snap", snap)
        saved = load_snapshot(tmp_path / "dex.snap")
        assert saved.ledger == checkpoint and saved.network_passphrase == st.market.passphrase
        data = (tmp_path / "dex.snap").read_bytes()
        (tmp_path / "bad.snap").write_bytes(data[:-40] + data[-39:])
        with pytest.raises(ParseError, match="checksum"):
            load_snapshot(tmp_path / "bad.snap")
        for _ in range(5):
            st.close_ledger()
        async with Follow(st.rpc.url, snapshot=str(tmp_path / "dex.snap"), poll_interval=0.02) as dex:
            pairs = list(st.market.pairs.values())
            books = [await dex.watch(p.base, p.counter, 200, grouping="horizon") for p in pairs]
            seq = st.close_ledger()
            await caught_up(dex, seq)
            for b, p in zip(books, pairs):
                assert same_levels(b, market_book(st.market, p))


async def test_rpc_down_is_probed_with_get_health_at_most_once_a_second():
    rpc = RecordingRpc()
    async with LocalStack(markets=2, seed=6, ledger_interval=None, start_time=1_700_000_000, rpc=rpc) as st:
        async with Follow(st.rpc.url, start=st.rpc.oldest, empty=True, poll_interval=0.05,
                          backoff_base=0.01, backoff_cap=0.05) as dex:
            pairs = list(st.market.pairs.values())
            books = [await dex.watch(p.base, p.counter, 200, grouping="horizon") for p in pairs]
            statuses = []
            books[0].on_error(lambda b, e: statuses.append(b.status))
            rpc.down = True
            for _ in range(3):
                st.close_ledger()  # ledgers close while the node is unreachable

            async def down() -> None:
                while books[0].status is not Status.SERVER_DOWN:
                    await asyncio.sleep(0.01)
            await asyncio.wait_for(down(), 10)
            since = time.monotonic()  # the probe has found the server down: from here only it asks
            assert "server down" in books[0].status_text and books[0].server_down_since is not None
            while time.monotonic() - since < 4.2:
                await asyncio.sleep(0.05)
            after = [(t, m) for t, m in rpc.log if t >= since]
            # the server's log: only getHealth, at most one a second (at a 0.05 s poll and 0.01 s
            # backoff the stream alone would have asked ~80 times)
            assert {m for _t, m in after} == {"getHealth"}, after
            gaps = [b[0] - a[0] for a, b in zip(after, after[1:])]
            assert 3 <= len(after) <= 5 and min(gaps) >= 0.95, gaps
            assert dex.health.probes >= 4 and dex.health.down
            rpc.down = False
            seq = st.close_ledger()
            await caught_up(dex, seq)
            for b, p in zip(books, pairs):
                await b.wait_for(lambda _b: b.status is Status.LIVE, 10)
                assert same_levels(b, market_book(st.market, p))
            assert dex.health.outages == 1 and not dex.health.down


async def test_every_rpc_fault_together_books_stay_exact():
    async with LocalStack(markets=2, seed=12, ledger_interval=None, start_time=1_700_000_000) as st:
        src_kwargs = dict(start=st.rpc.oldest, empty=True, poll_interval=0.02, backoff_base=0.01, backoff_cap=0.05,
                          health_probe=True, probe_interval=0.05, probe_cap=0.05)
        from stellar_ob.ledger import Rpc

        async with Follow(Rpc(st.rpc.url, request_timeout=0.5, page_limit=3), **src_kwargs) as dex:
            pairs = list(st.market.pairs.values())
            books = [await dex.watch(p.base, p.counter, 200, grouping="horizon") for p in pairs]
            f = st.rpc.faults
            for _ in range(30):
                st.close_ledger()
            f.rate_limited, f.retry_after = 1, "0"
            f.server_errors = f.rpc_errors = f.cuts = 2
            f.truncated_xdr = f.corrupted_base64 = f.corrupted_xdr = 2
            f.missing_ledger = f.duplicate_ledger = f.stuck_cursor = 2
            f.stalls = 1
            for _ in range(10):
                seq = st.close_ledger()
            await caught_up(dex, seq, 60)
            for b, p in zip(books, pairs):
                assert same_levels(b, market_book(st.market, p))
            c = dex.counters
            assert c.parse_errors >= 3 and c.gaps >= 1 and c.duplicates >= 1 and c.rate_limited == 1
            assert dex.restarts == 0  # nothing bad reached the book: every ledger was refused before it


async def test_retention_jump_fails_without_an_archive():
    async with LocalStack(markets=1, seed=2, ledger_interval=None, start_time=1_700_000_000) as st:
        async with Follow(st.rpc.url, start=st.rpc.oldest, empty=True, poll_interval=0.02) as dex:
            book = await dex.watch(*(lambda p: (p.base, p.counter))(next(iter(st.market.pairs.values()))))
            # the client falls behind while the node's window moves past it
            dex._task.cancel()
            await asyncio.gather(dex._task, return_exceptions=True)
            for _ in range(5):
                st.close_ledger()
            st.rpc.forget_before(st.rpc.latest - 1)
            dex._task = asyncio.create_task(dex._run())
            with pytest.raises(RetentionError):
                async for _u in book.updates():
                    pass
            assert dex.status is Status.FAILED and book.status is Status.FAILED
            assert isinstance(book.last_error, RetentionError)


async def test_retention_jump_bootstraps_again_from_the_archive(tmp_path):
    async with LocalStack(markets=2, seed=3, ledger_interval=None, start_time=1_700_000_000) as st:
        first_cp = (st.market.ledger // 64 + 1) * 64 + 63
        await close_until(st, first_cp)
        archive_of(st.market, tmp_path / "archive", first_cp)
        async with Follow(st.rpc.url, archive=str(tmp_path / "archive"), poll_interval=0.02) as dex:
            pairs = list(st.market.pairs.values())
            books = [await dex.watch(p.base, p.counter, 200, grouping="horizon") for p in pairs]
            resyncs = []
            books[0].on_update(lambda u: resyncs.append(u.resync))
            dex._task.cancel()
            await asyncio.gather(dex._task, return_exceptions=True)
            await close_until(st, first_cp + 64)  # the next checkpoint, then the window passes the book
            archive_of(st.market, tmp_path / "archive", first_cp + 64)
            for _ in range(3):
                st.close_ledger()
            st.rpc.forget_before(first_cp + 64 + 1)
            dex._task = asyncio.create_task(dex._run())
            seq = st.close_ledger()
            await caught_up(dex, seq, 30)
            assert dex.bootstraps == 2 and dex.bootstrapped_at == first_cp + 64
            for b, p in zip(books, pairs):
                assert same_levels(b, market_book(st.market, p))
            assert True in resyncs and isinstance(dex.last_error, RetentionError)


async def test_a_stalled_tip_shows_server_down_then_live():
    async with LocalStack(markets=1, seed=2, ledger_interval=None, start_time=1_700_000_000) as st:
        async with Follow(st.rpc.url, start=st.rpc.oldest, empty=True, poll_interval=0.02,
                          stall_timeout=0.3) as dex:
            p = next(iter(st.market.pairs.values()))
            book = await dex.watch(p.base, p.counter)
            await book.wait_for(lambda _b: book.status is Status.SERVER_DOWN, 10)
            assert "stalled" in book.status_text and book.server_down_since is not None
            assert dex.counters.stalls == 1 and "no new ledger" in str(book.last_error)
            seq = st.close_ledger()
            await caught_up(dex, seq)
            await book.wait_for(lambda _b: book.status is Status.LIVE, 10)
            assert book.age is not None and book.age < 10


async def test_arguments():
    with pytest.raises(ArgumentError, match="exactly one source"):
        Follow(learn=True)
    with pytest.raises(ArgumentError, match="exactly one source"):
        Follow("http://127.0.0.1:1/", datalake="/tmp", learn=True)
    with pytest.raises(ArgumentError, match="exactly one start"):
        Follow("http://127.0.0.1:1/")
    with pytest.raises(ArgumentError, match="exactly one start"):
        Follow("http://127.0.0.1:1/", learn=True, snapshot="x")
    with pytest.raises(ArgumentError, match="empty=True needs start"):
        Follow("http://127.0.0.1:1/", empty=True)
    with pytest.raises(ArgumentError):
        Follow("ftp://x", learn=True)
    with pytest.raises(ArgumentError):
        Follow("http://127.0.0.1:1/", learn=True, poll_interval=0)
    with pytest.raises(ArgumentError):
        Follow("http://127.0.0.1:1/", start=0, empty=True)
    dex = Follow("http://127.0.0.1:1/", learn=True)
    with pytest.raises(ArgumentError, match="learn=True"):
        await dex.watch("XLM", "USD:GA5ZSEJYB37JRC5AVCIA5MOP4RHTM335X2KGX3IHOJAPP5RE34K4KZVN")
    with pytest.raises(ArgumentError, match="grouping"):
        await dex.watch("XLM", "USD:GA5ZSEJYB37JRC5AVCIA5MOP4RHTM335X2KGX3IHOJAPP5RE34K4KZVN", grouping="float",
                        allow_incomplete=True)
    with pytest.raises(ArgumentError, match="depth"):
        await dex.watch("XLM", "USD:GA5ZSEJYB37JRC5AVCIA5MOP4RHTM335X2KGX3IHOJAPP5RE34K4KZVN", depth=0,
                        allow_incomplete=True)
    await dex.close()
    assert dex.status is Status.CLOSED and isinstance(LedgerBook.kind, str)


async def test_the_c_heap_is_trimmed_after_ledgers_at_most_every_interval(monkeypatch):
    # each ledger's answer is megabytes allocated and freed; glibc keeps the holes they leave and
    # the RSS grows (the ledger soak), so a Follow calls malloc_trim(0) after a ledger, rate-limited
    import platform

    import stellar_ob.ledger.follow as follow_mod

    real = follow_mod._malloc_trim()
    if platform.libc_ver()[0] == "glibc":
        assert real is not None and real(0) in (0, 1)  # the real call: 1 when it released memory
    calls: list[tuple[float, int]] = []
    monkeypatch.setattr(follow_mod, "_malloc_trim", lambda: lambda pad: calls.append((time.monotonic(), pad)))
    monkeypatch.setattr(follow_mod, "_TRIM_EVERY", 0.2)
    async with LocalStack(markets=2, seed=7, ledger_interval=None, start_time=1_700_000_000) as st:
        async with Follow(st.rpc.url, start=st.rpc.oldest, empty=True, poll_interval=0.01) as dex, \
                Follow(st.rpc.url, start=st.rpc.oldest, empty=True, poll_interval=0.01, trim_memory=False) as off:
            pair = next(iter(st.market.pairs.values()))
            book = await dex.watch(pair.base, pair.counter, 200, grouping="horizon")
            t0 = time.monotonic()
            while time.monotonic() - t0 < 1.0:
                seq = st.close_ledger()
                await caught_up(dex, seq)
                await caught_up(off, seq)
                await asyncio.sleep(0.02)
            assert same_levels(book, market_book(st.market, pair))
            assert calls and all(pad == 0 for _, pad in calls)
            assert dex.memory_trims == len(calls) and off.memory_trims == 0  # only the one with it on
            assert len(calls) <= 1.0 / 0.2 + 2  # at most every 0.2 s, not after each of ~30 ledgers
            assert all(b[0] - a[0] >= 0.2 for a, b in zip(calls, calls[1:]))
    with pytest.raises(ArgumentError, match="trim_memory"):
        Follow("http://127.0.0.1:1/", learn=True, trim_memory="yes")
