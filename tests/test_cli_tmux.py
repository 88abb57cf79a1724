"""`stellar-ob demo` and `stellar-ob watch` in a real terminal (tmux) against the local Horizon:
capture-pane shows the title, colours, and no line wider than the terminal (issue 16).

Skipped when tmux is missing, unless STELLAR_OB_REQUIRE_TMUX=1 (CI sets it)."""

from __future__ import annotations

import asyncio
import os
import re
import shlex
import shutil
import subprocess
import sys
import time
import uuid

import pytest

from stellar_ob.testing import LocalHorizon

pytestmark = pytest.mark.network

TMUX = shutil.which("tmux")
if TMUX is None:
    if os.environ.get("STELLAR_OB_REQUIRE_TMUX") == "1":
        raise RuntimeError("STELLAR_OB_REQUIRE_TMUX=1 but tmux is not installed")
    pytest.skip("tmux is not installed", allow_module_level=True)

ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")


class Pane:
    def __init__(self, width: int, height: int, command: str) -> None:
        self.sock = f"sob-{uuid.uuid4().hex[:8]}"
        self.width, self.height = width, height
        env = f"env TERM=xterm-256color STELLAR_OB_NO_UVLOOP=1 COLUMNS={width} LINES={height}"
        self._tmux("new-session", "-d", "-x", str(width), "-y", str(height), "-s", "t",
                   f"{env} {command}; sleep 30")

    def _tmux(self, *args: str) -> str:
        return subprocess.run([TMUX, "-L", self.sock, "-f", "/dev/null", *args], capture_output=True, text=True,
                              timeout=20, check=True).stdout

    def capture(self) -> str:
        return self._tmux("capture-pane", "-p", "-e", "-t", "t")

    def kill(self) -> None:
        subprocess.run([TMUX, "-L", self.sock, "kill-server"], capture_output=True, timeout=20)


def _wait_screen(pane: Pane, want: str, timeout: float = 30) -> str:
    t0 = time.monotonic()
    screen = ""
    while time.monotonic() - t0 < timeout:
        screen = pane.capture()
        if want in ANSI.sub("", screen) and "live" in ANSI.sub("", screen):
            return screen
        time.sleep(0.2)
    raise AssertionError(f"{want!r} not on screen after {timeout} s:\n{ANSI.sub('', screen)}")


def _check(screen: str, width: int, height: int, title: str) -> None:
    plain = ANSI.sub("", screen)
    lines = plain.rstrip("\n").split("\n")
    assert len(lines) <= height
    for line in lines:
        assert len(line.rstrip()) <= width, line
    assert any(title in l for l in lines[:2]), plain  # the title is at the top, not scrolled away
    assert re.search(r"\x1b\[[0-9;]*3[12]m|\x1b\[[0-9;]*38;5;[0-9]+m", screen), "no colours"
    assert "Traceback" not in plain


@pytest.mark.parametrize("width,height", [(80, 24), (120, 40)])
def test_demo_in_tmux(width, height):
    py = shlex.quote(sys.executable)
    pane = Pane(width, height, f"{py} -m stellar_ob demo --markets 3 --ledger-interval 0.2 --duration 60")
    try:
        screen = _wait_screen(pane, "stellar-ob demo")
        time.sleep(1.0)
        screen = pane.capture()
        _check(screen, width, height, "stellar-ob demo")
    finally:
        pane.kill()


def test_watch_in_tmux_against_the_local_horizon():
    async def go() -> None:
        async with LocalHorizon(markets=2, ledger_interval=0.2) as server:
            (b1, c1), (b2, c2) = server.market_assets()[:2]
            py = shlex.quote(sys.executable)
            pane = Pane(80, 24, f"{py} -m stellar_ob watch {b1} {c1} {b2} {c2} --horizon {server.url} --duration 60")
            try:
                screen = await asyncio.to_thread(_wait_screen, pane, "stellar-ob watch")
                _check(screen, 80, 24, "stellar-ob watch")
            finally:
                pane.kill()

    asyncio.run(go())
