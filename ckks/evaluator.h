/* evaluator.h - homomorphic operations on CKKS ciphertexts.
 * Conventions: inputs must be in NTT form and share one context (else BEAA_ERR_PARAMS_MISMATCH);
 * `out` may alias an input; it is re-shaped as needed; has_seed is cleared on it. Binary ops need
 * equal levels (BEAA_ERR_LEVEL_MISMATCH; use beaa_ckks_drop_level) and, for add/sub, equal scales
 * (BEAA_ERR_SCALE_MISMATCH: scales are equal when they differ by a relative 2^-40 or less; the
 * result keeps a's scale). Products whose scale would reach Q_level give BEAA_ERR_SCALE_RANGE.
 * _new variants allocate the output (*out owned by the caller). Results do not depend on the
 * number of OpenMP threads. */
#ifndef BEAA_CKKS_EVALUATOR_H
#define BEAA_CKKS_EVALUATOR_H
#include <stddef.h>
#include <stdint.h>
#include "lib/status.h"
#include "ckks/types.h"
#include "ckks/keys.h"

/* out = a + b, a - b, -a (sizes 2 or 3; out has max(size a, size b)). */
BEAA_MUST_CHECK beaa_status beaa_ckks_add(const beaa_ckks_ciphertext *a, const beaa_ckks_ciphertext *b,
                                           beaa_ckks_ciphertext *out);
BEAA_MUST_CHECK beaa_status beaa_ckks_sub(const beaa_ckks_ciphertext *a, const beaa_ckks_ciphertext *b,
                                           beaa_ckks_ciphertext *out);
BEAA_MUST_CHECK beaa_status beaa_ckks_negate(const beaa_ckks_ciphertext *a, beaa_ckks_ciphertext *out);
/* out = a + pt, a - pt (pt at a's scale, NTT form, level >= a's level: its first level+1 limbs
 * are used; a lower level gives BEAA_ERR_LEVEL_MISMATCH). */
BEAA_MUST_CHECK beaa_status beaa_ckks_add_plain(const beaa_ckks_ciphertext *a,
                                                 const beaa_ckks_plaintext *pt, beaa_ckks_ciphertext *out);
BEAA_MUST_CHECK beaa_status beaa_ckks_sub_plain(const beaa_ckks_ciphertext *a,
                                                 const beaa_ckks_plaintext *pt, beaa_ckks_ciphertext *out);
/* out = a + c in every slot (c real, encoded as round(c * a.scale)). BEAA_ERR_VALUE for NaN/inf
 * or |c * scale| >= 2^62. */
BEAA_MUST_CHECK beaa_status beaa_ckks_add_const(const beaa_ckks_ciphertext *a, double c,
                                                 beaa_ckks_ciphertext *out);
/* out = a * pt (pt NTT form, level >= a's level); out.scale = a.scale * pt.scale. */
BEAA_MUST_CHECK beaa_status beaa_ckks_mul_plain(const beaa_ckks_ciphertext *a,
                                                 const beaa_ckks_plaintext *pt, beaa_ckks_ciphertext *out);
/* out = a * c, c real, multiplied in as the integer round(c * c_scale); out.scale =
 * a.scale * c_scale (rescale afterwards). c_scale >= 1; BEAA_ERR_VALUE if |c*c_scale| >= 2^62 or
 * NaN/inf; BEAA_ERR_SCALE_RANGE if c_scale < 1 or the product scale reaches Q_level. */
BEAA_MUST_CHECK beaa_status beaa_ckks_mul_const(const beaa_ckks_ciphertext *a, double c, double c_scale,
                                                 beaa_ckks_ciphertext *out);
/* out = a * k for an integer k (scale unchanged). */
BEAA_MUST_CHECK beaa_status beaa_ckks_mul_int(const beaa_ckks_ciphertext *a, int64_t k,
                                               beaa_ckks_ciphertext *out);
/* The evaluator's rules on scales, for code that forms products and sums limb by limb (the
 * encrypted pass, nn/exec.c): whether a product of scale s fits at `level` (BEAA_OK, or
 * BEAA_ERR_SCALE_RANGE: s < 1, not finite, or within a factor 2 of Q_level), and whether two
 * scales count as equal for an addition (relative difference at most 2^-40). */
BEAA_MUST_CHECK beaa_status beaa_ckks_product_scale_check(const beaa_ckks_context *ctx, unsigned level,
                                                           double s);
int beaa_ckks_scales_equal(double x, double y);
/* out = a * b (both size 2) -> size 3, scale a.scale*b.scale. BEAA_ERR_SIZE if a size is not 2. */
BEAA_MUST_CHECK beaa_status beaa_ckks_mul(const beaa_ckks_ciphertext *a, const beaa_ckks_ciphertext *b,
                                           beaa_ckks_ciphertext *out);
BEAA_MUST_CHECK beaa_status beaa_ckks_square(const beaa_ckks_ciphertext *a, beaa_ckks_ciphertext *out);
/* Size 3 -> size 2 with the relinearization key (size 2 input: copied). BEAA_ERR_NO_KEY if rk
 * is NULL, BEAA_ERR_PARAMS_MISMATCH if it belongs to another context. */
BEAA_MUST_CHECK beaa_status beaa_ckks_relinearize(const beaa_ckks_ciphertext *a,
                                                   const beaa_ckks_relin_key *rk, beaa_ckks_ciphertext *out);
/* mul then relinearize. */
BEAA_MUST_CHECK beaa_status beaa_ckks_mul_relin(const beaa_ckks_ciphertext *a, const beaa_ckks_ciphertext *b,
                                                 const beaa_ckks_relin_key *rk, beaa_ckks_ciphertext *out);
/* Fused multiply + relinearize + rescale: the key-switch division by P and the rescale by q_level
 * are done as ONE rounding division by P*q_level (fewer NTTs, one rounding). Result size 2 at
 * level - 1, scale a.scale*b.scale/q_level. Errors as mul, relinearize and rescale. */
BEAA_MUST_CHECK beaa_status beaa_ckks_mul_relin_rescale(const beaa_ckks_ciphertext *a,
                                                         const beaa_ckks_ciphertext *b,
                                                         const beaa_ckks_relin_key *rk,
                                                         beaa_ckks_ciphertext *out);
/* Relinearize + rescale of a size-3 ciphertext (e.g. a sum of tensor products) in ONE rounding
 * division by P*q_level: cheaper than the two calls, and more precise than rescale-then-
 * relinearize (which multiplies the rounding error of c2 by s^2). Size 2 input: plain rescale.
 * Errors as relinearize and rescale. */
BEAA_MUST_CHECK beaa_status beaa_ckks_relin_rescale(const beaa_ckks_ciphertext *a,
                                                     const beaa_ckks_relin_key *rk,
                                                     beaa_ckks_ciphertext *out);
/* Divides by the last prime q_level with rounding: level - 1, scale /= q_level exactly.
 * BEAA_ERR_LEVEL_EXHAUSTED at level 0; BEAA_ERR_SCALE_RANGE if the new scale would be < 1.
 * Works on size 3 too, but for a size-3 ciphertext prefer beaa_ckks_relin_rescale: rescaling
 * BEFORE relinearizing turns the rounding error of c2 into e2*s^2 (measured: about 7 bits lost
 * at N=2^12, final scale 2^26, versus relinearizing first). */
BEAA_MUST_CHECK beaa_status beaa_ckks_rescale(const beaa_ckks_ciphertext *a, beaa_ckks_ciphertext *out);
/* Drops the top limbs down to `level` (no division: scale unchanged). BEAA_ERR_LEVEL_EXHAUSTED
 * if level > a->level. */
BEAA_MUST_CHECK beaa_status beaa_ckks_drop_level(const beaa_ckks_ciphertext *a, unsigned level,
                                                  beaa_ckks_ciphertext *out);
/* Rotates the slots left by step (slot j of out = slot j+step of a, indices mod N/2; step of any
 * sign). step 0 (mod N/2) copies. BEAA_ERR_NO_KEY if gk lacks the key, BEAA_ERR_SIZE if a is not
 * size 2. */
BEAA_MUST_CHECK beaa_status beaa_ckks_rotate(const beaa_ckks_ciphertext *a, int step,
                                              const beaa_ckks_galois_keys *gk, beaa_ckks_ciphertext *out);
/* Complex conjugation of every slot. */
BEAA_MUST_CHECK beaa_status beaa_ckks_conjugate(const beaa_ckks_ciphertext *a,
                                                 const beaa_ckks_galois_keys *gk, beaa_ckks_ciphertext *out);
/* Hoisted rotations: decomposes a once and writes out[i] = rotate(a, steps[i]) for i < n
 * (out[i] allocated ciphertexts, none aliasing a). Same errors as beaa_ckks_rotate. */
BEAA_MUST_CHECK beaa_status beaa_ckks_rotate_hoisted(const beaa_ckks_ciphertext *a, const int *steps,
                                                      size_t n, const beaa_ckks_galois_keys *gk,
                                                      beaa_ckks_ciphertext *const *out);
/* Generic key switch of a (size 2) after applying automorphism g (g = 1: no automorphism) with
 * switching key k: the building block of rotate/conjugate. */
BEAA_MUST_CHECK beaa_status beaa_ckks_apply_galois(const beaa_ckks_ciphertext *a, uint64_t g,
                                                    const beaa_ckks_switch_key *k, beaa_ckks_ciphertext *out);

/* Allocating variants. */
BEAA_MUST_CHECK beaa_status beaa_ckks_add_new(const beaa_ckks_ciphertext *a, const beaa_ckks_ciphertext *b,
                                               beaa_ckks_ciphertext **out);
BEAA_MUST_CHECK beaa_status beaa_ckks_mul_relin_new(const beaa_ckks_ciphertext *a,
                                                     const beaa_ckks_ciphertext *b,
                                                     const beaa_ckks_relin_key *rk, beaa_ckks_ciphertext **out);
BEAA_MUST_CHECK beaa_status beaa_ckks_rescale_new(const beaa_ckks_ciphertext *a, beaa_ckks_ciphertext **out);
BEAA_MUST_CHECK beaa_status beaa_ckks_rotate_new(const beaa_ckks_ciphertext *a, int step,
                                                  const beaa_ckks_galois_keys *gk, beaa_ckks_ciphertext **out);

/* Frees the scratch buffers that the calling thread keeps between evaluator calls (key
 * switching and rescale reuse per-thread buffers instead of allocating per call: up to about
 * 2*(L+2+alpha)*N words at the top level; they are also freed when the thread exits). Call it
 * after a burst of operations to give the memory back. Never fails; thread-safe. */
void beaa_ckks_scratch_release(void);

#endif
