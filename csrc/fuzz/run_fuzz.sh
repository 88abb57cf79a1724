#!/bin/sh
# Builds the Horizon JSON fuzzer with clang (libFuzzer + ASan + UBSan) and runs it for $1 seconds
# (default 60) starting from csrc/fuzz/corpus. New inputs go to a temp copy so the committed seed
# corpus stays small. Exits non-zero if the fuzzer finds a crash, leak or invariant failure.
# Then the book/exchange operations fuzzer (stage 2) and the LedgerCloseMeta decoder fuzzer (stage 3,
# fuzz_ledger.c, from csrc/fuzz/corpus_ledger), each for half the time; stage 3's half is shared
# with the bucket reader fuzzer (stage 4, fuzz_bucket.c, from csrc/fuzz/corpus_bucket).
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
# for half the time, from an empty corpus (inputs are op programs; any bytes are valid).
OPS_SECS=$(( (SECS + 1) / 2 ))
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

# Stage 3: the LedgerCloseMeta decoder (fuzz_ledger.c: every input form on every input), from
# csrc/fuzz/corpus_ledger (small real metas, a batch, a stream, base64, changes). Stages 3 and 4
# share half the time (stage 4 is the bucket reader), so the total stays what it was.
LEDGER_HALF=$(( (SECS + 1) / 2 ))
LEDGER_SECS=$(( (LEDGER_HALF + 1) / 2 ))
BUCKET_SECS=$(( LEDGER_HALF - LEDGER_SECS ))
"$CC" -std=c11 -g -O1 -fno-omit-frame-pointer -fsanitize=fuzzer,address,undefined \
    -fno-sanitize-recover=undefined -I"$CSRC" -I"$CSRC/xdr" -I"$CSRC/ledger" \
    "$HERE/fuzz_ledger.c" "$CSRC"/ledger/*.c "$CSRC"/xdr/*.c -o "$WORK/fuzz_ledger"
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

# Stage 4: the bucket reader and merge (fuzz_bucket.c: whole and in pieces, merged), for the other
# part of stage 3's half, from csrc/fuzz/corpus_bucket (small buckets of every entry kind).
if [ "$BUCKET_SECS" -gt 0 ]; then
"$CC" -std=c11 -g -O1 -fno-omit-frame-pointer -fsanitize=fuzzer,address,undefined \
    -fno-sanitize-recover=undefined -I"$CSRC" -I"$CSRC/xdr" -I"$CSRC/ledger" \
    "$HERE/fuzz_bucket.c" "$CSRC"/ledger/*.c "$CSRC"/xdr/*.c -o "$WORK/fuzz_bucket"
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
