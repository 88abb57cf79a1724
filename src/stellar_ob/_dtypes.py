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
    """One level change: side 0 = bid, 1 = ask; the layout of the C core's sob_level_change (32
    bytes: side is the low byte of its int32, then n, d, 4 bytes of padding, the two amounts),
    so the compiled BookDiff hands out its packed array as a view, without a copy."""
    import numpy as np

    return np.dtype({"names": ["side", "n", "d", "old_amount", "new_amount"],
                     "formats": ["i1", "<i4", "<i4", "<u8", "<u8"],
                     "offsets": [0, 4, 8, 16, 24], "itemsize": 32})
