"""The public path-finding API (issue 15): stellar_ob.find_paths and friends, and the clear error
from stellar_ob.errors under the pure-Python twin (the search is C only)."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

import stellar_ob as sob
from stellar_ob.errors import PathArgumentError, PathFindingUnavailableError, StellarOBError

USD = "USD:GBBD47IF6LWK7P7MDEVSCWR7DPUWV3NY3DTQEVFL4NAT4AQH3ZLLFLA5"
PURE = os.environ.get("STELLAR_OB_PURE", "") not in ("", "0")


def test_names_are_exported():
    for name in ("find_paths", "PathGraph", "DexPathGraph", "PathSearch", "FoundPath", "FoundHop",
                 "PathFindingUnavailableError", "PathArgumentError"):
        assert name in sob.__all__
        assert getattr(sob, name) is not None or name in ("PathSearch", "FoundPath", "FoundHop")
    assert sob.PathFindingUnavailableError is PathFindingUnavailableError
    assert issubclass(PathFindingUnavailableError, StellarOBError)
    assert issubclass(PathArgumentError, (StellarOBError, ValueError))
    import stellar_ob.paths as paths

    assert sob.find_paths is paths.find_paths and sob.PathGraph is paths.PathGraph


@pytest.mark.skipif(PURE, reason="the search is C only (the twin's error is tested below)")
def test_public_find_paths_searches():
    book = sob.OfferBook("XLM", USD)
    book.add_offer(1, "ask", 1, 10, 1000_0000000)
    r = sob.find_paths("strict_send", USD, 10_0000000, ["XLM"], books=[book])
    assert isinstance(r, sob.PathSearch) and isinstance(r.paths[0], sob.FoundPath)
    assert r.paths[0].destination_amount == 100_0000000 and r.paths[0].hops[0] == sob.FoundHop(
        sob.Asset.parse(USD), sob.Asset.native(), "book")
    with pytest.raises(sob.PathArgumentError):
        sob.find_paths("strict_send", USD, 0, ["XLM"], books=[book])


def test_pure_twin_raises_the_errors_module_error():
    code = ("import stellar_ob as sob\n"
            "from stellar_ob.errors import PathFindingUnavailableError as E\n"
            "assert sob.IMPLEMENTATION == 'py'\n"
            "for call in (lambda: sob.find_paths('strict_send', 'XLM', 1, ['" + USD + "']),\n"
            "             lambda: sob.PathGraph([]),\n"
            "             lambda: sob.PathGraph.from_books([])):\n"
            "    try:\n        call()\n    except E as e:\n        print('raised:', e)\n"
            "    else:\n        print('no error')\n")
    env = dict(os.environ, STELLAR_OB_PURE="1")
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    lines = out.stdout.splitlines()
    assert len(lines) == 3 and all(line.startswith("raised: find_paths runs in C only") for line in lines), lines
