#!/bin/sh
# Builds the Horizon JSON fuzzer with clang (libFuzzer + ASan + UBSan) and runs it for $1 seconds
# (default 60) starting from csrc/fuzz/corpus. New inputs go to a temp copy so the committed seed
# corpus stays small. Exits non-zero if the fuzzer finds a crash, leak or invariant failure.
# Then: the book/exchange operations fuzzer (stage 2), the path finder fuzzer (stage 4,
# fuzz_pathfind.c) and the whole-DEX book fuzzer (stage 5, fuzz_dexbook.c) for a quarter of the time
# each; the LedgerCloseMeta decoder fuzzer (stage 3, fuzz_ledger.c, from csrc/fuzz/corpus_ledger) and
# the history-archive bucket reader fuzzer (stage 6, fuzz_bucket.c, from csrc/fuzz/corpus_bucket) for
# an eighth each. In all, twice the time given.
# Needs clang and its libFuzzer runtime (Debian: apt-get install -y clang libclang-rt-14-dev).
set -eu
SECS="${1:-60}"
HERE="$(cd "$(dirname "$0")" && pwd)"
CSRC="$(dirname "$HERE")"
CC="${CC:-clang}"
if ! command -v "$CC" >/dev/null 2>&1; then
    echo "run_fuzz.sh: $CC not found (apt-get install -y clang libclang-rt-14-dev)" >&2
    exit 2
fi
WORK="$(mktemp -d "${TMPDIR:-/tmp}/sob_fuzz.XXXXXX")"
cleanup() { [ "${KEEP:-0}" = 1 ] || rm -rf "$WORK"; }
trap cleanup EXIT INT TERM
mkdir -p "$WORK/corpus" "$WORK/artifacts"
cp "$HERE"/corpus/* "$WORK/corpus/" 2>/dev/null || true
# Tokens of Horizon documents, so mutations reach the fields the scanners decode.
cat > "$WORK/horizon.dict" <<'DICT'
"{"
"}"
"["
"]"
":"
","
"\""
"\\u"
"\\ud83d\\ude00"
"true"
"false"
"null"
"\"bids\""
"\"asks\""
"\"base\""
"\"counter\""
"\"price_r\""
"\"price\""
"\"amount\""
"\"n\""
"\"d\""
"\"asset_type\""
"\"asset_code\""
"\"asset_issuer\""
"\"native\""
"\"credit_alphanum4\""
"\"credit_alphanum12\""
"\"_embedded\""
"\"records\""
"\"_links\""
"\"id\""
"\"seller\""
"\"selling\""
"\"buying\""
"\"last_modified_ledger\""
"\"paging_token\""
"\"ledger_close_time\""
"\"trade_type\""
"\"liquidity_pool\""
"\"liquidity_pool_fee_bp\""
"\"base_offer_id\""
"\"counter_offer_id\""
"\"base_account\""
"\"base_amount\""
"\"counter_amount\""
"\"base_asset_type\""
"\"counter_asset_type\""
"\"base_is_seller\""
"\"base_liquidity_pool_id\""
"\"fee_bp\""
"\"total_trustlines\""
"\"total_shares\""
"\"reserves\""
"\"asset\""
"2147483647"
"2147483648"
"9223372036854775807"
"922337203685.4775807"
"1844674407370.9551615"
"GBVOL67TMUQBGL4TZYNMY3ZQ5WGQYFPFD5VJRWXR72VA33VFNL225PL5"
"2019-03-28T10:45:28Z"
DICT
"$CC" -std=c11 -g -O1 -fno-omit-frame-pointer -fsanitize=fuzzer,address,undefined \
    -fno-sanitize-recover=undefined -I"$CSRC" \
    "$HERE/fuzz_horizon_json.c" "$CSRC"/*.c -o "$WORK/fuzz_horizon_json"
echo "run_fuzz.sh: fuzzing for ${SECS}s over $(ls "$WORK/corpus" | wc -l) seeds"
set +e
"$WORK/fuzz_horizon_json" -max_total_time="$SECS" -max_len=65536 -timeout=10 -rss_limit_mb=2048 \
    -print_final_stats=1 -artifact_prefix="$WORK/artifacts/" \
    -dict="$WORK/horizon.dict" "$WORK/corpus" > "$WORK/fuzz_json.log" 2>&1
rc=$?
# libFuzzer logs every new input: show the summary, or everything when it failed.
if [ "$rc" -ne 0 ]; then cat "$WORK/fuzz_json.log" >&2; else tail -n 12 "$WORK/fuzz_json.log"; fi
set -e
if [ "$rc" -ne 0 ]; then
    KEEP=1
    echo "run_fuzz.sh: fuzzer failed (exit $rc); reproducers kept in $WORK/artifacts/" >&2
    exit "$rc"
fi
echo "run_fuzz.sh: no crash in ${SECS}s"

# Stage 2: the book and execution APIs driven by arbitrary operation programs (fuzz_core_ops.c),
# for a quarter of the time (stage 4 has the other quarter of what was stage 2's half), from an
# empty corpus (inputs are op programs; any bytes are valid).
OPS_SECS=$(( (SECS + 3) / 4 ))
"$CC" -std=c11 -g -O1 -fno-omit-frame-pointer -fsanitize=fuzzer,address,undefined \
    -fno-sanitize-recover=undefined -I"$CSRC" \
    "$HERE/fuzz_core_ops.c" "$CSRC"/*.c -o "$WORK/fuzz_core_ops"
mkdir -p "$WORK/ops_corpus"
echo "run_fuzz.sh: fuzzing book/offer-book/exchange operations for ${OPS_SECS}s"
set +e
"$WORK/fuzz_core_ops" -max_total_time="$OPS_SECS" -max_len=4096 -timeout=10 -rss_limit_mb=2048 \
    -print_final_stats=1 -artifact_prefix="$WORK/artifacts/" "$WORK/ops_corpus" > "$WORK/fuzz_ops.log" 2>&1
rc=$?
if [ "$rc" -ne 0 ]; then cat "$WORK/fuzz_ops.log" >&2; else tail -n 12 "$WORK/fuzz_ops.log"; fi
set -e
if [ "$rc" -ne 0 ]; then
    KEEP=1
    echo "run_fuzz.sh: operations fuzzer failed (exit $rc); reproducers kept in $WORK/artifacts/" >&2
    exit "$rc"
fi
echo "run_fuzz.sh: no crash in ${OPS_SECS}s of operation programs"

# Stage 3: the LedgerCloseMeta decoder (fuzz_ledger.c: every input form on every input) for an
# eighth of the time (stage 6, the bucket reader, takes the other eighth), from
# csrc/fuzz/corpus_ledger (small real metas, a batch, a stream, base64, changes). csrc/ledger/ holds
# the DexBook too, which needs the rest of the core: every csrc/*.c is linked.
LEDGER_SECS=$(( (SECS + 7) / 8 ))
BUCKET_SECS=$(( (SECS + 7) / 8 ))
"$CC" -std=c11 -g -O1 -fno-omit-frame-pointer -fsanitize=fuzzer,address,undefined \
    -fno-sanitize-recover=undefined -I"$CSRC" -I"$CSRC/xdr" -I"$CSRC/ledger" \
    "$HERE/fuzz_ledger.c" "$CSRC"/*.c "$CSRC"/ledger/*.c "$CSRC"/xdr/*.c -o "$WORK/fuzz_ledger"
mkdir -p "$WORK/ledger_corpus"
cp "$HERE"/corpus_ledger/* "$WORK/ledger_corpus/"
# XDR words that steer mutations to discriminants, lengths and record marks.
printf '%s\n' '"\x00\x00\x00\x00"' '"\x00\x00\x00\x01"' '"\x00\x00\x00\x02"' '"\x00\x00\x00\x03"' \
    '"\x00\x00\x00\x04"' '"\x00\x00\x00\x05"' '"\xff\xff\xff\xff"' '"\x7f\xff\xff\xff"' '"\x80\x00\x00\x00"' \
    '"\x80\x00\x01\x00"' '"\x00\x00\x01\x00"' > "$WORK/ledger.dict"
echo "run_fuzz.sh: fuzzing the ledger decoder for ${LEDGER_SECS}s"
set +e
"$WORK/fuzz_ledger" -max_total_time="$LEDGER_SECS" -max_len=65536 -timeout=10 -rss_limit_mb=2048 \
    -print_final_stats=1 -artifact_prefix="$WORK/artifacts/" -dict="$WORK/ledger.dict" \
    "$WORK/ledger_corpus" > "$WORK/fuzz_ledger.log" 2>&1
rc=$?
if [ "$rc" -ne 0 ]; then cat "$WORK/fuzz_ledger.log" >&2; else tail -n 12 "$WORK/fuzz_ledger.log"; fi
set -e
if [ "$rc" -ne 0 ]; then
    KEEP=1
    echo "run_fuzz.sh: ledger fuzzer failed (exit $rc); reproducers kept in $WORK/artifacts/" >&2
    exit "$rc"
fi
echo "run_fuzz.sh: no crash in ${LEDGER_SECS}s of ledger inputs"

# Stage 4: the path finder (fuzz_pathfind.c: a small DEX, a context and a query from the bytes; every
# returned path re-executed, the state unchanged, brute force for max_hops <= 3) for a quarter of the
# time, from an empty corpus (any bytes build a DEX).
PF_SECS=$(( (SECS + 3) / 4 ))
"$CC" -std=c11 -g -O1 -fno-omit-frame-pointer -fsanitize=fuzzer,address,undefined \
    -fno-sanitize-recover=undefined -I"$CSRC" \
    "$HERE/fuzz_pathfind.c" "$CSRC"/*.c -o "$WORK/fuzz_pathfind"
mkdir -p "$WORK/pf_corpus"
echo "run_fuzz.sh: fuzzing the path finder for ${PF_SECS}s"
set +e
"$WORK/fuzz_pathfind" -max_total_time="$PF_SECS" -max_len=512 -timeout=10 -rss_limit_mb=2048 \
    -print_final_stats=1 -artifact_prefix="$WORK/artifacts/" "$WORK/pf_corpus" > "$WORK/fuzz_pf.log" 2>&1
rc=$?
if [ "$rc" -ne 0 ]; then cat "$WORK/fuzz_pf.log" >&2; else tail -n 12 "$WORK/fuzz_pf.log"; fi
set -e
if [ "$rc" -ne 0 ]; then
    KEEP=1
    echo "run_fuzz.sh: path finder fuzzer failed (exit $rc); reproducers kept in $WORK/artifacts/" >&2
    exit "$rc"
fi
echo "run_fuzz.sh: no crash in ${PF_SECS}s of path searches"

# Stage 5: the whole-DEX book (fuzz_dexbook.c) for a quarter: real metas (the ledger corpus,
# each prefixed by an even byte) applied to a book that lives across inputs, and programs of
# synthetic ledgers (odd first byte); every apply keeps every invariant, a refused one changes nothing.
DEX_SECS=$(( (SECS + 3) / 4 ))
"$CC" -std=c11 -g -O1 -fno-omit-frame-pointer -fsanitize=fuzzer,address,undefined \
    -fno-sanitize-recover=undefined -I"$CSRC" -I"$CSRC/xdr" -I"$CSRC/ledger" \
    "$HERE/fuzz_dexbook.c" "$CSRC"/*.c "$CSRC"/ledger/*.c "$CSRC"/xdr/*.c -o "$WORK/fuzz_dexbook"
mkdir -p "$WORK/dex_corpus"
for f in "$HERE"/corpus_ledger/*.xdr; do
    { printf '\000'; cat "$f"; } > "$WORK/dex_corpus/meta_$(basename "$f")"
done
printf '\001\000\001\002\003\004\005\006\007\001\002\003\004\005\006\007\010\377\000\000\000\000\000\000\000' \
    > "$WORK/dex_corpus/program_seed"
echo "run_fuzz.sh: fuzzing the DexBook for ${DEX_SECS}s"
set +e
"$WORK/fuzz_dexbook" -max_total_time="$DEX_SECS" -max_len=65536 -timeout=10 -rss_limit_mb=2048 \
    -print_final_stats=1 -artifact_prefix="$WORK/artifacts/" -dict="$WORK/ledger.dict" \
    "$WORK/dex_corpus" > "$WORK/fuzz_dexbook.log" 2>&1
rc=$?
if [ "$rc" -ne 0 ]; then cat "$WORK/fuzz_dexbook.log" >&2; else tail -n 12 "$WORK/fuzz_dexbook.log"; fi
set -e
if [ "$rc" -ne 0 ]; then
    KEEP=1
    echo "run_fuzz.sh: DexBook fuzzer failed (exit $rc); reproducers kept in $WORK/artifacts/" >&2
    exit "$rc"
fi
echo "run_fuzz.sh: no crash in ${DEX_SECS}s of DexBook inputs"

# Stage 6: the bucket reader and merge (fuzz_bucket.c: whole and in pieces, merged), for an eighth
# of the time, from csrc/fuzz/corpus_bucket (small buckets of every entry kind).
if [ "$BUCKET_SECS" -gt 0 ]; then
"$CC" -std=c11 -g -O1 -fno-omit-frame-pointer -fsanitize=fuzzer,address,undefined \
    -fno-sanitize-recover=undefined -I"$CSRC" -I"$CSRC/xdr" -I"$CSRC/ledger" \
    "$HERE/fuzz_bucket.c" "$CSRC"/*.c "$CSRC"/ledger/*.c "$CSRC"/xdr/*.c -o "$WORK/fuzz_bucket"
mkdir -p "$WORK/bucket_corpus"
cp "$HERE"/corpus_bucket/* "$WORK/bucket_corpus/"
echo "run_fuzz.sh: fuzzing the bucket reader for ${BUCKET_SECS}s"
set +e
"$WORK/fuzz_bucket" -max_total_time="$BUCKET_SECS" -max_len=16384 -timeout=10 -rss_limit_mb=2048 \
    -print_final_stats=1 -artifact_prefix="$WORK/artifacts/" -dict="$WORK/ledger.dict" \
    "$WORK/bucket_corpus" > "$WORK/fuzz_bucket.log" 2>&1
rc=$?
if [ "$rc" -ne 0 ]; then cat "$WORK/fuzz_bucket.log" >&2; else tail -n 12 "$WORK/fuzz_bucket.log"; fi
set -e
if [ "$rc" -ne 0 ]; then
    KEEP=1
    echo "run_fuzz.sh: bucket fuzzer failed (exit $rc); reproducers kept in $WORK/artifacts/" >&2
    exit "$rc"
fi
echo "run_fuzz.sh: no crash in ${BUCKET_SECS}s of bucket inputs"
fi
