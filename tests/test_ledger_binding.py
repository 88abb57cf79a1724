"""The compiled ledger decoder's Python binding (stellar_ob.ledger.decode, decode_changes,
LedgerReader, read_ledger_file) against the stellar-sdk reference twin, field by field.

- every fixture (the mainnet ledger, three data-lake files, the protocol-24 ledger, the bare
  changes) decodes to the twin's records: headers, transactions, changes, trades;
- every input form (raw, base64 text, bytearray, memoryview, batch, stream) gives the same records;
- strictness: every prefix of a small fixture and random mutations raise ParseError with an
  offset inside the input, or decode to what the twin decodes; bad types raise TypeError;
- data-lake .zst files read through zstd equal the raw files;
- the protocol-23/24 streams (slow): every ledger decodes, no offer changes, every byte read.
"""

from __future__ import annotations

import base64
import dataclasses
import os
import random
import struct

import pytest

from stellar_ob.errors import ParseError
from stellar_ob.ledger import FORM_BATCH, FORM_META, FORM_STREAM, LedgerReader, decode, decode_changes
from stellar_ob.ledger.files import detect_form, open_ledgers, read_ledger_file

twin = pytest.importorskip("stellar_ob.ledger._sdk_twin", reason="needs the sdk extra (stellar-sdk)")

DATA = os.path.join(os.path.dirname(__file__), "data", "ledger")


def _read(name: str) -> bytes:
    with open(os.path.join(DATA, name), "rb") as fh:
        return fh.read()


def norm(obj):
    """Records of either side as plain nested tuples (dataclasses and named tuples alike)."""
    if dataclasses.is_dataclass(obj):
        return tuple(norm(getattr(obj, f.name)) for f in dataclasses.fields(obj))
    if isinstance(obj, tuple):
        return tuple(norm(x) for x in obj)
    if isinstance(obj, list):
        return [norm(x) for x in obj]
    return obj


def same_ledger(c, t) -> None:
    assert norm(c.header) == norm(t.header)
    assert norm(c.txs) == norm(t.txs)
    assert len(c.changes) == len(t.changes)
    for i, (x, y) in enumerate(zip(c.changes, t.changes)):
        assert norm(x) == norm(y), f"change {i}"
    assert norm(c.trades) == norm(t.trades)


@pytest.fixture(scope="module")
def mainnet_batch() -> bytes:
    return _read("FCD285FF--53312000.xdr")


@pytest.fixture(scope="module")
def mainnet_twin(mainnet_batch):
    (led,) = list(twin.iter_batch(mainnet_batch))
    return led


def test_mainnet_equals_the_twin(mainnet_batch, mainnet_twin):
    (led,) = list(LedgerReader(mainnet_batch, FORM_BATCH))
    same_ledger(led, mainnet_twin)
    offers = [c for c in led.changes if c.entry_type == 2]
    assert len(offers) == 187 and len(led.trades) == 29  # 7 + 85 + 5 + 90 offer changes
    assert {t.claim_type for t in led.trades} == {1, 2}


@pytest.mark.parametrize("name", ["FFFFFC1A--997.xdr", "FFFFFC19--998.xdr", "FFFFFC18--999.xdr"])
def test_datalake_files_equal_the_twin(name):
    data = _read(name)
    mine = list(LedgerReader(data, FORM_BATCH))
    theirs = list(twin.iter_batch(data))
    assert len(mine) == len(theirs) >= 1
    for c, t in zip(mine, theirs):
        same_ledger(c, t)
    # the .zst twin of the file, read through zstd, holds the same bytes
    assert read_ledger_file(os.path.join(DATA, name + ".zst")) == data
    assert detect_form(name + ".zst", data) == FORM_BATCH
    assert [norm(x) for x in open_ledgers(os.path.join(DATA, name + ".zst"))] == [norm(x) for x in mine]


def test_protocol_24_ledger_equals_the_twin():
    data = _read("load-test-ledgers-v24-first.xdr")
    assert detect_form("load-test-ledgers-v24-first.xdr", data) == FORM_STREAM
    (c,) = list(LedgerReader(data, FORM_STREAM))
    (t,) = list(twin.iter_stream(data))
    same_ledger(c, t)
    assert c.header.meta_version == 2 and c.header.protocol_version == 24


def test_bare_changes_equal_the_twin():
    data = _read("sample-changes.xdr")
    mine = decode_changes(data)
    theirs = twin.decode_changes(data)
    assert norm(mine) == norm(theirs)
    assert len([c for c in mine if c.entry_type == 2]) == 100


def test_input_forms_agree(mainnet_batch, mainnet_twin):
    raw = mainnet_batch[12:]
    one = decode(raw)
    assert norm(one.changes) == norm(mainnet_twin.changes)
    assert one.header.meta_offset == 0 and one.header.meta_size == len(raw)
    for form in (bytearray(raw), memoryview(raw), base64.b64encode(raw).decode()):
        assert norm(decode(form)) == norm(one)
    stream = struct.pack(">I", 0x80000000 | len(raw)) + raw
    (s,) = list(LedgerReader(stream, FORM_STREAM))
    assert norm(s.changes) == norm(one.changes) and s.header.meta_offset == 4
    (m,) = list(LedgerReader(raw, FORM_META))
    assert norm(m) == norm(one)
    # a reader that is not iterated builds nothing, and reports where it is
    r = LedgerReader(mainnet_batch, FORM_BATCH)
    assert r.ledger_seq is None and r.position == 12
    assert r.next_ledger() and r.ledger_seq == 53_312_000 and r.position == len(mainnet_batch)
    assert norm(r.current().changes) == norm(one.changes)
    assert r.current().header.meta_offset == 12
    assert not r.next_ledger()


def test_wrong_types_and_forms():
    with pytest.raises(TypeError):
        decode(12)
    with pytest.raises(TypeError):
        decode(None)
    with pytest.raises(ValueError):
        LedgerReader(b"", 7)
    with pytest.raises(ParseError) as ei:
        decode("AAAA\u00e9")
    assert ei.value.offset == 4
    with pytest.raises(ParseError, match="base64"):
        decode("AAA-")


def test_buffer_mutation_after_the_call_changes_nothing(mainnet_batch):
    buf = bytearray(mainnet_batch)
    r = LedgerReader(buf, FORM_BATCH)
    buf[12:] = bytes(len(buf) - 12)  # the reader holds its own copy
    (led,) = list(r)
    assert led.header.ledger_seq == 53_312_000


def _decode_any(data: bytes, form: int):
    if form == -1:
        return decode_changes(data)
    return list(LedgerReader(data, form))


def _twin_any(data: bytes, form: int):
    if form == -1:
        return twin.decode_changes(data)
    return list(twin.iter_batch(data) if form == FORM_BATCH else twin.iter_stream(data))


@pytest.mark.parametrize("name, form, step", [
    ("FFFFFC18--999.xdr", FORM_BATCH, 1),
    ("load-test-ledgers-v24-first.xdr", FORM_STREAM, 7),
    ("sample-changes.xdr", -1, 13),
])
def test_every_prefix_raises(name, form, step):
    data = _read(name)
    if form == FORM_STREAM:  # an empty stream is a stream of no ledgers
        assert _decode_any(b"", form) == []
    for n in range(1 if form == FORM_STREAM else 0, len(data), step):
        with pytest.raises(ParseError) as ei:
            _decode_any(data[:n], form)
        assert ei.value.offset is not None and 0 <= ei.value.offset <= n


@pytest.mark.parametrize("name, form", [("FFFFFC18--999.xdr", FORM_BATCH), ("sample-changes.xdr", -1)])
def test_random_mutations_raise_or_match_the_twin(name, form):
    data = _read(name)
    rng = random.Random(1313)
    decoded = 0
    for _ in range(150):
        b = bytearray(data)
        for _ in range(rng.randint(1, 4)):
            i = rng.randrange(len(b))
            b[i] = rng.randrange(256)
        try:
            mine = _decode_any(bytes(b), form)
        except ParseError as exc:
            assert exc.offset is not None and 0 <= exc.offset <= len(b)
            continue
        decoded += 1
        try:
            theirs = _twin_any(bytes(b), form)
        except twin.TwinParseError:
            continue  # stellar-sdk refuses some values the XDR allows (e.g. strkey forms)
        assert [norm(x) for x in mine] == [norm(x) for x in theirs]
    assert decoded > 0


@pytest.mark.slow
@pytest.mark.parametrize("name", ["load-test-ledgers-v23-standalone.xdr.zstd", "load-test-ledgers-v24.xdr.zstd"])
def test_protocol_23_24_streams(name):
    pytest.importorskip("zstandard")
    data = read_ledger_file(os.path.join(DATA, name))
    r = LedgerReader(data, detect_form(name, data))
    n = 0
    while r.next_ledger():
        led = r.current()
        assert not [c for c in led.changes if c.entry_type == 2]
        n += 1
    assert n > 0 and r.position == len(data)
