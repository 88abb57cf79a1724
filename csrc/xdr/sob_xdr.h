/* sob_xdr.h: the bounds-checked big-endian XDR cursor the generated code (stellar_xdr_gen.c) and
 * the ledger decoder (ledger.c) read with.
 *
 * Every reader returns 0 on success or -1 after recording why (c->reason, a static string) and
 * where (c->err_off, the byte offset from c->base). A cursor never reads outside [c->p, c->end):
 * each length is compared with the bytes that remain before anything is read or skipped.
 * Plain C11, no Python.h.
 */
#ifndef SOB_XDR_H
#define SOB_XDR_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

/* Nesting bound for the recursive types (SCVal, SorobanAuthorizedInvocation, ClaimPredicate, ...):
 * each entry into a recursive type's function counts one level. Bounded so that no input can
 * exhaust the C stack; real ledgers nest a few levels. */
#ifndef SOB_XDR_MAX_DEPTH
#define SOB_XDR_MAX_DEPTH 256
#endif

typedef struct sob_xdr_cur {
    const uint8_t *p;    /* next byte to read */
    const uint8_t *end;  /* one past the last readable byte */
    const uint8_t *base; /* start of the caller's input: offsets are counted from here */
    const char *reason;  /* set on error (static string) */
    size_t err_off;      /* set on error: byte offset from base */
    unsigned depth;      /* current nesting of recursive types */
} sob_xdr_cur;

/* A validated value kept as bytes: offset from the input's start and length. */
typedef struct sob_xdr_span {
    uint32_t off;
    uint32_t len;
} sob_xdr_span;

static inline void sob_xdr_init(sob_xdr_cur *c, const uint8_t *base, size_t len) {
    c->p = base;
    c->end = base + len;
    c->base = base;
    c->reason = NULL;
    c->err_off = 0;
    c->depth = 0;
}

static inline size_t sob_xdr_left(const sob_xdr_cur *c) { return (size_t)(c->end - c->p); }

#if defined(__GNUC__)
#define SOB_XDR_COLD __attribute__((cold, noinline, unused))
#define SOB_XDR_UNLIKELY(x) __builtin_expect(!!(x), 0)
#else
#define SOB_XDR_COLD
#define SOB_XDR_UNLIKELY(x) (x)
#endif

/* Out of line and cold so the hot paths stay small; the inline wrappers return -1 visibly so the
 * compiler knows no value is read after a failed read. */
SOB_XDR_COLD static void sob_xdr_record_error(sob_xdr_cur *c, const uint8_t *at, const char *reason) {
    c->reason = reason;
    c->err_off = (size_t)(at - c->base);
}

static inline int sob_xdr_fail(sob_xdr_cur *c, const uint8_t *at, const char *reason) {
    sob_xdr_record_error(c, at, reason);
    return -1;
}

/* Truncation is reported at the end of the input: that is where the missing bytes start. */
static inline int sob_xdr_truncated(sob_xdr_cur *c) {
    return sob_xdr_fail(c, c->end, "truncated: the input ends inside a value");
}

static inline uint32_t sob_xdr_be32(const uint8_t *p) {
    uint32_t v;
    memcpy(&v, p, 4);
#if defined(__GNUC__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
    return __builtin_bswap32(v);
#elif defined(__GNUC__) && __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
    return v;
#else
    return ((uint32_t)p[0] << 24) | ((uint32_t)p[1] << 16) | ((uint32_t)p[2] << 8) | p[3];
#endif
}

static inline uint64_t sob_xdr_be64(const uint8_t *p) {
    return ((uint64_t)sob_xdr_be32(p) << 32) | sob_xdr_be32(p + 4);
}

static inline int sob_xdr_skip(sob_xdr_cur *c, size_t n) {
    if (SOB_XDR_UNLIKELY(sob_xdr_left(c) < n)) return sob_xdr_truncated(c);
    c->p += n;
    return 0;
}

static inline int sob_xdr_u32(sob_xdr_cur *c, uint32_t *v) {
    if (SOB_XDR_UNLIKELY(sob_xdr_left(c) < 4)) {
        *v = 0; /* never read by callers; keeps -Wmaybe-uninitialized quiet */
        return sob_xdr_truncated(c);
    }
    *v = sob_xdr_be32(c->p);
    c->p += 4;
    return 0;
}

static inline int sob_xdr_u64(sob_xdr_cur *c, uint64_t *v) {
    if (SOB_XDR_UNLIKELY(sob_xdr_left(c) < 8)) {
        *v = 0;
        return sob_xdr_truncated(c);
    }
    *v = sob_xdr_be64(c->p);
    c->p += 8;
    return 0;
}

static inline int sob_xdr_skip_bool(sob_xdr_cur *c) {
    uint32_t v;
    if (sob_xdr_u32(c, &v)) return -1;
    if (SOB_XDR_UNLIKELY(v > 1)) return sob_xdr_fail(c, c->p - 4, "bool is not 0 or 1");
    return 0;
}

/* The presence flag of an optional (T*): 0 or 1. */
static inline int sob_xdr_optional(sob_xdr_cur *c, uint32_t *flag) {
    if (sob_xdr_u32(c, flag)) return -1;
    if (SOB_XDR_UNLIKELY(*flag > 1)) return sob_xdr_fail(c, c->p - 4, "optional flag is not 0 or 1");
    return 0;
}

/* XDR pads opaque data and strings to a multiple of 4 with zero bytes; anything else is refused. */
static inline int sob_xdr_pad(sob_xdr_cur *c, uint32_t len) {
    uint32_t pad = (4u - (len & 3u)) & 3u;
    if (pad) {
        const uint8_t *q = c->p - pad;
        for (uint32_t i = 0; i < pad; i++)
            if (SOB_XDR_UNLIKELY(q[i] != 0)) return sob_xdr_fail(c, q + i, "non-zero padding byte");
    }
    return 0;
}

static inline int sob_xdr_skip_opaque_fixed(sob_xdr_cur *c, uint32_t n) {
    size_t padded = ((size_t)n + 3u) & ~(size_t)3u;
    if (SOB_XDR_UNLIKELY(sob_xdr_left(c) < padded)) return sob_xdr_truncated(c);
    c->p += padded;
    return sob_xdr_pad(c, n);
}

static inline int sob_xdr_opaque_fixed(sob_xdr_cur *c, uint8_t *dst, uint32_t n) {
    const uint8_t *src = c->p;
    if (sob_xdr_skip_opaque_fixed(c, n)) return -1;
    memcpy(dst, src, n);
    return 0;
}

static inline int sob_xdr_var_len(sob_xdr_cur *c, uint32_t max, uint32_t *len, const char *too_long) {
    const uint8_t *at = c->p;
    if (sob_xdr_u32(c, len)) return -1;
    if (SOB_XDR_UNLIKELY(*len > max)) return sob_xdr_fail(c, at, too_long);
    size_t padded = ((size_t)*len + 3u) & ~(size_t)3u;
    if (SOB_XDR_UNLIKELY(sob_xdr_left(c) < padded))
        return sob_xdr_fail(c, at, "length runs past the end of the input");
    c->p += padded;
    return sob_xdr_pad(c, *len);
}

static inline int sob_xdr_skip_opaque_var(sob_xdr_cur *c, uint32_t max) {
    uint32_t len;
    return sob_xdr_var_len(c, max, &len, "opaque longer than its declared maximum");
}

/* XDR strings are length-prefixed bytes like opaque; their content is not interpreted here. */
static inline int sob_xdr_skip_string(sob_xdr_cur *c, uint32_t max) {
    uint32_t len;
    return sob_xdr_var_len(c, max, &len, "string longer than its declared maximum");
}

/* A variable-length array's count: at most `max`, and at most what the remaining bytes can hold
 * at `min_elem` bytes per element (so a count can never make the caller loop or allocate beyond
 * the input's size). When every element is exactly min_elem bytes, count * min_elem <= left. */
static inline int sob_xdr_array_len(sob_xdr_cur *c, uint32_t max, uint32_t min_elem, uint32_t *n) {
    const uint8_t *at = c->p;
    if (sob_xdr_u32(c, n)) return -1;
    if (SOB_XDR_UNLIKELY(*n > max)) return sob_xdr_fail(c, at, "array longer than its declared maximum");
    if (SOB_XDR_UNLIKELY((uint64_t)*n * min_elem > sob_xdr_left(c)))
        return sob_xdr_fail(c, at, "array length runs past the end of the input");
    return 0;
}

static inline int sob_xdr_enter(sob_xdr_cur *c) {
    if (SOB_XDR_UNLIKELY(++c->depth > SOB_XDR_MAX_DEPTH))
        return sob_xdr_fail(c, c->p, "nesting deeper than SOB_XDR_MAX_DEPTH");
    return 0;
}

#endif
