/* arith_avx512.c - AVX-512 element-wise modular kernels. add/sub/neg on 8 integer lanes for any
 * q < 2^61 (unsigned min as the conditional subtraction); products with IFMA for q < 2^50:
 * Barrett on the 104-bit product for mul_mod/mac_mod, 52-bit Shoup for the constant products.
 * Larger primes use the ref kernels. A scalar tail handles n not a multiple of 8. */
#include "ckks/kernels/avx512/avx512.h"
#include "ckks/kernels/ref/ref.h"
#include "ckks/ntt.h"
#ifndef BEAA_IFMA_EMULATE
#include <immintrin.h>
#endif

#define AR5_MASK52 ((long long)((UINT64_C(1) << 52) - 1))

static inline __m512i ar5_csub(__m512i x, __m512i c)
{
    return _mm512_min_epu64(x, _mm512_sub_epi64(x, c));
}

void beaa_add_mod_avx512(uint64_t *r, const uint64_t *a, const uint64_t *b, size_t n, uint64_t q)
{
    const __m512i vq = _mm512_set1_epi64((long long)q);
    size_t i = 0;
    for (; i + 8 <= n; i += 8) {
        __m512i s = _mm512_add_epi64(_mm512_loadu_si512((const void *)(a + i)),
                                     _mm512_loadu_si512((const void *)(b + i)));
        _mm512_storeu_si512((void *)(r + i), ar5_csub(s, vq));
    }
    for (; i < n; i++) r[i] = beaa_add_mod(a[i], b[i], q);
}

void beaa_sub_mod_avx512(uint64_t *r, const uint64_t *a, const uint64_t *b, size_t n, uint64_t q)
{
    const __m512i vq = _mm512_set1_epi64((long long)q);
    size_t i = 0;
    for (; i + 8 <= n; i += 8) {
        __m512i d = _mm512_sub_epi64(_mm512_loadu_si512((const void *)(a + i)),
                                     _mm512_loadu_si512((const void *)(b + i)));
        /* a >= b: d < q <= d + q; a < b: d wrapped, d + q = a - b + q is the answer */
        _mm512_storeu_si512((void *)(r + i), _mm512_min_epu64(d, _mm512_add_epi64(d, vq)));
    }
    for (; i < n; i++) r[i] = beaa_sub_mod(a[i], b[i], q);
}

void beaa_neg_mod_avx512(uint64_t *r, const uint64_t *a, size_t n, uint64_t q)
{
    const __m512i vq = _mm512_set1_epi64((long long)q);
    size_t i = 0;
    for (; i + 8 <= n; i += 8) {
        __m512i d = _mm512_sub_epi64(vq, _mm512_loadu_si512((const void *)(a + i)));
        _mm512_storeu_si512((void *)(r + i), ar5_csub(d, vq)); /* q - 0 = q -> 0 */
    }
    for (; i < n; i++) r[i] = beaa_neg_mod(a[i], q);
}

/* Barrett constants for q < 2^50 with L = bit length of q: mu = floor(2^(L+51) / q) < 2^52. */
typedef struct ar5_barrett {
    __m512i q, neg_q, mask52, mu, shl, shr;
} ar5_barrett;

static ar5_barrett ar5_make_barrett(const beaa_modulus *m)
{
    ar5_barrett b;
    unsigned L = m->bits;
    uint64_t mu = (uint64_t)(((beaa_u128)1 << (L + 51)) / m->q);
    b.q = _mm512_set1_epi64((long long)m->q);
    b.neg_q = _mm512_set1_epi64((long long)((UINT64_C(1) << 52) - m->q));
    b.mask52 = _mm512_set1_epi64(AR5_MASK52);
    b.mu = _mm512_set1_epi64((long long)mu);
    b.shl = _mm512_set1_epi64((long long)(53 - L));
    b.shr = _mm512_set1_epi64((long long)(L - 1));
    return b;
}

/* a*b mod q in [0, q) for a, b < q < 2^50. P = hi 2^52 + lo; c1 = P >> (L-1) < 2^51;
 * qhat = (c1 mu) >> 52 is within 2 below floor(P / q), so P - qhat q < 3q: two corrections. */
static inline __m512i ar5_mulmod(__m512i a, __m512i b, const ar5_barrett *k)
{
    const __m512i zero = _mm512_setzero_si512();
    __m512i lo = _mm512_madd52lo_epu64(zero, a, b);
    __m512i hi = _mm512_madd52hi_epu64(zero, a, b);
    __m512i c1 = _mm512_or_si512(_mm512_sllv_epi64(hi, k->shl), _mm512_srlv_epi64(lo, k->shr));
    __m512i qhat = _mm512_madd52hi_epu64(zero, c1, k->mu);
    __m512i r = _mm512_and_si512(_mm512_madd52lo_epu64(lo, qhat, k->neg_q), k->mask52);
    return ar5_csub(ar5_csub(r, k->q), k->q);
}

/* (a*b + c*d) mod q in [0, q) for a, b, c, d < q < 2^50: one Barrett reduction of the 101-bit
 * sum. P = hi 2^52 + lo with lo < 2^53 (two low halves added), so c1 = P >> (L-1) is hi << (53-L)
 * PLUS lo >> (L-1) (the bits overlap), c1 < 2^(L+2) <= 2^52; qhat = (c1 mu) >> 52 is at most 2
 * below floor(P / q) (c1 mu / 2^52 > P/q - P/2^(L+51) - 2^(L-1)/q > P/q - 2 for P < 2^(2L+1)),
 * so P - qhat q < 3q < 2^52, taken mod 2^52 from lo. */
static inline __m512i ar5_mulmod2(__m512i a, __m512i b, __m512i c, __m512i d, const ar5_barrett *k)
{
    const __m512i zero = _mm512_setzero_si512();
    __m512i lo = _mm512_madd52lo_epu64(_mm512_madd52lo_epu64(zero, a, b), c, d);
    __m512i hi = _mm512_madd52hi_epu64(_mm512_madd52hi_epu64(zero, a, b), c, d);
    __m512i c1 = _mm512_add_epi64(_mm512_sllv_epi64(hi, k->shl), _mm512_srlv_epi64(lo, k->shr));
    __m512i qhat = _mm512_madd52hi_epu64(zero, c1, k->mu);
    __m512i r = _mm512_and_si512(_mm512_madd52lo_epu64(lo, qhat, k->neg_q), k->mask52);
    return ar5_csub(ar5_csub(r, _mm512_add_epi64(k->q, k->q)), k->q);
}

void beaa_mul_mod_avx512(uint64_t *r, const uint64_t *a, const uint64_t *b, size_t n,
                         const beaa_modulus *m)
{
    if (m->q >= BEAA_NTT_SMALL_Q_BOUND) {
        beaa_mul_mod_ref(r, a, b, n, m);
        return;
    }
    const ar5_barrett k = ar5_make_barrett(m);
    size_t i = 0;
    for (; i + 8 <= n; i += 8) {
        __m512i va = _mm512_loadu_si512((const void *)(a + i));
        __m512i vb = _mm512_loadu_si512((const void *)(b + i));
        _mm512_storeu_si512((void *)(r + i), ar5_mulmod(va, vb, &k));
    }
    for (; i < n; i++) r[i] = beaa_mul_mod(a[i], b[i], m);
}

void beaa_mac_mod_avx512(uint64_t *r, const uint64_t *a, const uint64_t *b, size_t n,
                         const beaa_modulus *m)
{
    if (m->q >= BEAA_NTT_SMALL_Q_BOUND) {
        beaa_mac_mod_ref(r, a, b, n, m);
        return;
    }
    const ar5_barrett k = ar5_make_barrett(m);
    size_t i = 0;
    for (; i + 8 <= n; i += 8) {
        __m512i va = _mm512_loadu_si512((const void *)(a + i));
        __m512i vb = _mm512_loadu_si512((const void *)(b + i));
        __m512i s = _mm512_add_epi64(ar5_mulmod(va, vb, &k),
                                     _mm512_loadu_si512((const void *)(r + i)));
        _mm512_storeu_si512((void *)(r + i), ar5_csub(s, k.q));
    }
    for (; i < n; i++) r[i] = beaa_reduce128((beaa_u128)a[i] * b[i] + r[i], m);
}

/* x*w mod q in [0, 2q) for x < 2^52 (52-bit Shoup, ws = floor(w 2^52 / q)). */
static inline __m512i ar5_mul_shoup(__m512i x, __m512i w, __m512i ws, __m512i neg_q,
                                    __m512i mask52)
{
    const __m512i zero = _mm512_setzero_si512();
    __m512i qt = _mm512_madd52hi_epu64(zero, x, ws);
    __m512i lo = _mm512_madd52lo_epu64(zero, x, w);
    return _mm512_and_si512(_mm512_madd52lo_epu64(lo, qt, neg_q), mask52);
}

typedef struct ar5_const {
    __m512i q, two_q, neg_q, mask52, w, ws;
} ar5_const;

static ar5_const ar5_make_const(uint64_t w, uint64_t q)
{
    ar5_const k;
    k.q = _mm512_set1_epi64((long long)q);
    k.two_q = _mm512_set1_epi64((long long)(2 * q));
    k.neg_q = _mm512_set1_epi64((long long)((UINT64_C(1) << 52) - q));
    k.mask52 = _mm512_set1_epi64(AR5_MASK52);
    k.w = _mm512_set1_epi64((long long)w);
    k.ws = _mm512_set1_epi64((long long)beaa_shoup52(w, q));
    return k;
}

void beaa_mul_const_avx512(uint64_t *r, const uint64_t *a, size_t n, uint64_t w, uint64_t ws,
                           uint64_t q)
{
    if (q >= BEAA_NTT_SMALL_Q_BOUND) {
        beaa_mul_const_ref(r, a, n, w, ws, q);
        return;
    }
    const ar5_const k = ar5_make_const(w, q);
    size_t i = 0;
    for (; i + 8 <= n; i += 8) {
        __m512i t = ar5_mul_shoup(_mm512_loadu_si512((const void *)(a + i)), k.w, k.ws, k.neg_q,
                                  k.mask52);
        _mm512_storeu_si512((void *)(r + i), ar5_csub(t, k.q));
    }
    for (; i < n; i++) r[i] = beaa_mul_shoup(a[i], w, ws, q);
}

void beaa_mac_const_avx512(uint64_t *r, const uint64_t *a, size_t n, uint64_t w, uint64_t ws,
                           uint64_t q)
{
    if (q >= BEAA_NTT_SMALL_Q_BOUND) {
        beaa_mac_const_ref(r, a, n, w, ws, q);
        return;
    }
    const ar5_const k = ar5_make_const(w, q);
    size_t i = 0;
    for (; i + 8 <= n; i += 8) {
        __m512i t = ar5_mul_shoup(_mm512_loadu_si512((const void *)(a + i)), k.w, k.ws, k.neg_q,
                                  k.mask52);
        __m512i s = _mm512_add_epi64(ar5_csub(t, k.q), _mm512_loadu_si512((const void *)(r + i)));
        _mm512_storeu_si512((void *)(r + i), ar5_csub(s, k.q));
    }
    for (; i < n; i++) r[i] = beaa_add_mod(r[i], beaa_mul_shoup(a[i], w, ws, q), q);
}

void beaa_sub_mul_const_avx512(uint64_t *r, const uint64_t *a, const uint64_t *b, size_t n,
                               uint64_t w, uint64_t ws, uint64_t q)
{
    if (q >= BEAA_NTT_SMALL_Q_BOUND) {
        beaa_sub_mul_const_ref(r, a, b, n, w, ws, q);
        return;
    }
    const ar5_const k = ar5_make_const(w, q);
    size_t i = 0;
    for (; i + 8 <= n; i += 8) {
        __m512i d = _mm512_sub_epi64(_mm512_add_epi64(_mm512_loadu_si512((const void *)(a + i)),
                                                      k.two_q),
                                     _mm512_loadu_si512((const void *)(b + i))); /* (0, 3q) */
        __m512i t = ar5_mul_shoup(d, k.w, k.ws, k.neg_q, k.mask52);
        _mm512_storeu_si512((void *)(r + i), ar5_csub(t, k.q));
    }
    for (; i < n; i++) r[i] = beaa_mul_shoup(a[i] + 2 * q - b[i], w, ws, q);
}

/* The tensor product loop; scaled == 0 is w = 1 (the plain ciphertext product): no Shoup
 * products by w. */
static inline __attribute__((always_inline)) size_t
ar5_tensor_body(uint64_t *r0, uint64_t *r1, uint64_t *r2, const uint64_t *a0, const uint64_t *a1,
                const uint64_t *b0, const uint64_t *b1, size_t n, const ar5_barrett *k,
                const ar5_const *kc, int scaled)
{
    size_t i = 0;
    for (; i + 8 <= n; i += 8) {
        __m512i x0 = _mm512_loadu_si512((const void *)(a0 + i));
        __m512i x1 = _mm512_loadu_si512((const void *)(a1 + i));
        __m512i y0 = _mm512_loadu_si512((const void *)(b0 + i));
        __m512i y1 = _mm512_loadu_si512((const void *)(b1 + i));
        __m512i t1 = ar5_mulmod2(x0, y1, x1, y0, k); /* [0, q) */
        __m512i t0 = ar5_mulmod(x0, y0, k);
        if (scaled) {
            t0 = ar5_csub(ar5_mul_shoup(t0, kc->w, kc->ws, kc->neg_q, kc->mask52), k->q);
            t1 = ar5_csub(ar5_mul_shoup(t1, kc->w, kc->ws, kc->neg_q, kc->mask52), k->q);
        }
        _mm512_storeu_si512((void *)(r0 + i), t0);
        _mm512_storeu_si512((void *)(r1 + i), t1);
        _mm512_storeu_si512((void *)(r2 + i), ar5_mulmod(x1, y1, k));
    }
    return i;
}

void beaa_tensor_avx512(uint64_t *r0, uint64_t *r1, uint64_t *r2, const uint64_t *a0,
                        const uint64_t *a1, const uint64_t *b0, const uint64_t *b1, size_t n,
                        const beaa_modulus *m, uint64_t w, uint64_t ws)
{
    if (m->q >= BEAA_NTT_SMALL_Q_BOUND) {
        beaa_tensor_ref(r0, r1, r2, a0, a1, b0, b1, n, m, w, ws);
        return;
    }
    const ar5_barrett k = ar5_make_barrett(m);
    const ar5_const kc = ar5_make_const(w, m->q);
    size_t i = w == 1 ? ar5_tensor_body(r0, r1, r2, a0, a1, b0, b1, n, &k, &kc, 0)
                      : ar5_tensor_body(r0, r1, r2, a0, a1, b0, b1, n, &k, &kc, 1);
    if (i < n)
        beaa_tensor_ref(r0 + i, r1 + i, r2 + i, a0 + i, a1 + i, b0 + i, b1 + i, n - i, m, w, ws);
}
