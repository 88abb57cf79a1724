"""Price, amounts and assets: exact conversions at the API's edge."""

from __future__ import annotations

import pickle
from fractions import Fraction

import pytest
from hypothesis import given, settings, strategies as st

import stellar_ob
from stellar_ob import Asset, format_amount, parse_amount
from stellar_ob.errors import (
    AmountError, AmountOverflowError, AssetError, ParseError, PriceError, StellarOBError,
)

from conftest import USDC

INT32_MAX = 2**31 - 1


def test_price_compares_and_hashes_by_value(impl):
    P = impl.Price
    assert P(2, 4) == P(1, 2)
    assert hash(P(2, 4)) == hash(P(1, 2)) == hash(Fraction(1, 2))
    assert (P(2, 4).n, P(2, 4).d) == (2, 4)  # kept as given
    assert P(1, 3) < P(1, 2) <= P(2, 4) < P(1, 1)
    assert P(3, 2) > 1 and P(1, 2) == Fraction(1, 2) and P(4, 2) == 2
    assert P(1, 2) != "0.5"
    assert len({P(1, 2), P(2, 4), P(3, 6)}) == 1


def test_price_matches_the_other_implementation():
    from stellar_ob.book import _pure
    try:
        from stellar_ob.book import _book as _core
    except ImportError:
        pytest.skip("compiled extension not built")
    assert _core.Price(1, 2) == _pure.Price(2, 4)
    assert _pure.Price(1, 3) < _core.Price(1, 2)


def test_price_string_is_horizons_7_decimals(impl):
    P = impl.Price
    assert str(P(1, 3)) == "0.3333333"
    assert str(P(2, 3)) == "0.6666667"
    # the real mainnet pair that prints the same string with different price_r
    assert str(P(223, 10000000)) == str(P(16469, 739692077)) == "0.0000223"
    assert P(223, 10000000) != P(16469, 739692077)
    assert str(P(1, 20000000)) == "0.0000001"  # half rounds away from zero (big.Rat.FloatString)
    assert str(P(INT32_MAX, 1)) == "2147483647.0000000"


def test_price_parse_is_exact_or_raises(impl):
    P = impl.Price
    p = P.parse("0.1234567")
    assert (p.n, p.d) == (1234567, 10000000)
    assert P.parse("24.0360926") == Fraction(240360926, 10**7)
    assert P.parse("2.5") == Fraction(5, 2) and (P.parse("2.5").n, P.parse("2.5").d) == (5, 2)
    for bad in ["0", "0.0000000", "-1", "1e3", "abc", "", "3000000000"]:
        with pytest.raises(ParseError):
            P.parse(bad)
    with pytest.raises(ParseError):
        P.parse("0.12345678901")  # 12345678901/10^11 has no int32 n/d


def test_price_rejects_out_of_range_and_wrong_types(impl):
    P = impl.Price
    for n, d in [(0, 1), (1, 0), (-1, 2), (INT32_MAX + 1, 1), (1, 2**40)]:
        with pytest.raises(PriceError):
            P(n, d)
    for n, d in [(1.5, 1), ("1", 2), (True, 1), (None, 1)]:
        with pytest.raises(PriceError):
            P(n, d)
    assert issubclass(PriceError, ValueError) and issubclass(PriceError, StellarOBError)


def test_price_float_fraction_repr_pickle(impl):
    P = impl.Price
    p = P(10178, 394234000)
    assert float(p) == 10178 / 394234000
    assert p.as_fraction() == Fraction(5089, 197117000)
    assert repr(p) == "Price(10178, 394234000)"
    q = pickle.loads(pickle.dumps(p))
    assert (q.n, q.d) == (p.n, p.d)


def test_price_sdk_interop(impl):
    sdk = pytest.importorskip("stellar_sdk")
    p = impl.Price.from_sdk(sdk.Price(10178, 394234000))
    assert (p.n, p.d) == (10178, 394234000)
    assert p.to_sdk() == sdk.Price(10178, 394234000)


@given(st.integers(1, INT32_MAX), st.integers(1, INT32_MAX))
@settings(max_examples=300, deadline=None)
def test_price_string_and_order_match_fractions(n, d):
    from stellar_ob.book import _pure
    f = Fraction(n, d)
    s = str(_pure.Price(n, d))
    whole, frac = s.split(".")
    assert len(frac) == 7
    scaled = f * 10**7
    assert int(whole) * 10**7 + int(frac) == (scaled + Fraction(1, 2)).__floor__()
    try:
        from stellar_ob.book import _book as _core
    except ImportError:
        return
    assert str(_core.Price(n, d)) == s
    assert hash(_core.Price(n, d)) == hash(f)


def test_amounts_round_trip_exactly():
    assert parse_amount("12.3456789") == 123456789
    assert parse_amount("0.0000001") == 1
    assert parse_amount("100") == 1_000_000_000
    assert parse_amount("1.5") == 15_000_000
    assert parse_amount("922337203685.4775807") == 2**63 - 1
    assert format_amount(123456789) == "12.3456789"
    assert format_amount(0) == "0.0000000"
    assert format_amount(2**64 - 1) == "1844674407370.9551615"


@pytest.mark.parametrize("bad", ["-1", "+1", "1e5", "1.", ".5", "1.12345678", " 1", "1 ", "", "1,5", "0x10", "١", "1_000"])
def test_parse_amount_rejects_junk(bad):
    with pytest.raises(ParseError):
        parse_amount(bad)


def test_parse_amount_overflow_is_loud():
    with pytest.raises(AmountOverflowError):
        parse_amount("922337203685.4775808")
    assert parse_amount("922337203685.4776807", max_stroops=2**64 - 1) == 9223372036854776807
    with pytest.raises(AmountOverflowError):
        parse_amount("1844674407370.9551616", max_stroops=2**64 - 1)
    assert issubclass(AmountOverflowError, OverflowError) and issubclass(AmountOverflowError, ValueError)


def test_format_amount_rejects_bad_values():
    for bad in [-1, 1.5, "1", True]:
        with pytest.raises(AmountError):
            format_amount(bad)


@given(st.integers(0, 2**64 - 1))
def test_amount_round_trip(stroops):
    assert parse_amount(format_amount(stroops), max_stroops=2**64 - 1) == stroops


def test_assets_parse_strings_and_sdk_objects():
    assert Asset.parse("XLM") == Asset.parse("native") == Asset.native()
    usdc = Asset.parse(USDC)
    assert (usdc.code, usdc.asset_type) == ("USDC", "credit_alphanum4")
    assert str(usdc) == USDC
    long_code = Asset("AstroDollar", "GDA2EHKPDEWZTAL6B66FO77HMOZL3RHZTIJO7KJJK5RQYSDUXEYMPJYY")
    assert long_code.asset_type == "credit_alphanum12"
    assert long_code.horizon_params("buying") == {
        "buying_asset_type": "credit_alphanum12", "buying_asset_code": "AstroDollar",
        "buying_asset_issuer": "GDA2EHKPDEWZTAL6B66FO77HMOZL3RHZTIJO7KJJK5RQYSDUXEYMPJYY"}
    sdk = pytest.importorskip("stellar_sdk")
    assert Asset.parse(sdk.Asset.native()) == Asset.native()
    assert Asset.parse(sdk.Asset("USDC", usdc.issuer)) == usdc
    assert usdc.to_sdk() == sdk.Asset("USDC", usdc.issuer)


@pytest.mark.parametrize("bad", [
    "USDC", "USDC:", "USDC:GA5ZSEJYB37JRC5AVCIA5MOP4RHTM335X2KGX3IHOJAPP5RE34K4KZVM",  # bad checksum
    "TOOLONGCODE123:GA5ZSEJYB37JRC5AVCIA5MOP4RHTM335X2KGX3IHOJAPP5RE34K4KZVN",
    "US-D:GA5ZSEJYB37JRC5AVCIA5MOP4RHTM335X2KGX3IHOJAPP5RE34K4KZVN", ":GA5Z", 42, None,
])
def test_bad_assets_raise_asset_error(bad):
    with pytest.raises(AssetError):
        Asset.parse(bad)


def test_top_level_api_is_selected_implementation():
    assert stellar_ob.IMPLEMENTATION in ("c", "py")
    assert stellar_ob.OrderBook.__module__.startswith("stellar_ob.")
