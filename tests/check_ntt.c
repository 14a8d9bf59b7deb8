/* check_ntt.c - tests of ckks/ntt.c and the NTT kernels of every ISA this CPU runs: the root
 * psi, the bit-reversed evaluation order against a naive evaluation, forward+inverse round trips
 * (N up to 2^16), and NTT negacyclic products against a naive O(N^2) product (30..61-bit primes
 * found here with GMP by searching down from 2^b). */
#include <check.h>
#include <gmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ckks/kernels/kernels.h"
#include "ckks/ntt.h"
#include "lib/cpu.h"
#include "lib/mem.h"
#include "tests/test_util.h"

static uint64_t mulmod_naive(uint64_t a, uint64_t b, uint64_t q)
{
    return (uint64_t)(((unsigned __int128)a * b) % q);
}
static uint64_t powmod_naive(uint64_t a, uint64_t e, uint64_t q)
{
    uint64_t r = 1 % q;
    while (e) {
        if (e & 1) r = mulmod_naive(r, a, q);
        a = mulmod_naive(a, a, q);
        e >>= 1;
    }
    return r;
}

/* The kernel tables this CPU can run. */
static const beaa_kernels *isa_tables[3];
static int isa_count;
static void collect_isas(void)
{
    isa_count = 0;
    isa_tables[isa_count++] = &beaa_kernels_ref;
    if (beaa_cpu_supports(BEAA_ISA_AVX2)) isa_tables[isa_count++] = &beaa_kernels_avx2;
    if (beaa_cpu_supports(BEAA_ISA_AVX512)) isa_tables[isa_count++] = &beaa_kernels_avx512;
}

static const unsigned prime_bits[] = {30, 36, 40, 45, 49, 50, 55, 59, 61};
#define N_PRIME_BITS (sizeof prime_bits / sizeof prime_bits[0])

START_TEST(test_tables_args)
{
    uint64_t q = test_find_ntt_prime(50, 1024, 0);
    ck_assert_ptr_null(beaa_ntt_tables_new(q, 0));
    ck_assert_ptr_null(beaa_ntt_tables_new(q, 18));
    ck_assert_ptr_null(beaa_ntt_tables_new(q + 2, 10));                   /* not 1 mod 2n */
    uint64_t q2 = q;
    for (unsigned k = 1; (q2 - 1) % 8192 == 0; k++) q2 = test_find_ntt_prime(50, 1024, k);
    ck_assert_ptr_null(beaa_ntt_tables_new(q2, 12)); /* 1 mod 2048 but not mod 8192 */
    ck_assert_ptr_null(beaa_ntt_tables_new((UINT64_C(1) << 61) + 1, 4));  /* too large */
    /* composite but = 1 mod 2n: a product of two such primes */
    uint64_t c = test_find_ntt_prime(20, 1024, 0) * test_find_ntt_prime(20, 1024, 1);
    ck_assert_uint_eq(c % 2048, 1);
    ck_assert_ptr_null(beaa_ntt_tables_new(c, 10));
    beaa_ntt_tables_free(NULL);
    ck_assert_ptr_null(beaa_ntt_tables_modulus(NULL));
    ck_assert_uint_eq(beaa_ntt_tables_n(NULL), 0);
}
END_TEST

/* psi has order exactly 2n; the accessors report what was asked. */
START_TEST(test_psi)
{
    for (unsigned log_n = 1; log_n <= 16; log_n += 3) {
        size_t n = (size_t)1 << log_n;
        for (size_t b = 0; b < N_PRIME_BITS; b++) {
            uint64_t q = test_find_ntt_prime(prime_bits[b], n, 0);
            beaa_ntt_tables *t = beaa_ntt_tables_new(q, log_n);
            ck_assert_ptr_nonnull(t);
            ck_assert_uint_eq(beaa_ntt_tables_n(t), n);
            ck_assert_uint_eq(beaa_ntt_tables_modulus(t)->q, q);
            ck_assert_uint_eq(powmod_naive(t->psi, n, q), q - 1);
            ck_assert_uint_eq(mulmod_naive(t->psi, t->psi_inv, q), 1);
            ck_assert_uint_eq(mulmod_naive(t->n_inv, n % q, q), 1);
            beaa_ntt_tables_free(t);
        }
    }
}
END_TEST

/* Forward output k is a(psi^(2 brv(k) + 1)), checked by naive evaluation for small n. */
START_TEST(test_fwd_order)
{
    for (int s = 0; s < isa_count; s++) {
        const beaa_kernels *k = isa_tables[s];
        for (unsigned log_n = 1; log_n <= 8; log_n++) {
            size_t n = (size_t)1 << log_n;
            uint64_t q = test_find_ntt_prime(prime_bits[(log_n + (unsigned)s) % N_PRIME_BITS], n, 0);
            beaa_ntt_tables *t = beaa_ntt_tables_new(q, log_n);
            ck_assert_ptr_nonnull(t);
            uint64_t *a = beaa_alloc(n * 8), *f = beaa_alloc(n * 8);
            ck_assert(a && f);
            for (size_t j = 0; j < n; j++) a[j] = f[j] = test_rng_below(q);
            k->ntt_fwd(t, f); /* SIMD kernels take n >= 16 natively and fall back below */
            for (size_t idx = 0; idx < n; idx++) {
                uint64_t x = powmod_naive(t->psi, 2 * beaa_ntt_bitrev(idx, log_n) + 1, q);
                uint64_t acc = 0, xp = 1;
                for (size_t j = 0; j < n; j++) {
                    acc = (acc + mulmod_naive(a[j], xp, q)) % q;
                    xp = mulmod_naive(xp, x, q);
                }
                EXPECT(f[idx] == acc, "%s n=%zu q=%llu slot %zu", k->name, n,
                              (unsigned long long)q, idx);
            }
            beaa_free(a);
            beaa_free(f);
            beaa_ntt_tables_free(t);
        }
    }
}
END_TEST

static void negacyclic_naive(uint64_t *r, const uint64_t *a, const uint64_t *b, size_t n,
                             uint64_t q)
{
    for (size_t i = 0; i < n; i++) r[i] = 0;
    for (size_t i = 0; i < n; i++)
        for (size_t j = 0; j < n; j++) {
            uint64_t p = mulmod_naive(a[i], b[j], q);
            size_t k = i + j;
            if (k < n) r[k] = (r[k] + p) % q;
            else r[k - n] = (r[k - n] + q - p) % q;
        }
}

/* a*b mod (X^n + 1, q) = INTT(NTT(a) . NTT(b)) against the naive product, every ISA. */
START_TEST(test_negacyclic_product)
{
    unsigned max_log = test_light() ? 10 : 11;
    for (int s = 0; s < isa_count; s++) {
        const beaa_kernels *k = isa_tables[s];
        unsigned min_log = s == 0 ? 4 : 10;
        for (unsigned log_n = min_log; log_n <= max_log; log_n++) {
            size_t n = (size_t)1 << log_n;
            for (size_t bi = 0; bi < N_PRIME_BITS; bi += (log_n >= 10 ? 2 : 1)) {
                uint64_t q = test_find_ntt_prime(prime_bits[bi], n, 1);
                beaa_ntt_tables *t = beaa_ntt_tables_new(q, log_n);
                ck_assert_ptr_nonnull(t);
                uint64_t *a = beaa_alloc(n * 8), *b = beaa_alloc(n * 8);
                uint64_t *want = beaa_alloc(n * 8);
                ck_assert(a && b && want);
                for (size_t j = 0; j < n; j++) {
                    a[j] = test_rng_below(q);
                    b[j] = test_rng_below(q);
                }
                negacyclic_naive(want, a, b, n, q);
                k->ntt_fwd(t, a);
                k->ntt_fwd(t, b);
                for (size_t j = 0; j < n; j++) a[j] = mulmod_naive(a[j], b[j], q);
                k->ntt_inv(t, a);
                ck_assert_msg(memcmp(a, want, n * 8) == 0, "%s n=%zu q=%llu (%u bits)", k->name,
                              n, (unsigned long long)q, prime_bits[bi]);
                beaa_free(a);
                beaa_free(b);
                beaa_free(want);
                beaa_ntt_tables_free(t);
            }
        }
    }
}
END_TEST

/* inv(fwd(a)) == a for n up to 2^16, plus the lazy variants on lazy inputs with range checks. */
START_TEST(test_round_trip)
{
    unsigned max_log = test_light() ? 13 : 16;
    for (int s = 0; s < isa_count; s++) {
        const beaa_kernels *k = isa_tables[s];
        for (unsigned log_n = 10; log_n <= max_log; log_n++) {
            size_t n = (size_t)1 << log_n;
            for (size_t bi = 0; bi < N_PRIME_BITS; bi += 2) {
                uint64_t q = test_find_ntt_prime(prime_bits[(bi + log_n) % N_PRIME_BITS], n, 0);
                beaa_ntt_tables *t = beaa_ntt_tables_new(q, log_n);
                ck_assert_ptr_nonnull(t);
                uint64_t *a = beaa_alloc(n * 8), *c = beaa_alloc(n * 8);
                ck_assert(a && c);
                for (size_t j = 0; j < n; j++) a[j] = c[j] = test_rng_below(q);
                k->ntt_fwd(t, c);
                for (size_t j = 0; j < n; j++) EXPECT_U64_LT(c[j], q);
                k->ntt_inv(t, c);
                ck_assert_msg(memcmp(a, c, n * 8) == 0, "%s round trip n=%zu q=%llu", k->name,
                              n, (unsigned long long)q);
                /* lazy: input a + u*q in [0, 4q) forward, output [0, 4q) */
                for (size_t j = 0; j < n; j++) c[j] = a[j] + q * test_rng_below(4);
                k->ntt_fwd_lazy(t, c);
                for (size_t j = 0; j < n; j++) {
                    EXPECT_U64_LT(c[j], 4 * q);
                    c[j] = c[j] % q + q * test_rng_below(2); /* inverse lazy input in [0, 2q) */
                }
                k->ntt_inv_lazy(t, c);
                for (size_t j = 0; j < n; j++) {
                    EXPECT_U64_LT(c[j], 2 * q);
                    EXPECT_U64_EQ(c[j] % q, a[j]);
                }
                beaa_free(a);
                beaa_free(c);
                beaa_ntt_tables_free(t);
            }
        }
    }
}
END_TEST

static Suite *ntt_suite(void)
{
    Suite *s = suite_create("ntt");
    TCase *tc = tcase_create("ntt");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, test_tables_args);
    tcase_add_test(tc, test_psi);
    tcase_add_test(tc, test_fwd_order);
    tcase_add_test(tc, test_negacyclic_product);
    tcase_add_test(tc, test_round_trip);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    test_rng_seed(0x243f6a8885a308d3);
    collect_isas();
    printf("check_ntt: ISAs tested:");
    for (int s = 0; s < isa_count; s++) printf(" %s", isa_tables[s]->name);
    if (!beaa_cpu_supports(BEAA_ISA_AVX512))
        printf(" (avx512 NOT tested: this CPU lacks AVX-512 IFMA)");
    printf("\n");
    return test_run_suite(ntt_suite(), 0);
}
