"""The XDR definitions an installed stellar-sdk was generated from, as one .x text.

py-stellar-base generates one class per XDR type and puts the type's XDR source in the class
docstring ("XDR Source Code::"), and the constants in ``stellar_sdk/xdr/constants.py``. This reads
those (with ``ast``, nothing is imported or executed) and writes the named definitions back as
XDR: constants first, then enums, then every typedef, struct and union (anonymous inline types are
part of their parent's text). The result parses with xdrparse.py into exactly the types stellar-sdk
decodes, so the C code generated from it and the stellar-sdk reference twin agree by construction.

    python tools/xdrgen/x_from_sdk.py [OUT.x]     # default: stdout
"""

from __future__ import annotations

import ast
import os
import re
import sys
import textwrap

_HEAD = re.compile(r"^(struct|enum|union|typedef)\b")


def sdk_xdr_dir() -> tuple[str, str]:
    """(directory of stellar_sdk/xdr, stellar-sdk version) of the installed package."""
    import importlib.util

    spec = importlib.util.find_spec("stellar_sdk")
    if spec is None or not spec.submodule_search_locations:
        raise SystemExit("stellar-sdk is not installed")
    pkg = list(spec.submodule_search_locations)[0]
    with open(os.path.join(pkg, "__version__.py"), encoding="utf-8") as fh:
        version = re.search(r'__version__ = "([^"]+)"', fh.read()).group(1)
    return os.path.join(pkg, "xdr"), version


def definitions(xdr_dir: str) -> str:
    consts: list[str] = []
    with open(os.path.join(xdr_dir, "constants.py"), encoding="utf-8") as fh:
        for line in fh:
            m = re.match(r"#: (const \w+ = [^;]+;)", line)
            if m:
                consts.append(m.group(1))
    enums: dict[str, str] = {}
    others: dict[str, str] = {}
    for fname in sorted(os.listdir(xdr_dir)):
        if not fname.endswith(".py") or fname in ("__init__.py", "base.py", "constants.py"):
            continue
        with open(os.path.join(xdr_dir, fname), encoding="utf-8") as fh:
            tree = ast.parse(fh.read())
        for node in tree.body:
            if not isinstance(node, ast.ClassDef):
                continue
            doc = ast.get_docstring(node, clean=False) or ""
            if "XDR Source Code::" not in doc:
                continue
            src = textwrap.dedent(doc.split("XDR Source Code::", 1)[1].strip("\n")).strip()
            m = _HEAD.match(src)
            if not m:
                continue
            # anonymous inline types ("struct {", "union switch") belong to their parent's text
            if re.match(r"^(struct|enum)\s*\{", src) or re.match(r"^union\s+switch", src):
                continue
            if m.group(1) == "typedef":
                name = re.search(r"(\w+)\s*(\[[^\]]*\]|<[^>]*>)?\s*;\s*$", src).group(1)
            else:
                name = re.match(r"^\w+\s+(\w+)", src).group(1)
            text = src if src.endswith(";") else src + ";"
            (enums if m.group(1) == "enum" else others)[name] = text
    out = ["// XDR definitions of stellar-sdk's classes (tools/xdrgen/x_from_sdk.py)", "namespace stellar", "{", ""]
    out += consts + [""]
    out += [enums[k] + "\n" for k in sorted(enums)]
    out += [others[k] + "\n" for k in sorted(others)]
    out.append("}")
    return "\n".join(out) + "\n"


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    xdr_dir, version = sdk_xdr_dir()
    text = definitions(xdr_dir)
    if argv:
        with open(argv[0], "w", encoding="utf-8", newline="\n") as fh:
            fh.write(text)
        print(f"stellar-sdk {version}: {text.count(chr(10))} lines -> {argv[0]}", file=sys.stderr)
    else:
        sys.stdout.write(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
