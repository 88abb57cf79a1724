"""Per-offer ledger books (Follow.watch_offers) as first-class live books: registered with
:class:`stellar_ob.metrics.SyncMetrics` like LedgerBook and the Horizon LiveOfferBook (watched on
watch_offers, labelled ``book="ledger_l3"``, unwatched on close), and publishing the ledger's
claimed offers of their market as ``OfferBookUpdate.fills`` (the Horizon book's AppliedFill).

Every expectation is derived independently of the follow: from the simulated ledger's own metas
(decoded by the test with :func:`stellar_ob.ledger.decode`, entry change by entry change) or a
second DexBook replaying them. Both per-offer implementations (compiled and twin). No timing: each
test closes ledgers itself and waits for the follow to apply them."""

from __future__ import annotations

import asyncio

import pytest

from stellar_ob import Horizon, sync
from stellar_ob.sync import AppliedFill, Status
from stellar_ob.testing.ledger_meta import LocalStack

pytest.importorskip("stellar_ob.ledger._ledger")
prometheus_client = pytest.importorskip("prometheus_client")

from stellar_ob.ledger import DexBook, Follow, decode  # noqa: E402
from stellar_ob.ledger.records import LedgerAsset  # noqa: E402

_CREATED, _UPDATED, _REMOVED = 0, 1, 2
_OFFER = 2


@pytest.fixture(params=["c", "py"])
def offer_impl(request, monkeypatch):
    """Run a test on the compiled per-offer book and on the twin."""
    if request.param == "py":
        from stellar_ob.offers import _pure as _offers_pure

        monkeypatch.setattr(sync.l3, "_offer_impl", lambda: (_offers_pure.OfferBook, _offers_pure.LiquidityPool))
    else:
        from conftest import load_c

        load_c("offers")
    return request.param


async def caught_up(dex: Follow, ledger: int, timeout: float = 20.0) -> None:
    async def wait() -> None:
        while dex.ledger < ledger:
            if dex.status is Status.FAILED:
                raise dex.last_error
            await asyncio.sleep(0.01)

    await asyncio.wait_for(wait(), timeout)


def expected_fills(seq: int, meta: bytes, base, counter, held: set[int]) -> list[tuple]:
    """The fills of one ledger's trades of the market base/counter, from the decoded meta alone:
    (offer id, amount sold, the offer's amount after the claiming operation (0: removed), ledger,
    Horizon's trade id). ``held``: the offers that existed before the ledger (a claim of any other
    one is not a fill). Horizon's id is "<TOID of the operation>-<place among its claims>", the TOID
    ledger << 32 | tx << 12 | op counted from 1 (history_trades: HistoryOperationID, Order)."""
    led = decode(meta)
    pair = {LedgerAsset.from_asset(base), LedgerAsset.from_asset(counter)}
    after: dict[tuple[int, int, int], int] = {}  # (tx, op, offer id) -> the offer's amount after that op
    for ch in led.changes:
        if ch.entry_type != _OFFER or ch.change not in (_CREATED, _UPDATED, _REMOVED):
            continue
        key = (ch.tx_index, ch.op_index, ch.entry.offer_id)
        after[key] = 0 if ch.change == _REMOVED else ch.entry.amount
    out = []
    place: dict[tuple[int, int], int] = {}  # (tx, op) -> claims of that operation so far
    for t in led.trades:
        k = place[(t.tx_index, t.op_index)] = place.get((t.tx_index, t.op_index), -1) + 1
        if t.claim_type == 2 or {t.asset_sold, t.asset_bought} != pair or t.amount_sold <= 0:
            continue
        if t.offer_id in held:
            horizon_id = f"{(seq << 32) | ((t.tx_index + 1) << 12) | (t.op_index + 1)}-{k}"
            out.append((t.offer_id, t.amount_sold, after[(t.tx_index, t.op_index, t.offer_id)], seq, horizon_id))
    return out


def offer_ids_of(dm) -> set[int]:
    return {o.offer_id for side in ("bid", "ask") for o in dm.offers(side)} if dm is not None else set()


async def test_ledger_l3_books_report_to_metrics_and_unwatch_on_close(offer_impl):
    from stellar_ob.metrics import SyncMetrics

    registry = prometheus_client.CollectorRegistry()
    get = registry.get_sample_value
    metas: list[tuple[int, bytes]] = []
    st = LocalStack(markets=2, seed=5, ledger_interval=None, start_time=1_700_000_000)
    st.market.add_listener(lambda seq, meta: metas.append((seq, meta)))  # every ledger, the first one too
    async with st:
        async with Follow(st.rpc.url, start=st.rpc.oldest, empty=True, poll_interval=0.02,
                          metrics=SyncMetrics(registry=registry)) as dex:
            pairs = list(st.market.pairs.values())
            books = [await dex.watch_offers(p.base, p.counter) for p in pairs]
            labels = [{"market": f"{b.base}/{b.counter}", "book": "ledger_l3"} for b in books]
            assert [dex.metrics.labels(b) for b in books] == [(lab["market"], "ledger_l3") for lab in labels]
            # an independent replay of the same ledgers: which ledgers touched each market
            ref = DexBook.from_snapshot(b"\0\0\0\0", st.rpc.oldest - 1)
            for s, meta in metas:
                if s <= dex.ledger:
                    ref.apply_ledger(meta)
            start = dex.ledger
            touched = [0] * len(books)
            changed = [0] * len(books)
            updates = [[] for _ in books]
            for b, u in zip(books, updates):
                b.on_update(u.append)
            for _ in range(20):
                seq = st.close_ledger()
                await caught_up(dex, seq)
                for s, meta in [m for m in metas if start < m[0] <= seq]:
                    upd = ref.apply_ledger(meta)
                    for i, p in enumerate(pairs):
                        keys = {(str(LedgerAsset.from_asset(p.base)), str(LedgerAsset.from_asset(p.counter)))}
                        keys.add(next(iter(keys))[::-1])
                        mu = next((upd.markets[k] for k in keys if k in upd.markets), None)
                        if mu is not None:
                            touched[i] += 1
                            if mu.offers or mu.pools or any(t.claim_type != 2 for t in mu.trades):
                                changed[i] += 1
                start = seq
                for i, (b, lab) in enumerate(zip(books, labels)):
                    assert get("stellar_ob_events_total", lab) == touched[i] == b.counters.events
                    assert get("stellar_ob_updates_total", lab) == changed[i] == len(updates[i])
                    assert get("stellar_ob_update_latency_seconds_count", lab) == changed[i]
                    assert get("stellar_ob_repages_total", lab) == 1  # the load; never re-paged since
                    for side in ("bid", "ask"):
                        assert get("stellar_ob_offers", {**lab, "side": side}) == len(b.offers(side))
                    assert get("stellar_ob_book_live", lab) == 1.0
                    assert get("stellar_ob_book_info", {**lab, "base": str(b.base), "counter": str(b.counter),
                                                        "name": b.name}) == 1
            assert min(touched) > 0 and min(changed) > 0
            # closing one book removes its series, and only its
            await books[0].close()
            assert dex.metrics.labels(books[0]) is None
            assert get("stellar_ob_events_total", labels[0]) is None
            assert get("stellar_ob_offers", {**labels[0], "side": "bid"}) is None
            assert get("stellar_ob_events_total", labels[1]) == touched[1]
            # a closed book reports nothing more while the other keeps counting
            before = touched[1]
            for _ in range(5):
                seq = st.close_ledger()
            await caught_up(dex, seq)
            assert get("stellar_ob_events_total", labels[0]) is None
            assert get("stellar_ob_events_total", labels[1]) == books[1].counters.events >= before
        # the follow's close unwatches every book
        assert get("stellar_ob_events_total", labels[1]) is None
        assert not [s for fam in registry.collect() for s in fam.samples if s.labels.get("book") == "ledger_l3"]


async def test_ledger_l3_fills_equal_the_ledgers_claimed_offers(offer_impl):
    metas: dict[int, bytes] = {}
    async with LocalStack(markets=3, seed=21, ledger_interval=None, start_time=1_700_000_000) as st:
        st.market.add_listener(lambda seq, meta: metas.__setitem__(seq, meta))
        async with Follow(st.rpc.url, start=st.rpc.oldest, empty=True, poll_interval=0.02) as dex:
            pairs = list(st.market.pairs.values())
            books = [await dex.watch_offers(p.base, p.counter) for p in pairs]
            flipped = await dex.watch_offers(pairs[0].counter, pairs[0].base)
            got: list[list] = [[] for _ in books]
            for b, g in zip(books, got):
                b.on_update(lambda u, g=g: g.extend(u.fills))
            flipped_fills: list = []
            flipped.on_update(lambda u: flipped_fills.extend(u.fills))
            traded: list[list] = [[] for _ in books]
            books[0].on_trades(lambda _b, trades, ledger: traded[0].append((ledger, list(trades))))
            want: list[list] = [[] for _ in books]
            for _ in range(40):
                held = [offer_ids_of(b.market) for b in books]  # the offers before the ledger
                seq = st.close_ledger()
                await caught_up(dex, seq)
                for i, p in enumerate(pairs):
                    want[i] += expected_fills(seq, metas[seq], p.base, p.counter, held[i])
                    assert [(f.offer_id, f.sold, f.remaining, f.ledger, f.trade_id) for f in got[i]] == want[i], \
                        (seq, p.key)
            assert all(isinstance(f, AppliedFill) and f.sold > 0 for g in got for f in g)
            assert len({f.trade_id for g in got for f in g}) == sum(map(len, got))  # one id per claim
            assert sum(map(len, want)) >= 10  # the run did cross offers
            assert any(f.remaining == 0 for g in got for f in g) and any(f.remaining > 0 for g in got for f in g)
            c = books[0].counters
            assert c.fills == len(got[0]) and c.trades == c.fills + c.fills_unknown
            # the other orientation reports the same fills (an offer sells what it sells either way)
            assert flipped_fills == got[0]
            # on_trades still gets the ledger's records; the fills are those records, never decoded twice
            claimed = [(t.offer_id, t.amount_sold) for _ledger, ts in traded[0] for t in ts if t.claim_type != 2]
            ids = {f.offer_id for f in got[0]}
            assert [(f.offer_id, f.sold) for f in got[0]] == [x for x in claimed if x[0] in ids]


async def test_ledger_l3_fills_agree_with_horizon_l3_fills():
    """The same market through Horizon (fills from /trades) and through RPC (fills from the ledger):
    every fill Horizon's book applied is one of the ledger book's, with the same offer, amount sold,
    remaining and ledger (``trade_id``: see test_ledger_l3_fills_equal_the_ledgers_claimed_offers).
    Horizon's book applies only the fills newer than its page (a trade may arrive after the re-page
    that already holds it: counted in ``fills_in_page``), so its fills are a subset; the ledger book
    reports every one (but a fill of an offer created in the trade's own ledger: ``fills_unknown``,
    as Horizon's book counts an offer it does not hold)."""
    async with LocalStack(markets=2, seed=13, ledger_interval=None, start_time=1_700_000_000) as st:
        async with Follow(st.rpc.url, start=st.rpc.oldest, empty=True, poll_interval=0.02) as dex, \
                Horizon(st.horizon.url) as horizon:
            pairs = list(st.market.pairs.values())
            ledger_books = [await dex.watch_offers(p.base, p.counter) for p in pairs]
            horizon_books = [await horizon.watch_offers(p.base, p.counter) for p in pairs]
            lf: list[list] = [[] for _ in pairs]
            hf: list[list] = [[] for _ in pairs]
            for b, g in zip(ledger_books, lf):
                b.on_update(lambda u, g=g: g.extend(u.fills))
            for b, g in zip(horizon_books, hf):
                b.on_update(lambda u, g=g: g.extend(u.fills))
            for _ in range(25):
                seq = st.close_ledger()
                await caught_up(dex, seq)
                for hb in horizon_books:
                    await hb.wait_for(lambda _b, hb=hb: hb.ledger is not None and hb.ledger >= seq, 10)
            for i in range(len(pairs)):
                ours = {(f.offer_id, f.sold, f.remaining, f.ledger) for f in lf[i]}
                theirs = [(f.offer_id, f.sold, f.remaining, f.ledger) for f in hf[i]]
                assert set(theirs) <= ours, (pairs[i].key, set(theirs) - ours)
                assert all(isinstance(f.trade_id, str) for f in hf[i] + lf[i])
                # every claim of the market is accounted for on both sides: the ones Horizon's book did
                # not apply it found already in its page (a re-page that beat the trade) or did not hold
                hc, lc = horizon_books[i].counters, ledger_books[i].counters
                assert len(lf[i]) == lc.fills
                assert len(theirs) + hc.fills_in_page + hc.fills_unknown == lc.fills + lc.fills_unknown, pairs[i].key
            assert sum(map(len, lf)) > 0


async def test_fills_of_one_ledger_case_by_case(offer_impl):
    """LedgerOfferBook._fills on hand-made claims over a real book: a partial claim leaves core's
    adjustOffer of the rest, a second claim of the same offer in the ledger starts from what the
    first left, a claim of an offer the book did not hold is counted and not reported, a pool
    trade is no fill, a zero claim is skipped, and a claim larger than the book's amount (the owner
    raised the offer earlier in the ledger) keeps the ledger's ``sold`` and takes the offer's amount
    at the end of the ledger."""
    import sys

    from stellar_ob.ledger.dexbook import OfferChange
    from stellar_ob.ledger.records import Trade

    async with LocalStack(markets=1, seed=4, ledger_interval=None, start_time=1_700_000_000) as st:
        async with Follow(st.rpc.url, start=st.rpc.oldest, empty=True, poll_interval=0.02) as dex:
            pair = next(iter(st.market.pairs.values()))
            book = await dex.watch_offers(pair.base, pair.counter)
            asks = book.offers("ask")
            assert len(asks) >= 2
            a, b = asks[0], asks[1]
            adjust = sys.modules[book._book_cls.__module__].adjust_offer
            sold_asset, bought_asset = LedgerAsset.from_asset(pair.base), LedgerAsset.from_asset(pair.counter)

            claims = iter(range(100))  # one operation (tx 0, op 0) claiming them in this order

            def claim(oid, sold, kind=1):
                return Trade(0, 0, 2, kind, b"\1" * 32, oid, sold_asset, sold, bought_asset, 1, next(claims))

            first, second = a.amount // 3, a.amount // 4
            left1 = adjust(a.n, a.d, a.amount - first)
            left2 = adjust(a.n, a.d, left1 - second)
            c0 = dict(vars(book.counters))
            raised = OfferChange(b.offer_id, "updated", "ask", b.n, b.d, b.amount, 5, None, False)
            fills = book._fills([claim(a.offer_id, first), claim(10**12, 7), claim(a.offer_id, second),
                                 claim(0, 99, kind=2), claim(a.offer_id, 0), claim(b.offer_id, b.amount + 10)],
                                [raised])
            ledger = dex.ledger
            op = f"{(ledger << 32) | (1 << 12) | 1}"  # Horizon's TOID of tx 1, op 1 (counted from 1)
            assert fills == (AppliedFill(a.offer_id, first, left1, ledger, f"{op}-0"),
                             AppliedFill(a.offer_id, second, left2, ledger, f"{op}-2"),
                             AppliedFill(b.offer_id, b.amount + 10, 5, ledger, f"{op}-5"))
            c = vars(book.counters)
            assert {k: c[k] - c0[k] for k in ("fills", "fills_unknown", "fills_clamped", "pool_trades", "trades")} \
                == {"fills": 3, "fills_unknown": 1, "fills_clamped": 1, "pool_trades": 1, "trades": 5}
            assert book.get(a.offer_id).amount == a.amount  # reading fills never touches the book
