"""stellar_ob.horizon.parse_ledger / parse_ledgers: /ledgers records read strictly (issue 10).

One reader in plain Python serves both implementations (the strict JSON decoder of the twin):
what the L3 sync reads from every /ledgers event.
"""

from __future__ import annotations

import doctest
import json

import pytest

import stellar_ob.horizon
from stellar_ob.errors import ParseError
from stellar_ob.horizon import LedgerRecord, parse_ledger, parse_ledgers
from stellar_ob.testing import SimulatedMarket

HASH = "a" * 64


def record(**kw) -> bytes:
    doc = {"id": HASH, "paging_token": str(1001 << 32), "hash": HASH, "sequence": 1001,
           "closed_at": "2024-01-02T03:04:05Z", "total_coins": "105443902087.3472865"}
    doc.update(kw)
    return json.dumps({k: v for k, v in doc.items() if v is not ...}).encode()


def test_reads_what_the_local_horizon_sends():
    m = SimulatedMarket(1, seed=2)
    rec = m.close_ledger()
    body = json.dumps(rec).encode()
    led = parse_ledger(body)
    assert led == LedgerRecord(m.ledger, str(m.ledger << 32), rec["hash"], led.closed_at)
    assert isinstance(led.closed_at, int)
    page = json.dumps({"_links": {}, "_embedded": {"records": [rec, rec]}})
    assert parse_ledgers(page) == [led, led]
    assert parse_ledgers(page.encode()) == [led, led]


def test_optional_fields():
    assert parse_ledger(record(hash=..., closed_at=...)) == LedgerRecord(1001, str(1001 << 32), None, None)
    assert parse_ledger(record(closed_at="2024-01-02T03:04:05Z")).closed_at == 1704164645


@pytest.mark.parametrize("body, reason", [
    (record(sequence=0), "sequence"),
    (record(sequence=-1), "sequence"),
    (record(sequence=2**32), "sequence"),
    (record(sequence="1001"), "sequence"),
    (record(sequence=1001.0), "sequence"),
    (record(sequence=True), "sequence"),
    (record(sequence=None), "sequence"),
    (record(sequence=...), 'missing key "sequence"'),
    (record(paging_token=...), 'missing key "paging_token"'),
    (record(paging_token="\u00b2"), "paging_token"),
    (record(paging_token="12a"), "paging_token"),
    (record(paging_token="1" * 21), "paging_token"),
    (record(paging_token=42), "paging_token"),
    (record(hash="A" * 64), "hash"),
    (record(hash="a" * 63), "hash"),
    (record(closed_at="yesterday"), "closed_at"),
    (record(closed_at=1704164645), "closed_at"),
    (b'{"sequence": 1' + b"0" * 5000 + b', "paging_token": "1"}', "sequence"),
    (b'{"sequence": 1e3, "paging_token": "1"}', "sequence"),
    (b'{"sequence": 7, "sequence": 8, "paging_token": "1"}', "duplicate"),
    (b'{"a":' * 100_000 + b"0" + b"}" * 100_000, "nesting"),
    (b"[" * 100_000 + b"]" * 100_000, "nesting"),
    (b'{"sequence": 7, "paging_token": "1"} x', ""),
    (b'{"sequence": 7, "paging_token": "1", "x": NaN}', ""),
    (b"\xff", "UTF-8"),
    (b"", ""),
    (b'{"_embedded": {"records": [{"sequence": 7}]}}', "paging_token"),
])
def test_refused_with_a_parse_error(body, reason):
    with pytest.raises(ParseError) as ei:
        parse_ledger(body)
    assert reason in str(ei.value)


def test_one_ledger_exactly():
    two = json.dumps({"_embedded": {"records": [json.loads(record()), json.loads(record())]}})
    with pytest.raises(ParseError, match="expected one ledger"):
        parse_ledger(two)
    with pytest.raises(ParseError, match="expected one ledger"):
        parse_ledger(b'{"_embedded": {"records": []}}')


def test_not_a_document():
    with pytest.raises(ParseError):
        parse_ledger(12)  # type: ignore[arg-type]


def test_module_doctests():
    assert doctest.testmod(stellar_ob.horizon).failed == 0
