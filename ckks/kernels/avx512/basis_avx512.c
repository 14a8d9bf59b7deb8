/* basis_avx512.c - AVX-512 IFMA kernels of key switching (kernels.h): the fast basis
 * conversion of the mod-up and of the mod-down (basis_conv, basis_conv_sub) and the digit inner
 * product (ks_dot2), on residues below 2^52 and primes below 2^50. Products are summed as low and
 * high 52-bit halves and reduced once per output (ifma52.h); conversions of 1-3 inputs take a
 * Shoup product per term instead. Larger primes, and blocks holding larger inputs, go to ref. */
#include "ckks/kernels/avx512/avx512.h"
#include "ckks/kernels/ref/ref.h"
#include "ckks/kernels/avx512/ifma52.h"

/* 8 bytes u[0..7] as 8 lanes (zero-extended). */
static inline __m512i ld5_bytes8(const uint8_t *u)
{
#ifdef BEAA_IFMA_EMULATE
    __m512i r;
    for (int i = 0; i < 8; i++) r.v[i] = u[i];
    return r;
#else
    return _mm512_cvtepu8_epi64(_mm_loadl_epi64((const __m128i *)(const void *)u));
#endif
}

/* The basis conversion body for 16 outputs at k: lo/hi halves of x[i][k..k+15] * c[i] summed
 * (n_in <= 255: below 2^60 and 2^58), then reduced; 0 when an input is >= 2^52 (the 52-bit
 * multiplier would drop its top bits: the caller takes the ref kernel for the block). With
 * corr, subtracts corr[u[k]] (the mod-down's overflow correction, n_in + 1 <= 8 values). */
static inline int ld5_conv16(uint64_t *r, const uint64_t *const *x, const uint64_t *c, size_t n_in,
                             size_t k, const ld5_red *red, const uint8_t *u, __m512i corrv)
{
    const __m512i zero = _mm512_setzero_si512();
    __m512i lo0 = zero, hi0 = zero, lo1 = zero, hi1 = zero, big = zero;
    for (size_t i = 0; i < n_in; i++) {
        __m512i x0 = _mm512_loadu_si512((const void *)(x[i] + k));
        __m512i x1 = _mm512_loadu_si512((const void *)(x[i] + k + 8));
        __m512i w = _mm512_set1_epi64((long long)c[i]);
        big = _mm512_or_si512(big, _mm512_or_si512(x0, x1));
        lo0 = _mm512_madd52lo_epu64(lo0, x0, w);
        hi0 = _mm512_madd52hi_epu64(hi0, x0, w);
        lo1 = _mm512_madd52lo_epu64(lo1, x1, w);
        hi1 = _mm512_madd52hi_epu64(hi1, x1, w);
    }
    /* two digits suffice for at most 15 terms of inputs below 2^50 (H + L / 2^52 < 15 * 2^48 +
     * 15); inputs up to 2^52 (residues of larger primes) make the high halves 4x larger */
    __m512i r0, r1;
    const __m512i above50 = _mm512_set1_epi64((long long)~(uint64_t)LD5_M50);
    if (n_in <= 15 && !_mm512_test_epi64_mask(big, above50)) {
        r0 = ld5_reduce2(lo0, hi0, zero, red);
        r1 = ld5_reduce2(lo1, hi1, zero, red);
    } else {
        if (_mm512_test_epi64_mask(big, _mm512_set1_epi64((long long)~(uint64_t)LD5_M52))) return 0;
        r0 = ld5_reduce(lo0, hi0, zero, red);
        r1 = ld5_reduce(lo1, hi1, zero, red);
    }
    if (u) {
        /* r - corr[u] mod q */
        __m512i g0 = _mm512_permutexvar_epi64(ld5_bytes8(u + k), corrv);
        __m512i g1 = _mm512_permutexvar_epi64(ld5_bytes8(u + k + 8), corrv);
        __m512i d0 = _mm512_sub_epi64(r0, g0), d1 = _mm512_sub_epi64(r1, g1);
        r0 = _mm512_min_epu64(d0, _mm512_add_epi64(d0, red->q));
        r1 = _mm512_min_epu64(d1, _mm512_add_epi64(d1, red->q));
    }
    _mm512_storeu_si512((void *)(r + k), r0);
    _mm512_storeu_si512((void *)(r + k + 8), r1);
    return 1;
}

/* The same body for n_in <= LD5_SHOUP_MAX inputs: each term x c mod p by its own 52-bit Shoup
 * product (cs[i] = floor(c[i] 2^52 / p)), in [0, 2p), the sum (< 2 n_in p) brought into [0, p)
 * by conditional subtractions. Per 8 outputs 3 IFMA per term and n_in vpminuq (with the
 * correction one more), where the lo/hi sum takes 2 per term and 8 for its reduction: 8 instead
 * of 12 on the IFMA pipes for the mod-up's 2-limb digits, 12 instead of 14 for 3 inputs. */
#define LD5_SHOUP_MAX 3
static inline int ld5_conv16_shoup(uint64_t *r, const uint64_t *const *x, const ld5_const *cs,
                                   size_t n_in, size_t k, const ld5_red *red, const uint8_t *u,
                                   __m512i corrv)
{
    const __m512i zero = _mm512_setzero_si512();
    __m512i s0 = zero, s1 = zero, big = zero;
    for (size_t i = 0; i < n_in; i++) {
        __m512i x0 = _mm512_loadu_si512((const void *)(x[i] + k));
        __m512i x1 = _mm512_loadu_si512((const void *)(x[i] + k + 8));
        big = _mm512_or_si512(big, _mm512_or_si512(x0, x1));
        s0 = _mm512_add_epi64(s0, ld5_shoup(x0, &cs[i], red->q, red->m52));
        s1 = _mm512_add_epi64(s1, ld5_shoup(x1, &cs[i], red->q, red->m52));
    }
    if (_mm512_test_epi64_mask(big, _mm512_set1_epi64((long long)~(uint64_t)LD5_M52))) return 0;
    if (n_in == 3) { /* < 6p */
        s0 = ld5_csub(s0, red->q4);
        s1 = ld5_csub(s1, red->q4);
    }
    if (n_in >= 2) { /* < 4p */
        s0 = ld5_csub(s0, red->q2);
        s1 = ld5_csub(s1, red->q2);
    }
    if (u) {
        /* s - corr[u] mod p from s in [0, 2p): s - corr in (-p, 2p), then into [0, p) */
        __m512i d0 = _mm512_sub_epi64(s0, _mm512_permutexvar_epi64(ld5_bytes8(u + k), corrv));
        __m512i d1 = _mm512_sub_epi64(s1, _mm512_permutexvar_epi64(ld5_bytes8(u + k + 8), corrv));
        d0 = _mm512_min_epu64(d0, _mm512_add_epi64(d0, red->q));
        d1 = _mm512_min_epu64(d1, _mm512_add_epi64(d1, red->q));
        s0 = ld5_csub(d0, red->q);
        s1 = ld5_csub(d1, red->q);
    } else {
        s0 = ld5_csub(s0, red->q);
        s1 = ld5_csub(s1, red->q);
    }
    _mm512_storeu_si512((void *)(r + k), s0);
    _mm512_storeu_si512((void *)(r + k + 8), s1);
    return 1;
}

static void ld5_conv(uint64_t *r, const uint64_t *const *x, const uint64_t *c, size_t n_in,
                     size_t n, const beaa_modulus *p, const uint8_t *u, const uint64_t *corr)
{
    const ld5_red red = ld5_make_red(p->q);
    uint64_t cpad[8] = {0};
    if (u)
        for (size_t i = 0; i <= n_in; i++) cpad[i] = corr[i];
    const __m512i corrv = _mm512_loadu_si512((const void *)cpad);
    const int shoup = n_in <= LD5_SHOUP_MAX;
    ld5_const cs[LD5_SHOUP_MAX];
    for (size_t i = 0; shoup && i < n_in; i++) cs[i] = ld5_make(c[i] % p->q, p->q);
    size_t k = 0;
    for (; k + 16 <= n; k += 16) {
        if (shoup ? ld5_conv16_shoup(r, x, cs, n_in, k, &red, u, corrv)
                  : ld5_conv16(r, x, c, n_in, k, &red, u, corrv))
            continue;
        /* an input >= 2^52 in this block: the ref kernel for it */
        const uint64_t *xs[255];
        for (size_t i = 0; i < n_in; i++) xs[i] = x[i] + k;
        if (u) beaa_basis_conv_sub_ref(r + k, xs, c, n_in, 16, p, u + k, corr);
        else beaa_basis_conv_ref(r + k, xs, c, n_in, 16, p);
    }
    if (k < n) {
        const uint64_t *xs[255];
        for (size_t i = 0; i < n_in; i++) xs[i] = x[i] + k;
        if (u) beaa_basis_conv_sub_ref(r + k, xs, c, n_in, n - k, p, u + k, corr);
        else beaa_basis_conv_ref(r + k, xs, c, n_in, n - k, p);
    }
}

/* basis_conv (kernels.h) for p < 2^50 on IFMA: two multiply-adds per term, one reduction per
 * output; inputs are normally residues of < 2^50 primes, and a 16-value block holding one of
 * 2^52 or more (a context that mixes larger primes) goes to the ref kernel. */
void beaa_basis_conv_avx512(uint64_t *r, const uint64_t *const *x, const uint64_t *c, size_t n_in,
                            size_t n, const beaa_modulus *p)
{
    if (p->q >= (UINT64_C(1) << 50) || n_in == 0 || n_in > 255) {
        beaa_basis_conv_ref(r, x, c, n_in, n, p);
        return;
    }
    ld5_conv(r, x, c, n_in, n, p, NULL, NULL);
}

/* basis_conv_multi (kernels.h): each 16-value block converted to every prime before the next
 * block (ld5_conv16 / ld5_conv16_shoup per output, the block's inputs then in L1), so the
 * inputs stream in once. Outputs to primes of 2^50 or more, and a block holding an input of
 * 2^52 or more, go to ref as in basis_conv. */
void beaa_basis_conv_multi_avx512(uint64_t *const *r, const uint64_t *const *x,
                                  const uint64_t *const *c, size_t n_in, size_t n,
                                  const beaa_modulus *const *p, size_t n_out)
{
    uint64_t *rf[BEAA_CONV_MULTI_MAX];
    const uint64_t *cf[BEAA_CONV_MULTI_MAX];
    ld5_red red[BEAA_CONV_MULTI_MAX];
    ld5_const cs[BEAA_CONV_MULTI_MAX][LD5_SHOUP_MAX];
    const beaa_modulus *pf[BEAA_CONV_MULTI_MAX];
    size_t nf = 0;
    const int shoup = n_in <= LD5_SHOUP_MAX;
    for (size_t s = 0; s < n_out && s < BEAA_CONV_MULTI_MAX; s++) {
        if (p[s]->q >= (UINT64_C(1) << 50) || n_in == 0 || n_in > 255) {
            beaa_basis_conv_ref(r[s], x, c[s], n_in, n, p[s]);
            continue;
        }
        rf[nf] = r[s];
        cf[nf] = c[s];
        pf[nf] = p[s];
        red[nf] = ld5_make_red(p[s]->q);
        for (size_t i = 0; shoup && i < n_in; i++) cs[nf][i] = ld5_make(c[s][i] % p[s]->q, p[s]->q);
        nf++;
    }
    const __m512i zero = _mm512_setzero_si512();
    size_t k = 0;
    for (; k + 16 <= n; k += 16)
        for (size_t s = 0; s < nf; s++) {
            if (shoup ? ld5_conv16_shoup(rf[s], x, cs[s], n_in, k, &red[s], NULL, zero)
                      : ld5_conv16(rf[s], x, cf[s], n_in, k, &red[s], NULL, zero))
                continue;
            const uint64_t *xs[255];
            for (size_t i = 0; i < n_in; i++) xs[i] = x[i] + k;
            beaa_basis_conv_ref(rf[s] + k, xs, cf[s], n_in, 16, pf[s]);
        }
    if (k < n) {
        const uint64_t *xs[255];
        for (size_t i = 0; i < n_in; i++) xs[i] = x[i] + k;
        for (size_t s = 0; s < nf; s++) beaa_basis_conv_ref(rf[s] + k, xs, cf[s], n_in, n - k, pf[s]);
    }
}

void beaa_basis_conv_sub_avx512(uint64_t *r, const uint64_t *const *x, const uint64_t *c,
                                size_t n_in, size_t n, const beaa_modulus *p, const uint8_t *u,
                                const uint64_t *corr)
{
    if (p->q >= (UINT64_C(1) << 50) || n_in == 0 || n_in > 7) {
        beaa_basis_conv_sub_ref(r, x, c, n_in, n, p, u, corr);
        return;
    }
    ld5_conv(r, x, c, n_in, n, p, u, corr);
}

/* Unpacking a group of 8 residues of a bit-packed key row (kernels.h ks_dot2; b = m->bits <= 50
 * bytes): residue k starts at bit k b, in the 8 bytes from byte floor(k b / 8) (shift (k b) mod 8
 * plus b bits <= 57 of them). vpermb (AVX-512 VBMI) puts those 8 bytes into lane k, vpsrlvq
 * and a mask leave the residue: three instructions per 8 residues for 64 - 8 b bits fewer to
 * read (a 50-bit key row is 22% smaller than 64-bit words, a 40-bit one 37%). Where b is a
 * multiple of 8 (40-bit primes) every residue starts on a byte: a vpermb that zeroes the bytes
 * above b / 8 in each lane is the whole unpack (aligned). */
typedef struct ld5_unpack {
    __m512i idx, shift, mask;
    __mmask64 bytes; /* the group's b bytes, for the row's last groups (masked loads) */
    __mmask64 keep;  /* the low b / 8 bytes of each lane (b a multiple of 8) */
} ld5_unpack;

static inline ld5_unpack ld5_unpack_make(unsigned b)
{
    ld5_unpack u;
    uint8_t ib[64];
    uint64_t sh[8];
    for (unsigned k = 0; k < 8; k++) {
        for (unsigned t = 0; t < 8; t++) ib[8 * k + t] = (uint8_t)(k * b / 8 + t);
        sh[k] = k * b % 8;
    }
    u.idx = _mm512_loadu_si512((const void *)ib);
    u.shift = _mm512_loadu_si512((const void *)sh);
    u.mask = _mm512_set1_epi64((long long)((UINT64_C(1) << b) - 1));
    u.bytes = (__mmask64)((UINT64_C(1) << b) - 1);
    u.keep = (__mmask64)(UINT64_C(0x0101010101010101) * ((1u << (b / 8)) - 1));
    return u;
}

/* The group at p: a 64-byte load (tail == 0: p + 64 lies inside the row), or only its b bytes;
 * aligned != 0 when b is a multiple of 8 (one zero-masked vpermb). */
static inline __m512i ld5_unpack8(const uint8_t *p, const ld5_unpack *u, int tail, int aligned)
{
    __m512i v = tail ? _mm512_maskz_loadu_epi8(u->bytes, (const void *)p)
                     : _mm512_loadu_si512((const void *)p);
    if (aligned) return _mm512_maskz_permutexvar_epi8(u->keep, u->idx, v);
    v = _mm512_permutexvar_epi8(u->idx, v);
    return _mm512_and_si512(_mm512_srlv_epi64(v, u->shift), u->mask);
}

/* Output group i of ks_dot2: the lo/hi halves of the nd products summed (nd <= 63 plus the
 * product or residue of c stay below 2^58 and 2^54), one reduction each. */
static inline __attribute__((always_inline)) void
ld5_ks_group(uint64_t *r0, uint64_t *r1, const uint64_t *const *d, const uint8_t *const *kb,
             const uint8_t *const *ka, size_t nd, size_t i, size_t off, const ld5_red *red,
             const ld5_unpack *u, int tail, int aligned, const uint64_t *c0, const uint64_t *c1,
             uint64_t w)
{
    const __m512i zero = _mm512_setzero_si512();
    __m512i lb = zero, hb = zero, la = zero, ha = zero;
    if (c0 && w == 1) {
        lb = _mm512_loadu_si512((const void *)(c0 + i));
        la = _mm512_loadu_si512((const void *)(c1 + i));
    } else if (c0) {
        const __m512i wv = _mm512_set1_epi64((long long)w);
        __m512i v0 = _mm512_loadu_si512((const void *)(c0 + i));
        __m512i v1 = _mm512_loadu_si512((const void *)(c1 + i));
        lb = _mm512_madd52lo_epu64(zero, v0, wv);
        hb = _mm512_madd52hi_epu64(zero, v0, wv);
        la = _mm512_madd52lo_epu64(zero, v1, wv);
        ha = _mm512_madd52hi_epu64(zero, v1, wv);
    }
    for (size_t j = 0; j < nd; j++) {
        __m512i dv = _mm512_loadu_si512((const void *)(d[j] + i));
        __m512i bv = ld5_unpack8(kb[j] + off, u, tail, aligned);
        __m512i av = ld5_unpack8(ka[j] + off, u, tail, aligned);
        lb = _mm512_madd52lo_epu64(lb, dv, bv);
        hb = _mm512_madd52hi_epu64(hb, dv, bv);
        la = _mm512_madd52lo_epu64(la, dv, av);
        ha = _mm512_madd52hi_epu64(ha, dv, av);
    }
    if (nd <= 14) { /* plus the product or residue of c: at most 15 terms */
        _mm512_storeu_si512((void *)(r0 + i), ld5_reduce2(lb, hb, zero, red));
        _mm512_storeu_si512((void *)(r1 + i), ld5_reduce2(la, ha, zero, red));
    } else {
        _mm512_storeu_si512((void *)(r0 + i), ld5_reduce(lb, hb, zero, red));
        _mm512_storeu_si512((void *)(r1 + i), ld5_reduce(la, ha, zero, red));
    }
}

/* ks_dot2 (kernels.h) for q < 2^50 on IFMA with VBMI: the key rows unpacked in registers
 * (ld5_unpack8), the products summed as lo/hi halves (ld5_ks_group). */
void beaa_ks_dot2_avx512(uint64_t *r0, uint64_t *r1, const uint64_t *const *d,
                         const uint8_t *const *kb, const uint8_t *const *ka, size_t nd, size_t n,
                         const beaa_modulus *m, const uint64_t *c0, const uint64_t *c1, uint64_t w)
{
    if (m->q >= (UINT64_C(1) << 50) || nd == 0 || nd > 63 || n % 8) {
        beaa_ks_dot2_ref(r0, r1, d, kb, ka, nd, n, m, c0, c1, w);
        return;
    }
    const unsigned b = m->bits;
    const ld5_red red = ld5_make_red(m->q);
    const ld5_unpack u = ld5_unpack_make(b);
    const size_t row = n / 8 * b;
    size_t i = 0, off = 0;
    if (b % 8 == 0) {
        for (; i < n && off + 64 <= row; i += 8, off += b)
            ld5_ks_group(r0, r1, d, kb, ka, nd, i, off, &red, &u, 0, 1, c0, c1, w);
    } else {
        for (; i < n && off + 64 <= row; i += 8, off += b)
            ld5_ks_group(r0, r1, d, kb, ka, nd, i, off, &red, &u, 0, 0, c0, c1, w);
    }
    for (; i < n; i += 8, off += b)
        ld5_ks_group(r0, r1, d, kb, ka, nd, i, off, &red, &u, 1, 0, c0, c1, w);
}
