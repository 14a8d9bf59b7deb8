/* ch01_ring_ntt.c - chapter 1 of the course (docs/course/01-ring-ntt.md): the ring
 * Z_q[X]/(X^N + 1) and its negacyclic NTT.
 * 1. finds an NTT-friendly prime q = 1 mod 2N (beaa_ckks_primes_generate) and the library's
 *    NTT tables for it (beaa_ntt_tables_new: psi, twiddles in bit-reversed order, Shoup forms);
 * 2. checks a Shoup product against the plain modular product;
 * 3. runs a textbook forward NTT written here (Cooley-Tukey butterflies, no lazy reduction)
 *    and compares it with the library's kernel (ref and the active SIMD table);
 * 4. checks that output slot k holds a(psi^(2 brv(k) + 1)) (bit-reversed order);
 * 5. multiplies two polynomials by NTT -> pointwise product -> inverse NTT and compares with
 *    the schoolbook negacyclic product (X^N = -1).
 * Lines "check: <name> <value>" are re-checked by tests/check_examples.c.
 * Run: build/examples/ch01_ring_ntt */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "lib/beaa.h"
#include "ckks/ntt.h"

#define LOG_N 10
#define N (1u << LOG_N)

static uint64_t rng = 0x2545f4914f6cdd1dull; /* demo inputs only (xorshift), never for keys */
static uint64_t rnd(void)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return rng;
}

/* The textbook negacyclic NTT: log2 N stages of butterflies (x, y) <- (x + w y, x - w y),
 * stage with m groups using the twiddle psi^brv(m + i) of group i (the table t->fw). */
static void textbook_ntt(const beaa_ntt_tables *t, uint64_t *a)
{
    const beaa_modulus *m = beaa_ntt_tables_modulus(t);
    size_t gap = N;
    for (size_t groups = 1; groups < N; groups <<= 1) {
        gap >>= 1;
        for (size_t i = 0; i < groups; i++) {
            uint64_t w = t->fw[groups + i];
            uint64_t *x = a + 2 * i * gap, *y = x + gap;
            for (size_t j = 0; j < gap; j++) {
                uint64_t wy = beaa_mul_mod(y[j], w, m);
                uint64_t xj = x[j];
                x[j] = beaa_add_mod(xj, wy, m->q);
                y[j] = beaa_sub_mod(xj, wy, m->q);
            }
        }
    }
}

/* a(x) mod q by Horner */
static uint64_t eval(const uint64_t *a, uint64_t x, const beaa_modulus *m)
{
    uint64_t r = 0;
    for (size_t k = N; k-- > 0;) r = beaa_add_mod(beaa_mul_mod(r, x, m), a[k], m->q);
    return r;
}

int main(void)
{
    /* 1. q: 50 bits, q = 1 mod 2N, so Z_q has a primitive 2N-th root psi (psi^N = -1). */
    uint64_t q;
    beaa_status st = beaa_ckks_primes_generate(&q, 1, 50, LOG_N, NULL, 0);
    if (st != BEAA_OK) { fprintf(stderr, "primes: %s\n", beaa_strerror(st)); return 1; }
    beaa_ntt_tables *t = beaa_ntt_tables_new(q, LOG_N);
    if (!t) { fprintf(stderr, "ntt tables: out of memory\n"); return 1; }
    const beaa_modulus *m = beaa_ntt_tables_modulus(t);
    printf("ring Z_q[X]/(X^%u + 1), q = %llu (%u bits), q mod 2N = %llu\n", N,
           (unsigned long long)q, m->bits, (unsigned long long)(q % (2 * N)));
    printf("psi = %llu: psi^N = %llu (= q - 1, i.e. -1), psi^2N = %llu\n",
           (unsigned long long)t->psi, (unsigned long long)beaa_pow_mod(t->psi, N, m),
           (unsigned long long)beaa_pow_mod(t->psi, 2 * N, m));
    printf("check: psi_order_ok %d\n",
           beaa_pow_mod(t->psi, N, m) == q - 1 && beaa_pow_mod(t->psi, 2 * N, m) == 1);
    printf("twiddle table fw[k] = psi^brv(k): fw[1] = psi^%zu, fw[2] = psi^%zu, fw[3] = psi^%zu\n",
           beaa_ntt_bitrev(1, LOG_N), beaa_ntt_bitrev(2, LOG_N), beaa_ntt_bitrev(3, LOG_N));

    /* 2. Shoup: for a constant w, w' = floor(w 2^64 / q) makes a*w mod q two multiplications. */
    uint64_t w = t->fw[1], ws = beaa_shoup(w, q);
    printf("Shoup: w = %llu, w' = floor(w*2^64/q) = %llu\n", (unsigned long long)w,
           (unsigned long long)ws);
    size_t shoup_bad = 0;
    for (int i = 0; i < 100000; i++) {
        uint64_t a = rnd() % q;
        if (beaa_mul_shoup(a, w, ws, q) != beaa_mul_mod(a, w, m)) shoup_bad++;
    }
    printf("check: shoup_mismatches %zu\n", shoup_bad);

    /* 3. The textbook NTT against the library's kernels (bit for bit). */
    uint64_t *a = beaa_alloc(N * 8), *b = beaa_alloc(N * 8), *fa = beaa_alloc(N * 8),
             *fb = beaa_alloc(N * 8), *tmp = beaa_alloc(N * 8), *naive = beaa_alloc(N * 8);
    if (!a || !b || !fa || !fb || !tmp || !naive) return 1;
    for (size_t k = 0; k < N; k++) {
        a[k] = rnd() % q;
        b[k] = rnd() % q;
    }
    const beaa_kernels *kern = beaa_kernels_get();
    memcpy(fa, a, N * 8);
    textbook_ntt(t, fa);
    size_t kernel_bad = 0;
    const beaa_kernels *tables[2] = {&beaa_kernels_ref, kern};
    for (int s = 0; s < 2; s++) {
        memcpy(tmp, a, N * 8);
        tables[s]->ntt_fwd(t, tmp);
        for (size_t k = 0; k < N; k++) kernel_bad += tmp[k] != fa[k];
        printf("textbook NTT vs kernel '%s': %s\n", tables[s]->name,
               memcmp(tmp, fa, N * 8) ? "DIFFERENT" : "identical");
    }
    printf("check: textbook_vs_kernel_mismatches %zu\n", kernel_bad);

    /* 4. Slot k of the NTT is a evaluated at psi^(2 brv(k) + 1): the odd powers of psi are the
     *    N roots of X^N + 1, visited in bit-reversed order. */
    size_t order_bad = 0;
    for (size_t k = 0; k < N; k++) {
        uint64_t e = 2 * beaa_ntt_bitrev(k, LOG_N) + 1;
        uint64_t v = eval(a, beaa_pow_mod(t->psi, e, m), m);
        order_bad += v != fa[k];
        if (k < 3)
            printf("NTT slot %zu = a(psi^%llu) = %llu\n", k, (unsigned long long)e,
                   (unsigned long long)v);
    }
    printf("check: evaluation_order_mismatches %zu\n", order_bad);

    /* 5. a*b mod (X^N + 1, q): NTT both, multiply pointwise, inverse NTT (1/N included). */
    memcpy(fb, b, N * 8);
    kern->ntt_fwd(t, fb);
    kern->mul_mod(tmp, fa, fb, N, m);
    kern->ntt_inv(t, tmp);
    memset(naive, 0, N * 8);
    for (size_t i = 0; i < N; i++)
        for (size_t j = 0; j < N; j++) {
            uint64_t p = beaa_mul_mod(a[i], b[j], m);
            size_t k = i + j;
            if (k < N) naive[k] = beaa_add_mod(naive[k], p, q);
            else naive[k - N] = beaa_sub_mod(naive[k - N], p, q); /* X^N = -1 */
        }
    size_t prod_bad = 0;
    for (size_t k = 0; k < N; k++) prod_bad += tmp[k] != naive[k];
    printf("a*b: coefficient 0 = %llu (schoolbook %llu), coefficient %u = %llu (schoolbook %llu)\n",
           (unsigned long long)tmp[0], (unsigned long long)naive[0], N - 1,
           (unsigned long long)tmp[N - 1], (unsigned long long)naive[N - 1]);
    printf("check: ntt_product_mismatches %zu\n", prod_bad);

    /* The inverse undoes the forward exactly. */
    memcpy(tmp, a, N * 8);
    kern->ntt_fwd(t, tmp);
    kern->ntt_inv(t, tmp);
    printf("check: roundtrip_mismatches %d\n", memcmp(tmp, a, N * 8) != 0);

    beaa_free(a); beaa_free(b); beaa_free(fa); beaa_free(fb); beaa_free(tmp); beaa_free(naive);
    beaa_ntt_tables_free(t);
    return 0;
}
