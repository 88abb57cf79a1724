"""Ledger files: SEP-54 data-lake files (``LedgerCloseMetaBatch``) and XDR record-marked streams,
raw or zstd-compressed (Python 3.14's ``compression.zstd``, else the ``zstandard`` package).

>>> detect_form("FCD285FF--53312000.xdr.zst", b"")
1
"""

from __future__ import annotations

import os
import re
from typing import List, Optional

from ._ledger import FORM_BATCH, FORM_STREAM, LedgerReader

__all__ = ["read_ledger_file", "open_ledgers", "detect_form", "DEFAULT_MAX_BYTES"]

DEFAULT_MAX_BYTES = 4 << 30  # decompressed bytes one file may hold
_DATALAKE_NAME = re.compile(r"^[0-9A-Fa-f]{8}--\d+(-\d+)?\.xdr(\.zstd?)?$")


def _zstd_decompress(raw: bytes, max_bytes: int) -> bytes:
    """zstd frames -> bytes, refusing more than ``max_bytes`` (a bomb cannot exhaust memory)."""
    from ..errors import ParseError

    try:
        from compression import zstd as _std  # Python 3.14+

        d = _std.ZstdDecompressor()
        try:
            out = d.decompress(raw, max_length=max_bytes + 1)
        except _std.ZstdError as exc:
            raise ParseError(f"zstd: {exc}") from exc
        if len(out) > max_bytes:
            raise ParseError(f"zstd: more than {max_bytes} bytes decompressed")
        if not d.eof:
            raise ParseError("zstd: truncated frame")
        return out
    except ImportError:
        pass
    try:
        import zstandard
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise ImportError("reading .zst files needs Python 3.14's compression.zstd or the zstandard package "
                          "(pip install zstandard)") from exc
    dobj = zstandard.ZstdDecompressor().decompressobj()
    parts: List[bytes] = []
    total = 0
    step = 1 << 20
    try:
        for i in range(0, len(raw), step):
            piece = dobj.decompress(raw[i:i + step])
            total += len(piece)
            if total > max_bytes:
                raise ParseError(f"zstd: more than {max_bytes} bytes decompressed")
            parts.append(piece)
    except zstandard.ZstdError as exc:
        raise ParseError(f"zstd: {exc}") from exc
    if not dobj.eof:
        raise ParseError("zstd: truncated frame")
    return b"".join(parts)


def read_ledger_file(path: str, *, max_bytes: int = DEFAULT_MAX_BYTES) -> bytes:
    """The XDR bytes of a ledger file (zstd-decompressed when its name ends in .zst/.zstd or its
    bytes start with the zstd magic)."""
    with open(path, "rb") as fh:
        raw = fh.read()
    if path.endswith((".zst", ".zstd")) or raw[:4] == b"\x28\xb5\x2f\xfd":
        return _zstd_decompress(raw, max_bytes)
    return raw


def detect_form(path: str, data: bytes) -> int:
    """FORM_BATCH for data-lake names (``XXXXXXXX--SEQ[-SEQ].xdr[.zst]``) and for inputs whose
    first word is not a record mark; FORM_STREAM when it is one (high bit set)."""
    if _DATALAKE_NAME.match(os.path.basename(path)):
        return FORM_BATCH
    if len(data) >= 4 and data[0] & 0x80:
        return FORM_STREAM
    return FORM_BATCH


def open_ledgers(path: str, form: Optional[int] = None, *, max_bytes: int = DEFAULT_MAX_BYTES) -> LedgerReader:
    """A :class:`~stellar_ob.ledger._ledger.LedgerReader` over a ledger file (form detected unless given)."""
    data = read_ledger_file(path, max_bytes=max_bytes)
    return LedgerReader(data, detect_form(path, data) if form is None else form)
