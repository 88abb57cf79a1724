"""Which implementation the package runs: read once here; every other module asks this one.

``STELLAR_OB_PURE=1`` (read once, at first import) selects the pure-Python twins; otherwise the
compiled modules are used, and the twins only if the extension is not built. The compiled modules
are built together, so the choice is one for the whole package: the L2 book, the L3 book and the
Horizon scanner never come from different implementations.

The twins (``_pure``, ``_offers_pure``, ``_horizon_pure``) are references: apart from this
module, only the tests import them (``tests/test_layout.py`` checks it). Code that both
implementations need lives in plain modules that both import.
"""

from __future__ import annotations

import importlib
import os
from types import ModuleType

#: True when STELLAR_OB_PURE asked for the pure-Python twins (any value other than "" or "0").
PURE_REQUESTED: bool = os.environ.get("STELLAR_OB_PURE", "") not in ("", "0")

_COMPILED = {"core": "_core", "offers": "_offers", "horizon": "_horizon"}
_TWINS = {"core": "_pure", "offers": "_offers_pure", "horizon": "_horizon_pure"}


def twin(domain: str) -> ModuleType:
    """The pure-Python reference of ``domain`` ("core", "offers" or "horizon")."""
    return importlib.import_module(f"stellar_ob.{_TWINS[domain]}")


def compiled(domain: str) -> ModuleType:
    """The compiled module of ``domain``; ImportError if the extension is not built."""
    return importlib.import_module(f"stellar_ob.{_COMPILED[domain]}")


def _choose() -> str:
    if PURE_REQUESTED:
        return "py"
    try:
        for domain in _COMPILED:
            compiled(domain)
    except ImportError:  # no compiled extension: the twins
        return "py"
    return "c"


#: "c" for the compiled core, "py" for the pure-Python twins.
IMPLEMENTATION: str = _choose()


def module(domain: str) -> ModuleType:
    """The module of ``domain`` the package uses (compiled or twin, as chosen once above)."""
    return compiled(domain) if IMPLEMENTATION == "c" else twin(domain)
