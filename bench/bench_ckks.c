/* bench_ckks.c - validates the CKKS core against plaintext doubles, then times it single-threaded
 * (median of repeats, thread CPU time): encode, encrypt (at N=2^15 also ciphertexts of 9 limbs,
 * the main job's inputs, one at a time and 8 at once), decrypt, add, mul_plain, mul_const, mul+relin+rescale,
 * (fused, and as separate steps), rotate, key generation, at N=2^14 (8 data limbs) and N=2^15 (16 data limbs), scale 2^40.
 * Prints CSV rows `benchmark,params,metric,value,unit` (precision rows: log2 of the max error).
 * Then the thread scaling of mul+relin+rescale: WALL time with 1 and 2 OpenMP threads, alternating
 * in one run (rows threads1/threads2 and their ratio, from medians and from minima: on a shared
 * machine the minimum is the run least disturbed by other processes), and the work split: the CPU
 * time of each of the 2 threads during one call; 1-thread CPU time / the busier thread's CPU time
 * is the speedup an unloaded machine could give (an upper bound: it ignores memory bandwidth
 * shared by the threads; with OMP_WAIT_POLICY other than PASSIVE, spinning at barriers counts
 * as work and makes it a lower one).
 * Usage: bench_ckks [--quick]  (BEAA_BENCH_QUICK=1 too: fewer repeats). Exit 1 if validation fails. */
#include <math.h>
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "lib/beaa.h"
#include "bench/common/bench_util.h"

#define CHECK(x)                                                                   \
    do {                                                                           \
        beaa_status s_ = (x);                                                      \
        if (s_ != BEAA_OK) {                                                       \
            fprintf(stderr, "bench_ckks: %s failed: %s\n", #x, beaa_strerror(s_)); \
            exit(1);                                                               \
        }                                                                          \
    } while (0)

/* CPU time of this thread: the runs are single-threaded, and on a shared machine wall-clock time
 * mostly measures the other processes */
static double now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return ts.tv_sec * 1e3 + ts.tv_nsec * 1e-6;
}

static double wall_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1e3 + ts.tv_nsec * 1e-6;
}

static int cmp_d(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static double median(double *t, int n)
{
    qsort(t, (size_t)n, sizeof *t, cmp_d);
    return n % 2 ? t[n / 2] : 0.5 * (t[n / 2 - 1] + t[n / 2]);
}

static uint64_t rng_state = 0x0123456789abcdefull;
static double rnd_unit(void)
{
    uint64_t z = (rng_state += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    z ^= z >> 31;
    return (double)(z >> 11) * 0x1p-52 - 1.0;
}

typedef struct bench {
    const char *params;
    beaa_ckks_context *ctx;
    beaa_ckks_secret_key *sk;
    size_t S;
    double *got;
    int failed;
} bench;

static double log2_err(bench *b, const beaa_ckks_ciphertext *ct, const double *want)
{
    beaa_ckks_plaintext *pt;
    CHECK(beaa_ckks_plaintext_new(b->ctx, 0, &pt));
    CHECK(beaa_ckks_decrypt(b->sk, ct, pt));
    CHECK(beaa_ckks_decode_real(pt, b->got, b->S));
    beaa_ckks_plaintext_free(pt);
    double m = 0;
    for (size_t i = 0; i < b->S; i++) m = fmax(m, fabs(b->got[i] - want[i]));
    return log2(m);
}

static void row(const bench *b, const char *name, const char *metric, double v, const char *unit)
{
    printf("ckks_%s,%s,%s,%.4g,%s\n", name, b->params, metric, v, unit);
    fflush(stdout);
}

static void precision(bench *b, const char *name, double l2, double bound)
{
    row(b, name, "log2_max_err", l2, "log2");
    if (!(l2 < bound)) {
        fprintf(stderr, "bench_ckks: validation failed: %s error 2^%.2f >= 2^%.0f\n", name, l2, bound);
        b->failed = 1;
    }
}

#define TIME(b, name, reps, stmt)                             \
    do {                                                      \
        double t_[64];                                        \
        for (int r_ = 0; r_ < (reps); r_++) {                 \
            double t0_ = now_ms();                            \
            stmt;                                             \
            t_[r_] = now_ms() - t0_;                          \
        }                                                     \
        row(b, name, "median_time", median(t_, (reps)), "ms"); \
        row(b, name, "min_time", t_[0], "ms"); /* sorted by median() */ \
    } while (0)

static void run(unsigned log_n, const unsigned *bits, unsigned n_primes, unsigned alpha,
                unsigned special_bits, int reps, int quick)
{
    bench b;
    memset(&b, 0, sizeof b);
    beaa_ckks_params_spec sp;
    CHECK(beaa_ckks_params_spec_make(&sp, log_n, bits, n_primes, alpha, special_bits));
    CHECK(beaa_ckks_context_new(&sp, &b.ctx)); /* 128-bit secure: the check is on */
    char params[128];
    snprintf(params, sizeof params, "N=2^%u;limbs=%u;dnum=%u;logQP=%.0f", log_n, n_primes,
             beaa_ckks_context_dnum(b.ctx), beaa_ckks_context_log2_qp(b.ctx));
    b.params = params;
    const unsigned L = n_primes - 1;
    b.S = beaa_ckks_context_slots(b.ctx);
    double *x = malloc(b.S * sizeof *x), *y = malloc(b.S * sizeof *y), *w = malloc(b.S * sizeof *w);
    b.got = malloc(b.S * sizeof *b.got);
    for (size_t i = 0; i < b.S; i++) { x[i] = rnd_unit(); y[i] = rnd_unit(); }

    beaa_ckks_public_key *pk;
    beaa_ckks_relin_key *rk;
    beaa_ckks_galois_keys *gk;
    const int steps[1] = {1};
    CHECK(beaa_ckks_secret_key_gen(b.ctx, &b.sk));
    CHECK(beaa_ckks_public_key_gen(b.sk, &pk));
    CHECK(beaa_ckks_relin_key_gen(b.sk, &rk));
    CHECK(beaa_ckks_galois_keys_gen(b.sk, steps, 1, 0, &gk));

    beaa_ckks_plaintext *pt, *py;
    beaa_ckks_ciphertext *cx, *cy, *r;
    CHECK(beaa_ckks_plaintext_new(b.ctx, L, &pt));
    CHECK(beaa_ckks_plaintext_new(b.ctx, L, &py));
    CHECK(beaa_ckks_ciphertext_new(b.ctx, 2, L, &cx));
    CHECK(beaa_ckks_ciphertext_new(b.ctx, 2, L, &cy));
    CHECK(beaa_ckks_ciphertext_new(b.ctx, 2, L, &r));
    CHECK(beaa_ckks_encode_real(b.ctx, y, b.S, 0x1p40, L, py));

    /* ---- validate ---- */
    CHECK(beaa_ckks_encode_real(b.ctx, x, b.S, 0x1p40, L, pt));
    CHECK(beaa_ckks_encrypt_pk(pk, pt, cx));
    CHECK(beaa_ckks_encrypt_pk(pk, py, cy));
    precision(&b, "encrypt_pk_fresh", log2_err(&b, cx, x), -20);
    CHECK(beaa_ckks_add(cx, cy, r));
    for (size_t i = 0; i < b.S; i++) w[i] = x[i] + y[i];
    precision(&b, "add", log2_err(&b, r, w), -20);
    for (size_t i = 0; i < b.S; i++) w[i] = x[i] * y[i];
    CHECK(beaa_ckks_mul_plain(cx, py, r));
    CHECK(beaa_ckks_rescale(r, r));
    precision(&b, "mul_plain_rescale", log2_err(&b, r, w), -18);
    CHECK(beaa_ckks_mul_relin(cx, cy, rk, r));
    CHECK(beaa_ckks_rescale(r, r));
    precision(&b, "mul_relin_then_rescale", log2_err(&b, r, w), -18);
    CHECK(beaa_ckks_mul_relin_rescale(cx, cy, rk, r));
    precision(&b, "mul_relin_rescale", log2_err(&b, r, w), -18);
    CHECK(beaa_ckks_mul(cx, cy, r));
    CHECK(beaa_ckks_relin_rescale(r, rk, r));
    precision(&b, "mul_then_relin_rescale", log2_err(&b, r, w), -18);
    CHECK(beaa_ckks_mul_const(cx, 0.7, 0x1p40, r));
    CHECK(beaa_ckks_rescale(r, r));
    for (size_t i = 0; i < b.S; i++) w[i] = 0.7 * x[i];
    precision(&b, "mul_const_rescale", log2_err(&b, r, w), -18);
    CHECK(beaa_ckks_rotate(cx, 1, gk, r));
    for (size_t i = 0; i < b.S; i++) w[i] = x[(i + 1) % b.S];
    precision(&b, "rotate", log2_err(&b, r, w), -18);
    /* a chain of min(10, L) mul+relin+rescale steps: r <- r * y_k, y_k freshly encrypted at r's
     * level and exact scale, |y_k| in [0.9, 1] so the product stays O(1) */
    {
        unsigned depth = L < 10 ? L : 10;
        beaa_ckks_plaintext *pk_pt;
        CHECK(beaa_ckks_plaintext_new(b.ctx, L, &pk_pt));
        memcpy(w, x, b.S * sizeof *w);
        CHECK(beaa_ckks_encrypt_pk(pk, pt, r)); /* pt still encodes x */
        for (unsigned d = 0; d < depth; d++) {
            for (size_t i = 0; i < b.S; i++) {
                y[i] = (0.95 + 0.05 * rnd_unit()) * (rnd_unit() < 0 ? -1 : 1);
                w[i] *= y[i];
            }
            CHECK(beaa_ckks_encode_real(b.ctx, y, b.S, r->scale, r->level, pk_pt));
            CHECK(beaa_ckks_encrypt_pk(pk, pk_pt, cy));
            CHECK(beaa_ckks_mul_relin_rescale(r, cy, rk, r));
        }
        beaa_ckks_plaintext_free(pk_pt);
        char name[64];
        snprintf(name, sizeof name, "chain%u_mul_relin_rescale", depth);
        precision(&b, name, log2_err(&b, r, w), -15);
        for (size_t i = 0; i < b.S; i++) y[i] = rnd_unit();
        CHECK(beaa_ckks_encode_real(b.ctx, x, b.S, 0x1p40, L, pt));
    }
    if (b.failed) exit(1);

    /* ---- time (single thread) ---- */
    int hr = reps, lr = quick ? 5 : 21; /* heavy / light op repeats */
    TIME(&b, "encode", lr, CHECK(beaa_ckks_encode_real(b.ctx, x, b.S, 0x1p40, L, pt)));
    TIME(&b, "encrypt_pk", hr, CHECK(beaa_ckks_encrypt_pk(pk, pt, cx)));
    TIME(&b, "encrypt_sk", hr, CHECK(beaa_ckks_encrypt_sk(b.sk, pt, cy)));
    TIME(&b, "encode_encrypt_sk", hr, CHECK(beaa_ckks_encrypt_sk_values(b.sk, x, b.S, 0x1p40, L, cy)));
    if (L >= 8) {
        /* 9 limbs (the main job's inputs): a ciphertext alone expands its c_1 in two 8-lane
         * Keccak groups (one holding a single stream); 8 at a time fill 9 groups. Per ciphertext. */
        enum { G = BEAA_CKKS_ENCRYPT_GROUP };
        beaa_ckks_ciphertext *g[G];
        const double *gv[G];
        for (int i = 0; i < G; i++) {
            CHECK(beaa_ckks_ciphertext_new(b.ctx, 2, 8, &g[i]));
            gv[i] = x;
        }
        TIME(&b, "encode_encrypt_sk_9limbs", hr, CHECK(beaa_ckks_encrypt_sk_values(b.sk, x, b.S, 0x1p40, 8, g[0])));
        double t8[64];
        for (int r_ = 0; r_ < hr; r_++) {
            double t0 = now_ms();
            CHECK(beaa_ckks_encrypt_sk_values_many(b.sk, gv, b.S, 0x1p40, 8, g, G, 0, NULL));
            t8[r_] = (now_ms() - t0) / G;
        }
        row(&b, "encode_encrypt_sk_9limbs_8_at_once", "median_time", median(t8, hr), "ms");
        row(&b, "encode_encrypt_sk_9limbs_8_at_once", "min_time", t8[0], "ms"); /* sorted by median() */
        for (int i = 0; i < G; i++) beaa_ckks_ciphertext_free(g[i]);
    }
    TIME(&b, "decrypt", lr, CHECK(beaa_ckks_decrypt(b.sk, cx, pt)));
    TIME(&b, "decode", lr, CHECK(beaa_ckks_decode_real(pt, b.got, b.S)));
    TIME(&b, "add", lr, CHECK(beaa_ckks_add(cx, cy, r)));
    TIME(&b, "mul_plain", lr, CHECK(beaa_ckks_mul_plain(cx, py, r)));
    TIME(&b, "mul_const", lr, CHECK(beaa_ckks_mul_const(cx, 0.7, 0x1p40, r)));
    TIME(&b, "rescale", lr, CHECK(beaa_ckks_rescale(r, cy)));
    CHECK(beaa_ckks_encrypt_pk(pk, py, cy));
    TIME(&b, "mul", lr, CHECK(beaa_ckks_mul(cx, cy, r)));
    TIME(&b, "relinearize", hr, { CHECK(beaa_ckks_mul(cx, cy, r)); CHECK(beaa_ckks_relinearize(r, rk, r)); });
    TIME(&b, "mul_relin_then_rescale", hr, { CHECK(beaa_ckks_mul_relin(cx, cy, rk, r)); CHECK(beaa_ckks_rescale(r, r)); });
    TIME(&b, "mul_relin_rescale", hr, CHECK(beaa_ckks_mul_relin_rescale(cx, cy, rk, r)));
    {
        beaa_ckks_ciphertext *t3;
        CHECK(beaa_ckks_ciphertext_new(b.ctx, 3, L, &t3));
        CHECK(beaa_ckks_mul(cx, cy, t3));
        TIME(&b, "relin_rescale_size3", hr, CHECK(beaa_ckks_relin_rescale(t3, rk, r)));
        beaa_ckks_ciphertext_free(t3);
    }
    TIME(&b, "rotate", hr, CHECK(beaa_ckks_rotate(cx, 1, gk, r)));
    {
        /* thread scaling (wall time), 1 and 2 threads alternating so both see the same load */
        int tr = quick ? 5 : 15;
        double w1[64], w2[64];
        CHECK(beaa_ckks_mul_relin_rescale(cx, cy, rk, r)); /* warm the 2nd thread's pool */
        for (int k = 0; k < tr; k++) {
            for (int t = 1; t <= 2; t++) {
                omp_set_num_threads(t);
                double t0 = wall_ms();
                CHECK(beaa_ckks_mul_relin_rescale(cx, cy, rk, r));
                (t == 1 ? w1 : w2)[k] = wall_ms() - t0;
            }
        }
        /* work split: CPU time of each thread of the team around one 2-thread call */
        double c1[64], cmax[64];
        for (int k = 0; k < tr; k++) {
            omp_set_num_threads(1);
            double t0 = now_ms();
            CHECK(beaa_ckks_mul_relin_rescale(cx, cy, rk, r));
            c1[k] = now_ms() - t0;
            double s0[2] = {0, 0}, s1[2] = {0, 0};
            omp_set_num_threads(2);
#pragma omp parallel num_threads(2)
            s0[omp_get_thread_num() & 1] = now_ms();
            CHECK(beaa_ckks_mul_relin_rescale(cx, cy, rk, r));
#pragma omp parallel num_threads(2)
            s1[omp_get_thread_num() & 1] = now_ms();
            cmax[k] = fmax(s1[0] - s0[0], s1[1] - s0[1]);
        }
        omp_set_num_threads(1);
        double mc1 = median(c1, tr), mcm = median(cmax, tr);
        row(&b, "mul_relin_rescale_threads2", "busiest_thread_cpu", mcm, "ms");
        row(&b, "mul_relin_rescale_speedup_2t", "work_split_ratio", mc1 / mcm, "x");
        double m1 = median(w1, tr), m2 = median(w2, tr); /* median() sorts: minima are [0] */
        row(&b, "mul_relin_rescale_threads1", "median_wall", m1, "ms");
        row(&b, "mul_relin_rescale_threads2", "median_wall", m2, "ms");
        row(&b, "mul_relin_rescale_threads1", "min_wall", w1[0], "ms");
        row(&b, "mul_relin_rescale_threads2", "min_wall", w2[0], "ms");
        row(&b, "mul_relin_rescale_speedup_2t", "median_ratio", m1 / m2, "x");
        row(&b, "mul_relin_rescale_speedup_2t", "min_ratio", w1[0] / w2[0], "x");
    }
    {
        beaa_ckks_secret_key *k2 = NULL;
        beaa_ckks_relin_key *r2 = NULL;
        beaa_ckks_galois_keys *g2 = NULL;
        int kr = quick ? 3 : 5;
        TIME(&b, "keygen_secret", kr, { beaa_ckks_secret_key_free(k2); CHECK(beaa_ckks_secret_key_gen(b.ctx, &k2)); });
        TIME(&b, "keygen_relin", kr, { beaa_ckks_relin_key_free(r2); CHECK(beaa_ckks_relin_key_gen(b.sk, &r2)); });
        TIME(&b, "keygen_galois_1step", kr, { beaa_ckks_galois_keys_free(g2); CHECK(beaa_ckks_galois_keys_gen(b.sk, steps, 1, 0, &g2)); });
        beaa_ckks_secret_key_free(k2);
        beaa_ckks_relin_key_free(r2);
        beaa_ckks_galois_keys_free(g2);
    }
    beaa_ckks_plaintext_free(pt);
    beaa_ckks_plaintext_free(py);
    beaa_ckks_ciphertext_free(cx);
    beaa_ckks_ciphertext_free(cy);
    beaa_ckks_ciphertext_free(r);
    beaa_ckks_galois_keys_free(gk);
    beaa_ckks_relin_key_free(rk);
    beaa_ckks_public_key_free(pk);
    beaa_ckks_secret_key_free(b.sk);
    beaa_ckks_context_free(b.ctx);
    free(x); free(y); free(w); free(b.got);
}

int main(int argc, char **argv)
{
    const char *q = getenv("BEAA_BENCH_QUICK");
    const int qarg = bench_parse_quick("bench_ckks", argc, argv);
    if (qarg < 0) return 2;
    int quick = qarg || (q && *q && strcmp(q, "0") != 0);
    omp_set_num_threads(1);
    printf("benchmark,params,metric,value,unit\n");
    printf("ckks_kernels,%s,isa,1,%s\n", "-", beaa_kernels_get()->name);
    /* every prime below 2^50 so the SIMD NTT paths (AVX2 double / AVX-512 IFMA) apply.
     * N=2^14: q0 49 + 7 x 40 = 329 bits, P = 2 x 49: 427 <= 438 (dnum 4) */
    unsigned b14[8] = {49, 40, 40, 40, 40, 40, 40, 40};
    run(14, b14, 8, 2, 49, quick ? 3 : 11, quick);
    /* N=2^15: q0 49 + 15 x 40 = 649 bits, P = 4 x 49: 845 <= 881 (dnum 4) */
    unsigned b15[16];
    b15[0] = 49;
    for (int i = 1; i < 16; i++) b15[i] = 40;
    run(15, b15, 16, 4, 49, quick ? 3 : 7, quick);
    return 0;
}
