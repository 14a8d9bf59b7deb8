/* ifma52.h - the 52-bit modular arithmetic shared by the IFMA dot-product kernels (lin_dot in
 * dot_avx512.c, basis_conv / basis_conv_sub / ks_dot2 in basis_avx512.c): Shoup products by a
 * constant, conditional subtraction, and the reduction of a sum kept as low and high 52-bit
 * halves, L + H 2^52 = t0 + t1 2^52 + t2 2^104 (52-bit digits), each digit times 2^(52 i) mod q
 * by a Shoup product. Static inline: the kernel sources include it (check_kernels includes them
 * a second time on the scalar intrinsic model). */
#ifndef BEAA_KERNELS_AVX512_IFMA52_H
#define BEAA_KERNELS_AVX512_IFMA52_H
#include <stdint.h>
#include "ckks/modarith.h"
#ifndef BEAA_IFMA_EMULATE
#include <immintrin.h>
#endif

#define LD5_M52 ((UINT64_C(1) << 52) - 1)
#define LD5_M50 ((UINT64_C(1) << 50) - 1)

/* A constant c < q with its 52-bit Shoup form c' = floor(c 2^52 / q). */
typedef struct ld5_const {
    __m512i c, cs;
} ld5_const;

static inline ld5_const ld5_make(uint64_t c, uint64_t q)
{
    ld5_const k;
    k.c = _mm512_set1_epi64((long long)c);
    k.cs = _mm512_set1_epi64((long long)(uint64_t)(((beaa_u128)c << 52) / q));
    return k;
}

/* a c mod q in [0, 2q) for a < 2^52: the quotient estimate hi52(a c') is floor(a c / q) or one
 * less, and a c - qe q < 2q < 2^51 is exact in the low 52 bits. */
static inline __m512i ld5_shoup(__m512i a, const ld5_const *k, __m512i vq, __m512i m52)
{
    const __m512i zero = _mm512_setzero_si512();
    __m512i qe = _mm512_madd52hi_epu64(zero, a, k->cs);
    __m512i r = _mm512_sub_epi64(_mm512_madd52lo_epu64(zero, a, k->c),
                                 _mm512_madd52lo_epu64(zero, qe, vq));
    return _mm512_and_si512(r, m52);
}

/* a mod q in [0, 2q) for a < 2^52: ld5_shoup by c = 1 (k = ld5_make(1, q)), whose product a c
 * is a itself and whose difference a - qe q needs no mask. The same value, two instructions less. */
static inline __m512i ld5_mod1(__m512i a, const ld5_const *k, __m512i vq)
{
    const __m512i zero = _mm512_setzero_si512();
    __m512i qe = _mm512_madd52hi_epu64(zero, a, k->cs);
    return _mm512_sub_epi64(a, _mm512_madd52lo_epu64(zero, qe, vq));
}

static inline __m512i ld5_csub(__m512i x, __m512i c)
{
    return _mm512_min_epu64(x, _mm512_sub_epi64(x, c));
}

/* (L + H 2^52 + b) mod q for L < 2^64, H < 2^60, b < q. */
typedef struct ld5_red {
    __m512i q, q2, q4, m52, s52;
    ld5_const one, c1, c2;
} ld5_red;

static inline __m512i ld5_reduce(__m512i L, __m512i H, __m512i b, const ld5_red *k)
{
    __m512i t0 = _mm512_and_si512(L, k->m52);
    __m512i t1 = _mm512_add_epi64(_mm512_srlv_epi64(L, k->s52), _mm512_and_si512(H, k->m52));
    __m512i t2 = _mm512_add_epi64(_mm512_srlv_epi64(H, k->s52), _mm512_srlv_epi64(t1, k->s52));
    t1 = _mm512_and_si512(t1, k->m52);
    __m512i s = _mm512_add_epi64(ld5_mod1(t0, &k->one, k->q), ld5_shoup(t1, &k->c1, k->q, k->m52));
    s = _mm512_add_epi64(s, ld5_shoup(t2, &k->c2, k->q, k->m52));
    s = _mm512_add_epi64(s, b); /* < 7q < 2^53 */
    s = ld5_csub(s, k->q4);
    s = ld5_csub(s, k->q2);
    return ld5_csub(s, k->q);
}

/* The same for sums with H + L/2^52 < 2^52 (e.g. up to 16 products of two residues of a prime
 * below 2^50): two 52-bit digits, two Shoup products. */
static inline __m512i ld5_reduce2(__m512i L, __m512i H, __m512i b, const ld5_red *k)
{
    __m512i t0 = _mm512_and_si512(L, k->m52);
    __m512i t1 = _mm512_add_epi64(_mm512_srlv_epi64(L, k->s52), H);
    __m512i s = _mm512_add_epi64(ld5_mod1(t0, &k->one, k->q), ld5_shoup(t1, &k->c1, k->q, k->m52));
    s = _mm512_add_epi64(s, b); /* < 5q */
    s = ld5_csub(s, k->q4);
    s = ld5_csub(s, k->q2);
    return ld5_csub(s, k->q);
}

static inline ld5_red ld5_make_red(uint64_t q)
{
    ld5_red red;
    red.q = _mm512_set1_epi64((long long)q);
    red.q2 = _mm512_set1_epi64((long long)(2 * q));
    red.q4 = _mm512_set1_epi64((long long)(4 * q));
    red.m52 = _mm512_set1_epi64((long long)LD5_M52);
    red.s52 = _mm512_set1_epi64(52);
    uint64_t c1 = (uint64_t)(((beaa_u128)1 << 52) % q);
    red.one = ld5_make(1 % q, q);
    red.c1 = ld5_make(c1, q);
    red.c2 = ld5_make((uint64_t)((beaa_u128)c1 * c1 % q), q);
    return red;
}

#endif
