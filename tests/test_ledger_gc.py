"""What a watched ledger market costs the garbage collector (issue 14's latency tail).

A full collection walks every object the collector tracks and stops the event loop while it does:
with 10,000 watched markets the objects each :class:`~stellar_ob.ledger.follow.LedgerBook` keeps
make the longest pauses of the client. The count is measured, not timed: objects tracked after
watching N markets of the local stack, then N more, per market (one market watched before both,
so that what a first watch sets up once is not counted).

The bound, 8 tracked objects a market: what a market needs is its LedgerBook, its OrderBook, its
Counters, its ``on_update`` list (one callback registered here), and its counter Asset when that
asset is new (each simulated market has its own): 5 (the Follow's index holds the book itself).
Three more leave room for the collector's noise between counts (the stream's polls run meanwhile)
and nothing else: a WeakSet (7 objects) or two asyncio Events (4) per book, as the books had
before (29 a market), fail it.

The lazily made containers (``updates()``, ``wait_for``, ``on_trades``, ``on_error``) are then
used on one of those books, to show they work once made.
"""

from __future__ import annotations

import asyncio
import gc

import pytest

import stellar_ob
from stellar_ob.sync import Status
from stellar_ob.testing.ledger_meta import LocalStack

pytest.importorskip("stellar_ob.ledger._ledger")

from stellar_ob.ledger.follow import Follow  # noqa: E402

N = 60  # markets per step
BOUND = 8  # tracked objects a watched market (see the module docstring)


def tracked() -> int:
    gc.collect()
    return len(gc.get_objects())


@pytest.mark.skipif(stellar_ob.IMPLEMENTATION != "c", reason="counts the compiled OrderBook as one object; the "
                    "pure twin's keeps its levels in Python objects (a SortedDict of lists and Fractions)")
async def test_a_watched_market_costs_few_tracked_objects():
    async with LocalStack(markets=2 * N + 1, seed=7, ledger_interval=None, start_time=1_700_000_000) as st:
        async with Follow(st.rpc.url, start=st.rpc.oldest, empty=True, poll_interval=0.05) as dex:
            await dex.wait_live(30)
            pairs = list(st.market.pairs.values())
            seen: list = []

            def on_update(update) -> None:
                seen.append(update.live)

            books = [await dex.watch(pairs[0].base, pairs[0].counter, 200, grouping="horizon",
                                     on_update=on_update)]  # first-use costs (imports, caches) here
            first = tracked()
            for p in pairs[1:N + 1]:
                books.append(await dex.watch(p.base, p.counter, 200, grouping="horizon", on_update=on_update))
            second = tracked()
            for p in pairs[N + 1:]:
                books.append(await dex.watch(p.base, p.counter, 200, grouping="horizon", on_update=on_update))
            third = tracked()
            per_market = (third - second) / N
            assert (second - first) / N < BOUND and per_market < BOUND, (first, second, third)
            assert per_market > 2  # a LedgerBook and its OrderBook at least: the count does see them

            # the containers made on first use work once made
            live = books[0]
            stream = live.updates()
            trades: list = []
            errors: list = []
            live.on_trades(lambda book, t, ledger: trades.append(ledger))
            live.on_error(lambda book, e: errors.append(e))
            target = dex.ledger + 1
            waiting = asyncio.ensure_future(live.wait_for(lambda book: dex.ledger >= target))
            await asyncio.sleep(0)
            assert not waiting.done()

            async def until_updated() -> None:
                for _ in range(20):  # a ledger of maker actions in this market (one that changes its levels)
                    seq = st.close_ledger([pairs[0]])
                    while dex.ledger < seq:
                        await asyncio.sleep(0.01)
                    if live in seen:
                        return

            await asyncio.wait_for(until_updated(), 30)
            await asyncio.wait_for(waiting, 5)
            assert live in seen and live.status is Status.LIVE
            update = await asyncio.wait_for(stream.__anext__(), 5)
            assert update.live is live and update.diff is not None
            await live.close()
            with pytest.raises(StopAsyncIteration):
                await asyncio.wait_for(stream.__anext__(), 5)
            assert live.status is Status.CLOSED and live not in dex.books
            assert errors == []
            # its market leaves the follow's index (both orientations) with its only book
            keys = live._keys
            assert all(k not in dex._books for k in keys)
            assert len(dex.books) == 2 * N


async def test_several_books_of_one_market_each_get_its_updates_until_closed():
    """The follow's index holds a market's book itself while one watches it and a list when
    several do (either orientation): every book gets every change until it is closed, and the
    market leaves the index with its last book."""
    async with LocalStack(markets=2, seed=9, ledger_interval=None, start_time=1_700_000_000) as st:
        async with Follow(st.rpc.url, start=st.rpc.oldest, empty=True, poll_interval=0.02) as dex:
            await dex.wait_live(30)
            p, other = list(st.market.pairs.values())
            got: dict = {}

            def on_update(update) -> None:
                got[update.live] = got.get(update.live, 0) + 1

            a = await dex.watch(p.base, p.counter, on_update=on_update)
            b = await dex.watch(p.counter, p.base, on_update=on_update)  # the other orientation
            c = await dex.watch(p.base, p.counter, 200, grouping="horizon", on_update=on_update)
            d = await dex.watch(other.base, other.counter, on_update=on_update)
            keys = a._keys
            assert dex._books[keys[0]] is dex._books[keys[1]] and list(dex._books[keys[0]]) == [a, b, c]
            assert dex._books[d._keys[0]] is d

            async def changed(books) -> None:  # ledgers of maker actions in p until each book got one
                got.clear()
                while not all(got.get(x) for x in books):
                    seq = st.close_ledger([p])
                    while dex.ledger < seq:
                        await asyncio.sleep(0.01)

            await asyncio.wait_for(changed([a, b, c]), 30)
            await b.close()
            assert list(dex._books[keys[0]]) == [a, c]
            await asyncio.wait_for(changed([a, c]), 30)
            assert b not in got
            await a.close()
            assert dex._books[keys[0]] is c and dex._books[keys[1]] is c
            await asyncio.wait_for(changed([c]), 30)
            await c.close()
            assert keys[0] not in dex._books and keys[1] not in dex._books
            assert dex._books[d._keys[0]] is d and dex.books == [d]


# ---- what a ledger leaves for the oldest generation ---------------------------------------------------------

LEDGERS = 4  # ledgers measured, each changing every market of the stack (after one not measured)
PROMOTED_BOUND = 40  # objects a ledger may leave in flight (see the test's docstring)


def _reachable(root, among: set) -> set:
    """The ids of ``among`` reachable from ``root`` (through objects of ``among``)."""
    seen: set = set()
    todo = [root]
    while todo:
        o = todo.pop()
        for r in gc.get_referents(o):
            i = id(r)
            if i in among and i not in seen:
                seen.add(i)
                todo.append(r)
    return seen


async def test_a_ledger_leaves_few_objects_for_the_oldest_generation():
    """A full collection comes due when the objects moved into the oldest generation since the
    last one pass a quarter of those it holds; they are moved there by the collections of the
    younger generations, which run while a ledger is being applied (what a ledger builds is what
    makes them run). So what a ledger keeps alive while it is handed to the books is what decides
    how often the event loop stops for a full collection with thousands of books.

    Measured, not timed: before each ledger is applied the young generations are emptied
    (``gc.collect(1)``), and at the first ``on_update`` of the ledger (its books are being served)
    a collection of the young generations is run and the objects it moves into the oldest one are
    counted: what a collection at that moment would promote. The new state of the updated book
    (the pure twin's OrderBook keeps its levels in Python objects: the book's, not the ledger's
    overhead) is not counted. Each ledger changes every one of the 120 watched markets; one ledger
    is applied before the measured ones (the first ledger that touches a market fills the
    DexBook's caches of its assets and names, once).

    With a MarketUpdate, five lists and OfferChanges built for every changed market, a Trade (and
    its LedgerAssets) for every trade of the ledger, and each book's levels kept as a tuple of row
    tuples (promoted still tracked when the collector meets it before its rows), a ledger left
    more than 1,000 objects here. What is left now does not grow with the markets changed (about
    20: the apply's raw lists, the iterators of the dispatch, the update being delivered and its
    diff); the bound, 40, leaves room for the collector's order and nothing that grows with them.
    """
    async with LocalStack(markets=120, seed=11, ledger_interval=None, start_time=1_700_000_000) as st:
        async with Follow(st.rpc.url, start=st.rpc.oldest, empty=True, poll_interval=0.02) as dex:
            await dex.wait_live(30)
            pairs = list(st.market.pairs.values())
            state = {"armed": False, "counts": [], "updates": 0}

            def on_update(update) -> None:
                state["updates"] += 1
                if not state["armed"]:
                    return
                state["armed"] = False
                young = {id(o) for o in gc.get_objects(0)} | {id(o) for o in gc.get_objects(1)}
                gc.collect(1)
                own = _reachable(update.book, young) | {id(update.book)}
                promoted = [o for o in gc.get_objects(2) if id(o) in young and id(o) not in own]
                state["counts"].append(len(promoted))

            for p in pairs:
                await dex.watch(p.base, p.counter, 200, grouping="horizon", on_update=on_update)
            apply = dex._apply

            def measured_apply(item) -> None:
                gc.collect(1)  # the young generations empty: what follows is the ledger's
                state["armed"] = True
                apply(item)
                state["armed"] = False

            seq = st.close_ledger(pairs)  # the caches' one-time fill (see the docstring)
            while dex.ledger < seq:
                await asyncio.sleep(0.01)
            dex._apply = measured_apply
            for _ in range(LEDGERS):
                before = state["updates"]
                seq = st.close_ledger(pairs)
                while dex.ledger < seq:
                    await asyncio.sleep(0.01)
                assert state["updates"] - before >= 60  # most of the markets changed their levels
            counts = state["counts"]
            assert len(counts) == LEDGERS, counts
            assert max(counts) <= PROMOTED_BOUND, counts
