"""The README's usage example runs and prints what it says."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

README = Path(__file__).resolve().parent.parent / "README.md"


def test_readme_usage_example_runs(capsys):
    if not README.is_file():
        pytest.skip("README.md not found next to tests/")
    text = README.read_text()
    block = text.split("## Usage", 1)[1].split("```python", 1)[1].split("```", 1)[0]
    expected = [m.group(1).strip() for line in block.splitlines() if line.startswith("print(")
                for m in [re.search(r"#\s*(.*?)(\s\s\(|$)", line)] if m]
    exec(compile(block, "README.md", "exec"), {})
    printed = capsys.readouterr().out.splitlines()
    assert printed == expected


def test_readme_paths_example_runs(capsys):
    """The README's path-finding example (C only) runs and prints what its comments say."""
    import os

    if os.environ.get("STELLAR_OB_PURE", "") not in ("", "0"):
        pytest.skip("find_paths is C only (test_paths_public checks the error under the twin)")
    pytest.importorskip("stellar_ob._paths")
    if not README.is_file():
        pytest.skip("README.md not found next to tests/")
    block = README.read_text().split("## Exact paths", 1)[1].split("```python", 1)[1].split("```", 1)[0]
    expected = [line.split("#", 1)[1].strip() for line in block.splitlines() if line.startswith("print(")]
    assert len(expected) == 2
    exec(compile(block, "README.md", "exec"), {})
    assert capsys.readouterr().out.splitlines() == expected
