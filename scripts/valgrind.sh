#!/bin/sh
# valgrind.sh - Valgrind memcheck of the end-to-end tool flow on a small ring (make valgrind):
# beaa keygen -> encrypt -> infer -> decrypt (plain and flooded) -> info, on a 1x4x4 model (fuzz/gen/gen_corpus.c: tool_model) and 3
# images of the fuzz seed corpus, N = 2^10 (--insecure-small-ring). Any memcheck error or
# definite leak fails the run (exit 99 from the failing command). Valgrind does not implement
# AVX-512, so the kernel set is forced (BEAA_ARCH=avx2 unless set); one thread (BEAA_THREADS=1);
# the ciphertext block pool is off (BEAA_POOL_OFF=1) so memcheck sees every block as a heap block.
set -eu
d=$(mktemp -d /tmp/beaa-valgrind-XXXXXX)
trap 'rm -rf "$d"' EXIT
export BEAA_ARCH="${BEAA_ARCH:-avx2}" BEAA_THREADS=1 OMP_NUM_THREADS=1 BEAA_POOL_OFF=1 OMP_WAIT_POLICY=PASSIVE
VG="valgrind -q --error-exitcode=99 --leak-check=full --errors-for-leak-kinds=definite --show-leak-kinds=definite --track-origins=yes"
M=fuzz/corpus/model/tool-flow
I=fuzz/corpus/idx/images-gz
L=fuzz/corpus/idx/labels-gz
S="--log-n 10 --insecure-small-ring"
run() {
    echo "== valgrind ($BEAA_ARCH): beaa $1" >&2
    $VG bin/beaa "$@" >>"$d/out.txt" 2>>"$d/err.txt" || {
        echo "valgrind: beaa $1 failed (memcheck error, definite leak or exit status):" >&2
        cat "$d/err.txt" >&2
        exit 1
    }
}
run keygen --model $M --secret "$d/sk" --keys "$d/keys" --batch 3 $S
run encrypt --model $M --secret "$d/sk" --images $I --out "$d/in.ct" $S
run infer --model $M --keys "$d/keys" --in "$d/in.ct" --out "$d/lg.ct" $S
run decrypt --secret "$d/sk" --in "$d/lg.ct" --labels $L --out "$d/labels.txt" $S
run decrypt --secret "$d/sk" --in "$d/lg.ct" --flood 10 --out "$d/labels-flooded.txt" $S
run info "$d/keys"
run info "$d/in.ct"
test "$(wc -l < "$d/labels.txt")" -eq 3
echo "valgrind: keygen, encrypt, infer, decrypt (plain and flooded), info: 0 errors, 0 definite leaks ($BEAA_ARCH kernels)" >&2
