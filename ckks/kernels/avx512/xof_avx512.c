/* xof_avx512.c - seeded uniform sampling on 8 SHAKE256 streams at once (uniform_seeded,
 * kernels.h), and SHAKE256 of 8 messages at once (shake256_x8: the serialization checksums'
 * leaves; at the end of the file). The 25 words of 8 Keccak states sit in 25 zmm registers,
 * lane j being stream j, and each round is written with vpternlogq (the column parities and
 * chi in one instruction each) and vprolq. Measured on Zen 4: 8 permutations in ~420 ns, 6.6x the scalar Keccak of
 * lib/rng.c (398 MB/s). After each permutation the 17 rate words of every lane are drawn from
 * exactly as beaa_xof_uniform draws them (mask, reject, keep; or all of them, raw, for q = 0),
 * so the output is the scalar stream's, bit for bit: words 0-15 transposed in registers into
 * two vectors per lane, filtered 8 at a time with a compare and a register vpcompressq (the one-
 * word-at-a-time loop took 0.6 of the time of 8 lanes of 2^15 words). Groups of 8 streams;
 * since the vector filter, even a pass with one stream costs less than the scalar Keccak (8
 * streams of 2^15 words with a 2^49 + 2^20 + 1 bound: 3.95 -> 2.1 ms; 1 stream 1.8 ms against
 * 2.1 ms scalar). */
#include <string.h>
#include "ckks/kernels/avx512/avx512.h"
#include "ckks/kernels/ref/ref.h"
#include "lib/mem.h"
#include "lib/rng.h"
#ifndef BEAA_IFMA_EMULATE
#include <immintrin.h>
#endif

#define KX_RATE_WORDS 17 /* SHAKE256: 136-byte rate */

/* x ^ y ^ z (0x96) and chi's x ^ (~y & z) (0xD2) as one ternary-logic instruction each. */
#define KX_X3(a, b, c) _mm512_ternarylogic_epi64(a, b, c, 0x96)
#define KX_CHI(a, b, c) _mm512_ternarylogic_epi64(a, b, c, 0xD2)
#define KX_XOR(a, b) _mm512_xor_si512(a, b)
#define KX_ROL(a, r) _mm512_rol_epi64(a, r)
/* One output row of rho+pi then chi: inputs i0..i4 with their theta terms and rotations. */
#define KX_ROW(o0, o1, o2, o3, o4, i0, i1, i2, i3, i4, d0_, d1_, d2_, d3_, d4_, r0, r1, r2, r3, r4) \
    do {                                                                                        \
        __m512i b0_ = KX_ROL(KX_XOR(i0, d0_), r0), b1_ = KX_ROL(KX_XOR(i1, d1_), r1);          \
        __m512i b2_ = KX_ROL(KX_XOR(i2, d2_), r2), b3_ = KX_ROL(KX_XOR(i3, d3_), r3);          \
        __m512i b4_ = KX_ROL(KX_XOR(i4, d4_), r4);                                              \
        o0 = KX_CHI(b0_, b1_, b2_);                                                             \
        o1 = KX_CHI(b1_, b2_, b3_);                                                             \
        o2 = KX_CHI(b2_, b3_, b4_);                                                             \
        o3 = KX_CHI(b3_, b4_, b0_);                                                             \
        o4 = KX_CHI(b4_, b0_, b1_);                                                             \
    } while (0)
/* One round A -> E (FIPS 202; the rho offsets and pi order as in lib/rng.c's keccak_f1600). */
#define KX_ROUND(A, E, rc)                                                                      \
    do {                                                                                        \
        __m512i c0 = KX_X3(KX_X3(A##0, A##5, A##10), A##15, A##20);                             \
        __m512i c1 = KX_X3(KX_X3(A##1, A##6, A##11), A##16, A##21);                             \
        __m512i c2 = KX_X3(KX_X3(A##2, A##7, A##12), A##17, A##22);                             \
        __m512i c3 = KX_X3(KX_X3(A##3, A##8, A##13), A##18, A##23);                             \
        __m512i c4 = KX_X3(KX_X3(A##4, A##9, A##14), A##19, A##24);                             \
        __m512i d0 = KX_XOR(c4, KX_ROL(c1, 1)), d1 = KX_XOR(c0, KX_ROL(c2, 1));                \
        __m512i d2 = KX_XOR(c1, KX_ROL(c3, 1)), d3 = KX_XOR(c2, KX_ROL(c4, 1));                \
        __m512i d4 = KX_XOR(c3, KX_ROL(c0, 1));                                                 \
        __m512i b0 = KX_XOR(A##0, d0), b1 = KX_ROL(KX_XOR(A##6, d1), 44);                       \
        __m512i b2 = KX_ROL(KX_XOR(A##12, d2), 43), b3 = KX_ROL(KX_XOR(A##18, d3), 21);         \
        __m512i b4 = KX_ROL(KX_XOR(A##24, d4), 14);                                             \
        E##0 = KX_XOR(KX_CHI(b0, b1, b2), _mm512_set1_epi64((long long)(rc)));                   \
        E##1 = KX_CHI(b1, b2, b3);                                                              \
        E##2 = KX_CHI(b2, b3, b4);                                                              \
        E##3 = KX_CHI(b3, b4, b0);                                                              \
        E##4 = KX_CHI(b4, b0, b1);                                                              \
        KX_ROW(E##5, E##6, E##7, E##8, E##9, A##3, A##9, A##10, A##16, A##22, d3, d4, d0, d1, d2, \
               28, 20, 3, 45, 61);                                                              \
        KX_ROW(E##10, E##11, E##12, E##13, E##14, A##1, A##7, A##13, A##19, A##20, d1, d2, d3,  \
               d4, d0, 1, 6, 25, 8, 18);                                                        \
        KX_ROW(E##15, E##16, E##17, E##18, E##19, A##4, A##5, A##11, A##17, A##23, d4, d0, d1,  \
               d2, d3, 27, 36, 10, 15, 56);                                                     \
        KX_ROW(E##20, E##21, E##22, E##23, E##24, A##2, A##8, A##14, A##15, A##21, d2, d3, d4,  \
               d0, d1, 62, 55, 39, 41, 2);                                                      \
    } while (0)

/* Keccak-f[1600] on 8 states; S[w] holds word w of the 8 states. */
static void kx_permute(__m512i *S)
{
    __m512i a0 = S[0], a1 = S[1], a2 = S[2], a3 = S[3], a4 = S[4], a5 = S[5], a6 = S[6];
    __m512i a7 = S[7], a8 = S[8], a9 = S[9], a10 = S[10], a11 = S[11], a12 = S[12], a13 = S[13];
    __m512i a14 = S[14], a15 = S[15], a16 = S[16], a17 = S[17], a18 = S[18], a19 = S[19];
    __m512i a20 = S[20], a21 = S[21], a22 = S[22], a23 = S[23], a24 = S[24];
    __m512i e0, e1, e2, e3, e4, e5, e6, e7, e8, e9, e10, e11, e12, e13, e14, e15, e16, e17, e18;
    __m512i e19, e20, e21, e22, e23, e24;
    for (int r = 0; r < 24; r += 2) {
        KX_ROUND(a, e, beaa_keccak_rc[r]);
        KX_ROUND(e, a, beaa_keccak_rc[r + 1]);
    }
    S[0] = a0; S[1] = a1; S[2] = a2; S[3] = a3; S[4] = a4; S[5] = a5; S[6] = a6; S[7] = a7;
    S[8] = a8; S[9] = a9; S[10] = a10; S[11] = a11; S[12] = a12; S[13] = a13; S[14] = a14;
    S[15] = a15; S[16] = a16; S[17] = a17; S[18] = a18; S[19] = a19; S[20] = a20; S[21] = a21;
    S[22] = a22; S[23] = a23; S[24] = a24;
}

/* 8x8 transpose of 64-bit words: col[l][j] = r[j][l] (unpack pairs, then two rounds of 128-bit
 * lane shuffles: 24 shuffles, no memory round trip). */
static inline void kx_transpose8(const __m512i *r, __m512i *col)
{
    __m512i t[8], u[8];
    for (int i = 0; i < 4; i++) {
        t[2 * i] = _mm512_unpacklo_epi64(r[2 * i], r[2 * i + 1]);     /* words 0,2,4,6 */
        t[2 * i + 1] = _mm512_unpackhi_epi64(r[2 * i], r[2 * i + 1]); /* words 1,3,5,7 */
    }
    for (int h = 0; h < 2; h++) {         /* rows 0-3, then 4-7 */
        const __m512i *a = t + 4 * h;
        u[4 * h + 0] = _mm512_shuffle_i64x2(a[0], a[2], 0x88); /* words 0 and 4 */
        u[4 * h + 1] = _mm512_shuffle_i64x2(a[0], a[2], 0xDD); /* words 2 and 6 */
        u[4 * h + 2] = _mm512_shuffle_i64x2(a[1], a[3], 0x88); /* words 1 and 5 */
        u[4 * h + 3] = _mm512_shuffle_i64x2(a[1], a[3], 0xDD); /* words 3 and 7 */
    }
    col[0] = _mm512_shuffle_i64x2(u[0], u[4], 0x88);
    col[4] = _mm512_shuffle_i64x2(u[0], u[4], 0xDD);
    col[2] = _mm512_shuffle_i64x2(u[1], u[5], 0x88);
    col[6] = _mm512_shuffle_i64x2(u[1], u[5], 0xDD);
    col[1] = _mm512_shuffle_i64x2(u[2], u[6], 0x88);
    col[5] = _mm512_shuffle_i64x2(u[2], u[6], 0xDD);
    col[3] = _mm512_shuffle_i64x2(u[3], u[7], 0x88);
    col[7] = _mm512_shuffle_i64x2(u[3], u[7], 0xDD);
}

/* Streams s0 .. s0+lanes-1 (lanes <= 8) side by side until each has n values. */
static void kx_group(uint64_t *const *out, const uint64_t *q, const uint64_t *domain,
                     size_t lanes, size_t n, const uint8_t *const *seed)
{
    uint64_t st[25][8] __attribute__((aligned(64)));
    uint64_t mask[8], bound[8];
    size_t got[8];
    memset(st, 0, sizeof st);
    for (size_t l = 0; l < 8; l++) {
        size_t s = l < lanes ? l : 0;  /* idle lanes repeat stream 0; their output is dropped */
        for (int w = 0; w < 4; w++) {
            uint64_t v = 0;
            for (int b = 0; b < 8; b++) v |= (uint64_t)seed[s][8 * w + b] << (8 * b);
            st[w][l] = v;
        }
        st[4][l] = domain[s];                 /* seed || domain (8 bytes little endian) */
        st[5][l] = 0x1F;                      /* SHAKE padding after 40 bytes ... */
        st[KX_RATE_WORDS - 1][l] = UINT64_C(0x80) << 56; /* ... and the rate's last byte */
        bound[l] = q[s];
        mask[l] = q[s] ? beaa_xof_uniform_mask(q[s]) : UINT64_MAX;
        got[l] = l < lanes ? 0 : n;
    }
    __m512i S[25];
    for (int w = 0; w < 25; w++) S[w] = _mm512_load_si512((const void *)st[w]);
    for (;;) {
        size_t done = 0;
        for (size_t l = 0; l < 8; l++) done += got[l] >= n;
        if (done == 8) break;
        kx_permute(S);
        /* each lane's rate words 0-15 as two vectors, word 16 from memory */
        __m512i colA[8], colB[8];
        kx_transpose8(S, colA);
        kx_transpose8(S + 8, colB);
        _mm512_store_si512((void *)st[KX_RATE_WORDS - 1], S[KX_RATE_WORDS - 1]);
        for (size_t l = 0; l < lanes; l++) {
            uint64_t *o = out[l], m = mask[l], b = bound[l];
            size_t g = got[l];
            /* 8 words of the lane at a time, masked, compared with the bound and the kept ones
             * stored in order, while 8 more values fit in n; then one by one. Raw words (secret
             * noise, b == 0) are all kept: no comparison on them. */
            const __m512i vm = _mm512_set1_epi64((long long)m), vb = _mm512_set1_epi64((long long)b);
            uint64_t wl[KX_RATE_WORDS];
            int w = 0;
            for (; w < 16 && g + 8 <= n; w += 8) {
                __m512i v = _mm512_and_si512(w ? colB[l] : colA[l], vm);
                if (b == 0) {
                    _mm512_storeu_si512((void *)(o + g), v);
                    g += 8;
                    continue;
                }
                /* kept values packed to the front in a register (vpcompressq to memory is
                 * microcoded and slow on Zen 4), all 8 stored: g + 8 <= n, and the lanes past
                 * the kept ones are overwritten by the next values */
                __mmask8 k = _mm512_cmplt_epu64_mask(v, vb);
                _mm512_storeu_si512((void *)(o + g), _mm512_maskz_compress_epi64(k, v));
                g += (size_t)__builtin_popcount((unsigned)k);
            }
            if (w < 16 && g < n) {
                _mm512_storeu_si512((void *)wl, colA[l]);
                _mm512_storeu_si512((void *)(wl + 8), colB[l]);
            }
            wl[16] = st[KX_RATE_WORDS - 1][l];
            if (b == 0) {
                for (; w < KX_RATE_WORDS && g < n; w++) o[g++] = wl[w];
            } else {
                for (; w < KX_RATE_WORDS && g < n; w++) {
                    uint64_t v = wl[w] & m;
                    if (v < b) o[g++] = v;
                }
            }
            got[l] = g;
        }
    }
    beaa_memzero(st, sizeof st);
}

void beaa_uniform_seeded_avx512(uint64_t *const *out, const uint64_t *q, const uint64_t *domain,
                                size_t count, size_t n, const uint8_t *const *seed)
{
    for (size_t s = 0; s < count; s += 8) {
        size_t lanes = count - s < 8 ? count - s : 8;
        kx_group(out + s, q + s, domain + s, lanes, n, seed + s);
    }
}

/* XORs one 136-byte block of each of the 8 messages into the rate words: words 0-7 and 8-15 of
 * the 8 lanes transposed in registers, word 16 gathered. */
static inline void kx_absorb8(__m512i *S, const uint8_t *const *p)
{
    __m512i r[8], c[8];
    for (int h = 0; h < 2; h++) {
        for (int l = 0; l < 8; l++) r[l] = _mm512_loadu_si512((const void *)(p[l] + 64 * h));
        kx_transpose8(r, c);
        for (int w = 0; w < 8; w++) S[8 * h + w] = _mm512_xor_si512(S[8 * h + w], c[w]);
    }
    uint64_t w16[8];
    for (int l = 0; l < 8; l++) memcpy(&w16[l], p[l] + 128, 8);
    S[16] = _mm512_xor_si512(S[16], _mm512_loadu_si512((const void *)w16));
}

/* shake256_x8 (kernels.h): the 8 messages absorbed side by side, one lane each, the last
 * partial block padded per lane exactly as beaa_shake256_final pads it (0x1F after the data,
 * 0x80 in the last byte of the block), then one permutation and the first outlen bytes of each
 * lane's rate words. */
void beaa_shake256_x8_avx512(uint8_t *const *out, size_t outlen, const uint8_t *const *in,
                             size_t len)
{
    const size_t rate = 8 * KX_RATE_WORDS;
    if (outlen > rate) {
        beaa_shake256_x8_ref(out, outlen, in, len);
        return;
    }
    __m512i S[25];
    for (int w = 0; w < 25; w++) S[w] = _mm512_setzero_si512();
    const uint8_t *p[8];
    size_t off = 0;
    for (; off + rate <= len; off += rate) {
        for (int l = 0; l < 8; l++) p[l] = in[l] + off;
        kx_absorb8(S, p);
        kx_permute(S);
    }
    uint8_t last[8][8 * KX_RATE_WORDS];
    const size_t tail = len - off;
    for (int l = 0; l < 8; l++) {
        memset(last[l], 0, rate);
        if (tail) memcpy(last[l], in[l] + off, tail);
        last[l][tail] ^= 0x1F;
        last[l][rate - 1] ^= 0x80;
        p[l] = last[l];
    }
    kx_absorb8(S, p);
    kx_permute(S);
    /* lane l's rate words: columns of the 8x8 blocks of words 0-7, 8-15, then word 16 */
    uint64_t words[8][KX_RATE_WORDS];
    __m512i c[8];
    for (int h = 0; h < 2; h++) {
        kx_transpose8(S + 8 * h, c);
        for (int l = 0; l < 8; l++) _mm512_storeu_si512((void *)(words[l] + 8 * h), c[l]);
    }
    uint64_t w16[8];
    _mm512_storeu_si512((void *)w16, S[16]);
    for (int l = 0; l < 8; l++) {
        words[l][16] = w16[l];
        for (size_t b = 0; b < outlen; b++) out[l][b] = (uint8_t)(words[l][b / 8] >> (8 * (b % 8)));
    }
    /* the messages may be secret (the checksum of a secret-key file): no copies left behind */
    beaa_memzero(last, sizeof last);
    beaa_memzero(words, sizeof words);
    beaa_memzero(S, sizeof S);
}
