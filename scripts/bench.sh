#!/bin/sh
# bench.sh - `make bench`: the BEAA paper's experiments measured on this machine, as one report.
# Runs each step (one benchmark program each), prints a progress line per step on stderr, and
# collects every CSV row (benchmark,params,metric,value,unit) in <out>/results.csv; then
# bench_report writes <out>/report.md and the PNG plots. A step that needs more memory than the
# machine has is skipped with a row saying how much it needs; a step that fails is recorded and
# the rest still runs. docs/bench.md explains the report.
#
# usage: scripts/bench.sh [--quick] [--with-paper] [--out DIR]
#   --out DIR  result folder (default bench/results/<date>-<cpu>, with --quick build/bench-quick;
#              an existing folder is never overwritten: a suffix -2, -3, ... is added)
#   --quick    smoke run: N=2^11 (insecure ring), small batches, one image per channel-wise row,
#              short CKKS/kernel benchmarks; checks the pipeline in a minute, measures nothing
#   --with-paper  also the paper's CIFAR-10 geometry (make bench-paper: batch 4096, a few minutes)
# environment: BUILD (build folder, default build), BENCH_MODELS (model folder, default models),
#              BENCH_SEED (where keys and encryption noise come from: a text = an insecure
#              experiment seed, so two runs give identical encrypted accuracies; default
#              "beaa-bench"; "os" = fresh OS entropy as in real use),
#              BEAA_THREADS, BEAA_BENCH_MEM_MIB (pretend the
#              machine has this much memory, MiB), BENCH_CW_IMAGES (images per channel-wise row)
set -u
quick=0
paper=0
out=""
while [ $# -gt 0 ]; do
    case "$1" in
    --quick) quick=1 ;;
    --with-paper) paper=1 ;;
    --out) [ $# -ge 2 ] || { echo "bench.sh: --out needs a folder" >&2; exit 2; }; out=$2; shift ;;
    *) echo "usage: scripts/bench.sh [--quick] [--with-paper] [--out DIR]" >&2; exit 2 ;;
    esac
    shift
done
cd "$(dirname "$0")/.." || exit 1
B=${BUILD:-build}/bench
M=${BENCH_MODELS:-models}
for p in bench_models bench_elementwise bench_channelwise bench_ckks bench_kernels bench_linear bench_paper bench_report; do
    [ -x "$B/$p" ] || { echo "bench.sh: $B/$p is not built (run: make bench)" >&2; exit 1; }
done
missing=""
for m in relu layer channel element layer-kd channel-kd beaa; do
    [ -f "$M/fmnist-$m.model" ] || missing="$missing $M/fmnist-$m.model"
done
if [ -n "$missing" ]; then
    echo "bench.sh: model files not found:$missing (they are shipped in models/; restore them with" >&2
    echo "  git checkout models/, or retrain them with: make models)" >&2
    exit 1
fi

isa=$(grep -m1 -o -w avx512ifma /proc/cpuinfo >/dev/null && echo avx512 ||
      { grep -m1 -o -w avx2 /proc/cpuinfo >/dev/null && echo avx2 || echo ref; })
cpu_name=$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -1)
cpu_fam=$(sed -n 's/^cpu family[[:space:]]*: //p' /proc/cpuinfo | head -1)
cpu_mod=$(sed -n 's/^model[[:space:]]*: //p' /proc/cpuinfo | head -1)
slug=$(printf '%s-f%sm%s-%s' "$cpu_name" "$cpu_fam" "$cpu_mod" "$isa" | tr 'A-Z' 'a-z' |
       sed 's/[^a-z0-9]\{1,\}/-/g; s/^-//; s/-$//')
if [ -z "$out" ]; then
    if [ "$quick" = 1 ]; then out="${BUILD:-build}/bench-quick"; else out="bench/results/$(date -u +%Y-%m-%d)-$slug"; fi
fi
if [ -e "$out" ]; then
    i=2
    while [ -e "$out-$i" ]; do i=$((i + 1)); done
    out="$out-$i"
fi
mkdir -p "$out" || exit 1
csv="$out/results.csv"
echo "benchmark,params,metric,value,unit" > "$csv"
log="$out/bench.log"
: > "$log"

if [ "$quick" = 1 ]; then
    ring="--log-n 11 --insecure"
    fig7="256 1024"
    ew_batch=1024
    cw_images=1
    ckks_opt="--quick"
    kern_opt="--quick"
    paper_opt="--batch 512 --log-n 11 --insecure"
else
    ring=""
    fig7="1024 2048 4096 8192 10000 16384"
    ew_batch=10000
    cw_images=${BENCH_CW_IMAGES:-10}
    ckks_opt=""
    kern_opt=""
    paper_opt=""
fi

seed=${BENCH_SEED-beaa-bench}
[ -n "$seed" ] || seed=os
case "$seed" in *[!A-Za-z0-9._-]*) echo "bench.sh: BENCH_SEED may hold only letters, digits and . _ -" >&2; exit 2 ;; esac
ring="$ring --seed $seed"

# Machine and parameters (text values have no commas).
clean() { printf '%s' "$1" | tr ',\n' '; '; }
threads=${BEAA_THREADS:-$(nproc)}
mem_gib=$(awk '/^MemTotal/ {printf "%.1f", $2 / 1048576}' /proc/meminfo)
flags=$(for f in avx2 fma avx512f avx512ifma; do grep -m1 -o -w "$f" /proc/cpuinfo; done | tr '\n' ' ')
commit=$(git rev-parse --short=12 HEAD 2>/dev/null || echo unknown)
dirty=$(git status --porcelain --untracked-files=no 2>/dev/null | grep -q . && echo " (with uncommitted changes)")
cmd="scripts/bench.sh"
[ "$quick" = 1 ] && cmd="$cmd --quick"
{
    echo "machine,-,cpu_model,$(clean "$cpu_name"),text"
    echo "machine,-,cpu_family_model,$cpu_fam/$cpu_mod,text"
    echo "machine,-,cpu_flags,$(clean "$flags"),text"
    echo "machine,-,cores,$(nproc),count"
    echo "machine,-,threads,$threads,count"
    echo "machine,-,kernel_set,${BEAA_ARCH:-$isa},name"
    echo "machine,-,memory,$mem_gib,GiB"
    echo "machine,-,git_commit,$(clean "$commit$dirty"),text"
    echo "machine,-,command,$(clean "$cmd"),text"
    echo "machine,-,date,$(date -u +%Y-%m-%dT%H:%MZ),text"
    echo "machine,-,quick,$quick,flag"
    echo "machine,-,kernel,$(clean "$(uname -sr)"),text"
    echo "machine,-,randomness,$seed,text"
} >> "$csv"

steps=$((1 + $(echo $fig7 | wc -w) + 5 + 3 + 4 + paper))
n=0
start=$(date +%s)
# step LABEL CMD...: runs CMD, appends its rows (header dropped) to results.csv, its stderr to
# bench.log; records the load before and after and the step's wall time.
step() {
    label=$1
    shift
    n=$((n + 1))
    load0=$(cut -d' ' -f1 /proc/loadavg)
    echo "[bench $n/$steps, $(( $(date +%s) - start )) s] $label (load $load0)" >&2
    t0=$(date +%s)
    echo "== $label: $*" >> "$log"
    "$@" > "$out/step.csv" 2>> "$log"
    rc=$?
    grep -v '^benchmark,params,metric,value,unit$' "$out/step.csv" >> "$csv"
    rm -f "$out/step.csv"
    t1=$(date +%s)
    lbl=$(clean "$label")
    echo "step,$lbl,wall,$((t1 - t0)),s" >> "$csv"
    echo "step,$lbl,load_before,$load0,loadavg" >> "$csv"
    echo "step,$lbl,load_after,$(cut -d' ' -f1 /proc/loadavg),loadavg" >> "$csv"
    if [ $rc != 0 ]; then
        echo "step,$lbl,failed,$rc,exit" >> "$csv"
        echo "[bench] $label FAILED (exit $rc); see $log" >&2
        tail -3 "$log" | sed 's/^/    /' >&2
    fi
    return 0
}

step "models: parameters, activation counts, plaintext accuracy (Table 3, ReLU row)" \
    "$B/bench_models" relu=$M/fmnist-relu.model layer=$M/fmnist-layer.model \
    channel=$M/fmnist-channel.model element=$M/fmnist-element.model \
    layer-kd=$M/fmnist-layer-kd.model channel-kd=$M/fmnist-channel-kd.model \
    element-kd=$M/fmnist-beaa.model
for b in $fig7; do
    step "Figure 7: element-wise + KD model, batch $b" \
        "$B/bench_elementwise" --model $M/fmnist-beaa.model --name element-kd --batch "$b" $ring
done
for m in element layer channel layer-kd channel-kd; do
    step "Table 1: $m model, element-wise packing, batch $ew_batch" \
        "$B/bench_elementwise" --model "$M/fmnist-$m.model" --name "$m" --batch $ew_batch $ring
done
for m in layer channel channel-kd; do
    step "Table 1: $m model, channel-wise packing, $cw_images images" \
        "$B/bench_channelwise" --model "$M/fmnist-$m.model" --name "$m" --images "$cw_images" $ring
done
tag() { sed "s/^\([^,]*\),\([^,]*\),/\1,\2;isa=$1,/"; }
ckks_ref() { BEAA_ARCH=ref "$B/bench_ckks" $ckks_opt | tag ref; }
ckks_best() { "$B/bench_ckks" $ckks_opt | tag "${BEAA_ARCH:-$isa}"; }
step "CKKS primitives, portable kernels (BEAA_ARCH=ref)" ckks_ref
step "CKKS primitives, $isa kernels" ckks_best
step "kernels, every ISA against ref" "$B/bench_kernels" $kern_opt
step "linear maps: exact dgemm, the AVX2 FMA loop and the kernel table's lin_dot" "$B/bench_linear" $kern_opt
if [ "$paper" = 1 ]; then
    step "the paper's CIFAR-10 geometry (3x32x32, random weights)" "$B/bench_paper" $paper_opt
fi

echo "[bench] report: $B/bench_report $out" >&2
"$B/bench_report" "$out" >> "$log" 2>&1 || { echo "bench.sh: bench_report failed; see $log" >&2; exit 1; }
echo "[bench] done in $(( $(date +%s) - start )) s: $out/report.md" >&2
