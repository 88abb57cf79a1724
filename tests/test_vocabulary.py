"""One argument vocabulary for both books and both implementations (docs/concepts.md, "Arguments").

One table: each row is an argument given to the same role (assets, side, the taker's side, kind,
an integer) of each book; every (book, implementation) pair must accept it or refuse it with the
same exception. Before issue 11, ``OfferBook("XLM", "native")``, side ``"asks"`` and
``taker_sells="a"`` were accepted by OfferBook and refused by OrderBook.
"""

from __future__ import annotations

import pytest

from conftest import USDC, load_c
from stellar_ob import _impl
from stellar_ob.errors import AssetError, InvalidBookError

OK = None


def _books(kind: str, impl: str):
    if impl == "c":
        core, offers = load_c("book"), load_c("offers")
    else:
        core, offers = _impl.twin("book"), _impl.twin("offers")
    return core.OrderBook if kind == "order" else offers.OfferBook


def _use_side(book, side):
    """One call per book that takes a side."""
    if hasattr(book, "set_level"):
        book.set_level(side, 1, 2, 10)
    else:
        book.add_offer(1, side, 1, 2, 10)


class _Str(str):
    def __eq__(self, other):  # never consulted: the value is read as the str it holds
        raise AssertionError("a method of the caller's str ran")

    __hash__ = str.__hash__


# (role, value, expected outcome for every book and implementation)
TABLE = [
    ("assets", ("XLM", USDC), OK),
    ("assets", ("native", USDC), OK),
    ("assets", (USDC, "XLM"), OK),
    ("assets", ({"asset_type": "native"}, USDC), OK),  # Horizon's asset object
    ("assets", ({"asset_type": "native"}, "XLM"), AssetError),
    ("assets", ("XLM", "native"), AssetError),  # the same asset twice
    ("assets", (USDC, USDC), AssetError),
    ("assets", (None, None), AssetError),
    ("assets", ("XLM", None), AssetError),
    ("assets", ("XLM", "USDC:not-an-issuer"), AssetError),
    ("side", "bid", OK),
    ("side", "ask", OK),
    ("side", _Str("ask"), OK),
    ("side", "asks", InvalidBookError),
    ("side", "bids", InvalidBookError),
    ("side", "ASK", InvalidBookError),
    ("side", "", InvalidBookError),
    ("side", 1, InvalidBookError),
    ("side", None, InvalidBookError),
    ("taker_sells", "base", OK),
    ("taker_sells", "counter", OK),
    ("taker_sells", "a", InvalidBookError),
    ("taker_sells", "b", InvalidBookError),
    ("taker_sells", "Base", InvalidBookError),
    ("taker_sells", 0, InvalidBookError),
    ("kind", "sell", OK),
    ("kind", "strict_send", OK),
    ("kind", "SELL", InvalidBookError),
    ("kind", "swap", InvalidBookError),
    ("depth", 3, OK),
    ("depth", None, OK),
    ("depth", True, TypeError),
    ("depth", 2.0, TypeError),
]


def _run(book_cls, role, value):
    if role == "assets":
        book_cls(*value)
        return
    book = book_cls("XLM", USDC)
    if role == "side":
        _use_side(book, value)
    elif role == "depth":
        if hasattr(book, "set_level"):
            book.bids(value)
        else:
            book.offers("bid", value)
    elif role in ("taker_sells", "kind"):
        if role == "taker_sells":
            book.simulate("sell", 10, taker_sells=value)
        else:
            book.simulate(value, 10, taker_sells="base")


# taker_sells and kind are parameters of OfferBook.simulate only (the L2 book's quotes have none)
CASES = [pytest.param(kind, impl, role, value, expected, id=f"{kind}-{impl}-{role}-{value!r}")
         for role, value, expected in TABLE for kind in ("order", "offer") for impl in ("c", "py")
         if kind == "offer" or role not in ("taker_sells", "kind")]


@pytest.mark.parametrize("kind,impl,role,value,expected", CASES)
def test_one_vocabulary(kind, impl, role, value, expected):
    book_cls = _books(kind, impl)
    if expected is OK:
        _run(book_cls, role, value)
    else:
        with pytest.raises(expected):
            _run(book_cls, role, value)
