/* kernels.h - the table of inner loops (one per ISA) that the CKKS core calls.
 * The ref table (ckks/kernels/ref/) is always built and is the test oracle; avx2 and avx512
 * (IFMA, primes < 2^50) tables must agree with it bit-exactly on normalized outputs.
 * dispatch.c picks the best table once (cpu.h); BEAA_ARCH=ref|avx2|avx512 forces one.
 *
 * Conventions for every kernel:
 * - arrays are 64-byte aligned, length n is a power of two >= 1024 (NTT) or any n >= 1 that is
 *   a multiple of 8 (element-wise), and in/out may alias exactly (r == a) but not partially;
 * - inputs are fully reduced, in [0, q), unless the kernel's comment says otherwise;
 * - a kernel whose name ends in _lazy documents its output range;
 * - kernels never fail, allocate, print or read global state other than their arguments. */
#ifndef BEAA_KERNELS_H
#define BEAA_KERNELS_H
#include <stddef.h>
#include <stdint.h>
#include "ckks/modarith.h"
#include "lib/status.h"

/* Precomputed tables of a negacyclic NTT for one prime q = 1 mod 2n (defined in ckks/ntt.c;
 * holds the bit-reversed powers of a primitive 2n-th root psi and their Shoup forms, in the
 * layouts each ISA needs). Forward output is in bit-reversed order; the inverse takes
 * bit-reversed input and returns natural order, so pointwise products need no reordering. */
typedef struct beaa_ntt_tables beaa_ntt_tables;

/* Creates the tables for prime q (q = 1 mod 2n, q < 2^61) and n = 2^log_n, log_n in [1, 17].
 * Returns NULL on bad arguments or allocation failure. */
beaa_ntt_tables *beaa_ntt_tables_new(uint64_t q, unsigned log_n);
void beaa_ntt_tables_free(beaa_ntt_tables *t);
/* The modulus and ring size the tables were made for (NULL / 0 for t == NULL). */
const beaa_modulus *beaa_ntt_tables_modulus(const beaa_ntt_tables *t);
size_t beaa_ntt_tables_n(const beaa_ntt_tables *t);

typedef struct beaa_kernels {
    const char *name; /* "ref", "avx2" or "avx512" */

    /* Forward negacyclic NTT in place: natural order in [0, q) -> bit-reversed, in [0, q). */
    void (*ntt_fwd)(const beaa_ntt_tables *t, uint64_t *a);
    /* Same, but input may be in [0, 4q) and output is in [0, 4q) (no final correction). */
    void (*ntt_fwd_lazy)(const beaa_ntt_tables *t, uint64_t *a);
    /* Inverse NTT in place including the 1/n factor: bit-reversed in [0, q) -> natural, [0, q). */
    void (*ntt_inv)(const beaa_ntt_tables *t, uint64_t *a);
    /* Same, input in [0, 2q), output in [0, 2q). */
    void (*ntt_inv_lazy)(const beaa_ntt_tables *t, uint64_t *a);
    /* Inverse NTT then an affine map, in the same pass: r <- INTT(a) * w + c mod q; a in [0, q)
     * bit-reversed -> r natural, in [0, q); w, c < q; r == a (in place) or no overlap (a is then
     * only read). w is merged into the last stage's 1/n and the first stage reads from a, so the
     * steps around key switching (mod-up's copy and (Q_D/q_i)^{-1}, the rounding offset of a
     * division) cost no pass of their own. */
    void (*ntt_inv_scaled)(const beaa_ntt_tables *t, uint64_t *r, const uint64_t *a, uint64_t w,
                           uint64_t c);

    /* r[i] = a[i] + b[i] mod q */
    void (*add_mod)(uint64_t *r, const uint64_t *a, const uint64_t *b, size_t n, uint64_t q);
    /* r[i] = a[i] - b[i] mod q */
    void (*sub_mod)(uint64_t *r, const uint64_t *a, const uint64_t *b, size_t n, uint64_t q);
    /* r[i] = -a[i] mod q */
    void (*neg_mod)(uint64_t *r, const uint64_t *a, size_t n, uint64_t q);
    /* r[i] = a[i] * b[i] mod q (Barrett; a, b in [0, q)) */
    void (*mul_mod)(uint64_t *r, const uint64_t *a, const uint64_t *b, size_t n, const beaa_modulus *m);
    /* r[i] += a[i] * b[i] mod q (r, a, b in [0, q)); the ct x ct tensor product inner loop */
    void (*mac_mod)(uint64_t *r, const uint64_t *a, const uint64_t *b, size_t n, const beaa_modulus *m);
    /* r[i] = a[i] * w mod q, w < q constant, ws = beaa_shoup(w, q) */
    void (*mul_const)(uint64_t *r, const uint64_t *a, size_t n, uint64_t w, uint64_t ws, uint64_t q);
    /* r[i] = r[i] + a[i] * w mod q (r, a in [0, q)): the BEAA convolution inner loop */
    void (*mac_const)(uint64_t *r, const uint64_t *a, size_t n, uint64_t w, uint64_t ws, uint64_t q);
    /* r[i] = (a[i] - b[i] + q) * w mod q: the rescale / mod-down step
     * (b is the last limb's value brought to this prime, w = q_last^{-1} or P^{-1} mod q).
     * a in [0, q), b in [0, 2q). */
    void (*sub_mul_const)(uint64_t *r, const uint64_t *a, const uint64_t *b, size_t n,
                          uint64_t w, uint64_t ws, uint64_t q);
    /* The ciphertext tensor product with a constant folded in (one pass over the operands):
     * r0 = w a0 b0, r1 = w (a0 b1 + a1 b0), r2 = a1 b1 mod q; inputs in [0, q), w < q,
     * ws = beaa_shoup(w, q). The outputs are distinct and alias no input. */
    void (*tensor)(uint64_t *r0, uint64_t *r1, uint64_t *r2, const uint64_t *a0,
                   const uint64_t *a1, const uint64_t *b0, const uint64_t *b1, size_t n,
                   const beaa_modulus *m, uint64_t w, uint64_t ws);

    /* Fast basis conversion (key switching mod-up/mod-down):
     * r[k] = sum_{i < n_in} x[i][k] * c[i] mod p, for k < n, where x[i] are n_in limbs with
     * values in [0, 2^61) and c[i] < p. 128-bit lazy accumulation, one reduction per output. */
    void (*basis_conv)(uint64_t *r, const uint64_t *const *x, const uint64_t *c, size_t n_in,
                       size_t n, const beaa_modulus *p);
    /* basis_conv to several primes from the same inputs: r[s] = basis_conv(x, c[s], n_in, n,
     * p[s]) for s < n_out (1 <= n_out <= BEAA_CONV_MULTI_MAX), bit for bit. The avx512 version
     * converts a block of coefficients to every prime before the next block, so the inputs are
     * read once instead of n_out times (the mod-up raises a digit to two slots at a time when
     * the digits' inputs do not fit in L2: keyswitch.c). */
    void (*basis_conv_multi)(uint64_t *const *r, const uint64_t *const *x,
                             const uint64_t *const *c, size_t n_in, size_t n,
                             const beaa_modulus *const *p, size_t n_out);
    /* The mod-down form: r[k] = (sum_{i < n_in} x[i][k] * c[i] - corr[u[k]]) mod p, where
     * u[k] <= n_in indexes corr (n_in + 1 values < p): the overflow correction of the rounding
     * division by the dropped primes (keyswitch.c). x, c as in basis_conv. */
    void (*basis_conv_sub)(uint64_t *r, const uint64_t *const *x, const uint64_t *c, size_t n_in,
                           size_t n, const beaa_modulus *p, const uint8_t *u,
                           const uint64_t *corr);
    /* Overflow count of a fast basis conversion: u[k] = floor(f), f = sum_{i < n_in} x[i][k] *
     * rc[i] in double precision, summed for i = 0, 1, .. with each product rounded before it is
     * added (no FMA), so every ISA gets the same bits. x[i][k] < 2^64; the caller guarantees
     * 0 <= f < 256 (rc[i] = 1/m_i for residues x[i] mod m_i, n_in <= 255). */
    void (*conv_overflow)(uint8_t *u, const uint64_t *const *x, const double *rc, size_t n_in,
                          size_t n);

    /* Key-switching inner product over nd digits (1 <= nd <= 63):
     * r0[i] = (c0 ? c0[i] * w : 0) + sum_j d[j][i] * kb[j][i] mod q, r1 the same with c1, ka.
     * The key rows kb[j], ka[j] are bit-packed: n residues of m->bits bits each, little-endian,
     * the serialized limb form (ckks/serialize.h: 8 residues fill m->bits whole bytes, so
     * residue i, i a multiple of 8, starts at byte (i / 8) * m->bits); the kernels read no byte
     * past a row's n * m->bits / 8. c0, c1 both NULL or both set: the part of the result that
     * does not come from the key, such as P * c_k in a relinearization (w = P mod q), or r0, r1
     * themselves with w = 1 (accumulate). All inputs in [0, q), w too; outputs in [0, q); n a
     * multiple of 8; r0, r1 must not alias d (c0 may be r0, c1 r1). (Rotations permute the
     * key-switched result, not the digits: keys.h.) */
    void (*ks_dot2)(uint64_t *r0, uint64_t *r1, const uint64_t *const *d,
                    const uint8_t *const *kb, const uint8_t *const *ka, size_t nd, size_t n,
                    const beaa_modulus *m, const uint64_t *c0, const uint64_t *c1, uint64_t w);
    /* ks_dot2 with the key rows as doubles (n exact integers in [0, q) each, 32-byte aligned)
     * instead of bit-packed: the same result, for q < 2^50 (the caller checks). NULL in tables
     * that read the packed rows as fast (ref: no unpacking cost to save; avx512: IFMA unpacks
     * in registers and the packed key moves 22% fewer bytes). Used where a switching key holds
     * such a copy (beaa_ckks_switch_key_make_fp, keys.h). */
    void (*ks_dot2_fp)(uint64_t *r0, uint64_t *r1, const uint64_t *const *d,
                       const double *const *kb, const double *const *ka, size_t nd, size_t n,
                       const beaa_modulus *m, const uint64_t *c0, const uint64_t *c1, uint64_t w);

    /* Automorphism as a permutation (valid in NTT form): r[i] = a[perm[i]], r != a. */
    void (*permute)(uint64_t *r, const uint64_t *a, const uint32_t *perm, size_t n);

    /* Dot products of m weight rows with k residue columns, the linear maps of encrypted
     * inference (nn/linear.c): r[j][t] = (sum_{c < k} w[j*k + c] * x[c][t] + bias[j]) mod q
     * for j < m, t < n; x[c] in [0, q), weights w reduced mod q (< q), bias NULL or m values
     * < q; 1 <= k <= BEAA_LIN_DOT_MAX_K, n a multiple of 8. No r[j] aliases an x[c].
     * NULL in tables without a fast version (nn/linear.c then uses its exact dgemm path);
     * the avx512 one needs q < 2^50 (IFMA) and hands larger primes to beaa_lin_dot_ref. */
    void (*lin_dot)(uint64_t *const *r, const uint64_t *const *x, const uint64_t *w,
                    const uint64_t *bias, size_t m, size_t k, size_t n, const beaa_modulus *q);

    /* Uniform residues from seeded SHAKE256 streams (the seed-compressed 'a' parts of keys and
     * ciphertexts): for s < count, out[s][0..n) are the first n values beaa_xof_uniform(&x, q[s])
     * draws from x = beaa_xof_init(seed[s], domain[s]) (8 little-endian bytes per draw, rejection
     * above the smallest all-ones mask covering q - 1). q[s] >= 2, or q[s] == 0: the stream's
     * raw 64-bit words (beaa_xof_u64), with no comparison on them (the words of secret noise:
     * constant time). The avx512 version runs 8 streams per Keccak permutation (one per 64-bit
     * lane), the avx2 version 4: streams of several objects (seeds) fill the lanes of one group. */
    void (*uniform_seeded)(uint64_t *const *out, const uint64_t *q, const uint64_t *domain,
                           size_t count, size_t n, const uint8_t *const *seed);

    /* SHAKE256 of 8 messages of the same length len at once: out[j][0..outlen) =
     * beaa_shake256(in[j], len) for j < 8, outlen <= 136 (one rate block). The leaves of the
     * serialization checksum tree (lib/serial.c); the avx512 version absorbs the 8 messages in
     * the 8 lanes of one Keccak permutation, the avx2 version 4 at a time in two passes. */
    void (*shake256_x8)(uint8_t *const *out, size_t outlen, const uint8_t *const *in, size_t len);
} beaa_kernels;

/* Largest k of lin_dot: k lower halves of 104-bit products below 2^52 each stay below 2^64. */
#define BEAA_LIN_DOT_MAX_K 4095
/* The most primes one basis_conv_multi call converts to. */
#define BEAA_CONV_MULTI_MAX 4

/* The reference table (always available). */
extern const beaa_kernels beaa_kernels_ref;
/* Tables for SIMD ISAs; their functions may call the ref ones for primes they cannot handle
 * (e.g. avx512 IFMA for q >= 2^50). */
extern const beaa_kernels beaa_kernels_avx2;
extern const beaa_kernels beaa_kernels_avx512;

/* The active table: chosen once on first call (best the CPU supports, or BEAA_ARCH).
 * Never NULL. Thread-safe. If BEAA_ARCH names an unsupported/unknown ISA, the ref table is used
 * and beaa_kernels_init() reports BEAA_ERR_CPU. */
const beaa_kernels *beaa_kernels_get(void);

/* Chooses the active table (as beaa_kernels_get) and reports how the choice went: BEAA_OK, or
 * BEAA_ERR_CPU when BEAA_ARCH names an unknown ISA or one this CPU lacks (the ref table is then
 * in use). Lets a program refuse to run with a clear message. Thread-safe, idempotent. */
BEAA_MUST_CHECK beaa_status beaa_kernels_init(void);

#endif
