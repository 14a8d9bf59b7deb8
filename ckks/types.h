/* types.h - RNS-CKKS plaintexts and ciphertexts, and their memory layout.
 * Both are visible structs so fast layers (nn/) can reach the limbs directly. All limbs of an
 * object live in ONE 64-byte aligned block: limb i of polynomial k is
 * data + (k * (level+1) + i) * N, values in [0, q_i), NTT form unless ntt_form == 0. */
#ifndef BEAA_CKKS_TYPES_H
#define BEAA_CKKS_TYPES_H
#include <stddef.h>
#include <stdint.h>
#include "lib/status.h"
#include "lib/rng.h"
#include "ckks/params.h"

/* A plaintext: one RNS polynomial at `level` (level+1 limbs), encoding values times `scale`. */
typedef struct beaa_ckks_plaintext {
    const beaa_ckks_context *ctx; /* parameter set (not owned) */
    unsigned level;               /* limbs = level + 1, level <= L */
    int ntt_form;                 /* 1: limbs are in NTT (evaluation) form */
    double scale;                 /* the encoding scale Delta (exact, tracked as a double) */
    uint64_t *data;               /* (level+1) * N words, 64-byte aligned, owned */
    size_t capacity;              /* words allocated in data */
} beaa_ckks_plaintext;

/* A ciphertext: `size` polynomials (2 normally, 3 after a multiply before relinearization);
 * decrypts as sum_k c_k * s^k. */
typedef struct beaa_ckks_ciphertext {
    const beaa_ckks_context *ctx; /* parameter set (not owned) */
    unsigned size;                /* 2 or 3 */
    unsigned level;               /* limbs per polynomial = level + 1 */
    int ntt_form;                 /* 1: NTT form (the default; evaluator ops require it) */
    double scale;                 /* exact scale of the encoded message */
    uint64_t *data;               /* size * (level+1) * N words, 64-byte aligned, owned */
    size_t capacity;              /* words allocated in data */
    int has_seed;                 /* 1: c_1 was expanded from `seed` (fresh symmetric encryption);
                                     serializers may store the seed instead of c_1. Every
                                     evaluator operation clears it on its output. */
    uint8_t seed[BEAA_SEED_BYTES];
} beaa_ckks_ciphertext;

/* Pointer to limb i of polynomial k (no checks). */
static inline uint64_t *beaa_ckks_ct_limb(const beaa_ckks_ciphertext *ct, unsigned k, unsigned i)
{
    return ct->data + ((size_t)k * (ct->level + 1) + i) * ((size_t)1 << beaa_ckks_context_log_n(ct->ctx));
}
static inline uint64_t *beaa_ckks_pt_limb(const beaa_ckks_plaintext *pt, unsigned i)
{
    return pt->data + (size_t)i * ((size_t)1 << beaa_ckks_context_log_n(pt->ctx));
}

/* Allocates a zero plaintext at `level` (NTT form, scale 1). *out owned by caller.
 * BEAA_ERR_ARG (NULL), BEAA_ERR_LEVEL_EXHAUSTED (level > L), BEAA_ERR_NOMEM. */
BEAA_MUST_CHECK beaa_status beaa_ckks_plaintext_new(const beaa_ckks_context *ctx, unsigned level,
                                                     beaa_ckks_plaintext **out);
/* Frees (NULL allowed). Plaintexts may hold secret data: the limbs are wiped before free. */
void beaa_ckks_plaintext_free(beaa_ckks_plaintext *pt);
/* Re-shapes pt to `level` (growing its buffer if needed; contents undefined afterwards). */
BEAA_MUST_CHECK beaa_status beaa_ckks_plaintext_resize(beaa_ckks_plaintext *pt, unsigned level);

/* Allocates a zero ciphertext of `size` (2 or 3) polynomials at `level`, NTT form, scale 1.
 * BEAA_ERR_ARG, BEAA_ERR_SIZE (size not 2/3), BEAA_ERR_LEVEL_EXHAUSTED, BEAA_ERR_NOMEM. */
BEAA_MUST_CHECK beaa_status beaa_ckks_ciphertext_new(const beaa_ckks_context *ctx, unsigned size,
                                                      unsigned level, beaa_ckks_ciphertext **out);
/* Frees (NULL allowed). */
void beaa_ckks_ciphertext_free(beaa_ckks_ciphertext *ct);
/* Same as beaa_ckks_ciphertext_new, but the limbs are not cleared (their contents are
 * unspecified): for outputs that an operation overwrites completely. */
BEAA_MUST_CHECK beaa_status beaa_ckks_ciphertext_new_uninit(const beaa_ckks_context *ctx,
                                                             unsigned size, unsigned level,
                                                             beaa_ckks_ciphertext **out);
/* The limb storage of plaintexts and ciphertexts: blocks of lib/pool.h (reused, no page faults
 * in steady state). `words` 64-bit words, 64-byte aligned, zero-filled when zero != 0; NULL when
 * out of memory. Only for code that swaps ->data itself; free with beaa_ckks_data_free (words =
 * the block's capacity; secret != 0 wipes it first). */
uint64_t *beaa_ckks_data_alloc(size_t words, int zero);
void beaa_ckks_data_free(uint64_t *data, size_t words, int secret);
/* Re-shapes ct to (size, level), growing the buffer if needed; contents undefined afterwards
 * (use it to prepare an output). Clears has_seed. */
BEAA_MUST_CHECK beaa_status beaa_ckks_ciphertext_resize(beaa_ckks_ciphertext *ct, unsigned size,
                                                         unsigned level);
/* Deep copy src into dst (dst re-shaped). dst == src is a no-op. */
BEAA_MUST_CHECK beaa_status beaa_ckks_ciphertext_copy(beaa_ckks_ciphertext *dst,
                                                       const beaa_ckks_ciphertext *src);
/* Allocating copy. */
BEAA_MUST_CHECK beaa_status beaa_ckks_ciphertext_clone(const beaa_ckks_ciphertext *src,
                                                        beaa_ckks_ciphertext **out);
/* Fills c_1 (all level+1 limbs, NTT form) from ct->seed: limb i is uniform mod q_i from the XOF
 * with domain BEAA_CKKS_DOMAIN_CT_A + i. Used by deserialization of seeded ciphertexts; sets
 * has_seed = 1. BEAA_ERR_SIZE if ct->size != 2. */
BEAA_MUST_CHECK beaa_status beaa_ckks_ciphertext_expand_seed(beaa_ckks_ciphertext *ct);

/* ---- Encoding (wraps ckks/encoder.*: N/2 complex slots <-> integer polynomial) ---- */

/* Encodes n <= N/2 real values (slot j = vals[j], remaining slots 0) at `scale` and `level` into
 * pt (re-shaped; NTT form). BEAA_ERR_SLOTS (n > N/2), BEAA_ERR_VALUE (NaN/inf or |v*scale| too
 * large for q_0..q_level), BEAA_ERR_SCALE_RANGE (scale < 1 or >= Q_level), BEAA_ERR_LEVEL_EXHAUSTED. */
BEAA_MUST_CHECK beaa_status beaa_ckks_encode_real(const beaa_ckks_context *ctx, const double *vals,
                                                   size_t n, double scale, unsigned level,
                                                   beaa_ckks_plaintext *pt);
/* Same with complex values given as separate real and imaginary arrays (im may be NULL = 0). */
BEAA_MUST_CHECK beaa_status beaa_ckks_encode_complex(const beaa_ckks_context *ctx, const double *re,
                                                      const double *im, size_t n, double scale,
                                                      unsigned level, beaa_ckks_plaintext *pt);
/* Decodes the first n <= N/2 slots (real parts) of pt into vals. BEAA_ERR_SLOTS, BEAA_ERR_ARG. */
BEAA_MUST_CHECK beaa_status beaa_ckks_decode_real(const beaa_ckks_plaintext *pt, double *vals, size_t n);
/* Decodes real and imaginary parts (im may be NULL). */
BEAA_MUST_CHECK beaa_status beaa_ckks_decode_complex(const beaa_ckks_plaintext *pt, double *re,
                                                      double *im, size_t n);

/* XOF domain tags (so the same seed gives independent streams per purpose and limb). */
#define BEAA_CKKS_DOMAIN_CT_A     0x0100000000ull /* + limb index */
#define BEAA_CKKS_DOMAIN_PK_A     0x0200000000ull /* + extended prime index */
#define BEAA_CKKS_DOMAIN_SWK_A    0x0300000000ull /* + digit * 256 + extended prime index */

#endif
