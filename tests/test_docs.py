"""Every Python code block of the documentation runs as written and prints what the page shows.

The pages are Markdown (docs/*.md). The conventions, stated once here and in docs/about.md:

- A fenced block whose info string is ``python`` is an example. It runs alone, in a fresh
  namespace (a reader copies one block, not a page), with the installed package.
- A fenced ``output`` block directly after it is what the example prints: stdout must equal it,
  line by line (trailing spaces ignored).
- A MyST comment line ``% docs-test: skip <reason>`` directly before the fence skips the block;
  the reason is required (only for blocks that need the public network).

Examples that need a Horizon start a :class:`stellar_ob.testing.LocalHorizon` on 127.0.0.1 in
their own text, so nothing here leaves loopback and a reader can run them verbatim too.

On the pure-Python twin (``STELLAR_OB_PURE=1``) every page runs again in a subprocess, so the
printed results are checked against both implementations.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import re
import subprocess
import sys
import textwrap
from dataclasses import dataclass
from pathlib import Path

import pytest

DOCS = Path(__file__).resolve().parent.parent / "docs"
# The pages whose examples must run. The API reference pages are generated from the docstrings,
# whose examples tests/test_doctests.py runs.
PAGES = ("index.md", "concepts.md", "stellar.md", "recipes.md", "ledger.md", "service.md", "about.md")

_FENCE = re.compile(r"^(?P<indent> {0,3})(?P<fence>`{3,}|~{3,})(?P<info>[^\n`]*)$")
_SKIP = re.compile(r"^%\s*docs-test:\s*skip\b\s*(?P<reason>.*)$")


@dataclass(frozen=True)
class Block:
    page: str
    line: int  # 1-based line of the opening fence
    code: str
    expected: str | None  # the output block after it, if any
    skip: str | None  # the reason, if marked

    @property
    def id(self) -> str:
        return f"{self.page}:{self.line}"


def _fences(text: str) -> list[tuple[int, str, str, int]]:
    """(line index of the opening fence, info string, body, line index after the closing fence)."""
    lines = text.split("\n")
    out = []
    i = 0
    while i < len(lines):
        m = _FENCE.match(lines[i])
        if not m:
            i += 1
            continue
        fence, info = m.group("fence"), m.group("info").strip()
        j = i + 1
        while j < len(lines) and not re.match(rf"^ {{0,3}}{fence[0]}{{{len(fence)},}}\s*$", lines[j]):
            j += 1
        if j == len(lines):
            raise AssertionError(f"unclosed code fence at line {i + 1}")
        out.append((i, info, "\n".join(lines[i + 1:j]), j + 1))
        i = j + 1
    return out


def parse_page(name: str) -> list[Block]:
    return parse_text(name, (DOCS / name).read_text(encoding="utf-8"))


def parse_text(name: str, text: str) -> list[Block]:
    lines = text.split("\n")
    fences = _fences(text)
    blocks = []
    for k, (start, info, body, end) in enumerate(fences):
        lang = info.split()[0] if info else ""
        if lang == "output":
            prev = fences[k - 1] if k else None
            between = lines[prev[3]:start] if prev else ["x"]
            if prev is None or prev[1].split()[:1] != ["python"] or any(s.strip() for s in between):
                raise AssertionError(f"{name}:{start + 1}: an output block must directly follow a python block")
            continue
        if lang != "python":
            continue
        expected = None
        if k + 1 < len(fences):
            nstart, ninfo, nbody, _ = fences[k + 1]
            if ninfo.split()[:1] == ["output"] and not any(s.strip() for s in lines[end:nstart]):
                expected = nbody
        skip = None
        above = lines[start - 1] if start else ""
        m = _SKIP.match(above)
        if m:
            skip = m.group("reason").strip()
            if not skip:
                raise AssertionError(f"{name}:{start + 1}: a skipped block needs a reason")
        blocks.append(Block(name, start + 1, body, expected, skip))
    return blocks


def run_block(block: Block) -> str:
    """Run one example as a script would (fresh namespace, ``__name__ == "__main__"``); its stdout."""
    out = io.StringIO()
    namespace = {"__name__": "__main__"}
    code = compile(block.code, f"docs/{block.page}:{block.line}", "exec")
    with contextlib.redirect_stdout(out):
        exec(code, namespace)
    return out.getvalue()


def _normalise(text: str) -> list[str]:
    return [line.rstrip() for line in text.rstrip("\n").split("\n")] if text.strip() else []


def check(block: Block, printed: str) -> None:
    if block.expected is not None:
        assert _normalise(printed) == _normalise(block.expected), (
            f"{block.id} printed:\n{printed}\nthe page shows:\n{block.expected}")


ALL = [b for page in PAGES for b in parse_page(page)]


def test_the_pages_have_examples():
    # The pages that promise runnable examples have them, and most show what they print.
    for page in ("index.md", "concepts.md", "recipes.md"):
        blocks = [b for b in ALL if b.page == page]
        assert blocks, page
        assert any(b.expected is not None for b in blocks), page


def test_parser_reads_the_conventions():
    # The harness itself: a block, its output, a skip marker, and a stray output block.
    sample = textwrap.dedent("""\
        ```python
        print(1 + 1)
        ```

        ```output
        2
        ```

        % docs-test: skip needs the public network
        ```python
        import nowhere
        ```
        """)
    a, b = parse_text("sample.md", sample)
    assert (a.code, a.expected, a.skip) == ("print(1 + 1)", "2", None)
    assert b.expected is None and b.skip == "needs the public network"
    check(a, run_block(a))
    with pytest.raises(AssertionError):
        check(a, "3\n")
    with pytest.raises(AssertionError, match="must directly follow"):
        parse_text("sample.md", "text\n\n```output\n2\n```\n")
    with pytest.raises(AssertionError, match="needs a reason"):
        parse_text("sample.md", "% docs-test: skip\n```python\npass\n```\n")


@pytest.mark.parametrize("block", ALL, ids=[b.id for b in ALL])
def test_example_runs_and_prints_what_the_page_shows(block: Block):
    if block.skip:
        pytest.skip(block.skip)
    check(block, run_block(block))


# ---- the same examples on the pure-Python twin -----------------------------------------------------

_CHILD = """
import json, sys
sys.path.insert(0, {tests!r})
import stellar_ob
from test_docs import parse_page, run_block
import traceback
results = {{"implementation": stellar_ob.IMPLEMENTATION}}
for block in parse_page({page!r}):
    if block.skip:
        continue
    try:
        results[block.id] = ["ok", run_block(block)]
    except BaseException:
        results[block.id] = ["error", traceback.format_exc()]
print("\\n@@RESULTS@@" + json.dumps(results))
"""


@pytest.fixture(scope="module")
def twin_results() -> dict:
    results: dict = {}
    env = {**os.environ, "STELLAR_OB_PURE": "1"}
    for page in PAGES:
        code = _CHILD.format(tests=str(Path(__file__).resolve().parent), page=page)
        proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env,
                              timeout=600, cwd=str(DOCS.parent))
        assert proc.returncode == 0, proc.stderr
        page_results = json.loads(proc.stdout.rsplit("@@RESULTS@@", 1)[1])
        assert page_results.pop("implementation") == "py"
        results.update(page_results)
    return results


@pytest.mark.parametrize("block", ALL, ids=[b.id for b in ALL])
def test_example_on_the_twin(block: Block, twin_results: dict):
    if block.skip:
        pytest.skip(block.skip)
    status, value = twin_results[block.id]
    assert status == "ok", f"{block.id} failed on the pure-Python twin:\n{value}"
    check(block, value)
