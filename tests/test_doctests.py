"""The ``>>>`` examples of the public docstrings run, on the compiled core and on the twin.

What is searched: every public module of the installed package (no leading underscore in its
path), and every name of ``stellar_ob.__all__`` wherever it is defined (the compiled classes and
the twin's live in private modules: ``stellar_ob.OrderBook`` is ``stellar_ob.book._book.OrderBook`` or
``stellar_ob.book._pure.OrderBook``). Which implementation is used is decided at import time by
``STELLAR_OB_PURE``, so each implementation runs in its own subprocess, once, and the tests read
its results.
"""

from __future__ import annotations

import doctest
import importlib
import importlib.util
import io
import json
import os
import pkgutil
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import REQUIRE_C

# Every unit whose docstrings carry examples, in either implementation. A new example elsewhere
# fails test_every_unit_with_examples_is_listed until it is added here.
UNITS = [
    "stellar_ob",
    "stellar_ob.Price",
    "stellar_ob.OrderBook",
    "stellar_ob.OfferBook",
    "stellar_ob.LiquidityPool",
    "stellar_ob.amounts",
    "stellar_ob.assets",
    "stellar_ob.horizon",
    "stellar_ob.sync",
    "stellar_ob.metrics",
    "stellar_ob.sse",
    "stellar_ob.testing",
    "stellar_ob.testing.market",
    "stellar_ob.testing.ledger_meta",
    "stellar_ob.hummingbot_convert",
    "stellar_ob.service",
    "stellar_ob.plot",
    "stellar_ob.ledger.datalake",
    "stellar_ob.ledger.dexbook",
    "stellar_ob.ledger.records",
    "stellar_ob.ledger.files",
    "stellar_ob.ledger.replay",
    "stellar_ob.find_paths",
    "stellar_ob.PathGraph",
]

# Units that run in C only (path finding: under the twin they raise PathFindingUnavailableError,
# which tests/test_paths_public.py checks): their examples are checked on the compiled core only.
C_ONLY = {"stellar_ob.find_paths", "stellar_ob.PathGraph"}

# Units whose examples fail today, with the reason: xfail(strict=True), so fixing the docstring
# makes the test pass loudly and the entry must go. (None fail as of this writing.)
KNOWN_FAILURES: dict[str, str] = {}

_SKIP_MODULES = {"stellar_ob.__main__"}  # importing it runs the command line
# Modules that need an optional third-party package: collected only where that package imports.
_OPTIONAL = {"stellar_ob.hummingbot": "hummingbot"}


def _optional_missing(name: str) -> bool:
    for prefix, dependency in _OPTIONAL.items():
        if name == prefix or name.startswith(prefix + "."):
            return importlib.util.find_spec(dependency) is None
    return False


def _public_modules() -> list[str]:
    import stellar_ob

    names = ["stellar_ob"]
    for info in pkgutil.walk_packages(stellar_ob.__path__, "stellar_ob."):
        if any(part.startswith("_") for part in info.name.split(".")[1:]) or info.name in _SKIP_MODULES:
            continue
        if _optional_missing(info.name):
            continue
        names.append(info.name)
    return names


def _collect() -> dict[str, list[doctest.DocTest]]:
    """unit -> its doctests that have examples, for the implementation this process imported."""
    import stellar_ob

    finder = doctest.DocTestFinder(exclude_empty=True)
    units: dict[str, list[doctest.DocTest]] = {}
    seen: set[tuple[str | None, int | None, str]] = set()

    def add(unit: str, tests: list[doctest.DocTest]) -> None:
        for t in tests:
            key = (t.filename, t.lineno, t.docstring or "")
            if t.examples and key not in seen:
                seen.add(key)
                units.setdefault(unit, []).append(t)

    for name in _public_modules():
        module = importlib.import_module(name)
        add(name, finder.find(module, name))
    for name in stellar_ob.__all__:
        obj = getattr(stellar_ob, name)
        home = sys.modules.get(getattr(obj, "__module__", "") or "")
        if home is None or not callable(obj):
            continue
        add(f"stellar_ob.{name}", finder.find(obj, f"stellar_ob.{name}", module=home,
                                              globs=dict(vars(home))))
    return units


def _child() -> None:
    """Run in a subprocess: run every collected doctest and print the results as JSON."""
    import stellar_ob
    import stellar_ob.horizon

    results: dict = {"implementation": [stellar_ob.IMPLEMENTATION, stellar_ob.horizon.IMPLEMENTATION],
                     "units": {}}
    for unit, tests in sorted(_collect().items()):
        out = io.StringIO()
        runner = doctest.DocTestRunner(optionflags=doctest.ELLIPSIS)
        examples = 0
        for test in tests:
            examples += len(test.examples)
            runner.run(test, out=out.write)
        r = runner.summarize(verbose=False)
        results["units"][unit] = {"examples": examples, "attempted": r.attempted, "failed": r.failed,
                                  "report": out.getvalue()}
    print("@@RESULTS@@" + json.dumps(results))


@pytest.fixture(scope="module", params=["c", "py"])
def impl_results(request: pytest.FixtureRequest) -> tuple[str, dict]:
    impl = request.param
    env = {**os.environ, "STELLAR_OB_PURE": "0" if impl == "c" else "1"}
    code = (f"import sys; sys.path.insert(0, {str(Path(__file__).resolve().parent)!r}); "
            "import test_doctests; test_doctests._child()")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=600)
    assert proc.returncode == 0, proc.stderr
    results = json.loads(proc.stdout.rsplit("@@RESULTS@@", 1)[1])
    if results["implementation"] != [impl, impl]:
        if impl == "c" and not REQUIRE_C:
            pytest.skip(f"the compiled core is not installed (got {results['implementation']})")
        pytest.fail(f"asked for {impl}, the subprocess imported {results['implementation']}")
    return impl, results["units"]


def _marks(unit: str) -> list:
    if unit in KNOWN_FAILURES:
        return [pytest.mark.xfail(strict=True, reason=KNOWN_FAILURES[unit])]
    return []


@pytest.mark.parametrize("unit", [pytest.param(u, marks=_marks(u), id=u) for u in UNITS])
def test_docstring_examples_pass(unit: str, impl_results: tuple[str, dict]):
    impl, units = impl_results
    if impl == "py" and unit in C_ONLY:
        pytest.skip(f"{unit} runs in C only")
    result = units.get(unit)
    if result is None:
        pytest.skip(f"{unit} has no examples in the {impl!r} implementation's docstrings")
    if result["attempted"] == 0:
        pytest.skip(f"every example of {unit} is marked +SKIP")
    assert result["failed"] == 0, f"{unit} ({impl}):\n{result['report']}"


def test_every_unit_with_examples_is_listed(impl_results: tuple[str, dict]):
    impl, units = impl_results
    assert set(units) <= set(UNITS), f"add to UNITS: {sorted(set(units) - set(UNITS))}"
    assert set(KNOWN_FAILURES) <= set(UNITS)
    # and the compiled and twin docstrings that must carry examples do
    assert {"stellar_ob", "stellar_ob.Price", "stellar_ob.OrderBook", "stellar_ob.horizon"} <= set(units)


def test_a_failing_example_is_reported():
    # The runner really checks: a docstring whose example is wrong fails.
    def wrong():
        """
        >>> 1 + 1
        3
        """

    test = doctest.DocTestFinder().find(wrong, "wrong", globs={})[0]
    runner = doctest.DocTestRunner()
    runner.run(test, out=lambda s: None)
    assert runner.summarize(verbose=False) == doctest.TestResults(failed=1, attempted=1)
