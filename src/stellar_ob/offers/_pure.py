"""Exact execution against a per-offer (L3) book and liquidity pools: the pure-Python twin.

Same API and results as the compiled ``stellar_ob.offers._offers``; this one is the readable reference.
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

from ..errors import (
    AmountOverflowError, CoreWouldThrowError, CrossSelfError, DuplicateOfferError, InvalidBookError,
    OfferNotFoundError,
)
from ..amounts import account_arg, count_arg, exact_int, offer_id_arg
from .execution import (
    MAINNET_PROTOCOL, MIN_PROTOCOL, Execution, Fill, Funds, HopQuote, Offer, PathHop, PathResult, PoolQuote, Result,
)

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

from ._common import (  # noqa: F401  (shared with the compiled module; re-exported for the tests)
    _KINDS, _SIDE_NAMES, _SIDES, INT32_MAX, INT64_MAX, MAX_OFFERS_TO_CROSS, NORMAL, STRICT_RECEIVE,
    STRICT_SEND, LiquidityPool, _amount, _int, _kind, _offer_rows, _parse_asset, _price_of,
    _price_part, _reduce, _reserve, _side, _taker_side,
    _trade_fills, adjust_offer, exchange_v10, pool_strict_receive, pool_strict_send,
)
from .. import _args
from . import _common as _offers_common
from .execution import _FILL




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

    __slots__ = ("base", "counter", "_offers", "_sides", "_funds")

    def __init__(self, base: Any, counter: Any) -> None:
        self.base, self.counter = _args.book_assets(base, counter)
        # offer_id -> [side, n, d, amount, seller, key]
        self._offers: Dict[int, list] = {}
        # per side: SortedList of (float(n)/float(d), offer_id)
        self._sides = (SortedList(), SortedList())
        self._funds: Optional[_Funds] = None  # set_account's funds (None: every seller fully funded)

    @classmethod
    def _empty(cls) -> "OfferBook":
        """A book of no market with no offers (quote_hop's stand-in for ``book=None``)."""
        book = cls.__new__(cls)
        book.base = book.counter = None
        book._offers, book._sides = {}, (SortedList(), SortedList())
        book._funds = None
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

    # -- sellers' funds ---------------------------------------------------------------------------

    def set_account(self, seller: Any, base: Any, counter: Any, *, native: Any = None, subentries: int = 0) -> None:
        """Tell the book what ``seller`` holds: its :class:`~stellar_ob.Funds` of the base and of
        the counter asset (a Funds, a tuple of its fields, or an int balance). Crossing then
        adjusts each of the seller's offers exactly as core does (canSellAtMost: balance minus
        selling liabilities, and for the native asset minus the reserve; canBuyAtMost: limit
        minus balance minus buying liabilities), and a taker with funds set is checked as core
        checks it (UNDERFUNDED, LINE_FULL, LOW_RESERVE). Sellers never set stay fully funded
        with unlimited headroom. ``native``: the account's XLM when neither asset is native
        (default: INT64_MAX stroops, no liabilities); ``subentries``: its numSubEntries (the
        reserve). A seller that is the issuer of an asset is unlimited in it, as in core.
        """
        who = account_arg(seller, "seller")
        if who is None:
            raise InvalidBookError("set_account needs the seller's account id")
        fb, fc, fn = _funds_arg(base), _funds_arg(counter), _funds_arg(native)
        if fb is None or fc is None:
            raise InvalidBookError("set_account needs the seller's funds of both assets")
        nsub = _int(subentries, "subentries")
        if nsub < 0 or nsub > 0xFFFFFFFF:
            raise InvalidBookError(f"subentries must be a uint32, got {nsub}")
        tb, tc = _trustline_of(fb, "base"), _trustline_of(fc, "counter")
        if self.base.issuer is None:
            acct = (tb[0], tb[2], tb[3], nsub)
        elif self.counter.issuer is None:
            acct = (tc[0], tc[2], tc[3], nsub)
        elif fn is not None:
            acct = (_funds_int(fn.balance, "native balance"), _funds_int(fn.buying_liabilities, "native buying_liabilities"),
                    _funds_int(fn.selling_liabilities, "native selling_liabilities"), nsub)
        else:
            acct = (INT64_MAX, 0, 0, nsub)
        if self._funds is None:
            self._funds = _Funds()
        f = self._funds
        for asset in (self.base, self.counter):
            if asset.issuer is not None:
                f.issuers[asset] = asset.issuer
        f.accounts[who] = acct
        if self.base.issuer is not None:
            f.lines[(who, self.base)] = tb
        if self.counter.issuer is not None:
            f.lines[(who, self.counter)] = tc

    def remove_account(self, seller: Any) -> None:
        """Forget what :meth:`set_account` told about ``seller`` (it is fully funded again)."""
        who = account_arg(seller, "seller")
        f = self._funds
        if who is None or f is None:
            return
        f.accounts.pop(who, None)
        f.lines.pop((who, self.base), None)
        f.lines.pop((who, self.counter), None)

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
        - ``passive``: stop at offers priced equal to the limit too (create_passive_sell_offer):
          "sell" with a ``price_limit`` only (core has no passive buy); InvalidBookError else.
        - ``taker``: the taker's account; crossing one of its offers raises CrossSelfError.
        - ``max_send``: the taker's balance of what it sells: caps sell/buy; a strict_receive
          needing more ends with stop_reason "send_max", a strict_send of more "underfunded".
        - ``apply``: change the book as the operation would, only when the network would answer
          SUCCESS.
        - ``protocol``: the ledger protocol whose rules apply (default MAINNET_PROTOCOL).

        ``result`` / ``result_code`` say what the network would answer: the whole operation
        (ManageSellOffer / ManageBuyOffer / CreatePassiveSellOffer for sell/buy, a one-hop path
        payment for strict_send/strict_receive) is computed in one walk, with the sellers' funds
        given to :meth:`set_account` (other sellers are fully funded and able to receive). With
        ``max_send``, sell/buy model the taker's balance of what it sells as exactly that: core
        checks the new offer's liabilities first (UNDERFUNDED / LINE_FULL, nothing crossed; the
        fills shown are then what a walk within the same limits would give). At most
        ``max_offers`` (core: 1000) offers are crossed. O(offers crossed). CoreWouldThrowError
        where core throws (only books built by hand get there).
        """
        # Every argument becomes a plain value first (the compiled book: same order, same errors);
        # after this no method of the caller's objects runs until the book has changed.
        kind, rounding = _kind(kind)
        amt = _amount(amount)
        side = _taker_side(taker_sells)
        cap = INT64_MAX if max_send is None else _amount(max_send, "max_send")
        passive = bool(passive)
        pn = pd = 0
        has_limit = False
        if rounding != NORMAL:
            if price_limit is not None or passive:
                raise InvalidBookError("path payments carry no price limit (use max_send / the result)")
        elif price_limit is not None:
            pn, pd = _price_of(price_limit)
            has_limit = True
        if passive and (kind != "sell" or not has_limit):
            raise InvalidBookError("passive is a CreatePassiveSellOffer: kind 'sell' with a price_limit")
        taker = account_arg(taker, "taker")
        max_offers = count_arg(max_offers, "max_offers")
        apply = bool(apply)
        proto = _protocol(protocol)
        if kind == "strict_send" and amt > cap:
            return Execution((), 0, 0, False, "underfunded", 0, Result.UNDERFUNDED,
                             "PATH_PAYMENT_STRICT_SEND_UNDERFUNDED")
        selling, buying = (self.base, self.counter) if side == 0 else (self.counter, self.base)
        dx = _Dex(proto, max_offers, [self._funds] if self._funds is not None else [])
        if rounding == NORMAL:
            if has_limit:
                on, od = pn, pd
            elif kind == "sell":
                on, od = 1, INT32_MAX  # no limit: every offer is cheap enough
            elif max_send is None:
                on, od = INT32_MAX, 1  # a buy's price is what it pays per unit bought
            else:
                # a buy with a budget and no limit: the careful taker's price, the worst offer a
                # walk within the budget reaches (UNDERFUNDED is checked against amount x price)
                fills, _, _, _ = self._walk(side, NORMAL, cap, amt, None, False, None, max_offers)
                on, od = (self._offers[fills[-1][0]][1], self._offers[fills[-1][0]][2]) if fills else (1, 1)
            source = taker
            if max_send is not None:
                source = taker if taker is not None else _SYNTH_TAKER
                _model_taker(dx, source, selling, buying, cap)
            prefix = "MANAGE_BUY_OFFER_" if kind == "buy" else "MANAGE_SELL_OFFER_"
            name, hop = _manage(dx, self, side, kind == "buy", passive, source, selling, buying, amt, on, od)
        else:
            prefix = "PATH_PAYMENT_STRICT_SEND_" if rounding == STRICT_SEND else "PATH_PAYMENT_STRICT_RECEIVE_"
            hop = dx.convert(self, side, None, False, selling, buying, rounding,
                             amt if rounding == STRICT_SEND else INT64_MAX,
                             INT64_MAX if rounding == STRICT_SEND else amt, [max_offers], taker=taker)
            name = _path_code(hop, rounding == STRICT_SEND, amt, amt) or "SUCCESS"
        res, code = _code(prefix, name)
        if hop is not None:
            fills = hop["book_claims"]
            sent, received = hop["book_send"], hop["book_recv"]
            stop = _STOP_OF_CONVERT[hop["book_result"]]
        else:
            # core stopped before crossing: what a walk within the same limits would give
            limit = None
            if has_limit:
                limit = (pd, pn) if kind == "sell" else (pn, pd)  # maxWheatPrice
            max_sheep, max_wheat = (min(amt, cap), INT64_MAX) if kind == "sell" else (cap, amt)
            fills, sent, received, stop = self._walk(side, NORMAL, max_sheep, max_wheat, limit, passive, taker,
                                                     max_offers)
        if stop == "cross_self":
            raise CrossSelfError(f"the taker {taker!r} would cross its own offer {self._next_id(side, len(fills))}")
        taker_offer = 0
        if rounding == NORMAL:
            complete = stop == "filled" and res is Result.SUCCESS
            if stop in ("price_limit", "no_offers") and has_limit:
                # ManageOfferOpFrameBase: the taker's remainder rests, after adjustOffer
                if kind == "sell":
                    taker_offer = adjust_offer(pn, pd, min(amt, cap) - sent, INT64_MAX)
                else:
                    taker_offer = adjust_offer(pd, pn, cap - sent if max_send is not None else INT64_MAX,
                                               amt - received)
        else:
            if res is Result.SUCCESS and rounding == STRICT_RECEIVE and sent > cap:
                res, code = _code(prefix, "OVER_SENDMAX")
                stop = "send_max"
            complete = res is Result.SUCCESS
        if apply and res is Result.SUCCESS:
            self._apply_fills(fills)
        return Execution(tuple(Fill(*f) for f in fills), sent, received, complete, stop, taker_offer, res, code)

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
    side = _taker_side(taker_sells)
    pq = None
    own_pool = False
    if pool is not None:
        own_pool = isinstance(pool, LiquidityPool) or (
            hasattr(pool, "reserve_a") and hasattr(pool, "reserve_b") and hasattr(pool, "fee_bp"))
        if own_pool:  # the reserves read as exact ints now: nothing of the pool's runs after this
            pool_state = _PoolState(_reserve(pool.reserve_a), _reserve(pool.reserve_b), _int(pool.fee_bp, "fee_bp"))
        if max_offers > 0:
            pq = pool.strict_send(amt, taker_sells=taker_sells) if rounding == STRICT_SEND else pool.strict_receive(
                amt, taker_sells=taker_sells)
            if pq is not None:
                pq_sent, pq_received = exact_int(pq.sent, "pool quote sent"), exact_int(pq.received, "pool quote received")
    if book is None:
        book = OfferBook._empty()  # the hop goes to the pool or nowhere
    dx = _Dex(proto, max_offers, [book._funds] if book._funds is not None else [])
    if book.base is not None:
        selling, buying = (book.base, book.counter) if side == 0 else (book.counter, book.base)
    else:
        selling, buying = _NO_ASSET_A, _NO_ASSET_B
    max_sheep, max_wheat = (amt, INT64_MAX) if rounding == STRICT_SEND else (INT64_MAX, amt)
    try:
        hop = dx.convert(book, side, pool_state if own_pool else None, side == 0, selling, buying, rounding,
                         max_sheep, max_wheat, [max_offers], taker=taker)
    except CoreWouldThrowError:
        # core throws: the plain walk's routing is reported, flagged CORE_WOULD_THROW
        fills, sent, received, result = book._walk(side, rounding, max_sheep, max_wheat, None, False, taker, max_offers)
        ex = Execution(tuple(Fill(*f) for f in fills), sent, received, result == "filled", result, 0)
        if pq is None or (result == "filled" and pq_sent * received > pq_received * sent):
            venue: Optional[str] = "book" if result == "filled" else None
            stop, s, r = result, sent, received
            if venue == "book" and (sent != amt if rounding == STRICT_SEND else received != amt):
                venue, stop = None, "too_few_offers"
        elif len(fills) >= max_offers and proto >= 27:
            venue, stop, s, r = None, "too_many_offers", 0, 0
        else:
            venue, stop, s, r = "pool", "filled", pq_sent, pq_received
        if venue is not None and rounding == STRICT_RECEIVE and s > cap:
            venue, stop = None, "send_max"
        return HopQuote(venue, s, r, stop, ex, pq, Result.CORE_WOULD_THROW, "CORE_WOULD_THROW")
    walk_stop = _STOP_OF_CONVERT[hop["book_result"]]
    ex = Execution(tuple(Fill(*f) for f in hop["book_claims"]), hop["book_send"], hop["book_recv"],
                   hop["book_result"] == _OK, walk_stop, 0)
    res, code = _code(prefix, _path_code(hop, rounding == STRICT_SEND, amt, amt) or "SUCCESS")
    venue = hop["venue"]
    s, r = hop["send"], hop["recv"]
    if venue is None and s == 0 and r == 0:
        s, r = hop["book_send"], hop["book_recv"]
    if pq is not None and not own_pool:
        # a pool object without reserves (only strict_send / strict_receive): core's choice made
        # with its quote
        if not (hop["book_result"] == _OK and pq_sent * hop["book_recv"] > pq_received * hop["book_send"]):
            if hop["book_offers"] >= max_offers and proto >= 27:
                res, code, venue, s, r = Result.EXCEEDED_WORK_LIMIT, "opEXCEEDED_WORK_LIMIT", None, 0, 0
            else:
                res, code, venue, s, r = Result.SUCCESS, prefix + "SUCCESS", "pool", pq_sent, pq_received
    if res is Result.SUCCESS and rounding == STRICT_RECEIVE and s > cap:
        res, code = Result.OVER_SENDMAX, prefix + "OVER_SENDMAX"
    if res is Result.SUCCESS:
        stop = "filled"
        if apply:
            if venue == "book":
                book._apply_fills(hop["book_claims"])
            elif venue == "pool":
                pool.apply(PoolQuote(s, r), taker_sells=taker_sells)
    else:
        venue = None
        if walk_stop == "filled" or res in (Result.EXCEEDED_WORK_LIMIT, Result.OVER_SENDMAX, Result.CROSS_SELF):
            stop = _STOP_OF.get(res, walk_stop)
        else:
            stop = walk_stop
    return HopQuote(venue, s, r, stop, ex, pq, res, code)


_STOP_OF = {
    Result.TOO_FEW_OFFERS: "too_few_offers",
    Result.EXCEEDED_WORK_LIMIT: "too_many_offers",
    Result.CROSS_SELF: "cross_self",
    Result.OVER_SENDMAX: "send_max",
    Result.UNDERFUNDED: "underfunded",
    Result.UNDER_DESTMIN: "dest_min",
}
_NO_ASSET_A = object()  # the two assets of quote_hop's stand-in for book=None (never compared equal)
_NO_ASSET_B = object()
_SYNTH_TAKER = "\x00the taker of a max_send simulation"  # never an account id


class _PoolState:
    """A pool's reserves and fee as read once (quote_hop, simulate_path)."""

    __slots__ = ("reserve_a", "reserve_b", "fee_bp")

    def __init__(self, a: int, b: int, fee: int) -> None:
        self.reserve_a, self.reserve_b, self.fee_bp = a, b, (fee if -1 <= fee <= 10000 else 10000)


def _model_taker(dx: "_Dex", key: Any, selling: Any, buying: Any, cap: int) -> None:
    """The taker of a sell/buy with max_send: its balance of what it sells is exactly ``cap``
    (plus the native reserve), unlimited room for what it buys (the compiled module does the same)."""
    ntl = (selling.issuer is not None) + (buying.issuer is not None)
    reserve = (2 + ntl + 1) * _BASE_RESERVE
    bal = min(cap + reserve, INT64_MAX) if selling.issuer is None else reserve
    dx.accounts[key] = [bal, 0, 0, ntl]
    if buying.issuer is not None:
        dx.lines[(key, buying)] = [0, INT64_MAX, 0, 0, _TL_AUTHORIZED]
    if selling.issuer is not None:
        dx.lines[(key, selling)] = [cap, INT64_MAX, 0, 0, _TL_AUTHORIZED]


def _funds_int(value: Any, what: str) -> int:
    v = _int(value, what)
    if v < 0 or v > INT64_MAX:
        raise AmountOverflowError(f"{what} must be an int64 >= 0, got {v}")
    return v


def _funds_arg(value: Any) -> Optional[Funds]:
    """A Funds from a Funds, a tuple of its fields, or an int balance."""
    if value is None:
        return None
    if isinstance(value, Funds):
        return value
    if isinstance(value, tuple):
        return Funds(*value)
    return Funds(value)


def _trustline_of(f: Funds, what: str) -> tuple:
    bal = _funds_int(f.balance, what + " balance")
    lim = INT64_MAX if f.limit is None else _funds_int(f.limit, what + " limit")
    buying = _funds_int(f.buying_liabilities, what + " buying_liabilities")
    selling = _funds_int(f.selling_liabilities, what + " selling_liabilities")
    if bal > lim:
        raise InvalidBookError(f"{what}: balance {bal} is above the limit {lim}")
    flags = (_TL_AUTHORIZED if f.authorized is True else 0) | (_TL_MAINTAIN if f.maintain_liabilities is True else 0)
    return (bal, lim, buying, selling, flags)


def _protocol(value: Any) -> int:
    v = _int(value, "protocol")
    if v < MIN_PROTOCOL or v > 0xFFFFFFFF:
        raise InvalidBookError(f"protocol must be an int from {MIN_PROTOCOL}, got {v}")
    return v


def simulate_path(kind: str, amount: int, path: Any, books: Any = (), pools: Any = None, *,
                  send_max: Optional[int] = None, dest_min: Optional[int] = None, taker: Any = None,
                  max_offers: int = MAX_OFFERS_TO_CROSS, protocol: int = MAINNET_PROTOCOL) -> PathResult:
    """A PathPaymentStrictSend / StrictReceive as the network would apply it.

    ``path`` is ``[asset0, ..., assetN]``: asset0 is sent, assetN received, 0 to 5 assets between
    (1 to 6 hops). ``books``: OfferBooks (found by their two assets); ``pools``: a mapping
    ``{(asset_x, asset_y): LiquidityPool}`` whose ``reserve_a`` holds asset_x. Strict send sends
    exactly ``amount`` and needs at least ``dest_min`` (default 1) at the end; strict receive
    delivers exactly ``amount`` for at most ``send_max`` (default unlimited). Strict receive runs
    backwards from the destination, as core does. Each hop chooses book or pool as core does, the
    hops share one ``max_offers`` budget (1000 on the network), the taker's own offers stop with
    CROSS_SELF, and a book or pool crossed twice sees its own earlier effects. Sellers' funds set
    with ``set_account`` on the books are used (a seller's funds in the books that were told
    them); the taker is checked against its funds if a book knows them, the destination is
    unknown (able to receive). Nothing changes.

    Returns a :class:`~stellar_ob.PathResult`; CoreWouldThrowError where core throws.
    """
    kind, rounding = _kind(kind)
    if rounding not in (STRICT_SEND, STRICT_RECEIVE):
        raise InvalidBookError("simulate_path: kind must be 'strict_send' or 'strict_receive'")
    amt = _amount(amount)
    smax = INT64_MAX if send_max is None else _amount(send_max, "send_max")
    dmin = 1 if dest_min is None else _amount(dest_min, "dest_min")
    taker = account_arg(taker, "taker")
    max_offers = count_arg(max_offers, "max_offers")
    proto = _protocol(protocol)
    if isinstance(path, (str, bytes)) or not hasattr(path, "__iter__"):
        raise InvalidBookError("path must be a list of 2 to 7 assets")
    assets = [_args._asset(a) for a in list(path)[:8]]
    if not 2 <= len(assets) <= 7:
        raise InvalidBookError(f"path must hold 2 to 7 assets (0 to 5 between), got {len(assets)}")
    by_pair = {}
    for b in (books if books is not None else ()):
        if not isinstance(b, OfferBook):
            raise TypeError(f"books must be OfferBooks of this module, got {type(b).__name__}")
        by_pair[(b.base, b.counter)] = b
    pool_map = {}
    if pools is not None:
        for key, pl in dict(pools).items():
            x, y = key
            pool_map[(_args._asset(x), _args._asset(y))] = pl
    states: Dict[int, _PoolState] = {}
    venues = []
    funds: List[_Funds] = []
    for i in range(len(assets) - 1):
        x, y = assets[i], assets[i + 1]
        b, side = by_pair.get((y, x)), 1  # the book's base is what the taker receives: its asks
        if b is None:
            b, side = by_pair.get((x, y)), 0
        if b is not None and b._funds is not None and all(f is not b._funds for f in funds):
            funds.append(b._funds)
        pl, a_is_send = pool_map.get((x, y)), True
        if pl is None:
            pl, a_is_send = pool_map.get((y, x)), False
        st = None
        if pl is not None:
            st = states.get(id(pl))
            if st is None:
                st = states[id(pl)] = _PoolState(_reserve(pl.reserve_a), _reserve(pl.reserve_b), _int(pl.fee_bp, "fee_bp"))
        venues.append((b, side, st, a_is_send))
    dx = _Dex(proto, max_offers, funds)
    strict_send = rounding == STRICT_SEND
    name, sent, received = _path(dx, strict_send, taker, assets, venues, amt if strict_send else smax,
                                 dmin if strict_send else amt)
    prefix = "PATH_PAYMENT_STRICT_SEND_" if strict_send else "PATH_PAYMENT_STRICT_RECEIVE_"
    res, code = _code(prefix, name)
    hops = []
    for h in dx.hops:
        raw = b"".join(_FILL.pack(*c) for c in h["claims"])
        pq = h["pool"]
        hops.append(PathHop(h["send_asset"], h["recv_asset"], h["venue"], h["send"], h["recv"], h["book_send"],
                            h["book_recv"], pq[0] if pq else None, pq[1] if pq else None, h["book_offers"], raw))
    return PathResult(res, code, sent, received, tuple(hops))


# ---------------------------------------------------------------------------------------------
# What the network would answer (issue 12): the operations as stellar-core applies them, over the
# books, the pools and the sellers' funds given with set_account. The compiled module runs the same
# rules in csrc/dex.c; the comments cite core at commit a9b86132 as that file does. Nothing here
# changes a book: one call works on an overlay (_Dex) of what it reads.

_BASE_RESERVE = 5_000_000  # LedgerHeader baseReserve on the network (0.5 XLM)
_SUBENTRY_LIMIT = 1000     # ACCOUNT_SUBENTRY_LIMIT (TransactionUtils.cpp:35)
_TL_AUTHORIZED = 1         # AUTHORIZED_FLAG
_TL_MAINTAIN = 2           # AUTHORIZED_TO_MAINTAIN_LIABILITIES_FLAG
# convertWithOffers's ConvertResult (OfferExchange.h:299-306)
_OK, _PARTIAL, _BAD_PRICE, _CROSS_SELF, _TOO_MANY = range(5)
_STOP_OF_CONVERT = ("filled", "no_offers", "price_limit", "cross_self", "too_many_offers")
_THROWS = {
    "big_divide": ("overflow while performing bigDivide", "numeric.cpp:53"),
    "big_divide_128": ("overflow while performing bigDivide", "numeric.cpp:113"),
    "wheat_bounds": ("wheatReceive out of bounds", "OfferExchange.cpp:687"),
    "sheep_bounds": ("sheepSend out of bounds", "OfferExchange.cpp:691"),
    "favored_sheep": ("favored sheep when wheat stays", "OfferExchange.cpp:716"),
    "favored_wheat": ("favored wheat when sheep stays", "OfferExchange.cpp:720"),
    "price_error": ("exceeded price error bound", "OfferExchange.cpp:746"),
    "sheep_sent": ("invalid amount of sheep sent", "OfferExchange.cpp:762"),
    "pool_fee": ("Liquidity pool fee out of range", "OfferExchange.cpp:1251"),
    "pool_received": ("received too much from pool", "OfferExchange.cpp:1317"),
    "pool_reserves": ("could not update reserves", "OfferExchange.cpp:1449/1464"),
    "account_state": ("unexpected account state", "TransactionUtils.cpp:908"),
    "authorization": ("Invalid authorization", "TransactionUtils.cpp:195"),
    "liab_no_trustline": ("trustline does not exist", "TransactionUtils.cpp:511"),
    "buying_liabilities": ("could not add buying liabilities", "TransactionUtils.cpp:524/532"),
    "selling_liabilities": ("could not add selling liabilities", "TransactionUtils.cpp:544/552"),
    "subentries": ("invalid account state", "SponsorshipUtils.cpp:552"),
    "sheep_balance": ("overflowed sheep balance", "OfferExchange.cpp:1165/1172"),
    "wheat_balance": ("overflowed wheat balance", "OfferExchange.cpp:1183/1190"),
    "claimed_over_limit": ("offer claimed over limit", "ManageOfferOpFrameBase.cpp:425/434"),
    "sold_over_balance": ("offer sold more than balance", "ManageOfferOpFrameBase.cpp:444/453"),
    "source_debit": ("releaseAssertOrThrow(ok)", "PathPaymentOpFrameBase.cpp:207"),
    "assert": ("releaseAssertOrThrow", "(an internal assertion of core)"),
}


def _throw(what: str) -> CoreWouldThrowError:
    return CoreWouldThrowError(*_THROWS[what])


def _xv10(n: int, d: int, ws: int, wr: int, ss: int, sr: int, rounding: int, raw: bool = False) -> Tuple[int, int, bool]:
    """exchangeV10 (OfferExchange.cpp:551-781) with every throw of core: (wheat, sheep, wheat_stays).
    ``raw``: exchangeV10WithoutPriceErrorThresholds (what the liabilities use)."""
    wheat_value = min(ws * n, sr * d)
    sheep_value = min(ss * d, wr * n)
    stays = wheat_value > sheep_value
    if stays:
        if rounding == STRICT_SEND:  # l.648-652
            wheat = sheep_value // n
            if wheat > INT64_MAX:
                raise _throw("big_divide_128")
            sheep = min(ss, sr)
        elif n > d or rounding == STRICT_RECEIVE:  # l.653-659
            wheat = sheep_value // n
            if wheat > INT64_MAX:
                raise _throw("big_divide_128")
            sheep = -(-(wheat * n) // d)
            if sheep > INT64_MAX:
                raise _throw("big_divide")
        else:  # l.660-665
            sheep = sheep_value // d
            if sheep > INT64_MAX:
                raise _throw("big_divide_128")
            wheat = (sheep * d) // n
            if wheat > INT64_MAX:
                raise _throw("big_divide")
    elif n > d:  # l.669-674
        wheat = wheat_value // n
        if wheat > INT64_MAX:
            raise _throw("big_divide_128")
        sheep = (wheat * n) // d
        if sheep > INT64_MAX:
            raise _throw("big_divide")
    else:  # l.675-680
        sheep = wheat_value // d
        if sheep > INT64_MAX:
            raise _throw("big_divide_128")
        wheat = -(-(sheep * d) // n)
        if wheat > INT64_MAX:
            raise _throw("big_divide")
    if wheat < 0 or wheat > min(wr, ws):  # l.683-692
        raise _throw("wheat_bounds")
    if sheep < 0 or sheep > min(sr, ss):
        raise _throw("sheep_bounds")
    if raw:
        return wheat, sheep, stays
    # applyPriceErrorThresholds (l.701-781)
    if wheat > 0 and sheep > 0:
        wv, sv = wheat * n, sheep * d
        if stays and sv < wv:
            raise _throw("favored_sheep")
        if not stays and sv > wv:
            raise _throw("favored_wheat")
        if rounding == NORMAL:
            if abs(100 * wv - 100 * sv) > wv:  # more than 1% off: no trade (l.723-732)
                wheat = sheep = 0
        elif not (sv > wv or abs(100 * wv - 100 * sv) <= wv):  # l.733-748, canFavorWheat
            raise _throw("price_error")
    elif rounding == STRICT_SEND:  # l.754-764
        if sheep == 0:
            raise _throw("sheep_sent")
    else:
        wheat = sheep = 0
    return wheat, sheep, stays


def _adjust(n: int, d: int, max_wheat_send: int, max_sheep_receive: int) -> int:
    """adjustOffer (OfferExchange.cpp:921-928)."""
    return _xv10(n, d, max_wheat_send, INT64_MAX, INT64_MAX, max_sheep_receive, NORMAL)[0]


def _liabilities(n: int, d: int, amount: int) -> Tuple[int, int]:
    """(selling, buying) liabilities of an offer (TransactionUtils.cpp:939-985)."""
    wheat, sheep, _ = _xv10(n, d, amount, INT64_MAX, INT64_MAX, INT64_MAX, NORMAL, raw=True)
    return wheat, sheep


def _pool_exchange(to_r: int, from_r: int, fee: int, max_send: int, max_recv: int, rounding: int) -> Optional[Tuple[int, int]]:
    """exchangeWithPool's arithmetic (OfferExchange.cpp:1240-1370): (to_pool, from_pool) or None."""
    if fee < 0 or fee >= 10000:
        raise _throw("pool_fee")
    keep = 10000 - fee
    if rounding == STRICT_SEND:
        if max_send > INT64_MAX - to_r:
            return None
        y = (keep * from_r * max_send) // (10000 * to_r + keep * max_send)
        if y > INT64_MAX:
            return None
        if y > from_r:
            raise _throw("pool_received")
        return (max_send, y) if y else None
    if max_recv >= from_r:
        return None
    x = -(-(10000 * to_r * max_recv) // ((from_r - max_recv) * keep))
    if x > INT64_MAX or x > INT64_MAX - to_r:
        return None
    return x, max_recv


class _Funds:
    """What set_account told one book: accounts, trust lines and the issuers of its assets."""

    __slots__ = ("accounts", "lines", "issuers")

    def __init__(self) -> None:
        self.accounts: Dict[str, tuple] = {}  # account -> (balance, buying, selling, subentries)
        self.lines: Dict[Tuple[str, Any], tuple] = {}  # (account, asset) -> (balance, limit, buying, selling, flags)
        self.issuers: Dict[Any, str] = {}  # asset -> its issuer account


class _Dex:
    """One operation's view of the ledger: the accounts and trust lines it read (copies it may
    change), each book side's consumed prefix and partial offer, each pool's reserves, and the
    claims made. Unknown accounts (never given to set_account) are fully funded with unlimited
    headroom, as in the compiled module (csrc/dex.h)."""

    def __init__(self, protocol: int, max_offers: int, funds: List[_Funds]) -> None:
        self.protocol = protocol
        self.max_offers = max_offers
        self.accounts: Dict[str, list] = {}
        self.lines: Dict[Tuple[str, Any], list] = {}
        self.issuers: Dict[Any, str] = {}
        for f in funds:
            for k, v in f.accounts.items():
                if self.accounts.get(k, list(v)) != list(v):
                    raise InvalidBookError("two books hold different funds for one account")
                self.accounts[k] = list(v)
            for k, v in f.lines.items():
                if self.lines.get(k, list(v)) != list(v):
                    raise InvalidBookError("two books hold different funds for one account")
                self.lines[k] = list(v)
            self.issuers.update(f.issuers)
        self.sides: Dict[Tuple[int, int], list] = {}  # (id(book), side) -> [consumed, partial or None]
        self.pools: Dict[int, list] = {}              # id(pool) -> [reserve_a, reserve_b]
        self.claims: List[Tuple[int, int, int, int]] = []
        self.hops: List[dict] = []

    # -- snapshots (a book walk the pool beats is rolled back, OfferExchange.cpp:1685-1707) ----

    def save(self) -> tuple:
        return ({k: list(v) for k, v in self.accounts.items()}, {k: list(v) for k, v in self.lines.items()},
                {k: list(v) for k, v in self.sides.items()}, len(self.claims))

    def restore(self, snap: tuple) -> None:
        self.accounts, self.lines, self.sides, n = snap[0], snap[1], snap[2], snap[3]
        del self.claims[n:]

    # -- lines (TrustLineWrapper / the native account): kind, and the entry -------------------

    def line(self, key: Any, asset: Any) -> Tuple[str, Any]:
        acc = self.accounts.get(key) if key is not None else None
        if acc is None:
            return "unknown", None
        if asset.issuer is None:
            return "native", acc
        if self.issuers.get(asset) == key:
            return "issuer", None
        tl = self.lines.get((key, asset))
        return ("trust", tl) if tl is not None else ("none", None)

    def known(self, key: Any) -> bool:
        return key is not None and key in self.accounts

    def min_balance(self, acc: list) -> int:
        return (2 + acc[3]) * _BASE_RESERVE  # getMinBalance (TransactionUtils.cpp:870-912)

    @staticmethod
    def check_auth(tl: list) -> None:
        if not tl[4] & (_TL_AUTHORIZED | _TL_MAINTAIN):  # checkAuthorization (l.183-199)
            raise _throw("authorization")

    def available(self, kind: str, e: Any) -> int:
        """getAvailableBalance (TransactionUtils.cpp:751-778)."""
        if kind == "native":
            return e[0] - self.min_balance(e) - e[2]
        if kind == "trust":
            self.check_auth(e)
            return e[0] - e[3]
        return INT64_MAX

    def max_receive(self, kind: str, e: Any) -> int:
        """getMaxAmountReceive (TransactionUtils.cpp:821-855)."""
        if kind == "native":
            return INT64_MAX - (e[0] + e[1])
        if kind == "trust":
            self.check_auth(e)
            return e[1] - e[0] - e[2]
        return INT64_MAX

    def can_sell(self, kind: str, e: Any) -> int:
        """canSellAtMost (OfferExchange.cpp:54-70)."""
        if kind == "native" or (kind != "none" and (kind != "trust" or e[4] & (_TL_AUTHORIZED | _TL_MAINTAIN))):
            return max(0, min(INT64_MAX, self.available(kind, e)))
        return 0

    def can_buy(self, kind: str, e: Any) -> int:
        """canBuyAtMost (OfferExchange.cpp:90-104)."""
        if kind == "none":
            return 0
        return max(0, min(INT64_MAX, self.max_receive(kind, e)))

    def add_balance(self, kind: str, e: Any, delta: int) -> bool:
        """addBalance (TransactionUtils.cpp:564-643); issuers and unknown accounts: a no-op."""
        if delta == 0 or kind not in ("native", "trust"):
            return True
        if kind == "native":
            nb = e[0] + delta
            if nb < 0 or nb > INT64_MAX:
                return False
            if (delta < 0 and nb - self.min_balance(e) < e[2]) or nb > INT64_MAX - e[1]:
                return False
            e[0] = nb
            return True
        self.check_auth(e)
        nb = e[0] + delta
        if nb < 0 or nb > e[1]:
            return False
        if nb < e[3] or nb > e[1] - e[2]:
            return False
        e[0] = nb
        return True

    def add_liabilities(self, kind: str, e: Any, delta: int, buying: bool) -> bool:
        """addBuyingLiabilities / addSellingLiabilities (TransactionUtils.cpp:645-743)."""
        if delta == 0 or kind not in ("native", "trust"):
            return True
        if kind == "native":
            i = 1 if buying else 2
            if buying:
                top = INT64_MAX - e[0]
            else:
                top = e[0] - self.min_balance(e)
                if top < 0:
                    return False
        else:
            self.check_auth(e)
            i = 2 if buying else 3
            top = e[1] - e[0] if buying else e[0]
        v = e[i] + delta
        if v < 0 or v > top:
            return False
        e[i] = v
        return True

    def move_liabilities(self, sell: Tuple[str, Any], buy: Tuple[str, Any], sl: int, bl: int, acquire: bool) -> None:
        """acquireOrReleaseLiabilities (TransactionUtils.cpp:484-555)."""
        if sell[0] == "unknown":
            return
        if buy[0] == "none":
            raise _throw("liab_no_trustline")
        if not self.add_liabilities(buy[0], buy[1], bl if acquire else -bl, True):
            raise _throw("buying_liabilities")
        if sell[0] == "none":
            raise _throw("liab_no_trustline")
        if not self.add_liabilities(sell[0], sell[1], sl if acquire else -sl, False):
            raise _throw("selling_liabilities")

    def remove_offer_entry(self, owner: Any) -> None:
        acc = self.accounts.get(owner) if owner is not None else None
        if acc is not None:
            if acc[3] < 1:
                raise _throw("subentries")
            acc[3] -= 1

    # -- crossing ------------------------------------------------------------------------------

    def cross(self, n: int, d: int, amount: int, seller: Any, known: bool, wheat_asset: Any, sheep_asset: Any,
              max_wheat_receive: int, max_sheep_send: int, rounding: int) -> Tuple[int, int, int, bool]:
        """crossOfferV10 (OfferExchange.cpp:1103-1234): (wheat, sheep, amount left, wheat stays). ``known``: the
        book holds the seller's funds (set_account on that book), else it is fully funded."""
        if not known:
            # unknown and funded: canSellAtMost = canBuyAtMost = INT64_MAX
            adjusted = _adjust(n, d, amount, INT64_MAX)
            wheat, sheep, stays = _xv10(n, d, adjusted, max_wheat_receive, max_sheep_send, INT64_MAX, rounding)
            left = _adjust(n, d, adjusted - wheat, INT64_MAX) if stays else 0
            return wheat, sheep, left, stays
        wl = self.line(seller, wheat_asset)
        sl = self.line(seller, sheep_asset)
        lsell, lbuy = _liabilities(n, d, amount)
        self.move_liabilities(wl, sl, lsell, lbuy, False)  # releaseLiabilities, l.1126-1128
        can_sell, can_buy = self.can_sell(*wl), self.can_buy(*sl)
        amount = _adjust(n, d, min(amount, can_sell), can_buy)  # l.1140-1143
        wheat, sheep, stays = _xv10(n, d, min(amount, can_sell), max_wheat_receive, max_sheep_send, can_buy, rounding)
        if sheep:  # l.1159-1175
            if sl[0] == "none" or not self.add_balance(sl[0], sl[1], sheep):
                raise _throw("sheep_balance")
        if wheat:  # l.1177-1193
            if wl[0] == "none" or not self.add_balance(wl[0], wl[1], -wheat):
                raise _throw("wheat_balance")
        if stays:  # l.1195-1204
            amount -= wheat
            amount = _adjust(n, d, min(amount, self.can_sell(*wl)), self.can_buy(*sl))
        else:
            amount = 0
        if amount == 0:  # l.1212-1218
            self.remove_offer_entry(seller)
            return wheat, sheep, 0, stays
        lsell, lbuy = _liabilities(n, d, amount)
        self.move_liabilities(wl, sl, lsell, lbuy, True)  # l.1219-1222
        return wheat, sheep, amount, stays

    def walk(self, book: Any, side: int, sheep_asset: Any, wheat_asset: Any, rounding: int, max_sheep_send: int,
             max_wheat_receive: int, budget: int, limit: Optional[Tuple[int, int]], passive: bool,
             taker: Any) -> Tuple[int, int, int, int]:
        """convertWithOffers (OfferExchange.cpp:1481-1627) over one book side: (result, sheep sent,
        wheat received, offers crossed); the claims are appended to self.claims."""
        need_more = max_wheat_receive > 0 and max_sheep_send > 0
        if need_more and budget == 0 and self.protocol >= 18:  # l.1502-1511
            return _TOO_MANY, 0, 0, 0
        if book is None or not need_more:
            return (_PARTIAL if need_more else _OK), 0, 0, 0
        st = self.sides.setdefault((id(book), side), [0, None])
        offers = book._offers
        funded = book._funds.accounts if book._funds is not None else ()
        sent = received = crossed = 0
        p = st[0]
        for _, oid in book._sides[side].islice(st[0]):
            _, n, d, amount, seller, _ = offers[oid]
            if limit is not None:  # ManageOfferOpFrameBase.cpp:362-383: price > maxWheatPrice
                lhs, rhs = n * limit[1], limit[0] * d
                if lhs > rhs or (passive and lhs == rhs):
                    return _BAD_PRICE, sent, received, crossed
            if taker is not None and seller == taker:
                return _CROSS_SELF, sent, received, crossed
            if crossed >= budget:  # l.1565-1569
                return _TOO_MANY, sent, received, crossed
            partial = p == st[0] and st[1] is not None
            if seller in funded:
                wheat, sheep, left, stays = self.cross(n, d, st[1] if partial else amount, seller, True, wheat_asset,
                                                       sheep_asset, max_wheat_receive, max_sheep_send, rounding)
            else:
                # a fully funded seller: crossOfferV10 with INT64_MAX funds. An offer taken whole at
                # its adjustOffer fixed point pays W = adjusted, S = floor(W*n/d), the value
                # exchangeV10 gives there (csrc/dex.c walk(), the same shortcut)
                # (adjustOffer never throws: NORMAL rounding, bounded quotients; the unchecked one)
                adjusted = adjust_offer(n, d, st[1] if partial else amount)
                wv = adjusted * n
                if not partial and adjusted > 0 and wv <= max_sheep_send * d and wv <= max_wheat_receive * n:
                    wheat, sheep, stays, left = adjusted, wv // d, False, 0
                else:
                    wheat, sheep, stays = _xv10(n, d, adjusted, max_wheat_receive, max_sheep_send, INT64_MAX,
                                                rounding)
                    left = adjust_offer(n, d, adjusted - wheat) if stays else 0
            if left == 0:
                st[0], st[1] = p + 1, None
            else:
                st[1] = left
            self.claims.append((oid, wheat, sheep, left))
            crossed += 1
            sent += sheep
            max_sheep_send -= sheep
            received += wheat
            max_wheat_receive -= wheat
            if stays or max_wheat_receive <= 0 or max_sheep_send <= 0:  # l.1581, 1607
                return _OK, sent, received, crossed
            if left != 0:
                return _PARTIAL, sent, received, crossed
            p += 1
        return _PARTIAL, sent, received, crossed

    def pool_exchange(self, pool: Any, a_is_send: bool, rounding: int, max_send: int, max_recv: int, budget: int,
                      commit: bool) -> Optional[Tuple[int, int]]:
        """exchangeWithPool on the overlay (OfferExchange.cpp:1381-1479)."""
        if self.protocol < 18 or rounding == NORMAL or budget == 0 or pool is None:  # l.1390-1412
            return None
        r = self.pools.get(id(pool))
        if r is None:
            r = self.pools[id(pool)] = [_reserve(pool.reserve_a), _reserve(pool.reserve_b)]
            fee = _int(pool.fee_bp, "fee_bp")
            r.append(fee)
        if r[0] <= 0 or r[1] <= 0:  # l.1426-1435
            return None
        ti, fi = (0, 1) if a_is_send else (1, 0)
        q = _pool_exchange(r[ti], r[fi], r[2], max_send, max_recv, rounding)
        if q is None:
            return None
        if q[0] > INT64_MAX - r[ti] or q[1] > r[fi]:
            raise _throw("pool_reserves")
        if commit:
            r[ti] += q[0]
            r[fi] -= q[1]
        return q

    def convert(self, book: Any, side: int, pool: Any, a_is_send: bool, sheep_asset: Any, wheat_asset: Any,
                rounding: int, max_sheep_send: int, max_wheat_receive: int, budget: List[int],
                limit: Optional[Tuple[int, int]] = None, passive: bool = False, taker: Any = None) -> dict:
        """convertWithOffersAndPools (OfferExchange.cpp:1712-1771); ``budget`` is in/out."""
        hop = {"send_asset": sheep_asset, "recv_asset": wheat_asset, "venue": None, "result": _OK,
               "send": 0, "recv": 0, "pool": None, "book_send": 0, "book_recv": 0, "book_result": _OK,
               "book_offers": 0, "claims": [], "book_claims": []}
        pq = self.pool_exchange(pool, a_is_send, rounding, max_sheep_send, max_wheat_receive, budget[0], False)
        hop["pool"] = pq
        snap = self.save() if pq is not None else None
        start = len(self.claims)
        res, sent, received, crossed = self.walk(book, side, sheep_asset, wheat_asset, rounding, max_sheep_send,
                                                 max_wheat_receive, budget[0], limit, passive, taker)
        hop.update(book_send=sent, book_recv=received, book_result=res, book_offers=crossed,
                   book_claims=self.claims[start:])
        if pq is None or (res == _OK and pq[0] * received > pq[1] * sent):
            budget[0] -= crossed  # l.1737
            hop.update(venue="book", result=res, send=sent, recv=received, claims=self.claims[start:])
            return hop
        self.restore(snap)
        if self.protocol >= 27:  # l.1740-1751: the walk's offers count
            if crossed >= budget[0]:
                hop.update(result=_TOO_MANY)
                return hop
            budget[0] -= crossed
        q = self.pool_exchange(pool, a_is_send, rounding, max_sheep_send, max_wheat_receive, budget[0], True)
        to_pool, from_pool = q if q is not None else (0, 0)
        budget[0] -= 1  # l.1769
        hop.update(venue="pool", result=_OK, send=to_pool, recv=from_pool)
        return hop


def _path_code(hop: dict, strict_send: bool, max_send: int, max_recv: int) -> Optional[str]:
    """PathPaymentOpFrameBase::convert (l.93-152): None, or the failure."""
    r = hop["result"]
    if r == _CROSS_SELF:
        return "OFFER_CROSS_SELF"
    if r == _OK:
        # checkTransfer: a walk may end eOK with less than the whole amount
        if (hop["send"] != max_send) if strict_send else (hop["recv"] != max_recv):
            return "TOO_FEW_OFFERS"
        return None
    if r == _PARTIAL:
        return "TOO_FEW_OFFERS"
    if r == _TOO_MANY:
        return "opEXCEEDED_WORK_LIMIT"
    raise _throw("assert")  # l.148: a path payment has no price filter


_CODES: Dict[Tuple[str, str], Tuple[Result, str]] = {}


def _code(prefix: str, name: str) -> Tuple[Result, str]:
    """(Result, core's exact name) of a code without its operation's prefix (cached)."""
    r = _CODES.get((prefix, name))
    if r is None:
        code = name if name.startswith("op") else prefix + name
        r = _CODES[(prefix, name)] = (Result.from_code(code), code)
    return r


def _can_create_offer(dx: _Dex, key: Any) -> Optional[str]:
    """canCreateEntryWithoutSponsorship for an offer (SponsorshipUtils.cpp:20-56, 475-517)."""
    acc = dx.accounts[key]
    if dx.protocol >= 11 and acc[3] > _SUBENTRY_LIMIT - 1:
        return "opTOO_MANY_SUBENTRIES"
    if dx.protocol >= 18 and acc[3] + 1 > 0xFFFFFFFF:
        return "opTOO_MANY_SUBENTRIES"
    if dx.available("native", acc) < _BASE_RESERVE:
        return "LOW_RESERVE"
    return None


def _offer_liabilities_move(dx: _Dex, key: Any, selling: Any, buying: Any, n: int, d: int, amount: int,
                            acquire: bool) -> None:
    if not dx.known(key):
        return
    sl, bl = _liabilities(n, d, amount)
    dx.move_liabilities(dx.line(key, selling), dx.line(key, buying), sl, bl, acquire)


def _manage(dx: _Dex, book: Any, side: int, is_buy: bool, passive: bool, source: Any, selling: Any, buying: Any,
            amount: int, on: int, od: int) -> Tuple[str, Optional[dict]]:
    """ManageSellOffer / ManageBuyOffer / CreatePassiveSellOffer creating a new offer
    (ManageOfferOpFrameBase.cpp doApply l.224-564 with computeOfferExchangeParameters l.107-213):
    (core's code without the operation's prefix, the walk's hop or None)."""
    P = dx.protocol
    pn, pd = (od, on) if is_buy else (on, od)  # ManageBuyOffer stores the inverse price
    if is_buy and P < 11:
        return "opNOT_SUPPORTED", None
    if is_buy:
        lw, ls, _ = _xv10(pn, pd, INT64_MAX, INT64_MAX, INT64_MAX, amount, NORMAL, raw=True)
    else:
        lw, ls, _ = _xv10(pn, pd, amount, INT64_MAX, INT64_MAX, INT64_MAX, NORMAL, raw=True)
    op_buying, op_selling = ls, lw
    for which, asset in ((0, selling), (1, buying)):  # checkOfferValid (l.34-105)
        if asset.issuer is None:
            continue
        kind, e = dx.line(source, asset)
        if kind == "none":
            return ("SELL_NO_TRUST" if which == 0 else "BUY_NO_TRUST"), None
        if which == 0 and kind == "trust" and e[0] == 0:
            return "UNDERFUNDED", None
        if kind == "trust" and not e[4] & _TL_AUTHORIZED:
            return ("SELL_NOT_AUTHORIZED" if which == 0 else "BUY_NOT_AUTHORIZED"), None
    known = dx.known(source)
    if P >= 14 and known:  # l.286-327
        code = _can_create_offer(dx, source)
        if code:
            return code, None
        dx.accounts[source][3] += 1
    snap = dx.save() if P < 14 and known else None  # what the savepoint can undo (l.107-213)
    if P < 14 and known:
        code = _can_create_offer(dx, source)
        if code:
            return code, None
        dx.accounts[source][3] += 1
    wl, sl = dx.line(source, buying), dx.line(source, selling)
    max_wheat_receive, max_sheep_send = dx.can_buy(*wl), dx.can_sell(*sl)
    if dx.max_receive(*wl) < op_buying:  # l.170-178
        return "LINE_FULL", None
    if dx.available(*sl) < op_selling:  # l.195-203
        return "UNDERFUNDED", None
    if snap is not None:
        dx.restore(snap)
    if is_buy:  # applyOperationSpecificLimits (l.205)
        max_wheat_receive = min(max_wheat_receive, amount)
    else:
        max_sheep_send = min(max_sheep_send, amount)
    if max_wheat_receive == 0:  # l.341-346
        return "LINE_FULL", None
    budget = [dx.max_offers if P >= 11 else INT64_MAX]
    hop = dx.convert(book, side, None, False, selling, buying, NORMAL, max_sheep_send, max_wheat_receive, budget,
                     limit=(pd, pn), passive=passive, taker=source)
    if hop["result"] == _CROSS_SELF:
        return "CROSS_SELF", hop
    if hop["result"] == _TOO_MANY:
        return "opEXCEEDED_WORK_LIMIT", hop
    sent, received = hop["send"], hop["recv"]
    wl, sl = dx.line(source, buying), dx.line(source, selling)
    if received > 0:  # l.417-456
        if wl[0] == "none" or not dx.add_balance(wl[0], wl[1], received):
            raise _throw("claimed_over_limit")
        if sl[0] == "none" or not dx.add_balance(sl[0], sl[1], -sent):
            raise _throw("sold_over_balance")
    rest = 0
    if hop["result"] != _OK:  # l.461-477: the remainder rests
        sell_limit, buy_limit = dx.can_sell(*sl), dx.can_buy(*wl)
        if is_buy:
            buy_limit = min(buy_limit, amount - received)
        else:
            sell_limit = min(sell_limit, amount - sent)
        rest = _adjust(pn, pd, sell_limit, buy_limit)
    if rest > 0:  # l.490-543
        if P < 14 and known:
            code = _can_create_offer(dx, source)
            if code:
                return code, hop
            dx.accounts[source][3] += 1
        _offer_liabilities_move(dx, source, selling, buying, pn, pd, rest, True)
    elif P >= 14:  # l.544-556
        dx.remove_offer_entry(source)
    hop["rest"] = rest
    return "SUCCESS", hop


def _debit(dx: _Dex, source: Any, asset: Any, amount: int) -> Optional[str]:
    """updateSourceBalance (PathPaymentOpFrameBase.cpp:167-237)."""
    kind, e = dx.line(source, asset)
    if asset.issuer is None:
        if amount > dx.available(kind, e):
            return "UNDERFUNDED"
        if not dx.add_balance(kind, e, -amount):
            raise _throw("source_debit")
        return None
    if kind == "none":
        return "SRC_NO_TRUST"
    if kind == "trust" and not e[4] & _TL_AUTHORIZED:
        return "SRC_NOT_AUTHORIZED"
    return None if dx.add_balance(kind, e, -amount) else "UNDERFUNDED"


def _path(dx: _Dex, strict_send: bool, source: Any, assets: List[Any], venues: List[tuple], send: int,
          dest: int) -> Tuple[str, int, int]:
    """PathPaymentStrictSend / StrictReceive (PathPaymentStrictSendOpFrame.cpp l.42-146,
    PathPaymentStrictReceiveOpFrame.cpp l.36-153) to an unknown (fully able to receive)
    destination: (code without prefix, sent, received); the hops are in dx.hops."""
    if strict_send and dx.protocol < 12:
        return "opNOT_SUPPORTED", 0, 0
    last = len(assets) - 1
    rnd = STRICT_SEND if strict_send else STRICT_RECEIVE
    if strict_send:
        code = _debit(dx, source, assets[0], send)
        if code:
            return code, 0, 0
        amount, cur = send, assets[0]
        budget = [dx.max_offers]
        for i in range(1, last + 1):
            recv = assets[i]
            if recv == cur:
                continue
            book, side, pool, a_is_send = venues[i - 1]
            hop = dx.convert(book, side, pool, a_is_send, cur, recv, rnd, amount, INT64_MAX, budget, taker=source)
            dx.hops.append(hop)
            code = _path_code(hop, True, amount, INT64_MAX)
            if code:
                return code, 0, 0
            amount, cur = hop["recv"], recv
        if amount < dest:  # l.120-124
            return "UNDER_DESTMIN", send, amount
        return "SUCCESS", send, amount
    amount, cur = dest, assets[last]
    budget = [dx.max_offers if dx.protocol >= 11 else INT64_MAX]
    for i in range(last - 1, -1, -1):
        snd = assets[i]
        if snd == cur:
            continue
        book, side, pool, a_is_send = venues[i]
        hop = dx.convert(book, side, pool, a_is_send, snd, cur, rnd, INT64_MAX, amount, budget, taker=source)
        dx.hops.append(hop)
        code = _path_code(hop, False, INT64_MAX, amount)
        if code:
            return code, 0, 0
        amount, cur = hop["send"], snd
    if amount > send:  # l.130-134
        return "OVER_SENDMAX", amount, dest
    code = _debit(dx, source, assets[0], amount)
    if code:
        return code, amount, dest
    return "SUCCESS", amount, dest
