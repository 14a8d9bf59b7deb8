#!/bin/sh
# ctgrind.sh PROGRAM - runs the constant-time check (tests/valgrind/ct_secret.c) under memcheck
# with the portable and the AVX2 kernels (Valgrind has no AVX-512), one thread. Any report that
# tests/valgrind/ct.supp does not explain (docs/security.md) fails the run.
set -eu
P=${1:?usage: ctgrind.sh PROGRAM}
export BEAA_THREADS=1 OMP_NUM_THREADS=1 BEAA_POOL_OFF=1 OMP_WAIT_POLICY=PASSIVE
# the check of the check: a deliberate branch on a secret byte must be reported (exit 99)
set +e
valgrind -q --error-exitcode=99 "$P" --canary 2>/dev/null
rc=$?
set -e
[ $rc = 99 ] || { echo "ctgrind: memcheck did not report the canary's secret branch (exit $rc): the check is not working" >&2; exit 1; }
for a in ref avx2; do
    echo "== ctgrind: secret-dependent code, BEAA_ARCH=$a" >&2
    BEAA_ARCH=$a valgrind -q --error-exitcode=99 --track-origins=yes --leak-check=no \
        --suppressions=tests/valgrind/ct.supp "$P" || { echo "ctgrind: FAILED with BEAA_ARCH=$a" >&2; exit 1; }
done
echo "ctgrind: no secret-dependent branch or address (ref and avx2 kernels)" >&2
