"""The whole Stellar DEX as the ledger holds it: :class:`DexBook`.

A DexBook keeps every offer (keyed by offer id, with its seller), every constant-product pool
(by pool id), and the accounts and trust lines the ledger shows (the sellers' funds), current from
the ledger's own metadata (``LedgerCloseMeta``: RPC ``getLedgers``, SEP-54 data-lake files). The
state lives in C (csrc/ledger/dexbook.h); this module is the Python API over it.

- :meth:`DexBook.apply_ledger` applies one ledger **atomically**: every change is checked first;
  an invalid ledger raises and leaves the book exactly as it was. A ledger that is not the next
  one raises :class:`~stellar_ob.LedgerGapError` unless ``resync=True``.
- STATE entries (the value of an entry before a transaction changes it) are compared with what
  the book holds: a difference is **drift**, reported in :attr:`LedgerUpdate.drift` and per market,
  and the book follows the ledger.
- A book seeded from a full snapshot (:meth:`DexBook.from_snapshot`) has complete markets. A book
  that starts empty learns offers as ledgers touch them, and its markets are never complete
  (:attr:`DexMarket.complete`).

Per market (:meth:`DexBook.market`): the offers in stellar-core's crossing order, and an L2 view at
full depth (no 200-level cap) in Horizon's units: both sides quote counter per base, ask amounts in
base, bid amounts in counter. The L2 view groups offers by the exact value of their price;
:meth:`DexMarket.to_horizon` renders ``/order_book`` as Horizon does (grouping by the float64 of
the price, 200 levels, 7-decimal strings).

>>> from stellar_ob.ledger import DexBook
>>> dex = DexBook()
>>> dex.ledger_seq, dex.offer_count
(0, 0)
"""

from __future__ import annotations

from dataclasses import dataclass, field
from math import gcd
from typing import Any, Dict, Iterable, Iterator, List, Optional, Tuple

from ..amounts import count_arg, format_amount, offer_id_arg, price_string
from ..errors import ArgumentError, OfferNotFoundError
from .._args import side_index
from ._ledger import LedgerReader, _DexBook
from .records import LedgerAsset, Trade

__all__ = ["DexBook", "DexMarket", "LedgerUpdate", "MarketUpdate", "OfferChange", "PoolChange", "PoolState",
           "Drift", "DexOffer"]

SIDES = ("bid", "ask")
_SIDE = {"bid": 0, "ask": 1}
_KIND = {1: "added", 2: "updated", 3: "removed"}
_DRIFT = {1: "differs", 2: "missing", 3: "unexpected"}
_ENTRY = {0: "account", 1: "trustline", 2: "offer", 5: "liquidity_pool"}


def _side(side: Any) -> int:
    """0 for "bid", 1 for "ask": the package's one side vocabulary (InvalidBookError otherwise)."""
    return side_index(side)


def _depth(depth: Any, default: int) -> int:
    """A depth or limit: None for ``default``, else an int >= 0 (TypeError / InvalidBookError)."""
    if depth is None:
        return default
    return count_arg(depth, "depth")


@dataclass(frozen=True)
class OfferChange:
    """One offer's net change over a ledger. ``side``/``n``/``d`` after the change (before it
    for a removal), side relative to the market's stored orientation (:attr:`MarketUpdate.base`).
    ``learned``: the book did not hold it before (an incomplete market learning it)."""

    offer_id: int
    kind: str  # "added", "updated", "removed"
    side: str
    n: int
    d: int
    old_amount: int
    new_amount: int
    seller: Optional[bytes]
    learned: bool


@dataclass(frozen=True)
class PoolChange:
    pool_id: bytes
    kind: str
    old_reserve_a: int
    old_reserve_b: int
    new_reserve_a: int
    new_reserve_b: int


@dataclass(frozen=True)
class Drift:
    """An entry whose ledger state differs from the book's ("differs"), that a complete book did
    not hold ("missing"), or that the ledger created while the book held it ("unexpected").
    ``key``: offer id, pool id, account key, or (account key, asset) for a trust line."""

    entry_type: str
    kind: str
    key: Any
    market: Optional[Tuple[str, str]]


@dataclass
class MarketUpdate:
    """What one ledger changed in one market (stored orientation: ``base`` < ``counter`` by the
    book's asset ids; :meth:`DexBook.market` flips views as asked)."""

    base: LedgerAsset
    counter: LedgerAsset
    offers: List[OfferChange] = field(default_factory=list)
    levels: List[Tuple[str, int, int, int, int]] = field(default_factory=list)  # (side, n, d, old, new)
    pools: List[PoolChange] = field(default_factory=list)
    trades: List[Trade] = field(default_factory=list)
    drift: List[Drift] = field(default_factory=list)

    @property
    def added(self) -> List[OfferChange]:
        return [o for o in self.offers if o.kind == "added"]

    @property
    def updated(self) -> List[OfferChange]:
        return [o for o in self.offers if o.kind == "updated"]

    @property
    def removed(self) -> List[OfferChange]:
        return [o for o in self.offers if o.kind == "removed"]


@dataclass
class LedgerUpdate:
    """The result of :meth:`DexBook.apply_ledger`: per market (keyed ``(str(base), str(counter))``
    in stored orientation) what changed, every drift, and the trades of the ledger."""

    ledger_seq: int
    markets: Dict[Tuple[str, str], MarketUpdate]
    drift: List[Drift]
    trades: List[Trade]
    accounts_changed: int
    trustlines_changed: int


@dataclass(frozen=True)
class PoolState:
    pool_id: bytes
    asset_a: LedgerAsset
    asset_b: LedgerAsset
    fee_bp: int
    reserve_a: int
    reserve_b: int
    total_shares: int
    trustline_count: int


@dataclass(frozen=True)
class DexOffer:
    """One resting offer: ``side`` "ask" sells the view's base, "bid" sells its counter; ``n/d`` is
    the offer's own price (what it buys per unit of what it sells); ``amount`` in what it sells;
    ``sponsor``: the 32-byte key of the account sponsoring its reserve (the ledger entry's
    ``sponsoringID``), None when it is not sponsored."""

    offer_id: int
    side: str
    n: int
    d: int
    amount: int
    seller: Optional[bytes]
    flags: int
    sponsor: Optional[bytes] = None


def _level(t: Optional[Tuple[int, int, int]]):
    if t is None:
        return None
    from .. import Level, Price

    return Level(Price(t[0], t[1]), t[2])


class DexMarket:
    """Read access to one market of a :class:`DexBook`, in the orientation asked for.

    It reads the live book: after the next ``apply_ledger`` it shows the new state. Its methods
    follow :class:`stellar_ob.OrderBook` (best_bid, best_ask, bids, asks, spread, mid) and
    :class:`stellar_ob.OfferBook` (offers, best_offer, get, levels, to_order_book); for quotes and
    exact simulation take a copy with :meth:`to_orderbook` / :meth:`to_offerbook`.
    """

    __slots__ = ("_dex", "_c", "_m", "_flipped", "base", "counter")

    def __init__(self, dex: "DexBook", m: int, flipped: bool, base: LedgerAsset, counter: LedgerAsset) -> None:
        self._dex = dex
        self._c = dex._c
        self._m = m
        self._flipped = flipped
        self.base = base
        self.counter = counter

    def __repr__(self) -> str:
        return f"DexMarket({str(self.base)!r}, {str(self.counter)!r}, offers={len(self)}, complete={self.complete})"

    @property
    def complete(self) -> bool:
        """True when the book holds every offer of the market (seeded from a full snapshot)."""
        return self._c.market_info(self._m)[2]

    def __len__(self) -> int:
        return self._c.offer_count_of(self._m, False, 0) + self._c.offer_count_of(self._m, False, 1)

    # -- L2 (exact price grouping, full depth) --
    def best_bid(self):
        """The best bid level (``Level(price, amount)``, counter per base; amount in counter) or None. O(1)."""
        return _level(self._c.best(self._m, self._flipped, 0))

    def best_ask(self):
        """The best ask level (amount in base) or None. O(1)."""
        return _level(self._c.best(self._m, self._flipped, 1))

    def spread(self):
        from fractions import Fraction

        b, a = self._c.best(self._m, self._flipped, 0), self._c.best(self._m, self._flipped, 1)
        if b is None or a is None:
            return None
        return Fraction(a[0], a[1]) - Fraction(b[0], b[1])

    def mid(self):
        from fractions import Fraction

        b, a = self._c.best(self._m, self._flipped, 0), self._c.best(self._m, self._flipped, 1)
        if b is None or a is None:
            return None
        return (Fraction(a[0], a[1]) + Fraction(b[0], b[1])) / 2

    def bids(self, depth: Optional[int] = None):
        """Bid levels best first (all by default). O(depth)."""
        return [_level(t) for t in self._c.levels(self._m, self._flipped, 0, _depth(depth, 2**62))]

    def asks(self, depth: Optional[int] = None):
        """Ask levels best first (all by default). O(depth)."""
        return [_level(t) for t in self._c.levels(self._m, self._flipped, 1, _depth(depth, 2**62))]

    # -- offers (core's crossing order) --
    def offers(self, side: str, depth: Optional[int] = None) -> List[DexOffer]:
        """The first ``depth`` offers of a side (all by default) in stellar-core's crossing order."""
        s = _side(side)
        rows = self._c.offers(self._m, self._flipped, s, 0, _depth(depth, 2**62))
        return [DexOffer(r[0], side, r[1], r[2], r[3], r[4], r[5], r[6]) for r in rows]

    def best_offer(self, side: str) -> Optional[DexOffer]:
        got = self.offers(side, 1)
        return got[0] if got else None

    def get(self, offer_id: int) -> DexOffer:
        """An offer of this market by id: OfferNotFoundError (a KeyError) if it is not in this
        market; ids are int64 >= 0 as everywhere (TypeError / InvalidBookError otherwise)."""
        offer_id = offer_id_arg(offer_id)
        r = self._c.offer(offer_id)
        if r is None or r[0] != self._m:
            raise OfferNotFoundError(f"offer {offer_id} is not in this market")
        side = r[1] if not self._flipped else 1 - r[1]
        return DexOffer(offer_id, SIDES[side], r[2], r[3], r[4], r[5], r[6], r[7])

    def __contains__(self, offer_id: object) -> bool:
        try:
            self.get(offer_id)  # type: ignore[arg-type]
        except (KeyError, TypeError, ValueError):
            return False
        return True

    def levels(self, side: str, depth: Optional[int] = None) -> List[Tuple[int, int, int]]:
        """Levels as Horizon's ``/order_book`` groups them: ``(n, d, amount)`` best first.

        Offers are grouped by the float64 of their own n/d (Horizon's GROUP BY of its double
        ``price`` column, as :meth:`stellar_ob.OfferBook.levels`); a level reports the n/d of its
        first offer (lowest id at equal price), reduced, inverted for bids.

        Read from the exact L2 view when it can be, O(levels): offers of one exact price are one
        exact level (at its reduced price), and equal rationals have equal float64 quotients (both
        terms are exact in a double and IEEE division rounds the exact quotient), so a group is a
        run of adjacent exact levels with one float64 key. A run of one level is at that level's
        price. A run of several (distinct prices one double apart: rare) is at its first offer's
        price in core's crossing order, which orders such offers by id, not by exact price: the
        offers are walked then.
        """
        return self._grouped(_side(side), _depth(depth, 2**62))

    def _grouped(self, s: int, limit: int) -> List[Tuple[int, int, int]]:
        c, m, flipped = self._c, self._m, self._flipped
        fetch = limit + 16 if limit < 2**61 else limit
        while True:
            exact = c.levels(m, flipped, s, fetch)
            out: List[Tuple[int, int, int]] = []
            last_key = None
            complete = len(exact) < fetch  # every exact level read
            for n, d, amount in exact:
                # the offers' own price: asks sell base (n/d as listed), bids sell counter (d/n)
                key = float(d) / float(n) if s == 0 else float(n) / float(d)
                if key == last_key:
                    return self._walk_levels(s, limit)  # a float64 collision: its price is an offer's
                if len(out) >= limit:
                    complete = True  # the last group ended before this level
                    break
                last_key = key
                out.append((n, d, amount))
            if complete:
                return out
            fetch = 2**62  # the last group may go on past what was read: read them all

    def _walk_levels(self, s: int, limit: int) -> List[Tuple[int, int, int]]:
        """Horizon's grouping walking the offers in crossing order (O(offers))."""
        out: List[Tuple[int, int, int]] = []
        last_key = None
        start = 0
        chunk = 256
        while True:
            rows = self._c.offers(self._m, self._flipped, s, start, chunk)
            if not rows:
                return out
            for oid, n, d, amount, *_rest in rows:
                key = float(n) / float(d)
                if key == last_key:
                    pn, pd, pa = out[-1]
                    out[-1] = (pn, pd, pa + amount)
                    continue
                if len(out) >= limit:
                    return out
                last_key = key
                g = gcd(n, d)
                n, d = n // g, d // g
                if s == 0:
                    n, d = d, n
                out.append((n, d, amount))
            start += len(rows)
            chunk = min(chunk * 4, 65536)

    def to_horizon(self, limit: int = 200) -> Dict[str, Any]:
        """The body Horizon's ``GET /order_book`` returns for this market (``limit`` levels a side,
        Horizon's price and amount strings)."""
        limit = _depth(limit, 200)

        def side(name: str) -> List[Dict[str, Any]]:
            return [{"price_r": {"n": n, "d": d}, "price": price_string(n, d), "amount": format_amount(a)}
                    for n, d, a in self.levels(name, limit)]

        return {"bids": side("bid"), "asks": side("ask"), "base": _horizon_asset(self.base),
                "counter": _horizon_asset(self.counter)}

    to_order_book = to_horizon

    def pools(self) -> List[PoolState]:
        """The pools of this pair."""
        return [p for p, m in self._dex._pool_rows() if m == self._m]

    def to_orderbook(self):
        """A :class:`stellar_ob.OrderBook` copy of the L2 view (for quotes)."""
        from .. import OrderBook

        book = OrderBook(self.base.to_asset(), self.counter.to_asset())
        book.apply_snapshot(bids=[(lv.price.n, lv.price.d, lv.amount) for lv in self.bids()],
                            asks=[(lv.price.n, lv.price.d, lv.amount) for lv in self.asks()])
        return book

    def to_offerbook(self):
        """A :class:`stellar_ob.OfferBook` copy of the offers (for exact simulation)."""
        from .. import OfferBook
        from .records import encode_account

        book = OfferBook(self.base.to_asset(), self.counter.to_asset())
        for side in SIDES:
            for o in self.offers(side):
                book.add_offer(o.offer_id, side, o.n, o.d, o.amount, encode_account(o.seller) if o.seller else None)
        return book


def _horizon_asset(a: LedgerAsset) -> Dict[str, str]:
    if a.type == 0:
        return {"asset_type": "native"}
    from .records import encode_account

    return {"asset_type": "credit_alphanum4" if a.type == 1 else "credit_alphanum12", "asset_code": a.code_str,
            "asset_issuer": encode_account(a.issuer)}


def _plain_asset(a: Any) -> LedgerAsset:
    """A LedgerAsset of exact types (a subclass or lookalike is rebuilt from checked fields)."""
    a = _as_ledger_asset(a)
    t, code, issuer = tuple.__getitem__(a, 0), tuple.__getitem__(a, 1), tuple.__getitem__(a, 2)
    if type(t) is not int or type(code) is not bytes or type(issuer) is not bytes:
        raise TypeError("a LedgerAsset holds an int type and bytes code and issuer")
    return LedgerAsset(t, code, issuer)


def _as_ledger_asset(a: Any) -> LedgerAsset:
    if isinstance(a, LedgerAsset):
        return a
    return LedgerAsset.from_asset(a)


class DexBook:
    """Every offer and pool of the DEX, kept current from the ledger (see the module docstring).

    Memory is O(offers + pools + accounts + trust lines); apply is O(changes of the ledger) plus
    O(log n) per offer changed.

    ``assets`` / ``markets`` (keywords) keep only part of the DEX: the markets between any two of
    the chosen assets, and the chosen markets (``(base, counter)`` pairs, either orientation), with
    their offers and pools; and only the accounts that sell in those markets (from the first ledger
    or seed that shows them selling there), with their trust lines in those markets' assets.
    Everything else is dropped as it arrives (it is not validated). Assets as
    :meth:`stellar_ob.Asset.parse` takes them ("XLM", "USDC:G...", an Asset) or LedgerAsset. Such a
    book equals an unfiltered book fed the same ledgers, restricted to those markets and sellers;
    its updates list only those markets' changes and trades.
    """

    def __init__(self, *, assets: Any = None, markets: Any = None) -> None:
        self._c = _DexBook()
        self._names: Dict[int, Tuple[str, str]] = {}  # market index -> its key (see _market_key)
        if assets is not None or markets is not None:
            self._set_filter(assets, markets)

    def _set_filter(self, assets: Any, markets: Any) -> None:
        if isinstance(assets, (str, bytes)) or isinstance(markets, (str, bytes)):
            raise TypeError("assets and markets are collections (of assets, of (base, counter) pairs)")
        chosen = [_plain_asset(a) for a in (assets or ())]
        pairs = []
        for m in markets or ():
            if isinstance(m, (str, bytes)) or len(m) != 2:
                raise TypeError(f"a market is a (base, counter) pair, got {m!r}")
            pairs.append((_plain_asset(m[0]), _plain_asset(m[1])))
        if not chosen and not pairs:
            raise ArgumentError("a filter keeps at least one asset or market")
        self._c.set_filter(chosen, pairs)
        self._filter = (tuple(chosen), tuple(pairs))

    @property
    def filter(self) -> Optional[Tuple[Tuple[LedgerAsset, ...], Tuple[Tuple[LedgerAsset, LedgerAsset], ...]]]:
        """(assets, markets) this book keeps, None when it keeps the whole DEX."""
        return getattr(self, "_filter", None)

    @classmethod
    def from_snapshot(cls, changes: Any, ledger_seq: int, *, assets: Any = None,
                      markets: Any = None) -> "DexBook":
        """A book from a full snapshot (a bare ``LedgerEntryChanges``, raw or base64) as of the end
        of ``ledger_seq``: every market complete. ``assets`` / ``markets``: as for the constructor."""
        dex = cls(assets=assets, markets=markets)
        dex._c.seed(changes, ledger_seq, True)
        return dex

    def seed(self, changes: Any, ledger_seq: int) -> None:
        """Load entries (a bare ``LedgerEntryChanges``) as the state at the end of ``ledger_seq``,
        replacing what the book holds for the same keys. Markets stay incomplete."""
        self._c.seed(changes, ledger_seq, False)

    def seed_from_states(self, reader: LedgerReader) -> None:
        """Seed from the STATE entries of the reader's current ledger (the state before it of every
        entry it touches), as of the ledger before it: a drift-free start for that ledger."""
        self._c.seed_states_of(reader)

    @property
    def ledger_seq(self) -> int:
        """The last ledger applied (0: none)."""
        return self._c.ledger_seq

    @property
    def offer_count(self) -> int:
        return self._c.offer_count

    @property
    def market_count(self) -> int:
        return self._c.market_count

    def apply_ledger(self, meta: Any, *, resync: bool = False) -> LedgerUpdate:
        """Apply one ``LedgerCloseMeta`` (raw XDR bytes-like, or base64 text as RPC sends it).

        All or nothing: ParseError (malformed meta), InvalidBookError (an entry no ledger holds),
        LedgerGapError (not the next ledger, unless ``resync``): the book unchanged.
        """
        if type(resync) is not bool:
            raise TypeError("resync must be a bool")
        return self._update(self._c.apply(meta, resync))

    def apply_reader(self, reader: LedgerReader, *, resync: bool = False) -> LedgerUpdate:
        """Apply the ledger a :class:`~stellar_ob.ledger._ledger.LedgerReader` decoded last (``reader.next_ledger()``)."""
        return self._update(self._c.apply_reader(reader, bool(resync)))

    def replay(self, reader: LedgerReader, *, resync: bool = False) -> Iterator[LedgerUpdate]:
        """Apply every ledger of a reader, yielding each update."""
        while reader.next_ledger():
            yield self.apply_reader(reader, resync=resync)
            resync = False

    def _market_key(self, m: int, cache: Any = None) -> Tuple[str, str]:
        """A market's ``(str(base), str(counter))``, kept for the book's life: a market keeps its
        index once a ledger or seed that created it succeeded (a failed apply rolls back only the
        markets it created, which no update named), and str() of an asset with an issuer costs a
        StrKey encoding (CRC16 in Python), which a ledger must not pay per changed market. Only the
        strings are kept (a tuple of str, which the garbage collector untracks; LedgerAssets, tuple
        subclasses, it would track for good: two per market of the DEX)."""
        got = self._names.get(m)
        if got is None:
            base, counter, _complete, _np = self._c.market_info(m)
            got = self._names[m] = (str(base), str(counter))
        return got

    def _update(self, raw: Tuple, wanted: Any = None) -> LedgerUpdate:
        """The LedgerUpdate of a raw apply result. ``wanted`` (a container of market keys, for a
        consumer that follows only some markets, e.g. Follow): MarketUpdates are built for those
        markets only (the whole-ledger drift and trades lists stay complete)."""
        seq, offers, levels, pools, trades, drift, n_acc, n_tl = raw
        markets: Dict[Tuple[str, str], MarketUpdate] = {}
        by_index: Dict[int, Optional[MarketUpdate]] = {}
        key_of = self._market_key
        info = self._c.market_info

        def mu(m: int) -> Optional[MarketUpdate]:
            try:
                return by_index[m]
            except KeyError:
                pass
            key = key_of(m)
            u = None
            if wanted is None or key in wanted:
                base, counter, _complete, _np = info(m)
                u = markets[key] = MarketUpdate(base, counter)
            by_index[m] = u
            return u

        for m, kind, side, learned, seller, oid, n, d, old, new in offers:
            u = mu(m)
            if u is not None:
                u.offers.append(OfferChange(oid, _KIND[kind], SIDES[side], n, d, old, new, seller, bool(learned)))
        for m, side, n, d, old, new in levels:
            u = mu(m)
            if u is not None:
                u.levels.append((SIDES[side], n, d, old, new))
        for m, kind, pid, oa, ob, na, nb in pools:
            u = mu(m)
            if u is not None:
                u.pools.append(PoolChange(pid, _KIND[kind], oa, ob, na, nb))
        all_trades = []
        for m, t in trades:
            all_trades.append(t)
            if m != 0xFFFFFFFF:
                u = mu(m)
                if u is not None:
                    u.trades.append(t)
        drifts = []
        for m, etype, kind, key in drift:
            market = None if m == 0xFFFFFFFF else self._market_key(m)
            dr = Drift(_ENTRY[etype], _DRIFT[kind], key, market)
            drifts.append(dr)
            if market is not None:
                u = mu(m)
                if u is not None:
                    u.drift.append(dr)
        return LedgerUpdate(seq, markets, drifts, all_trades, n_acc, n_tl)

    def market(self, base: Any, counter: Any) -> DexMarket:
        """The market of a pair in the orientation asked for (assets as ``"XLM"``, ``"USDC:G..."``,
        :class:`stellar_ob.Asset` or :class:`~stellar_ob.ledger.records.LedgerAsset`). KeyError if the book has never seen it."""
        b, c = _as_ledger_asset(base), _as_ledger_asset(counter)
        found = self._c.find_market(b, c)
        if found is None:
            raise KeyError(f"no market {b}/{c} in the book")
        return DexMarket(self, found[0], found[1], b, c)

    def markets(self) -> List[Tuple[LedgerAsset, LedgerAsset]]:
        """Every market's (base, counter) in stored orientation."""
        return [self._c.market_info(m)[:2] for m in range(self._c.market_count)]

    def complete_markets(self) -> List[Tuple[LedgerAsset, LedgerAsset]]:
        """The markets the book holds completely (only after a full snapshot)."""
        out = []
        for m in range(self._c.market_count):
            base, counter, complete, _n = self._c.market_info(m)
            if complete:
                out.append((base, counter))
        return out

    def _pool_rows(self) -> List[Tuple[PoolState, int]]:
        return [(PoolState(*row[:8]), row[8]) for row in self._c.pools()]

    @property
    def pools(self) -> List[PoolState]:
        """Every live pool."""
        return [p for p, _m in self._pool_rows()]

    def to_horizon(self, base: Any, counter: Any, limit: int = 200) -> Dict[str, Any]:
        """``/order_book`` of a market exactly as Horizon renders it (see :meth:`DexMarket.to_horizon`).
        A pair the book has never seen renders as an empty book, as Horizon answers it."""
        try:
            return self.market(base, counter).to_horizon(limit)
        except KeyError:
            b, c = _as_ledger_asset(base), _as_ledger_asset(counter)
            return {"bids": [], "asks": [], "base": _horizon_asset(b), "counter": _horizon_asset(c)}

    def find_paths(self, kind: str, source_asset: Any, amount: int, destination_assets: Any, *, max_hops: int = 4,
                   limit: int = 5, exclude_pools: bool = False, protocol: Optional[int] = None,
                   exhaustive: bool = False, refresh: bool = False, sellers_funds: bool = True,
                   timeout: Optional[float] = None, max_evaluations: int = 2_000_000) -> Any:
        """Exact paths over every market and pool of the book (:func:`stellar_ob.find_paths`).

        ``kind`` "strict_send": ``amount`` of ``source_asset`` is sent, and per destination asset
        the ``limit`` paths delivering the most are returned; "strict_receive": ``source_asset`` is
        the asset received, ``amount`` what must arrive, and ``destination_assets`` are the assets
        that may be sent (the least sent first). Every path was executed with stellar-core's rules
        on the book's state (result SUCCESS); see docs/paths.md for what can still fail on the
        network.

        Sellers' funds: by default each offer delivers only what its seller can (the balances,
        liabilities and trust-line limits the book holds, and the issuers it registered), as
        stellar-core crosses it; a seller the book holds no entry for counts as fully funded.
        ``sellers_funds=False`` ignores funds as Horizon does. ``protocol`` None: the book's.
        ``timeout`` seconds: the search stops then and says so (``stopped="deadline"``).

        The search reads the book in place through a :class:`stellar_ob.DexPathGraph` (no copy of
        the offers), rebuilt the first search after the book changed (O(markets), plus the cached
        depth of each side's first 1000 offers). After :meth:`seed` at the same ledger pass
        ``refresh=True``. Threads may search at once, but the book must not change while they do
        (stellar_ob.server holds a readers-writer lock around its ledgers). C only: under
        ``STELLAR_OB_PURE=1`` it raises :class:`stellar_ob.PathFindingUnavailableError`.

        For example (C only, so not a doctest: the doctests also run on the twin)::

            found = dex.find_paths("strict_send", "XLM", 10_0000000, ["USDC:GA5Z...KZVN"], max_hops=3)
            best = found.paths[0]  # best.path, best.destination_amount, best.hops, found.optimal
        """
        import threading

        from ..errors import PathFindingUnavailableError

        try:
            from .. import _paths
        except ImportError:  # the compiled extension is not built
            raise PathFindingUnavailableError("find_paths runs in C only and the extension is not built") from None
        if type(refresh) is not bool:
            raise TypeError("refresh must be a bool")
        lock = self.__dict__.setdefault("_paths_lock", threading.Lock())
        with lock:  # one rebuild when several threads find the book changed
            graph = self.__dict__.get("_path_graph")
            if refresh or graph is None or graph.state != _paths.dex_state(self._c):
                graph = _paths.DexPathGraph(self._c, previous=graph)
                self._path_graph = graph
        return graph.find_paths(kind, source_asset, amount, destination_assets, max_hops=max_hops, limit=limit,
                                exclude_pools=exclude_pools, protocol=protocol, exhaustive=exhaustive,
                                max_evaluations=max_evaluations, timeout=timeout, sellers_funds=sellers_funds)

    def account(self, account: Any) -> Optional[Dict[str, int]]:
        """The funds the book holds for an account (G... or 32-byte key), or None."""
        key = _account_key(account)
        r = self._c.account_entry(key)
        if r is None:
            return None
        names = ("balance", "buying_liabilities", "selling_liabilities", "num_sub_entries", "num_sponsoring",
                 "num_sponsored", "flags")
        return dict(zip(names, r))

    def trustline(self, account: Any, asset: Any) -> Optional[Dict[str, int]]:
        """A trust line the book holds (balance, limit, liabilities, flags), or None."""
        r = self._c.trustline_entry(_account_key(account), _as_ledger_asset(asset))
        if r is None:
            return None
        return dict(zip(("balance", "limit", "buying_liabilities", "selling_liabilities", "flags"), r))

    def check(self) -> None:
        """Assert every invariant (O(everything)): the L2 views equal the aggregation of the offers."""
        self._c.check()

    def memory(self) -> int:
        """Bytes of the book's own allocations (capacities; malloc overhead not counted)."""
        return self._c.memory()


def _account_key(account: Any) -> bytes:
    from .records import decode_account

    if isinstance(account, (bytes, bytearray)) and len(account) == 32:
        return bytes(account)
    if isinstance(account, str):
        return decode_account(account)
    raise TypeError("an account is a G... StrKey or 32 bytes")
