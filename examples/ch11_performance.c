/* ch11_performance.c - chapter 11 of the course (docs/course/11-performance.md): kernels,
 * dispatch, threads, and the rows `make bench` prints.
 * 1. which kernel table the dispatcher chose (CPU features, BEAA_ARCH);
 * 2. the forward NTT and the element-wise product at N = 2^14 with every kernel table this CPU
 *    runs: the same bits as the portable reference, and the time of each (minimum of repeats);
 * 3. a multiply + relinearize + rescale with 1 and with 2 OpenMP threads: the same bits, and
 *    the wall time of each.
 * Timings are printed as the benchmark's CSV rows (benchmark,params,metric,value,unit); they
 * are measurements of this run on this machine, never checked.
 * Run: build/examples/ch11_performance */
#include <math.h>
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "lib/beaa.h"
#include "lib/parallel.h"

#define TRY(x)                                                                  \
    do {                                                                        \
        beaa_status s_ = (x);                                                   \
        if (s_ != BEAA_OK) {                                                    \
            fprintf(stderr, "%s failed: %s\n", #x, beaa_strerror(s_));           \
            return 1;                                                           \
        }                                                                       \
    } while (0)

#define LOG_N 14
#define N ((size_t)1 << LOG_N)
#define REPS 15

static double now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

int main(void)
{
    /* 1. Dispatch. */
    beaa_isa isa;
    beaa_status st = beaa_cpu_selected_isa(&isa);
    printf("CPU supports: avx2 %s, avx512 (IFMA) %s; best %s; selected %s (%s); kernel table '%s'\n",
           beaa_cpu_supports(BEAA_ISA_AVX2) ? "yes" : "no",
           beaa_cpu_supports(BEAA_ISA_AVX512) ? "yes" : "no", beaa_isa_name(beaa_cpu_best_isa()),
           beaa_isa_name(isa), st == BEAA_OK ? "BEAA_ARCH unset or honoured" : beaa_strerror(st),
           beaa_kernels_get()->name);
    int threads = beaa_parallel_init();
    printf("OpenMP threads: %d (BEAA_THREADS or all online cores)\n", threads);

    /* 2. Kernels against ref, and their times. */
    uint64_t q;
    TRY(beaa_ckks_primes_generate(&q, 1, 50, LOG_N, NULL, 0));
    beaa_ntt_tables *t = beaa_ntt_tables_new(q, LOG_N);
    uint64_t *a = beaa_alloc(N * 8), *b = beaa_alloc(N * 8), *r = beaa_alloc(N * 8),
             *want = beaa_alloc(N * 8), *prod = beaa_alloc(N * 8);
    if (!t || !a || !b || !r || !want || !prod) return 1;
    const beaa_modulus *m = beaa_ntt_tables_modulus(t);
    uint64_t s = 88172645463325252ull;
    for (size_t k = 0; k < N; k++) {
        s ^= s << 13; s ^= s >> 7; s ^= s << 17;
        a[k] = s % q;
        b[k] = (s >> 7) % q;
    }
    memcpy(want, a, N * 8);
    beaa_kernels_ref.ntt_fwd(t, want);
    beaa_kernels_ref.mul_mod(prod, a, b, N, m);
    const beaa_kernels *tables[3] = {&beaa_kernels_ref, &beaa_kernels_avx2, &beaa_kernels_avx512};
    const beaa_isa isas[3] = {BEAA_ISA_REF, BEAA_ISA_AVX2, BEAA_ISA_AVX512};
    size_t mismatches = 0;
    double ref_ntt = 0;
    printf("benchmark,params,metric,value,unit\n");
    for (int i = 0; i < 3; i++) {
        if (!beaa_cpu_supports(isas[i])) continue;
        const beaa_kernels *k = tables[i];
        double best = 1e9, best_mul = 1e9;
        for (int rep = 0; rep < REPS; rep++) {
            memcpy(r, a, N * 8);
            double t0 = now();
            k->ntt_fwd(t, r);
            best = fmin(best, now() - t0);
        }
        for (size_t j = 0; j < N; j++) mismatches += r[j] != want[j];
        for (int rep = 0; rep < REPS; rep++) {
            double t0 = now();
            k->mul_mod(r, a, b, N, m);
            best_mul = fmin(best_mul, now() - t0);
        }
        for (size_t j = 0; j < N; j++) mismatches += r[j] != prod[j];
        if (i == 0) ref_ntt = best;
        printf("ntt_fwd,N=%zu q=%ubit isa=%s,min,%.2f,us\n", N, m->bits, k->name, 1e6 * best);
        printf("ntt_fwd,N=%zu q=%ubit isa=%s,speedup_vs_ref,%.2f,x\n", N, m->bits, k->name,
               ref_ntt / best);
        printf("mul_mod,N=%zu q=%ubit isa=%s,min,%.2f,us\n", N, m->bits, k->name, 1e6 * best_mul);
    }
    printf("check: kernel_mismatches %zu\n", mismatches);

    /* 3. Threads: the CKKS layer runs its limb loops on OpenMP threads; every limb is computed
     *    by the same code whatever the thread, so the bits do not depend on the count. */
    unsigned bits[6] = {50, 50, 50, 50, 50, 50}; /* + two special primes: 400 <= 438 bits */
    beaa_ckks_params_spec spec;
    beaa_ckks_context *ctx;
    TRY(beaa_ckks_params_spec_make(&spec, LOG_N, bits, 6, 2, 50));
    TRY(beaa_ckks_context_new(&spec, &ctx));
    beaa_ckks_secret_key *sk;
    beaa_ckks_relin_key *rk;
    beaa_ckks_ciphertext *ct, *out[2];
    TRY(beaa_ckks_secret_key_gen(ctx, &sk));
    TRY(beaa_ckks_relin_key_gen(sk, &rk));
    const size_t slots = N / 2;
    double *v = malloc(slots * sizeof *v);
    if (!v) return 1;
    for (size_t j = 0; j < slots; j++) v[j] = sin((double)j);
    TRY(beaa_ckks_ciphertext_new(ctx, 2, 5, &ct));
    TRY(beaa_ckks_ciphertext_new(ctx, 2, 5, &out[0]));
    TRY(beaa_ckks_ciphertext_new(ctx, 2, 5, &out[1]));
    TRY(beaa_ckks_encrypt_sk_values(sk, v, slots, 0x1p25, 5, ct));
    double tt[2];
    for (int c = 0; c < 2; c++) {
        omp_set_num_threads(c + 1);
        tt[c] = 1e9;
        for (int rep = 0; rep < 5; rep++) {
            double t0 = now();
            TRY(beaa_ckks_mul_relin_rescale(ct, ct, rk, out[c]));
            tt[c] = fmin(tt[c], now() - t0);
        }
        printf("mul_relin_rescale,N=2^%d limbs=6 special=2,wall_min_threads=%d,%.2f,ms\n", LOG_N,
               c + 1, 1e3 * tt[c]);
    }
    omp_set_num_threads(threads);
    int differ = memcmp(out[0]->data, out[1]->data, (size_t)2 * (out[0]->level + 1) * N * 8) != 0;
    printf("1 thread %.2f ms, 2 threads %.2f ms (%.2fx on this machine, now); same bits: %s\n",
           1e3 * tt[0], 1e3 * tt[1], tt[0] / tt[1], differ ? "no" : "yes");
    printf("check: thread_differences %d\n", differ);

    beaa_ckks_ciphertext_free(out[0]);
    beaa_ckks_ciphertext_free(out[1]);
    beaa_ckks_ciphertext_free(ct);
    beaa_ckks_relin_key_free(rk);
    beaa_ckks_secret_key_free(sk);
    beaa_ckks_context_free(ctx);
    beaa_ntt_tables_free(t);
    beaa_free(a); beaa_free(b); beaa_free(r); beaa_free(want); beaa_free(prod);
    free(v);
    return 0;
}
