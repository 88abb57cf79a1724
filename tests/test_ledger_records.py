"""Decoded records built on access (stellar_ob.ledger._ledger.Records).

``decode`` hands out ``txs``, ``changes`` and ``trades`` as read-only sequences over a private copy
of the C records: every record read equals the stellar-sdk twin's, whatever order it is read in,
the sequence behaves as a read-only list does, and nothing the caller does to its input buffer
afterwards changes a record not yet built.
"""

from __future__ import annotations

import collections.abc
import os
import pickle

import pytest

from stellar_ob.ledger import decode, decode_changes
from stellar_ob.ledger.records import Change, ENTRY_LIQUIDITY_POOL, ENTRY_OFFER, Trade, Tx

pytest.importorskip("stellar_sdk")
from stellar_ob.ledger import _sdk_twin as twin  # noqa: E402
from test_ledger_binding import norm  # noqa: E402

DATA = os.path.join(os.path.dirname(__file__), "data", "ledger")


@pytest.fixture(scope="module")
def raw() -> bytes:
    with open(os.path.join(DATA, "FCD285FF--53312000.xdr"), "rb") as fh:
        return fh.read()[12:]


@pytest.fixture(scope="module")
def tw(raw):
    return twin.decode_meta(raw)


def test_records_read_in_any_order_equal_the_twin(raw, tw):
    led = decode(raw)
    n = len(led.changes)
    assert n == len(tw.changes) == 1597 and len(led.trades) == 29 and len(led.txs) == 163
    # backwards, then by negative index, then forwards: each equals the twin's record
    for i in reversed(range(n)):
        assert norm(led.changes[i]) == norm(tw.changes[i]), i
    assert norm(led.changes[-1]) == norm(tw.changes[-1]) and norm(led.changes[-n]) == norm(tw.changes[0])
    assert [norm(c) for c in led.changes] == [norm(c) for c in tw.changes]
    assert [norm(t) for t in led.trades] == [norm(t) for t in tw.trades]
    assert [norm(t) for t in led.txs] == [norm(t) for t in tw.txs]
    assert all(type(c) is Change for c in led.changes)
    assert all(type(t) is Trade for t in led.trades) and all(type(t) is Tx for t in led.txs)


def test_records_behave_as_a_read_only_list(raw):
    led = decode(raw)
    ch = led.changes
    as_list = ch.tolist()
    assert isinstance(ch, collections.abc.Sequence)
    assert ch == as_list and as_list == ch and not ch != as_list
    assert ch == decode(raw).changes and ch == tuple(as_list)
    assert ch != as_list[:-1] and ch != as_list[::-1] and ch != [] and (ch == 5) is False
    assert ch[3] is ch[3]  # built once, then kept
    assert ch[10:20] == as_list[10:20] and ch[::-7] == as_list[::-7] and ch[5000:] == []
    assert list(reversed(ch)) == as_list[::-1] and list(iter(ch)) == as_list
    assert as_list[42] in ch and ch.index(as_list[42]) == as_list.index(as_list[42])
    assert ch.index(as_list[42], 40, 50) == as_list.index(as_list[42], 40, 50)
    assert ch.count(as_list[42]) == as_list.count(as_list[42])
    with pytest.raises(ValueError):
        ch.index(as_list[42], 43, 44)
    with pytest.raises(IndexError):
        ch[len(ch)]
    with pytest.raises(IndexError):
        ch[-len(ch) - 1]
    with pytest.raises(TypeError):
        ch["1"]
    with pytest.raises(TypeError):
        ch[0] = as_list[0]
    with pytest.raises(TypeError):
        hash(ch)
    with pytest.raises(TypeError):
        type(ch)()
    assert pickle.loads(pickle.dumps(ch)) == as_list
    assert repr(led.trades) == repr(led.trades.tolist())


def test_of_type_selects_on_the_c_records(raw):
    led = decode(raw)
    offers = led.changes.of_type(ENTRY_OFFER)
    assert offers == [c for c in decode(raw).changes if c.entry_type == ENTRY_OFFER] and len(offers) == 187
    both = led.changes.of_type(ENTRY_OFFER, ENTRY_LIQUIDITY_POOL)
    assert both == [c for c in led.changes if c.entry_type in (ENTRY_OFFER, ENTRY_LIQUIDITY_POOL)]
    assert led.changes.of_type() == []
    for bad in (-1, 32, 2.0, "2", True):
        with pytest.raises(ValueError):
            led.changes.of_type(bad)
    with pytest.raises(TypeError):
        led.trades.of_type(ENTRY_OFFER)


def test_the_input_buffer_is_copied(raw):
    buf = bytearray(raw)
    led = decode(buf)
    buf[:] = bytes(len(buf))  # records not built yet must not see this
    assert led.changes == decode(raw).changes and led.trades == decode(raw).trades


def test_bare_changes_are_a_list(raw):
    with open(os.path.join(DATA, "sample-changes.xdr"), "rb") as fh:
        data = fh.read()
    got = decode_changes(data)
    assert type(got) is list and [norm(c) for c in got] == [norm(c) for c in twin.decode_changes(data)]
