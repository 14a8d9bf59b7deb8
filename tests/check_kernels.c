/* check_kernels.c - every kernel of every ISA this CPU runs, bit-exact (after normalizing lazy
 * outputs mod q) against the ref kernels on random and edge inputs, N = 2^10..2^16 for the NTT,
 * 30..61-bit primes, in-place aliasing too; the ref element-wise kernels against naive 128-bit
 * arithmetic; dispatch and BEAA_ARCH handling. The avx512 case is registered only on a CPU with
 * AVX-512 IFMA (the runner prints when it did not run). */
#include <check.h>
#include <gmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ckks/kernels/kernels.h"
#include "ckks/params.h"
#include "ckks/ntt.h"
#include "ckks/serialize.h"
#include "lib/cpu.h"
#include "lib/mem.h"
#include "lib/parallel.h"
#include "lib/rng.h"
#include <omp.h>

/* The avx512 kernel sources once more, on the scalar intrinsic model (emu_* names), so their
 * algorithm is exercised on any CPU; the real avx512 table is tested only on AVX-512 hardware. */
#define BEAA_IFMA_EMULATE 1
#include "tests/ifma_emul.h"
#define beaa_ntt_fwd_avx512 emu_ntt_fwd_avx512
#define beaa_ntt_fwd_lazy_avx512 emu_ntt_fwd_lazy_avx512
#define beaa_ntt_fwd_avx512_sched emu_ntt_fwd_avx512_sched
#define beaa_ntt_inv_avx512_sched emu_ntt_inv_avx512_sched
#define beaa_ntt_inv_avx512 emu_ntt_inv_avx512
#define beaa_ntt_inv_lazy_avx512 emu_ntt_inv_lazy_avx512
#define beaa_ntt_inv_scaled_avx512 emu_ntt_inv_scaled_avx512
#define beaa_add_mod_avx512 emu_add_mod_avx512
#define beaa_sub_mod_avx512 emu_sub_mod_avx512
#define beaa_neg_mod_avx512 emu_neg_mod_avx512
#define beaa_mul_mod_avx512 emu_mul_mod_avx512
#define beaa_mac_mod_avx512 emu_mac_mod_avx512
#define beaa_mul_const_avx512 emu_mul_const_avx512
#define beaa_mac_const_avx512 emu_mac_const_avx512
#define beaa_sub_mul_const_avx512 emu_sub_mul_const_avx512
#define beaa_tensor_avx512 emu_tensor_avx512
#define beaa_lin_dot_avx512 emu_lin_dot_avx512
#define beaa_lin_dot_avx512_plain emu_lin_dot_avx512_plain
#define beaa_lin_dot_avx512_pairs emu_lin_dot_avx512_pairs
#define beaa_uniform_seeded_avx512 emu_uniform_seeded_avx512
#define beaa_shake256_x8_avx512 emu_shake256_x8_avx512
#define beaa_basis_conv_avx512 emu_basis_conv_avx512
#define beaa_basis_conv_sub_avx512 emu_basis_conv_sub_avx512
#define beaa_basis_conv_multi_avx512 emu_basis_conv_multi_avx512
#define beaa_ks_dot2_avx512 emu_ks_dot2_avx512
#include "ckks/kernels/avx512/ntt_avx512.c"
#include "ckks/kernels/avx512/arith_avx512.c"
#include "ckks/kernels/avx512/dot_avx512.c"
#include "ckks/kernels/avx512/basis_avx512.c"
#include "ckks/kernels/avx512/xof_avx512.c"
#include "ckks/kernels/ref/ref.h"
#include "tests/test_util.h"

static const beaa_kernels emu_kernels_avx512 = {
    .name = "avx512-emulated",
    .ntt_fwd = emu_ntt_fwd_avx512,
    .ntt_fwd_lazy = emu_ntt_fwd_lazy_avx512,
    .ntt_inv = emu_ntt_inv_avx512,
    .ntt_inv_lazy = emu_ntt_inv_lazy_avx512,
    .ntt_inv_scaled = emu_ntt_inv_scaled_avx512,
    .add_mod = emu_add_mod_avx512,
    .sub_mod = emu_sub_mod_avx512,
    .neg_mod = emu_neg_mod_avx512,
    .mul_mod = emu_mul_mod_avx512,
    .mac_mod = emu_mac_mod_avx512,
    .mul_const = emu_mul_const_avx512,
    .mac_const = emu_mac_const_avx512,
    .sub_mul_const = emu_sub_mul_const_avx512,
    .tensor = emu_tensor_avx512,
    .basis_conv = emu_basis_conv_avx512,
    .basis_conv_sub = emu_basis_conv_sub_avx512,
    .basis_conv_multi = emu_basis_conv_multi_avx512,
    .conv_overflow = beaa_conv_overflow_ref,
    .ks_dot2 = emu_ks_dot2_avx512,
    .permute = beaa_permute_ref,
    .lin_dot = emu_lin_dot_avx512,
    .uniform_seeded = emu_uniform_seeded_avx512,
    .shake256_x8 = emu_shake256_x8_avx512,
};

/* The real avx512 lin_dot tilings (the names above stand for the emulated ones). */
#undef beaa_lin_dot_avx512_plain
#undef beaa_lin_dot_avx512_pairs
extern __typeof__(beaa_lin_dot_ref) beaa_lin_dot_avx512_plain, beaa_lin_dot_avx512_pairs;
/* ... and the real avx512 forward NTT with its schedule chosen */
#undef beaa_ntt_fwd_avx512_sched
#undef beaa_ntt_inv_avx512_sched
extern __typeof__(emu_ntt_fwd_avx512_sched) beaa_ntt_fwd_avx512_sched;
extern __typeof__(emu_ntt_inv_avx512_sched) beaa_ntt_inv_avx512_sched;

/* Tables built on a CPU without IFMA lack the 52-bit layout: add it (the constructor's own
 * builder) so the emulated IFMA NTT runs instead of falling back to ref. */
static void ensure_ifma_tables(beaa_ntt_tables *t)
{
    if (t->mod.q >= BEAA_NTT_SMALL_Q_BOUND || t->n < 16) return;
    ck_assert_int_eq(beaa_ntt_tables_add_ifma52(t), 0);
}

/* Random values in [0, bound) with the extremes 0, 1, bound-1 sprinkled in. */
static void fill_random(uint64_t *a, size_t n, uint64_t bound)
{
    for (size_t i = 0; i < n; i++) {
        uint64_t r = test_rng_u64();
        switch (r & 15) {
        case 0: a[i] = 0; break;
        case 1: a[i] = bound - 1; break;
        case 2: a[i] = 1; break;
        default: a[i] = (r >> 4) % bound; break;
        }
    }
}

static const unsigned prime_bits[] = {30, 36, 40, 44, 47, 48, 49, 50, 55, 61};
#define N_PRIME_BITS (sizeof prime_bits / sizeof prime_bits[0])

static void assert_same_mod(const char *what, const beaa_kernels *k, const uint64_t *got,
                            const uint64_t *want, size_t n, uint64_t q, uint64_t bound)
{
    for (size_t i = 0; i < n; i++) {
        EXPECT(got[i] < bound, "%s/%s: out of range at %zu: %llu >= %llu (q=%llu)", what,
                      k->name, i, (unsigned long long)got[i], (unsigned long long)bound,
                      (unsigned long long)q);
        EXPECT(got[i] % q == want[i] % q, "%s/%s: differs at %zu (n=%zu q=%llu)", what,
                      k->name, i, n, (unsigned long long)q);
    }
}

/* Inputs at the ends of the range only (0 or bound - 1, at random): the largest magnitudes the
 * lazy-reduction schedules of the SIMD transforms must absorb. */
static void fill(uint64_t *a, size_t n, uint64_t bound)
{
    fill_random(a, n, bound);
}

static void fill_extreme(uint64_t *a, size_t n, uint64_t bound)
{
    for (size_t i = 0; i < n; i++) a[i] = (test_rng_u64() & 1) ? bound - 1 : 0;
}

/* All five NTT kernels of k against ref, on random and on extreme inputs. */
static void check_ntt_isa(const beaa_kernels *k)
{
    const beaa_kernels *ref = &beaa_kernels_ref;
    unsigned max_log = test_light() ? 12 : 16;
    /* the SIMD kernels accept n >= 16 (kernels.h promises callers only n >= 1024): test both */
    for (unsigned log_n = 4; log_n <= max_log; log_n += (test_light() && log_n >= 10 ? 2 : 1)) {
        size_t n = (size_t)1 << log_n;
        uint64_t *a = beaa_alloc(n * 8), *b = beaa_alloc(n * 8), *c = beaa_alloc(n * 8);
        uint64_t *d = beaa_alloc(n * 8);
        ck_assert(a && b && c && d);
        for (size_t bi = 0; bi < 2 * N_PRIME_BITS; bi++) {
            uint64_t q = test_find_ntt_prime(prime_bits[bi % N_PRIME_BITS], n, 0);
            beaa_ntt_tables *t = beaa_ntt_tables_new(q, log_n);
            ck_assert_ptr_nonnull(t);
            if (k == &emu_kernels_avx512) ensure_ifma_tables(t);
            void (*fl)(uint64_t *, size_t, uint64_t) = bi < N_PRIME_BITS ? fill_random : fill_extreme;

            fl(a, n, q);
            memcpy(b, a, n * 8);
            ref->ntt_fwd(t, a);
            k->ntt_fwd(t, b);
            assert_same_mod("ntt_fwd", k, b, a, n, q, q);

            fl(a, n, 4 * q);
            memcpy(b, a, n * 8);
            ref->ntt_fwd_lazy(t, a);
            k->ntt_fwd_lazy(t, b);
            assert_same_mod("ntt_fwd_lazy", k, b, a, n, q, 4 * q);

            fl(a, n, q);
            memcpy(b, a, n * 8);
            ref->ntt_inv(t, a);
            k->ntt_inv(t, b);
            assert_same_mod("ntt_inv", k, b, a, n, q, q);

            fl(a, n, 2 * q);
            memcpy(b, a, n * 8);
            ref->ntt_inv_lazy(t, a);
            k->ntt_inv_lazy(t, b);
            assert_same_mod("ntt_inv_lazy", k, b, a, n, q, 2 * q);

            /* scaled: random constants, and the largest (w = c = q - 1) on every other prime;
             * ref against the plain inverse followed by the affine map in 128-bit arithmetic */
            const int edge = (bi / 2) & 1;
            const uint64_t w = edge ? q - 1 : test_rng_below(q);
            const uint64_t cc = edge ? q - 1 : test_rng_below(q);
            fl(a, n, q);
            memcpy(b, a, n * 8);
            memcpy(c, a, n * 8);
            /* out of place (the input must stay as it was), then in place */
            k->ntt_inv_scaled(t, d, b, w, cc);
            EXPECT(memcmp(b, a, n * 8) == 0, "ntt_inv_scaled/%s: wrote its input", k->name);
            ref->ntt_inv_scaled(t, a, a, w, cc);
            k->ntt_inv_scaled(t, b, b, w, cc);
            assert_same_mod("ntt_inv_scaled", k, b, a, n, q, q);
            assert_same_mod("ntt_inv_scaled out of place", k, d, a, n, q, q);
            ref->ntt_inv(t, c);
            for (size_t i = 0; i < n; i++)
                c[i] = (uint64_t)(((beaa_u128)c[i] * w + cc) % q);
            assert_same_mod("ntt_inv_scaled vs inverse * w + c", ref, a, c, n, q, q);

            beaa_ntt_tables_free(t);
        }
        beaa_free(a);
        beaa_free(b);
        beaa_free(c);
        beaa_free(d);
    }
}

enum { ALIAS_NONE, ALIAS_A, ALIAS_B };

/* Every element-wise kernel of k against ref for length n, out of place (r distinct) and in
 * place (r == a, r == b). Each side gets its own copies of the inputs; OUT picks the output. */
static void check_elementwise_isa(const beaa_kernels *k, size_t n, uint64_t q)
{
    const beaa_kernels *ref = &beaa_kernels_ref;
    beaa_modulus m;
    beaa_modulus_init(&m, q);
    uint64_t *a = beaa_alloc(n * 8), *b = beaa_alloc(n * 8), *b2 = beaa_alloc(n * 8);
    uint64_t *r0 = beaa_alloc(n * 8);
    uint64_t *ka = beaa_alloc(n * 8), *kb = beaa_alloc(n * 8), *kr = beaa_alloc(n * 8);
    uint64_t *ra = beaa_alloc(n * 8), *rb = beaa_alloc(n * 8), *rr = beaa_alloc(n * 8);
    ck_assert(a && b && b2 && r0 && ka && kb && kr && ra && rb && rr);
    uint64_t w = test_rng_below(q), ws = beaa_shoup(w, q);
    uint64_t we = q - 1, wes = beaa_shoup(we, q);

    for (int alias = ALIAS_NONE; alias <= ALIAS_B; alias++) {
        fill(a, n, q);
        fill(b, n, q);
        fill(b2, n, 2 * q);
        fill(r0, n, q);
        uint64_t *kout = alias == ALIAS_A ? ka : alias == ALIAS_B ? kb : kr;
        uint64_t *rout = alias == ALIAS_A ? ra : alias == ALIAS_B ? rb : rr;
#define RESET()                                                                               \
    do {                                                                                      \
        memcpy(ka, a, n * 8);                                                                 \
        memcpy(ra, a, n * 8);                                                                 \
        memcpy(kb, b, n * 8);                                                                 \
        memcpy(rb, b, n * 8);                                                                 \
        memcpy(kr, r0, n * 8);                                                                \
        memcpy(rr, r0, n * 8);                                                                \
    } while (0)
#define COMPARE(what)                                                                         \
    for (size_t i_ = 0; i_ < n; i_++)                                                         \
    EXPECT(kout[i_] == rout[i_], "%s/%s alias=%d n=%zu q=%llu at %zu: %llu vs %llu",   \
                  what, k->name, alias, n, (unsigned long long)q, i_,                         \
                  (unsigned long long)kout[i_], (unsigned long long)rout[i_])

        RESET();
        k->add_mod(kout, ka, kb, n, q);
        ref->add_mod(rout, ra, rb, n, q);
        COMPARE("add_mod");
        RESET();
        k->sub_mod(kout, ka, kb, n, q);
        ref->sub_mod(rout, ra, rb, n, q);
        COMPARE("sub_mod");
        RESET();
        k->mul_mod(kout, ka, kb, n, &m);
        ref->mul_mod(rout, ra, rb, n, &m);
        COMPARE("mul_mod");
        RESET();
        k->mac_mod(kout, ka, kb, n, &m);
        ref->mac_mod(rout, ra, rb, n, &m);
        COMPARE("mac_mod");
        if (alias == ALIAS_B) continue; /* the rest have no second input */
        RESET();
        k->neg_mod(kout, ka, n, q);
        ref->neg_mod(rout, ra, n, q);
        COMPARE("neg_mod");
        RESET();
        k->mul_const(kout, ka, n, w, ws, q);
        ref->mul_const(rout, ra, n, w, ws, q);
        COMPARE("mul_const");
        RESET();
        k->mul_const(kout, ka, n, we, wes, q);
        ref->mul_const(rout, ra, n, we, wes, q);
        COMPARE("mul_const(q-1)");
        RESET();
        k->mac_const(kout, ka, n, w, ws, q);
        ref->mac_const(rout, ra, n, w, ws, q);
        COMPARE("mac_const");
        RESET();
        k->sub_mul_const(kout, ka, b2, n, w, ws, q);
        ref->sub_mul_const(rout, ra, b2, n, w, ws, q);
        COMPARE("sub_mul_const");
#undef RESET
#undef COMPARE
    }
    /* tensor: three outputs, no aliasing; distinct operands, then the square (a == b); w random,
     * q - 1, and 1 (the plain product's own loop); random inputs, then 0 or q - 1 only (the
     * cross term's sum of two products near 2 q^2 is reduced at once) */
    for (int sq = 0; sq < 4; sq++)
        for (int wi = 0; wi < 3; wi++) {
            if (wi == 0 && sq % 2 == 0) {
                void (*fl)(uint64_t *, size_t, uint64_t) = sq < 2 ? fill : fill_extreme;
                fl(a, n, q);
                fl(b, n, q);
                fl(r0, n, q);
                fl(b2, n, q);
            }
            const uint64_t *x0 = a, *x1 = b, *y0 = sq % 2 ? a : r0, *y1 = sq % 2 ? b : b2;
            uint64_t tw = wi == 2 ? 1 : wi ? we : w, tws = wi == 2 ? beaa_shoup(1, q) : wi ? wes : ws;
            k->tensor(ka, kb, kr, x0, x1, y0, y1, n, &m, tw, tws);
            ref->tensor(ra, rb, rr, x0, x1, y0, y1, n, &m, tw, tws);
            for (size_t i = 0; i < n; i++)
                EXPECT(ka[i] == ra[i] && kb[i] == rb[i] && kr[i] == rr[i],
                       "tensor/%s sq=%d w=%d n=%zu q=%llu at %zu", k->name, sq, wi, n,
                       (unsigned long long)q, i);
        }
    beaa_free(a);
    beaa_free(b);
    beaa_free(b2);
    beaa_free(r0);
    beaa_free(ka);
    beaa_free(kb);
    beaa_free(kr);
    beaa_free(ra);
    beaa_free(rb);
    beaa_free(rr);
}

static void check_basis_permute_isa(const beaa_kernels *k, size_t n)
{
    /* 70 > 64 terms: the 128-bit fold matters (and SIMD paths may hand over to ref) */
    /* 1..3 inputs: the IFMA kernel's per-term Shoup path (the mod-up's digits of 2 limbs) */
    const size_t n_in_list[] = {1, 2, 3, 4, 8, 9, 15, 16, 17, 40, 70};
    const unsigned p_bits[] = {59, 50, 36};
    /* input bounds: residues of < 2^50 primes (the key-switching case), the full 2^61 range,
     * mostly small with a few values >= 2^51 (SIMD blocks that must take the slow path), and
     * values just below 2^52 (the most a 52-bit multiplier takes; a third of them 2^52 - 1) */
    for (size_t pi = 0; pi < 3; pi++)
        for (int dist = 0; dist < 4; dist++)
            for (size_t li = 0; li < sizeof n_in_list / sizeof n_in_list[0]; li++) {
                uint64_t p = test_find_ntt_prime(p_bits[pi], 1024, 3);
                beaa_modulus m;
                beaa_modulus_init(&m, p);
                size_t n_in = n_in_list[li];
                uint64_t **x = malloc(n_in * sizeof *x), *c = malloc(n_in * 8);
                ck_assert(x && c);
                for (size_t i = 0; i < n_in; i++) {
                    x[i] = beaa_alloc(n * 8);
                    ck_assert_ptr_nonnull(x[i]);
                    fill(x[i], n, dist == 1 ? (UINT64_C(1) << 61) : (UINT64_C(1) << 50));
                    if (dist == 2)
                        for (size_t j = 0; j < n; j += 37 + i)
                            x[i][j] = (UINT64_C(1) << 51) + test_rng_below(UINT64_C(1) << 60);
                    if (dist == 3)
                        for (size_t j = 0; j < n; j++)
                            x[i][j] = (UINT64_C(1) << 52) - 1 - (j % 3 ? test_rng_below(1u << 20) : 0);
                    c[i] = test_rng_below(p);
                }
                c[0] = p - 1;
                uint64_t *r0 = beaa_alloc(n * 8), *r1 = beaa_alloc(n * 8);
                ck_assert(r0 && r1);
                beaa_kernels_ref.basis_conv(r0, (const uint64_t *const *)x, c, n_in, n, &m);
                k->basis_conv(r1, (const uint64_t *const *)x, c, n_in, n, &m);
                for (size_t j = 0; j < n; j++)
                    EXPECT(r0[j] == r1[j], "basis_conv/%s p=%u bits dist=%d n_in=%zu at %zu",
                           k->name, p_bits[pi], dist, n_in, j);
                /* basis_conv_multi: 1..4 outputs (cycling with n_in), this prime and others
                 * of 50, 36 and 59 bits (the last handed to ref), each against basis_conv */
                {
                    const size_t n_out = 1 + li % BEAA_CONV_MULTI_MAX;
                    const unsigned ob[BEAA_CONV_MULTI_MAX] = {p_bits[pi], 50, 36, 59};
                    beaa_modulus mo[BEAA_CONV_MULTI_MAX];
                    const beaa_modulus *po[BEAA_CONV_MULTI_MAX];
                    uint64_t *ro[BEAA_CONV_MULTI_MAX], *co[BEAA_CONV_MULTI_MAX];
                    for (size_t s = 0; s < n_out; s++) {
                        beaa_modulus_init(&mo[s], s ? test_find_ntt_prime(ob[s], 1024, 5) : p);
                        po[s] = &mo[s];
                        ro[s] = beaa_alloc(n * 8);
                        co[s] = malloc(n_in * 8);
                        ck_assert(ro[s] && co[s]);
                        for (size_t i = 0; i < n_in; i++) co[s][i] = s ? test_rng_below(mo[s].q) : c[i];
                    }
                    k->basis_conv_multi(ro, (const uint64_t *const *)x, (const uint64_t *const *)co,
                                        n_in, n, po, n_out);
                    for (size_t s = 0; s < n_out; s++) {
                        uint64_t *want = s ? r1 : r0; /* r0: the ref result of prime p above */
                        if (s) beaa_kernels_ref.basis_conv(r1, (const uint64_t *const *)x, co[s], n_in, n, po[s]);
                        for (size_t j = 0; j < n; j++)
                            EXPECT(ro[s][j] == want[j],
                                   "basis_conv_multi/%s p=%u bits dist=%d n_in=%zu out %zu/%zu at %zu",
                                   k->name, p_bits[pi], dist, n_in, s, n_out, j);
                        beaa_free(ro[s]);
                        free(co[s]);
                    }
                }
                if (k == &beaa_kernels_ref) { /* the oracle against GMP */
                    mpz_t acc, tmp;
                    mpz_init(acc);
                    mpz_init(tmp);
                    for (size_t j = 0; j < n; j += 97) {
                        mpz_set_ui(acc, 0);
                        for (size_t i = 0; i < n_in; i++) {
                            mpz_set_ui(tmp, (unsigned long)x[i][j]);
                            mpz_addmul_ui(acc, tmp, (unsigned long)c[i]);
                        }
                        EXPECT_U64_EQ(mpz_fdiv_ui(acc, (unsigned long)p), r0[j]);
                    }
                    mpz_clear(acc);
                    mpz_clear(tmp);
                }
                for (size_t i = 0; i < n_in; i++) beaa_free(x[i]);
                free(x);
                free(c);
                beaa_free(r0);
                beaa_free(r1);
            }
    /* permute: a random permutation */
    uint32_t *perm = malloc(n * sizeof *perm);
    uint64_t *a = beaa_alloc(n * 8), *r0 = beaa_alloc(n * 8);
    ck_assert(perm && a && r0);
    for (size_t i = 0; i < n; i++) perm[i] = (uint32_t)i;
    for (size_t i = n - 1; i > 0; i--) {
        size_t j = test_rng_below(i + 1);
        uint32_t tmp = perm[i];
        perm[i] = perm[j];
        perm[j] = tmp;
    }
    fill(a, n, UINT64_C(1) << 61);
    k->permute(r0, a, perm, n);
    for (size_t i = 0; i < n; i++) EXPECT_U64_EQ(r0[i], a[perm[i]]);
    free(perm);
    beaa_free(a);
    beaa_free(r0);
}

/* ks_dot2 (key-switching inner product) against the ref kernel, bit-exact, and the ref kernel
 * against per-term 128-bit % arithmetic; ks_dot2_fp (the same rows as doubles; its ref oracle
 * and the table's where it has one) against ks_dot2's ref result for primes below 2^50: 1..9 and 40 digits (fold every 4 in the FMA path),
 * without a first term, accumulating in place (c = r, w = 1) and with a separate c times w
 * (w = q - 1 and a random w), residues of 50-, 49-, 48-, 40- and 36-bit primes (FMA path; 48
 * and 40 bits take the SIMD kernels' byte-aligned unpack) and a 59-bit one (handed to ref), edge
 * values q-1 and 0. The key rows are bit-packed (the serialized limb form) into buffers of
 * exactly their size, so ASan sees a read past a row's end. */
static void check_ks_dot2_isa(const beaa_kernels *k, size_t n)
{
    const size_t nd_list[] = {1, 3, 4, 5, 8, 9, 14, 15, 40};
    const unsigned p_bits[] = {59, 50, 49, 48, 40, 36};
    uint64_t *r0 = beaa_alloc(n * 8), *r1 = beaa_alloc(n * 8), *s0 = beaa_alloc(n * 8),
             *s1 = beaa_alloc(n * 8), *i0 = beaa_alloc(n * 8), *i1 = beaa_alloc(n * 8);
    ck_assert(r0 && r1 && s0 && s1 && i0 && i1);
    for (size_t pi = 0; pi < sizeof p_bits / sizeof p_bits[0]; pi++)
        for (size_t li = 0; li < sizeof nd_list / sizeof nd_list[0]; li++)
            for (int add = 0; add <= 3; add++) {
                uint64_t q = test_find_ntt_prime(p_bits[pi], 1024, 4);
                beaa_modulus m;
                beaa_modulus_init(&m, q);
                size_t nd = nd_list[li];
                uint64_t **d = malloc(nd * sizeof *d), **kb = malloc(nd * sizeof *kb),
                         **ka = malloc(nd * sizeof *ka);
                uint8_t **pb = malloc(nd * sizeof *pb), **pa = malloc(nd * sizeof *pa);
                const size_t row = beaa_ckks_serial_limb_bytes(n, m.bits);
                ck_assert(d && kb && ka && pb && pa);
                for (size_t j = 0; j < nd; j++) {
                    d[j] = beaa_alloc(n * 8);
                    kb[j] = beaa_alloc(n * 8);
                    ka[j] = beaa_alloc(n * 8);
                    ck_assert(d[j] && kb[j] && ka[j]);
                    fill(d[j], n, q);
                    fill(kb[j], n, q);
                    fill(ka[j], n, q);
                    for (size_t i = 0; i < n; i += 5) d[j][i] = kb[j][i] = ka[j][i] = q - 1;
                    for (size_t i = 3; i < n; i += 11) d[j][i] = 0;
                    pb[j] = malloc(row);
                    pa[j] = malloc(row);
                    ck_assert(pb[j] && pa[j]);
                    beaa_ckks_serial_pack_limb(pb[j], kb[j], n, m.bits);
                    beaa_ckks_serial_pack_limb(pa[j], ka[j], n, m.bits);
                }
                fill(i0, n, q);
                fill(i1, n, q);
                for (size_t i = 0; i < n; i += 7) i0[i] = i1[i] = q - 1;
                memcpy(r0, i0, n * 8);
                memcpy(r1, i1, n * 8);
                memcpy(s0, i0, n * 8);
                memcpy(s1, i1, n * 8);
                /* add 0: no first term; 1: r += (in place); 2, 3: c = i0, i1 times w */
                const uint64_t w = add == 1 ? 1 : add == 2 ? q - 1 : test_rng_u64() % q;
                const int sep = add >= 2;
                beaa_kernels_ref.ks_dot2(r0, r1, (const uint64_t *const *)d,
                                         (const uint8_t *const *)pb, (const uint8_t *const *)pa,
                                         nd, n, &m, add == 0 ? NULL : sep ? i0 : r0,
                                         add == 0 ? NULL : sep ? i1 : r1, w);
                k->ks_dot2(s0, s1, (const uint64_t *const *)d, (const uint8_t *const *)pb,
                           (const uint8_t *const *)pa, nd, n, &m, add == 0 ? NULL : sep ? i0 : s0,
                           add == 0 ? NULL : sep ? i1 : s1, w);
                /* ks_dot2_fp, the rows as doubles (q < 2^50): its ref oracle and the table's */
                for (int f = 0; f < 2 && q < BEAA_NTT_SMALL_Q_BOUND; f++) {
                    __typeof__(beaa_ks_dot2_fp_ref) *fk = f ? k->ks_dot2_fp : beaa_ks_dot2_fp_ref;
                    if (!fk) continue;
                    double **fb = malloc(nd * sizeof *fb), **fa = malloc(nd * sizeof *fa);
                    uint64_t *t0 = beaa_alloc(n * 8), *t1 = beaa_alloc(n * 8);
                    ck_assert(fb && fa && t0 && t1);
                    for (size_t j = 0; j < nd; j++) {
                        fb[j] = beaa_alloc(n * sizeof(double));
                        fa[j] = beaa_alloc(n * sizeof(double));
                        ck_assert(fb[j] && fa[j]);
                        for (size_t i = 0; i < n; i++) {
                            fb[j][i] = (double)kb[j][i];
                            fa[j][i] = (double)ka[j][i];
                        }
                    }
                    memcpy(t0, i0, n * 8);
                    memcpy(t1, i1, n * 8);
                    fk(t0, t1, (const uint64_t *const *)d, (const double *const *)fb,
                       (const double *const *)fa, nd, n, &m, add == 0 ? NULL : sep ? i0 : t0,
                       add == 0 ? NULL : sep ? i1 : t1, w);
                    for (size_t i = 0; i < n; i++)
                        EXPECT(r0[i] == t0[i] && r1[i] == t1[i],
                               "ks_dot2_fp/%s p=%u bits nd=%zu add=%d at %zu",
                               f ? k->name : "fp_ref", p_bits[pi], nd, add, i);
                    for (size_t j = 0; j < nd; j++) {
                        beaa_free(fb[j]);
                        beaa_free(fa[j]);
                    }
                    free(fb);
                    free(fa);
                    beaa_free(t0);
                    beaa_free(t1);
                }
                for (size_t i = 0; i < n; i++) {
                    EXPECT(r0[i] == s0[i] && r1[i] == s1[i],
                           "ks_dot2/%s p=%u bits nd=%zu add=%d at %zu", k->name, p_bits[pi], nd,
                           add, i);
                    if (k != &beaa_kernels_ref) continue;
                    /* the oracle: term by term, each reduced with % on unsigned __int128 */
                    unsigned __int128 e0 = add ? (unsigned __int128)i0[i] * w % q : 0,
                                      e1 = add ? (unsigned __int128)i1[i] * w % q : 0;
                    for (size_t j = 0; j < nd; j++) {
                        e0 = (e0 + (unsigned __int128)d[j][i] * kb[j][i] % q) % q;
                        e1 = (e1 + (unsigned __int128)d[j][i] * ka[j][i] % q) % q;
                    }
                    EXPECT_U64_EQ((uint64_t)e0, r0[i]);
                    EXPECT_U64_EQ((uint64_t)e1, r1[i]);
                }
                for (size_t j = 0; j < nd; j++) {
                    beaa_free(d[j]);
                    beaa_free(kb[j]);
                    beaa_free(ka[j]);
                    free(pb[j]);
                    free(pa[j]);
                }
                free(d);
                free(kb);
                free(ka);
                free(pb);
                free(pa);
            }
    beaa_free(r0);
    beaa_free(r1);
    beaa_free(s0);
    beaa_free(s1);
    beaa_free(i0);
    beaa_free(i1);
}

/* The mod-down kernels: conv_overflow and basis_conv_sub against ref (bit for bit), for the
 * rounding-division shapes of key switching (nd dropped primes of 30..61 bits, so residues of
 * primes >= 2^52 reach the SIMD slow path), and the ref ones against exact arithmetic. */
static void check_moddown_bits(const beaa_kernels *k, size_t n, const unsigned *m_bits)
{
    for (size_t nd = 1; nd <= 6; nd++) {
        uint64_t **z = malloc(nd * sizeof *z), mq[6];
        double rc[6];
        ck_assert_ptr_nonnull(z);
        for (size_t j = 0; j < nd; j++) {
            /* distinct primes: the j-th of its size for slot j (sizes repeat only in the same-size table) */
            mq[j] = test_find_ntt_prime(m_bits[(j + nd) % 6], 1024, (unsigned)j);
            rc[j] = 1.0 / (double)mq[j];
            z[j] = beaa_alloc(n * 8);
            ck_assert_ptr_nonnull(z[j]);
            fill(z[j], n, mq[j]);
        }
        uint8_t *u0 = malloc(n), *u1 = malloc(n);
        ck_assert(u0 && u1);
        memset(u1, 0xee, n);
        beaa_kernels_ref.conv_overflow(u0, (const uint64_t *const *)z, rc, nd, n);
        k->conv_overflow(u1, (const uint64_t *const *)z, rc, nd, n);
        for (size_t i = 0; i < n; i++)
            EXPECT(u0[i] == u1[i], "conv_overflow/%s nd=%zu at %zu: %u vs %u", k->name, nd, i,
                   u0[i], u1[i]);
        if (k == &beaa_kernels_ref) /* floor(sum z_j / m_j) in long double, off by 1 at most */
            for (size_t i = 0; i < n; i++) {
                long double f = 0;
                for (size_t j = 0; j < nd; j++) f += (long double)z[j][i] / (long double)mq[j];
                long double d = f - (long double)u0[i];
                EXPECT(u0[i] < nd && d > -1e-9L && d < 1 + 1e-9L,
                       "conv_overflow/ref nd=%zu at %zu: %u for %Lf", nd, i, u0[i], f);
            }
        /* basis_conv_sub to a prime p, u in [0, nd] (the whole corr table) */
        for (size_t pi = 0; pi < 3; pi++) {
            uint64_t p = test_find_ntt_prime(pi == 0 ? 40 : pi == 1 ? 50 : 59, 1024, 7);
            beaa_modulus m;
            beaa_modulus_init(&m, p);
            uint64_t c[6], corr[7];
            for (size_t j = 0; j < nd; j++) c[j] = test_rng_below(p);
            for (size_t j = 0; j <= nd; j++) corr[j] = j == nd ? p - 1 : test_rng_below(p);
            for (size_t i = 0; i < n; i++) u0[i] = (uint8_t)test_rng_below(nd + 1);
            uint64_t *r0 = beaa_alloc(n * 8), *r1 = beaa_alloc(n * 8), *r2 = beaa_alloc(n * 8);
            ck_assert(r0 && r1 && r2);
            beaa_kernels_ref.basis_conv_sub(r0, (const uint64_t *const *)z, c, nd, n, &m, u0, corr);
            k->basis_conv_sub(r1, (const uint64_t *const *)z, c, nd, n, &m, u0, corr);
            beaa_kernels_ref.basis_conv(r2, (const uint64_t *const *)z, c, nd, n, &m);
            for (size_t i = 0; i < n; i++) {
                EXPECT(r0[i] == r1[i], "basis_conv_sub/%s nd=%zu p=%llu at %zu", k->name, nd,
                       (unsigned long long)p, i);
                EXPECT_U64_EQ(r0[i], beaa_sub_mod(r2[i], corr[u0[i]], p));
            }
            beaa_free(r0);
            beaa_free(r1);
            beaa_free(r2);
        }
        for (size_t j = 0; j < nd; j++) beaa_free(z[j]);
        free(z);
        free(u0);
        free(u1);
    }
}

static void check_moddown_isa(const beaa_kernels *k, size_t n)
{
    /* mixed sizes; then residues of 52-bit primes only, below 2^52 so that the IFMA kernel
     * takes them (4 or more such terms overflow a two-digit reduction) */
    static const unsigned mixed[6] = {49, 40, 61, 30, 50, 55}, big[6] = {52, 52, 52, 52, 52, 52};
    check_moddown_bits(k, n, mixed);
    check_moddown_bits(k, n, big);
}

/* lin_dot against ref, bit for bit: row counts around the register tiles (1, 3, 4, 8, 13, 20),
 * k from 1 to the largest allowed with every value q-1 (the accumulation bound), with and
 * without biases, primes from 30 to 61 bits (>= 2^50 goes to ref inside the avx512 kernel). */
static void check_lin_dot_isa(const beaa_kernels *k)
{
    if (!k->lin_dot) return;
    /* rows around the register tiles (1..8 rows; 70 crosses the 64-row chunks of the avx512
     * pairs path), odd and even k (the pairs path's last unpaired term; 8/9 and 16/17 on both
     * sides of its two-digit reductions), up to the largest k with every value q-1 (the
     * accumulation bound) */
    const size_t ms[] = {1, 2, 3, 4, 8, 13, 20, 70}, ks[] = {1, 2, 5, 8, 9, 16, 17, 150};
    enum { NM = sizeof ms / sizeof ms[0], NK = sizeof ks / sizeof ks[0], MMAX = 70 };
    const size_t n = 136, kmax = BEAA_LIN_DOT_MAX_K;
    uint64_t *xbuf = malloc(sizeof(uint64_t) * kmax * n), *w = malloc(sizeof(uint64_t) * MMAX * kmax);
    uint64_t *rbuf = malloc(sizeof(uint64_t) * MMAX * n), *obuf = malloc(sizeof(uint64_t) * MMAX * n);
    uint64_t bias[MMAX];
    const uint64_t *x[BEAA_LIN_DOT_MAX_K];
    uint64_t *r[MMAX], *o[MMAX];
    ck_assert(xbuf && w && rbuf && obuf);
    for (size_t c = 0; c < kmax; c++) x[c] = xbuf + c * n;
    for (size_t j = 0; j < MMAX; j++) { r[j] = rbuf + j * n; o[j] = obuf + j * n; }
    for (size_t bi = 0; bi < N_PRIME_BITS; bi++) {
        uint64_t q = test_find_ntt_prime(prime_bits[bi], 1024, 3);
        beaa_modulus mq;
        beaa_modulus_init(&mq, q);
        for (size_t mi = 0; mi < NM; mi++)
            for (size_t ki = 0; ki < NK + 2; ki++) {
                /* the last two: kmax - 1 and kmax, on 16 columns */
                size_t m = ms[mi], kk = ki < NK ? ks[ki] : kmax - (NK + 1 - ki), nn = ki < NK ? n : 16;
                /* k = 8 and 16: the largest sums the avx512 kernel reduces with two digits
                 * (pairs, plain products), 9 and 17 the first it must not: at the bound for
                 * half the row counts */
                int edge = kk == 8 || kk == 9 || kk == 16 || kk == 17;
                int worst = ki >= NK || (mi + ki) % 5 == 0 || (edge && mi % 2 == 0);
                for (size_t i = 0; i < kk * n; i++) xbuf[i] = worst ? q - 1 : test_rng_below(q);
                for (size_t i = 0; i < m * kk; i++) w[i] = worst ? q - 1 : test_rng_below(q);
                for (size_t j = 0; j < m; j++) bias[j] = worst ? q - 1 : test_rng_below(q);
                const uint64_t *b = (mi + ki) % 2 ? bias : NULL;
                k->lin_dot(r, x, w, b, m, kk, nn, &mq);
                beaa_lin_dot_ref(o, x, w, b, m, kk, nn, &mq);
                for (size_t j = 0; j < m; j++)
                    for (size_t t = 0; t < nn; t++)
                        EXPECT(r[j][t] == o[j][t], "%s lin_dot q %u bits m %zu k %zu: row %zu col %zu",
                               k->name, prime_bits[bi], m, kk, j, t);
            }
    }
    free(xbuf); free(w); free(rbuf); free(obuf);
}

/* uniform_seeded against ref (one scalar SHAKE256 stream after the other), bit for bit:
 * stream counts around the 4-lane (avx2) and 8-lane (avx512) groups (1 .. 19), lengths that end
 * inside a squeezed block, NTT primes and bounds that reject half the draws (2^49 + 1) or nearly
 * all bits (3), bounds above 2^63 (the top bit in the unsigned comparison), raw words (q = 0:
 * ref's are the stream's beaa_xof_u64 words), one seed for all streams or one of three per
 * stream (streams of several objects in one group). */
static void check_uniform_isa(const beaa_kernels *k, size_t nmax)
{
    const size_t counts[] = {1, 2, 3, 4, 5, 7, 8, 9, 11, 16, 19}, lens[] = {1, 17, 18, 301};
    uint64_t *buf = malloc(sizeof(uint64_t) * 19 * nmax), *ref = malloc(sizeof(uint64_t) * 19 * nmax);
    uint64_t *o[19], *r[19], q[19], dom[19];
    uint8_t seeds[3][32];
    const uint8_t *sd[19];
    ck_assert(buf && ref);
    for (size_t ci = 0; ci < sizeof counts / sizeof *counts; ci++)
        for (size_t li = 0; li <= sizeof lens / sizeof *lens; li++) {
            size_t cnt = counts[ci], n = li < 4 ? lens[li] : nmax;
            for (size_t b = 0; b < 3 * 32; b++) seeds[b / 32][b % 32] = (uint8_t)test_rng_u64();
            for (size_t s = 0; s < cnt; s++) sd[s] = seeds[(ci + li) % 2 ? (s * 7 + li) % 3 : 0];
            for (size_t s = 0; s < cnt; s++) {
                o[s] = buf + s * nmax;
                r[s] = ref + s * nmax;
                size_t kind = (s + ci + li) % 6;
                q[s] = kind == 0 ? test_find_ntt_prime(prime_bits[s % N_PRIME_BITS], 1024, 0)
                     : kind == 1 ? (UINT64_C(1) << 49) + 1 : kind == 2 ? 3
                     : kind == 3 ? test_rng_below(UINT64_C(1) << 61) + 2
                     : kind == 4 ? (UINT64_C(1) << 63) + test_rng_below(UINT64_C(1) << 62)
                     : 0 /* raw words */;
                dom[s] = test_rng_u64();
            }
            k->uniform_seeded(o, q, dom, cnt, n, sd);
            beaa_uniform_seeded_ref(r, q, dom, cnt, n, sd);
            for (size_t s = 0; s < cnt; s++)
                for (size_t i = 0; i < n; i++)
                    EXPECT(o[s][i] == r[s][i], "%s uniform_seeded: %zu streams, n %zu: stream %zu value %zu",
                           k->name, cnt, n, s, i);
            for (size_t s = 0; s < cnt; s++) {
                if (q[s] != 0) continue;
                /* raw words: exactly the stream's 64-bit words */
                beaa_xof x;
                beaa_xof_init(&x, sd[s], dom[s]);
                for (size_t i = 0; i < n; i++)
                    EXPECT(r[s][i] == beaa_xof_u64(&x), "ref uniform_seeded raw: stream %zu word %zu", s, i);
                beaa_xof_wipe(&x);
            }
        }
    free(buf);
    free(ref);
}

/* shake256_x8 against 8 scalar SHAKE256 calls, bit for bit: lengths around the 136-byte rate
 * (the padding byte alone, 0x9F, in the last free byte; a full padding block), a 256 KiB leaf of
 * the serialization checksums, output lengths 1 .. 136; 8 distinct messages, then messages 4-7
 * repeating message 0 (the filler lanes of lib/serial.c's last group). */
static void check_shake_x8_isa(const beaa_kernels *k, size_t big)
{
    const size_t lens[] = {0, 1, 8, 135, 136, 137, 271, 272, 1000, big};
    const size_t outs[] = {32, 1, 16, 33, 136};
    uint8_t *buf = malloc(8 * big), o[8][136], r[136];
    ck_assert_ptr_nonnull(buf);
    for (size_t i = 0; i < 8 * big; i++) buf[i] = (uint8_t)test_rng_u64();
    for (size_t li = 0; li < 2 * (sizeof lens / sizeof *lens); li++) {
        const size_t nl = sizeof lens / sizeof *lens, len = lens[li % nl];
        const size_t outlen = outs[li % (sizeof outs / sizeof *outs)];
        const uint8_t *in[8];
        uint8_t *op[8];
        for (int j = 0; j < 8; j++) {
            in[j] = buf + (size_t)j * big + (size_t)(j % 3); /* unaligned, overlapping starts */
            if (len + 2 > big) in[j] = buf + (size_t)j * (big - 2);
            if (li >= nl && j >= 4) in[j] = in[0];
            op[j] = o[j];
        }
        k->shake256_x8(op, outlen, in, len);
        for (int j = 0; j < 8; j++) {
            beaa_shake256(r, outlen, in[j], len);
            EXPECT(memcmp(o[j], r, outlen) == 0, "%s shake256_x8: len %zu, out %zu, message %d",
                   k->name, len, outlen, j);
        }
    }
    free(buf);
}

/* Both schedules of the avx512 NTTs for primes 2^49 < q < 2^50 (Harvey butterflies, or
 * reductions by IFMA; they run one of them, chosen by CPU vendor) against ref: forward plain
 * and lazy, inverse plain, lazy and scaled (random w, c), random and extreme inputs, the largest
 * prime below 2^50 and the smallest above 2^49 (1 mod 2^17), N = 16 .. 2^16. */
static void check_ntt_schedules(const beaa_kernels *k)
{
    void (*fn)(const beaa_ntt_tables *, uint64_t *, int, int);
    void (*fi)(const beaa_ntt_tables *, uint64_t *, const uint64_t *, int, uint64_t, uint64_t,
               int);
    if (k == &beaa_kernels_avx512) fn = beaa_ntt_fwd_avx512_sched, fi = beaa_ntt_inv_avx512_sched;
    else if (k == &emu_kernels_avx512) fn = emu_ntt_fwd_avx512_sched, fi = emu_ntt_inv_avx512_sched;
    else return;
    uint64_t lo = (UINT64_C(1) << 49) + 1;
    mpz_t z;
    mpz_init(z);
    for (;; lo += (UINT64_C(1) << 17)) {
        mpz_set_ui(z, (unsigned long)lo);
        if (mpz_probab_prime_p(z, 30)) break;
    }
    mpz_clear(z);
    const unsigned max_log = test_light() ? 12 : 16;
    for (unsigned log_n = 4; log_n <= max_log; log_n++) {
        const size_t n = (size_t)1 << log_n;
        uint64_t *a = beaa_alloc(n * 8), *b = beaa_alloc(n * 8);
        ck_assert(a && b);
        const uint64_t qs[2] = {test_find_ntt_prime(50, n, 0), lo};
        for (int qi = 0; qi < 2; qi++) {
            const uint64_t q = qs[qi];
            beaa_ntt_tables *t = beaa_ntt_tables_new(q, log_n);
            ck_assert_ptr_nonnull(t);
            if (k == &emu_kernels_avx512) ensure_ifma_tables(t);
            for (int v = 0; v < 8; v++) {
                const int harvey = v & 1, lazy = (v >> 1) & 1, extreme = v >> 2;
                const uint64_t bound = lazy ? 4 * q : q;
                if (extreme) fill_extreme(a, n, bound);
                else fill_random(a, n, bound);
                memcpy(b, a, n * 8);
                if (lazy) beaa_kernels_ref.ntt_fwd_lazy(t, a);
                else beaa_kernels_ref.ntt_fwd(t, a);
                fn(t, b, lazy, harvey);
                char what[64];
                snprintf(what, sizeof what, "ntt_fwd%s (%s)", lazy ? "_lazy" : "",
                         harvey ? "Harvey" : "reduce by IFMA");
                assert_same_mod(what, k, b, a, n, q, bound);
            }
            for (int v = 0; v < 12; v++) {
                const int harvey = v & 1, mode = (v >> 1) % 3, extreme = v / 6;
                const uint64_t bound = mode == 1 ? 2 * q : q;
                const uint64_t w = test_rng_below(q), c = test_rng_below(q);
                if (extreme) fill_extreme(a, n, bound);
                else fill_random(a, n, bound);
                memcpy(b, a, n * 8);
                if (mode == 2) {
                    beaa_kernels_ref.ntt_inv_scaled(t, a, a, w, c);
                    fi(t, b, b, 2, w, c, harvey);
                } else {
                    if (mode == 1) beaa_kernels_ref.ntt_inv_lazy(t, a);
                    else beaa_kernels_ref.ntt_inv(t, a);
                    fi(t, b, b, mode, 0, 0, harvey);
                }
                char what[64];
                snprintf(what, sizeof what, "ntt_inv%s (%s)",
                         mode == 2 ? "_scaled" : mode == 1 ? "_lazy" : "",
                         harvey ? "Harvey" : "reduce by IFMA");
                assert_same_mod(what, k, b, a, n, q, bound);
            }
            beaa_ntt_tables_free(t);
        }
        beaa_free(a);
        beaa_free(b);
    }
}

/* Both tilings of the avx512 lin_dot (it runs one of them, chosen by CPU) against ref. */
static void check_lin_dot_tilings(const beaa_kernels *k)
{
    typedef void (*lin_dot_fn)(uint64_t *const *, const uint64_t *const *, const uint64_t *,
                               const uint64_t *, size_t, size_t, size_t, const beaa_modulus *);
    lin_dot_fn fn[2];
    const char *nm[2];
    if (k == &beaa_kernels_avx512) {
        fn[0] = beaa_lin_dot_avx512_plain, fn[1] = beaa_lin_dot_avx512_pairs;
        nm[0] = "avx512 (plain tiles)", nm[1] = "avx512 (pairs)";
    } else if (k == &emu_kernels_avx512) {
        fn[0] = emu_lin_dot_avx512_plain, fn[1] = emu_lin_dot_avx512_pairs;
        nm[0] = "avx512-emulated (plain tiles)", nm[1] = "avx512-emulated (pairs)";
    } else
        return;
    for (int v = 0; v < 2; v++) {
        beaa_kernels t = *k;
        t.name = nm[v];
        t.lin_dot = fn[v];
        check_lin_dot_isa(&t);
    }
}

static void check_isa(const beaa_kernels *k)
{
    check_ntt_isa(k);
    const size_t lens[] = {8, 24, 1000, 4096};
    for (size_t li = 0; li < 4; li++)
        for (size_t bi = 0; bi < N_PRIME_BITS; bi++)
            check_elementwise_isa(k, lens[li], test_find_ntt_prime(prime_bits[bi], 1024, 1));
    /* 1028 and 1031: the SIMD basis_conv's 8-value blocks, then the scalar remainder */
    const size_t blens[] = {1024, 1028, 1031};
    for (size_t li = 0; li < 3; li++) {
        check_basis_permute_isa(k, blens[li]);
        check_moddown_isa(k, blens[li]);
    }
    /* 1024: the SIMD loop, then the row's last groups (masked or copied loads); 24: only those */
    check_ks_dot2_isa(k, 1024);
    check_ks_dot2_isa(k, 24);
    check_lin_dot_isa(k);
    check_lin_dot_tilings(k);
    check_ntt_schedules(k);
    check_uniform_isa(k, k == &emu_kernels_avx512 ? 1024 : 32768);
    check_shake_x8_isa(k, k == &emu_kernels_avx512 ? 4096 : (size_t)1 << 18);
}

/* The oracle itself: ref element-wise kernels against naive unsigned __int128 arithmetic. */
START_TEST(test_ref_vs_naive)
{
    size_t n = 1000;
    uint64_t *a = malloc(n * 8), *b = malloc(n * 8), *r = malloc(n * 8), *r2 = malloc(n * 8);
    ck_assert(a && b && r && r2);
    for (size_t bi = 0; bi < N_PRIME_BITS; bi++) {
        uint64_t q = test_find_ntt_prime(prime_bits[bi], 1024, 2);
        beaa_modulus m;
        beaa_modulus_init(&m, q);
        fill(a, n, q);
        fill(b, n, q);
        uint64_t w = test_rng_below(q), ws = beaa_shoup(w, q);
        const beaa_kernels *k = &beaa_kernels_ref;
        k->add_mod(r, a, b, n, q);
        for (size_t i = 0; i < n; i++) EXPECT_U64_EQ(r[i], (a[i] + b[i]) % q);
        k->sub_mod(r, a, b, n, q);
        for (size_t i = 0; i < n; i++) EXPECT_U64_EQ(r[i], (a[i] + q - b[i]) % q);
        k->neg_mod(r, a, n, q);
        for (size_t i = 0; i < n; i++) EXPECT_U64_EQ(r[i], (q - a[i]) % q);
        k->mul_mod(r, a, b, n, &m);
        for (size_t i = 0; i < n; i++)
            EXPECT_U64_EQ(r[i], (uint64_t)(((unsigned __int128)a[i] * b[i]) % q));
        memcpy(r, b, n * 8);
        k->mac_mod(r, a, b, n, &m);
        for (size_t i = 0; i < n; i++)
            EXPECT_U64_EQ(r[i], (uint64_t)(((unsigned __int128)a[i] * b[i] + b[i]) % q));
        k->mul_const(r, a, n, w, ws, q);
        for (size_t i = 0; i < n; i++)
            EXPECT_U64_EQ(r[i], (uint64_t)(((unsigned __int128)a[i] * w) % q));
        memcpy(r, b, n * 8);
        k->mac_const(r, a, n, w, ws, q);
        for (size_t i = 0; i < n; i++)
            EXPECT_U64_EQ(r[i], (uint64_t)(((unsigned __int128)a[i] * w + b[i]) % q));
        fill(r2, n, 2 * q);
        k->sub_mul_const(r, a, r2, n, w, ws, q);
        for (size_t i = 0; i < n; i++)
            EXPECT_U64_EQ(r[i],
                              (uint64_t)(((unsigned __int128)(a[i] + 2 * q - r2[i]) * w) % q));
        /* tensor with (a0, a1) = (a, b), (b0, b1) = (b, a) */
        uint64_t *t0 = malloc(n * 8), *t1 = malloc(n * 8), *t2 = malloc(n * 8);
        ck_assert(t0 && t1 && t2);
        k->tensor(t0, t1, t2, a, b, b, a, n, &m, w, ws);
        for (size_t i = 0; i < n; i++) {
            unsigned __int128 ab = ((unsigned __int128)a[i] * b[i]) % q;
            unsigned __int128 sq = ((unsigned __int128)a[i] * a[i] % q
                                    + (unsigned __int128)b[i] * b[i] % q) % q; /* a0b1 + a1b0 */
            EXPECT_U64_EQ(t0[i], (uint64_t)((ab * w) % q));
            EXPECT_U64_EQ(t1[i], (uint64_t)((sq * w) % q));
            EXPECT_U64_EQ(t2[i], (uint64_t)ab);
        }
        free(t0);
        free(t1);
        free(t2);
    }
    free(a);
    free(b);
    free(r);
    free(r2);
}
END_TEST

START_TEST(test_ref_basis_permute)
{
    check_basis_permute_isa(&beaa_kernels_ref, 1024);
    check_moddown_isa(&beaa_kernels_ref, 1024);
}
END_TEST

START_TEST(test_ref_ks_dot2) { check_ks_dot2_isa(&beaa_kernels_ref, 1024); }
END_TEST

/* The final reduction of the avx512 lin_dot (its source is included above on the scalar model):
 * (L + H 2^52 + b) mod q for the extremes of its ranges (L < 2^64, H < 2^60, b < q) and the
 * values that carry from one 52-bit digit into the next, against 128-bit arithmetic. */
START_TEST(test_lin_dot_reduce)
{
    for (size_t bi = 0; bi < N_PRIME_BITS && prime_bits[bi] < 50; bi++) {
        uint64_t q = test_find_ntt_prime(prime_bits[bi], 1024, 3);
        const ld5_red red = ld5_make_red(q);
        const uint64_t M52 = LD5_M52, H60 = (UINT64_C(1) << 60) - 1;
        for (int it = 0; it < 4000; it++) {
            __m512i L, H, B;
            for (int l = 0; l < 8; l++) {
                int kind = (it * 8 + l) % 6;
                uint64_t r1 = test_rng_u64(), r2 = test_rng_u64();
                L.v[l] = kind == 0 ? UINT64_MAX : kind == 1 ? 0 : r1;
                H.v[l] = kind == 0 ? H60 : kind == 2 ? ((r2 & H60) | M52) : kind == 3 ? (r2 & H60 & ~M52) + M52 : r2 & H60;
                B.v[l] = kind == 0 ? q - 1 : test_rng_below(q);
            }
            __m512i got = ld5_reduce(L, H, B, &red);
            for (int l = 0; l < 8; l++) {
                unsigned __int128 T = ((unsigned __int128)H.v[l] << 52) + L.v[l] + B.v[l];
                EXPECT_U64_EQ(got.v[l], (uint64_t)(T % q));
            }
            /* the two-digit form, for sums with H + L/2^52 < 2^52: its extremes */
            for (int l = 0; l < 8; l++) {
                uint64_t hi_room = ((UINT64_C(1) << 52) - 1) - (L.v[l] >> 52);
                H.v[l] = (it + l) % 3 == 0 ? hi_room : H.v[l] % (hi_room + 1);
            }
            got = ld5_reduce2(L, H, B, &red);
            for (int l = 0; l < 8; l++) {
                unsigned __int128 T = ((unsigned __int128)H.v[l] << 52) + L.v[l] + B.v[l];
                EXPECT_U64_EQ(got.v[l], (uint64_t)(T % q));
            }
        }
    }
}
END_TEST

/* The lin_dot oracle against GMP: signed small weights as the caller reduces them (w mod q). */
START_TEST(test_ref_lin_dot_gmp)
{
    const size_t m = 5, kk = 37, n = 24;
    uint64_t xbuf[37 * 24], w[5 * 37], bias[5], rbuf[5 * 24];
    const uint64_t *x[37];
    uint64_t *r[5];
    int64_t ws[5 * 37];
    mpz_t acc, t;
    mpz_init(acc);
    mpz_init(t);
    for (size_t bi = 0; bi < N_PRIME_BITS; bi++) {
        uint64_t q = test_find_ntt_prime(prime_bits[bi], 1024, 4);
        beaa_modulus mq;
        beaa_modulus_init(&mq, q);
        for (size_t c = 0; c < kk; c++) {
            x[c] = xbuf + c * n;
            for (size_t i = 0; i < n; i++) xbuf[c * n + i] = test_rng_below(q);
        }
        for (size_t i = 0; i < m * kk; i++) {
            ws[i] = (int64_t)test_rng_below(1u << 16) - 32768;
            w[i] = ws[i] < 0 ? q - (uint64_t)(-ws[i]) : (uint64_t)ws[i];
        }
        for (size_t j = 0; j < m; j++) { bias[j] = test_rng_below(q); r[j] = rbuf + j * n; }
        beaa_lin_dot_ref(r, x, w, bias, m, kk, n, &mq);
        for (size_t j = 0; j < m; j++)
            for (size_t i = 0; i < n; i++) {
                mpz_set_ui(acc, bias[j]);
                for (size_t c = 0; c < kk; c++) {
                    mpz_set_ui(t, x[c][i]);
                    mpz_mul_si(t, t, ws[j * kk + c]);
                    mpz_add(acc, acc, t);
                }
                mpz_fdiv_r_ui(acc, acc, q);
                EXPECT(mpz_get_ui(acc) == r[j][i], "lin_dot ref vs GMP, q %u bits", prime_bits[bi]);
            }
    }
    mpz_clear(acc);
    mpz_clear(t);
}
END_TEST

START_TEST(test_avx2) { check_isa(&beaa_kernels_avx2); }
END_TEST

START_TEST(test_avx512) { check_isa(&beaa_kernels_avx512); }
END_TEST

START_TEST(test_avx512_emulated) { check_isa(&emu_kernels_avx512); }
END_TEST

/* The dispatcher returns the table matching beaa_cpu_selected_isa, and init's status agrees. */
START_TEST(test_dispatch)
{
    beaa_isa isa;
    beaa_status st = beaa_cpu_selected_isa(&isa);
    const beaa_kernels *k = beaa_kernels_get();
    ck_assert_ptr_nonnull(k);
    ck_assert_int_eq(beaa_kernels_init(), st);
    ck_assert_str_eq(k->name, beaa_isa_name(isa));
    const char *env = getenv("BEAA_ARCH");
    if (!env) {
        ck_assert_int_eq(st, BEAA_OK);
        ck_assert_int_eq(isa, beaa_cpu_best_isa());
    } else if (strcmp(env, "ref") && strcmp(env, "avx2") && strcmp(env, "avx512")) {
        ck_assert_int_eq(st, BEAA_ERR_CPU);
        ck_assert_int_eq(isa, BEAA_ISA_REF);
    }
    ck_assert(beaa_cpu_supports(BEAA_ISA_REF));
    if (beaa_cpu_supports(BEAA_ISA_AVX512)) ck_assert(beaa_cpu_supports(BEAA_ISA_AVX2));
    ck_assert_int_ge(beaa_cpu_threads(), 1);
}
END_TEST

/* BEAA_ARCH handling in a fresh process per value (the choice is made once per process). */
START_TEST(test_arch_env)
{
    ck_assert_int_eq(setenv("BEAA_ARCH", "bogus", 1), 0);
    beaa_isa isa = BEAA_ISA_AVX512;
    ck_assert_int_eq(beaa_cpu_selected_isa(&isa), BEAA_ERR_CPU);
    ck_assert_int_eq(isa, BEAA_ISA_REF);
    ck_assert_int_eq(beaa_kernels_init(), BEAA_ERR_CPU);
    ck_assert_str_eq(beaa_kernels_get()->name, "ref");
    /* a CKKS context refuses to start rather than silently running other kernels */
    beaa_ckks_params_spec spec;
    const unsigned bits[1] = {30};
    ck_assert_int_eq(beaa_ckks_params_spec_make(&spec, 10, bits, 1, 1, 30), BEAA_OK);
    spec.allow_insecure = 1;
    beaa_ckks_context *ctx = NULL;
    ck_assert_int_eq(beaa_ckks_context_new(&spec, &ctx), BEAA_ERR_CPU);
    ck_assert_ptr_null(ctx);
}
END_TEST

/* Each named ISA: selected when the CPU has it, else ref + BEAA_ERR_CPU (fresh process each). */
START_TEST(test_arch_env_named)
{
    static const char *names[] = {"ref", "avx2", "avx512"};
    static const beaa_isa isas[] = {BEAA_ISA_REF, BEAA_ISA_AVX2, BEAA_ISA_AVX512};
    ck_assert_int_eq(setenv("BEAA_ARCH", names[_i], 1), 0);
    beaa_isa isa = BEAA_ISA_AVX512;
    beaa_status st = beaa_cpu_selected_isa(&isa);
    if (beaa_cpu_supports(isas[_i])) {
        ck_assert_int_eq(st, BEAA_OK);
        ck_assert_int_eq(isa, isas[_i]);
        ck_assert_str_eq(beaa_kernels_get()->name, names[_i]);
        ck_assert_int_eq(beaa_kernels_init(), BEAA_OK);
    } else {
        ck_assert_int_eq(st, BEAA_ERR_CPU);
        ck_assert_int_eq(isa, BEAA_ISA_REF);
        ck_assert_str_eq(beaa_kernels_get()->name, "ref");
        ck_assert_int_eq(beaa_kernels_init(), BEAA_ERR_CPU);
    }
}
END_TEST

/* beaa_parallel_init sets the OpenMP thread count from BEAA_THREADS once. */
START_TEST(test_parallel_init)
{
    ck_assert_int_eq(setenv("BEAA_THREADS", "3", 1), 0);
    ck_assert_int_eq(beaa_parallel_init(), 3);
    ck_assert_int_eq(omp_get_max_threads(), 3);
    ck_assert_int_eq(setenv("BEAA_THREADS", "5", 1), 0);
    ck_assert_int_eq(beaa_parallel_init(), 3); /* once */
    ck_assert_int_eq(beaa_parallel_threads(), 3);
    int seen = 0;
#pragma omp parallel reduction(+ : seen)
    seen += 1;
    ck_assert_int_eq(seen, 3);
}
END_TEST

START_TEST(test_threads_env)
{
    ck_assert_int_eq(setenv("BEAA_THREADS", "3", 1), 0);
    ck_assert_int_eq(beaa_cpu_threads(), 3);
    ck_assert_int_eq(setenv("BEAA_THREADS", "0", 1), 0);
    ck_assert_int_ge(beaa_cpu_threads(), 1);
    ck_assert_int_eq(setenv("BEAA_THREADS", "2x", 1), 0);
    ck_assert_int_ge(beaa_cpu_threads(), 1);
}
END_TEST

static Suite *kernels_suite(void)
{
    Suite *s = suite_create("kernels");
    TCase *tc = tcase_create("ref");
    tcase_add_test(tc, test_ref_vs_naive);
    tcase_add_test(tc, test_ref_basis_permute);
    tcase_add_test(tc, test_ref_ks_dot2);
    tcase_add_test(tc, test_ref_lin_dot_gmp);
    tcase_add_test(tc, test_lin_dot_reduce);
    tcase_add_test(tc, test_dispatch);
    const char *fork_env = getenv("CK_FORK");
    if (fork_env && strcmp(fork_env, "no") == 0) {
        printf("check_kernels: BEAA_ARCH/BEAA_THREADS process tests NOT run (need a fresh process; "
               "CK_FORK=no)\n");
    } else {
        tcase_add_test(tc, test_arch_env);
        tcase_add_loop_test(tc, test_arch_env_named, 0, 3);
        tcase_add_test(tc, test_parallel_init);
    }
    tcase_add_test(tc, test_threads_env);
    suite_add_tcase(s, tc);
    if (beaa_cpu_supports(BEAA_ISA_AVX2)) {
        TCase *t2 = tcase_create("avx2");
        tcase_set_timeout(t2, 120);
        tcase_add_test(t2, test_avx2);
        suite_add_tcase(s, t2);
    }
    if (beaa_cpu_supports(BEAA_ISA_AVX512)) {
        TCase *t5 = tcase_create("avx512");
        tcase_set_timeout(t5, 120);
        tcase_add_test(t5, test_avx512);
        suite_add_tcase(s, t5);
    }
    TCase *te = tcase_create("avx512-emulated");
    tcase_set_timeout(te, 120);
    tcase_add_test(te, test_avx512_emulated);
    suite_add_tcase(s, te);
    return s;
}

int main(void)
{
    test_rng_seed(0x9e3779b97f4a7c15);
    printf("check_kernels: comparing against ref: %s%s\n",
           beaa_cpu_supports(BEAA_ISA_AVX2) ? "avx2 " : "(avx2 NOT run: CPU lacks AVX2) ",
           beaa_cpu_supports(BEAA_ISA_AVX512)
               ? "avx512"
               : "(avx512 NOT run on hardware: this CPU lacks AVX-512 IFMA; not counted as "
                 "passed. avx512-emulated runs the same sources on a scalar intrinsic model)");
    return test_run_suite(kernels_suite(), 0);
}
