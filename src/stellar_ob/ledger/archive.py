"""A Stellar history archive as the starting state of the DEX: a local directory or HTTP(S).

Layout (stellar-core src/history/HistoryArchive.cpp, FileTransferInfo.cpp; stellar/go
historyarchive):

* ``.well-known/stellar-history.json``: the root History Archive State (HAS) of the newest
  checkpoint; ``history/aa/bb/cc/history-<%08x ledger>.json``: the HAS of a checkpoint (a ledger
  ``64k - 1``). A HAS has ``version``, ``server``, ``currentLedger``, ``networkPassphrase`` (v2)
  and ``currentBuckets``: 11 levels of ``{"curr", "snap", "next"}`` (hex sha256 hashes; ``next``
  is a pending merge of buckets already in the list, so the state is curr and snap of every level).
* ``bucket/aa/bb/cc/bucket-<hash>.xdr.gz``: a gzipped bucket; ``hash`` is the sha256 of the
  uncompressed bucket. The zero hash is an empty bucket (no file).

:meth:`HistoryArchive.fetch_bucket` streams a bucket into ``cache_dir`` (``.part`` file, resumed with
a ``Range`` request after a cut), verifies its hash while decompressing in bounded pieces, and only
then gives it its final name; a cached bucket is not downloaded again. :meth:`HistoryArchive.load`
reads every bucket with the C reader (stellar_ob.ledger._bucket) newest first -- level 0 curr,
level 0 snap, ..., level 10 snap -- in two passes: offers and pools first, then only the accounts
and trustlines of the offers' sellers (bucket entries are sorted by type, accounts before offers,
so the sellers are not known during the first pass). Memory: what is kept plus one record.

A HAS request has ``request_timeout`` in all; a bucket download has no total limit but fails when
nothing arrives for ``read_timeout``. 5xx, cut connections, timeouts and a bucket that does not
match its hash are retried ``retries`` times (a download resumes with Range, also after a restart:
the ``.part`` file stays in ``cache_dir``); 404 is not.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import os
import re
import zlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterable, Iterator

import aiohttp

from stellar_ob.errors import ParseError
from stellar_ob.ledger.stream import LedgerSourceError, NetworkMismatchError, _deadline, check_seconds
from stellar_ob.sync import ArgumentError

__all__ = ["HistoryArchive", "ArchiveState", "BucketRef", "ArchiveProgress", "DexSnapshot", "ProgressBar",
           "ArchiveError", "BucketHashError", "checkpoint_of", "bucket_path", "has_path", "ZERO_HASH"]

ZERO_HASH = "0" * 64
ROOT_HAS = ".well-known/stellar-history.json"
LEVELS = 11
CHECKPOINT_FREQUENCY = 64
_HEX64 = re.compile(r"[0-9a-f]{64}")
_MiB = 1 << 20


class ArchiveError(LedgerSourceError):
    """A history archive request failed or sent something unusable."""


class BucketHashError(ArchiveError):
    """A bucket's uncompressed content does not hash to its name (or is not valid gzip)."""


def checkpoint_of(ledger: int) -> int:
    """The checkpoint ledger (64k - 1) that holds ``ledger``."""
    return ledger // CHECKPOINT_FREQUENCY * CHECKPOINT_FREQUENCY + CHECKPOINT_FREQUENCY - 1


def bucket_path(hash_hex: str) -> str:
    return f"bucket/{hash_hex[0:2]}/{hash_hex[2:4]}/{hash_hex[4:6]}/bucket-{hash_hex}.xdr.gz"


def has_path(checkpoint: int) -> str:
    h = f"{checkpoint:08x}"
    return f"history/{h[0:2]}/{h[2:4]}/{h[4:6]}/history-{h}.json"


@dataclass(frozen=True)
class BucketRef:
    level: int
    which: str  #: "curr" or "snap"
    hash: str


@dataclass(frozen=True)
class ArchiveState:
    """A History Archive State, checked strictly."""

    version: int
    server: str | None
    current_ledger: int
    network_passphrase: str | None
    levels: tuple[tuple[str, str], ...]  #: (curr, snap) hashes of levels 0..10

    @classmethod
    def from_json(cls, doc: Any, what: str = "HAS") -> "ArchiveState":
        if isinstance(doc, (bytes, bytearray)):
            try:
                doc = json.loads(doc)
            except (ValueError, UnicodeDecodeError) as e:
                raise ParseError(f"{what}: not JSON ({e})") from None
        if not isinstance(doc, dict):
            raise ParseError(f"{what}: not a JSON object")
        version = doc.get("version")
        if type(version) is not int or version not in (1, 2):
            raise ParseError(f"{what}: version must be 1 or 2, got {version!r}")
        ledger = doc.get("currentLedger")
        if type(ledger) is not int or not 0 <= ledger <= 0xFFFFFFFF:
            raise ParseError(f"{what}: currentLedger must be a uint32, got {ledger!r}")
        server = doc.get("server")
        if server is not None and not isinstance(server, str):
            raise ParseError(f"{what}: server must be a string")
        passphrase = doc.get("networkPassphrase")
        if passphrase is not None and not isinstance(passphrase, str):
            raise ParseError(f"{what}: networkPassphrase must be a string")
        buckets = doc.get("currentBuckets")
        if not isinstance(buckets, list) or len(buckets) != LEVELS:
            raise ParseError(f"{what}: currentBuckets must list {LEVELS} levels")
        levels = []
        for i, level in enumerate(buckets):
            if not isinstance(level, dict):
                raise ParseError(f"{what}: currentBuckets[{i}] is not an object")
            pair = []
            for which in ("curr", "snap"):
                h = level.get(which)
                if not isinstance(h, str) or not _HEX64.fullmatch(h):
                    raise ParseError(f"{what}: currentBuckets[{i}].{which} is not a 64-digit lowercase hex hash")
                pair.append(h)
            levels.append((pair[0], pair[1]))
        return cls(version, server, ledger, passphrase, tuple(levels))

    def buckets(self) -> list[BucketRef]:
        """The non-empty buckets, newest first (level 0 curr, level 0 snap, level 1 curr, ...)."""
        out = []
        for i, (curr, snap) in enumerate(self.levels):
            for which, h in (("curr", curr), ("snap", snap)):
                if h != ZERO_HASH:
                    out.append(BucketRef(i, which, h))
        return out


@dataclass
class ArchiveProgress:
    """What :class:`HistoryArchive` is doing, handed to the ``progress`` callback."""

    phase: str  #: "download" or "read" (pass 1: offers and pools) or "read-accounts" (pass 2)
    bucket: int  #: index of the bucket in the list (newest first)
    buckets: int  #: number of non-empty buckets
    hash: str
    done: int  #: bytes of this bucket done (compressed bytes)
    total: int | None  #: its size when known


@dataclass
class DexSnapshot:
    """The DEX at a checkpoint: plain records of stellar_ob.ledger._bucket."""

    ledger: int
    network_passphrase: str | None
    offers: list[dict] = field(default_factory=list)
    pools: list[dict] = field(default_factory=list)
    trustlines: list[dict] = field(default_factory=list)
    accounts: list[dict] = field(default_factory=list)


class ProgressBar:
    """A one-line text progress bar for :class:`HistoryArchive` (``progress=ProgressBar()``)::

        download  3/12 [############............]  50%   1.2 MB / 2.4 MB  bucket-c3131b94

    Written to ``stream`` (default: sys.stderr) with a carriage return; a new line when the phase
    or the bucket changes. ``width``: characters of the bar."""

    def __init__(self, stream: Any = None, width: int = 24) -> None:
        import sys

        self.stream = stream if stream is not None else sys.stderr
        self.width = width
        self._last: tuple[str, int] | None = None

    @staticmethod
    def _mb(n: int) -> str:
        return f"{n / 1e6:.1f} MB"

    def line(self, p: ArchiveProgress) -> str:
        if p.total:
            frac = min(max(p.done / p.total, 0.0), 1.0)
            filled = int(frac * self.width)
            bar = "#" * filled + "." * (self.width - filled)
            amount = f"{frac * 100:3.0f}%  {self._mb(p.done)} / {self._mb(p.total)}"
        else:
            bar = "?" * self.width
            amount = f"{self._mb(p.done)}"
        return f"{p.phase:<13} {p.bucket + 1}/{p.buckets} [{bar}] {amount}  bucket-{p.hash[:8]}"

    def __call__(self, p: ArchiveProgress) -> None:
        key = (p.phase, p.bucket)
        if self._last is not None and key != self._last:
            self.stream.write("\n")
        self._last = key
        self.stream.write("\r" + self.line(p))
        self.stream.flush()


def _gunzip_chunks(chunks: Iterable[bytes], max_bytes: int, what: str) -> Iterator[bytes]:
    """Decompress a (possibly multi-member) gzip stream piece by piece, at most ``max_bytes`` out."""
    d = zlib.decompressobj(wbits=31)
    in_member = False
    out = 0
    try:
        for data in chunks:
            drain = False  # output zlib may still hold after the input is used up
            while data or drain:
                if data:
                    in_member = True
                piece = d.decompress(data, _MiB)
                drain = len(piece) == _MiB and not d.eof
                if piece:
                    out += len(piece)
                    if out > max_bytes:
                        raise BucketHashError(f"{what}: over max_bucket_bytes={max_bytes:,} uncompressed",
                                              limit="max_bucket_bytes")
                    yield piece
                if d.eof:
                    data = d.unused_data
                    d = zlib.decompressobj(wbits=31)
                    in_member = False
                else:
                    data = d.unconsumed_tail
    except zlib.error as e:
        raise BucketHashError(f"{what}: not a valid gzip stream ({e})") from None
    if in_member:
        raise BucketHashError(f"{what}: the gzip stream ends early")


def _file_chunks(path: Path, size: int = _MiB) -> Iterator[bytes]:
    with open(path, "rb") as f:
        while True:
            b = f.read(size)
            if not b:
                return
            yield b


class HistoryArchive:
    """A history archive at ``url_or_path`` (``http(s)://...`` or a directory).

    ``cache_dir``: where downloaded buckets are kept (required for HTTP archives; buckets of a
    local archive are read in place). ``progress``: called with :class:`ArchiveProgress` (from a
    worker thread while buckets are read). ``passphrase``: the network expected; a HAS that names
    another one raises :class:`~stellar_ob.ledger.stream.NetworkMismatchError` (None: not checked).
    """

    def __init__(self, url_or_path: str | os.PathLike, *, cache_dir: str | os.PathLike | None = None,
                 request_timeout: float = 60.0, read_timeout: float = 60.0, connect_timeout: float = 10.0,
                 retries: int = 3,
                 retry_delay: float = 0.5, max_has_bytes: int = 1 * _MiB,
                 max_bucket_bytes: int = 1 << 40, chunk_bytes: int = _MiB,
                 session: aiohttp.ClientSession | None = None,
                 progress: Callable[[ArchiveProgress], None] | None = None,
                 passphrase: str | None = None) -> None:
        if passphrase is not None and not isinstance(passphrase, str):
            raise ArgumentError("passphrase must be a string or None")
        self.passphrase = passphrase
        if isinstance(url_or_path, str) and url_or_path.startswith(("http://", "https://")):
            self.url: str | None = url_or_path if url_or_path.endswith("/") else url_or_path + "/"
            self.path: Path | None = None
            if cache_dir is None:
                raise ArgumentError("cache_dir is required for an archive over HTTP")
        elif isinstance(url_or_path, (str, os.PathLike)):
            self.url = None
            self.path = Path(url_or_path)
        else:
            raise ArgumentError(f"url_or_path must be an http(s) URL or a directory, got {type(url_or_path).__name__}")
        self.cache_dir = Path(cache_dir) if cache_dir is not None else None
        self.request_timeout = check_seconds("request_timeout", request_timeout, positive=True)
        self.read_timeout = check_seconds("read_timeout", read_timeout, positive=True)
        self.connect_timeout = check_seconds("connect_timeout", connect_timeout, positive=True)
        self.retry_delay = check_seconds("retry_delay", retry_delay)
        for name, v in (("retries", retries), ("max_has_bytes", max_has_bytes),
                        ("max_bucket_bytes", max_bucket_bytes), ("chunk_bytes", chunk_bytes)):
            if isinstance(v, bool) or not isinstance(v, int) or v < (0 if name == "retries" else 1):
                raise ArgumentError(f"{name} must be a{' non-negative' if name == 'retries' else ' positive'} int")
        self.retries = retries
        self.max_has_bytes = max_has_bytes
        self.max_bucket_bytes = max_bucket_bytes
        self.chunk_bytes = chunk_bytes
        self.progress = progress
        self._session = session
        self._own_session = False
        self.requests = 0
        self.bytes_received = 0

    async def __aenter__(self) -> "HistoryArchive":
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    async def close(self) -> None:
        if self._session is not None and self._own_session:
            await self._session.close()
        self._session = None

    def _http(self) -> aiohttp.ClientSession:
        if self._session is None:
            self._own_session = True
            self._session = aiohttp.ClientSession(headers={"User-Agent": "stellar-ob"})
        return self._session

    def _notify(self, *args: Any) -> None:
        if self.progress is not None:
            self.progress(ArchiveProgress(*args))

    # ---- History Archive States ----------------------------------------------------------------------
    async def state(self, checkpoint: int | None = None) -> ArchiveState:
        """The root HAS (``checkpoint`` None) or the HAS of ``checkpoint`` (a ledger 64k - 1)."""
        if checkpoint is not None:
            if isinstance(checkpoint, bool) or not isinstance(checkpoint, int) or not 0 <= checkpoint <= 0xFFFFFFFF \
                    or (checkpoint + 1) % CHECKPOINT_FREQUENCY:
                raise ArgumentError(f"checkpoint must be a ledger 64k - 1, got {checkpoint!r}")
        key = ROOT_HAS if checkpoint is None else has_path(checkpoint)
        data = await self._get_small(key)
        st = ArchiveState.from_json(data, key)
        if checkpoint is not None and st.current_ledger != checkpoint:
            raise ParseError(f"{key}: currentLedger is {st.current_ledger}, not {checkpoint}")
        if (st.current_ledger + 1) % CHECKPOINT_FREQUENCY:
            raise ParseError(f"{key}: currentLedger {st.current_ledger} is not a checkpoint ledger")
        if self.passphrase is not None and st.network_passphrase is not None \
                and st.network_passphrase != self.passphrase:
            raise NetworkMismatchError(f"{key}: the archive is of network {st.network_passphrase!r}, "
                                       f"not {self.passphrase!r}")
        return st

    async def _get_small(self, key: str) -> bytes:
        if self.path is not None:
            try:
                with open(self.path / key, "rb") as f:
                    data = f.read(self.max_has_bytes + 1)
            except FileNotFoundError:
                raise ArchiveError(f"{self.path / key}: not found", status=404) from None
            except OSError as e:
                raise ArchiveError(f"{self.path / key}: {e}") from e
            if len(data) > self.max_has_bytes:
                raise ArchiveError(f"{key}: over max_has_bytes={self.max_has_bytes:,}", limit="max_has_bytes")
            return data
        last: Exception | None = None
        for attempt in range(self.retries + 1):
            if attempt:
                await asyncio.sleep(min(self.retry_delay * 2 ** (attempt - 1), 30.0))
            try:
                async with _deadline(self.request_timeout):
                    return await self._get_small_http(key)
            except asyncio.TimeoutError:
                last = ArchiveError(f"{self.url}{key}: no answer within request_timeout={self.request_timeout:g} s")
            except ArchiveError as e:
                if e.status == 404 or e.limit is not None:
                    raise
                last = e
            except (aiohttp.ClientError, ConnectionError, OSError) as e:
                last = ArchiveError(f"cannot read {self.url}{key}: {e!r}")
        raise last if last is not None else ArchiveError(f"{self.url}: no attempt was made")

    async def _get_small_http(self, key: str) -> bytes:
        self.requests += 1
        timeout = aiohttp.ClientTimeout(total=self.request_timeout, connect=self.connect_timeout)
        async with self._http().get(self.url + key, timeout=timeout, allow_redirects=False) as resp:
            if resp.status != 200:
                raise ArchiveError(f"{self.url}{key}: HTTP {resp.status}", status=resp.status)
            if resp.content_length is not None and resp.content_length > self.max_has_bytes:
                raise ArchiveError(f"{key}: over max_has_bytes={self.max_has_bytes:,}", limit="max_has_bytes")
            buf = bytearray()
            while True:
                chunk = await resp.content.readany()
                if not chunk:
                    break
                buf += chunk
                if len(buf) > self.max_has_bytes:
                    raise ArchiveError(f"{key}: over max_has_bytes={self.max_has_bytes:,}", limit="max_has_bytes")
            self.bytes_received += len(buf)
            return bytes(buf)

    # ---- buckets ------------------------------------------------------------------------------------
    def _verify(self, path: Path, hash_hex: str) -> None:
        h = hashlib.sha256()
        for piece in _gunzip_chunks(_file_chunks(path, self.chunk_bytes), self.max_bucket_bytes, str(path)):
            h.update(piece)
        if h.hexdigest() != hash_hex:
            raise BucketHashError(f"bucket {hash_hex}: content hashes to {h.hexdigest()}")

    async def fetch_bucket(self, hash_hex: str, index: int = 0, count: int = 1) -> Path:
        """The verified local file of bucket ``hash_hex`` (downloaded into ``cache_dir`` if needed)."""
        if not isinstance(hash_hex, str) or not _HEX64.fullmatch(hash_hex) or hash_hex == ZERO_HASH:
            raise ArgumentError(f"not a bucket hash: {hash_hex!r}")
        if self.path is not None:
            src = self.path / bucket_path(hash_hex)
            if not src.is_file():
                raise ArchiveError(f"{src}: not found", status=404)
            await asyncio.to_thread(self._verify, src, hash_hex)
            return src
        if self.cache_dir is None:  # set for every HTTP archive in __init__
            raise ArchiveError(f"{self.url}: an HTTP archive needs a cache_dir")
        final = self.cache_dir / f"bucket-{hash_hex}.xdr.gz"
        if final.is_file():
            return final
        try:
            final.parent.mkdir(parents=True, exist_ok=True)
        except OSError as e:
            raise ArchiveError(f"cache_dir {self.cache_dir}: {e}") from e
        part = final.with_name(final.name + ".part")
        last: Exception | None = None
        for attempt in range(self.retries + 1):
            if attempt:
                await asyncio.sleep(min(self.retry_delay * 2 ** (attempt - 1), 30.0))
            try:
                await self._download(hash_hex, part, index, count)
                try:
                    await asyncio.to_thread(self._verify, part, hash_hex)
                except BucketHashError:
                    part.unlink(missing_ok=True)  # start over: the bytes are bad, not just short
                    raise
                part.replace(final)
                return final
            except asyncio.TimeoutError:
                last = ArchiveError(f"bucket {hash_hex}: nothing received for read_timeout={self.read_timeout:g} s")
            except ArchiveError as e:
                if e.status == 404 or (e.limit is not None and e.limit != "max_bucket_bytes"):
                    raise
                last = e
            except (aiohttp.ClientError, ConnectionError) as e:
                last = ArchiveError(f"bucket {hash_hex}: {e!r}")
            except OSError as e:  # the cache directory (disk full, permissions): not retried
                raise ArchiveError(f"bucket {hash_hex}: cannot write {part}: {e}") from e
        raise last if last is not None else ArchiveError(f"{self.url}: no attempt was made")

    async def _download(self, hash_hex: str, part: Path, index: int, count: int) -> None:
        """Append the rest of the bucket to ``part`` (resuming from its size)."""
        key = bucket_path(hash_hex)
        have = part.stat().st_size if part.exists() else 0
        headers = {"Range": f"bytes={have}-"} if have else {}
        # No total limit (a mainnet bucket is gigabytes): a read that waits over read_timeout
        # fails the attempt, and the next one resumes where it stopped.
        timeout = aiohttp.ClientTimeout(total=None, connect=self.connect_timeout, sock_read=self.read_timeout)
        self.requests += 1
        async with self._http().get(self.url + key, headers=headers, timeout=timeout, allow_redirects=False,
                                    auto_decompress=False) as resp:
            if resp.status == 416 and have:
                return  # nothing after what we have: let the hash decide
            if resp.status == 200:
                have = 0  # the server sends the whole file
            elif resp.status == 206 and have:
                cr = resp.headers.get("Content-Range", "")
                m = re.fullmatch(r"bytes (\d+)-(\d+)/(\d+|\*)", cr)
                if not m or int(m.group(1)) != have:
                    raise ArchiveError(f"{key}: Content-Range {cr!r} does not continue at byte {have}")
            else:
                raise ArchiveError(f"{self.url}{key}: HTTP {resp.status}", status=resp.status)
            total = None if resp.content_length is None else have + resp.content_length
            got = 0
            with open(part, "r+b" if have else "wb") as f:
                f.seek(have)
                f.truncate()
                self._notify("download", index, count, hash_hex, have, total)
                while True:
                    chunk = await resp.content.readany()
                    if not chunk:
                        break
                    got += len(chunk)
                    if have + got > self.max_bucket_bytes:
                        raise ArchiveError(f"{key}: over max_bucket_bytes", limit="max_bucket_bytes")
                    f.write(chunk)
                    self.bytes_received += len(chunk)
                    self._notify("download", index, count, hash_hex, have + got, total)
            if resp.content_length is not None and got != resp.content_length:
                raise ArchiveError(f"{key}: {got} of {resp.content_length} bytes (connection cut)")

    async def fetch_buckets(self, state: ArchiveState) -> list[Path]:
        refs = state.buckets()
        return [await self.fetch_bucket(r.hash, i, len(refs)) for i, r in enumerate(refs)]

    # ---- the DEX at a checkpoint --------------------------------------------------------------------
    def _read_pass(self, files: list[tuple[str, Path]], bucket_list: Any, phase: str) -> None:
        for i, (hash_hex, path) in enumerate(files):
            reader = bucket_list.bucket()
            h = hashlib.sha256()
            size = path.stat().st_size
            done = 0

            def counted() -> Iterator[bytes]:
                nonlocal done
                for b in _file_chunks(path, self.chunk_bytes):
                    done += len(b)
                    yield b

            for piece in _gunzip_chunks(counted(), self.max_bucket_bytes, str(path)):
                h.update(piece)
                reader.feed(piece)
                bucket_list.absorb(reader)
                self._notify(phase, i, len(files), hash_hex, done, size)
            reader.finish()
            bucket_list.absorb(reader)
            if h.hexdigest() != hash_hex:
                raise BucketHashError(f"bucket {hash_hex}: content hashes to {h.hexdigest()} (changed on disk?)")

    async def load(self, checkpoint: int | None = None, *, assets: Iterable[tuple] | None = None,
                   state: ArchiveState | None = None) -> DexSnapshot:
        """The offers, pools and the sellers' accounts and trustlines at ``checkpoint`` (None: the
        root HAS's). ``assets``: keep only offers and pools between two of these assets
        (``(type, code, issuer)`` as the records give them). Replaying from ``snapshot.ledger + 1``
        brings it to the tip."""
        from stellar_ob.ledger import _bucket

        if state is None:
            state = await self.state(checkpoint)
        refs = state.buckets()
        paths = await self.fetch_buckets(state)
        files = [(r.hash, p) for r, p in zip(refs, paths)]
        keep = None if assets is None else {tuple(a) for a in assets}

        def run() -> DexSnapshot:
            first = _bucket.BucketListState(("offer", "pool"))
            self._read_pass(files, first, "read")
            res = first.result()
            offers, pools = res["offer"], res["pool"]
            if keep is not None:
                offers = [o for o in offers if o["selling"] in keep and o["buying"] in keep]
                pools = [p for p in pools if p["asset_a"] in keep and p["asset_b"] in keep]
            sellers = {o["seller"] for o in offers}
            lines = set()
            for o in offers:
                for a in (o["selling"], o["buying"]):
                    if a[0] != 0:
                        lines.add((o["seller"], a))
            second = _bucket.BucketListState(("account", "trustline"))
            second.want_accounts(sorted(sellers))
            second.want_trustlines(sorted(lines))
            self._read_pass(files, second, "read-accounts")
            res2 = second.result()
            return DexSnapshot(state.current_ledger, state.network_passphrase, offers, pools,
                               res2["trustline"], res2["account"])

        return await asyncio.to_thread(run)
