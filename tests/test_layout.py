"""The package's layout rules, checked on its source (issue 11).

* The twins (``book._pure``, ``offers._pure``, ``horizon._pure``, ``ledger._sdk_twin``) are references:
  no module of the package imports one, except ``_impl`` (which hands them out) -- the compiled
  modules in particular take what they share with their twin from plain modules.
* ``STELLAR_OB_PURE`` is read in one place, ``_impl``.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

PKG = Path(__file__).resolve().parent.parent / "src" / "stellar_ob"
TWINS = {"_pure", "_sdk_twin"}
# a cimport/import line of a .pyx: the module named after from/import
PYX_IMPORT = re.compile(r"^\s*(?:from\s+([\w.]+)\s+c?import\s+([\w ,()*]+)|c?import\s+([\w., ]+))", re.M)


def _sources():
    files = sorted(p for p in PKG.rglob("*") if p.suffix in (".py", ".pyx", ".pxd", ".pxi"))
    assert len(files) > 20, files  # the walk found the package
    return files


def _imported(path: Path):
    """Every module name an import statement of ``path`` names (dotted parts split)."""
    names = []
    text = path.read_text()
    if path.suffix == ".py":
        for node in ast.walk(ast.parse(text)):
            if isinstance(node, ast.Import):
                names += [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom):
                names.append(node.module or "")
                names += [a.name for a in node.names]
    else:
        for m in PYX_IMPORT.finditer(text):
            names.append(m.group(1) or m.group(3) or "")
            if m.group(2):
                names += [n.strip(" ()") for n in m.group(2).split(",")]
    return [part for name in names for part in re.split(r"[.,\s]+", name) if part]


def test_no_module_imports_a_twin_except_impl():
    offenders = {}
    for path in _sources():
        if path.name == "_impl.py":
            continue
        hits = TWINS.intersection(_imported(path))
        if hits:
            offenders[str(path.relative_to(PKG))] = sorted(hits)
    assert offenders == {}


def test_the_checker_sees_twin_imports(tmp_path):
    """The check above can fail: each import form it must catch is caught."""
    for i, line in enumerate(["from . import _pure", "from stellar_ob.offers._pure import quote_hop",
                              "import stellar_ob.horizon._pure as h", "from .ledger import _sdk_twin"]):
        p = tmp_path / f"m{i}.py"
        p.write_text(line + "\n")
        assert TWINS.intersection(_imported(p)), line
    p = tmp_path / "m.pyx"
    p.write_text("from .offers import _pure as _py\n")
    assert TWINS.intersection(_imported(p))


def test_implementation_choice_is_read_once():
    readers = [str(p.relative_to(PKG)) for p in _sources()
               if re.search(r"environ[^\n]*STELLAR_OB_PURE|getenv\([^\n]*STELLAR_OB_PURE", p.read_text())]
    assert readers == ["_impl.py"]


@pytest.mark.parametrize("domain", ["book", "offers", "horizon"])
def test_every_module_uses_the_implementation_impl_chose(domain):
    import stellar_ob
    from stellar_ob import _impl, horizon

    mod = _impl.module(domain)
    assert _impl.IMPLEMENTATION == stellar_ob.IMPLEMENTATION == horizon.IMPLEMENTATION
    assert mod.__name__ == f"stellar_ob.{domain}." + ("_" + domain if _impl.IMPLEMENTATION == "c" else "_pure")
    if domain == "book":
        assert stellar_ob.OrderBook is mod.OrderBook
    elif domain == "offers":
        assert stellar_ob.OfferBook is mod.OfferBook
    else:
        assert horizon._impl is mod


# Where the package may still raise a bare ValueError: hooks whose ValueError the caller turns into
# a ParseError (json's parse_constant), the sequence protocol (Records.index, as list.index), and the
# CLI's option readers (argparse turns them into the one-line usage error).
_BARE_VALUE_ERRORS = {"horizon/_json.py": 1, "ledger/rpc.py": 1, "ledger/_ledger.pyx": 1, "cli/commands.py": 2}


def test_every_deliberate_error_is_a_stellar_ob_error():
    """A bad argument raises stellar_ob.ArgumentError (a StellarOBError and a ValueError), never a
    bare ValueError (the README's promise), apart from the places listed above."""
    found = {}
    for path in _sources():
        n = len(re.findall(r"raise ValueError\(", path.read_text()))
        if n:
            found[str(path.relative_to(PKG))] = n
    assert found == _BARE_VALUE_ERRORS


def test_argument_errors_are_stellar_ob_errors():
    import stellar_ob
    from stellar_ob.ledger.dexbook import DexBook
    from stellar_ob.ledger.records import decode_account
    from stellar_ob.server.app import build_app

    assert issubclass(stellar_ob.ArgumentError, stellar_ob.StellarOBError)
    assert issubclass(stellar_ob.ArgumentError, ValueError)
    assert issubclass(stellar_ob.PathArgumentError, stellar_ob.ArgumentError)
    assert stellar_ob.sync.ArgumentError is stellar_ob.ArgumentError
    with pytest.raises(stellar_ob.ArgumentError, match="at least one asset or market"):
        DexBook(assets=[], markets=[])
    with pytest.raises(stellar_ob.ArgumentError, match="not a valid account id"):
        decode_account("GABC")
    with pytest.raises(stellar_ob.ArgumentError, match="path_workers"):
        build_app(DexBook(), path_workers=0)


def test_public_names_are_unique():
    """Two modules exporting one name (as execution.PathHop and the path finder's hop once did)
    leave stellar_ob with whichever came last: every public name is exported once."""
    import collections

    import stellar_ob

    counts = collections.Counter(stellar_ob.__all__)
    assert [n for n, c in counts.items() if c > 1] == []
