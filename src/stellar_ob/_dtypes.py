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


def diff_array_rows(arr: Any) -> tuple:
    """The ``(side, n, d, amount)`` changes of a structured array with fields ``side`` (0 = bid,
    1 = ask, as :func:`diff_dtype` holds it), ``n``, ``d`` and ``new_amount`` (or ``amount``),
    for ``apply_diff``: one tuple per row, the values checked by the book afterwards."""
    from .errors import InvalidBookError

    names = set(arr.dtype.names or ())
    amount = "new_amount" if "new_amount" in names else "amount"
    if not {"side", "n", "d", amount} <= names or arr.ndim != 1:
        raise InvalidBookError("a structured array of changes needs one dimension and fields side, n, d and "
                               "new_amount (or amount)")
    sides = []
    for i, s in enumerate(arr["side"].tolist()):
        if type(s) is not int or s not in (0, 1):
            raise InvalidBookError(f"changes[{i}]: side must be 0 (bid) or 1 (ask), got {s!r}")
        sides.append("bid" if s == 0 else "ask")
    return tuple(zip(sides, arr["n"].tolist(), arr["d"].tolist(), arr[amount].tolist()))
