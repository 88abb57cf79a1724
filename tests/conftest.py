"""Shared fixtures: every behaviour test runs on the compiled core ("c") and the twin ("py")."""

from __future__ import annotations

import asyncio
import os
import time
from pathlib import Path
from types import ModuleType
from typing import Callable, Union

import pytest

from stellar_ob import _impl
from stellar_ob.book import _pure

REPO = Path(__file__).resolve().parent.parent
FIXTURES = REPO / "tests" / "data" / "horizon"  # recorded Horizon data, see tests/data/NOTICE
REQUIRE_C = os.environ.get("STELLAR_OB_REQUIRE_C") == "1"
# Under the ASan/UBSan run (.ci/run preloads libasan), freed memory sits in ASan's quarantine (up to
# 256 MB), so the process's RSS says nothing about what the library holds: the RSS-bound tests run
# in the normal suite and skip there.
UNDER_ASAN = "libasan" in os.environ.get("LD_PRELOAD", "")
skip_rss_under_asan = pytest.mark.skipif(UNDER_ASAN, reason="RSS under ASan includes its quarantine of freed memory")

USDC = "USDC:GA5ZSEJYB37JRC5AVCIA5MOP4RHTM335X2KGX3IHOJAPP5RE34K4KZVN"


def load_c(domain: str = "book") -> ModuleType:
    """The compiled module of ``domain`` ("book", "offers" or "horizon"), or a skip (a failure when
    STELLAR_OB_REQUIRE_C=1, as in CI)."""
    try:
        return _impl.compiled(domain)
    except ImportError as e:
        if REQUIRE_C:
            pytest.fail(f"compiled extension of {domain!r} is required but missing: {e}")
        pytest.skip(f"compiled extension of {domain!r} is not built: {e}")


@pytest.fixture(params=["c", "py"])
def impl(request: pytest.FixtureRequest) -> ModuleType:
    """The module providing Price, OrderBook, ... for one implementation."""
    return load_c() if request.param == "c" else _pure


@pytest.fixture
def fixtures_dir() -> Path:
    """tests/data/horizon: part of the repository, so a missing folder is a failure, not a skip."""
    assert FIXTURES.is_dir(), f"Horizon fixtures missing from the repository: {FIXTURES}"
    return FIXTURES


async def until(predicate: Callable[[], object], what: Union[str, Callable[[], str]], timeout: float = 30.0,
                poll: float = 0.005) -> None:
    """Poll ``predicate()`` until it is true; fail with ``what`` (or ``what()``, worded when it
    fails) after ``timeout`` seconds. The network tests' one way to wait for a state."""
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"never: {what() if callable(what) else what}")
        await asyncio.sleep(poll)
