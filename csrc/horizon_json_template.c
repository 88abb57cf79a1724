/* horizon_json_template.c: arrays of element objects, and the one template engine that reads them.
 *
 * An array's elements (order book levels, page records) are written by one serializer, so apart
 * from their values they are byte for byte alike (keys, punctuation, indentation). After an
 * element is read by the general path (its kind's key reader), its fixed bytes become a template:
 * the next element is checked segment by segment with memcmp-like compares and only its values
 * are read, each with the same validation the general path applies. Anything else (another key
 * order, other whitespace, an optional key present or absent, an escape, a value the fast readers
 * do not take) makes the template miss, and the element is read again by the general path, which
 * gives the same result or the same error. Each fixed segment starts with a byte that cannot
 * continue the value before it, so a value is read exactly as the general path would read it.
 */
#include "horizon_json_internal.h"

/* The largest element a page or record document holds (the single-record candidate is kept in
 * one of these until the document turns out to be a record). */
typedef union any_rec {
    sob_offer_rec offer;
    sob_trade_rec trade;
    sob_pool_rec pool;
} any_rec;

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

/* ------------------------------------------------------------------------------------------ */
/* Fast value readers: the shapes Horizon writes, validated as the general path would, or NULL  */

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

/* ------------------------------------------------------------------------------------------ */
/* Templates                                                                                    */


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
    /* Learning from bytes the general path has not read (hj_records_array's first element): a
     * classified object must be an object, and a key twice in an object refuses the template
     * (the general path decides what that is). */
    int unread;
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
    case TPL_FIXED: {
        const char *lit = c == 't' ? "true" : c == 'n' ? "null" : c == 'f' ? "false" : NULL;
        size_t n = c == 'f' ? 5 : 4;
        if (!lit || (size_t)(e - p) < n || memcmp(p, lit, n) != 0) return NULL;
        return p + n;
    }
    case TPL_DESCEND:
        if (c != '{' && (c != '[' || (L->unread && child != CTX_OTHER))) return NULL;
        return lrn_compound(L, child, p);
    case SL_ASSET: {
        if (c != '{') return NULL;
        const char *end = lrn_compound_end(p, e);
        return end && lrn_slot(L, p, end, k, off) ? end : NULL;
    }
    case SL_SKIPSTR:
    case SL_ACCOUNT:
    case SL_AMOUNT63:
    case SL_AMOUNT64: {
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
    /* keys of this object so far, for the duplicate check of unread bytes */
    enum { MAXK = 32 };
    const char *kp[MAXK];
    size_t kl[MAXK];
    int nk = 0;
    if (++L->depth > SOB_JSON_MAX_DEPTH) return NULL;
    p = skip_ws(p + 1, e);
    if (p < e && *p == close) {
        L->depth--;
        return p + 1;
    }
    for (;;) {
        const char *key = NULL;
        size_t klen = 0;
        if (obj) {
            if (p >= e || *p != '"') return NULL;
            const char *ke = str_end(p + 1, e);
            if (ke >= e || *ke != '"') return NULL;
            key = p + 1;
            klen = (size_t)(ke - key);
            if (L->unread) {
                if (nk == MAXK) return NULL;
                for (int i = 0; i < nk; i++)
                    if (kl[i] == klen && memcmp(kp[i], key, klen) == 0) return NULL;
                kp[nk] = key;
                kl[nk++] = klen;
            }
            p = skip_ws(ke + 1, e);
            if (p >= e || *p != ':') return NULL;
            p = skip_ws(p + 1, e);
        }
        p = lrn_value(L, ctx, key, klen, p);
        if (!p) return NULL;
        p = skip_ws(p, e);
        if (p >= e) return NULL;
        if (*p == close) {
            L->depth--;
            return p + 1;
        }
        if (*p != ',') return NULL;
        p = skip_ws(p + 1, e);
    }
}

static size_t slot_size(int kind) {
    switch (kind) {
    case SL_I64S:
    case SL_AMOUNT63:
    case SL_AMOUNT64: return 8;
    case SL_ACCOUNT: return 57;
    case SL_ASSET: return sizeof(sob_asset);
    case SL_I32POS:
    case SL_U32: return 4;
    default: return 0;
    }
}

/* Learns the template of the record at rec (its '{'), in [rec, e); sep (<= rec) is where the ','
 * before it starts (the separator and whitespace are then part of the first fixed segment).
 * rec_size: the size of a record, whose reset must be all zero bytes. unread: the general path
 * has not read the record (its structure and keys are checked here, depth: that of the array
 * the record is in); else depth is 0 and e is the record's end. Returns the record's end, with
 * t->ok, or NULL. */
static const char *tpl_learn_at(rec_tpl *t, rec_classify_fn classify, const char *sep,
                                const char *rec, const char *e, size_t rec_size, int unread,
                                int depth) {
    tpl_learner L = {t, classify, sep, e, depth, unread};
    t->ok = 0;
    t->n = 0;
    t->sep_pending = 0;
    t->sep_len = (uint32_t)(rec - sep);
    if (rec >= e || *rec != '{') return NULL;
    const char *end = lrn_compound(&L, CTX_RECORD, rec);
    if (!end) return NULL;
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
    t->shape = t->n == 4 && t->slot[0].kind == SL_I32POS && t->slot[1].kind == SL_I32POS &&
                       t->slot[2].kind == SL_SKIPSTR && t->slot[3].kind == SL_AMOUNT64 && t->ngaps == 0
                   ? SHAPE_PRICE_LEVEL
                   : SHAPE_ANY;
    t->ok = 1;
    return end;
}

/* The template of the record [rec, end) that the general path has just read. */
static void rec_tpl_learn(rec_tpl *t, rec_classify_fn classify, const char *sep, const char *rec,
                          const char *end, size_t rec_size) {
    if (tpl_learn_at(t, classify, sep, rec, end, rec_size, 0, 0) != end) t->ok = 0;
}

/* The template of an array's first element (learnt without a separator; sep_pending, not yet ok)
 * gets the separator at p, whitespace, ',' and whitespace, in front of its first segment and is
 * ok; without one (the array ends here, or it is too long to copy) it is dropped. */
static void tpl_add_separator(rec_tpl *t, const char *p, const char *e) {
    const char *q = skip_ws(p, e);
    t->sep_pending = 0;
    if (q >= e || *q != ',') return;
    q = skip_ws(q + 1, e);
    size_t sl = (size_t)(q - p);
    if (sl + t->len[0] > sizeof t->seg0) return;
    memmove(t->seg0 + sl, t->seg[0], t->len[0]);
    memcpy(t->seg0, p, sl);
    t->seg[0] = t->seg0;
    t->len[0] += (uint32_t)sl;
    t->sep_len = (uint32_t)sl;
    t->fixed += sl;
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
        int k = hj_utf8_len(p, e);
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
    sob_status st = hj_asset_object(P, out);
    P->err = err;
    if (st != SOB_OK) return NULL;
    int i = c->n < ACACHE_N ? c->n++ : (c->next++ % ACACHE_N);
    c->txt[i] = p;
    c->len[i] = (uint32_t)(P->p - p);
    c->a[i] = *out;
    return P->p;
}

/* One slot of a template at p: its fixed segment, then its value read in place into dst with the
 * general path's validation. Returns the end of the value, or NULL if the bytes are not that.
 * Inlined with a constant kind, it is straight-line code for that kind. */
static ALWAYS_INLINE const char *tpl_step(jp *P, asset_cache *ac, int depth, const char *p,
                                          const char *seg, uint32_t n, int kind, char *dst,
                                          int in_bounds) {
    const char *e = P->e;
    if ((!in_bounds && UNLIKELY((size_t)(e - p) < n)) || !seg_eq_any(p, seg, n)) return NULL;
    p += n;
    uint64_t v;
    switch (kind) {
    case SL_SKIPSTR: return skipstr_fast(p, e);
    case SL_SKIPNUM: return skipnum_fast(p, e);
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
        return p;
    case SL_ACCOUNT:
        if ((size_t)(e - p) < 58 || p[0] != '"' || p[57] != '"' || !hj_strkey_valid_doc(P, p + 1, 56))
            return NULL;
        memcpy(dst, p + 1, 56);
        dst[56] = '\0';
        return p + 58;
    case SL_ASSET: return asset_fast(P, ac, p, depth, (sob_asset *)(void *)dst);
    case SL_AMOUNT63:
    case SL_AMOUNT64:
        /* amount_fast takes up to 12 integer digits: < 10^19 stroops, so < UINT64_MAX */
        if (p >= e || *p != '"') return NULL;
        p = amount_fast(p + 1, e, &v);
        if (!p || p >= e || *p != '"') return NULL;
        if (kind == SL_AMOUNT63 && v > (uint64_t)INT64_MAX) return NULL;
        memcpy(dst, &v, sizeof v);
        return p + 1;
    case SL_I32POS: {
        int32_t x;
        p = pos_i32_fast(p, e, &x);
        if (p) memcpy(dst, &x, sizeof x);
        return p;
    }
    default: /* SL_U32 */
        p = uint_fast(p, e, &v);
        if (!p || v > UINT32_MAX) return NULL;
        {
            uint32_t x = (uint32_t)v;
            memcpy(dst, &x, sizeof x);
        }
        return p;
    }
}

#define STEP(i, k, in_bounds)                                                                   \
    do {                                                                                        \
        p = tpl_step(P, ac, depth, p, t->seg[i], t->len[i], (k), rec + t->slot[i].off, in_bounds); \
        if (UNLIKELY(!p)) return NULL;                                                          \
    } while (0)

/* Reads the record at p if it matches the template; returns its end, or NULL (rec is then
 * unspecified and the record must be read by the general path). depth: that of the record's
 * own members. */
static ALWAYS_INLINE const char *tpl_match(jp *P, const rec_tpl *t, asset_cache *ac,
                                           const hj_kind *kind, const char *p, int depth,
                                           void *recv) {
    char *rec = recv;
    const size_t left = (size_t)(P->e - p);
    if (t->shape == SHAPE_PRICE_LEVEL && left >= t->fixed + 20) {
        /* The same steps with constant kinds: no dispatch per slot, and no gaps to zero (the
         * slots write the whole record). The first two values are at most 10 digits each, so
         * with fixed + 20 bytes left their segments are in bounds. */
        STEP(0, SL_I32POS, 1);
        STEP(1, SL_I32POS, 1);
        STEP(2, SL_SKIPSTR, 0);
        STEP(3, SL_AMOUNT64, 0);
    } else {
        if (left < t->fixed) return NULL;
        if (t->ngaps >= 0)
            for (int g = 0; g < t->ngaps; g++) memset(rec + t->gap_off[g], 0, t->gap_len[g]);
        else
            kind->reset(recv);
        for (int i = 0; i < t->n; i++) STEP(i, t->slot[i].kind, 0);
    }
    uint32_t n = t->len[t->n];
    if ((size_t)(P->e - p) < n || !seg_eq_any(p, t->seg[t->n], n)) return NULL;
    return p + n;
}
#undef STEP

static sob_status record_object(jp *P, const hj_kind *kind, void *rec) {
    const char *at = P->p;
    uint64_t seen = 0;
    TRY(hj_expect_open(P, '{', kind->not_obj));
    kind->reset(rec);
    int first = 1, done = 0, handled = 0;
    span k;
    for (;;) {
        TRY(hj_obj_next(P, &first, &k, &done));
        if (done) break;
        TRY(kind->key(P, rec, &seen, &k, KEYAT(k), &handled));
        if (!handled) TRY(hj_skip_value(P));
    }
    return kind->done(P, rec, seen, at);
}

sob_status hj_records_array(jp *P, const hj_kind *kind, vec_any *vec, const char *not_arr,
                            rec_tpl *carry) {
    TRY(hj_expect_open(P, '[', not_arr));
    int first = 1, done = 0;
    const int depth = P->depth;
    /* The template lives in carry when there is one (no copy in or out: a rec_tpl is ~1 KB, which
     * a small order book would pay twice per array). */
    rec_tpl local, *const tp = carry ? carry : &local;
    if (!carry) tp->ok = 0;
    tp->sep_pending = 0; /* a template carried in is ok or nothing */
    asset_cache ac;
    ac.n = ac.next = 0;
    /* Templates stop being learnt when records keep missing them (a page with no two records
     * alike would pay for learning on every record). */
    int use_tpl = kind->classify != NULL && !(P->opts && P->opts->no_templates), hits = 0, misses = 0;
    /* The vector's length and room in locals (the record stores could alias them); *vec->len is
     * written back whenever it must be right: before returning, and before a general read. */
    const size_t elem = vec->elem;
    size_t len = *vec->len;
    char *const v0 = (char *)*vec->v; /* NULL until the vector first grows */
    char *room = v0 ? v0 + len * elem : NULL, *room_end = v0 ? v0 + *vec->cap * elem : NULL;
#define REC_SLOT()                                                                               \
    do {                                                                                         \
        if (UNLIKELY(room == room_end)) {                                                        \
            if (!grow(vec->v, vec->cap, len + 1, elem))                                          \
                return *vec->len = len, hj_fail(P, SOB_E_NOMEM, "out of memory");                \
            room = (char *)*vec->v + len * elem;                                                 \
            room_end = (char *)*vec->v + *vec->cap * elem;                                       \
        }                                                                                        \
        rec = room;                                                                              \
    } while (0)
    if (!tp->ok && use_tpl && kind->tpl_complete) {
        /* The first element, with no template: learn one from its bytes (checking what the
         * general path would of its structure and keys) and read it with that template, if the
         * template reads every key the kind requires. Else the general path reads it. */
        void *rec;
        const char *at = skip_ws(P->p, P->e);
        REC_SLOT();
        const char *end = tpl_learn_at(tp, kind->classify, at, at, P->e, elem, 1, depth);
        if (end && kind->tpl_complete(tp) && tpl_match(P, tp, &ac, kind, at, depth + 1, rec) == end) {
            P->p = end;
            first = 0;
            len++;
            room += elem;
            hits++;
            tp->ok = 0, tp->sep_pending = 1; /* until its separator, as when learnt below */
        } else {
            tp->ok = 0;
        }
        P->depth = depth;
    } else if (tp->ok && use_tpl) {
        /* The first element, with a template carried from the previous array: its first segment
         * without the separator may read it. */
        void *rec;
        const char *at = skip_ws(P->p, P->e);
        const uint32_t skip = tp->sep_len;
        REC_SLOT();
        tp->seg[0] += skip;
        tp->len[0] -= skip;
        tp->fixed -= skip;
        const char *end = tpl_match(P, tp, &ac, kind, at, depth + 1, rec);
        tp->seg[0] -= skip;
        tp->len[0] += skip;
        tp->fixed += skip;
        P->depth = depth;
        if (end != NULL) {
            P->p = end;
            first = 0;
            len++;
            room += elem;
            hits++;
        }
    }
    for (;;) {
        void *rec;
        /* Steady state: "," + whitespace + a record, byte for byte like the previous pair. */
        const char *sep = P->p;
        if (UNLIKELY(!tp->ok) && tp->sep_pending) tpl_add_separator(tp, sep, P->e);
        if (tp->ok) {
            /* The cursor stays in sep until a record misses (tpl_match() only moves P->p and
             * P->depth when it reads an asset the general way). */
            for (;;) {
                REC_SLOT();
                const char *end = tpl_match(P, tp, &ac, kind, sep, depth + 1, rec);
                if (UNLIKELY(end == NULL)) break;
                sep = end;
                len++;
                room += elem;
                hits++;
            }
            P->depth = depth;
            P->p = sep;
        }
        int was_first = first;
        *vec->len = len;
        TRY(hj_arr_next(P, &first, &done));
        if (done) {
            if (P->opts) P->opts->tpl_hits += (size_t)hits;
            return SOB_OK;
        }
        misses += tp->ok;
        REC_SLOT();
        const char *start = P->p;
        TRY(record_object(P, kind, rec));
        *vec->len = ++len;
        room += elem;
        /* Learnt from a record after a ',', the template carries the separator; learnt from the
         * first, it gets the separator that follows it. */
        if (use_tpl) {
            rec_tpl_learn(tp, kind->classify, was_first ? start : sep, start, P->p, vec->elem);
            if (was_first && tp->ok) tp->ok = 0, tp->sep_pending = 1; /* until its separator */
            if (misses > 4 && misses > hits) use_tpl = tp->ok = tp->sep_pending = 0;
        }
    }
#undef REC_SLOT
}

static sob_status embedded_object(jp *P, const hj_kind *kind, vec_any *vec) {
    const char *at = P->p;
    TRY(hj_expect_open(P, '{', "_embedded must be an object"));
    int first = 1, done = 0, have = 0;
    span k;
    for (;;) {
        TRY(hj_obj_next(P, &first, &k, &done));
        if (done) break;
        if (k.len == 7 && memcmp(k.ptr, "records", 7) == 0) {
            if (have) return hj_fail_at(P, KEYAT(k), SOB_E_PARSE, "duplicate key \"records\"");
            have = 1;
            TRY(hj_records_array(P, kind, vec, "_embedded.records must be an array", NULL));
        } else {
            TRY(hj_skip_value(P));
        }
    }
    if (!have) return hj_fail_at(P, at, SOB_E_PARSE, "missing key \"_embedded.records\"");
    return SOB_OK;
}

/* The document: a page if it has _embedded, else one record. A record's own keys next to
 * _embedded make it ambiguous, so that is an error. */
sob_status hj_page_or_record(const char *buf, size_t len, sob_parse_error *err,
                                 sob_parse_opts *opts, const hj_kind *kind, vec_any *vec) {
    jp P_, *P = &P_;
    TRY(hj_begin_doc(P, buf, len, err));
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
        TRY(hj_obj_next(P, &first, &k, &done));
        if (done) break;
        if (k.len == 9 && memcmp(k.ptr, "_embedded", 9) == 0) {
            if (page) return hj_fail_at(P, KEYAT(k), SOB_E_PARSE, "duplicate key \"_embedded\"");
            if (record_keys)
                return hj_fail_at(P, KEYAT(k), SOB_E_PARSE, "both _embedded and record keys");
            page = 1;
            TRY(embedded_object(P, kind, vec));
            continue;
        }
        const char *ka = KEYAT(k);
        TRY(kind->key(P, rec, &seen, &k, ka, &handled));
        if (handled) {
            if (page) return hj_fail_at(P, ka, SOB_E_PARSE, "both _embedded and record keys");
            record_keys = 1;
        } else {
            TRY(hj_skip_value(P));
        }
    }
    if (!page) {
        TRY(kind->done(P, rec, seen, P->s));
        if (!grow(vec->v, vec->cap, 1, vec->elem)) return hj_fail(P, SOB_E_NOMEM, "out of memory");
        memcpy(*vec->v, rec, vec->elem);
        *vec->len = 1;
    }
    return hj_end_doc(P);
}
