/* horizon_json_lex.c: the JSON cursor and the value readers of the Horizon scanner.
 *
 * A tiny cursor (struct jp, horizon_json_internal.h) with helpers for whitespace, strings,
 * integers and a validating skip; then the readers of the values Horizon documents carry
 * (integers, amounts, StrKeys, assets, price_r), each failing with the byte offset and a static
 * reason. Every read is bounds-checked against the end pointer: the input is not NUL-terminated.
 *
 * Field names and JSON shapes mirror the Horizon resources in stellar/go protocols/horizon/main.go
 * (Offer, Trade, TradePrice, LiquidityPool, OrderBookSummary) and the order book action in
 * stellar-horizon internal/actions/orderbook.go.
 */
#include "horizon_json_internal.h"

sob_status hj_fail_at(jp *P, const char *at, sob_status st, const char *reason) {
    if (P->err) {
        if (at < P->s) at = P->s;
        if (at > P->e) at = P->e;
        P->err->offset = (size_t)(at - P->s);
        P->err->reason = reason;
    }
    return st;
}

sob_status hj_fail(jp *P, sob_status st, const char *reason) {
    return hj_fail_at(P, P->p, st, reason);
}

sob_status hj_eof(jp *P) {
    return hj_fail_at(P, P->e, SOB_E_PARSE, "unexpected end of input");
}

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
int hj_utf8_len(const char *ps, const char *es) {
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

/* Slow path of hj_str(): the string at P->p (its opening quote) has an escape. Decodes it into the
 * scratch buffer if decode, else only validates. Lone surrogates are an error only when decoding
 * (they cannot be turned into UTF-8); JSON's grammar itself allows them. */
static sob_status str_escaped(jp *P, span *out, int decode) {
    const char *p = P->p + 1, *e = P->e;
    size_t n = 0;
    int toolong = 0;
    for (;;) {
        if (UNLIKELY(p >= e)) return hj_eof(P);
        unsigned char c = (unsigned char)*p;
        if (c == '"') break;
        if (UNLIKELY(c < 0x20))
            return hj_fail_at(P, p, SOB_E_PARSE, "control character in string");
        if (UNLIKELY(c >= 0x80)) {
            int k = hj_utf8_len(p, e);
            if (k < 0) return hj_eof(P);
            if (k == 0) return hj_fail_at(P, p, SOB_E_PARSE, "invalid UTF-8 in string");
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
        if (UNLIKELY(e - p < 2)) return hj_eof(P);
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
            if (UNLIKELY(e - p < 6)) return hj_eof(P);
            long u = hex4(p + 2);
            if (u < 0) return hj_fail_at(P, p, SOB_E_PARSE, "invalid \\u escape");
            const char *esc = p;
            p += 6;
            if (!decode) continue;
            uint32_t cp = (uint32_t)u;
            if (cp >= 0xD800 && cp <= 0xDBFF) {
                /* High surrogate: a low one must follow as \uDC00..\uDFFF. */
                if (e - p < 6 || p[0] != '\\' || p[1] != 'u')
                    return hj_fail_at(P, esc, SOB_E_PARSE, "unpaired surrogate in \\u escape");
                long lo = hex4(p + 2);
                if (lo < 0xDC00 || lo > 0xDFFF)
                    return hj_fail_at(P, esc, SOB_E_PARSE, "unpaired surrogate in \\u escape");
                cp = 0x10000 + ((cp - 0xD800) << 10) + ((uint32_t)lo - 0xDC00);
                p += 6;
            } else if (cp >= 0xDC00 && cp <= 0xDFFF) {
                return hj_fail_at(P, esc, SOB_E_PARSE, "unpaired surrogate in \\u escape");
            }
            put_utf8(P->scratch, &n, &toolong, cp);
            continue;
        }
        default:
            return hj_fail_at(P, p, SOB_E_PARSE, "invalid escape in string");
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


/* Reads the string starting at P->p (which must be '"'). Without escapes the span points into
 * the input; with escapes it is decoded into the scratch buffer (valid until the next hj_str()). */
sob_status hj_str(jp *P, span *out, int decode) {
    const char *p = P->p + 1, *e = P->e;
    const char *start = p;
    for (;;) {
        p = str_end(p, e);
        if (UNLIKELY(p >= e)) return hj_eof(P);
        unsigned char c = (unsigned char)*p;
        if (LIKELY(c == '"')) break;
        if (c == '\\') return str_escaped(P, out, decode);
        if (c < 0x20) return hj_fail_at(P, p, SOB_E_PARSE, "control character in string");
        int k = hj_utf8_len(p, e); /* c >= 0x80 */
        if (k < 0) return hj_eof(P);
        if (k == 0) return hj_fail_at(P, p, SOB_E_PARSE, "invalid UTF-8 in string");
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
sob_status hj_str_value(jp *P, span *out, const char *reason) {
    if (UNLIKELY(P->p >= P->e)) return hj_eof(P);
    if (UNLIKELY(*P->p != '"')) return hj_fail(P, SOB_E_PARSE, reason);
    return hj_str(P, out, 1);
}

/* ------------------------------------------------------------------------------------------ */
/* Literals, numbers and the generic validating skip                                           */

static sob_status literal(jp *P, const char *word, size_t n) {
    if ((size_t)(P->e - P->p) < n) {
        /* Distinguish a truncated literal from a wrong one. */
        if (memcmp(P->p, word, (size_t)(P->e - P->p)) == 0) return hj_eof(P);
        return hj_fail(P, SOB_E_PARSE, "invalid literal");
    }
    if (memcmp(P->p, word, n) != 0) return hj_fail(P, SOB_E_PARSE, "invalid literal");
    P->p += n;
    return SOB_OK;
}


/* Validates a JSON number: -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)? */
static sob_status skip_number(jp *P) {
    const char *p = P->p, *e = P->e;
    if (p < e && *p == '-') p++;
    if (p >= e) return hj_eof(P);
    if (*p == '0') {
        p++;
    } else if (isdig((unsigned char)*p)) {
        while (p < e && isdig((unsigned char)*p)) p++;
    } else {
        return hj_fail_at(P, p, SOB_E_PARSE, "invalid number");
    }
    if (p < e && *p == '.') {
        p++;
        if (p >= e) return hj_eof(P);
        if (!isdig((unsigned char)*p)) return hj_fail_at(P, p, SOB_E_PARSE, "invalid number");
        while (p < e && isdig((unsigned char)*p)) p++;
    }
    if (p < e && (*p == 'e' || *p == 'E')) {
        p++;
        if (p < e && (*p == '+' || *p == '-')) p++;
        if (p >= e) return hj_eof(P);
        if (!isdig((unsigned char)*p)) return hj_fail_at(P, p, SOB_E_PARSE, "invalid number");
        while (p < e && isdig((unsigned char)*p)) p++;
    }
    P->p = p;
    return SOB_OK;
}

static sob_status enter(jp *P) {
    if (UNLIKELY(++P->depth > SOB_JSON_MAX_DEPTH))
        return hj_fail(P, SOB_E_LIMIT, "nesting deeper than 64");
    P->p++;
    return SOB_OK;
}

/* Object/array iteration. Call with *first = 1 right after enter(); each call consumes the
 * separator (or the closer, setting *done) and, for objects, the key and its ':'. On return with
 * !*done, P->p is at the value (whitespace skipped). */
sob_status hj_obj_next(jp *P, int *first, span *key, int *done) {
    /* The cursor stays in a register: this runs once per key of every object. */
    const char *p = skip_ws(P->p, P->e), *e = P->e;
    if (UNLIKELY(p >= e)) return hj_eof(P);
    char c = *p;
    if (c == '}') {
        P->p = p + 1;
        P->depth--;
        *done = 1;
        return SOB_OK;
    }
    if (!*first) {
        if (UNLIKELY(c != ',')) return hj_fail_at(P, p, SOB_E_PARSE, "expected ',' or '}'");
        p = skip_ws(p + 1, e);
        if (UNLIKELY(p >= e)) return hj_eof(P);
        c = *p;
    }
    *first = 0;
    if (UNLIKELY(c != '"')) return hj_fail_at(P, p, SOB_E_PARSE, "expected a string key");
    P->key_at = p;
    /* Keys are short and plain: read them inline; escapes and odd bytes go to hj_str(). */
    const char *ke = str_end(p + 1, e);
    if (LIKELY(ke < e && *ke == '"')) {
        key->ptr = p + 1;
        key->len = (size_t)(ke - p - 1);
        key->toolong = 0;
        p = ke + 1;
    } else {
        P->p = p;
        TRY(hj_str(P, key, 1));
        p = P->p;
    }
    p = skip_ws(p, e);
    if (UNLIKELY(p >= e)) return hj_eof(P);
    if (UNLIKELY(*p != ':')) return hj_fail_at(P, p, SOB_E_PARSE, "expected ':'");
    p = skip_ws(p + 1, e);
    P->p = p;
    if (UNLIKELY(p >= e)) return hj_eof(P);
    *done = 0;
    return SOB_OK;
}

sob_status hj_arr_next(jp *P, int *first, int *done) {
    ws(P);
    if (UNLIKELY(P->p >= P->e)) return hj_eof(P);
    char c = *P->p;
    if (c == ']') {
        P->p++;
        P->depth--;
        *done = 1;
        return SOB_OK;
    }
    if (!*first) {
        if (UNLIKELY(c != ',')) return hj_fail(P, SOB_E_PARSE, "expected ',' or ']'");
        P->p++;
        ws(P);
        if (UNLIKELY(P->p >= P->e)) return hj_eof(P);
        if (UNLIKELY(*P->p == ']')) return hj_fail(P, SOB_E_PARSE, "trailing comma in array");
    }
    *first = 0;
    *done = 0;
    return SOB_OK;
}

sob_status hj_skip_value(jp *P);

static sob_status skip_object(jp *P) {
    TRY(enter(P));
    int first = 1, done = 0;
    span k;
    for (;;) {
        TRY(hj_obj_next(P, &first, &k, &done));
        if (done) return SOB_OK;
        TRY(hj_skip_value(P));
    }
}

static sob_status skip_array(jp *P) {
    TRY(enter(P));
    int first = 1, done = 0;
    for (;;) {
        TRY(hj_arr_next(P, &first, &done));
        if (done) return SOB_OK;
        TRY(hj_skip_value(P));
    }
}

/* Validates and skips any JSON value at P->p. Recursion is bounded by SOB_JSON_MAX_DEPTH. */
sob_status hj_skip_value(jp *P) {
    if (UNLIKELY(P->p >= P->e)) return hj_eof(P);
    switch (*P->p) {
    case '"': return hj_str(P, NULL, 0);
    case '{': return skip_object(P);
    case '[': return skip_array(P);
    case 't': return literal(P, "true", 4);
    case 'f': return literal(P, "false", 5);
    case 'n': return literal(P, "null", 4);
    default:
        if (*P->p == '-' || isdig((unsigned char)*P->p)) return skip_number(P);
        return hj_fail(P, SOB_E_PARSE, "expected a JSON value");
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
sob_status hj_int_value(jp *P, int allow_str, int64_t lo, uint64_t hi, int64_t *out,
                            const char *reason) {
    const char *at = P->p;
    int neg, ovf;
    uint64_t mag;
    const char *why, *where;
    if (UNLIKELY(at >= P->e)) return hj_eof(P);
    if (*at == '"') {
        if (!allow_str) return hj_fail(P, SOB_E_PARSE, reason);
        span s;
        TRY(hj_str(P, &s, 1));
        if (s.toolong || s.len == 0) return hj_fail_at(P, at, SOB_E_PARSE, reason);
        const char *end = int_token(s.ptr, s.ptr + s.len, &neg, &mag, &ovf, &why, &where);
        if (!end || end != s.ptr + s.len) return hj_fail_at(P, at, SOB_E_PARSE, reason);
    } else {
        const char *end = int_token(at, P->e, &neg, &mag, &ovf, &why, &where);
        if (!end) {
            if (!why) return hj_eof(P);
            (void)where;
            return hj_fail_at(P, at, SOB_E_PARSE, reason);
        }
        P->p = end;
    }
    /* Every integer we read is >= 0: a sign (even "-0") is a well-formed but invalid value. */
    if (neg) return hj_fail_at(P, at, SOB_E_INVALID, reason);
    if (ovf || mag > hi) return hj_fail_at(P, at, SOB_E_OVERFLOW, reason);
    if ((sob_i128)mag < (sob_i128)lo) return hj_fail_at(P, at, SOB_E_INVALID, reason);
    *out = (int64_t)mag;
    return SOB_OK;
}

sob_status hj_bool_value(jp *P, uint8_t *out, const char *reason) {
    if (UNLIKELY(P->p >= P->e)) return hj_eof(P);
    if (*P->p == 't') {
        TRY(literal(P, "true", 4));
        *out = 1;
    } else if (*P->p == 'f') {
        TRY(literal(P, "false", 5));
        *out = 0;
    } else {
        return hj_fail(P, SOB_E_PARSE, reason);
    }
    return SOB_OK;
}

sob_status hj_amount_value(jp *P, uint64_t max, uint64_t *out, const char *reason) {
    const char *at = P->p;
    span s;
    TRY(hj_str_value(P, &s, reason));
    if (s.toolong) return hj_fail_at(P, at, SOB_E_PARSE, reason);
    sob_status st = sob_parse_amount(s.ptr, s.len, max, out);
    if (st == SOB_OK) return SOB_OK;
    if (st == SOB_E_OVERFLOW) return hj_fail_at(P, at, st, reason);
    /* Name the syntax problem Horizon clients most often hit. */
    const char *dot = memchr(s.ptr, '.', s.len);
    if (dot && (size_t)(s.ptr + s.len - dot - 1) > 7) {
        int alldig = 1;
        for (const char *q = dot + 1; q < s.ptr + s.len; q++) alldig &= isdig((unsigned char)*q);
        if (alldig) return hj_fail_at(P, at, SOB_E_PARSE, "amount has more than 7 decimals");
    }
    return hj_fail_at(P, at, st, reason);
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
int hj_strkey_valid_doc(jp *P, const char *s, size_t len) {
    if (len != 56) return 0;
    unsigned slot = ((unsigned char)s[1] * 7u + (unsigned char)s[2] * 3u + (unsigned char)s[3]) & 31u;
    if ((P->sk_used >> slot) & 1u && memcmp(P->sk[slot], s, 56) == 0) return 1;
    if (!sob_strkey_account_valid(s, len)) return 0;
    memcpy(P->sk[slot], s, 56);
    P->sk_used |= 1u << slot;
    return 1;
}

sob_status hj_account_value(jp *P, char *dst, const char *reason) {
    const char *at = P->p;
    span s;
    TRY(hj_str_value(P, &s, reason));
    if (s.toolong || !hj_strkey_valid_doc(P, s.ptr, s.len))
        return hj_fail_at(P, at, SOB_E_INVALID, reason);
    copy_span(dst, &s);
    return SOB_OK;
}

/* Fixed-size string field: any 1..cap-1 decoded bytes. */
sob_status hj_text_value(jp *P, char *dst, size_t cap, const char *reason) {
    const char *at = P->p;
    span s;
    TRY(hj_str_value(P, &s, reason));
    if (s.toolong || s.len == 0 || s.len >= cap) return hj_fail_at(P, at, SOB_E_INVALID, reason);
    if (memchr(s.ptr, '\0', s.len)) return hj_fail_at(P, at, SOB_E_INVALID, reason);
    copy_span(dst, &s);
    return SOB_OK;
}


sob_status hj_asset_type_value(jp *P, sob_asset *a, const char *reason) {
    const char *at = P->p;
    span s;
    TRY(hj_str_value(P, &s, reason));
    if (s.len == 6 && memcmp(s.ptr, "native", 6) == 0) a->type = SOB_ASSET_NATIVE;
    else if (s.len == 16 && memcmp(s.ptr, "credit_alphanum4", 16) == 0)
        a->type = SOB_ASSET_CREDIT_ALPHANUM4;
    else if (s.len == 17 && memcmp(s.ptr, "credit_alphanum12", 17) == 0)
        a->type = SOB_ASSET_CREDIT_ALPHANUM12;
    else return hj_fail_at(P, at, SOB_E_INVALID, reason);
    return SOB_OK;
}

sob_status hj_asset_code_value(jp *P, sob_asset *a, const char *reason) {
    const char *at = P->p;
    span s;
    TRY(hj_str_value(P, &s, reason));
    if (s.toolong || !code_valid(s.ptr, s.len)) return hj_fail_at(P, at, SOB_E_INVALID, reason);
    copy_span(a->code, &s);
    return SOB_OK;
}

/* The type/code/issuer combination: native has neither, credit_alphanum4 has a 1..4 char code,
 * credit_alphanum12 a 5..12 char code (core's isAssetValid), both an issuer. */
sob_status hj_asset_finish(jp *P, sob_asset *a, const asset_acc *acc, const char *missing_type,
                               const char *missing_code, const char *missing_issuer,
                               const char *bad_combo) {
    if (!acc->has_type) return hj_fail_at(P, acc->at, SOB_E_PARSE, missing_type);
    if (a->type == SOB_ASSET_NATIVE) {
        if (acc->has_code || acc->has_issuer) return hj_fail_at(P, acc->at, SOB_E_INVALID, bad_combo);
        a->code[0] = '\0';
        a->issuer[0] = '\0';
        return SOB_OK;
    }
    if (!acc->has_code) return hj_fail_at(P, acc->at, SOB_E_PARSE, missing_code);
    if (!acc->has_issuer) return hj_fail_at(P, acc->at, SOB_E_PARSE, missing_issuer);
    size_t cl = strlen(a->code);
    if (a->type == SOB_ASSET_CREDIT_ALPHANUM4 ? cl > 4 : cl < 5)
        return hj_fail_at(P, acc->at, SOB_E_INVALID, bad_combo);
    return SOB_OK;
}

sob_status hj_pool_id_value(jp *P, char *dst, const char *reason) {
    const char *at = P->p;
    span s;
    TRY(hj_str_value(P, &s, reason));
    if (s.toolong || !hex_id_valid(s.ptr, s.len)) return hj_fail_at(P, at, SOB_E_INVALID, reason);
    copy_span(dst, &s);
    return SOB_OK;
}

/* The 7-dp `price` next to price_r is derived from price_r and lossy; only its type is checked. */
sob_status hj_price_text(jp *P) {
    if (UNLIKELY(P->p >= P->e)) return hj_eof(P);
    if (*P->p != '"') return hj_fail(P, SOB_E_PARSE, "price must be a string");
    return hj_str(P, NULL, 0);
}

/* ------------------------------------------------------------------------------------------ */
/* Key tables                                                                                   */

sob_status hj_require(jp *P, uint64_t seen, uint64_t need, const keydef *tab, int n,
                          const char *at) {
    uint64_t miss = need & ~seen;
    if (LIKELY(!miss)) return SOB_OK;
    for (int i = 0; i < n; i++)
        if (miss & ((uint64_t)1 << i)) return hj_fail_at(P, at, SOB_E_PARSE, tab[i].missing);
    return hj_fail_at(P, at, SOB_E_PARSE, "missing key");
}

sob_status hj_next_key(jp *P, int *first, const keydef *tab, int n, uint64_t *seen, int *idx) {
    span k;
    int done = 0;
    for (;;) {
        TRY(hj_obj_next(P, first, &k, &done));
        if (done) {
            *idx = -1;
            return SOB_OK;
        }
        int i = key_lookup(tab, n, &k);
        if (i >= 0) {
            *idx = i;
            return mark(P, seen, tab, i, KEYAT(k));
        }
        TRY(hj_skip_value(P));
    }
}

sob_status hj_expect_open(jp *P, char c, const char *reason) {
    if (UNLIKELY(P->p >= P->e)) return hj_eof(P);
    if (UNLIKELY(*P->p != c)) return hj_fail(P, SOB_E_PARSE, reason);
    return enter(P);
}

/* ------------------------------------------------------------------------------------------ */
/* Asset objects: {"asset_type":..,"asset_code":..,"asset_issuer":..}                           */

static const keydef ASSET_KEYS[] = {KEY("asset_type"), KEY("asset_code"), KEY("asset_issuer")};

sob_status hj_asset_object(jp *P, sob_asset *a) {
    asset_acc acc = {0, 0, 0, P->p};
    TRY(hj_expect_open(P, '{', "asset must be an object"));
    uint64_t seen = 0;
    int first = 1, i;
    memset(a, 0, sizeof *a);
    for (;;) {
        TRY(hj_next_key(P, &first, ASSET_KEYS, 3, &seen, &i));
        if (i < 0) break;
        switch (i) {
        case 0:
            TRY(hj_asset_type_value(P, a, "asset_type must be native, credit_alphanum4 or credit_alphanum12"));
            acc.has_type = 1;
            break;
        case 1:
            TRY(hj_asset_code_value(P, a, "asset_code must be 1..12 characters [A-Za-z0-9]"));
            acc.has_code = 1;
            break;
        default:
            TRY(hj_account_value(P, a->issuer, "asset_issuer must be a valid G... StrKey"));
            acc.has_issuer = 1;
            break;
        }
    }
    return hj_asset_finish(P, a, &acc, "missing key \"asset_type\"", "missing key \"asset_code\"",
                        "missing key \"asset_issuer\"",
                        "asset_code/asset_issuer do not match asset_type");
}

/* "native" or "CODE:ISSUER" (liquidity pool reserves; horizon protocols LiquidityPoolReserve). */
sob_status hj_asset_string(jp *P, sob_asset *a, const char *reason) {
    const char *at = P->p;
    span s;
    TRY(hj_str_value(P, &s, reason));
    memset(a, 0, sizeof *a);
    if (s.toolong) return hj_fail_at(P, at, SOB_E_INVALID, reason);
    if (s.len == 6 && memcmp(s.ptr, "native", 6) == 0) {
        a->type = SOB_ASSET_NATIVE;
        return SOB_OK;
    }
    const char *colon = memchr(s.ptr, ':', s.len);
    if (!colon) return hj_fail_at(P, at, SOB_E_INVALID, reason);
    size_t cl = (size_t)(colon - s.ptr);
    if (!code_valid(s.ptr, cl)) return hj_fail_at(P, at, SOB_E_INVALID, reason);
    if (!hj_strkey_valid_doc(P, colon + 1, s.len - cl - 1))
        return hj_fail_at(P, at, SOB_E_INVALID, reason);
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

sob_status hj_nd_object(jp *P, int allow_str, int64_t hi, int64_t *n, int64_t *d,
                            const char *not_obj, const char *bad_n, const char *bad_d) {
    const char *at = P->p;
    TRY(hj_expect_open(P, '{', not_obj));
    uint64_t seen = 0;
    int first = 1, i;
    for (;;) {
        TRY(hj_next_key(P, &first, ND_KEYS, 2, &seen, &i));
        if (i < 0) break;
        TRY(hj_int_value(P, allow_str, 1, (uint64_t)hi, i ? d : n, i ? bad_d : bad_n));
    }
    return hj_require(P, seen, 3, ND_KEYS, 2, at);
}

sob_status hj_price_r_object(jp *P, int32_t *n, int32_t *d) {
    int64_t nn = 0, dd = 0;
    TRY(hj_nd_object(P, 0, INT32_MAX, &nn, &dd, "price_r must be an object",
                  "price_r.n must be an int32 > 0", "price_r.d must be an int32 > 0"));
    *n = (int32_t)nn;
    *d = (int32_t)dd;
    return SOB_OK;
}

/* ------------------------------------------------------------------------------------------ */
/* Documents                                                                                    */

sob_status hj_begin_doc(jp *P, const char *buf, size_t len, sob_parse_error *err) {
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
    if (!buf && len) return hj_fail(P, SOB_E_PARSE, "NULL input");
    if (!buf) {
        static const char empty = 0;
        P->s = P->p = P->e = &empty;
    }
    ws(P);
    return hj_expect_open(P, '{', "expected '{' at the start of the document");
}

sob_status hj_end_doc(jp *P) {
    ws(P);
    if (P->p != P->e) return hj_fail(P, SOB_E_PARSE, "trailing characters after the document");
    return SOB_OK;
}
