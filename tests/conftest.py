"""Shared fixtures: every behaviour test runs on the compiled core ("c") and the twin ("py")."""

from __future__ import annotations

import importlib
import os
from pathlib import Path
from types import ModuleType

import pytest

from stellar_ob import _pure

REPO = Path(__file__).resolve().parent.parent
FIXTURES = Path(os.environ.get("STELLAR_OB_FIXTURES", REPO.parent / "shared" / "fixtures" / "horizon"))
REQUIRE_C = os.environ.get("STELLAR_OB_REQUIRE_C") == "1"

USDC = "USDC:GA5ZSEJYB37JRC5AVCIA5MOP4RHTM335X2KGX3IHOJAPP5RE34K4KZVN"


def load_c(name: str = "_core") -> ModuleType:
    """The compiled module, or a skip (a failure when STELLAR_OB_REQUIRE_C=1, as in CI)."""
    try:
        return importlib.import_module(f"stellar_ob.{name}")
    except ImportError as e:
        if REQUIRE_C:
            pytest.fail(f"compiled extension stellar_ob.{name} is required but missing: {e}")
        pytest.skip(f"compiled extension stellar_ob.{name} is not built: {e}")


@pytest.fixture(params=["c", "py"])
def impl(request: pytest.FixtureRequest) -> ModuleType:
    """The module providing Price, OrderBook, ... for one implementation."""
    return load_c() if request.param == "c" else _pure


@pytest.fixture
def fixtures_dir() -> Path:
    if not FIXTURES.is_dir():
        pytest.skip(f"Horizon fixtures not found at {FIXTURES} (set STELLAR_OB_FIXTURES)")
    return FIXTURES
