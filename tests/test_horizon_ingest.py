"""Horizon ingest: the C scanner (stellar_ob.horizon._horizon, OrderBook.apply_horizon, OfferBook) and its
twin (stellar_ob.horizon._pure) against an independent json + fractions reference, and against
each other on random, noisy, truncated and mutated documents.

Where the two implementations legitimately differ, the tests say so:

- ParseError.offset: the C scanner gives the byte where it stopped for every error; the twin gives
  a byte offset for JSON syntax and UTF-8 errors only, and ``None`` for errors in well-formed JSON
  (a bad value, a missing field). Offsets are therefore compared only for being in range.
- Messages differ in wording (the twin's come from the json module for syntax errors).
- A number or amount *string* whose escapes decode to more than 128 bytes is refused by the C
  scanner (its decode buffer) and read by the twin; Horizon never sends one, and no mutation
  below can build one.
"""

from __future__ import annotations

import base64
import json
import os
import random
import re
import struct
from datetime import datetime
from fractions import Fraction
from pathlib import Path
from typing import Any, Callable, Dict, List, Optional, Tuple

import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

from stellar_ob import Asset, horizon

from stellar_ob.horizon import _pure as _horizon_pure

from stellar_ob.offers import _pure as _offers_pure

from stellar_ob.book import _pure
from stellar_ob.errors import ParseError, StellarOBError

from conftest import FIXTURES, USDC, load_c

INT32_MAX = 2**31 - 1
INT64_MAX = 2**63 - 1
UINT64_MAX = 2**64 - 1
ISSUER = USDC.split(":")[1]
# More examples for a longer hunt: STELLAR_OB_HYPOTHESIS_EXAMPLES=2000 pytest tests/test_horizon_ingest.py
HYP = settings(deadline=None, max_examples=int(os.environ.get("STELLAR_OB_HYPOTHESIS_EXAMPLES", "150")),
               suppress_health_check=[HealthCheck.too_slow])


@pytest.fixture(params=["c", "py"])
def hz(request):
    """The module providing parse_order_book, parse_offers, ... for one implementation."""
    return load_c("horizon") if request.param == "c" else _horizon_pure


@pytest.fixture(params=["c", "py"])
def offers_impl(request):
    return load_c("offers") if request.param == "c" else _offers_pure


def both_horizon():
    return [("c", load_c("horizon")), ("py", _horizon_pure)]


def both_core():
    return [("c", load_c("book")), ("py", _pure)]


# ---------------------------------------------------------------------------------------------
# The independent reference: json + fractions, nothing from stellar_ob's parsers


def ref_stroops(text: str) -> int:
    assert isinstance(text, str) and re.fullmatch(r"[0-9]+(\.[0-9]{1,7})?", text), text
    v = Fraction(text) * 10_000_000
    assert v.denominator == 1
    return int(v)


def ref_asset(obj: Dict[str, Any], prefix: str = "") -> Asset:
    kind = obj[prefix + "asset_type"]
    if kind == "native":
        return Asset.native()
    code, issuer = obj[prefix + "asset_code"], obj[prefix + "asset_issuer"]
    assert (len(code) <= 4) == (kind == "credit_alphanum4")
    return Asset(code, issuer)


def ref_reserve_asset(text: str) -> Asset:
    if text == "native":
        return Asset.native()
    code, issuer = text.split(":")
    return Asset(code, issuer)


def ref_levels(levels: List[Dict[str, Any]]) -> List[Tuple[int, int, int]]:
    return [(int(lv["price_r"]["n"]), int(lv["price_r"]["d"]), ref_stroops(lv["amount"])) for lv in levels]


def ref_book_side(levels: List[Tuple[int, int, int]], bids: bool) -> List[Tuple[Fraction, int]]:
    """What a book holds for one side: amounts summed per exact price, zeros dropped, best first."""
    total: Dict[Fraction, int] = {}
    for n, d, a in levels:
        total[Fraction(n, d)] = total.get(Fraction(n, d), 0) + a
    return sorted(((f, a) for f, a in total.items() if a), reverse=bids)


def ref_time(text: str) -> int:
    """Unix seconds of an RFC 3339 time; sub-seconds dropped, a leap second counted as :59 + 1."""
    text = re.sub(r"\.[0-9]+", "", text).replace("z", "Z").replace("Z", "+00:00")
    leap = text[17:19] == "60"
    if leap:
        text = text[:17] + "59" + text[19:]
    return int(datetime.fromisoformat(text).timestamp()) + leap


def ref_offer(r: Dict[str, Any]) -> Tuple:
    return (int(r["id"]), r["seller"], ref_asset(r["selling"]), ref_asset(r["buying"]), ref_stroops(r["amount"]),
            int(r["price_r"]["n"]), int(r["price_r"]["d"]), int(r.get("last_modified_ledger", 0)))


def ref_trade(r: Dict[str, Any]) -> Tuple:
    def opt_int(k):
        return int(r[k]) if r.get(k) not in (None, "", "0", 0) else None

    return (r["id"], r["paging_token"], ref_time(r["ledger_close_time"]), r.get("trade_type", "orderbook"),
            r.get("liquidity_pool_fee_bp"), opt_int("base_offer_id"), r.get("base_account"),
            r.get("base_liquidity_pool_id"), ref_asset(r, "base_"), ref_stroops(r["base_amount"]),
            opt_int("counter_offer_id"), r.get("counter_account"), r.get("counter_liquidity_pool_id"),
            ref_asset(r, "counter_"), ref_stroops(r["counter_amount"]), r["base_is_seller"],
            (int(r["price"]["n"]), int(r["price"]["d"])))


def ref_pool(r: Dict[str, Any]) -> Tuple:
    return (r["id"], r["fee_bp"], ref_stroops(r["total_shares"]), int(r["total_trustlines"]),
            tuple((ref_reserve_asset(x["asset"]), ref_stroops(x["amount"])) for x in r["reserves"]))


def records(doc: Dict[str, Any]) -> List[Dict[str, Any]]:
    return doc["_embedded"]["records"] if "_embedded" in doc else [doc]


def as_offer_tuple(o) -> Tuple:
    return (o.id, o.seller, o.selling, o.buying, o.amount, o.price.n, o.price.d, o.last_modified_ledger)


def as_trade_tuple(t) -> Tuple:
    return (t.id, t.paging_token, t.ledger_close_time, t.trade_type, t.liquidity_pool_fee_bp, t.base_offer_id,
            t.base_account, t.base_liquidity_pool_id, t.base_asset, t.base_amount, t.counter_offer_id,
            t.counter_account, t.counter_liquidity_pool_id, t.counter_asset, t.counter_amount, t.base_is_seller,
            t.price)


def as_pool_tuple(p) -> Tuple:
    return (p.id, p.fee_bp, p.total_shares, p.total_trustlines, p.reserves)


def sides(book) -> Tuple[List, List]:
    return ([(Fraction(lv.price.n, lv.price.d), lv.amount) for lv in book.bids()],
            [(Fraction(lv.price.n, lv.price.d), lv.amount) for lv in book.asks()])


# ---------------------------------------------------------------------------------------------
# Every Horizon document in the shared fixtures vs the reference

def fixture_documents(*kinds: str) -> List[Any]:
    """(name, kind, body) of every Horizon document in the fixtures folder (of the given kinds):
    *.json bodies and the data: payloads of *.sse streams. *.jsonl files are stellar-etl rows,
    not Horizon documents."""
    out = []
    for path in sorted(FIXTURES.iterdir()):
        if path.suffix == ".json":
            body = path.read_bytes()
        elif path.suffix == ".sse":
            lines = path.read_text().splitlines()
            body = "\n".join(ln[5:].lstrip(" ") if ln.startswith("data:") else "" for ln in lines
                             if ln.startswith("data:")).encode()
        else:
            continue
        kind = classify(json.loads(body))
        if not kinds or kind in kinds:
            out.append(pytest.param(path.name, kind, body, id=path.name))
    return out


def classify(doc: Dict[str, Any]) -> str:
    rec = records(doc)[0] if records(doc) else {}
    if "bids" in doc:
        return "order_book"
    if "seller" in rec and "price_r" in rec:
        return "offers"
    if "base_is_seller" in rec:
        return "trades"
    if "reserves" in rec:
        return "liquidity_pools"
    raise AssertionError(f"unclassified Horizon fixture: {sorted(doc)}")


@pytest.mark.parametrize("name,kind,body", fixture_documents())
def test_fixture_matches_reference(name, kind, body, hz):
    doc = json.loads(body)
    if kind == "order_book":
        got = hz.parse_order_book(body)
        assert got.base == ref_asset(doc["base"]) and got.counter == ref_asset(doc["counter"])
        assert [(lv.price.n, lv.price.d, lv.amount) for lv in got.bids] == ref_levels(doc["bids"])
        assert [(lv.price.n, lv.price.d, lv.amount) for lv in got.asks] == ref_levels(doc["asks"])
    elif kind == "offers":
        assert [as_offer_tuple(o) for o in hz.parse_offers(body)] == [ref_offer(r) for r in records(doc)]
        table = hz.parse_offers_table(body)
        assert [(int(r["id"]), r["seller"].decode(), table.assets[r["selling"]], table.assets[r["buying"]],
                 int(r["amount"]), int(r["n"]), int(r["d"]), int(r["last_modified_ledger"]))
                for r in table.array] == [ref_offer(r) for r in records(doc)]
    elif kind == "trades":
        assert [as_trade_tuple(t) for t in hz.parse_trades(body)] == [ref_trade(r) for r in records(doc)]
    else:
        assert [as_pool_tuple(p) for p in hz.parse_liquidity_pools(body)] == [ref_pool(r) for r in records(doc)]


@pytest.mark.parametrize("name,kind,body", fixture_documents("order_book"))
def test_fixture_books_match_reference(name, kind, body, impl):
    doc = json.loads(body)
    book = impl.OrderBook.from_horizon(body)
    book.check()
    assert sides(book) == (ref_book_side(ref_levels(doc["bids"]), True),
                           ref_book_side(ref_levels(doc["asks"]), False))
    # the same bytes as str and memoryview
    assert impl.OrderBook.from_horizon(body.decode()) == book
    assert not book.apply_horizon(memoryview(body))


@pytest.mark.parametrize("name,kind,body", fixture_documents("offers"))
def test_fixture_offer_pages_load_into_offerbooks(name, kind, body, offers_impl):
    doc = json.loads(body)
    rec = records(doc)[0]
    book = offers_impl.OfferBook(ref_asset(rec["selling"]), ref_asset(rec["buying"]))
    assert book.load_horizon_offers(body) == len(records(doc))
    o = book.get(int(rec["id"]))
    assert (o.side, o.n, o.d, o.amount, o.seller) == (
        "ask", rec["price_r"]["n"], rec["price_r"]["d"], ref_stroops(rec["amount"]), rec["seller"])


def test_real_mainnet_prices_that_print_alike_stay_apart(fixtures_dir, hz):
    doc = hz.parse_order_book((fixtures_dir / "go_ticker_docs_orderbook_xlm_btc_mainnet.json").read_bytes())
    prices = {(lv.price.n, lv.price.d) for lv in doc.bids}
    assert {(223, 10000000), (16469, 739692077)} <= prices  # both print "0.0000223"


def test_unreduced_price_r_is_kept_as_sent(fixtures_dir, hz):
    doc = hz.parse_order_book((fixtures_dir / "go_horizonclient_orderbook_xlm_btc_2x2.json").read_bytes())
    assert (doc.asks[1].price.n, doc.asks[1].price.d) == (10178, 394234000)


# ---------------------------------------------------------------------------------------------
# Documents built here: StrKeys, the Horizon serialisation and a noisy one


def crc16_xmodem(data: bytes) -> int:
    crc = 0
    for byte in data:
        crc ^= byte << 8
        for _ in range(8):
            crc = ((crc << 1) ^ 0x1021) & 0xFFFF if crc & 0x8000 else (crc << 1) & 0xFFFF
    return crc


def account_id(seed: int) -> str:
    payload = bytes([6 << 3]) + random.Random(seed).randbytes(32)
    return base64.b32encode(payload + struct.pack("<H", crc16_xmodem(payload))).decode()


ACCOUNTS = [account_id(i) for i in range(8)]
KNOWN_KEYS = {"bids", "asks", "base", "counter", "price_r", "price", "amount", "n", "d", "asset_type",
              "asset_code", "asset_issuer", "_embedded", "records", "id", "seller", "selling", "buying",
              "last_modified_ledger", "paging_token", "ledger_close_time", "trade_type",
              "liquidity_pool_fee_bp", "base_offer_id", "counter_offer_id", "base_account", "counter_account",
              "base_liquidity_pool_id", "counter_liquidity_pool_id", "base_amount", "counter_amount",
              "base_asset_type", "base_asset_code", "base_asset_issuer", "counter_asset_type",
              "counter_asset_code", "counter_asset_issuer", "base_is_seller", "fee_bp", "total_trustlines",
              "total_shares", "reserves", "asset"}
EXTRA_KEYS = ["_links", "sponsor", "last_modified_time", "x", "paging", "n\u00e9", "\U0001f600", "type", "N", "D"]
EXTRA_VALUES = [None, True, False, -7, 0, 1.5e3, -0.25, "text with \"quotes\" and \\ slash",
                [1, {"a": []}, "b"], {"href": "https://horizon.stellar.org/offers/1"}, {}, [], "\u00e9\u20ac"]


def amount_text(stroops: int, style: int = 0) -> str:
    whole, frac = divmod(stroops, 10_000_000)
    if style == 0:
        return f"{whole}.{frac:07d}"  # Horizon's way
    f = f"{frac:07d}".rstrip("0")
    text = f"{whole}.{f}" if f else (f"{whole}" if style == 1 else f"{whole}.0")
    return ("00" + text) if style == 3 else text


def price_text(n: int, d: int) -> str:
    q = (2 * n * 10_000_000 + d) // (2 * d)
    return f"{q // 10_000_000}.{q % 10_000_000:07d}"


def asset_json(a: Asset) -> Dict[str, Any]:
    return a.to_horizon_json()


def horizon_book(base: Asset, counter: Asset, bids, asks) -> Dict[str, Any]:
    def lv(n, d, a):
        return {"price_r": {"n": n, "d": d}, "price": price_text(n, d), "amount": amount_text(a)}

    return {"bids": [lv(*x) for x in bids], "asks": [lv(*x) for x in asks],
            "base": asset_json(base), "counter": asset_json(counter)}


def horizon_bytes(doc: Any) -> bytes:
    """As Horizon sends it: Go's encoding/json with two-space indentation."""
    return json.dumps(doc, indent=2).encode()


class Noisy:
    """Writes a JSON value with random whitespace, key order, \\u escapes, extra unknown fields
    (repeated unknown keys included) and alternative spellings of amounts: every variation a real
    Horizon (or a proxy in front of it) may produce, all of which must parse the same."""

    WS = ["", " ", "  ", "\n", "\n    ", "\t", "\r\n", " \n\t "]

    def __init__(self, rnd: random.Random) -> None:
        self.r = rnd

    def ws(self) -> str:
        return self.r.choice(self.WS)

    def string(self, s: str) -> str:
        out = []
        for ch in s:
            x = self.r.random()
            if x < 0.1:
                out.append(f"\\u{ord(ch):04x}" if ord(ch) < 0x10000 else json.dumps(ch)[1:-1])
            elif x < 0.12 and ch == "/":
                out.append("\\/")
            else:
                out.append(json.dumps(ch, ensure_ascii=False)[1:-1])
        return '"' + "".join(out) + '"'

    def value(self, v: Any, key: Optional[str] = None) -> str:
        if isinstance(v, dict):
            pairs = list(v.items())
            self.r.shuffle(pairs)
            for _ in range(self.r.choice([0, 0, 1, 2])):
                k = self.r.choice(EXTRA_KEYS)
                pairs.insert(self.r.randrange(len(pairs) + 1), (k, self.r.choice(EXTRA_VALUES)))
            if not pairs:
                return "{" + self.ws() + "}"
            body = ("," + self.ws()).join(
                self.ws() + self.string(k) + self.ws() + ":" + self.ws() + self.value(x, k) for k, x in pairs)
            return "{" + body + self.ws() + "}"
        if isinstance(v, list):
            if not v:
                return "[" + self.ws() + "]"
            return "[" + ",".join(self.ws() + self.value(x) + self.ws() for x in v) + "]"
        if isinstance(v, str):
            return self.string(v)
        return json.dumps(v)

    def document(self, doc: Any) -> bytes:
        return (self.ws() + self.value(doc) + self.ws()).encode()


def noisy_book(base, counter, bids, asks, rnd: random.Random) -> Any:
    """The book as a dict whose amounts use alternative spellings and whose ``price`` strings
    are random (price_r wins) or absent."""
    def lv(n, d, a):
        out = {"price_r": {"n": n, "d": d}, "amount": amount_text(a, rnd.randrange(4))}
        x = rnd.random()
        if x < 0.6:
            out["price"] = price_text(n, d)
        elif x < 0.8:
            out["price"] = f"{rnd.randrange(10**6)}.{rnd.randrange(10**7):07d}"  # disagrees: ignored
        return out

    return {"bids": [lv(*x) for x in bids], "asks": [lv(*x) for x in asks],
            "base": asset_json(base), "counter": asset_json(counter)}


# strategies

codes = st.text(alphabet="ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789", min_size=1, max_size=12)
assets = st.one_of(st.just(Asset.native()),
                   st.builds(lambda c, i: Asset(c, ACCOUNTS[i]), codes, st.integers(0, len(ACCOUNTS) - 1)))
seeds = st.integers(0, 2**32 - 1).map(random.Random)  # replayable: Hypothesis prints the seed
amounts = st.one_of(st.integers(1, 10**15), st.integers(INT64_MAX - 5, UINT64_MAX), st.integers(1, UINT64_MAX))


@st.composite
def books(draw, max_levels: int = 6):
    base = draw(assets)
    counter = draw(assets.filter(lambda a: a != base))
    parts = st.integers(1, INT32_MAX)
    # bids below 1 and asks above 1 counter per base, so the book is never crossed
    bid = st.tuples(parts, parts).filter(lambda p: p[0] < p[1])
    ask = st.tuples(parts, parts).filter(lambda p: p[0] > p[1])

    def side(prices, bids):
        ps = draw(st.lists(prices, max_size=max_levels, unique_by=lambda p: Fraction(*p)))
        ps.sort(key=lambda p: Fraction(*p), reverse=bids)
        return [(n, d, draw(amounts)) for n, d in ps]

    return base, counter, side(bid, True), side(ask, False)


# ---------------------------------------------------------------------------------------------
# Round trips

@HYP
@given(books(), seeds, st.booleans())
def test_random_books_round_trip_exactly(book_spec, rnd, noisy):
    base, counter, bids, asks = book_spec
    if noisy:
        body = Noisy(rnd).document(noisy_book(base, counter, bids, asks, rnd))
    else:
        body = horizon_bytes(horizon_book(base, counter, bids, asks))
    for _, hz in both_horizon():
        doc = hz.parse_order_book(body)
        assert (doc.base, doc.counter) == (base, counter)
        assert [(lv.price.n, lv.price.d, lv.amount) for lv in doc.bids] == bids
        assert [(lv.price.n, lv.price.d, lv.amount) for lv in doc.asks] == asks
    diffs = []
    for _, impl in both_core():
        book = impl.OrderBook(base, counter)
        diffs.append(book.apply_horizon(body))
        book.check()
        assert sides(book) == (ref_book_side(bids, True), ref_book_side(asks, False))
        assert [(lv.price.n, lv.price.d) for lv in book.bids()] == [(n, d) for n, d, _ in bids]
    assert diffs[0] == diffs[1]


@HYP
@given(books(max_levels=4), books(max_levels=4), seeds)
def test_consecutive_documents_give_the_same_diff_on_both(first, second, rnd):
    base, counter = first[0], first[1]
    bodies = [Noisy(rnd).document(noisy_book(base, counter, s[2], s[3], rnd)) for s in (first, second)]
    results = []
    for _, impl in both_core():
        book = impl.OrderBook(base, counter)
        results.append([book.apply_horizon(b) for b in bodies] + [book.apply_horizon(bodies[0])])
        book.check()
    assert results[0] == results[1]


def test_accepts_what_horizon_may_send(hz, impl):
    long_code = Asset("ABCDEFGHIJKL", ACCOUNTS[1])  # 12 characters
    body = Noisy(random.Random(7)).document({
        "_links": {"self": {"href": "x"}},
        "bids": [],  # empty side
        "asks": [{"price_r": {"n": 30, "d": 15, "extra": 1}, "price": "99.0000000", "amount": "922337203685.4776807",
                  "sponsor": None}],
        "base": {"asset_type": "native", "note": "ignored"},
        "counter": long_code.to_horizon_json(),
        "x": [[[[{"deep": [1, 2.5e-3, None]}]]]],
    })
    doc = hz.parse_order_book(body)
    assert doc.bids == [] and doc.counter == long_code
    assert (doc.asks[0].price.n, doc.asks[0].price.d, doc.asks[0].amount) == (30, 15, 2**63 + 999)
    book = impl.OrderBook("native", long_code)
    book.apply_horizon(body)
    assert book.best_ask().amount == 2**63 + 999 and book.best_ask().price == Fraction(2)


# ---------------------------------------------------------------------------------------------
# Rejections: ParseError with a reason and a byte offset, book untouched

BOOK = horizon_book(Asset.native(), Asset.parse(USDC), [(1, 10, 50_000_000), (9, 100, 7)],
                    [(11, 100, 20_000_000), (3, 25, 5)])


def book_with(**change) -> bytes:
    doc = json.loads(json.dumps(BOOK))
    for path, value in change.items():
        *head, last = path.split("__")
        obj = doc
        for k in head:
            obj = obj[int(k)] if k.isdigit() else obj[k]
        if value is DELETE:
            del obj[int(last) if last.isdigit() else last]
        else:
            obj[int(last) if last.isdigit() else last] = value
    return json.dumps(doc).encode()


DELETE = object()
BODY = json.dumps(BOOK).encode()

BAD_BOOKS = {
    "truncated": BODY[:-1],
    "empty": b"",
    "only whitespace": b" \n ",
    "not an object": b"[]",
    "trailing junk": BODY + b" x",
    "two documents": BODY + BODY,
    "n is a string": book_with(asks__0__price_r__n="11"),
    "n is a float": BODY.replace(b'"n": 11,', b'"n": 11.0,'),
    "n is zero": book_with(asks__0__price_r__n=0),
    "n negative": book_with(asks__0__price_r__n=-11),
    "n above int32": book_with(asks__0__price_r__n=2**31),
    "d above int32": book_with(bids__1__price_r__d=2**40),
    "d missing": book_with(bids__1__price_r__d=DELETE),
    "price_r missing": book_with(bids__0__price_r=DELETE),
    "price_r not an object": book_with(bids__0__price_r=[1, 10]),
    "amount missing": book_with(asks__1__amount=DELETE),
    "amount a number": book_with(asks__1__amount=5),
    "amount negative": book_with(asks__1__amount="-1.0000000"),
    "amount 8 decimals": book_with(asks__1__amount="1.00000001"),
    "amount exponent": book_with(asks__1__amount="1e5"),
    "amount above uint64": book_with(asks__1__amount="1844674407370.9551616"),
    "price not a string": book_with(asks__1__price=0.12),
    "bids missing": book_with(bids=DELETE),
    "bids not an array": book_with(bids={}),
    "level not an object": book_with(asks__0="1.0"),
    "base missing": book_with(base=DELETE),
    "counter wrong type": book_with(counter__asset_type="credit_alphanum12"),
    "asset code too long": book_with(counter__asset_code="ABCDEFGHIJKLM", counter__asset_type="credit_alphanum12"),
    "bad issuer checksum": book_with(counter__asset_issuer=ISSUER[:-1] + ("A" if ISSUER[-1] != "A" else "B")),
    "native with issuer": book_with(base__asset_issuer=ISSUER),
    "duplicate bids": BODY.replace(b'{"bids": ', b'{"bids": [], "bids": ', 1),
    "duplicate amount": BODY.replace(b'"amount": "2.0000000"', b'"amount": "2.0000000", "amount": "1.0"', 1),
    "duplicate n": BODY.replace(b'"n": 11,', b'"n": 11, "n": 11,', 1),
    "duplicate asset_code": BODY.replace(b'"asset_code": "USDC"', b'"asset_code": "USDC", "asset_code": "USDC"'),
    "nesting too deep": BODY.replace(b'{"bids"', b'{"x": ' + b"[" * 64 + b"]" * 64 + b', "bids"', 1),
    "invalid UTF-8": BODY.replace(b'{"bids"', b'{"x": "\xff", "bids"', 1),
    "UTF-16 surrogate in UTF-8": BODY.replace(b'{"bids"', b'{"x": "\xed\xa0\x80", "bids"', 1),
    "lone surrogate in a key": BODY.replace(b'{"bids"', b'{"\\ud800": 1, "bids"', 1),
    "control character": BODY.replace(b'{"bids"', b'{"x": "\x01", "bids"', 1),
    "bad escape": BODY.replace(b'{"bids"', b'{"x": "\\q", "bids"', 1),
    "NaN": BODY.replace(b'{"bids"', b'{"x": NaN, "bids"', 1),
    "single quotes": BODY.replace(b'"price"', b"'price'", 1),
    "trailing comma": BODY.replace(b'}], "base"', b'},], "base"', 1),
    "leading zero": BODY.replace(b'"n": 11,', b'"n": 011,', 1),
}


@pytest.mark.parametrize("why", list(BAD_BOOKS))
def test_bad_order_books_raise_and_leave_the_book(why, impl, hz):
    body = BAD_BOOKS[why]
    book = impl.OrderBook.from_horizon(BODY)
    before = book.copy()
    with pytest.raises(ParseError) as info:
        book.apply_horizon(body)
    assert info.value.reason and (info.value.offset is None or 0 <= info.value.offset <= len(body))
    assert book == before
    book.check()
    with pytest.raises(ParseError):
        hz.parse_order_book(body)


def test_what_is_still_accepted_next_to_the_rejections(hz):
    # a repeated *unknown* key is harmless (nothing reads it); 64 levels of nesting are allowed
    ok = [BODY.replace(b'{"bids"', b'{"x": 1, "x": 2, "bids"', 1),
          BODY.replace(b'{"bids"', b'{"x": ' + b"[" * 63 + b"]" * 63 + b', "bids"', 1),
          BODY.replace(b'{"bids"', b'{"x": "\\ud800", "\\u00e9\xc3\xa9": "\xf0\x9f\x98\x80", "bids"', 1),
          BODY.replace(b'"USDC"', b'"\\u0055SDC"'),
          BODY.replace(b'"price_r"', b'"pric\\u0065_r"')]
    for body in ok:
        assert hz.parse_order_book(body) == hz.parse_order_book(BODY)


def test_offsets_point_at_the_problem():
    c = load_c("horizon")
    for body, needle in [(book_with(asks__1__amount="1.00000001"), b'"1.00000001"'),
                         (book_with(asks__0__price_r__n=2**31), str(2**31).encode()),
                         (BAD_BOOKS["invalid UTF-8"], b"\xff"),
                         (BAD_BOOKS["trailing junk"], b" x")]:
        with pytest.raises(ParseError) as info:
            c.parse_order_book(body)
        assert info.value.offset == body.index(needle) + (1 if needle == b" x" else 0), info.value
    with pytest.raises(ParseError, match="more than 7 decimals"):
        c.parse_order_book(book_with(asks__1__amount="1.00000001"))
    with pytest.raises(ParseError, match="unexpected end of input") as info:
        c.parse_order_book(BODY[:-3])
    assert info.value.offset == len(BODY) - 3


def test_crossed_and_foreign_documents_leave_the_book(impl):
    from stellar_ob.errors import AssetMismatchError, CrossedBookError

    book = impl.OrderBook.from_horizon(BODY)
    before = book.copy()
    with pytest.raises(CrossedBookError):
        book.apply_horizon(book_with(bids__0__price_r__n=12, bids__0__price_r__d=10))
    with pytest.raises(AssetMismatchError):
        book.apply_horizon(book_with(base=Asset("EUR", ACCOUNTS[0]).to_horizon_json()))
    assert book == before


def test_every_prefix_is_refused(impl):
    bodies = [BODY, horizon_bytes(BOOK), Noisy(random.Random(3)).document(BOOK).strip()]
    for body in bodies:
        book = impl.OrderBook.from_horizon(body)
        before = book.copy()
        for i in range(len(body)):
            with pytest.raises(ParseError):
                book.apply_horizon(body[:i])
        assert book == before
        book.check()


# ---------------------------------------------------------------------------------------------
# Mutations: C and twin agree on every input, and a refused input changes nothing

def mutate(body: bytes, rnd: random.Random) -> bytes:
    b = bytearray(body)
    for _ in range(rnd.choice([1, 1, 1, 2, 3])):
        i = rnd.randrange(len(b) + 1)
        op = rnd.randrange(8)
        if op == 0 and i < len(b):
            b[i] = rnd.randrange(256)
        elif op == 1 and i < len(b):
            b[i] = rnd.choice(b'{}[]":,0123456789.-eE \\tnfu\n')
        elif op == 2:
            b[i:i] = rnd.choice([b",", b'"', b"{", b"}", b"[", b"]", b"0", b"-", b" ", b"\\u0041", b"\xc3\xa9",
                                 b"\xff", b"null", b"1e5", b'"x": 1,', b"9" * 12])
        elif op == 3 and b:
            del b[i:i + rnd.randrange(1, 12)]
        elif op == 4 and b:
            j = min(len(b), i + rnd.randrange(1, 40))
            b[i:i] = b[i:j]  # repeat a piece (a repeated key, an extra level, ...)
        elif op == 5 and i < len(b) and chr(b[i]).isdigit():
            b[i] = rnd.choice(b"0123456789")
        elif op == 6:
            m = re.search(rb'"[a-z_]+"', bytes(b[i:]))
            if m:  # rename a key
                s = i + m.start() + 1
                b[s:s + 1] = bytes([rnd.choice(b"abcdnpx_")])
        elif i < len(b):
            b[i:i + 1] = b""
    return bytes(b)


def outcome(fn: Callable[[], Any]) -> Tuple[str, Any]:
    try:
        return "ok", fn()
    except StellarOBError as e:
        return type(e).__name__, None


@HYP
@given(books(max_levels=3), seeds)
def test_mutated_books_agree_and_refusals_change_nothing(book_spec, rnd):
    base, counter, bids, asks = book_spec
    valid = Noisy(rnd).document(noisy_book(base, counter, bids, asks, rnd)) if rnd.random() < 0.5 \
        else horizon_bytes(horizon_book(base, counter, bids, asks))
    for _ in range(20):
        body = mutate(valid, rnd)
        parsed = [outcome(lambda: hz.parse_order_book(body)) for _, hz in both_horizon()]
        assert parsed[0][0] == parsed[1][0], (body, parsed)
        assert parsed[0][1] == parsed[1][1]
        applied = []
        for _, impl in both_core():
            book = impl.OrderBook(base, counter)
            book.apply_horizon(valid)
            before = book.copy()
            res = outcome(lambda: book.apply_horizon(body))
            book.check()
            if res[0] != "ok":
                assert book == before
            applied.append((res, sides(book)))
        assert applied[0] == applied[1], body


# ---------------------------------------------------------------------------------------------
# /offers, /trades, /liquidity_pools: documents built here, their mutations, the OfferBook

def offer_record(i: int, rnd: random.Random, selling: Asset, buying: Asset) -> Dict[str, Any]:
    oid = 1000 + i * 7
    seller = ACCOUNTS[rnd.randrange(len(ACCOUNTS))]
    n, d = rnd.randint(1, INT32_MAX), rnd.randint(1, INT32_MAX)
    return {"_links": {"self": {"href": f"https://horizon.stellar.org/offers/{oid}"},
                       "offer_maker": {"href": f"https://horizon.stellar.org/accounts/{seller}"}},
            "id": str(oid) if rnd.random() < 0.8 else oid, "paging_token": str(oid), "seller": seller,
            "selling": selling.to_horizon_json(), "buying": buying.to_horizon_json(),
            "amount": amount_text(rnd.randint(0, INT64_MAX), rnd.randrange(4)),
            "price_r": {"n": n, "d": d}, "price": price_text(n, d),
            "last_modified_ledger": rnd.randint(0, 2**32 - 1), "last_modified_time": "2024-01-01T00:00:00Z"}


def offers_doc(rnd: random.Random, count: int, base: Asset, counter: Asset) -> Dict[str, Any]:
    recs = [offer_record(i, rnd, *((base, counter) if rnd.random() < 0.5 else (counter, base))) for i in range(count)]
    return {"_links": {"self": {"href": "https://horizon.stellar.org/offers?limit=200"}}, "_embedded": {"records": recs}}


def trade_record(i: int, rnd: random.Random) -> Dict[str, Any]:
    pool = rnd.random() < 0.3
    r = {"_links": {"self": {"href": ""}}, "id": f"{100 + i}-0", "paging_token": f"{100 + i}-0",
         "ledger_close_time": rnd.choice(["2019-03-28T10:45:28Z", "2024-02-29T23:59:60.123+01:30", "1970-01-01T00:00:00z"]),
         "trade_type": "liquidity_pool" if pool else "orderbook",
         "base_amount": amount_text(rnd.randint(0, INT64_MAX)), "counter_amount": amount_text(rnd.randint(0, INT64_MAX)),
         "base_asset_type": "native", "counter_asset_type": "credit_alphanum12", "counter_asset_code": "ABCDE",
         "counter_asset_issuer": ACCOUNTS[2], "base_is_seller": rnd.random() < 0.5,
         "price": {"n": str(rnd.randint(1, INT64_MAX)), "d": rnd.choice([str(rnd.randint(1, INT64_MAX)), 7])}}
    if pool:
        r["liquidity_pool_fee_bp"] = 30
        r["base_liquidity_pool_id"] = "ab" * 32
        r["counter_offer_id"] = str(rnd.randint(1, INT64_MAX))
        r["counter_account"] = ACCOUNTS[3]
    else:
        r["base_offer_id"] = str(rnd.randint(1, INT64_MAX))
        r["base_account"] = ACCOUNTS[4]
        r["counter_offer_id"] = rnd.randint(1, 10**6)
        r["counter_account"] = ACCOUNTS[5]
    return r


def pool_record(i: int, rnd: random.Random) -> Dict[str, Any]:
    return {"_links": {}, "id": f"{i:064x}", "paging_token": "x", "fee_bp": 30, "type": "constant_product",
            "total_trustlines": rnd.choice([str(rnd.randint(0, 10**6)), 12]),
            "total_shares": amount_text(rnd.randint(0, INT64_MAX)),
            "reserves": [{"asset": "native", "amount": amount_text(rnd.randint(0, INT64_MAX))},
                         {"amount": amount_text(rnd.randint(0, INT64_MAX)), "asset": f"ABCDEFGHIJKL:{ACCOUNTS[6]}"}]}


def page(recs: List[Dict[str, Any]]) -> Dict[str, Any]:
    return {"_links": {"next": {"href": "n"}}, "_embedded": {"records": recs}}


KINDS = {
    "offers": ("parse_offers", as_offer_tuple, ref_offer),
    "trades": ("parse_trades", as_trade_tuple, ref_trade),
    "liquidity_pools": ("parse_liquidity_pools", as_pool_tuple, ref_pool),
}


def record_doc(kind: str, rnd: random.Random) -> Dict[str, Any]:
    if kind == "offers":
        doc = offers_doc(rnd, rnd.randrange(0, 4), Asset.native(), Asset("ABCDEFGHIJKL", ACCOUNTS[0]))
        return doc if rnd.random() < 0.8 or not doc["_embedded"]["records"] else doc["_embedded"]["records"][0]
    make = trade_record if kind == "trades" else pool_record
    recs = [make(i, rnd) for i in range(rnd.randrange(0, 4))]
    return page(recs) if rnd.random() < 0.8 or not recs else recs[0]


@pytest.mark.parametrize("kind", list(KINDS))
@HYP
@given(rnd=seeds)
def test_random_records_match_reference_and_mutations_agree(kind, rnd):
    name, as_tuple, ref = KINDS[kind]
    doc = record_doc(kind, rnd)
    valid = Noisy(rnd).document(doc) if rnd.random() < 0.5 else horizon_bytes(doc)
    expected = [ref(r) for r in records(doc)]
    for _, hz in both_horizon():
        assert [as_tuple(x) for x in getattr(hz, name)(valid)] == expected
    for _ in range(15):
        body = mutate(valid, rnd)
        got = [outcome(lambda: [as_tuple(x) for x in getattr(hz, name)(body)]) for _, hz in both_horizon()]
        assert got[0] == got[1], body


@pytest.mark.parametrize("kind", list(KINDS))
def test_every_prefix_of_a_record_page_is_refused(kind):
    doc = record_doc(kind, random.Random(11))
    body = horizon_bytes(page(records(doc) or [record_doc(kind, random.Random(12))]))
    name = KINDS[kind][0]
    for _, hz in both_horizon():
        getattr(hz, name)(body)
        for i in range(0, len(body), 3):
            with pytest.raises(ParseError):
                getattr(hz, name)(body[:i])


BAD_RECORDS = {
    "offers": [("id", -1), ("id", "01"), ("id", str(2**63)), ("id", 1.5), ("seller", "GABC"), ("amount", "1.12345678"),
               ("amount", "922337203685.4775808"), ("price_r", {"n": 1}), ("price_r", {"n": "1", "d": 2}),
               ("last_modified_ledger", "5"), ("last_modified_ledger", 2**32), ("selling", "native"), ("price", 1)],
    "trades": [("id", ""), ("id", "x" * 48), ("ledger_close_time", "2019-02-29T00:00:00Z"),
               ("ledger_close_time", "2019-03-28 10:45:28Z"), ("trade_type", "amm"), ("base_is_seller", "true"),
               ("price", {"n": "0", "d": "1"}), ("price", {"n": "1", "d": str(2**63)}), ("base_amount", "-1"),
               ("base_asset_type", "credit_alphanum4"), ("counter_asset_code", "ABCD"), ("base_account", ISSUER.lower()),
               ("base_liquidity_pool_id", "AB"), ("liquidity_pool_fee_bp", "30")],
    "liquidity_pools": [("id", "abcdeg"), ("id", "a" * 65), ("fee_bp", "30"), ("fee_bp", -1), ("total_trustlines", -1),
                        ("total_shares", 5), ("reserves", []), ("reserves", [{"asset": "native", "amount": "1"}] * 3),
                        ("reserves", [{"asset": "XLM", "amount": "1"}, {"asset": "native", "amount": "1"}])],
}
MISSING = {"offers": ["id", "seller", "selling", "buying", "amount", "price_r"],
           "trades": ["id", "paging_token", "ledger_close_time", "base_amount", "counter_amount", "base_asset_type",
                      "counter_asset_type", "base_is_seller", "price"],
           "liquidity_pools": ["id", "fee_bp", "total_trustlines", "total_shares", "reserves"]}


@pytest.mark.parametrize("kind", list(KINDS))
def test_bad_records_are_refused(kind, hz):
    rnd = random.Random(5)
    base = {"offers": lambda: offer_record(0, rnd, Asset.native(), Asset.parse(USDC)),
            "trades": lambda: trade_record(0, rnd), "liquidity_pools": lambda: pool_record(0, rnd)}[kind]
    parse = getattr(hz, KINDS[kind][0])
    rec = base()
    assert parse(json.dumps(page([rec])))
    cases = [{**rec, k: v} for k, v in BAD_RECORDS[kind]]
    cases += [{k: v for k, v in rec.items() if k != missing} for missing in MISSING[kind]]
    cases += [page([rec]) | {"id": "1"}]  # a page with a record's own keys next to _embedded
    for bad in cases:
        for body in (json.dumps(bad), json.dumps(page([rec, bad]))):
            with pytest.raises(ParseError):
                parse(body)


def test_trade_times_and_optional_fields(hz):
    rnd = random.Random(1)
    rec = trade_record(0, rnd) | {"ledger_close_time": "2024-02-29T23:59:60.5-00:30", "trade_type": "liquidity_pool",
                                  "base_offer_id": "0"}
    rec.pop("base_account", None)
    t = hz.parse_trades(json.dumps(rec))[0]
    assert t.ledger_close_time == ref_time("2024-03-01T00:30:00Z")
    assert t.base_offer_id is None and t.base_account is None and t.trade_type == "liquidity_pool"
    assert t.price_fraction == Fraction(int(rec["price"]["n"]), int(rec["price"]["d"]))


@HYP
@given(rnd=seeds)
def test_offer_pages_load_alike_and_refusals_change_nothing(rnd):
    base, counter = Asset.native(), Asset("ABCDEFGHIJKL", ACCOUNTS[0])
    first = horizon_bytes(offers_doc(random.Random(1), 6, base, counter))
    valid = Noisy(rnd).document(offers_doc(rnd, rnd.randrange(1, 5), base, counter))
    for _ in range(10):
        body = mutate(valid, rnd)
        results = []
        for mod in (load_c("offers"), _offers_pure):
            book = mod.OfferBook(base, counter)
            book.load_horizon_offers(first)
            before = (book.offers("ask"), book.offers("bid"))
            res = outcome(lambda: book.load_horizon_offers(body))
            after = (book.offers("ask"), book.offers("bid"))
            if res[0] != "ok":
                assert after == before
            results.append((res, after))
        assert results[0] == results[1], body


def test_offerbook_applies_trade_documents(offers_impl):
    base, counter = Asset.native(), Asset.parse(USDC)
    book = offers_impl.OfferBook(base, counter)
    offers = [{"id": "11", "seller": ACCOUNTS[0], "selling": base.to_horizon_json(), "buying": counter.to_horizon_json(),
               "amount": "100.0000000", "price_r": {"n": 1, "d": 10}, "price": "0.1000000"},
              {"id": 12, "seller": ACCOUNTS[1], "selling": counter.to_horizon_json(), "buying": base.to_horizon_json(),
               "amount": "5.0000000", "price_r": {"n": 8, "d": 1}, "price": "8.0000000"}]
    assert book.load_horizon_offers(horizon_bytes(page(offers))) == 2
    assert book.load_horizon_offers(json.dumps(page(offers)).encode()) == 2  # re-paged: same book
    assert len(book) == 2 and book.get(11).side == "ask" and book.get(12).side == "bid"
    trade = {"id": "1-0", "paging_token": "1-0", "ledger_close_time": "2024-01-01T00:00:00Z",
             "base_offer_id": "11", "base_account": ACCOUNTS[0], "base_amount": "10.0000000", "base_asset_type": "native",
             "counter_offer_id": "4611686018427387905", "counter_amount": "1.0000000",
             "counter_asset_type": "credit_alphanum4", "counter_asset_code": "USDC", "counter_asset_issuer": ISSUER,
             "base_is_seller": True, "price": {"n": "1", "d": "10"}}
    other = trade | {"base_offer_id": "999"}
    pool = trade | {"trade_type": "liquidity_pool"}
    taker_rests = trade | {"base_is_seller": False, "counter_offer_id": "12", "counter_amount": "9.0000000"}
    assert book.apply_horizon_trades(horizon_bytes(page([trade, other, pool]))) == 1
    assert book.get(11).amount == 900_000_000
    assert book.apply_horizon_trades(json.dumps(taker_rests)) == 1  # sells more than it has: all of it
    assert 12 not in book
    with pytest.raises(ParseError):
        book.apply_horizon_trades(json.dumps(trade)[:-1])
    assert book.get(11).amount == 900_000_000


# ---------------------------------------------------------------------------------------------
# The public module

def test_public_module_takes_every_input_type():
    body = horizon_bytes(BOOK)
    expected = horizon.parse_order_book(body)
    for data in (bytearray(body), memoryview(body), body.decode()):
        assert horizon.parse_order_book(data) == expected
    with pytest.raises(ParseError):
        horizon.parse_order_book(12)
    with pytest.raises(ParseError):
        horizon.parse_order_book("{\ud800}")
    assert horizon.IMPLEMENTATION in ("c", "py")


def test_str_with_a_lone_surrogate_is_a_parse_error(hz, impl):
    """A str that cannot be UTF-8 (a lone surrogate outside any escape) is not a document."""
    body = BODY.decode().replace('{"bids"', '{"x": "\ud800", "bids"', 1)
    with pytest.raises(ParseError):
        hz.parse_order_book(body)
    assert hz.parse_order_book(BODY.decode().replace('{"bids"', '{"x": "\\ud800", "bids"', 1))
    with pytest.raises(ParseError):
        impl.OrderBook.from_horizon(body)


def test_offers_as_numpy_match_the_objects(hz):
    doc = offers_doc(random.Random(9), 50, Asset.native(), Asset.parse(USDC))
    body = horizon_bytes(doc)
    objs = hz.parse_offers(body)
    table = hz.parse_offers_table(body)
    assert len(table) == len(objs) == 50
    arr = table.array
    assert list(arr["id"]) == [o.id for o in objs] and list(arr["amount"]) == [o.amount for o in objs]
    assert [(int(n), int(d)) for n, d in zip(arr["n"], arr["d"])] == [(o.price.n, o.price.d) for o in objs]
    assert [table.assets[i] for i in arr["selling"]] == [o.selling for o in objs]
    assert [s.decode() for s in arr["seller"]] == [o.seller for o in objs]
    assert table.assets == (objs[0].selling, objs[0].buying)
    assert horizon.parse_offers(body, as_numpy=True) == table
    assert len(hz.parse_offers_table(json.dumps(page([])))) == 0


def test_single_liquidity_pool(fixtures_dir):
    body = (fixtures_dir / "go_horizonclient_liquidity_pool.json").read_bytes()
    pool = horizon.parse_liquidity_pool(body)
    assert pool.fee_bp == 30 and pool.reserves[0] == (Asset.parse("EURT:GAP5LETOV6YIE62YAM56STDANPRDO7ZFDBGSNHJQIYGGKSMOZAHOOS2S"), 10000000005)
    with pytest.raises(ParseError, match="expected one liquidity pool"):
        horizon.parse_liquidity_pool(json.dumps(page([])))


def test_records_are_frozen_and_picklable(hz):
    import dataclasses
    import pickle

    doc = hz.parse_offers(horizon_bytes(offers_doc(random.Random(2), 2, Asset.native(), Asset.parse(USDC))))
    with pytest.raises(dataclasses.FrozenInstanceError):
        doc[0].amount = 1
    assert pickle.loads(pickle.dumps(doc)) == doc
    assert type(doc[0]).__module__ == "stellar_ob.horizon"


def test_threads_parsing_at_once_get_their_own_results(hz):
    """The compiled module reuses one scratch vector per document kind; a call that finds it in
    use (another thread got the GIL while records were being built) must use its own."""
    import threading

    docs = [horizon_bytes(offers_doc(random.Random(i), 20 + i, Asset.native(), Asset(f"C{i}", ACCOUNTS[i])))
            for i in range(4)]
    expected = [hz.parse_offers(d) for d in docs]
    errors: List[str] = []

    def work(i: int) -> None:
        for _ in range(30):
            if hz.parse_offers(docs[i]) != expected[i]:
                errors.append(f"thread {i} got another page's offers")

    threads = [threading.Thread(target=work, args=(i,)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
