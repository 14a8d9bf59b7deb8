#!/bin/sh
# bench_scale.sh - the measurements of docs/scale.md: the main job (the shipped model, the 10,000
# Fashion-MNIST test images in one batch, N = 2^15) run by `beaa infer` in one process (1 rank x
# T threads) and by `mpirun -np R beaa-mpi` (R ranks x 1 thread), alternated (A B A B ...), and
# out of core under a memory limit; every logits file compared byte for byte with the first.
# CSV rows (benchmark,params,metric,value,unit) on stdout, progress on stderr.
#   sh scripts/bench_scale.sh [WORKDIR] [REPEATS] [MEMLIMIT]
# WORKDIR (default /tmp/beaa-scale) gets the keys and the 3.5 GB ciphertext file (removed at the
# end); REPEATS (default 2) rounds of the alternation; MEMLIMIT (default 3G) for the out-of-core
# run. Needs about 6 GiB of free memory (one run at a time) and 8 GB of disk.
# The paper's CIFAR-10 geometry: CIFAR=1 (needs 17 GiB free memory and 30 GB of disk) runs it at
# batch 16,384 under --mem-limit 16G and with 2 ranks, and compares the logits.
set -eu
W=${1:-/tmp/beaa-scale}
REP=${2:-2}
LIM=${3:-3G}
MPIRUN=${MPIRUN:-mpirun}
ROOT=""
[ "$(id -u)" = 0 ] && ROOT="--allow-run-as-root"
BEAA=bin/beaa
MPI="$MPIRUN --oversubscribe --bind-to none $ROOT"
MODEL=models/fmnist-beaa.model
IMG=/usr/share/datasets/fashion-mnist/t10k-images-idx3-ubyte.gz
for b in bin/beaa bin/beaa-mpi build/bench/bench_paper; do
    [ -x "$b" ] || { echo "bench_scale: $b not built (make tools bin/beaa-mpi bench-build)" >&2; exit 1; }
done
mkdir -p "$W"
# the large files go at the end; the logs stay in WORKDIR
trap 'rm -f "$W"/ct "$W"/cifar_ct "$W"/lg_* "$W"/sk "$W"/keys "$W"/cifar_sk "$W"/cifar_keys' EXIT
say() { echo "bench_scale: $*" >&2; }
row() { echo "scale,$1,$2,$3,$4"; }
load() { cut -d' ' -f1 /proc/loadavg; }
# `/usr/bin/time -v` line "Maximum resident set size (kbytes): K" -> MiB
maxrss() { awk -F': ' '/Maximum resident set size/ { printf "%.1f", $2 / 1024 }' "$1"; }
# user + system CPU seconds (of mpirun's children too: the ranks)
cpu() { awk -F': ' '/User time|System time/ { s += $2 } END { printf "%.2f", s }' "$1"; }
elapsed() { awk -F': ' '/Elapsed \(wall clock\)/ { n = split($2, p, ":"); s = 0; for (i = 1; i <= n; i++) s = s * 60 + p[i]; printf "%.2f", s }' "$1"; }

say "keys and the 10,000 encrypted test images in $W"
$BEAA keygen --model $MODEL --secret "$W/sk" --keys "$W/keys" --overwrite >&2
$BEAA encrypt --model $MODEL --secret "$W/sk" --images $IMG --out "$W/ct" --overwrite >&2
echo "benchmark,params,metric,value,unit"
row "machine" "load_before" "$(load)" "1"
i=0
while [ $i -lt "$REP" ]; do
    i=$((i + 1))
    say "round $i: 1 rank x 2 threads"
    l=$(load)
    /usr/bin/time -v $BEAA infer --model $MODEL --keys "$W/keys" --in "$W/ct" --out "$W/lg_one" --threads 2 \
        --overwrite 2> "$W/one.log" || { cat "$W/one.log" >&2; exit 1; }
    fwd=$(sed -n 's/.*encrypted forward pass of [0-9]* images: \([0-9.]*\) s.*/\1/p' "$W/one.log")
    row "config=1x2;round=$i" "forward" "$fwd" "s"
    row "config=1x2;round=$i" "wall" "$(elapsed "$W/one.log")" "s"
    row "config=1x2;round=$i" "cpu" "$(cpu "$W/one.log")" "s"
    row "config=1x2;round=$i" "peak_rss" "$(maxrss "$W/one.log")" "MiB"
    row "config=1x2;round=$i" "load" "$l" "1"
    say "round $i: 2 ranks x 1 thread"
    l=$(load)
    /usr/bin/time -v $MPI -np 2 bin/beaa-mpi infer --model $MODEL --keys "$W/keys" --in "$W/ct" \
        --out "$W/lg_two" --threads 1 --overwrite --stats "$W/mpi.csv" 2> "$W/two.log" ||
        { cat "$W/two.log" >&2; exit 1; }
    cmp -s "$W/lg_one" "$W/lg_two" || { say "2-rank logits differ from 1 process"; exit 1; }
    fwd=$(sed -n 's/.*batch 0 ([0-9]* images): \([0-9.]*\) s.*/\1/p' "$W/two.log")
    row "config=2x1;round=$i" "forward" "$fwd" "s"
    row "config=2x1;round=$i" "wall" "$(elapsed "$W/two.log")" "s"
    row "config=2x1;round=$i" "cpu" "$(cpu "$W/two.log")" "s"
    row "config=2x1;round=$i" "load" "$l" "1"
    for m in peak_rss time compute; do
        sed -n "s/^mpi_infer,[^,]*;rank=\\([0-9]*\\),$m,\\([0-9.]*\\),\\([A-Za-z]*\\)$/\\1 \\2 \\3/p" "$W/mpi.csv" |
            while read -r r v u; do row "config=2x1;round=$i;rank=$r" "$m" "$v" "$u"; done
    done
    cp "$W/two.log" "$W/two_$i.log"
    sed -n 's/^mpi_infer,[^,]*;stage=\([0-9]*\),sent_bytes,\([0-9.]*\),B$/\1 \2/p' "$W/mpi.csv" |
        while read -r s v; do row "config=2x1;round=$i;stage=$s" "sent_bytes" "$v" "B"; done
done
say "out of core: --mem-limit $LIM, 2 threads"
/usr/bin/time -v $BEAA infer --model $MODEL --keys "$W/keys" --in "$W/ct" --out "$W/lg_ooc" --threads 2 \
    --mem-limit "$LIM" --scratch "$W" --overwrite 2> "$W/ooc.log" || { cat "$W/ooc.log" >&2; exit 1; }
cmp -s "$W/lg_one" "$W/lg_ooc" || { say "out-of-core logits differ from the run that fits"; exit 1; }
grep "plan:" "$W/ooc.log" >&2
fwd=$(sed -n 's/.*encrypted forward pass of [0-9]* images: \([0-9.]*\) s.*/\1/p' "$W/ooc.log")
sp=$(sed -n 's/.*spilled [0-9]* (\([0-9.]*\) MiB written).*/\1/p' "$W/ooc.log")
row "config=ooc;limit=$LIM" "forward" "$fwd" "s"
row "config=ooc;limit=$LIM" "peak_rss" "$(maxrss "$W/ooc.log")" "MiB"
row "config=ooc;limit=$LIM" "spilled" "$sp" "MiB"
row "config=ooc;limit=$LIM" "identical_logits" "1" "bool"
rm -f "$W/ct"

[ "${CIFAR:-0}" = 1 ] || exit 0
say "the paper's CIFAR-10 geometry (3x32x32, random weights), batch 16384"
build/bench/bench_paper --save-model "$W/cifar.model" >&2
$BEAA keygen --model "$W/cifar.model" --batch 16384 --secret "$W/cifar_sk" --keys "$W/cifar_keys" --overwrite >&2
$BEAA encrypt --model "$W/cifar.model" --secret "$W/cifar_sk" --random 16384 --out "$W/cifar_ct" --overwrite >&2
/usr/bin/time -v $BEAA infer --model "$W/cifar.model" --keys "$W/cifar_keys" --in "$W/cifar_ct" \
    --out "$W/lg_cifar_ooc" --threads 2 --mem-limit 16G --scratch "$W" --overwrite 2> "$W/cifar_ooc.log" ||
    { cat "$W/cifar_ooc.log" >&2; exit 1; }
grep "plan:\|forward pass\|peak memory" "$W/cifar_ooc.log" >&2
fwd=$(sed -n 's/.*encrypted forward pass of [0-9]* images: \([0-9.]*\) s.*/\1/p' "$W/cifar_ooc.log")
sp=$(sed -n 's/.*spilled [0-9]* (\([0-9.]*\) MiB written).*/\1/p' "$W/cifar_ooc.log")
row "config=cifar;limit=16G;threads=2" "forward" "$fwd" "s"
row "config=cifar;limit=16G;threads=2" "wall" "$(elapsed "$W/cifar_ooc.log")" "s"
row "config=cifar;limit=16G;threads=2" "peak_rss" "$(maxrss "$W/cifar_ooc.log")" "MiB"
row "config=cifar;limit=16G;threads=2" "spilled" "$sp" "MiB"
/usr/bin/time -v $MPI -np 2 bin/beaa-mpi infer --model "$W/cifar.model" --keys "$W/cifar_keys" \
    --in "$W/cifar_ct" --out "$W/lg_cifar_mpi" --threads 1 --overwrite --stats "$W/cifar_mpi.csv" \
    2> "$W/cifar_mpi.log" || { cat "$W/cifar_mpi.log" >&2; exit 1; }
cmp -s "$W/lg_cifar_ooc" "$W/lg_cifar_mpi" || { say "CIFAR: 2-rank logits differ from out of core"; exit 1; }
fwd=$(sed -n 's/.*batch 0 ([0-9]* images): \([0-9.]*\) s.*/\1/p' "$W/cifar_mpi.log")
row "config=cifar;ranks=2;threads=1" "forward" "$fwd" "s"
sed -n 's/^mpi_infer,[^,]*;rank=\([0-9]*\),peak_rss,\([0-9.]*\),MiB$/\1 \2/p' "$W/cifar_mpi.csv" |
    while read -r r v; do row "config=cifar;ranks=2;rank=$r" "peak_rss" "$v" "MiB"; done
row "config=cifar" "identical_logits_ooc_vs_2_ranks" "1" "bool"
