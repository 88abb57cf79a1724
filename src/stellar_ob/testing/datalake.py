"""A SEP-54 data lake for tests: written from ledger bytes into a directory, served over loopback HTTP.

:func:`write_data_lake` writes ``.config.json`` and the zstd ``LedgerCloseMetaBatch`` files (names
and partitions as :func:`stellar_ob.ledger.datalake.object_key`); called again with newer ledgers
it adds their files (the tip advancing). :class:`LocalDataLake` serves such a directory on
127.0.0.1 as a bucket does (GET of a key; 404 when it is not there), with fault switches that are
counts of requests to spoil (429, 503, cut bodies, stalls, corrupted or truncated files).
Needs ``zstandard`` (the ``datalake`` extra).
"""

from __future__ import annotations

import json
import os
import struct
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable

from aiohttp import web

from stellar_ob.ledger.datalake import object_key
from stellar_ob.testing._loopback import FaultCounts, LoopbackServer, first_half, flip_bytes
from stellar_ob.testing._loopback import take as _take

__all__ = ["write_data_lake", "LocalDataLake", "LakeFaults"]

STANDALONE_PASSPHRASE = "Standalone Network ; February 2017"


def write_data_lake(path: str | os.PathLike, ledgers: Iterable[tuple[int, bytes]], *, ledgers_per_batch: int = 1,
                    batches_per_partition: int = 64000, passphrase: str = STANDALONE_PASSPHRASE) -> list[str]:
    """Write ``ledgers`` (``(sequence, LedgerCloseMeta)``, consecutive) as a SEP-54 lake under
    ``path``; returns the keys written. A file gets the ledgers given for its range (the first and
    last file may hold fewer than ``ledgers_per_batch``). ``.config.json`` is written if missing."""
    import zstandard

    root = Path(path)
    root.mkdir(parents=True, exist_ok=True)
    cfg = root / ".config.json"
    if not cfg.exists():
        cfg.write_text(json.dumps({"networkPassphrase": passphrase, "version": "1.0", "compression": "zstd",
                                   "ledgersPerBatch": ledgers_per_batch,
                                   "batchesPerPartition": batches_per_partition}, indent=2))
    files: dict[str, list[tuple[int, bytes]]] = {}
    for seq, meta in ledgers:
        files.setdefault(object_key(seq, ledgers_per_batch, batches_per_partition), []).append((seq, meta))
    keys = []
    cctx = zstandard.ZstdCompressor(level=3)
    for key, group in files.items():
        start, end = group[0][0], group[-1][0]
        body = struct.pack(">III", start, end, len(group)) + b"".join(m for _s, m in group)
        out = root / key
        out.parent.mkdir(parents=True, exist_ok=True)
        tmp = out.with_suffix(".tmp")
        tmp.write_bytes(cctx.compress(body))
        tmp.replace(out)  # a reader never sees half a file
        keys.append(key)
    return keys


@dataclass
class LakeFaults(FaultCounts):
    """Counts of file requests (``.config.json`` excluded) to spoil; decremented as used."""

    rate_limited: int = 0  #: HTTP 429 with ``Retry-After: retry_after``
    retry_after: str = "1"
    server_errors: int = 0  #: HTTP 503
    cuts: int = 0  #: half the file, then the connection is closed
    stalls: int = 0  #: never answered (until the client gives up or the server stops)
    corrupted: int = 0  #: bytes of the zstd frame flipped
    truncated: int = 0  #: the first half of the file only, with a matching Content-Length
    wrong_range: int = 0  #: the previous ledger's file served under this name


class LocalDataLake(LoopbackServer):
    """Serve the lake directory ``path`` on 127.0.0.1 (``url``), with ``faults`` (:class:`LakeFaults`)."""

    def __init__(self, path: str | os.PathLike, *, host: str = "127.0.0.1", port: int = 0) -> None:
        super().__init__(host=host, port=port)
        self.path = Path(path)
        self.faults = LakeFaults()
        self.requests = 0
        self.spoiled = 0

    def _routes(self, app: web.Application) -> None:
        app.router.add_get("/{key:.*}", self._handle)

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        self.requests += 1
        key = request.match_info["key"]
        target = (self.path / key).resolve()
        if self.path.resolve() not in target.parents or not target.is_file():
            return web.Response(status=404, text="NoSuchKey")
        data = target.read_bytes()
        f = self.faults
        if key != ".config.json":
            if _take(f, "stalls"):
                self.spoiled += 1
                return await self._stall()
            if _take(f, "rate_limited"):
                self.spoiled += 1
                return web.Response(status=429, text="SlowDown", headers={"Retry-After": f.retry_after})
            if _take(f, "server_errors"):
                self.spoiled += 1
                return web.Response(status=503, text="ServiceUnavailable")
            if _take(f, "corrupted"):
                self.spoiled += 1
                data = flip_bytes(data, 4, 7, 0xA5)
            elif _take(f, "truncated"):
                self.spoiled += 1
                data = first_half(data)
            elif _take(f, "wrong_range"):
                self.spoiled += 1
                others = sorted(p for p in target.parent.glob("*.xdr.zst") if p != target)
                if others:
                    data = others[0].read_bytes()
            if _take(f, "cuts"):
                self.spoiled += 1
                return await self._partial(request, data, close=True,
                                           headers={"Content-Type": "application/octet-stream"})
        return web.Response(body=data, content_type="application/octet-stream")
