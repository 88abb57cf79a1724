"""The generated XDR code (csrc/xdr/stellar_xdr_gen.*) against its generator and stellar-sdk.

- The committed output is exactly what tools/xdrgen/xdrgen.py --from-sdk produces from the
  stellar-sdk version it was made from (skipped, saying why, when another version is installed).
- With STELLAR_XDR_DIR naming a directory of Stellar-*.x files, the generator parses them too.
- Every enum in the generated header has the values of stellar-sdk's class of the same name.
"""

from __future__ import annotations

import enum
import os
import re
import subprocess
import sys

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
GEN = os.path.join(ROOT, "tools", "xdrgen", "xdrgen.py")
HEADER = os.path.join(ROOT, "csrc", "xdr", "stellar_xdr_gen.h")


def _xdr_dir() -> str | None:
    d = os.environ.get("STELLAR_XDR_DIR")
    if d and os.path.isfile(os.path.join(d, "Stellar-ledger.x")):
        return d
    return None


def _made_from() -> str:
    return re.search(r"stellar-sdk (\S+) definitions", _header()).group(1)


def test_committed_output_is_the_generators():
    sdk = pytest.importorskip("stellar_sdk")
    if sdk.__version__ != _made_from():
        pytest.skip(f"stellar-sdk {sdk.__version__} is installed; the committed code was generated from {_made_from()}")
    proc = subprocess.run([sys.executable, GEN, "--from-sdk", "--check"], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr


@pytest.mark.skipif(_xdr_dir() is None, reason="STELLAR_XDR_DIR does not name a directory of Stellar-*.x files "
                    "(they are not committed; tools/xdrgen/README.md says where they come from)")
def test_generator_reads_xdr_files(tmp_path):
    proc = subprocess.run([sys.executable, GEN, "--xdr-dir", _xdr_dir(), "--out", str(tmp_path)], capture_output=True,
                          text=True)
    assert proc.returncode == 0, proc.stderr
    assert "int sob_xdr_skip_LedgerCloseMeta(sob_xdr_cur *c)" in (tmp_path / "stellar_xdr_gen.h").read_text()


def _header() -> str:
    with open(HEADER, encoding="utf-8") as fh:
        return fh.read()


def _enums(text: str) -> dict[str, dict[str, int]]:
    out: dict[str, dict[str, int]] = {}
    block = text.split("/* ---- enumerators ---- */", 1)[1].split("/* ---- minimum encoded size", 1)[0]
    cur = None
    for line in block.splitlines():
        m = re.match(r"/\* (\w+) \*/$", line)
        if m:
            cur = out.setdefault(m.group(1), {})
            continue
        m = re.match(r"#define SOB_XDR_(\w+) \((-?\d+)\)$", line)
        if m:
            cur[m.group(1)] = int(m.group(2))
    return out


def test_header_names_the_xdr_commit():
    text = _header()
    with open(os.path.join(ROOT, "tools", "xdrgen", "README.md"), encoding="utf-8") as fh:
        readme = fh.read()
    commit = re.search(r"stellar/stellar-xdr protocol 28 \(the type set of commit ([0-9a-f]{40})\)", text).group(1)
    assert commit in readme
    assert f"stellar-sdk {_made_from()}" in readme
    assert re.search(r"473 types \(234 structs, 115 unions, 85 enums, 39 typedefs\)", text)


def test_enums_match_stellar_sdk():
    xdr = pytest.importorskip("stellar_sdk.xdr")
    enums = _enums(_header())
    assert len(enums) == 85
    checked = 0
    for name, values in enums.items():
        cls = getattr(xdr, name, None)
        assert cls is not None and issubclass(cls, enum.Enum), name
        sdk = {m.name: m.value for m in cls}
        assert sorted(sdk.values()) == sorted(values.values()), name
        assert set(sdk) == set(values), name
        checked += 1
    assert checked == 85
