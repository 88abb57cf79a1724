/* base64.c: strict RFC 4648 base64 decoding (getLedgers' metadataXdr is base64 LedgerCloseMeta).
 *
 * Four symbols at a time through a 256-entry table (0x80 marks a non-alphabet byte, so one OR
 * tests a whole quad). Only the final quad may carry '=' padding; text that does not decode to
 * exactly one byte string (wrong length, stray '=', non-zero unused bits) is refused.
 */
#include <string.h>

#include "ledger.h"

#define X 0x80
static const uint8_t B64[256] = {
    X, X, X, X, X, X, X, X, X, X, X, X, X, X, X, X, X, X, X, X, X, X, X, X, X, X, X, X, X, X, X, X,
    X, X, X, X, X, X, X, X, X, X, X, 62, X, X, X, 63, 52, 53, 54, 55, 56, 57, 58, 59, 60, 61, X, X, X, X, X, X,
    X, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21, 22, 23, 24, 25, X, X, X, X, X,
    X, 26, 27, 28, 29, 30, 31, 32, 33, 34, 35, 36, 37, 38, 39, 40, 41, 42, 43, 44, 45, 46, 47, 48, 49, 50, 51, X, X, X, X, X,
    X, X, X, X, X, X, X, X, X, X, X, X, X, X, X, X, X, X, X, X, X, X, X, X, X, X, X, X, X, X, X, X,
    X, X, X, X, X, X, X, X, X, X, X, X, X, X, X, X, X, X, X, X, X, X, X, X, X, X, X, X, X, X, X, X,
    X, X, X, X, X, X, X, X, X, X, X, X, X, X, X, X, X, X, X, X, X, X, X, X, X, X, X, X, X, X, X, X,
    X, X, X, X, X, X, X, X, X, X, X, X, X, X, X, X, X, X, X, X, X, X, X, X, X, X, X, X, X, X, X, X,
};
#undef X

static sob_status b64_fail(sob_ledger_error *err, size_t off, const char *reason) {
    if (err) {
        err->offset = off;
        err->reason = reason;
    }
    return SOB_E_PARSE;
}

static sob_status bad_symbol(const uint8_t *s, size_t i, sob_ledger_error *err) {
    for (size_t k = 0; k < 4; k++)
        if (B64[s[i + k]] & 0x80)
            return b64_fail(err, i + k, s[i + k] == '=' ? "base64: '=' before the end" : "base64: byte outside the alphabet");
    return b64_fail(err, i, "base64: byte outside the alphabet");
}

sob_status sob_base64_decode(const char *in, size_t len, uint8_t *out, size_t *out_len, sob_ledger_error *err) {
    const uint8_t *s = (const uint8_t *)in;
    *out_len = 0;
    if (len % 4) return b64_fail(err, len, "base64: length is not a multiple of 4");
    if (len == 0) return SOB_OK;
    size_t full = len - 4; /* every quad but the last has no padding */
    size_t i = 0, o = 0;
    for (; i < full; i += 4) {
        uint32_t a = B64[s[i]], b = B64[s[i + 1]], c = B64[s[i + 2]], d = B64[s[i + 3]];
        if ((a | b | c | d) & 0x80) return bad_symbol(s, i, err);
        uint32_t v = a << 18 | b << 12 | c << 6 | d;
        out[o] = (uint8_t)(v >> 16);
        out[o + 1] = (uint8_t)(v >> 8);
        out[o + 2] = (uint8_t)v;
        o += 3;
    }
    /* last quad: "xxxx", "xxx=" or "xx==" */
    int pad = (s[i + 3] == '=') + (s[i + 3] == '=' && s[i + 2] == '=');
    uint32_t a = B64[s[i]], b = B64[s[i + 1]];
    uint32_t c = pad >= 2 ? 0 : B64[s[i + 2]];
    uint32_t d = pad >= 1 ? 0 : B64[s[i + 3]];
    if ((a | b | c | d) & 0x80) return bad_symbol(s, i, err);
    uint32_t v = a << 18 | b << 12 | c << 6 | d;
    if (pad == 2 && (v & 0xFFFF)) return b64_fail(err, i + 1, "base64: non-zero bits after the last byte");
    if (pad == 1 && (v & 0xFF)) return b64_fail(err, i + 2, "base64: non-zero bits after the last byte");
    out[o++] = (uint8_t)(v >> 16);
    if (pad < 2) out[o++] = (uint8_t)(v >> 8);
    if (pad < 1) out[o++] = (uint8_t)v;
    *out_len = o;
    return SOB_OK;
}
