/* ntt_avx512.c - AVX-512 IFMA negacyclic NTT for primes q < 2^50: Harvey lazy butterflies on
 * 8 lanes with 52-bit Shoup twiddles (vpmadd52huq for the quotient, vpmadd52luq for the low
 * products), values kept in [0, 4q) < 2^52 (or, for primes far enough below 2^52, let grow
 * through the forward passes and reduced once: ntt5_fwd); distances 4, 2, 1 shuffle in lanes.
 * Larger primes, or tables built without the 52-bit layout, use the ref kernels. */
#include "ckks/kernels/avx512/avx512.h"
#include "ckks/kernels/ref/ref.h"
#include "ckks/ntt.h"
#include "lib/cpu.h"
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

/* The same product up to multiples of 2^52 (no mask: bits 52-63 hold garbage). The passes
 * without reductions (see ntt5_fwd_bfly_g) keep their values this way: they only add, subtract
 * and multiply by IFMA, which reads the low 52 bits, so every value is right modulo 2^52 and
 * the lanes are masked once, where a comparison or the output needs the value itself. */
static inline __m512i ntt5_mul_shoup_g(__m512i y, __m512i w, __m512i ws, __m512i neg_q)
{
    const __m512i zero = _mm512_setzero_si512();
    __m512i qt = _mm512_madd52hi_epu64(zero, y, ws);
    return _mm512_madd52lo_epu64(_mm512_madd52lo_epu64(zero, y, w), qt, neg_q);
}

/* x - c if x >= c else x (unsigned lanes, x < 2^63 + c). */
static inline __m512i ntt5_csub(__m512i x, __m512i c)
{
    return _mm512_min_epu64(x, _mm512_sub_epi64(x, c));
}

typedef struct ntt5_consts {
    __m512i q, two_q, neg_q, mask52, s1;
} ntt5_consts;

#define NTT5_INLINE static inline __attribute__((always_inline))

/* Forward (Cooley-Tukey) butterfly: X, Y in [0, 4q) -> X + T, X - T + 2q in [0, 4q). */
static inline void ntt5_fwd_bfly(__m512i *x, __m512i *y, __m512i w, __m512i ws,
                                 const ntt5_consts *k)
{
    __m512i X = ntt5_csub(*x, k->two_q);
    __m512i T = ntt5_mul_shoup(*y, w, ws, k->neg_q, k->mask52);
    *x = _mm512_add_epi64(X, T);
    *y = _mm512_add_epi64(_mm512_sub_epi64(X, T), k->two_q);
}

/* The same without reducing X first (X < 2^52 - 2q): the outputs grow by 2q. For primes far
 * enough below 2^52 the forward passes skip the reduction (see ntt5_fwd; they use the variant
 * modulo 2^52 below, this one is the distance-4 stage's, whose outputs must be exact): a
 * quarter of the butterfly's instructions, and vpminuq competes with IFMA for the same pipes
 * on Zen 4 and with the shuffles (port 5) on Intel's Emerald Rapids. */
static inline void ntt5_fwd_bfly_nr(__m512i *x, __m512i *y, __m512i w, __m512i ws,
                                    const ntt5_consts *k)
{
    __m512i X = *x;
    __m512i T = ntt5_mul_shoup(*y, w, ws, k->neg_q, k->mask52);
    *x = _mm512_add_epi64(X, T);
    *y = _mm512_add_epi64(_mm512_sub_epi64(X, T), k->two_q);
}

/* ntt5_fwd_bfly_nr modulo 2^52 (ntt5_mul_shoup_g): inputs and outputs right in their low 52
 * bits, the true values as there; 6 instructions instead of 7. */
static inline void ntt5_fwd_bfly_g(__m512i *x, __m512i *y, __m512i w, __m512i ws,
                                   const ntt5_consts *k)
{
    __m512i X = *x;
    __m512i T = ntt5_mul_shoup_g(*y, w, ws, k->neg_q);
    *x = _mm512_add_epi64(X, T);
    *y = _mm512_sub_epi64(_mm512_add_epi64(X, k->two_q), T);
}

/* x mod q in [0, 2q), modulo 2^52, for x right modulo 2^52 with its value below 2^52 (s1 =
 * floor(2^52 / q), neg_q = 2^52 - q): the Shoup product by 1, x - qt q, its subtraction done
 * by the second IFMA as x + (qt (2^52 - q) mod 2^52) (two instructions; bits 52-63 of the
 * result are garbage: mask it where the value itself is needed). */
static inline __m512i ntt5_reduce(__m512i x, __m512i s1, __m512i neg_q)
{
    __m512i qt = _mm512_madd52hi_epu64(_mm512_setzero_si512(), x, s1);
    return _mm512_madd52lo_epu64(x, qt, neg_q);
}

/* The forward butterflies a stage can take (bf, a constant at every call): NTT5_BF_G
 * (ntt5_fwd_bfly_g: no reduction, modulo 2^52), NTT5_BF_HARVEY (ntt5_fwd_bfly), NTT5_BF_RG: X
 * first reduced to [0, 2q) by ntt5_reduce, modulo 2^52, then as G: the outputs are below 4q for
 * any inputs below 2^52, 8 instructions (5 IFMA) where Harvey's takes 9 (3 IFMA and a
 * vpminuq). */
#define NTT5_BF_G 0
#define NTT5_BF_HARVEY 1
#define NTT5_BF_RG 2
static inline void ntt5_fwd_bfly_r(__m512i *x, __m512i *y, __m512i w, __m512i ws,
                                   const ntt5_consts *k, int bf)
{
    if (bf == NTT5_BF_HARVEY) {
        ntt5_fwd_bfly(x, y, w, ws, k);
        return;
    }
    if (bf == NTT5_BF_RG) *x = ntt5_reduce(*x, k->s1, k->neg_q);
    ntt5_fwd_bfly_g(x, y, w, ws, k);
}

/* The reduction schedules of the forward transform (red, see ntt5_fwd and ntt5_fwd_chunks):
 * ALL, Harvey butterflies throughout; TAIL, G butterflies up to the last pass, exact from its
 * distance-4 stage on; END, G butterflies throughout and one reduction per output; THIRD, the
 * first stage of every pass, and every third stage of the last, reduces X (NTT5_BF_RG), the
 * others take G; EACH, RG butterflies throughout. */
#define NTT5_RED_TAIL 0
#define NTT5_RED_ALL 1
#define NTT5_RED_END 2
#define NTT5_RED_THIRD 3
#define NTT5_RED_EACH 4

/* Inverse (Gentleman-Sande) butterfly: U, V in [0, 2q) -> (U + V) mod 2q, w (U - V + 2q). */
static inline void ntt5_inv_bfly(__m512i *x, __m512i *y, __m512i w, __m512i ws,
                                 const ntt5_consts *k)
{
    __m512i U = *x, V = *y;
    *x = ntt5_csub(_mm512_add_epi64(U, V), k->two_q);
    *y = ntt5_mul_shoup(_mm512_add_epi64(_mm512_sub_epi64(U, V), k->two_q), w, ws, k->neg_q,
                        k->mask52);
}

/* The same without reducing the sum: U, V < b (b a multiple of q, 2b <= 2^52) -> U + V < 2b,
 * w (U - V + b) in [0, 2q), all modulo 2^52 (ntt5_mul_shoup_g: the true values in the low 52
 * bits). For primes below 2^48 the inverse passes run on these (ntt5_inv). */
static inline void ntt5_inv_bfly_nr(__m512i *x, __m512i *y, __m512i w, __m512i ws, __m512i b,
                                    const ntt5_consts *k)
{
    __m512i U = *x, V = *y;
    *x = _mm512_add_epi64(U, V);
    *y = ntt5_mul_shoup_g(_mm512_add_epi64(_mm512_sub_epi64(U, V), b), w, ws, k->neg_q);
}

/* The inverse butterfly modulo 2^52: U, V right modulo 2^52, their values below 2q -> U + V
 * reduced by ntt5_reduce, w (U - V + 2q) by ntt5_mul_shoup_g, both in [0, 2q) modulo 2^52: 8
 * instructions (5 IFMA) where Harvey's takes 9 (3 IFMA and a vpminuq). */
static inline void ntt5_inv_bfly_rg(__m512i *x, __m512i *y, __m512i w, __m512i ws,
                                    const ntt5_consts *k)
{
    __m512i U = *x, V = *y;
    *x = ntt5_reduce(_mm512_add_epi64(U, V), k->s1, k->neg_q);
    *y = ntt5_mul_shoup_g(_mm512_add_epi64(_mm512_sub_epi64(U, V), k->two_q), w, ws, k->neg_q);
}

/* One inverse butterfly of a pass: red 1 the Harvey one (inputs < 2q), 2 ntt5_inv_bfly_rg; 0
 * without reduction, inputs below b (constant at every call). */
NTT5_INLINE void ntt5_inv_bfly_r(__m512i *x, __m512i *y, __m512i w, __m512i ws, __m512i b,
                                 const ntt5_consts *k, int red)
{
    if (red == 1) ntt5_inv_bfly(x, y, w, ws, k);
    else if (red == 2) ntt5_inv_bfly_rg(x, y, w, ws, k);
    else ntt5_inv_bfly_nr(x, y, w, ws, b, k);
}

static ntt5_consts ntt5_make_consts(uint64_t q)
{
    ntt5_consts k;
    k.q = _mm512_set1_epi64((long long)q);
    k.two_q = _mm512_set1_epi64((long long)(2 * q));
    k.neg_q = _mm512_set1_epi64((long long)((UINT64_C(1) << 52) - q));
    k.mask52 = _mm512_set1_epi64(MASK52);
    k.s1 = _mm512_set1_epi64((long long)((UINT64_C(1) << 52) / q));
    return k;
}

/* Twiddle (w, its Shoup form) broadcast from table entry idx. */
typedef struct ntt5_tw {
    __m512i w, ws;
} ntt5_tw;

static inline ntt5_tw ntt5_tw_at(const uint64_t *w, const uint64_t *ws, size_t idx)
{
    ntt5_tw r;
    r.w = _mm512_set1_epi64((long long)w[idx]);
    r.ws = _mm512_set1_epi64((long long)ws[idx]);
    return r;
}

/* w from its 52-bit Shoup form ws = floor(w 2^52 / q) (0 < w < q < 2^50): ws q lies strictly
 * between (w - 1) 2^52 and w 2^52 (equality would need q | w 2^52), so w = 1 + floor(ws q /
 * 2^52): one IFMA. The passes over 16-value chunks (distances 4, 2, 1) take their w this way
 * instead of reading it: half the table bytes of those stages, 7/8 of the table. Inside the
 * CKKS operations the transforms wait on memory more than on the IFMA pipes (mul+relin+rescale
 * -5% with this, while a copy of the tables in lane order, +60% table bytes, made it +10%). */
static inline __m512i ntt5_w_of(__m512i ws, __m512i one, __m512i q)
{
    return _mm512_madd52hi_epu64(one, ws, q);
}

/* The twiddles of group i of a pass of st stages whose first stage has m groups: stage t
 * (0 .. st-1) uses entries (m + i) 2^t + 0 .. 2^t - 1, kept at tw[2^t - 1 ..]. */
NTT5_INLINE void ntt5_tw_group(ntt5_tw tw[7], unsigned st, size_t m, size_t i, const uint64_t *wt,
                               const uint64_t *wst)
{
#pragma GCC unroll 3
    for (unsigned t = 0; t < 3; t++)
#pragma GCC unroll 4
        for (size_t e = 0; e < 4; e++)
            if (t < st && e < ((size_t)1 << t))
                tw[((size_t)1 << t) - 1 + e] = ntt5_tw_at(wt, wst, ((m + i) << t) + e);
}

/* A vector of a pass, reduced to [0, 2q) as loaded when rl != 0 (ntt5_reduce). */
NTT5_INLINE __m512i ntt5_load_r(const uint64_t *p, const ntt5_consts *k, int rl)
{
    __m512i v = _mm512_load_si512((const void *)p);
    return rl ? ntt5_reduce(v, k->s1, k->neg_q) : v;
}

/* The nv vectors at distance d of nb (1 or 2) side-by-side columns from p (column e at p + 8e),
 * and back. */
NTT5_INLINE void ntt5_cols_load(__m512i v[2][8], const uint64_t *p, size_t d, unsigned nv, int nb,
                                const ntt5_consts *k, int rl)
{
#pragma GCC unroll 8
    for (unsigned r = 0; r < 8; r++)
#pragma GCC unroll 2
        for (int e = 0; e < 2; e++)
            if (r < nv && e < nb) v[e][r] = ntt5_load_r(p + 8 * e + r * d, k, rl);
}

NTT5_INLINE void ntt5_cols_store(uint64_t *p, size_t d, unsigned nv, int nb, __m512i v[2][8])
{
#pragma GCC unroll 8
    for (unsigned r = 0; r < 8; r++)
#pragma GCC unroll 2
        for (int e = 0; e < 2; e++)
            if (r < nv && e < nb) _mm512_store_si512((void *)(p + 8 * e + r * d), v[e][r]);
}

/* The st stages (1 to 3) of a pass on nb (1 or 2) blocks of 2^st vectors in registers (two
 * columns side by side), their butterflies interleaved one by one. Stage t pairs the vectors x
 * and x + h of each of its ng groups with the group's twiddle tw[ng - 1 + group]: forward
 * (inv == 0) h = 2^(st-1-t), ng = 2^t; inverse h = 2^t, ng = 2^(st-1-t) (so tw holds the last
 * stage first), b the bound of the values read (red == 0), 2^t b at stage t. red: forward, the
 * schedule (NTT5_RED_*); inverse, 1 for Harvey butterflies, 0 without reductions. */
NTT5_INLINE void ntt5_blocks(__m512i v[2][8], int nb, unsigned st, const ntt5_tw *tw, __m512i b,
                             const ntt5_consts *k, int red, int inv)
{
#pragma GCC unroll 3
    for (unsigned t = 0; t < 3; t++) {
        if (t >= st) break;
        const unsigned h = inv ? 1u << t : (1u << st) >> (t + 1), ng = (1u << st) / (2 * h);
        const int fbf = red == NTT5_RED_ALL                               ? NTT5_BF_HARVEY
                        : red == NTT5_RED_EACH || (red == NTT5_RED_THIRD && t == 0) ? NTT5_BF_RG
                                                                                    : NTT5_BF_G;
#pragma GCC unroll 4
        for (unsigned grp = 0; grp < 4; grp++)
#pragma GCC unroll 4
            for (unsigned r = 0; r < 4; r++)
#pragma GCC unroll 2
                for (int e = 0; e < 2; e++) {
                    if (grp >= ng || r >= h || e >= nb) continue;
                    const ntt5_tw *w = &tw[ng - 1 + grp];
                    const unsigned x = grp * 2 * h + r;
                    if (inv) ntt5_inv_bfly_r(&v[e][x], &v[e][x + h], w->w, w->ws, b, k, red);
                    else ntt5_fwd_bfly_r(&v[e][x], &v[e][x + h], w->w, w->ws, k, fbf);
                }
        if (inv) b = _mm512_add_epi64(b, b);
    }
}

/* Forward stages m .. 2^(st-1) m (st = 1, 2 or 3; distances g .. g/2^(st-1) >= 8) in one
 * pass: each group of the first stage is a block of 2g values; for every 8-lane column j <
 * d = 2g / 2^st of it, the 2^st vectors at distance d go through the st stages in registers
 * and back: one load and store of the data per st stages. cols != 0 (d >= 16): two columns go
 * side by side; their butterflies are independent, which hides the latency of the Shoup
 * products (one column at a time, a radix-8 pass took 5.3 cycles per vector butterfly on
 * Zen 4, where its instructions allow 4.3; pairing two groups instead where d = 8 measured
 * slower: twice the twiddles in registers). */
NTT5_INLINE void ntt5_fwd_pass_x(uint64_t *a, size_t m, size_t g, unsigned st, const uint64_t *wt,
                                 const uint64_t *wst, const ntt5_consts *k, int red, int cols)
{
    const unsigned nv = 1u << st;
    const size_t d = 2 * g / nv;
    const int nb = cols ? 2 : 1;
    for (size_t i = 0; i < m; i++) {
        ntt5_tw tw[7];
        ntt5_tw_group(tw, st, m, i, wt, wst);
        uint64_t *b = a + 2 * i * g;
        for (size_t j = 0; j < d; j += 8 * (size_t)nb) {
            __m512i v[2][8];
            ntt5_cols_load(v, b + j, d, nv, nb, k, 0);
            ntt5_blocks(v, nb, st, tw, k->q, k, red, 0);
            ntt5_cols_store(b + j, d, nv, nb, v);
        }
    }
}

NTT5_INLINE void ntt5_fwd_pass(uint64_t *a, size_t m, size_t g, unsigned st, const uint64_t *wt,
                               const uint64_t *wst, const ntt5_consts *k, int red)
{
    if (2 * g >> st >= 16) ntt5_fwd_pass_x(a, m, g, st, wt, wst, k, red, 1);
    else ntt5_fwd_pass_x(a, m, g, st, wt, wst, k, red, 0);
}

/* Chunks of 16 values the last pass takes side by side. Each chunk's stages depend on each
 * other (a chain of some 90 cycles per chunk); with one chunk at a time the out-of-order core
 * did not overlap enough of the next ones (measured on an Intel Xeon, Emerald Rapids: that pass
 * took 2.4x a radix-8 pass's time per butterfly, against 1.7x with four chunks). */
#define NTT5_NC 4

/* The last ex (0, 1 or 2) stages of distance >= 8 and the stages of distance 4, 2 and 1 on nc
 * (1, 2 or 4; even where ex == 2) consecutive 16-value chunks from c0. A chunk e0..e15 is
 * v0 = e0..e7, v1 = e8..e15: distance 8 pairs v0 with v1 (group c of its stage), distance 16
 * the v0 (and the v1) of chunks c and c + 1 (c even; group c / 2). The small distances use
 * in-lane or 128-bit shuffles between the stages instead of full permutations (vpermt2q costs
 * 2-3x a vshufi64x2 or vpunpck on Zen 4):
 *   distance 4: X = [e0-3 | e8-11], Y = [e4-7 | e12-15]   (vshufi64x2)
 *   distance 2: X = [e0 e1 e8 e9 e4 e5 e12 e13], Y = [e2 e3 e10 e11 e6 e7 e14 e15] (vshufi64x2)
 *   distance 1: X = [e0 e2 e8 e10 e4 e6 e12 e14], Y = the odd ones (vpunpcklqdq/hqdq)
 * and two vpermt2q put the chunk back in order. Each stage's twiddles follow that lane order:
 * group g of the chunk's 2, 4 or 8 groups is table entry (first entry of the stage) + c*groups
 * + g; the distance-1 Shoup forms are stored in that order (ntt.h), the distance-2 ones
 * permuted after loading, and both stages' w computed from them (ntt5_w_of). normalize != 0
 * ends with the values in [0, q) (the non-lazy transform), else [0, 4q). red (NTT5_RED_*):
 * ALL, Harvey butterflies throughout; TAIL, the values come from passes without reductions,
 * right modulo 2^52 (ntt5_fwd_bfly_g): the distance-4 stage reduces its X operands to [0, 2q)
 * and masks them first (its Y operands are only multiplied), and from there on the values are
 * exact; END, no reduction in any stage (the values stay below 2^52: ntt5_fwd), then each
 * output is masked and reduced to [0, 2q) once (ntt5_reduce), and to [0, q) if normalized;
 * THIRD, the values come below 8q <= 2^52 and modulo 2^52, the X operands are reduced at the
 * first of the pass's stages and every third after (NTT5_BF_RG: distance 16, 8 or 4, and 2 or
 * 1), so they stay below 8q, and each output is reduced as with END; EACH, the values come
 * below 4q, modulo 2^52, every stage reduces X (NTT5_BF_RG) and the outputs are masked. */
NTT5_INLINE void ntt5_fwd_chunks(uint64_t *a, size_t n, size_t c0, int nc, unsigned ex,
                                 const uint64_t *wt, const uint64_t *wst, const ntt5_consts *k,
                                 int normalize, int red)
{
    /* the butterflies of distances 16, 8, 4, 2, 1 (TAIL: distance 4 below) */
    const int all = red == NTT5_RED_ALL, third = red == NTT5_RED_THIRD;
    const int each = red == NTT5_RED_EACH;
    const int G = NTT5_BF_G, H = NTT5_BF_HARVEY, RG = NTT5_BF_RG;
    const int bf16 = all ? H : third || each ? RG : G;
    const int bf8 = all ? H : (third && ex == 1) || each ? RG : G;
    const int bf4 = all ? H : (third && ex == 0) || each ? RG : G;
    const int bf2 = all || red == NTT5_RED_TAIL ? H : (third && ex == 2) || each ? RG : G;
    const int bf1 = all || red == NTT5_RED_TAIL ? H : (third && ex == 1) || each ? RG : G;
    static const uint64_t i2[8] = {0, 0, 2, 2, 1, 1, 3, 3};
    static const uint64_t olo[8] = {0, 8, 1, 9, 4, 12, 5, 13}, ohi[8] = {2, 10, 3, 11, 6, 14, 7, 15};
    const __m512i I2 = _mm512_loadu_si512((const void *)i2), one = _mm512_set1_epi64(1);
    const __m512i OLO = _mm512_loadu_si512((const void *)olo), OHI = _mm512_loadu_si512((const void *)ohi);
    const size_t m4 = n / 8, m2 = n / 4, m1 = n / 2; /* first table entry of each stage */
    __m512i X[NTT5_NC], Y[NTT5_NC], X2[NTT5_NC], Y2[NTT5_NC], ws[NTT5_NC];
#pragma GCC unroll 4
    for (int e = 0; e < nc; e++) {
        const uint64_t *p = a + 16 * (c0 + (size_t)e);
        X[e] = _mm512_load_si512((const void *)p);
        Y[e] = _mm512_load_si512((const void *)(p + 8));
    }
    if (ex == 2) { /* distance 16 (chunks c0 + e and c0 + e + 1: group (c0 + e) / 2), then 8 */
#pragma GCC unroll 2
        for (int e = 0; e < nc; e += 2) {
            ntt5_tw t16 = ntt5_tw_at(wt, wst, n / 32 + (c0 + (size_t)e) / 2);
            ntt5_fwd_bfly_r(&X[e], &X[e + 1], t16.w, t16.ws, k, bf16);
            ntt5_fwd_bfly_r(&Y[e], &Y[e + 1], t16.w, t16.ws, k, bf16);
        }
    }
    if (ex >= 1) { /* distance 8: group c of its stage */
#pragma GCC unroll 4
        for (int e = 0; e < nc; e++) {
            ntt5_tw t8 = ntt5_tw_at(wt, wst, n / 16 + c0 + (size_t)e);
            ntt5_fwd_bfly_r(&X[e], &Y[e], t8.w, t8.ws, k, bf8);
        }
    }
#pragma GCC unroll 4
    for (int e = 0; e < nc; e++) {
        const size_t c = c0 + (size_t)e;
        /* distance 4: groups 2c, 2c+1 */
        __m512i v0 = X[e], v1 = Y[e];
        X[e] = _mm512_shuffle_i64x2(v0, v1, 0x44);
        Y[e] = _mm512_shuffle_i64x2(v0, v1, 0xEE);
        ws[e] = _mm512_mask_set1_epi64(_mm512_set1_epi64((long long)wst[m4 + 2 * c]), 0xF0,
                                       (long long)wst[m4 + 2 * c + 1]);
    }
#pragma GCC unroll 4
    for (int e = 0; e < nc; e++) {
        __m512i w = ntt5_w_of(ws[e], one, k->q);
        if (red != NTT5_RED_TAIL) {
            ntt5_fwd_bfly_r(&X[e], &Y[e], w, ws[e], k, bf4);
        } else {
            /* (the values come modulo 2^52: X reduced, then masked; Y is only multiplied) */
            X[e] = _mm512_and_si512(ntt5_reduce(X[e], k->s1, k->neg_q), k->mask52);
            ntt5_fwd_bfly_nr(&X[e], &Y[e], w, ws[e], k);
        }
    }
    /* distance 2: groups 4c .. 4c+3 in the lane order 0 0 2 2 1 1 3 3 (8 entries read, 4
     * used: m2 + 4c + 7 < n) */
#pragma GCC unroll 4
    for (int e = 0; e < nc; e++) {
        const size_t c = c0 + (size_t)e;
        X2[e] = _mm512_shuffle_i64x2(X[e], Y[e], 0x88);
        Y2[e] = _mm512_shuffle_i64x2(X[e], Y[e], 0xDD);
        ws[e] = _mm512_permutexvar_epi64(I2, _mm512_loadu_si512((const void *)(wst + m2 + 4 * c)));
    }
#pragma GCC unroll 4
    for (int e = 0; e < nc; e++)
        ntt5_fwd_bfly_r(&X2[e], &Y2[e], ntt5_w_of(ws[e], one, k->q), ws[e], k, bf2);
    /* distance 1: groups 8c .. 8c+7 in the lane order 0 1 4 5 2 3 6 7, as stored */
#pragma GCC unroll 4
    for (int e = 0; e < nc; e++) {
        const size_t c = c0 + (size_t)e;
        X[e] = _mm512_unpacklo_epi64(X2[e], Y2[e]);
        Y[e] = _mm512_unpackhi_epi64(X2[e], Y2[e]);
        ws[e] = _mm512_load_si512((const void *)(wst + m1 + 8 * c));
    }
#pragma GCC unroll 4
    for (int e = 0; e < nc; e++)
        ntt5_fwd_bfly_r(&X[e], &Y[e], ntt5_w_of(ws[e], one, k->q), ws[e], k, bf1);
#pragma GCC unroll 4
    for (int e = 0; e < nc; e++) {
        uint64_t *p = a + 16 * (c0 + (size_t)e);
        if (red == NTT5_RED_END || third) {
            X[e] = _mm512_and_si512(ntt5_reduce(X[e], k->s1, k->neg_q), k->mask52);
            Y[e] = _mm512_and_si512(ntt5_reduce(Y[e], k->s1, k->neg_q), k->mask52);
            if (normalize) {
                X[e] = ntt5_csub(X[e], k->q);
                Y[e] = ntt5_csub(Y[e], k->q);
            }
        } else if (each) { /* below 4q, modulo 2^52 */
            X[e] = _mm512_and_si512(X[e], k->mask52);
            Y[e] = _mm512_and_si512(Y[e], k->mask52);
            if (normalize) {
                X[e] = ntt5_csub(ntt5_csub(X[e], k->two_q), k->q);
                Y[e] = ntt5_csub(ntt5_csub(Y[e], k->two_q), k->q);
            }
        } else if (normalize) {
            X[e] = ntt5_csub(ntt5_csub(X[e], k->two_q), k->q);
            Y[e] = ntt5_csub(ntt5_csub(Y[e], k->two_q), k->q);
        }
        _mm512_store_si512((void *)p, _mm512_permutex2var_epi64(X[e], OLO, Y[e]));
        _mm512_store_si512((void *)(p + 8), _mm512_permutex2var_epi64(X[e], OHI, Y[e]));
    }
}

/* The last pass: ex (0, 1 or 2) stages of distance 8 (and 16), then 4, 2, 1, NTT5_NC chunks
 * at a time (the rest, below n = 64, two or one at a time). */
NTT5_INLINE void ntt5_fwd_tail(uint64_t *a, size_t n, unsigned ex, const uint64_t *wt,
                               const uint64_t *wst, const ntt5_consts *k, int normalize, int red)
{
    size_t c = 0;
    for (; c + NTT5_NC <= n / 16; c += NTT5_NC) {
        if (ex == 2) ntt5_fwd_chunks(a, n, c, NTT5_NC, 2, wt, wst, k, normalize, red);
        else if (ex == 1) ntt5_fwd_chunks(a, n, c, NTT5_NC, 1, wt, wst, k, normalize, red);
        else ntt5_fwd_chunks(a, n, c, NTT5_NC, 0, wt, wst, k, normalize, red);
    }
    for (; c < n / 16; c += (ex == 2 ? 2 : 1)) {
        if (ex == 2) ntt5_fwd_chunks(a, n, c, 2, 2, wt, wst, k, normalize, red);
        else if (ex == 1) ntt5_fwd_chunks(a, n, c, 1, 1, wt, wst, k, normalize, red);
        else ntt5_fwd_chunks(a, n, c, 1, 0, wt, wst, k, normalize, red);
    }
}

/* The stages of distance >= 8 in passes of three (radix 8), but the last (log n - 3) mod 3 of
 * them, which the last pass takes with the three small distances: 4 passes over the data at
 * n = 2^14, 5 at 2^15 and 2^16. Values start below 4q and grow by at most 2q per stage without
 * reductions: when that stays below 2^52 up to the distance-4 stage ((4 + 2 (log n - 3)) q <
 * 2^52: primes up to 2^47 at n = 2^14), the butterflies skip the reductions of X, work modulo
 * 2^52 (6 instructions instead of 9), and the last pass reduces once, at distance 4
 * (NTT5_RED_TAIL); when it stays below 2^52 through the last stage ((4 + 2 log n) q < 2^52:
 * primes up to 2^46.8 at n = 2^16, e.g. the 40-bit data primes) the last three stages skip them
 * too and each output is reduced once (NTT5_RED_END): 7 fewer instructions per 16 values. Else,
 * for primes up to 2^49 (8q <= 2^52), X is reduced once every three stages (NTT5_RED_THIRD: 6.7
 * instructions per butterfly on average instead of 9); above (outputs up to 4q, all a 52-bit
 * multiplier takes) every stage reduces: with Harvey's butterfly where harvey != 0 (NTT5_RED_ALL,
 * 9 instructions, 4 of them IFMA or vpminuq), else with NTT5_BF_RG (NTT5_RED_EACH, 8
 * instructions, 5 IFMA). The first suits AMD Zen 4, whose one 512-bit IFMA pipe also runs
 * vpminuq; the second Intel's server cores, where every 512-bit instruction takes one of the
 * same two ports (Emerald Rapids: 5% faster); beaa_ntt_fwd_avx512 picks by vendor. */
static void ntt5_fwd(const beaa_ntt_tables *t, uint64_t *a, int lazy, int harvey)
{
    const size_t n = t->n;
    const ntt5_consts k = ntt5_make_consts(t->mod.q);
    unsigned log_n = 0;
    while (((size_t)1 << log_n) < n) log_n++;
    const uint64_t q = t->mod.q, lim = UINT64_C(1) << 52;
    const int red = (4 + 2 * (uint64_t)log_n) * q < lim           ? NTT5_RED_END
                    : (4 + 2 * (uint64_t)(log_n - 3)) * q < lim ? NTT5_RED_TAIL
                    : 8 * q <= lim                              ? NTT5_RED_THIRD
                    : harvey                                    ? NTT5_RED_ALL
                                                                : NTT5_RED_EACH;
    const unsigned ex = (log_n - 3) % 3; /* the stages of distance >= 8 the last pass takes */
    size_t m = 1, g = n / 2;
    for (unsigned s = 0; s + 3 <= log_n - 3 - ex; s += 3) {
        if (red == NTT5_RED_ALL) ntt5_fwd_pass(a, m, g, 3, t->fw, t->fw_shoup52, &k, NTT5_RED_ALL);
        else if (red == NTT5_RED_THIRD)
            ntt5_fwd_pass(a, m, g, 3, t->fw, t->fw_shoup52, &k, NTT5_RED_THIRD);
        else if (red == NTT5_RED_EACH)
            ntt5_fwd_pass(a, m, g, 3, t->fw, t->fw_shoup52, &k, NTT5_RED_EACH);
        else ntt5_fwd_pass(a, m, g, 3, t->fw, t->fw_shoup52, &k, NTT5_RED_TAIL);
        m *= 8;
        g /= 8;
    }
    if (red == NTT5_RED_ALL) ntt5_fwd_tail(a, n, ex, t->fw, t->fw_shoup52, &k, !lazy, NTT5_RED_ALL);
    else if (red == NTT5_RED_THIRD)
        ntt5_fwd_tail(a, n, ex, t->fw, t->fw_shoup52, &k, !lazy, NTT5_RED_THIRD);
    else if (red == NTT5_RED_EACH)
        ntt5_fwd_tail(a, n, ex, t->fw, t->fw_shoup52, &k, !lazy, NTT5_RED_EACH);
    else if (red == NTT5_RED_END)
        ntt5_fwd_tail(a, n, ex, t->fw, t->fw_shoup52, &k, !lazy, NTT5_RED_END);
    else ntt5_fwd_tail(a, n, ex, t->fw, t->fw_shoup52, &k, !lazy, NTT5_RED_TAIL);
}

/* The inverse passes take red (1: Harvey butterflies, values in [0, 2q) throughout; 2:
 * ntt5_inv_bfly_rg, the same values modulo 2^52; 0: without reductions) and, for red == 0, b:
 * a bound (a multiple of q) of the values the pass reads, and rl: reduce them to [0, 2q) as
 * they are loaded (then b = 2q). The stages of a pass use b, 2b, 4b as their bounds; the values
 * it writes are below 2^(stages) b. */

/* Inverse stages of distances d .. 2^(st-1) d (st = 1, 2 or 3; d >= 8; the first has m = n/(2d)
 * groups) in one pass: each block of 2^st d values is 2^st vectors at distance d per 8-lane
 * column, st stages in registers; two columns side by side where there are two (d >= 16), as
 * in the forward passes (cols). rl: reduce the values to [0, 2q) as they are loaded. */
NTT5_INLINE void ntt5_inv_pass_x(uint64_t *a, size_t n, size_t d, unsigned st, const uint64_t *wt,
                                 const uint64_t *wst, const ntt5_consts *k, int red, __m512i b,
                                 int rl, int cols)
{
    const unsigned nv = 1u << st;
    const size_t m = n / (2 * d), blocks = n / (nv * d);
    const int nb = cols ? 2 : 1;
    for (size_t bl = 0; bl < blocks; bl++) {
        ntt5_tw tw[7]; /* stage st-1 first: tw[2^(st-1-t) - 1 + group] */
#pragma GCC unroll 3
        for (unsigned t = 0; t < 3; t++) {
            const unsigned ng = nv >> (t + 1);
#pragma GCC unroll 4
            for (unsigned grp = 0; grp < 4; grp++)
                if (t < st && grp < ng)
                    tw[ng - 1 + grp] = ntt5_tw_at(wt, wst, (m >> t) + bl * ng + grp);
        }
        uint64_t *p = a + nv * d * bl;
        for (size_t j = 0; j < d; j += 8 * (size_t)nb) {
            __m512i v[2][8];
            ntt5_cols_load(v, p + j, d, nv, nb, k, rl);
            ntt5_blocks(v, nb, st, tw, b, k, red, 1);
            ntt5_cols_store(p + j, d, nv, nb, v);
        }
    }
}

NTT5_INLINE void ntt5_inv_pass(uint64_t *a, size_t n, size_t d, unsigned st, const uint64_t *wt,
                               const uint64_t *wst, const ntt5_consts *k, int red, __m512i b,
                               int rl)
{
    if (d >= 16) ntt5_inv_pass_x(a, n, d, st, wt, wst, k, red, b, rl, 1);
    else ntt5_inv_pass_x(a, n, d, st, wt, wst, k, red, b, rl, 0);
}

/* The inverse stages of distance 1, 2 and 4, then ex (0, 1 or 2) of distance 8 and 16, on nc
 * consecutive 16-value chunks from c0 (as ntt5_fwd_chunks), reading src (== a, or an
 * out-of-place input; values in [0, 2q)) and writing a: the forward pass's lane orders
 * backwards (natural -> distance-1 layout by vpermt2q, -> distance 2 by vpunpck, -> distance 4
 * by vpermt2q, -> natural by vshufi64x2), twiddles in the same lane orders from the inverse
 * table, w of distances 1 and 2 from the Shoup forms as in the forward pass. red == 0: bounds
 * 2q, 4q, 8q, 16q, 32q; the values written are below 2^ex 16q (modulo 2^52). */
NTT5_INLINE void ntt5_inv_chunks(uint64_t *a, const uint64_t *src, size_t n, size_t c0, int nc,
                                 unsigned ex, const uint64_t *wt, const uint64_t *wst,
                                 const ntt5_consts *k, int red)
{
    static const uint64_t i2[8] = {0, 0, 2, 2, 1, 1, 3, 3};
    static const uint64_t s1x[8] = {0, 2, 8, 10, 4, 6, 12, 14}, s1y[8] = {1, 3, 9, 11, 5, 7, 13, 15};
    static const uint64_t s4x[8] = {0, 1, 8, 9, 2, 3, 10, 11}, s4y[8] = {4, 5, 12, 13, 6, 7, 14, 15};
    const __m512i I2 = _mm512_loadu_si512((const void *)i2), one = _mm512_set1_epi64(1);
    const __m512i S1X = _mm512_loadu_si512((const void *)s1x), S1Y = _mm512_loadu_si512((const void *)s1y);
    const __m512i S4X = _mm512_loadu_si512((const void *)s4x), S4Y = _mm512_loadu_si512((const void *)s4y);
    const __m512i b4 = _mm512_add_epi64(k->two_q, k->two_q), b8 = _mm512_add_epi64(b4, b4);
    const size_t m4 = n / 8, m2 = n / 4, m1 = n / 2;
    __m512i X[NTT5_NC], Y[NTT5_NC], X2[NTT5_NC], Y2[NTT5_NC], ws[NTT5_NC];
    /* distance 1 */
#pragma GCC unroll 4
    for (int e = 0; e < nc; e++) {
        const size_t c = c0 + (size_t)e;
        const uint64_t *ps = src + 16 * c;
        __m512i v0 = _mm512_load_si512((const void *)ps), v1 = _mm512_load_si512((const void *)(ps + 8));
        X[e] = _mm512_permutex2var_epi64(v0, S1X, v1);
        Y[e] = _mm512_permutex2var_epi64(v0, S1Y, v1);
        ws[e] = _mm512_load_si512((const void *)(wst + m1 + 8 * c));
    }
#pragma GCC unroll 4
    for (int e = 0; e < nc; e++)
        ntt5_inv_bfly_r(&X[e], &Y[e], ntt5_w_of(ws[e], one, k->q), ws[e], k->two_q, k, red);
    /* distance 2 */
#pragma GCC unroll 4
    for (int e = 0; e < nc; e++) {
        const size_t c = c0 + (size_t)e;
        X2[e] = _mm512_unpacklo_epi64(X[e], Y[e]);
        Y2[e] = _mm512_unpackhi_epi64(X[e], Y[e]);
        ws[e] = _mm512_permutexvar_epi64(I2, _mm512_loadu_si512((const void *)(wst + m2 + 4 * c)));
    }
#pragma GCC unroll 4
    for (int e = 0; e < nc; e++)
        ntt5_inv_bfly_r(&X2[e], &Y2[e], ntt5_w_of(ws[e], one, k->q), ws[e], b4, k, red);
    /* distance 4 */
#pragma GCC unroll 4
    for (int e = 0; e < nc; e++) {
        const size_t c = c0 + (size_t)e;
        X[e] = _mm512_permutex2var_epi64(X2[e], S4X, Y2[e]);
        Y[e] = _mm512_permutex2var_epi64(X2[e], S4Y, Y2[e]);
        ws[e] = _mm512_mask_set1_epi64(_mm512_set1_epi64((long long)wst[m4 + 2 * c]), 0xF0,
                                       (long long)wst[m4 + 2 * c + 1]);
    }
#pragma GCC unroll 4
    for (int e = 0; e < nc; e++) {
        ntt5_inv_bfly_r(&X[e], &Y[e], ntt5_w_of(ws[e], one, k->q), ws[e], b8, k, red);
        __m512i v0 = _mm512_shuffle_i64x2(X[e], Y[e], 0x44), v1 = _mm512_shuffle_i64x2(X[e], Y[e], 0xEE);
        X[e] = v0;
        Y[e] = v1;
    }
    /* distance 8 (group c of its stage), then 16 (chunks c0 + e and c0 + e + 1: group
     * (c0 + e) / 2); red == 0: bounds 16q, 32q */
    const __m512i b16 = _mm512_add_epi64(b8, b8), b32 = _mm512_add_epi64(b16, b16);
    if (ex >= 1) {
#pragma GCC unroll 4
        for (int e = 0; e < nc; e++) {
            ntt5_tw t8 = ntt5_tw_at(wt, wst, n / 16 + c0 + (size_t)e);
            ntt5_inv_bfly_r(&X[e], &Y[e], t8.w, t8.ws, b16, k, red);
        }
    }
    if (ex == 2) {
#pragma GCC unroll 2
        for (int e = 0; e < nc; e += 2) {
            ntt5_tw t16 = ntt5_tw_at(wt, wst, n / 32 + (c0 + (size_t)e) / 2);
            ntt5_inv_bfly_r(&X[e], &X[e + 1], t16.w, t16.ws, b32, k, red);
            ntt5_inv_bfly_r(&Y[e], &Y[e + 1], t16.w, t16.ws, b32, k, red);
        }
    }
#pragma GCC unroll 4
    for (int e = 0; e < nc; e++) {
        uint64_t *p = a + 16 * (c0 + (size_t)e);
        _mm512_store_si512((void *)p, X[e]);
        _mm512_store_si512((void *)(p + 8), Y[e]);
    }
}

/* The first pass: distances 1, 2, 4, then ex (0, 1 or 2) stages of distance 8 (and 16), over
 * blocks of NTT5_NC chunks (the rest two or one at a time). red == 0: the values written are
 * below 2^ex 16q. */
NTT5_INLINE void ntt5_inv_head(uint64_t *a, const uint64_t *src, size_t n, unsigned ex,
                               const uint64_t *wt, const uint64_t *wst, const ntt5_consts *k,
                               int red)
{
    size_t c = 0;
    for (; c + NTT5_NC <= n / 16; c += NTT5_NC) {
        if (ex == 2) ntt5_inv_chunks(a, src, n, c, NTT5_NC, 2, wt, wst, k, red);
        else if (ex == 1) ntt5_inv_chunks(a, src, n, c, NTT5_NC, 1, wt, wst, k, red);
        else ntt5_inv_chunks(a, src, n, c, NTT5_NC, 0, wt, wst, k, red);
    }
    for (; c < n / 16; c += (ex == 2 ? 2 : 1)) {
        if (ex == 2) ntt5_inv_chunks(a, src, n, c, 2, 2, wt, wst, k, red);
        else if (ex == 1) ntt5_inv_chunks(a, src, n, c, 1, 1, wt, wst, k, red);
        else ntt5_inv_chunks(a, src, n, c, 1, 0, wt, wst, k, red);
    }
}

/* The passes from distance d up to n/4, and the last stage with n^-1 merged (see ntt5_inv):
 * red == 0 keeps the bound `bound` (a multiple of q) of the values, and a pass whose outputs
 * would reach 2^52 reduces its inputs first. */
NTT5_INLINE void ntt5_inv_passes(uint64_t *a, size_t n, size_t d, const uint64_t *wt,
                                 const uint64_t *wst, const ntt5_consts *k, uint64_t q, int red,
                                 uint64_t bound,
                                 int mode, uint64_t ni_, uint64_t nis_, uint64_t nw_,
                                 uint64_t nws_, uint64_t c_)
{
    const size_t half = n >> 1;
    const uint64_t lim = UINT64_C(1) << 52, two_q = 2 * q;
    while (d < half) {
        unsigned st = 4 * d < half ? 3 : 2 * d < half ? 2 : 1;
        int rl = !red && (bound << st) > lim;
        if (rl) bound = two_q;
        __m512i b = _mm512_set1_epi64((long long)bound);
        if (st == 3) ntt5_inv_pass(a, n, d, 3, wt, wst, k, red, b, rl);
        else if (st == 2) ntt5_inv_pass(a, n, d, 2, wt, wst, k, red, b, rl);
        else ntt5_inv_pass(a, n, d, 1, wt, wst, k, red, b, rl);
        bound <<= st;
        d <<= st;
    }
    /* last stage with n^-1 merged: outputs in [0, 2q); its inputs are below `bound` (2q with
     * red): U + V and U - V + bound stay below 2^52 */
    const int rl = !red && 2 * bound > lim;
    if (rl) bound = two_q;
    const __m512i off = _mm512_set1_epi64((long long)(red ? two_q : bound));
    const __m512i ni = _mm512_set1_epi64((long long)ni_);
    const __m512i nis = _mm512_set1_epi64((long long)nis_);
    const __m512i nw = _mm512_set1_epi64((long long)nw_);
    const __m512i nws = _mm512_set1_epi64((long long)nws_);
    const __m512i c = _mm512_set1_epi64((long long)c_);
    for (size_t j = 0; j < half; j += 8) {
        __m512i U = ntt5_load_r(a + j, k, rl);
        __m512i V = ntt5_load_r(a + half + j, k, rl);
        __m512i X = ntt5_mul_shoup(_mm512_add_epi64(U, V), ni, nis, k->neg_q, k->mask52);
        __m512i Y = ntt5_mul_shoup(_mm512_add_epi64(_mm512_sub_epi64(U, V), off), nw, nws,
                                   k->neg_q, k->mask52);
        if (mode != 1) {
            X = ntt5_csub(X, k->q);
            Y = ntt5_csub(Y, k->q);
        }
        if (mode == 2) {
            X = ntt5_csub(_mm512_add_epi64(X, c), k->q);
            Y = ntt5_csub(_mm512_add_epi64(Y, c), k->q);
        }
        _mm512_store_si512((void *)(a + j), X);
        _mm512_store_si512((void *)(a + half + j), Y);
    }
}

/* The last stage multiplies by ni = n^-1 s and nw = n^-1 iv[1] s (s = 1, or the scaled kernel's
 * w; nis, nws their 52-bit Shoup forms); mode 0: output in [0, q), 1: lazy [0, 2q), 2: plus
 * c mod q, in [0, q). Passes: the three small distances and the first (log n - 4) mod 3 of
 * distance >= 8, then radix 8 up to n/4, then the last stage: 5 passes at n = 2^14 and 2^15, 6
 * at 2^16. Where the first pass's outputs stay below 2^52 (2^ex 16q: primes up to 2^46-2^48) the
 * butterflies do not reduce their sums (values grow by a factor 2 per stage, from [0, 2q)) and
 * work modulo 2^52 (ntt5_inv_bfly_nr); a pass whose values would reach 2^52 reduces them as it
 * loads them (a Shoup product by 1: at n = 2^14 with 40-bit primes once), instead of every
 * butterfly's conditional subtraction. Larger primes reduce in every butterfly: Harvey's where
 * harvey != 0 (cores with one 512-bit IFMA pipe), else ntt5_inv_bfly_rg (see ntt5_fwd). */
static void ntt5_inv(const beaa_ntt_tables *t, uint64_t *a, const uint64_t *src, int mode,
                     uint64_t ni_, uint64_t nis_, uint64_t nw_, uint64_t nws_, uint64_t c_,
                     int harvey)
{
    const size_t n = t->n;
    const ntt5_consts k = ntt5_make_consts(t->mod.q);
    unsigned log_n = 0;
    while (((size_t)1 << log_n) < n) log_n++;
    const unsigned ex = (log_n - 4) % 3; /* the stages of distance >= 8 the first pass takes */
    const uint64_t bound = (UINT64_C(16) << ex) * t->mod.q; /* of its outputs (red == 0) */
    if (bound <= (UINT64_C(1) << 52)) {
        ntt5_inv_head(a, src, n, ex, t->iv, t->iv_shoup52, &k, 0);
        ntt5_inv_passes(a, n, 8 << ex, t->iv, t->iv_shoup52, &k, t->mod.q, 0, bound, mode, ni_,
                        nis_, nw_, nws_, c_);
    } else if (harvey) {
        ntt5_inv_head(a, src, n, ex, t->iv, t->iv_shoup52, &k, 1);
        ntt5_inv_passes(a, n, 8 << ex, t->iv, t->iv_shoup52, &k, t->mod.q, 1, 2 * t->mod.q, mode,
                        ni_, nis_, nw_, nws_, c_);
    } else {
        ntt5_inv_head(a, src, n, ex, t->iv, t->iv_shoup52, &k, 2);
        ntt5_inv_passes(a, n, 8 << ex, t->iv, t->iv_shoup52, &k, t->mod.q, 2, 2 * t->mod.q, mode,
                        ni_, nis_, nw_, nws_, c_);
    }
}

/* The IFMA path needs the 52-bit tables (built for q < 2^50 and n >= 16). */
static int ntt5_usable(const beaa_ntt_tables *t)
{
    return t->fw_shoup52 && t->iv_shoup52 && t->mod.q < BEAA_NTT_SMALL_Q_BOUND && t->n >= 16;
}

void beaa_ntt_fwd_avx512_sched(const beaa_ntt_tables *t, uint64_t *a, int lazy, int harvey)
{
    if (ntt5_usable(t)) ntt5_fwd(t, a, lazy, harvey);
    else if (lazy) beaa_ntt_fwd_lazy_ref(t, a);
    else beaa_ntt_fwd_ref(t, a);
}

void beaa_ntt_fwd_avx512(const beaa_ntt_tables *t, uint64_t *a)
{
    beaa_ntt_fwd_avx512_sched(t, a, 0, beaa_cpu_vendor_get() == BEAA_CPU_VENDOR_AMD);
}

void beaa_ntt_fwd_lazy_avx512(const beaa_ntt_tables *t, uint64_t *a)
{
    beaa_ntt_fwd_avx512_sched(t, a, 1, beaa_cpu_vendor_get() == BEAA_CPU_VENDOR_AMD);
}

void beaa_ntt_inv_avx512_sched(const beaa_ntt_tables *t, uint64_t *r, const uint64_t *a,
                               int mode, uint64_t w, uint64_t c, int harvey)
{
    if (!ntt5_usable(t)) {
        if (mode == 2) beaa_ntt_inv_scaled_ref(t, r, a, w, c);
        else if (mode == 1) beaa_ntt_inv_lazy_ref(t, r);
        else beaa_ntt_inv_ref(t, r);
        return;
    }
    if (mode != 2) {
        ntt5_inv(t, r, r, mode, t->n_inv, t->n_inv_shoup52, t->n_inv_w, t->n_inv_w_shoup52, 0,
                 harvey);
        return;
    }
    const uint64_t q = t->mod.q;
    const uint64_t ni = beaa_mul_mod(t->n_inv, w, &t->mod);
    const uint64_t nw = beaa_mul_mod(t->n_inv_w, w, &t->mod);
    ntt5_inv(t, r, a, 2, ni, beaa_shoup52(ni, q), nw, beaa_shoup52(nw, q), c, harvey);
}

void beaa_ntt_inv_avx512(const beaa_ntt_tables *t, uint64_t *a)
{
    beaa_ntt_inv_avx512_sched(t, a, a, 0, 0, 0, beaa_cpu_vendor_get() == BEAA_CPU_VENDOR_AMD);
}

void beaa_ntt_inv_lazy_avx512(const beaa_ntt_tables *t, uint64_t *a)
{
    beaa_ntt_inv_avx512_sched(t, a, a, 1, 0, 0, beaa_cpu_vendor_get() == BEAA_CPU_VENDOR_AMD);
}

void beaa_ntt_inv_scaled_avx512(const beaa_ntt_tables *t, uint64_t *r, const uint64_t *a,
                                uint64_t w, uint64_t c)
{
    beaa_ntt_inv_avx512_sched(t, r, a, 2, w, c, beaa_cpu_vendor_get() == BEAA_CPU_VENDOR_AMD);
}
