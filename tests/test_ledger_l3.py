"""Per-offer (L3) live books from the ledger: Follow.watch_offers gives a LiveOfferBook (the Horizon
sync's interface) that equals the DexBook's market after every ledger, in both orientations, and
equals the Horizon L3 book of the same market at the same ledger on the local stack (stellar_ob.testing:
one simulated market served both as Horizon and as Stellar RPC). Its quotes run under the ledger's
protocol. No timing: each test closes ledgers itself and waits for the follow to apply them."""

from __future__ import annotations

import asyncio

import pytest

from stellar_ob import Horizon
from stellar_ob.sync import LiveOfferBook, OfferBookUpdate, Status
from stellar_ob.testing.ledger_meta import LocalStack

pytest.importorskip("stellar_ob.ledger._ledger")

from stellar_ob.ledger import Follow, LedgerOfferBook  # noqa: E402


def offers(book, side):
    return [(o.offer_id, o.n, o.d, o.amount, o.seller) for o in book.offers(side)]


def dex_offers(market, side):
    from stellar_ob.ledger.records import encode_account

    return [(o.offer_id, o.n, o.d, o.amount, encode_account(o.seller) if o.seller else None)
            for o in market.offers(side)]


async def caught_up(dex: Follow, ledger: int, timeout: float = 20.0) -> None:
    async def wait() -> None:
        while dex.ledger < ledger:
            if dex.status is Status.FAILED:
                raise dex.last_error
            await asyncio.sleep(0.01)

    await asyncio.wait_for(wait(), timeout)


async def test_l3_equals_the_ledger_market_after_every_ledger():
    async with LocalStack(markets=3, seed=21, ledger_interval=None, start_time=1_700_000_000) as st:
        async with Follow(st.rpc.url, passphrase=st.market.passphrase, start=st.rpc.oldest, empty=True,
                          poll_interval=0.02) as dex:
            pairs = list(st.market.pairs.values())
            books = [await dex.watch_offers(p.base, p.counter) for p in pairs]
            flipped = await dex.watch_offers(pairs[0].counter, pairs[0].base)
            updates: list = []
            books[0].on_update(updates.append)
            assert all(isinstance(b, LiveOfferBook) and isinstance(b, LedgerOfferBook) for b in books)
            assert all(b.status is Status.LIVE and b.loaded for b in books)
            seen_offers = 0
            for _ in range(40):
                seq = st.close_ledger()
                await caught_up(dex, seq)
                for b, p in zip(books, pairs):
                    m = dex.dex.market(p.base, p.counter)
                    for side in ("bid", "ask"):
                        assert offers(b, side) == dex_offers(m, side), (seq, p.key, side)
                        seen_offers += len(offers(b, side))
                    assert b.ledger == seq and b.complete and b.protocol == dex.protocol is not None
                    pool = m.pools()
                    assert (b.pool is None) == (not pool)
                # the other orientation: the same offers, sides swapped
                assert offers(flipped, "ask") == offers(books[0], "bid")
                assert offers(flipped, "bid") == offers(books[0], "ask")
            assert seen_offers > 0
            assert updates and all(isinstance(u, OfferBookUpdate) and u.live is books[0] for u in updates)
            assert not any(u.repaged for u in updates)  # applied offer by offer, never reloaded
            assert dex.counters.parse_errors == 0
            # closing a book stops its updates and forgets it
            await flipped.close()
            assert flipped not in dex.offer_books and flipped.status is Status.CLOSED


async def test_l3_equals_horizon_l3_at_the_same_ledger():
    async with LocalStack(markets=2, seed=13, ledger_interval=None, start_time=1_700_000_000) as st:
        async with Follow(st.rpc.url, start=st.rpc.oldest, empty=True, poll_interval=0.02) as dex, \
                Horizon(st.horizon.url) as horizon:
            pairs = list(st.market.pairs.values())
            ledger_books = [await dex.watch_offers(p.base, p.counter) for p in pairs]
            horizon_books = [await horizon.watch_offers(p.base, p.counter) for p in pairs]
            compared = quoted = pooled = 0
            for _ in range(25):
                seq = st.close_ledger()
                await caught_up(dex, seq)
                for lb, hb, p in zip(ledger_books, horizon_books, pairs):
                    # the market holds still until the next close: wait for Horizon's re-page of this ledger
                    await hb.wait_for(lambda _b, hb=hb: hb.ledger is not None and hb.ledger >= seq, 10)
                    for side in ("bid", "ask"):
                        assert offers(lb, side) == offers(hb, side), (seq, p.key, side)
                    assert lb.levels("bid") == hb.levels("bid") and lb.levels("ask") == hb.levels("ask")
                    assert len(lb) > 0
                    assert (lb.pool is None) == (hb.pool is None)
                    if lb.pool is not None:
                        assert (lb.pool.reserve_a, lb.pool.reserve_b, lb.pool.fee_bp) == \
                            (hb.pool.reserve_a, hb.pool.reserve_b, hb.pool.fee_bp)
                        assert lb.quote_hop("strict_send", 1_000_000) == \
                            hb.quote_hop("strict_send", 1_000_000, protocol=hb.protocol)
                        pooled += 1
                    await hb.wait_for(lambda _b, hb=hb: hb.protocol is not None, 10)
                    assert lb.protocol == hb.protocol
                    for kind, amount in (("sell", 10_000_000), ("buy", 5_000_000)):
                        for taker_sells in ("base", "counter"):
                            got = lb.simulate(kind, amount, taker_sells=taker_sells)
                            want = hb.book.simulate(kind, amount, taker_sells=taker_sells, protocol=hb.protocol)
                            assert got == want
                            quoted += 1
                    compared += 1
            assert compared == 50 and quoted == 200 and pooled > 0


async def test_watch_offers_arguments_and_incomplete_books():
    from stellar_ob.sync import ArgumentError

    async with LocalStack(markets=1, seed=2, ledger_interval=None, start_time=1_700_000_000) as st:
        async with Follow(st.rpc.url, learn=True, poll_interval=0.02) as dex:
            (p,) = st.market.pairs.values()
            with pytest.raises(ArgumentError, match="not complete"):
                await dex.watch_offers(p.base, p.counter)
            with pytest.raises(ArgumentError):
                await dex.watch_offers(p.base, p.counter, on_update=5, allow_incomplete=True)
            live = await dex.watch_offers(p.base, p.counter, allow_incomplete=True)
            seq = st.close_ledger()
            await caught_up(dex, seq)
            # an incomplete book holds exactly what the ledgers touched since it started
            m = dex.dex.market(p.base, p.counter)
            for side in ("bid", "ask"):
                assert offers(live, side) == dex_offers(m, side)
            live.request_repage()
            for side in ("bid", "ask"):
                assert offers(live, side) == dex_offers(m, side)
