/* horizon_json_internal.h: what the Horizon JSON scanner's files share; private to csrc/horizon_json_*.c.
 *
 * The scanner is split by job:
 *   horizon_json_lex.c         the cursor, strings, numbers, the validating skip, and the value
 *                              readers (integers, amounts, StrKeys, assets, price_r) with errors;
 *   horizon_json_template.c    arrays of objects: the general reader of each element and the one
 *                              template engine that reads elements laid out like the previous one
 *                              (order book levels and page records alike), and pages vs records;
 *   horizon_json_order_book.c  GET /order_book;
 *   horizon_json_offers.c      GET /offers;
 *   horizon_json_trades.c      GET /trades;
 *   horizon_json_pools.c       GET /liquidity_pools.
 * A document kind describes its element objects with an hj_kind (read one key, check the record at
 * its end, reset it, and classify its keys for templates); everything else is shared.
 *
 * Functions here are hj_-prefixed and hidden: they are not part of the library's interface.
 */
#ifndef SOB_HORIZON_JSON_INTERNAL_H
#define SOB_HORIZON_JSON_INTERNAL_H

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
#define HJ_HIDDEN __attribute__((visibility("hidden")))
#define ALWAYS_INLINE inline __attribute__((always_inline))
#define LIKELY(x) __builtin_expect(!!(x), 1)
#define UNLIKELY(x) __builtin_expect(!!(x), 0)
#else
#define HJ_HIDDEN
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

/* ---- errors: the byte offset and a static reason go to err; the status is returned ---- */
HJ_HIDDEN sob_status hj_fail_at(jp *P, const char *at, sob_status st, const char *reason);
HJ_HIDDEN sob_status hj_fail(jp *P, sob_status st, const char *reason);
HJ_HIDDEN sob_status hj_eof(jp *P);

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

static inline int isdig(unsigned char c) { return (unsigned)(c - '0') < 10u; }

/* ---- lexer (horizon_json_lex.c) ---- */
/* Length of the UTF-8 sequence whose lead byte (>= 0x80) is at p: 2..4, 0 if invalid, -1 if the
 * input ends inside it. */
HJ_HIDDEN int hj_utf8_len(const char *ps, const char *es);
/* Reads the string at P->p (its '"'); decode: unescape into the scratch buffer if needed. */
HJ_HIDDEN sob_status hj_str(jp *P, span *out, int decode);
/* A string value we use: fails with `reason` (SOB_E_PARSE) if the value is not a string. */
HJ_HIDDEN sob_status hj_str_value(jp *P, span *out, const char *reason);
/* Validates and skips any JSON value at P->p (nesting bounded by SOB_JSON_MAX_DEPTH). */
HJ_HIDDEN sob_status hj_skip_value(jp *P);
/* Object/array iteration. Call with *first = 1 right after hj_expect_open(); each call consumes
 * the separator (or the closer, setting *done) and, for objects, the key and its ':'. On return
 * with !*done, P->p is at the value (whitespace skipped) and P->key_at at the key. */
HJ_HIDDEN sob_status hj_obj_next(jp *P, int *first, span *key, int *done);
HJ_HIDDEN sob_status hj_arr_next(jp *P, int *first, int *done);
/* The opener c ('{' or '[') at P->p, entered (depth checked); else `reason`. */
HJ_HIDDEN sob_status hj_expect_open(jp *P, char c, const char *reason);
/* The document's start ('{' after whitespace) and end (only whitespace after it). */
HJ_HIDDEN sob_status hj_begin_doc(jp *P, const char *buf, size_t len, sob_parse_error *err);
HJ_HIDDEN sob_status hj_end_doc(jp *P);

/* ---- value readers (horizon_json_lex.c); each fails with its reason ---- */
/* An integer value: a JSON number, or (if allow_str) a string holding the same digits, as Go's
 * `json:",string"` tag sends int64 fields. Range [lo, hi], lo >= 0: below lo or negative ->
 * SOB_E_INVALID, above hi -> SOB_E_OVERFLOW, wrong type or syntax -> SOB_E_PARSE. */
HJ_HIDDEN sob_status hj_int_value(jp *P, int allow_str, int64_t lo, uint64_t hi, int64_t *out,
                                  const char *reason);
HJ_HIDDEN sob_status hj_bool_value(jp *P, uint8_t *out, const char *reason);
/* A decimal amount string (sob_parse_amount) of at most max stroops. */
HJ_HIDDEN sob_status hj_amount_value(jp *P, uint64_t max, uint64_t *out, const char *reason);
/* The 7-dp `price` string next to price_r: derived and lossy, so only its type is checked. */
HJ_HIDDEN sob_status hj_price_text(jp *P);
/* A G... StrKey string into dst[57] (StrKeys already checked in this document are remembered). */
HJ_HIDDEN sob_status hj_account_value(jp *P, char *dst, const char *reason);
HJ_HIDDEN int hj_strkey_valid_doc(jp *P, const char *s, size_t len);
/* Fixed-size string field: any 1..cap-1 decoded bytes, no NUL. */
HJ_HIDDEN sob_status hj_text_value(jp *P, char *dst, size_t cap, const char *reason);
/* A liquidity pool id: 1..64 lowercase hex characters into dst[65]. */
HJ_HIDDEN sob_status hj_pool_id_value(jp *P, char *dst, const char *reason);

/* Asset parts as Horizon sends them (protocols/horizon Asset, and the flat base_asset_* /
 * counter_asset_* fields of Trade). Presence is tracked so the combination is checked at the end. */
typedef struct asset_acc {
    uint8_t has_type, has_code, has_issuer;
    const char *at; /* where the asset starts, for errors */
} asset_acc;
HJ_HIDDEN sob_status hj_asset_type_value(jp *P, sob_asset *a, const char *reason);
HJ_HIDDEN sob_status hj_asset_code_value(jp *P, sob_asset *a, const char *reason);
/* The type/code/issuer combination: native has neither, credit_alphanum4 has a 1..4 char code,
 * credit_alphanum12 a 5..12 char code (core's isAssetValid), both an issuer. */
HJ_HIDDEN sob_status hj_asset_finish(jp *P, sob_asset *a, const asset_acc *acc,
                                     const char *missing_type, const char *missing_code,
                                     const char *missing_issuer, const char *bad_combo);
/* {"asset_type":..,"asset_code":..,"asset_issuer":..} */
HJ_HIDDEN sob_status hj_asset_object(jp *P, sob_asset *a);
/* "native" or "CODE:ISSUER" (liquidity pool reserves). */
HJ_HIDDEN sob_status hj_asset_string(jp *P, sob_asset *a, const char *reason);
/* {"n": .., "d": ..}, both in 1..hi (strings allowed if allow_str). */
HJ_HIDDEN sob_status hj_nd_object(jp *P, int allow_str, int64_t hi, int64_t *n, int64_t *d,
                                  const char *not_obj, const char *bad_n, const char *bad_d);
/* price_r: {"n": int32 > 0, "d": int32 > 0} (horizon protocols Price). */
HJ_HIDDEN sob_status hj_price_r_object(jp *P, int32_t *n, int32_t *d);

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
    if (UNLIKELY(*seen & bit)) return hj_fail_at(P, keyat, SOB_E_PARSE, tab[i].dup);
    *seen |= bit;
    return SOB_OK;
}

/* One step over an object whose keys are looked up in tab (n <= 64): skips, validating them, the
 * values of other keys and sets *idx to the index of the next key of tab, marked in *seen (a
 * second occurrence is an error), with P->p at its value; *idx = -1 at the object's end. Call
 * with *first = 1 right after hj_expect_open(). */
HJ_HIDDEN sob_status hj_next_key(jp *P, int *first, const keydef *tab, int n, uint64_t *seen,
                                 int *idx);

/* Every key of `need` was seen; else "missing key" naming the first missing one, at `at`. */
HJ_HIDDEN sob_status hj_require(jp *P, uint64_t seen, uint64_t need, const keydef *tab, int n,
                                const char *at);

/* Start of a key inside the object just read by hj_obj_next (for duplicate-key offsets). */
#define KEYAT(k) (P->key_at)
/* The seen-bit of key i of a table. */
#define BIT(i) ((uint64_t)1 << (i))

/* ------------------------------------------------------------------------------------------ */
/* Element kinds and the template engine (horizon_json_template.c). Each kind's reader is written
 * as "handle one key" so the same code reads an element of an array and a record at the top level. */

typedef sob_status (*rec_key_fn)(jp *P, void *rec, uint64_t *seen, const span *k, const char *keyat,
                                 int *handled);
typedef sob_status (*rec_done_fn)(jp *P, void *rec, uint64_t seen, const char *at);

/* Learning a record template (see hj_records_array): what a key's value is, given the object it is
 * in. Returns a slot kind (SL_*) for a value read in place, or TPL_DESCEND with *child set for an
 * object or array whose own values are classified in turn, or TPL_FIXED for a literal that stays
 * part of the fixed bytes, or TPL_REFUSE. */
typedef int (*rec_classify_fn)(int ctx, const char *key, size_t klen, char first, int *child,
                               uint16_t *off);

/* The slot kinds a classifier returns: how the template reads a value in place (each with the same
 * validation as the general path's reader) and where it goes. */
enum {
    SL_SKIPSTR,   /* any string, only validated */
    SL_SKIPNUM,   /* any JSON number, only validated */
    SL_I64S,      /* integer 0..INT64_MAX, JSON number or string of digits -> int64_t */
    SL_ACCOUNT,   /* G... StrKey string -> char[57] */
    SL_ASSET,     /* asset object -> sob_asset */
    SL_AMOUNT63,  /* amount string <= INT64_MAX stroops -> uint64_t */
    SL_AMOUNT64,  /* amount string <= UINT64_MAX stroops -> uint64_t (order book level totals) */
    SL_I32POS,    /* JSON integer 1..INT32_MAX -> int32_t */
    SL_U32,       /* JSON integer 0..UINT32_MAX -> uint32_t */
    TPL_DESCEND = 100,
    TPL_FIXED,
    TPL_REFUSE
};

/* Classifier contexts: the element itself, any object inside it the kind does not read, and
 * kind-specific ones from CTX_FIRST_KIND (price_r is shared by levels and offers). */
enum { CTX_RECORD, CTX_OTHER, CTX_PRICE_R, CTX_FIRST_KIND };

/* What a classifier says of a value it does not read: strings and numbers are validated, objects
 * and arrays descended into, literals kept as fixed bytes. */
static inline int hj_classify_other(char first) {
    if (first == '"') return SL_SKIPSTR;
    if (first == '{' || first == '[') return TPL_DESCEND;
    if (first == 't' || first == 'f' || first == 'n') return TPL_FIXED;
    return SL_SKIPNUM;
}

/* For classifiers: key (klen bytes, raw) is the literal lit. */
#define KEYIS(lit) (klen == sizeof(lit) - 1 && memcmp(key, lit, sizeof(lit) - 1) == 0)

struct rec_tpl;

typedef struct hj_kind {
    rec_key_fn key;
    rec_done_fn done;
    void (*reset)(void *rec);     /* the record before any key: all zero bytes except where
                                     reset says otherwise */
    rec_classify_fn classify;     /* NULL: elements of this kind are always read by the general path */
    const char *not_obj;          /* the error for an element that is not an object */
    /* Whether a template learnt from an array's first element before the general path read it
     * reads every key the general path requires (each at most once: the learner checks that):
     * the template may then read that element too. NULL: the first element is always read by
     * the general path. */
    int (*tpl_complete)(const struct rec_tpl *t);
} hj_kind;

/* A growable vector of elements of any kind (sob_levels, sob_offers, ...), seen through pointers
 * to its fields. */
typedef struct vec_any {
    void **v;
    size_t *len, *cap;
    size_t elem;
} vec_any;

/* A template: the fixed segments of an element (pointers into the document, or seg0) and the
 * slots between them (horizon_json_template.c). */
#define TPL_MAX_SLOTS 40

typedef struct tpl_slot {
    uint8_t kind;
    uint16_t off; /* byte offset of the destination in the record */
} tpl_slot;

/* Slot sequences common enough to have an unrolled matcher (tpl_match): SHAPE_PRICE_LEVEL is
 * {n, d} of a price_r, a string and an amount, as Horizon writes an /order_book level. */
enum { SHAPE_ANY, SHAPE_PRICE_LEVEL };

typedef struct rec_tpl {
    int ok, n; /* n slots, n + 1 fixed segments */
    int shape; /* SHAPE_*: the slot kinds, when they are one of the unrolled sequences */
    /* Learnt from an array's first element, the template lacks the separator before the next
     * one: it is not ok but sep_pending until tpl_add_separator() puts the separator in front
     * of the first segment (a copy in seg0). */
    int sep_pending;
    uint32_t sep_len; /* the separator's bytes at the start of seg[0] (0: none) */
    char seg0[256];
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

/* The array at P->p (else not_arr), each element read by kind and appended to vec: elements
 * laid out like the previous one are read by the template learnt from it, the others by the
 * general path (the two give the same result or the same error). P->opts may turn templates off
 * and counts the elements they read. carry (NULL, or ok = 0 before the document's first array)
 * passes the template on from one array of a document to the next of the same kind, whose first
 * element it then reads too when it is laid out alike (an order book's bids and asks). */
HJ_HIDDEN sob_status hj_records_array(jp *P, const hj_kind *kind, vec_any *vec, const char *not_arr,
                                      rec_tpl *carry);

/* A whole document: a page {"_embedded":{"records":[...]}} or a single record of kind; vec gets
 * its records (no larger than an offer, trade or pool record). */
HJ_HIDDEN sob_status hj_page_or_record(const char *buf, size_t len, sob_parse_error *err,
                                       sob_parse_opts *opts, const hj_kind *kind, vec_any *vec);

#endif
