"""A DexBook filtered to chosen assets / markets equals the whole-DEX book restricted to them.

Both books are fed the same ledgers (the real mainnet ledger after a seed from its STATE
entries; LedgerMarket streams of every meta version from their first ledger), and after every
ledger the filtered book holds exactly: the kept markets (their offers in core's order, L2 levels,
completeness), their pools, the sellers of their offers with the same account funds and the same
trust lines in the kept markets' assets as the whole book, and per-ledger updates restricted to
those markets. Nothing of another market is held. (LedgerMarket emits no account or trust line
entries: the funds comparison bites on the mainnet ledger, where the sellers' entries are seen.)
"""

from __future__ import annotations

import os

import pytest

from stellar_ob.errors import InvalidBookError
from stellar_ob.ledger import DexBook, FORM_BATCH, LedgerAsset, LedgerReader
from stellar_ob.testing import LedgerMarket

DATA = os.path.join(os.path.dirname(__file__), "data", "ledger")


def _key(pair):
    base, counter = sorted(pair, key=str)
    return str(base), str(counter)


def kept_pairs(full: DexBook, assets, markets):
    """The markets of `full` a filter of (assets, markets) keeps."""
    chosen = {str(a) for a in assets}
    wanted = {_key(m) for m in markets}
    return sorted(_key(p) for p in full.markets() if _key(p) in wanted or {str(p[0]), str(p[1])} <= chosen)


def market_view(dex: DexBook, pair):
    base, counter = sorted(pair, key=str)
    m = dex.market(base, counter)
    return (m.complete, m.offers("bid"), m.offers("ask"), m.bids(), m.asks(), sorted(map(repr, m.pools())))


def assert_restricted(full: DexBook, part: DexBook, assets, markets):
    keys = kept_pairs(full, assets, markets)
    pairs = {_key(p): p for p in full.markets()}
    assert sorted(_key(p) for p in part.markets()) == keys
    assert part.ledger_seq == full.ledger_seq
    n = 0
    sellers = set()
    kept_assets = set()
    for k in keys:
        view = market_view(part, pairs[k])
        assert view == market_view(full, pairs[k]), k
        n += len(view[1]) + len(view[2])
        sellers |= {o.seller for o in view[1] + view[2]}
        kept_assets |= set(pairs[k])
    assert part.offer_count == n
    assert sorted(map(repr, part.pools)) == sorted(repr(p) for p in full.pools
                                                   if _key((p.asset_a, p.asset_b)) in set(keys))
    held = 0
    for s in sellers:
        assert part.account(s) == full.account(s)
        held += part.account(s) is not None
        for a in kept_assets:
            if a.type != 0:
                assert part.trustline(s, a) == full.trustline(s, a)
                held += part.trustline(s, a) is not None
    return n, held


def assert_update_restricted(uf, up, keys):
    assert sorted(up.markets) == sorted(k for k in uf.markets if _key_of_update(uf.markets[k]) in keys)
    for k, mu in up.markets.items():
        fu = uf.markets[k]
        assert (mu.offers, mu.levels, mu.pools, mu.trades, mu.drift) == (fu.offers, fu.levels, fu.pools, fu.trades,
                                                                          fu.drift)
    kept = [t for k in up.markets for t in uf.markets[k].trades]
    assert up.trades == [t for t in uf.trades if t in kept]


def _key_of_update(mu):
    return _key((mu.base, mu.counter))


def test_mainnet_ledger_filtered_by_markets_and_assets():
    with open(os.path.join(DATA, "FCD285FF--53312000.xdr"), "rb") as fh:
        data = fh.read()
    full = DexBook()
    r = LedgerReader(data, FORM_BATCH)
    assert r.next_ledger()
    full.seed_from_states(r)
    uf = full.apply_reader(r)
    # the two busiest markets of the ledger, and every market between XLM and the USDC issuers' assets
    busiest = sorted(uf.markets.values(), key=lambda mu: -len(mu.offers))[:2]
    markets = [(mu.counter, mu.base) for mu in busiest]  # the other orientation: either is accepted
    usdc = sorted({a for p in full.markets() for a in p if a.code_str == "USDC"}, key=str)
    assets = [LedgerAsset(0)] + usdc
    assert usdc and busiest
    funds = 0
    for a, m in ((assets, []), ([], markets), (assets, markets)):
        part = DexBook(assets=a, markets=m)
        r = LedgerReader(data, FORM_BATCH)
        assert r.next_ledger()
        part.seed_from_states(r)
        up = part.apply_reader(r)
        assert up.drift == []
        n, held = assert_restricted(full, part, a, m)
        funds += held
        assert 0 < n < full.offer_count and part.market_count < full.market_count
        assert_update_restricted(uf, up, set(kept_pairs(full, a, m)))
        part.check()
        assert part.filter is not None and full.filter is None
    assert funds > 0  # sellers' accounts and trust lines were compared, not only absent on both sides


@pytest.mark.parametrize("seed,version", [(11, 0), (12, 1), (13, 2)])
def test_ledger_market_streams_filtered(seed, version):
    m = LedgerMarket(markets=6, seed=seed, meta_version=version, start_time=1_700_000_000, upgrade_every=20,
                     failed_probability=0.1)
    seq, meta = m.close_ledger_meta()
    full = DexBook()
    full.apply_ledger(meta)
    pairs = sorted(full.markets(), key=_key)
    assert len(pairs) == 6
    markets = [pairs[0], pairs[3][::-1]]
    assets = sorted({pairs[1][0], pairs[1][1]}, key=str)  # the market between these two, at least
    part = DexBook(assets=assets, markets=markets)
    part.apply_ledger(meta)
    keys = set(kept_pairs(full, assets, markets))
    assert len(keys) >= 3
    assert_restricted(full, part, assets, markets)
    for _ in range(80):
        seq, meta = m.close_ledger_meta()
        uf, up = full.apply_ledger(meta), part.apply_ledger(meta)
        assert_restricted(full, part, assets, markets)
        assert_update_restricted(uf, up, keys)
    part.check()


def test_filter_arguments():
    usd = "USD:GDUKMGUGDZQK6YHYA5Z6AY2G4XDSZPSZ3SW5UN3ARVMO6QSRDWP5YLEX"
    with pytest.raises(ValueError):
        DexBook(assets=[], markets=[])
    with pytest.raises(TypeError):
        DexBook(assets="XLM")
    with pytest.raises(TypeError):
        DexBook(markets=[("XLM",)])
    with pytest.raises(InvalidBookError):
        DexBook(markets=[("XLM", "native")])  # a market of one asset
    with pytest.raises(ValueError):
        DexBook(assets=["NOT AN ASSET"])
    dex = DexBook(assets=["XLM", usd], markets=[(usd, "XLM")])
    assert dex.filter is not None and len(dex.filter[0]) == 2 and len(dex.filter[1]) == 1
    with pytest.raises(InvalidBookError):
        dex._c.set_filter([LedgerAsset(0)], [])  # once, on a new book
