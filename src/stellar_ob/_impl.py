"""Which implementation the package runs: read once here; every other module asks this one.

``STELLAR_OB_PURE=1`` (read once, at first import) selects the pure-Python twins; otherwise the
compiled modules are used, and the twins only if the extension is not built. The compiled modules
are built together, so the choice is one for the whole package: the L2 book, the L3 book and the
Horizon scanner never come from different implementations.

Each domain is a package with its compiled module and its twin: ``book`` (the L2 book:
``book._book`` and ``book._pure``), ``offers`` (the L3 book: ``offers._offers`` and
``offers._pure``) and ``horizon`` (the Horizon scanner: ``horizon._horizon`` and
``horizon._pure``). The twins are references: apart from this
module, only the tests import them (``tests/test_layout.py`` checks it). Code that both
implementations need lives in plain modules that both import.
"""

from __future__ import annotations

import importlib
import os
from importlib.machinery import PathFinder
from types import ModuleType

#: True when STELLAR_OB_PURE asked for the pure-Python twins (any value other than "" or "0").
PURE_REQUESTED: bool = os.environ.get("STELLAR_OB_PURE", "") not in ("", "0")

_HERE = os.path.dirname(os.path.abspath(__file__))

_COMPILED = {"book": "book._book", "offers": "offers._offers", "horizon": "horizon._horizon"}
_TWINS = {"book": "book._pure", "offers": "offers._pure", "horizon": "horizon._pure"}


def twin(domain: str) -> ModuleType:
    """The pure-Python reference of ``domain`` ("book", "offers" or "horizon")."""
    return importlib.import_module(f"stellar_ob.{_TWINS[domain]}")


def compiled(domain: str) -> ModuleType:
    """The compiled module of ``domain``; ImportError if the extension is not built."""
    return importlib.import_module(f"stellar_ob.{_COMPILED[domain]}")


def _built(domain: str) -> bool:
    """Whether the extension module of ``domain`` is on disk, found without importing its package
    (``stellar_ob.horizon`` is also the public parser module, which asks this module for its
    implementation when it is imported)."""
    package, _, name = _COMPILED[domain].rpartition(".")
    return PathFinder.find_spec(name, [os.path.join(_HERE, package)]) is not None


def _choose() -> str:
    if PURE_REQUESTED or not all(_built(domain) for domain in _COMPILED):
        return "py"
    try:  # the packages of these two import nothing on their own
        compiled("book")
        compiled("offers")
    except ImportError:  # built but not loadable (another Python, a broken install): the twins
        return "py"
    return "c"


#: "c" for the compiled core, "py" for the pure-Python twins.
IMPLEMENTATION: str = _choose()


def module(domain: str) -> ModuleType:
    """The module of ``domain`` the package uses (compiled or twin, as chosen once above)."""
    return compiled(domain) if IMPLEMENTATION == "c" else twin(domain)
