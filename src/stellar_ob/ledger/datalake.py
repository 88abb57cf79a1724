"""A SEP-54 data lake (what galexie writes) as a ledger source: a local directory or HTTP(S).

Layout (SEP-54; stellar/go support/datastore, ``GetObjectKeyFromSequenceNumber``):

* ``.config.json`` at the root: ``networkPassphrase``, ``version``, ``compression`` (``"zstd"``),
  ``ledgersPerBatch``, ``batchesPerPartition``.
* A ledger's file starts at ``start = seq // ledgersPerBatch * ledgersPerBatch`` and ends at
  ``start + ledgersPerBatch - 1``; it is named ``<%08X of 0xFFFFFFFF - start>--<start>[-<end>]
  .xdr.zst`` (``-<end>`` only when a file holds more than one ledger), inside a partition folder
  named the same way after the partition's range (``ledgersPerBatch * batchesPerPartition``
  ledgers) when ``batchesPerPartition > 1``. The complement makes listings sort newest first.
* Each file is a zstd-compressed ``LedgerCloseMetaBatch`` XDR: ``uint32 startSequence; uint32
  endSequence; LedgerCloseMeta ledgerCloseMetas<>``.

What :class:`DataLake` hands over is one :class:`~stellar_ob.ledger.stream.LedgerBatch` per file:
the decompressed batch whole, its ``start``/``end`` read strictly from the batch header (the two
sequences and the array count, 12 bytes) and checked against the file's name (the header's range
within the name's, the count equal to ``end - start + 1``). Splitting the batch into ledgers is
the C decoder's job (its reader walks BATCH inputs).

Following the tip: the next file is asked for every ``poll_interval`` of the stream; a file that
is not there yet (404, or 403 as S3 answers for a missing key without list rights; ENOENT on a
directory) is an empty page, not an error. Over HTTP every request has ``request_timeout``, a
compressed file at most ``max_file_bytes`` and a batch at most ``max_batch_bytes`` once
decompressed (a zstd bomb stops at the cap); 429 is waited out (capped) for every request.
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import struct
import time
from pathlib import Path
from typing import Any

import aiohttp

from stellar_ob.errors import ParseError
from stellar_ob.ledger.stream import (
    MAX_SEQUENCE,
    LedgerBatch,
    LedgerCounters,
    LedgerSourceError,
    NetworkMismatchError,
    Page,
    _deadline,
    check_seconds,
)
from stellar_ob.sync import ArgumentError, RateBudget

__all__ = ["DataLake", "DataLakeConfig", "object_key", "read_batch_header"]

_MiB = 1 << 20
_CONFIG_BYTES = 64 << 10
_NAME = re.compile(r"([0-9A-F]{8})--([0-9]{1,10})(?:-([0-9]{1,10}))?\.xdr\.zst")


class DataLakeConfig:
    """The ``.config.json`` of a lake, checked."""

    def __init__(self, doc: Any) -> None:
        if not isinstance(doc, dict):
            raise ParseError(".config.json is not a JSON object")
        lpb, bpp = doc.get("ledgersPerBatch"), doc.get("batchesPerPartition")
        for name, v in (("ledgersPerBatch", lpb), ("batchesPerPartition", bpp)):
            if isinstance(v, bool) or not isinstance(v, int) or not 1 <= v <= MAX_SEQUENCE:
                raise ParseError(f".config.json: {name} must be a positive integer, got {str(v)[:40]!r}")
        if lpb * bpp > 2**32:
            raise ParseError(".config.json: a partition would hold more than 2**32 ledgers")
        compression = doc.get("compression")
        if compression != "zstd":
            raise ParseError(f".config.json: compression {str(compression)[:40]!r} is not supported (only zstd)")
        passphrase = doc.get("networkPassphrase")
        if not isinstance(passphrase, str):
            raise ParseError(".config.json: networkPassphrase is not a string")
        self.ledgers_per_batch: int = lpb
        self.batches_per_partition: int = bpp
        self.compression = compression
        self.network_passphrase = passphrase
        self.version = doc.get("version")

    def file_range(self, sequence: int) -> tuple[int, int]:
        start = sequence // self.ledgers_per_batch * self.ledgers_per_batch
        return start, min(start + self.ledgers_per_batch - 1, MAX_SEQUENCE)

    def object_key(self, sequence: int) -> str:
        return object_key(sequence, self.ledgers_per_batch, self.batches_per_partition)


def object_key(sequence: int, ledgers_per_batch: int, batches_per_partition: int) -> str:
    """The path of the file holding ``sequence`` in a SEP-54 lake.

    >>> object_key(997, 1, 1)
    'FFFFFC1A--997.xdr.zst'
    >>> object_key(53312000, 1, 64000)
    'FCD285FF--53312000-53375999/FCD285FF--53312000.xdr.zst'
    >>> object_key(130, 64, 10)
    'FFFFFFFF--0-639/FFFFFF7F--128-191.xdr.zst'
    """
    key = ""
    if batches_per_partition > 1:
        size = ledgers_per_batch * batches_per_partition
        p_start = sequence // size * size
        p_end = min(p_start + size - 1, MAX_SEQUENCE)
        key = f"{MAX_SEQUENCE - p_start:08X}--{p_start}-{p_end}/"
    start = sequence // ledgers_per_batch * ledgers_per_batch
    end = min(start + ledgers_per_batch - 1, MAX_SEQUENCE)
    key += f"{MAX_SEQUENCE - start:08X}--{start}"
    if end != start:
        key += f"-{end}"
    return key + ".xdr.zst"


def read_batch_header(data: bytes, name_start: int, name_end: int, what: str = "batch") -> tuple[int, int]:
    """``(startSequence, endSequence)`` of a ``LedgerCloseMetaBatch``, read strictly and checked
    against the file name's range and the array count. Raises ParseError."""
    if len(data) < 12:
        raise ParseError(f"{what}: {len(data)} bytes, too short for a LedgerCloseMetaBatch header", 0)
    start, end, count = struct.unpack(">III", data[:12])
    if start > end:
        raise ParseError(f"{what}: startSequence {start} is after endSequence {end}", 0)
    if not name_start <= start <= end <= name_end:
        raise ParseError(f"{what}: holds ledgers {start}..{end}, its name says {name_start}..{name_end}", 0)
    if count != end - start + 1:
        raise ParseError(f"{what}: {count} ledgers for the range {start}..{end}", 8)
    return start, end


def _zstd() -> Any:
    try:
        import zstandard
    except ImportError:  # pragma: no cover - the extra is missing
        raise ImportError("reading a data lake needs zstandard: pip install 'stellar-ob[datalake]'") from None
    return zstandard


def _decompress(data: bytes, cap: int, what: str) -> bytes:
    zstandard = _zstd()
    out = bytearray()
    try:
        reader = zstandard.ZstdDecompressor().stream_reader(data, read_across_frames=True)
        while True:
            chunk = reader.read(1 << 20)
            if not chunk:
                break
            out += chunk
            if len(out) > cap:
                raise LedgerSourceError(f"{what}: decompresses past max_batch_bytes={cap:,}", limit="max_batch_bytes")
    except zstandard.ZstdError as e:
        raise ParseError(f"{what}: not a zstd file ({e})") from None
    return bytes(out)


class DataLake:
    """A SEP-54 data lake as a ledger source for :class:`~stellar_ob.ledger.stream.LedgerStream`.

    ``url_or_path``: an ``http(s)://`` URL of the lake's root, or a local directory (a path or
    ``file://``). ``passphrase``: the network expected (checked against ``.config.json``; None =
    not checked). A stream with no start begins at the newest file of a local lake; over HTTP it
    needs a start (a bucket is not listed). Options as :class:`~stellar_ob.ledger.rpc.Rpc`, plus
    ``max_file_bytes`` (64 MiB compressed) and ``max_batch_bytes`` (1 GiB decompressed).
    """

    def __init__(
        self,
        url_or_path: str | os.PathLike,
        *,
        passphrase: str | None = None,
        session: aiohttp.ClientSession | None = None,
        request_timeout: float = 60.0,
        connect_timeout: float = 10.0,
        max_file_bytes: int = 64 * _MiB,
        max_batch_bytes: int = 1024 * _MiB,
        max_retry_wait: float = 300.0,
        min_request_interval: float = 0.0,
    ) -> None:
        if isinstance(url_or_path, os.PathLike):
            url_or_path = os.fspath(url_or_path)
        if not isinstance(url_or_path, str) or not url_or_path:
            raise ArgumentError(f"url_or_path must be a URL or a directory, got {url_or_path!r}")
        if url_or_path.startswith(("http://", "https://")):
            self.url: str | None = url_or_path.rstrip("/") + "/"
            self.path: Path | None = None
        else:
            if "://" in url_or_path and not url_or_path.startswith("file://"):
                raise ArgumentError(f"url_or_path must be http(s)://, file:// or a directory, got {url_or_path!r}")
            self.url = None
            self.path = Path(url_or_path.removeprefix("file://"))
        if passphrase is not None and not isinstance(passphrase, str):
            raise ArgumentError("passphrase must be a str or None")
        for name, v in (("max_file_bytes", max_file_bytes), ("max_batch_bytes", max_batch_bytes)):
            if isinstance(v, bool) or not isinstance(v, int) or v < 1024:
                raise ArgumentError(f"{name} must be an int >= 1024, got {v!r}")
        self.passphrase = passphrase
        self.request_timeout = check_seconds("request_timeout", request_timeout, positive=True)
        self.connect_timeout = check_seconds("connect_timeout", connect_timeout, positive=True)
        self.max_file_bytes = max_file_bytes
        self.max_batch_bytes = max_batch_bytes
        self.budget = RateBudget(check_seconds("min_request_interval", min_request_interval),
                                 check_seconds("max_retry_wait", max_retry_wait))
        self.counters = LedgerCounters()
        self.config: DataLakeConfig | None = None
        self._session = session
        self._own_session = session is None
        self._owner: Any = None

    def __repr__(self) -> str:
        return f"DataLake({self.url or str(self.path)!r})"

    async def __aenter__(self) -> "DataLake":
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    def attach(self, owner: Any) -> None:
        self._owner = owner

    def forget_cursor(self) -> None:  # files are addressed by name: no cursor
        pass

    async def close(self) -> None:
        if self._session is not None and self._own_session:
            await self._session.close()
        self._session = None

    # ---- reading -------------------------------------------------------------------------------------
    async def _get(self, key: str, cap: int) -> bytes | None:
        """The bytes of ``key`` (None if it is not there), at most ``cap``."""
        c = self.counters
        c.requests += 1
        if self.path is not None:
            try:
                return await asyncio.to_thread(self._read_local, self.path / key, cap, key)
            except FileNotFoundError:
                return None
            except LedgerSourceError:
                c.limits_exceeded += 1
                raise
            except OSError as e:
                c.connection_errors += 1
                raise LedgerSourceError(f"{self.path / key}: {e}") from e
        await self.budget.acquire(self._owner)
        try:
            async with _deadline(self.request_timeout):
                return await self._get_http(key, cap)
        except asyncio.TimeoutError:
            c.timeouts += 1
            raise LedgerSourceError(f"{self.url}{key}: no complete answer within "
                                    f"request_timeout={self.request_timeout:g} s") from None
        except LedgerSourceError as e:
            if e.limit is not None:
                c.limits_exceeded += 1
            raise
        except (aiohttp.ClientError, ConnectionError, OSError) as e:
            c.connection_errors += 1
            raise LedgerSourceError(f"cannot read {self.url}{key}: {e!r}") from e

    @staticmethod
    def _read_local(path: Path, cap: int, key: str) -> bytes:
        with open(path, "rb") as f:
            data = f.read(cap + 1)
        if len(data) > cap:
            raise LedgerSourceError(f"{key}: over {cap:,} bytes", limit="max_file_bytes")
        return data

    async def _get_http(self, key: str, cap: int) -> bytes | None:
        from stellar_ob.ledger.rpc import _read_capped

        c = self.counters
        if self._session is None:
            self._own_session = True
            self._session = aiohttp.ClientSession(headers={"User-Agent": "stellar-ob"})
        timeout = aiohttp.ClientTimeout(total=self.request_timeout, connect=self.connect_timeout)
        async with self._session.get(self.url + key, timeout=timeout, allow_redirects=False,
                                     auto_decompress=False) as resp:
            if resp.status in (403, 404):
                return None
            if resp.status == 429:
                c.rate_limited += 1
                wait = self.budget.block(self.budget.retry_after(resp.headers))
                raise LedgerSourceError(f"{self.url}{key}: rate limited (429), waiting {wait:g} s", status=429)
            if resp.status != 200:
                c.http_errors += 1
                raise LedgerSourceError(f"{self.url}{key}: HTTP {resp.status}", status=resp.status)
            try:
                data = await _read_capped(resp, cap, self.url + key)
            except LedgerSourceError as e:
                raise LedgerSourceError(f"{self.url}{key}: over {cap:,} bytes (max_file_bytes, or 64 KiB for "
                                        f".config.json)", limit="max_file_bytes") from e
        if resp.content_length is not None and len(data) != resp.content_length:
            c.connection_errors += 1
            raise LedgerSourceError(f"{self.url}{key}: {len(data)} of {resp.content_length} bytes")
        c.bytes_received += len(data)
        return data

    async def open(self) -> None:
        """Read and check ``.config.json`` (once)."""
        if self.config is not None:
            return
        data = await self._get(".config.json", _CONFIG_BYTES)
        if data is None:
            raise LedgerSourceError(f"{self.url or self.path}: no .config.json (not a SEP-54 data lake?)")
        try:
            doc = json.loads(data)
        except (ValueError, RecursionError) as e:
            self.counters.parse_errors += 1
            raise ParseError(f".config.json is not JSON: {str(e)[:120]}") from None
        try:
            config = DataLakeConfig(doc)
        except ParseError:
            self.counters.parse_errors += 1
            raise
        if self.passphrase is not None and config.network_passphrase != self.passphrase:
            raise NetworkMismatchError(f"{self.url or self.path} holds the network "
                                       f"{config.network_passphrase!r}, not {self.passphrase!r}")
        self.config = config

    async def latest_ledger(self) -> int:
        """The last ledger of the newest file (a local lake only: over HTTP a bucket is not listed)."""
        if self.path is None:
            raise ArgumentError("a data lake over HTTP cannot be listed: give the stream a start")
        await self.open()
        newest = await asyncio.to_thread(self._newest_local)
        page = Page([]) if newest is None else await self.read(newest)
        if not page.items:
            raise LedgerSourceError(f"{self.path}: no ledger files yet")
        return page.items[0].end  # the batch header's, not the name's (the newest file may be partial)

    def _newest_local(self) -> int | None:
        if self.path is None or self.config is None:  # only reached for a local lake, once configured
            raise LedgerSourceError("a data lake's newest file is listed only for a local, configured lake")
        best: int | None = None
        for root, _dirs, files in os.walk(self.path):
            for f in files:
                m = _NAME.fullmatch(f)
                if m is not None:
                    start = int(m.group(2))
                    best = start if best is None else max(best, start)
        return best

    async def read(self, start: int) -> Page:
        """The file holding ``start`` as one LedgerBatch (an empty page if it is not there yet)."""
        await self.open()
        config = self.config
        if config is None:  # _configure() has run or raised
            raise LedgerSourceError("the data lake's .config.json was not read")
        key = config.object_key(start)
        data = await self._get(key, self.max_file_bytes)
        if data is None:
            return Page([])
        name_start, name_end = config.file_range(start)
        try:
            batch = await asyncio.to_thread(_decompress, data, self.max_batch_bytes, key)
            first, last = read_batch_header(batch, name_start, name_end, key)
        except ParseError:
            self.counters.parse_errors += 1
            raise
        except LedgerSourceError:
            self.counters.limits_exceeded += 1
            raise
        return Page([LedgerBatch(first, last, batch, max(first, start), key, time.perf_counter_ns())])
