/* dot_avx2.c - AVX2 key-switching inner product (ks_dot2 in kernels.h) for q < 2^50 in exact
 * double-precision arithmetic (fp_avx2.h): each digit value v is the multiplier of both key
 * products (its quotient v/q computed once), every term is exact in [-0.75q, 0.75q] and the sums
 * are folded every 4 digits. Larger primes or more than 63 digits go to the ref kernel. The key
 * rows come bit-packed (ks_dot2: unpacked in registers, 16 of the 33 instructions per digit and
 * 4 outputs) or as doubles (ks_dot2_fp: loaded as they are; 26-30% less time at N = 2^15, 3
 * digits, on Zen 3). */
#include "ckks/kernels/avx2/avx2.h"
#include "ckks/kernels/avx2/fp_avx2.h"
#include "ckks/kernels/ref/ref.h"
#include <string.h>
#include "ckks/ntt.h"

/* Unpacking 4 residues (half h of a group of 8) of a bit-packed key row (kernels.h ks_dot2;
 * b = m->bits <= 50 bytes per group): residue k starts at bit k b, in the 8 bytes from byte
 * floor(k b / 8). Each 128-bit lane takes two residues from a 16-byte load at the first one's
 * byte (the two need floor((k+1) b / 8) - floor(k b / 8) + 8 <= 15 bytes); vpshufb moves their
 * 8 bytes into place, vpsrlvq and a mask leave the residues. Where b is a multiple of 8 (40-bit
 * primes) the residues start on bytes: vpshufb alone, its indices of the bytes above b / 8 in
 * each lane set to 0x80 (zero), does the unpack (aligned). */
typedef struct dot_unpack {
    __m256i shuf[2], shift[2], mask;
    int aligned;
    unsigned off[2][2]; /* byte of the load of half h, lane l */
} dot_unpack;

static dot_unpack dot_unpack_make(unsigned b)
{
    dot_unpack u;
    for (unsigned h = 0; h < 2; h++) {
        uint8_t sb[32];
        uint64_t sh[4];
        for (unsigned l = 0; l < 2; l++) {
            unsigned k0 = 4 * h + 2 * l;
            u.off[h][l] = k0 * b / 8;
            for (unsigned t = 0; t < 2; t++) {
                unsigned k = k0 + t;
                for (unsigned e = 0; e < 8; e++)
                    sb[16 * l + 8 * t + e] = b % 8 == 0 && e >= b / 8
                                                 ? 0x80
                                                 : (uint8_t)(k * b / 8 - u.off[h][l] + e);
                sh[2 * l + t] = k * b % 8;
            }
        }
        u.shuf[h] = _mm256_loadu_si256((const __m256i *)(const void *)sb);
        u.shift[h] = _mm256_loadu_si256((const __m256i *)(const void *)sh);
    }
    u.mask = _mm256_set1_epi64x((long long)((UINT64_C(1) << b) - 1));
    u.aligned = b % 8 == 0;
    return u;
}

/* Half h of the group whose first byte is g (16 readable bytes from each load's byte);
 * aligned: u->aligned (a constant where inlined). */
static inline __m256i dot_unpack4(const uint8_t *g, const dot_unpack *u, unsigned h, int aligned)
{
    __m128i lo = _mm_loadu_si128((const __m128i *)(const void *)(g + u->off[h][0]));
    __m128i hi = _mm_loadu_si128((const __m128i *)(const void *)(g + u->off[h][1]));
    __m256i v = _mm256_inserti128_si256(_mm256_castsi128_si256(lo), hi, 1);
    v = _mm256_shuffle_epi8(v, u->shuf[h]);
    if (aligned) return v;
    return _mm256_and_si256(_mm256_srlv_epi64(v, u->shift[h]), u->mask);
}

/* The key rows are either bit-packed (kb, ka; up, aligned) or doubles (fb, fa; up NULL). */
static inline __attribute__((always_inline)) void
dot_ks(uint64_t *r0, uint64_t *r1, const uint64_t *const *d, const uint8_t *const *kb,
       const uint8_t *const *ka, const double *const *fb, const double *const *fa, size_t nd,
       size_t n, const beaa_modulus *m, const uint64_t *c0, const uint64_t *c1, uint64_t w,
       const dot_unpack *up, int aligned)
{
    const int packed = up != NULL;
    dot_unpack u;
    if (packed) u = *up;
    else memset(&u, 0, sizeof u);
    const double pd = (double)m->q;
    const __m256d vp = _mm256_set1_pd(pd), vpinv = _mm256_set1_pd(1.0 / pd);
    const __m256d off = _mm256_set1_pd(BEAA_FP_TWO52);
    /* the multiplier of c0, c1 and its quotient by q (as for a digit below) */
    const __m256d wv = _mm256_set1_pd((double)w), wq = _mm256_mul_pd(wv, vpinv);
    const unsigned bits = m->bits;
    const size_t row = n / 8 * bits;
    /* a group whose loads would pass the row's end is copied into a zero-padded buffer */
    const size_t reach = u.off[1][1] + 16;
    uint8_t tb[64][2][64];
    for (size_t k = 0; k < n; k += 4) {
        const size_t g = k / 8 * bits;
        const unsigned h = (unsigned)(k / 4) & 1;
        const int tail = packed && g + reach > row;
        if (tail && h == 0) {
            for (size_t j = 0; j < nd; j++) {
                memset(tb[j], 0, sizeof tb[j]);
                memcpy(tb[j][0], kb[j] + g, bits);
                memcpy(tb[j][1], ka[j] + g, bits);
            }
        }
        __m256d acc0 = _mm256_setzero_pd(), acc1 = _mm256_setzero_pd();
        if (c0) {
            acc0 = beaa_fp_from_u64(_mm256_loadu_si256((const __m256i *)(c0 + k)), off);
            acc1 = beaa_fp_from_u64(_mm256_loadu_si256((const __m256i *)(c1 + k)), off);
            if (w != 1) { /* one more exact term in [-0.75q, 0.75q] */
                acc0 = beaa_fp_mulmod(acc0, wv, wq, vp);
                acc1 = beaa_fp_mulmod(acc1, wv, wq, vp);
            }
        }
        for (size_t j = 0; j < nd; j++) {
            const __m256i vi = _mm256_loadu_si256((const __m256i *)(d[j] + k));
            /* v, key < q < 2^50. vq = fl(v * fl(1/q)) is within 2^-52 relative of v/q, so
             * key * vq is within 0.25 of key*v/q: the rounded quotient is off by <= 0.75 and
             * each term is exact in [-0.75q, 0.75q] (same argument as beaa_fp_mulmod). */
            __m256d v = beaa_fp_from_u64(vi, off);
            __m256d vq = _mm256_mul_pd(v, vpinv);
            __m256d b, a;
            if (packed) {
                __m256i bi = dot_unpack4(tail ? tb[j][0] : kb[j] + g, &u, h, aligned);
                __m256i ai = dot_unpack4(tail ? tb[j][1] : ka[j] + g, &u, h, aligned);
                b = beaa_fp_from_u64(bi, off);
                a = beaa_fp_from_u64(ai, off);
            } else {
                b = _mm256_load_pd(fb[j] + k);
                a = _mm256_load_pd(fa[j] + k);
            }
            acc0 = _mm256_add_pd(acc0, beaa_fp_mulmod(b, v, vq, vp));
            acc1 = _mm256_add_pd(acc1, beaa_fp_mulmod(a, v, vq, vp));
            /* |acc| <= q (start or after a fold) + 4 * 0.75q < 2^53 */
            if ((j & 3) == 3) {
                acc0 = beaa_fp_reduce(acc0, vp, vpinv);
                acc1 = beaa_fp_reduce(acc1, vp, vpinv);
            }
        }
        acc0 = beaa_fp_make_positive(beaa_fp_reduce(acc0, vp, vpinv), vp);
        acc1 = beaa_fp_make_positive(beaa_fp_reduce(acc1, vp, vpinv), vp);
        _mm256_storeu_si256((__m256i *)(r0 + k), beaa_fp_to_u64(acc0));
        _mm256_storeu_si256((__m256i *)(r1 + k), beaa_fp_to_u64(acc1));
    }
}

void beaa_ks_dot2_avx2(uint64_t *r0, uint64_t *r1, const uint64_t *const *d,
                       const uint8_t *const *kb, const uint8_t *const *ka, size_t nd, size_t n,
                       const beaa_modulus *m, const uint64_t *c0, const uint64_t *c1, uint64_t w)
{
    if (m->q >= BEAA_NTT_SMALL_Q_BOUND || nd == 0 || nd > 63 || (n & 7) != 0) {
        beaa_ks_dot2_ref(r0, r1, d, kb, ka, nd, n, m, c0, c1, w);
        return;
    }
    const dot_unpack u = dot_unpack_make(m->bits);
    if (u.aligned) dot_ks(r0, r1, d, kb, ka, NULL, NULL, nd, n, m, c0, c1, w, &u, 1);
    else dot_ks(r0, r1, d, kb, ka, NULL, NULL, nd, n, m, c0, c1, w, &u, 0);
}

void beaa_ks_dot2_fp_avx2(uint64_t *r0, uint64_t *r1, const uint64_t *const *d,
                          const double *const *kb, const double *const *ka, size_t nd, size_t n,
                          const beaa_modulus *m, const uint64_t *c0, const uint64_t *c1,
                          uint64_t w)
{
    if (m->q >= BEAA_NTT_SMALL_Q_BOUND || nd == 0 || nd > 63 || (n & 7) != 0) {
        beaa_ks_dot2_fp_ref(r0, r1, d, kb, ka, nd, n, m, c0, c1, w);
        return;
    }
    dot_ks(r0, r1, d, NULL, NULL, kb, ka, nd, n, m, c0, c1, w, NULL, 0);
}
