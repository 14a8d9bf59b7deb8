/* bench_kernels.c - validates every kernel of every ISA this CPU runs against ref, then times
 * them single-threaded (median of repeats) and prints CSV rows
 * `benchmark,params,metric,value,unit`, plus the speedup of each SIMD ISA over ref.
 * Usage: bench_kernels [--quick]   (BEAA_BENCH_QUICK=1 also means fewer sizes and repeats;
 * BEAA_BENCH_LOGN=15 times N = 2^15 only; BEAA_BENCH_ONLY=uniform_seeded_8,shake256_x8 only those
 * rows) */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "ckks/kernels/kernels.h"
#include "ckks/kernels/ref/ref.h"
#include "ckks/serialize.h"
#include "lib/cpu.h"
#include "lib/mem.h"
#include "bench/common/bench_util.h"

static uint64_t rng_state = 0x0123456789abcdefu;
static uint64_t next_u64(void)
{
    uint64_t z = (rng_state += 0x9e3779b97f4a7c15u);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9u;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebu;
    return z ^ (z >> 31);
}
static void fill(uint64_t *a, size_t n, uint64_t bound)
{
    for (size_t i = 0; i < n; i++) a[i] = next_u64() % bound;
}

static double now_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e6 + (double)ts.tv_nsec * 1e-3;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* Deterministic Miller-Rabin (enough for the benchmark's own prime search). */
static int is_prime(uint64_t q)
{
    static const uint64_t bases[] = {2, 3, 5, 7, 11, 13, 17, 19, 23, 29, 31, 37};
    if (q < 2) return 0;
    for (size_t i = 0; i < 12; i++) {
        if (q == bases[i]) return 1;
        if (q % bases[i] == 0) return 0;
    }
    beaa_modulus m;
    beaa_modulus_init(&m, q);
    uint64_t d = q - 1;
    unsigned s = 0;
    while (!(d & 1)) {
        d >>= 1;
        s++;
    }
    for (size_t i = 0; i < 12; i++) {
        uint64_t x = beaa_pow_mod(bases[i], d, &m);
        if (x == 1 || x == q - 1) continue;
        unsigned r = 1;
        for (; r < s; r++) {
            x = beaa_mul_mod(x, x, &m);
            if (x == q - 1) break;
        }
        if (r == s) return 0;
    }
    return 1;
}
/* Largest prime q < 2^bits with q = 1 mod 2n. */
static uint64_t find_prime(unsigned bits, size_t n)
{
    uint64_t m = 2 * (uint64_t)n;
    uint64_t q = (((UINT64_C(1) << bits) - 1) / m) * m + 1;
    while (!is_prime(q)) q -= m;
    return q;
}

/* The state a timed kernel call needs. */
typedef struct bench_ctx {
    const beaa_kernels *k;
    beaa_ntt_tables *t;
    beaa_modulus m;
    size_t n;
    uint64_t *a, *b, *r, w, ws;
    const uint64_t *const *x;
    const uint8_t *const *xp; /* x[i] bit-packed at the prime's size (ks_dot2's key rows) */
    const double *const *xd;  /* x[i] as doubles (ks_dot2_fp's key rows) */
    const uint64_t *c;
    size_t n_in;
    uint8_t *u;          /* overflow counts in [0, 5] */
    const uint64_t *corr; /* 6 values < q */
    const double *rc;     /* 1/q, 5 times */
} bench_ctx;

typedef void (*bench_fn)(bench_ctx *c);
static void b_ntt_fwd(bench_ctx *c) { c->k->ntt_fwd(c->t, c->a); }
static void b_ntt_inv(bench_ctx *c) { c->k->ntt_inv(c->t, c->a); }
static void b_ntt_fwd_lazy(bench_ctx *c) { c->k->ntt_fwd_lazy(c->t, c->a); }
static void b_ntt_inv_lazy(bench_ctx *c) { c->k->ntt_inv_lazy(c->t, c->a); }
static void b_ntt_inv_scaled(bench_ctx *c) { c->k->ntt_inv_scaled(c->t, c->a, c->a, c->w, c->w); }
static void b_add_mod(bench_ctx *c) { c->k->add_mod(c->r, c->a, c->b, c->n, c->m.q); }
static void b_mul_mod(bench_ctx *c) { c->k->mul_mod(c->r, c->a, c->b, c->n, &c->m); }
static void b_mac_mod(bench_ctx *c) { c->k->mac_mod(c->r, c->a, c->b, c->n, &c->m); }
static void b_mul_const(bench_ctx *c) { c->k->mul_const(c->r, c->a, c->n, c->w, c->ws, c->m.q); }
static void b_mac_const(bench_ctx *c) { c->k->mac_const(c->r, c->a, c->n, c->w, c->ws, c->m.q); }
static void b_sub_mul_const(bench_ctx *c)
{
    c->k->sub_mul_const(c->r, c->a, c->b, c->n, c->w, c->ws, c->m.q);
}
static void b_basis_conv(bench_ctx *c) { c->k->basis_conv(c->r, c->x, c->c, c->n_in, c->n, &c->m); }
/* the mod-up of one 2-limb digit (bench_ckks's N=2^14 set: 2 special primes) */
static void b_basis_conv2(bench_ctx *c) { c->k->basis_conv(c->r, c->x, c->c, 2, c->n, &c->m); }
/* a 4-limb digit (x[0..3]) raised to two primes in one pass (into r and b), against basis_conv_4
 * twice (the mod-up of bench_ckks's N=2^15 set, slots two at a time) */
static void b_basis_conv_multi(bench_ctx *c)
{
    uint64_t *r[2] = {c->r, c->b};
    const uint64_t *cs[2] = {c->c, c->c + 4};
    const beaa_modulus *p[2] = {&c->m, &c->m};
    c->k->basis_conv_multi(r, c->x, cs, 4, c->n, p, 2);
}
static void b_basis_conv_4x2(bench_ctx *c)
{
    c->k->basis_conv(c->r, c->x, c->c, 4, c->n, &c->m);
    c->k->basis_conv(c->b, c->x, c->c + 4, 4, c->n, &c->m);
}
/* the mod-down of a rescale merged into a key switch at our parameters: 5 dropped primes
 * (N=2^15, 4 special primes), 3 (N=2^14, 2 special primes) */
static void b_basis_conv_sub(bench_ctx *c)
{
    c->k->basis_conv_sub(c->r, c->x, c->c, 5, c->n, &c->m, c->u, c->corr);
}
static void b_basis_conv_sub3(bench_ctx *c)
{
    c->k->basis_conv_sub(c->r, c->x, c->c, 3, c->n, &c->m, c->u, c->corr);
}
static void b_conv_overflow(bench_ctx *c) { c->k->conv_overflow(c->u, c->x, c->rc, 5, c->n); }
/* the linear maps' dot products: 2 rows (outputs r, b) of 8 inputs x[0..7]; tables without a
 * lin_dot use the dgemm path in nn/linear.c, here ref stands in for them */
static void b_lin_dot(bench_ctx *c)
{
    uint64_t *out[2] = { c->r, c->b }, w[16];
    for (int i = 0; i < 16; i++) w[i] = c->c[i % 8];
    void (*f)(uint64_t *const *, const uint64_t *const *, const uint64_t *, const uint64_t *,
              size_t, size_t, size_t, const beaa_modulus *) = c->k->lin_dot ? c->k->lin_dot : beaa_lin_dot_ref;
    f(out, c->x, w, NULL, 2, 8, c->n, &c->m);
}
/* seeded uniform sampling: 8 streams of n values (outputs a, b, r and x[0..4]) */
static void b_uniform_seeded(bench_ctx *c)
{
    uint64_t *out[8] = { c->a, c->b, c->r, (uint64_t *)c->x[0], (uint64_t *)c->x[1],
                         (uint64_t *)c->x[2], (uint64_t *)c->x[3], (uint64_t *)c->x[4] };
    uint64_t q[8], dom[8];
    static const uint8_t seed[32] = { 7 };
    const uint8_t *sd[8];
    for (int i = 0; i < 8; i++) { q[i] = c->m.q; dom[i] = (uint64_t)i; sd[i] = seed; }
    c->k->uniform_seeded(out, q, dom, 8, c->n, sd);
}
/* 8 messages of n words (8n bytes each: the inputs x[0..7]) hashed to 32 bytes each, as the
 * serialization checksums hash their 256 KiB leaves (n = 2^15) */
static void b_shake256_x8(bench_ctx *c)
{
    uint8_t dig[8][32], *out[8];
    const uint8_t *in[8];
    for (int i = 0; i < 8; i++) { out[i] = dig[i]; in[i] = (const uint8_t *)c->x[i]; }
    c->k->shake256_x8(out, 32, in, c->n * 8);
}
/* outputs r, x[6], x[7]; operands a, b, x[0], x[1] */
static void b_tensor(bench_ctx *c)
{
    c->k->tensor(c->r, (uint64_t *)c->x[6], (uint64_t *)c->x[7], c->a, c->b, c->x[0], c->x[1],
                 c->n, &c->m, c->w, c->ws);
}
/* the key-switching inner product with 4 digits (x[0..3]) and packed key parts x[4..7] /
 * x[3..6], accumulating into r and b */
static void b_ks_dot2(bench_ctx *c)
{
    c->k->ks_dot2(c->r, c->b, c->x, c->xp + 4, c->xp + 3, 4, c->n, &c->m, c->r, c->b, 1);
}
/* the same with a first term a * w, b * w (a relinearization's P * c_k), into r and b */
static void b_ks_dot2_times(bench_ctx *c)
{
    c->k->ks_dot2(c->r, c->b, c->x, c->xp + 4, c->xp + 3, 4, c->n, &c->m, c->a, c->b, c->w);
}

/* ks_dot2_4 with the key rows as doubles: the set's ks_dot2_fp (AVX2), its ref oracle in the
 * sets without one */
static void b_ks_dot2_fp(bench_ctx *c)
{
    __typeof__(beaa_ks_dot2_fp_ref) *f = c->k->ks_dot2_fp ? c->k->ks_dot2_fp : beaa_ks_dot2_fp_ref;
    f(c->r, c->b, c->x, c->xd + 4, c->xd + 3, 4, c->n, &c->m, c->r, c->b, 1);
}

/* Median over `reps` of the mean time of `iters` calls, in microseconds; *min_out gets the
 * fastest repeat (less sensitive to other jobs on a shared machine). */
static double time_median(bench_fn f, bench_ctx *c, int reps, double *min_out)
{
    f(c); /* warm up caches */
    double t0 = now_us();
    f(c);
    double one = now_us() - t0;
    int iters = one > 0 ? (int)(2000.0 / one) : 1000; /* about 2 ms per repeat */
    if (iters < 1) iters = 1;
    if (iters > 10000) iters = 10000;
    double *v = malloc((size_t)reps * sizeof *v);
    if (!v) {
        *min_out = -1;
        return -1;
    }
    for (int r = 0; r < reps; r++) {
        double s = now_us();
        for (int i = 0; i < iters; i++) f(c);
        v[r] = (now_us() - s) / iters;
    }
    qsort(v, (size_t)reps, sizeof *v, cmp_double);
    double med = v[reps / 2];
    *min_out = v[0];
    free(v);
    return med;
}

/* Bit-exact validation of every kernel of k against ref on random data. 0 on success. */
static int validate(const beaa_kernels *k, beaa_ntt_tables *t, size_t n)
{
    const beaa_kernels *ref = &beaa_kernels_ref;
    uint64_t q = beaa_ntt_tables_modulus(t)->q;
    const beaa_modulus *m = beaa_ntt_tables_modulus(t);
    uint64_t *a = beaa_alloc(n * 8), *b = beaa_alloc(n * 8), *r1 = beaa_alloc(n * 8),
             *r2 = beaa_alloc(n * 8);
    int bad = 0;
    if (!a || !b || !r1 || !r2) bad = 1;
    uint64_t w = next_u64() % q, ws = beaa_shoup(w, q);
    if (!bad) {
        fill(a, n, q);
        memcpy(r1, a, n * 8);
        memcpy(r2, a, n * 8);
        ref->ntt_fwd(t, r1);
        k->ntt_fwd(t, r2);
        bad |= memcmp(r1, r2, n * 8) != 0;
        ref->ntt_inv(t, r1);
        k->ntt_inv(t, r2);
        bad |= memcmp(r1, r2, n * 8) != 0 || memcmp(r1, a, n * 8) != 0;
        ref->ntt_inv_scaled(t, r1, r1, w, w);
        k->ntt_inv_scaled(t, r2, r2, w, w);
        bad |= memcmp(r1, r2, n * 8) != 0;
        fill(b, n, q);
        ref->mul_mod(r1, a, b, n, m);
        k->mul_mod(r2, a, b, n, m);
        bad |= memcmp(r1, r2, n * 8) != 0;
        ref->mac_mod(r1, a, b, n, m);
        k->mac_mod(r2, a, b, n, m);
        bad |= memcmp(r1, r2, n * 8) != 0;
        ref->mac_const(r1, a, n, w, ws, q);
        k->mac_const(r2, a, n, w, ws, q);
        bad |= memcmp(r1, r2, n * 8) != 0;
        ref->sub_mul_const(r1, a, b, n, w, ws, q);
        k->sub_mul_const(r2, a, b, n, w, ws, q);
        bad |= memcmp(r1, r2, n * 8) != 0;
        ref->add_mod(r1, a, b, n, q);
        k->add_mod(r2, a, b, n, q);
        bad |= memcmp(r1, r2, n * 8) != 0;
        /* the Keccak kernels: one stream of n values mod q (r1, r2), 8 digests of a and b */
        static const uint8_t seed[32] = { 3 };
        const uint8_t *sd[1] = { seed }, *in[8];
        uint64_t dom[1] = { 5 }, *o1[1] = { r1 }, *o2[1] = { r2 };
        ref->uniform_seeded(o1, &q, dom, 1, n, sd);
        k->uniform_seeded(o2, &q, dom, 1, n, sd);
        bad |= memcmp(r1, r2, n * 8) != 0;
        uint8_t d1[8][32], d2[8][32], *p1[8], *p2[8];
        for (int j = 0; j < 8; j++) {
            in[j] = (const uint8_t *)(j % 2 ? b : a) + j;
            p1[j] = d1[j];
            p2[j] = d2[j];
        }
        ref->shake256_x8(p1, 32, in, n * 8 - 8);
        k->shake256_x8(p2, 32, in, n * 8 - 8);
        bad |= memcmp(d1, d2, sizeof d1) != 0;
    }
    beaa_free(a);
    beaa_free(b);
    beaa_free(r1);
    beaa_free(r2);
    return bad;
}

/* 1 when name is one of the comma-separated names in list */
static int name_listed(const char *list, const char *name)
{
    const size_t len = strlen(name);
    for (const char *p = list; *p;) {
        const char *e = strchr(p, ',');
        size_t l = e ? (size_t)(e - p) : strlen(p);
        if (l == len && strncmp(p, name, len) == 0) return 1;
        if (!e) break;
        p = e + 1;
    }
    return 0;
}

int main(int argc, char **argv)
{
    const int qarg = bench_parse_quick("bench_kernels", argc, argv);
    if (qarg < 0) return 2;
    int quick = qarg || getenv("BEAA_BENCH_QUICK");
    int reps = quick ? 5 : 15;
    const beaa_kernels *isas[3];
    int n_isa = 0;
    isas[n_isa++] = &beaa_kernels_ref;
    if (beaa_cpu_supports(BEAA_ISA_AVX2)) isas[n_isa++] = &beaa_kernels_avx2;
    if (beaa_cpu_supports(BEAA_ISA_AVX512)) isas[n_isa++] = &beaa_kernels_avx512;
    fprintf(stderr, "bench_kernels: ISAs on this CPU:%s%s%s (single thread, median of %d)\n",
            " ref", n_isa > 1 ? " avx2" : "", n_isa > 2 ? " avx512" : " (no avx512)", reps);

    const unsigned log_ns_full[] = {12, 14, 16}, log_ns_quick[] = {14};
    const unsigned *log_ns = quick ? log_ns_quick : log_ns_full;
    size_t n_sizes = quick ? 1 : 3;
    unsigned log_n_env[1];
    const char *only = getenv("BEAA_BENCH_ONLY"), *env_log_n = getenv("BEAA_BENCH_LOGN");
    if (env_log_n) {
        log_n_env[0] = (unsigned)atoi(env_log_n);
        if (log_n_env[0] < 4 || log_n_env[0] > 17) {
            fprintf(stderr, "bench_kernels: BEAA_BENCH_LOGN must be in 4 .. 17\n");
            return 1;
        }
        log_ns = log_n_env;
        n_sizes = 1;
    }
    /* our data primes, bench_ckks's first and special primes, the 50-bit targets, > 2^50 */
    const unsigned bits_list[] = {40, 49, 50, 60};
    struct {
        const char *name;
        bench_fn f;
        int is_ntt;
    } kernels[] = {
        {"ntt_fwd", b_ntt_fwd, 1},          {"ntt_inv", b_ntt_inv, 1},
        {"ntt_fwd_lazy", b_ntt_fwd_lazy, 1}, {"ntt_inv_lazy", b_ntt_inv_lazy, 1},
        {"ntt_inv_scaled", b_ntt_inv_scaled, 1},
        {"add_mod", b_add_mod, 0},          {"mul_mod", b_mul_mod, 0},
        {"mac_mod", b_mac_mod, 0},          {"mul_const", b_mul_const, 0},
        {"mac_const", b_mac_const, 0},      {"sub_mul_const", b_sub_mul_const, 0},
        {"basis_conv_8", b_basis_conv, 0},  {"basis_conv_2", b_basis_conv2, 0},
        {"basis_conv_4_twice", b_basis_conv_4x2, 0}, {"basis_conv_multi_4_to_2", b_basis_conv_multi, 0},
        {"ks_dot2_4", b_ks_dot2, 0},        {"ks_dot2_4_times", b_ks_dot2_times, 0},
        {"ks_dot2_4_fp", b_ks_dot2_fp, 0},
        {"basis_conv_sub_5", b_basis_conv_sub, 0}, {"basis_conv_sub_3", b_basis_conv_sub3, 0},
        {"conv_overflow_5", b_conv_overflow, 0},
        {"tensor", b_tensor, 0},            {"lin_dot_2x8", b_lin_dot, 0},
        {"uniform_seeded_8", b_uniform_seeded, 0},
        {"shake256_x8", b_shake256_x8, 0},
    };
    const size_t n_kernels = sizeof kernels / sizeof kernels[0];
    printf("benchmark,params,metric,value,unit\n");
    int rc = 0;
    for (size_t si = 0; si < n_sizes; si++) {
        unsigned log_n = log_ns[si];
        size_t n = (size_t)1 << log_n;
        for (size_t bi = 0; bi < sizeof bits_list / sizeof bits_list[0]; bi++) {
            uint64_t q = find_prime(bits_list[bi], n);
            beaa_ntt_tables *t = beaa_ntt_tables_new(q, log_n);
            uint64_t *a = beaa_alloc(n * 8), *b = beaa_alloc(n * 8), *r = beaa_alloc(n * 8);
            uint64_t *xs[8], cs[8], corr[6];
            uint8_t *xp[8];
            double *xd[8];
            double recip[5];
            uint8_t *u = malloc(n);
            int ok = t && a && b && r && u;
            for (int i = 0; i < 8; i++) {
                xs[i] = beaa_alloc(n * 8);
                xp[i] = beaa_alloc(n * 8);
                xd[i] = beaa_alloc(n * sizeof(double));
                ok = ok && xs[i] && xp[i] && xd[i];
            }
            if (!ok) {
                fprintf(stderr, "bench_kernels: out of memory\n");
                return 1;
            }
            for (int i = 0; i < 8; i++) {
                fill(xs[i], n, q);
                beaa_ckks_serial_pack_limb(xp[i], xs[i], n, (unsigned)(64 - __builtin_clzll(q)));
                for (size_t k = 0; k < n; k++) xd[i][k] = (double)xs[i][k]; /* exact below 2^53 */
                cs[i] = next_u64() % q;
            }
            for (int i = 0; i < 6; i++) corr[i] = next_u64() % q;
            for (int i = 0; i < 5; i++) recip[i] = 1.0 / (double)q;
            for (size_t i = 0; i < n; i++) u[i] = (uint8_t)(next_u64() % 4); /* <= 3: both conv_sub shapes */
            for (int s = 1; s < n_isa; s++) {
                if (validate(isas[s], t, n)) {
                    fprintf(stderr, "bench_kernels: VALIDATION FAILED for %s (N=%zu q=%u bits)\n",
                            isas[s]->name, n, bits_list[bi]);
                    rc = 1;
                }
            }
            if (rc) return rc;
            for (size_t ki = 0; ki < n_kernels; ki++) {
                if (only && !name_listed(only, kernels[ki].name)) continue;
                double ref_us = 0, ref_min = 0;
                for (int s = 0; s < n_isa; s++) {
                    bench_ctx c = {.k = isas[s], .t = t, .n = n, .a = a, .b = b, .r = r,
                                   .x = (const uint64_t *const *)xs,
                                   .xp = (const uint8_t *const *)xp,
                                   .xd = (const double *const *)xd, .c = cs, .n_in = 8,
                                   .u = u, .corr = corr, .rc = recip};
                    beaa_modulus_init(&c.m, q);
                    c.w = next_u64() % q;
                    c.ws = beaa_shoup(c.w, q);
                    fill(a, n, q);
                    fill(b, n, q);
                    fill(r, n, q);
                    double mn = 0, us = time_median(kernels[ki].f, &c, reps, &mn);
                    printf("%s,N=%zu q=%ubit isa=%s,median,%.2f,us\n", kernels[ki].name, n,
                           bits_list[bi], isas[s]->name, us);
                    printf("%s,N=%zu q=%ubit isa=%s,min,%.2f,us\n", kernels[ki].name, n,
                           bits_list[bi], isas[s]->name, mn);
                    if (s == 0) {
                        ref_us = us;
                        ref_min = mn;
                    } else {
                        printf("%s,N=%zu q=%ubit isa=%s,speedup_vs_ref,%.2f,x\n",
                               kernels[ki].name, n, bits_list[bi], isas[s]->name, ref_us / us);
                        printf("%s,N=%zu q=%ubit isa=%s,speedup_vs_ref_min,%.2f,x\n",
                               kernels[ki].name, n, bits_list[bi], isas[s]->name, ref_min / mn);
                    }
                }
                fflush(stdout);
            }
            for (int i = 0; i < 8; i++) {
                beaa_free(xs[i]);
                beaa_free(xp[i]);
                beaa_free(xd[i]);
            }
            free(u);
            beaa_free(a);
            beaa_free(b);
            beaa_free(r);
            beaa_ntt_tables_free(t);
        }
    }
    return rc;
}
