/* linear.h - exact integer linear maps over RNS limbs (the BEAA convolution inner loop).
 * Per output position, out[o] = sum_i w[o][i] * in[i] (+ bias[o]) mod q, element by element over
 * long vectors (ciphertext limbs, NTT form), computed exactly: IFMA (the kernel table's lin_dot),
 * FMA on 2 halves in registers (linear_fma.c) or OpenBLAS dgemm on 2 halves (linear.c). */
#ifndef BEAA_NN_LINEAR_H
#define BEAA_NN_LINEAR_H
#include <stddef.h>
#include <stdint.h>
#include "ckks/modarith.h"
#include "ckks/kernels/kernels.h"

/* Coefficients processed per dgemm call (a B panel is k x 2*BEAA_NN_LIN_CHUNK doubles). */
#define BEAA_NN_LIN_CHUNK 128

/* One dense block of a sparse linear map: m outputs that read the same k inputs (for a
 * convolution: all output channels at one output position, the in-bounds taps of the window).
 * w is m x k row-major and holds INTEGERS (as doubles); bias holds m integers or is NULL.
 * in[]/out[] are indices into the caller's input/output pointer arrays. */
typedef struct beaa_nn_linblock {
    int32_t k, m;
    const int32_t *in;    /* k input indices */
    const int32_t *out;   /* m output indices */
    const double *w;      /* m x k integer weights */
    const int64_t *bias;  /* m integer biases (already multiplied by the scale), or NULL */
} beaa_nn_linblock;

/* v mod q in [0, q) for any int64 v (integer weights, biases and shifts into a limb); no
 * division when |v| < q, the usual case. */
static inline uint64_t beaa_nn_i64_mod(int64_t v, uint64_t q)
{
    if (v >= 0) return (uint64_t)v < q ? (uint64_t)v : (uint64_t)v % q;
    uint64_t r = (uint64_t)(-(v + 1)); /* -(v+1) avoids overflow at INT64_MIN */
    return q - 1 - (r < q ? r : r % q);
}

/* Number of low bits of a value mod q that go into the "lo" half: ceil(bits(q)/2). */
unsigned beaa_nn_linear_half_bits(uint64_t q);

/* Largest allowed L1 norm of one weight row for prime q: sums of |w| * 2^half stay below 2^53,
 * so every dgemm sum is an exact integer in double. */
double beaa_nn_linear_l1_limit(uint64_t q);

/* 1 if the AVX2 + FMA loops may run: the CPU has them and the selected kernel set (BEAA_ARCH)
 * is avx2 or avx512. Checked once, cached. */
int beaa_nn_linear_avx2_ok(void);

/* Doubles of scratch needed by beaa_nn_linear_range for blocks with at most kmax inputs and
 * mmax outputs (one scratch per thread). */
size_t beaa_nn_linear_work_doubles(int kmax, int mmax);

/* Applies nb blocks to elements [lo, hi) of the vectors: for each block b and output row r,
 * out[b.out[r]][t] = (sum_c b.w[r][c] * in[b.in[c]][t] + (add_bias ? b.bias[r] : 0)) mod q.
 * in[] vectors hold values in [0, q); outputs are in [0, q). Every row's L1 norm must be at most
 * beaa_nn_linear_l1_limit(q) (the caller checks; the result is exact then). work holds
 * beaa_nn_linear_work_doubles(kmax, mmax) doubles for the largest block. Infallible. */
void beaa_nn_linear_range(const beaa_nn_linblock *blocks, size_t nb, uint64_t *const *out,
                          const uint64_t *const *in, int add_bias, const beaa_modulus *q,
                          size_t lo, size_t hi, double *work);

/* The three ways beaa_nn_linear_range computes, for tests and benchmarks, in the order it tries
 * them: the kernel table's lin_dot on the residues (chosen when the table has one, q < 2^50,
 * blocks of at most BEAA_LIN_DOT_MAX_K inputs and hi - lo a multiple of 8); the one-pass AVX2 +
 * FMA loop of nn/linear_fma.c (the active kernel set is avx2 or avx512, 2^30 < q < 2^51, every
 * block has inputs); the exact dgemm of the residues split into 25-bit halves (OpenBLAS; every
 * other case). Same arguments and result; dot and fma return 0 without writing anything when
 * their conditions do not hold. */
int beaa_nn_linear_range_dot(const beaa_kernels *kern, const beaa_nn_linblock *blocks, size_t nb,
                             uint64_t *const *out, const uint64_t *const *in, int add_bias,
                             const beaa_modulus *q, size_t lo, size_t hi, double *work);
int beaa_nn_linear_range_fma(const beaa_nn_linblock *blocks, size_t nb, uint64_t *const *out,
                             const uint64_t *const *in, int add_bias, const beaa_modulus *q,
                             size_t lo, size_t hi, double *work);
void beaa_nn_linear_range_gemm(const beaa_nn_linblock *blocks, size_t nb, uint64_t *const *out,
                               const uint64_t *const *in, int add_bias, const beaa_modulus *q,
                               size_t lo, size_t hi, double *work);

/* The obvious reference of the same map with 128-bit integer arithmetic (test oracle). */
void beaa_nn_linear_range_ref(const beaa_nn_linblock *blocks, size_t nb, uint64_t *const *out,
                              const uint64_t *const *in, int add_bias, const beaa_modulus *q,
                              size_t lo, size_t hi);

#endif
