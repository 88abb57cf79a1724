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
# build NAME [ledger]: csrc/fuzz/NAME.c with libFuzzer, ASan and UBSan, linked with the core (with
# "ledger": also the LedgerCloseMeta decoder, the DexBook and the XDR code).
build() {
    if [ "${2:-}" = ledger ]; then
        "$CC" -std=c11 -g -O1 -fno-omit-frame-pointer -fsanitize=fuzzer,address,undefined \
            -fno-sanitize-recover=undefined -I"$CSRC" -I"$CSRC/xdr" -I"$CSRC/ledger" \
            "$HERE/$1.c" "$CSRC"/*.c "$CSRC"/ledger/*.c "$CSRC"/xdr/*.c -o "$WORK/$1"
    else
        "$CC" -std=c11 -g -O1 -fno-omit-frame-pointer -fsanitize=fuzzer,address,undefined \
            -fno-sanitize-recover=undefined -I"$CSRC" "$HERE/$1.c" "$CSRC"/*.c -o "$WORK/$1"
    fi
}

# fuzz NAME SECONDS MAX_LEN CORPUS WHAT [libFuzzer options]: run a built harness from CORPUS (new
# inputs are added there). libFuzzer logs every new input: show the summary, or everything when it
# failed; on a failure keep the reproducers and exit with the fuzzer's status.
fuzz() {
    name=$1 secs=$2 max_len=$3 corpus=$4 what=$5
    shift 5
    echo "run_fuzz.sh: fuzzing $what for ${secs}s over $(ls "$corpus" | wc -l) seeds"
    set +e
    "$WORK/$name" -max_total_time="$secs" -max_len="$max_len" -timeout=10 -rss_limit_mb=2048 \
        -print_final_stats=1 -artifact_prefix="$WORK/artifacts/" "$@" "$corpus" > "$WORK/$name.log" 2>&1
    rc=$?
    if [ "$rc" -ne 0 ]; then cat "$WORK/$name.log" >&2; else tail -n 12 "$WORK/$name.log"; fi
    set -e
    if [ "$rc" -ne 0 ]; then
        KEEP=1
        echo "run_fuzz.sh: the $what fuzzer failed (exit $rc); reproducers kept in $WORK/artifacts/" >&2
        exit "$rc"
    fi
    echo "run_fuzz.sh: no crash in ${secs}s of $what"
}

# Stage 1: the Horizon JSON scanners, for the time given, from csrc/fuzz/corpus.
build fuzz_horizon_json
fuzz fuzz_horizon_json "$SECS" 65536 "$WORK/corpus" "Horizon documents" -dict="$WORK/horizon.dict"

# Stage 2: the book and execution APIs driven by arbitrary operation programs (fuzz_core_ops.c),
# for a quarter of the time, from an empty corpus (inputs are op programs; any bytes are valid).
build fuzz_core_ops
mkdir -p "$WORK/ops_corpus"
fuzz fuzz_core_ops $(( (SECS + 3) / 4 )) 4096 "$WORK/ops_corpus" "book/offer-book/exchange operations"

# Stage 3: the LedgerCloseMeta decoder (fuzz_ledger.c: every input form on every input) for an
# eighth of the time, from csrc/fuzz/corpus_ledger (small real metas, a batch, a stream, base64,
# changes).
build fuzz_ledger ledger
mkdir -p "$WORK/ledger_corpus"
cp "$HERE"/corpus_ledger/* "$WORK/ledger_corpus/"
# XDR words that steer mutations to discriminants, lengths and record marks.
printf '%s\n' '"\x00\x00\x00\x00"' '"\x00\x00\x00\x01"' '"\x00\x00\x00\x02"' '"\x00\x00\x00\x03"' \
    '"\x00\x00\x00\x04"' '"\x00\x00\x00\x05"' '"\xff\xff\xff\xff"' '"\x7f\xff\xff\xff"' '"\x80\x00\x00\x00"' \
    '"\x80\x00\x01\x00"' '"\x00\x00\x01\x00"' > "$WORK/ledger.dict"
fuzz fuzz_ledger $(( (SECS + 7) / 8 )) 65536 "$WORK/ledger_corpus" "ledger inputs" -dict="$WORK/ledger.dict"

# Stage 4: the path finder (fuzz_pathfind.c: a small DEX, a context and a query from the bytes; every
# returned path re-executed, the state unchanged, brute force for max_hops <= 3) for a quarter of the
# time, from an empty corpus (any bytes build a DEX).
build fuzz_pathfind
mkdir -p "$WORK/pf_corpus"
fuzz fuzz_pathfind $(( (SECS + 3) / 4 )) 512 "$WORK/pf_corpus" "path searches"

# Stage 5: the whole-DEX book (fuzz_dexbook.c) for a quarter: real metas (the ledger corpus,
# each prefixed by an even byte) applied to a book that lives across inputs, and programs of
# synthetic ledgers (odd first byte); every apply keeps every invariant, a refused one changes nothing.
build fuzz_dexbook ledger
mkdir -p "$WORK/dex_corpus"
for f in "$HERE"/corpus_ledger/*.xdr; do
    { printf '\000'; cat "$f"; } > "$WORK/dex_corpus/meta_$(basename "$f")"
done
printf '\001\000\001\002\003\004\005\006\007\001\002\003\004\005\006\007\010\377\000\000\000\000\000\000\000' \
    > "$WORK/dex_corpus/program_seed"
fuzz fuzz_dexbook $(( (SECS + 3) / 4 )) 65536 "$WORK/dex_corpus" "DexBook inputs" -dict="$WORK/ledger.dict"

# Stage 6: the bucket reader and merge (fuzz_bucket.c: whole and in pieces, merged), for an eighth
# of the time, from csrc/fuzz/corpus_bucket (small buckets of every entry kind).
build fuzz_bucket ledger
mkdir -p "$WORK/bucket_corpus"
cp "$HERE"/corpus_bucket/* "$WORK/bucket_corpus/"
fuzz fuzz_bucket $(( (SECS + 7) / 8 )) 16384 "$WORK/bucket_corpus" "bucket inputs" -dict="$WORK/ledger.dict"
