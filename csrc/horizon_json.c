/* horizon_json.c: hand-written, single-pass scanners for Horizon's JSON documents.
 *
 * Shape of the code: a tiny cursor (struct jp) with helpers for whitespace, strings, integers and a
 * validating skip; then one parser per document type that walks the object it expects and decodes
 * the fields it needs straight into integers. Unknown keys are skipped with a full JSON validation.
 * Every read is bounds-checked against the end pointer: the input is not NUL-terminated.
 *
 * Field names and JSON shapes mirror the Horizon resources in stellar/go protocols/horizon/main.go
 * (Offer, Trade, TradePrice, LiquidityPool, OrderBookSummary) and the order book action in
 * stellar-horizon internal/actions/orderbook.go.
 */
#include "horizon_json.h"

#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#if defined(__GNUC__) && defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
#define SOB_SWAR 1
#else
#define SOB_SWAR 0
#endif

#if defined(__SSE2__)
#include <emmintrin.h>
#define SOB_SSE2 1
#else
#define SOB_SSE2 0
#endif

#if defined(__GNUC__)
#define ALWAYS_INLINE inline __attribute__((always_inline))
#define LIKELY(x) __builtin_expect(!!(x), 1)
#define UNLIKELY(x) __builtin_expect(!!(x), 0)
#else
#define ALWAYS_INLINE inline
#define LIKELY(x) (x)
#define UNLIKELY(x) (x)
#endif

/* Decoded strings longer than this are never a value we keep (the longest is "CODE:ISSUER", 69). */
#define SCRATCH_CAP 128

typedef struct jp {
    const char *s, *p, *e;
    sob_parse_error *err;
    int depth;
    const char *key_at; /* opening quote of the last key read, for duplicate-key offsets */
    char scratch[SCRATCH_CAP];
    /* StrKeys already found valid in this document (direct-mapped; sk_used marks filled slots):
     * an issuer appears in every record of a page and a market maker owns many offers, and a
     * StrKey check (base32 + CRC16) costs more than scanning its record. */
    uint32_t sk_used;
    char sk[32][56];
    sob_parse_opts *opts; /* this call's settings (NULL: the defaults) */
} jp;

/* A string value: points into the input (no escapes) or into jp.scratch (decoded). `toolong` is
 * set when the decoded value did not fit the scratch buffer; len is then meaningless. */
typedef struct span {
    const char *ptr;
    size_t len;
    int toolong;
} span;

#define TRY(x)                         \
    do {                               \
        sob_status _st = (x);          \
        if (UNLIKELY(_st != SOB_OK))   \
            return _st;                \
    } while (0)

static sob_status fail_at(jp *P, const char *at, sob_status st, const char *reason) {
    if (P->err) {
        if (at < P->s) at = P->s;
        if (at > P->e) at = P->e;
        P->err->offset = (size_t)(at - P->s);
        P->err->reason = reason;
    }
    return st;
}

static sob_status fail(jp *P, sob_status st, const char *reason) {
    return fail_at(P, P->p, st, reason);
}

static sob_status eof(jp *P) {
    return fail_at(P, P->e, SOB_E_PARSE, "unexpected end of input");
}

/* ------------------------------------------------------------------------------------------ */
/* Whitespace                                                                                  */

static ALWAYS_INLINE const char *skip_ws(const char *p, const char *e) {
    while (p < e) {
        unsigned char c = (unsigned char)*p;
        if (c > ' ' || (c != ' ' && c != '\n' && c != '\r' && c != '\t')) return p;
        p++;
#if SOB_SSE2
        /* Horizon indents with runs of spaces: skip up to 16 at a time. */
        if (e - p >= 16) {
            __m128i x = _mm_loadu_si128((const __m128i *)(const void *)p);
            unsigned m = (unsigned)_mm_movemask_epi8(_mm_cmpeq_epi8(x, _mm_set1_epi8(' ')));
            if (m != 0xFFFFu) {
                p += __builtin_ctz(~m);
                continue;
            }
            p += 16;
        }
#elif SOB_SWAR
        /* Horizon indents with runs of spaces: skip up to 8 at a time. */
        if (e - p >= 8) {
            uint64_t w;
            memcpy(&w, p, 8);
            w ^= 0x2020202020202020ULL;
            if (w) {
                p += __builtin_ctzll(w) >> 3;
                continue;
            }
            p += 8;
        }
#endif
    }
    return p;
}

static inline void ws(jp *P) { P->p = skip_ws(P->p, P->e); }

/* ------------------------------------------------------------------------------------------ */
/* Strings                                                                                     */

static inline int hexval(unsigned char c) {
    if (c >= '0' && c <= '9') return c - '0';
    c |= 0x20;
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    return -1;
}

/* Reads 4 hex digits at p (caller checked 4 bytes are there). -1 if not hex. */
static inline long hex4(const char *p) {
    long v = 0;
    for (int i = 0; i < 4; i++) {
        int h = hexval((unsigned char)p[i]);
        if (h < 0) return -1;
        v = (v << 4) | h;
    }
    return v;
}

static void put_byte(char *buf, size_t *n, int *toolong, unsigned char c) {
    if (*n < SCRATCH_CAP)
        buf[*n] = (char)c;
    else
        *toolong = 1;
    (*n)++;
}

static void put_utf8(char *buf, size_t *n, int *toolong, uint32_t cp) {
    if (cp < 0x80) {
        put_byte(buf, n, toolong, (unsigned char)cp);
    } else if (cp < 0x800) {
        put_byte(buf, n, toolong, (unsigned char)(0xC0 | (cp >> 6)));
        put_byte(buf, n, toolong, (unsigned char)(0x80 | (cp & 0x3F)));
    } else if (cp < 0x10000) {
        put_byte(buf, n, toolong, (unsigned char)(0xE0 | (cp >> 12)));
        put_byte(buf, n, toolong, (unsigned char)(0x80 | ((cp >> 6) & 0x3F)));
        put_byte(buf, n, toolong, (unsigned char)(0x80 | (cp & 0x3F)));
    } else {
        put_byte(buf, n, toolong, (unsigned char)(0xF0 | (cp >> 18)));
        put_byte(buf, n, toolong, (unsigned char)(0x80 | ((cp >> 12) & 0x3F)));
        put_byte(buf, n, toolong, (unsigned char)(0x80 | ((cp >> 6) & 0x3F)));
        put_byte(buf, n, toolong, (unsigned char)(0x80 | (cp & 0x3F)));
    }
}

/* Length of the UTF-8 sequence whose lead byte (>= 0x80) is at p: 2..4, 0 if it is not valid
 * UTF-8 (RFC 3629: no overlong forms, no surrogates, nothing above U+10FFFF; the same bytes
 * Python's strict utf-8 codec refuses), -1 if the input ends inside it. JSON text is UTF-8
 * (RFC 8259 section 8.1), so a string holding other bytes is not JSON. */
static int utf8_len(const char *ps, const char *es) {
    const unsigned char *p = (const unsigned char *)ps, *e = (const unsigned char *)es;
    unsigned c = p[0], lo = 0x80, hi = 0xBF;
    int n;
    if (c >= 0xC2 && c <= 0xDF) {
        n = 2;
    } else if (c >= 0xE0 && c <= 0xEF) {
        n = 3;
        if (c == 0xE0) lo = 0xA0;      /* overlong */
        else if (c == 0xED) hi = 0x9F; /* UTF-16 surrogates */
    } else if (c >= 0xF0 && c <= 0xF4) {
        n = 4;
        if (c == 0xF0) lo = 0x90;      /* overlong */
        else if (c == 0xF4) hi = 0x8F; /* above U+10FFFF */
    } else {
        return 0;
    }
    for (int i = 1; i < n; i++) {
        if (p + i >= e) return -1;
        unsigned b = p[i];
        if (b < lo || b > hi) return 0;
        lo = 0x80;
        hi = 0xBF;
    }
    return n;
}

/* Slow path of str(): the string at P->p (its opening quote) has an escape. Decodes it into the
 * scratch buffer if decode, else only validates. Lone surrogates are an error only when decoding
 * (they cannot be turned into UTF-8); JSON's grammar itself allows them. */
static sob_status str_escaped(jp *P, span *out, int decode) {
    const char *p = P->p + 1, *e = P->e;
    size_t n = 0;
    int toolong = 0;
    for (;;) {
        if (UNLIKELY(p >= e)) return eof(P);
        unsigned char c = (unsigned char)*p;
        if (c == '"') break;
        if (UNLIKELY(c < 0x20))
            return fail_at(P, p, SOB_E_PARSE, "control character in string");
        if (UNLIKELY(c >= 0x80)) {
            int k = utf8_len(p, e);
            if (k < 0) return eof(P);
            if (k == 0) return fail_at(P, p, SOB_E_PARSE, "invalid UTF-8 in string");
            if (decode)
                for (int i = 0; i < k; i++) put_byte(P->scratch, &n, &toolong, (unsigned char)p[i]);
            p += k;
            continue;
        }
        if (c != '\\') {
            if (decode) put_byte(P->scratch, &n, &toolong, c);
            p++;
            continue;
        }
        if (UNLIKELY(e - p < 2)) return eof(P);
        unsigned char x = (unsigned char)p[1];
        unsigned char lit;
        switch (x) {
        case '"': lit = '"'; break;
        case '\\': lit = '\\'; break;
        case '/': lit = '/'; break;
        case 'b': lit = '\b'; break;
        case 'f': lit = '\f'; break;
        case 'n': lit = '\n'; break;
        case 'r': lit = '\r'; break;
        case 't': lit = '\t'; break;
        case 'u': {
            if (UNLIKELY(e - p < 6)) return eof(P);
            long u = hex4(p + 2);
            if (u < 0) return fail_at(P, p, SOB_E_PARSE, "invalid \\u escape");
            const char *esc = p;
            p += 6;
            if (!decode) continue;
            uint32_t cp = (uint32_t)u;
            if (cp >= 0xD800 && cp <= 0xDBFF) {
                /* High surrogate: a low one must follow as \uDC00..\uDFFF. */
                if (e - p < 6 || p[0] != '\\' || p[1] != 'u')
                    return fail_at(P, esc, SOB_E_PARSE, "unpaired surrogate in \\u escape");
                long lo = hex4(p + 2);
                if (lo < 0xDC00 || lo > 0xDFFF)
                    return fail_at(P, esc, SOB_E_PARSE, "unpaired surrogate in \\u escape");
                cp = 0x10000 + ((cp - 0xD800) << 10) + ((uint32_t)lo - 0xDC00);
                p += 6;
            } else if (cp >= 0xDC00 && cp <= 0xDFFF) {
                return fail_at(P, esc, SOB_E_PARSE, "unpaired surrogate in \\u escape");
            }
            put_utf8(P->scratch, &n, &toolong, cp);
            continue;
        }
        default:
            return fail_at(P, p, SOB_E_PARSE, "invalid escape in string");
        }
        if (decode) put_byte(P->scratch, &n, &toolong, lit);
        p += 2;
    }
    if (out) {
        out->ptr = P->scratch;
        out->len = n;
        out->toolong = toolong;
    }
    P->p = p + 1;
    return SOB_OK;
}

/* First byte at or after p that is '"', '\\', a control character or not ASCII (or e). */
static ALWAYS_INLINE const char *str_end(const char *p, const char *e) {
#if SOB_SSE2
    /* 16 bytes at a time; the signed compare with 0x20 also catches bytes >= 0x80. */
    while (e - p >= 16) {
        __m128i x = _mm_loadu_si128((const __m128i *)(const void *)p);
        __m128i m = _mm_or_si128(_mm_or_si128(_mm_cmpeq_epi8(x, _mm_set1_epi8('"')),
                                              _mm_cmpeq_epi8(x, _mm_set1_epi8('\\'))),
                                 _mm_cmplt_epi8(x, _mm_set1_epi8(0x20)));
        unsigned mask = (unsigned)_mm_movemask_epi8(m);
        if (mask) return p + __builtin_ctz(mask);
        p += 16;
    }
#endif
#if SOB_SWAR
    /* 8 bytes at a time (the classic haszero tricks). */
    while (e - p >= 8) {
        uint64_t w;
        memcpy(&w, p, 8);
        uint64_t q = w ^ 0x2222222222222222ULL;
        uint64_t b = w ^ 0x5C5C5C5C5C5C5C5CULL;
        uint64_t m = ((q - 0x0101010101010101ULL) & ~q) | ((b - 0x0101010101010101ULL) & ~b) |
                     ((w - 0x2020202020202020ULL) & ~w) | w; /* | w: bytes >= 0x80 */
        m &= 0x8080808080808080ULL;
        if (m) return p + (__builtin_ctzll(m) >> 3);
        p += 8;
    }
#endif
    while (p < e && *p != '"' && *p != '\\' && (unsigned char)*p >= 0x20 && (unsigned char)*p < 0x80)
        p++;
    return p;
}

/* Reads the string starting at P->p (which must be '"'). Without escapes the span points into
 * the input; with escapes it is decoded into the scratch buffer (valid until the next str()). */
static sob_status str_(jp *P, span *out, int decode) {
    const char *p = P->p + 1, *e = P->e;
    const char *start = p;
    for (;;) {
        p = str_end(p, e);
        if (UNLIKELY(p >= e)) return eof(P);
        unsigned char c = (unsigned char)*p;
        if (LIKELY(c == '"')) break;
        if (c == '\\') return str_escaped(P, out, decode);
        if (c < 0x20) return fail_at(P, p, SOB_E_PARSE, "control character in string");
        int k = utf8_len(p, e); /* c >= 0x80 */
        if (k < 0) return eof(P);
        if (k == 0) return fail_at(P, p, SOB_E_PARSE, "invalid UTF-8 in string");
        p += k;
    }
    if (out) {
        out->ptr = start;
        out->len = (size_t)(p - start);
        out->toolong = 0;
    }
    P->p = p + 1;
    return SOB_OK;
}

/* A string value we use: fails with `reason` (SOB_E_PARSE) if the value is not a string. */
static sob_status str_value(jp *P, span *out, const char *reason) {
    if (UNLIKELY(P->p >= P->e)) return eof(P);
    if (UNLIKELY(*P->p != '"')) return fail(P, SOB_E_PARSE, reason);
    return str_(P, out, 1);
}

/* ------------------------------------------------------------------------------------------ */
/* Literals, numbers and the generic validating skip                                           */

static sob_status literal(jp *P, const char *word, size_t n) {
    if ((size_t)(P->e - P->p) < n) {
        /* Distinguish a truncated literal from a wrong one. */
        if (memcmp(P->p, word, (size_t)(P->e - P->p)) == 0) return eof(P);
        return fail(P, SOB_E_PARSE, "invalid literal");
    }
    if (memcmp(P->p, word, n) != 0) return fail(P, SOB_E_PARSE, "invalid literal");
    P->p += n;
    return SOB_OK;
}

static inline int isdig(unsigned char c) { return (unsigned)(c - '0') < 10u; }

/* Validates a JSON number: -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)? */
static sob_status skip_number(jp *P) {
    const char *p = P->p, *e = P->e;
    if (p < e && *p == '-') p++;
    if (p >= e) return eof(P);
    if (*p == '0') {
        p++;
    } else if (isdig((unsigned char)*p)) {
        while (p < e && isdig((unsigned char)*p)) p++;
    } else {
        return fail_at(P, p, SOB_E_PARSE, "invalid number");
    }
    if (p < e && *p == '.') {
        p++;
        if (p >= e) return eof(P);
        if (!isdig((unsigned char)*p)) return fail_at(P, p, SOB_E_PARSE, "invalid number");
        while (p < e && isdig((unsigned char)*p)) p++;
    }
    if (p < e && (*p == 'e' || *p == 'E')) {
        p++;
        if (p < e && (*p == '+' || *p == '-')) p++;
        if (p >= e) return eof(P);
        if (!isdig((unsigned char)*p)) return fail_at(P, p, SOB_E_PARSE, "invalid number");
        while (p < e && isdig((unsigned char)*p)) p++;
    }
    P->p = p;
    return SOB_OK;
}

static sob_status enter(jp *P) {
    if (UNLIKELY(++P->depth > SOB_JSON_MAX_DEPTH))
        return fail(P, SOB_E_LIMIT, "nesting deeper than 64");
    P->p++;
    return SOB_OK;
}

/* Object/array iteration. Call with *first = 1 right after enter(); each call consumes the
 * separator (or the closer, setting *done) and, for objects, the key and its ':'. On return with
 * !*done, P->p is at the value (whitespace skipped). */
static sob_status obj_next(jp *P, int *first, span *key, int *done) {
    /* The cursor stays in a register: this runs once per key of every object. */
    const char *p = skip_ws(P->p, P->e), *e = P->e;
    if (UNLIKELY(p >= e)) return eof(P);
    char c = *p;
    if (c == '}') {
        P->p = p + 1;
        P->depth--;
        *done = 1;
        return SOB_OK;
    }
    if (!*first) {
        if (UNLIKELY(c != ',')) return fail_at(P, p, SOB_E_PARSE, "expected ',' or '}'");
        p = skip_ws(p + 1, e);
        if (UNLIKELY(p >= e)) return eof(P);
        c = *p;
    }
    *first = 0;
    if (UNLIKELY(c != '"')) return fail_at(P, p, SOB_E_PARSE, "expected a string key");
    P->key_at = p;
    /* Keys are short and plain: read them inline; escapes and odd bytes go to str_(). */
    const char *ke = str_end(p + 1, e);
    if (LIKELY(ke < e && *ke == '"')) {
        key->ptr = p + 1;
        key->len = (size_t)(ke - p - 1);
        key->toolong = 0;
        p = ke + 1;
    } else {
        P->p = p;
        TRY(str_(P, key, 1));
        p = P->p;
    }
    p = skip_ws(p, e);
    if (UNLIKELY(p >= e)) return eof(P);
    if (UNLIKELY(*p != ':')) return fail_at(P, p, SOB_E_PARSE, "expected ':'");
    p = skip_ws(p + 1, e);
    P->p = p;
    if (UNLIKELY(p >= e)) return eof(P);
    *done = 0;
    return SOB_OK;
}

static sob_status arr_next(jp *P, int *first, int *done) {
    ws(P);
    if (UNLIKELY(P->p >= P->e)) return eof(P);
    char c = *P->p;
    if (c == ']') {
        P->p++;
        P->depth--;
        *done = 1;
        return SOB_OK;
    }
    if (!*first) {
        if (UNLIKELY(c != ',')) return fail(P, SOB_E_PARSE, "expected ',' or ']'");
        P->p++;
        ws(P);
        if (UNLIKELY(P->p >= P->e)) return eof(P);
        if (UNLIKELY(*P->p == ']')) return fail(P, SOB_E_PARSE, "trailing comma in array");
    }
    *first = 0;
    *done = 0;
    return SOB_OK;
}

static sob_status skip_value(jp *P);

static sob_status skip_object(jp *P) {
    TRY(enter(P));
    int first = 1, done = 0;
    span k;
    for (;;) {
        TRY(obj_next(P, &first, &k, &done));
        if (done) return SOB_OK;
        TRY(skip_value(P));
    }
}

static sob_status skip_array(jp *P) {
    TRY(enter(P));
    int first = 1, done = 0;
    for (;;) {
        TRY(arr_next(P, &first, &done));
        if (done) return SOB_OK;
        TRY(skip_value(P));
    }
}

/* Validates and skips any JSON value at P->p. Recursion is bounded by SOB_JSON_MAX_DEPTH. */
static sob_status skip_value(jp *P) {
    if (UNLIKELY(P->p >= P->e)) return eof(P);
    switch (*P->p) {
    case '"': return str_(P, NULL, 0);
    case '{': return skip_object(P);
    case '[': return skip_array(P);
    case 't': return literal(P, "true", 4);
    case 'f': return literal(P, "false", 5);
    case 'n': return literal(P, "null", 4);
    default:
        if (*P->p == '-' || isdig((unsigned char)*P->p)) return skip_number(P);
        return fail(P, SOB_E_PARSE, "expected a JSON value");
    }
}

/* Parses a JSON integer token in [p, e) (no whitespace): -?(0|[1-9][0-9]*), which must not be
 * followed by a fraction or exponent. Saturates the magnitude and flags overflow. Returns the end
 * of the token, or NULL with *why set. */
static const char *int_token(const char *p, const char *e, int *neg, uint64_t *mag, int *ovf,
                             const char **why, const char **where) {
    *neg = 0;
    *ovf = 0;
    *mag = 0;
    if (p < e && *p == '-') {
        *neg = 1;
        p++;
    }
    if (p >= e) {
        *why = NULL; /* truncated */
        *where = e;
        return NULL;
    }
    if (!isdig((unsigned char)*p)) {
        *why = "expected an integer";
        *where = p;
        return NULL;
    }
    uint64_t v = 0;
    if (*p == '0') {
        p++;
    } else {
        while (p < e && isdig((unsigned char)*p)) {
            unsigned d = (unsigned)(*p - '0');
            if (v > (UINT64_MAX - d) / 10) *ovf = 1;
            else v = v * 10 + d;
            p++;
        }
    }
    if (p < e && (*p == '.' || *p == 'e' || *p == 'E' || isdig((unsigned char)*p))) {
        *why = "expected an integer (no fraction, exponent or leading zero)";
        *where = p;
        return NULL;
    }
    *mag = v;
    return p;
}

/* An integer value: a JSON number, or (if allow_str) a string holding the same digits, as Go's
 * `json:",string"` tag sends int64 fields (Offer.ID, TradePrice.N/D, total_trustlines).
 * Range: [lo, hi], lo >= 0; below lo or negative -> SOB_E_INVALID, above hi -> SOB_E_OVERFLOW,
 * wrong JSON type or syntax (fraction, exponent, leading zero) -> SOB_E_PARSE, all with `reason`. */
static sob_status int_value(jp *P, int allow_str, int64_t lo, uint64_t hi, int64_t *out,
                            const char *reason) {
    const char *at = P->p;
    int neg, ovf;
    uint64_t mag;
    const char *why, *where;
    if (UNLIKELY(at >= P->e)) return eof(P);
    if (*at == '"') {
        if (!allow_str) return fail(P, SOB_E_PARSE, reason);
        span s;
        TRY(str_(P, &s, 1));
        if (s.toolong || s.len == 0) return fail_at(P, at, SOB_E_PARSE, reason);
        const char *end = int_token(s.ptr, s.ptr + s.len, &neg, &mag, &ovf, &why, &where);
        if (!end || end != s.ptr + s.len) return fail_at(P, at, SOB_E_PARSE, reason);
    } else {
        const char *end = int_token(at, P->e, &neg, &mag, &ovf, &why, &where);
        if (!end) {
            if (!why) return eof(P);
            (void)where;
            return fail_at(P, at, SOB_E_PARSE, reason);
        }
        P->p = end;
    }
    /* Every integer we read is >= 0: a sign (even "-0") is a well-formed but invalid value. */
    if (neg) return fail_at(P, at, SOB_E_INVALID, reason);
    if (ovf || mag > hi) return fail_at(P, at, SOB_E_OVERFLOW, reason);
    if ((sob_i128)mag < (sob_i128)lo) return fail_at(P, at, SOB_E_INVALID, reason);
    *out = (int64_t)mag;
    return SOB_OK;
}

static sob_status bool_value(jp *P, uint8_t *out, const char *reason) {
    if (UNLIKELY(P->p >= P->e)) return eof(P);
    if (*P->p == 't') {
        TRY(literal(P, "true", 4));
        *out = 1;
    } else if (*P->p == 'f') {
        TRY(literal(P, "false", 5));
        *out = 0;
    } else {
        return fail(P, SOB_E_PARSE, reason);
    }
    return SOB_OK;
}

static sob_status amount_value(jp *P, uint64_t max, uint64_t *out, const char *reason) {
    const char *at = P->p;
    span s;
    TRY(str_value(P, &s, reason));
    if (s.toolong) return fail_at(P, at, SOB_E_PARSE, reason);
    sob_status st = sob_parse_amount(s.ptr, s.len, max, out);
    if (st == SOB_OK) return SOB_OK;
    if (st == SOB_E_OVERFLOW) return fail_at(P, at, st, reason);
    /* Name the syntax problem Horizon clients most often hit. */
    const char *dot = memchr(s.ptr, '.', s.len);
    if (dot && (size_t)(s.ptr + s.len - dot - 1) > 7) {
        int alldig = 1;
        for (const char *q = dot + 1; q < s.ptr + s.len; q++) alldig &= isdig((unsigned char)*q);
        if (alldig) return fail_at(P, at, SOB_E_PARSE, "amount has more than 7 decimals");
    }
    return fail_at(P, at, st, reason);
}

/* ------------------------------------------------------------------------------------------ */
/* Amounts, StrKeys, assets                                                                    */

sob_status sob_parse_amount(const char *s, size_t len, uint64_t max, uint64_t *out) {
    if (!s || len == 0) return SOB_E_PARSE;
    const char *p = s, *e = s + len;
    sob_u128 v = 0;
    int ovf = 0;
    const sob_u128 lim = (sob_u128)max;
    while (p < e && isdig((unsigned char)*p)) {
        v = v * 10 + (unsigned)(*p - '0');
        if (v > lim) {
            ovf = 1;
            v = lim + 1; /* keep v small; it is only reported as overflow */
        }
        p++;
    }
    if (p == s) return SOB_E_PARSE;
    unsigned frac = 0;
    if (p < e) {
        if (*p != '.') return SOB_E_PARSE;
        p++;
        while (p < e && isdig((unsigned char)*p)) {
            if (++frac > 7) return SOB_E_PARSE;
            v = v * 10 + (unsigned)(*p - '0');
            if (v > lim) {
                ovf = 1;
                v = lim + 1;
            }
            p++;
        }
        if (frac == 0 || p != e) return SOB_E_PARSE;
    }
    static const uint32_t pow10[8] = {1, 10, 100, 1000, 10000, 100000, 1000000, 10000000};
    v *= pow10[7 - frac];
    if (ovf || v > lim) return SOB_E_OVERFLOW;
    *out = (uint64_t)v;
    return SOB_OK;
}

size_t sob_format_amount(uint64_t stroops, char *buf) {
    char tmp[32];
    size_t n = 0;
    uint64_t ip = stroops / 10000000u, fp = stroops % 10000000u;
    do {
        tmp[n++] = (char)('0' + ip % 10);
        ip /= 10;
    } while (ip);
    size_t len = 0;
    while (n) buf[len++] = tmp[--n];
    buf[len++] = '.';
    for (int i = 6; i >= 0; i--) {
        buf[len + (size_t)i] = (char)('0' + fp % 10);
        fp /= 10;
    }
    len += 7;
    buf[len] = '\0';
    return len;
}

/* CRC-16/XMODEM (poly 0x1021, init 0), one table lookup per byte. crc16_table[i] is
 *     c = i << 8; repeat 8 times: c = (c & 0x8000) ? (c << 1) ^ 0x1021 : c << 1   (16 bits)
 * Constant data, not filled on first use: no initialisation race between threads. The StrKey
 * tests (valid keys from stellar/go, every one-character change refused) check both tables. */
static const uint16_t crc16_table[256] = {
    0x0000, 0x1021, 0x2042, 0x3063, 0x4084, 0x50a5, 0x60c6, 0x70e7, 0x8108, 0x9129, 0xa14a, 0xb16b,
    0xc18c, 0xd1ad, 0xe1ce, 0xf1ef, 0x1231, 0x0210, 0x3273, 0x2252, 0x52b5, 0x4294, 0x72f7, 0x62d6,
    0x9339, 0x8318, 0xb37b, 0xa35a, 0xd3bd, 0xc39c, 0xf3ff, 0xe3de, 0x2462, 0x3443, 0x0420, 0x1401,
    0x64e6, 0x74c7, 0x44a4, 0x5485, 0xa56a, 0xb54b, 0x8528, 0x9509, 0xe5ee, 0xf5cf, 0xc5ac, 0xd58d,
    0x3653, 0x2672, 0x1611, 0x0630, 0x76d7, 0x66f6, 0x5695, 0x46b4, 0xb75b, 0xa77a, 0x9719, 0x8738,
    0xf7df, 0xe7fe, 0xd79d, 0xc7bc, 0x48c4, 0x58e5, 0x6886, 0x78a7, 0x0840, 0x1861, 0x2802, 0x3823,
    0xc9cc, 0xd9ed, 0xe98e, 0xf9af, 0x8948, 0x9969, 0xa90a, 0xb92b, 0x5af5, 0x4ad4, 0x7ab7, 0x6a96,
    0x1a71, 0x0a50, 0x3a33, 0x2a12, 0xdbfd, 0xcbdc, 0xfbbf, 0xeb9e, 0x9b79, 0x8b58, 0xbb3b, 0xab1a,
    0x6ca6, 0x7c87, 0x4ce4, 0x5cc5, 0x2c22, 0x3c03, 0x0c60, 0x1c41, 0xedae, 0xfd8f, 0xcdec, 0xddcd,
    0xad2a, 0xbd0b, 0x8d68, 0x9d49, 0x7e97, 0x6eb6, 0x5ed5, 0x4ef4, 0x3e13, 0x2e32, 0x1e51, 0x0e70,
    0xff9f, 0xefbe, 0xdfdd, 0xcffc, 0xbf1b, 0xaf3a, 0x9f59, 0x8f78, 0x9188, 0x81a9, 0xb1ca, 0xa1eb,
    0xd10c, 0xc12d, 0xf14e, 0xe16f, 0x1080, 0x00a1, 0x30c2, 0x20e3, 0x5004, 0x4025, 0x7046, 0x6067,
    0x83b9, 0x9398, 0xa3fb, 0xb3da, 0xc33d, 0xd31c, 0xe37f, 0xf35e, 0x02b1, 0x1290, 0x22f3, 0x32d2,
    0x4235, 0x5214, 0x6277, 0x7256, 0xb5ea, 0xa5cb, 0x95a8, 0x8589, 0xf56e, 0xe54f, 0xd52c, 0xc50d,
    0x34e2, 0x24c3, 0x14a0, 0x0481, 0x7466, 0x6447, 0x5424, 0x4405, 0xa7db, 0xb7fa, 0x8799, 0x97b8,
    0xe75f, 0xf77e, 0xc71d, 0xd73c, 0x26d3, 0x36f2, 0x0691, 0x16b0, 0x6657, 0x7676, 0x4615, 0x5634,
    0xd94c, 0xc96d, 0xf90e, 0xe92f, 0x99c8, 0x89e9, 0xb98a, 0xa9ab, 0x5844, 0x4865, 0x7806, 0x6827,
    0x18c0, 0x08e1, 0x3882, 0x28a3, 0xcb7d, 0xdb5c, 0xeb3f, 0xfb1e, 0x8bf9, 0x9bd8, 0xabbb, 0xbb9a,
    0x4a75, 0x5a54, 0x6a37, 0x7a16, 0x0af1, 0x1ad0, 0x2ab3, 0x3a92, 0xfd2e, 0xed0f, 0xdd6c, 0xcd4d,
    0xbdaa, 0xad8b, 0x9de8, 0x8dc9, 0x7c26, 0x6c07, 0x5c64, 0x4c45, 0x3ca2, 0x2c83, 0x1ce0, 0x0cc1,
    0xef1f, 0xff3e, 0xcf5d, 0xdf7c, 0xaf9b, 0xbfba, 0x8fd9, 0x9ff8, 0x6e17, 0x7e36, 0x4e55, 0x5e74,
    0x2e93, 0x3eb2, 0x0ed1, 0x1ef0,
};
/* RFC 4648 base32: the value of each byte, 32 if it is not in the alphabet (A-Z 0-25, 2-7 26-31). */
static const uint8_t b32_table[256] = {
    32, 32, 32, 32, 32, 32, 32, 32, 32, 32, 32, 32, 32, 32, 32, 32, 32, 32, 32, 32, 32, 32, 32, 32,
    32, 32, 32, 32, 32, 32, 32, 32, 32, 32, 32, 32, 32, 32, 32, 32, 32, 32, 32, 32, 32, 32, 32, 32,
    32, 32, 26, 27, 28, 29, 30, 31, 32, 32, 32, 32, 32, 32, 32, 32, 32, 0, 1, 2, 3, 4, 5, 6,
    7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21, 22, 23, 24, 25, 32, 32, 32, 32, 32,
    32, 32, 32, 32, 32, 32, 32, 32, 32, 32, 32, 32, 32, 32, 32, 32, 32, 32, 32, 32, 32, 32, 32, 32,
    32, 32, 32, 32, 32, 32, 32, 32, 32, 32, 32, 32, 32, 32, 32, 32, 32, 32, 32, 32, 32, 32, 32, 32,
    32, 32, 32, 32, 32, 32, 32, 32, 32, 32, 32, 32, 32, 32, 32, 32, 32, 32, 32, 32, 32, 32, 32, 32,
    32, 32, 32, 32, 32, 32, 32, 32, 32, 32, 32, 32, 32, 32, 32, 32, 32, 32, 32, 32, 32, 32, 32, 32,
    32, 32, 32, 32, 32, 32, 32, 32, 32, 32, 32, 32, 32, 32, 32, 32, 32, 32, 32, 32, 32, 32, 32, 32,
    32, 32, 32, 32, 32, 32, 32, 32, 32, 32, 32, 32, 32, 32, 32, 32, 32, 32, 32, 32, 32, 32, 32, 32,
    32, 32, 32, 32, 32, 32, 32, 32, 32, 32, 32, 32, 32, 32, 32, 32,
};

/* stellar/go strkey: base32 (RFC 4648, no padding) of version byte || payload || crc16 (LE).
 * A /offers page checks two or three of these per record, so this decodes 8 characters (40 bits,
 * 5 bytes) at a time and uses a table CRC. */
int sob_strkey_account_valid(const char *s, size_t len) {
    if (!s || len != 56 || s[0] != 'G') return 0;
    uint8_t raw[35];
    for (size_t g = 0; g < 7; g++) {
        uint64_t acc = 0;
        unsigned bad = 0;
        for (size_t i = 0; i < 8; i++) {
            unsigned v = b32_table[(unsigned char)s[g * 8 + i]];
            bad |= v;
            acc = (acc << 5) | (v & 31);
        }
        if (bad & 32) return 0;
        for (int k = 0; k < 5; k++) raw[g * 5 + (size_t)k] = (uint8_t)(acc >> (32 - 8 * k));
    }
    if (raw[0] != (6 << 3)) return 0;
    uint16_t crc = 0;
    for (size_t i = 0; i < 33; i++) crc = (uint16_t)((crc << 8) ^ crc16_table[(crc >> 8) ^ raw[i]]);
    return raw[33] == (crc & 0xFF) && raw[34] == (crc >> 8);
}

static int code_valid(const char *s, size_t len) {
    if (len < 1 || len > 12) return 0;
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)s[i];
        if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9')))
            return 0;
    }
    return 1;
}

static int hex_id_valid(const char *s, size_t len) {
    if (len < 1 || len > 64) return 0;
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)s[i];
        if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return 0;
    }
    return 1;
}

/* Copies a validated span into a fixed NUL-terminated field (caller ensured len < cap). */
static void copy_span(char *dst, const span *s) {
    memcpy(dst, s->ptr, s->len);
    dst[s->len] = '\0';
}

/* sob_strkey_account_valid, remembering the StrKeys this document has already shown valid. */
static int strkey_valid_doc(jp *P, const char *s, size_t len) {
    if (len != 56) return 0;
    unsigned slot = ((unsigned char)s[1] * 7u + (unsigned char)s[2] * 3u + (unsigned char)s[3]) & 31u;
    if ((P->sk_used >> slot) & 1u && memcmp(P->sk[slot], s, 56) == 0) return 1;
    if (!sob_strkey_account_valid(s, len)) return 0;
    memcpy(P->sk[slot], s, 56);
    P->sk_used |= 1u << slot;
    return 1;
}

static sob_status account_value(jp *P, char *dst, const char *reason) {
    const char *at = P->p;
    span s;
    TRY(str_value(P, &s, reason));
    if (s.toolong || !strkey_valid_doc(P, s.ptr, s.len))
        return fail_at(P, at, SOB_E_INVALID, reason);
    copy_span(dst, &s);
    return SOB_OK;
}

/* Fixed-size string field: any 1..cap-1 decoded bytes. */
static sob_status text_value(jp *P, char *dst, size_t cap, const char *reason) {
    const char *at = P->p;
    span s;
    TRY(str_value(P, &s, reason));
    if (s.toolong || s.len == 0 || s.len >= cap) return fail_at(P, at, SOB_E_INVALID, reason);
    if (memchr(s.ptr, '\0', s.len)) return fail_at(P, at, SOB_E_INVALID, reason);
    copy_span(dst, &s);
    return SOB_OK;
}

/* Asset parts as Horizon sends them (protocols/horizon Asset, and the flat base_asset_* /
 * counter_asset_* fields of Trade). Presence is tracked so the combination is checked at the end. */
typedef struct asset_acc {
    uint8_t has_type, has_code, has_issuer;
    const char *at; /* where the asset starts, for errors */
} asset_acc;

static sob_status asset_type_value(jp *P, sob_asset *a, const char *reason) {
    const char *at = P->p;
    span s;
    TRY(str_value(P, &s, reason));
    if (s.len == 6 && memcmp(s.ptr, "native", 6) == 0) a->type = SOB_ASSET_NATIVE;
    else if (s.len == 16 && memcmp(s.ptr, "credit_alphanum4", 16) == 0)
        a->type = SOB_ASSET_CREDIT_ALPHANUM4;
    else if (s.len == 17 && memcmp(s.ptr, "credit_alphanum12", 17) == 0)
        a->type = SOB_ASSET_CREDIT_ALPHANUM12;
    else return fail_at(P, at, SOB_E_INVALID, reason);
    return SOB_OK;
}

static sob_status asset_code_value(jp *P, sob_asset *a, const char *reason) {
    const char *at = P->p;
    span s;
    TRY(str_value(P, &s, reason));
    if (s.toolong || !code_valid(s.ptr, s.len)) return fail_at(P, at, SOB_E_INVALID, reason);
    copy_span(a->code, &s);
    return SOB_OK;
}

/* The type/code/issuer combination: native has neither, credit_alphanum4 has a 1..4 char code,
 * credit_alphanum12 a 5..12 char code (core's isAssetValid), both an issuer. */
static sob_status asset_finish(jp *P, sob_asset *a, const asset_acc *acc, const char *missing_type,
                               const char *missing_code, const char *missing_issuer,
                               const char *bad_combo) {
    if (!acc->has_type) return fail_at(P, acc->at, SOB_E_PARSE, missing_type);
    if (a->type == SOB_ASSET_NATIVE) {
        if (acc->has_code || acc->has_issuer) return fail_at(P, acc->at, SOB_E_INVALID, bad_combo);
        a->code[0] = '\0';
        a->issuer[0] = '\0';
        return SOB_OK;
    }
    if (!acc->has_code) return fail_at(P, acc->at, SOB_E_PARSE, missing_code);
    if (!acc->has_issuer) return fail_at(P, acc->at, SOB_E_PARSE, missing_issuer);
    size_t cl = strlen(a->code);
    if (a->type == SOB_ASSET_CREDIT_ALPHANUM4 ? cl > 4 : cl < 5)
        return fail_at(P, acc->at, SOB_E_INVALID, bad_combo);
    return SOB_OK;
}

/* ------------------------------------------------------------------------------------------ */
/* Key tables                                                                                   */

typedef struct keydef {
    const char *name;
    size_t len;
    const char *dup;
    const char *missing;
} keydef;

#define KEY(name) {name, sizeof(name) - 1, "duplicate key \"" name "\"", "missing key \"" name "\""}

static inline int key_lookup(const keydef *tab, int n, const span *k) {
    for (int i = 0; i < n; i++)
        if (tab[i].len == k->len && memcmp(tab[i].name, k->ptr, k->len) == 0) return i;
    return -1;
}

/* Marks key i seen; a second occurrence of a key we read is an error (which one would win?). */
static inline sob_status mark(jp *P, uint64_t *seen, const keydef *tab, int i, const char *keyat) {
    uint64_t bit = (uint64_t)1 << i;
    if (UNLIKELY(*seen & bit)) return fail_at(P, keyat, SOB_E_PARSE, tab[i].dup);
    *seen |= bit;
    return SOB_OK;
}

static sob_status require(jp *P, uint64_t seen, uint64_t need, const keydef *tab, int n,
                          const char *at) {
    uint64_t miss = need & ~seen;
    if (LIKELY(!miss)) return SOB_OK;
    for (int i = 0; i < n; i++)
        if (miss & ((uint64_t)1 << i)) return fail_at(P, at, SOB_E_PARSE, tab[i].missing);
    return fail_at(P, at, SOB_E_PARSE, "missing key");
}

static sob_status expect_open(jp *P, char c, const char *reason) {
    if (UNLIKELY(P->p >= P->e)) return eof(P);
    if (UNLIKELY(*P->p != c)) return fail(P, SOB_E_PARSE, reason);
    return enter(P);
}

/* Start of a key inside the object just read by obj_next (for duplicate-key offsets). */
#define KEYAT(k) (P->key_at)

/* ------------------------------------------------------------------------------------------ */
/* Asset objects: {"asset_type":..,"asset_code":..,"asset_issuer":..}                           */

static const keydef ASSET_KEYS[] = {KEY("asset_type"), KEY("asset_code"), KEY("asset_issuer")};

static sob_status asset_object(jp *P, sob_asset *a) {
    asset_acc acc = {0, 0, 0, P->p};
    TRY(expect_open(P, '{', "asset must be an object"));
    uint64_t seen = 0;
    int first = 1, done = 0;
    span k;
    memset(a, 0, sizeof *a);
    for (;;) {
        TRY(obj_next(P, &first, &k, &done));
        if (done) break;
        const char *ka = KEYAT(k);
        int i = key_lookup(ASSET_KEYS, 3, &k);
        if (i < 0) {
            TRY(skip_value(P));
            continue;
        }
        TRY(mark(P, &seen, ASSET_KEYS, i, ka));
        switch (i) {
        case 0:
            TRY(asset_type_value(P, a, "asset_type must be native, credit_alphanum4 or credit_alphanum12"));
            acc.has_type = 1;
            break;
        case 1:
            TRY(asset_code_value(P, a, "asset_code must be 1..12 characters [A-Za-z0-9]"));
            acc.has_code = 1;
            break;
        default:
            TRY(account_value(P, a->issuer, "asset_issuer must be a valid G... StrKey"));
            acc.has_issuer = 1;
            break;
        }
    }
    return asset_finish(P, a, &acc, "missing key \"asset_type\"", "missing key \"asset_code\"",
                        "missing key \"asset_issuer\"",
                        "asset_code/asset_issuer do not match asset_type");
}

/* "native" or "CODE:ISSUER" (liquidity pool reserves; horizon protocols LiquidityPoolReserve). */
static sob_status asset_string(jp *P, sob_asset *a, const char *reason) {
    const char *at = P->p;
    span s;
    TRY(str_value(P, &s, reason));
    memset(a, 0, sizeof *a);
    if (s.toolong) return fail_at(P, at, SOB_E_INVALID, reason);
    if (s.len == 6 && memcmp(s.ptr, "native", 6) == 0) {
        a->type = SOB_ASSET_NATIVE;
        return SOB_OK;
    }
    const char *colon = memchr(s.ptr, ':', s.len);
    if (!colon) return fail_at(P, at, SOB_E_INVALID, reason);
    size_t cl = (size_t)(colon - s.ptr);
    if (!code_valid(s.ptr, cl)) return fail_at(P, at, SOB_E_INVALID, reason);
    if (!strkey_valid_doc(P, colon + 1, s.len - cl - 1))
        return fail_at(P, at, SOB_E_INVALID, reason);
    a->type = cl <= 4 ? SOB_ASSET_CREDIT_ALPHANUM4 : SOB_ASSET_CREDIT_ALPHANUM12;
    memcpy(a->code, s.ptr, cl);
    a->code[cl] = '\0';
    memcpy(a->issuer, colon + 1, 56);
    a->issuer[56] = '\0';
    return SOB_OK;
}

/* ------------------------------------------------------------------------------------------ */
/* price_r: {"n": int32 > 0, "d": int32 > 0} (horizon protocols Price: N, D int32)              */

static const keydef ND_KEYS[] = {KEY("n"), KEY("d")};

static sob_status nd_object(jp *P, int allow_str, int64_t hi, int64_t *n, int64_t *d,
                            const char *not_obj, const char *bad_n, const char *bad_d) {
    const char *at = P->p;
    TRY(expect_open(P, '{', not_obj));
    uint64_t seen = 0;
    int first = 1, done = 0;
    span k;
    for (;;) {
        TRY(obj_next(P, &first, &k, &done));
        if (done) break;
        if (k.len == 1 && (k.ptr[0] == 'n' || k.ptr[0] == 'd')) {
            int i = k.ptr[0] == 'd';
            TRY(mark(P, &seen, ND_KEYS, i, KEYAT(k)));
            TRY(int_value(P, allow_str, 1, (uint64_t)hi, i ? d : n, i ? bad_d : bad_n));
        } else {
            TRY(skip_value(P));
        }
    }
    return require(P, seen, 3, ND_KEYS, 2, at);
}

static sob_status price_r_object(jp *P, int32_t *n, int32_t *d) {
    int64_t nn = 0, dd = 0;
    TRY(nd_object(P, 0, INT32_MAX, &nn, &dd, "price_r must be an object",
                  "price_r.n must be an int32 > 0", "price_r.d must be an int32 > 0"));
    *n = (int32_t)nn;
    *d = (int32_t)dd;
    return SOB_OK;
}

/* ------------------------------------------------------------------------------------------ */
/* Growable vectors                                                                             */

static int grow(void **v, size_t *cap, size_t need, size_t elem) {
    if (need <= *cap) return 1;
    size_t nc = *cap ? *cap : 16;
    while (nc < need) {
        if (nc > SIZE_MAX / 2 / elem) return 0;
        nc *= 2;
    }
    void *nv = realloc(*v, nc * elem);
    if (!nv) return 0;
    *v = nv;
    *cap = nc;
    return 1;
}

#define GROW(vec, P)                                                                    \
    do {                                                                                \
        if (UNLIKELY((vec)->len == (vec)->cap) &&                                       \
            !grow((void **)&(vec)->v, &(vec)->cap, (vec)->len + 1, sizeof(*(vec)->v)))  \
            return fail(P, SOB_E_NOMEM, "out of memory");                               \
    } while (0)

static sob_status begin_doc(jp *P, const char *buf, size_t len, sob_parse_error *err) {
    P->s = buf;
    P->p = buf;
    P->e = buf + len;
    P->err = err;
    P->depth = 0;
    P->sk_used = 0;
    P->opts = NULL;
    if (err) {
        err->offset = 0;
        err->reason = NULL;
    }
    if (!buf && len) return fail(P, SOB_E_PARSE, "NULL input");
    if (!buf) {
        static const char empty = 0;
        P->s = P->p = P->e = &empty;
    }
    ws(P);
    return expect_open(P, '{', "expected '{' at the start of the document");
}

static sob_status end_doc(jp *P) {
    ws(P);
    if (P->p != P->e) return fail(P, SOB_E_PARSE, "trailing characters after the document");
    return SOB_OK;
}

/* ------------------------------------------------------------------------------------------ */
/* /order_book                                                                                  */

static const keydef LEVEL_KEYS[] = {KEY("price_r"), KEY("price"), KEY("amount")};

static sob_status level_object(jp *P, sob_level *lv) {
    const char *at = P->p;
    TRY(expect_open(P, '{', "order book level must be an object"));
    uint64_t seen = 0;
    int first = 1, done = 0;
    span k;
    for (;;) {
        TRY(obj_next(P, &first, &k, &done));
        if (done) break;
        int i = key_lookup(LEVEL_KEYS, 3, &k);
        if (i < 0) {
            TRY(skip_value(P));
            continue;
        }
        TRY(mark(P, &seen, LEVEL_KEYS, i, KEYAT(k)));
        if (i == 0) {
            TRY(price_r_object(P, &lv->n, &lv->d));
        } else if (i == 1) {
            /* The 7-dp `price` is derived from price_r and lossy; only its type is checked. */
            if (UNLIKELY(P->p >= P->e)) return eof(P);
            if (*P->p != '"') return fail(P, SOB_E_PARSE, "price must be a string");
            TRY(str_(P, NULL, 0));
        } else {
            TRY(amount_value(P, UINT64_MAX, &lv->amount,
                             "amount must be a decimal string of stroops (at most 7 decimals)"));
        }
    }
    return require(P, seen, 1 | 4, LEVEL_KEYS, 3, at);
}

static const uint64_t POW10[20] = {1ULL,
                                   10ULL,
                                   100ULL,
                                   1000ULL,
                                   10000ULL,
                                   100000ULL,
                                   1000000ULL,
                                   10000000ULL,
                                   100000000ULL,
                                   1000000000ULL,
                                   10000000000ULL,
                                   100000000000ULL,
                                   1000000000000ULL,
                                   10000000000000ULL,
                                   100000000000000ULL,
                                   1000000000000000ULL,
                                   10000000000000000ULL,
                                   100000000000000000ULL,
                                   1000000000000000000ULL,
                                   10000000000000000000ULL};

/* Reads a run of up to 16 ASCII digits at p into *v and returns how many there were. Runs of
 * digits end at unpredictable places, so a byte loop pays a branch miss per number: the SWAR
 * version classifies 8 bytes at once and converts them with three multiplies (the simdjson
 * "eight digits" trick). Stops before 17 digits; callers treat a long run as "not fast". */
#if SOB_SWAR
/* Number of leading ASCII digits in the 8 bytes of w (little-endian: first byte lowest). */
static ALWAYS_INLINE unsigned lead_digits8(uint64_t w) {
    uint64_t hi = w & 0xF0F0F0F0F0F0F0F0ULL;
    /* +6 carries only out of non-digit bytes, so it can only disturb bytes after one */
    uint64_t hi6 = (w + 0x0606060606060606ULL) & 0xF0F0F0F0F0F0F0F0ULL;
    uint64_t nd = (hi ^ 0x3030303030303030ULL) | (hi6 ^ 0x3030303030303030ULL);
    /* high bit of each byte that is not a digit */
    uint64_t m = (((nd & 0x7F7F7F7F7F7F7F7FULL) + 0x7F7F7F7F7F7F7F7FULL) | nd) & 0x8080808080808080ULL;
    return m ? (unsigned)__builtin_ctzll(m) >> 3 : 8;
}

/* Value of the first k (0..8) digits of w, with three multiplies (simdjson's "eight digits"). */
static ALWAYS_INLINE uint64_t conv_digits8(uint64_t w, unsigned k) {
    uint64_t x = (w - 0x3030303030303030ULL) << ((8 * (8 - k)) & 63);
    x = k ? x : 0;
    x = (x * 10) + (x >> 8);
    x = (((x & 0x000000FF000000FFULL) * (100 + (1000000ULL << 32))) +
         (((x >> 16) & 0x000000FF000000FFULL) * (1 + (10000ULL << 32)))) >>
        32;
    return x;
}
#endif

/* Reads a run of up to 16 ASCII digits at p into *v and returns how many there were. Runs of
 * digits end at unpredictable places, so a byte loop pays a branch miss per number: this
 * classifies and converts 16 bytes without data-dependent branches. A return of 16 means "16 or
 * more"; callers treat long runs as "not fast". */
static ALWAYS_INLINE unsigned digits16(const char *p, const char *e, uint64_t *v) {
#if SOB_SWAR
    if (LIKELY(e - p >= 16)) {
        uint64_t w1, w2;
        memcpy(&w1, p, 8);
        memcpy(&w2, p + 8, 8);
        unsigned k1 = lead_digits8(w1);
        unsigned k2 = lead_digits8(w2);
        k2 = k1 == 8 ? k2 : 0;
        *v = conv_digits8(w1, k1) * POW10[k2] + conv_digits8(w2, k2);
        return k1 + k2;
    }
#endif
    uint64_t acc = 0;
    unsigned n = 0;
    while (p < e && n < 16 && isdig((unsigned char)*p)) {
        acc = acc * 10 + (uint64_t)(*p++ - '0');
        n++;
    }
    *v = acc;
    return n;
}

/* Where the variable parts of a level sit: [lvl, n0) "n digits" [n1, d0) "d digits" [d1, p0)
 * "price text" [p1, a0) "amount text" [a1, end). The fixed segments between them are, for a
 * document written by one serializer, the same bytes in every level of a side. */
typedef struct lvl_shape {
    const char *lvl, *n0, *n1, *d0, *d1, *p0, *p1, *a0, *a1, *end;
} lvl_shape;

/* The fixed segments of the previous level, used as a template for the next one. */
typedef struct lvl_tpl {
    const char *seg[5];
    uint32_t len[5];
    size_t fixed; /* sum of len[] */
    int ok;
} lvl_tpl;

static ALWAYS_INLINE int seg_eq(const char *p, const char *t, uint32_t n) {
    if (n >= 8) {
        uint32_t i = 0;
        for (; i + 8 <= n; i += 8) {
            uint64_t a, b;
            memcpy(&a, p + i, 8);
            memcpy(&b, t + i, 8);
            if (a != b) return 0;
        }
        if (i < n) { /* overlapping last word */
            uint64_t a, b;
            memcpy(&a, p + n - 8, 8);
            memcpy(&b, t + n - 8, 8);
            if (a != b) return 0;
        }
        return 1;
    }
    if (n >= 4) {
        uint32_t a, b, c, d;
        memcpy(&a, p, 4);
        memcpy(&b, t, 4);
        memcpy(&c, p + n - 4, 4);
        memcpy(&d, t + n - 4, 4);
        return a == b && c == d;
    }
    for (uint32_t i = 0; i < n; i++)
        if (p[i] != t[i]) return 0;
    return 1;
}

/* An amount written as 1..12 digits, optionally '.' and 1..7 digits (the fast-path subset of
 * sob_parse_amount: < 10^19 stroops, so no overflow check is needed). NULL if not that shape. */
static ALWAYS_INLINE const char *amount_fast(const char *p, const char *e, uint64_t *out) {
    uint64_t v, f = 0;
    unsigned k = digits16(p, e, &v);
    if (k == 0 || k > 12) return NULL;
    p += k;
    unsigned frac = 0;
    if (p < e && *p == '.') {
        p++;
        frac = digits16(p, e, &f);
        if (frac == 0 || frac > 7) return NULL;
        p += frac;
    }
    *out = v * 10000000ULL + f * POW10[7 - frac];
    return p;
}

/* A positive int32 without leading zeros; NULL if not that. */
static ALWAYS_INLINE const char *pos_i32_fast(const char *p, const char *e, int32_t *out) {
    if (p >= e || *p < '1' || *p > '9') return NULL;
    uint64_t v;
    unsigned k = digits16(p, e, &v);
    if (k > 10 || v > INT32_MAX) return NULL;
    *out = (int32_t)v;
    return p + k;
}

/* Fast path for one level written the way Horizon writes it: keys price_r{n,d}, price, amount in
 * that order (Go struct order), any whitespace, no escapes, amount with < 13 integer digits.
 * Returns the end of the level (and its shape), or NULL to let level_object() re-read it (and
 * report errors). Accepts nothing level_object() would reject. */
static const char *level_fast(const char *p, const char *e, sob_level *lv, lvl_shape *sh) {
#define WS() p = skip_ws(p, e)
#define LIT(str)                                                              \
    do {                                                                      \
        if ((size_t)(e - p) < sizeof(str) - 1 || memcmp(p, str, sizeof(str) - 1)) \
            return NULL;                                                      \
        p += sizeof(str) - 1;                                                 \
    } while (0)
#define CH(ch)                          \
    do {                                \
        WS();                           \
        if (p >= e || *p != (ch)) return NULL; \
        p++;                            \
    } while (0)
    sh->lvl = p; /* at '{' */
    p++;
    WS();
    LIT("\"price_r\"");
    CH(':');
    CH('{');
    WS();
    LIT("\"n\"");
    CH(':');
    WS();
    sh->n0 = p;
    if (!(p = pos_i32_fast(p, e, &lv->n))) return NULL;
    sh->n1 = p;
    CH(',');
    WS();
    LIT("\"d\"");
    CH(':');
    WS();
    sh->d0 = p;
    if (!(p = pos_i32_fast(p, e, &lv->d))) return NULL;
    sh->d1 = p;
    CH('}');
    CH(',');
    WS();
    LIT("\"price\"");
    CH(':');
    CH('"');
    sh->p0 = p;
    p = str_end(p, e);
    if (p >= e || *p != '"') return NULL;
    sh->p1 = p;
    p++;
    CH(',');
    WS();
    LIT("\"amount\"");
    CH(':');
    CH('"');
    sh->a0 = p;
    if (!(p = amount_fast(p, e, &lv->amount))) return NULL;
    if (p >= e || *p != '"') return NULL;
    sh->a1 = p;
    p++;
    CH('}');
    sh->end = p;
    return p;
#undef WS
#undef LIT
#undef CH
}

static void tpl_learn(lvl_tpl *t, const lvl_shape *sh) {
    t->seg[0] = sh->lvl;
    t->len[0] = (uint32_t)(sh->n0 - sh->lvl);
    t->seg[1] = sh->n1;
    t->len[1] = (uint32_t)(sh->d0 - sh->n1);
    t->seg[2] = sh->d1;
    t->len[2] = (uint32_t)(sh->p0 - sh->d1);
    t->seg[3] = sh->p1;
    t->len[3] = (uint32_t)(sh->a0 - sh->p1);
    t->seg[4] = sh->a1;
    t->len[4] = (uint32_t)(sh->end - sh->a1);
    t->fixed = (size_t)t->len[0] + t->len[1] + t->len[2] + t->len[3] + t->len[4];
    t->ok = 1;
}

/* A level laid out byte for byte like the previous one, apart from its numbers and price text.
 * The fixed segments were validated when learnt, each variable part is validated here, and each
 * segment starts with a byte that cannot continue the variable part before it, so this accepts
 * exactly what level_fast() would. */
static ALWAYS_INLINE const char *level_tpl(const char *p, const char *e, const lvl_tpl *t,
                                           sob_level *lv) {
    /* The longest a level can be with these segments: 10+10 digits, 20 amount bytes, and the
     * price text which is bounded separately. */
    if ((size_t)(e - p) < t->fixed + 64) return NULL;
    if (!seg_eq(p, t->seg[0], t->len[0])) return NULL;
    p += t->len[0];
    if (!(p = pos_i32_fast(p, e, &lv->n))) return NULL;
    if (!seg_eq(p, t->seg[1], t->len[1])) return NULL;
    p += t->len[1];
    if (!(p = pos_i32_fast(p, e, &lv->d))) return NULL;
    if ((size_t)(e - p) < t->len[2] || !seg_eq(p, t->seg[2], t->len[2])) return NULL;
    p += t->len[2];
    p = str_end(p, e);
    if (p >= e || *p != '"' || (size_t)(e - p) < (size_t)t->len[3] + 40) return NULL;
    if (!seg_eq(p, t->seg[3], t->len[3])) return NULL;
    p += t->len[3];
    if (!(p = amount_fast(p, e, &lv->amount))) return NULL;
    if ((size_t)(e - p) < t->len[4] || !seg_eq(p, t->seg[4], t->len[4])) return NULL;
    return p + t->len[4];
}

static sob_status levels_array(jp *P, sob_levels *out, const char *not_arr) {
    TRY(expect_open(P, '[', not_arr));
    out->len = 0;
    int first = 1, done = 0;
    lvl_tpl tpl = {{NULL}, {0}, 0, 0};
    for (;;) {
        GROW(out, P);
        sob_level *lv = &out->v[out->len];
        /* Steady state: "," + whitespace + a level, byte for byte like the previous pair. */
        if (LIKELY(tpl.ok)) {
            const char *end = level_tpl(P->p, P->e, &tpl, lv);
            if (LIKELY(end != NULL)) {
                P->p = end;
                out->len++;
                continue;
            }
        }
        const char *sep = P->p;
        int was_first = first;
        TRY(arr_next(P, &first, &done));
        if (done) return SOB_OK;
        lvl_shape sh;
        const char *end = *P->p == '{' ? level_fast(P->p, P->e, lv, &sh) : NULL;
        if (LIKELY(end != NULL)) {
            /* Learn from a level after a ',' so the template carries the separator. */
            if (!was_first) {
                sh.lvl = sep;
                tpl_learn(&tpl, &sh);
            }
            P->p = end;
        } else {
            TRY(level_object(P, lv));
        }
        out->len++;
    }
}

void sob_order_book_doc_init(sob_order_book_doc *doc) { memset(doc, 0, sizeof *doc); }

void sob_order_book_doc_free(sob_order_book_doc *doc) {
    free(doc->bids.v);
    free(doc->asks.v);
    memset(doc, 0, sizeof *doc);
}

static const keydef BOOK_KEYS[] = {KEY("bids"), KEY("asks"), KEY("base"), KEY("counter")};

sob_status sob_parse_order_book(const char *buf, size_t len, sob_order_book_doc *out,
                                sob_parse_error *err) {
    jp P_, *P = &P_;
    TRY(begin_doc(P, buf, len, err));
    const char *at = P->s;
    out->bids.len = 0;
    out->asks.len = 0;
    uint64_t seen = 0;
    int first = 1, done = 0;
    span k;
    for (;;) {
        TRY(obj_next(P, &first, &k, &done));
        if (done) break;
        int i = key_lookup(BOOK_KEYS, 4, &k);
        if (i < 0) {
            TRY(skip_value(P));
            continue;
        }
        TRY(mark(P, &seen, BOOK_KEYS, i, KEYAT(k)));
        switch (i) {
        case 0: TRY(levels_array(P, &out->bids, "bids must be an array")); break;
        case 1: TRY(levels_array(P, &out->asks, "asks must be an array")); break;
        case 2: TRY(asset_object(P, &out->base)); break;
        default: TRY(asset_object(P, &out->counter)); break;
        }
    }
    TRY(require(P, seen, 15, BOOK_KEYS, 4, at));
    return end_doc(P);
}

/* ------------------------------------------------------------------------------------------ */
/* Pages: {"_links":..,"_embedded":{"records":[...]}} or a single record. Each record parser is
 * written as "handle one key" so the same code reads the record at the top level.             */

typedef sob_status (*rec_key_fn)(jp *P, void *rec, uint64_t *seen, const span *k, const char *keyat,
                                 int *handled);
typedef sob_status (*rec_done_fn)(jp *P, void *rec, uint64_t seen, const char *at);

/* Learning a record template (see records_array): what a key's value is, given the object it is
 * in. Returns a slot kind (SL_*) for a value read in place, or TPL_DESCEND with *child set for an
 * object or array whose own values are classified in turn, or TPL_FIXED for a literal that stays
 * part of the fixed bytes, or TPL_REFUSE. */
typedef int (*rec_classify_fn)(int ctx, const char *key, size_t klen, char first, int *child,
                               uint16_t *off);

typedef struct rec_kind {
    rec_key_fn key;
    rec_done_fn done;
    void (*reset)(void *rec);
    rec_classify_fn classify; /* NULL: records of this kind are always read by the general path */
} rec_kind;

typedef union any_rec {
    sob_offer_rec offer;
    sob_trade_rec trade;
    sob_pool_rec pool;
} any_rec;

typedef struct vec_any {
    void **v;
    size_t *len, *cap;
    size_t elem;
} vec_any;

/* ------------------------------------------------------------------------------------------ */
/* Record templates. A page's records are written by one serializer, so apart from their values
 * they are byte for byte alike (keys, punctuation, indentation). After a record is read by the
 * general path, its fixed bytes become a template: the next record is checked segment by segment
 * with memcmp-like compares and only its values are read, each with the same validation the
 * general path applies. Anything else (another key order, other whitespace, an optional key
 * present or absent, an escape, a value the fast readers do not take) makes the template miss,
 * and the record is read again by the general path, which gives the same result or the same
 * error. As with the /order_book levels, each fixed segment starts with a byte that cannot
 * continue the value before it, so a value is read exactly as the general path would read it. */

enum {
    SL_SKIPSTR,   /* any string, only validated */
    SL_SKIPNUM,   /* any JSON number, only validated */
    SL_I64S,      /* integer 0..INT64_MAX, JSON number or string of digits -> int64_t */
    SL_ACCOUNT,   /* G... StrKey string -> char[57] */
    SL_ASSET,     /* asset object -> sob_asset */
    SL_AMOUNT63,  /* amount string <= INT64_MAX stroops -> uint64_t */
    SL_I32POS,    /* JSON integer 1..INT32_MAX -> int32_t */
    SL_U32,       /* JSON integer 0..UINT32_MAX -> uint32_t */
    TPL_DESCEND = 100,
    TPL_FIXED,
    TPL_REFUSE
};

/* Classifier contexts shared by all kinds. */
enum { CTX_RECORD, CTX_OTHER, CTX_FIRST_KIND };

#define TPL_MAX_SLOTS 40

typedef struct tpl_slot {
    uint8_t kind;
    uint16_t off; /* byte offset of the destination in the record */
} tpl_slot;

typedef struct rec_tpl {
    int ok, n; /* n slots, n + 1 fixed segments */
    const char *seg[TPL_MAX_SLOTS + 1];
    uint32_t len[TPL_MAX_SLOTS + 1];
    tpl_slot slot[TPL_MAX_SLOTS];
    size_t fixed; /* sum of len[] */
    /* The record bytes no slot writes (padding, absent fields), zeroed instead of the whole
     * record when there are at most TPL_MAX_GAPS of them; ngaps < 0: reset the whole record. */
    int ngaps;
    uint16_t gap_off[4], gap_len[4];
} rec_tpl;
#define TPL_MAX_GAPS 4

/* Asset objects seen in this array, as text (a page has few distinct assets). */
#define ACACHE_N 4
typedef struct asset_cache {
    int n, next;
    const char *txt[ACACHE_N];
    uint32_t len[ACACHE_N];
    sob_asset a[ACACHE_N];
} asset_cache;

/* ---- learning ---- */

typedef struct tpl_learner {
    rec_tpl *t;
    rec_classify_fn classify;
    const char *last; /* end of the previous slot: where the current fixed segment starts */
    const char *e;
    int depth;
} tpl_learner;

/* End of the (valid) string at p, its opening quote; NULL if it runs past e. */
static const char *lrn_str_end(const char *p, const char *e) {
    p++;
    for (;;) {
        p = str_end(p, e);
        if (p >= e) return NULL;
        if (*p == '"') return p + 1;
        p += *p == '\\' ? 2 : 1;
    }
}

static const char *lrn_num_end(const char *p, const char *e) {
    while (p < e && (isdig((unsigned char)*p) || *p == '-' || *p == '+' || *p == '.' || *p == 'e' ||
                     *p == 'E'))
        p++;
    return p;
}

/* End of the (valid) object or array at p. */
static const char *lrn_compound_end(const char *p, const char *e) {
    int d = 0;
    while (p < e) {
        char c = *p;
        if (c == '"') {
            p = lrn_str_end(p, e);
            if (!p) return NULL;
            continue;
        }
        if (c == '{' || c == '[') d++;
        else if ((c == '}' || c == ']') && --d == 0) return p + 1;
        p++;
    }
    return NULL;
}

static int lrn_slot(tpl_learner *L, const char *v0, const char *v1, int kind, uint16_t off) {
    rec_tpl *t = L->t;
    if (t->n == TPL_MAX_SLOTS || v0 <= L->last) return 0;
    t->seg[t->n] = L->last;
    t->len[t->n] = (uint32_t)(v0 - L->last);
    t->slot[t->n].kind = (uint8_t)kind;
    t->slot[t->n].off = off;
    t->n++;
    L->last = v1;
    return 1;
}

static const char *lrn_compound(tpl_learner *L, int ctx, const char *p);

/* A value at p in context ctx under key (NULL in arrays). */
static const char *lrn_value(tpl_learner *L, int ctx, const char *key, size_t klen, const char *p) {
    const char *e = L->e;
    if (p >= e) return NULL;
    char c = *p;
    int child = CTX_OTHER;
    uint16_t off = 0;
    int k;
    if (key) {
        k = L->classify(ctx, key, klen, c, &child, &off);
    } else {
        k = c == '"' ? SL_SKIPSTR : c == '{' || c == '[' ? TPL_DESCEND
                                    : c == 't' || c == 'f' || c == 'n' ? TPL_FIXED : SL_SKIPNUM;
        child = ctx;
    }
    switch (k) {
    case TPL_REFUSE: return NULL;
    case TPL_FIXED:
        if (c == 't' || c == 'n') return p + 4;
        if (c == 'f') return p + 5;
        return NULL;
    case TPL_DESCEND:
        if (c != '{' && c != '[') return NULL;
        return lrn_compound(L, child, p);
    case SL_ASSET: {
        if (c != '{') return NULL;
        const char *end = lrn_compound_end(p, e);
        return end && lrn_slot(L, p, end, k, off) ? end : NULL;
    }
    case SL_SKIPSTR:
    case SL_ACCOUNT:
    case SL_AMOUNT63: {
        if (c != '"') return NULL;
        const char *end = lrn_str_end(p, e);
        return end && lrn_slot(L, p, end, k, off) ? end : NULL;
    }
    case SL_I64S: {
        const char *end = c == '"' ? lrn_str_end(p, e) : lrn_num_end(p, e);
        return end && lrn_slot(L, p, end, k, off) ? end : NULL;
    }
    default: { /* numbers */
        if (c != '-' && !isdig((unsigned char)c)) return NULL;
        const char *end = lrn_num_end(p, e);
        return lrn_slot(L, p, end, k, off) ? end : NULL;
    }
    }
}

/* The (valid) object or array at p: its keys and punctuation stay fixed, its values are
 * classified. Keys with escapes are not learnt (the classifier compares raw bytes). */
static const char *lrn_compound(tpl_learner *L, int ctx, const char *p) {
    const char *e = L->e;
    char close = *p == '{' ? '}' : ']';
    int obj = *p == '{';
    if (++L->depth > SOB_JSON_MAX_DEPTH) return NULL;
    p++;
    for (;;) {
        p = skip_ws(p, e);
        if (p >= e) return NULL;
        if (*p == close) {
            L->depth--;
            return p + 1;
        }
        if (*p == ',') p = skip_ws(p + 1, e);
        const char *key = NULL;
        size_t klen = 0;
        if (obj) {
            if (p >= e || *p != '"') return NULL;
            const char *ke = str_end(p + 1, e);
            if (ke >= e || *ke != '"') return NULL;
            key = p + 1;
            klen = (size_t)(ke - key);
            p = skip_ws(ke + 1, e);
            if (p >= e || *p != ':') return NULL;
            p = skip_ws(p + 1, e);
        }
        p = lrn_value(L, ctx, key, klen, p);
        if (!p) return NULL;
    }
}

static size_t slot_size(int kind) {
    switch (kind) {
    case SL_I64S:
    case SL_AMOUNT63: return 8;
    case SL_ACCOUNT: return 57;
    case SL_ASSET: return sizeof(sob_asset);
    case SL_I32POS:
    case SL_U32: return 4;
    default: return 0;
    }
}

/* Learns the template of the record [rec, end) that the general path has just read; sep (<= rec)
 * is where the ',' before it starts (the separator and whitespace are then part of the first
 * fixed segment). rec_size: the size of a record, whose reset must be all zero bytes. */
static void rec_tpl_learn(rec_tpl *t, rec_classify_fn classify, const char *sep, const char *rec,
                          const char *end, size_t rec_size) {
    tpl_learner L = {t, classify, sep, end, 0};
    t->ok = 0;
    t->n = 0;
    if (*rec != '{') return;
    const char *p = lrn_compound(&L, CTX_RECORD, rec);
    if (p != end) return;
    t->seg[t->n] = L.last;
    t->len[t->n] = (uint32_t)(end - L.last);
    size_t fixed = 0;
    for (int i = 0; i <= t->n; i++) fixed += t->len[i];
    t->fixed = fixed;
    /* which bytes of the record the slots write */
    uint8_t w[512];
    t->ngaps = -1;
    if (rec_size <= sizeof w) {
        memset(w, 0, rec_size);
        for (int i = 0; i < t->n; i++) {
            size_t sz = slot_size(t->slot[i].kind);
            if (sz) memset(w + t->slot[i].off, 1, sz);
        }
        int g = 0;
        for (size_t i = 0; i < rec_size && g >= 0;) {
            if (w[i]) {
                i++;
                continue;
            }
            size_t j = i;
            while (j < rec_size && !w[j]) j++;
            if (g == TPL_MAX_GAPS) {
                g = -1;
                break;
            }
            t->gap_off[g] = (uint16_t)i;
            t->gap_len[g] = (uint16_t)(j - i);
            g++;
            i = j;
        }
        t->ngaps = g;
    }
    t->ok = 1;
}

/* ---- matching ---- */

static ALWAYS_INLINE int seg_eq_any(const char *p, const char *t, uint32_t n) {
#if SOB_SSE2
    if (n >= 16) {
        uint32_t i = 0;
        for (; i + 16 <= n; i += 16) {
            __m128i a = _mm_loadu_si128((const __m128i *)(const void *)(p + i));
            __m128i b = _mm_loadu_si128((const __m128i *)(const void *)(t + i));
            if (_mm_movemask_epi8(_mm_cmpeq_epi8(a, b)) != 0xFFFF) return 0;
        }
        if (i < n) {
            __m128i a = _mm_loadu_si128((const __m128i *)(const void *)(p + n - 16));
            __m128i b = _mm_loadu_si128((const __m128i *)(const void *)(t + n - 16));
            if (_mm_movemask_epi8(_mm_cmpeq_epi8(a, b)) != 0xFFFF) return 0;
        }
        return 1;
    }
#endif
    return seg_eq(p, t, n);
}

/* Digits of an integer without leading zeros ("0" alone is fine) at p: its value (up to 19
 * digits, so no overflow) and end; NULL if none or too many. */
static ALWAYS_INLINE const char *uint_fast(const char *p, const char *e, uint64_t *v) {
    if (p >= e || !isdig((unsigned char)*p)) return NULL;
    if (*p == '0') {
        *v = 0;
        return p + 1;
    }
    uint64_t a, b = 0;
    unsigned k = digits16(p, e, &a);
    if (k == 16) {
        unsigned k2 = digits16(p + 16, e, &b);
        if (k2 > 3) return NULL;
        a = a * POW10[k2] + b;
        k += k2;
    }
    *v = a;
    return p + k;
}

/* A string with nothing to decode (no escapes); NULL otherwise. */
static ALWAYS_INLINE const char *skipstr_fast(const char *p, const char *e) {
    if (p >= e || *p != '"') return NULL;
    p++;
    for (;;) {
        p = str_end(p, e);
        if (p >= e) return NULL;
        if (LIKELY(*p == '"')) return p + 1;
        if ((unsigned char)*p < 0x80) return NULL; /* escape or control character */
        int k = utf8_len(p, e);
        if (k <= 0) return NULL;
        p += k;
    }
}

/* A JSON number (any), only validated. */
static const char *skipnum_fast(const char *p, const char *e) {
    if (p < e && *p == '-') p++;
    if (p >= e || !isdig((unsigned char)*p)) return NULL;
    if (*p == '0') p++;
    else
        while (p < e && isdig((unsigned char)*p)) p++;
    if (p < e && *p == '.') {
        p++;
        if (p >= e || !isdig((unsigned char)*p)) return NULL;
        while (p < e && isdig((unsigned char)*p)) p++;
    }
    if (p < e && (*p == 'e' || *p == 'E')) {
        p++;
        if (p < e && (*p == '+' || *p == '-')) p++;
        if (p >= e || !isdig((unsigned char)*p)) return NULL;
        while (p < e && isdig((unsigned char)*p)) p++;
    }
    return p;
}

static const char *asset_fast(jp *P, asset_cache *c, const char *p, int depth, sob_asset *out) {
    const char *e = P->e;
    for (int i = 0; i < c->n; i++) {
        if ((size_t)(e - p) >= c->len[i] && seg_eq_any(p, c->txt[i], c->len[i])) {
            *out = c->a[i];
            return p + c->len[i];
        }
    }
    /* Not seen yet: read it as the general path would (errors are left to the general path). */
    sob_parse_error *err = P->err;
    P->err = NULL;
    P->p = p;
    P->depth = depth;
    sob_status st = asset_object(P, out);
    P->err = err;
    if (st != SOB_OK) return NULL;
    int i = c->n < ACACHE_N ? c->n++ : (c->next++ % ACACHE_N);
    c->txt[i] = p;
    c->len[i] = (uint32_t)(P->p - p);
    c->a[i] = *out;
    return P->p;
}

/* Reads the record at p if it matches the template; returns its end, or NULL (rec is then
 * unspecified and the record must be read by the general path). depth: that of the record's
 * own members. */
static const char *tpl_match(jp *P, const rec_tpl *t, asset_cache *ac, const rec_kind *kind,
                             const char *p, int depth, void *recv) {
    const char *e = P->e;
    char *rec = recv;
    if ((size_t)(e - p) < t->fixed) return NULL;
    if (t->ngaps >= 0)
        for (int g = 0; g < t->ngaps; g++) memset(rec + t->gap_off[g], 0, t->gap_len[g]);
    else
        kind->reset(recv);
    for (int i = 0; i < t->n; i++) {
        uint32_t n = t->len[i];
        if (UNLIKELY((size_t)(e - p) < n) || !seg_eq_any(p, t->seg[i], n)) return NULL;
        p += n;
        char *dst = rec + t->slot[i].off;
        uint64_t v;
        switch (t->slot[i].kind) {
        case SL_SKIPSTR: p = skipstr_fast(p, e); break;
        case SL_SKIPNUM: p = skipnum_fast(p, e); break;
        case SL_I64S:
            if (p < e && *p == '"') {
                p = uint_fast(p + 1, e, &v);
                if (!p || p >= e || *p != '"') return NULL;
                p++;
            } else {
                p = uint_fast(p, e, &v);
            }
            if (!p || v > (uint64_t)INT64_MAX) return NULL;
            {
                int64_t iv = (int64_t)v;
                memcpy(dst, &iv, sizeof iv);
            }
            break;
        case SL_ACCOUNT:
            if ((size_t)(e - p) < 58 || p[0] != '"' || p[57] != '"' || !strkey_valid_doc(P, p + 1, 56))
                return NULL;
            memcpy(dst, p + 1, 56);
            dst[56] = '\0';
            p += 58;
            break;
        case SL_ASSET: p = asset_fast(P, ac, p, depth, (sob_asset *)(void *)dst); break;
        case SL_AMOUNT63:
            if (p >= e || *p != '"') return NULL;
            p = amount_fast(p + 1, e, &v);
            if (!p || p >= e || *p != '"' || v > (uint64_t)INT64_MAX) return NULL;
            memcpy(dst, &v, sizeof v);
            p++;
            break;
        case SL_I32POS: {
            int32_t x;
            p = pos_i32_fast(p, e, &x);
            if (p) memcpy(dst, &x, sizeof x);
            break;
        }
        default: /* SL_U32 */
            p = uint_fast(p, e, &v);
            if (!p || v > UINT32_MAX) return NULL;
            {
                uint32_t x = (uint32_t)v;
                memcpy(dst, &x, sizeof x);
            }
            break;
        }
        if (UNLIKELY(!p)) return NULL;
    }
    uint32_t n = t->len[t->n];
    if ((size_t)(e - p) < n || !seg_eq_any(p, t->seg[t->n], n)) return NULL;
    return p + n;
}

static sob_status record_object(jp *P, const rec_kind *kind, void *rec) {
    const char *at = P->p;
    uint64_t seen = 0;
    TRY(expect_open(P, '{', "record must be an object"));
    kind->reset(rec);
    int first = 1, done = 0, handled = 0;
    span k;
    for (;;) {
        TRY(obj_next(P, &first, &k, &done));
        if (done) break;
        TRY(kind->key(P, rec, &seen, &k, KEYAT(k), &handled));
        if (!handled) TRY(skip_value(P));
    }
    return kind->done(P, rec, seen, at);
}

static sob_status records_array(jp *P, const rec_kind *kind, vec_any *vec) {
    TRY(expect_open(P, '[', "_embedded.records must be an array"));
    int first = 1, done = 0;
    const int depth = P->depth;
    rec_tpl tpl;
    tpl.ok = 0;
    asset_cache ac;
    ac.n = ac.next = 0;
    /* Templates stop being learnt when records keep missing them (a page with no two records
     * alike would pay for learning on every record). */
    int use_tpl = kind->classify != NULL && !(P->opts && P->opts->no_templates), hits = 0, misses = 0;
#define REC_SLOT()                                                                               \
    do {                                                                                         \
        if (UNLIKELY(*vec->len == *vec->cap) && !grow(vec->v, vec->cap, *vec->len + 1, vec->elem)) \
            return fail(P, SOB_E_NOMEM, "out of memory");                                        \
        rec = (char *)*vec->v + *vec->len * vec->elem;                                           \
    } while (0)
    for (;;) {
        void *rec;
        /* Steady state: "," + whitespace + a record, byte for byte like the previous pair. */
        const char *sep = P->p;
        if (tpl.ok) {
            REC_SLOT();
            const char *end = tpl_match(P, &tpl, &ac, kind, sep, depth + 1, rec);
            P->depth = depth;
            if (LIKELY(end != NULL)) {
                P->p = end;
                (*vec->len)++;
                hits++;
                continue;
            }
            P->p = sep;
        }
        int was_first = first;
        TRY(arr_next(P, &first, &done));
        if (done) {
            if (P->opts) P->opts->tpl_hits += (size_t)hits;
            return SOB_OK;
        }
        misses += tpl.ok;
        REC_SLOT();
        const char *start = P->p;
        TRY(record_object(P, kind, rec));
        (*vec->len)++;
        /* Learnt from a record after a ',' so the template carries the separator. */
        if (use_tpl && !was_first) {
            rec_tpl_learn(&tpl, kind->classify, sep, start, P->p, vec->elem);
            if (misses > 4 && misses > hits) use_tpl = tpl.ok = 0;
        }
    }
#undef REC_SLOT
}

static sob_status embedded_object(jp *P, const rec_kind *kind, vec_any *vec) {
    const char *at = P->p;
    TRY(expect_open(P, '{', "_embedded must be an object"));
    int first = 1, done = 0, have = 0;
    span k;
    for (;;) {
        TRY(obj_next(P, &first, &k, &done));
        if (done) break;
        if (k.len == 7 && memcmp(k.ptr, "records", 7) == 0) {
            if (have) return fail_at(P, KEYAT(k), SOB_E_PARSE, "duplicate key \"records\"");
            have = 1;
            TRY(records_array(P, kind, vec));
        } else {
            TRY(skip_value(P));
        }
    }
    if (!have) return fail_at(P, at, SOB_E_PARSE, "missing key \"_embedded.records\"");
    return SOB_OK;
}

/* The document: a page if it has _embedded, else one record. A record's own keys next to
 * _embedded make it ambiguous, so that is an error. */
static sob_status page_or_record(const char *buf, size_t len, sob_parse_error *err,
                                 sob_parse_opts *opts, const rec_kind *kind, vec_any *vec) {
    jp P_, *P = &P_;
    TRY(begin_doc(P, buf, len, err));
    P->opts = opts;
    *vec->len = 0;
    /* The single-record candidate is kept aside until we know what the document is. */
    any_rec tmp;
    void *rec = &tmp;
    uint64_t seen = 0;
    kind->reset(rec);
    int first = 1, done = 0, handled = 0, page = 0, record_keys = 0;
    span k;
    for (;;) {
        TRY(obj_next(P, &first, &k, &done));
        if (done) break;
        if (k.len == 9 && memcmp(k.ptr, "_embedded", 9) == 0) {
            if (page) return fail_at(P, KEYAT(k), SOB_E_PARSE, "duplicate key \"_embedded\"");
            if (record_keys)
                return fail_at(P, KEYAT(k), SOB_E_PARSE, "both _embedded and record keys");
            page = 1;
            TRY(embedded_object(P, kind, vec));
            continue;
        }
        const char *ka = KEYAT(k);
        TRY(kind->key(P, rec, &seen, &k, ka, &handled));
        if (handled) {
            if (page) return fail_at(P, ka, SOB_E_PARSE, "both _embedded and record keys");
            record_keys = 1;
        } else {
            TRY(skip_value(P));
        }
    }
    if (!page) {
        TRY(kind->done(P, rec, seen, P->s));
        if (!grow(vec->v, vec->cap, 1, vec->elem)) return fail(P, SOB_E_NOMEM, "out of memory");
        memcpy(*vec->v, rec, vec->elem);
        *vec->len = 1;
    }
    return end_doc(P);
}

/* ------------------------------------------------------------------------------------------ */
/* /offers records (horizon protocols Offer)                                                   */

static const keydef OFFER_KEYS[] = {KEY("id"),     KEY("seller"),  KEY("selling"),
                                    KEY("buying"), KEY("amount"),  KEY("price_r"),
                                    KEY("price"),  KEY("last_modified_ledger")};
#define OFFER_NEED 0x3Fu

static void offer_reset(void *rec) { memset(rec, 0, sizeof(sob_offer_rec)); }

static sob_status offer_key(jp *P, void *recv, uint64_t *seen, const span *k, const char *ka,
                            int *handled) {
    sob_offer_rec *r = recv;
    int i = key_lookup(OFFER_KEYS, 8, k);
    *handled = i >= 0;
    if (i < 0) return SOB_OK;
    TRY(mark(P, seen, OFFER_KEYS, i, ka));
    int64_t v;
    switch (i) {
    case 0:
        TRY(int_value(P, 1, 0, INT64_MAX, &v, "offer id must be an integer 0..INT64_MAX"));
        r->id = v;
        break;
    case 1: TRY(account_value(P, r->seller, "seller must be a valid G... StrKey")); break;
    case 2: TRY(asset_object(P, &r->selling)); break;
    case 3: TRY(asset_object(P, &r->buying)); break;
    case 4:
        TRY(amount_value(P, INT64_MAX, &r->amount,
                         "amount must be a decimal string <= 922337203685.4775807"));
        break;
    case 5: TRY(price_r_object(P, &r->n, &r->d)); break;
    case 6:
        if (UNLIKELY(P->p >= P->e)) return eof(P);
        if (*P->p != '"') return fail(P, SOB_E_PARSE, "price must be a string");
        TRY(str_(P, NULL, 0));
        break;
    default:
        TRY(int_value(P, 0, 0, UINT32_MAX, &v, "last_modified_ledger must be a uint32"));
        r->last_modified_ledger = (uint32_t)v;
        break;
    }
    return SOB_OK;
}

static sob_status offer_done(jp *P, void *rec, uint64_t seen, const char *at) {
    (void)rec;
    return require(P, seen, OFFER_NEED, OFFER_KEYS, 8, at);
}

enum { CTX_PRICE_R = CTX_FIRST_KIND };

#define KEYIS(lit) (klen == sizeof(lit) - 1 && memcmp(key, lit, sizeof(lit) - 1) == 0)

/* Mirrors offer_key() and price_r_object(): which values a template reads and where to. */
static int offer_classify(int ctx, const char *key, size_t klen, char first, int *child,
                          uint16_t *off) {
    *child = CTX_OTHER;
    if (ctx == CTX_RECORD) {
        if (KEYIS("id")) return *off = offsetof(sob_offer_rec, id), SL_I64S;
        if (KEYIS("seller")) return *off = offsetof(sob_offer_rec, seller), SL_ACCOUNT;
        if (KEYIS("selling")) return *off = offsetof(sob_offer_rec, selling), SL_ASSET;
        if (KEYIS("buying")) return *off = offsetof(sob_offer_rec, buying), SL_ASSET;
        if (KEYIS("amount")) return *off = offsetof(sob_offer_rec, amount), SL_AMOUNT63;
        if (KEYIS("price_r")) return *child = CTX_PRICE_R, TPL_DESCEND;
        if (KEYIS("price")) return SL_SKIPSTR;
        if (KEYIS("last_modified_ledger"))
            return *off = offsetof(sob_offer_rec, last_modified_ledger), SL_U32;
    } else if (ctx == CTX_PRICE_R) {
        if (KEYIS("n")) return *off = offsetof(sob_offer_rec, n), SL_I32POS;
        if (KEYIS("d")) return *off = offsetof(sob_offer_rec, d), SL_I32POS;
    }
    /* any other key: its value is only validated */
    if (first == '"') return SL_SKIPSTR;
    if (first == '{' || first == '[') return TPL_DESCEND;
    if (first == 't' || first == 'f' || first == 'n') return TPL_FIXED;
    return SL_SKIPNUM;
}

static const rec_kind OFFER_KIND = {offer_key, offer_done, offer_reset, offer_classify};

void sob_offers_init(sob_offers *o) { memset(o, 0, sizeof *o); }
void sob_offers_free(sob_offers *o) {
    free(o->v);
    memset(o, 0, sizeof *o);
}

sob_status sob_parse_offers_opts(const char *buf, size_t len, sob_offers *out, sob_parse_error *err,
                                 sob_parse_opts *opts) {
    vec_any vec = {(void **)&out->v, &out->len, &out->cap, sizeof(sob_offer_rec)};
    return page_or_record(buf, len, err, opts, &OFFER_KIND, &vec);
}

sob_status sob_parse_offers(const char *buf, size_t len, sob_offers *out, sob_parse_error *err) {
    return sob_parse_offers_opts(buf, len, out, err, NULL);
}

/* ------------------------------------------------------------------------------------------ */
/* /trades records (horizon protocols Trade; TradePrice N/D are int64 sent as strings)         */

/* RFC 3339 as Go's time.Time marshals it: YYYY-MM-DDTHH:MM:SS[.frac](Z|+HH:MM|-HH:MM). */
static int parse_time(const char *s, size_t len, int64_t *out) {
    const char *p = s, *e = s + len;
#define DIGITS(var, n)                                                  \
    do {                                                                \
        var = 0;                                                        \
        for (int _i = 0; _i < (n); _i++) {                              \
            if (p >= e || !isdig((unsigned char)*p)) return 0;          \
            var = var * 10 + (*p++ - '0');                              \
        }                                                               \
    } while (0)
#define CH(c)                            \
    do {                                 \
        if (p >= e || *p != (c)) return 0; \
        p++;                             \
    } while (0)
    int64_t y, mo, d, h, mi, sec;
    DIGITS(y, 4);
    CH('-');
    DIGITS(mo, 2);
    CH('-');
    DIGITS(d, 2);
    if (p >= e || (*p != 'T' && *p != 't')) return 0;
    p++;
    DIGITS(h, 2);
    CH(':');
    DIGITS(mi, 2);
    CH(':');
    DIGITS(sec, 2);
    if (p < e && *p == '.') {
        p++;
        if (p >= e || !isdig((unsigned char)*p)) return 0;
        while (p < e && isdig((unsigned char)*p)) p++; /* sub-second part dropped */
    }
    int64_t off = 0;
    if (p < e && (*p == 'Z' || *p == 'z')) {
        p++;
    } else if (p < e && (*p == '+' || *p == '-')) {
        int sign = *p == '-' ? -1 : 1;
        int64_t oh, om;
        p++;
        DIGITS(oh, 2);
        CH(':');
        DIGITS(om, 2);
        if (oh > 23 || om > 59) return 0;
        off = sign * (oh * 3600 + om * 60);
    } else {
        return 0;
    }
    if (p != e) return 0;
#undef DIGITS
#undef CH
    static const int mdays[12] = {31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    if (mo < 1 || mo > 12 || d < 1 || d > mdays[mo - 1] || h > 23 || mi > 59 || sec > 60) return 0;
    int leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    if (mo == 2 && d == 29 && !leap) return 0;
    /* days_from_civil (H. Hinnant). */
    int64_t yy = y - (mo <= 2);
    int64_t era = (yy >= 0 ? yy : yy - 399) / 400;
    int64_t yoe = yy - era * 400;
    int64_t doy = (153 * (mo + (mo > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    int64_t days = era * 146097 + doe - 719468;
    *out = days * 86400 + h * 3600 + mi * 60 + sec - off;
    return 1;
}

enum {
    T_ID, T_PT, T_TIME, T_TYPE, T_FEE, T_BOFF, T_COFF, T_BACC, T_CACC, T_BLP, T_CLP,
    T_BAMT, T_CAMT, T_BTYPE, T_BCODE, T_BISS, T_CTYPE, T_CCODE, T_CISS, T_SELLER, T_PRICE,
    T_NKEYS
};

static const keydef TRADE_KEYS[T_NKEYS] = {
    KEY("id"),
    KEY("paging_token"),
    KEY("ledger_close_time"),
    KEY("trade_type"),
    KEY("liquidity_pool_fee_bp"),
    KEY("base_offer_id"),
    KEY("counter_offer_id"),
    KEY("base_account"),
    KEY("counter_account"),
    KEY("base_liquidity_pool_id"),
    KEY("counter_liquidity_pool_id"),
    KEY("base_amount"),
    KEY("counter_amount"),
    KEY("base_asset_type"),
    KEY("base_asset_code"),
    KEY("base_asset_issuer"),
    KEY("counter_asset_type"),
    KEY("counter_asset_code"),
    KEY("counter_asset_issuer"),
    KEY("base_is_seller"),
    KEY("price"),
};

#define BIT(i) ((uint64_t)1 << (i))
#define TRADE_NEED                                                                             \
    (BIT(T_ID) | BIT(T_PT) | BIT(T_TIME) | BIT(T_BAMT) | BIT(T_CAMT) | BIT(T_BTYPE) |            \
     BIT(T_CTYPE) | BIT(T_SELLER) | BIT(T_PRICE))

static void trade_reset(void *rec) {
    sob_trade_rec *r = rec;
    memset(r, 0, sizeof *r);
    r->lp_fee_bp = -1;
}

static sob_status pool_id_value(jp *P, char *dst, const char *reason) {
    const char *at = P->p;
    span s;
    TRY(str_value(P, &s, reason));
    if (s.toolong || !hex_id_valid(s.ptr, s.len)) return fail_at(P, at, SOB_E_INVALID, reason);
    copy_span(dst, &s);
    return SOB_OK;
}

static sob_status trade_key(jp *P, void *recv, uint64_t *seen, const span *k, const char *ka,
                            int *handled) {
    sob_trade_rec *r = recv;
    int i = key_lookup(TRADE_KEYS, T_NKEYS, k);
    *handled = i >= 0;
    if (i < 0) return SOB_OK;
    TRY(mark(P, seen, TRADE_KEYS, i, ka));
    int64_t v;
    const char *at = P->p;
    span s;
    switch (i) {
    case T_ID: TRY(text_value(P, r->id, sizeof r->id, "id must be a string of 1..47 bytes")); break;
    case T_PT:
        TRY(text_value(P, r->paging_token, sizeof r->paging_token,
                       "paging_token must be a string of 1..47 bytes"));
        break;
    case T_TIME:
        TRY(str_value(P, &s, "ledger_close_time must be a string"));
        if (s.toolong || !parse_time(s.ptr, s.len, &r->ledger_close_time))
            return fail_at(P, at, SOB_E_INVALID, "ledger_close_time must be an RFC 3339 time");
        break;
    case T_TYPE:
        TRY(str_value(P, &s, "trade_type must be a string"));
        if (s.len == 9 && memcmp(s.ptr, "orderbook", 9) == 0) r->trade_type = SOB_TRADE_ORDERBOOK;
        else if (s.len == 14 && memcmp(s.ptr, "liquidity_pool", 14) == 0)
            r->trade_type = SOB_TRADE_LIQUIDITY_POOL;
        else return fail_at(P, at, SOB_E_INVALID, "trade_type must be orderbook or liquidity_pool");
        break;
    case T_FEE:
        TRY(int_value(P, 0, 0, INT32_MAX, &v, "liquidity_pool_fee_bp must be an integer >= 0"));
        r->lp_fee_bp = (int32_t)v;
        break;
    case T_BOFF:
        TRY(int_value(P, 1, 0, INT64_MAX, &r->base_offer_id,
                      "base_offer_id must be an integer 0..INT64_MAX"));
        break;
    case T_COFF:
        TRY(int_value(P, 1, 0, INT64_MAX, &r->counter_offer_id,
                      "counter_offer_id must be an integer 0..INT64_MAX"));
        break;
    case T_BACC: TRY(account_value(P, r->base_account, "base_account must be a valid G... StrKey")); break;
    case T_CACC:
        TRY(account_value(P, r->counter_account, "counter_account must be a valid G... StrKey"));
        break;
    case T_BLP:
        TRY(pool_id_value(P, r->base_liquidity_pool_id, "base_liquidity_pool_id must be hex"));
        break;
    case T_CLP:
        TRY(pool_id_value(P, r->counter_liquidity_pool_id, "counter_liquidity_pool_id must be hex"));
        break;
    case T_BAMT:
        TRY(amount_value(P, INT64_MAX, &r->base_amount,
                         "base_amount must be a decimal string <= 922337203685.4775807"));
        break;
    case T_CAMT:
        TRY(amount_value(P, INT64_MAX, &r->counter_amount,
                         "counter_amount must be a decimal string <= 922337203685.4775807"));
        break;
    case T_BTYPE:
        TRY(asset_type_value(P, &r->base_asset, "base_asset_type must be native, credit_alphanum4 or credit_alphanum12"));
        break;
    case T_CTYPE:
        TRY(asset_type_value(P, &r->counter_asset, "counter_asset_type must be native, credit_alphanum4 or credit_alphanum12"));
        break;
    case T_BCODE:
        TRY(asset_code_value(P, &r->base_asset, "base_asset_code must be 1..12 characters [A-Za-z0-9]"));
        break;
    case T_CCODE:
        TRY(asset_code_value(P, &r->counter_asset, "counter_asset_code must be 1..12 characters [A-Za-z0-9]"));
        break;
    case T_BISS:
        TRY(account_value(P, r->base_asset.issuer, "base_asset_issuer must be a valid G... StrKey"));
        break;
    case T_CISS:
        TRY(account_value(P, r->counter_asset.issuer, "counter_asset_issuer must be a valid G... StrKey"));
        break;
    case T_SELLER: TRY(bool_value(P, &r->base_is_seller, "base_is_seller must be true or false")); break;
    default:
        TRY(nd_object(P, 1, INT64_MAX, &r->price_n, &r->price_d, "price must be an object {n, d}",
                      "price.n must be an integer > 0 that fits int64",
                      "price.d must be an integer > 0 that fits int64"));
        break;
    }
    return SOB_OK;
}

static sob_status trade_done(jp *P, void *recv, uint64_t seen, const char *at) {
    sob_trade_rec *r = recv;
    TRY(require(P, seen, TRADE_NEED, TRADE_KEYS, T_NKEYS, at));
    asset_acc b = {1, (seen & BIT(T_BCODE)) != 0, (seen & BIT(T_BISS)) != 0, at};
    asset_acc c = {1, (seen & BIT(T_CCODE)) != 0, (seen & BIT(T_CISS)) != 0, at};
    TRY(asset_finish(P, &r->base_asset, &b, "missing key \"base_asset_type\"",
                     "missing key \"base_asset_code\"", "missing key \"base_asset_issuer\"",
                     "base_asset_code/base_asset_issuer do not match base_asset_type"));
    TRY(asset_finish(P, &r->counter_asset, &c, "missing key \"counter_asset_type\"",
                     "missing key \"counter_asset_code\"", "missing key \"counter_asset_issuer\"",
                     "counter_asset_code/counter_asset_issuer do not match counter_asset_type"));
    return SOB_OK;
}

static const rec_kind TRADE_KIND = {trade_key, trade_done, trade_reset, NULL};

void sob_trades_init(sob_trades *t) { memset(t, 0, sizeof *t); }
void sob_trades_free(sob_trades *t) {
    free(t->v);
    memset(t, 0, sizeof *t);
}

sob_status sob_parse_trades(const char *buf, size_t len, sob_trades *out, sob_parse_error *err) {
    vec_any vec = {(void **)&out->v, &out->len, &out->cap, sizeof(sob_trade_rec)};
    return page_or_record(buf, len, err, NULL, &TRADE_KIND, &vec);
}

/* ------------------------------------------------------------------------------------------ */
/* /liquidity_pools records (horizon protocols LiquidityPool; total_trustlines is ",string")   */

enum { L_ID, L_FEE, L_TRUST, L_SHARES, L_RES, L_NKEYS };
static const keydef POOL_KEYS[L_NKEYS] = {KEY("id"), KEY("fee_bp"), KEY("total_trustlines"),
                                          KEY("total_shares"), KEY("reserves")};
static const keydef RESERVE_KEYS[] = {KEY("asset"), KEY("amount")};

static void pool_reset(void *rec) { memset(rec, 0, sizeof(sob_pool_rec)); }

static sob_status reserve_object(jp *P, sob_asset *a, uint64_t *amount) {
    const char *at = P->p;
    TRY(expect_open(P, '{', "reserve must be an object"));
    uint64_t seen = 0;
    int first = 1, done = 0;
    span k;
    for (;;) {
        TRY(obj_next(P, &first, &k, &done));
        if (done) break;
        int i = key_lookup(RESERVE_KEYS, 2, &k);
        if (i < 0) {
            TRY(skip_value(P));
            continue;
        }
        TRY(mark(P, &seen, RESERVE_KEYS, i, KEYAT(k)));
        if (i == 0)
            TRY(asset_string(P, a, "reserve asset must be \"native\" or \"CODE:ISSUER\""));
        else
            TRY(amount_value(P, INT64_MAX, amount,
                             "reserve amount must be a decimal string <= 922337203685.4775807"));
    }
    return require(P, seen, 3, RESERVE_KEYS, 2, at);
}

static sob_status reserves_array(jp *P, sob_pool_rec *r) {
    const char *at = P->p;
    TRY(expect_open(P, '[', "reserves must be an array"));
    int first = 1, done = 0, n = 0;
    for (;;) {
        TRY(arr_next(P, &first, &done));
        if (done) break;
        if (n == 2) return fail(P, SOB_E_INVALID, "a pool has exactly two reserves");
        TRY(reserve_object(P, &r->reserve_asset[n], &r->reserve_amount[n]));
        n++;
    }
    if (n != 2) return fail_at(P, at, SOB_E_INVALID, "a pool has exactly two reserves");
    return SOB_OK;
}

static sob_status pool_key(jp *P, void *recv, uint64_t *seen, const span *k, const char *ka,
                           int *handled) {
    sob_pool_rec *r = recv;
    int i = key_lookup(POOL_KEYS, L_NKEYS, k);
    *handled = i >= 0;
    if (i < 0) return SOB_OK;
    TRY(mark(P, seen, POOL_KEYS, i, ka));
    int64_t v;
    switch (i) {
    case L_ID: TRY(pool_id_value(P, r->id, "liquidity pool id must be 1..64 lowercase hex")); break;
    case L_FEE:
        TRY(int_value(P, 0, 0, INT32_MAX, &v, "fee_bp must be an integer >= 0"));
        r->fee_bp = (int32_t)v;
        break;
    case L_TRUST:
        TRY(int_value(P, 1, 0, INT64_MAX, &v, "total_trustlines must be an integer >= 0"));
        r->total_trustlines = (uint64_t)v;
        break;
    case L_SHARES:
        TRY(amount_value(P, INT64_MAX, &r->total_shares,
                         "total_shares must be a decimal string <= 922337203685.4775807"));
        break;
    default: TRY(reserves_array(P, r)); break;
    }
    return SOB_OK;
}

static sob_status pool_done(jp *P, void *rec, uint64_t seen, const char *at) {
    (void)rec;
    return require(P, seen, BIT(L_NKEYS) - 1, POOL_KEYS, L_NKEYS, at);
}

static const rec_kind POOL_KIND = {pool_key, pool_done, pool_reset, NULL};

void sob_pools_init(sob_pools *p) { memset(p, 0, sizeof *p); }
void sob_pools_free(sob_pools *p) {
    free(p->v);
    memset(p, 0, sizeof *p);
}

sob_status sob_parse_liquidity_pools(const char *buf, size_t len, sob_pools *out,
                                     sob_parse_error *err) {
    vec_any vec = {(void **)&out->v, &out->len, &out->cap, sizeof(sob_pool_rec)};
    return page_or_record(buf, len, err, NULL, &POOL_KIND, &vec);
}
