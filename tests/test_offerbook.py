"""The per-offer (L3) book: maintenance, core's order, Horizon grouping, Horizon records.
Each test runs on the compiled module ("c") and the pure-Python twin ("py")."""

from __future__ import annotations

import json
import os
import random

import pytest

import exchange_reference as ref
from stellar_ob.errors import (
    AmountOverflowError,
    AssetMismatchError,
    DuplicateOfferError,
    InvalidBookError,
    OfferNotFoundError,
    ParseError,
)

I64 = ref.I64
I32 = 2**31 - 1
BASE = "native"
COUNTER = "USDC:GA5ZSEJYB37JRC5AVCIA5MOP4RHTM335X2KGX3IHOJAPP5RE34K4KZVN"
FIXTURES = os.path.join(os.path.dirname(__file__), "data", "horizon")


@pytest.fixture(params=["c", "py"], ids=["c", "py"])
def impl(request):
    return ref.load_impl(request.param)


@pytest.fixture
def book(impl):
    return impl.OfferBook(BASE, COUNTER)


def test_add_get_remove(book):
    book.add_offer(5, "ask", 2, 1, 100, seller="GS")
    o = book.get(5)
    assert (o.offer_id, o.side, o.n, o.d, o.amount, o.seller) == (5, "ask", 2, 1, 100, "GS")
    assert len(book) == 1 and 5 in book
    book.remove_offer(5)
    assert len(book) == 0 and 5 not in book
    with pytest.raises(OfferNotFoundError):
        book.remove_offer(5)
    with pytest.raises(OfferNotFoundError):
        book.get(5)


def test_bad_offers_rejected(book):
    book.add_offer(1, "bid", 1, 1, 1)
    with pytest.raises(DuplicateOfferError):
        book.add_offer(1, "ask", 1, 1, 1)
    for args in [(2, "mid", 1, 1, 1), (2, "ask", 0, 1, 1), (2, "ask", 1, I32 + 1, 1), (2, "ask", 1, 1, 0), (-1, "ask", 1, 1, 1)]:
        with pytest.raises(InvalidBookError):
            book.add_offer(*args)
    with pytest.raises(AmountOverflowError):
        book.add_offer(2, "ask", 1, 1, I64 + 1)
    assert len(book) == 1


def test_core_order_double_then_id(book):
    # 30/15 and 2/1 are the same double: lower id first; 1/3 vs 3333333/10000001 differ
    book.add_offer(9, "ask", 30, 15, 1)
    book.add_offer(4, "ask", 2, 1, 1)
    book.add_offer(7, "ask", 3333333, 10000001, 1)
    book.add_offer(8, "ask", 1, 3, 1)
    assert [o.offer_id for o in book.offers("ask")] == [7, 8, 4, 9]
    assert book.best_offer("ask").offer_id == 7
    assert book.best_offer("bid") is None
    assert [o.offer_id for o in book.offers("ask", 2)] == [7, 8]


def test_update_offer_and_apply_fill(book):
    book.add_offer(1, "ask", 1, 2, 100)
    book.add_offer(2, "ask", 1, 1, 100)
    book.update_offer(2, 50, 1, 4)
    assert [o.offer_id for o in book.offers("ask")] == [2, 1] and book.get(2).amount == 50
    book.update_offer(2, 70)
    assert book.get(2).amount == 70 and (book.get(2).n, book.get(2).d) == (1, 4)
    assert book.apply_fill(1, 40) == 60
    assert book.apply_fill(1, 60) == 0 and 1 not in book
    book.update_offer(2, 0)
    assert len(book) == 0
    with pytest.raises(OfferNotFoundError):
        book.apply_fill(2, 1)


def test_levels_grouped_like_horizon(book):
    book.add_offer(1, "ask", 30, 15, 5)
    book.add_offer(2, "ask", 2, 1, I64)
    book.add_offer(3, "ask", 3, 1, 7)
    book.add_offer(4, "bid", 1, 2, 10)  # sells counter at 1/2 base per counter: bid price 2/1
    book.add_offer(5, "bid", 2, 4, 11)
    book.add_offer(6, "bid", 1, 1, 12)
    # a level's sum may exceed int64, as Horizon's does ("922337203685.4776807")
    assert book.levels("ask") == [(2, 1, 5 + I64), (3, 1, 7)]
    assert book.levels("ask", 1) == [(2, 1, 5 + I64)]
    assert book.levels("bid") == [(2, 1, 21), (1, 1, 12)]
    ob = book.to_order_book()
    assert ob["asks"][0] == {"price_r": {"n": 2, "d": 1}, "price": "2.0000000", "amount": "922337203685.4775812"}
    assert ob["bids"][1] == {"price_r": {"n": 1, "d": 1}, "price": "1.0000000", "amount": "0.0000012"}


def test_a_repaged_offer_keeps_or_changes_exactly_what_the_page_says(impl):
    # a resync pages the same offers again: a record whose id, side and price are known but whose
    # seller changed must move the offer to the new seller (the C path compares sellers as bytes)
    with open(os.path.join(FIXTURES, "go_horizonclient_account_offers_page.json")) as fh:
        page = json.load(fh)
    rec = page["_embedded"]["records"][0]
    other = "GA5ZSEJYB37JRC5AVCIA5MOP4RHTM335X2KGX3IHOJAPP5RE34K4KZVN"
    assert rec["seller"] != other
    b = impl.OfferBook(rec["selling"], rec["buying"])
    oid = int(rec["id"])

    def load(**changes) -> None:
        r = dict(rec, **changes)
        assert b.load_horizon_offers(json.dumps({"_embedded": {"records": [r]}}).encode()) == 1

    load()
    first = b.get(oid)
    load(amount="1.0000000")  # the same seller and price: only the amount
    assert (b.get(oid).amount, b.get(oid).seller) == (10_000_000, rec["seller"])
    load(amount="1.0000000", seller=other)  # another seller: the offer is theirs now
    assert (b.get(oid).amount, b.get(oid).seller, b.get(oid).n) == (10_000_000, other, first.n)
    load(amount="1.0000000", seller=other)  # and stays so when paged again unchanged
    assert b.get(oid).seller == other and len(b) == 1
    b._check()  # the seller map follows the sellers with offers: the first one is forgotten
    load(seller=other, amount="0.0000000")  # amount 0: gone
    assert len(b) == 0
    with pytest.raises(OfferNotFoundError):
        b.get(oid)


def test_load_horizon_offers_and_trades(impl):
    with open(os.path.join(FIXTURES, "go_horizonclient_account_offers_page.json")) as fh:
        page = json.load(fh)
    rec = page["_embedded"]["records"][0]
    b = impl.OfferBook(rec["selling"], rec["buying"])
    assert b.load_horizon_offers(page) == 1
    o = b.get(int(rec["id"]))
    assert o.side == "ask" and (o.n, o.d) == (rec["price_r"]["n"], rec["price_r"]["d"])
    assert o.seller == rec["seller"]
    # the same page as raw JSON bytes, to a book of the inverse market: a bid
    b2 = impl.OfferBook(rec["buying"], rec["selling"])
    assert b2.load_horizon_offers(json.dumps(page).encode()) == 1
    assert b2.get(int(rec["id"])).side == "bid"
    with pytest.raises(AssetMismatchError):
        impl.OfferBook(BASE, COUNTER).load_horizon_offers(page)
    amount = o.amount
    # a /trades record as Horizon sends it, given as a dict: decoded by the same strict parser as
    # the bytes (records have one decoder)
    trade = {
        "id": "1-0", "paging_token": "1-0", "ledger_close_time": "2024-01-01T00:00:00Z",
        "base_offer_id": rec["id"], "base_account": rec["seller"],
        "counter_offer_id": "4611686018427387905",
        "base_is_seller": True,
        "base_amount": "0.0000010", "counter_amount": "0.0000005",
        "base_asset_type": "native", "counter_asset_type": "native",
        "price": {"n": "1", "d": "2"},
    }
    assert b.apply_horizon_trades([trade]) == 1
    assert b.get(int(rec["id"])).amount == amount - 10
    assert b.apply_horizon_trades({"_embedded": {"records": [trade]}}) == 1  # a page dict: the same
    assert b.get(int(rec["id"])).amount == amount - 20
    # a record without what Horizon always sends is refused, with the book as it was
    partial = {k: trade[k] for k in ("base_offer_id", "base_is_seller", "base_amount", "counter_amount")}
    with pytest.raises(ParseError):
        b.apply_horizon_trades([partial])
    with pytest.raises(ParseError):
        b.apply_horizon_trades([dict(trade, base_amount=0.000001)])  # an amount is a string
    with pytest.raises(ParseError):
        b.load_horizon_offers(object())
    assert b.get(int(rec["id"])).amount == amount - 20


def test_random_sequence_matches_twin_and_invariants(impl):
    py = ref.load_impl("py")
    for seed in range(3):
        rng = random.Random(seed)
        a, b = impl.OfferBook(BASE, COUNTER), py.OfferBook(BASE, COUNTER)
        live = []
        for step in range(600):
            op = rng.random()
            if op < 0.55 or not live:
                oid = rng.randrange(10**6)
                if oid in live:
                    continue
                n, d = rng.choice([(1, 1), (2, 2), (rng.randint(1, 50), rng.randint(1, 50)), (rng.randint(1, I32), rng.randint(1, I32))])
                side = rng.choice(["bid", "ask"])
                amt = rng.randint(1, 10**9)
                for x in (a, b):
                    x.add_offer(oid, side, n, d, amt)
                live.append(oid)
            elif op < 0.8:
                oid = live.pop(rng.randrange(len(live)))
                for x in (a, b):
                    x.remove_offer(oid)
            elif op < 0.9:
                oid = rng.choice(live)
                amt = rng.randint(1, 10**9)
                new_n = rng.randint(1, 9)
                for x in (a, b):
                    x.update_offer(oid, amt, new_n, 7) if step % 2 else x.update_offer(oid, amt)
            else:
                kind = rng.choice(["sell", "buy", "strict_send", "strict_receive"])
                amt = rng.randint(1, 10**10)
                sells = rng.choice(["base", "counter"])
                ea = a.simulate(kind, amt, taker_sells=sells, apply=True)
                eb = b.simulate(kind, amt, taker_sells=sells, apply=True)
                assert ea == eb, (seed, step)
                live = [o for o in live if o in b]
            if step % 50 == 0:
                a._check()
                b._check()
                for s in ("bid", "ask"):
                    assert a.offers(s) == b.offers(s), (seed, step)
                    assert a.levels(s) == b.levels(s)
        assert a.to_order_book() == b.to_order_book()
