"""Sphinx configuration for the stellar_ob documentation.

The API reference is generated from the docstrings of the *installed* package (build the docs
from the repository root after ``pip install ".[docs]"``): the compiled classes exist only in the
wheel, so nothing here puts ``src/`` on ``sys.path``. Pages are Markdown (MyST); docstrings are
reStructuredText, which is what they are written in (``:class:`...``` roles, tables, ``::`` blocks).
about.md says why this is Sphinx and not MkDocs.
"""

from __future__ import annotations

import re
import sys

import stellar_ob

project = "stellar_ob"
author = "the stellar_ob authors"
copyright = "the stellar_ob authors, Apache-2.0"
release = version = stellar_ob.__version__

extensions = [
    "myst_parser",
    "sphinx.ext.autodoc",
]

source_suffix = {".md": "markdown"}
root_doc = "index"
exclude_patterns = ["_build", "README.md"]

myst_enable_extensions = ["colon_fence", "deflist"]
# Pages use explicit ``(label)=`` anchors, which are stable; heading slugs are not relied upon.
myst_heading_anchors = 0

# ---- autodoc: dynamic inspection of the installed package -----------------------------------------
autodoc_default_options = {
    "members": True,
    "undoc-members": True,
    "member-order": "bysource",
}
# Cython embeds "Name.method(self, a, b)" as the first docstring line (embedsignature=True):
# autodoc reads the signature from it and strips it from the text.
autodoc_docstring_signature = True
autodoc_typehints = "signature"
autodoc_typehints_format = "short"
autodoc_class_signature = "mixed"
autodoc_preserve_defaults = True
python_use_unqualified_type_names = True

# The reference documents each object once, at its public path (``stellar_ob.ParseError``,
# ``stellar_ob.Horizon``, ...). Docstrings may name an object by the module that defines it
# (``stellar_ob.errors.ParseError``, ``stellar_ob.sync.Horizon``) or relative to that module
# (``quote_hop`` in stellar_ob.offers.execution, ``Horizon.watch_offers`` in stellar_ob.sync): such references are sent to the public path.
_DEFINED_IN = ("stellar_ob.errors.", "stellar_ob.sync.http.", "stellar_ob.sync.budget.", "stellar_ob.sync.stream.",
               "stellar_ob.sync.l2.", "stellar_ob.sync.l3.", "stellar_ob.sync.client.", "stellar_ob.sync.",
               "stellar_ob.assets.", "stellar_ob.offers.execution.", "stellar_ob.offers._common.", "stellar_ob.horizon._records.",
               "stellar_ob.book._book.", "stellar_ob.book._pure.", "stellar_ob.offers._offers.", "stellar_ob.offers._pure.",
               "stellar_ob.amounts.")
_PUBLIC_MODULES = ("stellar_ob.offers.execution.", "stellar_ob.sync.", "stellar_ob.horizon.")


def _public_reference(app, env, node, contnode):
    if node.get("refdomain") != "py":
        return None
    target = node.get("reftarget", "").lstrip("~.")
    candidates = [f"stellar_ob.{target[len(p):]}" for p in _DEFINED_IN if target.startswith(p)]
    if not target.startswith("stellar_ob."):  # a name relative to the module that defines it
        candidates += [f"stellar_ob.{target}"] + [p + target for p in _PUBLIC_MODULES]
    domain = env.get_domain("py")
    for name in candidates:
        if name.split(".")[1] in stellar_ob.__all__ or name.startswith(_PUBLIC_MODULES):
            found = domain.resolve_xref(env, node["refdoc"], app.builder, node["reftype"], name, node, contnode)
            if found is not None:
                return found
    return None


# Cython's embedded signatures are written from the C side: they name ``self``/``cls`` and carry
# C types (``Level(Price price, amount)``). Show them as the Python signatures they are.
_C_ARG_TYPE = re.compile(r"(?<=[(,])(\s*)(?:[A-Za-z_][\w.]*\s+)+(?=[A-Za-z_]\w*\s*(?:[,=)]))")


def _is_compiled(obj) -> bool:
    module = sys.modules.get(getattr(obj, "__module__", None) or "")
    return getattr(module, "__file__", "").endswith((".so", ".pyd"))


def _python_signature(app, what, name, obj, options, signature, return_annotation):
    if signature is None or not _is_compiled(obj):
        return None
    signature = _C_ARG_TYPE.sub(r"\1", signature)
    if what in ("method", "classmethod"):
        signature = re.sub(r"^\((?:self|cls)\s*(?:,\s*|(?=\)))", "(", signature)
    return signature, return_annotation


def setup(app):
    app.connect("missing-reference", _public_reference)
    app.connect("autodoc-process-signature", _python_signature)


# Every cross-reference in a docstring or a page must resolve (the build runs with -n -W), except
# these: types of the standard library and of dependencies (no intersphinx: the build stays
# offline), and names the docstrings use today that the reference cannot document (about.md,
# "Known gaps in the docstrings", lists them for the docstring pass).
nitpicky = True
nitpick_ignore_regex = [
    (r"py:.*", r"(fractions|decimal|asyncio|collections|typing|enum|os|pathlib|numpy|np|npt|aiohttp|prometheus_client)\..*"),
    (r"py:class", r"(Fraction|Decimal|ClientSession|ClientResponse|Random)"),
    # a string annotation autodoc cannot evaluate (``dict[int, SimulatedOffer]`` of SimulatedPair.offers)
    (r"py:class", r"dict\[int"),
    # a dataclass's string annotations as autodoc splits them (ChaosConfig's ``tuple[float, float]``)
    (r"py:class", r"'tuple\[(float|int)"),
    # the base class of the live books, named by their signatures' owner annotations
    (r"py:class", r"(stellar_ob\.sync\.(stream\.)?)?_Live"),
    # the update-type parameter of those generic live books (``updates() -> UpdateStream[U]``)
    (r"py:class", r"(stellar_ob\.sync\.stream\.)?U"),
    # UpdateStream is documented where it is public (stellar_ob.sync.UpdateStream); annotations and
    # bases name it by its defining module
    (r"py:class", r"stellar_ob\.sync\.stream\.UpdateStream"),
    # stellar_ob.ledger.records.Entry: a Union alias (OfferEntry | PoolEntry | ...) in annotations
    (r"py:class", r"Entry"),
]

# ---- HTML -------------------------------------------------------------------------------------------
html_theme = "furo"
html_title = f"stellar_ob {release}"
html_show_sourcelink = False
pygments_style = "friendly"
pygments_dark_style = "monokai"

# the example flame graph of docs/profiling.md
html_static_path = ["_static"]
