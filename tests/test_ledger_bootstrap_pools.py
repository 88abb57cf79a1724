"""The Horizon bootstrap carries pools: Follow(horizon=..., markets=...) pages each chosen market's
/offers and /liquidity_pools?reserves=A,B once (stellar_ob.ledger.bootstrap.horizon_changes), each
record stamped with its page's Latest-Ledger, and the ledger stream takes over. Checked against the
simulated ledger's own pool state (stellar_ob.testing: one market served as Horizon and as RPC):
reserves, shares and fee equal after every ledger; a record older than a ledger's change is
superseded by it; a malformed or foreign pool record raises ParseError and no book is made.
No timing: each test closes ledgers itself and waits for the follow to apply them."""

from __future__ import annotations

import asyncio
import hashlib
import urllib.parse

import pytest

from stellar_ob import format_amount
from stellar_ob.errors import ParseError
from stellar_ob.sync import Status
from stellar_ob.testing.ledger_meta import LocalStack, pool_parameters_xdr

pytest.importorskip("stellar_ob.ledger._ledger")

from stellar_ob.ledger import Follow  # noqa: E402
from stellar_ob.ledger.bootstrap import horizon_changes  # noqa: E402
from stellar_ob.ledger.records import LedgerAsset  # noqa: E402


async def caught_up(dex: Follow, ledger: int, timeout: float = 20.0) -> None:
    async def wait() -> None:
        while dex.ledger < ledger:
            if dex.status is Status.FAILED:
                raise dex.last_error
            await asyncio.sleep(0.01)

    await asyncio.wait_for(wait(), timeout)


def book_pool(dex: Follow, pair) -> tuple:
    """The DexBook's pool of a pair: (id, assetA, assetB, fee, reserveA, reserveB, shares)."""
    pools = dex.dex.market(pair.base, pair.counter).pools()
    assert len(pools) == 1, pools
    p = pools[0]
    return (p.pool_id, p.asset_a, p.asset_b, p.fee_bp, p.reserve_a, p.reserve_b, p.total_shares)


def ledger_pool(st: LocalStack, pair) -> tuple:
    """The simulated ledger's pool of a pair, in the same shape (derived from the pool parameters)."""
    params = pool_parameters_xdr(pair.base, pair.counter)
    pool_id = hashlib.sha256(params).digest()
    ra, rb, shares = st.market.pool_state()[pool_id]
    a, b = (pair.base, pair.counter) if params[4:].startswith(_asset_xdr(pair.base)) else (pair.counter, pair.base)
    return (pool_id, LedgerAsset.from_asset(a), LedgerAsset.from_asset(b), 30, ra, rb, shares)


def _asset_xdr(asset) -> bytes:
    from stellar_ob.testing.ledger_meta import asset_xdr

    return asset_xdr(asset)


async def test_horizon_bootstrap_pools_equal_the_ledger_after_every_ledger():
    async with LocalStack(markets=3, seed=13, ledger_interval=None, start_time=1_700_000_000) as st:
        for _ in range(3):
            st.close_ledger()
        pairs = list(st.market.pairs.values())
        chosen, other = pairs[:2], pairs[2]
        asked: list[tuple[str, dict]] = []

        def on_request(_started, path, query, _stream) -> None:
            asked.append((path, dict(urllib.parse.parse_qsl(query))))
            if path in ("/offers", "/liquidity_pools"):  # pages of different ledgers
                for p in chosen:
                    st.market.deposit(p, 1_000_000 + st.market.ledger, 2_000_000)
                st.close_ledger()

        st.horizon.on_request = on_request
        async with Follow(st.rpc.url, horizon=st.horizon.url, markets=[(p.base, p.counter) for p in chosen],
                          poll_interval=0.02) as dex:
            st.horizon.on_request = None
            pool_asks = [q for path, q in asked if path == "/liquidity_pools"]
            assert [q["reserves"] for q in pool_asks] == [f"{p.base},{p.counter}" for p in chosen]
            assert dex.settled_at > dex.bootstrapped_at  # the pages were answered at different ledgers
            await dex.wait_live()
            for p in chosen:
                assert book_pool(dex, p) == ledger_pool(st, p), p.key
            assert not dex.is_complete(other.base, other.counter)  # not paged
            moved = 0
            for i in range(15):
                for p in chosen:
                    if i % 3 == 0:
                        st.market.deposit(p, 5_000_000 * (i + 1), 3_000_000)
                    elif i % 3 == 1:
                        st.market.swap(p)
                before = [book_pool(dex, p) for p in chosen]
                seq = st.close_ledger()
                await caught_up(dex, seq)
                for p, was in zip(chosen, before):
                    now = book_pool(dex, p)
                    assert now == ledger_pool(st, p), (seq, p.key)
                    moved += now != was
            assert moved >= 10  # the pools did change under the follow


async def test_a_pool_record_older_than_a_change_is_superseded():
    async with LocalStack(markets=2, seed=7, ledger_interval=None, start_time=1_700_000_000) as st:
        st.close_ledger()
        pair = next(iter(st.market.pairs.values()))
        truth = ledger_pool(st, pair)
        # Horizon serves the pool as it stood before some change: reserves that are no longer the ledger's
        stale = [{"asset": str(pair.base), "amount": format_amount(pair.pool_reserves[0] - 777)},
                 {"asset": str(pair.counter), "amount": format_amount(pair.pool_reserves[1] - 555)}]
        st.horizon.faults.pool_record_patch = {"reserves": stale}
        async with Follow(st.rpc.url, horizon=st.horizon.url, markets=[(pair.base, pair.counter)],
                          poll_interval=0.02) as dex:
            st.horizon.faults.pool_record_patch = {}
            await dex.wait_live()
            seeded = book_pool(dex, pair)
            assert seeded != truth  # the book holds the record as read ...
            base_is_a = seeded[1] == LedgerAsset.from_asset(pair.base)
            want_a, want_b = (pair.pool_reserves[0] - 777, pair.pool_reserves[1] - 555) if base_is_a else \
                (pair.pool_reserves[1] - 555, pair.pool_reserves[0] - 777)
            assert seeded[4:6] == (want_a, want_b)
            # ... until the ledger changes the pool: the change is newer than the record and wins
            st.market.deposit(pair, 10_000_000, 20_000_000)
            seq = st.close_ledger()
            await caught_up(dex, seq)
            assert book_pool(dex, pair) == ledger_pool(st, pair)
            for _ in range(3):
                seq = st.close_ledger()
                await caught_up(dex, seq)
                assert book_pool(dex, pair) == ledger_pool(st, pair)


@pytest.mark.parametrize("patch, match", [
    ({"fee_bp": "30"}, "fee_bp must be an integer"),  # a string where Horizon sends an int
    ({"fee_bp": 31}, "is not the pool"),  # another fee: the id is not that pool's
    ({"id": "ab" * 32}, "is not the pool"),
    ({"reserves": []}, "exactly two reserves"),
    ({"total_shares": "-1.0000000"}, "total_shares"),
    ({"total_shares": "922337203685.4775808"}, "total_shares"),  # 2**63 stroops: past int64
    ({"reserves": "native"}, "reserves must be an array"),
])
async def test_a_malformed_pool_record_raises_and_no_book_is_made(patch, match):
    async with LocalStack(markets=1, seed=3, ledger_interval=None, start_time=1_700_000_000) as st:
        pair = next(iter(st.market.pairs.values()))
        markets = [(pair.base, pair.counter)]
        good, first, last = await horizon_changes(st.horizon.url, markets)
        assert first == last == st.market.ledger and len(good) > 4
        st.horizon.faults.pool_record_patch = patch
        with pytest.raises(ParseError, match=match):
            await horizon_changes(st.horizon.url, markets)
        dex = Follow(st.rpc.url, horizon=st.horizon.url, markets=markets, poll_interval=0.02)
        with pytest.raises(ParseError, match=match):
            await dex.start()
        assert dex.dex is None and dex.status is Status.FAILED  # nothing seeded, nothing followed
        await dex.close()
        st.horizon.faults.pool_record_patch = {}
        assert (await horizon_changes(st.horizon.url, markets))[0] == good  # the same answer, read again


async def test_a_pool_of_other_assets_is_refused():
    async with LocalStack(markets=2, seed=3, ledger_interval=None, start_time=1_700_000_000) as st:
        a, b = list(st.market.pairs.values())
        other = [{"asset": str(b.base), "amount": "1.0000000"}, {"asset": str(b.counter), "amount": "1.0000000"}]
        if {str(b.base), str(b.counter)} == {str(a.base), str(a.counter)}:
            pytest.fail("the simulated markets should be two different pairs")
        st.horizon.faults.pool_record_patch = {"reserves": other}
        with pytest.raises(ParseError, match="not"):
            await horizon_changes(st.horizon.url, [(a.base, a.counter)])
