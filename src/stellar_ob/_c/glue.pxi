# The border every binding shares (included by book/_book.pyx, offers/_offers.pyx, horizon/_horizon.pyx and
# ledger/_ledger.pyx; a later binding such as a dex binding includes it the same way):
#   _raise       C status -> exception of stellar_ob.errors: the one mapping
#   _input       bytes / str / buffer -> pointer + length (+ _input_release)
#   _asset_to_c  Asset -> sob_asset, and _asset_eq
#   _alloc_array, _presize   this call's scratch: acquired by the call, freed by the call
# Every function only reads plain values once its argument is converted: no method of a caller's
# object runs while a book or a buffer is in use (issue 9's ownership rules).
from cpython.buffer cimport PyObject_GetBuffer, PyBuffer_Release, PyBUF_SIMPLE, PyBUF_C_CONTIGUOUS
from cpython.bytes cimport PyBytes_AS_STRING, PyBytes_GET_SIZE
from cpython.unicode cimport PyUnicode_AsUTF8AndSize
from libc.stdlib cimport malloc
from libc.string cimport memcpy, memset, strcmp

from stellar_ob._c.horizon_json cimport (
    sob_asset, sob_parse_error, SOB_ASSET_NATIVE, SOB_ASSET_CREDIT_ALPHANUM4, SOB_ASSET_CREDIT_ALPHANUM12,
)
from stellar_ob._c.sob_common cimport *

from stellar_ob import errors as _errors
from stellar_ob.amounts import exact_str as _exact_str


# ---- status -> exception -------------------------------------------------------------------

cdef int _raise(sob_status st, str what, const sob_parse_error *err=NULL,
                const char *reason=NULL, Py_ssize_t at=-1) except -1:
    """Raise the exception C status ``st`` stands for; ``what`` names the call or value (an
    offer, a level, a document), ``err`` the scanner's reason and byte offset for a parse error.

    A decoder that explains every status (the ledger decoder and the DexBook: their
    sob_ledger_error) passes its ``reason`` and ``at`` (the byte offset for SOB_E_PARSE, else
    where it stopped, e.g. a change's index) instead of ``err``: the exception is the status's
    own, its message carries the reason."""
    if st == SOB_E_PARSE or (err != NULL and st != SOB_E_NOMEM):
        if err != NULL:
            raise _errors.ParseError((<bytes>err.reason).decode() if err.reason != NULL else f"invalid {what}",
                                     err.offset)
        if reason != NULL:
            raise _errors.ParseError((<bytes>reason).decode(), at if at >= 0 else None)
        raise _errors.ParseError(what)
    if st == SOB_E_NOMEM:
        raise MemoryError(what)
    if reason != NULL:
        what = f"{what}: {(<bytes>reason).decode()}" + (f" (at {at})" if at >= 0 else "")
    if st == SOB_E_CROSSED:
        raise _errors.CrossedBookError(f"{what}: the book would be crossed (best bid > best ask)")
    if st == SOB_E_OVERFLOW:
        raise _errors.AmountOverflowError(f"{what}: amount out of range (does not fit int64)")
    if st == SOB_E_INVALID:
        raise _errors.InvalidBookError(f"{what}: invalid value")
    if st == SOB_E_NOT_FOUND:
        raise _errors.OfferNotFoundError(f"{what} is not in the book")
    if st == SOB_E_EXISTS:
        raise _errors.DuplicateOfferError(f"{what} is already in the book")
    if st == SOB_E_CROSS_SELF:
        raise _errors.CrossSelfError(f"the taker would cross its own {what}")
    if st == SOB_E_MISMATCH:
        raise _errors.AssetMismatchError(f"{what}: assets do not match")
    raise _errors.StellarOBError(f"{what}: status {<int>st}")


# ---- documents in: bytes, bytearray, memoryview (any buffer; one that is not contiguous is read
# in order, as the twin reads it) or str (as UTF-8) ------------------------------------------------

cdef struct _Input:
    const char *buf
    Py_ssize_t len
    bint has_view


cdef object _input(object data, _Input *inp, Py_buffer *view):
    """Point ``inp`` at the document's bytes; returns the object that owns them (keep it alive
    while ``inp`` is used: it may be a contiguous copy of a strided memoryview). Release with
    :func:`_input_release`."""
    inp.has_view = False
    if type(data) is bytes:
        inp.buf = PyBytes_AS_STRING(data)
        inp.len = PyBytes_GET_SIZE(data)
    elif isinstance(data, str):
        try:
            inp.buf = PyUnicode_AsUTF8AndSize(data, &inp.len)
        except UnicodeEncodeError as e:  # a lone surrogate: no UTF-8 form, so not a document
            raise _errors.ParseError("input is not UTF-8 (lone surrogate)",
                                     len(_exact_str(data)[:e.start].encode("utf-8", "surrogatepass"))) from None
    elif isinstance(data, (bytes, bytearray, memoryview)):
        try:
            PyObject_GetBuffer(data, view, PyBUF_SIMPLE | PyBUF_C_CONTIGUOUS)
        except BufferError:
            data = memoryview(data).tobytes()
            PyObject_GetBuffer(data, view, PyBUF_SIMPLE)
        inp.buf = <const char *>view.buf
        inp.len = view.len
        inp.has_view = True
    else:
        raise _errors.ParseError(f"expected bytes, bytearray, memoryview or str, got {type(data).__name__}")
    return data


cdef inline void _input_release(_Input *inp, Py_buffer *view):
    if inp.has_view:
        inp.has_view = False
        PyBuffer_Release(view)


# ---- assets --------------------------------------------------------------------------------

cdef int _asset_to_c(object asset, sob_asset *out) except -1:
    """Copy an Asset into the C struct, checking the lengths the struct holds (an Asset's
    attributes can be forced by object.__setattr__: never trust them for a memcpy). The type is
    Horizon's: credit_alphanum4 for codes of 1-4 characters, credit_alphanum12 for 5-12."""
    memset(out, 0, sizeof(sob_asset))
    if asset.issuer is None:
        out.type = SOB_ASSET_NATIVE
        return 0
    code = _exact_str(asset.code).encode()
    issuer = _exact_str(asset.issuer).encode()
    if not 1 <= len(code) <= 12 or len(issuer) != 56:
        raise _errors.AssetError(f"not a Stellar asset: {asset!r}")
    out.type = SOB_ASSET_CREDIT_ALPHANUM4 if len(code) <= 4 else SOB_ASSET_CREDIT_ALPHANUM12
    memcpy(out.code, <const char *>code, len(code))
    memcpy(out.issuer, <const char *>issuer, 56)
    return 0


cdef inline bint _asset_eq(const sob_asset *a, const sob_asset *b):
    return a.type == b.type and strcmp(a.code, b.code) == 0 and strcmp(a.issuer, b.issuer) == 0


# ---- this call's scratch -------------------------------------------------------------------

cdef void *_alloc_array(size_t count, size_t size) except NULL:
    """malloc for ``count`` items of ``size`` bytes, refusing a product that would wrap. The
    caller owns it and frees it before it returns (in a finally)."""
    if size and count > (<size_t>-1) // size:
        raise MemoryError()
    cdef void *p = malloc(count * size if count else 1)
    if p == NULL:
        raise MemoryError()
    return p


cdef int _presize(void **v, size_t *cap, size_t want, size_t size) except -1:
    """A first capacity for a scanner vector of this call (a hint: the scanner grows it if a
    document holds more), so a usual page is one allocation. The vector's free function (called
    by the same call) releases it."""
    if v[0] != NULL:
        return 0
    if want > 4096:
        want = 4096
    v[0] = _alloc_array(want, size)
    cap[0] = want
    return 0
