"""A history archive for tests: written from LedgerEntry XDR into a directory, served over loopback.

:func:`bucket_bytes` frames ``BucketEntry`` records as stellar-core writes a bucket (an XDR
record-marked stream: a 4-byte big-endian length with the top bit set, then one entry; a
METAENTRY first; entries sorted by entry type). :func:`write_archive` writes one checkpoint: the
gzipped buckets under ``bucket/aa/bb/cc/bucket-<hash>.xdr.gz`` (hash: sha256 of the uncompressed
bucket; an empty bucket is the zero hash and has no file), the checkpoint's History Archive State
under ``history/aa/bb/cc/history-<%08x checkpoint>.json`` and, when it is the newest, the root
``.well-known/stellar-history.json`` (stellar-core src/history/HistoryArchive.cpp,
FileTransferInfo.cpp). :class:`LocalArchive` serves such a directory on 127.0.0.1 with Range
support (so downloads can resume) and fault switches that are counts of bucket requests to spoil.
"""

from __future__ import annotations

import asyncio
import gzip
import hashlib
import json
import os
import struct
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable, Sequence

from aiohttp import web

from stellar_ob.testing._loopback import FaultCounts, LoopbackServer, first_half, flip_bytes
from stellar_ob.testing._loopback import take as _take
from stellar_ob.errors import ArgumentError

__all__ = ["bucket_bytes", "write_archive", "LocalArchive", "ArchiveFaults", "LIVE", "INIT", "DEAD", "ZERO_HASH"]

LIVE, DEAD, INIT, META = 0, 1, 2, -1
ZERO_HASH = "0" * 64
STANDALONE_PASSPHRASE = "Standalone Network ; February 2017"
_KINDS = {"LIVE": LIVE, "DEAD": DEAD, "INIT": INIT}


def _entry_type(kind: int, body: bytes) -> int:
    # LedgerEntry: lastModifiedLedgerSeq, then the data arm; LedgerKey: the arm first
    return struct.unpack_from(">i", body, 4 if kind != DEAD else 0)[0]


def bucket_bytes(entries: Iterable[tuple[str, bytes]], *, ledger_version: int | None = 23,
                 sort: bool = True) -> bytes:
    """The uncompressed bucket of ``entries``: ``("LIVE" | "INIT", LedgerEntry XDR)`` or
    ``("DEAD", LedgerKey XDR)``. A METAENTRY (``ledger_version``, ext v0) comes first unless
    ``ledger_version`` is None. ``sort``: stably sort by entry type, as stellar-core's order
    (BucketEntryIdCmp) puts them; the order within a type is kept as given."""
    items = [(_KINDS[k], bytes(b)) for k, b in entries]
    if sort:
        items.sort(key=lambda kb: _entry_type(*kb))
    out = bytearray()
    if ledger_version is not None:
        rec = struct.pack(">iII", META, ledger_version, 0)
        out += struct.pack(">I", 0x80000000 | len(rec)) + rec
    for kind, body in items:
        rec = struct.pack(">i", kind) + body
        out += struct.pack(">I", 0x80000000 | len(rec)) + rec
    return bytes(out)


def bucket_path(hash_hex: str) -> str:
    return f"bucket/{hash_hex[0:2]}/{hash_hex[2:4]}/{hash_hex[4:6]}/bucket-{hash_hex}.xdr.gz"


def has_path(checkpoint: int) -> str:
    h = f"{checkpoint:08x}"
    return f"history/{h[0:2]}/{h[2:4]}/{h[4:6]}/history-{h}.json"


def write_archive(path: str | os.PathLike, checkpoint: int,
                  levels: Sequence[tuple[bytes | None, bytes | None]], *,
                  passphrase: str = STANDALONE_PASSPHRASE, root: bool = True) -> dict:
    """Write the checkpoint ``checkpoint`` (a ledger ``64k - 1``) under ``path``: ``levels`` gives
    up to 11 ``(curr, snap)`` uncompressed buckets (:func:`bucket_bytes`; None or b"" for an empty
    bucket). Returns the HAS written (also as the root HAS when ``root``)."""
    if (checkpoint + 1) % 64 != 0:
        raise ArgumentError("a checkpoint ledger is 64k - 1")
    if len(levels) > 11:
        raise ArgumentError("a bucket list has 11 levels")
    base = Path(path)
    current = []
    for i in range(11):
        curr, snap = levels[i] if i < len(levels) else (None, None)
        hashes = []
        for content in (curr, snap):
            if not content:
                hashes.append(ZERO_HASH)
                continue
            h = hashlib.sha256(content).hexdigest()
            out = base / bucket_path(h)
            out.parent.mkdir(parents=True, exist_ok=True)
            if not out.exists():
                tmp = out.with_suffix(".tmp")
                tmp.write_bytes(gzip.compress(content, compresslevel=6, mtime=0))
                tmp.replace(out)
            hashes.append(h)
        current.append({"curr": hashes[0], "next": {"state": 0}, "snap": hashes[1]})
    has = {"version": 2, "server": "stellar_ob.testing", "currentLedger": checkpoint,
           "networkPassphrase": passphrase, "currentBuckets": current}
    text = json.dumps(has, indent=2)
    for rel in [has_path(checkpoint)] + ([".well-known/stellar-history.json"] if root else []):
        out = base / rel
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(text)
    return has


@dataclass
class ArchiveFaults(FaultCounts):
    """Counts of bucket requests to spoil; decremented as used (HAS files are never spoiled)."""

    not_found: int = 0  #: HTTP 404
    server_errors: int = 0  #: HTTP 503
    cuts: int = 0  #: half of what was asked, then the connection is closed
    corrupted: int = 0  #: bytes of the gzip stream flipped (same length)
    truncated: int = 0  #: the first half of the file, with a matching Content-Length
    wrong_hash: int = 0  #: another bucket's file served under this name
    ignore_range: int = 0  #: a Range request answered with the whole file (200)
    stalls: int = 0  #: half of what was asked, then nothing more (until the server stops)


class LocalArchive(LoopbackServer):
    """Serve the archive directory ``path`` on 127.0.0.1 (``url``), with ``faults``."""

    def __init__(self, path: str | os.PathLike, *, host: str = "127.0.0.1", port: int = 0) -> None:
        super().__init__(host=host, port=port)
        self.path = Path(path)
        self.faults = ArchiveFaults()
        self.requests: list[tuple[str, str | None]] = []  #: (path, Range header)
        self.spoiled = 0

    def _routes(self, app: web.Application) -> None:
        app.router.add_get("/{key:.*}", self._handle)

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        key = request.match_info["key"]
        rng = request.headers.get("Range")
        self.requests.append((key, rng))
        target = (self.path / key).resolve()
        if self.path.resolve() not in target.parents or not target.is_file():
            return web.Response(status=404, text="not found")
        data = await asyncio.to_thread(target.read_bytes)
        f = self.faults
        if key.startswith("bucket/"):
            if _take(f, "not_found"):
                self.spoiled += 1
                return web.Response(status=404, text="not found")
            if _take(f, "server_errors"):
                self.spoiled += 1
                return web.Response(status=503, text="unavailable")
            if _take(f, "corrupted"):
                self.spoiled += 1
                data = flip_bytes(data, len(data) // 3, 5, 0x5A)
            elif _take(f, "truncated"):
                self.spoiled += 1
                data = first_half(data)
            elif _take(f, "wrong_hash"):
                self.spoiled += 1
                others = sorted(p for p in (self.path / "bucket").rglob("*.xdr.gz") if p.resolve() != target)
                if others:
                    data = others[0].read_bytes()
            if rng is not None and _take(f, "ignore_range"):
                self.spoiled += 1
                rng = None
        status, start, headers = 200, 0, {}
        if rng is not None:
            if not rng.startswith("bytes=") or not rng.endswith("-") or not rng[6:-1].isdigit():
                return web.Response(status=416)
            start = int(rng[6:-1])
            if start >= len(data):
                return web.Response(status=416, headers={"Content-Range": f"bytes */{len(data)}"})
            status = 206
            headers["Content-Range"] = f"bytes {start}-{len(data) - 1}/{len(data)}"
        body = data[start:]
        for name, close in (("stalls", False), ("cuts", True)):
            if key.startswith("bucket/") and _take(f, name):
                self.spoiled += 1
                return await self._partial(request, body, close=close, status=status,
                                           headers={"Content-Type": "application/gzip", **headers})
        return web.Response(status=status, body=body, headers=headers,
                            content_type="application/json" if key.endswith(".json") else "application/gzip")
