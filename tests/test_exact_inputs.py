"""Exact inputs the API takes since issue 16: ``set_level(side, price, amount)`` with a Price or a
Fraction, ``Asset.from_sdk`` (the inverse of ``to_sdk``), and a live book's ``to_numpy``."""

from __future__ import annotations

from decimal import Decimal
from fractions import Fraction

import pytest

from stellar_ob import Asset
from stellar_ob.errors import AmountOverflowError, AssetError, CrossedBookError, InvalidBookError, StellarOBError

from conftest import USDC

ISSUER = USDC.split(":", 1)[1]


# ---- set_level with a Price or a Fraction ---------------------------------------------------------------

def test_set_level_takes_a_price_exactly(impl):
    book, ref = impl.OrderBook("XLM", USDC), impl.OrderBook("XLM", USDC)
    book.set_level("ask", impl.Price(23, 200), 7_000_000)
    book.set_level("ask", impl.Price(46, 400), 1)  # n/d kept as given, as for ints
    book.set_level("bid", Fraction(1, 10), 50)
    book.set_level("bid", Fraction(2**31 - 1, 2**31 - 2), 0)  # 0 removes (absent: nothing to remove)
    ref.set_level("ask", 23, 200, 7_000_000)
    ref.set_level("ask", 46, 400, 1)
    ref.set_level("bid", 1, 10, 50)
    assert book.asks() == ref.asks() and book.bids() == ref.bids()
    assert [(l.price.n, l.price.d, l.amount) for l in book.asks()] == [(23, 200, 1)]  # same value: one level
    assert book.best_bid().price == Fraction(1, 10)
    book.set_level("bid", impl.Price(1, 10), 0)
    assert book.bids() == []
    book.check()


@pytest.mark.parametrize("price", [
    Fraction(1, 2**31), Fraction(2**31, 1), Fraction(0), Fraction(-1, 2), Fraction(3, 2**40),
])
def test_a_fraction_with_no_int32_n_d_is_refused(impl, price):
    book = impl.OrderBook("XLM", USDC)
    book.set_level("ask", 1, 2, 5)
    with pytest.raises(InvalidBookError):
        book.set_level("ask", price, 5)
    assert [(l.price.n, l.price.d, l.amount) for l in book.asks()] == [(1, 2, 5)]


@pytest.mark.parametrize("price", [0.115, Decimal("0.115"), "0.115", 2, True, None, (23, 200), object()])
def test_an_inexact_or_unknown_price_is_refused(impl, price):
    book = impl.OrderBook("XLM", USDC)
    with pytest.raises(InvalidBookError, match="Price or a Fraction"):
        book.set_level("ask", price, 5)
    assert len(book) == 0


def test_set_level_with_a_price_checks_everything_else(impl):
    book = impl.OrderBook("XLM", USDC)
    book.set_level("ask", impl.Price(11, 100), 5)
    with pytest.raises(InvalidBookError):
        book.set_level("ask", impl.Price(1, 2))  # no amount
    with pytest.raises(InvalidBookError):
        book.set_level("middle", impl.Price(1, 2), 5)
    with pytest.raises(InvalidBookError):
        book.set_level("ask", impl.Price(1, 2), -1)
    with pytest.raises(AmountOverflowError):
        book.set_level("ask", Fraction(1, 2), 2**64)
    with pytest.raises(InvalidBookError):
        book.set_level("ask", Fraction(1, 2), 1.0)
    with pytest.raises(CrossedBookError):
        book.set_level("bid", impl.Price(12, 100), 5)
    with pytest.raises(CrossedBookError):
        book.set_level("bid", Fraction(12, 100), 5)
    assert [(l.price.n, l.price.d, l.amount) for l in book.asks()] == [(11, 100, 5)] and book.bids() == []


def test_subclasses_cannot_lie_about_the_price(impl):
    """The price is read from the Price's or Fraction's own fields, never through a subclass."""

    class LyingFraction(Fraction):
        @property
        def numerator(self):  # noqa: D401
            return 999

        @property
        def denominator(self):
            return 1

    book = impl.OrderBook("XLM", USDC)
    book.set_level("ask", LyingFraction(1, 3), 5)
    assert [(l.price.n, l.price.d) for l in book.asks()] == [(1, 3)]
    try:
        class LyingPrice(impl.Price):
            @property
            def n(self):
                return 999
    except TypeError:  # the compiled Price may refuse subclasses: nothing to lie with
        return
    book.set_level("ask", LyingPrice(1, 4), 6)
    assert [(l.price.n, l.price.d) for l in book.asks()] == [(1, 4), (1, 3)]


def test_set_level_errors_are_the_package_errors(impl):
    book = impl.OrderBook("XLM", USDC)
    for args in [(0.5, 1), (Fraction(1, 2**32), 1), (Fraction(1, 2),)]:
        with pytest.raises(StellarOBError):
            book.set_level("ask", *args)


# ---- Asset.from_sdk ------------------------------------------------------------------------------------

sdk = pytest.importorskip("stellar_sdk")


@pytest.mark.parametrize("asset", [Asset.native(), Asset.parse(USDC),
                                   Asset("AstroDollar", "GDA2EHKPDEWZTAL6B66FO77HMOZL3RHZTIJO7KJJK5RQYSDUXEYMPJYY")])
def test_from_sdk_inverts_to_sdk(asset):
    back = Asset.from_sdk(asset.to_sdk())
    assert back == asset and back.asset_type == asset.asset_type
    assert type(back.code) is str and (back.issuer is None or type(back.issuer) is str)
    assert Asset.from_sdk(sdk.Asset.native()) is Asset.native()


@pytest.mark.parametrize("thing", [Asset.parse(USDC), USDC, "XLM", None, 42,
                                   type("LookAlike", (), {"code": "USDC", "issuer": ISSUER})()])
def test_from_sdk_takes_only_sdk_assets(thing):
    with pytest.raises(AssetError, match="stellar_sdk.Asset"):
        Asset.from_sdk(thing)


def test_from_sdk_checks_what_the_sdk_object_holds():
    bad_checksum = sdk.Asset("USDC", ISSUER)
    bad_checksum.issuer = ISSUER[:-1] + "M"  # the sdk's attributes can be reassigned after its own check
    with pytest.raises(AssetError):
        Asset.from_sdk(bad_checksum)
    too_long = sdk.Asset("USDC", ISSUER)
    too_long.code = "ABCDEFGHIJKLM"
    with pytest.raises(AssetError):
        Asset.from_sdk(too_long)
    not_str = sdk.Asset("USDC", ISSUER)
    not_str.code = 42
    with pytest.raises(AssetError):
        Asset.from_sdk(not_str)
    native_with_other_code = sdk.Asset.native()
    native_with_other_code.code = "USDC"
    with pytest.raises(AssetError):
        Asset.from_sdk(native_with_other_code)

    class Sub(sdk.Asset):  # a str subclass is read as the str it holds
        pass

    class S(str):
        def __eq__(self, other):  # noqa: D105
            return True

        __hash__ = str.__hash__

    sub = Sub("USDC", ISSUER)
    sub.code = S("USDC")
    got = Asset.from_sdk(sub)
    assert got == Asset.parse(USDC) and type(got.code) is str


# ---- LiveBook.to_numpy and the other typed reads ---------------------------------------------------------

async def test_live_book_to_numpy_is_its_book():
    import numpy as np

    import stellar_ob
    from stellar_ob._dtypes import level_dtype
    from stellar_ob.sync import Horizon
    from stellar_ob.testing import LocalHorizon

    async with LocalHorizon(markets=1, ledger_interval=None) as server:
        base, counter = server.market_assets()[0]
        async with Horizon(server.url) as h:
            live = await h.watch(base, counter, depth=20)
            for side in ("bid", "ask"):
                arr = live.to_numpy(side)
                assert arr.dtype == level_dtype() and len(arr) == len(getattr(live.book, side + "s")()) > 0
                assert np.array_equal(arr, live.book.to_numpy(side))
                assert live.to_numpy(side, 3).tolist() == [(l.price.n, l.price.d, l.amount)
                                                           for l in getattr(live, side + "s")(3)]
            with pytest.raises(InvalidBookError):
                live.to_numpy("middle")
            with pytest.raises(StellarOBError):
                live.to_numpy("bid", -1)
            assert list(live) == list(live.book)
            assert live.quote_buy(10**7) == live.book.quote_buy(10**7)
            copy = live.copy()
            assert isinstance(copy, stellar_ob.OrderBook) and copy == live.book and copy is not live.book
