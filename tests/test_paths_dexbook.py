"""DexBook.find_paths with sellers' funds (issue 15), against tests/core_reference.py.

The search reads the DexBook in place (stellar_ob.DexPathGraph) with the book's accounts table:
each offer delivers what its seller can (balance, liabilities, trust-line limits), as
stellar-core crosses it. Checked on two books:

- the mainnet ledger fixture (tests/data/ledger, ledger 53312000), seeded from its STATE entries
  and applied: the book holds the accounts and trust lines that ledger touched;
- a LedgerMarket (stellar_ob.testing.ledger_meta) whose ledgers feed a DexBook.

Every path returned (funds on, and funds off) is re-executed by the reference on a ledger built
from the same offers, pools, accounts and trust lines (funds off: the same offers with unknown,
fully funded sellers), and must give SUCCESS with the same amounts and venues.
"""

from __future__ import annotations

import os
import random
from typing import List

import pytest

import core_reference as cr

_paths = pytest.importorskip("stellar_ob._paths")
if os.environ.get("STELLAR_OB_PURE", "") not in ("", "0"):
    pytest.skip("find_paths is C only (test_paths.py checks the error under the twin)", allow_module_level=True)

from stellar_ob import Asset  # noqa: E402
from stellar_ob.ledger import DexBook  # noqa: E402
from stellar_ob.ledger._ledger import FORM_BATCH, LedgerReader  # noqa: E402
from stellar_ob.ledger.records import encode_account  # noqa: E402

DATA = os.path.join(os.path.dirname(__file__), "data", "ledger")
INT64_MAX = 2**63 - 1
PROTOCOL = 22


def reference_ledger(dex: DexBook, funds: bool, protocol: int = PROTOCOL) -> "cr.Ledger":
    """The reference ledger of the book: its offers and live pools; with ``funds`` also every
    seller's account and trust lines the book holds (a seller it holds nothing for is unknown, fully
    funded, in both models); without, every seller unknown (fully funded)."""
    L = cr.Ledger(protocol=protocol)
    sellers = {}
    for b, c in dex.markets():
        base, counter = str(b.to_asset()), str(c.to_asset())
        m = dex.market(b, c)
        for side, sells, buys in (("ask", base, counter), ("bid", counter, base)):
            for o in m.offers(side):
                who = encode_account(o.seller) if (o.seller and funds) else f"S{o.offer_id}"
                L.add_offer(who, o.offer_id, sells, buys, o.amount, o.n, o.d)
                if o.seller and funds:
                    sellers.setdefault(who, set()).update((sells, buys))
    for p in dex.pools:
        if p.reserve_a > 0 and p.reserve_b > 0 and (str(p.asset_a.to_asset()), str(p.asset_b.to_asset())) \
                not in [(k[0], k[1]) for k in L.pools]:
            L.set_pool(str(p.asset_a.to_asset()), str(p.asset_b.to_asset()), p.reserve_a, p.reserve_b)
    for who, assets in sellers.items():
        acc = dex.account(who)
        if acc is None:
            continue
        L.set_account(who, acc["balance"], num_sub_entries=acc["num_sub_entries"],
                      num_sponsoring=acc["num_sponsoring"], num_sponsored=acc["num_sponsored"],
                      buying_liabilities=acc["buying_liabilities"], selling_liabilities=acc["selling_liabilities"],
                      flags=acc["flags"])
        for a in assets:
            if a == "native" or cr.is_issuer(who, a):
                continue
            tl = dex.trustline(who, a)
            if tl is not None:
                L.set_trustline(who, a, tl["balance"], tl["limit"], buying_liabilities=tl["buying_liabilities"],
                                selling_liabilities=tl["selling_liabilities"], flags=tl["flags"])
    return L


def reexecute(L, p) -> None:
    assets = [str(p.source_asset)] + [str(a) for a in p.path] + [str(p.destination_asset)]
    if p.kind == "strict_send":
        r = cr.path_payment_strict_send(L, "taker", assets[0], p.source_amount, "taker", assets[-1], 1,
                                        path=assets[1:-1])
        hops = r.hops
    else:
        r = cr.path_payment_strict_receive(L, "taker", assets[0], INT64_MAX, "taker", assets[-1],
                                           p.destination_amount, path=assets[1:-1])
        hops = tuple(reversed(r.hops))
    assert r.code.endswith("_SUCCESS"), (assets, r.code)
    assert (r.sent, r.received) == (p.source_amount, p.destination_amount), assets
    assert tuple(h.venue for h in hops) == tuple(h.venue for h in p.hops), assets


def _queries(dex: DexBook, rng: random.Random, count: int):
    """(kind, from, amount, targets): from an asset with a market, to up to 6 other assets."""
    assets: List[Asset] = sorted({a.to_asset() for pair in dex.markets() for a in pair}, key=str)
    out = []
    for i in range(count):
        src = rng.choice(assets)
        targets = rng.sample([a for a in assets if a != src], min(6, len(assets) - 1))
        amount = rng.choice([10**5, 10**7, 10**9, 10**11])
        out.append(("strict_send" if i % 2 == 0 else "strict_receive", src, amount, targets))
    return out


def _check_book(dex: DexBook, nqueries: int, seed: int) -> int:
    checked = 0
    refs = {True: reference_ledger(dex, True), False: reference_ledger(dex, False)}
    for kind, src, amount, targets in _queries(dex, random.Random(seed), nqueries):
        for funds in (True, False):
            res = dex.find_paths(kind, src, amount, targets, max_hops=3, limit=3, protocol=PROTOCOL,
                                 sellers_funds=funds)
            assert res.optimal and res.stopped is None
            for p in res.paths:
                reexecute(refs[funds], p)
                checked += 1
    return checked


@pytest.fixture(scope="module")
def mainnet_dex():
    with open(os.path.join(DATA, "FCD285FF--53312000.xdr"), "rb") as fh:
        data = fh.read()
    r = LedgerReader(data, FORM_BATCH)
    assert r.next_ledger()
    dex = DexBook()
    dex.seed_from_states(r)
    dex.apply_reader(r)
    return dex


def test_mainnet_paths_with_sellers_funds_reexecute(mainnet_dex):
    dex = mainnet_dex
    assert dex.offer_count >= 50
    checked = _check_book(dex, 40, seed=15)
    assert checked >= 20  # the test has teeth: most queries over the ledger's markets find paths


def test_ledger_market_paths_with_sellers_funds_reexecute():
    from stellar_ob.testing.ledger_meta import LedgerMarket

    market = LedgerMarket(8, seed=15)
    dex = DexBook()
    market.add_listener(lambda seq, meta: dex.apply_ledger(meta, resync=(dex.ledger_seq == 0)))
    for _ in range(6):
        market.close_ledger()
    assert dex.offer_count > 0
    checked = _check_book(dex, 30, seed=16)
    assert checked >= 10


def test_pathgraph_and_dexgraph_threads_share_nothing_mutable(mainnet_dex):
    """Searches from several threads at once on one graph give the same results as one by one
    (each search takes its own scratch; the GIL is released during the C search)."""
    import concurrent.futures as cf

    import test_paths as tp

    rng = random.Random(5)
    rows, _L = tp.random_dex(rng, 40, 120)
    g = _paths.PathGraph(rows)
    names = sorted({r[0] for r in rows} | {r[1] for r in rows})
    qs = [(names[i % len(names)], [n for n in names if n != names[i % len(names)]][:8]) for i in range(60)]

    def one(q):
        r = g.find_paths("strict_send", q[0], 10**7, q[1], max_hops=3, limit=2)
        return [(str(p.destination_asset), p.path, p.destination_amount) for p in r.paths]

    serial = [one(q) for q in qs]
    with cf.ThreadPoolExecutor(4) as ex:
        parallel = list(ex.map(one, qs))
    assert parallel == serial
    assert sum(map(len, serial)) > 20
    # the same on a DexPathGraph over the mainnet book, with sellers' funds
    dg = _paths.DexPathGraph(mainnet_dex)
    dqs = _queries(mainnet_dex, random.Random(9), 40)

    def dex_one(q):
        r = dg.find_paths(q[0], q[1], q[2], q[3], max_hops=3, limit=2, protocol=PROTOCOL)
        return [(str(p.destination_asset), str(p.source_asset), p.path, p.source_amount, p.destination_amount)
                for p in r.paths]

    serial = [dex_one(q) for q in dqs]
    with cf.ThreadPoolExecutor(4) as ex:
        parallel = list(ex.map(dex_one, dqs))
    assert parallel == serial
    assert sum(map(len, serial)) > 10


def test_deadline_stops_a_search_and_says_so():
    import test_paths as tp

    rows, _L = tp.random_dex(random.Random(3), 60, 200)
    g = _paths.PathGraph(rows)
    names = sorted({r[0] for r in rows} | {r[1] for r in rows})
    r = g.find_paths("strict_send", names[0], 10**7, names[1:9], max_hops=4, timeout=1e-9)
    assert r.stopped == "deadline" and not r.optimal
    r = g.find_paths("strict_send", names[0], 10**7, names[1:9], max_hops=4, max_evaluations=1)
    assert r.stopped == "max_evaluations" and not r.optimal
    r = g.find_paths("strict_send", names[0], 10**7, names[1:9], max_hops=3, timeout=3600)
    assert r.stopped is None and r.optimal and r.search_ns > 0
    for bad in (0, -1, float("nan"), 10**6):
        with pytest.raises(_paths.PathArgumentError):
            g.find_paths("strict_send", names[0], 10**7, names[1:9], timeout=bad)
    for bad in ("1", True, [1]):
        with pytest.raises(TypeError):
            g.find_paths("strict_send", names[0], 10**7, names[1:9], timeout=bad)


def test_dex_graph_refuses_a_changed_book_and_dexbook_rebuilds():
    with open(os.path.join(DATA, "FCD285FF--53312000.xdr"), "rb") as fh:
        data = fh.read()
    r = LedgerReader(data, FORM_BATCH)
    assert r.next_ledger()
    dex = DexBook()
    dex.seed_from_states(r)
    g = _paths.DexPathGraph(dex)
    assert g.state == _paths.dex_state(dex) and g.state[0] == 53_312_000 - 1
    xlm = Asset.native()
    usdc = next(a for pair in dex.markets() for a in (p.to_asset() for p in pair) if a.code == "USDC")
    g.find_paths("strict_send", xlm, 10**7, [usdc], max_hops=2)  # the state it was built on: fine
    dex.apply_reader(r)  # the book changes under the graph
    assert _paths.dex_state(dex) != g.state
    with pytest.raises(_paths.PathArgumentError, match="changed"):
        g.find_paths("strict_send", xlm, 10**7, [usdc], max_hops=2)
    # DexBook.find_paths builds a new graph for the new state, and its paths re-execute
    res = dex.find_paths("strict_send", xlm, 10**7, [usdc], max_hops=2, protocol=PROTOCOL)
    assert dex._path_graph is not g and dex._path_graph.state == _paths.dex_state(dex)
    assert res.paths
    ref = reference_ledger(dex, True)
    for p in res.paths:
        reexecute(ref, p)
    with pytest.raises(TypeError):
        _paths.DexPathGraph(object())
    with pytest.raises(TypeError):
        dex.find_paths("strict_send", xlm, 10**7, [usdc], sellers_funds=1)


# ---- a book where sellers' funds bind --------------------------------------------------------------
# Neither fixture above has an offer its seller cannot fully fund, so there the two modes give the
# same paths. Here the best USD offer's seller holds a tenth of what the offer sells (the offer's
# selling liabilities say 1,000 USD, the trust line holds 100): core crosses it for what the seller
# has, and the rest of the amount goes to the next, worse offer. Funds off (Horizon's view) takes
# the offer at its face amount. Both answers re-execute in the reference on their own model.

_ISSUER, _S1, _S2 = b"\x01" * 32, b"\x02" * 32, b"\x03" * 32
_XLM, _USD = (0, b"", b""), (1, b"USD\0", _ISSUER)
_UNIT = 10**7


def _binding_funds_dex() -> DexBook:
    from types import SimpleNamespace

    from stellar_ob.ledger.bootstrap import snapshot_changes

    def account(key: bytes, buying: int) -> dict:
        return dict(account=key, balance=10_000 * _UNIT, seq_num=1, num_sub_entries=2, flags=0, last_modified=5,
                    buying_liabilities=buying, selling_liabilities=0)

    def usd_line(key: bytes, balance: int, selling: int) -> dict:
        return dict(account=key, asset=_USD, balance=balance, limit=INT64_MAX, flags=1, last_modified=5,
                    buying_liabilities=0, selling_liabilities=selling)

    def offer(key: bytes, oid: int, amount: int, n: int) -> dict:  # sells USD for XLM at n XLM per USD
        return dict(seller=key, offer_id=oid, selling=_USD, buying=_XLM, amount=amount, n=n, d=1, flags=0,
                    last_modified=5)

    snap = SimpleNamespace(
        ledger=10,
        accounts=[account(_S1, 1_000 * _UNIT), account(_S2, 2_000 * _UNIT)],
        trustlines=[usd_line(_S1, 100 * _UNIT, 1_000 * _UNIT), usd_line(_S2, 5_000 * _UNIT, 1_000 * _UNIT)],
        pools=[],
        offers=[offer(_S1, 1, 1_000 * _UNIT, 1), offer(_S2, 2, 1_000 * _UNIT, 2)],
    )
    return DexBook.from_snapshot(snapshot_changes(snap), snap.ledger)


@pytest.mark.parametrize("kind,amount", [("strict_send", 500 * _UNIT), ("strict_receive", 400 * _UNIT)])
def test_paths_where_sellers_funds_bind(kind, amount):
    dex = _binding_funds_dex()
    xlm, usd = Asset.native(), Asset("USD", encode_account(_ISSUER))
    frm, to = (xlm, usd) if kind == "strict_send" else (usd, xlm)
    found = {}
    for funds in (True, False):
        res = dex.find_paths(kind, frm, amount, [to], max_hops=1, limit=1, protocol=PROTOCOL, sellers_funds=funds)
        assert res.optimal and res.stopped is None and len(res.paths) == 1
        reexecute(reference_ledger(dex, funds), res.paths[0])
        found[funds] = res.paths[0]
    if kind == "strict_send":
        # funds on: 100 USD from the first seller for 100 XLM, then 200 USD for the other 400 XLM
        assert found[True].destination_amount == 300 * _UNIT
        assert found[False].destination_amount == 500 * _UNIT
    else:
        # funds on: 100 XLM for the funded 100 USD, then 600 XLM for 300 USD at 2
        assert found[True].source_amount == 700 * _UNIT
        assert found[False].source_amount == 400 * _UNIT
