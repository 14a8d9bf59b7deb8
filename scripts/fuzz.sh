#!/bin/sh
# fuzz.sh BUILD - runs every libFuzzer target in BUILD/fuzzers for FUZZ_TIME seconds each, one
# after another on one core (one in-process run each), from the committed seed corpus (fuzz/corpus/T,
# read only) and a working corpus (BUILD/fuzz-work/T, where new inputs go). Crashes, leaks,
# timeouts and sanitizer reports stop the run: the input is saved as BUILD/fuzz-artifacts/T-*
# (copy it to fuzz/regress/T/ and fix the reader: make test replays that folder). Prints one
# line per target (executions, seconds, coverage) and writes them to BUILD/fuzz-summary.csv.
set -u
B=${1:?usage: fuzz.sh BUILD}
T=${FUZZ_TIME:-60}
export BEAA_THREADS=1 OMP_NUM_THREADS=1 OMP_WAIT_POLICY=PASSIVE
export ASAN_OPTIONS="detect_leaks=1:${ASAN_OPTIONS:-}"
export UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1:${UBSAN_OPTIONS:-}"
mkdir -p "$B/fuzz-work" "$B/fuzz-artifacts"
echo "target,executions,seconds,cov,ft,corpus" > "$B/fuzz-summary.csv"
rc=0
for f in fuzz/*.c; do
    t=$(basename "$f" .c)
    # Allocation bound per call (-malloc_limit_mb): a parameter set may ask for a context of
    # N = 2^16 with 56 primes (tables of tens of MiB, the bound its header allows); every other
    # reader stays below 64 MiB on these inputs (docs/security.md states the bounds).
    case $t in params|cli_keys) lim=1024 ;; *) lim=64 ;; esac
    mkdir -p "$B/fuzz-work/$t"
    log="$B/fuzz-work/$t.log"
    echo "== fuzz $t: ${T} s" >&2
    "$B/fuzzers/$t" -max_total_time="$T" -timeout=20 -rss_limit_mb=2048 -malloc_limit_mb=$lim \
        -print_final_stats=1 -artifact_prefix="$B/fuzz-artifacts/$t-" \
        "$B/fuzz-work/$t" "fuzz/corpus/$t" >"$log" 2>&1
    r=$?
    execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
    secs=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log" | tail -1)
    cov=$(grep -o 'cov: [0-9]*' "$log" | tail -1 | cut -d' ' -f2)
    ft=$(grep -o 'ft: [0-9]*' "$log" | tail -1 | cut -d' ' -f2)
    corp=$(grep -o 'corp: [0-9]*' "$log" | tail -1 | cut -d' ' -f2)
    echo "$t,${execs:-0},$T,${cov:-0},${ft:-0},${corp:-0}" >> "$B/fuzz-summary.csv"
    printf 'fuzz %-12s %10s execs (%s/s) in %s s, cov %s ft %s corpus %s\n' "$t" "${execs:-?}" \
        "${secs:-?}" "$T" "${cov:-?}" "${ft:-?}" "${corp:-?}" >&2
    if [ $r -ne 0 ]; then
        echo "fuzz $t FAILED (exit $r): see $log and $B/fuzz-artifacts/" >&2
        tail -40 "$log" >&2
        rc=1
    fi
done
[ $rc = 0 ] && echo "fuzz: every target ran ${T} s without a crash, leak, timeout or sanitizer report" >&2
exit $rc
