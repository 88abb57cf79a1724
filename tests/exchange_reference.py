"""An independent, straightforward reading of stellar-core's crossing code, for the tests only.

Written from core src/transactions/OfferExchange.cpp (exchangeV10, applyPriceErrorThresholds,
adjustOffer, convertWithOffers, exchangeWithPool) and ManageOfferOpFrameBase.cpp without looking
at stellar_ob's implementations: ints only, every step spelled out, no shared code. The property
tests compare both implementations (C and Python twin) with it.

Also holds the helper that picks an implementation for the ``impl`` fixtures (ids "c", "py").
"""

from __future__ import annotations

import importlib

import pytest

I64 = 9223372036854775807

MODE_NORMAL = "normal"
MODE_SEND = "strict_send"
MODE_RECEIVE = "strict_receive"


def load_impl(name: str):
    """stellar_ob.offers._offers ("c") or stellar_ob.offers._pure ("py"); skip "c" if not built."""
    if name == "py":
        return importlib.import_module("stellar_ob.offers._pure")
    try:
        return importlib.import_module("stellar_ob.offers._offers")
    except ImportError as exc:
        pytest.skip(f"compiled stellar_ob.offers._offers is not built ({exc})")


def div_down(num: int, den: int) -> int:
    assert num >= 0 and den > 0
    return num // den


def div_up(num: int, den: int) -> int:
    assert num >= 0 and den > 0
    q, r = divmod(num, den)
    return q + (1 if r else 0)


def exchange(price_n, price_d, max_wheat_send, max_wheat_receive, max_sheep_send, max_sheep_receive, mode):
    """Returns (wheat_received, sheep_send, wheat_stays)."""
    wheat_value = min(max_wheat_send * price_n, max_sheep_receive * price_d)
    sheep_value = min(max_sheep_send * price_d, max_wheat_receive * price_n)
    wheat_stays = wheat_value > sheep_value
    if wheat_stays and mode == MODE_SEND:
        wheat_receive = div_down(sheep_value, price_n)
        sheep_send = min(max_sheep_send, max_sheep_receive)
    elif wheat_stays and (price_n > price_d or mode == MODE_RECEIVE):
        wheat_receive = div_down(sheep_value, price_n)
        sheep_send = div_up(wheat_receive * price_n, price_d)
    elif wheat_stays:
        sheep_send = div_down(sheep_value, price_d)
        wheat_receive = div_down(sheep_send * price_d, price_n)
    elif price_n > price_d:
        wheat_receive = div_down(wheat_value, price_n)
        sheep_send = div_down(wheat_receive * price_n, price_d)
    else:
        sheep_send = div_down(wheat_value, price_d)
        wheat_receive = div_up(sheep_send * price_d, price_n)
    assert 0 <= wheat_receive <= min(max_wheat_receive, max_wheat_send)
    assert 0 <= sheep_send <= min(max_sheep_receive, max_sheep_send)

    if wheat_receive > 0 and sheep_send > 0:
        if mode == MODE_NORMAL:
            err_lhs = 100 * price_n * wheat_receive
            err_rhs = 100 * price_d * sheep_send
            if abs(err_lhs - err_rhs) > price_n * wheat_receive:
                wheat_receive = 0
                sheep_send = 0
    else:
        if mode != MODE_SEND:
            wheat_receive = 0
            sheep_send = 0
    return wheat_receive, sheep_send, wheat_stays


def adjust(price_n, price_d, amount):
    return exchange(price_n, price_d, amount, I64, I64, I64, MODE_NORMAL)[0]


def simulate(offers, kind, amount, price_limit=None, passive=False, max_send=None, taker=None, max_offers=1000):
    """offers: list of (offer_id, n, d, amount, seller) of the side being crossed.

    Returns dict(fills=[(id, wheat, sheep, remaining)], sent, received, result) where result is
    one of ok / bad_price / cross_self / too_many / partial (core's ConvertResult names).
    """
    book = sorted(offers, key=lambda o: (float(o[1]) / float(o[2]), o[0]))
    mode = {"sell": MODE_NORMAL, "buy": MODE_NORMAL, "strict_send": MODE_SEND, "strict_receive": MODE_RECEIVE}[kind]
    balance = I64 if max_send is None else max_send
    if kind == "sell":
        sheep_left, wheat_left = min(amount, balance), I64
    elif kind == "buy":
        sheep_left, wheat_left = balance, amount
    elif kind == "strict_send":
        sheep_left, wheat_left = amount, I64
    else:
        sheep_left, wheat_left = I64, amount
    max_wheat_price = None
    if price_limit is not None:
        pn, pd = price_limit
        # manage_buy_offer carries the inverse price; maxWheatPrice = (mPrice.d, mPrice.n)
        max_wheat_price = (pd, pn) if kind == "sell" else (pn, pd)
    fills = []
    sent = received = 0
    result = "partial"
    if sheep_left > 0 and wheat_left > 0 and max_offers == 0:
        return dict(fills=fills, sent=0, received=0, result="too_many")
    needed = sheep_left > 0 and wheat_left > 0
    index = 0
    while needed:
        if index == len(book):
            result = "partial"
            break
        oid, n, d, offer_amount, seller = book[index]
        if max_wheat_price is not None:
            a = n * max_wheat_price[1]
            b = max_wheat_price[0] * d
            if a > b or (passive and a >= b):
                result = "bad_price"
                break
        if taker is not None and seller == taker:
            result = "cross_self"
            break
        if len(fills) >= max_offers:
            result = "too_many"
            break
        offer_amount = adjust(n, d, offer_amount)
        w, s, stays = exchange(n, d, offer_amount, wheat_left, sheep_left, I64, mode)
        left = adjust(n, d, offer_amount - w) if stays else 0
        fills.append((oid, w, s, left))
        sent += s
        received += w
        sheep_left -= s
        wheat_left -= w
        needed = (not stays) and sheep_left > 0 and wheat_left > 0
        if not needed:
            result = "ok"
            break
        index += 1
    if not needed and result == "partial":
        result = "ok"
    return dict(fills=fills, sent=sent, received=received, result=result)


def pool_send(x_reserve, y_reserve, fee, x):
    if x > I64 - x_reserve:
        return None
    y = ((10000 - fee) * y_reserve * x) // (10000 * x_reserve + (10000 - fee) * x)
    return y if y > 0 else None


def pool_receive(x_reserve, y_reserve, fee, y):
    if y >= y_reserve:
        return None
    x = div_up(10000 * x_reserve * y, (y_reserve - y) * (10000 - fee))
    if x > I64 or x > I64 - x_reserve:
        return None
    return x
