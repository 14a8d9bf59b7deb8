/* bench_linear.c - the linear maps of encrypted inference (nn/linear.h) alone, single thread:
 * for each stage of the default Fashion-MNIST network (random weights, N = 2^15 plan), one
 * group of outputs (the blocks the encrypted pass computes together) over N/8 coefficients of
 * one RNS limb, in windows of BEAA_NN_FUSE_COLS as the pass's tasks (every block over a window,
 * then the next window: the inputs the blocks share are read from cache), by the exact dgemm
 * path, by the one-pass AVX2 FMA loop (nn/linear_fma.c, path avx2-fma) and by the kernel
 * table's lin_dot (AVX-512 IFMA), where the CPU has them, alternating, minimum and median of
 * repeats; every path twice per repeat, first with the inputs evicted from the caches (rows
 * cold_*: in the encrypted pass they come from memory), then at once again (from cache: for
 * small groups several times, up to WARM_S of warm passes per repeat).
 * Validates each against the 128-bit reference first. Reports time, multiply-accumulates per
 * second, bytes the task reads and writes, and the fraction of the core's peak. For lin_dot and
 * dgemm: products per second against 4 per IFMA instruction slot (a measured IFMA throughput),
 * the rate of any method with two 8-lane multiplies per product (dgemm: 2 FMAs on the split
 * residue; Zen 4 issues FMA and IFMA at one 512-bit instruction per cycle); lin_dot multiplies
 * pairs of terms (Winograd: one IFMA pair per two products) and can pass 1. For avx2-fma: two
 * 4-lane FMAs per 4 products against the 256-bit FMA rate of a tight loop.
 * Usage: bench_linear [--quick]. CSV rows benchmark,params,metric,value,unit. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include "lib/cpu.h"
#include "lib/mem.h"
#include "ckks/ckks.h"
#include "ckks/kernels/kernels.h"
#include "ckks/kernels/avx512/avx512.h"
#include "nn/fold.h"
#include "nn/linear.h"
#include "nn/plan.h"
#include "nn/quant.h"
#include "nn/schedule.h"
#include "train/arch.h"
#include "bench/common/bench_util.h"

#define WARM_S 5e-3 /* seconds of warm passes per repeat and path */
#define WARM_MAX 32 /* at most this many */
#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#include <immintrin.h>
#define HAVE_X86 1
#endif

static double cpu_s(void)
{
    struct timespec t;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

static int cmp_d(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

#ifdef HAVE_X86
/* 512-bit multiply-add instructions per second of this core: 16 independent IFMA chains. */
__attribute__((target("avx512f,avx512ifma"))) static double ifma_rate(void)
{
    __m512i a[16];
    for (int i = 0; i < 16; i++) a[i] = _mm512_set1_epi64(i);
    __m512i x = _mm512_set1_epi64(12345), y = _mm512_set1_epi64(678);
    const long it = 2000000;
    double t0 = cpu_s();
    for (long n = 0; n < it; n++) {
#pragma GCC unroll 16
        for (int i = 0; i < 16; i++) a[i] = _mm512_madd52lo_epu64(a[i], x, y);
        __asm__ volatile("" : "+v"(x));
    }
    double t = cpu_s() - t0;
    __m512i s = a[0];
    for (int i = 1; i < 16; i++) s = _mm512_add_epi64(s, a[i]);
    volatile long long sink = _mm512_reduce_add_epi64(s);
    (void)sink;
    return 16.0 * (double)it / t;
}
/* 256-bit FMA instructions per second of this core: 12 independent chains (12 + 2 registers,
 * no spills; 12 > latency x ports on the CPUs we know). The avx2-fma path
 * spends two per 4 products (the two halves of each residue), so its peak is 2x this rate. */
__attribute__((target("avx2,fma"))) static double fma_rate(void)
{
    __m256d a[12];
    for (int i = 0; i < 12; i++) a[i] = _mm256_set1_pd((double)i);
    __m256d x = _mm256_set1_pd(0.999999), y = _mm256_set1_pd(1e-9);
    const long it = 5000000;
    double t0 = cpu_s();
    for (long n = 0; n < it; n++) {
#pragma GCC unroll 12
        for (int i = 0; i < 12; i++) a[i] = _mm256_fmadd_pd(a[i], x, y);
        __asm__ volatile("" : "+x"(x));
    }
    double t = cpu_s() - t0;
    __m256d s = a[0];
    for (int i = 1; i < 12; i++) s = _mm256_add_pd(s, a[i]);
    double o[4];
    _mm256_storeu_pd(o, s);
    volatile double sink = o[0] + o[1] + o[2] + o[3];
    (void)sink;
    return 12.0 * (double)it / t;
}
#endif

/* Evicts the benchmark's data from every cache level: writes a buffer of twice the last-level
 * cache (64 MiB to 512 MiB; sysconf's L3 size where the C library knows it). */
static void evict(int round)
{
    static unsigned char *buf;
    static size_t len;
    static int tried;
    if (!tried) {
        tried = 1;
        long l3 = 0;
#ifdef _SC_LEVEL3_CACHE_SIZE
        l3 = sysconf(_SC_LEVEL3_CACHE_SIZE);
#endif
        len = l3 > 0 ? 2 * (size_t)l3 : 0;
        if (len < ((size_t)64 << 20)) len = (size_t)64 << 20;
        if (len > ((size_t)512 << 20)) len = (size_t)512 << 20;
        buf = malloc(len);
        if (!buf) {
            fprintf(stderr, "bench_linear: no memory to evict the caches: cold rows are warm\n");
            return;
        }
    }
    if (!buf) return;
    memset(buf, round & 0xff, len);
    __asm__ volatile("" : : "r"(buf) : "memory");
}

typedef struct gctx {
    const beaa_nn_qstage *qs;
    beaa_nn_linblock *gb;
    size_t ngb;
} gctx;

static void visit(void *user, uint32_t b)
{
    gctx *g = user;
    g->gb[g->ngb++] = g->qs->blocks[b];
}

int main(int argc, char **argv)
{
    const int quick = bench_parse_quick("bench_linear", argc, argv);
    if (quick < 0) return 2;
    int reps = quick ? 3 : 9;
    bench_rng_seed(0x11ea5ull);
    beaa_model *m = NULL;
    if (beaa_train_arch_squeezenet(1, 28, 28, 10, BEAA_ACT_POLY, BEAA_POLY_ELEMENT, 0, &m) != BEAA_OK)
        return 1;
    bench_model_fill_random(m);
    beaa_nn_net *net = NULL;
    beaa_nn_schedule *sc = NULL;
    beaa_nn_plan plan;
    beaa_nn_plan_opts o;
    beaa_nn_plan_opts_default(&o);
    o.batch = 10000;
    beaa_ckks_context *ctx = NULL;
    beaa_nn_qnet *qn = NULL;
    if (beaa_nn_net_fold(m, &net) != BEAA_OK || beaa_nn_plan_make(net, &o, &plan) != BEAA_OK ||
        beaa_ckks_context_new(&plan.spec, &ctx) != BEAA_OK ||
        beaa_nn_quantize(net, &plan, ctx, &qn) != BEAA_OK || beaa_nn_schedule_make(net, &sc) != BEAA_OK) {
        fprintf(stderr, "bench_linear: setup failed\n");
        return 1;
    }
    const beaa_kernels *kern = beaa_kernels_get();
    printf("benchmark,params,metric,value,unit\n");
    double rate = 0;
#ifdef HAVE_X86
    if (beaa_cpu_supports(BEAA_ISA_AVX512)) rate = ifma_rate();
#endif
    if (rate > 0) printf("linear,-,ifma_instructions_per_s,%.4g,1/s\n", rate);
    double frate = 0;
#ifdef HAVE_X86
    if (beaa_cpu_supports(BEAA_ISA_AVX2)) frate = fma_rate();
#endif
    if (frate > 0) printf("linear,-,fma256_instructions_per_s,%.4g,1/s\n", frate);
    const size_t n = beaa_ckks_context_n(ctx) / 8;
    const size_t W = n < BEAA_NN_FUSE_COLS ? n : BEAA_NN_FUSE_COLS; /* the pass's window */
    const beaa_modulus *q = beaa_ckks_context_q(ctx, 1);
    for (uint32_t si = 0; si < net->nstages; si++) {
        const beaa_nn_stage *s = &net->stages[si];
        const beaa_nn_qstage *qs = &qn->stages[si];
        size_t nin = (size_t)s->cin * s->hin * s->win;
        gctx g = { qs, malloc(sizeof(beaa_nn_linblock) * (qs->nblocks + 1)), 0 };
        /* the middle group of the stage (away from the borders) */
        beaa_nn_sched_group_blocks(net, sc, si, sc->stages[si].ngroups / 2, visit, &g);
        uint64_t **in = calloc(nin, sizeof *in), **out = calloc(2 * qs->nout, sizeof *out),
                 **ref = calloc(2 * qs->nout, sizeof *ref);
        double *work = malloc(sizeof(double) * beaa_nn_linear_work_doubles(qs->kmax, qs->mmax));
        size_t macs = 0, words_in = 0, words_out = 0;
        for (size_t b = 0; b < g.ngb; b++) {
            macs += (size_t)g.gb[b].k * g.gb[b].m * n;
            words_in += (size_t)g.gb[b].k * n;
            words_out += (size_t)g.gb[b].m * n;
            for (int32_t c = 0; c < g.gb[b].k; c++) {
                int32_t i = g.gb[b].in[c];
                if (in[i]) continue;
                in[i] = beaa_alloc(n * 8);
                for (size_t t = 0; t < n; t++) in[i][t] = (uint64_t)bench_urand(0, (double)q->q) % q->q;
            }
            for (int32_t r = 0; r < g.gb[b].m; r++) {
                out[g.gb[b].out[r]] = beaa_alloc(n * 8);
                ref[g.gb[b].out[r]] = beaa_alloc(n * 8);
            }
        }
        beaa_nn_linear_range_ref(g.gb, g.ngb, ref, (const uint64_t *const *)in, 1, q, 0, n);
        int can_dot = beaa_nn_linear_range_dot(kern, g.gb, g.ngb, out, (const uint64_t *const *)in,
                                               1, q, 0, n, work);
        int can_fma = beaa_nn_linear_range_fma(g.gb, g.ngb, out, (const uint64_t *const *)in, 1, q,
                                               0, n, work);
        int bad = 0;
        for (int path = 0; path < 3; path++) {
            if (path == 0) beaa_nn_linear_range_gemm(g.gb, g.ngb, out, (const uint64_t *const *)in, 1, q, 0, n, work);
            else if (path == 1 && can_dot)
                beaa_nn_linear_range_dot(kern, g.gb, g.ngb, out, (const uint64_t *const *)in, 1, q, 0, n, work);
            else if (path == 2 && can_fma)
                beaa_nn_linear_range_fma(g.gb, g.ngb, out, (const uint64_t *const *)in, 1, q, 0, n, work);
            else continue;
            for (size_t b = 0; b < g.ngb; b++)
                for (int32_t r = 0; r < g.gb[b].m; r++)
                    bad |= memcmp(out[g.gb[b].out[r]], ref[g.gb[b].out[r]], n * 8) != 0;
        }
        /* the avx512 table's two tilings, as tables of their own */
        beaa_kernels tile[2];
        int ntile = can_dot && kern == &beaa_kernels_avx512 ? 2 : 0;
        for (int v = 0; v < ntile; v++) {
            tile[v] = *kern;
            tile[v].lin_dot = v ? beaa_lin_dot_avx512_pairs : beaa_lin_dot_avx512_plain;
            beaa_nn_linear_range_dot(&tile[v], g.gb, g.ngb, out, (const uint64_t *const *)in, 1, q, 0, n, work);
            for (size_t b = 0; b < g.ngb; b++)
                for (int32_t r = 0; r < g.gb[b].m; r++)
                    bad |= memcmp(out[g.gb[b].out[r]], ref[g.gb[b].out[r]], n * 8) != 0;
        }
        if (bad) { fprintf(stderr, "bench_linear: stage %u: results differ from the reference\n", si + 1); return 1; }
        /* timed as the pass runs them: every block over one window of W columns, then the next.
         * Each path twice per repeat: first with the inputs evicted from every cache (the pass
         * reads them from memory: "cold"), then again at once (from cache: "warm") */
        const uint64_t *const *ci = (const uint64_t *const *)in;
        /* the warm pass is repeated within each repeat until it has run WARM_S (at most
         * WARM_MAX times): a small group takes tens of microseconds, and a handful of samples
         * of it on a shared machine gave minima twice apart between runs */
        double tw[5][64 * WARM_MAX], tc[5][64];
        int nw[5] = { 0 }, wreps[5] = { 0 };
        for (int r = 0; r < reps; r++)
            for (int path = 0; path < 5; path++) {
                if ((path == 1 && !can_dot) || (path == 2 && !can_fma) ||
                    (path >= 3 && path - 3 >= ntile))
                    continue;
                const beaa_kernels *kt = path >= 3 ? &tile[path - 3] : kern;
                for (int pass = 0; pass < 1 + (wreps[path] ? wreps[path] : 1); pass++) {
                    if (pass == 0) evict(r);
                    double t0 = cpu_s();
                    for (size_t lo = 0; lo < n; lo += W) {
                        if (path == 0)
                            beaa_nn_linear_range_gemm(g.gb, g.ngb, out, ci, 1, q, lo, lo + W, work);
                        else if (path == 2)
                            beaa_nn_linear_range_fma(g.gb, g.ngb, out, ci, 1, q, lo, lo + W, work);
                        else
                            beaa_nn_linear_range_dot(kt, g.gb, g.ngb, out, ci, 1, q, lo, lo + W, work);
                    }
                    double dt = cpu_s() - t0;
                    if (pass == 0) {
                        tc[path][r] = dt;
                        continue;
                    }
                    tw[path][nw[path]++] = dt;
                    if (!wreps[path]) { /* the first warm pass sets the count */
                        double k = dt > 0 ? WARM_S / dt : WARM_MAX;
                        wreps[path] = k < 1 ? 1 : k > WARM_MAX ? WARM_MAX : (int)k;
                    }
                }
            }
        for (int path = 0; path < 5; path++) {
            qsort(tw[path], (size_t)nw[path], sizeof *tw[path], cmp_d);
            qsort(tc[path], (size_t)reps, sizeof *tc[path], cmp_d);
        }
        const double *tg = tw[0], *td = tw[1], *tf = tw[2];
        char p[160];
        snprintf(p, sizeof p, "stage=%u;blocks=%zu;kmax=%d;mmax=%d;n=%zu;window=%zu", si + 1, g.ngb,
                 qs->kmax, qs->mmax, n, W);
        printf("linear,%s,macs,%zu,count\n", p, macs);
        printf("linear,%s,bytes_read_written,%.1f,KiB\n", p, (double)(words_in + words_out) * 8 / 1024);
        for (int path = 0; path < 3; path++) {
            if ((path == 1 && !can_dot) || (path == 2 && !can_fma)) continue;
            const double *t = path == 2 ? tf : path ? td : tg;
            const char *nm = path == 2 ? "avx2-fma" : path ? kern->name : "dgemm";
            printf("linear,%s;path=%s,min_time,%.2f,us\n", p, nm, 1e6 * t[0]);
            printf("linear,%s;path=%s,median_time,%.2f,us\n", p, nm, 1e6 * t[nw[path] / 2]);
            printf("linear,%s;path=%s,gmacs,%.2f,1e9/s\n", p, nm, (double)macs / t[0] / 1e9);
            printf("linear,%s;path=%s,cold_min_time,%.2f,us\n", p, nm, 1e6 * tc[path][0]);
            printf("linear,%s;path=%s,cold_median_time,%.2f,us\n", p, nm, 1e6 * tc[path][reps / 2]);
            printf("linear,%s;path=%s,cold_gmacs,%.2f,1e9/s\n", p, nm, (double)macs / tc[path][0] / 1e9);
            if (rate > 0 && path != 2)
                printf("linear,%s;path=%s,fraction_of_peak,%.3f,1\n", p, nm,
                       (double)macs / 4.0 / t[0] / rate);
            if (frate > 0 && path == 2)
                printf("linear,%s;path=%s,fraction_of_peak,%.3f,1\n", p, nm,
                       (double)macs / 2.0 / t[0] / frate);
        }
        for (int v = 0; v < ntile; v++) {
            const char *nm = v ? "avx512-pairs" : "avx512-plain";
            const double *t = tw[3 + v], *c = tc[3 + v];
            printf("linear,%s;path=%s,min_time,%.2f,us\n", p, nm, 1e6 * t[0]);
            printf("linear,%s;path=%s,median_time,%.2f,us\n", p, nm, 1e6 * t[nw[3 + v] / 2]);
            printf("linear,%s;path=%s,gmacs,%.2f,1e9/s\n", p, nm, (double)macs / t[0] / 1e9);
            printf("linear,%s;path=%s,cold_gmacs,%.2f,1e9/s\n", p, nm, (double)macs / c[0] / 1e9);
        }
        if (can_dot) printf("linear,%s,dgemm_over_%s,%.2f,x\n", p, kern->name, tg[0] / td[0]);
        if (can_fma) printf("linear,%s,dgemm_over_avx2-fma,%.2f,x\n", p, tg[0] / tf[0]);
        if (ntile) printf("linear,%s,pairs_over_plain,%.3f,x\n", p, tw[4][0] / tw[3][0]);
        fflush(stdout);
        for (size_t i = 0; i < nin; i++) beaa_free(in[i]);
        for (size_t i = 0; i < 2 * qs->nout; i++) { beaa_free(out[i]); beaa_free(ref[i]); }
        free(in); free(out); free(ref); free(work); free(g.gb);
    }
    beaa_nn_schedule_free(sc);
    beaa_nn_qnet_free(qn);
    beaa_ckks_context_free(ctx);
    beaa_nn_net_free(net);
    beaa_model_free(m);
    return 0;
}
