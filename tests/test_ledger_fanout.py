"""The per-ledger fan-out of ledger books: the Horizon grouping read from the exact L2 view equals
the grouping of the offers themselves (float64 collisions included), the level diffs of one
merge equal the dict-based diff, and the tip is paced by the cadence learnt (no timing: the
pacing arithmetic is driven with chosen clock values)."""

from __future__ import annotations

import random
import struct
from math import gcd

import pytest

pytest.importorskip("stellar_ob.ledger._ledger")

from stellar_ob import CrossedBookError, LevelChange, Price  # noqa: E402
from stellar_ob.ledger import DexBook  # noqa: E402
from stellar_ob.ledger.follow import _level_changes  # noqa: E402
from stellar_ob.ledger.stream import LedgerStream  # noqa: E402

ISSUER = struct.pack(">I", 0) + bytes([1]) * 32
NATIVE = struct.pack(">I", 0)
CREDIT = struct.pack(">II", 1, 0x55534400) + ISSUER


def _offer(oid: int, ask: bool, n: int, d: int, amount: int) -> bytes:
    seller = struct.pack(">I", 0) + struct.pack(">I", oid) + bytes(28)
    selling, buying = (CREDIT, NATIVE) if ask else (NATIVE, CREDIT)
    return (struct.pack(">III", 3, 7, 2) + seller + struct.pack(">q", oid) + selling + buying
            + struct.pack(">qiiII", amount, n, d, 0, 0) + struct.pack(">I", 0))


def _reference_levels(market, side: str, limit: int):
    """The offer walk Horizon's grouping is defined by: offers in crossing order, grouped by the
    float64 of their own n/d, each group at its first offer's reduced price (inverted for bids)."""
    out, last = [], None
    for o in market.offers(side):
        key = float(o.n) / float(o.d)
        if key == last:
            pn, pd, pa = out[-1]
            out[-1] = (pn, pd, pa + o.amount)
            continue
        if len(out) >= limit:
            break
        last = key
        g = gcd(o.n, o.d)
        n, d = o.n // g, o.d // g
        out.append((d, n, o.amount) if side == "bid" else (n, d, o.amount))
    return out


def test_horizon_grouping_from_exact_levels_equals_the_offer_walk():
    rng = random.Random(3)
    M = 2**31 - 1
    prices = [(M - 1, M), (M - 2, M - 1), (M - 3, M - 2), (1, 3), (2, 6), (5, 15), (7, 9), (14, 18),
              (M, M - 1), (M - 1, M - 2), (3, 1), (6, 2), (1000, 999)]
    assert float(M - 1) / M == float(M - 2) / (M - 1)  # distinct rationals, one float64: Horizon's one level
    entries, oid = [], 1
    for _ in range(400):
        n, d = rng.choice(prices) if rng.random() < 0.7 else (rng.randint(1, 50), rng.randint(1, 50))
        entries.append(_offer(oid, rng.random() < 0.5, n, d, rng.randint(1, 10**9)))
        oid += 1
    dex = DexBook.from_snapshot(struct.pack(">I", len(entries)) + b"".join(entries), 5)
    (base, counter), = dex.markets()
    for b, c in ((base, counter), (counter, base)):
        m = dex.market(b, c)
        for side in ("bid", "ask"):
            for limit in (1, 2, 3, 5, 8, 200, None):
                want = _reference_levels(m, side, 2**62 if limit is None else limit)
                assert m.levels(side, limit) == want, (side, limit)


def _dict_diff(side, old, new):
    o = {Price(n, d): a for n, d, a in old}
    w = {Price(n, d): a for n, d, a in new}
    out = [LevelChange(side, p, o.get(p, 0), a) for p, a in w.items() if o.get(p) != a]
    out += [LevelChange(side, p, a, 0) for p, a in o.items() if p not in w]
    out.sort(key=lambda c: c.price, reverse=side == "bid")
    return out


def test_level_changes_of_one_merge_equal_the_dict_diff():
    rng = random.Random(7)
    for _ in range(500):
        side = rng.choice(("bid", "ask"))
        pool = {}
        while len(pool) < 12:
            n, d = rng.randint(1, 30), rng.randint(1, 30)
            g = gcd(n, d)
            pool[(n // g, d // g)] = None
        prices = list(pool)

        def rows():
            chosen = rng.sample(prices, rng.randint(0, len(prices)))
            chosen.sort(key=lambda p: p[0] / p[1], reverse=side == "bid")
            return [(n, d, rng.choice((1, 2, 3))) for n, d in chosen]

        old, new = rows(), rows()
        flat_old, flat_new = tuple(x for r in old for x in r), tuple(x for r in new for x in r)  # as books keep them
        assert _level_changes(side, flat_old, flat_new) == _dict_diff(side, old, new)


class _Source:
    counters = None

    async def read(self, start):  # pragma: no cover - never called here
        raise AssertionError

    async def latest_ledger(self):  # pragma: no cover
        raise AssertionError

    async def open(self):  # pragma: no cover
        pass

    async def close(self):  # pragma: no cover
        pass

    def attach(self, owner):
        pass

    def forget_cursor(self):  # pragma: no cover
        pass


def test_tip_polls_are_paced_by_the_learnt_cadence():
    s = LedgerStream(_Source(), 10, poll_interval=0.02, stall_timeout=None)
    assert s.cadence is None and s._tip_wait(100.0) == 0.02  # nothing learnt: poll
    s._found_at_tip(100.0)
    s._found_at_tip(105.0)
    assert s.cadence is None  # one gap is not a cadence
    s._found_at_tip(110.2)
    assert s.cadence == pytest.approx(5.2)
    # right after a ledger: sleep until 10% of the cadence before the next is due
    assert s._tip_wait(110.25) == pytest.approx(110.2 + 5.2 - 0.52 - 110.25)
    # inside the lead (or late): poll every poll_interval
    assert s._tip_wait(115.0) == 0.02 and s._tip_wait(120.0) == 0.02
    # one late ledger does not move the median of the last gaps much; eight gaps are kept
    for t in (115.4, 125.4, 130.4, 135.4, 140.4, 145.4, 150.4, 155.4):
        s._found_at_tip(t)
    assert len(s._gaps_seen) == 8 and s.cadence == pytest.approx(5.0)
    # a ledger found late: the schedule of the ones before it still says when the next is due
    s._found_at_tip(161.0)  # 5.6 s after 155.4: late
    assert s._tip_wait(161.05) == pytest.approx(155.4 + 2 * 5.0 - 0.5 - 161.05)  # not 161.0 + 5.0 - 0.5
    # then one early by as much: the lead widens to the spread of the gaps
    s._found_at_tip(165.4)  # 4.4 s
    assert s.cadence == pytest.approx(5.0)
    assert s._tip_wait(165.45) == pytest.approx(165.4 + 5.0 - (5.0 - 4.4 + 0.04) - 165.45)
    # a stall is still noticed in time: never sleep past tip_since + stall_timeout
    s2 = LedgerStream(_Source(), 10, poll_interval=0.02, stall_timeout=1.0)
    for t in (0.0, 5.0, 10.0):
        s2._found_at_tip(t)
    s2._tip_since = 10.0
    assert s2._tip_wait(10.01) == pytest.approx(0.99)
    # unpaced: always poll_interval
    s3 = LedgerStream(_Source(), 10, poll_interval=0.5, stall_timeout=None, paced=False)
    for t in (0.0, 5.0, 10.0):
        s3._found_at_tip(t)
    assert s3._tip_wait(10.01) == 0.5
    with pytest.raises(Exception):
        LedgerStream(_Source(), 10, paced=1)


def _random_dex(rng: random.Random, collisions: bool) -> DexBook:
    """One market of random offers; with ``collisions``, prices two distinct rationals of which
    are one float64 (Horizon's one level)."""
    M = 2**31 - 1
    if collisions:
        prices = [(M - 1, M), (M - 2, M - 1), (M, M - 1), (M - 1, M - 2), (1, 3), (7, 9), (3, 1), (1000, 999)]
    else:
        prices = [(1, 3), (2, 5), (7, 9), (9, 7), (3, 1), (5, 2), (1000, 999), (999, 1000)]
    entries = []
    for oid in range(1, rng.randint(2, 40)):
        n, d = rng.choice(prices) if rng.random() < 0.6 else (rng.randint(1, 50), rng.randint(1, 50))
        entries.append(_offer(oid, rng.random() < 0.5, n, d, rng.randint(1, 10**9)))
    return DexBook.from_snapshot(struct.pack(">I", len(entries)) + b"".join(entries), 5)


def _collides(rows, side: str) -> bool:
    """Two adjacent exact levels (view rows, best first) in one Horizon group: the same float64 of
    the offers' own price (d/n for bids)."""
    keys = [float(d) / float(n) if side == "bid" else float(n) / float(d) for n, d, _ in rows]
    return any(a == b for a, b in zip(keys, keys[1:]))


def _crossed(dex: DexBook) -> bool:
    m = dex.market(*dex.markets()[0])
    bids, asks = dex._c.levels(m._m, m._flipped, 0, 1), dex._c.levels(m._m, m._flipped, 1, 1)
    return bool(bids and asks) and bids[0][0] * asks[0][1] > asks[0][0] * bids[0][1]


def _rows(book, side: str):
    return [(lv.price.n, lv.price.d, lv.amount) for lv in (book.bids() if side == "bid" else book.asks())]


def test_a_book_refreshed_in_c_holds_the_levels_and_its_diff_is_the_change():
    """DexBook's refresh_book (the live ledger books' one C pass) against the definitions: the book
    ends holding the market's levels as read row by row (exact, or Horizon's grouping from the offer
    walk), the BookDiff is the dict diff from what the book held (None when nothing changed), and
    it declines (False, the book untouched) exactly when Horizon's grouping merges two of the levels
    it reads: then the caller walks the offers."""
    from stellar_ob import OrderBook

    rng = random.Random(11)
    declined = refreshed = crossed = 0
    for trial in range(600):
        dex = _random_dex(rng, collisions=trial % 3 == 0)
        while _crossed(dex) and trial % 10:  # mostly markets as a ledger leaves them: not crossed
            dex = _random_dex(rng, collisions=trial % 3 == 0)
        (base, counter), = dex.markets()
        b, c = (base, counter) if trial % 2 else (counter, base)
        view = dex.market(b, c)
        m, flipped = view._m, view._flipped
        horizon = rng.random() < 0.5
        depth = rng.choice((1, 2, 3, 5, 200, 2**62))
        book = OrderBook(b.to_asset(), c.to_asset())
        if rng.random() < 0.7:  # what the book held: another market's levels, or nothing
            other = _random_dex(rng, collisions=False)
            while _crossed(other):
                other = _random_dex(rng, collisions=False)
            before = other.market(b, c)
            book.apply_snapshot(before.levels("bid", 50), before.levels("ask", 50))
        old = {s: _rows(book, s) for s in ("bid", "ask")}
        exact = {s: dex._c.levels(m, flipped, 0 if s == "bid" else 1, min(depth, 2**61) + 1) for s in ("bid", "ask")}
        if horizon and any(_collides(exact[s], s) for s in ("bid", "ask")):
            assert dex._c.refresh_book(book, m, flipped, depth, horizon) is False, trial
            assert {s: _rows(book, s) for s in ("bid", "ask")} == old  # untouched
            declined += 1
            continue
        if _crossed(dex):  # a snapshot's offers may cross (a ledger's never do): refused, book as it was
            with pytest.raises(CrossedBookError):
                dex._c.refresh_book(book, m, flipped, depth, horizon)
            assert {s: _rows(book, s) for s in ("bid", "ask")} == old
            crossed += 1
            continue
        got = dex._c.refresh_book(book, m, flipped, depth, horizon)
        refreshed += 1
        for s in ("bid", "ask"):
            want = _reference_levels(view, s, depth) if horizon else exact[s][:depth]
            assert _rows(book, s) == want, (trial, s)
        if got is None:
            assert all(_rows(book, s) == old[s] for s in ("bid", "ask")), trial
        else:
            assert got.bids == _dict_diff("bid", old["bid"], _rows(book, "bid")), trial
            assert got.asks == _dict_diff("ask", old["ask"], _rows(book, "ask")), trial
            assert got.bids or got.asks
        # the same levels again: nothing changed
        assert dex._c.refresh_book(book, m, flipped, depth, horizon) is None
    assert declined > 5 and refreshed > 300 and crossed > 20, (declined, refreshed, crossed)


def test_a_ledger_book_falls_back_to_rows_where_c_declines_and_ends_the_same():
    """LedgerBook._sync_book: where refresh_book declines (a Horizon group of two exact levels) or
    cannot serve (a pure-Python OrderBook), the rows and one merge make the same book and diff."""
    from types import SimpleNamespace

    from stellar_ob.book._pure import OrderBook as PureOrderBook
    from stellar_ob.ledger.follow import LedgerBook

    rng = random.Random(5)
    fallbacks = 0
    for trial in range(200):
        dex = _random_dex(rng, collisions=True)
        while _crossed(dex):
            dex = _random_dex(rng, collisions=True)
        (base, counter), = dex.markets()
        b, c = ((base, counter) if trial % 2 else (counter, base))
        depth = rng.choice((1, 2, 3, 200, None))
        grouping = "horizon" if trial % 4 else "exact"
        live = LedgerBook(SimpleNamespace(dex=dex), b.to_asset(), c.to_asset(), depth, grouping)
        if trial % 3 == 0:
            live.book = PureOrderBook(b.to_asset(), c.to_asset())
        view = dex.market(b, c)
        limit = (200 if grouping == "horizon" else 2**62) if depth is None else depth
        exact = {s: dex._c.levels(view._m, view._flipped, 0 if s == "bid" else 1, min(limit, 2**61) + 1)
                 for s in ("bid", "ask")}
        if trial % 3 == 0 or (grouping == "horizon" and any(_collides(exact[s], s) for s in exact)):
            fallbacks += 1
        diff = live._sync_book()
        for s in ("bid", "ask"):
            want = _reference_levels(view, s, limit) if grouping == "horizon" else exact[s][:limit]
            assert _rows(live.book, s) == want, (trial, s)
            assert [(ch.price, ch.old_amount, ch.new_amount) for ch in (diff.bids if s == "bid" else diff.asks)] \
                == [(ch.price, ch.old_amount, ch.new_amount) for ch in _dict_diff(s, [], want)], (trial, s)
        assert live._sync_book() is None  # read again: nothing changed
    assert fallbacks > 60, fallbacks
