"""The C core's DEX operations (csrc/dex.h) against tests/core_reference.py, case by case.

A development harness for issue 12: it builds the C core as a shared library with CMake
(-DSOB_BUILD_SHARED_TESTLIB=ON), drives it with ctypes, and compares, for every operation, what the
C core and the independent Python transliteration of stellar-core answer: the result code (or the
place core throws), the amounts, the claim atoms in result order, every hop (venue, book walk,
pool quote, work budget), the taker's resting offer, and the whole ledger afterwards.

Two sources of cases:
  1. scenarios: tests/test_core_reference.py run by pytest with ``core_reference`` replaced by a
     shim whose operations (and exchangeV10, adjustOffer, the pool math, offer liabilities) run
     on both and fail the test on any difference. Every scenario of that file is exercised
     (Hypothesis examples included), without copying them.
  2. random: seeded random ledgers (books of ledger-valid offers from known and unknown sellers,
     tight balances and trust limits, unauthorized lines, sponsored offers, hand-built unfunded
     offers, pools from empty to near INT64_MAX), every operation kind, paths of 1 to 6 hops with
     repeated assets, protocols 10 to 28, small work budgets.

    python tools/c_vs_reference.py                      # build, scenarios, 5000 random cases
    python tools/c_vs_reference.py --cases 20000 --seed 7 --skip-scenarios
    python tools/c_vs_reference.py --sanitize           # the library under ASan + UBSan

The pieces (CLib, CWorld, compare_op, make_shim, random_case) are importable, so the binding work
can lift them into pytest tests. Exit status 0 only when no difference was found.
"""

from __future__ import annotations

import argparse
import collections
import ctypes as C
import dataclasses
import os
import random
import subprocess
import sys
import types
from pathlib import Path
from typing import Any, Optional

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))

import core_reference as cr  # noqa: E402  (the real module; the shim wraps it)

M = cr.INT64_MAX

# ---------------------------------------------------------------------------------------------
# ctypes mirrors of csrc/accounts.h, csrc/dex.h (sizes are checked against the library)
# ---------------------------------------------------------------------------------------------


class Account(C.Structure):
    _fields_ = [("balance", C.c_int64), ("buying_liabilities", C.c_int64), ("selling_liabilities", C.c_int64),
                ("num_sub_entries", C.c_uint32), ("num_sponsoring", C.c_uint32), ("num_sponsored", C.c_uint32),
                ("flags", C.c_uint32)]


class TrustLine(C.Structure):
    _fields_ = [("balance", C.c_int64), ("limit", C.c_int64), ("buying_liabilities", C.c_int64),
                ("selling_liabilities", C.c_int64), ("flags", C.c_uint32), ("pad", C.c_uint32)]


class DexCtx(C.Structure):
    _fields_ = [("protocol", C.c_uint32), ("base_reserve", C.c_uint32), ("max_offers_to_cross", C.c_int64),
                ("account_subentry_limit", C.c_uint32), ("flags", C.c_uint32), ("id_pool", C.c_int64),
                ("accounts", C.c_void_p)]


class Pool(C.Structure):
    _fields_ = [("reserve_a", C.c_int64), ("reserve_b", C.c_int64), ("fee_bp", C.c_int32), ("pad", C.c_int32)]


class Venue(C.Structure):
    _fields_ = [("book", C.c_void_p), ("side", C.c_int32), ("pool_a_is_send", C.c_int32), ("pool", C.c_void_p)]


class OfferEntry(C.Structure):
    _fields_ = [("offer_id", C.c_int64), ("seller", C.c_uint64), ("sponsor", C.c_uint64), ("selling", C.c_uint32),
                ("buying", C.c_uint32), ("amount", C.c_int64), ("n", C.c_int32), ("d", C.c_int32),
                ("flags", C.c_uint32), ("pad", C.c_uint32)]


class ManageOp(C.Structure):
    _fields_ = [("kind", C.c_int32), ("pad", C.c_int32), ("source", C.c_uint64), ("selling", C.c_uint32),
                ("buying", C.c_uint32), ("amount", C.c_int64), ("n", C.c_int32), ("d", C.c_int32),
                ("offer_id", C.c_int64)]


class PathOp(C.Structure):
    _fields_ = [("kind", C.c_int32), ("nassets", C.c_uint32), ("assets", C.c_uint32 * 7), ("source", C.c_uint64),
                ("destination", C.c_uint64), ("send", C.c_int64), ("dest", C.c_int64)]


class HopOp(C.Structure):
    _fields_ = [("round", C.c_int32), ("send_asset", C.c_uint32), ("recv_asset", C.c_uint32), ("pad", C.c_uint32),
                ("taker", C.c_uint64), ("amount", C.c_int64), ("budget", C.c_int64)]


class Claim(C.Structure):
    _fields_ = [("offer_id", C.c_int64), ("seller", C.c_uint64), ("amount_sold", C.c_int64),
                ("amount_bought", C.c_int64), ("remaining", C.c_int64), ("asset_sold", C.c_uint32),
                ("asset_bought", C.c_uint32), ("type", C.c_int32), ("venue", C.c_int32)]


class Hop(C.Structure):
    _fields_ = [("send_asset", C.c_uint32), ("recv_asset", C.c_uint32), ("venue_index", C.c_int32),
                ("result", C.c_int32), ("venue", C.c_int32), ("pool_quoted", C.c_int32), ("amount_send", C.c_int64),
                ("amount_recv", C.c_int64), ("pool_send", C.c_int64), ("pool_recv", C.c_int64),
                ("book_send", C.c_int64), ("book_recv", C.c_int64), ("book_result", C.c_int32), ("pad", C.c_int32),
                ("book_offers", C.c_uint64), ("budget_before", C.c_int64), ("budget_after", C.c_int64),
                ("claims_start", C.c_uint64), ("claims_count", C.c_uint64)]


class AccountChange(C.Structure):
    _fields_ = [("key", C.c_uint64), ("after", Account)]


class TrustLineChange(C.Structure):
    _fields_ = [("key", C.c_uint64), ("asset", C.c_uint32), ("pad", C.c_uint32), ("after", TrustLine)]


class OfferChange(C.Structure):
    _fields_ = [("book", C.c_void_p), ("side", C.c_int32), ("pad", C.c_int32), ("offer_id", C.c_int64),
                ("amount", C.c_int64)]


class PoolChange(C.Structure):
    _fields_ = [("pool", C.c_void_p), ("reserve_a", C.c_int64), ("reserve_b", C.c_int64)]


class OpResult(C.Structure):
    _fields_ = [("code", C.c_int), ("thrown", C.c_int), ("amounts_known", C.c_int32), ("sent", C.c_int64),
                ("received", C.c_int64), ("claims", C.POINTER(Claim)), ("nclaims", C.c_size_t),
                ("hops", C.POINTER(Hop)), ("nhops", C.c_size_t), ("hop_claims", C.POINTER(Claim)),
                ("nhop_claims", C.c_size_t), ("offer_effect", C.c_int32), ("offer", OfferEntry),
                ("accounts", C.POINTER(AccountChange)), ("naccounts", C.c_size_t),
                ("trustlines", C.POINTER(TrustLineChange)), ("ntrustlines", C.c_size_t),
                ("offers", C.POINTER(OfferChange)), ("noffers", C.c_size_t), ("pools", C.POINTER(PoolChange)),
                ("npools", C.c_size_t), ("old_offer_removed", C.c_int32), ("id_pool", C.c_int64)]


class Exchange(C.Structure):
    _fields_ = [("wheat", C.c_int64), ("sheep", C.c_int64), ("wheat_stays", C.c_int)]


MIRRORS = {"sob_account": Account, "sob_trustline": TrustLine, "sob_dex_ctx": DexCtx, "sob_pool": Pool,
           "sob_venue": Venue, "sob_offer_entry": OfferEntry, "sob_manage_op": ManageOp, "sob_path_op": PathOp,
           "sob_hop_op": HopOp, "sob_claim": Claim, "sob_hop": Hop, "sob_account_change": AccountChange,
           "sob_trustline_change": TrustLineChange, "sob_offer_change": OfferChange, "sob_pool_change": PoolChange,
           "sob_op_result": OpResult, "sob_exchange": Exchange}

SOB_OK, SOB_E_INVALID, SOB_E_NOT_FOUND = 0, 2, 6
ROUND = {cr.NORMAL: 0, cr.STRICT_SEND: 1, cr.STRICT_RECEIVE: 2}
OP_KIND = {"sell": 1, "buy": 2, "passive": 3, "send": 4, "recv": 5}
CONVERT = [cr.eOK, cr.ePartial, cr.eFilterStopBadPrice, cr.eFilterStopCrossSelf, cr.eCrossedTooMany]
VENUE = [None, "book", "pool"]
CLAIM_TYPE = [cr.CLAIM_ATOM_TYPE_V0, cr.CLAIM_ATOM_TYPE_ORDER_BOOK, cr.CLAIM_ATOM_TYPE_LIQUIDITY_POOL]
EFFECT = [None, cr.MANAGE_OFFER_CREATED, cr.MANAGE_OFFER_UPDATED, cr.MANAGE_OFFER_DELETED]
SOB_R_CORE_WOULD_THROW = 1
SOB_THROW_ASSERT = None  # filled from the library (the generic internal assertion)


def build(sanitize: bool = False) -> Path:
    """Configure and build libsob_testlib with CMake; returns its path."""
    bdir = ROOT / "build" / ("cref-asan" if sanitize else "cref")
    cfg = ["cmake", "-S", str(ROOT), "-B", str(bdir), "-DSOB_BUILD_SHARED_TESTLIB=ON", "-DSOB_BUILD_PYTHON=OFF",
           "-DSOB_BUILD_TESTS=OFF", f"-DSOB_SANITIZE={'ON' if sanitize else 'OFF'}"]
    if not sanitize:
        cfg.append("-DCMAKE_BUILD_TYPE=Release")
    subprocess.run(cfg, check=True, stdout=subprocess.DEVNULL)
    subprocess.run(["cmake", "--build", str(bdir), "-j2", "--target", "sob_testlib"], check=True,
                   stdout=subprocess.DEVNULL)
    return bdir / "libsob_testlib.so"


class CLib:
    """The shared library with its functions declared."""

    def __init__(self, path: Path) -> None:
        lib = self.lib = C.CDLL(str(path))
        vp, st = C.c_void_p, C.c_int
        sig = {
            "sob_test_offerbook_new": (vp, []), "sob_test_offerbook_free": (None, [vp]),
            "sob_test_accounts_new": (vp, []), "sob_test_accounts_free": (None, [vp]),
            "sob_test_sizeof": (C.c_size_t, [C.c_char_p]),
            "sob_offerbook_add": (st, [vp, C.c_int64, C.c_int, C.c_int32, C.c_int32, C.c_int64, C.c_uint64]),
            "sob_offerbook_seller_new": (st, [vp, C.POINTER(C.c_uint64)]),
            "sob_offerbook_seller_set_account": (st, [vp, C.c_uint64, C.c_uint64]),
            "sob_offerbook_check": (st, [vp]),
            "sob_accounts_set_account": (st, [vp, C.c_uint64, C.POINTER(Account)]),
            "sob_accounts_set_trustline": (st, [vp, C.c_uint64, C.c_uint32, C.POINTER(TrustLine)]),
            "sob_accounts_set_issuer": (st, [vp, C.c_uint32, C.c_uint64]),
            "sob_accounts_set_sponsor": (st, [vp, C.c_int64, C.c_uint64]),
            "sob_accounts_check": (st, [vp]),
            "sob_dex_scratch_new": (vp, []), "sob_dex_scratch_free": (None, [vp]),
            "sob_dex_ctx_init": (None, [C.POINTER(DexCtx)]),
            "sob_manage_offer": (st, [C.POINTER(DexCtx), C.POINTER(ManageOp), C.POINTER(Venue),
                                      C.POINTER(OfferEntry), vp, C.POINTER(OpResult)]),
            "sob_path_payment": (st, [C.POINTER(DexCtx), C.POINTER(PathOp), C.POINTER(Venue), vp,
                                      C.POINTER(OpResult)]),
            "sob_convert_hop": (st, [C.POINTER(DexCtx), C.POINTER(HopOp), C.POINTER(Venue), vp,
                                     C.POINTER(OpResult)]),
            "sob_result_name": (C.c_char_p, [C.c_int]),
            "sob_throw_message": (C.c_char_p, [C.c_int]),
            "sob_throw_where": (C.c_char_p, [C.c_int]),
            "sob_exchange_v10_checked": (st, [C.c_int32, C.c_int32, C.c_int64, C.c_int64, C.c_int64, C.c_int64,
                                              C.c_int, C.POINTER(Exchange), C.POINTER(C.c_int)]),
            "sob_exchange_v10_raw": (st, [C.c_int32, C.c_int32, C.c_int64, C.c_int64, C.c_int64, C.c_int64,
                                          C.c_int, C.POINTER(Exchange), C.POINTER(C.c_int)]),
            "sob_pool_exchange_checked": (st, [C.c_int64, C.c_int64, C.c_int64, C.c_int64, C.c_int32, C.c_int,
                                               C.POINTER(C.c_int64), C.POINTER(C.c_int64), C.POINTER(C.c_int),
                                               C.POINTER(C.c_int)]),
        }
        for name, (res, args) in sig.items():
            f = getattr(lib, name)
            f.restype, f.argtypes = res, args
        for cname, mirror in MIRRORS.items():
            got = lib.sob_test_sizeof(cname.encode())
            if got != C.sizeof(mirror):
                raise RuntimeError(f"ctypes mirror of {cname}: {C.sizeof(mirror)} bytes, C has {got}")
        self.scratch = lib.sob_dex_scratch_new()
        self.names = {}
        global SOB_THROW_ASSERT
        for t in range(64):
            msg = lib.sob_throw_message(t).decode()
            if msg == "releaseAssertOrThrow":
                SOB_THROW_ASSERT = t

    def result_name(self, code: int) -> str:
        if code not in self.names:
            self.names[code] = self.lib.sob_result_name(code).decode()
        return self.names[code]


# ---------------------------------------------------------------------------------------------
# a reference Ledger as C state
# ---------------------------------------------------------------------------------------------


def _fits(*xs: int, bits: int = 64) -> bool:
    return all(-(2 ** (bits - 1)) <= x < 2 ** (bits - 1) for x in xs)


class CWorld:
    """The C state of one reference Ledger: a table, a book per asset pair, a pool per pool.
    Identities are interned: account ids -> keys 1.., assets -> ids (native 0)."""

    def __init__(self, clib: CLib, L: cr.Ledger, no_table: bool = False) -> None:
        """no_table: pass no accounts table to the C core (every account unknown). Only for a
        ledger with no accounts and unknown accounts funded, where it must change nothing."""
        if no_table and (L.accounts or not L.unknown_accounts_funded):
            raise ValueError("no_table needs a ledger without accounts, unknown accounts funded")
        self.c, self.L = clib, L
        lib = clib.lib
        self.keys: dict[str, int] = {}
        self.names: dict[int, str] = {}
        self.asset_ids: dict[str, int] = {cr.NATIVE: 0}
        self.asset_names: dict[int, str] = {0: cr.NATIVE}
        self.books: dict[tuple, int] = {}  # pool_key pair -> book address
        self.book_pairs: dict[int, tuple] = {}
        self.pools: dict[tuple, Pool] = {}
        self.pool_pairs: dict[int, tuple] = {}
        self._alloc: list = []
        self.table = lib.sob_test_accounts_new()
        for acc in L.accounts.values():
            a = Account(acc.balance, acc.buying_liabilities, acc.selling_liabilities, acc.num_sub_entries,
                        acc.num_sponsoring, acc.num_sponsored, acc.flags)
            self._ok(lib.sob_accounts_set_account(self.table, self.key(acc.account_id), C.byref(a)), "account")
        for (aid, asset), tl in L.trustlines.items():
            t = TrustLine(tl.balance, tl.limit, tl.buying_liabilities, tl.selling_liabilities, tl.flags, 0)
            self._ok(lib.sob_accounts_set_trustline(self.table, self.key(aid), self.asset(asset), C.byref(t)),
                     "trust line")
        for o in L.offers.values():
            self.asset(o.selling)
            self.asset(o.buying)
        for p in L.pools.values():
            self.asset(p.asset_a)
            self.asset(p.asset_b)
        self.sellers: dict[tuple, int] = {}  # (book, seller) -> handle
        for o in sorted(L.offers.values(), key=lambda o: o.offer_id):
            pair = cr.pool_key(o.selling, o.buying)
            book = self.book(pair)
            side = 1 if o.selling == pair[0] else 0  # asks sell the base (pair[0])
            h = self.sellers.get((book, o.seller))
            if h is None:
                hv = C.c_uint64()
                self._ok(lib.sob_offerbook_seller_new(book, C.byref(hv)), "seller")
                h = hv.value
                self._ok(lib.sob_offerbook_seller_set_account(book, h, self.key(o.seller)), "seller key")
                self.sellers[(book, o.seller)] = h
            self._ok(lib.sob_offerbook_add(book, o.offer_id, side, o.n, o.d, o.amount, h), "offer")
            if o.sponsor is not None:
                self._ok(lib.sob_accounts_set_sponsor(self.table, o.offer_id, self.key(o.sponsor)), "sponsor")
        for pair, p in L.pools.items():
            pool = Pool(p.reserve_a, p.reserve_b, p.fee_bps, 0)
            self.pools[pair] = pool
            self.pool_pairs[C.addressof(pool)] = pair
        self.ctx = DexCtx()
        lib.sob_dex_ctx_init(C.byref(self.ctx))
        self.ctx.protocol = L.protocol
        self.ctx.base_reserve = L.base_reserve
        self.ctx.max_offers_to_cross = L.max_offers_to_cross
        self.ctx.account_subentry_limit = L.account_subentry_limit
        self.ctx.flags = (1 if L.pool_trading_disabled else 0) | (0 if L.unknown_accounts_funded else 2)
        self.ctx.id_pool = L.id_pool
        self.ctx.accounts = None if no_table else self.table

    def _ok(self, st: int, what: str) -> None:
        if st != SOB_OK:
            raise RuntimeError(f"C refused the {what} (status {st})")

    def key(self, account_id: Optional[str]) -> int:
        if account_id is None:
            return 0
        k = self.keys.get(account_id)
        if k is None:
            k = self.keys[account_id] = len(self.keys) + 1
            self.names[k] = account_id
        return k

    def asset(self, a: str) -> int:
        i = self.asset_ids.get(a)
        if i is None:
            i = self.asset_ids[a] = len(self.asset_ids)
            self.asset_names[i] = a
            if self.table is not None:
                issuer = cr.asset_issuer(a)
                self._ok(self.c.lib.sob_accounts_set_issuer(self.table, i, self.key(issuer)), "issuer")
        return i

    def book(self, pair: tuple) -> int:
        b = self.books.get(pair)
        if b is None:
            b = self.c.lib.sob_test_offerbook_new()
            self.books[pair] = b
            self.book_pairs[b] = pair
        return b

    def close(self) -> None:
        for b in self.books.values():
            self.c.lib.sob_test_offerbook_free(b)
        self.books.clear()
        self.c.lib.sob_test_accounts_free(self.table)
        self.table = None

    def venue(self, send: str, recv: str) -> Venue:
        """Where the taker sends `send` and receives `recv`: the offers selling recv for send."""
        pair = cr.pool_key(send, recv)
        book = self.books.get(pair)
        pool = self.pools.get(pair)
        return Venue(book, 1 if recv == pair[0] else 0, 1 if send == pair[0] else 0,
                     C.addressof(pool) if pool is not None else None)

    def check(self) -> None:
        for b in self.books.values():
            self._ok(self.c.lib.sob_offerbook_check(b), "book check")
        self._ok(self.c.lib.sob_accounts_check(self.table), "table check")

    # -- running an operation ---------------------------------------------------------------
    def manage(self, kind: str, source: str, selling: str, buying: str, amount: int, n: int, d: int,
               offer_id: int = 0) -> dict:
        if not (_fits(amount, offer_id) and _fits(n, d, bits=32)):
            return {"error": "not representable"}  # the C types cannot hold it (ctypes would wrap)
        op = ManageOp(OP_KIND[kind], 0, self.key(source), self.asset(selling), self.asset(buying), amount, n, d,
                      offer_id)
        venue = self.venue(selling, buying)
        old = self.L.offers.get(offer_id) if offer_id else None
        existing = None
        if old is not None:
            existing = OfferEntry(old.offer_id, self.key(old.seller), self.key(old.sponsor), self.asset(old.selling),
                                  self.asset(old.buying), old.amount, old.n, old.d, old.flags, 0)
        res = OpResult()
        st = self.c.lib.sob_manage_offer(C.byref(self.ctx), C.byref(op), C.byref(venue),
                                         C.byref(existing) if existing is not None else None, self.c.scratch,
                                         C.byref(res))
        return self.view(st, res, [venue], old=old)

    def path(self, kind: str, source: str, send_asset: str, send: int, destination: str, dest_asset: str,
             dest: int, path: tuple) -> dict:
        assets = [send_asset, *path, dest_asset]
        if not _fits(send, dest):
            return {"error": "not representable"}
        if len(assets) > 7:
            return {"error": "path too long"}
        op = PathOp(OP_KIND[kind], len(assets), (C.c_uint32 * 7)(*[self.asset(a) for a in assets]),
                    self.key(source), self.key(destination), send, dest)
        venues = (Venue * (len(assets) - 1))(*[self.venue(assets[i], assets[i + 1]) for i in range(len(assets) - 1)])
        res = OpResult()
        st = self.c.lib.sob_path_payment(C.byref(self.ctx), C.byref(op), venues, self.c.scratch, C.byref(res))
        return self.view(st, res, list(venues))

    # -- the result as comparable values -------------------------------------------------------
    def _claim(self, c: Claim, venues: list) -> tuple:
        t = CLAIM_TYPE[c.type]
        if t == cr.CLAIM_ATOM_TYPE_LIQUIDITY_POOL:
            v = venues[c.venue]
            return (t, None, None, self.pool_pairs[v.pool], self.asset_names[c.asset_sold], c.amount_sold,
                    self.asset_names[c.asset_bought], c.amount_bought)
        return (t, self.names.get(c.seller), c.offer_id, None, self.asset_names[c.asset_sold], c.amount_sold,
                self.asset_names[c.asset_bought], c.amount_bought)

    def view(self, st: int, r: OpResult, venues: list, old: Optional[cr.Offer] = None) -> dict:
        if st != SOB_OK:
            return {"error": f"status {st}"}
        name = self.c.result_name(r.code)
        if r.code == SOB_R_CORE_WOULD_THROW:
            msg = self.c.lib.sob_throw_message(r.thrown).decode()
            return {"code": "THROW", "message": msg, "generic": r.thrown == SOB_THROW_ASSERT}
        hop_claims = [self._claim(r.hop_claims[i], venues) for i in range(r.nhop_claims)]
        hops = []
        for i in range(r.nhops):
            h = r.hops[i]
            hops.append(dict(
                send_asset=self.asset_names[h.send_asset], recv_asset=self.asset_names[h.recv_asset],
                result=CONVERT[h.result], venue=VENUE[h.venue], amount_send=h.amount_send,
                amount_recv=h.amount_recv,
                claims=tuple(hop_claims[h.claims_start:h.claims_start + h.claims_count]),
                pool_quote=(h.pool_send, h.pool_recv) if h.pool_quoted else None,
                book_quote=(h.book_send, h.book_recv, CONVERT[h.book_result], h.book_offers),
                budget_before=h.budget_before, budget_after=h.budget_after))
        out = dict(code=name, sent=r.sent if r.amounts_known else None,
                   received=r.received if r.amounts_known else None,
                   claims=tuple(self._claim(r.claims[i], venues) for i in range(r.nclaims)), hops=hops,
                   offer_effect=EFFECT[r.offer_effect])
        offer = None
        if r.offer_effect in (1, 2):
            o = r.offer
            offer = cr.Offer(self.names[o.seller], o.offer_id, self.asset_names[o.selling],
                             self.asset_names[o.buying], o.amount, o.n, o.d, o.flags,
                             self.names.get(o.sponsor) if o.sponsor else None)
        out["offer"] = offer
        out["ledger"] = self.after(r, old, offer)
        return out

    def after(self, r: OpResult, old: Optional[cr.Offer], offer: Optional[cr.Offer]) -> cr.Ledger:
        """The input ledger with the C result's changes applied."""
        L = self.L.copy()
        for i in range(r.naccounts):
            ch = r.accounts[i]
            acc = L.accounts[self.names[ch.key]]
            a = ch.after
            acc.balance, acc.buying_liabilities, acc.selling_liabilities = (a.balance, a.buying_liabilities,
                                                                            a.selling_liabilities)
            acc.num_sub_entries, acc.num_sponsoring, acc.num_sponsored, acc.flags = (
                a.num_sub_entries, a.num_sponsoring, a.num_sponsored, a.flags)
        for i in range(r.ntrustlines):
            ch = r.trustlines[i]
            tl = L.trustlines[(self.names[ch.key], self.asset_names[ch.asset])]
            t = ch.after
            tl.balance, tl.limit, tl.buying_liabilities, tl.selling_liabilities, tl.flags = (
                t.balance, t.limit, t.buying_liabilities, t.selling_liabilities, t.flags)
        for i in range(r.noffers):
            ch = r.offers[i]
            if ch.amount == 0:
                del L.offers[ch.offer_id]
            else:
                L.offers[ch.offer_id].amount = ch.amount
        for i in range(r.npools):
            ch = r.pools[i]
            p = L.pools[self.pool_pairs[ch.pool]]
            p.reserve_a, p.reserve_b = ch.reserve_a, ch.reserve_b
        if r.old_offer_removed and old is not None:
            del L.offers[old.offer_id]
        if offer is not None:
            L.offers[offer.offer_id] = offer
        L.id_pool = r.id_pool
        return L


# ---------------------------------------------------------------------------------------------
# comparing
# ---------------------------------------------------------------------------------------------


def ref_view(call) -> dict:
    try:
        r = call()
    except cr.CoreWouldThrow as e:
        return {"code": "THROW", "message": e.message}
    except ValueError as e:
        return {"error": str(e)}
    return dict(code=r.code, sent=r.sent, received=r.received,
                claims=tuple(dataclasses.astuple(c) for c in r.claims),
                hops=[dict(send_asset=h.send_asset, recv_asset=h.recv_asset, result=h.result, venue=h.venue,
                           amount_send=h.amount_send, amount_recv=h.amount_recv,
                           claims=tuple(dataclasses.astuple(c) for c in h.claims), pool_quote=h.pool_quote,
                           book_quote=h.book_quote, budget_before=h.budget_before, budget_after=h.budget_after)
                      for h in r.hops],
                offer_effect=r.offer_effect, offer=r.offer, ledger=r.ledger)


def _ledger_state(L: cr.Ledger) -> tuple:
    return (L.accounts, L.trustlines, L.offers, L.pools, L.id_pool)


def differences(ref: dict, got: dict) -> list[str]:
    """What differs between the reference's view and the C core's ([] if nothing)."""
    if "error" in ref or "error" in got:
        if ("error" in ref) == ("error" in got):
            return []
        return [f"error: ref {ref.get('error')!r} C {got.get('error')!r}"]
    if ref["code"] == "THROW" or got["code"] == "THROW":
        if ref["code"] != got["code"]:
            return [f"code: ref {ref['code']} C {got['code']} ({ref.get('message') or got.get('message')})"]
        if ref["message"] == got["message"]:
            return []
        if got.get("generic") and ref["message"].startswith("releaseAssertOrThrow"):
            return []
        return [f"throw: ref {ref['message']!r} C {got['message']!r}"]
    out = []
    for k in ("code", "sent", "received", "claims", "offer_effect", "offer"):
        if ref[k] != got[k]:
            out.append(f"{k}: ref {ref[k]!r}\n      C   {got[k]!r}")
    if len(ref["hops"]) != len(got["hops"]):
        out.append(f"hops: ref {len(ref['hops'])} C {len(got['hops'])}")
    for i, (a, b) in enumerate(zip(ref["hops"], got["hops"])):
        for k in a:
            if a[k] != b[k]:
                out.append(f"hop {i} {k}: ref {a[k]!r}\n      C   {b[k]!r}")
    if _ledger_state(ref["ledger"]) != _ledger_state(got["ledger"]):
        d = cr.diff(ref["ledger"], got["ledger"])
        out.append(f"ledger afterwards differs: {d!r}"[:2000])
    return out


class Stats:
    def __init__(self) -> None:
        self.cases = 0
        self.by_kind: collections.Counter = collections.Counter()
        self.by_code: collections.Counter = collections.Counter()
        self.by_protocol: collections.Counter = collections.Counter()
        self.hops: collections.Counter = collections.Counter()
        self.math = 0
        self.by_profile: collections.Counter = collections.Counter()
        self.no_table = 0  # cases also run with no accounts table
        self.diffs: list[str] = []


def compare_op(clib: CLib, L: cr.Ledger, kind: str, args: tuple, stats: Stats, label: str = "") -> list[str]:
    """Run one operation on the reference and on the C core; record and return the differences.
    A ledger that knows no account is run twice on the C core: with an (empty) accounts table and
    with none (the walk's fast path for unknown sellers); both must agree with the reference."""
    if not L.accounts and L.unknown_accounts_funded:
        d1 = _compare_op(clib, L, kind, args, stats, label, False)
        stats.no_table += 1
        return d1 + _compare_op(clib, L, kind, args, stats, label + " (no table)", True, count=False)
    return _compare_op(clib, L, kind, args, stats, label, False)


def _compare_op(clib: CLib, L: cr.Ledger, kind: str, args: tuple, stats: Stats, label: str, no_table: bool,
                count: bool = True) -> list[str]:
    snapshot = L.copy()
    if kind in ("sell", "buy", "passive"):
        src, selling, buying, amount, n, d, *rest = args
        offer_id = rest[0] if rest else 0
        fn = {"sell": cr.manage_sell_offer, "buy": cr.manage_buy_offer, "passive": cr.create_passive_sell_offer}[kind]
        ref = ref_view(lambda: fn(L, *args) if kind != "passive" else fn(L, src, selling, buying, amount, n, d))
        world = CWorld(clib, L, no_table)
        try:
            got = world.manage(kind, src, selling, buying, amount, n, d, 0 if kind == "passive" else offer_id)
            world.check()
        finally:
            world.close()
    else:
        src, send_asset, send, dest_acc, dest_asset, dest, path = args
        fn = cr.path_payment_strict_send if kind == "send" else cr.path_payment_strict_receive
        ref = ref_view(lambda: fn(L, *args))
        world = CWorld(clib, L, no_table)
        try:
            got = world.path(kind, src, send_asset, send, dest_acc, dest_asset, dest, tuple(path))
            world.check()
        finally:
            world.close()
    if _ledger_state(L) != _ledger_state(snapshot):
        raise AssertionError("the reference changed its input ledger")
    diffs = differences(ref, got)
    if not count:
        if diffs:
            stats.diffs.append(f"{label} {kind}{args!r} protocol {L.protocol}:\n    " + "\n    ".join(diffs))
        return diffs
    stats.cases += 1
    stats.by_kind[kind] += 1
    stats.by_protocol[L.protocol] += 1
    code = ref.get("code", "ValueError") if "error" not in ref else "ValueError"
    stats.by_code[code if code != "THROW" else "CoreWouldThrow: " + ref["message"]] += 1
    if "hops" in ref:
        stats.hops[len(ref["hops"])] += 1
    if diffs:
        stats.diffs.append(f"{label} {kind}{args!r} protocol {L.protocol}:\n    " + "\n    ".join(diffs))
    return diffs


# ---- the math functions, one call each ----------------------------------------------------------


def c_exchange(clib: CLib, raw: bool, price, ws, wr, ss, sr, rounding):
    ex, t = Exchange(), C.c_int()
    f = clib.lib.sob_exchange_v10_raw if raw else clib.lib.sob_exchange_v10_checked
    st = f(price[0], price[1], ws, wr, ss, sr, ROUND[rounding], C.byref(ex), C.byref(t))
    if st != SOB_OK:
        return ("error",)
    if t.value:
        return ("THROW", clib.lib.sob_throw_message(t.value).decode())
    return (ex.wheat, ex.sheep, bool(ex.wheat_stays))


def r_exchange(fn, *args):
    try:
        r = fn(*args)
    except cr.CoreWouldThrow as e:
        return ("THROW", e.message)
    except ValueError:
        return ("error",)
    return (r.wheat_received, r.sheep_send, r.wheat_stays)


def c_pool(clib: CLib, rt, ms, rf, mr, fee, rounding):
    to, fr, ok, t = C.c_int64(), C.c_int64(), C.c_int(), C.c_int()
    st = clib.lib.sob_pool_exchange_checked(rt, ms, rf, mr, fee, ROUND[rounding], C.byref(to), C.byref(fr),
                                            C.byref(ok), C.byref(t))
    if st != SOB_OK:
        return ("error",)
    if t.value:
        return ("THROW", clib.lib.sob_throw_message(t.value).decode())
    return (to.value, fr.value) if ok.value else None


def r_pool(*args):
    try:
        return cr.exchange_with_pool_math(*args)
    except cr.CoreWouldThrow as e:
        return ("THROW", e.message)


def _int64s(*xs) -> bool:
    return all(type(x) is int and 0 <= x <= M for x in xs)


# ---------------------------------------------------------------------------------------------
# 1. the scenarios of tests/test_core_reference.py, through a shim
# ---------------------------------------------------------------------------------------------


class Mismatch(AssertionError):
    pass


def make_shim(clib: CLib, stats: Stats) -> types.ModuleType:
    """A module that behaves as core_reference, whose operations and math functions also run on the
    C core and raise Mismatch on any difference."""
    shim = types.ModuleType("core_reference")
    shim.__dict__.update(cr.__dict__)

    def check(diffs: list[str]) -> None:
        if diffs:
            raise Mismatch("C core differs from the reference:\n" + "\n".join(diffs))

    def op(kind: str, fn):
        def wrapped(L, *args, **kw):
            if kind == "passive":
                full = args
            elif kind in ("sell", "buy"):
                full = args + ((kw["offer_id"],) if "offer_id" in kw else ())
            else:
                full = args + ((kw["path"],) if "path" in kw else ())
                if len(full) == 6:
                    full = full + ((),)
            check(compare_op(clib, L, kind, full, stats, "scenario"))
            return fn(L, *args, **kw)
        return wrapped

    shim.manage_sell_offer = op("sell", cr.manage_sell_offer)
    shim.manage_buy_offer = op("buy", cr.manage_buy_offer)
    shim.create_passive_sell_offer = op("passive", cr.create_passive_sell_offer)
    shim.path_payment_strict_send = op("send", cr.path_payment_strict_send)
    shim.path_payment_strict_receive = op("recv", cr.path_payment_strict_receive)

    def exchange_v10(price, ws, wr, ss, sr, rounding):
        if _int64s(ws, wr, ss, sr):
            a, b = r_exchange(cr.exchange_v10, price, ws, wr, ss, sr, rounding), c_exchange(
                clib, False, price, ws, wr, ss, sr, rounding)
            stats.math += 1
            check([] if a == b else [f"exchange_v10{(price, ws, wr, ss, sr, rounding)}: ref {a} C {b}"])
        return cr.exchange_v10(price, ws, wr, ss, sr, rounding)

    def exchange_v10_without(price, ws, wr, ss, sr, rounding):
        if _int64s(ws, wr, ss, sr):
            a = r_exchange(cr.exchange_v10_without_price_error_thresholds, price, ws, wr, ss, sr, rounding)
            b = c_exchange(clib, True, price, ws, wr, ss, sr, rounding)
            stats.math += 1
            check([] if a == b else [f"exchange_v10_raw{(price, ws, wr, ss, sr, rounding)}: ref {a} C {b}"])
        return cr.exchange_v10_without_price_error_thresholds(price, ws, wr, ss, sr, rounding)

    def adjust_offer(price, ws, sr):
        exchange_v10(price, ws, M, M, sr, cr.NORMAL)
        return cr.adjust_offer(price, ws, sr)

    def offer_liabilities(price, amount):
        exchange_v10_without(price, amount, M, M, M, cr.NORMAL)
        return cr.offer_liabilities(price, amount)

    def exchange_with_pool_math(rt, ms, rf, mr, fee, rounding):
        if _int64s(ms, mr):
            a, b = r_pool(rt, ms, rf, mr, fee, rounding), c_pool(clib, rt, ms, rf, mr, fee, rounding)
            stats.math += 1
            check([] if a == b else [f"pool{(rt, ms, rf, mr, fee, rounding)}: ref {a} C {b}"])
        return cr.exchange_with_pool_math(rt, ms, rf, mr, fee, rounding)

    shim.exchange_v10 = exchange_v10
    shim.exchange_v10_without_price_error_thresholds = exchange_v10_without
    shim.adjust_offer = adjust_offer
    shim.offer_liabilities = offer_liabilities
    shim.exchange_with_pool_math = exchange_with_pool_math
    return shim


def run_scenarios(clib: CLib, stats: Stats) -> int:
    """pytest over tests/test_core_reference.py with the shim as core_reference. Returns pytest's code."""
    import pytest

    sys.modules["core_reference"] = make_shim(clib, stats)
    try:
        return pytest.main([str(ROOT / "tests" / "test_core_reference.py"), "-q", "-p", "no:cacheprovider",
                            "-p", "no:randomly", "--no-header"])
    finally:
        sys.modules["core_reference"] = cr


# ---------------------------------------------------------------------------------------------
# 2. random cases
# ---------------------------------------------------------------------------------------------

ISSUERS = ["I1", "I2", "I3"]
CREDIT = ["AAA:I1", "BBB:I1", "CCC:I2", "DDDDD:I2", "EEE:I3"]
MAKERS = ["m0", "m1", "m2", "m3", "m4"]
UNKNOWN = ["u0", "u1", "u2"]
PROFILES = ["liquid", "liquid", "tight", "tight", "hostile", "budget", "pools", "extreme", "overflow", "unfunded",
            "anonymous", "anonymous"]


def _amount(rnd: random.Random, scale: int = 10**9) -> int:
    r = rnd.random()
    if r < 0.45:
        return rnd.randint(1, 1000)
    if r < 0.85:
        return rnd.randint(1, scale)
    if r < 0.93:
        return rnd.randint(1, 10**15)
    return rnd.choice([M, M - 1, M // 2, 2**62, rnd.randint(1, M)])


def _price(rnd: random.Random, near_one: bool = False) -> tuple[int, int]:
    r = rnd.random()
    if near_one and r < 0.7:
        base = rnd.randint(50, 200)
        return base + rnd.randint(-5, 5), base
    if r < 0.6:
        return rnd.randint(1, 12), rnd.randint(1, 12)
    if r < 0.88:
        return rnd.randint(1, 1000), rnd.randint(1, 1000)
    return rnd.choice([1, 2, 3, cr.INT32_MAX, cr.INT32_MAX - 1, rnd.randint(1, cr.INT32_MAX)]), \
        rnd.choice([1, 2, 7, cr.INT32_MAX, rnd.randint(1, cr.INT32_MAX)])


def anonymous_ledger(rnd: random.Random) -> cr.Ledger:
    """stellar_ob's default model: no account known, every seller (and the taker) unknown and fully
    funded. Books over 2-4 assets with prices near 1 or anywhere, deep or thin, pools or not, and
    sometimes the taker's own offers."""
    L = cr.Ledger(protocol=rnd.choice([10, 12, 14, 17, 18, 20, 23, 26, 27, 28, 28]),
                  max_offers_to_cross=rnd.choice([1000] * 6 + [1, 2, 5, 10]),
                  pool_trading_disabled=rnd.random() < 0.03)
    assets = [cr.NATIVE] + rnd.sample(CREDIT, rnd.randint(1, 3))
    near_one = rnd.random() < 0.7
    for oid in range(1, rnd.choice([1, 5, 20, 50, 120]) + 1):
        selling, buying = rnd.sample(assets, 2)
        seller = "t" if rnd.random() < 0.03 else f"s{rnd.randint(0, 30)}"
        amount = rnd.choice([rnd.randint(1, 100), rnd.randint(1, 10**9), _amount(rnd, 10**12)])
        L.add_offer(seller, oid, selling, buying, amount, *_price(rnd, near_one), passive=rnd.random() < 0.05)
    for i, x in enumerate(assets):
        for y in assets[i + 1:]:
            if rnd.random() < 0.4:
                L.set_pool(x, y, rnd.choice([1, 1000, 10**9, 10**12, M - 10]), rnd.choice([1, 1000, 10**9, 10**12]))
    return L


def overflow_ledger(rnd: random.Random) -> cr.Ledger:
    """Books whose totals pass INT64_MAX: unknown sellers, offers of 2^61..INT64_MAX at prices far
    from 1, so a walk can end eOK with the taker's int64 budget spent and the transfer incomplete
    (the issue's two reproducers are of this kind)."""
    L = cr.Ledger(protocol=rnd.choice([12, 18, 23, 27, 28]))
    x, y = rnd.sample([cr.NATIVE, "AAA:I1", "BBB:I1"], 2)
    oid = 0
    for selling, buying in ((x, y), (y, x)):
        for _ in range(rnd.randint(1, 5)):
            oid += 1
            amount = rnd.choice([rnd.randint(1, 1000), rnd.randint(2**61, M), M, M - 1, 2**62])
            n, d = rnd.choice([(1, 1), (1, 2), (2, 1), (cr.INT32_MAX, 1), (1, cr.INT32_MAX), (3, 7), (7, 3)])
            L.add_offer(f"u{oid % 4}", oid, selling, buying, amount, n, d)
    if rnd.random() < 0.3:
        L.set_pool(x, y, rnd.randint(1, M), rnd.randint(1, M))
    return L


def unfunded_ledger(rnd: random.Random) -> cr.Ledger:
    """Known sellers holding one verbatim offer per pair that their balance or trust limit may not
    back (possible only in a hand-built ledger): crossOfferV10's preventative adjustOffer reduces
    each to canSellAtMost / canBuyAtMost (OfferExchange.cpp:1140-1147)."""
    L = cr.Ledger(protocol=rnd.choice([10, 13, 14, 18, 23, 28]), base_reserve=rnd.choice([0, 100, 5_000_000]))
    assets = [cr.NATIVE, "AAA:I1", "BBB:I1"][: rnd.randint(2, 3)]
    L.set_account("I1", 10**12)
    oid = 0
    for m in MAKERS:
        L.set_account(m, 2 * L.base_reserve + rnd.choice([0, rnd.randint(0, 5000), rnd.randint(0, 10**9)]))
        for a in assets[1:]:
            b = rnd.choice([0, rnd.randint(0, 5000), rnd.randint(0, 10**9)])
            L.set_trustline(m, a, b, b + rnd.choice([0, rnd.randint(0, 5000), rnd.randint(0, 10**9)]))
            L.accounts[m].num_sub_entries += 1
        for selling in assets:
            buying = rnd.choice([a for a in assets if a != selling])
            oid += 1
            n, d = _price(rnd) if rnd.random() < 0.5 else (rnd.randint(1, 7), rnd.randint(1, 7))
            L.add_offer(m, oid, selling, buying, rnd.choice([rnd.randint(1, 6000), rnd.randint(1, 10**9)]), n, d)
            L.accounts[m].num_sub_entries += 1
            L.accounts[m].balance += L.base_reserve
    L.set_account("t", 10**15)
    for a in assets[1:]:
        L.set_trustline("t", a, 10**12, 10**15)
        L.accounts["t"].num_sub_entries += 1
    L.recompute_liabilities()
    return L


def random_ledger(rnd: random.Random, profile: str) -> cr.Ledger:
    """A random ledger. Profiles: liquid (funded taker, deep books near 1/1), tight (balances and
    trust limits that just cover offers, small reserves), hostile (unauthorized lines, hand-built
    unfunded offers, sponsorship, missing accounts), budget (work limits of 0..8 and many tiny
    offers), pools (thin books, pools that win), extreme (amounts and prices at the int limits),
    overflow and unfunded (see their functions)."""
    if profile == "overflow":
        return overflow_ledger(rnd)
    if profile == "unfunded":
        return unfunded_ledger(rnd)
    if profile == "anonymous":
        return anonymous_ledger(rnd)
    protocol = rnd.choice([10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21, 22, 23, 24, 25, 26, 27, 28, 28, 28])
    if profile == "pools":
        protocol = rnd.choice([17, 18, 20, 23, 26, 27, 28, 28])
    funded = rnd.random() < (0.5 if profile == "hostile" else 0.85)
    L = cr.Ledger(protocol=protocol, base_reserve=rnd.choice([0, 1, 100, 5_000_000, 5_000_000]),
                  max_offers_to_cross=rnd.choice([0, 1, 2, 3, 5, 8]) if profile == "budget" else
                  rnd.choice([1000] * 12 + [1, 2, 4]),
                  pool_trading_disabled=rnd.random() < 0.03, unknown_accounts_funded=funded,
                  id_pool=rnd.choice([0, 10**6, M - 5]))
    if profile == "hostile" and rnd.random() < 0.3:
        L.account_subentry_limit = rnd.choice([0, 1, 3])
    assets = [cr.NATIVE] + rnd.sample(CREDIT, rnd.randint(1, 3 if profile != "extreme" else 2))
    if rnd.random() < 0.2:
        assets = assets[1:]  # no native in the world (it is still an asset the ops may name)
    br = L.base_reserve
    for iss in ISSUERS:
        if rnd.random() < (0.95 if not funded else 0.5):
            L.set_account(iss, rnd.randint(10**8, 10**12))
    for acct in MAKERS + ["t", "d", "sp"]:
        if acct in ("t", "d") and funded and rnd.random() < 0.15:
            continue  # an unknown (fully funded) taker or destination
        if acct in MAKERS and funded and rnd.random() < 0.2:
            continue  # an unknown maker
        tight = profile == "tight" or (profile == "hostile" and rnd.random() < 0.5)
        if tight and rnd.random() < 0.7:
            bal = (2 + len(assets)) * br + rnd.randint(0, 3000)
        elif profile == "extreme" and rnd.random() < 0.5:
            bal = M - rnd.randint(0, 10**6)
        else:
            bal = rnd.randint(10**10, 10**14)
        L.set_account(acct, bal)
        for a in assets:
            if a == cr.NATIVE or cr.is_issuer(acct, a) or rnd.random() < (0.15 if profile == "hostile" else 0.04):
                continue  # no trust line
            if tight:
                b = rnd.choice([0, rnd.randint(1, 3000), rnd.randint(1, 10**6)])
                room = rnd.choice([0, rnd.randint(0, 3000), rnd.randint(0, 10**6)])
            elif profile == "extreme":
                b = rnd.choice([0, rnd.randint(1, 10**9), M // 2, M - 1000])
                room = rnd.choice([0, M - b, rnd.randint(0, M - b)])
            else:
                b = rnd.randint(10**9, 10**13)
                room = rnd.choice([M - b, rnd.randint(10**9, 10**14)])
            flags = cr.AUTHORIZED_FLAG
            if profile == "hostile":
                flags = rnd.choices([cr.AUTHORIZED_FLAG, cr.AUTHORIZED_TO_MAINTAIN_LIABILITIES_FLAG, 0],
                                    [0.7, 0.2, 0.1])[0]
            L.set_trustline(acct, a, b, b + room, flags=flags)
            L.accounts[acct].num_sub_entries += 1
    sellers = MAKERS + ["t"] + (UNKNOWN if funded else [])
    sellers = [x for x in sellers if x in L.accounts or funded]
    if not sellers:
        sellers = [x for x in L.accounts if x not in ISSUERS] or ["sp"]
    hand_built = profile == "hostile" and rnd.random() < 0.4
    n_offers = {"budget": rnd.choice([5, 15, 40]), "pools": rnd.choice([0, 1, 3])}.get(
        profile, rnd.choice([0, 4, 12, 30, 60]))
    near_one = profile in ("liquid", "budget", "pools") or rnd.random() < 0.5
    for oid in range(1, n_offers + 1):
        selling, buying = rnd.sample(assets, 2) if len(assets) >= 2 else (cr.NATIVE, assets[0])
        seller = rnd.choice(sellers) if rnd.random() < 0.93 else "t"
        if profile == "budget":
            amount = rnd.randint(1, 30)
        elif profile == "extreme":
            amount = _amount(rnd, 10**18)
        else:
            amount = _amount(rnd, 10**8)
        n, d = _price(rnd, near_one) if profile != "budget" else (rnd.randint(1, 3), rnd.randint(1, 3))
        passive = rnd.random() < 0.1
        if seller not in L.accounts:
            if funded:
                L.add_offer(seller, oid, selling, buying, amount, n, d, passive=passive)
            continue
        if hand_built and rnd.random() < 0.6:  # verbatim, liabilities summed afterwards: amounts small
            L.add_offer(seller, oid, selling, buying, rnd.randint(1, 10**7), n, d)  # enough for int64 sums
            L.accounts[seller].num_sub_entries += 1
            continue
        try:
            o = L.place_offer(seller, oid, selling, buying, amount, n, d, passive=passive)
        except (ValueError, cr.CoreWouldThrow):
            continue
        if o is not None and "sp" in L.accounts and seller != "sp" and rnd.random() < 0.12:
            o.sponsor = "sp"  # sponsored: its reserve is the sponsor's
            L.accounts[seller].num_sponsored += 1
            L.accounts["sp"].num_sponsoring += 1
    if hand_built:
        try:
            L.recompute_liabilities()
        except ValueError:
            pass
    pool_p = {"pools": 0.9, "liquid": 0.5}.get(profile, 0.3)
    for i, x in enumerate(assets):
        for y in assets[i + 1:]:
            if rnd.random() < pool_p:
                big = rnd.choice([10**9, 10**12, 10**14])
                choices = [0, 1, 100, rnd.randint(1, 10**6), big, big, M - 10] if profile != "pools" else [big]
                r1 = rnd.choice(choices)
                r2 = rnd.choice(choices) if rnd.random() < 0.5 else max(1, r1 + rnd.randint(-r1 // 10, r1 // 10))
                L.set_pool(x, y, r1, min(r2, M))
    return L


def random_op(rnd: random.Random, L: cr.Ledger, profile: str) -> tuple[str, tuple]:
    assets = sorted({cr.NATIVE} | {a for (_, a) in L.trustlines} | {o.selling for o in L.offers.values()} |
                    {o.buying for o in L.offers.values()} | {p.asset_a for p in L.pools.values()} |
                    {p.asset_b for p in L.pools.values()})
    kind = rnd.choice(["sell", "buy", "passive", "send", "recv", "send", "recv"])
    if profile == "pools":
        kind = rnd.choice(["send", "recv"])
    src = rnd.choices(["t", "m0", "u0", "I1", "zz"], [0.8, 0.08, 0.04, 0.04, 0.04])[0]
    scale = {"budget": 200, "tight": 5000, "extreme": M, "unfunded": 10**5}.get(profile, 10**8)
    if profile == "overflow":
        kind = rnd.choice(["send", "recv", "sell", "buy"])
        src = "t"
        scale = M
    big = lambda: _amount(rnd, scale) if profile != "budget" else rnd.randint(1, 200)  # noqa: E731
    if kind in ("sell", "buy", "passive"):
        selling, buying = rnd.sample(assets, 2) if rnd.random() < 0.98 else (assets[0], assets[0])
        amount = big() if rnd.random() < 0.97 else rnd.choice([0, -1])
        n, d = _price(rnd, True) if rnd.random() < 0.97 else (rnd.choice([0, -1, 1]), rnd.choice([0, 1]))
        if rnd.random() < 0.5:  # a limit that crosses most of the book
            lo, hi = rnd.randint(1, 3), rnd.randint(40, 60)
            n, d = (lo, hi) if kind != "buy" else (hi, lo)
        offer_id = 0
        own = [o for o in L.offers.values() if o.seller == src]
        if kind != "passive" and rnd.random() < 0.15:
            if own and rnd.random() < 0.8:
                o = rnd.choice(own)
                offer_id = o.offer_id
                if rnd.random() < 0.6:  # the update keeps the pair, either way round
                    selling, buying = (o.selling, o.buying) if rnd.random() < 0.7 else (o.buying, o.selling)
                if rnd.random() < 0.2:
                    amount = 0
            else:
                offer_id = rnd.choice([1, 999, -1])
        return kind, (src, selling, buying, amount, n, d, offer_id)
    # a path through assets that have books or pools, mostly
    hops = rnd.choice([1, 1, 2, 2, 3, 4, 5, 6])
    chain = [rnd.choice(assets)]
    for _ in range(hops):
        chain.append(rnd.choice(assets) if rnd.random() < 0.85 or len(assets) < 2 else chain[-1])
    if rnd.random() < 0.8:  # mostly no equal neighbours (each hop trades)
        for i in range(1, len(chain)):
            if chain[i] == chain[i - 1] and len(assets) > 1:
                chain[i] = rnd.choice([a for a in assets if a != chain[i - 1]])
    send_asset, path, dest_asset = chain[0], chain[1:-1], chain[-1]
    a = big() if rnd.random() < 0.97 else rnd.choice([0, -5])
    if profile == "overflow":
        a = rnd.choice([rnd.randint(2**61, M), M, 2**62 + 10, 10**12, rnd.randint(1, M)])
    if kind == "send":
        bound = rnd.choice([1, 1, 1, rnd.randint(1, max(1, a)) if a > 0 else 1, _amount(rnd)])
    else:
        bound = rnd.choice([M, M, M, rnd.randint(1, min(M, max(1, 3 * a))) if a > 0 else 1, _amount(rnd)])
    dest = rnd.choices(["d", "t", "zz", "issuer"], [0.6, 0.25, 0.05, 0.1])[0]
    if dest == "issuer":
        dest = cr.asset_issuer(dest_asset) or "d"
    if kind == "send":
        return kind, (src, send_asset, a, dest, dest_asset, bound, path)
    return kind, (src, send_asset, bound, dest, dest_asset, a, path)


def encodable(L: cr.Ledger) -> bool:
    """Every value fits its XDR type (hand-built liabilities are sums that could exceed int64)."""
    for a in L.accounts.values():
        if not (0 <= a.buying_liabilities <= M and 0 <= a.selling_liabilities <= M):
            return False
    return all(0 <= t.buying_liabilities <= M and 0 <= t.selling_liabilities <= M for t in L.trustlines.values())


def random_case(rnd: random.Random) -> tuple[cr.Ledger, str, tuple, str]:
    profile = rnd.choice(PROFILES)
    L = random_ledger(rnd, profile)
    while not encodable(L):
        L = random_ledger(rnd, profile)
    kind, args = random_op(rnd, L, profile)
    return L, kind, args, profile


def run_random(clib: CLib, stats: Stats, cases: int, seed: int, verbose: bool = False) -> None:
    for i in range(cases):
        rnd = random.Random(f"{seed}:{i}")
        L, kind, args, profile = random_case(rnd)
        stats.by_profile[profile] += 1
        diffs = compare_op(clib, L, kind, args, stats, f"case seed={seed} i={i} ({profile})")
        if diffs and verbose:
            print(stats.diffs[-1], flush=True)


def main(argv: Optional[list[str]] = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--cases", type=int, default=5000, help="random cases (default 5000)")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--skip-build", action="store_true")
    ap.add_argument("--skip-scenarios", action="store_true")
    ap.add_argument("--sanitize", action="store_true", help="ASan + UBSan build (needs LD_PRELOAD of libasan)")
    ap.add_argument("--lib", type=Path, help="a prebuilt libsob_testlib.so")
    ap.add_argument("-v", "--verbose", action="store_true")
    a = ap.parse_args(argv)
    if a.lib:
        path = a.lib
    elif a.skip_build:
        path = ROOT / "build" / ("cref-asan" if a.sanitize else "cref") / "libsob_testlib.so"
    else:
        path = build(a.sanitize)
    clib = CLib(path)
    stats = Stats()
    rc = 0
    if not a.skip_scenarios:
        rc = run_scenarios(clib, stats)
        print(f"scenarios: pytest exit {rc}; {stats.cases} operations and {stats.math} math calls compared, "
              f"{len(stats.diffs)} differences")
    scen = stats.cases
    run_random(clib, stats, a.cases, a.seed, a.verbose)
    print(f"random: {stats.cases - scen} cases (seed {a.seed}), {len(stats.diffs)} differences in total")
    print("by kind:", dict(stats.by_kind))
    print("by protocol:", dict(sorted(stats.by_protocol.items())))
    print("random profiles:", dict(stats.by_profile))
    print("hops per operation:", dict(sorted(stats.hops.items())))
    print(f"also run with no accounts table (every account unknown): {stats.no_table}")
    print("result codes:")
    for code, n in stats.by_code.most_common():
        print(f"  {n:6d}  {code}")
    for d in stats.diffs[:20]:
        print(d)
    return 1 if (stats.diffs or rc) else 0


if __name__ == "__main__":
    sys.exit(main())
