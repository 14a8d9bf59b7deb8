/* arith_avx2.c - AVX2 element-wise modular kernels. add/sub/neg use 64-bit integer lanes (any
 * q < 2^61); the products use the exact double-precision FMA arithmetic of fp_avx2.h for q < 2^50
 * and call the ref kernels for larger primes. n is a multiple of 8 (kernels.h); a scalar tail
 * handles any remainder of 4 anyway. */
#include "ckks/kernels/avx2/avx2.h"
#include "ckks/kernels/avx2/fp_avx2.h"
#include "ckks/kernels/ref/ref.h"
#include "ckks/ntt.h"

/* Values are < 2^62 so signed 64-bit compares order them correctly. */
void beaa_add_mod_avx2(uint64_t *r, const uint64_t *a, const uint64_t *b, size_t n, uint64_t q)
{
    const __m256i vq = _mm256_set1_epi64x((long long)q);
    size_t i = 0;
    for (; i + 4 <= n; i += 4) {
        __m256i s = _mm256_add_epi64(_mm256_loadu_si256((const __m256i *)(a + i)),
                                     _mm256_loadu_si256((const __m256i *)(b + i)));
        __m256i lt = _mm256_cmpgt_epi64(vq, s); /* s < q: keep */
        _mm256_storeu_si256((__m256i *)(r + i), _mm256_sub_epi64(s, _mm256_andnot_si256(lt, vq)));
    }
    for (; i < n; i++) r[i] = beaa_add_mod(a[i], b[i], q);
}

void beaa_sub_mod_avx2(uint64_t *r, const uint64_t *a, const uint64_t *b, size_t n, uint64_t q)
{
    const __m256i vq = _mm256_set1_epi64x((long long)q);
    size_t i = 0;
    for (; i + 4 <= n; i += 4) {
        __m256i va = _mm256_loadu_si256((const __m256i *)(a + i));
        __m256i vb = _mm256_loadu_si256((const __m256i *)(b + i));
        __m256i borrow = _mm256_cmpgt_epi64(vb, va);
        __m256i d = _mm256_add_epi64(_mm256_sub_epi64(va, vb), _mm256_and_si256(borrow, vq));
        _mm256_storeu_si256((__m256i *)(r + i), d);
    }
    for (; i < n; i++) r[i] = beaa_sub_mod(a[i], b[i], q);
}

void beaa_neg_mod_avx2(uint64_t *r, const uint64_t *a, size_t n, uint64_t q)
{
    const __m256i vq = _mm256_set1_epi64x((long long)q);
    size_t i = 0;
    for (; i + 4 <= n; i += 4) {
        __m256i va = _mm256_loadu_si256((const __m256i *)(a + i));
        __m256i zero = _mm256_cmpeq_epi64(va, _mm256_setzero_si256());
        _mm256_storeu_si256((__m256i *)(r + i),
                            _mm256_andnot_si256(zero, _mm256_sub_epi64(vq, va)));
    }
    for (; i < n; i++) r[i] = beaa_neg_mod(a[i], q);
}

static inline __m256d load_d(const uint64_t *p, __m256d off)
{
    return beaa_fp_from_u64(_mm256_loadu_si256((const __m256i *)p), off);
}
static inline void store_u(uint64_t *p, __m256d v)
{
    _mm256_storeu_si256((__m256i *)p, beaa_fp_to_u64(v));
}

/* a*b mod q for a, b in [0, q): h + l = a*b exactly, quotient round(h / q) within 0.75. */
static inline __m256d mulmod_var(__m256d a, __m256d b, __m256d q, __m256d qinv)
{
    const __m256d rnd = _mm256_set1_pd(BEAA_FP_RND);
    __m256d h = _mm256_mul_pd(a, b);
    __m256d l = _mm256_fmsub_pd(a, b, h);
    __m256d qd = _mm256_sub_pd(_mm256_fmadd_pd(h, qinv, rnd), rnd);
    return _mm256_add_pd(_mm256_fnmadd_pd(qd, q, h), l); /* [-0.75q, 0.75q] */
}

void beaa_mul_mod_avx2(uint64_t *r, const uint64_t *a, const uint64_t *b, size_t n,
                       const beaa_modulus *m)
{
    if (m->q >= BEAA_NTT_SMALL_Q_BOUND) {
        beaa_mul_mod_ref(r, a, b, n, m);
        return;
    }
    const __m256d q = _mm256_set1_pd((double)m->q), qinv = _mm256_set1_pd(1.0 / (double)m->q);
    const __m256d off = _mm256_set1_pd(BEAA_FP_TWO52);
    size_t i = 0;
    for (; i + 4 <= n; i += 4) {
        __m256d t = mulmod_var(load_d(a + i, off), load_d(b + i, off), q, qinv);
        store_u(r + i, beaa_fp_make_positive(t, q));
    }
    for (; i < n; i++) r[i] = beaa_mul_mod(a[i], b[i], m);
}

void beaa_mac_mod_avx2(uint64_t *r, const uint64_t *a, const uint64_t *b, size_t n,
                       const beaa_modulus *m)
{
    if (m->q >= BEAA_NTT_SMALL_Q_BOUND) {
        beaa_mac_mod_ref(r, a, b, n, m);
        return;
    }
    const __m256d q = _mm256_set1_pd((double)m->q), qinv = _mm256_set1_pd(1.0 / (double)m->q);
    const __m256d off = _mm256_set1_pd(BEAA_FP_TWO52 + (double)m->q); /* r - q in [-q, 0) */
    const __m256d off0 = _mm256_set1_pd(BEAA_FP_TWO52);
    size_t i = 0;
    for (; i + 4 <= n; i += 4) {
        __m256d t = mulmod_var(load_d(a + i, off0), load_d(b + i, off0), q, qinv);
        __m256d s = _mm256_add_pd(t, load_d(r + i, off)); /* (-1.75q, 0.75q] */
        s = beaa_fp_make_positive(s, q);                  /* (-0.75q, q) */
        store_u(r + i, beaa_fp_make_positive(s, q));
    }
    for (; i < n; i++) r[i] = beaa_reduce128((beaa_u128)a[i] * b[i] + r[i], m);
}

void beaa_mul_const_avx2(uint64_t *r, const uint64_t *a, size_t n, uint64_t w, uint64_t ws,
                         uint64_t q)
{
    if (q >= BEAA_NTT_SMALL_Q_BOUND) {
        beaa_mul_const_ref(r, a, n, w, ws, q);
        return;
    }
    const __m256d vq = _mm256_set1_pd((double)q), vw = _mm256_set1_pd((double)w);
    const __m256d vwq = _mm256_set1_pd((double)w / (double)q);
    const __m256d off = _mm256_set1_pd(BEAA_FP_TWO52);
    size_t i = 0;
    for (; i + 4 <= n; i += 4) {
        __m256d t = beaa_fp_mulmod(load_d(a + i, off), vw, vwq, vq);
        store_u(r + i, beaa_fp_make_positive(t, vq));
    }
    for (; i < n; i++) r[i] = beaa_mul_shoup(a[i], w, ws, q);
}

void beaa_mac_const_avx2(uint64_t *r, const uint64_t *a, size_t n, uint64_t w, uint64_t ws,
                         uint64_t q)
{
    if (q >= BEAA_NTT_SMALL_Q_BOUND) {
        beaa_mac_const_ref(r, a, n, w, ws, q);
        return;
    }
    const __m256d vq = _mm256_set1_pd((double)q), vw = _mm256_set1_pd((double)w);
    const __m256d vwq = _mm256_set1_pd((double)w / (double)q);
    const __m256d off = _mm256_set1_pd(BEAA_FP_TWO52);
    const __m256d offq = _mm256_set1_pd(BEAA_FP_TWO52 + (double)q);
    size_t i = 0;
    for (; i + 4 <= n; i += 4) {
        __m256d t = beaa_fp_mulmod(load_d(a + i, off), vw, vwq, vq);
        __m256d s = _mm256_add_pd(t, load_d(r + i, offq)); /* [-1.75q, 0.75q) */
        s = beaa_fp_make_positive(s, vq);
        store_u(r + i, beaa_fp_make_positive(s, vq));
    }
    for (; i < n; i++) r[i] = beaa_add_mod(r[i], beaa_mul_shoup(a[i], w, ws, q), q);
}

void beaa_sub_mul_const_avx2(uint64_t *r, const uint64_t *a, const uint64_t *b, size_t n,
                             uint64_t w, uint64_t ws, uint64_t q)
{
    if (q >= BEAA_NTT_SMALL_Q_BOUND) {
        beaa_sub_mul_const_ref(r, a, b, n, w, ws, q);
        return;
    }
    const __m256d vq = _mm256_set1_pd((double)q), vw = _mm256_set1_pd((double)w);
    const __m256d vwq = _mm256_set1_pd((double)w / (double)q);
    const __m256d off = _mm256_set1_pd(BEAA_FP_TWO52);
    size_t i = 0;
    for (; i + 4 <= n; i += 4) {
        __m256d d = _mm256_sub_pd(load_d(a + i, off), load_d(b + i, off)); /* (-2q, q) */
        __m256d t = beaa_fp_mulmod(d, vw, vwq, vq);
        store_u(r + i, beaa_fp_make_positive(t, vq));
    }
    for (; i < n; i++) r[i] = beaa_mul_shoup(a[i] + 2 * q - b[i], w, ws, q);
}

void beaa_tensor_avx2(uint64_t *r0, uint64_t *r1, uint64_t *r2, const uint64_t *a0,
                      const uint64_t *a1, const uint64_t *b0, const uint64_t *b1, size_t n,
                      const beaa_modulus *m, uint64_t w, uint64_t ws)
{
    if (m->q >= BEAA_NTT_SMALL_Q_BOUND) {
        beaa_tensor_ref(r0, r1, r2, a0, a1, b0, b1, n, m, w, ws);
        return;
    }
    const __m256d q = _mm256_set1_pd((double)m->q), qinv = _mm256_set1_pd(1.0 / (double)m->q);
    const __m256d vw = _mm256_set1_pd((double)w), vwq = _mm256_set1_pd((double)w / (double)m->q);
    const __m256d off = _mm256_set1_pd(BEAA_FP_TWO52);
    size_t i = 0;
    for (; i + 4 <= n; i += 4) {
        __m256d x0 = load_d(a0 + i, off), x1 = load_d(a1 + i, off);
        __m256d y0 = load_d(b0 + i, off), y1 = load_d(b1 + i, off);
        /* |t0|, |t2| <= 0.75q, |t1| <= 1.5q: fine inputs for the constant product */
        __m256d t0 = mulmod_var(x0, y0, q, qinv), t2 = mulmod_var(x1, y1, q, qinv);
        __m256d t1 = _mm256_add_pd(mulmod_var(x0, y1, q, qinv), mulmod_var(x1, y0, q, qinv));
        store_u(r0 + i, beaa_fp_make_positive(beaa_fp_mulmod(t0, vw, vwq, q), q));
        store_u(r1 + i, beaa_fp_make_positive(beaa_fp_mulmod(t1, vw, vwq, q), q));
        store_u(r2 + i, beaa_fp_make_positive(t2, q));
    }
    if (i < n)
        beaa_tensor_ref(r0 + i, r1 + i, r2 + i, a0 + i, a1 + i, b0 + i, b1 + i, n - i, m, w, ws);
}
