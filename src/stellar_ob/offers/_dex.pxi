# Issue 12's border over csrc/dex.h (included by offers/_offers.pyx): result codes, the protocol, sellers'
# funds and path payments. Identities the C core needs are numbers chosen here, once per process:
#   - an asset id (uint32) per Asset (native 0; a book's unnamed assets never reach the path);
#   - an account key (uint64, nonzero) per account given to set_account (or issuing an asset of a
#     book with funds set): a seller handle carries it only in a book whose table holds that
#     account's funds. Other sellers keep key 0 (unknown, fully funded), so a million sellers
#     coming and going cost nothing here. The taker's own offers (CROSS_SELF) are marked for the
#     call only: its handle gets the taker's key (a transient one if it has no funds set) and
#     gets 0 back afterwards.

from stellar_ob._c.accounts cimport *
from stellar_ob._c.dex cimport *

from .execution import (
    CoreWouldThrowError, Funds, MAINNET_PROTOCOL, MIN_PROTOCOL, PathHop, PathResult, Result,
)

cdef dict _ASSET_IDS = {}        # Asset -> uint32 (native: 0)
cdef list _ASSETS = [None]       # id -> Asset (0 is native, filled lazily)
cdef dict _ACCOUNT_KEYS = {}     # account id (exact str) -> uint64 key, from 1
cdef uint64_t _SYNTH_TAKER = 0xFFFFFFFFFFFFFFFFULL  # the anonymous taker when max_send is modelled
cdef uint64_t _TRANSIENT_TAKER = 0xFFFFFFFFFFFFFFFEULL  # a taker without funds set, for one call


cdef enum:
    MIN_PROTOCOL_C = 10  # execution.MIN_PROTOCOL, checked at import below


cdef dict _PARSED = {}           # exact str -> Asset (immutable), bounded: cleared at 4096 entries


cdef object _path_asset(a):
    """An asset of a path or a pool key: parsed once per distinct string (a StrKey checksum in
    Python costs more than a whole path payment in C)."""
    if type(a) is str:
        r = _PARSED.get(a)
        if r is None:
            r = _args._asset(a)
            if len(_PARSED) >= 4096:
                _PARSED.clear()
            _PARSED[a] = r
        return r
    return _args._asset(a)


cdef dict _PATH_IDS = {}          # exact str -> (Asset, id), bounded like _PARSED


cdef tuple _path_asset_id(a):
    """(Asset, process-wide id) of an asset of a path or a pool key: a string is parsed and
    hashed once (Asset's __hash__ runs in Python)."""
    if type(a) is str:
        r = _PATH_IDS.get(a)
        if r is None:
            asset = _path_asset(a)
            r = (asset, _asset_id(asset))
            if len(_PATH_IDS) >= 4096:
                _PATH_IDS.clear()
            _PATH_IDS[a] = r
        return <tuple>r
    asset = _args._asset(a)
    return (asset, _asset_id(asset))


cdef uint32_t _asset_id(asset) except? 0xFFFFFFFF:
    """The process-wide id of an Asset (0 for native)."""
    if asset.issuer is None:
        return 0
    i = _ASSET_IDS.get(asset)
    if i is None:
        if len(_ASSETS) >= 0xFFFFFFF0:
            raise MemoryError("too many distinct assets")
        i = len(_ASSETS)
        _ASSET_IDS[asset] = i
        _ASSETS.append(asset)
    return <uint32_t>i


cdef uint64_t _account_key(str account) except? 0:
    """The process-wide key of an account id (0 for None)."""
    if account is None:
        return 0
    k = _ACCOUNT_KEYS.get(account)
    if k is None:
        k = len(_ACCOUNT_KEYS) + 1
        _ACCOUNT_KEYS[account] = k
    return <uint64_t>k


cdef uint64_t _taker_key(str who):
    """The key the taker acts with: its funds' key if set_account knows it, else a transient one."""
    if who is None:
        return 0
    k = _ACCOUNT_KEYS.get(who)
    return <uint64_t>k if k is not None else _TRANSIENT_TAKER


cdef uint32_t _protocol(value) except 0:
    """``protocol=``: an int >= MIN_PROTOCOL (a later one than core's follows core's rules)."""
    v = _common._int(value, "protocol")
    if v < MIN_PROTOCOL or v > 0xFFFFFFFF:
        raise InvalidBookError(f"protocol must be an int from {MIN_PROTOCOL}, got {v}")
    return <uint32_t>v


# Members read once: an Enum member looked up on its class costs a metaclass attribute lookup
cdef object _R_SUCCESS = Result.SUCCESS
cdef object _R_UNDERFUNDED = Result.UNDERFUNDED
cdef object _R_OVER_SENDMAX = Result.OVER_SENDMAX

cdef list _RESULT_BY_CODE = [None] * 512   # sob_result -> (Result, core name), filled on first use


cdef tuple _result_of(sob_result code):
    """(Result, core's exact name) of a C code; CoreWouldThrowError is raised by the callers."""
    cdef int c = <int>code
    if 0 <= c < 512:
        r = _RESULT_BY_CODE[c]
        if r is not None:
            return <tuple>r
    name = (<bytes>sob_result_name(code)).decode()
    r = (Result.from_code(name), name)
    if 0 <= c < 512:
        _RESULT_BY_CODE[c] = r
    return r


cdef uint32_t _protocol_fast(value) except 0:
    """``protocol=`` with the common case (a plain int in range) decided without a call."""
    cdef int overflow = 0
    cdef long long v
    if type(value) is int:
        v = PyLong_AsLongLongAndOverflow(value, &overflow)
        if overflow == 0 and MIN_PROTOCOL_C <= v <= 0xFFFFFFFF:
            return <uint32_t>v
    return _protocol(value)


# sob_convert_result (OK, PARTIAL, BAD_PRICE, CROSS_SELF, TOO_MANY) -> the walk's stop as
# sob_sim_result indexes _RESULTS (filled, price_limit, no_offers, too_many_offers, cross_self)
cdef int _CONVERT_TO_SIM[5]
_CONVERT_TO_SIM[:] = [0, 2, 1, 4, 3]


cdef int _check_thrown(const sob_op_result *out) except -1:
    if out.code == SOB_R_CORE_WOULD_THROW:
        msg = sob_throw_message(out.thrown)
        where = sob_throw_where(out.thrown)
        raise CoreWouldThrowError((<bytes>msg).decode() if msg != NULL else "core throws",
                                  (<bytes>where).decode() if where != NULL else "")
    return 0


cdef int _funds_int(value, str what, int64_t *out) except -1:
    v = _common._int(value, what)
    if v < 0 or v > INT64_MAX:
        raise AmountOverflowError(f"{what} must be an int64 >= 0, got {v}")
    out[0] = <int64_t>v
    return 0


cdef object _funds_arg(value, str what):
    """A Funds from a Funds, a tuple of its fields, or an int balance."""
    if value is None:
        return None
    if isinstance(value, Funds):
        return value
    if isinstance(value, tuple):
        return Funds(*value)
    return Funds(value)


cdef int _trustline_of(f, str what, sob_trustline *tl) except -1:
    memset(tl, 0, sizeof(sob_trustline))
    _funds_int(f.balance, what + " balance", &tl.balance)
    if f.limit is None:
        tl.limit = INT64_MAX
    else:
        _funds_int(f.limit, what + " limit", &tl.limit)
    _funds_int(f.buying_liabilities, what + " buying_liabilities", &tl.buying_liabilities)
    _funds_int(f.selling_liabilities, what + " selling_liabilities", &tl.selling_liabilities)
    if tl.balance > tl.limit:
        raise InvalidBookError(f"{what}: balance {tl.balance} is above the limit {tl.limit}")
    tl.flags = (SOB_TL_AUTHORIZED if f.authorized is True else 0) | (
        SOB_TL_AUTHORIZED_TO_MAINTAIN_LIABILITIES if f.maintain_liabilities is True else 0)
    return 0


cdef int _merge_accounts(sob_accounts *dst, const sob_accounts *src) except -1:
    """Copy every account and trust line of ``src`` into ``dst``; ArgumentError-like
    InvalidBookError when the same entry differs (two books disagree about one account)."""
    cdef size_t i
    cdef uint64_t k1, k2
    cdef void *v
    cdef sob_account a
    cdef sob_trustline tl
    if src.accounts.mask or src.accounts.used:
        for i in range(src.accounts.mask + 1):
            v = sob_hmap_at(&src.accounts, i, &k1, &k2)
            if v != NULL:
                if sob_accounts_get_account(dst, k1, &a) == SOB_OK and memcmp(&a, v, sizeof(sob_account)) != 0:
                    raise InvalidBookError("two books hold different funds for one account")
                if sob_accounts_set_account(dst, k1, <const sob_account *>v) != SOB_OK:
                    raise MemoryError()
    if src.trustlines.mask or src.trustlines.used:
        for i in range(src.trustlines.mask + 1):
            v = sob_hmap_at(&src.trustlines, i, &k1, &k2)
            if v != NULL:
                if sob_accounts_get_trustline(dst, k1, <uint32_t>k2, &tl) == SOB_OK and memcmp(
                        &tl, v, sizeof(sob_trustline)) != 0:
                    raise InvalidBookError("two books hold different funds for one account")
                if sob_accounts_set_trustline(dst, k1, <uint32_t>k2, <const sob_trustline *>v) != SOB_OK:
                    raise MemoryError()
    return 0


_STOP_OF = {
    Result.TOO_FEW_OFFERS: "too_few_offers",
    Result.EXCEEDED_WORK_LIMIT: "too_many_offers",
    Result.CROSS_SELF: "cross_self",
    Result.OVER_SENDMAX: "send_max",
    Result.UNDERFUNDED: "underfunded",
    Result.UNDER_DESTMIN: "dest_min",
}


cdef bytes _claims_raw(const sob_claim *c, size_t n):
    """Claims of offers (pools left out) packed as Execution's fill quads."""
    cdef bytes raw = PyBytes_FromStringAndSize(NULL, n * sizeof(sob_fill))
    cdef sob_fill *f = <sob_fill *>PyBytes_AS_STRING(raw)
    cdef size_t i, k = 0
    for i in range(n):
        if c[i].offer_id < 0:
            continue
        f[k].offer_id = c[i].offer_id
        f[k].wheat = c[i].amount_sold
        f[k].sheep = c[i].amount_bought
        f[k].remaining = c[i].remaining
        k += 1
    return raw[:k * sizeof(sob_fill)] if k != n else raw


if MIN_PROTOCOL != MIN_PROTOCOL_C:
    raise ImportError("stellar_ob.offers._offers: MIN_PROTOCOL differs between execution.py and _dex.pxi")
