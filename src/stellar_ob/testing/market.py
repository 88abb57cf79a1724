"""A simulated Stellar DEX market: makers place, change and cancel offers; takers cross them.

Every pair keeps a per-offer book (``stellar_ob.offers._pure.OfferBook``, stellar-core's exact
crossing math), so the fills the local Horizon reports on /trades are the ones stellar-core
would produce, and the /order_book it serves is grouped the way Horizon groups it.

Example:

>>> m = SimulatedMarket(markets=2, seed=7)
>>> record = m.close_ledger()
>>> record["sequence"] == m.ledger
True
>>> sorted(m.pairs)[0] in m.pairs
True
"""

from __future__ import annotations

import base64
import hashlib
import random
import time
from dataclasses import dataclass, field, replace
from fractions import Fraction
from typing import Any, Iterable, Sequence

from stellar_ob.offers._common import adjust_offer as _adjust_offer
from stellar_ob.offers._common import pool_strict_send as _pool_strict_send
from stellar_ob.assets import Asset, _crc16_xmodem

__all__ = ["SimulatedMarket", "SimulatedPair", "account_id", "default_pairs"]

# Horizon's synthetic ids for takers that left no offer on the book start above 2^62
# (horizon internal/db2/history/trade.go: EncodeOfferId).
_SYNTHETIC_OFFER_BASE = 1 << 62
_TICKS = 10_000  # price grid: counter per base = ticks / 10_000


def account_id(name: str) -> str:
    """A valid, deterministic G... account id (StrKey) derived from ``name``.

    >>> account_id("issuer-USD").startswith("G") and len(account_id("x")) == 56
    True
    """
    payload = bytes([6 << 3]) + hashlib.sha256(name.encode()).digest()
    crc = _crc16_xmodem(payload)
    return base64.b32encode(payload + bytes([crc & 0xFF, crc >> 8])).decode()


def default_pairs(count: int) -> list[tuple[Asset, Asset]]:
    """``count`` distinct pairs: XLM against made-up credit assets (``USD0``, ``USD1`` ...)."""
    pairs = []
    for i in range(count):
        code = "USD" if i == 0 else f"T{i:03d}"[:12]
        pairs.append((Asset.native(), Asset(code, account_id(f"issuer-{code}"))))
    return pairs


def _iso(ts: float) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(ts))


@dataclass
class SimulatedOffer:
    """One offer of a :class:`SimulatedPair`, as the local Horizon's /offers reports it: its own
    price ``n/d`` (what it buys per unit of what it sells) and ``amount`` in stroops of what it
    sells; ``last_modified_ledger`` and ``last_modified_time`` (unix seconds) of its last change."""

    offer_id: int
    side: str  # "ask" sells base, "bid" sells counter
    n: int
    d: int
    amount: int  # stroops of the asset the offer sells
    seller: str
    last_modified_ledger: int
    last_modified_time: float


_Offer = SimulatedOffer  # the name before issue 11


@dataclass
class SimulatedPair:
    """One market: its per-offer book, the offers as /offers reports them, its pool."""

    base: Asset
    counter: Asset
    mid_ticks: int
    book: Any  # stellar_ob.offers._pure.OfferBook
    offers: dict[int, SimulatedOffer] = field(default_factory=dict)
    pool_reserves: list[int] = field(default_factory=lambda: [0, 0])
    pool_id: str = ""
    version: int = 0  # bumped whenever the book changes
    pool_last_modified: int = 0

    @property
    def key(self) -> tuple[str, str]:
        return (str(self.base), str(self.counter))


class SimulatedMarket:
    """Random but reproducible maker/taker activity on ``markets`` pairs, one ledger at a time.

    ``close_ledger()`` advances one ledger: on every pair a few makers place, change or cancel
    offers and (with probability ``taker_probability``) a taker crosses the book with exact
    stellar-core math; each fill becomes a /trades record. ``changes_per_ledger`` >= 1 makes
    every market change every ledger (Horizon's busiest cadence).

    Left alone, a pair's offer count is a random walk that drifts upward (more placements than
    cancels and fills: 10 offers become about 25 in 300 ledgers). ``stationary=True`` makes it
    revert to its seeding, ``2 * levels`` offers: above it a maker cancels more often than it
    places, below it places more often, so a long run (a soak measuring memory) keeps a DEX of
    constant size.
    """

    def __init__(
        self,
        markets: int | Sequence[tuple[Any, Any]] = 1,
        *,
        seed: int = 0,
        levels: int = 20,
        changes_per_ledger: tuple[int, int] = (1, 4),
        taker_probability: float = 0.3,
        start_ledger: int = 1000,
        makers: int = 8,
        stationary: bool = False,
    ) -> None:
        from stellar_ob import _impl

        # the network's books: the reference twin, whichever implementation the package runs
        self._offer_book_cls = _impl.twin("offers").OfferBook
        self.rng = random.Random(seed)
        self.levels = levels
        self.changes_per_ledger = changes_per_ledger
        self.taker_probability = taker_probability
        self.stationary = stationary
        self.ledger = start_ledger
        self.closed_at = time.time()
        self.makers = [account_id(f"maker-{seed}-{i}") for i in range(makers)]
        self.takers = [account_id(f"taker-{seed}-{i}") for i in range(makers)]
        pairs = default_pairs(markets) if isinstance(markets, int) else [
            (Asset.parse(b), Asset.parse(c)) for b, c in markets
        ]
        self.pairs: dict[tuple[str, str], SimulatedPair] = {}
        self._next_offer_id = 10_000
        self._next_op = 0
        self.trades: list[dict[str, Any]] = []  # oldest first; paging tokens increase
        self.ledgers: list[dict[str, Any]] = []
        # A list (set by stellar_ob.testing.ledger_meta.LedgerMarket) gets one event per book or
        # pool change, with copies of the offers before and after, so each ledger's meta can be
        # written; None (the default) records nothing.
        self.journal: list[tuple] | None = getattr(self, "journal", None)
        for base, counter in pairs:
            self.add_pair(base, counter)

    # ---- setup -------------------------------------------------------------------------------
    def add_pair(self, base: Any, counter: Any, *, mid: Fraction | None = None) -> SimulatedPair:
        """Add a market (seeded with ``levels`` offers a side) and return it."""
        base, counter = Asset.parse(base), Asset.parse(counter)
        rng = self.rng
        mid_ticks = int((mid or Fraction(rng.randint(500, 50_000), 10_000)) * _TICKS)
        pair = SimulatedPair(base, counter, max(mid_ticks, self.levels + 2), self._offer_book_cls(base, counter))
        pair.pool_id = hashlib.sha256(f"pool {base} {counter}".encode()).hexdigest()
        pair.pool_reserves = [rng.randint(10**9, 10**12), 0]
        pair.pool_reserves[1] = pair.pool_reserves[0] * pair.mid_ticks // _TICKS or 1
        pair.pool_last_modified = self.ledger
        self.pairs[pair.key] = pair
        for k in range(1, self.levels + 1):
            self._place(pair, "ask", k)
            self._place(pair, "bid", k)
        pair.version += 1
        return pair

    def pair(self, base: Any, counter: Any) -> SimulatedPair | None:
        return self.pairs.get((str(Asset.parse(base)), str(Asset.parse(counter))))

    # ---- maker and taker actions -----------------------------------------------------------------
    def _place(self, pair: SimulatedPair, side: str, k: int | None = None) -> int:
        rng = self.rng
        k = k if k is not None else rng.randint(1, self.levels)
        amount = rng.randint(1, 5_000) * 1_000_000
        if side == "ask":  # sells base at (mid + k) / TICKS counter per base
            n, d = pair.mid_ticks + k, _TICKS
        else:  # sells counter at TICKS / (mid - k) base per counter (the offer's own price)
            n, d = _TICKS, pair.mid_ticks - k
        amount = _adjust_offer(n, d, amount) or amount  # core stores what the offer can deliver
        offer_id = self._next_offer_id
        self._next_offer_id += 1
        seller = rng.choice(self.makers)
        pair.book.add_offer(offer_id, side, n, d, amount, seller=seller)
        pair.offers[offer_id] = _Offer(offer_id, side, n, d, amount, seller, self.ledger + 1, time.time())
        if self.journal is not None:
            self.journal.append(("create", pair, replace(pair.offers[offer_id])))
        return offer_id

    def _cancel(self, pair: SimulatedPair, offer_id: int) -> None:
        pair.book.remove_offer(offer_id)
        if self.journal is not None:
            self.journal.append(("remove", pair, replace(pair.offers[offer_id])))
        del pair.offers[offer_id]

    def _change(self, pair: SimulatedPair, offer_id: int, amount: int | None = None) -> None:
        # manage_sell_offer with an existing id: same id, new amount (stellar-core keeps the id)
        o = pair.offers[offer_id]
        before = replace(o) if self.journal is not None else None
        if amount is None:
            amount = self.rng.randint(1, 5_000) * 1_000_000
        o.amount = _adjust_offer(o.n, o.d, amount) or amount
        o.last_modified_ledger = self.ledger + 1
        o.last_modified_time = time.time()
        pair.book.update_offer(offer_id, o.amount)
        if before is not None and self.journal is not None:
            self.journal.append(("update", pair, before, replace(o)))

    def _take(self, pair: SimulatedPair, close_time: float) -> None:
        rng = self.rng
        taker_sells = rng.choice(("base", "counter"))
        amount = rng.randint(1, 3_000) * 1_000_000
        # manage_sell_offer with no price limit: NORMAL rounding, nothing rests afterwards
        execution = pair.book.simulate("sell", amount, taker_sells=taker_sells, apply=True)
        self._next_op += 1
        op_id = ((self.ledger + 1) << 32) | (self._next_op << 12)
        taker = rng.choice(self.takers)
        fills: list[tuple] = []
        for i, fill in enumerate(execution.fills):
            offer = pair.offers.get(fill.offer_id)
            if offer is None:
                continue
            before = replace(offer) if self.journal is not None else None
            remaining = fill.remaining
            if remaining:
                offer.amount = remaining
                offer.last_modified_ledger = self.ledger + 1
                offer.last_modified_time = close_time
            else:
                del pair.offers[fill.offer_id]
            if before is not None:
                fills.append((before, fill.wheat, fill.sheep, replace(offer) if remaining else None))
            self.trades.append(self._trade_record(pair, offer, fill.wheat, fill.sheep, taker, op_id, i, close_time))
        if self.journal is not None and fills:
            self.journal.append(("take", pair, taker, taker_sells, amount, fills))

    def _swap(self, pair: SimulatedPair, close_time: float) -> None:
        """A path payment through the pair's pool (pools trade only in path payments): the pool's
        reserves move and /trades gets a ``liquidity_pool`` trade (no offer is filled)."""
        from stellar_ob import format_amount

        rng = self.rng
        taker_sells_base = rng.random() < 0.5
        x = rng.randint(1, 10**8)
        to_i = 0 if taker_sells_base else 1
        y = _pool_strict_send(pair.pool_reserves[to_i], pair.pool_reserves[1 - to_i], 30, x)
        if y is None:
            return
        before, lm_before = list(pair.pool_reserves), pair.pool_last_modified
        pair.pool_reserves[to_i] += x
        pair.pool_reserves[1 - to_i] -= y
        pair.pool_last_modified = self.ledger + 1
        self._next_op += 1
        op_id = ((self.ledger + 1) << 32) | (self._next_op << 12)
        base_amount, counter_amount = (x, y) if taker_sells_base else (y, x)
        pool_side = "counter" if taker_sells_base else "base"
        token = f"{op_id}-0"
        rec: dict[str, Any] = {"_links": {"self": {"href": ""}}, "id": token, "paging_token": token,
                               "ledger_close_time": _iso(close_time), "trade_type": "liquidity_pool",
                               "liquidity_pool_fee_bp": 30}
        amounts = {"base": base_amount, "counter": counter_amount}
        assets = {"base": pair.base, "counter": pair.counter}
        for side in ("base", "counter"):
            if side == pool_side:
                rec[f"{side}_liquidity_pool_id"] = pair.pool_id
            else:
                rec[f"{side}_offer_id"] = str(_SYNTHETIC_OFFER_BASE + op_id)
                rec[f"{side}_account"] = rng.choice(self.takers)
            rec[f"{side}_amount"] = format_amount(amounts[side])
            rec.update({f"{side}_{k}": v for k, v in assets[side].to_horizon_json().items()})
        rec["base_is_seller"] = pool_side == "base"  # the pool is the seller (of what it paid out)
        g = _gcd(counter_amount, base_amount) or 1
        rec["price"] = {"n": str(counter_amount // g), "d": str(base_amount // g)}
        rec["_pair"] = pair.key
        self.trades.append(rec)
        if self.journal is not None:
            taker = rec.get("base_account") or rec.get("counter_account")
            self.journal.append(("swap", pair, taker, taker_sells_base, x, y, before, list(pair.pool_reserves),
                                 lm_before))

    # ---- actions a test can take (apply them and close_ledger() without awaiting in between, so no
    # ---- request sees the change before its ledger closes) ---------------------------------------
    def place_offer(self, pair: SimulatedPair, side: str, k: int | None = None) -> int:
        """A maker creates an offer ``k`` ticks from the mid (random if None); returns its id."""
        oid = self._place(pair, side, k)
        pair.version += 1
        return oid

    def cancel_offer(self, pair: SimulatedPair, offer_id: int) -> None:
        """A maker cancels an offer (no trade is reported: Horizon has no offer effects)."""
        self._cancel(pair, offer_id)
        pair.version += 1

    def change_offer(self, pair: SimulatedPair, offer_id: int, amount: int | None = None) -> None:
        """A maker edits an offer's amount (random if None), keeping its id (no trade is reported)."""
        self._change(pair, offer_id, amount)
        pair.version += 1

    def swap(self, pair: SimulatedPair) -> None:
        """A path payment through the pair's pool: a ``liquidity_pool`` trade, reserves move."""
        self._swap(pair, time.time())
        pair.pool_last_modified = self.ledger + 1

    def deposit(self, pair: SimulatedPair, base_amount: int, counter_amount: int) -> None:
        """Someone deposits into the pool: its reserves grow and no trade is reported."""
        before, lm_before = list(pair.pool_reserves), pair.pool_last_modified
        pair.pool_reserves[0] += base_amount
        pair.pool_reserves[1] += counter_amount
        pair.pool_last_modified = self.ledger + 1
        if self.journal is not None:
            self.journal.append(("deposit", pair, base_amount, counter_amount, before, list(pair.pool_reserves),
                                 lm_before))

    def take(self, pair: SimulatedPair) -> int:
        """A taker crosses the book (a manage_sell_offer without a price limit): /trades gets one
        record per offer crossed. Returns how many trades it made."""
        before = len(self.trades)
        self._take(pair, time.time())
        pair.version += 1
        return len(self.trades) - before

    def _trade_record(
        self, pair: SimulatedPair, maker: _Offer, wheat: int, sheep: int, taker: str, op_id: int, i: int, ts: float
    ) -> dict[str, Any]:
        """A /trades record as Horizon renders it (protocols/horizon Trade)."""
        from stellar_ob import format_amount

        synthetic = str(_SYNTHETIC_OFFER_BASE + op_id)
        if maker.side == "ask":  # maker sold base: base is the seller
            base_amount, counter_amount = wheat, sheep
            base_offer, base_acct, counter_offer, counter_acct = str(maker.offer_id), maker.seller, synthetic, taker
            base_is_seller = True
        else:
            base_amount, counter_amount = sheep, wheat
            base_offer, base_acct, counter_offer, counter_acct = synthetic, taker, str(maker.offer_id), maker.seller
            base_is_seller = False
        g = _gcd(counter_amount, base_amount) or 1
        token = f"{op_id}-{i}"
        rec: dict[str, Any] = {
            "_links": {"self": {"href": ""}},
            "id": token,
            "paging_token": token,
            "ledger_close_time": _iso(ts),
            "trade_type": "orderbook",
            "base_offer_id": base_offer,
            "base_account": base_acct,
            "base_amount": format_amount(base_amount),
        }
        rec.update({f"base_{k}": v for k, v in pair.base.to_horizon_json().items()})
        rec.update(
            {
                "counter_offer_id": counter_offer,
                "counter_account": counter_acct,
                "counter_amount": format_amount(counter_amount),
            }
        )
        rec.update({f"counter_{k}": v for k, v in pair.counter.to_horizon_json().items()})
        rec["base_is_seller"] = base_is_seller
        rec["price"] = {"n": str(counter_amount // g), "d": str(base_amount // g)}
        rec["_pair"] = pair.key  # stripped before rendering; lets the server filter by market
        return rec

    def step_pair(self, pair: SimulatedPair, close_time: float) -> None:
        """One ledger's worth of activity on one pair (at least one change when configured so)."""
        rng = self.rng
        lo, hi = self.changes_per_ledger
        for _ in range(rng.randint(lo, hi)):
            r = rng.random()
            ids = list(pair.offers)
            place = 0.4  # then 0.3 change, the rest cancel
            if self.stationary and len(ids) != 2 * self.levels:  # back toward its seeding
                place = 0.6 if len(ids) < 2 * self.levels else 0.2
            if r < place or len(ids) < 4:
                self._place(pair, rng.choice(("ask", "bid")))
            elif r < place + 0.3:
                self._change(pair, rng.choice(ids))
            else:
                self._cancel(pair, rng.choice(ids))
        if rng.random() < self.taker_probability:
            self._take(pair, close_time)
        if rng.random() < 0.1:
            self._swap(pair, close_time)
        pair.version += 1

    def close_ledger(self, pairs: Iterable[SimulatedPair] | None = None) -> dict[str, Any]:
        """Advance one ledger on ``pairs`` (all by default); returns the /ledgers record."""
        close_time = time.time()
        for pair in list(self.pairs.values()) if pairs is None else pairs:
            self.step_pair(pair, close_time)
        self.ledger += 1
        self.closed_at = close_time
        h = hashlib.sha256(str(self.ledger).encode()).hexdigest()
        prev = hashlib.sha256(str(self.ledger - 1).encode()).hexdigest()
        record = {
            "_links": {"self": {"href": ""}},
            "id": h,
            "paging_token": str(self.ledger << 32),
            "hash": h,
            "prev_hash": prev,
            "sequence": self.ledger,
            "successful_transaction_count": len(self.pairs),
            "failed_transaction_count": 0,
            "operation_count": len(self.pairs),
            "tx_set_operation_count": len(self.pairs),
            "closed_at": _iso(close_time),
            "total_coins": "105443902087.3472865",
            "fee_pool": "0.0000000",
            "base_fee_in_stroops": 100,
            "base_reserve_in_stroops": 5000000,
            "max_tx_set_size": 1000,
            "protocol_version": 22,
            "header_xdr": "",
        }
        self.ledgers.append(record)
        del self.ledgers[:-1000]
        del self.trades[:-100_000]
        return record

    # ---- views the server renders --------------------------------------------------------------
    def order_book_doc(self, pair: SimulatedPair, limit: int = 20) -> dict[str, Any]:
        """The pair's /order_book document (``limit`` levels a side) as Horizon groups it."""
        return pair.book.to_order_book(limit)


def _gcd(a: int, b: int) -> int:
    from math import gcd

    return gcd(a, b)
