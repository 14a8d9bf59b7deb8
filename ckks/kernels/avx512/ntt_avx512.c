/* ntt_avx512.c - AVX-512 IFMA negacyclic NTT for primes q < 2^50: Harvey lazy butterflies on
 * 8 lanes with 52-bit Shoup twiddles (vpmadd52huq for the quotient, vpmadd52luq for the low
 * products), values kept in [0, 4q) < 2^52; distances 4, 2, 1 shuffle with vpermt2q.
 * Larger primes, or tables built without the 52-bit layout, use the ref kernels. */
#include "ckks/kernels/avx512/avx512.h"
#include "ckks/kernels/ref/ref.h"
#include "ckks/ntt.h"
#ifndef BEAA_IFMA_EMULATE
#include <immintrin.h>
#endif

#define MASK52 ((long long)((UINT64_C(1) << 52) - 1))

/* y * w mod q in [0, 2q) for y < 2^52, w < q < 2^50, ws = floor(w 2^52 / q),
 * neg_q = 2^52 - q: the 52-bit Shoup product. */
static inline __m512i ntt5_mul_shoup(__m512i y, __m512i w, __m512i ws, __m512i neg_q,
                                     __m512i mask52)
{
    const __m512i zero = _mm512_setzero_si512();
    __m512i qt = _mm512_madd52hi_epu64(zero, y, ws);  /* floor(y ws / 2^52) */
    __m512i lo = _mm512_madd52lo_epu64(zero, y, w);   /* y w mod 2^52 */
    lo = _mm512_madd52lo_epu64(lo, qt, neg_q);        /* + (-qt q) mod 2^52 */
    return _mm512_and_si512(lo, mask52);              /* = y w - qt q, in [0, 2q) */
}

/* x - c if x >= c else x (unsigned lanes, x < 2^63 + c). */
static inline __m512i ntt5_csub(__m512i x, __m512i c)
{
    return _mm512_min_epu64(x, _mm512_sub_epi64(x, c));
}

typedef struct ntt5_consts {
    __m512i q, two_q, neg_q, mask52;
} ntt5_consts;

/* Forward (Cooley-Tukey) butterfly: X, Y in [0, 4q) -> X + T, X - T + 2q in [0, 4q). */
static inline void ntt5_fwd_bfly(__m512i *x, __m512i *y, __m512i w, __m512i ws,
                                 const ntt5_consts *k)
{
    __m512i X = ntt5_csub(*x, k->two_q);
    __m512i T = ntt5_mul_shoup(*y, w, ws, k->neg_q, k->mask52);
    *x = _mm512_add_epi64(X, T);
    *y = _mm512_add_epi64(_mm512_sub_epi64(X, T), k->two_q);
}

/* Inverse (Gentleman-Sande) butterfly: U, V in [0, 2q) -> (U + V) mod 2q, w (U - V + 2q). */
static inline void ntt5_inv_bfly(__m512i *x, __m512i *y, __m512i w, __m512i ws,
                                 const ntt5_consts *k)
{
    __m512i U = *x, V = *y;
    *x = ntt5_csub(_mm512_add_epi64(U, V), k->two_q);
    *y = ntt5_mul_shoup(_mm512_add_epi64(_mm512_sub_epi64(U, V), k->two_q), w, ws, k->neg_q,
                        k->mask52);
}

/* Index vectors for a stage with butterfly distance g in {1, 2, 4}: two vectors (16 values,
 * 8/g groups) are split into X (first halves of the groups) and Y (second halves); tw picks
 * each lane's twiddle from 8 consecutive table entries; lo/hi merge X, Y back. */
typedef struct ntt5_shuffle {
    __m512i split_x, split_y, tw, merge_lo, merge_hi;
} ntt5_shuffle;

static ntt5_shuffle ntt5_make_shuffle(unsigned g)
{
    uint64_t sx[8], sy[8], tw[8], lo[8], hi[8];
    for (unsigned l = 0; l < 8; l++) {
        sx[l] = (l / g) * 2 * g + l % g; /* element of the 16 (>= 8 means second vector) */
        sy[l] = sx[l] + g;
        tw[l] = l / g;
    }
    for (unsigned e = 0; e < 16; e++) {
        unsigned grp = e / (2 * g), p = e % (2 * g);
        uint64_t src = p < g ? grp * g + p : 8 + grp * g + (p - g); /* X lane or 8 + Y lane */
        if (e < 8) lo[e] = src;
        else hi[e - 8] = src;
    }
    ntt5_shuffle s;
    s.split_x = _mm512_loadu_si512((const void *)sx);
    s.split_y = _mm512_loadu_si512((const void *)sy);
    s.tw = _mm512_loadu_si512((const void *)tw);
    s.merge_lo = _mm512_loadu_si512((const void *)lo);
    s.merge_hi = _mm512_loadu_si512((const void *)hi);
    return s;
}

/* One stage with distance g < 8 (m = n / (2g) groups), forward or inverse butterflies, reading
 * src and writing a (src == a in place). */
static void ntt5_small_stage(uint64_t *a, const uint64_t *src, size_t n, unsigned g,
                             const uint64_t *w_tab,
                             const uint64_t *ws_tab, const ntt5_consts *k, int inverse)
{
    const size_t m = n / (2 * g), per = 8 / g; /* groups per pair of vectors */
    const ntt5_shuffle s = ntt5_make_shuffle(g);
    for (size_t i = 0; i < m; i += per) {
        uint64_t *p = a + 2 * g * i;
        const uint64_t *ps = src + 2 * g * i;
        __m512i v0 = _mm512_load_si512((const void *)ps);
        __m512i v1 = _mm512_load_si512((const void *)(ps + 8));
        __m512i X = _mm512_permutex2var_epi64(v0, s.split_x, v1);
        __m512i Y = _mm512_permutex2var_epi64(v0, s.split_y, v1);
        /* entries m+i .. m+i+7 exist: m + i + 7 < n for n >= 16 (see docs/kernels.md) */
        __m512i w = _mm512_permutexvar_epi64(s.tw, _mm512_loadu_si512((const void *)(w_tab + m + i)));
        __m512i ws = _mm512_permutexvar_epi64(s.tw, _mm512_loadu_si512((const void *)(ws_tab + m + i)));
        if (inverse) ntt5_inv_bfly(&X, &Y, w, ws, k);
        else ntt5_fwd_bfly(&X, &Y, w, ws, k);
        _mm512_store_si512((void *)p, _mm512_permutex2var_epi64(X, s.merge_lo, Y));
        _mm512_store_si512((void *)(p + 8), _mm512_permutex2var_epi64(X, s.merge_hi, Y));
    }
}

static ntt5_consts ntt5_make_consts(uint64_t q)
{
    ntt5_consts k;
    k.q = _mm512_set1_epi64((long long)q);
    k.two_q = _mm512_set1_epi64((long long)(2 * q));
    k.neg_q = _mm512_set1_epi64((long long)((UINT64_C(1) << 52) - q));
    k.mask52 = _mm512_set1_epi64(MASK52);
    return k;
}

static void ntt5_fwd(const beaa_ntt_tables *t, uint64_t *a, int lazy)
{
    const size_t n = t->n;
    const ntt5_consts k = ntt5_make_consts(t->mod.q);
    size_t gap = n, m = 1;
    for (; gap > 8; m <<= 1) {
        gap >>= 1;
        for (size_t i = 0; i < m; i++) {
            const __m512i w = _mm512_set1_epi64((long long)t->fw[m + i]);
            const __m512i ws = _mm512_set1_epi64((long long)t->fw_shoup52[m + i]);
            uint64_t *x = a + 2 * i * gap, *y = x + gap;
            for (size_t j = 0; j < gap; j += 8) {
                __m512i X = _mm512_load_si512((const void *)(x + j));
                __m512i Y = _mm512_load_si512((const void *)(y + j));
                ntt5_fwd_bfly(&X, &Y, w, ws, &k);
                _mm512_store_si512((void *)(x + j), X);
                _mm512_store_si512((void *)(y + j), Y);
            }
        }
    }
    ntt5_small_stage(a, a, n, 4, t->fw, t->fw_shoup52, &k, 0);
    ntt5_small_stage(a, a, n, 2, t->fw, t->fw_shoup52, &k, 0);
    ntt5_small_stage(a, a, n, 1, t->fw, t->fw_shoup52, &k, 0);
    if (lazy) return;
    for (size_t j = 0; j < n; j += 8) {
        __m512i v = _mm512_load_si512((const void *)(a + j));
        v = ntt5_csub(ntt5_csub(v, k.two_q), k.q);
        _mm512_store_si512((void *)(a + j), v);
    }
}

/* The last stage multiplies by ni = n^-1 s and nw = n^-1 iv[1] s (s = 1, or the scaled kernel's
 * w; nis, nws their 52-bit Shoup forms); mode 0: output in [0, q), 1: lazy [0, 2q), 2: plus
 * c mod q, in [0, q). */
static void ntt5_inv(const beaa_ntt_tables *t, uint64_t *a, const uint64_t *src, int mode,
                     uint64_t ni_,
                     uint64_t nis_, uint64_t nw_, uint64_t nws_, uint64_t c_)
{
    const size_t n = t->n, half = n >> 1;
    const ntt5_consts k = ntt5_make_consts(t->mod.q);
    ntt5_small_stage(a, src, n, 1, t->iv, t->iv_shoup52, &k, 1);
    ntt5_small_stage(a, a, n, 2, t->iv, t->iv_shoup52, &k, 1);
    ntt5_small_stage(a, a, n, 4, t->iv, t->iv_shoup52, &k, 1);
    size_t gap = 8;
    for (size_t m = n >> 4; m > 1; m >>= 1, gap <<= 1) {
        for (size_t i = 0; i < m; i++) {
            const __m512i w = _mm512_set1_epi64((long long)t->iv[m + i]);
            const __m512i ws = _mm512_set1_epi64((long long)t->iv_shoup52[m + i]);
            uint64_t *x = a + 2 * i * gap, *y = x + gap;
            for (size_t j = 0; j < gap; j += 8) {
                __m512i X = _mm512_load_si512((const void *)(x + j));
                __m512i Y = _mm512_load_si512((const void *)(y + j));
                ntt5_inv_bfly(&X, &Y, w, ws, &k);
                _mm512_store_si512((void *)(x + j), X);
                _mm512_store_si512((void *)(y + j), Y);
            }
        }
    }
    /* last stage with n^-1 merged: outputs in [0, 2q) */
    const __m512i ni = _mm512_set1_epi64((long long)ni_);
    const __m512i nis = _mm512_set1_epi64((long long)nis_);
    const __m512i nw = _mm512_set1_epi64((long long)nw_);
    const __m512i nws = _mm512_set1_epi64((long long)nws_);
    const __m512i c = _mm512_set1_epi64((long long)c_);
    for (size_t j = 0; j < half; j += 8) {
        __m512i U = _mm512_load_si512((const void *)(a + j));
        __m512i V = _mm512_load_si512((const void *)(a + half + j));
        __m512i X = ntt5_mul_shoup(_mm512_add_epi64(U, V), ni, nis, k.neg_q, k.mask52);
        __m512i Y = ntt5_mul_shoup(_mm512_add_epi64(_mm512_sub_epi64(U, V), k.two_q), nw, nws,
                                   k.neg_q, k.mask52);
        if (mode != 1) {
            X = ntt5_csub(X, k.q);
            Y = ntt5_csub(Y, k.q);
        }
        if (mode == 2) {
            X = ntt5_csub(_mm512_add_epi64(X, c), k.q);
            Y = ntt5_csub(_mm512_add_epi64(Y, c), k.q);
        }
        _mm512_store_si512((void *)(a + j), X);
        _mm512_store_si512((void *)(a + half + j), Y);
    }
}

/* The IFMA path needs the 52-bit table and n >= 16 (distance-4 stage has two groups). */
static int ntt5_usable(const beaa_ntt_tables *t)
{
    return t->fw_shoup52 && t->iv_shoup52 && t->mod.q < BEAA_NTT_SMALL_Q_BOUND && t->n >= 16;
}

void beaa_ntt_fwd_avx512(const beaa_ntt_tables *t, uint64_t *a)
{
    if (ntt5_usable(t)) ntt5_fwd(t, a, 0);
    else beaa_ntt_fwd_ref(t, a);
}

void beaa_ntt_fwd_lazy_avx512(const beaa_ntt_tables *t, uint64_t *a)
{
    if (ntt5_usable(t)) ntt5_fwd(t, a, 1);
    else beaa_ntt_fwd_lazy_ref(t, a);
}

void beaa_ntt_inv_avx512(const beaa_ntt_tables *t, uint64_t *a)
{
    if (ntt5_usable(t))
        ntt5_inv(t, a, a, 0, t->n_inv, t->n_inv_shoup52, t->n_inv_w, t->n_inv_w_shoup52, 0);
    else
        beaa_ntt_inv_ref(t, a);
}

void beaa_ntt_inv_lazy_avx512(const beaa_ntt_tables *t, uint64_t *a)
{
    if (ntt5_usable(t))
        ntt5_inv(t, a, a, 1, t->n_inv, t->n_inv_shoup52, t->n_inv_w, t->n_inv_w_shoup52, 0);
    else
        beaa_ntt_inv_lazy_ref(t, a);
}

void beaa_ntt_inv_scaled_avx512(const beaa_ntt_tables *t, uint64_t *r, const uint64_t *a,
                                uint64_t w, uint64_t c)
{
    if (!ntt5_usable(t)) {
        beaa_ntt_inv_scaled_ref(t, r, a, w, c);
        return;
    }
    const uint64_t q = t->mod.q;
    const uint64_t ni = beaa_mul_mod(t->n_inv, w, &t->mod);
    const uint64_t nw = beaa_mul_mod(t->n_inv_w, w, &t->mod);
    ntt5_inv(t, r, a, 2, ni, beaa_shoup52(ni, q), nw, beaa_shoup52(nw, q), c);
}
