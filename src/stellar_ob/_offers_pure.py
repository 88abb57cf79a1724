"""Exact execution against a per-offer (L3) book and liquidity pools: the pure-Python twin.

Same API and results as the compiled ``stellar_ob._offers``; this one is the readable reference.
Everything mirrors stellar-core (src/transactions/OfferExchange.cpp, ManageOfferOpFrameBase.cpp,
PathPayment*OpFrame.cpp, src/ledger/LedgerTxnOfferSQL.cpp); the comments say where.

Units. A book has a ``base`` and a ``counter`` asset. Offers keep the ledger's view: an "ask"
sells base for counter, a "bid" sells counter for base; an offer's price n/d is its own price
(units of what it buys per unit of what it sells, Horizon /offers ``price_r``) and its amount is
in what it sells. In a crossing, *wheat* is what the resting offer sells and *sheep* what the
taker pays with: a taker selling base (``taker_sells="base"``) crosses the bids (wheat = counter,
sheep = base); a taker selling counter crosses the asks (wheat = base, sheep = counter).

Amounts are ints in stroops; prices ints; no float ever touches an amount. The only float is the
book order key ``float(n) / float(d)``, because that is how core orders offers.
"""

from __future__ import annotations

from typing import Any, Dict, Iterable, List, Optional, Tuple

from sortedcontainers import SortedList

from .errors import CrossSelfError, DuplicateOfferError, InvalidBookError, OfferNotFoundError
from ._amounts import account_arg, count_arg, exact_int, offer_id_arg
from .execution import MAINNET_PROTOCOL, MIN_PROTOCOL, Execution, Fill, HopQuote, Offer, PathResult, Result

__all__ = [
    "OfferBook",
    "LiquidityPool",
    "quote_hop",
    "exchange_v10",
    "adjust_offer",
    "pool_strict_send",
    "pool_strict_receive",
    "NORMAL",
    "STRICT_SEND",
    "STRICT_RECEIVE",
    "MAX_OFFERS_TO_CROSS",
    "simulate_path",
    "MAINNET_PROTOCOL",
]

from ._offers_common import (  # noqa: F401  (shared with the compiled module; re-exported for the tests)
    _KINDS, _SIDE_NAMES, _SIDES, INT32_MAX, INT64_MAX, MAX_OFFERS_TO_CROSS, NORMAL, STRICT_RECEIVE,
    STRICT_SEND, LiquidityPool, _amount, _int, _kind, _offer_rows, _parse_asset, _price_of,
    _price_part, _record_int, _records, _reduce, _reserve, _side, _stroops, _taker_side,
    _trade_fills, adjust_offer, exchange_v10, pool_strict_receive, pool_strict_send,
)
from . import _args, _offers_common




class OfferBook:
    """A per-offer (L3) book of one market, ordered exactly as stellar-core orders it.

    Each side is sorted by ``float(n)/float(d)`` of the offers' own prices, ties by lower offer
    id (core LedgerTxnOfferSQL.cpp isBetterOffer), so the first offer of a side is the one core
    crosses first. add/remove/update are O(log n); ``simulate`` is O(offers crossed).

    One book is not safe for concurrent mutation from two threads (lock around it if you share
    it); even then no other book can change.

    >>> b = OfferBook("native", "USDC:GA5ZSEJYB37JRC5AVCIA5MOP4RHTM335X2KGX3IHOJAPP5RE34K4KZVN")
    >>> b.add_offer(1, "ask", 1, 10, 1_000_0000000)   # sells 1000 XLM at 0.1 USDC each
    >>> b.simulate("buy", 10_0000000, taker_sells="counter").sent   # buy 10 XLM
    10000000
    """

    __slots__ = ("base", "counter", "_offers", "_sides")

    def __init__(self, base: Any, counter: Any) -> None:
        self.base, self.counter = _args.book_assets(base, counter)
        # offer_id -> [side, n, d, amount, seller, key]
        self._offers: Dict[int, list] = {}
        # per side: SortedList of (float(n)/float(d), offer_id)
        self._sides = (SortedList(), SortedList())

    @classmethod
    def _empty(cls) -> "OfferBook":
        """A book of no market with no offers (quote_hop's stand-in for ``book=None``)."""
        book = cls.__new__(cls)
        book.base = book.counter = None
        book._offers, book._sides = {}, (SortedList(), SortedList())
        return book

    # -- maintenance ---------------------------------------------------------------------------

    def add_offer(self, offer_id: int, side: str, n: int, d: int, amount: int, seller: Optional[str] = None) -> None:
        """Add one offer: its own price n/d (Horizon ``price_r``) and amount in what it sells. O(log n).
        ``offer_id`` is an int64 >= 0 (TypeError for what is not an integer), ``seller`` an
        account id (str) or None."""
        oid = offer_id_arg(offer_id)
        s = _side(side)
        n = _price_part(n, "n")
        d = _price_part(d, "d")
        a = _amount(amount)
        seller = account_arg(seller, "seller")
        if oid in self._offers:
            raise DuplicateOfferError(f"offer {oid} is already in the book")
        key = float(n) / float(d)  # order key: core compares double(n)/double(d)
        self._offers[oid] = [s, n, d, a, seller, key]
        self._sides[s].add((key, oid))

    def remove_offer(self, offer_id: int) -> None:
        """Remove one offer. O(log n). OfferNotFoundError if absent."""
        oid = offer_id_arg(offer_id)
        rec = self._offers.pop(oid, None)
        if rec is None:
            raise OfferNotFoundError(f"offer {oid} is not in the book")
        self._sides[rec[0]].remove((rec[5], oid))

    def update_offer(self, offer_id: int, amount: int, n: Optional[int] = None, d: Optional[int] = None) -> None:
        """Set an offer's amount (0 removes it) and, with both n and d, its price. O(log n)."""
        oid = offer_id_arg(offer_id)
        a = _int(amount, "amount")
        if a != 0:
            a = _amount(a)
        if (n is None) != (d is None):
            raise InvalidBookError("give both n and d to change an offer's price")
        if n is not None:
            n = _price_part(n, "n")
            d = _price_part(d, "d")
        rec = self._offers.get(oid)
        if rec is None:
            raise OfferNotFoundError(f"offer {oid} is not in the book")
        if a == 0:
            self.remove_offer(oid)
            return
        offer_id = oid
        if n is not None:
            key = float(n) / float(d)  # order key
            if key != rec[5]:
                side = self._sides[rec[0]]
                side.remove((rec[5], offer_id))
                side.add((key, offer_id))
            rec[1], rec[2], rec[5] = n, d, key
        rec[3] = a

    def apply_fill(self, offer_id: int, amount_sold: int) -> int:
        """A trade took ``amount_sold`` (in what the offer sells) from an offer.

        The remainder is re-run through core's adjustOffer (as crossOfferV10 does after a partial
        fill), so it may shrink; an offer left with 0 is removed. Returns the new amount.
        """
        oid = offer_id_arg(offer_id)
        sold = _amount(amount_sold, "amount_sold")
        rec = self._offers.get(oid)
        if rec is None:
            raise OfferNotFoundError(f"offer {oid} is not in the book")
        if sold > rec[3]:
            raise InvalidBookError(f"offer {oid} has {rec[3]}, cannot sell {sold}")
        left = adjust_offer(rec[1], rec[2], rec[3] - sold) if sold < rec[3] else 0
        if left == 0:
            self.remove_offer(oid)
        else:
            rec[3] = left
        return left

    def clear(self) -> None:
        """Remove every offer; the assets stay. O(n)."""
        self._offers.clear()
        for s in self._sides:
            s.clear()

    def load_horizon_offers(self, page: Any) -> int:
        """Add or replace offers from Horizon /offers records (JSON bytes/str, a page dict, a list).

        Records selling base for counter become asks, counter for base bids; records of another
        market raise AssetMismatchError before anything changes. Returns the number loaded.
        """
        return _offers_common.load_horizon_offers(self, page)

    def apply_horizon_trades(self, records: Any) -> int:
        """Apply Horizon /trades records: each takes its amount from the resting (seller) offer.

        In a trade record the base party sold ``base_amount`` and the counter party
        ``counter_amount``; ``base_is_seller`` says which of them was the resting offer (horizon
        trades_processor.go). Trades of offers not in this book (or with pools) are skipped.
        Returns the number of fills applied.
        """
        applied = 0
        for oid, sold in _trade_fills(records):
            rec = self._offers.get(oid)
            if rec is None or sold == 0:
                continue
            self.apply_fill(oid, min(sold, rec[3]))
            applied += 1
        return applied

    # -- reading -------------------------------------------------------------------------------

    def __len__(self) -> int:
        return len(self._offers)

    def __contains__(self, offer_id: object) -> bool:
        """Whether an offer with that id is in the book. The id must be an int64 >= 0, as for
        every other method (``7.2 in book`` is a TypeError)."""
        return offer_id_arg(offer_id) in self._offers

    def _offer(self, oid: int) -> Offer:
        s, n, d, a, seller, _ = self._offers[oid]
        return Offer(oid, _SIDE_NAMES[s], n, d, a, seller)

    def get(self, offer_id: int) -> Offer:
        """The offer with that id. O(1). OfferNotFoundError if absent."""
        oid = offer_id_arg(offer_id)
        if oid not in self._offers:
            raise OfferNotFoundError(f"offer {oid} is not in the book")
        return self._offer(oid)

    def offers(self, side: str, depth: Optional[int] = None) -> List[Offer]:
        """The first ``depth`` offers of a side (all if None), in core's crossing order. O(depth)."""
        s = self._sides[_side(side)]
        it = s if depth is None else s.islice(0, count_arg(depth, "depth"))
        return [self._offer(oid) for _, oid in it]

    def best_offer(self, side: str) -> Optional[Offer]:
        """The offer core would cross first on that side, or None. O(1)."""
        s = self._sides[_side(side)]
        try:
            oid = s[0][1]
        except IndexError:
            return None
        return self._offer(oid)

    def levels(self, side: str, depth: Optional[int] = None) -> List[Tuple[int, int, int]]:
        """Aggregated (L2) levels as Horizon's /order_book shows them: ``(n, d, amount)``, best first.

        Offers are grouped by the float64 of their own n/d (horizon orderbook.go: GROUP BY the
        double ``price`` column); a level reports the n/d of its first offer (lowest id), reduced,
        inverted for bids so both sides quote counter per base. Amounts: base for asks, counter
        for bids (Horizon's units); a level's sum may exceed int64, as in Horizon.
        """
        si = _side(side)
        if depth is not None:
            depth = count_arg(depth, "depth")
        out: List[Tuple[int, int, int]] = []
        last_key = None
        for key, oid in self._sides[si]:
            rec = self._offers[oid]
            if key == last_key:
                n, d, a = out[-1]
                out[-1] = (n, d, a + rec[3])
                continue
            if depth is not None and len(out) >= depth:
                break
            last_key = key
            n, d = _reduce(rec[1], rec[2])
            if si == 0:
                n, d = d, n
            out.append((n, d, rec[3]))
        return out

    def to_order_book(self, limit: int = 200) -> Dict[str, Any]:
        """The body Horizon's GET /order_book would return for this book (``limit`` levels a side).

        Prices and amounts as Horizon prints them (7 decimals); base/counter as stored.
        """
        return _offers_common.to_order_book(self, limit)

    def _check(self) -> None:
        """Assert every invariant (O(n)): the sides hold exactly the offers, in core's order."""
        total = 0
        for rec in self._offers.values():
            if not (rec[4] is None or type(rec[4]) is str):
                raise AssertionError("OfferBook invariant broken: rec[4] is None or type(rec[4]) is str")
        for si, s in enumerate(self._sides):
            prev = None
            for key, oid in s:
                rec = self._offers[oid]
                if not (rec[0] == si and rec[5] == key == float(rec[1]) / float(rec[2])):
                    raise AssertionError("OfferBook invariant broken: rec[0] == si and rec[5] == key == float(rec[1]) / float(rec[2])")
                if not (0 < rec[3] <= INT64_MAX and 0 < rec[1] <= INT32_MAX and 0 < rec[2] <= INT32_MAX):
                    raise AssertionError("OfferBook invariant broken: 0 < rec[3] <= INT64_MAX and 0 < rec[1] <= INT32_MAX and 0 < rec[2] <= INT32_MAX")
                if not (prev is None or prev < (key, oid)):
                    raise AssertionError("OfferBook invariant broken: prev is None or prev < (key, oid)")
                prev = (key, oid)
            total += len(s)
        if not (total == len(self._offers)):
            raise AssertionError("OfferBook invariant broken: total == len(self._offers)")

    def _seller_count(self) -> int:
        """Distinct sellers with offers in the book (the compiled book counts the handles it keeps)."""
        return len({rec[4] for rec in self._offers.values() if rec[4] is not None})

    # -- execution -----------------------------------------------------------------------------

    def _walk(
        self,
        side: int,
        rounding: int,
        max_sheep_send: int,
        max_wheat_receive: int,
        limit: Optional[Tuple[int, int]],
        passive: bool,
        taker: Any,
        max_offers: int,
    ) -> Tuple[List[Tuple[int, int, int, int]], int, int, str]:
        """core convertWithOffers over one side, without changing the book.

        ``limit`` is maxWheatPrice (n, d): stop at an offer priced above it (at or above when
        passive). Returns (fills, sheep sent, wheat received, result).
        """
        fills: List[Tuple[int, int, int, int]] = []
        sent = received = 0
        need_more = max_wheat_receive > 0 and max_sheep_send > 0
        if not need_more:
            return fills, 0, 0, "filled"
        if max_offers <= 0:
            return fills, 0, 0, "too_many_offers"
        offers = self._offers
        for _, oid in self._sides[side]:
            _, n, d, amount, seller, _ = offers[oid]
            if limit is not None:
                # exact: offer.price > maxWheatPrice  <=>  n * lim_d > lim_n * d
                lhs, rhs = n * limit[1], limit[0] * d
                if lhs > rhs or (passive and lhs == rhs):
                    return fills, sent, received, "price_limit"
            if taker is not None and seller is not None and seller == taker:
                return fills, sent, received, "cross_self"
            if len(fills) >= max_offers:
                return fills, sent, received, "too_many_offers"
            # crossOfferV10: the (normally no-op) adjustOffer first, with the maker's receive
            # headroom unknown to Horizon taken as unlimited
            amount = adjust_offer(n, d, amount)
            wheat, sheep, wheat_stays = exchange_v10(
                n, d, amount, max_wheat_receive, max_sheep_send, INT64_MAX, rounding
            )
            remaining = adjust_offer(n, d, amount - wheat) if wheat_stays else 0
            fills.append((oid, wheat, sheep, remaining))
            sent += sheep
            max_sheep_send -= sheep
            received += wheat
            max_wheat_receive -= wheat
            if wheat_stays or max_wheat_receive <= 0 or max_sheep_send <= 0:
                return fills, sent, received, "filled"
        return fills, sent, received, "no_offers"

    def _apply_fills(self, fills: Iterable[Tuple[int, int, int, int]]) -> None:
        fills = list(fills)
        for oid, _, _, remaining in fills:  # all checked first, as the compiled book does
            rec = self._offers.get(oid)
            if rec is None:
                raise OfferNotFoundError(f"offer {oid} is not in the book")
            if not 0 <= remaining <= rec[3]:
                raise InvalidBookError(f"fill leaves offer {oid} with {remaining} of {rec[3]}")
        for oid, _, _, remaining in fills:
            if remaining == 0:
                self.remove_offer(oid)
            else:
                self._offers[oid][3] = remaining

    def simulate(
        self,
        kind: str,
        amount: int,
        *,
        taker_sells: str = "base",
        price_limit: Any = None,
        passive: bool = False,
        taker: Any = None,
        max_send: Optional[int] = None,
        apply: bool = False,
        max_offers: int = MAX_OFFERS_TO_CROSS,
        protocol: int = MAINNET_PROTOCOL,
    ) -> Execution:
        """What one taker operation would execute against this book, exactly as core does.

        - ``kind``: "sell" (manage_sell_offer; ``amount`` = what the taker sells), "buy"
          (manage_buy_offer; ``amount`` = what it buys), "strict_send" (``amount`` = what it
          sends), "strict_receive" (``amount`` = what it receives). NORMAL rounding with the 1%
          price-error bound for sell/buy; STRICT_SEND / STRICT_RECEIVE for the path kinds.
        - ``taker_sells``: "base" crosses the bids (the taker pays base, gets counter); "counter"
          crosses the asks (pays counter, gets base).
        - ``price_limit``: sell/buy only, the price the operation carries (``.n``/``.d`` or a
          tuple): for "sell" units of what the taker buys per unit it sells; for "buy" units of
          what it sells per unit it buys (manage_buy_offer's price). Compared exactly. None =
          no limit (and nothing rests in the book afterwards).
        - ``passive``: stop at offers priced equal to the limit too (create_passive_sell_offer).
        - ``taker``: the taker's account; crossing one of its offers raises CrossSelfError.
        - ``max_send``: the taker's balance of what it sells: caps sell/buy; a strict_receive
          needing more ends with stop_reason "send_max", a strict_send of more "underfunded".
        - ``apply``: change the book as the operation would (not when it would fail: path
          payments that are not complete, or too many offers crossed).

        Resting offers are assumed fully funded and able to receive. At most ``max_offers``
        (core: 1000) offers are crossed. O(offers crossed).
        """
        # Every argument becomes a plain value first (the compiled book: same order, same errors);
        # after this no method of the caller's objects runs until the book has changed.
        kind, rounding = _kind(kind)
        amt = _amount(amount)
        side = _taker_side(taker_sells)
        cap = INT64_MAX if max_send is None else _amount(max_send, "max_send")
        passive = bool(passive)
        limit = None
        if rounding != NORMAL:
            if price_limit is not None or passive:
                raise InvalidBookError("path payments carry no price limit (use max_send / the result)")
        elif price_limit is not None:
            pn, pd = _price_of(price_limit)
            # maxWheatPrice = Price(mPrice.d, mPrice.n); manage_buy_offer's mPrice is the inverse
            limit = (pd, pn) if kind == "sell" else (pn, pd)
        taker = account_arg(taker, "taker")
        max_offers = count_arg(max_offers, "max_offers")
        apply = bool(apply)
        _protocol(protocol)  # checked as the compiled book checks it; the twin computes no result code
        if kind == "sell":
            max_sheep, max_wheat = min(amt, cap), INT64_MAX
        elif kind == "buy":
            max_sheep, max_wheat = cap, amt
        elif kind == "strict_send":
            if amt > cap:
                return Execution((), 0, 0, False, "underfunded", 0)
            max_sheep, max_wheat = amt, INT64_MAX
        else:
            max_sheep, max_wheat = INT64_MAX, amt

        fills, sent, received, result = self._walk(
            side, rounding, max_sheep, max_wheat, limit, passive, taker, max_offers
        )
        if result == "cross_self":
            raise CrossSelfError(f"the taker {taker!r} would cross its own offer {self._next_id(side, len(fills))}")

        stop = result
        taker_offer = 0
        if rounding == NORMAL:
            complete = result == "filled"
            if result in ("price_limit", "no_offers") and limit is not None:
                # ManageOfferOpFrameBase: the taker's remainder rests, after adjustOffer
                if kind == "sell":
                    own_n, own_d = limit[1], limit[0]
                    taker_offer = adjust_offer(own_n, own_d, min(amt, cap) - sent, INT64_MAX)
                else:
                    own_n, own_d = limit[1], limit[0]
                    taker_offer = adjust_offer(own_n, own_d, cap - sent if max_send is not None else INT64_MAX, amt - received)
            ok = result != "too_many_offers"
        else:
            complete = result == "filled" and (received == amt if rounding == STRICT_RECEIVE else sent == amt)
            if complete and rounding == STRICT_RECEIVE and sent > cap:
                complete, stop = False, "send_max"
            ok = complete
        if apply and ok:
            self._apply_fills(fills)
        return Execution(tuple(Fill(*f) for f in fills), sent, received, complete, stop, taker_offer)

    def _next_id(self, side: int, index: int) -> Any:
        s = self._sides[side]
        return s[index][1] if index < len(s) else None


def quote_hop(
    book: Optional[OfferBook],
    pool: Optional[LiquidityPool],
    kind: str,
    amount: int,
    *,
    taker_sells: str = "base",
    taker: Any = None,
    max_send: Optional[int] = None,
    max_offers: int = MAX_OFFERS_TO_CROSS,
    apply: bool = False,
    protocol: int = MAINNET_PROTOCOL,
) -> HopQuote:
    """One path-payment hop routed as core routes it (convertWithOffersAndPools).

    Core quotes the pool, then walks the whole book; it takes the book only if the book
    converts completely (``eOK``) and its price is strictly better
    (pool.sent * book.received > pool.received * book.sent), else the whole hop goes to the
    pool. Never split. ``kind`` is "strict_send" or "strict_receive"; the pool's ``a`` is the
    book's base. With ``apply`` the chosen venue is changed.
    """
    kind, rounding = _kind(kind)
    if rounding not in (STRICT_SEND, STRICT_RECEIVE):
        raise InvalidBookError("quote_hop is for path payments: kind must be 'strict_send' or 'strict_receive'")
    amt = _amount(amount)
    side = _taker_side(taker_sells)
    cap = INT64_MAX if max_send is None else _amount(max_send, "max_send")
    taker = account_arg(taker, "taker")
    max_offers = count_arg(max_offers, "max_offers")
    apply = bool(apply)
    proto = _protocol(protocol)
    if book is not None and not isinstance(book, OfferBook):
        raise TypeError(f"book must be an OfferBook of this module or None, got {type(book).__name__}")
    if rounding == STRICT_SEND and amt > cap:
        return HopQuote(None, 0, 0, "underfunded", None, None, Result.UNDERFUNDED,
                        "PATH_PAYMENT_STRICT_SEND_UNDERFUNDED")
    prefix = "PATH_PAYMENT_STRICT_SEND_" if rounding == STRICT_SEND else "PATH_PAYMENT_STRICT_RECEIVE_"

    pq = None
    if pool is not None and max_offers > 0:
        pq = pool.strict_send(amt, taker_sells=taker_sells) if rounding == STRICT_SEND else pool.strict_receive(
            amt, taker_sells=taker_sells
        )
        if pq is not None:  # read as exact ints now: nothing of the pool's runs after the walk
            pq_sent, pq_received = exact_int(pq.sent, "pool quote sent"), exact_int(pq.received, "pool quote received")
    if book is None:
        book = OfferBook._empty()  # the hop goes to the pool or nowhere
    if rounding == STRICT_SEND:
        max_sheep, max_wheat = amt, INT64_MAX
    else:
        max_sheep, max_wheat = INT64_MAX, amt
    fills, sent, received, result = book._walk(side, rounding, max_sheep, max_wheat, None, False, taker, max_offers)
    ex = Execution(tuple(Fill(*f) for f in fills), sent, received, result == "filled", result, 0)

    use_book = pq is None or (result == "filled" and pq_sent * received > pq_received * sent)
    if use_book:
        venue: Optional[str] = "book" if result == "filled" else None
        stop, s, r = result, sent, received
        # PathPaymentOpFrameBase::convert: a book walk that ended eOK without transferring the whole
        # amount (the taker's int64 budget ran out, or the last offer stayed) is TOO_FEW_OFFERS
        if venue == "book" and (sent != amt if rounding == STRICT_SEND else received != amt):
            venue, stop = None, "too_few_offers"
    elif len(fills) >= max_offers and proto >= 27:
        # convertWithOffersAndPools from protocol 27: the offers the book walk crossed still count
        venue, stop, s, r = None, "too_many_offers", 0, 0
    else:
        venue, stop, s, r = "pool", "filled", pq_sent, pq_received
    if venue is not None and rounding == STRICT_RECEIVE and s > cap:
        venue, stop = None, "send_max"
    code = {"filled": "SUCCESS", "too_few_offers": "TOO_FEW_OFFERS", "no_offers": "TOO_FEW_OFFERS",
            "too_many_offers": "opEXCEEDED_WORK_LIMIT", "cross_self": "OFFER_CROSS_SELF",
            "send_max": "OVER_SENDMAX"}.get(stop if venue is None else "filled", "TOO_FEW_OFFERS")
    code = code if code.startswith("op") else prefix + code
    res = Result.from_code(code)
    if apply and venue == "book":
        book._apply_fills(fills)
    elif apply and venue == "pool":
        pool.apply(pq, taker_sells=taker_sells)
    return HopQuote(venue, s, r, stop, ex, pq, res, code)


def _protocol(value: Any) -> int:
    v = _int(value, "protocol")
    if v < MIN_PROTOCOL or v > 0xFFFFFFFF:
        raise InvalidBookError(f"protocol must be an int from {MIN_PROTOCOL}, got {v}")
    return v


def simulate_path(kind: str, amount: int, path: Any, books: Any = (), pools: Any = None, *,
                  send_max: Optional[int] = None, dest_min: Optional[int] = None, taker: Any = None,
                  max_offers: int = MAX_OFFERS_TO_CROSS, protocol: int = MAINNET_PROTOCOL) -> PathResult:
    """Path payments are computed by the compiled core only (csrc/dex.h): the twin has no
    reference of them yet. NotImplementedError, always."""
    raise NotImplementedError("simulate_path needs the compiled core (the pure twin does not model path payments yet)")
