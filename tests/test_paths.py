"""find_paths (issue 15) against the independent reference, tests/core_reference.py.

On seeded random DEX graphs (10 to 200 assets; books with both sides and pools):
- every path returned, re-executed by the reference as the path payment it describes (strict send
  with destMin 1; strict receive with sendMax INT64_MAX), gives SUCCESS, the same amounts, and the
  same venue per hop;
- with max_hops <= 3 the best amount per destination equals that of an exhaustive search (every
  simple path of at most max_hops hops, each executed by the reference), and ``optimal`` is True;
- bad arguments raise typed errors; STELLAR_OB_PURE=1 gives a clear error (C only).
Search is C only: these tests need the compiled extension.
"""

from __future__ import annotations

import os
import random
import subprocess
import sys
from typing import Dict, List, Tuple

import pytest

import core_reference as cr

_paths = pytest.importorskip("stellar_ob._paths")
if os.environ.get("STELLAR_OB_PURE", "") not in ("", "0"):
    pytest.skip("find_paths is C only (see test_pure_mode_raises)", allow_module_level=True)

import stellar_ob as sob  # noqa: E402
from stellar_ob.errors import AssetError  # noqa: E402

ISSUER = "GA5ZSEJYB37JRC5AVCIA5MOP4RHTM335X2KGX3IHOJAPP5RE34K4KZVN"
INT64_MAX = 2**63 - 1


def _name(i: int) -> str:
    return "native" if i == 0 else f"A{i}:{ISSUER}"


def random_dex(rng: random.Random, nassets: int, npairs: int, max_offers: int = 4, pool_share: float = 0.3):
    """Markets mostly against XLM (0) and two 'stablecoins' (1, 2), as on the network. Returns the
    PathGraph rows and the reference ledger holding the same offers and pools."""
    L = cr.Ledger(protocol=rng.choice([18, 20, 23, 28]))
    pairs = set()
    hubs = [0, 1, 2]
    tries = 0
    while len(pairs) < npairs and tries < npairs * 20:
        tries += 1
        a = rng.choice(hubs) if rng.random() < 0.7 else rng.randrange(nassets)
        b = rng.randrange(nassets)
        if a == b:
            continue
        pairs.add((min(a, b), max(a, b)))
    rows = []
    oid = 1
    for a, b in sorted(pairs):
        base, counter = _name(a), _name(b)
        offers = []
        for side in ("ask", "bid"):
            for _ in range(rng.randrange(max_offers + 1)):
                n, d = rng.randint(1, 50), rng.randint(1, 50)
                amount = rng.choice([rng.randint(1, 1000), rng.randint(1, 10**9), rng.randint(1, 10**12)])
                offers.append((oid, side, n, d, amount))
                selling, buying = (base, counter) if side == "ask" else (counter, base)
                L.add_offer(f"S{oid}", oid, selling, buying, amount, n, d)
                oid += 1
        pool = None
        if rng.random() < pool_share:
            ra, rb = rng.randint(10**6, 10**12), rng.randint(10**6, 10**12)
            pool = (ra, rb, 30)
            L.set_pool(base, counter, ra, rb)
        if offers or pool:
            rows.append((base, counter, offers, pool))
    return rows, L


def reference_run(L, kind: str, assets: List[str], amount: int):
    """The path payment the result describes, executed by the reference: (code, sent, received, venues)."""
    path = assets[1:-1]
    try:
        if kind == "strict_send":
            r = cr.path_payment_strict_send(L, "taker", assets[0], amount, "taker", assets[-1], 1, path=path)
            hops = r.hops
        else:
            r = cr.path_payment_strict_receive(L, "taker", assets[0], INT64_MAX, "taker", assets[-1], amount,
                                               path=path)
            hops = tuple(reversed(r.hops))  # execution order is destination first
    except cr.CoreWouldThrow:
        return "THROW", None, None, None
    return r.code, r.sent, r.received, tuple(h.venue for h in hops)


def _simple_paths(adj: Dict[str, List[str]], start: str, max_hops: int):
    out = []

    def walk(path):
        if len(path) > 1:
            out.append(list(path))
        if len(path) - 1 == max_hops:
            return
        for nxt in adj.get(path[-1], ()):
            if nxt not in path:
                path.append(nxt)
                walk(path)
                path.pop()

    walk([start])
    return out


def _adjacency(rows, reverse: bool = False):
    adj: Dict[str, List[str]] = {}
    for base, counter, _offers, _pool in rows:
        adj.setdefault(base, []).append(counter)
        adj.setdefault(counter, []).append(base)
    return adj


def _check_paths_execute(rows, L, graph, kind, src, amount, dests, max_hops, limit):
    res = graph.find_paths(kind, src, amount, dests, max_hops=max_hops, limit=limit, protocol=L.protocol)
    per_dest: Dict[str, int] = {}
    for p in res.paths:
        assert p.kind == kind
        assets = [str(p.source_asset)] + [str(a) for a in p.path] + [str(p.destination_asset)]
        assert len(assets) - 1 <= max_hops and len(set(assets)) == len(assets)
        if kind == "strict_send":
            assert str(p.source_asset) == src and p.source_amount == amount
            assert p.result == "PATH_PAYMENT_STRICT_SEND_SUCCESS"
            target = str(p.destination_asset)
        else:
            assert str(p.destination_asset) == src and p.destination_amount == amount
            assert p.result == "PATH_PAYMENT_STRICT_RECEIVE_SUCCESS"
            target = str(p.source_asset)
        assert target in dests
        code, sent, received, venues = reference_run(L, kind, assets, amount)
        assert code.endswith("_SUCCESS"), (assets, code)
        assert (sent, received) == (p.source_amount, p.destination_amount), assets
        assert venues == tuple(h.venue for h in p.hops), assets
        per_dest[target] = per_dest.get(target, 0) + 1
    assert all(v <= limit for v in per_dest.values())
    return res


@pytest.mark.parametrize("seed", range(12))
def test_every_path_reexecutes_in_the_reference(seed):
    rng = random.Random(1500 + seed)
    nassets = rng.choice([10, 25, 60, 120, 200])
    rows, L = random_dex(rng, nassets, npairs=min(nassets * 2, 300))
    graph = _paths.PathGraph(rows)
    names = sorted({r[0] for r in rows} | {r[1] for r in rows})
    found = 0
    for _ in range(6):
        kind = rng.choice(["strict_send", "strict_receive"])
        src = rng.choice(names)
        dests = rng.sample([a for a in names if a != src], min(10, len(names) - 1))
        amount = rng.choice([rng.randint(1, 10**4), rng.randint(1, 10**9)])
        res = _check_paths_execute(rows, L, graph, kind, src, amount, dests, rng.randint(1, 4), rng.choice([1, 3, 5]))
        found += len(res.paths)
    assert found > 0  # the generator makes graphs where paths exist


@pytest.mark.parametrize("seed", range(10))
def test_best_equals_exhaustive_search_up_to_3_hops(seed):
    rng = random.Random(2500 + seed)
    nassets = rng.choice([10, 12, 15])
    rows, L = random_dex(rng, nassets, npairs=nassets + 8, max_offers=3)
    graph = _paths.PathGraph(rows)
    adj = _adjacency(rows)
    names = sorted(adj)
    checked = 0
    for _ in range(3):
        kind = rng.choice(["strict_send", "strict_receive"])
        src = rng.choice(names)
        dests = [a for a in names if a != src][:10]
        amount = rng.choice([rng.randint(1, 10**5), rng.randint(1, 10**9)])
        max_hops = rng.randint(1, 3)
        res = _check_paths_execute(rows, L, graph, kind, src, amount, dests, max_hops, 1)
        assert res.optimal
        got = {}
        for p in res.paths:
            t = str(p.destination_asset if kind == "strict_send" else p.source_asset)
            got[t] = p.destination_amount if kind == "strict_send" else p.source_amount
        # exhaustive: every simple path from src (strict receive: walked back from the asset received)
        best: Dict[str, int] = {}
        for walk in _simple_paths(adj, src, max_hops):
            target = walk[-1]
            if target not in dests:
                continue
            assets = walk if kind == "strict_send" else list(reversed(walk))
            code, sent, received, _v = reference_run(L, kind, assets, amount)
            if not code.endswith("_SUCCESS"):
                continue
            if kind == "strict_send":
                best[target] = max(best.get(target, 0), received)
            else:
                best[target] = min(best.get(target, INT64_MAX), sent)
        assert got == best, (kind, src, max_hops)
        checked += len(best)
    assert checked > 0 or seed % 3  # most seeds reach something


def test_find_paths_over_offerbooks_and_pools():
    usd, eur = f"USD:{ISSUER}", f"EUR:{ISSUER}"
    b1 = sob.OfferBook("XLM", usd)
    b1.add_offer(1, "bid", 10, 1, 100_0000000)  # buys XLM at 0.1 USD
    b2 = sob.OfferBook("XLM", eur)
    b2.add_offer(2, "ask", 1, 20, 5000_0000000)  # sells XLM at 0.05 EUR
    pool = sob.LiquidityPool(10**12, 10**11)  # a = XLM, b = EUR: 0.1 EUR per XLM, worse
    r = _paths.find_paths("strict_send", eur, 1_0000000, [usd], books=[b1, b2], pools={b2: pool})
    (p,) = r.paths
    assert [str(a) for a in p.path] == ["native"]
    assert (p.source_amount, p.destination_amount) == (1_0000000, 2_0000000)
    assert [h.venue for h in p.hops] == ["book", "book"]
    # only the pool for EUR -> XLM
    r = _paths.find_paths("strict_send", eur, 1_0000000, [usd], books=[b1, b2], pools={b2: pool},
                          exclude_pools=True)
    assert r.paths[0].destination_amount == 2_0000000
    r = _paths.find_paths("strict_receive", usd, 2_0000000, [eur], books=[b1, b2])
    assert (r.paths[0].source_amount, r.paths[0].destination_amount) == (1_0000000, 2_0000000)
    assert r.paths[0].result == "PATH_PAYMENT_STRICT_RECEIVE_SUCCESS"
    # the books are copied: changing them afterwards does not change a graph built before
    g = _paths.PathGraph.from_books([b1, b2])
    b1.remove_offer(1)
    assert g.find_paths("strict_send", eur, 1_0000000, [usd]).paths[0].destination_amount == 2_0000000
    assert _paths.find_paths("strict_send", eur, 1_0000000, [usd], books=[b1, b2]).paths == ()


def test_unknown_assets_and_no_path():
    g = _paths.PathGraph([("XLM", f"USD:{ISSUER}", [(1, "ask", 1, 1, 10)], None)])
    r = g.find_paths("strict_send", "XLM", 100, [f"EUR:{ISSUER}"])
    assert r.paths == () and r.optimal
    r = g.find_paths("strict_send", "XLM", 100, [f"USD:{ISSUER}"])  # asks sell USD? no: base XLM, asks sell XLM
    assert r.paths == ()


@pytest.mark.parametrize("kwargs, exc", [
    (dict(kind="send"), _paths.PathArgumentError),
    (dict(amount=0), _paths.PathArgumentError),
    (dict(amount=2**63), _paths.PathArgumentError),
    (dict(amount=1.5), TypeError),
    (dict(amount=True), TypeError),
    (dict(max_hops=0), _paths.PathArgumentError),
    (dict(max_hops=7), _paths.PathArgumentError),
    (dict(limit=0), _paths.PathArgumentError),
    (dict(limit=65), _paths.PathArgumentError),
    (dict(protocol=9), _paths.PathArgumentError),
    (dict(destination_assets=[]), _paths.PathArgumentError),
    (dict(destination_assets=["XLM"]), _paths.PathArgumentError),
    (dict(destination_assets=[f"USD:{ISSUER}", f"USD:{ISSUER}"]), _paths.PathArgumentError),
    (dict(destination_assets="XLM"), TypeError),
    (dict(destination_assets=["nonsense:x"]), AssetError),
    (dict(source_asset=12), AssetError),
    (dict(exclude_pools=1), TypeError),
])
def test_bad_arguments_raise_typed_errors(kwargs, exc):
    g = _paths.PathGraph([("XLM", f"USD:{ISSUER}", [(1, "bid", 1, 1, 10**9)], None)])
    args = dict(kind="strict_send", source_asset="XLM", amount=100, destination_assets=[f"USD:{ISSUER}"])
    args.update(kwargs)
    with pytest.raises(exc):
        g.find_paths(args.pop("kind"), args.pop("source_asset"), args.pop("amount"), args.pop("destination_assets"),
                     **args)
    assert g.find_paths("strict_send", "XLM", 100, [f"USD:{ISSUER}"]).paths[0].destination_amount == 100


@pytest.mark.parametrize("rows", [
    [("XLM", "XLM", [], None)],
    [("XLM", f"USD:{ISSUER}", [(1, "ask", 0, 1, 10)], None)],
    [("XLM", f"USD:{ISSUER}", [(1, "sell", 1, 1, 10)], None)],
    [("XLM", f"USD:{ISSUER}", [(1, "ask", 1, 1, 10), (1, "bid", 1, 1, 10)], None)],
    [("XLM", f"USD:{ISSUER}", [], (1, 2, 10000))],
    [("XLM", f"USD:{ISSUER}", [], None), (f"USD:{ISSUER}", "XLM", [], None)],
    ["not a market"],
])
def test_bad_graphs_raise_typed_errors(rows):
    with pytest.raises((_paths.PathArgumentError, AssetError, sob.errors.StellarOBError)):
        _paths.PathGraph(rows)


def test_pure_mode_raises():
    code = ("import stellar_ob._paths as p\n"
            "try:\n    p.find_paths('strict_send', 'XLM', 1, ['USD:" + ISSUER + "'])\n"
            "except p.PathFindingUnavailableError as e:\n    print('raised', e)\n")
    env = dict(os.environ, STELLAR_OB_PURE="1")
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.startswith("raised find_paths runs in C only")


def test_docs_paths_page_examples_run():
    """docs/paths.md's examples print what the page shows (C only, so not in test_docs' twin run)."""
    from test_docs import parse_page, run_block

    blocks = [b for b in parse_page("paths.md") if not b.skip]
    assert blocks
    for block in blocks:
        out = run_block(block)
        if block.expected is not None:
            assert [x.rstrip() for x in out.rstrip("\n").split("\n")] == \
                [x.rstrip() for x in block.expected.rstrip("\n").split("\n")]


def test_paths_docstring_examples():
    """The docstrings' examples of stellar_ob._paths (a private, C-only module: test_doctests skips it)."""
    import doctest

    res = doctest.testmod(_paths, optionflags=doctest.ELLIPSIS)
    assert res.attempted >= 8 and res.failed == 0
