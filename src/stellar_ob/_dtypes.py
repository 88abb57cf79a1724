"""numpy dtypes shared by both implementations (numpy is imported on first use only)."""

from __future__ import annotations

from functools import lru_cache
from typing import Any


@lru_cache(maxsize=None)
def level_dtype() -> Any:
    """One level: the packed layout of the C core's sob_level (16 bytes)."""
    import numpy as np

    return np.dtype([("n", "<i4"), ("d", "<i4"), ("amount", "<u8")])


@lru_cache(maxsize=None)
def diff_dtype() -> Any:
    """One level change: side 0 = bid, 1 = ask."""
    import numpy as np

    return np.dtype([("side", "i1"), ("n", "<i4"), ("d", "<i4"), ("old_amount", "<u8"), ("new_amount", "<u8")])
