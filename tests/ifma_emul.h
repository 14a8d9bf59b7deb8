/* ifma_emul.h - a scalar model of the few AVX-512F/IFMA intrinsics the avx512 kernels use,
 * following the Intel intrinsics guide definitions, so check_kernels can run the avx512 kernel
 * sources (included with BEAA_IFMA_EMULATE) on a CPU without AVX-512. It checks the algorithm
 * (ranges, shuffles, Shoup/Barrett bounds), not the compiler's code generation. Test-only. */
#ifndef BEAA_TEST_IFMA_EMUL_H
#define BEAA_TEST_IFMA_EMUL_H
#include <stdint.h>
#include <string.h>

typedef struct { uint64_t v[8]; } __m512i;

#define EMU_M52 ((UINT64_C(1) << 52) - 1)

static inline __m512i _mm512_setzero_si512(void)
{
    __m512i r;
    memset(&r, 0, sizeof r);
    return r;
}
static inline __m512i _mm512_set1_epi64(long long x)
{
    __m512i r;
    for (int i = 0; i < 8; i++) r.v[i] = (uint64_t)x;
    return r;
}
static inline __m512i _mm512_loadu_si512(const void *p)
{
    __m512i r;
    memcpy(r.v, p, 64);
    return r;
}
static inline __m512i _mm512_load_si512(const void *p)
{
    if ((uintptr_t)p % 64) __builtin_trap(); /* the real instruction faults on misalignment */
    return _mm512_loadu_si512(p);
}
static inline void _mm512_storeu_si512(void *p, __m512i a) { memcpy(p, a.v, 64); }
static inline void _mm512_store_si512(void *p, __m512i a)
{
    if ((uintptr_t)p % 64) __builtin_trap();
    memcpy(p, a.v, 64);
}
#define EMU_LANEWISE(name, expr)                                                              \
    static inline __m512i name(__m512i a, __m512i b)                                          \
    {                                                                                         \
        __m512i r;                                                                            \
        for (int i = 0; i < 8; i++) {                                                         \
            uint64_t x = a.v[i], y = b.v[i];                                                  \
            r.v[i] = (expr);                                                                  \
        }                                                                                     \
        return r;                                                                             \
    }
EMU_LANEWISE(_mm512_add_epi64, x + y)
EMU_LANEWISE(_mm512_sub_epi64, x - y)
EMU_LANEWISE(_mm512_and_si512, x & y)
EMU_LANEWISE(_mm512_or_si512, x | y)
EMU_LANEWISE(_mm512_min_epu64, x < y ? x : y)
EMU_LANEWISE(_mm512_sllv_epi64, y > 63 ? 0 : x << y)
EMU_LANEWISE(_mm512_srlv_epi64, y > 63 ? 0 : x >> y)
EMU_LANEWISE(_mm512_xor_si512, x ^ y)
#undef EMU_LANEWISE

/* vshufi64x2: 128-bit lanes 0,1 of dst from a, 2,3 from b, each picked by 2 bits of imm */
static inline __m512i _mm512_shuffle_i64x2(__m512i a, __m512i b, int imm)
{
    __m512i o;
    for (int l = 0; l < 4; l++) {
        const __m512i *src = l < 2 ? &a : &b;
        int sel = (imm >> (2 * l)) & 3;
        o.v[2 * l] = src->v[2 * sel];
        o.v[2 * l + 1] = src->v[2 * sel + 1];
    }
    return o;
}
/* vpunpcklqdq / vpunpckhqdq: per 128-bit lane, the low (high) qwords of a and b */
static inline __m512i _mm512_unpacklo_epi64(__m512i a, __m512i b)
{
    __m512i o;
    for (int l = 0; l < 4; l++) { o.v[2 * l] = a.v[2 * l]; o.v[2 * l + 1] = b.v[2 * l]; }
    return o;
}
static inline __m512i _mm512_unpackhi_epi64(__m512i a, __m512i b)
{
    __m512i o;
    for (int l = 0; l < 4; l++) { o.v[2 * l] = a.v[2 * l + 1]; o.v[2 * l + 1] = b.v[2 * l + 1]; }
    return o;
}
/* vptestmq: bit i set when a_i & b_i != 0 */
static inline unsigned char _mm512_test_epi64_mask(__m512i a, __m512i b)
{
    unsigned char m = 0;
    for (int i = 0; i < 8; i++) m |= (unsigned char)((a.v[i] & b.v[i]) != 0) << i;
    return m;
}
/* src with the lanes selected by mask k replaced by x */
static inline __m512i _mm512_mask_set1_epi64(__m512i src, unsigned char k, long long x)
{
    for (int i = 0; i < 8; i++)
        if ((k >> i) & 1) src.v[i] = (uint64_t)x;
    return src;
}
/* vprolq: every lane rotated left by the immediate r */
static inline __m512i _mm512_rol_epi64(__m512i a, int r)
{
    __m512i o;
    for (int i = 0; i < 8; i++) o.v[i] = r % 64 ? (a.v[i] << (r % 64)) | (a.v[i] >> (64 - r % 64)) : a.v[i];
    return o;
}
/* vpternlogq: bit i of the result is bit (a_i b_i c_i) of imm (a the most significant) */
static inline __m512i _mm512_ternarylogic_epi64(__m512i a, __m512i b, __m512i c, int imm)
{
    __m512i o;
    for (int i = 0; i < 8; i++) {
        uint64_t r = 0;
        for (int bit = 0; bit < 64; bit++) {
            unsigned idx = (unsigned)(((a.v[i] >> bit) & 1) << 2 | ((b.v[i] >> bit) & 1) << 1 |
                                      ((c.v[i] >> bit) & 1));
            r |= (uint64_t)((imm >> idx) & 1) << bit;
        }
        o.v[i] = r;
    }
    return o;
}

/* dst = a + low 52 bits of (b[51:0] * c[51:0]) */
static inline __m512i _mm512_madd52lo_epu64(__m512i a, __m512i b, __m512i c)
{
    __m512i r;
    for (int i = 0; i < 8; i++) {
        unsigned __int128 p = (unsigned __int128)(b.v[i] & EMU_M52) * (c.v[i] & EMU_M52);
        r.v[i] = a.v[i] + ((uint64_t)p & EMU_M52);
    }
    return r;
}
/* dst = a + bits 103:52 of (b[51:0] * c[51:0]) */
static inline __m512i _mm512_madd52hi_epu64(__m512i a, __m512i b, __m512i c)
{
    __m512i r;
    for (int i = 0; i < 8; i++) {
        unsigned __int128 p = (unsigned __int128)(b.v[i] & EMU_M52) * (c.v[i] & EMU_M52);
        r.v[i] = a.v[i] + (uint64_t)(p >> 52);
    }
    return r;
}
static inline __m512i _mm512_permutexvar_epi64(__m512i idx, __m512i a)
{
    __m512i r;
    for (int i = 0; i < 8; i++) r.v[i] = a.v[idx.v[i] & 7];
    return r;
}
static inline __m512i _mm512_permutex2var_epi64(__m512i a, __m512i idx, __m512i b)
{
    __m512i r;
    for (int i = 0; i < 8; i++) r.v[i] = (idx.v[i] & 8) ? b.v[idx.v[i] & 7] : a.v[idx.v[i] & 7];
    return r;
}

/* vpcmpuq lt: bit i set when a_i < b_i (unsigned) */
static inline unsigned char _mm512_cmplt_epu64_mask(__m512i a, __m512i b)
{
    unsigned char m = 0;
    for (int i = 0; i < 8; i++) m |= (unsigned char)(a.v[i] < b.v[i]) << i;
    return m;
}
/* vpcompressq: the lanes selected by k, in order, at the front; the rest zero */
static inline __m512i _mm512_maskz_compress_epi64(unsigned char k, __m512i a)
{
    __m512i r;
    memset(&r, 0, sizeof r);
    int j = 0;
    for (int i = 0; i < 8; i++)
        if ((k >> i) & 1) r.v[j++] = a.v[i];
    return r;
}
typedef unsigned char __mmask8;
typedef uint64_t __mmask64;
/* vmovdqu8 zero-masked load: byte i from p when bit i of k is set (other bytes are not read) */
static inline __m512i _mm512_maskz_loadu_epi8(__mmask64 k, const void *p)
{
    __m512i r;
    uint8_t b[64];
    for (int i = 0; i < 64; i++) b[i] = (k >> i) & 1 ? ((const uint8_t *)p)[i] : 0;
    memcpy(r.v, b, 64);
    return r;
}
/* vpermb (VBMI): byte i of the result is byte idx[i] & 63 of a */
static inline __m512i _mm512_permutexvar_epi8(__m512i idx, __m512i a)
{
    __m512i r;
    uint8_t ib[64], ab[64], rb[64];
    memcpy(ib, idx.v, 64);
    memcpy(ab, a.v, 64);
    for (int i = 0; i < 64; i++) rb[i] = ab[ib[i] & 63];
    memcpy(r.v, rb, 64);
    return r;
}
/* the same, bytes whose bit of k is clear zeroed */
static inline __m512i _mm512_maskz_permutexvar_epi8(__mmask64 k, __m512i idx, __m512i a)
{
    __m512i r = _mm512_permutexvar_epi8(idx, a);
    uint8_t rb[64];
    memcpy(rb, r.v, 64);
    for (int i = 0; i < 64; i++)
        if (!((k >> i) & 1)) rb[i] = 0;
    memcpy(r.v, rb, 64);
    return r;
}

#endif
