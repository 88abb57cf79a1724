"""Sponsored entries (CAP-33): the ``sponsoringID`` of a LedgerEntry's extension v1.

- the real mainnet ledger 53,312,000 holds 20 sponsored entries (trust lines and accounts): the
  C decoder reports each sponsor, and the stellar-sdk twin agrees change by change;
- offers with a sponsor, built with stellar-sdk's XDR classes (the fixtures have no sponsored
  offer): decoded by C and the twin alike, kept by the DexBook (``DexOffer.sponsor``), a change of
  sponsor alone is an offer update, and a STATE entry whose sponsor differs from the book's is
  drift.
"""

from __future__ import annotations

import os

import pytest

from stellar_ob.ledger import DexBook, LedgerReader, FORM_BATCH, decode_changes

pytest.importorskip("stellar_sdk")
from stellar_sdk import xdr as X  # noqa: E402

from stellar_ob.ledger import _sdk_twin as twin  # noqa: E402
from test_dexbook import ASSETS, SELLERS, x_account, x_entry, x_key, x_meta  # noqa: E402
from test_ledger_binding import norm  # noqa: E402

DATA = os.path.join(os.path.dirname(__file__), "data", "ledger")
SPONSORS = [bytes([0xA0 + i]) * 32 for i in range(3)]
SEQ = 1000


def _read(name: str) -> bytes:
    with open(os.path.join(DATA, name), "rb") as fh:
        return fh.read()


def test_mainnet_sponsored_entries_equal_the_twin():
    data = _read("FCD285FF--53312000.xdr")
    (led,) = list(LedgerReader(data, FORM_BATCH))
    (tw,) = list(twin.iter_batch(data))
    sponsored = [(i, c) for i, c in enumerate(led.changes) if c.sponsor is not None]
    assert len(sponsored) == 20
    assert {c.entry_type for _, c in sponsored} == {0, 1}  # accounts and trust lines
    for i, c in sponsored:
        assert len(c.sponsor) == 32 and c.sponsor != bytes(32)
        assert tw.changes[i].sponsor == c.sponsor
        assert norm(c) == norm(tw.changes[i])
    # and none where the twin sees none (removals carry only a key)
    assert [i for i, c in enumerate(tw.changes) if c.sponsor is not None] == [i for i, _ in sponsored]
    assert all(c.sponsor is None for c in led.changes if c.key_only)


def offer(oid: int, amount: int = 1000, n: int = 3, d: int = 2, seller: int = 0):
    return twin.Offer(SELLERS[seller], oid, ASSETS[1], ASSETS[0], amount, n, d, 0)


def sponsored(e, seq: int, sponsor):
    """x_entry with the LedgerEntry extension v1 (sponsoringID = sponsor, or none)."""
    x = x_entry(e, seq)
    sd = X.SponsorshipDescriptor(None if sponsor is None else x_account(sponsor))
    x.ext = X.LedgerEntryExt(1, v1=X.LedgerEntryExtensionV1(sd, X.LedgerEntryExtensionV1Ext(0)))
    return x


def changes(items, seq: int):
    """[(kind, twin record, sponsor or None)] -> LedgerEntryChanges (every entry with ext v1)."""
    T = X.LedgerEntryChangeType
    out = []
    for kind, e, sp in items:
        if kind == "removed":
            out.append(X.LedgerEntryChange(T.LEDGER_ENTRY_REMOVED, removed=x_key(e)))
            continue
        arm = {"state": T.LEDGER_ENTRY_STATE, "created": T.LEDGER_ENTRY_CREATED, "updated": T.LEDGER_ENTRY_UPDATED}[kind]
        entry = sponsored(e, seq - 1 if kind == "state" else seq, sp)
        out.append(X.LedgerEntryChange(arm, **{kind: entry}))
    return X.LedgerEntryChanges(out)


def test_sponsored_offers_decode_like_the_twin():
    acct = twin.Account(SELLERS[1], 10**9, 5, 1, 0)
    raw = changes([("state", offer(1), SPONSORS[0]), ("created", offer(2), None), ("updated", offer(1, 900), SPONSORS[1]),
                   ("state", acct, SPONSORS[2]), ("removed", offer(2), None)], SEQ).to_xdr_bytes()
    got = decode_changes(raw)
    assert [c.sponsor for c in got] == [SPONSORS[0], None, SPONSORS[1], SPONSORS[2], None]
    assert norm(got) == norm(twin.decode_changes(raw))
    # without the extension (ext v0) there is no sponsor either
    plain = X.LedgerEntryChanges([X.LedgerEntryChange(X.LedgerEntryChangeType.LEDGER_ENTRY_STATE,
                                                      state=x_entry(offer(3), SEQ))]).to_xdr_bytes()
    assert decode_changes(plain)[0].sponsor is None and twin.decode_changes(plain)[0].sponsor is None


@pytest.fixture(scope="module")
def template():
    (meta,) = X.LedgerCloseMetaBatch.from_xdr_bytes(_read("FFFFFC18--999.xdr")).ledger_close_metas
    return meta.v1


def one_op_meta(template, seq: int, items) -> bytes:
    """A v1 LedgerCloseMeta of one successful transaction whose one operation makes `items`."""
    meta = X.LedgerCloseMeta.from_xdr_bytes(x_meta(template, 1, seq, [dict(
        fee=[], meta_v=2, before=[], ops=[[]], after=[], post=[], ok=True, claims=[])], []))
    meta.v1.tx_processing[0].tx_apply_processing.v2.operations[0] = X.OperationMeta(changes(items, seq))
    return meta.to_xdr_bytes()


def test_dexbook_keeps_each_offers_sponsor(template):
    dex = DexBook()
    dex.seed(changes([("state", offer(1), SPONSORS[0]), ("state", offer(2, n=5), None)], SEQ).to_xdr_bytes(), SEQ - 1)
    m = dex.market(ASSETS[1].to_asset(), ASSETS[0].to_asset())
    assert m.get(1).sponsor == SPONSORS[0] and m.get(2).sponsor is None
    assert {o.offer_id: o.sponsor for o in m.offers("ask")} == {1: SPONSORS[0], 2: None}
    dex.check()

    # the sponsor moves (RevokeSponsorship): an update of the offer, amounts unchanged
    upd = dex.apply_ledger(one_op_meta(template, SEQ, [("state", offer(1), SPONSORS[0]),
                                                       ("updated", offer(1), SPONSORS[1]),
                                                       ("state", offer(2, n=5), None),
                                                       ("updated", offer(2, 700, n=5), SPONSORS[2])]))
    assert upd.drift == []
    (mu,) = upd.markets.values()
    got = {o.offer_id: (o.kind, o.old_amount, o.new_amount) for o in mu.offers}
    assert got == {1: ("updated", 1000, 1000), 2: ("updated", 1000, 700)}
    assert m.get(1).sponsor == SPONSORS[1] and m.get(2).sponsor == SPONSORS[2]
    dex.check()

    # a STATE entry that disagrees on the sponsor alone is drift; the book follows the ledger
    upd = dex.apply_ledger(one_op_meta(template, SEQ + 1, [("state", offer(1), None),
                                                           ("updated", offer(1, 500), None),
                                                           ("state", offer(2, 700, n=5), SPONSORS[2]),
                                                           ("removed", offer(2), None)]))
    assert [(d.entry_type, d.kind, d.key) for d in upd.drift] == [("offer", "differs", 1)]
    assert m.get(1).sponsor is None and 2 not in m
    dex.check()

    # a failed ledger changes nothing (the sponsor table included)
    before = [(o.offer_id, o.sponsor) for o in m.offers("ask")]
    bad = one_op_meta(template, SEQ + 2, [("created", offer(7), SPONSORS[0]), ("created", offer(8, amount=0), None)])
    with pytest.raises(Exception):
        dex.apply_ledger(bad)
    assert [(o.offer_id, o.sponsor) for o in m.offers("ask")] == before
    dex.check()
