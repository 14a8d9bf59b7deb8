/* xof_avx2.c - seeded uniform sampling on 4 SHAKE256 streams at once (uniform_seeded, kernels.h)
 * and SHAKE256 of 8 messages as two passes of 4 (shake256_x8). Keccak-f[1600] runs on 4 states
 * in ymm registers, word w of the 4 states in one __m256i (64-bit lane j = stream j): rotations
 * are two shifts and an or (by 1: an add and a shift; by 8 and 56: one vpshufb), chi is andnot +
 * xor. The 25 state words do not fit the 16 ymm registers; the compiler keeps the rest on the
 * stack. After each permutation every lane's 17 rate words are drawn from exactly as
 * beaa_xof_uniform draws them (mask, reject at >= q; or all kept, raw, for q = 0), so each output
 * is the scalar stream's, bit for bit. */
#include <immintrin.h>
#include <string.h>
#include "ckks/kernels/avx2/avx2.h"
#include "ckks/kernels/ref/ref.h"
#include "lib/mem.h"
#include "lib/rng.h"

#define K4_RATE_WORDS 17 /* SHAKE256: 136-byte rate */

/* v rotated left by r, 2 <= r <= 62 (shifts run on two of Zen 3's four vector pipes) */
static inline __m256i k4_rol(__m256i v, int r)
{
    return _mm256_or_si256(_mm256_slli_epi64(v, r), _mm256_srli_epi64(v, 64 - r));
}
/* by 1: v + v instead of the left shift (adds issue on more pipes) */
static inline __m256i k4_rol1(__m256i v)
{
    return _mm256_or_si256(_mm256_add_epi64(v, v), _mm256_srli_epi64(v, 63));
}
/* by 8 and 56: whole bytes, one byte shuffle within each 64-bit word */
static inline __m256i k4_rol8(__m256i v)
{
    return _mm256_shuffle_epi8(v, _mm256_setr_epi8(7, 0, 1, 2, 3, 4, 5, 6, 15, 8, 9, 10, 11, 12,
                                                   13, 14, 7, 0, 1, 2, 3, 4, 5, 6, 15, 8, 9, 10,
                                                   11, 12, 13, 14));
}
static inline __m256i k4_rol56(__m256i v)
{
    return _mm256_shuffle_epi8(v, _mm256_setr_epi8(1, 2, 3, 4, 5, 6, 7, 0, 9, 10, 11, 12, 13, 14,
                                                   15, 8, 1, 2, 3, 4, 5, 6, 7, 0, 9, 10, 11, 12,
                                                   13, 14, 15, 8));
}

#define K4_XOR(a, b) _mm256_xor_si256(a, b)
/* chi on one word: x ^ (~y & z) */
#define K4_CHI(x, y, z) _mm256_xor_si256(x, _mm256_andnot_si256(y, z))
/* chi along one output row o0..o4 from its five rho+pi words b0..b4 */
#define K4_CHI_ROW(o0, o1, o2, o3, o4, b0, b1, b2, b3, b4)                                       \
    do {                                                                                        \
        o0 = K4_CHI(b0, b1, b2);                                                                \
        o1 = K4_CHI(b1, b2, b3);                                                                \
        o2 = K4_CHI(b2, b3, b4);                                                                \
        o3 = K4_CHI(b3, b4, b0);                                                                \
        o4 = K4_CHI(b4, b0, b1);                                                                \
    } while (0)
/* One round from state words A0..A24 into E0..E24 (A, E: name prefixes of the locals). theta:
 * column parities c, d[x] = c[x-1] ^ rot(c[x+1], 1); then output row y' takes b[x'] =
 * rot(A[x + 5y] ^ d[x], r[x + 5y]) with x' = y, y' = 2x + 3y (rho and pi), chi along the row,
 * iota on E0. Rho offsets as in lib/rng.c's keccak_f1600. */
#define K4_ROUND(A, E, rc)                                                                      \
    do {                                                                                        \
        const __m256i c0 = K4_XOR(K4_XOR(A##0, A##5), K4_XOR(K4_XOR(A##10, A##15), A##20));     \
        const __m256i c1 = K4_XOR(K4_XOR(A##1, A##6), K4_XOR(K4_XOR(A##11, A##16), A##21));     \
        const __m256i c2 = K4_XOR(K4_XOR(A##2, A##7), K4_XOR(K4_XOR(A##12, A##17), A##22));     \
        const __m256i c3 = K4_XOR(K4_XOR(A##3, A##8), K4_XOR(K4_XOR(A##13, A##18), A##23));     \
        const __m256i c4 = K4_XOR(K4_XOR(A##4, A##9), K4_XOR(K4_XOR(A##14, A##19), A##24));     \
        const __m256i d0 = K4_XOR(c4, k4_rol1(c1)), d1 = K4_XOR(c0, k4_rol1(c2));                \
        const __m256i d2 = K4_XOR(c1, k4_rol1(c3)), d3 = K4_XOR(c2, k4_rol1(c4));                \
        const __m256i d4 = K4_XOR(c3, k4_rol1(c0));                                             \
        __m256i b0, b1, b2, b3, b4;                                                             \
        b0 = K4_XOR(A##0, d0);                                                                  \
        b1 = k4_rol(K4_XOR(A##6, d1), 44);                                                      \
        b2 = k4_rol(K4_XOR(A##12, d2), 43);                                                     \
        b3 = k4_rol(K4_XOR(A##18, d3), 21);                                                     \
        b4 = k4_rol(K4_XOR(A##24, d4), 14);                                                     \
        K4_CHI_ROW(E##0, E##1, E##2, E##3, E##4, b0, b1, b2, b3, b4);                           \
        E##0 = K4_XOR(E##0, rc);                                                                \
        b0 = k4_rol(K4_XOR(A##3, d3), 28);                                                      \
        b1 = k4_rol(K4_XOR(A##9, d4), 20);                                                      \
        b2 = k4_rol(K4_XOR(A##10, d0), 3);                                                      \
        b3 = k4_rol(K4_XOR(A##16, d1), 45);                                                     \
        b4 = k4_rol(K4_XOR(A##22, d2), 61);                                                     \
        K4_CHI_ROW(E##5, E##6, E##7, E##8, E##9, b0, b1, b2, b3, b4);                           \
        b0 = k4_rol1(K4_XOR(A##1, d1));                                                         \
        b1 = k4_rol(K4_XOR(A##7, d2), 6);                                                       \
        b2 = k4_rol(K4_XOR(A##13, d3), 25);                                                     \
        b3 = k4_rol8(K4_XOR(A##19, d4));                                                        \
        b4 = k4_rol(K4_XOR(A##20, d0), 18);                                                     \
        K4_CHI_ROW(E##10, E##11, E##12, E##13, E##14, b0, b1, b2, b3, b4);                      \
        b0 = k4_rol(K4_XOR(A##4, d4), 27);                                                      \
        b1 = k4_rol(K4_XOR(A##5, d0), 36);                                                      \
        b2 = k4_rol(K4_XOR(A##11, d1), 10);                                                     \
        b3 = k4_rol(K4_XOR(A##17, d2), 15);                                                     \
        b4 = k4_rol56(K4_XOR(A##23, d3));                                                       \
        K4_CHI_ROW(E##15, E##16, E##17, E##18, E##19, b0, b1, b2, b3, b4);                      \
        b0 = k4_rol(K4_XOR(A##2, d2), 62);                                                      \
        b1 = k4_rol(K4_XOR(A##8, d3), 55);                                                      \
        b2 = k4_rol(K4_XOR(A##14, d4), 39);                                                     \
        b3 = k4_rol(K4_XOR(A##15, d0), 41);                                                     \
        b4 = k4_rol(K4_XOR(A##21, d1), 2);                                                      \
        K4_CHI_ROW(E##20, E##21, E##22, E##23, E##24, b0, b1, b2, b3, b4);                      \
    } while (0)

/* Keccak-f[1600] on 4 states: S[w] holds word w of each; two rounds per iteration (a -> e -> a). */
static void k4_permute(__m256i *S)
{
    __m256i a0 = S[0], a1 = S[1], a2 = S[2], a3 = S[3], a4 = S[4], a5 = S[5], a6 = S[6];
    __m256i a7 = S[7], a8 = S[8], a9 = S[9], a10 = S[10], a11 = S[11], a12 = S[12];
    __m256i a13 = S[13], a14 = S[14], a15 = S[15], a16 = S[16], a17 = S[17], a18 = S[18];
    __m256i a19 = S[19], a20 = S[20], a21 = S[21], a22 = S[22], a23 = S[23], a24 = S[24];
    __m256i e0, e1, e2, e3, e4, e5, e6, e7, e8, e9, e10, e11, e12, e13, e14, e15, e16, e17;
    __m256i e18, e19, e20, e21, e22, e23, e24;
    for (int r = 0; r < 24; r += 2) {
        K4_ROUND(a, e, _mm256_set1_epi64x((long long)beaa_keccak_rc[r]));
        K4_ROUND(e, a, _mm256_set1_epi64x((long long)beaa_keccak_rc[r + 1]));
    }
    S[0] = a0; S[1] = a1; S[2] = a2; S[3] = a3; S[4] = a4; S[5] = a5; S[6] = a6; S[7] = a7;
    S[8] = a8; S[9] = a9; S[10] = a10; S[11] = a11; S[12] = a12; S[13] = a13; S[14] = a14;
    S[15] = a15; S[16] = a16; S[17] = a17; S[18] = a18; S[19] = a19; S[20] = a20; S[21] = a21;
    S[22] = a22; S[23] = a23; S[24] = a24;
}

/* 4x4 transpose of 64-bit words: c[j] holds word j of r[0..3] (lane l = r[l]); its own inverse. */
static inline void k4_transpose(const __m256i *r, __m256i *c)
{
    const __m256i t0 = _mm256_unpacklo_epi64(r[0], r[1]); /* r0w0 r1w0 r0w2 r1w2 */
    const __m256i t1 = _mm256_unpackhi_epi64(r[0], r[1]); /* r0w1 r1w1 r0w3 r1w3 */
    const __m256i t2 = _mm256_unpacklo_epi64(r[2], r[3]);
    const __m256i t3 = _mm256_unpackhi_epi64(r[2], r[3]);
    c[0] = _mm256_permute2x128_si256(t0, t2, 0x20);
    c[1] = _mm256_permute2x128_si256(t1, t3, 0x20);
    c[2] = _mm256_permute2x128_si256(t0, t2, 0x31);
    c[3] = _mm256_permute2x128_si256(t1, t3, 0x31);
}

/* vpermd indices that move the 64-bit words set in a 4-bit keep mask to the front, in order */
static const int32_t k4_pack[16][8] __attribute__((aligned(32))) = {
    {0, 0, 0, 0, 0, 0, 0, 0}, {0, 1, 0, 0, 0, 0, 0, 0},
    {2, 3, 0, 0, 0, 0, 0, 0}, {0, 1, 2, 3, 0, 0, 0, 0},
    {4, 5, 0, 0, 0, 0, 0, 0}, {0, 1, 4, 5, 0, 0, 0, 0},
    {2, 3, 4, 5, 0, 0, 0, 0}, {0, 1, 2, 3, 4, 5, 0, 0},
    {6, 7, 0, 0, 0, 0, 0, 0}, {0, 1, 6, 7, 0, 0, 0, 0},
    {2, 3, 6, 7, 0, 0, 0, 0}, {0, 1, 2, 3, 6, 7, 0, 0},
    {4, 5, 6, 7, 0, 0, 0, 0}, {0, 1, 4, 5, 6, 7, 0, 0},
    {2, 3, 4, 5, 6, 7, 0, 0}, {0, 1, 2, 3, 4, 5, 6, 7},
};

/* Streams 0 .. lanes-1 (lanes <= 4) side by side until each has n values. */
static void k4_group(uint64_t *const *out, const uint64_t *q, const uint64_t *domain,
                     size_t lanes, size_t n, const uint8_t *const *seed)
{
    uint64_t st[K4_RATE_WORDS][4] __attribute__((aligned(32)));
    uint64_t mask[4], bound[4];
    size_t got[4];
    memset(st, 0, sizeof st);
    for (size_t l = 0; l < 4; l++) {
        size_t s = l < lanes ? l : 0; /* idle lanes repeat stream 0; their output is dropped */
        for (int w = 0; w < 4; w++) memcpy(&st[w][l], seed[s] + 8 * w, 8); /* little endian */
        st[4][l] = domain[s];                            /* seed || domain (8 bytes LE) */
        st[5][l] = 0x1F;                                 /* SHAKE padding after 40 bytes ... */
        st[K4_RATE_WORDS - 1][l] = UINT64_C(0x80) << 56; /* ... and the rate's last byte */
        bound[l] = q[s];
        mask[l] = q[s] ? beaa_xof_uniform_mask(q[s]) : UINT64_MAX;
        got[l] = l < lanes ? 0 : n;
    }
    __m256i S[25];
    for (int w = 0; w < 25; w++)
        S[w] = w < K4_RATE_WORDS ? _mm256_load_si256((const __m256i *)st[w])
                                 : _mm256_setzero_si256();
    const __m256i sign = _mm256_set1_epi64x((long long)(UINT64_C(1) << 63));
    __m256i col[4][4]; /* lane l's rate words 0-15 as col[0..3][l] (words 4h .. 4h+3) */
    for (;;) {
        size_t done = 0;
        for (size_t l = 0; l < 4; l++) done += got[l] >= n;
        if (done == 4) break;
        k4_permute(S);
        for (int h = 0; h < 4; h++) k4_transpose(S + 4 * h, col[h]);
        _mm256_store_si256((__m256i *)st[K4_RATE_WORDS - 1], S[K4_RATE_WORDS - 1]);
        for (size_t l = 0; l < lanes; l++) {
            uint64_t *o = out[l], m = mask[l], b = bound[l];
            size_t g = got[l];
            int h = 0;
            if (b == 0) {
                /* raw words (secret noise): all kept, no comparison on them */
                for (; h < 4 && g + 4 <= n; h++, g += 4)
                    _mm256_storeu_si256((__m256i *)(o + g), col[h][l]);
            } else {
                /* 4 words at a time: masked, compared with the bound (unsigned, as signed
                 * after flipping the top bits), the kept ones moved to the front by vpermd and
                 * all 4 stored (g + 4 <= n; the words past the kept ones are overwritten next) */
                const __m256i vm = _mm256_set1_epi64x((long long)m);
                const __m256i vb = _mm256_set1_epi64x((long long)(b ^ (UINT64_C(1) << 63)));
                for (; h < 4 && g + 4 <= n; h++) {
                    const __m256i v = _mm256_and_si256(col[h][l], vm);
                    const __m256i lt = _mm256_cmpgt_epi64(vb, _mm256_xor_si256(v, sign));
                    const int keep = _mm256_movemask_pd(_mm256_castsi256_pd(lt));
                    const __m256i idx = _mm256_load_si256((const __m256i *)k4_pack[keep]);
                    _mm256_storeu_si256((__m256i *)(o + g), _mm256_permutevar8x32_epi32(v, idx));
                    g += (size_t)__builtin_popcount((unsigned)keep);
                }
            }
            /* the last values of the stream: one word at a time */
            if (g < n) {
                uint64_t wl[K4_RATE_WORDS];
                for (int k = h; k < 4; k++) _mm256_storeu_si256((__m256i *)(wl + 4 * k), col[k][l]);
                wl[16] = st[K4_RATE_WORDS - 1][l];
                if (b == 0) {
                    for (int w = 4 * h; w < K4_RATE_WORDS && g < n; w++) o[g++] = wl[w];
                } else {
                    for (int w = 4 * h; w < K4_RATE_WORDS && g < n; w++) {
                        const uint64_t v = wl[w] & m;
                        if (v < b) o[g++] = v;
                    }
                }
                beaa_memzero(wl, sizeof wl);
            }
            got[l] = g;
        }
    }
    beaa_memzero(col, sizeof col);
    beaa_memzero(st, sizeof st);
    beaa_memzero(S, sizeof S);
}

void beaa_uniform_seeded_avx2(uint64_t *const *out, const uint64_t *q, const uint64_t *domain,
                              size_t count, size_t n, const uint8_t *const *seed)
{
    for (size_t s = 0; s < count; s += 4) {
        size_t lanes = count - s < 4 ? count - s : 4;
        k4_group(out + s, q + s, domain + s, lanes, n, seed + s);
    }
}

/* XORs one 136-byte block of each of the 4 messages p[0..3] into the rate words: words 0-15 in
 * 4x4 blocks transposed in registers, word 16 gathered. */
static inline void k4_absorb(__m256i *S, const uint8_t *const *p)
{
    __m256i r[4], c[4];
    for (int h = 0; h < 4; h++) {
        for (int l = 0; l < 4; l++) r[l] = _mm256_loadu_si256((const __m256i *)(p[l] + 32 * h));
        k4_transpose(r, c);
        for (int w = 0; w < 4; w++) S[4 * h + w] = _mm256_xor_si256(S[4 * h + w], c[w]);
    }
    uint64_t w16[4];
    for (int l = 0; l < 4; l++) memcpy(&w16[l], p[l] + 128, 8);
    S[16] = _mm256_xor_si256(S[16], _mm256_loadu_si256((const __m256i *)w16));
}

/* SHAKE256 of the 4 messages in[0..3] of len bytes, side by side, one lane each: out[l][0..outlen)
 * with outlen <= 136 (one squeezed block). The last partial block is padded per lane as
 * beaa_shake256_final pads it (0x1F after the data, 0x80 in the block's last byte). */
static void k4_shake(uint8_t *const *out, size_t outlen, const uint8_t *const *in, size_t len)
{
    const size_t rate = 8 * K4_RATE_WORDS;
    __m256i S[25];
    for (int w = 0; w < 25; w++) S[w] = _mm256_setzero_si256();
    const uint8_t *p[4];
    size_t off = 0;
    for (; off + rate <= len; off += rate) {
        for (int l = 0; l < 4; l++) p[l] = in[l] + off;
        k4_absorb(S, p);
        k4_permute(S);
    }
    uint8_t last[4][8 * K4_RATE_WORDS];
    const size_t tail = len - off;
    for (int l = 0; l < 4; l++) {
        memset(last[l], 0, rate);
        if (tail) memcpy(last[l], in[l] + off, tail);
        last[l][tail] ^= 0x1F;
        last[l][rate - 1] ^= 0x80;
        p[l] = last[l];
    }
    k4_absorb(S, p);
    k4_permute(S);
    /* lane l's rate words: the transposed 4x4 blocks of words 0-15, then word 16 */
    uint64_t words[4][K4_RATE_WORDS], w16[4];
    __m256i c[4];
    for (int h = 0; h < 4; h++) {
        k4_transpose(S + 4 * h, c);
        for (int l = 0; l < 4; l++) _mm256_storeu_si256((__m256i *)(words[l] + 4 * h), c[l]);
    }
    _mm256_storeu_si256((__m256i *)w16, S[16]);
    for (int l = 0; l < 4; l++) {
        words[l][16] = w16[l];
        memcpy(out[l], words[l], outlen); /* little endian: the squeezed bytes in order */
    }
    /* the messages may be secret (the checksum of a secret-key file): no copies left behind */
    beaa_memzero(last, sizeof last);
    beaa_memzero(words, sizeof words);
    beaa_memzero(w16, sizeof w16);
    beaa_memzero(c, sizeof c);
    beaa_memzero(S, sizeof S);
}

/* shake256_x8 (kernels.h): messages 0-3, then 4-7, four lanes per permutation. When messages
 * 4-7 are message 0 itself (the same pointer: the filler lanes of a caller's last, partial
 * group, as lib/serial.c's checksum tree passes them), their digests are copied from lane 0
 * instead of hashed again. */
void beaa_shake256_x8_avx2(uint8_t *const *out, size_t outlen, const uint8_t *const *in,
                           size_t len)
{
    if (outlen > 8 * K4_RATE_WORDS) {
        beaa_shake256_x8_ref(out, outlen, in, len);
        return;
    }
    k4_shake(out, outlen, in, len);
    if (in[4] == in[0] && in[5] == in[0] && in[6] == in[0] && in[7] == in[0]) {
        for (int j = 4; j < 8; j++) memmove(out[j], out[0], outlen);
        return;
    }
    k4_shake(out + 4, outlen, in + 4, len);
}
