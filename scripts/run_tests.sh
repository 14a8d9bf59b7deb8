#!/bin/sh
# run_tests.sh - runs each Check runner given (or shell script: a name ending in .sh runs under
# sh), prints a summary line, fails if any failed.
# Idle OpenMP workers sleep instead of spinning: many short runners share 2 cores.
export OMP_WAIT_POLICY="${OMP_WAIT_POLICY:-PASSIVE}"
pass=0; fail=0; failed=""
for t in "$@"; do
    echo "== $t"
    case "$t" in *.sh) run="sh $t" ;; *) run="$t" ;; esac
    if $run; then pass=$((pass+1)); else fail=$((fail+1)); failed="$failed $t"; fi
done
echo "test runners: $pass passed, $fail failed"
[ "$fail" = 0 ] || { echo "failed:$failed"; exit 1; }
